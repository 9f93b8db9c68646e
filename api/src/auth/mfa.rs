//! The second factor: TOTP (RFC 6238: HMAC-SHA1, six digits, 30-second
//! steps, one step of clock drift either way) and single-use recovery codes.
//!
//! - **Secrets at rest.** Each account's TOTP secret is encrypted and
//!   authenticated with the MFA key (`CAREGRAPH_MFA_KEY`; unset, a random key
//!   generated once and kept in `server_keys`, which a dump of the database
//!   then includes: set the variable in production so that a dump alone
//!   does not give the secrets). The construction is HMAC-SHA256 as a PRF in
//!   counter mode, then HMAC-SHA256 over the result (encrypt-then-MAC), with
//!   a random nonce and bound to the account id, so a ciphertext copied to
//!   another account's row does not verify.
//! - **Replay.** The last accepted time step is kept per account and only a
//!   later step is accepted, by a compare-and-swap `UPDATE`: a code (and any
//!   code of an earlier step) works once, even with two requests racing.
//! - **Recovery codes** are 80 random bits each (16 base32 characters), shown
//!   once and stored as SHA-256 of the account id and the code. A fast hash
//!   is enough because the codes are not chosen by people: 2^80 guesses per
//!   code cannot be tried, salted or not (argon2 protects low-entropy
//!   passwords, and would cost ten argon2 runs per check here). Each is spent
//!   by an `UPDATE ... WHERE used_at IS NULL`, so it works once.
//!
//! Which roles must use MFA is configuration (`CAREGRAPH_MFA_ROLES`); an
//! account that has enrolled needs its second factor at every login,
//! whatever its role.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use caregraph_entity::{mfa_credential, mfa_recovery_code};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::{Secret, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::policy::Role;

/// The name of the generated MFA key in `server_keys` (when
/// `CAREGRAPH_MFA_KEY` is unset).
pub const MFA_KEY_NAME: &str = "mfa_secret_key";

/// RFC 6238 parameters, as authenticator apps expect them by default.
pub const STEP_SECS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps of clock drift accepted either side of now.
const DRIFT_STEPS: i64 = 1;
const SECRET_BYTES: usize = 20;
const NONCE_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
pub const RECOVERY_CODES: usize = 10;

/// What a second factor was given as, once checked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

impl SecondFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "TOTP",
            SecondFactor::RecoveryCode => "RECOVERY_CODE",
        }
    }
}

/// Why a second factor was refused (an audit reason code).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// None was given, and the account has one.
    Missing,
    /// Neither a current TOTP code nor an unspent recovery code.
    Invalid,
    /// A TOTP code of a time step already used.
    Replayed,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Missing => "otp_missing",
            Refusal::Invalid => "otp_invalid",
            Refusal::Replayed => "otp_replayed",
        }
    }
}

/// The server's MFA settings and key.
pub struct Mfa {
    key: Secret<Vec<u8>>,
    roles: Vec<Role>,
}

/// A freshly generated secret, to be shown once.
pub struct NewSecret {
    pub base32: String,
    pub stored: String,
}

impl Mfa {
    pub fn new(key: Secret<Vec<u8>>, roles: Vec<Role>) -> Mfa {
        Mfa { key, roles }
    }

    /// Whether the policy makes this role use a second factor.
    pub fn required_for(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    fn subkey(&self, label: &[u8]) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret()).expect("HMAC takes any key");
        mac.update(label);
        mac.finalize().into_bytes().to_vec()
    }

    fn keystream(&self, user_id: Uuid, nonce: &[u8]) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.subkey(b"caregraph totp secret encryption"))
                .expect("HMAC takes any key");
        mac.update(user_id.as_bytes());
        mac.update(nonce);
        mac.update(&[0]);
        mac.finalize().into_bytes().to_vec()
    }

    fn tag(&self, user_id: Uuid, nonce: &[u8], ciphertext: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.subkey(b"caregraph totp secret mac"))
            .expect("HMAC takes any key");
        mac.update(user_id.as_bytes());
        mac.update(nonce);
        mac.update(ciphertext);
        mac.finalize().into_bytes()[..TAG_BYTES].to_vec()
    }

    /// A new random secret for `user_id`: its base32 form for the
    /// authenticator app, and what is stored.
    pub fn new_secret(&self, user_id: Uuid) -> NewSecret {
        let secret: [u8; SECRET_BYTES] = rand::random();
        NewSecret {
            base32: base32_encode(&secret),
            stored: self.seal(user_id, &secret),
        }
    }

    fn seal(&self, user_id: Uuid, secret: &[u8]) -> String {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let stream = self.keystream(user_id, &nonce);
        let ciphertext: Vec<u8> = secret.iter().zip(&stream).map(|(s, k)| s ^ k).collect();
        let tag = self.tag(user_id, &nonce, &ciphertext);
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        sealed.extend_from_slice(&tag);
        format!("v1:{}", STANDARD.encode(sealed))
    }

    fn open(&self, user_id: Uuid, stored: &str) -> AppResult<Secret<Vec<u8>>> {
        let damaged = || AppError::Internal("a stored TOTP secret does not open with the MFA key".into());
        let sealed = stored
            .strip_prefix("v1:")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|s| s.len() == NONCE_BYTES + SECRET_BYTES + TAG_BYTES)
            .ok_or_else(damaged)?;
        let (nonce, rest) = sealed.split_at(NONCE_BYTES);
        let (ciphertext, tag) = rest.split_at(SECRET_BYTES);
        let expected = self.tag(user_id, nonce, ciphertext);
        if !constant_time_eq(&expected, tag) {
            return Err(damaged());
        }
        let stream = self.keystream(user_id, nonce);
        Ok(Secret::new(
            ciphertext.iter().zip(&stream).map(|(c, k)| c ^ k).collect(),
        ))
    }

    /// The time step a TOTP `code` is valid for at `now`, if any (within
    /// the drift allowed), for this stored secret.
    pub fn matching_step(
        &self,
        user_id: Uuid,
        stored: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> AppResult<Option<i64>> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        let secret = self.open(user_id, stored)?;
        let current = now.timestamp().div_euclid(STEP_SECS);
        let mut found = None;
        // Every candidate is computed, matched or not: the time taken does
        // not tell which step matched.
        for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
            let candidate = format!(
                "{:0width$}",
                hotp(secret.expose_secret(), step as u64),
                width = DIGITS as usize
            );
            if constant_time_eq(candidate.as_bytes(), code.as_bytes()) && found.is_none() {
                found = Some(step);
            }
        }
        Ok(found)
    }

    /// Checks a second factor for `user_id` and spends it: a TOTP code of a
    /// time step later than the last one accepted, or an unspent recovery
    /// code. `Ok(Err(refusal))` when it does not pass.
    pub async fn check(
        &self,
        db: &impl ConnectionTrait,
        credential: &mfa_credential::Model,
        otp: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Result<SecondFactor, Refusal>> {
        let Some(otp) = otp.map(str::trim).filter(|o| !o.is_empty()) else {
            return Ok(Err(Refusal::Missing));
        };
        if let Some(step) = self.matching_step(credential.user_id, &credential.secret, otp, now)? {
            return Ok(if spend_step(db, credential.user_id, step).await? {
                Ok(SecondFactor::Totp)
            } else {
                Err(Refusal::Replayed)
            });
        }
        if let Some(code) = normalise_recovery_code(otp) {
            let spent = mfa_recovery_code::Entity::update_many()
                .col_expr(mfa_recovery_code::Column::UsedAt, Expr::value(now))
                .filter(mfa_recovery_code::Column::UserId.eq(credential.user_id))
                .filter(mfa_recovery_code::Column::CodeHash.eq(recovery_hash(credential.user_id, &code)))
                .filter(mfa_recovery_code::Column::UsedAt.is_null())
                .exec(db)
                .await?;
            if spent.rows_affected == 1 {
                return Ok(Ok(SecondFactor::RecoveryCode));
            }
        }
        Ok(Err(Refusal::Invalid))
    }
}

/// The account's confirmed credential, if it has one.
pub async fn confirmed_credential(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> AppResult<Option<mfa_credential::Model>> {
    Ok(mfa_credential::Entity::find_by_id(user_id)
        .filter(mfa_credential::Column::ConfirmedAt.is_not_null())
        .one(db)
        .await?)
}

/// Records `step` as the last accepted one, only if it is later than the
/// last: false when the step (or a later one) was already used.
pub async fn spend_step(db: &impl ConnectionTrait, user_id: Uuid, step: i64) -> AppResult<bool> {
    let updated = mfa_credential::Entity::update_many()
        .col_expr(mfa_credential::Column::LastStep, Expr::value(step))
        .filter(mfa_credential::Column::UserId.eq(user_id))
        .filter(
            Condition::any()
                .add(mfa_credential::Column::LastStep.is_null())
                .add(mfa_credential::Column::LastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Ten new recovery codes, as shown (`XXXX-XXXX-XXXX-XXXX`), and the hashes stored.
pub fn new_recovery_codes(user_id: Uuid) -> Vec<(String, String)> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = base32_encode(&rand::random::<[u8; 10]>());
            let shown = raw
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
                .collect::<Vec<_>>()
                .join("-");
            let hash = recovery_hash(user_id, &raw);
            (shown, hash)
        })
        .collect()
}

/// A recovery code as typed: dashes and spaces dropped, upper-cased; `None`
/// unless it has the shape of one.
fn normalise_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 16 && code.bytes().all(|b| BASE32.contains(&b))).then_some(code)
}

fn recovery_hash(user_id: Uuid, code: &str) -> String {
    let mut input = user_id.as_bytes().to_vec();
    input.extend_from_slice(code.as_bytes());
    sha256_hex(&input)
}

/// HOTP (RFC 4226) with HMAC-SHA1: the code for counter `counter`.
fn hotp(secret: &[u8], counter: u64) -> u32 {
    use sha1_hmac::{Hmac as Hmac1, KeyInit as _, Mac as _};
    let mut mac = Hmac1::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The TOTP code for a base32 secret at `unix_time` (what an authenticator
/// app shows); for tests and tools.
pub fn totp_code(base32_secret: &str, unix_time: i64) -> Option<String> {
    let secret = base32_decode(base32_secret)?;
    let step = unix_time.div_euclid(STEP_SECS);
    Some(format!(
        "{:0width$}",
        hotp(&secret, step as u64),
        width = DIGITS as usize
    ))
}

/// The `otpauth://` URI authenticator apps read (usually from a QR code).
pub fn provisioning_uri(issuer: &str, account: &str, base32_secret: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={base32_secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        percent_encode(account)
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = BASE32.iter().position(|&b| b == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, the last six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(totp_code(&secret, time).unwrap(), code, "at {time}");
        }
    }

    #[test]
    fn base32_round_trips() {
        for len in 0..25 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base32_decode(&base32_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }

    fn mfa() -> Mfa {
        Mfa::new(Secret::new(vec![9u8; 32]), vec![Role::Admin])
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_account_and_key() {
        let user = Uuid::new_v4();
        let new = mfa().new_secret(user);
        let opened = mfa().open(user, &new.stored).unwrap();
        assert_eq!(base32_encode(opened.expose_secret()), new.base32);
        assert!(!new.stored.contains(&new.base32));
        assert!(mfa().open(Uuid::new_v4(), &new.stored).is_err());
        let other_key = Mfa::new(Secret::new(vec![8u8; 32]), vec![]);
        assert!(other_key.open(user, &new.stored).is_err());
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let user = Uuid::new_v4();
        let new = mfa().new_secret(user);
        let now = Utc::now();
        let step = now.timestamp().div_euclid(STEP_SECS);
        let at = |t: i64| totp_code(&new.base32, t).unwrap();
        let m = mfa();
        assert_eq!(
            m.matching_step(user, &new.stored, &at(now.timestamp()), now)
                .unwrap(),
            Some(step)
        );
        let before = at(now.timestamp() - STEP_SECS);
        assert!(
            m.matching_step(user, &new.stored, &before, now)
                .unwrap()
                .is_some()
        );
        let old = at(now.timestamp() - 5 * STEP_SECS);
        if old != at(now.timestamp()) && old != before && old != at(now.timestamp() + STEP_SECS) {
            assert_eq!(m.matching_step(user, &new.stored, &old, now).unwrap(), None);
        }
        assert_eq!(m.matching_step(user, &new.stored, "12345", now).unwrap(), None);
        assert_eq!(m.matching_step(user, &new.stored, "abcdef", now).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_ten_distinct_codes_stored_hashed() {
        let user = Uuid::new_v4();
        let codes = new_recovery_codes(user);
        assert_eq!(codes.len(), 10);
        for (shown, hash) in &codes {
            assert_eq!(shown.len(), 19);
            let typed = shown.to_lowercase().replace('-', " ");
            assert_eq!(
                recovery_hash(user, &normalise_recovery_code(&typed).unwrap()),
                *hash
            );
            assert!(!hash.contains(&shown.replace('-', "")));
        }
        let distinct: std::collections::HashSet<_> = codes.iter().map(|(s, _)| s).collect();
        assert_eq!(distinct.len(), 10);
    }

    #[test]
    fn the_provisioning_uri_names_issuer_account_and_parameters() {
        let uri = provisioning_uri("caregraph", "a b@clinic.test", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/caregraph:a%20b@clinic.test?secret=JBSWY3DPEHPK3PXP&issuer=caregraph&algorithm=SHA1&digits=6&period=30"
        );
    }
}

//! argon2id password hashing, run on the blocking pool so a burst of logins
//! never stalls the async workers that answer queries.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::{Password, Secret};
use crate::error::AppError;

/// OWASP's argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// At most this many hashes at once, one per core: each takes 19 MiB and a
/// core for tens of milliseconds, so an unbounded burst would exhaust memory.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Waits briefly for a hashing slot; a burst beyond that is refused.
async fn slot() -> Result<tokio::sync::SemaphorePermit<'static>, AppError> {
    match tokio::time::timeout(std::time::Duration::from_secs(5), hashing_slots().acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(AppError::RateLimited(
            "too many logins at once; try again in a moment",
        )),
    }
}

pub async fn hash(password: Password) -> Result<String, AppError> {
    let _slot = slot().await?;
    tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret()))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task failed: {e}")))?
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a candidate against a stored hash. Whatever is stored, the same
/// argon2 work is done: with no account, or an account whose stored value is
/// no password hash (not yet enrolled), the candidate is checked against a
/// fixed dummy hash and refused, so the time taken tells nothing about the
/// e-mail address.
pub async fn verify(stored: Option<String>, candidate: Secret<String>) -> Result<bool, AppError> {
    let _slot = slot().await?;
    tokio::task::spawn_blocking(move || {
        let (hash, real) = hash_to_check(stored.as_deref());
        let matches = hasher()
            .verify_password(candidate.expose_secret().as_bytes(), &hash)
            .is_ok();
        Ok(real && matches)
    })
    .await
    .map_err(|e| AppError::Internal(format!("password verification task failed: {e}")))?
}

/// The hash to verify against, and whether a match may count: only a real
/// argon2id hash with our parameters counts; anything else is replaced by
/// the dummy, which costs the same.
fn hash_to_check(stored: Option<&str>) -> (PasswordHash<'_>, bool) {
    let dummy = || PasswordHash::new(dummy_hash()).expect("the dummy hash is a PHC string");
    match stored.map(PasswordHash::new) {
        Some(Ok(hash)) if hash.algorithm == Algorithm::Argon2id.ident() => (hash, true),
        _ => (dummy(), false),
    }
}

/// Computes the dummy hash ahead of the first failed login, so that even the
/// first answer for an unknown e-mail takes no longer than for a known one.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(dummy_hash).await;
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("a password that no account has, used only for timing")
            .expect("hashing a constant works")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash(Password::parse("a long enough passphrase".into()).unwrap())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let ok = verify(Some(hash.clone()), Secret::new("a long enough passphrase".into()))
            .await
            .unwrap();
        let wrong = verify(Some(hash), Secret::new("another long passphrase".into()))
            .await
            .unwrap();
        let unknown = verify(
            None,
            Secret::new("a password that no account has, used only for timing".into()),
        )
        .await
        .unwrap();
        assert!(ok && !wrong && !unknown);
    }

    #[test]
    fn an_account_without_a_password_is_checked_against_the_dummy_hash() {
        for stored in [
            None,
            Some("!not-enrolled"),
            Some(""),
            Some("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
        ] {
            let (hash, real) = hash_to_check(stored);
            assert!(!real, "{stored:?} must never count as a match");
            // The same argon2id work as for a real account: the dummy is a
            // hash made with the production parameters.
            assert_eq!(hash.algorithm, Algorithm::Argon2id.ident());
            assert_eq!(hash.to_string(), dummy_hash());
            assert!(dummy_hash().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        }
    }
}

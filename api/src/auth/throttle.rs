//! Failed logins, throttled per account and per client address with an
//! exponential back-off.
//!
//! The counts live in the database (`login_throttle`), so every instance
//! behind a load balancer sees the same ones: an attacker gains nothing by
//! spreading guesses over instances. It costs two short statements per
//! login, which is little next to the argon2 work of checking a password.
//!
//! Abuse of the throttle to lock a real user out is bounded three ways: the
//! back-off is capped (`backoff_max`), a failure streak is forgotten after
//! `memory`, and an address from which the account has logged in before (a
//! known device) is not held back by the account's back-off, only by its own
//! address's. A correct password once the back-off has passed always works.
//!
//! An account is keyed by a hash of the e-mail whether or not an account
//! has it, so unknown e-mails are throttled exactly like real ones and the
//! throttle tells nothing about who has an account.

use std::net::IpAddr;
use std::time::Duration;

use caregraph_entity::login_throttle;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::domain::sha256_hex;
use crate::error::{AppError, AppResult};

/// How failures are counted and held back (see README, Security).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures in a row for one account before its back-off starts
    /// (`CAREGRAPH_LOGIN_ACCOUNT_FAILURES`).
    pub account_failures: u32,
    /// Failures from one client address before its back-off starts
    /// (`CAREGRAPH_LOGIN_ADDRESS_FAILURES`); higher, as a clinic's staff
    /// may share one address.
    pub address_failures: u32,
    /// The longest wait one back-off imposes (`CAREGRAPH_LOGIN_BACKOFF_MAX_SECS`).
    pub backoff_max: Duration,
    /// A streak with no failure for this long is forgotten
    /// (`CAREGRAPH_LOGIN_FAILURE_MEMORY_SECS`).
    pub memory: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            account_failures: 5,
            address_failures: 20,
            backoff_max: Duration::from_secs(300),
            memory: Duration::from_secs(15 * 60),
        }
    }
}

/// The rows one login attempt is counted under.
pub struct ThrottleKeys {
    account: String,
    address: Option<String>,
    /// This account has logged in from this address before.
    known_device: Option<String>,
}

impl ThrottleKeys {
    /// `email` as normalised for the lookup (trimmed, lower-case).
    pub fn new(email: &str, client: Option<IpAddr>) -> ThrottleKeys {
        let account = sha256_hex(email.as_bytes());
        let client = client.map(|ip| ip.to_canonical());
        ThrottleKeys {
            known_device: client
                .map(|ip| format!("known:{}", sha256_hex(format!("{account} {ip}").as_bytes()))),
            address: client.map(|ip| format!("address:{ip}")),
            account: format!("account:{account}"),
        }
    }
}

pub struct LoginThrottle {
    db: DatabaseConnection,
    settings: ThrottleSettings,
}

fn chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl LoginThrottle {
    pub fn new(db: DatabaseConnection, settings: ThrottleSettings) -> LoginThrottle {
        LoginThrottle { db, settings }
    }

    /// Called first thing in a login (before any password is hashed):
    /// `RATE_LIMITED`, with the seconds to wait, while the account or the
    /// address is in its back-off. The same statement runs whether or not
    /// the e-mail has an account.
    pub async fn check(&self, keys: &ThrottleKeys, now: DateTime<Utc>) -> AppResult<()> {
        let mut wanted = vec![keys.account.clone()];
        wanted.extend(keys.address.clone());
        wanted.extend(keys.known_device.clone());
        let rows = login_throttle::Entity::find()
            .filter(login_throttle::Column::Key.is_in(wanted))
            .all(&self.db)
            .await?;
        let known_device = keys
            .known_device
            .as_ref()
            .is_some_and(|k| rows.iter().any(|r| &r.key == k));
        let wait = rows
            .iter()
            .filter(|r| Some(&r.key) != keys.known_device.as_ref())
            // From a known device, only the address's own back-off applies.
            .filter(|r| !(known_device && r.key == keys.account))
            .filter_map(|r| r.blocked_until)
            .filter(|until| *until > now)
            .map(|until| (until - now).num_milliseconds())
            .max();
        match wait {
            Some(ms) => {
                tracing::info!(target: "caregraph::security", "login refused: back-off after failed logins");
                Err(AppError::Throttled {
                    retry_after_secs: Ord::max(u64::try_from(ms).unwrap_or(0).div_ceil(1000), 1),
                })
            }
            None => Ok(()),
        }
    }

    /// Counts a failed login (wrong password, unknown e-mail, inactive
    /// account alike) against the account and the address.
    pub async fn failed(&self, keys: &ThrottleKeys, now: DateTime<Utc>) -> AppResult<()> {
        self.count(&keys.account, self.settings.account_failures, now)
            .await?;
        if let Some(address) = &keys.address {
            self.count(address, self.settings.address_failures, now).await?;
        }
        Ok(())
    }

    /// A successful login ends the account's streak (not the address's: one
    /// valid login of one's own must not buy more guesses at others) and
    /// remembers the address as a known device of the account.
    pub async fn succeeded(&self, keys: &ThrottleKeys, now: DateTime<Utc>) -> AppResult<()> {
        login_throttle::Entity::delete_by_id(keys.account.clone())
            .exec(&self.db)
            .await?;
        if let Some(known) = &keys.known_device {
            let row = login_throttle::ActiveModel {
                key: Set(known.clone()),
                failures: Set(0),
                last_failure_at: Set(now),
                blocked_until: Set(None),
            };
            if login_throttle::Entity::find_by_id(known.clone())
                .one(&self.db)
                .await?
                .is_none()
            {
                // Lost to a concurrent login of the same account: the row exists either way.
                let _ = row.insert(&self.db).await;
            }
        }
        Ok(())
    }

    async fn count(&self, key: &str, free: u32, now: DateTime<Utc>) -> AppResult<()> {
        // A streak not added to for a while is forgotten.
        login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::Key.eq(key))
            .filter(login_throttle::Column::LastFailureAt.lt(now - chrono(self.settings.memory)))
            .exec(&self.db)
            .await?;
        // An atomic increment, so concurrent failures are all counted.
        let bumped = login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Failures,
                Expr::col(login_throttle::Column::Failures).add(1),
            )
            .col_expr(login_throttle::Column::LastFailureAt, Expr::value(now))
            .filter(login_throttle::Column::Key.eq(key))
            .exec(&self.db)
            .await?;
        if bumped.rows_affected == 0 {
            let first = login_throttle::ActiveModel {
                key: Set(key.to_owned()),
                failures: Set(1),
                last_failure_at: Set(now),
                blocked_until: Set(None),
            };
            if first.insert(&self.db).await.is_err() {
                // A concurrent failure inserted it first: count this one on top.
                login_throttle::Entity::update_many()
                    .col_expr(
                        login_throttle::Column::Failures,
                        Expr::col(login_throttle::Column::Failures).add(1),
                    )
                    .filter(login_throttle::Column::Key.eq(key))
                    .exec(&self.db)
                    .await?;
            }
        }
        let failures = login_throttle::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await?
            .map_or(1, |r| u32::try_from(r.failures).unwrap_or(0));
        if let Some(wait) = backoff(failures, free, self.settings.backoff_max) {
            login_throttle::Entity::update_many()
                .col_expr(
                    login_throttle::Column::BlockedUntil,
                    Expr::value(now + chrono(wait)),
                )
                .filter(login_throttle::Column::Key.eq(key))
                .exec(&self.db)
                .await?;
        }
        Ok(())
    }
}

/// After `failures` in a row, of which `free` are allowed without a wait:
/// 1 s, then twice as long with each further failure, at most `max`.
fn backoff(failures: u32, free: u32, max: Duration) -> Option<Duration> {
    let beyond = failures.checked_sub(free)?;
    let wait = Duration::from_secs(1u64.checked_shl(Ord::min(beyond, 40)).unwrap_or(u64::MAX));
    Some(wait.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_up_to_its_cap() {
        let max = Duration::from_secs(300);
        assert_eq!(backoff(4, 5, max), None);
        assert_eq!(backoff(5, 5, max), Some(Duration::from_secs(1)));
        assert_eq!(backoff(6, 5, max), Some(Duration::from_secs(2)));
        assert_eq!(backoff(9, 5, max), Some(Duration::from_secs(16)));
        assert_eq!(backoff(30, 5, max), Some(max));
        assert_eq!(backoff(u32::MAX, 5, max), Some(max));
    }

    #[test]
    fn keys_hash_the_email_and_tie_a_known_device_to_account_and_address() {
        let a = ThrottleKeys::new("a@clinic.test", Some("10.0.0.1".parse().unwrap()));
        let b = ThrottleKeys::new("a@clinic.test", Some("10.0.0.2".parse().unwrap()));
        assert_eq!(a.account, b.account);
        assert!(!a.account.contains("clinic"));
        assert_ne!(a.known_device, b.known_device);
        assert_eq!(a.address.as_deref(), Some("address:10.0.0.1"));
        assert!(ThrottleKeys::new("a@clinic.test", None).address.is_none());
    }
}

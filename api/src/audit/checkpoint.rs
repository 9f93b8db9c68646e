//! Signed checkpoints: the chain's length and head hash at a moment,
//! signed (HMAC-SHA256) with a key that is not in the database.
//!
//! A hash chain alone cannot show that its tail was cut off, or that the
//! whole trail was recomputed by someone who can write to the database: both
//! leave a chain that verifies. A checkpoint kept elsewhere can: the trail
//! must still hold `count` events, and event `count` must still have the
//! hash the checkpoint signed.
//!
//! The file is JSON, e.g.
//! `{"version":1,"count":42,"head":"<64 hex>","at":"2026-...Z","mac":"<64 hex>"}`,
//! where `mac = HMAC-SHA256(key, canonical)` and `canonical` is the
//! length-prefixed tag `caregraph.audit.checkpoint.v1`, then `count` (i64
//! big-endian), the 32 bytes of `head`, and `at` in microseconds since the
//! Unix epoch (i64 big-endian).
//!
//! The key is `CAREGRAPH_AUDIT_KEY` (at least 32 bytes). Unset, with a
//! SQLite database, a random key is generated once into a file beside the
//! database (`<file>.audit-key`, mode 0600) and reused; with PostgreSQL
//! there is no default: the key must live outside the database.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::canonical::ChainHash;
use super::chain::Head;
use super::error::CheckpointError;
use crate::config::Config;
use crate::domain::Secret;

const TAG: &str = "caregraph.audit.checkpoint.v1";
const VERSION: u32 = 1;
/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The checkpoint signing key.
pub struct AuditKey(Secret<Vec<u8>>);

impl AuditKey {
    pub fn new(bytes: Vec<u8>) -> Option<AuditKey> {
        (bytes.len() >= MIN_KEY_BYTES).then(|| AuditKey(Secret::new(bytes)))
    }

    /// The configured key, or the development key file beside a SQLite
    /// database, created when missing (for signing).
    pub fn load_or_create(config: &Config) -> Result<AuditKey, CheckpointError> {
        if let Some(key) = &config.audit_key {
            return AuditKey::new(key.expose_secret().clone()).ok_or(CheckpointError::NoKey);
        }
        let path = key_file_for(config.database_url.expose_secret()).ok_or(CheckpointError::NoKey)?;
        read_or_create_key_file(&path)
    }

    /// The configured key, or the existing development key file (for
    /// checking: a new key could only refuse every checkpoint).
    pub fn load(config: &Config) -> Result<AuditKey, CheckpointError> {
        if let Some(key) = &config.audit_key {
            return AuditKey::new(key.expose_secret().clone()).ok_or(CheckpointError::NoKey);
        }
        let path = key_file_for(config.database_url.expose_secret()).ok_or(CheckpointError::NoKey)?;
        if !path.exists() {
            return Err(key_file_error(
                &path,
                "there is none: no checkpoint was signed with a generated key",
            ));
        }
        read_key_file(&path)
    }

    fn mac(&self) -> Result<Hmac<Sha256>, CheckpointError> {
        // HMAC accepts keys of any length; the error cannot happen.
        <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret()).map_err(|_| CheckpointError::NoKey)
    }
}

/// `sqlite://caregraph.db?mode=rwc` → `caregraph.db.audit-key`; `None` for
/// anything but a SQLite file.
pub fn key_file_for(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(format!("{file}.audit-key")))
}

fn key_file_error(path: &Path, message: impl Into<String>) -> CheckpointError {
    CheckpointError::KeyFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_or_create_key_file(path: &Path) -> Result<AuditKey, CheckpointError> {
    match create_key_file(path) {
        Ok(key) => {
            tracing::warn!(
                target: "caregraph::security",
                path = %path.display(),
                "generated an audit checkpoint key beside the SQLite database; set CAREGRAPH_AUDIT_KEY in production"
            );
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path),
        Err(e) => Err(key_file_error(path, format!("cannot create it: {e}"))),
    }
}

fn read_key_file(path: &Path) -> Result<AuditKey, CheckpointError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| key_file_error(path, format!("cannot read it: {e}")))?;
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| key_file_error(path, "it does not hold a base64 key"))?;
    AuditKey::new(bytes).ok_or_else(|| key_file_error(path, "the key in it is shorter than 32 bytes"))
}

/// Creates the file only if it does not exist, readable by its owner only.
/// The key is written to a private temporary file first and then linked
/// into place, so a command racing this one finds either no file or the
/// whole key, and both end up with the same one.
fn create_key_file(path: &Path) -> std::io::Result<AuditKey> {
    let bytes: [u8; 32] = rand::random();
    let temporary = PathBuf::from(format!(
        "{}.{}.tmp",
        path.display(),
        uuid::Uuid::new_v4().simple()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(format!("{}\n", STANDARD.encode(bytes)).as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    linked.map(|()| AuditKey(Secret::new(bytes.to_vec())))
}

/// A signed statement: at `at`, the trail held `count` events and the last
/// one's hash was `head`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    pub count: i64,
    pub head: String,
    pub at: DateTime<Utc>,
    pub mac: String,
}

fn signed_bytes(count: i64, head: ChainHash, at: DateTime<Utc>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4 + TAG.len() + 8 + 32 + 8);
    bytes.extend_from_slice(&(TAG.len() as u32).to_be_bytes());
    bytes.extend_from_slice(TAG.as_bytes());
    bytes.extend_from_slice(&count.to_be_bytes());
    bytes.extend_from_slice(&head.0);
    bytes.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    bytes
}

impl Checkpoint {
    pub fn sign(head: Head, at: DateTime<Utc>, key: &AuditKey) -> Result<Checkpoint, CheckpointError> {
        let at = at.trunc_subsecs(6);
        let mut mac = key.mac()?;
        mac.update(&signed_bytes(head.count, head.hash, at));
        let mac = ChainHash(mac.finalize().into_bytes().into()).to_hex();
        Ok(Checkpoint {
            version: VERSION,
            count: head.count,
            head: head.hash.to_hex(),
            at,
            mac,
        })
    }

    /// The head this checkpoint vouches for, once its signature checks out.
    pub fn check(&self, key: &AuditKey) -> Result<Head, CheckpointError> {
        let head = ChainHash::from_hex(&self.head).ok_or(CheckpointError::BadSignature)?;
        let tag = ChainHash::from_hex(&self.mac).ok_or(CheckpointError::BadSignature)?;
        if self.version != VERSION || self.count < 0 {
            return Err(CheckpointError::BadSignature);
        }
        let mut mac = key.mac()?;
        mac.update(&signed_bytes(self.count, head, self.at));
        mac.verify_slice(&tag.0)
            .map_err(|_| CheckpointError::BadSignature)?;
        Ok(Head {
            count: self.count,
            hash: head,
        })
    }

    pub fn to_json(&self) -> String {
        // Numbers, strings and a timestamp always serialise.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    pub fn read(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let error = |message: String| CheckpointError::File {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        serde_json::from_str(&text).map_err(|e| error(format!("not a checkpoint: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> AuditKey {
        AuditKey::new(vec![byte; 32]).unwrap()
    }

    fn head() -> Head {
        Head {
            count: 42,
            hash: ChainHash([7; 32]),
        }
    }

    #[test]
    fn a_checkpoint_checks_out_with_its_key_only() {
        let checkpoint = Checkpoint::sign(head(), Utc::now(), &key(1)).unwrap();
        let read: Checkpoint = serde_json::from_str(&checkpoint.to_json()).unwrap();
        assert_eq!(read.check(&key(1)).unwrap(), head());
        assert!(matches!(read.check(&key(2)), Err(CheckpointError::BadSignature)));
    }

    #[test]
    fn any_change_to_a_checkpoint_breaks_its_signature() {
        let checkpoint = Checkpoint::sign(head(), Utc::now(), &key(1)).unwrap();
        let changed = [
            Checkpoint {
                count: 41,
                ..checkpoint.clone()
            },
            Checkpoint {
                head: ChainHash([8; 32]).to_hex(),
                ..checkpoint.clone()
            },
            Checkpoint {
                at: checkpoint.at + chrono::Duration::microseconds(1),
                ..checkpoint.clone()
            },
            Checkpoint {
                mac: "0".repeat(64),
                ..checkpoint.clone()
            },
        ];
        for forged in changed {
            assert!(forged.check(&key(1)).is_err(), "{forged:?}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(AuditKey::new(vec![1; 31]).is_none());
    }

    #[test]
    fn the_key_file_sits_beside_a_sqlite_database_only() {
        assert_eq!(
            key_file_for("sqlite://caregraph.db?mode=rwc"),
            Some(PathBuf::from("caregraph.db.audit-key"))
        );
        assert_eq!(
            key_file_for("sqlite:///var/lib/caregraph/c.db"),
            Some(PathBuf::from("/var/lib/caregraph/c.db.audit-key"))
        );
        assert_eq!(key_file_for("sqlite::memory:"), None);
        assert_eq!(key_file_for("postgres://postgres@127.0.0.1/caregraph"), None);
    }

    #[test]
    fn the_key_file_is_made_once_private_and_then_reused() {
        let path = std::env::temp_dir().join(format!(
            "caregraph-key-{}.audit-key",
            uuid::Uuid::new_v4().simple()
        ));
        let first = read_or_create_key_file(&path).unwrap();
        let again = read_or_create_key_file(&path).unwrap();
        assert_eq!(first.0.expose_secret(), again.0.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(&path).unwrap();
    }
}

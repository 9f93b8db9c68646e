//! The canonical encoding of an event and the chain hash.
//!
//! `hash(n) = SHA-256(prev_hash || canonical(event n))`, where `prev_hash`
//! is the 32 raw bytes of `hash(n - 1)` (32 zero bytes for the first event)
//! and `canonical` is, in this fixed order:
//!
//! | field            | encoding                                              |
//! |------------------|-------------------------------------------------------|
//! | version tag      | str `caregraph.audit.v1`                              |
//! | `seq`            | i64, 8 bytes big-endian                               |
//! | `id`             | 16 bytes                                              |
//! | `at`             | i64 microseconds since the Unix epoch (UTC), BE       |
//! | `actor_id`       | opt(16 bytes)                                         |
//! | `actor_role`     | opt(str)                                              |
//! | `action`         | str                                                   |
//! | `outcome`        | str                                                   |
//! | `patient_ids`    | u32 BE count, then 16 bytes each, in stored order     |
//! | `field_classes`  | u32 BE count, then str each, in stored order          |
//! | `purpose`        | opt(str)                                              |
//! | `grant_no`       | opt(i64 BE)                                           |
//! | `operation_name` | opt(str)                                              |
//! | `request_id`     | opt(16 bytes)                                         |
//! | `client_addr`    | opt(str)                                              |
//! | `detail`         | str (the stored JSON text, byte for byte)             |
//!
//! `str` is a u32 big-endian byte length followed by the UTF-8 bytes;
//! `opt(x)` is the byte 0 for none, or the byte 1 followed by `x`. Every
//! field is length-prefixed or of fixed width, so no two different events
//! encode to the same bytes. The encoding never changes for a stored
//! version tag: a new layout gets a new tag.

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub const VERSION_TAG: &str = "caregraph.audit.v1";

/// A SHA-256 value of the chain.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first event follows.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
        hex
    }

    /// Lower-case hex of exactly 64 digits, as stored.
    pub fn from_hex(hex: &str) -> Option<ChainHash> {
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(ChainHash(bytes))
    }
}

impl std::fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Display for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An event's fields as the hash sees them: exactly what is stored, so that
/// the writer (from a typed event) and `verify` (from a row) meet.
#[derive(Clone, Debug)]
pub struct CanonicalEvent<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub at_micros: i64,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub outcome: &'a str,
    pub patient_ids: &'a [Uuid],
    pub field_classes: &'a [&'a str],
    pub purpose: Option<&'a str>,
    pub grant_no: Option<i64>,
    pub operation_name: Option<&'a str>,
    pub request_id: Option<Uuid>,
    pub client_addr: Option<&'a str>,
    pub detail: &'a str,
}

struct Encoder(Vec<u8>);

impl Encoder {
    fn fixed(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn len(&mut self, n: usize) {
        // Stored values are far below 4 GiB; saturate rather than wrap.
        self.fixed(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    }

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.fixed(s.as_bytes());
    }

    fn i64(&mut self, n: i64) {
        self.fixed(&n.to_be_bytes());
    }

    fn opt<T>(&mut self, value: Option<T>, encode: impl FnOnce(&mut Self, T)) {
        match value {
            None => self.0.push(0),
            Some(v) => {
                self.0.push(1);
                encode(self, v);
            }
        }
    }
}

impl CanonicalEvent<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder(Vec::with_capacity(
            256 + 16 * self.patient_ids.len() + self.detail.len(),
        ));
        e.str(VERSION_TAG);
        e.i64(self.seq);
        e.fixed(self.id.as_bytes());
        e.i64(self.at_micros);
        e.opt(self.actor_id, |e, id| e.fixed(id.as_bytes()));
        e.opt(self.actor_role, Encoder::str);
        e.str(self.action);
        e.str(self.outcome);
        e.len(self.patient_ids.len());
        for id in self.patient_ids {
            e.fixed(id.as_bytes());
        }
        e.len(self.field_classes.len());
        for class in self.field_classes {
            e.str(class);
        }
        e.opt(self.purpose, Encoder::str);
        e.opt(self.grant_no, Encoder::i64);
        e.opt(self.operation_name, Encoder::str);
        e.opt(self.request_id, |e, id| e.fixed(id.as_bytes()));
        e.opt(self.client_addr, Encoder::str);
        e.str(self.detail);
        e.0
    }

    /// `SHA-256(prev || canonical(self))`.
    pub fn hash(&self, prev: ChainHash) -> ChainHash {
        let mut hasher = Sha256::new();
        hasher.update(prev.0);
        hasher.update(self.encode());
        ChainHash(hasher.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(patients: &'a [Uuid], classes: &'a [&'a str]) -> CanonicalEvent<'a> {
        CanonicalEvent {
            seq: 1,
            id: Uuid::from_u128(0x0102),
            at_micros: 1_700_000_000_000_001,
            actor_id: Some(Uuid::from_u128(7)),
            actor_role: Some("NURSE"),
            action: "READ",
            outcome: "ALLOWED",
            patient_ids: patients,
            field_classes: classes,
            purpose: Some("TREATMENT"),
            grant_no: Some(12),
            operation_name: Some("NursePage"),
            request_id: Some(Uuid::from_u128(9)),
            client_addr: Some("127.0.0.1"),
            detail: "{}",
        }
    }

    #[test]
    fn the_encoding_is_pinned() {
        // The layout is the contract with every stored trail: if this test
        // fails, old chains no longer verify. Change the version tag instead.
        // The expected hash was computed independently of this code, from
        // the layout documented above (Python's struct and hashlib).
        let patients = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let event = sample(&patients, &["VITALS", "CLINICAL"]);
        let bytes = event.encode();
        assert_eq!(&bytes[..4], &18u32.to_be_bytes());
        assert_eq!(&bytes[4..22], VERSION_TAG.as_bytes());
        assert_eq!(&bytes[22..30], &1i64.to_be_bytes());
        assert_eq!(
            event.hash(ChainHash::GENESIS).to_hex(),
            "6fc4896db0f01b5c8b9e8d14a420a4d5d6eda365db2d4cdd44b8d44709da88f1"
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let patients = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let swapped = [Uuid::from_u128(2), Uuid::from_u128(1)];
        let classes = ["VITALS", "CLINICAL"];
        let base = sample(&patients, &classes);
        let h = base.hash(ChainHash::GENESIS);
        let variants: Vec<CanonicalEvent<'_>> = vec![
            CanonicalEvent {
                seq: 2,
                ..base.clone()
            },
            CanonicalEvent {
                id: Uuid::from_u128(3),
                ..base.clone()
            },
            CanonicalEvent {
                at_micros: base.at_micros + 1,
                ..base.clone()
            },
            CanonicalEvent {
                actor_id: None,
                ..base.clone()
            },
            CanonicalEvent {
                actor_role: None,
                ..base.clone()
            },
            CanonicalEvent {
                action: "WRITE",
                ..base.clone()
            },
            CanonicalEvent {
                outcome: "DENIED",
                ..base.clone()
            },
            CanonicalEvent {
                patient_ids: &swapped,
                ..base.clone()
            },
            CanonicalEvent {
                patient_ids: &patients[..1],
                ..base.clone()
            },
            CanonicalEvent {
                field_classes: &classes[..1],
                ..base.clone()
            },
            CanonicalEvent {
                purpose: None,
                ..base.clone()
            },
            CanonicalEvent {
                grant_no: Some(13),
                ..base.clone()
            },
            CanonicalEvent {
                operation_name: None,
                ..base.clone()
            },
            CanonicalEvent {
                request_id: None,
                ..base.clone()
            },
            CanonicalEvent {
                client_addr: Some("127.0.0.2"),
                ..base.clone()
            },
            CanonicalEvent {
                detail: "{ }",
                ..base.clone()
            },
        ];
        for variant in &variants {
            assert_ne!(variant.hash(ChainHash::GENESIS), h, "{variant:?}");
        }
        // And the predecessor counts.
        assert_ne!(base.hash(h), h);
    }

    #[test]
    fn neighbouring_strings_cannot_trade_bytes() {
        // Without length prefixes, ("READ", "ALLOWED") and ("READA", "LLOWED")
        // would encode alike.
        let base = sample(&[], &[]);
        let shifted = CanonicalEvent {
            action: "READA",
            outcome: "LLOWED",
            ..base.clone()
        };
        assert_ne!(base.encode(), shifted.encode());
        let split = CanonicalEvent {
            field_classes: &["VITALSCLINICAL"],
            ..base.clone()
        };
        let two = CanonicalEvent {
            field_classes: &["VITALS", "CLINICAL"],
            ..base
        };
        assert_ne!(split.encode(), two.encode());
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let h = sample(&[], &[]).hash(ChainHash::GENESIS);
        assert_eq!(ChainHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(ChainHash::GENESIS.to_hex(), "0".repeat(64));
        for bad in ["", "00", &"G".repeat(64), &"A".repeat(64), &"0".repeat(65)] {
            assert_eq!(ChainHash::from_hex(bad), None, "{bad}");
        }
    }
}

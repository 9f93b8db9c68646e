//! Parse, don't validate: values that crossed the edge are checked once, here,
//! and carried in types that can only hold valid values.

use std::fmt;

use crate::error::AppError;

/// A secret that never prints: not in logs, not in debug output.
#[derive(Clone)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The one way to read it; grep for `expose_secret` to find every use.
    pub fn expose_secret(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// An e-mail address, trimmed and lower-cased so that uniqueness ignores case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AppError> {
        let value = raw.trim().to_lowercase();
        let invalid = || AppError::bad_input("email is not a valid e-mail address");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets NIST SP 800-63B for a single-factor memorized secret:
/// 15 to 128 characters, any characters, no composition rules.
pub struct Password(Secret<String>);

impl Password {
    pub const MIN_CHARS: usize = 15;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: String) -> Result<Password, AppError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(AppError::bad_input(format!(
                "password must be at least {} characters long; a passphrase of several words works well",
                Self::MIN_CHARS
            )));
        }
        if chars > Self::MAX_CHARS {
            return Err(AppError::bad_input(format!(
                "password must be at most {} characters long",
                Self::MAX_CHARS
            )));
        }
        Ok(Password(Secret::new(raw)))
    }

    /// A password `auth::password_policy::check` has accepted (its length
    /// rule depends on MFA, which this type does not know).
    pub(crate) fn accepted(normalised: String) -> Password {
        Password(Secret::new(normalised))
    }

    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

/// A person's display name or a name part: trimmed, non-empty, bounded.
pub fn parse_name(field: &'static str, raw: &str) -> Result<String, AppError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(format!("{field} must not be empty")));
    }
    if value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(AppError::bad_input(format!(
            "{field} must be at most 200 characters, without control characters"
        )));
    }
    Ok(value.to_owned())
}

/// An optional free-text field: trimmed, empty means absent, bounded.
pub fn parse_optional_text(
    field: &'static str,
    raw: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max_chars || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::bad_input(format!(
            "{field} must be at most {max_chars} characters, without control characters"
        )));
    }
    Ok(Some(value.to_owned()))
}

/// Lower-case hex SHA-256: how tokens, codes and the policy text are
/// fingerprinted (the secrets themselves are never stored).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A page size from a GraphQL `first` argument: `default` when absent,
/// otherwise 0 to `max`.
pub fn page_size(first: Option<i32>, default: u64, max: u64) -> Result<u64, AppError> {
    match first {
        None => Ok(default),
        Some(n) if n >= 0 && (n as u64) <= max => Ok(n as u64),
        Some(_) => Err(AppError::bad_input(format!("first must be between 0 and {max}"))),
    }
}

/// A UUID from a GraphQL `ID`.
/// Splits rows fetched with `LIMIT limit + 1` into the page and whether
/// more rows follow it.
pub fn split_page<T>(mut rows: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let has_next_page = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    (rows, has_next_page)
}

pub fn parse_id(field: &'static str, raw: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| AppError::bad_input(format!("{field} is not a valid id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Ana@Clinic.Example ").unwrap().as_str(),
            "ana@clinic.example"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@clinic.example",
            "ana@clinic",
            "a b@clinic.example",
            "a@b@c.d",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_count_characters_not_bytes() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("ééééééééééééééé".into()).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("correct horse battery".into()).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret([REDACTED])");
    }
}

/// A stored value outside its vocabulary. Only this server writes these
/// columns, so it means a damaged row: the field fails loudly (INTERNAL,
/// logged) rather than being shown as some other value. Deliberately not
/// `Display`: it reaches a client only through the error mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UnknownStored(pub &'static str);

/// A vocabulary stored as text: each variant's stored and schema name, and
/// a checked parse that fails loudly on anything else.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(stored: &str) -> Result<$name, UnknownStored> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == stored)
                    .ok_or(UnknownStored(stringify!($name)))
            }
        }
    };
}

stored_enum!(AllergySeverity { Mild => "MILD", Moderate => "MODERATE", Severe => "SEVERE" });
stored_enum!(NoteSensitivity {
    Normal => "NORMAL",
    Psychotherapy => "PSYCHOTHERAPY",
    SubstanceUse => "SUBSTANCE_USE",
});
stored_enum!(InvoiceStatus { Issued => "ISSUED", Paid => "PAID", Void => "VOID" });
stored_enum!(AssignmentKind { Attending => "ATTENDING", Nurse => "NURSE" });
stored_enum!(
    /// A compliance officer's finding on a break-glass: was the emergency access justified?
    BreakGlassOutcome { Appropriate => "APPROPRIATE", Inappropriate => "INAPPROPRIATE" }
);
stored_enum!(Sex { Female => "FEMALE", Male => "MALE", Other => "OTHER", Unknown => "UNKNOWN" });

/// An optional input field: absent leaves a value as it is (`None`), `null`
/// clears it (`Some(None)`).
pub fn maybe<T>(value: async_graphql::MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        async_graphql::MaybeUndefined::Undefined => None,
        async_graphql::MaybeUndefined::Null => Some(None),
        async_graphql::MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// A calendar date, `YYYY-MM-DD`.
#[derive(Copy, Clone, Debug)]
pub struct Date(pub chrono::NaiveDate);

#[async_graphql::Scalar(name = "Date")]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| async_graphql::InputValueError::custom("expected a date as YYYY-MM-DD")),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

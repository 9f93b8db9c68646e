//! What a password must be (NIST SP 800-63B rev. 4): long enough, not too
//! long, not a common or breached password, not built on the account's
//! e-mail address; no composition rules. Compared after Unicode NFKC
//! normalisation, which is also what is hashed and verified, so the same
//! passphrase typed on two keyboards (composed or decomposed accents,
//! full-width letters) is the same password.

use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::domain::Password;
use crate::error::{AppError, AppResult};

/// Without a second factor.
pub const MIN_CHARS: usize = 15;
/// With MFA on the account.
pub const MIN_CHARS_WITH_MFA: usize = 8;
pub const MAX_CHARS: usize = 128;

/// The common and breached passwords refused (see `api/data/README.md`):
/// lower-case, NFKC, 8 to 128 characters, sorted, one a line.
static COMMON: &str = include_str!("../../data/common-passwords.txt");

fn common() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| COMMON.lines().collect())
}

/// Whether the list holds this password, compared without regard to case.
pub fn is_common(password: &str) -> bool {
    let lower = normalise(password).to_lowercase();
    common().binary_search(&lower.as_str()).is_ok()
}

/// The password as it is checked, hashed and verified: NFKC.
pub fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

/// Checks a new password for the account with this e-mail and returns it
/// normalised, ready to hash. `has_mfa`: the account has a second factor,
/// which allows 8 characters instead of 15.
pub fn check(password: &str, email: &str, has_mfa: bool) -> AppResult<Password> {
    let password = normalise(password);
    let chars = password.chars().count();
    let min = if has_mfa { MIN_CHARS_WITH_MFA } else { MIN_CHARS };
    if chars < min {
        return Err(AppError::bad_input(format!(
            "password must be at least {min} characters long; a passphrase of several words works well"
        )));
    }
    if chars > MAX_CHARS {
        return Err(AppError::bad_input(format!(
            "password must be at most {MAX_CHARS} characters long"
        )));
    }
    let lower = password.to_lowercase();
    if common().binary_search(&lower.as_str()).is_ok() {
        return Err(AppError::bad_input(
            "this password is in a list of common or breached passwords; choose another",
        ));
    }
    let local = email
        .trim()
        .rsplit_once('@')
        .map_or(email.trim(), |(local, _)| local);
    let local = normalise(local).to_lowercase();
    // A local part of one or two characters would refuse half of all
    // passphrases; from three on it is a real part of the address.
    if local.chars().count() >= 3 && lower.contains(&local) {
        return Err(AppError::bad_input(
            "the password must not contain your e-mail address or its name part",
        ));
    }
    Ok(Password::accepted(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_lowercase_and_long() {
        let list = common();
        assert!(list.len() >= 100_000, "{}", list.len());
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "the list must be sorted and unique"
        );
        assert!(list.iter().all(|p| *p == p.to_lowercase()));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password123", "Password123", "qwertyuiop", "iloveyou12"] {
            assert!(is_common(common), "{common}");
            assert!(check(common, "x@clinic.test", true).is_err(), "{common}");
        }
        assert!(!is_common("correct horse battery staple"));
    }

    #[test]
    fn length_depends_on_mfa_and_counts_normalised_characters() {
        assert!(check("sunny meadow", "x@clinic.test", false).is_err());
        assert!(check("sunny meadow", "x@clinic.test", true).is_ok());
        assert!(check("a quiet sunny meadow", "x@clinic.test", false).is_ok());
        assert!(check(&"x".repeat(129), "x@clinic.test", true).is_err());
        // No composition rules: one script, no digits, no symbols is fine.
        assert!(check("ééééééééééééééé", "x@clinic.test", false).is_ok());
    }

    #[test]
    fn nfkc_makes_composed_decomposed_and_full_width_forms_one_password() {
        assert_eq!(normalise("cafe\u{301}"), normalise("caf\u{e9}"));
        assert_eq!(normalise("ｐａｓｓ"), "pass");
        let checked = check("ｃｏｒｒｅｃｔ horse battery", "x@clinic.test", false).unwrap();
        assert_eq!(checked.expose_secret(), "correct horse battery");
    }

    #[test]
    fn a_password_containing_the_email_local_part_is_refused() {
        let refused = check("Nina.Patel rules the ward", "nina.patel@clinic.test", false);
        assert!(refused.is_err());
        assert!(check("a quiet sunny meadow", "nina.patel@clinic.test", false).is_ok());
    }
}

//! JWT access tokens: HS256 only, with `exp`, `nbf`, `iss` and `aud` checked.
//! The claims name the user, the session and the role; never any PHI.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Secret;
use crate::error::AppError;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl TokenKeys {
    pub fn new(secret: &Secret<Vec<u8>>, issuer: &str, audience: &str) -> TokenKeys {
        // Pinned: a token that names another algorithm (`none`, RS256, ...) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose_secret()),
            decoding: DecodingKey::from_secret(secret.expose_secret()),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        role: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: user_id,
            sid: session_id,
            role: role.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + lifetime_secs,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("cannot sign token: {e}")))
    }

    /// Checks signature, algorithm and time and audience claims. Whether the
    /// session behind the token is still live is the session store's question.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(issuer: &str, audience: &str) -> TokenKeys {
        TokenKeys::new(&Secret::new(vec![7u8; 32]), issuer, audience)
    }

    #[test]
    fn a_token_round_trips() {
        let k = keys("caregraph", "api");
        let now = chrono::Utc::now().timestamp();
        let token = k.issue(Uuid::new_v4(), Uuid::new_v4(), "NURSE", now, 60).unwrap();
        assert_eq!(k.verify(&token).unwrap().role, "NURSE");
    }

    #[test]
    fn expired_future_and_foreign_tokens_are_refused() {
        let k = keys("caregraph", "api");
        let now = chrono::Utc::now().timestamp();
        let expired = k
            .issue(Uuid::new_v4(), Uuid::new_v4(), "NURSE", now - 3600, 60)
            .unwrap();
        let not_yet = k
            .issue(Uuid::new_v4(), Uuid::new_v4(), "NURSE", now + 3600, 60)
            .unwrap();
        let other_audience = keys("caregraph", "other")
            .issue(Uuid::new_v4(), Uuid::new_v4(), "NURSE", now, 60)
            .unwrap();
        let other_issuer = keys("evil", "api")
            .issue(Uuid::new_v4(), Uuid::new_v4(), "NURSE", now, 60)
            .unwrap();
        for token in [expired, not_yet, other_audience, other_issuer] {
            assert!(k.verify(&token).is_err());
        }
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = chrono::Utc::now().timestamp();
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = b64.encode(format!(
            r#"{{"sub":"{}","sid":"{}","role":"ADMIN","iss":"caregraph","aud":"api","iat":{now},"nbf":{now},"exp":{}}}"#,
            Uuid::new_v4(),
            Uuid::new_v4(),
            now + 60
        ));
        assert!(
            keys("caregraph", "api")
                .verify(&format!("{header}.{body}."))
                .is_err()
        );
    }
}

//! Server-side sessions. A JWT proves who signed it; the session row decides
//! whether it is still honoured, so logout, deactivation, deletion and role
//! changes take effect at the next request on every server instance.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::net::IpAddr;

use caregraph_entity::{server_key, session, spent_refresh_token, user};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::Principal;
use super::mfa::{self, Mfa, Refusal, SecondFactor};
use super::password;
use super::password_policy;
use super::throttle::{LoginThrottle, ThrottleKeys};
use super::token::TokenKeys;
use crate::audit::{Audit, AuditAction, AuditEvent, Detail, Outcome};
use crate::config::Config;
use crate::domain::{Secret, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::policy::Role;

const JWT_KEY_NAME: &str = "jwt_hs256";

/// The status of an approved elevation (`elevations.status`).
pub const ELEVATION_APPROVED: &str = "APPROVED";

/// What a successful login or refresh hands out.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: user::Model,
    /// The account's role must use MFA and it has not set it up: this
    /// session may only enrol (`startTotpEnrolment`).
    pub mfa_enrolment_required: bool,
}

pub struct SessionStore {
    db: DatabaseConnection,
    /// Every login, failed login, logout, refresh and refused token is an
    /// audit event, durable before the answer goes out.
    audit: Audit,
    keys: TokenKeys,
    /// Failed logins per account and per address, shared by every instance.
    throttle: LoginThrottle,
    access_ttl: Duration,
    idle_timeout: Duration,
    max_lifetime: Duration,
    /// TOTP secrets' key and which roles must use a second factor.
    mfa: Mfa,
    /// How recent an authentication high-risk actions need.
    step_up: Duration,
}

fn duration(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

fn refresh_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn new_refresh_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn invalid_login() -> AppError {
    AppError::Unauthenticated
}

/// An event about this account (its id and role; never its e-mail).
fn about(user: &user::Model, action: AuditAction, outcome: Outcome) -> AuditEvent {
    AuditEvent::new(action, outcome).actor(user.id, Role::parse(&user.role))
}

impl SessionStore {
    pub async fn new(db: DatabaseConnection, config: &Config, audit: Audit) -> AppResult<SessionStore> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => shared_key(&db, JWT_KEY_NAME).await?,
        };
        let mfa_key = match &config.mfa_key {
            Some(key) => key.clone(),
            None => shared_key(&db, mfa::MFA_KEY_NAME).await?,
        };
        Ok(SessionStore {
            mfa: Mfa::new(mfa_key, config.mfa_roles.clone()),
            step_up: duration(config.step_up),
            keys: TokenKeys::new(&secret, &config.jwt_issuer, &config.jwt_audience),
            throttle: LoginThrottle::new(db.clone(), config.login_throttle),
            db,
            audit,
            access_ttl: duration(config.access_token_ttl),
            idle_timeout: duration(config.session_idle_timeout),
            max_lifetime: duration(config.session_max_lifetime),
        })
    }

    /// The audit trail this store records to; the access layer records
    /// through the same handle.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    pub fn mfa(&self) -> &Mfa {
        &self.mfa
    }

    /// Refuses a high-risk action unless the session authenticated within
    /// the step-up window (`CAREGRAPH_STEP_UP_SECS`): `REAUTH_REQUIRED`.
    pub fn require_recent_authentication(&self, principal: &Principal) -> AppResult<()> {
        match principal.authenticated_at {
            Some(at) if Utc::now() - at <= self.step_up => Ok(()),
            _ => Err(AppError::ReauthRequired),
        }
    }

    /// Wrong password, unknown e-mail and inactive account get the same answer
    /// after the same work. Each attempt is an audit event: LOGIN, or
    /// LOGIN_FAILED naming the account when there is one (an unknown e-mail
    /// is recorded without it: the address is not kept). An account with a
    /// second factor also needs `otp` (a TOTP code or a recovery code),
    /// checked only after the password: without a valid one the answer is
    /// MFA_REQUIRED and the event LOGIN_FAILED with reason `otp_missing`,
    /// `otp_invalid` or `otp_replayed`.
    ///
    /// `client` is the caller's address (see `http::client_addr`); failures
    /// are throttled per account and per address (`auth::throttle`).
    pub async fn login(
        &self,
        email: &str,
        password: String,
        otp: Option<String>,
        client: Option<IpAddr>,
    ) -> AppResult<Issued> {
        let email = email.trim().to_lowercase();
        let keys = ThrottleKeys::new(&email, client);
        // First, before any password is hashed; kept apart from the password
        // (and any second factor) check below.
        if let Err(throttled) = self.throttle.check(&keys, Utc::now()).await {
            self.audit
                .record_one(
                    AuditEvent::new(AuditAction::LoginFailed, Outcome::Failure)
                        .detail(Detail::new().code("reason", "throttled")),
                )
                .await?;
            return Err(throttled);
        }
        let password = password_policy::normalise(&password);
        let found = if password.len() > 4 * 128 || email.len() > 320 {
            None
        } else {
            user::Entity::find()
                .filter(user::Column::Email.eq(email.as_str()))
                .one(&self.db)
                .await?
        };
        let checked = password::verify(
            found
                .as_ref()
                .filter(|u| u.active)
                .map(|u| u.password_hash.clone()),
            Secret::new(password),
        )
        .await;
        let failure = match (&checked, &found) {
            (Ok(true), Some(user)) if user.active => None,
            (Err(_), _) => Some("not_checked"),
            (_, None) => Some("unknown_account"),
            (_, Some(user)) if !user.active => Some("inactive"),
            (_, Some(_)) => Some("wrong_password"),
        };
        if let Some(reason) = failure {
            let event = match &found {
                Some(user) => about(user, AuditAction::LoginFailed, Outcome::Failure),
                None => AuditEvent::new(AuditAction::LoginFailed, Outcome::Failure),
            };
            self.audit
                .record_one(event.detail(Detail::new().code("reason", reason)))
                .await?;
            checked?;
            self.throttle.failed(&keys, Utc::now()).await?;
            tracing::info!(target: "caregraph::security", "login failed");
            return Err(invalid_login());
        }
        let Some(user) = found else {
            return Err(invalid_login());
        };
        let now = Utc::now();
        // A refused second factor is a failed login like a wrong password:
        // it counts towards the back-off, so codes cannot be guessed freely.
        let second_factor = match self.second_factor(&user, otp.as_deref(), now).await {
            Ok(factor) => factor,
            Err(refused) => {
                self.throttle.failed(&keys, now).await?;
                return Err(refused);
            }
        };
        let elevated = active_elevation(&self.db, user.id, now).await?;
        self.throttle.succeeded(&keys, now).await?;
        let refresh_token = new_refresh_token();
        let session = session::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user.id),
            refresh_token_hash: Set(refresh_hash(&refresh_token)),
            previous_refresh_token_hash: Set(None),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + self.max_lifetime),
            revoked_at: Set(None),
            authenticated_at: Set(Some(now)),
            mfa_at: Set(second_factor.map(|_| now)),
            elevated_role: Set(elevated.as_ref().map(|(role, _)| role.clone())),
            elevated_until: Set(elevated.map(|(_, until)| until)),
            role: Set(Some(user.role.clone())),
        }
        .insert(&self.db)
        .await?;
        let mut detail = Detail::new().id("session", session.id);
        if let Some(factor) = second_factor {
            detail = detail.code("second_factor", factor.as_str());
        }
        self.audit
            .record_one(about(&user, AuditAction::Login, Outcome::Success).detail(detail))
            .await?;
        tracing::info!(target: "caregraph::security", user_id = %user.id, session_id = %session.id, "login");
        self.issue(user, session, refresh_token, now)
    }

    /// For an account with a confirmed second factor: checks and spends
    /// `otp`, or refuses the login (MFA_REQUIRED, a LOGIN_FAILED event).
    /// `None` for an account without one.
    async fn second_factor(
        &self,
        user: &user::Model,
        otp: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Option<SecondFactor>> {
        let Some(credential) = mfa::confirmed_credential(&self.db, user.id).await? else {
            return Ok(None);
        };
        match self.mfa.check(&self.db, &credential, otp, now).await? {
            Ok(factor) => Ok(Some(factor)),
            Err(refusal) => {
                self.audit
                    .record_one(
                        about(user, AuditAction::LoginFailed, Outcome::Failure)
                            .detail(Detail::new().code("reason", refusal.reason())),
                    )
                    .await?;
                tracing::info!(target: "caregraph::security", user_id = %user.id, reason = refusal.reason(), "second factor refused");
                Err(mfa_refused(refusal))
            }
        }
    }

    /// Step-up: the caller proves their password (and second factor, if the
    /// account has one) again, and the session counts as freshly
    /// authenticated. A REAUTHENTICATION event either way. A wrong password
    /// is UNAUTHENTICATED and a missing or wrong code MFA_REQUIRED, as at
    /// login; the session goes on in both cases.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: String,
        otp: Option<String>,
    ) -> AppResult<()> {
        let user = user::Entity::find_by_id(principal.user_id)
            .one(&self.db)
            .await?
            .filter(|u| u.active)
            .ok_or(AppError::Unauthenticated)?;
        let failed = |reason: &'static str| {
            about(&user, AuditAction::Reauthentication, Outcome::Failure).detail(
                Detail::new()
                    .code("reason", reason)
                    .id("session", principal.session_id),
            )
        };
        let matches = password::verify(Some(user.password_hash.clone()), Secret::new(password)).await?;
        if !matches {
            self.audit.record_one(failed("wrong_password")).await?;
            return Err(invalid_login());
        }
        let now = Utc::now();
        let second_factor = match mfa::confirmed_credential(&self.db, user.id).await? {
            None => None,
            Some(credential) => match self.mfa.check(&self.db, &credential, otp.as_deref(), now).await? {
                Ok(factor) => Some(factor),
                Err(refusal) => {
                    self.audit.record_one(failed(refusal.reason())).await?;
                    return Err(mfa_refused(refusal));
                }
            },
        };
        let mut update = session::Entity::update_many()
            .col_expr(session::Column::AuthenticatedAt, Expr::value(now))
            .col_expr(session::Column::LastSeenAt, Expr::value(now));
        if second_factor.is_some() {
            update = update.col_expr(session::Column::MfaAt, Expr::value(now));
        }
        update
            .filter(session::Column::Id.eq(principal.session_id))
            .exec(&self.db)
            .await?;
        let mut detail = Detail::new().id("session", principal.session_id);
        if let Some(factor) = second_factor {
            detail = detail.code("second_factor", factor.as_str());
        }
        self.audit
            .record_one(about(&user, AuditAction::Reauthentication, Outcome::Success).detail(detail))
            .await?;
        tracing::info!(target: "caregraph::security", user_id = %user.id, session_id = %principal.session_id, "reauthenticated");
        Ok(())
    }

    fn issue(
        &self,
        user: user::Model,
        session: session::Model,
        refresh_token: String,
        now: DateTime<Utc>,
    ) -> AppResult<Issued> {
        let lifetime = self.access_ttl.min(session.expires_at - now).num_seconds().max(1);
        let access_token = self
            .keys
            .issue(user.id, session.id, &user.role, now.timestamp(), lifetime)?;
        let mfa_enrolment_required = session.mfa_at.is_none()
            && Role::parse(&user.role).is_some_and(|role| self.mfa.required_for(role));
        Ok(Issued {
            access_token,
            refresh_token,
            expires_at: now + Duration::seconds(lifetime),
            user,
            mfa_enrolment_required,
        })
    }

    /// Exchanges a refresh token for a new pair. The old refresh token stops
    /// working; presenting it again, however many rotations later, revokes
    /// the whole session (every token of its family). Each attempt
    /// is a REFRESH event (FAILURE naming the account when the token was
    /// one of its sessions').
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<Issued> {
        let failed = |user: Option<&user::Model>, reason: &'static str| {
            let event = match user {
                Some(user) => about(user, AuditAction::Refresh, Outcome::Failure),
                None => AuditEvent::new(AuditAction::Refresh, Outcome::Failure),
            };
            event.detail(Detail::new().code("reason", reason))
        };
        let hash = refresh_hash(refresh_token);
        if let Some((reused, user)) = self.spent_by(&hash).await? {
            tracing::warn!(target: "caregraph::security", session_id = %reused.id, "refresh token reused; session revoked");
            self.revoke(reused.id).await?;
            let event = failed(user.as_ref(), "reused_token").detail(
                Detail::new()
                    .code("reason", "reused_token")
                    .id("session", reused.id),
            );
            self.audit.record_one(event).await?;
            return Err(AppError::Unauthenticated);
        }
        let now = Utc::now();
        let Some((session, user)) = self
            .session_with_user(session::Column::RefreshTokenHash.eq(hash.as_str()))
            .await?
        else {
            self.audit.record_one(failed(None, "unknown_token")).await?;
            return Err(AppError::Unauthenticated);
        };
        if self.check_live(&session, &user, now).is_err() {
            self.audit
                .record_one(failed(Some(&user), "session_ended"))
                .await?;
            return Err(AppError::Unauthenticated);
        }
        let new_token = new_refresh_token();
        // Compare-and-swap: of two concurrent refreshes with one token, one
        // wins; in the same transaction the old token is kept as spent.
        let txn = self.db.begin().await?;
        let rotated = session::Entity::update_many()
            .col_expr(
                session::Column::PreviousRefreshTokenHash,
                Expr::value(hash.clone()),
            )
            .col_expr(
                session::Column::RefreshTokenHash,
                Expr::value(refresh_hash(&new_token)),
            )
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .filter(session::Column::RefreshTokenHash.eq(hash.as_str()))
            .exec(&txn)
            .await?;
        if rotated.rows_affected == 1 {
            spent_refresh_token::ActiveModel {
                token_hash: Set(hash.clone()),
                session_id: Set(session.id),
                spent_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        txn.commit().await?;
        if rotated.rows_affected != 1 {
            self.audit.record_one(failed(Some(&user), "lost_race")).await?;
            return Err(AppError::Unauthenticated);
        }
        self.audit
            .record_one(
                about(&user, AuditAction::Refresh, Outcome::Success)
                    .detail(Detail::new().id("session", session.id)),
            )
            .await?;
        self.issue(user, session, new_token, now)
    }

    /// The session (and its user) that already spent this refresh token:
    /// the one before last, or any earlier one.
    async fn spent_by(&self, hash: &str) -> AppResult<Option<(session::Model, Option<user::Model>)>> {
        if let Some(found) = session::Entity::find()
            .filter(session::Column::PreviousRefreshTokenHash.eq(hash))
            .find_also_related(user::Entity)
            .one(&self.db)
            .await?
        {
            return Ok(Some(found));
        }
        let Some(spent) = spent_refresh_token::Entity::find_by_id(hash.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(session::Entity::find_by_id(spent.session_id)
            .find_also_related(user::Entity)
            .one(&self.db)
            .await?)
    }

    /// The session matching `condition` with its user, live or not.
    async fn session_with_user(
        &self,
        condition: impl sea_orm::sea_query::IntoCondition,
    ) -> AppResult<Option<(session::Model, user::Model)>> {
        Ok(session::Entity::find()
            .filter(condition)
            .find_also_related(user::Entity)
            .one(&self.db)
            .await?
            .and_then(|(s, u)| Some((s, u?))))
    }

    fn check_live(&self, session: &session::Model, user: &user::Model, now: DateTime<Utc>) -> AppResult<()> {
        let live = session.revoked_at.is_none()
            && session.expires_at > now
            && session.last_seen_at + self.idle_timeout > now
            && user.active
            // A role change ends the session, refresh token included.
            && session.role.as_ref().is_none_or(|role| *role == user.role);
        if live {
            Ok(())
        } else {
            Err(AppError::Unauthenticated)
        }
    }

    /// Turns a bearer token into a principal, or refuses it. A refusal is
    /// a TOKEN_REFUSED event, naming the account only when the token's
    /// signature was valid (its session ended, or its role changed).
    pub async fn authenticate(&self, bearer: &str) -> AppResult<Principal> {
        let Ok(claims) = self.keys.verify(bearer) else {
            self.refused(None, "invalid_token").await?;
            return Err(AppError::Unauthenticated);
        };
        let now = Utc::now();
        let Some((session, user)) = self.session_with_user(session::Column::Id.eq(claims.sid)).await? else {
            self.refused(None, "unknown_session").await?;
            return Err(AppError::Unauthenticated);
        };
        if session.role.as_ref().is_some_and(|role| *role != user.role) {
            self.revoke(session.id).await?;
            self.refused(Some(&user), "role_changed").await?;
            return Err(AppError::Unauthenticated);
        }
        if self.check_live(&session, &user, now).is_err() {
            self.refused(Some(&user), "session_ended").await?;
            return Err(AppError::Unauthenticated);
        }
        // A role change ends the sessions issued under the old role.
        if session.user_id != claims.sub || user.role != claims.role {
            self.revoke(session.id).await?;
            self.refused(Some(&user), "role_changed").await?;
            return Err(AppError::Unauthenticated);
        }
        let own_role =
            Role::parse(&user.role).ok_or_else(|| AppError::Internal("stored role is unknown".into()))?;
        // An approved elevation in force is the role the policy sees; it
        // ends by itself at `elevated_until` (see `access::elevation`).
        let elevated = match (
            session.elevated_role.as_deref().and_then(Role::parse),
            session.elevated_until,
        ) {
            (Some(elevated), Some(until)) if until > now => Some(elevated),
            _ => None,
        };
        let role = elevated.unwrap_or(own_role);
        // Sliding idle timeout, written at most once a minute per session.
        if now - session.last_seen_at > Duration::seconds(60) {
            session::Entity::update_many()
                .col_expr(session::Column::LastSeenAt, Expr::value(now))
                .filter(session::Column::Id.eq(session.id))
                .exec(&self.db)
                .await?;
        }
        Ok(Principal {
            user_id: user.id,
            role,
            session_id: session.id,
            patient_id: user.patient_id,
            mfa_pending: (self.mfa.required_for(own_role) || self.mfa.required_for(role))
                && session.mfa_at.is_none(),
            authenticated_at: session.authenticated_at,
            elevated_from: elevated.map(|_| own_role),
        })
    }

    async fn refused(&self, user: Option<&user::Model>, reason: &'static str) -> AppResult<()> {
        let event = match user {
            Some(user) => about(user, AuditAction::TokenRefused, Outcome::Failure),
            None => AuditEvent::new(AuditAction::TokenRefused, Outcome::Failure),
        };
        self.audit
            .record_one(event.detail(Detail::new().code("reason", reason)))
            .await?;
        Ok(())
    }

    /// Ends the caller's session: a LOGOUT event.
    pub async fn logout(&self, principal: &Principal) -> AppResult<()> {
        self.revoke(principal.session_id).await?;
        self.audit
            .record_one(
                AuditEvent::new(AuditAction::Logout, Outcome::Success)
                    .actor(principal.user_id, Some(principal.role))
                    .detail(Detail::new().id("session", principal.session_id)),
            )
            .await?;
        Ok(())
    }

    /// Ends every session of the caller's account, this one included, on
    /// every instance: a LOGOUT event with `scope: ALL`. Returns how many
    /// sessions were still open.
    pub async fn logout_everywhere(&self, principal: &Principal) -> AppResult<u64> {
        let ended = Self::revoke_all_for_user(&self.db, principal.user_id).await?;
        self.audit
            .record_one(
                AuditEvent::new(AuditAction::Logout, Outcome::Success)
                    .actor(principal.user_id, Some(principal.role))
                    .detail(
                        Detail::new()
                            .id("session", principal.session_id)
                            .code("scope", "ALL"),
                    ),
            )
            .await?;
        tracing::info!(target: "caregraph::security", user_id = %principal.user_id, sessions = ended, "logout everywhere");
        Ok(ended)
    }

    /// Changes the caller's password after checking the current one, and
    /// ends every other session of the account (the caller's own stays).
    /// A wrong current password counts as a failed login (it is throttled
    /// the same way) and is an ACCOUNT_CHANGE failure event.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: String,
        new: String,
        client: Option<IpAddr>,
    ) -> AppResult<u64> {
        let user = user::Entity::find_by_id(principal.user_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let keys = ThrottleKeys::new(&user.email, client);
        let now = Utc::now();
        self.throttle.check(&keys, now).await?;
        let current = password_policy::normalise(&current);
        let ok = password::verify(Some(user.password_hash.clone()), Secret::new(current)).await?;
        if !ok {
            self.throttle.failed(&keys, now).await?;
            self.audit
                .record_one(
                    about(&user, AuditAction::AccountChange, Outcome::Failure).detail(
                        Detail::new()
                            .id("account", user.id)
                            .code("change", "PASSWORD_CHANGED")
                            .code("reason", "wrong_password"),
                    ),
                )
                .await?;
            return Err(AppError::bad_input("the current password is not correct"));
        }
        // With a second factor a shorter password is enough (NIST 800-63B).
        let has_mfa = mfa::confirmed_credential(&self.db, user.id).await?.is_some();
        let new = password_policy::check(&new, &user.email, has_mfa)?;
        let hash = password::hash(new).await?;
        let txn = self.db.begin().await?;
        user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(hash))
            .filter(user::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        let ended = Self::revoke_others_for_user(&txn, user.id, principal.session_id).await?;
        self.audit
            .record_in(
                &txn,
                vec![
                    about(&user, AuditAction::AccountChange, Outcome::Success).detail(
                        Detail::new()
                            .id("account", user.id)
                            .code("change", "PASSWORD_CHANGED"),
                    ),
                ],
            )
            .await?;
        txn.commit().await?;
        tracing::info!(target: "caregraph::security", user_id = %user.id, other_sessions_ended = ended, "password changed");
        Ok(ended)
    }

    pub async fn revoke(&self, session_id: Uuid) -> AppResult<()> {
        session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(session::Column::Id.eq(session_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Ends every open session of the account; returns how many.
    pub async fn revoke_all_for_user(db: &impl ConnectionTrait, user_id: Uuid) -> AppResult<u64> {
        Ok(session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(db)
            .await?
            .rows_affected)
    }

    /// Ends every open session of the account but `keep`; returns how many.
    pub async fn revoke_others_for_user(
        db: &impl ConnectionTrait,
        user_id: Uuid,
        keep: Uuid,
    ) -> AppResult<u64> {
        Ok(session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::Id.ne(keep))
            .filter(session::Column::RevokedAt.is_null())
            .exec(db)
            .await?
            .rows_affected)
    }
}

/// The account's elevation in force at `now`, if any (its role and end):
/// what a new session starts with.
async fn active_elevation(
    db: &DatabaseConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<Option<(String, DateTime<Utc>)>> {
    use caregraph_entity::elevation;
    use sea_orm::QueryOrder;
    Ok(elevation::Entity::find()
        .filter(elevation::Column::UserId.eq(user_id))
        .filter(elevation::Column::Status.eq(ELEVATION_APPROVED))
        .filter(elevation::Column::ExpiresAt.gt(now))
        .order_by_desc(elevation::Column::ExpiresAt)
        .one(db)
        .await?
        .and_then(|row| row.expires_at.map(|end| (row.role, end))))
}

/// The answer to a login or re-authentication whose second factor did not pass.
fn mfa_refused(refusal: Refusal) -> AppError {
    AppError::MfaRequired(match refusal {
        Refusal::Missing => {
            "this account uses a second factor: send otp (a code from your authenticator app, or a recovery code)"
        }
        Refusal::Invalid | Refusal::Replayed => {
            "the second factor was not accepted: send a new code from your authenticator app, or an unused recovery code"
        }
    })
}

/// Marks a session as having passed a second factor now (after the account
/// confirmed its TOTP enrolment with a code, in `txn`).
pub async fn mark_second_factor(
    db: &impl sea_orm::ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::MfaAt, Expr::value(now))
        .filter(session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// A random key shared by every instance on the same database, generated by
/// whichever instance needs it first (the JWT key when `CAREGRAPH_JWT_SECRET`
/// is unset; the research pseudonym key).
pub async fn shared_key(db: &DatabaseConnection, name: &str) -> AppResult<Secret<Vec<u8>>> {
    if let Some(key) = server_key::Entity::find_by_id(name).one(db).await? {
        return decode_key(&key.value);
    }
    let fresh = server_key::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(STANDARD.encode(rand::random::<[u8; 32]>())),
        created_at: Set(Utc::now()),
    };
    if fresh.insert(db).await.is_ok() {
        tracing::warn!(key = name, "generated a key and stored it in the database");
    }
    // Whoever won the race, everyone uses the stored key.
    let key = server_key::Entity::find_by_id(name)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(format!("key {name} missing after creation")))?;
    decode_key(&key.value)
}

fn decode_key(value: &str) -> AppResult<Secret<Vec<u8>>> {
    STANDARD
        .decode(value)
        .ok()
        .filter(|k| k.len() >= 32)
        .map(Secret::new)
        .ok_or_else(|| AppError::Internal("stored signing key is invalid".into()))
}

//! Accounts as GraphQL sees them: a listed account (`User`), the caller's
//! own account after a login (`Account`), and the login answer.

use async_graphql::{Context, ID, Object};
use caregraph_entity::user;
use chrono::{DateTime, Utc};

use super::errors::{ApiResult, forbid_field};
use crate::access::AccountView;
use crate::auth::sessions::Issued;
use crate::error::AppError;
use crate::policy::Role;

/// An account. Its e-mail is shown to the account itself, to those who
/// administer staff accounts, and, for a patient's account, only to whoever
/// may read that patient's contact data; to anyone else it is `null` with
/// FORBIDDEN.
pub struct User(pub AccountView);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.account.id.to_string())
    }
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        if self.0.email_readable {
            Some(&self.0.account.email)
        } else {
            forbid_field(ctx);
            None
        }
    }
    async fn name(&self) -> &str {
        &self.0.account.name
    }
    async fn role(&self) -> ApiResult<Role> {
        Ok(Role::parse(&self.0.account.role)
            .ok_or_else(|| AppError::Internal("stored role is unknown".into()))?)
    }
    /// False until the owner enrols, and after deactivation.
    async fn active(&self) -> bool {
        self.0.account.active
    }
}

/// The account a login was for: all of it is the caller's own.
pub struct OwnUser(user::Model);

#[Object(name = "Account")]
impl OwnUser {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> ApiResult<Role> {
        Ok(Role::parse(&self.0.role).ok_or_else(|| AppError::Internal("stored role is unknown".into()))?)
    }
}

pub struct AuthPayload(pub Issued);

#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    async fn access_token(&self) -> &str {
        &self.0.access_token
    }
    /// Exchange with `refreshSession` for a new pair; usable once.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The account that just logged in.
    async fn user(&self) -> OwnUser {
        OwnUser(self.0.user.clone())
    }
}

//! Server-side login sessions: a JWT is only honoured while its session is live.
use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// SHA-256 of the refresh token; the token itself is never stored.
    pub refresh_token_hash: String,
    /// The hash this one replaced: presenting it again means the token was stolen.
    pub previous_refresh_token_hash: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    /// Absolute end of the session, whatever the activity.
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// When this session last proved its credentials (login or
    /// `reauthenticate`): high-risk actions need it to be recent (step-up).
    pub authenticated_at: Option<DateTimeUtc>,
    /// When this session last passed a second factor; null: password only.
    pub mfa_at: Option<DateTimeUtc>,
    /// An approved just-in-time elevation: the role the policy sees for
    /// this session until `elevated_until` (see `access::elevation`).
    pub elevated_role: Option<String>,
    pub elevated_until: Option<DateTimeUtc>,
    /// The account's role when the session began: after a role change the
    /// session, its refresh token included, is over. `None` on sessions
    /// older than this column (their access tokens still carry the role).
    pub role: Option<String>,
}

crate::debug_shows_only!(id, user_id, created_at, expires_at, revoked_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

//! What handlers share, registered once as `web::Data`.

use std::sync::Arc;

use tokio::sync::Notify;
use uapi_platform::db::PgPool;

pub struct AppState {
    pub pool: PgPool,
    /// `<public_url>/scim/v2`, the base of every `meta.location`.
    pub base_url: String,
    pub body_limit: usize,
    pub default_count: i64,
    pub max_count: i64,
    /// The per-connection rate limit.
    pub throttle: uapi_platform::throttle::TokenBuckets<uuid::Uuid>,
    /// Invalid tokens, counted per client and per token.
    pub failed: uapi_platform::throttle::FailedCredentials,
    /// Recently verified SCIM tokens.
    pub tokens: crate::scim::auth::TokenCache,
    /// Commits concurrent creates together.
    pub creates: crate::domain::group_commit::CreateWriter,
    /// Wakes the outbox relay after a commit that wrote events.
    pub outbox_wake: Arc<Notify>,
    /// Each connection's unwritten request activity, for its directory status.
    pub activity: Arc<crate::domain::activity::Activity>,
}

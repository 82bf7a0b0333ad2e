//! What handlers share, registered once as `web::Data`.

use std::sync::Arc;

use tokio::sync::Notify;
use uapi_platform::auth::TokenIssuer;
use uapi_platform::db::PgPool;
use uapi_platform::secret::Secret;

use crate::domain::credentials::ScimTokens;

pub struct AppState {
    pub pool: PgPool,
    pub issuer: TokenIssuer,
    pub admin_token: Secret,
    pub scim_tokens: ScimTokens,
    /// `<scim.public_url>/scim/v2`, shown as every connection's `baseUrl`.
    pub scim_base_url: String,
    /// Wakes the outbox relay after a commit that wrote events.
    pub outbox_wake: Arc<Notify>,
    /// Failed `POST /api/auth`, per client and per application or consumer.
    pub failed_auth: uapi_platform::throttle::FailedCredentials,
}

//! What handlers share, registered once as `web::Data`.

use std::sync::Arc;
use std::time::Duration;

use uapi_platform::db::PgPool;

use crate::delivery::subscription_cache::SubscriptionCache;
use crate::sealing::KeyRing;
use crate::ssrf::TargetPolicy;

pub struct AppState {
    pub pool: PgPool,
    pub policy: Arc<TargetPolicy>,
    /// How long a rotated-away secret keeps signing.
    pub secret_grace: Duration,
    /// The early sends' cache of this process's worker (if it has one): what the API changes is
    /// dropped from it at once.
    pub subscriptions: Arc<SubscriptionCache>,
    /// Seals the secrets the API creates.
    pub keys: Arc<KeyRing>,
}

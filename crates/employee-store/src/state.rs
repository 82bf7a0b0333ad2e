//! What handlers share, registered once as `web::Data`.

use uapi_platform::db::PgPool;

pub struct AppState {
    pub pool: PgPool,
}

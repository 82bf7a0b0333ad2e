//! The SCIM HTTP surface under `/scim/v2`, and the connection's directory status beside it.

pub mod discovery;
pub mod groups;
pub mod openapi;
pub mod status;
pub mod users;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, guard, web};
use uapi_platform::openapi::Routes;
use utoipa::OpenApi;

pub use openapi::ApiDoc;

use crate::scim::error::ScimError;

/// Serves the document and every SCIM route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    uapi_platform::openapi::serve(cfg, &ApiDoc::openapi());
    register(&mut Routes::new(cfg));
}

/// Every route under `/scim/v2`, unknown ones a SCIM 404, each answer noted for the connection's
/// status; then the status route. [`ApiDoc`] describes each (a test holds the two together).
pub fn register(routes: &mut Routes<'_>) {
    routes.scope(
        "/scim/v2",
        |scope| {
            // `wrap` changes a scope's type and `Routes::scope` takes a plain one back, so the
            // wrapped scope sits in a pass-through scope that claims only `/scim/v2` paths.
            let wrapped = scope.default_service(web::to(unknown)).wrap(from_fn(crate::scim::activity::record));
            web::scope("").guard(guard::fn_guard(|ctx| in_scim(ctx.head().uri.path()))).service(wrapped)
        },
        |routes| {
            users::register(routes);
            groups::register(routes);
            discovery::register(routes);
        },
    );
    status::register(routes);
}

fn in_scim(path: &str) -> bool {
    path.strip_prefix("/scim/v2").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

async fn unknown() -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found("no such SCIM endpoint"))
}

/// The id in a resource path. Our ids are UUIDs; anything else cannot name a resource, so it is
/// simply not found.
pub fn resource_id(raw: &str, resource_type: &str) -> Result<uuid::Uuid, ScimError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ScimError::not_found(format!("{resource_type} {raw} not found")))
}

/// A SCIM JSON response.
pub fn scim(status: actix_web::http::StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).content_type(crate::scim::CONTENT_TYPE).body(body.to_string())
}

//! The SCIM HTTP surface under `/scim/v2`.

pub mod discovery;
pub mod groups;
pub mod users;

use actix_web::{HttpResponse, web};

use crate::scim::error::ScimError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/scim/v2")
            .configure(users::configure)
            .configure(groups::configure)
            .configure(discovery::configure)
            .default_service(web::to(unknown)),
    );
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

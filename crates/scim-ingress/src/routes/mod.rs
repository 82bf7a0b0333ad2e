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

/// A SCIM JSON response.
pub fn scim(status: actix_web::http::StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(status).content_type(crate::scim::CONTENT_TYPE).body(body.to_string())
}

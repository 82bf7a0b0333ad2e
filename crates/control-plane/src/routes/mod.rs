//! HTTP routes of the control plane, one module per resource.

pub mod admin;
pub mod auth;
pub mod connections;
pub mod consumers;

use actix_web::web;

/// Registers every control-plane route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    admin::configure(cfg);
    auth::configure(cfg);
    consumers::configure(cfg);
    connections::configure(cfg);
}

/// Trims a required text field and checks its length, naming the field in the error.
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String, uapi_platform::problem::Problem> {
    let value = value.trim();
    if value.is_empty() {
        return Err(uapi_platform::problem::Problem::validation(format!("`{field}` must not be empty")));
    }
    if value.chars().count() > max {
        return Err(uapi_platform::problem::Problem::validation(format!("`{field}` must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

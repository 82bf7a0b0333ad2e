//! Middleware around `/scim/v2`: notes each answered request of an authenticated connection for
//! its directory status ([`crate::domain::activity`]). Requests whose token named no connection
//! (401s, discovery) belong to no connection and are not noted.
//!
//! Which answers are errors worth showing: every 4xx and 5xx, except a 404 to a read. Okta reads
//! users and groups that are gone as part of normal operation (and a lookup that finds nothing
//! is a 200 list anyway); a write aimed at something we do not have means Okta's view and ours
//! differ, so it is shown.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use uapi_platform::problem::Problem;

use super::auth::Authenticated;
use super::error::ScimError;
use crate::domain::activity::{Failure, Request};
use crate::state::AppState;

pub async fn record<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let res = next.call(req).await?;
    let Some(Authenticated(connection)) = res.request().extensions().get::<Authenticated>().copied() else {
        return Ok(res);
    };
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.activity.note(connection, request(&res));
    }
    Ok(res)
}

/// Whether a request changes resources: searches are POSTs that read.
fn is_write(method: &Method, path: &str) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE) && !path.ends_with("/.search")
}

fn request<B>(res: &ServiceResponse<B>) -> Request {
    let (method, path, status) = (res.request().method(), res.request().path(), res.status());
    let write = is_write(method, path);
    let shown = (status.is_client_error() || status.is_server_error()) && (write || status != StatusCode::NOT_FOUND);
    let error = shown.then(|| {
        let (scim_type, detail) = explain(res);
        Failure {
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            status: status.as_u16(),
            scim_type,
            detail,
        }
    });
    Request { at: crate::db::now(), pushed: write && status.is_success(), error }
}

/// The `scimType` and `detail` the client was sent.
fn explain<B>(res: &ServiceResponse<B>) -> (Option<String>, String) {
    let error = res.response().error();
    if let Some(scim) = error.and_then(|e| e.as_error::<ScimError>()) {
        let (scim_type, detail) = scim.public();
        return (scim_type.map(str::to_owned), detail);
    }
    if let Some(problem) = error.and_then(|e| e.as_error::<Problem>()) {
        return (None, problem.detail.clone());
    }
    (None, res.status().canonical_reason().unwrap_or("error").to_owned())
}

//! `GET /api/scim/status`: a connection's directory status for the portal (how many users and
//! groups Okta provisioned, when it last called and pushed, what it was recently refused). Takes
//! the connection's SCIM token, as the SCIM routes do; lives outside `/scim/v2`, so its errors are
//! problems (`application/problem+json`) like every non-SCIM API's, and calling it is not SCIM
//! activity.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uapi_platform::error::{ApiError, ApiResult};
use uapi_platform::openapi::Routes;
use uapi_platform::problem::Problem;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::StatusErrors;
use crate::db::activity::ErrorRow;
use crate::domain::activity;
use crate::scim::auth;
use crate::scim::error::{ScimError, retry_after_secs};
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.get("/api/scim/status", get);
}

/// A connection's directory status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "connectionId": "0190c0de-0000-7000-8000-000000000001",
    "lastRequestAt": "2026-12-08T09:30:12.123456Z",
    "users": 42,
    "groups": 3,
    "lastPushAt": "2026-12-08T09:29:58.5Z",
    "recentErrors": [{
        "at": "2026-12-08T09:12:01.25Z",
        "method": "GET",
        "path": "/scim/v2/Users",
        "status": 400,
        "scimType": "invalidFilter",
        "detail": "expected an operator after `userName`"
    }]
}))]
pub struct DirectoryStatus {
    /// The connection the token belongs to.
    pub connection_id: Uuid,
    /// The connection's newest authenticated SCIM request, whatever its answer; null before the
    /// first.
    #[schema(required = true)]
    pub last_request_at: Option<DateTime<Utc>>,
    /// The connection's users, deactivated ones included (a `DELETE` removes one).
    pub users: i64,
    /// The connection's groups.
    pub groups: i64,
    /// The newest successful write: a `POST`, `PUT`, `PATCH` or `DELETE` answered 2xx (searches
    /// are reads); null before the first.
    #[schema(required = true)]
    pub last_push_at: Option<DateTime<Utc>>,
    /// The connection's newest SCIM requests answered with an error (every 4xx and 5xx but a 404
    /// to a read), newest first, at most 10.
    pub recent_errors: Vec<RecentError>,
}

/// A SCIM request answered with an error.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentError {
    /// When it was answered.
    pub at: DateTime<Utc>,
    pub method: String,
    /// The request's path, without the query string.
    pub path: String,
    /// The HTTP status answered.
    pub status: i32,
    /// The SCIM error's `scimType`, null when it had none.
    #[schema(required = true)]
    pub scim_type: Option<String>,
    /// The SCIM error's `detail` (at most 1 KiB).
    pub detail: String,
}

impl From<ErrorRow> for RecentError {
    fn from(e: ErrorRow) -> Self {
        Self { at: e.at, method: e.method, path: e.path, status: e.status, scim_type: e.scim_type, detail: e.detail }
    }
}

/// The directory status of the token's connection.
#[utoipa::path(
    get,
    path = "/api/scim/status",
    operation_id = "getDirectoryStatus",
    tag = "Status",
    security(("scimToken" = [])),
    responses(
        (status = 200, description = "The connection's counts, last request and push, and recent errors.", body = DirectoryStatus, content_type = "application/json"),
        StatusErrors
    )
)]
pub(crate) async fn get(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let source = uapi_platform::throttle::source_of(&req);
    let tenant = auth::authenticate(&state, &source, auth::token_hash(&req)).await.map_err(problem)?;
    state.throttle.take(tenant.connection_id).map_err(|wait| problem(ScimError::Throttled(wait)))?;
    let status = activity::status(&state.pool, &state.activity, tenant.connection_id).await.map_err(problem)?;
    let body = DirectoryStatus {
        connection_id: tenant.connection_id,
        last_request_at: status.last_request_at,
        users: status.users,
        groups: status.groups,
        last_push_at: status.last_push_at,
        recent_errors: status.recent_errors.into_iter().map(RecentError::from).collect(),
    };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body))
}

/// A SCIM failure as this API words it.
fn problem(e: ScimError) -> ApiError {
    let (_, shown) = e.public();
    match e {
        ScimError::Client { status: StatusCode::UNAUTHORIZED, detail, .. } => Problem::unauthorized(detail).into(),
        ScimError::Client { status, detail, .. } => Problem::new(status, "bad-request", detail).into(),
        ScimError::Throttled(wait) | ScimError::TooManyFailures(wait) => {
            let secs = retry_after_secs(wait);
            let detail = shown;
            Problem {
                retry_after_secs: Some(secs),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail)
            }
            .into()
        }
        ScimError::Unavailable(cause) | ScimError::Contended(cause) => ApiError::Unavailable(cause),
        ScimError::Internal(e) => ApiError::Internal(e),
    }
}

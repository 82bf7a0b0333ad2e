//! `POST /api/auth`: an API key becomes a short-lived access token for an application or for one
//! of its consumers. Every failure looks the same (401), so callers learn nothing about which ids
//! exist; past a number of failures from one client or naming one application or consumer, a
//! failure is a 429 instead ([`uapi_platform::throttle`]), while the right key is always accepted.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::Scope;
use uapi_platform::openapi::{BadRequest, Routes, TooManyFailures, Unauthorized, Unprocessable};
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{applications, consumers};
use crate::domain::credentials;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.post("/api/auth", authenticate);
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthRequest {
    /// The application's API key (from `POST /admin/applications`).
    api_key: String,
    /// Required with scope `application`.
    application_id: Option<Uuid>,
    /// Required with scope `consumer`: a consumer of the key's application.
    consumer_id: Option<Uuid>,
    scope: Scope,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthResponse {
    /// A JWT for `Authorization: Bearer`.
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: u64,
}

fn invalid() -> ApiError {
    Problem::unauthorized("invalid credentials").into()
}

/// Exchange an API key for a bearer token of application or consumer scope.
#[utoipa::path(
    post,
    path = "/api/auth",
    operation_id = "authenticate",
    tag = "auth",
    request_body = AuthRequest,
    security(()),
    responses(
        (status = 200, description = "The token.", body = AuthResponse),
        BadRequest,
        Unauthorized,
        Unprocessable,
        TooManyFailures
    )
)]
pub(crate) async fn authenticate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<AuthRequest>,
) -> ApiResult<HttpResponse> {
    let subject = match (body.scope, body.application_id, body.consumer_id) {
        (Scope::Application, Some(id), _) => Some(format!("application:{id}")),
        (Scope::Consumer, _, Some(id)) => Some(format!("consumer:{id}")),
        _ => None,
    };
    match issue(&state, &body).await {
        Err(ApiError::Client(p)) if p.status == StatusCode::UNAUTHORIZED.as_u16() => {
            let source = uapi_platform::throttle::source_of(&req);
            match state.failed_auth.failed(&source, subject.as_deref()) {
                Ok(()) => Err(ApiError::Client(p)),
                Err(wait) => {
                    let secs = uapi_platform::throttle::retry_after_secs(wait);
                    let detail = format!("too many failed attempts; retry after {secs} s");
                    let problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail);
                    Err(Problem { retry_after_secs: Some(secs), ..problem }.into())
                }
            }
        }
        other => other,
    }
}

/// The token for `body`'s key, or a 401 (every failure the same).
async fn issue(state: &AppState, body: &AuthRequest) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let (app_id, consumer_id) = match body.scope {
        Scope::Application => {
            let id = body
                .application_id
                .ok_or_else(|| Problem::validation("`applicationId` is required with scope \"application\""))?;
            (id, None)
        }
        Scope::Consumer => {
            let id = body
                .consumer_id
                .ok_or_else(|| Problem::validation("`consumerId` is required with scope \"consumer\""))?;
            let consumer = consumers::find_any(&mut conn, id).await?.ok_or_else(invalid)?;
            (consumer.application_id, Some(consumer.id))
        }
    };
    let app = applications::find(&mut conn, app_id).await?.ok_or_else(invalid)?;
    if !credentials::same(&credentials::sha256(&body.api_key), &app.api_key_sha256) {
        return Err(invalid());
    }
    let token = state.issuer.issue(body.scope, app.id, consumer_id).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().json(AuthResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: state.issuer.ttl().as_secs(),
    }))
}

//! `POST /api/auth`: an API key becomes a short-lived access token for an application or for one
//! of its consumers. Every failure looks the same (401), so callers learn nothing about which ids exist.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uapi_platform::auth::Scope;
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use uuid::Uuid;

use crate::db::{applications, consumers};
use crate::domain::credentials;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/auth", web::post().to(authenticate));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthRequest {
    api_key: String,
    application_id: Option<Uuid>,
    consumer_id: Option<Uuid>,
    scope: Scope,
}

fn invalid() -> ApiError {
    Problem::unauthorized("invalid credentials").into()
}

async fn authenticate(state: web::Data<AppState>, body: JsonBody<AuthRequest>) -> ApiResult<HttpResponse> {
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
    Ok(HttpResponse::Ok().json(json!({
        "accessToken": token,
        "tokenType": "Bearer",
        "expiresIn": state.issuer.ttl().as_secs(),
    })))
}

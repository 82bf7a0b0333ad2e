//! The admin API: bootstrap applications. Guarded by the configured admin token.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uapi_platform::auth::bearer_token;
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use uuid::Uuid;

use super::required_text;
use crate::db::applications::{self, Application};
use crate::domain::credentials;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/applications", web::post().to(create_application))
        .route("/admin/connections/republish", web::post().to(republish_connections));
}

/// A caller that presented the admin token.
pub struct Admin;

impl FromRequest for Admin {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let configured = req.app_data::<web::Data<AppState>>().map(|s| s.admin_token.expose().to_owned());
        let ok = match (bearer_token(req), configured) {
            (Some(presented), Some(configured)) => credentials::is_admin_token(presented, &configured),
            _ => false,
        };
        ready(if ok { Ok(Admin) } else { Err(Problem::unauthorized("admin token missing or wrong")) })
    }
}

#[derive(Deserialize)]
struct CreateApplication {
    name: String,
}

async fn create_application(
    _: Admin,
    state: web::Data<AppState>,
    body: JsonBody<CreateApplication>,
) -> ApiResult<HttpResponse> {
    let name = required_text("name", &body.name, 200)?;
    let api_key = credentials::new_api_key();
    let app = Application {
        id: Uuid::now_v7(),
        name,
        api_key_sha256: credentials::sha256(&api_key),
        created_at: crate::db::now(),
    };
    let mut conn = state.pool.get().await?;
    applications::insert(&mut conn, &app).await?;
    tracing::info!(application_id = %app.id, "application created");
    Ok(HttpResponse::Created().json(json!({
        "applicationId": app.id,
        "name": app.name,
        "apiKey": api_key,
        "createdAt": app.created_at,
    })))
}

/// Announces every connection's current state (and every deletion) to scim-ingress again.
async fn republish_connections(_: Admin, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let n = crate::events::republish(&mut conn).await?;
    state.outbox_wake.notify_one();
    tracing::info!(connections = n, "connections republished");
    Ok(HttpResponse::Ok().json(json!({ "republished": n })))
}

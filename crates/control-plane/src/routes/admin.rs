//! The admin API: bootstrap applications. Guarded by the configured admin token.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::bearer_token;
use uapi_platform::openapi::{BadRequest, Routes, Unauthorized, Unprocessable};
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::ToSchema;
use uuid::Uuid;

use super::required_text;
use crate::db::applications::{self, Application};
use crate::domain::credentials;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.post("/admin/applications", create_application).post("/admin/connections/republish", republish_connections);
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

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateApplication {
    /// 1–200 characters.
    name: String,
}

/// An application and its API key, shown this once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedApplication {
    application_id: Uuid,
    name: String,
    /// Shown only in this response: store it.
    api_key: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Republished {
    /// How many connections were announced.
    republished: usize,
}

/// Create an application and its API key.
#[utoipa::path(
    post,
    path = "/admin/applications",
    operation_id = "createApplication",
    tag = "admin",
    request_body = CreateApplication,
    security(("admin" = [])),
    responses(
        (status = 201, description = "The application, with its API key.", body = CreatedApplication),
        BadRequest,
        Unauthorized,
        Unprocessable
    )
)]
pub(crate) async fn create_application(
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
    Ok(HttpResponse::Created().json(CreatedApplication {
        application_id: app.id,
        name: app.name,
        api_key,
        created_at: app.created_at,
    }))
}

/// Announce every connection's current state (and every deletion) to scim-ingress again.
#[utoipa::path(
    post,
    path = "/admin/connections/republish",
    operation_id = "republishConnections",
    tag = "admin",
    security(("admin" = [])),
    responses((status = 200, description = "How many connections were announced.", body = Republished), Unauthorized)
)]
pub(crate) async fn republish_connections(_: Admin, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let n = crate::events::republish(&mut conn).await?;
    state.outbox_wake.notify_one();
    tracing::info!(connections = n, "connections republished");
    Ok(HttpResponse::Ok().json(Republished { republished: n }))
}

//! Subscriptions: create, list, get, update, delete, rotate the secret.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::AppPrincipal;
use uapi_platform::error::{ApiError, ApiResult};
use uapi_platform::openapi::{BadRequest, ListErrors, NotFound, ReadErrors, Routes, TokenErrors, Unprocessable};
use uapi_platform::pagination::{self, ListResponse, PageQuery};
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::subscriptions::{self, DISABLED, ENABLED, Subscription};
use crate::signature;
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes
        .post("/api/webhooks", create)
        .get("/api/webhooks", list)
        .get("/api/webhooks/{id}", get)
        .patch("/api/webhooks/{id}", update)
        .delete("/api/webhooks/{id}", delete)
        .post("/api/webhooks/{id}/rotate-secret", rotate_secret);
}

/// A subscription as the API shows it; `secret` only in the answers to create and rotate.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    id: Uuid,
    #[schema(example = "HRIS")]
    unified_api: String,
    /// Where events are POSTed (https, or http to a loopback address where allowed).
    delivery_url: String,
    /// Event types this subscription takes, or `["*"]` for all.
    #[schema(example = json!(["employee.created", "employee.updated"]))]
    events: Vec<String>,
    /// `Enabled` or `Disabled`.
    #[schema(example = "Enabled")]
    status: String,
    /// Why the subscription was disabled (by the API, or after failing too long).
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answers to create and rotate-secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    /// The view of `s`; `secret` is the plaintext secret, shown only when just made.
    fn of(s: Subscription, secret: Option<String>) -> Self {
        Self {
            id: s.id,
            unified_api: s.unified_api,
            delivery_url: s.delivery_url,
            events: s.events,
            status: s.status,
            disabled_reason: s.disabled_reason,
            disabled_at: s.disabled_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateWebhook {
    /// `HRIS` (the default).
    unified_api: Option<String>,
    /// Required: where to POST events (at most 2,048 characters; private addresses refused).
    delivery_url: Option<String>,
    /// Event types, or `["*"]` (the default) for all.
    events: Option<Vec<String>>,
    /// `Enabled` (the default) or `Disabled`.
    status: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateWebhook {
    delivery_url: Option<String>,
    events: Option<Vec<String>>,
    /// `Enabled` or `Disabled`; enabling clears the disabled reason.
    status: Option<String>,
}

/// The event list, validated and normalized: known types, no duplicates, `*` alone.
fn events(events: &[String]) -> Result<Vec<String>, Problem> {
    if events.is_empty() {
        return Err(Problem::validation("`events` must list at least one event type, or [\"*\"] for all"));
    }
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim();
        if !crate::events::is_known(e) {
            return Err(Problem::validation(format!(
                "`events`: unknown event type {e:?}; known: employee.created, employee.updated, employee.deleted, \
                 group.created, group.updated, group.deleted, *"
            )));
        }
        if !out.iter().any(|o| o == e) {
            out.push(e.to_owned());
        }
    }
    if out.iter().any(|e| e == "*") {
        return Ok(vec!["*".to_owned()]);
    }
    Ok(out)
}

fn status(s: &str) -> Result<String, Problem> {
    match s {
        ENABLED | DISABLED => Ok(s.to_owned()),
        other => Err(Problem::validation(format!("`status` must be Enabled or Disabled, not {other:?}"))),
    }
}

async fn delivery_url(state: &AppState, raw: &str) -> Result<String, Problem> {
    if raw.len() > 2048 {
        return Err(Problem::validation("`deliveryUrl` must be at most 2048 characters"));
    }
    let url = state.policy.check(raw).await.map_err(|e| Problem::validation(e.to_string()))?;
    Ok(url.to_string())
}

/// Create a webhook subscription; the answer shows its signing secret.
#[utoipa::path(
    post,
    path = "/api/webhooks",
    operation_id = "createWebhook",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The subscription, with its secret.", body = WebhookView),
        BadRequest,
        TokenErrors,
        Unprocessable
    )
)]
pub(crate) async fn create(
    who: AppPrincipal,
    state: web::Data<AppState>,
    body: JsonBody<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let unified_api = body.unified_api.unwrap_or_else(|| "HRIS".to_owned());
    if !unified_api.eq_ignore_ascii_case("hris") {
        return Err(Problem::validation("`unifiedApi` must be HRIS").into());
    }
    let raw_url = body.delivery_url.ok_or_else(|| Problem::validation("`deliveryUrl` is required"))?;
    let events = events(body.events.as_deref().unwrap_or(&["*".to_owned()]))?;
    let status = status(body.status.as_deref().unwrap_or(ENABLED))?;
    let delivery_url = delivery_url(&state, &raw_url).await?;
    let now = crate::db::now();
    let id = Uuid::now_v7();
    let secret = signature::new_secret();
    let sub = Subscription {
        id,
        application_id: who.application_id,
        unified_api: "HRIS".to_owned(),
        delivery_url,
        events,
        status: status.clone(),
        secret: state.keys.seal(id, &secret),
        previous_secret: None,
        previous_secret_expires_at: None,
        disabled_reason: (status == DISABLED).then(|| "disabled on creation".to_owned()),
        disabled_at: (status == DISABLED).then_some(now),
        failing_since: None,
        last_success_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut conn = state.pool.get().await?;
    subscriptions::insert(&mut conn, &sub).await?;
    state.subscriptions.forget(who.application_id);
    Ok(HttpResponse::Created().json(WebhookView::of(sub, Some(secret))))
}

/// List the application's webhook subscriptions, oldest first.
#[utoipa::path(
    get,
    path = "/api/webhooks",
    operation_id = "listWebhooks",
    tag = "webhooks",
    params(PageQuery),
    responses((status = 200, description = "A page of subscriptions.", body = ListResponse<WebhookView>), ListErrors)
)]
pub(crate) async fn list(
    who: AppPrincipal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = subscriptions::list(&mut conn, who.application_id, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |s| s.id, |s| WebhookView::of(s, None))))
}

pub(crate) fn not_found(id: Uuid) -> ApiError {
    Problem::not_found(format!("webhook {id} not found")).into()
}

/// The caller's subscription `id`, or 404.
pub(crate) async fn owned(state: &AppState, who: &AppPrincipal, id: Uuid) -> ApiResult<Subscription> {
    let mut conn = state.pool.get().await?;
    subscriptions::find(&mut conn, who.application_id, id).await?.ok_or_else(|| not_found(id))
}

/// One webhook subscription.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    responses((status = 200, description = "The subscription.", body = WebhookView), ReadErrors)
)]
pub(crate) async fn get(who: AppPrincipal, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let sub = owned(&state, &who, *id).await?;
    Ok(HttpResponse::Ok().json(WebhookView::of(sub, None)))
}

/// Change a subscription's URL, event types or status.
#[utoipa::path(
    patch,
    path = "/api/webhooks/{id}",
    operation_id = "updateWebhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "The subscription as it is now.", body = WebhookView),
        BadRequest,
        TokenErrors,
        NotFound,
        Unprocessable
    )
)]
pub(crate) async fn update(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateWebhook>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let mut sub = owned(&state, &who, *id).await?;
    if let Some(e) = &body.events {
        sub.events = events(e)?;
    }
    if let Some(raw) = &body.delivery_url {
        sub.delivery_url = delivery_url(&state, raw).await?;
    }
    if let Some(s) = &body.status {
        let s = status(s)?;
        if s == ENABLED && sub.status == DISABLED {
            sub.disabled_reason = None;
            sub.disabled_at = None;
            sub.failing_since = None;
        } else if s == DISABLED && sub.status == ENABLED {
            sub.disabled_reason = Some("disabled through the API".to_owned());
            sub.disabled_at = Some(crate::db::now());
        }
        sub.status = s;
    }
    sub.updated_at = crate::db::now();
    let mut conn = state.pool.get().await?;
    if !subscriptions::update(&mut conn, &sub).await? {
        return Err(not_found(sub.id));
    }
    state.subscriptions.forget(who.application_id);
    Ok(HttpResponse::Ok().json(WebhookView::of(sub, None)))
}

/// Delete a subscription; nothing more is delivered to it.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    responses((status = 204, description = "Deleted."), ReadErrors)
)]
pub(crate) async fn delete(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    if !subscriptions::delete(&mut conn, who.application_id, *id).await? {
        return Err(not_found(*id));
    }
    state.subscriptions.forget(who.application_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate the signing secret; the previous one keeps signing (a second signature) for a grace period.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    responses((status = 200, description = "The subscription, with its new secret.", body = WebhookView), ReadErrors)
)]
pub(crate) async fn rotate_secret(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut sub = owned(&state, &who, *id).await?;
    let now = crate::db::now();
    let grace = chrono::Duration::from_std(state.secret_grace).unwrap_or_default();
    let secret = signature::new_secret();
    sub.previous_secret = Some(std::mem::replace(&mut sub.secret, state.keys.seal(sub.id, &secret)));
    sub.previous_secret_expires_at = Some(now + grace);
    sub.updated_at = now;
    let mut conn = state.pool.get().await?;
    if !subscriptions::update(&mut conn, &sub).await? {
        return Err(not_found(sub.id));
    }
    state.subscriptions.forget(who.application_id);
    Ok(HttpResponse::Ok().json(WebhookView::of(sub, Some(secret))))
}

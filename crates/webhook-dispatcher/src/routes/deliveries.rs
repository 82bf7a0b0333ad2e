//! The delivery log of a subscription, retrying one delivery and recovering all since a time.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::AppPrincipal;
use uapi_platform::error::ApiResult;
use uapi_platform::openapi::{BadRequest, Conflict, NotFound, Routes, TokenErrors, Unprocessable};
use uapi_platform::pagination::{self, ListResponse, PageQuery};
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::webhooks::owned;
use crate::db::deliveries::{self, Attempt, DeliveryRow, RetryOutcome};
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes
        .get("/api/webhooks/{id}/deliveries", list)
        .post("/api/webhooks/{id}/deliveries/{delivery_id}/retry", retry)
        .post("/api/webhooks/{id}/recover", recover);
}

/// One POST to the endpoint.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AttemptView {
    attempted_at: DateTime<Utc>,
    status_code: Option<i32>,
    latency_ms: i32,
    /// Why there was no HTTP answer (timeout, connection refused, …).
    error: Option<String>,
    /// The first KiB of the endpoint's answer.
    response_body: Option<String>,
}

/// An event's delivery to one subscription.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveryView {
    id: Uuid,
    webhook_id: Uuid,
    event_id: Uuid,
    event_type: String,
    entity_id: String,
    version: i64,
    /// `pending`, `succeeded` or `failed`.
    #[schema(example = "succeeded")]
    status: String,
    attempt_count: i32,
    /// When the next attempt is due (pending deliveries only).
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    attempts: Vec<AttemptView>,
}

impl DeliveryView {
    fn of(d: DeliveryRow, attempts: Vec<Attempt>) -> Self {
        Self {
            id: d.id,
            webhook_id: d.subscription_id,
            event_id: d.event_id,
            event_type: d.event_type,
            entity_id: d.entity_id,
            version: d.version,
            next_attempt_at: (d.status == deliveries::PENDING).then_some(d.next_attempt_at),
            status: d.status,
            attempt_count: d.attempt_count,
            created_at: d.created_at,
            updated_at: d.updated_at,
            completed_at: d.completed_at,
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    attempted_at: a.attempted_at,
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    response_body: a.response_body,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `meta.next` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Only deliveries in this state: `pending`, `succeeded` or `failed`.
    status: Option<String>,
}

/// The subscription's delivery log, oldest first, each delivery with its attempts.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}/deliveries",
    operation_id = "listDeliveries",
    tag = "deliveries",
    params(("id" = Uuid, Path, description = "The subscription's id."), ListQuery),
    responses((status = 200, description = "A page of deliveries.", body = ListResponse<DeliveryView>), BadRequest, TokenErrors, NotFound)
)]
pub(crate) async fn list(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.parse()?;
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s @ (deliveries::PENDING | deliveries::SUCCEEDED | deliveries::FAILED)) => Some(s),
        Some(_) => return Err(Problem::bad_request("status must be pending, succeeded or failed").into()),
    };
    let sub = owned(&state, &who, *id).await?;
    let mut conn = state.pool.get().await?;
    let rows = deliveries::list(&mut conn, sub.id, status, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |(d, _)| d.id, |(d, a)| DeliveryView::of(d, a))))
}

/// Attempt a delivery again now, from the start of the retry ladder.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
    operation_id = "retryDelivery",
    tag = "deliveries",
    params(
        ("id" = Uuid, Path, description = "The subscription's id."),
        ("delivery_id" = Uuid, Path, description = "The delivery's id.")
    ),
    responses(
        (status = 202, description = "Queued; the delivery as it is now.", body = DeliveryView),
        TokenErrors,
        NotFound,
        Conflict
    )
)]
pub(crate) async fn retry(
    who: AppPrincipal,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let sub = owned(&state, &who, id).await?;
    let mut conn = state.pool.get().await?;
    match deliveries::retry(&mut conn, sub.id, delivery_id).await? {
        RetryOutcome::NotFound => Err(Problem::not_found(format!("delivery {delivery_id} not found")).into()),
        RetryOutcome::Cancelled => {
            Err(Problem::conflict("the delivery was cancelled: its consumer was deleted").into())
        }
        RetryOutcome::InFlight => {
            Err(Problem::conflict("the delivery is being attempted right now; retry after it finishes").into())
        }
        RetryOutcome::Queued => {
            let d = deliveries::find(&mut conn, sub.id, delivery_id)
                .await?
                .ok_or_else(|| Problem::not_found(format!("delivery {delivery_id} not found")))?;
            Ok(HttpResponse::Accepted().json(DeliveryView::of(d, Vec::new())))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecoverBody {
    /// Required: an RFC 3339 timestamp.
    #[schema(example = "2026-01-31T12:00:00Z")]
    since: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct Recovered {
    /// How many deliveries were queued again.
    requeued: usize,
    since: DateTime<Utc>,
}

/// Queue again every delivery created since `since` that has not succeeded (failed ones and
/// pending ones in backoff), due now at the start of the retry ladder.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/recover",
    operation_id = "recoverDeliveries",
    tag = "deliveries",
    params(("id" = Uuid, Path, description = "The subscription's id.")),
    request_body = RecoverBody,
    responses(
        (status = 202, description = "How many were queued again.", body = Recovered),
        BadRequest,
        TokenErrors,
        NotFound,
        Unprocessable
    )
)]
pub(crate) async fn recover(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: JsonBody<RecoverBody>,
) -> ApiResult<HttpResponse> {
    let since = body.since.as_deref().ok_or_else(|| Problem::validation("`since` is required (RFC 3339)"))?;
    let since = DateTime::parse_from_rfc3339(since)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Problem::validation("`since` must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z"))?;
    let sub = owned(&state, &who, *id).await?;
    let mut conn = state.pool.get().await?;
    let n = deliveries::recover(&mut conn, sub.id, since).await?;
    Ok(HttpResponse::Accepted().json(Recovered { requeued: n, since }))
}

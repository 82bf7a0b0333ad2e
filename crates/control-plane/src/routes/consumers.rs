//! Consumers (application scope): create, list, get, delete.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use uapi_platform::auth::AppPrincipal;
use uapi_platform::openapi::{BadRequest, Conflict, ListErrors, ReadErrors, Routes, TokenErrors, Unprocessable};
use uapi_platform::pagination::ListResponse;
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use utoipa::ToSchema;
use uuid::Uuid;

use super::required_text;
use crate::db::{connections, consumers, consumers::Consumer, is_unique_violation};
use crate::error::{ApiError, ApiResult};
use crate::events::{connection_deleted, consumer_deleted};
use crate::state::AppState;
use uapi_platform::pagination::{self, PageQuery};

pub fn register(routes: &mut Routes<'_>) {
    routes
        .post("/api/consumers", create)
        .get("/api/consumers", list)
        .get("/api/consumers/{id}", get)
        .delete("/api/consumers/{id}", delete);
}

/// A consumer: one of the application's own customers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerView {
    id: Uuid,
    name: String,
    /// The application's own id for this customer; unique within the application.
    reference: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Consumer> for ConsumerView {
    fn from(c: Consumer) -> Self {
        Self { id: c.id, name: c.name, reference: c.reference, created_at: c.created_at }
    }
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateConsumer {
    /// 1–200 characters.
    name: String,
    /// The application's own id for this customer (1–200 characters, unique).
    reference: Option<String>,
}

/// Create a consumer.
#[utoipa::path(
    post,
    path = "/api/consumers",
    operation_id = "createConsumer",
    tag = "consumers",
    request_body = CreateConsumer,
    responses(
        (status = 201, description = "The consumer.", body = ConsumerView),
        BadRequest,
        TokenErrors,
        Conflict,
        Unprocessable
    )
)]
pub(crate) async fn create(
    who: AppPrincipal,
    state: web::Data<AppState>,
    body: JsonBody<CreateConsumer>,
) -> ApiResult<HttpResponse> {
    let name = required_text("name", &body.name, 200)?;
    let reference = body.reference.as_deref().map(|r| required_text("reference", r, 200)).transpose()?;
    let consumer = Consumer {
        id: Uuid::now_v7(),
        application_id: who.application_id,
        name,
        reference,
        created_at: crate::db::now(),
    };
    let mut conn = state.pool.get().await?;
    match consumers::insert(&mut conn, &consumer).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(Problem::conflict("a consumer with this reference already exists").into());
        }
        other => other?,
    }
    Ok(HttpResponse::Created().json(ConsumerView::from(consumer)))
}

/// List the application's consumers, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/consumers",
    operation_id = "listConsumers",
    tag = "consumers",
    params(PageQuery),
    responses((status = 200, description = "A page of consumers.", body = ListResponse<ConsumerView>), ListErrors)
)]
pub(crate) async fn list(
    who: AppPrincipal,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = consumers::list(&mut conn, who.application_id, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |c| c.id, ConsumerView::from)))
}

fn not_found(id: Uuid) -> ApiError {
    Problem::not_found(format!("consumer {id} not found")).into()
}

/// One consumer of the application.
#[utoipa::path(
    get,
    path = "/api/consumers/{id}",
    operation_id = "getConsumer",
    tag = "consumers",
    params(("id" = Uuid, Path, description = "The consumer's id.")),
    responses((status = 200, description = "The consumer.", body = ConsumerView), ReadErrors)
)]
pub(crate) async fn get(who: AppPrincipal, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let consumer = consumers::find(&mut conn, who.application_id, *id).await?.ok_or_else(|| not_found(*id))?;
    Ok(HttpResponse::Ok().json(ConsumerView::from(consumer)))
}

/// Delete a consumer and its connections; their SCIM tokens stop working.
#[utoipa::path(
    delete,
    path = "/api/consumers/{id}",
    operation_id = "deleteConsumer",
    tag = "consumers",
    params(("id" = Uuid, Path, description = "The consumer's id.")),
    responses((status = 204, description = "Deleted."), ReadErrors)
)]
pub(crate) async fn delete(
    who: AppPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    use diesel_async::AsyncConnection;
    let (app, id) = (who.application_id, *id);
    let mut conn = state.pool.get().await?;
    let deleted = conn
        .transaction::<bool, diesel::result::Error, _>(async |conn| {
            let Some(consumer) = consumers::find(conn, app, id).await? else {
                return Ok(false);
            };
            for c in connections::all_of(conn, consumer.id).await? {
                connection_deleted(conn, &c).await?;
            }
            consumer_deleted(conn, app, consumer.id).await?;
            consumers::delete(conn, app, id).await
        })
        .await?;
    if !deleted {
        return Err(not_found(id));
    }
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

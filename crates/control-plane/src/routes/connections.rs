//! Connections (consumer scope): the consumer's integrations and their credentials. An Okta SCIM
//! connection's metadata holds the SCIM `baseUrl` and the `apiToken` Okta sends.

use actix_web::{HttpResponse, web};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use uapi_events::v1::connection_event::Kind;
use uapi_platform::openapi::{
    BadRequest, Conflict, ListErrors, NotFound, ReadErrors, Routes, TokenErrors, Unprocessable,
};
use uapi_platform::pagination::Meta;
use uapi_platform::problem::Problem;
use uapi_platform::text::JsonBody;
use uapi_platform::tombstones::LiveConsumer;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::connections::{self, Connection};
use crate::db::{consumers, is_unique_violation};
use crate::domain::credentials;
use crate::error::{ApiError, ApiResult};
use crate::events::{connection_deleted, enqueue_connection_event};
use crate::state::AppState;
use uapi_platform::pagination::{self, PageQuery};

pub fn register(routes: &mut Routes<'_>) {
    routes
        .get("/api/connections", list)
        .post("/api/connections", create)
        .get("/api/connections/{id}", get)
        .delete("/api/connections/{id}", delete)
        .post("/api/connections/{id}/rotate-token", rotate_token);
}

/// An integration a consumer can connect.
#[derive(Serialize, Clone, Copy, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Integration {
    /// What `POST /api/connections` takes: `okta-scim`.
    #[schema(example = "okta-scim")]
    service_id: &'static str,
    #[schema(example = "Okta SCIM")]
    name: &'static str,
    #[schema(example = "hris")]
    unified_api: &'static str,
}

const INTEGRATIONS: [Integration; 1] =
    [Integration { service_id: "okta-scim", name: "Okta SCIM", unified_api: "hris" }];

/// A consumer's connection to an integration.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConnectionView {
    id: Uuid,
    #[schema(example = "okta-scim")]
    service_id: String,
    #[schema(example = "active")]
    status: String,
    consumer_id: Uuid,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
    metadata: Metadata,
}

/// What the consumer's Okta admin pastes into the Okta SCIM app.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Metadata {
    /// The SCIM Base URL.
    base_url: String,
    /// The SCIM API token (Okta sends it as `Authorization: Bearer`).
    api_token: String,
}

/// A page of the consumer's connections, and the integrations it has not connected yet.
#[derive(Serialize, ToSchema)]
struct ConnectionList {
    data: Vec<ConnectionView>,
    meta: Meta,
    /// Integrations the consumer can still connect (the portal's "Available" tab).
    available: Vec<Integration>,
}

impl Metadata {
    /// The connection's current credentials.
    pub(super) fn of(c: &Connection, state: &AppState) -> Self {
        Self { base_url: state.scim_base_url.clone(), api_token: state.scim_tokens.derive(c.id, &c.token_salt) }
    }
}

impl ConnectionView {
    fn new(c: Connection, state: &AppState) -> Self {
        Self {
            metadata: Metadata::of(&c, state),
            id: c.id,
            service_id: c.service_id,
            status: c.status,
            consumer_id: c.consumer_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// List the consumer's connections, and the integrations still available.
#[utoipa::path(
    get,
    path = "/api/connections",
    operation_id = "listConnections",
    tag = "connections",
    params(PageQuery),
    responses((status = 200, description = "A page of connections.", body = ConnectionList), ListErrors)
)]
pub(crate) async fn list(
    who: LiveConsumer,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.parse()?;
    let mut conn = state.pool.get().await?;
    let existing = connections::all_of(&mut conn, who.consumer_id).await?;
    let available: Vec<Integration> =
        INTEGRATIONS.iter().filter(|i| !existing.iter().any(|c| c.service_id == i.service_id)).copied().collect();
    let rows = connections::list(&mut conn, who.consumer_id, page).await?;
    let list = pagination::respond(page, rows, |c| c.id, |c| ConnectionView::new(c, &state));
    Ok(HttpResponse::Ok().json(ConnectionList { data: list.data, meta: list.meta, available }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateConnection {
    /// An available integration's `serviceId`: `okta-scim`.
    #[schema(example = "okta-scim")]
    service_id: String,
}

/// Connect an integration: its metadata holds the SCIM Base URL and API token.
#[utoipa::path(
    post,
    path = "/api/connections",
    operation_id = "createConnection",
    tag = "connections",
    request_body = CreateConnection,
    responses(
        (status = 201, description = "The connection, with its metadata.", body = ConnectionView),
        BadRequest,
        TokenErrors,
        NotFound,
        Conflict,
        Unprocessable
    )
)]
pub(crate) async fn create(
    who: LiveConsumer,
    state: web::Data<AppState>,
    body: JsonBody<CreateConnection>,
) -> ApiResult<HttpResponse> {
    let integration = INTEGRATIONS.iter().find(|i| i.service_id == body.service_id).ok_or_else(|| {
        let known: Vec<&str> = INTEGRATIONS.iter().map(|i| i.service_id).collect();
        Problem::validation(format!("unknown serviceId {:?}; available: {}", body.service_id, known.join(", ")))
    })?;
    let id = Uuid::now_v7();
    let salt = credentials::new_token_salt();
    let token = state.scim_tokens.derive(id, &salt);
    let now = crate::db::now();
    let connection = Connection {
        id,
        consumer_id: who.consumer_id,
        application_id: who.application_id,
        service_id: integration.service_id.to_owned(),
        status: "active".into(),
        token_salt: salt,
        token_sha256: credentials::sha256(&token),
        token_revision: 1,
        created_at: now,
        updated_at: now,
    };
    let mut conn = state.pool.get().await?;
    let consumer = who.consumer_id;
    let outcome = conn
        .transaction::<bool, diesel::result::Error, _>(async |conn| {
            // The consumer may have been deleted after the token was issued.
            if consumers::find(conn, who.application_id, consumer).await?.is_none() {
                return Ok(false);
            }
            connections::insert(conn, &connection).await?;
            enqueue_connection_event(conn, Kind::Created, &connection).await?;
            Ok(true)
        })
        .await;
    match outcome {
        Ok(true) => {}
        Ok(false) => return Err(Problem::not_found("consumer not found").into()),
        Err(e) if is_unique_violation(&e) => {
            return Err(Problem::conflict(format!(
                "this consumer already has a {} connection",
                integration.service_id
            ))
            .into());
        }
        Err(e) => return Err(e.into()),
    }
    state.outbox_wake.notify_one();
    tracing::info!(connection_id = %id, consumer_id = %consumer, "connection created");
    Ok(HttpResponse::Created().json(ConnectionView::new(connection, &state)))
}

pub(super) fn not_found(id: Uuid) -> ApiError {
    Problem::not_found(format!("connection {id} not found")).into()
}

/// One connection of the consumer, with its metadata.
#[utoipa::path(
    get,
    path = "/api/connections/{id}",
    operation_id = "getConnection",
    tag = "connections",
    params(("id" = Uuid, Path, description = "The connection's id.")),
    responses((status = 200, description = "The connection.", body = ConnectionView), ReadErrors)
)]
pub(crate) async fn get(who: LiveConsumer, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let c = connections::find(&mut conn, who.consumer_id, *id).await?.ok_or_else(|| not_found(*id))?;
    Ok(HttpResponse::Ok().json(ConnectionView::new(c, &state)))
}

/// Issue a new SCIM token; the old one stops working within seconds.
#[utoipa::path(
    post,
    path = "/api/connections/{id}/rotate-token",
    operation_id = "rotateConnectionToken",
    tag = "connections",
    params(("id" = Uuid, Path, description = "The connection's id.")),
    responses((status = 200, description = "The connection, with its new token.", body = ConnectionView), ReadErrors)
)]
pub(crate) async fn rotate_token(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = *id;
    let salt = credentials::new_token_salt();
    let hash = credentials::sha256(&state.scim_tokens.derive(id, &salt));
    let mut conn = state.pool.get().await?;
    let rotated = conn
        .transaction::<Option<Connection>, diesel::result::Error, _>(async |conn| {
            let rotated = connections::rotate(conn, who.consumer_id, id, &salt, &hash).await?;
            if let Some(c) = &rotated {
                enqueue_connection_event(conn, Kind::TokenRotated, c).await?;
            }
            Ok(rotated)
        })
        .await?
        .ok_or_else(|| not_found(id))?;
    state.outbox_wake.notify_one();
    tracing::info!(connection_id = %id, revision = rotated.token_revision, "SCIM token rotated");
    Ok(HttpResponse::Ok().json(ConnectionView::new(rotated, &state)))
}

/// Delete the connection; its token stops working within seconds.
#[utoipa::path(
    delete,
    path = "/api/connections/{id}",
    operation_id = "deleteConnection",
    tag = "connections",
    params(("id" = Uuid, Path, description = "The connection's id.")),
    responses((status = 204, description = "Deleted."), ReadErrors)
)]
pub(crate) async fn delete(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = *id;
    let mut conn = state.pool.get().await?;
    let deleted = conn
        .transaction::<bool, diesel::result::Error, _>(async |conn| {
            let Some(c) = connections::delete(conn, who.consumer_id, id).await? else {
                return Ok(false);
            };
            connection_deleted(conn, &c).await?;
            Ok(true)
        })
        .await?;
    if !deleted {
        return Err(not_found(id));
    }
    state.outbox_wake.notify_one();
    tracing::info!(connection_id = %id, "connection deleted");
    Ok(HttpResponse::NoContent().finish())
}

//! Setup links of a connection: the consumer creates, lists and revokes them (consumer scope);
//! whoever holds one opens it without signing in (`GET /api/setup-links/{token}`) and reads the
//! connection's SCIM Base URL and API token, as they are at that moment.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use serde::{Deserialize, Serialize};
use uapi_platform::openapi::{BadRequest, ListErrors, NotFound, ReadErrors, Routes, TokenErrors, Unprocessable};
use uapi_platform::pagination::{self, ListResponse, PageQuery};
use uapi_platform::problem::Problem;
use uapi_platform::secret::Secret;
use uapi_platform::tombstones::LiveConsumer;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OptionalJsonBody;
use super::connections::{Metadata, not_found as connection_not_found};
use crate::db::setup_links::{self, SetupLink};
use crate::db::{connections, is_foreign_key_violation};
use crate::domain::credentials;
use crate::domain::setup_links::{Gone as GoneReason, lifetime, usable};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The public route's path template; the request span records it in place of the real path.
const OPEN_PATH: &str = "/api/setup-links/{token}";

pub fn register(routes: &mut Routes<'_>) {
    routes
        .post("/api/connections/{id}/setup-links", create)
        .get("/api/connections/{id}/setup-links", list)
        .delete("/api/connections/{id}/setup-links/{linkId}", revoke)
        .get(OPEN_PATH, open);
}

uapi_platform::error_responses! {
    "application/problem+json", "Problem";
    /// 410: the setup link existed but no longer answers.
    Gone = "410", "The link was revoked or expired, or its connection or consumer was deleted: `detail` says which.";
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateSetupLink {
    /// How long the link works, in hours: 1–720 (default 168, a week).
    #[schema(minimum = 1, maximum = 720, example = 72)]
    expires_in_hours: Option<i64>,
}

/// A new setup link. Its token is shown only in this response.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreatedSetupLink {
    id: Uuid,
    /// The secret to hand to the consumer's IT admin; they open `GET /api/setup-links/{token}`.
    /// Shown only here: it is stored as a hash.
    #[schema(example = "uapi_setup_q1vC3m0Rk8yWb2Zl7sT4uXo9eN6hJ5aFdGpLiVrSwEc")]
    token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// A setup link, without its token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SetupLinkView {
    id: Uuid,
    expires_at: chrono::DateTime<chrono::Utc>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// When the link was revoked; null while it is not.
    revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<SetupLink> for SetupLinkView {
    fn from(l: SetupLink) -> Self {
        Self { id: l.id, expires_at: l.expires_at, created_at: l.created_at, revoked_at: l.revoked_at }
    }
}

/// What an open setup link shows: the connection and its current credentials.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConnectionSetup {
    connection_id: Uuid,
    #[schema(example = "okta-scim")]
    service_id: String,
    #[schema(example = "active")]
    status: String,
    metadata: Metadata,
    /// When the link stops working.
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Credentials must not linger in caches along the way.
fn no_store(mut res: HttpResponseBuilder) -> HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res
}

/// Create a setup link for the connection: its token is shown once.
#[utoipa::path(
    post,
    path = "/api/connections/{id}/setup-links",
    operation_id = "createSetupLink",
    tag = "setup-links",
    params(("id" = Uuid, Path, description = "The connection's id.")),
    request_body = Option<CreateSetupLink>,
    responses(
        (status = 201, description = "The link, with its token (shown only here).", body = CreatedSetupLink),
        BadRequest,
        TokenErrors,
        NotFound,
        Unprocessable
    )
)]
pub(crate) async fn create(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: OptionalJsonBody<CreateSetupLink>,
) -> ApiResult<HttpResponse> {
    let id = *id;
    let lifetime = lifetime(body.0.and_then(|b| b.expires_in_hours)).map_err(Problem::validation)?;
    let mut conn = state.pool.get().await?;
    connections::find(&mut conn, who.consumer_id, id).await?.ok_or_else(|| connection_not_found(id))?;
    let token = credentials::new_setup_link_token();
    let now = crate::db::now();
    let link = SetupLink {
        id: Uuid::now_v7(),
        connection_id: Some(id),
        consumer_id: Some(who.consumer_id),
        token_sha256: credentials::sha256(token.expose()),
        expires_at: now + lifetime,
        created_at: now,
        revoked_at: None,
    };
    match setup_links::insert(&mut conn, &link).await {
        // The connection was deleted since it was found.
        Err(e) if is_foreign_key_violation(&e) => return Err(connection_not_found(id)),
        other => other?,
    }
    tracing::info!(setup_link_id = %link.id, connection_id = %id, "setup link created");
    Ok(no_store(HttpResponse::Created()).json(CreatedSetupLink {
        id: link.id,
        token: token.expose().to_owned(),
        expires_at: link.expires_at,
        created_at: link.created_at,
    }))
}

/// List the connection's setup links, oldest first, revoked and expired ones included.
#[utoipa::path(
    get,
    path = "/api/connections/{id}/setup-links",
    operation_id = "listSetupLinks",
    tag = "setup-links",
    params(("id" = Uuid, Path, description = "The connection's id."), PageQuery),
    responses(
        (status = 200, description = "A page of the connection's links.", body = ListResponse<SetupLinkView>),
        ListErrors,
        NotFound
    )
)]
pub(crate) async fn list(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (id, page) = (*id, query.parse()?);
    let mut conn = state.pool.get().await?;
    connections::find(&mut conn, who.consumer_id, id).await?.ok_or_else(|| connection_not_found(id))?;
    let rows = setup_links::list(&mut conn, who.consumer_id, id, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |l| l.id, SetupLinkView::from)))
}

/// Revoke a setup link: opening it answers 410 from now on. Revoking it again changes nothing.
#[utoipa::path(
    delete,
    path = "/api/connections/{id}/setup-links/{linkId}",
    operation_id = "revokeSetupLink",
    tag = "setup-links",
    params(
        ("id" = Uuid, Path, description = "The connection's id."),
        ("linkId" = Uuid, Path, description = "The setup link's id.")
    ),
    responses((status = 204, description = "Revoked."), ReadErrors)
)]
pub(crate) async fn revoke(
    who: LiveConsumer,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, link) = *path;
    let mut conn = state.pool.get().await?;
    connections::find(&mut conn, who.consumer_id, id).await?.ok_or_else(|| connection_not_found(id))?;
    if !setup_links::revoke(&mut conn, who.consumer_id, id, link).await? {
        return Err(Problem::not_found(format!("setup link {link} not found")).into());
    }
    tracing::info!(setup_link_id = %link, connection_id = %id, "setup link revoked");
    Ok(HttpResponse::NoContent().finish())
}

fn gone(reason: GoneReason) -> ApiError {
    Problem::new(StatusCode::GONE, "gone", reason.to_string()).into()
}

/// Open a setup link: the connection's SCIM Base URL and API token, without signing in.
#[utoipa::path(
    get,
    path = "/api/setup-links/{token}",
    operation_id = "openSetupLink",
    tag = "setup-links",
    params(("token" = String, Path, description = "The link's token, from `POST /api/connections/{id}/setup-links`.")),
    security(()),
    responses(
        (status = 200, description = "The connection and its current credentials.", body = ConnectionSetup),
        BadRequest,
        NotFound,
        Gone
    )
)]
pub(crate) async fn open(state: web::Data<AppState>, token: web::Path<String>) -> ApiResult<HttpResponse> {
    let token = Secret::new(token.into_inner());
    let unknown = || ApiError::from(Problem::not_found("no such setup link"));
    if !credentials::is_setup_link_token(token.expose()) {
        return Err(unknown());
    }
    let mut conn = state.pool.get().await?;
    let link =
        setup_links::find_by_token(&mut conn, &credentials::sha256(token.expose())).await?.ok_or_else(unknown)?;
    usable(link.revoked_at, link.expires_at, chrono::Utc::now()).map_err(gone)?;
    let (consumer, connection) = match (link.consumer_id, link.connection_id) {
        (None, _) => return Err(gone(GoneReason::ConsumerDeleted)),
        (Some(_), None) => return Err(gone(GoneReason::ConnectionDeleted)),
        (Some(consumer), Some(connection)) => (consumer, connection),
    };
    let c =
        connections::find(&mut conn, consumer, connection).await?.ok_or_else(|| gone(GoneReason::ConnectionDeleted))?;
    if c.status != "active" {
        return Err(gone(GoneReason::ConnectionInactive(c.status)));
    }
    // Outside the request span: a log format that appends recorded fields still shows the span's
    // original URL, token included.
    tracing::info!(parent: None, setup_link_id = %link.id, connection_id = %c.id, "setup link opened");
    Ok(no_store(HttpResponse::Ok()).json(ConnectionSetup {
        connection_id: c.id,
        metadata: Metadata::of(&c, &state),
        service_id: c.service_id,
        status: c.status,
        expires_at: link.expires_at,
    }))
}

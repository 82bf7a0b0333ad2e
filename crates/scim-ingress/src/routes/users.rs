//! `/Users`: search, create, read, replace, patch and delete, scoped to the token's connection.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;
use uapi_scim::filter::{CompareOp, Filter};
use uapi_scim::schema::USER;
use uuid::Uuid;

use super::openapi::*;
use super::scim;
use crate::db::users;
use crate::domain::{filter_sql, resource, writes};
use crate::scim::auth::Tenant;
use crate::scim::body;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::list::{self, ListQuery};
use crate::scim::projection::Projection;
use crate::state::AppState;
use uapi_platform::openapi::Routes;

pub fn register(routes: &mut Routes<'_>) {
    routes
        .get("/Users", search)
        .post("/Users", create)
        .post("/Users/.search", search_post)
        .post("/.search", search_root)
        .get("/Users/{id}", get)
        .put("/Users/{id}", replace)
        .patch("/Users/{id}", patch)
        .delete("/Users/{id}", delete);
}

fn user_id(raw: &str) -> ScimResult<Uuid> {
    super::resource_id(raw, "User")
}

fn render(state: &AppState, row: &users::UserRow) -> Value {
    resource::render(row.id, &row.resource, &row.employee, &state.base_url, row.version, row.created_at, row.updated_at)
}

/// The projection a request asks for (RFC 7644 §3.9); parsed before any write, so a bad query string changes
/// nothing.
fn projection(state: &AppState, req: &HttpRequest) -> ScimResult<Projection> {
    Ok(ListQuery::of_request(req, state)?.projection())
}

/// `userName eq "…"`: Okta's existence check before every create, worth a fast path.
fn user_name_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: Value::String(v) }
            if path.attr.eq_ignore_ascii_case("userName")
                && path.sub.is_none()
                && path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(uapi_scim::schema::USER_SCHEMA)) =>
        {
            Some(v)
        }
        _ => None,
    }
}

/// Search the connection's users (`filter`, paging, projection).
#[utoipa::path(
    get,
    path = "/scim/v2/Users",
    operation_id = "searchUsers",
    tag = "Users",
    params(SearchParams),
    responses((status = 200, description = "A page of results.", body = ScimListResponse, content_type = "application/scim+json"), SearchErrors)
)]
pub(crate) async fn search(tenant: Tenant, state: web::Data<AppState>, req: HttpRequest) -> ScimResult<HttpResponse> {
    let query = ListQuery::of_request(&req, &state)?;
    run_search(tenant, state, query).await
}

/// Search the connection's users, the query in a SearchRequest body.
#[utoipa::path(
    post,
    path = "/scim/v2/Users/.search",
    operation_id = "searchUsersPost",
    tag = "Users",
    request_body(content = ScimSearchRequest, content_type = "application/scim+json"),
    responses((status = 200, description = "A page of results.", body = ScimListResponse, content_type = "application/scim+json"), SearchErrors)
)]
pub(crate) async fn search_post(
    tenant: Tenant,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let query = ListQuery::of_search(payload, &state).await?;
    run_search(tenant, state, query).await
}

/// Search from the root (`POST /.search`): Users are this server's resources searched there.
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    operation_id = "searchRoot",
    tag = "Users",
    request_body(content = ScimSearchRequest, content_type = "application/scim+json"),
    responses((status = 200, description = "A page of users.", body = ScimListResponse, content_type = "application/scim+json"), SearchErrors)
)]
pub(crate) async fn search_root(
    tenant: Tenant,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    search_post(tenant, state, payload).await
}

async fn run_search(tenant: Tenant, state: web::Data<AppState>, query: ListQuery) -> ScimResult<HttpResponse> {
    let projection = query.projection();
    let parsed = query.filter.as_deref().map(uapi_scim::filter::parse).transpose()?;
    let mut conn = state.pool.get().await?;
    if let Some(user_name) = parsed.as_ref().and_then(user_name_eq) {
        // At most one match (userName is unique per connection), so the total needs no count query.
        let found = users::find_by_user_name(&mut conn, tenant.connection_id, user_name).await?;
        let total = i64::from(found.is_some());
        let page = found.filter(|_| query.start_index == 1 && query.count > 0);
        let resources = page.iter().map(|r| projection.apply(render(&state, r))).collect();
        return Ok(scim(StatusCode::OK, &list::response(total, query.start_index, resources)));
    }
    let compiled = parsed.as_ref().map(|f| filter_sql::compile(f, &filter_sql::USERS)).transpose()?;
    let (total, rows) =
        users::list(&mut conn, tenant.connection_id, compiled.as_ref(), query.start_index - 1, query.count).await?;
    let resources = rows.iter().map(|r| projection.apply(render(&state, r))).collect();
    Ok(scim(StatusCode::OK, &list::response(total, query.start_index, resources)))
}

/// Create a user.
#[utoipa::path(
    post,
    path = "/scim/v2/Users",
    operation_id = "createUser",
    tag = "Users",
    params(ProjectionParams),
    request_body(content = ScimUser, content_type = "application/scim+json"),
    responses((status = 201, description = "The user as stored; `Location` names it.", body = ScimUser, content_type = "application/scim+json"), CreateErrors)
)]
pub(crate) async fn create(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let projection = projection(&state, &req)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let resource = resource::clean(body, None)?;
    let written = writes::create(&state.pool, &state.creates, &tenant, resource).await?;
    state.outbox_wake.notify_one();
    let rendered = projection.apply(render(&state, &written.row));
    let location = format!("{}/Users/{}", state.base_url, written.row.id);
    Ok(HttpResponse::Created()
        .content_type(crate::scim::CONTENT_TYPE)
        .insert_header((header::LOCATION, location))
        .body(rendered.to_string()))
}

/// One user of the connection.
#[utoipa::path(
    get,
    path = "/scim/v2/Users/{id}",
    operation_id = "getUser",
    tag = "Users",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    responses((status = 200, description = "The user.", body = ScimUser, content_type = "application/scim+json"), ReadErrors)
)]
pub(crate) async fn get(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let id = user_id(&id)?;
    let mut conn = state.pool.get().await?;
    let row = users::find(&mut conn, tenant.connection_id, id, false)
        .await?
        .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
    Ok(scim(StatusCode::OK, &projection(&state, &req)?.apply(render(&state, &row))))
}

/// Replace a user (the body is the whole new resource).
#[utoipa::path(
    put,
    path = "/scim/v2/Users/{id}",
    operation_id = "replaceUser",
    tag = "Users",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    request_body(content = ScimUser, content_type = "application/scim+json"),
    responses((status = 200, description = "The user as it is now.", body = ScimUser, content_type = "application/scim+json"), WriteErrors)
)]
pub(crate) async fn replace(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let id = user_id(&id)?;
    let projection = projection(&state, &req)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let mut conn = state.pool.get().await?;
    // Replace semantics: the body is the whole new resource, except that `password` is never
    // cleared by omission (we do not store it at all).
    let written = writes::update(&mut conn, &tenant, id, |_| Ok(body.clone())).await?;
    updated(&state, written, &projection)
}

/// Change a user with PATCH operations (all or nothing).
#[utoipa::path(
    patch,
    path = "/scim/v2/Users/{id}",
    operation_id = "patchUser",
    tag = "Users",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    request_body(content = ScimPatchOp, content_type = "application/scim+json"),
    responses((status = 200, description = "The user as it is now.", body = ScimUser, content_type = "application/scim+json"), WriteErrors)
)]
pub(crate) async fn patch(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let id = user_id(&id)?;
    let projection = projection(&state, &req)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let ops = uapi_scim::patch::parse_request(&body)?;
    let mut conn = state.pool.get().await?;
    let change = |current: &Value| {
        // The engine sees the user's `id` (not stored with the resource), so an `id` repeated in a value is
        // accepted when it is this user's and refused with `mutability` otherwise.
        let mut current = current.as_object().cloned().unwrap_or_default();
        current.insert("id".into(), Value::String(id.to_string()));
        Ok(uapi_scim::patch::apply(&Value::Object(current), &ops, &USER)?)
    };
    let written = writes::update(&mut conn, &tenant, id, change).await?;
    updated(&state, written, &projection)
}

/// The 200 of a PUT or PATCH; the relay is woken only when the write produced an event.
fn updated(state: &AppState, written: writes::Written, projection: &Projection) -> ScimResult<HttpResponse> {
    if written.emitted {
        state.outbox_wake.notify_one();
    }
    Ok(scim(StatusCode::OK, &projection.apply(render(state, &written.row))))
}

/// Delete a user.
#[utoipa::path(
    delete,
    path = "/scim/v2/Users/{id}",
    operation_id = "deleteUser",
    tag = "Users",
    params(("id" = String, Path, description = "The resource's id.")),
    responses((status = 204, description = "Deleted."), DeleteErrors)
)]
pub(crate) async fn delete(
    tenant: Tenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let id = user_id(&id)?;
    let mut conn = state.pool.get().await?;
    writes::delete(&mut conn, &tenant, id).await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

//! `/Groups`: search, create, read, replace, patch and delete, scoped to the token's connection.
//! Members are read only when the response carries them (`excludedAttributes=members`, which Okta
//! sends, skips them), so reading a 10,000-member group's name costs one row.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uapi_scim::schema::GROUP;
use uuid::Uuid;

use super::openapi::*;
use super::scim;
use crate::db::groups::{self, GroupRow, Member};
use crate::domain::group_patch::{self, MemberOp};
use crate::domain::{filter_sql, group_resource, group_writes};
use crate::scim::auth::Tenant;
use crate::scim::body;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::list::{self, ListQuery};
use crate::scim::projection::Projection;
use crate::state::AppState;
use uapi_platform::openapi::Routes;

pub fn register(routes: &mut Routes<'_>) {
    routes
        .get("/Groups", search)
        .post("/Groups", create)
        .post("/Groups/.search", search_post)
        .get("/Groups/{id}", get)
        .put("/Groups/{id}", replace)
        .patch("/Groups/{id}", patch)
        .delete("/Groups/{id}", delete);
}

fn group_id(raw: &str) -> ScimResult<Uuid> {
    super::resource_id(raw, "Group")
}

/// The rendered groups, projected; their members are read (in one query) only when returned.
async fn render(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    rows: &[GroupRow],
    projection: &Projection,
) -> ScimResult<Vec<Value>> {
    let mut members: Option<HashMap<Uuid, Vec<Member>>> = None;
    if projection.returns("members") && !rows.is_empty() {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut by_group: HashMap<Uuid, Vec<Member>> = HashMap::new();
        for m in groups::members(conn, &ids).await? {
            by_group.entry(m.group_id).or_default().push(m);
        }
        members = Some(by_group);
    }
    Ok(rows
        .iter()
        .map(|row| {
            let of_row = members.as_ref().map(|m| m.get(&row.id).map(Vec::as_slice).unwrap_or_default());
            projection.apply(group_resource::render(row, of_row, &state.base_url))
        })
        .collect())
}

/// The projection a request asks for; parsed before any write, so a bad query string changes nothing.
fn projection(state: &AppState, req: &HttpRequest) -> ScimResult<Projection> {
    Ok(ListQuery::of_request(req, state)?.projection())
}

async fn one(state: &AppState, row: &GroupRow, projection: &Projection) -> ScimResult<Value> {
    let mut conn = state.pool.get().await?;
    let mut rendered = render(state, &mut conn, std::slice::from_ref(row), projection).await?;
    rendered.pop().ok_or_else(|| ScimError::Internal(anyhow::anyhow!("a rendered group went missing")))
}

/// Search the connection's groups (`filter`, paging, projection).
#[utoipa::path(
    get,
    path = "/scim/v2/Groups",
    operation_id = "searchGroups",
    tag = "Groups",
    params(SearchParams),
    responses((status = 200, description = "A page of results.", body = ScimListResponse, content_type = "application/scim+json"), SearchErrors)
)]
pub(crate) async fn search(tenant: Tenant, state: web::Data<AppState>, req: HttpRequest) -> ScimResult<HttpResponse> {
    let query = ListQuery::of_request(&req, &state)?;
    run_search(tenant, state, query).await
}

/// Search the connection's groups, the query in a SearchRequest body.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups/.search",
    operation_id = "searchGroupsPost",
    tag = "Groups",
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

async fn run_search(tenant: Tenant, state: web::Data<AppState>, query: ListQuery) -> ScimResult<HttpResponse> {
    let parsed = query.filter.as_deref().map(uapi_scim::filter::parse).transpose()?;
    // `displayName eq "…"` (Okta's lookup) compiles to the unique index's expression: one row at most.
    let compiled = parsed.as_ref().map(|f| filter_sql::compile(f, &filter_sql::GROUPS)).transpose()?;
    let mut conn = state.pool.get().await?;
    let (total, rows) =
        groups::list(&mut conn, tenant.connection_id, compiled.as_ref(), query.start_index - 1, query.count).await?;
    let resources = render(&state, &mut conn, &rows, &query.projection()).await?;
    Ok(scim(StatusCode::OK, &list::response(total, query.start_index, resources)))
}

/// Create a group.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups",
    operation_id = "createGroup",
    tag = "Groups",
    params(ProjectionParams),
    request_body(content = ScimGroup, content_type = "application/scim+json"),
    responses((status = 201, description = "The group as stored; `Location` names it.", body = ScimGroup, content_type = "application/scim+json"), CreateErrors)
)]
pub(crate) async fn create(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let projection = projection(&state, &req)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let group = group_resource::clean(body, None)?;
    let row = {
        let mut conn = state.pool.get().await?;
        group_writes::create(&mut conn, &tenant, group).await?
    };
    state.outbox_wake.notify_one();
    let rendered = one(&state, &row, &projection).await?;
    Ok(HttpResponse::Created()
        .content_type(crate::scim::CONTENT_TYPE)
        .insert_header((header::LOCATION, format!("{}/Groups/{}", state.base_url, row.id)))
        .body(rendered.to_string()))
}

/// One group of the connection.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups/{id}",
    operation_id = "getGroup",
    tag = "Groups",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    responses((status = 200, description = "The group.", body = ScimGroup, content_type = "application/scim+json"), ReadErrors)
)]
pub(crate) async fn get(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let id = group_id(&id)?;
    let row = {
        let mut conn = state.pool.get().await?;
        groups::find(&mut conn, tenant.connection_id, id, false).await?
    };
    let row = row.ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))?;
    Ok(scim(StatusCode::OK, &one(&state, &row, &projection(&state, &req)?).await?))
}

/// Replace a group (the body is the whole new resource).
#[utoipa::path(
    put,
    path = "/scim/v2/Groups/{id}",
    operation_id = "replaceGroup",
    tag = "Groups",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    request_body(content = ScimGroup, content_type = "application/scim+json"),
    responses((status = 200, description = "The group as it is now.", body = ScimGroup, content_type = "application/scim+json"), WriteErrors)
)]
pub(crate) async fn replace(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let id = group_id(&id)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let group = group_resource::clean(body, Some(id))?;
    let members = vec![MemberOp::Replace(group.members)];
    let attributes = group.attributes;
    write(&state, &tenant, id, |_| Ok(attributes.clone()), members, &req).await
}

/// Change a group with PATCH operations (all or nothing).
#[utoipa::path(
    patch,
    path = "/scim/v2/Groups/{id}",
    operation_id = "patchGroup",
    tag = "Groups",
    params(("id" = String, Path, description = "The resource's id."), ProjectionParams),
    request_body(content = ScimPatchOp, content_type = "application/scim+json"),
    responses((status = 200, description = "The group as it is now.", body = ScimGroup, content_type = "application/scim+json"), WriteErrors)
)]
pub(crate) async fn patch(
    tenant: Tenant,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ScimResult<HttpResponse> {
    let id = group_id(&id)?;
    let body = body::json_object(payload, state.body_limit).await?;
    let request = group_patch::split(uapi_scim::patch::parse_request(&body)?)?;
    let attribute_ops = request.attribute_ops;
    let change = move |row: &GroupRow| {
        // The engine sees the group's `id`, so the one Okta repeats inside a rename is checked.
        let mut current = row.resource.as_object().cloned().unwrap_or_default();
        current.insert("id".into(), Value::String(row.id.to_string()));
        let ops = attribute_ops.iter().map(|(index, op)| (*index, op));
        match uapi_scim::patch::apply_numbered(&Value::Object(current), ops, &GROUP)? {
            Value::Object(patched) => group_resource::clean_attributes(patched, Some(row.id)),
            _ => Err(ScimError::bad_request("invalidSyntax", "a Group must be a JSON object")),
        }
    };
    write(&state, &tenant, id, change, request.member_ops, &req).await
}

/// Runs a PUT or PATCH and answers 200 with the group as it is now; the relay is woken only when
/// the write produced events.
async fn write<F>(
    state: &AppState,
    tenant: &Tenant,
    id: Uuid,
    change: F,
    members: Vec<MemberOp>,
    req: &HttpRequest,
) -> ScimResult<HttpResponse>
where
    F: Fn(&GroupRow) -> ScimResult<serde_json::Map<String, Value>> + Send + Sync,
{
    let projection = projection(state, req)?;
    let written = {
        let mut conn = state.pool.get().await?;
        group_writes::update(&mut conn, tenant, id, change, members).await?
    };
    if written.emitted {
        state.outbox_wake.notify_one();
    }
    Ok(scim(StatusCode::OK, &one(state, &written.row, &projection).await?))
}

/// Delete a group.
#[utoipa::path(
    delete,
    path = "/scim/v2/Groups/{id}",
    operation_id = "deleteGroup",
    tag = "Groups",
    params(("id" = String, Path, description = "The resource's id.")),
    responses((status = 204, description = "Deleted."), DeleteErrors)
)]
pub(crate) async fn delete(
    tenant: Tenant,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ScimResult<HttpResponse> {
    let id = group_id(&id)?;
    let mut conn = state.pool.get().await?;
    group_writes::delete(&mut conn, &tenant, id).await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

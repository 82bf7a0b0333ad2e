//! `/api/hris/groups` (consumer scope): the groups Okta pushed for the consumer's connections.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uapi_events::model::Group;
use uapi_platform::error::ApiResult;
use uapi_platform::openapi::{ListErrors, ReadErrors, Routes};
use uapi_platform::pagination::{self, Item, ListResponse, PageQuery};
use uapi_platform::problem::Problem;
use utoipa::IntoParams;
use uuid::Uuid;

use uapi_platform::tombstones::LiveConsumer;

use crate::db::groups;
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.get("/api/hris/groups", list).get("/api/hris/groups/{id}", get);
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `meta.next` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Include deleted groups (default false).
    include_deleted: Option<bool>,
}

/// List the consumer's groups, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/hris/groups",
    operation_id = "listGroups",
    tag = "groups",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of groups.", body = ListResponse<Group>), ListErrors)
)]
async fn list(who: LiveConsumer, state: web::Data<AppState>, query: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = groups::list(&mut conn, who.consumer_id, query.include_deleted.unwrap_or(false), page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |r| r.id, |r| r.data)))
}

/// One group of the consumer.
#[utoipa::path(
    get,
    path = "/api/hris/groups/{id}",
    operation_id = "getGroup",
    tag = "groups",
    params(("id" = Uuid, Path, description = "The group's id."), super::GetQuery),
    responses(
        (status = 200, description = "The group.", body = Item<Group>), ReadErrors)
)]
async fn get(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<super::GetQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = groups::find(&mut conn, who.consumer_id, *id)
        .await?
        .filter(|r| query.shows(r.deleted_at))
        .ok_or_else(|| Problem::not_found(format!("group {id} not found")))?;
    Ok(HttpResponse::Ok().json(Item { data: row.data }))
}

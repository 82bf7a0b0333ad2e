//! `/api/hris/groups` (consumer scope): the groups Okta pushed for the consumer's connections.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use uapi_platform::auth::ConsumerPrincipal;
use uapi_platform::error::ApiResult;
use uapi_platform::pagination::{self, PageQuery};
use uapi_platform::problem::Problem;
use uuid::Uuid;

use crate::db::groups;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/hris/groups", web::get().to(list)).route("/api/hris/groups/{id}", web::get().to(get));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    include_deleted: Option<bool>,
}

async fn list(
    who: ConsumerPrincipal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.parse()?;
    let mut conn = state.pool.get().await?;
    let rows = groups::list(&mut conn, who.consumer_id, query.include_deleted.unwrap_or(false), page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |r| r.id, |r| r.data)))
}

async fn get(
    who: ConsumerPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<super::GetQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = groups::find(&mut conn, who.consumer_id, *id)
        .await?
        .filter(|r| query.shows(r.deleted_at))
        .ok_or_else(|| Problem::not_found(format!("group {id} not found")))?;
    Ok(HttpResponse::Ok().json(json!({ "data": row.data })))
}

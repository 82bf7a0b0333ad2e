//! `/api/hris/employees` (consumer scope): the consumer's employees, newest state, paginated; in
//! [`groups`], `/api/hris/groups`; in [`events`], the events feed `/api/hris/events`.

mod events;
mod groups;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uapi_platform::auth::ConsumerPrincipal;
use uapi_platform::pagination::{self, PageQuery};
use uapi_platform::problem::Problem;
use uuid::Uuid;

use crate::db::{self, ListFilter};
use crate::state::AppState;
use uapi_platform::error::ApiResult;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/hris/employees", web::get().to(list))
        .route("/api/hris/employees/{id}", web::get().to(get))
        .configure(groups::configure)
        .configure(events::configure);
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    updated_after: Option<String>,
    employment_status: Option<String>,
    work_email: Option<String>,
    group_id: Option<String>,
    include_deleted: Option<bool>,
}

impl ListQuery {
    fn filter(&self) -> Result<ListFilter, Problem> {
        let updated_after = self
            .updated_after
            .as_deref()
            .map(|t| {
                DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                    Problem::bad_request("updatedAfter must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z")
                })
            })
            .transpose()?;
        let employment_status = match self.employment_status.as_deref().map(str::to_ascii_uppercase) {
            None => None,
            Some(s) if s == "ACTIVE" || s == "INACTIVE" => Some(s),
            Some(_) => return Err(Problem::bad_request("employmentStatus must be ACTIVE or INACTIVE")),
        };
        Ok(ListFilter {
            updated_after,
            employment_status,
            work_email: self.work_email.clone().filter(|e| !e.is_empty()),
            group_id: self.group_id.clone().filter(|g| !g.is_empty()),
            include_deleted: self.include_deleted.unwrap_or(false),
        })
    }
}

async fn list(
    who: ConsumerPrincipal,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.parse()?;
    let filter = query.filter()?;
    let mut conn = state.pool.get().await?;
    let rows = db::list(&mut conn, who.consumer_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |r| r.id, |r| r.data)))
}

/// `?includeDeleted=true` on a read: deleted records are 404 without it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetQuery {
    include_deleted: Option<bool>,
}

impl GetQuery {
    fn shows(&self, deleted_at: Option<DateTime<Utc>>) -> bool {
        deleted_at.is_none() || self.include_deleted.unwrap_or(false)
    }
}

async fn get(
    who: ConsumerPrincipal,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<GetQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = db::find(&mut conn, who.consumer_id, *id)
        .await?
        .filter(|r| query.shows(r.deleted_at))
        .ok_or_else(|| Problem::not_found(format!("employee {id} not found")))?;
    Ok(HttpResponse::Ok().json(json!({ "data": row.data })))
}

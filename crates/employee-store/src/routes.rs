//! `/api/hris/employees` (consumer scope): the consumer's employees, newest state, paginated; in
//! [`groups`], `/api/hris/groups`; in [`events`], the events feed `/api/hris/events`.

mod events;
mod groups;

use uapi_platform::tombstones::LiveConsumer;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uapi_events::model::{Employee, Group};
use uapi_events::webhook::WebhookBody;
use uapi_platform::openapi::{BearerAuth, ListErrors, ReadErrors, Routes};
use uapi_platform::pagination::{self, Item, ListResponse, PageQuery};
use uapi_platform::problem::Problem;
use utoipa::{IntoParams, OpenApi};
use uuid::Uuid;

use crate::db::{self, ListFilter};
use crate::state::AppState;
use uapi_platform::error::ApiResult;

/// employee-store's OpenAPI document, served at `GET /openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "uapi-hris employee-store",
        description = "The HRIS API: a consumer's employees and groups as Okta pushed them, and the \
                       events feed. Every route takes a consumer-scope token from control-plane's \
                       `POST /api/auth`."
    ),
    paths(list, get, groups::list, groups::get, events::list),
    components(schemas(Problem, Employee, Group, WebhookBody<'static>)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "employees", description = "The consumer's employees, newest state."),
        (name = "groups", description = "The groups Okta pushed, with their members' ids."),
        (name = "events", description = "Every employee and group event, as its webhook body.")
    )
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    uapi_platform::openapi::serve(cfg, &ApiDoc::openapi());
    register(&mut Routes::new(cfg));
}

/// Every route of the API; [`ApiDoc`] describes each (a test holds the two together).
pub fn register(routes: &mut Routes<'_>) {
    routes.get("/api/hris/employees", list).get("/api/hris/employees/{id}", get);
    groups::register(routes);
    events::register(routes);
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `meta.next` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    limit: Option<i64>,
    /// Only employees whose `updatedAt` is later (RFC 3339).
    updated_after: Option<String>,
    /// `ACTIVE` or `INACTIVE` (any case).
    employment_status: Option<String>,
    /// Only the employee with this work email (case-insensitive).
    work_email: Option<String>,
    /// Only members of this group.
    group_id: Option<String>,
    /// Include deleted employees (default false).
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

/// List the consumer's employees, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/hris/employees",
    operation_id = "listEmployees",
    tag = "employees",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of employees.", body = ListResponse<Employee>), ListErrors)
)]
async fn list(who: LiveConsumer, state: web::Data<AppState>, query: web::Query<ListQuery>) -> ApiResult<HttpResponse> {
    let page = PageQuery { cursor: query.cursor.clone(), limit: query.limit }.parse()?;
    let filter = query.filter()?;
    let mut conn = state.pool.get().await?;
    let rows = db::list(&mut conn, who.consumer_id, &filter, page).await?;
    Ok(HttpResponse::Ok().json(pagination::respond(page, rows, |r| r.id, |r| r.data)))
}

/// `?includeDeleted=true` on a read: deleted records are 404 without it.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct GetQuery {
    /// Answer a deleted record too (default false: 404).
    include_deleted: Option<bool>,
}

impl GetQuery {
    fn shows(&self, deleted_at: Option<DateTime<Utc>>) -> bool {
        deleted_at.is_none() || self.include_deleted.unwrap_or(false)
    }
}

/// One employee of the consumer.
#[utoipa::path(
    get,
    path = "/api/hris/employees/{id}",
    operation_id = "getEmployee",
    tag = "employees",
    params(("id" = Uuid, Path, description = "The employee's id."), GetQuery),
    responses(
        (status = 200, description = "The employee.", body = Item<Employee>), ReadErrors)
)]
async fn get(
    who: LiveConsumer,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<GetQuery>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.pool.get().await?;
    let row = db::find(&mut conn, who.consumer_id, *id)
        .await?
        .filter(|r| query.shows(r.deleted_at))
        .ok_or_else(|| Problem::not_found(format!("employee {id} not found")))?;
    Ok(HttpResponse::Ok().json(Item { data: row.data }))
}

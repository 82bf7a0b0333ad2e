//! A consumer's employees and groups (employee-store's API, consumer scope): lists with the
//! contract's filters and paging, and an employee's page with every field, its version, groups and
//! the raw SCIM resource.

use actix_web::{HttpResponse, web};
use maud::html;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::consumers::{as_consumer, consumer};
use super::extract::{SignedIn, id};
use super::page::{self, Section, pretty, short};
use crate::api::types::{Employee, Group, One, Page};
use crate::api::{Service, encode, read};
use crate::error::PageError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/consumers/{id}/employees", web::get().to(employees))
        .route("/consumers/{id}/employees/{employee}", web::get().to(employee))
        .route("/consumers/{id}/groups", web::get().to(groups));
}

/// The list's filters, as the contract names them; blank ones are left out.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filters {
    cursor: Option<String>,
    employment_status: Option<String>,
    work_email: Option<String>,
    group_id: Option<String>,
    updated_after: Option<String>,
    include_deleted: Option<String>,
}

impl Filters {
    /// `(name, value)` of each filter set, cursor excluded.
    fn set(&self) -> Vec<(&'static str, &str)> {
        [
            ("employmentStatus", &self.employment_status),
            ("workEmail", &self.work_email),
            ("groupId", &self.group_id),
            ("updatedAfter", &self.updated_after),
            ("includeDeleted", &self.include_deleted),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect()
    }

    fn query(&self) -> String {
        self.set().iter().map(|(k, v)| format!("&{k}={}", encode(v))).collect()
    }
}

async fn employees(
    SignedIn(session): SignedIn,
    apis: web::Data<crate::api::Apis>,
    path: web::Path<String>,
    filters: web::Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let c = consumer(&apis, &session, consumer_id).await?;
    let mut api = format!("/api/hris/employees?limit=50{}", filters.query());
    if let Some(cursor) = &filters.cursor {
        api.push_str(&format!("&cursor={}", encode(cursor)));
    }
    let answer = as_consumer(&apis, &session, consumer_id, Service::EmployeeStore, Method::GET, &api, None).await;
    let (list, problem) = match answer {
        Ok(v) => (read::<Page<Employee>>(Service::EmployeeStore, v)?, None),
        // A filter the API refuses (a malformed date, say) is explained above an empty list.
        Err(PageError::BadRequest(detail)) => (Page { data: Vec::new(), meta: Default::default() }, Some(detail)),
        Err(e) => return Err(e),
    };
    let base = format!("/consumers/{consumer_id}/employees");
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let body = html! {
        p.crumbs { a href="/consumers" { "Consumers" } " / " a href={ "/consumers/" (consumer_id) } { (c.name) } " / Employees" }
        h1 { "Employees of " (c.name) }
        form.filters.row method="get" action=(base) role="search" {
            div { label for="workEmail" { "Work email" } input #workEmail name="workEmail" type="email" value=(value(&filters.work_email)); }
            div {
                label for="employmentStatus" { "Status" }
                select #employmentStatus name="employmentStatus" {
                    option value="" { "Any" }
                    @for s in ["ACTIVE", "INACTIVE"] {
                        option value=(s) selected[filters.employment_status.as_deref() == Some(s)] { (s) }
                    }
                }
            }
            div { label for="groupId" { "Group id" } input #groupId name="groupId" value=(value(&filters.group_id)) spellcheck="false"; }
            div { label for="updatedAfter" { "Updated after (RFC 3339)" } input #updatedAfter name="updatedAfter" value=(value(&filters.updated_after)) placeholder="2026-12-01T00:00:00Z"; }
            label.check { input type="checkbox" name="includeDeleted" value="true" checked[filters.include_deleted.as_deref() == Some("true")]; " Include deleted" }
            button type="submit" { "Filter" }
            a.button.secondary href=(base) { "Clear" }
        }
        @if let Some(problem) = &problem { div.notice.err role="alert" { (problem) } }
        @if list.data.is_empty() {
            section.card.empty { p { "No employee matches. Employees appear as soon as Okta pushes them." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Work email" } th { "Job title" } th { "Department" } th { "Status" } th { "Version" } th { "Updated" } } }
                tbody {
                    @for e in &list.data {
                        tr {
                            td { a href={ (base) "/" (e.id()) } { (e.name()) } }
                            td { (e.text("workEmail")) }
                            td { (e.text("jobTitle")) }
                            td { (e.text("department")) }
                            td { @if e.text("deletedAt").is_empty() { (e.text("employmentStatus")) } @else { span.badge.err { "deleted" } } }
                            td { (e.0.get("version").and_then(Value::as_i64).unwrap_or_default()) }
                            td { time datetime=(e.text("updatedAt")) { (e.text("updatedAt")) } }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if filters.cursor.is_some() { a.button.secondary href={ (base) "?" (filters.query().trim_start_matches('&')) } { "← First page" } }
            @if let Some(next) = &list.meta.next { a.button.secondary href={ (base) "?cursor=" (encode(next)) (filters.query()) } { "Next page →" } }
        }
    };
    Ok(page::render("Employees", Some(&session), Section::Consumers, body))
}

async fn employee(
    SignedIn(session): SignedIn,
    apis: web::Data<crate::api::Apis>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (consumer_id, employee_id) = (id(&path.0)?, id(&path.1)?);
    let c = consumer(&apis, &session, consumer_id).await?;
    let api = format!("/api/hris/employees/{employee_id}");
    let one: One<Employee> = read(
        Service::EmployeeStore,
        as_consumer(&apis, &session, consumer_id, Service::EmployeeStore, Method::GET, &api, None).await?,
    )?;
    let e = one.data;
    let fields: Vec<(&String, &Value)> = e
        .0
        .as_object()
        .map(|o| o.iter().filter(|(k, _)| !matches!(k.as_str(), "remoteData" | "groups" | "customFields")).collect())
        .unwrap_or_default();
    let groups = e.0.get("groups").and_then(Value::as_array).cloned().unwrap_or_default();
    let body = html! {
        p.crumbs {
            a href="/consumers" { "Consumers" } " / " a href={ "/consumers/" (consumer_id) } { (c.name) } " / "
            a href={ "/consumers/" (consumer_id) "/employees" } { "Employees" } " / " (e.name())
        }
        div.heading {
            h1 { (e.name()) }
            span.badge { "version " (e.0.get("version").and_then(Value::as_i64).unwrap_or_default()) }
        }
        div.cards {
            section.card {
                h2 { "Fields" }
                dl.facts {
                    @for (k, v) in &fields {
                        dt { (k) }
                        dd { @match v { Value::String(s) => (s), Value::Null => span.muted { "—" }, other => code { (other.to_string()) } } }
                    }
                }
            }
            section.card {
                h2 { "Groups" }
                @if groups.is_empty() { p.muted { "In no group." } } @else {
                    ul {
                        @for g in &groups {
                            @let gid = g.get("id").and_then(Value::as_str).unwrap_or_default();
                            li { a href={ "/consumers/" (consumer_id) "/employees?groupId=" (encode(gid)) } { (g.get("name").and_then(Value::as_str).unwrap_or(gid)) } }
                        }
                    }
                }
                h2 { "Custom fields" }
                (pretty(e.0.get("customFields").unwrap_or(&Value::Null)))
            }
        }
        section.card {
            h2 { "Raw SCIM resource (" code { "remoteData" } ")" }
            (pretty(e.0.get("remoteData").unwrap_or(&Value::Null)))
        }
    };
    Ok(page::render(&e.name(), Some(&session), Section::Consumers, body))
}

#[derive(Deserialize)]
struct Paging {
    cursor: Option<String>,
}

async fn groups(
    SignedIn(session): SignedIn,
    apis: web::Data<crate::api::Apis>,
    path: web::Path<String>,
    query: web::Query<Paging>,
) -> Result<HttpResponse, PageError> {
    let consumer_id = id(&path)?;
    let c = consumer(&apis, &session, consumer_id).await?;
    let mut api = "/api/hris/groups?limit=50".to_owned();
    if let Some(cursor) = &query.cursor {
        api.push_str(&format!("&cursor={}", encode(cursor)));
    }
    let list: Page<Group> = read(
        Service::EmployeeStore,
        as_consumer(&apis, &session, consumer_id, Service::EmployeeStore, Method::GET, &api, None).await?,
    )?;
    let base = format!("/consumers/{consumer_id}/groups");
    let body = html! {
        p.crumbs { a href="/consumers" { "Consumers" } " / " a href={ "/consumers/" (consumer_id) } { (c.name) } " / Groups" }
        h1 { "Groups of " (c.name) }
        @if list.data.is_empty() {
            section.card.empty { p { "No group yet. Groups appear when Okta pushes them (Push Groups)." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Members" } th { "Id" } th { "Updated" } } }
                tbody {
                    @for g in &list.data {
                        tr {
                            td {
                                a href={ "/consumers/" (consumer_id) "/employees?groupId=" (g.id) } { (g.name) }
                                @if g.deleted_at.is_some() { " " span.badge.err { "deleted" } }
                            }
                            td { (g.member_count.map(|n| n.to_string()).unwrap_or_default()) }
                            td title=(g.id) { code { (short(&g.id.to_string())) } }
                            td { time datetime=(g.updated_at) { (g.updated_at) } }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if query.cursor.is_some() { a.button.secondary href=(base) { "← First page" } }
            @if let Some(next) = &list.meta.next { a.button.secondary href={ (base) "?cursor=" (encode(next)) } { "Next page →" } }
        }
    };
    Ok(page::render("Groups", Some(&session), Section::Consumers, body))
}

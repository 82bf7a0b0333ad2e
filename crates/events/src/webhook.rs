//! The webhook body of an employee or group event: what the dispatcher signs and sends, and what
//! employee-store's events feed serves, built in this one place so the two never differ.

use chrono::{DateTime, Utc};
use prost::Message;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::model::Employee;
use crate::routing::EMPLOYEE_AND_GROUP;
use crate::v1::{EmployeeEvent, GroupEvent, Tenant};

/// An event that cannot become a webhook body (undecodable, or breaking the contract).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

fn invalid(what: impl std::fmt::Display) -> RenderError {
    RenderError(what.to_string())
}

/// An event as a webhook body, with the fields its consumers route and order by.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub event_id: Uuid,
    pub application_id: Uuid,
    pub consumer_id: Uuid,
    pub event_type: String,
    pub entity_id: String,
    pub version: i64,
    pub occurred_at: Option<DateTime<Utc>>,
    /// The contract's webhook body.
    pub body: Value,
}

/// The contract's webhook body (and an events-feed item): serialized from this type, which is
/// also its OpenAPI schema.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody<'a> {
    pub event_id: Uuid,
    /// `employee.created`, `employee.updated`, `employee.deleted`, `group.created`, …
    #[schema(example = "employee.created")]
    pub event_type: &'a str,
    /// Always `hris`.
    #[schema(example = "hris")]
    pub unified_api: &'a str,
    pub service_id: &'a str,
    pub consumer_id: &'a str,
    pub connection_id: &'a str,
    /// The employee's or group's id.
    pub entity_id: &'a str,
    /// `employee` or `group`.
    #[schema(example = "employee")]
    pub entity_type: &'a str,
    /// When the change happened (RFC 3339, milliseconds).
    #[serde(rename = "occurred_at")]
    pub occurred_at: Option<String>,
    /// The entity's version after this change; versions of one entity count up from 1.
    pub version: i64,
    /// The contract fields this change touched (every content field for a created entity).
    pub changed_fields: &'a [String],
    /// The entity as it is after the change: an Employee, or a Group for `group.*` events.
    #[schema(value_type = Object)]
    pub data: Value,
}

fn uuid(field: &str, s: &str) -> Result<Uuid, RenderError> {
    Uuid::parse_str(s).map_err(|_| invalid(format!("{field} is not a UUID: {s:?}")))
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
}

fn timestamp(t: Option<&prost_types::Timestamp>) -> Option<String> {
    time(t).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The body of the event published under `routing_key` as protobuf `body`.
pub fn render(routing_key: &str, body: &[u8]) -> Result<WebhookEvent, RenderError> {
    if routing_key.starts_with("group.") {
        let e = GroupEvent::decode(body).map_err(|e| invalid(format!("undecodable GroupEvent: {e}")))?;
        return group(&e);
    }
    let e = EmployeeEvent::decode(body).map_err(|e| invalid(format!("undecodable EmployeeEvent: {e}")))?;
    employee(&e)
}

/// The body of a decoded employee event.
pub fn employee(e: &EmployeeEvent) -> Result<WebhookEvent, RenderError> {
    let tenant = e.tenant.as_ref().ok_or_else(|| invalid("EmployeeEvent without tenant"))?;
    let proto = e.employee.as_ref().ok_or_else(|| invalid("EmployeeEvent without employee"))?;
    let employee = Employee::from(proto);
    let data = serde_json::to_value(&employee).map_err(invalid)?;
    let head = Head { id: &e.event_id, kind: &e.event_type, occurred_at: e.occurred_at.as_ref(), version: e.version };
    finish(head, tenant, "employee", &employee.id, &e.changed_fields, data)
}

/// The body of a decoded group event.
pub fn group(e: &GroupEvent) -> Result<WebhookEvent, RenderError> {
    let tenant = e.tenant.as_ref().ok_or_else(|| invalid("GroupEvent without tenant"))?;
    let g = e.group.as_ref().ok_or_else(|| invalid("GroupEvent without group"))?;
    let data = json!({
        "id": g.id, "remoteId": g.remote_id, "name": g.name, "memberIds": g.member_ids,
        "createdAt": timestamp(g.created_at.as_ref()), "updatedAt": timestamp(g.updated_at.as_ref()),
        "deletedAt": timestamp(g.deleted_at.as_ref()),
    });
    let head = Head { id: &e.event_id, kind: &e.event_type, occurred_at: e.occurred_at.as_ref(), version: e.version };
    finish(head, tenant, "group", &g.id, &e.changed_fields, data)
}

struct Head<'a> {
    id: &'a str,
    kind: &'a str,
    occurred_at: Option<&'a prost_types::Timestamp>,
    version: u64,
}

fn finish(
    head: Head<'_>,
    tenant: &Tenant,
    entity_type: &str,
    entity_id: &str,
    changed: &[String],
    data: Value,
) -> Result<WebhookEvent, RenderError> {
    let event_id = uuid("event_id", head.id)?;
    let application_id = uuid("application_id", &tenant.application_id)?;
    let consumer_id = uuid("consumer_id", &tenant.consumer_id)?;
    let version = i64::try_from(head.version).map_err(|_| invalid("version out of range"))?;
    if !EMPLOYEE_AND_GROUP.contains(&head.kind) {
        return Err(invalid(format!("unknown event type {:?}", head.kind)));
    }
    let body = WebhookBody {
        event_id,
        event_type: head.kind,
        unified_api: "hris",
        service_id: &tenant.service_id,
        consumer_id: &tenant.consumer_id,
        connection_id: &tenant.connection_id,
        entity_id,
        entity_type,
        occurred_at: timestamp(head.occurred_at),
        version,
        changed_fields: changed,
        data,
    };
    let body = serde_json::to_value(&body).map_err(invalid)?;
    Ok(WebhookEvent {
        event_id,
        application_id,
        consumer_id,
        event_type: head.kind.to_owned(),
        entity_id: entity_id.to_owned(),
        version,
        occurred_at: time(head.occurred_at),
        body,
    })
}

#[cfg(test)]
mod tests {
    use crate::v1;

    use super::*;

    #[test]
    fn employee_events_render_to_the_contract_body() {
        let id = Uuid::now_v7().to_string();
        let event = EmployeeEvent {
            event_id: id.clone(),
            event_type: "employee.updated".into(),
            tenant: Some(v1::Tenant {
                application_id: Uuid::now_v7().to_string(),
                consumer_id: Uuid::now_v7().to_string(),
                connection_id: "k".into(),
                service_id: "okta-scim".into(),
            }),
            occurred_at: Some(prost_types::Timestamp { seconds: 1_700_000_000, nanos: 0 }),
            version: 2,
            changed_fields: vec!["employmentStatus".into()],
            employee: Some(v1::Employee { id: "e1".into(), version: 2, ..Default::default() }),
        };
        let r = render("employee.updated", &event.encode_to_vec()).expect("renders");
        let body = r.body;
        let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "eventId",
                "eventType",
                "unifiedApi",
                "serviceId",
                "consumerId",
                "connectionId",
                "entityId",
                "entityType",
                "occurred_at",
                "version",
                "changedFields",
                "data"
            ]
        );
        assert_eq!(body["eventId"], id);
        assert_eq!(body["unifiedApi"], "hris");
        assert_eq!(body["entityType"], "employee");
        assert_eq!(body["entityId"], "e1");
        assert_eq!(body["occurred_at"], "2023-11-14T22:13:20.000Z");
        assert_eq!(body["data"]["id"], "e1");
        assert_eq!(body["version"], 2);
    }

    #[test]
    fn group_events_render_with_the_group_as_data() {
        let event = GroupEvent {
            event_id: Uuid::now_v7().to_string(),
            event_type: "group.updated".into(),
            tenant: Some(v1::Tenant {
                application_id: Uuid::now_v7().to_string(),
                consumer_id: Uuid::now_v7().to_string(),
                ..Default::default()
            }),
            occurred_at: None,
            version: 3,
            changed_fields: vec!["memberIds".into()],
            group: Some(v1::Group {
                id: "g1".into(),
                name: "Engineering".into(),
                member_ids: vec!["e1".into()],
                ..Default::default()
            }),
        };
        let r = render("group.updated", &event.encode_to_vec()).expect("renders");
        let body = &r.body;
        assert_eq!((body["entityType"].as_str(), body["entityId"].as_str()), (Some("group"), Some("g1")));
        assert_eq!(body["data"]["memberIds"], json!(["e1"]));
        assert_eq!(body["data"]["name"], "Engineering");
        assert_eq!((r.entity_id.as_str(), r.version), ("g1", 3));
    }

    #[test]
    fn garbage_and_unknown_types_are_refused() {
        assert!(render("employee.created", b"\xff\xff").is_err());
        let event = GroupEvent { event_type: "group.renamed".into(), ..Default::default() };
        assert!(render("group.renamed", &event.encode_to_vec()).is_err());
    }
}

//! The event catalog: every event type a webhook can subscribe to, with an example body rendered
//! by the same code that renders real deliveries (`uapi_events::webhook`), and the JSON schemas of
//! the body and its `data`.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use uapi_events::routing;
use uapi_events::v1::{self, EmployeeEvent, GroupEvent, Tenant};
use uapi_events::webhook::{self, WebhookBody};
use utoipa::OpenApi;

/// The event type a subscription receives from `POST /api/webhooks/{id}/test`.
pub const WEBHOOK_TEST: &str = "webhook.test";

/// One event type of the catalog.
pub struct EventType {
    pub name: &'static str,
    pub summary: &'static str,
    pub example: Value,
}

/// Every event type, in the contract's order, then the test event.
pub fn event_types() -> Vec<EventType> {
    let summary = |name: &str| match name {
        routing::EMPLOYEE_CREATED => "Okta created a user: the new employee, every field in changedFields.",
        routing::EMPLOYEE_UPDATED => {
            "An employee's fields changed (deactivation is employmentStatus INACTIVE; a membership change updates groups)."
        }
        routing::EMPLOYEE_DELETED => "Okta deleted a user: the employee as last known, with deletedAt set.",
        routing::GROUP_CREATED => "Okta pushed a new group.",
        routing::GROUP_UPDATED => "A group's name or members changed.",
        routing::GROUP_DELETED => "Okta deleted a group.",
        _ => "",
    };
    let mut types: Vec<EventType> = routing::EMPLOYEE_AND_GROUP
        .into_iter()
        .map(|name| EventType { name, summary: summary(name), example: example(name) })
        .collect();
    types.push(EventType {
        name: WEBHOOK_TEST,
        summary: "Sent on request (the portal's \"Send test event\"), to check an endpoint and its signature check.",
        // As webhook-dispatcher sends it: a test belongs to no consumer or connection.
        example: json!({
            "eventId": "0193a4b2-7c1e-7d2a-9f00-5b6c7d8e9f01",
            "eventType": WEBHOOK_TEST,
            "unifiedApi": "hris",
            "serviceId": "",
            "consumerId": "",
            "connectionId": "",
            "entityId": "0193a4b2-0000-7000-8000-00000000aaaa",
            "entityType": "webhook",
            "occurred_at": "2026-12-07T09:30:00.000Z",
            "version": 1,
            "changedFields": [],
            "data": {"webhookId": "0193a4b2-0000-7000-8000-00000000aaaa", "message": "This is a test event from uapi-hris."}
        }),
    });
    types
}

fn tenant() -> Tenant {
    Tenant {
        application_id: "0193a4b2-0000-7000-8000-000000000001".into(),
        consumer_id: "0193a4b2-0000-7000-8000-000000000002".into(),
        connection_id: "0193a4b2-0000-7000-8000-000000000003".into(),
        service_id: "okta-scim".into(),
    }
}

fn at(minute: u32) -> Option<prost_types::Timestamp> {
    let t = Utc.with_ymd_and_hms(2026, 12, 7, 9, minute, 0).single()?;
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 })
}

/// The body a subscriber receives for `event_type`, rendered from an example event.
fn example(event_type: &str) -> Value {
    let rendered = if event_type.starts_with("group.") {
        let deleted = event_type == routing::GROUP_DELETED;
        let event = GroupEvent {
            event_id: "0193a4b2-7c1e-7d2a-9f00-5b6c7d8e9f02".into(),
            event_type: event_type.into(),
            tenant: Some(tenant()),
            occurred_at: at(31),
            version: if event_type == routing::GROUP_CREATED { 1 } else { 2 },
            changed_fields: vec!["name".into()],
            group: Some(v1::Group {
                id: "0193a4b2-0000-7000-8000-000000000061".into(),
                remote_id: Some("00g1emaKYZTWRYYRRTSK".into()),
                name: "Engineering".into(),
                created_at: at(0),
                updated_at: at(31),
                deleted_at: if deleted { at(31) } else { None },
                ..v1::Group::default()
            }),
        };
        webhook::group(&event)
    } else {
        let deleted = event_type == routing::EMPLOYEE_DELETED;
        let updated = event_type == routing::EMPLOYEE_UPDATED;
        let event = EmployeeEvent {
            event_id: "0193a4b2-7c1e-7d2a-9f00-5b6c7d8e9f03".into(),
            event_type: event_type.into(),
            tenant: Some(tenant()),
            occurred_at: at(30),
            version: if event_type == routing::EMPLOYEE_CREATED { 1 } else { 2 },
            changed_fields: if updated { vec!["jobTitle".into()] } else { vec![] },
            employee: Some(v1::Employee {
                id: "0193a4b2-0000-7000-8000-000000000010".into(),
                remote_id: Some("00u1ab2cd3EF4gh5I6j7".into()),
                connection_id: tenant().connection_id,
                consumer_id: tenant().consumer_id,
                service_id: "okta-scim".into(),
                user_name: "ada.lovelace@example.com".into(),
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                display_name: Some("Ada Lovelace".into()),
                work_email: Some("ada.lovelace@example.com".into()),
                job_title: Some(if updated { "Principal Engineer" } else { "Engineer" }.into()),
                department: Some("Engineering".into()),
                employment_status: v1::EmploymentStatus::Active as i32,
                version: if event_type == routing::EMPLOYEE_CREATED { 1 } else { 2 },
                created_at: at(0),
                updated_at: at(30),
                deleted_at: if deleted { at(30) } else { None },
                ..v1::Employee::default()
            }),
        };
        webhook::employee(&event)
    };
    rendered.map(|e| e.body).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

#[derive(OpenApi)]
#[openapi(components(schemas(WebhookBody<'static>, uapi_events::model::Employee)))]
struct Schemas;

/// The JSON schemas of the webhook body and of an employee (its `data`), keyed by name.
pub fn schemas() -> Value {
    let doc = Schemas::openapi();
    doc.components.map(|c| serde_json::to_value(c.schemas).unwrap_or(Value::Null)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_rendered_body_of_its_type() {
        let types = event_types();
        assert_eq!(types.len(), routing::EMPLOYEE_AND_GROUP.len() + 1);
        for t in &types {
            assert_eq!(t.example["eventType"], t.name, "{}", t.example);
            assert!(t.example.get("error").is_none(), "{}", t.example);
            assert!(!t.summary.is_empty(), "{}", t.name);
        }
        let schemas = schemas();
        assert!(schemas.get("WebhookBody").is_some(), "{schemas}");
        assert!(schemas.get("Employee").is_some(), "{schemas}");
    }
}

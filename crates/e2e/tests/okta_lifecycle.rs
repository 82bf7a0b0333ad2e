//! Okta's user lifecycle against the running services, asserting after each step the SCIM
//! response, the employee in the read API and the event on the wire.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::BasicAckOptions;
use prost::Message;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Stack, StackOptions, Tenant};
use uapi_events::v1::EmployeeEvent;

async fn next_event(tap: &mut lapin::Consumer) -> EmployeeEvent {
    let d = tokio::time::timeout(Duration::from_secs(10), tap.next())
        .await
        .expect("an event within 10 s")
        .expect("open")
        .expect("delivery");
    d.ack(BasicAckOptions::default()).await.expect("ack");
    // Every event carries a W3C trace context, exporter or not.
    let headers = d.properties.headers().as_ref().expect("headers");
    let traceparent = headers.inner().iter().find(|(k, _)| k.as_str() == "traceparent").map(|(_, v)| v);
    match traceparent {
        Some(lapin::types::AMQPValue::LongString(s)) => {
            let s = String::from_utf8_lossy(s.as_bytes()).into_owned();
            let parts: Vec<&str> = s.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [2, 32, 16, 2], "{s}");
        }
        other => panic!("no traceparent header: {other:?}"),
    }
    EmployeeEvent::decode(d.data.as_slice()).expect("protobuf EmployeeEvent")
}

async fn no_event(tap: &mut lapin::Consumer) {
    if let Ok(Some(Ok(d))) = tokio::time::timeout(Duration::from_millis(700), tap.next()).await {
        let e = EmployeeEvent::decode(d.data.as_slice()).expect("protobuf");
        panic!("unexpected event {} v{} {:?}", e.event_type, e.version, e.changed_fields);
    }
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(ct.starts_with("application/scim+json"), "content-type {ct}");
    res.json().await.expect("json")
}

fn okta_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Test.User@okta.local",
        "name": { "givenName": "Test", "familyName": "User" },
        "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

async fn lifecycle(stack: &Stack, t: &Tenant, tap: &mut lapin::Consumer) {
    // 1. Existence check: 200, empty ListResponse with integer fields.
    let list = json_of(
        stack.scim_get(t, "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100").await,
        200,
    )
    .await;
    assert_eq!(
        list,
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": [] })
    );

    // 2. Create: 201, Location, userName case preserved, no password echoed.
    let res = stack.scim_send(t, Method::POST, "/Users", &okta_user()).await;
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let created = json_of(res, 201).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(location.as_deref(), created["meta"]["location"].as_str());
    assert_eq!(created["userName"], "Test.User@okta.local");
    assert!(created.get("password").is_none());
    assert_eq!(created["active"], true);
    let event = next_event(tap).await;
    assert_eq!((event.event_type.as_str(), event.version), ("employee.created", 1));
    assert!(event.changed_fields.contains(&"workEmail".to_owned()));
    let employee = stack.wait_employee(t, &id, |e| e["version"] == 1).await;
    assert_eq!(employee["employmentStatus"], "ACTIVE");
    assert_eq!(employee["remoteId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(employee["workEmail"], "test.user@okta.local");
    assert_eq!(employee["consumerId"], t.consumer_id.as_str());
    assert!(employee["remoteData"].get("password").is_none());

    // The existence check now finds it, whatever the case (same comparison as the 409 check).
    let found =
        json_of(stack.scim_get(t, "/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22").await, 200).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let dup = stack.scim_send(t, Method::POST, "/Users", &json!({ "userName": "test.user@OKTA.local" })).await;
    let dup = json_of(dup, 409).await;
    assert_eq!((dup["status"].as_str(), dup["scimType"].as_str()), (Some("409"), Some("uniqueness")));

    // 3. Read.
    let read = json_of(stack.scim_get(t, &format!("/Users/{id}")).await, 200).await;
    assert_eq!(read, created);

    // 4. PUT a profile change (Okta echoes id, meta and groups).
    let mut changed = read.clone();
    changed["name"]["givenName"] = json!("Testupdate");
    changed["title"] = json!("Engineer");
    let put = json_of(stack.scim_send(t, Method::PUT, &format!("/Users/{id}"), &changed).await, 200).await;
    assert_eq!(put["name"]["givenName"], "Testupdate");
    let event = next_event(tap).await;
    assert_eq!((event.event_type.as_str(), event.version), ("employee.updated", 2));
    assert_eq!(event.changed_fields, vec!["firstName", "jobTitle", "remoteData"]);
    let employee = stack.wait_employee(t, &id, |e| e["version"] == 2).await;
    assert_eq!((employee["firstName"].as_str(), employee["jobTitle"].as_str()), (Some("Testupdate"), Some("Engineer")));

    // 5. The identical PUT again: 200 and no event, no new version.
    let again = json_of(stack.scim_send(t, Method::PUT, &format!("/Users/{id}"), &changed).await, 200).await;
    assert_eq!(again["meta"]["version"], put["meta"]["version"]);
    no_event(tap).await;

    // 6. PATCH deactivate (OIN flavour).
    let deactivate = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "value": { "active": false } }] });
    let patched = json_of(stack.scim_send(t, Method::PATCH, &format!("/Users/{id}"), &deactivate).await, 200).await;
    assert_eq!(patched["active"], false);
    let event = next_event(tap).await;
    assert_eq!((event.event_type.as_str(), event.version), ("employee.updated", 3));
    assert_eq!(event.changed_fields, vec!["employmentStatus", "remoteData"]);
    let employee = stack.wait_employee(t, &id, |e| e["version"] == 3).await;
    assert_eq!(employee["employmentStatus"], "INACTIVE");
    // Still readable over SCIM, inactive.
    assert_eq!(json_of(stack.scim_get(t, &format!("/Users/{id}")).await, 200).await["active"], false);
    // Deactivating twice is a 200 and changes nothing.
    json_of(stack.scim_send(t, Method::PATCH, &format!("/Users/{id}"), &deactivate).await, 200).await;
    no_event(tap).await;

    // 7. PATCH reactivate: same id, active again.
    let reactivate = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "value": { "active": true } }] });
    let patched = json_of(stack.scim_send(t, Method::PATCH, &format!("/Users/{id}"), &reactivate).await, 200).await;
    assert_eq!((patched["id"].as_str(), patched["active"].as_bool()), (Some(id.as_str()), Some(true)));
    let event = next_event(tap).await;
    assert_eq!(
        (event.version, event.changed_fields.clone()),
        (4, vec!["employmentStatus".to_owned(), "remoteData".to_owned()])
    );
    stack.wait_employee(t, &id, |e| e["version"] == 4 && e["employmentStatus"] == "ACTIVE").await;

    // 8. PUT-based deactivation (AIW flavour): GET, then PUT the whole user with active=false.
    let mut current = json_of(stack.scim_get(t, &format!("/Users/{id}")).await, 200).await;
    current["active"] = json!(false);
    let put = json_of(stack.scim_send(t, Method::PUT, &format!("/Users/{id}"), &current).await, 200).await;
    assert_eq!(put["active"], false);
    let event = next_event(tap).await;
    assert_eq!((event.event_type.as_str(), event.version), ("employee.updated", 5));
    assert_eq!(event.changed_fields, vec!["employmentStatus", "remoteData"]);
    let employee = stack.wait_employee(t, &id, |e| e["version"] == 5).await;
    assert_eq!(employee["employmentStatus"], "INACTIVE");

    // The list endpoint shows it, filtered by status and email.
    let list: Value = stack
        .hris(t, "/api/hris/employees?employmentStatus=INACTIVE&workEmail=TEST.USER%40okta.local")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["meta"]["next"], Value::Null);
}

#[tokio::test]
async fn okta_user_lifecycle_end_to_end() {
    let stack = Stack::start(StackOptions::default()).await;
    let (mut events, _tap) = support::tap(&stack.exchange).await;
    let t = stack.tenant("Acme").await;
    lifecycle(&stack, &t, &mut events).await;

    // Another consumer sees none of it, over SCIM or the employees API.
    let other = stack.tenant("Globex").await;
    let list = json_of(stack.scim_get(&other, "/Users").await, 200).await;
    assert_eq!(list["totalResults"], 0);
    let employees: Value = stack.hris(&other, "/api/hris/employees").await.json().await.expect("json");
    assert_eq!(employees["data"], json!([]));
    stack.shutdown().await;
}

//! Okta's group push end to end: SCIM `/Groups` calls with Okta's headers, then the groups and the
//! members' `groups` in the HRIS API (list, get, `groupId` filter, another consumer's 404), and the
//! `group.created` and `employee.updated` (`changedFields: ["groups"]`) webhooks.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::receiver::{receiver, wait_for};
use support::{Stack, StackOptions, Tenant};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn patch(operations: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations })
}

async fn scim_ok(stack: &Stack, t: &Tenant, method: Method, path: &str, body: &Value, status: u16) -> Value {
    let res = stack.scim_send(t, method, path, body).await;
    assert_eq!(res.status().as_u16(), status, "{path}");
    res.json().await.expect("json")
}

async fn user(stack: &Stack, t: &Tenant, name: &str) -> String {
    let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("{name}@okta.local"),
                       "name": { "givenName": name, "familyName": "Test" }, "active": true });
    scim_ok(stack, t, Method::POST, "/Users", &body, 201).await["id"].as_str().expect("id").to_owned()
}

async fn hris_json(stack: &Stack, t: &Tenant, path: &str, status: u16) -> Value {
    let res = stack.hris(t, path).await;
    assert_eq!(res.status().as_u16(), status, "{path}");
    res.json().await.expect("json")
}

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().expect("data").iter().map(|e| e["id"].as_str().expect("id").to_owned()).collect()
}

#[tokio::test]
async fn okta_group_push_reaches_the_hris_api_and_webhooks() {
    let stack = Stack::start(StackOptions { webhooks: true, ..Default::default() }).await;
    let t = stack.tenant("Groups").await;
    let other = stack.tenant("Elsewhere").await;
    let (url, inbox) = receiver();
    stack.subscribe(&t, &url, &["group.created", "employee.updated"]).await;
    let (alice, bob) = (user(&stack, &t, "alice").await, user(&stack, &t, "bob").await);

    // Okta: look the group up, create it empty, then push its members.
    let lookup = stack.scim_get(&t, "/Groups?filter=displayName%20eq%20%22Engineering%22&startIndex=1&count=100").await;
    assert_eq!(lookup.json::<Value>().await.expect("json")["totalResults"], 0);
    let body = json!({ "schemas": [GROUP], "displayName": "Engineering", "members": [] });
    let gid = scim_ok(&stack, &t, Method::POST, "/Groups", &body, 201).await["id"].as_str().expect("id").to_owned();
    let add = patch(json!([{ "op": "add", "path": "members", "value": [
        { "value": alice, "display": "alice@okta.local" }, { "value": bob, "display": "bob@okta.local" }] }]));
    scim_ok(&stack, &t, Method::PATCH, &format!("/Groups/{gid}"), &add, 200).await;

    let mut members = vec![alice.clone(), bob.clone()];
    members.sort();
    let group = stack.wait_group(&t, &gid, |g| g["memberIds"] == json!(members)).await;
    assert_eq!((group["name"].as_str(), group["remoteId"].clone()), (Some("Engineering"), Value::Null));
    assert!(group["createdAt"].is_string() && group["updatedAt"].is_string() && group["deletedAt"].is_null());
    let engineering = json!([{ "id": gid, "name": "Engineering" }]);
    for id in [&alice, &bob] {
        stack.wait_employee(&t, id, |e| e["groups"] == engineering && e["version"] == 2).await;
    }
    let in_group = hris_json(&stack, &t, &format!("/api/hris/employees?groupId={gid}"), 200).await;
    assert_eq!(ids(&in_group), members);

    // Rename (with the id inside value, as Okta sends it) and remove one member by filter.
    let rename = patch(json!([
        { "op": "replace", "value": { "id": gid, "displayName": "Platform" } },
        { "op": "remove", "path": format!("members[value eq \"{bob}\"]") }
    ]));
    scim_ok(&stack, &t, Method::PATCH, &format!("/Groups/{gid}"), &rename, 200).await;
    stack.wait_group(&t, &gid, |g| g["name"] == "Platform" && g["memberIds"] == json!([alice])).await;
    stack.wait_employee(&t, &alice, |e| e["groups"] == json!([{ "id": gid, "name": "Platform" }])).await;
    stack.wait_employee(&t, &bob, |e| e["groups"] == json!([])).await;
    assert_eq!(
        ids(&hris_json(&stack, &t, &format!("/api/hris/employees?groupId={gid}"), 200).await),
        vec![alice.clone()]
    );

    // Lists page with a cursor; another consumer sees none of it.
    for name in ["Sales", "Support"] {
        let body = json!({ "schemas": [GROUP], "displayName": name });
        let id = scim_ok(&stack, &t, Method::POST, "/Groups", &body, 201).await["id"].as_str().expect("id").to_owned();
        stack.wait_group(&t, &id, |g| g["name"] == name).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/hris/groups?limit=2".to_owned();
    loop {
        let page = hris_json(&stack, &t, &path, 200).await;
        seen.extend(ids(&page));
        match page["meta"]["next"].as_str() {
            Some(next) => path = format!("/api/hris/groups?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], gid, "ordered by id, and the first group is the oldest");
    hris_json(&stack, &other, &format!("/api/hris/groups/{gid}"), 404).await;
    assert_eq!(hris_json(&stack, &other, "/api/hris/groups", 200).await["data"], json!([]));
    assert_eq!(hris_json(&stack, &other, &format!("/api/hris/employees?groupId={gid}"), 200).await["data"], json!([]));

    // Delete: the group is gone (visible with includeDeleted) and nobody is in it.
    assert_eq!(stack.scim_send(&t, Method::DELETE, &format!("/Groups/{gid}"), &json!({})).await.status(), 204);
    let gone = stack.wait_group(&t, &gid, |g| g["deletedAt"].is_string()).await;
    assert_eq!(gone["memberIds"], json!([alice]));
    hris_json(&stack, &t, &format!("/api/hris/groups/{gid}"), 404).await;
    stack.wait_employee(&t, &alice, |e| e["groups"] == json!([])).await;

    // The webhooks: group.created for each group, employee.updated with changedFields ["groups"].
    let got = wait_for(&inbox, 3 + 5).await;
    let bodies: Vec<Value> = got.iter().map(|(_, b)| serde_json::from_slice(b).expect("json")).collect();
    let created = bodies.iter().find(|b| b["eventType"] == "group.created" && b["entityId"] == gid.as_str());
    let created = created.expect("group.created delivered");
    assert_eq!((created["entityType"].as_str(), created["version"].as_i64()), (Some("group"), Some(1)));
    assert_eq!(
        (created["data"]["name"].as_str(), created["data"]["memberIds"].clone()),
        (Some("Engineering"), json!([]))
    );
    let joined = bodies
        .iter()
        .find(|b| b["eventType"] == "employee.updated" && b["entityId"] == alice.as_str() && b["version"] == 2)
        .expect("alice's employee.updated delivered");
    assert_eq!(joined["changedFields"], json!(["groups"]));
    assert_eq!(joined["data"]["groups"], engineering);
    assert_eq!(joined["consumerId"], t.consumer_id.as_str());
    stack.shutdown().await;
}

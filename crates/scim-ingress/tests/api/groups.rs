//! Okta's group push (okta-scim.md §1.10, OIN QA C9312–C9333) step by step with Okta's headers and
//! bodies: each response, and the events each step writes (`group.*` and the members'
//! `employee.updated` with `changedFields: ["groups"]`).

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{Conn, Event, TestApp, assert_scim_error, spawn_app};

pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub(crate) fn patch(operations: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": operations })
}

/// Members as Okta sends them: the SCIM user id and a display name.
pub(crate) fn members(ids: &[&str]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "value": id, "display": format!("{id}@okta.local") })).collect())
}

pub(crate) async fn scim_json(res: Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(ct.starts_with("application/scim+json"), "content-type {ct}");
    res.json().await.expect("json")
}

pub(crate) fn member_values(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().expect("value").to_owned())
        .collect()
}

pub(crate) async fn create_group(app: &TestApp, c: &Conn, name: &str, with: &[&str]) -> String {
    let body = json!({ "schemas": [GROUP], "displayName": name, "members": members(with) });
    let created = scim_json(app.okta(c, Method::POST, "/Groups", Some(&body)).await, 201).await;
    created["id"].as_str().expect("id").to_owned()
}

/// The events written since the first `seen`, and how many there are now.
pub(crate) async fn new_events(app: &TestApp, seen: &mut usize) -> Vec<Event> {
    let all = app.events().await;
    let fresh = all[*seen..].to_vec();
    *seen = all.len();
    fresh
}

/// Asserts one `employee.updated` for the groups of `id`, and returns its `groups`.
pub(crate) fn groups_update(e: &Event, id: &str, version: u64) -> Value {
    assert_eq!((e.kind.as_str(), e.id.as_str(), e.version), ("employee.updated", id, version), "{e:?}");
    assert_eq!(e.changed, ["groups"]);
    e.data["groups"].clone()
}

pub(crate) fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn okta_lookup_then_create_an_empty_group() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let lookup = "/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100";
    let none = scim_json(app.okta(&c, Method::GET, lookup, None).await, 200).await;
    assert_eq!(
        none,
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": [] })
    );

    let body = json!({ "schemas": [GROUP], "displayName": "Test SCIMv2", "members": [] });
    let res = app.okta(&c, Method::POST, "/Groups", Some(&body)).await;
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let created = scim_json(res, 201).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!((created["schemas"].clone(), created["displayName"].clone()), (json!([GROUP]), json!("Test SCIMv2")));
    assert_eq!(created["members"], json!([]));
    assert_eq!(created["meta"]["resourceType"], "Group");
    assert_eq!(location.as_deref(), created["meta"]["location"].as_str());
    assert!(location.is_some_and(|l| l.ends_with(&format!("/scim/v2/Groups/{id}"))));

    // The lookup finds it now, whatever the case.
    let found =
        scim_json(app.okta(&c, Method::GET, "/Groups?filter=DISPLAYNAME%20EQ%20%22test%20scimv2%22", None).await, 200)
            .await;
    assert_eq!((found["totalResults"].as_i64(), found["Resources"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
    // A second group of the same name (any case) is a 409, as for userName.
    let dup = json!({ "schemas": [GROUP], "displayName": "TEST scimv2" });
    assert_scim_error(app.okta(&c, Method::POST, "/Groups", Some(&dup)).await, 409, Some("uniqueness")).await;
    // Members are optional on create.
    create_group(&app, &c, "No members key", &[]).await;

    let events = app.events().await;
    assert_eq!(events.len(), 2);
    let e = &events[0];
    assert_eq!((e.kind.as_str(), e.id.as_str(), e.version), ("group.created", id.as_str(), 1));
    assert_eq!(e.changed, ["id", "remoteId", "name", "memberIds"]);
    assert_eq!((e.data["name"].clone(), e.data["memberIds"].clone()), (json!("Test SCIMv2"), json!([])));
    app.shutdown().await;
}

#[tokio::test]
async fn okta_membership_patch_appends_and_removes_only_the_named_member() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob, carol) = (app.user(&c, "alice").await, app.user(&c, "bob").await, app.user(&c, "carol").await);
    let gid = create_group(&app, &c, "Engineering", &[]).await;
    let mut seen = app.events().await.len();
    let path = format!("/Groups/{gid}");

    let add = patch(json!([{ "op": "add", "path": "members", "value": members(&[&alice, &bob]) }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&add)).await, 200).await;
    assert_eq!(member_values(&group), sorted(&[&alice, &bob]));
    assert_eq!(group["members"][0]["type"], "User");
    let events = new_events(&app, &mut seen).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!((events[0].kind.as_str(), events[0].version), ("group.updated", 2));
    assert_eq!(
        (events[0].changed.clone(), events[0].data["memberIds"].clone()),
        (vec!["memberIds".to_owned()], json!(sorted(&[&alice, &bob])))
    );
    assert_eq!(groups_update(&events[1], &alice, 2), json!([{ "id": gid, "name": "Engineering" }]));
    assert_eq!(groups_update(&events[2], &bob, 2), json!([{ "id": gid, "name": "Engineering" }]));

    // Add appends and de-duplicates: alice again and carol; only carol's employee changes.
    let add = patch(json!([{ "op": "add", "path": "members", "value": members(&[&alice, &carol]) }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&add)).await, 200).await;
    assert_eq!(member_values(&group), sorted(&[&alice, &bob, &carol]));
    let events = new_events(&app, &mut seen).await;
    assert_eq!(
        events.iter().map(|e| (e.kind.as_str(), e.id.as_str())).collect::<Vec<_>>(),
        [("group.updated", gid.as_str()), ("employee.updated", carol.as_str())]
    );

    // Okta's update: remove one member by filter, with the name it sends alongside every update.
    let update = patch(json!([
        { "op": "remove", "path": format!("members[value eq \"{bob}\"]") },
        { "op": "replace", "value": { "id": gid, "displayName": "Engineering" } }
    ]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&update)).await, 200).await;
    assert_eq!(member_values(&group), sorted(&[&alice, &carol]));
    let events = new_events(&app, &mut seen).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!((events[0].version, events[0].changed.clone()), (4, vec!["memberIds".to_owned()]));
    assert_eq!(groups_update(&events[1], &bob, 3), json!([]));

    // Removing a member that is not there again is a no-op, and so is adding one that is.
    let again = patch(json!([
        { "op": "remove", "path": format!("members[value eq \"{bob}\"]") },
        { "op": "add", "path": "members", "value": members(&[&alice]) }
    ]));
    scim_json(app.okta(&c, Method::PATCH, &path, Some(&again)).await, 200).await;
    assert!(new_events(&app, &mut seen).await.is_empty());
    let read = scim_json(app.okta(&c, Method::GET, &path, None).await, 200).await;
    assert_eq!((read["meta"]["version"].as_str(), member_values(&read)), (Some("W/\"4\""), sorted(&[&alice, &carol])));
    app.shutdown().await;
}

#[tokio::test]
async fn okta_rename_carries_the_group_id_inside_value() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob) = (app.user(&c, "alice").await, app.user(&c, "bob").await);
    let gid = create_group(&app, &c, "Test SCIMv2", &[&alice, &bob]).await;
    let mut seen = app.events().await.len();
    let path = format!("/Groups/{gid}");

    let rename = patch(json!([{ "op": "replace", "value": { "id": gid, "displayName": "Test SCIMv2 Renamed" } }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&rename)).await, 200).await;
    assert_eq!(group["displayName"], "Test SCIMv2 Renamed");
    let events = new_events(&app, &mut seen).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        (events[0].kind.as_str(), events[0].version, events[0].changed.clone()),
        ("group.updated", 2, vec!["name".to_owned()])
    );
    for (e, user) in events[1..].iter().zip([&alice, &bob]) {
        assert_eq!(groups_update(e, user, 3), json!([{ "id": gid, "name": "Test SCIMv2 Renamed" }]));
    }
    // The same name again (a refresh): 200, nothing written. Operators in any case work.
    let refresh = patch(json!([{ "op": "REPLACE", "value": { "id": gid, "displayName": "Test SCIMv2 Renamed" } }]));
    scim_json(app.okta(&c, Method::PATCH, &path, Some(&refresh)).await, 200).await;
    assert!(new_events(&app, &mut seen).await.is_empty());
    // Another id inside value is a change of `id`: refused, nothing changes.
    let other =
        patch(json!([{ "op": "replace", "value": { "id": uuid::Uuid::now_v7().to_string(), "displayName": "X" } }]));
    assert_scim_error(app.okta(&c, Method::PATCH, &path, Some(&other)).await, 400, Some("mutability")).await;
    // A pathed rename works too.
    let pathed = patch(json!([{ "op": "replace", "path": "displayName", "value": "Platform" }]));
    assert_eq!(
        scim_json(app.okta(&c, Method::PATCH, &path, Some(&pathed)).await, 200).await["displayName"],
        "Platform"
    );
    assert_eq!(new_events(&app, &mut seen).await.len(), 3);
    app.shutdown().await;
}

#[tokio::test]
async fn okta_push_now_replaces_all_members_including_with_none() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob, carol) = (app.user(&c, "alice").await, app.user(&c, "bob").await, app.user(&c, "carol").await);
    let gid = create_group(&app, &c, "Sales", &[&alice, &bob]).await;
    let mut seen = app.events().await.len();
    let path = format!("/Groups/{gid}");

    let push = patch(json!([{ "op": "replace", "path": "members", "value": members(&[&bob, &carol]) }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&push)).await, 200).await;
    assert_eq!(member_values(&group), sorted(&[&bob, &carol]));
    let events = new_events(&app, &mut seen).await;
    let touched: Vec<&str> = events[1..].iter().map(|e| e.id.as_str()).collect();
    assert_eq!(touched, sorted(&[&alice, &carol]), "bob stayed a member: no event for him");
    assert_eq!(
        groups_update(&events[1..].iter().find(|e| e.id == alice).expect("alice").clone(), &alice, 3),
        json!([])
    );

    let empty = patch(json!([{ "op": "replace", "path": "members", "value": [] }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&empty)).await, 200).await;
    assert_eq!(group["members"], json!([]));
    let events = new_events(&app, &mut seen).await;
    assert_eq!((events[0].data["memberIds"].clone(), events.len()), (json!([]), 3));
    app.shutdown().await;
}

#[tokio::test]
async fn aiw_put_replaces_name_and_members() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob) = (app.user(&c, "alice").await, app.user(&c, "bob").await);
    let gid = create_group(&app, &c, "Support", &[&alice]).await;
    let mut seen = app.events().await.len();
    let path = format!("/Groups/{gid}");
    let mut current = scim_json(app.okta(&c, Method::GET, &path, None).await, 200).await;
    current["displayName"] = json!("Support EMEA");
    current["members"] = members(&[&bob]);
    let put = scim_json(app.okta(&c, Method::PUT, &path, Some(&current)).await, 200).await;
    assert_eq!((put["displayName"].as_str(), member_values(&put)), (Some("Support EMEA"), vec![bob.clone()]));
    let events = new_events(&app, &mut seen).await;
    assert_eq!(events[0].changed, ["name", "memberIds"]);
    assert_eq!(groups_update(&events[1], &alice, 3), json!([]));
    assert_eq!(groups_update(&events[2], &bob, 2), json!([{ "id": gid, "name": "Support EMEA" }]));
    // The same PUT again changes nothing.
    scim_json(app.okta(&c, Method::PUT, &path, Some(&current)).await, 200).await;
    assert!(new_events(&app, &mut seen).await.is_empty());
    app.shutdown().await;
}

#[tokio::test]
async fn okta_get_can_exclude_members_and_delete_is_204() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let alice = app.user(&c, "alice").await;
    let gid = create_group(&app, &c, "Ops", &[&alice]).await;
    let path = format!("/Groups/{gid}");
    let read = scim_json(app.okta(&c, Method::GET, &path, None).await, 200).await;
    let member = &read["members"][0];
    assert_eq!(
        (member["value"].as_str(), member["display"].as_str(), member["type"].as_str()),
        (Some(alice.as_str()), Some("alice"), Some("User"))
    );
    assert!(member["$ref"].as_str().is_some_and(|r| r.ends_with(&format!("/scim/v2/Users/{alice}"))));
    let slim =
        scim_json(app.okta(&c, Method::GET, &format!("{path}?excludedAttributes=members"), None).await, 200).await;
    assert!(slim.get("members").is_none() && slim["displayName"] == "Ops");
    let list = scim_json(
        app.okta(&c, Method::GET, "/Groups?excludedAttributes=members&startIndex=1&count=100", None).await,
        200,
    )
    .await;
    assert!(list["Resources"][0].get("members").is_none() && list["totalResults"] == 1);

    let mut seen = app.events().await.len();
    let res = app.okta(&c, Method::DELETE, &path, None).await;
    assert_eq!(res.status(), 204);
    assert_scim_error(app.okta(&c, Method::GET, &path, None).await, 404, None).await;
    assert_scim_error(app.okta(&c, Method::DELETE, &path, None).await, 404, None).await;
    let events = new_events(&app, &mut seen).await;
    assert_eq!(groups_update(&events[0], &alice, 3), json!([]));
    let deleted = &events[1];
    assert_eq!(
        (deleted.kind.as_str(), deleted.version, deleted.changed.clone()),
        ("group.deleted", 2, vec!["deletedAt".to_owned()])
    );
    assert!(deleted.data["deletedAt"].is_string());
    assert_eq!(deleted.data["memberIds"], json!([alice]));
    // The user itself is still there, in no group.
    let user = scim_json(app.okta(&c, Method::GET, &format!("/Users/{alice}"), None).await, 200).await;
    assert_eq!(user["groups"], json!([]));
    app.shutdown().await;
}

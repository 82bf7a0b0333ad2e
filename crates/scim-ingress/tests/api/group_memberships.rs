//! Memberships seen from the users' side and beyond Okta's push: deleting a user, a user's own
//! writes keeping its groups, isolation between connections, Entra's and path-less member shapes,
//! and group lists.

use reqwest::Method;
use serde_json::json;

use crate::groups::{GROUP, create_group, member_values, members, new_events, patch, scim_json, sorted};
use crate::helpers::{assert_scim_error, spawn_app};

#[tokio::test]
async fn deleting_a_user_removes_it_from_its_groups() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob) = (app.user(&c, "alice").await, app.user(&c, "bob").await);
    let (g1, g2) =
        (create_group(&app, &c, "One", &[&alice, &bob]).await, create_group(&app, &c, "Two", &[&alice]).await);
    let mut seen = app.events().await.len();
    assert_eq!(app.okta(&c, Method::DELETE, &format!("/Users/{alice}"), None).await.status(), 204);
    let events = new_events(&app, &mut seen).await;
    let kinds: Vec<(&str, &str, u64)> = events.iter().map(|e| (e.kind.as_str(), e.id.as_str(), e.version)).collect();
    assert_eq!(
        kinds,
        [("employee.deleted", alice.as_str(), 4), ("group.updated", g1.as_str(), 2), ("group.updated", g2.as_str(), 2)]
    );
    assert_eq!(
        (events[1].changed.clone(), events[1].data["memberIds"].clone()),
        (vec!["memberIds".to_owned()], json!([bob]))
    );
    let one = scim_json(app.okta(&c, Method::GET, &format!("/Groups/{g1}"), None).await, 200).await;
    assert_eq!(member_values(&one), vec![bob]);
    app.shutdown().await;
}

#[tokio::test]
async fn users_keep_their_groups_when_okta_writes_them_and_show_them() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let alice = app.user(&c, "alice").await;
    let gid = create_group(&app, &c, "Design", &[&alice]).await;
    let user_path = format!("/Users/{alice}");
    let mut user = scim_json(app.okta(&c, Method::GET, &user_path, None).await, 200).await;
    let membership = &user["groups"][0];
    assert_eq!(
        (membership["value"].as_str(), membership["display"].as_str(), membership["type"].as_str()),
        (Some(gid.as_str()), Some("Design"), Some("direct"))
    );
    assert!(membership["$ref"].as_str().is_some_and(|r| r.ends_with(&format!("/scim/v2/Groups/{gid}"))));
    assert_eq!(user["groups"].as_array().map(Vec::len), Some(1));

    // Okta PUTs the user with `groups: []` (read-only, ignored) and PATCHes it: memberships stay.
    let mut seen = app.events().await.len();
    user["title"] = json!("Designer");
    user["groups"] = json!([]);
    let put = scim_json(app.okta(&c, Method::PUT, &user_path, Some(&user)).await, 200).await;
    assert_eq!(put["groups"][0]["value"], gid.as_str());
    let deactivate = patch(json!([{ "op": "replace", "value": { "active": false } }]));
    scim_json(app.okta(&c, Method::PATCH, &user_path, Some(&deactivate)).await, 200).await;
    let events = new_events(&app, &mut seen).await;
    assert_eq!(events.len(), 2);
    for e in &events {
        assert!(!e.changed.contains(&"groups".to_owned()), "{e:?}");
        assert_eq!(e.data["groups"], json!([{ "id": gid, "name": "Design" }]));
    }
    app.shutdown().await;
}

#[tokio::test]
async fn members_and_groups_stay_within_their_connection() {
    let app = spawn_app().await;
    let (c, other) = (app.connection().await, app.connection().await);
    let alice = app.user(&c, "alice").await;
    let stranger = app.user(&other, "stranger").await;
    let gid = create_group(&app, &c, "Mine", &[&alice]).await;
    let (events, groups) = (app.events().await.len(), app.group_count().await);

    // Another connection's user cannot be a member, on create, PATCH or PUT.
    let body = json!({ "schemas": [GROUP], "displayName": "Mixed", "members": members(&[&alice, &stranger]) });
    let err =
        assert_scim_error(app.okta(&c, Method::POST, "/Groups", Some(&body)).await, 400, Some("invalidValue")).await;
    assert!(err["detail"].as_str().is_some_and(|d| d.contains(&stranger)), "{err}");
    let add = patch(json!([{ "op": "add", "path": "members", "value": members(&[&stranger]) }]));
    assert_scim_error(
        app.okta(&c, Method::PATCH, &format!("/Groups/{gid}"), Some(&add)).await,
        400,
        Some("invalidValue"),
    )
    .await;
    // The other connection sees no group, and cannot read, change or delete this one.
    let list = scim_json(app.okta(&other, Method::GET, "/Groups", None).await, 200).await;
    assert_eq!(list["totalResults"], 0);
    let path = format!("/Groups/{gid}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(add.clone())),
        (Method::PUT, Some(json!({ "displayName": "X" }))),
        (Method::DELETE, None),
    ] {
        assert_scim_error(app.okta(&other, method, &path, body.as_ref()).await, 404, None).await;
    }
    let filtered = scim_json(
        app.okta(&other, Method::GET, &format!("/Groups?filter=members%20eq%20%22{alice}%22"), None).await,
        200,
    )
    .await;
    assert_eq!(filtered["totalResults"], 0);
    // The same name is free in another connection.
    create_group(&app, &other, "Mine", &[&stranger]).await;
    assert_eq!((app.events().await.len(), app.group_count().await), (events + 2, groups + 1));
    app.shutdown().await;
}

#[tokio::test]
async fn entra_and_path_less_member_shapes() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let (alice, bob, carol) = (app.user(&c, "alice").await, app.user(&c, "bob").await, app.user(&c, "carol").await);
    let gid = create_group(&app, &c, "Shapes", &[]).await;
    let path = format!("/Groups/{gid}");
    let values = |ids: &[&str]| json!(ids.iter().map(|i| json!({ "value": i })).collect::<Vec<_>>());

    // Path-less add with a members value object (Okta, keycloak-scim-server#101), capitalized ops (Entra).
    let add = patch(json!([{ "op": "Add", "value": { "members": values(&[&alice, &bob, &carol]) } }]));
    assert_eq!(member_values(&scim_json(app.okta(&c, Method::PATCH, &path, Some(&add)).await, 200).await).len(), 3);
    // Entra removes with `path: members` and the members to drop in `value`.
    let remove = patch(json!([{ "op": "Remove", "path": "members", "value": values(&[&bob]) }]));
    assert_eq!(
        member_values(&scim_json(app.okta(&c, Method::PATCH, &path, Some(&remove)).await, 200).await),
        sorted(&[&alice, &carol])
    );
    // Any other value filter selects among the members (display is the userName).
    let by_display = patch(json!([{ "op": "remove", "path": "members[display eq \"CAROL\"]" }]));
    assert_eq!(
        member_values(&scim_json(app.okta(&c, Method::PATCH, &path, Some(&by_display)).await, 200).await),
        vec![alice.clone()]
    );
    // `remove members` without a filter empties the group.
    let all = patch(json!([{ "op": "remove", "path": "members" }]));
    assert_eq!(scim_json(app.okta(&c, Method::PATCH, &path, Some(&all)).await, 200).await["members"], json!([]));
    // Path-less replace with name and members at once.
    let both = patch(json!([{ "op": "replace", "value": { "displayName": "Shapes 2", "members": values(&[&bob]) } }]));
    let group = scim_json(app.okta(&c, Method::PATCH, &path, Some(&both)).await, 200).await;
    assert_eq!((group["displayName"].as_str(), member_values(&group)), (Some("Shapes 2"), vec![bob.clone()]));
    // Members can be excluded from the PATCH response too.
    let slim = app.okta(&c, Method::PATCH, &format!("{path}?excludedAttributes=members"), Some(&add)).await;
    assert!(scim_json(slim, 200).await.get("members").is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn group_lists_page_in_creation_order_and_filter() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let alice = app.user(&c, "alice").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let with: &[&str] = if i % 2 == 0 { &[&alice] } else { &[] };
        ids.push(create_group(&app, &c, &format!("team-{i}"), with).await);
    }
    let page = scim_json(app.okta(&c, Method::GET, "/Groups?startIndex=2&count=2", None).await, 200).await;
    assert_eq!(
        (page["totalResults"].as_i64(), page["startIndex"].as_i64(), page["itemsPerPage"].as_i64()),
        (Some(5), Some(2), Some(2))
    );
    let got: Vec<&str> =
        page["Resources"].as_array().expect("array").iter().map(|g| g["id"].as_str().expect("id")).collect();
    assert_eq!(got, [ids[1].as_str(), ids[2].as_str()]);
    let query =
        |f: &str| format!("/Groups?filter={}", url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>());
    let of_alice =
        scim_json(app.okta(&c, Method::GET, &query(&format!("members[value eq \"{alice}\"]")), None).await, 200).await;
    assert_eq!(of_alice["totalResults"], 3);
    let sw = scim_json(
        app.okta(&c, Method::GET, &query("displayName sw \"TEAM-\" and not (displayName eq \"team-0\")"), None).await,
        200,
    )
    .await;
    assert_eq!(sw["totalResults"], 4);
    let by_id = scim_json(app.okta(&c, Method::GET, &query(&format!("id eq \"{}\"", ids[3])), None).await, 200).await;
    assert_eq!(by_id["Resources"][0]["displayName"], "team-3");
    let search = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "displayName eq \"team-4\"", "attributes": ["displayName"] });
    let found = scim_json(app.okta(&c, Method::POST, "/Groups/.search", Some(&search)).await, 200).await;
    assert_eq!(found["Resources"][0], json!({ "schemas": [GROUP], "id": ids[4], "displayName": "team-4" }));
    app.shutdown().await;
}

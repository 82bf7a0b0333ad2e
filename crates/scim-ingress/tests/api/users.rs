//! Okta's user traffic in detail: content types, auth header forms, pagination, PATCH shapes,
//! manager resolution and discovery.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn content_types_and_header_auth_are_lenient() {
    let app = spawn_app().await;
    let c = app.connection().await;
    for (i, ct) in
        [Some("application/json"), Some("application/scim+json; charset=utf-8"), None].into_iter().enumerate()
    {
        let mut req = app.client.post(format!("{}/Users", app.base)).header("Authorization", c.token.clone());
        if let Some(ct) = ct {
            req = req.header("Content-Type", ct);
        }
        let res =
            req.body(json!({ "userName": format!("ct{i}@example.com") }).to_string()).send().await.expect("request");
        assert_eq!(res.status(), 201, "content type {ct:?}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn pagination_is_one_based_stable_and_counts_everything() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let res = app
            .send(&c, Method::POST, "/Users", Some(&json!({ "userName": format!("p{i}@example.com") }).to_string()))
            .await;
        ids.push(res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned());
    }
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let page: Value = app
            .send(&c, Method::GET, &format!("/Users?startIndex={start}&count=3"), None)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(page["totalResults"], 7);
        assert_eq!(page["startIndex"], start);
        assert_eq!(page["itemsPerPage"], page["Resources"].as_array().map(Vec::len).unwrap_or(0));
        seen.extend(
            page["Resources"].as_array().expect("array").iter().map(|u| u["id"].as_str().expect("id").to_owned()),
        );
    }
    assert_eq!(seen, ids);
    let zero: Value = app.send(&c, Method::GET, "/Users?count=0", None).await.json().await.expect("json");
    assert_eq!((zero["totalResults"].as_i64(), zero["Resources"].as_array().map(Vec::len)), (Some(7), Some(0)));
    let beyond: Value = app.send(&c, Method::GET, "/Users?startIndex=100", None).await.json().await.expect("json");
    assert_eq!(beyond["Resources"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn patch_shapes_from_okta_and_entra() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "pat@example.com", "name": { "givenName": "Pat", "familyName": "Doe" },
        "emails": [{ "value": "pat@example.com", "type": "work", "primary": true }],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "department": "Sales" }
    });
    let res = app.send(&c, Method::POST, "/Users", Some(&body.to_string())).await;
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        { "op": "Replace", "path": "active", "value": "False" },
        { "op": "replace", "path": "name.familyName", "value": "Smith" },
        { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "pat.smith@example.com" },
        { "op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Platform" },
        { "op": "add", "value": { "title": "Lead", "name.middleName": "Q" } }
    ]});
    let res = app.send(&c, Method::PATCH, &format!("/Users/{id}"), Some(&patch.to_string())).await;
    assert_eq!(res.status(), 200);
    let user: Value = res.json().await.expect("json");
    assert_eq!(user["active"], false);
    assert_eq!(user["name"], json!({ "givenName": "Pat", "familyName": "Smith", "middleName": "Q" }));
    assert_eq!(user["emails"][0]["value"], "pat.smith@example.com");
    assert_eq!(user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "Platform");
    assert_eq!(user["title"], "Lead");
    // The new email is what filters find now.
    let found: Value = app
        .send(&c, Method::GET, "/Users?filter=emails.value%20eq%20%22PAT.SMITH%40example.com%22", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(found["totalResults"], 1);
    app.shutdown().await;
}

#[tokio::test]
async fn manager_is_resolved_when_it_arrives_later() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let report = json!({ "userName": "report@example.com", ent: { "manager": { "value": "00uBOSS" } } });
    let res = app.send(&c, Method::POST, "/Users", Some(&report.to_string())).await;
    let report_id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();
    let boss = json!({ "userName": "boss@example.com", "externalId": "00uBOSS" });
    let res = app.send(&c, Method::POST, "/Users", Some(&boss.to_string())).await;
    let boss_id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned();

    // The boss's creation also re-resolved the report: version 2 with managerId set.
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        employee: Value,
    }
    let mut conn = app.pool.get().await.expect("conn");
    let row: Row = diesel::sql_query("SELECT employee FROM users WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::parse_str(&report_id).expect("uuid"))
        .get_result(&mut conn)
        .await
        .expect("row");
    assert_eq!(row.employee["managerId"], boss_id.as_str());
    assert_eq!(row.employee["managerRemoteId"], "00uBOSS");
    assert_eq!(row.employee["version"], 2);
    app.shutdown().await;
}

#[tokio::test]
async fn discovery_tells_what_is_supported() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let spc: Value = app.send(&c, Method::GET, "/ServiceProviderConfig", None).await.json().await.expect("json");
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    assert_eq!(spc["filter"]["supported"], true);
    assert!(spc["authenticationSchemes"][0]["type"].is_string());
    let types: Value = app.send(&c, Method::GET, "/ResourceTypes", None).await.json().await.expect("json");
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(
        (types["totalResults"].as_i64(), types["Resources"][1]["endpoint"].as_str()),
        (Some(2), Some("/Groups"))
    );
    let group: Value = app
        .send(&c, Method::GET, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(group["attributes"][0]["name"], "displayName");
    assert_eq!(group["attributes"][2]["subAttributes"][0]["name"], "value");
    let schemas: Value = app.send(&c, Method::GET, "/Schemas", None).await.json().await.expect("json");
    assert!(schemas["Resources"][0]["attributes"].as_array().is_some_and(|a| !a.is_empty()));
    app.shutdown().await;
}

#[tokio::test]
async fn search_endpoint_and_attribute_projection() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let body = json!({ "userName": "proj@example.com", "name": { "givenName": "P", "familyName": "Q" }, "title": "T" });
    let res = app.send(&c, Method::POST, "/Users?attributes=userName", Some(&body.to_string())).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    let mut keys: Vec<&str> = created.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "schemas", "userName"]);

    let search = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                         "filter": "userName eq \"PROJ@example.com\"", "excludedAttributes": ["name", "meta"] });
    let res = app.send(&c, Method::POST, "/Users/.search", Some(&search.to_string())).await;
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.expect("json");
    assert_eq!(list["totalResults"], 1);
    let user = &list["Resources"][0];
    assert!(user.get("name").is_none() && user.get("meta").is_none());
    assert_eq!(user["title"], "T");
    let res = app.send(&c, Method::POST, "/.search", Some(r#"{"count":"ten"}"#)).await;
    crate::helpers::assert_scim_error(res, 400, Some("invalidValue")).await;
    app.shutdown().await;
}

/// Concurrent creates share commits (group commit), yet each gets its own answer: of the userNames
/// that differ only in case exactly one is created, and only the created users have events.
#[tokio::test]
async fn concurrent_creates_each_get_their_own_answer() {
    let app = spawn_app().await;
    let c = app.connection().await;
    let send = |body: Value| {
        let (app, c) = (&app, &c);
        async move { app.send(c, Method::POST, "/Users", Some(&body.to_string())).await }
    };
    let same_name = ["Twin@Example.com", "twin@example.com", "TWIN@EXAMPLE.COM", "tWiN@example.COM"];
    let twins = futures_util::future::join_all(same_name.iter().map(|n| send(json!({ "userName": n }))));
    let distinct =
        futures_util::future::join_all((0..24).map(|i| send(json!({ "userName": format!("c{i}@example.com") }))));
    let (twins, distinct) = tokio::join!(twins, distinct);

    let statuses: Vec<u16> = twins.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 3, "{statuses:?}");
    for res in twins.into_iter().filter(|r| r.status() == 409) {
        crate::helpers::assert_scim_error(res, 409, Some("uniqueness")).await;
    }
    let mut ids = std::collections::HashSet::new();
    for res in distinct {
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.expect("json");
        assert!(ids.insert(body["id"].as_str().expect("id").to_owned()));
    }
    assert_eq!(app.user_count().await, 25);
    assert_eq!(app.outbox_len().await, 25, "one employee.created per stored user, none for a 409");
    app.shutdown().await;
}

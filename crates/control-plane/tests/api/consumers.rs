//! Consumers: lifecycle and pagination.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn create_get_list_delete() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let res = app.post("/api/consumers", &t.app_token, &json!({ "name": " Initech ", "reference": "cust-42" })).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    assert_eq!(created["name"], "Initech");
    assert_eq!(created["reference"], "cust-42");
    assert!(created["createdAt"].is_string());
    let id = created["id"].as_str().expect("id");

    let got: Value = app.get(&format!("/api/consumers/{id}"), &t.app_token).await.json().await.expect("json");
    assert_eq!(got, created);

    // A reference identifies one consumer per application.
    let dup = app.post("/api/consumers", &t.app_token, &json!({ "name": "Again", "reference": "cust-42" })).await;
    assert_problem(dup, 409).await;

    assert_eq!(app.delete(&format!("/api/consumers/{id}"), &t.app_token).await.status(), 204);
    assert_problem(app.get(&format!("/api/consumers/{id}"), &t.app_token).await, 404).await;
    assert_problem(app.delete(&format!("/api/consumers/{id}"), &t.app_token).await, 404).await;
    app.shutdown(&[]).await;
}

async fn all_pages(app: &crate::helpers::TestApp, token: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/consumers?limit={limit}&cursor={c}"),
            None => format!("/api/consumers?limit={limit}"),
        };
        let page: Value = app.get(&path, token).await.json().await.expect("json");
        let data = page["data"].as_array().expect("data");
        assert!(data.len() <= limit);
        assert_eq!(page["meta"]["itemsOnPage"], data.len());
        assert_eq!(page["meta"]["current"].as_str(), cursor.as_deref());
        ids.extend(data.iter().map(|c| c["id"].as_str().expect("id").to_owned()));
        match page["meta"]["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn pagination_neither_skips_nor_repeats_while_rows_are_inserted() {
    let app = spawn_app().await;
    let t = app.tenant("Acme").await;
    let mut before = vec![t.consumer_id.clone()];
    for i in 0..40 {
        before.push(app.create_consumer(&t.app_token, &format!("c{i}")).await);
    }
    // Insert concurrently while paging with small pages.
    let writer = {
        let (client, url, token) = (app.client.clone(), app.url("/api/consumers"), t.app_token.clone());
        tokio::spawn(async move {
            for i in 0..30 {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "name": format!("late{i}") }))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(res.status(), 201);
            }
        })
    };
    let seen = all_pages(&app, &t.app_token, 7).await;
    writer.await.expect("writer");

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an id was repeated");
    for id in &before {
        assert!(unique.contains(id), "consumer {id} that existed before paging was skipped");
    }
    // Pages come in id order.
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen);
    // After the writer is done, a full walk sees everything exactly once.
    let all = all_pages(&app, &t.app_token, 200).await;
    assert_eq!(all.len(), 71);
    app.shutdown(&[]).await;
}

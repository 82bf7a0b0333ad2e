//! SCIM at directory scale: Okta's group-push PATCHes on a 10,000-member group, and a filter that
//! no index answers over 100,000 users. Both run on the bench connection, topped up with users.

use std::time::Instant;

use serde_json::{Value, json};

use crate::load::{self, Until};
use crate::report::{self, Run};
use crate::setup::Target;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A request with the headers Okta sends.
fn okta(client: &reqwest::Client, target: &Target, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    client
        .request(method, format!("{}{path}", target.scim))
        .header("Authorization", format!("Bearer {}", target.scim_token))
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .header("Accept", "application/scim+json")
        .header("Content-Type", "application/scim+json; charset=utf-8")
}

async fn json_of(req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let res = req.send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {body}");
    Ok(body)
}

/// Creates users until the connection holds at least `total`; returns how many it holds.
async fn ensure_users(client: &reqwest::Client, target: &Target, total: usize) -> anyhow::Result<usize> {
    let count = |client, target| async move {
        let page = json_of(okta(client, target, reqwest::Method::GET, "/Users?count=0")).await?;
        anyhow::Ok(page["totalResults"].as_u64().unwrap_or_default() as usize)
    };
    let have = count(client, target).await?;
    if have < total {
        let started = Instant::now();
        // The tag keeps this top-up's userNames apart from an earlier one's.
        let tag = format!("scale{have}");
        let run = load::creates(client, target, 32, Until::Count(total - have), &tag).await;
        println!(
            "  (created {} users to reach {total}: {:.0}/s)",
            run.ok,
            run.ok as f64 / started.elapsed().as_secs_f64()
        );
        if load::drain(client, target).await.is_none() {
            println!("  (the pipeline did not catch up within 300 s; figures below share the box with it)");
        }
    }
    count(client, target).await
}

/// The first `n` user ids of the connection, in creation order.
async fn user_ids(client: &reqwest::Client, target: &Target, n: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    while ids.len() < n {
        let path = format!("/Users?attributes=id&count=200&startIndex={}", ids.len() + 1);
        let page = json_of(okta(client, target, reqwest::Method::GET, &path)).await?;
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        anyhow::ensure!(!resources.is_empty(), "only {} users to page through", ids.len());
        ids.extend(resources.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)));
    }
    ids.truncate(n);
    Ok(ids)
}

/// One timed request; the response body is read in full.
async fn timed(run: &mut Run, req: reqwest::RequestBuilder) -> Option<Value> {
    let t = Instant::now();
    let body = match req.send().await {
        Ok(res) if res.status().is_success() => res.json::<Value>().await.ok(),
        _ => None,
    };
    match &body {
        Some(_) => {
            run.ok += 1;
            run.latencies.push(t.elapsed());
        }
        None => run.errors += 1,
    }
    body
}

/// Okta's group push on a group of `members` users: each PATCH carries the rename Okta sends with
/// every membership update, and removes one member by value filter or adds it back.
pub async fn group_push(
    client: &reqwest::Client,
    target: &Target,
    members: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    ensure_users(client, target, members).await?;
    let ids = user_ids(client, target, members).await?;
    let name = format!("Bench push {}", target.run);
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": ids.iter().map(|id| json!({ "value": id })).collect::<Vec<_>>(),
    });
    let t = Instant::now();
    let group = json_of(okta(client, target, reqwest::Method::POST, "/Groups").body(body.to_string())).await?;
    let created = t.elapsed();
    let gid = group["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/Groups/{gid}");
    let rename = json!({ "op": "replace", "value": { "id": gid, "displayName": name } });

    let (mut removes, mut adds) = (Run::default(), Run::default());
    let started = Instant::now();
    for member in ids.iter().step_by((members / rounds.max(1)).max(1)).take(rounds) {
        let remove = json!({ "schemas": [PATCH_OP], "Operations": [
            rename, { "op": "remove", "path": format!("members[value eq \"{member}\"]") } ] });
        timed(&mut removes, okta(client, target, reqwest::Method::PATCH, &path).body(remove.to_string())).await;
        let add = json!({ "schemas": [PATCH_OP], "Operations": [
            rename, { "op": "add", "path": "members", "value": [{ "value": member }] } ] });
        timed(&mut adds, okta(client, target, reqwest::Method::PATCH, &path).body(add.to_string())).await;
    }
    removes.elapsed = started.elapsed();
    adds.elapsed = removes.elapsed;
    println!(
        "SCIM group push on a {members}-member group (POST with all members: {:.0} ms)",
        created.as_secs_f64() * 1e3
    );
    report::print(&format!("  PATCH remove members[value eq] + rename, {members} members, one client"), &removes);
    report::print(&format!("  PATCH add members + rename, {members} members, one client"), &adds);
    Ok(())
}

/// A filter over `users` users that reads the stored JSON (value filter, sub-attributes, `ew`,
/// `not`) besides one indexed column, answered with its total and the first page.
pub async fn complex_filter(
    client: &reqwest::Client,
    target: &Target,
    users: usize,
    queries: usize,
) -> anyhow::Result<()> {
    let held = ensure_users(client, target, users).await?;
    let filter = r#"emails[type eq "work" and value co "7@bench"] and (name.familyName ew "7" or displayName sw "Bench User 1") and active eq true and not (title pr)"#;
    let query = [("filter", filter), ("startIndex", "1"), ("count", "100")];
    let mut run = Run::default();
    let mut total = None;
    let started = Instant::now();
    for _ in 0..queries {
        if let Some(page) = timed(&mut run, okta(client, target, reqwest::Method::GET, "/Users").query(&query)).await {
            total = page["totalResults"].as_u64();
        }
    }
    run.elapsed = started.elapsed();
    report::print(
        &format!(
            "SCIM GET /Users?filter=<complex, no index> over {held} users ({} match), one client",
            total.unwrap_or(0)
        ),
        &run,
    );
    println!("  filter: {filter}");
    Ok(())
}

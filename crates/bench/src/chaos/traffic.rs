//! The steady SCIM traffic of a chaos run (creates, updates, deactivations, group pushes), the
//! ledger of what was acknowledged in which round, the webhook receiver, and the final check that
//! everything acknowledged reached employee-store and the receiver.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::setup::Target;

/// What one round saw.
#[derive(Debug, Default, Clone)]
pub struct RoundStats {
    pub acked: usize,
    /// 5xx answers other than a well-formed 503 (SCIM error body and `Retry-After`).
    pub server_errors: usize,
    pub unavailable_503: usize,
    /// Requests that got no answer (the process was down).
    pub unreachable: usize,
    pub lost: usize,
    pub duplicates: usize,
}

/// Deliveries of one webhook-id: its entity and version, and the round of each arrival.
type Arrival = (String, i64, Vec<usize>);

/// What was acknowledged, by whom, in which round.
#[derive(Default)]
pub struct Ledger {
    pub round: AtomicUsize,
    /// User id → round of its last acknowledged write.
    users: Mutex<HashMap<String, usize>>,
    /// Group id → round of its creation.
    groups: Mutex<HashMap<String, usize>>,
    pub stats: Mutex<Vec<RoundStats>>,
    /// Webhook arrivals by webhook-id.
    arrivals: Mutex<HashMap<String, Arrival>>,
}

impl Ledger {
    pub fn new(rounds: usize) -> Arc<Self> {
        let ledger = Self::default();
        *ledger.stats.lock().unwrap_or_else(|e| e.into_inner()) = vec![RoundStats::default(); rounds];
        Arc::new(ledger)
    }

    fn with_stats(&self, f: impl FnOnce(&mut RoundStats)) {
        let round = self.round.load(Ordering::Relaxed);
        if let Some(s) = self.stats.lock().unwrap_or_else(|e| e.into_inner()).get_mut(round) {
            f(s);
        }
    }

    fn current(&self) -> usize {
        self.round.load(Ordering::Relaxed)
    }
}

/// A SCIM request's outcome, counted in the ledger; `Some(body)` on a 2xx.
async fn send(ledger: &Ledger, req: reqwest::RequestBuilder) -> Option<Value> {
    let res = match req.timeout(Duration::from_secs(10)).send().await {
        Ok(res) => res,
        Err(_) => {
            ledger.with_stats(|s| s.unreachable += 1);
            return None;
        }
    };
    let status = res.status().as_u16();
    if (200..300).contains(&status) {
        ledger.with_stats(|s| s.acked += 1);
        return res.json().await.ok().or(Some(Value::Null));
    }
    if status >= 500 {
        let scim =
            res.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/scim+json"));
        let retry = res.headers().contains_key("retry-after");
        if status == 503 && scim && retry {
            ledger.with_stats(|s| s.unavailable_503 += 1);
        } else {
            let body = res.text().await.unwrap_or_default();
            eprintln!(
                "  SCIM {status} (SCIM body {scim}, Retry-After {retry}): {}",
                body.chars().take(300).collect::<String>()
            );
            ledger.with_stats(|s| s.server_errors += 1);
        }
    }
    None
}

/// One writer: creates its users, then updates, deactivates and groups them, until `stop`.
pub async fn writer(client: reqwest::Client, target: Target, ledger: Arc<Ledger>, n: usize, stop: CancellationToken) {
    let scim = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{}{path}", target.scim))
            .bearer_auth(&target.scim_token)
            .header("content-type", "application/scim+json")
    };
    let mut mine: Vec<String> = Vec::new();
    let mut op = 0usize;
    while !stop.is_cancelled() {
        op += 1;
        let body = if mine.len() < 3 || op.is_multiple_of(4) {
            let user = json!({ "userName": format!("chaos.{}.{n}.{op}@example.com", target.run), "active": true,
                               "name": { "givenName": "Chaos", "familyName": format!("W{n}") }, "title": "t0" });
            let created = send(&ledger, scim(reqwest::Method::POST, "/Users").body(user.to_string())).await;
            if let Some(id) = created.as_ref().and_then(|c| c["id"].as_str()) {
                mine.push(id.to_owned());
                ledger.users.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), ledger.current());
            }
            None
        } else if op.is_multiple_of(15) {
            let members: Vec<Value> = mine.iter().rev().take(2).map(|id| json!({ "value": id })).collect();
            Some(json!({ "displayName": format!("chaos-{}-{n}-{op}", target.run), "members": members }))
        } else {
            let id = &mine[op % mine.len()];
            let value =
                if op.is_multiple_of(10) { json!({ "active": false }) } else { json!({ "title": format!("t{op}") }) };
            let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                "Operations": [{ "op": "replace", "value": value }] });
            if send(&ledger, scim(reqwest::Method::PATCH, &format!("/Users/{id}")).body(patch.to_string()))
                .await
                .is_some()
            {
                ledger.users.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), ledger.current());
            }
            None
        };
        if let Some(group) = body
            && let Some(created) = send(&ledger, scim(reqwest::Method::POST, "/Groups").body(group.to_string())).await
            && let Some(id) = created["id"].as_str()
        {
            ledger.groups.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), ledger.current());
            // Its members' new versions are acknowledged writes too.
            for m in mine.iter().rev().take(2) {
                ledger.users.lock().unwrap_or_else(|e| e.into_inner()).insert(m.clone(), ledger.current());
            }
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// The webhook receiver: notes every delivery's `webhook-id`, entity and version.
pub fn receiver(ledger: Arc<Ledger>) -> anyhow::Result<String> {
    let data = web::Data::new(ledger);
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).default_service(web::to(
            |req: HttpRequest, body: web::Bytes, ledger: web::Data<Arc<Ledger>>| async move {
                let id = req.headers().get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                let entity = event["entityId"].as_str().unwrap_or_default().to_owned();
                let version = event["version"].as_i64().unwrap_or_default();
                let round = ledger.current();
                let mut arrivals = ledger.arrivals.lock().unwrap_or_else(|e| e.into_inner());
                arrivals.entry(id).or_insert_with(|| (entity, version, Vec::new())).2.push(round);
                HttpResponse::NoContent().finish()
            },
        ))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))?;
    let port = server.addrs().first().map(|a| a.port()).unwrap_or_default();
    tokio::spawn(server.run());
    Ok(format!("http://127.0.0.1:{port}/"))
}

/// The version in a SCIM `meta.version` (`W/"3"`).
fn scim_version(user: &Value) -> Option<i64> {
    user["meta"]["version"].as_str()?.trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// Waits (up to `within`) until every acknowledged user is in employee-store at scim-ingress's
/// version with every version delivered to the receiver, and every acknowledged group is readable;
/// counts what never got there as lost, and repeated webhook-ids as duplicates, by round.
pub async fn settle(client: &reqwest::Client, target: &Target, ledger: &Ledger, within: Duration) {
    let deadline = Instant::now() + within;
    let users: Vec<(String, usize)> =
        ledger.users.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect();
    let groups: Vec<(String, usize)> =
        ledger.groups.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut pending: Vec<(String, usize, bool)> = users
        .into_iter()
        .map(|(id, r)| (id, r, false))
        .chain(groups.into_iter().map(|(id, r)| (id, r, true)))
        .collect();
    while !pending.is_empty() && Instant::now() < deadline {
        let delivered: HashMap<String, Vec<i64>> = {
            let arrivals = ledger.arrivals.lock().unwrap_or_else(|e| e.into_inner());
            let mut by_entity: HashMap<String, Vec<i64>> = HashMap::new();
            for (entity, version, _) in arrivals.values() {
                by_entity.entry(entity.clone()).or_default().push(*version);
            }
            by_entity
        };
        let mut still = Vec::new();
        for (id, round, group) in pending {
            if !arrived(client, target, &delivered, &id, group).await {
                still.push((id, round, group));
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let mut stats = ledger.stats.lock().unwrap_or_else(|e| e.into_inner());
    for (id, round, group) in &pending {
        eprintln!("  lost: {} {id} (acknowledged in round {round})", if *group { "group" } else { "user" });
        if let Some(s) = stats.get_mut(*round) {
            s.lost += 1;
        }
    }
    for (id, (entity, version, rounds)) in ledger.arrivals.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        if rounds.len() > 1 {
            eprintln!(
                "  duplicate: webhook-id {id} ({entity} v{version}) arrived {} times, rounds {rounds:?}",
                rounds.len()
            );
        }
        // Counted where the first copy arrived: the fault that made the second is that round's
        // (a copy sent again when a lease expires arrives a minute and a round or two later).
        if let Some(s) = rounds.first().and_then(|r| stats.get_mut(*r)) {
            s.duplicates += rounds.len() - 1;
        }
    }
}

async fn arrived(
    client: &reqwest::Client,
    target: &Target,
    delivered: &HashMap<String, Vec<i64>>,
    id: &str,
    group: bool,
) -> bool {
    let store = |path: String| client.get(format!("{}{path}", target.store)).bearer_auth(&target.consumer_token).send();
    if group {
        return store(format!("/api/hris/groups/{id}")).await.is_ok_and(|r| r.status() == 200);
    }
    let Ok(res) = client.get(format!("{}/Users/{id}", target.scim)).bearer_auth(&target.scim_token).send().await else {
        return false;
    };
    let Some(version) = res.json::<Value>().await.ok().as_ref().and_then(scim_version) else { return false };
    let Ok(res) = store(format!("/api/hris/employees/{id}")).await else { return false };
    let stored = res.json::<Value>().await.ok().and_then(|b| b["data"]["version"].as_i64());
    let webhooks: std::collections::BTreeSet<i64> = delivered.get(id).into_iter().flatten().copied().collect();
    stored == Some(version) && (1..=version).all(|v| webhooks.contains(&v))
}

/// Round names and their stats as the table the run prints.
pub fn table(names: &[String], stats: &[RoundStats], recovery: &BTreeMap<usize, f64>) -> String {
    let mut out = String::from(
        "| fault | writes acked | lost | duplicate webhooks | SCIM 5xx | SCIM 503 + Retry-After | unreachable | recovery s |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (i, (name, s)) in names.iter().zip(stats).enumerate() {
        let rec = recovery.get(&i).map(|r| format!("{r:.1}")).unwrap_or_else(|| "—".into());
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {rec} |\n",
            s.acked, s.lost, s.duplicates, s.server_errors, s.unavailable_503, s.unreachable
        ));
    }
    out
}

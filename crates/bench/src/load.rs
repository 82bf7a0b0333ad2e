//! The three measurements: closed-loop create and lookup throughput, and open-loop end-to-end
//! latency at a fixed write rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::report::Run;
use crate::setup::Target;

pub fn user(target: &Target, tag: &str, n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{tag}.{}.{n}@bench.example", target.run),
        "name": { "givenName": "Bench", "familyName": format!("User{n}") },
        "emails": [{ "primary": true, "value": format!("{tag}.{}.{n}@bench.example", target.run), "type": "work" }],
        "displayName": format!("Bench User {n}"),
        "externalId": format!("00u{tag}{n}"),
        "active": true,
        "groups": [],
        "password": "placeholder"
    })
}

pub async fn create(client: &reqwest::Client, target: &Target, body: &Value) -> Option<String> {
    let res = client
        .post(format!("{}/Users", target.scim))
        .header("Authorization", format!("Bearer {}", target.scim_token))
        .header("Content-Type", "application/scim+json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    if res.status() != 201 {
        return None;
    }
    // Only the id: the load generator shares the box with what it measures, so it reads no more
    // of the answer than it needs.
    #[derive(serde::Deserialize)]
    struct Created {
        id: String,
    }
    res.json::<Created>().await.ok().map(|c| c.id)
}

/// When a create loop stops.
#[derive(Clone, Copy)]
pub enum Until {
    /// After this long.
    Elapsed(Duration),
    /// Once this many users were attempted.
    Count(usize),
}

/// `clients` loops creating users until `until`.
pub async fn creates(client: &reqwest::Client, target: &Target, clients: usize, until: Until, tag: &str) -> Run {
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, counter, tag) = (client.clone(), counter.clone(), tag.to_owned());
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let done = match until {
                    Until::Elapsed(d) => started.elapsed() >= d,
                    Until::Count(total) => n >= total,
                };
                if done {
                    break;
                }
                let t = Instant::now();
                match create(&client, &target, &user(&target, &tag, n)).await {
                    Some(_) => {
                        run.ok += 1;
                        run.latencies.push(t.elapsed());
                    }
                    None => run.errors += 1,
                }
            }
            run
        }));
    }
    merge(tasks, started).await
}

/// Creates one more user and waits until it is readable in employee-store: the time the pipeline
/// (outbox relay, RabbitMQ, projection) needs to catch up with everything written before it.
pub async fn drain(client: &reqwest::Client, target: &Target) -> Option<Duration> {
    let started = Instant::now();
    // A new marker each call: a repeated userName would be a 409, not a marker.
    static MARKERS: AtomicUsize = AtomicUsize::new(0);
    let id = create(client, target, &user(target, "marker", MARKERS.fetch_add(1, Ordering::Relaxed))).await?;
    let deadline = started + Duration::from_secs(300);
    while Instant::now() < deadline {
        let res = client
            .get(format!("{}/api/hris/employees/{id}", target.store))
            .bearer_auth(&target.consumer_token)
            .send()
            .await;
        if matches!(&res, Ok(r) if r.status() == 200) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// `clients` loops looking up random users created by the create run.
pub async fn lookups(
    client: &reqwest::Client,
    target: &Target,
    clients: usize,
    duration: Duration,
    created: usize,
) -> Run {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut run = Run::default();
            let mut n = c * 7919;
            while started.elapsed() < duration {
                n = (n * 1_103_515_245 + 12_345) % created.max(1);
                let filter = format!("userName eq \"create.{}.{n}@bench.example\"", target.run);
                let t = Instant::now();
                let res = client
                    .get(format!("{}/Users", target.scim))
                    .query(&[("filter", filter.as_str()), ("startIndex", "1"), ("count", "100")])
                    .header("Authorization", format!("Bearer {}", target.scim_token))
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    _ => false,
                };
                if ok {
                    run.ok += 1;
                    run.latencies.push(t.elapsed());
                } else {
                    run.errors += 1;
                }
            }
            run
        }));
    }
    merge(tasks, started).await
}

/// Writes at `rate`/s for `duration` (at most `IN_FLIGHT` at once). For one write in `SAMPLE`, the latency from its 201 until the
/// employee is readable in employee-store, polled as [`poll_interval`] says.
pub async fn end_to_end(client: &reqwest::Client, target: &Target, rate: u64, duration: Duration) -> Run {
    let started = Instant::now();
    let results = Arc::new(Mutex::new(Run::default()));
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let mut n = 0usize;
    // Bounded open loop: a write that finds no free slot is not sent and counts as an error, so an
    // overloaded system shows up as errors instead of an unbounded pile of requests.
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    while started.elapsed() < duration {
        ticker.tick().await;
        n += 1;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            results.lock().await.errors += 1;
            continue;
        };
        let (client, results, target) = (client.clone(), results.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let Some(id) = create(&client, &target, &user(&target, &format!("e2e{rate}"), n)).await else {
                results.lock().await.errors += 1;
                return;
            };
            if !n.is_multiple_of(SAMPLE) {
                return;
            }
            let created = Instant::now();
            let deadline = created + Duration::from_secs(10);
            loop {
                let res = client
                    .get(format!("{}/api/hris/employees/{id}", target.store))
                    .bearer_auth(&target.consumer_token)
                    .send()
                    .await;
                if matches!(&res, Ok(r) if r.status() == 200) {
                    let mut r = results.lock().await;
                    r.ok += 1;
                    r.latencies.push(created.elapsed());
                    return;
                }
                if Instant::now() > deadline {
                    results.lock().await.errors += 1;
                    return;
                }
                tokio::time::sleep(poll_interval(created.elapsed())).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut run = std::mem::take(&mut *results.lock().await);
    run.elapsed = started.elapsed();
    run
}

const SAMPLE: usize = 20;
const IN_FLIGHT: usize = 256;
/// Poll every 2 ms for the first 20 ms, every 5 ms up to 100 ms, then every tenth of the time
/// waited so far. A figure is never below the true latency and at most that interval above it,
/// and a slow pipeline is not buried under ever more polling of its own making (each poll is a
/// request to the system under test).
fn poll_interval(waited: Duration) -> Duration {
    match waited.as_millis() {
        0..20 => Duration::from_millis(2),
        20..100 => Duration::from_millis(5),
        _ => (waited / 10).min(Duration::from_millis(100)),
    }
}

async fn merge(tasks: Vec<tokio::task::JoinHandle<Run>>, started: Instant) -> Run {
    let mut total = Run::default();
    for t in tasks {
        if let Ok(r) = t.await {
            total.ok += r.ok;
            total.errors += r.errors;
            total.latencies.extend(r.latencies);
        }
    }
    total.elapsed = started.elapsed();
    total
}

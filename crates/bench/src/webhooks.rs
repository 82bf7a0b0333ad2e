//! The webhook figures: deliveries/s to a local sink with one and two worker processes, the same
//! with a dead endpoint subscribed beside it, and the latency from a SCIM 201 to the webhook
//! arriving at a fixed write rate. Workers are started and stopped here (`serve --role worker`)
//! so each throughput run drains a backlog built while no worker ran.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::load;
use crate::report::{self, Run};
use crate::setup::Target;
use crate::sink::{self, Sink};

/// How to start worker processes of webhook-dispatcher.
#[derive(Clone)]
pub struct WorkerSpec {
    pub binary: String,
    pub database_url: String,
    pub queue: String,
    /// The dispatcher's API (its `api` role runs for the whole bench).
    pub api: String,
}

struct Workers(Vec<tokio::process::Child>);

impl Workers {
    async fn start(n: usize, spec: &WorkerSpec) -> anyhow::Result<Self> {
        let mut children = Vec::new();
        for i in 0..n {
            // Logs beside the services' own (scripts/bench.sh writes those to .dev/bench/).
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(format!(".dev/bench/webhook-worker-{i}.log"))?;
            children.push(
                tokio::process::Command::new(&spec.binary)
                    .args(["serve", "--role", "worker"])
                    .env("UAPI_DATABASE__URL", &spec.database_url)
                    .env("UAPI_CONSUMER__QUEUE", &spec.queue)
                    .env("UAPI_HTTP__PORT", "0")
                    .env("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
                    // BENCH_WORKER_LOG (a log filter, e.g. uapi_webhook_dispatcher=debug) shows a
                    // worker's fan-out and claim timings in its log.
                    .env("RUST_LOG", std::env::var("BENCH_WORKER_LOG").unwrap_or_else(|_| "warn".into()))
                    .stdout(log.try_clone()?)
                    .stderr(log)
                    .kill_on_drop(true)
                    .spawn()?,
            );
        }
        // Long enough to connect and subscribe; drain rates are measured from the first arrival.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Ok(Self(children))
    }

    /// SIGTERM, so each worker records what it delivered and hands back what it holds.
    async fn stop(mut self) {
        for child in &self.0 {
            if let Some(pid) = child.id() {
                let _ = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
            }
        }
        for child in &mut self.0 {
            let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        }
    }
}

async fn subscribe(client: &reqwest::Client, spec: &WorkerSpec, target: &Target, url: &str) -> anyhow::Result<String> {
    let res = client
        .post(format!("{}/api/webhooks", spec.api))
        .bearer_auth(&target.app_token)
        .json(&json!({ "unifiedApi": "HRIS", "deliveryUrl": url, "events": ["*"], "status": "Enabled" }))
        .send()
        .await?
        .error_for_status()?;
    Ok(res.json::<Value>().await?["id"].as_str().unwrap_or_default().to_owned())
}

async fn unsubscribe(client: &reqwest::Client, spec: &WorkerSpec, target: &Target, id: &str) -> anyhow::Result<()> {
    client.delete(format!("{}/api/webhooks/{id}", spec.api)).bearer_auth(&target.app_token).send().await?;
    Ok(())
}

/// SCIM creates for `seconds` with no worker running: the events wait in the dispatcher's queue.
async fn backlog(client: &reqwest::Client, target: &Target, tag: &str, seconds: u64) -> usize {
    load::creates(client, target, 32, load::Until::Elapsed(Duration::from_secs(seconds)), tag).await.ok
}

async fn drain_with(
    client: &reqwest::Client,
    target: &Target,
    spec: &WorkerSpec,
    sink: &Sink,
    workers: usize,
    tag: &str,
) -> anyhow::Result<(f64, usize, usize)> {
    let n = backlog(client, target, tag, 4).await;
    sink.reset();
    let running = Workers::start(workers, spec).await?;
    let (rate, arrived) = sink.drain(n, Duration::from_secs(180)).await;
    running.stop().await;
    Ok((rate, arrived, n))
}

pub async fn run(
    client: &reqwest::Client,
    target: &Target,
    spec: &WorkerSpec,
    rate: u64,
    secs: Duration,
    latency_only: bool,
    floor: Option<crate::floor::Floor>,
) -> anyhow::Result<()> {
    let (sink, sink_url) = Sink::start()?;
    // A worker that starts and stops declares the dispatcher's queue, so the backlogs land in it.
    Workers::start(1, spec).await?.stop().await;
    subscribe(client, spec, target, &sink_url).await?;
    if !latency_only {
        throughput(client, target, spec, &sink).await?;
    }

    // At the target rate and at 500/s and 250/s, where the box has room: the latency, and the CPU
    // each end-to-end event costs (SCIM create → stored → projected → webhook delivered; every
    // process of the system, the bench and its sink included, warm-up included).
    let mut rates = vec![rate];
    rates.extend([500, 250].into_iter().filter(|r| *r != rate));
    for rate in rates {
        let running = Workers::start(1, spec).await?;
        let before = crate::cpu::sample();
        let (cold, e2e) = latency(client, target, &sink, rate, WARM_UP, secs).await;
        let used = crate::cpu::Used::between(&before, &crate::cpu::sample());
        running.stop().await;
        report::print(
            &format!(
                "SCIM 201 → webhook arrives, writes at {rate}/s, 1 worker, the first {} s of load (warm-up)",
                WARM_UP.as_secs()
            ),
            &cold,
        );
        report::print(&format!("SCIM 201 → webhook arrives, writes at {rate}/s, 1 worker, after the warm-up"), &e2e);
        println!("  {}", used.line(cold.ok + e2e.ok));
        println!("  {}", used.top_parts(8));
        if let Some(f) = floor {
            let per_event = used.total() / (cold.ok + e2e.ok).max(1) as f64;
            println!(
                "  {:.1} events/s of CPU on this box (cores ÷ CPU per event), {:.2} × the floor's Postgres transactions/s",
                std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 / per_event.max(1e-9),
                std::thread::available_parallelism().map_or(1, |n| n.get()) as f64 / per_event.max(1e-9) / f.pg_tx
            );
        }
    }
    let running = Workers::start(1, spec).await?;
    let hot = hot_employee(client, target, &sink).await;
    running.stop().await;
    hot
}

/// Sequential updates of the hot employee: docs/webhooks.md promises that per-entity order costs
/// no more than the endpoint's own response time.
const HOT_UPDATES: u64 = 100;

/// One employee created and then updated `HOT_UPDATES` times in a row (each PATCH waits for the
/// last): the time from the first 201 to the last update's webhook, against the writes' own time.
async fn hot_employee(client: &reqwest::Client, target: &Target, sink: &Sink) -> anyhow::Result<()> {
    sink.reset();
    let id = load::create(client, target, &load::user(target, "hot", 0))
        .await
        .ok_or_else(|| anyhow::anyhow!("the hot employee's create failed"))?;
    let started = Instant::now();
    for i in 1..=HOT_UPDATES {
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "title", "value": format!("Title {i}") }]
        });
        client
            .patch(format!("{}/Users/{id}", target.scim))
            .header("Authorization", format!("Bearer {}", target.scim_token))
            .header("Content-Type", "application/scim+json; charset=utf-8")
            .body(patch.to_string())
            .send()
            .await?
            .error_for_status()?;
    }
    let written = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        match sink.version_at(&id, HOT_UPDATES + 1) {
            Some(at) => break Some(at),
            None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(5)).await,
            None => break None,
        }
    };
    println!("hot employee: {HOT_UPDATES} sequential PATCHes of one user, 1 worker");
    match last.and_then(|at| at.checked_duration_since(started)) {
        Some(delivered) => println!(
            "  written in {:.2} s; last update's webhook {:.2} s after the first PATCH → {:.2}× the write time (target ≤ 1.5×)",
            written.as_secs_f64(),
            delivered.as_secs_f64(),
            delivered.as_secs_f64() / written.as_secs_f64()
        ),
        None => println!(
            "  written in {:.2} s; the last update's webhook did not arrive within 120 s",
            written.as_secs_f64()
        ),
    }
    Ok(())
}

/// Rounds of the dead-endpoint comparison: `DEAD_ROUNDS` drains beside a dead endpoint, each
/// between two plain drains.
const DEAD_ROUNDS: usize = 3;

/// Deliveries/s with one and two workers, then with a dead endpoint subscribed beside the sink.
/// A single drain varies by up to ±20 % on this box and every drain grows the deliveries table (a later
/// drain is slower on its own), so one pair of runs cannot show a loss under 10 %: each drain
/// beside a dead endpoint is compared with the mean of the plain drains right before and right
/// after it, and the median of those losses is the figure.
async fn throughput(client: &reqwest::Client, target: &Target, spec: &WorkerSpec, sink: &Sink) -> anyhow::Result<()> {
    for workers in [1, 2] {
        let (per_sec, arrived, n) = drain_with(client, target, spec, sink, workers, &format!("wh{workers}")).await?;
        println!(
            "webhook deliveries to a local sink, {workers} worker(s)\n  {arrived} of {n} delivered → {per_sec:.0}/s"
        );
    }

    println!("webhook deliveries to a healthy sink beside a dead endpoint, 1 worker");
    let mut before = drain_with(client, target, spec, sink, 1, "whbase0").await?.0;
    let mut losses = Vec::new();
    for round in 1..=DEAD_ROUNDS {
        let dead = subscribe(client, spec, target, &sink::dead_endpoint()?).await?;
        let (beside, arrived, n) = drain_with(client, target, spec, sink, 1, &format!("whdead{round}")).await?;
        unsubscribe(client, spec, target, &dead).await?;
        let (after, ..) = drain_with(client, target, spec, sink, 1, &format!("whbase{round}")).await?;
        let healthy = (before + after) / 2.0;
        let loss = if healthy > 0.0 { 100.0 * (1.0 - beside / healthy) } else { 0.0 };
        println!(
            "  round {round}: beside a dead endpoint {arrived} of {n} delivered → {beside:.0}/s, plain drains before and after {before:.0}/s and {after:.0}/s ({loss:.1} % below their mean)"
        );
        losses.push(loss);
        before = after;
    }
    losses.sort_by(f64::total_cmp);
    println!(
        "  median {:.1} %, mean {:.1} % below the plain drains around it (rounds: {})",
        losses[losses.len() / 2],
        losses.iter().sum::<f64>() / losses.len() as f64,
        losses.iter().map(|l| format!("{l:.1} %")).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

/// How long the latency run's load goes on before what it measures: the worker has just started
/// (and in a `--latency-only` run the databases too), and the first second of load builds a
/// backlog that is not the steady state (docs/performance.md).
const WARM_UP: Duration = Duration::from_secs(2);

/// Open loop at `rate` creates/s for `warm_up` and then `duration`; for every create, the time from
/// its 201 until its `employee.created` reached the sink (the sink stamps arrivals, so nothing is
/// polled). Returns the creates answered during the warm-up and those after it, apart.
/// `BENCH_LATENCY_DUMP=<file>` writes when each create was answered and its latency there, to see how the
/// latency moves during the run.
async fn latency(
    client: &reqwest::Client,
    target: &Target,
    sink: &Sink,
    rate: u64,
    warm_up: Duration,
    duration: Duration,
) -> (Run, Run) {
    sink.reset();
    let started = Instant::now();
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let slots = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::new();
    let mut n = 0usize;
    while started.elapsed() < warm_up + duration {
        ticker.tick().await;
        n += 1;
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        };
        let (client, target, created, errors) = (client.clone(), target.clone(), created.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            match load::create(&client, &target, &load::user(&target, &format!("whe2e{rate}"), n)).await {
                Some(id) => {
                    created.lock().await.insert(id, Instant::now());
                }
                None => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let created = std::mem::take(&mut *created.lock().await);
    let deadline = Instant::now() + Duration::from_secs(60);
    let errors = errors.load(std::sync::atomic::Ordering::Relaxed);
    let mut cold = Run { elapsed: warm_up, ..Run::default() };
    // Errors are not told apart by time: all of them count against the measured run.
    let mut run = Run { errors, elapsed: duration, ..Run::default() };
    let mut dump = String::new();
    let mut missing = 0;
    for (id, at) in &created {
        let arrived = loop {
            match sink.created_at(id) {
                Some(t) => break Some(t),
                None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(10)).await,
                None => break None,
            }
        };
        let answered = at.saturating_duration_since(started);
        let into = if answered < warm_up { &mut cold } else { &mut run };
        match arrived {
            Some(t) => {
                let latency = t.saturating_duration_since(*at);
                into.ok += 1;
                into.latencies.push(latency);
                dump.push_str(&format!("{:.4} {:.3}\n", answered.as_secs_f64(), latency.as_secs_f64() * 1e3));
            }
            None => {
                into.errors += 1;
                missing += 1;
            }
        }
    }
    if missing > 0 {
        // A create answered 201 whose webhook never came is a lost event, not a slow one: say so.
        println!("  {missing} created users' employee.created never reached the sink within 60 s");
    }
    if errors > 0 {
        println!("  {errors} creates not answered 201 (or not sent: 256 already in flight)");
    }
    if let Ok(path) = std::env::var("BENCH_LATENCY_DUMP") {
        let _ = std::fs::write(path, dump);
    }
    (cold, run)
}

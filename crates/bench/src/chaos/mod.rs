//! `make chaos`: the fault campaign. The driver starts every service itself, drives steady SCIM
//! traffic through a consumer's connection to a local webhook receiver, and in turn restarts
//! RabbitMQ, restarts Postgres, SIGKILLs and restarts each service, and scales dispatcher workers
//! 1 → 3 → 1. Afterwards every write that got a 2xx must be in employee-store at scim-ingress's
//! version with every version delivered to the receiver. It prints one table (docs/reliability.md)
//! and fails when anything acknowledged was lost or SCIM answered a 5xx other than a 503 with a
//! SCIM error and `Retry-After`.

mod processes;
mod traffic;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use processes::{Process, postgres_version, run as sh};
use traffic::Ledger;

const CP: u16 = 19180;
const SCIM: u16 = 19181;
const STORE: u16 = 19182;
const DISPATCHER_API: u16 = 19183;
/// Workers listen from here up (`/readyz` tells when they consume).
const WORKER_PORT: u16 = 19184;
const WRITERS: usize = 6;

/// Where the services run from.
pub struct Setup {
    /// The folder of the service binaries.
    pub bin: String,
    /// Postgres server URL without a database.
    pub pg: String,
    pub admin_token: String,
}

struct System {
    control_plane: Process,
    scim: Process,
    store: Process,
    api: Process,
    workers: Vec<Process>,
}

impl System {
    fn new(setup: &Setup) -> Self {
        let bin = |name: &str| format!("{}/{name}", setup.bin);
        let db = |name: &str| format!("{}/uapi_chaos_{name}", setup.pg);
        let svc = |name: &str, db_name: &str, port: u16| {
            let env = [("UAPI_DATABASE__URL", db(db_name)), ("UAPI_HTTP__PORT", port.to_string())];
            Process::new(name, bin(name), &["serve"], &env, Some(port))
        };
        let dispatcher = |name: String, role: &str, port: u16| {
            let env = [
                ("UAPI_DATABASE__URL", db("webhook_dispatcher")),
                ("UAPI_HTTP__PORT", port.to_string()),
                ("UAPI_CONSUMER__QUEUE", "chaos.webhook-dispatcher.events".to_owned()),
                ("UAPI_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true".to_owned()),
            ];
            Process::new(&name, bin("webhook-dispatcher"), &["serve", "--role", role], &env, Some(port))
        };
        Self {
            control_plane: svc("control-plane", "control_plane", CP),
            scim: svc("scim-ingress", "scim_ingress", SCIM),
            store: svc("employee-store", "employee_store", STORE),
            api: dispatcher("dispatcher-api".into(), "api", DISPATCHER_API),
            workers: (0..3).map(|i| dispatcher(format!("dispatcher-worker-{i}"), "worker", WORKER_PORT + i)).collect(),
        }
    }

    fn all(&mut self) -> impl Iterator<Item = &mut Process> {
        [&mut self.control_plane, &mut self.scim, &mut self.store, &mut self.api]
            .into_iter()
            .chain(self.workers.iter_mut())
    }

    /// Waits until every running service is ready again.
    async fn ready(&mut self, client: &reqwest::Client, running_workers: usize) -> anyhow::Result<()> {
        for p in [&self.control_plane, &self.scim, &self.store, &self.api]
            .into_iter()
            .chain(self.workers.iter().take(running_workers))
        {
            p.wait_ready(client, Duration::from_secs(120)).await?;
        }
        Ok(())
    }
}

/// A fault: what it does to the system (its recovery is measured from its end until every
/// service is ready again).
enum Fault {
    Steady,
    RabbitMq,
    Postgres,
    Kill(&'static str),
    ScaleWorkers,
}

impl Fault {
    fn name(&self) -> String {
        match self {
            Self::Steady => "steady traffic, no fault".into(),
            Self::RabbitMq => "RabbitMQ stop_app / start_app (5 s down)".into(),
            Self::Postgres => "Postgres stop / start (5 s down)".into(),
            Self::Kill(name) => format!("SIGKILL {name}, restart"),
            Self::ScaleWorkers => "dispatcher workers 1 → 3 → 1".into(),
        }
    }
}

pub async fn run(setup: Setup) -> anyhow::Result<()> {
    std::fs::create_dir_all(".dev/chaos")?;
    let client = reqwest::Client::new();
    let mut system = System::new(&setup);
    for p in [&mut system.control_plane, &mut system.scim, &mut system.store, &mut system.api] {
        p.start(&client).await?;
    }
    system.workers[0].start(&client).await?;
    let outcome = campaign(&client, &setup, &mut system).await;
    for p in system.all() {
        p.stop().await;
    }
    outcome
}

async fn campaign(client: &reqwest::Client, setup: &Setup, system: &mut System) -> anyhow::Result<()> {
    let cp = format!("http://127.0.0.1:{CP}");
    let target = crate::setup::tenant(client, &cp, &format!("http://127.0.0.1:{STORE}"), &setup.admin_token).await?;
    let faults = [
        Fault::Steady,
        Fault::RabbitMq,
        Fault::Postgres,
        Fault::Kill("control-plane"),
        Fault::Kill("scim-ingress"),
        Fault::Kill("employee-store"),
        Fault::Kill("dispatcher-worker-0"),
        Fault::ScaleWorkers,
    ];
    let ledger = Ledger::new(faults.len());
    let url = traffic::receiver(ledger.clone())?;
    client
        .post(format!("http://127.0.0.1:{DISPATCHER_API}/api/webhooks"))
        .bearer_auth(&target.app_token)
        .json(&json!({ "unifiedApi": "HRIS", "deliveryUrl": url, "events": ["*"], "status": "Enabled" }))
        .send()
        .await?
        .error_for_status()?;
    let stop = CancellationToken::new();
    let writers: Vec<_> = (0..WRITERS)
        .map(|n| tokio::spawn(traffic::writer(client.clone(), target.clone(), ledger.clone(), n, stop.clone())))
        .collect();
    let mut recovery = BTreeMap::new();
    let pg = postgres_version()?;
    for (i, fault) in faults.iter().enumerate() {
        ledger.round.store(i, Ordering::Relaxed);
        println!("==> {}", fault.name());
        tokio::time::sleep(Duration::from_secs(3)).await;
        // When the fault's cause is gone (the broker or database started again, the process
        // killed): recovery runs from there until every service is ready.
        let cause_gone = match fault {
            Fault::Steady => None,
            Fault::RabbitMq => {
                sh("rabbitmqctl", &["stop_app"]).await?;
                tokio::time::sleep(Duration::from_secs(5)).await;
                sh("rabbitmqctl", &["start_app"]).await?;
                Some(Instant::now())
            }
            Fault::Postgres => {
                sh("pg_ctlcluster", &["--skip-systemctl-redirect", &pg, "main", "stop", "-m", "fast"]).await?;
                tokio::time::sleep(Duration::from_secs(5)).await;
                sh("pg_ctlcluster", &["--skip-systemctl-redirect", &pg, "main", "start"]).await?;
                Some(Instant::now())
            }
            Fault::Kill(name) => {
                let p = system.all().find(|p| p.name == *name).ok_or_else(|| anyhow::anyhow!("no process {name}"))?;
                p.kill().await;
                let killed = Instant::now();
                p.start(client).await?;
                Some(killed)
            }
            Fault::ScaleWorkers => {
                for w in &mut system.workers[1..] {
                    w.start(client).await?;
                }
                tokio::time::sleep(Duration::from_secs(6)).await;
                for w in &mut system.workers[1..] {
                    w.stop().await;
                }
                None
            }
        };
        if let Some(since) = cause_gone {
            system.ready(client, 1).await?;
            recovery.insert(i, since.elapsed().as_secs_f64());
            println!("    every service ready {:.1} s after", since.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    stop.cancel();
    for w in writers {
        let _ = w.await;
    }
    println!("==> waiting for every acknowledged write to reach employee-store and the receiver");
    traffic::settle(client, &target, &ledger, Duration::from_secs(180)).await;
    let stats = ledger.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let names: Vec<String> = faults.iter().map(Fault::name).collect();
    println!("\n{}", traffic::table(&names, &stats, &recovery));
    let (lost, errors): (usize, usize) = stats.iter().fold((0, 0), |(l, e), s| (l + s.lost, e + s.server_errors));
    let acked: usize = stats.iter().map(|s| s.acked).sum();
    println!("chaos: {acked} writes acknowledged, {lost} lost, {errors} SCIM 5xx other than 503 + Retry-After");
    anyhow::ensure!(lost == 0 && errors == 0, "the fault campaign lost writes or answered 5xx");
    Ok(())
}

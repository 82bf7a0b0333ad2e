//! The services of a chaos run, started, killed and restarted by the driver itself, so a fault can
//! be aimed at one process. Every process listens on 127.0.0.1.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// One service process (or a dispatcher worker) and how to start it again.
pub struct Process {
    pub name: String,
    binary: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    /// Its `/readyz`, when it serves one on a known port.
    ready_url: Option<String>,
    child: Option<Child>,
}

impl Process {
    pub fn new(name: &str, binary: String, args: &[&str], env: &[(&str, String)], port: Option<u16>) -> Self {
        Self {
            name: name.to_owned(),
            binary,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
            ready_url: port.map(|p| format!("http://127.0.0.1:{p}/readyz")),
            child: None,
        }
    }

    /// Starts it (its output appended to `.dev/chaos/<name>.log`) and waits until it is ready.
    pub async fn start(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(format!(".dev/chaos/{}.log", self.name))?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .envs(&self.env)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", self.binary))?;
        self.child = Some(child);
        self.wait_ready(client, Duration::from_secs(90)).await
    }

    /// Waits until its `/readyz` answers 200 (a process without one: until it has run a moment).
    pub async fn wait_ready(&self, client: &reqwest::Client, within: Duration) -> anyhow::Result<()> {
        let Some(url) = &self.ready_url else {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return Ok(());
        };
        let deadline = Instant::now() + within;
        loop {
            if let Ok(res) = client.get(url).timeout(Duration::from_secs(2)).send().await
                && res.status() == 200
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "{} not ready within {within:?}", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no drain, no goodbye.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// SIGTERM, then waits for it to exit (it drains first).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
            }
            if tokio::time::timeout(Duration::from_secs(40), child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

/// Runs a command of the machine (rabbitmqctl, pg_ctlcluster) and fails unless it succeeds.
pub async fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| anyhow::anyhow!("cannot run {program}: {e}"))?;
    anyhow::ensure!(status.success(), "{program} {} failed: {status}", args.join(" "));
    Ok(())
}

/// The local Postgres cluster's version, as `pg_ctlcluster` names it.
pub fn postgres_version() -> anyhow::Result<String> {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    versions.sort();
    versions.pop().ok_or_else(|| anyhow::anyhow!("no cluster under /etc/postgresql"))
}

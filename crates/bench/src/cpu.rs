//! CPU time by process group, from `/proc/<pid>/stat` (user + system ticks): our services, the
//! bench (load generator and webhook sink), Postgres and RabbitMQ. Two samples around a workload
//! give the CPU it cost, per event and as a share of the box.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Linux's `USER_HZ`: the unit of `/proc/<pid>/stat` times, 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// The group a process counts under, by its name (`comm`, cut at 15 characters by the kernel).
fn group(comm: &str) -> Option<&'static str> {
    Some(match comm {
        "control-plane" | "scim-ingress" | "employee-store" | "webhook-dispatc" | "portal" => "services",
        "postgres" => "postgres",
        "beam.smp" | "erl_child_setup" | "inet_gethost" | "epmd" => "rabbitmq",
        "uapi-bench" => "bench",
        _ => return None,
    })
}

/// Ticks by process, at an instant, with what each process is: a service by name, a Postgres
/// backend by its database (from its title, `postgres: <user> <database> …`) or its role.
pub struct Sample {
    at: Instant,
    ticks: BTreeMap<u32, (&'static str, String, u64)>,
}

/// A Postgres process's part: the database it serves, or its background role.
fn postgres_part(pid: u32) -> String {
    let title = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let title = title.trim_end_matches('\0').replace('\0', " ");
    // Debian's titles carry the cluster first: `postgres: 15/main: …`.
    let title = match title.strip_prefix("postgres: ").and_then(|r| r.split_once(": ")) {
        Some((cluster, rest)) if !cluster.contains(' ') => format!("postgres: {rest}"),
        _ => title,
    };
    match title.strip_prefix("postgres: ") {
        // A backend: `postgres: <user> <database> <client> <state>`.
        Some(rest) if rest.split_whitespace().count() >= 3 => {
            rest.split_whitespace().nth(1).unwrap_or("?").trim_start_matches("uapi_bench_").to_owned()
        }
        Some(rest) => rest.split_whitespace().next().unwrap_or("?").to_owned(),
        None => "postmaster".to_owned(),
    }
}

pub fn sample() -> Sample {
    let mut ticks = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            // `pid (comm) state ppid …`: comm may hold spaces, so split at the last ')'.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
            let comm = &stat[open + 1..close];
            let Some(g) = group(comm) else { continue };
            let part = match g {
                "postgres" => postgres_part(pid),
                "services" => comm.to_owned(),
                _ => String::new(),
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            // utime and stime are fields 14 and 15 of the line, 12 and 13 after the comm.
            let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) else { continue };
            let (Ok(u), Ok(s)) = (u.parse::<u64>(), s.parse::<u64>()) else { continue };
            ticks.insert(pid, (g, part, u + s));
        }
    }
    Sample { at: Instant::now(), ticks }
}

/// The CPU a workload cost between two samples, by group, in seconds.
pub struct Used {
    pub wall: Duration,
    pub by_group: BTreeMap<&'static str, f64>,
    /// The same by part (a service; Postgres by database or role), for where the time goes.
    pub by_part: BTreeMap<String, f64>,
}

impl Used {
    pub fn between(before: &Sample, after: &Sample) -> Self {
        let mut by_group: BTreeMap<&'static str, f64> = BTreeMap::new();
        let mut by_part: BTreeMap<String, f64> = BTreeMap::new();
        for (pid, (g, part, t)) in &after.ticks {
            // A process started during the workload counts from zero; one that ended is not
            // seen (the bench samples before it stops its workers).
            let before = before.ticks.get(pid).map_or(0, |(_, _, b)| *b);
            let secs = t.saturating_sub(before) as f64 / TICKS_PER_SECOND;
            *by_group.entry(g).or_default() += secs;
            if !part.is_empty() {
                *by_part.entry(format!("{g}:{part}")).or_default() += secs;
            }
        }
        Self { wall: after.at.saturating_duration_since(before.at), by_group, by_part }
    }

    /// The parts that took the most CPU, as cores (CPU seconds per wall second).
    pub fn top_parts(&self, n: usize) -> String {
        let mut parts: Vec<(&String, &f64)> = self.by_part.iter().collect();
        parts.sort_by(|a, b| b.1.total_cmp(a.1));
        let wall = self.wall.as_secs_f64().max(1e-9);
        let shown: Vec<String> = parts.iter().take(n).map(|(p, s)| format!("{p} {:.2}", *s / wall)).collect();
        format!("cores by part: {}", shown.join(", "))
    }

    pub fn total(&self) -> f64 {
        self.by_group.values().sum()
    }

    /// One line: CPU ms per event, by group, and how busy the box was.
    pub fn line(&self, events: usize) -> String {
        let per = |s: f64| s * 1e3 / events.max(1) as f64;
        let groups: Vec<String> = self.by_group.iter().map(|(g, s)| format!("{g} {:.2}", per(*s))).collect();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        format!(
            "CPU {:.2} ms per event ({}), {} events; the box {:.0} % busy ({:.1} of {cores:.0} cores)",
            per(self.total()),
            groups.join(", "),
            events,
            100.0 * self.total() / (cores * self.wall.as_secs_f64().max(1e-9)),
            self.total() / self.wall.as_secs_f64().max(1e-9),
        )
    }
}

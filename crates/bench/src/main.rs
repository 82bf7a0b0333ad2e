//! `uapi-bench`: drives the running system (started by `scripts/bench.sh`) and prints figures.
//! Every request goes to 127.0.0.1, every loop is bounded in count and time.

mod chaos;
mod cpu;
mod floor;
mod load;
mod portal;
mod report;
mod scale;
mod setup;
mod sink;
mod webhooks;

use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    control_plane: String,
    #[arg(long, default_value = "http://127.0.0.1:18082")]
    employee_store: String,
    #[arg(long, env = "UAPI_ADMIN__TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Concurrent HTTP clients for the throughput runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per throughput run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Write rate of the end-to-end latency run.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Skip the throughput runs and measure only the end-to-end latency (at `--rate`); with
    /// `--webhooks-only`, only the SCIM 201 → webhook latency.
    #[arg(long)]
    latency_only: bool,
    /// webhook-dispatcher's API (its `api` role); with it, the webhook figures are measured too.
    #[arg(long)]
    dispatcher: Option<String>,
    /// The webhook-dispatcher binary, started as worker processes by the webhook runs.
    #[arg(long, default_value = "target/release/webhook-dispatcher")]
    dispatcher_bin: String,
    /// The workers' database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/uapi_bench_webhook_dispatcher")]
    dispatcher_db: String,
    /// The workers' queue.
    #[arg(long, default_value = "bench.webhook-dispatcher.events")]
    dispatcher_queue: String,
    /// Only the webhook figures.
    #[arg(long)]
    webhooks_only: bool,
    /// Members of the group-push run's group.
    #[arg(long, default_value_t = 10_000)]
    group_members: usize,
    /// Users the complex-filter run queries over.
    #[arg(long, default_value_t = 100_000)]
    filter_users: usize,
    /// Only the directory-scale figures (group push, complex filter).
    #[arg(long)]
    scale_only: bool,
    /// The portal (started on the bench's APIs); with it, its pages are measured too.
    #[arg(long)]
    portal: Option<String>,
    /// Employees in the consumer whose pages the portal run asks for.
    #[arg(long, default_value_t = 10_000)]
    portal_employees: usize,
    /// Only the portal's figures.
    #[arg(long)]
    portal_only: bool,
    /// The fault campaign of `make chaos` instead: starts the services itself from `--bin-dir`.
    #[arg(long)]
    chaos: bool,
    /// The service binaries the fault campaign starts.
    #[arg(long, default_value = "target/debug")]
    bin_dir: String,
    /// The Postgres server of the fault campaign's databases (`uapi_chaos_*`) and of the floor's.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// RabbitMQ, for the floor.
    #[arg(
        long,
        env = "UAPI_AMQP__URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    amqp: String,
    /// Seconds each floor measurement runs (0: no floor).
    #[arg(long, default_value_t = 5)]
    floor_seconds: u64,
    /// Only the floor.
    #[arg(long)]
    floor_only: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.chaos {
        let setup = chaos::Setup { bin: args.bin_dir, pg: args.pg, admin_token: args.admin_token };
        return chaos::run(setup).await;
    }
    // The box's own floor first, so every figure below can be read against it.
    let floor = if args.floor_seconds > 0 {
        let f = floor::measure(&args.pg, &args.amqp, Duration::from_secs(args.floor_seconds)).await?;
        f.print();
        Some(f)
    } else {
        None
    };
    if args.floor_only {
        return Ok(());
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    if let Some(portal_url) = args.portal.as_deref().filter(|_| args.portal_only) {
        return portal(&client, &args, portal_url).await;
    }
    let target = setup::tenant(&client, &args.control_plane, &args.employee_store, &args.admin_token).await?;
    let secs = Duration::from_secs(args.seconds);

    let spec = args.dispatcher.clone().map(|api| webhooks::WorkerSpec {
        binary: args.dispatcher_bin.clone(),
        database_url: args.dispatcher_db.clone(),
        queue: args.dispatcher_queue.clone(),
        api,
    });
    if args.webhooks_only {
        let spec = spec.ok_or_else(|| anyhow::anyhow!("--webhooks-only needs --dispatcher"))?;
        return webhooks::run(&client, &target, &spec, args.rate, secs, args.latency_only, floor).await;
    }
    if args.scale_only {
        return scale(&client, &target, &args).await;
    }
    if args.latency_only {
        let e2e = load::end_to_end(&client, &target, args.rate, secs).await;
        report::print(&format!("SCIM 201 → readable, writes at {}/s", args.rate), &e2e);
        return Ok(());
    }
    // Warm up connections and caches, then measure.
    load::creates(&client, &target, args.connections, load::Until::Elapsed(Duration::from_secs(2)), "warmup").await;
    let before = cpu::sample();
    let creates = load::creates(&client, &target, args.connections, load::Until::Elapsed(secs), "create").await;
    let used = cpu::Used::between(&before, &cpu::sample());
    report::print(&format!("SCIM POST /Users, {} connections", args.connections), &creates);
    if let Some(f) = floor {
        let rate = creates.ok as f64 / creates.elapsed.as_secs_f64().max(1e-9);
        println!("  {:.2} × the floor's Postgres transactions/s ({:.0}/s)", rate / f.pg_tx, f.pg_tx);
    }
    println!("  {}", used.line(creates.ok));
    match load::drain(&client, &target).await {
        Some(d) => {
            let total = creates.elapsed + d;
            println!(
                "  pipeline caught up {:.1} s after the run: {} creates readable in employee-store in {:.1} s → {:.0}/s end to end",
                d.as_secs_f64(),
                creates.ok,
                total.as_secs_f64(),
                creates.ok as f64 / total.as_secs_f64()
            );
        }
        None => println!("  pipeline did not catch up within 300 s"),
    }

    let lookups = load::lookups(&client, &target, args.connections, secs, creates.ok).await;
    report::print(&format!("SCIM GET /Users?filter=userName eq, {} connections", args.connections), &lookups);

    // At the target rate, and at half of it (what the box sustains with room to spare).
    for rate in [args.rate, args.rate / 2] {
        let e2e = load::end_to_end(&client, &target, rate, secs).await;
        report::print(&format!("SCIM 201 → readable in GET /api/hris/employees/{{id}}, writes at {rate}/s"), &e2e);
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if let Some(spec) = spec {
        webhooks::run(&client, &target, &spec, args.rate, secs, false, floor).await?;
    }
    if let Some(portal_url) = &args.portal {
        portal(&client, &args, portal_url).await?;
    }
    // Last: their users' events would otherwise be the backlog of the runs above.
    scale(&client, &target, &args).await
}

async fn portal(client: &reqwest::Client, args: &Args, portal_url: &str) -> anyhow::Result<()> {
    let (cp, store, admin) = (&args.control_plane, &args.employee_store, &args.admin_token);
    portal::run(client, cp, store, admin, portal_url, args.portal_employees, 400).await
}

async fn scale(client: &reqwest::Client, target: &setup::Target, args: &Args) -> anyhow::Result<()> {
    scale::group_push(client, target, args.group_members, 200).await?;
    scale::complex_filter(client, target, args.filter_users, 20).await
}

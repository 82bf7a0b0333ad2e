//! The portal's pages with 10,000 employees in one consumer: a browser's session signs in, then
//! each page is asked for by 4 concurrent clients; its latency is the portal's whole answer (its
//! API calls included), as a browser waits for it.

use std::time::{Duration, Instant};

use crate::load::{self, Until};
use crate::report::{self, Run};
use crate::setup::{self, Target};

/// Concurrent browsers asking for one page.
const CLIENTS: usize = 4;

/// A signed-in browser session: the cookie it sends.
struct Session {
    http: reqwest::Client,
    portal: String,
    cookie: String,
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let (k, v) = c.split(';').next()?.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_owned())
    })
}

async fn sign_in(portal: &str, target: &Target) -> anyhow::Result<Session> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = http.get(format!("{portal}/signin")).send().await?;
    let pre = set_cookie(&form, "uapi_portal_signin").ok_or_else(|| anyhow::anyhow!("no sign-in cookie"))?;
    let html = form.text().await?;
    let marker = "name=\"_csrf\" value=\"";
    let at = html.find(marker).ok_or_else(|| anyhow::anyhow!("no CSRF field"))? + marker.len();
    let csrf = html[at..].split('"').next().unwrap_or_default();
    let body = format!(
        "_csrf={csrf}&applicationId={}&apiKey={}",
        target.application_id,
        target.api_key.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
    );
    let signed = http
        .post(format!("{portal}/signin"))
        .header("cookie", format!("uapi_portal_signin={pre}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    let cookie = set_cookie(&signed, "uapi_portal_session").ok_or_else(|| anyhow::anyhow!("sign-in refused"))?;
    Ok(Session { http, portal: portal.to_owned(), cookie })
}

impl Session {
    async fn page(&self, path: &str) -> Option<Duration> {
        let started = Instant::now();
        let res = self
            .http
            .get(format!("{}{path}", self.portal))
            .header("cookie", format!("uapi_portal_session={}", self.cookie))
            .send()
            .await
            .ok()?;
        let ok = res.status() == 200;
        res.bytes().await.ok()?;
        ok.then(|| started.elapsed())
    }
}

fn merged(runs: impl IntoIterator<Item = Run>, elapsed: Duration) -> Run {
    let mut all = Run { elapsed, ..Run::default() };
    for run in runs {
        all.ok += run.ok;
        all.errors += run.errors;
        all.latencies.extend(run.latencies);
    }
    all
}

/// `requests` answers of `path`, asked by [`CLIENTS`] browsers of one session at once.
async fn measure(session: &Session, path: &str, requests: usize) -> Run {
    let started = Instant::now();
    let per_client = requests.div_ceil(CLIENTS);
    let runs = futures_util::future::join_all((0..CLIENTS).map(|_| async {
        let mut run = Run::default();
        for _ in 0..per_client {
            match session.page(path).await {
                Some(latency) => {
                    run.ok += 1;
                    run.latencies.push(latency);
                }
                None => run.errors += 1,
            }
        }
        run
    }))
    .await;
    merged(runs, started.elapsed())
}

/// A consumer with `employees` employees, then every page of the portal, `requests` times each.
pub async fn run(
    client: &reqwest::Client,
    control_plane: &str,
    store: &str,
    admin: &str,
    portal: &str,
    employees: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let target = setup::tenant(client, control_plane, store, admin).await?;
    let created = load::creates(client, &target, 32, Until::Count(employees), "portal").await;
    anyhow::ensure!(created.errors == 0, "{} of {employees} creates failed", created.errors);
    load::drain(client, &target).await.ok_or_else(|| anyhow::anyhow!("employee-store did not catch up"))?;
    let first: serde_json::Value = client
        .get(format!("{store}/api/hris/employees?limit=50"))
        .bearer_auth(&target.consumer_token)
        .send()
        .await?
        .json()
        .await?;
    let employee = first["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let email = first["data"][0]["workEmail"].as_str().unwrap_or_default().to_owned();
    let next = first["meta"]["next"].as_str().unwrap_or_default().to_owned();

    let session = sign_in(portal, &target).await?;
    let (c, conn) = (&target.consumer_id, &target.connection_id);
    let pages = [
        ("consumers", "/consumers".to_owned()),
        ("a consumer", format!("/consumers/{c}")),
        ("employees, first page", format!("/consumers/{c}/employees")),
        ("employees, second page", format!("/consumers/{c}/employees?cursor={next}")),
        ("employees by work email", format!("/consumers/{c}/employees?workEmail={}", email.replace('@', "%40"))),
        ("an employee", format!("/consumers/{c}/employees/{employee}")),
        ("groups", format!("/consumers/{c}/groups")),
        ("the Okta SCIM connection", format!("/consumers/{c}/connections/{conn}")),
        ("webhooks", "/webhooks".to_owned()),
        ("event catalog", "/events".to_owned()),
    ];
    println!(
        "Portal pages, {employees} employees in the consumer, {CLIENTS} concurrent browsers, {requests} requests a page"
    );
    let mut runs = Vec::new();
    for (name, path) in &pages {
        // Warm: the session's access tokens, connections to each API.
        measure(&session, path, CLIENTS * 2).await;
        let run = measure(&session, path, requests).await;
        report::print(&format!("  {name}"), &run);
        runs.push(run);
    }
    let elapsed = runs.iter().map(|r| r.elapsed).sum();
    report::print("  every page", &merged(runs, elapsed));

    // The reference, measured in the same run: the API calls behind the two slowest pages, alone.
    println!("The same listings from employee-store's API directly (the portal's floor)");
    for (name, path) in
        [("employees, first page", String::new()), ("employees, second page", format!("&cursor={next}"))]
    {
        let url = format!("{store}/api/hris/employees?limit=50{path}");
        let api = api_alone(client, &url, &target.consumer_token, requests).await;
        report::print(&format!("  {name}"), &api);
    }
    Ok(())
}

/// `requests` answers of `url` with `token`, asked by [`CLIENTS`] clients at once.
async fn api_alone(client: &reqwest::Client, url: &str, token: &str, requests: usize) -> Run {
    let started = Instant::now();
    let runs = futures_util::future::join_all((0..CLIENTS).map(|_| async {
        let mut run = Run::default();
        for _ in 0..requests.div_ceil(CLIENTS) {
            let t = Instant::now();
            let answered = match client.get(url).bearer_auth(token).send().await {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            if answered {
                run.ok += 1;
                run.latencies.push(t.elapsed());
            } else {
                run.errors += 1;
            }
        }
        run
    }))
    .await;
    merged(runs, started.elapsed())
}

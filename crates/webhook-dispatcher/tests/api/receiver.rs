//! A webhook receiver on 127.0.0.1:0 whose answer to the n-th request the test decides.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// How to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with one extra header.
    WithHeader(u16, &'static str, String),
    /// Wait this long, then 200.
    Hang(Duration),
}

type Behaviour = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

pub struct Receiver {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    /// Answers the n-th request (0-based) with `behaviour(n)`.
    pub fn start(behaviour: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let behaviour: Behaviour = Arc::new(behaviour);
        let (h, b) = (hits.clone(), behaviour.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = HttpServer::new(move || {
            App::new().app_data(web::Data::new((h.clone(), b.clone()))).default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), hits }
    }

    /// Answers every request with `status`.
    pub fn always(status: u16) -> Receiver {
        Self::start(move |_| Reply::Status(status))
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_hits(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let count = self.hits.lock().expect("lock").len();
            if count >= n {
                return self.hits();
            }
            assert!(Instant::now() < deadline, "{} got {count} of {n} requests within {within:?}", self.url);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<(Arc<Mutex<Vec<Hit>>>, Behaviour)>,
) -> HttpResponse {
    let headers =
        req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect();
    let hit = Hit { headers, body: String::from_utf8_lossy(&body).into_owned(), at: Instant::now() };
    let n = {
        let mut hits = state.0.lock().expect("lock");
        hits.push(hit);
        hits.len() - 1
    };
    let status = |s: u16| actix_web::http::StatusCode::from_u16(s).expect("status");
    match (state.1)(n) {
        Reply::Status(s) => HttpResponse::build(status(s)).body(format!("reply {n}")),
        Reply::WithHeader(s, name, value) => HttpResponse::build(status(s)).insert_header((name, value)).finish(),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            HttpResponse::Ok().finish()
        }
    }
}

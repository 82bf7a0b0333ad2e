//! A webhook receiver on 127.0.0.1 that keeps every request it gets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

pub type Inbox = Arc<Mutex<Vec<(http::HeaderMap, web::Bytes)>>>;

/// A receiver on 127.0.0.1 that keeps every request and answers 204.
pub fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let kept = inbox.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || {
        let kept = kept.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let kept = kept.clone();
            async move {
                let mut headers = http::HeaderMap::new();
                for (k, v) in req.headers() {
                    if let (Ok(k), Ok(v)) = (
                        http::HeaderName::from_bytes(k.as_str().as_bytes()),
                        http::HeaderValue::from_bytes(v.as_bytes()),
                    ) {
                        headers.insert(k, v);
                    }
                }
                kept.lock().expect("lock").push((headers, body));
                HttpResponse::NoContent().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/webhooks"), inbox)
}

pub async fn wait_for(inbox: &Inbox, n: usize) -> Vec<(http::HeaderMap, web::Bytes)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = inbox.lock().expect("lock").clone();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "the receiver got {} of {n} webhooks", got.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

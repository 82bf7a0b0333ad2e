//! `uapi webhooks listen`: a local receiver for trying webhooks without a public URL. It accepts
//! POSTs on 127.0.0.1, verifies the Standard Webhooks signature (and that the timestamp is within
//! five minutes), prints one line per event, and answers 200, or 401 when the signature is wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::CliError;

/// Largest request accepted.
const MAX_REQUEST: usize = 4 * 1024 * 1024;
/// Accepted distance between the webhook's timestamp and now.
const TOLERANCE_SECS: i64 = 300;

pub async fn run(port: u16, secret: &str, json: bool) -> Result<(), CliError> {
    let key = STANDARD
        .decode(secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim()))
        .map_err(|_| CliError::Usage("--secret must be the subscription's whsec_… secret".into()))?;
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| CliError::Unavailable(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    eprintln!("Listening on http://127.0.0.1:{port}/ (Ctrl-C stops); webhooks with a bad signature get 401");
    loop {
        let (stream, _) = listener.accept().await?;
        let key = key.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(stream, &key, json).await {
                eprintln!("connection error: {e}");
            }
        });
    }
}

/// One request per connection (`Connection: close`).
async fn serve(mut stream: TcpStream, key: &[u8], json: bool) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut stream).await? else {
        return respond(&mut stream, 400, "malformed request").await;
    };
    let header = |name: &str| {
        head.lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (id, ts, sig) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    if let Err(why) = verify(key, &id, &ts, &sig, &body) {
        eprintln!("rejected {id}: {why}");
        return respond(&mut stream, 401, why).await;
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(event) if json => println!("{event}"),
        Ok(event) => {
            let changed: Vec<String> = event["changedFields"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            println!(
                "{}  {}  v{}  [{}]",
                event["eventType"].as_str().unwrap_or("?"),
                event["entityId"].as_str().unwrap_or("?"),
                event["version"],
                changed.join(",")
            );
        }
        Err(_) => println!("{}", String::from_utf8_lossy(&body)),
    }
    respond(&mut stream, 200, "ok").await
}

/// Checks the Standard Webhooks signature of `body`.
pub fn verify(key: &[u8], id: &str, ts: &str, signatures: &str, body: &[u8]) -> Result<(), &'static str> {
    if id.is_empty() || ts.is_empty() || signatures.is_empty() {
        return Err("missing webhook-id, webhook-timestamp or webhook-signature");
    }
    let t: i64 = ts.parse().map_err(|_| "webhook-timestamp is not a number")?;
    if (chrono::Utc::now().timestamp() - t).abs() > TOLERANCE_SECS {
        return Err("webhook-timestamp is too far from now");
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| "bad secret")?;
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let ok = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if ok { Ok(()) } else { Err("no valid signature") }
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return Ok(None);
    }
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some((head, body)))
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        _ => "Bad Request",
    };
    let res = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(res.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_vector_verifies_and_a_tampered_body_does_not() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("mac");
        let ts = chrono::Utc::now().timestamp().to_string();
        mac.update(format!("msg_1.{ts}.").as_bytes());
        mac.update(b"{}");
        let sig = format!("v1,bogus v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert!(verify(&key, "msg_1", &ts, &sig, b"{}").is_ok());
        assert!(verify(&key, "msg_1", &ts, &sig, b"{ }").is_err());
        assert!(verify(&key, "msg_1", "1", &sig, b"{}").is_err(), "stale timestamp");
    }
}

//! The connection wrapper that gives actix-http's own error responses a body.
//!
//! actix-http answers some requests before any service sees them: a head over 128 KiB or with more
//! than 96 headers (431), a malformed request line, URI or header (400), a head that does not
//! arrive within `client_request_timeout` (408), and an internal decoding failure (500). Those
//! responses have an empty body and there is no hook to change them, so the only place left is the
//! byte stream: [`Guarded`] sits between the socket and the dispatcher, remembers the start of the
//! request being read, and replaces such an empty error head by the same status with a problem (or
//! SCIM Error) body, exactly as the service's own errors look.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::StatusCode;
use actix_web::http::header;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::problem::{ErrorStyle, Problem};

/// How much of each request is kept to tell which API it was for: the method and the target's
/// start, enough for an absolute-form target (`http://host:port/scim/…`) with a long host name.
const REQUEST_START_BYTES: usize = 128;

/// After a rewritten error the server closes; unread input left in the socket would make the kernel
/// answer with a reset that can destroy the response before the client reads it. So the socket is
/// half-closed and drained, bounded in bytes and time.
const LINGER_BYTES: usize = 1024 * 1024;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// A TCP connection whose empty HTTP-layer error responses get a body (see the module docs).
pub(crate) struct Guarded {
    /// Always `Some` until dropped; taken by `Drop` to linger.
    io: Option<TcpStream>,
    style: ErrorStyle,
    request_start: [u8; REQUEST_START_BYTES],
    request_start_len: usize,
    /// Whether the bytes read next still belong to the start of the current request.
    capturing: bool,
    /// A rewritten head being written in place of the dispatcher's.
    pending: Option<Replacement>,
    rewrote: bool,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// The length of the dispatcher's head this stands for: what `poll_write` reports once done.
    replaces: usize,
}

impl Guarded {
    pub(crate) fn new(io: TcpStream, style: ErrorStyle) -> Self {
        Self {
            io: Some(io),
            style,
            request_start: [0; REQUEST_START_BYTES],
            request_start_len: 0,
            capturing: true,
            pending: None,
            rewrote: false,
        }
    }

    fn io(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        self.io.as_mut().map(Pin::new).ok_or_else(|| io::ErrorKind::NotConnected.into())
    }

    fn capture(&mut self, read: &[u8]) {
        if !self.capturing {
            return;
        }
        let start = self.request_start_len;
        let n = read.len().min(REQUEST_START_BYTES - start);
        self.request_start[start..start + n].copy_from_slice(&read[..n]);
        self.request_start_len += n;
        self.capturing = self.request_start_len < REQUEST_START_BYTES;
    }

    /// Writes the pending replacement to the end; `Ready` only once every byte is in the socket,
    /// because the dispatcher drops the connection as soon as its error head counts as written.
    fn poll_write_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some(pending) = self.pending.as_ref() else {
                return Poll::Ready(Ok(0));
            };
            if pending.written == pending.bytes.len() {
                let replaces = pending.replaces;
                self.pending = None;
                return Poll::Ready(Ok(replaces));
            }
            let Some(io) = self.io.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match Pin::new(io).poll_write(cx, &pending.bytes[pending.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    if let Some(p) = self.pending.as_mut() {
                        p.written += n;
                    }
                }
                Poll::Ready(Err(e)) => {
                    self.pending = None;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = this.io()?.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.capture(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pending.is_some() {
            // The dispatcher retries with the same head after `Pending`; it is being replaced.
            return this.poll_write_pending(cx).map_ok(|n| n.min(buf.len()));
        }
        if starts_final_response(buf) {
            let start = &this.request_start[..this.request_start_len];
            if let Some(bytes) = rewrite(buf, start, this.style) {
                this.pending = Some(Replacement { bytes, written: 0, replaces: buf.len() });
                this.rewrote = true;
            }
            // The client sends its next request only after this response, so the next bytes read
            // start it (pipelined requests may be misattributed, which only affects the body style).
            this.request_start_len = 0;
            this.capturing = true;
            if this.pending.is_some() {
                return this.poll_write_pending(cx);
            }
        }
        this.io()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io()?.poll_shutdown(cx)
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if !self.rewrote {
            return;
        }
        let (Some(io), Ok(runtime)) = (self.io.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        runtime.spawn(linger(io));
    }
}

/// Half-closes `io` so the client sees the end of the response, then reads and discards what it
/// still sends, so closing does not reset the connection under the unread response.
async fn linger(mut io: TcpStream) {
    let _ = poll_fn(|cx| Pin::new(&mut io).poll_shutdown(cx)).await;
    let drain = async {
        let mut buf = vec![0; 16 * 1024];
        let mut left = LINGER_BYTES;
        while left > 0 {
            if io.readable().await.is_err() {
                return;
            }
            match io.try_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// Whether `buf` begins a response head other than an interim (1xx) one.
fn starts_final_response(buf: &[u8]) -> bool {
    (buf.starts_with(b"HTTP/1.1 ") || buf.starts_with(b"HTTP/1.0 ")) && buf.get(9).is_some_and(|&d| d != b'1')
}

/// The HTTP layer's empty error `head` as the same status with a body in `style`, for the request
/// that began with `request_start`; `None` leaves anything else (a head with a body, a status the
/// HTTP layer does not produce, more than one head) untouched.
fn rewrite(head: &[u8], request_start: &[u8], style: ErrorStyle) -> Option<Vec<u8>> {
    // Every response passes here: rule out the others before scanning their bytes.
    if !matches!(head.get(9..12), Some(b"400" | b"408" | b"431" | b"500")) {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?;
    let end = head.find("\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let mut lines = head[..end].split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.get(9..12)?.parse::<u16>().ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    let (slug, detail) = match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "request-head-too-large",
            "the request line and headers exceed 128 KiB (or 96 headers); send long SCIM filters with POST /.search",
        ),
        StatusCode::BAD_REQUEST => {
            ("bad-request", "malformed HTTP request: request line, URI (at most 65,534 bytes) or headers")
        }
        StatusCode::REQUEST_TIMEOUT => ("request-timeout", "the request head did not arrive in time"),
        StatusCode::INTERNAL_SERVER_ERROR => {
            let internal = Problem::internal();
            return render(status_line, lines, request_start, style, internal);
        }
        _ => return None,
    };
    render(status_line, lines, request_start, style, Problem::new(status, slug, detail))
}

fn render<'a>(
    status_line: &str,
    headers: impl Iterator<Item = &'a str>,
    request_start: &[u8],
    style: ErrorStyle,
    problem: Problem,
) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    let (mut empty, mut camel_case) = (false, false);
    for line in headers {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            empty = value == "0";
            camel_case = name.starts_with('C');
        } else if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        } else if !name.eq_ignore_ascii_case("connection") {
            kept.push(line);
        }
    }
    if !empty {
        return None;
    }
    // The very response the service itself sends for this problem on this path.
    let response = style.respond(&request_path(request_start), problem);
    let content_type = response.headers().get(header::CONTENT_TYPE)?.to_str().ok()?.to_owned();
    let body = response.into_body().try_into_bytes().ok()?;
    let names: [&str; 3] = if camel_case {
        ["Content-Type", "Content-Length", "Connection"]
    } else {
        ["content-type", "content-length", "connection"]
    };
    let mut out = format!("{status_line}\r\n");
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "{}: {content_type}\r\n{}: {}\r\n{}: close\r\n\r\n",
        names[0],
        names[1],
        body.len(),
        names[2]
    ));
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// The path a request line targets (`GET /scim/v2/Users?… HTTP/1.1` → `/scim/v2/Users?…`), also for
/// an absolute-form target; as much as `request_start` holds of it, empty when it holds none.
fn request_path(request_start: &[u8]) -> String {
    let valid = match std::str::from_utf8(request_start) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&request_start[..e.valid_up_to()]).unwrap_or_default(),
    };
    let line = valid.trim_start_matches(['\r', '\n']);
    let Some((_method, rest)) = line.split_once(' ') else {
        return String::new();
    };
    let target = rest.split([' ', '\r', '\n']).next().unwrap_or_default();
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let after_scheme = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return target.to_owned();
    };
    after_scheme.find('/').map(|i| after_scheme[i..].to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const DATE: &str = "date: Sun, 07 Dec 2026 10:00:00 GMT";
    const SCIM: ErrorStyle = ErrorStyle::ScimUnder("/scim/");

    fn head(status: &str, headers: &[&str]) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {status}\r\n");
        for h in headers {
            s.push_str(h);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    /// The rewritten response as (head, body as JSON).
    fn split(out: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn an_oversized_scim_request_gets_a_scim_error() {
        let h = head("431 Request Header Fields Too Large", &["content-length: 0", DATE]);
        let out = rewrite(&h, b"GET /scim/v2/Users?filter=userName%20eq%20%22aaaa", SCIM).unwrap();
        let (head, body) = split(&out);
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/scim+json\r\n"), "{head}");
        assert!(head.contains("\r\nconnection: close"), "{head}");
        assert!(head.contains(DATE), "{head}");
        assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!(body["status"], "431");
        assert!(body["detail"].as_str().unwrap().contains("POST /.search"));
        let length = out.len() - head.len() - 4;
        assert!(head.contains(&format!("\r\ncontent-length: {length}\r\n")), "{head}");
    }

    #[test]
    fn other_paths_and_problem_services_get_a_problem() {
        let h = head("400 Bad Request", &["content-length: 0", DATE]);
        for (style, start) in [(SCIM, &b"GET /livez?x HTTP/1.1\r\n"[..]), (ErrorStyle::Problem, b"GET /scim/v2/Users")]
        {
            let out = rewrite(&h, start, style).unwrap();
            let (head, body) = split(&out);
            assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
            assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"), "{head}");
            assert_eq!(body["status"], 400);
            assert_eq!(body["type"], "https://uapi-hris.dev/problems/bad-request");
            assert!(body["detail"].as_str().unwrap().contains("65,534"));
        }
    }

    #[test]
    fn a_timeout_without_any_request_gets_a_problem() {
        let h = head("408 Request Timeout", &["content-length: 0", "connection: close", DATE]);
        let out = rewrite(&h, b"", SCIM).unwrap();
        let (head, body) = split(&out);
        assert_eq!(head.matches("connection").count(), 1, "{head}");
        assert_eq!(body["status"], 408);
        assert_eq!(body["detail"], "the request head did not arrive in time");
    }

    #[test]
    fn absolute_form_targets_are_matched_by_their_path() {
        assert_eq!(request_path(b"GET http://scim.example:8080/scim/v2/Users HTTP/1.1"), "/scim/v2/Users");
        assert_eq!(request_path(b"GET HTTPS://h/scim/x"), "/scim/x");
        assert_eq!(request_path(b"GET http://host-only"), "");
        assert_eq!(request_path(b"\r\nPOST /scim/v2/Users HTTP/1.1"), "/scim/v2/Users");
        assert_eq!(request_path(b"GARBAGE"), "");
        assert_eq!(request_path(b"GET /\xffx"), "/");
        let h = head("431 Request Header Fields Too Large", &["content-length: 0"]);
        let out = rewrite(&h, b"GET http://scim.example/scim/v2/Users?filter=", SCIM).unwrap();
        assert!(split(&out).0.contains("application/scim+json"));
    }

    #[test]
    fn camel_case_heads_are_recognised_and_answered_alike() {
        let h = head("431 Request Header Fields Too Large", &["Content-Length: 0", "Connection: close", "Date: x"]);
        let out = rewrite(&h, b"GET /scim/v2/Users", SCIM).unwrap();
        let (head, body) = split(&out);
        assert!(head.contains("\r\nContent-Type: application/scim+json\r\n"), "{head}");
        assert!(head.contains("\r\nConnection: close"), "{head}");
        assert!(head.contains("\r\nDate: x\r\n"), "{head}");
        assert!(!head.contains("\r\nConnection: close\r\nDate"), "the old connection line is dropped: {head}");
        assert_eq!(body["status"], "431");
    }

    #[test]
    fn a_server_error_gets_the_internal_problem() {
        let h = head("500 Internal Server Error", &["content-length: 0"]);
        let (_, body) = split(&rewrite(&h, b"POST /api/x HTTP/1.1", ErrorStyle::Problem).unwrap());
        assert_eq!(body, serde_json::to_value(Problem::internal()).unwrap());
    }

    #[test]
    fn anything_else_is_left_untouched() {
        let untouched = [
            // Responses that already have a body, or one of unknown length.
            head("400 Bad Request", &["content-length: 17", "content-type: application/problem+json"]),
            head("400 Bad Request", &["content-length: 0", "content-type: text/plain"]),
            head("500 Internal Server Error", &["transfer-encoding: chunked"]),
            head("500 Internal Server Error", &[DATE]),
            // Statuses the HTTP layer does not produce on its own.
            head("404 Not Found", &["content-length: 0"]),
            head("204 No Content", &[DATE]),
            head("413 Payload Too Large", &["content-length: 0"]),
        ];
        for h in untouched {
            assert_eq!(rewrite(&h, b"GET /scim/v2/Users", SCIM), None, "{}", String::from_utf8_lossy(&h));
        }
        // A head followed by a body, two heads, a partial head, not a head at all.
        let mut with_body = head("400 Bad Request", &["content-length: 0"]);
        with_body.extend_from_slice(b"x");
        let mut twice = head("400 Bad Request", &["content-length: 0"]);
        twice.extend_from_slice(&head("400 Bad Request", &["content-length: 0"]));
        for other in [with_body, twice, b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n".to_vec(), b"{}".to_vec()] {
            assert_eq!(rewrite(&other, b"GET /", ErrorStyle::Problem), None);
        }
    }

    #[test]
    fn only_final_response_heads_are_considered() {
        assert!(starts_final_response(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(starts_final_response(b"HTTP/1.0 400 Bad Request\r\n"));
        assert!(!starts_final_response(b"HTTP/1.1 100 Continue\r\n\r\n"));
        assert!(!starts_final_response(b"{\"status\":400}"));
    }
}

//! Request bodies: whatever the Content-Type (Okta's test tools send `application/json`,
//! `application/scim+json` or none), a present body is read up to the limit and parsed as JSON.

use actix_web::http::StatusCode;
use actix_web::web;
use futures_util::StreamExt;
use serde_json::Value;

use super::error::{ScimError, ScimResult};

/// Reads the whole body (at most `limit` bytes) and parses it as a JSON object.
pub async fn json_object(mut payload: web::Payload, limit: usize) -> ScimResult<Value> {
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ScimError::bad_request("invalidSyntax", format!("cannot read body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                format!("request body exceeds the limit of {limit} bytes"),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::bad_request("invalidSyntax", "request body is empty; a JSON object is required"));
    }
    let value: Value = serde_json::from_slice(&buf)
        .map_err(|e| ScimError::bad_request("invalidSyntax", format!("request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ScimError::bad_request("invalidSyntax", "request body must be a JSON object"));
    }
    Ok(value)
}

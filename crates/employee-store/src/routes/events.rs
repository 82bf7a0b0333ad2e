//! `/api/hris/events` (consumer scope): the consumer's employee and group events, each exactly as
//! its webhook body, in an order that never skips an event committed later. A receiver that
//! missed webhooks, or wants no webhooks at all, reads from its last cursor.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uapi_events::webhook::WebhookBody;
use uapi_platform::error::ApiResult;
use uapi_platform::openapi::{ListErrors, Routes};
use uapi_platform::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
use uapi_platform::problem::Problem;
use uapi_platform::tombstones::LiveConsumer;
use utoipa::{IntoParams, ToSchema};

use crate::db::feed::{self, Position};
use crate::state::AppState;

pub fn register(routes: &mut Routes<'_>) {
    routes.get("/api/hris/events", list);
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// `meta.next` of an earlier read; from the start without it.
    after: Option<String>,
    /// Events per read, 1–200 (default 50).
    limit: Option<i64>,
}

/// A read of the feed.
#[derive(Serialize, ToSchema)]
struct FeedPage<'a> {
    /// The events, oldest first, each exactly its webhook body.
    #[schema(value_type = Vec<WebhookBody<'static>>)]
    data: Vec<&'a Value>,
    meta: FeedMeta,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FeedMeta {
    /// Where to read on from (`?after=`): always set; store it.
    next: String,
    /// Whether a read from `next` would return more right now.
    has_more: bool,
    /// How many events `data` holds.
    items_on_page: usize,
}

/// Cursors are opaque: base64url of `<xid>.<seq>`.
fn encode(p: &Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", p.xid, p.seq))
}

fn decode(cursor: &str) -> Option<Position> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (xid, seq) = text.split_once('.')?;
    let xid: u64 = xid.parse().ok()?;
    let seq: i64 = seq.parse().ok().filter(|s| *s >= 0)?;
    Some(Position { xid: xid.to_string(), seq })
}

/// Read the consumer's events feed from a cursor.
#[utoipa::path(
    get,
    path = "/api/hris/events",
    operation_id = "readEvents",
    tag = "events",
    params(FeedQuery),
    responses(
        (status = 200, description = "Events after the cursor; never skips one committed later.", body = FeedPage<'static>), ListErrors)
)]
async fn list(who: LiveConsumer, state: web::Data<AppState>, query: web::Query<FeedQuery>) -> ApiResult<HttpResponse> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::bad_request(format!("limit must be between 1 and {MAX_LIMIT}")).into());
    }
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => Position::start(),
        Some(a) => decode(a).ok_or_else(|| Problem::bad_request("after is not a cursor of this feed"))?,
    };
    let mut conn = state.pool.get().await?;
    let mut rows = feed::read(&mut conn, who.consumer_id, &after, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = rows.last().map(|(p, _)| p).unwrap_or(&after);
    let meta = FeedMeta { next: encode(next), has_more, items_on_page: rows.len() };
    Ok(HttpResponse::Ok().json(FeedPage { data: rows.iter().map(|(_, body)| body).collect(), meta }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let p = Position { xid: "123456".into(), seq: 42 };
        assert_eq!(decode(&encode(&p)), Some(p));
        for bad in ["", "!!", "MTIz", "eC4x", "LTEuMQ"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}

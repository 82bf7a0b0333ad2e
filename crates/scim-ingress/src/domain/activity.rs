//! A connection's directory status: its counts, its last SCIM request, its last successful write
//! and its recent errors (`GET /api/scim/status`).
//!
//! Requests are noted in memory, a lock and a map entry per request: SCIM writes are benchmarked,
//! and a statement per request would add a round trip to each. A background task writes what
//! changed every `scim.activity_flush_ms` in one transaction, so a connection costs at most one
//! row update per flush. A status read merges the stored rows with what this replica has not
//! written yet: current at once here, on other replicas within a flush. What a crash loses is at
//! most one flush interval of status, never SCIM data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uapi_platform::db::PgPool;
use uuid::Uuid;

use crate::db::activity::{self, ErrorRow, RECENT_ERRORS, Stamp};
use crate::scim::error::{ScimError, ScimResult};

/// The longest `path` and `detail` kept: enough to recognise the request and its cause, while a
/// detail that quotes a 64 KiB value does not fill the table.
const MAX_PATH: usize = 512;
const MAX_DETAIL: usize = 1024;

/// What one replica saw of a connection since its last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub last_request_at: DateTime<Utc>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// Oldest first, at most [`RECENT_ERRORS`].
    pub errors: Vec<ErrorRow>,
}

impl Seen {
    fn absorb(&mut self, other: &Seen) {
        self.last_request_at = self.last_request_at.max(other.last_request_at);
        self.last_push_at = self.last_push_at.max(other.last_push_at);
        self.errors = newest(self.errors.iter().chain(&other.errors).cloned());
        self.errors.reverse();
    }
}

/// The newest [`RECENT_ERRORS`] of `errors`, each once, newest first.
fn newest(errors: impl IntoIterator<Item = ErrorRow>) -> Vec<ErrorRow> {
    let mut all: Vec<ErrorRow> = errors.into_iter().collect();
    all.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    all.dedup_by_key(|e| e.id);
    all.truncate(RECENT_ERRORS);
    all
}

/// One answered SCIM request of a known connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub at: DateTime<Utc>,
    /// A write answered 2xx.
    pub pushed: bool,
    /// Set when the answer is an error worth showing.
    pub error: Option<Failure>,
}

/// An error answer as `recentErrors` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: String,
}

/// `s` without NUL (Postgres text holds none) and cut to `max` bytes at a character boundary.
fn bounded(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| *c != '\0').collect();
    if out.len() > max {
        let cut = (0..=max).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Every connection's unwritten activity.
#[derive(Default)]
pub struct Activity {
    pending: Mutex<HashMap<Uuid, Seen>>,
    /// What a flush is writing, still shown by status reads until it has committed.
    flushing: Mutex<Option<Arc<HashMap<Uuid, Seen>>>>,
}

/// A poisoned lock still holds consistent data here: every update is a single assignment.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Activity {
    /// Notes a request of `connection`.
    pub fn note(&self, connection: Uuid, request: Request) {
        let error = request.error.map(|f| ErrorRow {
            id: Uuid::now_v7(),
            connection_id: connection,
            at: request.at,
            method: bounded(&f.method, MAX_PATH),
            path: bounded(&f.path, MAX_PATH),
            status: i32::from(f.status),
            scim_type: f.scim_type.map(|t| bounded(&t, MAX_PATH)),
            detail: bounded(&f.detail, MAX_DETAIL),
        });
        let mut pending = lock(&self.pending);
        let seen = pending.entry(connection).or_insert_with(|| Seen {
            last_request_at: request.at,
            last_push_at: None,
            errors: Vec::new(),
        });
        seen.last_request_at = seen.last_request_at.max(request.at);
        if request.pushed {
            seen.last_push_at = seen.last_push_at.max(Some(request.at));
        }
        if let Some(error) = error {
            if seen.errors.len() == RECENT_ERRORS {
                seen.errors.remove(0);
            }
            seen.errors.push(error);
        }
    }

    /// What this replica saw of `connection` and has not committed yet.
    pub fn unwritten(&self, connection: Uuid) -> Option<Seen> {
        // Both locks at once, in the order `begin_flush` takes them: an entry moving from one
        // map to the other is seen in exactly one.
        let pending = lock(&self.pending);
        let flushing = lock(&self.flushing);
        let mut seen = pending.get(&connection).cloned();
        if let Some(writing) = flushing.as_ref().and_then(|f| f.get(&connection)) {
            match seen.as_mut() {
                Some(seen) => seen.absorb(writing),
                None => seen = Some(writing.clone()),
            }
        }
        seen
    }

    fn begin_flush(&self) -> Option<Arc<HashMap<Uuid, Seen>>> {
        let mut pending = lock(&self.pending);
        if pending.is_empty() {
            return None;
        }
        let batch = Arc::new(std::mem::take(&mut *pending));
        *lock(&self.flushing) = Some(batch.clone());
        Some(batch)
    }

    /// Ends a flush; a batch that could not be written goes back to be written with the next.
    fn end_flush(&self, unwritten: Option<&HashMap<Uuid, Seen>>) {
        let mut pending = lock(&self.pending);
        for (connection, seen) in unwritten.into_iter().flatten() {
            match pending.get_mut(connection) {
                Some(newer) => newer.absorb(seen),
                None => {
                    pending.insert(*connection, seen.clone());
                }
            }
        }
        *lock(&self.flushing) = None;
    }

    /// Writes what changed since the last flush. A database that is down keeps it for the next
    /// flush; any other failure drops it (logged), so one bad batch cannot block the rest forever.
    pub async fn flush(&self, pool: &PgPool) {
        let Some(batch) = self.begin_flush() else {
            return;
        };
        let stamps: Vec<Stamp> = batch
            .iter()
            .map(|(id, seen)| Stamp {
                connection_id: *id,
                last_request_at: seen.last_request_at,
                last_push_at: seen.last_push_at,
            })
            .collect();
        let errors: Vec<ErrorRow> = batch.values().flat_map(|seen| seen.errors.iter().cloned()).collect();
        let written: ScimResult<()> = async {
            let mut conn = pool.get().await?;
            activity::save(&mut conn, &stamps, &errors).await?;
            Ok(())
        }
        .await;
        match written {
            Ok(()) => self.end_flush(None),
            Err(ScimError::Unavailable(cause) | ScimError::Contended(cause)) => {
                tracing::warn!(%cause, connections = stamps.len(), "connection activity kept for the next flush");
                self.end_flush(Some(&batch));
            }
            Err(e) => {
                tracing::error!(error = ?e, connections = stamps.len(), "connection activity dropped");
                self.end_flush(None);
            }
        }
    }
}

/// Flushes `activity` every `every` until `stop`, then once more.
pub async fn flush_until(activity: Arc<Activity>, pool: PgPool, every: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => activity.flush(&pool).await,
        }
    }
    activity.flush(&pool).await;
}

/// A connection's directory status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub users: i64,
    pub groups: i64,
    pub last_request_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// Newest first, at most [`RECENT_ERRORS`].
    pub recent_errors: Vec<ErrorRow>,
}

/// The status of `connection`: the stored rows merged with this replica's unwritten activity.
pub async fn status(pool: &PgPool, activity: &Activity, connection: Uuid) -> ScimResult<Status> {
    // Memory before the rows: an entry committed and cleared in between is then in the rows.
    let unwritten = activity.unwritten(connection);
    let mut conn = pool.get().await?;
    let stored = activity::stored(&mut conn, connection).await?;
    let errors = activity::recent_errors(&mut conn, connection).await?;
    let (mut last_request_at, mut last_push_at) = (stored.last_request_at, stored.last_push_at);
    let mut recent_errors = errors;
    if let Some(seen) = unwritten {
        last_request_at = last_request_at.max(Some(seen.last_request_at));
        last_push_at = last_push_at.max(seen.last_push_at);
        recent_errors = newest(recent_errors.into_iter().chain(seen.errors));
    }
    Ok(Status { users: stored.users, groups: stored.groups, last_request_at, last_push_at, recent_errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: u16) -> Request {
        Request {
            at: crate::db::now(),
            pushed: false,
            error: Some(Failure {
                method: "GET".into(),
                path: "/scim/v2/Users".into(),
                status,
                scim_type: None,
                detail: "x".into(),
            }),
        }
    }

    #[test]
    fn a_connection_keeps_its_newest_errors_and_latest_times() {
        let activity = Activity::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        for status in 400..400 + RECENT_ERRORS as u16 + 2 {
            activity.note(a, failed(status));
        }
        let pushed = Request { at: crate::db::now(), pushed: true, error: None };
        activity.note(a, pushed.clone());
        let seen = activity.unwritten(a).expect("noted");
        let statuses: Vec<i32> = seen.errors.iter().map(|e| e.status).collect();
        assert_eq!(statuses, (402..412).collect::<Vec<_>>(), "oldest first, the two oldest gone");
        assert_eq!((seen.last_request_at, seen.last_push_at), (pushed.at, Some(pushed.at)));
        assert_eq!(activity.unwritten(b), None);
    }

    #[test]
    fn an_entry_being_flushed_stays_visible_and_a_failed_flush_keeps_it() {
        let activity = Activity::default();
        let a = Uuid::now_v7();
        activity.note(a, failed(400));
        let batch = activity.begin_flush().expect("something to flush");
        activity.note(a, failed(500));
        let seen = activity.unwritten(a).expect("visible while flushing");
        assert_eq!(seen.errors.iter().map(|e| e.status).collect::<Vec<_>>(), [400, 500]);
        activity.end_flush(Some(&batch));
        assert_eq!(activity.unwritten(a), Some(seen), "merged back without duplicates");
        let batch = activity.begin_flush().expect("kept");
        activity.end_flush(None);
        assert_eq!(batch.len(), 1);
        assert_eq!(activity.unwritten(a), None, "written");
    }

    #[test]
    fn long_or_nul_text_is_bounded() {
        assert_eq!(bounded("a\0b", 10), "ab");
        let long = "é".repeat(600);
        let cut = bounded(&long, MAX_PATH);
        assert!(cut.len() <= MAX_PATH + '…'.len_utf8() && cut.ends_with('…'), "{}", cut.len());
    }
}

//! Subscriptions, always scoped to their application.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uapi_platform::pagination::Page;
use uapi_platform::prepared::Prepared;
use uuid::Uuid;

use super::schema::subscriptions;

pub const ENABLED: &str = "Enabled";
pub const DISABLED: &str = "Disabled";

/// A subscription row; its secrets are sealed ([`crate::sealing`]) and `Debug` shows neither.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions)]
#[diesel(treat_none_as_null = true)]
pub struct Subscription {
    pub id: Uuid,
    pub application_id: Uuid,
    pub unified_api: String,
    pub delivery_url: String,
    pub events: Vec<String>,
    pub status: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("delivery_url", &self.delivery_url)
            .field("events", &self.events)
            .field("status", &self.status)
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// Whether this subscription wants events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == event_type)
    }
}

pub async fn insert(conn: &mut AsyncPgConnection, s: &Subscription) -> QueryResult<()> {
    diesel::insert_into(subscriptions::table).values(s).execute(conn).await.map(|_| ())
}

/// Writes every field of `s` (found by id and application).
pub async fn update(conn: &mut AsyncPgConnection, s: &Subscription) -> QueryResult<bool> {
    diesel::update(
        subscriptions::table.filter(subscriptions::id.eq(s.id).and(subscriptions::application_id.eq(s.application_id))),
    )
    .set((
        subscriptions::delivery_url.eq(&s.delivery_url),
        subscriptions::events.eq(&s.events),
        subscriptions::status.eq(&s.status),
        subscriptions::secret.eq(&s.secret),
        subscriptions::previous_secret.eq(&s.previous_secret),
        subscriptions::previous_secret_expires_at.eq(s.previous_secret_expires_at),
        subscriptions::disabled_reason.eq(&s.disabled_reason),
        subscriptions::disabled_at.eq(s.disabled_at),
        subscriptions::failing_since.eq(s.failing_since),
        subscriptions::updated_at.eq(s.updated_at),
    ))
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// The subscription `id` if it belongs to `application`.
pub async fn find(conn: &mut AsyncPgConnection, application: Uuid, id: Uuid) -> QueryResult<Option<Subscription>> {
    subscriptions::table
        .filter(subscriptions::id.eq(id).and(subscriptions::application_id.eq(application)))
        .select(Subscription::as_select())
        .first(conn)
        .await
        .optional()
}

/// Up to `page.limit + 1` subscriptions of `application` after the cursor, in id order.
pub async fn list(conn: &mut AsyncPgConnection, application: Uuid, page: Page) -> QueryResult<Vec<Subscription>> {
    let mut q = subscriptions::table
        .filter(subscriptions::application_id.eq(application))
        .select(Subscription::as_select())
        .order(subscriptions::id.asc())
        .limit(page.limit + 1)
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(subscriptions::id.gt(after));
    }
    q.load(conn).await
}

/// The enabled subscriptions of `application` (what a worker's early sends may use).
pub async fn enabled_of(conn: &mut AsyncPgConnection, application: Uuid) -> QueryResult<Vec<Subscription>> {
    subscriptions::table
        .filter(subscriptions::application_id.eq(application).and(subscriptions::status.eq(ENABLED)))
        .select(Subscription::as_select())
        .load(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, application: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(
        subscriptions::table.filter(subscriptions::id.eq(id).and(subscriptions::application_id.eq(application))),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// Disables `id` with `reason` unless it is already disabled.
pub async fn disable(conn: &mut AsyncPgConnection, id: Uuid, reason: &str) -> QueryResult<bool> {
    let now = super::now();
    diesel::update(subscriptions::table.filter(subscriptions::id.eq(id).and(subscriptions::status.eq(ENABLED))))
        .set((
            subscriptions::status.eq(DISABLED),
            subscriptions::disabled_reason.eq(reason),
            subscriptions::disabled_at.eq(now),
            subscriptions::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Records successes: ends any failing streak. `last_success_at` is refreshed at most once a
/// minute, so a busy subscription's row is not rewritten on every delivery.
pub async fn record_successes(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // Prepared: it runs with every batch of recorded attempts.
    Prepared::new(
        "UPDATE subscriptions SET failing_since = NULL, last_success_at = now() WHERE id = ANY($1) \
         AND (failing_since IS NOT NULL OR last_success_at IS NULL OR last_success_at < now() - interval '60 seconds')",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Records failures: starts a failing streak where none runs, and disables the subscriptions
/// whose streak has lasted `disable_after_secs`. Returns the ids disabled now.
pub async fn record_failures(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    disable_after_secs: u64,
) -> QueryResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Prepared::new("UPDATE subscriptions SET failing_since = now() WHERE id = ANY($1) AND failing_since IS NULL")
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .execute(conn)
        .await?;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let disabled: Vec<Id> = diesel::sql_query(
        "UPDATE subscriptions SET status = 'Disabled', disabled_at = now(), updated_at = now(), \
             disabled_reason = 'no successful delivery since ' \
                 || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
                 || ' (' || $2 || ' s)' \
         WHERE id = ANY($1) AND status = 'Enabled' AND failing_since <= now() - make_interval(secs => $2::float8) \
         RETURNING id",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::BigInt, _>(disable_after_secs.min(i64::MAX as u64) as i64)
    .load(conn)
    .await?;
    Ok(disabled.into_iter().map(|d| d.id).collect())
}

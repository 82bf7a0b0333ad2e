//! Subscriptions, always scoped to their application.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uapi_platform::pagination::Page;
use uuid::Uuid;

use super::schema::subscriptions;

pub const ENABLED: &str = "Enabled";
pub const DISABLED: &str = "Disabled";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
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

pub async fn delete(conn: &mut AsyncPgConnection, application: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::delete(
        subscriptions::table.filter(subscriptions::id.eq(id).and(subscriptions::application_id.eq(application))),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

/// The enabled subscriptions of any of `applications` (the fan-out's match set).
pub async fn enabled_of(
    conn: &mut AsyncPgConnection,
    applications: &[Uuid],
) -> QueryResult<Vec<(Uuid, Uuid, Vec<String>)>> {
    subscriptions::table
        .filter(subscriptions::application_id.eq_any(applications).and(subscriptions::status.eq(ENABLED)))
        .select((subscriptions::id, subscriptions::application_id, subscriptions::events))
        .load(conn)
        .await
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

/// Records a success: clears the failing streak.
pub async fn record_success(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(subscriptions::table.find(id))
        .set((subscriptions::last_success_at.eq(super::now()), subscriptions::failing_since.eq(None::<DateTime<Utc>>)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records a failure: starts the failing streak if none is running; returns when it started.
pub async fn record_failure(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DateTime<Utc>>> {
    diesel::update(subscriptions::table.find(id))
        .set(subscriptions::failing_since.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(failing_since, now())")))
        .returning(subscriptions::failing_since)
        .get_result(conn)
        .await
        .optional()
        .map(Option::flatten)
}

//! The transactional outbox: a service writes its state change and the event into its own
//! database in one transaction ([`enqueue`]); the relay publishes pending rows to RabbitMQ with
//! publisher confirms, in row order, and deletes each row only once the broker confirmed it.
//! Nothing is lost while the broker is down: rows wait and drain when it returns.
//!
//! Every service that uses it creates the same table in its migrations:
//! ```sql
//! CREATE TABLE outbox (
//!     id bigserial PRIMARY KEY,
//!     message_id uuid NOT NULL,
//!     routing_key text NOT NULL,
//!     type_name text NOT NULL,
//!     payload bytea NOT NULL,
//!     traceparent text,
//!     created_at timestamptz NOT NULL DEFAULT now(),
//!     failures int NOT NULL DEFAULT 0,
//!     parked_at timestamptz
//! );
//! ```
//!
//! A row the broker keeps returning as unroutable (no queue bound for its routing key) is parked
//! after [`PARK_AFTER`] tries instead of blocking every row behind it: it stays in the table with
//! `parked_at` set, is counted on `/metrics`, and goes back to the relay with [`unpark`]
//! (`<service> replay-parked`) once the topology is fixed.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, RunQueryDsl};
use lapin::types::{AMQPValue, FieldTable};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::amqp::{Broker, Outgoing, Publisher};
use crate::db::PgPool;

diesel::table! {
    /// The outbox every producing service creates with the DDL above.
    outbox (id) {
        id -> BigInt,
        message_id -> Uuid,
        routing_key -> Text,
        type_name -> Text,
        payload -> Bytea,
        traceparent -> Nullable<Text>,
        created_at -> Timestamptz,
        failures -> Integer,
        parked_at -> Nullable<Timestamptz>,
    }
}

/// One event to publish after the surrounding transaction commits.
pub struct NewMessage<'a> {
    pub message_id: Uuid,
    pub routing_key: &'a str,
    pub type_name: &'a str,
    pub payload: Vec<u8>,
}

/// Adds `msg` to the outbox on `conn`; call inside the transaction that makes the change. `conn`
/// may also be a shared `&AsyncPgConnection`, so the insert can be pipelined with other statements.
pub async fn enqueue<C>(conn: &mut C, msg: NewMessage<'_>) -> diesel::QueryResult<()>
where
    C: diesel_async::AsyncConnectionCore<Backend = diesel::pg::Pg> + Send,
{
    use diesel::ExpressionMethods;
    // The query builder (not raw SQL) so the statement is prepared once per connection.
    diesel::insert_into(outbox::table)
        .values((
            outbox::message_id.eq(msg.message_id),
            outbox::routing_key.eq(msg.routing_key),
            outbox::type_name.eq(msg.type_name),
            outbox::payload.eq(msg.payload),
            outbox::traceparent.eq(Some(crate::telemetry::traceparent_or_new())),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Adds every message to the outbox on `conn`, in order, with multi-row inserts: for a change
/// that produces many events at once (a group rename touches every member's employee).
pub async fn enqueue_many(
    conn: &mut diesel_async::AsyncPgConnection,
    msgs: Vec<NewMessage<'_>>,
) -> diesel::QueryResult<()> {
    use diesel::ExpressionMethods;
    // Five binds a row; Postgres takes at most 65,535 binds a statement.
    const ROWS: usize = 1000;
    let traceparent = Some(crate::telemetry::traceparent_or_new());
    let mut msgs = msgs.into_iter().peekable();
    while msgs.peek().is_some() {
        let rows: Vec<_> = msgs
            .by_ref()
            .take(ROWS)
            .map(|m| {
                (
                    outbox::message_id.eq(m.message_id),
                    outbox::routing_key.eq(m.routing_key),
                    outbox::type_name.eq(m.type_name),
                    outbox::payload.eq(m.payload),
                    outbox::traceparent.eq(traceparent.clone()),
                )
            })
            .collect();
        diesel::insert_into(outbox::table).values(rows).execute(conn).await?;
    }
    Ok(())
}

#[derive(diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = outbox)]
struct Row {
    id: i64,
    message_id: Uuid,
    routing_key: String,
    type_name: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// The message header with the time its outbox row was written (Unix milliseconds): consumers
/// measure their lag from it.
pub const CREATED_AT_HEADER: &str = "uapi-created-at-ms";

/// The producer span of publishing `row`, a child of the span the row's event was written in.
fn publish_span(row: &Row, message_id: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "publish",
        otel.name = %format!("{} publish", row.routing_key),
        otel.kind = "producer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "publish",
        messaging.rabbitmq.destination.routing_key = %row.routing_key,
        messaging.message.id = %message_id,
    );
    crate::telemetry::continue_trace(&span, row.traceparent.as_deref());
    span
}

/// How long the relay waits after a wake-up so that concurrent commits share a round.
const COALESCE: Duration = Duration::from_millis(1);

/// How long a batch waits for the broker's confirms, all of them together, before it is retried.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// Unroutable publishes of one row before it is parked.
pub const PARK_AFTER: i32 = 5;

/// How often the relay refreshes the backlog gauges.
const OBSERVE_EVERY: Duration = Duration::from_secs(5);

/// The outbox gauges on `/metrics`: rows waiting, the age of the oldest, rows parked.
#[derive(Clone)]
pub struct OutboxMetrics {
    backlog: prometheus::IntGauge,
    oldest_age: prometheus::Gauge,
    parked: prometheus::IntGauge,
}

impl OutboxMetrics {
    /// The gauges, registered on `registry` (a duplicate registration leaves them unexported).
    pub fn register(registry: &prometheus::Registry) -> Self {
        let metrics = Self::unregistered();
        let _ = registry.register(Box::new(metrics.backlog.clone()));
        let _ = registry.register(Box::new(metrics.oldest_age.clone()));
        let _ = registry.register(Box::new(metrics.parked.clone()));
        metrics
    }

    /// Gauges no registry exports (tests, tools).
    pub fn unregistered() -> Self {
        // ok: constant names and help texts are valid metric definitions.
        let gauge = |name: &str, help: &str| prometheus::IntGauge::new(name, help).expect("valid metric"); // ok: constant
        Self {
            backlog: gauge("outbox_backlog", "Outbox rows waiting to be published (parked rows excluded)"),
            oldest_age: prometheus::Gauge::new(
                "outbox_oldest_age_seconds",
                "Age of the oldest outbox row waiting to be published; 0 when none waits",
            )
            .expect("valid metric"), // ok: constant name and help
            parked: gauge("outbox_parked", "Outbox rows parked after being unroutable; replay them with replay-parked"),
        }
    }

    async fn observe(&self, pool: &PgPool) -> anyhow::Result<()> {
        let state = state(pool).await?;
        self.backlog.set(state.waiting);
        self.oldest_age.set(state.oldest_age_secs);
        self.parked.set(state.parked);
        Ok(())
    }
}

/// How the relay runs.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub exchange: String,
    /// Rows claimed and published per round; their confirms are awaited together (pipelining).
    pub batch_size: i64,
    /// Rounds awaiting their confirms at once: the next round claims (SKIP LOCKED) and publishes
    /// while earlier ones wait, so an event committed mid-round need not wait for the round's end.
    pub rounds_in_flight: usize,
    /// How often to look for rows written by other replicas when nothing woke the relay.
    pub poll_interval: Duration,
    /// Queues of known consumers to declare (idempotently, with the consumer's own arguments)
    /// before publishing, so events published before a consumer first starts wait in its queue
    /// instead of coming back unroutable: `(queue, binding keys)`.
    pub mailboxes: Vec<(String, Vec<String>)>,
}

/// Publishes the outbox until `stop`. `wake` is notified by writers after they commit, so an event
/// leaves within milliseconds instead of waiting for the next poll.
///
/// Rounds overlap: once a round has queued its publishes, the next one may claim the following
/// rows and queue them behind on the same channel, up to `rounds_in_flight` awaiting confirms. The
/// channel keeps publish order, so rows still reach the broker in id order; after a failed round
/// every round in flight is awaited before rows are claimed again, so the retry starts from the
/// lowest unpublished id.
pub async fn relay_until(
    pool: PgPool,
    broker: Arc<Broker>,
    settings: RelaySettings,
    metrics: OutboxMetrics,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let settings = Arc::new(settings);
    let in_flight = settings.rounds_in_flight.max(1);
    let mut publisher: Option<Arc<Publisher>> = None;
    let mut rounds = tokio::task::JoinSet::new();
    let mut backoff = Duration::from_millis(50);
    let mut observed: Option<tokio::time::Instant> = None;
    while !stop.is_cancelled() {
        if observed.is_none_or(|t| t.elapsed() >= OBSERVE_EVERY) {
            observed = Some(tokio::time::Instant::now());
            if let Err(e) = metrics.observe(&pool).await {
                tracing::debug!(error = %e, "outbox gauges not refreshed");
            }
        }
        let mut failure = None;
        if rounds.len() < in_flight {
            match start_round(&pool, &broker, &settings, &mut publisher, &mut rounds).await {
                // More rows are likely waiting: claim them while this round awaits its confirms.
                Ok(n) if n as i64 == settings.batch_size => continue,
                Ok(_) => {}
                Err(e) => failure = Some(e),
            }
        }
        if failure.is_none() {
            backoff = Duration::from_millis(50);
            let finished = tokio::select! {
                _ = stop.cancelled() => break,
                // Let the writes committing right now join the next round: one transaction and
                // one pipelined burst of confirms for many events, instead of one each.
                _ = wake.notified() => { tokio::time::sleep(COALESCE).await; None }
                _ = tokio::time::sleep(settings.poll_interval) => None,
                Some(done) = rounds.join_next_with_id(), if rounds.len() >= in_flight => Some(done),
            };
            failure = finished.and_then(round_failure);
        }
        // Reap rounds that already ended, so a failure among them is seen now.
        while let Some(done) = rounds.try_join_next_with_id() {
            failure = failure.or(round_failure(done));
        }
        let Some(e) = failure else { continue };
        // The broker supervisor already reports an unreachable broker; don't repeat it here.
        if e.downcast_ref::<crate::amqp::AmqpError>().is_some_and(|e| matches!(e, crate::amqp::AmqpError::NotConnected))
        {
            tracing::debug!("outbox relay waiting for RabbitMQ");
        } else {
            tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay round failed");
        }
        // Every round in flight ends (published or rolled back) before rows are claimed again.
        while rounds.join_next().await.is_some() {}
        publisher = None;
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    while rounds.join_next().await.is_some() {}
    if let Some(p) = publisher.and_then(|p| Arc::try_unwrap(p).ok()) {
        p.close().await;
    }
}

type RoundResult = anyhow::Result<usize>;

/// The outcome of a round that ended, by its task id (a panicked round counts as failed).
fn round_outcome(
    done: Result<(tokio::task::Id, RoundResult), tokio::task::JoinError>,
) -> (tokio::task::Id, RoundResult) {
    done.unwrap_or_else(|e| (e.id(), Err(anyhow::anyhow!("outbox relay round ended abnormally: {e}"))))
}

/// The error of a round that ended, if it failed.
fn round_failure(done: Result<(tokio::task::Id, RoundResult), tokio::task::JoinError>) -> Option<anyhow::Error> {
    round_outcome(done).1.err()
}

/// Starts a round in `rounds` and returns once it has queued its publishes: how many rows it
/// claimed. A round that ends before queuing anything (nothing to claim, or an error) is awaited
/// here, so its outcome is this call's.
async fn start_round(
    pool: &PgPool,
    broker: &Broker,
    settings: &Arc<RelaySettings>,
    publisher: &mut Option<Arc<Publisher>>,
    rounds: &mut tokio::task::JoinSet<RoundResult>,
) -> RoundResult {
    let publisher = match publisher {
        Some(p) if p.is_usable() => p.clone(),
        _ => {
            // A replaced channel must not publish behind rounds still waiting on the old one.
            while rounds.join_next().await.is_some() {}
            publisher.insert(Arc::new(open_publisher(broker, settings).await?)).clone()
        }
    };
    let (queued_tx, queued_rx) = tokio::sync::oneshot::channel();
    let id = rounds.spawn(relay_round(pool.clone(), publisher, settings.clone(), queued_tx)).id();
    if let Ok(n) = queued_rx.await {
        return Ok(n);
    }
    // The round ended without queuing anything: wait for it, failing on any earlier round's error.
    while let Some(done) = rounds.join_next_with_id().await {
        let (done, result) = round_outcome(done);
        if done == id || result.is_err() {
            return result;
        }
    }
    Ok(0)
}

/// A confirm-mode channel on the exchange, with the known consumers' queues declared.
async fn open_publisher(broker: &Broker, settings: &RelaySettings) -> anyhow::Result<Publisher> {
    let opened = Publisher::open(broker, &settings.exchange).await?;
    let channel = broker.channel().await?;
    for (queue, keys) in &settings.mailboxes {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        crate::amqp::declare_queue(&channel, &settings.exchange, queue, &keys).await?;
    }
    let _ = crate::amqp::timed(channel.close(200, "topology declared".into())).await;
    Ok(opened)
}

/// One round: claims up to one batch, publishes it in order (telling `queued` how many rows once
/// every publish is queued) and deletes what the broker confirmed. Returns how many rows were
/// published.
async fn relay_round(
    pool: PgPool,
    publisher: Arc<Publisher>,
    settings: Arc<RelaySettings>,
    queued: tokio::sync::oneshot::Sender<usize>,
) -> RoundResult {
    let mut conn = pool.get().await?;
    let batch = settings.batch_size;
    let (published, failure) = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            {
                // SKIP LOCKED: a round in flight, or a second replica, holds its rows; this round
                // takes the next ones instead of publishing those again.
                use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};
                // Losing this transaction's commit in a crash only republishes its rows, which
                // consumers deduplicate: it need not wait for the WAL flush. Pipelined with the claim.
                let shared: &diesel_async::AsyncPgConnection = conn;
                let (mut c1, mut c2) = (shared, shared);
                let (relaxed, claimed) = futures_util::join!(
                    diesel::sql_query("SET LOCAL synchronous_commit = off").execute(&mut c1),
                    outbox::table
                        .select(Row::as_select())
                        .filter(outbox::parked_at.is_null())
                        .order(outbox::id.asc())
                        .limit(batch)
                        .for_update()
                        .skip_locked()
                        .load::<Row>(&mut c2)
                );
                relaxed?;
                let rows = claimed?;
                if rows.is_empty() {
                    return Ok((0, None));
                }
                let message_ids: Vec<String> = rows.iter().map(|r| r.message_id.to_string()).collect();
                // One producer span a message, in the trace its event was written in; each ends
                // when the broker's confirm for its message is in (or the round gives up).
                let spans: Vec<tracing::Span> =
                    rows.iter().zip(&message_ids).map(|(r, id)| publish_span(r, id)).collect();
                // All frames are queued at once (each publish takes its confirm sequence number and
                // queues its frames on its first poll, which join_all does in order), instead of
                // waiting for the connection's I/O loop to write each message before the next.
                let sends = rows.iter().zip(&message_ids).zip(&spans).map(|((row, message_id), span)| {
                    let mut headers = FieldTable::default();
                    let traceparent = crate::telemetry::outgoing_traceparent(span, row.traceparent.as_deref());
                    headers.insert("traceparent".into(), AMQPValue::LongString(traceparent.as_str().into()));
                    headers.insert(CREATED_AT_HEADER.into(), AMQPValue::LongLongInt(row.created_at.timestamp_millis()));
                    publisher.send(Outgoing {
                        routing_key: &row.routing_key,
                        type_name: &row.type_name,
                        message_id,
                        content_type: CONTENT_TYPE,
                        body: &row.payload,
                        headers,
                    })
                });
                let pending = futures_util::future::join_all(sends).await.into_iter().collect::<Result<Vec<_>, _>>()?;
                let _ = queued.send(rows.len());
                // Confirms arrive in publish order; stop at the first failure so order is kept. A
                // broker that vanished without closing the socket must not hold the rows' locks
                // forever: one deadline for the whole batch.
                let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
                let mut confirmed = Vec::with_capacity(rows.len());
                let mut failure: Option<(i64, crate::amqp::AmqpError)> = None;
                for (row, p) in rows.iter().zip(pending) {
                    if failure.is_some() {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, p.confirmed()).await {
                        Ok(Ok(())) => confirmed.push(row.id),
                        Ok(Err(e)) => failure = Some((row.id, e)),
                        Err(_) => failure = Some((row.id, crate::amqp::AmqpError::Timeout(CONFIRM_TIMEOUT))),
                    }
                }
                if !confirmed.is_empty() {
                    diesel::delete(outbox::table.filter(outbox::id.eq_any(&confirmed))).execute(conn).await?;
                }
                if let Some((id, crate::amqp::AmqpError::Unroutable { routing_key, message_id })) = &failure {
                    count_unroutable(conn, *id, routing_key, message_id).await?;
                }
                // Commit the deletes of what was confirmed; the rest is retried (at-least-once).
                Ok((confirmed.len(), failure.map(|(_, e)| e)))
            }
        })
        .await?;
    match failure {
        Some(e) => {
            tracing::debug!(error = %e, published, "outbox batch partly published; retrying the rest");
            Err(e.into())
        }
        None => Ok(published),
    }
}

/// Counts an unroutable publish of row `id`, parking the row at the [`PARK_AFTER`]th.
async fn count_unroutable(
    conn: &mut diesel_async::AsyncPgConnection,
    id: i64,
    routing_key: &str,
    message_id: &str,
) -> diesel::QueryResult<()> {
    use diesel::{ExpressionMethods, QueryDsl};
    let failures: i32 = diesel::update(outbox::table.find(id))
        .set(outbox::failures.eq(outbox::failures + 1))
        .returning(outbox::failures)
        .get_result(conn)
        .await?;
    if failures >= PARK_AFTER {
        diesel::update(outbox::table.find(id)).set(outbox::parked_at.eq(diesel::dsl::now)).execute(conn).await?;
        tracing::error!(%routing_key, %message_id, failures, "outbox row parked: no queue is bound for its routing key; fix the topology and run replay-parked");
    }
    Ok(())
}

/// Returns every parked row to the relay; how many.
pub async fn unpark(pool: &PgPool) -> anyhow::Result<usize> {
    use diesel::{ExpressionMethods, QueryDsl};
    let mut conn = pool.get().await?;
    let n = diesel::update(outbox::table.filter(outbox::parked_at.is_not_null()))
        .set((outbox::parked_at.eq(None::<chrono::DateTime<chrono::Utc>>), outbox::failures.eq(0)))
        .execute(&mut conn)
        .await?;
    Ok(n)
}

/// What the outbox holds.
#[derive(Debug, Clone, Copy, PartialEq, diesel::QueryableByName)]
pub struct OutboxState {
    /// Rows waiting to be published.
    #[diesel(sql_type = BigInt)]
    pub waiting: i64,
    /// Age of the oldest waiting row, 0 when none waits.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub oldest_age_secs: f64,
    /// Rows parked after being unroutable.
    #[diesel(sql_type = BigInt)]
    pub parked: i64,
}

/// The outbox's waiting and parked rows.
pub async fn state(pool: &PgPool) -> anyhow::Result<OutboxState> {
    let mut conn = pool.get().await?;
    let state = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE parked_at IS NULL) AS waiting, \
                coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0)::float8 \
                    AS oldest_age_secs, \
                count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked \
         FROM outbox",
    )
    .get_result(&mut conn)
    .await?;
    Ok(state)
}

/// Every outbox message is a protobuf event.
const CONTENT_TYPE: &str = "application/x-protobuf";

/// Rows not yet published, parked ones included (for tests).
pub async fn backlog(pool: &PgPool) -> anyhow::Result<i64> {
    let s = state(pool).await?;
    Ok(s.waiting + s.parked)
}

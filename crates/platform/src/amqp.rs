//! RabbitMQ: a supervised connection that reconnects by itself, idempotent topology declaration,
//! a confirming publisher that treats a returned (unroutable) message as a failure, and consumer
//! channels with prefetch and manual acks.
//!
//! We reconnect ourselves rather than with lapin's auto-recovery: a dead connection is simply
//! replaced, and every user asks for a fresh channel after an error, which keeps the failure
//! modes few and testable.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use lapin::PublisherConfirm;
use lapin::options::{
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a broker operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("not connected to RabbitMQ")]
    NotConnected,
    #[error("RabbitMQ: {0}")]
    Broker(#[from] lapin::Error),
    #[error("RabbitMQ did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the broker did not accept message {message_id} for {routing_key} (nack)")]
    NotAccepted { routing_key: String, message_id: String },
    /// No queue is bound for the routing key: the message came back (`mandatory`).
    #[error("message {message_id} for {routing_key} is unroutable: no queue is bound for it")]
    Unroutable { routing_key: String, message_id: String },
}

/// How long any broker round trip may take. A connection can die without the socket saying so
/// (a partition): every RPC is bounded, so no loop ever waits forever on a dead channel.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs a broker RPC within [`RPC_TIMEOUT`].
pub async fn timed<T, E: Into<AmqpError>>(
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, AmqpError> {
    match tokio::time::timeout(RPC_TIMEOUT, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(AmqpError::Timeout(RPC_TIMEOUT)),
    }
}

/// A connection to RabbitMQ that a background task keeps alive.
pub struct Broker {
    url: String,
    name: String,
    /// PEM CA certificates an `amqps://` connection trusts beyond the system's store.
    ca_pem: Option<String>,
    current: RwLock<Option<Arc<Connection>>>,
    changed: Notify,
}

impl Broker {
    /// A broker handle for `url`; `name` shows in the management UI (e.g. the pod name).
    pub fn new(url: impl Into<String>, name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            url: url.into(),
            name: name.into(),
            ca_pem: None,
            current: RwLock::new(None),
            changed: Notify::new(),
        })
    }

    /// A broker handle as `settings` say: the URL, and for `amqps://` the CA file if one is set.
    pub fn from_settings(settings: &crate::config::AmqpSettings, name: impl Into<String>) -> anyhow::Result<Arc<Self>> {
        let ca_pem = match settings.ca_file.as_str() {
            "" => None,
            path => Some(std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("amqp.ca_file {path}: {e}"))?),
        };
        Ok(Arc::new(Self {
            url: settings.url.expose().to_owned(),
            name: name.into(),
            ca_pem,
            current: RwLock::new(None),
            changed: Notify::new(),
        }))
    }

    /// Connects now, failing if the broker is unreachable (for tools and tests).
    pub async fn connect_now(self: &Arc<Self>) -> Result<Arc<Connection>, AmqpError> {
        let conn = Arc::new(self.open().await?);
        self.replace(Some(conn.clone()));
        Ok(conn)
    }

    /// Keeps a live connection until `stop`, reconnecting with capped exponential backoff.
    pub fn supervise_until(self: &Arc<Self>, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let broker = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                if !broker.is_connected() {
                    match broker.open().await {
                        Ok(conn) => {
                            tracing::info!("connected to RabbitMQ");
                            broker.replace(Some(Arc::new(conn)));
                            backoff = Duration::from_millis(100);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "RabbitMQ unreachable");
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                let wait = if broker.is_connected() { Duration::from_millis(500) } else { backoff };
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if let Some(conn) = broker.take() {
                let _ = timed(conn.close(200, "shutdown".into())).await;
            }
        })
    }

    /// Whether a usable connection exists right now (the readiness check).
    pub fn is_connected(&self) -> bool {
        self.current.read().map(|c| c.as_ref().is_some_and(|c| c.status().connected())).unwrap_or(false)
    }

    /// The live connection, if any.
    pub fn connection(&self) -> Option<Arc<Connection>> {
        self.current.read().ok().and_then(|c| c.clone()).filter(|c| c.status().connected())
    }

    /// Waits until a connection is live or `timeout` passes.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<Arc<Connection>, AmqpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(conn) = self.connection() {
                return Ok(conn);
            }
            let notified = self.changed.notified();
            if tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            })
            .await
            .is_err()
            {
                return Err(AmqpError::NotConnected);
            }
        }
    }

    /// A new channel on the live connection.
    pub async fn channel(&self) -> Result<Channel, AmqpError> {
        let conn = self.connection().ok_or(AmqpError::NotConnected)?;
        timed(conn.create_channel()).await
    }

    async fn open(&self) -> Result<Connection, lapin::Error> {
        let props = ConnectionProperties::default().with_connection_name(self.name.clone().into());
        let connect = async {
            match &self.ca_pem {
                None => Connection::connect(&self.url, props).await,
                Some(pem) => {
                    let tls = lapin::tcp::OwnedTLSConfig { identity: None, cert_chain: Some(pem.clone()) };
                    Connection::connect_with_config(&self.url, props, tls, lapin::runtime::default_runtime()?).await
                }
            }
        };
        match tokio::time::timeout(RPC_TIMEOUT, connect).await {
            Ok(r) => r,
            Err(_) => Err(lapin::Error::from(lapin::ErrorKind::IOError(std::sync::Arc::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connecting to RabbitMQ timed out",
            ))))),
        }
    }

    fn replace(&self, conn: Option<Arc<Connection>>) {
        if let Ok(mut current) = self.current.write() {
            *current = conn;
        }
        self.changed.notify_waiters();
    }

    fn take(&self) -> Option<Arc<Connection>> {
        self.current.write().ok().and_then(|mut c| c.take())
    }
}

/// Declares the durable topic exchange events travel on. Idempotent.
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), AmqpError> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Topic,
            ExchangeDeclareOptions { durable: true, ..Default::default() },
            FieldTable::default(),
        )
        .await?;
    Ok(())
}

/// Deliveries of one message before the broker dead-letters it.
pub const DELIVERY_LIMIT: i32 = 10;

/// The fanout exchange bound to queue `name` alone: a message published there reaches that queue
/// with its routing key intact (how dead letters are replayed to their queue and no other).
pub fn replay_exchange(name: &str) -> String {
    format!("{name}.replay")
}

/// Declares the durable fanout exchange `exchange` and binds `queue` to it. Idempotent.
async fn bind_fanout(channel: &Channel, exchange: &str, queue: &str) -> Result<(), AmqpError> {
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(exchange.into(), ExchangeKind::Fanout, durable, FieldTable::default()).await?;
    channel
        .queue_bind(queue.into(), exchange.into(), "#".into(), QueueBindOptions::default(), FieldTable::default())
        .await?;
    Ok(())
}

/// A consumer's queue: durable quorum queue `name`, dead-lettering into `name.dlq`, bound to
/// `exchange` with each of `bindings`, and to its [`replay_exchange`]. Idempotent.
pub async fn declare_queue(channel: &Channel, exchange: &str, name: &str, bindings: &[&str]) -> Result<(), AmqpError> {
    let dlx = format!("{name}.dlx");
    let dlq = format!("{name}.dlq");
    let mut dlq_args = FieldTable::default();
    dlq_args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    channel
        .queue_declare(dlq.as_str().into(), QueueDeclareOptions { durable: true, ..Default::default() }, dlq_args)
        .await?;
    bind_fanout(channel, &dlx, &dlq).await?;

    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(dlx.as_str().into()));
    // After this many failed deliveries the broker dead-letters the message: retries are bounded.
    args.insert("x-delivery-limit".into(), AMQPValue::LongInt(DELIVERY_LIMIT));
    channel.queue_declare(name.into(), QueueDeclareOptions { durable: true, ..Default::default() }, args).await?;
    bind_fanout(channel, &replay_exchange(name), name).await?;
    for key in bindings {
        channel
            .queue_bind(name.into(), exchange.into(), (*key).into(), QueueBindOptions::default(), FieldTable::default())
            .await?;
    }
    Ok(())
}

/// A consumer channel with `prefetch` set before any `basic_consume`.
pub async fn consumer_channel(broker: &Broker, prefetch: u16) -> Result<Channel, AmqpError> {
    let channel = broker.channel().await?;
    timed(channel.basic_qos(prefetch, BasicQosOptions::default())).await?;
    Ok(channel)
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub routing_key: &'a str,
    /// The AMQP `type` property: the full protobuf message name.
    pub type_name: &'a str,
    /// The AMQP `message_id`: the event id.
    pub message_id: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
    /// Extra headers, e.g. W3C `traceparent`.
    pub headers: FieldTable,
}

/// A confirming publisher on its own channel.
pub struct Publisher {
    channel: Channel,
    exchange: String,
}

impl Publisher {
    /// Opens a channel in confirm mode that publishes to `exchange`, declaring the exchange
    /// (idempotently) since the producer owns it.
    pub async fn open(broker: &Broker, exchange: &str) -> Result<Self, AmqpError> {
        let channel = broker.channel().await?;
        declare_exchange(&channel, exchange).await?;
        timed(channel.confirm_select(ConfirmSelectOptions::default())).await?;
        Ok(Self { channel, exchange: exchange.to_owned() })
    }

    /// Closes the channel (at shutdown, before the connection closes).
    pub async fn close(self) {
        if self.channel.status().connected() {
            let _ = timed(self.channel.close(200, "shutdown".into())).await;
        }
    }

    /// Whether the channel can still publish; replace the publisher when it cannot.
    pub fn is_usable(&self) -> bool {
        self.channel.status().connected()
    }

    /// Hands the message to the broker and returns the pending confirm, so callers can keep
    /// many in flight (pipelining) and await them in order with [`Pending::confirmed`].
    pub async fn send(&self, msg: Outgoing<'_>) -> Result<Pending, AmqpError> {
        let props = BasicProperties::default()
            .with_content_type(ShortString::from(msg.content_type))
            .with_type(ShortString::from(msg.type_name))
            .with_message_id(ShortString::from(msg.message_id))
            .with_delivery_mode(2)
            .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
            .with_headers(msg.headers);
        let confirm = timed(self.channel.basic_publish(
            self.exchange.as_str().into(),
            msg.routing_key.into(),
            // mandatory: an unroutable message comes back instead of vanishing.
            BasicPublishOptions { mandatory: true, ..Default::default() },
            msg.body,
            props,
        ))
        .await?;
        Ok(Pending { confirm, routing_key: msg.routing_key.to_owned(), message_id: msg.message_id.to_owned() })
    }

    /// Publishes one message and waits for the broker's confirm.
    pub async fn publish(&self, msg: Outgoing<'_>) -> Result<(), AmqpError> {
        self.send(msg).await?.confirmed().await
    }
}

/// A message handed to the broker whose confirm has not been awaited yet.
pub struct Pending {
    confirm: PublisherConfirm,
    routing_key: String,
    message_id: String,
}

impl Pending {
    /// Resolves once the broker took responsibility for the message. A nack, or an ack that
    /// carries the message back (unroutable with `mandatory`), is an error.
    pub async fn confirmed(self) -> Result<(), AmqpError> {
        let confirmation = timed(self.confirm).await?;
        if !confirmation.is_ack() {
            return Err(AmqpError::NotAccepted { routing_key: self.routing_key, message_id: self.message_id });
        }
        if confirmation.take_message().is_some() {
            return Err(AmqpError::Unroutable { routing_key: self.routing_key, message_id: self.message_id });
        }
        Ok(())
    }
}

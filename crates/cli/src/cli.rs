//! The command-line grammar.

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "uapi", version, about = "Manage uapi-hris: applications, auth, consumers and connections")]
pub struct Cli {
    /// Print raw JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub urls: Urls,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the services are: flag, then environment, then `config.toml`, then the local defaults.
#[derive(Args, Clone, Default)]
pub struct Urls {
    /// control-plane base URL [default: http://127.0.0.1:8080]
    #[arg(long, global = true, env = "UAPI_CONTROL_PLANE_URL")]
    pub control_plane_url: Option<String>,
    /// employee-store base URL [default: http://127.0.0.1:8082]
    #[arg(long, global = true, env = "UAPI_EMPLOYEE_STORE_URL")]
    pub employee_store_url: Option<String>,
    /// webhook-dispatcher base URL [default: http://127.0.0.1:8083]
    #[arg(long, global = true, env = "UAPI_WEBHOOKS_URL")]
    pub webhooks_url: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Admin API (needs the admin token).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Exchange an API key for an access token and remember both.
    Auth(AuthArgs),
    /// Consumers of your application.
    #[command(subcommand)]
    Consumers(ConsumersCommand),
    /// Connections of a consumer (Okta SCIM).
    #[command(subcommand)]
    Connections(ConnectionsCommand),
    /// Employees of a consumer, as Okta provisioned them.
    #[command(subcommand)]
    Employees(EmployeesCommand),
    /// Groups of a consumer, as Okta pushed them (members are employee ids).
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Webhook subscriptions of your application, their deliveries, and a local receiver.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// Subscribe an endpoint; prints the subscription and its signing secret (shown once).
    Create {
        /// Where to POST the events (http or https).
        #[arg(long)]
        url: String,
        /// Comma-separated event types, e.g. employee.created,employee.updated, or * for all.
        #[arg(long, default_value = "*")]
        events: String,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    List(PageArgs),
    Get {
        id: String,
    },
    Delete {
        id: String,
    },
    /// A new signing secret; the previous one keeps signing during the grace period.
    RotateSecret {
        id: String,
    },
    /// Send a signed `webhook.test` event to the subscription (it shows in the delivery log).
    Test {
        id: String,
    },
    /// The delivery log of a subscription, with every attempt.
    Deliveries {
        id: String,
        /// pending, succeeded or failed.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Attempt one delivery again now.
    Retry {
        id: String,
        delivery_id: String,
    },
    /// Re-queue every delivery since a time that has not succeeded.
    Recover {
        id: String,
        /// RFC 3339 time, e.g. 2026-01-31T12:00:00Z.
        #[arg(long)]
        since: String,
    },
    /// Run a local receiver that verifies each webhook's signature and prints the event.
    Listen {
        /// Port on 127.0.0.1 to listen on.
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// The subscription's signing secret (whsec_…).
        #[arg(long, env = "UAPI_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
    },
}

#[derive(Subcommand)]
pub enum EmployeesCommand {
    /// Employees, in id order, a page at a time.
    List {
        #[command(flatten)]
        consumer: ConsumerArg,
        #[command(flatten)]
        page: PageArgs,
        /// ACTIVE or INACTIVE.
        #[arg(long)]
        employment_status: Option<String>,
        /// Exact work email (case-insensitive).
        #[arg(long)]
        work_email: Option<String>,
        /// Only employees changed after this RFC 3339 time.
        #[arg(long)]
        updated_after: Option<String>,
        /// Include deleted employees.
        #[arg(long)]
        include_deleted: bool,
    },
    /// One employee, by id.
    Get(ConsumerResource),
}

#[derive(Subcommand)]
pub enum GroupsCommand {
    /// Groups, in id order, a page at a time.
    List {
        #[command(flatten)]
        consumer: ConsumerArg,
        #[command(flatten)]
        page: PageArgs,
        /// Include deleted groups.
        #[arg(long)]
        include_deleted: bool,
    },
    /// One group, by id, with its member ids.
    Get(ConsumerResource),
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an application; prints its id and API key (shown once).
    CreateApplication {
        #[arg(long)]
        name: String,
        /// Admin token of the control plane.
        #[arg(long, env = "UAPI_ADMIN__TOKEN", hide_env_values = true)]
        admin_token: String,
    },
}

#[derive(Args)]
pub struct AuthArgs {
    /// Application id (application scope).
    #[arg(long, env = "UAPI_APPLICATION_ID")]
    pub application_id: Option<String>,
    /// API key of the application; read from the saved profile when omitted.
    #[arg(long, env = "UAPI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Authenticate for one consumer instead (consumer scope).
    #[arg(long)]
    pub consumer_id: Option<String>,
}

#[derive(Args, Clone)]
pub struct PageArgs {
    /// Page size (1–200).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Cursor from a previous page's `meta.next`.
    #[arg(long)]
    pub cursor: Option<String>,
    /// Follow `meta.next` and print every page.
    #[arg(long, conflicts_with = "cursor")]
    pub all: bool,
}

#[derive(Subcommand)]
pub enum ConsumersCommand {
    Create {
        #[arg(long)]
        name: String,
        /// Your own identifier for this consumer (unique per application).
        #[arg(long)]
        reference: Option<String>,
    },
    List(PageArgs),
    Get {
        id: String,
    },
    Delete {
        id: String,
    },
}

// One resource of a consumer, by id.
#[derive(Args)]
pub struct ConsumerResource {
    #[command(flatten)]
    pub consumer: ConsumerArg,
    pub id: String,
}

#[derive(Args, Clone)]
pub struct ConsumerArg {
    /// The consumer (its id).
    #[arg(long, env = "UAPI_CONSUMER_ID")]
    pub consumer: String,
}

#[derive(Subcommand)]
pub enum ConnectionsCommand {
    /// Connect an integration; prints the SCIM base URL and API token for Okta.
    Create {
        #[command(flatten)]
        consumer: ConsumerArg,
        #[arg(long, default_value = "okta-scim")]
        service: String,
    },
    List {
        #[command(flatten)]
        consumer: ConsumerArg,
        #[command(flatten)]
        page: PageArgs,
    },
    Get {
        #[command(flatten)]
        consumer: ConsumerArg,
        id: String,
    },
    /// Issue a new SCIM API token; the old one stops working.
    RotateToken {
        #[command(flatten)]
        consumer: ConsumerArg,
        id: String,
    },
    /// Delete the connection; its SCIM token stops working.
    Delete {
        #[command(flatten)]
        consumer: ConsumerArg,
        id: String,
    },
}

//! The API answers the pages show, read as the contract documents them. Fields a page does not
//! show are left out; optional ones default, so an additive contract change never breaks a page.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// Every list: `{"data":[…],"meta":{"next",…}}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub meta: Meta,
}

#[derive(Debug, Default, Deserialize)]
pub struct Meta {
    pub next: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
    pub expires_in: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Uuid,
    pub delivery_url: String,
    pub events: Vec<String>,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    /// Only in the answers to create and rotate-secret.
    pub secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub entity_id: String,
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempted_at: String,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    pub id: Uuid,
    pub name: String,
    pub reference: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    pub data: Vec<Connection>,
    #[serde(default)]
    pub available: Vec<Integration>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub service_id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: Uuid,
    pub service_id: String,
    pub status: String,
    pub created_at: String,
    pub metadata: ConnectionMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionMetadata {
    pub base_url: String,
    pub api_token: String,
}

impl std::fmt::Debug for ConnectionMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionMetadata").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// scim-ingress's view of a connection's directory.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryStatus {
    pub last_request_at: Option<String>,
    pub last_push_at: Option<String>,
    pub users: i64,
    pub groups: i64,
    #[serde(default)]
    pub recent_errors: Vec<ScimError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScimError {
    pub at: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetupLink {
    pub id: Uuid,
    pub expires_at: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The answer to creating a setup link: its token is shown this once.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedSetupLink {
    pub token: String,
    pub expires_at: String,
}

/// A setup link resolved without signing in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolvedSetupLink {
    pub expires_at: String,
    pub metadata: ConnectionMetadata,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub member_count: Option<i64>,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

/// An employee: the list shows a few fields; its page shows the whole object as the API gave it.
#[derive(Debug, Deserialize)]
pub struct Employee(pub Value);

impl Employee {
    pub fn text(&self, field: &str) -> &str {
        self.0.get(field).and_then(Value::as_str).unwrap_or("")
    }

    pub fn id(&self) -> &str {
        self.text("id")
    }

    pub fn name(&self) -> String {
        match self.text("displayName") {
            "" => format!("{} {}", self.text("firstName"), self.text("lastName")).trim().to_owned(),
            name => name.to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct One<T> {
    pub data: T,
}

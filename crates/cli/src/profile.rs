//! The saved profile: `config.toml` in the user's config directory (`$UAPI_CONFIG_DIR`, else e.g.
//! `~/.config/uapi`), holding service URLs, the application's id and API key, and cached access
//! tokens. Written with mode 0600 because it holds credentials.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

#[derive(Default, Serialize, Deserialize)]
pub struct Profile {
    pub control_plane_url: Option<String>,
    pub employee_store_url: Option<String>,
    pub webhooks_url: Option<String>,
    pub application_id: Option<String>,
    pub api_key: Option<String>,
    pub application_token: Option<CachedToken>,
    #[serde(default)]
    pub consumer_tokens: BTreeMap<String, CachedToken>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct CachedToken {
    pub token: String,
    /// Unix seconds after which the token is not used any more.
    pub expires_at: u64,
}

/// Shows which credentials are held, never their values.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("control_plane_url", &self.control_plane_url)
            .field("employee_store_url", &self.employee_store_url)
            .field("webhooks_url", &self.webhooks_url)
            .field("application_id", &self.application_id)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("application_token", &self.application_token)
            .field("consumer_tokens", &self.consumer_tokens.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken").field("token", &"***").field("expires_at", &self.expires_at).finish()
    }
}

impl CachedToken {
    pub fn new(token: String, expires_in: u64) -> Self {
        Self { token, expires_at: now() + expires_in }
    }

    /// Valid for at least another 30 seconds.
    pub fn fresh(&self) -> bool {
        self.expires_at > now() + 30
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

pub fn dir() -> Result<PathBuf, CliError> {
    if let Some(dir) = std::env::var_os("UAPI_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|d| d.join("uapi"))
        .ok_or_else(|| CliError::Other("no config directory; set UAPI_CONFIG_DIR".into()))
}

impl Profile {
    pub fn load() -> Result<Self, CliError> {
        let path = dir()?.join("config.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| CliError::Other(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn save(&self) -> Result<(), CliError> {
        let dir = dir()?;
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("config.toml");
        let text = toml::to_string_pretty(self).map_err(|e| CliError::Other(e.to_string()))?;
        let tmp = dir.join("config.toml.tmp");
        std::fs::write(&tmp, text)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        std::fs::rename(tmp, path)?;
        Ok(())
    }
}

//! Credentials: API keys, SCIM API tokens and the admin token.
//!
//! - API keys are random (256 bits), shown once and stored as SHA-256.
//! - Setup-link tokens likewise: random (256 bits), shown once, stored as SHA-256.
//! - SCIM API tokens are `HMAC-SHA256(token_key, connection id ‖ salt)`: the database holds only the
//!   salt and the token's SHA-256, so a database dump reveals no token, while control-plane (which
//!   holds `token_key`) can show the token again in the connection's metadata. Rotation draws a new
//!   salt, which changes the token and its hash at once.
//! - Every comparison of secrets is constant-time.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uapi_platform::secret::Secret;
use uuid::Uuid;

const API_KEY_PREFIX: &str = "uapi_sk_";
const SCIM_TOKEN_PREFIX: &str = "uapi_scim_";
const SETUP_LINK_PREFIX: &str = "uapi_setup_";
/// base64url (unpadded) of 32 bytes.
const ENCODED_32_BYTES: usize = 43;

/// SHA-256 of a secret, the only form we store.
pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time equality of two byte strings of any length.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Whether `presented` is the admin token, in constant time (hashing first hides the length).
pub fn is_admin_token(presented: &str, configured: &str) -> bool {
    !configured.is_empty() && same(&sha256(presented), &sha256(configured))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// A new API key: 256 random bits behind a recognisable prefix (secret scanners can match it).
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A new setup-link token: 256 random bits behind a recognisable prefix.
pub fn new_setup_link_token() -> Secret {
    Secret::new(format!("{SETUP_LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>())))
}

/// Whether `s` has the shape of a setup-link token; anything else needs no database lookup.
pub fn is_setup_link_token(s: &str) -> bool {
    s.strip_prefix(SETUP_LINK_PREFIX).is_some_and(|rest| {
        rest.len() == ENCODED_32_BYTES && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A new admin token (for `control-plane keygen`).
pub fn new_admin_token() -> String {
    format!("uapi_admin_{}", URL_SAFE_NO_PAD.encode(random_bytes::<24>()))
}

/// A new salt for a SCIM token.
pub fn new_token_salt() -> Vec<u8> {
    random_bytes::<16>().to_vec()
}

/// The decoded token key, if it is base64 of at least 32 bytes.
pub fn decode_key(b64: &str) -> Option<Vec<u8>> {
    STANDARD.decode(b64.trim()).ok().filter(|k| k.len() >= 32)
}

/// A fresh token key, base64 (for `control-plane keygen`).
pub fn new_token_key() -> String {
    STANDARD.encode(random_bytes::<32>())
}

/// Derives SCIM API tokens from the server's token key.
#[derive(Clone)]
pub struct ScimTokens {
    key: Vec<u8>,
}

impl ScimTokens {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// The token of `connection` with `salt`.
    pub fn derive(&self, connection: Uuid, salt: &[u8]) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(b"uapi-scim-token:v1:");
        mac.update(connection.as_bytes());
        mac.update(salt);
        format!("{SCIM_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_unique_and_prefixed() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert!(a.starts_with(API_KEY_PREFIX) && a.len() > 40);
    }

    #[test]
    fn setup_link_tokens_are_unique_and_recognised() {
        let (a, b) = (new_setup_link_token(), new_setup_link_token());
        assert_ne!(a.expose(), b.expose());
        assert!(is_setup_link_token(a.expose()), "{}", a.expose());
        assert!(!format!("{a:?}").contains(a.expose()));
        for other in ["", "uapi_setup_", "uapi_setup_short", &new_api_key(), &format!("{}=", a.expose())] {
            assert!(!is_setup_link_token(other), "{other}");
        }
    }

    #[test]
    fn scim_token_depends_on_key_connection_and_salt() {
        let tokens = ScimTokens::new(vec![7; 32]);
        let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
        let salt = new_token_salt();
        assert_eq!(tokens.derive(c1, &salt), tokens.derive(c1, &salt));
        assert_ne!(tokens.derive(c1, &salt), tokens.derive(c2, &salt));
        assert_ne!(tokens.derive(c1, &salt), tokens.derive(c1, &new_token_salt()));
        assert_ne!(tokens.derive(c1, &salt), ScimTokens::new(vec![8; 32]).derive(c1, &salt));
    }

    #[test]
    fn admin_token_comparison() {
        assert!(is_admin_token("a-long-admin-token-000000", "a-long-admin-token-000000"));
        assert!(!is_admin_token("a-long-admin-token-000001", "a-long-admin-token-000000"));
        assert!(!is_admin_token("", ""));
    }

    #[test]
    fn short_or_invalid_token_keys_are_refused() {
        assert!(decode_key(&STANDARD.encode([1u8; 31])).is_none());
        assert!(decode_key("%%%").is_none());
        assert!(decode_key(&new_token_key()).is_some());
    }
}

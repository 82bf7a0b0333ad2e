//! Browser sessions, held in this process's memory: the browser keeps only a random session id
//! (an HttpOnly cookie); the API key it signed in with stays here, to mint the short-lived access
//! tokens the pages call the APIs with. A session ends at sign-out or after its lifetime, and with
//! the process (signing in again is the whole cost).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// A random value fit for a session id or CSRF token: 256 bits, base64url.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn same_token(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The API key a session signed in with; never printed.
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> Self {
        Self(key)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// An access token and when to stop using it.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub renew_at: Instant,
}

/// A one-time message for the next page: what the last form did, or a secret shown once.
#[derive(Clone, PartialEq, Eq)]
pub enum Flash {
    Done(String),
    Failed(String),
    /// A secret the API showed once (a signing secret, a setup link): the next page shows it with
    /// a copy button, and it is gone after.
    Secret {
        what: String,
        value: String,
    },
}

impl std::fmt::Debug for Flash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Done(text) => f.debug_tuple("Done").field(text).finish(),
            Self::Failed(text) => f.debug_tuple("Failed").field(text).finish(),
            Self::Secret { what, .. } => f.debug_struct("Secret").field("what", what).finish_non_exhaustive(),
        }
    }
}

/// One signed-in browser.
pub struct Session {
    pub id: String,
    pub application_id: Uuid,
    pub api_key: ApiKey,
    /// Every form of this session carries it; a post without it is refused.
    pub csrf: String,
    expires: Instant,
    mutable: Mutex<Mutable>,
}

#[derive(Default)]
struct Mutable {
    application_token: Option<Token>,
    consumer_tokens: HashMap<Uuid, Token>,
    flash: Option<Flash>,
}

impl std::fmt::Debug for Mutable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutable").field("flash", &self.flash.is_some()).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("application_id", &self.application_id).finish_non_exhaustive()
    }
}

impl Session {
    fn state(&self) -> MutexGuard<'_, Mutable> {
        self.mutable.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached application token, if still good.
    pub fn application_token(&self) -> Option<String> {
        let state = self.state();
        state.application_token.as_ref().filter(|t| t.renew_at > Instant::now()).map(|t| t.value.clone())
    }

    pub fn set_application_token(&self, token: Token) {
        self.state().application_token = Some(token);
    }

    /// The cached token for `consumer`, if still good.
    pub fn consumer_token(&self, consumer: Uuid) -> Option<String> {
        let state = self.state();
        state.consumer_tokens.get(&consumer).filter(|t| t.renew_at > Instant::now()).map(|t| t.value.clone())
    }

    pub fn set_consumer_token(&self, consumer: Uuid, token: Token) {
        let mut state = self.state();
        let now = Instant::now();
        state.consumer_tokens.retain(|_, t| t.renew_at > now);
        state.consumer_tokens.insert(consumer, token);
    }

    pub fn flash(&self, flash: Flash) {
        self.state().flash = Some(flash);
    }

    /// The flash for this page view, removed.
    pub fn take_flash(&self) -> Option<Flash> {
        self.state().flash.take()
    }

    /// Seconds until the session ends.
    pub fn remaining(&self) -> Duration {
        self.expires.saturating_duration_since(Instant::now())
    }
}

/// Every live session of this process.
pub struct Sessions {
    lifetime: Duration,
    live: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Self {
        Self { lifetime, live: Mutex::new(HashMap::new()) }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    fn live(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session for `application_id`, signed in with `api_key`.
    pub fn start(&self, application_id: Uuid, api_key: ApiKey, application_token: Token) -> Arc<Session> {
        let now = Instant::now();
        let session = Arc::new(Session {
            id: random_token(),
            application_id,
            api_key,
            csrf: random_token(),
            expires: now + self.lifetime,
            mutable: Mutex::new(Mutable { application_token: Some(application_token), ..Mutable::default() }),
        });
        let mut live = self.live();
        live.retain(|_, s| s.expires > now);
        live.insert(session.id.clone(), Arc::clone(&session));
        session
    }

    /// The live session with this id.
    pub fn find(&self, id: &str) -> Option<Arc<Session>> {
        let live = self.live();
        live.get(id).filter(|s| s.expires > Instant::now()).cloned()
    }

    pub fn end(&self, id: &str) {
        self.live().remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token { value: "t".into(), renew_at: Instant::now() + Duration::from_secs(60) }
    }

    #[test]
    fn a_session_is_found_until_it_expires_or_ends() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let s = sessions.start(Uuid::now_v7(), ApiKey::new("key".into()), token());
        assert!(sessions.find(&s.id).is_some());
        assert!(sessions.find("other").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(sessions.find(&s.id).is_none(), "expired");

        let sessions = Sessions::new(Duration::from_secs(60));
        let s = sessions.start(Uuid::now_v7(), ApiKey::new("key".into()), token());
        sessions.end(&s.id);
        assert!(sessions.find(&s.id).is_none(), "ended");
    }

    #[test]
    fn the_api_key_is_never_printed() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let s = sessions.start(Uuid::now_v7(), ApiKey::new("secret-key".into()), token());
        let printed = format!("{s:?} {:?}", s.api_key);
        for secret in ["secret-key", &s.id, &s.csrf] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert_ne!(s.id, s.csrf);
        assert!(same_token(&s.csrf, &s.csrf.clone()));
        assert!(!same_token("a", &s.csrf));
    }

    #[test]
    fn a_flash_is_shown_once() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let s = sessions.start(Uuid::now_v7(), ApiKey::new("k".into()), token());
        s.flash(Flash::Done("saved".into()));
        assert_eq!(s.take_flash(), Some(Flash::Done("saved".into())));
        assert_eq!(s.take_flash(), None);
    }
}

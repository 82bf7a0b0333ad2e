//! What a page handler is given: the signed-in session ([`SignedIn`]), or the session and the
//! fields of a form it posted with its CSRF token ([`Posted`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use uuid::Uuid;

use crate::domain::session::{Session, Sessions, same_token};
use crate::error::PageError;

/// The session cookie: a random id, HttpOnly, SameSite=Strict.
pub const SESSION_COOKIE: &str = "uapi_portal_session";

/// The signed-in session of the request.
pub struct SignedIn(pub Arc<Session>);

fn session_of(req: &HttpRequest) -> Option<Arc<Session>> {
    let sessions = req.app_data::<web::Data<Sessions>>()?;
    let cookie = req.cookie(SESSION_COOKIE)?;
    sessions.find(cookie.value())
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = std::future::Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(session_of(req).map(Self).ok_or(PageError::SignIn))
    }
}

/// A form's fields, in the order sent (a field may repeat: checkboxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The field's trimmed value, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every value of a repeated field.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).collect()
    }
}

/// A form posted by a signed-in session, its CSRF token checked.
pub struct Posted {
    pub session: Arc<Session>,
    pub fields: Fields,
}

impl FromRequest for Posted {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let session = session_of(&req).ok_or(PageError::SignIn)?;
            let form = web::Form::<Vec<(String, String)>>::from_request(&req, &mut payload)
                .await
                .map_err(|_| PageError::Csrf)?;
            let fields = Fields::new(form.into_inner());
            match fields.get("_csrf") {
                Some(token) if same_token(token, &session.csrf) => Ok(Self { session, fields }),
                _ => Err(PageError::Csrf),
            }
        })
    }
}

/// An id from a portal URL: anything but a UUID names nothing.
pub fn id(raw: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(raw).map_err(|_| PageError::NotFound)
}

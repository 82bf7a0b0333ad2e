//! Sign in with an application id and API key; sign out. The key goes to `POST /api/auth` and then
//! lives only in the server's session; the browser keeps a random session id in an HttpOnly,
//! SameSite=Strict cookie (Secure unless the portal is reached on a loopback address).

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use uuid::Uuid;

use super::extract::{Fields, Posted, SESSION_COOKIE, SignedIn};
use super::page::{self, Section};
use crate::api::Apis;
use crate::domain::session::{ApiKey, Sessions, random_token, same_token};
use crate::error::PageError;

/// The sign-in form's CSRF token before there is a session (double submit: cookie and field).
const SIGNIN_COOKIE: &str = "uapi_portal_signin";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/signin", web::get().to(form))
        .route("/signin", web::post().to(sign_in))
        .route("/signout", web::post().to(sign_out));
}

/// Cookies are `Secure` unless the browser reached the portal on a loopback address (`make run`).
fn secure(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host();
    let name = host.rsplit_once(':').filter(|(h, port)| !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    let name = name.map_or(host, |(h, _)| h);
    !matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String, max_age: time::Duration) -> Cookie<'c> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(req))
        .max_age(max_age)
        .finish()
}

fn page(req: &HttpRequest, status: StatusCode, error: Option<&str>, application_id: &str) -> HttpResponse {
    let token = random_token();
    let body = html! {
        section.card.signin {
            h1 { "Sign in" }
            p.muted { "Use your application's id and an API key (from " code { "uapi admin create-application" } ")." }
            @if let Some(error) = error { div.notice.err role="alert" { (error) } }
            form method="post" action="/signin" {
                input type="hidden" name="_csrf" value=(token);
                label for="applicationId" { "Application id" }
                input #applicationId name="applicationId" required autocomplete="username" spellcheck="false"
                    placeholder="0193…" value=(application_id);
                label for="apiKey" { "API key" }
                input #apiKey name="apiKey" type="password" required autocomplete="current-password";
                button type="submit" { "Sign in" }
            }
        }
    };
    let mut response = page::builder(status);
    response.cookie(cookie(req, SIGNIN_COOKIE, token, time::Duration::hours(1)));
    response.body(page::render_document("Sign in", None, Section::None, body))
}

async fn form(req: HttpRequest) -> HttpResponse {
    if req.cookie(SESSION_COOKIE).and_then(|c| req.app_data::<web::Data<Sessions>>()?.find(c.value())).is_some() {
        return page::see_other("/");
    }
    page(&req, StatusCode::OK, None, "")
}

async fn sign_in(
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    apis: web::Data<Apis>,
    sessions: web::Data<Sessions>,
) -> Result<HttpResponse, PageError> {
    let fields = Fields::new(form.into_inner());
    let expected = req.cookie(SIGNIN_COOKIE);
    match (fields.get("_csrf"), expected) {
        (Some(given), Some(expected)) if same_token(given, expected.value()) => {}
        _ => return Err(PageError::Csrf),
    }
    let raw_id = fields.get("applicationId").unwrap_or_default();
    let refused = |req: &HttpRequest| {
        page(req, StatusCode::UNAUTHORIZED, Some("That application id and API key do not match."), raw_id)
    };
    let (Ok(application_id), Some(key)) = (Uuid::parse_str(raw_id), fields.get("apiKey")) else {
        return Ok(refused(&req));
    };
    let key = ApiKey::new(key.to_owned());
    let token = match apis.sign_in(application_id, &key).await {
        Ok(token) => token,
        Err(e) if matches!(e.status(), Some(400 | 401 | 403)) => return Ok(refused(&req)),
        Err(e) => return Err(PageError::Api(e)),
    };
    // A browser signing in again leaves its earlier session behind: end it.
    if let Some(earlier) = req.cookie(SESSION_COOKIE) {
        sessions.end(earlier.value());
    }
    let session = sessions.start(application_id, key, token);
    let lifetime = time::Duration::seconds(i64::try_from(sessions.lifetime().as_secs()).unwrap_or(i64::MAX));
    let mut removal = cookie(&req, SIGNIN_COOKIE, String::new(), time::Duration::ZERO);
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/"))
        .cookie(cookie(&req, SESSION_COOKIE, session.id.clone(), lifetime))
        .cookie(removal)
        .finish())
}

async fn sign_out(req: HttpRequest, posted: Posted, sessions: web::Data<Sessions>) -> HttpResponse {
    sessions.end(&posted.session.id);
    let mut removal = cookie(&req, SESSION_COOKIE, String::new(), time::Duration::ZERO);
    removal.make_removal();
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/signin"))
        // The API Explorer's access token is in the browser's storage: forget it too.
        .insert_header(("Clear-Site-Data", "\"storage\""))
        .cookie(removal)
        .finish()
}

/// `/`: a signed-in session's consumers, else sign-in.
pub async fn home(session: Option<SignedIn>) -> HttpResponse {
    page::see_other(if session.is_some() { "/consumers" } else { "/signin" })
}

//! The frame of every page: header, navigation, the one-time message, and the headers that keep a
//! page to itself (no inline script, no framing, no caching of what a session saw).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};
use maud::{DOCTYPE, Markup, html};

use crate::domain::session::{Flash, Session};

/// The navigation entries; the current one is marked for screen readers and styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Webhooks,
    Consumers,
    Events,
    None,
}

/// Scripts and styles come from the portal alone; forms post only to it; no page is framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A response builder with the headers every page carries.
pub fn builder(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    b
}

fn document(title: &str, session: Option<&Session>, section: Section, body: Markup) -> Markup {
    let nav = [
        (Section::Webhooks, "/webhooks", "Webhooks"),
        (Section::Consumers, "/consumers", "Consumers"),
        (Section::Events, "/events", "Event catalog"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(s) = session { meta name="csrf-token" content=(s.csrf); }
                title { (title) " · uapi-hris portal" }
                // No favicon request: the browser would ask for /favicon.ico on every page.
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/portal.css";
                script src="/assets/portal.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { span.logo aria-hidden="true" { "◆" } " uapi-hris" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            ul {
                                @for (entry, href, label) in nav {
                                    li {
                                        @if entry == section {
                                            a href=(href) aria-current="page" { (label) }
                                        } @else {
                                            a href=(href) { (label) }
                                        }
                                    }
                                }
                                li { a href="/explorer/" { "API Explorer" } }
                            }
                        }
                        form.signout method="post" action="/signout" {
                            (csrf(s))
                            span.who title="Signed-in application" { "App " code { (short(&s.application_id.to_string())) } }
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    @if let Some(flash) = session.and_then(Session::take_flash) { (flash_box(&flash)) }
                    (body)
                }
                footer { "uapi-hris · " a href="/explorer/" { "API Explorer" } " · " a href="/events" { "Event catalog" } }
            }
        }
    }
}

fn flash_box(flash: &Flash) -> Markup {
    match flash {
        Flash::Done(text) => html! { div.notice.ok role="status" { (text) } },
        Flash::Failed(text) => html! { div.notice.err role="alert" { (text) } },
        Flash::Secret { what, value } => html! {
            div.notice.secret role="status" {
                p { strong { (what) } " — shown this once: copy it now." }
                (copyable("secret-once", what, value, false))
            }
        },
    }
}

/// A read-only value with a copy button; `masked` hides it until "Show" is pressed.
pub fn copyable(id: &str, label: &str, value: &str, masked: bool) -> Markup {
    html! {
        div.copyable {
            label.visually-hidden for=(id) { (label) }
            input #(id) type=(if masked { "password" } else { "text" }) readonly value=(value) spellcheck="false" autocomplete="off";
            @if masked { button.secondary type="button" data-reveal=(id) { "Show" } }
            button type="button" data-copy=(id) { "Copy" }
        }
    }
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="_csrf" value=(session.csrf); }
}

/// A form that posts to `action` with one button; `confirm` asks first.
pub fn button_form(session: &Session, action: &str, label: &str, class: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (csrf(session))
            button class=(class) type="submit" { (label) }
        }
    }
}

/// The first eight characters of an id, for tables (the full id is in the title).
pub fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// A page of a signed-in session (or, with `None`, a public one).
pub fn render(title: &str, session: Option<&Session>, section: Section, body: Markup) -> HttpResponse {
    builder(StatusCode::OK).body(render_document(title, session, section, body))
}

/// The page's HTML, for a response built elsewhere (one that sets cookies).
pub fn render_document(title: &str, session: Option<&Session>, section: Section, body: Markup) -> String {
    document(title, session, section, body).into_string()
}

/// A page that only explains (errors, expired links).
pub fn message(status: StatusCode, title: &str, text: &str) -> HttpResponse {
    let body = html! {
        section.card.message {
            h1 { (title) }
            p { (text) }
            p { a href="/" { "Back to the portal" } }
        }
    };
    builder(status).body(document(title, None, Section::None, body).into_string())
}

/// 303 to `location`: where a form sends the browser after it is done.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// JSON in a `<pre>` block.
pub fn pretty(value: &serde_json::Value) -> Markup {
    html! { pre.json { code { (serde_json::to_string_pretty(value).unwrap_or_default()) } } }
}

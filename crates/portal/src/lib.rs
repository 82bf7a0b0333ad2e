//! portal: the browser face of uapi-hris over the public APIs: sign-in, webhooks and their
//! delivery logs, consumers and their Okta SCIM connections, employees and groups, the event
//! catalog, setup links for a consumer's IT admin, and the API Explorer (`/explorer/`).

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod startup;

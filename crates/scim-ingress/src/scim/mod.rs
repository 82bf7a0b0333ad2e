//! SCIM protocol plumbing for actix: error bodies, request bodies, authentication, list responses
//! and the activity middleware.

pub mod activity;
pub mod auth;
pub mod body;
pub mod error;
pub mod list;
pub mod projection;

pub const CONTENT_TYPE: &str = uapi_platform::problem::SCIM_CONTENT_TYPE;
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

//! SCIM 2.0 protocol logic (RFC 7643/7644) with no I/O: the filter and PATCH path grammars, filter evaluation on JSON
//! resources, and PATCH operations applied atomically to JSON resources, tolerant of what Okta and Entra ID send.

pub mod error;
pub mod eval;
pub mod filter;
pub mod patch;
pub mod path;
pub mod schema;

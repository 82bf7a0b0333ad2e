//! Domain rules of the control plane, free of HTTP and SQL.

pub mod credentials;
pub mod setup_links;

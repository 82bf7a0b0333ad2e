//! portal: the browser face of uapi-hris over the public APIs. Today it serves the API Explorer
//! (`/explorer/`): Swagger UI over every service's OpenAPI document.

pub mod config;
pub mod error;
pub mod routes;
pub mod startup;

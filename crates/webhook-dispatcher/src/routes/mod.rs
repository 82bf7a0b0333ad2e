//! `/api/webhooks*` (application scope): subscriptions and their delivery log.

pub mod deliveries;
pub mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    webhooks::configure(cfg);
    deliveries::configure(cfg);
}

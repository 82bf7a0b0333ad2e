//! scim-ingress integration tests against the real Postgres and RabbitMQ.

mod group_memberships;
mod groups;
mod groups_hostile;
mod helpers;
mod hostile_input;
mod patch_rfc;
mod throttling;
mod users;

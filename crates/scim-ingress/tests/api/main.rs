//! scim-ingress integration tests against the real Postgres and RabbitMQ.

mod bounds;
mod contention;
mod filters;
mod group_memberships;
mod groups;
mod groups_hostile;
mod helpers;
mod hostile_input;
mod okta_crud;
mod okta_qa_groups;
mod okta_qa_users;
mod okta_spec;
mod openapi;
mod patch_rfc;
mod status;
mod throttling;
mod users;

//! SCIM-to-employee logic: resource validation, normalization, filters and the write pipelines of
//! users and groups.

pub mod bounds;
pub mod filter_sql;
pub mod group_commit;
pub mod group_patch;
pub mod group_resource;
pub mod group_writes;
pub mod memberships;
pub mod normalize;
pub mod repair;
pub mod resource;
pub mod writes;

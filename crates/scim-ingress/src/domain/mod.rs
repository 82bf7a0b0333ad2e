//! SCIM-to-employee logic: resource validation, normalization, filters and the write pipeline.

pub mod filter_sql;
pub mod group_commit;
pub mod normalize;
pub mod resource;
pub mod writes;

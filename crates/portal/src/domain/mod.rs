//! The portal's own state: browser sessions ([`session`]), and the event catalog it documents
//! ([`catalog`]).

pub mod catalog;
pub mod session;

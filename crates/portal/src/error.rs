//! The portal's errors are the platform's problems (`uapi_platform::problem::Problem`); pages it
//! does not know answer the platform's 404 problem.

pub use uapi_platform::problem::Problem;

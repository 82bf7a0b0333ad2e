//! The one error type of the crate, carrying the RFC 7644 §3.12 `scimType` a server puts in its 400 response.

/// RFC 7644 §3.12 scimType values this crate produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    /// The filter syntax was invalid or the filter is too large or too deep.
    InvalidFilter,
    /// The PATCH `path` attribute was invalid or malformed.
    InvalidPath,
    /// The PATCH path did not yield a target that could be operated on.
    NoTarget,
    /// A required value was missing or had the wrong type.
    InvalidValue,
    /// The request body structure was invalid.
    InvalidSyntax,
    /// The operation tried to change an immutable or read-only attribute.
    Mutability,
}

impl ScimType {
    /// The camel-case wire spelling, e.g. `"invalidFilter"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidSyntax => "invalidSyntax",
            Self::Mutability => "mutability",
        }
    }
}

/// A protocol error: the `scimType` plus a non-empty, human-readable `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    /// Which RFC 7644 error kind this is.
    pub scim_type: ScimType,
    /// What went wrong, for the `detail` field of the error response.
    pub detail: String,
}

impl ScimError {
    /// Builds an error; an empty detail is replaced by the scimType so `detail` is never empty.
    pub(crate) fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let detail = if detail.is_empty() { scim_type.as_str().to_owned() } else { detail };
        Self { scim_type, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names() {
        assert_eq!(ScimType::InvalidFilter.as_str(), "invalidFilter");
        assert_eq!(ScimType::NoTarget.as_str(), "noTarget");
        assert_eq!(ScimType::Mutability.as_str(), "mutability");
    }

    #[test]
    fn detail_is_never_empty() {
        let err = ScimError::new(ScimType::InvalidPath, "");
        assert_eq!(err.to_string(), "invalidPath");
    }
}

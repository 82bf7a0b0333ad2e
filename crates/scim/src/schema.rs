//! What filter evaluation and PATCH need to know about a resource type's attributes (RFC 7643 §4): which are
//! multi-valued, case-exact or read-only, and which schema URNs qualify attribute names.

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension schema URN.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The PATCH request message schema URN.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Facts about a resource type's attributes, all names compared case-insensitively.
#[derive(Debug)]
pub struct ResourceSchema {
    /// The core schema URN; attributes qualified with it live at the top level of the resource.
    pub core_urn: &'static str,
    /// Known extension schema URNs; attributes qualified with one live in the object keyed by that URN.
    pub extension_urns: &'static [&'static str],
    /// Top-level multi-valued complex attributes.
    pub multi_valued: &'static [&'static str],
    /// Dotted lower-case attribute paths whose string values compare case-sensitively (RFC 7643 `caseExact`).
    pub case_exact: &'static [&'static str],
    /// Top-level attributes clients cannot change.
    pub read_only: &'static [&'static str],
    /// Top-level attributes that must always have a value: removing one is a `mutability` error (RFC 7644
    /// §3.5.2.2).
    pub required: &'static [&'static str],
    /// Known singular attributes of a simple type: a sub-attribute or value filter on one is an invalid path.
    pub simple: &'static [&'static str],
    /// Known singular complex attributes: their value is an object of sub-attributes, never filtered.
    pub complex: &'static [&'static str],
    /// Multi-valued attributes whose values can be added and removed but not changed, because every sub-attribute
    /// is immutable or read-only (a group's `members`, RFC 7643 §4.2 and §8.7.1).
    pub fixed_values: &'static [&'static str],
}

/// The User resource type (RFC 7643 §4.1 plus the enterprise extension).
pub static USER: ResourceSchema = ResourceSchema {
    core_urn: USER_SCHEMA,
    extension_urns: &[ENTERPRISE_USER_SCHEMA],
    multi_valued: &[
        "emails",
        "phoneNumbers",
        "addresses",
        "ims",
        "photos",
        "entitlements",
        "roles",
        "x509Certificates",
        "groups",
    ],
    case_exact: &["id", "externalid", "meta.location", "groups.value", "groups.$ref"],
    read_only: &["id", "meta", "groups"],
    required: &["userName"],
    simple: &[
        "userName",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "externalId",
    ],
    complex: &["name"],
    fixed_values: &[],
};

/// The Group resource type (RFC 7643 §4.2).
pub static GROUP: ResourceSchema = ResourceSchema {
    core_urn: GROUP_SCHEMA,
    extension_urns: &[],
    multi_valued: &["members"],
    case_exact: &["id", "externalid", "meta.location", "members.value", "members.$ref"],
    read_only: &["id", "meta"],
    required: &["displayName"],
    simple: &["displayName", "externalId"],
    complex: &[],
    fixed_values: &["members"],
};

fn contains_ci(list: &[&str], name: &str) -> bool {
    list.iter().any(|item| item.eq_ignore_ascii_case(name))
}

impl ResourceSchema {
    /// True when `urn` is this resource type's core schema.
    pub fn is_core_urn(&self, urn: &str) -> bool {
        self.core_urn.eq_ignore_ascii_case(urn)
    }

    /// True when `urn` is the core schema or a known extension.
    pub(crate) fn is_known_urn(&self, urn: &str) -> bool {
        self.is_core_urn(urn) || contains_ci(self.extension_urns, urn)
    }

    /// True for a top-level multi-valued attribute of the core schema.
    pub fn is_multi_valued(&self, attr: &str) -> bool {
        contains_ci(self.multi_valued, attr)
    }

    /// True when the dotted attribute path compares case-sensitively.
    pub fn is_case_exact(&self, dotted: &str) -> bool {
        contains_ci(self.case_exact, dotted)
    }

    /// True for a top-level read-only attribute of the core schema.
    pub(crate) fn is_read_only(&self, attr: &str) -> bool {
        contains_ci(self.read_only, attr)
    }

    /// True for a top-level attribute of the core schema that must keep a value.
    pub(crate) fn is_required(&self, attr: &str) -> bool {
        contains_ci(self.required, attr)
    }

    /// True for a known singular simple attribute of the core schema.
    pub(crate) fn is_simple(&self, attr: &str) -> bool {
        contains_ci(self.simple, attr)
    }

    /// True for a known singular complex attribute of the core schema.
    pub(crate) fn is_complex(&self, attr: &str) -> bool {
        contains_ci(self.complex, attr)
    }

    /// True for a multi-valued attribute whose existing values cannot be changed, only added or removed.
    pub(crate) fn has_fixed_values(&self, attr: &str) -> bool {
        contains_ci(self.fixed_values, attr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case() {
        assert!(USER.is_multi_valued("EMAILS"));
        assert!(USER.is_case_exact("externalId"));
        assert!(!USER.is_case_exact("userName"));
        assert!(GROUP.is_case_exact("members.value"));
        assert!(USER.is_known_urn("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert!(USER.is_read_only("Groups"));
        assert!(!GROUP.is_read_only("members"));
        assert!(USER.is_required("USERNAME") && GROUP.is_required("displayname"));
        assert!(USER.is_simple("Active") && USER.is_complex("NAME") && !USER.is_simple("emails"));
        assert!(GROUP.has_fixed_values("Members") && !USER.has_fixed_values("emails"));
    }
}

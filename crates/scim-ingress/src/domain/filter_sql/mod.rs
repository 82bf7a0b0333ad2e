//! Compiles a parsed SCIM filter (RFC 7644 §3.4.2.2, the whole grammar) on Users or Groups into
//! parameterized SQL. The lookups Okta sends use indexed columns ([`columns`]); every other
//! attribute, operator and value filter reads the stored JSON resource ([`json`]) with the
//! semantics of the in-memory evaluator `uapi_scim::eval`, which the tests hold it to. Values and
//! attribute names only ever travel as bind parameters, never inside the SQL text. What cannot be
//! compiled is a 400 `invalidFilter` saying why.

mod columns;
mod json;
#[cfg(test)]
mod tests;

use uapi_scim::eval::dotted;
use uapi_scim::filter::{AttrPath, CompareOp, Filter};
use uapi_scim::schema::{self, ResourceSchema};

use crate::db::SqlFilter;
use crate::scim::error::{ScimError, ScimResult};

use columns::Column;

/// How one resource type is stored, as far as filters are concerned.
pub struct Target {
    /// The table the page query reads (`users`, `groups`); computed attributes refer to it.
    table: &'static str,
    schema: &'static ResourceSchema,
    /// Lower-case attribute (`name` or `name.sub`) → its indexed column.
    columns: fn(&str) -> Option<Column>,
    /// Lower-case top-level attribute that is not in the stored JSON but computed from other rows
    /// → a FROM item naming, as column and table `alias`, each of its values (keys and
    /// non-case-exact strings lower-cased, as in `search`).
    computed: fn(attr: &str, alias: &str) -> Option<String>,
}

/// `/Users`.
pub static USERS: Target = Target {
    table: "users",
    schema: &schema::USER,
    columns: |attr| match attr {
        "username" => Some(Column::Text { sql: "user_name", case_exact: false, required: true }),
        "externalid" => Some(Column::Text { sql: "external_id", case_exact: true, required: false }),
        "id" => Some(Column::Id),
        "emails" | "emails.value" => Some(Column::Emails),
        "active" => Some(Column::Active),
        "groups" | "groups.value" => Some(Column::Membership { member_of: true }),
        _ => None,
    },
    computed: |attr, alias| match attr {
        "id" => Some(format!("(VALUES (to_jsonb(users.id::text))) AS {alias}({alias})")),
        "groups" => Some(format!(
            "(SELECT jsonb_build_object('value', g.id::text, 'display', lower(g.display_name), 'type', 'direct') AS {alias} \
             FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = users.id) AS {alias}"
        )),
        "meta" => Some(json::meta("users", "user", alias)),
        _ => None,
    },
};

/// `/Groups`.
pub static GROUPS: Target = Target {
    table: "groups",
    schema: &schema::GROUP,
    columns: |attr| match attr {
        "displayname" => Some(Column::Text { sql: "display_name", case_exact: false, required: true }),
        "externalid" => Some(Column::Text { sql: "external_id", case_exact: true, required: false }),
        "id" => Some(Column::Id),
        "members" | "members.value" => Some(Column::Membership { member_of: false }),
        _ => None,
    },
    computed: |attr, alias| match attr {
        "id" => Some(format!("(VALUES (to_jsonb(groups.id::text))) AS {alias}({alias})")),
        "members" => Some(format!(
            "(SELECT jsonb_build_object('value', gm.user_id::text, 'display', lower(u.user_name), 'type', 'user') AS {alias} \
             FROM group_members gm JOIN users u ON u.id = gm.user_id WHERE gm.group_id = groups.id) AS {alias}"
        )),
        "meta" => Some(json::meta("groups", "group", alias)),
        _ => None,
    },
};

/// Compiles `filter` on `target`; placeholders start at `$2` (`$1` is the connection id).
pub fn compile(filter: &Filter, target: &Target) -> ScimResult<SqlFilter> {
    let mut compiler = Compiler { target, binds: Vec::new(), aliases: 0, scans: false };
    let sql = compiler.node(filter, &Scope::Resource)?;
    Ok(SqlFilter { sql, binds: compiler.binds, scans: compiler.scans })
}

/// Where attribute names are looked up.
enum Scope {
    /// The resource itself.
    Resource,
    /// One value of a multi-valued attribute, inside a value filter (`emails[type eq "work"]`):
    /// the SQL column `alias` holds it; `parent` is the attribute's lower-case dotted name.
    Element { alias: String, parent: String },
}

struct Compiler<'t> {
    target: &'t Target,
    binds: Vec<String>,
    aliases: usize,
    /// Set once any part reads the JSON or a computed attribute rather than an indexed column.
    scans: bool,
}

fn invalid(detail: impl std::fmt::Display) -> ScimError {
    ScimError::bad_request("invalidFilter", format!("unsupported filter: {detail}"))
}

/// `NOT`, reading SQL's unknown (a NULL column compared) as false, as the filter language does.
fn negate(sql: &str) -> String {
    format!("NOT COALESCE({sql}, FALSE)")
}

impl Compiler<'_> {
    fn bind(&mut self, value: impl Into<String>) -> String {
        self.binds.push(value.into());
        format!("${}", self.binds.len() + 1)
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("e{}", self.aliases)
    }

    /// The path's attribute as the target's column lookup spells it, when it names the core schema.
    fn core_attribute(&self, path: &AttrPath) -> Option<String> {
        match &path.urn {
            Some(urn) if !self.target.schema.is_core_urn(urn) => None,
            _ => Some(dotted(None, path)),
        }
    }

    fn node(&mut self, filter: &Filter, scope: &Scope) -> ScimResult<String> {
        match filter {
            Filter::And(a, b) => Ok(format!("({} AND {})", self.node(a, scope)?, self.node(b, scope)?)),
            Filter::Or(a, b) => Ok(format!("({} OR {})", self.node(a, scope)?, self.node(b, scope)?)),
            Filter::Not(inner) => Ok(negate(&self.node(inner, scope)?)),
            // `ne` is "not equal": true too for a resource without the attribute.
            Filter::Compare { path, op: CompareOp::Ne, value } => {
                let eq = Filter::Compare { path: path.clone(), op: CompareOp::Eq, value: value.clone() };
                Ok(negate(&self.node(&eq, scope)?))
            }
            Filter::Compare { path, op, value } => match self.indexed(filter, scope)? {
                Some(sql) => Ok(sql),
                None => self.compare(path, *op, value, scope),
            },
            Filter::Present(path) => match self.indexed(filter, scope)? {
                Some(sql) => Ok(sql),
                None => self.present(path, scope),
            },
            Filter::ValuePath { path, filter: inner } => match self.indexed(filter, scope)? {
                Some(sql) => Ok(sql),
                None => self.value_path(path, inner, scope),
            },
        }
    }
}

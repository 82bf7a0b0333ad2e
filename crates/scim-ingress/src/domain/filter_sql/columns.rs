//! The indexed fast paths: the lookups Okta and Entra send (`userName eq`, `externalId eq`,
//! `id eq`, `emails[value eq]`, `displayName eq`, `members[value eq]`, …) compiled onto columns and
//! their indexes. A filter these do not cover returns `None` and is read from the JSON instead.

use serde_json::Value;
use uapi_scim::filter::{AttrPath, CompareOp, Filter};

use super::{Compiler, Scope, invalid};
use crate::scim::error::ScimResult;

/// What a filterable attribute is stored as.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    /// A text column; `required` ones are never null or empty, so `pr` is always true.
    Text { sql: &'static str, case_exact: bool, required: bool },
    /// The resource's UUID `id`.
    Id,
    /// Users' lower-cased email values (`text[]`, GIN-indexed).
    Emails,
    /// Users' `active`.
    Active,
    /// `group_members` rows: a user's `groups` (`member_of`) or a group's `members`.
    Membership { member_of: bool },
}

fn like_pattern(s: &str, prefix: bool, suffix: bool) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("{}{escaped}{}", if prefix { "%" } else { "" }, if suffix { "%" } else { "" })
}

/// The SQL comparison operator of an ordering `op`.
pub(super) fn ordering(op: CompareOp) -> Option<&'static str> {
    match op {
        CompareOp::Eq => Some("="),
        CompareOp::Gt => Some(">"),
        CompareOp::Ge => Some(">="),
        CompareOp::Lt => Some("<"),
        CompareOp::Le => Some("<="),
        _ => None,
    }
}

/// Binds `value` for `op` and returns the comparison of a text expression with it. With `fold`,
/// the literal is lower-cased by Postgres, with the same `lower()` that folded the expression (and
/// that the unique indexes use), so a lookup always sees what the uniqueness check sees. Ordering
/// is by code point (`COLLATE "C"`), as Rust compares strings; `co`/`sw`/`ew` are `LIKE` with the
/// value escaped.
pub(super) fn text_op(
    compiler: &mut Compiler<'_>,
    op: CompareOp,
    value: &str,
    fold: bool,
) -> impl Fn(&str) -> String + use<> {
    let value = match op {
        CompareOp::Co => like_pattern(value, true, true),
        CompareOp::Sw => like_pattern(value, false, true),
        CompareOp::Ew => like_pattern(value, true, false),
        _ => value.to_owned(),
    };
    let bound = compiler.bind(value);
    let literal = if fold { format!("lower({bound})") } else { bound };
    move |expr| match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => format!("{expr} LIKE {literal} ESCAPE '\\'"),
        CompareOp::Eq => format!("{expr} = {literal}"),
        other => format!("{expr} COLLATE \"C\" {} {literal}", ordering(other).unwrap_or("=")),
    }
}

impl Compiler<'_> {
    /// The indexed form of `filter`, when there is one (only on the resource, never inside a
    /// value filter).
    pub(super) fn indexed(&mut self, filter: &Filter, scope: &Scope) -> ScimResult<Option<String>> {
        if !matches!(scope, Scope::Resource) {
            return Ok(None);
        }
        let column = |c: &Self, path: &AttrPath| c.core_attribute(path).and_then(|attr| (c.target.columns)(&attr));
        let table = self.target.table;
        Ok(match filter {
            Filter::Compare { path, op, value } => {
                if let Some(sql) = self.meta_timestamp(path, *op, value)? {
                    return Ok(Some(sql));
                }
                match (column(self, path), value) {
                    (Some(Column::Text { sql, case_exact, .. }), Value::String(v)) if *op != CompareOp::Ne => {
                        let expr = if case_exact { sql.to_owned() } else { format!("lower({sql})") };
                        Some(text_op(self, *op, v, !case_exact)(&expr))
                    }
                    (Some(Column::Id), Value::String(v)) if *op == CompareOp::Eq => {
                        Some(self.uuid_eq(v, |id| format!("{table}.id = {id}")))
                    }
                    (Some(Column::Emails), Value::String(v)) if *op == CompareOp::Eq => Some(self.email_is(v)),
                    (Some(Column::Membership { member_of }), Value::String(v)) if *op == CompareOp::Eq => {
                        Some(self.membership(member_of, Some(v)))
                    }
                    (Some(Column::Active), Value::Bool(b)) if *op == CompareOp::Eq => {
                        Some(format!("active = {}::boolean", self.bind(b.to_string())))
                    }
                    _ => None,
                }
            }
            Filter::Present(path) => match column(self, path) {
                Some(Column::Text { required: true, .. } | Column::Id) => Some("TRUE".into()),
                Some(Column::Text { sql, .. }) => Some(format!("({sql} IS NOT NULL AND {sql} <> '')")),
                Some(Column::Membership { member_of }) => Some(self.membership(member_of, None)),
                _ => None,
            },
            Filter::ValuePath { path, filter } => {
                let value_eq = match filter.as_ref() {
                    Filter::Compare { path: inner, op: CompareOp::Eq, value: Value::String(v) }
                        if inner.attr.eq_ignore_ascii_case("value") && inner.sub.is_none() && inner.urn.is_none() =>
                    {
                        Some(v)
                    }
                    _ => None,
                };
                match (path.sub.is_none().then(|| column(self, path)).flatten(), value_eq) {
                    (Some(Column::Emails), Some(v)) => Some(self.email_is(v)),
                    (Some(Column::Membership { member_of }), Some(v)) => Some(self.membership(member_of, Some(v))),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    /// `meta.created` and `meta.lastModified` compare chronologically (RFC 7644 §3.4.2.2), at the
    /// millisecond precision they are served with.
    fn meta_timestamp(&mut self, path: &AttrPath, op: CompareOp, value: &Value) -> ScimResult<Option<String>> {
        let column = match self.core_attribute(path).as_deref() {
            Some("meta.created") => "created_at",
            Some("meta.lastmodified") => "updated_at",
            Some("meta.location") => return Err(invalid("meta.location cannot be filtered on")),
            _ => return Ok(None),
        };
        let (Some(sql_op), Value::String(literal)) = (ordering(op), value) else {
            return Ok(None);
        };
        let at = chrono::DateTime::parse_from_rfc3339(literal)
            .map_err(|_| invalid(format!("{path} {op} {value}: not an RFC 3339 dateTime")))?;
        let table = self.target.table;
        let bound = self.bind(at.to_rfc3339());
        Ok(Some(format!("date_trunc('milliseconds', {table}.{column}) {sql_op} {bound}::timestamptz")))
    }

    /// `id = $n`, or `FALSE` for a value that is not one of our ids (so no bad cast reaches Postgres).
    fn uuid_eq(&mut self, value: &str, sql: impl Fn(&str) -> String) -> String {
        match uuid::Uuid::parse_str(value) {
            Ok(id) => sql(&format!("{}::uuid", self.bind(id.to_string()))),
            Err(_) => "FALSE".into(),
        }
    }

    fn email_is(&mut self, value: &str) -> String {
        // The column holds values lower-cased in Rust when written (db::users::email_keys).
        format!("emails @> ARRAY[{}]::text[]", self.bind(value.to_lowercase()))
    }

    /// The resource has any membership (`None`) or the one with the group or user `other`.
    fn membership(&mut self, member_of: bool, other: Option<&str>) -> String {
        let (own, theirs) =
            if member_of { ("m.user_id = users.id", "m.group_id") } else { ("m.group_id = groups.id", "m.user_id") };
        let rows = format!("EXISTS (SELECT 1 FROM group_members m WHERE {own}");
        match other {
            None => format!("{rows})"),
            Some(v) => self.uuid_eq(v, |id| format!("{rows} AND {theirs} = {id})")),
        }
    }
}

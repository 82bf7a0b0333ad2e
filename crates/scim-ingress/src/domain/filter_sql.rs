//! Compiles a parsed SCIM filter on Users or Groups into parameterized SQL over the indexed
//! columns. Values only ever travel as bind parameters, never inside the SQL text. What cannot be
//! compiled is a 400 `invalidFilter` naming the attribute and operator.

use uapi_scim::filter::{AttrPath, CompareOp, Filter};
use uapi_scim::schema::{GROUP_SCHEMA, USER_SCHEMA};

use crate::db::SqlFilter;
use crate::scim::error::{ScimError, ScimResult};

/// What a filterable attribute is stored as.
#[derive(Debug, Clone, Copy)]
enum Column {
    /// A text column; `required` ones are never null or empty, so `pr` is always true.
    Text { sql: &'static str, case_exact: bool, required: bool },
    /// The resource's UUID `id`.
    Id,
    /// Users' lower-cased email values (`text[]`, GIN-indexed).
    Emails,
    /// Users' `active`.
    Active,
    /// Groups' members (`group_members` rows, by user id).
    Members,
}

/// The filterable attributes of one resource type.
pub struct Target {
    core_urn: &'static str,
    /// Lower-case attribute (`name` or `name.sub`) → how it is stored.
    columns: fn(&str) -> Option<Column>,
}

/// `/Users`.
pub static USERS: Target = Target {
    core_urn: USER_SCHEMA,
    columns: |attr| match attr {
        "username" => Some(Column::Text { sql: "user_name", case_exact: false, required: true }),
        "externalid" => Some(Column::Text { sql: "external_id", case_exact: true, required: false }),
        "id" => Some(Column::Id),
        "emails" | "emails.value" => Some(Column::Emails),
        "active" => Some(Column::Active),
        _ => None,
    },
};

/// `/Groups`.
pub static GROUPS: Target = Target {
    core_urn: GROUP_SCHEMA,
    columns: |attr| match attr {
        "displayname" => Some(Column::Text { sql: "display_name", case_exact: false, required: true }),
        "externalid" => Some(Column::Text { sql: "external_id", case_exact: true, required: false }),
        "id" => Some(Column::Id),
        "members" | "members.value" => Some(Column::Members),
        _ => None,
    },
};

/// Compiles `filter` on `target`; placeholders start at `$2` (`$1` is the connection id).
pub fn compile(filter: &Filter, target: &Target) -> ScimResult<SqlFilter> {
    let mut out = SqlFilter::default();
    out.sql = node(filter, target, &mut out.binds)?;
    Ok(out)
}

fn unsupported(what: impl std::fmt::Display) -> ScimError {
    ScimError::bad_request("invalidFilter", format!("unsupported filter: {what}"))
}

/// The attribute a path names, lower-cased, with a core-schema URN prefix removed.
fn attribute(path: &AttrPath, target: &Target) -> ScimResult<String> {
    if let Some(urn) = &path.urn
        && !urn.eq_ignore_ascii_case(target.core_urn)
    {
        return Err(unsupported(format!("filtering on extension attribute {path}")));
    }
    Ok(match &path.sub {
        Some(sub) => format!("{}.{}", path.attr, sub).to_ascii_lowercase(),
        None => path.attr.to_ascii_lowercase(),
    })
}

fn column(path: &AttrPath, target: &Target) -> ScimResult<(String, Option<Column>)> {
    let attr = attribute(path, target)?;
    let column = (target.columns)(&attr);
    Ok((attr, column))
}

fn bind(binds: &mut Vec<String>, value: String) -> String {
    binds.push(value);
    format!("${}", binds.len() + 1)
}

fn like_pattern(s: &str, prefix: bool, suffix: bool) -> String {
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("{}{escaped}{}", if prefix { "%" } else { "" }, if suffix { "%" } else { "" })
}

fn text_compare(
    column: &str,
    op: CompareOp,
    value: &str,
    case_exact: bool,
    binds: &mut Vec<String>,
) -> ScimResult<String> {
    let (col, v) = if case_exact {
        (column.to_owned(), value.to_owned())
    } else {
        (format!("lower({column})"), value.to_lowercase())
    };
    Ok(match op {
        CompareOp::Eq => format!("{col} = {}", bind(binds, v)),
        CompareOp::Ne => format!("({col} IS NULL OR {col} <> {})", bind(binds, v)),
        CompareOp::Co => format!("{col} LIKE {} ESCAPE '\\'", bind(binds, like_pattern(&v, true, true))),
        CompareOp::Sw => format!("{col} LIKE {} ESCAPE '\\'", bind(binds, like_pattern(&v, false, true))),
        CompareOp::Ew => format!("{col} LIKE {} ESCAPE '\\'", bind(binds, like_pattern(&v, true, false))),
        other => return Err(unsupported(format!("operator {other} on {column}"))),
    })
}

/// `id = $n` (or `FALSE` for a value that is not one of our ids, which never reaches Postgres
/// as a bad cast).
fn uuid_eq(sql: impl Fn(&str) -> String, value: &str, binds: &mut Vec<String>) -> String {
    match uuid::Uuid::parse_str(value) {
        Ok(id) => sql(&format!("{}::uuid", bind(binds, id.to_string()))),
        Err(_) => "FALSE".into(),
    }
}

fn member_is(value: &str, binds: &mut Vec<String>) -> String {
    uuid_eq(
        |id| format!("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = groups.id AND m.user_id = {id})"),
        value,
        binds,
    )
}

fn email_is(value: &str, binds: &mut Vec<String>) -> String {
    format!("emails @> ARRAY[{}]::text[]", bind(binds, value.to_lowercase()))
}

fn node(filter: &Filter, target: &Target, binds: &mut Vec<String>) -> ScimResult<String> {
    use serde_json::Value;
    match filter {
        Filter::And(a, b) => Ok(format!("({} AND {})", node(a, target, binds)?, node(b, target, binds)?)),
        Filter::Or(a, b) => Ok(format!("({} OR {})", node(a, target, binds)?, node(b, target, binds)?)),
        Filter::Not(inner) => Ok(format!("NOT ({})", node(inner, target, binds)?)),
        Filter::Present(path) => match column(path, target)? {
            (_, Some(Column::Text { required: true, .. } | Column::Id)) => Ok("TRUE".into()),
            (_, Some(Column::Text { sql, .. })) => Ok(format!("({sql} IS NOT NULL AND {sql} <> '')")),
            (_, Some(Column::Emails)) => Ok("cardinality(emails) > 0".into()),
            (_, Some(Column::Members)) => {
                Ok("EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = groups.id)".into())
            }
            (attr, _) => Err(unsupported(format!("`pr` on {attr}"))),
        },
        Filter::Compare { path, op, value } => match (column(path, target)?, value) {
            ((_, Some(Column::Text { sql, case_exact, .. })), Value::String(v)) => {
                text_compare(sql, *op, v, case_exact, binds)
            }
            ((_, Some(Column::Id)), Value::String(v)) if *op == CompareOp::Eq => {
                Ok(uuid_eq(|id| format!("id = {id}"), v, binds))
            }
            ((_, Some(Column::Emails)), Value::String(v)) if *op == CompareOp::Eq => Ok(email_is(v, binds)),
            ((_, Some(Column::Members)), Value::String(v)) if *op == CompareOp::Eq => Ok(member_is(v, binds)),
            ((_, Some(Column::Active)), Value::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                let want = if *op == CompareOp::Eq { *b } else { !*b };
                Ok(format!("active = {}::boolean", bind(binds, want.to_string())))
            }
            _ => Err(unsupported(format!("{path} {op} {value}"))),
        },
        Filter::ValuePath { path, filter } => {
            let value_eq = match filter.as_ref() {
                Filter::Compare { path: inner, op: CompareOp::Eq, value: Value::String(v) }
                    if inner.attr.eq_ignore_ascii_case("value") && inner.sub.is_none() =>
                {
                    Some(v)
                }
                _ => None,
            };
            match (column(path, target)?.1, value_eq) {
                (Some(Column::Emails), Some(v)) => Ok(email_is(v, binds)),
                (Some(Column::Members), Some(v)) => Ok(member_is(v, binds)),
                _ => Err(unsupported(format!("{path}[{filter}]"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(f: &str) -> ScimResult<SqlFilter> {
        compile(&uapi_scim::filter::parse(f).map_err(ScimError::from)?, &USERS)
    }

    #[test]
    fn okta_lookups_compile_to_indexed_sql_with_binds() {
        let f = sql(r#"userName eq "Test.User@okta.local""#).expect("compiles");
        assert_eq!(f.sql, "lower(user_name) = $2");
        assert_eq!(f.binds, vec!["test.user@okta.local"]);
        let f = sql(r#"externalId eq "00uAbC" and emails.value eq "A@B.c""#).expect("compiles");
        assert_eq!(f.sql, "(external_id = $2 AND emails @> ARRAY[$3]::text[])");
        assert_eq!(f.binds, vec!["00uAbC", "a@b.c"]);
    }

    #[test]
    fn injection_attempts_stay_in_binds() {
        let f = sql(r#"userName eq "x' OR '1'='1""#).expect("compiles");
        assert!(!f.sql.contains('\''), "{}", f.sql);
        let f = sql(r#"userName sw "50%_\\""#).expect("compiles");
        assert_eq!(f.binds, vec!["50\\%\\_\\\\%"]);
    }

    #[test]
    fn ids_that_are_not_ours_match_nothing() {
        assert_eq!(sql(r#"id eq "010101001010101011001010101011""#).expect("compiles").sql, "FALSE");
    }

    #[test]
    fn group_lookups_compile_to_indexed_sql() {
        let group = |f: &str| compile(&uapi_scim::filter::parse(f).expect("parses"), &GROUPS);
        let f = group(r#"displayName eq "Test SCIMv2""#).expect("compiles");
        assert_eq!((f.sql.as_str(), f.binds.as_slice()), ("lower(display_name) = $2", &["test scimv2".to_owned()][..]));
        let id = uuid::Uuid::now_v7();
        let f = group(&format!(r#"members[value eq "{id}"] or members.value eq "x""#)).expect("compiles");
        assert_eq!(
            f.sql,
            "(EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = groups.id AND m.user_id = $2::uuid) OR FALSE)"
        );
        assert!(matches!(group(r#"userName eq "a""#), Err(ScimError::Client { scim_type: Some("invalidFilter"), .. })));
    }

    #[test]
    fn unsupported_filters_are_invalid_filter_errors() {
        for f in [
            r#"title eq "x""#,
            r#"userName gt "a""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x""#,
        ] {
            assert!(matches!(sql(f), Err(ScimError::Client { scim_type: Some("invalidFilter"), .. })), "{f}");
        }
    }
}

//! Compiles a parsed SCIM filter on Users into parameterized SQL over the indexed columns. Values
//! only ever travel as bind parameters, never inside the SQL text. What cannot be compiled is a
//! 400 `invalidFilter` naming the attribute and operator.

use uapi_scim::filter::{AttrPath, CompareOp, Filter};
use uapi_scim::schema::USER_SCHEMA;

use crate::db::users::SqlFilter;
use crate::scim::error::{ScimError, ScimResult};

/// Compiles `filter`; placeholders start at `$2` (`$1` is the connection id).
pub fn compile(filter: &Filter) -> ScimResult<SqlFilter> {
    let mut out = SqlFilter::default();
    out.sql = node(filter, &mut out.binds)?;
    Ok(out)
}

fn unsupported(what: impl std::fmt::Display) -> ScimError {
    ScimError::bad_request("invalidFilter", format!("unsupported filter: {what}"))
}

/// The attribute a path names, lower-cased, with a core-schema URN prefix removed.
fn attribute(path: &AttrPath) -> ScimResult<String> {
    if let Some(urn) = &path.urn
        && !urn.eq_ignore_ascii_case(USER_SCHEMA)
    {
        return Err(unsupported(format!("filtering on extension attribute {path}")));
    }
    Ok(match &path.sub {
        Some(sub) => format!("{}.{}", path.attr, sub).to_ascii_lowercase(),
        None => path.attr.to_ascii_lowercase(),
    })
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

fn node(filter: &Filter, binds: &mut Vec<String>) -> ScimResult<String> {
    match filter {
        Filter::And(a, b) => Ok(format!("({} AND {})", node(a, binds)?, node(b, binds)?)),
        Filter::Or(a, b) => Ok(format!("({} OR {})", node(a, binds)?, node(b, binds)?)),
        Filter::Not(inner) => Ok(format!("NOT ({})", node(inner, binds)?)),
        Filter::Present(path) => match attribute(path)?.as_str() {
            "username" | "id" => Ok("TRUE".into()),
            "externalid" => Ok("(external_id IS NOT NULL AND external_id <> '')".into()),
            "emails" | "emails.value" => Ok("cardinality(emails) > 0".into()),
            other => Err(unsupported(format!("`pr` on {other}"))),
        },
        Filter::Compare { path, op, value } => {
            let attr = attribute(path)?;
            match (attr.as_str(), value) {
                ("username", serde_json::Value::String(v)) => text_compare("user_name", *op, v, false, binds),
                ("externalid", serde_json::Value::String(v)) => text_compare("external_id", *op, v, true, binds),
                ("id", serde_json::Value::String(v)) if *op == CompareOp::Eq => Ok(match uuid::Uuid::parse_str(v) {
                    Ok(id) => format!("id = {}::uuid", bind(binds, id.to_string())),
                    // Not one of our ids: matches nothing (and never reaches Postgres as a bad cast).
                    Err(_) => "FALSE".into(),
                }),
                ("emails" | "emails.value", serde_json::Value::String(v)) if *op == CompareOp::Eq => {
                    Ok(format!("emails @> ARRAY[{}]::text[]", bind(binds, v.to_lowercase())))
                }
                ("active", serde_json::Value::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
                    let want = if *op == CompareOp::Eq { *b } else { !*b };
                    Ok(format!("active = {}::boolean", bind(binds, want.to_string())))
                }
                _ => Err(unsupported(format!("{path} {op} {value}"))),
            }
        }
        Filter::ValuePath { path, filter } => match (attribute(path)?.as_str(), filter.as_ref()) {
            ("emails", Filter::Compare { path: inner, op: CompareOp::Eq, value: serde_json::Value::String(v) })
                if inner.attr.eq_ignore_ascii_case("value") && inner.sub.is_none() =>
            {
                Ok(format!("emails @> ARRAY[{}]::text[]", bind(binds, v.to_lowercase())))
            }
            _ => Err(unsupported(format!("{path}[{filter}]"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(f: &str) -> ScimResult<SqlFilter> {
        compile(&uapi_scim::filter::parse(f).map_err(ScimError::from)?)
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

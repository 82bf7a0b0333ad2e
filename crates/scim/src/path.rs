//! The RFC 7644 §3.5.2 PATCH path grammar: `PATH = attrPath / valuePath [subAttr]`, e.g. `name.familyName` or
//! `emails[type eq "work"].value`. Reuses the filter lexer and parser for the bracketed value filter.

use crate::error::{ScimError, ScimType};
use crate::filter::{AttrPath, Filter, Parser, Tok, Token, check_attr_name, check_len, lex};
use std::fmt;

/// A parsed PATCH path.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The targeted attribute (with URN and sub-attribute when no filter is given).
    pub attr: AttrPath,
    /// The value selection filter inside `[…]`, with names relative to each value.
    pub filter: Option<Filter>,
    /// The sub-attribute after the filter, e.g. `value` in `emails[type eq "work"].value`.
    pub sub_after_filter: Option<String>,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::new(ScimType::InvalidPath, detail)
}

fn as_path_error(err: ScimError) -> ScimError {
    invalid(err.detail)
}

/// Parses a PATCH path; errors carry `ScimType::InvalidPath`.
pub fn parse(input: &str) -> Result<PatchPath, ScimError> {
    check_len(input, ScimType::InvalidPath, "path")?;
    let tokens = lex(input).map_err(as_path_error)?;
    let Some(first) = tokens.first() else {
        return Err(invalid("path is empty"));
    };
    let mut parser = Parser::new(input, &tokens);
    let attr = parser.attr_path().map_err(as_path_error)?;
    let Some(open) = parser.peek() else {
        return Ok(PatchPath { attr, filter: None, sub_after_filter: None });
    };
    if open.tok != Tok::LBracket || open.start != first.end {
        return Err(as_path_error(parser.unexpected(Some(open))));
    }
    if attr.sub.is_some() {
        return Err(invalid(format!("a value filter cannot follow the sub-attribute in `{attr}`")));
    }
    parser.seek(parser.position() + 1);
    let filter = parser.parse_value_filter().map_err(as_path_error)?;
    let close_end = parser.position().checked_sub(1).and_then(|i| tokens.get(i)).map_or(0, |t| t.end);
    let sub_after_filter = match parser.peek() {
        None => None,
        Some(Token { tok: Tok::Word(word), start, .. }) if *start == close_end && word.starts_with('.') => {
            let name = word.get(1..).unwrap_or_default();
            check_attr_name(name).map_err(invalid)?;
            parser.seek(parser.position() + 1);
            Some(name.to_owned())
        }
        other => return Err(as_path_error(parser.unexpected(other))),
    };
    if let Some(extra) = parser.peek() {
        return Err(as_path_error(parser.unexpected(Some(extra))));
    }
    Ok(PatchPath { attr, filter: Some(filter), sub_after_filter })
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_after_filter {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::filter::CompareOp;
    use serde_json::json;

    fn roundtrips(input: &str) -> PatchPath {
        let path = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parse(&path.to_string()).unwrap(), path);
        path
    }

    #[test]
    fn rfc_examples() {
        let active = roundtrips("active");
        assert_eq!(active.attr, AttrPath { urn: None, attr: "active".into(), sub: None });
        assert_eq!(roundtrips("name.familyName").attr.sub.as_deref(), Some("familyName"));
        let work = roundtrips(r#"emails[type eq "work"].value"#);
        assert_eq!(work.attr.attr, "emails");
        assert_eq!(work.sub_after_filter.as_deref(), Some("value"));
        let Some(Filter::Compare { op: CompareOp::Eq, value, .. }) = &work.filter else { panic!("{work:?}") };
        assert_eq!(value, &json!("work"));
        let member = roundtrips(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
        assert!(member.filter.is_some() && member.sub_after_filter.is_none());
        let dept = roundtrips("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department");
        assert_eq!(dept.attr.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
        assert_eq!(dept.attr.attr, "department");
        let manager = roundtrips("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!((manager.attr.attr.as_str(), manager.attr.sub.as_deref()), ("manager", Some("value")));
        assert_eq!(
            roundtrips(r#"addresses[type eq "work"].streetAddress"#).to_string(),
            r#"addresses[type eq "work"].streetAddress"#
        );
        roundtrips(r#"emails[type eq "work" and value ew "]"]"#);
        assert_eq!(roundtrips("  active ").to_string(), "active");
    }

    #[test]
    fn errors() {
        let bad = [
            "",
            "  ",
            "emails[",
            "name..x",
            "members[value eq]",
            "members[]",
            r#"emails[type eq "work"]value"#,
            r#"emails[type eq "work"] .value"#,
            r#"emails [type eq "work"]"#,
            r#"emails[type eq "work"].value.x"#,
            r#"emails[type eq "work"].1x"#,
            r#"emails[type eq "work"][value pr]"#,
            r#"emails.value[type eq "work"]"#,
            r#"emails[ims[type eq "x"]]"#,
            "active foo",
            "(active)",
            r#""active""#,
            "urn:x",
        ];
        for input in bad {
            let err = parse(input).expect_err(input);
            assert_eq!(err.scim_type, ScimType::InvalidPath, "{input}");
            assert!(!err.detail.is_empty());
        }
    }
}

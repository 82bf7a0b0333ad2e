//! The RFC 7644 §3.4.2.2 filter language: its AST, the parser entry point with input limits, and canonical printing
//! such that `parse(&filter.to_string()) == Ok(filter)`.

mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub(crate) use lexer::{Tok, Token, lex};
pub(crate) use parser::{Parser, check_attr_name, parse_attr_path};

use crate::error::{ScimError, ScimType};
use std::fmt;

/// Longest filter (in bytes) accepted; longer input is rejected before parsing.
pub(crate) const MAX_LEN: usize = 8 * 1024;

/// An attribute path: optional schema URN, attribute name and optional sub-attribute, spelled as written.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN prefix, e.g. the enterprise extension URN.
    pub urn: Option<String>,
    /// The attribute name.
    pub attr: String,
    /// The sub-attribute after `.`, e.g. `familyName` in `name.familyName`.
    pub sub: Option<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains (strings).
    Co,
    /// Starts with (strings).
    Sw,
    /// Ends with (strings).
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    /// Every operator, in the RFC's order.
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`; value is a string, number, boolean or null.
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared against.
        value: serde_json::Value,
    },
    /// `path pr`.
    Present(AttrPath),
    /// `left and right`.
    And(Box<Filter>, Box<Filter>),
    /// `left or right`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (inner)`.
    Not(Box<Filter>),
    /// `emails[type eq "work" and value co "@example.com"]`: true if any value of the multi-valued attribute
    /// satisfies the inner filter, whose attribute names are relative to each value.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter applied to each value.
        filter: Box<Filter>,
    },
}

/// Rejects input over [`MAX_LEN`] bytes with `scim_type`.
pub(crate) fn check_len(input: &str, scim_type: ScimType, what: &str) -> Result<(), ScimError> {
    if input.len() > MAX_LEN {
        return Err(ScimError::new(scim_type, format!("{what} is longer than {MAX_LEN} bytes")));
    }
    Ok(())
}

/// Parses a filter; errors carry `ScimType::InvalidFilter`.
pub fn parse(input: &str) -> Result<Filter, ScimError> {
    check_len(input, ScimType::InvalidFilter, "filter")?;
    let tokens = lex(input)?;
    if tokens.is_empty() {
        return Err(ScimError::new(ScimType::InvalidFilter, "filter is empty"));
    }
    let mut parser = Parser::new(input, &tokens);
    let filter = parser.parse_or(false)?;
    match parser.peek() {
        None => Ok(filter),
        token => Err(parser.unexpected(token)),
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        })
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parenthesize: bool) -> fmt::Result {
    if parenthesize { write!(f, "({operand})") } else { write!(f, "{operand}") }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Self::Present(path) => write!(f, "{path} pr"),
            // The parser builds left-leaning chains, so a right operand of equal precedence needs parentheses
            // to print back into the same tree.
            Self::And(left, right) => {
                write_operand(f, left, matches!(**left, Self::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, right, matches!(**right, Self::And(..) | Self::Or(..)))
            }
            Self::Or(left, right) => {
                write_operand(f, left, false)?;
                f.write_str(" or ")?;
                write_operand(f, right, matches!(**right, Self::Or(..)))
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

//! Recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar over lexer tokens, with a nesting limit so
//! attacker-supplied filters cannot exhaust the stack. Also parses bare attribute paths for the PATCH path grammar.

use super::lexer::{Tok, Token, char_pos};
use super::{AttrPath, CompareOp, Filter};
use crate::error::{ScimError, ScimType};
use serde_json::Value;

/// Deepest nesting of parentheses, `not (…)` and `[…]` a filter may have.
pub(crate) const MAX_DEPTH: usize = 64;

fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    // `$ref` is the one RFC 7643 attribute name outside the ATTRNAME production.
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')) || name.eq_ignore_ascii_case("$ref")
}

/// Checks an attribute name against `ATTRNAME = ALPHA *(nameChar)`.
pub(crate) fn check_attr_name(name: &str) -> Result<(), String> {
    if is_attr_name(name) { Ok(()) } else { Err(format!("`{name}` is not a valid attribute name")) }
}

/// Parses `[URI ":"] ATTRNAME *1subAttr`; the URN is everything up to the last `:` when the path starts with `urn:`.
pub(crate) fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let (urn, rest) = match word.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("urn:") => match word.rfind(':') {
            Some(idx) if idx > 4 => (Some(word.get(..idx).unwrap_or_default().to_owned()), word.get(idx + 1..)),
            _ => return Err(format!("`{word}` is not a valid schema-qualified attribute path")),
        },
        _ => (None, Some(word)),
    };
    let rest = rest.unwrap_or_default();
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or_default();
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(format!("`{word}` has more than one sub-attribute"));
    }
    check_attr_name(attr).map_err(|e| format!("{e} in `{word}`"))?;
    if let Some(sub) = sub {
        check_attr_name(sub).map_err(|e| format!("{e} in `{word}`"))?;
    }
    Ok(AttrPath { urn, attr: attr.to_owned(), sub: sub.map(str::to_owned) })
}

fn compare_op(word: &str) -> Option<CompareOp> {
    let op = match word.to_ascii_lowercase().as_str() {
        "eq" => CompareOp::Eq,
        "ne" => CompareOp::Ne,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "ew" => CompareOp::Ew,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        _ => return None,
    };
    Some(op)
}

fn literal(word: &str) -> Option<Value> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => serde_json::from_str::<Value>(word).ok().filter(Value::is_number),
    }
}

/// Parser state over a token list. Errors carry `ScimType::InvalidFilter`.
pub(crate) struct Parser<'a> {
    input: &'a str,
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str, tokens: &'a [Token]) -> Self {
        Self { input, tokens, pos: 0, depth: 0 }
    }

    /// Index of the next unread token.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Moves to token `pos` (used by the path parser after reading the attribute itself).
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos;
    }

    pub(crate) fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&'a Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn next(&mut self) -> Option<&'a Token> {
        let token = self.tokens.get(self.pos);
        if token.is_some() {
            self.pos += 1;
        }
        token
    }

    fn error(&self, detail: String) -> ScimError {
        ScimError::new(ScimType::InvalidFilter, detail)
    }

    /// "unexpected token `x` at position n", or "unexpected end of filter" past the last token.
    pub(crate) fn unexpected(&self, token: Option<&Token>) -> ScimError {
        match token {
            Some(t) => {
                let text = self.input.get(t.start..t.end).unwrap_or_default();
                let pos = char_pos(self.input, t.start);
                self.error(format!("unexpected token `{text}` at position {pos}"))
            }
            None => self.error("unexpected end of filter".to_owned()),
        }
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("filter nesting exceeds the maximum depth of {MAX_DEPTH}")));
        }
        Ok(())
    }

    fn expect(&mut self, want: &Tok) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t.tok == *want => Ok(()),
            other => Err(self.unexpected(other)),
        }
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek_tok(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    /// `filter = term *("or" term)`; `in_value` is true inside `[…]`, where a nested value path is not allowed.
    pub(crate) fn parse_or(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_and(in_value)?;
        while self.at_keyword("or") {
            self.pos += 1;
            let right = self.parse_and(in_value)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let mut left = self.parse_unary(in_value)?;
        while self.at_keyword("and") {
            self.pos += 1;
            let right = self.parse_unary(in_value)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// A parenthesized group, `not (…)` or an attribute expression.
    fn parse_unary(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let is_not = self.at_keyword("not") && matches!(self.tokens.get(self.pos + 1), Some(t) if t.tok == Tok::LParen);
        if is_not {
            self.pos += 2;
            let inner = self.parse_group(in_value)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek_tok() == Some(&Tok::LParen) {
            self.pos += 1;
            return self.parse_group(in_value);
        }
        self.parse_attr_expr(in_value)
    }

    /// The rest of a group after its `(`.
    fn parse_group(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        self.enter()?;
        let inner = self.parse_or(in_value)?;
        self.expect(&Tok::RParen)?; // ok: the parser's own expect, returns a Result
        self.depth -= 1;
        Ok(inner)
    }

    /// Reads a word as an attribute path, reporting its position on error.
    pub(crate) fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        match self.next() {
            Some(Token { tok: Tok::Word(word), start, .. }) => parse_attr_path(word).map_err(|detail| {
                let pos = char_pos(self.input, *start);
                self.error(format!("{detail} at position {pos}"))
            }),
            other => Err(self.unexpected(other)),
        }
    }

    /// The bracketed part of a value path, after its `[`: returns the inner filter and consumes the `]`.
    pub(crate) fn parse_value_filter(&mut self) -> Result<Filter, ScimError> {
        self.enter()?;
        let inner = self.parse_or(true)?;
        self.expect(&Tok::RBracket)?; // ok: the parser's own expect, returns a Result
        self.depth -= 1;
        Ok(inner)
    }

    fn parse_attr_expr(&mut self, in_value: bool) -> Result<Filter, ScimError> {
        let path = self.attr_path()?;
        let op_token = self.next();
        let op_word = match op_token {
            Some(Token { tok: Tok::LBracket, start, .. }) => {
                if in_value {
                    let pos = char_pos(self.input, *start);
                    return Err(self.error(format!("nested value filter at position {pos} is not allowed")));
                }
                let inner = self.parse_value_filter()?;
                return Ok(Filter::ValuePath { path, filter: Box::new(inner) });
            }
            Some(Token { tok: Tok::Word(word), .. }) => word,
            None => return Err(self.error(format!("expected an operator after `{path}`"))),
            other => return Err(self.unexpected(other)),
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = compare_op(op_word) else {
            return Err(self.unexpected(op_token));
        };
        let value = match self.next() {
            Some(Token { tok: Tok::Str(text), .. }) => Value::String(text.clone()),
            Some(token @ Token { tok: Tok::Word(word), .. }) => match literal(word) {
                Some(value) => value,
                None => return Err(self.unexpected(Some(token))),
            },
            None => return Err(self.error(format!("expected a value after `{path} {op}`"))),
            other => return Err(self.unexpected(other)),
        };
        Ok(Filter::Compare { path, op, value })
    }
}

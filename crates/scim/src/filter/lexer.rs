//! Splits filter and PATCH path text into tokens: brackets, parentheses, JSON string literals and bare words
//! (attribute paths, operators, keywords, numbers). Words are interpreted by the parser, which knows the context.

use crate::error::{ScimError, ScimType};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A run of characters up to whitespace, a bracket, a parenthesis or a quote.
    Word(String),
    /// A decoded JSON string literal.
    Str(String),
}

/// A token and its byte span in the input.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// The character (not byte) position of `byte` in `input`, for error messages.
pub(crate) fn char_pos(input: &str, byte: usize) -> usize {
    input.get(..byte).map_or(byte, |prefix| prefix.chars().count())
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn ends_word(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

/// Tokenizes `input`; errors carry `ScimType::InvalidFilter`.
pub(crate) fn lex(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = single {
            tokens.push(Token { tok, start, end: start + 1 });
        } else if is_space(c) {
            continue;
        } else if c == '"' {
            let mut end = None;
            let mut escaped = false;
            for (i, ch) in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == '"' {
                    end = Some(i + 1);
                    break;
                }
            }
            let Some(end) = end else {
                let pos = char_pos(input, start);
                return Err(ScimError::new(
                    ScimType::InvalidFilter,
                    format!("unterminated string starting at position {pos}"),
                ));
            };
            let raw = input.get(start..end).unwrap_or_default();
            let text: String = serde_json::from_str(raw).map_err(|e| {
                let pos = char_pos(input, start);
                ScimError::new(ScimType::InvalidFilter, format!("invalid string literal at position {pos}: {e}"))
            })?;
            // Postgres cannot compare with text that holds NUL: refused here, not by the query.
            if text.contains('\0') {
                let pos = char_pos(input, start);
                return Err(ScimError::new(
                    ScimType::InvalidValue,
                    format!("the string at position {pos} contains the NUL character (\\u0000)"),
                ));
            }
            tokens.push(Token { tok: Tok::Str(text), start, end });
        } else {
            let mut end = start + c.len_utf8();
            while let Some(&(i, ch)) = chars.peek() {
                if ends_word(ch) {
                    break;
                }
                end = i + ch.len_utf8();
                chars.next();
            }
            let word = input.get(start..end).unwrap_or_default().to_owned();
            tokens.push(Token { tok: Tok::Word(word), start, end });
        }
    }
    // Each `and`/`or` adds a level to the filter's tree, which is walked recursively (evaluation,
    // SQL): a chain of hundreds would exhaust the stack. Okta's filters have one or two.
    let logical = tokens
        .iter()
        .filter(|t| matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or")))
        .count();
    if logical > MAX_LOGICAL {
        return Err(ScimError::new(
            ScimType::InvalidFilter,
            format!("the filter joins {} conditions; at most {} are accepted", logical + 1, MAX_LOGICAL + 1),
        ));
    }
    Ok(tokens)
}

/// `and`/`or` operators a filter may have.
pub(crate) const MAX_LOGICAL: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Tok> {
        lex(input).map(|t| t.into_iter().map(|t| t.tok).collect()).unwrap_or_default()
    }

    #[test]
    fn splits_words_strings_and_brackets() {
        assert_eq!(
            kinds(r#"emails[type eq "a\"b"]"#),
            vec![
                Tok::Word("emails".into()),
                Tok::LBracket,
                Tok::Word("type".into()),
                Tok::Word("eq".into()),
                Tok::Str("a\"b".into()),
                Tok::RBracket,
            ]
        );
    }

    #[test]
    fn rejects_unterminated_and_bad_escapes() {
        assert!(lex(r#"a eq "x"#).is_err());
        assert!(lex(r#"a eq "\q""#).is_err());
        assert!(lex(r#"a eq "\"#).is_err());
    }

    #[test]
    fn refuses_long_chains_of_and_or() {
        let ok = vec!["id pr"; MAX_LOGICAL + 1].join(" or ");
        assert!(lex(&ok).is_ok());
        let long = vec!["id pr"; MAX_LOGICAL + 2].join(" AND ");
        let err = lex(&long).expect_err("too long");
        assert_eq!(err.scim_type, ScimType::InvalidFilter);
        assert!(lex(r#"displayName eq "and or and""#).is_ok(), "words inside strings do not count");
    }

    #[test]
    fn refuses_nul_in_strings() {
        let err = lex(r#"userName eq "a\u0000b""#).expect_err("NUL");
        assert_eq!(err.scim_type, ScimType::InvalidValue);
        assert_eq!(
            kinds(r#"a eq "\\u0000""#),
            vec![Tok::Word("a".into()), Tok::Word("eq".into()), Tok::Str("\\u0000".into())]
        );
    }
}

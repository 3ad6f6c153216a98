//! Lexer: text → lines of tokens.
//!
//! The language is line-oriented (a statement ends at the end of its line,
//! blocks are made by indentation), so the lexer hands the parser one
//! [`Line`] per non-blank line: its indentation and its tokens. Comments
//! (`#` to end of line) and blank lines are dropped here.
//!
//! Names are not single tokens: `mariadb{i+1}-db` is the adjacent tokens
//! `mariadb` `{` `i` `+` `1` `}` `-` `db`, and the parser glues adjacent
//! tokens into a name. This keeps the lexer context-free even though `-`
//! is part of names and also a minus sign.

use super::{ErrorKind, Problem};
use crate::model::SrcSpan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`: a name part, keyword or variable.
    Word(String),
    /// Digits, kept as text: `web-01` must keep its zero.
    Int(String),
    /// `"..."`, escapes resolved.
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Colon,
    Comma,
    Dot,
    DotDot,
    Semi,
    Plus,
    Minus,
    Star,
    Eq,
    At,
}

impl Tok {
    /// How the token is named in "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Int(i) => format!("`{i}`"),
            Tok::Str(_) => "a string".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBrace => "`{`".into(),
            Tok::RBrace => "`}`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::DotDot => "`..`".into(),
            Tok::Semi => "`;`".into(),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Eq => "`=`".into(),
            Tok::At => "`@`".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub span: SrcSpan,
}

impl Token {
    pub fn end(&self) -> usize {
        self.span.offset + self.span.len
    }
}

/// One non-blank line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The leading spaces and tabs, verbatim: blocks compare indentation
    /// strings by prefix, which is what makes tab/space mixing detectable.
    pub indent: String,
    pub indent_span: SrcSpan,
    /// Never empty, unless `bad`.
    pub tokens: Vec<Token>,
    /// The lexer reported a problem on this line; the parser skips it.
    pub bad: bool,
}

impl Line {
    /// Offset just after the last token: where "end of line" errors point.
    pub fn end(&self) -> usize {
        self.tokens
            .last()
            .map_or(self.indent_span.offset + self.indent_span.len, Token::end)
    }
}

/// Lex `text`, whose first byte is at offset `base` of the source file
/// (the checker re-lexes single statements).
pub fn lex(text: &str, base: usize) -> (Vec<Line>, Vec<Problem>) {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut offset = base;
    for raw in text.split('\n') {
        if let Some(line) = lex_line(raw, offset, &mut problems) {
            lines.push(line);
        }
        offset += raw.len() + 1;
    }
    (lines, problems)
}

fn span(offset: usize, len: usize) -> SrcSpan {
    SrcSpan { offset, len }
}

fn lex_line(raw: &str, base: usize, problems: &mut Vec<Problem>) -> Option<Line> {
    let indent_len = raw.len() - raw.trim_start_matches([' ', '\t']).len();
    let indent = raw.get(..indent_len).unwrap_or("").to_string();
    let mut tokens = Vec::new();
    let mut bad = false;
    let mut chars = raw
        .char_indices()
        .skip_while(|(i, _)| *i < indent_len)
        .peekable();

    while let Some((i, c)) = chars.next() {
        let at = base + i;
        let single = |tok| {
            Some(Token {
                tok,
                span: span(at, 1),
            })
        };
        let token = match c {
            // `\r` of CRLF line ends; a byte-order mark some editors add.
            ' ' | '\t' | '\r' | '\u{feff}' => None,
            '#' => break,
            '(' => single(Tok::LParen),
            ')' => single(Tok::RParen),
            '{' => single(Tok::LBrace),
            '}' => single(Tok::RBrace),
            ':' => single(Tok::Colon),
            ',' => single(Tok::Comma),
            ';' => single(Tok::Semi),
            '+' => single(Tok::Plus),
            '-' => single(Tok::Minus),
            '*' => single(Tok::Star),
            '=' => single(Tok::Eq),
            '@' => single(Tok::At),
            '.' => {
                if chars.next_if(|&(_, c)| c == '.').is_some() {
                    Some(Token {
                        tok: Tok::DotDot,
                        span: span(at, 2),
                    })
                } else {
                    single(Tok::Dot)
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some((_, c)) =
                    chars.next_if(|&(_, c)| c.is_ascii_alphanumeric() || c == '_')
                {
                    word.push(c);
                }
                let len = word.len();
                Some(Token {
                    tok: Tok::Word(word),
                    span: span(at, len),
                })
            }
            c if c.is_ascii_digit() => {
                let mut digits = String::from(c);
                while let Some((_, c)) = chars.next_if(|&(_, c)| c.is_ascii_digit()) {
                    digits.push(c);
                }
                let len = digits.len();
                Some(Token {
                    tok: Tok::Int(digits),
                    span: span(at, len),
                })
            }
            '"' => {
                let mut s = String::new();
                let mut end = None;
                while let Some((j, c)) = chars.next() {
                    match c {
                        '"' => {
                            end = Some(j + 1);
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('"' | '\\'))) => s.push(e),
                            Some((_, e)) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => {}
                        },
                        c => s.push(c),
                    }
                }
                match end {
                    Some(end) => Some(Token {
                        tok: Tok::Str(s),
                        span: span(at, end - i),
                    }),
                    None => {
                        problems.push(
                            Problem::new(
                                ErrorKind::Syntax,
                                "unterminated string",
                                "close the string with `\"` on the same line",
                            )
                            .label(
                                span(at, raw.len().saturating_sub(i)),
                                "this string never ends",
                            ),
                        );
                        bad = true;
                        break;
                    }
                }
            }
            c => {
                problems.push(
                    Problem::new(
                        ErrorKind::Syntax,
                        format!("unexpected character `{}`", c.escape_debug()),
                        "names use ASCII letters, digits, `_` and `-`; `#` starts a comment",
                    )
                    .label(span(at, c.len_utf8()), "not allowed here"),
                );
                bad = true;
                break;
            }
        };
        tokens.extend(token);
    }

    if tokens.is_empty() && !bad {
        return None;
    }
    Some(Line {
        indent,
        indent_span: span(base, indent_len),
        tokens,
        bad,
    })
}

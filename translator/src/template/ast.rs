//! Templates and expressions parsed by minijinja's parser, converted to an
//! owned tree that the evaluator (`eval.rs`) runs with Ansible's
//! semantics, and that can be cached without borrowing the source.
//!
//! What the conversion does besides copying:
//!
//! - **String constants** are read back from the source text, not taken
//!   from minijinja's unescaping: inside `{{ }}` of a template, Ansible
//!   escapes backslashes before Jinja unescapes them (`AnsibleLexer`), so
//!   the text between the quotes is taken verbatim (`'\d+'` is `\d+`,
//!   `'\1'` is `\1`); in `{% %}` statements and in bare expressions
//!   (conditionals), Python's string escapes apply. Before parsing,
//!   backslashes inside string literals are hidden from minijinja (same
//!   length, so spans do not move), so that an escape minijinja would
//!   refuse (`'C:\users'`) parses as Ansible parses it.
//! - In conditionals, a string constant that looks like a template
//!   (`when: x == "{{ y }}"`) is templated when evaluated, as ansible-core
//!   2.19 still does (deprecated).
//! - Jinja2's trailing-newline rule: one final newline of a template is
//!   not part of it (Ansible adds lost newlines back to string results).

use std::sync::Arc;

use minijinja::machinery::ast as mj;
use minijinja::machinery::Span;

use super::error::{ErrorKind, TemplateError, TextSpan};
use super::value::Value;

/// A position in the template text (minijinja's span, compacted).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sp {
    pub offset: u32,
    pub end: u32,
    pub line: u16,
    pub col: u16,
}

impl Sp {
    fn of(s: Span) -> Sp {
        Sp {
            offset: s.start_offset,
            end: s.end_offset.max(s.start_offset),
            line: s.start_line,
            col: s.start_col,
        }
    }

    pub(crate) fn text_span(&self) -> TextSpan {
        TextSpan {
            offset: self.offset as usize,
            len: (self.end - self.offset) as usize,
            line: self.line as usize,
            col: self.col as usize + 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    Pow,
    Concat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

pub(crate) enum Expr {
    Var(Sp, Arc<str>),
    Const(Sp, Value),
    /// A string constant that looks like a template, in a conditional.
    Embedded(Sp, Arc<str>),
    Slice {
        sp: Sp,
        expr: Box<Expr>,
        start: Option<Box<Expr>>,
        stop: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Not(Sp, Box<Expr>),
    Neg(Sp, Box<Expr>),
    Bin(Sp, BinOp, Box<Expr>, Box<Expr>),
    And(Sp, Box<Expr>, Box<Expr>),
    Or(Sp, Box<Expr>, Box<Expr>),
    Compare(Sp, Box<Expr>, Vec<(CmpOp, Expr)>),
    If {
        sp: Sp,
        test: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
    Filter {
        sp: Sp,
        name: Arc<str>,
        input: Option<Box<Expr>>,
        args: Vec<Arg>,
    },
    Test {
        sp: Sp,
        name: Arc<str>,
        expr: Box<Expr>,
        args: Vec<Arg>,
    },
    Attr(Sp, Box<Expr>, Arc<str>),
    Item(Sp, Box<Expr>, Box<Expr>),
    Call(Sp, Box<Expr>, Vec<Arg>),
    List(Sp, Vec<Expr>),
    /// A tuple: a list, except as the right side of `%`.
    Tuple(Sp, Vec<Expr>),
    Map(Sp, Vec<(Expr, Expr)>),
}

impl Expr {
    pub(crate) fn sp(&self) -> Sp {
        match self {
            Expr::Var(sp, _)
            | Expr::Const(sp, _)
            | Expr::Embedded(sp, _)
            | Expr::Not(sp, _)
            | Expr::Neg(sp, _)
            | Expr::Bin(sp, ..)
            | Expr::And(sp, ..)
            | Expr::Or(sp, ..)
            | Expr::Compare(sp, ..)
            | Expr::Attr(sp, ..)
            | Expr::Item(sp, ..)
            | Expr::Call(sp, ..)
            | Expr::List(sp, _)
            | Expr::Tuple(sp, _)
            | Expr::Map(sp, _) => *sp,
            Expr::Slice { sp, .. }
            | Expr::If { sp, .. }
            | Expr::Filter { sp, .. }
            | Expr::Test { sp, .. } => *sp,
        }
    }
}

pub(crate) enum Arg {
    Pos(Expr),
    Kw(Arc<str>, Expr),
    Splat(Expr),
    KwSplat(Expr),
}

/// An assignment target (`{% set %}`, `{% for %}`).
pub(crate) enum Target {
    Name(Arc<str>),
    Tuple(Vec<Target>),
    /// `ns.attr` of a namespace.
    Attr(Arc<str>, Arc<str>),
}

pub(crate) enum Stmt {
    Raw(Arc<str>),
    Emit(Expr),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    For {
        sp: Sp,
        target: Target,
        iter: Expr,
        filter: Option<Expr>,
        body: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    Set(Target, Expr),
    SetBlock(Target, Option<Expr>, Vec<Stmt>),
    With(Vec<(Target, Expr)>, Vec<Stmt>),
    /// `{% filter f %}body{% endfilter %}`: a filter chain whose innermost
    /// input is the body.
    FilterBlock(Expr, Vec<Stmt>),
    Do(Expr),
    /// A construct that parses but is not supported here (includes,
    /// macros...): an error when reached.
    Unsupported(Sp, &'static str),
}

pub(crate) enum Body {
    Template(Vec<Stmt>),
    Expr(Expr),
}

/// A parsed template or expression, with the text its spans point into.
pub(crate) struct Compiled {
    pub source: Arc<str>,
    pub body: Body,
    /// Filters and tests it names that do not exist: Jinja2 refuses the
    /// template when compiling it (unless missing plugins are unknown).
    pub missing: Vec<(Sp, &'static str, Arc<str>)>,
}

/// Does the text look like a template (Ansible's `is_possibly_template`)?
pub(crate) fn is_possibly_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#") || s.starts_with("#jinja2:")
}

/// How deeply a parsed template may nest (Jinja2 in Python stops at
/// about this depth too, at its recursion limit). Deeper is an error, so
/// that evaluating never recurses without bound.
pub(crate) const MAX_AST_DEPTH: usize = 200;

/// minijinja's parse tree of a long chain (`a.b.c...`, `x | f | g...`,
/// `1 + 2 + ...`) is as deep as the chain is long, and parsing,
/// converting and dropping it recurse. So the operators of each `{{ }}` or
/// `{% %}` block are counted first (an upper bound on its nesting): above
/// `SAFE_HINT` the template is parsed on a thread with a large stack,
/// above `MAX_HINT` it is refused.
const SAFE_HINT: usize = 100;
const MAX_HINT: usize = 1000;
const PARSE_STACK: usize = 64 << 20;

/// The most operators of a block (outside string literals): `.`, `|`,
/// brackets, arithmetic, and the operator words.
fn nesting_hint(text: &str, whole: bool) -> usize {
    let b = text.as_bytes();
    let count = |from: usize, close: &[u8]| -> (usize, usize) {
        let mut n = 0;
        let mut i = from;
        while i < b.len() {
            let c = b[i];
            if c == b'\'' || c == b'"' {
                i += 1;
                while i < b.len() && b[i] != c {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            if !close.is_empty() && b[i..].starts_with(close) {
                return (n, i + close.len());
            }
            if b".|([{+-*/%~".contains(&c) {
                n += 1;
            } else if c.is_ascii_alphabetic()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
            {
                let end = b[i..]
                    .iter()
                    .position(|x| !(x.is_ascii_alphanumeric() || *x == b'_'))
                    .map_or(b.len(), |p| i + p);
                if matches!(&b[i..end], b"and" | b"or" | b"not" | b"is" | b"if" | b"in") {
                    n += 1;
                }
                i = end;
                continue;
            }
            i += 1;
        }
        (n, b.len())
    };
    if whole {
        return count(0, b"").0;
    }
    let mut max = 0;
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'{' && (b[i + 1] == b'{' || b[i + 1] == b'%') {
            let close: &[u8] = if b[i + 1] == b'{' { b"}}" } else { b"%}" };
            let (n, end) = count(i + 2, close);
            max = max.max(n);
            i = end;
        } else {
            i += 1;
        }
    }
    max
}

/// Run a compile step on this thread, or on one with a larger stack for
/// a text that might nest deeply; refuse one that could nest absurdly.
fn guarded(
    text: &str,
    whole: bool,
    f: fn(&str) -> Result<Compiled, TemplateError>,
) -> Result<Compiled, TemplateError> {
    let hint = nesting_hint(text, whole);
    if hint <= SAFE_HINT {
        return f(text);
    }
    if hint > MAX_HINT {
        return Err(TemplateError::new(
            ErrorKind::Limit,
            format!("an expression of this template has more than {MAX_HINT} operators"),
        ));
    }
    let stack = PARSE_STACK;
    let limit = || {
        TemplateError::new(
            ErrorKind::Limit,
            format!("template nested more than {MAX_AST_DEPTH} levels deep"),
        )
    };
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("template-parse".into())
            .stack_size(stack)
            .spawn_scoped(s, || f(text))
            .map_err(|_| limit())?
            .join()
            .map_err(|_| limit())?
    })
}

/// Parse a template (a string with `{{ }}`, `{% %}`, `{# #}`).
pub(crate) fn compile_template(text: &str) -> Result<Compiled, TemplateError> {
    guarded(text, false, compile_template_here)
}

/// Parse a bare expression (see [`compile_expression_here`]).
pub(crate) fn compile_expression(text: &str) -> Result<Compiled, TemplateError> {
    guarded(text, true, compile_expression_here)
}

fn compile_template_here(text: &str) -> Result<Compiled, TemplateError> {
    // Jinja2 drops one trailing newline of the source.
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    let source: Arc<str> = Arc::from(text);
    let hidden = hide_backslashes(text);
    let config = syntax_config();
    let stmt = minijinja::machinery::parse(&hidden, "<template>", config)
        .map_err(|e| syntax_error(&source, &e))?;
    let conv = Conv {
        src: &source,
        conditional: false,
        missing: Default::default(),
        soft: Default::default(),
        syntax: Default::default(),
    };
    let body = match stmt {
        mj::Stmt::Template(t) => conv.stmts(&t.children, false),
        other => conv.stmts(std::slice::from_ref(&other), false),
    };
    if let Some(e) = conv.syntax.into_inner() {
        return Err(e);
    }
    if stmts_depth(&body) > MAX_AST_DEPTH {
        return Err(too_deep(&source));
    }
    Ok(Compiled {
        body: Body::Template(body),
        missing: conv.missing.into_inner(),
        source,
    })
}

/// Parse a bare expression (a conditional, `when: x | bool`): Python's
/// escapes in strings, and template-looking string constants templated.
fn compile_expression_here(text: &str) -> Result<Compiled, TemplateError> {
    let source: Arc<str> = Arc::from(text);
    let hidden = hide_backslashes_expr(text);
    let expr = minijinja::machinery::parse_expr(&hidden).map_err(|e| syntax_error(&source, &e))?;
    let conv = Conv {
        src: &source,
        conditional: true,
        missing: Default::default(),
        soft: Default::default(),
        syntax: Default::default(),
    };
    let e = conv.expr(&expr, false);
    if expr_depth(&e) > MAX_AST_DEPTH {
        return Err(too_deep(&source));
    }
    let body = Body::Expr(e);
    Ok(Compiled {
        body,
        missing: conv.missing.into_inner(),
        source,
    })
}

fn too_deep(source: &Arc<str>) -> TemplateError {
    TemplateError::new(
        ErrorKind::Limit,
        format!("template nested more than {MAX_AST_DEPTH} levels deep"),
    )
    .at(source, text_span(source, 0, 0))
}

/// The nesting depth of statements and their expressions.
fn stmts_depth(stmts: &[Stmt]) -> usize {
    stmts.iter().map(stmt_depth).max().unwrap_or(0)
}

fn stmt_depth(s: &Stmt) -> usize {
    1 + match s {
        Stmt::Raw(_) | Stmt::Unsupported(..) => 0,
        Stmt::Emit(e) | Stmt::Do(e) => expr_depth(e),
        Stmt::If(c, a, b) => expr_depth(c).max(stmts_depth(a)).max(stmts_depth(b)),
        Stmt::For {
            iter,
            filter,
            body,
            otherwise,
            ..
        } => expr_depth(iter)
            .max(filter.as_ref().map_or(0, expr_depth))
            .max(stmts_depth(body))
            .max(stmts_depth(otherwise)),
        Stmt::Set(_, e) => expr_depth(e),
        Stmt::SetBlock(_, f, b) => f.as_ref().map_or(0, expr_depth).max(stmts_depth(b)),
        Stmt::With(a, b) => a
            .iter()
            .map(|(_, e)| expr_depth(e))
            .max()
            .unwrap_or(0)
            .max(stmts_depth(b)),
        Stmt::FilterBlock(f, b) => expr_depth(f).max(stmts_depth(b)),
    }
}

fn args_depth(args: &[Arg]) -> usize {
    args.iter()
        .map(|a| match a {
            Arg::Pos(e) | Arg::Kw(_, e) | Arg::Splat(e) | Arg::KwSplat(e) => expr_depth(e),
        })
        .max()
        .unwrap_or(0)
}

fn expr_depth(e: &Expr) -> usize {
    1 + match e {
        Expr::Var(..) | Expr::Const(..) | Expr::Embedded(..) => 0,
        Expr::Slice {
            expr,
            start,
            stop,
            step,
            ..
        } => [Some(expr), start.as_ref(), stop.as_ref(), step.as_ref()]
            .into_iter()
            .flatten()
            .map(|x| expr_depth(x))
            .max()
            .unwrap_or(0),
        Expr::Not(_, x) | Expr::Neg(_, x) | Expr::Attr(_, x, _) => expr_depth(x),
        Expr::Bin(_, _, l, r) | Expr::And(_, l, r) | Expr::Or(_, l, r) | Expr::Item(_, l, r) => {
            expr_depth(l).max(expr_depth(r))
        }
        Expr::Compare(_, first, rest) => rest
            .iter()
            .map(|(_, x)| expr_depth(x))
            .max()
            .unwrap_or(0)
            .max(expr_depth(first)),
        Expr::If {
            test,
            then,
            otherwise,
            ..
        } => expr_depth(test)
            .max(expr_depth(then))
            .max(otherwise.as_ref().map_or(0, |x| expr_depth(x))),
        Expr::Filter { input, args, .. } => input
            .as_ref()
            .map_or(0, |x| expr_depth(x))
            .max(args_depth(args)),
        Expr::Test { expr, args, .. } => expr_depth(expr).max(args_depth(args)),
        Expr::Call(_, f, args) => expr_depth(f).max(args_depth(args)),
        Expr::List(_, items) | Expr::Tuple(_, items) => {
            items.iter().map(expr_depth).max().unwrap_or(0)
        }
        Expr::Map(_, items) => items
            .iter()
            .map(|(k, v)| expr_depth(k).max(expr_depth(v)))
            .max()
            .unwrap_or(0),
    }
}

fn syntax_config() -> minijinja::syntax::SyntaxConfig {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .unwrap_or_default()
}

fn syntax_error(source: &Arc<str>, e: &minijinja::Error) -> TemplateError {
    let detail = e.detail().unwrap_or("syntax error");
    let mut err = TemplateError::new(
        ErrorKind::Syntax,
        format!("template error while templating string: {detail}"),
    );
    let range = e.range().or_else(|| {
        // Only a line: point at its start.
        let line = e.line()?;
        let start: usize = source
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        Some(start..start)
    });
    if let Some(r) = range {
        let start = r.start.min(source.len());
        let end = r.end.clamp(start, source.len());
        err = err.at(source, text_span(source, start, end - start));
    }
    err
}

/// The span of `len` bytes at `offset` of `text`, with line and column.
pub(crate) fn text_span(text: &str, offset: usize, len: usize) -> TextSpan {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    TextSpan {
        offset,
        len,
        line,
        col: before[line_start..].chars().count() + 1,
    }
}

/// Replace, inside the string literals of a template's `{{ }}` and
/// `{% %}`, every backslash (and the quote or backslash it escapes) by a
/// letter: same byte offsets, nothing for minijinja to unescape or refuse.
/// String values are read back from the original text.
fn hide_backslashes(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' {
            i += 1;
            continue;
        }
        match b[i + 1] {
            b'#' => {
                i = find(b, i + 2, b"#}").map_or(b.len(), |j| j + 2);
            }
            b'{' | b'%' => {
                let close: &[u8] = if b[i + 1] == b'{' { b"}}" } else { b"%}" };
                let start = i + 2;
                let end = hide_in_block(b, &mut out, start, close);
                if b[i + 1] == b'%' && is_raw_tag(&text[start..end.min(text.len())]) {
                    // Skip to after `{% endraw %}`.
                    i = find_endraw(b, end).unwrap_or(b.len());
                } else {
                    i = end + close.len();
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// The same for a bare expression: every string literal.
fn hide_backslashes_expr(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = b.to_vec();
    hide_in_block(b, &mut out, 0, b"\0\0\0");
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Scan from `start` to the block's `close` delimiter (not inside a
/// string), hiding backslashes in string literals; the offset of the
/// delimiter (or the end).
fn hide_in_block(b: &[u8], out: &mut [u8], start: usize, close: &[u8]) -> usize {
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    out[i] = b'x';
                    if i + 1 < b.len() && matches!(b[i + 1], b'\\' | b'\'' | b'"') {
                        out[i + 1] = b'x';
                    }
                    i += 2;
                } else {
                    i += 1;
                }
            }
            i += 1;
        } else if b[i..].starts_with(close) {
            // `-}}` / `+%}`: the sign is part of the delimiter, not a
            // string; nothing to do.
            return i;
        } else {
            i += 1;
        }
    }
    b.len()
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    if from > b.len() {
        return None;
    }
    b[from..]
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

fn is_raw_tag(inner: &str) -> bool {
    inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()) == "raw"
}

fn find_endraw(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(j) = find(b, i, b"{%") {
        let close = find(b, j + 2, b"%}")?;
        let inner = std::str::from_utf8(&b[j + 2..close]).unwrap_or("");
        if inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()) == "endraw" {
            return Some(close + 2);
        }
        i = close + 2;
    }
    None
}

/// Decode the string literal(s) at `slice` (one or more adjacent quoted
/// strings): verbatim between the quotes, or with Python's escapes.
fn decode_literals(slice: &str, verbatim: bool) -> Option<String> {
    let b = slice.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c != b'\'' && c != b'"' {
            return None;
        }
        let start = i + 1;
        let mut j = start;
        while j < b.len() && b[j] != c {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        if j > b.len() {
            return None;
        }
        let inner = slice.get(start..j.min(b.len()))?;
        if verbatim {
            out.push_str(inner);
        } else {
            out.push_str(&py_unescape(inner));
        }
        any = true;
        i = j + 1;
    }
    any.then_some(out)
}

/// Python's string-literal escapes (`\n`, `\t`, `\\`, `\'`, `\xhh`,
/// `\uXXXX`, octal...); unknown escapes keep their backslash.
pub(crate) fn py_unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('\\');
            break;
        };
        match d {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(d),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut n = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(v) => {
                            n = n * 8 + v;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let width = match d {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.clone().take(width).collect();
                match (hex.len() == width)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                {
                    Some(ch) => {
                        out.push(ch);
                        for _ in 0..width {
                            chars.next();
                        }
                    }
                    None => {
                        out.push('\\');
                        out.push(d);
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// The converter: minijinja's borrowed tree to ours.
struct Conv<'a> {
    src: &'a Arc<str>,
    conditional: bool,
    missing: std::cell::RefCell<Vec<(Sp, &'static str, Arc<str>)>>,
    /// Inside an `if` (statement or expression): Jinja2 checks filter and
    /// test names there only when they run.
    soft: std::cell::Cell<bool>,
    /// A syntax error found while converting (an unknown tag).
    syntax: std::cell::RefCell<Option<TemplateError>>,
}

impl Conv<'_> {
    fn with_soft<T>(&self, soft: bool, f: impl FnOnce() -> T) -> T {
        let old = self.soft.replace(soft);
        let r = f();
        self.soft.set(old);
        r
    }

    fn unknown_tag(&self, sp: Sp, tag: &str) -> Stmt {
        let mut e = self.syntax.borrow_mut();
        if e.is_none() {
            *e = Some(
                TemplateError::new(
                    ErrorKind::Syntax,
                    format!("Encountered unknown tag '{tag}'."),
                )
                .at(self.src, sp.text_span()),
            );
        }
        Stmt::Do(Expr::Const(sp, Value::None))
    }

    fn note_missing(&self, sp: Sp, kind: &'static str, name: &str) {
        if !self.soft.get() {
            self.missing.borrow_mut().push((sp, kind, Arc::from(name)));
        }
    }
}

impl Conv<'_> {
    fn stmts(&self, stmts: &[mj::Stmt<'_>], in_stmt: bool) -> Vec<Stmt> {
        stmts.iter().map(|s| self.stmt(s, in_stmt)).collect()
    }

    fn stmt(&self, s: &mj::Stmt<'_>, _in_stmt: bool) -> Stmt {
        match s {
            mj::Stmt::Template(t) => Stmt::With(Vec::new(), self.stmts(&t.children, false)),
            mj::Stmt::EmitExpr(e) => Stmt::Emit(self.expr(&e.expr, true)),
            mj::Stmt::EmitRaw(r) => Stmt::Raw(Arc::from(r.raw)),
            mj::Stmt::ForLoop(f) => {
                if f.recursive {
                    return Stmt::Unsupported(Sp::of(f.span()), "recursive for loops");
                }
                match self.target(&f.target) {
                    Some(target) => Stmt::For {
                        sp: Sp::of(f.span()),
                        target,
                        iter: self.expr(&f.iter, false),
                        filter: f.filter_expr.as_ref().map(|e| self.expr(e, false)),
                        body: self.with_soft(false, || self.stmts(&f.body, true)),
                        otherwise: self.with_soft(false, || self.stmts(&f.else_body, true)),
                    },
                    None => Stmt::Unsupported(Sp::of(f.span()), "this loop target"),
                }
            }
            mj::Stmt::IfCond(i) => self.with_soft(true, || {
                Stmt::If(
                    self.expr(&i.expr, false),
                    self.stmts(&i.true_body, true),
                    self.stmts(&i.false_body, true),
                )
            }),
            mj::Stmt::WithBlock(w) => {
                let mut assigns = Vec::new();
                for (t, e) in &w.assignments {
                    match self.target(t) {
                        Some(t) => assigns.push((t, self.expr(e, false))),
                        None => return Stmt::Unsupported(Sp::of(w.span()), "this assignment"),
                    }
                }
                Stmt::With(assigns, self.stmts(&w.body, true))
            }
            mj::Stmt::Set(set) => match self.target(&set.target) {
                Some(t) => Stmt::Set(t, self.expr(&set.expr, false)),
                None => Stmt::Unsupported(Sp::of(set.span()), "this assignment"),
            },
            mj::Stmt::SetBlock(set) => match self.target(&set.target) {
                Some(t) => Stmt::SetBlock(
                    t,
                    set.filter.as_ref().map(|f| self.expr(f, false)),
                    self.stmts(&set.body, true),
                ),
                None => Stmt::Unsupported(Sp::of(set.span()), "this assignment"),
            },
            mj::Stmt::AutoEscape(a) => Stmt::With(Vec::new(), self.stmts(&a.body, true)),
            mj::Stmt::FilterBlock(f) => {
                Stmt::FilterBlock(self.expr(&f.filter, false), self.stmts(&f.body, true))
            }
            mj::Stmt::Do(d) => Stmt::Do(self.call(&d.call, Sp::of(d.span()), false)),
            // Ansible does not enable Jinja2's loopcontrols extension.
            mj::Stmt::Continue(c) => self.unknown_tag(Sp::of(c.span()), "continue"),
            mj::Stmt::Break(b) => self.unknown_tag(Sp::of(b.span()), "break"),
            mj::Stmt::Block(b) => Stmt::With(Vec::new(), self.stmts(&b.body, true)),
            mj::Stmt::Import(i) => Stmt::Unsupported(Sp::of(i.span()), "{% import %}"),
            mj::Stmt::FromImport(i) => Stmt::Unsupported(Sp::of(i.span()), "{% from ... import %}"),
            mj::Stmt::Extends(e) => Stmt::Unsupported(Sp::of(e.span()), "{% extends %}"),
            mj::Stmt::Include(i) => Stmt::Unsupported(Sp::of(i.span()), "{% include %}"),
            mj::Stmt::Macro(m) => Stmt::Unsupported(Sp::of(m.span()), "{% macro %}"),
            mj::Stmt::CallBlock(c) => Stmt::Unsupported(Sp::of(c.span()), "{% call %}"),
        }
    }

    fn target(&self, e: &mj::Expr<'_>) -> Option<Target> {
        match e {
            mj::Expr::Var(v) => Some(Target::Name(Arc::from(v.id))),
            mj::Expr::Tuple(t) => t
                .items
                .iter()
                .map(|i| self.target(i))
                .collect::<Option<Vec<_>>>()
                .map(Target::Tuple),
            mj::Expr::List(t) => t
                .items
                .iter()
                .map(|i| self.target(i))
                .collect::<Option<Vec<_>>>()
                .map(Target::Tuple),
            mj::Expr::GetAttr(g) => match &g.expr {
                mj::Expr::Var(v) => Some(Target::Attr(Arc::from(v.id), Arc::from(g.name))),
                _ => None,
            },
            _ => None,
        }
    }

    fn boxed(&self, e: &mj::Expr<'_>, verbatim: bool) -> Box<Expr> {
        Box::new(self.expr(e, verbatim))
    }

    fn args(&self, args: &[mj::CallArg<'_>], verbatim: bool) -> Vec<Arg> {
        args.iter()
            .map(|a| match a {
                mj::CallArg::Pos(e) => Arg::Pos(self.expr(e, verbatim)),
                mj::CallArg::Kwarg(k, e) => Arg::Kw(Arc::from(*k), self.expr(e, verbatim)),
                mj::CallArg::PosSplat(e) => Arg::Splat(self.expr(e, verbatim)),
                mj::CallArg::KwargSplat(e) => Arg::KwSplat(self.expr(e, verbatim)),
            })
            .collect()
    }

    fn call(&self, c: &mj::Call<'_>, sp: Sp, verbatim: bool) -> Expr {
        Expr::Call(
            sp,
            self.boxed(&c.expr, verbatim),
            self.args(&c.args, verbatim),
        )
    }

    /// `verbatim`: inside `{{ }}` of a template (Ansible's backslash rule).
    fn expr(&self, e: &mj::Expr<'_>, verbatim: bool) -> Expr {
        match e {
            mj::Expr::Var(v) => Expr::Var(Sp::of(v.span()), Arc::from(v.id)),
            mj::Expr::Const(c) => self.constant(&c.value, Sp::of(c.span()), verbatim),
            mj::Expr::Slice(s) => Expr::Slice {
                sp: Sp::of(s.span()),
                expr: self.boxed(&s.expr, verbatim),
                start: s.start.as_ref().map(|x| self.boxed(x, verbatim)),
                stop: s.stop.as_ref().map(|x| self.boxed(x, verbatim)),
                step: s.step.as_ref().map(|x| self.boxed(x, verbatim)),
            },
            mj::Expr::UnaryOp(u) => {
                let sp = Sp::of(u.span());
                let inner = self.boxed(&u.expr, verbatim);
                match u.op {
                    mj::UnaryOpKind::Not => Expr::Not(sp, inner),
                    mj::UnaryOpKind::Neg => Expr::Neg(sp, inner),
                }
            }
            mj::Expr::BinOp(b) => {
                let sp = Sp::of(b.span());
                let l = self.boxed(&b.left, verbatim);
                let r = self.boxed(&b.right, verbatim);
                let bin = match b.op {
                    mj::BinOpKind::ScAnd => return Expr::And(sp, l, r),
                    mj::BinOpKind::ScOr => return Expr::Or(sp, l, r),
                    mj::BinOpKind::Add => BinOp::Add,
                    mj::BinOpKind::Sub => BinOp::Sub,
                    mj::BinOpKind::Mul => BinOp::Mul,
                    mj::BinOpKind::Div => BinOp::Div,
                    mj::BinOpKind::FloorDiv => BinOp::FloorDiv,
                    mj::BinOpKind::Rem => BinOp::Rem,
                    mj::BinOpKind::Pow => BinOp::Pow,
                    mj::BinOpKind::Concat => BinOp::Concat,
                    op => {
                        let op = match op {
                            mj::BinOpKind::Eq => CmpOp::Eq,
                            mj::BinOpKind::Ne => CmpOp::Ne,
                            mj::BinOpKind::Lt => CmpOp::Lt,
                            mj::BinOpKind::Lte => CmpOp::Le,
                            mj::BinOpKind::Gt => CmpOp::Gt,
                            mj::BinOpKind::Gte => CmpOp::Ge,
                            _ => CmpOp::In,
                        };
                        return Expr::Compare(sp, l, vec![(op, *r)]);
                    }
                };
                Expr::Bin(sp, bin, l, r)
            }
            mj::Expr::Compare(c) => Expr::Compare(
                Sp::of(c.span()),
                self.boxed(&c.expr, verbatim),
                c.ops
                    .iter()
                    .map(|o| {
                        let op = match o.op {
                            mj::CompareOpKind::Eq => CmpOp::Eq,
                            mj::CompareOpKind::Ne => CmpOp::Ne,
                            mj::CompareOpKind::Lt => CmpOp::Lt,
                            mj::CompareOpKind::Lte => CmpOp::Le,
                            mj::CompareOpKind::Gt => CmpOp::Gt,
                            mj::CompareOpKind::Gte => CmpOp::Ge,
                            mj::CompareOpKind::In => CmpOp::In,
                            mj::CompareOpKind::NotIn => CmpOp::NotIn,
                        };
                        (op, self.expr(&o.expr, verbatim))
                    })
                    .collect(),
            ),
            mj::Expr::IfExpr(i) => self.with_soft(true, || Expr::If {
                sp: Sp::of(i.span()),
                test: self.boxed(&i.test_expr, verbatim),
                then: self.boxed(&i.true_expr, verbatim),
                otherwise: i.false_expr.as_ref().map(|x| self.boxed(x, verbatim)),
            }),
            mj::Expr::Filter(f) => Expr::Filter {
                sp: {
                    if super::filters::find(f.name).is_none() {
                        self.note_missing(Sp::of(f.span()), "filter", f.name);
                    }
                    Sp::of(f.span())
                },
                name: Arc::from(f.name),
                input: f.expr.as_ref().map(|x| self.boxed(x, verbatim)),
                args: self.args(&f.args, verbatim),
            },
            mj::Expr::Test(t) => Expr::Test {
                sp: {
                    if super::tests::find(t.name).is_none() {
                        self.note_missing(Sp::of(t.span()), "test", t.name);
                    }
                    Sp::of(t.span())
                },
                name: Arc::from(t.name),
                expr: self.boxed(&t.expr, verbatim),
                args: self.args(&t.args, verbatim),
            },
            mj::Expr::GetAttr(g) => Expr::Attr(
                Sp::of(g.span()),
                self.boxed(&g.expr, verbatim),
                Arc::from(g.name),
            ),
            mj::Expr::GetItem(g) => Expr::Item(
                Sp::of(g.span()),
                self.boxed(&g.expr, verbatim),
                self.boxed(&g.subscript_expr, verbatim),
            ),
            mj::Expr::Call(c) => self.call(c, Sp::of(c.span()), verbatim),
            mj::Expr::List(l) => Expr::List(
                Sp::of(l.span()),
                l.items.iter().map(|x| self.expr(x, verbatim)).collect(),
            ),
            mj::Expr::Tuple(t) => Expr::Tuple(
                Sp::of(t.span()),
                t.items.iter().map(|x| self.expr(x, verbatim)).collect(),
            ),
            mj::Expr::Map(m) => Expr::Map(
                Sp::of(m.span()),
                m.keys
                    .iter()
                    .zip(m.values.iter())
                    .map(|(k, v)| (self.expr(k, verbatim), self.expr(v, verbatim)))
                    .collect(),
            ),
        }
    }

    fn constant(&self, v: &minijinja::Value, sp: Sp, verbatim: bool) -> Expr {
        use minijinja::value::ValueKind;
        let value = match v.kind() {
            ValueKind::None | ValueKind::Undefined => Value::None,
            ValueKind::Bool => Value::Bool(v.is_true()),
            ValueKind::Number => match (v.is_integer(), v.as_i64()) {
                (true, Some(i)) => Value::Int(i),
                // A float, or an integer beyond 64 bits (Python's big
                // integers are not supported: kept as a float).
                _ => Value::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN)),
            },
            ValueKind::String => {
                let slice = self
                    .src
                    .get(sp.offset as usize..sp.end as usize)
                    .unwrap_or("");
                let text = decode_literals(slice, verbatim)
                    .unwrap_or_else(|| v.as_str().unwrap_or("").to_string());
                if self.conditional && is_possibly_template(&text) {
                    return Expr::Embedded(sp, Arc::from(text));
                }
                Value::from(text)
            }
            _ => Value::from(v.to_string()),
        };
        Expr::Const(sp, value)
    }
}

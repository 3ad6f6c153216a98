//! Python's `ast.literal_eval`, which the INI inventory plugin applies to
//! every value (`_parse_value`), followed by the plugin's coercion into
//! variable types (`_parse_recursive_coerce_types_and_tag`).
//!
//! So `5` is an int, `0o755` 493, `1e3` a float (Python, not YAML, rules),
//! `True` a bool, `'x'` the string `x`, `[1, 2]` a list and
//! `{'a': 1}` a dict; `yes`, `0755` or `hello world` are not Python
//! literals and stay strings. Tuples and sets become lists, complex
//! numbers and `...` strings, and `b'...'` an untrusted string.
//!
//! Differences, all in corners no inventory uses: `\N{NAME}` escapes are
//! not supported (the value stays a string where Python would decode the
//! name); a set keeps the order of its text (Python's is its hash order);
//! lone surrogates become U+FFFD; dict keys other than strings, numbers,
//! booleans and None are refused (`ansible-inventory` cannot print them
//! either).

use crate::yaml::scalar::{int_from_digits, py_float_repr};
use crate::yaml::{Key, Node, Span, Yaml};

/// What `literal_eval` made of a value.
pub enum Literal {
    /// A Python literal, coerced as the INI plugin does.
    Value(Node),
    /// Not a literal (Python raised `ValueError` or `SyntaxError`): the
    /// plugin keeps the text as a string.
    NotLiteral,
    /// Python raised something the plugin does not catch (an unhashable
    /// dict key or set element): the inventory fails to load.
    Error(String),
}

/// Python nests at most this deep (`too many nested parentheses`).
const MAX_DEPTH: usize = 200;

/// Evaluates `text`; `span` maps a byte range of `text` to a source span.
pub fn literal_eval(text: &str, span: &dyn Fn(usize, usize) -> Span) -> Literal {
    // literal_eval strips leading spaces and tabs only.
    let lead = text.len() - text.trim_start_matches([' ', '\t']).len();
    let Some(tokens) = tokenize(text, lead) else {
        return Literal::NotLiteral;
    };
    let mut p = Parser {
        toks: &tokens,
        i: 0,
        depth: 0,
    };
    let Some(ast) = p.testlist(true) else {
        return Literal::NotLiteral;
    };
    if p.i != tokens.len() {
        return Literal::NotLiteral;
    }
    match convert(&ast) {
        Ok(Some(v)) => match coerce(&v, span) {
            Ok(n) => Literal::Value(n),
            Err(e) => Literal::Error(e),
        },
        Ok(None) => Literal::NotLiteral,
        Err(e) => Literal::Error(e),
    }
}

#[derive(Debug, Clone)]
enum Tok {
    Num(Num),
    Str(StrLit),
    Name(String),
    Op(&'static str),
}

#[derive(Debug, Clone)]
enum Num {
    Int(Yaml),
    Float(f64),
    Imag(f64),
}

#[derive(Debug, Clone)]
enum StrLit {
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct T {
    tok: Tok,
    start: usize,
    end: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn tokenize(text: &str, from: usize) -> Option<Vec<T>> {
    let mut out = Vec::new();
    let mut i = from;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next()?;
        if matches!(c, ' ' | '\t' | '\x0c') {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let start = i;
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            let (num, len) = lex_number(rest)?;
            i += len;
            // `1abc` is an invalid decimal literal.
            if text[i..].starts_with(is_ident) {
                return None;
            }
            out.push(T {
                tok: Tok::Num(num),
                start,
                end: i,
            });
            continue;
        }
        if let Some((s, len)) = lex_string(rest)? {
            i += len;
            out.push(T {
                tok: Tok::Str(s),
                start,
                end: i,
            });
            continue;
        }
        if is_ident_start(c) {
            let len = rest.find(|d: char| !is_ident(d)).unwrap_or(rest.len());
            out.push(T {
                tok: Tok::Name(rest[..len].to_string()),
                start,
                end: i + len,
            });
            i += len;
            continue;
        }
        let op = [
            "...", "**", "(", ")", "[", "]", "{", "}", ",", ":", "+", "-", "*", ".",
        ]
        .into_iter()
        .find(|op| rest.starts_with(op))?;
        i += op.len();
        out.push(T {
            tok: Tok::Op(op),
            start,
            end: i,
        });
    }
    Some(out)
}

/// `[0-9](_?[0-9])*` at the start of `s`: its length (0 if none).
fn digitpart(s: &str, radix: u32) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let is = |c: u8| (c as char).is_digit(radix);
    if b.first().is_none_or(|&c| !is(c)) {
        return 0;
    }
    while i < b.len() {
        if is(b[i]) {
            i += 1;
        } else if b[i] == b'_' && b.get(i + 1).is_some_and(|&c| is(c)) {
            i += 2;
        } else {
            break;
        }
    }
    i
}

fn lex_number(s: &str) -> Option<(Num, usize)> {
    let b = s.as_bytes();
    // Prefixed integers: 0x, 0o, 0b, with `_` allowed after the prefix.
    if b.len() > 1 && b[0] == b'0' {
        let radix = match b[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => 0,
        };
        if radix != 0 {
            let body = &s[2..];
            let skip = usize::from(body.starts_with('_'));
            let n = digitpart(&body[skip..], radix);
            if n == 0 {
                return None;
            }
            let digits: String = body[skip..skip + n].chars().filter(|&c| c != '_').collect();
            return Some((
                Num::Int(int_from_digits(false, &digits, radix)?),
                2 + skip + n,
            ));
        }
    }
    let int_len = digitpart(s, 10);
    let mut i = int_len;
    let mut float = false;
    if s[i..].starts_with('.') {
        float = true;
        i += 1;
        i += digitpart(&s[i..], 10);
        if int_len == 0 && i == 1 {
            return None;
        }
    }
    // An exponent: [eE][+-]?digitpart, only if complete.
    if matches!(s.as_bytes().get(i), Some(b'e' | b'E')) && i > 0 {
        let mut j = i + 1;
        if matches!(s.as_bytes().get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = digitpart(&s[j..], 10);
        if n > 0 {
            i = j + n;
            float = true;
        } else {
            // `1e` or `1e+`: an invalid literal.
            return None;
        }
    }
    let text: String = s[..i].chars().filter(|&c| c != '_').collect();
    if matches!(s.as_bytes().get(i), Some(b'j' | b'J')) {
        return Some((Num::Imag(parse_float(&text)?), i + 1));
    }
    if float {
        return Some((Num::Float(parse_float(&text)?), i));
    }
    // Decimal ints: no leading zeros unless all zeros.
    if text.len() > 1 && text.starts_with('0') && !text.bytes().all(|c| c == b'0') {
        return None;
    }
    Some((Num::Int(int_from_digits(false, &text, 10)?), i))
}

fn parse_float(t: &str) -> Option<f64> {
    let mut t = t.to_string();
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    t = t.replace(".e", ".0e").replace(".E", ".0E");
    if t.ends_with('.') {
        t.push('0');
    }
    t.parse().ok()
}

/// A string literal with its prefix at the start of `s`: `Ok(None)` if
/// `s` does not start one, `None` on a malformed literal.
fn lex_string(s: &str) -> Option<Option<(StrLit, usize)>> {
    let prefix_len = s
        .find(['\'', '"'])
        .filter(|&n| n <= 2 && s[..n].chars().all(|c| "rRbBuUfF".contains(c)));
    let Some(n) = prefix_len else {
        return Some(None);
    };
    let prefix = s[..n].to_ascii_lowercase();
    let (raw, bytes) = match prefix.as_str() {
        "" | "u" => (false, false),
        "r" => (true, false),
        "b" => (false, true),
        "br" | "rb" => (true, true),
        // f-strings are not literals; anything else is a syntax error.
        _ => return None,
    };
    let body = &s[n..];
    let q = body.chars().next()?;
    let triple = body.starts_with(&format!("{q}{q}{q}"));
    let delim_len = if triple { 3 } else { 1 };
    let inner_start = n + delim_len;
    let mut i = inner_start;
    let b = s.as_bytes();
    loop {
        if i >= s.len() {
            return None;
        }
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q as u8 && (!triple || s[i..].starts_with(&format!("{q}{q}{q}"))) {
            break;
        }
        i += 1;
    }
    let inner = s.get(inner_start..i)?;
    let end = i + delim_len;
    let lit = if bytes {
        if !inner.is_ascii() {
            return None;
        }
        StrLit::Bytes(if raw {
            inner.as_bytes().to_vec()
        } else {
            unescape_bytes(inner)?
        })
    } else {
        StrLit::Text(if raw {
            inner.to_string()
        } else {
            unescape_str(inner)?
        })
    };
    Some(Some((lit, end)))
}

fn hex_digits(s: &str, n: usize) -> Option<u32> {
    let h = s.get(..n)?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(h, 16).ok()
}

/// Escapes shared by str and bytes; `None` for "not one of these".
fn common_escape(c: char) -> Option<u32> {
    Some(match c {
        '\\' => 0x5c,
        '\'' => 0x27,
        '"' => 0x22,
        'a' => 0x07,
        'b' => 0x08,
        'f' => 0x0c,
        'n' => 0x0a,
        'r' => 0x0d,
        't' => 0x09,
        'v' => 0x0b,
        _ => return None,
    })
}

/// Octal escape `\ooo` (1 to 3 digits) at the start of `s`.
fn octal(s: &str) -> Option<(u32, usize)> {
    let n = s
        .bytes()
        .take(3)
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    (n > 0).then(|| (u32::from_str_radix(&s[..n], 8).unwrap_or(0), n))
}

fn unescape_str(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let rest = &s[i + 1..];
        let e = rest.chars().next()?;
        let (code, used) = if let Some(v) = common_escape(e) {
            (v, 1)
        } else if let Some((v, n)) = octal(rest) {
            (v, n)
        } else {
            match e {
                'x' => (hex_digits(&rest[1..], 2)?, 3),
                'u' => (hex_digits(&rest[1..], 4)?, 5),
                'U' => {
                    let v = hex_digits(&rest[1..], 8)?;
                    if v > 0x10ffff {
                        return None;
                    }
                    (v, 9)
                }
                // \N{...}: not supported (see the module comment).
                'N' => return None,
                // An unknown escape keeps its backslash.
                _ => {
                    out.push('\\');
                    continue;
                }
            }
        };
        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
        for _ in 0..rest[..used].chars().count() {
            chars.next();
        }
    }
    Some(out)
}

fn unescape_bytes(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let rest = &s[i + 1..];
        let e = rest.chars().next()?;
        if let Some(v) = common_escape(e) {
            out.push(v as u8);
            i += 2;
        } else if let Some((v, n)) = octal(rest) {
            out.push((v & 0xff) as u8);
            i += 1 + n;
        } else if e == 'x' {
            out.push(hex_digits(&rest[1..], 2)? as u8);
            i += 4;
        } else {
            out.push(b'\\');
            i += 1;
        }
    }
    Some(out)
}

/// The Python expression forms `literal_eval` looks at; everything else
/// it refuses is `Other`.
#[derive(Debug, Clone)]
enum Ast {
    Const(Const, usize, usize),
    Tuple(Vec<Ast>, usize, usize),
    List(Vec<Ast>, usize, usize),
    Set(Vec<Ast>, usize, usize),
    Dict(Vec<(Ast, Ast)>, usize, usize),
    EmptySetCall(usize, usize),
    Unary(bool, Box<Ast>, usize, usize),
    Bin(bool, Box<Ast>, Box<Ast>, usize, usize),
}

#[derive(Debug, Clone)]
enum Const {
    None,
    Bool(bool),
    Num(Num),
    Str(StrLit),
    Ellipsis,
}

impl Ast {
    fn range(&self) -> (usize, usize) {
        match self {
            Ast::Const(_, s, e)
            | Ast::Tuple(_, s, e)
            | Ast::List(_, s, e)
            | Ast::Set(_, s, e)
            | Ast::Dict(_, s, e)
            | Ast::EmptySetCall(s, e)
            | Ast::Unary(_, _, s, e)
            | Ast::Bin(_, _, _, s, e) => (*s, *e),
        }
    }
}

struct Parser<'a> {
    toks: &'a [T],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.i) {
            Some(T {
                tok: Tok::Op(o), ..
            }) => Some(o),
            _ => None,
        }
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn at_close(&self) -> bool {
        matches!(self.peek_op(), Some(")" | "]" | "}")) || self.i == self.toks.len()
    }

    /// `elem (',' elem)* [',']`, a tuple when there is a comma.
    fn testlist(&mut self, top: bool) -> Option<Ast> {
        let first = self.elem()?;
        if self.peek_op() != Some(",") {
            return Some(first);
        }
        let start = first.range().0;
        let mut items = vec![first];
        let mut end = items[0].range().1;
        while self.eat_op(",") {
            end = self.toks[self.i - 1].end;
            if self.at_close() {
                break;
            }
            let e = self.elem()?;
            end = e.range().1;
            items.push(e);
        }
        let _ = top;
        Some(Ast::Tuple(items, start, end))
    }

    /// `unary (('+' | '-') unary)*`
    fn elem(&mut self) -> Option<Ast> {
        let mut left = self.unary()?;
        while let Some(op @ ("+" | "-")) = self.peek_op() {
            self.i += 1;
            let right = self.unary()?;
            let (s, e) = (left.range().0, right.range().1);
            left = Ast::Bin(op == "+", Box::new(left), Box::new(right), s, e);
        }
        Some(left)
    }

    fn unary(&mut self) -> Option<Ast> {
        if let Some(op @ ("+" | "-")) = self.peek_op() {
            let start = self.toks[self.i].start;
            self.i += 1;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return None;
            }
            let inner = self.unary()?;
            self.depth -= 1;
            let end = inner.range().1;
            return Some(Ast::Unary(op == "-", Box::new(inner), start, end));
        }
        let atom = self.atom()?;
        // A trailer or another operator: valid Python perhaps, never a
        // literal.
        if matches!(self.peek_op(), Some("(" | "[" | "." | "*" | "**")) {
            return None;
        }
        if matches!(
            self.toks.get(self.i),
            Some(T {
                tok: Tok::Name(_) | Tok::Num(_) | Tok::Str(_),
                ..
            })
        ) {
            return None;
        }
        Some(atom)
    }

    fn atom(&mut self) -> Option<Ast> {
        let t = self.toks.get(self.i)?.clone();
        self.i += 1;
        let c = |k| Some(Ast::Const(k, t.start, t.end));
        match t.tok {
            Tok::Num(n) => c(Const::Num(n)),
            Tok::Str(first) => {
                // Adjacent literals concatenate (str with str, bytes with
                // bytes).
                let mut acc = first;
                let mut end = t.end;
                while let Some(T {
                    tok: Tok::Str(next),
                    end: e,
                    ..
                }) = self.toks.get(self.i)
                {
                    acc = match (acc, next) {
                        (StrLit::Text(mut a), StrLit::Text(b)) => {
                            a.push_str(b);
                            StrLit::Text(a)
                        }
                        (StrLit::Bytes(mut a), StrLit::Bytes(b)) => {
                            a.extend_from_slice(b);
                            StrLit::Bytes(a)
                        }
                        _ => return None,
                    };
                    end = *e;
                    self.i += 1;
                }
                Some(Ast::Const(Const::Str(acc), t.start, end))
            }
            Tok::Name(n) => match n.as_str() {
                "True" => c(Const::Bool(true)),
                "False" => c(Const::Bool(false)),
                "None" => c(Const::None),
                "set" if self.peek_op() == Some("(") => {
                    self.i += 1;
                    if !self.eat_op(")") {
                        return None;
                    }
                    Some(Ast::EmptySetCall(t.start, self.toks[self.i - 1].end))
                }
                _ => None,
            },
            Tok::Op("...") => c(Const::Ellipsis),
            Tok::Op(open @ ("(" | "[" | "{")) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return None;
                }
                let r = self.bracketed(open, t.start);
                self.depth -= 1;
                r
            }
            Tok::Op(_) => None,
        }
    }

    fn bracketed(&mut self, open: &str, start: usize) -> Option<Ast> {
        let close = match open {
            "(" => ")",
            "[" => "]",
            _ => "}",
        };
        if self.eat_op(close) {
            let end = self.toks[self.i - 1].end;
            return Some(match open {
                "(" => Ast::Tuple(Vec::new(), start, end),
                "[" => Ast::List(Vec::new(), start, end),
                _ => Ast::Dict(Vec::new(), start, end),
            });
        }
        match open {
            "(" => {
                let inner = self.testlist(false)?;
                if !self.eat_op(")") {
                    return None;
                }
                let end = self.toks[self.i - 1].end;
                // `(x)` is x itself; a tuple gets the parentheses' range.
                Some(match inner {
                    Ast::Tuple(items, _, _) => Ast::Tuple(items, start, end),
                    other => other,
                })
            }
            "[" => {
                let mut items = Vec::new();
                loop {
                    items.push(self.elem()?);
                    if self.eat_op("]") {
                        break;
                    }
                    if !self.eat_op(",") {
                        return None;
                    }
                    if self.eat_op("]") {
                        break;
                    }
                }
                Some(Ast::List(items, start, self.toks[self.i - 1].end))
            }
            _ => {
                let first = self.elem()?;
                if self.eat_op(":") {
                    let mut pairs = vec![(first, self.elem()?)];
                    loop {
                        if self.eat_op("}") {
                            break;
                        }
                        if !self.eat_op(",") {
                            return None;
                        }
                        if self.eat_op("}") {
                            break;
                        }
                        let k = self.elem()?;
                        if !self.eat_op(":") {
                            return None;
                        }
                        pairs.push((k, self.elem()?));
                    }
                    Some(Ast::Dict(pairs, start, self.toks[self.i - 1].end))
                } else {
                    let mut items = vec![first];
                    loop {
                        if self.eat_op("}") {
                            break;
                        }
                        if !self.eat_op(",") {
                            return None;
                        }
                        if self.eat_op("}") {
                            break;
                        }
                        items.push(self.elem()?);
                    }
                    Some(Ast::Set(items, start, self.toks[self.i - 1].end))
                }
            }
        }
    }
}

/// A Python value `literal_eval` returns, with the text range it came
/// from.
#[derive(Debug, Clone)]
enum Py {
    None,
    Bool(bool),
    Int(Yaml),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Ellipsis,
    List(Vec<Pv>),
    Tuple(Vec<Pv>),
    Set(Vec<Pv>),
    Dict(Vec<(Pv, Pv)>),
}

#[derive(Debug, Clone)]
struct Pv {
    v: Py,
    start: usize,
    end: usize,
}

/// `_convert`: `Ok(None)` where Python raises ValueError (malformed
/// node), `Err` where it raises TypeError.
fn convert(a: &Ast) -> Result<Option<Pv>, String> {
    let (start, end) = a.range();
    let pv = |v| Ok(Some(Pv { v, start, end }));
    let all = |items: &[Ast]| -> Result<Option<Vec<Pv>>, String> {
        let mut out = Vec::new();
        for i in items {
            match convert(i)? {
                Some(v) => out.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    };
    match a {
        Ast::Const(c, _, _) => pv(match c {
            Const::None => Py::None,
            Const::Bool(b) => Py::Bool(*b),
            Const::Num(Num::Int(i)) => Py::Int(i.clone()),
            Const::Num(Num::Float(f)) => Py::Float(*f),
            Const::Num(Num::Imag(f)) => Py::Complex(0.0, *f),
            Const::Str(StrLit::Text(s)) => Py::Str(s.clone()),
            Const::Str(StrLit::Bytes(b)) => Py::Bytes(b.clone()),
            Const::Ellipsis => Py::Ellipsis,
        }),
        Ast::Tuple(items, _, _) => match all(items)? {
            Some(v) => pv(Py::Tuple(v)),
            None => Ok(None),
        },
        Ast::List(items, _, _) => match all(items)? {
            Some(v) => pv(Py::List(v)),
            None => Ok(None),
        },
        Ast::Set(items, _, _) => match all(items)? {
            Some(v) => {
                let mut set: Vec<Pv> = Vec::new();
                for x in v {
                    hashable(&x.v)?;
                    if !set.iter().any(|y| py_eq(&y.v, &x.v)) {
                        set.push(x);
                    }
                }
                pv(Py::Set(set))
            }
            None => Ok(None),
        },
        Ast::EmptySetCall(..) => pv(Py::Set(Vec::new())),
        Ast::Dict(pairs, _, _) => {
            let mut out: Vec<(Pv, Pv)> = Vec::new();
            // Python converts all keys, then all values.
            let keys: Vec<Ast> = pairs.iter().map(|(k, _)| k.clone()).collect();
            let values: Vec<Ast> = pairs.iter().map(|(_, v)| v.clone()).collect();
            let (Some(keys), Some(values)) = (all(&keys)?, all(&values)?) else {
                return Ok(None);
            };
            for (k, v) in keys.into_iter().zip(values) {
                hashable(&k.v)?;
                match out.iter_mut().find(|(ek, _)| py_eq(&ek.v, &k.v)) {
                    // dict(): the first key stays, the last value wins.
                    Some(entry) => entry.1 = v,
                    None => out.push((k, v)),
                }
            }
            pv(Py::Dict(out))
        }
        Ast::Unary(..) => Ok(signed_num(a).map(|v| Pv { v, start, end })),
        Ast::Bin(add, l, r, _, _) => {
            let (Some(left), Some(right)) = (signed_num(l), num(r)) else {
                return Ok(None);
            };
            match (left, right) {
                (Py::Int(_) | Py::Float(_), Py::Complex(re, im)) => {
                    let l = match signed_num(l) {
                        Some(Py::Int(i)) => int_to_f64(&i),
                        Some(Py::Float(f)) => f,
                        _ => return Ok(None),
                    };
                    // (l + 0j) op (re + im j)
                    let v = if *add {
                        Py::Complex(l + re, 0.0 + im)
                    } else {
                        Py::Complex(l - re, 0.0 - im)
                    };
                    pv(v)
                }
                _ => Ok(None),
            }
        }
    }
}

fn int_to_f64(i: &Yaml) -> f64 {
    match i {
        Yaml::Int(n) => *n as f64,
        Yaml::BigInt(s) => s.parse().unwrap_or(f64::INFINITY),
        _ => 0.0,
    }
}

/// `_convert_num`: a number constant (bools are not numbers here).
fn num(a: &Ast) -> Option<Py> {
    match a {
        Ast::Const(Const::Num(n), _, _) => Some(match n {
            Num::Int(i) => Py::Int(i.clone()),
            Num::Float(f) => Py::Float(*f),
            Num::Imag(f) => Py::Complex(0.0, *f),
        }),
        _ => None,
    }
}

/// `_convert_signed_num`: a number, or `+`/`-` applied to one.
fn signed_num(a: &Ast) -> Option<Py> {
    match a {
        Ast::Unary(neg, inner, _, _) => {
            let v = num(inner)?;
            if !neg {
                return Some(v);
            }
            Some(match v {
                Py::Int(Yaml::Int(i)) => match i.checked_neg() {
                    Some(n) => Py::Int(Yaml::Int(n)),
                    None => Py::Int(Yaml::BigInt(format!("{}", -(i as i128)))),
                },
                Py::Int(Yaml::BigInt(s)) => {
                    let n = match s.strip_prefix('-') {
                        Some(p) => p.to_string(),
                        None => format!("-{s}"),
                    };
                    Py::Int(n.parse::<i64>().map_or(Yaml::BigInt(n), Yaml::Int))
                }
                Py::Float(f) => Py::Float(-f),
                Py::Complex(re, im) => Py::Complex(-re, -im),
                other => other,
            })
        }
        _ => num(a),
    }
}

fn hashable(v: &Py) -> Result<(), String> {
    match v {
        Py::List(_) => Err("unhashable type: 'list'".into()),
        Py::Dict(_) => Err("unhashable type: 'dict'".into()),
        Py::Set(_) => Err("unhashable type: 'set'".into()),
        Py::Tuple(items) => items.iter().try_for_each(|i| hashable(&i.v)),
        _ => Ok(()),
    }
}

/// A number as (real, imaginary) for Python's cross-type equality.
fn as_complex(v: &Py) -> Option<(f64, f64, Option<&Yaml>)> {
    match v {
        Py::Bool(b) => Some((f64::from(u8::from(*b)), 0.0, None)),
        Py::Int(i) => Some((int_to_f64(i), 0.0, Some(i))),
        Py::Float(f) => Some((*f, 0.0, None)),
        Py::Complex(re, im) => Some((*re, *im, None)),
        _ => None,
    }
}

fn py_eq(a: &Py, b: &Py) -> bool {
    if let (Some(x), Some(y)) = (as_complex(a), as_complex(b)) {
        // Two ints compare exactly (big ones as text).
        if let (Some(i), Some(j)) = (x.2, y.2) {
            return i == j;
        }
        return x.0 == y.0 && x.1 == y.1;
    }
    match (a, b) {
        (Py::None, Py::None) | (Py::Ellipsis, Py::Ellipsis) => true,
        (Py::Str(x), Py::Str(y)) => x == y,
        (Py::Bytes(x), Py::Bytes(y)) => x == y,
        (Py::Tuple(x), Py::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(&p.v, &q.v))
        }
        _ => false,
    }
}

/// Python's `repr(complex)`: `3j`, `(1+2j)`, `(-0-1j)`; integral parts
/// without `.0`.
fn complex_repr(re: f64, im: f64) -> String {
    let part = |x: f64| {
        let r = py_float_repr(x);
        r.strip_suffix(".0").map(str::to_string).unwrap_or(r)
    };
    if re == 0.0 && re.is_sign_positive() {
        format!("{}j", part(im))
    } else {
        let im_s = part(im);
        let sign = if im_s.starts_with('-') { "" } else { "+" };
        format!("({}{sign}{im_s}j)", part(re))
    }
}

/// `_parse_recursive_coerce_types_and_tag`.
fn coerce(p: &Pv, span: &dyn Fn(usize, usize) -> Span) -> Result<Node, String> {
    let sp = span(p.start, p.end);
    let list = |items: &[Pv]| -> Result<Yaml, String> {
        Ok(Yaml::Seq(
            items
                .iter()
                .map(|i| coerce(i, span))
                .collect::<Result<_, _>>()?,
        ))
    };
    let value = match &p.v {
        Py::None => Yaml::Null,
        Py::Bool(b) => Yaml::Bool(*b),
        Py::Int(i) => i.clone(),
        Py::Float(f) => Yaml::Float(*f),
        Py::Complex(re, im) => Yaml::Str(complex_repr(*re, *im)),
        Py::Str(s) => Yaml::Str(s.clone()),
        // to_text() on bytes: a str without the template-trust tag.
        Py::Bytes(b) => Yaml::Unsafe(String::from_utf8_lossy(b).into_owned()),
        Py::Ellipsis => Yaml::Str("...".into()),
        Py::List(items) | Py::Tuple(items) | Py::Set(items) => list(items)?,
        Py::Dict(pairs) => {
            let mut map = indexmap::IndexMap::new();
            for (k, v) in pairs {
                let key = match &k.v {
                    Py::None => Yaml::Null,
                    Py::Bool(b) => Yaml::Bool(*b),
                    Py::Int(i) => i.clone(),
                    Py::Float(f) => Yaml::Float(*f),
                    Py::Str(s) => Yaml::Str(s.clone()),
                    _ => {
                        return Err(
                            "dictionary keys in inventory values must be strings, numbers, \
                             booleans or None"
                                .into(),
                        )
                    }
                };
                map.insert(
                    Key {
                        value: key,
                        span: span(k.start, k.end),
                    },
                    coerce(v, span)?,
                );
            }
            Yaml::Map(map)
        }
    };
    Ok(Node::new(value, sp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::canonical_json;

    fn eval(s: &str) -> Option<String> {
        match literal_eval(s, &|_, _| Span::default()) {
            Literal::Value(n) => Some(canonical_json(&n)),
            Literal::NotLiteral => None,
            Literal::Error(e) => Some(format!("ERROR {e}")),
        }
    }

    #[test]
    fn python_literals() {
        for (text, want) in [
            ("5", "5"),
            (" 5", "5"),
            ("-5", "-5"),
            ("+5", "5"),
            ("0o755", "493"),
            ("0x_ff", "255"),
            ("1_000", "1000"),
            ("00", "0"),
            ("1e3", "1000.0"),
            ("1.", "1.0"),
            (".5", "0.5"),
            ("True", "true"),
            ("None", "null"),
            ("'x'", r#""x""#),
            ("'a' \"b\"", r#""ab""#),
            ("r'\\d'", r#""\\d""#),
            ("'\\x41\\101\\u00e9\\d'", r#""AA\u00e9\\d""#),
            ("[1, 'a', [2]]", r#"[1,"a",[2]]"#),
            ("(1,)", "[1]"),
            ("1, 2", "[1,2]"),
            ("()", "[]"),
            ("{1, 2, 1}", "[1,2]"),
            ("set()", "[]"),
            ("{'a': 1, 'a': 2, 1: 3, True: 4}", r#"{"a":2,"<int>1":4}"#),
            ("3j", r#""3j""#),
            ("1+2j", r#""(1+2j)""#),
            ("-1-2.5j", r#""(-1-2.5j)""#),
            ("-1j", r#""(-0-1j)""#),
            ("...", r#""...""#),
            ("b'abc'", r#"{"__unsafe":"abc"}"#),
            ("5 # comment", "5"),
            (
                "12345678901234567890123",
                r#"{"__bigint":"12345678901234567890123"}"#,
            ),
            ("[1,]", "[1]"),
            ("-(1)", "-1"),
        ] {
            assert_eq!(eval(text).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn not_literals_stay_strings() {
        for text in [
            "yes",
            "0755",
            "hello world",
            "1+2",
            "--5",
            "-True",
            "1e",
            "1__0",
            "1_",
            "f'x'",
            "x=1",
            "[1",
            "'open",
            "{**a}",
            "a.b",
            "1 2",
            "inf",
            "\\N{BULLET}",
            "'\\N{BULLET}'",
            "",
            "1if",
            "0x",
            "[1][0]",
            "True + 1j",
        ] {
            assert_eq!(eval(text), None, "{text}");
        }
    }

    #[test]
    fn unhashable_is_an_error() {
        assert!(eval("{[1]: 2}").is_some_and(|s| s.starts_with("ERROR")));
        assert!(eval("{[1]}").is_some_and(|s| s.starts_with("ERROR")));
    }
}

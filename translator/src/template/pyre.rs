//! Python's `re` on fancy-regex: the pattern syntax translated where the
//! two differ, `re.sub` replacement templates, `re.search` with groups,
//! `re.findall`, `re.escape`.
//!
//! Translated: `$` (Python's also matches before a final newline),
//! `\Z`, `(?P=name)`, `{,n}`. Compiled patterns are cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fancy_regex::Regex;

use super::error::{value_err, ErrorKind, Flow, TemplateError, R};
use super::eval::list;
use super::value::Value;

pub(crate) struct Re {
    /// The translated pattern, with its flags.
    source: String,
    pub(crate) regex: Regex,
}

type Cache = Mutex<HashMap<(String, bool, bool, u8), Arc<Re>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Compile a Python pattern (`anchor`: 0 search, 1 match at start, 2
/// full match).
fn compile_anchored(pattern: &str, ignorecase: bool, multiline: bool, anchor: u8) -> R<Arc<Re>> {
    let key = (pattern.to_string(), ignorecase, multiline, anchor);
    if let Some(re) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Arc::clone(re));
    }
    let body = translate(pattern, multiline)?;
    let mut src = String::new();
    if ignorecase {
        src.push_str("(?i)");
    }
    if multiline {
        src.push_str("(?m)");
    }
    match anchor {
        0 => src.push_str(&body),
        1 => {
            src.push_str("\\A(?:");
            src.push_str(&body);
            src.push(')');
        }
        _ => {
            src.push_str("\\A(?:");
            src.push_str(&body);
            src.push_str(")\\z");
        }
    }
    let regex = fancy_regex::RegexBuilder::new(&src)
        .backtrack_limit(1_000_000)
        .build()
        .map_err(|e| {
            Flow::from(TemplateError::value(format!(
                "invalid regular expression '{pattern}': {e}"
            )))
        })?;
    let re = Arc::new(Re { source: src, regex });
    let mut c = cache().lock().unwrap_or_else(|e| e.into_inner());
    if c.len() > 10_000 {
        c.clear();
    }
    c.insert(key, Arc::clone(&re));
    Ok(re)
}

pub(crate) fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> R<Arc<Re>> {
    compile_anchored(pattern, ignorecase, multiline, 0)
}

/// Python pattern syntax to fancy-regex's.
fn translate(p: &str, multiline: bool) -> R<String> {
    let mut out = String::with_capacity(p.len() + 8);
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&d) = chars.get(i + 1) else {
                    return value_err(format!("bad escape (end of pattern) in '{p}'"));
                };
                match d {
                    'Z' if !in_class => out.push_str("\\z"),
                    // Python escapes any punctuation; fancy-regex refuses
                    // some escapes of non-special characters.
                    d if d.is_ascii_punctuation() => {
                        if "\\.+*?()|[]{}^$#&-~".contains(d) {
                            out.push('\\');
                            out.push(d);
                        } else {
                            out.push_str(&regex_literal(d));
                        }
                    }
                    d => {
                        out.push('\\');
                        out.push(d);
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // `[]` and `[^]` start with a literal `]` in Python.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '[' if in_class => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class => {
                if multiline {
                    out.push('$');
                } else {
                    out.push_str("(?:(?=\\n\\z)|\\z)");
                }
            }
            '(' if !in_class && p[char_offset(&chars, i)..].starts_with("(?P=") => {
                let rest: String = chars[i + 4..].iter().collect();
                match rest.find(')') {
                    Some(end) => {
                        out.push_str(&format!("\\k<{}>", &rest[..end]));
                        i += 4 + rest[..end].chars().count() + 1;
                        continue;
                    }
                    None => return value_err(format!("missing ), unterminated name in '{p}'")),
                }
            }
            '{' if !in_class && chars.get(i + 1) == Some(&',') => {
                out.push_str("{0");
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

fn char_offset(chars: &[char], i: usize) -> usize {
    chars[..i].iter().map(|c| c.len_utf8()).sum()
}

fn regex_literal(c: char) -> String {
    format!("\\x{{{:x}}}", c as u32)
}

fn rx_err(e: fancy_regex::Error) -> Flow {
    Flow::from(TemplateError::new(
        ErrorKind::Limit,
        format!("regular expression failed: {e}"),
    ))
}

/// A group reference of `regex_search`'s extra arguments.
pub(crate) enum Group {
    Index(usize),
    Name(String),
}

/// `re.search`: the match, or the listed groups; `None` without a match.
pub(crate) fn search(re: &Re, s: &str, groups: &[Group]) -> R<Value> {
    let Some(caps) = re.regex.captures(s).map_err(rx_err)? else {
        return Ok(Value::None);
    };
    if groups.is_empty() {
        return Ok(Value::str(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups {
        let m = match g {
            Group::Index(i) => {
                if *i >= caps.len() {
                    return value_err("no such group");
                }
                caps.get(*i)
            }
            Group::Name(n) => {
                if !re.regex.capture_names().any(|x| x == Some(n.as_str())) {
                    return value_err("no such group");
                }
                caps.name(n)
            }
        };
        out.push(m.map_or(Value::None, |m| Value::str(m.as_str())));
    }
    Ok(list(out))
}

pub(crate) fn is_search(re: &Re, s: &str) -> R<bool> {
    re.regex.is_match(s).map_err(rx_err)
}

pub(crate) fn is_match_at_start(re: &Re, s: &str) -> R<bool> {
    let (ic, ml) = flags(&re.source);
    let body = strip_flags(&re.source);
    let anchored = compile_anchored_raw(body, ic, ml, 1)?;
    anchored.regex.is_match(s).map_err(rx_err)
}

pub(crate) fn is_fullmatch(re: &Re, s: &str) -> R<bool> {
    let (ic, ml) = flags(&re.source);
    let body = strip_flags(&re.source);
    let anchored = compile_anchored_raw(body, ic, ml, 2)?;
    anchored.regex.is_match(s).map_err(rx_err)
}

fn flags(src: &str) -> (bool, bool) {
    (
        src.starts_with("(?i)"),
        src.contains("(?m)") && src.find("(?m)") <= Some(4),
    )
}

fn strip_flags(src: &str) -> &str {
    let s = src.strip_prefix("(?i)").unwrap_or(src);
    s.strip_prefix("(?m)").unwrap_or(s)
}

/// Anchor an already translated body.
fn compile_anchored_raw(body: &str, ignorecase: bool, multiline: bool, anchor: u8) -> R<Arc<Re>> {
    let key = (format!("\0raw:{body}"), ignorecase, multiline, anchor);
    if let Some(re) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(Arc::clone(re));
    }
    let mut src = String::new();
    if ignorecase {
        src.push_str("(?i)");
    }
    if multiline {
        src.push_str("(?m)");
    }
    src.push_str("\\A(?:");
    src.push_str(body);
    src.push(')');
    if anchor == 2 {
        src.push_str("\\z");
    }
    let regex = fancy_regex::RegexBuilder::new(&src)
        .backtrack_limit(1_000_000)
        .build()
        .map_err(|e| {
            Flow::from(TemplateError::value(format!(
                "invalid regular expression: {e}"
            )))
        })?;
    let re = Arc::new(Re { source: src, regex });
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&re));
    Ok(re)
}

/// `re.findall`: whole matches, or the group, or lists of the groups.
pub(crate) fn findall(re: &Re, s: &str) -> R<Value> {
    let ngroups = re.regex.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.regex.captures_iter(s) {
        let caps = caps.map_err(rx_err)?;
        let g = |i: usize| Value::str(caps.get(i).map_or("", |m| m.as_str()));
        out.push(match ngroups {
            0 => g(0),
            1 => g(1),
            n => list((1..=n).map(g).collect()),
        });
        if out.len() > super::eval::MAX_ITEMS {
            return Err(TemplateError::new(ErrorKind::Limit, "too many matches").into());
        }
    }
    Ok(list(out))
}

enum Part {
    Lit(String),
    Index(usize),
    Name(String),
}

/// Parse a Python replacement template (`\1`, `\g<name>`, `\n`...).
fn parse_repl(repl: &str) -> R<Vec<Part>> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' {
            lit.push(c);
            i += 1;
            continue;
        }
        let Some(&d) = chars.get(i + 1) else {
            return value_err("bad escape (end of pattern)");
        };
        let flush = |lit: &mut String, parts: &mut Vec<Part>| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit)));
            }
        };
        match d {
            'g' => {
                let rest: String = chars[i + 2..].iter().collect();
                let Some(name) = rest
                    .strip_prefix('<')
                    .and_then(|r| r.split_once('>'))
                    .map(|(n, _)| n.to_string())
                else {
                    return value_err("missing <, or missing >, unterminated name");
                };
                flush(&mut lit, &mut parts);
                i += 2 + name.chars().count() + 2;
                parts.push(match name.parse::<usize>() {
                    Ok(n) => Part::Index(n),
                    Err(_) => Part::Name(name),
                });
                continue;
            }
            '0'..='9' => {
                // Up to two digits: a group (an octal escape if it starts
                // with 0 or has three octal digits).
                let mut j = i + 1;
                let mut digits = String::new();
                while j < chars.len() && chars[j].is_ascii_digit() && digits.len() < 3 {
                    digits.push(chars[j]);
                    j += 1;
                }
                let octal = d == '0'
                    || (digits.len() == 3 && digits.chars().all(|c| ('0'..='7').contains(&c)));
                if octal {
                    let o: String = digits.chars().take(3).collect();
                    lit.push(
                        char::from_u32(u32::from_str_radix(&o, 8).unwrap_or(0)).unwrap_or('\0'),
                    );
                    i = i + 1 + o.len();
                } else {
                    let g: String = digits.chars().take(2).collect();
                    flush(&mut lit, &mut parts);
                    parts.push(Part::Index(g.parse().unwrap_or(0)));
                    i = i + 1 + g.len();
                }
                continue;
            }
            'n' => lit.push('\n'),
            't' => lit.push('\t'),
            'r' => lit.push('\r'),
            'a' => lit.push('\x07'),
            'b' => lit.push('\x08'),
            'f' => lit.push('\x0c'),
            'v' => lit.push('\x0b'),
            '\\' => lit.push('\\'),
            d if d.is_ascii_alphabetic() => {
                return value_err(format!("bad escape \\{d}"));
            }
            d => {
                lit.push('\\');
                lit.push(d);
            }
        }
        i += 2;
    }
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    Ok(parts)
}

/// `re.subn`: the result and the number of replacements.
pub(crate) fn sub(re: &Re, repl: &str, s: &str, count: i64) -> R<(String, usize)> {
    let parts = parse_repl(repl)?;
    let ngroups = re.regex.captures_len();
    for p in &parts {
        match p {
            Part::Index(i) if *i >= ngroups => {
                return value_err(format!("invalid group reference {i}"))
            }
            Part::Name(n) if !re.regex.capture_names().any(|x| x == Some(n.as_str())) => {
                return value_err(format!("unknown group name '{n}'"))
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut n = 0usize;
    for caps in re.regex.captures_iter(s) {
        if count > 0 && n as i64 >= count {
            break;
        }
        let caps = caps.map_err(rx_err)?;
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&s[last..m.start()]);
        for p in &parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Index(i) => out.push_str(caps.get(*i).map_or("", |m| m.as_str())),
                Part::Name(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
        last = m.end();
        n += 1;
        if out.len() > 100_000_000 {
            return Err(TemplateError::new(ErrorKind::Limit, "result too large").into());
        }
    }
    out.push_str(&s[last..]);
    Ok((out, n))
}

/// Python 3.7+'s `re.escape`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

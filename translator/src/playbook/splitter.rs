//! `k=v` argument strings as Ansible splits them: a port of
//! `ansible/parsing/splitter.py` (`split_args`, `parse_kv`, `join_args`)
//! and `ansible/parsing/quoting.py` (`unquote`), ansible-core 2.19.
//!
//! The splitting is Ansible's own, not a shell's: whitespace separates
//! tokens except inside quotes and Jinja blocks (`{{ }}`, `{% %}`, `{# #}`),
//! which are put back together; newlines are kept on the token before them.

use indexmap::IndexMap;

/// Why a string could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError;

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed at splitting arguments, either an unbalanced jinja2 block or quotes")
    }
}

/// Options `command`-like modules take as `k=v` even in free form.
const RAW_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// `parse_kv`: `a=1 b="x y" free text` → `{a: "1", b: "x y", _raw_params:
/// "free text"}`. With `check_raw` (free-form modules), only
/// [`RAW_OPTIONS`] are taken as options; other `k=v` stay in the text.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<IndexMap<String, String>, SplitError> {
    let mut options = IndexMap::new();
    let mut raw_params: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        let x = decode_escapes(&orig);
        if !x.contains('=') {
            raw_params.push(orig);
            continue;
        }
        // The first `=` not preceded by a backslash, searching from index 1.
        let bytes = x.as_bytes();
        let pos = (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\');
        let Some(pos) = pos else {
            raw_params.push(x.replace("\\=", "="));
            continue;
        };
        let (k, v) = (&x[..pos], &x[pos + 1..]);
        if check_raw && !RAW_OPTIONS.contains(&k) {
            raw_params.push(orig);
        } else {
            options.insert(k.trim().to_string(), unquote(v.trim()).to_string());
        }
    }
    if !raw_params.is_empty() {
        options.insert("_raw_params".to_string(), join_args(&raw_params));
    }
    Ok(options)
}

/// `quoting.unquote`: strip one pair of matching outer quotes.
pub fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() > 1
        && b[0] == b[b.len() - 1]
        && (b[0] == b'"' || b[0] == b'\'')
        && b[b.len() - 2] != b'\\'
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// `join_args`: tokens joined by a space, none after a newline.
pub fn join_args(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// Python's `unicode-escape` decoding of `\n`, `\t`, `\xHH`, `\uHHHH`,
/// `\UHHHHHHHH`, `\\`, `\'`, `\"` and the other one-letter escapes, as
/// `_decode_escapes` applies it (`\N{...}` is left as written).
fn decode_escapes(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = chars[i + 1];
        let simple = match e {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            i += 2;
            continue;
        }
        let width = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if width > 0 && i + 2 + width <= chars.len() {
            let hex: String = chars[i + 2..i + 2 + width].iter().collect();
            if hex.chars().all(|h| h.is_ascii_hexdigit()) {
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                    i += 2 + width;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The quote still open after `token`, starting with `quote`.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

fn count_blocks(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let (o, c) = (token.matches(open).count(), token.matches(close).count());
    if o == c {
        depth
    } else {
        (depth as i64 + o as i64 - c as i64).max(0) as usize
    }
}

/// `split_args`: see the module documentation.
pub fn split_args(args: &str) -> Result<Vec<String>, SplitError> {
    if args.is_empty() {
        return Ok(Vec::new());
    }
    let mut params: Vec<String> = Vec::new();
    let items: Vec<&str> = args.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0usize, 0usize, 0usize);
    for (item_idx, item) in items.iter().enumerate() {
        let mut line_continuation = false;
        for (idx, token) in item.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                if let Some(last) = params.last_mut() {
                    last.push(' ');
                }
                continue;
            }
            if token == "\\" && !inside_quotes {
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote = quote_state(token, quote);
            inside_quotes = quote.is_some();
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || inside_quotes || was_inside_quotes {
                if params.is_empty() {
                    params.push(String::new());
                }
                let last = params.last_mut().expect("not empty");
                if !(idx == 0 && was_inside_quotes) && idx > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block_depth, "{%", "%}"),
                (&mut comment_depth, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = count_blocks(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_jinja && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if items.len() > 1 && item_idx != items.len() - 1 && !line_continuation {
            if params.is_empty() {
                params.push(String::new());
            }
            if let Some(last) = params.last_mut() {
                last.push('\n');
            }
        }
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 || inside_quotes {
        return Err(SplitError);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str, raw: bool) -> Vec<(String, String)> {
        parse_kv(s, raw).unwrap().into_iter().collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Expected values printed by ansible-core 2.19.14:
    /// `python -c 'from ansible.parsing.splitter import parse_kv; print(parse_kv(S, check_raw=R))'`
    #[test]
    fn like_parse_kv() {
        assert_eq!(
            kv("src=a dest='/b c' mode=0644", false),
            pairs(&[("src", "a"), ("dest", "/b c"), ("mode", "0644")])
        );
        assert_eq!(
            kv("echo {{ x }} > /tmp/f chdir=/srv creates=/x", true),
            pairs(&[
                ("chdir", "/srv"),
                ("creates", "/x"),
                ("_raw_params", "echo {{ x }} > /tmp/f")
            ])
        );
        assert_eq!(
            kv("msg=\"a b\" other", false),
            pairs(&[("msg", "a b"), ("_raw_params", "other")])
        );
        assert_eq!(kv("echo a=b", true), pairs(&[("_raw_params", "echo a=b")]));
        assert_eq!(
            kv("key=\"{{ a | default('x y') }}\"", false),
            pairs(&[("key", "{{ a | default('x y') }}")])
        );
        assert_eq!(kv("a\\=b", false), pairs(&[("_raw_params", "a=b")]));
        assert_eq!(kv("", false), pairs(&[]));
        assert_eq!(kv("msg=a\\nb", false), pairs(&[("msg", "a\nb")]));
    }

    #[test]
    fn like_split_args() {
        let s = |x: &str| split_args(x).unwrap();
        assert_eq!(s("a=b c=\"foo bar\""), ["a=b", "c=\"foo bar\""]);
        assert_eq!(s("a={{ x | y(1, 2) }} b"), ["a={{ x | y(1, 2) }}", "b"]);
        assert_eq!(s("one\ntwo three"), ["one\n", "two", "three"]);
        assert_eq!(s("a  b"), ["a ", "b"]);
        assert!(split_args("a={{ x").is_err());
        assert!(split_args("a='x").is_err());
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("\"a\""), "a");
        assert_eq!(unquote("'a\\'"), "'a\\'");
        assert_eq!(unquote("'"), "'");
    }
}

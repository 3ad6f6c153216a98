//! JSON as Ansible's `from_yaml` tries it first: Python's `json.loads`
//! with Ansible's legacy decoder.
//!
//! Python's rules, not RFC 8259's alone: `NaN`, `Infinity` and
//! `-Infinity` are accepted; numbers without fraction or exponent are ints
//! of any size, others floats (`1e400` is `inf`); a repeated key keeps its
//! first position and last value; `{"__ansible_unsafe": s}` and
//! `{"__ansible_vault": s}` become an untrusted string and a vaulted value.
//! Anything Python would refuse (trailing commas, control characters in
//! strings, lone surrogates, which Ansible's encoding check rejects) makes
//! the caller fall back to YAML, as `from_yaml` does; so this returns an
//! `Option`, not an error.

use indexmap::IndexMap;

use super::{Key, Node, Source, Yaml};

/// Python's default recursion limit stops `json.loads` around here.
const MAX_DEPTH: usize = 900;
/// Python refuses to convert longer integer literals (`sys.int_info`).
const MAX_INT_DIGITS: usize = 4300;

pub(super) fn parse(source: &Source) -> Option<Node> {
    let text = source.text.as_str();
    let mut p = JsonParser {
        s: text.as_bytes(),
        text,
        i: 0,
        source,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct JsonParser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    source: &'a Source,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn node(&self, start: usize, value: Yaml) -> Node {
        Node::new(value, self.source.span(start, self.i - start))
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        let start = self.i;
        let c = *self.s.get(self.i)?;
        match c {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let s = self.string()?;
                Some(self.node(start, Yaml::Str(s)))
            }
            b'n' if self.eat("null") => Some(self.node(start, Yaml::Null)),
            b't' if self.eat("true") => Some(self.node(start, Yaml::Bool(true))),
            b'f' if self.eat("false") => Some(self.node(start, Yaml::Bool(false))),
            b'N' if self.eat("NaN") => Some(self.node(start, Yaml::Float(f64::NAN))),
            b'I' if self.eat("Infinity") => Some(self.node(start, Yaml::Float(f64::INFINITY))),
            b'-' if self.eat("-Infinity") => Some(self.node(start, Yaml::Float(f64::NEG_INFINITY))),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`
    fn number(&mut self) -> Option<Node> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        self.eat("-");
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return None,
        }
        let mut float = false;
        // A fraction or exponent must be complete, else the number ends
        // before it (and the caller then finds extra data).
        if self.s.get(self.i) == Some(&b'.')
            && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            digits(self);
            float = true;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'-' | b'+')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                self.i = save;
            } else {
                float = true;
            }
        }
        let text = &self.text[start..self.i];
        let value = if float {
            Yaml::Float(text.parse().ok()?)
        } else if text.len() > MAX_INT_DIGITS {
            return None;
        } else {
            match text.parse::<i64>() {
                Ok(i) => Yaml::Int(i),
                Err(_) => Yaml::BigInt(text.trim_start_matches('+').to_string()),
            }
        };
        Some(self.node(start, value))
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.text.get(self.i..self.i + 4)?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(&self.text[start..self.i]);
            match *self.s.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let u = self.hex4()?;
                            let c = if (0xd800..0xdc00).contains(&u) {
                                // A high surrogate must be followed by a low
                                // one; a lone surrogate fails Ansible's
                                // encoding check.
                                if !self.eat("\\u") {
                                    return None;
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return None;
                                }
                                char::from_u32(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00))?
                            } else {
                                char::from_u32(u)?
                            };
                            out.push(c);
                        }
                        _ => return None,
                    }
                }
                // A raw control character (strict mode).
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Node> {
        let start = self.i;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Some(self.node(start, Yaml::Seq(items)));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat("]") {
                return Some(self.node(start, Yaml::Seq(items)));
            }
            if !self.eat(",") {
                return None;
            }
        }
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
        let start = self.i;
        self.i += 1;
        let mut map: IndexMap<Key, Node> = IndexMap::new();
        self.ws();
        if !self.eat("}") {
            loop {
                self.ws();
                if self.s.get(self.i) != Some(&b'"') {
                    return None;
                }
                let kstart = self.i;
                let k = self.string()?;
                let key = Key {
                    value: Yaml::Str(k),
                    span: self.source.span(kstart, self.i - kstart),
                };
                self.ws();
                if !self.eat(":") {
                    return None;
                }
                self.ws();
                let v = self.value(depth + 1)?;
                map.insert(key, v);
                self.ws();
                if self.eat("}") {
                    break;
                }
                if !self.eat(",") {
                    return None;
                }
            }
        }
        // Ansible's legacy profile: tagged objects.
        if let Some(v) = map.get("__ansible_unsafe") {
            return match &v.value {
                Yaml::Str(s) => Some(self.node(start, Yaml::Unsafe(s.clone()))),
                _ => None,
            };
        }
        if let Some(v) = map.get("__ansible_vault") {
            return match &v.value {
                Yaml::Str(s) => Some(self.node(start, Yaml::Vault(s.clone()))),
                _ => None,
            };
        }
        Some(self.node(start, Yaml::Map(map)))
    }
}

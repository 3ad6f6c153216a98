//! Python's `json.dumps` and `json.loads`, as `to_json`, `to_nice_json`
//! and `from_json` use them.

use super::error::{type_err, ErrorKind, TemplateError, R};
use super::filters::py_sort;
use super::value::{py_str, Dict, Key, Value};
use crate::yaml::py_float_repr;

pub(crate) struct JsonOpts {
    pub indent: Option<i64>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
    /// `(item, key)` separators; default `(', ', ': ')`, or `(',', ': ')`
    /// with an indent.
    pub separators: Option<(String, String)>,
}

pub(crate) fn json_dumps(v: &Value, o: &JsonOpts) -> R<String> {
    let (item_sep, key_sep) = match &o.separators {
        Some((a, b)) => (a.clone(), b.clone()),
        None if o.indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let mut out = String::new();
    dump(v, o, &item_sep, &key_sep, 0, &mut out)?;
    Ok(out)
}

fn newline(o: &JsonOpts, level: usize, out: &mut String) {
    if let Some(n) = o.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n.max(0) as usize * level));
    }
}

fn dump(v: &Value, o: &JsonOpts, isep: &str, ksep: &str, level: usize, out: &mut String) -> R<()> {
    if level > 500 {
        return Err(TemplateError::new(ErrorKind::Limit, "value nested too deeply").into());
    }
    match v.known()? {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float(*f)),
        Value::Str(s) => write_str(s, o.ensure_ascii, out),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(isep);
                }
                newline(o, level + 1, out);
                dump(&item, o, isep, ksep, level + 1, out)?;
            }
            newline(o, level, out);
            out.push(']');
        }
        Value::Dict(d) => {
            if d.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            let mut pairs: Vec<(Value, Value)> = d.iter().map(|(k, v)| (k.to_value(), v)).collect();
            if o.sort_keys {
                pairs = py_sort(pairs)?;
            }
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(isep);
                }
                newline(o, level + 1, out);
                let key = match k {
                    Value::Str(s) => s.to_string(),
                    Value::None => "null".into(),
                    Value::Bool(b) => if *b { "true" } else { "false" }.into(),
                    Value::Float(f) => float(*f),
                    other => py_str(other)?,
                };
                write_str(&key, o.ensure_ascii, out);
                out.push_str(ksep);
                dump(item, o, isep, ksep, level + 1, out)?;
            }
            newline(o, level, out);
            out.push('}');
        }
        Value::Omit => return type_err("Object of type Omit is not JSON serializable"),
        Value::Namespace(_) => {
            return type_err("Object of type Namespace is not JSON serializable")
        }
        Value::Unknown(_) | Value::Marker(_) => unreachable!("excluded by known()"),
    }
    Ok(())
}

fn float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        py_float_repr(f)
    }
}

fn write_str(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && !c.is_ascii()) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `json.loads`: strict JSON plus `NaN`, `Infinity`, `-Infinity`;
/// repeated keys keep the last value; Python's error messages.
pub(crate) fn json_loads(s: &str) -> R<Value> {
    let mut p = Parser {
        s: s.as_bytes(),
        text: s,
        i: 0,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i < p.s.len() {
        return p.err("Extra data");
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> R<T> {
        let before = &self.text[..self.i.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
        let chars = before.chars().count();
        Err(TemplateError::value(format!("{what}: line {line} column {col} (char {chars})")).into())
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
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

    fn value(&mut self) -> R<Value> {
        if self.i >= self.s.len() {
            return self.err("Expecting value");
        }
        let c = self.s[self.i];
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Ok(Value::from(self.string()?)),
            b'n' if self.eat("null") => Ok(Value::None),
            b't' if self.eat("true") => Ok(Value::Bool(true)),
            b'f' if self.eat("false") => Ok(Value::Bool(false)),
            b'N' if self.eat("NaN") => Ok(Value::Float(f64::NAN)),
            b'I' if self.eat("Infinity") => Ok(Value::Float(f64::INFINITY)),
            b'-' if self.s[self.i..].starts_with(b"-Infinity") => {
                self.i += 9;
                Ok(Value::Float(f64::NEG_INFINITY))
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.err("Expecting value"),
        }
    }

    fn number(&mut self) -> R<Value> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i == int_start {
            self.i = start;
            return self.err("Expecting value");
        }
        // A leading zero ends the number (`01` is `0` then extra data).
        if self.s[int_start] == b'0' && self.i > int_start + 1 {
            self.i = int_start + 1;
        }
        let mut float = false;
        if self.i + 1 < self.s.len()
            && self.s[self.i] == b'.'
            && self.s[self.i + 1].is_ascii_digit()
        {
            float = true;
            self.i += 1;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
        }
        if self.i < self.s.len() && matches!(self.s[self.i], b'e' | b'E') {
            let save = self.i;
            self.i += 1;
            if self.i < self.s.len() && matches!(self.s[self.i], b'+' | b'-') {
                self.i += 1;
            }
            let exp_start = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            if self.i == exp_start {
                self.i = save;
            } else {
                float = true;
            }
        }
        let text = &self.text[start..self.i];
        if float {
            Ok(Value::Float(text.parse().unwrap_or(f64::NAN)))
        } else {
            match text.parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                // Beyond 64 bits: a float (Python keeps the big integer).
                Err(_) => Ok(Value::Float(text.parse().unwrap_or(f64::NAN))),
            }
        }
    }

    fn string(&mut self) -> R<String> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.s.get(self.i) else {
                self.i = start;
                return self.err("Unterminated string starting at");
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let Some(&e) = self.s.get(self.i + 1) else {
                        self.i = start;
                        return self.err("Unterminated string starting at");
                    };
                    self.i += 2;
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
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    hi
                                }
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.i -= 2;
                            return self.err("Invalid \\escape");
                        }
                    }
                }
                c if c < 0x20 => return self.err("Invalid control character at"),
                _ => {
                    // Copy one UTF-8 character.
                    let rest = &self.text[self.i..];
                    let ch = rest.chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
    }

    fn hex4(&mut self) -> R<u32> {
        let h = self.text.get(self.i..self.i + 4).unwrap_or("");
        match u32::from_str_radix(h, 16) {
            Ok(v) if h.len() == 4 && h.chars().all(|c| c.is_ascii_hexdigit()) => {
                self.i += 4;
                Ok(v)
            }
            _ => self.err("Invalid \\uXXXX escape"),
        }
    }

    fn nest(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > 500 {
            return Err(TemplateError::new(ErrorKind::Limit, "JSON nested too deeply").into());
        }
        Ok(())
    }

    fn array(&mut self) -> R<Value> {
        self.nest()?;
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(Value::from(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Value::from(items));
                }
                _ => return self.err("Expecting ',' delimiter"),
            }
        }
    }

    fn object(&mut self) -> R<Value> {
        self.nest()?;
        self.i += 1;
        let mut m = indexmap::IndexMap::new();
        self.ws();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(Value::Dict(Dict::new()));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return self.err("Expecting property name enclosed in double quotes");
            }
            let k = self.string()?;
            self.ws();
            if self.s.get(self.i) != Some(&b':') {
                return self.err("Expecting ':' delimiter");
            }
            self.i += 1;
            self.ws();
            let v = self.value()?;
            m.insert(Key::str(&k), v);
            self.ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Value::Dict(m.into_iter().collect()));
                }
                _ => return self.err("Expecting ',' delimiter"),
            }
        }
    }
}

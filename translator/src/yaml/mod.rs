//! YAML as Ansible loads it: PyYAML's YAML 1.1 rules on granit-parser's
//! events.
//!
//! Ansible reads every YAML file with `AnsibleLoader` (PyYAML's
//! `SafeConstructor` on libyaml's parser, plus `!unsafe` and `!vault`), and
//! most files through `from_yaml`, which first tries JSON. Both are here:
//! [`parse`] is the YAML loader, [`from_yaml`] the JSON-then-YAML entry
//! point. The rules that matter and differ from YAML 1.2 parsers:
//!
//! - plain scalars are typed by PyYAML's resolvers ([`scalar`]): `yes`/`on`
//!   are booleans, `0755` is octal, `190:20:30` is base 60, `1e3` is a
//!   string but `1.0e+3` a float, `2001-12-14` a date;
//! - quoted scalars are always strings, except under `!unsafe` and
//!   `!vault`, which Ansible re-resolves as if plain (`!unsafe '12'` is 12);
//! - `!unsafe` marks every string under it as never to be templated
//!   ([`Yaml::Unsafe`]); `!vault` keeps the ciphertext ([`Yaml::Vault`]);
//! - merge keys `<<` (a mapping or a list of mappings; the mapping's own
//!   keys win; between merged mappings, PyYAML 6.0.4's rule, which depends
//!   on how Python shares strings: see `compose::Ident`); mapping keys
//!   compare as Python's do (`1`, `1.0` and `true` are one key); a
//!   repeated key keeps its first position and its last value, with a
//!   warning;
//! - one document per file; a block scalar ending the file without a line
//!   feed loses its final `\n`, as with libyaml.
//!
//! Every node carries its [`Span`]. Errors are miette diagnostics pointing
//! into the file. Aliases are expanded (copied), with a limit on the total
//! number of nodes so that an alias bomb is an error, not an out-of-memory.

mod compose;
mod error;
mod json;
pub mod scalar;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use indexmap::IndexMap;

pub use error::{YamlError, YamlErrorKind, YamlWarning};
pub use scalar::{py_float_repr, Time, Timestamp};

/// Where a node is written: a byte range of the source, and the 1-based
/// line and column (in characters) of its start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
    pub line: usize,
    pub col: usize,
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.offset, s.len).into()
    }
}

/// A value and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Yaml,
    pub span: Span,
}

/// A loaded YAML (or JSON) value, with the types Ansible sees.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond `i64`, as Python's decimal digits (with `-`).
    BigInt(String),
    Float(f64),
    Str(String),
    /// A string under `!unsafe`: Ansible never templates it.
    Unsafe(String),
    /// `!vault`: the ciphertext, kept as written (decryption is Ansible's).
    Vault(String),
    /// A YAML 1.1 timestamp, which Python loads as a date or datetime.
    Timestamp(Timestamp),
    /// `!!binary`: Python `bytes`.
    Binary(Vec<u8>),
    /// A sequence; also `!!omap` and `!!pairs`, as a list of `[key, value]`
    /// pairs as Python makes them.
    Seq(Vec<Node>),
    /// A mapping in insertion order (Python dicts keep it); also `!!set`,
    /// as a mapping whose values are null.
    Map(IndexMap<Key, Node>),
}

/// A mapping key: a scalar (PyYAML refuses lists and dicts as keys, they
/// are unhashable), with the span where it is written.
///
/// Equality and hashing follow Python's: `1`, `1.0` and `true` are the
/// same key, `"1"` is another. A string key under `!unsafe` is a plain
/// string key (keys are never templated). The span takes no part in
/// equality.
///
/// A `Key` can be looked up by `&str`: `map.get("hosts")`.
#[derive(Debug, Clone)]
pub struct Key {
    pub value: Yaml,
    pub span: Span,
}

impl Key {
    pub fn str(s: &str) -> Key {
        Key {
            value: Yaml::Str(s.to_string()),
            span: Span::default(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The key as Python's `str()` would print it: the text of a string,
    /// else the scalar's Python spelling (`1`, `True`, `None`).
    pub fn to_py_str(&self) -> String {
        self.value.to_py_str()
    }

    /// A numeric key as an integer, if it is one (bools are 0 and 1, and
    /// integral floats their integer, as in Python).
    fn as_number(&self) -> Option<NumKey<'_>> {
        match &self.value {
            Yaml::Bool(b) => Some(NumKey::Int(i64::from(*b))),
            Yaml::Int(i) => Some(NumKey::Int(*i)),
            Yaml::BigInt(s) => Some(NumKey::Big(s)),
            Yaml::Float(f) => {
                if f.fract() == 0.0 && f.abs() < 9.2e18 {
                    Some(NumKey::Int(*f as i64))
                } else {
                    Some(NumKey::Float(f.to_bits()))
                }
            }
            _ => None,
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
enum NumKey<'a> {
    Int(i64),
    Big(&'a str),
    Float(u64),
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        if let (Some(a), Some(b)) = (self.as_number(), other.as_number()) {
            return a == b;
        }
        match (&self.value, &other.value) {
            (Yaml::Null, Yaml::Null) => true,
            (Yaml::Str(a), Yaml::Str(b)) => a == b,
            (Yaml::Vault(a), Yaml::Vault(b)) => a == b,
            (Yaml::Timestamp(a), Yaml::Timestamp(b)) => a == b,
            (Yaml::Binary(a), Yaml::Binary(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // A string key hashes exactly as `str` does, so that `&str` can be
        // used for lookups (see the `Equivalent` impl).
        if let Yaml::Str(s) = &self.value {
            return s.as_str().hash(state);
        }
        if let Some(n) = self.as_number() {
            return n.hash(state);
        }
        match &self.value {
            Yaml::Vault(s) => s.hash(state),
            Yaml::Timestamp(t) => t.hash(state),
            Yaml::Binary(b) => b.hash(state),
            _ => 0u8.hash(state),
        }
    }
}

impl indexmap::Equivalent<Key> for str {
    fn equivalent(&self, key: &Key) -> bool {
        key.as_str() == Some(self)
    }
}

impl Yaml {
    /// Python's type name for the value, for messages ("expected a dict,
    /// got list").
    pub fn type_name(&self) -> &'static str {
        match self {
            Yaml::Null => "NoneType",
            Yaml::Bool(_) => "bool",
            Yaml::Int(_) | Yaml::BigInt(_) => "int",
            Yaml::Float(_) => "float",
            Yaml::Str(_) | Yaml::Unsafe(_) => "str",
            Yaml::Vault(_) => "EncryptedString",
            Yaml::Timestamp(t) if t.time.is_some() => "datetime",
            Yaml::Timestamp(_) => "date",
            Yaml::Binary(_) => "bytes",
            Yaml::Seq(_) => "list",
            Yaml::Map(_) => "dict",
        }
    }

    /// The text of a string, trusted or not.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Str(s) | Yaml::Unsafe(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&IndexMap<Key, Node>> {
        match self {
            Yaml::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Yaml::Null)
    }

    /// Python truthiness (`if data:`): empty strings, collections, zero and
    /// None are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Yaml::Null => false,
            Yaml::Bool(b) => *b,
            Yaml::Int(i) => *i != 0,
            Yaml::BigInt(_) => true,
            Yaml::Float(f) => *f != 0.0,
            Yaml::Str(s) | Yaml::Unsafe(s) | Yaml::Vault(s) => !s.is_empty(),
            Yaml::Timestamp(_) => true,
            Yaml::Binary(b) => !b.is_empty(),
            Yaml::Seq(v) => !v.is_empty(),
            Yaml::Map(m) => !m.is_empty(),
        }
    }

    /// Python's `str()` of a scalar (`True`, `None`, `1.0`); collections
    /// get a rough `repr`.
    pub fn to_py_str(&self) -> String {
        match self {
            Yaml::Null => "None".into(),
            Yaml::Bool(true) => "True".into(),
            Yaml::Bool(false) => "False".into(),
            Yaml::Int(i) => i.to_string(),
            Yaml::BigInt(s) => s.clone(),
            Yaml::Float(f) => py_float_repr(*f),
            Yaml::Str(s) | Yaml::Unsafe(s) | Yaml::Vault(s) => s.clone(),
            Yaml::Timestamp(t) => t.isoformat().replacen('T', " ", 1),
            Yaml::Binary(b) => format!("b'{}'", String::from_utf8_lossy(b)),
            Yaml::Seq(v) => format!(
                "[{}]",
                v.iter()
                    .map(|n| n.value.to_py_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Yaml::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}: {}", k.to_py_str(), v.value.to_py_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl Node {
    pub fn new(value: Yaml, span: Span) -> Node {
        Node { value, span }
    }

    /// The value under a string key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.value.as_map().and_then(|m| m.get(key))
    }

    /// The number of nodes in this tree (for the alias expansion limit).
    pub fn count(&self) -> usize {
        1 + match &self.value {
            Yaml::Seq(v) => v.iter().map(Node::count).sum(),
            Yaml::Map(m) => m.values().map(Node::count).sum::<usize>() + m.len(),
            _ => 0,
        }
    }
}

/// A source file: its name for diagnostics and its text, shared by every
/// diagnostic pointing into it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<String>,
    /// Byte offset of the start of every line, for line numbers.
    line_starts: Arc<Vec<usize>>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text: String = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            name: name.into(),
            text: Arc::new(text),
            line_starts: Arc::new(line_starts),
        }
    }

    pub fn named(&self) -> miette::NamedSource<Arc<String>> {
        miette::NamedSource::new(&self.name, Arc::clone(&self.text))
    }

    /// The span of `len` bytes at `offset`, with its line and column.
    pub fn span(&self, offset: usize, len: usize) -> Span {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let line_start = self.line_starts[line - 1];
        Span {
            offset,
            len: len.min(self.text.len() - offset),
            line,
            col: self.text[line_start..offset].chars().count() + 1,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A loaded file: its root value and the warnings found on the way
/// (repeated keys).
#[derive(Debug, Clone)]
pub struct Document {
    pub root: Node,
    pub warnings: Vec<YamlWarning>,
    pub source: Source,
}

/// The most nodes one document may expand to through aliases. Real Ansible
/// files have a few thousand; a "billion laughs" document reaches this at
/// once and fails instead of exhausting memory.
pub const MAX_NODES: usize = 1_000_000;

/// Load one YAML document as `AnsibleLoader` does. An empty stream is
/// `null`. `name` is used in diagnostics.
pub fn parse(name: &str, text: &str) -> Result<Document, Box<YamlError>> {
    compose::compose(Source::new(name, text))
}

/// Load a file's text as Ansible's `from_yaml` does (every playbook, vars
/// file and YAML inventory goes through it): as JSON if it is valid JSON
/// (Python's `json` rules, with Ansible's `__ansible_unsafe` and
/// `__ansible_vault` objects), else as YAML.
pub fn from_yaml(name: &str, text: &str) -> Result<Document, Box<YamlError>> {
    let source = Source::new(name, text);
    if let Some(root) = json::parse(&source) {
        return Ok(Document {
            root,
            warnings: Vec::new(),
            source,
        });
    }
    compose::compose(source)
}

/// The JSON text the conformance test compares with the Python oracle
/// (`tests/yaml_oracle.py`), a lossless rendering of what Ansible loaded:
///
/// - null, booleans and strings as themselves; integers as JSON numbers
///   when they fit in an `i64`, else `{"__bigint": "digits"}`;
/// - finite floats as numbers written as Python's `repr` writes them
///   (`1.0`, `1e+16`), others as `{"__float": "inf" | "-inf" | "nan"}`;
/// - `!unsafe` strings as `{"__unsafe": text}`, `!vault` as
///   `{"__vault": ciphertext}`, timestamps as `{"__timestamp": isoformat}`,
///   `!!binary` as `{"__binary": base64}`;
/// - mappings as objects in insertion order; a string key as itself, any
///   other key as `"<type>repr"`: `"<int>1"`, `"<bool>True"`, `"<null>"`,
///   `"<float>1.5"`, `"<timestamp>2001-12-14"`.
///
/// Written as Python's `json.dumps(v, ensure_ascii=True,
/// separators=(",", ":"))` writes it, so the two texts compare byte for
/// byte, key order included.
pub fn canonical_json(node: &Node) -> String {
    let mut out = String::new();
    write_canonical(&node.value, &mut out);
    out
}

fn write_canonical(v: &Yaml, out: &mut String) {
    let tagged = |out: &mut String, tag: &str, text: &str| {
        out.push_str("{\"");
        out.push_str(tag);
        out.push_str("\":");
        write_json_str(text, out);
        out.push('}');
    };
    match v {
        Yaml::Null => out.push_str("null"),
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::Int(i) => out.push_str(&i.to_string()),
        Yaml::BigInt(s) => tagged(out, "__bigint", s),
        Yaml::Float(f) if f.is_finite() => out.push_str(&py_float_repr(*f)),
        Yaml::Float(f) => tagged(out, "__float", &py_float_repr(*f)),
        Yaml::Str(s) => write_json_str(s, out),
        Yaml::Unsafe(s) => tagged(out, "__unsafe", s),
        Yaml::Vault(s) => tagged(out, "__vault", s),
        Yaml::Timestamp(t) => tagged(out, "__timestamp", &t.isoformat()),
        Yaml::Binary(b) => tagged(out, "__binary", &scalar::base64_encode(b)),
        Yaml::Seq(items) => {
            out.push('[');
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(&n.value, out);
            }
            out.push(']');
        }
        Yaml::Map(m) => {
            out.push('{');
            for (i, (k, n)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(&canonical_key(k), out);
                out.push(':');
                write_canonical(&n.value, out);
            }
            out.push('}');
        }
    }
}

fn canonical_key(k: &Key) -> String {
    match &k.value {
        Yaml::Str(s) => s.clone(),
        Yaml::Null => "<null>".into(),
        Yaml::Bool(b) => format!("<bool>{}", if *b { "True" } else { "False" }),
        Yaml::Int(i) => format!("<int>{i}"),
        Yaml::BigInt(s) => format!("<int>{s}"),
        Yaml::Float(f) => format!("<float>{}", py_float_repr(*f)),
        Yaml::Timestamp(t) => format!("<timestamp>{}", t.isoformat()),
        Yaml::Vault(s) => format!("<vault>{s}"),
        Yaml::Binary(b) => format!("<binary>{}", scalar::base64_encode(b)),
        other => format!("<{}>", other.type_name()),
    }
}

/// A JSON string as Python's `json.dumps(..., ensure_ascii=True)` writes
/// it: non-ASCII as `\uXXXX` (UTF-16, surrogate pairs beyond the BMP).
pub fn write_json_str(s: &str, out: &mut String) {
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
            c if c.is_ascii() && (c as u32) >= 0x20 => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;

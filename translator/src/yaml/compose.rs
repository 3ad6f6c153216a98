//! granit-parser events → [`Node`] trees, with PyYAML's constructor rules:
//! tags, `!unsafe`/`!vault`, anchors and aliases, merge keys, Python key
//! equality and repeated keys.
//!
//! One pass: each event is turned into a value as it arrives. PyYAML
//! composes the whole node graph first and constructs afterwards, so when
//! a file has two errors the one reported may differ; whether a file loads
//! does not.

use std::collections::HashMap;
use std::iter::Peekable;

use granit_parser::{
    Event, Options, Parser, ScalarStyle, ScanError, StrInput, StructureStyle, Tag,
};
use indexmap::IndexMap;

use super::error::{YamlError, YamlErrorKind, YamlWarning};
use super::scalar::{self, Implicit};
use super::{Document, Key, Node, Source, Span, Timestamp, Yaml, MAX_NODES};

const CORE: &str = "tag:yaml.org,2002:";

type Res<T> = Result<T, Box<YamlError>>;

/// What a node turned out to be. `<<` and `=` are only meaningful as
/// mapping keys; anywhere else PyYAML has no constructor for them.
enum Built {
    Node(Node),
    Merge(Span),
    ValueKey(Span),
}

enum Anchored {
    /// Being built: an alias to it now would be a recursive structure.
    Open,
    Done(Node, usize),
}

struct Composer<'a> {
    events: Peekable<Parser<'a, StrInput<'a>>>,
    source: &'a Source,
    anchors: HashMap<usize, Anchored>,
    /// Nodes built so far, aliases expanded.
    count: usize,
    warnings: Vec<YamlWarning>,
    /// Anchor names of the current document and where each is defined:
    /// PyYAML refuses a name defined twice.
    anchor_names: HashMap<String, Span>,
    /// Keys whose scalar text CPython shares between all its occurrences
    /// (see [`Ident`]), by the key's offset.
    shared_text: HashMap<usize, String>,
    /// The flattened entries of mappings that had merges or repeated keys,
    /// by the mapping's offset: what a later merge of that mapping sees.
    flat: HashMap<usize, Vec<Entry>>,
}

/// Which key a merge considers already merged. PyYAML 6.0.4's
/// `flatten_mapping` merges the mappings of a `<<` list in order and skips
/// a pair whose key node's text is the same Python object as one already
/// merged (`id(key_node.value)`): the same key node (through an alias), or
/// any occurrence of a string CPython caches, the empty string and the
/// one-character strings below U+0100. So `<<: [{a: 1}, {a: 2}]` gives
/// `a: 1` but `<<: [{aa: 1}, {aa: 2}]` gives `aa: 2`. Ansible ships with
/// that PyYAML; the conformance corpus has the cases.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Ident {
    Shared(String),
    Node(usize),
}

/// A mapping entry before the mapping is built, with its merge identity.
#[derive(Clone)]
struct Entry {
    key: Key,
    value: Node,
    ident: Ident,
}

pub(super) fn compose(source: Source) -> Res<Document> {
    let text = std::sync::Arc::clone(&source.text);
    let mut options = Options::default();
    options.set_emit_comments(false);
    // libyaml (Ansible's parser) drops the line feed it never read.
    options.block_scalar_eof_without_line_feed = true;
    // For anchor names: PyYAML refuses a name defined twice.
    options.emit_anchor_events = true;
    let mut c = Composer {
        events: Parser::new_from_str_with_options(&text, options).peekable(),
        source: &source,
        anchors: HashMap::new(),
        count: 0,
        warnings: Vec::new(),
        anchor_names: HashMap::new(),
        shared_text: HashMap::new(),
        flat: HashMap::new(),
    };
    let root = c.stream()?;
    let warnings = c.warnings;
    Ok(Document {
        root,
        warnings,
        source,
    })
}

fn marker_span(source: &Source, m: &granit_parser::Marker, len: usize) -> Span {
    match m.byte_offset() {
        Some(offset) => source.span(offset, len),
        None => Span {
            offset: 0,
            len: 0,
            line: m.line(),
            col: m.col() + 1,
        },
    }
}

/// The span of an event; a node's starts at its tag if it has one, so that
/// errors about tags underline them.
fn event_span(source: &Source, s: &granit_parser::Span) -> Span {
    let tag_start = s.tag_start().and_then(|t| t.byte_offset());
    let start = s.start.byte_offset().unwrap_or(0);
    if let Some(t) = tag_start.filter(|&t| t < start) {
        let end = s.end.byte_offset().unwrap_or(start).max(start);
        return source.span(t, end - t);
    }
    let end = s.end.byte_offset().unwrap_or(start).max(start);
    marker_span(source, &s.start, end - start)
}

fn tag_name(t: &Tag) -> String {
    format!("{}{}", t.handle(), t.suffix())
}

/// What to call a node kind in "expected a mapping node, but found ...".
fn found(v: &Yaml) -> &'static str {
    match v {
        Yaml::Seq(_) => "sequence",
        Yaml::Map(_) => "mapping",
        _ => "scalar",
    }
}

impl<'a> Composer<'a> {
    fn syntax_error(&self, e: &ScanError) -> Box<YamlError> {
        let span = marker_span(self.source, e.marker(), 0);
        YamlError::new(
            self.source,
            YamlErrorKind::Syntax,
            format!("YAML syntax error: {}", e.info()),
            span,
            "here",
        )
        .with_help(
            "Ansible's YAML parser rejects this too; check the indentation, and quote values \
             that contain `: `, ` #`, or start with `{`, `[`, `*`, `&`, `!`, `%`, `@` or a backquote",
        )
    }

    fn construct_error(&self, message: impl Into<String>, span: Span) -> Box<YamlError> {
        YamlError::new(
            self.source,
            YamlErrorKind::Construct,
            message,
            span,
            "this node",
        )
    }

    fn next(&mut self) -> Res<Option<(Event<'a>, granit_parser::Span)>> {
        match self.events.next() {
            None => Ok(None),
            Some(Ok(ev)) => Ok(Some(ev)),
            Some(Err(e)) => Err(self.syntax_error(&e)),
        }
    }

    /// The next event, which the grammar guarantees exists.
    fn expect(&mut self) -> Res<(Event<'a>, granit_parser::Span)> {
        match self.next()? {
            Some(ev) => Ok(ev),
            None => Err(YamlError::new(
                self.source,
                YamlErrorKind::Syntax,
                "unexpected end of the YAML stream",
                self.source.span(self.source.text.len(), 0),
                "here",
            )),
        }
    }

    fn peek_is(&mut self, f: impl Fn(&Event<'a>) -> bool) -> Res<bool> {
        match self.events.peek() {
            Some(Ok((ev, _))) => Ok(f(ev)),
            Some(Err(_)) => match self.events.next() {
                Some(Err(e)) => Err(self.syntax_error(&e)),
                _ => Ok(false),
            },
            None => Ok(false),
        }
    }

    fn stream(&mut self) -> Res<Node> {
        let mut root = None;
        loop {
            let (ev, span) = self.expect()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(..) => {
                    if root.is_some() {
                        return Err(YamlError::new(
                            self.source,
                            YamlErrorKind::MultipleDocuments,
                            "expected a single document in the stream, but found another document",
                            event_span(self.source, &span),
                            "a second document starts here",
                        )
                        .with_help("Ansible reads one document per file; remove the `---` separating documents or split the file"));
                    }
                    let node = self.node(false, false)?;
                    root = Some(match node {
                        Built::Node(n) => n,
                        Built::Merge(s) | Built::ValueKey(s) => {
                            return Err(self.no_constructor(&s, "<<"))
                        }
                    });
                    // The anchors of one document mean nothing in the next.
                    self.anchors.clear();
                    self.anchor_names.clear();
                }
                _ => {
                    return Err(self.construct_error(
                        "unexpected YAML event outside a document",
                        event_span(self.source, &span),
                    ))
                }
            }
        }
        Ok(root.unwrap_or_else(|| Node::new(Yaml::Null, self.source.span(0, 0))))
    }

    fn no_constructor(&self, span: &Span, what: &str) -> Box<YamlError> {
        let tag = if what == "=" { "value" } else { "merge" };
        self.construct_error(
            format!("could not determine a constructor for the tag 'tag:yaml.org,2002:{tag}'"),
            *span,
        )
        .with_help(format!(
            "a plain `{what}` is special in YAML 1.1; quote it to mean the string"
        ))
    }

    fn counted(&mut self, n: usize, span: Span) -> Res<()> {
        self.count += n;
        if self.count > MAX_NODES {
            return Err(YamlError::new(
                self.source,
                YamlErrorKind::Alias,
                format!("the document expands to more than {MAX_NODES} nodes through aliases"),
                span,
                "this alias",
            )
            .with_help(
                "an alias copies its anchored node; nested aliases multiply (\"billion laughs\")",
            ));
        }
        Ok(())
    }

    /// One node. `unsafe_` is true under an `!unsafe` tag: every string
    /// built there is untrusted.
    fn node(&mut self, unsafe_: bool, is_key: bool) -> Res<Built> {
        let (ev, gspan) = self.expect()?;
        let span = event_span(self.source, &gspan);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.counted(1, span)?;
                self.anchor_name(anchor)?;
                if style == ScalarStyle::DoubleQuoted {
                    self.check_escapes(span)?;
                }
                if text.chars().count() <= 1 && text.chars().all(|c| (c as u32) < 0x100) {
                    self.shared_text.insert(span.offset, text.to_string());
                }
                let built = self.scalar(&text, style, tag.as_deref(), span, unsafe_, is_key)?;
                if anchor != 0 {
                    if let Built::Node(n) = &built {
                        self.anchors.insert(anchor, Anchored::Done(n.clone(), 1));
                    }
                }
                Ok(built)
            }
            Event::SequenceStart(style, anchor, tag) => {
                self.counted(1, span)?;
                self.anchor_name(anchor)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, Anchored::Open);
                }
                let n = self.sequence(style, tag.as_deref(), span, unsafe_)?;
                if anchor != 0 {
                    let count = n.count();
                    self.anchors
                        .insert(anchor, Anchored::Done(n.clone(), count));
                }
                Ok(Built::Node(n))
            }
            Event::MappingStart(style, anchor, tag) => {
                self.counted(1, span)?;
                self.anchor_name(anchor)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, Anchored::Open);
                }
                let n = self.mapping(style, tag.as_deref(), span, unsafe_)?;
                if anchor != 0 {
                    let count = n.count();
                    self.anchors
                        .insert(anchor, Anchored::Done(n.clone(), count));
                }
                Ok(Built::Node(n))
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some(Anchored::Done(n, count)) => {
                    let (n, count) = (n.clone(), *count);
                    self.counted(count, span)?;
                    Ok(Built::Node(n))
                }
                Some(Anchored::Open) => Err(YamlError::new(
                    self.source,
                    YamlErrorKind::Alias,
                    "an alias to a node that contains it (a recursive structure)",
                    span,
                    "this alias is inside its own anchor",
                )
                .with_help("Ansible cannot use recursive data either; copy the values instead")),
                None => Err(YamlError::new(
                    self.source,
                    YamlErrorKind::Alias,
                    "an alias to an unknown anchor",
                    span,
                    "no `&anchor` of this name before here",
                )),
            },
            _ => Err(self.construct_error("unexpected YAML event", span)),
        }
    }

    /// The `Anchor` event that follows an anchored node: its name must be
    /// new in this document.
    fn anchor_name(&mut self, anchor: usize) -> Res<()> {
        if anchor == 0 {
            return Ok(());
        }
        let is_anchor = self.peek_is(|e| matches!(e, Event::Anchor(..)))?;
        if !is_anchor {
            return Ok(());
        }
        let (ev, gspan) = self.expect()?;
        let Event::Anchor(_, name) = ev else {
            return Ok(());
        };
        let span = event_span(self.source, &gspan);
        if let Some(first) = self.anchor_names.get(name.as_ref()) {
            let first = *first;
            let mut e = YamlError::new(
                self.source,
                YamlErrorKind::Alias,
                format!("found duplicate anchor &{name}"),
                span,
                "defined again here",
            )
            .with_help(
                "Ansible's YAML loader refuses an anchor name used twice in one file; rename one",
            );
            e.label = format!("defined again here (first at line {})", first.line);
            return Err(e);
        }
        self.anchor_names.insert(name.into_owned(), span);
        Ok(())
    }

    /// libyaml refuses escapes of UTF-16 surrogates (`"\ud83d\ude00"`),
    /// which granit-parser combines; so must we.
    fn check_escapes(&self, span: Span) -> Res<()> {
        let raw = self
            .source
            .text
            .get(span.offset..span.offset + span.len)
            .unwrap_or("");
        let b = raw.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'\\' {
                i += 1;
                continue;
            }
            let width = match b.get(i + 1) {
                Some(b'x') => 2,
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => {
                    i += 2;
                    continue;
                }
            };
            let code = raw
                .get(i + 2..i + 2 + width)
                .and_then(|h| u32::from_str_radix(h, 16).ok());
            if let Some(c) = code {
                if (0xd800..=0xdfff).contains(&c) || c > 0x10ffff {
                    return Err(YamlError::new(
                        self.source,
                        YamlErrorKind::Syntax,
                        "found invalid Unicode character escape code",
                        self.source.span(span.offset + i, 2 + width),
                        "a UTF-16 surrogate",
                    )
                    .with_help("write the character itself, or `\\U` with its full code point (`\\U0001F600`)"));
                }
            }
            i += 2 + width;
        }
        Ok(())
    }

    /// A scalar of the given tag, as PyYAML's constructors build it.
    fn scalar(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
        unsafe_: bool,
        is_key: bool,
    ) -> Res<Built> {
        let tag = tag.map(tag_name);
        let err = |c: &Self, m: String| Err(c.construct_error(m, span));
        let value = match tag.as_deref() {
            // libyaml sets `plain_implicit` for untagged plain scalars and
            // for the non-specific tag `!`, whatever the style.
            None if style == ScalarStyle::Plain => self.implicit(text, span, is_key)?,
            Some("!") => self.implicit(text, span, is_key)?,
            None => Built::Node(Node::new(Yaml::Str(text.to_string()), span)),
            Some("!unsafe") => {
                // Ansible re-resolves the text as if plain, then constructs
                // it untrusted: `!unsafe '12'` is the int 12.
                match self.implicit(text, span, false)? {
                    Built::Node(n) => Built::Node(untrusted(n)),
                    Built::Merge(s) => return Err(self.no_constructor(&s, "<<")),
                    Built::ValueKey(s) => return Err(self.no_constructor(&s, "=")),
                }
            }
            Some(t @ ("!vault" | "!vault-encrypted")) => match self.implicit(text, span, false)? {
                Built::Node(Node {
                    value: Yaml::Str(s) | Yaml::Unsafe(s),
                    ..
                }) => Built::Node(Node::new(Yaml::Vault(s), span)),
                _ => return err(self, format!("the '{t}' tag requires a string value")),
            },
            Some(t) => match t.strip_prefix(CORE) {
                Some("str" | "python/unicode") => {
                    Built::Node(Node::new(Yaml::Str(text.to_string()), span))
                }
                Some("null") => Built::Node(Node::new(Yaml::Null, span)),
                Some("bool") => match scalar::construct_bool(text) {
                    Ok(b) => Built::Node(Node::new(Yaml::Bool(b), span)),
                    Err(m) => return err(self, m),
                },
                Some("int") => match scalar::construct_int(text) {
                    Ok(v) => Built::Node(Node::new(v, span)),
                    Err(m) => return err(self, m),
                },
                Some("float") => match scalar::construct_float(text) {
                    Ok(f) => Built::Node(Node::new(Yaml::Float(f), span)),
                    Err(m) => return err(self, m),
                },
                Some("timestamp") => match Timestamp::parse(text) {
                    Ok(t) => Built::Node(Node::new(Yaml::Timestamp(t), span)),
                    Err(m) => return err(self, m),
                },
                Some("binary") => match scalar::base64_decode(text) {
                    Ok(b) => Built::Node(Node::new(Yaml::Binary(b), span)),
                    Err(m) => return err(self, format!("failed to decode base64 data: {m}")),
                },
                Some("merge") if is_key => Built::Merge(span),
                Some("value") if is_key => Built::ValueKey(span),
                Some("map" | "python/dict" | "set") => {
                    return err(self, "expected a mapping node, but found scalar".into())
                }
                Some("seq" | "omap" | "pairs") => {
                    return err(self, "expected a sequence node, but found scalar".into())
                }
                _ => return Err(self.unknown_tag(t, span)),
            },
        };
        Ok(match value {
            Built::Node(n) if unsafe_ => Built::Node(untrusted(n)),
            other => other,
        })
    }

    fn unknown_tag(&self, tag: &str, span: Span) -> Box<YamlError> {
        self.construct_error(
            format!("could not determine a constructor for the tag '{tag}'"),
            span,
        )
        .with_help("Ansible knows the YAML 1.1 tags (`!!str`, `!!int`, ...), `!unsafe` and `!vault`; quote the value if the `!` is meant as text")
    }

    /// A plain scalar, typed by PyYAML's implicit resolvers.
    fn implicit(&self, text: &str, span: Span, is_key: bool) -> Res<Built> {
        let err = |m: String| Err(self.construct_error(m, span));
        let v = match scalar::resolve(text) {
            Implicit::Null => Yaml::Null,
            Implicit::Bool => match scalar::construct_bool(text) {
                Ok(b) => Yaml::Bool(b),
                Err(m) => return err(m),
            },
            Implicit::Int => match scalar::construct_int(text) {
                Ok(v) => v,
                Err(m) => return err(m),
            },
            Implicit::Float => match scalar::construct_float(text) {
                Ok(f) => Yaml::Float(f),
                Err(m) => return err(m),
            },
            Implicit::Timestamp => match Timestamp::parse(text) {
                Ok(t) => Yaml::Timestamp(t),
                Err(m) => return err(m),
            },
            Implicit::Merge if is_key => return Ok(Built::Merge(span)),
            Implicit::Value if is_key => return Ok(Built::ValueKey(span)),
            Implicit::Merge => return Err(self.no_constructor(&span, "<<")),
            Implicit::Value => return Err(self.no_constructor(&span, "=")),
            Implicit::Str => Yaml::Str(text.to_string()),
        };
        Ok(Built::Node(Node::new(v, span)))
    }

    /// The span of a collection: from its start to its closing bracket
    /// (flow) or to the end of its last child (block, so that a label never
    /// covers trailing blank lines and comments).
    fn collection_span(
        &self,
        start: Span,
        style: StructureStyle,
        end: &granit_parser::Span,
        last: Option<Span>,
    ) -> Span {
        let end_offset = match (style, last) {
            (StructureStyle::Block, Some(l)) => l.offset + l.len,
            _ => end.end.byte_offset().unwrap_or(start.offset),
        }
        .max(start.offset);
        self.source.span(start.offset, end_offset - start.offset)
    }

    fn sequence(
        &mut self,
        style: StructureStyle,
        tag: Option<&Tag>,
        span: Span,
        unsafe_: bool,
    ) -> Res<Node> {
        let tag = tag.map(tag_name);
        let (unsafe_, pairs) =
            match tag.as_deref() {
                None | Some("!") => (unsafe_, false),
                Some("!unsafe") => (true, false),
                Some(t @ ("!vault" | "!vault-encrypted")) => {
                    return Err(self
                        .construct_error(format!("the '{t}' tag requires a string value"), span))
                }
                Some(t) => match t.strip_prefix(CORE) {
                    Some("seq") => (unsafe_, false),
                    Some("omap" | "pairs") => (unsafe_, true),
                    Some("map" | "python/dict" | "set") => {
                        return Err(self
                            .construct_error("expected a mapping node, but found sequence", span))
                    }
                    _ => return Err(self.unknown_tag(t, span)),
                },
            };
        let mut items = Vec::new();
        loop {
            if self.peek_is(|e| matches!(e, Event::SequenceEnd))? {
                let (_, end) = self.expect()?;
                let span =
                    self.collection_span(span, style, &end, items.last().map(|n: &Node| n.span));
                return Ok(Node::new(Yaml::Seq(items), span));
            }
            let item = match self.node(unsafe_, false)? {
                Built::Node(n) => n,
                Built::Merge(s) => return Err(self.no_constructor(&s, "<<")),
                Built::ValueKey(s) => return Err(self.no_constructor(&s, "=")),
            };
            let item = if pairs { self.pair(item)? } else { item };
            items.push(item);
        }
    }

    /// An `!!omap`/`!!pairs` entry: a one-key mapping becomes `[key, value]`.
    fn pair(&self, item: Node) -> Res<Node> {
        match item.value {
            Yaml::Map(m) if m.len() == 1 => {
                let span = item.span;
                let (k, v) = m.into_iter().next().expect("one entry");
                Ok(Node::new(
                    Yaml::Seq(vec![Node::new(k.value, k.span), v]),
                    span,
                ))
            }
            Yaml::Map(m) => Err(self.construct_error(
                format!(
                    "expected a single mapping item, but found {} items",
                    m.len()
                ),
                item.span,
            )),
            other => Err(self.construct_error(
                format!(
                    "expected a mapping of length 1, but found {}",
                    found(&other)
                ),
                item.span,
            )),
        }
    }

    fn mapping(
        &mut self,
        style: StructureStyle,
        tag: Option<&Tag>,
        span: Span,
        unsafe_: bool,
    ) -> Res<Node> {
        let tag = tag.map(tag_name);
        let (unsafe_, set) =
            match tag.as_deref() {
                None | Some("!") => (unsafe_, false),
                Some("!unsafe") => (true, false),
                Some(t @ ("!vault" | "!vault-encrypted")) => {
                    return Err(self
                        .construct_error(format!("the '{t}' tag requires a string value"), span))
                }
                Some(t) => match t.strip_prefix(CORE) {
                    Some("map" | "python/dict") => (unsafe_, false),
                    Some("set") => (unsafe_, true),
                    Some("seq" | "omap" | "pairs") => {
                        return Err(self
                            .construct_error("expected a sequence node, but found mapping", span))
                    }
                    _ => return Err(self.unknown_tag(t, span)),
                },
            };
        // PyYAML's flatten_mapping: the merged entries first (see
        // [`Ident`]), then the mapping's own entries, all assigned in
        // order, so a later one wins.
        let mut merged: Vec<Entry> = Vec::new();
        let mut merged_ids: std::collections::HashSet<Ident> = std::collections::HashSet::new();
        let mut own: Vec<Entry> = Vec::new();
        let mut last_span = None;
        loop {
            if self.peek_is(|e| matches!(e, Event::MappingEnd))? {
                let (_, end) = self.expect()?;
                let span = self.collection_span(span, style, &end, last_span);
                return Ok(self.build_map(span, merged, own, set));
            }
            let key = self.node(unsafe_, true)?;
            let value = match self.node(unsafe_, false)? {
                Built::Node(n) => n,
                Built::Merge(s) => return Err(self.no_constructor(&s, "<<")),
                Built::ValueKey(s) => return Err(self.no_constructor(&s, "=")),
            };
            last_span = Some(value.span);
            match key {
                Built::Merge(kspan) => {
                    for e in self.merge_entries(kspan, value)? {
                        if merged_ids.insert(e.ident.clone()) {
                            merged.push(e);
                        }
                    }
                }
                Built::ValueKey(kspan) => {
                    let key = Key {
                        value: Yaml::Str("=".into()),
                        span: kspan,
                    };
                    own.push(self.entry(key, value));
                }
                Built::Node(k) => {
                    let key = self.key(k)?;
                    own.push(self.entry(key, value));
                }
            }
        }
    }

    fn entry(&self, key: Key, value: Node) -> Entry {
        let ident = match self.shared_text.get(&key.span.offset) {
            Some(t) => Ident::Shared(t.clone()),
            None => Ident::Node(key.span.offset),
        };
        Entry { key, value, ident }
    }

    fn build_map(&mut self, span: Span, merged: Vec<Entry>, own: Vec<Entry>, set: bool) -> Node {
        let mut seen: HashMap<&Key, Span> = HashMap::new();
        let mut repeated = Vec::new();
        for e in &own {
            match seen.get(&e.key) {
                Some(first) => repeated.push((e.key.clone(), *first)),
                None => {
                    seen.insert(&e.key, e.key.span);
                }
            }
        }
        let plain = merged.is_empty() && repeated.is_empty();
        for (k, first) in repeated {
            self.duplicate(&k, first);
        }
        let entries: Vec<Entry> = merged.into_iter().chain(own).collect();
        let mut map: IndexMap<Key, Node> = IndexMap::new();
        for e in &entries {
            let mut v = e.value.clone();
            if set {
                v.value = Yaml::Null;
            }
            // IndexMap::insert keeps the first key and its position and
            // takes the new value, as a Python dict does.
            map.insert(e.key.clone(), v);
        }
        if !plain {
            self.flat.insert(span.offset, entries);
        }
        Node::new(Yaml::Map(map), span)
    }

    /// The entries a `<<` brings: a mapping's (flattened) entries, or those
    /// of each mapping of a list, in order.
    fn merge_entries(&self, kspan: Span, value: Node) -> Res<Vec<Entry>> {
        let flat = |n: &Node, m: &IndexMap<Key, Node>| -> Vec<Entry> {
            match self.flat.get(&n.span.offset) {
                Some(entries) => entries.clone(),
                None => m
                    .iter()
                    .map(|(k, v)| self.entry(k.clone(), v.clone()))
                    .collect(),
            }
        };
        match &value.value {
            Yaml::Map(m) => Ok(flat(&value, m)),
            Yaml::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match &item.value {
                        Yaml::Map(m) => out.extend(flat(item, m)),
                        other => {
                            return Err(self
                                .construct_error(
                                    format!(
                                        "expected a mapping for merging, but found {}",
                                        found(other)
                                    ),
                                    item.span,
                                )
                                .with_help("every item of a `<<` list must be a mapping"))
                        }
                    }
                }
                Ok(out)
            }
            other => Err(self
                .construct_error(
                    format!(
                        "expected a mapping or list of mappings for merging, but found {}",
                        found(other)
                    ),
                    self.source.span(
                        kspan.offset.min(value.span.offset),
                        (value.span.offset + value.span.len).saturating_sub(kspan.offset),
                    ),
                )
                .with_help("`<<` merges a mapping (usually `<<: *anchor`); quote `'<<'` to use it as a plain key")),
        }
    }

    /// A constructed node as a mapping key: scalars only (lists and dicts
    /// are unhashable in Python); an untrusted string is a string key.
    fn key(&self, n: Node) -> Res<Key> {
        let value = match n.value {
            Yaml::Seq(_) | Yaml::Map(_) => {
                return Err(self
                    .construct_error("while constructing a mapping, found unhashable key", n.span)
                    .with_help("a mapping key must be a scalar"))
            }
            Yaml::Unsafe(s) => Yaml::Str(s),
            v => v,
        };
        Ok(Key {
            value,
            span: n.span,
        })
    }

    fn duplicate(&mut self, k: &Key, first: Span) {
        self.warnings.push(YamlWarning {
            message: format!(
                "found duplicate mapping key {}; using the last defined value only",
                py_repr_key(k)
            ),
            span: k.span,
            label: "repeated here".into(),
            also: Some((first, "first defined here".into())),
            help: Some("Ansible keeps the last value; remove one of the two".into()),
            src: self.source.named(),
        });
    }
}

/// A key as Python's `repr` shows it in Ansible's warning.
fn py_repr_key(k: &Key) -> String {
    match &k.value {
        Yaml::Str(s) => format!("'{s}'"),
        v => v.to_py_str(),
    }
}

/// The node with every string under it untrusted (`!unsafe`).
fn untrusted(n: Node) -> Node {
    let value = match n.value {
        Yaml::Str(s) => Yaml::Unsafe(s),
        Yaml::Seq(items) => Yaml::Seq(items.into_iter().map(untrusted).collect()),
        Yaml::Map(m) => Yaml::Map(m.into_iter().map(|(k, v)| (k, untrusted(v))).collect()),
        v => v,
    };
    Node {
        value,
        span: n.span,
    }
}

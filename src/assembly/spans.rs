//! Where every node of a YAML document is, by path.
//!
//! serde_norway deserializes values without positions, so diagnostics find
//! them here: granit-parser's events are walked once and every node is
//! recorded under its path (`types.Server.transitions.configure.to`,
//! `types.Server.places[1]`, `connections[0][1]`) with the byte span of its
//! key and of its value. The walk also sees what serde hides: repeated keys
//! in a mapping (serde keeps one silently), and the keys of every mapping
//! for the unknown-key check.
//!
//! Aliases: the nodes under an anchored node are also recorded under each
//! alias's path, pointing at the anchor's text, so a problem found in an
//! aliased type points at where it is written.

use granit_parser::{ErrorKind, Event, Options, Parser, Span};
use std::collections::HashMap;

use crate::model::SrcSpan;

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Sequence,
    Mapping,
    /// `*name`; its children are copies of the anchored node's.
    Alias,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub path: Vec<Seg>,
    /// The key's span, for a mapping value.
    pub key: Option<SrcSpan>,
    /// The value's span. A block collection ends at its last child, so
    /// labels never swallow trailing comments or blank lines.
    pub value: SrcSpan,
    pub kind: Kind,
    /// Indices of the direct children in [`SpanIndex::nodes`], in order.
    pub children: Vec<usize>,
    /// Recorded through an alias: a copy of a node checked elsewhere.
    pub via_alias: bool,
}

impl Node {
    /// The key if there is one, else the value: what to underline when
    /// the entry as a whole is at fault.
    pub fn key_or_value(&self) -> SrcSpan {
        self.key.unwrap_or(self.value)
    }
    /// The last path segment as a key, if it is one.
    pub fn key_text(&self) -> Option<&str> {
        match self.path.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Path of the mapping holding the key.
    pub mapping: String,
    pub key: String,
    pub first: SrcSpan,
    pub again: SrcSpan,
}

/// A YAML syntax error found by granit-parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub at: SrcSpan,
    /// Collections nested too deeply for granit-parser (its limit is 256).
    pub too_deep: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    nodes: Vec<Node>,
    by_path: HashMap<String, usize>,
    pub duplicates: Vec<DuplicateKey>,
}

/// Alias expansion can be exponential (a "billion laughs" document); past
/// this many nodes aliases are recorded without copying their children.
const MAX_NODES: usize = 200_000;

/// `types.Server.places[1]`. Keys are joined with `.`, indices as `[i]`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}

impl SpanIndex {
    /// Index the first document of `src`.
    pub fn build(src: &str) -> Result<SpanIndex, SyntaxError> {
        let mut options = Options::default();
        options.set_emit_comments(false);
        let mut events = Vec::new();
        for ev in Parser::new_from_str_with_options(src, options) {
            match ev {
                Ok((e, span)) => match e {
                    Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::SequenceEnd
                    | Event::MappingStart(..)
                    | Event::MappingEnd
                    | Event::Alias(_)
                    | Event::DocumentEnd
                    | Event::StreamEnd => events.push((e, span)),
                    _ => {}
                },
                Err(e) => {
                    let m = e.marker();
                    let offset = m.byte_offset().unwrap_or(0).min(src.len());
                    return Err(SyntaxError {
                        message: e.info().to_string(),
                        at: SrcSpan { offset, len: 0 },
                        too_deep: matches!(e.kind(), ErrorKind::RecursionLimitExceeded),
                    });
                }
            }
        }
        let mut b = Builder {
            events,
            pos: 0,
            index: SpanIndex::default(),
            anchors: HashMap::new(),
        };
        if b.is_node_start() {
            b.node(Vec::new(), None);
        }
        Ok(b.index)
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node at `path` (as written by [`path_string`]).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.by_path.get(path).map(|&i| &self.nodes[i])
    }

    pub fn key(&self, path: &str) -> Option<SrcSpan> {
        self.get(path).and_then(|n| n.key)
    }

    pub fn value(&self, path: &str) -> Option<SrcSpan> {
        self.get(path).map(|n| n.value)
    }

    /// The node at `path`, or failing that its nearest recorded ancestor:
    /// diagnostics always get somewhere to point.
    pub fn nearest(&self, path: &str) -> Option<&Node> {
        let mut p = path;
        loop {
            if let Some(n) = self.get(p) {
                return Some(n);
            }
            if p.is_empty() {
                return None;
            }
            p = match p.rfind(['.', '[']) {
                Some(i) => &p[..i],
                None => "",
            };
        }
    }

    /// Span of the value at `path` (or of the nearest ancestor).
    pub fn value_at(&self, path: &str) -> SrcSpan {
        self.nearest(path).map(|n| n.value).unwrap_or_default()
    }

    /// Span of the key at `path` if it has one, else of the value.
    pub fn key_at(&self, path: &str) -> SrcSpan {
        self.nearest(path)
            .map(Node::key_or_value)
            .unwrap_or_default()
    }

    /// The node at a bare position (such as serde's error location): the
    /// node starting there, or just after on the same line (serde's mark
    /// may sit on a `&anchor` or `!tag` before it), else the smallest node
    /// enclosing it. Returns the node's span cut at its first line break,
    /// so a label never covers a whole block.
    pub fn token_at(&self, src: &str, offset: usize) -> Option<SrcSpan> {
        let own = self.nodes.iter().filter(|n| !n.via_alias).map(|n| n.value);
        // Where the line of `offset` ends, found once: scanning the gap to
        // every node is quadratic on a long line (minified JSON).
        let line_end = src
            .get(offset..)
            .map(|rest| offset + rest.find('\n').unwrap_or(rest.len()));
        let same_line = |v: &SrcSpan| {
            line_end.is_some_and(|end| {
                v.offset >= offset && v.offset <= end && src.is_char_boundary(v.offset)
            })
        };
        let found = own
            .clone()
            .filter(same_line)
            .min_by_key(|v| (v.offset, usize::MAX - v.len))
            .or_else(|| {
                own.filter(|v| v.offset <= offset && offset < v.offset + v.len.max(1))
                    .min_by_key(|v| v.len)
            })?;
        let text = src
            .get(found.offset..found.offset + found.len)
            .unwrap_or("");
        Some(SrcSpan {
            offset: found.offset,
            len: text.find('\n').unwrap_or(text.len()),
        })
    }
}

struct Builder<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    index: SpanIndex,
    /// Anchor id -> range of the anchored node and its descendants in `nodes`.
    anchors: HashMap<usize, (usize, usize)>,
}

fn span_of(s: &Span) -> SrcSpan {
    let start = s.start.byte_offset().unwrap_or(0);
    let end = s.end.byte_offset().unwrap_or(start).max(start);
    SrcSpan {
        offset: start,
        len: end - start,
    }
}

fn end_of(s: SrcSpan) -> usize {
    s.offset + s.len
}

impl Builder<'_> {
    fn is_node_start(&self) -> bool {
        matches!(
            self.events.get(self.pos),
            Some((
                Event::Scalar(..)
                    | Event::SequenceStart(..)
                    | Event::MappingStart(..)
                    | Event::Alias(_),
                _
            ))
        )
    }

    fn push(
        &mut self,
        path: Vec<Seg>,
        key: Option<SrcSpan>,
        value: SrcSpan,
        kind: Kind,
        via_alias: bool,
    ) -> usize {
        let i = self.index.nodes.len();
        self.index.by_path.entry(path_string(&path)).or_insert(i);
        self.index.nodes.push(Node {
            path,
            key,
            value,
            kind,
            children: Vec::new(),
            via_alias,
        });
        i
    }

    /// Record the node starting at the current event and everything under
    /// it; returns its index. The event stream is well formed (the parser
    /// checked it), so an unexpected end only ends the walk early.
    fn node(&mut self, path: Vec<Seg>, key: Option<SrcSpan>) -> usize {
        let Some((event, span)) = self.events.get(self.pos).cloned() else {
            return self.push(path, key, SrcSpan::default(), Kind::Scalar, false);
        };
        self.pos += 1;
        let start = span_of(&span);
        let (kind, anchor) = match event {
            Event::Scalar(_, _, a, _) => (Kind::Scalar, a),
            Event::SequenceStart(_, a, _) => (Kind::Sequence, a),
            Event::MappingStart(_, a, _) => (Kind::Mapping, a),
            Event::Alias(id) => {
                let i = self.push(path, key, start, Kind::Alias, false);
                self.copy_anchor(id, i);
                return i;
            }
            _ => return self.push(path, key, start, Kind::Scalar, false),
        };
        let me = self.push(path.clone(), key, start, kind, false);
        let mut end = end_of(start);
        match kind {
            Kind::Sequence => {
                let mut i = 0;
                while self.is_node_start() {
                    let mut p = path.clone();
                    p.push(Seg::Index(i));
                    let c = self.node(p, None);
                    end = end.max(end_of(self.index.nodes[c].value));
                    self.index.nodes[me].children.push(c);
                    i += 1;
                }
                end = self.close(end);
            }
            Kind::Mapping => {
                let mut seen: HashMap<String, SrcSpan> = HashMap::new();
                while self.is_node_start() {
                    let (text, key_span) = self.key();
                    if let Some(&first) = seen.get(&text) {
                        self.index.duplicates.push(DuplicateKey {
                            mapping: path_string(&path),
                            key: text.clone(),
                            first,
                            again: key_span,
                        });
                    } else {
                        seen.insert(text.clone(), key_span);
                    }
                    let mut p = path.clone();
                    p.push(Seg::Key(text));
                    if !self.is_node_start() {
                        break; // malformed stream: a key without a value
                    }
                    let c = self.node(p, Some(key_span));
                    end = end.max(end_of(self.index.nodes[c].value));
                    self.index.nodes[me].children.push(c);
                }
                end = self.close(end);
            }
            _ => {}
        }
        self.index.nodes[me].value.len = end - start.offset;
        if anchor != 0 {
            self.anchors.insert(anchor, (me, self.index.nodes.len()));
        }
        me
    }

    /// Consume a collection's end event. A flow collection's end is its
    /// closing bracket, which belongs to the span; a block one's is empty
    /// or sits on the next token, which does not.
    fn close(&mut self, end: usize) -> usize {
        let Some((Event::SequenceEnd | Event::MappingEnd, span)) = self.events.get(self.pos) else {
            return end;
        };
        let s = span_of(span);
        self.pos += 1;
        if s.len > 0 {
            end.max(end_of(s))
        } else {
            end
        }
    }

    /// A mapping key: its text and span. A collection used as a key (legal
    /// YAML, never valid here) is skipped and named by its source text.
    fn key(&mut self) -> (String, SrcSpan) {
        let Some((event, span)) = self.events.get(self.pos).cloned() else {
            return (String::new(), SrcSpan::default());
        };
        self.pos += 1;
        let s = span_of(&span);
        match event {
            Event::Scalar(text, ..) => (text.into_owned(), s),
            Event::Alias(_) => ("*alias".to_string(), s),
            _ => {
                let mut depth = 1usize;
                let mut end = end_of(s);
                while depth > 0 {
                    let Some((e, sp)) = self.events.get(self.pos) else {
                        break;
                    };
                    match e {
                        Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
                        Event::SequenceEnd | Event::MappingEnd => depth -= 1,
                        Event::DocumentEnd | Event::StreamEnd => break,
                        _ => {}
                    }
                    end = end.max(end_of(span_of(sp)));
                    self.pos += 1;
                }
                let span = SrcSpan {
                    offset: s.offset,
                    len: end - s.offset,
                };
                ("<complex key>".to_string(), span)
            }
        }
    }

    /// Record the anchored node's descendants again under the alias node
    /// `at`, keeping their spans.
    fn copy_anchor(&mut self, id: usize, at: usize) {
        let Some(&(from, to)) = self.anchors.get(&id) else {
            return;
        };
        if self.index.nodes.len() + (to - from) > MAX_NODES {
            return;
        }
        let base_len = self.index.nodes[from].path.len();
        let at_path = self.index.nodes[at].path.clone();
        let mut new_index = HashMap::new(); // old node index -> copy's index
        new_index.insert(from, at);
        self.index.nodes[at].kind = self.index.nodes[from].kind;
        for k in from + 1..to {
            let n = &self.index.nodes[k];
            let mut path = at_path.clone();
            path.extend(n.path[base_len..].iter().cloned());
            let (key, value, kind) = (n.key, n.value, n.kind);
            let c = self.push(path, key, value, kind, true);
            new_index.insert(k, c);
        }
        // Rebuild the copies' child lists from the originals'.
        for k in from..to {
            let Some(&c) = new_index.get(&k) else {
                continue;
            };
            let kids: Vec<usize> = self.index.nodes[k]
                .children
                .iter()
                .filter_map(|o| new_index.get(o).copied())
                .collect();
            self.index.nodes[c].children = kids;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(src: &str, s: SrcSpan) -> &str {
        &src[s.offset..s.offset + s.len]
    }

    fn val<'a>(ix: &SpanIndex, src: &'a str, path: &str) -> &'a str {
        text(
            src,
            ix.value(path)
                .unwrap_or_else(|| panic!("no node at {path}")),
        )
    }

    #[test]
    fn nested_block_maps_and_sequences() {
        let src = "types:\n  Server:\n    places:\n      - a\n      - b   # comment\n    initial: b\n\nother: 1\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(val(&ix, src, "types.Server.places[0]"), "a");
        assert_eq!(val(&ix, src, "types.Server.places[1]"), "b");
        assert_eq!(val(&ix, src, "types.Server.initial"), "b");
        assert_eq!(
            text(src, ix.key("types.Server.initial").unwrap()),
            "initial"
        );
        // A block collection ends at its last child, not at the next key.
        assert_eq!(val(&ix, src, "types.Server.places"), "- a\n      - b");
        assert_eq!(
            val(&ix, src, "types"),
            "Server:\n    places:\n      - a\n      - b   # comment\n    initial: b"
        );
        assert_eq!(val(&ix, src, "other"), "1");
        assert_eq!(ix.get("types.Server").unwrap().kind, Kind::Mapping);
        assert_eq!(ix.get("types.Server").unwrap().children.len(), 2);
    }

    #[test]
    fn flow_style() {
        let src = "t:\n  configure: {from: allocated, to: \"configured\", action: {sleep: 3}}\n  l: [x, [y, z]]\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(val(&ix, src, "t.configure.from"), "allocated");
        // Quoted scalars span their quotes.
        assert_eq!(val(&ix, src, "t.configure.to"), "\"configured\"");
        assert_eq!(val(&ix, src, "t.configure.action.sleep"), "3");
        assert_eq!(val(&ix, src, "t.configure.action"), "{sleep: 3}");
        assert_eq!(
            val(&ix, src, "t.configure"),
            "{from: allocated, to: \"configured\", action: {sleep: 3}}"
        );
        assert_eq!(val(&ix, src, "t.l[1][0]"), "y");
        assert_eq!(val(&ix, src, "t.l"), "[x, [y, z]]");
    }

    #[test]
    fn byte_offsets_with_multibyte_text() {
        let src = "# é\ncmd: \"échó\"\nnext: x\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(val(&ix, src, "cmd"), "\"échó\"");
        assert_eq!(val(&ix, src, "next"), "x");
    }

    #[test]
    fn duplicate_keys() {
        let src = "a: 1\nb:\n  x: 1\n  x: 2\na: 3\nc: {y: 1, y: 2}\n";
        let ix = SpanIndex::build(src).unwrap();
        let d: Vec<_> = ix
            .duplicates
            .iter()
            .map(|d| (d.mapping.as_str(), d.key.as_str()))
            .collect();
        assert_eq!(d, [("b", "x"), ("", "a"), ("c", "y")]);
        let a = &ix.duplicates[1];
        assert_eq!(
            (a.first.offset, a.again.offset),
            (0, src.rfind("a: 3").unwrap())
        );
        // The first occurrence keeps the path.
        assert_eq!(val(&ix, src, "b.x"), "1");
    }

    #[test]
    fn anchors_and_aliases() {
        let src = "types:\n  A: &t\n    places: [p, q]\n  B: *t\nlist: [&s one, *s]\n";
        let ix = SpanIndex::build(src).unwrap();
        // The alias's own span is the `*t` token...
        assert_eq!(val(&ix, src, "types.B"), "*t");
        assert_eq!(ix.get("types.B").unwrap().kind, Kind::Mapping);
        // ...and what is under it points into the anchored text.
        let q = ix.value("types.B.places[1]").unwrap();
        assert_eq!(q, ix.value("types.A.places[1]").unwrap());
        assert_eq!(text(src, q), "q");
        assert!(ix.get("types.B.places").unwrap().via_alias);
        assert!(!ix.get("types.A.places").unwrap().via_alias);
        assert_eq!(ix.get("types.B").unwrap().children.len(), 1);
        assert_eq!(val(&ix, src, "list[1]"), "*s");
        assert_eq!(val(&ix, src, "list[0]"), "one");
    }

    #[test]
    fn nearest_ancestor_and_tokens() {
        let src = "a:\n  b: [x, y]\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(text(src, ix.value_at("a.b[7].z")), "[x, y]");
        assert_eq!(text(src, ix.key_at("a.b.nothing")), "b");
        assert_eq!(Some(ix.value_at("zzz")), ix.value(""));
        let y = src.find('y').unwrap();
        assert_eq!(text(src, ix.token_at(src, y).unwrap()), "y");
        // A mark on an anchor finds the node after it; blocks are cut at
        // their first line.
        let src = "a: &x [1,\n  2]\nb:\n  c: 1\n  d: 2\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(text(src, ix.token_at(src, 3).unwrap()), "[1,");
        let c = src.find("c:").unwrap();
        assert_eq!(text(src, ix.token_at(src, c).unwrap()), "c: 1");
    }

    #[test]
    fn empty_documents_and_syntax_errors() {
        assert!(SpanIndex::build("").unwrap().nodes().is_empty());
        assert!(SpanIndex::build("# only a comment\n")
            .unwrap()
            .nodes()
            .is_empty());
        let e = SpanIndex::build("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(!e.message.is_empty());
        let e = SpanIndex::build("a: b: c\n").unwrap_err();
        assert_eq!(e.at.offset, 4);
    }

    #[test]
    fn complex_keys_are_skipped() {
        let src = "? [a, b]\n: 1\nc: 2\n";
        let ix = SpanIndex::build(src).unwrap();
        assert_eq!(val(&ix, src, "c"), "2");
        assert_eq!(val(&ix, src, "<complex key>"), "1");
    }
}

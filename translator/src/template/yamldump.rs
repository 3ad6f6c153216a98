//! `to_yaml` / `to_nice_yaml`: PyYAML's `yaml.dump` (as Ansible calls it:
//! `allow_unicode=True`, keys sorted), a port of its representer's style
//! choices and of the parts of `Emitter` that plain data reaches: block
//! and flow collections, plain, single- and double-quoted scalars, with
//! the same indentation, line folding at the width (80) and quoting
//! decisions (`analyze_scalar`, `choose_scalar_style`).

use super::error::R;
use super::filters::py_sort;
use super::value::Value;
use crate::yaml::py_float_repr;
use crate::yaml::scalar::{resolve, Implicit};

pub(crate) struct Opts {
    /// `default_flow_style`: `None` flows the collections whose items
    /// are all scalars; `Some(false)` is block style everywhere.
    pub flow: Option<bool>,
    pub indent: usize,
    pub width: usize,
    pub sort_keys: bool,
    pub explicit_start: bool,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            flow: None,
            indent: 2,
            width: 80,
            sort_keys: true,
            explicit_start: false,
        }
    }
}

/// A represented node.
enum Node {
    /// Text, and whether it reads back as the same type when plain
    /// (`implicit`): a string that looks like a number is not.
    Scalar {
        text: String,
        implicit: bool,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
    Map {
        items: Vec<(Node, Node)>,
        flow: bool,
    },
}

fn is_scalar(n: &Node) -> bool {
    matches!(n, Node::Scalar { .. })
}

fn represent(v: &Value, o: &Opts, depth: usize) -> R<Node> {
    if depth > 500 {
        return Err(super::error::TemplateError::new(
            super::error::ErrorKind::Limit,
            "value nested too deeply",
        )
        .into());
    }
    Ok(match v.known()? {
        Value::None | Value::Omit | Value::Namespace(_) => Node::Scalar {
            text: "null".into(),
            implicit: true,
        },
        Value::Bool(b) => Node::Scalar {
            text: if *b { "true" } else { "false" }.into(),
            implicit: true,
        },
        Value::Int(i) => Node::Scalar {
            text: i.to_string(),
            implicit: true,
        },
        Value::Float(f) => Node::Scalar {
            text: represent_float(*f),
            implicit: true,
        },
        Value::Str(s) => Node::Scalar {
            text: s.to_string(),
            implicit: resolve(s) == Implicit::Str,
        },
        Value::List(l) => {
            let items = l
                .iter()
                .map(|x| represent(&x, o, depth + 1))
                .collect::<R<Vec<_>>>()?;
            let best = items.iter().all(is_scalar);
            Node::Seq {
                flow: o.flow.unwrap_or(best),
                items,
            }
        }
        Value::Dict(d) => {
            let mut pairs: Vec<(Value, Value)> = d.iter().map(|(k, v)| (k.to_value(), v)).collect();
            if o.sort_keys {
                // Python's `sorted(items)`; mixed key types stay unsorted.
                if let Ok(sorted) = py_sort(pairs.clone()) {
                    pairs = sorted;
                }
            }
            let items = pairs
                .iter()
                .map(|(k, v)| Ok((represent(k, o, depth + 1)?, represent(v, o, depth + 1)?)))
                .collect::<R<Vec<_>>>()?;
            let best = items.iter().all(|(k, v)| is_scalar(k) && is_scalar(v));
            Node::Map {
                flow: o.flow.unwrap_or(best),
                items,
            }
        }
        Value::Unknown(_) | Value::Marker(_) => unreachable!("excluded by known()"),
    })
}

/// `represent_float`: `repr()` in lower case, `.0` added before an
/// exponent without a dot, `.inf`/`.nan`.
fn represent_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let r = py_float_repr(f).to_lowercase();
    if !r.contains('.') && r.contains('e') {
        r.replacen('e', ".0e", 1)
    } else {
        r
    }
}

pub(crate) fn dump(v: &Value, o: &Opts) -> R<String> {
    let node = represent(v, o, 0)?;
    let mut e = Emitter {
        out: String::new(),
        best_indent: o.indent,
        best_width: if o.width > o.indent * 2 { o.width } else { 80 },
        indent: None,
        indents: Vec::new(),
        column: 0,
        whitespace: true,
        indention: true,
        flow_level: 0,
        root_context: false,
        sequence_context: false,
        mapping_context: false,
        simple_key_context: false,
    };
    if o.explicit_start {
        e.write_indicator("---", true, false, false);
    }
    e.node(&node, true, false, false, false);
    // expect_document_end
    e.write_indent();
    Ok(e.out)
}

struct Emitter {
    out: String,
    best_indent: usize,
    best_width: usize,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    column: usize,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    root_context: bool,
    sequence_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_space_or_break(c: char) -> bool {
    matches!(
        c,
        '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `Emitter.analyze_scalar` (with `allow_unicode=True`).
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_ws = true;
    let mut followed_by_ws = n == 1 || is_space_or_break(chars[1]);
    let (mut prev_space, mut prev_break) = (false, false);
    for (i, &ch) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_indicators = true;
                block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                if followed_by_ws {
                    block_indicators = true;
                }
            }
            if ch == '-' && followed_by_ws {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                if followed_by_ws {
                    block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_ws {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            let u = ch as u32;
            let unicode = (ch == '\u{85}'
                || (0xA0..=0xD7FF).contains(&u)
                || (0xE000..=0xFFFD).contains(&u)
                || (0x10000..0x10FFFF).contains(&u))
                && ch != '\u{FEFF}';
            if !unicode {
                special = true;
            }
        }
        if ch == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_space_or_break(ch);
        followed_by_ws = i + 2 >= n || is_space_or_break(chars[i + 2]);
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if break_space {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if space_break || special {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if line_breaks {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if flow_indicators {
        a.allow_flow_plain = false;
    }
    if block_indicators {
        a.allow_block_plain = false;
    }
    a
}

impl Emitter {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { self.best_indent } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + self.best_indent),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.column = indent;
            self.write(&pad);
        }
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, whitespace: bool, indention: bool) {
        let data = if self.whitespace || !need_ws {
            ind.to_string()
        } else {
            format!(" {ind}")
        };
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.column += data.chars().count();
        self.write(&data);
    }

    fn write_line_break(&mut self, data: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(data.unwrap_or('\n'));
    }

    fn node(&mut self, n: &Node, root: bool, sequence: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.sequence_context = sequence;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match n {
            Node::Scalar { text, implicit } => {
                self.increase_indent(true, false);
                self.scalar(text, *implicit);
                self.pop_indent();
            }
            Node::Seq { items, flow } => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            self.write_indicator(",", false, false, false);
                        }
                        if self.column > self.best_width {
                            self.write_indent();
                        }
                        self.node(item, false, true, false, false);
                    }
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("]", false, false, false);
                } else {
                    let indentless = self.mapping_context && !self.indention;
                    self.increase_indent(false, indentless);
                    for item in items {
                        self.write_indent();
                        self.write_indicator("-", true, false, true);
                        self.node(item, false, true, false, false);
                    }
                    self.pop_indent();
                }
            }
            Node::Map { items, flow } => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    for (i, (k, v)) in items.iter().enumerate() {
                        if i > 0 {
                            self.write_indicator(",", false, false, false);
                        }
                        if self.column > self.best_width {
                            self.write_indent();
                        }
                        if simple_key_ok(k) {
                            self.node(k, false, false, true, true);
                            self.write_indicator(":", false, false, false);
                        } else {
                            self.write_indicator("?", true, false, false);
                            self.node(k, false, false, true, false);
                            self.write_indicator(":", true, false, false);
                        }
                        self.node(v, false, false, true, false);
                    }
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("}", false, false, false);
                } else {
                    self.increase_indent(false, false);
                    for (k, v) in items {
                        self.write_indent();
                        if simple_key_ok(k) {
                            self.node(k, false, false, true, true);
                            self.write_indicator(":", false, false, false);
                        } else {
                            self.write_indicator("?", true, false, true);
                            self.node(k, false, false, true, false);
                            self.write_indent();
                            self.write_indicator(":", true, false, true);
                        }
                        self.node(v, false, false, true, false);
                    }
                    self.pop_indent();
                }
            }
        }
    }

    fn scalar(&mut self, text: &str, implicit: bool) {
        let a = analyze(text);
        let style = if implicit
            && !(self.simple_key_context && (a.empty || a.multiline))
            && ((self.flow_level > 0 && a.allow_flow_plain)
                || (self.flow_level == 0 && a.allow_block_plain))
        {
            ' '
        } else if a.allow_single_quoted && !(self.simple_key_context && a.multiline) {
            '\''
        } else {
            '"'
        };
        let split = !self.simple_key_context;
        match style {
            ' ' => self.write_plain(text, split),
            '\'' => self.write_single_quoted(text, split),
            _ => self.write_double_quoted(text, split),
        }
    }

    fn write_plain(&mut self, text: &str, split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.column += 1;
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        let data: String = chars[start..end].iter().collect();
                        self.column += end - start;
                        self.write(&data);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if chars[start] == '\n' {
                        self.write_line_break(None);
                    }
                    for &br in &chars[start..end] {
                        self.write_line_break(Some(br));
                    }
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                let data: String = chars[start..end].iter().collect();
                self.column += end - start;
                self.write(&data);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.write_indent();
                    } else {
                        let data: String = chars[start..end].iter().collect();
                        self.column += end - start;
                        self.write(&data);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if chars[start] == '\n' {
                        self.write_line_break(None);
                    }
                    for &br in &chars[start..end] {
                        self.write_line_break(Some(br));
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c) || c == '\'') && start < end {
                let data: String = chars[start..end].iter().collect();
                self.column += end - start;
                self.write(&data);
                start = end;
            }
            if ch == Some('\'') {
                self.column += 2;
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            let escape = match ch {
                None => true,
                Some(c) => {
                    let u = c as u32;
                    "\"\\\u{85}\u{2028}\u{2029}\u{FEFF}".contains(c)
                        || !((' '..='~').contains(&c)
                            || (0xA0..=0xD7FF).contains(&u)
                            || (0xE000..=0xFFFD).contains(&u))
                }
            };
            if escape {
                if start < end {
                    let data: String = chars[start..end].iter().collect();
                    self.column += end - start;
                    self.write(&data);
                    start = end;
                }
                if let Some(c) = ch {
                    let data = match c {
                        '\0' => "\\0".to_string(),
                        '\x07' => "\\a".into(),
                        '\x08' => "\\b".into(),
                        '\t' => "\\t".into(),
                        '\n' => "\\n".into(),
                        '\x0b' => "\\v".into(),
                        '\x0c' => "\\f".into(),
                        '\r' => "\\r".into(),
                        '\x1b' => "\\e".into(),
                        '"' => "\\\"".into(),
                        '\\' => "\\\\".into(),
                        '\u{85}' => "\\N".into(),
                        '\u{A0}' => "\\_".into(),
                        '\u{2028}' => "\\L".into(),
                        '\u{2029}' => "\\P".into(),
                        c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                        c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                        c => format!("\\U{:08X}", c as u32),
                    };
                    self.column += data.len();
                    self.write(&data);
                    start = end + 1;
                }
            }
            if end > 0
                && end + 1 < chars.len()
                && (ch == Some(' ') || start >= end)
                && self.column + end.saturating_sub(start) > self.best_width
                && split
            {
                let mut data: String = chars[start.min(end)..end].iter().collect();
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.column += data.chars().count();
                self.write(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if chars.get(start) == Some(&' ') {
                    self.column += 1;
                    self.write("\\");
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

/// `check_simple_key` for a key node.
fn simple_key_ok(k: &Node) -> bool {
    match k {
        Node::Scalar { text, .. } => {
            let a = analyze(text);
            text.chars().count() < 128 && !a.empty && !a.multiline
        }
        Node::Seq { items, .. } => items.is_empty(),
        Node::Map { items, .. } => items.is_empty(),
    }
}

//! The INI inventory format, read as ansible-core's `ini` plugin reads it
//! (`plugins/inventory/ini.py`).
//!
//! ```ini
//! web01 ansible_host=10.0.0.1          # before any section: ungrouped
//! [web]
//! web[02:04].example.com ansible_port=2222
//! [web:vars]
//! http_port = 8080
//! [prod:children]
//! web
//! ```
//!
//! - Lines are stripped; empty lines and lines starting with `#` or `;`
//!   are skipped.
//! - Host lines are split like a POSIX shell (`shlex`, with `#` comments
//!   anywhere outside quotes); the first token is a host pattern (ranges,
//!   `:port`), the rest `key=value`.
//! - `[g:vars]` lines are `key = value` (no shell splitting: a `#` is part
//!   of the value, unless the value is a Python literal followed by a
//!   comment).
//! - Values are Python literals when they are (`ast.literal_eval`): see
//!   [`super::pyliteral`].
//! - A group named in `[g:children]` must be declared by a `[child]` or
//!   `[child:children]` section somewhere in the file; `[g:vars]` needs `g`
//!   declared too. Errors point at the line.

use super::error::{InventoryError, InventoryErrorKind};
use super::pattern::expand_hostpattern;
use super::pyliteral::{literal_eval, Literal};
use super::shlex;
use super::{Format, Inventory, Origin, Var};
use crate::yaml::{Node, Source, Span, Yaml};

/// Python's `str.isspace()` (and `\s` in Python regexes).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// Python's `str.splitlines()`: the lines and their byte offsets.
fn py_splitlines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{b}'
                | '\u{c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            out.push((start, &text[start..i]));
            let mut next = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(_, '\n')) = chars.peek() {
                    chars.next();
                    next += 1;
                }
            }
            start = next;
        }
    }
    if start < text.len() {
        out.push((start, &text[start..]));
    }
    out
}

/// Reads an INI inventory from bytes. Like Ansible, a file that is not
/// UTF-8 is accepted if only its comment lines are not.
pub fn parse_bytes(name: &str, bytes: &[u8]) -> Result<Inventory, InventoryError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(name, text),
        Err(_) => {
            let mut text = String::new();
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                match std::str::from_utf8(line) {
                    Ok(l) => text.push_str(l),
                    Err(e) if matches!(line.first(), Some(b'#' | b';')) => {
                        let _ = e;
                        text.push_str(if line.ends_with(b"\n") { "\n" } else { "" });
                    }
                    Err(e) => {
                        return Err(InventoryError::new(
                            InventoryErrorKind::Ini,
                            format!("{name}: a line that is not a comment is not UTF-8: {e}"),
                        ))
                    }
                }
            }
            parse(name, &text)
        }
    }
}

/// A pending reference to a group not declared yet
/// (`pending_declarations`).
struct Pending {
    name: String,
    is_children: bool,
    span: Span,
    parents: Vec<String>,
}

struct IniParser<'a> {
    source: Source,
    inv: &'a mut Inventory,
}

/// Reads an INI inventory.
pub fn parse(name: &str, text: &str) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::new();
    inv.format = Some(Format::Ini);
    let mut p = IniParser {
        source: Source::new(name, text),
        inv: &mut inv,
    };
    p.run()?;
    Ok(inv)
}

/// `[name]` or `[name:kind]`, then optional blanks and a `#` comment.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let rest = line.strip_prefix('[')?;
    let name_len = rest
        .find(|c: char| c == ':' || c == ']' || py_space(c))
        .unwrap_or(rest.len());
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let mut after = &rest[name_len..];
    let mut kind = None;
    if let Some(k) = after.strip_prefix(':') {
        let n = k
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(k.len());
        if n == 0 {
            return None;
        }
        kind = Some(&k[..n]);
        after = &k[n..];
    }
    let after = after.strip_prefix(']')?.trim_start_matches(py_space);
    (after.is_empty() || after.starts_with('#')).then_some((name, kind))
}

/// A `[g:children]` line: a group name, then optional blanks and a `#`
/// comment.
fn group_name(line: &str) -> Option<&str> {
    let n = line
        .find(|c: char| c == ':' || c == ']' || py_space(c))
        .unwrap_or(line.len());
    if n == 0 {
        return None;
    }
    let after = line[n..].trim_start_matches(py_space);
    (after.is_empty() || after.starts_with('#')).then_some(&line[..n])
}

impl IniParser<'_> {
    fn err(&self, message: impl Into<String>, span: Span, label: &str) -> InventoryError {
        InventoryError::new(InventoryErrorKind::Ini, message).at(&self.source, span, label)
    }

    fn run(&mut self) -> Result<(), InventoryError> {
        let text = self.source.text.clone();
        let mut pending: Vec<Pending> = Vec::new();
        let mut group = String::from("ungrouped");
        let mut state = "hosts";
        for (offset, raw) in py_splitlines(&text) {
            let line = py_strip(raw);
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            let lead = raw.len() - raw.trim_start_matches(py_space).len();
            let at = offset + lead;
            let line_span = self.source.span(at, line.len());
            if let Some((name, kind)) = section(line) {
                let kind = kind.unwrap_or("hosts");
                if !matches!(kind, "hosts" | "children" | "vars") {
                    return Err(self
                        .err(
                            format!("Section [{name}:{kind}] has unknown type: {kind}"),
                            line_span,
                            "this section",
                        )
                        .help("a section is `[group]`, `[group:vars]` or `[group:children]`"));
                }
                group = name.to_string();
                state = match kind {
                    "children" => "children",
                    "vars" => "vars",
                    _ => "hosts",
                };
                if !self.inv.groups.contains_key(name) {
                    if state == "vars" && !pending.iter().any(|p| p.name == name) {
                        pending.push(Pending {
                            name: name.into(),
                            is_children: false,
                            span: line_span,
                            parents: Vec::new(),
                        });
                    }
                    let origin = Origin {
                        source: self.source.clone(),
                        span: line_span,
                    };
                    self.inv
                        .add_group(name, Some(origin))
                        .map_err(|e| self.err(e, line_span, "this group"))?;
                }
                if state != "vars" {
                    if let Some(i) = pending.iter().position(|p| p.name == name) {
                        if pending[i].is_children {
                            let p = pending.remove(i);
                            for parent in &p.parents {
                                self.inv
                                    .add_child(parent, name)
                                    .map_err(|e| self.err(e, line_span, "declared here"))?;
                            }
                        } else {
                            pending.remove(i);
                        }
                    }
                }
                continue;
            }
            if line.starts_with('[') && line.ends_with(']') {
                return Err(self
                    .err(
                        format!(
                            "Invalid section entry: '{line}'. Please make sure that there are no \
                             spaces in the section entry, and that there are no other invalid \
                             characters"
                        ),
                        line_span,
                        "not a section header",
                    )
                    .help(
                        "a section is `[group]`, `[group:vars]` or `[group:children]`, \
                           where the group name has no spaces, `:` or `]`",
                    ));
            }
            match state {
                "hosts" => self.host_line(&group, line, at)?,
                "vars" => self.vars_line(&group, line, at)?,
                _ => {
                    let Some(child) = group_name(line) else {
                        return Err(self
                            .err(
                                format!("Expected group name, got: {line}"),
                                line_span,
                                "not a group name",
                            )
                            .help("a `[group:children]` section lists one group name per line"));
                    };
                    if self.inv.groups.contains_key(child) {
                        self.inv
                            .add_child(&group, child)
                            .map_err(|e| self.err(e, line_span, "this child"))?;
                    } else if let Some(p) = pending.iter_mut().find(|p| p.name == child) {
                        p.parents.push(group.clone());
                    } else {
                        pending.push(Pending {
                            name: child.into(),
                            is_children: true,
                            span: self.source.span(at, child.len()),
                            parents: vec![group.clone()],
                        });
                    }
                }
            }
        }
        // Ansible reports the first unresolved reference.
        if let Some(p) = pending.first() {
            let e = if p.is_children {
                self.err(
                    format!(
                        "Section [{}:children] includes undefined group '{}'.",
                        p.parents.last().map_or("", String::as_str),
                        p.name
                    ),
                    p.span,
                    "never declared",
                )
                .help(format!(
                    "declare it with a `[{}]` section (it may be empty), or remove it",
                    p.name
                ))
            } else {
                self.err(
                    format!(
                        "Section [{}:vars] not valid for undefined group '{}'.",
                        p.name, p.name
                    ),
                    p.span,
                    "this group has no hosts or children section",
                )
                .help(format!(
                    "declare the group with a `[{}]` or `[{}:children]` section",
                    p.name, p.name
                ))
            };
            return Err(e);
        }
        Ok(())
    }

    /// A value, evaluated as a Python literal when it is one.
    fn value(&self, text: &str, base: Option<usize>, whole: Span) -> Result<Node, InventoryError> {
        let source = &self.source;
        let span = |s: usize, e: usize| match base {
            Some(b) => source.span(b + s, e - s),
            None => whole,
        };
        let full = match base {
            Some(b) => source.span(b, text.len()),
            None => whole,
        };
        match literal_eval(text, &span) {
            Literal::Value(n) => Ok(n),
            Literal::NotLiteral => Ok(Node::new(Yaml::Str(text.to_string()), full)),
            Literal::Error(e) => Err(self.err(
                format!("Failed to parse inventory value {text:?}: {e}"),
                full,
                "this value",
            )),
        }
    }

    fn host_line(&mut self, group: &str, line: &str, at: usize) -> Result<(), InventoryError> {
        let line_span = self.source.span(at, line.len());
        let tokens = shlex::split(line).map_err(|e| {
            self.err(
                format!("Error parsing host definition '{line}': {e}"),
                line_span,
                "this line",
            )
            .help("close the quote, or escape it with `\\`")
        })?;
        let Some(first) = tokens.first() else {
            return Err(self.err(
                format!("Error parsing host definition '{line}': no host"),
                line_span,
                "this line",
            ));
        };
        let pattern_span = self.source.span(at + first.start, first.end - first.start);
        let (hosts, port) = self.expand(&first.text, pattern_span)?;
        let mut vars: Vec<(String, Node)> = Vec::new();
        for t in &tokens[1..] {
            let tspan = self.source.span(at + t.start, t.end - t.start);
            let Some((k, v)) = t.text.split_once('=') else {
                return Err(self
                    .err(
                        format!(
                            "Expected key=value host variable assignment, got: {}",
                            t.text
                        ),
                        tspan,
                        "not key=value",
                    )
                    .help(
                        "host variables are `key=value`; quote values with spaces: `key='a b'`",
                    ));
            };
            // Where the value is written as is, spans point into it.
            let raw = &line[t.start..t.end];
            let base = (raw == t.text).then_some(at + t.start + k.len() + 1);
            let node = self.value(v, base, tspan)?;
            match vars.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = node,
                None => vars.push((k.to_string(), node)),
            }
        }
        let origin = Origin {
            source: self.source.clone(),
            span: pattern_span,
        };
        for h in &hosts {
            let port_var = port.map(|p| {
                (
                    p,
                    Var {
                        value: Node::new(Yaml::Int(i64::from(p)), pattern_span),
                        source: self.source.clone(),
                    },
                )
            });
            self.inv
                .add_host(h, Some(group), port_var, Some(origin.clone()))
                .map_err(|e| self.err(e, pattern_span, "this host"))?;
            for (k, v) in &vars {
                let var = Var {
                    value: v.clone(),
                    source: self.source.clone(),
                };
                self.inv
                    .set_variable(h, k.clone(), var)
                    .map_err(|e| self.err(e, v.span, "this value"))?;
            }
        }
        Ok(())
    }

    /// The INI plugin's `_expand_hostpattern`, with its two extra checks.
    fn expand(
        &self,
        pattern: &str,
        span: Span,
    ) -> Result<(Vec<String>, Option<u32>), InventoryError> {
        let (hosts, port) = expand_hostpattern(pattern).map_err(|e| {
            InventoryError::new(InventoryErrorKind::HostPattern, e)
                .at(&self.source, span, "this host pattern")
                .help("a range is `[begin:end]` or `[begin:end:step]`, numbers (`01:10`) or letters (`a:f`)")
        })?;
        if py_strip(pattern).ends_with(':') && port.is_none() {
            return Err(InventoryError::new(
                InventoryErrorKind::HostPattern,
                format!(
                    "Invalid host pattern '{pattern}' supplied, ending in ':' is not allowed, \
                     this character is reserved to provide a port."
                ),
            )
            .at(&self.source, span, "this host pattern")
            .help("if this file is YAML, fix the YAML error reported with it"));
        }
        if hosts.iter().any(|h| py_strip(h) == "---") {
            return Err(InventoryError::new(
                InventoryErrorKind::HostPattern,
                format!(
                    "Invalid host pattern '{pattern}' supplied, '---' is normally a sign this \
                     is a YAML file."
                ),
            )
            .at(&self.source, span, "this host pattern"));
        }
        Ok((hosts, port))
    }

    fn vars_line(&mut self, group: &str, line: &str, at: usize) -> Result<(), InventoryError> {
        let line_span = self.source.span(at, line.len());
        let Some((k, v)) = line.split_once('=') else {
            return Err(self
                .err(
                    format!("Expected key=value, got: {line}"),
                    line_span,
                    "not key=value",
                )
                .help("a `[group:vars]` section holds `name = value` lines"));
        };
        let key = py_strip(k);
        let value = py_strip(v);
        let lead = v.len() - v.trim_start_matches(py_space).len();
        let base = at + k.len() + 1 + lead;
        let node = self.value(value, Some(base), line_span)?;
        let var = Var {
            value: node,
            source: self.source.clone(),
        };
        self.inv
            .set_variable(group, key.to_string(), var)
            .map_err(|e| self.err(e, line_span, "this line"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitlines_like_python() {
        let lines: Vec<&str> = py_splitlines("a\r\nb\rc\u{b}d\n\ne")
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e"]);
    }

    #[test]
    fn section_headers() {
        assert_eq!(section("[web]"), Some(("web", None)));
        assert_eq!(section("[web:vars]  # c"), Some(("web", Some("vars"))));
        assert_eq!(section("[web:foo]"), Some(("web", Some("foo"))));
        assert_eq!(section("[web: vars]"), None);
        assert_eq!(section("[web]x"), None);
        assert_eq!(section("[]"), None);
        assert_eq!(group_name("child  # c"), Some("child"));
        assert_eq!(group_name("child ; c"), None);
    }
}

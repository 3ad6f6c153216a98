//! Assembly files: component types, instances and connections in YAML
//! (format: docs/assembly-format.md), resolved into [`crate::model`] types.
//!
//! Parsing runs in three passes so that every problem is reported at once:
//! 1. `spans`: granit-parser events -> where every node is, plus repeated
//!    keys; `validate::check_keys` flags unknown keys from it;
//! 2. `file`: serde_norway -> raw structs (only shape errors stop here);
//! 3. `validate`: raw structs -> model, collecting errors and warnings, each
//!    pointed at its node through the span index.

pub mod file;
pub mod spans;
mod validate;

use indexmap::IndexMap;
use miette::{Diagnostic, LabeledSpan, NamedSource, Severity};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::model::{Action, CopySource, Instr, Placement, PortRef, Runnable, SrcSpan, Types};
use spans::SpanIndex;

/// A validated assembly file.
#[derive(Debug, Clone)]
pub struct Assembly {
    pub types: Types,
    /// Instance name -> type name, in file order.
    pub instances: IndexMap<String, String>,
    /// Where each instance runs, in `instances` order.
    pub placements: Vec<Placement>,
    /// `(use side, provide side)`, whatever order the file wrote them in.
    pub connections: Vec<(PortRef, PortRef)>,
    pub spans: AssemblySpans,
}

/// Where things are in the file, for diagnostics raised after parsing
/// (the engine, the program runner).
#[derive(Debug, Clone, Default)]
pub struct AssemblySpans {
    /// The name the file was parsed under (its path for [`load`]).
    pub name: String,
    /// The file's text, which the spans index into.
    pub text: Arc<String>,
    /// The key of each instance under `components:`, in `instances` order.
    pub instances: Vec<SrcSpan>,
    /// Each `[a.p, b.q]` item, in `connections` order.
    pub connections: Vec<SrcSpan>,
    /// The `components` key, if the file has one.
    pub components: Option<SrcSpan>,
    /// Every node of the file by path (`types.Server.transitions.start`).
    pub index: SpanIndex,
}

impl AssemblySpans {
    /// The file as a miette source, for labels on the spans above.
    pub fn source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name.clone(), self.text.clone())
    }
}

impl Assembly {
    /// The deployment this file describes: `add` and `con` for every
    /// instance and connection, `pushB(c, deploy)` for each instance, then
    /// `waitAll()`; spans point at the instance or connection in the file.
    pub fn to_runnable(&self) -> Runnable {
        let mut program = Vec::new();
        let mut spans = Vec::new();
        let instance_span = |i: usize| self.spans.instances.get(i).copied().unwrap_or_default();
        for (i, (name, ty)) in self.instances.iter().enumerate() {
            program.push(Instr::Add {
                name: name.clone(),
                ty: ty.clone(),
                placement: self.placements.get(i).cloned().unwrap_or_default(),
            });
            spans.push(instance_span(i));
        }
        for (i, (u, p)) in self.connections.iter().enumerate() {
            program.push(Instr::Con {
                a: u.clone(),
                b: p.clone(),
            });
            spans.push(self.spans.connections.get(i).copied().unwrap_or_default());
        }
        for (i, name) in self.instances.keys().enumerate() {
            program.push(Instr::PushB {
                name: name.clone(),
                behavior: "deploy".to_string(),
            });
            spans.push(instance_span(i));
        }
        program.push(Instr::WaitAll);
        spans.push(self.spans.components.unwrap_or_default());
        Runnable {
            types: self.types.clone(),
            program,
            spans,
        }
    }
}

/// One problem found in a file: what, where, and how to fix it. Has no
/// source of its own; [`AssemblyError`] and [`Warning`] supply it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Stable identifier, `assembly::<rule>`; the rules are listed in
    /// docs/assembly-format.md.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: SrcSpan,
    pub label: String,
    pub help: Option<String>,
    /// A second location worth showing, such as the first of two duplicates.
    pub also: Option<(SrcSpan, String)>,
}

impl Problem {
    pub(crate) fn error(
        code: &'static str,
        message: impl Into<String>,
        span: SrcSpan,
        label: impl Into<String>,
    ) -> Problem {
        Problem {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            also: None,
        }
    }

    pub(crate) fn warning(
        code: &'static str,
        message: impl Into<String>,
        span: SrcSpan,
        label: impl Into<String>,
    ) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, message, span, label)
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn with_also(mut self, span: SrcSpan, label: impl Into<String>) -> Problem {
        self.also = Some((span, label.into()));
        self
    }

    fn labeled_spans(&self) -> Vec<LabeledSpan> {
        let mut v = vec![LabeledSpan::new_primary_with_span(
            Some(self.label.clone()),
            self.span,
        )];
        if let Some((span, label)) = &self.also {
            v.push(LabeledSpan::new_with_span(Some(label.clone()), *span));
        }
        v
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labeled_spans().into_iter()))
    }
}

/// Every error found in an assembly file. Renders as the first problem,
/// with the others as related diagnostics, in file order.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.problems.first().map_or("invalid assembly", |p| p.message.as_str()))]
pub struct AssemblyError {
    pub src: NamedSource<String>,
    /// Never empty.
    pub problems: Vec<Problem>,
}

impl AssemblyError {
    fn new(name: &str, src: &str, mut problems: Vec<Problem>) -> AssemblyError {
        problems.sort_by_key(|p| p.span.offset);
        AssemblyError {
            src: NamedSource::new(name, src.to_string()).with_language("yaml"),
            problems,
        }
    }
}

impl Diagnostic for AssemblyError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problems.first().and_then(|p| p.code())
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problems.first().and_then(|p| p.help())
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.problems.first().and_then(|p| p.labels())
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.problems.iter().skip(1).map(|p| p as &dyn Diagnostic),
        ))
    }
}

/// Something suspicious but runnable, such as an unconnected use port.
#[derive(Debug, Clone)]
pub struct Warning {
    pub problem: Problem,
    src: NamedSource<Arc<String>>,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problem.message)
    }
}

impl std::error::Error for Warning {}

impl Diagnostic for Warning {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.code()
    }
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.problem.labels()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
}

/// Parse and validate an assembly file; `name` labels diagnostics.
pub fn parse(name: &str, src: &str) -> Result<(Assembly, Vec<Warning>), AssemblyError> {
    let fail = |problems| AssemblyError::new(name, src, problems);
    let index = SpanIndex::build(src);
    // serde_norway's scanner (libyaml's) takes time quadratic in the depth
    // of flow collections (`[[[[...`): past granit-parser's limit, do not
    // run it.
    if let Err(syntax) = &index {
        if syntax.too_deep {
            let p = Problem::error("assembly::syntax", &syntax.message, syntax.at, "here");
            return Err(fail(vec![p.with_help("fix the YAML syntax first")]));
        }
    }
    let raw = serde_norway::from_str::<file::RawFile>(src);
    let index = match index {
        Ok(ix) => ix,
        Err(syntax) => {
            // Both parsers reject the file; serde_norway's message is the
            // one users of other YAML tools will recognise.
            let p = match &raw {
                Err(e) => serde_problem("assembly::syntax", src, None, e),
                Ok(_) => Problem::error("assembly::syntax", syntax.message, syntax.at, "here"),
            };
            return Err(fail(vec![p.with_help("fix the YAML syntax first")]));
        }
    };
    if index.nodes().is_empty() {
        return Err(fail(vec![Problem::error(
            "assembly::empty_file",
            "the assembly file is empty",
            SrcSpan::default(),
            "nothing here",
        )
        .with_help("an assembly has `types:`, `components:` and `connections:`; see docs/assembly-format.md")]));
    }

    let mut problems = validate::check_keys(&index, src);
    let raw = match raw {
        Ok(raw) => raw,
        Err(e) => {
            // A key repeated in a struct-like mapping stops serde; the
            // span index has already reported it (and every other one).
            let redundant = !problems.is_empty() && e.to_string().contains("duplicate field `");
            if !redundant {
                problems.push(serde_problem("assembly::shape", src, Some(&index), &e));
            }
            return Err(fail(problems));
        }
    };

    let out = validate::resolve(&raw, &index, src);
    problems.extend(out.errors);
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let text = Arc::new(src.to_string());
    let source = NamedSource::new(name, text.clone()).with_language("yaml");
    let mut warnings: Vec<Warning> = out
        .warnings
        .into_iter()
        .map(|problem| Warning {
            problem,
            src: source.clone(),
        })
        .collect();
    warnings.sort_by_key(|w| w.problem.span.offset);
    let r = out.resolved;
    Ok((
        Assembly {
            types: r.types,
            instances: r.instances,
            placements: r.placements,
            connections: r.connections,
            spans: AssemblySpans {
                name: name.to_string(),
                text,
                instances: r.instance_spans,
                connections: r.connection_spans,
                components: index.key("components"),
                index,
            },
        },
        warnings,
    ))
}

/// Read and parse an assembly file; the report names the path.
pub fn load(path: &Path) -> Result<(Assembly, Vec<Warning>), miette::Report> {
    let src = std::fs::read_to_string(path).map_err(|e| {
        miette::miette!(
            code = "assembly::read",
            "cannot read assembly file `{}`: {e}",
            path.display()
        )
    })?;
    let (mut assembly, warnings) =
        parse(&path.display().to_string(), &src).map_err(miette::Report::new)?;
    assembly.resolve_files(path.parent().unwrap_or(Path::new(".")))?;
    Ok((assembly, warnings))
}

impl Assembly {
    /// Make the `src` files of copy and template actions absolute
    /// (relative to `dir`, the assembly's directory), and check that they
    /// can be read now rather than halfway through a run.
    pub fn resolve_files(&mut self, dir: &Path) -> Result<(), miette::Report> {
        let mut problems = Vec::new();
        for (tname, ty) in self.types.iter_mut() {
            let mut t = (**ty).clone();
            let mut changed = false;
            for tr in &mut t.ty.transitions {
                let Action::Copy {
                    content: CopySource::File(f),
                    template,
                    ..
                } = &mut tr.action
                else {
                    continue;
                };
                let full = dir.join(&*f);
                if let Err(e) = std::fs::metadata(&full).and_then(|m| {
                    if m.is_file() {
                        Ok(())
                    } else {
                        Err(std::io::Error::other("not a regular file"))
                    }
                }) {
                    let key = if *template { "template" } else { "copy" };
                    let at = self.spans.index.value_at(&format!(
                        "types.{tname}.transitions.{}.action.{key}.src",
                        tr.name
                    ));
                    problems.push(
                        Problem::error(
                            "assembly::missing_file",
                            format!("cannot read `{}`: {e}", full.display()),
                            at,
                            "this file",
                        )
                        .with_help("`src` is relative to the assembly file's directory"),
                    );
                }
                *f = full;
                changed = true;
            }
            if changed {
                *ty = Arc::new(crate::model::TypeIndex::new(t.ty));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(miette::Report::new(AssemblyError::new(
                &self.spans.name,
                &self.spans.text,
                problems,
            )))
        }
    }
}

/// A serde_norway error as a problem: its message without the trailing
/// "at line L column C" (the label shows where), pointing at the token at
/// its location.
fn serde_problem(
    code: &'static str,
    src: &str,
    index: Option<&SpanIndex>,
    e: &serde_norway::Error,
) -> Problem {
    let (mut msg, marks) = strip_marks(&e.to_string());
    for (internal, user) in [
        (
            "struct RawFile",
            "a mapping of `types`, `components` and `connections`",
        ),
        ("struct RawType", "a component type (a mapping)"),
        ("struct RawTransition", "a transition (a mapping)"),
        ("struct RawAction", "an action (a mapping)"),
        ("struct RawPort", "a port (a mapping)"),
    ] {
        msg = msg.replace(internal, user);
    }
    let span = match e.location() {
        Some(loc) => {
            let offset = floor_char_boundary(src, loc.index());
            index
                .and_then(|ix| ix.token_at(src, offset))
                .unwrap_or(SrcSpan { offset, len: 0 })
        }
        None => SrcSpan::default(),
    };
    let mut p = Problem::error(code, msg.clone(), span, "here")
        .with_help("docs/assembly-format.md gives the expected shape of every key");
    // libyaml's "..., while parsing a flow sequence at line 3 column 13":
    // where the construct that could not be finished began.
    if let (Some(i), Some(&(line, col))) = (msg.find("while parsing "), marks.last()) {
        if marks.len() > 1 {
            let what = &msg[i + "while parsing ".len()..];
            p = p.with_also(
                SrcSpan {
                    offset: offset_of(src, line, col),
                    len: 0,
                },
                format!("{what} starts here"),
            );
        }
    }
    p
}

/// Remove every " at line L column C" from a libyaml message; returns the
/// text and the (1-based) positions removed.
fn strip_marks(msg: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::new();
    let mut marks = Vec::new();
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + " at line ".len()..];
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let nl = digits(tail);
        let after = tail[nl..].strip_prefix(" column ");
        match (tail[..nl].parse::<usize>(), after) {
            (Ok(line), Some(after)) => {
                let nc = digits(after);
                marks.push((line, after[..nc].parse().unwrap_or(1)));
                rest = &after[nc..];
            }
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    (out, marks)
}

fn floor_char_boundary(src: &str, offset: usize) -> usize {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Byte offset of a 1-based line and column (in characters).
fn offset_of(src: &str, line: usize, col: usize) -> usize {
    let start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let text = &src[start..];
    let within = text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    start + within
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
types:
  S:
    places: [off, on]
    transitions: {start: {from: off, to: on}}
    ports: {p: {kind: provide, type: t, bind: [on]}}
  C:
    places: [off, on]
    transitions: {start: {from: off, to: on}}
    ports: {u: {kind: use, type: t, bind: [start]}}
components: {s: S, c: C}
connections:
  - [s.p, c.u]
";

    #[test]
    fn runnable_deploys_every_instance() {
        let (a, warnings) = parse("small.yaml", SMALL).unwrap();
        assert!(warnings.is_empty());
        let c = PortRef {
            component: "c".into(),
            port: "u".into(),
        };
        let s = PortRef {
            component: "s".into(),
            port: "p".into(),
        };
        assert_eq!(a.connections, vec![(c.clone(), s.clone())]);
        let r = a.to_runnable();
        let text: Vec<String> = r.program.iter().map(|i| i.to_string()).collect();
        assert_eq!(
            text,
            [
                "add(s : S)",
                "add(c : C)",
                "con(c.u, s.p)",
                "pushB(s, deploy)",
                "pushB(c, deploy)",
                "waitAll()"
            ]
        );
        let at = |i: usize| &SMALL[r.spans[i].offset..r.spans[i].offset + r.spans[i].len];
        assert_eq!(
            (at(0), at(1), at(2), at(4), at(5)),
            ("s", "c", "[s.p, c.u]", "c", "components")
        );
        assert_eq!(r.types.len(), 2);
        assert_eq!(a.spans.source().name(), "small.yaml");
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let src = SMALL
            .replace("to: on}}\n    ports: {p:", "to: onn}}\n    ports: {p:")
            .replace("type: t, bind: [start]", "type: x, bind: [strat]")
            .replace("c: C}", "c: C, d: D}");
        let e = parse("bad.yaml", &src).unwrap_err();
        let codes: Vec<&str> = e.problems.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "assembly::unknown_place",
                "assembly::unknown_binding",
                "assembly::unknown_type",
                "assembly::port_type_mismatch"
            ]
        );
        assert_eq!(e.to_string(), e.problems[0].message);
        assert_eq!(e.related().unwrap().count(), 3);
        assert!(e
            .problems
            .windows(2)
            .all(|w| w[0].span.offset <= w[1].span.offset));
    }

    #[test]
    fn load_names_the_path() {
        let err = load(Path::new("/nonexistent/x.yaml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.yaml"), "{err}");
    }

    #[test]
    fn libyaml_marks_are_stripped() {
        let (msg, marks) =
            strip_marks("bad at line 4 column 16, while parsing x at line 3 column 2");
        assert_eq!(msg, "bad, while parsing x");
        assert_eq!(marks, [(4, 16), (3, 2)]);
        assert_eq!(offset_of("ab\ncd\n", 2, 2), 4);
        assert_eq!(offset_of("ab", 9, 9), 2);
    }
}

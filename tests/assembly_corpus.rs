//! Corpus tests for the assembly format, in the style of minijinja's:
//! every `tests/assembly_corpus/*.yaml` is parsed and its outcome
//! snapshotted. Files named `err_*` must be rejected (the snapshot is the
//! rendered report); every other file must parse (the snapshot is a dump of
//! the resolved model, its deployment program and its rendered warnings).
//!
//! Also: `parse` never panics, on arbitrary text or on mutations of a
//! valid file.

use concerto::assembly::{self, Assembly, Warning};
use concerto::model::{Action, Binding, DurationSpec, SrcSpan};
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const CORPUS: &str = "tests/assembly_corpus";

/// What `insta::glob!("assembly_corpus/*.yaml", ...)` does (same snapshot
/// names, `<test>@<file>.snap`), without insta's `glob` feature, which would
/// add dependencies. Runs every file, then fails if any snapshot did.
fn for_each_corpus_file(f: impl Fn(&Path)) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());
    let mut failed = Vec::new();
    for path in &files {
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(path);
        settings.set_snapshot_suffix(path.file_name().unwrap().to_str().unwrap());
        let ok =
            settings.bind(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(path))));
        if ok.is_err() {
            failed.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failed.is_empty(), "corpus failures: {failed:?}");
}

#[test]
fn corpus() {
    for_each_corpus_file(|path| {
        let name = path.file_name().unwrap().to_str().unwrap();
        let src = std::fs::read_to_string(path).unwrap();
        let out = match assembly::parse(name, &src) {
            Ok((a, warnings)) => {
                assert!(!name.starts_with("err_"), "{name} should be rejected");
                format!("{}{}", dump(&a, &src), render_warnings(&warnings))
            }
            Err(e) => {
                assert!(
                    name.starts_with("err_"),
                    "{name} should parse:\n{}",
                    render(&e)
                );
                render(&e)
            }
        };
        insta::assert_snapshot!(out);
    });
}

fn render(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .unwrap();
    out
}

fn render_warnings(ws: &[Warning]) -> String {
    let mut out = String::new();
    for w in ws {
        out.push_str("\n--- warning ---\n");
        out.push_str(&render(w));
    }
    out
}

fn line_col(src: &str, s: SrcSpan) -> String {
    let before = &src[..s.offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{line}:{col}")
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

fn spec(s: &DurationSpec) -> String {
    match s {
        DurationSpec::Fixed(d) => secs(*d),
        DurationSpec::Uniform { lo, hi } => format!("uniform({lo}, {hi})"),
    }
}

/// A compact, readable dump of the resolved model.
fn dump(a: &Assembly, src: &str) -> String {
    let mut o = String::new();
    for (name, ix) in &a.types {
        let t = &ix.ty;
        assert_eq!(&t.name, name);
        let _ = writeln!(
            o,
            "type {name}: places [{}] initial {}; behaviors [{}]",
            t.places.join(", "),
            t.places[t.initial],
            t.behaviors.join(", ")
        );
        for tr in &t.transitions {
            let action = match &tr.action {
                Action::Sleep(s) => format!("sleep {}", spec(s)),
                Action::Command { cmd, timeout } => match timeout {
                    Some(d) => format!("command {cmd:?} timeout {}", secs(*d)),
                    None => format!("command {cmd:?}"),
                },
                Action::Copy {
                    dest,
                    content,
                    mode,
                    template,
                    timeout,
                } => format!(
                    "{} {content:?} to {dest:?} mode {mode:o}{}",
                    if *template { "template" } else { "copy" },
                    timeout
                        .map(|d| format!(" timeout {}", secs(d)))
                        .unwrap_or_default()
                ),
                Action::Nothing => "nothing".to_string(),
            };
            let est = tr
                .estimate
                .as_ref()
                .map(|s| format!(", estimate {}", spec(s)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  t {}: {} -> {} [{}, idset {}] {action}{est}",
                tr.name, t.places[tr.src], t.places[tr.dst], t.behaviors[tr.behavior], tr.idset
            );
        }
        for g in &t.groups {
            let ps: Vec<&str> = g.places.iter().map(|&p| t.places[p].as_str()).collect();
            let _ = writeln!(o, "  group {}: [{}]", g.name, ps.join(", "));
        }
        for p in &t.ports {
            let bs: Vec<String> = p
                .bindings
                .iter()
                .map(|b| match *b {
                    Binding::Transition(i) => format!("transition {}", t.transitions[i].name),
                    Binding::Place(i) => format!("place {}", t.places[i]),
                    Binding::Group(i) => format!("group {}", t.groups[i].name),
                })
                .collect();
            let _ = writeln!(
                o,
                "  port {}: {} {} -> {}",
                p.name,
                p.kind.as_str(),
                p.ty,
                bs.join(", ")
            );
        }
    }
    for ((i, ty), at) in a.instances.iter().zip(&a.placements) {
        let _ = writeln!(o, "instance {i}: {ty}{at}");
    }
    for (u, p) in &a.connections {
        let _ = writeln!(o, "connection {u} -> {p}");
    }
    let r = a.to_runnable();
    assert_eq!(r.program.len(), r.spans.len());
    if !a.instances.is_empty() {
        o.push_str("program:\n");
        for (ins, sp) in r.program.iter().zip(&r.spans) {
            let _ = writeln!(o, "  {ins}  @{}", line_col(src, *sp));
        }
    }
    o
}

/// A "billion laughs" document: aliases nested ten deep, 10^10 nodes if
/// expanded. Both the span index and serde_norway must bound the work.
#[test]
fn alias_bombs_are_bounded() {
    let mut s = String::from("types:\n  T: &a0 {places: [x, x, x, x, x, x, x, x, x, x]}\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        let items = [p.as_str(); 10].join(", ");
        s.push_str(&format!("  T{i}: &a{i} [{items}]\n"));
    }
    let start = std::time::Instant::now();
    let e = assembly::parse("bomb.yaml", &s).expect_err("nested lists are not types");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    render(&e);
}

/// A valid file whose bytes proptest mutates.
const SEED: &str = include_str!("assembly_corpus/server_client.yaml");

/// Parse, and render whatever comes out: spans must lie inside the text,
/// on character boundaries, or rendering would fail.
fn parse_and_render(s: &str) {
    let valid = |sp: SrcSpan| {
        sp.offset + sp.len <= s.len()
            && s.is_char_boundary(sp.offset)
            && s.is_char_boundary(sp.offset + sp.len)
    };
    match assembly::parse("fuzz.yaml", s) {
        Ok((_, ws)) => {
            for w in &ws {
                assert!(valid(w.problem.span), "{w:?}");
                render(w);
            }
        }
        Err(e) => {
            assert!(!e.problems.is_empty());
            for p in &e.problems {
                assert!(valid(p.span), "{p:?}");
                assert!(p.also.as_ref().is_none_or(|(sp, _)| valid(*sp)), "{p:?}");
            }
            render(&e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC*") {
        parse_and_render(&s);
    }

    #[test]
    fn never_panics_on_yamlish_text(s in "[a-z:\\[\\]{}, \n\t&*!|>'\"#.-]{0,200}") {
        parse_and_render(&s);
    }

    #[test]
    fn never_panics_on_mutated_files(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)
    ) {
        let mut bytes = SEED.as_bytes().to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        let s = String::from_utf8_lossy(&bytes);
        parse_and_render(&s);
    }
}

//! Snapshot corpus of the `.concerto` language, in the style of minijinja's
//! tests: every `tests/program_corpus/*.concerto` is compiled and its
//! expanded instructions (or its rendered error) snapshotted in
//! `tests/snapshots/program_corpus__<file stem>.snap`.
//!
//! - A first line `# set: n=5, m=2` gives `--set` values.
//! - Files named `err_*` must fail to compile; the others must succeed.
//!
//! This is what `insta::glob!` does; it is written out because insta's
//! `glob` feature would pull in new dependencies.

use concerto::program::compile;
use indexmap::IndexMap;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::path::{Path, PathBuf};

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, diagnostic)
        .expect("rendering to a String cannot fail");
    out
}

/// `--set` values from a first line `# set: n=5, m=2`.
fn set_params(src: &str) -> IndexMap<String, i64> {
    let first = src.lines().next().unwrap_or("");
    let Some(list) = first.strip_prefix("# set:") else {
        return IndexMap::new();
    };
    list.split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("`# set:` takes NAME=INT pairs");
            (
                k.trim().to_string(),
                v.trim().parse().expect("an integer value"),
            )
        })
        .collect()
}

/// The snapshot text of one corpus file, and whether it compiled.
fn run(path: &Path) -> (String, bool) {
    let src = std::fs::read_to_string(path).expect("readable corpus file");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    match compile(name, &src, &set_params(&src)) {
        Ok(program) => {
            let line = |offset: usize| src[..offset].matches('\n').count() + 1;
            let mut out = String::new();
            for (path, span) in &program.imports {
                out += &format!("{:>3} | import {path:?}\n", line(span.offset));
            }
            assert_eq!(program.instrs.len(), program.spans.len());
            for (instr, span) in program.instrs.iter().zip(&program.spans) {
                out += &format!("{:>3} | {instr}\n", line(span.offset));
            }
            (out, true)
        }
        Err(e) => (render(&e), false),
    }
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/program_corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "concerto"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", dir.display());

    let mut failures = Vec::new();
    for path in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let (output, ok) = run(path);
        if ok == stem.starts_with("err_") {
            failures.push(format!(
                "{stem}: expected {}, got:\n{output}",
                if ok { "an error" } else { "success" }
            ));
            continue;
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(path);
        settings.set_omit_expression(true);
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(stem.as_str(), output));
        }));
        if checked.is_err() {
            failures.push(format!("{stem}: snapshot mismatch (see above)"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

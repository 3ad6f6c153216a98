//! Corpus tests for `concerto translate`: one small project in
//! (`tests/translate_corpus/<case>/`: `site.yml`, an INI `inventory`, maybe
//! `concerto.yml` annotations and `roles/`), one snapshot out
//! (`snapshots/translate_corpus__<case>.snap`): `Translation::text()`,
//! the components, their transitions with their tasks, the dependencies
//! with their evidence, the relaxed orderings and the conservative
//! decisions. For `error_*` cases, the rendered diagnostic, which names
//! `file:line:col`.
//!
//! Each case's `site.yml` starts with a comment saying what it shows and
//! the answer expected; the snapshot is checked against it by reading.
//!
//! A case whose translation is known to be wrong holds a `KNOWN_BUG` file
//! instead of a snapshot (nothing wrong is pinned as passing): what is
//! expected, what the translator does, and `got: LINE` / `missing: LINE`
//! lines the wrong output has / lacks. The test checks the bug is still
//! there; when it is fixed the test fails: read the output, check it
//! against the case's comment, remove `KNOWN_BUG` and accept the snapshot.

use std::path::{Path, PathBuf};

use concerto_translator::translate::{self, Request};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .expect("a diagnostic renders");
    out
}

/// A case's directory, checked: a malformed one fails the test.
fn check_case(case: &Path) -> Result<(), String> {
    for f in ["site.yml", "inventory"] {
        if !case.join(f).is_file() {
            return Err(format!("{}: no {f}", case.display()));
        }
    }
    for entry in std::fs::read_dir(case).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().to_string();
        if !matches!(
            name.as_str(),
            "site.yml" | "inventory" | "concerto.yml" | "roles" | "templates" | "KNOWN_BUG"
        ) {
            return Err(format!("{}: unexpected entry `{name}`", case.display()));
        }
    }
    let site = std::fs::read_to_string(case.join("site.yml")).map_err(|e| e.to_string())?;
    if !site.starts_with('#') {
        return Err(format!(
            "{}: site.yml must start with a comment saying what the case shows and the expected answer",
            case.display()
        ));
    }
    Ok(())
}

#[test]
fn corpus() {
    // The cases hold their own roles (`roles/` next to `site.yml`, which
    // Ansible searches first); nothing from the environment.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ANSIBLE_") {
            std::env::remove_var(&k);
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/translate_corpus");
    let mut cases: Vec<PathBuf> = Vec::new();
    let mut malformed: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        if !path.is_dir() {
            malformed.push(format!("{}: not a case directory", path.display()));
            continue;
        }
        match check_case(&path) {
            Ok(()) => cases.push(path),
            Err(e) => malformed.push(e),
        }
    }
    assert!(
        malformed.is_empty(),
        "malformed cases:\n{}",
        malformed.join("\n")
    );
    cases.sort();
    assert!(cases.len() >= 20, "the corpus is missing");
    let mut ran = Vec::new();
    let mut known = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let req = Request {
            playbook: case.join("site.yml"),
            inventory: case.join("inventory"),
            ..Default::default()
        };
        let result = translate::run(&req);
        let text = match (result, name.starts_with("error_")) {
            (Ok(t), false) => t.text(),
            (Err(e), true) => {
                let text = render(&e);
                // Paths relative to the crate, whatever the checkout.
                let text = text.replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "");
                assert!(
                    text.contains(&format!("[tests/translate_corpus/{name}/")),
                    "{name}: the diagnostic names no file:line:col:\n{text}"
                );
                text
            }
            (Ok(t), true) => panic!(
                "{name}: translated, but an error was expected:\n{}",
                t.text()
            ),
            (Err(e), false) => panic!("{name}: {}", render(&e)),
        };
        let known_bug = case.join("KNOWN_BUG");
        if known_bug.is_file() {
            check_known_bug(&name, &known_bug, &text);
            known.push(name);
            continue;
        }
        insta::assert_snapshot!(name.as_str(), text);
        ran.push(name);
    }
    println!(
        "translate corpus: {} cases checked against their snapshots: {}",
        ran.len(),
        ran.join(", ")
    );
    println!(
        "translate corpus: {} known bugs, still there (no snapshot): {}",
        known.len(),
        known.join(", ")
    );
}

/// A known bug's case: its wrong output is not snapshotted, but the test
/// checks that it is still the one described.
fn check_known_bug(name: &str, file: &Path, text: &str) {
    let snap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/snapshots/translate_corpus__{name}.snap"));
    assert!(
        !snap.exists(),
        "{name}: a known bug's wrong output must not be snapshotted ({})",
        snap.display()
    );
    let bug = std::fs::read_to_string(file).expect("KNOWN_BUG reads");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut checks = 0;
    for l in bug.lines() {
        if let Some(want) = l.strip_prefix("got: ") {
            checks += 1;
            assert!(
                lines.contains(&want.trim()),
                "{name}: the known bug's line `{want}` is gone: fixed? Check the output against the case's comment, remove KNOWN_BUG and accept the snapshot.\n{text}"
            );
        } else if let Some(unwanted) = l.strip_prefix("missing: ") {
            checks += 1;
            assert!(
                !lines.iter().any(|x| x.starts_with(unwanted.trim())),
                "{name}: `{unwanted}` now shows: fixed? Check the output against the case's comment, remove KNOWN_BUG and accept the snapshot.\n{text}"
            );
        }
    }
    assert!(
        checks > 0,
        "{name}: KNOWN_BUG has no `got:` or `missing:` line"
    );
    println!("{name}: KNOWN BUG (not snapshotted):\n{bug}\n--- output:\n{text}");
}

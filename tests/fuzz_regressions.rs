//! Inputs found by (or written for) the fuzz targets in `fuzz/`, replayed
//! through the same code path as their target: no input may panic, hang or
//! overflow the stack, and every error must render.
//!
//! `tests/fuzz_regressions/<target>/*` holds one input per file, where
//! `<target>` is `assembly`, `program`, `durations`, `ansible_yaml` or
//! `playbook` (see fuzz/README.md).

use concerto::model::{Runnable, Types};
use indexmap::IndexMap;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn render(d: &dyn Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("rendering a diagnostic failed");
    out
}

/// The `assembly` target: parse, render errors and warnings, `to_runnable`.
fn assembly(src: &str) {
    match concerto::assembly::parse("fuzz.yaml", src) {
        Ok((assembly, warnings)) => {
            for w in &warnings {
                render(w);
            }
            let _ = assembly.to_runnable();
        }
        Err(e) => assert!(!render(&e).is_empty()),
    }
}

fn galera_types() -> &'static Types {
    static TYPES: OnceLock<Types> = OnceLock::new();
    TYPES.get_or_init(|| {
        let src = std::fs::read_to_string(root().join("examples/galera/galera.yaml")).unwrap();
        concerto::assembly::parse("galera.yaml", &src)
            .expect("examples/galera/galera.yaml is valid")
            .0
            .types
    })
}

/// The `program` target: compile with n=3, m=2, check against the galera
/// types, render.
fn program(src: &str) {
    let params: IndexMap<String, i64> = [("n".to_string(), 3), ("m".to_string(), 2)].into();
    match concerto::program::compile("fuzz.concerto", src, &params) {
        Ok(program) => {
            if let Err(e) = concerto::program::check("fuzz.concerto", src, &program, galera_types())
            {
                assert!(!render(&e).is_empty());
            }
        }
        Err(e) => assert!(!render(&e).is_empty()),
    }
}

fn deploy_runnable() -> &'static Runnable {
    static RUNNABLE: OnceLock<Runnable> = OnceLock::new();
    RUNNABLE.get_or_init(|| {
        let path = root().join("examples/client-server/deploy.concerto");
        concerto::load::load(&path, &IndexMap::new())
            .expect("examples/client-server/deploy.concerto loads")
            .runnable
    })
}

/// The `durations` target: parse against deploy.concerto's runnable, render.
fn durations(text: &str) {
    if let Err(e) = concerto::load::parse_durations("fuzz.durations.yaml", text, deploy_runnable())
    {
        assert!(!render(&e).is_empty());
    }
}

/// The `ansible_yaml` target: the translator's YAML loader, render errors.
fn ansible_yaml(src: &str) {
    match concerto_translator::yaml::from_yaml("fuzz.yml", src) {
        Ok(doc) => {
            let _ = concerto_translator::yaml::canonical_json(&doc.root);
        }
        Err(e) => assert!(!render(e.as_ref()).is_empty()),
    }
}

/// The `playbook` target: load the text as a playbook, with `--expand`.
fn playbook(src: &str) {
    let opts = concerto_translator::playbook::Options {
        expand: true,
        ..Default::default()
    };
    let path = Path::new("/nonexistent/concerto-fuzz/site.yml");
    match concerto_translator::playbook::load_text(path, src, &opts) {
        Ok(ir) => {
            let _ = ir.to_text();
        }
        Err(e) => assert!(!render(&e).is_empty()),
    }
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fuzz_regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files
}

/// Run every input of `target` on a thread with the main thread's stack
/// size (8 MiB, what the CLI and the fuzzer have), naming the failing file.
fn replay(target: &str, run: fn(&str)) {
    for path in inputs(target) {
        let bytes = std::fs::read(&path).unwrap();
        // The targets skip non-UTF-8 input; the CLI rejects it on reading.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let name = path.display().to_string();
        let outcome = std::thread::Builder::new()
            .name(name.clone())
            .stack_size(8 << 20)
            .spawn(move || run(&text))
            .unwrap()
            .join();
        assert!(outcome.is_ok(), "{target}: {name} panicked");
    }
}

#[test]
fn assembly_inputs_never_panic() {
    replay("assembly", assembly);
}

#[test]
fn program_inputs_never_panic() {
    replay("program", program);
}

#[test]
fn durations_inputs_never_panic() {
    replay("durations", durations);
}

#[test]
fn ansible_yaml_inputs_never_panic() {
    replay("ansible_yaml", ansible_yaml);
}

#[test]
fn playbook_inputs_never_panic() {
    replay("playbook", playbook);
}

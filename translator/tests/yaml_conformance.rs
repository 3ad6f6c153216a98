//! Our YAML loader against ansible-core's, file by file.
//!
//! The corpus: every `*.yml`/`*.yaml` of kolla-ansible's Ansible tree (as
//! installed in the venv), those of the venv's Python packages (ansible-core
//! ships its filter and test documentation, configuration and galaxy
//! templates as YAML), and the edge cases in `tests/yaml_corpus/`. Each
//! file is loaded by `concerto_translator::yaml::from_yaml` and by
//! `tests/yaml_oracle.py` (ansible-core's `from_yaml`, as Ansible loads
//! playbooks and vars files); both sides print the canonical JSON of
//! `yaml::canonical_json`, which must be equal byte for byte (key order
//! included), or both sides must refuse the file.
//!
//! Needs `CONCERTO_PYTHON` (see `.ci/python-env.sh`); fails without it.

mod common;

use std::path::{Path, PathBuf};

use concerto_translator::yaml;

/// Files where we knowingly differ from ansible-core, and why. The test
/// fails if one of them stops differing (the entry is stale) or if any
/// other file differs.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "known_recursive_alias.yml",
        "an alias inside its own anchor: PyYAML builds a recursive list, we refuse it \
         (our values are trees; Ansible cannot template recursive data either)",
    ),
    (
        "known_set_order.yml",
        "`!!set` is a Python set: iteration order follows string hashes, which vary per \
         process; we keep the order of the file",
    ),
];

struct Outcome {
    path: PathBuf,
    ours: Result<String, String>,
    theirs: Result<String, String>,
}

fn ours(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    yaml::from_yaml(&path.display().to_string(), &text)
        .map(|d| yaml::canonical_json(&d.root))
        .map_err(|e| format!("{}: {}", e.location(), e.message))
}

fn same(o: &Outcome) -> bool {
    match (&o.ours, &o.theirs) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// The first place where two canonical JSON texts differ, with context.
fn first_difference(a: &str, b: &str) -> String {
    let i = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = i.saturating_sub(80);
    let cut = |s: &str| s.get(from..(i + 80).min(s.len())).unwrap_or("").to_string();
    format!(
        "at byte {i}:\n      ours:   …{}…\n      ansible: …{}…",
        cut(a),
        cut(b)
    )
}

fn describe(o: &Outcome) -> String {
    match (&o.ours, &o.theirs) {
        (Ok(a), Ok(b)) => first_difference(a, b),
        (Ok(_), Err(e)) => format!("ansible refuses it ({e}), we load it"),
        (Err(e), Ok(_)) => format!("we refuse it ({e}), ansible loads it"),
        (Err(_), Err(_)) => "both refuse it".into(),
    }
}

#[test]
fn yaml_matches_ansible_core() {
    let oracle = common::oracle();
    let kolla = oracle.kolla_ansible_dir();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_corpus");
    let kolla_files = common::files_under(&kolla, &[".yml", ".yaml"]);
    let package_files = common::files_under(&oracle.site_packages, &[".yml", ".yaml"]);
    let corpus_files = common::files_under(&corpus, &[".yml", ".yaml", ".json"]);
    assert!(
        kolla_files.len() > 1000,
        "only {} YAML files under {}",
        kolla_files.len(),
        kolla.display()
    );
    assert!(!corpus_files.is_empty(), "no files in {}", corpus.display());
    assert!(
        !package_files.is_empty(),
        "no YAML files in {}",
        oracle.site_packages.display()
    );
    let files: Vec<PathBuf> = kolla_files
        .iter()
        .chain(&package_files)
        .chain(&corpus_files)
        .cloned()
        .collect();

    let input: String = files.iter().map(|p| format!("{}\n", p.display())).collect();
    let answer = oracle.run_script("yaml", &input);
    let lines: Vec<&str> = answer.lines().collect();
    assert_eq!(lines.len(), files.len(), "one oracle line per file");

    let outcomes: Vec<Outcome> = files
        .iter()
        .zip(lines)
        .map(|(path, line)| {
            let theirs = match line.split_once('\t') {
                Some(("OK", json)) => Ok(json.to_string()),
                Some(("ERR", msg)) => Err(msg.to_string()),
                // Loaded, but not a tree: nothing we could equal.
                Some(("UNMAPPABLE", msg)) => Ok(format!("<unmappable: {msg}>")),
                _ => panic!("bad oracle line for {}: {line}", path.display()),
            };
            Outcome {
                path: path.clone(),
                ours: ours(path),
                theirs,
            }
        })
        .collect();

    let name = |o: &Outcome| {
        o.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let known = |o: &Outcome| {
        o.path.starts_with(&corpus) && KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == name(o))
    };
    let count = |fs: &[PathBuf]| {
        outcomes
            .iter()
            .filter(|o| fs.contains(&o.path) && same(o))
            .count()
    };
    let errors_both = outcomes
        .iter()
        .filter(|o| o.ours.is_err() && o.theirs.is_err())
        .count();
    println!(
        "YAML conformance against ansible-core {}: kolla-ansible {}/{} files match, \
         Python packages {}/{}, edge cases {}/{} ({} refused by both sides)",
        oracle.ansible_version,
        count(&kolla_files),
        kolla_files.len(),
        count(&package_files),
        package_files.len(),
        count(&corpus_files),
        corpus_files.len(),
        errors_both,
    );
    let mut unexpected = Vec::new();
    // Edge cases say what they expect: `err_*` files are refused, others
    // load (so that a typo in a test file cannot pass as "both refuse").
    for o in outcomes
        .iter()
        .filter(|o| o.path.starts_with(&corpus) && !known(o))
    {
        let refused = o.theirs.is_err();
        if refused != name(o).starts_with("err_") {
            unexpected.push(format!(
                "{}: ansible {} it; name it {}",
                o.path.display(),
                if refused { "refuses" } else { "loads" },
                if refused { "err_*" } else { "without err_" }
            ));
        }
    }
    for o in &outcomes {
        if same(o) {
            if known(o) {
                unexpected.push(format!(
                    "{}: listed in KNOWN_DIFFERENCES but now matches; remove the entry",
                    o.path.display()
                ));
            }
        } else if known(o) {
            println!("  known difference {}: {}", name(o), describe(o));
        } else {
            unexpected.push(format!("{}: {}", o.path.display(), describe(o)));
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} file(s) differ from ansible-core:\n  {}",
        unexpected.len(),
        unexpected.join("\n  ")
    );
}

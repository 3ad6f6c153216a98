//! Corpus tests for the inventory reader: one inventory in, one snapshot
//! out (`tests/snapshots/inventory_corpus__corpus@<case>.snap`).
//!
//! A case is a file of `tests/inventory_corpus/`, or a subdirectory with an
//! `inventory*` file and its `group_vars/`/`host_vars/`. Cases named
//! `err_*` must be refused (the snapshot is the rendered report, with
//! `file:line:col`); `known_*` cases differ from Ansible on purpose (see
//! `inventory_conformance.rs`); every other case must load, and the
//! snapshot shows the groups, the hosts, every variable with where it is
//! written, each host's merged variables and the warnings.
//!
//! Whether the result is Ansible's is `inventory_conformance.rs`'s
//! business; this test pins the reader's own output and diagnostics. It
//! needs no Python.
//!
//! Also: loading never panics on arbitrary INI or YAML text.

mod common;

use std::fmt::Write;
use std::path::Path;

use concerto_translator::inventory::{self, Inventory, Vars};
use concerto_translator::yaml::canonical_json;
use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;

fn render(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .expect("a diagnostic renders");
    out
}

fn vars(out: &mut String, indent: &str, vars: &Vars) {
    for (k, v) in vars {
        let _ = writeln!(
            out,
            "{indent}{k} = {}    ({})",
            canonical_json(&v.value),
            v.position()
        );
    }
}

fn dump(inv: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "format: {:?}", inv.format.expect("a format"));
    let _ = writeln!(out, "groups:");
    for g in inv.groups.values() {
        let _ = writeln!(
            out,
            "  {} (depth {}, priority {})",
            g.name, g.depth, g.priority
        );
        if !g.parents.is_empty() {
            let _ = writeln!(out, "    parents: {}", g.parents.join(", "));
        }
        if !g.children.is_empty() {
            let _ = writeln!(out, "    children: {}", g.children.join(", "));
        }
        if !g.hosts.is_empty() {
            let _ = writeln!(out, "    hosts: {}", g.hosts.join(", "));
        }
        if !g.vars.is_empty() {
            let _ = writeln!(out, "    vars:");
            vars(&mut out, "      ", &g.vars);
        }
        if let Some(files) = inv.group_vars_files.get(&g.name) {
            for f in files {
                let _ = writeln!(out, "    group_vars file {}:", f.path.display());
                vars(&mut out, "      ", &f.vars);
            }
        }
    }
    let _ = writeln!(out, "hosts:");
    for h in inv.hosts.values() {
        let _ = writeln!(
            out,
            "  {}    (groups: {})",
            h.name,
            inv.host_groups(&h.name).join(", ")
        );
        if !h.vars.is_empty() {
            let _ = writeln!(out, "    vars:");
            vars(&mut out, "      ", &h.vars);
        }
        if let Some(files) = inv.host_vars_files.get(&h.name) {
            for f in files {
                let _ = writeln!(out, "    host_vars file {}:", f.path.display());
                vars(&mut out, "      ", &f.vars);
            }
        }
        let merged = inv.host_vars(&h.name);
        if !merged.is_empty() {
            let _ = writeln!(out, "    merged:");
            vars(&mut out, "      ", &merged);
        }
    }
    if !inv.warnings.is_empty() {
        let _ = writeln!(out, "warnings:");
        for w in &inv.warnings {
            out.push_str(&render(w));
        }
    }
    out
}

/// What `insta::glob!` does, without its `glob` feature: one snapshot per
/// case, named after it; every case runs, then the test fails if any did.
#[test]
fn corpus() {
    // Paths are relative to the crate, cargo's working directory for
    // tests, so that snapshots do not depend on where the checkout is.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failed = Vec::new();
    for (name, path) in common::inventory_cases() {
        let mut settings = insta::Settings::clone_current();
        settings.set_input_file(root.join(&path));
        settings.set_snapshot_suffix(name.clone());
        let result = settings.bind(|| {
            std::panic::catch_unwind(|| {
                let out = match inventory::load(&path) {
                    Ok(inv) => {
                        assert!(!name.starts_with("err_"), "{name} should be refused");
                        dump(&inv)
                    }
                    Err(e) => {
                        assert!(
                            name.starts_with("err_") || name.starts_with("known_"),
                            "{name} should load:\n{}",
                            render(&e)
                        );
                        render(&e)
                    }
                };
                insta::assert_snapshot!(out);
            })
        });
        if result.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "corpus failures: {failed:?}");
}

/// Errors say where: every refused case whose problem is in a file points
/// at a line of it.
#[test]
fn errors_have_locations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, path) in common::inventory_cases() {
        if !name.starts_with("err_") {
            continue;
        }
        let e = inventory::load(&root.join(&path)).expect_err("an err_ case");
        let loc = e
            .location()
            .unwrap_or_else(|| panic!("{name}: no location: {e}"));
        assert!(loc.contains(':'), "{name}: {loc}");
    }
}

fn check(text: &str, ext: &str) {
    let dir = std::env::temp_dir().join(format!(
        "concerto-inventory-props-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let path = dir.join(format!("inventory{ext}"));
    std::fs::write(&path, text).expect("written");
    match inventory::load(&path) {
        Ok(inv) => {
            let _ = inv.to_ansible_list_json();
            let _ = inv.to_ansible_list_export_json();
            for w in &inv.warnings {
                render(w);
            }
        }
        Err(e) => {
            render(&e);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const INI_LIKE: &str = "[\\[\\]a-z0-9:=#;'\" \\n\\t_.\\-{}()+]{0,160}";
const YAML_LIKE: &str = "(all|hosts|vars|children|web|h[0-9]|\\[1:3\\]|: |:|\\n  |\\n    |- |\\{|\\}|\\[|\\]|,|x| |'|\"|#|&a|\\*a|!unsafe|yes|0755|~){0,60}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ini_like_text_never_panics(text in INI_LIKE) {
        check(&text, ".ini");
        check(&text, "");
    }

    #[test]
    fn yaml_like_text_never_panics(text in YAML_LIKE) {
        check(&text, ".yml");
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text, "");
    }

    #[test]
    fn literal_values_never_panic(value in "[-+0-9a-zA-Z_.'\"\\[\\]{}(),: jJxXoObB#\\\\]{0,40}") {
        let _ = inventory::literal_eval(&value, &|_, _| Default::default());
    }

    #[test]
    fn host_patterns_never_panic(p in "[a-z0-9\\[\\]:.\\-_]{0,30}") {
        let _ = inventory::expand_hostpattern(&p);
    }
}

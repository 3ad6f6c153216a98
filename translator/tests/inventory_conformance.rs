//! Our inventories against `ansible-inventory`, the real one.
//!
//! For kolla-ansible's `all-in-one` and `multinode` (as installed in the
//! venv) and for every case of `tests/inventory_corpus/`, runs
//! `ansible-inventory -i FILE --list` and `--list --export` and compares
//! the output with `Inventory::to_ansible_list_json` and
//! `to_ansible_list_export_json`: every group with its hosts, children and
//! (export) variables, and every host's variables (merged, or its own).
//! Cases named `err_*` must be refused by both (`ansible-inventory` is run
//! with `ANSIBLE_INVENTORY_UNPARSED_FAILED=1`, else it only warns).
//!
//! Runs once per stack (`common::Stack`): ansible-core 2.19 with
//! kolla-ansible 22's inventories (`CONCERTO_PYTHON`, `.ci/python-env.sh`)
//! and ansible-core 2.21 with kolla-ansible 23's (`CONCERTO_PYTHON312`,
//! `.ci/python312-env.sh`); fails without the stack's variable.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Stack;
use concerto_translator::inventory;
use serde_json::Value;

on_each_stack!(inventories_match_ansible_inventory);

/// Cases where we knowingly differ from ansible-core, and why.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "known_plugin_config.yml",
    "an inventory plugin configuration (`plugin: constructed`): Ansible runs the plugin \
     (here it adds nothing); we refuse plugin configurations with a clear error rather than \
     pretend to have read a dynamic inventory",
)];

/// Cases where we knowingly differ from ansible-core 2.21 only (docs/ir.md,
/// "ansible-core 2.21 / Kolla 23"): our inventories are read as 2.19 reads
/// them.
const KNOWN_DIFFERENCES_2_21: &[(&str, &str)] = &[
    (
        "err_ini_group_priority.ini",
        "a non-integer `ansible_group_priority`: 2.19 refuses the inventory (`int()` fails \
         in `Group.set_variable`), 2.21 only warns and keeps the group's priority; we refuse \
         it, as 2.19 does",
    ),
    (
        "err_yaml_group_priority.yml",
        "a non-integer `ansible_group_priority` (a list): refused by 2.19 and by us, a \
         warning in 2.21",
    ),
];

struct Run {
    list: Result<Value, String>,
    export: Result<Value, String>,
}

/// How `ansible-inventory` is run: in an empty working directory (it also
/// reads `group_vars/` next to the "playbook", which is the working
/// directory), failing when no plugin can read the file (by default it
/// only warns and prints an empty inventory).
const ENV: &[(&str, &str)] = &[
    ("ANSIBLE_INVENTORY_UNPARSED_FAILED", "1"),
    ("ANSIBLE_NOCOLOR", "1"),
    ("ANSIBLE_DEPRECATION_WARNINGS", "0"),
];

fn parse_line(line: Option<&str>) -> Result<Value, String> {
    match line.and_then(|l| l.split_once('\t')) {
        Some(("OK", json)) => {
            serde_json::from_str(json).map_err(|e| format!("bad oracle JSON: {e}"))
        }
        Some(("ERR", msg)) => Err(msg.to_string()),
        _ => panic!("bad oracle line: {line:?}"),
    }
}

/// Every inventory through ansible-inventory's `InventoryCLI`, in one
/// Python process (see `yaml_oracle.py inventory`).
fn ansible_all(oracle: &common::Oracle, cwd: &Path, paths: &[PathBuf]) -> Vec<Run> {
    let input: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    let out = oracle.run_script_in("inventory", &input, Some(cwd), ENV);
    let mut lines = out.lines();
    let runs: Vec<Run> = paths
        .iter()
        .map(|_| Run {
            list: parse_line(lines.next()),
            export: parse_line(lines.next()),
        })
        .collect();
    assert!(lines.next().is_none(), "extra oracle output");
    runs
}

/// The `ansible-inventory` program itself, in a process of its own.
fn ansible_program(oracle: &common::Oracle, cwd: &Path, path: &Path) -> Run {
    let bin = oracle.bin("ansible-inventory");
    let run = |export: bool| -> Result<Value, String> {
        let mut cmd = Command::new(&bin);
        cmd.arg("-i").arg(path).arg("--list").current_dir(cwd);
        if export {
            cmd.arg("--export");
        }
        for (k, v) in ENV {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let canon = oracle.run_script("canon", &String::from_utf8_lossy(&out.stdout));
        serde_json::from_str(&canon).map_err(|e| format!("bad oracle JSON: {e}"))
    };
    Run {
        list: run(false),
        export: run(true),
    }
}

fn ours(path: &Path) -> Run {
    match inventory::load(path) {
        Ok(inv) => Run {
            list: Ok(inv.to_ansible_list_json()),
            export: Ok(inv.to_ansible_list_export_json()),
        },
        Err(e) => {
            let msg = format!("{}: {}", e.location().unwrap_or_default(), e.message);
            Run {
                list: Err(msg.clone()),
                export: Err(msg),
            }
        }
    }
}

/// The paths where two JSON values differ (at most a few).
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= 8 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff(&p, u, v, out),
                    (Some(u), None) => out.push(format!("{p}: only ours ({u})")),
                    (None, Some(v)) => out.push(format!("{p}: only ansible's ({v})")),
                    (None, None) => {}
                }
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: ours {a}, ansible {b}")),
    }
}

fn compare(
    what: &str,
    ours: &Result<Value, String>,
    theirs: &Result<Value, String>,
) -> Vec<String> {
    match (ours, theirs) {
        (Ok(a), Ok(b)) => {
            let mut out = Vec::new();
            diff("", a, b, &mut out);
            out.into_iter().map(|d| format!("{what} {d}")).collect()
        }
        (Err(_), Err(_)) => Vec::new(),
        (Ok(_), Err(e)) => vec![format!("{what}: ansible refuses it ({e}), we load it")],
        (Err(e), Ok(_)) => vec![format!("{what}: we refuse it ({e}), ansible loads it")],
    }
}

fn inventories_match_ansible_inventory(stack: Stack) {
    let oracle = stack.oracle();
    let label = stack.label();
    let kolla = oracle.kolla_ansible_dir().join("inventory");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cases: Vec<(String, PathBuf)> = ["all-in-one", "multinode"]
        .iter()
        .map(|n| (format!("kolla-ansible {n}"), kolla.join(n)))
        .collect();
    cases.extend(
        common::inventory_cases()
            .into_iter()
            .map(|(n, p)| (n, root.join(p))),
    );
    let cwd = std::env::temp_dir().join(format!(
        "concerto-inventory-cwd-{}-{stack:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&cwd).expect("a scratch directory");
    let paths: Vec<PathBuf> = cases.iter().map(|(_, p)| p.clone()).collect();
    let runs = ansible_all(&oracle, &cwd, &paths);
    // The in-process runs are the program's: checked on kolla-ansible's
    // inventories against `ansible-inventory` itself.
    for ((name, path), run) in cases.iter().zip(&runs).take(2) {
        let program = ansible_program(&oracle, &cwd, path);
        assert!(
            program.list.is_ok() && program.list == run.list && program.export == run.export,
            "{label}: {name}: the ansible-inventory program and its InventoryCLI in-process \
             disagree"
        );
    }
    let _ = std::fs::remove_dir_all(&cwd);
    let results: Vec<(String, PathBuf, Run)> = cases
        .into_iter()
        .zip(runs)
        .map(|((n, p), r)| (n, p, r))
        .collect();

    let mut matched = 0;
    let mut refused_by_both = 0;
    let mut problems = Vec::new();
    let total = results.len();
    for (name, path, theirs) in &results {
        let ours = ours(path);
        let mut diffs = compare("--list", &ours.list, &theirs.list);
        diffs.extend(compare("--list --export", &ours.export, &theirs.export));
        let is_err_case = name.starts_with("err_");
        let is_known_case = name.starts_with("known_");
        let both_refuse = ours.list.is_err() && theirs.list.is_err();
        if both_refuse {
            refused_by_both += 1;
        }
        if diffs.is_empty() && !is_known_case && both_refuse != is_err_case {
            diffs.push(format!(
                "ansible {} it; name it {}",
                if both_refuse { "refuses" } else { "loads" },
                if both_refuse { "err_*" } else { "without err_" }
            ));
        }
        let stack_known: &[(&str, &str)] = match stack {
            Stack::Core219 => &[],
            Stack::Core221 => KNOWN_DIFFERENCES_2_21,
        };
        let known = KNOWN_DIFFERENCES
            .iter()
            .chain(stack_known)
            .find(|(n, _)| n == name);
        match (diffs.is_empty(), known) {
            (true, None) => {
                matched += 1;
                if name.starts_with("kolla") {
                    if let Ok(Value::Object(m)) = &theirs.list {
                        let hosts = m
                            .get("_meta")
                            .and_then(|x| x.get("hostvars"))
                            .and_then(Value::as_object)
                            .map_or(0, |h| h.len());
                        println!(
                            "{name}: {} groups, {} hosts with variables: identical",
                            m.len() - 1,
                            hosts
                        );
                    }
                }
            }
            (true, Some(_)) => problems.push(format!(
                "{name}: listed in KNOWN_DIFFERENCES but now matches; remove the entry"
            )),
            (false, Some((_, why))) => {
                println!(
                    "known difference {name}: {why}\n    {}",
                    diffs.join("\n    ")
                );
            }
            (false, None) => problems.push(format!(
                "{name} ({}):\n    {}",
                path.display(),
                diffs.join("\n    ")
            )),
        }
    }
    println!(
        "{label}: inventory conformance against ansible-inventory {}: {matched}/{total} \
         inventories identical in --list and --list --export ({refused_by_both} refused by both)",
        oracle.ansible_version
    );
    assert!(
        problems.is_empty(),
        "{label}: {} inventories differ from ansible-inventory:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

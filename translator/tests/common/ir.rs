//! The playbook IR on both sides: ours (`concerto_translator::playbook`)
//! and the oracle's (`ansible_plugin/concerto_ir_export.py`, ansible-core's
//! own `Playbook.load`/`Play.compile`), and how two IRs differ.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use concerto_translator::playbook::{self, Options};
use serde_json::Value;

pub fn exporter() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ansible_plugin/concerto_ir_export.py")
}

/// How the oracle is run for one playbook.
#[derive(Default)]
pub struct OracleRun<'a> {
    pub inventory: &'a str,
    pub extra: &'a [&'a str],
    pub expand: bool,
    /// Environment variables (`ANSIBLE_ROLES_PATH`, `ANSIBLE_COLLECTIONS_PATH`).
    pub env: Vec<(&'a str, &'a OsStr)>,
}

/// The oracle's IR, or what it printed when it refused the playbook.
pub fn try_oracle_ir(python: &Path, playbook: &Path, run: &OracleRun) -> Result<Value, String> {
    let mut cmd = Command::new(python);
    cmd.arg(exporter())
        .arg(playbook)
        .args(["-i", run.inventory]);
    if run.expand {
        cmd.arg("--expand");
    }
    for e in run.extra {
        cmd.args(["-e", e]);
    }
    for (k, v) in &run.env {
        cmd.env(k, v);
    }
    // Run away from any ansible.cfg of the repository.
    cmd.current_dir(std::env::temp_dir());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the oracle's output is not JSON: {e}"))
}

/// The oracle's IR, with `ANSIBLE_COLLECTIONS_PATH` when given; panics
/// when the oracle fails.
pub fn oracle_ir_with(
    python: &Path,
    playbook: &Path,
    inventory: &str,
    extra: &[&str],
    expand: bool,
    collections: Option<&Path>,
) -> Value {
    let mut run = OracleRun {
        inventory,
        extra,
        expand,
        ..OracleRun::default()
    };
    if let Some(c) = collections {
        run.env.push(("ANSIBLE_COLLECTIONS_PATH", c.as_os_str()));
    }
    try_oracle_ir(python, playbook, &run)
        .unwrap_or_else(|e| panic!("the oracle failed on {}:\n{e}", playbook.display()))
}

pub fn oracle_ir(
    python: &Path,
    playbook: &Path,
    inventory: &str,
    extra: &[&str],
    expand: bool,
) -> Value {
    oracle_ir_with(python, playbook, inventory, extra, expand, None)
}

/// Our IR, or our error as text.
pub fn try_ours(playbook: &Path, extra: &[&str], opts: Options) -> Result<Value, String> {
    let mut opts = opts;
    for e in extra {
        opts.extra_vars
            .extend(playbook::parse_extra_vars(e).map_err(|e| format!("-e {e}"))?);
    }
    let ir = playbook::load(playbook, &opts).map_err(|e| e.to_string())?;
    serde_json::to_value(&ir).map_err(|e| e.to_string())
}

/// The first differences between two IRs, as `path: ours vs oracle`.
pub fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 20 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => differences(p, q, &format!("{path}.{k}"), out),
                    (p, q) => out.push(format!("{path}.{k}: {p:?} vs {q:?}")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{path}: {} items vs {}", x.len(), y.len()));
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Tasks and handlers of an IR; with `deep`, those of expanded includes too.
pub fn count_tasks(ir: &Value, deep: bool) -> usize {
    fn walk(v: &Value, deep: bool) -> usize {
        match v {
            Value::Object(m) if m.contains_key("action") => {
                let included = m.get("included").filter(|_| deep);
                1 + included.map(|i| walk(&i["tasks"], deep)).unwrap_or(0)
            }
            Value::Object(m) => ["block", "rescue", "always"]
                .iter()
                .filter_map(|k| m.get(*k))
                .map(|x| walk(x, deep))
                .sum(),
            Value::Array(a) => a.iter().map(|x| walk(x, deep)).sum(),
            _ => 0,
        }
    }
    ir["plays"]
        .as_array()
        .map(|plays| {
            plays
                .iter()
                .map(|p| walk(&p["tasks"], deep) + walk(&p["handlers"], deep))
                .sum()
        })
        .unwrap_or(0)
}

/// A task's condition as one side evaluated it (`--expand`).
#[derive(Debug)]
pub struct Condition {
    pub at: String,
    pub result: Option<bool>,
    /// Ours: what an unknown result depends on. The oracle: its error.
    pub why: Vec<String>,
}

/// Removes `when_result` (and `when_depends`, `when_error`) from an IR,
/// in document order: the IRs are compared without them, the conditions
/// on their own rules.
pub fn take_conditions(v: &mut Value, out: &mut Vec<Condition>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.remove("when_result") {
                let mut why: Vec<String> = Vec::new();
                for k in ["when_depends", "when_error"] {
                    match m.remove(k) {
                        Some(Value::Array(a)) => {
                            why.extend(a.iter().filter_map(|x| x.as_str().map(String::from)))
                        }
                        Some(Value::String(e)) => why.push(e),
                        _ => {}
                    }
                }
                out.push(Condition {
                    at: format!("{}:{}", m["file"].as_str().unwrap_or("?"), m["line"]),
                    result: r.as_bool(),
                    why,
                });
            }
            m.values_mut().for_each(|x| take_conditions(x, out));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| take_conditions(x, out)),
        _ => {}
    }
}

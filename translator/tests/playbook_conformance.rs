//! The playbook IR against ansible-core itself: the oracle
//! (`ansible_plugin/concerto_ir_export.py`) loads the same playbook with
//! `Playbook.load` and `Play.compile` and writes the IR (docs/ir.md); the
//! two must be equal, value for value. Cases: every loadable case of
//! `playbook_corpus/`, Kolla-ansible's `site.yml` (the static part: the
//! inventory does not change it, but both of Kolla's are given to the
//! oracle, as `-i` would be; and expanded for `kolla_action=deploy`), the
//! roles of community.zabbix and community.mongodb.
//!
//! Each comparison runs once per stack (`common::Stack`): ansible-core 2.19
//! with kolla-ansible 22 (`CONCERTO_PYTHON`) and ansible-core 2.21 with
//! kolla-ansible 23 (`CONCERTO_PYTHON312`), each with the Kolla tree and
//! collections of its own venv. Without the stack's variable, its tests
//! fail.

mod common;

use std::path::{Path, PathBuf};

use common::ir::{count_tasks, differences, oracle_ir, oracle_ir_with, take_conditions, Condition};
use common::Stack;
use concerto_translator::playbook::{self, AnsibleCore, Options};
use serde_json::Value;

on_each_stack!(
    corpus_matches_ansible,
    kolla_site_matches_ansible,
    kolla_deploy_expanded_matches_ansible,
    zabbix_and_mongodb_roles_match_ansible,
);

/// The ansible-core whose IR we write for a stack.
fn target(stack: Stack) -> AnsibleCore {
    match stack {
        Stack::Core219 => AnsibleCore::V2_19,
        Stack::Core221 => AnsibleCore::V2_21,
    }
}

fn ours(stack: Stack, playbook: &Path, extra: &[&str], expand: bool) -> Value {
    ours_with(stack, playbook, extra, expand, Vec::new())
}

fn ours_with(
    stack: Stack,
    playbook: &Path,
    extra: &[&str],
    expand: bool,
    collections: Vec<PathBuf>,
) -> Value {
    let mut opts = Options {
        expand,
        collections_path: collections,
        ansible_core: target(stack),
        // The oracle's `-i localhost,`.
        inventory: Some(concerto_translator::inventory::load(Path::new("localhost,")).unwrap()),
        ..Options::default()
    };
    for e in extra {
        opts.extra_vars
            .extend(playbook::parse_extra_vars(e).unwrap());
    }
    let ir =
        playbook::load(playbook, &opts).unwrap_or_else(|e| panic!("{}: {e}", playbook.display()));
    serde_json::to_value(&ir).unwrap()
}

/// The IRs are equal but for the conditions' values (`when_result`,
/// checked by [`check_conditions`]).
fn assert_same(stack: Stack, name: &str, ours: &Value, oracle: &Value) -> Conditions {
    let mut oracle = oracle.clone();
    if stack == Stack::Core221 {
        normalise_2_21(&mut oracle);
    }
    let mut ours = ours.clone();
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    take_conditions(&mut ours, &mut mine);
    take_conditions(&mut oracle, &mut theirs);
    let mut diffs = Vec::new();
    differences(&ours, &oracle, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{}: {name}: our IR differs from ansible-core's (ours vs oracle):\n{}",
        stack.label(),
        diffs.join("\n")
    );
    check_conditions(stack, name, &mine, &theirs)
}

/// How our conditions compare with ansible-core's.
#[derive(Debug, Default)]
struct Conditions {
    same: usize,
    /// Ours unknown, the oracle's known: ours names run-time data (facts,
    /// registered results, `hostvars`, names a task sets) that the oracle
    /// takes as undefined or empty because nothing ran.
    run_time: usize,
    /// Ours unknown: a filter, test or lookup we do not implement.
    plugins: usize,
    /// Ours known, the oracle's unknown: ansible templates a loop's items
    /// whole and fails on a part that needs facts (Kolla's `kolla_address`
    /// reads `hostvars`); ours decides from the parts the condition reads.
    partial_items: usize,
}

/// Where both sides know a condition, the values are equal; where one
/// does not, the reason is one of the documented ones (docs/ir.md,
/// "Reach"), else the test fails.
fn check_conditions(
    stack: Stack,
    name: &str,
    ours: &[Condition],
    oracle: &[Condition],
) -> Conditions {
    let label = stack.label();
    assert_eq!(
        ours.len(),
        oracle.len(),
        "{label}: {name}: tasks with a condition"
    );
    let mut c = Conditions::default();
    let mut bad = Vec::new();
    for (o, a) in ours.iter().zip(oracle) {
        match (o.result, a.result) {
            (x, y) if x == y => c.same += 1,
            // Ours unknown only because it failed: a bug of ours.
            (None, Some(_)) if o.why.iter().all(|w| w.starts_with("error:")) => bad.push(format!(
                "{}: ours fails ({:?}), ansible-core: {:?}",
                o.at, o.why, a.result
            )),
            // A run-time name among what it depends on (`register`ed, a
            // fact...), else a plugin we lack (`filter:x`).
            (None, Some(_)) if o.why.iter().any(|w| !w.contains(':')) => c.run_time += 1,
            (None, Some(_)) => c.plugins += 1,
            (Some(_), None) if a.why.iter().any(|w| w.starts_with("loop items:")) => {
                c.partial_items += 1
            }
            (x, y) => bad.push(format!(
                "{}: ours {x:?} ({:?}), ansible-core {y:?} ({:?})",
                o.at, o.why, a.why
            )),
        }
    }
    assert!(
        bad.is_empty(),
        "{label}: {name}: conditions differ from ansible-core's:\n{}",
        bad.join("\n")
    );
    c
}

/// What ansible-core 2.21's loaded objects hold where 2.19's hold the IR's
/// form, brought back to the IR's form (docs/ir.md, "ansible-core 2.21 /
/// Kolla 23"); only those two shapes, so anything else 2.21 does
/// differently still shows:
/// - `register: out` is loaded as the register projection
///   `{"out": "_task.polymorphic_result"}` (`Task._validate_register`);
/// - `changed_when` / `failed_when` are no longer made lists while loading
///   (2.21 dropped `Task._validate_changed_when`/`_validate_failed_when`; its
///   `post_validate` still makes them lists before they are evaluated).
fn normalise_2_21(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(k)) = m.get_mut("keywords") {
                if let Some(reg) = k.get_mut("register") {
                    let single = match reg {
                        Value::Object(p) if p.len() == 1 => p
                            .iter()
                            .next()
                            .filter(|(_, e)| e.as_str() == Some("_task.polymorphic_result"))
                            .map(|(name, _)| name.clone()),
                        _ => None,
                    };
                    if let Some(name) = single {
                        *reg = Value::String(name);
                    }
                }
                for key in ["changed_when", "failed_when"] {
                    if let Some(c) = k.get_mut(key) {
                        if !c.is_array() {
                            *c = Value::Array(vec![c.take()]);
                        }
                    }
                }
            }
            m.values_mut().for_each(normalise_2_21);
        }
        Value::Array(a) => a.iter_mut().for_each(normalise_2_21),
        _ => {}
    }
}

/// The tasks ours says a run reaches (a condition known false, or an
/// include or play that does not run, excluded), those ansible-core's
/// evaluation says a run certainly reaches (every condition on the way
/// known true), and those it certainly reaches that ours does not
/// (`file:line`). Walked in parallel: the two IRs have the same shape
/// (checked before).
fn run_sets(ours: &Value, oracle: &Value) -> (usize, usize, Vec<String>) {
    fn walk(a: &Value, b: &Value, reach: (bool, bool), acc: &mut (usize, usize, Vec<String>)) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) if x.contains_key("action") => {
                let ra = reach.0 && x.get("when_result") != Some(&Value::Bool(false));
                let rb = reach.1 && y.get("when_result").is_none_or(|r| r == &Value::Bool(true));
                if x["line"].is_number() {
                    acc.0 += usize::from(ra);
                    acc.1 += usize::from(rb);
                    if rb && !ra {
                        acc.2.push(format!(
                            "{}:{}",
                            x["file"].as_str().unwrap_or("?"),
                            x["line"]
                        ));
                    }
                }
                if let (Some(i), Some(j)) = (x.get("included"), y.get("included")) {
                    walk(&i["tasks"], &j["tasks"], (ra, rb), acc);
                }
            }
            (Value::Object(x), Value::Object(y)) => {
                for k in ["block", "rescue", "always"] {
                    if let (Some(p), Some(q)) = (x.get(k), y.get(k)) {
                        walk(p, q, reach, acc);
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                for (p, q) in x.iter().zip(y) {
                    walk(p, q, reach, acc);
                }
            }
            _ => {}
        }
    }
    let mut acc = (0, 0, Vec::new());
    let plays = |v: &Value| v["plays"].as_array().cloned().unwrap_or_default();
    for (p, q) in plays(ours).iter().zip(&plays(oracle)) {
        let has = |p: &Value| !p["targets"].as_array().is_some_and(Vec::is_empty);
        walk(&p["tasks"], &q["tasks"], (has(p), has(q)), &mut acc);
    }
    acc
}

fn corpus_matches_ansible(stack: Stack) {
    let py = stack.oracle().python;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/playbook_corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with("err_"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 7);
    for case in cases {
        let site = case.join("site.yml");
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let extra_file = case.join("extra_vars.yml");
        let extra = format!("@{}", extra_file.display());
        let (extra, expand): (Vec<&str>, bool) = if extra_file.is_file() {
            (vec![&extra], true)
        } else {
            (vec![], false)
        };
        assert_same(
            stack,
            &name,
            &ours(stack, &site, &extra, expand),
            &oracle_ir(&py, &site, "localhost,", &extra, expand),
        );
    }
}

fn kolla_site_matches_ansible(stack: Stack) {
    let o = stack.oracle();
    let kolla = o.kolla_ansible_dir();
    let site = kolla.join("site.yml");
    let mine = ours(stack, &site, &[], false);
    for inv in ["all-in-one", "multinode"] {
        let inventory = kolla.join("inventory").join(inv);
        let oracle = oracle_ir(
            &o.python,
            &site,
            inventory.to_str().unwrap(),
            &["kolla_action=deploy"],
            false,
        );
        assert_same(stack, &format!("kolla site.yml ({inv})"), &mine, &oracle);
    }
    // Every play of site.yml and of the playbooks it imports.
    let plays = mine["plays"].as_array().unwrap().len();
    let tasks = count_tasks(&mine, false);
    let label = stack.label();
    eprintln!(
        "{label}: kolla site.yml: {plays} plays, {tasks} tasks and handlers before expansion"
    );
    assert!(
        plays > 50 && tasks > 300,
        "{label}: {plays} plays, {tasks} tasks"
    );
}

/// The whole Kolla deploy with its dynamic includes expanded
/// (`-e kolla_action=deploy`): every included file, as ansible-core's own
/// strategy code loads it (the oracle feeds `IncludedFile` a fake result).
fn kolla_deploy_expanded_matches_ansible(stack: Stack) {
    let o = stack.oracle();
    let kolla = o.kolla_ansible_dir();
    let site = kolla.join("site.yml");
    let inventory = kolla.join("inventory/all-in-one");
    let extra = ["kolla_action=deploy"];
    let mine = ours_inventory(stack, &site, &extra, &inventory);
    let oracle = oracle_ir(&o.python, &site, inventory.to_str().unwrap(), &extra, true);
    let c = assert_same(stack, "kolla site.yml expanded", &mine, &oracle);
    let tasks = count_tasks(&mine, true);
    let label = stack.label();
    eprintln!("{label}: kolla deploy expanded: {tasks} tasks and handlers");
    assert!(tasks > 2000, "{label}: {tasks}");
    eprintln!(
        "{label}: conditions: {} as ansible-core's; ours unknown where it knows: {} run-time data, \
         {} plugins we lack; ours known where it fails: {} loop items",
        c.same, c.run_time, c.plugins, c.partial_items
    );
    // The run set: every task ansible-core's evaluation lets run, ours
    // lets run too (ours may keep more: what it cannot decide).
    let (ours_run, theirs_run, missed) = run_sets(&mine, &oracle);
    eprintln!(
        "{label}: a default all-in-one deploy reaches {ours_run} tasks by ours (known or \
         undecided); ansible-core's evaluation says {theirs_run} certainly run"
    );
    assert!(
        missed.is_empty(),
        "{label}: tasks ansible-core would run that ours skips:\n{}",
        missed.join("\n")
    );
    // The services a default deploy enables, and only those, get hosts.
    let with_hosts: Vec<&str> = mine["plays"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["targets"].as_array().is_some_and(|t| !t.is_empty()))
        .filter_map(|p| p["name"].as_str())
        .collect();
    for service in [
        "keystone", "glance", "nova", "neutron", "horizon", "mariadb", "rabbitmq",
    ] {
        assert!(
            with_hosts
                .iter()
                .any(|n| n == &format!("Apply role {service}")),
            "{label}: {service} gets no host: {with_hosts:?}"
        );
    }
    for disabled in ["cinder", "octavia", "aodh", "ironic"] {
        assert!(
            !with_hosts
                .iter()
                .any(|n| n == &format!("Apply role {disabled}")),
            "{label}: {disabled} is disabled by default but gets hosts"
        );
    }
}

/// The roles of community.zabbix and community.mongodb (from the `ansible`
/// package), one play each, loaded statically and expanded (their include
/// names come from role defaults: this exercises the templating).
fn zabbix_and_mongodb_roles_match_ansible(stack: Stack) {
    let o = stack.oracle();
    let colls = o.site_packages.clone();
    let mut roles = Vec::new();
    for coll in ["community/zabbix", "community/mongodb"] {
        let dir = colls.join("ansible_collections").join(coll).join("roles");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {}: {e} (the `ansible` package is missing from the venv)",
                    stack.label(),
                    dir.display()
                )
            })
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        roles.extend(
            names
                .into_iter()
                .map(|n| format!("{}.{n}", coll.replace('/', "."))),
        );
    }
    assert!(roles.len() >= 14, "{}: {roles:?}", stack.label());
    let tmp = tempfile_dir(stack);
    let site = tmp.join("site.yml");
    let text: String = roles
        .iter()
        .map(|r| format!("- name: {r}\n  hosts: all\n  roles:\n    - {r}\n"))
        .collect();
    std::fs::write(&site, text).unwrap();
    for expand in [false, true] {
        let mine = ours_with(stack, &site, &[], expand, vec![colls.clone()]);
        let oracle = oracle_ir_with(&o.python, &site, "localhost,", &[], expand, Some(&colls));
        let what = if expand { "expanded" } else { "static" };
        assert_same(
            stack,
            &format!("zabbix and mongodb roles ({what})"),
            &mine,
            &oracle,
        );
    }
}

fn ours_inventory(stack: Stack, playbook: &Path, extra: &[&str], inventory: &Path) -> Value {
    let mut opts = Options {
        expand: true,
        ansible_core: target(stack),
        inventory: Some(concerto_translator::inventory::load(inventory).unwrap()),
        ..Options::default()
    };
    for e in extra {
        opts.extra_vars
            .extend(playbook::parse_extra_vars(e).unwrap());
    }
    serde_json::to_value(playbook::load(playbook, &opts).unwrap()).unwrap()
}

/// A scratch directory of this process and stack (the two stacks' tests
/// run in parallel).
fn tempfile_dir(stack: Stack) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "concerto-conformance-{}-{stack:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

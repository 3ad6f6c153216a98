//! `concerto translate` on the real Kolla-ansible: `site.yml` with
//! `kolla_action=deploy`, the all-in-one and multinode inventories, on both
//! stacks (Kolla 22.2.0 read as ansible-core 2.19 from the venv of
//! `CONCERTO_PYTHON`, Kolla 23.0.0 as 2.21 from `CONCERTO_PYTHON312`;
//! `.ci/python-env.sh`, `.ci/python312-env.sh`). Without them the tests
//! fail, they do not skip.
//!
//! What is checked, each time: every enabled service is a component; the
//! deploy-time dependencies of the core services are found, with evidence
//! that points at real lines of Kolla's code; services that do not talk to
//! each other at deploy time are not ordered, even transitively; the
//! assembly passes `concerto check`, `concerto predict` finds no deadlock,
//! `concerto run --simulate` finishes in the predicted time, and with the shipped Madeus profile the predicted makespan is at least
//! 59 % shorter than the Ansible model's (the hand-written Madeus
//! assembly's published gain).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_concerto");

/// Kolla's tree in the venv of the python an environment variable names.
fn kolla(var: &str) -> PathBuf {
    let py = std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: run .ci/python-env.sh and .ci/python312-env.sh (see .ci/test)")
    });
    let venv = Path::new(&py)
        .parent()
        .and_then(Path::parent)
        .expect("a venv's bin/python");
    let tree = venv.join("share/kolla-ansible/ansible");
    assert!(
        tree.join("site.yml").is_file(),
        "no Kolla-ansible in {}",
        venv.display()
    );
    tree
}

/// The services Kolla's default configuration enables: each must be a
/// component (by role).
const ENABLED: &[&str] = &[
    "logs",
    "kolla_toolbox",
    "cron",
    "fluentd",
    "loadbalancer",
    "mariadb",
    "memcached",
    "rabbitmq",
    "keystone",
    "glance",
    "placement",
    "openvswitch",
    "nova",
    "nova-cell",
    "neutron",
    "heat",
    "horizon",
];

/// Disabled by default: no component.
const DISABLED: &[&str] = &["cinder", "octavia", "ironic", "aodh", "designate", "ovn-db"];

/// (user, provider, rule): what the core services' tasks really do at
/// deploy time, checked against Kolla's code:
/// - `keystone/tasks/bootstrap.yml`: `kolla_toolbox` with `module_name:
///   mysql_db` (the Keystone database), run in the toolbox container;
/// - `service-ks-register/tasks/main.yml`, applied by glance, placement,
///   heat, neutron and nova: `kolla_toolbox` with
///   `openstack.cloud.catalog_service` etc., calls to Keystone;
/// - `<service>/tasks/bootstrap.yml`: `mysql_db`/`mysql_user` through the
///   toolbox, for each service with a database;
/// - `service-rabbitmq/tasks/main.yml`, applied by nova-cell:
///   `rabbitmq_user`/`rabbitmq_vhost` through the toolbox.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("keystone", "mariadb", "client-module"),
    ("keystone", "kolla_toolbox", "exec"),
    ("glance", "keystone", "client-module"),
    ("placement", "keystone", "client-module"),
    ("heat", "keystone", "client-module"),
    ("neutron", "keystone", "client-module"),
    ("nova@2", "keystone", "client-module"),
    ("glance", "mariadb", "client-module"),
    ("placement", "mariadb", "client-module"),
    ("heat", "mariadb", "client-module"),
    ("neutron", "mariadb", "client-module"),
    ("nova", "mariadb", "client-module"),
    ("nova-cell", "mariadb", "client-module"),
    ("nova-cell", "rabbitmq", "client-module"),
];

/// Pairs that do not talk to each other at deploy time: neither may wait
/// for the other, directly or through others.
const UNORDERED: &[(&str, &str)] = &[
    ("memcached", "rabbitmq"),
    ("memcached", "mariadb"),
    ("memcached", "keystone"),
    ("rabbitmq", "mariadb"),
    ("rabbitmq", "keystone"),
    ("openvswitch", "mariadb"),
    ("openvswitch", "keystone"),
    ("openvswitch", "rabbitmq"),
    ("openvswitch", "memcached"),
    ("glance", "placement"),
    ("glance", "nova"),
    ("keystone", "nova"),
    ("loadbalancer", "rabbitmq"),
    ("loadbalancer", "memcached"),
];

struct Translated {
    json: Value,
    assembly: PathBuf,
}

fn translate(tree: &Path, inventory: &str, core: &str, tag: &str) -> Translated {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("translate-kolla");
    std::fs::create_dir_all(&dir).unwrap();
    let assembly = dir.join(format!("{tag}.yaml"));
    let report = dir.join(format!("{tag}.md"));
    let out = Command::new(BIN)
        .arg("translate")
        .arg(tree.join("site.yml"))
        .arg("-i")
        .arg(tree.join("inventory").join(inventory))
        .args([
            "-e",
            "kolla_action=deploy",
            "--ansible-core",
            core,
            "--json",
        ])
        .arg("-o")
        .arg(&assembly)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tag}: translate failed:\n{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(
        md.contains("## Predicted makespan") && md.contains("critical path"),
        "{tag}: report"
    );
    Translated { json, assembly }
}

fn check(tree: &Path, t: &Translated, tag: &str) {
    let comps = t.json["components"].as_array().unwrap();
    let roles: BTreeSet<&str> = comps.iter().filter_map(|c| c["role"].as_str()).collect();
    for r in ENABLED {
        assert!(
            roles.contains(r),
            "{tag}: no component for enabled service {r}: {roles:?}"
        );
    }
    for r in DISABLED {
        assert!(
            !roles.contains(r),
            "{tag}: a component for disabled service {r}"
        );
    }
    // Deploy edges, with their rules.
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for c in t.json["connections"].as_array().unwrap() {
        // Every piece of evidence points at a real line of Kolla's code.
        for e in c["evidence"].as_array().unwrap() {
            let file = e["file"].as_str().unwrap();
            let line = e["line"].as_u64().unwrap() as usize;
            let text = std::fs::read_to_string(tree.join(file))
                .unwrap_or_else(|_| panic!("{tag}: evidence names {file}, not in Kolla's tree"));
            assert!(
                line >= 1 && line <= text.lines().count(),
                "{tag}: {file}:{line} is no line"
            );
        }
        if c["kind"] != "deploy" {
            continue;
        }
        let key = (
            c["user"].as_str().unwrap().to_string(),
            c["provider"].as_str().unwrap().to_string(),
        );
        let rules = edges.entry(key).or_default();
        for e in c["evidence"].as_array().unwrap() {
            rules.insert(e["rule"].as_str().unwrap().to_string());
        }
    }
    for (user, provider, rule) in EXPECTED {
        let rules = edges.get(&(user.to_string(), provider.to_string()));
        assert!(
            rules.is_some_and(|r| r.contains(*rule)),
            "{tag}: {user} should wait for {provider} ({rule}); found {rules:?}"
        );
    }
    // Transitive waits.
    let waits = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(u) = todo.pop() {
            for (a, b) in edges.keys() {
                if *a == u && seen.insert(b.clone()) {
                    todo.push(b.clone());
                }
            }
        }
        seen
    };
    for (a, b) in UNORDERED {
        assert!(!waits(a).contains(*b), "{tag}: {a} waits for {b}");
        assert!(!waits(b).contains(*a), "{tag}: {b} waits for {a}");
    }
    // The runtime's own tools accept it.
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg(&t.assembly)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{tag}: concerto {args:?} failed:\n{text}"
        );
        text
    };
    run(&["check"]);
    let predicted = run(&["predict"]);
    assert!(!predicted.contains("deadlock"), "{tag}: {predicted}");
    // The engine on a virtual clock finishes it in the predicted time.
    let simulated = run(&["run", "--simulate"]);
    assert!(simulated.contains("+0.000 %"), "{tag}: {simulated}");
    let p = &t.json["prediction"];
    assert_eq!(p["deadlock"], false);
    let gain = p["gain_vs_ansible_percent"].as_f64().unwrap();
    assert!(gain >= 59.0, "{tag}: predicted gain {gain:.1} % < 59 %");
    assert!(
        p["concerto"].as_f64().unwrap() <= p["aeolus"].as_f64().unwrap(),
        "{tag}: {p}"
    );
}

#[test]
fn kolla_22_all_in_one() {
    let tree = kolla("CONCERTO_PYTHON");
    check(
        &tree,
        &translate(&tree, "all-in-one", "2.19", "22-aio"),
        "Kolla 22 all-in-one",
    );
}

#[test]
fn kolla_22_multinode() {
    let tree = kolla("CONCERTO_PYTHON");
    check(
        &tree,
        &translate(&tree, "multinode", "2.19", "22-multinode"),
        "Kolla 22 multinode",
    );
}

#[test]
fn kolla_23_all_in_one() {
    let tree = kolla("CONCERTO_PYTHON312");
    check(
        &tree,
        &translate(&tree, "all-in-one", "2.21", "23-aio"),
        "Kolla 23 all-in-one",
    );
}

#[test]
fn kolla_23_multinode() {
    let tree = kolla("CONCERTO_PYTHON312");
    check(
        &tree,
        &translate(&tree, "multinode", "2.21", "23-multinode"),
        "Kolla 23 multinode",
    );
}

//! The playbook IR against ansible-core itself: the oracle
//! (`ansible_plugin/concerto_ir_export.py`) loads the same playbook with
//! `Playbook.load` and `Play.compile` and writes the IR (docs/ir.md); the
//! two must be equal, value for value. Cases: every loadable case of
//! `playbook_corpus/`, and Kolla-ansible's `site.yml` (the static part: the
//! inventory does not change it, but both of Kolla's are given to the
//! oracle, as `-i` would be).
//!
//! Needs `CONCERTO_PYTHON` (see `common/mod.rs`): without it, it fails.

mod common;

use std::path::{Path, PathBuf};

use common::ir::{assert_same, count_tasks, oracle_ir, oracle_ir_with, ours, ours_with};
use concerto_translator::playbook::{self, Options};
use serde_json::Value;

#[test]
fn corpus_matches_ansible() {
    let py = common::oracle().python;
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
            &name,
            &ours(&site, &extra, expand),
            &oracle_ir(&py, &site, "localhost,", &extra, expand),
        );
    }
}

#[test]
fn kolla_site_matches_ansible() {
    let o = common::oracle();
    let kolla = o.kolla_ansible_dir();
    let site = kolla.join("site.yml");
    let mine = ours(&site, &[], false);
    for inv in ["all-in-one", "multinode"] {
        let inventory = kolla.join("inventory").join(inv);
        let oracle = oracle_ir(
            &o.python,
            &site,
            inventory.to_str().unwrap(),
            &["kolla_action=deploy"],
            false,
        );
        assert_same(&format!("kolla site.yml ({inv})"), &mine, &oracle);
    }
    // Every play of site.yml and of the playbooks it imports.
    let plays = mine["plays"].as_array().unwrap().len();
    let tasks = count_tasks(&mine, false);
    eprintln!("kolla site.yml: {plays} plays, {tasks} tasks and handlers before expansion");
    assert!(plays > 50 && tasks > 300, "{plays} plays, {tasks} tasks");
}

/// The whole Kolla deploy with its dynamic includes expanded
/// (`-e kolla_action=deploy`): every included file, as ansible-core's own
/// strategy code loads it (the oracle feeds `IncludedFile` a fake result).
#[test]
fn kolla_deploy_expanded_matches_ansible() {
    let o = common::oracle();
    let kolla = o.kolla_ansible_dir();
    let site = kolla.join("site.yml");
    let inventory = kolla.join("inventory/all-in-one");
    let extra = ["kolla_action=deploy"];
    let mine = ours_inventory(&site, &extra, &inventory);
    let oracle = oracle_ir(&o.python, &site, inventory.to_str().unwrap(), &extra, true);
    assert_same("kolla site.yml expanded", &mine, &oracle);
    let tasks = count_tasks(&mine, true);
    eprintln!("kolla deploy expanded: {tasks} tasks and handlers");
    assert!(tasks > 2000, "{tasks}");
}

/// The roles of community.zabbix and community.mongodb (from the `ansible`
/// package), one play each, loaded statically and expanded (their include
/// names come from role defaults: this exercises the templating).
#[test]
fn zabbix_and_mongodb_roles_match_ansible() {
    let o = common::oracle();
    let colls = o.site_packages.clone();
    let mut roles = Vec::new();
    for coll in ["community/zabbix", "community/mongodb"] {
        let dir = colls.join("ansible_collections").join(coll).join("roles");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (the `ansible` package is missing from the venv)",
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
    assert!(roles.len() >= 14, "{roles:?}");
    let tmp = tempfile_dir();
    let site = tmp.join("site.yml");
    let text: String = roles
        .iter()
        .map(|r| format!("- name: {r}\n  hosts: all\n  roles:\n    - {r}\n"))
        .collect();
    std::fs::write(&site, text).unwrap();
    for expand in [false, true] {
        let mine = ours_with(&site, &[], expand, vec![colls.clone()]);
        let oracle = oracle_ir_with(&o.python, &site, "localhost,", &[], expand, Some(&colls));
        let what = if expand { "expanded" } else { "static" };
        assert_same(
            &format!("zabbix and mongodb roles ({what})"),
            &mine,
            &oracle,
        );
    }
}

fn ours_inventory(playbook: &Path, extra: &[&str], inventory: &Path) -> Value {
    let mut opts = Options {
        expand: true,
        inventory: Some(concerto_translator::inventory::load(inventory).unwrap()),
        ..Options::default()
    };
    for e in extra {
        opts.extra_vars
            .extend(playbook::parse_extra_vars(e).unwrap());
    }
    serde_json::to_value(playbook::load(playbook, &opts).unwrap()).unwrap()
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("concerto-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

//! `concerto translate` on real roles besides Kolla-ansible's: those of
//! community.zabbix and community.mongodb (the `ansible` package; they
//! ship no playbook: `tests/translate_inputs/{zabbix,mongodb}.yml` apply
//! them as their documentation describes) and two service playbooks of
//! DebOps as its pip package ships them (`service/ntp.yml`,
//! `service/nginx.yml`), with the inventories of `tests/translate_inputs/`.
//!
//! Each runs the real binary with `--json`, checks the components (one
//! per role application), the dependencies verified by reading the roles
//! (cited `file:line`, paths under the collection's `roles/`), that the
//! assembly loads (`concerto check`) and does not deadlock (`concerto
//! predict`).
//!
//! The roles come from the venv of `CONCERTO_PYTHON` (`.ci/python-env.sh`
//! installs `ansible` and `debops` there): without it the tests fail, as
//! the conformance tests do (a skipped test passing would hide that
//! nothing was translated).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_concerto");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// The `site-packages` of the venv of `CONCERTO_PYTHON`.
fn site_packages() -> PathBuf {
    let how = "run `eval \"$(.ci/python-env.sh | tail -n1)\"` at the repository root \
               (it makes .venv with the `ansible` and `debops` packages and prints \
               `export CONCERTO_PYTHON=...`)";
    let python = match std::env::var_os("CONCERTO_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "CONCERTO_PYTHON is not set: these tests translate the roles of the venv's \
             `ansible` and `debops` packages and cannot run without it; {how}"
        ),
    };
    let out = Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "CONCERTO_PYTHON={} cannot be run ({e}); {how}",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "CONCERTO_PYTHON={}: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let sp = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        sp.join("ansible_collections/community/zabbix").is_dir(),
        "{}: no ansible_collections/community/zabbix (the `ansible` package); {how}",
        sp.display()
    );
    sp
}

/// The collections tree of the `debops` pip package.
fn debops_collections(sp: &Path) -> PathBuf {
    let d = sp.join("debops/_data/ansible/collections");
    assert!(
        d.join("ansible_collections/debops/debops/playbooks/service")
            .is_dir(),
        "{}: no DebOps playbooks (the `debops` package, pinned in .ci/python-env.sh, is \
         missing from the venv of CONCERTO_PYTHON)",
        d.display()
    );
    d
}

fn input(name: &str) -> PathBuf {
    Path::new(MANIFEST_DIR)
        .join("tests/translate_inputs")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("translate_real")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What a translation produced: the JSON report and the assembly's path.
struct Translated {
    json: Value,
    assembly: PathBuf,
    label: String,
}

/// `concerto translate PLAYBOOK -i INVENTORY --json -o ...` with the
/// collections path given, checked to succeed.
fn translate(label: &str, playbook: &Path, inventory: &Path, collections: &[&Path]) -> Translated {
    let dir = scratch(label);
    let assembly = dir.join("assembly.yaml");
    let report = dir.join("report.md");
    let out = Command::new(BIN)
        .arg("translate")
        .arg(playbook)
        .arg("-i")
        .arg(inventory)
        .arg("--json")
        .arg("-o")
        .arg(&assembly)
        .arg("--report")
        .arg(&report)
        .env(
            "ANSIBLE_COLLECTIONS_PATH",
            std::env::join_paths(collections).unwrap(),
        )
        .env_remove("ANSIBLE_ROLES_PATH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("panicked"),
        "{label}: concerto translate failed ({:?}):\n{stderr}",
        out.status.code()
    );
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{label}: the JSON report does not parse: {e}"));
    assert_eq!(
        json["prediction"]["deadlock"],
        Value::Bool(false),
        "{label}: {}",
        json["prediction"]
    );
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("## Deploy dependencies"));
    Translated {
        json,
        assembly,
        label: label.to_string(),
    }
}

impl Translated {
    fn component_names(&self) -> Vec<&str> {
        self.json["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    fn component(&self, name: &str) -> &Value {
        self.json["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| {
                panic!(
                    "{}: no component {name}: {:?}",
                    self.label,
                    self.component_names()
                )
            })
    }

    /// The transition of `component` whose tasks hold `task` (a suffix of
    /// `file:line`).
    fn transition_of(&self, component: &str, task: &str) -> String {
        let c = self.component(component);
        c["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                t["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x.as_str().unwrap().ends_with(task))
            })
            .unwrap_or_else(|| {
                panic!(
                    "{}: no transition of {component} runs {task}: {:#}",
                    self.label, c["transitions"]
                )
            })["name"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Deploy connections of `user` to `provider`: the transitions that
    /// wait, and the rules of the evidence.
    fn waits(&self, user: &str, provider: &str) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut waiting = BTreeSet::new();
        let mut rules = BTreeSet::new();
        for c in self.json["connections"].as_array().unwrap() {
            if c["user"] == user && c["provider"] == provider && c["kind"] == "deploy" {
                waiting.extend(
                    c["waiting"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|w| w.as_str().unwrap().to_string()),
                );
                rules.extend(
                    c["evidence"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["rule"].as_str().unwrap().to_string()),
                );
            }
        }
        (waiting, rules)
    }

    /// `user`'s transition running `task` waits for `provider`, with
    /// evidence of `rule`.
    fn assert_waits(&self, user: &str, task: &str, provider: &str, rule: &str) {
        let t = self.transition_of(user, task);
        let (waiting, rules) = self.waits(user, provider);
        assert!(
            waiting.contains(&t) && rules.contains(rule),
            "{}: {user}.{t} ({task}) should wait for {provider} ({rule}); waiting {waiting:?}, rules {rules:?}",
            self.label
        );
    }

    fn assert_same_transition(&self, component: &str, a: &str, b: &str) {
        assert_eq!(
            self.transition_of(component, a),
            self.transition_of(component, b),
            "{}: {component}: {a} and {b} must keep their order (one transition)",
            self.label
        );
    }

    /// No task twice in a phase (the transitions from one place): a
    /// handler loaded twice runs once per flush.
    fn assert_no_task_twice(&self) {
        for c in self.json["components"].as_array().unwrap() {
            let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            for t in c["transitions"].as_array().unwrap() {
                for x in t["tasks"].as_array().unwrap() {
                    *seen
                        .entry((t["from"].as_str().unwrap(), x.as_str().unwrap()))
                        .or_default() += 1;
                }
            }
            let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
            assert!(
                twice.is_empty(),
                "{}: {}: tasks twice in a phase: {twice:?}",
                self.label,
                c["name"]
            );
        }
    }

    fn conservative_reasons(&self) -> Vec<(String, String)> {
        self.json["conservative"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["task"].as_str().unwrap().to_string(),
                    c["reason"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// `concerto check` accepts the assembly and `concerto predict` finds
    /// no deadlock.
    fn assert_runnable(&self) {
        let check = Command::new(BIN)
            .arg("check")
            .arg(&self.assembly)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: concerto check:\n{}{}",
            self.label,
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let predict = Command::new(BIN)
            .arg("predict")
            .arg(&self.assembly)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            predict.status.success(),
            "{}: concerto predict:\n{}",
            self.label,
            String::from_utf8_lossy(&predict.stderr)
        );
        let p: Value = serde_json::from_slice(&predict.stdout).unwrap();
        assert!(
            p["deadlock"].is_null(),
            "{}: concerto predict: deadlock {}",
            self.label,
            p["deadlock"]
        );
        assert!(p["makespan"].as_f64().unwrap() > 0.0, "{}: {p}", self.label);
    }
}

#[test]
fn zabbix_roles_translate() {
    let sp = site_packages();
    let t = translate("zabbix", &input("zabbix.yml"), &input("zabbix.ini"), &[&sp]);
    let (db, server, web, agent) = (
        "Zabbix_database",
        "community.zabbix.zabbix_server",
        "community.zabbix.zabbix_web",
        "community.zabbix.zabbix_agent",
    );
    assert_eq!(t.component_names(), [db, server, web, agent]);
    // zabbix_server/tasks/initialize-mysql.yml:41 `community.mysql.mysql_db`
    // (delegated to the database host) talks to MySQL, which the database
    // play installs (zabbix.yml:10, `mariadb-server`): the database
    // initialisation waits for it...
    t.assert_waits(
        server,
        "zabbix_server/tasks/initialize-mysql.yml:41",
        db,
        "client-module",
    );
    // (What comes before it in its phase, the MySQL client packages on
    // the server's host, is in the same transition: a package install
    // writes files and services it does not name, so it keeps its order
    // with the file tasks around it.)
    // The database, then its user, then its schema (initialize-mysql.yml
    // :41 mysql_db, :55 mysql_user, :140 mysql_db state=import): calls to
    // one service keep their order.
    t.assert_same_transition(
        server,
        "initialize-mysql.yml:41",
        "initialize-mysql.yml:140",
    );
    t.assert_same_transition(server, "initialize-mysql.yml:41", "initialize-mysql.yml:55");
    // zabbix_agent/tasks/api.yml:36 `community.zabbix.zabbix_group` is a
    // client of the Zabbix API, whose service zabbix_server/tasks/main.yml:84
    // starts (`zabbix-server`).
    t.assert_waits(
        agent,
        "zabbix_agent/tasks/api.yml:36",
        server,
        "client-module",
    );
    // api.yml:50 `zabbix_host` reads `zabbix_agent_interfaces`, whose `ip`
    // is `zabbix_agent_ip` (zabbix_agent/defaults/main.yml:92), set at run
    // time by api.yml:9: one transition, in that order.
    t.assert_same_transition(agent, "api.yml:9", "api.yml:50");
    // The agent runs on every host, with includes named by facts
    // (zabbix_agent/tasks/main.yml:58 `install-{{ os_family }}.yml`): kept
    // as unknown steps after the others' tasks on their hosts.
    t.assert_waits(
        agent,
        "zabbix_agent/tasks/main.yml:58",
        db,
        "unknown-module",
    );
    assert!(t
        .conservative_reasons()
        .iter()
        .any(|(at, why)| at.ends_with("zabbix_agent/tasks/main.yml:58")
            && why.contains("include_tasks")));
    // ansible.posix.seboolean (zabbix_server/tasks/selinux.yml:17) has a
    // signature.
    assert!(
        !t.conservative_reasons()
            .iter()
            .any(|(_, why)| why.contains("has no signature")),
        "{:?}",
        t.conservative_reasons()
    );
    t.assert_no_task_twice();
    t.assert_runnable();
}

#[test]
fn mongodb_roles_translate() {
    let sp = site_packages();
    let t = translate(
        "mongodb",
        &input("mongodb.yml"),
        &input("mongodb.ini"),
        &[&sp],
    );
    let (linux, repo, install, mongod, rs, auth) = (
        "community.mongodb.mongodb_linux",
        "community.mongodb.mongodb_repository",
        "community.mongodb.mongodb_install",
        "community.mongodb.mongodb_mongod",
        "MongoDB_replica_set",
        "community.mongodb.mongodb_auth",
    );
    assert_eq!(
        t.component_names(),
        [linux, repo, install, mongod, rs, auth]
    );
    // mongodb.yml:20 `community.mongodb.mongodb_replicaset` talks to mongod,
    // whose package mongodb_mongod/tasks/main.yml:19 installs
    // (`mongod_package`: mongodb-org-server, its defaults/main.yml).
    t.assert_waits(rs, "mongodb.yml:20", mongod, "client-module");
    // mongodb_auth/tasks/main.yml:38 edits /etc/mongod.conf, which
    // mongodb_mongod/tasks/main.yml:40 writes from a template.
    t.assert_waits(
        auth,
        "mongodb_auth/tasks/main.yml:38",
        mongod,
        "shared-resource",
    );
    // mongodb_auth/tasks/main.yml:85 `mongodb_user` (the admin user) after
    // the replica set is initiated (mongodb.yml:20), on the same member.
    t.assert_waits(auth, "mongodb_auth/tasks/main.yml:85", rs, "exclusive");
    t.assert_waits(
        auth,
        "mongodb_auth/tasks/main.yml:85",
        mongod,
        "client-module",
    );
    // mongodb_repository/tasks/main.yml:3 includes `{{ ansible_facts.os_family
    // }}.yml`: not known before the run, kept as an unknown step.
    t.transition_of(repo, "mongodb_repository/tasks/main.yml:3");
    assert!(t.conservative_reasons().iter().any(|(at, why)| at
        .ends_with("mongodb_repository/tasks/main.yml:3")
        && why.contains("include_tasks")));
    t.assert_no_task_twice();
    t.assert_runnable();
}

/// DebOps' playbooks as the pip package ships them, in its collection.
fn debops_playbook(sp: &Path, name: &str) -> (PathBuf, PathBuf) {
    let colls = debops_collections(sp);
    let pb = colls
        .join("ansible_collections/debops/debops/playbooks/service")
        .join(name);
    (colls, pb)
}

#[test]
fn debops_ntp_translates() {
    let sp = site_packages();
    let (colls, pb) = debops_playbook(&sp, "ntp.yml");
    let t = translate("debops-ntp", &pb, &input("debops.ini"), &[&colls, &sp]);
    let (ferm, ntp) = ("debops.debops.ferm", "debops.debops.ntp");
    assert_eq!(t.component_names(), [ferm, ntp]);
    // ntp/tasks/main.yml:25 includes install.yml when
    // `ntp__daemon_enabled`, a default computed from facts
    // (ntp/defaults/main.yml:28): it may run, so its tasks are there.
    t.transition_of(ntp, "ntp/tasks/install.yml:7");
    // ntp/tasks/main.yml:29 and ferm/tasks/main.yml:209 both manage
    // /etc/ansible/facts.d.
    t.assert_waits(ntp, "ntp/tasks/main.yml:29", ferm, "shared-resource");
    // ntp/tasks/main.yml:15 (apt) and ferm/tasks/main.yml:16 (debconf) /
    // :24 (package) hold the package manager.
    t.assert_waits(ntp, "ntp/tasks/main.yml:15", ferm, "exclusive");
    // DebOps' global_handlers are imported by both roles (ferm/tasks/main.yml:12,
    // ntp/tasks/main.yml:7): a notified handler runs once.
    t.assert_no_task_twice();
    t.assert_runnable();
}

#[test]
fn debops_nginx_translates() {
    let sp = site_packages();
    let (colls, pb) = debops_playbook(&sp, "nginx.yml");
    let t = translate("debops-nginx", &pb, &input("debops.ini"), &[&colls, &sp]);
    let nginx = "debops.debops.nginx";
    assert_eq!(
        t.component_names(),
        [
            "debops.debops.keyring",
            "debops.debops.apt_preferences",
            "debops.debops.ferm",
            "debops.debops.python",
            nginx
        ]
    );
    // nginx/tasks/main.yml:44 installs packages after the APT keys of
    // keyring/tasks/main.yml:44 (`apt_key`), both holding the package
    // manager of the one host.
    t.assert_waits(
        nginx,
        "nginx/tasks/main.yml:44",
        "debops.debops.keyring",
        "exclusive",
    );
    // nginx/tasks/main.yml:19 includes a file a DebOps lookup names
    // (`debops.debops.task_src`): an unknown step.
    assert!(t
        .conservative_reasons()
        .iter()
        .any(|(at, why)| at.ends_with("nginx/tasks/main.yml:19") && why.contains("include_tasks")));
    t.assert_no_task_twice();
    t.assert_runnable();
}

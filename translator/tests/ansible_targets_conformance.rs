//! The playbook IR against ansible-core on ansible-core's own integration
//! tests: every playbook of the targets in [`TARGETS`] (from the
//! ansible-core sdist, `test/integration/targets/`, extracted by
//! `.ci/python-env.sh` and found through `CONCERTO_ANSIBLE_SRC`) is loaded
//! by us and by the oracle (`ansible_plugin/concerto_ir_export.py`), and
//! the two IRs must be equal: the static form, and the expanded form
//! (`--expand`) for the playbooks with dynamic includes.
//!
//! A target is playbook-shaped when some YAML file under it is a list of
//! plays; every such target is either in [`TARGETS`] or in
//! [`EXCLUDED_TARGETS`] with the reason, so that a new sdist's targets are
//! noticed. Playbooks of used targets that are not compared are in
//! [`SKIPPED_PLAYBOOKS`]; the few differences that are not loading
//! (plugin resolution, run-time behaviour) in [`KNOWN_DIFFERENCES`].
//! docs/ir.md ("ansible-core integration targets") explains both.
//!
//! Needs `CONCERTO_PYTHON` and `CONCERTO_ANSIBLE_SRC`: without them it
//! fails, it does not skip.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::ir::{differences, take_conditions, try_oracle_ir, try_ours, OracleRun};
use concerto_translator::playbook::Options;
use serde_json::Value;

/// The targets whose playbooks are compared.
const TARGETS: &[&str] = &[
    "ansible",
    "ansible-doc",
    "ansible-galaxy",
    "ansible-inventory",
    "ansible-playbook-callbacks",
    "ansible-pull",
    "ansible-test-git",
    "ansible-vault",
    "ansible_log",
    "any_errors_fatal",
    "async",
    "async_extra_data",
    "become_unprivileged",
    "binary_modules",
    "blocks",
    "builtin_vars_prompt",
    "cache-plugins",
    "callback-dispatch",
    "callback_default",
    "callback_results",
    "check_mode",
    "cli",
    "collections",
    "collections_plugin_namespace",
    "collections_relative_imports",
    "conditionals",
    "config",
    "connection",
    "connection_delegation",
    "connection_local",
    "connection_psrp",
    "connection_remote_is_local",
    "connection_ssh",
    "connection_windows_ssh",
    "connection_winrm",
    "data_tagging_controller",
    "dataloader",
    "debug",
    "debugger",
    "delegate_to",
    "deprecations",
    "environment",
    "error_from_connection",
    "fetch",
    "filter_core",
    "filter_mathstuff",
    "fork_safe_stdio",
    "gather_facts-errors",
    "gathering",
    "gathering_facts",
    "group_by",
    "handler_race",
    "handlers",
    "hash",
    "hosts_field",
    "ignore_errors",
    "ignore_unreachable",
    "import-role-tasks",
    "import_tasks",
    "include_import",
    "include_vars",
    "include_when_parent_is_dynamic",
    "include_when_parent_is_static",
    "includes",
    "includes_race",
    "infra",
    "interpreter_discovery_python",
    "interpreter_discovery_python_delegate_facts",
    "inventory",
    "inventory-invalid-group",
    "inventory_advanced_host_list",
    "inventory_generator",
    "inventory_ini",
    "inventory_toml",
    "jinja2_native_types",
    "jinja_plugins",
    "json-serialization",
    "json_cleanup",
    "keyword_inheritance",
    "lookup_config",
    "lookup_env",
    "lookup_fileglob",
    "lookup_ini",
    "lookup_inventory_hostnames",
    "lookup_password",
    "lookup_unvault",
    "loop-connection",
    "loop_control",
    "meta_tasks",
    "missing_required_lib",
    "module_defaults",
    "module_precedence",
    "module_tracebacks",
    "module_utils",
    "no_log",
    "noexec",
    "omit",
    "order",
    "package_facts",
    "parsing",
    "path_lookups",
    "path_with_comma_in_inventory",
    "pause",
    "play_iterator",
    "playbook",
    "plugin_filtering",
    "plugin_loader",
    "pyyaml",
    "raw",
    "register",
    "rel_plugin_loading",
    "remote_tmp",
    "result_pickle_error",
    "roles",
    "roles_arg_spec",
    "roles_var_inheritance",
    "run_modules",
    "set_fact",
    "set_stats",
    "setup_paramiko",
    "shell",
    "special_vars_hosts",
    "ssh_agent",
    "strategy_free",
    "strategy_host_pinned",
    "strategy_linear",
    "subversion",
    "tags",
    "tasks",
    "template",
    "template_jinja2_non_native",
    "templating_lookup_args",
    "templating_lookups",
    "templating_settings",
    "test_core",
    "throttle",
    "unarchive",
    "unicode",
    "unsafe_writes",
    "unvault",
    "var_blending",
    "var_precedence",
    "var_reserved",
    "var_templating",
    "vars_files",
    "win_app_control",
    "yaml_parsing",
];

/// Playbook-shaped targets that are not used, and why.
const EXCLUDED_TARGETS: &[(&str, &str)] = &[];

/// Why a playbook of a used target is not compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Skip {
    /// Deliberately malformed (the target tests Ansible's error): both
    /// loaders must refuse it.
    Refused,
    /// Not loadable on its own, or needs what the test does not give (a
    /// vault password, a file runme.sh makes): not loaded.
    NotLoadable,
}

/// Playbooks of used targets that are not compared (path under the
/// targets directory), with the reason.
const SKIPPED_PLAYBOOKS: &[(&str, Skip, &str)] = &[
    ("ansible-vault/test_vault.yml", Skip::NotLoadable, "needs the vault password: Ansible decrypts a vaulted vars file while loading"),
    ("ansible-vault/test_vault_file_encrypted_embedded.yml", Skip::NotLoadable, "needs the vault password: Ansible decrypts a vaulted vars file while loading"),
    ("builtin_vars_prompt/unsupported.yml", Skip::Refused, "a vars_prompt key Ansible does not know"),
    ("collections/collection_root_user/ansible_collections/testns/testcoll/playbooks/default_collection_playbook.yml", Skip::NotLoadable, "a collection's own playbook: ansible-playbook makes its collection the default for module names, the oracle does not (compared through import_collection_pb.yml)"),
    ("handlers/test_block_as_handler-import.yml", Skip::Refused, "a block as a handler, in an imported handlers file"),
    ("handlers/test_block_as_handler.yml", Skip::Refused, "a block as a handler"),
    ("handlers/test_role_as_handler.yml", Skip::Refused, "include_role as a handler"),
    ("include_import/apply/import_apply.yml", Skip::Refused, "`apply` on import_tasks"),
    ("include_import/playbook/playbook_needing_vars.yml", Skip::NotLoadable, "names its role with a variable that only the import in test_import_playbook.yml gives (compared there)"),
    ("include_import/role/test_include_role_vars_from.yml", Skip::Refused, "`vars_from` given a list"),
    ("include_when_parent_is_static/playbook.yml", Skip::Refused, "imports a file that is not a task list"),
    ("playbook/empty_hosts.yml", Skip::Refused, "an empty `hosts`"),
    ("playbook/malformed_post_tasks.yml", Skip::Refused, "`post_tasks: 123`"),
    ("playbook/malformed_pre_tasks.yml", Skip::Refused, "`pre_tasks: 123`"),
    ("playbook/malformed_roles.yml", Skip::Refused, "`roles: 123`"),
    ("playbook/malformed_tasks.yml", Skip::Refused, "`tasks: 123`"),
    ("playbook/malformed_vars_prompt.yml", Skip::Refused, "a vars_prompt without `name`"),
    ("playbook/old_style_role.yml", Skip::Refused, "the old `role: a,b` form"),
    ("playbook/remote_user_and_user.yml", Skip::Refused, "both `user` and `remote_user` on a play"),
    ("plugin_loader/normal/underscore.yml", Skip::NotLoadable, "uses a module through a symlink that runme.sh creates"),
    ("register/invalid.yml", Skip::Refused, "`register: 200`"),
    ("register/invalid_skipped.yml", Skip::Refused, "`register: 200` on a skipped task"),
    ("roles/end_role_handler_error.yml", Skip::Refused, "`meta: end_role` in a handler"),
    ("roles/no_outside_import.yml", Skip::Refused, "`tasks_from` leading out of the role"),
    ("set_fact/set_fact_ansible_vars.yml", Skip::Refused, "a `_ansible_` argument"),
];

/// Which forms of the IR a known difference is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Form {
    Both,
    /// Only in what `--expand` adds.
    Expanded,
}

/// Differences that are not loading, by playbook and either a JSON
/// pointer into the IR or a keyword name (that keyword on every node):
/// left out of the comparison, they must differ (a stale entry fails the
/// test).
const KNOWN_DIFFERENCES: &[(&str, Form, &str, &str)] = &[
    (
        "gathering_facts/test_module_defaults.yml",
        Form::Both,
        "module_defaults",
        "`ios_facts` is redirected by ansible-core's plugin routing to cisco.ios.ios_facts",
    ),
    (
        "module_defaults/test_defaults.yml",
        Form::Both,
        "module_defaults",
        "the playbook's action_plugins/debug.py shadows `debug`, and the test collection's \
         meta/runtime.yml redirects modules: plugin resolution is not modelled",
    ),
    (
        "include_import/issue73657.yml",
        Form::Expanded,
        "/plays/0/tasks/1/block/0/included",
        "the included file's module `wrong.wrong.wrong` does not exist: Ansible fails the \
         include when it runs",
    ),
    (
        "include_import/include_role_omit/playbook.yml",
        Form::Expanded,
        "/plays/0/tasks/1/block/0/included/file",
        "the oracle reads `tasks_from: \"{{ omit }}\"` before templating and names the role's \
         directory; the role's tasks/main.yml is what is loaded",
    ),
];

/// What a target's runme.sh sets up for some of its playbooks (the first
/// entry whose `path` starts the playbook's path applies): roles and
/// collections directories (relative to the target) and extra variables.
struct Setup {
    path: &'static str,
    roles: &'static [&'static str],
    collections: &'static [&'static str],
    /// `ANSIBLE_LIBRARY`, for the oracle only: we do not resolve modules.
    library: &'static [&'static str],
    extra: &'static [&'static str],
}

const DEFAULT_SETUP: Setup = Setup {
    path: "",
    // `roles/` of the target, then the targets directory (`../`), where
    // runme.sh scripts find the shared `setup_*` roles.
    roles: &["roles", ".."],
    collections: &[],
    library: &[],
    extra: &[],
};

const SETUPS: &[Setup] = &[
    Setup {
        path: "collections/",
        collections: &["collection_root_user", "collection_root_sys"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "collections_plugin_namespace/",
        collections: &["collection_root"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "collections_relative_imports/",
        collections: &["collection_root"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "win_app_control/",
        collections: &["."],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "include_import/playbook/test_templated_filenames.yml",
        extra: &["pb=validate_templated_playbook.yml tasks=validate_templated_tasks.yml tasks_from=templated.yml"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "module_precedence/modules_test_envvar_ext.yml",
        library: &["lib_with_extension"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "module_precedence/modules_test_multiple_roles",
        roles: &["multiple_roles"],
        library: &["lib_with_extension"],
        ..DEFAULT_SETUP
    },
    Setup {
        path: "module_precedence/modules_test_role",
        roles: &["roles_with_extension"],
        ..DEFAULT_SETUP
    },
];

const HOW: &str = "run `eval \"$(.ci/python-env.sh | tail -n1)\"` at the repository root: it \
                   extracts ansible-core's integration targets from its sdist and prints \
                   `export CONCERTO_PYTHON=... CONCERTO_ANSIBLE_SRC=...`";

/// `test/integration/targets` of the ansible-core sdist.
fn targets_dir() -> PathBuf {
    let src = match std::env::var_os("CONCERTO_ANSIBLE_SRC") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => panic!(
            "CONCERTO_ANSIBLE_SRC is not set: this test compares with ansible-core's own \
             integration targets and cannot run without them; {HOW}"
        ),
    };
    let dir = src.join("test/integration/targets");
    assert!(
        dir.is_dir(),
        "CONCERTO_ANSIBLE_SRC={}: no test/integration/targets there; {HOW}",
        src.display()
    );
    dir
}

/// Whether the file is a playbook: a YAML list of mappings, one of which
/// has `hosts` or imports a playbook.
fn is_playbook(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(doc) = concerto_translator::yaml::from_yaml(&path.display().to_string(), &text) else {
        return false;
    };
    let concerto_translator::yaml::Yaml::Seq(items) = &doc.root.value else {
        return false;
    };
    let is_play = |n: &concerto_translator::yaml::Node| {
        n.value.as_map().is_some_and(|m| {
            m.keys().any(|k| {
                k.as_str().is_some_and(|k| {
                    k == "hosts" || k.rsplit('.').next() == Some("import_playbook")
                })
            })
        })
    };
    !items.is_empty()
        && items.iter().all(|n| n.value.as_map().is_some())
        && items.iter().any(is_play)
}

/// The playbooks under a target, sorted.
fn playbooks_of(target: &Path) -> Vec<PathBuf> {
    common::files_under(target, &[".yml", ".yaml"])
        .into_iter()
        .filter(|p| is_playbook(p))
        .collect()
}

/// Every target directory holding a playbook.
fn playbook_shaped_targets(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir)
        .expect("the targets directory")
        .flatten()
    {
        if e.path().is_dir() && !playbooks_of(&e.path()).is_empty() {
            out.insert(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// One playbook to compare.
struct Job {
    /// Its path under the targets directory.
    name: String,
    path: PathBuf,
    roles: Vec<PathBuf>,
    collections: Vec<PathBuf>,
    library: Vec<PathBuf>,
    extra: &'static [&'static str],
}

fn job(targets: &Path, path: PathBuf) -> Job {
    let name = path
        .strip_prefix(targets)
        .expect("under the targets directory")
        .display()
        .to_string();
    let target = targets.join(name.split('/').next().expect("a target"));
    let setup = SETUPS
        .iter()
        .find(|s| name.starts_with(s.path))
        .unwrap_or(&DEFAULT_SETUP);
    let roles = if setup.roles.is_empty() {
        DEFAULT_SETUP.roles
    } else {
        setup.roles
    };
    Job {
        roles: roles.iter().map(|r| target.join(r)).collect(),
        collections: setup.collections.iter().map(|c| target.join(c)).collect(),
        library: setup.library.iter().map(|l| target.join(l)).collect(),
        extra: setup.extra,
        name,
        path,
    }
}

/// What comparing one playbook found.
#[derive(Default)]
struct Outcome {
    /// Compared statically (neither skipped nor refused).
    compared: bool,
    /// Also compared with `--expand`.
    expanded: bool,
    /// Includes the oracle could not load (see `drop_oracle_errors`).
    include_errors: usize,
    failures: Vec<String>,
}

fn join_paths(paths: &[PathBuf]) -> OsString {
    std::env::join_paths(paths).expect("paths without ':'")
}

/// Our IR and the oracle's, for one form.
fn both(py: &Path, job: &Job, expand: bool) -> (Result<Value, String>, Result<Value, String>) {
    let opts = Options {
        expand,
        roles_path: job.roles.clone(),
        collections_path: job.collections.clone(),
        // The oracle's `-i localhost,`.
        inventory: Some(concerto_translator::inventory::load(Path::new("localhost,")).unwrap()),
        ..Options::default()
    };
    let ours = try_ours(&job.path, job.extra, opts);
    let roles = join_paths(&job.roles);
    let collections = join_paths(&job.collections);
    let library = join_paths(&job.library);
    let mut run = OracleRun {
        inventory: "localhost,",
        extra: job.extra,
        expand,
        env: vec![("ANSIBLE_ROLES_PATH", roles.as_os_str())],
    };
    if !job.collections.is_empty() {
        run.env
            .push(("ANSIBLE_COLLECTIONS_PATH", collections.as_os_str()));
    }
    if !job.library.is_empty() {
        run.env.push(("ANSIBLE_LIBRARY", library.as_os_str()));
    }
    (ours, try_oracle_ir(py, &job.path, &run))
}

/// Whether an IR holds a dynamic include (`--expand` has work to do).
fn has_dynamic_include(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            let include = m.get("action").and_then(Value::as_str).is_some_and(|a| {
                let short = a.rsplit('.').next().unwrap_or(a);
                short == "include_tasks" || short == "include_role"
            });
            include || m.values().any(has_dynamic_include)
        }
        Value::Array(a) => a.iter().any(has_dynamic_include),
        _ => false,
    }
}

/// Take the known differences of this playbook out of both IRs; a known
/// difference that is not one any more is a failure.
fn drop_known(name: &str, form: &str, ours: &mut Value, oracle: &mut Value) -> Vec<String> {
    let mut stale = Vec::new();
    for (pb, in_form, what, why) in KNOWN_DIFFERENCES {
        if *pb != name || (*in_form == Form::Expanded && form != "expand") {
            continue;
        }
        let differed = if what.starts_with('/') {
            // Taken out of both: marked where both have it, removed where
            // one has it.
            let marker = Value::String(format!("(not compared: {why})"));
            match (ours.pointer(what).is_some(), oracle.pointer(what).is_some()) {
                (true, true) if ours.pointer(what) == oracle.pointer(what) => false,
                (false, false) => false,
                (true, true) => {
                    let both = [ours.pointer_mut(what), oracle.pointer_mut(what)];
                    for v in both.into_iter().flatten() {
                        *v = marker.clone();
                    }
                    true
                }
                (true, false) => remove_pointer(ours, what),
                (false, true) => remove_pointer(oracle, what),
            }
        } else {
            let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
            take_keyword(ours, what, "", &mut a);
            take_keyword(oracle, what, "", &mut b);
            a != b
        };
        if !differed {
            stale.push(format!(
                "{name} ({form}): the known difference at {what} is not there any more; \
                 remove it from KNOWN_DIFFERENCES"
            ));
        }
    }
    stale
}

/// Removes the value at a JSON pointer (a key of an object).
fn remove_pointer(v: &mut Value, pointer: &str) -> bool {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return false;
    };
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => m.remove(key).is_some(),
        _ => false,
    }
}

/// Removes keyword `k` from every node of `v`, keeping each by its path.
fn take_keyword(v: &mut Value, k: &str, path: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(kw)) = m.get_mut("keywords") {
                if let Some(x) = kw.remove(k) {
                    out.insert(path.to_string(), x);
                }
            }
            for (key, x) in m.iter_mut() {
                take_keyword(x, k, &format!("{path}/{key}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                take_keyword(x, k, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The oracle notes `"error"` on an include whose file or role exists
/// by name but cannot be loaded (missing, malformed, a module Ansible
/// cannot resolve): Ansible fails such an include when it runs, and our
/// expansion leaves it as it is. The notes are taken out (and counted);
/// an include we expanded there still differs.
fn drop_oracle_errors(v: &mut Value) -> usize {
    match v {
        Value::Object(m) => {
            let include = m.contains_key("action");
            let here = usize::from(include && m.remove("error").is_some());
            here + m.values_mut().map(drop_oracle_errors).sum::<usize>()
        }
        Value::Array(a) => a.iter_mut().map(drop_oracle_errors).sum(),
        _ => 0,
    }
}

/// The differences between our IR and the oracle's in one form, as
/// failures; counts the oracle's include errors set aside.
fn compare(name: &str, form: &str, ours: Value, oracle: Value, outcome: &mut Outcome) {
    let (mut ours, mut oracle) = (ours, oracle);
    outcome.include_errors += drop_oracle_errors(&mut oracle);
    outcome
        .failures
        .extend(drop_known(name, form, &mut ours, &mut oracle));
    // Conditions (`--expand`): where both sides know one, the same value
    // (the allowed unknowns are checked on Kolla, playbook_conformance.rs).
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    take_conditions(&mut ours, &mut mine);
    take_conditions(&mut oracle, &mut theirs);
    let mut diffs = Vec::new();
    for (a, b) in mine.iter().zip(&theirs) {
        if let (Some(x), Some(y)) = (a.result, b.result) {
            if x != y {
                diffs.push(format!("{}: when_result {x} vs {y}", a.at));
            }
        }
    }
    differences(&ours, &oracle, "", &mut diffs);
    if !diffs.is_empty() {
        outcome.failures.push(format!(
            "{name} ({form}): our IR differs from ansible-core's (ours vs oracle):\n    {}",
            diffs.join("\n    ")
        ));
    }
}

fn check(py: &Path, job: &Job) -> Outcome {
    let mut outcome = Outcome::default();
    let name = &job.name;
    let skip = SKIPPED_PLAYBOOKS.iter().find(|(p, _, _)| p == name);
    if let Some((_, Skip::NotLoadable, _)) = skip {
        return outcome;
    }
    let (ours, oracle) = both(py, job, false);
    if let Some((_, Skip::Refused, why)) = skip {
        let failure = match (&ours, &oracle) {
            (Err(_), Err(_)) => None,
            (Ok(_), _) => Some(format!(
                "{name}: we load it, but it is listed as refused ({why})"
            )),
            (_, Ok(_)) => Some(format!(
                "{name}: ansible-core loads it, but it is listed as refused ({why})"
            )),
        };
        outcome.failures.extend(failure);
        return outcome;
    }
    let (ours, oracle) = match (ours, oracle) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), Ok(_)) => {
            let failure = format!("{name}: we refuse it, ansible-core loads it:\n    {e}");
            outcome.failures.push(failure);
            return outcome;
        }
        (Ok(_), Err(e)) => {
            let failure = format!("{name}: ansible-core refuses it, we load it:\n    {e}");
            outcome.failures.push(failure);
            return outcome;
        }
        (Err(a), Err(b)) => {
            outcome.failures.push(format!(
                "{name}: both refuse it (list it in SKIPPED_PLAYBOOKS):\n    ours: {a}\n    oracle: {b}"
            ));
            return outcome;
        }
    };
    outcome.compared = true;
    outcome.expanded = has_dynamic_include(&ours);
    compare(name, "static", ours, oracle, &mut outcome);
    if outcome.expanded {
        match both(py, job, true) {
            (Ok(a), Ok(b)) => compare(name, "expand", a, b, &mut outcome),
            (Err(e), _) => outcome
                .failures
                .push(format!("{name} (expand): we fail: {e}")),
            (_, Err(e)) => outcome
                .failures
                .push(format!("{name} (expand): the oracle fails: {e}")),
        }
    }
    outcome
}

#[test]
fn ansible_core_integration_targets_match_ansible() {
    let py = common::oracle().python;
    let targets = targets_dir();

    // The lists cover every playbook-shaped target, once.
    let shaped = playbook_shaped_targets(&targets);
    let used: BTreeSet<String> = TARGETS.iter().map(|t| t.to_string()).collect();
    let excluded: BTreeSet<String> = EXCLUDED_TARGETS
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    assert_eq!(
        used.len(),
        TARGETS.len(),
        "a target is listed twice in TARGETS"
    );
    let both_lists: Vec<_> = used.intersection(&excluded).collect();
    assert!(both_lists.is_empty(), "used and excluded: {both_lists:?}");
    let listed: BTreeSet<String> = used.union(&excluded).cloned().collect();
    let unlisted: Vec<_> = shaped.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&shaped).collect();
    assert!(
        unlisted.is_empty() && unknown.is_empty(),
        "playbook-shaped targets not listed in TARGETS or EXCLUDED_TARGETS: {unlisted:?}; \
         listed but not playbook-shaped targets of this sdist: {unknown:?}"
    );

    // `CONCERTO_TARGETS=blocks,handlers` compares only those (while
    // working on the loader: the whole run takes minutes).
    let only = std::env::var("CONCERTO_TARGETS").ok();
    let targets_used: Vec<&str> = match &only {
        Some(list) => {
            let names: Vec<&str> = list.split(',').map(str::trim).collect();
            for n in &names {
                assert!(
                    TARGETS.contains(n),
                    "CONCERTO_TARGETS: {n} is not in TARGETS"
                );
            }
            TARGETS
                .iter()
                .copied()
                .filter(|t| names.contains(t))
                .collect()
        }
        None => TARGETS.to_vec(),
    };
    let mut jobs = Vec::new();
    for t in &targets_used {
        jobs.extend(
            playbooks_of(&targets.join(t))
                .into_iter()
                .map(|p| job(&targets, p)),
        );
    }
    for (p, _, _) in SKIPPED_PLAYBOOKS.iter().filter(|_| only.is_none()) {
        assert!(
            jobs.iter().any(|j| j.name == *p),
            "SKIPPED_PLAYBOOKS names {p}, not a playbook of a used target"
        );
    }

    // The oracle is a Python process per playbook: run a few at once.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let outcome = check(&py, job);
                outcomes
                    .lock()
                    .expect("no worker panicked")
                    .push((i, outcome));
            });
        }
    });
    let mut outcomes = outcomes.into_inner().expect("no worker panicked");
    outcomes.sort_by_key(|(i, _)| *i);

    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|(_, o)| f(o)).count();
    let compared = count(|o| o.compared);
    let expanded = count(|o| o.expanded);
    let refused = jobs
        .iter()
        .filter(|j| {
            SKIPPED_PLAYBOOKS
                .iter()
                .any(|(p, s, _)| *p == j.name && *s == Skip::Refused)
        })
        .count();
    let include_errors: usize = outcomes.iter().map(|(_, o)| o.include_errors).sum();
    let failures: Vec<String> = outcomes.into_iter().flat_map(|(_, o)| o.failures).collect();
    eprintln!(
        "ansible-core integration targets: {} targets, {} playbooks: {compared} compared \
         ({expanded} also expanded; {include_errors} includes only Ansible's run would fail), \
         {refused} refused by both, {} not loaded; {} failures",
        targets_used.len(),
        jobs.len(),
        jobs.len() - compared - refused,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of the comparisons failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        targets_used.len() >= 50 && compared >= 300 || only.is_some(),
        "too few targets or playbooks compared"
    );
}

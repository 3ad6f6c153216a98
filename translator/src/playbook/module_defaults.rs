//! `module_defaults` as Ansible stores it when loading
//! (`Base._load_module_defaults`): always a list of mappings, each key
//! resolved as the plugin loader resolves it. `group/x` becomes
//! `group/ansible.builtin.x` unless `x` is already `ns.coll.x`; a short
//! (or `ansible.legacy.`) module name becomes `ansible.builtin.x` when
//! ansible-core ships it, else stays `x` (a module of a `library/`
//! directory resolves to its bare name).
//!
//! We have no plugin loader, so three cases differ: a `library/` module
//! that shadows a builtin one (Ansible keeps both names), a name that
//! ansible-core redirects to a collection (`ios_facts` is
//! `cisco.ios.ios_facts` when that collection is installed), and a name
//! that resolves to nothing (Ansible refuses the play; here it stays `x`).

use serde_json::{Map, Value};

/// ansible-core 2.19's modules (`ansible/modules/`) and the action plugin
/// without a module (`normal`).
const BUILTIN: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "async_wrapper",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "normal",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
];

/// The loaded form of a `module_defaults:` value (JSON as written).
pub(super) fn loaded(value: Value) -> Value {
    let list = match value {
        Value::Null => return Value::Null,
        Value::Array(a) => a,
        v => vec![v],
    };
    Value::Array(
        list.into_iter()
            .map(|entry| match entry {
                Value::Object(m) => Value::Object(qualified(m)),
                // Ansible refuses anything but mappings.
                other => other,
            })
            .collect(),
    )
}

fn qualified(m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, defaults) in m {
        if let Some(group) = key.strip_prefix("group/") {
            let group = if is_fqcr(group) {
                group.to_string()
            } else {
                format!("ansible.builtin.{group}")
            };
            out.insert(format!("group/{group}"), defaults);
            continue;
        }
        let short = key
            .strip_prefix("ansible.legacy.")
            .or_else(|| key.strip_prefix("ansible.builtin."))
            .or_else(|| (!is_fqcr(&key)).then_some(key.as_str()));
        let name = match short {
            // `yum` is redirected to `dnf` (ansible_builtin_runtime.yml).
            Some("yum") => "ansible.builtin.dnf".to_string(),
            Some(s) if BUILTIN.contains(&s) => format!("ansible.builtin.{s}"),
            Some(s) => s.to_string(),
            None => key.clone(),
        };
        out.insert(name, defaults);
    }
    out
}

/// `ns.coll.name` (`AnsibleCollectionRef.is_valid_fqcr`, roughly).
fn is_fqcr(name: &str) -> bool {
    name.split('.').count() >= 3 && name.split('.').all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::loaded;
    use serde_json::json;

    #[test]
    fn names_are_qualified() {
        let v = loaded(json!({
            "setup": {"a": 1},
            "group/testgroup": {"b": 2},
            "group/ns.coll.g": {},
            "ns.coll.mod": {},
            "my_local_module": {},
            "ansible.builtin.yum": {},
        }));
        assert_eq!(
            v,
            json!([{
                "ansible.builtin.setup": {"a": 1},
                "group/ansible.builtin.testgroup": {"b": 2},
                "group/ns.coll.g": {},
                "ns.coll.mod": {},
                "my_local_module": {},
                "ansible.builtin.dnf": {},
            }])
        );
        assert_eq!(
            loaded(json!([{"ping": {}}, "{{ x }}"])),
            json!([{"ansible.builtin.ping": {}}, "{{ x }}"])
        );
    }
}

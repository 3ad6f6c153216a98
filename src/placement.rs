//! Where actions run. A component placed with `hosts: web` (assembly) or
//! `add(c : T @ web)` (program) runs each action on every host the Ansible
//! host pattern `web` selects in the inventory given to `run -i`; an
//! unplaced component runs on this machine.
//!
//! [`Hosts`] is resolved once, before the run starts: every pattern the
//! program names must select at least one host, every host must have a
//! usable connection (`exec::ssh::connection_for`), so a typo fails the
//! run before anything has been done. Connections are opened lazily, by
//! the first action on each host, and shared by all its actions.

use crate::exec::local::Local;
use crate::exec::ssh::{connection_for, HostConnection, Ssh};
use crate::exec::Connection;
use crate::model::{Instr, Placement, Runnable, SrcSpan};
use concerto_translator::inventory::{vars_json, Inventory};
use indexmap::IndexMap;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// One host an action runs on.
pub struct Target {
    /// The inventory name (`local` for this machine).
    pub name: String,
    pub connection: Arc<dyn Connection>,
    /// `{{ host }}` in templates: `name`, `address`, `vars`.
    pub info: minijinja::Value,
}

/// The inventory's hosts and the patterns of one program, resolved.
pub struct Hosts {
    local: Arc<Target>,
    targets: IndexMap<String, Arc<Target>>,
    ssh: Vec<Arc<Ssh>>,
    /// Pattern -> selected hosts, in inventory order.
    selected: HashMap<String, Vec<Arc<Target>>>,
    /// `{{ groups }}` and `{{ hostvars }}` in templates.
    pub inventory: minijinja::Value,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PlacementError {
    #[error("components are placed on hosts, but no inventory was given")]
    #[diagnostic(code(placement::no_inventory))]
    NoInventory {
        #[source_code]
        src: NamedSource<Arc<String>>,
        #[label("placed on `{pattern}`")]
        span: SourceSpan,
        pattern: String,
        #[help]
        help: String,
    },
    #[error("{message}")]
    #[diagnostic(code(placement::bad_pattern))]
    Pattern {
        message: String,
        #[source_code]
        src: NamedSource<Arc<String>>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: String,
    },
    #[error("cannot read the inventory")]
    #[diagnostic(code(placement::inventory), help("{help}"))]
    Inventory {
        #[source]
        source: concerto_translator::inventory::InventoryError,
        help: String,
    },
    #[error("{0}")]
    #[diagnostic(
        code(placement::connection),
        help("only `ansible_connection` ssh and local, and `ansible_become_method` sudo, are supported")
    )]
    Connection(String),
}

impl Hosts {
    /// No inventory: every component runs here.
    pub fn local_only() -> Hosts {
        Hosts {
            local: Arc::new(local_target()),
            targets: IndexMap::new(),
            ssh: Vec::new(),
            selected: HashMap::new(),
            inventory: json_value(serde_json::json!({
                "groups": {}, "hostvars": {}
            })),
        }
    }

    /// Resolve every placement of `runnable` against the inventory at
    /// `inventory` (none: placements are errors). `source` is the text the
    /// runnable's spans point into, for diagnostics.
    pub fn resolve(
        runnable: &Runnable,
        inventory: Option<&Path>,
        source: NamedSource<Arc<String>>,
    ) -> Result<Hosts, PlacementError> {
        let placed: Vec<(&Placement, SrcSpan)> = runnable
            .program
            .iter()
            .zip(&runnable.spans)
            .filter_map(|(i, s)| match i {
                Instr::Add { placement, .. } if !placement.is_local() => Some((placement, *s)),
                _ => None,
            })
            .collect();
        let Some(path) = inventory else {
            return match placed.first() {
                None => Ok(Hosts::local_only()),
                Some((p, span)) => Err(PlacementError::NoInventory {
                    pattern: p.patterns().next().unwrap_or_default().to_string(),
                    src: source,
                    span: (*span).into(),
                    help: "pass the Ansible inventory with `-i inventory.ini`".into(),
                }),
            };
        };
        let inv = concerto_translator::inventory::load(path).map_err(|source| {
            PlacementError::Inventory {
                help: match source.location() {
                    Some(at) => format!("fix {at}"),
                    None => format!("check {}", path.display()),
                },
                source,
            }
        })?;
        let mut hosts = Hosts::from_inventory(&inv)?;
        for (placement, span) in placed {
            for pattern in placement.patterns() {
                if hosts.selected.contains_key(pattern) {
                    continue;
                }
                let names =
                    select(&inv, pattern).map_err(|(label, help)| PlacementError::Pattern {
                        message: format!(
                            "host pattern `{pattern}` selects no host of {}",
                            path.display()
                        ),
                        src: source.clone(),
                        span: span.into(),
                        label,
                        help,
                    })?;
                let targets = names.iter().map(|n| hosts.targets[n].clone()).collect();
                hosts.selected.insert(pattern.to_string(), targets);
            }
        }
        Ok(hosts)
    }

    fn from_inventory(inv: &Inventory) -> Result<Hosts, PlacementError> {
        let mut targets = IndexMap::new();
        let mut ssh = Vec::new();
        let mut all_vars = Map::new();
        for name in inv.hosts.keys() {
            let vars = vars_json(&inv.host_vars(name));
            let address = vars
                .get("ansible_host")
                .and_then(Value::as_str)
                .unwrap_or(name)
                .to_string();
            let connection: Arc<dyn Connection> =
                match connection_for(name, &vars).map_err(PlacementError::Connection)? {
                    HostConnection::Local => Arc::new(Local::new()),
                    HostConnection::Ssh(target) => {
                        let mut s = Ssh::new(target);
                        if let Some(t) = connect_timeout(&vars) {
                            s = s.connect_timeout(t);
                        }
                        let s = Arc::new(s);
                        ssh.push(s.clone());
                        s
                    }
                };
            let info = serde_json::json!({"name": name, "address": address, "vars": vars});
            all_vars.insert(name.clone(), info.clone());
            targets.insert(
                name.clone(),
                Arc::new(Target {
                    name: name.clone(),
                    connection,
                    info: json_value(&info),
                }),
            );
        }
        let groups: BTreeMap<String, Vec<String>> = inv
            .groups
            .keys()
            .map(|g| (g.clone(), inv.group_hosts(g)))
            .collect();
        Ok(Hosts {
            local: Arc::new(local_target()),
            targets,
            ssh,
            selected: HashMap::new(),
            inventory: json_value(serde_json::json!({"groups": groups, "hostvars": all_vars})),
        })
    }

    /// The hosts transition `transition` of a component placed by
    /// `placement` runs on; this machine when unplaced.
    pub fn targets(&self, placement: &Placement, transition: &str) -> Vec<Arc<Target>> {
        match placement.pattern_for(transition) {
            None => vec![self.local.clone()],
            // Resolved by `resolve` for every `add` of the program.
            Some(p) => self.selected.get(p).cloned().unwrap_or_default(),
        }
    }

    /// Ends the run on every host: waits until cancelled remote commands
    /// are killed (after Ctrl-C), then removes each host's private
    /// directory (`Ssh::close`), all hosts at once.
    pub async fn close(&self) {
        futures_util::future::join_all(self.ssh.iter().map(|s| s.close())).await;
    }
}

/// A JSON value as a template value.
pub fn json_value(v: impl serde::Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

fn local_target() -> Target {
    Target {
        name: "local".into(),
        connection: Arc::new(Local::new()),
        info: json_value(
            serde_json::json!({"name": "localhost", "address": "127.0.0.1", "vars": {}}),
        ),
    }
}

/// `ansible_ssh_timeout` / `ansible_timeout`: seconds to connect.
fn connect_timeout(vars: &Map<String, Value>) -> Option<Duration> {
    ["ansible_ssh_timeout", "ansible_timeout"]
        .iter()
        .find_map(|k| match vars.get(*k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
        .map(Duration::from_secs_f64)
}

/// The hosts an Ansible host pattern selects, in inventory order
/// (`inventory::select`). `Err((label, help))` when a term names no host or
/// group, the pattern selects no host, or it uses a form not supported.
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>, (String, String)> {
    use concerto_translator::inventory::select::PatternError;
    match concerto_translator::inventory::select::select(inv, pattern) {
        Ok(hosts) if hosts.is_empty() => Err((
            "selects nothing".into(),
            "the exclusions and intersections leave no host".into(),
        )),
        Ok(hosts) => Ok(hosts),
        Err(PatternError::Unsupported(name)) => Err((
            format!("`{name}` is not supported"),
            "regular expressions (`~...`) and subscripts (`web[0]`) are not supported; \
             name the hosts or groups"
                .into(),
        )),
        Err(PatternError::NoMatch(name)) => {
            let mut known: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
            known.extend(inv.hosts.keys().map(String::as_str));
            let help = match crate::suggest::suggest(&name, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the inventory's groups are {}",
                    inv.groups
                        .keys()
                        .map(|g| format!("`{g}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Err((format!("`{name}` is no host or group"), help))
        }
    }
}

/// The data values several hosts published, in target order: one host's
/// values as they are; a name published by several hosts gets their
/// values joined with `,` (e.g. every node's address, for a cluster).
pub fn merge_data(per_host: &[Vec<(String, String)>]) -> Vec<(String, String)> {
    let mut out: IndexMap<String, Vec<String>> = IndexMap::new();
    for data in per_host {
        // Within one host, the last value of a name wins.
        let mine: IndexMap<&str, &str> =
            data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for (k, v) in mine {
            out.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    out.into_iter().map(|(k, v)| (k, v.join(","))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.ini");
        let text = "\
[web]
w1
w2
[db]
d1 ansible_host=127.0.0.21
d2
[prod:children]
web
[prod]
d1
";
        std::fs::write(&path, text).unwrap();
        concerto_translator::inventory::load(&path).unwrap()
    }

    #[test]
    fn pattern_errors_say_what_and_suggest() {
        // The evaluation itself is tested in `inventory::select`.
        let i = inv();
        let s = |p: &str| select(&i, p).map_err(|e| e.0);
        assert_eq!(s("db:&prod").unwrap(), ["d1"]);
        assert!(s("webb").unwrap_err().contains("`webb`"));
        assert!(select(&i, "webb").unwrap_err().1.contains("`web`"));
        assert!(s("web:!web").unwrap_err().contains("nothing"));
        assert!(s("~w.*").unwrap_err().contains("not supported"));
    }

    #[test]
    fn data_of_several_hosts_is_joined_in_host_order() {
        let d = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            merge_data(&[d(&[("ip", "a"), ("x", "1"), ("x", "2")]), d(&[("ip", "b")])]),
            d(&[("ip", "a,b"), ("x", "2")])
        );
        assert_eq!(merge_data(&[d(&[("ip", "a")])]), d(&[("ip", "a")]));
    }

    #[test]
    fn hosts_get_connections_and_template_values() {
        let h = Hosts::from_inventory(&inv()).unwrap();
        assert_eq!(h.targets.len(), 4);
        let d1 = &h.targets["d1"];
        assert_eq!(d1.connection.host(), "d1");
        assert_eq!(
            d1.info.get_attr("address").unwrap().as_str(),
            Some("127.0.0.21")
        );
        let groups = h.inventory.get_attr("groups").unwrap();
        assert_eq!(groups.get_attr("prod").unwrap().len(), Some(3));
    }
}

impl std::fmt::Debug for Hosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosts")
            .field("hosts", &self.targets.keys().collect::<Vec<_>>())
            .field("patterns", &self.selected.keys().collect::<Vec<_>>())
            .finish()
    }
}

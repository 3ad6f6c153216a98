//! Variables a task sees before anything runs, in Ansible's order of
//! precedence (the documented 22 levels), for templating include names:
//!
//! | level | source |
//! |---|---|
//! | 2 | role defaults (the role and its dependency chain) |
//! | 3–10 | inventory and playbook `group_vars/` / `host_vars/` of the play's first host (`Inventory::host_vars`) |
//! | 12, 14 | play `vars`, `vars_files` |
//! | 15 | role `vars/` |
//! | 16, 17 | block vars, task vars |
//! | 20 | role params |
//! | 21 | include params |
//! | 22 | extra vars (`-e`) |
//! | 23 | magic variables (`groups`, `ansible_play_hosts`...: `reach.rs`) |
//!
//! Facts, registered results and `set_fact` are run-time data: a name that
//! is not defined here is undefined, and a template that needs it cannot
//! be resolved (the include keeps its candidates).

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

use super::task::Own;
use super::Loader;
use crate::inventory::Inventory;
use crate::template::{LazyVars, Outcome, Value, VarMap};
use crate::yaml::{Node, Yaml};

/// The host whose variables a play without any inventory host is
/// templated with: one in group `all` only (the oracle's `stand_in_host`).
const STAND_IN_HOST: &str = "__concerto_static__";

/// Variables from one source, at one level of precedence.
#[derive(Debug, Clone)]
pub(super) struct Layer {
    pub level: u8,
    pub vars: Arc<VarMap>,
}

/// The layers a scope has gathered, outermost first.
pub(super) type Layers = Arc<Vec<Layer>>;

/// `layers` and one more (nothing added for an empty mapping).
pub(super) fn with(
    layers: &Layers,
    level: u8,
    vars: impl IntoIterator<Item = (String, Node)>,
) -> Layers {
    let vars: VarMap = vars.into_iter().collect();
    if vars.is_empty() {
        return layers.clone();
    }
    let mut v = (**layers).clone();
    v.push(Layer {
        level,
        vars: Arc::new(vars),
    });
    Arc::new(v)
}

/// The variables of a `vars:` keyword (a mapping, or a list of them).
pub(super) fn vars_of(own: &Own) -> IndexMap<String, Node> {
    let mut out = IndexMap::new();
    let mut add = |n: &Node| {
        if let Yaml::Map(m) = &n.value {
            for (k, v) in m {
                out.insert(k.to_py_str(), v.clone());
            }
        }
    };
    match own.get("vars").map(|v| &v.value) {
        Some(Yaml::Seq(items)) => items.iter().for_each(&mut add),
        Some(_) => add(&own["vars"]),
        None => {}
    }
    out
}

/// A YAML file's top-level mapping (defaults, role vars, vars_files).
pub(super) fn mapping(root: &Node) -> IndexMap<String, Node> {
    match &root.value {
        Yaml::Map(m) => m.iter().map(|(k, v)| (k.to_py_str(), v.clone())).collect(),
        _ => IndexMap::new(),
    }
}

impl Loader {
    /// The layers a play starts with: its first host's inventory and
    /// playbook group/host vars, its `vars` and `vars_files`, `-e`.
    pub(super) fn play_layers(
        &mut self,
        own: &Own,
        hosts: &[String],
        dir: &Path,
        targets: &Option<Vec<String>>,
    ) -> Layers {
        let mut layers: Layers = Arc::new(Vec::new());
        if let Some(inv) = &self.inventory {
            // The first target; without any, the first host the patterns
            // name statically.
            let host = match targets.as_ref().and_then(|t| t.first()) {
                Some(h) => Some(h.clone()),
                None => first_host(inv, hosts),
            };
            if let Some(host) = host {
                let vars = self.inventory_vars(&host);
                layers = Arc::new(vec![Layer { level: 3, vars }]);
                layers = with(&layers, 3, self.host_magic(&host));
            } else {
                let vars: VarMap = inv
                    .group_vars_from_files("all")
                    .into_iter()
                    .map(|(k, v)| (k, v.value))
                    .collect();
                layers = with(&layers, 4, vars);
                // As the oracle's stand-in host: in `all` only.
                let mut magic = self.host_magic(STAND_IN_HOST);
                magic.insert(
                    "group_names".into(),
                    Node::new(Yaml::Seq(Vec::new()), Default::default()),
                );
                layers = with(&layers, 3, magic);
            }
        }
        layers = with(&layers, 12, vars_of(own));
        if let Some(Yaml::Seq(files)) = own.get("vars_files").map(|f| &f.value) {
            for f in files {
                let Some(name) = f.value.as_str() else {
                    continue;
                };
                if name.contains("{{") {
                    continue;
                }
                let path = dir.join(name);
                if let Ok(doc) = self.file(&path) {
                    layers = with(&layers, 14, mapping(&doc.root));
                }
            }
        }
        if self.inventory.is_some() {
            layers = with(&layers, super::reach::MAGIC, self.play_magic(targets));
        }
        layers
    }

    /// A host's inventory variables, merged once.
    pub(super) fn inventory_vars(&self, host: &str) -> Arc<VarMap> {
        if let Some(v) = self.host_vars.borrow().get(host) {
            return v.clone();
        }
        let v: Arc<VarMap> = Arc::new(
            self.inventory
                .as_ref()
                .map(|inv| {
                    inv.host_vars(host)
                        .into_iter()
                        .map(|(k, v)| (k, v.value))
                        .collect()
                })
                .unwrap_or_default(),
        );
        self.host_vars
            .borrow_mut()
            .insert(host.to_string(), v.clone());
        v
    }

    /// Template `text` with the variables of `layers` (and `-e`): its
    /// string value, or `None` when it needs run-time data or fails.
    pub(super) fn render(&self, text: &str, layers: &Layers) -> Option<String> {
        // `-e` outranks everything: a template that only names extra
        // variables needs no other scope (Kolla's `{{ kolla_action }}.yml`).
        let scope = if names_in(text)
            .iter()
            .all(|n| self.opts.extra_vars.contains_key(n))
        {
            self.scope_for(&Layers::default())
        } else {
            self.scope_for(layers)
        };
        match self.templar.template(text, &scope) {
            Ok(Outcome::Known(Value::Str(s))) => Some(s.to_string()),
            Ok(Outcome::Known(v)) => v
                .as_str()
                .map(str::to_string)
                .or_else(|| match v.to_json() {
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    serde_json::Value::Bool(b) => {
                        Some(if b { "True" } else { "False" }.to_string())
                    }
                    _ => None,
                }),
            _ => None,
        }
    }
}

impl Loader {
    /// The templating scope of `layers`, built once per set of layers (a
    /// role's tasks share theirs) and kept: building one copies every
    /// variable of Kolla's group_vars.
    pub(super) fn scope_for(&self, layers: &Layers) -> LazyVars {
        let key = Arc::as_ptr(layers) as usize;
        // For the translator (`render`), the names set at run time so far
        // are unknown in the variables' values too (a role default
        // `ip: "{{ zabbix_agent_ip }}"` after `set_fact: zabbix_agent_ip`),
        // as at the task's level (reach.rs `RunTime`): the scope is made
        // again when they change (the set only grows: its size is its
        // version).
        let version = if self.opts.render {
            self.reach.runtime.len()
        } else {
            0
        };
        if let Some((_, v, s)) = self.scopes.borrow().get(&key) {
            if *v == version {
                return s.clone();
            }
        }
        let mut sorted: Vec<&Layer> = layers.iter().collect();
        sorted.sort_by_key(|l| l.level);
        let mut b = LazyVars::builder(&self.templar);
        let (below, magic): (Vec<&Layer>, Vec<&Layer>) = sorted
            .into_iter()
            .partition(|l| l.level < super::reach::MAGIC);
        for l in below {
            b = b.layer(l.vars.clone());
        }
        for (k, v) in &self.opts.extra_vars {
            b = b.node(k, v.clone());
        }
        // Magic variables outrank even `-e`.
        for l in magic {
            b = b.layer(l.vars.clone());
        }
        // For the translator (`render`), an undefined `ansible_*` name in
        // a variable's value is a fact, unknown, as at the task's level
        // (reach.rs `RunTime`); the IR compared with Ansible keeps
        // Ansible's view before anything runs (undefined).
        if self.opts.render {
            b = b.unknown_prefix("ansible_");
            for name in self.reach.runtime.iter() {
                b = b.unknown(name);
            }
        }
        let scope = b.unknown("ansible_facts").unknown("hostvars").build();
        // The Arc is kept with the scope so that its address is not reused;
        // a scope made again keeps the one it replaces alive (values handed
        // out refer to it weakly).
        let old = self
            .scopes
            .borrow_mut()
            .insert(key, (layers.clone(), version, scope.clone()));
        if let Some((_, _, old)) = old {
            self.reach.retired_scopes.borrow_mut().push(old);
        }
        scope
    }
}

/// The names a template's expressions start with (a conservative
/// over-approximation: every identifier inside `{{ }}` and `{% %}` that is
/// not an attribute, a string or a keyword).
fn names_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let inner = &rest[i + 1..];
        let Some(close) = inner.find('}') else { break };
        let expr = &inner[..close];
        let mut chars = expr.char_indices().peekable();
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        while let Some((j, c)) = chars.next() {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                prev = c;
                continue;
            }
            if c == '\'' || c == '"' {
                quote = Some(c);
            } else if (c.is_ascii_alphabetic() || c == '_')
                && !(prev.is_ascii_alphanumeric() || prev == '_' || prev == '.')
            {
                let mut end = j + c.len_utf8();
                while let Some(&(k, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        end = k + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &expr[j..end];
                if !matches!(
                    word,
                    "and"
                        | "or"
                        | "not"
                        | "in"
                        | "is"
                        | "if"
                        | "else"
                        | "elif"
                        | "endif"
                        | "for"
                        | "endfor"
                        | "set"
                        | "endset"
                        | "with"
                        | "endwith"
                        | "true"
                        | "false"
                        | "none"
                        | "True"
                        | "False"
                        | "None"
                ) {
                    out.push(word.to_string());
                }
                prev = 'a';
                continue;
            }
            prev = c;
        }
        rest = &inner[close + 1..];
    }
    out
}

/// The host Ansible would take the play's variables from: the first
/// inventory host of the first pattern term that names a group or host
/// (run-time groups such as Kolla's `&enable_x_True` do not exist yet).
fn first_host(inv: &Inventory, hosts: &[String]) -> Option<String> {
    for pattern in hosts {
        let sep = if pattern.contains(',') { ',' } else { ':' };
        for term in pattern.split(sep).map(str::trim) {
            if term.starts_with('!') || term.starts_with('&') || term.is_empty() {
                continue;
            }
            if term == "all" || term == "*" {
                if let Some(h) = inv.hosts.keys().next() {
                    return Some(h.clone());
                }
            }
            if inv.groups.contains_key(term) {
                if let Some(h) = inv.group_hosts(term).into_iter().next() {
                    return Some(h);
                }
            } else if inv.hosts.contains_key(term) {
                return Some(term.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::names_in;

    #[test]
    fn names_of_a_template() {
        assert_eq!(names_in("{{ kolla_action }}.yml"), ["kolla_action"]);
        assert_eq!(
            names_in("{{ a.b | default('x y') }}-{% if c and not d.e %}{% endif %}"),
            ["a", "default", "c", "d"]
        );
        assert_eq!(names_in("plain"), Vec::<String>::new());
    }
}

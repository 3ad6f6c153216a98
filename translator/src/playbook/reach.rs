//! What a run would reach (`--expand`), as far as it is known before
//! anything runs: the hosts each play targets, and the value of each
//! task's `when`.
//!
//! Plays and tasks are visited in run order while they are loaded, so
//! that what a task does to later ones is seen by them:
//! - `group_by` adds its groups (templated per target host, per loop item)
//!   to the inventory, and later plays' patterns see them: Kolla's
//!   `hosts: [keystone, '&enable_keystone_True']` targets no host when
//!   Keystone is disabled;
//! - `register` and `set_fact` make their names run-time data: later
//!   conditions naming them are unknown, not undefined.
//!
//! A `when` is evaluated with the variables of the play's first target
//! (as include names are, `vars.rs`), the magic variables Ansible adds
//! (`groups`, `group_names`, `ansible_play_hosts`...), the task's `vars`
//! and its loop items; facts, registered results and undefined `ansible_*`
//! names are unknown. A condition that fails to evaluate is unknown too
//! (at run time it would fail the task). A looped task runs if any item's
//! condition holds; an empty loop runs nothing.
//!
//! Not simulated: `add_host` (its hosts and groups exist only at run
//! time), `include_vars` (its names are not marked), `serial` batches,
//! hosts that fail, conditions of handlers; `groups` and `group_names` are
//! those of the play's start (a `group_by` counts from the next play on). A task is evaluated for the
//! first host only: a condition that differs between hosts is decided by
//! the first.

use std::collections::HashSet;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::args::is_builtin;
use super::ir;
use super::task::{Own, Scope};
use super::vars::{self, Layer, Layers};
use super::Loader;
use crate::template::{LazyVars, Lookup, Outcome, Scope as Vars, Tri, Value};
use crate::yaml::{Node, Yaml};

/// Level of the magic variables: above extra vars, as `get_vars` adds them.
pub(super) const MAGIC: u8 = 23;

/// What the tasks visited so far did.
#[derive(Default)]
pub(super) struct State {
    /// Names set at run time by the tasks before (`register`, `set_fact`),
    /// but those `-e` sets (it outranks them). Shared by the scopes made
    /// until the next one is added.
    pub(super) runtime: Arc<HashSet<String>>,
    /// Scopes made again for new run-time names (vars.rs `scope_for`),
    /// kept alive for the values they handed out.
    pub(super) retired_scopes: std::cell::RefCell<Vec<LazyVars>>,
    /// Above zero inside what does not run: a play without targets, an
    /// include whose condition is false.
    gate: usize,
    /// The current play's targets (`None`: not known).
    targets: Option<Vec<String>>,
    /// The current play has no targets.
    play_gated: bool,
    /// The magic `groups`, made again only after a `group_by`.
    groups: Option<Node>,
    /// `Options::render`: `hostvars` for the current run-time names, and
    /// the per-host scopes its values refer to (weakly: kept here).
    hostvars: std::cell::RefCell<Option<(usize, Value)>>,
    hostvars_scopes: std::cell::RefCell<Vec<LazyVars>>,
    /// `Options::render`: groups that tasks before may fill at run time
    /// (`add_host`; a `group_by` whose key is not known), as globs.
    dynamic_groups: Vec<String>,
    /// Set when a template reads `hostvars` (`render.rs` resets it).
    pub(super) hostvars_read: Arc<std::sync::atomic::AtomicBool>,
}

impl Loader {
    /// The hosts a play targets, with the groups made so far.
    pub(super) fn play_targets(&self, own: &Own, hosts: &[String]) -> Option<Vec<String>> {
        let inv = self.inventory.as_ref()?;
        let play_vars = vars::with(&Layers::default(), 12, vars::vars_of(own));
        let mut patterns = Vec::new();
        for h in hosts {
            if h.contains("{{") || h.contains("{%") {
                patterns.push(self.render(h, &play_vars)?);
            } else {
                patterns.push(h.clone());
            }
        }
        // For the translator, a play that targets a group filled at run
        // time targets hosts not known yet.
        let dynamic = patterns.iter().flat_map(|p| p.split([',', ':'])).any(|p| {
            let p = p.trim_start_matches(['&', '!']);
            self.reach.dynamic_groups.iter().any(|g| {
                crate::inventory::select::glob(g, p) || crate::inventory::select::glob(p, g)
            })
        });
        if self.opts.render && dynamic {
            return None;
        }
        let refs: Vec<&str> = patterns.iter().map(String::as_str).collect();
        crate::inventory::select::hosts_matching(inv, &refs)
    }

    /// Enter a play: its targets are known from here on; a play without
    /// any runs nothing.
    pub(super) fn enter_play(&mut self, targets: &Option<Vec<String>>) {
        self.reach.targets = targets.clone();
        self.reach.play_gated = targets.as_ref().is_some_and(Vec::is_empty);
        if self.reach.play_gated {
            self.reach.gate += 1;
        }
    }

    pub(super) fn leave_play(&mut self, targets: &Option<Vec<String>>) {
        if targets.as_ref().is_some_and(Vec::is_empty) {
            self.reach.gate -= 1;
        }
    }

    /// The host-level magic variables of `host` (`inventory_hostname`,
    /// `inventory_hostname_short`, `group_names`), at the inventory's level.
    pub(super) fn host_magic(&self, host: &str) -> IndexMap<String, Node> {
        let mut m = IndexMap::new();
        m.insert("inventory_hostname".into(), str_node(host));
        let short = host.split('.').next().unwrap_or(host);
        m.insert("inventory_hostname_short".into(), str_node(short));
        if let Some(inv) = &self.inventory {
            let mut names: Vec<String> = inv
                .host_groups(host)
                .into_iter()
                .filter(|g| g != "all")
                .collect();
            names.sort();
            m.insert("group_names".into(), list_node(&names));
        }
        m
    }

    /// The play-level magic variables (`_get_magic_variables`).
    pub(super) fn play_magic(&mut self, targets: &Option<Vec<String>>) -> IndexMap<String, Node> {
        let mut m = IndexMap::new();
        let dir = self.canonical_base.display().to_string();
        m.insert("playbook_dir".into(), str_node(&dir));
        let Some(inv) = &self.inventory else {
            return m;
        };
        let groups = self.reach.groups.clone().unwrap_or_else(|| {
            let groups = inv
                .groups
                .keys()
                .map(|g| (crate::yaml::Key::str(g), list_node(&inv.group_hosts(g))))
                .collect();
            Node::new(Yaml::Map(groups), Default::default())
        });
        self.reach.groups = Some(groups.clone());
        m.insert("groups".into(), groups);
        if let Some(t) = targets {
            for name in [
                "ansible_play_hosts_all",
                "ansible_play_hosts",
                "ansible_play_batch",
                "play_hosts",
            ] {
                m.insert(name.into(), list_node(t));
            }
        }
        m
    }

    /// Evaluate a task's `when` (`task.when_result`) and record what it
    /// does to the tasks after it. `own`: its keywords as written.
    pub(super) fn reach_task(&mut self, task: &mut ir::Task, own: &Own, scope: &Scope) {
        let conds: Option<Vec<Json>> = task.keywords.get("when").map(|w| match w {
            Json::Array(a) => a.clone(),
            x => vec![x.clone()],
        });
        // A handler's condition is not reported (it runs when notified),
        // but what it may do counts: Kolla's `mariadb_bootstrap_restart`
        // group is made by a handler.
        let result = match &conds {
            // Only in plays with targets: the condition of a task that
            // never runs is moot (and its evaluation most of the cost on
            // Kolla). Plays' targets are the oracle's; includes decided
            // false are not (ours may decide where ansible-core cannot).
            Some(c) if task.file.is_some() && !scope.handlers && !self.reach.play_gated => {
                let base = self.task_scope(&scope.vars, own, None);
                let r = match self.decide(c, own, &scope.vars, &base) {
                    Tri::True => Some(true),
                    Tri::False => Some(false),
                    Tri::Unknown(deps) => {
                        task.when_depends = deps.into_iter().collect();
                        None
                    }
                };
                task.when_result = Some(r);
                r
            }
            _ => Some(true),
        };
        if self.reach.gate > 0 {
            return;
        }
        if self.opts.render {
            if result != Some(false) {
                task.rendered = Some(Box::new(self.render_task(task, own, scope)));
            } else if own.contains_key("register") {
                // Skipped, it still sets its registered name.
                task.rendered = Some(Box::new(ir::Rendered {
                    skipped: true,
                    complete: true,
                    ..Default::default()
                }));
            }
        }
        if let Some(r) = own.get("register").and_then(|r| r.value.as_str()) {
            // Registered even when skipped.
            self.set_at_run_time(r);
        }
        if result == Some(false) {
            return;
        }
        if is_builtin(&task.action, "set_fact") {
            for k in task.args.keys().filter(|k| *k != "cacheable") {
                self.set_at_run_time(k);
            }
        }
        if is_builtin(&task.action, "group_by") {
            self.group_by(task, own, scope, conds.as_deref().unwrap_or_default());
        }
        if self.opts.render && is_builtin(&task.action, "add_host") {
            // Its groups as templated (`render.rs`), else globs of their
            // templates.
            let key = ["groups", "group", "groupname"]
                .into_iter()
                .find(|k| task.args.contains_key(*k));
            let mut names = Vec::new();
            let mut add = |v: &Json, raw: Option<&Json>| match v {
                Json::String(s) => names.extend(s.split(',').map(|g| g.trim().to_string())),
                Json::Array(a) => a.iter().for_each(|g| match g.as_str() {
                    Some(g) => names.push(g.to_string()),
                    None => names.push("*".into()),
                }),
                _ => names.push(
                    raw.and_then(Json::as_str)
                        .map_or("*".into(), crate::template::template_glob),
                ),
            };
            if let (Some(k), Some(r)) = (key, &task.rendered) {
                for item in &r.items {
                    if let Some(v) = item.get(k) {
                        add(v, task.args.get(k));
                    }
                }
            }
            self.reach.dynamic_groups.extend(names);
        }
    }

    fn set_at_run_time(&mut self, name: &str) {
        if !self.reach.runtime.contains(name) && !self.opts.extra_vars.contains_key(name) {
            Arc::make_mut(&mut self.reach.runtime).insert(name.to_string());
        }
    }

    /// Around an include's expansion: what it includes does not run when
    /// its own condition is false.
    pub(super) fn gate_include(&mut self, task: &ir::Task, enter: bool) {
        if task.when_result == Some(Some(false)) {
            if enter {
                self.reach.gate += 1;
            } else {
                self.reach.gate -= 1;
            }
        }
    }

    /// The scope a task's templates see: its layers, its own `vars` (below
    /// `-e`), run-time names unknown, and `bound` (a loop item), which
    /// the task's own `vars` see too (`service: "{{ item.value }}"`).
    pub(super) fn task_scope(
        &self,
        layers: &Layers,
        own: &Own,
        bound: Option<(&str, &Value)>,
    ) -> Arc<dyn Vars> {
        let runtime = &self.reach.runtime;
        let over = |inner: Arc<dyn Vars>| -> Arc<dyn Vars> {
            let inner: Arc<dyn Vars> = Arc::new(RunTime {
                runtime: runtime.clone(),
                inner,
            });
            match bound {
                Some((name, value)) => Arc::new(Bound {
                    name: name.to_string(),
                    value: value.clone(),
                    inner,
                }),
                None => inner,
            }
        };
        let mut base = over(Arc::new(self.scope_for(layers)));
        if self.opts.render {
            if let Some(hostvars) = self.hostvars() {
                base = Arc::new(Probe {
                    read: self.reach.hostvars_read.clone(),
                    bound: Bound {
                        name: "hostvars".into(),
                        value: hostvars,
                        inner: base,
                    },
                });
            }
        }
        // Task vars (level 17) yield to role and include params, `-e` and
        // magic variables.
        let above = |k: &str| {
            self.opts.extra_vars.contains_key(k)
                || layers
                    .iter()
                    .any(|l| l.level > 17 && l.vars.contains_key(k))
        };
        let own_vars: Vec<(String, Node)> = vars::vars_of(own)
            .into_iter()
            .filter(|(k, _)| !above(k))
            .collect();
        if own_vars.is_empty() {
            return base;
        }
        let mut b = LazyVars::builder(&self.templar).parent(base);
        for (k, v) in own_vars {
            b = b.node(&k, v);
        }
        // Run-time names and the item outrank the task's vars.
        over(Arc::new(b.build()))
    }

    /// `hostvars` (translator only, `Options::render`): each inventory
    /// host's inventory variables, `-e` and host magic variables, with
    /// facts and the names set at run time so far unknown. Made again when
    /// those names change.
    fn hostvars(&self) -> Option<Value> {
        let inv = self.inventory.as_ref()?;
        // The set only grows: its size is its version (its address is not:
        // `Arc::make_mut` changes it in place when nothing else holds it).
        let version = self.reach.runtime.len();
        if let Some((v, value)) = &*self.reach.hostvars.borrow() {
            if *v == version {
                return Some(value.clone());
            }
        }
        let mut scopes = Vec::new();
        let mut dict = Vec::new();
        for host in inv.hosts.keys() {
            let magic: crate::template::VarMap = self.host_magic(host).into_iter().collect();
            let mut b = LazyVars::builder(&self.templar)
                .layer(self.inventory_vars(host))
                .layer(Arc::new(magic));
            for (k, v) in &self.opts.extra_vars {
                b = b.node(k, v.clone());
            }
            b = b
                .unknown("ansible_facts")
                .unknown("hostvars")
                .unknown_prefix("ansible_");
            for name in self.reach.runtime.iter() {
                b = b.unknown(name);
            }
            let scope = b.build();
            dict.push((crate::template::Key::str(host), scope.as_value()));
            scopes.push(scope);
        }
        let value = Value::Dict(dict.into_iter().collect());
        self.reach.hostvars_scopes.borrow_mut().extend(scopes);
        *self.reach.hostvars.borrow_mut() = Some((version, value.clone()));
        Some(value)
    }

    /// The conditions' value over the task's loop items.
    fn decide(&self, conds: &[Json], own: &Own, layers: &Layers, scope: &Arc<dyn Vars>) -> Tri {
        match self.loop_items(own, scope) {
            None => self.conditions(conds, scope.as_ref()),
            Some(Err(deps)) => {
                // Items not known: the conditions that do not read the
                // item still decide (false whatever the items).
                let var = loop_var(own);
                let item = Value::unknown(var.clone());
                let unusable = self.task_scope(layers, own, Some((&var, &item)));
                match self.conditions(conds, unusable.as_ref()) {
                    Tri::False => Tri::False,
                    Tri::True => Tri::Unknown(deps),
                    Tri::Unknown(mut d) => {
                        d.remove(&var);
                        d.extend(deps);
                        Tri::Unknown(d)
                    }
                }
            }
            Some(Ok(items)) => {
                let var = loop_var(own);
                let mut all = Tri::False;
                for item in items {
                    let scope = self.task_scope(layers, own, Some((&var, &item)));
                    match self.conditions(conds, scope.as_ref()) {
                        Tri::True => return Tri::True,
                        Tri::False => {}
                        Tri::Unknown(d) => match &mut all {
                            Tri::Unknown(a) => a.extend(d),
                            _ => all = Tri::Unknown(d),
                        },
                    }
                }
                all
            }
        }
    }

    /// Ansible's list of conditions, each a bare expression (or a bool).
    fn conditions(&self, conds: &[Json], scope: &dyn Vars) -> Tri {
        Tri::all(conds.iter().map(|c| {
            match c {
                Json::Bool(true) => Tri::True,
                Json::Bool(false) => Tri::False,
                Json::String(s) => self
                    .templar
                    .condition(s, scope)
                    .unwrap_or_else(|e| failed(&e.to_string())),
                _ => failed("a condition is a string or a bool"),
            }
        }))
    }

    /// The task's loop items: `None` without a loop, `Err` with what they
    /// depend on when they are not known statically.
    pub(super) fn loop_items(
        &self,
        own: &Own,
        scope: &Arc<dyn Vars>,
    ) -> Option<Result<Vec<Value>, Deps>> {
        let node = own.get("loop")?;
        // `loop: "{{ services }}"`: the items stay lazy, so that only the
        // parts the conditions read are templated.
        let lazy = |expr: &str| match self.templar.evaluate_lazy(expr, scope.as_ref()) {
            Ok(Value::Unknown(d)) => Err(d.into_set()),
            Ok(v) if v.is_marker() => Err(error("the loop is undefined")),
            Ok(v) => Ok(v),
            Err(e) => Err(error(&e.to_string())),
        };
        let single = node.value.as_str().and_then(single_expression);
        let templated = match single.map(lazy) {
            Some(Ok(v)) => Ok(Outcome::Known(v)),
            Some(Err(d)) => return Some(Err(d)),
            None => self.templar.template_node(node, scope.as_ref()),
        };
        let templated = match templated {
            Ok(Outcome::Known(v)) => v,
            // Items with unknown parts: conditions that do not read those
            // parts are still decided.
            Ok(Outcome::Unknown {
                partial: Some(v), ..
            }) => v,
            other => return Some(Err(unknown(other))),
        };
        let items = match own.get("loop_with").and_then(|w| w.value.as_str()) {
            None => templated,
            Some(lookup) => {
                // `with_<lookup>: terms` is `query('<lookup>', *terms)`.
                let terms = match templated {
                    Value::List(l) => Value::List(l),
                    other => Value::List(crate::template::List::new(vec![other])),
                };
                let bound = Bound {
                    name: "__concerto_terms".into(),
                    value: terms,
                    inner: scope.clone(),
                };
                let expr = format!("query({lookup:?}, *__concerto_terms)");
                match self.templar.evaluate_lazy(&expr, &bound) {
                    Ok(Value::Unknown(d)) => return Some(Err(d.into_set())),
                    Ok(v) if v.is_marker() => return Some(Err(error("the loop is undefined"))),
                    Ok(v) => v,
                    Err(e) => return Some(Err(error(&e.to_string()))),
                }
            }
        };
        match items {
            Value::List(l) => Some(Ok(l.to_vec())),
            other => Some(Err(error(&format!(
                "the loop is a {}, not a list",
                other.type_name()
            )))),
        }
    }

    /// `group_by`: for each target host and loop item, the group named by
    /// `key` (spaces as `-`) under its `parents` (default `all`), with the
    /// host in it. Conditions are evaluated again per host.
    fn group_by(&mut self, task: &ir::Task, own: &Own, scope: &Scope, conds: &[Json]) {
        let key = task.args.get("key").cloned();
        let Some(targets) = self.reach.targets.clone() else {
            // Hosts not known: the groups it makes are filled at run time.
            if self.opts.render {
                let raw = key.as_ref().and_then(Json::as_str).unwrap_or("*");
                self.reach
                    .dynamic_groups
                    .push(crate::template::template_glob(raw));
            }
            return;
        };
        let parents: Vec<Json> = match task.args.get("parents") {
            None => vec![Json::String("all".into())],
            Some(Json::Array(a)) => a.clone(),
            Some(p) => vec![p.clone()],
        };
        let mut adds: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut unknown_keys = false;
        for host in &targets {
            let layers = self.layers_for_host(&scope.vars, host);
            let base = self.task_scope(&layers, own, None);
            let items: Vec<Option<Value>> = match self.loop_items(own, &base) {
                None => vec![None],
                Some(Ok(items)) => items.into_iter().map(Some).collect(),
                Some(Err(_)) => {
                    unknown_keys = true;
                    continue;
                }
            };
            let var = loop_var(own);
            for item in items {
                let scope = match &item {
                    Some(value) => self.task_scope(&layers, own, Some((&var, value))),
                    None => base.clone(),
                };
                if self.conditions(conds, scope.as_ref()) == Tri::False {
                    continue;
                }
                let text = |v: &Json| -> Option<String> {
                    let s = v.as_str()?;
                    let r = self.templar.template(s, scope.as_ref()).ok()?;
                    r.known().map(|v| match v.as_str() {
                        Some(s) => s.to_string(),
                        None => v.repr(),
                    })
                };
                let Some(name) = key.as_ref().and_then(text) else {
                    unknown_keys = true;
                    continue;
                };
                let parents = parents.iter().filter_map(text).collect();
                adds.push((host.clone(), name.replace(' ', "-"), parents));
            }
        }
        if unknown_keys && self.opts.render {
            let raw = key.as_ref().and_then(Json::as_str).unwrap_or("*");
            self.reach
                .dynamic_groups
                .push(crate::template::template_glob(raw));
        }
        let Some(inv) = self.inventory.as_mut() else {
            return;
        };
        self.reach.groups = None;
        for (host, group, parents) in adds {
            if inv.add_group(&group, None).is_err() {
                continue;
            }
            for p in parents {
                let p = p.replace(' ', "-");
                if inv.add_group(&p, None).is_ok() {
                    let _ = inv.add_child(&p, &group);
                }
            }
            let _ = inv.add_child(&group, &host);
        }
    }

    /// `layers` with another host's inventory variables in place of the
    /// first target's.
    fn layers_for_host(&self, layers: &Layers, host: &str) -> Layers {
        let mut out: Vec<Layer> = vec![
            Layer {
                level: 3,
                vars: self.inventory_vars(host),
            },
            Layer {
                level: 3,
                vars: Arc::new(self.host_magic(host).into_iter().collect()),
            },
        ];
        out.extend(layers.iter().filter(|l| l.level != 3).cloned());
        Arc::new(out)
    }
}

type Deps = std::collections::BTreeSet<String>;

/// What a failed evaluation depends on: its message.
fn error(message: &str) -> Deps {
    Deps::from([format!("error: {message}")])
}

fn failed(message: &str) -> Tri {
    Tri::Unknown(error(message))
}

fn unknown(outcome: Result<Outcome, crate::template::TemplateError>) -> Deps {
    match outcome {
        Ok(Outcome::Unknown { depends_on, .. }) => depends_on,
        Ok(Outcome::Known(_)) => Deps::new(),
        Err(e) => error(&e.to_string()),
    }
}

/// The expression of a string that is one `{{ ... }}` and nothing else.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner)
}

/// The loop variable (`loop_control.loop_var`, else `item`).
pub(super) fn loop_var(own: &Own) -> String {
    own.get("loop_control")
        .and_then(|lc| lc.get("loop_var"))
        .and_then(|v| v.value.as_str())
        .unwrap_or("item")
        .to_string()
}

fn str_node(s: &str) -> Node {
    Node::new(Yaml::Str(s.to_string()), Default::default())
}

fn list_node(items: &[String]) -> Node {
    Node::new(
        Yaml::Seq(items.iter().map(|s| str_node(s)).collect()),
        Default::default(),
    )
}

/// Run-time names over a scope: what `register`/`set_fact` set is unknown
/// (they outrank everything but `-e`), and so is an undefined `ansible_*`
/// name (a fact, injected as a variable).
struct RunTime {
    runtime: Arc<HashSet<String>>,
    inner: Arc<dyn Vars>,
}

impl Vars for RunTime {
    fn lookup(&self, name: &str) -> Lookup {
        if self.runtime.contains(name) {
            return Lookup::Unknown;
        }
        match self.inner.lookup(name) {
            Lookup::Undefined if name.starts_with("ansible_") => Lookup::Unknown,
            l => l,
        }
    }

    fn search_paths(&self) -> Vec<std::path::PathBuf> {
        self.inner.search_paths()
    }
}

/// One more name bound over a scope (a loop item).
struct Bound {
    name: String,
    value: Value,
    inner: Arc<dyn Vars>,
}

impl Vars for Bound {
    fn lookup(&self, name: &str) -> Lookup {
        if name == self.name {
            return Lookup::Known(self.value.clone());
        }
        self.inner.lookup(name)
    }

    fn search_paths(&self) -> Vec<std::path::PathBuf> {
        self.inner.search_paths()
    }
}

/// `hostvars` bound over a scope, noting that it was read.
struct Probe {
    read: Arc<std::sync::atomic::AtomicBool>,
    bound: Bound,
}

impl Vars for Probe {
    fn lookup(&self, name: &str) -> Lookup {
        if name == self.bound.name {
            self.read.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.bound.lookup(name)
    }

    fn search_paths(&self) -> Vec<std::path::PathBuf> {
        self.bound.search_paths()
    }
}

/// How many tasks of an expanded IR a run would reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reach {
    /// Tasks written (implicit ones and handlers not counted), included
    /// files' tasks each time they are included.
    pub tasks: usize,
    /// Reached, with no condition or a condition known to hold.
    pub run: usize,
    /// Reached, with a condition that depends on run-time data.
    pub unknown: usize,
    /// Not reached: a play without targets, a false condition, inside an
    /// include that does not run.
    pub skipped: usize,
}

impl ir::Ir {
    /// The reach of an IR loaded with `--expand` (`None` otherwise).
    pub fn reach(&self) -> Option<Reach> {
        let mut r = Reach::default();
        let mut expanded = false;
        for p in &self.plays {
            let Some(targets) = &p.targets else { continue };
            expanded = true;
            let runs = !targets.as_ref().is_some_and(Vec::is_empty);
            for i in &p.tasks {
                count(i, runs, &mut r);
            }
        }
        expanded.then_some(r)
    }
}

fn count(item: &ir::Item, reached: bool, r: &mut Reach) {
    match item {
        ir::Item::Block(b) => {
            for i in b.block.iter().chain(&b.rescue).chain(&b.always) {
                count(i, reached, r);
            }
        }
        ir::Item::Task(t) => {
            let runs = reached && t.when_result != Some(Some(false));
            if t.file.is_some() {
                r.tasks += 1;
                match (runs, t.when_result) {
                    (false, _) => r.skipped += 1,
                    (true, Some(None)) => r.unknown += 1,
                    (true, _) => r.run += 1,
                }
            }
            if let Some(inc) = &t.included {
                for i in &inc.tasks {
                    count(i, runs, r);
                }
            }
        }
    }
}

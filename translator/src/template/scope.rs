//! Where templates find their variables: the [`Scope`] trait, and
//! [`LazyVars`], variables from YAML templated lazily as Ansible does.
//!
//! A variable's raw value refers to other variables (`a: "{{ b }}"`);
//! Ansible templates it when it is read, not when it is defined, and so
//! does [`LazyVars`]: on the first lookup of a name its value is built
//! (strings that are templates are rendered; lists and dicts keep their
//! template strings as lazy items, rendered when read), then memoised. A
//! value that needs itself is a cycle error naming the chain
//! (`a -> b -> a`), not a stack overflow. Names marked unknown (facts,
//! registered results) look up as [`Lookup::Unknown`], and everything
//! computed from them is unknown too.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use indexmap::IndexMap;

use super::ast::is_possibly_template;
use super::value::{key_from_yaml, with_label, Dict, Job, Lazy, List, Slot, Value};
use super::Templar;
use crate::yaml::{Node, Yaml};

/// What a name resolves to.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// A value (which may itself contain unknown parts).
    Known(Value),
    /// Run-time data: a fact, a registered result...
    Unknown,
    /// No such variable.
    Undefined,
}

/// The variables a template sees.
pub trait Scope: Send + Sync {
    fn lookup(&self, name: &str) -> Lookup;

    /// The directories `file`, `template` and `first_found` lookups search
    /// (Ansible's `ansible_search_path`: the role's directory, then the
    /// playbook's), each tried with the lookup's subdirectory (`files/`,
    /// `templates/`) then as is. Empty: those lookups of relative paths are
    /// unknown.
    fn search_paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// A scope of final values (nothing is templated), with unknown names.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub vars: IndexMap<String, Value>,
    pub unknown: HashSet<String>,
    pub search_paths: Vec<PathBuf>,
}

impl Values {
    pub fn new() -> Values {
        Values::default()
    }

    pub fn set(&mut self, name: &str, value: impl Into<Value>) -> &mut Values {
        self.vars.insert(name.to_string(), value.into());
        self
    }

    pub fn unknown(&mut self, name: &str) -> &mut Values {
        self.unknown.insert(name.to_string());
        self
    }
}

impl Scope for Values {
    fn lookup(&self, name: &str) -> Lookup {
        if self.unknown.contains(name) {
            return Lookup::Unknown;
        }
        match self.vars.get(name) {
            Some(v) => Lookup::Known(v.clone()),
            None => Lookup::Undefined,
        }
    }

    fn search_paths(&self) -> Vec<PathBuf> {
        self.search_paths.clone()
    }
}

/// Variables by name, as a layer of a scope holds them (a fast hasher:
/// every lookup hashes its name in each layer).
pub type VarMap = IndexMap<String, Node, foldhash::fast::RandomState>;

/// A raw variable value for [`LazyVars`].
#[derive(Clone)]
enum Raw {
    /// From YAML: its strings are templates (except `!unsafe` ones).
    Node(Node),
    /// A final value.
    Value(Value),
    /// Entry `.1` of a shared mapping ([`LazyVarsBuilder::layer`]).
    InLayer(Arc<VarMap>, usize),
}

/// A mapping of variables given whole ([`LazyVarsBuilder::layer`]), with
/// the order it was given in among the other definitions.
struct SharedLayer {
    seq: usize,
    vars: Arc<VarMap>,
}

/// Variables from YAML, templated lazily on first lookup and memoised (see
/// the module documentation). Cheap to clone (a shared handle).
///
/// ```ignore
/// let vars = LazyVars::builder(&templar)
///     .node("a", node)            // templated when first read
///     .value("b", Value::Int(1))  // as is
///     .unknown("ansible_facts")   // run-time
///     .build();
/// templar.template("{{ a }}", &vars)?;
/// ```
///
/// Lazy items of the values it hands out refer back to it weakly: keep the
/// `LazyVars` alive while using them (a dropped one makes them errors).
#[derive(Clone)]
pub struct LazyVars(Arc<LazyInner>);

struct LazyInner {
    templar: Templar,
    /// Variables given one by one, with the order they were given in.
    vars: IndexMap<String, (usize, Arc<Lazy>), foldhash::fast::RandomState>,
    /// Mappings given whole, last given first: their variables get their
    /// cell when first looked up (`cells`), so that building a scope over
    /// large shared mappings (Kolla's group_vars) costs nothing per name.
    layers: Vec<SharedLayer>,
    cells:
        std::sync::Mutex<std::collections::HashMap<String, Arc<Lazy>, foldhash::fast::RandomState>>,
    me: Weak<LazyInner>,
    unknown: HashSet<String>,
    /// An undefined name with this prefix is unknown (facts: `ansible_`).
    unknown_prefix: Option<String>,
    parent: Option<Arc<dyn Scope>>,
    search_paths: Vec<PathBuf>,
}

/// Collects the variables of a [`LazyVars`].
pub struct LazyVarsBuilder {
    templar: Templar,
    raw: IndexMap<String, (usize, Raw)>,
    layers: Vec<SharedLayer>,
    seq: usize,
    unknown: HashSet<String>,
    unknown_prefix: Option<String>,
    parent: Option<Arc<dyn Scope>>,
    search_paths: Vec<PathBuf>,
}

impl LazyVarsBuilder {
    /// A variable whose value is YAML (templated when read). A later
    /// definition of the same name replaces an earlier one.
    pub fn node(self, name: &str, node: Node) -> Self {
        self.define(name.to_string(), Raw::Node(node))
    }

    /// A variable with a final value (not templated).
    pub fn value(self, name: &str, value: Value) -> Self {
        self.define(name.to_string(), Raw::Value(value))
    }

    /// A variable from JSON (`-e @vars.json`, facts files): its strings are
    /// templates, as Ansible's extra variables are.
    pub fn json(self, name: &str, value: &serde_json::Value) -> Self {
        self.define(name.to_string(), Raw::Node(node_from_json(value)))
    }

    /// Inventory-style variables (`Vars`), in order.
    pub fn vars(mut self, vars: &crate::inventory::Vars) -> Self {
        for (name, var) in vars {
            self = self.define(name.clone(), Raw::Node(var.value.clone()));
        }
        self
    }

    /// Every key of a YAML mapping (a vars file) as a variable.
    pub fn mapping(mut self, node: &Node) -> Self {
        if let Yaml::Map(m) = &node.value {
            for (k, v) in m {
                self = self.define(k.to_py_str(), Raw::Node(v.clone()));
            }
        }
        self
    }

    /// Every variable of a shared mapping, as [`Self::node`] would define
    /// them one by one, without copying it.
    pub fn layer(mut self, vars: Arc<VarMap>) -> Self {
        if !vars.is_empty() {
            self.seq += 1;
            self.layers.push(SharedLayer {
                seq: self.seq,
                vars,
            });
        }
        self
    }

    fn define(mut self, name: String, raw: Raw) -> Self {
        self.seq += 1;
        // Re-inserted at the end: the order of `names()` is definition order.
        self.raw.shift_remove(&name);
        self.raw.insert(name, (self.seq, raw));
        self
    }

    /// A run-time name: looking it up gives [`Lookup::Unknown`] (even if
    /// it was also given a value).
    pub fn unknown(mut self, name: &str) -> Self {
        self.unknown.insert(name.to_string());
        self
    }

    /// Names with this prefix that are not defined are unknown rather
    /// than undefined, in this scope's own values too (`ansible_`: facts
    /// are injected as variables at run time, so `{{ ansible_x | d('') }}`
    /// in a role default is not known before the run).
    pub fn unknown_prefix(mut self, prefix: &str) -> Self {
        self.unknown_prefix = Some(prefix.to_string());
        self
    }

    /// Where names not defined here are looked up. (Values defined here
    /// are templated here: they see this scope's names first.)
    pub fn parent(mut self, parent: Arc<dyn Scope>) -> Self {
        self.parent = Some(parent);
        self
    }

    pub fn search_paths(mut self, paths: Vec<PathBuf>) -> Self {
        self.search_paths = paths;
        self
    }

    pub fn build(self) -> LazyVars {
        let LazyVarsBuilder {
            templar,
            raw,
            mut layers,
            unknown,
            unknown_prefix,
            parent,
            search_paths,
            seq: _,
        } = self;
        layers.reverse();
        LazyVars(Arc::new_cyclic(|weak: &Weak<LazyInner>| LazyInner {
            vars: raw
                .into_iter()
                .map(|(name, (seq, raw))| {
                    let job = VarJob {
                        scope: weak.clone(),
                        name: name.clone(),
                        raw,
                    };
                    (name, (seq, Arc::new(Lazy::new(Arc::new(job)))))
                })
                .collect(),
            layers,
            cells: Default::default(),
            me: weak.clone(),
            templar,
            unknown,
            unknown_prefix,
            parent,
            search_paths,
        }))
    }
}

impl LazyVars {
    pub fn builder(templar: &Templar) -> LazyVarsBuilder {
        LazyVarsBuilder {
            templar: templar.clone(),
            raw: IndexMap::new(),
            layers: Vec::new(),
            seq: 0,
            unknown: HashSet::new(),
            unknown_prefix: None,
            parent: None,
            search_paths: Vec::new(),
        }
    }

    /// The names defined here, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        let mut seen = HashSet::new();
        let layered = self.0.layers.iter().rev().flat_map(|l| l.vars.keys());
        layered
            .chain(self.0.vars.keys())
            .filter(move |n| seen.insert(n.as_str()))
            .map(String::as_str)
    }

    /// All variables as one dict value whose items are looked up lazily
    /// (for `hostvars[host]`). It refers to this scope weakly.
    pub fn as_value(&self) -> Value {
        let weak = Arc::downgrade(&self.0);
        // The names marked unknown are keys too (`hostvars[h].x` of an `x`
        // registered at run time is unknown, not undefined).
        let mut unknown: Vec<&str> = self.0.unknown.iter().map(String::as_str).collect();
        unknown.sort_unstable();
        let defined: HashSet<&str> = self.names().collect();
        let m = self
            .names()
            .chain(unknown.into_iter().filter(|n| !defined.contains(n)))
            .map(|name| {
                let job = LookupJob {
                    scope: weak.clone(),
                    name: name.to_string(),
                };
                (
                    super::value::Key::str(name),
                    Slot::Lazy(Arc::new(Lazy::new(Arc::new(job)))),
                )
            })
            .collect();
        Value::Dict(Dict::from_slots(m))
    }
}

impl Scope for LazyVars {
    fn lookup(&self, name: &str) -> Lookup {
        self.0.lookup(name)
    }

    fn search_paths(&self) -> Vec<PathBuf> {
        self.0.search_paths()
    }
}

impl Scope for LazyInner {
    fn lookup(&self, name: &str) -> Lookup {
        if self.unknown.contains(name) {
            return Lookup::Unknown;
        }
        if let Some(cell) = self.cell(name) {
            return Lookup::Known(cell.force());
        }
        let found = match &self.parent {
            Some(p) => p.lookup(name),
            None => Lookup::Undefined,
        };
        match (found, &self.unknown_prefix) {
            (Lookup::Undefined, Some(p)) if name.starts_with(p.as_str()) => Lookup::Unknown,
            (l, _) => l,
        }
    }

    fn search_paths(&self) -> Vec<PathBuf> {
        if self.search_paths.is_empty() {
            if let Some(p) = &self.parent {
                return p.search_paths();
            }
        }
        self.search_paths.clone()
    }
}

impl LazyInner {
    /// The cell of the latest definition of `name`, made on first lookup
    /// for a name from a shared layer.
    fn cell(&self, name: &str) -> Option<Arc<Lazy>> {
        let single = self.vars.get(name);
        let after = single.map_or(0, |(seq, _)| *seq);
        // Layers are latest first: the first defined after the single
        // definition that has the name wins.
        let found = self
            .layers
            .iter()
            .take_while(|l| l.seq > after)
            .find_map(|l| l.vars.get_index_of(name).map(|i| (l, i)));
        let Some((layer, index)) = found else {
            return single.map(|(_, c)| c.clone());
        };
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        let cell = cells.entry(name.to_string()).or_insert_with(|| {
            Arc::new(Lazy::new(Arc::new(VarJob {
                scope: self.me.clone(),
                name: name.to_string(),
                raw: Raw::InLayer(layer.vars.clone(), index),
            })))
        });
        Some(cell.clone())
    }
}

fn dropped() -> Value {
    Value::marker(super::error::TemplateError::new(
        super::error::ErrorKind::Value,
        "the variables scope of this value was dropped",
    ))
}

/// Builds a variable's value on first lookup.
struct VarJob {
    scope: Weak<LazyInner>,
    name: String,
    raw: Raw,
}

impl Job for VarJob {
    fn run(&self) -> Value {
        let Some(inner) = self.scope.upgrade() else {
            return dropped();
        };
        match &self.raw {
            Raw::Value(v) => v.clone(),
            Raw::Node(n) => build(&inner, &self.scope, &n.value, &self.name, true),
            Raw::InLayer(vars, i) => match vars.get_index(*i) {
                Some((_, n)) => build(&inner, &self.scope, &n.value, &self.name, true),
                None => dropped(),
            },
        }
    }

    fn label(&self) -> String {
        self.name.clone()
    }
}

/// Looks a variable up (the items of [`LazyVars::as_value`]).
struct LookupJob {
    scope: Weak<LazyInner>,
    name: String,
}

impl Job for LookupJob {
    fn run(&self) -> Value {
        let Some(inner) = self.scope.upgrade() else {
            return dropped();
        };
        match inner.lookup(&self.name) {
            Lookup::Known(v) => v,
            Lookup::Unknown => Value::unknown(self.name.clone()),
            Lookup::Undefined => Value::undefined(format!("'{}' is undefined", self.name)),
        }
    }

    fn label(&self) -> String {
        format!("hostvars.{}", self.name)
    }
}

/// A template string inside a variable's list or dict, rendered when read.
struct LeafJob {
    scope: Weak<LazyInner>,
    text: Arc<str>,
    path: String,
}

impl Job for LeafJob {
    fn run(&self) -> Value {
        let Some(inner) = self.scope.upgrade() else {
            return dropped();
        };
        let scope = LazyVars(Arc::clone(&inner));
        inner.templar.template_value(&self.text, &scope, &self.path)
    }

    fn label(&self) -> String {
        self.path.clone()
    }
}

/// A variable's value from YAML: the top string templated now (we are in
/// its lookup), strings inside lists and dicts left as lazy items.
fn build(inner: &Arc<LazyInner>, weak: &Weak<LazyInner>, y: &Yaml, path: &str, top: bool) -> Value {
    match y {
        Yaml::Str(s) if is_possibly_template(s) => {
            if top {
                let scope = LazyVars(Arc::clone(inner));
                inner.templar.template_value(s, &scope, path)
            } else {
                // Not reached: leaves are made lazy by `slot`.
                Value::str(s)
            }
        }
        Yaml::Vault(_) => Value::unknown(path.split(['.', '[']).next().unwrap_or(path)),
        Yaml::Seq(items) => Value::List(List(Arc::new(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| slot(inner, weak, &n.value, &format!("{path}[{i}]")))
                .collect(),
        ))),
        Yaml::Map(m) => Value::Dict(Dict::from_slots(
            m.iter()
                .map(|(k, n)| {
                    let key = key_from_yaml(&k.value);
                    let child = format!("{path}.{}", k.to_py_str());
                    (key, slot(inner, weak, &n.value, &child))
                })
                .collect(),
        )),
        other => Value::from_yaml(other),
    }
}

fn slot(inner: &Arc<LazyInner>, weak: &Weak<LazyInner>, y: &Yaml, path: &str) -> Slot {
    match y {
        Yaml::Str(s) if is_possibly_template(s) => {
            Slot::Lazy(Arc::new(Lazy::new(Arc::new(LeafJob {
                scope: weak.clone(),
                text: Arc::from(s.as_str()),
                path: path.to_string(),
            }))))
        }
        other => Slot::Ready(build(inner, weak, other, path, false)),
    }
}

/// A YAML node for a JSON value (no position).
fn node_from_json(j: &serde_json::Value) -> Node {
    use serde_json::Value as J;
    let value = match j {
        J::Null => Yaml::Null,
        J::Bool(b) => Yaml::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Int(i),
            None => Yaml::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Yaml::Str(s.clone()),
        J::Array(a) => Yaml::Seq(a.iter().map(node_from_json).collect()),
        J::Object(o) => Yaml::Map(
            o.iter()
                .map(|(k, v)| (crate::yaml::Key::str(k), node_from_json(v)))
                .collect(),
        ),
    };
    Node::new(value, crate::yaml::Span::default())
}

/// Template a YAML tree now (task arguments): strings are templates,
/// `!unsafe` ones are not; lists and dicts are walked.
pub(crate) fn template_tree(templar: &Templar, y: &Yaml, scope: &dyn Scope, path: &str) -> Value {
    match y {
        Yaml::Str(s) if is_possibly_template(s) => {
            with_label(path.to_string(), || templar.template_value(s, scope, path))
        }
        Yaml::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| template_tree(templar, &n.value, scope, &format!("{path}[{i}]")))
            .collect::<List>()
            .into(),
        Yaml::Map(m) => m
            .iter()
            .map(|(k, n)| {
                let child = format!("{path}.{}", k.to_py_str());
                (
                    key_from_yaml(&k.value),
                    template_tree(templar, &n.value, scope, &child),
                )
            })
            .collect::<Dict>()
            .into(),
        other => Value::from_yaml(other),
    }
}

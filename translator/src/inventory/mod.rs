//! Ansible inventories: hosts, groups and their variables, as
//! ansible-core 2.19 builds them from an INI or YAML inventory file and the
//! `group_vars/` and `host_vars/` next to it.
//!
//! - [`load`] picks the plugin as Ansible does ([`ini`] or [`yaml`]),
//!   then applies `InventoryData.reconcile_inventory` (every group without
//!   a parent under `all`, hosts without a group in `ungrouped`) and reads
//!   the vars files ([`vars`]).
//! - The model mirrors `InventoryData`: groups with ordered children,
//!   parents and direct hosts, `depth` (longest path from `all`) and
//!   `priority` (`ansible_group_priority`); hosts with their own variables.
//! - [`Inventory::host_vars`] merges a host's variables in Ansible's order
//!   (`VariableManager.get_vars` without a play); [`Inventory::to_ansible_list_json`]
//!   and [`Inventory::to_ansible_list_export_json`] print what
//!   `ansible-inventory --list` (with `--export`) prints, for comparison
//!   with the real tool.
//!
//! Values are [`crate::yaml::Node`]s with their span, each [`Var`] with the
//! file it comes from, so that later stages can say where a value was set.

mod error;
pub mod ini;
mod pattern;
mod pyliteral;
pub mod select;
mod shlex;
pub mod vars;
pub mod yaml;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

pub(crate) use error::labels;
pub use error::{InventoryError, InventoryErrorKind, InventoryWarning, Located};
pub use pattern::{expand_hostpattern, MAX_HOSTS_PER_PATTERN};
pub use pyliteral::{literal_eval, Literal};
pub use vars::VarsFile;

use crate::yaml::{py_float_repr, Key, Node, Source, Span, Yaml};

/// A variable's value and the file it is written in.
#[derive(Debug, Clone)]
pub struct Var {
    pub value: Node,
    pub source: Source,
}

impl Var {
    /// `file:line:col` of the value.
    pub fn position(&self) -> String {
        format!(
            "{}:{}:{}",
            self.source.name, self.value.span.line, self.value.span.col
        )
    }
}

/// Variables by name, in the order Ansible keeps them.
pub type Vars = IndexMap<String, Var>;

/// Where a host or group is first written.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Source,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// The host's own variables from the inventory file (including
    /// `ansible_port` from `host:port`). `host_vars/` files are in
    /// [`Inventory::host_vars_files`].
    pub vars: Vars,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub vars: Vars,
    /// Child groups, in the order they were added.
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// Hosts listed directly in this group, in order.
    pub hosts: Vec<String>,
    /// The longest path from `all` (as Ansible's `Group.depth`).
    pub depth: usize,
    /// `ansible_group_priority` (default 1): breaks ties between groups
    /// of equal depth when merging variables.
    pub priority: i64,
    pub origin: Option<Origin>,
}

impl Group {
    fn new(name: &str, origin: Option<Origin>) -> Group {
        Group {
            name: name.to_string(),
            vars: Vars::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            depth: 0,
            priority: 1,
            origin,
        }
    }
}

/// Which plugin read the inventory file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Yaml,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// The inventory file, and which plugin read it.
    pub path: Option<PathBuf>,
    pub format: Option<Format>,
    /// `group_vars/<group>` files (next to the inventory), by group, in
    /// the order Ansible merges them.
    pub group_vars_files: IndexMap<String, Vec<VarsFile>>,
    /// `host_vars/<host>` files, by host.
    pub host_vars_files: IndexMap<String, Vec<VarsFile>>,
    pub warnings: Vec<InventoryWarning>,
}

/// Names `ansible-inventory` removes from what it prints
/// (`C.INTERNAL_STATIC_VARS`), whoever set them.
pub const INTERNAL_STATIC_VARS: &[&str] = &[
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// Host names Ansible treats as the controller (`C.LOCALHOST`).
const LOCALHOST: &[&str] = &["127.0.0.1", "localhost", "::1"];

/// `h1,h2,`: those hosts, ungrouped.
fn host_list(list: &str) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::new();
    for h in list.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        inv.add_host(h, Some("ungrouped"), None, None)
            .map_err(|e| InventoryError::new(InventoryErrorKind::HostPattern, e))?;
    }
    inv.reconcile()?;
    Ok(inv)
}

/// Load an inventory file as `ansible-inventory -i PATH` would, with the
/// `group_vars/` and `host_vars/` next to it.
///
/// The plugin is chosen as Ansible's default `enable_plugins` order does
/// for a file: the YAML plugin for files without an extension or ending in
/// `.yml`, `.yaml` or `.json` (it accepts any mapping that is not an
/// inventory-plugin configuration), else or failing that the INI plugin
/// (which takes any file but `.toml`). When both fail, the error holds
/// both reasons.
pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
    // `-i h1,h2,` (Ansible's host_list plugin): not a file, a list.
    if let Some(list) = path.to_str().filter(|s| s.contains(',') && !path.exists()) {
        return host_list(list);
    }
    let meta = std::fs::metadata(path).map_err(|e| InventoryError::io(path, &e))?;
    if meta.is_dir() {
        return Err(InventoryError::new(
            InventoryErrorKind::Unsupported,
            format!(
                "{} is a directory; inventory directories are not supported yet, \
                 give one inventory file",
                path.display()
            ),
        ));
    }
    if is_executable(&meta) {
        return Err(InventoryError::new(
            InventoryErrorKind::Unsupported,
            format!(
                "{} is executable: Ansible would run it as a dynamic inventory script, \
                 which this reader does not do",
                path.display()
            ),
        )
        .help("remove the executable bit if it is a static INI or YAML inventory"));
    }
    let bytes = std::fs::read(path).map_err(|e| InventoryError::io(path, &e))?;
    let name = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();

    let mut failures = Vec::new();
    let mut inv = None;
    if ["", ".yml", ".yaml", ".json"].contains(&ext.as_str()) {
        match std::str::from_utf8(&bytes) {
            Ok(text) => match yaml::parse(&name, text) {
                Ok(i) => inv = Some(i),
                // An inventory plugin's configuration: Ansible's `auto`
                // plugin would run that plugin; no INI reading applies.
                Err(e) if e.kind == InventoryErrorKind::Unsupported => return Err(e),
                Err(e) => failures.push(("yaml", e)),
            },
            Err(e) => failures.push((
                "yaml",
                InventoryError::new(
                    InventoryErrorKind::Yaml,
                    format!("{name} is not UTF-8: {e}"),
                ),
            )),
        }
    }
    if inv.is_none() && ext != ".toml" {
        match ini::parse_bytes(&name, &bytes) {
            Ok(i) => inv = Some(i),
            Err(e) => failures.push(("ini", e)),
        }
    }
    let Some(mut inv) = inv else {
        return Err(unparsed(&name, &ext, failures));
    };
    inv.path = Some(path.to_path_buf());
    inv.reconcile()?;
    let dir = path.parent().unwrap_or(Path::new("."));
    vars::load_vars_files(&mut inv, dir)?;
    Ok(inv)
}

/// Every plugin tried failed: which reason to show first. A file that
/// parsed as YAML (or is named `.yml`) was meant as YAML; anything else as
/// INI. The other plugin's reason follows, as Ansible prints both.
fn unparsed(
    name: &str,
    ext: &str,
    mut failures: Vec<(&'static str, InventoryError)>,
) -> InventoryError {
    if failures.len() == 1 {
        return failures.remove(0).1;
    }
    let yaml_meant = !ext.is_empty()
        || failures
            .first()
            .is_some_and(|(_, e)| e.kind != InventoryErrorKind::Yaml);
    if !yaml_meant {
        failures.reverse();
    }
    let (plugin, mut first) = failures.remove(0);
    let mut e = InventoryError::new(
        InventoryErrorKind::Unparsed,
        format!(
            "{name} is not a valid inventory (read as {}): {}",
            plugin.to_uppercase(),
            first.message
        ),
    );
    e.at = first.at.take();
    e.help = first.help.take();
    e.related = failures
        .into_iter()
        .map(|(plugin, mut r)| {
            r.message = format!("read as {}: {}", plugin.to_uppercase(), r.message);
            r
        })
        .collect();
    e
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

/// Python's `int()` of a variable value, for `ansible_group_priority`.
fn py_int_value(v: &Yaml) -> Option<i64> {
    match v {
        Yaml::Bool(b) => Some(i64::from(*b)),
        Yaml::Int(i) => Some(*i),
        Yaml::BigInt(s) => Some(if s.starts_with('-') {
            i64::MIN
        } else {
            i64::MAX
        }),
        Yaml::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        Yaml::Str(s) | Yaml::Unsafe(s) => {
            let t = s.trim();
            let (neg, d) = match t.as_bytes().first() {
                Some(b'-') => (true, &t[1..]),
                Some(b'+') => (false, &t[1..]),
                _ => (false, t),
            };
            if d.is_empty() || d.starts_with('_') || d.ends_with('_') || d.contains("__") {
                return None;
            }
            let digits: String = d.chars().filter(|&c| c != '_').collect();
            let n: i64 = digits.parse().ok()?;
            Some(if neg { -n } else { n })
        }
        _ => None,
    }
}

/// A variable name from a YAML key: Ansible accepts non-string names
/// (with a deprecation warning); they are stored as `json.dumps` would
/// spell them as object keys.
pub(crate) fn var_name(k: &Key) -> String {
    match &k.value {
        Yaml::Str(s) | Yaml::Unsafe(s) => s.clone(),
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Float(f) => py_float_repr(*f),
        v => v.to_py_str(),
    }
}

/// `C.INVALID_VARIABLE_NAMES` (`^[\d\W]|[^\w]`): what makes Ansible warn
/// about a group name (it keeps the name by default).
fn invalid_group_name(name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || !word(c))
        || name.chars().any(|c| !word(c))
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::new()
    }
}

impl Inventory {
    /// The empty inventory: `all` with its child `ungrouped`.
    pub fn new() -> Inventory {
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            path: None,
            format: None,
            group_vars_files: IndexMap::new(),
            host_vars_files: IndexMap::new(),
            warnings: Vec::new(),
        };
        inv.groups.insert("all".into(), Group::new("all", None));
        inv.groups
            .insert("ungrouped".into(), Group::new("ungrouped", None));
        // Cannot fail: two fresh groups.
        let _ = inv.add_child("all", "ungrouped");
        inv
    }

    /// `InventoryData.add_group`.
    pub(crate) fn add_group(&mut self, name: &str, origin: Option<Origin>) -> Result<(), String> {
        if name.is_empty() {
            return Err(format!("Invalid empty/false group name provided: {name}"));
        }
        if !self.groups.contains_key(name) {
            if invalid_group_name(name) {
                let w = InventoryWarning::new(format!(
                    "invalid characters in group name {name:?}; Ansible keeps it but warns \
                     (such a name cannot be used as a variable in templates)"
                ));
                self.warnings.push(match &origin {
                    Some(o) => w.at(&o.source, o.span, "this group"),
                    None => w,
                });
            }
            self.groups.insert(name.into(), Group::new(name, origin));
        }
        Ok(())
    }

    /// `InventoryData.add_host`: a new host gets `ansible_port` from a
    /// pattern's `:port`; an existing one keeps its port.
    pub(crate) fn add_host(
        &mut self,
        name: &str,
        group: Option<&str>,
        port: Option<(u32, Var)>,
        origin: Option<Origin>,
    ) -> Result<(), String> {
        if name.is_empty() {
            return Err("Invalid empty host name provided: ".into());
        }
        if let Some(g) = group {
            if !self.groups.contains_key(g) {
                return Err(format!("Could not find group {g} in inventory"));
            }
        }
        if !self.hosts.contains_key(name) {
            let mut host = Host {
                name: name.into(),
                vars: Vars::new(),
                origin,
            };
            if let Some((p, var)) = port {
                if p != 0 {
                    host.vars.insert("ansible_port".into(), var);
                }
            }
            if LOCALHOST.contains(&name) {
                if let Some(first) = self.hosts.keys().find(|h| LOCALHOST.contains(&h.as_str())) {
                    self.warnings.push(InventoryWarning::new(format!(
                        "A duplicate localhost-like entry was found ({name}). First found \
                         localhost was {first}"
                    )));
                }
            }
            self.hosts.insert(name.into(), host);
        }
        if let Some(g) = group.and_then(|g| self.groups.get_mut(g)) {
            if !g.hosts.iter().any(|h| h == name) {
                g.hosts.push(name.into());
            }
        }
        Ok(())
    }

    /// `InventoryData.add_child`: a group or a host into a group.
    pub(crate) fn add_child(&mut self, group: &str, child: &str) -> Result<(), String> {
        if !self.groups.contains_key(group) {
            return Err(format!("{group} is not a known group"));
        }
        if self.groups.contains_key(child) {
            self.add_child_group(group, child)
        } else if self.hosts.contains_key(child) {
            if let Some(g) = self.groups.get_mut(group) {
                if !g.hosts.iter().any(|h| h == child) {
                    g.hosts.push(child.into());
                }
            }
            Ok(())
        } else {
            Err(format!("{child} is not a known host nor group"))
        }
    }

    fn add_child_group(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err("can't add group to itself".into());
        }
        if self.groups[parent].children.iter().any(|c| c == child) {
            return Ok(());
        }
        if self.ancestors(parent).contains(child) {
            return Err(format!(
                "Adding group '{child}' as child to '{parent}' creates a recursive \
                 dependency loop."
            ));
        }
        let parent_depth = self.groups[parent].depth;
        if let Some(p) = self.groups.get_mut(parent) {
            p.children.push(child.into());
        }
        if let Some(c) = self.groups.get_mut(child) {
            c.depth = c.depth.max(parent_depth + 1);
            if !c.parents.iter().any(|p| p == parent) {
                c.parents.push(parent.into());
            }
        }
        self.propagate_depth(child);
        Ok(())
    }

    /// `_check_children_depth`: a child is deeper than each parent.
    fn propagate_depth(&mut self, from: &str) {
        let mut stack = vec![from.to_string()];
        while let Some(g) = stack.pop() {
            let Some(grp) = self.groups.get(&g) else {
                continue;
            };
            let depth = grp.depth;
            for c in grp.children.clone() {
                if let Some(child) = self.groups.get_mut(&c) {
                    if child.depth < depth + 1 {
                        child.depth = depth + 1;
                        stack.push(c);
                    }
                }
            }
        }
    }

    /// `InventoryData.set_variable`: a group of that name first, then a
    /// host. `ansible_group_priority` sets the group's priority instead of
    /// a variable.
    pub(crate) fn set_variable(
        &mut self,
        entity: &str,
        key: String,
        var: Var,
    ) -> Result<(), String> {
        if let Some(g) = self.groups.get_mut(entity) {
            if key == "ansible_group_priority" {
                g.priority = py_int_value(&var.value.value).ok_or_else(|| {
                    format!(
                        "ansible_group_priority must be an integer, got {} {}",
                        var.value.value.type_name(),
                        var.value.value.to_py_str()
                    )
                })?;
            } else {
                g.vars.insert(key, var);
            }
            Ok(())
        } else if let Some(h) = self.hosts.get_mut(entity) {
            h.vars.insert(key, var);
            Ok(())
        } else {
            Err(format!("Could not identify group or host named {entity}"))
        }
    }

    /// All groups above `group` (not itself).
    pub fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = vec![group];
        while let Some(g) = stack.pop() {
            if let Some(grp) = self.groups.get(g) {
                for p in &grp.parents {
                    if seen.insert(p.clone()) {
                        stack.push(p);
                    }
                }
            }
        }
        seen
    }

    /// The groups a host belongs to, directly or through ancestors (its
    /// `Host.groups`), `all` included, sorted by name.
    pub fn host_groups(&self, host: &str) -> Vec<String> {
        let mut set: HashSet<String> = HashSet::new();
        for g in self.groups.values() {
            if g.hosts.iter().any(|h| h == host) {
                set.insert(g.name.clone());
                set.extend(self.ancestors(&g.name));
            }
        }
        let mut v: Vec<String> = set.into_iter().collect();
        v.sort();
        v
    }

    /// The host's groups but `all` in the order Ansible merges their
    /// variables (`sort_groups`: by depth, then priority, then name).
    pub fn sorted_host_groups(&self, host: &str) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self
            .host_groups(host)
            .iter()
            .filter(|g| g.as_str() != "all")
            .filter_map(|g| self.groups.get(g))
            .collect();
        groups.sort_by(|a, b| (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name)));
        groups
    }

    /// Every host under a group, its own first, then its children's,
    /// breadth first. (Ansible walks deeper levels in set order; the set
    /// of hosts is the same.)
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen_hosts = HashSet::new();
        let mut seen_groups = HashSet::new();
        let mut queue = std::collections::VecDeque::from([group.to_string()]);
        seen_groups.insert(group.to_string());
        while let Some(g) = queue.pop_front() {
            let Some(grp) = self.groups.get(&g) else {
                continue;
            };
            for h in &grp.hosts {
                if seen_hosts.insert(h.clone()) {
                    out.push(h.clone());
                }
            }
            for c in &grp.children {
                if seen_groups.insert(c.clone()) {
                    queue.push_back(c.clone());
                }
            }
        }
        out
    }

    /// `InventoryData.reconcile_inventory`: groups without a parent go
    /// under `all`; a host in no group but `all` goes to `ungrouped`, a
    /// host in another group leaves `ungrouped`.
    pub(crate) fn reconcile(&mut self) -> Result<(), InventoryError> {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in &names {
            if g != "all" && self.groups[g].parents.is_empty() {
                self.add_child("all", g)
                    .map_err(|e| InventoryError::new(InventoryErrorKind::Groups, e))?;
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in &hosts {
            let groups = self.host_groups(h);
            if groups.iter().any(|g| g == "ungrouped") {
                if groups.iter().any(|g| g != "all" && g != "ungrouped") {
                    if let Some(u) = self.groups.get_mut("ungrouped") {
                        u.hosts.retain(|x| x != h);
                    }
                }
            } else if groups.is_empty() || groups == ["all"] {
                self.add_child("ungrouped", h)
                    .map_err(|e| InventoryError::new(InventoryErrorKind::Groups, e))?;
            }
        }
        for h in &hosts {
            if self.groups.contains_key(h) {
                self.warnings.push(InventoryWarning::new(format!(
                    "Found both group and host with same name: {h}"
                )));
            }
        }
        Ok(())
    }

    /// The variables `group_vars/<group>` files give a group, merged.
    pub fn group_vars_from_files(&self, group: &str) -> Vars {
        merge_files(self.group_vars_files.get(group))
    }

    /// The variables `host_vars/<host>` files give a host, merged.
    pub fn host_vars_from_files(&self, host: &str) -> Vars {
        merge_files(self.host_vars_files.get(host))
    }

    /// A host's inventory variables, merged in Ansible's order
    /// (`VariableManager.get_vars` for a host, no play; the default
    /// `VARIABLE_PRECEDENCE`): `all`'s inventory vars, each of the host's
    /// groups' inventory vars (sorted by depth, priority, name), then
    /// `group_vars/all`, each group's `group_vars/` files in the same
    /// order, the host's own inventory vars and its `host_vars/` files.
    /// A later source replaces a variable whole (`hash_behaviour =
    /// replace`). Magic variables (`inventory_hostname`, `group_names`,
    /// ...) are not included.
    pub fn host_vars(&self, host: &str) -> Vars {
        let mut out = Vars::new();
        let Some(h) = self.hosts.get(host) else {
            return out;
        };
        let groups = self.sorted_host_groups(host);
        let mut add = |vars: &Vars| {
            for (k, v) in vars {
                out.insert(k.clone(), v.clone());
            }
        };
        if let Some(all) = self.groups.get("all") {
            add(&all.vars);
        }
        for g in &groups {
            add(&g.vars);
        }
        add(&self.group_vars_from_files("all"));
        for g in &groups {
            add(&self.group_vars_from_files(&g.name));
        }
        add(&h.vars);
        add(&self.host_vars_from_files(host));
        out
    }

    /// What `ansible-inventory -i FILE --list` prints: every group with
    /// its direct hosts and children (empty groups only as children), and
    /// `_meta.hostvars` with each host's merged variables (see
    /// [`Inventory::host_vars`]; Ansible's internal names removed).
    pub fn to_ansible_list_json(&self) -> Value {
        self.list_json(false)
    }

    /// What `ansible-inventory -i FILE --list --export` prints: groups
    /// also carry their own variables (inventory and `group_vars/`, and
    /// `ansible_group_priority` when not 1), and `_meta.hostvars` only the
    /// host's own (inventory and `host_vars/`).
    pub fn to_ansible_list_export_json(&self) -> Value {
        self.list_json(true)
    }

    fn list_json(&self, export: bool) -> Value {
        let mut out = serde_json::Map::new();
        let available: HashSet<String> = self.group_hosts("all").into_iter().collect();
        let mut seen = HashSet::new();
        self.format_group("all", &available, export, &mut seen, &mut out);
        let mut hostvars = serde_json::Map::new();
        for h in self.group_hosts("all") {
            let vars = if export {
                let mut v = self.hosts[&h].vars.clone();
                for (k, x) in self.host_vars_from_files(&h) {
                    v.insert(k, x);
                }
                v
            } else {
                self.host_vars(&h)
            };
            let obj = vars_json(&vars);
            if !obj.is_empty() {
                hostvars.insert(h, Value::Object(obj));
            }
        }
        let mut meta = serde_json::Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        meta.insert("profile".into(), Value::String("inventory_legacy".into()));
        out.insert("_meta".into(), Value::Object(meta));
        Value::Object(out)
    }

    /// `InventoryCLI.json_inventory.format_group`.
    fn format_group(
        &self,
        name: &str,
        available: &HashSet<String>,
        export: bool,
        seen: &mut HashSet<String>,
        out: &mut serde_json::Map<String, Value>,
    ) {
        let Some(g) = self.groups.get(name) else {
            return;
        };
        let mut entry = serde_json::Map::new();
        if name != "all" {
            let hosts: Vec<Value> = g
                .hosts
                .iter()
                .filter(|h| available.contains(*h))
                .map(|h| Value::String(h.clone()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let mut children = Vec::new();
        for c in &g.children {
            children.push(Value::String(c.clone()));
            if seen.insert(c.clone()) {
                self.format_group(c, available, export, seen, out);
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if export {
            let mut vars = g.vars.clone();
            for (k, v) in self.group_vars_from_files(name) {
                vars.insert(k, v);
            }
            let mut obj = vars_json(&vars);
            if g.priority != 1 {
                obj.insert("ansible_group_priority".into(), Value::from(g.priority));
            }
            if !obj.is_empty() {
                entry.insert("vars".into(), Value::Object(obj));
            }
        }
        if !entry.is_empty() {
            out.insert(name.into(), Value::Object(entry));
        }
    }
}

fn merge_files(files: Option<&Vec<VarsFile>>) -> Vars {
    let mut out = Vars::new();
    for f in files.into_iter().flatten() {
        for (k, v) in &f.vars {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Variables as `ansible-inventory` prints them, internal names removed.
pub fn vars_json(vars: &Vars) -> serde_json::Map<String, Value> {
    vars.iter()
        .filter(|(k, _)| !INTERNAL_STATIC_VARS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), inventory_json(&v.value.value)))
        .collect()
}

/// A value as the `inventory_legacy` JSON profile writes it: untrusted
/// strings as `{"__ansible_unsafe": ...}`, vaulted ones as
/// `{"__ansible_vault": ...}`, dates as ISO text. What JSON cannot hold
/// exactly is written as the conformance oracle writes it: ints beyond
/// `i64` as `{"__bigint": digits}`, infinities and NaN as
/// `{"__float": "inf"}`, bytes as `{"__binary": base64}`.
pub fn inventory_json(v: &Yaml) -> Value {
    let tagged = |k: &str, s: String| {
        let mut m = serde_json::Map::new();
        m.insert(k.into(), Value::String(s));
        Value::Object(m)
    };
    match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::from(*i),
        Yaml::BigInt(s) => tagged("__bigint", s.clone()),
        Yaml::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => tagged("__float", py_float_repr(*f)),
        },
        Yaml::Str(s) => Value::String(s.clone()),
        Yaml::Unsafe(s) => tagged("__ansible_unsafe", s.clone()),
        Yaml::Vault(s) => tagged("__ansible_vault", s.clone()),
        Yaml::Timestamp(t) => Value::String(t.isoformat()),
        Yaml::Binary(b) => tagged("__binary", crate::yaml::scalar::base64_encode(b)),
        Yaml::Seq(items) => Value::Array(items.iter().map(|n| inventory_json(&n.value)).collect()),
        Yaml::Map(m) => Value::Object(
            m.iter()
                .map(|(k, n)| (var_name(k), inventory_json(&n.value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;

//! Stage 2: each reached task's effects (docs/translation.md, "Effects of
//! a task"), from its module's signature and its templated arguments.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::config::{short, ModuleSig, Signatures};
use crate::playbook::ir::Task;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
}

/// A named resource on a host; `name: None` is one the analysis could not
/// name (any resource of that kind).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Resource {
    pub kind: String,
    pub name: Option<String>,
    pub access: Access,
}

/// A client call to a service.
#[derive(Debug, Clone)]
pub struct Client {
    pub service: String,
    pub module: String,
    /// The address it is aimed at, when templated statically.
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Effects {
    pub reads: BTreeSet<String>,
    pub writes: BTreeSet<String>,
    /// The task writes variables the analysis cannot name (`include_vars`
    /// of a file it cannot read).
    pub writes_any: bool,
    pub resources: Vec<Resource>,
    pub exclusive: Vec<String>,
    /// Why the task is treated conservatively (unknown module, ...).
    pub unknown: Option<String>,
    /// `group_by`/`add_host`: the groups it makes (`None`: not known).
    pub inventory: Option<Vec<Option<String>>>,
    pub clients: Vec<Client>,
    pub guard: bool,
    /// Hosts it runs on: `None` for the play's targets, else delegated
    /// (`Some(None)`: delegated where the analysis cannot tell).
    pub delegate: Option<Option<Vec<String>>>,
    /// Containers it runs commands in.
    pub execs: Vec<String>,
    /// Controller-side template files it renders.
    pub templates: Vec<String>,
    /// Facts: every `ansible_*` name.
    pub facts: bool,
    /// Its reads may be other hosts' variables (through `hostvars`).
    pub reads_other_hosts: bool,
    /// Why some of its effects are unnamed, when the signature says.
    pub notes: Vec<String>,
    /// Waits for or checks a network service (signature `probe`).
    pub probe: bool,
    /// Signature `ordered`: keeps its order with the tasks of its
    /// component that have the same.
    pub ordered: Vec<String>,
    /// A command its author marks `changed_when: false`, taken at its word.
    pub declared_read_only: bool,
}

pub fn effects(t: &Task, sigs: &Signatures) -> Effects {
    let mut e = Effects::default();
    let Some(r) = &t.rendered else { return e };
    e.reads = r.reads.clone();
    e.reads_other_hosts = r.other_hosts;
    if let Some(Json::String(name)) = t.keywords.get("register") {
        e.writes.insert(name.clone());
    }
    if r.skipped {
        return e;
    }
    if t.keywords.contains_key("delegate_to") {
        let hosts: Option<Vec<String>> = r.delegate_to.iter().cloned().collect();
        e.delegate = Some(hosts.filter(|_| r.complete));
    }
    if t.keywords.contains_key("failed_when") || t.keywords.contains_key("any_errors_fatal") {
        e.guard = true;
    }
    let name = short(&t.action);
    match name {
        "set_fact" => {
            e.writes
                .extend(t.args.keys().filter(|k| *k != "cacheable").cloned());
            return e;
        }
        "setup" | "gather_facts" => {
            e.facts = true;
            return e;
        }
        "include_vars" => {
            e.writes_any = true;
            return e;
        }
        "group_by" | "add_host" => {
            let arg = if name == "group_by" { "key" } else { "groups" };
            // A name not known statically is a glob of the template's
            // known text (`keystone_fernet_running_*`).
            let raw_glob = || -> Option<String> {
                let raw = t.args.get(arg)?.as_str()?;
                Some(crate::template::template_glob(raw))
            };
            let mut groups = Vec::new();
            for item in &r.items {
                match item.get(arg) {
                    Some(Json::String(s)) => {
                        groups.extend(s.split(',').map(|g| Some(g.trim().replace(' ', "-"))))
                    }
                    Some(Json::Array(a)) => groups.extend(
                        a.iter()
                            .map(|g| g.as_str().map(str::to_string).or_else(raw_glob)),
                    ),
                    None if name == "add_host" => {}
                    _ => groups.push(raw_glob()),
                }
            }
            if !r.complete {
                groups.push(raw_glob());
            }
            e.inventory = Some(groups);
            if name == "add_host" {
                // Its other arguments are the new host's variables.
                e.writes.extend(
                    t.args
                        .keys()
                        .filter(|k| {
                            !matches!(
                                k.as_str(),
                                "name" | "hostname" | "host" | "groups" | "group" | "groupname"
                            )
                        })
                        .cloned(),
                );
            }
            return e;
        }
        "include_tasks" | "include_role" | "include" => {
            // Only unexpanded ones are steps (steps.rs).
            e.unknown = Some(format!(
                "`{name}` of a file or role not known before the run: its tasks are not analysed"
            ));
            return e;
        }
        "meta" => {
            match t.args.get("_raw_params").and_then(Json::as_str) {
                Some("noop" | "role_complete" | "flush_handlers") => {}
                Some(other) => e.unknown = Some(format!("meta: {other} acts on the whole play")),
                None => e.unknown = Some("meta".into()),
            }
            return e;
        }
        _ => {}
    }
    if matches!(name, "command" | "shell" | "raw" | "script") {
        command(t, r, sigs, &mut e);
        return e;
    }
    let Some(sig) = sigs.module(&t.action) else {
        // Read-only by Ansible's naming convention (a facts module's
        // result is read through its registered name).
        if name.ends_with("_info") || name.ends_with("_facts") {
            return e;
        }
        e.unknown = Some(format!("module `{}` has no signature", t.action));
        return e;
    };
    for item in &r.items {
        client(&t.action, item, sigs, &mut e);
    }
    apply(sig, &r.items, r.complete, sigs, &mut e);
    e
}

fn apply(sig: &ModuleSig, items: &[Json], complete: bool, sigs: &Signatures, e: &mut Effects) {
    e.guard |= sig.guard;
    e.probe |= sig.probe;
    e.ordered.extend(sig.ordered.clone());
    if let Some(x) = &sig.exclusive {
        e.exclusive.push(x.clone());
    }
    for kind in &sig.unnamed {
        e.resources.push(Resource {
            kind: kind.clone(),
            name: None,
            access: Access::Write,
        });
    }
    if !sig.unnamed.is_empty() {
        e.notes.push(format!(
            "writes {} it does not name (its signature)",
            sig.unnamed.join(", ")
        ));
    }
    if let Some(x) = &sig.exec {
        e.execs.push(x.container.clone());
        e.resources.push(Resource {
            kind: "container".into(),
            name: Some(x.container.clone()),
            access: Access::Read,
        });
    }
    for (access, spec) in [(Access::Write, &sig.writes), (Access::Read, &sig.reads)] {
        for (kind, args) in spec {
            for item in items {
                for arg in args {
                    match item.get(arg.as_str()) {
                        None | Some(Json::Null) => {}
                        Some(v) => names(v, kind == "file", &mut |n| {
                            e.resources.push(Resource {
                                kind: kind.clone(),
                                name: n.map(normalize),
                                access,
                            })
                        }),
                    }
                }
            }
            if !complete {
                e.resources.push(Resource {
                    kind: kind.clone(),
                    name: None,
                    access,
                });
            }
        }
    }
    for item in items {
        for arg in &sig.templates {
            if let Some(v) = item.get(arg.as_str()) {
                names(v, false, &mut |n| e.templates.extend(n));
            }
        }
    }
    if let Some(p) = &sig.proxy {
        // `kolla_toolbox`: the module it runs, with its arguments.
        for item in items {
            let module = item.get(p.module.as_str()).and_then(Json::as_str);
            let args = item.get(p.args.as_str()).cloned().unwrap_or(Json::Null);
            match module {
                Some(m) => {
                    client(m, &args, sigs, e);
                    match sigs.module(m) {
                        Some(inner) if inner.proxy.is_none() => {
                            apply(inner, std::slice::from_ref(&args), true, sigs, e)
                        }
                        _ if matches!(short(m), "command" | "shell") => {
                            e.unknown
                                .get_or_insert_with(|| format!("runs `{m}` in a container"));
                        }
                        _ => {
                            e.unknown
                                .get_or_insert_with(|| format!("module `{m}` has no signature"));
                        }
                    }
                }
                None => {
                    e.unknown
                        .get_or_insert_with(|| "runs a module not known statically".into());
                }
            }
        }
    }
}

/// A client module's call: the service and the address it aims at.
fn client(module: &str, args: &Json, sigs: &Signatures, e: &mut Effects) {
    let Some((service, sig)) = sigs.service_of(module) else {
        return;
    };
    let address = sig.address.iter().find_map(|path| {
        let mut v = args;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        v.as_str().map(str::to_string)
    });
    e.clients.push(Client {
        service: service.to_string(),
        module: module.to_string(),
        address,
    });
}

/// The strings of a templated argument (`None` for an unknown part). A
/// path whose end only is unknown (`/etc/kolla/keystone/domains/{{
/// item.path | basename }}`) names the directory it is in.
fn names(v: &Json, path: bool, f: &mut dyn FnMut(Option<String>)) {
    match v {
        Json::String(s) => f(Some(s.clone())),
        Json::Array(a) => {
            for x in a {
                names(x, path, f);
            }
        }
        Json::Object(m) if m.contains_key("__unknown__") => {
            let dir = m
                .get("partial")
                .and_then(Json::as_str)
                .filter(|_| path)
                .and_then(|p| p.split('\u{FFFD}').next())
                .and_then(|known| known.rsplit_once('/'))
                .map(|(dir, _)| dir)
                .filter(|dir| dir.starts_with('/') && dir.len() > 1);
            f(dir.map(str::to_string))
        }
        Json::Number(n) => f(Some(n.to_string())),
        Json::Bool(_) | Json::Null => {}
        Json::Object(m) => {
            // `name: {name: x}` shapes: take the `name`s.
            match m.get("name") {
                Some(n) => names(n, path, f),
                None => f(None),
            }
        }
    }
}

/// Paths compared as written, without a trailing `/`.
fn normalize(s: String) -> String {
    if s.len() > 1 && s.ends_with('/') {
        s.trim_end_matches('/').to_string()
    } else {
        s
    }
}

/// `command`/`shell`: `<engine> exec [options] NAME PROGRAM ...` runs in
/// the container NAME (and PROGRAM may be a service's client); a command
/// matching a signature's `commands` pattern has its effects; anything
/// else may do anything on its host. `changed_when: false` is the
/// author's word that the command changes nothing: it is trusted
/// (docs/translation.md), and the report lists it.
fn command(t: &Task, r: &crate::playbook::ir::Rendered, sigs: &Signatures, e: &mut Effects) {
    let falsy = |v: &Json| {
        matches!(v, Json::Bool(false)) || v.as_str().is_some_and(|s| s.trim() == "false")
    };
    let read_only = match t.keywords.get("changed_when") {
        Some(Json::Array(a)) => !a.is_empty() && a.iter().all(falsy),
        Some(v) => falsy(v),
        None => false,
    };
    let mut known = true;
    for item in &r.items {
        let cmd = item.get("_raw_params").or_else(|| item.get("cmd"));
        let text = match cmd {
            Some(Json::String(s)) => Some(s.as_str()),
            Some(Json::Object(m)) => m.get("partial").and_then(Json::as_str),
            _ => None,
        };
        let Some(text) = text else {
            known = false;
            continue;
        };
        if let Some(m) = sigs.command(text) {
            for (kind, name) in m {
                e.resources.push(Resource {
                    kind,
                    name: Some(name),
                    access: Access::Write,
                });
            }
            continue;
        }
        match exec_target(text) {
            Some((container, program)) => {
                e.execs.push(container.clone());
                e.resources.push(Resource {
                    kind: "container".into(),
                    name: Some(container),
                    access: if read_only {
                        Access::Read
                    } else {
                        Access::Write
                    },
                });
                if let Some(service) = program.and_then(|p| sigs.service_of_command(&p)) {
                    let address = text
                        .split_whitespace()
                        .skip_while(|w| !w.starts_with("--os-auth-url"))
                        .nth(1)
                        .map(str::to_string);
                    e.clients.push(Client {
                        service: service.to_string(),
                        module: "openstack CLI".into(),
                        address,
                    });
                }
            }
            None => known = false,
        }
    }
    if !known && !read_only {
        e.unknown = Some(format!("`{}` runs an arbitrary command", short(&t.action)));
    }
    e.declared_read_only = read_only;
}

/// The container and program of `docker|podman exec [-opts] NAME PROGRAM
/// ...` (after an optional `set -o pipefail &&`, fed or not by an `echo
/// ... |`); `None` for anything else, or a name not known statically.
pub fn exec_target(cmd: &str) -> Option<(String, Option<String>)> {
    let cmd = cmd.trim();
    let cmd = cmd
        .strip_prefix("set -o pipefail &&")
        .map(str::trim)
        .unwrap_or(cmd);
    // `echo TEXT | docker exec -i ...`: the text only feeds the command.
    let cmd = match cmd.split_once('|') {
        Some((left, right))
            if left.trim_start().starts_with("echo ")
                && ![";", "&", "`", "$(", ">", "<"]
                    .iter()
                    .any(|x| left.contains(x)) =>
        {
            right.trim()
        }
        _ => cmd,
    };
    if [";", "&&", "||", "`", "$(", "|"]
        .iter()
        .any(|x| cmd.contains(x))
    {
        return None;
    }
    let mut words = cmd.split_whitespace();
    let engine = words.next()?;
    let engine = engine.rsplit('/').next()?;
    if !matches!(engine, "docker" | "podman") || words.next()? != "exec" {
        return None;
    }
    while let Some(w) = words.next() {
        if w.starts_with('-') {
            if matches!(w, "-u" | "--user" | "-w" | "--workdir" | "-e" | "--env") {
                words.next();
            }
            continue;
        }
        if w.contains('\u{FFFD}') {
            return None;
        }
        return Some((w.to_string(), words.next().map(str::to_string)));
    }
    None
}

impl Effects {
    /// Why `self` (earlier) and `other` (later) must keep their order on
    /// common hosts, if they must: the rule and the thing they share.
    pub fn conflict(&self, other: &Effects) -> Option<(&'static str, String)> {
        if let Some(u) = self.unknown.as_ref().or(other.unknown.as_ref()) {
            return Some(("unknown-module", u.clone()));
        }
        if let Some(v) = self.var_conflict(other) {
            return Some(("data-flow", v));
        }
        self.conflict_but_variables(other)
    }

    /// [`Effects::conflict`] but for variables (between components, a
    /// variable orders by its reaching definition instead).
    pub fn conflict_but_variables(&self, other: &Effects) -> Option<(&'static str, String)> {
        if let Some(u) = self.unknown.as_ref().or(other.unknown.as_ref()) {
            return Some(("unknown-module", u.clone()));
        }
        for a in &self.resources {
            for b in &other.resources {
                if a.kind != b.kind || (a.access == Access::Read && b.access == Access::Read) {
                    continue;
                }
                let same = match (&a.name, &b.name) {
                    (Some(x), Some(y)) if a.kind == "file" => nested(x, y) || nested(y, x),
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                };
                if same {
                    let what = a
                        .name
                        .clone()
                        .or(b.name.clone())
                        .unwrap_or_else(|| "(unnamed)".into());
                    return Some(("shared-resource", format!("{} {what}", a.kind)));
                }
            }
        }
        for x in &self.exclusive {
            if other.exclusive.contains(x) {
                return Some(("exclusive", x.clone()));
            }
        }
        None
    }

    /// Starts or changes a container or service (or may: unknown).
    pub fn runs_something(&self) -> bool {
        self.unknown.is_some()
            || self.resources.iter().any(|r| {
                r.access == Access::Write && matches!(r.kind.as_str(), "container" | "service")
            })
    }

    /// A variable one writes and the other reads or writes.
    pub fn var_conflict(&self, other: &Effects) -> Option<String> {
        let hit = |w: &Effects, r: &Effects, also_writes: bool| -> Option<String> {
            if w.writes_any
                && (!r.reads.is_empty() || (also_writes && (!r.writes.is_empty() || r.writes_any)))
            {
                return Some("(variables of include_vars/add_host)".into());
            }
            if w.facts {
                if let Some(n) = r.reads.iter().find(|n| n.starts_with("ansible_")) {
                    return Some(n.clone());
                }
            }
            let writes = r.writes.iter().filter(|_| also_writes);
            r.reads
                .iter()
                .chain(writes)
                .find(|n| w.writes.contains(*n))
                .cloned()
        };
        hit(self, other, true).or_else(|| hit(other, self, false))
    }
}

/// `dir` is `path` or a directory above it.
fn nested(dir: &str, path: &str) -> bool {
    path == dir
        || (path.starts_with(dir) && (dir.ends_with('/') || path[dir.len()..].starts_with('/')))
}

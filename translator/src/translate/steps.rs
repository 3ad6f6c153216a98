//! Stage 1: the tasks a run reaches, in run order, cut into role
//! applications (the future components) and phases.
//!
//! A play's top-level blocks belong to the role that made them (the
//! blocks of a role's meta dependencies to the role that depends on them),
//! or to the play itself for its own tasks. Handlers run where the play
//! flushes them (`meta: flush_handlers`, implicit or written), as the
//! handlers notified since the last flush; a notification whose name is
//! templated (Kolla's `notify: "{{ handler }}"`) may trigger any handler
//! of the play. Within an application a
//! new phase starts where the task file changes (a role's own files by
//! name; a helper role imported statically as one phase under its own name,
//! included dynamically as part of the file that includes it), at each
//! handler flush, and at each `serial` batch boundary.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::playbook::ir::{Block, Ir, Item, Play, Task};

/// One reached task.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub task: &'a Task,
    pub play: usize,
    /// Index of the application (component) in `Plan::apps`.
    pub app: usize,
    /// Phase name within the application.
    pub phase: String,
    pub handler: bool,
    /// The hosts of its `serial` batch (`None`: the play's).
    pub batch: Option<Vec<String>>,
}

/// A role application of a play, or a play's own tasks.
#[derive(Debug, Clone)]
pub struct App {
    pub play: usize,
    pub role: Option<String>,
    pub base_name: String,
    pub hosts: Option<Vec<String>>,
    pub steps: Vec<usize>,
    /// The play runs in several `serial` batches.
    pub serial: bool,
}

#[derive(Debug, Default)]
pub struct Plan<'a> {
    pub apps: Vec<App>,
    pub steps: Vec<Step<'a>>,
}

pub fn plan(ir: &Ir) -> Plan<'_> {
    let mut plan = Plan::default();
    for (pi, play) in ir.plays.iter().enumerate() {
        let hosts = match &play.targets {
            Some(Some(t)) if t.is_empty() => continue, // runs nothing
            Some(Some(t)) => Some(t.clone()),
            _ => None,
        };
        // `serial`: the play runs whole on each batch of hosts in turn;
        // each batch's phases follow the last batch's in the component.
        let batches: Vec<Option<Vec<String>>> = match (&hosts, play.keywords.get("serial")) {
            (Some(h), Some(spec)) => batches(h, spec).into_iter().map(Some).collect(),
            _ => vec![None],
        };
        let serial = batches.len() > 1;
        let keys = application_keys(play);
        let mut walker = Walker {
            plan: &mut plan,
            play,
            pi,
            hosts,
            serial,
            batch: None,
            apps: Vec::new(),
            notified: BTreeSet::new(),
            any_notified: false,
            current: None,
        };
        let several = batches.len() > 1;
        for (k, batch) in batches.into_iter().enumerate() {
            walker.batch = batch.map(|b| (if several { k + 1 } else { 0 }, b));
            walker.current = None;
            for (item, key) in play.tasks.iter().zip(keys.iter().cloned()) {
                walker.top(item, key);
            }
        }
    }
    plan
}

/// The host batches of `serial` (a number, a percentage or a list of them,
/// the last repeated), as Ansible's `_get_serialized_batches` makes them.
fn batches(hosts: &[String], spec: &Json) -> Vec<Vec<String>> {
    let specs: Vec<&Json> = match spec {
        Json::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let size = |s: &Json| -> usize {
        let n = match s {
            Json::Number(n) => n.as_f64().unwrap_or(0.0),
            Json::String(t) => match t.trim().strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().unwrap_or(0.0) / 100.0 * hosts.len() as f64,
                None => t.trim().parse::<f64>().unwrap_or(0.0),
            },
            _ => 0.0,
        };
        // 0 (or anything unusable) means all of them.
        if n as usize == 0 {
            hosts.len()
        } else {
            (n as usize).max(1)
        }
    };
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let n = size(specs[i.min(specs.len() - 1)]).min(rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
        i += 1;
    }
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

/// The application each top-level block of a play belongs to: its role,
/// the next declared role for a meta dependency's blocks, `None` for the
/// play's own tasks, `Some("")` for the implicit blocks (flushes).
fn application_keys(play: &Play) -> Vec<Option<String>> {
    let own: Vec<Option<String>> = play
        .tasks
        .iter()
        .map(|i| match i {
            Item::Block(b) if implicit_block(b) => Some(String::new()),
            Item::Block(b) => b.role.clone().or_else(|| applied_role(&b.block)),
            Item::Task(t) => t
                .role
                .clone()
                .or_else(|| applied_role(std::slice::from_ref(i))),
        })
        .collect();
    let mut declared = play.roles.clone();
    declared.extend(own.iter().flatten().filter(|r| !r.is_empty()).cloned());
    let mut out = own.clone();
    for (i, k) in own.iter().enumerate() {
        if let Some(r) = k {
            if !r.is_empty() && !declared.contains(r) {
                // A dependency: the next declared role's application.
                if let Some(next) = own[i..].iter().flatten().find(|r| declared.contains(r)) {
                    out[i] = Some(next.clone());
                }
            }
        }
    }
    out
}

/// The role a play's own block applies when all it does is include or
/// import that one role (Kolla's `nova.yml`: `include_role: nova` in
/// `tasks:`; `mariadb.yml`: `import_role: mariadb`).
fn applied_role(items: &[Item]) -> Option<String> {
    fn roles(items: &[Item], out: &mut Vec<Option<String>>) {
        for i in items {
            match i {
                Item::Task(t) if t.file.is_none() => {}
                Item::Task(t)
                    if matches!(
                        crate::translate::config::short(&t.action),
                        "include_role" | "import_role"
                    ) =>
                {
                    out.push(
                        t.args
                            .get("name")
                            .and_then(Json::as_str)
                            .map(str::to_string),
                    )
                }
                Item::Task(t) => out.push(t.role.clone()),
                Item::Block(b) => match &b.role {
                    Some(r) => out.push(Some(r.clone())),
                    None => roles(&b.block, out),
                },
            }
        }
    }
    let mut found = Vec::new();
    roles(items, &mut found);
    let first = found.first()?.clone()?;
    found
        .iter()
        .all(|r| r.as_deref() == Some(first.as_str()))
        .then_some(first)
}

fn implicit_block(b: &Block) -> bool {
    b.file.is_none()
        && b.block
            .iter()
            .all(|i| matches!(i, Item::Task(t) if t.file.is_none()))
}

struct Walker<'p, 'a> {
    plan: &'p mut Plan<'a>,
    play: &'a Play,
    pi: usize,
    hosts: Option<Vec<String>>,
    serial: bool,
    /// The current `serial` batch: its number (0 when there is one) and
    /// hosts.
    batch: Option<(usize, Vec<String>)>,
    /// (key, app index) of this play's applications.
    apps: Vec<(Option<String>, usize)>,
    /// Handler names and `listen` topics notified since the last flush.
    notified: BTreeSet<String>,
    /// A notification whose name is templated since the last flush: any
    /// handler of the play may run.
    any_notified: bool,
    current: Option<usize>,
}

impl<'p, 'a> Walker<'p, 'a> {
    fn app(&mut self, key: &Option<String>) -> usize {
        if let Some((_, i)) = self.apps.iter().find(|(k, _)| k == key) {
            return *i;
        }
        // An unnamed play is called by its host patterns, as Ansible does.
        let base_name = match key {
            Some(r) => r.clone(),
            None if self.play.name.is_empty() => slug(&self.play.hosts.join(",")),
            None => slug(&self.play.name),
        };
        let i = self.plan.apps.len();
        self.plan.apps.push(App {
            play: self.pi,
            role: key.clone(),
            base_name,
            hosts: self.hosts.clone(),
            steps: Vec::new(),
            serial: self.serial,
        });
        self.apps.push((key.clone(), i));
        i
    }

    fn top(&mut self, item: &'a Item, key: Option<String>) {
        if key.as_deref() != Some("") {
            let a = self.app(&key);
            self.current = Some(a);
        }
        self.item(item, None);
    }

    /// `phase`: the phase of helper-role tasks here (inside a helper role
    /// included by one of the application's files).
    fn item(&mut self, item: &'a Item, phase: Option<&str>) {
        match item {
            Item::Block(b) => {
                for i in b.block.iter().chain(&b.rescue).chain(&b.always) {
                    self.item(i, phase);
                }
            }
            Item::Task(t) => self.task(t, phase),
        }
    }

    fn task(&mut self, t: &'a Task, phase: Option<&str>) {
        if t.file.is_none() {
            // Implicit: `flush_handlers` (and `role_complete`, a no-op).
            if t.args.get("_raw_params").and_then(Json::as_str) == Some("flush_handlers") {
                self.flush();
            }
            return;
        }
        if t.rendered.is_none() {
            return; // not reached
        }
        let app = match self.current {
            Some(a) => a,
            None => {
                let a = self.app(&None);
                self.current = Some(a);
                a
            }
        };
        let name = crate::translate::config::short(&t.action);
        if name == "meta"
            && t.args.get("_raw_params").and_then(Json::as_str) == Some("flush_handlers")
        {
            self.flush();
            return;
        }
        let own = self.plan.apps[app].role.clone();
        if matches!(name, "include_tasks" | "include_role" | "include") {
            // A helper role included (`include_role`) from one of the
            // application's own files is part of that file's phase; what
            // an own `include_tasks` includes has its own phases.
            let inner = if t.role.is_some() && t.role == own {
                (name == "include_role").then(|| file_phase(t))
            } else {
                phase.map(str::to_string)
            };
            if let Some(inc) = &t.included {
                for i in &inc.tasks {
                    self.item(i, inner.as_deref());
                }
                return;
            }
            // Not expanded (its name needs facts or results: the IR's
            // `candidates`): a step of its own, whose effects are
            // unknown (effects.rs), so that it keeps its order.
        }
        if name == "meta"
            && matches!(
                t.args.get("_raw_params").and_then(Json::as_str),
                Some("role_complete" | "noop")
            )
        {
            return;
        }
        if !t.rendered.as_ref().is_some_and(|r| r.skipped) {
            self.notify(t);
        }
        let phase = match &t.role {
            Some(r) if Some(r) != own.as_ref() => phase.map_or_else(|| r.clone(), str::to_string),
            _ => file_phase(t),
        };
        self.push(t, app, phase, false);
    }

    fn push(&mut self, t: &'a Task, app: usize, phase: String, handler: bool) {
        let i = self.plan.steps.len();
        let (phase, batch) = match &self.batch {
            Some((k, hosts)) if *k > 1 => (format!("{phase}-batch{k}"), Some(hosts.clone())),
            Some((_, hosts)) => (phase, Some(hosts.clone())),
            None => (phase, None),
        };
        self.plan.steps.push(Step {
            task: t,
            play: self.pi,
            app,
            phase,
            handler,
            batch,
        });
        self.plan.apps[app].steps.push(i);
    }

    fn notify(&mut self, t: &Task) {
        for n in strings(t.keywords.get("notify")) {
            if n.contains("{{") || n.contains("{%") {
                self.any_notified = true;
            } else {
                self.notified.insert(n);
            }
        }
    }

    /// The notified handlers run, in the order they are defined, each
    /// possibly notifying later ones.
    fn flush(&mut self) {
        if self.notified.is_empty() && !self.any_notified {
            return;
        }
        let Some(app) = self.current else { return };
        let mut handlers: Vec<&'a Task> = Vec::new();
        for i in &self.play.handlers {
            collect(i, &mut handlers);
        }
        // Of handlers with one name (a role's handlers loaded twice, as
        // DebOps' `global_handlers` imported by every role), the last
        // loaded is the one notified (ansible-core's
        // `search_handlers_by_notification`, by name and by `listen`).
        let shadowed = |i: usize| {
            let name = &handlers[i].task;
            !name.is_empty()
                && !name.contains("{{")
                && handlers[i + 1..].iter().any(|h| &h.task == name)
        };
        let shadowed: Vec<bool> = (0..handlers.len()).map(shadowed).collect();
        for (h, shadowed) in handlers.into_iter().zip(shadowed) {
            if h.rendered.is_none() || shadowed {
                continue;
            }
            let listens = strings(h.keywords.get("listen"));
            let named = self.notified.contains(&h.task)
                || listens.iter().any(|l| self.notified.contains(l))
                || self.any_notified;
            if named {
                self.notify(h);
                self.push(h, app, "handlers".into(), true);
            }
        }
        self.notified.clear();
        self.any_notified = false;
    }
}

/// A keyword that is a string or a list of them (`notify`, `listen`).
fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn collect<'a>(item: &'a Item, out: &mut Vec<&'a Task>) {
    match item {
        Item::Block(b) => {
            for i in b.block.iter().chain(&b.rescue).chain(&b.always) {
                collect(i, out);
            }
        }
        Item::Task(t) => {
            out.push(t);
            if let Some(inc) = &t.included {
                for i in &inc.tasks {
                    collect(i, out);
                }
            }
        }
    }
}

/// A task file's phase name: its stem (`roles/keystone/tasks/config.yml`
/// → `config`).
fn file_phase(t: &Task) -> String {
    let file = t.file.as_deref().unwrap_or("tasks");
    let stem = file.rsplit('/').next().unwrap_or(file);
    slug(
        stem.strip_suffix(".yml")
            .or_else(|| stem.strip_suffix(".yaml"))
            .unwrap_or(stem),
    )
}

/// An identifier for the assembly: letters, digits, `_` and `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    match out.chars().next() {
        None => "play".into(),
        Some(c) if c.is_ascii_digit() || c == '-' => format!("_{out}"),
        _ => out,
    }
}

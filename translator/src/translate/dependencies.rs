//! Stage 4: what orders components (docs/translation.md).
//!
//! A later component depends on an earlier one (`deploy`) when:
//! - `client-module`: one of its tasks calls a service (a client module,
//!   directly or through `kolla_toolbox`) the earlier one provides
//!   (writes one of the service's containers, services or packages);
//! - `address`: that call aims at an address no inventory host has (a
//!   virtual IP): it also needs what serves virtual IPs;
//! - `exec`: it runs commands in a container the earlier one manages;
//! - `data-flow`: it reads a variable whose last write before it, on some
//!   host, is the earlier one's (its reaching definitions: registered,
//!   `set_fact`, facts). Overwriting another component's variable does not
//!   order them: each component's variables are its own at run time
//!   (docs/translation.md, "What the runtime must provide");
//! - `inventory`: its play targets, or its tasks name, a group the
//!   earlier one makes (`group_by`, `add_host`);
//! - `shared-resource`, `exclusive`: on a common host, they touch one
//!   file, container, service, package... or hold one exclusive resource;
//! - `unknown-module`: on a common host, either runs a module the
//!   analysis knows nothing of;
//! - `annotation`: `concerto.yml` says so (`after`, `uses`).
//!
//! Dependencies only point back in run order, so the assembly has no
//! cycle. A `runtime` dependency is a template of one component that
//! mentions another: reported, not ordering.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use super::components::Component;
use super::config::{glob, Annotations, ConfigError, ServiceSig, Signatures};
use super::effects::{Access, Effects};
use super::steps::Plan;
use crate::playbook::ir::Ir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Deploy,
    Runtime,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    pub file: String,
    pub line: usize,
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Dependency {
    pub user: usize,
    pub provider: usize,
    pub kind: Kind,
    pub evidence: Vec<Evidence>,
    /// (user's step that must wait, provider's step it waits for), the
    /// latter `None` for the provider's whole deployment (a service it
    /// provides). Deploy dependencies only.
    pub links: BTreeSet<(usize, Option<usize>)>,
}

/// An ordering of the playbook the assembly does not keep.
#[derive(Debug, Clone)]
pub struct Relaxed {
    pub before: String,
    pub after: String,
    pub rule: String,
}

pub struct Input<'a> {
    pub ir: &'a Ir,
    pub plan: &'a Plan<'a>,
    pub effects: &'a [Effects],
    pub comps: &'a [Component],
    pub sigs: &'a Signatures,
    pub annotations: &'a Annotations,
    /// Names and addresses of the inventory's hosts, to their names.
    pub known_hosts: &'a BTreeMap<String, String>,
    /// The playbook's directory (templates are read from there).
    pub base: &'a std::path::Path,
}

/// At most this many pieces of evidence per dependency and rule.
const EVIDENCE_PER_RULE: usize = 3;

pub fn dependencies(x: &Input) -> Result<(Vec<Dependency>, Vec<Relaxed>), ConfigError> {
    let n = x.comps.len();
    let mut step_comp = vec![usize::MAX; x.plan.steps.len()];
    for (c, comp) in x.comps.iter().enumerate() {
        for s in steps_of(comp) {
            step_comp[s] = c;
        }
    }
    let reaching = reaching_definitions(x);
    let mut deps: BTreeMap<(usize, usize), Dependency> = BTreeMap::new();
    // `awaited`: the provider's step the user waits for (`None`: the
    // provider's whole deployment).
    let add = |deps: &mut BTreeMap<(usize, usize), Dependency>,
               user: usize,
               provider: usize,
               kind: Kind,
               ev: Evidence,
               gated: Option<usize>,
               awaited: Option<usize>| {
        let d = deps.entry((user, provider)).or_insert_with(|| Dependency {
            user,
            provider,
            kind,
            evidence: Vec::new(),
            links: BTreeSet::new(),
        });
        if kind == Kind::Deploy {
            d.kind = Kind::Deploy;
        }
        if d.evidence.iter().filter(|e| e.rule == ev.rule).count() < EVIDENCE_PER_RULE
            && !d.evidence.contains(&ev)
        {
            d.evidence.push(ev);
        }
        if let (Kind::Deploy, Some(s)) = (kind, gated) {
            d.links.insert((s, awaited));
        }
    };
    let at = |s: usize| -> (String, usize) {
        let t = x.plan.steps[s].task;
        (t.file.clone().unwrap_or_default(), t.line.unwrap_or(0))
    };
    let ev = |s: usize, rule: &str, detail: String| {
        let (file, line) = at(s);
        Evidence {
            file,
            line,
            rule: rule.into(),
            detail,
        }
    };

    // Providers of each service, and of virtual IPs.
    // The provider's last task that writes one of the service's
    // resources (the evidence: usually the handler that starts it).
    let provides = |c: usize, sig: &ServiceSig| -> Option<usize> {
        steps_of(&x.comps[c]).into_iter().rev().find(|&s| {
            x.effects[s].resources.iter().any(|r| {
                r.access == Access::Write
                    && r.name.as_deref().is_some_and(|name| {
                        let list = match r.kind.as_str() {
                            "container" => &sig.containers,
                            "service" => &sig.services,
                            "package" => &sig.packages,
                            _ => return false,
                        };
                        list.iter().any(|p| glob(p, name))
                    })
            })
        })
    };
    let annotated_provider = |c: usize, service: &str| {
        x.annotations
            .components
            .get(&x.comps[c].name)
            .is_some_and(|a| a.provides.iter().any(|p| p == service))
    };

    for b in 0..n {
        let b_steps = steps_of(&x.comps[b]);
        for &sb in &b_steps {
            let eb = &x.effects[sb];
            // Clients of services.
            for client in &eb.clients {
                let Some(sig) = x.sigs.services.get(&client.service) else {
                    continue;
                };
                for a in 0..b {
                    let by = match provides(a, sig) {
                        Some(sa) => {
                            let (pf, pl) = at(sa);
                            format!("{pf}:{pl}")
                        }
                        None if annotated_provider(a, &client.service) => {
                            "concerto.yml says it".to_string()
                        }
                        None => continue,
                    };
                    let detail = format!(
                        "`{}` talks to {}, which {by} provides",
                        client.module, client.service
                    );
                    let e = ev(sb, "client-module", detail);
                    add(&mut deps, b, a, Kind::Deploy, e, Some(sb), None);
                }
                // The address: who serves it (what serves virtual IPs, or
                // what runs on that inventory host), and how to say so.
                let Some((addr, h)) = client
                    .address
                    .as_deref()
                    .and_then(|a| Some((a, address_host(a)?)))
                else {
                    continue;
                };
                type Serves<'s> = Box<dyn Fn(usize) -> Option<usize> + 's>;
                let (serves, before, after): (Serves, String, &str) = match x.known_hosts.get(h) {
                    None if !local(h) => (
                        Box::new(|a| provides(a, &x.sigs.vip)),
                        "no inventory host's address: a virtual IP, served by".into(),
                        "",
                    ),
                    None => continue,
                    Some(host) => {
                        let on = move |s: usize| hosts_of(x, s).is_none_or(|hs| hs.contains(host));
                        if on(sb) && hosts_of(x, sb).is_some() {
                            continue; // its own host: ordered within its component
                        }
                        let runs = move |a: usize| {
                            steps_of(&x.comps[a])
                                .into_iter()
                                .rev()
                                .find(|&s| x.effects[s].runs_something() && on(s))
                        };
                        (Box::new(runs), format!("host {host}, where"), " runs")
                    }
                };
                for a in 0..b {
                    if let Some(sa) = serves(a) {
                        let (pf, pl) = at(sa);
                        let detail = format!(
                            "`{}` aims at {addr}, {before} {pf}:{pl}{after}",
                            client.module
                        );
                        let e = ev(sb, "address", detail);
                        add(&mut deps, b, a, Kind::Deploy, e, Some(sb), None);
                    }
                }
            }
            // Variables: the writes each read of another component's
            // variable may see (its reaching definitions).
            for name in &eb.reads {
                for &sa in reaching.get(&(sb, name.clone())).into_iter().flatten() {
                    let a = step_comp[sa];
                    if a != b && a < b {
                        let (pf, pl) = at(sa);
                        add(
                            &mut deps,
                            b,
                            a,
                            Kind::Deploy,
                            ev(sb, "data-flow", format!("reads `{name}`, set at {pf}:{pl}")),
                            Some(sb),
                            Some(sa),
                        );
                    }
                }
            }
            // Everything else: conflicts on common hosts with earlier
            // components' tasks.
            for a in 0..b {
                for sa in steps_of(&x.comps[a]) {
                    if !common_hosts(x, sa, sb) {
                        continue;
                    }
                    let ea = &x.effects[sa];
                    let conflict = ea.conflict_but_variables(eb).map(|(rule, what)| {
                        let exec = eb.execs.iter().any(|c| what == format!("container {c}"));
                        (if exec { "exec" } else { rule }, what)
                    });
                    if let Some((rule, what)) = conflict {
                        let (pf, pl) = at(sa);
                        add(
                            &mut deps,
                            b,
                            a,
                            Kind::Deploy,
                            ev(sb, rule, format!("{what}, also at {pf}:{pl}")),
                            Some(sb),
                            Some(sa),
                        );
                    }
                }
            }
        }
        // Inventory: groups made by earlier components that this one's
        // play targets or its tasks name.
        let play = &x.ir.plays[x.comps[b].play];
        let patterns = play.hosts.join(",");
        let texts: Vec<(usize, String)> = b_steps
            .iter()
            .map(|&s| {
                let t = x.plan.steps[s].task;
                (
                    s,
                    format!(
                        "{} {}",
                        serde_json::to_string(&t.args).unwrap_or_default(),
                        t.keywords
                            .get("when")
                            .map(Json::to_string)
                            .unwrap_or_default()
                    ),
                )
            })
            .collect();
        for a in 0..b {
            for sa in steps_of(&x.comps[a]) {
                let Some(groups) = &x.effects[sa].inventory else {
                    continue;
                };
                for g in groups {
                    let named_in_play = match g {
                        Some(g) => pattern_names(&patterns, g),
                        None => true,
                    };
                    if named_in_play {
                        let first = b_steps.first().copied();
                        let what = g.clone().unwrap_or_else(|| {
                            "(a group whose name is not known statically)".into()
                        });
                        let (pf, pl) = at(sa);
                        let e = Evidence {
                            file: play.file.clone(),
                            line: play.line,
                            rule: "inventory".into(),
                            detail: format!("the play targets group {what}, made at {pf}:{pl}"),
                        };
                        add(&mut deps, b, a, Kind::Deploy, e, first, Some(sa));
                        continue;
                    }
                    let Some(g) = g else { continue };
                    for (s, text) in &texts {
                        if text.contains(&format!("'{g}'"))
                            || text.contains(&format!("\\\"{g}\\\""))
                        {
                            add(
                                &mut deps,
                                b,
                                a,
                                Kind::Deploy,
                                ev(
                                    *s,
                                    "inventory",
                                    format!("names group {g}, made at {}:{}", at(sa).0, at(sa).1),
                                ),
                                Some(*s),
                                Some(sa),
                            );
                        }
                    }
                }
            }
        }
    }

    // Runtime: templates that mention another component.
    for b in 0..n {
        for sb in steps_of(&x.comps[b]) {
            for tpl in &x.effects[sb].templates {
                let Some((path, text)) = read_template(x, sb, tpl) else {
                    continue;
                };
                for (a, comp) in x.comps.iter().enumerate() {
                    if a == b || comp.role.as_deref() == x.comps[b].role.as_deref() {
                        continue;
                    }
                    let Some(role) = comp.role.as_deref() else {
                        continue;
                    };
                    if let Some(line) = mentions(&text, role) {
                        let (file, tline) = at(sb);
                        let e = Evidence {
                            file,
                            line: tline,
                            rule: "template-mention".into(),
                            detail: format!("{path}:{line} mentions {role}"),
                        };
                        if !deps.contains_key(&(b, a)) || deps[&(b, a)].kind == Kind::Runtime {
                            add(&mut deps, b, a, Kind::Runtime, e, None, None);
                        }
                    }
                }
            }
        }
    }

    // Annotations.
    let mut relaxed = Vec::new();
    let index = |name: &str| x.comps.iter().position(|c| c.name == name);
    for (name, ann) in &x.annotations.components {
        let Some(b) = index(name) else {
            let known: Vec<&str> = x.comps.iter().map(|c| c.name.as_str()).collect();
            let help = if known.is_empty() {
                "the playbook has no component: no play reaches a host of the inventory".into()
            } else {
                format!("components: {}", known.join(", "))
            };
            return Err(x.annotations.error(
                ann.node.as_ref(),
                format!("no component is named `{name}`"),
                &help,
            ));
        };
        for (other, node) in &ann.after {
            match index(other) {
                Some(a) if a < b => add(
                    &mut deps,
                    b,
                    a,
                    Kind::Deploy,
                    Evidence {
                        file: "concerto.yml".into(),
                        line: node.span.line,
                        rule: "annotation".into(),
                        detail: format!("{name} after {other}"),
                    },
                    x.comps[b]
                        .transitions
                        .first()
                        .and_then(|t| t.steps.first().copied()),
                    None,
                ),
                Some(_) => {
                    return Err(x.annotations.error(
                        Some(node),
                        format!("`{other}` runs after `{name}` in the playbook"),
                        "`after` can only keep an order the playbook has",
                    ))
                }
                None => {
                    return Err(x.annotations.error(
                        Some(node),
                        format!("no component is named `{other}`"),
                        "",
                    ))
                }
            }
        }
        for service in &ann.uses {
            for a in 0..b {
                if annotated_provider(a, service)
                    || x.sigs
                        .services
                        .get(service)
                        .is_some_and(|s| provides(a, s).is_some())
                {
                    add(
                        &mut deps,
                        b,
                        a,
                        Kind::Deploy,
                        Evidence {
                            file: "concerto.yml".into(),
                            line: ann.node.as_ref().map_or(0, |n| n.span.line),
                            rule: "annotation".into(),
                            detail: format!("{name} uses {service}"),
                        },
                        x.comps[b]
                            .transitions
                            .first()
                            .and_then(|t| t.steps.first().copied()),
                        None,
                    );
                }
            }
        }
        for (other, node) in &ann.independent {
            let Some(a) = index(other) else {
                return Err(x.annotations.error(
                    Some(node),
                    format!("no component is named `{other}`"),
                    "",
                ));
            };
            for key in [(b, a), (a, b)] {
                if let Some(d) = deps.get(&key) {
                    if d.kind == Kind::Deploy && d.evidence.iter().all(|e| e.rule != "annotation") {
                        relaxed.push(Relaxed {
                            before: x.comps[key.1].name.clone(),
                            after: x.comps[key.0].name.clone(),
                            rule: format!("annotation: concerto.yml declares {name} and {other} independent (dropped: {})", d.evidence.iter().map(|e| e.rule.as_str()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")),
                        });
                        deps.remove(&key);
                    }
                }
            }
        }
    }
    Ok((deps.into_values().collect(), relaxed))
}

/// For each (step, name it reads), the writes it may see: on each host it
/// runs for (on every host when it reads `hostvars`), the last step before
/// it in run order that writes the name (a fact for `ansible_*`, any name
/// for `include_vars`).
fn reaching_definitions(x: &Input) -> std::collections::HashMap<(usize, String), Vec<usize>> {
    /// Last writer per host; `None` keys a write on hosts not known.
    type PerHost = std::collections::HashMap<Option<String>, usize>;
    fn write(map: &mut PerHost, hosts: &Option<Vec<String>>, s: usize) {
        match hosts {
            None => {
                map.clear();
                map.insert(None, s);
            }
            Some(hs) => {
                for h in hs {
                    map.insert(Some(h.clone()), s);
                }
            }
        }
    }
    // The writers a reader on `hosts` may see.
    fn seen(map: &PerHost, hosts: &Option<Vec<String>>, out: &mut Vec<usize>) {
        match hosts {
            None => out.extend(map.values().copied()),
            Some(hs) => {
                out.extend(map.get(&None).copied());
                out.extend(hs.iter().filter_map(|h| map.get(&Some(h.clone())).copied()));
            }
        }
    }
    let mut out = std::collections::HashMap::new();
    let mut last: std::collections::HashMap<&str, PerHost> = Default::default();
    let (mut facts, mut any) = (PerHost::default(), PerHost::default());
    for (s, e) in x.effects.iter().enumerate() {
        // A task reads and sets the variables of the hosts it runs for
        // (its play's, even when delegated), and the delegate's facts with
        // `delegate_facts`.
        let play_hosts = match &x.plan.steps[s].batch {
            Some(b) => Some(b.clone()),
            None => x.plan.apps[x.plan.steps[s].app].hosts.clone(),
        };
        let on = if e.reads_other_hosts {
            None
        } else {
            play_hosts.clone()
        };
        for name in &e.reads {
            let mut ws: Vec<usize> = Vec::new();
            seen(&any, &on, &mut ws);
            if let Some(m) = last.get(name.as_str()) {
                seen(m, &on, &mut ws);
            }
            if name.starts_with("ansible_") {
                seen(&facts, &on, &mut ws);
            }
            ws.sort_unstable();
            ws.dedup();
            if !ws.is_empty() {
                out.insert((s, name.clone()), ws);
            }
        }
        let delegate_facts = x.plan.steps[s]
            .task
            .keywords
            .get("delegate_facts")
            .is_some_and(|v| {
                v.as_bool() == Some(true)
                    || v.as_str().is_some_and(|s| {
                        matches!(
                            s.trim().to_lowercase().as_str(),
                            "true" | "yes" | "on" | "1"
                        )
                    })
            });
        let written = match (hosts_of(x, s), play_hosts) {
            (Some(d), Some(mut p)) if delegate_facts => {
                p.extend(d.into_iter().filter(|h| !p.contains(h)).collect::<Vec<_>>());
                Some(p)
            }
            (_, p) if !delegate_facts => p,
            _ => None,
        };
        for name in &e.writes {
            write(last.entry(name).or_default(), &written, s);
        }
        if e.facts {
            write(&mut facts, &written, s);
        }
        if e.writes_any {
            write(&mut any, &written, s);
        }
    }
    out
}

pub fn steps_of(c: &Component) -> Vec<usize> {
    let mut v: Vec<usize> = c
        .transitions
        .iter()
        .flat_map(|t| t.steps.iter().copied())
        .collect();
    v.sort_unstable();
    v
}

/// The hosts a step runs on (`None`: not known).
fn hosts_of(x: &Input, s: usize) -> Option<Vec<String>> {
    step_hosts(x.plan, x.effects, s)
}

/// The hosts a step runs on: its play's targets, or where it is
/// delegated (`None`: not known).
pub fn step_hosts(plan: &Plan, effects: &[Effects], s: usize) -> Option<Vec<String>> {
    match (&effects[s].delegate, &plan.steps[s].batch) {
        (Some(d), _) => d.clone(),
        (None, Some(batch)) => Some(batch.clone()),
        (None, None) => plan.apps[plan.steps[s].app].hosts.clone(),
    }
}

fn common_hosts(x: &Input, a: usize, b: usize) -> bool {
    match (hosts_of(x, a), hosts_of(x, b)) {
        (Some(ha), Some(hb)) => ha.iter().any(|h| hb.contains(h)),
        _ => true,
    }
}

/// The host part of an address, a URL or `host:port`.
fn address_host(addr: &str) -> Option<&str> {
    let host = addr.split("://").last()?.split(['/', '?']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty() && !host.starts_with('/')).then_some(host)
}

/// This machine, whatever the inventory says.
fn local(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "::1"
}

/// Does a host pattern name the group?
/// `group` may be a glob (a name templated from run-time data).
fn pattern_names(patterns: &str, group: &str) -> bool {
    patterns
        .split([',', ':'])
        .map(|p| p.trim_start_matches(['&', '!']))
        .any(|p| p == group || glob(p, group) || glob(group, p))
}

/// A template file's path and text: `src` relative to the role's
/// `templates/` (or absolute), as the `template` module finds it.
fn read_template(x: &Input, s: usize, tpl: &str) -> Option<(String, String)> {
    let t = x.plan.steps[s].task;
    let candidates: Vec<std::path::PathBuf> = if std::path::Path::new(tpl).is_absolute() {
        vec![tpl.into()]
    } else {
        let file = t.file.as_deref()?;
        let role_dir = file.split("/tasks/").next()?;
        vec![
            x.base.join(role_dir).join("templates").join(tpl),
            x.base.join("templates").join(tpl),
            x.base.join(tpl),
        ]
    };
    candidates.into_iter().find_map(|p| {
        let text = std::fs::read_to_string(&p).ok()?;
        let shown = p.strip_prefix(x.base).unwrap_or(&p).display().to_string();
        Some((shown, text))
    })
}

/// The first line where a Jinja expression or statement of `text` names
/// the role (`memcached_port`, `groups['memcached']`).
fn mentions(text: &str, role: &str) -> Option<usize> {
    let word = role.replace('-', "_");
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(open) = rest.find("{{").or_else(|| rest.find("{%")) {
            let inner = &rest[open + 2..];
            let close = inner
                .find("}}")
                .or_else(|| inner.find("%}"))
                .unwrap_or(inner.len());
            let expr = &inner[..close];
            let hit = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .any(|tok| {
                    let tok = tok.replace('-', "_");
                    tok == word || tok.starts_with(&format!("{word}_"))
                });
            if hit {
                return Some(i + 1);
            }
            rest = &inner[close.min(inner.len())..];
        }
    }
    None
}

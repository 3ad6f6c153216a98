//! Stage 5: the translation written out: the assembly (the runtime's
//! format, docs/assembly-format.md), the JSON report (the contract of
//! docs/translation.md), the Markdown report and a DOT graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::{json, Value as Json};

use super::components::Component;
use super::{Kind, Translation};

const PROVIDE_PORT: &str = "deployed";

/// The provider's place a link waits for: past the awaited step's
/// transition (the last place for a whole deployment).
fn awaited_place(provider: &Component, awaited: Option<usize>) -> usize {
    let last = provider.places.len() - 1;
    awaited
        .and_then(|s| provider.transitions.iter().find(|t| t.steps.contains(&s)))
        .map_or(last, |t| t.to)
}

/// A deploy dependency's use ports: for each provider place waited for,
/// the user's transitions that wait for it.
fn waits(t: &Translation, d: &super::Dependency) -> BTreeMap<usize, BTreeSet<usize>> {
    let (u, p) = (&t.components[d.user], &t.components[d.provider]);
    let mut by_place: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for &(gated, awaited) in &d.links {
        let k = awaited_place(p, awaited);
        let tr = u
            .transitions
            .iter()
            .position(|t| t.steps.contains(&gated))
            .unwrap_or(0);
        by_place.entry(k).or_default().insert(tr);
    }
    // A link gated on nothing (an annotation on a component with no task)
    // waits at the start.
    if by_place.is_empty() {
        by_place.insert(
            p.places.len() - 1,
            (0..u.transitions.len())
                .filter(|&i| u.transitions[i].from == 0)
                .collect(),
        );
    }
    // A transition waiting for a later place need not wait for an earlier one.
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    for (_, trs) in by_place.iter_mut().rev() {
        trs.retain(|t| !seen.contains(t));
        seen.extend(trs.iter().copied());
    }
    by_place.retain(|_, trs| !trs.is_empty());
    by_place
}

fn use_port_at(provider: &Component, k: usize) -> String {
    if k + 1 == provider.places.len() {
        format!("after-{}", provider.instance)
    } else {
        format!("after-{}-{}", provider.instance, provider.places[k])
    }
}

/// The provide port active from place `k` on.
fn provide_port(c: &Component, k: usize) -> String {
    if k + 1 == c.places.len() {
        PROVIDE_PORT.to_string()
    } else {
        format!("past-{}", c.places[k])
    }
}

impl Translation {
    /// The assembly: one type and instance per component, unplaced (its
    /// transitions carry the profile's durations and no action).
    pub fn assembly(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Translated from {} by `concerto translate` (docs/translation.md).",
            self.playbook
        );
        let _ = writeln!(
            out,
            "# Durations: the profile {:?}. The report gives every decision's evidence.",
            self.profile
        );
        out.push_str("types:\n");
        for (ci, c) in self.components.iter().enumerate() {
            let _ = writeln!(out, "  {}:", c.instance);
            let _ = writeln!(out, "    places: [{}]", c.places.join(", "));
            out.push_str("    transitions:\n");
            for t in &c.transitions {
                let _ = writeln!(
                    out,
                    "      {}: {{from: {}, to: {}, duration: {}}}",
                    t.name, c.places[t.from], c.places[t.to], t.duration
                );
            }
            // Provide ports: `deployed`, and `past-P` (active from place P
            // on, as a group) for users that wait for part of it only.
            let mut from: BTreeSet<usize> = BTreeSet::from([c.places.len() - 1]);
            for d in self
                .dependencies
                .iter()
                .filter(|d| d.provider == ci && d.kind == Kind::Deploy)
            {
                from.extend(waits(self, d).into_keys());
            }
            let partial: Vec<usize> = from
                .iter()
                .copied()
                .filter(|&k| k + 1 < c.places.len())
                .collect();
            if !partial.is_empty() {
                out.push_str("    groups:\n");
                for &k in &partial {
                    let _ = writeln!(
                        out,
                        "      from-{}: [{}]",
                        c.places[k],
                        c.places[k..].join(", ")
                    );
                }
            }
            out.push_str("    ports:\n");
            let _ = writeln!(
                out,
                "      {PROVIDE_PORT}: {{kind: provide, type: {}, bind: [{{place: deployed}}]}}",
                c.instance
            );
            for &k in &partial {
                let _ = writeln!(
                    out,
                    "      {}: {{kind: provide, type: {}, bind: [{{group: from-{}}}]}}",
                    provide_port(c, k),
                    c.instance,
                    c.places[k]
                );
            }
            for d in self
                .dependencies
                .iter()
                .filter(|d| d.user == ci && d.kind == Kind::Deploy)
            {
                let p = &self.components[d.provider];
                for (k, trs) in waits(self, d) {
                    let bind: Vec<String> = trs
                        .iter()
                        .map(|&i| format!("{{transition: {}}}", c.transitions[i].name))
                        .collect();
                    let _ = writeln!(
                        out,
                        "      {}: {{kind: use, type: {}, bind: [{}]}}",
                        use_port_at(p, k),
                        p.instance,
                        bind.join(", ")
                    );
                }
            }
        }
        out.push_str("components:\n");
        for c in &self.components {
            let hosts = c
                .hosts
                .as_ref()
                .map_or("unknown".to_string(), |h| h.join(", "));
            let _ = writeln!(out, "  {}: {}   # hosts: {hosts}", c.instance, c.instance);
        }
        let deploy: Vec<_> = self
            .dependencies
            .iter()
            .filter(|d| d.kind == Kind::Deploy)
            .collect();
        if !deploy.is_empty() {
            out.push_str("connections:\n");
            for d in deploy {
                let (u, p) = (&self.components[d.user], &self.components[d.provider]);
                for k in waits(self, d).into_keys() {
                    let _ = writeln!(
                        out,
                        "  - [{}.{}, {}.{}]",
                        u.instance,
                        use_port_at(p, k),
                        p.instance,
                        provide_port(p, k)
                    );
                }
            }
        }
        out
    }

    /// The JSON report (`--json`).
    pub fn json(&self) -> Json {
        let components: Vec<Json> = self
            .components
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "instance": c.instance,
                    "role": c.role,
                    "play": c.play,
                    "hosts": c.hosts,
                    "places": c.places,
                    "transitions": c.transitions.iter().map(|t| json!({
                        "name": t.name,
                        "from": c.places[t.from],
                        "to": c.places[t.to],
                        "duration": t.duration,
                        "tasks": t.steps.iter().map(|&s| self.step_at[s].clone()).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        // One entry per use port: a dependency waits for one or several
        // places of its provider; a runtime one has no port.
        let mut connections: Vec<Json> = Vec::new();
        for d in &self.dependencies {
            let (u, p) = (&self.components[d.user], &self.components[d.provider]);
            let evidence: Vec<Json> = d
                .evidence
                .iter()
                .map(
                    |e| json!({"file": e.file, "line": e.line, "rule": e.rule, "detail": e.detail}),
                )
                .collect();
            let entry = |use_port: Json, provide_port: Json, waiting: Vec<String>| {
                json!({
                    "user": u.name,
                    "use_port": use_port,
                    "provider": p.name,
                    "provide_port": provide_port,
                    "kind": match d.kind { Kind::Deploy => "deploy", Kind::Runtime => "runtime" },
                    "waiting": waiting,
                    "evidence": evidence,
                })
            };
            match d.kind {
                Kind::Runtime => connections.push(entry(Json::Null, Json::Null, Vec::new())),
                Kind::Deploy => {
                    for (k, trs) in waits(self, d) {
                        let waiting = trs.iter().map(|&i| u.transitions[i].name.clone()).collect();
                        connections.push(entry(
                            use_port_at(p, k).into(),
                            provide_port(p, k).into(),
                            waiting,
                        ));
                    }
                }
            }
        }
        let relaxed: Vec<Json> = self
            .relaxed
            .iter()
            .map(|r| json!({"before": r.before, "after": r.after, "rule": r.rule}))
            .collect();
        let conservative: Vec<Json> = self
            .conservative
            .iter()
            .map(|c| json!({"component": c.component, "task": format!("{}:{}", c.file, c.line), "reason": c.reason}))
            .collect();
        let trusted: Vec<Json> = self
            .trusted
            .iter()
            .map(|c| json!({"component": c.component, "task": format!("{}:{}", c.file, c.line), "declaration": c.reason}))
            .collect();
        json!({
            "playbook": self.playbook,
            "components": components,
            "connections": connections,
            "relaxed": relaxed,
            "conservative": conservative,
            "trusted": trusted,
        })
    }

    /// The Markdown report; `prediction` is a section the caller writes
    /// (the performance model lives in the runtime crate).
    pub fn markdown(&self, prediction: &str) -> String {
        let mut o = String::new();
        let deploy = self
            .dependencies
            .iter()
            .filter(|d| d.kind == Kind::Deploy)
            .count();
        let _ = writeln!(o, "# Translation of `{}`\n", self.playbook);
        let _ = writeln!(
            o,
            "{} components, {} transitions, {} deploy dependencies, {} runtime dependencies; {} orderings between components relaxed; {} conservative decisions. Rules: docs/translation.md.\n",
            self.components.len(),
            self.components.iter().map(|c| c.transitions.len()).sum::<usize>(),
            deploy,
            self.dependencies.len() - deploy,
            self.relaxed.len(),
            self.conservative.len()
        );
        if !prediction.is_empty() {
            o.push_str(prediction);
            o.push('\n');
        }
        o.push_str("## Components\n\n");
        for c in &self.components {
            let hosts = c
                .hosts
                .as_ref()
                .map_or("unknown".to_string(), |h| h.join(", "));
            let _ = writeln!(o, "### {}\n", c.name);
            let _ = writeln!(
                o,
                "Role {}, play {}, hosts {hosts}{}. Places: {}.\n",
                c.role.as_deref().unwrap_or("(none)"),
                c.play,
                if c.serial {
                    ", in `serial` batches"
                } else {
                    ""
                },
                c.places.join(" → ")
            );
            o.push_str("| transition | from → to | seconds | tasks |\n|---|---|---|---|\n");
            for t in &c.transitions {
                let _ = writeln!(
                    o,
                    "| {} | {} → {} | {} | {} |",
                    t.name,
                    c.places[t.from],
                    c.places[t.to],
                    t.duration,
                    compact(t.steps.iter().map(|&s| self.step_at[s].as_str()))
                );
            }
            o.push('\n');
        }
        for (title, kind) in [
            ("Deploy dependencies", Kind::Deploy),
            ("Runtime dependencies (not ordering)", Kind::Runtime),
        ] {
            let _ = writeln!(o, "## {title}\n");
            o.push_str("| user | provider | rule | evidence |\n|---|---|---|---|\n");
            for d in self.dependencies.iter().filter(|d| d.kind == kind) {
                for e in &d.evidence {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {}:{} {} |",
                        self.components[d.user].name,
                        self.components[d.provider].name,
                        e.rule,
                        e.file,
                        e.line,
                        e.detail.replace('|', "\\|")
                    );
                }
            }
            o.push('\n');
        }
        o.push_str("## Relaxed orderings\n\nThe playbook runs these components one after the other; the assembly lets them overlap.\n\n");
        let mut by_rule: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for r in &self.relaxed {
            by_rule
                .entry(&r.rule)
                .or_default()
                .push(format!("{} ∥ {}", r.before, r.after));
        }
        for (rule, pairs) in by_rule {
            let _ = writeln!(o, "- **{rule}** ({}): {}", pairs.len(), pairs.join(", "));
        }
        o.push_str("\nInside components, the transitions of one phase run in parallel: their tasks share no variable, file or named resource, and none is unknown.\n\n");
        if !self.trusted.is_empty() {
            o.push_str("## Taken at the author's word\n\n");
            let at: BTreeSet<String> = self
                .trusted
                .iter()
                .map(|c| format!("{}:{}", c.file, c.line))
                .collect();
            let _ = writeln!(
                o,
                "- a command marked `changed_when: false` changes nothing ({}): {}\n",
                at.len(),
                compact(at.iter().map(String::as_str))
            );
        }
        o.push_str("## Kept conservatively\n\n");
        let mut reasons: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for c in &self.conservative {
            reasons
                .entry(&c.reason)
                .or_default()
                .insert(format!("{}:{}", c.file, c.line));
        }
        for (reason, at) in reasons {
            let _ = writeln!(
                o,
                "- {reason} ({}): {}",
                at.len(),
                compact(at.iter().map(String::as_str))
            );
        }
        o
    }

    /// A compact text of every decision (components, transitions with
    /// their tasks, dependencies with their evidence, relaxed and
    /// conservative), for snapshots and reading.
    pub fn text(&self) -> String {
        let mut o = String::new();
        for c in &self.components {
            let hosts = c.hosts.as_ref().map_or("?".to_string(), |h| h.join(","));
            let _ = writeln!(
                o,
                "component {} (role {}, hosts {hosts}{})",
                c.name,
                c.role.as_deref().unwrap_or("-"),
                if c.serial { ", serial" } else { "" }
            );
            for t in &c.transitions {
                let _ = writeln!(
                    o,
                    "  {} -> {}: {} [{}]",
                    c.places[t.from],
                    c.places[t.to],
                    t.name,
                    compact(t.steps.iter().map(|&s| self.step_at[s].as_str()))
                );
            }
        }
        for d in &self.dependencies {
            let (u, p) = (&self.components[d.user], &self.components[d.provider]);
            match d.kind {
                Kind::Deploy => {
                    for (k, trs) in waits(self, d) {
                        let waiting: Vec<&str> = trs
                            .iter()
                            .map(|&i| u.transitions[i].name.as_str())
                            .collect();
                        let _ = writeln!(
                            o,
                            "deploy {}.{} waits for {} at {}",
                            u.name,
                            waiting.join(","),
                            p.name,
                            p.places[k]
                        );
                    }
                }
                Kind::Runtime => {
                    let _ = writeln!(o, "runtime {} mentions {}", u.name, p.name);
                }
            }
            for e in &d.evidence {
                let _ = writeln!(o, "  {} {}:{} {}", e.rule, e.file, e.line, e.detail);
            }
        }
        for r in &self.relaxed {
            let _ = writeln!(o, "relaxed {} || {}: {}", r.before, r.after, r.rule);
        }
        for c in &self.conservative {
            let _ = writeln!(
                o,
                "conservative {}:{} ({}): {}",
                c.file, c.line, c.component, c.reason
            );
        }
        o
    }

    /// Components and their dependencies in Graphviz DOT (runtime ones
    /// dashed).
    pub fn dot(&self) -> String {
        let mut o = String::from("digraph translation {\n  rankdir=LR;\n  node [shape=box];\n");
        for c in &self.components {
            let _ = writeln!(o, "  {:?};", c.name);
        }
        for d in &self.dependencies {
            let rules: BTreeSet<&str> = d.evidence.iter().map(|e| e.rule.as_str()).collect();
            let style = if d.kind == Kind::Runtime {
                ", style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  {:?} -> {:?} [label={:?}{style}];",
                self.components[d.provider].name,
                self.components[d.user].name,
                rules.into_iter().collect::<Vec<_>>().join(",")
            );
        }
        o.push_str("}\n");
        o
    }
}

/// `a.yml:1, a.yml:5, b.yml:2` as `a.yml:1,5 b.yml:2`.
fn compact<'a>(at: impl Iterator<Item = &'a str>) -> String {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for a in at {
        let (file, line) = a.rsplit_once(':').unwrap_or((a, ""));
        match groups.last_mut() {
            Some((f, lines)) if f == file => lines.push(line.to_string()),
            _ => groups.push((file.to_string(), vec![line.to_string()])),
        }
    }
    groups
        .into_iter()
        .map(|(f, l)| format!("{f}:{}", l.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

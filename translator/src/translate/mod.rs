//! `concerto translate`: an expanded IR (loaded with `Options::render`)
//! into a Madeus/Concerto assembly, with the evidence for every decision
//! (docs/translation.md). One file per stage:
//!
//! `steps.rs` (reached tasks, applications, phases) → `effects.rs` (each
//! task's effects, from `config.rs`'s signatures) → `components.rs`
//! (places, parallel transitions) → `dependencies.rs` (use/provide ports
//! from evidence) → `output.rs` (assembly, report, JSON, DOT).

pub mod components;
pub mod config;
pub mod dependencies;
pub mod effects;
pub mod output;
pub mod steps;

use std::collections::BTreeSet;
use std::path::Path;

pub use components::Component;
pub use config::{Annotations, ConfigError, Profile, Signatures};
pub use dependencies::{Dependency, Kind, Relaxed};

use crate::playbook::ir::Ir;

/// Everything `concerto translate` reads.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub playbook: std::path::PathBuf,
    pub inventory: std::path::PathBuf,
    /// `-e` arguments, as ansible-playbook takes them.
    pub extra_vars: Vec<String>,
    /// More signature files, before the shipped ones.
    pub signatures: Vec<std::path::PathBuf>,
    /// Annotations (default: `concerto.yml` next to the playbook, if any).
    pub annotations: Option<std::path::PathBuf>,
    /// Durations profile (default: the shipped Madeus OpenStack one).
    pub profile: Option<std::path::PathBuf>,
    pub ansible_core: crate::playbook::AnsibleCore,
}

/// Any error of a translation: the inputs' own diagnostics.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TranslateError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Playbook(#[from] crate::playbook::PlaybookError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
}

/// Load the playbook (expanded, arguments templated) and translate it.
pub fn run(req: &Request) -> Result<Translation, TranslateError> {
    let mut opts = crate::playbook::Options::from_env();
    opts.expand = true;
    opts.render = true;
    opts.ansible_core = req.ansible_core;
    let inventory = crate::inventory::load(&req.inventory)?;
    let known_hosts = known_hosts(&inventory);
    opts.inventory = Some(inventory);
    for e in &req.extra_vars {
        opts.extra_vars
            .extend(crate::playbook::parse_extra_vars(e)?);
    }
    let ir = crate::playbook::load(&req.playbook, &opts)?;
    let base = req
        .playbook
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let signatures = Signatures::load(&req.signatures)?;
    let annotations_path = req.annotations.clone().or_else(|| {
        let p = base.join("concerto.yml");
        p.exists().then_some(p)
    });
    let annotations = match &annotations_path {
        Some(p) => Annotations::load(p)?,
        None => Annotations::default(),
    };
    let profile = match &req.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?;
            Profile::parse(&p.display().to_string(), &text)?
        }
        None => Profile::madeus(),
    };
    Ok(translate(
        &ir,
        &Config {
            signatures: &signatures,
            annotations: &annotations,
            profile: &profile,
            known_hosts,
            base: &base,
        },
    )?)
}

/// Every inventory host's name and `ansible_host`, to the host's name.
fn known_hosts(inv: &crate::inventory::Inventory) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for name in inv.hosts.keys() {
        out.insert(name.clone(), name.clone());
        if let Some(s) = inv
            .host_vars(name)
            .get("ansible_host")
            .and_then(|v| v.value.value.as_str())
        {
            out.entry(s.to_string()).or_insert_with(|| name.clone());
        }
    }
    out
}

/// What `translate` needs besides the IR.
pub struct Config<'a> {
    pub signatures: &'a Signatures,
    pub annotations: &'a Annotations,
    pub profile: &'a Profile,
    /// Names and addresses of the inventory's hosts, to their names.
    pub known_hosts: std::collections::BTreeMap<String, String>,
    /// The playbook's directory.
    pub base: &'a Path,
}

/// A task kept in its order for want of knowledge.
#[derive(Debug, Clone)]
pub struct Conservative {
    pub component: String,
    pub file: String,
    pub line: usize,
    pub reason: String,
}

pub struct Translation {
    pub playbook: String,
    /// Declarations taken at their author's word (`changed_when: false`
    /// on a command): (component, file, line, what).
    pub trusted: Vec<Conservative>,
    pub components: Vec<Component>,
    pub dependencies: Vec<Dependency>,
    pub relaxed: Vec<Relaxed>,
    pub conservative: Vec<Conservative>,
    /// `file:line` of every step, by step index.
    pub step_at: Vec<String>,
    pub profile: String,
}

pub fn translate(ir: &Ir, cfg: &Config) -> Result<Translation, ConfigError> {
    let plan = steps::plan(ir);
    let effects: Vec<effects::Effects> = plan
        .steps
        .iter()
        .map(|s| effects::effects(s.task, cfg.signatures))
        .collect();
    let mut comps = components::components(&plan, &effects);
    let (deps, mut relaxed) = dependencies::dependencies(&dependencies::Input {
        ir,
        plan: &plan,
        effects: &effects,
        comps: &comps,
        sigs: cfg.signatures,
        annotations: cfg.annotations,
        known_hosts: &cfg.known_hosts,
        base: cfg.base,
    })?;
    durations(&plan, &mut comps, cfg.profile);
    // Pairs an annotation already relaxed keep that rule only.
    let derived: Vec<Relaxed> = relaxed_orders(&plan, &effects, &comps, &deps)
        .into_iter()
        .filter(|r| {
            !relaxed
                .iter()
                .any(|a| a.before == r.before && a.after == r.after)
        })
        .collect();
    relaxed.extend(derived);
    let step_at: Vec<String> = plan
        .steps
        .iter()
        .map(|s| {
            format!(
                "{}:{}",
                s.task.file.as_deref().unwrap_or("?"),
                s.task.line.unwrap_or(0)
            )
        })
        .collect();
    let mut conservative = Vec::new();
    let mut trusted = Vec::new();
    for c in &comps {
        for s in dependencies::steps_of(c) {
            let e = &effects[s];
            let (file, line) = (
                plan.steps[s].task.file.clone().unwrap_or_default(),
                plan.steps[s].task.line.unwrap_or(0),
            );
            let mut reasons = Vec::new();
            if let Some(u) = &e.unknown {
                reasons.push(u.clone());
            }
            if e.declared_read_only {
                trusted.push(Conservative {
                    component: c.name.clone(),
                    file: file.clone(),
                    line,
                    reason: "a command marked `changed_when: false`: taken to change nothing"
                        .into(),
                });
            }
            reasons.extend(e.notes.iter().cloned());
            if e.notes.is_empty() && e.resources.iter().any(|r| r.name.is_none()) {
                reasons.push("an effect whose target is not known statically".into());
            }
            if plan.steps[s].task.when_result == Some(None) {
                reasons.push("its condition depends on run-time data: counted as running".into());
            }
            for reason in reasons {
                conservative.push(Conservative {
                    component: c.name.clone(),
                    file: file.clone(),
                    line,
                    reason,
                });
            }
        }
    }
    Ok(Translation {
        playbook: ir.playbook.clone(),
        trusted,
        components: comps,
        dependencies: deps,
        relaxed,
        conservative,
        step_at,
        profile: cfg.profile.name.clone(),
    })
}

/// Each transition's duration: its tasks' shares of the profile's
/// entries (an entry's seconds split evenly over all the tasks of the run
/// it matches, so that splitting a role over several plays or phases does
/// not change the total), or the profile's per-task default.
fn durations(plan: &steps::Plan, comps: &mut [Component], profile: &Profile) {
    let entry = |c: &Component, s: usize| {
        let file = plan.steps[s].task.file.as_deref().unwrap_or_default();
        let line = plan.steps[s].task.line.unwrap_or(0);
        profile
            .files
            .iter()
            .position(|e| e.matches(file, line, c.role.as_deref()))
    };
    let skipped = |s: usize| {
        plan.steps[s]
            .task
            .rendered
            .as_ref()
            .is_some_and(|r| r.skipped)
    };
    let mut matched: std::collections::HashMap<usize, usize> = Default::default();
    for c in comps.iter() {
        for t in &c.transitions {
            for &s in t.steps.iter().filter(|&&s| !skipped(s)) {
                if let Some(e) = entry(c, s) {
                    *matched.entry(e).or_default() += 1;
                }
            }
        }
    }
    for c in comps.iter_mut() {
        let shares: Vec<f64> = c
            .transitions
            .iter()
            .map(|t| {
                t.steps
                    .iter()
                    .map(|&s| match entry(c, s) {
                        _ if skipped(s) => 0.0,
                        Some(e) => profile.files[e].seconds / matched[&e] as f64,
                        None => profile.default_task,
                    })
                    .sum()
            })
            .collect();
        for (t, total) in c.transitions.iter_mut().zip(shares) {
            // `+ 0.0`: an empty transition's sum is -0.0 (Rust's float
            // `Sum` starts there), written `-0` otherwise.
            t.duration = (total * 1000.0).round() / 1000.0 + 0.0;
        }
    }
}

/// The component pairs the playbook orders (one play after the other)
/// and the assembly does not, directly or through others.
fn relaxed_orders(
    plan: &steps::Plan,
    effects: &[effects::Effects],
    comps: &[Component],
    deps: &[Dependency],
) -> Vec<Relaxed> {
    let n = comps.len();
    // Where each component's tasks run, delegations included (`None`:
    // somewhere not known).
    let reaches: Vec<Option<BTreeSet<String>>> = comps
        .iter()
        .map(|c| {
            let mut all = BTreeSet::new();
            for s in dependencies::steps_of(c) {
                all.extend(dependencies::step_hosts(plan, effects, s)?);
            }
            Some(all)
        })
        .collect();
    // reach[b] = components b waits for, transitively.
    let mut reach: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for b in 0..n {
        let direct: Vec<usize> = deps
            .iter()
            .filter(|d| d.user == b && d.kind == Kind::Deploy)
            .map(|d| d.provider)
            .collect();
        let mut all = BTreeSet::new();
        for a in direct {
            all.insert(a);
            all.extend(reach[a].iter().copied());
        }
        reach[b] = all;
    }
    let mut out = Vec::new();
    for b in 0..n {
        for a in 0..b {
            if !reach[b].contains(&a) {
                let disjoint = match (&reaches[a], &reaches[b]) {
                    (Some(x), Some(y)) => x.is_disjoint(y),
                    _ => false,
                };
                out.push(Relaxed {
                    before: comps[a].name.clone(),
                    after: comps[b].name.clone(),
                    rule: if disjoint {
                        "disjoint hosts, no data flow".into()
                    } else {
                        "common hosts, no conflicting effects, no evidence of a deploy-time call"
                            .into()
                    },
                });
            }
        }
    }
    out
}

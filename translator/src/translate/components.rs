//! Stage 3: components. One per application (`steps.rs`), named after its
//! role (`name@2` when a role is applied by several plays) or its play;
//! a place after each phase; in each phase, one transition per group of
//! tasks that must keep their order, the groups running in parallel.
//!
//! Two tasks of a phase are in one group when they conflict
//! (`Effects::conflict`), transitively; a guard (`fail`, `assert`,
//! `failed_when`) joins the group of every task after it, two calls to
//! one service (signature `ordered`) join one group, and a probe
//! (`wait_for`, `uri`) that of every task before it that starts or
//! changes a container or service. Phases keep
//! their order: a phase starts when every group of the one before ends.

use std::collections::HashMap;

use super::effects::Effects;
use super::steps::{slug, Plan};

#[derive(Debug, Clone)]
pub struct Component {
    /// `keystone`, `nova@2`, or the play's name as an identifier.
    pub name: String,
    /// Its name in the assembly (`nova@2` → `nova-2`).
    pub instance: String,
    pub role: Option<String>,
    pub play: usize,
    pub hosts: Option<Vec<String>>,
    /// Places, the first `initial` and the last `deployed`.
    pub places: Vec<String>,
    pub transitions: Vec<Transition>,
    pub serial: bool,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub name: String,
    /// Indices into `places`.
    pub from: usize,
    pub to: usize,
    /// Step indices, in run order.
    pub steps: Vec<usize>,
    pub duration: f64,
}

pub fn components(plan: &Plan, effects: &[Effects]) -> Vec<Component> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for app in &plan.apps {
        let n = seen.entry(app.base_name.clone()).or_insert(0);
        *n += 1;
        let (name, instance) = if *n == 1 {
            (app.base_name.clone(), slug(&app.base_name))
        } else {
            (
                format!("{}@{n}", app.base_name),
                format!("{}-{n}", slug(&app.base_name)),
            )
        };
        // Phases: runs of steps with one phase name; a helper role's phase
        // between two runs of one file is part of that file's phase.
        let mut phases: Vec<(String, Vec<usize>)> = Vec::new();
        for &s in &app.steps {
            let p = &plan.steps[s].phase;
            match phases.last_mut() {
                Some((last, list)) if last == p => list.push(s),
                _ => phases.push((p.clone(), vec![s])),
            }
        }
        let mut merged: Vec<(String, Vec<usize>)> = Vec::new();
        for ph in phases {
            let k = merged.len();
            let sandwich = k >= 2
                && merged[k - 2].0 == ph.0
                && ph.0 != "handlers"
                && merged[k - 1]
                    .1
                    .iter()
                    .all(|&s| !plan.steps[s].handler && plan.steps[s].task.role != app.role);
            if sandwich {
                let (_, mid) = merged.pop().expect("k >= 2");
                let last = merged.last_mut().expect("k >= 2");
                last.1.extend(mid);
                last.1.extend(ph.1);
            } else {
                merged.push(ph);
            }
        }
        let mut places = vec!["initial".to_string()];
        let mut transitions = Vec::new();
        let mut used: HashMap<String, usize> = HashMap::new();
        for (phase, steps) in &merged {
            let k = used.entry(phase.clone()).or_insert(0);
            *k += 1;
            let pname = if *k == 1 {
                slug(phase)
            } else {
                format!("{}-{k}", slug(phase))
            };
            let from = places.len() - 1;
            places.push(pname.clone());
            let groups = groups(steps, effects);
            let several = groups.len() > 1;
            for (gi, g) in groups.into_iter().enumerate() {
                let mut name = if several {
                    format!("{pname}_{}", gi + 1)
                } else {
                    pname.clone()
                };
                while transitions.iter().any(|t: &Transition| t.name == name) {
                    name.push('_');
                }
                transitions.push(Transition {
                    name,
                    from,
                    to: from + 1,
                    steps: g,
                    duration: 0.0,
                });
            }
        }
        if transitions.is_empty() {
            places.push("deployed".into());
            transitions.push(Transition {
                name: "deploy".into(),
                from: 0,
                to: 1,
                steps: Vec::new(),
                duration: 0.0,
            });
        } else if let Some(last) = places.last_mut() {
            // The last phase's place is where the component is deployed.
            *last = "deployed".into();
        }
        out.push(Component {
            name,
            instance,
            role: app.role.clone(),
            play: app.play,
            hosts: app.hosts.clone(),
            places,
            transitions,
            serial: app.serial,
        });
    }
    out
}

/// The tasks of one phase, grouped: connected by conflicts, in run order.
fn groups(steps: &[usize], effects: &[Effects]) -> Vec<Vec<usize>> {
    let n = steps.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while p[r] != r {
            r = p[r];
        }
        let mut i = i;
        while p[i] != r {
            let next = p[i];
            p[i] = r;
            i = next;
        }
        r
    }
    for j in 0..n {
        for i in 0..j {
            let (a, b) = (&effects[steps[i]], &effects[steps[j]]);
            let ordered = a.ordered.iter().any(|o| b.ordered.contains(o));
            if a.guard || ordered || (b.probe && a.runs_something()) || a.conflict(b).is_some() {
                let (x, y) = (find(&mut parent, i), find(&mut parent, j));
                parent[x.max(y)] = x.min(y);
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        let r = find(&mut parent, i);
        let g = *index.entry(r).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[g].push(steps[i]);
    }
    out
}

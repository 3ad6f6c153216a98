//! The operational semantics of Madeus/Concerto (model.md §2 and §3) as a
//! pure, deterministic state machine: no I/O, no clock, no randomness.
//!
//! The engine feeds it inputs (a program, finished actions) and calls
//! [`Semantics::settle`], which applies the rules until nothing changes and
//! returns what happened as [`Event`]s. Among them, [`Event::TransitionStarted`]
//! asks the engine to run that transition's action and report back with
//! [`Semantics::action_done`].
//!
//! Order inside `settle` (it matters only for ties at one instant):
//! 1. per component, until stable: enter places (every idset complete at
//!    this point; a second one is absorbed by the token the first brought),
//!    start transitions, leave places whose leaving deactivates no provide port;
//! 2. idle components end their behavior and pop the next one;
//! 3. the program advances past every instruction that can complete;
//! 4. one place whose leaving deactivates a provide port is left, if no
//!    connected use port is in use (the safety rule); then back to 1.
//!
//! So users win ties: a use port acquired at the same instant as a provider
//! wants to leave keeps the provider in place. The performance model
//! (`perf`) implements the same rule.

use crate::model::{
    BehaviorId, Instr, PlaceId, Placement, PortId, PortKind, TransId, TypeIndex, Types,
};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

pub type CompId = usize;
pub type RunId = u64;

/// Everything observable that the semantics does; the journal's vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    InstructionDone {
        index: usize,
        instruction: String,
    },
    /// The program cannot go on (bad instruction at run time).
    InstructionFailed {
        index: usize,
        instruction: String,
        error: String,
    },
    BehaviorStarted {
        component: String,
        behavior: String,
    },
    BehaviorEnded {
        component: String,
        behavior: String,
    },
    PlaceReached {
        component: String,
        place: String,
    },
    PlaceLeft {
        component: String,
        place: String,
    },
    TransitionStarted {
        component: String,
        transition: String,
        behavior: String,
        run: RunId,
    },
    TransitionEnded {
        component: String,
        transition: String,
        behavior: String,
        run: RunId,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    PortEnabled {
        component: String,
        port: String,
    },
    PortDisabled {
        component: String,
        port: String,
    },
    ComponentFailed {
        component: String,
        transition: String,
        error: String,
    },
}

/// Outcome of an action, reported by the engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub error: Option<String>,
    /// Values for data-provide ports of the component, by port name: they
    /// become visible when the port's place is reached.
    pub data: Vec<(String, String)>,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome::default()
    }
    pub fn failed(msg: impl Into<String>) -> Self {
        Outcome {
            error: Some(msg.into()),
            data: Vec::new(),
        }
    }
}

/// A component instance's state.
#[derive(Debug, Clone)]
pub struct Comp {
    pub name: String,
    pub ty: Arc<TypeIndex>,
    /// Token on each place.
    pub marked: Vec<bool>,
    /// Places left during the active behavior (each is left at most once).
    pub left: Vec<bool>,
    /// Per transition: token on its output dock (ready to start).
    pub out_dock: Vec<bool>,
    /// Per transition: its action is running.
    pub running: Vec<bool>,
    /// Per transition: token on its input dock (done, waiting for its idset).
    pub in_dock: Vec<bool>,
    pub active: Option<BehaviorId>,
    pub queue: VecDeque<BehaviorId>,
    pub group_active: Vec<bool>,
    /// Per port: provide port active / data-provide port provided.
    pub providing: Vec<bool>,
    /// Per port: use port currently in use.
    pub in_use: Vec<bool>,
    /// Values written by actions for data-provide ports, and the published ones.
    pub pending_data: HashMap<String, String>,
    pub data: HashMap<PortId, String>,
    pub failed: Option<String>,
    /// Where its actions run (the engine's business; kept with the instance).
    pub placement: Arc<Placement>,
}

impl Comp {
    fn new(name: String, ty: Arc<TypeIndex>) -> Self {
        let (np, nt, ng, nports) = (
            ty.ty.places.len(),
            ty.ty.transitions.len(),
            ty.ty.groups.len(),
            ty.ty.ports.len(),
        );
        Comp {
            name,
            marked: vec![false; np],
            left: vec![false; np],
            out_dock: vec![false; nt],
            running: vec![false; nt],
            in_dock: vec![false; nt],
            active: None,
            queue: VecDeque::new(),
            group_active: vec![false; ng],
            providing: vec![false; nports],
            in_use: vec![false; nports],
            pending_data: HashMap::new(),
            data: HashMap::new(),
            failed: None,
            placement: Arc::default(),
            ty,
        }
    }

    /// Idle: nothing running, no dock token, no place left to leave.
    pub fn is_idle(&self) -> bool {
        if self.running.iter().any(|&r| r)
            || self.out_dock.iter().any(|&d| d)
            || self.in_dock.iter().any(|&d| d)
        {
            return false;
        }
        match self.active {
            None => true,
            Some(b) => !(0..self.marked.len()).any(|p| self.wants_to_leave(b, p)),
        }
    }

    /// Done with everything it was asked: idle, no queued behavior.
    pub fn is_quiet(&self) -> bool {
        self.active.is_none() && self.queue.is_empty() && self.is_idle()
    }

    fn wants_to_leave(&self, b: BehaviorId, p: PlaceId) -> bool {
        self.marked[p] && !self.left[p] && !self.ty.out[b][p].is_empty()
    }

    /// Tokens inside group `g`: marked places in it, and running or docked
    /// transitions whose both ends are in it. `without` pretends a place is
    /// unmarked, `extra_docks` pretends those transitions hold a dock token.
    fn group_has_token(&self, g: usize, without: Option<PlaceId>, extra_docks: &[TransId]) -> bool {
        let ty = &self.ty;
        ty.ty.groups[g]
            .places
            .iter()
            .any(|&p| self.marked[p] && Some(p) != without)
            || ty.group_transitions[g].iter().any(|&t| {
                self.running[t] || self.out_dock[t] || self.in_dock[t] || extra_docks.contains(&t)
            })
    }

    /// Provide ports (not data) active in the current marking, or in the one
    /// after leaving `leaving`.
    fn provide_active(&self, port: PortId, leaving: Option<(PlaceId, &[TransId])>) -> bool {
        use crate::model::Binding;
        let (without, extra): (Option<PlaceId>, &[TransId]) = match leaving {
            Some((p, d)) => (Some(p), d),
            None => (None, &[]),
        };
        self.ty.ty.ports[port].bindings.iter().any(|b| match *b {
            Binding::Place(p) => self.marked[p] && Some(p) != without,
            Binding::Group(g) => self.group_has_token(g, without, extra),
            Binding::Transition(_) => false,
        })
    }

    /// Provide ports that leaving `p` in behavior `b` would deactivate.
    fn deactivated_by_leaving(&self, b: BehaviorId, p: PlaceId) -> Vec<PortId> {
        let docks = &self.ty.out[b][p];
        self.ty
            .ty
            .ports
            .iter()
            .enumerate()
            .filter(|(q, port)| {
                port.kind == PortKind::Provide
                    && self.providing[*q]
                    && !self.provide_active(*q, Some((p, docks)))
            })
            .map(|(q, _)| q)
            .collect()
    }
}

/// A connection, oriented: (user, use port) → (provider, provide port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Conn {
    pub user: CompId,
    pub use_port: PortId,
    pub provider: CompId,
    pub provide_port: PortId,
}

/// Why the run cannot make progress, for reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Blocked {
    pub component: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Semantics {
    types: Types,
    comps: Vec<Option<Comp>>,
    by_name: HashMap<String, CompId>,
    conns: BTreeSet<Conn>,
    /// Connections by (component, port), either side.
    conns_of: HashMap<(CompId, PortId), Vec<Conn>>,
    program: Vec<Instr>,
    pc: usize,
    program_failed: bool,
    runs: HashMap<RunId, (CompId, TransId)>,
    next_run: RunId,
    dirty: BTreeSet<CompId>,
    /// Components that may have become idle.
    maybe_idle: BTreeSet<CompId>,
    /// Components holding a place whose leaving deactivates a provide port.
    pending_leave: BTreeSet<CompId>,
    events: Vec<Event>,
}

impl Semantics {
    pub fn new(types: Types, program: Vec<Instr>) -> Self {
        Semantics {
            types,
            comps: Vec::new(),
            by_name: HashMap::new(),
            conns: BTreeSet::new(),
            conns_of: HashMap::new(),
            program,
            pc: 0,
            program_failed: false,
            runs: HashMap::new(),
            next_run: 0,
            dirty: BTreeSet::new(),
            maybe_idle: BTreeSet::new(),
            pending_leave: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    pub fn component(&self, id: CompId) -> Option<&Comp> {
        self.comps.get(id).and_then(|c| c.as_ref())
    }

    pub fn component_id(&self, name: &str) -> Option<CompId> {
        self.by_name.get(name).copied()
    }

    pub fn components(&self) -> impl Iterator<Item = (CompId, &Comp)> {
        self.comps
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
    }

    pub fn connections(&self) -> impl Iterator<Item = &Conn> {
        self.conns.iter()
    }

    /// The component and transition a run belongs to.
    pub fn run_info(&self, run: RunId) -> Option<(CompId, TransId)> {
        self.runs.get(&run).copied()
    }

    /// Values visible to a running transition through its data-use ports, by port name.
    pub fn data_inputs(&self, comp: CompId, t: TransId) -> Vec<(String, String)> {
        let Some(c) = self.component(comp) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &q in &c.ty.trans_uses[t] {
            for conn in self.conns_of.get(&(comp, q)).into_iter().flatten() {
                if conn.user != comp || conn.use_port != q {
                    continue;
                }
                if let Some(v) = self
                    .component(conn.provider)
                    .and_then(|p| p.data.get(&conn.provide_port))
                {
                    out.push((c.ty.ty.ports[q].name.clone(), v.clone()));
                }
            }
        }
        out
    }

    /// Program fully executed and every component quiet: the run is over.
    pub fn is_finished(&self) -> bool {
        self.pc >= self.program.len() && self.components().all(|(_, c)| c.is_quiet())
    }

    pub fn program_counter(&self) -> usize {
        self.pc
    }

    pub fn running_count(&self) -> usize {
        self.runs.len()
    }

    /// Report an action's end. Call [`Self::settle`] afterwards (once for all
    /// actions that ended at the same instant).
    pub fn action_done(&mut self, run: RunId, outcome: Outcome) {
        let Some((cid, t)) = self.runs.remove(&run) else {
            return;
        };
        let Some(c) = self.comps.get_mut(cid).and_then(|c| c.as_mut()) else {
            return;
        };
        c.running[t] = false;
        let tr = &c.ty.ty.transitions[t];
        let (tname, bname) = (tr.name.clone(), c.ty.ty.behaviors[tr.behavior].clone());
        let ok = outcome.error.is_none();
        self.events.push(Event::TransitionEnded {
            component: c.name.clone(),
            transition: tname.clone(),
            behavior: bname,
            run,
            ok,
            error: outcome.error.clone(),
        });
        c.pending_data.extend(outcome.data);
        match outcome.error {
            None => c.in_dock[t] = true,
            Some(e) => {
                if c.failed.is_none() {
                    c.failed = Some(e.clone());
                    self.events.push(Event::ComponentFailed {
                        component: c.name.clone(),
                        transition: tname,
                        error: e,
                    });
                }
            }
        }
        self.refresh(cid);
        self.touch(cid);
    }

    /// Apply the rules until nothing changes; return what happened.
    pub fn settle(&mut self) -> Vec<Event> {
        loop {
            while let Some(c) = self.dirty.pop_first() {
                self.free_rules(c);
            }
            if self.pop_behaviors() || self.advance_program() {
                continue;
            }
            if self.provider_leave() {
                continue;
            }
            break;
        }
        std::mem::take(&mut self.events)
    }

    /// What each unfinished component, and the program, is waiting for.
    pub fn blocked(&self) -> Vec<Blocked> {
        let mut out = Vec::new();
        for (cid, c) in self.components() {
            if let Some(e) = &c.failed {
                out.push(Blocked {
                    component: c.name.clone(),
                    reason: format!("failed: {e}"),
                });
                continue;
            }
            let Some(b) = c.active else { continue };
            let ty = &c.ty;
            for (t, tr) in ty.ty.transitions.iter().enumerate() {
                if c.out_dock[t] {
                    let missing: Vec<_> = ty.trans_uses[t]
                        .iter()
                        .filter(|&&q| !self.served(cid, q))
                        .map(|&q| ty.ty.ports[q].name.clone())
                        .collect();
                    out.push(Blocked {
                        component: c.name.clone(),
                        reason: format!(
                            "transition `{}` waits for use port(s) {} to be served",
                            tr.name,
                            missing.join(", ")
                        ),
                    });
                }
            }
            for (p, place) in ty.ty.places.iter().enumerate() {
                if c.wants_to_leave(b, p) {
                    let locked: Vec<_> = c
                        .deactivated_by_leaving(b, p)
                        .into_iter()
                        .filter(|&q| self.locked(cid, q))
                        .map(|q| ty.ty.ports[q].name.clone())
                        .collect();
                    if !locked.is_empty() {
                        out.push(Blocked {
                            component: c.name.clone(),
                            reason: format!(
                                "cannot leave `{place}`: provide port(s) {} still in use",
                                locked.join(", ")
                            ),
                        });
                    }
                }
                for set in &ty.idsets[b][p] {
                    if set.iter().any(|&t| c.in_dock[t]) && !set.iter().all(|&t| c.in_dock[t]) {
                        let waiting: Vec<_> = set
                            .iter()
                            .filter(|&&t| !c.in_dock[t])
                            .map(|&t| ty.ty.transitions[t].name.clone())
                            .collect();
                        out.push(Blocked {
                            component: c.name.clone(),
                            reason: format!(
                                "place `{place}` waits for transition(s) {}",
                                waiting.join(", ")
                            ),
                        });
                    } else if set.iter().all(|&t| c.in_dock[t]) {
                        out.push(Blocked {
                            component: c.name.clone(),
                            reason: format!("place `{place}` waits for its use ports to be served"),
                        });
                    }
                }
            }
        }
        if let Some(i) = self.program.get(self.pc) {
            out.push(Blocked {
                component: "(program)".into(),
                reason: format!("instruction {} `{i}` has not completed", self.pc + 1),
            });
        }
        out
    }

    // ---- rules -------------------------------------------------------------

    fn touch(&mut self, c: CompId) {
        self.dirty.insert(c);
        self.maybe_idle.insert(c);
    }

    /// Rules 1-3 of model.md §2 (entering, starting, leaving without
    /// deactivating a provide port) on one component until none applies.
    fn free_rules(&mut self, cid: CompId) {
        loop {
            let Some(c) = self.comp(cid) else { return };
            if c.failed.is_some() {
                return;
            }
            let Some(b) = c.active else { return };
            let ty = c.ty.clone();
            let mut changed = false;

            // Enter places whose idset is complete and whose use ports are served.
            for p in 0..ty.ty.places.len() {
                for set in &ty.idsets[b][p] {
                    let Some(c) = self.comp(cid) else { return };
                    if !set.iter().all(|&t| c.in_dock[t]) {
                        continue;
                    }
                    if c.marked[p] {
                        // Already holding a token (an OR-join's second idset): absorb.
                        let c = self.comp_mut(cid);
                        for &t in set {
                            c.in_dock[t] = false;
                        }
                        changed = true;
                        continue;
                    }
                    let entering_groups: Vec<usize> = ty.place_groups[p]
                        .iter()
                        .copied()
                        .filter(|&g| !c.group_active[g])
                        .collect();
                    let needs = ty.place_uses[p].iter().chain(
                        entering_groups
                            .iter()
                            .flat_map(|&g| ty.group_uses[g].iter()),
                    );
                    if !needs.clone().all(|&q| self.served(cid, q)) {
                        continue;
                    }
                    let c = self.comp_mut(cid);
                    for &t in set {
                        c.in_dock[t] = false;
                    }
                    c.marked[p] = true;
                    let ev = Event::PlaceReached {
                        component: c.name.clone(),
                        place: ty.ty.places[p].clone(),
                    };
                    self.events.push(ev);
                    self.publish_data(cid, p);
                    self.refresh(cid);
                    changed = true;
                    // Other idsets complete now are absorbed by the same token
                    // (the `marked` branch above) before the place can be left.
                }
            }

            // Start transitions whose output dock holds a token and whose ports are served.
            for t in 0..ty.ty.transitions.len() {
                let Some(c) = self.comp(cid) else { return };
                if !c.out_dock[t] || !ty.trans_uses[t].iter().all(|&q| self.served(cid, q)) {
                    continue;
                }
                let run = self.next_run;
                self.next_run += 1;
                self.runs.insert(run, (cid, t));
                let c = self.comp_mut(cid);
                c.out_dock[t] = false;
                c.running[t] = true;
                let tr = &ty.ty.transitions[t];
                let ev = Event::TransitionStarted {
                    component: c.name.clone(),
                    transition: tr.name.clone(),
                    behavior: ty.ty.behaviors[tr.behavior].clone(),
                    run,
                };
                self.events.push(ev);
                self.refresh(cid);
                changed = true;
            }

            // Leave places that deactivate no provide port; defer the others.
            for p in 0..ty.ty.places.len() {
                let Some(c) = self.comp(cid) else { return };
                if !c.wants_to_leave(b, p) {
                    continue;
                }
                if c.deactivated_by_leaving(b, p).is_empty() {
                    self.leave(cid, b, p);
                    changed = true;
                } else {
                    self.pending_leave.insert(cid);
                }
            }

            if !changed {
                return;
            }
            self.maybe_idle.insert(cid);
        }
    }

    fn leave(&mut self, cid: CompId, b: BehaviorId, p: PlaceId) {
        let c = self.comp_mut(cid);
        c.marked[p] = false;
        c.left[p] = true;
        let ty = c.ty.clone();
        for &t in &ty.out[b][p] {
            c.out_dock[t] = true;
        }
        let ev = Event::PlaceLeft {
            component: c.name.clone(),
            place: ty.ty.places[p].clone(),
        };
        self.events.push(ev);
        self.refresh(cid);
    }

    /// Rule 2 for places guarded by a provide port: leave one, if unlocked.
    fn provider_leave(&mut self) -> bool {
        let candidates: Vec<CompId> = self.pending_leave.iter().copied().collect();
        for cid in candidates {
            let Some(c) = self.comp(cid) else {
                self.pending_leave.remove(&cid);
                continue;
            };
            let Some(b) = c.active.filter(|_| c.failed.is_none()) else {
                self.pending_leave.remove(&cid);
                continue;
            };
            let mut still_pending = false;
            for p in 0..c.marked.len() {
                if !c.wants_to_leave(b, p) {
                    continue;
                }
                still_pending = true;
                let ports = c.deactivated_by_leaving(b, p);
                if ports.iter().all(|&q| !self.locked(cid, q)) {
                    self.leave(cid, b, p);
                    self.touch(cid);
                    return true;
                }
            }
            if !still_pending {
                self.pending_leave.remove(&cid);
            }
        }
        false
    }

    /// Idle components end their behavior and start the next queued one.
    fn pop_behaviors(&mut self) -> bool {
        let mut changed = false;
        let candidates = std::mem::take(&mut self.maybe_idle);
        for cid in candidates {
            let Some(c) = self.comp(cid) else { continue };
            if c.failed.is_some() || !c.is_idle() {
                continue;
            }
            let c = self.comp_mut(cid);
            if let Some(b) = c.active.take() {
                let ev = Event::BehaviorEnded {
                    component: c.name.clone(),
                    behavior: c.ty.ty.behaviors[b].clone(),
                };
                self.events.push(ev);
                changed = true;
            }
            let c = self.comp_mut(cid);
            if let Some(b) = c.queue.pop_front() {
                c.active = Some(b);
                c.left.iter_mut().for_each(|l| *l = false);
                let ev = Event::BehaviorStarted {
                    component: c.name.clone(),
                    behavior: c.ty.ty.behaviors[b].clone(),
                };
                self.events.push(ev);
                self.touch(cid);
                changed = true;
            }
        }
        changed
    }

    /// Execute instructions until one blocks (model.md §3).
    fn advance_program(&mut self) -> bool {
        let mut progressed = false;
        while !self.program_failed {
            let Some(instr) = self.program.get(self.pc).cloned() else {
                break;
            };
            match self.try_instr(&instr) {
                Ok(true) => {
                    self.events.push(Event::InstructionDone {
                        index: self.pc,
                        instruction: instr.to_string(),
                    });
                    self.pc += 1;
                    progressed = true;
                }
                Ok(false) => break,
                Err(error) => {
                    self.events.push(Event::InstructionFailed {
                        index: self.pc,
                        instruction: instr.to_string(),
                        error,
                    });
                    self.program_failed = true;
                }
            }
        }
        progressed
    }

    /// Ok(true): done; Ok(false): blocked; Err: cannot be executed.
    fn try_instr(&mut self, instr: &Instr) -> Result<bool, String> {
        match instr {
            Instr::Add {
                name,
                ty,
                placement,
            } => {
                if self.by_name.contains_key(name) {
                    return Err(format!("component `{name}` already exists"));
                }
                let t = self
                    .types
                    .get(ty)
                    .cloned()
                    .ok_or_else(|| format!("unknown component type `{ty}`"))?;
                let cid = self.comps.len();
                let mut c = Comp::new(name.clone(), t.clone());
                c.placement = Arc::new(placement.clone());
                c.marked[t.ty.initial] = true;
                self.comps.push(Some(c));
                self.by_name.insert(name.clone(), cid);
                self.events.push(Event::PlaceReached {
                    component: name.clone(),
                    place: t.ty.places[t.ty.initial].clone(),
                });
                self.publish_data(cid, t.ty.initial);
                self.refresh(cid);
                self.touch(cid);
                Ok(true)
            }
            Instr::Del { name } => {
                let cid = self.lookup(name)?;
                let quiet = self.comp(cid).is_some_and(|c| c.is_quiet());
                let connected = self
                    .conns
                    .iter()
                    .any(|k| k.user == cid || k.provider == cid);
                if !quiet || connected {
                    return Ok(false);
                }
                self.comps[cid] = None;
                self.by_name.remove(name);
                Ok(true)
            }
            Instr::Con { a, b } => {
                let conn = self.orient(a, b)?;
                if self.conns.contains(&conn) {
                    return Err(format!("`{a}` and `{b}` are already connected"));
                }
                self.conns.insert(conn);
                self.conns_of
                    .entry((conn.user, conn.use_port))
                    .or_default()
                    .push(conn);
                self.conns_of
                    .entry((conn.provider, conn.provide_port))
                    .or_default()
                    .push(conn);
                self.touch(conn.user);
                self.touch(conn.provider);
                Ok(true)
            }
            Instr::Dcon { a, b } => {
                let conn = self.orient(a, b)?;
                if !self.conns.contains(&conn) {
                    return Err(format!("`{a}` and `{b}` are not connected"));
                }
                if self
                    .comp(conn.user)
                    .is_some_and(|u| u.in_use[conn.use_port])
                {
                    return Ok(false);
                }
                self.conns.remove(&conn);
                for key in [
                    (conn.user, conn.use_port),
                    (conn.provider, conn.provide_port),
                ] {
                    if let Some(v) = self.conns_of.get_mut(&key) {
                        v.retain(|k| *k != conn);
                    }
                }
                self.touch(conn.user);
                self.touch(conn.provider);
                Ok(true)
            }
            Instr::PushB { name, behavior } => {
                let cid = self.lookup(name)?;
                let c = self.comp_mut(cid);
                let b =
                    c.ty.ty.behavior(behavior).ok_or_else(|| {
                        format!("component `{name}` has no behavior `{behavior}`")
                    })?;
                c.queue.push_back(b);
                self.touch(cid);
                Ok(true)
            }
            Instr::Wait { name } => {
                let cid = self.lookup(name)?;
                Ok(self.comp(cid).is_some_and(|c| c.is_quiet()))
            }
            Instr::WaitAll => Ok(self.components().all(|(_, c)| c.is_quiet())),
        }
    }

    fn lookup(&self, name: &str) -> Result<CompId, String> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| format!("no component named `{name}`"))
    }

    /// Orient `con(a, b)` as (use side, provide side), checking kinds and types.
    fn orient(&self, a: &crate::model::PortRef, b: &crate::model::PortRef) -> Result<Conn, String> {
        let resolve =
            |r: &crate::model::PortRef| -> Result<(CompId, PortId, PortKind, String), String> {
                let cid = self.lookup(&r.component)?;
                let c = self
                    .comp(cid)
                    .ok_or_else(|| format!("no component named `{}`", r.component))?;
                let q =
                    c.ty.ty
                        .port(&r.port)
                        .ok_or_else(|| format!("`{}` has no port `{}`", r.component, r.port))?;
                let port = &c.ty.ty.ports[q];
                Ok((cid, q, port.kind, port.ty.clone()))
            };
        let (ca, qa, ka, ta) = resolve(a)?;
        let (cb, qb, kb, tb) = resolve(b)?;
        let ((uc, uq, uk), (pc, pq, pk)) = if ka.is_use() {
            ((ca, qa, ka), (cb, qb, kb))
        } else {
            ((cb, qb, kb), (ca, qa, ka))
        };
        let fits = matches!(
            (uk, pk),
            (PortKind::Use, PortKind::Provide) | (PortKind::DataUse, PortKind::DataProvide)
        );
        if !fits {
            return Err(format!(
                "cannot connect {} port `{a}` to {} port `{b}`",
                ka.as_str(),
                kb.as_str()
            ));
        }
        if ta != tb {
            return Err(format!(
                "port types differ: `{a}` is `{ta}`, `{b}` is `{tb}`"
            ));
        }
        Ok(Conn {
            user: uc,
            use_port: uq,
            provider: pc,
            provide_port: pq,
        })
    }

    /// A use port is served when one of its connections reaches an active
    /// provide port (or a provided data port).
    fn served(&self, cid: CompId, q: PortId) -> bool {
        self.conns_of.get(&(cid, q)).into_iter().flatten().any(|k| {
            k.user == cid
                && k.use_port == q
                && self
                    .comp(k.provider)
                    .is_some_and(|p| p.providing[k.provide_port])
        })
    }

    /// A provide port is locked while a connected use port is in use.
    fn locked(&self, cid: CompId, q: PortId) -> bool {
        self.conns_of.get(&(cid, q)).into_iter().flatten().any(|k| {
            k.provider == cid
                && k.provide_port == q
                && self.comp(k.user).is_some_and(|u| u.in_use[k.use_port])
        })
    }

    fn publish_data(&mut self, cid: CompId, p: PlaceId) {
        let Some(c) = self.comps.get_mut(cid).and_then(|c| c.as_mut()) else {
            return;
        };
        let ports = c.ty.place_data_provides[p].clone();
        for q in ports {
            let name = &c.ty.ty.ports[q].name;
            if let Some(v) = c.pending_data.get(name) {
                c.data.insert(q, v.clone());
            }
        }
    }

    /// Recompute what derives from the marking (group activity, provide
    /// ports, use ports in use), emit port events and wake neighbours.
    fn refresh(&mut self, cid: CompId) {
        use crate::model::Binding;
        let Some(c) = self.comps.get_mut(cid).and_then(|c| c.as_mut()) else {
            return;
        };
        let ty = c.ty.clone();
        for g in 0..ty.ty.groups.len() {
            c.group_active[g] = c.group_has_token(g, None, &[]);
        }
        let mut wake = Vec::new();
        for (q, port) in ty.ty.ports.iter().enumerate() {
            match port.kind {
                PortKind::Provide | PortKind::DataProvide => {
                    let now = if port.kind == PortKind::DataProvide {
                        // Provided forever once a bound place has been reached.
                        c.providing[q]
                            || port
                                .bindings
                                .iter()
                                .any(|b| matches!(*b, Binding::Place(p) if c.marked[p]))
                    } else {
                        c.provide_active(q, None)
                    };
                    if now != c.providing[q] {
                        c.providing[q] = now;
                        self.events.push(if now {
                            Event::PortEnabled {
                                component: c.name.clone(),
                                port: port.name.clone(),
                            }
                        } else {
                            Event::PortDisabled {
                                component: c.name.clone(),
                                port: port.name.clone(),
                            }
                        });
                        wake.push(q);
                    }
                }
                PortKind::Use | PortKind::DataUse => {
                    let now = port.bindings.iter().any(|b| match *b {
                        Binding::Transition(t) => c.running[t],
                        Binding::Place(p) => c.marked[p],
                        Binding::Group(g) => c.group_active[g],
                    });
                    if now != c.in_use[q] {
                        c.in_use[q] = now;
                        if !now {
                            wake.push(q);
                        }
                    }
                }
            }
        }
        for q in wake {
            let others: Vec<CompId> = self
                .conns_of
                .get(&(cid, q))
                .into_iter()
                .flatten()
                .map(|k| if k.user == cid { k.provider } else { k.user })
                .collect();
            for o in others {
                self.dirty.insert(o);
            }
        }
    }

    fn comp(&self, cid: CompId) -> Option<&Comp> {
        self.comps.get(cid).and_then(|c| c.as_ref())
    }

    /// Only called on ids known to be live (checked by the caller).
    fn comp_mut(&mut self, cid: CompId) -> &mut Comp {
        self.comps[cid]
            .as_mut()
            .unwrap_or_else(|| unreachable!("component {cid} checked live by caller"))
    }
}

#[cfg(test)]
pub(crate) mod tests;

//! The performance model (model.md §4): the makespan of a deployment or of a
//! reconfiguration program is the longest path in a weighted dependency
//! graph whose vertices are instruction completions, behavior starts and
//! ends, place entries and leaves, and transition starts and ends.
//!
//! Structural arcs come from the component types (`leave(src) → start(θ)`
//! weight 0, `start(θ) → end(θ)` weight d(θ), `end(θ) → enter(dst)`, idsets
//! as AND, several idsets as OR, behavior queues, the program's sync chain).
//! Port arcs (`enable(p) → start(θ)`, `use stops → provider may leave`) are
//! resolved by evaluating vertices in time order, because which activation of
//! a provide port serves a use depends on when it happens. Each vertex
//! records the arc that set its time; following those from the last vertex
//! gives the critical path. Vertices that never get a time are a deadlock,
//! reported as the cycle of waits among them.
//!
//! Ties at one instant follow the semantics' rule: entries and starts
//! first, then leaves, and a place whose leaving disables a provide port
//! after everything else that can happen at that instant. This module shares no code with `semantics`: agreement of
//! the two (tests, `run --simulate` vs `predict`) checks both.

use crate::durations::Durations;
use crate::gantt::{Bar, Timeline};
use crate::model::{
    BehaviorId, Binding, Instr, PlaceId, PortId, PortKind, Runnable, TransId, TypeIndex,
};
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How components are coordinated (model.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Coordination {
    /// Madeus/Concerto: everything that may run in parallel does.
    Concerto,
    /// Components in parallel, but each runs one transition at a time.
    Aeolus,
}

/// A vertex of the dependency graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum V {
    Instr(usize),
    BStart(usize),
    BEnd(usize),
    /// Entry into a place through one idset (index into the type's idset list).
    Enter(usize, PlaceId, usize),
    Leave(usize, PlaceId),
    Start(usize, TransId),
    End(usize, TransId),
}

/// One step of the critical path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub at: f64,
    pub what: String,
    /// Time spent on the arc into this step (a transition's duration, or a wait).
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadlock {
    /// Elements waiting on each other in a cycle (empty when the run is stuck
    /// on something that never happens rather than on a cycle).
    pub cycle: Vec<String>,
    /// Everything that never happened, with what it waits for.
    pub stuck: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Prediction {
    pub makespan: Duration,
    pub critical_path: Vec<Step>,
    pub timeline: Timeline,
    pub deadlock: Option<Deadlock>,
    /// Vertices with their times and incoming arcs, for `concerto graph`
    /// (filled by [`predict_graph`] only).
    pub graph: Vec<(String, Option<f64>, Vec<(String, f64)>)>,
    /// Every transition execution, in start order.
    pub runs: Vec<TransitionRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRun {
    pub component: String,
    pub ty: String,
    pub transition: String,
    pub start: Duration,
    pub duration: Duration,
}

/// One component instance as the model sees it.
struct Inst {
    name: String,
    ty: Arc<TypeIndex>,
    /// Behavior occurrences, in push order.
    occs: Vec<usize>,
    // Current state, as of the evaluation time.
    marked: Vec<bool>,
    running: Vec<bool>,
    /// Transitions holding a dock token (left their source, not yet absorbed by an entry).
    docked: Vec<bool>,
    data_provided: Vec<bool>,
    alive: bool,
}

struct Occ {
    comp: usize,
    b: BehaviorId,
    /// Places marked when the behavior starts (filled at BStart).
    start_marking: Vec<bool>,
    /// Places left / transitions fired in this occurrence (structural).
    leaves: Vec<PlaceId>,
    fired: Vec<TransId>,
    entries: Vec<(PlaceId, usize)>,
    left: Vec<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Join {
    All,
    Any,
}

struct Node {
    preds: Vec<(V, Duration)>,
    join: Join,
    remaining: usize,
    candidate: Option<(Duration, Option<(V, Duration)>)>,
    time: Option<Duration>,
    cause: Option<(V, Duration)>,
}

/// FxHash (rustc's): the maps here are keyed by small integers and hashed
/// hundreds of thousands of times; SipHash's DoS resistance buys nothing.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

struct Eval<'a> {
    runnable: &'a Runnable,
    durations: &'a Durations,
    coordination: Coordination,
    insts: Vec<Inst>,
    occs: Vec<Occ>,
    nodes: FxMap<V, Node>,
    /// Successors with the arc's weight.
    succs: FxMap<V, Vec<(V, Duration)>>,
    /// (user, use port, provider, provide port) present now.
    conns: BTreeSet<(usize, PortId, usize, PortId)>,
    /// The same connections by each of their two components.
    conns_of: HashMap<usize, BTreeSet<(usize, PortId, usize, PortId)>>,
    agenda: BinaryHeap<Reverse<(Duration, u8, V)>>,
    /// Vertices waiting for a state change of a component, by component.
    parked: FxMap<usize, BTreeSet<V>>,
    now: Duration,
    /// Per instruction, the instance(s) it names, resolved in program order:
    /// `add`/`del`/`pushB`/`wait` one, `con`/`dcon` (user, use port, provider, provide port).
    operand: Vec<Operand>,
}

#[derive(Clone, Copy)]
enum Operand {
    None,
    Comp(usize),
    Conn((usize, PortId, usize, PortId)),
}

/// Predict a run. Durations come from `durations` exactly as a simulated run draws them.
pub fn predict(r: &Runnable, d: &Durations, coordination: Coordination) -> Prediction {
    evaluate(r, d, coordination, false)
}

/// [`predict`], also filling [`Prediction::graph`] (names every vertex).
pub fn predict_graph(r: &Runnable, d: &Durations, coordination: Coordination) -> Prediction {
    evaluate(r, d, coordination, true)
}

fn evaluate(
    runnable: &Runnable,
    durations: &Durations,
    coordination: Coordination,
    with_graph: bool,
) -> Prediction {
    let mut ev = Eval {
        runnable,
        durations,
        coordination,
        insts: Vec::new(),
        occs: Vec::new(),
        nodes: FxMap::default(),
        succs: FxMap::default(),
        conns: BTreeSet::new(),
        conns_of: HashMap::new(),
        agenda: BinaryHeap::new(),
        parked: FxMap::default(),
        now: Duration::ZERO,
        operand: Vec::new(),
    };
    ev.unfold_program();
    ev.run();
    ev.finish(with_graph)
}

/// The Ansible-model makespan (model.md §4): the transitions of the run, one
/// after another in the order they start under Concerto; the same transition
/// of instances of one type, at the same repetition, is one task across
/// hosts and lasts as long as the slowest of them.
pub fn ansible_baseline(p: &Prediction) -> Duration {
    // (type, transition, n-th execution on its component) -> slowest duration
    let mut tasks: BTreeMap<(&str, &str, usize), Duration> = BTreeMap::new();
    let mut nth: HashMap<(&str, &str), usize> = HashMap::new();
    for r in &p.runs {
        let n = nth.entry((&r.component, &r.transition)).or_insert(0);
        *n += 1;
        let d = tasks.entry((&r.ty, &r.transition, *n)).or_default();
        *d = (*d).max(r.duration);
    }
    tasks.values().sum()
}

impl<'a> Eval<'a> {
    // ---- building the graph ---------------------------------------------

    fn node(&mut self, v: V, join: Join, preds: Vec<(V, Duration)>) {
        for (p, w) in &preds {
            self.succs.entry(*p).or_default().push((v, *w));
        }
        let remaining = match join {
            Join::All => preds.len(),
            Join::Any => usize::from(!preds.is_empty()),
        };
        self.nodes.insert(
            v,
            Node {
                preds,
                join,
                remaining,
                candidate: None,
                time: None,
                cause: None,
            },
        );
    }

    /// The program's sync chain and behavior occurrences. Occurrence bodies
    /// are added when they start (their shape depends on the marking then).
    fn unfold_program(&mut self) {
        let mut live: HashMap<String, usize> = HashMap::new();
        let mut last_occ: HashMap<usize, usize> = HashMap::new();
        let program = &self.runnable.program;
        for (i, instr) in program.iter().enumerate() {
            let mut preds = Vec::new();
            if i > 0 {
                preds.push((V::Instr(i - 1), Duration::ZERO));
            }
            let mut operand = Operand::None;
            match instr {
                Instr::Add { name, ty, .. } => {
                    if let Some(t) = self.runnable.types.get(ty) {
                        let id = self.insts.len();
                        self.insts.push(Inst::new(name.clone(), t.clone()));
                        live.insert(name.clone(), id);
                        operand = Operand::Comp(id);
                    }
                }
                Instr::Del { name } => {
                    if let Some(id) = live.remove(name) {
                        if let Some(&o) = last_occ.get(&id) {
                            preds.push((V::BEnd(o), Duration::ZERO));
                        }
                        operand = Operand::Comp(id);
                    }
                }
                Instr::Con { a, b } | Instr::Dcon { a, b } => {
                    if let Some(k) = self.orient(&live, a, b) {
                        operand = Operand::Conn(k);
                    }
                }
                Instr::PushB { name, behavior } => {
                    if let Some(&id) = live.get(name) {
                        if let Some(b) = self.insts[id].ty.ty.behavior(behavior) {
                            let o = self.occs.len();
                            let prev = last_occ.insert(id, o);
                            let np = self.insts[id].ty.ty.places.len();
                            self.occs.push(Occ {
                                comp: id,
                                b,
                                start_marking: vec![false; np],
                                leaves: Vec::new(),
                                fired: Vec::new(),
                                entries: Vec::new(),
                                left: vec![false; np],
                            });
                            self.insts[id].occs.push(o);
                            let mut bp = vec![(V::Instr(i), Duration::ZERO)];
                            if let Some(p) = prev {
                                bp.push((V::BEnd(p), Duration::ZERO));
                            }
                            self.node(V::BStart(o), Join::All, bp);
                        }
                    }
                }
                Instr::Wait { name } => {
                    if let Some(o) = live.get(name).and_then(|id| last_occ.get(id)) {
                        preds.push((V::BEnd(*o), Duration::ZERO));
                    }
                }
                Instr::WaitAll => {
                    for id in live.values() {
                        if let Some(o) = last_occ.get(id) {
                            preds.push((V::BEnd(*o), Duration::ZERO));
                        }
                    }
                }
            }
            self.operand.push(operand);
            self.node(V::Instr(i), Join::All, preds);
        }
        if !program.is_empty() {
            self.push(V::Instr(0), Duration::ZERO, None);
        }
        // Components never asked to do anything end with the program; the
        // run ends when every pushed occurrence has ended (implicit waitAll).
    }

    /// Add the vertices of occurrence `o`, given the marking at its start.
    fn unfold_occurrence(&mut self, o: usize) {
        let comp = self.occs[o].comp;
        let ty = self.insts[comp].ty.clone();
        let b = self.occs[o].b;
        let marking = self.insts[comp].marked.clone();
        self.occs[o].start_marking = marking.clone();
        // Structural firing: a place is left once if it has output docks;
        // each transition fires once; an idset completes when all its
        // transitions fire. Iterate to a fixed point.
        let np = ty.ty.places.len();
        let mut reached = marking.clone();
        let mut left = vec![false; np];
        let mut fired = vec![false; ty.ty.transitions.len()];
        let mut entries = Vec::new();
        let mut seen_entry = BTreeSet::new();
        loop {
            let mut changed = false;
            for p in 0..np {
                if reached[p] && !left[p] && !ty.out[b][p].is_empty() {
                    left[p] = true;
                    for &t in &ty.out[b][p] {
                        fired[t] = true;
                    }
                    changed = true;
                }
            }
            for p in 0..np {
                for (i, set) in ty.idsets[b][p].iter().enumerate() {
                    if set.iter().all(|&t| fired[t]) && seen_entry.insert((p, i)) {
                        entries.push((p, i));
                        reached[p] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let leaves: Vec<PlaceId> = (0..np).filter(|&p| left[p]).collect();
        let fired_list: Vec<TransId> = (0..fired.len()).filter(|&t| fired[t]).collect();

        let mut all = vec![(V::BStart(o), Duration::ZERO)];
        for &p in &leaves {
            let mut preds = Vec::new();
            if marking[p] {
                preds.push((V::BStart(o), Duration::ZERO));
            }
            for &(q, i) in &entries {
                if q == p {
                    preds.push((V::Enter(o, p, i), Duration::ZERO));
                }
            }
            self.node(V::Leave(o, p), Join::Any, preds);
            all.push((V::Leave(o, p), Duration::ZERO));
        }
        for &t in &fired_list {
            let src = ty.ty.transitions[t].src;
            self.node(
                V::Start(o, t),
                Join::All,
                vec![(V::Leave(o, src), Duration::ZERO)],
            );
            let d = self.durations.of(&self.insts[comp].name, &ty, t);
            self.node(V::End(o, t), Join::All, vec![(V::Start(o, t), d)]);
            all.push((V::End(o, t), Duration::ZERO));
        }
        for &(p, i) in &entries {
            let preds = ty.idsets[b][p][i]
                .iter()
                .map(|&t| (V::End(o, t), Duration::ZERO))
                .collect();
            self.node(V::Enter(o, p, i), Join::All, preds);
            all.push((V::Enter(o, p, i), Duration::ZERO));
        }
        // A fired transition whose idset never completes leaves a token on
        // its dock forever: the component never becomes idle.
        for &t in &fired_list {
            let dst = ty.ty.transitions[t].dst;
            let completes = ty.idsets[b][dst]
                .iter()
                .enumerate()
                .any(|(i, set)| set.contains(&t) && seen_entry.contains(&(dst, i)));
            if !completes {
                all.push((V::Enter(o, dst, usize::MAX), Duration::ZERO));
            }
        }
        self.occs[o].leaves = leaves;
        self.occs[o].fired = fired_list;
        self.occs[o].entries = entries;
        // Later vertices already point at BEnd (succs); give it its preds now.
        self.node(V::BEnd(o), Join::All, all);
    }

    // ---- evaluation ------------------------------------------------------

    fn push(&mut self, v: V, at: Duration, cause: Option<(V, Duration)>) {
        if let Some(n) = self.nodes.get_mut(&v) {
            n.candidate = Some((at, cause));
        }
        self.agenda.push(Reverse((at, 0, v)));
    }

    fn run(&mut self) {
        while let Some(Reverse((at, class, v))) = self.agenda.pop() {
            let Some(node) = self.nodes.get(&v) else {
                continue;
            };
            if node.time.is_some() {
                continue;
            }
            self.now = self.now.max(at);
            match self.try_fire(v, class) {
                Fired::Yes => {}
                Fired::Later => {
                    // Leaves wait for everything else at this instant: free
                    // leaves (class 1), then those disabling a provide port (2).
                    self.agenda.push(Reverse((self.now, class + 1, v)));
                }
                Fired::Blocked(keys) => {
                    for k in keys {
                        self.parked.entry(k).or_default().insert(v);
                    }
                }
            }
        }
    }

    fn fire(&mut self, v: V) {
        let now = self.now;
        let node = self.nodes.get_mut(&v).unwrap_or_else(|| unreachable!());
        node.time = Some(now);
        // A vertex released from waiting on a port has the releasing vertex
        // as its candidate cause (see `wake`).
        node.cause = node
            .candidate
            .and_then(|(t, c)| (t == now).then_some(c).flatten());
        // Each vertex fires once: its successor list is no longer needed.
        let succs = self.succs.remove(&v).unwrap_or_default();
        for (s, w) in succs {
            let Some(n) = self.nodes.get_mut(&s) else {
                continue;
            };
            if n.time.is_some() || n.remaining == 0 {
                continue;
            }
            let t = now + w;
            let better = match (n.join, n.candidate) {
                (_, None) => true,
                (Join::All, Some((c, _))) => t >= c,
                (Join::Any, Some(_)) => false,
            };
            if better {
                n.candidate = Some((t, Some((v, w))));
            }
            n.remaining -= 1;
            if n.join == Join::Any {
                n.remaining = 0;
            }
            if n.remaining == 0 {
                let (t, c) = n.candidate.unwrap_or((t, Some((v, w))));
                self.push(s, t, c);
            }
        }
    }

    /// Release vertices parked on component `c`'s state.
    fn wake(&mut self, c: usize, by: V) {
        if let Some(set) = self.parked.remove(&c) {
            for v in set {
                if let Some(n) = self.nodes.get_mut(&v) {
                    if n.time.is_none() {
                        n.candidate = Some((self.now, Some((by, Duration::ZERO))));
                        self.agenda.push(Reverse((self.now, 0, v)));
                    }
                }
            }
        }
    }

    fn try_fire(&mut self, v: V, class: u8) -> Fired {
        match v {
            V::Instr(i) => self.try_instr(v, i),
            V::BStart(o) => {
                let c = self.occs[o].comp;
                self.unfold_occurrence(o);
                self.fire(v);
                // Provide ports keep their state; the new behavior's vertices follow.
                self.wake(c, v);
                Fired::Yes
            }
            V::BEnd(o) => {
                self.fire(v);
                self.wake(self.occs[o].comp, v);
                Fired::Yes
            }
            V::Start(o, t) => {
                let c = self.occs[o].comp;
                let ty = self.insts[c].ty.clone();
                if self.coordination == Coordination::Aeolus
                    && self.insts[c].running.iter().any(|&r| r)
                {
                    return Fired::Blocked(vec![c]);
                }
                let unserved: Vec<usize> = ty.trans_uses[t]
                    .iter()
                    .filter(|&&q| !self.served(c, q))
                    .flat_map(|&q| self.providers_of(c, q))
                    .collect();
                if ty.trans_uses[t].iter().any(|&q| !self.served(c, q)) {
                    return Fired::Blocked(unserved.into_iter().chain([c]).collect());
                }
                let inst = &mut self.insts[c];
                inst.docked[t] = false;
                inst.running[t] = true;
                self.fire(v);
                self.state_changed(c, v);
                Fired::Yes
            }
            V::End(o, t) => {
                let c = self.occs[o].comp;
                let inst = &mut self.insts[c];
                inst.running[t] = false;
                inst.docked[t] = true;
                self.fire(v);
                self.state_changed(c, v);
                Fired::Yes
            }
            V::Enter(o, p, i) => {
                let c = self.occs[o].comp;
                let ty = self.insts[c].ty.clone();
                let b = self.occs[o].b;
                let set = &ty.idsets[b][p][i];
                if self.insts[c].marked[p] {
                    // Absorbed by a place already holding a token.
                    for &t in set {
                        self.insts[c].docked[t] = false;
                    }
                    self.fire(v);
                    self.state_changed(c, v);
                    return Fired::Yes;
                }
                let groups: Vec<usize> = ty.place_groups[p]
                    .iter()
                    .copied()
                    .filter(|&g| !self.group_active(c, g, None, &[]))
                    .collect();
                let needs: Vec<PortId> = ty.place_uses[p]
                    .iter()
                    .chain(groups.iter().flat_map(|&g| ty.group_uses[g].iter()))
                    .copied()
                    .collect();
                if needs.iter().any(|&q| !self.served(c, q)) {
                    let keys = needs
                        .iter()
                        .flat_map(|&q| self.providers_of(c, q))
                        .chain([c])
                        .collect();
                    return Fired::Blocked(keys);
                }
                let inst = &mut self.insts[c];
                for &t in set {
                    inst.docked[t] = false;
                }
                inst.marked[p] = true;
                for &q in &ty.place_data_provides[p] {
                    inst.data_provided[q] = true;
                }
                self.fire(v);
                self.state_changed(c, v);
                Fired::Yes
            }
            V::Leave(o, p) => {
                let c = self.occs[o].comp;
                let ty = self.insts[c].ty.clone();
                let b = self.occs[o].b;
                let docks = ty.out[b][p].clone();
                let disabled: Vec<PortId> = (0..ty.ty.ports.len())
                    .filter(|&q| {
                        ty.ty.ports[q].kind == PortKind::Provide
                            && self.provide_active(c, q, None, &[])
                            && !self.provide_active(c, q, Some(p), &docks)
                    })
                    .collect();
                if class == 0 || (class == 1 && !disabled.is_empty()) {
                    return Fired::Later;
                }
                if !disabled.is_empty() {
                    let users: Vec<usize> = disabled
                        .iter()
                        .flat_map(|&q| self.users_in_use(c, q))
                        .collect();
                    if !users.is_empty() {
                        // Released by a user stopping, or by this component
                        // keeping the port active some other way.
                        return Fired::Blocked(users.into_iter().chain([c]).collect());
                    }
                }
                let inst = &mut self.insts[c];
                inst.marked[p] = false;
                for &t in &docks {
                    inst.docked[t] = true;
                }
                self.occs[o].left[p] = true;
                self.fire(v);
                self.state_changed(c, v);
                Fired::Yes
            }
        }
    }

    fn try_instr(&mut self, v: V, i: usize) -> Fired {
        match (&self.runnable.program[i], self.operand[i]) {
            (Instr::Add { .. }, Operand::Comp(id)) => {
                let inst = &mut self.insts[id];
                inst.alive = true;
                let init = inst.ty.ty.initial;
                inst.marked[init] = true;
                for &q in &inst.ty.place_data_provides[init] {
                    inst.data_provided[q] = true;
                }
            }
            (Instr::Del { .. }, Operand::Comp(id)) => {
                if self.conns_of.get(&id).is_some_and(|c| !c.is_empty()) {
                    return Fired::Blocked(vec![id]);
                }
                self.insts[id].alive = false;
            }
            (Instr::Con { .. }, Operand::Conn(k)) => {
                self.conns.insert(k);
                self.conns_of.entry(k.0).or_default().insert(k);
                self.conns_of.entry(k.2).or_default().insert(k);
                self.fire(v);
                self.wake(k.0, v);
                self.wake(k.2, v);
                return Fired::Yes;
            }
            (Instr::Dcon { .. }, Operand::Conn(k)) => {
                if self.in_use(k.0, k.1) {
                    return Fired::Blocked(vec![k.0]);
                }
                self.conns.remove(&k);
                for c in [k.0, k.2] {
                    if let Some(set) = self.conns_of.get_mut(&c) {
                        set.remove(&k);
                    }
                }
                self.fire(v);
                self.wake(k.0, v);
                self.wake(k.2, v);
                return Fired::Yes;
            }
            _ => {}
        }
        self.fire(v);
        Fired::Yes
    }

    fn orient(
        &self,
        live: &HashMap<String, usize>,
        a: &crate::model::PortRef,
        b: &crate::model::PortRef,
    ) -> Option<(usize, PortId, usize, PortId)> {
        let ca = *live.get(&a.component)?;
        let cb = *live.get(&b.component)?;
        let qa = self.insts[ca].ty.ty.port(&a.port)?;
        let qb = self.insts[cb].ty.ty.port(&b.port)?;
        if self.insts[ca].ty.ty.ports[qa].kind.is_use() {
            Some((ca, qa, cb, qb))
        } else {
            Some((cb, qb, ca, qa))
        }
    }

    /// A vertex waiting on a port is parked on the components whose change
    /// can release it (providers for a use, users for a lock, itself for
    /// Aeolus and new connections): waking `c` alone is enough.
    fn state_changed(&mut self, c: usize, by: V) {
        self.wake(c, by);
    }

    // ---- state predicates -------------------------------------------------

    fn group_active(
        &self,
        c: usize,
        g: usize,
        without: Option<PlaceId>,
        extra: &[TransId],
    ) -> bool {
        let inst = &self.insts[c];
        let ty = &inst.ty;
        ty.ty.groups[g]
            .places
            .iter()
            .any(|&p| inst.marked[p] && Some(p) != without)
            || ty.group_transitions[g]
                .iter()
                .any(|&t| inst.running[t] || inst.docked[t] || extra.contains(&t))
    }

    fn provide_active(
        &self,
        c: usize,
        q: PortId,
        without: Option<PlaceId>,
        extra: &[TransId],
    ) -> bool {
        let inst = &self.insts[c];
        if !inst.alive {
            return false;
        }
        let port = &inst.ty.ty.ports[q];
        if port.kind == PortKind::DataProvide {
            return inst.data_provided[q];
        }
        port.bindings.iter().any(|b| match *b {
            Binding::Place(p) => inst.marked[p] && Some(p) != without,
            Binding::Group(g) => self.group_active(c, g, without, extra),
            Binding::Transition(_) => false,
        })
    }

    fn in_use(&self, c: usize, q: PortId) -> bool {
        let inst = &self.insts[c];
        inst.ty.ty.ports[q].bindings.iter().any(|b| match *b {
            Binding::Transition(t) => inst.running[t],
            Binding::Place(p) => inst.marked[p],
            Binding::Group(g) => self.group_active(c, g, None, &[]),
        })
    }

    fn served(&self, c: usize, q: PortId) -> bool {
        self.conns
            .range((c, q, 0, 0)..=(c, q, usize::MAX, usize::MAX))
            .any(|k| self.provide_active(k.2, k.3, None, &[]))
    }

    fn providers_of(&self, c: usize, q: PortId) -> Vec<usize> {
        self.conns
            .range((c, q, 0, 0)..=(c, q, usize::MAX, usize::MAX))
            .map(|k| k.2)
            .collect()
    }

    fn users_in_use(&self, c: usize, q: PortId) -> Vec<usize> {
        self.conns_of
            .get(&c)
            .into_iter()
            .flatten()
            .filter(|k| k.2 == c && k.3 == q && self.in_use(k.0, k.1))
            .map(|k| k.0)
            .collect()
    }

    // ---- results -----------------------------------------------------------

    fn name(&self, v: V) -> String {
        let occ = |o: usize| {
            let oc = &self.occs[o];
            let inst = &self.insts[oc.comp];
            (inst, inst.ty.ty.behaviors[oc.b].as_str())
        };
        match v {
            V::Instr(i) => format!("instruction {} `{}`", i + 1, self.runnable.program[i]),
            V::BStart(o) => {
                let (i, b) = occ(o);
                format!("{}: start behavior {b}", i.name)
            }
            V::BEnd(o) => {
                let (i, b) = occ(o);
                format!("{}: end behavior {b}", i.name)
            }
            V::Enter(o, p, _) => {
                let (i, _) = occ(o);
                format!("{}: enter {}", i.name, i.ty.ty.places[p])
            }
            V::Leave(o, p) => {
                let (i, _) = occ(o);
                format!("{}: leave {}", i.name, i.ty.ty.places[p])
            }
            V::Start(o, t) => {
                let (i, _) = occ(o);
                format!("{}: start {}", i.name, i.ty.ty.transitions[t].name)
            }
            V::End(o, t) => {
                let (i, _) = occ(o);
                format!("{}: end {}", i.name, i.ty.ty.transitions[t].name)
            }
        }
    }

    fn finish(mut self, with_graph: bool) -> Prediction {
        let fired: Vec<(V, Duration)> = self
            .nodes
            .iter()
            .filter_map(|(v, n)| n.time.map(|t| (*v, t)))
            .collect();
        let makespan = fired.iter().map(|(_, t)| *t).max().unwrap_or_default();
        // Critical path: from the latest vertex back along causes.
        let last = fired
            .iter()
            .filter(|(_, t)| *t == makespan)
            .map(|(v, _)| *v)
            .max_by_key(|v| match v {
                V::Instr(i) => (3, *i),
                V::BEnd(o) => (2, *o),
                _ => (1, 0),
            });
        let mut path = Vec::new();
        let mut critical = BTreeSet::new();
        let mut cur = last;
        let mut guard = 0usize;
        while let Some(v) = cur {
            guard += 1;
            if guard > self.nodes.len() + 1 {
                break;
            }
            let n = &self.nodes[&v];
            let w = n.cause.map(|(_, w)| w).unwrap_or_default();
            if let V::End(o, t) = v {
                critical.insert((o, t));
            }
            if matches!(v, V::End(..) | V::Start(..) | V::Instr(..)) || w > Duration::ZERO {
                path.push(Step {
                    at: n.time.unwrap_or_default().as_secs_f64(),
                    what: self.name(v),
                    weight: w.as_secs_f64(),
                });
            }
            cur = n.cause.map(|(p, _)| p);
        }
        path.reverse();

        let mut bars = Vec::new();
        let mut runs = Vec::new();
        for (o, occ) in self.occs.iter().enumerate() {
            let inst = &self.insts[occ.comp];
            for &t in &occ.fired {
                let (Some(s), Some(e)) = (
                    self.nodes.get(&V::Start(o, t)).and_then(|n| n.time),
                    self.nodes.get(&V::End(o, t)).and_then(|n| n.time),
                ) else {
                    continue;
                };
                runs.push(TransitionRun {
                    component: inst.name.clone(),
                    ty: inst.ty.ty.name.clone(),
                    transition: inst.ty.ty.transitions[t].name.clone(),
                    start: s,
                    duration: e - s,
                });
                bars.push(Bar {
                    component: inst.name.clone(),
                    transition: inst.ty.ty.transitions[t].name.clone(),
                    behavior: inst.ty.ty.behaviors[occ.b].clone(),
                    start: s.as_secs_f64(),
                    end: e.as_secs_f64(),
                    critical: critical.contains(&(o, t)),
                    failed: false,
                });
            }
        }
        bars.sort_by(|a, b| {
            a.start
                .total_cmp(&b.start)
                .then(a.component.cmp(&b.component))
        });
        runs.sort_by(|a, b| a.start.cmp(&b.start).then(a.component.cmp(&b.component)));

        let deadlock = self.deadlock();
        let ordered: BTreeMap<V, &Node> = if with_graph {
            self.nodes.iter().map(|(v, n)| (*v, n)).collect()
        } else {
            BTreeMap::new()
        };
        let graph = ordered
            .iter()
            .map(|(v, n)| {
                let preds = n
                    .preds
                    .iter()
                    .filter(|(p, _)| self.nodes.contains_key(p))
                    .map(|(p, w)| (self.name(*p), w.as_secs_f64()))
                    .collect();
                (self.name(*v), n.time.map(|t| t.as_secs_f64()), preds)
            })
            .collect();
        self.agenda.clear();
        Prediction {
            makespan,
            critical_path: path,
            timeline: Timeline {
                title: "predicted".into(),
                makespan: makespan.as_secs_f64(),
                bars,
            },
            deadlock,
            graph,
            runs,
        }
    }

    /// Vertices that never fired, and a cycle among their waits if any.
    fn deadlock(&self) -> Option<Deadlock> {
        let unfired: Vec<V> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.time.is_none())
            .map(|(v, _)| *v)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if unfired.is_empty() {
            return None;
        }
        // Wait-for edges: unfired structural preds, and for parked vertices
        // the unfired vertices of the components they are parked on.
        let mut g = petgraph::graph::DiGraph::<V, ()>::new();
        let idx: HashMap<V, _> = unfired.iter().map(|v| (*v, g.add_node(*v))).collect();
        let parked_on: HashMap<V, Vec<usize>> =
            self.parked.iter().fold(HashMap::new(), |mut m, (c, vs)| {
                for v in vs {
                    m.entry(*v).or_insert_with(Vec::new).push(*c);
                }
                m
            });
        let comp_of = |v: V| -> Option<usize> {
            match v {
                V::Instr(_) => None,
                V::BStart(o)
                | V::BEnd(o)
                | V::Enter(o, ..)
                | V::Leave(o, _)
                | V::Start(o, _)
                | V::End(o, _) => Some(self.occs[o].comp),
            }
        };
        for &v in &unfired {
            let n = &self.nodes[&v];
            for (p, _) in &n.preds {
                if let Some(&j) = idx.get(p) {
                    g.add_edge(idx[&v], j, ());
                }
            }
            for &c in parked_on.get(&v).into_iter().flatten() {
                for &u in &unfired {
                    if u != v
                        && comp_of(u) == Some(c)
                        && matches!(u, V::Leave(..) | V::Enter(..) | V::End(..))
                    {
                        g.add_edge(idx[&v], idx[&u], ());
                    }
                }
            }
        }
        let mut cycle = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&g) {
            if scc.len() > 1 {
                let mut names: Vec<String> = scc.iter().map(|&i| self.name(g[i])).collect();
                names.sort();
                names.dedup();
                cycle = names;
                break;
            }
        }
        let stuck = unfired
            .iter()
            .filter(|v| !matches!(v, V::Enter(_, _, usize::MAX)))
            .filter(|v| self.nodes[v].remaining == 0 || parked_on.contains_key(v))
            .map(|&v| {
                let why = if parked_on.contains_key(&v) {
                    "waits for a port (not served, or still in use)"
                } else {
                    "waits for its predecessors"
                };
                format!("{}: {why}", self.name(v))
            })
            .collect();
        Some(Deadlock { cycle, stuck })
    }
}

enum Fired {
    Yes,
    /// A leave: retry later in the same instant (next class).
    Later,
    /// Waiting for a state change of these components.
    Blocked(Vec<usize>),
}

impl Inst {
    fn new(name: String, ty: Arc<TypeIndex>) -> Self {
        let (np, nt, nq) = (
            ty.ty.places.len(),
            ty.ty.transitions.len(),
            ty.ty.ports.len(),
        );
        Inst {
            name,
            occs: Vec::new(),
            marked: vec![false; np],
            running: vec![false; nt],
            docked: vec![false; nt],
            data_provided: vec![false; nq],
            alive: false,
            ty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{types_of, PortKind::*, TypeBuilder, Types};
    use crate::semantics::tests::*;

    fn runnable(types: Types, program: Vec<Instr>) -> Runnable {
        let spans = vec![Default::default(); program.len()];
        Runnable {
            types,
            program,
            spans,
        }
    }

    /// The model and the semantics (on a virtual clock) agree on the makespan.
    fn agree(types: Types, program: Vec<Instr>) -> Prediction {
        let (log, sem) = drive(types.clone(), program.clone(), &[]);
        let measured = log.last().map(|(t, _)| *t).unwrap_or(0);
        let p = predict(
            &runnable(types, program),
            &Durations::new(0),
            Coordination::Concerto,
        );
        assert!(sem.is_finished());
        assert!(p.deadlock.is_none(), "{:?}", p.deadlock);
        assert_eq!(
            p.makespan.as_millis() as u64,
            measured,
            "predicted vs semantics"
        );
        p
    }

    #[test]
    fn chain_deploy() {
        let p = agree(
            types_of([chain()]),
            vec![
                Instr::add("x", "Chain"),
                Instr::push("x", "deploy"),
                Instr::wait("x"),
            ],
        );
        assert_eq!(p.makespan, Duration::from_secs(3));
        let names: Vec<_> = p.critical_path.iter().map(|s| s.what.as_str()).collect();
        assert!(
            names.contains(&"x: end ab") && names.contains(&"x: end bc"),
            "{names:?}"
        );
    }

    #[test]
    fn server_client_deploy_and_maintenance() {
        let p = agree(server_client(), deploy_program());
        assert_eq!(p.makespan, Duration::from_secs(4));
        let p = agree(server_client(), maintenance_program());
        assert_eq!(p.makespan, Duration::from_secs(10));
    }

    #[test]
    fn baselines_are_slower_or_equal() {
        let ty = TypeBuilder::new("Fork", &["a", "b", "c"])
            .t("x", "a", "b", "deploy", 3.0)
            .t("y", "a", "b", "deploy", 2.0)
            .t("z", "b", "c", "deploy", 1.0)
            .build();
        let r = runnable(
            types_of([ty]),
            vec![
                Instr::add("f", "Fork"),
                Instr::add("g", "Fork"),
                Instr::push("f", "deploy"),
                Instr::push("g", "deploy"),
                Instr::WaitAll,
            ],
        );
        let d = Durations::new(0);
        let concerto = predict(&r, &d, Coordination::Concerto);
        let aeolus = predict(&r, &d, Coordination::Aeolus);
        assert_eq!(concerto.makespan, Duration::from_secs(4));
        assert_eq!(
            aeolus.makespan,
            Duration::from_secs(6),
            "x and y one after the other"
        );
        // Ansible: f and g are hosts of one play: x, y, z as three tasks.
        assert_eq!(ansible_baseline(&concerto), Duration::from_secs(6));
    }

    #[test]
    fn a_cycle_of_ports_is_a_deadlock_naming_its_elements() {
        let a = TypeBuilder::new("A", &["a0", "a1"])
            .t("go", "a0", "a1", "deploy", 1.0)
            .port("need", Use, "x", &["go"])
            .port("give", Provide, "y", &["a1"])
            .build();
        let b = TypeBuilder::new("B", &["b0", "b1"])
            .t("go", "b0", "b1", "deploy", 1.0)
            .port("need", Use, "y", &["go"])
            .port("give", Provide, "x", &["b1"])
            .build();
        let program = vec![
            Instr::add("a", "A"),
            Instr::add("b", "B"),
            Instr::con("a.need", "b.give"),
            Instr::con("b.need", "a.give"),
            Instr::push("a", "deploy"),
            Instr::push("b", "deploy"),
            Instr::WaitAll,
        ];
        let p = predict(
            &runnable(types_of([a, b]), program),
            &Durations::new(0),
            Coordination::Concerto,
        );
        let d = p.deadlock.expect("deadlock");
        assert!(d.cycle.iter().any(|s| s == "a: start go"), "{d:?}");
        assert!(d.cycle.iter().any(|s| s == "b: start go"), "{d:?}");
    }
}

/// Properties on random well-formed assemblies (model.md §2 against §4).
#[cfg(test)]
mod props {
    use super::*;
    use crate::model::{types_of, PortKind, TypeBuilder};
    use crate::semantics::tests::drive;
    use crate::semantics::Event;
    use proptest::prelude::*;

    /// A component: a DAG of places (each place after the first has 1-2
    /// incoming transitions from earlier places, in one or two idsets), a
    /// `reset` behavior back to the initial place, ports to earlier components.
    #[derive(Debug, Clone)]
    struct Spec {
        places: usize,
        ins: Vec<Vec<(usize, u32, u64)>>, // per place > 0: (source, idset, ms)
        resets: bool,
        uses: Vec<(usize, bool, usize, bool, usize)>, // (bind idx, bind to place?, provider, provider group?, provider place)
    }

    fn spec(max_provider: usize) -> impl Strategy<Value = Spec> {
        (2usize..6).prop_flat_map(move |places| {
            let ins = (1..places)
                .map(|i| prop::collection::vec((0..i, 0u32..2, 0u64..5000), 1..3))
                .collect::<Vec<_>>();
            let uses = if max_provider == 0 {
                Just(Vec::new()).boxed()
            } else {
                prop::collection::vec(
                    (
                        0usize..8,
                        any::<bool>(),
                        0..max_provider,
                        any::<bool>(),
                        0usize..8,
                    ),
                    0..3,
                )
                .boxed()
            };
            (Just(places), ins, any::<bool>(), uses).prop_map(|(places, ins, resets, uses)| Spec {
                places,
                ins,
                resets,
                uses,
            })
        })
    }

    /// 400 cases by default; `PROPTEST_CASES=5000` for a longer hunt.
    fn cases() -> u32 {
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400)
    }

    fn assembly() -> impl Strategy<Value = Vec<Spec>> {
        (1usize..6).prop_flat_map(|n| (0..n).map(spec).collect::<Vec<_>>())
    }

    fn build(specs: &[Spec], with_reset: bool) -> (crate::model::Types, Vec<Instr>) {
        let mut types = Vec::new();
        let mut program = Vec::new();
        let mut cons = Vec::new();
        for (k, s) in specs.iter().enumerate() {
            let names: Vec<String> = (0..s.places).map(|p| format!("p{p}")).collect();
            let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            let mut b = TypeBuilder::new(&format!("T{k}"), &refs);
            let mut tnames = Vec::new();
            for (i, ins) in s.ins.iter().enumerate() {
                let dst = i + 1;
                // Two transitions from one source would be parallel duplicates; keep one.
                let mut seen = BTreeSet::new();
                for &(src, idset, ms) in ins {
                    if seen.insert(src) {
                        let name = format!("t{src}_{dst}");
                        b = b.t_idset(
                            &name,
                            &names[src],
                            &names[dst],
                            "deploy",
                            idset,
                            ms as f64 / 1000.0,
                        );
                        tnames.push(name);
                    }
                }
            }
            let finals: Vec<usize> = (0..s.places)
                .filter(|&p| !s.ins.iter().flatten().any(|&(src, _, _)| src == p))
                .collect();
            if s.resets {
                for &f in &finals {
                    b = b.t(&format!("r{f}"), &names[f], "p0", "reset", 0.5);
                }
            }
            // One provide port on a place (or a group of two places), one per component.
            b = b.group("g", &[&names[s.places - 1], &names[s.places / 2]]);
            b = b.port(
                "out",
                PortKind::Provide,
                "t",
                &[names[s.places - 1].as_str()],
            );
            b = b.port("gout", PortKind::Provide, "t", &["g"]);
            for (u, &(bind, to_place, provider, group, _)) in s.uses.iter().enumerate() {
                let target = if to_place {
                    names[1 + bind % (s.places - 1)].clone()
                } else {
                    tnames[bind % tnames.len()].clone()
                };
                b = b.port(&format!("in{u}"), PortKind::Use, "t", &[target.as_str()]);
                cons.push(Instr::con(
                    &format!("c{k}.in{u}"),
                    &format!("c{provider}.{}", if group { "gout" } else { "out" }),
                ));
            }
            types.push(b.build());
            program.push(Instr::add(&format!("c{k}"), &format!("T{k}")));
        }
        program.extend(cons);
        for k in 0..specs.len() {
            program.push(Instr::push(&format!("c{k}"), "deploy"));
        }
        if with_reset {
            for (k, s) in specs.iter().enumerate() {
                if s.resets {
                    program.push(Instr::push(&format!("c{k}"), "reset"));
                    program.push(Instr::push(&format!("c{k}"), "deploy"));
                }
            }
        }
        program.push(Instr::WaitAll);
        (types_of(types), program)
    }

    /// The semantics (virtual clock), the engine (`run --simulate`) and the
    /// model agree: the run finishes iff no deadlock is found; then the
    /// makespans are equal and (deploy) every deploy transition fired once.
    fn agree(specs: &[Spec], with_reset: bool) -> Result<(), TestCaseError> {
        let (types, program) = build(specs, with_reset);
        let (log, sem) = drive(types.clone(), program.clone(), &[]);
        let r = Runnable {
            types,
            spans: vec![Default::default(); program.len()],
            program,
        };
        let p = predict(&r, &Durations::new(0), Coordination::Concerto);
        prop_assert_eq!(
            sem.is_finished(),
            p.deadlock.is_none(),
            "finished vs deadlock: {:?} / {:?}",
            sem.blocked(),
            p.deadlock
        );
        // The engine on tokio's paused clock: what `concerto run --simulate` does.
        let rt = crate::engine::runtime(true).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let opts = crate::engine::RunOptions {
            simulate: true,
            ..Default::default()
        };
        let run = rt
            .block_on(crate::engine::run(&r, &opts))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(run.finished, sem.is_finished());
        if sem.is_finished() {
            prop_assert_eq!(run.makespan, p.makespan, "engine --simulate vs model");
            let measured = log.last().map(|(t, _)| *t).unwrap_or(0);
            prop_assert_eq!(p.makespan.as_millis() as u64, measured);
            if !with_reset {
                for (_, c) in sem.components() {
                    for t in
                        c.ty.ty
                            .transitions
                            .iter()
                            .filter(|t| c.ty.ty.behaviors[t.behavior] == "deploy")
                    {
                        let n = log.iter().filter(|(_, e)| matches!(e, Event::TransitionStarted { component, transition, .. } if *component == c.name && *transition == t.name)).count();
                        prop_assert_eq!(n, 1, "{}.{} fired {} times", c.name, t.name, n);
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

        #[test]
        fn deploy_matches_the_model(specs in assembly()) {
            agree(&specs, false)?;
        }

        /// Reconfiguration (reset and redeploy, with port locks).
        #[test]
        fn reconfiguration_matches_the_model(specs in assembly()) {
            agree(&specs, true)?;
        }
    }

    fn mk(
        places: usize,
        ins: Vec<Vec<(usize, u32, u64)>>,
        resets: bool,
        uses: Vec<(usize, bool, usize, bool, usize)>,
    ) -> Spec {
        Spec {
            places,
            ins,
            resets,
            uses,
        }
    }

    /// Found by proptest: two OR-idsets of a place complete at one instant;
    /// the second token must be absorbed before the place is left, or the
    /// component re-enters it and holds its provider forever.
    #[test]
    fn regression_or_join_completing_twice_at_one_instant() {
        let specs = vec![
            mk(2, vec![vec![(0, 0, 4264)]], true, vec![]),
            mk(
                4,
                vec![
                    vec![(0, 0, 0)],
                    vec![(1, 1, 0), (0, 0, 0)],
                    vec![(2, 0, 209)],
                ],
                false,
                vec![(4, true, 0, false, 0)],
            ),
            mk(2, vec![vec![(0, 0, 0)]], false, vec![]),
            mk(2, vec![vec![(0, 0, 0)]], false, vec![]),
        ];
        agree(&specs, true).unwrap();
    }

    /// Found by proptest: a provider's leave blocked by a user becomes free
    /// when another place of the same group is entered; the model must
    /// retry it on its own component's change, not only its users'.
    #[test]
    fn regression_leave_freed_by_its_own_group() {
        let specs = vec![
            mk(
                5,
                vec![
                    vec![(0, 0, 1595)],
                    vec![(0, 0, 1526)],
                    vec![(2, 0, 2235)],
                    vec![(1, 0, 0)],
                ],
                false,
                vec![],
            ),
            mk(
                3,
                vec![vec![(0, 1, 1014)], vec![(1, 0, 1342)]],
                false,
                vec![(0, false, 0, true, 2)],
            ),
            mk(
                2,
                vec![vec![(0, 0, 172), (0, 0, 4681)]],
                false,
                vec![(6, true, 0, false, 3), (2, false, 0, false, 2)],
            ),
        ];
        agree(&specs, false).unwrap();
    }
}

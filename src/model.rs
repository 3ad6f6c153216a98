//! The Madeus/Concerto component model (model.md §1), resolved: every
//! reference is an index into its owner's vectors, so the semantics and the
//! performance model never look names up on a hot path.
//!
//! Files (`assembly` module) and programs (`program` module) are parsed into
//! these types; nothing here does I/O.

use indexmap::IndexMap;
use std::sync::Arc;
use std::time::Duration;

pub type PlaceId = usize;
pub type TransId = usize;
pub type GroupId = usize;
pub type PortId = usize;
pub type BehaviorId = usize;

/// A span in a source file, for diagnostics that point back at user input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrcSpan {
    pub offset: usize,
    pub len: usize,
}

impl From<SrcSpan> for miette::SourceSpan {
    fn from(s: SrcSpan) -> Self {
        (s.offset, s.len).into()
    }
}

/// How long an action takes, as declared. Random draws are resolved by
/// [`crate::durations::Durations`], so a run and a prediction with the same
/// seed see the same numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DurationSpec {
    Fixed(Duration),
    /// Uniform in `[lo, hi]` seconds, drawn once per (instance, transition)
    /// and rounded to the millisecond.
    Uniform {
        lo: f64,
        hi: f64,
    },
}

/// The work a transition does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Do nothing for a while (synthetic benchmarks, examples).
    Sleep(DurationSpec),
    /// Run a local process through `sh -c`.
    Command {
        cmd: String,
        timeout: Option<Duration>,
    },
    /// Write a file on each host: `content` verbatim, or rendered like a
    /// command when `template` is set. `dest` is always rendered.
    Copy {
        dest: String,
        content: CopySource,
        mode: u32,
        template: bool,
        timeout: Option<Duration>,
    },
    /// No work at all: the transition ends as soon as it starts.
    Nothing,
}

/// What a `copy` or `template` action writes.
#[derive(Debug, Clone, PartialEq)]
pub enum CopySource {
    Inline(String),
    /// A file on this machine (absolute, or resolved against the
    /// assembly's directory when loaded), read when the action runs.
    File(std::path::PathBuf),
}

/// Where a component's actions run: Ansible host patterns over the
/// inventory given to `run -i`. Empty: on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Placement {
    /// For every transition (`web`, `h1:h2`, `all:!h3`).
    pub hosts: Option<String>,
    /// Per-transition overrides, `(transition, pattern)`.
    pub transitions: Vec<(String, String)>,
}

impl Placement {
    pub fn is_local(&self) -> bool {
        self.hosts.is_none() && self.transitions.is_empty()
    }

    /// The pattern transition `t` runs on, `None` for this machine.
    pub fn pattern_for(&self, transition: &str) -> Option<&str> {
        self.transitions
            .iter()
            .find(|(t, _)| t == transition)
            .map(|(_, p)| p.as_str())
            .or(self.hosts.as_deref())
    }

    /// Every pattern it names.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.hosts
            .iter()
            .map(String::as_str)
            .chain(self.transitions.iter().map(|(_, p)| p.as_str()))
    }
}

impl std::fmt::Display for Placement {
    /// ` @ web, configure @ h1`, as a program writes it after the type.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |p: &str| {
            if p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                p.to_string()
            } else {
                format!("{p:?}")
            }
        };
        if let Some(h) = &self.hosts {
            write!(f, " @ {}", show(h))?;
        }
        for (t, p) in &self.transitions {
            write!(f, ", {t} @ {}", show(p))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub name: String,
    pub src: PlaceId,
    pub dst: PlaceId,
    pub behavior: BehaviorId,
    /// Input-dock set on `dst`: `dst` is entered when every transition of
    /// one idset (of the active behavior) has delivered its token.
    pub idset: u32,
    pub action: Action,
    /// Estimated duration for the performance model; `None` means "use the
    /// action's own duration" (sleep) or zero (anything else).
    pub estimate: Option<DurationSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortKind {
    Use,
    Provide,
    DataUse,
    DataProvide,
}

impl PortKind {
    pub fn is_use(self) -> bool {
        matches!(self, PortKind::Use | PortKind::DataUse)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PortKind::Use => "use",
            PortKind::Provide => "provide",
            PortKind::DataUse => "data-use",
            PortKind::DataProvide => "data-provide",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binding {
    Transition(TransId),
    Place(PlaceId),
    Group(GroupId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    pub kind: PortKind,
    /// Only ports of equal type connect.
    pub ty: String,
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub places: Vec<PlaceId>,
}

/// A component type as written by the user, resolved to indices.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentType {
    pub name: String,
    pub places: Vec<String>,
    pub initial: PlaceId,
    pub behaviors: Vec<String>,
    pub transitions: Vec<Transition>,
    pub groups: Vec<Group>,
    pub ports: Vec<Port>,
}

impl ComponentType {
    pub fn place(&self, name: &str) -> Option<PlaceId> {
        self.places.iter().position(|p| p == name)
    }
    pub fn behavior(&self, name: &str) -> Option<BehaviorId> {
        self.behaviors.iter().position(|b| b == name)
    }
    pub fn port(&self, name: &str) -> Option<PortId> {
        self.ports.iter().position(|p| p.name == name)
    }
    pub fn transition(&self, name: &str) -> Option<TransId> {
        self.transitions.iter().position(|t| t.name == name)
    }
    /// Transitions of `behavior`, in declaration order.
    pub fn transitions_of(&self, behavior: BehaviorId) -> impl Iterator<Item = TransId> + '_ {
        self.transitions
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.behavior == behavior)
            .map(|(i, _)| i)
    }
}

/// Precomputed adjacency for a [`ComponentType`], built once per type: the
/// semantics consults these on every step.
#[derive(Debug, Clone)]
pub struct TypeIndex {
    pub ty: ComponentType,
    /// `out[b][p]`: transitions of behavior `b` leaving place `p` (output docks).
    pub out: Vec<Vec<Vec<TransId>>>,
    /// `idsets[b][p]`: for place `p` in behavior `b`, the idsets as lists of
    /// incoming transitions, ordered by idset number.
    pub idsets: Vec<Vec<Vec<Vec<TransId>>>>,
    /// Groups containing each place.
    pub place_groups: Vec<Vec<GroupId>>,
    /// `in_group[g][p]`.
    pub in_group: Vec<Vec<bool>>,
    /// Transitions whose source and destination both lie in the group.
    pub group_transitions: Vec<Vec<TransId>>,
    /// Use / data-use ports bound to each transition.
    pub trans_uses: Vec<Vec<PortId>>,
    /// Use ports bound to each place / group (must be served to enter).
    pub place_uses: Vec<Vec<PortId>>,
    pub group_uses: Vec<Vec<PortId>>,
    /// Provide ports bound to each place / group (active while it holds a token).
    pub place_provides: Vec<Vec<PortId>>,
    pub group_provides: Vec<Vec<PortId>>,
    /// Data-provide ports bound to each place (provided forever once reached).
    pub place_data_provides: Vec<Vec<PortId>>,
}

impl TypeIndex {
    pub fn new(ty: ComponentType) -> Self {
        let np = ty.places.len();
        let nb = ty.behaviors.len().max(1);
        let ng = ty.groups.len();
        let mut out = vec![vec![Vec::new(); np]; nb];
        let mut by_idset: Vec<Vec<std::collections::BTreeMap<u32, Vec<TransId>>>> =
            vec![vec![Default::default(); np]; nb];
        for (i, t) in ty.transitions.iter().enumerate() {
            out[t.behavior][t.src].push(i);
            by_idset[t.behavior][t.dst]
                .entry(t.idset)
                .or_default()
                .push(i);
        }
        let idsets = by_idset
            .into_iter()
            .map(|per_place| {
                per_place
                    .into_iter()
                    .map(|m| m.into_values().collect())
                    .collect()
            })
            .collect();
        let mut in_group = vec![vec![false; np]; ng];
        let mut place_groups = vec![Vec::new(); np];
        for (g, grp) in ty.groups.iter().enumerate() {
            for &p in &grp.places {
                if !in_group[g][p] {
                    in_group[g][p] = true;
                    place_groups[p].push(g);
                }
            }
        }
        let group_transitions = (0..ng)
            .map(|g| {
                (0..ty.transitions.len())
                    .filter(|&t| {
                        in_group[g][ty.transitions[t].src] && in_group[g][ty.transitions[t].dst]
                    })
                    .collect()
            })
            .collect();
        let mut trans_uses = vec![Vec::new(); ty.transitions.len()];
        let mut place_uses = vec![Vec::new(); np];
        let mut group_uses = vec![Vec::new(); ng];
        let mut place_provides = vec![Vec::new(); np];
        let mut group_provides = vec![Vec::new(); ng];
        let mut place_data_provides = vec![Vec::new(); np];
        for (pi, port) in ty.ports.iter().enumerate() {
            for b in &port.bindings {
                match (port.kind, *b) {
                    (PortKind::Use | PortKind::DataUse, Binding::Transition(t)) => {
                        trans_uses[t].push(pi)
                    }
                    (PortKind::Use | PortKind::DataUse, Binding::Place(p)) => {
                        place_uses[p].push(pi)
                    }
                    (PortKind::Use | PortKind::DataUse, Binding::Group(g)) => {
                        group_uses[g].push(pi)
                    }
                    (PortKind::Provide, Binding::Place(p)) => place_provides[p].push(pi),
                    (PortKind::Provide, Binding::Group(g)) => group_provides[g].push(pi),
                    (PortKind::DataProvide, Binding::Place(p)) => place_data_provides[p].push(pi),
                    // Rejected by validation; ignored here rather than panicking.
                    _ => {}
                }
            }
        }
        TypeIndex {
            ty,
            out,
            idsets,
            place_groups,
            in_group,
            group_transitions,
            trans_uses,
            place_uses,
            group_uses,
            place_provides,
            group_provides,
            place_data_provides,
        }
    }
}

/// Component types by name.
pub type Types = IndexMap<String, Arc<TypeIndex>>;

/// One end of a connection: `component.port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRef {
    pub component: String,
    pub port: String,
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.component, self.port)
    }
}

/// A reconfiguration instruction (model.md §3), after loops and parameters
/// have been expanded. `span` points into the program text.
#[derive(Debug, Clone, PartialEq)]
pub enum Instr {
    Add {
        name: String,
        ty: String,
        placement: Placement,
    },
    Del {
        name: String,
    },
    /// `con(a.p, b.q)`: the use side and the provide side, in either
    /// written order (the semantics orients it by port kind).
    Con {
        a: PortRef,
        b: PortRef,
    },
    Dcon {
        a: PortRef,
        b: PortRef,
    },
    PushB {
        name: String,
        behavior: String,
    },
    Wait {
        name: String,
    },
    WaitAll,
}

impl Instr {
    pub fn is_blocking(&self) -> bool {
        matches!(
            self,
            Instr::Del { .. } | Instr::Dcon { .. } | Instr::Wait { .. } | Instr::WaitAll
        )
    }
}

/// Constructors for programs built in code (benchmarks, tests).
impl Instr {
    pub fn add(name: &str, ty: &str) -> Instr {
        Instr::Add {
            name: name.into(),
            ty: ty.into(),
            placement: Placement::default(),
        }
    }
    pub fn push(name: &str, behavior: &str) -> Instr {
        Instr::PushB {
            name: name.into(),
            behavior: behavior.into(),
        }
    }
    /// `con("a.p", "b.q")`.
    pub fn con(a: &str, b: &str) -> Instr {
        Instr::Con {
            a: port_ref(a),
            b: port_ref(b),
        }
    }
    pub fn dcon(a: &str, b: &str) -> Instr {
        Instr::Dcon {
            a: port_ref(a),
            b: port_ref(b),
        }
    }
    pub fn wait(name: &str) -> Instr {
        Instr::Wait { name: name.into() }
    }
}

impl std::fmt::Display for Instr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Instr::Add {
                name,
                ty,
                placement,
            } => write!(f, "add({name} : {ty}{placement})"),
            Instr::Del { name } => write!(f, "del({name})"),
            Instr::Con { a, b } => write!(f, "con({a}, {b})"),
            Instr::Dcon { a, b } => write!(f, "dcon({a}, {b})"),
            Instr::PushB { name, behavior } => write!(f, "pushB({name}, {behavior})"),
            Instr::Wait { name } => write!(f, "wait({name})"),
            Instr::WaitAll => write!(f, "waitAll()"),
        }
    }
}

/// Something the runtime can execute: component types plus a program.
/// An assembly file becomes `add` + `con` for every instance and
/// connection, `pushB(c, deploy)` for every instance, then `waitAll()`.
#[derive(Debug, Clone)]
pub struct Runnable {
    pub types: Types,
    pub program: Vec<Instr>,
    /// Where each instruction came from, for diagnostics (same length as `program`).
    pub spans: Vec<SrcSpan>,
}

impl Runnable {
    /// A stable hash of the program and its types (FNV-1a over their debug
    /// text): a journal records it so `--resume` refuses another program.
    pub fn fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |s: &str| {
            for b in s.bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for (name, t) in &self.types {
            eat(name);
            eat(&format!("{:?}", t.ty));
        }
        for i in &self.program {
            eat(&i.to_string());
            eat("\n");
        }
        format!("{h:016x}")
    }
}

/// Builds component types in code: tests, benchmarks, generated assemblies.
/// Port bindings name a place, a group or a transition, tried in that order.
#[derive(Debug, Clone)]
pub struct TypeBuilder {
    ty: ComponentType,
}

impl TypeBuilder {
    /// A type whose first place is the initial one.
    pub fn new(name: &str, places: &[&str]) -> Self {
        TypeBuilder {
            ty: ComponentType {
                name: name.to_string(),
                places: places.iter().map(|p| p.to_string()).collect(),
                initial: 0,
                behaviors: Vec::new(),
                transitions: Vec::new(),
                groups: Vec::new(),
                ports: Vec::new(),
            },
        }
    }

    fn place_id(&self, p: &str) -> PlaceId {
        self.ty
            .place(p)
            .unwrap_or_else(|| panic!("TypeBuilder: unknown place {p}"))
    }

    /// A transition sleeping `secs` seconds, in idset 0.
    pub fn t(self, name: &str, src: &str, dst: &str, behavior: &str, secs: f64) -> Self {
        self.t_idset(name, src, dst, behavior, 0, secs)
    }

    pub fn t_idset(
        mut self,
        name: &str,
        src: &str,
        dst: &str,
        behavior: &str,
        idset: u32,
        secs: f64,
    ) -> Self {
        let b = match self.ty.behavior(behavior) {
            Some(b) => b,
            None => {
                self.ty.behaviors.push(behavior.to_string());
                self.ty.behaviors.len() - 1
            }
        };
        let (src, dst) = (self.place_id(src), self.place_id(dst));
        self.ty.transitions.push(Transition {
            name: name.to_string(),
            src,
            dst,
            behavior: b,
            idset,
            action: Action::Sleep(DurationSpec::Fixed(crate::durations::secs(secs))),
            estimate: None,
        });
        self
    }

    /// Replace the action of the last transition added.
    pub fn action(mut self, action: Action) -> Self {
        if let Some(t) = self.ty.transitions.last_mut() {
            t.action = action;
        }
        self
    }

    pub fn group(mut self, name: &str, places: &[&str]) -> Self {
        let places = places.iter().map(|p| self.place_id(p)).collect();
        self.ty.groups.push(Group {
            name: name.to_string(),
            places,
        });
        self
    }

    pub fn port(mut self, name: &str, kind: PortKind, ty: &str, bind: &[&str]) -> Self {
        let bindings = bind
            .iter()
            .map(|b| {
                if let Some(p) = self.ty.place(b) {
                    Binding::Place(p)
                } else if let Some(g) = self.ty.groups.iter().position(|g| g.name == *b) {
                    Binding::Group(g)
                } else if let Some(t) = self.ty.transition(b) {
                    Binding::Transition(t)
                } else {
                    panic!("TypeBuilder: unknown binding {b}")
                }
            })
            .collect();
        self.ty.ports.push(Port {
            name: name.to_string(),
            kind,
            ty: ty.to_string(),
            bindings,
        });
        self
    }

    pub fn build(self) -> Arc<TypeIndex> {
        Arc::new(TypeIndex::new(self.ty))
    }
}

/// `Types` from built types.
pub fn types_of(list: impl IntoIterator<Item = Arc<TypeIndex>>) -> Types {
    list.into_iter().map(|t| (t.ty.name.clone(), t)).collect()
}

/// Parse `comp.port` (for programs built in code).
pub fn port_ref(s: &str) -> PortRef {
    let (c, p) = s.split_once('.').unwrap_or((s, ""));
    PortRef {
        component: c.to_string(),
        port: p.to_string(),
    }
}

//! Static check: run the program on names only.
//!
//! The checker follows the instructions in order, keeping the set of live
//! components (and their types), deleted components and existing
//! connections, and reports every instruction that cannot work whatever the
//! timing: unknown types, behaviors and ports, ill-typed connections,
//! components used before `add` or after `del`, and `del` of a component
//! that is still connected (it would wait forever, see model.md §3).
//!
//! [`Program`] keeps one span per statement; to underline the faulty
//! argument, the statement is re-parsed on demand
//! ([`parser::reparse_instr`]).

use super::parser::reparse_instr;
use super::{list, suggest, ErrorKind, Problem, Program};
use crate::model::{ComponentType, Instr, Placement, Port, PortRef, SrcSpan, Types};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};

/// How many names a help text lists before "…".
const LIST_MAX: usize = 12;

/// Past this many live components, an unknown one gets no "did you mean":
/// the search costs one edit distance per live component.
const SUGGEST_MAX: usize = 10_000;

pub fn check(src: &str, program: &Program, types: &Types) -> Vec<Problem> {
    let mut c = Checker {
        src,
        types,
        live: IndexMap::new(),
        deleted: HashMap::new(),
        conns: HashMap::new(),
        by_component: HashMap::new(),
        next: 0,
        disconnected: HashMap::new(),
        problems: Vec::new(),
        seen: HashMap::new(),
        args: HashMap::new(),
    };
    for (i, instr) in program.instrs.iter().enumerate() {
        let stmt = program.spans.get(i).copied().unwrap_or_default();
        c.instr(instr, stmt);
    }
    c.finish()
}

struct Comp<'t> {
    /// `None` when the type is unknown (already reported at the `add`).
    ty: Option<&'t ComponentType>,
    added: SrcSpan,
    /// When it was added (see `Checker::next`), to list names in order.
    seq: u64,
}

/// A connection, with its two ends in a canonical order: `con(a, b)` and
/// `dcon(b, a)` name the same connection.
type ConnKey = (PortRef, PortRef);

fn conn_key(a: &PortRef, b: &PortRef) -> ConnKey {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// Statement (offset, len), problem kind, first label (offset, len).
type SeenKey = (usize, usize, ErrorKind, Option<(usize, usize)>);

struct Checker<'a, 't> {
    src: &'a str,
    types: &'t Types,
    /// Removal swaps (`shift_remove` would make deleting n components
    /// O(n²)); `Comp::seq` keeps the order of addition.
    live: IndexMap<String, Comp<'t>>,
    /// Deleted and not re-added, with the span of the `del`.
    deleted: HashMap<String, SrcSpan>,
    /// Existing connections, with when they were made (see `next`) and
    /// the `con` that made them.
    conns: HashMap<ConnKey, (u64, SrcSpan)>,
    /// The existing connections of each component, so that `del` does not
    /// scan them all.
    by_component: HashMap<String, HashSet<ConnKey>>,
    /// Sequence number of the next `add` or `con`.
    next: u64,
    /// Connections removed by `dcon`, for "already disconnected here".
    disconnected: HashMap<ConnKey, SrcSpan>,
    problems: Vec<Problem>,
    /// A statement in a loop fails once per iteration: report it once, and
    /// count the repeats: problem index and repeat count.
    seen: HashMap<SeenKey, (usize, usize)>,
    /// Argument spans per statement, computed when first needed.
    args: HashMap<(usize, usize), Vec<SrcSpan>>,
}

/// What one end of a `con`/`dcon` resolved to.
enum End<'t> {
    /// The component is not live, or has no such port (reported).
    Invalid,
    /// The component's type is unknown (reported at its `add`).
    UnknownType,
    Port(&'t Port),
}

impl<'a, 't> Checker<'a, 't> {
    /// Count a repeat of a problem already reported (same statement, kind
    /// and first label, argument `arg` of the statement) without building
    /// it again: in a loop of a million iterations, building the help text
    /// can cost a search each time.
    fn repeated(&mut self, stmt: SrcSpan, kind: ErrorKind, arg: usize) -> bool {
        if stmt.len == 0 {
            return false;
        }
        let first = self.arg(stmt, arg);
        let key = (stmt.offset, stmt.len, kind, Some((first.offset, first.len)));
        match self.seen.get_mut(&key) {
            Some((_, repeats)) => {
                *repeats += 1;
                true
            }
            None => false,
        }
    }

    fn report(&mut self, stmt: SrcSpan, p: Problem) {
        if stmt.len == 0 {
            // No source position (instructions built by code): every
            // instruction shares the empty span, so nothing to merge.
            self.problems.push(p);
            return;
        }
        let first = p.labels.first().map(|(s, _)| (s.offset, s.len));
        let key = (stmt.offset, stmt.len, p.kind, first);
        match self.seen.get_mut(&key) {
            Some((_, repeats)) => *repeats += 1,
            None => {
                self.seen.insert(key, (self.problems.len(), 0));
                self.problems.push(p);
            }
        }
    }

    fn finish(mut self) -> Vec<Problem> {
        for (index, repeats) in self.seen.values() {
            if *repeats > 0 {
                if let Some(p) = self.problems.get_mut(*index) {
                    p.help.push_str(&format!(
                        " (this statement has the same problem {repeats} more time{} in other \
                         loop iterations)",
                        if *repeats == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        self.problems
    }

    /// Span of argument `i` of the statement at `stmt` (see
    /// [`ast::InstrOp::arg_spans`]), or the statement itself.
    ///
    /// [`ast::InstrOp::arg_spans`]: super::ast::InstrOp::arg_spans
    fn arg(&mut self, stmt: SrcSpan, i: usize) -> SrcSpan {
        let src = self.src;
        self.args
            .entry((stmt.offset, stmt.len))
            .or_insert_with(|| {
                reparse_instr(src, stmt)
                    .map(|op| op.arg_spans())
                    .unwrap_or_default()
            })
            .get(i)
            .copied()
            .unwrap_or(stmt)
    }

    fn instr(&mut self, instr: &Instr, stmt: SrcSpan) {
        match instr {
            Instr::Add {
                name,
                ty,
                placement,
            } => {
                self.placed_transitions(ty, placement, stmt);
                self.add(name, ty, stmt)
            }
            Instr::Del { name } => self.del(name, stmt),
            Instr::Wait { name } => {
                self.live_type(name, stmt, 0);
            }
            Instr::PushB { name, behavior } => self.push_b(name, behavior, stmt),
            Instr::Con { a, b } => self.connection(a, b, stmt, true),
            Instr::Dcon { a, b } => self.connection(a, b, stmt, false),
            Instr::WaitAll => {}
        }
    }

    fn add(&mut self, name: &str, ty_name: &str, stmt: SrcSpan) {
        let ty = self.types.get(ty_name).map(|t| &t.ty);
        if ty.is_none() && !self.repeated(stmt, ErrorKind::UnknownType, 1) {
            let help = if self.types.is_empty() {
                "no component types are imported: add `import \"assembly.yaml\"` at the top of \
                 the program"
                    .to_string()
            } else {
                let known = self.types.keys().map(String::as_str);
                match suggest(ty_name, known.clone()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the imported types are {}", short_list(known)),
                }
            };
            let at = self.arg(stmt, 1);
            self.report(
                stmt,
                Problem::new(
                    ErrorKind::UnknownType,
                    format!("unknown component type `{ty_name}`"),
                    help,
                )
                .label(at, "not an imported type"),
            );
        }
        if let Some(first) = self.live.get(name) {
            let first = first.added;
            let at = self.arg(stmt, 0);
            let mut p = Problem::new(
                ErrorKind::DuplicateComponent,
                format!("component `{name}` is added twice"),
                format!("choose another name, or `del({name})` it first"),
            );
            p = if first == stmt {
                p.label(at, "added again by another iteration of this loop")
            } else {
                p.label(at, "added again here")
                    .label(first, "first added here")
            };
            self.report(stmt, p);
            return;
        }
        self.deleted.remove(name);
        let seq = self.next;
        self.next += 1;
        self.live.insert(
            name.to_string(),
            Comp {
                ty,
                added: stmt,
                seq,
            },
        );
    }

    /// `add(c : T, t @ hosts)`: `t` must be a transition of `T`.
    fn placed_transitions(&mut self, ty_name: &str, placement: &Placement, stmt: SrcSpan) {
        let Some(ty) = self.types.get(ty_name).map(|t| &t.ty) else {
            return;
        };
        let first_arg = 2 + usize::from(placement.hosts.is_some());
        for (i, (t, _)) in placement.transitions.iter().enumerate() {
            let arg = first_arg + 2 * i;
            if ty.transition(t).is_some() || self.repeated(stmt, ErrorKind::UnknownTransition, arg)
            {
                continue;
            }
            let known = ty.transitions.iter().map(|t| t.name.as_str());
            let help = match suggest(t, known.clone()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the transitions of `{ty_name}` are {}", short_list(known)),
            };
            let at = self.arg(stmt, arg);
            self.report(
                stmt,
                Problem::new(
                    ErrorKind::UnknownTransition,
                    format!("`{ty_name}` has no transition `{t}` to place"),
                    help,
                )
                .label(at, "no such transition"),
            );
        }
    }

    fn del(&mut self, name: &str, stmt: SrcSpan) {
        if self.live_type(name, stmt, 0).is_none() {
            return;
        }
        let mut attached: Vec<(u64, ConnKey, SrcSpan)> = self
            .by_component
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|k| self.conns.get(k).map(|&(seq, s)| (seq, k.clone(), s)))
            .collect();
        attached.sort_by_key(|(seq, ..)| *seq);
        let attached: Vec<(ConnKey, SrcSpan)> =
            attached.into_iter().map(|(_, k, s)| (k, s)).collect();
        if !attached.is_empty() {
            let at = self.arg(stmt, 0);
            let shown: Vec<String> = attached
                .iter()
                .take(3)
                .map(|((x, y), _)| format!("`dcon({x}, {y})`"))
                .collect();
            let more = if attached.len() > 3 { ", …" } else { "" };
            let mut p = Problem::new(
                ErrorKind::DelConnected,
                format!(
                    "`del({name})` would wait forever: `{name}` still has {} connection{}",
                    attached.len(),
                    if attached.len() == 1 { "" } else { "s" }
                ),
                format!(
                    "`del` waits until the component has no connection, and the instructions \
                     after it wait for the `del`, so nothing could remove them; disconnect \
                     first: {}{more}",
                    shown.join(", ")
                ),
            )
            .label(at, "deleted while connected");
            let mut spans: Vec<SrcSpan> = attached.iter().map(|(_, s)| *s).collect();
            spans.dedup();
            for s in spans.into_iter().take(3) {
                p = p.label(s, "connected here");
            }
            self.report(stmt, p);
            for (k, _) in attached {
                self.unlink(&k);
            }
        }
        self.live.swap_remove(name);
        self.deleted.insert(name.to_string(), stmt);
    }

    fn push_b(&mut self, name: &str, behavior: &str, stmt: SrcSpan) {
        let Some(Some(ty)) = self.live_type(name, stmt, 0) else {
            return;
        };
        if ty.behavior(behavior).is_some() || self.repeated(stmt, ErrorKind::UnknownBehavior, 1) {
            return;
        }
        let known = ty.behaviors.iter().map(String::as_str);
        let help = match suggest(behavior, known.clone()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if ty.behaviors.is_empty() => format!("type `{}` has no behaviors", ty.name),
            None => format!("the behaviors of `{}` are {}", ty.name, short_list(known)),
        };
        let at = self.arg(stmt, 1);
        self.report(
            stmt,
            Problem::new(
                ErrorKind::UnknownBehavior,
                format!(
                    "component `{name}` (type `{}`) has no behavior `{behavior}`",
                    ty.name
                ),
                help,
            )
            .label(at, "unknown behavior"),
        );
    }

    /// `con` (`make` = true) or `dcon`.
    fn connection(&mut self, a: &PortRef, b: &PortRef, stmt: SrcSpan, make: bool) {
        // Argument spans: 0 = a, 1 = a.component, 2 = a.port, 3.. = b.
        let ea = self.end(a, stmt, 1);
        let eb = self.end(b, stmt, 4);
        let (pa, pb) = match (ea, eb) {
            (End::Port(pa), End::Port(pb)) => (pa, pb),
            (End::Invalid, _) | (_, End::Invalid) => return,
            // An unknown type: nothing to check, but keep track of the
            // connection so that a later `dcon` or `del` is judged right.
            _ => {
                self.track(a, b, stmt, make);
                return;
            }
        };
        let (sa, sb) = (self.arg(stmt, 0), self.arg(stmt, 3));
        const KINDS_HELP: &str = "a connection links a use port to a provide port, or a data-use \
                                  port to a data-provide port";
        if pa.kind.is_use() == pb.kind.is_use() {
            let side = if pa.kind.is_use() { "use" } else { "provide" };
            self.report(
                stmt,
                Problem::new(
                    ErrorKind::PortKind,
                    format!("`{a}` and `{b}` are both {side} ports"),
                    KINDS_HELP,
                )
                .label(sa, format!("{} port", pa.kind.as_str()))
                .label(sb, format!("{} port", pb.kind.as_str())),
            );
            return;
        }
        let (user, provider) = if pa.kind.is_use() { (pa, pb) } else { (pb, pa) };
        let plain_use = user.kind == crate::model::PortKind::Use;
        let plain_provide = provider.kind == crate::model::PortKind::Provide;
        if plain_use != plain_provide {
            self.report(
                stmt,
                Problem::new(
                    ErrorKind::PortKind,
                    format!(
                        "cannot connect a {} port to a {} port",
                        user.kind.as_str(),
                        provider.kind.as_str()
                    ),
                    KINDS_HELP,
                )
                .label(sa, format!("{} port", pa.kind.as_str()))
                .label(sb, format!("{} port", pb.kind.as_str())),
            );
            return;
        }
        if pa.ty != pb.ty {
            self.report(
                stmt,
                Problem::new(
                    ErrorKind::PortType,
                    format!(
                        "port types differ: `{a}` is `{}`, `{b}` is `{}`",
                        pa.ty, pb.ty
                    ),
                    "only ports of the same type connect; check the port names, or the port \
                     types in the assembly",
                )
                .label(sa, format!("type `{}`", pa.ty))
                .label(sb, format!("type `{}`", pb.ty)),
            );
            return;
        }
        self.track(a, b, stmt, make);
    }

    /// Record a `con`/`dcon` in the connection set, reporting a `con` of an
    /// existing connection or a `dcon` of a missing one.
    fn track(&mut self, a: &PortRef, b: &PortRef, stmt: SrcSpan, make: bool) {
        let key = conn_key(a, b);
        if make {
            if let Some((_, first)) = self.conns.get(&key).copied() {
                let mut p = Problem::new(
                    ErrorKind::AlreadyConnected,
                    format!("`{a}` and `{b}` are already connected"),
                    "a connection exists at most once: remove this `con`, or `dcon` the \
                     connection before",
                );
                p = if first == stmt {
                    p.label(stmt, "connected again by another iteration of this loop")
                } else {
                    p.label(stmt, "connected again here")
                        .label(first, "first connected here")
                };
                self.report(stmt, p);
            } else {
                self.disconnected.remove(&key);
                for c in [&key.0.component, &key.1.component] {
                    self.by_component
                        .entry(c.clone())
                        .or_default()
                        .insert(key.clone());
                }
                self.conns.insert(key, (self.next, stmt));
                self.next += 1;
            }
        } else if self.unlink(&key) {
            self.disconnected.insert(key, stmt);
        } else {
            let mut p = Problem::new(
                ErrorKind::NotConnected,
                format!("`{a}` and `{b}` are not connected"),
                "`dcon` removes a connection made earlier by `con`",
            )
            .label(stmt, "nothing to disconnect");
            if let Some(before) = self.disconnected.get(&key).copied() {
                if before != stmt {
                    p = p.label(before, "already disconnected here");
                }
            }
            self.report(stmt, p);
        }
    }

    /// Resolve `r`; `arg` is the index of its component's span (the port's
    /// is `arg + 1`).
    fn end(&mut self, r: &PortRef, stmt: SrcSpan, arg: usize) -> End<'t> {
        let ty = match self.live_type(&r.component, stmt, arg) {
            None => return End::Invalid,
            Some(None) => return End::UnknownType,
            Some(Some(ty)) => ty,
        };
        if let Some(port) = ty.port(&r.port).and_then(|i| ty.ports.get(i)) {
            return End::Port(port);
        }
        if self.repeated(stmt, ErrorKind::UnknownPort, arg + 1) {
            return End::Invalid;
        }
        let known = ty.ports.iter().map(|p| p.name.as_str());
        let help = match suggest(&r.port, known.clone()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if ty.ports.is_empty() => format!("type `{}` has no ports", ty.name),
            None => format!("the ports of `{}` are {}", ty.name, short_list(known)),
        };
        let at = self.arg(stmt, arg + 1);
        self.report(
            stmt,
            Problem::new(
                ErrorKind::UnknownPort,
                format!(
                    "component `{}` (type `{}`) has no port `{}`",
                    r.component, ty.name, r.port
                ),
                help,
            )
            .label(at, "unknown port"),
        );
        End::Invalid
    }

    /// Remove an existing connection; false if there is none.
    fn unlink(&mut self, key: &ConnKey) -> bool {
        if self.conns.remove(key).is_none() {
            return false;
        }
        for c in [&key.0.component, &key.1.component] {
            if let Some(set) = self.by_component.get_mut(c) {
                set.remove(key);
                if set.is_empty() {
                    self.by_component.remove(c);
                }
            }
        }
        true
    }

    /// The live component `name` is likely a typo of, if there are not too
    /// many to search; ties go to the first added.
    fn suggest_live(&self, name: &str) -> Option<&str> {
        if self.live.len() > SUGGEST_MAX {
            return None;
        }
        let mut names: Vec<(u64, &str)> =
            self.live.iter().map(|(n, c)| (c.seq, n.as_str())).collect();
        names.sort_unstable_by_key(|(seq, _)| *seq);
        suggest(name, names.into_iter().map(|(_, n)| n))
    }

    /// The type of the live component `name` (inner `None`: unknown type);
    /// `None`, after reporting, if `name` is not live. `arg` is the index
    /// of the name's span in the statement.
    fn live_type(
        &mut self,
        name: &str,
        stmt: SrcSpan,
        arg: usize,
    ) -> Option<Option<&'t ComponentType>> {
        if let Some(c) = self.live.get(name) {
            return Some(c.ty);
        }
        let at = self.arg(stmt, arg);
        let kind = if self.deleted.contains_key(name) {
            ErrorKind::DeletedComponent
        } else {
            ErrorKind::UndefinedComponent
        };
        if self.repeated(stmt, kind, arg) {
            return None;
        }
        let p = match self.deleted.get(name).copied() {
            Some(del) => Problem::new(
                ErrorKind::DeletedComponent,
                format!("component `{name}` is used after being deleted"),
                format!("add it again with `add({name} : Type)` first, or move the `del` later"),
            )
            .label(at, "used here")
            .label(del, "deleted here"),
            None => {
                let help = match self.suggest_live(name) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("add it first with `add({name} : Type)`"),
                };
                Problem::new(
                    ErrorKind::UndefinedComponent,
                    format!("unknown component `{name}`"),
                    help,
                )
                .label(at, "not added before this point")
            }
        };
        self.report(stmt, p);
        None
    }
}

fn short_list<'n>(names: impl Iterator<Item = &'n str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.len() <= LIST_MAX {
        return list(names);
    }
    let shown: Vec<String> = names
        .iter()
        .take(LIST_MAX)
        .map(|n| format!("`{n}`"))
        .collect();
    format!("{}, …", shown.join(", "))
}

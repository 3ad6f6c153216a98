//! The evaluator: runs a parsed template or expression with Jinja2's
//! semantics as ansible-core 2.19 configures them, on [`Value`]s, with
//! unknown values propagated.
//!
//! # Why an evaluator of our own (on minijinja's parser)
//!
//! Partial evaluation must never give a wrong known answer. minijinja's VM
//! gives no hook where an unknown value meets `==`, `in` or a branch
//! condition: a custom object compared with a string is simply unequal,
//! so `ansible_facts.os_family == 'Debian'` would silently be `false`.
//! Analysing free variables first is sound but too coarse: `enable_x |
//! bool and ansible_facts.y` is known `false` when `enable_x` is false,
//! and `keystone_services.keystone.enabled` is known even if another item
//! of that dict depends on a fact. So every operation here is written
//! against three outcomes — a value, an error, or "unknown" ([`Flow`]) —
//! with Python's semantics (which minijinja's VM also differs from:
//! `'<'` between types, `%` formatting, integer division, undefined
//! values that only fail when used, as 2.19's markers do).
//!
//! Rules for unknown values ([`Value::Unknown`]):
//! - they flow as values into variables, lists, dicts, attribute access
//!   (`fact.x` is unknown) and through filters' inputs;
//! - anything that needs the actual value (a comparison, arithmetic, a
//!   branch, a filter that inspects it) makes the result unknown;
//! - short-circuits decide without them when they can (`false and fact`
//!   never looks at `fact`); `fact and x` is unknown.
//!
//! Markers (undefined values, deferred errors) flow the same way and fail
//! when used, except through `default`, `is defined` and the like.

use std::sync::Arc;

use super::ast::{Arg, BinOp, Body, CmpOp, Compiled, Expr, Sp, Stmt, Target};
use super::error::{type_err, value_err, Deps, ErrorKind, Flow, TemplateError, R};
use super::scope::{Lookup, Scope};
use super::value::{py_cmp, py_contains, py_eq, py_str, Dict, Key, List, Namespace, Num, Value};
use super::{filters, lookups, methods, tests, Templar};

/// How much stack the evaluation of a template may use, the templates of
/// the variables it reads included: beyond, it is an error (as Python's
/// recursion limit is for Ansible) rather than a stack overflow. Half of
/// the 2 MiB Rust gives spawned threads, leaving room for the filters
/// that run at the deepest level.
pub(crate) const STACK_BUDGET: usize = 1 << 20;

/// And how many expressions and statements may be under evaluation at
/// once (a bound that does not depend on frame sizes).
pub(crate) const MAX_EVAL_DEPTH: usize = 20_000;

thread_local! {
    /// Evaluation levels on this thread, and the stack address of the
    /// outermost.
    static DEPTH: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// Leaves an evaluation level when dropped.
pub(crate) struct Depth;

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| {
            let (n, base) = d.get();
            d.set((n.saturating_sub(1), base));
        });
    }
}

/// Enter an evaluation level.
pub(crate) fn enter() -> R<Depth> {
    let probe = 0u8;
    let here = std::hint::black_box(&probe) as *const u8 as usize;
    let (n, base) = DEPTH.with(|d| {
        let (n, base) = d.get();
        let base = if n == 0 { here } else { base };
        d.set((n + 1, base));
        (n + 1, base)
    });
    let guard = Depth;
    if n > MAX_EVAL_DEPTH || base.abs_diff(here) > STACK_BUDGET {
        return Err(TemplateError::new(
            ErrorKind::Limit,
            "templates nest too deeply (through variables or expressions)",
        )
        .into());
    }
    Ok(guard)
}

/// The message of the undefined value an `x if c` without `else` gives
/// when `c` is false: empty in a string, an error as a whole result.
pub(crate) const UNDEFINED_IF: &str = "Type 'Undefined' is unsupported for variable storage.";

/// Evaluated call arguments.
#[derive(Default, Clone)]
pub(crate) struct CallArgs {
    pub pos: Vec<Value>,
    pub kw: Vec<(Arc<str>, Value)>,
}

impl CallArgs {
    pub(crate) fn kw(&self, name: &str) -> Option<&Value> {
        self.kw.iter().find(|(k, _)| &**k == name).map(|(_, v)| v)
    }

    /// Bind to a Python signature: positional parameters in order, then
    /// keywords by name. Unknown keywords are an error unless `extra_kw`.
    pub(crate) fn bind(&self, func: &str, names: &[&str], extra_kw: bool) -> R<Vec<Option<Value>>> {
        if self.pos.len() > names.len() {
            return type_err(format!(
                "{func}() takes {} positional arguments but {} were given",
                names.len(),
                self.pos.len()
            ));
        }
        let mut out: Vec<Option<Value>> = vec![None; names.len()];
        for (i, v) in self.pos.iter().enumerate() {
            out[i] = Some(v.clone());
        }
        for (k, v) in &self.kw {
            match names.iter().position(|n| *n == &**k) {
                Some(i) => {
                    if out[i].is_some() {
                        return type_err(format!(
                            "{func}() got multiple values for argument '{k}'"
                        ));
                    }
                    out[i] = Some(v.clone());
                }
                None if extra_kw => {}
                None => {
                    return type_err(format!("{func}() got an unexpected keyword argument '{k}'"))
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn first_marker(&self) -> Option<&Value> {
        self.pos
            .iter()
            .chain(self.kw.iter().map(|(_, v)| v))
            .find(|v| v.is_marker())
    }

    /// The names of the arguments that are unknown (at the top level).
    pub(crate) fn unknown_deps(&self) -> Option<Deps> {
        let mut out: Option<Deps> = None;
        for v in self.pos.iter().chain(self.kw.iter().map(|(_, v)| v)) {
            if let Value::Unknown(d) = v {
                out = Some(match out {
                    Some(o) => o.union(d),
                    None => d.clone(),
                });
            }
        }
        out
    }
}

/// The output of a template: Jinja2's nodes (`None` skipped), joined as
/// Ansible's native `concat` does.
#[derive(Default)]
pub(crate) struct Out {
    nodes: Vec<Value>,
    unknown: Option<Deps>,
}

impl Out {
    fn push(&mut self, v: Value) {
        match v {
            Value::None => {}
            Value::Unknown(d) => self.add_unknown(d),
            v => self.nodes.push(v),
        }
    }

    fn add_unknown(&mut self, d: Deps) {
        self.unknown = Some(match self.unknown.take() {
            Some(u) => u.union(&d),
            None => d,
        });
    }

    /// One node is the result itself (native types); several are joined
    /// as strings; none is `None`.
    fn finish(mut self) -> R<Value> {
        if let Some(d) = self.unknown {
            // An undefined part fails whatever the unknown parts are.
            for n in &self.nodes {
                if let Value::Marker(e) = n {
                    if e.message != UNDEFINED_IF {
                        return Err(Flow::Error(Box::new((**e).clone())));
                    }
                }
            }
            return Err(Flow::Unknown(d));
        }
        match self.nodes.len() {
            0 => Ok(Value::None),
            1 => Ok(self.nodes.pop().unwrap_or(Value::None)),
            _ => {
                let mut s = String::new();
                for n in &self.nodes {
                    match n {
                        Value::Marker(e) if e.message == UNDEFINED_IF => {}
                        Value::Omit => {
                            return Err(TemplateError::new(
                                ErrorKind::Omit,
                                "omit cannot be part of a string",
                            )
                            .into())
                        }
                        n => s.push_str(&py_str(n)?),
                    }
                }
                Ok(Value::from(s))
            }
        }
    }
}

pub(crate) struct Ev<'a> {
    pub(crate) templar: &'a Templar,
    pub(crate) scope: &'a dyn Scope,
    pub(crate) source: Arc<str>,
    frames: Vec<Vec<(Arc<str>, Value)>>,
}

/// Run a compiled template or expression.
pub(crate) fn run(templar: &Templar, c: &Compiled, scope: &dyn Scope) -> R<Value> {
    let provided = |kind: &str, name: &str| {
        kind == "filter" && templar.options().kolla_filters && super::kolla::find(name).is_some()
    };
    if let Some((sp, kind, name)) = c.missing.iter().find(|(_, k, n)| !provided(k, n)) {
        if !templar.options().missing_plugins_unknown {
            return Err(
                TemplateError::unsupported(format!("No {kind} named '{name}'."))
                    .at(&c.source, sp.text_span())
                    .into(),
            );
        }
    }
    let mut ev = Ev {
        templar,
        scope,
        source: Arc::clone(&c.source),
        frames: vec![Vec::new()],
    };
    match &c.body {
        Body::Expr(e) => ev.expr(e),
        Body::Template(stmts) => {
            let mut out = Out::default();
            match ev.stmts(stmts, &mut out) {
                Ok(_) => out.finish(),
                Err(Flow::Unknown(d)) => Err(Flow::Unknown(match out.unknown {
                    Some(u) => u.union(&d),
                    None => d,
                })),
                Err(e) => Err(e),
            }
        }
    }
}

fn union(a: Option<Deps>, b: &Deps) -> Deps {
    match a {
        Some(a) => a.union(b),
        None => b.clone(),
    }
}

/// The deps of the top-level unknown values among `vals`.
fn unknown_among(vals: &[&Value]) -> Option<Deps> {
    let mut out = None;
    for v in vals {
        if let Value::Unknown(d) = v {
            out = Some(union(out, d));
        }
    }
    out
}

impl<'a> Ev<'a> {
    /// A fresh evaluator for a nested call (filters that evaluate tests),
    /// sharing this one's context.
    pub(crate) fn scope(&self) -> &'a dyn Scope {
        self.scope
    }

    fn locate(&self, f: Flow, sp: Sp) -> Flow {
        match f {
            Flow::Error(e) => Flow::Error(Box::new(e.at(&self.source, sp.text_span()))),
            u => u,
        }
    }

    pub(crate) fn undefined(&self, message: impl Into<String>, sp: Sp) -> Value {
        Value::marker(TemplateError::undefined(message).at(&self.source, sp.text_span()))
    }

    // ----- statements -----

    fn stmts(&mut self, stmts: &[Stmt], out: &mut Out) -> R<()> {
        for s in stmts {
            self.stmt(s, out)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Out) -> R<()> {
        let _depth = enter()?;
        match s {
            Stmt::Raw(text) => {
                if !text.is_empty() {
                    out.push(Value::Str(Arc::clone(text)));
                }
            }
            Stmt::Emit(e) => match self.expr(e) {
                Ok(v) => out.push(v),
                Err(Flow::Unknown(d)) => out.add_unknown(d),
                Err(f) => return Err(f),
            },
            Stmt::If(cond, then, otherwise) => {
                let c = self.expr(cond)?;
                let b = c.is_true().map_err(|f| self.locate(f, cond.sp()))?;
                return self.stmts(if b { then } else { otherwise }, out);
            }
            Stmt::For {
                sp,
                target,
                iter,
                filter,
                body,
                otherwise,
            } => return self.for_loop(*sp, target, iter, filter.as_ref(), body, otherwise, out),
            Stmt::Set(target, e) => {
                let v = self.expr(e)?;
                self.assign(target, v, e.sp())?;
            }
            Stmt::SetBlock(target, filter, body) => {
                let mut inner = Out::default();
                self.stmts(body, &mut inner)?;
                let mut v = inner.finish()?;
                if let Some(f) = filter {
                    v = self.filter_chain(f, v)?;
                }
                self.assign(target, v, Sp::default())?;
            }
            Stmt::With(assigns, body) => {
                let mut frame = Vec::new();
                for (t, e) in assigns {
                    let v = self.expr(e)?;
                    bind_target(t, v, &mut frame, &self.source, e.sp())?;
                }
                self.frames.push(frame);
                let r = self.stmts(body, out);
                self.frames.pop();
                return r;
            }
            Stmt::FilterBlock(f, body) => {
                let mut inner = Out::default();
                self.stmts(body, &mut inner)?;
                let v = inner.finish()?;
                let v = self.filter_chain(f, v)?;
                out.push(v);
            }
            Stmt::Do(e) => {
                self.expr(e)?;
            }
            Stmt::Unsupported(sp, what) => {
                return Err(TemplateError::unsupported(format!(
                    "{what} is not supported by this templating (static translation)"
                ))
                .at(&self.source, sp.text_span())
                .into())
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn for_loop(
        &mut self,
        sp: Sp,
        target: &Target,
        iter: &Expr,
        filter: Option<&Expr>,
        body: &[Stmt],
        otherwise: &[Stmt],
        out: &mut Out,
    ) -> R<()> {
        let seq = self.expr(iter)?;
        let items = iterate(&seq).map_err(|f| self.locate(f, iter.sp()))?;
        let items = match filter {
            None => items,
            Some(f) => {
                let mut kept = Vec::new();
                for item in items {
                    let mut frame = Vec::new();
                    bind_target(target, item.clone(), &mut frame, &self.source, sp)?;
                    self.frames.push(frame);
                    let r = self.expr(f).and_then(|v| v.is_true());
                    self.frames.pop();
                    if r.map_err(|e| self.locate(e, f.sp()))? {
                        kept.push(item);
                    }
                }
                kept
            }
        };
        if items.is_empty() {
            return self.stmts(otherwise, out);
        }
        let n = items.len();
        for (i, item) in items.iter().enumerate() {
            let mut frame = Vec::new();
            bind_target(target, item.clone(), &mut frame, &self.source, sp)?;
            let loop_info: Dict = [
                ("index", Value::Int(i as i64 + 1)),
                ("index0", Value::Int(i as i64)),
                ("revindex", Value::Int((n - i) as i64)),
                ("revindex0", Value::Int((n - i - 1) as i64)),
                ("first", Value::Bool(i == 0)),
                ("last", Value::Bool(i + 1 == n)),
                ("length", Value::Int(n as i64)),
                ("depth", Value::Int(1)),
                ("depth0", Value::Int(0)),
                (
                    "previtem",
                    if i > 0 {
                        items[i - 1].clone()
                    } else {
                        self.undefined("there is no previous item", sp)
                    },
                ),
                (
                    "nextitem",
                    items
                        .get(i + 1)
                        .cloned()
                        .unwrap_or_else(|| self.undefined("there is no next item", sp)),
                ),
            ]
            .into_iter()
            .map(|(k, v)| (Key::str(k), v))
            .collect();
            frame.push((Arc::from("loop"), Value::Dict(loop_info)));
            self.frames.push(frame);
            let r = self.stmts(body, out);
            self.frames.pop();
            r?;
        }
        Ok(())
    }

    fn assign(&mut self, target: &Target, v: Value, sp: Sp) -> R<()> {
        if let Target::Attr(ns, attr) = target {
            return match self.lookup_local(ns) {
                Some(Value::Namespace(n)) => {
                    n.set(attr, v);
                    Ok(())
                }
                _ => Err(TemplateError::ty(format!(
                    "cannot assign attribute on non-namespace object '{ns}'"
                ))
                .at(&self.source, sp.text_span())
                .into()),
            };
        }
        let source = Arc::clone(&self.source);
        let frame = self.frames.last_mut().expect("there is always a frame");
        bind_target(target, v, frame, &source, sp)
    }

    fn lookup_local(&self, name: &str) -> Option<Value> {
        for frame in self.frames.iter().rev() {
            if let Some((_, v)) = frame.iter().rev().find(|(k, _)| &**k == name) {
                return Some(v.clone());
            }
        }
        None
    }

    // ----- expressions -----

    pub(crate) fn expr(&mut self, e: &Expr) -> R<Value> {
        let _depth = enter().map_err(|f| self.locate(f, e.sp()))?;
        self.expr_inner(e)
    }

    fn expr_inner(&mut self, e: &Expr) -> R<Value> {
        match e {
            Expr::Const(_, v) => Ok(v.clone()),
            Expr::Var(sp, name) => Ok(self.var(name, *sp)),
            Expr::Embedded(sp, text) => {
                // A template inside a conditional's string constant
                // (deprecated in ansible-core 2.19, still done).
                let c = self
                    .templar
                    .compile_template(text)
                    .map_err(|e| Flow::from(e.at(&self.source, sp.text_span())))?;
                run(self.templar, &c, self.scope)
            }
            Expr::List(_, items) | Expr::Tuple(_, items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.expr(i)?);
                }
                Ok(Value::from(out))
            }
            Expr::Map(sp, items) => {
                let mut m = indexmap::IndexMap::with_capacity(items.len());
                for (k, v) in items {
                    let k = self.expr(k)?;
                    let v = self.expr(v)?;
                    let k = Key::from_value(&k).map_err(|f| self.locate(f, *sp))?;
                    m.insert(k, v);
                }
                Ok(Value::Dict(m.into_iter().collect()))
            }
            Expr::Attr(sp, obj, name) => {
                if self.is_magic_vars(obj) {
                    return Ok(self.vars_item(&Value::str(name), *sp));
                }
                let o = self.expr(obj)?;
                Ok(self.attr(o, name, *sp))
            }
            Expr::Item(sp, obj, index) => {
                if self.is_magic_vars(obj) {
                    let i = self.expr(index)?;
                    return Ok(self.vars_item(&i, *sp));
                }
                let o = self.expr(obj)?;
                let i = self.expr(index)?;
                self.item(o, i, *sp).map_err(|f| self.locate(f, *sp))
            }
            Expr::Slice {
                sp,
                expr,
                start,
                stop,
                step,
            } => {
                let o = self.expr(expr)?;
                let mut bound = |e: &Option<Box<Expr>>| -> R<Option<Value>> {
                    match e {
                        Some(e) => Ok(Some(self.expr(e)?)),
                        None => Ok(None),
                    }
                };
                let (a, b, c) = (bound(start)?, bound(stop)?, bound(step)?);
                slice(&o, a, b, c).map_err(|f| self.locate(f, *sp))
            }
            Expr::Not(sp, x) => {
                let v = self.expr(x)?;
                match v.is_true() {
                    Ok(b) => Ok(Value::Bool(!b)),
                    Err(Flow::Unknown(d)) => Ok(Value::Unknown(d)),
                    Err(f) => Err(self.locate(f, *sp)),
                }
            }
            Expr::Neg(sp, x) => {
                let v = self.expr(x)?;
                if let Value::Unknown(_) = v {
                    return Ok(v);
                }
                match v.known().map_err(|f| self.locate(f, *sp))?.as_number() {
                    Some(Num::Int(i)) => i
                        .checked_neg()
                        .map(Value::Int)
                        .ok_or_else(|| overflow().at(&self.source, sp.text_span()).into()),
                    Some(Num::Float(f)) => Ok(Value::Float(-f)),
                    None => Err(self.locate(
                        TemplateError::ty(format!(
                            "bad operand type for unary -: '{}'",
                            v.type_name()
                        ))
                        .into(),
                        *sp,
                    )),
                }
            }
            Expr::And(sp, l, r) => {
                let lv = self.expr(l)?;
                match lv.is_true() {
                    Ok(true) => self.expr(r),
                    Ok(false) => Ok(lv),
                    Err(Flow::Unknown(d)) => Ok(Value::Unknown(self.also_unknown(d, r))),
                    Err(f) => Err(self.locate(f, *sp)),
                }
            }
            Expr::Or(sp, l, r) => {
                let lv = self.expr(l)?;
                match lv.is_true() {
                    Ok(true) => Ok(lv),
                    Ok(false) => self.expr(r),
                    Err(Flow::Unknown(d)) => Ok(Value::Unknown(self.also_unknown(d, r))),
                    Err(f) => Err(self.locate(f, *sp)),
                }
            }
            Expr::If {
                sp,
                test,
                then,
                otherwise,
            } => {
                let t = self.expr(test)?;
                match t.is_true() {
                    Ok(true) => self.expr(then),
                    Ok(false) => match otherwise {
                        Some(o) => self.expr(o),
                        None => Ok(self.undefined(UNDEFINED_IF, *sp)),
                    },
                    Err(Flow::Unknown(d)) => {
                        let mut d = self.also_unknown(d, then);
                        if let Some(o) = otherwise {
                            d = self.also_unknown(d, o);
                        }
                        Ok(Value::Unknown(d))
                    }
                    Err(f) => Err(self.locate(f, *sp)),
                }
            }
            Expr::Bin(sp, op, l, r) => {
                let lv = self.expr(l)?;
                let rv = self.expr(r)?;
                let tuple_rhs = matches!(**r, Expr::Tuple(..));
                self.binop(*op, &lv, &rv, tuple_rhs)
                    .map_err(|f| self.locate(f, *sp))
            }
            Expr::Compare(sp, first, rest) => {
                let mut left = self.expr(first)?;
                for (op, e) in rest {
                    let right = self.expr(e)?;
                    let ok = compare(*op, &left, &right).map_err(|f| self.locate(f, *sp));
                    match ok {
                        Ok(true) => {}
                        Ok(false) => return Ok(Value::Bool(false)),
                        Err(Flow::Unknown(d)) => return Ok(Value::Unknown(d)),
                        Err(f) => return Err(f),
                    }
                    left = right;
                }
                Ok(Value::Bool(true))
            }
            Expr::Filter {
                sp,
                name,
                input,
                args,
            } => {
                let v = match input {
                    Some(i) => self.expr(i)?,
                    None => Value::None,
                };
                let args = self.args(args)?;
                self.call_filter(name, v, args, *sp)
            }
            Expr::Test {
                sp,
                name,
                expr,
                args,
            } => {
                let v = self.expr(expr)?;
                let args = self.args(args)?;
                self.call_test(name, v, args, *sp)
            }
            Expr::Call(sp, callee, args) => self.call(callee, args, *sp),
        }
    }

    /// The deps of `d` and of `e` if it evaluates to something unknown
    /// (the other side of a branch the unknown value decides).
    fn also_unknown(&mut self, d: Deps, e: &Expr) -> Deps {
        match self.expr(e) {
            Ok(Value::Unknown(x)) | Err(Flow::Unknown(x)) => d.union(&x),
            _ => d,
        }
    }

    /// Apply a filter chain (`{% filter %}`, `{% set x | f %}`) whose
    /// innermost input is `input`.
    fn filter_chain(&mut self, f: &Expr, input: Value) -> R<Value> {
        match f {
            Expr::Filter {
                sp,
                name,
                input: inner,
                args,
            } => {
                let v = match inner {
                    Some(i) => self.filter_chain(i, input)?,
                    None => input,
                };
                let args = self.args(args)?;
                self.call_filter(name, v, args, *sp)
            }
            other => self.expr(other),
        }
    }

    /// `vars` not defined as a variable: Ansible's magic `vars`, every
    /// variable by name (`vars[item] is defined`).
    fn is_magic_vars(&self, e: &Expr) -> bool {
        matches!(e, Expr::Var(_, n) if &**n == "vars")
            && self.lookup_local("vars").is_none()
            && matches!(self.scope.lookup("vars"), Lookup::Undefined)
    }

    fn vars_item(&self, name: &Value, sp: Sp) -> Value {
        match name {
            Value::Unknown(_) | Value::Marker(_) => name.clone(),
            Value::Str(n) => match self.scope.lookup(n) {
                Lookup::Known(v) => v,
                Lookup::Unknown => Value::unknown(n.to_string()),
                Lookup::Undefined => {
                    self.undefined(format!("object of type 'dict' has no attribute '{n}'"), sp)
                }
            },
            other => self.undefined(
                format!(
                    "object of type 'dict' has no attribute {}",
                    super::value::py_repr_scalar(other)
                ),
                sp,
            ),
        }
    }

    fn var(&mut self, name: &str, sp: Sp) -> Value {
        if let Some(v) = self.lookup_local(name) {
            return v;
        }
        match self.scope.lookup(name) {
            Lookup::Known(v) => v,
            Lookup::Unknown => Value::unknown(name),
            Lookup::Undefined => match name {
                "omit" => Value::Omit,
                _ => self.undefined(format!("'{name}' is undefined"), sp),
            },
        }
    }

    pub(crate) fn attr(&self, o: Value, name: &str, sp: Sp) -> Value {
        match &o {
            Value::Unknown(_) | Value::Marker(_) => o,
            Value::Dict(d) => match d.get_str(name) {
                Some(v) => v,
                None => self.undefined(
                    format!("object of type 'dict' has no attribute '{name}'"),
                    sp,
                ),
            },
            Value::Namespace(n) => match n.get(name) {
                Some(v) => v,
                None => self.undefined(
                    format!("object of type 'Namespace' has no attribute '{name}'"),
                    sp,
                ),
            },
            other => self.undefined(
                format!(
                    "object of type '{}' has no attribute '{name}'",
                    other.type_name()
                ),
                sp,
            ),
        }
    }

    fn item(&self, o: Value, i: Value, sp: Sp) -> R<Value> {
        if matches!(o, Value::Unknown(_) | Value::Marker(_)) {
            return Ok(o);
        }
        if let Value::Unknown(_) = i {
            return Ok(i);
        }
        let i = i.known()?;
        let missing = |what: String| {
            Ok(self.undefined(
                format!("object of type '{}' has no attribute {what}", o.type_name()),
                sp,
            ))
        };
        match (&o, i) {
            (Value::Dict(d), _) => {
                let k = Key::from_value(i)?;
                match d.get(&k) {
                    Some(v) => Ok(v),
                    None => missing(super::value::py_repr_scalar(i)),
                }
            }
            (Value::List(l), Value::Int(_) | Value::Bool(_)) => {
                let n = match i.as_number() {
                    Some(Num::Int(n)) => n,
                    _ => 0,
                };
                let idx = if n < 0 { n + l.len() as i64 } else { n };
                match usize::try_from(idx).ok().and_then(|x| l.get(x)) {
                    Some(v) => Ok(v),
                    None => missing(n.to_string()),
                }
            }
            (Value::Str(s), Value::Int(n)) => {
                let len = s.chars().count() as i64;
                let idx = if *n < 0 { n + len } else { *n };
                match usize::try_from(idx).ok().and_then(|x| s.chars().nth(x)) {
                    Some(c) => Ok(Value::from(c.to_string())),
                    None => missing(n.to_string()),
                }
            }
            (Value::Namespace(_), Value::Str(s)) => Ok(self.attr(o.clone(), s, sp)),
            (_, Value::Str(s)) => missing(format!("'{s}'")),
            (_, other) => missing(super::value::py_repr_scalar(other)),
        }
    }

    fn args(&mut self, args: &[Arg]) -> R<CallArgs> {
        let mut out = CallArgs::default();
        for a in args {
            match a {
                Arg::Pos(e) => {
                    let v = self.expr(e)?;
                    out.pos.push(v);
                }
                Arg::Kw(k, e) => {
                    let v = self.expr(e)?;
                    out.kw.push((Arc::clone(k), v));
                }
                Arg::Splat(e) => {
                    let v = self.expr(e)?;
                    out.pos
                        .extend(iterate(&v).map_err(|f| self.locate(f, e.sp()))?);
                }
                Arg::KwSplat(e) => {
                    let v = self.expr(e)?;
                    match v.known().map_err(|f| self.locate(f, e.sp()))? {
                        Value::Dict(d) => {
                            for (k, v) in d.iter() {
                                out.kw.push((Arc::from(k.to_string()), v));
                            }
                        }
                        other => {
                            return Err(self.locate(
                                TemplateError::ty(format!(
                                    "argument after ** must be a mapping, not {}",
                                    other.type_name()
                                ))
                                .into(),
                                e.sp(),
                            ))
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn call_filter(
        &mut self,
        name: &str,
        input: Value,
        args: CallArgs,
        sp: Sp,
    ) -> R<Value> {
        let kolla = || {
            self.templar
                .options()
                .kolla_filters
                .then(|| super::kolla::find(name))
                .flatten()
        };
        let Some(def) = filters::find(name).or_else(kolla) else {
            return self.missing_plugin("filter", name, sp, &input, &args);
        };
        if !def.markers {
            if input.is_marker() {
                return Ok(input);
            }
            if let Some(m) = args.first_marker() {
                return Ok(m.clone());
            }
        }
        if let Value::Unknown(d) = &input {
            if !def.unknown_input {
                return Ok(Value::Unknown(union(args.unknown_deps(), d)));
            }
        }
        match (def.f)(self, input, &args) {
            Ok(v) => Ok(v),
            Err(Flow::Unknown(d)) => Ok(Value::Unknown(union(args.unknown_deps(), &d))),
            Err(f) => Err(self.locate(f, sp)),
        }
    }

    pub(crate) fn call_test(&mut self, name: &str, v: Value, args: CallArgs, sp: Sp) -> R<Value> {
        let Some(def) = tests::find(name) else {
            return self.missing_plugin("test", name, sp, &v, &args);
        };
        if !def.markers {
            if v.is_marker() {
                return Ok(v);
            }
            if let Some(m) = args.first_marker() {
                return Ok(m.clone());
            }
        }
        if let Value::Unknown(d) = &v {
            return Ok(Value::Unknown(union(args.unknown_deps(), d)));
        }
        match (def.f)(self, &v, &args) {
            Ok(b) => Ok(Value::Bool(b)),
            Err(Flow::Unknown(d)) => Ok(Value::Unknown(union(args.unknown_deps(), &d))),
            Err(f) => Err(self.locate(f, sp)),
        }
    }

    fn missing_plugin(
        &self,
        kind: &str,
        name: &str,
        sp: Sp,
        input: &Value,
        args: &CallArgs,
    ) -> R<Value> {
        if self.templar.options().missing_plugins_unknown {
            let mut d = Deps::one(format!("{kind}:{name}"));
            if let Value::Unknown(i) = input {
                d = d.union(i);
            }
            if let Some(a) = args.unknown_deps() {
                d = d.union(&a);
            }
            return Ok(Value::Unknown(d));
        }
        // Jinja2 says so when the template runs (a name inside an `if`;
        // outside, compiling refused it already).
        Err(
            TemplateError::unsupported(format!("No {kind} named '{name}' found."))
                .at(&self.source, sp.text_span())
                .into(),
        )
    }

    fn call(&mut self, callee: &Expr, args: &[Arg], sp: Sp) -> R<Value> {
        match callee {
            Expr::Attr(_, recv, method) => {
                let r = self.expr(recv)?;
                let a = self.args(args)?;
                if r.is_marker() {
                    return Ok(r);
                }
                if let Value::Unknown(d) = &r {
                    return Ok(Value::Unknown(union(a.unknown_deps(), d)));
                }
                match methods::call(self, &r, method, &a) {
                    Ok(v) => Ok(v),
                    Err(Flow::Unknown(d)) => Ok(Value::Unknown(union(a.unknown_deps(), &d))),
                    Err(f) => Err(self.locate(f, sp)),
                }
            }
            Expr::Var(_, name) if self.lookup_local(name).is_none() && is_global(name) => {
                let a = if matches!(&**name, "lookup" | "query" | "q") {
                    self.lookup_args(args)?
                } else {
                    self.args(args)?
                };
                match self.global(name, a) {
                    Ok(v) => Ok(v),
                    Err(Flow::Unknown(d)) => Ok(Value::Unknown(d)),
                    Err(f) => Err(self.locate(f, sp)),
                }
            }
            other => {
                let f = self.expr(other)?;
                self.args(args)?;
                match f {
                    Value::Unknown(_) | Value::Marker(_) => Ok(f),
                    f => Err(self.locate(
                        TemplateError::ty(format!("'{}' object is not callable", f.type_name()))
                            .into(),
                        sp,
                    )),
                }
            }
        }
    }

    /// Arguments of `lookup()`/`query()`: string constants that look like
    /// templates are templated (Ansible's deprecated embedded templates).
    fn lookup_args(&mut self, args: &[Arg]) -> R<CallArgs> {
        let mut out = self.args(args)?;
        let mut i = 0;
        for a in args {
            match a {
                Arg::Pos(Expr::Const(sp, Value::Str(s))) => {
                    if i > 0 && super::ast::is_possibly_template(s) {
                        let c = self
                            .templar
                            .compile_template(s)
                            .map_err(|e| Flow::from(e.at(&self.source, sp.text_span())))?;
                        out.pos[i] = match run(self.templar, &c, self.scope) {
                            Ok(v) => v,
                            Err(Flow::Unknown(d)) => Value::Unknown(d),
                            Err(e) => return Err(e),
                        };
                    }
                    i += 1;
                }
                Arg::Pos(_) => i += 1,
                _ => {}
            }
        }
        Ok(out)
    }

    fn global(&mut self, name: &str, a: CallArgs) -> R<Value> {
        match name {
            "lookup" | "query" | "q" => lookups::call(self, name != "lookup", &a),
            "range" => range(&a),
            "dict" => {
                let mut d = indexmap::IndexMap::new();
                if let Some(first) = a.pos.first() {
                    for (k, v) in dict_items(first)? {
                        d.insert(k, v);
                    }
                }
                for (k, v) in &a.kw {
                    d.insert(Key::Str(Arc::clone(k)), v.clone());
                }
                Ok(Value::Dict(d.into_iter().collect()))
            }
            "namespace" => {
                let ns = Namespace::default();
                if let Some(first) = a.pos.first() {
                    for (k, v) in dict_items(first)? {
                        ns.set(&k.to_string(), v);
                    }
                }
                for (k, v) in &a.kw {
                    ns.set(k, v.clone());
                }
                Ok(Value::Namespace(ns))
            }
            "undef" => {
                let hint = a.bind("undef", &["hint"], false)?;
                let msg = match &hint[0] {
                    Some(v) => py_str(v)?,
                    None => "Mandatory variable has not been overridden".to_string(),
                };
                Ok(Value::undefined(msg))
            }
            "now" => Ok(Value::unknown("now()")),
            _ => Err(TemplateError::unsupported(format!("'{name}' is not supported")).into()),
        }
    }

    fn binop(&self, op: BinOp, l: &Value, r: &Value, tuple_rhs: bool) -> R<Value> {
        // Markers fail first (Python evaluates both sides, then the
        // operator trips on the undefined one).
        l.known().or_else(|f| match f {
            Flow::Unknown(_) => Ok(l),
            e => Err(e),
        })?;
        r.known().or_else(|f| match f {
            Flow::Unknown(_) => Ok(r),
            e => Err(e),
        })?;
        if let Some(d) = unknown_among(&[l, r]) {
            return Ok(Value::Unknown(d));
        }
        arith(op, l, r, tuple_rhs)
    }
}

fn overflow() -> TemplateError {
    TemplateError::new(
        ErrorKind::Limit,
        "integer overflow: values beyond 64 bits are not supported",
    )
}

fn is_global(name: &str) -> bool {
    matches!(
        name,
        "lookup" | "query" | "q" | "range" | "dict" | "namespace" | "undef" | "now"
    )
}

/// Bind an assignment target.
fn bind_target(
    t: &Target,
    v: Value,
    frame: &mut Vec<(Arc<str>, Value)>,
    source: &Arc<str>,
    sp: Sp,
) -> R<()> {
    match t {
        Target::Name(n) => {
            frame.retain(|(k, _)| k != n);
            frame.push((Arc::clone(n), v));
            Ok(())
        }
        Target::Tuple(ts) => {
            if let Value::Unknown(_) = v {
                for t in ts {
                    bind_target(t, v.clone(), frame, source, sp)?;
                }
                return Ok(());
            }
            let items = iterate(&v).map_err(|f| match f {
                Flow::Error(e) => Flow::Error(Box::new(e.at(source, sp.text_span()))),
                u => u,
            })?;
            if items.len() != ts.len() {
                return Err(TemplateError::value(format!(
                    "cannot unpack {} values into {}",
                    items.len(),
                    ts.len()
                ))
                .at(source, sp.text_span())
                .into());
            }
            for (t, v) in ts.iter().zip(items) {
                bind_target(t, v, frame, source, sp)?;
            }
            Ok(())
        }
        Target::Attr(..) => Err(TemplateError::unsupported("nested namespace assignment")
            .at(source, sp.text_span())
            .into()),
    }
}

/// Python iteration: a list's items, a dict's keys, a string's
/// characters.
pub(crate) fn iterate(v: &Value) -> R<Vec<Value>> {
    match v.known()? {
        Value::List(l) => Ok(l.to_vec()),
        Value::Dict(d) => Ok(d.keys().map(Key::to_value).collect()),
        Value::Str(s) => Ok(s.chars().map(|c| Value::from(c.to_string())).collect()),
        other => type_err(format!("'{}' object is not iterable", other.type_name())),
    }
}

/// The `(key, value)` pairs of a dict, or of a list of pairs.
pub(crate) fn dict_items(v: &Value) -> R<Vec<(Key, Value)>> {
    match v.known()? {
        Value::Dict(d) => Ok(d.iter().map(|(k, v)| (k.clone(), v)).collect()),
        other => {
            let mut out = Vec::new();
            for item in iterate(other)? {
                let pair = iterate(&item)?;
                if pair.len() != 2 {
                    return value_err(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        pair.len()
                    ));
                }
                out.push((Key::from_value(&pair[0])?, pair[1].clone()));
            }
            Ok(out)
        }
    }
}

/// One comparison of a chain.
fn compare(op: CmpOp, l: &Value, r: &Value) -> R<bool> {
    l.known().or_else(|f| match f {
        Flow::Unknown(_) => Ok(l),
        e => Err(e),
    })?;
    r.known().or_else(|f| match f {
        Flow::Unknown(_) => Ok(r),
        e => Err(e),
    })?;
    if let Some(d) = unknown_among(&[l, r]) {
        return Err(Flow::Unknown(d));
    }
    use std::cmp::Ordering::*;
    Ok(match op {
        CmpOp::Eq => py_eq(l, r)?,
        CmpOp::Ne => !py_eq(l, r)?,
        CmpOp::Lt => py_cmp(l, r, "<")? == Less,
        CmpOp::Le => py_cmp(l, r, "<=")? != Greater,
        CmpOp::Gt => py_cmp(l, r, ">")? == Greater,
        CmpOp::Ge => py_cmp(l, r, ">=")? != Less,
        CmpOp::In => py_contains(r, l)?,
        CmpOp::NotIn => !py_contains(r, l)?,
    })
}

/// The most items a computed list or string may have (`'a' * n`,
/// `range(n)`): beyond is an error rather than an out-of-memory.
pub(crate) const MAX_ITEMS: usize = 10_000_000;

fn repeat_count(n: i64, unit: usize) -> R<usize> {
    let n = n.max(0) as usize;
    if n.saturating_mul(unit.max(1)) > MAX_ITEMS {
        return Err(TemplateError::new(ErrorKind::Limit, "result too large").into());
    }
    Ok(n)
}

/// Python's binary operators on known values.
pub(crate) fn arith(op: BinOp, l: &Value, r: &Value, tuple_rhs: bool) -> R<Value> {
    let sym = match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::FloorDiv => "//",
        BinOp::Rem => "%",
        BinOp::Pow => "**",
        BinOp::Concat => "~",
    };
    let unsupported = || {
        type_err(format!(
            "unsupported operand type(s) for {sym}: '{}' and '{}'",
            l.type_name(),
            r.type_name()
        ))
    };
    if op == BinOp::Concat {
        return Ok(Value::from(py_str(l)? + &py_str(r)?));
    }
    match (l, r) {
        (Value::Str(a), Value::Str(b)) if op == BinOp::Add => {
            return Ok(Value::from(format!("{a}{b}")))
        }
        (Value::Str(_), b) if op == BinOp::Add => {
            return type_err(format!(
                "can only concatenate str (not \"{}\") to str",
                b.type_name()
            ))
        }
        (Value::List(a), Value::List(b)) if op == BinOp::Add => {
            let mut v = a.to_vec();
            v.extend(b.iter());
            return Ok(Value::from(v));
        }
        (Value::List(_), b) if op == BinOp::Add => {
            return type_err(format!(
                "can only concatenate list (not \"{}\") to list",
                b.type_name()
            ))
        }
        (Value::Str(s), n) | (n, Value::Str(s))
            if op == BinOp::Mul && matches!(n, Value::Int(_) | Value::Bool(_)) =>
        {
            let k = match n.as_number() {
                Some(Num::Int(k)) => k,
                _ => 0,
            };
            return Ok(Value::from(s.repeat(repeat_count(k, s.len())?)));
        }
        (Value::List(items), n) | (n, Value::List(items))
            if op == BinOp::Mul && matches!(n, Value::Int(_) | Value::Bool(_)) =>
        {
            let k = match n.as_number() {
                Some(Num::Int(k)) => k,
                _ => 0,
            };
            let k = repeat_count(k, items.len())?;
            let base = items.to_vec();
            let mut v = Vec::with_capacity(base.len() * k);
            for _ in 0..k {
                v.extend(base.iter().cloned());
            }
            return Ok(Value::from(v));
        }
        (Value::Str(fmt), args) if op == BinOp::Rem => {
            return super::methods::printf(fmt, args, tuple_rhs);
        }
        (Value::Str(_) | Value::List(_), other) | (other, Value::Str(_) | Value::List(_))
            if op == BinOp::Mul =>
        {
            return type_err(format!(
                "can't multiply sequence by non-int of type '{}'",
                other.type_name()
            ));
        }
        _ => {}
    }
    let (Some(a), Some(b)) = (l.as_number(), r.as_number()) else {
        return unsupported();
    };
    let of = |x: Option<i64>| x.map(Value::Int).ok_or_else(|| Flow::from(overflow()));
    match (op, a, b) {
        (BinOp::Add, Num::Int(x), Num::Int(y)) => of(x.checked_add(y)),
        (BinOp::Sub, Num::Int(x), Num::Int(y)) => of(x.checked_sub(y)),
        (BinOp::Mul, Num::Int(x), Num::Int(y)) => of(x.checked_mul(y)),
        (BinOp::Add, x, y) => Ok(Value::Float(x.to_f64() + y.to_f64())),
        (BinOp::Sub, x, y) => Ok(Value::Float(x.to_f64() - y.to_f64())),
        (BinOp::Mul, x, y) => Ok(Value::Float(x.to_f64() * y.to_f64())),
        (BinOp::Div, x, y) => {
            if y.to_f64() == 0.0 {
                return value_err("division by zero");
            }
            Ok(Value::Float(x.to_f64() / y.to_f64()))
        }
        (BinOp::FloorDiv, Num::Int(x), Num::Int(y)) => {
            if y == 0 {
                return value_err("integer division or modulo by zero");
            }
            let q = x.checked_div(y).ok_or_else(|| Flow::from(overflow()))?;
            Ok(Value::Int(if (x % y != 0) && ((x < 0) != (y < 0)) {
                q - 1
            } else {
                q
            }))
        }
        (BinOp::FloorDiv, x, y) => {
            if y.to_f64() == 0.0 {
                return value_err("float floor division by zero");
            }
            Ok(Value::Float((x.to_f64() / y.to_f64()).floor()))
        }
        (BinOp::Rem, Num::Int(x), Num::Int(y)) => {
            if y == 0 {
                return value_err("integer modulo by zero");
            }
            let m = x.checked_rem(y).unwrap_or(0);
            Ok(Value::Int(if m != 0 && ((m < 0) != (y < 0)) {
                m + y
            } else {
                m
            }))
        }
        (BinOp::Rem, x, y) => {
            let (x, y) = (x.to_f64(), y.to_f64());
            if y == 0.0 {
                return value_err("float modulo");
            }
            let m = x % y;
            Ok(Value::Float(if m != 0.0 && ((m < 0.0) != (y < 0.0)) {
                m + y
            } else {
                m
            }))
        }
        (BinOp::Pow, Num::Int(x), Num::Int(y)) => {
            if y < 0 {
                if x == 0 {
                    return value_err("0.0 cannot be raised to a negative power");
                }
                Ok(Value::Float((x as f64).powf(y as f64)))
            } else {
                of(u32::try_from(y).ok().and_then(|y| x.checked_pow(y)))
            }
        }
        (BinOp::Pow, x, y) => Ok(Value::Float(x.to_f64().powf(y.to_f64()))),
        _ => unsupported(),
    }
}

/// `range(stop)`, `range(start, stop[, step])`, as a list.
fn range(a: &CallArgs) -> R<Value> {
    let mut n = Vec::new();
    for v in &a.pos {
        match v.known()? {
            Value::Int(i) => n.push(*i),
            Value::Bool(b) => n.push(i64::from(*b)),
            other => {
                return type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    other.type_name()
                ))
            }
        }
    }
    let (start, stop, step) = match n[..] {
        [stop] => (0, stop, 1),
        [start, stop] => (start, stop, 1),
        [start, stop, step] => (start, stop, step),
        _ => return type_err(format!("range expected 1 to 3 arguments, got {}", n.len())),
    };
    if step == 0 {
        return value_err("range() arg 3 must not be zero");
    }
    let count = if step > 0 {
        (stop.saturating_sub(start) as i128 + step as i128 - 1) / step as i128
    } else {
        (start.saturating_sub(stop) as i128 - step as i128 - 1) / (-step as i128)
    };
    if count > MAX_ITEMS as i128 {
        return Err(TemplateError::new(ErrorKind::Limit, "range too large").into());
    }
    let mut out = Vec::new();
    let mut i = start;
    for _ in 0..count.max(0) {
        out.push(Value::Int(i));
        i = i.saturating_add(step);
    }
    Ok(Value::from(out))
}

/// Python slicing of a list or string.
fn slice(o: &Value, start: Option<Value>, stop: Option<Value>, step: Option<Value>) -> R<Value> {
    if let Value::Unknown(_) | Value::Marker(_) = o {
        return Ok(o.clone());
    }
    let int = |v: Option<Value>| -> R<Option<i64>> {
        match v {
            None => Ok(None),
            Some(v) => match v.known()? {
                Value::None => Ok(None),
                Value::Int(i) => Ok(Some(*i)),
                Value::Bool(b) => Ok(Some(i64::from(*b))),
                other => type_err(format!(
                    "slice indices must be integers or None, not {}",
                    other.type_name()
                )),
            },
        }
    };
    let (start, stop, step) = (int(start)?, int(stop)?, int(step)?.unwrap_or(1));
    if step == 0 {
        return value_err("slice step cannot be zero");
    }
    let pick = |len: usize| -> Vec<usize> {
        let len = len as i64;
        let norm = |x: i64, lo: i64, hi: i64| {
            let x = if x < 0 { x + len } else { x };
            x.clamp(lo, hi)
        };
        let mut out = Vec::new();
        if step > 0 {
            let a = start.map_or(0, |x| norm(x, 0, len));
            let b = stop.map_or(len, |x| norm(x, 0, len));
            let mut i = a;
            while i < b {
                out.push(i as usize);
                i += step;
            }
        } else {
            let a = start.map_or(len - 1, |x| norm(x, -1, len - 1));
            let b = stop.map_or(-1, |x| norm(x, -1, len - 1));
            let mut i = a;
            while i > b {
                out.push(i as usize);
                i += step;
            }
        }
        out
    };
    match o.known()? {
        Value::List(l) => {
            let items = l.to_vec();
            Ok(Value::from(
                pick(items.len())
                    .into_iter()
                    .map(|i| items[i].clone())
                    .collect::<Vec<_>>(),
            ))
        }
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            Ok(Value::from(
                pick(chars.len())
                    .into_iter()
                    .map(|i| chars[i])
                    .collect::<String>(),
            ))
        }
        other => type_err(format!(
            "'{}' object is not subscriptable",
            other.type_name()
        )),
    }
}

/// Wrap a list of values.
pub(crate) fn list(v: Vec<Value>) -> Value {
    Value::List(List::new(v))
}

//! Expansion: [`ast::File`] → flat instruction list.
//!
//! Two passes. A static scan first finds every problem that does not depend
//! on values — undefined names, loop variables hiding parameters, `--set`
//! typos — in all loops, including those that will run zero times. Then the
//! loops are unrolled with the parameter values, interpolating names.
//!
//! [`ast::File`]: super::ast::File

use super::ast::*;
use super::{list, suggest, ErrorKind, Problem};
use crate::model::{Instr, Placement, PortRef, SrcSpan};
use indexmap::IndexMap;

/// Loop iterations allowed in one expansion, all loops together: a typo in
/// a bound (`1..1000000000`) must fail fast, not eat the memory.
pub const MAX_ITERATIONS: u64 = 1_000_000;

/// Instructions one expansion may produce: a loop within the iteration
/// limit can still have a long body (1,000,000 × 200 instructions).
pub const MAX_INSTRUCTIONS: usize = 1_000_000;

/// Source text one expansion may evaluate, counting a statement or a loop
/// range once per evaluation: what expansion costs in time and memory
/// (1,000,000 × `wait(a{i}{i}...{i})`, or empty inner loops with long
/// bounds, are within the limits above).
pub const MAX_EXPANDED_TEXT: usize = 64 << 20;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expanded {
    pub imports: Vec<(String, SrcSpan)>,
    pub instrs: Vec<(Instr, SrcSpan)>,
}

/// Expand `file` with the `--set` values `cli`, which override `param`
/// defaults.
pub fn expand(file: &File, cli: &IndexMap<String, i64>) -> Result<Expanded, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut imports = Vec::new();
    let mut declared: IndexMap<&str, (i64, SrcSpan)> = IndexMap::new();
    for stmt in &file.stmts {
        match stmt {
            Stmt::Import { path, span } => imports.push((path.clone(), *span)),
            Stmt::Param {
                name,
                name_span,
                value,
                ..
            } => match declared.get(name.as_str()) {
                Some((_, first)) => problems.push(
                    Problem::new(
                        ErrorKind::DuplicateParam,
                        format!("parameter `{name}` is declared twice"),
                        "keep one declaration; `--set` changes the value without editing the file",
                    )
                    .label(*first, "first declared here")
                    .label(*name_span, "declared again here"),
                ),
                None => {
                    declared.insert(name, (*value, *name_span));
                }
            },
            Stmt::Instr(_) | Stmt::For(_) => {}
        }
    }

    let mut scan = Scan {
        declared: &declared,
        cli,
        scope: Vec::new(),
        used: IndexMap::new(),
        problems: Vec::new(),
    };
    scan.stmts(&file.stmts);

    for name in cli.keys() {
        if !declared.contains_key(name.as_str()) && !scan.used.contains_key(name.as_str()) {
            let mut known: Vec<&str> = declared.keys().copied().collect();
            for used in scan.used.keys() {
                if !known.contains(used) {
                    known.push(used);
                }
            }
            let help = match (suggest(name, known.iter().copied()), known.is_empty()) {
                (_, true) => "this program has no parameters".to_string(),
                (Some(s), false) => format!(
                    "did you mean `{s}`? The program's parameters are {}",
                    list(known.iter().copied())
                ),
                (None, false) => {
                    format!(
                        "the program's parameters are {}",
                        list(known.iter().copied())
                    )
                }
            };
            problems.push(Problem::new(
                ErrorKind::UnknownSetParam,
                format!("`--set {name}=...`: the program has no parameter `{name}`"),
                help,
            ));
        }
    }
    problems.append(&mut scan.problems);
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut params: IndexMap<&str, i64> = declared.iter().map(|(k, (v, _))| (*k, *v)).collect();
    for (k, v) in cli {
        params.insert(k.as_str(), *v);
    }
    let mut ex = Expander {
        params,
        vars: Vec::new(),
        out: Vec::new(),
        iterations: 0,
        text: 0,
    };
    ex.stmts(&file.stmts).map_err(|p| vec![p])?;
    Ok(Expanded {
        imports,
        instrs: ex.out,
    })
}

/// The static pass: name resolution without values.
struct Scan<'a> {
    declared: &'a IndexMap<&'a str, (i64, SrcSpan)>,
    cli: &'a IndexMap<String, i64>,
    /// Loop variables in scope, innermost last.
    scope: Vec<(&'a str, SrcSpan)>,
    /// Names used in expressions that are not loop variables: parameters
    /// (declared or not), with their first use.
    used: IndexMap<&'a str, SrcSpan>,
    problems: Vec<Problem>,
}

impl<'a> Scan<'a> {
    fn is_param(&self, name: &str) -> bool {
        self.declared.contains_key(name) || self.cli.contains_key(name)
    }

    fn stmts(&mut self, stmts: &'a [Stmt]) {
        for stmt in stmts {
            match stmt {
                Stmt::Import { .. } | Stmt::Param { .. } => {}
                Stmt::Instr(i) => self.instr(&i.op),
                Stmt::For(f) => {
                    self.expr(&f.lo);
                    self.expr(&f.hi);
                    let var = f.var.as_str();
                    if let Some((_, outer)) = self.scope.iter().find(|(v, _)| *v == var) {
                        self.problems.push(
                            Problem::new(
                                ErrorKind::Shadowing,
                                format!(
                                    "loop variable `{var}` is already used by an enclosing loop"
                                ),
                                "give the inner loop another variable name",
                            )
                            .label(*outer, "the enclosing loop's variable")
                            .label(f.var_span, "used again here"),
                        );
                    } else if self.is_param(var) {
                        self.problems.push(
                            Problem::new(
                                ErrorKind::Shadowing,
                                format!("loop variable `{var}` hides the parameter `{var}`"),
                                "give the loop another variable name",
                            )
                            .label(f.var_span, "this is also a parameter"),
                        );
                    }
                    self.scope.push((var, f.var_span));
                    self.stmts(&f.body);
                    self.scope.pop();
                }
            }
        }
    }

    fn instr(&mut self, op: &'a InstrOp) {
        match op {
            InstrOp::Add {
                name,
                ty,
                hosts,
                transitions,
            } => {
                self.name(name);
                self.name(ty);
                if let Some(h) = hosts {
                    self.name(h);
                }
                for (t, h) in transitions {
                    self.name(t);
                    self.name(h);
                }
            }
            InstrOp::Del { name } | InstrOp::Wait { name } => self.name(name),
            InstrOp::PushB { name, behavior } => {
                self.name(name);
                self.name(behavior);
            }
            InstrOp::Con { a, b } | InstrOp::Dcon { a, b } => {
                for r in [a, b] {
                    self.name(&r.component);
                    self.name(&r.port);
                }
            }
            InstrOp::WaitAll => {}
        }
    }

    fn name(&mut self, name: &'a Name) {
        for part in &name.parts {
            if let NamePart::Interp(e) = part {
                self.expr(e);
            }
        }
    }

    fn expr(&mut self, e: &'a Expr) {
        match &e.kind {
            ExprKind::Int(_) => {}
            ExprKind::Neg(inner) => self.expr(inner),
            ExprKind::Bin(_, l, r) => {
                self.expr(l);
                self.expr(r);
            }
            ExprKind::Var(v) => {
                let v = v.as_str();
                if self.scope.iter().any(|(s, _)| *s == v) {
                    return;
                }
                // Report each undefined name once, at its first use.
                if self.used.contains_key(v) {
                    return;
                }
                self.used.insert(v, e.span);
                if self.is_param(v) {
                    return;
                }
                let known: Vec<&str> = self
                    .scope
                    .iter()
                    .map(|(s, _)| *s)
                    .chain(self.declared.keys().copied())
                    .chain(self.cli.keys().map(String::as_str))
                    .collect();
                let fix = format!(
                    "neither a loop variable nor a parameter: declare it with `param {v} = ...` \
                     or set it with `--set {v}=...`"
                );
                let help = match suggest(v, known) {
                    Some(s) => format!("did you mean `{s}`? `{v}` is {fix}"),
                    None => format!("it is {fix}"),
                };
                self.problems.push(
                    Problem::new(
                        ErrorKind::UndefinedName,
                        format!("undefined name `{v}`"),
                        help,
                    )
                    .label(e.span, "not defined"),
                );
            }
        }
    }
}

/// The unrolling pass.
struct Expander<'a> {
    params: IndexMap<&'a str, i64>,
    /// Loop variables and their current values, innermost last.
    vars: Vec<(&'a str, i64)>,
    out: Vec<(Instr, SrcSpan)>,
    iterations: u64,
    /// Source bytes evaluated so far, see [`MAX_EXPANDED_TEXT`].
    text: usize,
}

impl<'a> Expander<'a> {
    fn stmts(&mut self, stmts: &'a [Stmt]) -> Result<(), Problem> {
        for stmt in stmts {
            match stmt {
                Stmt::Import { .. } | Stmt::Param { .. } => {}
                Stmt::Instr(i) => {
                    self.budget(i.span, self.out.len() >= MAX_INSTRUCTIONS)?;
                    let instr = self.instr(&i.op)?;
                    self.out.push((instr, i.span));
                }
                Stmt::For(f) => {
                    self.budget(f.header, false)?;
                    let lo = self.eval(&f.lo)?;
                    let hi = self.eval(&f.hi)?;
                    let count = (i128::from(hi) - i128::from(lo) + 1).max(0);
                    let total = i128::from(self.iterations) + count;
                    if total > i128::from(MAX_ITERATIONS) {
                        let range = SrcSpan {
                            offset: f.lo.span.offset,
                            len: (f.hi.span.offset + f.hi.span.len)
                                .saturating_sub(f.lo.span.offset),
                        };
                        return Err(Problem::new(
                            ErrorKind::TooManyIterations,
                            format!("too many loop iterations (more than {MAX_ITERATIONS})"),
                            format!(
                                "a program may run at most {MAX_ITERATIONS} loop iterations in \
                                 total, all loops together; ranges include both ends; check the \
                                 bounds and the `--set` values"
                            ),
                        )
                        .label(range, format!("{lo}..{hi}: {count} iterations")));
                    }
                    // `total` fits: it is at most MAX_ITERATIONS.
                    self.iterations = u64::try_from(total).unwrap_or(MAX_ITERATIONS);
                    for v in lo..=hi {
                        self.vars.push((&f.var, v));
                        let r = self.stmts(&f.body);
                        self.vars.pop();
                        r?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Count `span` as evaluated once more; fail if the program is too
    /// large once unrolled (or `full` already).
    fn budget(&mut self, span: SrcSpan, full: bool) -> Result<(), Problem> {
        self.text = self.text.saturating_add(span.len);
        if !full && self.text <= MAX_EXPANDED_TEXT {
            return Ok(());
        }
        Err(Problem::new(
            ErrorKind::TooManyIterations,
            format!(
                "the program is too large once its loops are unrolled (more than \
                 {MAX_INSTRUCTIONS} instructions or {} MiB of statements)",
                MAX_EXPANDED_TEXT >> 20
            ),
            "every iteration of a loop counts its statements again; check the loop bounds \
             and the `--set` values",
        )
        .label(span, "over the limit here"))
    }

    fn instr(&self, op: &InstrOp) -> Result<Instr, Problem> {
        let port = |r: &PortRefAst| -> Result<PortRef, Problem> {
            Ok(PortRef {
                component: self.name(&r.component)?,
                port: self.name(&r.port)?,
            })
        };
        Ok(match op {
            InstrOp::Add {
                name,
                ty,
                hosts,
                transitions,
            } => Instr::Add {
                name: self.name(name)?,
                ty: self.name(ty)?,
                placement: Placement {
                    hosts: hosts.as_ref().map(|h| self.name(h)).transpose()?,
                    transitions: transitions
                        .iter()
                        .map(|(t, h)| Ok((self.name(t)?, self.name(h)?)))
                        .collect::<Result<_, Problem>>()?,
                },
            },
            InstrOp::Del { name } => Instr::Del {
                name: self.name(name)?,
            },
            InstrOp::Wait { name } => Instr::Wait {
                name: self.name(name)?,
            },
            InstrOp::PushB { name, behavior } => Instr::PushB {
                name: self.name(name)?,
                behavior: self.name(behavior)?,
            },
            InstrOp::Con { a, b } => Instr::Con {
                a: port(a)?,
                b: port(b)?,
            },
            InstrOp::Dcon { a, b } => Instr::Dcon {
                a: port(a)?,
                b: port(b)?,
            },
            InstrOp::WaitAll => Instr::WaitAll,
        })
    }

    fn name(&self, name: &Name) -> Result<String, Problem> {
        let mut out = String::new();
        let mut interpolated = false;
        for part in &name.parts {
            match part {
                NamePart::Lit(s) => out.push_str(s),
                NamePart::Interp(e) => {
                    interpolated = true;
                    out.push_str(&self.eval(e)?.to_string());
                }
            }
        }
        // Literal names are valid by construction (see the parser); an
        // interpolation can still produce `3x` or `db-` + `-1`... check.
        if interpolated && !is_identifier(&out) {
            return Err(Problem::new(
                ErrorKind::BadName,
                format!("invalid name `{out}`"),
                "a name starts with a letter or `_`, followed by letters, digits, `_` or `-`; \
                 put a letter before a leading interpolation, e.g. `node{i}`",
            )
            .label(name.span, format!("this name becomes `{out}`")));
        }
        Ok(out)
    }

    fn eval(&self, e: &Expr) -> Result<i64, Problem> {
        let overflow = || {
            Problem::new(
                ErrorKind::Overflow,
                "arithmetic overflow",
                format!("values must stay between {} and {}", i64::MIN, i64::MAX),
            )
            .label(e.span, "overflows 64-bit integers")
        };
        match &e.kind {
            ExprKind::Int(v) => Ok(*v),
            ExprKind::Var(name) => {
                let bound = self.vars.iter().rev().find(|(v, _)| *v == name);
                match bound
                    .map(|(_, x)| x)
                    .or_else(|| self.params.get(name.as_str()))
                {
                    Some(x) => Ok(*x),
                    // The scan reports undefined names first; kept for safety.
                    None => Err(Problem::new(
                        ErrorKind::UndefinedName,
                        format!("undefined name `{name}`"),
                        format!("set it with `--set {name}=...`"),
                    )
                    .label(e.span, "not defined")),
                }
            }
            ExprKind::Neg(inner) => self.eval(inner)?.checked_neg().ok_or_else(overflow),
            ExprKind::Bin(op, l, r) => {
                let (l, r) = (self.eval(l)?, self.eval(r)?);
                match op {
                    BinOp::Add => l.checked_add(r),
                    BinOp::Sub => l.checked_sub(r),
                    BinOp::Mul => l.checked_mul(r),
                }
                .ok_or_else(overflow)
            }
        }
    }
}

/// `[A-Za-z_][A-Za-z0-9_-]*`
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

//! Syntax tree of a `.concerto` program, before expansion. Every node keeps
//! its span so later stages can point at the text.

use crate::model::SrcSpan;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub stmts: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `import "path"`; `span` covers the string literal.
    Import {
        path: String,
        span: SrcSpan,
    },
    /// `param NAME = INT`.
    Param {
        name: String,
        name_span: SrcSpan,
        value: i64,
        span: SrcSpan,
    },
    Instr(InstrStmt),
    For(ForStmt),
}

/// An instruction as written; `span` runs from the keyword to the `)`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrStmt {
    pub op: InstrOp,
    pub span: SrcSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InstrOp {
    /// `add(name : Type @ hosts, transition @ hosts, ...)`.
    Add {
        name: Name,
        ty: Name,
        hosts: Option<Name>,
        transitions: Vec<(Name, Name)>,
    },
    Del {
        name: Name,
    },
    Con {
        a: PortRefAst,
        b: PortRefAst,
    },
    Dcon {
        a: PortRefAst,
        b: PortRefAst,
    },
    PushB {
        name: Name,
        behavior: Name,
    },
    Wait {
        name: Name,
    },
    WaitAll,
}

impl InstrOp {
    /// Spans of the arguments, in written order; a port reference gives
    /// three: the whole `c.p`, then `c`, then `p`.
    pub fn arg_spans(&self) -> Vec<SrcSpan> {
        let port = |r: &PortRefAst| [r.span, r.component.span, r.port.span];
        match self {
            InstrOp::Add {
                name,
                ty,
                hosts,
                transitions,
            } => [name.span, ty.span]
                .into_iter()
                .chain(hosts.iter().map(|h| h.span))
                .chain(transitions.iter().flat_map(|(t, h)| [t.span, h.span]))
                .collect(),
            InstrOp::Del { name } | InstrOp::Wait { name } => vec![name.span],
            InstrOp::PushB { name, behavior } => vec![name.span, behavior.span],
            InstrOp::Con { a, b } | InstrOp::Dcon { a, b } => {
                port(a).into_iter().chain(port(b)).collect()
            }
            InstrOp::WaitAll => Vec::new(),
        }
    }
}

/// `for var in lo..hi:` and its body. `header` covers `for` to `:`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForStmt {
    pub var: String,
    pub var_span: SrcSpan,
    pub lo: Expr,
    pub hi: Expr,
    pub body: Vec<Stmt>,
    pub header: SrcSpan,
}

/// A name that may contain interpolations: `mariadb{i+1}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub parts: Vec<NamePart>,
    pub span: SrcSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NamePart {
    Lit(String),
    Interp(Expr),
}

/// `component.port`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRefAst {
    pub component: Name,
    pub port: Name,
    pub span: SrcSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: SrcSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    /// A parameter or loop variable.
    Var(String),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
}

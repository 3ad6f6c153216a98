//! The `.concerto` reconfiguration language (model.md §3, user guide in
//! `docs/language.md`).
//!
//! Pipeline, one file per stage:
//!
//! ```text
//! text --lexer--> lines of tokens --parser--> ast --expand--> Vec<(Instr, SrcSpan)> --check--> ok
//! ```
//!
//! - `lexer` cuts the text into lines (indentation + tokens); comments and
//!   blank lines disappear there.
//! - `parser` builds the `ast` (block structure by indentation, spans on
//!   everything) and recovers at line granularity to report several errors.
//! - `expand` resolves parameters, unrolls loops and interpolates names,
//!   producing the flat instruction list the runtime executes.
//! - `check` simulates the program on names only (which components exist,
//!   which connections exist) against the imported component types.
//!
//! Stages report `Problem`s (kind, message, spans, help); this file turns
//! them into one [`ProgramError`] carrying the source, so miette can render
//! `file:line:col` with the offending text underlined.

mod ast;
mod check;
mod expand;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use crate::model::{Instr, Runnable, SrcSpan, Types};
use indexmap::IndexMap;
use miette::{Diagnostic, LabeledSpan, NamedSource};
use std::path::Path;

/// A compiled program: imports and the expanded instruction list.
/// `spans[i]` is where `instrs[i]` was written (the whole statement; every
/// iteration of a loop shares its statement's span).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    pub imports: Vec<(String, SrcSpan)>,
    pub instrs: Vec<Instr>,
    pub spans: Vec<SrcSpan>,
}

/// Parse + expand. `name` is the file name for diagnostics; `params` are the
/// `--set NAME=VALUE` values, which override `param` defaults.
// The error is large (it carries the source text), but errors are the cold
// path and these signatures are the module's contract.
#[allow(clippy::result_large_err)]
pub fn compile(
    name: &str,
    src: &str,
    params: &IndexMap<String, i64>,
) -> Result<Program, ProgramError> {
    let (lines, mut problems) = lexer::lex(src, 0);
    let (file, parse_problems) = parser::parse(&lines);
    problems.extend(parse_problems);
    // Lexer and parser problems interleave: report them in text order.
    problems.sort_by_key(|p| p.labels.first().map(|(s, _)| s.offset));
    if !problems.is_empty() {
        return Err(ProgramError::from_problems(name, src, problems));
    }
    let expanded =
        expand::expand(&file, params).map_err(|p| ProgramError::from_problems(name, src, p))?;
    let (instrs, spans) = expanded.instrs.into_iter().unzip();
    Ok(Program {
        imports: expanded.imports,
        instrs,
        spans,
    })
}

/// Check instructions against component types as a static simulation of
/// names: unknown types, duplicate or missing components, unknown behaviors
/// and ports, ill-typed connections, connections made twice or removed
/// without existing, `del` of a still-connected component (it would block
/// forever). Returns all problems found, in one diagnostic.
#[allow(clippy::result_large_err)]
pub fn check(name: &str, src: &str, program: &Program, types: &Types) -> Result<(), ProgramError> {
    let problems = check::check(src, program, types);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProgramError::from_problems(name, src, problems))
    }
}

/// Read a file, compile it, load its imports through `load_types` (paths
/// relative to the program file), check, and return a [`Runnable`].
pub fn load(
    path: &Path,
    params: &IndexMap<String, i64>,
    load_types: &dyn Fn(&Path) -> Result<Types, miette::Report>,
) -> Result<Runnable, miette::Report> {
    let name = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| {
        ProgramError::from_problems(
            &name,
            "",
            vec![Problem::new(
                ErrorKind::Io,
                format!("cannot read the program `{name}`: {e}"),
                "check the path; programs are text files in UTF-8",
            )],
        )
    })?;
    let program = compile(&name, &src, params)?;

    let base = path.parent().unwrap_or(Path::new(""));
    let mut types = Types::new();
    // Which import brought each type, to explain a conflict.
    let mut origin: IndexMap<String, SrcSpan> = IndexMap::new();
    for (import, span) in &program.imports {
        let imported = load_types(&base.join(import)).map_err(|report| {
            let (line, col) = line_col(&src, span.offset);
            report.wrap_err(format!("{name}:{line}:{col}: cannot import `{import}`"))
        })?;
        for (ty_name, ty) in imported {
            match types.get(&ty_name) {
                Some(known) if known.ty != ty.ty => {
                    let first = origin.get(&ty_name).copied().unwrap_or(*span);
                    let problem = Problem::new(
                        ErrorKind::Import,
                        format!("component type `{ty_name}` is defined differently by two imports"),
                        "a type name must mean one thing in a program: rename the type in one of the files",
                    )
                    .label(first, "first defined by this import")
                    .label(*span, "redefined by this one");
                    return Err(ProgramError::from_problems(&name, &src, vec![problem]).into());
                }
                Some(_) => {}
                None => {
                    origin.insert(ty_name.clone(), *span);
                    types.insert(ty_name, ty);
                }
            }
        }
    }
    check(&name, &src, &program, &types)?;
    Ok(Runnable {
        types,
        program: program.instrs,
        spans: program.spans,
    })
}

/// What went wrong, for callers that want to react to a specific problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // Reading and parsing.
    Io,
    Syntax,
    UnknownInstruction,
    Indentation,
    EmptyLoopBody,
    /// `import` or `param` inside a loop.
    Misplaced,
    // Expansion.
    BadRange,
    TooManyIterations,
    UndefinedName,
    /// A `--set` for a name the program neither declares nor uses.
    UnknownSetParam,
    DuplicateParam,
    Shadowing,
    Overflow,
    BadName,
    // Loading.
    Import,
    // Static check.
    UnknownType,
    DuplicateComponent,
    UndefinedComponent,
    DeletedComponent,
    UnknownBehavior,
    /// `add(c : T, t @ hosts)` for a `t` that `T` does not have.
    UnknownTransition,
    UnknownPort,
    /// Two use ports, two provide ports, or use/data-use mixed up.
    PortKind,
    PortType,
    AlreadyConnected,
    NotConnected,
    /// `del(c)` while `c` still has connections: it would block forever.
    DelConnected,
    /// Several problems; see [`ProgramError::related`].
    Several,
}

/// An error in a program, rendered by miette with the source text.
/// Several problems become one error whose `related` list holds them all.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct ProgramError {
    kind: ErrorKind,
    message: String,
    /// `None` only for problems that are not in the text (`--set`, I/O).
    #[source_code]
    src: Option<NamedSource<String>>,
    #[label(collection)]
    labels: Vec<LabeledSpan>,
    #[help]
    help: Option<String>,
    #[related]
    related: Vec<ProgramError>,
}

impl ProgramError {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The individual problems when `kind()` is [`ErrorKind::Several`].
    pub fn related(&self) -> &[ProgramError] {
        &self.related
    }

    /// One problem as an error (a single problem stays unwrapped).
    fn from_problems(name: &str, src: &str, mut problems: Vec<Problem>) -> Self {
        if problems.len() == 1 {
            if let Some(p) = problems.pop() {
                return Self::from_problem(name, src, p);
            }
        }
        let count = problems.len();
        ProgramError {
            kind: ErrorKind::Several,
            message: format!("{count} problems in `{name}`"),
            src: Some(NamedSource::new(name, src.to_string())),
            labels: Vec::new(),
            help: Some("each problem is listed below".into()),
            related: problems
                .into_iter()
                .map(|p| Self::from_problem(name, src, p))
                .collect(),
        }
    }

    fn from_problem(name: &str, src: &str, p: Problem) -> Self {
        let src_code = (!p.labels.is_empty()).then(|| NamedSource::new(name, src.to_string()));
        let labels = p
            .labels
            .into_iter()
            .map(|(span, text)| LabeledSpan::new_with_span(Some(text), clamp(span, src)))
            .collect();
        ProgramError {
            kind: p.kind,
            message: p.message,
            src: src_code,
            labels,
            help: Some(p.help),
            related: Vec::new(),
        }
    }
}

/// A problem found by one stage, before it is tied to a source file.
/// Every problem carries a help text: say how to fix it, not only what broke.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub message: String,
    pub labels: Vec<(SrcSpan, String)>,
    pub help: String,
}

impl Problem {
    pub fn new(kind: ErrorKind, message: impl Into<String>, help: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
            labels: Vec::new(),
            help: help.into(),
        }
    }
    pub fn label(mut self, span: SrcSpan, text: impl Into<String>) -> Self {
        self.labels.push((span, text.into()));
        self
    }
}

/// Keep a span inside the text, so a caller passing a mismatched source
/// gets a misplaced underline rather than a rendering failure.
fn clamp(span: SrcSpan, src: &str) -> miette::SourceSpan {
    let mut offset = span.offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let mut end = offset.saturating_add(span.len).min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    (offset, end - offset).into()
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

pub(crate) use crate::suggest::suggest;

/// `a, b and c` in backquotes, for help texts.
pub(crate) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(|s| format!("`{s}`")).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

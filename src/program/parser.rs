//! Parser: lines of tokens → [`ast::File`].
//!
//! Grammar (one statement list per line, blocks by indentation):
//!
//! ```text
//! line    := stmt (';' stmt)* | stmt* ';'? for_header stmt_list?
//! stmt    := 'import' STRING | 'param' WORD '=' '-'? INT | instr
//! instr   := 'add' '(' name ':' name ')' | 'del' '(' name ')' | 'wait' '(' name ')'
//!          | ('con' | 'dcon') '(' port ',' port ')' | 'pushB' '(' name ',' name ')'
//!          | 'waitAll' '(' ')'
//! for     := 'for' WORD 'in' expr '..' expr ':' (stmt_list | NEWLINE indented block)
//! port    := name '.' name
//! name    := adjacent (WORD | INT | '-' | '{' expr '}')+, starting with WORD or '{'
//! expr    := term (('+' | '-') term)* ;  term := factor ('*' factor)*
//! factor  := INT | WORD | '(' expr ')' | '-' factor
//! ```
//!
//! Errors are reported per line: a line that fails is skipped together with
//! the lines indented under it (they are probably its loop body), so one
//! mistake gives one error, and the other lines are still checked.

use super::ast::*;
use super::lexer::{lex, Line, Tok, Token};
use super::{list, suggest, ErrorKind, Problem};
use crate::model::SrcSpan;

/// Instruction keywords, as written (case-sensitive).
pub const INSTRUCTIONS: [&str; 7] = ["add", "del", "con", "dcon", "pushB", "wait", "waitAll"];
const KEYWORDS: [&str; 3] = ["for", "param", "import"];

/// Bounds that keep recursion (parsing, expansion, dropping the tree) far
/// from the stack limit whatever the input.
pub const MAX_LOOP_DEPTH: usize = 32;
const MAX_EXPR_DEPTH: usize = 32;
const MAX_EXPR_NODES: usize = 256;

pub fn parse(lines: &[Line]) -> (File, Vec<Problem>) {
    let mut p = Parser {
        lines,
        pos: 0,
        problems: Vec::new(),
    };
    let stmts = p.parse_block("", SrcSpan::default(), 0);
    (File { stmts }, p.problems)
}

/// Re-parse the instruction written at `span`, to get the spans of its
/// arguments (the checker reports on one argument, while [`Program`]
/// keeps only statement spans). `None` if the text is not an instruction.
///
/// [`Program`]: super::Program
pub fn reparse_instr(src: &str, span: SrcSpan) -> Option<InstrOp> {
    let text = src.get(span.offset..span.offset.checked_add(span.len)?)?;
    let (lines, problems) = lex(text, span.offset);
    let [line] = lines.as_slice() else {
        return None;
    };
    if !problems.is_empty() {
        return None;
    }
    let mut cur = Cursor::new(line);
    match cur.peek_tok() {
        Some(Tok::Word(w)) if INSTRUCTIONS.contains(&w.as_str()) => {}
        _ => return None,
    }
    let instr = parse_instr(&mut cur).ok()?;
    cur.at_end().then_some(instr.op)
}

struct Parser<'a> {
    lines: &'a [Line],
    pos: usize,
    problems: Vec<Problem>,
}

/// How a line's indentation relates to its block's.
enum Indent {
    Same,
    Deeper,
    Shallower,
    /// Neither is a prefix of the other: tabs and spaces were mixed.
    Mixed,
}

fn compare_indent(line: &str, block: &str) -> Indent {
    if line == block {
        Indent::Same
    } else if line.starts_with(block) {
        Indent::Deeper
    } else if block.starts_with(line) {
        Indent::Shallower
    } else {
        Indent::Mixed
    }
}

fn describe_indent(s: &str) -> &'static str {
    match (s.contains(' '), s.contains('\t')) {
        (true, true) => "tabs and spaces",
        (false, true) => "tabs",
        _ => "spaces",
    }
}

fn mixed_indent(line: &Line, block_span: SrcSpan, block_indent: &str) -> Problem {
    Problem::new(
        ErrorKind::Indentation,
        "inconsistent indentation: tabs and spaces are mixed",
        "indent every line of a block with the same characters (spaces, or tabs, not both)",
    )
    .label(
        line.indent_span,
        format!("indented with {}", describe_indent(&line.indent)),
    )
    .label(
        block_span,
        format!(
            "but the block is indented with {}",
            describe_indent(block_indent)
        ),
    )
}

fn span_between(start: SrcSpan, end: SrcSpan) -> SrcSpan {
    let stop = (end.offset + end.len).max(start.offset);
    SrcSpan {
        offset: start.offset,
        len: stop - start.offset,
    }
}

impl<'a> Parser<'a> {
    /// Statements of the block whose lines are indented exactly `indent`;
    /// stops at the first shallower line.
    fn parse_block(&mut self, indent: &str, indent_span: SrcSpan, depth: usize) -> Vec<Stmt> {
        let lines = self.lines;
        let mut out = Vec::new();
        while let Some(line) = lines.get(self.pos) {
            match compare_indent(&line.indent, indent) {
                Indent::Same => {}
                Indent::Shallower => break,
                Indent::Deeper => {
                    self.problems.push(
                        Problem::new(
                            ErrorKind::Indentation,
                            "unexpected indentation",
                            "only the body of a `for` is indented, and all lines of a block \
                             must be indented alike",
                        )
                        .label(line.indent_span, "indented more than the line before"),
                    );
                    self.skip_line();
                    continue;
                }
                Indent::Mixed => {
                    self.problems.push(mixed_indent(line, indent_span, indent));
                    self.skip_misaligned(indent);
                    continue;
                }
            }
            if line.bad {
                // The lexer already reported it.
                self.skip_line();
                continue;
            }
            self.pos += 1;
            let mut cur = Cursor::new(line);
            match parse_line(&mut cur, depth) {
                Ok((stmts, pending)) => {
                    out.extend(stmts);
                    if let Some(mut f) = pending {
                        f.body = self.parse_body(line, &f, depth);
                        out.push(Stmt::For(f));
                    }
                }
                Err(problem) => {
                    self.problems.push(problem);
                    self.skip_children(line);
                }
            }
        }
        out
    }

    /// The indented body of the `for` ending `line`.
    fn parse_body(&mut self, line: &Line, f: &ForStmt, depth: usize) -> Vec<Stmt> {
        let lines = self.lines;
        if let Some(next) = lines.get(self.pos) {
            match compare_indent(&next.indent, &line.indent) {
                Indent::Deeper => {
                    return self.parse_block(&next.indent, next.indent_span, depth + 1);
                }
                Indent::Mixed => {
                    self.problems
                        .push(mixed_indent(next, line.indent_span, &line.indent));
                    self.skip_misaligned(&line.indent);
                    return Vec::new();
                }
                Indent::Same | Indent::Shallower => {}
            }
        }
        self.problems.push(
            Problem::new(
                ErrorKind::EmptyLoopBody,
                "empty loop body",
                "indent the body on the lines after the `for`, or write it after the `:` \
                 on the same line",
            )
            .label(f.header, "this loop has no body"),
        );
        Vec::new()
    }

    /// Skip the current line and the lines indented under it.
    fn skip_line(&mut self) {
        let lines = self.lines;
        if let Some(line) = lines.get(self.pos) {
            self.pos += 1;
            self.skip_children(line);
        }
    }

    /// After a tab/space mix-up, skip the lines that do not line up with
    /// `indent` (deeper or mixed), so the mix-up is reported once.
    fn skip_misaligned(&mut self, indent: &str) {
        while let Some(next) = self.lines.get(self.pos) {
            if let Indent::Same | Indent::Shallower = compare_indent(&next.indent, indent) {
                break;
            }
            self.pos += 1;
        }
    }

    fn skip_children(&mut self, line: &Line) {
        while let Some(next) = self.lines.get(self.pos) {
            if next.indent.len() <= line.indent.len() {
                break;
            }
            self.pos += 1;
        }
    }
}

/// The statements of one line. A `for` whose `:` ends the line is
/// returned apart: its body is on the next lines.
fn parse_line(cur: &mut Cursor<'_>, depth: usize) -> Result<(Vec<Stmt>, Option<ForStmt>), Problem> {
    let mut stmts = Vec::new();
    loop {
        match cur.peek_tok() {
            None => return Ok((stmts, None)),
            Some(Tok::Semi) => {
                cur.bump();
            }
            Some(Tok::Word(w)) if w == "for" => {
                let mut f = parse_for_header(cur, depth)?;
                if cur.at_end() {
                    return Ok((stmts, Some(f)));
                }
                // One-line body: the rest of the line, `;`-separated.
                let (body, pending) = parse_line(cur, depth + 1)?;
                if let Some(inner) = pending {
                    return Err(Problem::new(
                        ErrorKind::EmptyLoopBody,
                        "empty loop body",
                        "a loop nested on the same line as its parent loop must have its \
                         body on that line too; or put the inner loop on its own line",
                    )
                    .label(inner.header, "this loop has no body"));
                }
                if body.is_empty() {
                    return Err(Problem::new(
                        ErrorKind::EmptyLoopBody,
                        "empty loop body",
                        "write the body after the `:`, or on the following lines, indented",
                    )
                    .label(f.header, "this loop has no body"));
                }
                f.body = body;
                stmts.push(Stmt::For(f));
                return Ok((stmts, None));
            }
            Some(_) => {
                stmts.push(parse_simple(cur, depth > 0)?);
                match cur.peek() {
                    None => return Ok((stmts, None)),
                    Some(Token { tok: Tok::Semi, .. }) => {
                        cur.bump();
                    }
                    Some(t) => {
                        return Err(Problem::new(
                            ErrorKind::Syntax,
                            format!(
                                "expected `;` or the end of the line, found {}",
                                t.tok.describe()
                            ),
                            "write one statement per line, or separate statements with `;`",
                        )
                        .label(t.span, "unexpected after the statement"));
                    }
                }
            }
        }
    }
}

/// `for VAR in LO..HI:`, up to and including the `:`.
fn parse_for_header(cur: &mut Cursor<'_>, depth: usize) -> Result<ForStmt, Problem> {
    const USAGE: &str = "a loop is written `for i in 1..n:`, its body indented on the next \
                         lines or after the `:` on the same line";
    let kw = cur.bump().map(|t| t.span).unwrap_or_default();
    if depth >= MAX_LOOP_DEPTH {
        return Err(Problem::new(
            ErrorKind::Syntax,
            format!("loops nested too deeply (more than {MAX_LOOP_DEPTH} levels)"),
            "flatten the loops",
        )
        .label(kw, "too deep"));
    }
    let (var, var_span) = match cur.peek() {
        Some(Token {
            tok: Tok::Word(w),
            span,
        }) if w != "in" => {
            cur.bump();
            (w.clone(), *span)
        }
        _ => return Err(cur.expected("a loop variable after `for`", USAGE)),
    };
    if cur.eat(&Tok::Word("in".into())).is_none() {
        return Err(cur.expected("`in` after the loop variable", USAGE));
    }
    let mut budget = MAX_EXPR_NODES;
    let lo = parse_expr(cur, "the start of the range", &mut budget, 0).map_err(range_problem)?;
    if cur.eat(&Tok::DotDot).is_none() {
        return Err(range_problem(
            cur.expected("`..` between the bounds of the range", ""),
        ));
    }
    let hi = parse_expr(cur, "the end of the range", &mut budget, 0).map_err(range_problem)?;
    let colon = match cur.eat(&Tok::Colon) {
        Some(t) => t.span,
        None => return Err(cur.expected("`:` after the range", USAGE)),
    };
    Ok(ForStmt {
        var,
        var_span,
        lo,
        hi,
        body: Vec::new(),
        header: span_between(kw, colon),
    })
}

fn parse_simple(cur: &mut Cursor<'_>, in_loop: bool) -> Result<Stmt, Problem> {
    let Some(first) = cur.peek() else {
        return Err(cur.expected("a statement", "write an instruction"));
    };
    let word = match &first.tok {
        Tok::Word(w) => w.as_str(),
        _ => {
            return Err(cur.expected(
                "a statement",
                format!(
                    "a statement is an instruction ({}), `for`, `param` or `import`",
                    list(INSTRUCTIONS)
                ),
            ))
        }
    };
    match word {
        "import" | "param" if in_loop => Err(Problem::new(
            ErrorKind::Misplaced,
            format!("`{word}` inside a loop"),
            format!("`{word}` is only allowed at the top level of the program, not indented"),
        )
        .label(first.span, "not allowed here")),
        "import" => {
            cur.bump();
            match cur.peek() {
                Some(Token {
                    tok: Tok::Str(path),
                    span,
                }) => {
                    cur.bump();
                    Ok(Stmt::Import {
                        path: path.clone(),
                        span: *span,
                    })
                }
                _ => Err(cur.expected(
                    "a quoted file name after `import`",
                    "write `import \"assembly.yaml\"` (relative to this program's directory)",
                )),
            }
        }
        "param" => parse_param(cur, first.span),
        w if INSTRUCTIONS.contains(&w) => parse_instr(cur).map(Stmt::Instr),
        w => {
            let is_call = matches!(cur.peek_nth(1), Some(Tok::LParen));
            let (message, candidates): (_, Vec<&str>) = if is_call {
                (format!("unknown instruction `{w}`"), INSTRUCTIONS.to_vec())
            } else {
                (
                    format!("unknown statement `{w}`"),
                    INSTRUCTIONS.iter().chain(&KEYWORDS).copied().collect(),
                )
            };
            let help = match suggest(w, candidates) {
                Some(s) if s.eq_ignore_ascii_case(w) => {
                    format!("did you mean `{s}`? (names are case-sensitive)")
                }
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "the instructions are {}; the other statements are `for`, `param` and \
                     `import`",
                    list(INSTRUCTIONS)
                ),
            };
            let label = if is_call {
                "not an instruction"
            } else {
                "not a statement"
            };
            Err(Problem::new(ErrorKind::UnknownInstruction, message, help).label(first.span, label))
        }
    }
}

fn parse_param(cur: &mut Cursor<'_>, kw: SrcSpan) -> Result<Stmt, Problem> {
    const USAGE: &str = "a parameter is declared `param n = 3`; `--set n=5` overrides it";
    cur.bump();
    let (name, name_span) = match cur.peek() {
        Some(Token {
            tok: Tok::Word(w),
            span,
        }) => {
            cur.bump();
            (w.clone(), *span)
        }
        _ => return Err(cur.expected("a parameter name", USAGE)),
    };
    if cur.eat(&Tok::Eq).is_none() {
        return Err(cur.expected("`=`", USAGE));
    }
    let minus = cur.eat(&Tok::Minus);
    let (digits, int_span) = match cur.peek() {
        Some(Token {
            tok: Tok::Int(d),
            span,
        }) => {
            cur.bump();
            (d, *span)
        }
        _ => return Err(cur.expected("an integer", USAGE)),
    };
    let text = if minus.is_some() {
        format!("-{digits}")
    } else {
        digits.clone()
    };
    let start = minus.map_or(int_span, |m| m.span);
    let value = text
        .parse::<i64>()
        .map_err(|_| too_large(span_between(start, int_span)))?;
    Ok(Stmt::Param {
        name,
        name_span,
        value,
        span: span_between(kw, int_span),
    })
}

/// An instruction; the cursor is on its keyword.
fn parse_instr(cur: &mut Cursor<'_>) -> Result<InstrStmt, Problem> {
    let (kw, kw_span) = match cur.bump() {
        Some(Token {
            tok: Tok::Word(w),
            span,
        }) => (w.as_str(), *span),
        _ => return Err(cur.expected("an instruction", "")),
    };
    let usage = match kw {
        "add" => "add(name : Type)` or `add(name : Type @ hosts, transition @ hosts)",
        "del" => "del(name)",
        "con" => "con(component.port, component.port)",
        "dcon" => "dcon(component.port, component.port)",
        "pushB" => "pushB(name, behavior)",
        "wait" => "wait(name)",
        _ => "waitAll()",
    };
    let help = format!("write `{usage}`");
    let open = cur
        .expect(&Tok::LParen, &format!("`(` after `{kw}`"), None, &help)?
        .span;
    let ctx = Ctx { open, help: &help };
    let op = match kw {
        "add" => {
            let name = parse_name(cur, "a component name", &ctx)?;
            cur.expect(&Tok::Colon, "`:` and a type", Some(open), &help)?;
            let ty = parse_name(cur, "a component type", &ctx)?;
            let hosts = if cur.peek_tok() == Some(&Tok::At) {
                cur.bump();
                Some(parse_hosts(cur, &ctx)?)
            } else {
                None
            };
            let mut transitions = Vec::new();
            while cur.peek_tok() == Some(&Tok::Comma) {
                cur.bump();
                let t = parse_name(cur, "a transition name", &ctx)?;
                cur.expect(&Tok::At, "`@` and hosts", Some(open), &help)?;
                transitions.push((t, parse_hosts(cur, &ctx)?));
            }
            InstrOp::Add {
                name,
                ty,
                hosts,
                transitions,
            }
        }
        "del" => InstrOp::Del {
            name: parse_name(cur, "a component name", &ctx)?,
        },
        "wait" => InstrOp::Wait {
            name: parse_name(cur, "a component name", &ctx)?,
        },
        "con" | "dcon" => {
            let a = parse_port(cur, &ctx)?;
            cur.expect(&Tok::Comma, "`,` and a second port", Some(open), &help)?;
            let b = parse_port(cur, &ctx)?;
            if kw == "con" {
                InstrOp::Con { a, b }
            } else {
                InstrOp::Dcon { a, b }
            }
        }
        "pushB" => {
            let name = parse_name(cur, "a component name", &ctx)?;
            cur.expect(&Tok::Comma, "`,` and a behavior", Some(open), &help)?;
            let behavior = parse_name(cur, "a behavior name", &ctx)?;
            InstrOp::PushB { name, behavior }
        }
        _ => InstrOp::WaitAll,
    };
    let close = cur.expect(&Tok::RParen, "`)`", Some(open), &help)?.span;
    Ok(InstrStmt {
        op,
        span: span_between(kw_span, close),
    })
}

/// Where an instruction's arguments are: the open parenthesis (for
/// "unclosed" errors) and the usage help.
struct Ctx<'h> {
    open: SrcSpan,
    help: &'h str,
}

fn parse_port(cur: &mut Cursor<'_>, ctx: &Ctx<'_>) -> Result<PortRefAst, Problem> {
    let component = parse_name(cur, "a component name", ctx)?;
    cur.expect(
        &Tok::Dot,
        "`.` and a port name",
        Some(ctx.open),
        "a port is written `component.port`",
    )?;
    let port = parse_name(cur, "a port name", ctx)?;
    Ok(PortRefAst {
        span: span_between(component.span, port.span),
        component,
        port,
    })
}

/// Where components run: an inventory host or group name (which may
/// interpolate, `db{i}`), or a quoted Ansible host pattern (`"web:!h3"`),
/// taken verbatim.
fn parse_hosts(cur: &mut Cursor<'_>, ctx: &Ctx<'_>) -> Result<Name, Problem> {
    if let Some(Token {
        tok: Tok::Str(s),
        span,
    }) = cur.peek()
    {
        let name = Name {
            parts: vec![NamePart::Lit(s.clone())],
            span: *span,
        };
        cur.bump();
        return Ok(name);
    }
    parse_name(
        cur,
        "an inventory host or group, or a quoted host pattern",
        ctx,
    )
}

/// A name: adjacent words, digits, `-` and `{expr}` interpolations.
fn parse_name(cur: &mut Cursor<'_>, what: &str, ctx: &Ctx<'_>) -> Result<Name, Problem> {
    let start = match cur.peek() {
        Some(
            t @ Token {
                tok: Tok::Word(_) | Tok::LBrace,
                ..
            },
        ) => t.span,
        _ => return Err(cur.expected_in(what, Some(ctx.open), ctx.help)),
    };
    let mut parts: Vec<NamePart> = Vec::new();
    let mut end = start.offset;
    while let Some(t) = cur.peek() {
        if t.span.offset != end {
            break; // whitespace ends a name
        }
        let lit = match &t.tok {
            Tok::Word(w) => w.clone(),
            Tok::Int(d) if !parts.is_empty() => d.clone(),
            Tok::Minus if !parts.is_empty() => "-".into(),
            Tok::LBrace => {
                cur.bump();
                let mut budget = MAX_EXPR_NODES;
                let expr = parse_expr(cur, "an expression inside `{}`", &mut budget, 0)?;
                let close = cur.expect(
                    &Tok::RBrace,
                    "`}`",
                    Some(t.span),
                    "an interpolation is written `{expression}`, e.g. `mariadb{i+1}`",
                )?;
                end = close.end();
                parts.push(NamePart::Interp(expr));
                continue;
            }
            _ => break,
        };
        cur.bump();
        end = t.end();
        // Glue consecutive literal pieces: `web`, `-`, `01` is one part.
        match parts.last_mut() {
            Some(NamePart::Lit(prev)) => prev.push_str(&lit),
            _ => parts.push(NamePart::Lit(lit)),
        }
    }
    Ok(Name {
        parts,
        span: SrcSpan {
            offset: start.offset,
            len: end - start.offset,
        },
    })
}

fn range_problem(mut p: Problem) -> Problem {
    if p.kind == ErrorKind::Syntax {
        p.kind = ErrorKind::BadRange;
    }
    if p.kind == ErrorKind::BadRange {
        p.help = "a range is written `lo..hi` and includes both ends, e.g. `for i in 1..n:`; \
                  bounds are integer expressions over parameters and loop variables"
            .into();
    }
    p
}

fn too_large(span: SrcSpan) -> Problem {
    Problem::new(
        ErrorKind::Overflow,
        "integer too large",
        format!("integers are between {} and {}", i64::MIN, i64::MAX),
    )
    .label(span, "does not fit in 64 bits")
}

fn parse_expr(
    cur: &mut Cursor<'_>,
    what: &str,
    budget: &mut usize,
    depth: usize,
) -> Result<Expr, Problem> {
    let mut lhs = parse_term(cur, what, budget, depth)?;
    loop {
        let op = match cur.peek_tok() {
            Some(Tok::Plus) => BinOp::Add,
            Some(Tok::Minus) => BinOp::Sub,
            _ => return Ok(lhs),
        };
        cur.bump();
        let rhs = parse_term(cur, what, budget, depth)?;
        lhs = binary(op, lhs, rhs);
    }
}

fn parse_term(
    cur: &mut Cursor<'_>,
    what: &str,
    budget: &mut usize,
    depth: usize,
) -> Result<Expr, Problem> {
    let mut lhs = parse_factor(cur, what, budget, depth)?;
    while cur.eat(&Tok::Star).is_some() {
        let rhs = parse_factor(cur, what, budget, depth)?;
        lhs = binary(BinOp::Mul, lhs, rhs);
    }
    Ok(lhs)
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr {
        span: span_between(lhs.span, rhs.span),
        kind: ExprKind::Bin(op, Box::new(lhs), Box::new(rhs)),
    }
}

fn parse_factor(
    cur: &mut Cursor<'_>,
    what: &str,
    budget: &mut usize,
    depth: usize,
) -> Result<Expr, Problem> {
    const HELP: &str = "expressions use integers, parameters, loop variables, `+`, `-`, `*` \
                        and parentheses";
    let here = cur.here();
    if depth > MAX_EXPR_DEPTH || *budget == 0 {
        return Err(
            Problem::new(ErrorKind::Syntax, "expression too complex", HELP)
                .label(here, "too deeply nested or too long"),
        );
    }
    *budget -= 1;
    let Some(t) = cur.peek() else {
        return Err(cur.expected(what, HELP));
    };
    let kind = match &t.tok {
        Tok::Int(d) => ExprKind::Int(d.parse().map_err(|_| too_large(t.span))?),
        Tok::Word(w) => ExprKind::Var(w.clone()),
        Tok::LParen => {
            cur.bump();
            let inner = parse_expr(cur, what, budget, depth + 1)?;
            let close = cur.expect(&Tok::RParen, "`)`", Some(t.span), HELP)?;
            return Ok(Expr {
                kind: inner.kind,
                span: span_between(t.span, close.span),
            });
        }
        Tok::Minus => {
            cur.bump();
            let inner = parse_factor(cur, what, budget, depth + 1)?;
            return Ok(Expr {
                span: span_between(t.span, inner.span),
                kind: ExprKind::Neg(Box::new(inner)),
            });
        }
        _ => return Err(cur.expected(what, HELP)),
    };
    cur.bump();
    Ok(Expr { kind, span: t.span })
}

/// A position in one line's tokens.
struct Cursor<'a> {
    toks: &'a [Token],
    i: usize,
    /// Offset just after the last token: "end of line" errors point here.
    eol: usize,
}

impl<'a> Cursor<'a> {
    fn new(line: &'a Line) -> Self {
        Cursor {
            toks: &line.tokens,
            i: 0,
            eol: line.end(),
        }
    }
    fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.i)
    }
    fn peek_tok(&self) -> Option<&'a Tok> {
        self.peek().map(|t| &t.tok)
    }
    fn peek_nth(&self, n: usize) -> Option<&'a Tok> {
        self.toks.get(self.i + n).map(|t| &t.tok)
    }
    fn at_end(&self) -> bool {
        self.i >= self.toks.len()
    }
    fn bump(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }
    fn eat(&mut self, tok: &Tok) -> Option<&'a Token> {
        match self.peek() {
            Some(t) if &t.tok == tok => self.bump(),
            _ => None,
        }
    }
    /// The current token's span, or an empty span at the end of the line.
    fn here(&self) -> SrcSpan {
        self.peek().map_or(
            SrcSpan {
                offset: self.eol,
                len: 0,
            },
            |t| t.span,
        )
    }
    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end of the line".into(), |t| t.tok.describe())
    }

    fn expect(
        &mut self,
        tok: &Tok,
        what: &str,
        open: Option<SrcSpan>,
        help: &str,
    ) -> Result<&'a Token, Problem> {
        self.eat(tok)
            .ok_or_else(|| self.expected_in(what, open, help))
    }

    fn expected(&self, what: &str, help: impl Into<String>) -> Problem {
        self.expected_in(what, None, &help.into())
    }

    /// "expected X, found Y"; at the end of a line inside a bracket opened
    /// at `open`, say that the bracket is unclosed, which is the real cause.
    fn expected_in(&self, what: &str, open: Option<SrcSpan>, help: &str) -> Problem {
        match open {
            Some(open) if self.at_end() => {
                let bracket = self
                    .toks
                    .iter()
                    .find(|t| t.span == open)
                    .map_or_else(|| "bracket".into(), |t| t.tok.describe());
                Problem::new(
                    ErrorKind::Syntax,
                    format!("unclosed {bracket}"),
                    format!("{help}; a statement ends at the end of its line"),
                )
                .label(open, "opened here, never closed")
                .label(self.here(), format!("expected {what} here"))
            }
            _ => Problem::new(
                ErrorKind::Syntax,
                format!("expected {what}, found {}", self.found()),
                help,
            )
            .label(self.here(), format!("expected {what}")),
        }
    }
}

//! Unit tests of the pipeline stages. The language itself is covered by the
//! snapshot corpus in `tests/program_corpus.rs`; here: details the corpus
//! cannot show (spans, CRLF, helpers) and the never-panic properties.

use super::*;
use crate::model::{Action, Binding, ComponentType, Port, PortKind, Transition, TypeIndex};
use proptest::prelude::*;
use std::sync::Arc;

fn params(kv: &[(&str, i64)]) -> IndexMap<String, i64> {
    kv.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn instrs(src: &str, kv: &[(&str, i64)]) -> Vec<String> {
    match compile("t.concerto", src, &params(kv)) {
        Ok(p) => p.instrs.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("{:?}", miette::Report::new(e)),
    }
}

fn error_kind(src: &str, kv: &[(&str, i64)]) -> ErrorKind {
    match compile("t.concerto", src, &params(kv)) {
        Ok(p) => panic!("expected an error, got {:?}", p.instrs),
        Err(e) => e.kind(),
    }
}

fn render(e: &dyn Diagnostic) -> String {
    let mut out = String::new();
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    // Rendering must not fail either (spans inside the text).
    assert!(handler.render_report(&mut out, e).is_ok());
    out
}

#[test]
fn statements_semicolons_and_spaces() {
    assert_eq!(
        instrs("add(a : T)\npushB (a, deploy) ; wait(a)\n", &[]),
        ["add(a : T)", "pushB(a, deploy)", "wait(a)"]
    );
}

#[test]
fn crlf_line_endings() {
    assert_eq!(
        instrs(
            "add(a : T)\r\nfor i in 1..2:\r\n  add(b{i} : T)\r\n\r\nwaitAll()\r\n",
            &[]
        ),
        ["add(a : T)", "add(b1 : T)", "add(b2 : T)", "waitAll()"]
    );
}

#[test]
fn byte_order_mark_is_ignored() {
    assert_eq!(instrs("\u{feff}add(a : T)\n", &[]), ["add(a : T)"]);
}

#[test]
fn check_without_source_positions_reports_each_instruction() {
    let program = Program {
        imports: Vec::new(),
        instrs: vec![
            Instr::Wait { name: "a".into() },
            Instr::Wait { name: "b".into() },
        ],
        spans: Vec::new(),
    };
    let err = check("x", "", &program, &Types::new()).unwrap_err();
    assert_eq!(err.related().len(), 2);
    render(&err);
}

#[test]
fn spans_cover_the_statement() {
    let src = "add(a : T)\nfor i in 1..2: con( a.p , b{i}.q )  # c\n";
    let p = compile("t", src, &params(&[])).unwrap();
    let texts: Vec<&str> = p
        .spans
        .iter()
        .map(|s| &src[s.offset..s.offset + s.len])
        .collect();
    assert_eq!(
        texts,
        ["add(a : T)", "con( a.p , b{i}.q )", "con( a.p , b{i}.q )"]
    );
}

#[test]
fn reparse_gives_argument_spans() {
    let src = "x; con( a.p , b{i}.q )";
    let op = parser::reparse_instr(src, SrcSpan { offset: 3, len: 19 }).unwrap();
    let texts: Vec<&str> = op
        .arg_spans()
        .iter()
        .map(|s| &src[s.offset..s.offset + s.len])
        .collect();
    assert_eq!(texts, ["a.p", "a", "p", "b{i}.q", "b{i}", "q"]);
    // Not an instruction, out of range, not on a char boundary: no panic.
    assert!(parser::reparse_instr(src, SrcSpan { offset: 0, len: 1 }).is_none());
    assert!(parser::reparse_instr(
        src,
        SrcSpan {
            offset: 20,
            len: 10
        }
    )
    .is_none());
    assert!(parser::reparse_instr("é", SrcSpan { offset: 1, len: 1 }).is_none());
}

#[test]
fn params_defaults_and_overrides() {
    let src = "param n = 2\nfor i in 1..n: add(a{i} : T)\n";
    assert_eq!(instrs(src, &[]).len(), 2);
    assert_eq!(instrs(src, &[("n", 4)]).len(), 4);
    // A name only given on the command line is a parameter too.
    assert_eq!(instrs("add(a{k} : T)", &[("k", 7)]), ["add(a7 : T)"]);
    assert_eq!(error_kind(src, &[("m", 1)]), ErrorKind::UnknownSetParam);
    assert_eq!(error_kind("add(a{k} : T)", &[]), ErrorKind::UndefinedName);
}

#[test]
fn undefined_names_are_found_in_loops_that_never_run() {
    assert_eq!(
        error_kind("for i in 1..0:\n  add(a{j} : T)\n", &[]),
        ErrorKind::UndefinedName
    );
}

#[test]
fn error_kinds() {
    let cases: &[(&str, ErrorKind)] = &[
        ("pushB(s, deploy", ErrorKind::Syntax),
        ("pushb(s, deploy)", ErrorKind::UnknownInstruction),
        ("for i in 1...3:\n  wait(a)", ErrorKind::BadRange),
        ("for i in 1..3000000: wait(a)", ErrorKind::TooManyIterations),
        (
            "for i in 1..600000:\n  wait(a)\n  wait(b)",
            ErrorKind::TooManyIterations,
        ),
        (
            "for i in 1..3:\n  wait(a)\n\twait(b)",
            ErrorKind::Indentation,
        ),
        ("for i in 1..3:\nwait(a)", ErrorKind::EmptyLoopBody),
        ("for i in 1..3\n  wait(a)", ErrorKind::Syntax),
        ("for i in 1..2:\n  import \"x\"", ErrorKind::Misplaced),
        ("param n = 1\nparam n = 2", ErrorKind::DuplicateParam),
        (
            "for i in 1..2: for i in 1..2: wait(a)",
            ErrorKind::Shadowing,
        ),
        ("wait(a{9223372036854775807 + 1})", ErrorKind::Overflow),
        ("wait({1})", ErrorKind::BadName),
    ];
    for (src, kind) in cases {
        assert_eq!(error_kind(src, &[]), *kind, "{src}");
    }
}

#[test]
fn interpolated_negative_values_and_leading_zeros() {
    assert_eq!(instrs("wait(a{-1})", &[]), ["wait(a-1)"]);
    assert_eq!(instrs("wait(web-01)", &[]), ["wait(web-01)"]);
    assert_eq!(instrs("wait(a{0}0)", &[]), ["wait(a00)"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let parens = format!("wait(a{{{}1{}}})", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(error_kind(&parens, &[]), ErrorKind::Syntax);
    let minus = format!("wait(a{{{}1}})", "-".repeat(10_000));
    assert_eq!(error_kind(&minus, &[]), ErrorKind::Syntax);
    let long = format!("wait(a{{{}1}})", "1+".repeat(10_000));
    assert_eq!(error_kind(&long, &[]), ErrorKind::Syntax);
    let mut loops = String::new();
    for d in 0..200 {
        loops += &format!("{}for i{d} in 1..1:\n", " ".repeat(d));
    }
    loops += &format!("{}waitAll()\n", " ".repeat(200));
    assert_eq!(error_kind(&loops, &[]), ErrorKind::Syntax);
    let one_line: String = (0..200).map(|d| format!("for i{d} in 1..1: ")).collect();
    assert_eq!(
        error_kind(&(one_line + "waitAll()"), &[]),
        ErrorKind::Syntax
    );
}

#[test]
fn suggestions() {
    let instrs = parser::INSTRUCTIONS;
    assert_eq!(suggest("pushb", instrs), Some("pushB"));
    assert_eq!(suggest("push", instrs), Some("pushB"));
    assert_eq!(suggest("wait_all", instrs), Some("waitAll"));
    assert_eq!(suggest("fro", ["for", "param"]), Some("for"));
    assert_eq!(suggest("install", instrs), None);
    assert_eq!(suggest("x", ["s", "c"]), None);
}

#[test]
fn line_and_column() {
    assert_eq!(line_col("ab\ncd", 0), (1, 1));
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
    assert_eq!(line_col("ab", 99), (1, 3));
}

#[test]
fn several_problems_render_as_one_report() {
    let err = compile("t.concerto", "add(a T)\npushb(a, x)\n", &params(&[])).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Several);
    assert_eq!(err.related().len(), 2);
    let text = render(&err);
    assert!(text.contains("2 problems in `t.concerto`"), "{text}");
    assert!(text.contains("[t.concerto:2:1]"), "{text}");
}

const GALERA: &str = "\
pushB (sysbenchm, suspend)
pushB (mariadb1, backup)
pushB (mariadb1, uninstall)
con (mconf.data, mariadb1.config)
for i in 2..n+m:
  add (mariadb{i} : MariaDBw)
  con (wconf.data, mariadb{i}.config)
  con (mariadb1.mariadb, mariadb{i}.master)
  con (docker{i}.docker, mariadb{i}.docker)
  con (piplibs{i}.pip_libs, mariadb{i}.pip_libs)
  con (r_registry.registry, mariadb{i}.registry)
for i in 1..n:
  pushB (mariadb{i}, install)
pushB (mariadb1, restore_run)
pushB (sysbenchm, install)
";

fn some_types() -> Types {
    let t = ComponentType {
        name: "MariaDBw".into(),
        places: vec!["a".into(), "b".into()],
        initial: 0,
        behaviors: vec!["install".into()],
        transitions: vec![Transition {
            name: "t".into(),
            src: 0,
            dst: 1,
            behavior: 0,
            idset: 0,
            action: Action::Nothing,
            estimate: None,
        }],
        groups: Vec::new(),
        ports: vec![
            Port {
                name: "config".into(),
                kind: PortKind::DataUse,
                ty: "conf".into(),
                bindings: vec![Binding::Transition(0)],
            },
            Port {
                name: "mariadb".into(),
                kind: PortKind::Provide,
                ty: "sql".into(),
                bindings: vec![Binding::Place(1)],
            },
        ],
    };
    [("MariaDBw".to_string(), Arc::new(TypeIndex::new(t)))]
        .into_iter()
        .collect()
}

/// Compile, check and render whatever comes out: nothing may panic.
fn exercise(src: &str) {
    let kv = params(&[("n", 3), ("m", 2)]);
    match compile("p.concerto", src, &kv) {
        Ok(program) => {
            assert_eq!(program.instrs.len(), program.spans.len());
            for types in [Types::new(), some_types()] {
                if let Err(e) = check("p.concerto", src, &program, &types) {
                    render(&e);
                }
            }
        }
        Err(e) => {
            render(&e);
        }
    }
}

#[test]
fn galera_checks_with_names_from_the_deployment_missing() {
    let p = compile("g", GALERA, &params(&[("n", 3), ("m", 2)])).unwrap();
    assert_eq!(p.instrs.len(), 4 + 4 * 6 + 3 + 2);
    // The program runs after a deployment that created mariadb1, docker2...:
    // checked alone, those are unknown (and `some_types` lacks most ports).
    let err = check("g", GALERA, &p, &some_types()).unwrap_err();
    eprintln!("{}", render(&err));
    assert!(err.related().iter().all(|e| matches!(
        e.kind(),
        ErrorKind::UndefinedComponent | ErrorKind::UnknownPort
    )));
}

fn mutate(base: &str, edits: &[(prop::sample::Index, u8, bool)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for (at, byte, insert) in edits {
        if *insert {
            bytes.insert(at.index(bytes.len() + 1), *byte);
        } else if !bytes.is_empty() {
            bytes.remove(at.index(bytes.len()));
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Bytes that matter to the language, and sometimes anything.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"(){}:,.;+-*=\n\t #\"0123456789ainx_".to_vec()),
        1 => any::<u8>(),
    ]
}

/// Token soup: programs made of the language's own pieces.
fn soup() -> impl Strategy<Value = String> {
    let pieces = vec![
        "add", "del", "con", "dcon", "pushB", "wait", "waitAll", "for", " i", " in ", "1..n", "..",
        ":", "\n", "  ", "\t", "{i}", "{", "}", "(", ")", "s.p", "c.q", ",", ";", "#", " ", "-",
        "+", "*", "param", " n", "=", "3", "import", "\"x\"", "a", "T", "é",
    ];
    prop::collection::vec(prop::sample::select(pieces), 0..60).prop_map(|v| v.concat())
}

proptest! {
    // 300 cases by default; PROPTEST_CASES=100000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        ..ProptestConfig::default()
    })]

    #[test]
    fn never_panics_on_arbitrary_text(src in "\\PC{0,200}") {
        exercise(&src);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn never_panics_on_token_soup(src in soup()) {
        exercise(&src);
    }

    #[test]
    fn never_panics_on_mutated_programs(
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), interesting_byte(), any::<bool>()),
            1..8,
        )
    ) {
        exercise(&mutate(GALERA, &edits));
    }
}

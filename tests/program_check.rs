//! `program::check` and `program::load` against small inline component
//! types; the rendered diagnostics are snapshotted.

use concerto::model::{
    Action, Binding, ComponentType, Port, PortKind, Transition, TypeIndex, Types,
};
use concerto::program::{check, compile, load, ErrorKind, Program};
use indexmap::IndexMap;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::path::Path;
use std::sync::Arc;

/// A type with places `initial` → `done`, one transition per behavior, and
/// ports `(name, kind, ty)`: provides bound to `done`, uses to `initial`.
fn component(name: &str, behaviors: &[&str], ports: &[(&str, PortKind, &str)]) -> ComponentType {
    ComponentType {
        name: name.into(),
        places: vec!["initial".into(), "done".into()],
        initial: 0,
        behaviors: behaviors.iter().map(|b| b.to_string()).collect(),
        transitions: (0..behaviors.len())
            .map(|b| Transition {
                name: format!("t{b}"),
                src: 0,
                dst: 1,
                behavior: b,
                idset: 0,
                action: Action::Nothing,
                estimate: None,
            })
            .collect(),
        groups: Vec::new(),
        ports: ports
            .iter()
            .map(|(n, kind, ty)| Port {
                name: n.to_string(),
                kind: *kind,
                ty: ty.to_string(),
                bindings: vec![Binding::Place(if kind.is_use() { 0 } else { 1 })],
            })
            .collect(),
    }
}

fn types() -> Types {
    use PortKind::*;
    [
        component(
            "Server",
            &["deploy", "maintain"],
            &[("service", Provide, "http"), ("ip", DataProvide, "addr")],
        ),
        component(
            "Client",
            &["install", "suspend"],
            &[
                ("server", Use, "http"),
                ("server_ip", DataUse, "addr"),
                ("db", Use, "sql"),
            ],
        ),
        component("Database", &["deploy"], &[("sql", Provide, "sql")]),
    ]
    .into_iter()
    .map(|t| (t.name.clone(), Arc::new(TypeIndex::new(t))))
    .collect()
}

fn render(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, diagnostic)
        .expect("rendering to a String cannot fail");
    out
}

fn compiled(src: &str) -> Program {
    compile("test.concerto", src, &IndexMap::new()).expect("the test program compiles")
}

#[test]
fn talk_programs_pass() {
    let src = "\
add(s : Server)
add(c : Client)
con(s.ip, c.server_ip)
con(s.service, c.server)
pushB(s, deploy)
pushB(c, install)
wait(c)
pushB(s, maintain)
pushB(s, deploy)
pushB(c, suspend)
wait(s)
pushB(c, install)
wait(c)
dcon(c.server, s.service)
dcon(s.ip, c.server_ip)
del(c)
add(c : Client)
waitAll()
";
    let result = check("test.concerto", src, &compiled(src), &types());
    assert!(
        result.is_ok(),
        "{}",
        result.map_err(|e| render(&e)).unwrap_err()
    );
}

#[test]
fn every_check_error() {
    let src = "\
add(s : Server)
add(c : Client)
add(d : Databse)
add(s : Server)
pushB(s, deploi)
pushB(x, deploy)
con(s.service, c.srv)
con(c.server, c.db)
con(s.service, s.ip)
con(c.server_ip, s.service)
con(c.db, s.service)
con(s.service, c.server)
con(c.server, s.service)
dcon(c.server_ip, s.ip)
del(c)
wait(c)
for i in 1..3:
  add(w{i} : Worker)
  add(same : Database)
";
    let err = check("test.concerto", src, &compiled(src), &types()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Several);
    let kinds: Vec<ErrorKind> = err.related().iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::UnknownType,
            ErrorKind::DuplicateComponent,
            ErrorKind::UnknownBehavior,
            ErrorKind::UndefinedComponent,
            ErrorKind::UnknownPort,
            ErrorKind::PortKind,
            ErrorKind::PortKind,
            ErrorKind::PortKind,
            ErrorKind::PortType,
            ErrorKind::AlreadyConnected,
            ErrorKind::NotConnected,
            ErrorKind::DelConnected,
            ErrorKind::DeletedComponent,
            ErrorKind::UnknownType,
            ErrorKind::DuplicateComponent,
        ]
    );
    insta::assert_snapshot!(render(&err));
}

/// `add(c : T, t @ hosts)` names a transition of `T`; the hosts themselves
/// are checked against the inventory when the run starts.
#[test]
fn placed_transitions_must_exist() {
    let src = "\
add(s : Server @ web, t0 @ h1)
add(c : Client @ \"web:!h1\", t1 @ h2, t2 @ h3)
";
    let err = check("test.concerto", src, &compiled(src), &types()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownTransition);
    insta::assert_snapshot!(render(&err));
}

#[test]
fn no_imports() {
    let src = "add(s : Server)\n";
    let err = check("test.concerto", src, &compiled(src), &Types::new()).unwrap_err();
    insta::assert_snapshot!(render(&err));
}

#[test]
fn dcon_twice_and_unknown_type_connections() {
    let src = "\
add(s : Server)
add(c : Client)
add(u : Unknown)
con(s.service, c.server)
dcon(s.service, c.server)
dcon(c.server, s.service)
con(u.p, s.service)
del(u)
";
    let err = check("test.concerto", src, &compiled(src), &types()).unwrap_err();
    insta::assert_snapshot!(render(&err));
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

#[test]
fn load_resolves_imports_relative_to_the_program() {
    let dir = tmp_dir("program_load_ok");
    let program = dir.join("deploy.concerto");
    std::fs::write(
        &program,
        "import \"types.yaml\"\nparam n = 1\nfor i in 1..n:\n  add(s{i} : Server)\n  pushB(s{i}, deploy)\nwaitAll()\n",
    )
    .expect("write the program");
    let seen = std::cell::RefCell::new(Vec::new());
    let loader = |p: &Path| -> Result<Types, miette::Report> {
        seen.borrow_mut().push(p.to_path_buf());
        Ok(types())
    };
    let params: IndexMap<String, i64> = [("n".to_string(), 2)].into_iter().collect();
    let runnable = load(&program, &params, &loader).expect("loads");
    assert_eq!(*seen.borrow(), [dir.join("types.yaml")]);
    let instrs: Vec<String> = runnable.program.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        instrs,
        [
            "add(s1 : Server)",
            "pushB(s1, deploy)",
            "add(s2 : Server)",
            "pushB(s2, deploy)",
            "waitAll()"
        ]
    );
    assert_eq!(runnable.spans.len(), runnable.program.len());
    assert_eq!(runnable.types.len(), 3);
}

#[test]
fn load_reports_import_failures_and_check_errors() {
    let dir = tmp_dir("program_load_err");
    let program = dir.join("p.concerto");
    std::fs::write(&program, "import \"missing.yaml\"\nadd(s : Server)\n").expect("write");
    let failing = |p: &Path| -> Result<Types, miette::Report> {
        Err(miette::miette!(
            "no such file: {}",
            p.file_name().unwrap_or_default().to_string_lossy()
        ))
    };
    let report = load(&program, &IndexMap::new(), &failing).unwrap_err();
    let text = render(report.as_ref());
    assert!(
        text.contains("p.concerto:1:8: cannot import `missing.yaml`"),
        "{text}"
    );
    assert!(text.contains("no such file: missing.yaml"), "{text}");

    std::fs::write(&program, "import \"t.yaml\"\nadd(s : Servr)\n").expect("write");
    let report = load(&program, &IndexMap::new(), &|_: &Path| Ok(types())).unwrap_err();
    let text = render(report.as_ref());
    assert!(text.contains("unknown component type `Servr`"), "{text}");
    assert!(text.contains("did you mean `Server`?"), "{text}");

    // Two imports defining the same type differently.
    std::fs::write(&program, "import \"a.yaml\"\nimport \"b.yaml\"\n").expect("write");
    let conflicting = |p: &Path| -> Result<Types, miette::Report> {
        let ports: &[(&str, PortKind, &str)] = if p.ends_with("a.yaml") {
            &[]
        } else {
            &[("x", PortKind::Use, "t")]
        };
        let t = component("Server", &["deploy"], ports);
        Ok([(t.name.clone(), Arc::new(TypeIndex::new(t)))]
            .into_iter()
            .collect())
    };
    let report = load(&program, &IndexMap::new(), &conflicting).unwrap_err();
    let text = render(report.as_ref());
    assert!(
        text.contains("defined differently by two imports"),
        "{text}"
    );

    let report = load(&dir.join("absent.concerto"), &IndexMap::new(), &failing).unwrap_err();
    assert!(render(report.as_ref()).contains("cannot read the program"));
}

//! One test per rule of model.md §2 and §3, driven by a tiny virtual clock.

use super::*;
use crate::model::{types_of, Action, DurationSpec, Instr, PortKind::*, TypeBuilder, Types};
use std::collections::BTreeMap;

/// Run to completion on a virtual clock (milliseconds); every action lasts
/// its declared fixed sleep, `Nothing` is instant; a transition named in
/// `fail` (as `component.transition`) fails. Returns the timed events and the final state.
pub(crate) fn drive(
    types: Types,
    program: Vec<Instr>,
    fail: &[&str],
) -> (Vec<(u64, Event)>, Semantics) {
    let mut sem = Semantics::new(types, program);
    let mut now = 0u64;
    let mut agenda: BTreeMap<u64, Vec<RunId>> = BTreeMap::new();
    let mut log = Vec::new();
    loop {
        let events = sem.settle();
        assert_safe(&sem);
        for e in events {
            if let Event::TransitionStarted {
                run, transition, ..
            } = &e
            {
                let (cid, t) = sem.run_info(*run).unwrap();
                let d = match &sem.component(cid).unwrap().ty.ty.transitions[t].action {
                    Action::Sleep(DurationSpec::Fixed(d)) => d.as_millis() as u64,
                    _ => 0,
                };
                let _ = transition;
                agenda.entry(now + d).or_default().push(*run);
            }
            log.push((now, e));
        }
        let Some((t, runs)) = agenda.pop_first() else {
            break;
        };
        now = t;
        for run in runs {
            let (cid, tr) = sem.run_info(run).unwrap();
            let c = sem.component(cid).unwrap();
            let name = format!("{}.{}", c.name, c.ty.ty.transitions[tr].name);
            let outcome = if fail.contains(&name.as_str()) {
                Outcome::failed("boom")
            } else {
                Outcome::ok()
            };
            sem.action_done(run, outcome);
        }
    }
    (log, sem)
}

/// The safety rule: a use port in use is always served by an active provider.
pub(crate) fn assert_safe(sem: &Semantics) {
    for k in sem.connections() {
        let (Some(u), Some(p)) = (sem.component(k.user), sem.component(k.provider)) else {
            continue;
        };
        if u.in_use[k.use_port] && !sem.served(k.user, k.use_port) {
            panic!(
                "{}.{} in use while {}.{} is inactive",
                u.name, u.ty.ty.ports[k.use_port].name, p.name, p.ty.ty.ports[k.provide_port].name
            );
        }
    }
}

/// Time of the first event matching `f`.
fn when(log: &[(u64, Event)], f: impl Fn(&Event) -> bool) -> Option<u64> {
    log.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
}
fn reached(log: &[(u64, Event)], comp: &str, place: &str) -> Option<u64> {
    when(
        log,
        |e| matches!(e, Event::PlaceReached { component, place: p } if component == comp && p == place),
    )
}
fn started(log: &[(u64, Event)], comp: &str, tr: &str) -> Vec<u64> {
    log.iter()
        .filter(|(_, e)| matches!(e, Event::TransitionStarted { component, transition, .. } if component == comp && transition == tr))
        .map(|(t, _)| *t)
        .collect()
}
fn instr_done(log: &[(u64, Event)], index: usize) -> Option<u64> {
    when(
        log,
        |e| matches!(e, Event::InstructionDone { index: i, .. } if *i == index),
    )
}

pub(crate) fn chain() -> Arc<TypeIndex> {
    TypeBuilder::new("Chain", &["a", "b", "c"])
        .t("ab", "a", "b", "deploy", 1.0)
        .t("bc", "b", "c", "deploy", 2.0)
        .build()
}

#[test]
fn deploy_runs_a_chain_and_wait_completes_when_idle() {
    let (log, sem) = drive(
        types_of([chain()]),
        vec![
            Instr::add("x", "Chain"),
            Instr::push("x", "deploy"),
            Instr::wait("x"),
        ],
        &[],
    );
    assert_eq!(reached(&log, "x", "a"), Some(0));
    assert_eq!(reached(&log, "x", "b"), Some(1000));
    assert_eq!(reached(&log, "x", "c"), Some(3000));
    assert_eq!(instr_done(&log, 2), Some(3000));
    assert!(sem.is_finished());
    let c = sem.component(0).unwrap();
    assert_eq!(c.marked, vec![false, false, true]);
}

#[test]
fn parallel_transitions_fork_and_an_idset_joins_them() {
    let ty = TypeBuilder::new("Fork", &["a", "b"])
        .t("slow", "a", "b", "deploy", 3.0)
        .t("fast", "a", "b", "deploy", 1.0)
        .build();
    let (log, _) = drive(
        types_of([ty]),
        vec![Instr::add("x", "Fork"), Instr::push("x", "deploy")],
        &[],
    );
    assert_eq!(started(&log, "x", "slow"), vec![0]);
    assert_eq!(
        started(&log, "x", "fast"),
        vec![0],
        "both transitions leave `a` at once"
    );
    assert_eq!(
        reached(&log, "x", "b"),
        Some(3000),
        "AND-join waits for the slower one"
    );
}

#[test]
fn several_idsets_are_an_or_of_and_joins() {
    let ty = TypeBuilder::new("Or", &["a", "b"])
        .t_idset("slow", "a", "b", "deploy", 0, 3.0)
        .t_idset("fast", "a", "b", "deploy", 1, 1.0)
        .build();
    let (log, sem) = drive(
        types_of([ty]),
        vec![
            Instr::add("x", "Or"),
            Instr::push("x", "deploy"),
            Instr::wait("x"),
        ],
        &[],
    );
    assert_eq!(
        reached(&log, "x", "b"),
        Some(1000),
        "the first complete idset enters the place"
    );
    assert_eq!(
        instr_done(&log, 2),
        Some(3000),
        "idle only once every transition has ended"
    );
    assert!(sem.is_finished());
}

pub(crate) fn server_client() -> Types {
    let server = TypeBuilder::new("Server", &["off", "conf", "on"])
        .t("configure", "off", "conf", "deploy", 2.0)
        .t("start", "conf", "on", "deploy", 1.0)
        .t("stop", "on", "off", "maintain", 1.0)
        .port("ip", DataProvide, "ip", &["conf"])
        .port("service", Provide, "svc", &["on"])
        .build();
    let client = TypeBuilder::new("Client", &["off", "conf", "on"])
        .t("configure", "off", "conf", "install", 1.0)
        .t("start", "conf", "on", "install", 1.0)
        .t("pause", "on", "off", "suspend", 0.5)
        .port("server_ip", DataUse, "ip", &["configure"])
        .port("server", Use, "svc", &["on"])
        .build();
    types_of([server, client])
}

/// The talk's maintenance, after the deployment.
pub(crate) fn maintenance_program() -> Vec<Instr> {
    let mut program = deploy_program();
    program.extend([
        Instr::push("s", "maintain"),
        Instr::push("s", "deploy"),
        Instr::push("c", "suspend"),
        Instr::wait("s"),
        Instr::push("c", "install"),
        Instr::wait("c"),
    ]);
    program
}

pub(crate) fn deploy_program() -> Vec<Instr> {
    vec![
        Instr::add("s", "Server"),
        Instr::add("c", "Client"),
        Instr::con("s.ip", "c.server_ip"),
        Instr::con("s.service", "c.server"),
        Instr::push("s", "deploy"),
        Instr::push("c", "install"),
        Instr::wait("c"),
    ]
}

#[test]
fn a_use_port_bound_to_a_transition_gates_its_start() {
    let (log, _) = drive(server_client(), deploy_program(), &[]);
    assert_eq!(
        started(&log, "c", "configure"),
        vec![2000],
        "waits for the server's ip (data port at conf)"
    );
    assert!(
        when(
            &log,
            |e| matches!(e, Event::PortEnabled { component, port } if component == "s" && port == "ip")
        ) == Some(2000)
    );
}

#[test]
fn a_use_port_bound_to_a_place_gates_entering_it() {
    let (log, sem) = drive(server_client(), deploy_program(), &[]);
    // client reaches conf at 3 s, its `start` ends at 4 s, but `on` needs the server's service (on at 3 s).
    assert_eq!(reached(&log, "s", "on"), Some(3000));
    assert_eq!(reached(&log, "c", "on"), Some(4000));
    assert!(sem.is_finished());
}

#[test]
fn entering_waits_until_the_provider_is_active() {
    let mut types = server_client();
    // A slower server: its service comes up after the client's `start` ends.
    let slow = TypeBuilder::new("Server", &["off", "conf", "on"])
        .t("configure", "off", "conf", "deploy", 2.0)
        .t("start", "conf", "on", "deploy", 5.0)
        .port("ip", DataProvide, "ip", &["conf"])
        .port("service", Provide, "svc", &["on"])
        .build();
    types.insert("Server".into(), slow);
    let (log, _) = drive(types, deploy_program(), &[]);
    assert_eq!(reached(&log, "s", "on"), Some(7000));
    assert_eq!(
        reached(&log, "c", "on"),
        Some(7000),
        "client's token waits on the input dock"
    );
}

#[test]
fn a_provider_cannot_leave_while_a_user_uses_its_port() {
    // The talk's maintenance: the server must wait for the client's suspend.
    let (log, sem) = drive(server_client(), maintenance_program(), &[]);
    let stop = started(&log, "s", "stop");
    let left_on = when(
        &log,
        |e| matches!(e, Event::PlaceLeft { component, place } if component == "c" && place == "on"),
    )
    .unwrap();
    assert_eq!(left_on, 4000, "client suspends right after the deploy wait");
    assert_eq!(
        stop,
        vec![4000],
        "server leaves `on` only once the client stopped using it"
    );
    // server: stop 4-5, configure 5-7, start 7-8; client re-installs after Instr::wait(s).
    assert_eq!(instr_done(&log, 10), Some(8000));
    assert_eq!(started(&log, "c", "configure"), vec![2000, 8000]);
    assert!(sem.is_finished());
}

#[test]
fn without_a_connection_the_provider_leaves_at_once() {
    let program = vec![
        Instr::add("s", "Server"),
        Instr::push("s", "deploy"),
        Instr::wait("s"),
        Instr::push("s", "maintain"),
        Instr::wait("s"),
    ];
    let (log, sem) = drive(server_client(), program, &[]);
    assert_eq!(started(&log, "s", "stop"), vec![3000]);
    assert!(sem.is_finished());
}

#[test]
fn dcon_blocks_while_the_use_side_is_in_use() {
    let mut program = deploy_program();
    program.extend([
        Instr::push("c", "suspend"),
        Instr::dcon("s.service", "c.server"),
    ]);
    let (log, sem) = drive(server_client(), program, &[]);
    // client in `on` uses `server` until it leaves `on` at 4 s (suspend starts then).
    assert_eq!(instr_done(&log, 8), Some(4000));
    assert_eq!(
        sem.connections().count(),
        1,
        "only the data connection is left"
    );
}

#[test]
fn groups_provide_while_any_token_is_inside_and_gate_entry() {
    // Provider's group {b, c} stays active across b -> c; the user's group
    // {u1, u2} needs it to be entered.
    let p = TypeBuilder::new("P", &["a", "b", "c", "d"])
        .t("ab", "a", "b", "deploy", 1.0)
        .t("bc", "b", "c", "deploy", 5.0)
        .t("cd", "c", "d", "leave", 1.0)
        .group("g", &["b", "c"])
        .port("svc", Provide, "s", &["g"])
        .build();
    let u = TypeBuilder::new("U", &["u0", "u1", "u2", "u3"])
        .t("go", "u0", "u1", "deploy", 0.0)
        .t("work", "u1", "u2", "deploy", 2.0)
        .t("out", "u2", "u3", "deploy", 1.0)
        .group("ug", &["u1", "u2"])
        .port("need", Use, "s", &["ug"])
        .build();
    let program = vec![
        Instr::add("p", "P"),
        Instr::add("u", "U"),
        Instr::con("p.svc", "u.need"),
        Instr::push("p", "deploy"),
        Instr::push("u", "deploy"),
        Instr::push("p", "leave"),
        Instr::WaitAll,
    ];
    let (log, sem) = drive(types_of([p, u]), program, &[]);
    assert_eq!(
        reached(&log, "u", "u1"),
        Some(1000),
        "entering the group waits for the provider's group"
    );
    assert!(
        when(
            &log,
            |e| matches!(e, Event::PortDisabled { component, .. } if component == "p")
        )
        .is_none_or(|t| t >= 6000),
        "moving b -> c inside the group does not disable the port"
    );
    // user leaves its group at u2 -> u3 (starts at 3 s); provider's leave behavior needs c (reached 6 s).
    assert_eq!(started(&log, "p", "cd"), vec![6000]);
    assert!(sem.is_finished());
}

#[test]
fn behaviors_queue_and_places_can_be_revisited_across_behaviors() {
    let ty = TypeBuilder::new("Cyc", &["a", "b"])
        .t("up", "a", "b", "deploy", 1.0)
        .t("down", "b", "a", "undeploy", 1.0)
        .build();
    let program = vec![
        Instr::add("x", "Cyc"),
        Instr::push("x", "deploy"),
        Instr::push("x", "undeploy"),
        Instr::push("x", "deploy"),
        Instr::wait("x"),
    ];
    let (log, sem) = drive(types_of([ty]), program, &[]);
    assert_eq!(started(&log, "x", "up"), vec![0, 2000]);
    assert_eq!(started(&log, "x", "down"), vec![1000]);
    assert_eq!(instr_done(&log, 4), Some(3000));
    let behaviors: Vec<_> = log
        .iter()
        .filter_map(|(t, e)| match e {
            Event::BehaviorStarted { behavior, .. } => Some((*t, behavior.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        behaviors,
        vec![(0, "deploy"), (1000, "undeploy"), (2000, "deploy")]
    );
    assert!(sem.is_finished());
}

#[test]
fn del_waits_for_idle_and_no_connection() {
    let mut program = deploy_program();
    program.extend([Instr::Del { name: "c".into() }]);
    // c stays connected: del can never complete.
    let (log, sem) = drive(server_client(), program.clone(), &[]);
    assert!(instr_done(&log, 7).is_none());
    assert!(!sem.is_finished());
    assert!(sem.blocked().iter().any(|b| b.reason.contains("del(c)")));

    program.pop();
    program.extend([
        Instr::push("c", "suspend"),
        Instr::dcon("s.service", "c.server"),
        Instr::dcon("s.ip", "c.server_ip"),
        Instr::Del { name: "c".into() },
    ]);
    let (log, sem) = drive(server_client(), program, &[]);
    assert_eq!(instr_done(&log, 10), Some(4500), "after suspend ends");
    assert!(sem.component_id("c").is_none());
    assert!(sem.is_finished());
}

#[test]
fn wait_all_waits_for_every_component() {
    let program = vec![
        Instr::add("x", "Chain"),
        Instr::add("y", "Chain"),
        Instr::push("x", "deploy"),
        Instr::push("y", "deploy"),
        Instr::push("y", "deploy"),
        Instr::WaitAll,
    ];
    let (log, sem) = drive(types_of([chain()]), program, &[]);
    // y's second deploy finds nothing to leave in `c`: it ends at once.
    assert_eq!(instr_done(&log, 5), Some(3000));
    assert!(sem.is_finished());
}

#[test]
fn a_failure_stops_its_component_and_others_go_on() {
    let mut program = deploy_program();
    program.insert(6, Instr::add("z", "Chain"));
    program.insert(7, Instr::push("z", "deploy"));
    let (log, sem) = drive(
        types_of([chain()])
            .into_iter()
            .chain(server_client())
            .collect(),
        program,
        &["s.start"],
    );
    assert!(log.iter().any(|(_, e)| matches!(e, Event::ComponentFailed { component, transition, .. } if component == "s" && transition == "start")));
    assert_eq!(
        reached(&log, "z", "c"),
        Some(3000),
        "an unrelated component finishes"
    );
    assert!(!sem.is_finished());
    let blocked = sem.blocked();
    assert!(
        blocked
            .iter()
            .any(|b| b.component == "s" && b.reason.contains("failed")),
        "{blocked:?}"
    );
    assert!(
        blocked
            .iter()
            .any(|b| b.component == "c" && b.reason.contains("served")),
        "{blocked:?}"
    );
}

#[test]
fn data_ports_stay_provided_and_carry_values() {
    let mut sem = Semantics::new(server_client(), deploy_program());
    let mut events = sem.settle();
    // Finish the server's configure with a value for `ip`.
    let run = events
        .iter()
        .find_map(|e| match e {
            Event::TransitionStarted {
                component,
                transition,
                run,
                ..
            } if component == "s" && transition == "configure" => Some(*run),
            _ => None,
        })
        .unwrap();
    sem.action_done(
        run,
        Outcome {
            error: None,
            data: vec![("ip".into(), "127.0.0.2".into())],
        },
    );
    events = sem.settle();
    let run = events
        .iter()
        .find_map(|e| match e {
            Event::TransitionStarted {
                component,
                transition,
                run,
                ..
            } if component == "c" && transition == "configure" => Some(*run),
            _ => None,
        })
        .expect("client configure starts once ip is provided");
    let (cid, t) = sem.run_info(run).unwrap();
    assert_eq!(
        sem.data_inputs(cid, t),
        vec![("server_ip".to_string(), "127.0.0.2".to_string())]
    );
}

#[test]
fn bad_instructions_fail_the_program_not_the_process() {
    let program = vec![Instr::add("x", "Nope"), Instr::add("y", "Chain")];
    let (log, sem) = drive(types_of([chain()]), program, &[]);
    assert!(log.iter().any(|(_, e)| matches!(e, Event::InstructionFailed { error, .. } if error.contains("unknown component type"))));
    assert!(
        sem.component_id("y").is_none(),
        "nothing after a failed instruction runs"
    );
    let program = vec![
        Instr::add("x", "Chain"),
        Instr::con("x.nope", "x.nope"),
        Instr::push("x", "fly"),
    ];
    let (log, _) = drive(types_of([chain()]), program, &[]);
    assert!(log.iter().any(
        |(_, e)| matches!(e, Event::InstructionFailed { error, .. } if error.contains("no port"))
    ));
}

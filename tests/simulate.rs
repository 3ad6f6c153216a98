//! The engine on tokio's paused clock against the performance model: every
//! shipped example and generated assemblies must agree to the nanosecond.
//! Real-mode tests run local commands: data ports, failures, timeouts.

use concerto::durations::Durations;
use concerto::engine::{self, RunOptions, RunReport};
use concerto::model::{types_of, Action, Instr, PortKind, Runnable, TypeBuilder};
use concerto::perf::{self, Coordination};
use std::time::Duration;

fn simulate(r: &Runnable, seed: u64) -> RunReport {
    let rt = engine::runtime(true).unwrap();
    let opts = RunOptions {
        simulate: true,
        durations: Durations::new(seed),
        ..RunOptions::default()
    };
    rt.block_on(engine::run(r, &opts)).unwrap()
}

fn real(r: &Runnable, journal: Option<std::path::PathBuf>) -> RunReport {
    let rt = engine::runtime(false).unwrap();
    let opts = RunOptions {
        journal,
        ..RunOptions::default()
    };
    rt.block_on(engine::run(r, &opts)).unwrap()
}

#[test]
fn every_example_simulates_exactly_as_predicted() {
    for (name, r) in concerto::results::examples() {
        for seed in [1, 2, 3, 42] {
            let report = simulate(&r, seed);
            let p = perf::predict(&r, &Durations::new(seed), Coordination::Concerto);
            assert!(
                report.ok(),
                "{name} seed {seed}: {:?} {:?}",
                report.blocked,
                report.failures
            );
            assert!(p.deadlock.is_none(), "{name}: {:?}", p.deadlock);
            assert_eq!(report.makespan, p.makespan, "{name} seed {seed}");
            assert_eq!(report.transitions_run, p.runs.len(), "{name} seed {seed}");
        }
    }
}

#[test]
fn generated_assemblies_simulate_exactly_as_predicted() {
    for n in [1, 7, 40] {
        for r in [
            concerto::bench::chain(n, 0.5),
            concerto::bench::provider_users(n, 0.25),
            concerto::bench::parallel(n, 1.5),
            concerto::bench::scale(n),
        ] {
            let report = simulate(&r, 0);
            let p = perf::predict(&r, &Durations::new(0), Coordination::Concerto);
            assert!(report.ok());
            assert_eq!(report.makespan, p.makespan);
        }
    }
    assert_eq!(
        simulate(&concerto::bench::chain(40, 0.5), 0).makespan,
        Duration::from_secs(20)
    );
}

#[test]
fn ten_thousand_components_simulate_in_well_under_a_second_of_work() {
    // Not a timing assertion (machines are noisy): it must finish and agree.
    let r = concerto::bench::scale(10_000);
    let report = simulate(&r, 0);
    assert!(report.ok());
    assert_eq!(report.transitions_run, 3 * 10_000 + 1);
    assert_eq!(
        report.makespan,
        perf::predict(&r, &Durations::new(0), Coordination::Concerto).makespan
    );
}

fn runnable(types: concerto::model::Types, program: Vec<Instr>) -> Runnable {
    let spans = vec![Default::default(); program.len()];
    Runnable {
        types,
        program,
        spans,
    }
}
fn cmd(c: &str) -> Action {
    Action::Command {
        cmd: c.into(),
        timeout: Some(Duration::from_secs(20)),
    }
}

/// The server publishes its address through `$CONCERTO_OUTPUT`; the client
/// reads it from `$CONCERTO_PORT_SERVER_IP` and writes it to a file.
#[test]
fn commands_pass_data_through_data_ports() {
    let dir = tempdir();
    let out = dir.join("client.conf");
    let server = TypeBuilder::new("S", &["off", "on"])
        .t("start", "off", "on", "deploy", 0.0)
        .action(cmd("echo ip=127.0.0.7 >> \"$CONCERTO_OUTPUT\""))
        .port("ip", PortKind::DataProvide, "ip", &["on"])
        .build();
    let client = TypeBuilder::new("C", &["off", "on"])
        .t("configure", "off", "on", "deploy", 0.0)
        .action(cmd(&format!(
            "echo \"server=$CONCERTO_PORT_SERVER_IP template={{{{ ports.server_ip }}}}\" > {}",
            out.display()
        )))
        .port("server_ip", PortKind::DataUse, "ip", &["configure"])
        .build();
    let r = runnable(
        types_of([server, client]),
        vec![
            Instr::add("s", "S"),
            Instr::add("c", "C"),
            Instr::con("s.ip", "c.server_ip"),
            Instr::push("s", "deploy"),
            Instr::push("c", "deploy"),
            Instr::WaitAll,
        ],
    );
    let journal = dir.join("j.jsonl");
    let report = real(&r, Some(journal.clone()));
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "server=127.0.0.7 template=127.0.0.7"
    );
    let j = std::fs::read_to_string(&journal).unwrap();
    assert!(j
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    assert!(j.contains("\"event\":\"run_finished\""));
    let tl = concerto::gantt::Timeline::from_journal("j", &j).unwrap();
    assert_eq!(tl.bars.len(), 2);
}

#[test]
fn a_failing_command_fails_its_component_and_others_finish() {
    let dir = tempdir();
    let done = dir.join("other-done");
    let bad = TypeBuilder::new("Bad", &["off", "on"])
        .t("boom", "off", "on", "deploy", 0.0)
        .action(cmd("echo about to fail; echo oops >&2; exit 3"))
        .build();
    let good = TypeBuilder::new("Good", &["off", "mid", "on"])
        .t("one", "off", "mid", "deploy", 0.0)
        .action(cmd("sleep 0.2"))
        .t("two", "mid", "on", "deploy", 0.0)
        .action(cmd(&format!("touch {}", done.display())))
        .build();
    let r = runnable(
        types_of([bad, good]),
        vec![
            Instr::add("b", "Bad"),
            Instr::add("g", "Good"),
            Instr::push("b", "deploy"),
            Instr::push("g", "deploy"),
            Instr::WaitAll,
        ],
    );
    let report = real(&r, None);
    assert!(!report.ok());
    assert!(done.exists(), "the unaffected component finished");
    let f = &report.failures[0];
    assert_eq!(
        (
            f.component.as_str(),
            f.transition.as_str(),
            f.error.as_str()
        ),
        ("b", "boom", "exit status 3")
    );
    assert!(
        f.output.contains("about to fail") && f.output.contains("oops"),
        "{}",
        f.output
    );
    assert!(report.blocked.iter().any(|b| b.component == "b"));
}

#[test]
fn a_command_that_hangs_times_out() {
    let slow = TypeBuilder::new("Slow", &["off", "on"])
        .t("hang", "off", "on", "deploy", 0.0)
        .action(Action::Command {
            cmd: "sleep 30".into(),
            timeout: Some(Duration::from_millis(300)),
        })
        .build();
    let r = runnable(
        types_of([slow]),
        vec![
            Instr::add("x", "Slow"),
            Instr::push("x", "deploy"),
            Instr::WaitAll,
        ],
    );
    let t = std::time::Instant::now();
    let report = real(&r, None);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(
        report.failures[0].error.contains("timed out"),
        "{:?}",
        report.failures
    );
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "concerto-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

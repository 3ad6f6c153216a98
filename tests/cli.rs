//! End-to-end tests of the `concerto` binary, in the style of ripgrep's
//! `tests/`: every test runs the real executable with `std::process::Command`
//! in a fresh directory of its own, and checks exit codes, output and the
//! files it writes. Fixtures live in `tests/cli/` and are copied into the
//! test's directory, so diagnostics name them by their bare file name.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_concerto");
const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A fresh directory for one test, under Cargo's target tmp dir. Removed when
/// the test passes, kept (for inspection) when it fails.
struct Dir {
    root: PathBuf,
}

impl Dir {
    fn new(name: &str) -> Dir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("cli")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        Dir { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Copy `tests/cli/NAME` into this directory.
    fn fixture(&self, name: &str) {
        let from = Path::new(MANIFEST_DIR).join("tests/cli").join(name);
        fs::copy(&from, self.path(name))
            .unwrap_or_else(|e| panic!("cannot copy fixture {}: {e}", from.display()));
    }

    fn write(&self, name: &str, contents: &str) {
        fs::write(self.path(name), contents).unwrap();
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", self.path(name).display()))
    }

    /// `concerto` with this directory as its working directory.
    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(&self.root)
            .env_remove("CONCERTO_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    /// Run `concerto ARGS` to completion. Whatever the input, it must not
    /// panic (ARCHITECTURE.md: "user input never panics").
    fn run(&self, args: &[&str]) -> Output {
        let out = self.command().args(args).output().unwrap();
        let out = Output {
            args: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !out.stdout.contains("panicked") && !out.stderr.contains("panicked"),
            "{}",
            out.describe()
        );
        out
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// What a finished `concerto` printed, and its exit code.
struct Output {
    args: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "concerto {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "{}", self.describe());
        self
    }

    fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

fn example(rel: &str) -> String {
    let p = Path::new(MANIFEST_DIR).join("examples").join(rel);
    assert!(p.is_file(), "missing example {}", p.display());
    p.display().to_string()
}

/// Every assembly and program under `examples/`, with the `--set` options
/// it needs (galera gets `n=3, m=2`).
fn examples() -> Vec<(String, Vec<&'static str>)> {
    let mut out = Vec::new();
    let mut dirs = vec![Path::new(MANIFEST_DIR).join("examples")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "concerto")
            {
                let set = if path.file_name().unwrap() == "galera.concerto" {
                    vec!["--set", "n=3", "--set", "m=2"]
                } else {
                    vec![]
                };
                out.push((path.display().to_string(), set));
            }
        }
    }
    out.sort();
    let names: Vec<&str> = out
        .iter()
        .map(|(p, _)| p.rsplit('/').next().unwrap())
        .collect();
    for known in [
        "client-server.yaml",
        "deploy.concerto",
        "maintenance.concerto",
        "galera.yaml",
        "galera.concerto",
        "server-deps-1.yaml",
        "server-deps-5.yaml",
        "server-deps-10.yaml",
        "update-1.concerto",
        "update-5.concerto",
        "update-10.concerto",
    ] {
        assert!(names.contains(&known), "{known} not found in {names:?}");
    }
    out
}

fn args<'a>(head: &[&'a str], file: &'a str, set: &[&'a str]) -> Vec<&'a str> {
    let mut v = head.to_vec();
    v.push(file);
    v.extend_from_slice(set);
    v
}

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {v:#}"))
}

/// Parse a JSON-lines journal, checking that every line is a JSON object
/// with a numeric `t` and an `event`, and that `t` never decreases.
fn journal(text: &str) -> Vec<Value> {
    let mut last_t = 0.0;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("journal line {} is not JSON ({e}): {line}", i + 1));
            let t = num(&v, "/t");
            assert!(
                t >= last_t,
                "journal time goes back at line {}: {line}",
                i + 1
            );
            last_t = t;
            assert!(
                v["event"].is_string(),
                "line {} has no event: {line}",
                i + 1
            );
            v
        })
        .collect()
}

fn events<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == kind).collect()
}

/// Poll `cond` every 20 ms until it holds or `limit` passes.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

// ---------------------------------------------------------------------------
// 1. check
// ---------------------------------------------------------------------------

#[test]
fn check_accepts_every_example() {
    let dir = Dir::new("check_examples");
    for (file, set) in examples() {
        let out = dir.run(&args(&["check"], &file, &set));
        out.expect_code(0);
        assert!(out.stdout.starts_with("ok:"), "{}", out.describe());
        let kind = if file.ends_with(".concerto") {
            "ok: program with "
        } else {
            "ok: assembly with "
        };
        out.stdout_has(kind).stdout_has(", 0 warning(s)");
        assert_eq!(out.stderr, "", "{}", out.describe());
    }
}

#[test]
fn check_expands_the_galera_loops_with_set() {
    // Each node i in 2..n+m adds docker{i}, piplibs{i} and mariadb{i}: two
    // more nodes (m = 2 instead of the default 0) are six more instances.
    let dir = Dir::new("check_galera");
    let file = example("galera/galera.concerto");
    let instances = |out: &Output| -> usize {
        let s = &out.stdout;
        let end = s.find(" instance(s)").expect("instance count");
        let start = s[..end].rfind(' ').unwrap() + 1;
        s[start..end].parse().unwrap()
    };
    let set = dir.run(&["check", &file, "--set", "n=3", "--set", "m=2"]);
    set.expect_code(0).stdout_has("ok: program with ");
    let default = dir.run(&["check", &file]);
    default.expect_code(0).stdout_has("ok: program with ");
    assert_eq!(
        instances(&set),
        instances(&default) + 6,
        "{}",
        set.describe()
    );
    let bigger = dir.run(&["check", &file, "--set", "n=3", "--set", "m=4"]);
    assert_eq!(instances(&bigger), instances(&default) + 12);
}

// ---------------------------------------------------------------------------
// 2. errors point at file:line:col
// ---------------------------------------------------------------------------

#[test]
fn unknown_place_is_reported_at_its_token() {
    let dir = Dir::new("err_unknown_place");
    dir.fixture("unknown-place.yaml");
    for cmd in ["check", "predict", "run"] {
        dir.run(&[cmd, "unknown-place.yaml"])
            .expect_code(1)
            // line 6: `      boot: {from: stopped, to: running, ...}`
            .stderr_has("unknown-place.yaml:6:33")
            .stderr_has("assembly::unknown_place")
            .stderr_has("unknown place `running` as `to` of transition `boot`");
    }
}

#[test]
fn unknown_instruction_is_reported_at_its_token() {
    let dir = Dir::new("err_unknown_instruction");
    dir.fixture("unknown-instruction.concerto");
    dir.fixture("pair.yaml");
    let out = dir.run(&["check", "unknown-instruction.concerto"]);
    // line 5: `pushB(a, deploy); pushb(b, deploy)`: the second statement.
    out.expect_code(1)
        .stderr_has("unknown-instruction.concerto:5:19")
        .stderr_has("unknown instruction `pushb`")
        .stderr_has("did you mean `pushB`?");
    assert_eq!(out.stdout, "");
}

#[test]
fn missing_import_is_reported_at_the_import() {
    let dir = Dir::new("err_missing_import");
    dir.fixture("missing-import.concerto");
    // line 3: `import "absent-types.yaml"`: the string starts in column 8.
    dir.run(&["check", "missing-import.concerto"])
        .expect_code(1)
        .stderr_has("missing-import.concerto:3:8")
        .stderr_has("cannot import `absent-types.yaml`");
}

#[test]
fn set_on_an_assembly_is_rejected() {
    let dir = Dir::new("err_set_assembly");
    let file = example("server-deps/server-deps-1.yaml");
    for cmd in ["check", "predict", "run"] {
        dir.run(&[cmd, &file, "--set", "n=3"])
            .expect_code(1)
            .stderr_has("`--set` only applies to programs")
            .stderr_has("server-deps-1.yaml");
    }
}

#[test]
fn set_of_an_undeclared_parameter_is_rejected() {
    let dir = Dir::new("err_set_undeclared");
    dir.run(&[
        "check",
        &example("client-server/deploy.concerto"),
        "--set",
        "x=1",
    ])
    .expect_code(1)
    .stderr_has("`--set x=...`: the program has no parameter `x`")
    .stderr_has("this program has no parameters");
    dir.run(&[
        "predict",
        &example("galera/galera.concerto"),
        "--set",
        "nn=3",
    ])
    .expect_code(1)
    .stderr_has("the program has no parameter `nn`")
    .stderr_has("did you mean `n`?");
}

#[test]
fn bad_durations_file_is_reported_at_its_entry() {
    let dir = Dir::new("err_durations");
    dir.fixture("data-chain.yaml");
    dir.fixture("bad.durations.yaml");
    for cmd in ["predict", "run"] {
        let mut a = vec![cmd, "data-chain.yaml", "--durations", "bad.durations.yaml"];
        if cmd == "run" {
            a.push("--simulate");
        }
        // line 4: `App.start: soon` (the entry's key starts the line).
        dir.run(&a)
            .expect_code(1)
            .stderr_has("invalid durations file")
            .stderr_has("bad.durations.yaml:4:1")
            .stderr_has("the duration of `App.start` is not a number of seconds");
    }
    assert!(!dir.path("app.txt").exists(), "nothing ran");
}

#[test]
fn a_durations_file_overrides_the_declared_durations() {
    let dir = Dir::new("durations_ok");
    dir.fixture("data-chain.yaml");
    // `instance.transition` wins over `Type.transition`.
    dir.write(
        "fixed.yaml",
        "Db.start: 2\nApp.configure: 1500ms\nApp.start: 100\napp.start: 3\n",
    );
    let declared = dir
        .run(&["predict", "--json", "data-chain.yaml"])
        .expect_code(0)
        .json();
    assert_eq!(num(&declared, "/makespan"), 0.3, "{declared:#}");
    let p = dir
        .run(&[
            "predict",
            "--json",
            "data-chain.yaml",
            "--durations",
            "fixed.yaml",
        ])
        .expect_code(0)
        .json();
    // db.start, then app.configure, then app.start: 2 + 1.5 + 3.
    assert_eq!(num(&p, "/makespan"), 6.5, "{p:#}");
    let r = dir
        .run(&[
            "run",
            "--simulate",
            "--json",
            "data-chain.yaml",
            "--durations",
            "fixed.yaml",
        ])
        .expect_code(0)
        .json();
    assert_eq!(num(&r, "/makespan"), 6.5, "{r:#}");
    assert_eq!(num(&r, "/predicted"), 6.5, "{r:#}");
    assert!(
        !dir.path("app.txt").exists(),
        "a simulation runs no command"
    );
}

// ---------------------------------------------------------------------------
// 3. predict
// ---------------------------------------------------------------------------

#[test]
fn predict_json_has_makespan_baselines_and_critical_path() {
    let dir = Dir::new("predict_json");
    let file = example("client-server/deploy.concerto");
    let p = dir
        .run(&["predict", "--json", "--seed", "1", &file])
        .expect_code(0)
        .json();
    let makespan = num(&p, "/makespan");
    let aeolus = num(&p, "/baselines/aeolus");
    let ansible = num(&p, "/baselines/ansible");
    assert!(makespan > 0.0, "{p:#}");
    assert!(makespan <= aeolus, "{p:#}");
    assert!(aeolus <= ansible, "{p:#}");
    // Concerto strictly beats the Ansible barrier on this example.
    assert!(makespan < ansible, "{p:#}");
    assert!(p["deadlock"].is_null(), "{p:#}");
    assert_eq!(p["transitions"], 6, "{p:#}");
    let gain = num(&p, "/gain/vs_ansible");
    assert!((gain - (1.0 - makespan / ansible)).abs() < 1e-12, "{p:#}");

    let path = p["critical_path"].as_array().expect("critical_path array");
    assert!(!path.is_empty());
    // The path ends at the makespan, its weights add up to it, and its
    // times never decrease.
    assert_eq!(num(path.last().unwrap(), "/at"), makespan, "{p:#}");
    let total: f64 = path.iter().map(|s| num(s, "/weight")).sum();
    assert!((total - makespan).abs() < 1e-9, "{total} vs {makespan}");
    assert!(path
        .windows(2)
        .all(|w| num(&w[0], "/at") <= num(&w[1], "/at")));
    assert_eq!(path[0]["what"], "instruction 1 `add(s : Server)`");
    assert_eq!(path.last().unwrap()["what"], "instruction 7 `wait(c)`");

    // The seed matters, and the same seed gives the same answer.
    let again = dir
        .run(&["predict", "--json", "--seed", "1", &file])
        .expect_code(0)
        .json();
    assert_eq!(again, p);
    let other = dir
        .run(&["predict", "--json", "--seed", "2", &file])
        .expect_code(0)
        .json();
    assert_ne!(num(&other, "/makespan"), makespan);

    // The text form says the same.
    dir.run(&["predict", "--seed", "1", &file])
        .expect_code(0)
        .stdout_has(&format!("predicted makespan  {makespan:>10.3} s"))
        .stdout_has(&format!("Ansible model       {ansible:>10.3} s"))
        .stdout_has("critical path:");
}

#[test]
fn predict_baselines_are_ordered_on_every_example() {
    let dir = Dir::new("predict_baselines");
    for (file, set) in examples() {
        for seed in ["0", "5"] {
            let p = dir
                .run(&args(&["predict", "--json", "--seed", seed], &file, &set))
                .expect_code(0)
                .json();
            let (m, a, b) = (
                num(&p, "/makespan"),
                num(&p, "/baselines/aeolus"),
                num(&p, "/baselines/ansible"),
            );
            assert!(m <= a && m <= b, "{file} seed {seed}: {p:#}");
            assert!(a <= b, "{file} seed {seed}: {p:#}");
        }
    }
}

#[test]
fn predict_writes_a_gantt_chart() {
    let dir = Dir::new("predict_gantt");
    dir.run(&[
        "predict",
        &example("client-server/maintenance.concerto"),
        "--gantt",
        "predicted.svg",
    ])
    .expect_code(0);
    let svg = dir.read("predicted.svg");
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
}

// ---------------------------------------------------------------------------
// 4. run --simulate, journals and Gantt charts
// ---------------------------------------------------------------------------

#[test]
fn simulated_runs_of_every_example_match_the_prediction() {
    let dir = Dir::new("simulate_examples");
    for (i, (file, set)) in examples().into_iter().enumerate() {
        for seed in ["1", "7"] {
            let journal_name = format!("j{i}-{seed}.jsonl");
            let svg_name = format!("g{i}-{seed}.svg");
            let head = [
                "run",
                "--simulate",
                "--json",
                "--seed",
                seed,
                "--journal",
                &journal_name,
                "--gantt",
                &svg_name,
            ];
            let out = dir.run(&args(&head, &file, &set));
            let r = out.expect_code(0).json();
            let ctx = format!("{file} seed {seed}: {r:#}");
            assert_eq!(r["ok"], true, "{ctx}");
            assert_eq!(r["interrupted"], false, "{ctx}");
            assert_eq!(r["failures"], Value::Array(vec![]), "{ctx}");
            assert_eq!(r["blocked"], Value::Array(vec![]), "{ctx}");
            let makespan = num(&r, "/makespan");
            assert_eq!(makespan, num(&r, "/predicted"), "{ctx}");

            let p = dir
                .run(&args(&["predict", "--json", "--seed", seed], &file, &set))
                .expect_code(0)
                .json();
            assert_eq!(makespan, num(&p, "/makespan"), "{ctx}");
            assert_eq!(r["transitions"], p["transitions"], "{ctx}");

            // The journal: JSON lines from run_started to run_finished.
            let lines = journal(&dir.read(&journal_name));
            let first = &lines[0];
            assert_eq!(first["event"], "run_started", "{ctx}");
            assert_eq!(first["mode"], "simulate");
            assert_eq!(first["seed"], seed.parse::<u64>().unwrap());
            let last = lines.last().unwrap();
            assert_eq!(last["event"], "run_finished", "{ctx}");
            assert_eq!(last["ok"], true);
            assert_eq!(num(last, "/makespan"), makespan, "{ctx}");
            assert_eq!(
                events(&lines, "transition_started").len() as u64,
                r["transitions"].as_u64().unwrap(),
                "{ctx}"
            );
            assert_eq!(
                events(&lines, "transition_started").len(),
                events(&lines, "transition_ended").len(),
                "{ctx}"
            );
            assert!(events(&lines, "run_interrupted").is_empty());

            // The run's chart.
            let svg = dir.read(&svg_name);
            assert!(svg.contains("<svg"), "{ctx}");
            assert!(svg.contains("(simulated)"), "{ctx}");

            // Charts from the journal.
            let from_journal = format!("x{i}-{seed}.svg");
            dir.run(&["gantt", &journal_name, "-o", &from_journal])
                .expect_code(0);
            assert!(dir.read(&from_journal).contains("<svg"), "{ctx}");
            let timeline_name = format!("x{i}-{seed}.json");
            dir.run(&["gantt", &journal_name, "-o", &timeline_name])
                .expect_code(0);
            let tl: Value = serde_json::from_str(&dir.read(&timeline_name)).unwrap();
            assert_eq!(num(&tl, "/makespan"), makespan, "{ctx}");
            let bars = tl["bars"].as_array().unwrap();
            assert_eq!(bars.len() as u64, r["transitions"].as_u64().unwrap());
            assert!(bars.iter().all(|b| b["failed"] == false), "{ctx}");
            assert!(
                bars.iter()
                    .all(|b| num(b, "/start") <= num(b, "/end") && num(b, "/end") <= makespan),
                "{ctx}"
            );
        }
    }
}

#[test]
fn simulated_run_text_summary() {
    let dir = Dir::new("simulate_text");
    let file = example("client-server/deploy.concerto");
    let p = dir
        .run(&["predict", "--json", "--seed", "1", &file])
        .expect_code(0)
        .json();
    let m = num(&p, "/makespan");
    let n = p["transitions"].as_u64().unwrap();
    assert!(n > 0);
    dir.run(&["run", "--simulate", "--seed", "1", &file])
        .expect_code(0)
        .stdout_has(&format!(
            "ok: {n} transitions in {m:.3} s (predicted {m:.3} s, +0.000 %)"
        ));
}

#[test]
fn gantt_rejects_a_file_that_is_not_a_journal() {
    let dir = Dir::new("gantt_bad");
    dir.write("bad.jsonl", "{\"t\":0.0,\"event\":\"run_sta");
    dir.run(&["gantt", "bad.jsonl", "-o", "x.svg"])
        .expect_code(1)
        .stderr_has("journal line 1: not JSON");
    assert!(!dir.path("x.svg").exists());
    dir.run(&["gantt", "absent.jsonl", "-o", "x.svg"])
        .expect_code(1)
        .stderr_has("cannot read absent.jsonl");
}

// ---------------------------------------------------------------------------
// 5. deadlock
// ---------------------------------------------------------------------------

#[test]
fn deadlock_is_predicted_and_the_simulated_run_cannot_finish() {
    let dir = Dir::new("deadlock");
    dir.fixture("pair.yaml");
    dir.fixture("deadlock.concerto");
    // Statically the program is fine.
    dir.run(&["check", "deadlock.concerto"]).expect_code(0);

    let out = dir.run(&["predict", "deadlock.concerto"]);
    out.expect_code(2)
        .stdout_has("DEADLOCK: the run cannot finish.")
        .stdout_has("waiting on each other in a cycle:")
        .stdout_has("    - a: start start\n")
        .stdout_has("    - b: start start\n")
        .stdout_has("  stuck: a: start start: waits for a port")
        .stdout_has("  stuck: b: start start: waits for a port");

    let p = dir
        .run(&["predict", "--json", "deadlock.concerto"])
        .expect_code(2)
        .json();
    let cycle: Vec<&str> = p["deadlock"]["cycle"]
        .as_array()
        .expect("deadlock.cycle")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(cycle.contains(&"a: start start"), "{cycle:?}");
    assert!(cycle.contains(&"b: start start"), "{cycle:?}");
    assert!(cycle.contains(&"a: enter running"), "{cycle:?}");
    assert!(cycle.contains(&"b: enter running"), "{cycle:?}");
    assert_eq!(p["transitions"], 0);

    dir.run(&[
        "run",
        "--simulate",
        "deadlock.concerto",
        "--journal",
        "j.jsonl",
    ])
    .expect_code(2)
    .stdout_has("the run could not finish:")
    .stdout_has("  a: transition `start` waits for use port(s) needs_beta to be served")
    .stdout_has("  b: transition `start` waits for use port(s) needs_alpha to be served")
    .stdout_has("failed: 0 transitions");
    let lines = journal(&dir.read("j.jsonl"));
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["ok"], false);

    let r = dir
        .run(&["run", "--simulate", "--json", "deadlock.concerto"])
        .expect_code(2)
        .json();
    assert_eq!(r["ok"], false);
    let blocked: Vec<&str> = r["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["component"].as_str().unwrap())
        .collect();
    assert!(blocked.contains(&"a") && blocked.contains(&"b"), "{r:#}");
}

// ---------------------------------------------------------------------------
// 6. real runs: a failing command, data ports
// ---------------------------------------------------------------------------

#[test]
fn a_failing_command_fails_the_run_but_not_independent_components() {
    let dir = Dir::new("failing_command");
    dir.fixture("failing.yaml");
    let out = dir.run(&["run", "failing.yaml", "--journal", "j.jsonl"]);
    out.expect_code(2)
        .stdout_has("FAILED broken.explode: exit status 4\n")
        .stdout_has("    | bad\n")
        .stdout_has("the run could not finish:")
        .stdout_has("failed: 2 transitions");
    assert!(!out.stdout.contains("FAILED fine"), "{}", out.describe());
    // `fine` ran to completion after `broken` had failed.
    assert_eq!(dir.read("independent.txt"), "written\n");

    let lines = journal(&dir.read("j.jsonl"));
    assert_eq!(lines[0]["mode"], "real");
    let failed = events(&lines, "component_failed");
    assert_eq!(failed.len(), 1, "{lines:#?}");
    assert_eq!(failed[0]["component"], "broken");
    assert_eq!(failed[0]["error"], "exit status 4");
    let outputs = events(&lines, "action_output");
    assert!(
        outputs
            .iter()
            .any(|o| o["component"] == "broken" && o["stdout"] == "bad\n"),
        "{outputs:#?}"
    );
    assert!(events(&lines, "place_reached")
        .iter()
        .any(|e| e["component"] == "fine" && e["place"] == "on"));
    assert_eq!(lines.last().unwrap()["ok"], false);

    // The same in JSON.
    fs::remove_file(dir.path("independent.txt")).unwrap();
    let r = dir
        .run(&["run", "--json", "failing.yaml"])
        .expect_code(2)
        .json();
    assert_eq!(r["ok"], false);
    let failures = r["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{r:#}");
    assert_eq!(failures[0]["component"], "broken");
    assert_eq!(failures[0]["transition"], "explode");
    assert_eq!(failures[0]["error"], "exit status 4");
    assert_eq!(failures[0]["output"], "bad");
    assert_eq!(dir.read("independent.txt"), "written\n");
}

#[test]
fn a_real_run_passes_data_and_matches_its_prediction() {
    let dir = Dir::new("real_data_chain");
    dir.fixture("data-chain.yaml");
    let r = dir
        .run(&["run", "--json", "data-chain.yaml", "--journal", "j.jsonl"])
        .expect_code(0)
        .json();
    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(num(&r, "/predicted"), 0.3);
    let m = num(&r, "/makespan");
    assert!((0.3..1.5).contains(&m), "real makespan {m}");
    assert_eq!(r["transitions"], 3);
    // app.configure ran with the value db published on its data port.
    assert_eq!(dir.read("app.txt"), "app.configure postgres://db:5432\n");
    // app.start waited for db to provide `sql`.
    let lines = journal(&dir.read("j.jsonl"));
    let t_of = |event: &str, component: &str, transition: &str| {
        lines
            .iter()
            .find(|l| {
                l["event"] == event && l["component"] == component && l["transition"] == transition
            })
            .map(|l| num(l, "/t"))
            .unwrap_or_else(|| panic!("no {event} {component}.{transition}"))
    };
    assert!(t_of("transition_started", "app", "start") >= t_of("transition_ended", "db", "start"));
    assert!(t_of("transition_ended", "db", "start") >= 0.2);
}

// ---------------------------------------------------------------------------
// 7. Ctrl-C
// ---------------------------------------------------------------------------

/// Processes (pid, command line) whose environment holds
/// `CONCERTO_CLI_TAG=tag`: the action shells `concerto` starts and their
/// children inherit its environment, so this finds every descendant, even
/// one reparented after its parent died. Linux `/proc` only.
fn tagged_processes(tag: &str) -> Vec<(u32, String)> {
    let needle = format!("CONCERTO_CLI_TAG={tag}");
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(env) = fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|var| var == needle.as_bytes()) {
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            out.push((pid, cmdline.trim().to_string()));
        }
    }
    out
}

fn kill_all(procs: &[(u32, String)]) {
    for (pid, _) in procs {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

struct Interrupted {
    dir: Dir,
    tag: String,
    code: Option<i32>,
    elapsed: Duration,
    before: Vec<(u32, String)>,
}

/// Start `concerto run interrupt.yaml` in real time, wait until both actions
/// run, send SIGINT, and wait (at most 10 s) for it to exit.
fn run_and_interrupt(name: &str) -> Interrupted {
    let dir = Dir::new(name);
    dir.fixture("interrupt.yaml");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tag = format!("{name}-{}-{nanos}", std::process::id());
    let stdout = fs::File::create(dir.path("stdout.txt")).unwrap();
    let stderr = fs::File::create(dir.path("stderr.txt")).unwrap();
    let mut child = dir
        .command()
        .args(["run", "interrupt.yaml", "--journal", "j.jsonl"])
        .env("CONCERTO_CLI_TAG", &tag)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let pid = child.id();
    // Both actions are journaled, and their shells and `sleep 30`s run (so
    // concerto is past its first settle and listening for SIGINT).
    let descendants = || -> Vec<(u32, String)> {
        tagged_processes(&tag)
            .into_iter()
            .filter(|(p, _)| *p != pid)
            .collect()
    };
    let mut before = Vec::new();
    let started = wait_until(Duration::from_secs(10), || {
        before = descendants();
        fs::read_to_string(dir.path("j.jsonl"))
            .is_ok_and(|j| j.matches("\"transition_started\"").count() == 2)
            && dir.path("marker.txt").exists()
            && before
                .iter()
                .filter(|(_, c)| c.starts_with("sh -c "))
                .count()
                >= 2
            && before.iter().filter(|(_, c)| c == "sleep 30").count() == 2
    });
    if !started {
        let _ = child.kill();
        let _ = child.wait();
        kill_all(&descendants());
        panic!("the actions never started: {before:?}");
    }
    let t0 = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut code = None;
    let exited = wait_until(Duration::from_secs(10), || match child.try_wait() {
        Ok(Some(s)) => {
            code = s.code();
            true
        }
        _ => false,
    });
    let elapsed = t0.elapsed();
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    Interrupted {
        dir,
        tag,
        code,
        elapsed,
        before,
    }
}

#[test]
#[cfg(target_os = "linux")]
fn ctrl_c_interrupts_a_real_run() {
    let run = run_and_interrupt("ctrl_c");
    let dir = &run.dir;
    // Reap whatever survived, whatever the assertions below say.
    let leftovers = {
        wait_until(Duration::from_secs(2), || {
            tagged_processes(&run.tag)
                .iter()
                .all(|(_, c)| !c.starts_with("sh "))
        });
        tagged_processes(&run.tag)
    };
    kill_all(&leftovers);

    // Both action shells were running when SIGINT was sent: the process
    // check below can see them.
    let shells = run
        .before
        .iter()
        .filter(|(_, c)| c.starts_with("sh -c "))
        .count();
    assert!(shells >= 2, "{:?}", run.before);

    assert_eq!(run.code, Some(130), "exit code");
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?} to stop",
        run.elapsed
    );
    let stdout = dir.read("stdout.txt");
    assert!(
        stdout.contains("interrupted: running actions were cancelled"),
        "{stdout}"
    );
    assert!(!dir.read("stderr.txt").contains("panicked"));

    let lines = journal(&dir.read("j.jsonl"));
    assert_eq!(events(&lines, "run_interrupted").len(), 1, "{lines:#?}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "run_finished");
    assert_eq!(last["ok"], false);
    assert!(events(&lines, "transition_ended").is_empty());

    // The action shells concerto started are gone.
    let shells_left: Vec<_> = leftovers
        .iter()
        .filter(|(_, c)| c.starts_with("sh "))
        .collect();
    assert!(shells_left.is_empty(), "{shells_left:?}");
}

#[test]
#[cfg(target_os = "linux")]
fn ctrl_c_leaves_no_action_process_behind() {
    let run = run_and_interrupt("ctrl_c_tree");
    assert_eq!(run.code, Some(130));
    assert!(run.before.iter().any(|(_, c)| c == "sleep 30"));
    wait_until(Duration::from_secs(2), || {
        tagged_processes(&run.tag).is_empty()
    });
    let leftovers = tagged_processes(&run.tag);
    kill_all(&leftovers);
    assert!(
        leftovers.is_empty(),
        "still running after concerto exited: {leftovers:?}"
    );
}

// ---------------------------------------------------------------------------
// 8. graph
// ---------------------------------------------------------------------------

#[test]
fn graph_marks_the_critical_path_in_red() {
    let dir = Dir::new("graph");
    let file = example("client-server/deploy.concerto");
    let out = dir.run(&["graph", "--seed", "1", &file]);
    out.expect_code(0);
    let dot = &out.stdout;
    assert!(dot.starts_with("digraph concerto {\n"), "{dot}");
    assert!(dot.ends_with("}\n"), "{dot}");

    // Node lines: `  "NAME" [label=...]`; edges have `->`.
    let mut red = std::collections::BTreeSet::new();
    let mut plain = std::collections::BTreeSet::new();
    for line in dot
        .lines()
        .filter(|l| l.contains("[label=") && !l.contains("->"))
    {
        let name = line.trim_start().trim_start_matches('"');
        let name = &name[..name.find("\" [label=").unwrap()];
        if line.contains("color=red") {
            red.insert(name.to_string());
        } else {
            plain.insert(name.to_string());
        }
    }
    let p = dir
        .run(&["predict", "--json", "--seed", "1", &file])
        .expect_code(0)
        .json();
    let critical: std::collections::BTreeSet<String> = p["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["what"].as_str().unwrap().to_string())
        .collect();
    assert!(!critical.is_empty());
    assert_eq!(red, critical, "red vertices vs the critical path");
    assert!(plain.contains("s: start behavior deploy"), "{plain:?}");
    assert!(dot.matches(" -> ").count() > red.len());
}

#[test]
fn graph_labels_break_lines() {
    let dir = Dir::new("graph_labels");
    let out = dir.run(&["graph", &example("client-server/deploy.concerto")]);
    out.expect_code(0);
    // `  "NAME" [label="NAME\n1.234 s"...]`: Graphviz breaks the line at `\n`;
    // `\\n` would print a backslash and an `n`.
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("  \"instruction 1 "))
        .expect("node of instruction 1");
    assert!(line.contains(r"\n0.000 s"), "{line}");
    assert!(!line.contains(r"\\n"), "{line}");
}

// ---------------------------------------------------------------------------
// 9. simulation agrees with prediction on the big examples
// ---------------------------------------------------------------------------

#[test]
fn big_examples_simulate_to_the_predicted_makespan() {
    let dir = Dir::new("big_examples");
    let cases = [
        // At least one transition per instance: 11 and 19 instances.
        (example("server-deps/server-deps-10.yaml"), vec![], 11),
        (
            example("galera/galera.concerto"),
            vec!["--set", "n=3", "--set", "m=2"],
            19,
        ),
    ];
    for (file, set, at_least) in cases {
        let r = dir
            .run(&args(
                &["run", "--simulate", "--json", "--journal", "j.jsonl"],
                &file,
                &set,
            ))
            .expect_code(0)
            .json();
        let p = dir
            .run(&args(&["predict", "--json"], &file, &set))
            .expect_code(0)
            .json();
        assert_eq!(r["ok"], true, "{file}: {r:#}");
        assert!(num(&r, "/makespan") > 0.0);
        assert_eq!(num(&r, "/makespan"), num(&p, "/makespan"), "{file}");
        assert_eq!(num(&r, "/predicted"), num(&p, "/makespan"), "{file}");
        assert_eq!(r["transitions"], p["transitions"], "{file}");
        let lines = journal(&dir.read("j.jsonl"));
        let started = events(&lines, "transition_started").len();
        assert_eq!(Some(started as u64), r["transitions"].as_u64(), "{file}");
        assert!(started >= at_least, "{file}: {started} transitions");
        assert_eq!(
            num(lines.last().unwrap(), "/makespan"),
            num(&p, "/makespan")
        );
    }
}

// ---------------------------------------------------------------------------
// Exit codes of the command line itself
// ---------------------------------------------------------------------------

#[test]
fn a_missing_file_is_invalid_input() {
    let dir = Dir::new("missing_file");
    dir.run(&["check", "absent.yaml"])
        .expect_code(1)
        .stderr_has("absent.yaml");
    dir.run(&["run", "--simulate", "absent.concerto"])
        .expect_code(1)
        .stderr_has("cannot read the program `absent.concerto`");
}

#[test]
fn a_malformed_set_is_invalid_input() {
    let dir = Dir::new("bad_set");
    dir.run(&[
        "check",
        &example("galera/galera.concerto"),
        "--set",
        "n=three",
    ])
    .expect_code(1)
    .stderr_has("`three` is not an integer");
}

#[test]
fn bad_durations_entry_is_located_at_the_entry_not_at_a_comment() {
    let dir = Dir::new("err_durations_comment");
    dir.fixture("data-chain.yaml");
    dir.write(
        "d.yaml",
        "# App.start waits for the database\nApp.start: soon\n",
    );
    dir.run(&["predict", "data-chain.yaml", "--durations", "d.yaml"])
        .expect_code(1)
        .stderr_has("the duration of `App.start` is not a number of seconds")
        .stderr_has("d.yaml:2:1");
}

/// SIGINT arriving while the first batch of actions is being started is not
/// lost: the handler is installed before anything runs.
#[test]
#[cfg(target_os = "linux")]
fn an_early_ctrl_c_is_not_lost() {
    let dir = Dir::new("early_ctrl_c");
    let mut yaml = String::from(
        "types:\n  Slow:\n    places: [a, b]\n    transitions:\n      go: {from: a, to: b, action: {command: \"sleep 30\"}}\ncomponents:\n",
    );
    for i in 0..3000 {
        yaml.push_str(&format!("  s{i}: Slow\n"));
    }
    dir.write("many.yaml", &yaml);
    let tag = format!("early-{}", std::process::id());
    let mut child = dir
        .command()
        .args(["run", "many.yaml", "--journal", "j.jsonl"])
        .env("CONCERTO_CLI_TAG", &tag)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The journal is created before the first batch starts: interrupt then.
    assert!(wait_until(Duration::from_secs(10), || dir
        .path("j.jsonl")
        .exists()));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let mut code = None;
    let exited = wait_until(Duration::from_secs(20), || match child.try_wait() {
        Ok(Some(s)) => {
            code = s.code();
            true
        }
        _ => false,
    });
    if !exited {
        let _ = child.kill();
    }
    let leftovers = tagged_processes(&tag);
    kill_all(&leftovers);
    assert!(exited, "concerto did not stop after SIGINT");
    assert_eq!(
        code,
        Some(130),
        "interrupted runs exit 130, not killed by the signal"
    );
    let lines = journal(&dir.read("j.jsonl"));
    assert!(!events(&lines, "run_interrupted").is_empty());
    assert_eq!(
        lines.last().and_then(|l| l["event"].as_str()),
        Some("run_finished")
    );
    assert!(leftovers.is_empty(), "processes left behind: {leftovers:?}");
}

#[test]
fn a_durations_key_naming_nothing_is_rejected_with_a_suggestion() {
    let dir = Dir::new("durations_unknown");
    dir.write("d.yaml", "# fixed numbers\nServer.alocate: 3\n");
    let deploy = example("client-server/deploy.concerto");
    dir.run(&["predict", &deploy, "--durations", "d.yaml"])
        .expect_code(1)
        .stderr_has("d.yaml:2:1")
        .stderr_has("Server.allocate");
}

/// A failed run resumed from its journal: completed transitions are not run
/// again (their data-port values come from the journal), the rest runs.
#[test]
fn resume_runs_only_what_did_not_complete() {
    let dir = Dir::new("resume");
    dir.fixture("resume.yaml");
    dir.run(&["run", "resume.yaml", "--journal", "first.jsonl"])
        .expect_code(2)
        .stdout_has("FAILED b.go: exit status 1");
    assert_eq!(dir.read("a.count").lines().count(), 1);
    let token = dir.read("first.jsonl");
    assert!(
        token.contains("\"data\":[[\"token\","),
        "the data value is journaled"
    );

    dir.write("allow", "");
    dir.run(&[
        "run",
        "resume.yaml",
        "--resume",
        "first.jsonl",
        "--journal",
        "second.jsonl",
    ])
    .expect_code(0)
    .stdout_has("resumed: 1 transition(s) completed before were not run again");
    assert_eq!(
        dir.read("a.count").lines().count(),
        1,
        "a did not run again"
    );
    assert_eq!(dir.read("b.count").lines().count(), 2, "b ran again");
    let first_value = journal(&token)
        .iter()
        .find(|l| l["event"] == "action_output" && l["component"] == "a")
        .and_then(|l| l["data"][0][1].as_str().map(str::to_string))
        .unwrap();
    assert_eq!(
        dir.read("c.token").trim(),
        first_value,
        "c got a's value from the first run"
    );
    let second = journal(&dir.read("second.jsonl"));
    let replayed: Vec<_> = events(&second, "replayed")
        .iter()
        .map(|l| l["component"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(replayed, vec!["a"]);

    // A journal of another program is refused.
    dir.write(
        "other.yaml",
        &dir.read("resume.yaml")
            .replace("  c: Last\n", "  c: Last\n  d: Step\n"),
    );
    dir.run(&["run", "other.yaml", "--resume", "first.jsonl"])
        .expect_code(1)
        .stderr_has("another program");
}

// ---------------------------------------------------------------------------
// Placement on inventory hosts (`-i`). Hosts with `ansible_connection=local`
// run here, so these need no SSH server; tests/ssh_run.rs covers SSH.
// ---------------------------------------------------------------------------

const PLACED: &str = r#"
types:
  Node:
    places: [a, b, c]
    transitions:
      write:
        from: a
        to: b
        action:
          template:
            dest: "{{ host.vars.out }}/{{ host.name }}.txt"
            content: "{{ host.name }} of {{ groups.web | join(',') }}\n"
            mode: "0600"
      publish: {from: b, to: c, action: {command: "echo names={{ host.name }} >> \"$CONCERTO_OUTPUT\""}}
    ports:
      names: {kind: data-provide, type: names, bind: [c]}
  Reader:
    places: [a, b]
    transitions:
      read: {from: a, to: b, action: {command: "echo '{{ ports.names }}' > read.txt"}}
    ports:
      names: {kind: data-use, type: names, bind: [read]}
components:
  nodes: {type: Node, hosts: "web:!w3"}
  reader: Reader
connections:
  - [nodes.names, reader.names]
"#;

fn local_inventory(d: &Dir) {
    let out = d.path("out");
    fs::create_dir_all(&out).unwrap();
    d.write(
        "inventory.ini",
        &format!(
            "[web]\nw1\nw2\nw3\n[web:vars]\nansible_connection=local\nout={}\n",
            out.display()
        ),
    );
}

#[test]
fn placed_components_run_on_every_selected_host() {
    let d = Dir::new("placed");
    local_inventory(&d);
    d.write("placed.yaml", PLACED);
    d.run(&["check", "placed.yaml", "-i", "inventory.ini"])
        .expect_code(0);
    d.run(&[
        "run",
        "placed.yaml",
        "-i",
        "inventory.ini",
        "--journal",
        "j.jsonl",
    ])
    .expect_code(0);
    for h in ["w1", "w2"] {
        assert_eq!(
            d.read(&format!("out/{h}.txt")),
            format!("{h} of w1,w2,w3\n")
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.path(&format!("out/{h}.txt")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!d.path("out/w3.txt").exists(), "w3 is excluded");
    // The values of both hosts, in inventory order.
    assert_eq!(d.read("read.txt"), "w1,w2\n");
    let journal = d.read("j.jsonl");
    let hosts: Vec<&str> = journal
        .lines()
        .filter(|l| l.contains("\"action_output\"") && l.contains("\"write\""))
        .map(|l| {
            if l.contains("\"host\":\"w1\"") {
                "w1"
            } else if l.contains("\"host\":\"w2\"") {
                "w2"
            } else {
                "?"
            }
        })
        .collect();
    assert_eq!(hosts.len(), 2, "{journal}");
    assert!(journal.contains("\"event\":\"action_data\""), "{journal}");
}

#[test]
fn placements_are_checked_against_the_inventory_before_running() {
    let d = Dir::new("placed-errors");
    local_inventory(&d);
    d.write("placed.yaml", PLACED);
    d.run(&["run", "placed.yaml"])
        .expect_code(1)
        .stderr_has("no inventory was given")
        .stderr_has("placed.yaml:")
        .stderr_has("-i inventory.ini");
    d.write("typo.yaml", &PLACED.replace("web:!w3", "webb"));
    d.run(&["run", "typo.yaml", "-i", "inventory.ini"])
        .expect_code(1)
        .stderr_has("host pattern `webb` selects no host")
        .stderr_has("typo.yaml:")
        .stderr_has("did you mean `web`?");
    d.run(&["check", "typo.yaml", "-i", "inventory.ini"])
        .expect_code(1);
    d.run(&["run", "typo.yaml", "-i", "missing.ini"])
        .expect_code(1)
        .stderr_has("cannot read the inventory");
    assert!(!d.path("read.txt").exists(), "nothing ran");
    // A simulation runs nowhere: no inventory needed.
    d.run(&["run", "--simulate", "placed.yaml"]).expect_code(0);
}

// ---------------------------------------------------------------------------
// `concerto ir`: the playbook loader through the binary.
// ---------------------------------------------------------------------------

fn corpus_case(name: &str) -> PathBuf {
    Path::new(MANIFEST_DIR)
        .join("translator/tests/playbook_corpus")
        .join(name)
}

#[test]
fn ir_prints_the_outline_and_json() {
    let d = Dir::new("ir");
    let site = corpus_case("expand").join("site.yml");
    let site = site.to_str().unwrap();
    let out = d.run(&["ir", "--expand", "-e", "step=deploy", site]);
    out.expect_code(0)
        .stdout_has("ansible.builtin.include_tasks \"By action\"")
        .stdout_has("ansible.builtin.debug \"Deploying\" (tasks/deploy.yml:1)")
        .stdout_has("(dynamic: one of tasks/Debian.yml, tasks/RedHat.yml");
    let json = d.run(&["ir", "--json", site]).expect_code(0).json();
    assert_eq!(json["version"], 1);
    assert_eq!(json["plays"][0]["hosts"][0], "all");
    // Without --expand nothing is included.
    assert!(!d
        .run(&["ir", "--json", site])
        .stdout
        .contains("\"included\""));
}

#[test]
fn ir_errors_point_into_the_playbook() {
    let d = Dir::new("ir-errors");
    d.write(
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: typo\n      ansible.builtin.command: /bin/true\n      whne: x\n",
    );
    d.run(&["ir", "site.yml"])
        .expect_code(1)
        .stderr_has("conflicting action statements: ansible.builtin.command, whne")
        .stderr_has("site.yml:5:7")
        .stderr_has("did you mean `when`?");
    d.run(&["ir", "-e", "a='unclosed", "site.yml"])
        .expect_code(1)
        .stderr_has("-e a='unclosed");
    d.run(&["ir", "missing.yml"])
        .expect_code(1)
        .stderr_has("cannot read missing.yml");
}

/// The benchmark runs the real ansible-playbook (from the venv of
/// `CONCERTO_PYTHON`, as the conformance tests do; without it, it fails).
#[test]
fn bench_ir_prints_both_sides() {
    let py = std::env::var_os("CONCERTO_PYTHON")
        .expect("CONCERTO_PYTHON is not set: run `eval \"$(.ci/python-env.sh | tail -n1)\"`");
    let ap = Path::new(&py).with_file_name("ansible-playbook");
    let d = Dir::new("bench-ir");
    let site = corpus_case("roles").join("site.yml");
    let out = d.run(&[
        "bench-ir",
        site.to_str().unwrap(),
        "-i",
        "localhost,",
        "--repeat",
        "1",
        "--ansible-playbook",
        ap.to_str().unwrap(),
    ]);
    out.expect_code(0)
        .stdout_has("concerto ir --expand (load + expand)")
        .stdout_has("ansible-playbook --list-tasks")
        .stdout_has("ratio:")
        .stdout_has("target: load and expand in under 200 ms")
        .stdout_has("concerto translate (load, analyse, write)")
        .stdout_has("target: translate in under 1000 ms");
    // Both count the same 5 written tasks of this playbook (no includes).
    let line = |prefix: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap()
            .split_whitespace()
            .filter_map(|w| w.parse::<usize>().ok())
            .next()
    };
    assert_eq!(
        line("concerto ir"),
        line("ansible-playbook"),
        "{}",
        out.describe()
    );
}

/// `concerto translate` end to end: a two-play playbook where the second
/// play's client module talks to the service the first one installs.
#[test]
fn translate_writes_assembly_reports_and_graph() {
    let d = Dir::new("translate");
    d.write(
        "site.yml",
        "- hosts: db\n  tasks:\n    - name: Install MariaDB\n      ansible.builtin.apt: {name: mariadb-server}\n    - name: Start it\n      ansible.builtin.service: {name: mariadb, state: started}\n\
         - hosts: app\n  tasks:\n    - name: Configure\n      ansible.builtin.template: {src: app.j2, dest: /etc/app.conf}\n    - name: Create the database\n      community.mysql.mysql_db: {name: app, login_host: db1}\n",
    );
    d.write(
        "inventory",
        "[db]\ndb1 ansible_host=127.0.0.2\n[app]\napp1 ansible_host=127.0.0.3\n",
    );
    let out = d.run(&[
        "translate",
        "site.yml",
        "-i",
        "inventory",
        "-o",
        "a.yaml",
        "--report",
        "r.md",
        "--dot",
        "g.dot",
        "--json",
    ]);
    out.expect_code(0)
        .stderr_has("translated: 2 components, 1 deploy dependencies");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let c = &json["connections"][0];
    assert_eq!(c["user"], "app");
    assert_eq!(c["provider"], "db");
    assert_eq!(c["kind"], "deploy");
    assert_eq!(c["evidence"][0]["rule"], "client-module");
    assert_eq!(c["evidence"][0]["line"], 11);
    // The configuration does not wait: only the database creation does.
    assert_eq!(c["waiting"], serde_json::json!(["site_2"]));
    assert!(d
        .read("r.md")
        .contains("| app | db | client-module | site.yml:11"));
    assert!(d.read("g.dot").contains("\"db\" -> \"app\""));
    d.run(&["check", "a.yaml"]).expect_code(0);
    d.run(&["predict", "a.yaml"])
        .expect_code(0)
        .stdout_has("Ansible model");
}

#[test]
fn translate_errors_name_the_place() {
    let d = Dir::new("translate-errors");
    d.write(
        "site.yml",
        "- hosts: all\n  tasks:\n    - ansible.builtin.debug: {msg: hi}\n",
    );
    d.write("inventory", "h1 ansible_host=127.0.0.2\n");
    d.write("concerto.yml", "components:\n  nosuch:\n    after: [all]\n");
    d.run(&["translate", "site.yml", "-i", "inventory"])
        .expect_code(1)
        .stderr_has("no component is named `nosuch`")
        .stderr_has("concerto.yml:3:");
    d.write("concerto.yml", "components:\n  all:\n    befor: [x]\n");
    d.run(&["translate", "site.yml", "-i", "inventory"])
        .expect_code(1)
        .stderr_has("unknown key `befor`")
        .stderr_has("concerto.yml:3:");
    d.write("concerto.yml", "components: {}\n");
    d.write("p.yaml", "default_task: -1\n");
    d.run(&[
        "translate",
        "site.yml",
        "-i",
        "inventory",
        "--profile",
        "p.yaml",
    ])
    .expect_code(1)
    .stderr_has("durations must be finite and non-negative");
    d.write(
        "s.yaml",
        "modules:\n  - match: [x]\n    writez: {file: [dest]}\n",
    );
    d.run(&[
        "translate",
        "site.yml",
        "-i",
        "inventory",
        "--signatures",
        "s.yaml",
    ])
    .expect_code(1)
    .stderr_has("unknown field `writez`")
    .stderr_has("s.yaml:");
    d.run(&["translate", "site.yml", "-i", "missing"])
        .expect_code(1)
        .stderr_has("missing");
}

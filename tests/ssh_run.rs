//! `concerto run -i INVENTORY` on a real fleet (`tests/hosts/fleet`): the
//! SSH examples end to end, checked by the files and processes they leave
//! on each host, and faults mid-run (a failing command, a host stopped, a
//! host frozen) followed by `--resume`.

#[path = "support/fleet.rs"]
mod fleet;

use fleet::Fleet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn concerto(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_concerto"));
    c.args(args).current_dir(root());
    c
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `file` on the fleet with a journal; returns the output and the journal.
fn run(f: &Fleet, file: &str, journal: &Path, extra: &[&str]) -> (Output, String) {
    let inv = f.inventory_ini();
    let mut args = vec![
        "run",
        file,
        "-i",
        inv.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = concerto(&args).output().unwrap();
    let journal = std::fs::read_to_string(journal).unwrap_or_default();
    (out, journal)
}

fn events(journal: &str, kind: &str) -> Vec<serde_json::Value> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == kind)
        .collect()
}

/// `component.transition@host` of every action that ran (ok or not).
fn actions(journal: &str) -> Vec<String> {
    let mut v: Vec<String> = events(journal, "action_output")
        .iter()
        .map(|e| {
            format!(
                "{}.{}@{}{}",
                e["component"].as_str().unwrap(),
                e["transition"].as_str().unwrap(),
                e["host"].as_str().unwrap_or("local"),
                if e["ok"] == true { "" } else { " FAILED" }
            )
        })
        .collect();
    v.sort();
    v
}

fn file_on(f: &Fleet, host: &str, path: &str) -> String {
    let (dir, rest) = if let Some(r) = path.strip_prefix("/srv/") {
        ("/srv", r)
    } else if let Some(r) = path.strip_prefix("/etc/concerto-app/") {
        ("/etc/concerto-app", r)
    } else {
        panic!("not a private path: {path}")
    };
    std::fs::read_to_string(f.private_dir(host, dir).join(rest))
        .unwrap_or_else(|e| panic!("{host}:{path}: {e}"))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn client_server_deploys_on_the_fleet() {
    let f = Fleet::up(4);
    let dir = tmp();
    let journal = dir.path().join("j.jsonl");
    let (out, j) = run(&f, "examples/ssh/client-server.yaml", &journal, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let h1 = &f.host("h1").address;
    // The server runs on h1's own address, and every client fetched its page.
    assert_eq!(
        file_on(&f, "h1", "/srv/server/index.html"),
        "hello from h1, version 1\n"
    );
    f.ssh_ok("h1", "kill -0 \"$(cat /srv/server/server.pid)\"");
    for h in ["h2", "h3", "h4"] {
        assert_eq!(
            file_on(&f, h, "/etc/concerto-app/client.conf"),
            format!("# written by concerto on {h}\nserver={h1}\n")
        );
        assert_eq!(
            file_on(&f, h, "/srv/client/page.html"),
            "hello from h1, version 1\n"
        );
        assert!(!f.private_dir(h, "/srv").join("server").exists());
    }
    // The server's part ran on h1 only, the clients' on the three others.
    let a = actions(&j);
    assert_eq!(a.iter().filter(|x| x.starts_with("server.")).count(), 2);
    assert!(a.contains(&"server.run@h1".to_string()), "{a:?}");
    for h in ["h2", "h3", "h4"] {
        for t in ["install1", "install2", "configure", "start"] {
            assert!(a.contains(&format!("clients.{t}@{h}")), "{a:?}");
        }
    }
}

#[test]
fn client_server_maintenance_on_the_fleet() {
    let f = Fleet::up(4);
    let dir = tmp();
    let journal = dir.path().join("j.jsonl");
    let (out, _) = run(&f, "examples/ssh/maintenance.concerto", &journal, &[]);
    assert!(out.status.success(), "{}", text(&out));
    // Upgraded and restarted while the clients stepped back, then resumed.
    assert_eq!(file_on(&f, "h1", "/srv/server/version"), "2\n");
    f.ssh_ok("h1", "test -f /srv/server/cleaned");
    f.ssh_ok("h1", "kill -0 \"$(cat /srv/server/server.pid)\"");
    for h in ["h2", "h3", "h4"] {
        assert_eq!(
            file_on(&f, h, "/srv/client/page.html"),
            "hello from h1, version 2\n"
        );
        assert_eq!(file_on(&f, h, "/srv/client/state"), "configured\n");
    }
}

#[test]
fn mariadb_to_galera_on_the_fleet() {
    let f = Fleet::up(4);
    let dir = tmp();
    let journal = dir.path().join("j.jsonl");
    let (out, j) = run(&f, "examples/ssh/galera.concerto", &journal, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let h1 = &f.host("h1").address;
    assert_eq!(
        file_on(&f, "h1", "/etc/concerto-app/my.cnf"),
        "mode=galera\nrole=bootstrap\nwsrep_cluster_name=concerto\n"
    );
    assert_eq!(file_on(&f, "h1", "/srv/backup/rows"), "row1\nrow2\nrow3\n");
    for h in ["h1", "h2", "h3"] {
        assert_eq!(file_on(&f, h, "/srv/db/rows"), "row1\nrow2\nrow3\n", "{h}");
        assert_eq!(
            file_on(&f, h, "/srv/docker/images/mariadb.img"),
            "mariadb 10.11 image\n"
        );
    }
    for h in ["h2", "h3"] {
        assert_eq!(
            file_on(&f, h, "/etc/concerto-app/my.cnf"),
            "mode=galera\nrole=joiner\nwsrep_cluster_name=concerto\n"
        );
        assert_eq!(file_on(&f, h, "/srv/db/state"), format!("joined {h1}\n"));
    }
    // The client queried before and after, and was stopped in between.
    assert_eq!(
        file_on(&f, "h4", "/srv/sysbench/results"),
        "3 rows\nstopped\n3 rows\n"
    );
    // The configuration generators ran here (unplaced), the rest on hosts.
    let a = actions(&j);
    assert!(a.contains(&"mconf.generate@local".to_string()), "{a:?}");
    assert!(a.contains(&"r_registry.install@h4".to_string()), "{a:?}");
    assert!(a.contains(&"mariadb3.join@h3".to_string()), "{a:?}");
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A failing command, a host killed mid-action and a frozen host, in one
/// run: each is reported with its component, transition, host and output;
/// the independent component finishes; exit code 2. Then the faults are
/// repaired and `--resume` finishes the run without running again anything
/// that had completed.
#[test]
fn faults_are_reported_and_resume_finishes_the_run() {
    let f = Fleet::up(4);
    let dir = tmp();
    let j1 = dir.path().join("first.jsonl");
    let inv = f.inventory_ini();
    let child = concerto(&[
        "run",
        "tests/cli/ssh-faults.yaml",
        "-i",
        inv.to_str().unwrap(),
        "--journal",
        j1.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    // h4 hangs from the start (its action times out after 3 s); h3 is
    // killed during `slow.middle` (a 4 s sleep), once `first` is done.
    f.freeze("h4");
    let log3 = f.private_dir("h3", "/srv").join("log");
    wait_for("slow.first", Duration::from_secs(20), || log3.exists());
    std::thread::sleep(Duration::from_millis(300));
    f.stop("h3");
    let out = child.wait_with_output().unwrap();
    let report = text(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    assert!(
        report.contains("FAILED gated.check on h2: exit status 3"),
        "{report}"
    );
    assert!(report.contains("| /srv/ready is missing"), "{report}");
    assert!(report.contains("| checking"), "{report}");
    assert!(report.contains("FAILED slow.middle on h3:"), "{report}");
    assert!(
        report.contains("FAILED bounded.work on h4: timed out after 3.0s"),
        "{report}"
    );
    // The independent component finished.
    assert_eq!(file_on(&f, "h1", "/srv/log"), "one\ntwo\n");
    let first = std::fs::read_to_string(&j1).unwrap();
    assert_eq!(
        actions(&first),
        [
            "bounded.work@h4 FAILED",
            "gated.check@h2 FAILED",
            "gated.prepare@h2",
            "slow.first@h3",
            "slow.middle@h3 FAILED",
            "steady.one@h1",
            "steady.two@h1",
        ]
    );

    // Repair: the file the gate wants, h3 back, h4 thawed.
    f.ssh_ok("h2", "touch /srv/ready");
    f.start("h3");
    f.thaw("h4");
    let j2 = dir.path().join("second.jsonl");
    let (out, second) = run(
        &f,
        "tests/cli/ssh-faults.yaml",
        &j2,
        &["--resume", j1.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Only what had not completed ran; the rest was replayed.
    assert_eq!(
        actions(&second),
        [
            "bounded.work@h4",
            "gated.check@h2",
            "slow.last@h3",
            "slow.middle@h3",
        ]
    );
    let replayed: Vec<String> = events(&second, "replayed")
        .iter()
        .map(|e| {
            format!(
                "{}.{}",
                e["component"].as_str().unwrap(),
                e["transition"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(replayed.len(), 4, "{replayed:?}");
    for t in ["steady.one", "steady.two", "gated.prepare", "slow.first"] {
        assert!(replayed.contains(&t.to_string()), "{replayed:?}");
    }
    assert_eq!(file_on(&f, "h1", "/srv/log"), "one\ntwo\n");
    assert_eq!(file_on(&f, "h2", "/srv/log"), "prepare\ncheck\n");
    assert_eq!(file_on(&f, "h3", "/srv/log"), "first\nmiddle\nlast\n");
    assert_eq!(file_on(&f, "h4", "/srv/log"), "work\n");
}

/// A transition on several hosts that failed on one: `--resume` runs it on
/// that host only, and the data port still gets every host's value.
#[test]
fn resume_finishes_a_transition_on_the_hosts_it_failed_on() {
    let f = Fleet::up(3);
    for h in ["h1", "h2"] {
        f.ssh_ok(h, "touch /srv/ready");
    }
    let dir = tmp();
    let j1 = dir.path().join("first.jsonl");
    let (out, first) = run(&f, "tests/cli/ssh-partial.yaml", &j1, &[]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(2), "{report}");
    assert!(
        report.contains("FAILED nodes.up on h3: exit status 4"),
        "{report}"
    );
    assert_eq!(
        actions(&first),
        ["nodes.up@h1", "nodes.up@h2", "nodes.up@h3 FAILED"]
    );

    f.ssh_ok("h3", "touch /srv/ready");
    let j2 = dir.path().join("second.jsonl");
    let (out, second) = run(
        &f,
        "tests/cli/ssh-partial.yaml",
        &j2,
        &["--resume", j1.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(actions(&second), ["nodes.up@h3", "reader.read@h1"]);
    for h in ["h1", "h2", "h3"] {
        assert_eq!(file_on(&f, h, "/srv/log"), "up\n", "{h} ran `up` once");
    }
    assert_eq!(file_on(&f, "h1", "/srv/members"), "h1,h2,h3\n");
}

/// Ctrl-C during remote commands: exit 130, and nothing left running on
/// the hosts (the remote process groups are killed before exiting).
#[test]
fn ctrl_c_kills_the_remote_commands() {
    let f = Fleet::up(2);
    let dir = tmp();
    let j = dir.path().join("j.jsonl");
    let inv = f.inventory_ini();
    let child = concerto(&[
        "run",
        "tests/cli/ssh-interrupt.yaml",
        "-i",
        inv.to_str().unwrap(),
        "--journal",
        j.to_str().unwrap(),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    for h in ["h1", "h2"] {
        let started = f.private_dir(h, "/srv").join("started");
        wait_for("the remote commands", Duration::from_secs(20), || {
            started.exists()
        });
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(t.elapsed() < Duration::from_secs(10), "slow to stop");
    for h in ["h1", "h2"] {
        let left = f.ssh(h, "pgrep -f 'sleep 300'");
        assert!(
            !left.status.success(),
            "{h} still runs: {}",
            String::from_utf8_lossy(&left.stdout)
        );
        assert!(!f.private_dir(h, "/srv").join("finished").exists());
    }
    assert!(std::fs::read_to_string(&j)
        .unwrap()
        .contains("run_interrupted"));
}

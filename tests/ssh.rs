//! The SSH executor against real OpenSSH servers (`tests/hosts/fleet`, on
//! loopback addresses; needs root, as CI has).

#[path = "support/fleet.rs"]
mod fleet;

use concerto::exec::ssh::{from_inventory_vars, Ssh, SshTarget};
use concerto::exec::{Connection, Reply, Request, Status};
use fleet::Fleet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The targets of the fleet's hosts, from the variables its inventory sets.
fn targets(f: &Fleet) -> Vec<SshTarget> {
    f.hosts()
        .iter()
        .map(|h| {
            let vars = serde_json::json!({
                "ansible_host": h.address,
                "ansible_port": h.port,
                "ansible_user": "root",
                "ansible_ssh_private_key_file": f.identity(),
                "ansible_ssh_common_args": format!(
                    "-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes",
                    f.known_hosts().display()
                ),
            });
            from_inventory_vars(&h.name, vars.as_object().unwrap())
        })
        .collect()
}

fn hosts(f: &Fleet) -> Vec<Ssh> {
    targets(f).into_iter().map(Ssh::new).collect()
}

fn cmd(c: &str) -> Request {
    Request {
        command: c.into(),
        ..Default::default()
    }
}

fn ok(r: &Reply) -> &str {
    assert_eq!(r.status, Status::Exited(0), "{r:?}");
    &r.stdout
}

/// Command lines (arguments joined by spaces) of every process here; the
/// hosts' processes are in child PID namespaces, so they are visible too.
fn processes() -> Vec<(u32, Vec<String>)> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            (pid != me && !args.is_empty()).then_some((pid, args))
        })
        .collect()
}

/// The master `ssh` processes connected to `address`.
fn master_pids(address: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, a)| {
            a[0].rsplit('/').next() == Some("ssh")
                && a.iter().any(|x| x == "-M")
                && a.last().map(String::as_str) == Some(address)
        })
        .map(|(pid, _)| pid)
        .collect()
}

fn masters(address: &str) -> usize {
    master_pids(address).len()
}

fn running(marker: &str) -> bool {
    processes()
        .iter()
        .any(|(_, a)| a.join(" ").contains(marker))
}

async fn eventually(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not after {secs}s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_host_answers_with_its_hostname() {
    let f = Fleet::up(4);
    for (i, ssh) in hosts(&f).iter().enumerate() {
        let r = ssh.exec(cmd("hostname")).await;
        assert_eq!(ok(&r), format!("h{}\n", i + 1));
        assert_eq!(ssh.host(), format!("h{}", i + 1));
        ssh.close().await;
    }
    // The same through the fleet's ssh_config (-F) and a host name it knows.
    let ssh = Ssh::new(SshTarget {
        name: "h3".into(),
        address: "h3".into(),
        config_file: Some(f.ssh_config()),
        ..Default::default()
    });
    assert_eq!(ok(&ssh.exec(cmd("hostname")).await), "h3\n");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_commands_share_one_master_per_host() {
    let f = Fleet::up(4);
    let ssh = Arc::new(hosts(&f));
    let next = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (ssh, next, in_flight, most) =
            (ssh.clone(), next.clone(), in_flight.clone(), most.clone());
        workers.spawn(async move {
            let mut failures = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 200 {
                    return failures;
                }
                let h = i % 4;
                let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                let r = ssh[h].exec(cmd(&format!("echo $(hostname):{i}"))).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if r.status != Status::Exited(0) || r.stdout != format!("h{}:{i}\n", h + 1) {
                    failures.push(format!("{i}: {r:?}"));
                }
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(w) = workers.join_next().await {
        failures.extend(w.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(most.load(Ordering::SeqCst), 32);
    for h in f.hosts() {
        assert_eq!(masters(&h.address), 1, "masters for {}", h.name);
    }
    for s in ssh.iter() {
        s.close().await;
    }
    drop(ssh);
    for h in f.hosts() {
        eventually("masters stop with their Ssh", 5, || {
            masters(&h.address) == 0
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_env_and_quoting_survive() {
    let f = Fleet::up(4);
    let ssh = hosts(&f).remove(0);
    let r = ssh
        .exec(cmd(
            r#"echo out; echo "ip=10.1.2.3" >> "$CONCERTO_OUTPUT"; echo "name=$(hostname)" >> "$CONCERTO_OUTPUT""#,
        ))
        .await;
    assert_eq!(ok(&r), "out\n");
    assert_eq!(
        r.data,
        vec![
            ("ip".into(), "10.1.2.3".into()),
            ("name".into(), "h1".into())
        ]
    );
    let value = r#"it's "quoted" $HOME `x` \n"#;
    let r = ssh
        .exec(Request {
            command: r#"printf '%s|' "$V" 'a b' "c'd""#.into(),
            env: vec![("V".into(), value.into())],
            timeout: Some(Duration::from_secs(10)),
        })
        .await;
    assert_eq!(ok(&r), format!("{value}|a b|c'd|"));
    // The private directory: 0700, empty between commands (a command that
    // publishes nothing makes no file), gone after `close`.
    let dir = ok(&ssh.exec(cmd(r#"dirname "$CONCERTO_OUTPUT""#)).await)
        .trim()
        .to_string();
    assert!(dir.starts_with("/tmp/concerto-"), "{dir}");
    let listing = ok(&ssh
        .exec(cmd(&format!("stat -c %a {dir}; ls -A {dir}")))
        .await)
    .to_string();
    assert_eq!(listing, "700\n");
    ssh.close().await;
    assert_eq!(
        f.ssh_ok("h1", &format!("test -e {dir} && echo left || echo gone")),
        "gone"
    );
    // A later command makes it again.
    assert_eq!(
        ok(&ssh.exec(cmd(r#"echo k=v >> "$CONCERTO_OUTPUT""#)).await),
        ""
    );
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_reports_its_status_and_stderr() {
    let f = Fleet::up(4);
    let ssh = hosts(&f).remove(1);
    let r = ssh.exec(cmd("echo partial; echo oops >&2; exit 3")).await;
    assert_eq!(r.status, Status::Exited(3));
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("partial\n", "oops\n")
    );
    assert_eq!(r.error().as_deref(), Some("exit status 3"));
    let r = ssh.exec(cmd("no-such-command-here")).await;
    assert_eq!(r.status, Status::Exited(127));
    assert!(r.stderr.contains("not found"), "{r:?}");
    // A command killed by a signal.
    let r = ssh.exec(cmd("kill -9 $$")).await;
    assert_eq!(r.status, Status::Exited(137), "{r:?}");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_remote_command() {
    let f = Fleet::up(4);
    let ssh = Arc::new(hosts(&f).remove(0));
    let marker = "sleep 30.1071";
    let run = {
        let ssh = ssh.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = ssh
                .exec(Request {
                    command: format!("{marker}; echo never"),
                    timeout: Some(Duration::from_millis(1500)),
                    ..Default::default()
                })
                .await;
            (r, started.elapsed())
        })
    };
    eventually("the command runs", 10, || running(marker)).await;
    let (r, took) = run.await.unwrap();
    assert_eq!(r.status, Status::TimedOut(Duration::from_millis(1500)));
    assert!(took < Duration::from_secs(3), "{took:?}");
    eventually("the remote command is killed", 5, || !running(marker)).await;
    ssh.wait_for_kills().await;
    // The host is still fine.
    assert_eq!(ok(&ssh.exec(cmd("hostname")).await), "h1\n");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_kills_the_remote_command() {
    let f = Fleet::up(4);
    let ssh = Arc::new(hosts(&f).remove(2));
    ssh.connect().await.unwrap();
    let marker = "sleep 30.2093";
    let dir = ok(&ssh.exec(cmd(r#"dirname "$CONCERTO_OUTPUT""#)).await)
        .trim()
        .to_string();
    let run = {
        let ssh = ssh.clone();
        tokio::spawn(async move {
            ssh.exec(cmd(&format!(
                r#"echo x=1 >> "$CONCERTO_OUTPUT"; {marker} & {marker}; wait"#
            )))
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(running(marker), "the command did not start within 0.5 s");
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    ssh.wait_for_kills().await;
    eventually("the remote command is killed", 5, || !running(marker)).await;
    // As the host sees it (the bracket keeps pgrep from matching this shell).
    assert_eq!(f.ssh_ok("h3", "pgrep -c -f 'sleep 30[.]2093' || true"), "0");
    // Its output file went with it (and the cancel file).
    assert_eq!(f.ssh_ok("h3", &format!("ls -A {dir}")), "");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_host_is_unreachable_quickly() {
    let f = Fleet::up(4);
    let mut ssh = hosts(&f);
    // h2 was reached before it stopped; h1 never was.
    assert_eq!(ok(&ssh[1].exec(cmd("hostname")).await), "h2\n");
    f.stop("h1");
    f.stop("h2");
    for s in &mut ssh[..2] {
        let started = Instant::now();
        let r = s.exec(cmd("hostname")).await;
        match &r.status {
            Status::Unreachable(why) => assert!(why.contains("refused"), "{why}"),
            other => panic!("{}: {other:?}", s.host()),
        }
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
    // Back up: the next command connects again.
    f.start("h2");
    assert_eq!(ok(&ssh[1].exec(cmd("hostname")).await), "h2\n");
    ssh[1].close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_master_is_replaced() {
    let f = Fleet::up(4);
    let ssh = hosts(&f).remove(3);
    assert_eq!(ok(&ssh.exec(cmd("hostname")).await), "h4\n");
    let address = &f.host("h4").address;
    let old = master_pids(address);
    assert_eq!(old.len(), 1);
    // SAFETY: kill(2) on the pid of a process this test started.
    assert_eq!(unsafe { libc::kill(old[0] as i32, libc::SIGKILL) }, 0);
    eventually("the master dies", 5, || masters(address) == 0).await;
    assert_eq!(ok(&ssh.exec(cmd("hostname")).await), "h4\n");
    let new = master_pids(address);
    assert!(new.len() == 1 && new != old, "{old:?} → {new:?}");
    ssh.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_host_times_out() {
    let f = Fleet::up(4);
    let ssh = hosts(&f);
    assert_eq!(ok(&ssh[0].exec(cmd("hostname")).await), "h1\n");
    f.freeze("h1");
    f.freeze("h2");
    // Connected before (h1) or not (h2): the command's timeout holds.
    for s in &ssh[..2] {
        let started = Instant::now();
        let r = s
            .exec(Request {
                command: "hostname".into(),
                timeout: Some(Duration::from_secs(2)),
                ..Default::default()
            })
            .await;
        assert_eq!(
            r.status,
            Status::TimedOut(Duration::from_secs(2)),
            "{}",
            s.host()
        );
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "{}: {took:?}", s.host());
    }
    // Without a command timeout, the connect timeout holds.
    let s = Ssh::new(targets(&f).remove(1)).connect_timeout(Duration::from_secs(2));
    let started = Instant::now();
    let r = s.exec(cmd("hostname")).await;
    assert!(matches!(r.status, Status::Unreachable(_)), "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // Thawed, h1 runs the kill of the command that timed out (and h2 is
    // reachable again).
    f.thaw("h1");
    f.thaw("h2");
    for s in &ssh[..2] {
        s.wait_for_kills().await;
        assert_eq!(ok(&s.exec(cmd("hostname")).await).trim(), s.host());
        s.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_writes_a_file_with_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fleet::up(4);
    let ssh = hosts(&f);
    ssh[0]
        .copy("/srv/app.conf", b"port = 80\n", 0o640)
        .await
        .unwrap();
    let local = f.private_dir("h1", "/srv").join("app.conf");
    assert_eq!(std::fs::read(&local).unwrap(), b"port = 80\n");
    assert_eq!(
        std::fs::metadata(&local).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    // Replaced whole; binary and large contents arrive intact.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    ssh[0].copy("/srv/app.conf", &big, 0o600).await.unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), big);
    assert_eq!(
        std::fs::metadata(&local).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(f.ssh_ok("h1", "ls -A /srv"), "app.conf");
    // Only h1's /srv.
    assert!(!f.private_dir("h2", "/srv").join("app.conf").exists());
    let e = ssh[1]
        .copy("/srv/no/such/dir/x", b"x", 0o644)
        .await
        .unwrap_err();
    assert!(e.contains("No such file"), "{e}");
}

/// `concerto bench-ssh` with `args`; (exit code, stdout, stderr).
fn bench_ssh(args: &[&str], ansible: bool) -> (Option<i32>, String, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_concerto"));
    c.arg("bench-ssh").args(args);
    // CI's ansible-core: the venv of $CONCERTO_PYTHON (.ci/python-env.sh).
    if let Some(py) = std::env::var_os("CONCERTO_PYTHON").filter(|p| ansible && !p.is_empty()) {
        c.arg("--ansible")
            .arg(std::path::Path::new(&py).with_file_name("ansible-playbook"));
    }
    let out = c
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The benchmark on a small fleet prints our executor, ansible-playbook
/// and plain ssh side by side, the ratios and the verdict, and leaves a
/// fleet it did not start up. Needs ansible-playbook (beside
/// `$CONCERTO_PYTHON`, as CI has it, or on `$PATH`): fails without.
#[test]
fn bench_ssh_prints_the_three_rows() {
    let f = Fleet::up(2);
    let dir = f.dir().to_str().unwrap().to_string();
    let (code, stdout, stderr) = bench_ssh(
        &[
            "--fleet",
            &dir,
            "--commands",
            "64",
            "--repeat",
            "1",
            "--in-flight",
            "8",
            "--sequential",
            "20",
            "--ssh-commands",
            "4",
            "--tasks",
            "3",
        ],
        true,
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for name in [
        "concerto (exec::ssh, multiplexed)",
        "ansible-playbook (command: true)",
        "ssh host true (new connection)",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}:\n{stdout}"));
        assert!(
            !row.contains("skipped"),
            "ansible-playbook was not found: set CONCERTO_PYTHON \
             (`eval \"$(.ci/python-env.sh | tail -n1)\"`) or put it on PATH\n{stdout}"
        );
        // per action, one at a time: milliseconds.
        assert_eq!(row.matches(" ms").count(), 2, "{row}");
    }
    for line in [
        "ansible per task vs concerto: ",
        "plain ssh vs concerto: ",
        "target ≤ 5.00 ms per action with multiplexing: ",
        "2 hosts (h1 h2)",
    ] {
        assert!(stdout.contains(line), "no {line:?} in\n{stdout}");
    }
    assert!(f.status().values().all(|s| s == "up"), "{:?}", f.status());
}

/// Without `--fleet`, the benchmark starts a fleet of its own and stops it
/// even when it fails (here: more commands in flight than the hosts'
/// `MaxSessions`, 100); errors are diagnostics with a hint, not panics.
#[test]
fn bench_ssh_stops_its_own_fleet_even_on_error() {
    let (code, stdout, stderr) = bench_ssh(
        &["--commands", "2000", "--in-flight", "1000", "--repeat", "1"],
        false,
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("MaxSessions"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let dir = stderr
        .lines()
        .find_map(|l| l.strip_prefix("bench-ssh: started a fleet in "))
        .unwrap_or_else(|| panic!("no fleet started:\n{stderr}"));
    assert!(!std::path::Path::new(dir).exists(), "{dir} is left");

    let (code, _, stderr) = bench_ssh(&["--fleet", "/nonexistent", "--repeat", "1"], false);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("is not a fleet directory") && stderr.contains("help"),
        "{stderr}"
    );
    let (code, _, stderr) = bench_ssh(&["--ansible", "/nonexistent/ansible-playbook"], false);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--ansible /nonexistent/ansible-playbook"),
        "{stderr}"
    );
}

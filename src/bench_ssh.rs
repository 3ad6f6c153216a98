//! `concerto bench-ssh`: what one remote action costs, measured side by side
//! in one run on the same fleet of real sshd hosts (`tests/hosts/fleet`):
//!
//! - our executor ([`crate::exec::ssh::Ssh`], one per host, built from the
//!   fleet's `inventory.ini` as the engine builds them): many trivial
//!   commands (`true`) with many in flight (throughput, and the per-action
//!   overhead = wall time × in flight / commands), and commands one at a
//!   time (latency);
//! - `ansible-playbook`: a playbook of K `command: "true"` tasks on every
//!   host, minus a playbook of none, divided by K: the cost of a task;
//! - plain `ssh host true` with the fleet's `ssh_config`, a new connection
//!   each time.
//!
//! Every figure is the median of `--repeat` repetitions. Without `--fleet`
//! the command starts a fleet of its own and stops it at the end, also on
//! an error or Ctrl-C.

use crate::engine;
use crate::exec::ssh::{connection_for, HostConnection, Ssh, SshTarget};
use crate::exec::{Connection, Reply, Request, Status};
use concerto_translator::yaml::Yaml;
use miette::{miette, IntoDiagnostic, Result, WrapErr};
use serde_json::{Map, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one action may cost with multiplexing.
pub const TARGET: Duration = Duration::from_millis(5);
/// Hosts of the fleet this command starts when it is given none.
pub const FLEET_HOSTS: usize = 4;

/// How to run the benchmark (the command-line options).
#[derive(Debug, Clone)]
pub struct Options {
    /// An existing fleet's directory; `None`: start one (and stop it).
    pub fleet: Option<PathBuf>,
    /// Commands per throughput repetition.
    pub commands: usize,
    /// Commands in flight in total, spread evenly over the hosts.
    pub in_flight: usize,
    /// Commands per latency repetition (one at a time).
    pub sequential: usize,
    pub repeat: usize,
    /// Tasks in the Ansible playbook.
    pub tasks: usize,
    /// New `ssh` connections per repetition.
    pub ssh_commands: usize,
    /// `ansible-playbook`; `None`: look for it.
    pub ansible: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fleet: None,
            commands: 1000,
            in_flight: 32,
            sequential: 200,
            repeat: 5,
            tasks: 10,
            ssh_commands: 20,
            ansible: None,
        }
    }
}

/// How a benchmark run ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The table is printed.
    Done,
    /// Ctrl-C: nothing is printed (the fleet, if started here, is stopped).
    Interrupted,
}

/// Runs the benchmark and prints the table.
pub fn run(opts: &Options) -> Result<Finished> {
    for (name, v) in [
        ("--commands", opts.commands),
        ("--in-flight", opts.in_flight),
        ("--sequential", opts.sequential),
        ("--repeat", opts.repeat),
        ("--tasks", opts.tasks),
        ("--ssh-commands", opts.ssh_commands),
    ] {
        if v == 0 {
            return Err(miette!(help = "give a positive number", "{name} is 0"));
        }
    }
    // Before the fleet: a wrong --ansible fails at once.
    let ansible = find_ansible(opts.ansible.as_deref())?;
    let rt = engine::runtime(false).map_err(|e| miette!("cannot start the runtime: {e}"))?;
    // Ctrl-C from here on is noted, not fatal, so that a fleet started
    // below is always stopped (`fleet up` runs in a process group of its
    // own, out of the terminal's reach: it is not cut short either).
    let mut interrupt = {
        let _rt = rt.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|e| miette!("cannot handle Ctrl-C: {e}"))?
    };
    let fleet = match &opts.fleet {
        Some(dir) => Fleet::existing(dir)?,
        None => {
            eprintln!("bench-ssh: starting a fleet of {FLEET_HOSTS} hosts");
            Fleet::start(FLEET_HOSTS)?
        }
    };
    let targets = targets(&fleet.dir)?;
    // Ctrl-C ends the measurement (children are killed on drop); the fleet
    // is stopped when `fleet` is dropped, whatever happened.
    let measured = rt.block_on(async {
        tokio::select! {
            biased;
            _ = interrupt.recv() => Ok(None),
            r = measure(&fleet.dir, &targets, &ansible, opts) => r.map(Some),
        }
    });
    drop(rt);
    let Some(m) = measured? else {
        return Ok(Finished::Interrupted);
    };
    print!("{}", report(&fleet, &targets, &ansible, opts, &m));
    Ok(Finished::Done)
}

/// `ansible-playbook`, or why there is none.
enum Ansible {
    Found { path: PathBuf, version: String },
    Missing(String),
}

/// `--ansible PATH` (an error if it does not run), else `ansible-playbook`
/// on `$PATH`, else beside `$CONCERTO_PYTHON` (missing then is no error:
/// the Ansible column is left out).
fn find_ansible(given: Option<&Path>) -> Result<Ansible> {
    if let Some(p) = given {
        return match version(p) {
            Ok(version) => Ok(Ansible::Found {
                path: p.to_path_buf(),
                version,
            }),
            Err(e) => Err(miette!(
                help = "give the path of a working ansible-playbook, or leave --ansible out to skip the Ansible column when there is none",
                "--ansible {}: {e}",
                p.display()
            )),
        };
    }
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("ansible-playbook")));
    }
    if let Some(py) = std::env::var_os("CONCERTO_PYTHON").filter(|p| !p.is_empty()) {
        if let Some(dir) = Path::new(&py).parent() {
            candidates.push(dir.join("ansible-playbook"));
        }
    }
    let mut why = "ansible-playbook is not on $PATH, and $CONCERTO_PYTHON is not set".to_string();
    for c in candidates.into_iter().filter(|c| c.is_file()) {
        match version(&c) {
            Ok(version) => return Ok(Ansible::Found { path: c, version }),
            Err(e) => why = format!("{}: {e}", c.display()),
        }
    }
    Ok(Ansible::Missing(why))
}

/// The first line of `ansible-playbook --version`, without the program name.
fn version(p: &Path) -> std::result::Result<String, String> {
    let out = std::process::Command::new(p)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`--version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    let v = first.strip_prefix("ansible-playbook ").unwrap_or(first);
    // `[core 2.19.14]`
    Ok(
        match v.strip_prefix("[core ").and_then(|v| v.strip_suffix(']')) {
            Some(core) => format!("ansible-core {core}"),
            None => v.to_string(),
        },
    )
}

/// The fleet the benchmark runs on; stopped when dropped if this run
/// started it.
struct Fleet {
    dir: PathBuf,
    /// The `fleet` script, when this run started the fleet.
    started: Option<PathBuf>,
}

impl Fleet {
    fn existing(dir: &Path) -> Result<Fleet> {
        if !dir.join("inventory.ini").is_file() || !dir.join("ssh_config").is_file() {
            return Err(miette!(
                help = "give the directory `tests/hosts/fleet up N` printed (it holds inventory.ini and ssh_config), or leave --fleet out to start a fleet",
                "{} is not a fleet directory",
                dir.display()
            ));
        }
        Ok(Fleet {
            dir: dir.to_path_buf(),
            started: None,
        })
    }

    fn start(n: usize) -> Result<Fleet> {
        let script = fleet_script()?;
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(["up", &n.to_string()])
            .stdin(Stdio::null())
            .process_group(0)
            .output()
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot run {}", script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout.lines().rev().map(str::trim).find(|l| !l.is_empty());
        if !out.status.success() || dir.is_none() {
            return Err(miette!(
                help = "`tests/hosts/fleet up` needs root and openssh-server (`tests/hosts/fleet install`); or start a fleet yourself and pass --fleet DIR",
                "cannot start a fleet of {n} hosts ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let fleet = Fleet {
            dir: PathBuf::from(dir.unwrap_or_default()),
            started: Some(script),
        };
        eprintln!("bench-ssh: started a fleet in {}", fleet.dir.display());
        // From here on, dropping `fleet` stops it.
        Fleet::existing(&fleet.dir)?;
        Ok(fleet)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let Some(script) = &self.started else {
            return;
        };
        let r = std::process::Command::new("bash")
            .arg(script)
            .arg("down")
            .arg(&self.dir)
            .arg("--purge")
            .stdin(Stdio::null())
            .process_group(0)
            .output();
        match r {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "bench-ssh: `fleet down {} --purge` failed: {}",
                self.dir.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!(
                "bench-ssh: cannot stop the fleet in {}: {e}",
                self.dir.display()
            ),
        }
    }
}

/// `$FLEET_SCRIPT`, else `tests/hosts/fleet` in the working directory or
/// one above it, else in the source tree this binary was built from.
fn fleet_script() -> Result<PathBuf> {
    if let Some(s) = std::env::var_os("FLEET_SCRIPT").filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(s));
    }
    let mut places: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        places.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    places.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    places
        .iter()
        .map(|d| d.join("tests/hosts/fleet"))
        .find(|c| c.is_file())
        .ok_or_else(|| {
            miette!(
                help = "run from the repository, set FLEET_SCRIPT to tests/hosts/fleet, or pass --fleet DIR",
                "cannot find the fleet script tests/hosts/fleet"
            )
        })
}

/// The SSH target of every host of the fleet's `inventory.ini`, from its
/// variables as Ansible merges them.
fn targets(dir: &Path) -> Result<Vec<SshTarget>> {
    let path = dir.join("inventory.ini");
    let inv = concerto_translator::inventory::load(&path).map_err(miette::Report::new)?;
    let mut out = Vec::new();
    for name in inv.group_hosts("all") {
        let vars: Map<String, Value> = inv
            .host_vars(&name)
            .iter()
            .map(|(k, v)| (k.clone(), plain(&v.value.value)))
            .collect();
        match connection_for(&name, &vars) {
            Ok(HostConnection::Ssh(t)) => out.push(t),
            Ok(HostConnection::Local) => {
                return Err(miette!(
                    help = "bench-ssh measures SSH: use a fleet from tests/hosts/fleet",
                    "host {name} in {} is a local connection",
                    path.display()
                ))
            }
            Err(e) => return Err(miette!("{e}").wrap_err(format!("in {}", path.display()))),
        }
    }
    if out.is_empty() {
        return Err(miette!(
            help = "start one with `tests/hosts/fleet up 4`",
            "{} has no hosts",
            path.display()
        ));
    }
    Ok(out)
}

/// An inventory value as JSON, strings plain (the connection variables
/// are strings, numbers and booleans).
fn plain(v: &Yaml) -> Value {
    match v {
        Yaml::Str(s) | Yaml::Unsafe(s) => Value::String(s.clone()),
        other => concerto_translator::inventory::inventory_json(other),
    }
}

/// Every figure, each the median of the repetitions.
struct Measured {
    ours: Ours,
    ansible: Option<AnsibleMeasured>,
    /// `ssh host true`, a new connection each.
    plain_ssh: Duration,
}

struct AnsibleMeasured {
    /// Playbooks of 0 and of `tasks` tasks.
    empty: Duration,
    full: Duration,
}

impl AnsibleMeasured {
    fn per_task(&self, tasks: usize) -> Duration {
        self.full.saturating_sub(self.empty) / tasks as u32
    }
}

async fn measure(
    dir: &Path,
    targets: &[SshTarget],
    ansible: &Ansible,
    opts: &Options,
) -> Result<Measured> {
    let n = targets.len();
    let per_host = opts.in_flight.div_ceil(n);
    let hosts: Arc<Vec<Ssh>> = Arc::new(
        targets
            .iter()
            .map(|t| Ssh::new(t.clone()).max_sessions(per_host))
            .collect(),
    );
    let ours = ours(&hosts, opts).await;
    for h in hosts.iter() {
        h.close().await;
    }
    drop(hosts);
    let ours = ours?;

    let mut plain = Vec::new();
    eprintln!(
        "bench-ssh: plain ssh, {} new connections × {}",
        opts.ssh_commands, opts.repeat
    );
    for _ in 0..opts.repeat {
        plain.push(plain_ssh(dir, targets, opts.ssh_commands).await?);
    }

    let ansible = match ansible {
        Ansible::Found { path, .. } => Some(ansible_playbook(path, dir, n, opts).await?),
        Ansible::Missing(_) => None,
    };
    Ok(Measured {
        ours,
        ansible,
        plain_ssh: median(plain),
    })
}

/// Our executor's figures.
struct Ours {
    /// Median wall time of a throughput run.
    wall: Duration,
    /// A command run alone: the median over the repetitions of each one's
    /// median (robust to the hiccups of a shared machine), and of each
    /// one's mean.
    latency: Duration,
    mean: Duration,
    /// Every command run alone, sorted.
    each: Vec<Duration>,
}

async fn ours(hosts: &Arc<Vec<Ssh>>, opts: &Options) -> Result<Ours> {
    // Connect every host and warm up (not measured).
    for h in hosts.iter() {
        h.connect().await.map_err(|e| {
            miette!(
                help = "check the fleet: `tests/hosts/fleet status DIR`",
                "cannot connect to {}: {e}",
                h.host()
            )
        })?;
    }
    throughput(hosts, opts.in_flight, opts.in_flight).await?;
    eprintln!(
        "bench-ssh: concerto, {} commands ({} in flight) × {}, then {} one at a time × {}",
        opts.commands, opts.in_flight, opts.repeat, opts.sequential, opts.repeat
    );
    let mut walls = Vec::new();
    let mut latencies = Vec::new();
    let mut means = Vec::new();
    for _ in 0..opts.repeat {
        walls.push(throughput(hosts, opts.commands, opts.in_flight).await?);
    }
    let mut each = Vec::new();
    for _ in 0..opts.repeat {
        let started = Instant::now();
        let mut these = Vec::new();
        for i in 0..opts.sequential {
            let h = &hosts[i % hosts.len()];
            let one = Instant::now();
            check(h, &h.exec(trivial()).await)?;
            these.push(one.elapsed());
        }
        means.push(started.elapsed() / opts.sequential as u32);
        each.extend_from_slice(&these);
        latencies.push(median(these));
    }
    each.sort();
    Ok(Ours {
        wall: median(walls),
        latency: median(latencies),
        mean: median(means),
        each,
    })
}

fn trivial() -> Request {
    Request {
        command: "true".into(),
        env: Vec::new(),
        // Only so that a hung host cannot hang the benchmark.
        timeout: Some(Duration::from_secs(60)),
    }
}

fn check(h: &Ssh, r: &Reply) -> Result<()> {
    if r.status == Status::Exited(0) {
        return Ok(());
    }
    let why = r.error().unwrap_or_default();
    let help = if why.contains("refused") {
        "more commands in flight per host (--in-flight / hosts) than the server's MaxSessions fail; the fleet allows 100"
    } else {
        "check the hosts: `tests/hosts/fleet status DIR`"
    };
    Err(miette!(
        help = help,
        "`true` on {}: {why}{}",
        h.host(),
        if r.stderr.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", r.stderr.trim())
        }
    ))
}

/// Wall time of `commands` commands, `in_flight` workers, each bound to a
/// host (round robin), taking commands from one counter until none is left.
/// After a failure the workers take no more and the first error is
/// returned once the commands in flight have ended: none is cancelled
/// (each would need a kill, which can take seconds).
async fn throughput(hosts: &Arc<Vec<Ssh>>, commands: usize, in_flight: usize) -> Result<Duration> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    let started = Instant::now();
    for w in 0..in_flight {
        let (hosts, next) = (hosts.clone(), next.clone());
        workers.spawn(async move {
            let h = &hosts[w % hosts.len()];
            while next.fetch_add(1, Ordering::Relaxed) < commands {
                if let Err(e) = check(h, &h.exec(trivial()).await) {
                    next.store(commands, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok::<(), miette::Report>(())
        });
    }
    let mut first = None;
    while let Some(r) = workers.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first.get_or_insert(e);
            }
            Err(e) => {
                first.get_or_insert(miette!("a benchmark task failed: {e}"));
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(started.elapsed()),
    }
}

/// Mean time of `ssh -F ssh_config HOST true`, new connections one at a
/// time over the hosts.
async fn plain_ssh(dir: &Path, targets: &[SshTarget], n: usize) -> Result<Duration> {
    let config = dir.join("ssh_config");
    let started = Instant::now();
    for i in 0..n {
        let host = &targets[i % targets.len()].name;
        let out = tokio::process::Command::new("ssh")
            .arg("-F")
            .arg(&config)
            .args(["-o", "ControlMaster=no", "-o", "ControlPath=none", "--"])
            .arg(host)
            .arg("true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
            .await
            .into_diagnostic()
            .wrap_err("cannot run ssh")?;
        if !out.status.success() {
            return Err(miette!(
                help = format!("try it by hand: ssh -F {} {host} true", config.display()),
                "`ssh {host} true` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(started.elapsed() / n as u32)
}

/// Medians of the wall times of a playbook of no task and of `tasks`
/// `command: "true"` tasks, on every host, with a fork per host.
async fn ansible_playbook(
    bin: &Path,
    dir: &Path,
    hosts: usize,
    opts: &Options,
) -> Result<AnsibleMeasured> {
    let work = tempfile::Builder::new()
        .prefix("concerto-bench-ssh-")
        .tempdir()
        .into_diagnostic()
        .wrap_err("cannot create a temporary directory")?;
    let play = |n: usize| {
        let mut s = String::from("- hosts: all\n  gather_facts: false\n  tasks:");
        if n == 0 {
            s.push_str(" []\n");
        } else {
            s.push('\n');
            for i in 0..n {
                s.push_str(&format!(
                    "    - name: true {i}\n      ansible.builtin.command: \"true\"\n"
                ));
            }
        }
        s
    };
    for (file, n) in [("empty.yml", 0), ("one.yml", 1), ("tasks.yml", opts.tasks)] {
        std::fs::write(work.path().join(file), play(n))
            .into_diagnostic()
            .wrap_err("cannot write a playbook")?;
    }
    let cp = work.path().join("cp");
    let run = |file: &'static str| {
        let mut c = tokio::process::Command::new(bin);
        c.arg("-i")
            .arg(dir.join("inventory.ini"))
            .args(["-f", &hosts.max(4).to_string(), file])
            .current_dir(work.path())
            // Ansible's own defaults (ControlPersist connections), with
            // pipelining: the fastest common setting.
            .env("ANSIBLE_PIPELINING", "True")
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", &cp)
            .env("ANSIBLE_LOCAL_TEMP", work.path().join("tmp"))
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            .env("ANSIBLE_NOCOLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        async move {
            let started = Instant::now();
            let out = c
                .output()
                .await
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot run {}", bin.display()))?;
            let took = started.elapsed();
            if !out.status.success() {
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(miette!(
                    help = format!(
                        "try the hosts by hand: ansible -i {} all -m command -a true",
                        dir.join("inventory.ini").display()
                    ),
                    "{} {file} failed ({}):\n{}",
                    bin.display(),
                    out.status,
                    tail.join("\n")
                ));
            }
            Ok::<Duration, miette::Report>(took)
        }
    };
    eprintln!(
        "bench-ssh: ansible-playbook, 0 and {} tasks × {}",
        opts.tasks, opts.repeat
    );
    let measured = async {
        // Warm-up (not measured): opens the persistent connections.
        run("one.yml").await?;
        let (mut empty, mut full) = (Vec::new(), Vec::new());
        for _ in 0..opts.repeat {
            empty.push(run("empty.yml").await?);
            full.push(run("tasks.yml").await?);
        }
        Ok::<AnsibleMeasured, miette::Report>(AnsibleMeasured {
            empty: median(empty),
            full: median(full),
        })
    }
    .await;
    close_control_masters(&cp).await;
    measured
}

/// Stops the persistent connections Ansible left (their sockets are in `cp`).
async fn close_control_masters(cp: &Path) {
    let Ok(entries) = std::fs::read_dir(cp) else {
        return;
    };
    for e in entries.flatten() {
        let mut path = std::ffi::OsString::from("ControlPath=");
        path.push(e.path());
        let _ = tokio::process::Command::new("ssh")
            .arg("-o")
            .arg(path)
            .args(["-O", "exit", "concerto-bench-ssh"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status()
            .await;
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn per_second(per_action: Duration) -> String {
    let s = per_action.as_secs_f64();
    if s <= 0.0 {
        "-".into()
    } else {
        format!("{:.0}", 1.0 / s)
    }
}

fn ratio(slow: Duration, fast: Duration) -> String {
    if fast.is_zero() {
        return "-".into();
    }
    let r = slow.as_secs_f64() / fast.as_secs_f64();
    if r < 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.0}×")
    }
}

fn report(
    fleet: &Fleet,
    targets: &[SshTarget],
    ansible: &Ansible,
    opts: &Options,
    m: &Measured,
) -> String {
    let n = targets.len();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let overhead = m.ours.wall * opts.in_flight as u32 / opts.commands as u32;
    let throughput = opts.commands as f64 / m.ours.wall.as_secs_f64();
    let forks = n.max(4);
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "bench-ssh: {n} hosts ({}) in {}{}; medians of {} repetitions",
        names.join(" "),
        fleet.dir.display(),
        if fleet.started.is_some() {
            " (started for this run)"
        } else {
            ""
        },
        opts.repeat
    ));
    line(String::new());
    line(format!(
        "{:<34} {:>12} {:>14} {:>10}",
        "", "per action", "one at a time", "actions/s"
    ));
    line(format!(
        "{:<34} {:>12} {:>14} {:>10}",
        "concerto (exec::ssh, multiplexed)",
        ms(overhead),
        ms(m.ours.latency),
        format!("{throughput:.0}")
    ));
    match (&m.ansible, ansible) {
        (Some(a), _) => {
            let t = a.per_task(opts.tasks);
            line(format!(
                "{:<34} {:>12} {:>14} {:>10}",
                "ansible-playbook (command: true)",
                ms(t),
                ms(t),
                format!("{:.0}", n as f64 / t.as_secs_f64().max(1e-9))
            ));
        }
        (None, _) => line(format!(
            "{:<34} {:>12} {:>14} {:>10}",
            "ansible-playbook (command: true)", "skipped", "skipped", "-"
        )),
    }
    line(format!(
        "{:<34} {:>12} {:>14} {:>10}",
        "ssh host true (new connection)",
        ms(m.plain_ssh),
        ms(m.plain_ssh),
        per_second(m.plain_ssh)
    ));
    line(String::new());
    line(format!(
        "concerto: {} × `true`, {} in flight ({} per host): {:.3} s, {throughput:.0}/s; per action = wall × in flight / commands",
        opts.commands,
        opts.in_flight,
        opts.in_flight.div_ceil(n),
        m.ours.wall.as_secs_f64(),
    ));
    let pct = |p: usize| ms(m.ours.each[(m.ours.each.len() - 1) * p / 100]);
    line(format!(
        "concerto one at a time: {} commands per repetition, median {} (mean {}); all of them: min {}, median {}, p90 {}, max {}",
        opts.sequential,
        ms(m.ours.latency),
        ms(m.ours.mean),
        pct(0),
        pct(50),
        pct(90),
        pct(100)
    ));
    match (&m.ansible, ansible) {
        (Some(a), Ansible::Found { path, version }) => line(format!(
            "ansible-playbook: {} ({version}), forks {forks}, pipelining, persistent connections; ({:.2} s for {} tasks − {:.2} s for none) / {} = {} per task on {n} hosts at once",
            path.display(),
            a.full.as_secs_f64(),
            opts.tasks,
            a.empty.as_secs_f64(),
            opts.tasks,
            ms(a.per_task(opts.tasks))
        )),
        (_, Ansible::Missing(why)) => line(format!(
            "ansible-playbook: skipped: {why} (give --ansible PATH)"
        )),
        _ => {}
    }
    line(format!(
        "ssh: `ssh -F {}/ssh_config HOST true`, {} new connections one at a time, no multiplexing",
        fleet.dir.display(),
        opts.ssh_commands
    ));
    line(String::new());
    if let Some(a) = &m.ansible {
        let t = a.per_task(opts.tasks);
        line(format!(
            "ansible per task vs concerto: {} the per-action cost, {} the one-at-a-time latency",
            ratio(t, overhead),
            ratio(t, m.ours.latency)
        ));
    }
    line(format!(
        "plain ssh vs concerto: {} the per-action cost, {} the one-at-a-time latency",
        ratio(m.plain_ssh, overhead),
        ratio(m.plain_ssh, m.ours.latency)
    ));
    // With many in flight, each action holds its slot while the others
    // use the cores: what one costs is the machine time it takes.
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let machine = m.ours.wall * cores as u32 / opts.commands as u32;
    line(format!(
        "target ≤ {} per action with multiplexing: {} one at a time ({}); at {} in flight each action holds its slot {} as {} cores are shared ({} of machine time per action)",
        ms(TARGET),
        if m.ours.latency <= TARGET {
            "holds"
        } else {
            "MISSED"
        },
        ms(m.ours.latency),
        opts.in_flight,
        ms(overhead),
        cores,
        ms(machine)
    ));
    s
}

//! Running commands on a host over SSH.
//!
//! Each host gets one OpenSSH master connection (`ssh -M`, started lazily on
//! the first command and started again once if it died); every command is a
//! new channel on it, opened through the control socket with the `openssh`
//! crate's native multiplexing client (a few milliseconds, no new `ssh`
//! process). The user's own OpenSSH does the connecting, so `ssh_config`,
//! the agent, `known_hosts`, `ProxyJump` and every `-o` option work as they
//! do for Ansible.
//!
//! The master is started by this module rather than by
//! `openssh::SessionBuilder`: the builder has no way to pass arbitrary ssh
//! options (`ansible_ssh_common_args` may hold any), and it always puts a
//! `StrictHostKeyChecking` option on the command line, which would override
//! the user's `ssh_config`. The session itself is the crate's
//! (`Session::new_native_mux`): dropping it stops the master.
//!
//! Commands run inside the transport-independent wrapper of [`super`]
//! ([`wrap`]), with a private directory per `Ssh` on the host (made by the
//! first command; [`Ssh::close`] removes it). A command whose future is
//! dropped (Ctrl-C) or that times out is killed on the host: the
//! multiplexing protocol cannot signal a remote process, so a task runs
//! [`kill_script`] over the same master. [`Ssh::wait_for_kills`] waits for
//! those tasks; [`Ssh::close`] does too, then removes the directory (call
//! it before exiting).
//!
//! What a command costs on the host: sshd's session, the login shell
//! (`-c`, which execs `sh -c` with the wrapper: running the wrapper in the
//! login shell itself was not faster with bash, whose forks cost more than
//! dash's, and would break with csh or fish), the user's `sh -c`. Nothing
//! else, unless the command publishes data (`docs/test-hosts.md`).
//!
//! At most `max_sessions` commands (default 8) run at once per host: sshd's
//! `MaxSessions` (10 by default on Debian) limits the channels of one
//! connection, and two more are kept for kills.

use super::{
    kill_script, private_dir, remove_dir_script, shell_quote, unwrap_output, wrap, BoxFuture,
    Connection, Reply, Request, Status,
};
use openssh::{Session, Stdio};
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Commands in flight per host, by default.
pub const DEFAULT_MAX_SESSIONS: usize = 8;
/// How long connecting to a host may take, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Kills in flight per host (on top of the commands).
const KILL_SESSIONS: usize = 2;

/// How to reach one host over SSH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshTarget {
    /// The inventory name, for reports.
    pub name: String,
    /// What `ssh` connects to: an address, or a name `ssh_config` knows.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    /// A private key; with one, only that key is offered (`IdentitiesOnly`).
    pub key: Option<PathBuf>,
    /// More arguments for `ssh`, passed as they are after the ones above
    /// (`-o Key=Value`, `-F file`, `-J jump`, ...): Ansible's
    /// `ansible_ssh_common_args` then `ansible_ssh_extra_args`.
    pub ssh_args: Vec<String>,
    /// `ssh -F`.
    pub config_file: Option<PathBuf>,
    /// `UserKnownHostsFile`.
    pub known_hosts: Option<PathBuf>,
    /// Run commands as `become_user` (root by default) through `sudo -n`.
    pub r#become: bool,
    pub become_user: Option<String>,
}

/// How an inventory host is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostConnection {
    /// `ansible_connection=local`: run on this machine ([`super::local::Local`]).
    Local,
    Ssh(SshTarget),
}

/// The way to run commands on inventory host `name` with these variables:
/// [`HostConnection::Local`] for `ansible_connection=local`, else SSH (see
/// [`from_inventory_vars`]). Errors on connection types and become methods
/// other than ssh and sudo, and on ssh arguments that do not parse.
pub fn connection_for(name: &str, vars: &Map<String, Value>) -> Result<HostConnection, String> {
    match text(vars, &["ansible_connection"]).as_deref() {
        None | Some("ssh") | Some("smart") | Some("paramiko") => {}
        Some("local") => return Ok(HostConnection::Local),
        Some(other) => {
            return Err(format!(
                "host {name}: ansible_connection={other} is not supported (only ssh and local)"
            ))
        }
    }
    if let Some(m) = text(vars, &["ansible_become_method"]) {
        if m != "sudo" {
            return Err(format!(
                "host {name}: ansible_become_method={m} is not supported (only sudo)"
            ));
        }
    }
    for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(s) = text(vars, &[key]) {
            split_args(&s).map_err(|e| format!("host {name}: {key}: {e}"))?;
        }
    }
    if let Some(p) = text(vars, &["ansible_port", "ansible_ssh_port"]) {
        p.parse::<u16>()
            .map_err(|_| format!("host {name}: ansible_port={p} is not a port number"))?;
    }
    Ok(HostConnection::Ssh(from_inventory_vars(name, vars)))
}

/// The SSH target of inventory host `name`, from Ansible's variables:
/// `ansible_host` (else the name), `ansible_port`, `ansible_user`,
/// `ansible_ssh_private_key_file`, `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args` (split as a POSIX shell would),
/// `ansible_become`, `ansible_become_user` (and the old `ansible_ssh_*`
/// spellings). It does not look at `ansible_connection`: callers that may
/// meet `local` hosts use [`connection_for`], which also reports what this
/// function tolerates (arguments with unbalanced quotes are split on
/// whitespace here; a bad port is ignored).
pub fn from_inventory_vars(name: &str, vars: &Map<String, Value>) -> SshTarget {
    let args = |key: &str| -> Vec<String> {
        match text(vars, &[key]) {
            None => Vec::new(),
            Some(s) => split_args(&s)
                .unwrap_or_else(|_| s.split_whitespace().map(str::to_string).collect()),
        }
    };
    let mut ssh_args = args("ansible_ssh_common_args");
    ssh_args.extend(args("ansible_ssh_extra_args"));
    SshTarget {
        name: name.to_string(),
        address: text(vars, &["ansible_host", "ansible_ssh_host"])
            .unwrap_or_else(|| name.to_string()),
        port: text(vars, &["ansible_port", "ansible_ssh_port"]).and_then(|p| p.parse().ok()),
        user: text(vars, &["ansible_user", "ansible_ssh_user"]),
        key: text(
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        )
        .map(|k| expand_home(&k)),
        ssh_args,
        config_file: None,
        known_hosts: None,
        r#become: vars.get("ansible_become").is_some_and(truthy),
        become_user: text(vars, &["ansible_become_user"]),
    }
}

/// The first of `keys` that is set, as text (numbers too; not null).
fn text(vars: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match vars.get(*k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Ansible's `boolean()`.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
        ),
        _ => false,
    }
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Splits a command line into words like Python's `shlex.split` (which
/// Ansible uses): whitespace separates, `'...'` is literal, `"..."` keeps
/// `\` only before `\ " $` and a backquote, a `\` outside quotes escapes the
/// next character. No comments, no expansions.
pub fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed single quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed double quote in {s:?}")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed double quote in {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err(format!("a backslash ends {s:?}")),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The command line the remote login shell runs for `script`: `sh -c`, or
/// `sudo -H -n -u USER sh -c` with become. No sudo when the login user is
/// the become user already; when the login user is not known here (it may
/// come from `ssh_config`), the remote shell checks.
pub(crate) fn remote_command(target: &SshTarget, script: &str) -> String {
    let quoted = shell_quote(script);
    if !target.r#become {
        return format!("exec sh -c {quoted}");
    }
    let to = target.become_user.as_deref().unwrap_or("root");
    let sudo = format!("sudo -H -n -u {}", shell_quote(to));
    match target.user.as_deref() {
        Some(user) if user == to => format!("exec sh -c {quoted}"),
        Some(_) => format!("exec {sudo} sh -c {quoted}"),
        None => format!(
            "concerto_s={quoted}; if [ \"$(id -un)\" = {} ]; then exec sh -c \"$concerto_s\"; fi; exec {sudo} sh -c \"$concerto_s\"",
            shell_quote(to)
        ),
    }
}

/// The arguments of the master `ssh` (after the program name): ours first
/// (the first value of an option wins), then the target's, then its
/// `ssh_args`, then defaults the user's arguments may override.
pub(crate) fn master_args(
    target: &SshTarget,
    ctl: &Path,
    log: &Path,
    connect_timeout: Duration,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-M");
    push("-f");
    push("-N");
    push("-S");
    a.push(ctl.into());
    a.push("-E".into());
    a.push(log.into());
    for o in ["ControlPersist=yes", "BatchMode=yes"] {
        a.push("-o".into());
        a.push(o.into());
    }
    if let Some(port) = target.port {
        a.push("-p".into());
        a.push(port.to_string().into());
    }
    if let Some(user) = &target.user {
        a.push("-l".into());
        a.push(user.into());
    }
    if let Some(key) = &target.key {
        a.push("-i".into());
        a.push(key.into());
        a.push("-o".into());
        a.push("IdentitiesOnly=yes".into());
    }
    if let Some(f) = &target.config_file {
        a.push("-F".into());
        a.push(f.into());
    }
    if let Some(k) = &target.known_hosts {
        let mut o = OsString::from("UserKnownHostsFile=");
        o.push(k);
        a.push("-o".into());
        a.push(o);
    }
    a.extend(target.ssh_args.iter().map(OsString::from));
    let secs = connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
    for o in [
        format!("ConnectTimeout={secs}"),
        "ServerAliveInterval=15".to_string(),
        "ServerAliveCountMax=3".to_string(),
    ] {
        a.push("-o".into());
        a.push(o.into());
    }
    a.push("--".into());
    a.push(target.address.clone().into());
    a
}

/// The script `copy` runs: the contents arrive on stdin into a temporary
/// file beside `path`, which is checked for size, given its mode and renamed.
fn copy_script(path: &str, len: usize, mode: u32) -> String {
    format!(
        r#"set -e
p={p}
t=$(mktemp "$(dirname "$p")/.concerto-copy.XXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
n=$(wc -c < "$t")
[ $n -eq {len} ] || {{ echo "copy: got $n of {len} bytes" >&2; exit 1; }}
chmod {mode:o} "$t"
mv -f "$t" "$p"
trap - EXIT
"#,
        p = shell_quote(path),
        mode = mode & 0o7777,
    )
}

/// One master connection: its session (dropping it stops the master) and
/// which one it is, so that a dead master is replaced only once.
#[derive(Clone)]
struct Master {
    session: Arc<Session>,
    generation: u64,
}

#[derive(Default)]
struct MasterState {
    current: Option<Master>,
    /// Connection attempts so far, and the error of the last one if it failed.
    attempts: u64,
    last_error: Option<String>,
}

/// One host over SSH. See the module documentation.
pub struct Ssh {
    target: SshTarget,
    connect_timeout: Duration,
    slots: Semaphore,
    kill_slots: Arc<Semaphore>,
    master: tokio::sync::Mutex<MasterState>,
    attempts: AtomicU64,
    calls: AtomicU64,
    seed: std::collections::hash_map::RandomState,
    kills: Mutex<Vec<JoinHandle<()>>>,
    /// The private directory on the host (a shell word), and whether a
    /// command may have made it.
    dir: String,
    dir_used: AtomicBool,
}

impl Ssh {
    pub fn new(target: SshTarget) -> Ssh {
        let seed = std::collections::hash_map::RandomState::new();
        let dir = private_dir(seed.hash_one(u64::MAX));
        Ssh {
            dir,
            dir_used: AtomicBool::new(false),
            target,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            slots: Semaphore::new(DEFAULT_MAX_SESSIONS),
            kill_slots: Arc::new(Semaphore::new(KILL_SESSIONS)),
            master: tokio::sync::Mutex::new(MasterState::default()),
            attempts: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            seed,
            kills: Mutex::new(Vec::new()),
        }
    }

    /// At most `n` (≥ 1) commands in flight on this host at once; keep it
    /// two below the server's `MaxSessions`.
    pub fn max_sessions(mut self, n: usize) -> Ssh {
        self.slots = Semaphore::new(n.max(1));
        self
    }

    /// How long connecting (up to a working master) may take. It also
    /// bounds each kill of a cancelled command.
    pub fn connect_timeout(mut self, d: Duration) -> Ssh {
        self.connect_timeout = d;
        self
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Connects now, if not connected yet (commands connect by themselves).
    pub async fn connect(&self) -> Result<(), String> {
        self.master(None).await.map(|_| ())
    }

    /// Waits until the kills of cancelled and timed-out commands are done
    /// (each is bounded by the connect timeout).
    pub async fn wait_for_kills(&self) {
        loop {
            let pending = std::mem::take(&mut *self.kills.lock().unwrap());
            if pending.is_empty() {
                return;
            }
            for h in pending {
                let _ = h.await;
            }
        }
    }

    /// Waits for the kills ([`Ssh::wait_for_kills`]), then removes the
    /// private directory from the host, if a command made it and the
    /// master is still up (a later command would make it again). Call it
    /// before exiting; without it an empty directory stays in the host's
    /// temporary directory.
    pub async fn close(&self) {
        self.wait_for_kills().await;
        if !self.dir_used.swap(false, Ordering::AcqRel) {
            return;
        }
        let Some(master) = self.master.lock().await.current.clone() else {
            return;
        };
        let cmdline = remote_command(&self.target, &remove_dir_script(&self.dir));
        let mut cmd = Session::to_raw_command(master.session.clone(), &cmdline);
        let run = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match tokio::time::timeout(self.connect_timeout, run).await {
            Ok(Ok(s)) if s.success() => {}
            Ok(Ok(s)) => {
                tracing::debug!(host = %self.target.name, "removing the private directory: {s}")
            }
            Ok(Err(e)) => {
                tracing::debug!(host = %self.target.name, "removing the private directory: {}", chain(&e))
            }
            Err(_) => {
                tracing::debug!(host = %self.target.name, "removing the private directory: timed out")
            }
        }
    }

    /// Writes `contents` to `path` on the host with permissions `mode`: into
    /// a temporary file in the same directory, then renamed over `path`, so
    /// that the file is never seen half-written. With become, as the become
    /// user.
    pub async fn copy(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), String> {
        let cmdline = remote_command(&self.target, &copy_script(path, contents.len(), mode));
        let _slot = self.slots.acquire().await.expect("never closed");
        let mut child =
            self.spawn(&cmdline, true, false, &mut None)
                .await
                .map_err(|s| match s {
                    Status::Unreachable(e) => format!("unreachable: {e}"),
                    s => Reply::failed(s).error().unwrap_or_default(),
                })?;
        let mut stdin = child.stdin().take().expect("piped");
        let stderr = child.stderr().take();
        let write = async move {
            let r = stdin.write_all(contents).await;
            let _ = stdin.shutdown().await;
            r
        };
        let (written, err) = tokio::join!(write, read_all(stderr));
        let status = child.wait().await;
        let err = String::from_utf8_lossy(&err).trim().to_string();
        let why = |what: String| {
            if err.is_empty() {
                what
            } else {
                format!("{what}: {err}")
            }
        };
        match status {
            Ok(s) if s.success() && written.is_ok() => Ok(()),
            Ok(s) => Err(why(format!(
                "copy to {}:{path} failed (exit status {})",
                self.target.name,
                s.code().unwrap_or(-1)
            ))),
            Err(e) => Err(why(format!(
                "copy to {}:{path} failed: {}",
                self.target.name,
                chain(&e)
            ))),
        }
    }

    fn nonce(&self) -> u64 {
        self.seed
            .hash_one(self.calls.fetch_add(1, Ordering::Relaxed))
    }

    /// The master, connecting if there is none or if `stale` names the
    /// current one (it died). Callers that waited while another one's
    /// attempt failed get that failure instead of trying again.
    async fn master(&self, stale: Option<u64>) -> Result<Master, String> {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut st = self.master.lock().await;
        if let Some(m) = &st.current {
            if Some(m.generation) != stale {
                return Ok(m.clone());
            }
        }
        if st.attempts != seen {
            if let Some(e) = &st.last_error {
                return Err(e.clone());
            }
        }
        st.current = None;
        st.last_error = None;
        st.attempts += 1;
        self.attempts.store(st.attempts, Ordering::Release);
        let generation = st.attempts;
        match self.launch().await {
            Ok(session) => {
                let m = Master {
                    session: Arc::new(session),
                    generation,
                };
                st.current = Some(m.clone());
                st.last_error = None;
                Ok(m)
            }
            Err(e) => {
                st.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Starts a master `ssh` in a private directory; returns once it is
    /// connected and authenticated (`ssh -f` forks then).
    async fn launch(&self) -> Result<Session, String> {
        let dir = tempfile::Builder::new()
            .prefix("concerto-ssh-")
            .tempdir()
            .map_err(|e| format!("cannot create a directory for the control socket: {e}"))?;
        let ctl = dir.path().join("master");
        let log = dir.path().join("log");
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(master_args(&self.target, &ctl, &log, self.connect_timeout))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let logged = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
                .collect();
            lines.join("; ")
        };
        let status = match tokio::time::timeout(self.connect_timeout, cmd.status()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(format!("cannot run ssh: {e}")),
            Err(_) => {
                let l = logged();
                let why = format!(
                    "no connection after {:.1}s{}{l}",
                    self.connect_timeout.as_secs_f64(),
                    if l.is_empty() { "" } else { ": " }
                );
                // Timed out just as it forked: stop the master (dropping a
                // session sends it the stop request).
                if ctl.exists() {
                    drop(Session::new_native_mux(dir));
                }
                return Err(why);
            }
        };
        if !status.success() {
            let l = logged();
            return Err(if l.is_empty() {
                format!("ssh exited with {status}")
            } else {
                l
            });
        }
        let session = Session::new_native_mux(dir);
        match tokio::time::timeout(self.connect_timeout, session.check()).await {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(format!(
                "the master connection does not answer: {}",
                chain(&e)
            )),
            Err(_) => Err("the master connection does not answer".into()),
        }
    }

    /// Opens a channel running `cmdline` (stdin and stdout piped or null,
    /// stderr piped), on a new master if
    /// the current one turns out dead. `armed` holds the master while a
    /// command may be running on it: from before the channel opens (if this
    /// future is dropped meanwhile, the command may have started; the kill
    /// script copes with a wrapper that has not started yet).
    async fn spawn(
        &self,
        cmdline: &str,
        stdin_piped: bool,
        stdout_piped: bool,
        armed: &mut Option<Master>,
    ) -> Result<openssh::Child<Arc<Session>>, Status> {
        let mut master = self.master(None).await.map_err(Status::Unreachable)?;
        let mut retried = false;
        let pipe = |piped: bool| if piped { Stdio::piped() } else { Stdio::null() };
        loop {
            *armed = Some(master.clone());
            let r = Session::to_raw_command(master.session.clone(), cmdline)
                .stdin(pipe(stdin_piped))
                .stdout(pipe(stdout_piped))
                .stderr(Stdio::piped())
                .spawn()
                .await;
            if r.is_err() {
                *armed = None;
            }
            match r {
                Ok(child) => return Ok(child),
                Err(e) if !retried && master.session.check().await.is_err() => {
                    tracing::debug!(host = %self.target.name, error = %chain(&e), "master gone; reconnecting");
                    retried = true;
                    master = self
                        .master(Some(master.generation))
                        .await
                        .map_err(Status::Unreachable)?;
                }
                Err(e) => {
                    return Err(Status::Failed(format!(
                        "cannot start the command on {}: {}",
                        self.target.name,
                        chain(&e)
                    )))
                }
            }
        }
    }

    /// Runs `cmdline`; returns the status and the raw output. Kills the
    /// remote command if dropped before it ends.
    async fn run(&self, cmdline: &str, nonce: u64) -> Result<(Status, Vec<u8>, Vec<u8>), Status> {
        let mut guard = KillGuard {
            ssh: self,
            nonce,
            master: None,
        };
        let mut child = self.spawn(cmdline, false, true, &mut guard.master).await?;
        let (stdout, stderr) = tokio::join!(
            read_all(child.stdout().take()),
            read_all(child.stderr().take())
        );
        let waited = child.wait().await;
        guard.master = None;
        let status = match waited {
            Ok(s) => match s.code() {
                Some(c) => Status::Exited(c),
                None => Status::Killed,
            },
            // The crate reports exit status 127 as an error.
            Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                Status::Exited(127)
            }
            // No exit status: killed by a signal, or the connection is gone.
            Err(openssh::Error::RemoteProcessTerminated) => Status::Killed,
            Err(e) => Status::Failed(format!(
                "lost the command on {}: {}",
                self.target.name,
                chain(&e)
            )),
        };
        Ok((status, stdout, stderr))
    }

    /// Kills the remote command `nonce` from a task (drop cannot wait).
    fn spawn_kill(&self, master: Master, nonce: u64) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(host = %self.target.name, "no runtime: a cancelled command is left running");
            return;
        };
        let cmdline = remote_command(&self.target, &kill_script(nonce, &self.dir));
        let slots = self.kill_slots.clone();
        // The kill script may wait 2 s for a wrapper that has not started.
        let limit = self.connect_timeout + Duration::from_secs(3);
        let host = self.target.name.clone();
        let task = rt.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let mut cmd = Session::to_raw_command(master.session.clone(), &cmdline);
            let run = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            match tokio::time::timeout(limit, run).await {
                Ok(Ok(s)) if s.success() => {}
                Ok(Ok(s)) => tracing::warn!(%host, "killing a cancelled command: {s}"),
                Ok(Err(e)) => tracing::warn!(%host, "killing a cancelled command: {}", chain(&e)),
                Err(_) => tracing::warn!(%host, "killing a cancelled command: timed out"),
            }
        });
        let mut kills = self.kills.lock().unwrap();
        kills.retain(|h| !h.is_finished());
        kills.push(task);
    }
}

/// Kills the remote command when dropped while armed (cancellation,
/// timeout); disarmed once it has ended by itself.
struct KillGuard<'a> {
    ssh: &'a Ssh,
    nonce: u64,
    master: Option<Master>,
}

impl Drop for KillGuard<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.master.take() {
            self.ssh.spawn_kill(m, self.nonce);
        }
    }
}

async fn read_all<R: AsyncRead + Unpin>(r: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = r {
        let _ = r.read_to_end(&mut buf).await;
    }
    buf
}

/// An error and its sources, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Connection for Ssh {
    fn host(&self) -> &str {
        &self.target.name
    }

    fn copy<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(Ssh::copy(self, path, contents, mode))
    }

    fn exec(&self, req: Request) -> BoxFuture<'_, Reply> {
        Box::pin(async move {
            let nonce = self.nonce();
            let (script, marker) = wrap(&req, nonce, &self.dir);
            let cmdline = remote_command(&self.target, &script);
            self.dir_used.store(true, Ordering::Release);
            let _slot = self.slots.acquire().await.expect("never closed");
            let run = self.run(&cmdline, nonce);
            let done = match req.timeout {
                Some(d) => match tokio::time::timeout(d, run).await {
                    Ok(r) => r,
                    Err(_) => return Reply::failed(Status::TimedOut(d)),
                },
                None => run.await,
            };
            match done {
                Ok((status, out, err)) => {
                    let raw = String::from_utf8_lossy(&out);
                    let (stdout, data) = unwrap_output(&raw, &marker);
                    Reply {
                        status,
                        stdout,
                        stderr: String::from_utf8_lossy(&err).into_owned(),
                        data,
                    }
                }
                Err(status) => Reply::failed(status),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn args_split_like_python_shlex() {
        let ok = |s: &str| split_args(s).unwrap();
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("  -o  A=b\t-F /x/y "), ["-o", "A=b", "-F", "/x/y"]);
        assert_eq!(
            ok(r#"-o ProxyCommand="ssh -W %h:%p -q user@gw" -J 'a b'"#),
            ["-o", "ProxyCommand=ssh -W %h:%p -q user@gw", "-J", "a b"]
        );
        assert_eq!(
            ok(r#"a\ b "c\"d\x" 'e\f' '' """#),
            ["a b", r#"c"d\x"#, r"e\f", "", ""]
        );
        assert_eq!(ok("x'y'\"z\""), ["xyz"]);
        assert!(split_args("-o 'A=b").is_err());
        assert!(split_args("-o \"A=b").is_err());
        assert!(split_args("a\\").is_err());
    }

    #[test]
    fn inventory_vars_map_to_a_target() {
        let t = from_inventory_vars(
            "h1",
            &vars(json!({
                "ansible_host": "127.0.0.11",
                "ansible_port": 2222,
                "ansible_user": "root",
                "ansible_ssh_private_key_file": "/k/id",
                "ansible_ssh_common_args": "-o UserKnownHostsFile=/k/known_hosts -o StrictHostKeyChecking=yes -J 'jump host'",
                "ansible_ssh_extra_args": "-F /k/cfg",
                "ansible_become": "yes",
                "ansible_become_user": "app",
            })),
        );
        assert_eq!(
            t,
            SshTarget {
                name: "h1".into(),
                address: "127.0.0.11".into(),
                port: Some(2222),
                user: Some("root".into()),
                key: Some("/k/id".into()),
                ssh_args: [
                    "-o",
                    "UserKnownHostsFile=/k/known_hosts",
                    "-o",
                    "StrictHostKeyChecking=yes",
                    "-J",
                    "jump host",
                    "-F",
                    "/k/cfg"
                ]
                .map(String::from)
                .to_vec(),
                config_file: None,
                known_hosts: None,
                r#become: true,
                become_user: Some("app".into()),
            }
        );
        // Defaults, old spellings, a port as text, booleans as Ansible reads them.
        let t = from_inventory_vars(
            "web",
            &vars(
                json!({"ansible_ssh_host": "10.0.0.1", "ansible_ssh_port": "22", "ansible_ssh_user": "u", "ansible_become": "False"}),
            ),
        );
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_deref(), t.r#become),
            ("10.0.0.1", Some(22), Some("u"), false)
        );
        let t = from_inventory_vars("web", &Map::new());
        assert_eq!(
            (t.address.as_str(), t.port, t.r#become),
            ("web", None, false)
        );
        assert!(from_inventory_vars("x", &vars(json!({"ansible_become": true}))).r#become);
        assert!(from_inventory_vars("x", &vars(json!({"ansible_become": 1}))).r#become);
    }

    #[test]
    fn connection_type_and_errors() {
        let c = |v: Value| connection_for("h", &vars(v));
        assert_eq!(
            c(json!({"ansible_connection": "local"})),
            Ok(HostConnection::Local)
        );
        assert!(matches!(
            c(json!({"ansible_connection": "ssh"})),
            Ok(HostConnection::Ssh(_))
        ));
        assert!(matches!(c(json!({})), Ok(HostConnection::Ssh(_))));
        assert!(c(json!({"ansible_connection": "winrm"}))
            .unwrap_err()
            .contains("winrm"));
        assert!(c(json!({"ansible_become_method": "su"}))
            .unwrap_err()
            .contains("su"));
        assert!(c(json!({"ansible_ssh_common_args": "-o 'x"}))
            .unwrap_err()
            .contains("quote"));
        assert!(c(json!({"ansible_port": "ssh"})).is_err());
    }

    #[test]
    fn become_command_lines() {
        let mut t = SshTarget {
            user: Some("deploy".into()),
            ..Default::default()
        };
        assert_eq!(
            remote_command(&t, "echo 'x'"),
            r"exec sh -c 'echo '\''x'\'''"
        );
        t.r#become = true;
        assert_eq!(
            remote_command(&t, "id"),
            "exec sudo -H -n -u 'root' sh -c 'id'"
        );
        t.become_user = Some("app".into());
        assert_eq!(
            remote_command(&t, "id"),
            "exec sudo -H -n -u 'app' sh -c 'id'"
        );
        // Already the become user: no sudo.
        t.user = Some("app".into());
        assert_eq!(remote_command(&t, "id"), "exec sh -c 'id'");
        t.user = Some("root".into());
        t.become_user = None;
        assert_eq!(remote_command(&t, "id"), "exec sh -c 'id'");
        // Login user unknown here: the remote shell decides.
        t.user = None;
        assert_eq!(
            remote_command(&t, "id"),
            r#"concerto_s='id'; if [ "$(id -un)" = 'root' ]; then exec sh -c "$concerto_s"; fi; exec sudo -H -n -u 'root' sh -c "$concerto_s""#
        );
    }

    #[tokio::test]
    async fn become_decision_runs_in_a_real_shell() {
        // The "login user unknown" form, run by sh here as whoever we are.
        let me = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_string();
        let t = SshTarget {
            r#become: true,
            become_user: Some(me),
            ..Default::default()
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(remote_command(&t, "echo \"it's $((1+1))\""))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's 2\n");
    }

    #[test]
    fn master_command_line() {
        let t = SshTarget {
            name: "h1".into(),
            address: "127.0.0.11".into(),
            port: Some(2222),
            user: Some("root".into()),
            key: Some("/k/id".into()),
            ssh_args: vec![
                "-o".into(),
                "ConnectTimeout=3".into(),
                "-J".into(),
                "gw".into(),
            ],
            config_file: Some("/k/cfg".into()),
            known_hosts: Some("/k/kh".into()),
            ..Default::default()
        };
        let a: Vec<String> = master_args(
            &t,
            Path::new("/c/m"),
            Path::new("/c/log"),
            Duration::from_millis(1500),
        )
        .into_iter()
        .map(|s| s.into_string().unwrap())
        .collect();
        assert_eq!(
            a.join(" "),
            "-M -f -N -S /c/m -E /c/log -o ControlPersist=yes -o BatchMode=yes -p 2222 -l root \
             -i /k/id -o IdentitiesOnly=yes -F /k/cfg -o UserKnownHostsFile=/k/kh \
             -o ConnectTimeout=3 -J gw \
             -o ConnectTimeout=2 -o ServerAliveInterval=15 -o ServerAliveCountMax=3 -- 127.0.0.11"
        );
    }

    #[tokio::test]
    async fn copy_script_is_atomic_and_checks_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("it's a file");
        let run = |len: usize, input: &'static [u8]| {
            let script = copy_script(path.to_str().unwrap(), len, 0o640);
            async move {
                let mut child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(script)
                    .stdin(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(input).await.unwrap();
                drop(stdin);
                child.wait_with_output().await.unwrap()
            }
        };
        let out = run(6, b"hello\n").await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        // Cut short: the old file stays, no temporary file is left.
        let out = run(100, b"partial").await;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("got 7 of 100 bytes"));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

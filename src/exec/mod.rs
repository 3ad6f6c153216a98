//! Where actions run. A [`Connection`] executes a shell command on one host
//! (the local machine, or a host over SSH) and reports its output and the
//! data-port values it published. The engine only sees this trait.
//!
//! Every command runs inside the same small shell wrapper, locally and
//! remotely: it exports the environment (quoted, so it does not depend on
//! `AcceptEnv`), points `$CONCERTO_OUTPUT` at a temporary file, runs the
//! user's command with `sh -c`, and prints the file after a marker line, so
//! data values come back on stdout whatever the transport.
//!
//! A remote command cannot be killed through the transport (the SSH
//! multiplexing protocol has no "signal" message, and closing a channel
//! leaves a non-tty command running). So a remote wrapper also records its
//! process group id in a file named after the call's nonce
//! ([`wrap_killable`]), and [`kill_script`], run over another session on the
//! same host, kills that group.

pub mod local;
pub mod ssh;
pub mod template;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A command to run.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub command: String,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Exited(i32),
    /// Killed by a signal (or the remote side vanished mid-command).
    Killed,
    TimedOut(Duration),
    /// The host could not be reached at all.
    Unreachable(String),
    /// Anything else that kept the command from running.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: Status,
    pub stdout: String,
    pub stderr: String,
    /// `NAME=VALUE` lines the command appended to `$CONCERTO_OUTPUT`.
    pub data: Vec<(String, String)>,
}

impl Reply {
    pub fn failed(status: Status) -> Reply {
        Reply {
            status,
            stdout: String::new(),
            stderr: String::new(),
            data: Vec::new(),
        }
    }

    /// A success with no output (a copy).
    pub fn done() -> Reply {
        Reply::failed(Status::Exited(0))
    }

    /// `None` when the command succeeded, else why it did not.
    pub fn error(&self) -> Option<String> {
        match &self.status {
            Status::Exited(0) => None,
            Status::Exited(c) => Some(format!("exit status {c}")),
            Status::Killed => Some("killed by a signal".into()),
            Status::TimedOut(d) => Some(format!("timed out after {:.1}s", d.as_secs_f64())),
            Status::Unreachable(e) => Some(format!("unreachable: {e}")),
            Status::Failed(e) => Some(e.clone()),
        }
    }
}

/// One host's way of running commands. Dropping the future returned by
/// `exec` must cancel the command (kill it), so Ctrl-C and timeouts leave
/// nothing running.
pub trait Connection: Send + Sync {
    /// The host's name, for reports.
    fn host(&self) -> &str;
    fn exec(&self, req: Request) -> BoxFuture<'_, Reply>;
    /// Writes `contents` to `path` with permissions `mode`, atomically
    /// (never seen half-written).
    fn copy<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Quote for a POSIX shell: `'...'` with embedded quotes escaped.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The wrapper script for `req`, and the marker that separates the user's
/// stdout from the data block. The marker is unique per call.
pub fn wrap(req: &Request, nonce: u64) -> (String, String) {
    wrap_impl(req, nonce, false)
}

/// [`wrap`] for a command that is killed from elsewhere: the script first
/// records its process group id in [`group_file`]`(nonce)` (refusing to
/// overwrite an existing file), exits at once if [`kill_script`] already ran
/// for this nonce, and removes the file when it ends. `nonce` must be
/// unpredictable (the file is in the shared temporary directory).
pub fn wrap_killable(req: &Request, nonce: u64) -> (String, String) {
    wrap_impl(req, nonce, true)
}

/// The file (a shell word, to be expanded by the remote shell) where a
/// [`wrap_killable`] script records its process group id.
pub fn group_file(nonce: u64) -> String {
    format!("\"${{TMPDIR:-/tmp}}/concerto-{nonce:016x}.pgid\"")
}

/// A script that kills the process group of the [`wrap_killable`] script
/// with this nonce (run on the same host, as the same user), and removes
/// its `$CONCERTO_OUTPUT` file. If the wrapper has not started yet, it
/// leaves a `.cancel` file for two seconds, which makes a wrapper that
/// starts meanwhile exit at once.
pub fn kill_script(nonce: u64) -> String {
    format!(
        r#"g={g}
k() {{
  # The file may exist a moment before its contents do.
  i=0
  while [ -f "$g" ] && [ -O "$g" ] && [ $i -lt 40 ]; do
    pg= out=
    {{ read -r pg; read -r out; }} < "$g"
    if [ -n "$out" ]; then
      [ "$pg" -gt 1 ] 2>/dev/null && kill -9 -"$pg" 2>/dev/null
      case $out in /*) rm -f "$out" ;; esac
      break
    fi
    sleep 0.05 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  rm -f "$g"
}}
if [ -f "$g" ]; then k; exit 0; fi
: > "$g.cancel" || exit 1
if [ -f "$g" ]; then k; rm -f "$g.cancel"; exit 0; fi
sleep 2
rm -f "$g.cancel"
"#,
        g = group_file(nonce)
    )
}

fn wrap_impl(req: &Request, nonce: u64, killable: bool) -> (String, String) {
    let marker = format!("__CONCERTO_DATA_{nonce:016x}__");
    let mut s = String::new();
    if killable {
        // Named before the environment is set (it may change TMPDIR).
        s.push_str(&format!("concerto_g={}\n", group_file(nonce)));
    }
    for (k, v) in &req.env {
        // Names come from port names: keep them shell-safe.
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            s.push_str(&format!("export {k}={}\n", shell_quote(v)));
        }
    }
    s.push_str("CONCERTO_OUTPUT=$(mktemp) || exit 125\nexport CONCERTO_OUTPUT\n");
    if killable {
        // The group and the output file, in one write, never over an
        // existing file. `$$` is the group id when the login shell exec'd
        // this one (sshd makes each command a session leader); /proc says
        // for sure, e.g. under sudo.
        s.push_str(
            r#"concerto_pg=$$
if [ -r /proc/$$/stat ] && read -r concerto_st < /proc/$$/stat; then concerto_st=${concerto_st##*) }; set -- $concerto_st; concerto_pg=$3; fi
(set -C; printf '%s\n%s\n' "$concerto_pg" "$CONCERTO_OUTPUT" > "$concerto_g") 2>/dev/null || { rm -f "$CONCERTO_OUTPUT"; exit 125; }
if [ -e "$concerto_g.cancel" ]; then rm -f "$concerto_g" "$CONCERTO_OUTPUT"; exit 125; fi
"#,
        );
    }
    s.push_str(&format!("sh -c {} </dev/null\n", shell_quote(&req.command)));
    s.push_str("rc=$?\n");
    s.push_str(&format!(
        "printf '\\n%s\\n' {}\ncat \"$CONCERTO_OUTPUT\"\nrm -f \"$CONCERTO_OUTPUT\"\n",
        shell_quote(&marker)
    ));
    if killable {
        s.push_str("rm -f \"$concerto_g\"\n");
    }
    s.push_str("exit $rc\n");
    (s, marker)
}

/// Split the wrapper's stdout into the user's stdout and the data values.
pub fn unwrap_output(stdout: &str, marker: &str) -> (String, Vec<(String, String)>) {
    let needle = format!("\n{marker}\n");
    match stdout.rfind(&needle) {
        Some(at) => {
            let data = stdout[at + needle.len()..]
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .collect();
            (stdout[..at].to_string(), data)
        }
        // The wrapper never reached its end (killed): all of it is output.
        None => (stdout.to_string(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes_and_dollars() {
        assert_eq!(shell_quote("a'b $x"), r"'a'\''b $x'");
    }

    #[test]
    fn the_local_wrapper_records_no_group() {
        let req = Request {
            command: "true".into(),
            env: vec![("A".into(), "x".into())],
            timeout: None,
        };
        let (plain, marker) = wrap(&req, 7);
        assert_eq!(marker, "__CONCERTO_DATA_0000000000000007__");
        assert_eq!(
            plain,
            r#"export A='x'
CONCERTO_OUTPUT=$(mktemp) || exit 125
export CONCERTO_OUTPUT
sh -c 'true' </dev/null
rc=$?
printf '\n%s\n' '__CONCERTO_DATA_0000000000000007__'
cat "$CONCERTO_OUTPUT"
rm -f "$CONCERTO_OUTPUT"
exit $rc
"#
        );
        let (killable, _) = wrap_killable(&req, 7);
        assert!(killable.contains("concerto-0000000000000007.pgid"));
    }

    /// The remote mechanism, run here: a killable wrapper started in a
    /// session of its own (as sshd starts commands) is killed whole by the
    /// kill script run from elsewhere; a kill that comes first stops the
    /// wrapper as soon as it starts.
    #[tokio::test]
    async fn kill_script_kills_the_wrappers_group() {
        let tmp = tempfile::tempdir().unwrap();
        let nonce = 0x5eed_0000_0000_0001;
        let req = Request {
            command: "sleep 30 & sleep 31; echo never".into(),
            ..Default::default()
        };
        let (script, _) = wrap_killable(&req, nonce);
        let mut child = tokio::process::Command::new("setsid")
            .args(["sh", "-c", &script])
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let file = tmp.path().join(format!("concerto-{nonce:016x}.pgid"));
        for _ in 0..200 {
            // Two lines: the group, then the output file.
            if std::fs::read_to_string(&file).is_ok_and(|s| s.lines().count() == 2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let recorded = std::fs::read_to_string(&file).unwrap();
        let pgid: i32 = recorded.lines().next().unwrap().parse().unwrap();
        assert_eq!(Some(pgid as u32), child.id());
        let kill = std::process::Command::new("sh")
            .arg("-c")
            .arg(kill_script(nonce))
            .env("TMPDIR", tmp.path())
            .status()
            .unwrap();
        assert!(kill.success());
        let out = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
            .await
            .expect("the wrapper survived the kill")
            .unwrap();
        assert_eq!(out.code(), None);
        // Killed children are zombies until their new parent reaps them.
        let mut gone = false;
        for _ in 0..200 {
            // SAFETY: kill(2) with signal 0 only checks whether the group exists.
            if unsafe { libc::kill(-pgid, 0) } == -1 {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(gone, "the group survived");
        assert!(!file.exists());

        // Killed before it started: the wrapper exits at once.
        let nonce = nonce + 1;
        let killer = std::process::Command::new("sh")
            .arg("-c")
            .arg(kill_script(nonce))
            .env("TMPDIR", tmp.path())
            .spawn()
            .unwrap();
        let cancel = tmp
            .path()
            .join(format!("concerto-{nonce:016x}.pgid.cancel"));
        while !cancel.exists() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let (script, _) = wrap_killable(&req, nonce);
        let started = std::time::Instant::now();
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("TMPDIR", tmp.path())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(125));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let killer = killer.wait_with_output().unwrap();
        assert!(killer.status.success());

        // The killer finds the file before its contents: it waits for them.
        let nonce = nonce + 1;
        let mut victim = std::process::Command::new("setsid")
            .args(["sleep", "30"])
            .spawn()
            .unwrap();
        let file = tmp.path().join(format!("concerto-{nonce:016x}.pgid"));
        let out = tmp.path().join("out");
        std::fs::write(&out, "").unwrap();
        std::fs::write(&file, "").unwrap();
        let killer = std::process::Command::new("sh")
            .arg("-c")
            .arg(kill_script(nonce))
            .env("TMPDIR", tmp.path())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        std::fs::write(&file, format!("{}\n{}\n", victim.id(), out.display())).unwrap();
        assert!(killer.wait_with_output().unwrap().status.success());
        assert_eq!(victim.wait().unwrap().code(), None, "killed by a signal");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn output_and_data_are_split_at_the_marker() {
        let (out, data) = unwrap_output(
            "hello\nworld\n\n__M__\nip=1.2.3.4\nbad line\nx=a=b\n",
            "__M__",
        );
        assert_eq!(out, "hello\nworld\n");
        assert_eq!(
            data,
            vec![("ip".into(), "1.2.3.4".into()), ("x".into(), "a=b".into())]
        );
        let (out, data) = unwrap_output("cut short", "__M__");
        assert_eq!((out.as_str(), data.len()), ("cut short", 0));
    }
}

//! Where actions run. A [`Connection`] executes a shell command on one host
//! (the local machine, or a host over SSH) and reports its output and the
//! data-port values it published. The engine only sees this trait.
//!
//! Every command runs inside the same small shell wrapper ([`wrap`]),
//! locally and remotely: it exports the environment (quoted, so it does not
//! depend on `AcceptEnv`), points `$CONCERTO_OUTPUT` at a file, runs the
//! user's command with `sh -c`, and prints the file after a marker line, so
//! data values come back on stdout whatever the transport.
//!
//! The wrapper costs no process and no file of its own when the command
//! publishes no data: everything but the user's `sh -c` is a shell builtin.
//! Only a command that wrote to `$CONCERTO_OUTPUT` costs more: the file is
//! printed with a `read` loop (no `cat`), then removed (one `rm`). Where
//! starting a process is slow (in a VM every exec runs glibc's CPU
//! detection, whose `cpuid`s trap) each one costs ~0.6 ms of CPU, and
//! creating and removing a file in an ext4 `/tmp` about as much: with the
//! earlier wrapper (`mktemp`, `cat`, `rm`, and a group file removed by a
//! second `rm`) a command over SSH took twice the machine time and twice
//! the latency (`docs/test-hosts.md`).
//!
//! `$CONCERTO_OUTPUT` is `<dir>/<nonce>.out`, not created
//! in advance: the user's first `>>` creates it. That is safe because
//! `<dir>` is private: one directory per executor (per host for SSH),
//! mode 0700, which the wrapper creates if missing and otherwise checks is
//! a directory, not a symlink, and ours ([`DIR_CHECK`]). Nobody else can
//! create, replace or read anything in it (nor, in a sticky `/tmp`, rename
//! or remove it), so no symlink or file can be planted at
//! `$CONCERTO_OUTPUT`'s name, to be followed or read back as data.
//! The nonce alone would not do: it is unpredictable, but no secret once
//! the command runs, since the script that holds it is the argument list of
//! a process every user of the host can see. Someone who plants something
//! at the directory's own name first (seeing it in the first command's
//! arguments) only makes the commands fail (status 125).
//!
//! A remote command cannot be killed through the transport (the SSH
//! multiplexing protocol has no "signal" message, and closing a channel
//! leaves a non-tty command running). [`kill_script`], run over another
//! session on the same host, finds the wrapper by its marker (unique per
//! call) in the command lines of the user's processes (`/proc`, else
//! `ps`) and kills its
//! process group; sshd makes every command a session leader, so that is the
//! whole command. It also removes the command's output file, and leaves a
//! `.cancel` file for a wrapper that has not started yet, which then exits
//! at once.

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

/// The shell test that `$concerto_d` (set by the scripts) is usable: a
/// directory, not a symlink, ours; made first (mode 0700) if missing, which
/// costs one `mkdir` per executor and host.
pub const DIR_CHECK: &str = r#"[ -d "$concerto_d" ] || mkdir -m 700 "$concerto_d" 2>/dev/null
[ -d "$concerto_d" ] && [ ! -L "$concerto_d" ] && [ -O "$concerto_d" ]"#;

/// A private directory (see the module documentation) in the temporary
/// directory of the host: a shell word, expanded by the host's shell.
/// `id` makes it unique: take it from an unpredictable source.
pub fn private_dir(id: u64) -> String {
    format!("\"${{TMPDIR:-/tmp}}/concerto-{id:016x}\"")
}

/// The marker that separates the user's stdout from the data block. Unique
/// per call: the kill script finds the wrapper by it.
pub fn marker(nonce: u64) -> String {
    format!("__CONCERTO_DATA_{nonce:016x}__")
}

/// The wrapper script for `req`, and its marker. `dir` is the executor's
/// private directory, a shell word ([`private_dir`], or a quoted path);
/// `nonce` must be unique per call on the host.
pub fn wrap(req: &Request, nonce: u64, dir: &str) -> (String, String) {
    let marker = marker(nonce);
    // First, before the environment (it may change TMPDIR).
    let mut s = format!("concerto_d={dir}\n{DIR_CHECK} || exit 125\n");
    s.push_str(&format!(
        "if [ -e \"$concerto_d/{nonce:016x}.cancel\" ]; then exit 125; fi\n"
    ));
    for (k, v) in &req.env {
        // Names come from port names: keep them shell-safe, and off the
        // wrapper's own variables.
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.starts_with("concerto_") {
            s.push_str(&format!("export {k}={}\n", shell_quote(v)));
        }
    }
    // After the environment, which cannot change it.
    s.push_str(&format!(
        "CONCERTO_OUTPUT=\"$concerto_d/{nonce:016x}.out\"\nexport CONCERTO_OUTPUT\n"
    ));
    s.push_str(&format!("sh -c {} </dev/null\n", shell_quote(&req.command)));
    s.push_str("rc=$?\n");
    // The data, if any, with builtins (no `cat`); `rm` only then.
    s.push_str(&format!(
        r#"printf '\n%s\n' {}
if [ -e "$CONCERTO_OUTPUT" ]; then
  while IFS= read -r concerto_l || [ -n "$concerto_l" ]; do printf '%s\n' "$concerto_l"; done < "$CONCERTO_OUTPUT"
  rm -f "$CONCERTO_OUTPUT"
fi
exit $rc
"#,
        shell_quote(&marker)
    ));
    (s, marker)
}

/// A script that kills the process group of the [`wrap`] script `nonce`
/// whose private directory is `dir` (run on the same host, as the same
/// user) and removes its output file. It finds the wrapper by its marker
/// in `/proc/*/cmdline` (or `ps` where there is no `/proc`), only among
/// the processes of the user that runs it. If no wrapper runs (not started
/// yet, or over), it leaves a `.cancel` file for two seconds, which makes a
/// wrapper that starts meanwhile exit at once.
pub fn kill_script(nonce: u64, dir: &str) -> String {
    format!(
        r#"concerto_d={dir}
n={nonce:016x}
{DIR_CHECK} || exit 1
c="$concerto_d/$n.cancel"
# Assembled here, so that this script's own command line does not hold it;
# grep reads it from $c, so that its command line does not either.
m=__CONCERTO_; m=${{m}}DATA_${{n}}__
printf '%s\n' "$m" > "$c" || exit 1
pgid() {{
  st=
  read -r st 2>/dev/null < "/proc/$1/stat" || return 1
  st=${{st##*) }}
  set -- $st
  echo "$3"
}}
me=$(pgid $$)
k() {{
  hit=1
  if [ -d /proc/self ]; then
    for f in $(grep -lsFf "$c" /proc/[0-9]*/cmdline); do
      p=${{f#/proc/}}; p=${{p%/cmdline}}
      [ -O "/proc/$p" ] || continue
      pg=$(pgid "$p") || continue
      [ "$pg" -gt 1 ] 2>/dev/null && [ "$pg" != "$me" ] && kill -9 -"$pg" 2>/dev/null && hit=0
    done
  else
    u=$(id -u)
    for pg in $(ps -A -ww -o uid= -o pgid= -o args= 2>/dev/null | grep -F -f "$c" | while read -r a b r; do [ "$a" = "$u" ] && echo "$b"; done); do
      [ "$pg" -gt 1 ] 2>/dev/null && kill -9 -"$pg" 2>/dev/null && hit=0
    done
  fi
  return $hit
}}
if ! k; then
  # Not running: not started yet (it will see $c and exit), or over.
  sleep 2
fi
rm -f "$c" "$concerto_d/$n.out"
"#
    )
}

/// A script that removes the private directory `dir` (and what killed
/// commands may have left in it), if it is ours.
pub fn remove_dir_script(dir: &str) -> String {
    format!(
        r#"concerto_d={dir}
if [ -d "$concerto_d" ] && [ ! -L "$concerto_d" ] && [ -O "$concerto_d" ]; then rm -rf "$concerto_d"; fi
"#
    )
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
        let (script, marker) = wrap(&req, 7, &private_dir(9));
        assert_eq!(marker, "__CONCERTO_DATA_0000000000000007__");
        assert_eq!(
            script,
            r#"concerto_d="${TMPDIR:-/tmp}/concerto-0000000000000009"
[ -d "$concerto_d" ] || mkdir -m 700 "$concerto_d" 2>/dev/null
[ -d "$concerto_d" ] && [ ! -L "$concerto_d" ] && [ -O "$concerto_d" ] || exit 125
if [ -e "$concerto_d/0000000000000007.cancel" ]; then exit 125; fi
export A='x'
CONCERTO_OUTPUT="$concerto_d/0000000000000007.out"
export CONCERTO_OUTPUT
sh -c 'true' </dev/null
rc=$?
printf '\n%s\n' '__CONCERTO_DATA_0000000000000007__'
if [ -e "$CONCERTO_OUTPUT" ]; then
  while IFS= read -r concerto_l || [ -n "$concerto_l" ]; do printf '%s\n' "$concerto_l"; done < "$CONCERTO_OUTPUT"
  rm -f "$CONCERTO_OUTPUT"
fi
exit $rc
"#
        );
        // Nothing but the user's `sh -c` runs unless the directory is
        // missing (`mkdir`, once) or the command published data (`rm`).
        let externals: Vec<&str> = script
            .lines()
            .filter(|l| {
                ["mktemp", "cat ", "rm ", "mkdir ", "$(", "`"]
                    .iter()
                    .any(|x| l.contains(x))
            })
            .collect();
        assert_eq!(
            externals,
            [
                r#"[ -d "$concerto_d" ] || mkdir -m 700 "$concerto_d" 2>/dev/null"#,
                r#"  rm -f "$CONCERTO_OUTPUT""#
            ]
        );
        // The kill script never holds the marker itself.
        assert!(!kill_script(7, &private_dir(9)).contains(&marker));
        // The environment cannot move the wrapper's files.
        let req = Request {
            command: "true".into(),
            env: vec![
                ("concerto_d".into(), "/etc".into()),
                ("CONCERTO_OUTPUT".into(), "/etc/passwd".into()),
            ],
            timeout: None,
        };
        let (script, _) = wrap(&req, 7, &private_dir(9));
        assert!(!script.contains("export concerto_d"));
        let exported = script.find("export CONCERTO_OUTPUT='/etc/passwd'").unwrap();
        assert!(script[exported..].contains("\nCONCERTO_OUTPUT=\"$concerto_d/"));
    }

    /// Runs `script` with `shell` (`busybox` means `busybox sh`).
    fn run_in(shell: &str, script: &str, tmp: &std::path::Path) -> std::process::Output {
        let mut c = std::process::Command::new(shell);
        if shell == "busybox" {
            c.arg("sh");
        }
        c.arg("-c").arg(script).env("TMPDIR", tmp).output().unwrap()
    }

    /// The wrapper in the POSIX shells at hand: data come back (a last line
    /// without a newline too), no file is left, the user's umask and
    /// environment reach the command; the private directory is made 0700,
    /// and a symlink or somebody else's directory at its name is refused.
    #[test]
    fn the_wrapper_runs_in_posix_shells_and_refuses_a_planted_directory() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let shells: Vec<&str> = ["sh", "dash", "bash", "busybox"]
            .into_iter()
            .filter(|s| {
                let mut c = std::process::Command::new(s);
                if *s == "busybox" {
                    c.arg("sh");
                }
                c.args(["-c", ":"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        assert!(shells.contains(&"sh"));
        let umask = run_in("sh", "umask", tmp.path());
        let umask = String::from_utf8_lossy(&umask.stdout).trim().to_string();
        for (i, shell) in shells.iter().enumerate() {
            let id = 0x100 + i as u64;
            let dir = tmp.path().join(format!("concerto-{id:016x}"));
            let req = Request {
                command: r#"umask; echo "a=$V" >> "$CONCERTO_OUTPUT"; printf 'b=no newline' >> "$CONCERTO_OUTPUT"; exit 3"#.into(),
                env: vec![("V".into(), "it's".into())],
                timeout: None,
            };
            let (script, marker) = wrap(&req, 1, &private_dir(id));
            let out = run_in(shell, &script, tmp.path());
            let (stdout, data) = unwrap_output(&String::from_utf8_lossy(&out.stdout), &marker);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{shell}: {stderr}");
            assert_eq!(stdout, format!("{umask}\n"), "{shell}: {stderr}");
            assert_eq!(
                data,
                [
                    ("a".into(), "it's".into()),
                    ("b".into(), "no newline".into())
                ],
                "{shell}"
            );
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{shell}");
            // Nothing left; a command without data never made a file.
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{shell}");
            let (script, marker) = wrap(
                &Request {
                    command: "echo hi".into(),
                    ..Default::default()
                },
                2,
                &private_dir(id),
            );
            let out = run_in(shell, &script, tmp.path());
            let (stdout, data) = unwrap_output(&String::from_utf8_lossy(&out.stdout), &marker);
            assert_eq!(
                (out.status.code(), stdout.as_str(), data.len()),
                (Some(0), "hi\n", 0),
                "{shell}"
            );
            std::fs::remove_dir(&dir).unwrap();

            // Planted at the directory's name: a symlink to a directory of
            // ours, then a directory that is not ours.
            let target = tmp.path().join("target");
            std::fs::create_dir(&target).unwrap();
            std::os::unix::fs::symlink(&target, &dir).unwrap();
            let bad = Request {
                command: "echo ran; echo x=1 >> \"$CONCERTO_OUTPUT\"".into(),
                ..Default::default()
            };
            let (script, _) = wrap(&bad, 3, &private_dir(id));
            let out = run_in(shell, &script, tmp.path());
            assert_eq!(
                (out.status.code(), out.stdout.len()),
                (Some(125), 0),
                "{shell}"
            );
            assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "{shell}");
            std::fs::remove_file(&dir).unwrap();
            std::fs::remove_dir(&target).unwrap();
            std::fs::create_dir(&dir).unwrap();
            // SAFETY: chown(2) on a path this test made; no memory involved.
            let path = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
            if unsafe { libc::geteuid() } == 0 {
                assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
                let out = run_in(shell, &script, tmp.path());
                assert_eq!(
                    (out.status.code(), out.stdout.len()),
                    (Some(125), 0),
                    "{shell}"
                );
            }
            std::fs::remove_dir(&dir).unwrap();
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    /// Waits until `cond`, at most 5 s.
    async fn until(what: &str, mut cond: impl FnMut() -> bool) {
        for _ in 0..500 {
            if cond() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{what}: not within 5 s");
    }

    /// The processes whose arguments, joined by spaces, are `command`
    /// (not the wrappers whose scripts mention it).
    fn pids_of(command: &str) -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| {
                let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let args: Vec<_> = cmd
                    .split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(String::from_utf8_lossy)
                    .collect();
                (args.join(" ") == command).then_some(pid)
            })
            .collect()
    }

    /// The remote mechanism, run here: a wrapper started in a session of
    /// its own (as sshd starts commands) is killed whole by the kill script
    /// run from elsewhere, and another one is left alone; a kill that comes
    /// first stops the wrapper as soon as it starts.
    #[tokio::test]
    async fn kill_script_kills_the_wrappers_group() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = private_dir(0x5eed);
        let files = tmp.path().join("concerto-0000000000005eed");
        let start = |nonce: u64, command: &str| {
            let req = Request {
                command: command.into(),
                ..Default::default()
            };
            let (script, _) = wrap(&req, nonce, &dir);
            tokio::process::Command::new("setsid")
                .args(["sh", "-c", &script])
                .env("TMPDIR", tmp.path())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap()
        };
        let kill = |nonce: u64| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(kill_script(nonce, &dir))
                .env("TMPDIR", tmp.path())
                .spawn()
                .unwrap()
        };
        let nonce = 0x5eed_0000_0000_0001;
        let mut victim = start(
            nonce,
            "echo x=1 >> \"$CONCERTO_OUTPUT\"; sleep 30.11 & sleep 30.12; echo never",
        );
        let mut bystander = start(nonce + 100, "sleep 30.13");
        until("the commands run", || {
            !pids_of("sleep 30.12").is_empty() && !pids_of("sleep 30.13").is_empty()
        })
        .await;
        let started = std::time::Instant::now();
        assert!(kill(nonce).wait().unwrap().success());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "it waited"
        );
        let out = tokio::time::timeout(std::time::Duration::from_secs(5), victim.wait())
            .await
            .expect("the wrapper survived the kill")
            .unwrap();
        assert_eq!(out.code(), None);
        // Killed children are zombies until their new parent reaps them.
        until("the group is gone", || {
            pids_of("sleep 30.11").is_empty() && pids_of("sleep 30.12").is_empty()
        })
        .await;
        assert!(
            !pids_of("sleep 30.13").is_empty(),
            "the other command was killed"
        );
        bystander.start_kill().unwrap();
        bystander.wait().await.unwrap();
        // The killed command's output file is gone, and the cancel file.
        until("the kill script is done", || {
            std::fs::read_dir(&files).unwrap().count() == 0
        })
        .await;

        // Killed before it started: the wrapper exits at once.
        let nonce = nonce + 1;
        let mut killer = kill(nonce);
        let cancel = files.join(format!("{nonce:016x}.cancel"));
        until("the cancel file", || cancel.exists()).await;
        let (script, _) = wrap(
            &Request {
                command: "echo ran".into(),
                ..Default::default()
            },
            nonce,
            &dir,
        );
        let out = run_in("sh", &script, tmp.path());
        assert_eq!((out.status.code(), out.stdout.len()), (Some(125), 0));
        assert!(killer.wait().unwrap().success());
        let left: Vec<_> = std::fs::read_dir(&files)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        // The directory goes with the executor.
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(remove_dir_script(&dir))
            .env("TMPDIR", tmp.path())
            .status()
            .unwrap();
        assert!(st.success() && !files.exists());
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

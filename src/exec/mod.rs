//! Where actions run. A [`Connection`] executes a shell command on one host
//! (the local machine, or a host over SSH) and reports its output and the
//! data-port values it published. The engine only sees this trait.
//!
//! Every command runs inside the same small shell wrapper, locally and
//! remotely: it exports the environment (quoted, so it does not depend on
//! `AcceptEnv`), points `$CONCERTO_OUTPUT` at a temporary file, runs the
//! user's command with `sh -c`, and prints the file after a marker line, so
//! data values come back on stdout whatever the transport.

pub mod local;
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
}

/// Quote for a POSIX shell: `'...'` with embedded quotes escaped.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The wrapper script for `req`, and the marker that separates the user's
/// stdout from the data block. The marker is unique per call.
pub fn wrap(req: &Request, nonce: u64) -> (String, String) {
    let marker = format!("__CONCERTO_DATA_{nonce:016x}__");
    let mut s = String::new();
    for (k, v) in &req.env {
        // Names come from port names: keep them shell-safe.
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            s.push_str(&format!("export {k}={}\n", shell_quote(v)));
        }
    }
    s.push_str("CONCERTO_OUTPUT=$(mktemp) || exit 125\nexport CONCERTO_OUTPUT\n");
    s.push_str(&format!("sh -c {} </dev/null\n", shell_quote(&req.command)));
    s.push_str("rc=$?\n");
    s.push_str(&format!(
        "printf '\\n%s\\n' {}\ncat \"$CONCERTO_OUTPUT\"\nrm -f \"$CONCERTO_OUTPUT\"\nexit $rc\n",
        shell_quote(&marker)
    ));
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

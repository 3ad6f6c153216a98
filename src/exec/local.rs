//! Running commands on this machine.

use super::{unwrap_output, wrap, BoxFuture, Connection, Reply, Request, Status};
use std::sync::atomic::{AtomicU64, Ordering};

/// The local machine. Each command runs in a process group of its own,
/// killed whole when the command is cancelled or times out.
#[derive(Debug, Default)]
pub struct Local {
    calls: AtomicU64,
}

impl Local {
    pub fn new() -> Self {
        Local::default()
    }
}

/// Kills a process group when dropped while armed: on cancellation
/// (the future is dropped) and on timeout. Disarmed when the command exits
/// by itself, so daemons it started in the background live on.
struct GroupGuard(Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: kill(2) with a negative pid signals a process group;
            // no memory is involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Connection for Local {
    fn host(&self) -> &str {
        "localhost"
    }

    fn exec(&self, req: Request) -> BoxFuture<'_, Reply> {
        let nonce =
            self.calls.fetch_add(1, Ordering::Relaxed) ^ ((std::process::id() as u64) << 32);
        Box::pin(async move {
            let (script, marker) = wrap(&req, nonce);
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .process_group(0)
                .kill_on_drop(true)
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) => return Reply::failed(Status::Failed(format!("cannot start `sh`: {e}"))),
            };
            let mut guard = GroupGuard(child.id().map(|p| p as i32));
            let waited = match req.timeout {
                Some(d) => match tokio::time::timeout(d, child.wait_with_output()).await {
                    Ok(r) => r,
                    Err(_) => return Reply::failed(Status::TimedOut(d)),
                },
                None => child.wait_with_output().await,
            };
            guard.0 = None;
            match waited {
                Ok(out) => {
                    let raw = String::from_utf8_lossy(&out.stdout);
                    let (stdout, data) = unwrap_output(&raw, &marker);
                    Reply {
                        status: match out.status.code() {
                            Some(c) => Status::Exited(c),
                            None => Status::Killed,
                        },
                        stdout,
                        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                        data,
                    }
                }
                Err(e) => Reply::failed(Status::Failed(format!("cannot wait for `sh`: {e}"))),
            }
        })
    }
}

//! Running commands on this machine.

use super::{shell_quote, unwrap_output, wrap, BoxFuture, Connection, Reply, Request, Status};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The local machine. Each command runs in a process group of its own,
/// killed whole when the command is cancelled or times out.
#[derive(Debug, Default)]
pub struct Local {
    calls: AtomicU64,
    /// The wrappers' private directory (mode 0700; removed on drop), made
    /// by the first command.
    dir: OnceLock<Result<tempfile::TempDir, String>>,
}

impl Local {
    pub fn new() -> Self {
        Local::default()
    }

    /// Writes `contents` to `path` with permissions `mode`: into a
    /// temporary file in the same directory, then renamed over `path`, so
    /// that the file is never seen half-written.
    pub async fn copy(&self, path: &str, contents: &[u8], mode: u32) -> Result<(), String> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = std::path::PathBuf::from(path);
        let contents = contents.to_vec();
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let work = move || -> Result<(), String> {
            let name = path
                .file_name()
                .ok_or_else(|| format!("copy: {} is not a file name", path.display()))?;
            let mut tmp_name = std::ffi::OsString::from(".concerto-copy.");
            tmp_name.push(name);
            tmp_name.push(format!(".{}.{n}", std::process::id()));
            let tmp = path.with_file_name(tmp_name);
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&tmp)?;
                f.write_all(&contents)?;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode & 0o7777))?;
                std::fs::rename(&tmp, &path)
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("copy to {}: {e}", path.display())
            })
        };
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| format!("copy: {e}"))?
    }
}

/// Removes the output file of a command that was cancelled or timed out
/// (the wrapper removes it when it ends by itself).
struct OutputFile(PathBuf);

impl Drop for OutputFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
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

    fn copy<'a>(
        &'a self,
        path: &'a str,
        contents: &'a [u8],
        mode: u32,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(Local::copy(self, path, contents, mode))
    }

    fn exec(&self, req: Request) -> BoxFuture<'_, Reply> {
        let nonce = self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let dir = match self.dir.get_or_init(|| {
                tempfile::Builder::new()
                    .prefix("concerto-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a private temporary directory: {e}"))
            }) {
                Ok(d) => d.path(),
                Err(e) => return Reply::failed(Status::Failed(e.clone())),
            };
            let Some(quoted) = dir.to_str().map(shell_quote) else {
                return Reply::failed(Status::Failed(format!(
                    "the temporary directory {} is not UTF-8",
                    dir.display()
                )));
            };
            let (script, marker) = wrap(&req, nonce, &quoted);
            // Dropped after the group guard below: the group is killed first.
            let _output = OutputFile(dir.join(format!("{nonce:016x}.out")));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn copy_replaces_a_file_atomically_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.conf");
        std::fs::write(&path, "old").unwrap();
        let local = Local::new();
        let p = path.to_str().unwrap();
        local.copy(p, b"new contents\n", 0o640).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new contents\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/dir/f");
        assert!(local
            .copy(missing.to_str().unwrap(), b"x", 0o600)
            .await
            .is_err());
    }
}

//! Test support: a fleet of real OpenSSH servers on loopback addresses,
//! driven through `tests/hosts/fleet` (run `tests/hosts/fleet --help`).
//!
//! Use it from an integration test with
//!
//! ```ignore
//! #[path = "support/fleet.rs"]
//! mod fleet;
//! let f = fleet::Fleet::up(3);
//! let out = f.ssh("h1", "hostname");
//! ```
//!
//! Each host `h<i>` is an `sshd` in its own UTS, mount and PID namespace on
//! its own 127.0.0.x address, with a private `/srv`, `/etc/concerto-app` and
//! `/root`. The fleet is taken down when the `Fleet` is dropped; its
//! directory is deleted then, unless the test is panicking or
//! `FLEET_KEEP=1` is set (the path is printed, for inspection).
//!
//! Needs root (as CI and the development machines have); `fleet up`
//! installs `openssh-server` with apt when it is missing.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// One host of a fleet, as recorded in `hosts.json`.
#[derive(Debug, Clone)]
pub struct Host {
    /// `h1`, `h2`, ...; also the host's hostname.
    pub name: String,
    /// Its loopback address, `127.0.0.x`.
    pub address: String,
    pub port: u16,
    /// The sshd's pid (the init of the host's PID namespace) when it came up.
    pub pid: Option<u32>,
}

/// A running fleet; `Drop` takes it down.
pub struct Fleet {
    dir: PathBuf,
    hosts: Vec<Host>,
}

/// The `fleet` script: `$FLEET_SCRIPT`, else `tests/hosts/fleet` in this
/// crate or the nearest ancestor that has one (so that other workspace
/// members can include this file too).
pub fn script() -> PathBuf {
    if let Some(s) = std::env::var_os("FLEET_SCRIPT") {
        return PathBuf::from(s);
    }
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(d) = dir {
        let candidate = d.join("tests/hosts/fleet");
        if candidate.is_file() {
            return candidate;
        }
        dir = d.parent();
    }
    panic!(
        "tests/hosts/fleet not found above {}",
        env!("CARGO_MANIFEST_DIR")
    );
}

/// Runs the script with `args`; panics with its stderr if it fails.
pub fn run_script(args: &[&str]) -> Output {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    if !out.status.success() {
        panic!(
            "`fleet {}` failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

impl Fleet {
    /// Starts `n` hosts `h1..hn` on a free block of loopback addresses.
    pub fn up(n: usize) -> Fleet {
        Fleet::up_with(n, &[])
    }

    /// `up` with more options for `fleet up` (`--private /etc/x`, `--port P`, ...).
    pub fn up_with(n: usize, options: &[&str]) -> Fleet {
        let n = n.to_string();
        let mut args = vec!["up", n.as_str()];
        args.extend_from_slice(options);
        let out = run_script(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("`fleet up` printed no directory"))
            .trim()
            .to_string();
        let mut fleet = Fleet {
            dir: PathBuf::from(dir),
            hosts: Vec::new(),
        };
        fleet.hosts = fleet.read_hosts();
        fleet
    }

    fn read_hosts(&self) -> Vec<Host> {
        let path = self.dir.join("hosts.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let json: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let mut hosts: Vec<Host> = json
            .as_object()
            .expect("hosts.json is an object")
            .iter()
            .map(|(name, h)| Host {
                name: name.clone(),
                address: h["address"].as_str().expect("address").to_string(),
                port: h["port"].as_u64().expect("port") as u16,
                pid: h["pid"].as_u64().map(|p| p as u32),
            })
            .collect();
        // h2 before h10.
        hosts.sort_by_key(|h| h.name[1..].parse::<u32>().unwrap_or(u32::MAX));
        hosts
    }

    /// The fleet directory (keys, inventories, ssh_config, hosts.json, ...).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn inventory_ini(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    pub fn inventory_yaml(&self) -> PathBuf {
        self.dir.join("inventory.yaml")
    }

    /// An ssh_config with `Host h1..hN` (and their addresses).
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// The client's private key.
    pub fn identity(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    /// The hosts' keys, for strict host key checking.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name} in the fleet"))
    }

    /// The private directory that is `path` (`/srv`, `/etc/concerto-app`,
    /// `/root`, or a `--private` path) inside `host`, seen from outside.
    pub fn private_dir(&self, host: &str, path: &str) -> PathBuf {
        let slot = match path {
            "/srv" => "srv".to_string(),
            "/etc/concerto-app" => "etc-app".to_string(),
            "/root" => "root".to_string(),
            p => p.trim_start_matches('/').replace('/', "-"),
        };
        self.dir.join("hosts").join(host).join(slot)
    }

    /// `ssh -F ssh_config HOST`, ready for `.arg(cmd)`, more `-o` options
    /// before it, or other stdio.
    pub fn ssh_command(&self, host: &str) -> Command {
        let mut c = Command::new("ssh");
        c.arg("-F")
            .arg(self.ssh_config())
            .arg(host)
            .stdin(Stdio::null());
        c
    }

    /// Runs `cmd` (a shell command line) on `host`.
    pub fn ssh(&self, host: &str, cmd: &str) -> Output {
        self.ssh_command(host)
            .arg(cmd)
            .output()
            .expect("cannot run ssh")
    }

    /// Runs `cmd` on `host`, panics unless it succeeds, returns its trimmed stdout.
    pub fn ssh_ok(&self, host: &str, cmd: &str) -> String {
        let out = self.ssh(host, cmd);
        assert!(
            out.status.success(),
            "ssh {host} {cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn host_op(&self, op: &str, host: &str) {
        run_script(&[op, self.dir.to_str().expect("utf-8 dir"), host]);
    }

    /// Kills the host: new connections are refused.
    pub fn stop(&self, host: &str) {
        self.host_op("stop", host);
    }

    /// Starts a stopped host again (same address and keys).
    pub fn start(&self, host: &str) {
        self.host_op("start", host);
    }

    /// SIGSTOPs the host's sshd and everything under it: connections hang.
    pub fn freeze(&self, host: &str) {
        self.host_op("freeze", host);
    }

    /// SIGCONTs what `freeze` stopped.
    pub fn thaw(&self, host: &str) {
        self.host_op("thaw", host);
    }

    /// Host name → `up`, `stopped` or `frozen`.
    pub fn status(&self) -> BTreeMap<String, String> {
        let out = run_script(&["status", self.dir.to_str().expect("utf-8 dir")]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3).then(|| (f[0].to_string(), f[2].to_string()))
            })
            .collect()
    }

    /// Stops every process of the fleet (idempotent); the directory stays.
    pub fn down(&mut self) {
        run_script(&["down", self.dir.to_str().expect("utf-8 dir")]);
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let keep = std::thread::panicking()
            || std::env::var_os("FLEET_KEEP").is_some_and(|v| v != "0" && !v.is_empty());
        let dir = self.dir.to_string_lossy().into_owned();
        let mut args = vec!["down", dir.as_str()];
        if !keep {
            args.push("--purge");
        }
        // Never panic in drop (it may run during a panic).
        match Command::new("bash")
            .arg(script())
            .args(&args)
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "fleet down {dir} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("cannot run fleet down {dir}: {e}"),
        }
        if keep {
            eprintln!("fleet directory kept: {dir}");
        }
    }
}

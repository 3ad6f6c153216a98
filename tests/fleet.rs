//! The test-host fleet (`tests/hosts/fleet`, `tests/support/fleet.rs`):
//! real sshd servers on loopback addresses, each with its own hostname and
//! private directories, and the fault injections (stop, freeze, thaw) that
//! later SSH tests rely on. No Python, no Ansible.

#[path = "support/fleet.rs"]
mod fleet;

use fleet::Fleet;
use std::collections::{BTreeMap, HashSet};
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// True if the process is gone (or a zombie nobody reaped yet).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
            matches!(state, Some(Some('Z' | 'X')))
        }
    }
}

/// Live processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && !process_gone(pid) {
            found.push((pid, cmd));
        }
    }
    found
}

fn connect(addr: &str, port: u16) -> std::io::Result<TcpStream> {
    let sa = SocketAddr::new(addr.parse().unwrap(), port);
    TcpStream::connect_timeout(&sa, Duration::from_secs(2))
}

/// `[fleet:vars]` of inventory.ini, and `host → ansible_host`.
fn parse_inventory(text: &str) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (mut vars, mut hosts) = (BTreeMap::new(), BTreeMap::new());
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
        } else if section == "fleet" {
            let (name, rest) = line.split_once(' ').expect("host line with vars");
            let addr = rest.strip_prefix("ansible_host=").expect("ansible_host");
            hosts.insert(name.to_string(), addr.to_string());
        } else if section == "fleet:vars" {
            let (k, v) = line.split_once('=').expect("key=value");
            vars.insert(k.to_string(), v.trim_matches('\'').to_string());
        }
    }
    (vars, hosts)
}

#[test]
fn four_hosts_private_state_and_faults() {
    let started = Instant::now();
    let mut f = Fleet::up(4);
    let dir = f.dir().to_path_buf();
    let names: Vec<&str> = f.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["h1", "h2", "h3", "h4"]);

    // Distinct loopback addresses, never 127.0.0.1.
    let addrs: HashSet<Ipv4Addr> = f
        .hosts()
        .iter()
        .map(|h| h.address.parse().expect("IPv4 address"))
        .collect();
    assert_eq!(addrs.len(), 4);
    for a in &addrs {
        assert!(a.is_loopback() && *a != Ipv4Addr::LOCALHOST, "{a}");
    }

    // Files the script promises.
    for file in [
        "id_ed25519",
        "id_ed25519.pub",
        "known_hosts",
        "authorized_keys",
        "ssh_config",
        "inventory.ini",
        "inventory.yaml",
        "hosts.json",
        "hosts/h1/sshd_config",
        "state",
    ] {
        assert!(
            dir.join(file).exists(),
            "{file} missing in {}",
            dir.display()
        );
    }
    let cfg = std::fs::read_to_string(dir.join("hosts/h1/sshd_config")).unwrap();
    for line in ["MaxSessions 100", "MaxStartups 200:30:400", "UseDNS no"] {
        assert!(cfg.lines().any(|l| l == line), "sshd_config lacks {line}");
    }

    // Each host has its own hostname (one connection per host, in parallel).
    std::thread::scope(|s| {
        for h in f.hosts() {
            let f = &f;
            s.spawn(move || assert_eq!(f.ssh_ok(&h.name, "hostname"), h.name));
        }
    });

    // The inventory works with plain ssh and strict host key checking.
    let ini = std::fs::read_to_string(f.inventory_ini()).unwrap();
    let (vars, inv_hosts) = parse_inventory(&ini);
    for h in f.hosts() {
        assert_eq!(
            inv_hosts.get(&h.name),
            Some(&h.address),
            "inventory.ini:\n{ini}"
        );
    }
    assert_eq!(vars["ansible_user"], "root");
    let common = &vars["ansible_ssh_common_args"];
    assert!(common.contains("UserKnownHostsFile=") && !common.contains("StrictHostKeyChecking=no"));
    let h2 = f.host("h2");
    let out = Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes"])
        .args(common.split_whitespace())
        .args([
            "-i",
            &vars["ansible_ssh_private_key_file"],
            "-p",
            &vars["ansible_port"],
        ])
        .arg(format!("{}@{}", vars["ansible_user"], h2.address))
        .arg("hostname")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh with the inventory's settings: {}",
        stderr(&out)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "h2");

    // /srv is private to each host, and not the machine's.
    let name = format!("x-{}", std::process::id());
    let written = f.ssh_ok(
        "h1",
        &format!("echo from-h1 > /srv/{name} && cat /srv/{name}"),
    );
    assert_eq!(written, "from-h1");
    f.ssh_ok("h2", &format!("test ! -e /srv/{name}"));
    assert!(
        !Path::new("/srv").join(&name).exists(),
        "h1's /srv leaked to the machine"
    );
    let seen = std::fs::read_to_string(f.private_dir("h1", "/srv").join(&name)).unwrap();
    assert_eq!(seen.trim(), "from-h1");

    // So is /etc/concerto-app.
    f.ssh_ok("h2", &format!("echo from-h2 > /etc/concerto-app/{name}"));
    f.ssh_ok("h1", &format!("test ! -e /etc/concerto-app/{name}"));
    assert!(!Path::new("/etc/concerto-app").join(&name).exists());
    assert!(f
        .private_dir("h2", "/etc/concerto-app")
        .join(&name)
        .exists());

    // stop: h3 refuses connections, the others still work.
    let h3 = f.host("h3").clone();
    f.stop("h3");
    assert_eq!(f.status()["h3"], "stopped");
    let err = connect(&h3.address, h3.port).expect_err("h3 still accepts connections");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let out = f.ssh("h3", "true");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Connection refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(f.ssh_ok("h1", "hostname"), "h1");

    // freeze: a new connection to h4 times out; thaw brings it back.
    f.freeze("h4");
    assert_eq!(f.status()["h4"], "frozen");
    let t = Instant::now();
    let out = Command::new("timeout")
        .args(["5", "ssh", "-F"])
        .arg(f.ssh_config())
        .args(["-o", "ConnectTimeout=2", "h4", "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let waited = t.elapsed();
    assert!(!out.status.success(), "ssh to a frozen host succeeded");
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_millis(5500),
        "ssh to a frozen host gave up after {waited:?}: {}",
        stderr(&out)
    );
    assert_eq!(f.ssh_ok("h2", "hostname"), "h2");
    f.thaw("h4");
    assert_eq!(f.status()["h4"], "up");
    assert_eq!(f.ssh_ok("h4", "hostname"), "h4");

    // A stopped host can come back, with the same address and keys.
    f.start("h3");
    assert_eq!(f.ssh_ok("h3", "hostname"), "h3");

    // down: nothing of this fleet is left running, and nothing listens.
    let hosts_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("hosts.json")).unwrap()).unwrap();
    let pids: Vec<u32> = hosts_json
        .as_object()
        .unwrap()
        .values()
        .flat_map(|h| [h["pid"].as_u64(), h["wrapper_pid"].as_u64()])
        .map(|p| p.expect("a running host has pids") as u32)
        .collect();
    assert_eq!(pids.len(), 8);
    f.down();
    for pid in pids {
        assert!(process_gone(pid), "pid {pid} survived `fleet down`");
    }
    let left = processes_mentioning(&dir.to_string_lossy());
    assert!(left.is_empty(), "left running: {left:?}");
    for h in f.hosts() {
        let err = connect(&h.address, h.port).expect_err("still listening after down");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    }
    assert!(f.status().values().all(|s| s == "stopped"));
    assert!(dir.exists(), "down removes nothing");

    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn concurrent_fleets_get_distinct_addresses() {
    let fleets: Vec<Fleet> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| Fleet::up(2))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = HashSet::new();
    for f in &fleets {
        for h in f.hosts() {
            assert!(
                seen.insert((h.address.clone(), h.port)),
                "{}:{} shared",
                h.address,
                h.port
            );
        }
        assert_eq!(f.ssh_ok("h2", "hostname"), "h2");
    }
    let dirs: HashSet<_> = fleets.iter().map(|f| f.dir().to_path_buf()).collect();
    assert_eq!(dirs.len(), 3);
}

#[test]
fn only_loopback_addresses() {
    for prefix in ["10.0.0", "192.168.1", "0.0.0", "127.0.256"] {
        let out = Command::new("bash")
            .arg(fleet::script())
            .args(["up", "1", "--prefix", prefix])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "--prefix {prefix} accepted");
        assert!(stderr(&out).contains("127.0.0.0/8"), "{}", stderr(&out));
    }
    let out = Command::new("bash")
        .arg(fleet::script())
        .args(["up", "2", "--first", "253"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("out of range"), "{}", stderr(&out));
}

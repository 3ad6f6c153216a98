//! The Python side of the conformance tests: the venv made by
//! `.ci/python-env.sh` (ansible-core and kolla-ansible), found through
//! `CONCERTO_PYTHON`. A conformance test without its oracle fails: a
//! skipped test reported as passing would hide that nothing was compared.

#![allow(dead_code)]

pub mod ir;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Oracle {
    /// The venv's python.
    pub python: PathBuf,
    /// `sys.prefix` of the venv.
    pub prefix: PathBuf,
    /// The venv's `site-packages` (ansible-core's own YAML files are there).
    pub site_packages: PathBuf,
    pub ansible_version: String,
}

const HOW: &str = "run `eval \"$(.ci/python-env.sh | tail -n1)\"` at the repository root \
                   (it creates .venv with ansible-core 2.19 and kolla-ansible 22.2.0 and \
                   prints `export CONCERTO_PYTHON=...`)";

/// The oracle, or a panic that says what is missing and how to get it.
pub fn oracle() -> Oracle {
    let python = match std::env::var_os("CONCERTO_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "CONCERTO_PYTHON is not set: this conformance test compares with the real \
             ansible-core and cannot run without it; {HOW}"
        ),
    };
    let out = Command::new(&python)
        .args([
            "-c",
            "import sys, sysconfig, ansible, ansible.parsing.utils.yaml; \
             print(ansible.__version__); print(sys.prefix); print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("CONCERTO_PYTHON={} cannot be run ({e}); {HOW}", python.display())
        });
    assert!(
        out.status.success(),
        "CONCERTO_PYTHON={} cannot import ansible:\n{}\n{HOW}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let ansible_version = lines.next().unwrap_or_default().to_string();
    let prefix = PathBuf::from(lines.next().unwrap_or_default());
    let site_packages = PathBuf::from(lines.next().unwrap_or_default());
    Oracle {
        python,
        prefix,
        site_packages,
        ansible_version,
    }
}

impl Oracle {
    /// kolla-ansible's Ansible tree (`share/kolla-ansible/ansible`).
    pub fn kolla_ansible_dir(&self) -> PathBuf {
        let dir = self.prefix.join("share/kolla-ansible/ansible");
        assert!(
            dir.join("site.yml").is_file(),
            "kolla-ansible is not installed in {} (no {}); {HOW}",
            self.prefix.display(),
            dir.join("site.yml").display()
        );
        dir
    }

    /// A program of the venv's `bin/` (next to python).
    pub fn bin(&self, name: &str) -> PathBuf {
        let p = self
            .python
            .parent()
            .map(|d| d.join(name))
            .unwrap_or_else(|| PathBuf::from(name));
        assert!(p.is_file(), "{} not found; {HOW}", p.display());
        p
    }

    /// Runs `tests/yaml_oracle.py MODE` with `input` on stdin.
    pub fn run_script(&self, mode: &str, input: &str) -> String {
        self.run_script_in(mode, input, None, &[])
    }

    /// [`Oracle::run_script`] in a working directory, with environment
    /// variables.
    pub fn run_script_in(
        &self,
        mode: &str,
        input: &str,
        cwd: Option<&Path>,
        envs: &[(&str, &str)],
    ) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_oracle.py");
        let mut cmd = Command::new(&self.python);
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .arg(&script)
            .arg(mode)
            // Stable set iteration order from run to run.
            .env("PYTHONHASHSEED", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_string();
        // Write from another thread: the oracle answers while it reads.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("oracle output");
        let _ = writer.join();
        assert!(
            out.status.success(),
            "{} {mode} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("the oracle prints ASCII")
    }
}

/// Every file under `dir` (recursively) whose name ends with one of `exts`,
/// sorted.
pub fn files_under(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| exts.iter().any(|x| n.ends_with(x)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The inventory corpus: every file directly in `tests/inventory_corpus/`,
/// and every subdirectory's `inventory*` file (a case with its own
/// `group_vars/` and `host_vars/`). Returns (case name, path relative to
/// the crate), sorted by name.
pub fn inventory_cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = Path::new("tests/inventory_corpus");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(root.join(rel)).expect("inventory corpus");
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(&path)
                .expect("case directory")
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n == "inventory" || n.starts_with("inventory."))
                })
                .collect();
            inner.sort();
            assert_eq!(
                inner.len(),
                1,
                "{} must hold exactly one inventory* file",
                path.display()
            );
            let file = inner.remove(0);
            let file_name = file.file_name().expect("a file name").to_owned();
            out.push((name.clone(), rel.join(&name).join(file_name)));
        } else {
            out.push((name.clone(), rel.join(&name)));
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no inventory corpus");
    out
}

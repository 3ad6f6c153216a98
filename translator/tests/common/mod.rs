//! The Python side of the conformance tests: the real ansible-core and
//! kolla-ansible in a venv, in two stacks (see [`Stack`]): the venv made by
//! `.ci/python-env.sh`, found through `CONCERTO_PYTHON`, and the one made
//! by `.ci/python312-env.sh`, found through `CONCERTO_PYTHON312`. A
//! conformance test without its oracle fails: a skipped test reported as
//! passing would hide that nothing was compared.

#![allow(dead_code)]

pub mod ir;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Python stacks the conformance tests compare with (issue 4: "kolla-
/// ansible 22.2.0 with ansible-core 2.19 on Python 3.11; 23.0.0 with
/// ansible-core 2.21 on Python 3.12").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// ansible-core 2.19, kolla-ansible 22.2.0, ansible 12.3.0 on Python
    /// 3.11 (`.ci/python-env.sh`, `CONCERTO_PYTHON`).
    Core219,
    /// ansible-core 2.21, kolla-ansible 23.0.0, ansible 14.5.0 on Python
    /// 3.12 (`.ci/python312-env.sh`, `CONCERTO_PYTHON312`).
    Core221,
}

impl Stack {
    /// The environment variable that names the stack's python.
    pub fn env_var(self) -> &'static str {
        match self {
            Stack::Core219 => "CONCERTO_PYTHON",
            Stack::Core221 => "CONCERTO_PYTHON312",
        }
    }

    /// The `major.minor.` prefix of the ansible-core version the stack holds.
    fn core_prefix(self) -> &'static str {
        match self {
            Stack::Core219 => "2.19.",
            Stack::Core221 => "2.21.",
        }
    }

    /// How failure messages name the stack.
    pub fn label(self) -> &'static str {
        match self {
            Stack::Core219 => "ansible-core 2.19 / kolla-ansible 22 (CONCERTO_PYTHON)",
            Stack::Core221 => "ansible-core 2.21 / kolla-ansible 23 (CONCERTO_PYTHON312)",
        }
    }

    /// What to run to get the stack's venv.
    fn how(self) -> &'static str {
        match self {
            Stack::Core219 => {
                "run `eval \"$(.ci/python-env.sh | tail -n1)\"` at the repository root \
                 (it creates .venv with ansible-core 2.19 and kolla-ansible 22.2.0 on \
                 Python 3.11 and prints `export CONCERTO_PYTHON=...`)"
            }
            Stack::Core221 => {
                "run `eval \"$(.ci/python312-env.sh | tail -n1)\"` at the repository root \
                 (it creates .venv312 with ansible-core 2.21 and kolla-ansible 23.0.0 on \
                 Python 3.12 and prints `export CONCERTO_PYTHON312=...`)"
            }
        }
    }

    /// The stack's oracle, or a panic that says what is missing and how to
    /// get it.
    pub fn oracle(self) -> Oracle {
        let var = self.env_var();
        let label = self.label();
        let how = self.how();
        let python = match std::env::var_os(var) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => panic!(
                "{label}: {var} is not set: this conformance test compares with the real \
                 ansible-core and cannot run without it; {how}"
            ),
        };
        let out = Command::new(&python)
            .args([
                "-c",
                "import sys, sysconfig, ansible, ansible.parsing.utils.yaml; \
                 print(ansible.__version__); print(sys.prefix); \
                 print(sysconfig.get_paths()['purelib'])",
            ])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "{label}: {var}={} cannot be run ({e}); {how}",
                    python.display()
                )
            });
        assert!(
            out.status.success(),
            "{label}: {var}={} cannot import ansible:\n{}\n{how}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let ansible_version = lines.next().unwrap_or_default().to_string();
        let prefix = PathBuf::from(lines.next().unwrap_or_default());
        let site_packages = PathBuf::from(lines.next().unwrap_or_default());
        // The comparisons know which ansible-core they compare with (the
        // 2.21 normalisations of docs/ir.md): a venv of another version
        // would make the label lie.
        assert!(
            ansible_version.starts_with(self.core_prefix()),
            "{label}: {var}={} has ansible-core {ansible_version}, not {}x; {how}",
            python.display(),
            self.core_prefix()
        );
        Oracle {
            stack: self,
            python,
            prefix,
            site_packages,
            ansible_version,
        }
    }
}

pub struct Oracle {
    /// The stack this venv is.
    pub stack: Stack,
    /// The venv's python.
    pub python: PathBuf,
    /// `sys.prefix` of the venv.
    pub prefix: PathBuf,
    /// The venv's `site-packages` (ansible-core's own YAML files are there).
    pub site_packages: PathBuf,
    pub ansible_version: String,
}

/// The oracle of `CONCERTO_PYTHON` (ansible-core 2.19), for the tests that
/// compare with one stack only.
pub fn oracle() -> Oracle {
    Stack::Core219.oracle()
}

/// Defines, for each function `name(Stack)`, a module `name` with one test
/// per stack (`name::core_2_19`, `name::core_2_21`): the same comparison
/// against each ansible-core, each failing on its own.
#[macro_export]
macro_rules! on_each_stack {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn core_2_19() {
                super::$name($crate::common::Stack::Core219)
            }
            #[test]
            fn core_2_21() {
                super::$name($crate::common::Stack::Core221)
            }
        }
    )*};
}

impl Oracle {
    /// kolla-ansible's Ansible tree (`share/kolla-ansible/ansible`).
    pub fn kolla_ansible_dir(&self) -> PathBuf {
        let dir = self.prefix.join("share/kolla-ansible/ansible");
        assert!(
            dir.join("site.yml").is_file(),
            "{}: kolla-ansible is not installed in {} (no {}); {}",
            self.stack.label(),
            self.prefix.display(),
            dir.join("site.yml").display(),
            self.stack.how()
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
        assert!(
            p.is_file(),
            "{}: {} not found; {}",
            self.stack.label(),
            p.display(),
            self.stack.how()
        );
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
            "{}: {} {mode} failed:\n{}",
            self.stack.label(),
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

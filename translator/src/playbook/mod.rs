//! Playbooks and roles into the IR (docs/ir.md), as ansible-core 2.19's
//! `Playbook.load` and `Play.compile` see them.
//!
//! One file per stage of loading:
//! - `splitter.rs`, `args.rs`: a task's action and arguments
//!   (`ModuleArgsParser`);
//! - `keywords.rs`: which keys are keywords where, and how they inherit;
//! - `task.rs`: task lists into blocks and tasks, static imports inlined,
//!   keywords resolved through the chain of parents;
//! - `role.rs`: finding roles and loading their files and dependencies;
//! - `play.rs`: plays, `import_playbook`, and `Play.compile`'s layout
//!   (pre_tasks, roles, tasks, post_tasks, implicit `flush_handlers`);
//! - `expand.rs`: dynamic includes whose names are known before anything
//!   runs, loaded as the strategy would load them.
//!
//! Files are read once and kept (`Loader::file`): Kolla's roles are
//! included by many plays.

mod args;
mod error;
mod expand;
pub mod ir;
mod keywords;
mod module_defaults;
mod play;
mod reach;
mod render;
mod role;
mod splitter;
mod task;
mod vars;

pub use error::{PlaybookError, PlaybookErrorKind};
pub use ir::{Block, Included, Ir, Item, Play, Task};
pub use reach::Reach;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::yaml::{Document, YamlWarning};

/// How to load a playbook.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where roles are looked for after `roles/` next to the playbook and
    /// the playbook's directory (`ANSIBLE_ROLES_PATH`, then Ansible's
    /// defaults `~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles`).
    pub roles_path: Vec<PathBuf>,
    /// Where `ansible_collections/` trees are (`ANSIBLE_COLLECTIONS_PATH`).
    pub collections_path: Vec<PathBuf>,
    /// Expand `include_tasks`/`include_role` whose names are known
    /// statically (docs/ir.md, "Expanded form").
    pub expand: bool,
    /// `-e` values, highest precedence.
    pub extra_vars: indexmap::IndexMap<String, crate::yaml::Node>,
    /// The inventory (`-i`): the first host of each play gives the
    /// variables include names are templated with.
    pub inventory: Option<crate::inventory::Inventory>,
    /// Whose loading the IR reproduces where ansible-core versions differ
    /// in it (docs/ir.md, "ansible-core 2.21 / Kolla 23").
    pub ansible_core: AnsibleCore,
    /// With `expand`: template each reached task's arguments for the
    /// translator (`ir::Task::rendered`, `render.rs`).
    pub render: bool,
}

/// The ansible-core version the IR is the view of. They load playbooks the
/// same way but for accidents of their loaded objects; the one that shows
/// in the IR and that a comparison cannot normalise is the keywords of a
/// block Ansible freezes while loading it (`Loader::tasks`, `import_tasks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AnsibleCore {
    /// ansible-core 2.19: the IR's reference.
    #[default]
    V2_19,
    /// ansible-core 2.21.
    V2_21,
}

impl std::str::FromStr for AnsibleCore {
    type Err = String;

    fn from_str(s: &str) -> Result<AnsibleCore, String> {
        match s {
            "2.19" => Ok(AnsibleCore::V2_19),
            "2.21" => Ok(AnsibleCore::V2_21),
            _ => Err(format!(
                "unknown ansible-core version `{s}` (expected 2.19 or 2.21)"
            )),
        }
    }
}

impl Options {
    /// Ansible's defaults, with `ANSIBLE_ROLES_PATH` and
    /// `ANSIBLE_COLLECTIONS_PATH` (or `ANSIBLE_COLLECTIONS_PATHS`) first.
    pub fn from_env() -> Options {
        let split = |var: &str| -> Vec<PathBuf> {
            std::env::var_os(var)
                .map(|v| std::env::split_paths(&v).collect())
                .unwrap_or_default()
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut roles_path = split("ANSIBLE_ROLES_PATH");
        if let Some(h) = &home {
            roles_path.push(h.join(".ansible/roles"));
        }
        roles_path.push("/usr/share/ansible/roles".into());
        roles_path.push("/etc/ansible/roles".into());
        let mut collections_path = split("ANSIBLE_COLLECTIONS_PATH");
        collections_path.extend(split("ANSIBLE_COLLECTIONS_PATHS"));
        if let Some(h) = &home {
            collections_path.push(h.join(".ansible/collections"));
        }
        collections_path.push("/usr/share/ansible/collections".into());
        Options {
            roles_path,
            collections_path,
            ..Options::default()
        }
    }
}

/// Loads a playbook and what it refers to.
pub struct Loader {
    opts: Options,
    /// The playbook's directory: relative paths in the IR start here.
    base: PathBuf,
    /// The directory of the playbook file being loaded (an imported one's
    /// own): roles and imported files are looked for from there.
    playbook_dir: PathBuf,
    /// The collection of an imported collection playbook: from then on
    /// the first collection an unqualified role is looked for in (Ansible
    /// sets `AnsibleCollectionConfig.default_collection` and keeps it).
    default_collection: Option<String>,
    files: HashMap<PathBuf, Arc<Document>>,
    pub warnings: Vec<YamlWarning>,
    /// Handlers of roles imported by the play being loaded (`import_role`
    /// adds them to the play's).
    imported_handlers: Vec<Item>,
    /// The block being loaded holds an `import_role` (see `block_keywords`).
    imported_role_here: bool,
    /// The inventory with the playbook's own `group_vars/`/`host_vars/`.
    inventory: Option<crate::inventory::Inventory>,
    templar: crate::template::Templar,
    /// Each host's inventory variables, merged once.
    host_vars: std::cell::RefCell<HashMap<String, Arc<crate::template::VarMap>>>,
    /// Templating scopes by layers (see `vars.rs`).
    /// With the version of the run-time names they were made for
    /// (`Options::render`; else 0).
    scopes: std::cell::RefCell<HashMap<usize, (vars::Layers, usize, crate::template::LazyVars)>>,
    /// `base`, canonical, and the relative names already computed.
    canonical_base: PathBuf,
    rel_cache: std::cell::RefCell<HashMap<PathBuf, String>>,
    /// What the tasks loaded so far do to later ones (`--expand`).
    reach: reach::State,
}

/// Load the playbook at `path` into the IR.
pub fn load(path: &Path, opts: &Options) -> Result<Ir, PlaybookError> {
    load_impl(path, None, opts)
}

/// [`load`] with the playbook's own text given (the files it refers to are
/// still read from disk): fuzzing, tests.
pub fn load_text(path: &Path, text: &str, opts: &Options) -> Result<Ir, PlaybookError> {
    load_impl(path, Some(text), opts)
}

fn load_impl(path: &Path, text: Option<&str>, opts: &Options) -> Result<Ir, PlaybookError> {
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let mut loader = Loader {
        opts: opts.clone(),
        playbook_dir: base.clone(),
        default_collection: None,
        base,
        files: HashMap::new(),
        warnings: Vec::new(),
        imported_handlers: Vec::new(),
        imported_role_here: false,
        canonical_base: PathBuf::new(),
        rel_cache: Default::default(),
        inventory: None,
        templar: crate::template::Templar::new(),
        scopes: Default::default(),
        host_vars: Default::default(),
        reach: Default::default(),
    };
    if opts.expand {
        // Playbook group_vars/host_vars rank just above the inventory's.
        let mut inv = opts.inventory.clone().unwrap_or_default();
        if crate::inventory::vars::load_vars_files(&mut inv, &loader.base).is_ok() {
            loader.inventory = Some(inv);
        }
    }
    loader.canonical_base = loader
        .base
        .canonicalize()
        .unwrap_or_else(|_| loader.base.clone());
    // A filter, test or lookup we do not implement (a playbook's own
    // plugins) makes what uses it unknown, as run-time data would.
    loader.templar = crate::template::Templar::with_options(crate::template::Options {
        kolla_filters: loads_kolla_filters(&loader.base),
        missing_plugins_unknown: true,
    });
    if let Some(text) = text {
        let doc = crate::yaml::from_yaml(&loader.rel(path), text)?;
        loader.files.insert(path.to_path_buf(), Arc::new(doc));
    }
    let plays = loader.playbook(path, &[])?;
    // Hundreds of templating scopes full of memoised values (Kolla: ~600):
    // freeing them is a tenth of the load's time, and nothing waits for it.
    let scopes = std::mem::take(&mut *loader.scopes.borrow_mut());
    let retired = std::mem::take(&mut *loader.reach.retired_scopes.borrow_mut());
    std::thread::spawn(move || drop((scopes, retired)));
    Ok(Ir {
        version: 1,
        playbook: loader.rel(path),
        plays,
    })
}

/// The playbook's `filter_plugins/` load Kolla-ansible's filters (as
/// Kolla's `services.py` does: `from kolla_ansible import filters`).
fn loads_kolla_filters(base: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(base.join("filter_plugins")) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        e.path().extension().is_some_and(|x| x == "py")
            && std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.contains("from kolla_ansible import filters"))
    })
}

impl Loader {
    /// The parsed file at `path`, read once.
    fn file(&mut self, path: &Path) -> Result<Arc<Document>, PlaybookError> {
        if let Some(d) = self.files.get(path) {
            return Ok(d.clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| PlaybookError::io(path, &e))?;
        let doc = crate::yaml::from_yaml(&self.rel(path), &text)?;
        self.warnings.extend(doc.warnings.iter().cloned());
        let doc = Arc::new(doc);
        self.files.insert(path.to_path_buf(), doc.clone());
        Ok(doc)
    }

    /// `path` relative to the playbook's directory when inside it.
    fn rel(&self, path: &Path) -> String {
        if let Some(r) = self.rel_cache.borrow().get(path) {
            return r.clone();
        }
        let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let r = match full.strip_prefix(&self.canonical_base) {
            Ok(r) => r.display().to_string(),
            Err(_) => full.display().to_string(),
        };
        self.rel_cache
            .borrow_mut()
            .insert(path.to_path_buf(), r.clone());
        r
    }
}

/// The keyword closest to `word`, for "did you mean".
pub(crate) fn suggest_keyword(word: &str) -> Option<&'static str> {
    keywords::all()
        .filter(|k| strsim_close(word, k))
        .min_by_key(|k| distance(word, k))
}

fn strsim_close(a: &str, b: &str) -> bool {
    let d = distance(a, b);
    d > 0 && d <= 2.max(b.len() / 4)
}

/// Optimal string alignment distance (a transposition is one edit).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// One `-e` argument as ansible-playbook reads it (`load_extra_vars`):
/// `@file` loads a YAML/JSON file, text starting with `{` or `[` is YAML,
/// anything else `k=v` pairs (strings).
pub fn parse_extra_vars(
    arg: &str,
) -> Result<indexmap::IndexMap<String, crate::yaml::Node>, PlaybookError> {
    use crate::yaml::{Node, Yaml};
    let doc = if let Some(path) = arg.strip_prefix('@') {
        let p = Path::new(path);
        let text = std::fs::read_to_string(p).map_err(|e| PlaybookError::io(p, &e))?;
        Some(crate::yaml::from_yaml(path, &text)?)
    } else if arg.trim_start().starts_with('{') || arg.trim_start().starts_with('[') {
        Some(crate::yaml::from_yaml("<extra vars>", arg)?)
    } else {
        None
    };
    match doc {
        Some(d) => match &d.root.value {
            Yaml::Map(m) => Ok(m.iter().map(|(k, v)| (k.to_py_str(), v.clone())).collect()),
            Yaml::Null => Ok(Default::default()),
            _ => Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                format!(
                    "Invalid extra vars data supplied. '{arg}' could not be made into a dictionary"
                ),
            )
            .help("`-e` takes k=v pairs, a YAML/JSON mapping, or @file.yml holding one")),
        },
        None => {
            let kv = splitter::parse_kv(arg, false).map_err(|e| {
                PlaybookError::new(PlaybookErrorKind::ModuleArgs, format!("-e {arg}: {e}"))
                    .help("close every quote in the value")
            })?;
            Ok(kv
                .into_iter()
                .filter(|(k, _)| k != "_raw_params")
                .map(|(k, v)| (k, Node::new(Yaml::Str(v), Default::default())))
                .collect())
        }
    }
}

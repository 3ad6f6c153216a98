//! Roles: found where Ansible looks (`roles/` next to the playbook, the
//! roles path, the directory of the role that depends on it, the
//! playbook's directory; `ns.coll.role` in collections), their task and
//! handler files, and `meta/main.yml` dependencies compiled first
//! (`Role.compile`, `Role.get_handler_blocks`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{PlaybookError, PlaybookErrorKind};
use super::ir::{self, Item};
use super::keywords;
use super::task::{Frame, Kind, Own, RoleFrame, Scope};
use super::Loader;
use crate::yaml::{Document, Node, Source, Yaml};

/// A role as applied: `roles:` item, meta dependency or `import_role`.
pub(super) struct RoleEntry {
    pub name: String,
    /// Its keywords (`when`, `tags`, `become`, ...); role params aside.
    pub own: Own,
    pub tasks_from: Option<String>,
    pub handlers_from: Option<String>,
    /// Role params: the entry's keys that are not keywords.
    pub params: Own,
}

impl RoleEntry {
    /// A `roles:` or `dependencies:` item: a name, or a mapping with
    /// `role:` (or `name:`), keywords and role params.
    pub fn parse(item: &Node, src: &Source) -> Result<RoleEntry, PlaybookError> {
        match &item.value {
            Yaml::Str(s) | Yaml::Unsafe(s) => Ok(RoleEntry {
                name: s.clone(),
                own: Own::new(),
                tasks_from: None,
                handlers_from: None,
                params: Own::new(),
            }),
            Yaml::Map(m) => {
                let name = m
                    .get("role")
                    .or_else(|| m.get("name"))
                    .map(|n| n.value.to_py_str())
                    .ok_or_else(|| {
                        PlaybookError::new(
                            PlaybookErrorKind::Structure,
                            "role definitions must contain a role name",
                        )
                        .at(src, item, "no `role:`")
                        .help("write `- role: name` (or just `- name`)")
                    })?;
                let own = m
                    .iter()
                    .filter(|(k, _)| {
                        let k = k.to_py_str();
                        keywords::is_role_keyword(&k) && k != "role" && k != "name"
                    })
                    .map(|(k, v)| (k.to_py_str(), v.clone()))
                    .collect();
                let params = m
                    .iter()
                    .filter(|(k, _)| {
                        let k = k.to_py_str();
                        !keywords::is_role_keyword(&k) && k != "role" && k != "name"
                    })
                    .map(|(k, v)| (k.to_py_str(), v.clone()))
                    .collect();
                Ok(RoleEntry {
                    name,
                    own,
                    tasks_from: None,
                    handlers_from: None,
                    params,
                })
            }
            _ => Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                "a role must be a name or a mapping",
            )
            .at(src, item, "here")),
        }
    }
}

impl Loader {
    /// The directory of role `name`, searched from `basedir` (the
    /// directory of the role that depends on it, if any).
    pub(super) fn find_role(&self, name: &str, basedir: Option<&Path>) -> Option<PathBuf> {
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() >= 3 && !name.contains('/') {
            let (ns, coll, role) = (parts[0], parts[1], parts[2..].join("."));
            for c in &self.opts.collections_path {
                let p = c
                    .join("ansible_collections")
                    .join(ns)
                    .join(coll)
                    .join("roles")
                    .join(&role);
                if p.is_dir() {
                    return Some(p);
                }
            }
        }
        let mut paths = vec![self.base.join("roles")];
        paths.extend(self.opts.roles_path.iter().cloned());
        if let Some(b) = basedir {
            paths.push(b.to_path_buf());
        }
        paths.push(self.base.clone());
        let direct = Path::new(name);
        if direct.is_absolute() && direct.is_dir() {
            return Some(direct.to_path_buf());
        }
        paths.into_iter().map(|p| p.join(name)).find(|p| p.is_dir())
    }

    /// `roles/x/tasks/main.yml` (or no extension, `.yaml`, `.json`, in
    /// Ansible's order); `from` names another file of the directory.
    pub(super) fn role_file(
        &self,
        role: &Path,
        subdir: &str,
        from: Option<&str>,
    ) -> Option<PathBuf> {
        let stem = from.unwrap_or("main");
        let dir = role.join(subdir);
        ["", ".yml", ".yaml", ".json"]
            .iter()
            .map(|ext| dir.join(format!("{stem}{ext}")))
            .find(|p| p.is_file())
    }

    fn role_frame(
        &self,
        entry: &RoleEntry,
        at: &Node,
        src: &Source,
        basedir: Option<&Path>,
    ) -> Result<Arc<RoleFrame>, PlaybookError> {
        let path = self.find_role(&entry.name, basedir).ok_or_else(|| {
            PlaybookError::new(
                PlaybookErrorKind::RoleNotFound,
                format!("the role '{}' was not found", entry.name),
            )
            .at(src, at, "this role")
            .help(
                "roles are looked for in `roles/` next to the playbook, the roles path \
                 (ANSIBLE_ROLES_PATH), the directory of the role that depends on it, and the \
                 playbook's directory; a collection's role is named `namespace.collection.role`",
            )
        })?;
        Ok(Arc::new(RoleFrame {
            name: entry
                .name
                .rsplit('/')
                .next()
                .unwrap_or(&entry.name)
                .to_string(),
            own: entry.own.clone(),
            path,
        }))
    }

    /// `meta/main.yml`'s `dependencies`, as entries.
    fn dependencies(
        &mut self,
        role: &RoleFrame,
    ) -> Result<Vec<(RoleEntry, Node, Arc<Document>)>, PlaybookError> {
        let Some(meta) = self.role_file(&role.path, "meta", None) else {
            return Ok(Vec::new());
        };
        let doc = self.file(&meta)?;
        let Some(deps) = doc.root.get("dependencies") else {
            return Ok(Vec::new());
        };
        let Yaml::Seq(items) = &deps.value else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .map(|i| Ok((RoleEntry::parse(i, &doc.source)?, i.clone(), doc.clone())))
            .collect()
    }

    /// `Role.compile`: the dependencies' blocks, the role's, and the
    /// implicit `meta: role_complete`.
    pub(super) fn role_blocks(
        &mut self,
        entry: &RoleEntry,
        at: &Node,
        doc: &Document,
        scope: &Scope,
        dep_chain: &[Arc<RoleFrame>],
        basedir: Option<&Path>,
    ) -> Result<Vec<Item>, PlaybookError> {
        let role = self.role_frame(entry, at, &doc.source, basedir)?;
        self.compile_role(role, entry, scope, dep_chain, false)
    }

    fn compile_role(
        &mut self,
        role: Arc<RoleFrame>,
        entry: &RoleEntry,
        scope: &Scope,
        dep_chain: &[Arc<RoleFrame>],
        handlers: bool,
    ) -> Result<Vec<Item>, PlaybookError> {
        if dep_chain.iter().any(|r| r.path == role.path) || dep_chain.len() > 64 {
            return Err(PlaybookError::new(
                PlaybookErrorKind::IncludeLoop,
                format!("the role '{}' depends on itself", role.name),
            )
            .help("remove the dependency that closes the loop from a meta/main.yml"));
        }
        let mut chain = dep_chain.to_vec();
        chain.push(role.clone());
        let mut out = Vec::new();
        for (dep, at, ddoc) in self.dependencies(&role)? {
            let basedir = role.path.parent().map(Path::to_path_buf);
            let dep_role = self.role_frame(&dep, &at, &ddoc.source, basedir.as_deref())?;
            out.extend(self.compile_role(dep_role, &dep, scope, &chain, handlers)?);
        }
        let (subdir, from) = if handlers {
            ("handlers", entry.handlers_from.as_deref())
        } else {
            ("tasks", entry.tasks_from.as_deref())
        };
        // An imported role's blocks hang from the import (`IncludeRole`).
        let inner = Scope {
            parent: scope.parent.clone(),
            role: Some(role.clone()),
            dep_chain: Some(chain),
            play: scope.play.clone(),
            dir: role.path.join(subdir),
            handlers,
            stack: scope.stack.clone(),
            vars: if self.opts.expand {
                self.role_layers(&role, entry, &scope.vars)
            } else {
                scope.vars.clone()
            },
        };
        if let Some(file) = self.role_file(&role.path, subdir, from) {
            let fdoc = self.file(&file)?;
            let mut inner = inner.clone();
            inner.stack.push(file.clone());
            out.extend(self.blocks(&fdoc.root, &fdoc, &inner)?);
        } else if let Some(f) = from {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Io,
                format!("Could not find specified file in role: {subdir}/{f}"),
            )
            .help(format!("the role is {}", role.path.display())));
        }
        if !handlers {
            out.push(self.role_complete(&role, &inner));
        }
        Ok(out)
    }

    /// A role's defaults (level 2), `vars/` (15) and params (20) on top
    /// of `outer`.
    fn role_layers(
        &mut self,
        role: &RoleFrame,
        entry: &RoleEntry,
        outer: &super::vars::Layers,
    ) -> super::vars::Layers {
        let mut layers = outer.clone();
        for (sub, level) in [("defaults", 2u8), ("vars", 15)] {
            if let Some(f) = self.role_file(&role.path, sub, None) {
                if let Ok(doc) = self.file(&f) {
                    layers = super::vars::with(&layers, level, super::vars::mapping(&doc.root));
                }
            }
        }
        let layers = super::vars::with(&layers, 20, entry.params.clone());
        super::vars::with(&layers, super::reach::MAGIC, role_magic(role))
    }

    /// `Role.get_handler_blocks` for one applied role.
    pub(super) fn role_handlers(
        &mut self,
        entry: &RoleEntry,
        at: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<Vec<Item>, PlaybookError> {
        self.role_handlers_under(entry, at, doc, scope, None)
    }

    pub(super) fn role_handlers_under(
        &mut self,
        entry: &RoleEntry,
        at: &Node,
        doc: &Document,
        scope: &Scope,
        basedir: Option<&Path>,
    ) -> Result<Vec<Item>, PlaybookError> {
        let role = self.role_frame(entry, at, &doc.source, basedir)?;
        self.compile_role(role, entry, scope, &[], true)
    }

    /// The implicit end-of-role block: `meta: role_complete`, tagged
    /// `always`, under a block with `run_once: false`.
    fn role_complete(&self, role: &Arc<RoleFrame>, scope: &Scope) -> Item {
        let bool_node = |b: bool| Node::new(Yaml::Bool(b), Default::default());
        let mut block_own = Own::new();
        block_own.insert("run_once".into(), bool_node(false));
        let frame = Arc::new(Frame {
            kind: Kind::Block,
            own: block_own,
            parent: scope.parent.clone(),
            role: Some(role.clone()),
            dep_chain: None,
            play: Some(scope.play.clone()),
            statically_loaded: true,
        });
        let mut task_own = Own::new();
        task_own.insert(
            "tags".into(),
            Node::new(
                Yaml::Seq(vec![Node::new(
                    Yaml::Str("always".into()),
                    Default::default(),
                )]),
                Default::default(),
            ),
        );
        task_own.insert("when".into(), bool_node(true));
        implicit_meta("role_complete", Some(role.name.clone()), frame, task_own)
    }
}

/// An implicit block holding one implicit `meta` task.
pub(super) fn implicit_meta(
    what: &str,
    role: Option<String>,
    frame: Arc<Frame>,
    task_own: Own,
) -> Item {
    let task = ir::Task {
        task: String::new(),
        action: "meta".into(),
        args: [(
            "_raw_params".to_string(),
            serde_json::Value::String(what.into()),
        )]
        .into_iter()
        .collect(),
        file: None,
        line: None,
        role: role.clone(),
        keywords: super::task::resolve_task(&task_own, Some(&frame), false),
        included: None,
        candidates: None,
        include_loop: None,
        when_result: None,
        when_depends: Vec::new(),
    };
    Item::Block(ir::Block {
        block: vec![Item::Task(task)],
        rescue: Vec::new(),
        always: Vec::new(),
        file: None,
        line: None,
        name: String::new(),
        role,
        keywords: super::task::resolve_block(&frame),
        finalized: false,
    })
}

/// The magic variables of a role's tasks (`role_name`, `role_path`,
/// `ansible_role_name`).
fn role_magic(role: &RoleFrame) -> indexmap::IndexMap<String, Node> {
    let text = |s: &str| Node::new(Yaml::Str(s.to_string()), Default::default());
    let short = role.name.splitn(3, '.').nth(2).unwrap_or(&role.name);
    let path = std::path::absolute(&role.path).unwrap_or_else(|_| role.path.clone());
    [
        ("role_name", text(short)),
        ("ansible_role_name", text(&role.name)),
        ("role_path", text(&path.display().to_string())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

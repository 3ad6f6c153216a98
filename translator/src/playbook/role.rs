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
use crate::yaml::{Document, Key, Node, Source, Span, Yaml};

/// Where a role was found.
pub(super) struct FoundRole {
    pub path: PathBuf,
    /// The name Ansible gives it: as written (even `../x`: Ansible keeps
    /// the name it found the role by on a search path), or `ns.coll.role`
    /// for a collection's role.
    pub name: String,
    pub collection: Option<String>,
}

/// A role as applied: `roles:` item, meta dependency or `import_role`.
pub(super) struct RoleEntry {
    pub name: String,
    /// Its keywords (`when`, `tags`, `become`, ...); role params aside.
    pub own: Own,
    pub tasks_from: Option<String>,
    pub handlers_from: Option<String>,
    /// Role params: the entry's keys that are not keywords.
    pub params: Own,
    /// Check the role's arguments against its `argument_specs` first
    /// (`rolespec_validate` of `import_role`/`include_role`, default yes).
    pub validate: bool,
    /// Collections (`ns.coll`) an unqualified name is looked for in
    /// first: the play's `collections` for `roles:`, the depending role's
    /// collection for a dependency.
    pub collections: Vec<String>,
}

impl RoleEntry {
    /// A `roles:` or `dependencies:` item: a name, or a mapping with
    /// `role:` (or `name:`), keywords and role params.
    pub fn parse(item: &Node, src: &Source) -> Result<RoleEntry, PlaybookError> {
        match &item.value {
            Yaml::Str(s) | Yaml::Unsafe(s) => Ok(RoleEntry {
                name: s.clone(),
                own: Own::default(),
                tasks_from: None,
                handlers_from: None,
                params: Own::default(),
                validate: true,
                collections: Vec::new(),
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
                    validate: true,
                    collections: Vec::new(),
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
    /// directory of the role that depends on it, if any), and the name Ansible gives it
    /// (`ns.coll.role` for a collection's role): a qualified name
    /// (`ns.coll[.subdir].role`) in its collection, an unqualified one in
    /// each of `collections` (`_get_collection_role_path`), then on the
    /// roles search path.
    pub(super) fn locate_role(
        &self,
        name: &str,
        basedir: Option<&Path>,
        collections: &[String],
    ) -> Option<FoundRole> {
        let parts: Vec<&str> = name.split('.').collect();
        let qualified = parts.len() >= 3 && !name.contains('/');
        let candidates: Vec<(String, Vec<&str>)> = if qualified {
            vec![(format!("{}.{}", parts[0], parts[1]), parts[2..].to_vec())]
        } else {
            collections
                .iter()
                .map(|c| (c.clone(), vec![name]))
                .collect()
        };
        for (collection, rest) in &candidates {
            let Some((ns, coll)) = collection.split_once('.') else {
                continue;
            };
            let Some((resource, subdirs)) = rest.split_last() else {
                continue;
            };
            for c in self.collection_dirs() {
                let mut p = c
                    .join("ansible_collections")
                    .join(ns)
                    .join(coll)
                    .join("roles");
                p.extend(subdirs);
                p.push(resource);
                if p.is_dir() {
                    return Some(FoundRole {
                        path: p,
                        name: format!("{collection}.{resource}"),
                        collection: Some(collection.clone()),
                    });
                }
            }
        }
        let mut paths = vec![self.playbook_dir.join("roles")];
        paths.extend(self.opts.roles_path.iter().cloned());
        if let Some(b) = basedir {
            paths.push(b.to_path_buf());
        }
        paths.push(self.playbook_dir.clone());
        // `unfrackpath` normalises `..` before looking, so that
        // `../x` is found from a `roles/` that does not exist. (Ansible
        // tries the name relative to its working directory last; that
        // depends on where it runs, so it is not done here.)
        paths
            .into_iter()
            .map(|p| normpath(&p.join(name)))
            .find(|p| p.is_dir())
            .map(|path| FoundRole {
                path,
                name: name.to_string(),
                collection: None,
            })
    }

    /// Where collections are looked for: `collections/` next to the
    /// playbook (and next to the imported one being loaded), then the
    /// collections path.
    pub(super) fn collection_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.base.join("collections")];
        if self.playbook_dir != self.base {
            dirs.push(self.playbook_dir.join("collections"));
        }
        dirs.extend(self.opts.collections_path.iter().cloned());
        dirs
    }

    /// `roles/x/tasks/main.yml` (or no extension, `.yaml`, `.json`, in
    /// Ansible's order); `from` names another file of the directory.
    pub(super) fn role_file(
        &self,
        role: &Path,
        subdir: &str,
        from: Option<&str>,
    ) -> Option<PathBuf> {
        let dir = role.join(subdir);
        // `main` without an extension last, a `_from` name as given first.
        let (stem, exts) = match from {
            None => ("main", [".yml", ".yaml", ".json", ""]),
            Some(f) => (f, ["", ".yml", ".yaml", ".json"]),
        };
        exts.iter()
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
        let found = self.locate_role(&entry.name, basedir, &entry.collections);
        let found = found.ok_or_else(|| {
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
            name: found.name,
            own: entry.own.clone(),
            path: found.path,
            collection: found.collection,
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
        for (mut dep, at, ddoc) in self.dependencies(&role)? {
            // A collection's role looks for its dependencies in its
            // collection first.
            dep.collections.extend(role.collection.clone());
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
            import_when: Vec::new(),
            stack: scope.stack.clone(),
            // Also without `--expand`: static imports are templated.
            vars: self.role_layers(&role, entry, &scope.vars),
        };
        let validation = if handlers || !entry.validate {
            None
        } else {
            self.validation_task(&role, entry)?
        };
        if let Some(file) = self.role_file(&role.path, subdir, from) {
            // `tasks_from: ../../x.yml` may not leave the role's directory.
            if !normpath(&file).starts_with(normpath(&role.path.join(subdir))) {
                return Err(PlaybookError::new(
                    PlaybookErrorKind::Io,
                    format!(
                        "Failed loading '{}' for role ({}) as it is not inside the expected role path: '{}'",
                        file.display(),
                        role.name,
                        role.path.join(subdir).display()
                    ),
                )
                .help(format!("name a file under the role's {subdir}/")));
            }
            let fdoc = self.file(&file)?;
            let mut inner = inner.clone();
            inner.stack.push(file.clone());
            match validation {
                Some((task, _)) => {
                    let list = match &fdoc.root.value {
                        Yaml::Seq(items) => {
                            let mut items = items.clone();
                            items.insert(0, task);
                            Node::new(Yaml::Seq(items), fdoc.root.span)
                        }
                        Yaml::Null => Node::new(Yaml::Seq(vec![task]), fdoc.root.span),
                        // Not a list: `blocks` says so.
                        _ => fdoc.root.clone(),
                    };
                    out.extend(self.blocks(&list, &fdoc, &inner)?);
                }
                None => out.extend(self.blocks(&fdoc.root, &fdoc, &inner)?),
            }
        } else if let Some(f) = from {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Io,
                format!("Could not find specified file in role: {subdir}/{f}"),
            )
            .help(format!("the role is {}", role.path.display())));
        } else if let Some((task, spec_doc)) = validation {
            let list = Node::new(Yaml::Seq(vec![task]), Span::default());
            out.extend(self.blocks(&list, &spec_doc, &inner)?);
        }
        if !handlers {
            out.push(self.role_complete(&role, &inner));
        }
        Ok(out)
    }

    /// The task `Role._prepend_validation_task` puts first in a role whose
    /// `meta/argument_specs.yml` (else `meta/main.yml`'s `argument_specs`)
    /// has a spec for the entry point (`tasks_from`, or `main`): a
    /// `validate_argument_spec` of the role params, tagged `always`. It is
    /// made by Ansible, so it has no position (its span is the default).
    /// Returns it with the document the spec was read from.
    fn validation_task(
        &mut self,
        role: &RoleFrame,
        entry: &RoleEntry,
    ) -> Result<Option<(Node, Arc<Document>)>, PlaybookError> {
        let has_own_file = [".yml", ".yaml", ".json"].iter().any(|ext| {
            role.path
                .join(format!("meta/argument_specs{ext}"))
                .is_file()
        });
        let from = has_own_file.then_some("argument_specs");
        let Some(spec_file) = self.role_file(&role.path, "meta", from) else {
            return Ok(None);
        };
        let doc = self.file(&spec_file)?;
        let entry_point = entry.tasks_from.as_deref().unwrap_or("main");
        let specs = doc.root.get("argument_specs");
        let Some(spec) = specs.and_then(|specs| specs.get(entry_point)) else {
            return Ok(None);
        };
        if !spec.value.is_truthy() {
            return Ok(None);
        }
        let node = |value: Yaml| Node::new(value, Span::default());
        let text = |s: &str| node(Yaml::Str(s.to_string()));
        let map = |entries: Vec<(&str, Node)>| {
            node(Yaml::Map(
                entries.into_iter().map(|(k, v)| (Key::str(k), v)).collect(),
            ))
        };
        let mut name = format!("Validating arguments against arg spec '{entry_point}'");
        if let Some(d) = spec.get("short_description") {
            name = format!("{name} - {}", d.value.to_py_str());
        }
        let params = entry
            .params
            .iter()
            .map(|(k, v)| (Key::str(k), v.clone()))
            .collect();
        let path = role
            .path
            .canonicalize()
            .unwrap_or_else(|_| role.path.clone());
        let task = map(vec![
            ("action", text("ansible.builtin.validate_argument_spec")),
            (
                "args",
                map(vec![
                    (
                        "argument_spec",
                        spec.get("options")
                            .cloned()
                            .unwrap_or_else(|| node(Yaml::Map(Default::default()))),
                    ),
                    ("provided_arguments", node(Yaml::Map(params))),
                    (
                        "validate_args_context",
                        map(vec![
                            ("type", text("role")),
                            ("name", text(short_name(&entry.name))),
                            ("argument_spec_name", text(entry_point)),
                            ("path", text(&path.display().to_string())),
                        ]),
                    ),
                ]),
            ),
            ("name", text(&name)),
            ("tags", node(Yaml::Seq(vec![text("always")]))),
        ]);
        Ok(Some((task, doc)))
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
        layers = super::vars::with(&layers, 20, entry.params.clone());
        // The magic `role_path` and `role_name` (without the collection).
        let text = |s: String| Node::new(Yaml::Str(s), Span::default());
        let path = role
            .path
            .canonicalize()
            .unwrap_or_else(|_| role.path.clone());
        let magic = indexmap::IndexMap::from([
            ("role_path".to_string(), text(path.display().to_string())),
            (
                "role_name".to_string(),
                text(short_name(&entry.name).to_string()),
            ),
            ("ansible_role_name".to_string(), text(entry.name.clone())),
        ]);
        super::vars::with(&layers, super::reach::MAGIC, magic)
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
        let mut block_own = Own::default();
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
        let mut task_own = Own::default();
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

/// `path` with `.` and `..` resolved lexically (`os.path.normpath`).
fn normpath(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            c => out.push(c),
        }
    }
    out
}

/// The role's `_role_name`: a collection's role (`ns.coll.role`) by its
/// own name.
fn short_name(name: &str) -> &str {
    match name.splitn(3, '.').collect::<Vec<_>>()[..] {
        [_, _, role] if !name.contains('/') => role,
        _ => name,
    }
}

/// `rolespec_validate` as Ansible's `boolean()` reads it (default yes).
pub(super) fn validate_option(value: Option<&Node>) -> bool {
    match value.map(|n| &n.value) {
        None => true,
        Some(Yaml::Str(s)) => matches!(
            s.to_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"
        ),
        Some(v) => v.is_truthy(),
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
        rendered: None,
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

#[cfg(test)]
mod tests {
    use super::normpath;
    use std::path::Path;

    #[test]
    fn paths_are_normalised_as_os_path_normpath() {
        let n = |p: &str| normpath(Path::new(p)).display().to_string();
        assert_eq!(n("pb/roles/../../x"), "x");
        assert_eq!(n("pb/roles/../../../x"), "../x");
        assert_eq!(n("../../x/./y"), "../../x/y");
        assert_eq!(n("/a/../../b"), "/b");
    }
}

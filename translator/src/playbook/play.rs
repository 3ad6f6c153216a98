//! Plays: `import_playbook` expanded in place, keywords checked, and the
//! task layout of `Play.compile()` (pre_tasks, an implicit
//! `flush_handlers`, the roles, tasks, `flush_handlers`, post_tasks,
//! `flush_handlers`) and of the handlers (roles' then the play's).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{PlaybookError, PlaybookErrorKind};
use super::ir::{self, Item, Keywords};
use super::keywords;
use super::role::{implicit_meta, RoleEntry};
use super::task::{Frame, Kind, Own, Scope};
use super::Loader;
use indexmap::IndexMap;

use crate::yaml::{Document, Key, Node, Yaml};

/// What an `import_playbook` gives each play it imports
/// (`PlaybookInclude.load_data`): its `vars` (over the play's), its `tags`
/// (added to the play's) and its `when` (put before the `when` of each
/// top-level block and role of the play).
#[derive(Debug, Clone, Default)]
pub(super) struct Import {
    vars: IndexMap<String, Node>,
    tags: Vec<Node>,
    when: Vec<Node>,
}

impl Import {
    fn of(m: &IndexMap<Key, Node>) -> Import {
        let own: Own = m.iter().map(|(k, v)| (k.to_py_str(), v.clone())).collect();
        let list = |key: &str| -> Vec<Node> {
            match own.get(key).map(|n| &n.value) {
                None | Some(Yaml::Null) => Vec::new(),
                Some(Yaml::Seq(items)) => items.clone(),
                // `_load_tags` splits a string on commas.
                Some(Yaml::Str(s)) if key == "tags" => s
                    .split(',')
                    .map(|t| Node::new(Yaml::Str(t.trim().to_string()), own[key].span))
                    .collect(),
                Some(_) => vec![own[key].clone()],
            }
        };
        Import {
            vars: super::vars::vars_of(&own),
            tags: list("tags"),
            when: list("when"),
        }
    }
}

impl Loader {
    /// The plays of the playbook at `path` (`stack`: playbooks importing it).
    pub(super) fn playbook(
        &mut self,
        path: &Path,
        stack: &[PathBuf],
    ) -> Result<Vec<ir::Play>, PlaybookError> {
        self.imported_playbook(path, stack, &[])
    }

    /// The plays of the playbook at `path`, imported by the
    /// `import_playbook`s of `imports` (outermost first).
    fn imported_playbook(
        &mut self,
        path: &Path,
        stack: &[PathBuf],
        imports: &[Import],
    ) -> Result<Vec<ir::Play>, PlaybookError> {
        // Ansible's loader has the playbook's directory as its base while
        // it loads the playbook's plays.
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let outer = std::mem::replace(&mut self.playbook_dir, dir);
        let plays = self.playbook_plays(path, stack, imports);
        self.playbook_dir = outer;
        plays
    }

    fn playbook_plays(
        &mut self,
        path: &Path,
        stack: &[PathBuf],
        imports: &[Import],
    ) -> Result<Vec<ir::Play>, PlaybookError> {
        let doc = self.file(path)?;
        let src = &doc.source;
        let items = match &doc.root.value {
            Yaml::Seq(v) => v.clone(),
            Yaml::Null => Vec::new(),
            _ => {
                return Err(PlaybookError::new(
                    PlaybookErrorKind::Structure,
                    "A playbook must be a list of plays.",
                )
                .at(src, &doc.root, "not a list")
                .help("a playbook is a YAML list of plays, each starting `- hosts: ...`"))
            }
        };
        let mut stack = stack.to_vec();
        stack.push(path.to_path_buf());
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut plays = Vec::new();
        for item in &items {
            let Yaml::Map(m) = &item.value else {
                return Err(PlaybookError::new(
                    PlaybookErrorKind::Structure,
                    "A playbook must be a list of plays, each a mapping.",
                )
                .at(src, item, "not a mapping"));
            };
            let import = m.iter().find(|(k, _)| {
                k.as_str()
                    .is_some_and(|k| super::args::is_builtin(k, "import_playbook"))
            });
            if let Some((_, target)) = import {
                let name = target.value.as_str().ok_or_else(|| {
                    PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        "import_playbook takes a file name",
                    )
                    .at(src, target, "not a file name")
                })?;
                let import = Import::of(m);
                // Templated with the import's vars and `-e`
                // (`PlaybookInclude.load_data`).
                let layers = super::vars::with(&Default::default(), 12, import.vars.clone());
                let name = if name.contains("{{") || name.contains("{%") {
                    self.render(name, &layers).ok_or_else(|| {
                        PlaybookError::new(
                            PlaybookErrorKind::Template,
                            format!("cannot template the playbook name '{name}'"),
                        )
                        .at(src, target, "here")
                        .help("import_playbook is static: its name may only use the import's `vars` and `-e`")
                    })?
                } else {
                    name.to_string()
                };
                // A collection's playbook (`ns.coll.playbook`) first; its
                // collection becomes the default one.
                let p = match self.collection_playbook(&name) {
                    Some((p, collection)) => {
                        self.default_collection = Some(collection);
                        p
                    }
                    None => dir.join(&name),
                };
                if stack.contains(&p) {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::IncludeLoop,
                        format!("{} imports itself", self.rel(&p)),
                    )
                    .at(src, target, "imported again here"));
                }
                if !p.is_file() {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Io,
                        format!("Could not find or access '{name}'"),
                    )
                    .at(src, target, "imported here")
                    .help(format!("the path is relative to {}", dir.display())));
                }
                let mut imports = imports.to_vec();
                imports.push(import);
                plays.extend(self.imported_playbook(&p, &stack, &imports)?);
                continue;
            }
            plays.push(self.play(item, &doc, &dir, &stack, imports)?);
        }
        Ok(plays)
    }

    /// `ns.coll[.subdir].name[.yml]`: `playbooks/[subdir/]name.yml` of a
    /// collection (`_get_collection_playbook_path`).
    fn collection_playbook(&self, name: &str) -> Option<(PathBuf, String)> {
        if name.contains('/') {
            return None;
        }
        let ext = [".yml", ".yaml"].into_iter().find(|e| name.ends_with(e));
        let stem = ext.map_or(name, |e| &name[..name.len() - e.len()]);
        let parts: Vec<&str> = stem.split('.').collect();
        let [ns, coll, subdirs @ .., resource] = parts.as_slice() else {
            return None;
        };
        for c in self.collection_dirs() {
            let mut dir = c
                .join("ansible_collections")
                .join(ns)
                .join(coll)
                .join("playbooks");
            dir.extend(subdirs);
            let names = match ext {
                Some(e) => vec![format!("{resource}{e}")],
                None => vec![
                    resource.to_string(),
                    format!("{resource}.yml"),
                    format!("{resource}.yaml"),
                ],
            };
            if let Some(p) = names.iter().map(|n| dir.join(n)).find(|p| p.is_file()) {
                return Some((p, format!("{ns}.{coll}")));
            }
        }
        None
    }

    fn play(
        &mut self,
        ds: &Node,
        doc: &Arc<Document>,
        dir: &Path,
        stack: &[PathBuf],
        imports: &[Import],
    ) -> Result<ir::Play, PlaybookError> {
        let src = &doc.source;
        let Yaml::Map(m) = &ds.value else {
            unreachable!("checked by the caller");
        };
        let mut own = Own::default();
        for (k, v) in m {
            let mut name = k.to_py_str();
            // `Play.preprocess_data`: `user` is the old name of `remote_user`.
            if name == "user" {
                if m.contains_key("remote_user") {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        "both 'user' and 'remote_user' are set for this play. \
                         The use of 'user' is deprecated, and should be removed",
                    )
                    .at_span(src, k.span, "the old name of remote_user")
                    .help("keep `remote_user:` only"));
                }
                name = "remote_user".into();
            }
            if !keywords::is_play_keyword(&name) {
                let help = match super::suggest_keyword(&name) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "tasks go under `tasks:` (or pre_tasks, post_tasks, handlers)".into(),
                };
                return Err(PlaybookError::new(
                    PlaybookErrorKind::UnknownKeyword,
                    format!("'{name}' is not a valid attribute for a Play"),
                )
                .at_span(src, k.span, "not a play keyword")
                .help(help));
            }
            own.insert(name, v.clone());
        }
        let import_when = apply_imports(&mut own, imports);
        if let Some(c) = &self.default_collection {
            // `_ensure_default_collection`: the default collection first.
            let mut list = super::task::play_collections(&own);
            if !list.contains(c) {
                list.insert(0, c.clone());
            }
            let items = list
                .into_iter()
                .map(|c| Node::new(Yaml::Str(c), Default::default()))
                .collect();
            own.insert(
                "collections".into(),
                Node::new(Yaml::Seq(items), Default::default()),
            );
        }
        check_vars_prompt(&own, src)?;
        let hosts = match m.get("hosts").map(|h| &h.value) {
            // `Play._validate_hosts`.
            Some(Yaml::Seq(v)) if v.is_empty() => {
                return Err(empty_hosts(src, &m["hosts"]));
            }
            Some(Yaml::Seq(v)) => {
                if let Some(bad) = v
                    .iter()
                    .find(|n| !matches!(n.value, Yaml::Str(_) | Yaml::Unsafe(_)))
                {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        format!(
                            "Hosts list contains an invalid host value: '{}'",
                            bad.value.to_py_str()
                        ),
                    )
                    .at(src, bad, "not a host pattern")
                    .help("each item of `hosts:` is a host or group pattern"));
                }
                v.iter().map(|n| n.value.to_py_str()).collect()
            }
            Some(Yaml::Str(h)) if h.is_empty() => return Err(empty_hosts(src, &m["hosts"])),
            Some(Yaml::Null) | None => {
                return Err(PlaybookError::new(
                    PlaybookErrorKind::Structure,
                    "the field 'hosts' is required but was not set",
                )
                .at(src, ds, "this play")
                .help("every play says where it runs: `hosts: all`"))
            }
            Some(h) => vec![h.to_py_str()],
        };
        let play = Arc::new(Frame {
            kind: Kind::Play,
            own: own.clone(),
            parent: None,
            role: None,
            dep_chain: None,
            play: None,
            statically_loaded: true,
        });
        let targets = if self.opts.expand {
            Some(self.play_targets(&own, &hosts))
        } else {
            None
        };
        let scope = Scope {
            parent: None,
            role: None,
            dep_chain: None,
            play: play.clone(),
            dir: dir.to_path_buf(),
            handlers: false,
            import_when: import_when.clone(),
            stack: stack.to_vec(),
            // Also without `--expand`: static imports are templated.
            vars: {
                let layers = self.play_layers(&own, &hosts, dir, &targets.clone().flatten());
                // The magic `playbook_dir`: the directory of the play's file.
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                let text = Yaml::Str(dir.display().to_string());
                let magic = IndexMap::from([(
                    "playbook_dir".to_string(),
                    Node::new(text, Default::default()),
                )]);
                super::vars::with(&layers, 22, magic)
            },
        };
        self.imported_handlers.clear();
        let section =
            |this: &mut Loader, key: &str, scope: &Scope| -> Result<Vec<Item>, PlaybookError> {
                match m.get(key) {
                    None => Ok(Vec::new()),
                    Some(list) => this.blocks(list, doc, scope),
                }
            };
        let flush = || {
            let frame = Frame::play_block(&play);
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
            implicit_meta("flush_handlers", None, frame, task_own)
        };

        let mut roles = Vec::new();
        let mut entries = Vec::new();
        if let Some(r) = m.get("roles") {
            match &r.value {
                Yaml::Seq(items) => {
                    for i in items {
                        let mut e = RoleEntry::parse(i, src)?;
                        e.collections = super::task::play_collections(&own);
                        // Role names are templated with the play's variables.
                        e.name = self.static_name(&e.name, &Own::default(), &scope, src, i)?;
                        if !import_when.is_empty() {
                            let when = prepend_when(&import_when, e.own.get("when"));
                            e.own.insert("when".into(), when);
                        }
                        // The name Ansible gives it (`ns.coll.role` when
                        // found in a collection).
                        let found = self.locate_role(&e.name, None, &e.collections);
                        roles.push(found.map_or_else(|| e.name.clone(), |f| f.name));
                        entries.push((e, i.clone()));
                    }
                }
                Yaml::Null => {}
                _ => {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        "roles must be a list",
                    )
                    .at(src, r, "not a list"))
                }
            }
        }

        if let Some(t) = &targets {
            self.enter_play(t);
        }
        let pre_tasks = section(self, "pre_tasks", &scope)?;
        let mut main_tasks = Vec::new();
        for (e, at) in &entries {
            main_tasks.extend(self.role_blocks(e, at, doc, &scope, &[], None)?);
        }
        main_tasks.extend(section(self, "tasks", &scope)?);
        let post_tasks = section(self, "post_tasks", &scope)?;
        let force_handlers = own
            .get("force_handlers")
            .is_some_and(|n| n.value.is_truthy());
        let tasks = if force_handlers {
            // `Play.compile` with `force_handlers`: each section in a block
            // of its own (a `meta: noop` if empty) that flushes handlers
            // in its `always`, so they run even after a failure.
            [pre_tasks, main_tasks, post_tasks]
                .into_iter()
                .map(|section| forced_handlers_block(section, &play, flush()))
                .collect()
        } else {
            let mut tasks = pre_tasks;
            tasks.push(flush());
            tasks.extend(main_tasks);
            tasks.push(flush());
            tasks.extend(post_tasks);
            tasks.push(flush());
            tasks
        };
        if let Some(t) = &targets {
            self.leave_play(t);
        }

        let mut handlers = Vec::new();
        let hscope = Scope {
            handlers: true,
            import_when: Vec::new(),
            ..scope.clone()
        };
        for (e, at) in &entries {
            handlers.extend(self.role_handlers(e, at, doc, &hscope)?);
        }
        handlers.extend(section(self, "handlers", &hscope)?);
        handlers.append(&mut self.imported_handlers);

        let mut keywords = Keywords::new();
        for k in keywords::PLAY_REPORTED.iter().chain(keywords::REPORTED) {
            if let Some(v) = own.get(*k) {
                let j = super::task::normalize(k, super::task::keyword_json(k, v));
                let empty = j.is_null() || j.as_array().is_some_and(Vec::is_empty);
                if empty || keywords::is_default(k, &j) {
                    continue;
                }
                // `vars_prompt` is reported by its presence only (docs/ir.md).
                let j = if *k == "vars_prompt" {
                    serde_json::Value::Bool(true)
                } else {
                    j
                };
                keywords.insert(k.to_string(), j);
            }
        }
        Ok(ir::Play {
            name: super::task::name_of(&own),
            file: src.name.clone(),
            line: ds.span.line,
            hosts,
            keywords,
            roles,
            tasks,
            handlers,
            targets,
        })
    }
}

/// One section of a play with `force_handlers` (`Play.compile`): an
/// implicit block holding the section's blocks, or `meta: noop` when it
/// has none, with the flush of handlers as its `always`.
fn forced_handlers_block(section: Vec<Item>, play: &Arc<Frame>, flush: Item) -> Item {
    let frame = Frame::play_block(play);
    let block = if section.is_empty() {
        let mut args = indexmap::IndexMap::new();
        args.insert("_raw_params".to_string(), serde_json::Value::from("noop"));
        vec![Item::Task(ir::Task {
            task: String::new(),
            action: "meta".into(),
            args,
            file: None,
            line: None,
            role: None,
            keywords: super::task::resolve_task(&Own::default(), Some(&frame), false),
            included: None,
            candidates: None,
            include_loop: None,
            when_result: None,
            when_depends: Vec::new(),
            rendered: None,
        })]
    } else {
        section
    };
    Item::Block(ir::Block {
        block,
        rescue: Vec::new(),
        always: vec![flush],
        file: None,
        line: None,
        name: String::new(),
        role: None,
        keywords: super::task::resolve_block(&frame),
        finalized: false,
    })
}

/// The play's own `vars` and `tags` with those of the `import_playbook`s
/// that import it, innermost first as Ansible applies them: `vars` over
/// the play's (a `tags` variable among them is taken out and its
/// comma-separated names added to the tags), `tags` added. Returns the
/// `when` the imports put before each top-level block and role.
fn apply_imports(own: &mut Own, imports: &[Import]) -> Vec<Node> {
    let mut when = Vec::new();
    if imports.is_empty() {
        return when;
    }
    let mut vars = super::vars::vars_of(own);
    let mut tags: Vec<Node> = match own.get("tags").map(|n| &n.value) {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Seq(items)) => items.clone(),
        Some(Yaml::Str(s)) => s
            .split(',')
            .map(|t| Node::new(Yaml::Str(t.trim().to_string()), Default::default()))
            .collect(),
        Some(_) => vec![own["tags"].clone()],
    };
    for import in imports.iter().rev() {
        vars.extend(import.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(t) = vars.shift_remove("tags") {
            tags.extend(
                t.value
                    .to_py_str()
                    .split(',')
                    .map(|t| Node::new(Yaml::Str(t.to_string()), Default::default())),
            );
        }
        tags.extend(import.tags.iter().cloned());
        when.splice(0..0, import.when.iter().cloned());
    }
    let map = |vars: IndexMap<String, Node>| {
        Yaml::Map(vars.into_iter().map(|(k, v)| (Key::str(&k), v)).collect())
    };
    own.shift_remove("vars");
    own.shift_remove("tags");
    if !vars.is_empty() {
        own.insert("vars".into(), Node::new(map(vars), Default::default()));
    }
    if !tags.is_empty() {
        own.insert(
            "tags".into(),
            Node::new(Yaml::Seq(tags), Default::default()),
        );
    }
    when
}

/// `import_when` before the `when` written on a block or role.
pub(super) fn prepend_when(import_when: &[Node], written: Option<&Node>) -> Node {
    let mut when = import_when.to_vec();
    match written.map(|n| &n.value) {
        None => {}
        Some(Yaml::Seq(items)) => when.extend(items.iter().cloned()),
        Some(_) => when.extend(written.cloned()),
    }
    Node::new(Yaml::Seq(when), Default::default())
}

fn empty_hosts(src: &crate::yaml::Source, at: &Node) -> PlaybookError {
    PlaybookError::new(
        PlaybookErrorKind::Structure,
        "Hosts list cannot be empty. Please check your playbook",
    )
    .at(src, at, "no hosts")
    .help("every play says where it runs: `hosts: all`")
}

/// `Play._load_vars_prompt`: a mapping or a list of them, each with a
/// `name` and only the keys Ansible knows.
fn check_vars_prompt(own: &Own, src: &crate::yaml::Source) -> Result<(), PlaybookError> {
    const KEYS: &[&str] = &[
        "name",
        "prompt",
        "default",
        "private",
        "confirm",
        "encrypt",
        "salt_size",
        "salt",
        "unsafe",
    ];
    let Some(vp) = own.get("vars_prompt") else {
        return Ok(());
    };
    let prompts: Vec<&Node> = match &vp.value {
        Yaml::Null => Vec::new(),
        Yaml::Map(_) => vec![vp],
        Yaml::Seq(items) => items.iter().collect(),
        _ => {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                "vars_prompt must be a mapping or a list of mappings",
            )
            .at(src, vp, "here"))
        }
    };
    for p in prompts {
        let Some(m) = p.value.as_map() else {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                "vars_prompt must be a mapping or a list of mappings",
            )
            .at(src, p, "not a mapping"));
        };
        if !m.contains_key("name") {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                "Invalid vars_prompt data structure, missing 'name' key",
            )
            .at(src, p, "no `name:`")
            .help("name the variable the prompt sets: `- name: password`"));
        }
        if let Some((k, _)) = m
            .iter()
            .find(|(k, _)| !KEYS.contains(&k.to_py_str().as_str()))
        {
            return Err(PlaybookError::new(
                PlaybookErrorKind::Structure,
                format!(
                    "Invalid vars_prompt data structure, found unsupported key '{}'",
                    k.to_py_str()
                ),
            )
            .at_span(src, k.span, "not a vars_prompt key")
            .help(format!("a prompt has {}", KEYS.join(", "))));
        }
    }
    Ok(())
}

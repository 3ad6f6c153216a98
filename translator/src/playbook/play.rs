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
use crate::yaml::{Document, Node, Yaml};

impl Loader {
    /// The plays of the playbook at `path` (`stack`: playbooks importing it).
    pub(super) fn playbook(
        &mut self,
        path: &Path,
        stack: &[PathBuf],
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
                if name.contains("{{") {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Template,
                        format!("templated playbook name '{name}'"),
                    )
                    .at(src, target, "here")
                    .help("import_playbook is static: name the file"));
                }
                let p = dir.join(name);
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
                plays.extend(self.playbook(&p, &stack)?);
                continue;
            }
            plays.push(self.play(item, &doc, &dir, &stack)?);
        }
        Ok(plays)
    }

    fn play(
        &mut self,
        ds: &Node,
        doc: &Arc<Document>,
        dir: &Path,
        stack: &[PathBuf],
    ) -> Result<ir::Play, PlaybookError> {
        let src = &doc.source;
        let Yaml::Map(m) = &ds.value else {
            unreachable!("checked by the caller");
        };
        let mut own = Own::new();
        for (k, v) in m {
            let name = k.to_py_str();
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
        let hosts = match m.get("hosts").map(|h| &h.value) {
            Some(Yaml::Seq(v)) => v.iter().map(|n| n.value.to_py_str()).collect(),
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
            stack: stack.to_vec(),
            vars: if let Some(t) = &targets {
                self.play_layers(&own, &hosts, dir, t)
            } else {
                Default::default()
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
            let frame = Arc::new(Frame {
                kind: Kind::Block,
                own: Own::new(),
                parent: None,
                role: None,
                dep_chain: None,
                play: Some(play.clone()),
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
            implicit_meta("flush_handlers", None, frame, task_own)
        };

        let mut roles = Vec::new();
        let mut entries = Vec::new();
        if let Some(r) = m.get("roles") {
            match &r.value {
                Yaml::Seq(items) => {
                    for i in items {
                        let e = RoleEntry::parse(i, src)?;
                        roles.push(e.name.clone());
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
        let mut tasks = section(self, "pre_tasks", &scope)?;
        tasks.push(flush());
        for (e, at) in &entries {
            tasks.extend(self.role_blocks(e, at, doc, &scope, &[], None)?);
        }
        tasks.extend(section(self, "tasks", &scope)?);
        tasks.push(flush());
        tasks.extend(section(self, "post_tasks", &scope)?);
        tasks.push(flush());
        if let Some(t) = &targets {
            self.leave_play(t);
        }

        let mut handlers = Vec::new();
        let hscope = Scope {
            handlers: true,
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
                if !empty {
                    keywords.insert(k.to_string(), j);
                }
            }
        }
        Ok(ir::Play {
            name: own
                .get("name")
                .map(|n| n.value.to_py_str())
                .unwrap_or_default(),
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

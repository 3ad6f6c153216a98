//! Dynamic includes expanded before anything runs (`--expand`): an
//! `include_tasks` or `include_role` whose file or role name is known from
//! static variables is loaded as the linear strategy would load it
//! (`IncludedFile`, `IncludeRole.get_block_list`): its blocks hang from the
//! include, which is *not* statically loaded, so they inherit keywords
//! from the include's parent, not from the include itself.
//!
//! A name that depends on run-time data keeps the include as it is, with
//! the files it could name (`candidates`); an include of a file already
//! being included is marked `loop`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::{self, is_builtin};
use super::error::PlaybookError;
use super::ir::{self, Included};
use super::role::RoleEntry;
use super::task::{Frame, Kind, Own, Scope};
use super::Loader;
use crate::yaml::{Document, Node, Yaml};

/// A name as the include gives it, resolved or not.
enum Name {
    Known(String),
    /// Depends on names not known statically; the text as a glob.
    Unknown(String),
}

impl Loader {
    pub(super) fn expand(
        &mut self,
        task: &mut ir::Task,
        parsed: &args::Parsed,
        own: Own,
        ds: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<(), PlaybookError> {
        let arg = |k: &str| {
            parsed
                .args
                .get(k)
                .and_then(|n| n.value.as_str())
                .filter(|v| !is_omit(v))
                .map(str::to_string)
        };
        let terms_of_loop = loop_terms(&own);
        // The include's own `vars:` are its params (level 21).
        let layers = super::vars::with(&scope.vars, 21, super::vars::vars_of(&own));
        let include = Arc::new(Frame {
            kind: Kind::Include,
            own,
            parent: scope.parent.clone(),
            role: None,
            dep_chain: None,
            play: None,
            statically_loaded: false,
        });
        let parent = apply_block(parsed, include, scope);
        let role = is_builtin(&parsed.action, "include_role");
        let raw = if role {
            arg("name").or_else(|| arg("role"))
        } else {
            arg("_raw_params")
        };
        let Some(raw) = raw else {
            return Ok(());
        };
        // The oracle's glob of the name: with a loop over literal terms and
        // the name using the loop variable, one glob per term.
        let globs = |this: &Loader, glob: String| -> Vec<String> {
            match &terms_of_loop {
                Some((var, terms)) if has_var(&raw, var) => terms
                    .iter()
                    .map(|t| {
                        let term = match this.resolve(t, &layers) {
                            Name::Known(k) => escape_glob(&k),
                            Name::Unknown(g) => g,
                        };
                        replace_var(&raw, var, &term, |rest| match this.resolve(rest, &layers) {
                            Name::Known(k) => escape_glob(&k),
                            Name::Unknown(g) => g,
                        })
                    })
                    .collect(),
                _ => vec![glob],
            }
        };
        let name = match self.resolve(&raw, &layers) {
            Name::Known(name) => name,
            Name::Unknown(glob) => {
                let mut all: Vec<String> = Vec::new();
                for g in globs(self, glob) {
                    all.extend(if role {
                        self.role_candidates(&g, arg("tasks_from").filter(|t| !t.contains("{{")))
                    } else {
                        self.file_candidates(&g, scope)
                    });
                }
                // The oracle lists them sorted, once each.
                all.sort();
                all.dedup();
                task.candidates = Some(all);
                return Ok(());
            }
        };
        // What the include loads is read when it runs: a file or role that
        // cannot be loaded (missing, malformed) fails then, not the
        // playbook, and the include stays as it is.
        // The included tasks see the include's params.
        let scope = &Scope {
            vars: layers.clone(),
            ..scope.clone()
        };
        let loaded = if role {
            let entry = RoleEntry {
                name,
                own: Own::default(),
                tasks_from: arg("tasks_from").map(|t| self.resolve_or_raw(&t, &layers)),
                handlers_from: arg("handlers_from").map(|t| self.resolve_or_raw(&t, &layers)),
                params: Own::default(),
                validate: super::role::validate_option(parsed.args.get("rolespec_validate")),
                collections: scope.role_collections(),
            };
            self.include_role(task, entry, parent, ds, doc, scope)
        } else {
            self.include_tasks(task, &name, parent, ds, doc, scope)
        };
        if loaded.is_err() {
            task.included = None;
        }
        Ok(())
    }

    /// `include_role` of a role whose name is known.
    fn include_role(
        &mut self,
        task: &mut ir::Task,
        entry: RoleEntry,
        parent: Arc<Frame>,
        ds: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<(), PlaybookError> {
        let inner = Scope {
            parent: Some(parent),
            ..scope.clone()
        };
        let basedir = scope
            .role
            .as_ref()
            .and_then(|r| r.path.parent().map(Path::to_path_buf));
        let chain = scope.role.iter().cloned().collect::<Vec<_>>();
        let path = self
            .locate_role(&entry.name, basedir.as_deref(), &entry.collections)
            .map(|found| found.path);
        if let Some(path) = &path {
            // A role including itself from its tasks (the playbook may
            // be inside the role's directory: only its tasks count).
            if scope
                .stack
                .iter()
                .any(|p| p.starts_with(path.join("tasks")))
            {
                task.include_loop = Some(true);
                return Ok(());
            }
        }
        let tasks = self.role_blocks(&entry, ds, doc, &inner, &chain, basedir.as_deref())?;
        let hscope = Scope {
            handlers: true,
            ..inner.clone()
        };
        let handlers = self.role_handlers_under(&entry, ds, doc, &hscope, basedir.as_deref())?;
        // The role's tasks file, or the role itself when it has none.
        let file = path
            .map(|p| {
                let tasks = self.role_file(&p, "tasks", entry.tasks_from.as_deref());
                self.rel(tasks.as_deref().unwrap_or(&p))
            })
            .unwrap_or(entry.name.clone());
        task.included = Some(Included {
            file,
            tasks,
            handlers: Some(handlers),
        });
        Ok(())
    }

    /// `include_tasks` of a file whose name is known.
    fn include_tasks(
        &mut self,
        task: &mut ir::Task,
        name: &str,
        parent: Arc<Frame>,
        ds: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<(), PlaybookError> {
        let Some(path) = self.find_task_file(name, scope, "tasks") else {
            return Ok(());
        };
        if scope.stack.iter().any(|p| p == &path) {
            task.include_loop = Some(true);
            return Ok(());
        }
        let tasks = self.load_task_file(&path, ds, doc, scope, parent)?;
        task.included = Some(Included {
            file: self.rel(&path),
            tasks,
            handlers: None,
        });
        Ok(())
    }

    /// The include's name, templated with the variables known statically.
    fn resolve(&self, raw: &str, layers: &super::vars::Layers) -> Name {
        if !raw.contains("{{") && !raw.contains("{%") {
            return Name::Known(raw.to_string());
        }
        match self.render(raw, layers) {
            Some(name) => Name::Known(name),
            None => Name::Unknown(jinja_to_glob(raw)),
        }
    }

    fn resolve_or_raw(&self, raw: &str, layers: &super::vars::Layers) -> String {
        match self.resolve(raw, layers) {
            Name::Known(s) => s,
            Name::Unknown(_) => raw.to_string(),
        }
    }

    /// Task files the glob matches, next to the including file and in the
    /// role's `tasks/`.
    fn file_candidates(&self, glob: &str, scope: &Scope) -> Vec<String> {
        let mut dirs: Vec<PathBuf> = vec![scope.dir.clone()];
        if let Some(r) = &scope.role {
            dirs.push(r.path.join("tasks"));
        }
        let (dir_part, file_glob) = match glob.rsplit_once('/') {
            Some((d, f)) => (Some(d), f),
            None => (None, glob),
        };
        let mut out: Vec<String> = Vec::new();
        for d in dirs {
            let d = match dir_part {
                Some(sub) if !sub.contains('*') => d.join(sub),
                _ => d,
            };
            for (p, f) in sorted_entries(&d) {
                if p.is_file() && glob_match(file_glob, &f) {
                    let r = self.rel(&p);
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        }
        out
    }

    /// The task files of the roles on the search path whose names the
    /// glob matches (`tasks/main.yml`, or `tasks_from` when it is static).
    fn role_candidates(&self, glob: &str, tasks_from: Option<String>) -> Vec<String> {
        let mut dirs = vec![self.playbook_dir.join("roles")];
        dirs.extend(self.opts.roles_path.iter().cloned());
        dirs.push(self.playbook_dir.clone());
        let mut out = Vec::new();
        for d in dirs {
            for (p, f) in sorted_entries(&d) {
                if p.is_dir() && glob_match(glob, &f) {
                    if let Some(tasks) = self.role_file(&p, "tasks", tasks_from.as_deref()) {
                        out.push(self.rel(&tasks));
                    }
                }
            }
        }
        out
    }
}

/// The parent of what an include loads: the include itself, or with
/// `apply:` a block of those keywords under it (`build_parent_block`).
fn apply_block(parsed: &args::Parsed, include: Arc<Frame>, scope: &Scope) -> Arc<Frame> {
    let Some(Yaml::Map(apply)) = parsed.args.get("apply").map(|n| &n.value) else {
        return include;
    };
    if apply.is_empty() {
        return include;
    }
    Arc::new(Frame {
        kind: Kind::Block,
        own: apply
            .iter()
            .map(|(k, v)| (k.to_py_str(), v.clone()))
            .collect(),
        parent: Some(include),
        role: scope.role.clone(),
        dep_chain: None,
        play: Some(scope.play.clone()),
        statically_loaded: true,
    })
}

/// `{{ omit }}`: the argument is left out.
fn is_omit(text: &str) -> bool {
    text.trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .is_some_and(|t| t.trim() == "omit")
}

/// The loop variable (`loop_control.loop_var`, else `item`) and the
/// string terms of a literal loop, `with_first_found`'s `files:` included.
fn loop_terms(own: &Own) -> Option<(String, Vec<String>)> {
    let var = own
        .get("loop_control")
        .and_then(|lc| lc.get("loop_var"))
        .and_then(|v| v.value.as_str())
        .unwrap_or("item")
        .to_string();
    let Yaml::Seq(items) = &own.get("loop")?.value else {
        return None;
    };
    let mut terms = Vec::new();
    for i in items {
        match &i.value {
            Yaml::Str(s) | Yaml::Unsafe(s) => terms.push(s.clone()),
            Yaml::Map(_) => match i.get("files").map(|f| &f.value) {
                Some(Yaml::Seq(fs)) => terms.extend(
                    fs.iter()
                        .filter_map(|f| f.value.as_str().map(str::to_string)),
                ),
                Some(Yaml::Str(s)) => terms.extend(s.split(',').map(|x| x.trim().to_string())),
                _ => {}
            },
            _ => {}
        }
    }
    Some((var, terms))
}

/// `{{ var }}` appears in `text` (spaces inside the braces free).
fn has_var(text: &str, var: &str) -> bool {
    find_var(text, var).is_some()
}

fn find_var(text: &str, var: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = text[from..].find("{{") {
        let start = from + i;
        let end = start + text[start..].find("}}")? + 2;
        if text[start + 2..end - 2].trim() == var {
            return Some((start, end));
        }
        from = end;
    }
    None
}

/// `text` with `{{ var }}` replaced by `term`, and the rest globbed by `glob`.
fn replace_var(text: &str, var: &str, term: &str, glob: impl Fn(&str) -> String) -> String {
    match find_var(text, var) {
        Some((s, e)) => format!("{}{term}{}", glob(&text[..s]), glob(&text[e..])),
        None => glob(text),
    }
}

/// Every `{{ ... }}` and `{% ... %}` as `*` (the oracle's `_jinja_to_glob`).
fn jinja_to_glob(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let next = [("{{", "}}"), ("{%", "%}")]
            .iter()
            .filter_map(|(o, c)| rest.find(o).map(|i| (i, *c)))
            .min_by_key(|(i, _)| *i);
        let Some((i, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i]);
        match rest[i + 2..].find(close) {
            Some(j) => {
                out.push('*');
                rest = &rest[i + 2 + j + 2..];
            }
            None => {
                out.push('*');
                return out;
            }
        }
    }
}

fn escape_glob(s: &str) -> String {
    // The matcher only knows `*`; names with one are rare enough.
    s.to_string()
}

/// A directory's entries with their names, sorted (none if unreadable).
fn sorted_entries(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, String)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            let name = p
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            (p, name)
        })
        .collect();
    out.sort();
    out
}

/// `*` matches any run of characters.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text.ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn jinja_becomes_a_glob() {
        assert_eq!(
            super::jinja_to_glob("configure{% if d %}-Docker{% endif %}.yml"),
            "configure*-Docker*.yml"
        );
        assert_eq!(super::jinja_to_glob("{{ a }}-{{ b }}.yml"), "*-*.yml");
        assert_eq!(super::jinja_to_glob("x{{ open"), "x*");
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.yml", "deploy.yml"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("*.yml", "deploy.yaml"));
        assert!(glob_match("deploy.yml", "deploy.yml"));
    }
}

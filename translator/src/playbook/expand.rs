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
                .map(str::to_string)
        };
        let terms_of_loop = loop_terms(&own);
        // The include's own `vars:` are its params (level 21).
        let layers = super::vars::with(&scope.vars, 21, super::vars::vars_of(&own));
        let frame = Arc::new(Frame {
            kind: Kind::Include,
            own,
            parent: scope.parent.clone(),
            role: None,
            dep_chain: None,
            play: None,
            statically_loaded: false,
        });
        if is_builtin(&parsed.action, "include_role") {
            let Some(raw) = arg("name").or_else(|| arg("role")) else {
                return Ok(());
            };
            match self.resolve(&raw, &layers) {
                Name::Known(name) => {
                    let entry = RoleEntry {
                        name,
                        own: Own::new(),
                        tasks_from: arg("tasks_from").map(|t| self.resolve_or_raw(&t, &layers)),
                        handlers_from: arg("handlers_from")
                            .map(|t| self.resolve_or_raw(&t, &layers)),
                        params: Own::new(),
                    };
                    // The included tasks see the include's params.
                    let inner = Scope {
                        parent: Some(frame),
                        vars: layers.clone(),
                        ..scope.clone()
                    };
                    let basedir = scope
                        .role
                        .as_ref()
                        .and_then(|r| r.path.parent().map(Path::to_path_buf));
                    let chain = scope.role.iter().cloned().collect::<Vec<_>>();
                    if let Some(path) = self.find_role(&entry.name, basedir.as_deref()) {
                        if scope.stack.iter().any(|p| p.starts_with(&path)) {
                            task.include_loop = Some(true);
                            return Ok(());
                        }
                    }
                    let tasks =
                        self.role_blocks(&entry, ds, doc, &inner, &chain, basedir.as_deref())?;
                    let hscope = Scope {
                        handlers: true,
                        ..inner.clone()
                    };
                    let handlers =
                        self.role_handlers_under(&entry, ds, doc, &hscope, basedir.as_deref())?;
                    let file = self
                        .find_role(&entry.name, basedir.as_deref())
                        .and_then(|p| self.role_file(&p, "tasks", entry.tasks_from.as_deref()))
                        .map(|p| self.rel(&p))
                        .unwrap_or(entry.name.clone());
                    task.included = Some(Included {
                        file,
                        tasks,
                        handlers: Some(handlers),
                    });
                }
                Name::Unknown(glob) => {
                    task.candidates = Some(self.role_candidates(&glob));
                }
            }
            return Ok(());
        }
        let Some(raw) = arg("_raw_params").or_else(|| arg("file")) else {
            return Ok(());
        };
        match self.resolve(&raw, &layers) {
            Name::Known(name) => {
                let Some(path) = self.find_task_file(&name, scope, "tasks") else {
                    return Ok(());
                };
                if scope.stack.iter().any(|p| p == &path) {
                    task.include_loop = Some(true);
                    return Ok(());
                }
                let with_params = Scope {
                    vars: layers.clone(),
                    ..scope.clone()
                };
                let tasks = self.load_task_file(&path, ds, doc, &with_params, frame)?;
                task.included = Some(Included {
                    file: self.rel(&path),
                    tasks,
                    handlers: None,
                });
            }
            Name::Unknown(glob) => {
                let globs = match terms_of_loop {
                    Some((var, terms)) if has_var(&raw, &var) => terms
                        .iter()
                        .map(|t| {
                            let term = match self.resolve(t, &layers) {
                                Name::Known(k) => escape_glob(&k),
                                Name::Unknown(g) => g,
                            };
                            replace_var(&raw, &var, &term, |rest| {
                                match self.resolve(rest, &layers) {
                                    Name::Known(k) => escape_glob(&k),
                                    Name::Unknown(g) => g,
                                }
                            })
                        })
                        .collect(),
                    _ => vec![glob],
                };
                let mut all: Vec<String> = Vec::new();
                for g in globs {
                    for c in self.file_candidates(&g, scope) {
                        if !all.contains(&c) {
                            all.push(c);
                        }
                    }
                }
                task.candidates = Some(all);
            }
        }
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
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut names: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            for p in names {
                let f = p
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default();
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

    /// Roles on the search path whose names the glob matches.
    fn role_candidates(&self, glob: &str) -> Vec<String> {
        let mut dirs = vec![self.base.join("roles")];
        dirs.extend(self.opts.roles_path.iter().cloned());
        let mut out = Vec::new();
        for d in dirs {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            let mut names: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            for p in names {
                let f = p
                    .file_name()
                    .map(|f| f.to_string_lossy().to_string())
                    .unwrap_or_default();
                if p.is_dir() && glob_match(glob, &f) {
                    out.push(self.rel(&p));
                }
            }
        }
        out
    }
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

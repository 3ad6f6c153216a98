//! A task's action and arguments from the forms Ansible accepts: a port of
//! `ansible/parsing/mod_args.py` (`ModuleArgsParser.parse`), ansible-core
//! 2.19:
//!
//! ```yaml
//! - command: echo hi chdir=/tmp      # module: free-form text and k=v
//! - copy: src=a dest=b               # module: k=v string
//! - copy: {src: a, dest: b}          # module: mapping
//! - action: copy src=a dest=b        # old style
//! - local_action: command echo hi    # old style, delegate_to: localhost
//! - command: echo hi
//!   args: {chdir: /tmp}              # merged under the module's own args
//! ```
//!
//! Ansible resolves candidate action names through its plugin loader; we
//! have no plugins, so every key that is not a task keyword is taken as the
//! action (two of them conflict, as in Ansible).

use indexmap::IndexMap;

use super::error::{PlaybookError, PlaybookErrorKind};
use super::keywords::is_task_keyword;
use super::splitter::{parse_kv, split_args};
use crate::yaml::{Key, Node, Source, Span, Yaml};

/// What `ModuleArgsParser.parse` returns.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub action: String,
    pub args: IndexMap<String, Node>,
    pub delegate_to: Option<Node>,
}

/// Modules whose string form is free text (`C.MODULE_REQUIRE_ARGS`).
pub fn is_freeform(action: &str) -> bool {
    let short = short_name(action);
    matches!(
        short,
        "command" | "raw" | "script" | "shell" | "win_command" | "win_shell"
    ) && (action == short
        || action.starts_with("ansible.builtin.")
        || action.starts_with("ansible.legacy.")
        || action.starts_with("ansible.windows."))
}

/// `ansible.builtin.copy` → `copy`; other names as they are.
pub fn short_name(action: &str) -> &str {
    action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .or_else(|| action.strip_prefix("ansible.windows."))
        .unwrap_or(action)
}

/// Whether `action` is one of Ansible's own `name` (with or without its
/// `ansible.builtin.`/`ansible.legacy.` prefix).
pub fn is_builtin(action: &str, name: &str) -> bool {
    action == name
        || action.strip_prefix("ansible.builtin.") == Some(name)
        || action.strip_prefix("ansible.legacy.") == Some(name)
}

fn err(src: &Source, span: Span, msg: impl Into<String>, label: &str) -> PlaybookError {
    PlaybookError::new(PlaybookErrorKind::ModuleArgs, msg).at_span(src, span, label)
}

/// Parse the task mapping `ds` (written at `at` in `src`).
pub fn parse(
    ds: &IndexMap<Key, Node>,
    handler: bool,
    src: &Source,
    at: &Node,
) -> Result<Parsed, PlaybookError> {
    let mut action: Option<String> = None;
    let mut args: IndexMap<String, Node> = IndexMap::new();
    let mut delegate_to = ds.get("delegate_to").cloned();
    let additional = ds.get("args");

    if let Some(thing) = ds.get("action") {
        let (a, ar) = old_style(thing, src)?;
        action = Some(a);
        args = ar;
    }
    if let Some(thing) = ds.get("local_action") {
        if action.is_some() {
            return Err(err(
                src,
                at.span,
                "action and local_action are mutually exclusive",
                "this task",
            )
            .help("keep one of `action:` and `local_action:`"));
        }
        let (a, ar) = old_style(thing, src)?;
        action = Some(a);
        args = ar;
        delegate_to = Some(Node::new(Yaml::Str("localhost".into()), thing.span));
    }
    for (k, v) in ds {
        let Some(name) = k.as_str() else { continue };
        if is_task_keyword(name, handler) {
            continue;
        }
        if let Some(first) = &action {
            let hint = crate::playbook::suggest_keyword(name)
                .map(|s| format!("`{name}` is not a task keyword: did you mean `{s}`?"))
                .unwrap_or_else(|| "a task runs one module: split it into two tasks".into());
            return Err(err(
                src,
                k.span,
                format!("conflicting action statements: {first}, {name}"),
                "a second action",
            )
            .help(hint));
        }
        action = Some(name.to_string());
        args = new_style(name, v, src)?;
    }
    let Some(action) = action else {
        return Err(err(
            src,
            at.span,
            "no module/action detected in task.",
            "this task",
        )
        .help("a task names a module: `- ansible.builtin.command: echo hi`"));
    };

    // Only Ansible sets `_ansible_*` arguments (free-form text aside).
    if !is_freeform(&action) {
        if let Some(k) = args.keys().find(|k| k.starts_with("_ansible_")) {
            return Err(err(
                src,
                at.span,
                format!(
                    "Invalid parameter specified beginning with keyword '_ansible_' for action \
                     '{action}': '{k}'. The prefix '_ansible_' is reserved for internal use only."
                ),
                "this task",
            ));
        }
    }
    // `args:` first, then the module's own arguments over them.
    let mut merged: IndexMap<String, Node> = IndexMap::new();
    match additional.map(|n| (n, &n.value)) {
        None | Some((_, Yaml::Null)) => {}
        Some((n, Yaml::Str(s))) if is_possibly_all_template(s) => {
            merged.insert("_variable_params".into(), n.clone());
        }
        Some((_, Yaml::Map(m))) => {
            for (k, v) in m {
                merged.insert(k.to_py_str(), v.clone());
            }
        }
        Some((n, _)) => {
            return Err(err(
                src,
                n.span,
                "The value of the task `args` keyword is invalid.",
                "not a mapping",
            )
            .help("A mapping or template which resolves to a mapping is required."))
        }
    }
    merged.extend(args);
    Ok(Parsed {
        action,
        args: merged,
        delegate_to,
    })
}

/// The options of `include_tasks`/`import_tasks` (`TaskInclude.check_options`)
/// and `include_role`/`import_role` (`IncludeRole.load`), checked as
/// Ansible checks them when loading; `file: x` becomes `_raw_params: x`.
pub fn check_include_options(
    parsed: &mut Parsed,
    src: &Source,
    at: &Node,
) -> Result<(), PlaybookError> {
    let action = parsed.action.clone();
    let tasks = is_builtin(&action, "include_tasks") || is_builtin(&action, "import_tasks");
    let roles = is_builtin(&action, "include_role") || is_builtin(&action, "import_role");
    if !tasks && !roles {
        return Ok(());
    }
    let valid: &[&str] = if tasks {
        &["file", "_raw_params", "apply"]
    } else {
        &[
            "name",
            "role",
            "tasks_from",
            "vars_from",
            "defaults_from",
            "handlers_from",
            "apply",
            "public",
            "allow_duplicates",
            "rolespec_validate",
        ]
    };
    let bad: Vec<&str> = parsed
        .args
        .keys()
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if !bad.is_empty() {
        return Err(err(
            src,
            at.span,
            format!("Invalid options for {action}: {}", bad.join(",")),
            "this task",
        )
        .help(format!("{action} takes {}", valid.join(", "))));
    }
    if tasks {
        let raw = parsed.args.get("_raw_params").map(|n| n.value.is_truthy());
        if raw != Some(true) {
            let file = parsed.args.shift_remove("file");
            match file {
                Some(f) if f.value.is_truthy() => {
                    parsed.args.insert("_raw_params".into(), f);
                }
                _ => {
                    return Err(err(
                        src,
                        at.span,
                        format!("No file specified for {action}"),
                        "this task",
                    )
                    .help(format!("write `{action}: file.yml`")))
                }
            }
        }
    } else {
        for (k, v) in &parsed.args {
            if k.ends_with("_from") && !matches!(v.value, Yaml::Str(_) | Yaml::Unsafe(_)) {
                return Err(err(
                    src,
                    v.span,
                    format!(
                        "Expected a string for {k} but got {} instead",
                        v.value.type_name()
                    ),
                    "not a string",
                ));
            }
        }
    }
    // `apply` is for the dynamic includes only: imports inherit directly.
    if let Some(apply) = parsed.args.get("apply") {
        let include = is_builtin(&action, "include_tasks") || is_builtin(&action, "include_role");
        if apply.value.is_truthy() && !include {
            return Err(err(
                src,
                apply.span,
                format!("Invalid options for {action}: apply"),
                "apply",
            )
            .help("an import's keywords already apply to what it imports"));
        }
        if !matches!(apply.value, Yaml::Map(_)) {
            return Err(err(
                src,
                apply.span,
                format!(
                    "Expected a dict for apply but got {} instead",
                    apply.value.type_name()
                ),
                "not a mapping",
            ));
        }
    }
    Ok(())
}

/// `{{ x }}` and nothing else (Ansible's `is_possibly_all_template`).
fn is_possibly_all_template(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("{{") && t.ends_with("}}")
}

/// `module: ARGS` (the module is known).
fn new_style(
    action: &str,
    thing: &Node,
    src: &Source,
) -> Result<IndexMap<String, Node>, PlaybookError> {
    match &thing.value {
        Yaml::Map(m) => Ok(m.iter().map(|(k, v)| (k.to_py_str(), v.clone())).collect()),
        Yaml::Str(s) | Yaml::Unsafe(s) => kv(s, is_freeform(action), thing, src),
        Yaml::Vault(_) => Ok(IndexMap::from([("_raw_params".to_string(), thing.clone())])),
        Yaml::Null => Ok(IndexMap::new()),
        other => Err(err(
            src,
            thing.span,
            format!("unexpected parameter type in action: {}", other.type_name()),
            "arguments",
        )
        .help("give the module's arguments as a mapping or a `k=v` string")),
    }
}

/// `action: module ARGS` or `local_action: ...`; an `args` among the
/// arguments is merged into them (`_normalize_parameters`).
fn old_style(
    thing: &Node,
    src: &Source,
) -> Result<(String, IndexMap<String, Node>), PlaybookError> {
    let (module, mut args) = old_style_args(thing, src)?;
    if let Some(inner) = args.shift_remove("args") {
        match &inner.value {
            Yaml::Str(s) | Yaml::Unsafe(s) => args.extend(kv(s, false, &inner, src)?),
            Yaml::Map(m) => args.extend(m.iter().map(|(k, v)| (k.to_py_str(), v.clone()))),
            Yaml::Null => {}
            _ => {
                return Err(err(
                    src,
                    inner.span,
                    "the action's `args` must be a mapping",
                    "here",
                )
                .help("write `args:` as a mapping of the module's arguments"))
            }
        }
    }
    Ok((module, args))
}

fn old_style_args(
    thing: &Node,
    src: &Source,
) -> Result<(String, IndexMap<String, Node>), PlaybookError> {
    match &thing.value {
        Yaml::Str(s) | Yaml::Unsafe(s) => {
            let (module, rest) = split_module_string(s, thing, src)?;
            let args = kv(&rest, is_freeform(&module), thing, src)?;
            Ok((module, args))
        }
        Yaml::Map(m) if m.contains_key("module") => {
            let module_node = &m["module"];
            let text = module_node.value.as_str().unwrap_or_default();
            let (module, rest) = split_module_string(text, module_node, src)?;
            let mut args: IndexMap<String, Node> = m
                .iter()
                .filter(|(k, _)| k.as_str() != Some("module"))
                .map(|(k, v)| (k.to_py_str(), v.clone()))
                .collect();
            args.extend(kv(&rest, is_freeform(&module), module_node, src)?);
            Ok((module, args))
        }
        _ => Err(err(
            src,
            thing.span,
            format!(
                "unexpected parameter type in action: {}",
                thing.value.type_name()
            ),
            "here",
        )
        .help("write `action: module k=v ...`")),
    }
}

fn split_module_string(
    s: &str,
    at: &Node,
    src: &Source,
) -> Result<(String, String), PlaybookError> {
    let tokens = split_args(s).map_err(|e| err(src, at.span, e.to_string(), "here"))?;
    match tokens.split_first() {
        None => Err(
            err(src, at.span, "no module/action detected in task.", "empty")
                .help("write `action: module k=v ...`"),
        ),
        Some((first, rest)) => Ok((first.trim().to_string(), rest.join(" "))),
    }
}

fn kv(
    text: &str,
    check_raw: bool,
    at: &Node,
    src: &Source,
) -> Result<IndexMap<String, Node>, PlaybookError> {
    let parsed = parse_kv(text, check_raw).map_err(|e| {
        err(src, at.span, e.to_string(), "here")
            .help("close every quote and `{{ }}` in the arguments")
    })?;
    Ok(parsed
        .into_iter()
        .map(|(k, v)| (k, Node::new(Yaml::Str(v), at.span)))
        .collect())
}

//! Which keywords each kind of object accepts, and how a value is
//! inherited from the objects around it (ansible-core 2.19's
//! `FieldAttribute`s: `python -c 'from ansible.playbook.task import Task;
//! print(sorted(Task.fattributes))'`).

/// Keywords every playbook object has (`Base`, `Become`, `Conditional`,
/// `Taggable`, `CollectionSearch`).
const BASE: &[&str] = &[
    "any_errors_fatal",
    "become",
    "become_exe",
    "become_flags",
    "become_method",
    "become_user",
    "check_mode",
    "collections",
    "connection",
    "debugger",
    "diff",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "module_defaults",
    "name",
    "no_log",
    "port",
    "remote_user",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "vars",
];

/// A task's own keywords (besides [`BASE`] and the action).
const TASK: &[&str] = &[
    "action",
    "args",
    "async",
    "changed_when",
    "delay",
    "delegate_facts",
    "delegate_to",
    "failed_when",
    "loop",
    "loop_control",
    "notify",
    "poll",
    "register",
    "retries",
    "until",
    "when",
    // Not attributes, but `ModuleArgsParser` takes them as keywords.
    "local_action",
    "static",
];

const BLOCK: &[&str] = &[
    "block",
    "rescue",
    "always",
    "delegate_facts",
    "delegate_to",
    "notify",
    "when",
];

const PLAY: &[&str] = &[
    "fact_path",
    "force_handlers",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "handlers",
    "hosts",
    "max_fail_percentage",
    "order",
    "post_tasks",
    "pre_tasks",
    "roles",
    "serial",
    "strategy",
    "tasks",
    "vars_files",
    "vars_prompt",
];

/// Keys of a `roles:` entry that are keywords; the others are role params.
const ROLE: &[&str] = &["role", "when"];

pub fn is_task_keyword(k: &str, handler: bool) -> bool {
    BASE.contains(&k) || TASK.contains(&k) || (handler && k == "listen") || k.starts_with("with_")
}

pub fn is_block_keyword(k: &str) -> bool {
    BASE.contains(&k) || BLOCK.contains(&k)
}

pub fn is_play_keyword(k: &str) -> bool {
    BASE.contains(&k) || PLAY.contains(&k)
}

pub fn is_role_keyword(k: &str) -> bool {
    BASE.contains(&k) || ROLE.contains(&k)
}

/// Every keyword a play, block or task may have, for "did you mean".
pub fn all() -> impl Iterator<Item = &'static str> {
    BASE.iter().chain(TASK).chain(BLOCK).chain(PLAY).copied()
}

/// How a keyword combines with the value of the object around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inherit {
    /// Not inherited: the object's own value only.
    Own,
    /// The nearest object that sets it.
    Nearest,
    /// Lists concatenated, the outermost first (`when`, `environment`,
    /// `module_defaults`).
    Prepend,
    /// Lists concatenated, the object's own first (`tags`).
    Append,
}

pub fn inherit(k: &str) -> Inherit {
    match k {
        "when" | "environment" | "module_defaults" => Inherit::Prepend,
        "tags" => Inherit::Append,
        // `NonInheritableFieldAttribute`s of Task and Handler.
        "name" | "vars" | "args" | "action" | "async" | "changed_when" | "delay"
        | "failed_when" | "loop" | "loop_control" | "poll" | "register" | "retries" | "until"
        | "loop_with" | "listen" | "local_action" | "static" => Inherit::Own,
        _ => Inherit::Nearest,
    }
}

/// Keywords whose value the attribute getters return as a list (the
/// inherited ones, and `changed_when`/`failed_when`, which are loaded as
/// lists, and `listen`, made a list when handlers are validated);
/// `notify` and `until` stay as written.
pub fn is_list(k: &str) -> bool {
    matches!(
        k,
        "when"
            | "tags"
            | "environment"
            | "module_defaults"
            | "changed_when"
            | "failed_when"
            | "listen"
    )
}

/// Whether `v` is the keyword's default value (not reported, as the
/// attribute getter cannot tell it from an unset one).
pub fn is_default(k: &str, v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match k {
        "delay" => v == &Value::from(5),
        "poll" => v == &Value::from(15),
        "throttle" | "timeout" | "async" => v == &Value::from(0),
        "no_log" | "any_errors_fatal" => v == &Value::Bool(false),
        // `C.DEFAULT_STRATEGY`, without an ansible.cfg.
        "strategy" => v == &Value::from("linear"),
        _ => false,
    }
}

/// The keywords the IR reports (docs/ir.md), in its order.
pub const REPORTED: &[&str] = &[
    "when",
    "tags",
    "loop",
    "loop_with",
    "loop_control",
    "register",
    "notify",
    "listen",
    "delegate_to",
    "delegate_facts",
    "run_once",
    "become",
    "become_user",
    "become_method",
    "vars",
    "until",
    "retries",
    "delay",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "throttle",
    "check_mode",
    "diff",
    "no_log",
    "environment",
    "any_errors_fatal",
    "module_defaults",
    "timeout",
    "async",
    "poll",
    "connection",
    "port",
    "remote_user",
];

/// Play keywords the IR reports besides [`REPORTED`].
pub const PLAY_REPORTED: &[&str] = &[
    "gather_facts",
    "serial",
    "strategy",
    "max_fail_percentage",
    "force_handlers",
    "vars_files",
    "vars_prompt",
    "order",
];

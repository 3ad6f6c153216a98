//! The IR (docs/ir.md): plays → blocks → tasks, serialisable to the JSON
//! the oracle (`ansible_plugin/concerto_ir_export.py`) also writes.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::yaml::{Node, Yaml};

/// Keyword name → value after inheritance (only those not at default).
pub type Keywords = IndexMap<String, Value>;

#[derive(Debug, Clone, Serialize)]
pub struct Ir {
    pub version: u32,
    pub playbook: String,
    pub plays: Vec<Play>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Play {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub hosts: Vec<String>,
    pub keywords: Keywords,
    pub roles: Vec<String>,
    pub tasks: Vec<Item>,
    pub handlers: Vec<Item>,
    /// `--expand`: the hosts the play would run on, with the groups the
    /// `group_by` tasks before it made (`null`: a pattern form not
    /// evaluated here). See `reach.rs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Option<Vec<String>>>,
}

/// A block or a task.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Item {
    Block(Block),
    Task(Task),
}

#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    /// `None` for the blocks Ansible makes itself (a list of bare tasks,
    /// the implicit `meta` blocks).
    pub file: Option<String>,
    pub line: Option<usize>,
    pub name: String,
    pub role: Option<String>,
    pub keywords: Keywords,
    /// Ansible post-validated ("finalized") this block while loading it,
    /// so its attributes are its own from then on (see `task.rs`).
    #[serde(skip)]
    pub finalized: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// The name as written, "" if none.
    pub task: String,
    pub action: String,
    pub args: IndexMap<String, Value>,
    /// `None` for implicit tasks (`flush_handlers`, `role_complete`).
    pub file: Option<String>,
    pub line: Option<usize>,
    pub role: Option<String>,
    pub keywords: Keywords,
    /// An include expanded statically (`--expand`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included: Option<Included>,
    /// The files an include that could not be expanded might name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<String>>,
    /// The include would include a file being included already.
    #[serde(rename = "loop", skip_serializing_if = "Option::is_none")]
    pub include_loop: Option<bool>,
    /// `--expand`, tasks with a `when`: its value before anything runs,
    /// with the variables of the play's first target (`null`: it depends
    /// on run-time data or fails). See `reach.rs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_result: Option<Option<bool>>,
    /// When `when_result` is `null`: the run-time names it depends on, and
    /// `error: ...` for a condition that failed to evaluate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub when_depends: Vec<String>,
    /// `Options::render`, reached tasks: what templating tells of it.
    #[serde(skip)]
    pub rendered: Option<Box<Rendered>>,
}

/// A reached task's arguments templated (`render.rs`).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The arguments, once per loop item (once without a loop); unknown
    /// parts are `{"__unknown__": [names]}`.
    pub items: Vec<Value>,
    /// Every loop item is in `items`.
    pub complete: bool,
    /// `delegate_to` per item (`None`: not known statically).
    pub delegate_to: Vec<Option<String>>,
    /// Names set at run time (registered, `set_fact`, facts) the task's
    /// condition, loop and arguments read.
    pub reads: std::collections::BTreeSet<String>,
    /// The condition is false before anything runs: the task only sets
    /// its registered name (to a skipped result).
    pub skipped: bool,
    /// It reads `hostvars`: its reads may be other hosts' variables.
    pub other_hosts: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Included {
    pub file: String,
    pub tasks: Vec<Item>,
    /// An included role's handlers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handlers: Option<Vec<Item>>,
}

impl Item {
    /// Every task under this item, depth first (blocks, rescue, always,
    /// and expanded includes).
    pub fn tasks(&self) -> Vec<&Task> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Task>) {
        match self {
            Item::Task(t) => {
                out.push(t);
                if let Some(inc) = &t.included {
                    for i in &inc.tasks {
                        i.collect(out);
                    }
                }
            }
            Item::Block(b) => {
                for i in b.block.iter().chain(&b.rescue).chain(&b.always) {
                    i.collect(out);
                }
            }
        }
    }
}

/// A loaded YAML value as the IR's JSON: strings (trusted or `!unsafe`) as
/// strings, `!vault` as `{"__vault__": ciphertext}`, timestamps in ISO
/// format, integers beyond 64 bits as their digits.
pub fn json(node: &Node) -> Value {
    match &node.value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::from(*i),
        Yaml::BigInt(s) => Value::String(s.clone()),
        Yaml::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(crate::yaml::py_float_repr(*f))),
        Yaml::Str(s) | Yaml::Unsafe(s) => Value::String(s.clone()),
        Yaml::Vault(s) => serde_json::json!({ "__vault__": s }),
        Yaml::Timestamp(t) => Value::String(t.isoformat()),
        Yaml::Binary(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Yaml::Seq(v) => Value::Array(v.iter().map(json).collect()),
        Yaml::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.to_py_str(), json(v))).collect()),
    }
}

impl Ir {
    /// A readable outline: one line per play, block and task, indented,
    /// with `file:line`, the action and the keywords that matter most.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.plays {
            let targets = match &p.targets {
                None => String::new(),
                Some(None) => " targets=?".into(),
                Some(Some(t)) if t.is_empty() => " targets=none (skipped)".into(),
                Some(Some(t)) => format!(" targets={}", t.join(",")),
            };
            out.push_str(&format!(
                "PLAY {:?} hosts={}{targets} ({}:{})\n",
                p.name,
                p.hosts.join(","),
                p.file,
                p.line
            ));
            for i in &p.tasks {
                i.outline(1, &mut out);
            }
            if !p.handlers.is_empty() {
                out.push_str("  HANDLERS\n");
                for i in &p.handlers {
                    i.outline(2, &mut out);
                }
            }
        }
        if let Some(r) = self.reach() {
            out.push_str(&format!(
                "{} tasks: {} would run, {} depend on run-time data, {} skipped before anything runs\n",
                r.tasks, r.run, r.unknown, r.skipped
            ));
        }
        out
    }
}

impl Item {
    fn outline(&self, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        match self {
            Item::Block(b) => {
                let implicit = b.name.is_empty() && b.rescue.is_empty() && b.always.is_empty();
                if implicit {
                    for i in &b.block {
                        i.outline(depth, out);
                    }
                    return;
                }
                out.push_str(&format!(
                    "{pad}BLOCK {:?} ({}:{})\n",
                    b.name,
                    b.file.as_deref().unwrap_or("?"),
                    b.line.unwrap_or(0)
                ));
                for i in &b.block {
                    i.outline(depth + 1, out);
                }
                for (what, list) in [("RESCUE", &b.rescue), ("ALWAYS", &b.always)] {
                    if !list.is_empty() {
                        out.push_str(&format!("{pad}{what}\n"));
                        for i in list {
                            i.outline(depth + 1, out);
                        }
                    }
                }
            }
            Item::Task(t) => {
                let result = match t.when_result {
                    None => "",
                    Some(Some(true)) => " (true)",
                    Some(Some(false)) => " (false)",
                    Some(None) => " (run time)",
                };
                let result = if t.when_depends.is_empty() {
                    result.to_string()
                } else {
                    format!("{result} [{}]", t.when_depends.join("; "))
                };
                let when = t
                    .keywords
                    .get("when")
                    .map(|w| format!(" when={w}{result}"))
                    .unwrap_or_default();
                let role = t
                    .role
                    .as_ref()
                    .map(|r| format!("[{r}] "))
                    .unwrap_or_default();
                let at = match (&t.file, t.line) {
                    (Some(f), Some(l)) => format!("{f}:{l}"),
                    _ => "implicit".to_string(),
                };
                let what = match (t.task.is_empty(), t.args.get("_raw_params")) {
                    (true, Some(Value::String(p))) => format!("{p:?}"),
                    _ => format!("{:?}", t.task),
                };
                out.push_str(&format!("{pad}{role}{} {what}{when} ({at})\n", t.action));
                if let Some(inc) = &t.included {
                    for i in &inc.tasks {
                        i.outline(depth + 1, out);
                    }
                }
                if let Some(c) = &t.candidates {
                    out.push_str(&format!("{pad}  (dynamic: one of {})\n", c.join(", ")));
                }
            }
        }
    }
}

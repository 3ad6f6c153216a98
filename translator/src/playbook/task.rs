//! Task lists into blocks and tasks (`load_list_of_blocks`,
//! `load_list_of_tasks`), static imports inlined, and every keyword
//! resolved through the objects around it as the attribute getters of
//! ansible-core 2.19 do (`Task._get_parent_attribute`,
//! `Block._get_parent_attribute`), ported step by step: the order in which
//! parents, the role, its dependency chain and the play are consulted is
//! Ansible's, duplicates included.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::args::{self, is_builtin};
use super::error::{PlaybookError, PlaybookErrorKind};
use super::ir::{self, Item, Keywords};
use super::keywords::{self, Inherit};
use super::Loader;
use crate::yaml::{Document, Node, Source, Yaml};

/// Keywords as written on one object.
pub(super) type Own = IndexMap<String, Node, foldhash::fast::RandomState>;

/// A role as its blocks see it: its name and the keywords of the entry
/// that applied it (`roles:` item, meta dependency).
#[derive(Debug)]
pub(super) struct RoleFrame {
    pub name: String,
    pub own: Own,
    pub path: PathBuf,
    /// The collection (`ns.coll`) the role is in, if any: its unqualified
    /// dependencies and imports are looked for there first.
    pub collection: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Play,
    Block,
    /// An include or import task (`TaskInclude`, `IncludeRole`).
    Include,
}

/// An object tasks inherit keywords from.
#[derive(Debug)]
pub(super) struct Frame {
    pub kind: Kind,
    pub own: Own,
    pub parent: Option<Arc<Frame>>,
    pub role: Option<Arc<RoleFrame>>,
    /// Set on a role's top-level blocks: the roles from the play's down
    /// to this one.
    pub dep_chain: Option<Vec<Arc<RoleFrame>>>,
    pub play: Option<Arc<Frame>>,
    pub statically_loaded: bool,
}

impl Frame {
    /// A block Ansible makes itself at the top of a play (no keywords of
    /// its own): around the implicit `flush_handlers`, a `force_handlers`
    /// section.
    pub(super) fn play_block(play: &Arc<Frame>) -> Arc<Frame> {
        Arc::new(Frame {
            kind: Kind::Block,
            own: Own::default(),
            parent: None,
            role: None,
            dep_chain: None,
            play: Some(play.clone()),
            statically_loaded: true,
        })
    }

    fn dep_chain(&self) -> Option<Vec<Arc<RoleFrame>>> {
        match &self.dep_chain {
            Some(c) => Some(c.clone()),
            None => self.parent.as_ref().and_then(|p| p.dep_chain()),
        }
    }
}

/// Where a task list is being loaded.
#[derive(Clone)]
pub(super) struct Scope {
    /// The block or include the list belongs to (`None` at the top of a
    /// play section or of an imported file, whose blocks then hang from
    /// `include`).
    pub parent: Option<Arc<Frame>>,
    pub role: Option<Arc<RoleFrame>>,
    pub dep_chain: Option<Vec<Arc<RoleFrame>>>,
    pub play: Arc<Frame>,
    /// The directory relative imports start from.
    pub dir: PathBuf,
    pub handlers: bool,
    /// The `when` of the `import_playbook`s importing the play, which
    /// Ansible puts before that of each top-level block of its sections.
    pub import_when: Vec<Node>,
    /// Files being imported, outermost first (loops).
    pub stack: Vec<PathBuf>,
    /// The variables gathered so far (for `--expand`).
    pub vars: super::vars::Layers,
}

impl Scope {
    /// Collections an unqualified role name is looked for in, here: the
    /// enclosing role's collection, or the play's `collections`.
    pub(super) fn role_collections(&self) -> Vec<String> {
        match &self.role {
            Some(r) => r.collection.iter().cloned().collect(),
            None => play_collections(&self.play.own),
        }
    }

    /// The dependency chain of the enclosing role, for a role imported
    /// from its tasks.
    fn dep_chain_for_import(&self) -> Vec<Arc<RoleFrame>> {
        let from_parent = self.parent.as_ref().and_then(|p| p.dep_chain());
        from_parent
            .or_else(|| self.dep_chain.clone())
            .unwrap_or_default()
    }
}

/// The play's `collections:` (the names written).
pub(super) fn play_collections(play: &Own) -> Vec<String> {
    match play.get("collections").map(|n| &n.value) {
        Some(Yaml::Seq(items)) => items
            .iter()
            .filter_map(|n| n.value.as_str().map(str::to_string))
            .collect(),
        Some(Yaml::Str(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A resolved keyword value: `None` is Ansible's `Sentinel` (not set).
type V = Option<Value>;

fn extend(value: V, new: V, prepend: bool) -> V {
    let list = |v: V| -> Vec<Value> {
        match v {
            None => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(x) => vec![x],
        }
    };
    let (a, b) = (list(value), list(new));
    let combined: Vec<Value> = if prepend {
        b.into_iter().chain(a).collect()
    } else {
        a.into_iter().chain(b).collect()
    };
    // itertools.groupby: consecutive duplicates collapse; None dropped.
    let mut out: Vec<Value> = Vec::new();
    for v in combined {
        if out.last() != Some(&v) {
            out.push(v);
        }
    }
    out.retain(|v| !v.is_null());
    Some(Value::Array(out))
}

/// The `name:` as written: "" when absent or null (`name:` with no value).
pub(super) fn name_of(own: &Own) -> String {
    match own.get("name").map(|n| &n.value) {
        None | Some(Yaml::Null) => String::new(),
        Some(v) => v.to_py_str(),
    }
}

fn own_value(own: &Own, attr: &str) -> V {
    own.get(attr).map(|n| keyword_json(attr, n))
}

/// A keyword's value as Ansible stores it when loading (`_load_tags`
/// splits a string on commas, `_load_module_defaults` qualifies module
/// names; the rest stay as written).
pub(super) fn keyword_json(attr: &str, n: &Node) -> Value {
    match (attr, &n.value) {
        ("tags", Yaml::Str(s)) | ("tags", Yaml::Unsafe(s)) => Value::Array(
            s.split(',')
                .map(|t| Value::String(t.trim().to_string()))
                .collect(),
        ),
        ("module_defaults", _) => super::module_defaults::loaded(ir::json(n)),
        _ => ir::json(n),
    }
}

/// `Block._get_parent_attribute` (also for the play section blocks).
fn block_attr(f: &Frame, attr: &str) -> V {
    let inherit = keywords::inherit(attr);
    let is_extend = matches!(inherit, Inherit::Prepend | Inherit::Append);
    let prepend = inherit == Inherit::Prepend;
    let mut value = own_value(&f.own, attr);
    if inherit == Inherit::Own {
        return value;
    }
    let parent = match &f.parent {
        Some(p) if !p.statically_loaded => p.parent.clone(),
        p => p.clone(),
    };
    if let Some(p) = parent {
        if (value.is_none() || is_extend) && p.statically_loaded {
            let pv = frame_attr(&p, attr);
            value = if is_extend {
                extend(value, pv, prepend)
            } else {
                pv
            };
        }
    }
    if let Some(role) = &f.role {
        if value.is_none() || is_extend {
            let rv = own_value(&role.own, attr);
            value = if is_extend {
                extend(value, rv, prepend)
            } else {
                rv
            };
            if let Some(mut chain) = f.dep_chain() {
                if value.is_none() || is_extend {
                    chain.reverse();
                    for dep in chain {
                        let dv = own_value(&dep.own, attr);
                        value = if is_extend {
                            extend(value, dv, prepend)
                        } else {
                            dv
                        };
                        if value.is_some() && !is_extend {
                            break;
                        }
                    }
                }
            }
        }
    }
    if let Some(play) = &f.play {
        if value.is_none() || is_extend {
            if let Some(pv) = own_value(&play.own, attr) {
                value = if is_extend {
                    extend(value, Some(pv), prepend)
                } else {
                    Some(pv)
                };
            }
        }
    }
    value
}

/// `Task._get_parent_attribute` for a task with keywords `own` under `parent`.
fn task_attr(own: &Own, parent: Option<&Arc<Frame>>, attr: &str) -> V {
    let inherit = keywords::inherit(attr);
    let is_extend = matches!(inherit, Inherit::Prepend | Inherit::Append);
    let mut value = own_value(own, attr);
    if inherit == Inherit::Own {
        return value;
    }
    let parent = match parent {
        Some(p) if !p.statically_loaded => p.parent.clone(),
        p => p.cloned(),
    };
    if let Some(p) = parent {
        if (value.is_none() || is_extend) && p.statically_loaded {
            let pv = frame_attr(&p, attr);
            value = if is_extend {
                extend(value, pv, inherit == Inherit::Prepend)
            } else {
                pv
            };
        }
    }
    value
}

fn frame_attr(f: &Frame, attr: &str) -> V {
    match f.kind {
        Kind::Include => task_attr(&f.own, f.parent.as_ref(), attr),
        Kind::Block => block_attr(f, attr),
        Kind::Play => own_value(&f.own, attr),
    }
}

/// The IR keywords of a task or block: every reported keyword that is set.
fn resolved(get: impl Fn(&str) -> V, handler: bool) -> Keywords {
    let mut out = Keywords::new();
    for k in keywords::REPORTED {
        if *k == "listen" && !handler {
            continue;
        }
        match get(k).map(|v| normalize(k, v)) {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(v) if keywords::is_default(k, &v) => {}
            Some(v) => {
                out.insert(k.to_string(), v);
            }
        }
    }
    out
}

/// The IR keywords of a task with keywords `own` under `parent`.
pub(super) fn resolve_task(own: &Own, parent: Option<&Arc<Frame>>, handler: bool) -> Keywords {
    resolved(|k| task_attr(own, parent, k), handler)
}

/// The IR keywords of a block.
pub(super) fn resolve_block(frame: &Frame) -> Keywords {
    resolved(|k| block_attr(frame, k), false)
}

/// The IR form of a keyword value: list-valued keywords as lists (a
/// scalar is a list of one), tags sorted and without repeats (Ansible
/// keeps them in sets along the way). `environment` becomes a list only
/// by being extended with a parent's value (`_extend_value`); where
/// nothing was (a play, a block at the top of a play section) Ansible
/// returns the value as written.
pub(super) fn normalize(k: &str, v: Value) -> Value {
    if !keywords::is_list(k) {
        return v;
    }
    let extended_only = k == "environment";
    let mut list = match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        x if extended_only => return x,
        x => vec![x],
    };
    if k == "tags" {
        list.sort_by_cached_key(|t| t.to_string());
        list.dedup();
    }
    Value::Array(list)
}

/// The items of a task list (`null` is an empty one), each a mapping.
fn task_list<'n>(list: &'n Node, src: &Source) -> Result<&'n [Node], PlaybookError> {
    let items: &[Node] = match &list.value {
        Yaml::Seq(v) => v,
        Yaml::Null => &[],
        _ => {
            return Err(
                structure(src, list, "a task list must be a list", "not a list")
                    .help("write the tasks as a YAML list: `- name: ...`"),
            )
        }
    };
    match items.iter().find(|ds| !matches!(ds.value, Yaml::Map(_))) {
        Some(ds) => Err(
            structure(src, ds, "a task must be a mapping", "not a mapping")
                .help("each item of a task list is a mapping with a name and a module"),
        ),
        None => Ok(items),
    }
}

/// What Ansible refuses where a task is: a role include or import as a
/// handler, `meta: end_role` in a handler or outside a role
/// (`load_list_of_tasks`).
fn check_placement(
    parsed: &args::Parsed,
    scope: &Scope,
    src: &Source,
    ds: &Node,
) -> Result<(), PlaybookError> {
    let action = parsed.action.as_str();
    if scope.handlers && (is_builtin(action, "include_role") || is_builtin(action, "import_role")) {
        return Err(structure(
            src,
            ds,
            format!("Using '{action}' as a handler is not supported."),
            "here",
        )
        .help("a handler can include tasks (`include_tasks`), not a role"));
    }
    let end_role = is_builtin(action, "meta")
        && parsed
            .args
            .get("_raw_params")
            .is_some_and(|n| n.value.as_str() == Some("end_role"));
    if end_role && scope.handlers {
        return Err(structure(
            src,
            ds,
            "Cannot execute 'end_role' from a handler",
            "here",
        ));
    }
    if end_role && scope.role.is_none() {
        return Err(structure(
            src,
            ds,
            "Cannot execute 'end_role' from outside of a role",
            "here",
        )
        .help("`meta: end_play` ends the play"));
    }
    Ok(())
}

/// `Task._validate_register`: a variable name (ASCII letters, digits and
/// `_`, not starting with a digit, not a Jinja constant).
fn check_register(v: &Node, src: &Source) -> Result<(), PlaybookError> {
    let ok = v.value.as_str().is_some_and(|s| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !matches!(
                s,
                "true" | "false" | "none" | "True" | "False" | "None" | "not"
            )
    });
    if ok {
        return Ok(());
    }
    Err(structure(
        src,
        v,
        format!(
            "Invalid 'register' specified: Invalid variable name '{}'.",
            v.value.to_py_str()
        ),
        "not a variable name",
    )
    .help("Variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores."))
}

fn structure(src: &Source, node: &Node, msg: impl Into<String>, label: &str) -> PlaybookError {
    PlaybookError::new(PlaybookErrorKind::Structure, msg).at(src, node, label)
}

fn is_block(ds: &Node) -> bool {
    ds.get("block").is_some()
}

impl Loader {
    /// `load_list_of_blocks`: runs of bare tasks become one implicit block.
    pub(super) fn blocks(
        &mut self,
        list: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<Vec<Item>, PlaybookError> {
        let src = &doc.source;
        let items = task_list(list, src)?;
        let mut out = Vec::new();
        let mut run: Vec<Node> = Vec::new();
        for ds in items {
            if is_block(ds) {
                if !run.is_empty() {
                    out.push(self.implicit_block(std::mem::take(&mut run), doc, scope)?);
                }
                out.push(self.block(ds, doc, scope)?);
            } else {
                run.push(ds.clone());
            }
        }
        if !run.is_empty() {
            out.push(self.implicit_block(run, doc, scope)?);
        }
        Ok(out)
    }

    fn new_block_frame(&self, mut own: Own, scope: &Scope) -> Arc<Frame> {
        // A top-level block of a play section (not in a role, not in an
        // imported file) of an imported play.
        if !scope.import_when.is_empty() && scope.parent.is_none() && scope.role.is_none() {
            let when = super::play::prepend_when(&scope.import_when, own.get("when"));
            own.insert("when".into(), when);
        }
        Arc::new(Frame {
            kind: Kind::Block,
            own,
            parent: scope.parent.clone(),
            role: scope.role.clone(),
            dep_chain: scope.dep_chain.clone(),
            play: Some(scope.play.clone()),
            statically_loaded: true,
        })
    }

    fn implicit_block(
        &mut self,
        tasks: Vec<Node>,
        doc: &Document,
        scope: &Scope,
    ) -> Result<Item, PlaybookError> {
        let first = tasks.first().map(|n| n.span).unwrap_or_default();
        let frame = self.new_block_frame(Own::default(), scope);
        let inner = Scope {
            parent: Some(frame.clone()),
            dep_chain: None,
            ..scope.clone()
        };
        let list = Node::new(Yaml::Seq(tasks), first);
        let outer = std::mem::take(&mut self.imported_role_here);
        let block = self.tasks(&list, doc, &inner)?;
        let keywords = self.block_keywords(&frame);
        let finalized = std::mem::replace(&mut self.imported_role_here, outer);
        Ok(Item::Block(ir::Block {
            block,
            rescue: Vec::new(),
            always: Vec::new(),
            file: None,
            line: None,
            name: String::new(),
            role: scope.role.as_ref().map(|r| r.name.clone()),
            finalized,
            keywords,
        }))
    }

    fn block(&mut self, ds: &Node, doc: &Document, scope: &Scope) -> Result<Item, PlaybookError> {
        let src = &doc.source;
        let Yaml::Map(m) = &ds.value else {
            return Err(structure(src, ds, "a block must be a mapping", "here"));
        };
        let mut own = Own::default();
        for (k, v) in m {
            let name = k.to_py_str();
            if !keywords::is_block_keyword(&name) {
                let help = match super::suggest_keyword(&name) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a block has `block`, `rescue`, `always` and keywords; tasks go inside `block:`".into(),
                };
                return Err(PlaybookError::new(
                    PlaybookErrorKind::UnknownKeyword,
                    format!("'{name}' is not a valid attribute for a Block"),
                )
                .at_span(src, k.span, "not a block keyword")
                .help(help));
            }
            if !matches!(name.as_str(), "block" | "rescue" | "always") {
                own.insert(name, v.clone());
            }
        }
        let name = name_of(&own);
        let block_vars = super::vars::vars_of(&own);
        let frame = self.new_block_frame(own, scope);
        let inner = Scope {
            parent: Some(frame.clone()),
            dep_chain: None,
            vars: super::vars::with(&scope.vars, 16, block_vars),
            ..scope.clone()
        };
        let section = |key: &str, this: &mut Loader| -> Result<Vec<Item>, PlaybookError> {
            match m.get(key) {
                None => Ok(Vec::new()),
                Some(list) => this.tasks(list, doc, &inner),
            }
        };
        let outer = std::mem::take(&mut self.imported_role_here);
        let block = section("block", self)?;
        let rescue = section("rescue", self)?;
        let always = section("always", self)?;
        let keywords = self.block_keywords(&frame);
        let finalized = std::mem::replace(&mut self.imported_role_here, outer);
        Ok(Item::Block(ir::Block {
            block,
            rescue,
            always,
            file: Some(src.name.clone()),
            line: Some(ds.span.line),
            name,
            role: scope.role.as_ref().map(|r| r.name.clone()),
            finalized,
            keywords,
        }))
    }

    /// `load_list_of_tasks`: blocks, tasks, and static imports inlined.
    pub(super) fn tasks(
        &mut self,
        list: &Node,
        doc: &Document,
        scope: &Scope,
    ) -> Result<Vec<Item>, PlaybookError> {
        let src = &doc.source;
        let items = task_list(list, src)?;
        let mut out = Vec::new();
        for ds in items {
            let Yaml::Map(m) = &ds.value else {
                unreachable!("task_list checked that every item is a mapping");
            };
            if m.contains_key("block") {
                // A handlers list may hold blocks; their tasks may not.
                if scope.handlers {
                    return Err(structure(src, ds, "Using a block as a handler is not supported.", "a block")
                        .help("handlers are single tasks; a block can only group handlers at the top of `handlers:`"));
                }
                out.push(self.block(ds, doc, scope)?);
                continue;
            }
            let mut parsed = args::parse(m, scope.handlers, src, ds)?;
            args::check_include_options(&mut parsed, src, ds)?;
            check_placement(&parsed, scope, src, ds)?;
            let own = self.task_keywords(m, &parsed, scope.handlers, src)?;
            if is_builtin(&parsed.action, "import_tasks") {
                if own.contains_key("loop") {
                    return Err(structure(src, ds, "You cannot use loops on 'import_tasks' statements. You should use 'include_tasks' instead.", "a loop on an import"));
                }
                let frame = Arc::new(Frame {
                    kind: Kind::Include,
                    own,
                    parent: scope.parent.clone(),
                    role: None,
                    dep_chain: None,
                    play: None,
                    statically_loaded: true,
                });
                let import_tags = task_attr(&frame.own, scope.parent.as_ref(), "tags");
                let mut imported = self.import_tasks(&parsed, ds, doc, scope, frame)?;
                // `b.tags = list(set(b.tags).union(import.tags))`: what a
                // finalized block (own keywords only) still gets. ansible-core
                // 2.21 dropped that line of `load_list_of_tasks` (redundant
                // for the other blocks, which inherit the import's tags).
                if self.opts.ansible_core == super::AnsibleCore::V2_19 {
                    for item in &mut imported {
                        if let (Item::Block(b), Some(tags)) = (item, &import_tags) {
                            if b.finalized {
                                let own = b.keywords.shift_remove("tags");
                                if let Some(v) = extend(own, Some(tags.clone()), false)
                                    .map(|v| normalize("tags", v))
                                {
                                    if v.as_array().is_some_and(|a| !a.is_empty()) {
                                        b.keywords.insert("tags".into(), v);
                                    }
                                }
                            }
                        }
                    }
                }
                if scope.handlers {
                    for b in imported {
                        if let Item::Block(b) = b {
                            out.extend(b.block);
                        }
                    }
                } else {
                    out.extend(imported);
                }
                continue;
            }
            if is_builtin(&parsed.action, "import_role") {
                if scope.handlers {
                    return Err(structure(
                        src,
                        ds,
                        format!("Using '{}' as a handler is not supported.", parsed.action),
                        "here",
                    ));
                }
                let frame = Arc::new(Frame {
                    kind: Kind::Include,
                    own,
                    parent: scope.parent.clone(),
                    role: None,
                    dep_chain: None,
                    play: None,
                    statically_loaded: true,
                });
                out.extend(self.import_role(&parsed, ds, doc, scope, frame)?);
                self.imported_role_here = true;
                continue;
            }
            let dynamic = ["include_tasks", "include_role", "include"]
                .iter()
                .any(|a| is_builtin(&parsed.action, a));
            let own_kept = self.opts.expand.then(|| own.clone());
            let mut task = self.task(ds, &parsed, own, doc, scope);
            if let Some(own) = own_kept {
                self.reach_task(&mut task, &own, scope);
                if dynamic {
                    // Handlers of roles imported by included files join the
                    // play at run time, not in the play as loaded.
                    let before = self.imported_handlers.len();
                    self.gate_include(&task, true);
                    let expanded = self.expand(&mut task, &parsed, own, ds, doc, scope);
                    self.gate_include(&task, false);
                    expanded?;
                    self.imported_handlers.truncate(before);
                }
            }
            out.push(Item::Task(task));
        }
        Ok(out)
    }

    /// A task's keywords as written (`with_x` as `loop_with: x` and `loop`).
    fn task_keywords(
        &self,
        m: &IndexMap<crate::yaml::Key, Node>,
        parsed: &args::Parsed,
        handler: bool,
        src: &Source,
    ) -> Result<Own, PlaybookError> {
        let mut own = Own::default();
        for (k, v) in m {
            let name = k.to_py_str();
            if matches!(
                name.as_str(),
                "action" | "local_action" | "args" | "delegate_to"
            ) || name == parsed.action
            {
                continue;
            }
            if let Some(lookup) = name.strip_prefix("with_") {
                if own.contains_key("loop") {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        format!("duplicate loop in task: {lookup}"),
                    )
                    .at_span(src, k.span, "a second loop")
                    .help("a task has one loop: `loop:` or one `with_*`"));
                }
                own.insert(
                    "loop_with".into(),
                    Node::new(Yaml::Str(lookup.to_string()), k.span),
                );
                own.insert("loop".into(), v.clone());
                continue;
            }
            if name == "register" {
                check_register(v, src)?;
            }
            if keywords::is_task_keyword(&name, handler) {
                if name == "loop" && own.contains_key("loop_with") {
                    return Err(PlaybookError::new(
                        PlaybookErrorKind::Structure,
                        format!(
                            "duplicate loop in task: {}",
                            own["loop_with"].value.to_py_str()
                        ),
                    )
                    .at_span(src, k.span, "a second loop")
                    .help("a task has one loop: `loop:` or one `with_*`"));
                }
                own.insert(name, v.clone());
            }
        }
        if let Some(d) = &parsed.delegate_to {
            own.insert("delegate_to".into(), d.clone());
        }
        Ok(own)
    }

    fn task(
        &mut self,
        ds: &Node,
        parsed: &args::Parsed,
        own: Own,
        doc: &Document,
        scope: &Scope,
    ) -> ir::Task {
        let name = name_of(&own);
        let parent = scope.parent.clone();
        let mut keywords = resolved(|k| task_attr(&own, parent.as_ref(), k), scope.handlers);
        if let (true, Some(role)) = (scope.handlers, &scope.role) {
            // `Handler._validate_listen`: a role's handler also listens to
            // `role : topic` (with and without the collection's name).
            if let Some(v) = keywords.get_mut("listen") {
                let topics: Vec<Value> = match &*v {
                    Value::Array(a) => a.clone(),
                    x => vec![x.clone()],
                };
                let mut all = topics.clone();
                // With and without the collection (`ns.coll.role`).
                let short = role.name.splitn(3, '.').nth(2).unwrap_or(&role.name);
                for t in &topics {
                    let t = t
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| t.to_string());
                    all.push(Value::String(format!("{} : {t}", role.name)));
                    all.push(Value::String(format!("{short} : {t}")));
                }
                *v = Value::Array(all);
            }
        }
        ir::Task {
            task: name,
            action: parsed.action.clone(),
            args: parsed
                .args
                .iter()
                .map(|(k, v)| (k.clone(), ir::json(v)))
                .collect(),
            // A task Ansible makes (a role's argument validation) has no
            // position; YAML lines start at 1.
            file: (ds.span.line > 0).then(|| doc.source.name.clone()),
            line: (ds.span.line > 0).then_some(ds.span.line),
            role: scope.role.as_ref().map(|r| r.name.clone()),
            keywords,
            included: None,
            candidates: None,
            include_loop: None,
            when_result: None,
            when_depends: Vec::new(),
            rendered: None,
        }
    }

    /// `import_tasks: FILE`: its blocks, hanging from the import.
    fn import_tasks(
        &mut self,
        parsed: &args::Parsed,
        ds: &Node,
        doc: &Document,
        scope: &Scope,
        frame: Arc<Frame>,
    ) -> Result<Vec<Item>, PlaybookError> {
        let src = &doc.source;
        let target = parsed
            .args
            .get("_raw_params")
            .or_else(|| parsed.args.get("file"))
            .and_then(|n| n.value.as_str())
            .ok_or_else(|| {
                structure(src, ds, "No file specified for import_tasks", "no file")
                    .help("write `import_tasks: other.yml`")
            })?
            .to_string();
        let target = self.static_name(&target, &frame.own, scope, src, ds)?;
        let subdir = if scope.handlers { "handlers" } else { "tasks" };
        let path = self.find_task_file(&target, scope, subdir).ok_or_else(|| {
            PlaybookError::new(
                PlaybookErrorKind::Io,
                format!("Could not find or access '{target}'"),
            )
            .at(src, ds, "imported here")
            .help(format!(
                "the file is looked for next to {} and in the role's {subdir}/",
                src.name
            ))
        })?;
        // The import's own `vars` are task vars of everything it imports.
        let scope = Scope {
            vars: super::vars::with(&scope.vars, 17, super::vars::vars_of(&frame.own)),
            ..scope.clone()
        };
        self.load_task_file(&path, ds, doc, &scope, frame)
    }

    /// Load an imported or included task file's blocks under `frame`.
    pub(super) fn load_task_file(
        &mut self,
        path: &Path,
        at: &Node,
        doc: &Document,
        scope: &Scope,
        frame: Arc<Frame>,
    ) -> Result<Vec<Item>, PlaybookError> {
        if scope.stack.iter().any(|p| p == path) {
            return Err(PlaybookError::new(
                PlaybookErrorKind::IncludeLoop,
                format!("{} imports itself", self.rel(path)),
            )
            .at(&doc.source, at, "imported again here")
            .help("remove the import that closes the loop"));
        }
        let included = self.file(path)?;
        let mut inner = Scope {
            parent: Some(frame),
            dep_chain: None,
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            ..scope.clone()
        };
        inner.stack.push(path.to_path_buf());
        match &included.root.value {
            Yaml::Null => Ok(Vec::new()),
            Yaml::Seq(_) => self.blocks(&included.root, &included, &inner),
            _ => Err(structure(
                &included.source,
                &included.root,
                "included task files must contain a list of tasks",
                "not a list",
            )),
        }
    }

    /// A block's IR keywords. A block holding an `import_role` is read by
    /// Ansible while it is still being built (`IncludeRole.post_validate`
    /// evaluates its parent block's attributes before the block is linked
    /// to anything), and keeps what it got then: its own keywords only.
    /// Reproduced here, as the oracle sees it.
    fn block_keywords(&self, frame: &Arc<Frame>) -> Keywords {
        if !self.imported_role_here {
            return resolved(|k| block_attr(frame, k), false);
        }
        let early = Frame {
            kind: frame.kind,
            own: frame.own.clone(),
            parent: None,
            role: None,
            dep_chain: None,
            play: None,
            statically_loaded: frame.statically_loaded,
        };
        resolved(|k| block_attr(&early, k), false)
    }

    /// `import_role: name=x tasks_from=y`: the role's blocks, hanging from
    /// the import.
    fn import_role(
        &mut self,
        parsed: &args::Parsed,
        ds: &Node,
        doc: &Document,
        scope: &Scope,
        frame: Arc<Frame>,
    ) -> Result<Vec<Item>, PlaybookError> {
        let src = &doc.source;
        let arg = |k: &str| parsed.args.get(k).map(|n| n.value.to_py_str());
        let name = arg("name").or_else(|| arg("role")).ok_or_else(|| {
            structure(
                src,
                ds,
                "'name' is a required field for import_role.",
                "no role name",
            )
            .help("write `import_role: {name: x}`")
        })?;
        let name = self.static_name(&name, &frame.own, scope, src, ds)?;
        let from = |k: &str| {
            arg(k)
                .map(|f| self.static_name(&f, &frame.own, scope, src, ds))
                .transpose()
        };
        let entry = super::role::RoleEntry {
            name,
            own: Own::default(),
            tasks_from: from("tasks_from")?,
            handlers_from: from("handlers_from")?,
            params: Own::default(),
            validate: super::role::validate_option(parsed.args.get("rolespec_validate")),
            collections: scope.role_collections(),
        };
        // The import's own `vars` are task vars of everything it imports.
        let vars = super::vars::with(&scope.vars, 17, super::vars::vars_of(&frame.own));
        let inner = Scope {
            parent: Some(frame),
            vars,
            ..scope.clone()
        };
        let chain = scope.dep_chain_for_import();
        let basedir = scope
            .role
            .as_ref()
            .and_then(|r| r.path.parent().map(Path::to_path_buf));
        let blocks = self.role_blocks(&entry, ds, doc, &inner, &chain, basedir.as_deref())?;
        // Its handlers join the play's (`IncludeRole.get_block_list`).
        let handlers = self.role_handlers_under(&entry, ds, doc, &inner, basedir.as_deref())?;
        self.imported_handlers.extend(handlers);
        Ok(blocks)
    }

    /// A static import's file or role name, templated as Ansible does
    /// while loading: with the variables known before anything runs (the
    /// play's, the role's, the blocks' and the import's own `vars`, `-e`).
    pub(super) fn static_name(
        &self,
        raw: &str,
        own: &Own,
        scope: &Scope,
        src: &Source,
        ds: &Node,
    ) -> Result<String, PlaybookError> {
        if !raw.contains("{{") && !raw.contains("{%") {
            return Ok(raw.to_string());
        }
        let layers = super::vars::with(&scope.vars, 17, super::vars::vars_of(own));
        self.render(raw, &layers).ok_or_else(|| {
            PlaybookError::new(
                PlaybookErrorKind::Template,
                format!("Error when evaluating variable in import path '{raw}'."),
            )
            .at(src, ds, "templated import")
            .help(
                "static imports are resolved when the playbook is loaded, with the variables of \
                 vars/vars_files and -e only; use include_tasks/include_role for a name that \
                 depends on facts or inventory variables",
            )
        })
    }

    /// Where an imported task file is: next to the importing file, then
    /// in the role's `tasks/` (or `handlers/`), then the playbook's dir.
    pub(super) fn find_task_file(
        &self,
        target: &str,
        scope: &Scope,
        subdir: &str,
    ) -> Option<PathBuf> {
        let t = Path::new(target);
        if t.is_absolute() {
            return t.exists().then(|| t.to_path_buf());
        }
        let mut candidates = vec![scope.dir.join(t)];
        if let Some(r) = &scope.role {
            candidates.push(r.path.join(subdir).join(t));
            candidates.push(r.path.join(t));
        }
        candidates.push(self.playbook_dir.join(t));
        candidates.into_iter().find(|p| p.is_file())
    }
}

//! What the translator needs of a reached task that only templating can
//! tell (`Options::render`): its arguments templated per loop item, where
//! it is delegated, and the run-time names its templates read.
//!
//! The scope is the one `reach.rs` evaluates `when` with (the play's first
//! target, the task's `vars`, loop items); names set at run time by the
//! tasks before (`register`, `set_fact`, facts) are unknown, so what a task
//! reads of them shows as the dependencies of its unknown parts,
//! transitively through the variables that mention them.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use super::ir::{self, Rendered};
use super::task::{Own, Scope};
use super::Loader;
use crate::template::{Outcome, Value};

/// Templated loops longer than this are cut (the effects of the items
/// beyond are marked unknown): no real task loops that much.
const MAX_ITEMS: usize = 256;

impl Loader {
    pub(super) fn render_task(&self, task: &ir::Task, own: &Own, scope: &Scope) -> Rendered {
        let mut out = Rendered::default();
        let probe = &self.reach.hostvars_read;
        probe.store(false, std::sync::atomic::Ordering::Relaxed);
        out.reads.extend(
            task.when_depends
                .iter()
                .filter(|d| !d.starts_with("error: "))
                .cloned(),
        );
        let base = self.task_scope(&scope.vars, own, None);
        let var = super::reach::loop_var(own);
        let items: Vec<Option<Value>> = match self.loop_items(own, &base) {
            None => vec![None],
            Some(Ok(items)) => {
                out.complete = items.len() <= MAX_ITEMS;
                items.into_iter().take(MAX_ITEMS).map(Some).collect()
            }
            Some(Err(deps)) => {
                out.reads
                    .extend(deps.into_iter().filter(|d| !d.starts_with("error: ")));
                // One rendering with the item unknown stands for every
                // item: what reads the item comes out unknown.
                out.complete = true;
                vec![Some(Value::unknown(var.clone()))]
            }
        };
        if items.len() == 1 && items[0].is_none() {
            out.complete = true;
        }
        let args = Json::Object(task.args.clone().into_iter().collect());
        for item in &items {
            let scope = match item {
                Some(v) => self.task_scope(&scope.vars, own, Some((&var, v))),
                None => base.clone(),
            };
            let mut reads = BTreeSet::new();
            let rendered = self.render_json(&args, scope.as_ref(), &mut reads);
            reads.remove(&var);
            out.reads.extend(reads);
            out.items.push(rendered);
            if let Some(Json::String(d)) = task.keywords.get("delegate_to") {
                let mut reads = BTreeSet::new();
                let host = self.render_json(&Json::String(d.clone()), scope.as_ref(), &mut reads);
                out.reads.extend(reads);
                out.delegate_to.push(host.as_str().map(str::to_string));
            }
        }
        // `hostvars` read directly (the probe) or through a variable
        // (whose scope has it unknown).
        out.other_hosts =
            probe.load(std::sync::atomic::Ordering::Relaxed) || out.reads.contains("hostvars");
        out
    }

    /// A template of `{{ }}` expressions only, each templated on its own:
    /// the unknown ones as `\u{FFFD}` (`docker exec nova_conductor ...
    /// --cell_uuid \u{FFFD}` still names its container).
    fn partial(&self, text: &str, scope: &dyn crate::template::Scope) -> Option<String> {
        if text.contains("{%") || text.contains("{#") {
            return None;
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let close = rest[open..].find("}}")? + open + 2;
            match self.templar.template(&rest[open..close], scope) {
                Ok(Outcome::Known(v)) => match v.as_str() {
                    Some(s) => out.push_str(s),
                    None => out.push_str(&v.repr()),
                },
                _ => out.push('\u{FFFD}'),
            }
            rest = &rest[close..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// `value` with every string templated; an unknown part becomes
    /// `{"__unknown__": [names]}` and its names go to `reads`.
    fn render_json(
        &self,
        value: &Json,
        scope: &dyn crate::template::Scope,
        reads: &mut BTreeSet<String>,
    ) -> Json {
        match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => {
                match self.templar.template(s, scope) {
                    Ok(Outcome::Known(v)) => v.to_json(),
                    Ok(Outcome::Unknown { depends_on, .. }) => {
                        let names: Vec<Json> =
                            depends_on.iter().map(|d| Json::String(d.clone())).collect();
                        reads.extend(depends_on.into_iter().filter(|d| !d.starts_with("error: ")));
                        let mut unknown = serde_json::json!({ "__unknown__": names });
                        if let Some(p) = self.partial(s, scope) {
                            unknown["partial"] = Json::String(p);
                        }
                        unknown
                    }
                    Err(e) => {
                        let mut unknown =
                            serde_json::json!({ "__unknown__": [format!("error: {e}")] });
                        if let Some(p) = self.partial(s, scope) {
                            unknown["partial"] = Json::String(p);
                        }
                        unknown
                    }
                }
            }
            Json::Array(a) => Json::Array(
                a.iter()
                    .map(|v| self.render_json(v, scope, reads))
                    .collect(),
            ),
            Json::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.render_json(v, scope, reads)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

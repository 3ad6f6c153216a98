//! Ansible's templating (Jinja2 as ansible-core 2.19 runs it), evaluated
//! statically: what the translator needs to know before anything runs —
//! which `when:` is true, which file an `include_tasks` names, what a
//! role's `*_services` dict holds — and, where that depends on run-time
//! data (facts, registered results), *that* it does and on what, never a
//! guess.
//!
//! # API
//!
//! ```ignore
//! let templar = Templar::new();                      // shared, caches parsed templates
//! let vars = LazyVars::builder(&templar)             // variables templated on first use
//!     .vars(&inventory_vars)                         // or .node(name, yaml) / .value(name, v)
//!     .value("kolla_action", Value::str("deploy"))
//!     .unknown("ansible_facts")                      // run-time names
//!     .build();
//! match templar.template("{{ keystone_services }}", &vars)? {
//!     Outcome::Known(v) => { /* v: Value, native types */ }
//!     Outcome::Unknown { depends_on, partial } => { /* run-time */ }
//! }
//! match templar.condition("enable_keystone | bool", &vars)? {
//!     Tri::True | Tri::False | Tri::Unknown(_) => {}
//! }
//! ```
//!
//! - [`Templar::template`] renders a string as Ansible does: a string
//!   that is not a template is returned as is; one that is a single
//!   `{{ expr }}` (or renders to a single node) gives the native value
//!   (list, dict, int, bool...); anything else a string. Inside `{{ }}`
//!   backslashes in string literals are literal (Ansible's
//!   `escape_backslashes`).
//! - [`Templar::template_node`] templates YAML data (task arguments):
//!   every string is a template except `!unsafe` ones.
//! - [`Templar::condition`] evaluates a `when:` / `changed_when:` /
//!   `failed_when:` expression (no braces) with 2.19's rule: the result
//!   must be a boolean (`"true"`, `1`, `[]` are errors), an empty one is
//!   an error, `"{{ x }}"` conditionals are templated first (deprecated),
//!   as are template-looking string constants inside them.
//! - [`Templar::evaluate`] evaluates a bare expression to a value.
//!
//! Variables come from a [`Scope`]: [`LazyVars`] (raw YAML or JSON
//! values, templated lazily, memoised, with cycle detection and unknown
//! names, a parent scope, `hostvars` through [`LazyVars::as_value`]),
//! [`Values`] (final values), or any implementation. Ansible's magic
//! `vars` (`vars[item]`) reads the scope.
//!
//! # Partial evaluation
//!
//! A name that the scope says is [`Lookup::Unknown`] is a
//! [`Value::Unknown`]; everything computed from it is unknown too, and
//! never an error (an unknown value might be the one that works). The
//! result is [`Outcome::Unknown`] with the run-time names it depends on
//! (`ansible_facts`, not the variables in between). Short-circuits and
//! structure are kept: `false and fact` is `false`; a dict whose values
//! are partly unknown is an `Outcome::Unknown` with a `partial` value
//! whose known parts can be used; `d.known_key` of such a dict is known.
//! See `eval.rs` for why this evaluates minijinja's parse tree itself
//! rather than running minijinja's VM.
//!
//! # Errors
//!
//! [`TemplateError`]: Ansible's message (or close), a kind, and the
//! position in the template text (byte offset, line, column) so that the
//! caller can point at `file:line:col`; when the error is in another
//! variable's template, that variable is named. No input panics.
//!
//! # What is supported
//!
//! Expressions and statements (`if`, `for` with `loop.*`, `set`, `with`,
//! `filter` blocks, `namespace()`), Python semantics for operators,
//! comparisons, `%` formatting, slicing, methods (`.split()`, `.items()`,
//! `.startswith()`... through minijinja-contrib's pycompat); undefined
//! values that only fail when used, as 2.19's markers (`a.b.c` of an
//! undefined `a` is undefined, `default()` and `is defined` work on it);
//! `omit`. Filters, tests and lookups: see `filters.rs`, `tests.rs` and
//! `lookups.rs` (their headers list what is not done). Not supported:
//! macros, `{% include %}`/`{% import %}`/`{% extends %}`, recursive loops,
//! mutating methods (`list.append`), `#jinja2:` override headers, integers
//! beyond 64 bits. Known differences with ansible-core (each on purpose or
//! an Ansible quirk): a cycle is reported with its chain instead of
//! Python's recursion error; template trust is not tracked, so `when:
//! "{{ 'a == 1' }}"` (an untrusted expression for Ansible) is evaluated;
//! `range()` is a list; tuples are lists; `union`/`intersect`/`difference`
//! keep first-seen order where Python's `set` order is arbitrary for
//! strings; `groupby(default=)` applies its default where 2.19 fails;
//! a lazy list's `.count()` counts (2.19's returns 0).
//!
//! # Limits
//!
//! No input panics or overflows the stack: a template whose expressions
//! nest beyond 200 levels, or with more than 1000 operators in one block,
//! is an error; variables may nest 150 deep through each other, and one
//! evaluation uses at most about 1 MiB of stack (then: an error, as
//! Python's recursion limit is for Ansible). Lists and strings built by
//! templates are capped at 10 million items.
//!
//! # Performance
//!
//! Parsed templates are cached per [`Templar`] (shared by its clones and
//! by every scope using it), so each distinct string is parsed once;
//! [`LazyVars`] templates each variable once.

mod ast;
mod digest;
mod error;
mod eval;
mod filters;
mod kolla;
mod lookups;
mod methods;
mod net;
mod pyfmt;
mod pyre;
mod scope;
mod tests;
mod value;
mod yamldump;

#[cfg(test)]
mod spec;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

pub use error::{ErrorKind, TemplateError, TextSpan};
pub use scope::{LazyVars, LazyVarsBuilder, Lookup, Scope, Values, VarMap};
pub use value::{Dict, Key, List, Value};

use ast::{is_possibly_template, Compiled};
use error::Flow;

use crate::yaml::Node;

/// The result of templating.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Fully known (no unknown part anywhere inside).
    Known(Value),
    /// Depends on run-time data: the names it depends on, and when the
    /// result is a list or dict whose shape is known, that value with
    /// [`Value::Unknown`] where it is unknown.
    Unknown {
        depends_on: BTreeSet<String>,
        partial: Option<Value>,
    },
}

impl Outcome {
    pub fn known(&self) -> Option<&Value> {
        match self {
            Outcome::Known(v) => Some(v),
            Outcome::Unknown { .. } => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Outcome::Known(_))
    }
}

/// A conditional's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    /// Depends on these run-time names.
    Unknown(BTreeSet<String>),
}

impl Tri {
    /// Ansible's list of conditions (`when: [a, b]`): all must hold; a
    /// known false one decides even if an earlier one is unknown.
    pub fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut unknown: Option<BTreeSet<String>> = None;
        for t in items {
            match t {
                Tri::False => return Tri::False,
                Tri::True => {}
                Tri::Unknown(d) => unknown.get_or_insert_with(BTreeSet::new).extend(d),
            }
        }
        match unknown {
            Some(d) => Tri::Unknown(d),
            None => Tri::True,
        }
    }
}

/// Options of a [`Templar`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A filter, test or lookup that is not implemented makes the result
    /// unknown (depending on `filter:<name>`, `test:<name>`,
    /// `lookup:<name>`) instead of an error. Useful for playbooks with
    /// their own plugins (Kolla's `kolla_address`...).
    pub missing_plugins_unknown: bool,
    /// Kolla-ansible's service filters (`service_enabled_and_mapped_to_host`
    /// and friends, `kolla.rs`) are available: the playbook's
    /// `filter_plugins/` load them.
    pub kolla_filters: bool,
}

/// The templating engine: options and the cache of parsed templates.
/// Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Templar {
    inner: Arc<TemplarInner>,
}

/// Parsed templates (or their syntax errors) by text.
type Cache = Mutex<HashMap<Arc<str>, Result<Arc<Compiled>, TemplateError>>>;

#[derive(Default)]
struct TemplarInner {
    options: Options,
    templates: Cache,
    expressions: Cache,
}

/// The most distinct strings a cache keeps before starting over.
const CACHE_LIMIT: usize = 200_000;

impl Templar {
    pub fn new() -> Templar {
        Templar::default()
    }

    pub fn with_options(options: Options) -> Templar {
        Templar {
            inner: Arc::new(TemplarInner {
                options,
                ..TemplarInner::default()
            }),
        }
    }

    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    fn cached(
        cache: &Cache,
        text: &str,
        compile: fn(&str) -> Result<Compiled, TemplateError>,
    ) -> Result<Arc<Compiled>, TemplateError> {
        if let Some(c) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(text) {
            return c.clone();
        }
        let c = compile(text).map(Arc::new);
        let mut m = cache.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() >= CACHE_LIMIT {
            m.clear();
        }
        m.insert(Arc::from(text), c.clone());
        c
    }

    pub(crate) fn compile_template(&self, text: &str) -> Result<Arc<Compiled>, TemplateError> {
        Self::cached(&self.inner.templates, text, ast::compile_template)
    }

    pub(crate) fn compile_expression(&self, text: &str) -> Result<Arc<Compiled>, TemplateError> {
        Self::cached(&self.inner.expressions, text, ast::compile_expression)
    }

    /// Render a template string to an unfinalised value.
    fn render(&self, text: &str, scope: &dyn Scope) -> Result<Value, Flow> {
        if !is_possibly_template(text) {
            return Ok(Value::str(text));
        }
        let c = self.compile_template(text)?;
        let v = eval::run(self, &c, scope)?;
        // Ansible adds back the trailing newlines Jinja2 dropped.
        if let Value::Str(s) = &v {
            let want = trailing_newlines(text);
            let have = trailing_newlines(s);
            if want > have {
                return Ok(Value::from(format!("{s}{}", "\n".repeat(want - have))));
            }
        }
        Ok(v)
    }

    /// The value of a variable's template, for lazy variables: errors
    /// become markers (they fail where the value is used), naming the
    /// variable.
    pub(crate) fn template_value(&self, text: &str, scope: &dyn Scope, label: &str) -> Value {
        match self.render(text, scope) {
            Ok(v) => v,
            Err(Flow::Unknown(d)) => Value::Unknown(d),
            Err(Flow::Error(e)) => Value::marker(e.in_variable(label)),
        }
    }

    /// Template a string (see the module documentation).
    pub fn template(&self, text: &str, scope: &dyn Scope) -> Result<Outcome, TemplateError> {
        match self.render(text, scope) {
            Ok(v) => outcome(v),
            Err(Flow::Unknown(d)) => Ok(Outcome::Unknown {
                depends_on: d.into_set(),
                partial: None,
            }),
            Err(Flow::Error(e)) => Err(*e),
        }
    }

    /// Template YAML data: strings are templates, `!unsafe` strings are
    /// not; lists and dicts are walked.
    pub fn template_node(&self, node: &Node, scope: &dyn Scope) -> Result<Outcome, TemplateError> {
        outcome(scope::template_tree(self, &node.value, scope, "<value>"))
    }

    /// Evaluate a bare expression (no braces) to a value.
    pub fn evaluate(&self, expr: &str, scope: &dyn Scope) -> Result<Outcome, TemplateError> {
        let c = self.compile_expression(expr.trim())?;
        match eval::run(self, &c, scope) {
            Ok(v) => outcome(v),
            Err(Flow::Unknown(d)) => Ok(Outcome::Unknown {
                depends_on: d.into_set(),
                partial: None,
            }),
            Err(Flow::Error(e)) => Err(*e),
        }
    }

    /// Evaluate a bare expression without finalising its result: lists and
    /// dicts keep their lazy parts (templated when read, through `scope`,
    /// which must outlive the value), and may hold unknown or undefined
    /// parts. For values of which only some parts are read (loop items).
    pub fn evaluate_lazy(&self, expr: &str, scope: &dyn Scope) -> Result<Value, TemplateError> {
        let c = self.compile_expression(expr.trim())?;
        match eval::run(self, &c, scope) {
            Ok(v) => Ok(v),
            Err(Flow::Unknown(d)) => Ok(Value::Unknown(d)),
            Err(Flow::Error(e)) => Err(*e),
        }
    }

    /// Evaluate a conditional (`when:`) as ansible-core 2.19 does.
    pub fn condition(&self, expr: &str, scope: &dyn Scope) -> Result<Tri, TemplateError> {
        let e = expr.trim();
        if e.is_empty() {
            return Err(TemplateError::new(
                ErrorKind::Conditional,
                "Empty conditional expressions are not allowed.",
            ));
        }
        let result = if is_possibly_all_template(e) {
            // `when: "{{ x }}"`: templated first (deprecated); a string
            // result is then the expression.
            match self.template(e, scope)? {
                Outcome::Known(Value::Str(s)) => {
                    let s = s.trim();
                    if s.is_empty() {
                        return Err(TemplateError::new(
                            ErrorKind::Conditional,
                            "Empty conditional expressions are not allowed.",
                        ));
                    }
                    self.evaluate(s, scope)?
                }
                other => other,
            }
        } else {
            self.evaluate(e, scope)?
        };
        match result {
            Outcome::Known(Value::Bool(true)) => Ok(Tri::True),
            Outcome::Known(Value::Bool(false)) => Ok(Tri::False),
            Outcome::Unknown { depends_on, .. } => Ok(Tri::Unknown(depends_on)),
            Outcome::Known(other) => {
                let truth = match &other {
                    Value::None => false,
                    Value::Int(i) => *i != 0,
                    Value::Float(f) => *f != 0.0,
                    Value::Str(s) => !s.is_empty(),
                    Value::List(l) => !l.is_empty(),
                    Value::Dict(d) => !d.is_empty(),
                    _ => true,
                };
                Err(TemplateError::new(
                    ErrorKind::Conditional,
                    format!(
                        "Conditional result ({}) was derived from value of type '{}'. \
                         Conditionals must have a boolean result.",
                        if truth { "True" } else { "False" },
                        other.type_name()
                    ),
                ))
            }
        }
    }
}

fn trailing_newlines(s: &str) -> usize {
    s.len() - s.trim_end_matches('\n').len()
}

/// `_starts_and_ends_with_jinja_delimiters`.
fn is_possibly_all_template(s: &str) -> bool {
    (s.starts_with("{{") || s.starts_with("{%") || s.starts_with("{#"))
        && (s.ends_with("}}") || s.ends_with("%}") || s.ends_with("#}"))
}

/// Finalise a result (template lazy parts, fail on undefined parts, drop
/// `omit` from lists and dicts) into an outcome.
fn outcome(v: Value) -> Result<Outcome, TemplateError> {
    let mut deps = BTreeSet::new();
    let f = v.finalize(&mut deps)?;
    if let Value::Omit = f {
        return Err(TemplateError::new(
            ErrorKind::Omit,
            "A template was resolved to an Omit scalar.",
        ));
    }
    Ok(match f {
        Value::Unknown(d) => Outcome::Unknown {
            depends_on: d.into_set(),
            partial: None,
        },
        f if deps.is_empty() => Outcome::Known(f),
        f => Outcome::Unknown {
            depends_on: deps,
            partial: Some(f),
        },
    })
}

/// A template as a glob: each `{{ }}`/`{% %}` part as `*`.
pub fn template_glob(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(open) = rest
        .find('{')
        .filter(|&i| matches!(rest[i + 1..].chars().next(), Some('{' | '%')))
    {
        out.push_str(&rest[..open]);
        out.push('*');
        let end = rest[open + 2..].find(['}']).map(|i| open + 2 + i);
        match end.and_then(|e| {
            rest[e..]
                .find(|c: char| c != '}' && c != '%')
                .map(|k| e + k)
                .or(Some(rest.len()))
        }) {
            Some(e) => rest = &rest[e..],
            None => return out,
        }
    }
    out.push_str(rest);
    out.replace(' ', "-")
}

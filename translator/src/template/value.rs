//! Template values: the Python types Ansible's templates compute with,
//! plus two that only a static evaluator needs.
//!
//! - `None`, `bool`, `int` (64 bits: beyond is an error, not a Python big
//!   integer), `float`, `str`, `list`, `dict` (insertion-ordered, keys are
//!   scalars compared as Python compares them: `1`, `1.0` and `True` are
//!   one key). Tuples are lists (Ansible turns them into lists in every
//!   result anyway).
//! - [`Value::Omit`]: Ansible's `omit` placeholder.
//! - [`Value::Unknown`]: a value only known at run time (facts, registered
//!   results), with the names it depends on. It can sit inside a list or a
//!   dict whose other items are known.
//! - Markers (hidden): an undefined value or a deferred error, as
//!   ansible-core 2.19 keeps them, which only fail when used.
//!
//! Lists and dicts may hold *lazy* items: a variable's value from YAML is
//! built with its template strings untemplated, and each is templated the
//! first time it is read (as Ansible's lazy containers do), so that
//! `d.a` works even when `d.b` fails, and a dict may refer to its own
//! other keys. Reading goes through [`List::get`], [`Dict::get`] and the
//! iterators, which template on the way.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use indexmap::IndexMap;

use super::error::{type_err, Deps, ErrorKind, Flow, TemplateError, R};
use crate::yaml::py_float_repr;

/// A value computed by a template (see the module documentation).
#[derive(Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    List(List),
    Dict(Dict),
    /// Ansible's `omit`: dropped from lists and dicts; as a whole result,
    /// the caller decides (a module argument is left out).
    Omit,
    /// Known only at run time; the names of what it depends on.
    Unknown(Deps),
    /// An undefined value or a deferred error: fails when used.
    #[doc(hidden)]
    Marker(Arc<TemplateError>),
    /// `namespace()`: a mutable object for `{% set ns.x = ... %}`.
    #[doc(hidden)]
    Namespace(Namespace),
}

/// A dict key: a hashable scalar.
#[derive(Clone, Debug)]
pub enum Key {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
}

impl Key {
    pub fn str(s: &str) -> Key {
        Key::Str(Arc::from(s))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Key::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Key::None => Value::None,
            Key::Bool(b) => Value::Bool(*b),
            Key::Int(i) => Value::Int(*i),
            Key::Float(f) => Value::Float(*f),
            Key::Str(s) => Value::Str(Arc::clone(s)),
        }
    }

    /// The key for a value, if it is hashable (Python raises
    /// `unhashable type` for lists and dicts).
    pub(crate) fn from_value(v: &Value) -> R<Key> {
        Ok(match v.known()? {
            Value::None => Key::None,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            Value::Float(f) => Key::Float(*f),
            Value::Str(s) => Key::Str(Arc::clone(s)),
            other => return type_err(format!("unhashable type: '{}'", other.type_name())),
        })
    }

    fn number(&self) -> Option<Result<i64, f64>> {
        match self {
            Key::Bool(b) => Some(Ok(i64::from(*b))),
            Key::Int(i) => Some(Ok(*i)),
            Key::Float(f) => Some(if f.fract() == 0.0 && f.abs() < 9.2e18 {
                Ok(*f as i64)
            } else {
                Err(*f)
            }),
            _ => None,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        match (self, other) {
            (Key::Str(a), Key::Str(b)) => a == b,
            (Key::None, Key::None) => true,
            _ => match (self.number(), other.number()) {
                (Some(Ok(a)), Some(Ok(b))) => a == b,
                (Some(Err(a)), Some(Err(b))) => a == b || (a.is_nan() && b.is_nan()),
                _ => false,
            },
        }
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // A string key hashes as `str` does, so that `&str` can be used
        // for lookups (see the `Equivalent` impl).
        match self {
            Key::Str(s) => (**s).hash(state),
            Key::None => 0u8.hash(state),
            _ => match self.number() {
                Some(Ok(i)) => i.hash(state),
                Some(Err(f)) => f.to_bits().hash(state),
                None => {}
            },
        }
    }
}

impl indexmap::Equivalent<Key> for str {
    fn equivalent(&self, key: &Key) -> bool {
        key.as_str() == Some(self)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(s) => f.write_str(s),
            other => f.write_str(&py_repr_scalar(&other.to_value())),
        }
    }
}

/// An item of a list or dict: a value, or a template to run on first
/// read.
#[derive(Clone)]
pub(crate) enum Slot {
    Ready(Value),
    Lazy(Arc<Lazy>),
}

impl Slot {
    pub(crate) fn get(&self) -> Value {
        match self {
            Slot::Ready(v) => v.clone(),
            Slot::Lazy(l) => l.force(),
        }
    }
}

/// What a lazy item runs to get its value (a template string in a
/// variables scope, or a variable lookup).
pub(crate) trait Job: Send + Sync {
    fn run(&self) -> Value;
    /// The name of what is computed, for cycle messages
    /// (`keystone_services.keystone.image`).
    fn label(&self) -> String;
}

/// A value computed on first use and memoised, with cycle detection: a
/// job that needs its own value (on the same thread) gets a cycle error.
pub(crate) struct Lazy {
    state: Mutex<LazyState>,
}

enum LazyState {
    Pending(Arc<dyn Job>),
    Running(ThreadId, Arc<dyn Job>),
    Done(Value),
}

/// How deeply templates may nest through variables before it is an error
/// (Python's recursion limit stops Ansible at about this depth too).
pub(crate) const MAX_NESTING: usize = 150;

thread_local! {
    /// What is being computed on this thread, outermost first: the path of
    /// a cycle, and the nesting depth.
    static STACK: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with `label` pushed on this thread's stack of computations, or
/// give the error for nesting too deep.
pub(crate) fn with_label(label: String, f: impl FnOnce() -> Value) -> Value {
    let depth = STACK.with(|s| {
        let mut s = s.borrow_mut();
        s.push(label);
        s.len()
    });
    let v = if depth > MAX_NESTING {
        Value::Marker(Arc::new(TemplateError::new(
            ErrorKind::Limit,
            format!("templates nest more than {MAX_NESTING} levels deep through variables"),
        )))
    } else {
        f()
    };
    STACK.with(|s| s.borrow_mut().pop());
    v
}

/// The error for `label` needed while it is being computed: the path of
/// the cycle from its first occurrence on this thread's stack.
pub(crate) fn cycle_error(label: &str) -> TemplateError {
    let path = STACK.with(|s| {
        let s = s.borrow();
        let start = s.iter().position(|l| l == label).unwrap_or(0);
        let mut path: Vec<String> = s[start..].to_vec();
        path.push(label.to_string());
        path.join(" -> ")
    });
    TemplateError::new(
        ErrorKind::Cycle,
        format!("recursive loop detected: the value of '{label}' depends on itself ({path})"),
    )
}

impl Lazy {
    pub(crate) fn new(job: Arc<dyn Job>) -> Lazy {
        Lazy {
            state: Mutex::new(LazyState::Pending(job)),
        }
    }

    pub(crate) fn force(&self) -> Value {
        let me = thread::current().id();
        let (job, memo) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match &*st {
                LazyState::Done(v) => return v.clone(),
                LazyState::Running(t, job) if *t == me => {
                    return Value::Marker(Arc::new(cycle_error(&job.label())));
                }
                // Another thread computes it: compute it here as well
                // rather than wait (the results are the same).
                LazyState::Running(_, job) => (Arc::clone(job), false),
                LazyState::Pending(job) => {
                    let job = Arc::clone(job);
                    *st = LazyState::Running(me, Arc::clone(&job));
                    (job, true)
                }
            }
        };
        let v = with_label(job.label(), || job.run());
        if memo {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            *st = LazyState::Done(v.clone());
        }
        v
    }
}

/// A list (or a Python tuple).
#[derive(Clone, Default)]
pub struct List(pub(crate) Arc<Vec<Slot>>);

impl List {
    pub fn new(items: Vec<Value>) -> List {
        List(Arc::new(items.into_iter().map(Slot::Ready).collect()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Value> {
        self.0.get(i).map(Slot::get)
    }

    /// The items, each templated if it was not yet.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Value> + ExactSizeIterator + '_ {
        self.0.iter().map(Slot::get)
    }

    pub fn to_vec(&self) -> Vec<Value> {
        self.iter().collect()
    }
}

impl FromIterator<Value> for List {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> List {
        List(Arc::new(iter.into_iter().map(Slot::Ready).collect()))
    }
}

/// A dict, in insertion order.
#[derive(Clone, Default)]
pub struct Dict(pub(crate) Arc<IndexMap<Key, Slot>>);

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: &Key) -> Option<Value> {
        self.0.get(key).map(Slot::get)
    }

    pub fn get_str(&self, key: &str) -> Option<Value> {
        self.0.get(key).map(Slot::get)
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.0.contains_key(key)
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Key> + '_ {
        self.0.keys()
    }

    /// The items, values templated if they were not yet.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Key, Value)> + '_ {
        self.0.iter().map(|(k, s)| (k, s.get()))
    }

    /// A copy with `key` set (keeping its position if present).
    pub fn with(&self, key: Key, value: Value) -> Dict {
        let mut m = (*self.0).clone();
        m.insert(key, Slot::Ready(value));
        Dict(Arc::new(m))
    }

    pub(crate) fn from_slots(m: IndexMap<Key, Slot>) -> Dict {
        Dict(Arc::new(m))
    }
}

impl FromIterator<(Key, Value)> for Dict {
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(iter: I) -> Dict {
        Dict(Arc::new(
            iter.into_iter().map(|(k, v)| (k, Slot::Ready(v))).collect(),
        ))
    }
}

/// `namespace()`: attributes that `{% set ns.attr = ... %}` changes in
/// place (shared by every scope that sees the namespace).
#[derive(Clone, Default)]
pub struct Namespace(pub(crate) Arc<Mutex<IndexMap<Arc<str>, Value>>>);

impl Namespace {
    pub(crate) fn get(&self, name: &str) -> Option<Value> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    pub(crate) fn set(&self, name: &str, value: Value) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Arc::from(name), value);
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Unknown(d) => write!(f, "Unknown({:?})", d.names()),
            Value::Marker(e) => write!(f, "Marker({:?})", e.message),
            Value::Omit => f.write_str("Omit"),
            Value::Namespace(_) => f.write_str("Namespace"),
            other => match py_repr(other) {
                Ok(s) => f.write_str(&s),
                Err(Flow::Unknown(d)) => write!(f, "<partial, unknown {:?}>", d.names()),
                Err(Flow::Error(e)) => write!(f, "<error {}>", e.message),
            },
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Arc::from(s))
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::List(List::new(v))
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Value {
        Value::Dict(d)
    }
}

impl From<List> for Value {
    fn from(l: List) -> Value {
        Value::List(l)
    }
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Arc::from(s))
    }

    pub fn unknown(name: impl Into<String>) -> Value {
        Value::Unknown(Deps::one(name))
    }

    pub(crate) fn marker(e: TemplateError) -> Value {
        Value::Marker(Arc::new(e))
    }

    pub(crate) fn undefined(message: impl Into<String>) -> Value {
        Value::marker(TemplateError::undefined(message))
    }

    /// Python's type name (`NoneType`, `int`, `str`, `dict`...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Omit => "Omit",
            Value::Unknown(_) => "unknown",
            Value::Marker(_) => "AnsibleUndefined",
            Value::Namespace(_) => "Namespace",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&List> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    pub(crate) fn is_marker(&self) -> bool {
        matches!(self, Value::Marker(_))
    }

    /// An undefined marker (not a deferred error).
    pub(crate) fn is_undefined(&self) -> bool {
        matches!(self, Value::Marker(e) if matches!(e.kind, ErrorKind::Undefined))
    }

    /// The value itself, if it is known and not a marker: an unknown value
    /// stops the computation as unknown, a marker as its error.
    pub(crate) fn known(&self) -> R<&Value> {
        match self {
            Value::Unknown(d) => Err(Flow::Unknown(d.clone())),
            Value::Marker(e) => Err(Flow::Error(Box::new((**e).clone()))),
            v => Ok(v),
        }
    }

    /// Python truthiness.
    pub(crate) fn is_true(&self) -> R<bool> {
        // Jinja's undefined from `x if c` without `else` is falsy (only
        // storing it as a template's result is an error).
        if let Value::Marker(e) = self {
            if e.message == super::eval::UNDEFINED_IF {
                return Ok(false);
            }
        }
        Ok(match self.known()? {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Omit | Value::Namespace(_) => true,
            Value::Unknown(_) | Value::Marker(_) => unreachable!("excluded by known()"),
        })
    }

    /// As a number for arithmetic (bools are ints).
    pub(crate) fn as_number(&self) -> Option<Num> {
        match self {
            Value::Bool(b) => Some(Num::Int(i64::from(*b))),
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            _ => None,
        }
    }

    /// Every unknown leaf's names, or the first error of a marker leaf,
    /// templating lazy items on the way (Ansible's finalisation of a
    /// result). `Omit` items are dropped from lists and dicts.
    pub(crate) fn finalize(&self, deps: &mut BTreeSet<String>) -> Result<Value, TemplateError> {
        self.finalize_at(deps, 0)
    }

    fn finalize_at(
        &self,
        deps: &mut BTreeSet<String>,
        depth: usize,
    ) -> Result<Value, TemplateError> {
        if depth > 500 {
            return Err(TemplateError::new(
                ErrorKind::Limit,
                "value nested more than 500 levels deep",
            ));
        }
        Ok(match self {
            Value::Unknown(d) => {
                deps.extend(d.names().iter().cloned());
                self.clone()
            }
            Value::Marker(e) => return Err((**e).clone()),
            Value::Namespace(_) => {
                return Err(TemplateError::ty(
                    "Type 'Namespace' is unsupported for variable storage.",
                ))
            }
            Value::List(l) => {
                let mut out = Vec::with_capacity(l.len());
                for v in l.iter() {
                    if !matches!(v, Value::Omit) {
                        out.push(v.finalize_at(deps, depth + 1)?);
                    }
                }
                Value::List(List::new(out))
            }
            Value::Dict(d) => {
                let mut out = IndexMap::with_capacity(d.len());
                for (k, v) in d.iter() {
                    if !matches!(v, Value::Omit) {
                        out.insert(k.clone(), Slot::Ready(v.finalize_at(deps, depth + 1)?));
                    }
                }
                Value::Dict(Dict::from_slots(out))
            }
            other => other.clone(),
        })
    }

    /// Whether an unknown value is anywhere inside (forcing lazy items).
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown(_) => true,
            Value::List(l) => l.iter().any(|v| v.contains_unknown()),
            Value::Dict(d) => d.iter().any(|(_, v)| v.contains_unknown()),
            _ => false,
        }
    }

    /// Python's `repr()` (`'a'`, `[1, None]`, `{'k': True}`); unknown
    /// parts show as `<unknown: names>`.
    pub fn repr(&self) -> String {
        let mut out = String::new();
        write_repr_lossy(self, &mut out, 0);
        out
    }

    /// JSON for the value (dict keys as strings); unknown parts as
    /// `{"__unknown__": [names]}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::None | Value::Omit | Value::Namespace(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::List(l) => J::Array(l.iter().map(|v| v.to_json()).collect()),
            Value::Dict(d) => {
                let mut m = serde_json::Map::new();
                for (k, v) in d.iter() {
                    m.insert(k.to_string(), v.to_json());
                }
                J::Object(m)
            }
            Value::Unknown(d) => {
                let mut m = serde_json::Map::new();
                m.insert(
                    "__unknown__".into(),
                    J::Array(d.names().iter().map(|n| J::String(n.clone())).collect()),
                );
                J::Object(m)
            }
            Value::Marker(e) => {
                let mut m = serde_json::Map::new();
                m.insert("__error__".into(), J::String(e.message.clone()));
                J::Object(m)
            }
        }
    }

    /// A value from JSON (strings are data: never templated).
    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::None,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::str(s),
            J::Array(a) => a.iter().map(Value::from_json).collect::<List>().into(),
            J::Object(o) => o
                .iter()
                .map(|(k, v)| (Key::str(k), Value::from_json(v)))
                .collect::<Dict>()
                .into(),
        }
    }

    /// A value from YAML as data: strings (even `{{ }}` ones) are not
    /// templated. `!vault` values are unknown (decryption happens at run
    /// time), timestamps their ISO text, `!!binary` its bytes as text.
    pub fn from_yaml(y: &crate::yaml::Yaml) -> Value {
        use crate::yaml::Yaml;
        match y {
            Yaml::Null => Value::None,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::Int(*i),
            Yaml::BigInt(s) => Value::Float(s.parse().unwrap_or(f64::NAN)),
            Yaml::Float(f) => Value::Float(*f),
            Yaml::Str(s) | Yaml::Unsafe(s) => Value::str(s),
            Yaml::Vault(_) => Value::unknown("!vault"),
            Yaml::Timestamp(t) => Value::from(t.isoformat().replacen('T', " ", 1)),
            Yaml::Binary(b) => Value::from(String::from_utf8_lossy(b).into_owned()),
            Yaml::Seq(items) => items
                .iter()
                .map(|n| Value::from_yaml(&n.value))
                .collect::<List>()
                .into(),
            Yaml::Map(m) => m
                .iter()
                .map(|(k, n)| (key_from_yaml(&k.value), Value::from_yaml(&n.value)))
                .collect::<Dict>()
                .into(),
        }
    }
}

/// A YAML mapping key as a dict key (non-scalar keys cannot happen: PyYAML
/// refuses them; timestamps and the rest become their text).
pub(crate) fn key_from_yaml(y: &crate::yaml::Yaml) -> Key {
    use crate::yaml::Yaml;
    match y {
        Yaml::Null => Key::None,
        Yaml::Bool(b) => Key::Bool(*b),
        Yaml::Int(i) => Key::Int(*i),
        Yaml::Float(f) => Key::Float(*f),
        Yaml::Str(s) | Yaml::Unsafe(s) => Key::str(s),
        other => Key::Str(Arc::from(other.to_py_str())),
    }
}

/// A number for arithmetic.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Python `==`. Unknown parts make it unknown; markers fail.
pub(crate) fn py_eq(a: &Value, b: &Value) -> R<bool> {
    let (a, b) = (a.known()?, b.known()?);
    Ok(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::None, Value::None) => true,
        (Value::Omit, Value::Omit) => true,
        (Value::List(x), Value::List(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(&p, &q)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Dict(x), Value::Dict(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            for (k, v) in x.iter() {
                match y.get(k) {
                    Some(w) => {
                        if !py_eq(&v, &w)? {
                            return Ok(false);
                        }
                    }
                    None => return Ok(false),
                }
            }
            true
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(Num::Int(x)), Some(Num::Int(y))) => x == y,
            (Some(x), Some(y)) => x.to_f64() == y.to_f64(),
            _ => false,
        },
    })
}

/// Python's ordering (`<`), for sorting and comparisons: numbers, strings
/// (by code point) and lists (item by item); anything else is a
/// `TypeError`.
pub(crate) fn py_cmp(a: &Value, b: &Value, op: &str) -> R<Ordering> {
    let (a, b) = (a.known()?, b.known()?);
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::List(x), Value::List(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(&p, &q)? {
                    return py_cmp(&p, &q, op);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => match (a.as_number(), b.as_number()) {
            (Some(Num::Int(x)), Some(Num::Int(y))) => Ok(x.cmp(&y)),
            (Some(x), Some(y)) => Ok(x
                .to_f64()
                .partial_cmp(&y.to_f64())
                .unwrap_or(Ordering::Equal)),
            _ => type_err(format!(
                "'{op}' not supported between instances of '{}' and '{}'",
                a.type_name(),
                b.type_name()
            )),
        },
    }
}

/// Python `item in container`.
pub(crate) fn py_contains(container: &Value, item: &Value) -> R<bool> {
    match container.known()? {
        Value::Str(s) => match item.known()? {
            Value::Str(sub) => Ok(s.contains(&**sub)),
            other => type_err(format!(
                "'in <string>' requires string as left operand, not {}",
                other.type_name()
            )),
        },
        Value::List(l) => {
            let mut unknown = None;
            for v in l.iter() {
                match py_eq(&v, item) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(Flow::Unknown(d)) => unknown = Some(d),
                    Err(e) => return Err(e),
                }
            }
            match unknown {
                Some(d) => Err(Flow::Unknown(d)),
                None => Ok(false),
            }
        }
        Value::Dict(d) => {
            let k = Key::from_value(item)?;
            Ok(d.contains_key(&k))
        }
        other => type_err(format!(
            "argument of type '{}' is not iterable",
            other.type_name()
        )),
    }
}

/// Python's `str()`: strings as themselves, everything else as `repr()`.
pub(crate) fn py_str(v: &Value) -> R<String> {
    match v.known()? {
        Value::Str(s) => Ok(s.to_string()),
        other => py_repr(other),
    }
}

/// Python's `repr()`; unknown parts stop it as unknown.
pub(crate) fn py_repr(v: &Value) -> R<String> {
    let mut out = String::new();
    write_repr(v, &mut out, 0)?;
    Ok(out)
}

fn write_repr(v: &Value, out: &mut String, depth: usize) -> R<()> {
    if depth > 500 {
        return Err(TemplateError::new(ErrorKind::Limit, "value nested too deeply").into());
    }
    match v.known()? {
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&item, out, depth + 1)?;
            }
            out.push(']');
        }
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, item)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&py_repr_scalar(&k.to_value()));
                out.push_str(": ");
                write_repr(&item, out, depth + 1)?;
            }
            out.push('}');
        }
        other => out.push_str(&py_repr_scalar(other)),
    }
    Ok(())
}

fn write_repr_lossy(v: &Value, out: &mut String, depth: usize) {
    if depth > 500 {
        out.push_str("...");
        return;
    }
    match v {
        Value::Unknown(d) => {
            out.push_str("<unknown: ");
            out.push_str(&d.names().iter().cloned().collect::<Vec<_>>().join(", "));
            out.push('>');
        }
        Value::Marker(e) => {
            out.push_str("<undefined: ");
            out.push_str(&e.message);
            out.push('>');
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr_lossy(&item, out, depth + 1);
            }
            out.push(']');
        }
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, item)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&py_repr_scalar(&k.to_value()));
                out.push_str(": ");
                write_repr_lossy(&item, out, depth + 1);
            }
            out.push('}');
        }
        other => out.push_str(&py_repr_scalar(other)),
    }
}

/// `repr()` of a scalar.
pub(crate) fn py_repr_scalar(v: &Value) -> String {
    match v {
        Value::None => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => py_float_repr(*f),
        Value::Str(s) => py_repr_str(s),
        Value::Omit => "<<Omit>>".into(),
        Value::Namespace(_) => "<Namespace>".into(),
        Value::Unknown(_) => "<unknown>".into(),
        Value::Marker(_) => "AnsibleUndefined".into(),
        Value::List(_) | Value::Dict(_) => "[...]".into(),
    }
}

/// Python's `repr()` of a string: single quotes unless the text has a
/// single quote and no double quote; `\n`, `\r`, `\t`, `\\` and
/// non-printable characters escaped.
pub(crate) fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character, approximately: control
/// characters, separators other than the space, and the common format and
/// private-use ranges are not printable.
fn is_printable(c: char) -> bool {
    let n = c as u32;
    !(n < 0x20
        || (0x7f..=0xa0).contains(&n)
        || n == 0xad
        || (0x2000..=0x200f).contains(&n)
        || (0x2028..=0x202f).contains(&n)
        || (0x205f..=0x206f).contains(&n)
        || n == 0x3000
        || n == 0xfeff
        || (0xe000..=0xf8ff).contains(&n)
        || (0xfff9..=0xfffb).contains(&n)
        || n == 0x1680)
}

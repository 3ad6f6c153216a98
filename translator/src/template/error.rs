//! Template errors, and the internal control flow that carries "this
//! depends on run-time data" next to them.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

/// What went wrong, broadly (the message says the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The template or expression does not parse.
    Syntax,
    /// A variable, attribute or item that does not exist was used.
    Undefined,
    /// An operation on the wrong types (`1 + 'a'`, `'<' not supported`).
    Type,
    /// A right type with a wrong value (`'x' | int` is not an error in
    /// Ansible, but `from_json` of bad JSON is), division by zero...
    Value,
    /// A variable whose value depends on itself.
    Cycle,
    /// A conditional (`when:`) that is empty or not a boolean.
    Conditional,
    /// A filter, test, lookup or construct this implementation does not
    /// have (or does not do statically).
    Unsupported,
    /// A lookup failed (file not found...).
    Lookup,
    /// The result is `omit` where a value is required.
    Omit,
    /// Templates nested too deeply, or a value too large.
    Limit,
}

/// Where in a template's text something is: a byte range, and the 1-based
/// line and column (in characters) of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextSpan {
    pub offset: usize,
    pub len: usize,
    pub line: usize,
    pub col: usize,
}

/// An error while templating: the message Ansible would give (or close to
/// it), the template text it is about and where in it.
///
/// When the error comes from a variable templated on the way (`a` refers
/// to `b`, whose template fails), `template` and `span` are `b`'s and
/// `variable` names `b` (its path, `keystone_services.keystone.image`), so
/// that the caller can point at `b`'s definition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TemplateError {
    pub kind: ErrorKind,
    pub message: String,
    /// The text of the template the span points into.
    pub template: Option<Arc<str>>,
    pub span: Option<TextSpan>,
    /// The variable whose value was being templated, innermost first.
    pub variable: Option<String>,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(v) = &self.variable {
            write!(f, " (in variable '{v}'")?;
            if let Some(s) = &self.span {
                write!(f, ", line {} column {}", s.line, s.col)?;
            }
            f.write_str(")")?;
        } else if let Some(s) = &self.span {
            write!(f, " (line {} column {})", s.line, s.col)?;
        }
        Ok(())
    }
}

impl TemplateError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            kind,
            message: message.into(),
            template: None,
            span: None,
            variable: None,
        }
    }

    pub(crate) fn ty(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Type, message)
    }

    pub(crate) fn value(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Value, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Unsupported, message)
    }

    pub(crate) fn undefined(message: impl Into<String>) -> TemplateError {
        TemplateError::new(ErrorKind::Undefined, message)
    }

    /// Set the position if none is set yet (the innermost wins).
    pub(crate) fn at(mut self, template: &Arc<str>, span: TextSpan) -> TemplateError {
        if self.template.is_none() {
            self.template = Some(Arc::clone(template));
            self.span = Some(span);
        }
        self
    }

    pub(crate) fn in_variable(mut self, name: &str) -> TemplateError {
        if self.variable.is_none() {
            self.variable = Some(name.to_string());
        }
        self
    }
}

/// The run-time names a value depends on (variables marked unknown, such
/// as `ansible_facts`, or `lookup('password')`-like sources).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Deps(pub(crate) Arc<BTreeSet<String>>);

impl Deps {
    pub fn one(name: impl Into<String>) -> Deps {
        let mut s = BTreeSet::new();
        s.insert(name.into());
        Deps(Arc::new(s))
    }

    pub fn names(&self) -> &BTreeSet<String> {
        &self.0
    }

    pub(crate) fn union(&self, other: &Deps) -> Deps {
        if other.0.is_subset(&self.0) {
            return self.clone();
        }
        if self.0.is_subset(&other.0) {
            return other.clone();
        }
        let mut s = (*self.0).clone();
        s.extend(other.0.iter().cloned());
        Deps(Arc::new(s))
    }

    pub(crate) fn into_set(self) -> BTreeSet<String> {
        Arc::try_unwrap(self.0).unwrap_or_else(|a| (*a).clone())
    }
}

/// Why an evaluation step did not produce a value: an error, or a value
/// that depends on run-time data (it propagates like an error through
/// everything that needs the actual value, and is caught where the result
/// does not depend on it).
#[derive(Debug, Clone)]
pub(crate) enum Flow {
    Error(Box<TemplateError>),
    Unknown(Deps),
}

impl From<TemplateError> for Flow {
    fn from(e: TemplateError) -> Flow {
        Flow::Error(Box::new(e))
    }
}

pub(crate) type R<T> = Result<T, Flow>;

/// Shorthands for the errors filters raise.
pub(crate) fn type_err<T>(message: impl Into<String>) -> R<T> {
    Err(TemplateError::ty(message).into())
}

pub(crate) fn value_err<T>(message: impl Into<String>) -> R<T> {
    Err(TemplateError::value(message).into())
}

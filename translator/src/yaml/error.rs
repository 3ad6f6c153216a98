//! Diagnostics for YAML files: errors that stop loading and warnings that
//! do not, both pointing into the source with miette.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity};

use super::{Source, Span};

/// What kind of problem stopped the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// Not YAML at all (granit-parser's scanner or parser refused it).
    Syntax,
    /// More than one document: Ansible's loader reads exactly one.
    MultipleDocuments,
    /// Valid YAML that PyYAML cannot construct: an unknown tag, a bad
    /// `!!int`, a list as a mapping key, a bad merge.
    Construct,
    /// An alias to a node that contains it, or an expansion past
    /// [`super::MAX_NODES`].
    Alias,
}

/// A YAML file Ansible would refuse, with where and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
    pub src: NamedSource<Arc<String>>,
}

impl YamlError {
    pub(crate) fn new(
        source: &Source,
        kind: YamlErrorKind,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Box<YamlError> {
        Box::new(YamlError {
            kind,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            src: source.named(),
        })
    }

    pub(crate) fn with_help(mut self: Box<Self>, help: impl Into<String>) -> Box<Self> {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, for one-line reports.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.src.name(), self.span.line, self.span.col)
    }
}

impl Diagnostic for YamlError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match self.kind {
            YamlErrorKind::Syntax => "yaml::syntax",
            YamlErrorKind::MultipleDocuments => "yaml::documents",
            YamlErrorKind::Construct => "yaml::construct",
            YamlErrorKind::Alias => "yaml::alias",
        }))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span),
        )))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
}

/// Something Ansible accepts with a warning, such as a repeated key.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlWarning {
    pub message: String,
    pub span: Span,
    pub label: String,
    /// A second place involved (the first occurrence of a repeated key).
    pub also: Option<(Span, String)>,
    pub help: Option<String>,
    pub src: NamedSource<Arc<String>>,
}

impl Diagnostic for YamlWarning {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("yaml::duplicate_key"))
    }
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let mut v = vec![LabeledSpan::new_primary_with_span(
            Some(self.label.clone()),
            self.span,
        )];
        if let Some((span, label)) = &self.also {
            v.push(LabeledSpan::new_with_span(Some(label.clone()), *span));
        }
        Some(Box::new(v.into_iter()))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
}

//! Inventory diagnostics: errors that stop loading, warnings that do not.
//! Both point at `file:line:col` when they concern a place in a file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity};

use crate::yaml::{Source, Span, YamlError};

/// A place in a file, with what to say there.
#[derive(Debug, Clone)]
pub struct Located {
    pub src: NamedSource<Arc<String>>,
    pub span: Span,
    pub label: String,
}

impl Located {
    pub fn new(source: &Source, span: Span, label: impl Into<String>) -> Located {
        Located {
            src: source.named(),
            span,
            label: label.into(),
        }
    }

    /// Where a YAML error points.
    pub fn of_yaml_error(e: &YamlError) -> Located {
        Located {
            src: e.src.clone(),
            span: e.span,
            label: e.label.clone(),
        }
    }

    /// `file:line:col`.
    pub fn position(&self) -> String {
        format!("{}:{}:{}", self.src.name(), self.span.line, self.span.col)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryErrorKind {
    /// The file (or a vars file) cannot be read.
    Io,
    /// YAML that Ansible's loader refuses.
    Yaml,
    /// An INI line the INI plugin refuses.
    Ini,
    /// A YAML inventory whose structure the YAML plugin refuses.
    Structure,
    /// A host pattern that cannot be expanded.
    HostPattern,
    /// Groups that contain themselves, or an unknown child.
    Groups,
    /// A `group_vars`/`host_vars` file that is not a mapping.
    VarsFile,
    /// Neither plugin could read the file: the related errors say why.
    Unparsed,
    /// A kind of source this reader does not handle (inventory plugin
    /// configurations, executable scripts).
    Unsupported,
}

/// Why an inventory could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct InventoryError {
    pub kind: InventoryErrorKind,
    pub message: String,
    /// Boxed: errors travel through every `Result` of the readers.
    pub at: Option<Box<Located>>,
    pub help: Option<String>,
    /// Further errors: for [`InventoryErrorKind::Unparsed`], one per plugin
    /// tried.
    pub related: Vec<InventoryError>,
}

impl InventoryError {
    pub fn new(kind: InventoryErrorKind, message: impl Into<String>) -> InventoryError {
        InventoryError {
            kind,
            message: message.into(),
            at: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn at(mut self, source: &Source, span: Span, label: impl Into<String>) -> Self {
        self.at = Some(Box::new(Located::new(source, span, label)));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn io(path: &std::path::Path, e: &std::io::Error) -> InventoryError {
        InventoryError::new(
            InventoryErrorKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
    }

    /// `file:line:col` of the problem, if it is in a file.
    pub fn location(&self) -> Option<String> {
        self.at.as_deref().map(Located::position)
    }

    /// The file name the problem is in, if any.
    pub fn file(&self) -> Option<PathBuf> {
        self.at.as_ref().map(|a| PathBuf::from(a.src.name()))
    }
}

impl From<Box<YamlError>> for InventoryError {
    fn from(e: Box<YamlError>) -> InventoryError {
        InventoryError {
            kind: InventoryErrorKind::Yaml,
            message: e.message.clone(),
            at: Some(Box::new(Located::of_yaml_error(&e))),
            help: e.help.clone(),
            related: Vec::new(),
        }
    }
}

pub(crate) fn labels(at: Option<&Located>) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
    at.map(|a| {
        Box::new(std::iter::once(LabeledSpan::new_primary_with_span(
            Some(a.label.clone()),
            a.span,
        ))) as Box<dyn Iterator<Item = LabeledSpan>>
    })
}

impl Diagnostic for InventoryError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match self.kind {
            InventoryErrorKind::Io => "inventory::io",
            InventoryErrorKind::Yaml => "inventory::yaml",
            InventoryErrorKind::Ini => "inventory::ini",
            InventoryErrorKind::Structure => "inventory::structure",
            InventoryErrorKind::HostPattern => "inventory::host_pattern",
            InventoryErrorKind::Groups => "inventory::groups",
            InventoryErrorKind::VarsFile => "inventory::vars_file",
            InventoryErrorKind::Unparsed => "inventory::unparsed",
            InventoryErrorKind::Unsupported => "inventory::unsupported",
        }))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        labels(self.at.as_deref())
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.at
            .as_deref()
            .map(|a| &a.src as &dyn miette::SourceCode)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|e| e as &dyn Diagnostic)))
    }
}

/// Something Ansible accepts with a warning: an unexpected key in a YAML
/// group, a repeated YAML key, a group and a host of the same name.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct InventoryWarning {
    pub message: String,
    pub at: Option<Located>,
    /// A second place in the same file (the first of two repeated keys).
    pub also: Option<(Span, String)>,
    pub help: Option<String>,
}

impl InventoryWarning {
    pub fn new(message: impl Into<String>) -> InventoryWarning {
        InventoryWarning {
            message: message.into(),
            at: None,
            also: None,
            help: None,
        }
    }

    pub fn at(mut self, source: &Source, span: Span, label: impl Into<String>) -> Self {
        self.at = Some(Located::new(source, span, label));
        self
    }

    pub fn location(&self) -> Option<String> {
        self.at.as_ref().map(Located::position)
    }
}

impl Diagnostic for InventoryWarning {
    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let also = self
            .also
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), *span));
        labels(self.at.as_ref())
            .map(|l| Box::new(l.chain(also)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.at.as_ref().map(|a| &a.src as &dyn miette::SourceCode)
    }
}

impl From<crate::yaml::YamlWarning> for InventoryWarning {
    fn from(w: crate::yaml::YamlWarning) -> InventoryWarning {
        InventoryWarning {
            message: w.message,
            at: Some(Located {
                src: w.src,
                span: w.span,
                label: w.label,
            }),
            also: w.also,
            help: w.help,
        }
    }
}

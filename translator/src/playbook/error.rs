//! Playbook diagnostics: every error points at `file:line:col` with a hint.

use std::fmt;
use std::path::Path;

use miette::{Diagnostic, LabeledSpan};

use crate::inventory::Located;
use crate::yaml::{Node, Source, YamlError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybookErrorKind {
    /// A file cannot be read.
    Io,
    /// YAML that Ansible's loader refuses.
    Yaml,
    /// A value of the wrong shape (a play that is not a mapping, ...).
    Structure,
    /// A key that is not a keyword of a play, block, task or role.
    UnknownKeyword,
    /// Task arguments that Ansible's `ModuleArgsParser` refuses.
    ModuleArgs,
    /// A role that is on no search path.
    RoleNotFound,
    /// A file that includes itself, directly or not.
    IncludeLoop,
    /// A template that does not parse.
    Template,
}

/// Why a playbook could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PlaybookError {
    pub kind: PlaybookErrorKind,
    pub message: String,
    pub at: Option<Box<Located>>,
    pub help: Option<String>,
}

impl PlaybookError {
    pub fn new(kind: PlaybookErrorKind, message: impl Into<String>) -> PlaybookError {
        PlaybookError {
            kind,
            message: message.into(),
            at: None,
            help: None,
        }
    }

    /// At `node` of `source`, labelled.
    pub fn at(mut self, source: &Source, node: &Node, label: impl Into<String>) -> Self {
        self.at = Some(Box::new(Located::new(source, node.span, label)));
        self
    }

    pub fn at_span(
        mut self,
        source: &Source,
        span: crate::yaml::Span,
        label: impl Into<String>,
    ) -> Self {
        self.at = Some(Box::new(Located::new(source, span, label)));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn io(path: &Path, e: &std::io::Error) -> PlaybookError {
        PlaybookError::new(
            PlaybookErrorKind::Io,
            format!("cannot read {}: {e}", path.display()),
        )
        .help("check the path, and that the file is readable")
    }

    /// `file:line:col`, if the problem is in a file.
    pub fn location(&self) -> Option<String> {
        self.at.as_deref().map(Located::position)
    }
}

impl From<Box<YamlError>> for PlaybookError {
    fn from(e: Box<YamlError>) -> PlaybookError {
        PlaybookError {
            kind: PlaybookErrorKind::Yaml,
            message: e.message.clone(),
            at: Some(Box::new(Located::of_yaml_error(&e))),
            help: e.help.clone(),
        }
    }
}

impl Diagnostic for PlaybookError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(match self.kind {
            PlaybookErrorKind::Io => "playbook::io",
            PlaybookErrorKind::Yaml => "playbook::yaml",
            PlaybookErrorKind::Structure => "playbook::structure",
            PlaybookErrorKind::UnknownKeyword => "playbook::unknown_keyword",
            PlaybookErrorKind::ModuleArgs => "playbook::module_args",
            PlaybookErrorKind::RoleNotFound => "playbook::role_not_found",
            PlaybookErrorKind::IncludeLoop => "playbook::include_loop",
            PlaybookErrorKind::Template => "playbook::template",
        }))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        crate::inventory::labels(self.at.as_deref())
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.at
            .as_deref()
            .map(|a| &a.src as &dyn miette::SourceCode)
    }
}

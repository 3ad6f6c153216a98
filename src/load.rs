//! Loading what the CLI is given: an assembly (`.yaml`/`.yml`) or a
//! reconfiguration program (`.concerto`), and `--durations` files.

use crate::model::Runnable;
use indexmap::IndexMap;
use miette::{Diagnostic, NamedSource, SourceSpan};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// A loaded input, ready to predict or run.
pub struct Input {
    pub runnable: Runnable,
    pub warnings: Vec<miette::Report>,
    pub kind: &'static str,
}

impl Input {
    pub fn summary(&self) -> String {
        let instances = self
            .runnable
            .program
            .iter()
            .filter(|i| matches!(i, crate::model::Instr::Add { .. }))
            .count();
        format!(
            "ok: {} with {} component type(s), {} instance(s), {} instruction(s), {} warning(s)",
            self.kind,
            self.runnable.types.len(),
            instances,
            self.runnable.program.len(),
            self.warnings.len()
        )
    }
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LoadError {
    #[error("`--set` only applies to programs (`.concerto` files), not to the assembly {0}")]
    #[diagnostic(help("remove the --set options, or run a program that imports this assembly"))]
    SetOnAssembly(String),
    #[error("cannot read {path}")]
    #[diagnostic(help("check the path"))]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid durations file")]
    Durations {
        #[source_code]
        src: NamedSource<String>,
        #[label("{message}")]
        span: SourceSpan,
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// Load a file by its extension.
pub fn load(path: &Path, params: &IndexMap<String, i64>) -> miette::Result<Input> {
    if path.extension().is_some_and(|e| e == "concerto") {
        let runnable = crate::program::load(path, params, &|p: &Path| {
            crate::assembly::load(p).map(|(a, _)| a.types)
        })?;
        return Ok(Input {
            runnable,
            warnings: Vec::new(),
            kind: "program",
        });
    }
    if !params.is_empty() {
        return Err(LoadError::SetOnAssembly(path.display().to_string()).into());
    }
    let (assembly, warnings) = crate::assembly::load(path)?;
    Ok(Input {
        runnable: assembly.to_runnable(),
        warnings: warnings.into_iter().map(miette::Report::new).collect(),
        kind: "assembly",
    })
}

/// A durations file: a YAML mapping from `Type.transition` or
/// `instance.transition` to a duration (`2.5`, `300ms`, `uniform(0, 10)` is
/// not allowed here: the file fixes numbers).
pub fn durations_file(path: &Path) -> miette::Result<HashMap<String, Duration>> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_durations(&path.display().to_string(), &text).map_err(Into::into)
}

pub fn parse_durations(name: &str, text: &str) -> Result<HashMap<String, Duration>, LoadError> {
    let err = |offset: usize, message: String, help: Option<String>| LoadError::Durations {
        src: NamedSource::new(name, text.to_string()),
        span: (offset, 0).into(),
        message,
        help,
    };
    let map: IndexMap<String, serde_norway::Value> = serde_norway::from_str(text).map_err(|e| {
        let offset = e.location().map(|l| l.index()).unwrap_or(0);
        err(
            offset,
            e.to_string(),
            Some("expected a mapping such as `Server.configure: 2.5`".into()),
        )
    })?;
    let mut out = HashMap::new();
    for (key, value) in map {
        let at = text.find(&key).unwrap_or(0);
        if !key.contains('.') {
            return Err(err(
                at,
                format!("`{key}` is not `Type.transition` or `instance.transition`"),
                None,
            ));
        }
        let spec = match &value {
            serde_norway::Value::Number(n) => n.as_f64().map(|f| f.to_string()),
            serde_norway::Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let d = spec
            .as_deref()
            .map(crate::durations::parse_seconds)
            .and_then(Result::ok)
            .ok_or_else(|| {
                err(
                    at,
                    format!("the duration of `{key}` is not a number of seconds"),
                    Some("write `2.5`, `300ms` or `2m`".into()),
                )
            })?;
        out.insert(key, crate::durations::secs(d));
    }
    Ok(out)
}

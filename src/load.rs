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
/// `instance.transition` to a fixed duration (`2.5`, `300ms`, `2m`), checked
/// against what is being run.
pub fn durations_file(
    path: &Path,
    runnable: &Runnable,
) -> miette::Result<HashMap<String, Duration>> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_durations(&path.display().to_string(), &text, runnable).map_err(Into::into)
}

pub fn parse_durations(
    name: &str,
    text: &str,
    runnable: &Runnable,
) -> Result<HashMap<String, Duration>, LoadError> {
    use crate::assembly::spans::{Kind, Seg, SpanIndex};
    let err =
        |span: crate::model::SrcSpan, message: String, help: Option<String>| LoadError::Durations {
            src: NamedSource::new(name, text.to_string()),
            span: span.into(),
            message,
            help,
        };
    let index = SpanIndex::build(text).map_err(|e| {
        let at = e.at.offset.min(text.len());
        err(
            crate::model::SrcSpan { offset: at, len: 0 },
            e.message.clone(),
            Some("expected a mapping such as `Server.configure: 2.5`".into()),
        )
    })?;
    // Every name a key may use: Type.transition and instance.transition.
    let mut known: Vec<String> = Vec::new();
    for (ty_name, ty) in &runnable.types {
        known.extend(
            ty.ty
                .transitions
                .iter()
                .map(|t| format!("{ty_name}.{}", t.name)),
        );
    }
    for instr in &runnable.program {
        if let crate::model::Instr::Add { name, ty, .. } = instr {
            if let Some(t) = runnable.types.get(ty) {
                known.extend(
                    t.ty.transitions
                        .iter()
                        .map(|tr| format!("{name}.{}", tr.name)),
                );
            }
        }
    }
    let mut out = HashMap::new();
    let top = index.nodes().iter().filter(|n| n.path.len() == 1);
    let mut any = false;
    for node in top {
        any = true;
        let Some(Seg::Key(key)) = node.path.first() else {
            continue;
        };
        let key_span = node.key_or_value();
        if !known.iter().any(|k| k == key) {
            let help = Some(
                match crate::suggest::suggest(key, known.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => {
                        "keys are `Type.transition` or `instance.transition` of the file being run"
                            .to_string()
                    }
                },
            );
            return Err(err(
                key_span,
                format!("`{key}` names no transition of this run"),
                help,
            ));
        }
        let value = &text[node.value.offset..(node.value.offset + node.value.len).min(text.len())];
        let d = (node.kind == Kind::Scalar)
            .then(|| {
                crate::durations::parse_seconds(
                    value.trim().trim_matches(|c| c == '"' || c == '\''),
                )
            })
            .and_then(Result::ok)
            .ok_or_else(|| {
                err(
                    node.value,
                    format!("the duration of `{key}` is not a number of seconds"),
                    Some("write `2.5`, `300ms` or `2m`".into()),
                )
            })?;
        out.insert(key.clone(), crate::durations::secs(d));
    }
    if !any && !text.trim().is_empty() {
        return Err(err(
            crate::model::SrcSpan::default(),
            "expected a mapping".into(),
            Some("write one `Type.transition: seconds` per line".into()),
        ));
    }
    Ok(out)
}

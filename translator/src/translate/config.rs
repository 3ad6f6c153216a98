//! The translator's inputs besides the IR, each a YAML file with spans for
//! its diagnostics: module signatures (`data/signatures.yaml`, extended by
//! the user's), annotations (`concerto.yml` next to the playbook) and a
//! durations profile (`data/profiles/madeus-openstack.yaml`).

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;

use crate::yaml::{self, Node, Yaml};

/// The signatures shipped with the project.
pub const SHIPPED_SIGNATURES: &str = include_str!("../../data/signatures.yaml");
/// The Madeus OpenStack durations profile (model.md §5).
pub const MADEUS_PROFILE: &str = include_str!("../../data/profiles/madeus-openstack.yaml");

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Yaml(#[from] Box<yaml::YamlError>),
    #[error("{message}")]
    #[diagnostic(code(translate::config))]
    Invalid {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: SourceSpan,
        #[help]
        help: Option<String>,
    },
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(translate::read))]
    Read {
        path: String,
        source: std::io::Error,
    },
}

fn invalid(doc: &yaml::Document, node: &Node, message: String, help: &str) -> ConfigError {
    ConfigError::Invalid {
        message,
        src: NamedSource::new(doc.source.name.clone(), doc.source.text.to_string()),
        span: node.span.into(),
        help: (!help.is_empty()).then(|| help.to_string()),
    }
}

/// A file's document, read from disk.
pub fn read(path: &Path) -> Result<(String, yaml::Document), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let name = path.display().to_string();
    let doc = yaml::parse(&name, &text)?;
    Ok((name, doc))
}

/// Deserialize a node through its JSON form; a shape error points at the
/// node whose key the error names, else at the whole document.
fn shaped<T: serde::de::DeserializeOwned>(
    doc: &yaml::Document,
    node: &Node,
    what: &str,
) -> Result<T, ConfigError> {
    serde_json::from_value(crate::playbook::ir::json(node)).map_err(|e| {
        let msg = e.to_string();
        // "unknown field `x`, expected ...": point at the key if found.
        let at = msg
            .split('`')
            .nth(1)
            .and_then(|k| find_key(node, k))
            .unwrap_or(node);
        invalid(
            doc,
            at,
            format!("{what}: {msg}"),
            "see docs/translation.md for the format",
        )
    })
}

fn find_key<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    match &node.value {
        Yaml::Map(m) => m.iter().find_map(|(k, v)| {
            if k.as_str() == Some(key) {
                Some(v)
            } else {
                find_key(v, key)
            }
        }),
        Yaml::Seq(s) => s.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

// ---- signatures ------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSig {
    #[serde(rename = "match")]
    pub names: Vec<String>,
    #[serde(default)]
    pub writes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub reads: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub unnamed: Vec<String>,
    #[serde(default)]
    pub exclusive: Option<String>,
    #[serde(default)]
    pub exec: Option<Exec>,
    #[serde(default)]
    pub proxy: Option<Proxy>,
    #[serde(default)]
    pub pure: bool,
    #[serde(default)]
    pub templates: Vec<String>,
    #[serde(default)]
    pub guard: bool,
    #[serde(default)]
    pub probe: bool,
    /// Calls that keep their order within a component (`ordered: NAME`:
    /// a service's clients; components.rs).
    #[serde(default)]
    pub ordered: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    pub container: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    pub module: String,
    pub args: String,
}

/// A service clients talk to, and the resources that mark its provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSig {
    #[serde(default)]
    pub clients: Vec<String>,
    #[serde(default)]
    pub address: Vec<String>,
    #[serde(default)]
    pub containers: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub packages: Vec<String>,
    /// Programs that are its clients when a command runs them.
    #[serde(default)]
    pub commands: Vec<String>,
}

/// Commands whose effects a pattern tells: a regular expression whose
/// named groups are resource kinds (`(?P<container>...)`), written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSig {
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(skip)]
    pub regex: Option<fancy_regex::Regex>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    #[serde(default)]
    pub modules: Vec<ModuleSig>,
    #[serde(default)]
    pub commands: Vec<CommandSig>,
    #[serde(default)]
    pub services: IndexMap<String, ServiceSig>,
    #[serde(default)]
    pub vip: ServiceSig,
}

/// The short name a module is matched by.
pub fn short(action: &str) -> &str {
    action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action)
}

impl Signatures {
    /// The shipped signatures, after those of `user` files (first match wins).
    pub fn load(user: &[std::path::PathBuf]) -> Result<Signatures, ConfigError> {
        let mut out = Signatures::default();
        for path in user {
            let (_, doc) = read(path)?;
            out.extend(shaped(&doc, &doc.root, "signatures")?);
        }
        let doc = yaml::parse("data/signatures.yaml", SHIPPED_SIGNATURES)?;
        out.extend(shaped(&doc, &doc.root, "signatures")?);
        for c in &mut out.commands {
            let re = fancy_regex::Regex::new(&c.pattern).map_err(|e| ConfigError::Read {
                path: "signatures".into(),
                source: std::io::Error::other(format!("command pattern {:?}: {e}", c.pattern)),
            })?;
            c.regex = Some(re);
        }
        Ok(out)
    }

    /// The resources (kind, name) a command writes, by the first pattern
    /// it matches.
    pub fn command(&self, text: &str) -> Option<Vec<(String, String)>> {
        self.commands.iter().find_map(|c| {
            let re = c.regex.as_ref()?;
            let caps = re.captures(text.trim()).ok()??;
            Some(
                re.capture_names()
                    .flatten()
                    .filter_map(|n| {
                        caps.name(n)
                            .map(|m| (n.to_string(), m.as_str().to_string()))
                    })
                    .collect(),
            )
        })
    }

    /// The service whose client a program is.
    pub fn service_of_command(&self, program: &str) -> Option<&str> {
        let program = program.rsplit('/').next().unwrap_or(program);
        self.services
            .iter()
            .find(|(_, s)| s.commands.iter().any(|c| c == program))
            .map(|(k, _)| k.as_str())
    }

    fn extend(&mut self, other: Signatures) {
        self.modules.extend(other.modules);
        self.commands.extend(other.commands);
        for (k, v) in other.services {
            self.services.entry(k).or_insert(v);
        }
        for (mine, theirs) in [
            (&mut self.vip.containers, other.vip.containers),
            (&mut self.vip.services, other.vip.services),
            (&mut self.vip.packages, other.vip.packages),
        ] {
            mine.extend(theirs);
        }
    }

    pub fn module(&self, action: &str) -> Option<&ModuleSig> {
        let name = short(action);
        self.modules
            .iter()
            .find(|m| m.names.iter().any(|p| glob(p, name)))
    }

    /// The service a client module talks to.
    pub fn service_of(&self, action: &str) -> Option<(&str, &ServiceSig)> {
        let name = short(action);
        self.services
            .iter()
            .find(|(_, s)| s.clients.iter().any(|p| glob(p, name)))
            .map(|(k, s)| (k.as_str(), s))
    }
}

pub fn glob(pattern: &str, text: &str) -> bool {
    crate::inventory::select::glob(pattern, text)
}

// ---- annotations (concerto.yml) --------------------------------------------

/// What the user declares about components (`concerto.yml`).
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    pub components: IndexMap<String, Annotation>,
    /// The file, for diagnostics naming an unknown component.
    pub doc: Option<yaml::Document>,
}

#[derive(Debug, Clone, Default)]
pub struct Annotation {
    pub provides: Vec<String>,
    pub uses: Vec<String>,
    pub after: Vec<(String, Node)>,
    pub independent: Vec<(String, Node)>,
    pub node: Option<Node>,
}

impl Annotations {
    pub fn load(path: &Path) -> Result<Annotations, ConfigError> {
        let (_, doc) = read(path)?;
        let mut out = Annotations::default();
        let help = "expected `components: {NAME: {provides: [...], uses: [...], after: [...], independent: [...]}}`";
        let Yaml::Map(top) = &doc.root.value else {
            return Err(invalid(
                &doc,
                &doc.root,
                "annotations must be a mapping".into(),
                help,
            ));
        };
        for (k, v) in top {
            if k.as_str() != Some("components") {
                return Err(invalid(
                    &doc,
                    v,
                    format!("unknown key `{}`", k.to_py_str()),
                    help,
                ));
            }
            let Yaml::Map(comps) = &v.value else {
                return Err(invalid(
                    &doc,
                    v,
                    "`components` must be a mapping".into(),
                    help,
                ));
            };
            for (name, body) in comps {
                let mut a = Annotation {
                    node: Some(body.clone()),
                    ..Annotation::default()
                };
                let Yaml::Map(fields) = &body.value else {
                    return Err(invalid(
                        &doc,
                        body,
                        "a component's annotation must be a mapping".into(),
                        help,
                    ));
                };
                for (f, list) in fields {
                    let items: Vec<(String, Node)> = match &list.value {
                        Yaml::Seq(s) => s
                            .iter()
                            .map(|n| match n.value.as_str() {
                                Some(s) => Ok((s.to_string(), n.clone())),
                                None => Err(invalid(&doc, n, "expected a name".into(), help)),
                            })
                            .collect::<Result<_, _>>()?,
                        Yaml::Str(s) => vec![(s.clone(), list.clone())],
                        _ => {
                            return Err(invalid(
                                &doc,
                                list,
                                "expected a list of names".into(),
                                help,
                            ))
                        }
                    };
                    match f.as_str() {
                        Some("provides") => a.provides = items.into_iter().map(|i| i.0).collect(),
                        Some("uses") => a.uses = items.into_iter().map(|i| i.0).collect(),
                        Some("after") => a.after = items,
                        Some("independent") => a.independent = items,
                        _ => {
                            return Err(invalid(
                                &doc,
                                list,
                                format!("unknown key `{}`", f.to_py_str()),
                                "a component's annotation takes provides, uses, after, independent",
                            ))
                        }
                    }
                }
                out.components.insert(name.to_py_str(), a);
            }
        }
        out.doc = Some(doc);
        Ok(out)
    }

    /// An error at `node` of the annotations file (annotations made in
    /// code have no file: a plain error).
    pub fn error(&self, node: Option<&Node>, message: String, help: &str) -> ConfigError {
        match (&self.doc, node) {
            (Some(doc), Some(node)) => invalid(doc, node, message, help),
            _ => ConfigError::Read {
                path: "annotations".into(),
                source: std::io::Error::other(format!("{message} ({help})")),
            },
        }
    }
}

// ---- durations profile -----------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub name: String,
    /// Seconds per task of a file no entry names.
    pub default_task: f64,
    #[serde(default)]
    pub files: Vec<ProfileEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    /// A glob over the task's file as the IR names it, or over
    /// `file:line` for one task.
    pub file: String,
    /// Only for tasks of components of this role (glob).
    #[serde(default)]
    pub role: Option<String>,
    /// Seconds for all the file's tasks in one component.
    pub seconds: f64,
    #[serde(default)]
    pub source: String,
}

impl Profile {
    pub fn parse(name: &str, text: &str) -> Result<Profile, ConfigError> {
        let doc = yaml::parse(name, text)?;
        let p: Profile = shaped(&doc, &doc.root, "profile")?;
        let bad = |n: f64| !(n.is_finite() && n >= 0.0);
        if bad(p.default_task) || p.files.iter().any(|e| bad(e.seconds)) {
            return Err(invalid(
                &doc,
                &doc.root,
                "durations must be finite and non-negative".into(),
                "seconds, as numbers",
            ));
        }
        Ok(p)
    }

    pub fn madeus() -> Profile {
        Profile::parse("data/profiles/madeus-openstack.yaml", MADEUS_PROFILE)
            .expect("the shipped profile is valid (tested)")
    }
}

impl ProfileEntry {
    /// Does the entry cover the task at `file:line` in a component of
    /// `role`?
    pub fn matches(&self, file: &str, line: usize, role: Option<&str>) -> bool {
        (glob(&self.file, file) || glob(&self.file, &format!("{file}:{line}")))
            && match (&self.role, role) {
                (None, _) => true,
                (Some(p), Some(r)) => glob(p, r),
                (Some(_), None) => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_entries_match_files_tasks_and_roles() {
        let p = Profile::parse(
            "p.yaml",
            "default_task: 0.5\nfiles:\n  - {file: 'roles/a/tasks/main.yml:7', seconds: 9}\n  - {role: a, file: 'roles/*/tasks/*.yml', seconds: 4}\n",
        )
        .unwrap();
        let first = |file: &str, line: usize, role: Option<&str>| {
            p.files.iter().position(|e| e.matches(file, line, role))
        };
        assert_eq!(first("roles/a/tasks/main.yml", 7, Some("a")), Some(0));
        assert_eq!(first("roles/a/tasks/main.yml", 8, Some("a")), Some(1));
        assert_eq!(first("roles/a/tasks/main.yml", 8, Some("b")), None);
        assert_eq!(first("roles/a/tasks/main.yml", 8, None), None);
        assert!(Profile::parse("p.yaml", "default_task: -1\n").is_err());
        assert!(Profile::parse("p.yaml", "default_task: 1\nfile: []\n").is_err());
        // The shipped profile loads.
        assert_eq!(Profile::madeus().name, "madeus-openstack-cached");
    }
}

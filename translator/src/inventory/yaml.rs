//! The YAML inventory format, read as ansible-core's `yaml` plugin reads
//! it (`plugins/inventory/yaml.py`), after Ansible's `from_yaml` (JSON
//! first, then YAML with PyYAML's rules: [`crate::yaml`]).
//!
//! ```yaml
//! all:
//!   hosts:
//!     web[01:02]:
//!       ansible_port: 2222
//!   vars:
//!     ntp: time.example.com
//!   children:
//!     db:
//!       hosts:
//!         db1:
//! ```
//!
//! Top-level keys are groups; a group's value is a mapping (or empty) with
//! `hosts`, `vars` and `children` (each a mapping, empty, or a single
//! name); a host's value is its variables. Unknown keys and non-mapping
//! groups are skipped with Ansible's warnings.

use super::error::{InventoryError, InventoryErrorKind, InventoryWarning};
use super::pattern::expand_hostpattern;
use super::{var_name, Format, Inventory, Origin, Var};
use crate::yaml::{from_yaml, Document, Key, Node, Source, Span, Yaml};

/// Reads a YAML (or JSON) inventory.
pub fn parse(name: &str, text: &str) -> Result<Inventory, InventoryError> {
    let doc = from_yaml(name, text)?;
    from_document(doc)
}

fn python_type(v: &Yaml) -> String {
    format!("<class '{}'>", v.type_name())
}

struct YamlInv<'a> {
    source: Source,
    inv: &'a mut Inventory,
}

/// Builds an inventory from a loaded YAML document.
pub fn from_document(doc: Document) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::new();
    inv.format = Some(Format::Yaml);
    inv.warnings
        .extend(doc.warnings.into_iter().map(InventoryWarning::from));
    let source = doc.source;
    let root = doc.root;
    let structure = |m: String, span: Span, label: &str| {
        InventoryError::new(InventoryErrorKind::Structure, m).at(&source, span, label)
    };
    if !root.value.is_truthy() {
        return Err(
            structure("Parsed empty YAML file".into(), root.span, "empty")
                .help("a YAML inventory is a mapping of groups, starting with `all:`"),
        );
    }
    let Yaml::Map(groups) = &root.value else {
        return Err(structure(
            format!(
                "YAML inventory has invalid structure, it should be a dictionary, got: {}",
                python_type(&root.value)
            ),
            root.span,
            "not a mapping",
        )
        .help("a YAML inventory is a mapping of groups, starting with `all:`"));
    };
    if let Some(p) = groups.get("plugin") {
        if p.value.is_truthy() {
            return Err(InventoryError::new(
                InventoryErrorKind::Unsupported,
                "Plugin configuration YAML file, not YAML inventory",
            )
            .at(&source, p.span, "an inventory plugin is named here")
            .help("inventory plugins (dynamic inventories) are not supported; export a static inventory with `ansible-inventory --list -y`"));
        }
    }
    let mut y = YamlInv {
        source: source.clone(),
        inv: &mut inv,
    };
    for (k, v) in groups {
        y.group(k, v)?;
    }
    Ok(inv)
}

impl YamlInv<'_> {
    fn err(&self, message: impl Into<String>, span: Span, label: &str) -> InventoryError {
        InventoryError::new(InventoryErrorKind::Structure, message).at(&self.source, span, label)
    }

    fn warn(&mut self, message: String, span: Span, label: &str) {
        let w = InventoryWarning::new(message).at(&self.source, span, label);
        self.inv.warnings.push(w);
    }

    fn var(&self, value: &Node) -> Var {
        Var {
            value: value.clone(),
            source: self.source.clone(),
        }
    }

    /// `_parse_group`: returns the group's name.
    fn group(&mut self, key: &Key, data: &Node) -> Result<String, InventoryError> {
        let name = match &key.value {
            Yaml::Str(s) => s.clone(),
            other => {
                return Err(self
                    .err(
                        format!(
                        "Unable to add group {}: Invalid group name supplied, expected a string \
                         but got {} for {}",
                        other.to_py_str(),
                        python_type(other),
                        other.to_py_str()
                    ),
                        key.span,
                        "this group name",
                    )
                    .help("quote the group name"))
            }
        };
        let map = match &data.value {
            Yaml::Null => None,
            Yaml::Map(m) => Some(m),
            other => {
                self.warn(
                    format!(
                        "Skipping '{name}' as this is not a valid group definition (it is a {})",
                        python_type(other)
                    ),
                    key.span,
                    "not a mapping",
                );
                return Ok(name);
            }
        };
        let origin = Origin {
            source: self.source.clone(),
            span: key.span,
        };
        self.inv.add_group(&name, Some(origin)).map_err(|e| {
            self.err(
                format!("Unable to add group {name}: {e}"),
                key.span,
                "this group",
            )
        })?;
        let Some(map) = map else {
            return Ok(name);
        };
        // A section given as a single name is that name with no value.
        let section = |s: &str| -> Option<Node> {
            let n = map.get(s)?;
            Some(match &n.value {
                Yaml::Str(t) | Yaml::Unsafe(t) => {
                    let mut m = indexmap::IndexMap::new();
                    m.insert(
                        Key {
                            value: Yaml::Str(t.clone()),
                            span: n.span,
                        },
                        Node::new(Yaml::Null, n.span),
                    );
                    Node::new(Yaml::Map(m), n.span)
                }
                _ => n.clone(),
            })
        };
        for s in ["vars", "children", "hosts"] {
            if let Some(n) = section(s) {
                if !matches!(n.value, Yaml::Map(_) | Yaml::Null) {
                    return Err(self
                        .err(
                            format!(
                                "Invalid \"{s}\" entry for \"{name}\" group, requires a dictionary, \
                                 found \"{}\" instead.",
                                python_type(&n.value)
                            ),
                            n.span,
                            "not a mapping",
                        )
                        .help(format!("`{s}:` takes a mapping: `name:` per line, with a value or empty")));
                }
            }
        }
        for (k, _) in map {
            let key_name = k.as_str().unwrap_or("");
            let value = match key_name {
                "vars" | "children" | "hosts" => section(key_name),
                _ => map.get(k).cloned(),
            }
            .unwrap_or_else(|| Node::new(Yaml::Null, k.span));
            let entries = match &value.value {
                Yaml::Map(m) => m,
                Yaml::Null => continue,
                other => {
                    self.warn(
                        format!(
                            "Skipping key ({}) in group ({name}) as it is not a mapping, it is a {}",
                            k.to_py_str(),
                            python_type(other)
                        ),
                        k.span,
                        "not a mapping",
                    );
                    continue;
                }
            };
            match key_name {
                "vars" if k.as_str().is_some() => {
                    for (vk, vv) in entries {
                        let var = self.var(vv);
                        self.inv
                            .set_variable(&name, var_name(vk), var)
                            .map_err(|e| self.err(e, vk.span, "this variable"))?;
                    }
                }
                "children" if k.as_str().is_some() => {
                    for (ck, cv) in entries {
                        let child = self.group(ck, cv)?;
                        self.inv.add_child(&name, &child).map_err(|e| {
                            InventoryError::new(InventoryErrorKind::Groups, e).at(
                                &self.source,
                                ck.span,
                                "this child",
                            )
                        })?;
                    }
                }
                "hosts" if k.as_str().is_some() => {
                    for (hk, hv) in entries {
                        self.hosts(&name, hk, hv)?;
                    }
                }
                _ => self.warn(
                    format!(
                        "Skipping unexpected key ({}) in group ({name}), only \"vars\", \
                         \"children\" and \"hosts\" are valid",
                        k.to_py_str()
                    ),
                    k.span,
                    "unexpected key",
                ),
            }
        }
        Ok(name)
    }

    /// One entry of `hosts:`: a host pattern and its variables.
    fn hosts(&mut self, group: &str, key: &Key, data: &Node) -> Result<(), InventoryError> {
        let Yaml::Str(pattern) = &key.value else {
            return Err(InventoryError::new(
                InventoryErrorKind::HostPattern,
                format!(
                    "Host pattern {} must be a string. Enclose integers/floats in quotation marks.",
                    key.to_py_str()
                ),
            )
            .at(&self.source, key.span, "not a string")
            .help("quote it: `\"10\":`"));
        };
        let (hosts, port) = expand_hostpattern(pattern).map_err(|e| {
            InventoryError::new(InventoryErrorKind::HostPattern, e)
                .at(&self.source, key.span, "this host pattern")
                .help("a range is `[begin:end]` or `[begin:end:step]`, numbers (`01:10`) or letters (`a:f`)")
        })?;
        // `group_data[key][host_pattern] or {}`
        let empty = indexmap::IndexMap::new();
        let vars = match &data.value {
            Yaml::Map(m) => m,
            v if !v.is_truthy() => &empty,
            other => {
                return Err(self
                    .err(
                        format!(
                            "Invalid data from file, expected dictionary and got:\n\n{}",
                            other.to_py_str()
                        ),
                        data.span,
                        "host variables must be a mapping",
                    )
                    .help("write the host's variables as `name: value` lines under it"))
            }
        };
        let origin = Origin {
            source: self.source.clone(),
            span: key.span,
        };
        for h in &hosts {
            let port_var = port.map(|p| {
                (
                    p,
                    Var {
                        value: Node::new(Yaml::Int(i64::from(p)), key.span),
                        source: self.source.clone(),
                    },
                )
            });
            self.inv
                .add_host(h, Some(group), port_var, Some(origin.clone()))
                .map_err(|e| self.err(e, key.span, "this host"))?;
            for (vk, vv) in vars {
                let var = self.var(vv);
                self.inv
                    .set_variable(h, var_name(vk), var)
                    .map_err(|e| self.err(e, vk.span, "this variable"))?;
            }
        }
        Ok(())
    }
}

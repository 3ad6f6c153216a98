//! `group_vars/` and `host_vars/` next to the inventory file, found and
//! read as ansible-core's `host_group_vars` vars plugin does.
//!
//! For a group `web`, `group_vars/` is searched for `web`, `web.yml`,
//! `web.yaml`, `web.json`, in that order, and only the first that exists
//! is used. If it is a directory, every file in it (and in its
//! subdirectories without an extension) with one of those extensions or
//! none is read, in sorted order, skipping hidden files and names ending
//! in `~`. Files are read with Ansible's `from_yaml` (JSON, else YAML); an
//! empty file adds nothing; anything else must be a mapping. Within one
//! group, later files replace earlier variables whole.

use std::path::{Path, PathBuf};

use super::error::{InventoryError, InventoryErrorKind, InventoryWarning};
use super::{var_name, Inventory, Var, Vars};
use crate::yaml::{from_yaml, Yaml};

/// One vars file and the variables it sets.
#[derive(Debug, Clone)]
pub struct VarsFile {
    pub path: PathBuf,
    pub vars: Vars,
}

/// `C.YAML_FILENAME_EXTENSIONS`.
const EXTENSIONS: &[&str] = &[".yml", ".yaml", ".json"];

/// Python's `os.path.splitext(name)[1]`: the last `.` suffix, not counting
/// leading dots.
fn extension(name: &str) -> &str {
    let stem_start = name.len() - name.trim_start_matches('.').len();
    match name[stem_start..].rfind('.') {
        Some(i) => &name[stem_start + i..],
        None => "",
    }
}

/// `DataLoader.find_vars_files(dir, name)`.
pub fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = dir.join(name);
    for ext in std::iter::once("").chain(EXTENSIONS.iter().copied()) {
        let candidate = PathBuf::from(format!("{}{ext}", base.display()));
        if candidate.is_dir() {
            return dir_vars_files(&candidate);
        }
        if candidate.exists() {
            return vec![candidate];
        }
    }
    Vec::new()
}

/// `DataLoader._get_dir_vars_files`.
fn dir_vars_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // Python sorts str by code point, as Rust sorts UTF-8 bytes.
    names.sort();
    let mut out = Vec::new();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let ext = extension(&n);
        let full = dir.join(&n);
        if full.is_dir() && ext.is_empty() {
            out.extend(dir_vars_files(&full));
        } else if full.is_file() && (ext.is_empty() || EXTENSIONS.contains(&ext)) {
            out.push(full);
        }
    }
    out
}

/// Reads one vars file: `None` if it is empty (or false-ish, as Python's
/// `if new_data:` sees it). Its YAML warnings (repeated keys) are added to
/// `warnings`.
pub fn read_vars_file(
    path: &Path,
    warnings: &mut Vec<InventoryWarning>,
) -> Result<Option<VarsFile>, InventoryError> {
    let bytes = std::fs::read(path).map_err(|e| InventoryError::io(path, &e))?;
    let name = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|e| {
        InventoryError::new(
            InventoryErrorKind::VarsFile,
            format!("{name} is not UTF-8: {e}"),
        )
    })?;
    if text.starts_with("$ANSIBLE_VAULT;") {
        return Err(InventoryError::new(
            InventoryErrorKind::Unsupported,
            format!("{name} is vault-encrypted; reading encrypted vars files is not supported"),
        ));
    }
    let doc = from_yaml(&name, &text)?;
    warnings.extend(doc.warnings.iter().cloned().map(InventoryWarning::from));
    if !doc.root.value.is_truthy() {
        return Ok(None);
    }
    let Yaml::Map(m) = &doc.root.value else {
        return Err(InventoryError::new(
            InventoryErrorKind::VarsFile,
            format!(
                "Could not process '{name}': failed to combine variables, expected dicts but \
                 got a '{}'",
                doc.root.value.type_name()
            ),
        )
        .at(&doc.source, doc.root.span, "not a mapping")
        .help("a vars file is a mapping of variable names to values"));
    };
    let vars = m
        .iter()
        .map(|(k, v)| {
            (
                var_name(k),
                Var {
                    value: v.clone(),
                    source: doc.source.clone(),
                },
            )
        })
        .collect();
    Ok(Some(VarsFile {
        path: path.to_path_buf(),
        vars,
    }))
}

/// Reads the `group_vars/` and `host_vars/` files of every group and host
/// of the inventory, from the inventory's directory.
pub fn load_vars_files(inv: &mut Inventory, dir: &Path) -> Result<(), InventoryError> {
    // Ansible resolves the directory (realpath); the same directory under
    // the name the user gave keeps diagnostics readable.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    for (sub, is_group) in [("group_vars", true), ("host_vars", false)] {
        let base = dir.join(sub);
        if !base.is_dir() {
            if base.exists() {
                inv.warnings.push(InventoryWarning::new(format!(
                    "Found {sub} that is not a directory, skipping: {}",
                    base.display()
                )));
            }
            continue;
        }
        let names: Vec<String> = if is_group {
            inv.groups.keys().cloned().collect()
        } else {
            inv.hosts.keys().cloned().collect()
        };
        for name in names {
            // Host names like /path/to/chroot are skipped.
            if name.starts_with('/') {
                continue;
            }
            let mut files = Vec::new();
            for path in find_vars_files(&base, &name) {
                if let Some(f) = read_vars_file(&path, &mut inv.warnings)? {
                    files.push(f);
                }
            }
            if files.is_empty() {
                continue;
            }
            if is_group {
                inv.group_vars_files.insert(name, files);
            } else {
                inv.host_vars_files.insert(name, files);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitext() {
        assert_eq!(extension("all.yml"), ".yml");
        assert_eq!(extension("a.tar.gz"), ".gz");
        assert_eq!(extension("noext"), "");
        assert_eq!(extension(".hidden"), "");
        assert_eq!(extension("..x.yml"), ".yml");
    }
}

//! Ansible → Madeus/Concerto assembly translation (see ARCHITECTURE.md).
//!
//! - [`yaml`]: YAML with PyYAML's rules, as Ansible loads it.
//! - [`inventory`]: Ansible inventories (INI and YAML), `group_vars/` and
//!   `host_vars/`, and each host's inventory variables.

pub mod inventory;
pub mod playbook;
pub mod yaml;

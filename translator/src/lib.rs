//! Ansible → Madeus/Concerto assembly translation (see ARCHITECTURE.md).
//!
//! - [`yaml`]: YAML with PyYAML's rules, as Ansible loads it.
//! - [`inventory`]: Ansible inventories (INI and YAML), `group_vars/` and
//!   `host_vars/`, and each host's inventory variables.
//! - [`playbook`]: playbooks and roles into the IR, as ansible-core loads them.
//! - [`template`]: Ansible's Jinja templating, evaluated statically, with
//!   run-time data as "unknown".

pub mod inventory;
pub mod playbook;
pub mod template;
pub mod translate;
pub mod yaml;

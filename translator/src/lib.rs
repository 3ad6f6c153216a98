//! Ansible → Madeus/Concerto assembly translation (see ARCHITECTURE.md).

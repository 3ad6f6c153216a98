//! Unit tests of the inventory model. Agreement with `ansible-inventory`
//! is `tests/inventory_conformance.rs`'s business.

use super::*;

fn ini(text: &str) -> Inventory {
    let mut inv = ini::parse("t.ini", text).unwrap_or_else(|e| panic!("{e:?}"));
    inv.reconcile().unwrap_or_else(|e| panic!("{e:?}"));
    inv
}

fn value(inv: &Inventory, host: &str, var: &str) -> Option<String> {
    inv.host_vars(host)
        .get(var)
        .map(|v| crate::yaml::canonical_json(&v.value))
}

#[test]
fn empty_inventory_has_all_and_ungrouped() {
    let inv = Inventory::new();
    assert_eq!(inv.groups["all"].children, ["ungrouped"]);
    assert_eq!(inv.groups["ungrouped"].depth, 1);
    assert_eq!(
        inv.to_ansible_list_json(),
        serde_json::json!({
            "_meta": {"hostvars": {}, "profile": "inventory_legacy"},
            "all": {"children": ["ungrouped"]}
        })
    );
}

#[test]
fn reconcile_places_groups_and_hosts() {
    let inv = ini("lonely\nboth\n[a]\nboth\n[b:children]\na\n");
    assert_eq!(inv.groups["all"].children, ["ungrouped", "b"]);
    assert_eq!(inv.groups["ungrouped"].hosts, ["lonely"]);
    // Depth is the longest path from `all`, whatever the order of the
    // declarations.
    assert_eq!((inv.groups["b"].depth, inv.groups["a"].depth), (1, 2));
    assert_eq!(inv.host_groups("both"), ["a", "all", "b"]);
}

#[test]
fn variables_merge_in_ansible_order() {
    let inv = ini(
        "[a]\nh x=host\n[b]\nh\n[a:vars]\nx=a\ny=a\nansible_group_priority=2\n\
         [b:vars]\ny=b\nz=b\n[p:children]\nb\n[p:vars]\nz=p\n[all:vars]\nw=all\n",
    );
    // `a` and `p` have depth 1, `b` depth 2; `a` has priority 2, so `p`
    // comes before it: p, a, b.
    let order: Vec<&str> = inv
        .sorted_host_groups("h")
        .iter()
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(order, ["p", "a", "b"]);
    assert_eq!(value(&inv, "h", "x").as_deref(), Some(r#""host""#));
    assert_eq!(value(&inv, "h", "y").as_deref(), Some(r#""b""#));
    assert_eq!(value(&inv, "h", "z").as_deref(), Some(r#""b""#));
    assert_eq!(value(&inv, "h", "w").as_deref(), Some(r#""all""#));
    // The priority is not a variable.
    assert!(value(&inv, "h", "ansible_group_priority").is_none());
    assert_eq!(inv.groups["a"].priority, 2);
    // Every merged value says where it is written.
    assert_eq!(inv.host_vars("h")["y"].position(), "t.ini:10:3");
}

#[test]
fn cycles_are_refused() {
    let mut inv = Inventory::new();
    for g in ["a", "b"] {
        inv.add_group(g, None).expect("a group");
    }
    inv.add_child("a", "b").expect("a child");
    let e = inv.add_child("b", "a").expect_err("a cycle");
    assert!(e.contains("recursive dependency loop"), "{e}");
    assert!(inv.add_child("a", "a").is_err());
}

#[test]
fn host_ports_and_ranges() {
    let inv = ini("[w]\nweb[01:02]:2222 role=web\n");
    assert_eq!(inv.groups["w"].hosts, ["web01", "web02"]);
    assert_eq!(
        value(&inv, "web02", "ansible_port").as_deref(),
        Some("2222")
    );
    assert_eq!(value(&inv, "web01", "role").as_deref(), Some(r#""web""#));
}

#[test]
fn ini_errors_point_at_the_line() {
    let e = ini::parse("t.ini", "[web]\nweb1\n[web:vars]\nno equals sign\n").expect_err("refused");
    assert_eq!(e.location().as_deref(), Some("t.ini:4:1"));
    assert!(e.help.is_some());
}

#[test]
fn yaml_inventory_values_keep_yaml_types() {
    let inv = yaml::parse(
        "t.yml",
        "all:\n  hosts:\n    h:\n      a: yes\n      b: !unsafe '{{ x }}'\n      c: 0755\n",
    )
    .expect("loads");
    let json = inv.to_ansible_list_json();
    assert_eq!(
        json["_meta"]["hostvars"]["h"],
        serde_json::json!({"a": true, "b": {"__ansible_unsafe": "{{ x }}"}, "c": 493})
    );
}

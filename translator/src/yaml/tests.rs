//! Unit tests of the loader's own contracts (spans, diagnostics, limits).
//! Agreement with ansible-core is `tests/yaml_conformance.rs`'s business.

use super::*;

fn load(src: &str) -> Node {
    match parse("t.yml", src) {
        Ok(d) => d.root,
        Err(e) => panic!("{src:?}: {e:?}"),
    }
}

fn json(src: &str) -> String {
    canonical_json(&load(src))
}

fn error(src: &str) -> Box<YamlError> {
    match parse("t.yml", src) {
        Ok(d) => panic!("{src:?} should fail, got {}", canonical_json(&d.root)),
        Err(e) => e,
    }
}

fn render(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .expect("rendering never fails");
    out
}

#[test]
fn pyyaml_scalars() {
    assert_eq!(
        json("[yes, 0755, 1e3, 1.0e+3, 190:20:30, ~, '12', 2001-12-14]"),
        r#"[true,493,"1e3",1000.0,685230,null,"12",{"__timestamp":"2001-12-14"}]"#
    );
}

#[test]
fn spans_have_line_and_column() {
    let root = load("a: 1\nb:\n  - x\n  - 'y'\n");
    let b = root.get("b").expect("b");
    assert_eq!((b.span.line, b.span.col), (3, 3));
    let Yaml::Seq(items) = &b.value else {
        panic!("a list")
    };
    assert_eq!((items[1].span.line, items[1].span.col), (4, 5));
    assert_eq!(items[1].span.len, 3, "the quotes are part of the span");
    // A block collection ends at its last child, not at the next key.
    let text = "a:\n  x: 1\n\n# comment\nb: 2\n";
    let a = load(text).get("a").cloned().expect("a");
    assert_eq!(&text[a.span.offset..a.span.offset + a.span.len], "x: 1");
    let key = load(text)
        .value
        .as_map()
        .and_then(|m| m.keys().nth(1).cloned())
        .expect("second key");
    assert_eq!((key.span.line, key.span.col), (5, 1));
}

#[test]
fn columns_count_characters() {
    let root = load("é: [ü, x]\n");
    let Some(Yaml::Seq(items)) = root.get("é").map(|n| &n.value) else {
        panic!("a list")
    };
    assert_eq!(items[1].span.col, 8);
}

#[test]
fn keys_compare_as_in_python() {
    let root = load("{1: a, true: b, 1.0: c, '1': d}");
    let m = root.value.as_map().expect("a map");
    assert_eq!(m.len(), 2);
    let (k, v) = m.first().expect("an entry");
    assert_eq!(k.value, Yaml::Int(1), "the first key stays");
    assert_eq!(v.value, Yaml::Str("c".into()), "the last value wins");
    assert_eq!(
        root.get("1").map(|n| &n.value),
        Some(&Yaml::Str("d".into()))
    );
}

#[test]
fn duplicate_keys_warn_with_both_places() {
    let doc = parse("t.yml", "a: 1\nb: 2\na: 3\n").expect("loads");
    assert_eq!(canonical_json(&doc.root), r#"{"a":3,"b":2}"#);
    assert_eq!(doc.warnings.len(), 1);
    let w = &doc.warnings[0];
    assert_eq!(w.span.line, 3);
    assert_eq!(w.also.as_ref().map(|(s, _)| s.line), Some(1));
    let shown = render(w);
    assert!(shown.contains("duplicate mapping key 'a'"), "{shown}");
    assert!(shown.contains("t.yml:3:1"), "{shown}");
    // Merged keys overridden by the mapping's own are not duplicates.
    let doc = parse("t.yml", "x: &x {a: 1}\ny: {<<: *x, a: 2}\n").expect("loads");
    assert!(doc.warnings.is_empty());
}

#[test]
fn unsafe_marks_every_string_under_it() {
    assert_eq!(
        json("a: !unsafe {k: ['{{ x }}', 1, {m: n}]}"),
        r#"{"a":{"k":[{"__unsafe":"{{ x }}"},1,{"m":{"__unsafe":"n"}}]}}"#
    );
    assert_eq!(json("a: !unsafe '12'"), r#"{"a":12}"#);
}

#[test]
fn vault_keeps_the_ciphertext() {
    let root = load("s: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n");
    assert_eq!(
        root.get("s").map(|n| &n.value),
        Some(&Yaml::Vault("$ANSIBLE_VAULT;1.1;AES256\n6162\n".into()))
    );
}

#[test]
fn errors_point_into_the_file_with_a_hint() {
    let e = error("a: 1\nb: !foo x\n");
    assert_eq!(e.kind, YamlErrorKind::Construct);
    assert_eq!(e.location(), "t.yml:2:4");
    let shown = render(e.as_ref());
    assert!(shown.contains("could not determine a constructor for the tag '!foo'"));
    assert!(shown.contains("[t.yml:2:4]"), "{shown}");
    assert!(shown.contains("help:"), "{shown}");

    let e = error("a: 1\n b: 2\n");
    assert_eq!(e.kind, YamlErrorKind::Syntax);
    assert_eq!(e.span.line, 2);

    let e = error("a: 1\n---\nb: 2\n");
    assert_eq!(e.kind, YamlErrorKind::MultipleDocuments);
    assert_eq!(e.span.line, 2);

    let e = error("a: &x 1\nb: &x 2\n");
    assert_eq!(e.kind, YamlErrorKind::Alias);
    assert_eq!(e.location(), "t.yml:2:4");
}

#[test]
fn alias_bombs_are_refused() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        src.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let e = error(&src);
    assert_eq!(e.kind, YamlErrorKind::Alias);
    assert!(e.message.contains("more than"), "{}", e.message);
    // Recursion too.
    assert_eq!(error("a: &a [*a]").kind, YamlErrorKind::Alias);
}

#[test]
fn from_yaml_tries_json_first() {
    let doc = from_yaml(
        "t.json",
        r#"{"a": 1e3, "b": NaN, "a": 2, "u": {"__ansible_unsafe": "x"}}"#,
    )
    .expect("loads");
    assert_eq!(
        canonical_json(&doc.root),
        r#"{"a":2,"b":{"__float":"nan"},"u":{"__unsafe":"x"}}"#
    );
    // Not JSON (trailing comma): YAML, where 1e3 is a string.
    let doc = from_yaml("t.json", r#"{"a": 1e3,}"#).expect("loads");
    assert_eq!(canonical_json(&doc.root), r#"{"a":"1e3"}"#);
    // JSON spans point into the file too.
    let doc = from_yaml("t.json", "{\n  \"a\": [1,\n    2]}").expect("loads");
    let Some(Yaml::Seq(items)) = doc.root.get("a").map(|n| &n.value) else {
        panic!("a list")
    };
    assert_eq!((items[1].span.line, items[1].span.col), (3, 5));
}

#[test]
fn empty_documents_are_null() {
    for src in ["", "# comment\n", "---\n", "--- ~\n"] {
        assert_eq!(load(src).value, Yaml::Null, "{src:?}");
    }
}

#[test]
fn python_spellings() {
    assert_eq!(Yaml::Bool(true).to_py_str(), "True");
    assert_eq!(Yaml::Null.to_py_str(), "None");
    assert_eq!(Yaml::Float(1e16).to_py_str(), "1e+16");
    let mut s = String::new();
    write_json_str("é😀\u{1}", &mut s);
    assert_eq!(s, r#""\u00e9\ud83d\ude00\u0001""#);
}

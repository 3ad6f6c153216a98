//! Corpus tests for the playbook loader: one small project in
//! (`tests/playbook_corpus/<case>/site.yml`, with its roles and task
//! files), one snapshot out (`snapshots/playbook_corpus__corpus@<case>.snap`):
//! the outline and the IR as JSON, or, for `err_*` cases, the rendered
//! diagnostic with `file:line:col`. A case with an `extra_vars.yml` is
//! loaded with those variables and its dynamic includes expanded.
//!
//! Whether the IR is Ansible's is checked against ansible-core itself by
//! `playbook_conformance.rs`; this test pins our own output and messages.

use std::path::Path;

use concerto_translator::inventory;
use concerto_translator::playbook::{self, AnsibleCore, Options};
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(d: &dyn miette::Diagnostic) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, d)
        .expect("a diagnostic renders");
    out
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/playbook_corpus");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "the corpus is missing");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        // No roles path from the environment: only what the cases hold. A
        // case with `extra_vars.yml` is loaded with it and `--expand`.
        let mut opts = Options::default();
        let extra = case.join("extra_vars.yml");
        if extra.is_file() {
            opts.expand = true;
            // As the oracle is given (`-i localhost,`).
            opts.inventory = Some(inventory::load(Path::new("localhost,")).unwrap());
            opts.extra_vars = playbook::parse_extra_vars(&format!("@{}", extra.display())).unwrap();
        }
        let result = playbook::load(&case.join("site.yml"), &opts);
        let text = match (&result, name.starts_with("err_")) {
            (Ok(ir), false) => format!(
                "{}\n{}",
                ir.to_text(),
                serde_json::to_string_pretty(ir).unwrap()
            ),
            (Err(e), true) => render(e),
            (Ok(_), true) => panic!("{name}: loaded, but an error was expected"),
            (Err(e), false) => panic!("{name}: {}", render(e)),
        };
        insta::with_settings!({snapshot_suffix => name.clone(), prepend_module_to_snapshot => true}, {
            insta::assert_snapshot!("corpus", text);
        });
    }
}

/// `Options::ansible_core`: the one place the IR depends on it. The block
/// Ansible freezes around an `import_role` gets the tags of the
/// `import_tasks` that brought its file in from 2.19, not from 2.21; the
/// role's task inherits them from both (checked against each ansible-core
/// by `playbook_conformance.rs`).
#[test]
fn frozen_block_tags_follow_the_target_ansible_core() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/playbook_corpus/import_role_in_import_tasks/site.yml");
    let keywords = |core: AnsibleCore| {
        let opts = Options {
            ansible_core: core,
            ..Options::default()
        };
        let ir = serde_json::to_value(playbook::load(&site, &opts).unwrap()).unwrap();
        // The play's second block (the first holds flush_handlers) holds
        // the import's blocks: first the frozen one, around the role's.
        let frozen = &ir["plays"][0]["tasks"][1]["block"][0];
        let role_task = &frozen["block"][0]["block"][0];
        assert_eq!(role_task["task"], "Role task");
        (
            frozen["keywords"].clone(),
            role_task["keywords"]["tags"].clone(),
        )
    };
    let tags = serde_json::json!(["outer", "own"]);
    assert_eq!(
        keywords(AnsibleCore::V2_19),
        (serde_json::json!({"tags": ["outer"]}), tags.clone())
    );
    assert_eq!(keywords(AnsibleCore::V2_21), (serde_json::json!({}), tags));
}

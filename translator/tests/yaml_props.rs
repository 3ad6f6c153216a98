//! The YAML loader never panics: not on arbitrary text, not on YAML-like
//! text, not on mutations of the edge-case corpus. Errors render too.

use std::path::Path;

use concerto_translator::yaml;
use proptest::prelude::*;

fn check(text: &str) {
    for result in [yaml::parse("p.yml", text), yaml::from_yaml("p.yml", text)] {
        match result {
            Ok(doc) => {
                let _ = yaml::canonical_json(&doc.root);
                for w in &doc.warnings {
                    render(w);
                }
            }
            Err(e) => {
                render(e.as_ref());
                assert!(e.span.offset <= text.len());
            }
        }
    }
}

fn render(d: &dyn miette::Diagnostic) {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("a diagnostic renders");
}

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

/// Characters that matter to YAML, so that random text often parses far.
const YAMLISH: &str = "[-:?,\\[\\]{}#&*!|>'\"%@` \\n\\tab01.~<=_xyzeE+\\\\é]{0,120}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn yaml_like_text_never_panics(text in YAMLISH) {
        check(&text);
    }

    #[test]
    fn mutated_corpus_never_panics(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, YAMLISH), 1..4),
    ) {
        let files = corpus();
        let mut text = file.get(&files).clone();
        for (at, op, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 => text.insert_str(i, &insert),
                1 => {
                    let mut j = (i + insert.len()).min(text.len());
                    while !text.is_char_boundary(j) {
                        j -= 1;
                    }
                    text.replace_range(i..j, "");
                }
                _ => {
                    let mut j = (i + 1).min(text.len());
                    while !text.is_char_boundary(j) {
                        j += 1;
                    }
                    text.replace_range(i..j, &insert);
                }
            }
        }
        check(&text);
    }
}

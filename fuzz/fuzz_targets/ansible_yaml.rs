//! The Ansible YAML loader (`translator::yaml::from_yaml`: JSON first, then
//! YAML 1.1 with PyYAML's rules) on arbitrary text; errors render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match concerto_translator::yaml::from_yaml("fuzz.yml", src) {
        Ok(doc) => {
            let _ = concerto_translator::yaml::canonical_json(&doc.root);
        }
        Err(e) => {
            let mut out = String::new();
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                .render_report(&mut out, e.as_ref())
                .expect("rendering a diagnostic failed");
        }
    }
});

//! The playbook loader (plays, blocks, tasks, `ModuleArgsParser`, keyword
//! inheritance) on arbitrary playbook text, with `--expand`; roles and
//! imported files resolve against an empty directory. Errors render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let opts = concerto_translator::playbook::Options {
        expand: true,
        ..Default::default()
    };
    let path = Path::new("/nonexistent/concerto-fuzz/site.yml");
    match concerto_translator::playbook::load_text(path, src, &opts) {
        Ok(ir) => {
            let _ = ir.to_text();
        }
        Err(e) => {
            let mut out = String::new();
            GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
                .render_report(&mut out, &e)
                .expect("rendering a diagnostic failed");
        }
    }
});

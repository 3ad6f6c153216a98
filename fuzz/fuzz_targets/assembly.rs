//! `assembly::parse` on arbitrary text: errors and warnings must render,
//! and a valid assembly must turn into a runnable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};

fn render(d: &dyn miette::Diagnostic) {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("rendering a diagnostic failed");
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match concerto::assembly::parse("fuzz.yaml", src) {
        Ok((assembly, warnings)) => {
            for w in &warnings {
                render(w);
            }
            let _ = assembly.to_runnable();
        }
        Err(e) => render(&e),
    }
});

//! `load::parse_durations` against the runnable of
//! examples/client-server/deploy.concerto; errors render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::sync::OnceLock;

fn render(d: &dyn miette::Diagnostic) {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("rendering a diagnostic failed");
}

fn runnable() -> &'static concerto::model::Runnable {
    static RUNNABLE: OnceLock<concerto::model::Runnable> = OnceLock::new();
    RUNNABLE.get_or_init(|| {
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/client-server/deploy.concerto"
        ));
        concerto::load::load(path, &Default::default())
            .expect("examples/client-server/deploy.concerto loads")
            .runnable
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = concerto::load::parse_durations("fuzz.durations.yaml", text, runnable()) {
        render(&e);
    }
});

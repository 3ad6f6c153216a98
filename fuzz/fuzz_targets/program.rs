//! `program::compile` (params n=3, m=2) and `program::check` against the
//! types of examples/galera/galera.yaml on arbitrary text; errors render.
#![no_main]

use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;
use miette::{GraphicalReportHandler, GraphicalTheme};
use std::sync::OnceLock;

fn render(d: &dyn miette::Diagnostic) {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("rendering a diagnostic failed");
}

fn types() -> &'static concerto::model::Types {
    static TYPES: OnceLock<concerto::model::Types> = OnceLock::new();
    TYPES.get_or_init(|| {
        let src = include_str!("../../examples/galera/galera.yaml");
        concerto::assembly::parse("galera.yaml", src)
            .expect("examples/galera/galera.yaml is valid")
            .0
            .types
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let params: IndexMap<String, i64> = [("n".to_string(), 3), ("m".to_string(), 2)].into();
    match concerto::program::compile("fuzz.concerto", src, &params) {
        Ok(program) => {
            if let Err(e) = concerto::program::check("fuzz.concerto", src, &program, types()) {
                render(&e);
            }
        }
        Err(e) => render(&e),
    }
});

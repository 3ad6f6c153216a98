//! `concerto translate`: CLI glue around `concerto_translator::translate`.
//! Loads the playbook (expanded, arguments templated), translates it,
//! checks the assembly with the runtime's own loader, and predicts its
//! makespan beside the Ansible and Aeolus models (the report's
//! "Predicted makespan").

use std::fmt::Write;
use std::time::Duration;

use concerto_translator::translate::{self, Translation};

use crate::durations::Durations;
use crate::perf::{self, Coordination};

/// A translation with its assembly's prediction.
pub struct Translated {
    pub translation: Translation,
    pub assembly: String,
    pub prediction: Prediction,
}

pub struct Prediction {
    pub concerto: Duration,
    pub aeolus: Duration,
    pub ansible: Duration,
    pub deadlock: bool,
    pub critical_path: Vec<perf::Step>,
}

impl Prediction {
    pub fn gain(&self, baseline: Duration) -> f64 {
        if baseline.is_zero() {
            return 0.0;
        }
        100.0 * (1.0 - self.concerto.as_secs_f64() / baseline.as_secs_f64())
    }

    pub fn markdown(&self, profile: &str) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "## Predicted makespan\n");
        let _ = writeln!(
            o,
            "With the durations profile `{profile}` (performance model, docs/translation.md):\n"
        );
        o.push_str("| model | makespan | translated assembly's gain |\n|---|---|---|\n");
        let _ = writeln!(
            o,
            "| Ansible (the playbook's order, one task at a time) | {:.1} s | {:.1} % |",
            self.ansible.as_secs_f64(),
            self.gain(self.ansible)
        );
        let _ = writeln!(o, "| Aeolus (components in parallel, one transition each at a time) | {:.1} s | {:.1} % |", self.aeolus.as_secs_f64(), self.gain(self.aeolus));
        let _ = writeln!(
            o,
            "| Concerto (the translated assembly) | {:.1} s | |",
            self.concerto.as_secs_f64()
        );
        if self.deadlock {
            o.push_str("\n**The assembly deadlocks** (a bug of the translator: dependencies only point back in run order).\n");
        }
        o.push_str("\nWhere the gain comes from: the critical path, the chain of transitions and waits that sets the makespan. Everything off it runs in its shadow.\n\n");
        o.push_str("| at (s) | step | on the path for (s) |\n|---|---|---|\n");
        for s in &self.critical_path {
            let _ = writeln!(o, "| {:.1} | {} | {:.1} |", s.at, s.what, s.weight);
        }
        o
    }
}

pub fn run(req: &translate::Request) -> miette::Result<Translated> {
    let translation = translate::run(req)?;
    let assembly = translation.assembly();
    // The runtime's loader checks what we wrote: a failure here is a bug.
    let (parsed, _warnings) =
        crate::assembly::parse("translated assembly", &assembly).map_err(|e| {
            miette::Report::new(e)
                .wrap_err("the translated assembly does not load: a translator bug")
        })?;
    let runnable = parsed.to_runnable();
    let durations = Durations::new(0);
    let concerto = perf::predict(&runnable, &durations, Coordination::Concerto);
    let aeolus = perf::predict(&runnable, &durations, Coordination::Aeolus);
    let prediction = Prediction {
        concerto: concerto.makespan,
        aeolus: aeolus.makespan,
        ansible: perf::ansible_baseline(&concerto),
        deadlock: concerto.deadlock.is_some(),
        critical_path: concerto.critical_path.clone(),
    };
    Ok(Translated {
        translation,
        assembly,
        prediction,
    })
}

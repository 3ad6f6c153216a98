//! What `predict` and `run` print, as text and JSON, and the DOT graph.

use crate::durations::Durations;
use crate::engine::RunReport;
use crate::model::Runnable;
use crate::perf::{self, Coordination, Prediction};
use serde_json::json;
use std::fmt::Write;
use std::time::Duration;

/// The prediction under Concerto, with both baselines.
pub struct Predicted {
    pub concerto: Prediction,
    pub aeolus: Duration,
    pub ansible: Duration,
}

fn gain(ours: Duration, base: Duration) -> f64 {
    if base.is_zero() {
        0.0
    } else {
        1.0 - ours.as_secs_f64() / base.as_secs_f64()
    }
}

impl Predicted {
    pub fn new(r: &Runnable, d: &Durations) -> Self {
        let concerto = perf::predict(r, d, Coordination::Concerto);
        let aeolus = perf::predict(r, d, Coordination::Aeolus).makespan;
        let ansible = perf::ansible_baseline(&concerto);
        Predicted {
            concerto,
            aeolus,
            ansible,
        }
    }

    pub fn to_json(&self) -> String {
        let c = &self.concerto;
        serde_json::to_string_pretty(&json!({
            "makespan": c.makespan.as_secs_f64(),
            "baselines": {
                "ansible": self.ansible.as_secs_f64(),
                "aeolus": self.aeolus.as_secs_f64(),
            },
            "gain": {
                "vs_ansible": gain(c.makespan, self.ansible),
                "vs_aeolus": gain(c.makespan, self.aeolus),
            },
            "critical_path": c.critical_path,
            "deadlock": c.deadlock,
            "transitions": c.runs.len(),
        }))
        .unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let c = &self.concerto;
        let mut s = String::new();
        if let Some(d) = &c.deadlock {
            let _ = writeln!(s, "DEADLOCK: the run cannot finish.");
            if !d.cycle.is_empty() {
                let _ = writeln!(s, "  waiting on each other in a cycle:");
                for e in &d.cycle {
                    let _ = writeln!(s, "    - {e}");
                }
            }
            for e in d.stuck.iter().take(20) {
                let _ = writeln!(s, "  stuck: {e}");
            }
            let _ = writeln!(
                s,
                "  (what ran before the deadlock: {:.3} s)",
                c.makespan.as_secs_f64()
            );
            return s;
        }
        let _ = writeln!(
            s,
            "predicted makespan  {:>10.3} s  ({} transitions)",
            c.makespan.as_secs_f64(),
            c.runs.len()
        );
        let _ = writeln!(
            s,
            "Aeolus model        {:>10.3} s  (gain {:.1} %)",
            self.aeolus.as_secs_f64(),
            100.0 * gain(c.makespan, self.aeolus)
        );
        let _ = writeln!(
            s,
            "Ansible model       {:>10.3} s  (gain {:.1} %)",
            self.ansible.as_secs_f64(),
            100.0 * gain(c.makespan, self.ansible)
        );
        let _ = writeln!(s, "critical path:");
        for step in &c.critical_path {
            let _ = writeln!(
                s,
                "  {:>9.3} s  {}{}",
                step.at,
                step.what,
                if step.weight > 0.0 {
                    format!("  (+{:.3} s)", step.weight)
                } else {
                    String::new()
                }
            );
        }
        s
    }
}

/// The summary of a run.
pub struct RunSummary<'a> {
    run: &'a RunReport,
    predicted: &'a Prediction,
}

impl<'a> RunSummary<'a> {
    pub fn new(run: &'a RunReport, predicted: &'a Prediction) -> Self {
        RunSummary { run, predicted }
    }

    pub fn to_json(&self) -> String {
        let r = self.run;
        serde_json::to_string_pretty(&json!({
            "ok": r.ok(),
            "makespan": r.makespan.as_secs_f64(),
            "predicted": self.predicted.makespan.as_secs_f64(),
            "transitions": r.transitions_run,
            "replayed": r.replayed,
            "failures": r.failures,
            "blocked": r.blocked,
            "instruction_errors": r.instruction_errors,
            "interrupted": r.interrupted,
        }))
        .unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let r = self.run;
        let mut s = String::new();
        for f in &r.failures {
            let on = f
                .host
                .as_ref()
                .map(|h| format!(" on {h}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "FAILED {}.{}{on}: {}",
                f.component, f.transition, f.error
            );
            for line in f.output.lines() {
                let _ = writeln!(s, "    | {line}");
            }
        }
        for e in &r.instruction_errors {
            let _ = writeln!(s, "ERROR {e}");
        }
        if r.interrupted {
            let _ = writeln!(s, "interrupted: running actions were cancelled");
        } else if !r.finished {
            let _ = writeln!(s, "the run could not finish:");
            for b in &r.blocked {
                let _ = writeln!(s, "  {}: {}", b.component, b.reason);
            }
        }
        if r.replayed > 0 {
            let _ = writeln!(
                s,
                "resumed: {} transition(s) completed before were not run again",
                r.replayed
            );
        }
        let m = r.makespan.as_secs_f64();
        let p = self.predicted.makespan.as_secs_f64();
        let _ = writeln!(
            s,
            "{} {} transitions in {:.3} s (predicted {:.3} s, {:+.3} %)",
            if r.ok() { "ok:" } else { "failed:" },
            r.transitions_run,
            m,
            p,
            if p > 0.0 { 100.0 * (m - p) / p } else { 0.0 }
        );
        s
    }
}

/// The performance model's graph in Graphviz DOT; critical vertices in red.
pub fn dot(p: &Prediction) -> String {
    let critical: std::collections::HashSet<&str> =
        p.critical_path.iter().map(|s| s.what.as_str()).collect();
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let q = |s: &str| format!("\"{}\"", esc(s));
    let mut s =
        String::from("digraph concerto {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    for (name, time, preds) in &p.graph {
        // Escape the name, then add DOT's own `\n` line break unescaped.
        let escaped = esc(name);
        let label = match time {
            Some(t) => format!("\"{escaped}\\n{t:.3} s\""),
            None => format!("\"{escaped}\\nnever\""),
        };
        let color = if critical.contains(name.as_str()) {
            ", color=red, penwidth=2"
        } else if time.is_none() {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(s, "  {} [label={}{}];", q(name), label, color);
        for (pred, w) in preds {
            let _ = writeln!(s, "  {} -> {} [label=\"{w:.3}\"];", q(pred), q(name));
        }
    }
    s.push_str("}\n");
    s
}

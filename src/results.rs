//! `concerto reproduce`: the published theoretical-gain tables (the talk,
//! model.md §5) recomputed from the shipped examples over seeded draws of
//! uniform(0, 10) s durations, side by side with the published figures.
//!
//! Scenario B makespans are differences: the program runs the deployment,
//! waits until everything is idle, then reconfigures, so the reconfiguration
//! alone takes T(whole program) - T(deployment) under each model.

use crate::durations::Durations;
use crate::model::Runnable;
use crate::report::Predicted;
use indexmap::IndexMap;
use std::fmt::Write;

const CS_TYPES: &str = include_str!("../examples/client-server/client-server.yaml");
const CS_DEPLOY: &str = include_str!("../examples/client-server/deploy.concerto");
const CS_MAINT: &str = include_str!("../examples/client-server/maintenance.concerto");
const DEPS: [(usize, &str, &str); 3] = [
    (
        1,
        include_str!("../examples/server-deps/server-deps-1.yaml"),
        include_str!("../examples/server-deps/update-1.concerto"),
    ),
    (
        5,
        include_str!("../examples/server-deps/server-deps-5.yaml"),
        include_str!("../examples/server-deps/update-5.concerto"),
    ),
    (
        10,
        include_str!("../examples/server-deps/server-deps-10.yaml"),
        include_str!("../examples/server-deps/update-10.concerto"),
    ),
];
const GALERA_TYPES: &str = include_str!("../examples/galera/galera.yaml");
const GALERA: &str = include_str!("../examples/galera/galera.concerto");

/// The three makespans of one draw, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub concerto: f64,
    pub aeolus: f64,
    pub ansible: f64,
}

impl Sample {
    fn of(r: &Runnable, d: &Durations) -> Sample {
        let p = Predicted::new(r, d);
        Sample {
            concerto: p.concerto.makespan.as_secs_f64(),
            aeolus: p.aeolus.as_secs_f64(),
            ansible: p.ansible.as_secs_f64(),
        }
    }
    fn minus(self, o: Sample) -> Sample {
        Sample {
            concerto: self.concerto - o.concerto,
            aeolus: self.aeolus - o.aeolus,
            ansible: self.ansible - o.ansible,
        }
    }
    fn gain_aeolus(&self) -> f64 {
        gain(self.concerto, self.aeolus)
    }
    fn gain_ansible(&self) -> f64 {
        gain(self.concerto, self.ansible)
    }
}

fn gain(ours: f64, base: f64) -> f64 {
    if base <= 0.0 {
        0.0
    } else {
        // Scenario B subtracts two makespans: clamp float noise around zero.
        let g = 100.0 * (1.0 - ours / base);
        if g.abs() < 1e-9 {
            0.0
        } else {
            g
        }
    }
}

/// min / max / mean of a series.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max, v.iter().sum::<f64>() / v.len().max(1) as f64)
}

fn program(
    types_name: &str,
    types_src: &str,
    name: &str,
    src: &str,
    params: &[(&str, i64)],
) -> Runnable {
    let params: IndexMap<String, i64> = params.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let (asm, _) = crate::assembly::parse(types_name, types_src)
        .unwrap_or_else(|e| panic!("shipped example {types_name} is invalid: {e:?}"));
    let prog = crate::program::compile(name, src, &params)
        .unwrap_or_else(|e| panic!("shipped example {name} is invalid: {e:?}"));
    Runnable {
        types: asm.types,
        program: prog.instrs,
        spans: prog.spans,
    }
}

fn assembly(name: &str, src: &str) -> Runnable {
    crate::assembly::parse(name, src)
        .unwrap_or_else(|e| panic!("shipped example {name} is invalid: {e:?}"))
        .0
        .to_runnable()
}

/// Every runnable example the reproduction uses, by name (also used by tests).
pub fn examples() -> Vec<(String, Runnable)> {
    let mut v = vec![
        (
            "client-server/deploy".to_string(),
            program(
                "client-server.yaml",
                CS_TYPES,
                "deploy.concerto",
                CS_DEPLOY,
                &[],
            ),
        ),
        (
            "client-server/maintenance".to_string(),
            program(
                "client-server.yaml",
                CS_TYPES,
                "maintenance.concerto",
                CS_MAINT,
                &[],
            ),
        ),
    ];
    for (n, asm, upd) in DEPS {
        v.push((
            format!("server-deps-{n}"),
            assembly(&format!("server-deps-{n}.yaml"), asm),
        ));
        v.push((
            format!("server-deps/update-{n}"),
            program(
                &format!("server-deps-{n}.yaml"),
                asm,
                &format!("update-{n}.concerto"),
                upd,
                &[],
            ),
        ));
    }
    for n in [3, 5, 10, 20] {
        v.push((
            format!("galera n={n}"),
            program(
                "galera.yaml",
                GALERA_TYPES,
                "galera.concerto",
                GALERA,
                &[("n", n)],
            ),
        ));
    }
    v
}

struct Row {
    name: String,
    samples: Vec<Sample>,
    /// Published (min, max, avg) vs Aeolus and vs Ansible, in %; None where not published.
    aeolus: Option<(Option<f64>, f64, f64)>,
    ansible: Option<(Option<f64>, f64, f64)>,
}

/// Generate the Markdown report.
pub fn reproduce(draws: u64) -> String {
    let seeds = 1..=draws;
    let run = |r: &Runnable| -> Vec<Sample> {
        seeds
            .clone()
            .map(|s| Sample::of(r, &Durations::new(s)))
            .collect()
    };
    let diff = |whole: &[Sample], first: &[Sample]| -> Vec<Sample> {
        whole.iter().zip(first).map(|(w, f)| w.minus(*f)).collect()
    };

    let cs_deploy = program(
        "client-server.yaml",
        CS_TYPES,
        "deploy.concerto",
        CS_DEPLOY,
        &[],
    );
    let cs_maint = program(
        "client-server.yaml",
        CS_TYPES,
        "maintenance.concerto",
        CS_MAINT,
        &[],
    );
    let a = run(&cs_deploy);
    let b = diff(&run(&cs_maint), &a);
    let mut rows = vec![
        Row {
            name: "client/server A (deploy)".into(),
            samples: a,
            aeolus: Some((Some(0.0), 45.83, 16.1)),
            ansible: Some((Some(10.28), 62.65, 42.35)),
        },
        Row {
            name: "client/server B (maintenance)".into(),
            samples: b,
            aeolus: Some((Some(0.0), 38.25, 11.27)),
            ansible: Some((Some(11.69), 57.76, 38.75)),
        },
    ];
    let published_a = [
        (0.0, 0.0, 49.84, 10.65),
        (59.52, 12.75, 72.19, 19.79),
        (75.44, 20.87, 80.14, 23.89),
    ];
    let published_b = [
        (0.0, 0.0, 49.3, 10.64),
        (70.97, 19.8, 76.82, 23.06),
        (84.44, 25.64, 86.42, 26.8),
    ];
    let mut rows_b = Vec::new();
    for (k, (n, asm, upd)) in DEPS.into_iter().enumerate() {
        let deploy = assembly(&format!("server-deps-{n}.yaml"), asm);
        let update = program(
            &format!("server-deps-{n}.yaml"),
            asm,
            &format!("update-{n}.concerto"),
            upd,
            &[],
        );
        let a = run(&deploy);
        let b = diff(&run(&update), &a);
        let (pa, pb) = (published_a[k], published_b[k]);
        rows.push(Row {
            name: format!("server + {n} deps A (deploy)"),
            samples: a,
            aeolus: Some((None, pa.0, pa.1)),
            ansible: Some((None, pa.2, pa.3)),
        });
        rows_b.push(Row {
            name: format!("server + {n} deps B (update)"),
            samples: b,
            aeolus: Some((None, pb.0, pb.1)),
            ansible: Some((None, pb.2, pb.3)),
        });
    }
    rows.extend(rows_b);

    let mut md = String::new();
    let _ = writeln!(md, "# Reproducing the published theoretical gains\n");
    let _ = writeln!(
        md,
        "Generated by `concerto reproduce --draws {draws}` from the shipped examples; do not edit by hand.\n\
         Each row: {draws} seeded draws (seeds 1..={draws}) of every action's duration, uniform in [0, 10] s \
         (the protocol of the talk), the makespan predicted by the performance model under the Concerto, \
         Aeolus and Ansible coordination models (model.md §4), and the gain `1 - T_concerto / T_baseline`. \
         Published figures (the talk, model.md §5) in brackets.\n"
    );
    let _ = writeln!(md, "| scenario | mean makespan (s) | gain vs Aeolus: min / max / mean | [published] | gain vs Ansible: min / max / mean | [published] |");
    let _ = writeln!(md, "|---|---:|---|---|---|---|");
    for row in &rows {
        let (_, _, mean_t) = stats(&row.samples.iter().map(|s| s.concerto).collect::<Vec<_>>());
        let ga = stats(
            &row.samples
                .iter()
                .map(Sample::gain_aeolus)
                .collect::<Vec<_>>(),
        );
        let gn = stats(
            &row.samples
                .iter()
                .map(Sample::gain_ansible)
                .collect::<Vec<_>>(),
        );
        let fmt_pub = |p: &Option<(Option<f64>, f64, f64)>| match p {
            Some((Some(min), max, avg)) => format!("[{min:.1} / {max:.1} / {avg:.1}]"),
            Some((None, max, avg)) => format!("[– / {max:.1} / {avg:.1}]"),
            None => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {:.2} | {:.1} / {:.1} / {:.1} % | {} | {:.1} / {:.1} / {:.1} % | {} |",
            row.name,
            mean_t,
            ga.0,
            ga.1,
            ga.2,
            fmt_pub(&row.aeolus),
            gn.0,
            gn.1,
            gn.2,
            fmt_pub(&row.ansible)
        );
    }

    // Our mean over the published mean, where both exist and the published one is not 0.
    let _ = writeln!(
        md,
        "\nOur mean gain divided by the published mean gain (see *Differences* below):\n"
    );
    let _ = writeln!(md, "| scenario | vs Aeolus | vs Ansible |");
    let _ = writeln!(md, "|---|---:|---:|");
    for row in &rows {
        let ratio = |p: &Option<(Option<f64>, f64, f64)>, f: fn(&Sample) -> f64| match p {
            Some((_, _, avg)) if *avg > 0.0 => {
                format!(
                    "{:.2}",
                    stats(&row.samples.iter().map(f).collect::<Vec<_>>()).2 / avg
                )
            }
            _ => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            row.name,
            ratio(&row.aeolus, Sample::gain_aeolus),
            ratio(&row.ansible, Sample::gain_ansible)
        );
    }

    let _ = writeln!(md, "\n## MariaDB → Galera (predicted, same protocol)\n");
    let _ = writeln!(md, "The published numbers are measurements of real deployments (seconds); ours are predictions with uniform(0, 10) s draws, so only the ordering and the ratios compare.\n");
    let _ = writeln!(md, "| N nodes | Ansible (s) | Aeolus (s) | Concerto (s) | gain vs Ansible | [published Ansible / Aeolus / Concerto, s] |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---|");
    let galera_pub = [
        (3, 46.0, 31.4, 31.3),
        (5, 50.7, 39.0, 35.6),
        (10, 57.3, 42.4, 40.3),
        (20, 68.7, 53.1, 48.9),
    ];
    for (n, pa, pe, pc) in galera_pub {
        let r = program(
            "galera.yaml",
            GALERA_TYPES,
            "galera.concerto",
            GALERA,
            &[("n", n)],
        );
        // The reconfiguration alone: the whole program minus its deployment part.
        let n_deploy = deployment_len(&r);
        let deploy_only = Runnable {
            types: r.types.clone(),
            program: r.program[..n_deploy].to_vec(),
            spans: r.spans[..n_deploy].to_vec(),
        };
        let s = diff(&run(&r), &run(&deploy_only));
        let (ans, aeo, con) = (
            stats(&s.iter().map(|x| x.ansible).collect::<Vec<_>>()).2,
            stats(&s.iter().map(|x| x.aeolus).collect::<Vec<_>>()).2,
            stats(&s.iter().map(|x| x.concerto).collect::<Vec<_>>()).2,
        );
        let _ = writeln!(
            md,
            "| {n} | {ans:.1} | {aeo:.1} | {con:.1} | {:.1} % | [{pa} / {pe} / {pc}] |",
            gain(con, ans)
        );
    }
    md.push_str(EXPLANATION);
    md
}

/// Instructions up to and including the first `waitAll()`: the deployment part.
fn deployment_len(r: &Runnable) -> usize {
    r.program
        .iter()
        .position(|i| matches!(i, crate::model::Instr::WaitAll))
        .map(|i| i + 1)
        .unwrap_or(r.program.len())
}

const EXPLANATION: &str = include_str!("results_explanation.md");

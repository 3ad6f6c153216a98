//! `concerto bench`: the Madeus synthetic benchmarks, run in real time and
//! compared with the performance model, plus a simulated run at scale.
//! Prints ratios measured side by side in one run; medians of 3 repetitions.

use crate::durations::Durations;
use crate::engine::{self, RunOptions};
use crate::model::{types_of, Instr, PortKind, Runnable, TypeBuilder};
use crate::perf::{self, Coordination};
use std::time::Instant;

/// A chain of `n` components: component i waits for component i-1's service.
pub fn chain(n: usize, secs: f64) -> Runnable {
    let first = TypeBuilder::new("First", &["off", "on"])
        .t("start", "off", "on", "deploy", secs)
        .port("service", PortKind::Provide, "svc", &["on"])
        .build();
    let link = TypeBuilder::new("Link", &["off", "on"])
        .t("start", "off", "on", "deploy", secs)
        .port("need", PortKind::Use, "svc", &["start"])
        .port("service", PortKind::Provide, "svc", &["on"])
        .build();
    let mut p = vec![Instr::add("c0", "First")];
    for i in 1..n {
        p.push(Instr::add(&format!("c{i}"), "Link"));
        p.push(Instr::con(
            &format!("c{}.service", i - 1),
            &format!("c{i}.need"),
        ));
    }
    deploy_all(types_of([first, link]), p, n, "c")
}

/// One provider and `n` users that need it to start.
pub fn provider_users(n: usize, secs: f64) -> Runnable {
    let provider = TypeBuilder::new("Provider", &["off", "on"])
        .t("start", "off", "on", "deploy", secs)
        .port("service", PortKind::Provide, "svc", &["on"])
        .build();
    let user = TypeBuilder::new("User", &["off", "on"])
        .t("start", "off", "on", "deploy", secs)
        .port("need", PortKind::Use, "svc", &["start"])
        .build();
    let mut p = vec![Instr::add("p", "Provider")];
    for i in 0..n {
        p.push(Instr::add(&format!("u{i}"), "User"));
        p.push(Instr::con("p.service", &format!("u{i}.need")));
    }
    let mut r = deploy_all(types_of([provider, user]), p, n, "u");
    r.program.insert(r.program.len() - 1, deploy("p"));
    r.spans.push(Default::default());
    r
}

/// One component with `t` parallel transitions between two places.
pub fn parallel(t: usize, secs: f64) -> Runnable {
    let mut b = TypeBuilder::new("Wide", &["off", "on"]);
    for i in 0..t {
        b = b.t(&format!("t{i}"), "off", "on", "deploy", secs);
    }
    let types = types_of([b.build()]);
    deploy_all(types, vec![Instr::add("w0", "Wide")], 1, "w")
}

/// `n` components, each a chain of three transitions, the second of which
/// uses the service of the component before it: a wide, deep assembly.
pub fn scale(n: usize) -> Runnable {
    let ty = TypeBuilder::new("Node", &["a", "b", "c", "d"])
        .t("pull", "a", "b", "deploy", 1.0)
        .t("config", "b", "c", "deploy", 2.0)
        .t("start", "c", "d", "deploy", 0.5)
        .port("need", PortKind::Use, "svc", &["config"])
        .port("service", PortKind::Provide, "svc", &["d"])
        .build();
    let mut p = Vec::new();
    for i in 0..n {
        p.push(Instr::add(&format!("n{i}"), "Node"));
        // A tree: node i depends on node (i-1)/2.
        if i > 0 {
            p.push(Instr::con(
                &format!("n{}.service", (i - 1) / 2),
                &format!("n{i}.need"),
            ));
        }
    }
    // The root needs nobody: give it a provider of its own.
    let root = TypeBuilder::new("Root", &["off", "on"])
        .t("start", "off", "on", "deploy", 0.5)
        .port("service", PortKind::Provide, "svc", &["on"])
        .build();
    p.push(Instr::add("root", "Root"));
    p.push(Instr::con("root.service", "n0.need"));
    let mut types = types_of([ty]);
    types.insert("Root".into(), root);
    let mut r = deploy_all(types, p, n, "n");
    r.program.insert(r.program.len() - 1, deploy("root"));
    r.spans.push(Default::default());
    r
}

/// `pushB(name, deploy)`.
fn deploy(name: &str) -> Instr {
    Instr::push(name, "deploy")
}

fn deploy_all(
    types: crate::model::Types,
    mut program: Vec<Instr>,
    n: usize,
    prefix: &str,
) -> Runnable {
    for i in 0..n {
        program.push(deploy(&format!("{prefix}{i}")));
    }
    program.push(Instr::WaitAll);
    let spans = vec![Default::default(); program.len()];
    Runnable {
        types,
        program,
        spans,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Run the benchmarks and print the table.
pub fn madeus(max: usize, action: f64, scale_n: usize) -> miette::Result<()> {
    let sizes: Vec<usize> = [1, 5, 10, 20, 40]
        .into_iter()
        .filter(|&n| n <= max)
        .collect();
    let rt =
        engine::runtime(false).map_err(|e| miette::miette!("cannot start the runtime: {e}"))?;
    let d = Durations::new(0);
    println!("Madeus synthetic benchmarks, real time, {action} s actions, median of 3 runs");
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>9}",
        "scenario", "predicted", "measured", "overhead", "overhead"
    );
    let mut worst: (f64, f64) = (0.0, 0.0);
    for (name, build) in [
        ("chain N", chain as fn(usize, f64) -> Runnable),
        ("provider + N users", provider_users),
        ("T parallel transitions", parallel),
    ] {
        for &n in &sizes {
            let r = build(n, action);
            let predicted = perf::predict(&r, &d, Coordination::Concerto)
                .makespan
                .as_secs_f64();
            let mut measured = Vec::new();
            for _ in 0..3 {
                let opts = RunOptions {
                    durations: d.clone(),
                    ..RunOptions::default()
                };
                let report = rt.block_on(engine::run(&r, &opts))?;
                if !report.ok() {
                    return Err(miette::miette!("benchmark run {name} {n} did not finish"));
                }
                measured.push(report.makespan.as_secs_f64());
            }
            let m = median(measured);
            let (abs, rel) = (m - predicted, (m - predicted) / predicted * 100.0);
            worst = (worst.0.max(abs), worst.1.max(rel));
            println!(
                "{:<22} {:>9.3}s {:>9.4}s {:>8.2}ms {:>8.3}%",
                format!("{name}={n}"),
                predicted,
                m,
                abs * 1000.0,
                rel
            );
        }
    }
    println!("worst overhead: {:.2} ms, {:.3} % (target: at most 5 ms and 0.1 %; Madeus prototype: up to 40 ms, 0.21-0.66 %)", worst.0 * 1000.0, worst.1);

    let r = scale(scale_n);
    let t = Instant::now();
    let predicted = perf::predict(&r, &d, Coordination::Concerto).makespan;
    let t_predict = t.elapsed();
    let sim =
        engine::runtime(true).map_err(|e| miette::miette!("cannot start the runtime: {e}"))?;
    let t = Instant::now();
    let opts = RunOptions {
        simulate: true,
        durations: d.clone(),
        ..RunOptions::default()
    };
    let report = sim.block_on(engine::run(&r, &opts))?;
    let t_sim = t.elapsed();
    println!(
        "simulated {} components ({} transitions): {:.3} s wall clock, virtual makespan {:.3} s, predicted {:.3} s ({}), model computed in {:.3} s",
        scale_n + 1,
        report.transitions_run,
        t_sim.as_secs_f64(),
        report.makespan.as_secs_f64(),
        predicted.as_secs_f64(),
        if report.makespan == predicted { "equal" } else { "DIFFERENT" },
        t_predict.as_secs_f64()
    );
    if report.makespan != predicted || !report.ok() {
        return Err(miette::miette!(
            "the simulated run does not match the model"
        ));
    }
    Ok(())
}

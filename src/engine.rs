//! The engine: drives the pure [`Semantics`] with real effects: time,
//! processes, cancellation, the journal.
//!
//! Timed actions (`sleep`, and everything when simulating) go into one
//! deadline heap instead of one task each: the engine sleeps until the
//! earliest deadline and delivers *every* action due at that instant before
//! calling `settle`, which is what the tie rule of the semantics assumes and
//! what makes a simulated run on tokio's paused clock equal the performance
//! model to the nanosecond. Commands run through an [`exec::Connection`]
//! (`crate::exec`), one task each in a `JoinSet`.

use crate::durations::Durations;
use crate::exec::{local::Local, Connection, Request};
use crate::gantt::{Bar, Timeline};
use crate::journal::{Journal, RunRecord};
use crate::model::{Action, Runnable};
use crate::semantics::{Blocked, Event, Outcome, RunId, Semantics};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Replace every action by a sleep of its estimated duration.
    pub simulate: bool,
    pub durations: Durations,
    pub journal: Option<PathBuf>,
    /// Show a progress line on stderr.
    pub progress: bool,
    /// Transitions completed by a previous run (`--resume`): not run again.
    pub resume: Option<crate::journal::Completed>,
}

/// A transition whose action failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub component: String,
    pub transition: String,
    pub error: String,
    /// Last lines of the action's output.
    pub output: String,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub makespan: Duration,
    pub finished: bool,
    pub interrupted: bool,
    pub failures: Vec<Failure>,
    /// Why the run stopped short, when it did.
    pub blocked: Vec<Blocked>,
    pub instruction_errors: Vec<String>,
    pub timeline: Timeline,
    pub transitions_run: usize,
    /// Transitions taken as done from the `--resume` journal.
    pub replayed: usize,
}

impl RunReport {
    pub fn ok(&self) -> bool {
        self.finished
            && !self.interrupted
            && self.failures.is_empty()
            && self.instruction_errors.is_empty()
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    #[error("the journal to resume from was written by another program (fingerprint {found}, this one is {expected})")]
    #[diagnostic(help(
        "resume with the same file and the same `--set` values as the interrupted run"
    ))]
    ResumeMismatch { expected: String, found: String },
    #[error("cannot listen for Ctrl-C")]
    #[diagnostic(help("the process cannot install a SIGINT handler"))]
    Signal {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the journal {path}")]
    #[diagnostic(help("check that the directory exists and is writable"))]
    Journal {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

struct CommandDone {
    run: RunId,
    outcome: Outcome,
    stdout: String,
    stderr: String,
}

/// Run a program to completion (or failure, or Ctrl-C).
pub async fn run(runnable: &Runnable, opts: &RunOptions) -> Result<RunReport, EngineError> {
    // First of all, before the journal exists or any action starts, so a
    // Ctrl-C is never lost nor kills the process half-way through a write.
    let mut ctrl_c = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|source| EngineError::Signal { source })?;
    let journal_err = |source| EngineError::Journal {
        path: opts.journal.clone().unwrap_or_default(),
        source,
    };
    let mut journal = match &opts.journal {
        Some(p) => Journal::create(p).map_err(journal_err)?,
        None => Journal::none(),
    };
    let fingerprint = runnable.fingerprint();
    if let Some(found) = opts.resume.as_ref().and_then(|r| r.fingerprint.clone()) {
        if found != fingerprint {
            return Err(EngineError::ResumeMismatch {
                expected: fingerprint,
                found,
            });
        }
    }
    let mut sem = Semantics::new(runnable.types.clone(), runnable.program.clone());
    let t0 = Instant::now();
    let mode = if opts.simulate { "simulate" } else { "real" };
    journal
        .record(
            Duration::ZERO,
            &RunRecord::RunStarted {
                mode,
                seed: opts.durations.seed,
                fingerprint,
            },
        )
        .map_err(journal_err)?;

    let local: Arc<dyn Connection> = Arc::new(Local::new());
    let mut heap: BinaryHeap<Reverse<(Instant, RunId)>> = BinaryHeap::new();
    let mut commands: JoinSet<CommandDone> = JoinSet::new();
    let mut open_bars: HashMap<RunId, Bar> = HashMap::new();
    let mut timeline = Timeline {
        title: String::new(),
        makespan: 0.0,
        bars: Vec::new(),
    };
    let mut failures = Vec::new();
    let mut instruction_errors = Vec::new();
    let mut outputs: HashMap<RunId, String> = HashMap::new();
    let mut last_event = Duration::ZERO;
    let mut interrupted = false;
    let mut transitions_run = 0usize;
    // Executions so far per (component, transition), to match `--resume`.
    let mut ordinals: HashMap<(String, String), usize> = HashMap::new();
    let mut replays: HashMap<RunId, Outcome> = HashMap::new();
    let mut replayed = 0usize;
    let progress = opts.progress.then(progress_bar);

    let mut events = sem.settle();
    loop {
        let now = t0.elapsed();
        for e in &events {
            journal.event(now, e).map_err(journal_err)?;
            match e {
                Event::TransitionStarted {
                    component,
                    transition,
                    behavior,
                    run,
                } => {
                    transitions_run += 1;
                    open_bars.insert(
                        *run,
                        Bar {
                            component: component.clone(),
                            transition: transition.clone(),
                            behavior: behavior.clone(),
                            start: now.as_secs_f64(),
                            end: now.as_secs_f64(),
                            critical: false,
                            failed: false,
                        },
                    );
                    let n = ordinals
                        .entry((component.clone(), transition.clone()))
                        .or_insert(0);
                    let done = opts
                        .resume
                        .as_ref()
                        .and_then(|r| r.completed(component, transition, *n));
                    *n += 1;
                    if let Some(data) = done {
                        // Completed by the interrupted run: finish it now, with its data.
                        journal
                            .record(
                                now,
                                &RunRecord::Replayed {
                                    component: component.clone(),
                                    transition: transition.clone(),
                                    run: *run,
                                },
                            )
                            .map_err(journal_err)?;
                        replayed += 1;
                        replays.insert(
                            *run,
                            Outcome {
                                error: None,
                                data: data.to_vec(),
                            },
                        );
                        heap.push(Reverse((Instant::now(), *run)));
                    } else {
                        start_action(&sem, *run, opts, &local, &mut heap, &mut commands);
                    }
                }
                Event::TransitionEnded { run, ok, error, .. } => {
                    if let Some(mut bar) = open_bars.remove(run) {
                        bar.end = now.as_secs_f64();
                        bar.failed = !ok;
                        if let Some(err) = error {
                            failures.push(Failure {
                                component: bar.component.clone(),
                                transition: bar.transition.clone(),
                                error: err.clone(),
                                output: outputs.remove(run).unwrap_or_default(),
                            });
                        }
                        timeline.bars.push(bar);
                    }
                }
                Event::InstructionFailed {
                    index,
                    instruction,
                    error,
                } => {
                    instruction_errors.push(format!(
                        "instruction {} `{instruction}`: {error}",
                        index + 1
                    ));
                }
                _ => {}
            }
            last_event = now;
        }
        journal.flush().map_err(journal_err)?;
        if let Some(pb) = &progress {
            pb.set_message(format!(
                "{} running, {} transitions started, {:.1}s",
                sem.running_count(),
                transitions_run,
                now.as_secs_f64()
            ));
        }
        // Nothing in flight after settling: the run is over, finished or stuck.
        if heap.is_empty() && commands.is_empty() {
            break;
        }

        let next_deadline = heap.peek().map(|Reverse((d, _))| *d);
        tokio::select! {
            biased;
            _ = ctrl_c.recv() => {
                interrupted = true;
                break;
            }
            _ = sleep_until_opt(next_deadline, !opts.simulate) => {
                let now = Instant::now();
                while let Some(Reverse((d, run))) = heap.peek().copied() {
                    if d > now { break; }
                    heap.pop();
                    sem.action_done(run, replays.remove(&run).unwrap_or_default());
                }
            }
            Some(done) = commands.join_next(), if !commands.is_empty() => {
                let mut batch = vec![done];
                while let Some(more) = commands.try_join_next() {
                    batch.push(more);
                }
                for done in batch {
                    match done {
                        Ok(d) => {
                            if !d.stdout.is_empty() || !d.stderr.is_empty() || !d.outcome.data.is_empty() {
                                if let Some((c, t)) = sem.run_info(d.run).and_then(|(c, t)| {
                                    sem.component(c).map(|comp| (comp.name.clone(), comp.ty.ty.transitions[t].name.clone()))
                                }) {
                                    journal.record(t0.elapsed(), &RunRecord::ActionOutput {
                                        component: c, transition: t, run: d.run,
                                        stdout: d.stdout.clone(), stderr: d.stderr.clone(),
                                        data: d.outcome.data.clone(),
                                    }).map_err(journal_err)?;
                                }
                                outputs.insert(d.run, last_lines(&d.stdout, &d.stderr, 10));
                            }
                            sem.action_done(d.run, d.outcome);
                        }
                        Err(e) => tracing::error!("action task failed: {e}"),
                    }
                }
            }
        }
        events = sem.settle();
    }

    let makespan = if interrupted {
        t0.elapsed()
    } else {
        last_event
    };
    if interrupted {
        commands.abort_all();
        while commands.join_next().await.is_some() {}
        journal
            .record(makespan, &RunRecord::RunInterrupted)
            .map_err(journal_err)?;
    }
    // Transitions cut short by Ctrl-C or never finished: show them as failed bars.
    for (_, mut bar) in open_bars {
        bar.end = makespan.as_secs_f64();
        bar.failed = true;
        timeline.bars.push(bar);
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let finished = sem.is_finished();
    let blocked = if finished { Vec::new() } else { sem.blocked() };
    timeline.makespan = makespan.as_secs_f64();
    timeline.bars.sort_by(|a, b| {
        a.start
            .total_cmp(&b.start)
            .then(a.component.cmp(&b.component))
    });
    let report = RunReport {
        makespan,
        finished,
        interrupted,
        failures,
        blocked,
        instruction_errors,
        timeline,
        transitions_run,
        replayed,
    };
    journal
        .record(
            makespan,
            &RunRecord::RunFinished {
                makespan: makespan.as_secs_f64(),
                ok: report.ok(),
            },
        )
        .map_err(journal_err)?;
    journal.flush().map_err(journal_err)?;
    Ok(report)
}

/// Sleep until `d`. tokio's timer rounds deadlines up to the next
/// millisecond and epoll waits in milliseconds: in real time that adds up
/// to 1 ms per step of a chain. Sleep until 3 ms before, then yield until
/// the exact instant (measured: ~45 µs per step instead of ~260 µs).
async fn sleep_until_opt(d: Option<Instant>, precise: bool) {
    let Some(d) = d else {
        return std::future::pending().await;
    };
    if !precise {
        return tokio::time::sleep_until(d).await;
    }
    let early = d.checked_sub(Duration::from_millis(3)).unwrap_or(d);
    tokio::time::sleep_until(early).await;
    while Instant::now() < d {
        tokio::task::yield_now().await;
    }
}

fn start_action(
    sem: &Semantics,
    run: RunId,
    opts: &RunOptions,
    conn: &Arc<dyn Connection>,
    heap: &mut BinaryHeap<Reverse<(Instant, RunId)>>,
    commands: &mut JoinSet<CommandDone>,
) {
    let Some((cid, t)) = sem.run_info(run) else {
        return;
    };
    let Some(comp) = sem.component(cid) else {
        return;
    };
    let tr = &comp.ty.ty.transitions[t];
    let now = Instant::now();
    if opts.simulate {
        heap.push(Reverse((
            now + opts.durations.of(&comp.name, &comp.ty, t),
            run,
        )));
        return;
    }
    match &tr.action {
        Action::Nothing => heap.push(Reverse((now, run))),
        Action::Sleep(spec) => heap.push(Reverse((
            now + opts.durations.sleep_of(&comp.name, &tr.name, *spec),
            run,
        ))),
        Action::Command { cmd, timeout } => {
            let inputs = sem.data_inputs(cid, t);
            let command = match crate::exec::template::render(cmd, &comp.name, &tr.name, &inputs) {
                Ok(c) => c,
                Err(e) => {
                    // Fails the transition like a failing command would.
                    commands.spawn(async move {
                        CommandDone {
                            run,
                            outcome: Outcome::failed(e),
                            stdout: String::new(),
                            stderr: String::new(),
                        }
                    });
                    return;
                }
            };
            let env = vec![
                ("CONCERTO_COMPONENT".to_string(), comp.name.clone()),
                ("CONCERTO_TRANSITION".to_string(), tr.name.clone()),
            ]
            .into_iter()
            .chain(
                inputs
                    .into_iter()
                    .map(|(port, v)| (format!("CONCERTO_PORT_{}", env_name(&port)), v)),
            )
            .collect();
            let req = Request {
                command,
                env,
                timeout: *timeout,
            };
            let conn = conn.clone();
            commands.spawn(async move {
                let reply = conn.exec(req).await;
                CommandDone {
                    run,
                    outcome: Outcome {
                        error: reply.error(),
                        data: reply.data,
                    },
                    stdout: reply.stdout,
                    stderr: reply.stderr,
                }
            });
        }
    }
}

fn env_name(port: &str) -> String {
    port.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn last_lines(stdout: &str, stderr: &str, n: usize) -> String {
    let all: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    all[all.len().saturating_sub(n)..].join("\n")
}

fn progress_bar() -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Build the runtime a run needs: one thread (the engine is one task and
/// its actions wait on timers and child processes), with a paused clock
/// when simulating.
pub fn runtime(simulate: bool) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(simulate)
        .build()
}

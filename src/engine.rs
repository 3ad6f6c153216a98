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
use crate::exec::template::{self, Scope};
use crate::exec::{Reply, Request, Status};
use crate::gantt::{Bar, Timeline};
use crate::journal::{HostsDone, Journal, RunRecord};
use crate::model::{Action, CopySource, Runnable};
use crate::placement::{merge_data, Hosts, Target};
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
    /// Where placed components run (`run -i`); `None`: all here.
    pub hosts: Option<Arc<Hosts>>,
}

/// A transition whose action failed (on one host, for a placed component).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub component: String,
    pub transition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
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

/// An action's results, one per host it ran on.
struct CommandDone {
    run: RunId,
    /// `(host, placed, reply)` in target order; hosts a resumed run had
    /// already done are in `prior`, not here.
    replies: Vec<(String, bool, Reply)>,
    prior: Option<HostsDone>,
    targets: Vec<String>,
}

/// What one host does for an action, prepared (templates rendered) when
/// the transition starts.
enum Job {
    Exec(Request),
    Put {
        dest: String,
        bytes: Arc<[u8]>,
        mode: u32,
        timeout: Option<Duration>,
    },
    /// Could not be prepared (a template error): fails on that host.
    Broken(String),
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

    let local_hosts;
    let hosts: &Hosts = match &opts.hosts {
        Some(h) => h,
        None => {
            local_hosts = Hosts::local_only();
            &local_hosts
        }
    };
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
    // Per run: the hosts where its action failed, with their last output.
    let mut host_failures: HashMap<RunId, Vec<Failure>> = HashMap::new();
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
                    let resume = opts.resume.as_ref();
                    let done = resume.and_then(|r| r.completed(component, transition, *n));
                    let prior = resume
                        .and_then(|r| r.hosts_done(component, transition, *n))
                        .cloned();
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
                        start_action(&sem, *run, opts, hosts, prior, &mut heap, &mut commands);
                    }
                }
                Event::TransitionEnded { run, ok, error, .. } => {
                    if let Some(mut bar) = open_bars.remove(run) {
                        bar.end = now.as_secs_f64();
                        bar.failed = !ok;
                        match (error, host_failures.remove(run)) {
                            (Some(_), Some(per_host)) => failures.extend(per_host),
                            (Some(err), None) => failures.push(Failure {
                                component: bar.component.clone(),
                                transition: bar.transition.clone(),
                                host: None,
                                error: err.clone(),
                                output: String::new(),
                            }),
                            (None, _) => {}
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
                            let names = sem.run_info(d.run).and_then(|(c, t)| {
                                sem.component(c).map(|comp| (comp.name.clone(), comp.ty.ty.transitions[t].name.clone()))
                            });
                            let (component, transition) = names.unwrap_or_default();
                            let now = t0.elapsed();
                            let mut errors = Vec::new();
                            let mut fresh: HashMap<String, Vec<(String, String)>> = HashMap::new();
                            for (host, placed, reply) in d.replies {
                                let error = reply.error();
                                journal.record(now, &RunRecord::ActionOutput {
                                    component: component.clone(), transition: transition.clone(), run: d.run,
                                    host: placed.then(|| host.clone()),
                                    ok: error.is_none(), error: error.clone(),
                                    stdout: reply.stdout.clone(), stderr: reply.stderr.clone(),
                                    data: reply.data.clone(),
                                }).map_err(journal_err)?;
                                if let Some(e) = error {
                                    errors.push(if placed { format!("{host}: {e}") } else { e.clone() });
                                    host_failures.entry(d.run).or_default().push(Failure {
                                        component: component.clone(),
                                        transition: transition.clone(),
                                        host: placed.then(|| host.clone()),
                                        error: e,
                                        output: last_lines(&reply.stdout, &reply.stderr, 10),
                                    });
                                }
                                fresh.insert(host, reply.data);
                            }
                            // Every host's values, in target order, the resumed ones too.
                            let per_host: Vec<Vec<(String, String)>> = d.targets.iter().map(|h| {
                                fresh.remove(h)
                                    .or_else(|| d.prior.as_ref().and_then(|p| p.get(h).cloned()))
                                    .unwrap_or_default()
                            }).collect();
                            let data = merge_data(&per_host);
                            if d.targets.len() > 1 && errors.is_empty() && !data.is_empty() {
                                journal.record(now, &RunRecord::ActionData {
                                    component, transition, run: d.run, data: data.clone(),
                                }).map_err(journal_err)?;
                            }
                            let error = match errors.len() {
                                0 => None,
                                1 => errors.pop(),
                                n => Some(format!("failed on {n} hosts: {}", errors.join("; "))),
                            };
                            sem.action_done(d.run, Outcome { error, data });
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
    // Cancelled remote commands are killed, the hosts' directories removed.
    hosts.close().await;
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
    hosts: &Hosts,
    prior: Option<HostsDone>,
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
        Action::Command { .. } | Action::Copy { .. } => {
            let targets = hosts.targets(&comp.placement, &tr.name);
            let placed = comp.placement.pattern_for(&tr.name).is_some();
            let inputs = sem.data_inputs(cid, t);
            let env: Vec<(String, String)> = vec![
                ("CONCERTO_COMPONENT".to_string(), comp.name.clone()),
                ("CONCERTO_TRANSITION".to_string(), tr.name.clone()),
            ]
            .into_iter()
            .chain(
                inputs
                    .iter()
                    .map(|(port, v)| (format!("CONCERTO_PORT_{}", env_name(port)), v.clone())),
            )
            .collect();
            // A copied file is read once, for every host.
            let source = match &tr.action {
                Action::Copy { content, .. } => Some(match content {
                    CopySource::Inline(text) => Ok(text.clone()),
                    CopySource::File(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display())),
                }),
                _ => None,
            };
            let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
            let parts: Vec<(Arc<Target>, Job)> = targets
                .into_iter()
                .filter(|t| !prior.as_ref().is_some_and(|p| p.contains_key(&t.name)))
                .map(|target| {
                    let scope = Scope {
                        component: &comp.name,
                        transition: &tr.name,
                        ports: &inputs,
                        host: target.info.clone(),
                        inventory: hosts.inventory.clone(),
                    };
                    let job = prepare(&tr.action, &scope, &env, source.as_ref());
                    (target, job)
                })
                .collect();
            commands.spawn(async move {
                let replies = futures_util::future::join_all(parts.into_iter().map(
                    |(target, job)| async move {
                        let reply = perform(&target, job).await;
                        (target.name.clone(), placed, reply)
                    },
                ))
                .await;
                CommandDone {
                    run,
                    replies,
                    prior,
                    targets: names,
                }
            });
        }
    }
}

/// Render what `action` does on one host.
fn prepare(
    action: &Action,
    scope: &Scope<'_>,
    env: &[(String, String)],
    source: Option<&Result<String, String>>,
) -> Job {
    let attempt = || -> Result<Job, String> {
        match action {
            Action::Command { cmd, timeout } => Ok(Job::Exec(Request {
                command: template::render(cmd, "the command template", scope)?,
                env: env.to_vec(),
                timeout: *timeout,
            })),
            Action::Copy {
                dest,
                mode,
                template: render,
                timeout,
                ..
            } => {
                let text = source.cloned().unwrap_or(Ok(String::new()))?;
                let text = if *render {
                    template::render(&text, "the template", scope)?
                } else {
                    text
                };
                Ok(Job::Put {
                    dest: template::render(dest, "the `dest` template", scope)?,
                    bytes: Arc::from(text.into_bytes()),
                    mode: *mode,
                    timeout: *timeout,
                })
            }
            Action::Sleep(_) | Action::Nothing => Err("not a host action".into()),
        }
    };
    attempt().unwrap_or_else(Job::Broken)
}

async fn perform(target: &Target, job: Job) -> Reply {
    match job {
        Job::Broken(e) => Reply::failed(Status::Failed(e)),
        Job::Exec(req) => target.connection.exec(req).await,
        Job::Put {
            dest,
            bytes,
            mode,
            timeout,
        } => {
            let put = target.connection.copy(&dest, &bytes, mode);
            let done = match timeout {
                Some(d) => match tokio::time::timeout(d, put).await {
                    Ok(r) => r,
                    Err(_) => return Reply::failed(Status::TimedOut(d)),
                },
                None => put.await,
            };
            match done {
                Ok(()) => Reply::done(),
                Err(e) => Reply::failed(Status::Failed(e)),
            }
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

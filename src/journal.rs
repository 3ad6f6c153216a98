//! The JSON-lines journal: one [`crate::semantics::Event`] per line with
//! `t`, the seconds since the run started. Flushed after every batch of
//! events, so a crash loses at most the batch in flight.

use crate::semantics::Event;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

#[derive(Serialize)]
struct Line<'a, E: Serialize> {
    t: f64,
    #[serde(flatten)]
    event: &'a E,
}

/// Records outside the semantics' vocabulary.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunRecord {
    RunStarted {
        mode: &'static str,
        seed: u64,
        /// Identifies the program and its types: `--resume` refuses another.
        fingerprint: String,
    },
    RunFinished {
        makespan: f64,
        ok: bool,
    },
    RunInterrupted,
    /// An action's result on one host (`host` absent: this machine).
    ActionOutput {
        component: String,
        transition: String,
        run: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        stdout: String,
        stderr: String,
        /// Values written for data-provide ports (`$CONCERTO_OUTPUT`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        data: Vec<(String, String)>,
    },
    /// The values a transition on several hosts published, merged
    /// (`placement::merge_data`), as its data ports got them.
    ActionData {
        component: String,
        transition: String,
        run: u64,
        data: Vec<(String, String)>,
    },
    /// A transition completed in the journal given to `--resume`: not run again.
    Replayed {
        component: String,
        transition: String,
        run: u64,
    },
}

/// What a previous run's journal says was completed, for `--resume`.
#[derive(Debug, Clone, Default)]
pub struct Completed {
    pub fingerprint: Option<String>,
    /// Per (component, transition), per execution ordinal: the data values
    /// of executions that ended ok (`None` for those that did not).
    done: HashMap<(String, String), Vec<Option<Vec<(String, String)>>>>,
    /// Executions that did not end ok: the hosts where the action did
    /// succeed, with the values each published.
    partial: HashMap<(String, String, usize), HostsDone>,
}

/// `[["name", "value"], ...]` as pairs.
fn pairs(v: Option<&serde_json::Value>) -> Vec<(String, String)> {
    v.and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    Some((
                        p.get(0)?.as_str()?.to_string(),
                        p.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Host name -> data values it published.
pub type HostsDone = HashMap<String, Vec<(String, String)>>;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("journal line {line}: {message}")]
#[diagnostic(help("`--resume` takes a journal written by `concerto run --journal`"))]
pub struct JournalError {
    pub line: usize,
    pub message: String,
}

impl Completed {
    pub fn from_journal(text: &str) -> Result<Completed, JournalError> {
        let mut c = Completed::default();
        let mut runs: HashMap<u64, (String, String, usize)> = HashMap::new();
        // Per run: each host's (name, ok, data), and the merged data.
        type HostOutput = (Option<String>, Option<bool>, Vec<(String, String)>);
        let mut outputs: HashMap<u64, Vec<HostOutput>> = HashMap::new();
        let mut merged: HashMap<u64, Vec<(String, String)>> = HashMap::new();
        let mut ordinals: HashMap<(String, String), usize> = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let err = |message: String| JournalError {
                line: i + 1,
                message,
            };
            let v: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                // The last line of a journal cut by a crash may be partial.
                Err(_) if i + 1 == text.lines().count() => break,
                Err(e) => return Err(err(format!("not JSON: {e}"))),
            };
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
            let run = || {
                v.get("run")
                    .and_then(|x| x.as_u64())
                    .ok_or_else(|| err("missing `run`".into()))
            };
            match v.get("event").and_then(|e| e.as_str()) {
                Some("run_started") => c.fingerprint = field("fingerprint"),
                Some("transition_started") => {
                    let (Some(comp), Some(tr)) = (field("component"), field("transition")) else {
                        return Err(err("transition_started without component/transition".into()));
                    };
                    let n = ordinals.entry((comp.clone(), tr.clone())).or_insert(0);
                    runs.insert(run()?, (comp, tr, *n));
                    *n += 1;
                }
                Some("action_output") => {
                    let ok = v.get("ok").and_then(|x| x.as_bool());
                    let kv = pairs(v.get("data"));
                    outputs
                        .entry(run()?)
                        .or_default()
                        .push((field("host"), ok, kv));
                }
                Some("action_data") => {
                    let kv = pairs(v.get("data"));
                    merged.insert(run()?, kv);
                }
                Some("transition_ended") => {
                    let r = run()?;
                    let ok = v.get("ok").and_then(|x| x.as_bool()).unwrap_or(false);
                    let Some((comp, tr, n)) = runs.get(&r).cloned() else {
                        return Err(err(format!("transition_ended for unknown run {r}")));
                    };
                    let outs = outputs.remove(&r).unwrap_or_default();
                    if !ok {
                        let done: HostsDone = outs
                            .iter()
                            .cloned()
                            .filter(|(_, ok, _)| *ok == Some(true))
                            .filter_map(|(h, _, d)| Some((h?, d)))
                            .collect();
                        if !done.is_empty() {
                            c.partial.insert((comp.clone(), tr.clone(), n), done);
                        }
                    }
                    let slots = c.done.entry((comp, tr)).or_default();
                    if slots.len() <= n {
                        slots.resize(n + 1, None);
                    }
                    slots[n] = ok.then(|| {
                        merged.remove(&r).unwrap_or_else(|| {
                            let per_host: Vec<_> = outs.into_iter().map(|(_, _, d)| d).collect();
                            crate::placement::merge_data(&per_host)
                        })
                    });
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// The data of the `ordinal`-th execution of `component.transition` if
    /// it completed.
    pub fn completed(
        &self,
        component: &str,
        transition: &str,
        ordinal: usize,
    ) -> Option<&[(String, String)]> {
        self.done
            .get(&(component.to_string(), transition.to_string()))
            .and_then(|v| v.get(ordinal))
            .and_then(|d| d.as_deref())
    }

    /// For the `ordinal`-th execution of `component.transition` that did
    /// not complete: the hosts where its action had succeeded.
    pub fn hosts_done(
        &self,
        component: &str,
        transition: &str,
        ordinal: usize,
    ) -> Option<&HostsDone> {
        self.partial
            .get(&(component.to_string(), transition.to_string(), ordinal))
    }

    pub fn count(&self) -> usize {
        self.done.values().flatten().filter(|d| d.is_some()).count()
    }
}

pub struct Journal {
    out: Option<BufWriter<std::fs::File>>,
}

impl Journal {
    pub fn none() -> Self {
        Journal { out: None }
    }

    pub fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Journal {
            out: Some(BufWriter::new(std::fs::File::create(path)?)),
        })
    }

    pub fn event(&mut self, t: Duration, e: &Event) -> std::io::Result<()> {
        self.write(t, e)
    }

    pub fn record(&mut self, t: Duration, r: &RunRecord) -> std::io::Result<()> {
        self.write(t, r)
    }

    fn write<E: Serialize>(&mut self, t: Duration, event: &E) -> std::io::Result<()> {
        if let Some(out) = &mut self.out {
            serde_json::to_writer(
                &mut *out,
                &Line {
                    t: t.as_secs_f64(),
                    event,
                },
            )?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if let Some(out) = &mut self.out {
            out.flush()?;
        }
        Ok(())
    }
}

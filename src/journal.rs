//! The JSON-lines journal: one [`crate::semantics::Event`] per line with
//! `t`, the seconds since the run started. Flushed after every batch of
//! events, so a crash loses at most the batch in flight.

use crate::semantics::Event;
use serde::Serialize;
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
    },
    RunFinished {
        makespan: f64,
        ok: bool,
    },
    RunInterrupted,
    ActionOutput {
        component: String,
        transition: String,
        run: u64,
        stdout: String,
        stderr: String,
    },
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

//! Concerto for Ansible: the runtime. See ARCHITECTURE.md for the map.

pub mod assembly;
pub mod bench;
pub mod bench_ir;
pub mod bench_ssh;
pub mod durations;
pub mod engine;
pub mod exec;
pub mod gantt;
pub mod journal;
pub mod load;
pub mod model;
pub mod perf;
pub mod placement;
pub mod program;
pub mod report;
pub mod results;
pub mod semantics;
pub mod suggest;
pub mod translate;

//! `concerto bench-ir`: how long loading and expanding a playbook takes
//! here, and translating it (`concerto translate`, with an inventory),
//! beside `ansible-playbook --list-tasks` on the same input, measured in
//! the same run (medians of several runs; the machine is noisy). The
//! targets, on the whole Kolla-ansible deploy: load and expand in under
//! 200 ms, translate in under 1 s.

use concerto_translator::playbook::{self, Ir, Item, Options};
use miette::{miette, IntoDiagnostic, Result, WrapErr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct BenchIr {
    pub playbook: PathBuf,
    pub inventory: Option<PathBuf>,
    pub extra_vars: Vec<String>,
    pub repeat: usize,
    /// `ansible-playbook` to compare with; `None`: skip the comparison.
    pub ansible_playbook: Option<PathBuf>,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Tasks as written (implicit `meta` tasks not counted), expanded includes
/// included.
fn count(ir: &Ir) -> (usize, usize) {
    let written = |items: &[Item]| -> usize {
        items
            .iter()
            .flat_map(Item::tasks)
            .filter(|t| t.line.is_some())
            .count()
    };
    let tasks = ir.plays.iter().map(|p| written(&p.tasks)).sum();
    let handlers = ir.plays.iter().map(|p| written(&p.handlers)).sum();
    (tasks, handlers)
}

pub fn run(b: &BenchIr) -> Result<()> {
    let mut opts = Options::from_env();
    opts.expand = true;
    if let Some(i) = &b.inventory {
        opts.inventory = Some(concerto_translator::inventory::load(i)?);
    }
    for e in &b.extra_vars {
        opts.extra_vars.extend(playbook::parse_extra_vars(e)?);
    }
    let repeat = b.repeat.max(1);
    let mut ours = Vec::new();
    let mut last = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let ir = playbook::load(&b.playbook, &opts)?;
        ours.push(t.elapsed());
        last = Some(ir);
    }
    let ir = last.expect("repeat >= 1");
    let (tasks, handlers) = count(&ir);
    let ours = median(ours);
    println!(
        "{:<44} {:>10} {:>8}",
        format!("playbook {}", b.playbook.display()),
        "median",
        "tasks"
    );
    println!(
        "{:<44} {:>8.1}ms {:>8}   ({} plays, {handlers} handlers, includes expanded)",
        "concerto ir --expand (load + expand)",
        ours.as_secs_f64() * 1e3,
        tasks,
        ir.plays.len()
    );
    if let Some(r) = ir.reach() {
        println!(
            "{:<44} {:>10} {:>8}   ({} more depend on run-time data, {} skipped before anything runs)",
            "  of which a run would reach",
            "",
            r.run + r.unknown,
            r.unknown,
            r.skipped
        );
    }
    let translated = match &b.inventory {
        Some(inventory) => {
            let req = concerto_translator::translate::Request {
                playbook: b.playbook.clone(),
                inventory: inventory.clone(),
                extra_vars: b.extra_vars.clone(),
                ..Default::default()
            };
            let mut times = Vec::new();
            let mut shape = (0, 0);
            for _ in 0..repeat {
                let t = Instant::now();
                let tr = concerto_translator::translate::run(&req)?;
                let assembly = tr.assembly();
                times.push(t.elapsed());
                shape = (tr.components.len(), assembly.lines().count());
            }
            let time = median(times);
            println!(
                "{:<44} {:>8.1}ms {:>8}   ({} components, assembly of {} lines)",
                "concerto translate (load, analyse, write)",
                time.as_secs_f64() * 1e3,
                "",
                shape.0,
                shape.1
            );
            Some(time)
        }
        None => None,
    };
    if let Some(ap) = &b.ansible_playbook {
        let (theirs, listed) = list_tasks(
            ap,
            &b.playbook,
            b.inventory.as_deref(),
            &b.extra_vars,
            repeat,
        )?;
        println!(
            "{:<44} {:>8.1}ms {:>8}   (no includes entered)",
            "ansible-playbook --list-tasks",
            theirs.as_secs_f64() * 1e3,
            listed
        );
        println!(
            "ratio: ansible-playbook --list-tasks takes {:.0}x as long, and sees {listed} of the {tasks} tasks",
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-9)
        );
    } else {
        println!("ansible-playbook: not found (give --ansible-playbook PATH); no comparison");
    }
    let target = Duration::from_millis(200);
    println!(
        "target: load and expand in under {} ms: {}",
        target.as_millis(),
        if ours < target { "met" } else { "NOT met" }
    );
    if let Some(t) = translated {
        let target = Duration::from_secs(1);
        println!(
            "target: translate in under {} ms: {}",
            target.as_millis(),
            if t < target { "met" } else { "NOT met" }
        );
    }
    Ok(())
}

/// Median time of `ansible-playbook --list-tasks`, and the tasks it lists.
fn list_tasks(
    ap: &Path,
    playbook: &Path,
    inventory: Option<&Path>,
    extra: &[String],
    repeat: usize,
) -> Result<(Duration, usize)> {
    let mut times = Vec::new();
    let mut listed = 0;
    for _ in 0..repeat {
        let mut cmd = Command::new(ap);
        cmd.arg("--list-tasks").arg(playbook);
        if let Some(i) = inventory {
            cmd.arg("-i").arg(i);
        }
        for e in extra {
            cmd.arg("-e").arg(e);
        }
        let t = Instant::now();
        let out = cmd
            .output()
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot run {}", ap.display()))?;
        times.push(t.elapsed());
        if !out.status.success() {
            return Err(miette!(
                help = "check that the playbook and inventory load with ansible-playbook --syntax-check",
                "ansible-playbook --list-tasks failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // Task lines are indented by six spaces under "play #N (...)".
        listed = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("      ") && l.contains("TAGS:"))
            .count();
    }
    Ok((median(times), listed))
}

/// `ansible-playbook` next to `$CONCERTO_PYTHON`, else on `$PATH`.
pub fn find_ansible_playbook() -> Option<PathBuf> {
    if let Some(py) = std::env::var_os("CONCERTO_PYTHON") {
        let p = Path::new(&py).with_file_name("ansible-playbook");
        if p.is_file() {
            return Some(p);
        }
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("ansible-playbook"))
            .find(|p| p.is_file())
    })
}

//! `concerto`: check, predict, run and chart Madeus/Concerto assemblies and
//! reconfiguration programs. Exit codes: 0 success, 1 invalid input,
//! 2 the run failed or could not finish, 130 interrupted.

// See Cargo.toml: the translator's allocation pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use concerto::durations::Durations;
use concerto::engine::{self, RunOptions};
use concerto::load::{self, Input};
use concerto::perf::{self, Coordination};
use concerto::placement::Hosts;
use concerto::{bench, bench_ssh, gantt, report};
use indexmap::IndexMap;
use miette::{IntoDiagnostic, Result, WrapErr};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "concerto",
    version,
    about = "Run Madeus/Concerto assemblies and reconfiguration programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct InputArgs {
    /// An assembly (`.yaml`) or a reconfiguration program (`.concerto`).
    file: PathBuf,
    /// Set a program parameter (repeatable): `--set n=5`.
    #[arg(long = "set", value_name = "NAME=INT", value_parser = parse_set)]
    set: Vec<(String, i64)>,
    /// Seed for random durations such as `uniform(0, 10)`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Durations to use instead of the declared ones (YAML: `Type.transition: 2.5`
    /// or `instance.transition: 2.5`).
    #[arg(long, value_name = "FILE")]
    durations: Option<PathBuf>,
    /// The Ansible inventory (INI or YAML) that placed components run on.
    #[arg(short = 'i', long, value_name = "INVENTORY")]
    inventory: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a file and print its warnings.
    Check {
        #[command(flatten)]
        input: InputArgs,
    },
    /// Predict the makespan with the performance model, and the Ansible and Aeolus baselines.
    Predict {
        #[command(flatten)]
        input: InputArgs,
        /// Print JSON (`makespan`, `baselines`, `critical_path`, ...).
        #[arg(long)]
        json: bool,
        /// Also write the predicted Gantt chart (SVG).
        #[arg(long, value_name = "FILE.svg")]
        gantt: Option<PathBuf>,
    },
    /// Execute a file.
    Run {
        #[command(flatten)]
        input: InputArgs,
        /// Replace every action by a sleep of its estimated duration, on a virtual clock.
        #[arg(long)]
        simulate: bool,
        /// Write every event to this JSON-lines journal.
        #[arg(long, value_name = "FILE")]
        journal: Option<PathBuf>,
        /// Write the Gantt chart of the run (SVG).
        #[arg(long, value_name = "FILE.svg")]
        gantt: Option<PathBuf>,
        /// Print a JSON summary (`makespan`, `predicted`, ...).
        #[arg(long)]
        json: bool,
        /// Continue an interrupted or failed run: transitions its journal
        /// shows completed are not run again.
        #[arg(long, value_name = "JOURNAL")]
        resume: Option<PathBuf>,
    },
    /// Print the dependency graph of the performance model (Graphviz DOT).
    Graph {
        #[command(flatten)]
        input: InputArgs,
    },
    /// Render a journal as a Gantt chart.
    Gantt {
        journal: PathBuf,
        /// Output file: `.svg`, or `.json` for the timeline as JSON.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Reproduce the Madeus synthetic benchmarks in real time (measured vs predicted).
    Bench {
        /// Largest N (components) and T (parallel transitions).
        #[arg(long, default_value_t = 40)]
        max: usize,
        /// Duration of every action, seconds.
        #[arg(long, default_value_t = 0.5)]
        action: f64,
        /// Components in the simulated-scale run.
        #[arg(long, default_value_t = 10_000)]
        scale: usize,
    },
    /// Load a playbook, its roles and imports into the IR (docs/ir.md).
    Ir {
        playbook: PathBuf,
        /// The inventory: with `--expand`, each play's first host gives
        /// the variables include names are templated with.
        #[arg(short = 'i', long, value_name = "INVENTORY")]
        inventory: Option<PathBuf>,
        /// Extra variables, as for ansible-playbook: `-e k=v`, `-e @file.yml`,
        /// `-e '{"k": "v"}'` (repeatable).
        #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
        extra_vars: Vec<String>,
        /// Expand the dynamic includes whose names are known statically.
        #[arg(long)]
        expand: bool,
        /// Print the IR as JSON.
        #[arg(long)]
        json: bool,
        /// The ansible-core whose view to write where versions differ
        /// (2.19 or 2.21; docs/ir.md).
        #[arg(long, value_name = "VERSION", default_value = "2.19")]
        ansible_core: concerto_translator::playbook::AnsibleCore,
    },
    /// Translate a playbook into an assembly, with a report of every
    /// decision's evidence (docs/translation.md).
    Translate {
        playbook: PathBuf,
        #[arg(short = 'i', long, value_name = "INVENTORY")]
        inventory: PathBuf,
        /// Extra variables, as for ansible-playbook (repeatable).
        #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
        extra_vars: Vec<String>,
        /// Write the assembly here (default: standard output, unless `--json`).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Write the Markdown report here.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the component graph (Graphviz DOT) here.
        #[arg(long, value_name = "FILE")]
        dot: Option<PathBuf>,
        /// Print the JSON report on standard output.
        #[arg(long)]
        json: bool,
        /// More module signatures (YAML, as translator/data/signatures.yaml), before the shipped ones.
        #[arg(long, value_name = "FILE")]
        signatures: Vec<PathBuf>,
        /// Annotations (default: `concerto.yml` next to the playbook, if any).
        #[arg(long, value_name = "FILE")]
        annotations: Option<PathBuf>,
        /// Durations profile (default: the shipped Madeus OpenStack one).
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        #[arg(long, value_name = "VERSION", default_value = "2.19")]
        ansible_core: concerto_translator::playbook::AnsibleCore,
    },
    /// Time loading and expanding a playbook, beside `ansible-playbook --list-tasks`.
    BenchIr {
        playbook: PathBuf,
        #[arg(short = 'i', long, value_name = "INVENTORY")]
        inventory: Option<PathBuf>,
        #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
        extra_vars: Vec<String>,
        /// Runs of each; medians are printed.
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// The ansible-playbook to compare with (default: next to
        /// $CONCERTO_PYTHON, else on $PATH).
        #[arg(long, value_name = "PATH")]
        ansible_playbook: Option<PathBuf>,
    },
    /// Measure one remote action: our SSH executor vs ansible-playbook vs plain ssh, on a fleet.
    BenchSsh {
        /// An existing fleet's directory (`tests/hosts/fleet up 4`); without
        /// it, a 4-host fleet is started and stopped at the end.
        #[arg(long, value_name = "DIR")]
        fleet: Option<PathBuf>,
        /// Commands (`true`) per throughput run, spread over the hosts.
        #[arg(long, default_value_t = 1000)]
        commands: usize,
        /// Commands in flight in total (evenly per host).
        #[arg(long, default_value_t = 32)]
        in_flight: usize,
        /// Commands run one at a time, for the latency.
        #[arg(long, default_value_t = 200)]
        sequential: usize,
        /// Repetitions of every measurement (medians are reported).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Tasks of the Ansible playbook.
        #[arg(long, default_value_t = 10)]
        tasks: usize,
        /// New `ssh` connections per repetition.
        #[arg(long, default_value_t = 20)]
        ssh_commands: usize,
        /// ansible-playbook (default: from $PATH, else beside $CONCERTO_PYTHON;
        /// without one the Ansible column is skipped).
        #[arg(long, value_name = "PATH")]
        ansible: Option<PathBuf>,
    },
    /// Regenerate docs/results.md: theoretical gains over 300 seeded draws.
    Reproduce {
        /// Where to write the Markdown report.
        #[arg(short, long, default_value = "docs/results.md")]
        output: PathBuf,
        #[arg(long, default_value_t = 300)]
        draws: u64,
    },
}

fn parse_set(s: &str) -> std::result::Result<(String, i64), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=INT, found `{s}`"))?;
    let v = v
        .trim()
        .parse()
        .map_err(|_| format!("`{v}` is not an integer (in `{s}`)"))?;
    Ok((k.trim().to_string(), v))
}

fn main() -> ExitCode {
    miette::set_hook(Box::new(|_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .terminal_links(false)
                .build(),
        )
    }))
    .ok();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("CONCERTO_LOG"))
        .with_writer(std::io::stderr)
        .init();
    // Usage errors are invalid input (exit 1), like every other input error;
    // clap would use 2, which here means "the run failed".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(1),
            };
        }
    };
    match real_main(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(1)
        }
    }
}

fn load_input(args: &InputArgs) -> Result<(Input, Durations)> {
    let params: IndexMap<String, i64> = args.set.iter().cloned().collect();
    let input = load::load(&args.file, &params)?;
    for w in &input.warnings {
        eprintln!("{w:?}");
    }
    let mut durations = Durations::new(args.seed);
    if let Some(path) = &args.durations {
        durations.overrides = load::durations_file(path, &input.runnable)?;
    }
    Ok((input, durations))
}

/// Where the placed components of `loaded` run: every host pattern
/// resolved against `--inventory`, before anything starts.
fn resolve_hosts(args: &InputArgs, loaded: &Input) -> Result<Hosts> {
    let text = std::fs::read_to_string(&args.file).unwrap_or_default();
    let source = miette::NamedSource::new(args.file.display().to_string(), Arc::new(text));
    Ok(Hosts::resolve(
        &loaded.runnable,
        args.inventory.as_deref(),
        source,
    )?)
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check { input } => {
            let (loaded, _) = load_input(&input)?;
            if input.inventory.is_some() {
                resolve_hosts(&input, &loaded)?;
            }
            println!("{}", loaded.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Predict { input, json, gantt } => {
            let (loaded, durations) = load_input(&input)?;
            let p = report::Predicted::new(&loaded.runnable, &durations);
            if let Some(path) = gantt {
                write(&path, p.concerto.timeline.to_svg())?;
            }
            if json {
                println!("{}", p.to_json());
            } else {
                print!("{}", p.to_text());
            }
            Ok(if p.concerto.deadlock.is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Run {
            input,
            simulate,
            journal,
            gantt,
            json,
            resume,
        } => {
            let (loaded, durations) = load_input(&input)?;
            let resume = match resume {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .into_diagnostic()
                        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
                    let done = concerto::journal::Completed::from_journal(&text)?;
                    if journal.as_deref() == Some(path.as_path()) {
                        return Err(miette::miette!(
                            help = "write the new journal elsewhere: the old one is the record of what was done",
                            "--journal and --resume name the same file {}",
                            path.display()
                        ));
                    }
                    Some(done)
                }
                None => None,
            };
            // A simulation runs nowhere: placements matter only with -i.
            let hosts = if simulate && input.inventory.is_none() {
                None
            } else {
                Some(Arc::new(resolve_hosts(&input, &loaded)?))
            };
            let predicted = perf::predict(&loaded.runnable, &durations, Coordination::Concerto);
            let opts = RunOptions {
                hosts,
                simulate,
                durations,
                journal,
                progress: !json && std::io::stderr().is_terminal(),
                resume,
            };
            let rt = engine::runtime(simulate).into_diagnostic()?;
            let result = rt.block_on(engine::run(&loaded.runnable, &opts))?;
            if let Some(path) = gantt {
                let mut tl = result.timeline.clone();
                tl.title = format!(
                    "{} ({})",
                    input.file.display(),
                    if simulate { "simulated" } else { "run" }
                );
                tl.mark_critical_from_timing();
                write(&path, tl.to_svg())?;
            }
            let out = report::RunSummary::new(&result, &predicted);
            if json {
                println!("{}", out.to_json());
            } else {
                print!("{}", out.to_text());
            }
            Ok(if result.interrupted {
                ExitCode::from(130)
            } else if result.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Graph { input } => {
            let (loaded, durations) = load_input(&input)?;
            let p = perf::predict_graph(&loaded.runnable, &durations, Coordination::Concerto);
            print!("{}", report::dot(&p));
            Ok(ExitCode::SUCCESS)
        }
        Command::Gantt { journal, output } => {
            let text = std::fs::read_to_string(&journal)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot read {}", journal.display()))?;
            let title = journal.display().to_string();
            let tl = gantt::Timeline::from_journal(&title, &text)?;
            let body = if output.extension().is_some_and(|e| e == "json") {
                tl.to_json()
            } else {
                tl.to_svg()
            };
            write(&output, body)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { max, action, scale } => {
            bench::madeus(max, action, scale)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ir {
            playbook,
            inventory,
            extra_vars,
            expand,
            json,
            ansible_core,
        } => {
            let mut opts = concerto_translator::playbook::Options::from_env();
            opts.expand = expand;
            opts.ansible_core = ansible_core;
            if let Some(i) = &inventory {
                opts.inventory = Some(concerto_translator::inventory::load(i)?);
            }
            for e in &extra_vars {
                opts.extra_vars
                    .extend(concerto_translator::playbook::parse_extra_vars(e)?);
            }
            let ir = concerto_translator::playbook::load(&playbook, &opts)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ir).into_diagnostic()?);
            } else {
                print!("{}", ir.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Translate {
            playbook,
            inventory,
            extra_vars,
            output,
            report,
            dot,
            json,
            signatures,
            annotations,
            profile,
            ansible_core,
        } => {
            let t = concerto::translate::run(&concerto_translator::translate::Request {
                playbook,
                inventory,
                extra_vars,
                signatures,
                annotations,
                profile,
                ansible_core,
            })?;
            let write = |path: &PathBuf, text: &str| {
                std::fs::write(path, text)
                    .map_err(|e| miette::miette!("cannot write {}: {e}", path.display()))
            };
            match &output {
                Some(p) => write(p, &t.assembly)?,
                None if !json => print!("{}", t.assembly),
                None => {}
            }
            let section = t.prediction.markdown(&t.translation.profile);
            if let Some(p) = &report {
                write(p, &t.translation.markdown(&section))?;
            }
            if let Some(p) = &dot {
                write(p, &t.translation.dot())?;
            }
            let p = &t.prediction;
            if json {
                let mut j = t.translation.json();
                j["prediction"] = serde_json::json!({
                    "profile": t.translation.profile,
                    "concerto": p.concerto.as_secs_f64(),
                    "aeolus": p.aeolus.as_secs_f64(),
                    "ansible": p.ansible.as_secs_f64(),
                    "gain_vs_ansible_percent": p.gain(p.ansible),
                    "gain_vs_aeolus_percent": p.gain(p.aeolus),
                    "deadlock": p.deadlock,
                });
                println!("{}", serde_json::to_string_pretty(&j).into_diagnostic()?);
            }
            eprintln!(
                "translated: {} components, {} deploy dependencies; predicted {:.1} s vs Ansible {:.1} s ({:.1} % shorter), Aeolus {:.1} s",
                t.translation.components.len(),
                t.translation.dependencies.iter().filter(|d| d.kind == concerto_translator::translate::Kind::Deploy).count(),
                p.concerto.as_secs_f64(),
                p.ansible.as_secs_f64(),
                p.gain(p.ansible),
                p.aeolus.as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchIr {
            playbook,
            inventory,
            extra_vars,
            repeat,
            ansible_playbook,
        } => {
            concerto::bench_ir::run(&concerto::bench_ir::BenchIr {
                playbook,
                inventory,
                extra_vars,
                repeat,
                ansible_playbook: ansible_playbook
                    .or_else(concerto::bench_ir::find_ansible_playbook),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::BenchSsh {
            fleet,
            commands,
            in_flight,
            sequential,
            repeat,
            tasks,
            ssh_commands,
            ansible,
        } => {
            let finished = bench_ssh::run(&bench_ssh::Options {
                fleet,
                commands,
                in_flight,
                sequential,
                repeat,
                tasks,
                ssh_commands,
                ansible,
            })?;
            Ok(match finished {
                bench_ssh::Finished::Done => ExitCode::SUCCESS,
                bench_ssh::Finished::Interrupted => {
                    eprintln!("bench-ssh: interrupted");
                    ExitCode::from(130)
                }
            })
        }
        Command::Reproduce { output, draws } => {
            let md = concerto::results::reproduce(draws);
            write(&output, md)?;
            eprintln!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write(path: &std::path::Path, body: String) -> Result<()> {
    std::fs::write(path, body)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))
}

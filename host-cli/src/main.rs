//! `noisekit`: reproduction runs, the DP accountant calculator and the golden-fixture tool.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use noisekit_cli::commands::{dp, fixtures};
use noisekit_cli::framework::runner::{run_one, write_index, RunOptions};
use noisekit_cli::framework::Status;
use noisekit_cli::repros;

#[derive(Parser)]
#[command(
    name = "noisekit",
    version,
    about = "Noise in learning: reproductions, DP tools, fixtures"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Reproduce a paper's headline claim (or `all`).
    Repro {
        /// Repro name, or `all`.
        name: Option<String>,
        /// List every reproduction with its status.
        #[arg(long)]
        list: bool,
        /// Small scale (the default for `all`).
        #[arg(long)]
        quick: bool,
        /// The paper's full scale (the default for a single repro).
        #[arg(long, conflicts_with = "quick")]
        full: bool,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// TOML file overriding config keys (a `[name]` section per repro).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Skip repros already finished with the same config, seed and scale.
        #[arg(long)]
        resume: bool,
    },
    /// The RDP accountant as a calculator.
    Dp {
        #[command(subcommand)]
        cmd: dp::DpCommand,
    },
    /// Golden fixtures.
    Fixtures {
        #[command(subcommand)]
        cmd: fixtures::FixturesCommand,
    },
}

#[allow(clippy::too_many_arguments)]
fn repro(
    name: Option<String>,
    list: bool,
    quick: bool,
    full: bool,
    seed: u64,
    config: Option<PathBuf>,
    out: PathBuf,
    resume: bool,
) -> Result<bool> {
    let registry = repros::all();
    if list {
        for r in &registry {
            let status = match r.status() {
                Status::Ready => "ready",
                Status::Pending => "pending",
            };
            println!(
                "{:20} spec {:13} {:8} {}",
                r.name(),
                r.spec(),
                status,
                r.title()
            );
        }
        return Ok(true);
    }
    let Some(name) = name else {
        bail!("name a reproduction or `all` (see `noisekit repro --list`)");
    };
    let selected: Vec<_> = if name == "all" {
        registry
    } else {
        match repros::find(&name) {
            Some(r) => vec![r],
            None => {
                let names: Vec<&str> = registry.iter().map(|r| r.name()).collect();
                bail!("unknown repro {name:?}; known: all, {}", names.join(", "));
            }
        }
    };
    let config = match config {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading config {}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("config {}: {}", path.display(), e.message()))?;
            Some(table)
        }
    };
    let single = name != "all";
    let opts = RunOptions {
        seed,
        quick: if single { quick && !full } else { !full },
        out,
        config,
        resume,
        single,
    };
    let mut summaries = Vec::new();
    for r in &selected {
        summaries.push(run_one(*r, &opts)?);
    }
    if !single {
        write_index(&opts.out, &selected, &summaries)?;
        println!("\n{:20} {:8} {:>8}", "repro", "verdict", "time");
        for s in &summaries {
            let v = match s.pass {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "pending",
            };
            println!("{:20} {:8} {:>7.1}s", s.name, v, s.elapsed_s);
        }
        println!("index: {}", opts.out.join("index.html").display());
    }
    Ok(summaries.iter().all(|s| s.pass != Some(false)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Repro {
            name,
            list,
            quick,
            full,
            seed,
            config,
            out,
            resume,
        } => repro(name, list, quick, full, seed, config, out, resume),
        Cmd::Dp { cmd } => dp::run(&cmd).map(|()| true),
        Cmd::Fixtures { cmd } => fixtures::run(&cmd).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

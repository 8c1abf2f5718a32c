//! The `interpose` command line: `check` a component, `validate` a config, run the `demo`.

mod demo;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::runtime::Runtime;

#[derive(Parser)]
#[command(
    name = "interpose",
    version,
    about = "WebAssembly interceptors for Temporal"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load one component as the worker would and report what it is: the categories it
    /// exports, its interests, its imports, size and compile time.
    Check {
        /// The component file.
        component: PathBuf,
    },
    /// Load every guest of a config file, in chain order, and report each.
    Validate {
        /// The config file.
        #[arg(default_value = "interpose.toml")]
        config: PathBuf,
    },
    /// Run the example scenario through the chain and print every hop.
    Demo {
        /// The config file with the example guests.
        #[arg(long, default_value = "guest-examples/interpose.toml")]
        config: PathBuf,
    },
}

/// Entry point of the `interpose` binary: parses the process arguments, logs to stderr
/// (filter: `INTERPOSE_LOG`, default `warn`), prints errors and sets the exit code.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INTERPOSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(std::env::args_os(), &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Run the command line `args` (the first is the program name), writing the report to
/// `out`. Errors are returned for the caller to print; `--help` and usage errors exit the
/// process as clap does.
pub fn run<I, T>(args: I, out: &mut dyn Write) -> anyhow::Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Check { component } => check(component, out),
        Command::Validate { config } => validate(config, out),
        Command::Demo { config } => demo::run(config),
    }
}

fn print_guest(out: &mut dyn Write, info: &crate::runtime::GuestInfo) -> std::io::Result<()> {
    writeln!(out, "{}", info.path.display())?;
    writeln!(out, "  hash:        sha256:{}", info.hash)?;
    writeln!(out, "  size:        {}", bytesize::ByteSize(info.size))?;
    writeln!(
        out,
        "  compile:     {:.1?} ({})",
        info.compile_time,
        match info.cache {
            crate::runtime::CacheStatus::Hit => "from cache",
            crate::runtime::CacheStatus::Miss => "compiled, cached",
            _ => "compiled, cache off",
        }
    )?;
    writeln!(out, "  instantiate: {:.1?}", info.instantiate_time)?;
    writeln!(
        out,
        "  wasi:        {}",
        if info.uses_wasi {
            "yes (virtualized)"
        } else {
            "no"
        }
    )?;
    writeln!(out, "  imports:")?;
    for i in &info.imports {
        writeln!(out, "    {i}")?;
    }
    writeln!(out, "  categories and interests:")?;
    for (cat, hooks) in &info.interests {
        if hooks.is_empty() {
            writeln!(out, "    {cat}: exported, no hooks (never called)")?;
        } else {
            let names: Vec<String> = hooks
                .iter()
                .map(|i| {
                    let b = i.phases.contains(crate::chain::Phases::BEFORE);
                    let a = i.phases.contains(crate::chain::Phases::AFTER);
                    let phases = match (b, a) {
                        (true, true) => "before+after",
                        (true, false) => "before",
                        _ => "after",
                    };
                    format!("{} ({phases})", i.hook.name())
                })
                .collect();
            writeln!(out, "    {cat}: {}", names.join(", "))?;
        }
    }
    Ok(())
}

fn check(component: PathBuf, out: &mut dyn Write) -> anyhow::Result<()> {
    let runtime = Runtime::builder().cache(false).build()?;
    let info = runtime.inspect(&component)?;
    print_guest(out, &info)?;
    writeln!(out, "ok")?;
    Ok(())
}

fn validate(config: PathBuf, out: &mut dyn Write) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = Config::from_file(&config)?;
    let runtime = Runtime::builder().for_config(&cfg).build()?;
    let chain = runtime.load(&cfg)?;
    for (i, g) in chain.guests().enumerate() {
        write!(out, "{}. {}: ", i + 1, g.name)?;
        print_guest(out, g)?;
    }
    writeln!(
        out,
        "ok: {} guests loaded in {:.1?}",
        cfg.guests.len(),
        started.elapsed()
    )?;
    Ok(())
}

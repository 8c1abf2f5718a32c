//! The `interpose` command line: `check` a component, `validate` a config, run the `demo`.

mod demo;

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

/// Entry point of the `interpose` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INTERPOSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Check { component } => check(component),
        Command::Validate { config } => validate(config),
        Command::Demo { config } => demo::run(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_guest(info: &crate::runtime::GuestInfo) {
    println!("{}", info.path.display());
    println!("  hash:        sha256:{}", info.hash);
    println!("  size:        {}", bytesize::ByteSize(info.size));
    println!(
        "  compile:     {:.1?} ({})",
        info.compile_time,
        match info.cache {
            crate::runtime::CacheStatus::Hit => "from cache",
            crate::runtime::CacheStatus::Miss => "compiled, cached",
            _ => "compiled, cache off",
        }
    );
    println!("  instantiate: {:.1?}", info.instantiate_time);
    println!(
        "  wasi:        {}",
        if info.uses_wasi {
            "yes (virtualized)"
        } else {
            "no"
        }
    );
    println!("  imports:");
    for i in &info.imports {
        println!("    {i}");
    }
    println!("  categories and interests:");
    for (cat, hooks) in &info.interests {
        if hooks.is_empty() {
            println!("    {cat}: exported, no hooks (never called)");
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
            println!("    {cat}: {}", names.join(", "));
        }
    }
}

fn check(component: PathBuf) -> anyhow::Result<()> {
    let runtime = Runtime::builder().cache(false).build()?;
    let info = runtime.inspect(&component)?;
    print_guest(&info);
    println!("ok");
    Ok(())
}

fn validate(config: PathBuf) -> anyhow::Result<()> {
    let started = Instant::now();
    let cfg = Config::from_file(&config)?;
    let runtime = Runtime::builder().for_config(&cfg).build()?;
    let chain = runtime.load(&cfg)?;
    for (i, g) in chain.guests().enumerate() {
        print!("{}. {}: ", i + 1, g.name);
        print_guest(g);
    }
    println!(
        "ok: {} guests loaded in {:.1?}",
        cfg.guests.len(),
        started.elapsed()
    );
    Ok(())
}

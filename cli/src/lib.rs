//! The `interpose` command line: `check` a component, `validate` a config, show a run's
//! interceptor `versions`, run the `demo`, scaffold a guest with `new`, `componentize` a
//! core module.

mod demo;
mod new;
mod versions;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use interpose::config::Config;
use interpose::runtime::Runtime;

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
    /// Which interceptor chain handled each workflow task of a run (from the build ids
    /// Temporal recorded; workers stamped with `Interpose::stamp_worker`), and whether a
    /// config's chain is the one the run started with.
    Versions {
        /// The workflow id (fetched from the server of `--address` or Temporal's envconfig).
        #[arg(required_unless_present = "history")]
        workflow_id: Option<String>,
        /// A run of that workflow (default: the latest).
        #[arg(long)]
        run_id: Option<String>,
        /// Temporal frontend address (`host:port`); default: Temporal's envconfig.
        #[arg(long)]
        address: Option<String>,
        /// Namespace (default: envconfig's, else `default`).
        #[arg(long)]
        namespace: Option<String>,
        /// Read the history from this file (the Temporal Rust SDK's JSON) instead.
        #[arg(long, conflicts_with = "workflow_id")]
        history: Option<PathBuf>,
        /// Compare with the chain this config loads.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Create a guest project that builds (`sh build.sh`) and passes `interpose check`.
    New {
        /// Guest name: lowercase letters, digits and dashes.
        name: String,
        /// Language of the guest.
        #[arg(long, value_enum)]
        lang: new::Lang,
        /// Directory to create (default: `./<name>`); must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Rust only: path to Interpose's `guest-sdk` (default: the one this binary was
        /// built from).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Turn a core Wasm module built with the interpose:interceptor bindings (Rust for
    /// wasm32-unknown-unknown, C with wasi-libc) into a component.
    Componentize {
        /// The core module.
        module: PathBuf,
        /// The component to write.
        #[arg(short, long)]
        output: PathBuf,
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
        Command::Versions {
            workflow_id,
            run_id,
            address,
            namespace,
            history,
            config,
        } => {
            let source = match (history, workflow_id) {
                (Some(path), _) => versions::Source::File(path),
                (None, Some(workflow_id)) => versions::Source::Server {
                    workflow_id,
                    run_id,
                    address,
                    namespace,
                },
                (None, None) => anyhow::bail!("name a workflow id or pass --history"),
            };
            versions::run(source, config, out)
        }
        Command::Demo { config } => demo::run(config),
        Command::New {
            name,
            lang,
            dir,
            sdk,
        } => new::run(&name, lang, dir, sdk, out),
        Command::Componentize { module, output } => new::componentize(&module, &output, out),
    }
}

fn print_guest(out: &mut dyn Write, info: &interpose::runtime::GuestInfo) -> std::io::Result<()> {
    writeln!(out, "{}", info.path.display())?;
    writeln!(out, "  hash:        sha256:{}", info.hash)?;
    writeln!(out, "  size:        {}", bytesize::ByteSize(info.size))?;
    writeln!(
        out,
        "  compile:     {:.1?} ({})",
        info.compile_time,
        match info.cache {
            interpose::runtime::CacheStatus::Hit => "from cache",
            interpose::runtime::CacheStatus::Miss => "compiled, cached",
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
        if i.starts_with("wasi:sockets/") {
            writeln!(
                out,
                "    {i} (stubbed: every call traps, guests get no network)"
            )?;
        } else {
            writeln!(out, "    {i}")?;
        }
    }
    writeln!(out, "  categories and interests:")?;
    for (cat, hooks) in &info.interests {
        if hooks.is_empty() {
            writeln!(out, "    {cat}: exported, no hooks (never called)")?;
        } else {
            let names: Vec<String> = hooks
                .iter()
                .map(|i| {
                    let b = i.phases.contains(interpose::chain::Phases::BEFORE);
                    let a = i.phases.contains(interpose::chain::Phases::AFTER);
                    let phases = match (b, a) {
                        (true, true) => "before+after",
                        (true, false) => "before",
                        _ => "after",
                    };
                    let reads = match &i.reads {
                        interpose::chain::HeaderReads::None => String::new(),
                        interpose::chain::HeaderReads::Keys(k) => {
                            format!("; reads {}", k.join(", "))
                        }
                        interpose::chain::HeaderReads::All => "; reads every header".into(),
                    };
                    format!("{} ({phases}{reads})", i.hook.name())
                })
                .collect();
            writeln!(out, "    {cat}: {}", names.join(", "))?;
        }
    }
    for w in &info.warnings {
        writeln!(out, "  warning:     {w}")?;
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
    let chain = interpose::chain::Chain::load(&runtime, &cfg, Vec::new())?;
    for (i, g) in chain.guests().enumerate() {
        write!(out, "{}. {}: ", i + 1, g.name)?;
        print_guest(out, g)?;
    }
    writeln!(out, "chain fingerprint: {}", chain.fingerprint())?;
    writeln!(
        out,
        "ok: {} guests loaded in {:.1?}",
        cfg.guests.len(),
        started.elapsed()
    )?;
    Ok(())
}

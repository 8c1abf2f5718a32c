//! The `interpose` command line.

fn main() -> std::process::ExitCode {
    interpose_cli::main()
}

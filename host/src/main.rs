//! The `interpose` command line.

fn main() -> std::process::ExitCode {
    interpose::cli::main()
}

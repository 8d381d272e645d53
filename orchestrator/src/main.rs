//! The `cohort` binary.

fn main() -> std::process::ExitCode {
    orchestrator::main()
}

//! `nairi`: the command line of the Nairi public REST API (see `nairi --help`).

fn main() -> std::process::ExitCode {
    nairi_cli::main_entry()
}

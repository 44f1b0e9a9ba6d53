use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = keyfence::cli::Cli::parse();
    keyfence::run(cli).into()
}

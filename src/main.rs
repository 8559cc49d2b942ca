use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    // pdf-extract logs every glyph at warn level; keep it quiet unless asked.
    let filter = EnvFilter::try_from_env("APFLOW_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,pdf_extract=off,sqlx=warn"));
    // Colours only for a person at a terminal, not in files or CI logs.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
    let cli = apflow::cli::Cli::parse();
    let code = match apflow::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

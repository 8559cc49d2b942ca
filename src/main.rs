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
    // The PDF parser panics on some corrupt files; `read` contains those
    // panics and rejects the document with a reason. Report them as one
    // log line instead of a raw panic message and backtrace on stderr.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%message, %at, "internal error contained; the affected document is rejected");
    }));
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

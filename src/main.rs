use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    // Tesseract is built with OpenMP: left alone, each page's recogniser
    // starts a thread per core and they fight (a page gets 8x slower). We
    // run one single-threaded recogniser per core instead. Set before any
    // thread exists, so nothing reads the environment concurrently.
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        // SAFETY: single-threaded here: the runtime starts below.
        unsafe { std::env::set_var("OMP_THREAD_LIMIT", "1") };
    }
    // The same for candle's matrix products in the extraction model: the
    // workers already use every core, and a pool per extraction only spins.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: as above.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    std::process::exit(runtime.block_on(run()));
}

async fn run() -> i32 {
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
    match apflow::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

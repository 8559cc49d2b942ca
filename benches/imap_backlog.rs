//! Draining a mailbox backlog: N messages (default 1,000), each with a
//! distinct invoice PDF, in one folder of a throwaway Dovecot; one
//! `capture::imap::poll` imports them all.
//!
//!     cargo bench --bench imap_backlog -- [MESSAGES]
//!
//! Prints messages/s and the process's peak memory before and after the
//! drain (messages are fetched one at a time, so memory stays flat).
//! Needs root and `dovecot-imapd` (`make test-deps` installs it).

use std::time::{Duration, Instant};

use apflow::capture::imap::{AfterImport, Credential, Mailbox, Tls, poll};
use apflow::config::Settings;
use apflow::store::Store;

#[path = "../tests/it/dovecot.rs"]
mod dovecot;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let server = dovecot::Dovecot::start().await;
    let port = server.port;
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();

    // The backlog: distinct PDFs (a comment after %%EOF makes each unique).
    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/invoices/05_tecnoparts_TPI-2026-0318.pdf"
    ))
    .expect("sample");
    let mut session = server.session().await;
    let started = Instant::now();
    for i in 0..n {
        let mut body = pdf.clone();
        body.extend_from_slice(format!("\n% backlog {i}\n").as_bytes());
        let msg = dovecot::mail(
            &format!("invoice{i}"),
            "application/pdf",
            &format!("inv{i}.pdf"),
            &body,
        );
        session
            .append("INBOX", None, None, msg)
            .await
            .expect("append");
    }
    let _ = session.logout().await;
    println!(
        "appended {n} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let settings = Settings {
        database_url: format!("sqlite://{d}/apflow.db"),
        ..Settings::default()
    };
    let store = Store::connect(&settings.database_url).await.expect("store");
    std::fs::write(dir.path().join("pw"), "secret").expect("password file");
    let mb = Mailbox {
        name: "ap".into(),
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        ca_file: None,
        username: dovecot::USER.into(),
        credential: Credential::PasswordFile(dir.path().join("pw")),
        folders: vec!["INBOX".into()],
        after_import: AfterImport::Move("Processed".into()),
        idle: false,
        poll_interval: Duration::from_secs(60),
    };
    let before = peak_rss_kib();
    let t = Instant::now();
    let r = poll(&store, &settings, &mb).await.expect("poll");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "drained {} messages ({} documents stored) in {secs:.1} s: {:.0} messages/s; peak RSS {} MiB before, {} MiB after",
        r.messages,
        r.documents,
        r.messages as f64 / secs,
        before / 1024,
        peak_rss_kib() / 1024
    );
}

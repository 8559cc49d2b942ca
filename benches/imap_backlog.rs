//! Draining a mailbox backlog: N messages (default 1,000), each with a
//! distinct invoice PDF, in one folder of a throwaway Dovecot; one
//! `capture::imap::poll` imports them all.
//!
//!     cargo bench --bench imap_backlog -- [MESSAGES]
//!
//! Prints messages/s and the process's peak memory before and after the
//! drain (messages are fetched one at a time, so memory stays flat).
//! Needs root and `dovecot-imapd` (`make test-deps` installs it).

use std::process::Command;
use std::time::{Duration, Instant};

use apflow::capture::imap::{Mailbox, Tls, poll};
use apflow::config::Settings;
use apflow::store::Store;

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
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    std::fs::write(
        dir.path().join("users"),
        "ap@example.test:{PLAIN}secret::::::\n",
    )
    .expect("users");
    std::fs::create_dir_all(dir.path().join("mail")).expect("mail dir");
    let uid: u32 = String::from_utf8_lossy(
        &Command::new("id")
            .args(["-u", "dovecot"])
            .output()
            .expect("id")
            .stdout,
    )
    .trim()
    .parse()
    .expect("dovecot user (install dovecot-imapd)");
    std::os::unix::fs::chown(dir.path().join("mail"), Some(uid), Some(uid)).expect("chown");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    std::fs::write(
        dir.path().join("dovecot.conf"),
        format!(
            "base_dir = {d}/run\nstate_dir = {d}/run\nlog_path = {d}/log\nprotocols = imap\nlisten = 127.0.0.1\nssl = no\n\
             disable_plaintext_auth = no\ndefault_login_user = dovenull\ndefault_internal_user = dovecot\n\
             default_internal_group = dovecot\nfirst_valid_uid = 1\nmail_location = maildir:{d}/mail/%u\n\
             passdb {{\n driver = passwd-file\n args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n driver = static\n args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
             service imap-login {{\n inet_listener imap {{\n address = 127.0.0.1\n port = {port}\n }}\n inet_listener imaps {{\n port = 0\n }}\n chroot =\n}}\n\
             service anvil {{\n chroot =\n}}\n"
        ),
    )
    .expect("config");
    let mut dovecot = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(dir.path().join("dovecot.conf"))
        .spawn()
        .expect("dovecot is installed");
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "dovecot did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The backlog: distinct PDFs (a comment after %%EOF makes each unique).
    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/invoices/05_tecnoparts_TPI-2026-0318.pdf"
    ))
    .expect("sample");
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut client = async_imap::Client::new(tcp);
    let _ = client.read_response().await;
    let mut session = client
        .login("ap@example.test", "secret")
        .await
        .map_err(|(e, _)| e)
        .expect("login");
    let started = Instant::now();
    for i in 0..n {
        let mut body = pdf.clone();
        body.extend_from_slice(format!("\n% backlog {i}\n").as_bytes());
        use base64::Engine;
        let msg = format!(
            "From: billing@vendor.example\r\nSubject: invoice {i}\r\nMessage-ID: <b{i}@vendor.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"inv{i}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
            base64::engine::general_purpose::STANDARD.encode(&body)
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
        username: "ap@example.test".into(),
        password_file: dir.path().join("pw"),
        folder: "INBOX".into(),
        processed_folder: "Processed".into(),
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
    let _ = dovecot.kill();
    let _ = dovecot.wait();
}

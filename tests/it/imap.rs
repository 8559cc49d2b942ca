//! Capture from a real IMAP server (a throwaway Dovecot, see `dovecot.rs`):
//! each message imported once, moved or flagged only after its documents
//! are stored, over plain, TLS and STARTTLS connections, with passwords or
//! XOAUTH2 tokens, through server restarts, UIDVALIDITY changes and a
//! process killed at the worst moments.

use std::process::Command;
use std::time::Duration;

use apflow::capture::imap::{AfterImport, Credential, Error, Mailbox, Tls, poll};

use crate::dovecot::{Dovecot, Options, USER, mail};
use crate::helpers::{Db, TestDb, fresh, repo_path, serve, wait_documents, wait_for};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("samples/invoices/{name}"))).unwrap()
}

/// A vendor's mail with one sample invoice attached as a PDF.
fn pdf_mail(subject: &str, sample_name: &str) -> Vec<u8> {
    mail(
        subject,
        "application/pdf",
        sample_name,
        &sample(sample_name),
    )
}

/// The test user's mailbox on `port`, its password in a file beside the
/// test database.
fn test_mailbox(t: &TestDb, port: u16, tls: Tls, ca_file: Option<std::path::PathBuf>) -> Mailbox {
    let secret = t.settings.inbox.with_file_name("imap-password");
    std::fs::write(&secret, "secret\n").unwrap();
    Mailbox {
        name: "ap".into(),
        host: "127.0.0.1".into(),
        port,
        tls,
        ca_file,
        username: USER.into(),
        credential: Credential::PasswordFile(secret),
        folders: vec!["INBOX".into()],
        after_import: AfterImport::Move("Processed".into()),
        idle: true,
        poll_interval: Duration::from_secs(60),
    }
}

async fn scalar(url: &str, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn imports_each_message_once_and_moves_it() {
    let server = Dovecot::start().await;
    let t = fresh(Db::Sqlite).await;
    let mb = test_mailbox(&t, server.port, Tls::None, None);
    let pdf1 = sample("01_nordlicht_RE-2026-00412.pdf");
    let pdf3 = sample("03_atelier_F2026-0193.pdf");
    server
        .append(
            "INBOX",
            mail("m1", "application/pdf", "RE-2026-00412.pdf", &pdf1),
        )
        .await;
    server
        .append(
            "INBOX",
            mail("m2", "application/octet-stream", "scan.bin", &pdf3),
        )
        .await;
    server
        .append(
            "INBOX",
            mail("m3", "image/png", "logo.png", b"\x89PNG\r\n\x1a\nxx"),
        )
        .await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents, r.already_imported), (3, 2, 0));
    assert_eq!(
        (server.count("INBOX").await, server.count("Processed").await),
        (0, 3)
    );
    // Nothing new: nothing happens.
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (0, 0));

    // The same PDF sent again in a new message is the same document.
    server
        .append("INBOX", mail("m5", "application/pdf", "resent.pdf", &pdf1))
        .await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!(r.documents, 1);
    assert_eq!(
        scalar(&t.url, "SELECT COUNT(*) FROM documents").await,
        2,
        "two distinct PDFs, however often they arrive"
    );
}

/// Every mail shape of the MIME tests (attachment, inline and
/// octet-stream PDFs, a forwarded mail, a ZIP of two invoices, Outlook's
/// winmail.dat, logos, a 20 MB scan), delivered to a real server: exactly
/// the expected documents come out, and every message is moved.
#[tokio::test]
async fn every_mail_shape_through_a_real_server() {
    let server = Dovecot::start().await;
    let t = fresh(Db::Sqlite).await;
    let mb = test_mailbox(&t, server.port, Tls::None, None);
    let shapes = crate::mail::mail_shapes();
    let mut want: Vec<String> = Vec::new();
    for (_, raw, paths, _) in &shapes {
        server.append("INBOX", raw.clone()).await;
        want.extend(
            paths
                .iter()
                .map(|p| p.rsplit('/').next().unwrap_or_default().to_string()),
        );
    }
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (shapes.len(), want.len()));
    assert_eq!(server.count("Processed").await as usize, shapes.len());
    // Each document under the name it was sent with (the same bytes sent
    // twice are one document, under the first name).
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT filename FROM documents")
        .fetch_all(&pool)
        .await
        .unwrap();
    for name in &stored {
        assert!(want.contains(name), "{name} was not expected: {want:?}");
    }
    assert!(stored.contains(&"scan-20mb.pdf".to_string()), "{stored:?}");
    assert!(stored.contains(&"inner.pdf".to_string()), "{stored:?}");
}

/// Implicit TLS and STARTTLS against the server's certificate from a
/// private CA: trusted with `ca_file`, refused without it.
#[tokio::test]
async fn connects_over_tls_and_starttls() {
    let server = Dovecot::start().await;
    let t = fresh(Db::Sqlite).await;
    let pdf = sample("05_tecnoparts_TPI-2026-0318.pdf");
    let mb = |tls, port, ca| test_mailbox(&t, port, tls, ca);
    let untrusted = poll(
        &t.store,
        &t.settings,
        &mb(Tls::Implicit, server.tls_port, None),
    )
    .await;
    assert!(matches!(untrusted, Err(Error::Tls { .. })), "{untrusted:?}");
    for (tls, port, subject) in [
        (Tls::Implicit, server.tls_port, "tls"),
        (Tls::StartTls, server.port, "starttls"),
    ] {
        server
            .append("INBOX", mail(subject, "application/pdf", "TPI.pdf", &pdf))
            .await;
        let r = poll(
            &t.store,
            &t.settings,
            &mb(tls, port, Some(server.ca.clone())),
        )
        .await
        .unwrap();
        assert_eq!((r.messages, r.documents), (1, 1), "{subject}");
    }
}

/// A stand-in for the identity provider's token-info endpoint (Google's
/// and Microsoft's cannot be reached from a test): Dovecot asks it whether
/// a bearer token is valid and whose it is.
async fn token_info_server(valid: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/tokeninfo?access_token=",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let mut len = 0;
            while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                match conn.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => len += n,
                }
            }
            let request = String::from_utf8_lossy(&buf[..len]);
            let ok = request
                .lines()
                .next()
                .is_some_and(|l| l.contains(&format!("access_token={valid} ")));
            let (status, body) = if ok {
                ("200 OK", format!("{{\"email\":\"{USER}\"}}"))
            } else {
                (
                    "401 Unauthorized",
                    "{\"error\":\"invalid_token\"}".to_string(),
                )
            };
            let _ = conn
                .write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                )
                .await;
        }
    });
    url
}

/// XOAUTH2 as Gmail and Microsoft 365 want it, the token from a file or
/// from a command; a wrong token or a failing command is a clear error.
#[tokio::test]
async fn logs_in_with_xoauth2_tokens_from_a_file_or_a_command() {
    let url = token_info_server("ya29.valid-token").await;
    let server = Dovecot::start_with(Options {
        tokeninfo_url: Some(url),
        ..Options::default()
    })
    .await;
    let t = fresh(Db::Sqlite).await;
    let dir = t.settings.inbox.parent().unwrap().to_path_buf();
    let pdf = sample("05_tecnoparts_TPI-2026-0318.pdf");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "ya29.valid-token\n").unwrap();
    let with = |credential| Mailbox {
        credential,
        ..test_mailbox(&t, server.port, Tls::None, None)
    };
    for (subject, credential) in [
        ("file", Credential::TokenFile(token_file.clone())),
        (
            "command",
            Credential::TokenCommand("printf '%s' ya29.valid-token".into()),
        ),
    ] {
        server
            .append("INBOX", mail(subject, "application/pdf", "TPI.pdf", &pdf))
            .await;
        let r = poll(&t.store, &t.settings, &with(credential))
            .await
            .unwrap();
        assert_eq!(r.messages, 1, "{subject}");
    }
    std::fs::write(&token_file, "ya29.expired-token\n").unwrap();
    let refused = poll(
        &t.store,
        &t.settings,
        &with(Credential::TokenFile(token_file)),
    )
    .await;
    assert!(
        matches!(
            &refused,
            Err(Error::Imap {
                step: "AUTHENTICATE XOAUTH2",
                ..
            })
        ),
        "{refused:?}"
    );
    let failing = poll(
        &t.store,
        &t.settings,
        &with(Credential::TokenCommand(
            "echo 'refresh token revoked' >&2; exit 3".into(),
        )),
    )
    .await;
    let Err(Error::Credential { message, .. }) = &failing else {
        panic!("{failing:?}")
    };
    assert!(message.contains("refresh token revoked"), "{message}");
}

/// Several folders of one mailbox; flagging instead of moving leaves the
/// mail where people read it, and a flagged mail is not taken again.
#[tokio::test]
async fn watches_several_folders_and_can_flag_instead_of_move() {
    let server = Dovecot::start().await;
    let t = fresh(Db::Sqlite).await;
    let mb = Mailbox {
        folders: vec!["INBOX".into(), "Invoices".into()],
        after_import: AfterImport::Flag,
        ..test_mailbox(&t, server.port, Tls::None, None)
    };
    server
        .append("INBOX", pdf_mail("f1", "01_nordlicht_RE-2026-00412.pdf"))
        .await;
    server
        .append("Invoices", pdf_mail("f2", "03_atelier_F2026-0193.pdf"))
        .await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (2, 2));
    assert_eq!(
        (server.count("INBOX").await, server.count("Invoices").await),
        (1, 1),
        "flagged, not moved"
    );
    let mut s = server.session().await;
    s.select("Invoices").await.unwrap();
    let flagged = s.uid_search("KEYWORD $ApflowImported SEEN").await.unwrap();
    assert_eq!(flagged.len(), 1);
    let _ = s.logout().await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (0, 0));
    assert_eq!(
        scalar(&t.url, "SELECT COUNT(DISTINCT folder) FROM mail_ledger").await,
        2
    );
}

/// The server goes down between polls, and renumbers the folder (new
/// UIDVALIDITY): nothing is lost, nothing is imported twice.
#[tokio::test]
async fn server_restart_and_uidvalidity_change_lose_nothing() {
    let mut server = Dovecot::start().await;
    let t = fresh(Db::Sqlite).await;
    let mb = test_mailbox(&t, server.port, Tls::None, None);
    let pdf = sample("01_nordlicht_RE-2026-00412.pdf");
    server
        .append("INBOX", mail("r1", "application/pdf", "a.pdf", &pdf))
        .await;
    // Server down: a clear error, the message stays where it is.
    server.stop();
    let down = poll(&t.store, &t.settings, &mb).await;
    assert!(matches!(down, Err(Error::Connect { .. })), "{down:?}");
    // Back up (same maildir): the message is imported.
    server.restart().await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (1, 1));
    // The message comes back into INBOX after the folder was renumbered:
    // fetched again under the new UIDVALIDITY, still one document.
    server
        .append("INBOX", mail("r1", "application/pdf", "a.pdf", &pdf))
        .await;
    server.doveadm(&[
        "mailbox",
        "update",
        "-u",
        USER,
        "--uid-validity",
        "4242",
        "INBOX",
    ]);
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents, r.already_imported), (1, 1, 0));
    assert_eq!(
        scalar(&t.url, "SELECT COUNT(*) FROM documents").await,
        1,
        "the same invoice is one document"
    );
    assert_eq!(
        scalar(
            &t.url,
            "SELECT COUNT(*) FROM mail_ledger WHERE uid_validity = 4242"
        )
        .await,
        1,
        "the ledger keys messages by the new UIDVALIDITY"
    );
}

/// A configuration file for the binary: one mailbox on `port`, SQLite and
/// the inbox folder in `dir`.
fn write_config(dir: &std::path::Path, port: u16, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("pw"), "secret").unwrap();
    let web = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.display();
    let config = dir.join("apflow.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{d}/apflow.db\"\nbind = \"127.0.0.1:{web}\"\n\
             [inbox]\npath = \"{d}/inbox\"\n\
             [[mailbox]]\nname = \"ap\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             username = \"{USER}\"\npassword_file = \"{d}/pw\"\n{extra}"
        ),
    )
    .unwrap();
    config
}

/// The binary killed right after storing a message's documents, and again
/// right after recording it in the ledger, before the message is moved:
/// after a restart every invoice is there exactly once and the message is
/// moved.
#[tokio::test]
async fn a_killed_capture_imports_each_message_exactly_once() {
    use std::os::unix::process::ExitStatusExt;
    let server = Dovecot::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), server.port, "");
    let url = format!("sqlite://{}/apflow.db", dir.path().display());
    let capture = |failpoint: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_apflow"));
        cmd.arg("--config").arg(&config).args(["capture", "--once"]);
        if let Some(f) = failpoint {
            cmd.env("APFLOW_FAILPOINT", f);
        }
        cmd.output().unwrap()
    };
    for (i, (failpoint, invoice)) in [
        ("mail-stored", "01_nordlicht_RE-2026-00412.pdf"),
        ("mail-recorded", "03_atelier_F2026-0193.pdf"),
    ]
    .into_iter()
    .enumerate()
    {
        server
            .append(
                "INBOX",
                mail(failpoint, "application/pdf", "inv.pdf", &sample(invoice)),
            )
            .await;
        let killed = capture(Some(failpoint));
        assert_eq!(
            killed.status.signal(),
            Some(6),
            "{failpoint}: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        assert_eq!(server.count("INBOX").await, 1, "{failpoint}: not moved yet");
        let again = capture(None);
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_eq!(server.count("INBOX").await, 0, "{failpoint}: moved now");
        let n = i64::try_from(i + 1).unwrap();
        assert_eq!(scalar(&url, "SELECT COUNT(*) FROM documents").await, n);
        assert_eq!(scalar(&url, "SELECT COUNT(*) FROM mail_ledger").await, n);
    }
    assert_eq!(server.count("Processed").await, 2);
}

/// `apflow serve` with an hour between polls: mail arrives within seconds
/// because the watcher waits in IDLE; when the server restarts the watcher
/// reconnects by itself and the next mail arrives too.
#[tokio::test]
async fn serve_picks_up_mail_at_once_with_idle_and_survives_a_server_restart() {
    let mut server = Dovecot::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), server.port, "poll_interval_secs = 3600\n");
    let url = format!("sqlite://{}/apflow.db", dir.path().display());
    let log = dir.path().join("serve.log");
    let _serve = serve(&config, &log);
    let idling = wait_for(Duration::from_secs(30), || {
        let log = log.clone();
        async move {
            // The first pass found nothing; the watcher is waiting now.
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("watching mailbox folder"))
        }
    })
    .await;
    assert!(
        idling,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    server
        .append("INBOX", pdf_mail("i1", "01_nordlicht_RE-2026-00412.pdf"))
        .await;
    assert!(
        wait_documents(&url, 1).await,
        "IDLE did not deliver: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    server.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.restart().await;
    server
        .append("INBOX", pdf_mail("i2", "03_atelier_F2026-0193.pdf"))
        .await;
    assert!(
        wait_documents(&url, 2).await,
        "no reconnect: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log_text.contains("retrying"), "{log_text}");
    assert!(!log_text.contains("secret"), "the password is never logged");
}

/// A server without IDLE is polled at the configured interval.
#[tokio::test]
async fn serve_polls_a_server_without_idle() {
    let server = Dovecot::start_with(Options {
        no_idle: true,
        ..Options::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), server.port, "poll_interval_secs = 1\n");
    let url = format!("sqlite://{}/apflow.db", dir.path().display());
    let log = dir.path().join("serve.log");
    let _serve = serve(&config, &log);
    tokio::time::sleep(Duration::from_secs(2)).await;
    server
        .append("INBOX", pdf_mail("p1", "01_nordlicht_RE-2026-00412.pdf"))
        .await;
    assert!(
        wait_documents(&url, 1).await,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log_text.contains("polling"), "{log_text}");
}

//! Capture from a real IMAP server: a throwaway Dovecot on a loopback port
//! with a test user and a maildir in a temp dir.

use std::process::{Child, Command};
use std::time::Duration;

use apflow::capture::imap::{Mailbox, Tls, poll};
use base64::Engine;

use crate::helpers::{Db, TestDb, fresh, repo_path, wait_for};

struct Dovecot {
    child: Child,
    /// Plain IMAP, STARTTLS offered.
    port: u16,
    /// Implicit TLS.
    tls_port: u16,
    /// The test CA that signed the server certificate.
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "dovecot log:\n{}",
                std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("user {user} exists (install dovecot-imapd: make test-deps)"))
}

/// A small CA and a server certificate for 127.0.0.1 signed by it (rustls
/// rejects a self-signed certificate used directly as the server's).
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=apflow test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

async fn start_dovecot() -> Dovecot {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, tls_port) = (free_port(), free_port());
    make_certificates(dir.path());
    std::fs::write(
        dir.path().join("users"),
        "ap@example.test:{PLAIN}secret::::::\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("mail")).unwrap();
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    let uid = uid_of("dovecot");
    // Dovecot's mail processes run as the dovecot user: they must reach the
    // maildir through the (root-owned, 0700) temp dir.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::chown(dir.path().join("mail"), Some(uid), Some(uid)).unwrap();
    let conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/run\nlog_path = {d}/log\nprotocols = imap\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n\
         disable_plaintext_auth = no\nauth_mechanisms = plain login\ndefault_login_user = dovenull\n\
         default_internal_user = dovecot\ndefault_internal_group = dovecot\nfirst_valid_uid = 1\nmail_location = maildir:{d}/mail/%u\n\
         passdb {{\n driver = passwd-file\n args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
         userdb {{\n driver = static\n args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
         service imap-login {{\n inet_listener imap {{\n address = 127.0.0.1\n port = {port}\n }}\n inet_listener imaps {{\n address = 127.0.0.1\n port = {tls_port}\n ssl = yes\n }}\n chroot =\n}}\n\
         service anvil {{\n chroot =\n}}\n"
    );
    std::fs::write(dir.path().join("dovecot.conf"), conf).unwrap();
    let child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(dir.path().join("dovecot.conf"))
        .spawn()
        .expect("dovecot is installed (make test-deps)");
    let up = wait_for(Duration::from_secs(15), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(
        up,
        "dovecot did not start: {}",
        std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
    );
    let ca = dir.path().join("ca.pem");
    Dovecot {
        child,
        port,
        tls_port,
        ca,
        _dir: dir,
    }
}

async fn session(port: u16) -> async_imap::Session<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    let _ = client.read_response().await;
    client
        .login("ap@example.test", "secret")
        .await
        .map_err(|(e, _)| e)
        .unwrap()
}

fn mail(subject: &str, ctype: &str, name: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "From: billing@vendor.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@vendor.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n--B\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        base64::engine::general_purpose::STANDARD.encode(body)
    )
    .into_bytes()
}

/// Delivers a message the way a mail server would: its own connection.
async fn append(port: u16, message: Vec<u8>) {
    let mut s = session(port).await;
    s.append("INBOX", None, None, message).await.unwrap();
    let _ = s.logout().await;
}

async fn count(port: u16, folder: &str) -> u32 {
    let mut s = session(port).await;
    let n = s.select(folder).await.map(|m| m.exists).unwrap_or(0);
    let _ = s.logout().await;
    n
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
        username: "ap@example.test".into(),
        password_file: secret,
        folder: "INBOX".into(),
        processed_folder: "Processed".into(),
    }
}

#[tokio::test]
async fn imports_each_message_once_and_moves_it() {
    let server = start_dovecot().await;
    let t = fresh(Db::Sqlite).await;
    let mb = test_mailbox(&t, server.port, Tls::None, None);
    let pdf1 = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    let pdf3 = std::fs::read(repo_path("samples/invoices/03_atelier_F2026-0193.pdf")).unwrap();
    append(
        server.port,
        mail("m1", "application/pdf", "RE-2026-00412.pdf", &pdf1),
    )
    .await;
    append(
        server.port,
        mail("m2", "application/octet-stream", "scan.bin", &pdf3),
    )
    .await;
    append(
        server.port,
        mail("m3", "image/png", "logo.png", b"\x89PNG\r\n\x1a\nxx"),
    )
    .await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents, r.already_imported), (3, 2, 0));
    assert_eq!(
        (
            count(server.port, "INBOX").await,
            count(server.port, "Processed").await
        ),
        (0, 3)
    );
    // Nothing new: nothing happens.
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (0, 0));

    // A watcher killed after storing a message's documents but before moving
    // it: the ledger has it, so the next poll moves it without importing.
    append(
        server.port,
        mail("m4", "application/pdf", "again.pdf", &pdf1),
    )
    .await;
    let mut s = session(server.port).await;
    let mailbox = s.select("INBOX").await.unwrap();
    let uids: Vec<u32> = s.uid_search("ALL").await.unwrap().into_iter().collect();
    t.store
        .record_mail_imported(
            "ap",
            mailbox.uid_validity.unwrap(),
            uids[0],
            Some("m4@vendor.example"),
            1,
        )
        .await
        .unwrap();
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents, r.already_imported), (1, 0, 1));
    assert_eq!(count(server.port, "INBOX").await, 0);

    // The same PDF sent again in a new message is the same document.
    append(
        server.port,
        mail("m5", "application/pdf", "resent.pdf", &pdf1),
    )
    .await;
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!(r.documents, 1);
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let docs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(docs, 2, "two distinct PDFs, however often they arrive");
}

/// Implicit TLS and STARTTLS against the server's certificate from a
/// private CA: trusted with `ca_file`, refused without it.
#[tokio::test]
async fn connects_over_tls_and_starttls() {
    let server = start_dovecot().await;
    let t = fresh(Db::Sqlite).await;
    let pdf = std::fs::read(repo_path(
        "samples/invoices/05_tecnoparts_TPI-2026-0318.pdf",
    ))
    .unwrap();
    let mb = |tls, port, ca| test_mailbox(&t, port, tls, ca);
    let untrusted = poll(
        &t.store,
        &t.settings,
        &mb(Tls::Implicit, server.tls_port, None),
    )
    .await;
    assert!(
        matches!(untrusted, Err(apflow::capture::imap::Error::Tls { .. })),
        "{untrusted:?}"
    );
    for (tls, port, subject) in [
        (Tls::Implicit, server.tls_port, "tls"),
        (Tls::StartTls, server.port, "starttls"),
    ] {
        append(
            server.port,
            mail(subject, "application/pdf", "TPI.pdf", &pdf),
        )
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

/// The server restarts between polls, and renumbers the folder (new
/// UIDVALIDITY): nothing is lost, nothing is imported twice.
#[tokio::test]
async fn server_restart_and_uidvalidity_change_lose_nothing() {
    let mut server = start_dovecot().await;
    let t = fresh(Db::Sqlite).await;
    let mb = test_mailbox(&t, server.port, Tls::None, None);
    let pdf = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    append(server.port, mail("r1", "application/pdf", "a.pdf", &pdf)).await;
    // Server down: a clear error, the message stays where it is.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let down = poll(&t.store, &t.settings, &mb).await;
    assert!(
        matches!(down, Err(apflow::capture::imap::Error::Connect { .. })),
        "{down:?}"
    );
    // Back up (same maildir): the message is imported.
    let conf = server._dir.path().join("dovecot.conf");
    server.child = Command::new("dovecot")
        .args(["-F", "-c"])
        .arg(&conf)
        .spawn()
        .unwrap();
    let port = server.port;
    assert!(
        wait_for(Duration::from_secs(15), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await
    );
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents), (1, 1));
    // The message comes back into INBOX after the folder was renumbered:
    // fetched again under the new UIDVALIDITY, still one document.
    append(server.port, mail("r1", "application/pdf", "a.pdf", &pdf)).await;
    let out = Command::new("doveadm")
        .args(["-c"])
        .arg(&conf)
        .args([
            "mailbox",
            "update",
            "-u",
            "ap@example.test",
            "--uid-validity",
            "4242",
            "INBOX",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = poll(&t.store, &t.settings, &mb).await.unwrap();
    assert_eq!((r.messages, r.documents, r.already_imported), (1, 1, 0));
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let docs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(docs, 1, "the same invoice is one document");
    let renumbered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM mail_ledger WHERE uid_validity = 4242")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        renumbered, 1,
        "the ledger keys messages by the new UIDVALIDITY"
    );
}

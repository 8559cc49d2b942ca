//! A throwaway Dovecot for tests and the backlog benchmark (which includes
//! this file with `#[path]`): root starts it in the foreground with a
//! passwd-file user, a maildir under a temp dir, plain IMAP (STARTTLS
//! offered) and implicit TLS on loopback ports, a certificate from a test
//! CA, and optionally XOAUTH2 checked against a token-info URL.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::Engine;

pub const USER: &str = "ap@example.test";
pub const PASSWORD: &str = "secret";

pub struct Dovecot {
    pub child: Child,
    /// Plain IMAP, STARTTLS offered.
    pub port: u16,
    /// Implicit TLS.
    pub tls_port: u16,
    /// The test CA that signed the server certificate.
    pub ca: PathBuf,
    pub dir: tempfile::TempDir,
}

/// What the server offers besides password login.
#[derive(Default)]
pub struct Options {
    /// XOAUTH2: tokens are checked by a GET to this URL + token.
    pub tokeninfo_url: Option<String>,
    /// Leave IDLE out of the capabilities (a server without it).
    pub no_idle: bool,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "dovecot log:\n{}",
                std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
            );
        }
        self.stop();
    }
}

impl Dovecot {
    pub async fn start() -> Dovecot {
        Dovecot::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        let (port, tls_port) = (free_port(), free_port());
        make_certificates(dir.path());
        write_config(dir.path(), port, tls_port, &options);
        let mut server = Dovecot {
            child: Command::new("true").spawn().expect("true"),
            port,
            tls_port,
            ca: dir.path().join("ca.pem"),
            dir,
        };
        server.restart().await;
        server
    }

    /// Takes the server down hard, as a crash or a reboot would: the master
    /// and every process it started (login, auth, and the per-session imap
    /// processes, which would otherwise outlive the master), so every open
    /// connection drops.
    pub fn stop(&mut self) {
        let children = children_of(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in children {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }

    /// Starts the server (again) on the same maildir and ports.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = Command::new("dovecot")
            .args(["-F", "-c"])
            .arg(self.dir.path().join("dovecot.conf"))
            .spawn()
            .expect("dovecot is installed (make test-deps)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "dovecot did not start: {}",
                std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `doveadm` against this server's configuration.
    pub fn doveadm(&self, args: &[&str]) {
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .args(args)
            .output()
            .expect("doveadm");
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let mut client = async_imap::Client::new(tcp);
        let _ = client.read_response().await;
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// Delivers a message the way a mail server would: its own connection.
    pub async fn append(&self, folder: &str, message: Vec<u8>) {
        let mut s = self.session().await;
        let _ = s.create(folder).await;
        s.append(folder, None, None, message).await.expect("append");
        let _ = s.logout().await;
    }

    /// Messages in `folder` (0 when it does not exist).
    pub async fn count(&self, folder: &str) -> u32 {
        let mut s = self.session().await;
        let n = s.select(folder).await.map(|m| m.exists).unwrap_or(0);
        let _ = s.logout().await;
        n
    }
}

/// A message from a vendor with one base64 attachment.
pub fn mail(subject: &str, ctype: &str, name: &str, body: &[u8]) -> Vec<u8> {
    format!(
        "From: billing@vendor.example\r\nSubject: {subject}\r\nMessage-ID: <{subject}@vendor.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n--B\r\nContent-Type: {ctype}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        base64::engine::general_purpose::STANDARD.encode(body)
    )
    .into_bytes()
}

/// Processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let child: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid ...; comm may contain spaces.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == pid).then_some(child)
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn uid_of(user: &str) -> u32 {
    let out = Command::new("id").args(["-u", user]).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("user {user} exists (install dovecot-imapd: make test-deps)"))
}

fn write_config(dir: &Path, port: u16, tls_port: u16, options: &Options) {
    let d = dir.display();
    std::fs::write(
        dir.join("users"),
        format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
    )
    .expect("users");
    std::fs::create_dir_all(dir.join("mail")).expect("mail dir");
    std::fs::create_dir_all(dir.join("run")).expect("run dir");
    // Dovecot's mail processes run as the dovecot user: they must reach the
    // maildir through the (root-owned, 0700) temp dir.
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let uid = uid_of("dovecot");
    std::os::unix::fs::chown(dir.join("mail"), Some(uid), Some(uid)).expect("chown");
    let mut mechanisms = "plain login".to_string();
    let mut oauth = String::new();
    if let Some(url) = &options.tokeninfo_url {
        mechanisms.push_str(" xoauth2");
        std::fs::write(
            dir.join("oauth2.conf"),
            format!(
                "tokeninfo_url = {url}\nintrospection_mode = get\nusername_attribute = email\n"
            ),
        )
        .expect("oauth2 config");
        oauth = format!(
            "passdb {{\n driver = oauth2\n mechanisms = xoauth2\n args = {d}/oauth2.conf\n}}\n"
        );
    }
    let capability = if options.no_idle {
        "imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS MOVE NAMESPACE\n"
    } else {
        ""
    };
    let conf = format!(
        "base_dir = {d}/run\nstate_dir = {d}/run\nlog_path = {d}/log\nprotocols = imap\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n\
         disable_plaintext_auth = no\nauth_mechanisms = {mechanisms}\ndefault_login_user = dovenull\n\
         default_internal_user = dovecot\ndefault_internal_group = dovecot\nfirst_valid_uid = 1\nmail_location = maildir:{d}/mail/%u\n{capability}\
         {oauth}passdb {{\n driver = passwd-file\n args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
         userdb {{\n driver = static\n args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
         service imap-login {{\n inet_listener imap {{\n address = 127.0.0.1\n port = {port}\n }}\n inet_listener imaps {{\n address = 127.0.0.1\n port = {tls_port}\n ssl = yes\n }}\n chroot =\n}}\n\
         service anvil {{\n chroot =\n}}\n"
    );
    std::fs::write(dir.join("dovecot.conf"), conf).expect("config");
}

/// A small CA and a server certificate for 127.0.0.1 signed by it (rustls
/// rejects a self-signed certificate used directly as the server's).
fn make_certificates(dir: &Path) {
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
    .expect("san.ext");
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

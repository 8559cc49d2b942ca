//! Opening an authenticated IMAP session: TCP, then implicit TLS, STARTTLS
//! or nothing, then LOGIN with a password or AUTHENTICATE XOAUTH2 with a
//! bearer token. Every transport ends up as one boxed stream so the rest
//! of the watcher is written once.

use std::time::Duration;

use tokio::net::TcpStream;

use super::{Credential, Error, Mailbox, Tls};

/// Any byte stream async-imap can drive.
pub trait Io:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + std::fmt::Debug
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + std::fmt::Debug> Io for T {}

/// An authenticated session, whatever the transport.
pub type Session = async_imap::Session<Box<dyn Io>>;

/// A server that does not answer within this long is treated as gone.
pub const NETWORK_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a token command may take (it may refresh a token over the
/// network).
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What the credential yields at connection time. Never logged.
enum Secret {
    Password(String),
    Bearer(String),
}

/// Connects, secures and authenticates.
pub async fn connect(mb: &Mailbox) -> Result<Session, Error> {
    // The secret is read at each connection: a rotated password or a
    // refreshed token takes effect without a restart.
    let secret = read_secret(mb).await?;
    let addr = format!("{}:{}", mb.host, mb.port);
    let connect_err = |source| Error::Connect {
        mailbox: mb.name.clone(),
        addr: addr.clone(),
        source,
    };
    let mut tcp = tokio::time::timeout(NETWORK_TIMEOUT, TcpStream::connect(&addr))
        .await
        .map_err(|_| connect_err(std::io::ErrorKind::TimedOut.into()))?
        .map_err(connect_err)?;
    let stream: Box<dyn Io> = match mb.tls {
        Tls::None => Box::new(tcp),
        Tls::Implicit => Box::new(tls_handshake(mb, tcp).await?),
        Tls::StartTls => {
            starttls(&mut tcp)
                .await
                .map_err(|message| tls_error(mb, message))?;
            Box::new(tls_handshake(mb, tcp).await?)
        }
    };
    let mut client = async_imap::Client::new(stream);
    if mb.tls != Tls::StartTls {
        // The server greets first (after STARTTLS it sends no second one).
        let greeting = tokio::time::timeout(NETWORK_TIMEOUT, client.read_response()).await;
        if !matches!(greeting, Ok(Some(Ok(_)))) {
            return Err(Error::Imap {
                mailbox: mb.name.clone(),
                step: "greeting",
                message: "the server sent no greeting".into(),
            });
        }
    }
    let auth = async {
        match &secret {
            Secret::Password(p) => client.login(&mb.username, p).await.map_err(|(e, _)| e),
            Secret::Bearer(token) => client
                .authenticate(
                    "XOAUTH2",
                    XOAuth2 {
                        user: &mb.username,
                        token,
                        sent: false,
                    },
                )
                .await
                .map_err(|(e, _)| e),
        }
    };
    let step = match secret {
        Secret::Password(_) => "LOGIN",
        Secret::Bearer(_) => "AUTHENTICATE XOAUTH2",
    };
    match tokio::time::timeout(NETWORK_TIMEOUT, auth).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(Error::Imap {
            mailbox: mb.name.clone(),
            step,
            message: e.to_string(),
        }),
        Err(_) => Err(Error::Imap {
            mailbox: mb.name.clone(),
            step,
            message: "timed out".into(),
        }),
    }
}

/// The SASL XOAUTH2 exchange (Gmail, Microsoft 365): one message with the
/// user and the bearer token; if the server answers with an error
/// challenge (a JSON status), an empty reply ends the exchange so the
/// server can send its tagged NO.
struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
    sent: bool,
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            String::new()
        } else {
            format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
        }
    }
}

async fn read_secret(mb: &Mailbox) -> Result<Secret, Error> {
    let err = |what: String, message: String| Error::Credential {
        mailbox: mb.name.clone(),
        what,
        message,
    };
    let nonempty = |what: String, value: String| {
        let value = value.trim().to_string();
        if value.is_empty() {
            Err(err(what, "is empty".into()))
        } else {
            Ok(value)
        }
    };
    match &mb.credential {
        Credential::PasswordFile(path) => {
            let what = format!("password file {}", path.display());
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| err(what.clone(), e.to_string()))?;
            nonempty(what, text).map(Secret::Password)
        }
        Credential::PasswordEnv(var) => {
            let what = format!("environment variable {var}");
            let text = std::env::var(var).map_err(|e| err(what.clone(), e.to_string()))?;
            nonempty(what, text).map(Secret::Password)
        }
        Credential::TokenFile(path) => {
            let what = format!("token file {}", path.display());
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| err(what.clone(), e.to_string()))?;
            nonempty(what, text).map(Secret::Bearer)
        }
        Credential::TokenCommand(command) => {
            let what = "token command".to_string();
            let run = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output();
            let out = tokio::time::timeout(TOKEN_COMMAND_TIMEOUT, run)
                .await
                .map_err(|_| err(what.clone(), "timed out".into()))?
                .map_err(|e| err(what.clone(), e.to_string()))?;
            if !out.status.success() {
                // Its stderr says why (expired refresh token, ...); the
                // token itself only ever goes to stdout.
                let why: String = String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect();
                return Err(err(what, format!("exited with {}: {why}", out.status)));
            }
            let token = String::from_utf8(out.stdout)
                .map_err(|_| err(what.clone(), "printed something that is not text".into()))?;
            nonempty(what, token).map(Secret::Bearer)
        }
    }
}

fn tls_error(mb: &Mailbox, message: String) -> Error {
    Error::Tls {
        mailbox: mb.name.clone(),
        host: mb.host.clone(),
        message,
    }
}

/// Reads the greeting and upgrades with `STARTTLS`, on the raw stream.
async fn starttls(tcp: &mut TcpStream) -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let exchange = async {
        let mut reader = BufReader::new(&mut *tcp);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if !line.starts_with("* OK") {
            return Err(format!("unexpected greeting {:?}", line.trim()));
        }
        reader
            .get_mut()
            .write_all(b"a0 STARTTLS\r\n")
            .await
            .map_err(|e| e.to_string())?;
        loop {
            line.clear();
            if reader
                .read_line(&mut line)
                .await
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("connection closed during STARTTLS".into());
            }
            if let Some(rest) = line.strip_prefix("a0 ") {
                if !reader.buffer().is_empty() {
                    return Err(
                        "server sent data after STARTTLS (refusing a possible injection)".into(),
                    );
                }
                return if rest.starts_with("OK") {
                    Ok(())
                } else {
                    Err(format!("server refused STARTTLS: {}", rest.trim()))
                };
            }
        }
    };
    tokio::time::timeout(NETWORK_TIMEOUT, exchange)
        .await
        .map_err(|_| "timed out during STARTTLS".to_string())?
}

async fn tls_handshake(
    mb: &Mailbox,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    use rustls_pki_types::pem::PemObject;
    let tls_err = |message: String| tls_error(mb, message);
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = &mb.ca_file {
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| tls_err(format!("cannot read {}: {e}", ca.display())))?
        {
            let cert =
                cert.map_err(|e| tls_err(format!("bad certificate in {}: {e}", ca.display())))?;
            roots
                .add(cert)
                .map_err(|e| tls_err(format!("unusable certificate in {}: {e}", ca.display())))?;
        }
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(mb.host.clone())
        .map_err(|e| tls_err(format!("bad host name: {e}")))?;
    let handshake =
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp);
    tokio::time::timeout(NETWORK_TIMEOUT, handshake)
        .await
        .map_err(|_| tls_err("timed out during the handshake".into()))?
        .map_err(|e| tls_err(e.to_string()))
}

//! Mailboxes over IMAP: fetch every message in the watched folder, store
//! its documents, record it in the ledger (mailbox + UIDVALIDITY + UID),
//! then move it to the processed folder. The order is what makes it safe: a
//! message is acted on only after its documents are stored, and a crash
//! between storing and moving leaves a ledger entry, so the next poll moves
//! it without importing it again.
//!
//! Connections use implicit TLS, STARTTLS or (on a trusted local link)
//! none, with rustls: the public web roots plus an optional extra CA file.
//! XOAUTH2 and IDLE are still to come (issue 3).

use std::path::PathBuf;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tracing::{info, warn};

use super::mail::{MailLimits, documents_from_message};
use crate::config::Settings;
use crate::domain::{RawDocument, Source};
use crate::store::Store;
use crate::workflow;

/// How to connect to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS before login (port 143).
    StartTls,
    /// No encryption: only for a server on a trusted local link.
    None,
}

/// One watched mailbox folder.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Extra trust root (PEM) for a private CA, besides the public roots.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    /// Read at each connection; never logged.
    pub password_file: PathBuf,
    pub folder: String,
    pub processed_folder: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("mailbox {mailbox}: cannot connect to {addr}")]
    Connect {
        mailbox: String,
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mailbox {mailbox}: cannot read the password file {path}")]
    Password {
        mailbox: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("mailbox {mailbox}: TLS with {host} failed: {message}")]
    Tls {
        mailbox: String,
        host: String,
        message: String,
    },
    #[error("mailbox {mailbox}: IMAP {step} failed: {message}")]
    Imap {
        mailbox: String,
        step: &'static str,
        message: String,
    },
    #[error("mailbox {mailbox}: storing a document failed")]
    Store {
        mailbox: String,
        #[source]
        source: workflow::Error,
    },
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub messages: usize,
    pub documents: usize,
    /// Messages already in the ledger (moved now, not imported again).
    pub already_imported: usize,
}

/// Polls one mailbox folder once.
pub async fn poll(store: &Store, settings: &Settings, mb: &Mailbox) -> Result<PollReport, Error> {
    let addr = format!("{}:{}", mb.host, mb.port);
    let password = tokio::fs::read_to_string(&mb.password_file)
        .await
        .map_err(|source| Error::Password {
            mailbox: mb.name.clone(),
            path: mb.password_file.display().to_string(),
            source,
        })?;
    let connect_err = |source| Error::Connect {
        mailbox: mb.name.clone(),
        addr: addr.clone(),
        source,
    };
    let mut tcp = TcpStream::connect(&addr).await.map_err(connect_err)?;
    match mb.tls {
        Tls::None => {
            let mut client = async_imap::Client::new(tcp);
            // The server greets first.
            let _ = client.read_response().await;
            run(client, store, settings, mb, password.trim()).await
        }
        Tls::Implicit => {
            let tls = tls_handshake(mb, tcp).await?;
            let mut client = async_imap::Client::new(tls);
            let _ = client.read_response().await;
            run(client, store, settings, mb, password.trim()).await
        }
        Tls::StartTls => {
            starttls(&mut tcp).await.map_err(|message| Error::Tls {
                mailbox: mb.name.clone(),
                host: mb.host.clone(),
                message,
            })?;
            // After STARTTLS the server sends no second greeting.
            let tls = tls_handshake(mb, tcp).await?;
            run(
                async_imap::Client::new(tls),
                store,
                settings,
                mb,
                password.trim(),
            )
            .await
        }
    }
}

/// Reads the greeting and upgrades with `STARTTLS`, on the raw stream.
async fn starttls(tcp: &mut TcpStream) -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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
}

async fn tls_handshake(
    mb: &Mailbox,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    use rustls_pki_types::pem::PemObject;
    let tls_err = |message: String| Error::Tls {
        mailbox: mb.name.clone(),
        host: mb.host.clone(),
        message,
    };
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
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| tls_err(e.to_string()))
}

/// Logs in and imports the folder, on any transport.
async fn run<T>(
    client: async_imap::Client<T>,
    store: &Store,
    settings: &Settings,
    mb: &Mailbox,
    password: &str,
) -> Result<PollReport, Error>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let imap_err = |step: &'static str| {
        let mailbox = mb.name.clone();
        move |e: async_imap::error::Error| Error::Imap {
            mailbox: mailbox.clone(),
            step,
            message: e.to_string(),
        }
    };
    let mut session = client
        .login(&mb.username, password)
        .await
        .map_err(|(e, _)| imap_err("LOGIN")(e))?;
    let folder = session
        .select(&mb.folder)
        .await
        .map_err(imap_err("SELECT"))?;
    let uid_validity = folder.uid_validity.unwrap_or(0);
    let mut uids: Vec<u32> = session
        .uid_search("ALL")
        .await
        .map_err(imap_err("UID SEARCH"))?
        .into_iter()
        .collect();
    uids.sort_unstable();
    // The processed folder may not exist yet.
    let _ = session.create(&mb.processed_folder).await;
    let mut report = PollReport::default();
    for uid in uids {
        report.messages += 1;
        if !store
            .mail_imported(&mb.name, uid_validity, uid)
            .await
            .map_err(|e| Error::Store {
                mailbox: mb.name.clone(),
                source: e.into(),
            })?
        {
            let raw = {
                let mut fetch = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await
                    .map_err(imap_err("UID FETCH"))?;
                let mut body = None;
                while let Some(item) = fetch.next().await {
                    let item = item.map_err(imap_err("UID FETCH"))?;
                    if let Some(b) = item.body() {
                        body = Some(b.to_vec());
                    }
                }
                body
            };
            let Some(raw) = raw else {
                warn!(mailbox = %mb.name, uid, "message has no body; left in place");
                continue;
            };
            let stored = import_message(store, settings, mb, &raw).await?;
            report.documents += stored.0;
            store
                .record_mail_imported(&mb.name, uid_validity, uid, stored.1.as_deref(), stored.0)
                .await
                .map_err(|e| Error::Store {
                    mailbox: mb.name.clone(),
                    source: e.into(),
                })?;
            info!(mailbox = %mb.name, uid, documents = stored.0, "mail imported");
        } else {
            report.already_imported += 1;
        }
        session
            .uid_mv(uid.to_string(), &mb.processed_folder)
            .await
            .map_err(imap_err("UID MOVE"))?;
    }
    let _ = session.logout().await;
    Ok(report)
}

/// Stores the documents of one message; returns how many and its Message-ID.
async fn import_message(
    store: &Store,
    settings: &Settings,
    mb: &Mailbox,
    raw: &[u8],
) -> Result<(usize, Option<String>), Error> {
    let contents = match documents_from_message(raw, &MailLimits::default()) {
        Ok(c) => c,
        Err(e) => {
            warn!(mailbox = %mb.name, error = %e, "not a parsable message; moved to the processed folder");
            return Ok((0, None));
        }
    };
    for s in &contents.skipped {
        info!(mailbox = %mb.name, part = %s.path, reason = %s.reason, "mail part skipped");
    }
    let p = &contents.provenance;
    for doc in &contents.documents {
        let source = Source::Mail {
            path: doc.path.clone(),
            from: p.from.clone(),
            subject: p.subject.clone(),
            message_id: p.message_id.clone(),
        };
        let raw = RawDocument {
            filename: doc.path.rsplit('/').next().unwrap_or_default().to_string(),
            bytes: doc.bytes.clone(),
            source,
        };
        workflow::receive_document(store, &raw, settings)
            .await
            .map_err(|source| Error::Store {
                mailbox: mb.name.clone(),
                source,
            })?;
    }
    Ok((contents.documents.len(), p.message_id.clone()))
}

//! Mailboxes over IMAP: fetch every message in the watched folder, store
//! its documents, record it in the ledger (mailbox + UIDVALIDITY + UID),
//! then move it to the processed folder. The order is what makes it safe: a
//! message is acted on only after its documents are stored, and a crash
//! between storing and moving leaves a ledger entry, so the next poll moves
//! it without importing it again.
//!
//! This first version polls over plain TCP; TLS (implicit and STARTTLS),
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
    None,
}

/// One watched mailbox folder.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
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
    let imap_err = |step: &'static str| {
        let mailbox = mb.name.clone();
        move |e: async_imap::error::Error| Error::Imap {
            mailbox: mailbox.clone(),
            step,
            message: e.to_string(),
        }
    };
    let addr = format!("{}:{}", mb.host, mb.port);
    let password = tokio::fs::read_to_string(&mb.password_file)
        .await
        .map_err(|source| Error::Password {
            mailbox: mb.name.clone(),
            path: mb.password_file.display().to_string(),
            source,
        })?;
    let tcp = TcpStream::connect(&addr)
        .await
        .map_err(|source| Error::Connect {
            mailbox: mb.name.clone(),
            addr: addr.clone(),
            source,
        })?;
    let mut client = async_imap::Client::new(tcp);
    // The server greets first.
    let _ = client.read_response().await;
    let mut session = client
        .login(&mb.username, password.trim())
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

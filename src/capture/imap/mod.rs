//! Mailboxes over IMAP: fetch every message in each watched folder, store
//! its documents, record it in the ledger (mailbox + folder + UIDVALIDITY +
//! UID), then move it to the processed folder or flag it. The order is what
//! makes it safe: a message is acted on only after its documents are
//! stored, and a crash between storing and acting leaves a ledger entry, so
//! the next pass acts on it without importing it again. A crash before the
//! ledger entry imports it again, and the content hash makes that the same
//! document.
//!
//! `connect` opens the session (TLS, STARTTLS, LOGIN, XOAUTH2); `watch`
//! keeps one folder drained with IDLE or polling and reconnects with
//! backoff; `poll` is one pass over every folder, for `capture --once`.

mod connect;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use tracing::{info, warn};

use super::mail::{MailLimits, MailProvenance, documents_from_message};
use crate::config::Settings;
use crate::store::Store;
use crate::workflow;
pub use connect::{NETWORK_TIMEOUT, Session, connect};
pub use watch::{Backoff, watch};

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

/// Where the secret comes from. Read at each connection, never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A file holding the password (trailing whitespace ignored).
    PasswordFile(PathBuf),
    /// An environment variable holding the password.
    PasswordEnv(String),
    /// A file holding an OAuth2 access token, kept fresh by another tool
    /// (XOAUTH2, for Gmail and Microsoft 365).
    TokenFile(PathBuf),
    /// A shell command that prints a fresh OAuth2 access token.
    TokenCommand(String),
}

/// What happens to a message once its documents are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterImport {
    /// Move it to this folder (created if missing).
    Move(String),
    /// Leave it where it is, marked `\Seen` and with the keyword
    /// [`IMPORTED_KEYWORD`], for mailboxes people also read.
    Flag,
}

/// The keyword set on imported messages in `AfterImport::Flag` mode; the
/// search for new mail skips messages that carry it.
pub const IMPORTED_KEYWORD: &str = "$ApflowImported";

/// One mailbox and the folders watched in it.
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Extra trust root (PEM) for a private CA, besides the public roots.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub credential: Credential,
    pub folders: Vec<String>,
    pub after_import: AfterImport,
    /// Use IDLE when the server offers it (otherwise poll).
    pub idle: bool,
    /// How often to look for mail without IDLE; with IDLE, the longest
    /// wait before looking anyway.
    pub poll_interval: Duration,
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
    #[error("mailbox {mailbox}: cannot use the {what}: {message}")]
    Credential {
        mailbox: String,
        what: String,
        message: String,
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

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollReport {
    pub messages: usize,
    pub documents: usize,
    /// Messages already in the ledger (moved or flagged now, not imported
    /// again).
    pub already_imported: usize,
}

impl std::ops::AddAssign for PollReport {
    fn add_assign(&mut self, other: PollReport) {
        self.messages += other.messages;
        self.documents += other.documents;
        self.already_imported += other.already_imported;
    }
}

/// One pass over every folder of a mailbox, on one connection.
pub async fn poll(store: &Store, settings: &Settings, mb: &Mailbox) -> Result<PollReport, Error> {
    let mut session = connect(mb).await?;
    let server = Server::learn(&mut session, mb).await?;
    let mut report = PollReport::default();
    for folder in &mb.folders {
        report += drain(&mut session, &server, store, settings, mb, folder, None).await?;
    }
    let _ = tokio::time::timeout(NETWORK_TIMEOUT, session.logout()).await;
    Ok(report)
}

/// What a connection's server offers, asked once per connection.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    pub idle: bool,
    /// UID MOVE (RFC 6851); without it a message is copied and expunged.
    pub moves: bool,
}

impl Server {
    /// Asks for the capabilities and makes sure the processed folder
    /// exists (CREATE fails harmlessly when it does).
    pub async fn learn(session: &mut Session, mb: &Mailbox) -> Result<Server, Error> {
        let caps = step(mb, "CAPABILITY", session.capabilities()).await?;
        if let AfterImport::Move(target) = &mb.after_import {
            let _ = step(mb, "CREATE", session.create(target)).await;
        }
        Ok(Server {
            idle: caps.has_str("IDLE"),
            moves: caps.has_str("MOVE"),
        })
    }
}

/// Runs one IMAP command with the network timeout, naming the step in
/// the error.
async fn step<T>(
    mb: &Mailbox,
    step: &'static str,
    fut: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, Error> {
    let message = match tokio::time::timeout(NETWORK_TIMEOUT, fut).await {
        Ok(Ok(v)) => return Ok(v),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_string(),
    };
    Err(Error::Imap {
        mailbox: mb.name.clone(),
        step,
        message,
    })
}

/// Imports every new message of `folder` and moves or flags it. Stops
/// early, between messages, when `stop` is cancelled.
pub async fn drain(
    session: &mut Session,
    server: &Server,
    store: &Store,
    settings: &Settings,
    mb: &Mailbox,
    folder: &str,
    stop: Option<&tokio_util::sync::CancellationToken>,
) -> Result<PollReport, Error> {
    let store_err = |e: crate::store::Error| Error::Store {
        mailbox: mb.name.clone(),
        source: e.into(),
    };
    let selected = step(mb, "SELECT", session.select(folder)).await?;
    let uid_validity = selected.uid_validity.unwrap_or(0);
    let query = match mb.after_import {
        AfterImport::Move(_) => "ALL".to_string(),
        AfterImport::Flag => format!("UNKEYWORD {IMPORTED_KEYWORD}"),
    };
    let mut uids: Vec<u32> = step(mb, "UID SEARCH", session.uid_search(&query))
        .await?
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut report = PollReport::default();
    if uids.is_empty() {
        return Ok(report);
    }
    for uid in uids {
        if stop.is_some_and(|t| t.is_cancelled()) {
            break;
        }
        report.messages += 1;
        if store
            .mail_imported(&mb.name, folder, uid_validity, uid)
            .await
            .map_err(store_err)?
        {
            report.already_imported += 1;
        } else {
            let Some(raw) = fetch(session, mb, uid).await? else {
                warn!(mailbox = %mb.name, folder, uid, "message has no body; left in place");
                continue;
            };
            let (documents, message_id) = import_message(store, settings, mb, &raw).await?;
            crate::failpoint::hit("mail-stored");
            report.documents += documents;
            store
                .record_mail_imported(
                    &mb.name,
                    folder,
                    uid_validity,
                    uid,
                    message_id.as_deref(),
                    documents,
                )
                .await
                .map_err(store_err)?;
            crate::failpoint::hit("mail-recorded");
            info!(mailbox = %mb.name, folder, uid, documents, "mail imported");
        }
        done_with(session, mb, uid, server.moves).await?;
    }
    Ok(report)
}

/// The whole message, without setting `\Seen` (a failed import must leave
/// the mail as the user last saw it).
async fn fetch(session: &mut Session, mb: &Mailbox, uid: u32) -> Result<Option<Vec<u8>>, Error> {
    let collect = async {
        let mut fetch = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
        let mut body = None;
        while let Some(item) = fetch.next().await {
            if let Some(b) = item?.body() {
                body = Some(b.to_vec());
            }
        }
        Ok(body)
    };
    step(mb, "UID FETCH", collect).await
}

/// Moves or flags a message whose documents are stored.
async fn done_with(
    session: &mut Session,
    mb: &Mailbox,
    uid: u32,
    can_move: bool,
) -> Result<(), Error> {
    let uid_set = uid.to_string();
    match &mb.after_import {
        AfterImport::Move(target) if can_move => {
            step(mb, "UID MOVE", session.uid_mv(&uid_set, target)).await
        }
        AfterImport::Move(target) => {
            // Servers without MOVE (RFC 6851): copy, mark deleted, expunge
            // just this message.
            step(mb, "UID COPY", session.uid_copy(&uid_set, target)).await?;
            store_flags(session, mb, &uid_set, "+FLAGS.SILENT (\\Deleted)").await?;
            let expunge = async {
                let mut s = std::pin::pin!(session.uid_expunge(&uid_set).await?);
                while let Some(r) = s.next().await {
                    r?;
                }
                Ok(())
            };
            step(mb, "UID EXPUNGE", expunge).await
        }
        AfterImport::Flag => {
            let flags = format!("+FLAGS.SILENT (\\Seen {IMPORTED_KEYWORD})");
            store_flags(session, mb, &uid_set, &flags).await
        }
    }
}

async fn store_flags(
    session: &mut Session,
    mb: &Mailbox,
    uid_set: &str,
    query: &str,
) -> Result<(), Error> {
    let store = async {
        let mut s = session.uid_store(uid_set, query).await?;
        while let Some(r) = s.next().await {
            r?;
        }
        Ok(())
    };
    step(mb, "UID STORE", store).await
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
            warn!(mailbox = %mb.name, error = %e, "not a parsable message; set aside without documents");
            return Ok((0, None));
        }
    };
    for s in &contents.skipped {
        info!(mailbox = %mb.name, part = %s.path, reason = %s.reason, "mail part skipped");
    }
    let found = contents.documents.len();
    let message_id = contents.provenance.message_id.clone();
    for raw in contents.into_raw_documents(MailProvenance::source_of) {
        workflow::receive_document(store, &raw, settings)
            .await
            .map_err(|source| Error::Store {
                mailbox: mb.name.clone(),
                source,
            })?;
    }
    Ok((found, message_id))
}

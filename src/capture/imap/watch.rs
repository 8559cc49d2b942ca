//! Keeping one folder drained for as long as the service runs: drain, then
//! wait in IDLE (new mail wakes us at once) or sleep for the poll interval
//! when the server has no IDLE, and drain again. Any network or server
//! error drops the connection and reconnects after a growing pause, so a
//! server that is down is not hammered and one that comes back is used
//! again within minutes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Error, Mailbox, NETWORK_TIMEOUT, Session, connect, drain};
use crate::config::Settings;
use crate::store::Store;

/// RFC 2177 asks clients to re-issue IDLE at least every 29 minutes.
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

/// Pauses between reconnection attempts: doubling from `first` up to
/// `max`, back to `first` after a connection that worked.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The pause before the next attempt; each call doubles the one after.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(self.max);
        pause
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(5 * 60))
    }
}

/// Watches one folder of `mb` until `token` is cancelled.
pub async fn watch(
    store: Store,
    settings: Settings,
    mb: Mailbox,
    folder: String,
    token: CancellationToken,
) {
    let mut backoff = Backoff::default();
    info!(mailbox = %mb.name, %folder, "watching mailbox folder");
    while !token.is_cancelled() {
        let outcome = session(&store, &settings, &mb, &folder, &token, &mut backoff).await;
        let Err(e) = outcome else { break };
        let pause = backoff.next_pause();
        warn!(
            mailbox = %mb.name,
            %folder,
            error = %crate::workflow::error_chain(&e),
            retry_in_s = pause.as_secs(),
            "mailbox connection failed; retrying"
        );
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    info!(mailbox = %mb.name, %folder, "stopped watching mailbox folder");
}

/// One connection's life: returns `Ok` when cancelled, `Err` when the
/// connection or the server failed.
async fn session(
    store: &Store,
    settings: &Settings,
    mb: &Mailbox,
    folder: &str,
    token: &CancellationToken,
    backoff: &mut Backoff,
) -> Result<(), Error> {
    let mut session = connect(mb).await?;
    let server = super::Server::learn(&mut session, mb).await?;
    let idle = mb.idle && server.idle;
    if idle {
        info!(mailbox = %mb.name, folder, "connected; waiting for mail with IDLE");
    } else {
        info!(mailbox = %mb.name, folder, every_s = mb.poll_interval.as_secs(), "connected; polling for mail");
    }
    loop {
        let report = drain(
            &mut session,
            &server,
            store,
            settings,
            mb,
            folder,
            Some(token),
        )
        .await?;
        // A full pass worked: the next failure starts the pauses afresh.
        backoff.reset();
        if report.messages > 0 {
            info!(mailbox = %mb.name, folder, messages = report.messages, documents = report.documents, "mailbox drained");
        }
        // Responses the server volunteered (EXISTS, FETCH) are not needed:
        // every pass searches afresh.
        while session.unsolicited_responses.try_recv().is_ok() {}
        let woke = if idle {
            wait_idle(session, mb, token).await?
        } else {
            tokio::select! {
                _ = token.cancelled() => None,
                _ = tokio::time::sleep(mb.poll_interval) => Some(session),
            }
        };
        match woke {
            Some(s) => session = s,
            None => return Ok(()),
        }
    }
}

/// Waits in IDLE until the server reports a change, the poll interval
/// passes, or `token` is cancelled (then `None`, logged out).
async fn wait_idle(
    session: Session,
    mb: &Mailbox,
    token: &CancellationToken,
) -> Result<Option<Session>, Error> {
    let mut handle = session.idle();
    super::step(mb, "IDLE", handle.init()).await?;
    let cancelled = {
        let (wait, _stop) = handle.wait_with_timeout(mb.poll_interval.min(MAX_IDLE));
        tokio::select! {
            r = wait => {
                // A dropped connection ends the wait too; DONE below then
                // fails and the watcher reconnects.
                r.map_err(|e| Error::Imap { mailbox: mb.name.clone(), step: "IDLE", message: e.to_string() })?;
                false
            }
            _ = token.cancelled() => true,
        }
    };
    let mut session = super::step(mb, "DONE", handle.done()).await?;
    if cancelled {
        let _ = tokio::time::timeout(NETWORK_TIMEOUT, session.logout()).await;
        return Ok(None);
    }
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let pauses: Vec<u64> = (0..5).map(|_| b.next_pause().as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 5, 5]);
        b.reset();
        assert_eq!(b.next_pause(), Duration::from_secs(1));
    }
}

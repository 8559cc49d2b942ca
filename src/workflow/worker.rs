//! Workers: claim a job, run it, record the outcome; repeat until told to
//! stop. Shutdown takes no new job, lets the running one finish within a
//! grace period, and otherwise hands it back to the queue so another worker
//! (or the next start) picks it up.
//!
//! While a job runs, its worker renews the lease every quarter lease (the
//! heartbeat), so the lease can be short (seconds): a job whose lease ran
//! out belongs to a process that is gone or stalled, and another worker
//! takes it over within one lease instead of waiting minutes. A live worker
//! keeps its job as long as the job's time limit allows, however long the
//! document takes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use super::{Metrics, run_job};
use crate::config::Settings;
use crate::domain::DocumentId;
use crate::store::{Job, Store};

/// How long a running job may take to finish once shutdown began.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Idle wait between polls of an empty queue.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Backoff before retry `attempt` (1-based): 2 s, 4 s, 8 s, ... capped at
/// ten minutes.
pub fn backoff(attempt: i64) -> Duration {
    let exp = u32::try_from(attempt.clamp(1, 9)).unwrap_or(9);
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(600))
}

/// Starts `settings.workers` workers on `tracker`; they stop when `token`
/// is cancelled.
pub fn run_workers(
    store: &Store,
    settings: &Settings,
    metrics: &Arc<Metrics>,
    token: &CancellationToken,
    tracker: &TaskTracker,
) {
    // Lease ownership is checked by name, so names must be unique across
    // processes and machines sharing one database: pid plus start instant.
    let started = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    for i in 0..settings.workers {
        let name = format!("w{}-{started:x}-{i}", std::process::id());
        let (store, settings, metrics, token) = (
            store.clone(),
            settings.clone(),
            metrics.clone(),
            token.child_token(),
        );
        tracker.spawn(async move { worker_loop(store, settings, metrics, token, name).await });
    }
}

async fn worker_loop(
    store: Store,
    settings: Settings,
    metrics: Arc<Metrics>,
    token: CancellationToken,
    name: String,
) {
    let lease_ms = millis(settings.job_lease);
    while !token.is_cancelled() {
        // Armed before the claim, so a job this process queues meanwhile
        // wakes the worker at once; other processes' jobs are polled for.
        let queued = store.queue_changed();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let job = match store.claim_job(&name, lease_ms).await {
            Ok(Some(job)) => job,
            Ok(None) => {
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = &mut queued => continue,
                    _ = tokio::time::sleep(IDLE_POLL) => continue,
                }
            }
            Err(e) => {
                error!(worker = %name, error = %error_chain(&e), "cannot claim a job; retrying");
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        run_one(&store, &settings, &metrics, &token, job).await;
    }
    info!(worker = %name, "worker stopped");
}

async fn run_one(
    store: &Store,
    settings: &Settings,
    metrics: &Metrics,
    token: &CancellationToken,
    job: Job,
) {
    crate::failpoint::hit("job-claimed");
    let started = Instant::now();
    let _heartbeat = AbortOnDrop(tokio::spawn(keep_leased(
        store.clone(),
        job.clone(),
        settings.job_lease,
    )));
    let limit = job_time_limit(settings);
    let work = async {
        match tokio::time::timeout(limit, run_job(store, &job, settings)).await {
            Ok(r) => r,
            Err(_) => Err(crate::workflow::Error::TimedOut {
                step: job.kind.as_str(),
                limit,
            }),
        }
    };
    tokio::pin!(work);
    let outcome = tokio::select! {
        r = &mut work => Some(r),
        _ = token.cancelled() => None,
    };
    let outcome = match outcome {
        Some(r) => r,
        None => match tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await {
            Ok(r) => r,
            Err(_) => {
                warn!(
                    job_id = job.id,
                    "shutdown: job did not finish in time; releasing it"
                );
                if let Err(e) = store.release_job(&job).await {
                    error!(job_id = job.id, error = %error_chain(&e), "cannot release job; its lease will expire");
                }
                return;
            }
        },
    };
    metrics.observe_job(started.elapsed(), outcome.is_ok());
    if let Err(e) = outcome {
        let msg = error_chain(&e);
        let wait = backoff(job.attempts);
        match store.fail_job(&job, &msg, millis(wait)).await {
            Ok(true) => {
                error!(job_id = job.id, error = %msg, "job failed for the last time; dead-lettered")
            }
            Ok(false) => {
                warn!(job_id = job.id, error = %msg, retry_in = ?wait, "job failed; will retry")
            }
            Err(e2) => {
                error!(job_id = job.id, error = %error_chain(&e2), "cannot record job failure; its lease will expire")
            }
        }
    }
}

/// The longest any one attempt at a job may run: reading and extracting
/// the longest document allowed within their budgets, and a margin. Reached
/// only by a step that loops (a bug); the attempt then counts as failed,
/// and the job ends in the dead-letter state instead of holding a worker
/// and its lease forever.
fn job_time_limit(settings: &Settings) -> Duration {
    settings.read_timeout + settings.extraction_budget(settings.max_pages) + SHUTDOWN_GRACE
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The heartbeat: renews `job`'s lease every quarter lease until aborted,
/// or until the lease turns out to be lost (the job's result will then be
/// refused by the store; see `jobs::complete`).
async fn keep_leased(store: Store, job: Job, lease: Duration) {
    let every = (lease / 4).max(Duration::from_millis(250));
    loop {
        tokio::time::sleep(every).await;
        match store.renew_lease(&job, millis(lease)).await {
            Ok(true) => {}
            Ok(false) => {
                warn!(
                    job_id = job.id,
                    "lease lost (another worker took the job over); this attempt's result will be refused"
                );
                return;
            }
            // A database hiccup: the next beat tries again; only a lease
            // that runs out meanwhile is lost.
            Err(e) => {
                warn!(job_id = job.id, error = %error_chain(&e), "cannot renew the job's lease")
            }
        }
    }
}

/// Aborts a spawned task when dropped: the heartbeat stops with its job,
/// however `run_one` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs workers until every job of `documents` has finished (done or dead),
/// then stops them. Used by `apflow ingest` and `apflow demo`.
pub async fn drain(
    store: &Store,
    settings: &Settings,
    documents: &[DocumentId],
) -> Result<(), crate::store::Error> {
    Drain::start(store, settings).finish(documents).await
}

/// Workers running for a batch: started before its documents are stored,
/// so that the first ones are read while the rest are still arriving, and
/// stopped once the batch is through ([`Drain::finish`]). Dropped without
/// `finish`, they stop (a job cut short is taken up again once its lease
/// expires, as after a crash).
pub struct Drain {
    store: Store,
    settings: Settings,
    token: CancellationToken,
    tracker: TaskTracker,
}

/// Longest wait between two looks at the queue while draining: the
/// process's own jobs wake the waiter at once, this catches the rest
/// (jobs finished by other processes).
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// How many times `finish` starts the workers again for decisions queued
/// while it stopped them; each round settles the claims it found.
const FINISH_ROUNDS: usize = 5;

/// Documents looked at per query while draining: the oldest unfinished
/// ones, which are also the first to finish.
const DRAIN_WINDOW: usize = 64;

impl Drain {
    pub fn start(store: &Store, settings: &Settings) -> Drain {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let metrics = Arc::new(Metrics::default());
        run_workers(store, settings, &metrics, &token, &tracker);
        tracker.close();
        Drain {
            store: store.clone(),
            settings: settings.clone(),
            token,
            tracker,
        }
    }

    /// Waits until every job of `documents` has finished (done or dead),
    /// or, with no documents, until no job is ready; then stops the workers.
    pub async fn finish(self, documents: &[DocumentId]) -> Result<(), crate::store::Error> {
        let mut drain = self;
        for _ in 0..FINISH_ROUNDS {
            let result = drain.wait(documents).await;
            drain.token.cancel();
            drain.tracker.wait().await;
            result?;
            // A worker stopping just now may have queued a decision again
            // after the last look (`decide_step`: concurrent claims on a PO
            // line); left queued, its invoice would keep a payment it must
            // not have until some later run. Run the workers once more.
            if documents.is_empty() || drain.store.unfinished_jobs(documents).await? == 0 {
                return Ok(());
            }
            drain = Drain::start(&drain.store, &drain.settings);
        }
        Ok(())
    }

    async fn wait(&self, documents: &[DocumentId]) -> Result<(), crate::store::Error> {
        // Documents not yet seen finished, oldest first. Each look covers
        // only the head of the list, so a batch costs a few queries per
        // window of documents instead of one query per document per look.
        let mut pending: std::collections::VecDeque<DocumentId> =
            documents.iter().copied().collect();
        loop {
            let changed = self.store.queue_changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let done = if documents.is_empty() {
                self.store.unfinished_jobs(&[]).await? == 0
            } else {
                while !pending.is_empty() {
                    let n = pending.len().min(DRAIN_WINDOW);
                    let head: Vec<DocumentId> = pending.drain(..n).collect();
                    let unfinished = self.store.unfinished_documents(&head).await?;
                    for d in head.iter().rev().filter(|d| unfinished.contains(d)) {
                        pending.push_front(*d);
                    }
                    if !unfinished.is_empty() {
                        break;
                    }
                }
                // Seen finished one window at a time; a decision queued
                // again meanwhile (see `decide_step`) shows in a last look
                // at them all.
                pending.is_empty() && {
                    pending.extend(self.store.unfinished_documents(documents).await?);
                    pending.is_empty()
                }
            };
            if done {
                return Ok(());
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = tokio::time::sleep(DRAIN_POLL) => {}
            }
        }
    }
}

impl Drop for Drain {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// `error: cause: cause` on one line, for logs and the jobs table.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

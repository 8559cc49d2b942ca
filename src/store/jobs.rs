//! The durable work queue: one row per pipeline step of one document.
//!
//! A worker *claims* a ready job by setting a lease; while the lease runs no
//! other worker takes it. If the worker dies, the lease expires and the job is
//! claimed again. The claim counts the attempt in the statement that takes
//! the lease, so an attempt that kills the process still counts; a job whose
//! lease expired after its last attempt is dead-lettered by the next claim
//! instead of being run again (a document that crashes the process would
//! otherwise take down every restart). On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so
//! any number of `apflow serve` processes share one queue without blocking
//! each other; SQLite serialises writers, so the same statement without the
//! locking clause is already atomic there.
//!
//! A step's result and its job's completion are written in one transaction
//! (see `invoices.rs`), guarded by the lease: a worker whose lease was taken
//! over cannot commit a second result.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Error, QueryContext, Result, Store, now_ms};
use crate::domain::DocumentId;

/// The pipeline steps that run as jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Read the document and extract the invoice.
    Extract,
    /// Validate, match and route the extracted invoice.
    Decide,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Extract => "extract",
            JobKind::Decide => "decide",
        }
    }

    fn parse(s: &str) -> Option<JobKind> {
        match s {
            "extract" => Some(JobKind::Extract),
            "decide" => Some(JobKind::Decide),
            _ => None,
        }
    }
}

/// A claimed job: the worker owns it until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub document_id: DocumentId,
    /// Including this one.
    pub attempts: i64,
    pub max_attempts: i64,
    pub worker: String,
    /// The worker whose lease on this job ran out before this claim (it
    /// stopped renewing it: the process died or stalled).
    pub taken_over_from: Option<String>,
}

/// Queue depth by state and job kind, for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub rows: Vec<(String, String, i64)>,
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, \
     worker = $2, started_at = $3, \
     taken_over_from = CASE WHEN state = 'running' THEN worker ELSE NULL END \
     WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_after <= $3) \
                 OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts) ORDER BY run_after, id LIMIT 1) \
     RETURNING id, kind, document_id, attempts, max_attempts, taken_over_from";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, \
     worker = $2, started_at = $3, \
     taken_over_from = CASE WHEN state = 'running' THEN worker ELSE NULL END \
     WHERE id = (SELECT id FROM jobs WHERE (state = 'queued' AND run_after <= $3) \
                 OR (state = 'running' AND lease_until < $3 AND attempts < max_attempts) ORDER BY run_after, id LIMIT 1 \
                 FOR UPDATE SKIP LOCKED) \
     RETURNING id, kind, document_id, attempts, max_attempts, taken_over_from";

pub(crate) async fn enqueue<'c, E>(
    executor: E,
    document: DocumentId,
    kind: JobKind,
    max_attempts: i64,
) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let now = now_ms();
    // The unique (document_id, kind) makes enqueueing idempotent: a re-run
    // of the step before cannot queue the next step twice.
    sqlx::query(
        "INSERT INTO jobs (kind, document_id, state, attempts, max_attempts, run_after, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $4) ON CONFLICT (document_id, kind) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(document.0)
    .bind(max_attempts)
    .bind(now)
    .execute(executor)
    .await
    .ctx("enqueue a job")?;
    Ok(())
}

/// Queues the `decide` step of `document` again (in the caller's
/// transaction, where a change and the check it calls for must commit
/// together). Wake the workers after committing (`Store::signal_queue`).
///
/// A decide step running right now read the values before this change:
/// it is taken back too (queued, no worker), so its worker's `complete`
/// finds the job no longer its own and the stale decision rolls back with
/// it (`save_decision` completes the job in its transaction). Without
/// this, a correction made while its invoice was being decided was never
/// checked, and the stale decision stood.
pub(crate) async fn requeue_decision<'c, E>(executor: E, document: DocumentId) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, lease_until = NULL, worker = NULL, \
         finished_at = NULL WHERE kind = 'decide' AND document_id = $2 AND state IN ('done', 'dead', 'running')",
    )
    .bind(now_ms())
    .bind(document.0)
    .execute(executor)
    .await
    .ctx("queue a decision again")?;
    Ok(())
}

/// Marks the job done if, and only if, this worker still holds its lease.
pub(crate) async fn complete<'c, E>(executor: E, job: &Job) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = $1, last_error = NULL \
         WHERE id = $2 AND worker = $3 AND state = 'running' AND attempts = $4",
    )
    .bind(now_ms())
    .bind(job.id)
    .bind(job.worker.clone())
    .bind(job.attempts)
    .execute(executor)
    .await
    .ctx("complete a job")?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::LeaseLost { job_id: job.id })
    }
}

/// Dead-letters jobs whose lease expired on their last attempt. Its own
/// statement before the claim: the claim skips them (`attempts <
/// max_attempts`), so a crash loop ends here with a reason in the queue.
const BURY_ABANDONED: &str = "UPDATE jobs SET state = 'dead', lease_until = NULL, finished_at = $1, \
     last_error = 'gave up after ' || CAST(attempts AS TEXT) || ' attempts: the process running it died or timed out' \
     WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts";

/// A document that was rejected or whose job gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnprocessedDocument {
    pub document_id: DocumentId,
    pub filename: String,
    pub received_at: i64,
    /// Its job gave up after every attempt (rather than the document being
    /// rejected as unreadable).
    pub dead_letter: bool,
    pub reason: String,
}

impl Store {
    /// Claims the next ready job for `worker`, leasing it for `lease_ms`.
    /// The attempt is counted by the claim itself, before the job runs;
    /// abandoned jobs out of attempts are dead-lettered first.
    pub async fn claim_job(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
        let now = now_ms();
        let buried = sqlx::query(BURY_ABANDONED)
            .bind(now)
            .execute(self.pool())
            .await
            .ctx("dead-letter abandoned jobs")?;
        if buried.rows_affected() > 0 {
            tracing::error!(
                jobs = buried.rows_affected(),
                "jobs abandoned on their last attempt (process died or timed out); dead-lettered"
            );
        }
        let sql = match self.backend() {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        let row = sqlx::query(sql)
            .bind(now + lease_ms)
            .bind(worker.to_string())
            .bind(now)
            .fetch_optional(self.pool())
            .await
            .ctx("claim a job")?;
        let job = row.map(|r| job_from_row(&r, worker)).transpose()?;
        if let Some(Job {
            id,
            document_id,
            attempts,
            taken_over_from: Some(from),
            ..
        }) = &job
        {
            tracing::warn!(
                job_id = id,
                document_id = document_id.0,
                attempt = attempts,
                from = %from,
                "took over a job whose worker stopped renewing its lease (process gone or stalled)"
            );
        }
        Ok(job)
    }

    /// The running worker's heartbeat: pushes its lease on `job` to
    /// `lease_ms` from now. False when the lease is no longer this
    /// worker's (it ran out and another worker took the job over).
    pub async fn renew_lease(&self, job: &Job, lease_ms: i64) -> Result<bool> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $1 \
             WHERE id = $2 AND worker = $3 AND state = 'running' AND attempts = $4",
        )
        .bind(now_ms() + lease_ms)
        .bind(job.id)
        .bind(job.worker.clone())
        .bind(job.attempts)
        .execute(self.pool())
        .await
        .ctx("renew a job's lease")?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Records a failed attempt: back to the queue after `backoff_ms`, or to
    /// the dead-letter state once attempts are used up. Returns whether the
    /// job is now dead.
    pub async fn fail_job(&self, job: &Job, error: &str, backoff_ms: i64) -> Result<bool> {
        let dead = job.attempts >= job.max_attempts;
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = $1, lease_until = NULL, run_after = $2, last_error = $3, \
             finished_at = $4 WHERE id = $5 AND worker = $6 AND state = 'running'",
        )
        .bind(if dead { "dead" } else { "queued" })
        .bind(now + backoff_ms)
        .bind(truncate(error, 2000))
        .bind(if dead { Some(now) } else { None })
        .bind(job.id)
        .bind(job.worker.clone())
        .execute(self.pool())
        .await
        .ctx("record a failed job")?;
        self.signal_queue();
        Ok(dead)
    }

    /// Gives a job back (graceful shutdown). It keeps its attempt count, and
    /// one handed back on its last attempt is dead-lettered instead of
    /// queued: a job that hangs until every shutdown must not run forever.
    pub async fn release_job(&self, job: &Job) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET lease_until = NULL, worker = NULL, \
             state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, \
             finished_at = CASE WHEN attempts >= max_attempts THEN $3 ELSE NULL END, \
             last_error = CASE WHEN attempts >= max_attempts THEN 'gave up after ' || CAST(attempts AS TEXT) || \
               ' attempts: the last one was still running at shutdown' ELSE last_error END \
             WHERE id = $1 AND worker = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(job.worker.clone())
        .bind(now_ms())
        .execute(self.pool())
        .await
        .ctx("release a job")?;
        self.signal_queue();
        Ok(())
    }

    /// Queues the `decide` step again for invoices on the review queue that
    /// wait for something that may just have arrived: goods received, a PO,
    /// a verified bank account. Only invoices of `vendor_id`, or quoting
    /// `po_number`, and only those still untouched by a clerk
    /// (`needs_review`). Returns how many were queued.
    pub async fn requeue_waiting_decisions(
        &self,
        vendor_id: Option<&str>,
        po_number: Option<&str>,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, lease_until = NULL, worker = NULL, \
             last_error = NULL, finished_at = NULL \
             WHERE kind = 'decide' AND state IN ('done', 'dead') AND document_id IN ( \
               SELECT i.document_id FROM invoices i WHERE i.status = 'needs_review' \
               AND (i.vendor_id = $2 OR i.po_number = $3) \
               AND EXISTS (SELECT 1 FROM discrepancies d WHERE d.invoice_id = i.id AND d.code IN \
                 ('not_received', 'quantity_exceeds_received', 'over_billed_cumulative', 'po_not_found', \
                  'missing_po_number', 'bank_details_changed')))",
        )
        .bind(now_ms())
        .bind(vendor_id.map(str::to_string))
        .bind(po_number.map(str::to_string))
        .execute(self.pool())
        .await
        .ctx("queue waiting invoices for re-evaluation")?;
        self.signal_queue();
        Ok(done.rows_affected())
    }

    /// Queues the `decide` step of one document again.
    pub async fn requeue_decision(&self, document: DocumentId) -> Result<()> {
        requeue_decision(self.pool(), document).await?;
        self.signal_queue();
        Ok(())
    }

    /// Number of jobs not yet finished (queued or running) for these
    /// documents, or of all jobs ready now when `documents` is empty
    /// (`apflow capture --once` waits for that to reach zero).
    pub async fn unfinished_jobs(&self, documents: &[DocumentId]) -> Result<i64> {
        if documents.is_empty() {
            return sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND run_after <= $1")
                .bind(now_ms())
                .fetch_one(self.pool())
                .await
                .ctx("count unfinished jobs");
        }
        let mut total = 0;
        for chunk in documents.chunks(IN_LIST_MAX) {
            let sql = format!(
                "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND document_id IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                query = query.bind(d.0);
            }
            let n: i64 = query
                .fetch_one(self.pool())
                .await
                .ctx("count unfinished jobs")?;
            total += n;
        }
        Ok(total)
    }

    /// Those of `documents` that have a job not yet finished (queued or
    /// running), in no particular order. One query per few hundred
    /// documents; `apflow ingest` waits for its documents with it.
    pub async fn unfinished_documents(&self, documents: &[DocumentId]) -> Result<Vec<DocumentId>> {
        let mut out = Vec::new();
        for chunk in documents.chunks(IN_LIST_MAX) {
            let sql = format!(
                "SELECT DISTINCT document_id FROM jobs WHERE state IN ('queued', 'running') AND document_id IN ({})",
                placeholders(chunk.len())
            );
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for d in chunk {
                query = query.bind(d.0);
            }
            let ids: Vec<i64> = query
                .fetch_all(self.pool())
                .await
                .ctx("find unfinished documents")?;
            out.extend(ids.into_iter().map(DocumentId));
        }
        Ok(out)
    }

    /// Resolves when this process next queues, finishes, fails or releases
    /// a job, so that its idle workers and waiters need not poll for their
    /// own process's work. Only a hint: jobs of other processes (and
    /// retries whose backoff ends) are seen by polling. Create it before
    /// looking at the queue and [`enable`](tokio::sync::futures::Notified::enable)
    /// it, or a change in between is missed.
    pub fn queue_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.queue_signal.notified()
    }

    /// Wakes whoever waits on [`Store::queue_changed`]; called after the
    /// commit that changed the queue.
    pub(crate) fn signal_queue(&self) {
        self.queue_signal.notify_waiters();
    }

    /// Documents that will not become invoices by themselves: rejected
    /// as unreadable, or whose job gave up (dead-lettered), newest first,
    /// with the reason. The queue shows them so nothing fails unseen.
    pub async fn unprocessed_documents(&self, limit: i64) -> Result<Vec<UnprocessedDocument>> {
        let rows = sqlx::query(
            "SELECT d.id, d.filename, d.received_at, d.reason, j.kind, j.last_error FROM documents d \
             LEFT JOIN jobs j ON j.document_id = d.id AND j.state = 'dead' \
             WHERE d.status = 'rejected' OR j.id IS NOT NULL ORDER BY d.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .ctx("list documents that were not processed")?;
        rows.iter()
            .map(|r| {
                let dead: Option<String> = r.try_get("kind").ctx("decode a document")?;
                let reason: Option<String> = match dead {
                    Some(_) => r.try_get("last_error").ctx("decode a document")?,
                    None => r.try_get("reason").ctx("decode a document")?,
                };
                Ok(UnprocessedDocument {
                    document_id: DocumentId(r.try_get("id").ctx("decode a document")?),
                    filename: r.try_get("filename").ctx("decode a document")?,
                    received_at: r.try_get("received_at").ctx("decode a document")?,
                    dead_letter: dead.is_some(),
                    reason: reason.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Gives a document whose jobs gave up (dead-lettered) another full
    /// set of attempts, with the audit entry, in one transaction. Returns
    /// how many jobs were queued again (none: nothing had given up).
    pub async fn retry_dead_jobs(
        &self,
        document: DocumentId,
        audit: &super::AuditEntry,
    ) -> Result<u64> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let n = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $1, lease_until = NULL, worker = NULL, \
             last_error = NULL, finished_at = NULL WHERE document_id = $2 AND state = 'dead'",
        )
        .bind(now_ms())
        .bind(document.0)
        .execute(&mut *tx)
        .await
        .ctx("queue a dead job again")?
        .rows_affected();
        if n > 0 {
            self.append_audit(&mut tx, audit).await?;
        }
        tx.commit().await.ctx("commit a retry")?;
        self.signal_queue();
        Ok(n)
    }

    /// Last error of a dead job of this document, if any.
    pub async fn dead_job_error(&self, document: DocumentId) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT last_error FROM jobs WHERE document_id = $1 AND state = 'dead' ORDER BY id LIMIT 1",
        )
        .bind(document.0)
        .fetch_optional(self.pool())
        .await
        .ctx("read a dead job")?;
        Ok(match row {
            Some(r) => r.try_get("last_error").ctx("decode job")?,
            None => None,
        })
    }

    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(self.pool())
        .await
        .ctx("count jobs")?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("kind").ctx("decode job stats")?,
                    r.try_get("state").ctx("decode job stats")?,
                    r.try_get("n").ctx("decode job stats")?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(QueueStats { rows })
    }
}

/// Bound parameters per `IN (...)` list: well under SQLite's and
/// PostgreSQL's limits.
const IN_LIST_MAX: usize = 500;

/// `$1, $2, ..., $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn job_from_row(r: &AnyRow, worker: &str) -> Result<Job> {
    let kind: String = r.try_get("kind").ctx("decode job")?;
    Ok(Job {
        id: r.try_get("id").ctx("decode job")?,
        kind: JobKind::parse(&kind).ok_or(Error::Corrupt {
            column: "jobs.kind",
            value: kind.clone(),
        })?,
        document_id: DocumentId(r.try_get("document_id").ctx("decode job")?),
        attempts: r.try_get("attempts").ctx("decode job")?,
        max_attempts: r.try_get("max_attempts").ctx("decode job")?,
        worker: worker.to_string(),
        taken_over_from: r.try_get("taken_over_from").ctx("decode job")?,
    })
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

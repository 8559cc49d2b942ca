//! The work queue: leases, retries, dead letters, release on shutdown, and
//! two worker processes sharing one PostgreSQL without doing a document
//! twice.

use std::sync::Arc;
use std::time::Duration;

use apflow::domain::{RawDocument, Source};
use apflow::store::{Error, JobKind};
use apflow::workflow::{self, Metrics};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::helpers::{BOTH, Db, fresh, load_sample_master_data, repo_path, wait_for};

fn raw(name: &str, bytes: Vec<u8>) -> RawDocument {
    RawDocument {
        filename: name.into(),
        bytes,
        source: Source::Upload,
    }
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_the_old_worker_cannot_commit() {
    for db in BOTH {
        let t = fresh(db).await;
        workflow::receive_document(&t.store, &raw("a.pdf", b"%PDF-1.4 a".to_vec()), &t.settings)
            .await
            .unwrap();
        let first = t.store.claim_job("slow", 1).await.unwrap().expect("job");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let second = t
            .store
            .claim_job("fast", 60_000)
            .await
            .unwrap()
            .expect("expired lease is claimable");
        assert_eq!(first.id, second.id, "{db:?}");
        assert_eq!(second.attempts, 2);
        let audit = apflow::store::AuditEntry {
            actor: "t".into(),
            action: "document.rejected",
            entity: "document",
            entity_id: "1".into(),
            detail: serde_json::json!({}),
        };
        let late = t.store.reject_document(&first, "late", &audit).await;
        assert!(
            matches!(late, Err(Error::LeaseLost { .. })),
            "{db:?}: {late:?}"
        );
        t.store
            .reject_document(&second, "on time", &audit)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn failures_back_off_then_dead_letter() {
    for db in BOTH {
        let mut t = fresh(db).await;
        t.settings.max_attempts = 2;
        workflow::receive_document(&t.store, &raw("a.pdf", b"%PDF-1.4 b".to_vec()), &t.settings)
            .await
            .unwrap();
        let job = t.store.claim_job("w", 60_000).await.unwrap().expect("job");
        assert!(
            !t.store.fail_job(&job, "boom", 0).await.unwrap(),
            "first failure retries"
        );
        let again = t
            .store
            .claim_job("w", 60_000)
            .await
            .unwrap()
            .expect("retry");
        assert_eq!(again.attempts, 2);
        assert!(
            t.store.fail_job(&again, "boom again", 0).await.unwrap(),
            "{db:?}: second failure is dead"
        );
        assert!(t.store.claim_job("w", 60_000).await.unwrap().is_none());
        assert_eq!(
            t.store
                .dead_job_error(job.document_id)
                .await
                .unwrap()
                .as_deref(),
            Some("boom again")
        );
        // Backoff: a failed job is not claimable before its time.
        workflow::receive_document(&t.store, &raw("c.pdf", b"%PDF-1.4 c".to_vec()), &t.settings)
            .await
            .unwrap();
        let c = t
            .store
            .claim_job("w", 60_000)
            .await
            .unwrap()
            .expect("job c");
        t.store.fail_job(&c, "later", 60_000).await.unwrap();
        assert!(
            t.store.claim_job("w", 60_000).await.unwrap().is_none(),
            "{db:?}: backoff respected"
        );
    }
}

#[tokio::test]
async fn released_job_is_claimable_and_keeps_its_attempt_count() {
    for db in BOTH {
        let t = fresh(db).await;
        workflow::receive_document(&t.store, &raw("a.pdf", b"%PDF-1.4 d".to_vec()), &t.settings)
            .await
            .unwrap();
        let job = t.store.claim_job("w", 60_000).await.unwrap().expect("job");
        t.store.release_job(&job).await.unwrap();
        let again = t
            .store
            .claim_job("w2", 60_000)
            .await
            .unwrap()
            .expect("released job");
        assert_eq!(
            (again.id, again.attempts, again.kind),
            (job.id, 2, JobKind::Extract),
            "{db:?}"
        );
    }
}

/// Two "processes" (separate pools, separate worker sets) on one PostgreSQL
/// database: every document is extracted and decided exactly once.
#[tokio::test]
async fn two_workers_on_postgres_process_each_document_once() {
    let t = fresh(Db::Postgres).await;
    load_sample_master_data(&t.store).await;
    let second = apflow::store::Store::connect(&t.url).await.unwrap();
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut ids = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(repo_path("samples/invoices"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .collect();
    files.sort();
    for path in &files {
        let r = workflow::receive_document(
            &t.store,
            &raw(&path.display().to_string(), std::fs::read(path).unwrap()),
            &t.settings,
        )
        .await
        .unwrap();
        ids.push(r.document_id);
    }
    // A few distinct junk documents too, so there is more work than workers.
    for i in 0..8 {
        let r = workflow::receive_document(
            &t.store,
            &raw("junk.txt", format!("not a pdf {i}").into_bytes()),
            &t.settings,
        )
        .await
        .unwrap();
        ids.push(r.document_id);
    }
    // Queue everything first, then start both processes' workers at once,
    // so they compete for a deep queue.
    workflow::run_workers(
        &t.store,
        &t.settings,
        &Arc::new(Metrics::default()),
        &token,
        &tracker,
    );
    workflow::run_workers(
        &second,
        &t.settings,
        &Arc::new(Metrics::default()),
        &token,
        &tracker,
    );
    let store = t.store.clone();
    let ids2 = ids.clone();
    assert!(
        wait_for(Duration::from_secs(60), || {
            let s = store.clone();
            let ids = ids2.clone();
            async move { s.unfinished_jobs(&ids).await.unwrap() == 0 }
        })
        .await,
        "queue drained"
    );
    token.cancel();
    tracker.close();
    tracker.wait().await;
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let per_doc: Vec<(i64, i64)> = sqlx::query_as("SELECT entity_id::bigint, COUNT(*) FROM audit_log WHERE action = 'invoice.extracted' GROUP BY entity_id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(per_doc.len(), files.len(), "one extraction per PDF");
    assert!(per_doc.iter().all(|(_, n)| *n == 1), "{per_doc:?}");
    let attempts: Vec<(i64,)> = sqlx::query_as("SELECT attempts FROM jobs WHERE attempts <> 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        attempts.is_empty(),
        "every job ran exactly once: {attempts:?}"
    );
    let workers: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT worker FROM jobs")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(workers.len() >= 2, "work was shared: {workers:?}");
    let rejected: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE status = 'rejected'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rejected, 8);
}

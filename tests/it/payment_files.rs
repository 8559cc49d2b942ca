//! Payment files are a view of committed runs (issue 16): a run whose file
//! was never written (a crash, or no `--out`) is handed out by the next
//! `pay run` and by `pay file` any time, byte for byte; `pay runs` says
//! which runs have no file yet; concurrent runs answer clearly.

use apflow::config::Settings;
use apflow::domain::Role;
use apflow::payment::sepa::PainVersion;
use apflow::workflow::payments;
use chrono::NaiveDate;

use crate::helpers::{Db, TestDb, fresh, ingest_samples, load_sample_master_data};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The sample invoices processed as of 20 March 2026, and an admin who may
/// create runs through the CLI.
async fn processed(db: Db) -> TestDb {
    let mut t = fresh(db).await;
    t.settings = Settings {
        today: Some(date("2026-03-20")),
        bank_holidays: vec![date("2026-04-03")],
        ..t.settings.clone()
    };
    load_sample_master_data(&t.store).await;
    ingest_samples(&t).await;
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    t.store
        .add_user("admin", &hash, Role::Admin, None)
        .await
        .unwrap();
    t
}

/// Concurrent runs on PostgreSQL take turns: each one succeeds (the later
/// ones find nothing left) or says another run is in progress; none fails
/// as "corrupt", and no payment is in two runs.
#[tokio::test]
async fn concurrent_payment_runs_answer_clearly() {
    let t = processed(Db::Postgres).await;
    let run = || {
        let (store, settings) = (t.store.clone(), t.settings.clone());
        async move {
            payments::create_run(
                &store,
                &settings,
                date("2026-12-31"),
                "EUR",
                PainVersion::V03,
                "admin",
            )
            .await
        }
    };
    let (a, b, c, d) = tokio::join!(run(), run(), run(), run());
    let mut paid = Vec::new();
    for outcome in [a, b, c, d] {
        match outcome {
            Ok(o) => paid.extend(o.paid.iter().map(|p| p.payment_id)),
            Err(e) => {
                let chain = apflow::workflow::error_chain(&e);
                assert!(
                    chain.contains("another payment run is in progress"),
                    "{chain}"
                );
            }
        }
    }
    assert!(!paid.is_empty());
    let mut unique = paid.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(paid.len(), unique.len(), "paid twice: {paid:?}");
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let in_runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE run_id IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(usize::try_from(in_runs).unwrap(), paid.len());
    pool.close().await;
}

//! Payment files are a view of committed runs (issue 16): a run whose file
//! was never written (a crash, or no `--out`) is handed out by the next
//! `pay run` and by `pay file` any time, byte for byte; `pay runs` says
//! which runs have no file yet; concurrent runs answer clearly.

use std::process::Output;

use apflow::domain::Role;
use apflow::payment::sepa::PainVersion;
use apflow::workflow::payments;
use chrono::NaiveDate;

use crate::helpers::{BOTH, Db, TestDb, repo_path};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// The sample invoices processed as of 20 March 2026, and an admin who may
/// create runs through the CLI.
async fn processed(db: Db) -> TestDb {
    let (t, _) = crate::payments::demo(db).await;
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    t.store
        .add_user("admin", &hash, Role::Admin, None)
        .await
        .unwrap();
    t.store
        .add_user("approver", &hash, Role::Approver, None)
        .await
        .unwrap();
    t
}

/// The real binary on the test's database.
fn apflow(t: &TestDb, args: &[&str]) -> Output {
    command(t)
        .args(args)
        .env_remove("APFLOW_RUN_APPROVAL_LIMIT")
        .output()
        .unwrap()
}

fn command(t: &TestDb) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_apflow"));
    c.current_dir(repo_path(""))
        .env("APFLOW_DATABASE_URL", &t.url)
        .env("APFLOW_INBOX", t.settings.inbox.display().to_string())
        .env("APFLOW_TODAY", "2026-03-20");
    c
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that run `id`'s row in a `pay runs` listing says `text` (or,
/// with `says` false, that it does not).
fn assert_run_row(listing: &str, id: i64, text: &str, says: bool, db: Db) {
    assert_eq!(
        runs_row(listing, id).contains(text),
        says,
        "{db:?}: run {id} {} {text:?}\n{listing}",
        if says { "should say" } else { "should not say" }
    );
}

/// The row of run `id` in `pay runs`.
fn runs_row(listing: &str, id: i64) -> String {
    listing
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&id.to_string()))
        .unwrap_or_else(|| panic!("run {id} not in\n{listing}"))
        .to_string()
}

/// The finding's reproduction: a run commits and its file is never
/// written, another payment becomes due, and the next `pay run --out`
/// writes only the new run, so the first run's payments never reach the
/// bank. Now it writes both; `pay file` gives the stored document byte for
/// byte, and a run awaiting approval gets no file from either.
#[tokio::test]
async fn a_run_whose_file_was_never_written_is_handed_out_later() {
    for db in BOTH {
        let t = processed(db).await;
        // Run 1 commits (27 March: Kaffeewerk's discount) but its file is
        // never written: `pay run` without `--out`, or a crash.
        let first = crate::payments::eur_run(&t, "2026-03-27", "admin")
            .await
            .run
            .expect("a run on 27 March");
        // A GBP run above the approval limit: its file waits for approval.
        let mut limited = t.settings.clone();
        limited.run_approval_limit = Some("1".parse().unwrap());
        let held = payments::create_run(
            &t.store,
            &limited,
            date("2026-04-30"),
            "GBP",
            PainVersion::V03,
            "admin",
        )
        .await
        .unwrap()
        .run
        .expect("the GBP invoice is due");
        assert!(!held.released(), "{db:?}");

        let listing = ok(apflow(&t, &["pay", "runs"]));
        assert_run_row(&listing, first.id, "NOT WRITTEN", true, db);
        assert_run_row(&listing, held.id, "awaiting approval", true, db);

        // Later payments are due: the next run writes its own file and the
        // first run's next to it.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pay.xml");
        let said = ok(apflow(
            &t,
            &[
                "pay",
                "run",
                "--date",
                "2026-04-30",
                "--by",
                "admin",
                "--out",
                out.to_str().unwrap(),
            ],
        ));
        let second = t.store.open_payment_runs().await.unwrap();
        let second = second
            .iter()
            .find(|r| r.id != first.id && r.id != held.id)
            .expect("a second EUR run");
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            second.document,
            "{db:?}"
        );
        let earlier = dir.path().join(format!("pay-run{}.xml", first.id));
        assert!(said.contains(&earlier.display().to_string()), "{said}");
        let stored = t.store.payment_run(first.id).await.unwrap().unwrap();
        assert_eq!(stored.document, first.document, "{db:?}");
        assert_eq!(
            std::fs::read(&earlier).unwrap(),
            first.document.as_bytes(),
            "{db:?}: the first run's file is the stored one"
        );
        assert!(
            !dir.path().join(format!("pay-run{}.xml", held.id)).exists(),
            "{db:?}: a run awaiting approval was written"
        );

        // `pay file` writes any committed run again, byte for byte.
        let again = dir.path().join("again.xml");
        ok(apflow(
            &t,
            &[
                "pay",
                "file",
                &first.id.to_string(),
                "--out",
                again.to_str().unwrap(),
            ],
        ));
        assert_eq!(
            std::fs::read(&again).unwrap(),
            first.document.as_bytes(),
            "{db:?}"
        );
        // ... but not a run awaiting approval.
        let refused = apflow(
            &t,
            &[
                "pay",
                "file",
                &held.id.to_string(),
                "--out",
                dir.path().join("held.xml").to_str().unwrap(),
            ],
        );
        assert!(!refused.status.success(), "{db:?}");
        let why = String::from_utf8_lossy(&refused.stderr);
        assert!(why.contains("awaits approval"), "{db:?}: {why}");
        assert!(!dir.path().join("held.xml").exists(), "{db:?}");

        let listing = ok(apflow(&t, &["pay", "runs"]));
        for id in [first.id, second.id] {
            assert_run_row(&listing, id, "written 20", true, db);
        }
        assert_run_row(&listing, held.id, "held until approved", true, db);
        // Approval releases the held run's file, and it counts as written.
        let released = dir.path().join("held.xml");
        ok(apflow(
            &t,
            &[
                "pay",
                "approve",
                &held.id.to_string(),
                "--by",
                "approver",
                "--out",
                released.to_str().unwrap(),
            ],
        ));
        assert_eq!(
            std::fs::read(&released).unwrap(),
            held.document.as_bytes(),
            "{db:?}"
        );
        let listing = ok(apflow(&t, &["pay", "runs"]));
        assert_run_row(&listing, held.id, "approved by approver", true, db);
        assert_run_row(&listing, held.id, "written 20", true, db);
        // Everything released is handed out: the next run writes nothing
        // else and says nothing is due.
        let said = ok(apflow(
            &t,
            &[
                "pay",
                "run",
                "--date",
                "2026-12-31",
                "--by",
                "admin",
                "--out",
                dir.path().join("none.xml").to_str().unwrap(),
            ],
        ));
        assert!(!said.contains("had no file yet"), "{db:?}: {said}");
    }
}

/// Without `--out`, `pay run` names every run that still has no file and
/// how to get it.
#[tokio::test]
async fn pay_run_without_out_names_the_runs_without_a_file() {
    let t = processed(Db::Sqlite).await;
    let first = crate::payments::eur_run(&t, "2026-03-27", "admin")
        .await
        .run
        .unwrap();
    let said = ok(apflow(
        &t,
        &["pay", "run", "--date", "2026-04-30", "--by", "admin"],
    ));
    assert!(
        said.contains(&format!("apflow pay file {} --out FILE", first.id)),
        "{said}"
    );
}

/// A new run above the approval limit gets no file from `pay run --out`:
/// only `pay approve` releases it.
#[tokio::test]
async fn pay_run_writes_no_file_for_a_run_awaiting_approval() {
    let t = processed(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pay.xml");
    let said = ok(command(&t)
        .args([
            "pay",
            "run",
            "--date",
            "2026-04-30",
            "--by",
            "admin",
            "--out",
        ])
        .arg(&out)
        .env("APFLOW_RUN_APPROVAL_LIMIT", "1")
        .output()
        .unwrap());
    assert!(!out.exists(), "{said}");
    assert!(said.contains("apflow pay approve"), "{said}");
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

/// A run the payment webhook delivered (even in part) reached the bank
/// that way: it is not handed out again as a file, which would send it
/// twice.
#[tokio::test]
async fn a_run_the_webhook_delivered_is_not_written_again() {
    for db in BOTH {
        let t = processed(db).await;
        let outcome = crate::payments::eur_run(&t, "2026-12-31", "admin").await;
        let run = outcome.run.expect("payments are due");
        let unwritten = t.store.unwritten_payment_runs().await.unwrap();
        assert!(unwritten.iter().any(|r| r.id == run.id), "{db:?}");
        t.store
            .mark_payment_delivered(outcome.paid[0].payment_id)
            .await
            .unwrap();
        let unwritten = t.store.unwritten_payment_runs().await.unwrap();
        assert!(
            unwritten.iter().all(|r| r.id != run.id),
            "{db:?}: a delivered run would be written again"
        );
    }
}

/// `pay run --out` killed (as by `kill -9`) between committing the run and
/// writing its file, and again between writing the file and recording it:
/// each time the next `pay run` hands the same run's file out, byte for
/// byte (same message id, so the bank recognises a repeat), and no invoice
/// is ever in two runs.
#[tokio::test]
async fn a_pay_run_killed_around_its_file_hands_the_same_file_out_next_time() {
    for db in BOTH {
        let t = processed(db).await;
        let dir = tempfile::tempdir().unwrap();
        let pay_run = |date: &'static str, out: &std::path::Path, failpoint: Option<&str>| {
            let mut c = command(&t);
            c.args(["pay", "run", "--date", date, "--by", "admin", "--out"])
                .arg(out)
                .env_remove("APFLOW_RUN_APPROVAL_LIMIT");
            if let Some(f) = failpoint {
                c.env("APFLOW_FAILPOINT", f);
            }
            c.output().unwrap()
        };
        for (date, failpoint) in [
            ("2026-03-27", "run-before-file"),
            ("2026-04-30", "run-file-written"),
        ] {
            let killed_out = dir.path().join(format!("{failpoint}.xml"));
            let died = pay_run(date, &killed_out, Some(failpoint));
            assert!(
                !died.status.success()
                    && String::from_utf8_lossy(&died.stderr).contains("failpoint"),
                "{db:?}: {failpoint}: {}",
                String::from_utf8_lossy(&died.stderr)
            );
            let run = t
                .store
                .open_payment_runs()
                .await
                .unwrap()
                .into_iter()
                .filter(|r| r.currency == "EUR")
                .max_by_key(|r| r.id)
                .expect("the killed process committed its run");
            assert!(run.file_written_at.is_none(), "{db:?}: {failpoint}");
            assert_eq!(
                killed_out.exists(),
                failpoint == "run-file-written",
                "{db:?}"
            );
            let listing = ok(apflow(&t, &["pay", "runs"]));
            assert_run_row(&listing, run.id, "NOT WRITTEN", true, db);
            let out = dir.path().join(format!("{failpoint}-again.xml"));
            let said = ok(pay_run(date, &out, None));
            assert_eq!(
                std::fs::read(&out).unwrap(),
                run.document.as_bytes(),
                "{db:?}: {failpoint}: the same file again\n{said}"
            );
            if killed_out.exists() {
                assert_eq!(
                    std::fs::read(&killed_out).unwrap(),
                    std::fs::read(&out).unwrap()
                );
            }
            let listing = ok(apflow(&t, &["pay", "runs"]));
            assert_run_row(&listing, run.id, "NOT WRITTEN", false, db);
        }
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
        let twice: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT invoice_id FROM payments WHERE run_id IS NOT NULL \
             GROUP BY invoice_id HAVING COUNT(DISTINCT run_id) > 1) d",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(
            (runs, twice),
            (2, 0),
            "{db:?}: two runs, no invoice in both"
        );
    }
}

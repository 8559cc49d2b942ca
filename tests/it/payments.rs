//! Payment runs on the sample data: schema-valid SEPA files whose sums are
//! the scheduled invoices', discounts taken when they pay, and exactly-once
//! under any sequence of runs, crashes, re-runs and bank answers.

use std::collections::{BTreeMap, BTreeSet};

use apflow::config::Settings;
use apflow::domain::{DocumentId, InvoiceStatus};
use apflow::payment::sepa::PainVersion;
use apflow::workflow::{self, payments};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::helpers::{
    BOTH, TestDb, fresh, ingest_samples, load_sample_master_data, repo_path, sample_expectations,
};

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A EUR pain.001.001.03 run of everything due on `day`, as `by`.
pub(crate) async fn eur_run(t: &TestDb, day: &str, by: &str) -> apflow::store::RunOutcome {
    payments::create_run(
        &t.store,
        &t.settings,
        date(day),
        "EUR",
        PainVersion::V03,
        by,
    )
    .await
    .unwrap()
}

/// The sample invoices processed as of 20 March 2026.
pub(crate) async fn demo(db: crate::helpers::Db) -> (TestDb, BTreeMap<String, DocumentId>) {
    let mut t = fresh(db).await;
    t.settings = Settings {
        today: Some(date("2026-03-20")),
        bank_holidays: vec![date("2026-04-03")],
        ..t.settings.clone()
    };
    load_sample_master_data(&t.store).await;
    let docs = ingest_samples(&t).await;
    (t, docs)
}

/// Validates a pain.001 document against the official schema with xmllint.
pub(crate) fn assert_schema_valid(xml: &str, version: PainVersion) {
    let xsd = repo_path(match version {
        PainVersion::V03 => "tests/fixtures/xsd/pain.001.001.03.xsd",
        PainVersion::V09 => "tests/fixtures/xsd/pain.001.001.09.xsd",
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pain.xml");
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint is installed (make test-deps installs libxml2-utils)");
    assert!(
        out.status.success(),
        "{}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn control_sum(xml: &str) -> Decimal {
    let start = xml.find("<CtrlSum>").unwrap() + "<CtrlSum>".len();
    let end = xml[start..].find('<').unwrap() + start;
    xml[start..end].parse().unwrap()
}

#[tokio::test]
async fn pay_run_writes_valid_sepa_files_with_the_scheduled_sums() {
    for db in BOTH {
        for version in [PainVersion::V03, PainVersion::V09] {
            let (t, docs) = demo(db).await;
            // What is scheduled in EUR, by invoice.
            let mut expected = Decimal::ZERO;
            let mut scheduled = BTreeSet::new();
            for doc in docs.values() {
                let id = t.store.invoice_for_document(*doc).await.unwrap().unwrap();
                let d = t.store.invoice_detail(id).await.unwrap().unwrap();
                if d.summary.status == InvoiceStatus::Scheduled
                    && d.summary.currency.as_deref() == Some("EUR")
                {
                    expected += d
                        .planned_payment
                        .as_ref()
                        .unwrap()
                        .amount
                        .parse::<Decimal>()
                        .unwrap();
                    scheduled.insert(id.0);
                }
            }
            assert!(scheduled.len() >= 5, "{db:?}");
            // Kaffeewerk's 2/10 net 30 on KW-2026-1203 (19 March): paying by
            // 27 March (29th is a Sunday) takes 2%.
            let early = payments::create_run(
                &t.store,
                &t.settings,
                date("2026-03-27"),
                "EUR",
                version,
                "test",
            )
            .await
            .unwrap();
            let run1 = early.run.expect("a run on 27 March");
            assert_eq!(early.paid.len(), 1, "{db:?}");
            assert_eq!(
                (early.paid[0].remittance.as_str(), early.paid[0].discount),
                ("KW-2026-1203", "6.63".parse().unwrap())
            );
            let late = payments::create_run(
                &t.store,
                &t.settings,
                date("2026-04-30"),
                "EUR",
                version,
                "test",
            )
            .await
            .unwrap();
            let run2 = late.run.expect("a run on 30 April");
            for run in [&run1, &run2] {
                assert_schema_valid(&run.document, version);
                assert_eq!(control_sum(&run.document), run.total);
            }
            assert_eq!(
                run1.total + run2.total,
                expected,
                "{db:?}: the runs pay exactly the scheduled invoices"
            );
            let mut paid: BTreeSet<i64> = t
                .store
                .payment_run_invoices(run1.id)
                .await
                .unwrap()
                .into_iter()
                .collect();
            paid.extend(t.store.payment_run_invoices(run2.id).await.unwrap());
            assert_eq!(paid, scheduled);
            // Remittance carries the invoice number.
            assert!(run2.document.contains("<Ustrd>RE-2026-00412</Ustrd>"));
            // Pounds go as a plain ISO 20022 transfer: no SEPA service level.
            let gbp = payments::create_run(
                &t.store,
                &t.settings,
                date("2026-04-30"),
                "GBP",
                version,
                "test",
            )
            .await
            .unwrap()
            .run
            .expect("the GBP invoice is due");
            assert_schema_valid(&gbp.document, version);
            assert!(!gbp.document.contains("SEPA") && gbp.document.contains("Ccy=\"GBP\""));
            // Nothing is due twice.
            let again = payments::create_run(
                &t.store,
                &t.settings,
                date("2026-04-30"),
                "EUR",
                version,
                "test",
            )
            .await
            .unwrap();
            assert!(again.run.is_none(), "{db:?}");
        }
    }
}

#[tokio::test]
async fn bank_outcomes_update_invoices() {
    let (t, _) = demo(crate::helpers::Db::Sqlite).await;
    let run = eur_run(&t, "2026-04-30", "test").await.run.unwrap();
    let ids = t.store.payment_run_invoices(run.id).await.unwrap();
    assert!(!ids.is_empty());
    assert!(
        payments::settle_run(&t.store, run.id, false, "AC04 account closed", "bank-file")
            .await
            .unwrap()
    );
    assert!(
        !payments::settle_run(&t.store, run.id, true, "", "bank-file")
            .await
            .unwrap(),
        "settled once"
    );
    for id in &ids {
        let s = t
            .store
            .invoice_summary(apflow::domain::InvoiceId(*id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.status, InvoiceStatus::NeedsReview);
        assert!(s.reasons.contains(&"payment_failed".to_string()));
    }
    // A failed payment is never sent again by itself.
    assert!(eur_run(&t, "2026-12-31", "test").await.run.is_none());
}

/// Any sequence of runs on random dates, runs interrupted after their
/// commit, repeated runs and bank answers: no invoice is ever in two runs,
/// no duplicate or held invoice is ever in one, and every file's control
/// sum is its payments' sum.
#[tokio::test]
async fn exactly_once_under_random_sequences() {
    for seed in 1..=4u64 {
        let (t, docs) = demo(crate::helpers::Db::Sqlite).await;
        let mut rng = seed;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) as usize
        };
        let mut seen: BTreeMap<i64, i64> = BTreeMap::new();
        let mut open_runs = Vec::new();
        for _ in 0..12 {
            match next() % 4 {
                0 | 1 => {
                    let day = date("2026-03-20") + chrono::Days::new((next() % 60) as u64);
                    let out = payments::create_run(
                        &t.store,
                        &t.settings,
                        day,
                        "EUR",
                        PainVersion::V03,
                        "test",
                    )
                    .await
                    .unwrap();
                    if let Some(run) = out.run {
                        assert_eq!(control_sum(&run.document), run.total);
                        for inv in t.store.payment_run_invoices(run.id).await.unwrap() {
                            assert!(
                                seen.insert(inv, run.id).is_none(),
                                "seed {seed}: invoice {inv} in two runs"
                            );
                        }
                        open_runs.push(run.id);
                    }
                }
                2 => {
                    // A crashed process: the run committed, its file was never
                    // written out; the re-run must not pay those again.
                    let _ = payments::create_run(
                        &t.store,
                        &t.settings,
                        date("2026-04-15"),
                        "EUR",
                        PainVersion::V09,
                        "crashing",
                    )
                    .await
                    .unwrap()
                    .run
                    .inspect(|r| open_runs.push(r.id));
                    for run in t.store.open_payment_runs().await.unwrap() {
                        for inv in t.store.payment_run_invoices(run.id).await.unwrap() {
                            seen.entry(inv).or_insert(run.id);
                            assert_eq!(
                                seen[&inv], run.id,
                                "seed {seed}: invoice {inv} moved between runs"
                            );
                        }
                    }
                }
                _ => {
                    if let Some(run) = open_runs.pop() {
                        payments::settle_run(
                            &t.store,
                            run,
                            next() % 3 != 0,
                            "rejected by bank",
                            "bank",
                        )
                        .await
                        .unwrap();
                    }
                }
            }
        }
        let expectations = sample_expectations();
        for (file, status, _) in &expectations {
            let id = t
                .store
                .invoice_for_document(docs[file])
                .await
                .unwrap()
                .unwrap();
            if status != "scheduled" {
                assert!(
                    !seen.contains_key(&id.0),
                    "seed {seed}: {file} ({status}) was paid"
                );
            }
        }
    }
}

/// The payment webhook against a local server that refuses the first
/// attempts: every payment arrives once with its idempotency key and a
/// valid signature, and nothing is sent again once confirmed.
#[tokio::test]
async fn webhook_retries_signs_and_delivers_once() {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<(usize, Vec<(String, String, String)>)>>;
    let seen: Seen = Arc::new(Mutex::new((0, Vec::new())));
    let app = axum::Router::new()
        .route(
            "/pay",
            axum::routing::post(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: HeaderMap,
                 body: String| async move {
                    let mut s = seen.lock().unwrap();
                    s.0 += 1;
                    if s.0 <= 2 {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let h = |k: &str| {
                        headers
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    s.1.push((h("idempotency-key"), h("x-apflow-signature"), body));
                    StatusCode::OK
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let (t, _) = demo(crate::helpers::Db::Sqlite).await;
    let run = eur_run(&t, "2026-04-30", "test").await.run.unwrap();
    let hook = payments::Webhook {
        url: format!("http://{addr}/pay"),
        secret: "s3cret".into(),
        attempts: 4,
        first_backoff: std::time::Duration::from_millis(10),
    };
    let report = payments::deliver_webhook(&t.store, &hook).await.unwrap();
    assert_eq!(
        (report.delivered, report.failed),
        (usize::try_from(run.payments).unwrap(), 0)
    );
    let again = payments::deliver_webhook(&t.store, &hook).await.unwrap();
    assert_eq!(
        (again.delivered, again.failed),
        (0, 0),
        "confirmed payments are not sent again"
    );
    let (requests, received) = {
        let s = seen.lock().unwrap();
        (s.0, s.1.clone())
    };
    assert_eq!(
        requests,
        received.len() + 2,
        "two refused attempts were retried"
    );
    let keys: BTreeSet<&str> = received.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys.len(), received.len(), "each payment once");
    for (key, sig, body) in &received {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(body.as_bytes());
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, &format!("sha256={want}"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["idempotency_key"], key.as_str());
        assert!(
            v["remittance_information"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        );
    }
    server.abort();
}

/// A run above the approval limit is held until a second person approves
/// it; paid invoices export for the ERP.
#[tokio::test]
async fn approval_limit_and_erp_export() {
    let (mut t, _) = demo(crate::helpers::Db::Sqlite).await;
    t.settings.run_approval_limit = Some("1000".parse().unwrap());
    let run = eur_run(&t, "2026-04-30", "clerk-anna").await.run.unwrap();
    assert!(run.needs_approval && !run.released());
    let hook = payments::Webhook {
        url: "http://127.0.0.1:9/never".into(),
        secret: "x".into(),
        attempts: 1,
        first_backoff: std::time::Duration::from_millis(1),
    };
    assert_eq!(
        payments::deliver_webhook(&t.store, &hook).await.unwrap(),
        payments::Delivered::default(),
        "nothing leaves before approval"
    );
    assert!(
        !payments::approve_run(&t.store, run.id, "clerk-anna")
            .await
            .unwrap(),
        "not by whoever created it"
    );
    assert!(
        payments::approve_run(&t.store, run.id, "controller-ben")
            .await
            .unwrap()
    );
    assert!(
        t.store
            .payment_run(run.id)
            .await
            .unwrap()
            .unwrap()
            .released()
    );
    assert!(
        payments::settle_run(&t.store, run.id, true, "", "bank")
            .await
            .unwrap()
    );
    let paid = t.store.paid_invoices().await.unwrap();
    assert_eq!(paid.len(), usize::try_from(run.payments).unwrap());
    let total: Decimal = paid
        .iter()
        .map(|p| p.paid_amount.parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(total, run.total);
    for p in &paid {
        let s = t
            .store
            .invoice_summary(apflow::domain::InvoiceId(p.invoice_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.status, InvoiceStatus::Paid);
    }
}

/// A pain.002 status report from the bank settles payments one by one.
#[tokio::test]
async fn bank_status_report_settles_each_transfer() {
    let (t, _) = demo(crate::helpers::Db::Sqlite).await;
    let out = eur_run(&t, "2026-04-30", "test").await;
    let run = out.run.unwrap();
    let (ok, bad) = (&out.paid[0], &out.paid[1]);
    let report = format!(
        r#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2026-04-30T12:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{msg}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>{msg}</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>{a}</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>{b}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>someone-else</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"#,
        msg = run.message_id,
        a = ok.idempotency_key,
        b = bad.idempotency_key
    );
    let applied = workflow::payments::apply_status_report(&t.store, &report, "bank")
        .await
        .unwrap();
    assert_eq!(
        (applied.executed, applied.failed, applied.unknown),
        (1, 1, 1)
    );
    let again = workflow::payments::apply_status_report(&t.store, &report, "bank")
        .await
        .unwrap();
    assert_eq!(
        (again.executed, again.failed, again.unknown),
        (0, 0, 3),
        "applying twice changes nothing"
    );
    let status = |id: i64| {
        let store = t.store.clone();
        async move {
            store
                .invoice_summary(apflow::domain::InvoiceId(id))
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(status(ok.invoice_id).await.status, InvoiceStatus::Paid);
    let b = status(bad.invoice_id).await;
    assert_eq!(b.status, InvoiceStatus::NeedsReview);
    assert!(b.reasons.contains(&"payment_failed".to_string()));
    let d = t
        .store
        .invoice_detail(apflow::domain::InvoiceId(bad.invoice_id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        d.discrepancies
            .iter()
            .any(|x| x.message.contains("RJCT AC04"))
    );
}

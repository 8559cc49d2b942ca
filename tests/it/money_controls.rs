//! Money controls (issue 15), each tried the way a clerk acting alone or an
//! outside sender would try to get around it, through the real HTTP API on
//! SQLite and PostgreSQL. Every test here failed on the code before the
//! controls: an approval paid an unverified IBAN, a clerk's correction
//! alone scheduled a payment, fields changed after approval, an import
//! replaced bank accounts silently.

use axum::body::Body;
use axum::http::Request;

use apflow::domain::{InvoiceId, Role};

use crate::auth::{invoice_id, processed_samples, reasons_of, status_of};
use crate::helpers::{BOTH, Db, TestDb, fresh};
use crate::web::{Api, act, send};

/// The invoice's payment, if any: (state, amount, IBAN).
async fn payment_of(pool: &sqlx::AnyPool, id: i64) -> Option<(String, String, Option<String>)> {
    sqlx::query_as("SELECT state, amount, creditor_iban FROM payments WHERE invoice_id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

/// Uploads a one-page text PDF from a known vendor of the sample master
/// data (its name, VAT id and verified IBAN, an invoice number and date)
/// followed by `lines`; the invoice's id.
async fn upload_from_known_vendor(t: &TestDb, file: &str, number: &str, lines: &[&str]) -> i64 {
    crate::helpers::load_sample_master_data(&t.store).await;
    let head = [
        "Nordlicht Buerobedarf GmbH",
        "USt-IdNr. DE273849154",
        &format!("Rechnungsnummer: {number}"),
        "Rechnungsdatum: 05.11.2026",
        "IBAN DE34 2005 0550 1234 5678 90",
    ]
    .map(str::to_string);
    let text: String = head
        .iter()
        .map(String::as_str)
        .chain(lines.iter().copied())
        .map(|l| format!("({l}) Tj T* "))
        .collect();
    let content = format!("BT /F1 11 Tf 14 TL 72 760 Td {text}ET").into_bytes();
    let pdf = crate::hostile::pdf_with_contents(&[content], false);
    let doc = crate::helpers::process_upload(t, file, pdf).await;
    t.store
        .invoice_for_document(doc)
        .await
        .unwrap()
        .expect("an invoice")
        .0
}

/// A field's stored value and confidence.
async fn stored_field(pool: &sqlx::AnyPool, id: i64, name: &str) -> (rust_decimal::Decimal, f64) {
    let (value, confidence): (String, f64) = sqlx::query_as(
        "SELECT value, confidence FROM invoice_fields WHERE invoice_id = $1 AND field = $2",
    )
    .bind(id)
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap();
    (value.parse().unwrap(), confidence)
}

/// POSTs JSON as `api` to `/api/invoices/{id}/{action}`; status and body.
async fn drain(t: &TestDb) {
    apflow::workflow::drain(&t.store, &t.settings, &[])
        .await
        .unwrap();
}

fn correction(field: &str, value: &str) -> String {
    format!(r#"{{"field": "{field}", "value": "{value}"}}"#)
}

/// Finding 1: a bank change is verified before approval. Sample 12 asks
/// to be paid to an IBAN its vendor never had: no approval pays it until
/// an approver or admin who did not send it verifies the account.
#[tokio::test]
async fn an_unverified_bank_account_cannot_be_approved() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "R-26-0915").await;
        assert!(
            reasons_of(&pool, id)
                .await
                .contains(&"bank_details_changed".into())
        );
        let admin = Api::as_role(&t, Role::Admin).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        assert_eq!(
            act(&admin, id, "request-approval", r#"{"comment": "checked"}"#)
                .await
                .0,
            204
        );
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert_eq!(code, 403, "{db:?}: approved an unverified IBAN: {why}");
        assert!(why.contains("not a verified account"), "{why}");
        assert_eq!(status_of(&pool, id).await, "awaiting_approval");
        assert_eq!(payment_of(&pool, id).await, None);
        // Neither a clerk nor the one who sent it may verify it.
        assert_eq!(act(&clerk, id, "verify-iban", "{}").await.0, 403);
        let (code, why) = act(&admin, id, "verify-iban", "{}").await;
        assert_eq!(code, 403, "{db:?}: the sender verified: {why}");
        assert_eq!(act(&approver, id, "verify-iban", "{}").await.0, 204);
        // Who verified the account for this invoice does not also approve it.
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert_eq!(code, 403, "{db:?}: verified and approved alone: {why}");
        let approver2 = Api::as_role(&t, Role::Approver).await;
        let (code, why) = act(&approver2, id, "approve", "{}").await;
        assert_eq!(code, 204, "{why}");
        assert_eq!(status_of(&pool, id).await, "scheduled");
        let inv = t.store.load_extraction(InvoiceId(id)).await.unwrap();
        let (state, _, iban) = payment_of(&pool, id).await.unwrap();
        assert_eq!(state, "planned");
        assert_eq!(iban, inv.iban.map(|f| f.value));
        pool.close().await;
    }
}

/// Finding 1, second half: an invoice from a vendor nobody entered in the
/// master data (sample 11) names its own IBAN; one approval must not pay it.
#[tokio::test]
async fn an_unknown_vendor_cannot_be_approved() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "SB-2026-047").await;
        assert!(
            reasons_of(&pool, id)
                .await
                .contains(&"vendor_unknown".into())
        );
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        assert_eq!(
            act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#)
                .await
                .0,
            204
        );
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert_eq!(code, 403, "{db:?}: paid an unknown vendor: {why}");
        assert!(why.contains("not in the master data"), "{why}");
        assert_eq!(payment_of(&pool, id).await, None);
        pool.close().await;
    }
}

/// Finding 2: a clerk's correction that clears every reason does not
/// schedule the payment; it waits for an approver, who sees old -> new.
#[tokio::test]
async fn a_clerks_correction_alone_never_schedules_a_payment() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "TPI-2026-0342").await;
        assert!(
            reasons_of(&pool, id)
                .await
                .contains(&"totals_mismatch".into())
        );
        let inv = t.store.load_extraction(InvoiceId(id)).await.unwrap();
        let sum = inv.net_amount.unwrap().value + inv.tax_amount.unwrap().value;
        let old_total = inv.total_amount.unwrap().value;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let (code, _) = act(
            &clerk,
            id,
            "fields",
            &correction("total_amount", &sum.to_string()),
        )
        .await;
        assert_eq!(code, 204);
        drain(&t).await;
        let reasons = reasons_of(&pool, id).await;
        assert_eq!(
            status_of(&pool, id).await,
            "needs_review",
            "{db:?}: scheduled by a clerk alone ({reasons:?})"
        );
        assert!(!reasons.contains(&"totals_mismatch".into()), "{reasons:?}");
        assert!(reasons.contains(&"changed_by_person".into()), "{reasons:?}");
        assert_eq!(payment_of(&pool, id).await, None);
        // The approver is shown what changed.
        let (_, detail) = crate::web::get(&approver, &format!("/api/invoices/{id}")).await;
        let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
        let change = &detail["changes"][0];
        assert_eq!(change["field"], "total_amount");
        assert_eq!(change["old"], old_total.to_string());
        assert_eq!(change["new"], sum.to_string());
        assert_eq!(change["by"], clerk.username.as_str());
        assert_eq!(
            act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#)
                .await
                .0,
            204
        );
        assert_eq!(act(&approver, id, "approve", "{}").await.0, 204);
        let (_, amount, _) = payment_of(&pool, id).await.unwrap();
        let amount: rust_decimal::Decimal = amount.parse().unwrap();
        assert!(amount <= sum && amount > rust_decimal::Decimal::ZERO);
        pool.close().await;
    }
}

/// Finding 3: no correction once the invoice is with an approver or
/// decided; only an approver's reopen brings it back, withdrawing its
/// planned payment, and then it needs a fresh approval.
#[tokio::test]
async fn fields_are_frozen_once_sent_to_approval_or_decided() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let approver2 = Api::as_role(&t, Role::Approver).await;
        let attacker_iban = "DE89370400440532013000";
        // Waiting for approval: frozen.
        let waiting = invoice_id(&pool, "SB-2026-047").await;
        assert_eq!(
            act(
                &clerk,
                waiting,
                "request-approval",
                r#"{"comment": "checked"}"#
            )
            .await
            .0,
            204
        );
        let (code, why) = act(
            &clerk,
            waiting,
            "fields",
            &correction("iban", attacker_iban),
        )
        .await;
        assert_eq!(code, 403, "{db:?}: changed while awaiting approval: {why}");
        assert_eq!(
            act(
                &clerk,
                waiting,
                "fields",
                &correction("total_amount", "1.00")
            )
            .await
            .0,
            403
        );
        // Scheduled (touchless): frozen, and reopen is an approver's.
        let clean: i64 = sqlx::query_scalar(
            "SELECT invoice_id FROM payments WHERE state = 'planned' ORDER BY invoice_id LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(status_of(&pool, clean).await, "scheduled");
        let (code, _) = act(&clerk, clean, "fields", &correction("iban", attacker_iban)).await;
        assert_eq!(code, 403, "{db:?}: changed a scheduled invoice");
        assert_eq!(
            act(&clerk, clean, "reopen", r#"{"comment": "typo"}"#)
                .await
                .0,
            403
        );
        assert_eq!(
            act(&approver, clean, "reopen", "{}").await.0,
            400,
            "reason needed"
        );
        let (code, why) = act(&approver, clean, "reopen", r#"{"comment": "wrong amount"}"#).await;
        assert_eq!(code, 204, "{why}");
        assert_eq!(status_of(&pool, clean).await, "needs_review");
        assert_eq!(
            payment_of(&pool, clean).await,
            None,
            "planned payment withdrawn"
        );
        assert!(reasons_of(&pool, clean).await.contains(&"reopened".into()));
        // Now it may be corrected, and needs an approval again.
        assert_eq!(
            act(
                &clerk,
                clean,
                "fields",
                &correction("due_date", "2026-06-30")
            )
            .await
            .0,
            204
        );
        drain(&t).await;
        assert_eq!(status_of(&pool, clean).await, "needs_review");
        assert_eq!(payment_of(&pool, clean).await, None);
        assert_eq!(
            act(
                &clerk,
                clean,
                "request-approval",
                r#"{"comment": "checked"}"#
            )
            .await
            .0,
            204
        );
        assert_eq!(act(&approver2, clean, "approve", "{}").await.0, 204);
        assert_eq!(status_of(&pool, clean).await, "scheduled");
        // Rejected is final: no correction brings it back.
        let rejected = invoice_id(&pool, "TPI-2026-0342").await;
        assert_eq!(
            act(&clerk, rejected, "reject", r#"{"comment": "not ours"}"#)
                .await
                .0,
            204
        );
        assert_eq!(
            act(
                &clerk,
                rejected,
                "fields",
                &correction("total_amount", "5.00")
            )
            .await
            .0,
            403
        );
        drain(&t).await;
        assert_eq!(status_of(&pool, rejected).await, "rejected");
        pool.close().await;
    }
}

/// An invoice whose payment is in a run cannot be reopened: the money has
/// left (or is about to), and the run's file is what the bank has.
#[tokio::test]
async fn an_invoice_in_a_payment_run_cannot_be_reopened() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let approver = Api::as_role(&t, Role::Approver).await;
    let run = crate::payments::eur_run(&t, "2026-12-31", "test").await;
    let paid = run.paid.first().expect("a payment in the run").invoice_id;
    let (code, why) = act(&approver, paid, "reopen", r#"{"comment": "oops"}"#).await;
    assert_eq!(code, 403, "{why}");
    assert_eq!(status_of(&pool, paid).await, "scheduled");
    pool.close().await;
}

/// Finding 4: a master-data import that changes a known vendor's IBAN
/// only proposes it: the vendor keeps paying to its verified accounts
/// until a second person verifies the new one, and the import is audited.
#[tokio::test]
async fn an_import_proposes_a_bank_change_and_never_verifies_it() {
    for db in BOTH {
        let t = fresh(db).await;
        crate::helpers::load_sample_master_data(&t.store).await;
        let admin = Api::as_role(&t, Role::Admin).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let new_iban = "DE89370400440532013000";
        let line = format!(
            r#"{{"vendor_id": "V-1002", "name": "Kaffeewerk Rösterei GmbH", "ibans": ["{new_iban}"]}}"#
        );
        let req = Request::post("/api/import/vendors")
            .body(Body::from(line))
            .unwrap();
        let (code, body) = send(&admin, req).await;
        assert_eq!(code, 200);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["ibans_pending_verification"], 1);
        let vendor = |t: &TestDb| {
            let store = t.store.clone();
            async move {
                store
                    .vendors()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|v| v.vendor_id == "V-1002")
                    .unwrap()
            }
        };
        let v = vendor(&t).await;
        assert!(
            !apflow::validate::is_verified_iban(&v, new_iban),
            "{db:?}: an import verified a bank change: {:?}",
            v.ibans
        );
        let trail = t.store.audit_trail("vendor", "V-1002").await.unwrap();
        let imported = trail
            .iter()
            .rfind(|a| a.action == "vendor.imported")
            .expect("the import is audited");
        assert_eq!(imported.actor, admin.username);
        assert!(
            imported.detail.contains("ibans_pending_verification"),
            "{}",
            imported.detail
        );
        // The admin who proposed it may not verify it; an approver may.
        let users = t.store.users().await.unwrap();
        let user = |name: &str| users.iter().find(|u| u.username == name).unwrap().clone();
        let own = apflow::workflow::review::verify_iban(
            &t.store,
            "V-1002",
            new_iban,
            &user(&admin.username),
        )
        .await;
        assert!(
            matches!(
                own,
                Err(apflow::workflow::review::ReviewError::NotAllowed(_))
            ),
            "{own:?}"
        );
        apflow::workflow::review::verify_iban(
            &t.store,
            "V-1002",
            new_iban,
            &user(&approver.username),
        )
        .await
        .unwrap();
        assert!(apflow::validate::is_verified_iban(
            &vendor(&t).await,
            new_iban
        ));
        let accounts = t.store.bank_accounts("V-1002").await.unwrap();
        let verified = accounts.iter().find(|a| a.iban == new_iban).unwrap();
        assert_eq!(
            (verified.state.as_str(), verified.by.as_str()),
            ("verified", approver.username.as_str())
        );
    }
}

/// The payment carries its evidence: a planned payment whose IBAN or
/// amount no longer agrees with the invoice and the vendor's verified
/// accounts (changed behind the application's back) is refused by the
/// run, and its invoice goes back to review with the reason.
#[tokio::test]
async fn a_payment_run_refuses_a_payment_that_drifted_from_its_invoice() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let planned: Vec<i64> = sqlx::query_scalar(
            "SELECT invoice_id FROM payments WHERE state = 'planned' ORDER BY invoice_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(planned.len() >= 2, "{planned:?}");
        let (iban_changed, amount_changed) = (planned[0], planned[1]);
        sqlx::query(
            "UPDATE payments SET creditor_iban = 'GB82WEST12345698765432' WHERE invoice_id = $1",
        )
        .bind(iban_changed)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("UPDATE invoices SET total_amount = '1.00' WHERE id = $1")
            .bind(amount_changed)
            .execute(&pool)
            .await
            .unwrap();
        let run = crate::payments::eur_run(&t, "2026-12-31", "test").await;
        let refused: Vec<i64> = run.refused.iter().map(|(p, _)| p.invoice_id).collect();
        assert_eq!(refused, vec![iban_changed, amount_changed], "{db:?}");
        assert!(run.paid.iter().all(|p| !refused.contains(&p.invoice_id)));
        let file = run.run.expect("the others are paid").document;
        assert!(!file.contains("GB82WEST12345698765432"), "{db:?}: {file}");
        for id in refused {
            assert_eq!(status_of(&pool, id).await, "needs_review");
            assert!(
                reasons_of(&pool, id)
                    .await
                    .contains(&"payment_refused".into())
            );
            assert_eq!(payment_of(&pool, id).await, None);
        }
        pool.close().await;
    }
}

/// The segregation promise the old test only described: whoever sent an
/// invoice to approval may not approve it, even as an admin who changed
/// nothing.
#[tokio::test]
async fn whoever_sent_an_invoice_to_approval_cannot_approve_it() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let id = invoice_id(&pool, "TPI-2026-0342").await;
    let admin = Api::as_role(&t, Role::Admin).await;
    assert_eq!(
        act(&admin, id, "request-approval", r#"{"comment": "checked"}"#)
            .await
            .0,
        204
    );
    let (code, why) = act(&admin, id, "approve", "{}").await;
    assert_eq!(code, 403, "{why}");
    assert!(why.contains("sent this invoice to approval"), "{why}");
    assert_eq!(status_of(&pool, id).await, "awaiting_approval");
    pool.close().await;
}

/// A small deterministic generator, so a failing sequence can be replayed
/// from its seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Property: no sequence of clerks' actions alone (two clerks, any order
/// of corrections, holds, releases, requests for approval and re-checks)
/// ever leaves a planned payment that a person changed, or one that does
/// not pay the invoice's extracted total to a verified account. Each seed
/// is a short sequence on a fresh database, aimed at the invoices on the
/// review queue, where a clerk can act.
#[tokio::test]
async fn no_sequence_of_clerk_actions_alone_schedules_a_changed_payment() {
    for seed in 0..12u64 {
        clerk_sequence(seed).await;
    }
}

async fn clerk_sequence(seed: u64) {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let clerks = [
        Api::as_role(&t, Role::Clerk).await,
        Api::as_role(&t, Role::Clerk).await,
    ];
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE status = 'needs_review' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let vendors = t.store.vendors().await.unwrap();
    // What the pipeline read, before anyone touched anything, and the
    // corrections that clear a reason (the ones a clerk alone would use to
    // get money out): the total that closes the arithmetic, the vendor's
    // own verified IBAN, or another vendor's.
    let mut read = std::collections::BTreeMap::new();
    let mut repairs: Vec<(i64, &str, String)> = Vec::new();
    for (n, &id) in ids.iter().enumerate() {
        let inv = t.store.load_extraction(InvoiceId(id)).await.unwrap();
        if let (Some(net), Some(tax)) = (&inv.net_amount, &inv.tax_amount) {
            repairs.push((id, "total_amount", (net.value + tax.value).to_string()));
        }
        for v in [
            &vendors[n % vendors.len()],
            &vendors[(n + 1) % vendors.len()],
        ] {
            repairs.push((id, "iban", v.ibans[0].clone()));
        }
        read.insert(id, inv.total_amount.map(|f| f.value));
    }
    let values = [
        ("total_amount", "1.00"),
        ("net_amount", "10.00"),
        ("iban", "GB82WEST12345698765432"),
        ("due_date", "2026-04-30"),
        ("invoice_number", "X-1"),
    ];
    let mut rng = Lcg(seed);
    for _ in 0..8 {
        let id = ids[rng.next(ids.len())];
        let clerk = &clerks[rng.next(2)];
        match rng.next(9) {
            0..=2 => {
                let (id, f, v) = &repairs[rng.next(repairs.len())];
                act(clerk, *id, "fields", &correction(f, v)).await;
            }
            3 => {
                let (f, v) = values[rng.next(values.len())];
                act(clerk, id, "fields", &correction(f, v)).await;
            }
            4 => {
                act(clerk, id, "hold", r#"{"comment": "waiting"}"#).await;
            }
            5 => {
                act(clerk, id, "release", "{}").await;
            }
            6 => {
                act(clerk, id, "request-approval", r#"{"comment": "checked"}"#).await;
            }
            _ => drain(&t).await,
        }
    }
    drain(&t).await;
    let planned: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT p.invoice_id, p.amount, p.discount, p.creditor_iban, COALESCE(i.vendor_id, '') \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (id, amount, discount, iban, vendor) in planned {
        let changed = t.store.corrections(InvoiceId(id)).await.unwrap();
        let money: Vec<&str> = changed
            .iter()
            .map(|c| c.field.as_str())
            .filter(|f| apflow::workflow::review::MONEY_FIELDS.contains(f))
            .collect();
        assert!(
            money.is_empty(),
            "seed {seed}: invoice {id} paid after clerks changed {money:?}"
        );
        if let Some(read) = read.get(&id) {
            let paid: rust_decimal::Decimal = amount.parse::<rust_decimal::Decimal>().unwrap()
                + discount.parse::<rust_decimal::Decimal>().unwrap();
            assert_eq!(
                Some(paid),
                *read,
                "seed {seed}: invoice {id} pays another amount than was read"
            );
        }
        let v = vendors
            .iter()
            .find(|v| v.vendor_id == vendor)
            .expect("a known vendor");
        assert!(
            apflow::validate::is_verified_iban(v, iban.as_deref().unwrap_or("")),
            "seed {seed}: invoice {id}"
        );
    }
    pool.close().await;
}

/// Two payment runs started at the same moment on PostgreSQL (two `serve`
/// processes, or a scheduler and a person) never put one payment in both:
/// the claim's `state = 'planned'` guard is what stops it.
#[tokio::test]
async fn concurrent_payment_runs_pay_each_invoice_once() {
    let t = fresh(Db::Postgres).await;
    let pool = processed_samples(&t).await;
    let planned: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE state = 'planned'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(planned >= 2);
    for round in 0..5 {
        let run = || {
            let (store, settings) = (t.store.clone(), t.settings.clone());
            async move {
                apflow::workflow::payments::create_run(
                    &store,
                    &settings,
                    chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    "EUR",
                    apflow::payment::sepa::PainVersion::V03,
                    "test",
                )
                .await
            }
        };
        // Both transactions are open at once: each awaits the database
        // while the other runs.
        let (a, b) = tokio::join!(run(), run());
        let mut paid = Vec::new();
        for outcome in [a, b].into_iter().flatten() {
            paid.extend(outcome.paid.iter().map(|p| p.invoice_id));
        }
        let mut unique = paid.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            paid.len(),
            unique.len(),
            "round {round}: paid twice: {paid:?}"
        );
        // Put them back for the next round.
        sqlx::query("UPDATE payments SET state = 'planned', run_id = NULL")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM payment_runs")
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// A payment run above the approval limit is released by somebody other
/// than who created it, and both are real people with the right role: the
/// run no longer records a shared "cli" name that anyone could approve.
#[tokio::test]
async fn a_payment_run_is_released_by_a_second_person() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let db = format!("sqlite://{d}/apflow.db");
    let apflow = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
            .args(args)
            .current_dir(crate::helpers::repo_path(""))
            .env("APFLOW_DATABASE_URL", &db)
            .env("APFLOW_INBOX", format!("{d}/inbox"))
            .env("APFLOW_TODAY", "2026-03-20")
            .env("APFLOW_RUN_APPROVAL_LIMIT", "1")
            .output()
            .unwrap()
    };
    let demo = apflow(&["demo", "--no-serve"]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let run = apflow(&["pay", "run", "--date", "2026-12-31", "--by", "clerk"]);
    assert!(!run.status.success(), "a clerk created a payment run");
    let run = apflow(&["pay", "run", "--date", "2026-12-31", "--by", "admin"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let own = apflow(&["pay", "approve", "1", "--by", "admin"]);
    assert!(
        !own.status.success(),
        "the run's creator released it: {}",
        String::from_utf8_lossy(&own.stdout)
    );
    let other = apflow(&["pay", "approve", "1", "--by", "approver"]);
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
}

/// Never twice: sample 13 is sample 1 sent again. Reopened by an
/// approver, it cannot be approved; and a payment planted for it behind
/// the application's back is refused by the run, which pays the first.
#[tokio::test]
async fn the_same_invoice_is_never_paid_twice() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM invoices WHERE invoice_number = 'RE-2026-00412' ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let (first, again) = (ids[0], ids[1]);
        assert_eq!(status_of(&pool, again).await, "duplicate");
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let approver2 = Api::as_role(&t, Role::Approver).await;
        assert_eq!(
            act(
                &approver,
                again,
                "reopen",
                r#"{"comment": "not a duplicate?"}"#
            )
            .await
            .0,
            204
        );
        assert_eq!(
            act(
                &clerk,
                again,
                "request-approval",
                r#"{"comment": "checked"}"#
            )
            .await
            .0,
            204
        );
        let (code, why) = act(&approver2, again, "approve", "{}").await;
        assert_eq!(
            code, 403,
            "{db:?}: approved a second payment of one invoice: {why}"
        );
        assert!(why.contains("same number"), "{why}");
        // Planted behind the application's back: the run refuses it.
        sqlx::query("UPDATE invoices SET status = 'scheduled' WHERE id = $1")
            .bind(again)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO payments (invoice_id, idempotency_key, amount, currency, planned_on, state, created_at, \
             due_on, discount, reason, creditor_name, creditor_iban, remittance) \
             SELECT $1, 'planted', amount, currency, planned_on, 'planned', created_at, due_on, discount, reason, \
             creditor_name, creditor_iban, remittance FROM payments WHERE invoice_id = $2",
        )
        .bind(again)
        .bind(first)
        .execute(&pool)
        .await
        .unwrap();
        let run = crate::payments::eur_run(&t, "2026-12-31", "test").await;
        let paid: Vec<i64> = run.paid.iter().map(|p| p.invoice_id).collect();
        assert!(paid.contains(&first), "{db:?}: {paid:?}");
        assert!(!paid.contains(&again), "{db:?}: paid twice: {paid:?}");
        assert!(
            run.refused
                .iter()
                .any(|(p, why)| p.invoice_id == again && why.contains("never twice"))
        );
        pool.close().await;
    }
}

/// A clerk alone parks an invoice and brings it back: the release queues
/// its check in the same transaction, so it cannot be sent to approval on
/// the verdict from before it was parked; once checked, it can. Reopening
/// an invoice that does not exist is a 404, not a state error.
#[tokio::test]
async fn a_released_invoice_is_checked_before_it_can_go_to_approval() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let id = invoice_id(&pool, "SB-2026-047").await;
        let (code, why) = act(&clerk, id, "hold", r#"{"comment": "ask the vendor"}"#).await;
        assert_eq!(code, 204, "{db:?}: {why}");
        let (code, why) = act(&clerk, id, "release", "{}").await;
        assert_eq!(code, 204, "{db:?}: {why}");
        let (code, why) = act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#).await;
        assert_eq!(code, 409, "{db:?}: sent before its check ran: {why}");
        assert_eq!(status_of(&pool, id).await, "needs_review");
        drain(&t).await;
        let (code, why) = act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#).await;
        assert_eq!(code, 204, "{db:?}: {why}");
        let (code, _) = act(&approver, 999_999, "reopen", r#"{"comment": "x"}"#).await;
        assert_eq!(code, 404, "{db:?}");
    }
}

/// An outside sender's bank change that arrives packed (a ZIP uploaded by
/// a clerk, as the new upload unpacking does) is held like any other: the
/// vendor's new IBAN is found, nothing is planned, and the clerk alone can
/// neither verify the account nor approve the invoice.
#[tokio::test]
async fn a_bank_change_packed_in_an_archive_is_held_for_a_second_person() {
    for db in BOTH {
        let t = fresh(db).await;
        crate::helpers::load_sample_master_data(&t.store).await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let pdf = std::fs::read(crate::helpers::repo_path(
            "samples/invoices/12_fraenkel_R-26-0915.pdf",
        ))
        .unwrap();
        let archive = crate::mail::zip(&[("rechnung/R-26-0915.pdf", pdf)]);
        let (code, json) = crate::web::upload(&clerk, "unterlagen.zip", &archive).await;
        assert_eq!(code.as_u16(), 201, "{db:?}: {json}");
        drain(&t).await;
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let id = invoice_id(&pool, "R-26-0915").await;
        assert!(
            reasons_of(&pool, id)
                .await
                .contains(&"bank_details_changed".into()),
            "{db:?}"
        );
        assert_eq!(status_of(&pool, id).await, "needs_review");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}: planned");
        assert_eq!(act(&clerk, id, "verify-iban", "{}").await.0, 403);
        assert_eq!(act(&clerk, id, "approve", "{}").await.0, 403);
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}: planned");
        pool.close().await;
    }
}

/// A vendor's e-invoice that says it collects the money itself (SEPA
/// direct debit: payment means 59, a mandate, the buyer's account) was
/// planned as a transfer to the vendor's verified account: paid twice. It
/// now goes to review with the reason, and no approval turns it into a
/// transfer.
#[tokio::test]
async fn an_invoice_the_vendor_collects_by_direct_debit_is_never_transferred() {
    for db in BOTH {
        let t = fresh(db).await;
        crate::helpers::load_sample_master_data(&t.store).await;
        let xml = std::fs::read_to_string(crate::helpers::repo_path(
            "tests/fixtures/einvoice/en16931-allowances.cii.xml",
        ))
        .unwrap()
        .replace("Schraubenhandel Nord GmbH", "Nordlicht Bürobedarf GmbH")
        .replace("DE136695976", "DE273849154")
        .replace(
            "<ram:TypeCode>58</ram:TypeCode>\n        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>",
            "<ram:TypeCode>59</ram:TypeCode>\n        <ram:PayerPartyDebtorFinancialAccount><ram:IBANID>DE75512108001245126199</ram:IBANID></ram:PayerPartyDebtorFinancialAccount>",
        )
        .replace(
            "<ram:Description>Payable within 30 days net.</ram:Description>",
            "<ram:Description>We collect the amount by SEPA direct debit.</ram:Description><ram:DirectDebitMandateID>MANDATE-7</ram:DirectDebitMandateID>",
        );
        assert!(
            xml.contains("<ram:TypeCode>59</ram:TypeCode>"),
            "the fixture changed"
        );
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let (status, _) = crate::web::upload(&clerk, "debit.xml", xml.as_bytes()).await;
        assert_eq!(status.as_u16(), 201);
        drain(&t).await;
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let id = crate::auth::invoice_id(&pool, "RE-2026-0815").await;
        let reasons = reasons_of(&pool, id).await;
        assert!(
            reasons.contains(&"direct_debit".into()),
            "{db:?}: {reasons:?}"
        );
        assert_eq!(status_of(&pool, id).await, "needs_review", "{db:?}");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}");
        let approver = Api::as_role(&t, Role::Approver).await;
        assert_eq!(
            act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#)
                .await
                .0,
            204
        );
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert!(code >= 400, "{db:?}: approved into a transfer: {why}");
        assert!(why.contains("direct debit"), "{why}");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}");
        pool.close().await;
    }
}

/// A clerk acting alone against what an e-invoice says about the money:
/// the markers that keep a credit note, a direct debit or a prepayment from
/// being paid cannot be corrected away, and correcting the total of a
/// credit note does not make it payable either.
#[tokio::test]
async fn a_clerk_cannot_correct_a_credit_note_into_a_payment() {
    for db in BOTH {
        let t = fresh(db).await;
        crate::helpers::load_sample_master_data(&t.store).await;
        // A credit note of a known vendor, to its verified account.
        let xml = std::fs::read_to_string(crate::helpers::repo_path(
            "tests/fixtures/einvoice/xrechnung-credit-note.ubl.xml",
        ))
        .unwrap()
        .replace("Schraubenhandel Nord GmbH", "Nordlicht Bürobedarf GmbH")
        .replace("DE136695976", "DE273849154")
        .replace("DE02120300000000202051", "DE34200505501234567890");
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let (status, _) = crate::web::upload(&clerk, "credit.xml", xml.as_bytes()).await;
        assert_eq!(status.as_u16(), 201);
        drain(&t).await;
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let id = crate::auth::invoice_id(&pool, "GS-2026-0031").await;
        assert!(
            reasons_of(&pool, id).await.contains(&"credit_note".into()),
            "{db:?}"
        );
        for marker in ["credit_note", "direct_debit", "amount_due"] {
            let (code, why) = act(&clerk, id, "fields", &correction(marker, "")).await;
            assert!(code >= 400, "{db:?}: corrected {marker}: {why}");
        }
        assert_eq!(
            act(&clerk, id, "fields", &correction("total_amount", "30.00"))
                .await
                .0,
            204
        );
        // The correction is checked again first.
        drain(&t).await;
        let (code, why) = act(&clerk, id, "request-approval", r#"{"comment": "checked"}"#).await;
        assert_eq!(code, 204, "{why}");
        let approver = Api::as_role(&t, Role::Approver).await;
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert!(
            code >= 400,
            "{db:?}: a credit note approved for payment: {why}"
        );
        assert!(why.contains("credit note"), "{why}");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}");
        pool.close().await;
    }
}

/// An outside sender's receipt that prints the cash handed over and the
/// change but no total: the till's arithmetic gives apflow a total, and
/// that total alone never pays. The sender is a known vendor with one of
/// its verified IBANs on the page, so nothing else needs to hold it. A
/// clerk acting alone cannot approve it either.
#[tokio::test]
async fn a_total_from_cash_less_change_is_never_paid_without_a_person() {
    for db in BOTH {
        let t = fresh(db).await;
        let id = upload_from_known_vendor(
            &t,
            "receipt.pdf",
            "RE-2026-09999",
            &["CASH 1000.00", "CHANGE 0.00"],
        )
        .await;
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let (total, confidence) = stored_field(&pool, id, "total_amount").await;
        // The till's arithmetic gave the total, and says it is unsure.
        assert_eq!(total, rust_decimal::Decimal::new(1000, 0), "{db:?}");
        assert!(confidence < 0.5, "{db:?}: {confidence}");
        // Held for a person to check that total, whatever else holds it.
        let reasons = reasons_of(&pool, id).await;
        assert!(
            reasons.contains(&"low_confidence".into()),
            "{db:?}: {reasons:?}"
        );
        let status = status_of(&pool, id).await;
        assert!(
            !["scheduled", "approved", "paid"].contains(&status.as_str()),
            "{db:?}: {status} {reasons:?}"
        );
        let clerk = Api::as_role(&t, Role::Clerk).await;
        assert_eq!(act(&clerk, id, "approve", "{}").await.0, 403, "{db:?}");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}");
        pool.close().await;
    }
}

/// A visual invoice that prints a prepayment under its total: what is paid
/// is what is left, never the total (which would pay the prepayment twice).
/// An approver approves it as it is, on SQLite and PostgreSQL.
#[tokio::test]
async fn a_printed_prepayment_is_never_paid_again() {
    for db in BOTH {
        let t = fresh(db).await;
        let id = upload_from_known_vendor(
            &t,
            "prepaid.pdf",
            "RE-2026-09998",
            &[
                "Nettobetrag 1000.00",
                "USt 19% 190.00",
                "Gesamtbetrag 1190.00 EUR",
                "Anzahlung -500.00 EUR",
                "Zahlbetrag 690.00 EUR",
            ],
        )
        .await;
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let due = rust_decimal::Decimal::new(69000, 2);
        let total = stored_field(&pool, id, "total_amount").await.0;
        assert_eq!(total, rust_decimal::Decimal::new(119000, 2), "{db:?}");
        assert_eq!(stored_field(&pool, id, "amount_due").await.0, due, "{db:?}");
        // A clerk alone puts the prepayment back into the amount due and
        // approves: refused.
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let raise = correction("amount_due", "1190.00");
        assert_eq!(act(&clerk, id, "fields", &raise).await.0, 204, "{db:?}");
        drain(&t).await;
        assert_eq!(act(&clerk, id, "approve", "{}").await.0, 403, "{db:?}");
        assert_eq!(payment_of(&pool, id).await, None, "{db:?}");
        let undo = correction("amount_due", "690.00");
        assert_eq!(act(&clerk, id, "fields", &undo).await.0, 204, "{db:?}");
        drain(&t).await;
        let status = status_of(&pool, id).await;
        if status != "scheduled" {
            let admin = Api::as_role(&t, Role::Admin).await;
            let approver = Api::as_role(&t, Role::Approver).await;
            let (code, why) =
                act(&admin, id, "request-approval", r#"{"comment": "checked"}"#).await;
            assert_eq!(code, 204, "{db:?}: {why}");
            let (code, why) = act(&approver, id, "approve", "{}").await;
            assert_eq!(code, 204, "{db:?}: {why} {:?}", reasons_of(&pool, id).await);
        }
        let (_, amount, _) = payment_of(&pool, id).await.expect("a payment");
        assert_eq!(
            amount.parse::<rust_decimal::Decimal>().unwrap(),
            due,
            "{db:?}: paid {amount}"
        );
        pool.close().await;
    }
}

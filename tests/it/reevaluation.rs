//! Invoices often arrive before the goods or with a new bank account: they
//! wait on the review queue and go through by themselves once the receipt
//! is imported or the account verified.

use apflow::cli::{ImportKind, import_file};
use apflow::domain::InvoiceStatus;
use apflow::workflow;

use crate::helpers::{BOTH, TestDb, fresh, load_sample_master_data, process_upload, repo_path};

async fn ingest_sample(
    t: &TestDb,
    file: &str,
) -> (apflow::domain::DocumentId, InvoiceStatus, Vec<String>) {
    let bytes = std::fs::read(repo_path(&format!("samples/invoices/{file}"))).unwrap();
    let doc = process_upload(t, file, bytes).await;
    let (status, reasons) = status_of(t, doc).await;
    (doc, status, reasons)
}

async fn status_of(t: &TestDb, doc: apflow::domain::DocumentId) -> (InvoiceStatus, Vec<String>) {
    let id = t.store.invoice_for_document(doc).await.unwrap().unwrap();
    let s = t.store.invoice_summary(id).await.unwrap().unwrap();
    (s.status, s.reasons)
}

#[tokio::test]
async fn a_late_goods_receipt_releases_the_held_invoice() {
    for db in BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let (doc, status, reasons) = ingest_sample(&t, "07_brightside_INV-10482.pdf").await;
        assert_eq!(
            (status, reasons),
            (
                InvoiceStatus::NeedsReview,
                vec!["quantity_exceeds_received".to_string()]
            ),
            "{db:?}"
        );
        assert_eq!(
            workflow::waiting_for(&["quantity_exceeds_received".into()]),
            Some("goods receipt")
        );

        let dir = tempfile::tempdir().unwrap();
        let late = dir.path().join("receipts.jsonl");
        std::fs::write(&late, r#"{"receipt_id": "GR-LATE-1", "po_number": "PO-2026-0107", "received_on": "2026-03-20", "lines": [{"line_no": 1, "quantity": "10"}]}"#).unwrap();
        let imported = import_file(&t.store, ImportKind::Receipts, &late)
            .await
            .unwrap();
        assert_eq!((imported.records, imported.reevaluated), (1, 1), "{db:?}");
        workflow::drain(&t.store, &t.settings, &[doc])
            .await
            .unwrap();
        assert_eq!(
            status_of(&t, doc).await,
            (InvoiceStatus::Scheduled, vec![]),
            "{db:?}: released by the receipt"
        );
        let id = t.store.invoice_for_document(doc).await.unwrap().unwrap();
        assert_eq!(t.store.payment_count_for_invoice(id).await.unwrap(), 1);
        let trail: Vec<String> = t
            .store
            .audit_trail("invoice", &id.to_string())
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert_eq!(
            trail,
            ["invoice.extracted", "invoice.routed", "invoice.routed"]
        );

        // Importing it again changes nothing and queues nothing.
        let again = import_file(&t.store, ImportKind::Receipts, &late)
            .await
            .unwrap();
        assert_eq!(again.reevaluated, 0);
    }
}

#[tokio::test]
async fn a_verified_bank_account_releases_the_held_invoice() {
    for db in BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let (doc, status, reasons) = ingest_sample(&t, "12_fraenkel_R-26-0915.pdf").await;
        assert_eq!(
            (status, reasons),
            (
                InvoiceStatus::NeedsReview,
                vec!["bank_details_changed".to_string()]
            ),
            "{db:?}"
        );
        assert_eq!(
            workflow::verify_vendor_iban(
                &t.store,
                "V-NOPE",
                "DE26100900007720145566",
                "controller"
            )
            .await
            .unwrap(),
            None
        );
        let queued = workflow::verify_vendor_iban(
            &t.store,
            "V-1006",
            "DE26100900007720145566",
            "controller",
        )
        .await
        .unwrap();
        assert_eq!(queued, Some(1), "{db:?}");
        workflow::drain(&t.store, &t.settings, &[doc])
            .await
            .unwrap();
        assert_eq!(
            status_of(&t, doc).await,
            (InvoiceStatus::Scheduled, vec![]),
            "{db:?}"
        );
        let trail = t.store.audit_trail("vendor", "V-1006").await.unwrap();
        let actions: Vec<(&str, &str)> = trail
            .iter()
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("vendor.imported", "cli:import"),
                ("vendor.bank_account_verified", "controller"),
                ("invoices.reevaluation_queued", "controller")
            ]
        );
    }
}

/// The check that catches two workers approving claims on the same PO line
/// at once: this invoice's quantities plus everything else billed there
/// must stay within what was received.
#[tokio::test]
async fn concurrent_claims_on_one_po_line_are_caught_after_commit() {
    use apflow::domain::{InvoiceId, LineMatch, MatchOutcome, MatchResult};
    use rust_decimal::Decimal;
    let t = fresh(crate::helpers::Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    let claim = |po: &str, qty: i64| MatchResult {
        po_number: Some(po.into()),
        po_inferred: false,
        outcome: MatchOutcome::Matched,
        findings: vec![],
        lines: vec![LineMatch {
            invoice_line: 0,
            po_line_no: 1,
            ordered_quantity: Decimal::ZERO,
            received_quantity: Decimal::ZERO,
            billed_before: Decimal::ZERO,
            po_unit_price: Decimal::ZERO,
            quantity: Decimal::from(qty),
            amount: Decimal::ZERO,
        }],
    };
    // PO-2026-0101 line 1: 40 received, nothing billed yet.
    assert!(
        !workflow::over_claimed(&t.store, InvoiceId(999), &claim("PO-2026-0101", 40))
            .await
            .unwrap()
    );
    assert!(
        workflow::over_claimed(&t.store, InvoiceId(999), &claim("PO-2026-0101", 41))
            .await
            .unwrap()
    );
    // Invoice 07 claims 30 of the 20 received on PO-2026-0107 line 1 (and is
    // held for it); another claim of 1 on the same line is over as well.
    let (doc, status, _) = ingest_sample(&t, "07_brightside_INV-10482.pdf").await;
    assert_eq!(status, InvoiceStatus::NeedsReview);
    let other = t.store.invoice_for_document(doc).await.unwrap().unwrap();
    assert!(
        workflow::over_claimed(&t.store, InvoiceId(other.0 + 1), &claim("PO-2026-0107", 1))
            .await
            .unwrap()
    );
}

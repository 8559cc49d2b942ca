//! The store on both databases: idempotent imports, content-hash dedup,
//! the append-only audit log, and a saved extraction read back intact.

use apflow::domain::*;
use apflow::store::{AuditEntry, JobKind, NewDocument};
use rust_decimal::Decimal;

use crate::helpers::{BOTH, fresh, load_sample_master_data};

fn audit() -> AuditEntry {
    AuditEntry {
        actor: "test".into(),
        action: "document.received",
        entity: "document",
        entity_id: String::new(),
        detail: serde_json::json!({}),
    }
}

#[tokio::test]
async fn master_data_imports_are_idempotent() {
    for db in BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        load_sample_master_data(&t.store).await;
        let vendors = t.store.vendors().await.unwrap();
        assert_eq!(vendors.len(), 6, "{db:?}");
        let po = t
            .store
            .purchase_order("PO-2026-0101")
            .await
            .unwrap()
            .expect("PO exists");
        assert_eq!(po.vendor_id, "V-1001");
        assert!(!po.lines.is_empty());
        // Two deliveries of line 1: 25 + 15, counted once each despite the re-import.
        let received = t.store.received_quantities("PO-2026-0101").await.unwrap();
        assert_eq!(received.get(&1), Some(&Decimal::new(40, 0)), "{db:?}");
        assert!(t.store.purchase_order("PO-NOPE").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn same_bytes_make_one_document() {
    for db in BOTH {
        let t = fresh(db).await;
        let (a, new_a) = t
            .store
            .insert_document(
                &NewDocument {
                    filename: "a.pdf",
                    content: b"%PDF-1.4 x",
                    sha256: "abc",
                    media_type: Some("application/pdf"),
                    source: "test",
                },
                3,
                &audit(),
            )
            .await
            .unwrap();
        let (b, new_b) = t
            .store
            .insert_document(
                &NewDocument {
                    filename: "b.pdf",
                    content: b"%PDF-1.4 x",
                    sha256: "abc",
                    media_type: Some("application/pdf"),
                    source: "test",
                },
                3,
                &audit(),
            )
            .await
            .unwrap();
        assert_eq!(a, b, "{db:?}");
        assert!(new_a && !new_b);
        let seen = t.store.document_sightings(a).await.unwrap();
        assert_eq!(
            seen,
            vec![("b.pdf".to_string(), "test".to_string())],
            "{db:?}: the later arrival is recorded"
        );
        let doc = t.store.document(a).await.unwrap().expect("stored");
        assert_eq!(doc.content, b"%PDF-1.4 x");
        assert_eq!(doc.meta.filename, "a.pdf");
        // One extract job, not two.
        assert_eq!(t.store.unfinished_jobs(&[a]).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn audit_log_is_append_only() {
    for db in BOTH {
        let t = fresh(db).await;
        t.store.audit(&audit()).await.unwrap();
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let update = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(&pool)
            .await;
        assert!(update.is_err(), "{db:?}: UPDATE on audit_log must fail");
        let delete = sqlx::query("DELETE FROM audit_log").execute(&pool).await;
        assert!(delete.is_err(), "{db:?}: DELETE on audit_log must fail");
    }
}

#[tokio::test]
async fn extraction_round_trips() {
    for db in BOTH {
        let t = fresh(db).await;
        let (doc, _) = t
            .store
            .insert_document(
                &NewDocument {
                    filename: "x.pdf",
                    content: b"%PDF-1.4 y",
                    sha256: "def",
                    media_type: None,
                    source: "test",
                },
                3,
                &audit(),
            )
            .await
            .unwrap();
        let job = t.store.claim_job("w1", 60_000).await.unwrap().expect("job");
        assert_eq!((job.kind, job.document_id), (JobKind::Extract, doc));
        let mut inv = ExtractedInvoice::empty(ExtractionSource::Visual);
        let bbox = BBox {
            x0: 10.0,
            y0: 20.0,
            x1: 30.0,
            y1: 40.0,
        };
        inv.invoice_number = Some(Field {
            value: "RE-1".into(),
            confidence: 0.9,
            location: Some((1, bbox)),
        });
        inv.invoice_date = chrono::NaiveDate::from_ymd_opt(2026, 3, 5).map(Field::exact);
        inv.total_amount = Some(Field::exact("1234.56".parse().unwrap()));
        inv.line_items.push(LineItem {
            description: Some("Paper".into()),
            quantity: Some(Decimal::new(25, 1)),
            amount: Some(Decimal::new(1000, 2)),
            confidence: 0.8,
            ..LineItem::default()
        });
        let id = t.store.save_extraction(&job, &inv, &audit()).await.unwrap();
        let back = t.store.load_extraction(id).await.unwrap();
        assert_eq!(back.invoice_number, inv.invoice_number, "{db:?}");
        assert_eq!(back.invoice_date, inv.invoice_date);
        assert_eq!(
            back.total_amount.map(|f| f.value.to_string()).as_deref(),
            Some("1234.56")
        );
        assert_eq!(back.line_items[0].quantity, Some(Decimal::new(25, 1)));
        // The next step was queued in the same transaction.
        let next = t
            .store
            .claim_job("w1", 60_000)
            .await
            .unwrap()
            .expect("decide job");
        assert_eq!(next.kind, JobKind::Decide);
    }
}

/// The audit log is a hash chain: intact after concurrent writers, and an
/// edited or removed entry is found by `apflow audit verify`.
#[tokio::test]
async fn audit_chain_detects_edits_and_removals() {
    use apflow::store::AuditEntry;
    for db in crate::helpers::BOTH {
        let t = crate::helpers::fresh(db).await;
        let entry = |i: usize| AuditEntry {
            actor: format!("tester{i}"),
            action: "test.entry",
            entity: "test",
            entity_id: i.to_string(),
            detail: serde_json::json!({ "n": i, "text": "line\nbreak" }),
        };
        // Writers in parallel (several connections on PostgreSQL).
        let writes: Vec<_> = (0..20)
            .map(|i| {
                let store = t.store.clone();
                let e = entry(i);
                tokio::spawn(async move { store.audit(&e).await })
            })
            .collect();
        for w in writes {
            w.await.unwrap().unwrap();
        }
        let v = t.store.verify_audit_chain().await.unwrap();
        assert_eq!((v.chained, v.broken_at.clone()), (20, None), "{db:?}");

        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
        // Someone with database access lifts the append-only guard.
        let lift = match db {
            crate::helpers::Db::Sqlite => {
                vec![
                    "DROP TRIGGER audit_log_no_update",
                    "DROP TRIGGER audit_log_no_delete",
                ]
            }
            crate::helpers::Db::Postgres => vec!["DROP TRIGGER audit_log_no_change ON audit_log"],
        };
        for sql in lift {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE audit_log SET detail = '{\"n\": 99}' WHERE id = $1")
            .bind(ids[5])
            .execute(&pool)
            .await
            .unwrap();
        let v = t.store.verify_audit_chain().await.unwrap();
        assert_eq!(v.chained, 5, "{db:?}");
        assert_eq!(v.broken_at.as_ref().map(|b| b.0), Some(ids[5]), "{db:?}");
        assert!(v.broken_at.unwrap().1.contains("edited"));

        // Undo the edit by deleting the entry: now the next one breaks.
        sqlx::query("DELETE FROM audit_log WHERE id = $1")
            .bind(ids[5])
            .execute(&pool)
            .await
            .unwrap();
        let v = t.store.verify_audit_chain().await.unwrap();
        assert_eq!(v.broken_at.as_ref().map(|b| b.0), Some(ids[6]), "{db:?}");
        assert!(v.broken_at.unwrap().1.contains("removed"));
        pool.close().await;
    }
}

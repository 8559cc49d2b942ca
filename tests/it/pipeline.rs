//! The whole pipeline on the sample invoices, on both databases: each
//! invoice ends with the status and reasons its scenario expects; bad input
//! is rejected with a reason and does not stop the next document.

use apflow::domain::{InvoiceStatus, RawDocument, Source};
use apflow::workflow;

use crate::helpers::{
    BOTH, fresh, ingest_samples, load_sample_master_data, repo_path, sample_expectations,
};

#[tokio::test]
async fn sample_invoices_route_as_their_scenarios_expect() {
    for db in BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let docs = ingest_samples(&t).await;
        let expectations = sample_expectations();
        let mut scheduled = 0;
        for (file, status, reasons) in &expectations {
            let id = t
                .store
                .invoice_for_document(docs[file])
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{file}: no invoice"));
            let s = t.store.invoice_summary(id).await.unwrap().expect("summary");
            let mut got = s.reasons.clone();
            got.sort();
            assert_eq!(
                (s.status.as_str(), &got),
                (status.as_str(), reasons),
                "{db:?} {file}"
            );
            if s.status == InvoiceStatus::Scheduled {
                scheduled += 1;
                assert_eq!(
                    t.store.payment_count_for_invoice(id).await.unwrap(),
                    1,
                    "{file}: one planned payment"
                );
            } else {
                assert_eq!(
                    t.store.payment_count_for_invoice(id).await.unwrap(),
                    0,
                    "{file}: never paid"
                );
            }
            // Every decision is explained in the audit log.
            let trail = t
                .store
                .audit_trail("invoice", &id.to_string())
                .await
                .unwrap();
            let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
            assert_eq!(actions, ["invoice.extracted", "invoice.routed"], "{file}");
        }
        assert!(
            scheduled >= 5,
            "{db:?}: clean invoices go through untouched"
        );
    }
}

#[tokio::test]
async fn bad_input_is_rejected_with_a_reason_and_the_next_file_still_runs() {
    let good = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    let truncated = good[..good.len() / 3].to_vec();
    for db in BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let inputs: Vec<(&str, Vec<u8>)> = vec![
            ("empty.pdf", Vec::new()),
            ("notes.txt", b"remember to buy milk".to_vec()),
            ("truncated.pdf", truncated.clone()),
            (
                "garbage.pdf",
                b"%PDF-1.7\n\x00\x01\x02 this is not really a pdf".to_vec(),
            ),
            (
                "crash.pdf",
                std::fs::read(repo_path("tests/fixtures/corrupt-panics-parser.pdf")).unwrap(),
            ),
            ("good.pdf", good.clone()),
        ];
        let mut ids = Vec::new();
        for (name, bytes) in inputs {
            let r = workflow::receive_document(
                &t.store,
                &RawDocument {
                    filename: name.into(),
                    bytes,
                    source: Source::Upload,
                },
                &t.settings,
            )
            .await
            .unwrap();
            ids.push((name, r.document_id));
        }
        let all: Vec<_> = ids.iter().map(|(_, id)| *id).collect();
        workflow::drain(&t.store, &t.settings, &all).await.unwrap();
        for (name, id) in &ids {
            let meta = t
                .store
                .document_meta(*id)
                .await
                .unwrap()
                .expect("document kept");
            if *name == "good.pdf" {
                assert_eq!(meta.status, "processed", "{db:?}");
                let inv = t
                    .store
                    .invoice_for_document(*id)
                    .await
                    .unwrap()
                    .expect("invoice");
                assert_eq!(
                    t.store.invoice_summary(inv).await.unwrap().unwrap().status,
                    InvoiceStatus::Scheduled
                );
            } else {
                assert_eq!(meta.status, "rejected", "{db:?} {name}");
                let reason = meta.reason.unwrap_or_default();
                assert!(!reason.is_empty(), "{name}: a reason is recorded");
                assert!(
                    t.store.document(*id).await.unwrap().is_some(),
                    "{name}: original kept"
                );
            }
        }
        let empty_reason = t
            .store
            .document_meta(ids[0].1)
            .await
            .unwrap()
            .unwrap()
            .reason
            .unwrap();
        assert_eq!(empty_reason, "empty file");
        let txt_reason = t
            .store
            .document_meta(ids[1].1)
            .await
            .unwrap()
            .unwrap()
            .reason
            .unwrap();
        assert!(
            txt_reason.contains("not a PDF, image or e-invoice XML"),
            "{txt_reason}"
        );
    }
}

#[tokio::test]
async fn inbox_folder_captures_stable_files_and_moves_them() {
    let t = fresh(crate::helpers::Db::Sqlite).await;
    let inbox = t.settings.inbox.clone();
    let mut watcher = apflow::capture::FolderWatcher::new(&inbox).unwrap();
    let src = repo_path("samples/invoices/05_tecnoparts_TPI-2026-0318.pdf");
    std::fs::copy(&src, inbox.join("scan.pdf")).unwrap();
    std::fs::write(inbox.join("partial.pdf.part"), b"%PDF-").unwrap();
    assert!(
        watcher.poll().await.unwrap().is_empty(),
        "a file seen once may still be growing"
    );
    let ready = watcher.poll().await.unwrap();
    assert_eq!(
        ready,
        vec![inbox.join("scan.pdf")],
        "stable files only, never .part"
    );
    let r = watcher
        .take(&t.store, &t.settings, &ready[0])
        .await
        .unwrap();
    assert!(r.new);
    assert!(inbox.join("processed/scan.pdf").exists());
    assert!(!inbox.join("scan.pdf").exists());
    // The same file dropped again is the same document.
    std::fs::copy(&src, inbox.join("scan-again.pdf")).unwrap();
    watcher.poll().await.unwrap();
    let again = watcher.poll().await.unwrap();
    let r2 = watcher
        .take(&t.store, &t.settings, &again[0])
        .await
        .unwrap();
    assert_eq!((r2.document_id, r2.new), (r.document_id, false));
}

/// `apflow serve` with an hour between folder listings still takes a file
/// dropped into the inbox, and one renamed into it, within seconds: file
/// events wake the watcher. A file still being written is left alone.
#[tokio::test]
async fn serve_takes_dropped_and_renamed_files_on_file_events() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let web = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.path().join("apflow.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = \"sqlite://{d}/apflow.db\"\nbind = \"127.0.0.1:{web}\"\npoll_interval_secs = 3600\n[inbox]\npath = \"{d}/inbox\"\n"
        ),
    )
    .unwrap();
    let url = format!("sqlite://{d}/apflow.db");
    let log = dir.path().join("serve.log");
    let _serve = crate::helpers::serve(&config, &log);
    let inbox = dir.path().join("inbox");
    let started = crate::helpers::wait_for(std::time::Duration::from_secs(30), || {
        let log = log.clone();
        async move { std::fs::read_to_string(&log).is_ok_and(|l| l.contains("file events")) }
    })
    .await;
    assert!(
        started,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    std::fs::copy(
        repo_path("samples/invoices/05_tecnoparts_TPI-2026-0318.pdf"),
        inbox.join("dropped.pdf"),
    )
    .unwrap();
    assert!(
        crate::helpers::wait_documents(&url, 1).await,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Written elsewhere, then renamed in (what mail clients and scanners
    // that write atomically do).
    let outside = dir.path().join("outside.pdf");
    std::fs::copy(
        repo_path("samples/invoices/03_atelier_F2026-0193.pdf"),
        &outside,
    )
    .unwrap();
    std::fs::rename(&outside, inbox.join("renamed.pdf")).unwrap();
    assert!(
        crate::helpers::wait_documents(&url, 2).await,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(inbox.join("processed/renamed.pdf").exists());
}

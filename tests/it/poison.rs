//! Poison documents: input that used to take the process down, or to be
//! run again after every crash. Each ends as one rejected or dead-lettered
//! document with its reason; the test process survives to check it.

use std::time::Duration;

use apflow::capture::mail::{MailLimits, documents_from_message};
use apflow::domain::{RawDocument, Source};
use apflow::workflow;

use crate::helpers::{BOTH, fresh, process_upload};

/// A CII e-invoice root with `depth` elements nested inside it: about 35 KB
/// for 5,000 levels. roxmltree recurses per level, so parsing it overflows
/// a thread's stack and aborts the process.
fn deep_xml(depth: usize) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?><rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\">{}{}</rsm:CrossIndustryInvoice>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
    .into_bytes()
}

/// A mail with `xml` attached as `text/xml`.
fn mail_with_xml(xml: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    format!(
        "From: billing@deep.example\r\nTo: ap@acme.example\r\nSubject: Invoice\r\nMessage-ID: <deep@deep.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n--B\r\nContent-Type: text/xml\r\nContent-Disposition: attachment; filename=\"invoice.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--B--\r\n"
    )
    .into_bytes()
}

const TOO_DEEP: &str = "XML nested deeper than 100 elements";

#[tokio::test]
async fn an_xml_nested_five_thousand_deep_is_rejected_with_a_reason() {
    for db in BOTH {
        let t = fresh(db).await;
        let id = process_upload(&t, "deep.xml", deep_xml(5_000)).await;
        let meta = t.store.document_meta(id).await.unwrap().expect("document");
        assert_eq!(
            (meta.status.as_str(), meta.reason.as_deref()),
            ("rejected", Some(TOO_DEEP)),
            "{db:?}"
        );
    }
}

#[tokio::test]
async fn the_same_xml_inside_a_mail_is_rejected_with_a_reason() {
    let mail = mail_with_xml(&deep_xml(5_000));
    let contents = documents_from_message(&mail, &MailLimits::default()).unwrap();
    assert_eq!(contents.documents.len(), 1, "{:?}", contents.skipped);
    for db in BOTH {
        let t = fresh(db).await;
        let mut ids = Vec::new();
        for d in &contents.documents {
            let raw = RawDocument {
                filename: d.path.clone(),
                bytes: d.bytes.clone(),
                source: Source::Upload,
            };
            let r = workflow::receive_document(&t.store, &raw, &t.settings)
                .await
                .unwrap();
            ids.push(r.document_id);
        }
        workflow::drain(&t.store, &t.settings, &ids).await.unwrap();
        let meta = t.store.document_meta(ids[0]).await.unwrap().unwrap();
        assert_eq!(
            (meta.status.as_str(), meta.reason.as_deref()),
            ("rejected", Some(TOO_DEEP)),
            "{db:?}"
        );
    }
}

/// A job whose process dies while running it (its lease expires, nothing
/// is recorded) `max_attempts` times is dead-lettered with the reason, and
/// never claimed again.
#[tokio::test]
async fn a_job_abandoned_on_every_attempt_ends_dead_lettered() {
    for db in BOTH {
        let mut t = fresh(db).await;
        t.settings.max_attempts = 3;
        let raw = RawDocument {
            filename: "a.pdf".into(),
            bytes: b"%PDF-1.4 crash".to_vec(),
            source: Source::Upload,
        };
        let document = workflow::receive_document(&t.store, &raw, &t.settings)
            .await
            .unwrap()
            .document_id;
        for attempt in 1..=3 {
            let job = t
                .store
                .claim_job(&format!("crashing-{attempt}"), 1)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{db:?}: attempt {attempt} is claimed"));
            assert_eq!(job.attempts, attempt, "{db:?}: counted when claimed");
            // The process dies here: no failure, no release is recorded.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            t.store.claim_job("next", 60_000).await.unwrap().is_none(),
            "{db:?}: the job is not run a fourth time"
        );
        assert_eq!(
            t.store.dead_job_error(document).await.unwrap().as_deref(),
            Some("gave up after 3 attempts: the process running it died or timed out"),
            "{db:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            t.store.claim_job("later", 60_000).await.unwrap().is_none(),
            "{db:?}: dead stays dead"
        );
        // The clerk sees it on the queue, with the reason.
        let clerk = crate::web::Api::as_role(&t, apflow::domain::Role::Clerk).await;
        let (_, page) = crate::web::get(&clerk, "/").await;
        let section = page
            .split("id=\"unprocessed\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{db:?}: no unprocessed documents on the queue: {page}"));
        assert!(
            section.contains("a.pdf")
                && section.contains("Gave up after several tries")
                && section.contains("gave up after 3 attempts"),
            "{db:?}: {section}"
        );
    }
}

/// A 120 MB file in the inbox (sparse: it takes no disk) goes to `failed/`
/// with its reason, unread, and stores no document.
#[tokio::test]
async fn an_inbox_file_over_the_document_limit_goes_to_failed_unread() {
    let t = fresh(crate::helpers::Db::Sqlite).await;
    let inbox = t.settings.inbox.clone();
    let mut watcher = apflow::capture::FolderWatcher::new(&inbox).unwrap();
    let big = std::fs::File::create(inbox.join("big.pdf")).unwrap();
    big.set_len(120 * 1024 * 1024).unwrap();
    drop(big);
    watcher.poll().await.unwrap();
    let ready = watcher.poll().await.unwrap();
    assert_eq!(ready, vec![inbox.join("big.pdf")]);
    let reason = watcher
        .take(&t.store, &t.settings, &ready[0])
        .await
        .expect_err("over the limit")
        .to_string();
    assert_eq!(
        reason,
        "file is 125829120 bytes, more than the 52428800 byte limit"
    );
    assert!(inbox.join("failed/big.pdf").exists());
    assert_eq!(
        std::fs::read_to_string(inbox.join("failed/big.reason.txt")).unwrap(),
        reason
    );
    assert_eq!(
        t.store.document_status_counts().await.unwrap(),
        Vec::<(String, i64)>::new(),
        "no document stored"
    );
}

/// A payment whose texts carry control characters and markup still gives
/// a pain.001 that parses and that the official schema accepts.
#[test]
fn a_payment_with_control_characters_gives_a_valid_pain001() {
    use apflow::payment::sepa::{CreditTransfer, CreditTransferFile, Debtor, PainVersion};
    use rust_decimal::Decimal;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
    let file = CreditTransferFile {
        message_id: "APFLOW-20260430-1".into(),
        created_at: day.and_hms_opt(10, 0, 0).unwrap(),
        execution_date: day,
        currency: "EUR".into(),
        debtor: Debtor {
            name: "Acme Einkauf GmbH".into(),
            iban: "DE89370400440532013000".into(),
            bic: Some("COBADEFFXXX".into()),
        },
        transfers: vec![CreditTransfer {
            end_to_end_id: "RE\u{1}<&>42".into(),
            amount: Decimal::new(12345, 2),
            creditor_name: "Émile Größe & Fils\u{1}".repeat(5),
            creditor_iban: "DE02120300000000202051".into(),
            remittance: "RE\u{1}<&>42 ".repeat(30),
        }],
    };
    for v in [PainVersion::V03, PainVersion::V09] {
        let xml = file.to_xml(v);
        roxmltree::Document::parse(&xml).expect("well-formed");
        crate::payments::assert_schema_valid(&xml, v);
    }
}

/// The real binary: `apflow ingest` of the deep XML, alone and in a mail,
/// reports both rejected with the reason and exits normally (the old code
/// read the XML in-process and the process died of a stack overflow).
#[test]
fn ingest_of_deep_xml_reports_it_rejected_and_exits_normally() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/a.db", dir.path().display());
    std::fs::write(dir.path().join("deep.xml"), deep_xml(5_000)).unwrap();
    // A different depth: other bytes, so not the same document again.
    std::fs::write(dir.path().join("deep.eml"), mail_with_xml(&deep_xml(5_001))).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
        .args(["--database-url", &db, "ingest", "--json"])
        .arg(dir.path().join("deep.xml"))
        .arg(dir.path().join("deep.eml"))
        .output()
        .unwrap();
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    for line in &lines {
        assert_eq!(line["status"], "rejected", "{line}");
        assert!(line.to_string().contains(TOO_DEEP), "{line}");
    }
}

/// A job still running at every shutdown is handed back with its attempt
/// counted, and handed back on its last attempt it is dead-lettered: a
/// document that hangs cannot ride restarts for ever either.
#[tokio::test]
async fn a_job_handed_back_at_every_shutdown_ends_dead_lettered() {
    for db in BOTH {
        let mut t = fresh(db).await;
        t.settings.max_attempts = 2;
        let raw = RawDocument {
            filename: "a.pdf".into(),
            bytes: b"%PDF-1.4 hangs".to_vec(),
            source: Source::Upload,
        };
        let document = workflow::receive_document(&t.store, &raw, &t.settings)
            .await
            .unwrap()
            .document_id;
        let first = t.store.claim_job("w1", 60_000).await.unwrap().unwrap();
        t.store.release_job(&first).await.unwrap();
        let second = t.store.claim_job("w2", 60_000).await.unwrap().unwrap();
        assert_eq!(second.attempts, 2, "{db:?}: the handed-back attempt counts");
        t.store.release_job(&second).await.unwrap();
        assert!(
            t.store.claim_job("w3", 60_000).await.unwrap().is_none(),
            "{db:?}: not run a third time"
        );
        assert_eq!(
            t.store.dead_job_error(document).await.unwrap().as_deref(),
            Some("gave up after 2 attempts: the last one was still running at shutdown"),
            "{db:?}"
        );
    }
}

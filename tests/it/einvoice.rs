//! E-invoices judged by EN 16931 (issue 18): `apflow check` as a user runs
//! it, fatal rules routing an invoice to review on both databases, and the
//! official examples and the ZUGFeRD corpus validating without a finding.
//! The invoices are `tests/fixtures/einvoice` (written for these tests);
//! the corpus part runs where `../shared/corpus` is checked out.

use std::path::{Path, PathBuf};
use std::process::Command;

use apflow::domain::InvoiceStatus;
use apflow::domain::einvoice::Severity;

use crate::helpers::{BOTH, fresh, process_upload, repo_path};

const VALID_CII: &str = "tests/fixtures/einvoice/en16931-allowances.cii.xml";
const VALID_XRECHNUNG: &str = "tests/fixtures/einvoice/xrechnung-credit-note.ubl.xml";

fn apflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_apflow"))
}

fn fixture(rel: &str) -> String {
    std::fs::read_to_string(repo_path(rel)).expect("fixture")
}

/// The valid CII invoice with its grand total (BT-112) and amount due
/// raised by 10.00: BT-112 no longer equals BT-109 + BT-110 (BR-CO-15).
fn broken_total() -> String {
    fixture(VALID_CII)
        .replace(
            "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
            "<ram:GrandTotalAmount>174.71</ram:GrandTotalAmount>",
        )
        .replace(
            "<ram:DuePayableAmount>164.71</ram:DuePayableAmount>",
            "<ram:DuePayableAmount>174.71</ram:DuePayableAmount>",
        )
}

/// The valid CII invoice whose BT-106 no longer is the sum of its lines,
/// with BT-109, BT-112 and BT-115 moved along so net + tax = total holds.
fn padded_lines() -> String {
    fixture(VALID_CII)
        .replace(
            "<ram:LineTotalAmount>145.48</ram:LineTotalAmount>",
            "<ram:LineTotalAmount>945.48</ram:LineTotalAmount>",
        )
        .replace(
            "<ram:TaxBasisTotalAmount>140.48</ram:TaxBasisTotalAmount>",
            "<ram:TaxBasisTotalAmount>940.48</ram:TaxBasisTotalAmount>",
        )
        .replace(
            "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
            "<ram:GrandTotalAmount>964.71</ram:GrandTotalAmount>",
        )
        .replace(
            "<ram:DuePayableAmount>164.71</ram:DuePayableAmount>",
            "<ram:DuePayableAmount>964.71</ram:DuePayableAmount>",
        )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn check_exits_by_what_it_found_and_names_the_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let valid = apflow()
        .arg("check")
        .arg(repo_path(VALID_CII))
        .arg(repo_path(VALID_XRECHNUNG))
        .output()
        .expect("run apflow check");
    let stdout = String::from_utf8_lossy(&valid.stdout);
    assert_eq!(valid.status.code(), Some(0), "{stdout}");
    assert_eq!(stdout.matches(": valid (").count(), 2, "{stdout}");
    assert!(stdout.contains("XRechnung"), "{stdout}");

    let broken = write(dir.path(), "broken.xml", &broken_total());
    let out = apflow().arg("check").arg(&broken).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("INVALID"), "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with("BR-CO-15 fatal: ")
            && l.contains("140.48 + 24.23 = 164.71, BT-112 says 174.71")
            && l.ends_with(
                "/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount"
            )),
        "{stdout}"
    );

    // A hybrid PDF whose attached XML is another invoice than its page:
    // valid XML, and every value the page contradicts named.
    let pdf = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    let hybrid = dir.path().join("hybrid.pdf");
    std::fs::write(
        &hybrid,
        crate::hybrid::attach_xml(&pdf, &fixture(VALID_CII)),
    )
    .unwrap();
    let out = apflow().arg("check").arg(&hybrid).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("XML-PAGE total_amount: the XML says 164.71, the page shows 1033.10"),
        "{stdout}"
    );

    let not_an_invoice = write(dir.path(), "notes.txt", "lunch order for friday");
    let out = apflow()
        .arg("check")
        .arg(repo_path(VALID_CII))
        .arg(&not_an_invoice)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unreadable file outranks a valid one"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("notes.txt: unreadable"));

    let out = apflow()
        .args(["check", "--json"])
        .arg(&broken)
        .arg(repo_path(VALID_XRECHNUNG))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json[0]["valid"], false);
    assert_eq!(json[0]["profile"], "EN 16931");
    let rules: Vec<&str> = json[0]["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter_map(|v| v["rule"].as_str())
        .collect();
    assert_eq!(rules, ["BR-CO-15"]);
    assert_eq!(json[1]["valid"], true);
    assert_eq!(json[1]["syntax"], "UBL CreditNote");
}

/// Uploads `xml`, runs the pipeline; the invoice and its summary.
async fn upload(
    t: &crate::helpers::TestDb,
    name: &str,
    xml: String,
) -> (apflow::domain::InvoiceId, apflow::store::InvoiceSummary) {
    let doc = process_upload(t, name, xml.into_bytes()).await;
    let id = t
        .store
        .invoice_for_document(doc)
        .await
        .unwrap()
        .expect("invoice");
    (
        id,
        t.store.invoice_summary(id).await.unwrap().expect("summary"),
    )
}

#[tokio::test]
async fn a_broken_einvoice_goes_to_review_with_the_rule_on_both_databases() {
    for db in BOTH {
        let t = fresh(db).await;
        // Valid, with a document level allowance and charge: the lines do
        // not add up to the net amount, and that is right.
        let (id, s) = upload(&t, "valid.xml", fixture(VALID_CII)).await;
        for wrong in ["einvoice_invalid", "line_sum_mismatch", "totals_mismatch"] {
            assert!(
                !s.reasons.iter().any(|r| r == wrong),
                "{db:?}: {:?}",
                s.reasons
            );
        }
        assert_eq!(t.store.einvoice_violations(id).await.unwrap(), vec![]);

        // Net + tax = total holds, but BT-106 is not its lines' sum.
        let (id, s) = upload(&t, "padded.xml", padded_lines()).await;
        assert_eq!(s.status, InvoiceStatus::NeedsReview, "{db:?}");
        assert!(
            s.reasons.iter().any(|r| r == "einvoice_invalid"),
            "{db:?}: {:?}",
            s.reasons
        );
        assert!(
            !s.reasons.iter().any(|r| r == "totals_mismatch"),
            "{db:?}: {:?}",
            s.reasons
        );
        let kept = t.store.einvoice_violations(id).await.unwrap();
        let rules: Vec<(&str, Severity)> =
            kept.iter().map(|v| (v.rule.as_str(), v.severity)).collect();
        assert_eq!(rules, [("BR-CO-10", Severity::Fatal)], "{db:?}");
        assert!(kept[0].message.contains("945.48"), "{}", kept[0].message);
        assert!(
            kept[0].path.ends_with("ram:LineTotalAmount"),
            "{}",
            kept[0].path
        );
        let extraction = t.store.load_extraction(id).await.unwrap();
        assert_eq!(
            extraction.einvoice_violations, kept,
            "{db:?}: the decide job sees them"
        );
    }
}

/// The corpus folders, where they are checked out beside the repository.
fn corpus(folder: &str) -> Option<PathBuf> {
    let path = repo_path("..").join("shared/corpus").join(folder);
    if path.is_dir() {
        Some(path)
    } else {
        eprintln!(
            "{} is not here; the conformance half is skipped",
            path.display()
        );
        None
    }
}

fn files_below(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, ext, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            out.push(path);
        }
    }
}

#[test]
fn the_official_examples_and_the_valid_corpus_break_no_rule() {
    let mut checked = Vec::new();
    let mut broken = Vec::new();
    if let Some(dir) = corpus("en16931-xml-examples") {
        let mut files = Vec::new();
        files_below(&dir, "xml", &mut files);
        assert_eq!(files.len(), 34, "the CEN examples");
        for file in files {
            let xml = std::fs::read(&file).expect("read");
            let model = apflow::read::einvoice::parse_model(&xml).expect("parses");
            // Not even a warning on the standard's own examples.
            let found = apflow::validate::en16931::check(&model);
            if !found.is_empty() {
                broken.push(format!("{}: {found:#?}", file.display()));
            }
            checked.push(file);
        }
    }
    if let Some(dir) = corpus("zugferd-corpus") {
        let mut files = Vec::new();
        files_below(&dir, "pdf", &mut files);
        assert_eq!(
            files.len(),
            93,
            "the ZUGFeRD v2 / Factur-X 'correct' subset"
        );
        for file in files {
            let pdf = pdf_extract::Document::load_mem(&std::fs::read(&file).expect("read"))
                .expect("a PDF");
            let xml = apflow::read::einvoice::embedded_xml(&pdf)
                .expect("readable attachment")
                .expect("an e-invoice attached");
            let model = apflow::read::einvoice::parse_model(&xml).expect("parses");
            // Warnings stay allowed here: KoSIT warns about a sample's
            // made-up IBAN (BR-DE-19) and a payment valuation type code in
            // XRechnung (BR-DE-17), and so does apflow.
            let fatal: Vec<_> = apflow::validate::en16931::check(&model)
                .into_iter()
                .filter(|v| v.severity == Severity::Fatal)
                .collect();
            if !fatal.is_empty() {
                broken.push(format!("{}: {fatal:#?}", file.display()));
            }
            checked.push(file);
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {} break rules:\n{}",
        broken.len(),
        checked.len(),
        broken.join("\n")
    );
}

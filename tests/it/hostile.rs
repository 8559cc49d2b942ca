//! PDFs that try to hurt the reader: locked ones, decompression bombs and
//! very long ones. Each ends with the document read or a clear reason,
//! in bounded time and memory; none takes the process down.

use apflow::read::{self, Error, ReadOptions};
use pdf_extract::{Document, EncryptionState, EncryptionVersion, Object, Permissions};

use crate::helpers::repo_path;

const SAMPLE: &str = "samples/invoices/01_nordlicht_RE-2026-00412.pdf";

/// Sample invoice 01 encrypted (RC4 128-bit) with this user password.
fn encrypted(user_password: &str) -> Vec<u8> {
    let mut doc = Document::load(repo_path(SAMPLE)).unwrap();
    // The file identifier seeds the key; producers always write one.
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::string_literal("apflow-test-id-01"),
            Object::string_literal("apflow-test-id-01"),
        ]),
    );
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner secret",
        user_password,
        key_length: 128,
        permissions: Permissions::all(),
    })
    .unwrap();
    doc.encrypt(&state).unwrap();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_pdf_locked_for_editing_only_is_read_and_a_password_protected_one_is_refused() {
    let open = read::read(&encrypted(""), &ReadOptions::default()).unwrap();
    let text: String = open.pages[0].lines.iter().map(|l| l.text()).collect();
    assert!(text.contains("RE-2026-00412"), "{text}");

    let locked = read::read(&encrypted("s3cret"), &ReadOptions::default());
    assert!(
        matches!(locked, Err(Error::PasswordProtected)),
        "{locked:?}"
    );
    assert_eq!(locked.unwrap_err().to_string(), "password protected");
}

/// A minimal PDF whose pages have these content streams (Helvetica).
pub fn pdf_with_contents(contents: &[Vec<u8>], flate: bool) -> Vec<u8> {
    let n = contents.len();
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    ];
    for (i, content) in contents.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        objects.push(crate::scans::stream(
            if flate { "/Filter /FlateDecode" } else { "" },
            content,
        ));
    }
    crate::scans::pdf_file(&objects)
}

#[test]
fn a_decompression_bomb_is_refused_before_it_is_unpacked() {
    use std::io::Write;
    // 400 MB of spaces in one content stream: about 400 KB compressed.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..400 {
        z.write_all(&chunk).unwrap();
    }
    let bomb = pdf_with_contents(&[z.finish().unwrap()], true);
    assert!(bomb.len() < 2_000_000, "{} bytes", bomb.len());
    let got = read::read(&bomb, &ReadOptions::default());
    assert!(
        matches!(got, Err(Error::DecompressionBomb { .. })),
        "{got:?}"
    );
}

#[test]
fn a_500_page_pdf_is_read_page_by_page() {
    let pages: Vec<Vec<u8>> = (1..=500)
        .map(|n| {
            format!("BT /F1 11 Tf 72 760 Td (Rechnung RE-500 Seite {n} von 500 Gesamtbetrag folgt) Tj ET")
                .into_bytes()
        })
        .collect();
    let pdf = pdf_with_contents(&pages, false);
    let doc = read::read(&pdf, &ReadOptions::default()).unwrap();
    assert_eq!(doc.pages.len(), 500);
    assert!(doc.pages[499].lines[0].text().contains("Seite 500 von 500"));
}

/// Through the pipeline, a password-protected PDF is not thrown away: it
/// waits on the review queue with the reason, for a clerk to ask the vendor.
#[tokio::test]
async fn a_password_protected_pdf_waits_for_review() {
    let t = crate::helpers::fresh(crate::helpers::Db::Sqlite).await;
    let doc = crate::helpers::process_upload(&t, "locked.pdf", encrypted("s3cret")).await;
    let id = t
        .store
        .invoice_for_document(doc)
        .await
        .unwrap()
        .expect("an invoice to review");
    let d = t.store.invoice_detail(id).await.unwrap().unwrap();
    assert_eq!(d.summary.status, apflow::domain::InvoiceStatus::NeedsReview);
    assert_eq!(d.summary.reasons, ["password_protected"]);
}

/// A PDF whose composite (CID) font has the given `/W` widths array,
/// showing two glyphs of it.
fn pdf_with_cid_widths(widths: &str) -> Vec<u8> {
    let objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Hostile /Encoding /Identity-H /DescendantFonts [6 0 R] >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>".to_vec(),
        crate::scans::stream("", b"BT /F1 11 Tf 72 760 Td <00410042> Tj ET"),
        format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Hostile /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /W {widths} >>"
        )
        .into_bytes(),
        b"<< /Type /FontDescriptor /FontName /Hostile /Flags 4 /FontBBox [0 0 1000 1000] /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>".to_vec(),
    ];
    crate::scans::pdf_file(&objects)
}

/// The widths array of a composite font comes from the file: a range of
/// 2^32 CIDs made the parser insert widths until it ran out of memory, and
/// an odd-length or malformed array made it panic. Read in the isolated
/// reader (4 GiB, killed at the deadline) as the service reads it, each
/// one now reads; before, each ended as a crashed read.
#[tokio::test]
async fn a_font_widths_array_cannot_exhaust_or_crash_the_reader() {
    let options = ReadOptions {
        isolate: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_apflow"))),
        ..ReadOptions::default()
    };
    for widths in [
        "[0 4294967295 500]",
        "[0 [500 600] 65]",
        "[/Name [500]]",
        "[0 65 /Wide]",
        "[65 [/Wide 600]]",
    ] {
        let pdf = pdf_with_cid_widths(widths);
        let got = read::read_document(
            std::sync::Arc::new(pdf),
            options.clone(),
            std::time::Duration::from_secs(20),
        )
        .await;
        assert!(got.is_ok(), "/W {widths}: {got:?}");
    }
}

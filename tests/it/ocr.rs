//! Reading scans: image-only PDFs, photos and multi-page TIFFs made from the
//! sample invoices go through OCR and come out with the invoice's number and
//! total; sideways pages are turned upright; oversized and broken images
//! fail with a clear reason.

use apflow::read::{self, ReadOptions};

use crate::helpers::repo_path;
use crate::scans::Gray;

const SAMPLE: &str = "samples/invoices/01_nordlicht_RE-2026-00412.pdf";

fn page(dpi: u32) -> Gray {
    Gray::render(&repo_path(SAMPLE), dpi)
}

fn all_text(doc: &apflow::domain::ReadDocument) -> String {
    doc.pages
        .iter()
        .flat_map(|p| &p.lines)
        .map(|l| l.text())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_scanned_pdf_is_read_with_ocr_and_extracted() {
    let scan = Gray::pdf(&[page(200)], 200);
    let doc = read::read(&scan, &ReadOptions::default()).unwrap();
    let text = all_text(&doc);
    assert!(text.contains("RE-2026-00412"), "{text}");
    let words: Vec<_> = doc.pages[0].lines.iter().flat_map(|l| &l.words).collect();
    assert!(
        words
            .iter()
            .all(|w| w.confidence > 0.0 && w.confidence <= 1.0)
    );
    assert!(
        words.iter().any(|w| w.confidence < 1.0),
        "OCR words carry the engine's confidence"
    );
    // Boxes are in PDF points on an A4 page.
    let number = words
        .iter()
        .find(|w| w.text.contains("RE-2026-00412"))
        .unwrap();
    assert!(
        number.bbox.x1 <= 595.5 && number.bbox.y1 <= 842.0,
        "{:?}",
        number.bbox
    );
    let invoice = apflow::extract::extract(&doc);
    assert_eq!(
        invoice.invoice_number.as_ref().map(|f| f.value.as_str()),
        Some("RE-2026-00412")
    );
    assert_eq!(
        invoice.total_amount.as_ref().map(|f| f.value.to_string()),
        Some("1033.10".to_string())
    );
}

/// An office scanner with dust on its glass: its numbers read as printed,
/// not broken by specks read as ".", ":" and "'". Fails with the specks
/// left in (`Pix::despeckled` taken out of `prepared`: "194,00" reads
/// "19400", checked).
#[test]
fn a_speckled_scan_reads_its_numbers() {
    let scan = Gray::tiff(&[page(300).speckled(1500)], 300);
    let doc = read::read(&scan, &ReadOptions::default()).unwrap();
    let words: Vec<&str> = doc
        .pages
        .iter()
        .flat_map(|p| &p.lines)
        .flat_map(|l| &l.words)
        .map(|w| w.text.as_str())
        .collect();
    for printed in [
        "RE-2026-00412",
        "194,00",
        "539,40",
        "868,15",
        "164,95",
        "1.033,10",
    ] {
        assert!(words.contains(&printed), "{printed} not read: {words:?}");
    }
}

#[test]
fn a_sideways_scan_is_turned_upright() {
    let scan = Gray::pdf(&[page(200).quarter_turn()], 200);
    let doc = read::read(&scan, &ReadOptions::default()).unwrap();
    let text = all_text(&doc);
    assert!(text.contains("RE-2026-00412"), "{text}");
}

#[test]
fn a_crooked_scan_is_straightened() {
    let scan = Gray::pdf(&[page(200).tilted(4.0)], 200);
    let doc = read::read(&scan, &ReadOptions::default()).unwrap();
    let invoice = apflow::extract::extract(&doc);
    assert_eq!(
        invoice.invoice_number.as_ref().map(|f| f.value.as_str()),
        Some("RE-2026-00412"),
        "{}",
        all_text(&doc)
    );
}

#[test]
fn photos_and_multi_page_tiffs_are_read() {
    let png = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-png", "-f", "1", "-l", "1"])
        .arg(repo_path("samples/invoices/03_atelier_F2026-0193.pdf"))
        .output()
        .unwrap()
        .stdout;
    let doc = read::read(&png, &ReadOptions::default()).unwrap();
    assert!(all_text(&doc).contains("F2026-0193"), "{}", all_text(&doc));
    assert_eq!(doc.kind, apflow::domain::DocumentKind::Png);

    // A phone photo or a scanner's JPEG.
    let jpeg = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-jpeg", "-f", "1", "-l", "1"])
        .arg(repo_path(
            "samples/invoices/05_tecnoparts_TPI-2026-0318.pdf",
        ))
        .output()
        .unwrap()
        .stdout;
    let doc = read::read(&jpeg, &ReadOptions::default()).unwrap();
    assert_eq!(doc.kind, apflow::domain::DocumentKind::Jpeg);
    assert!(
        all_text(&doc).contains("TPI-2026-0318"),
        "{}",
        all_text(&doc)
    );

    let second = Gray::render(
        &repo_path("samples/invoices/03_atelier_F2026-0193.pdf"),
        200,
    );
    let tiff = Gray::tiff(&[page(200), second], 200);
    let doc = read::read(&tiff, &ReadOptions::default()).unwrap();
    assert_eq!(doc.pages.len(), 2);
    assert_eq!(doc.pages[1].number, 2);
    let first_text: String = doc.pages[0].lines.iter().map(|l| l.text()).collect();
    let second_text: String = doc.pages[1].lines.iter().map(|l| l.text()).collect();
    assert!(first_text.contains("RE-2026-00412"), "{first_text}");
    assert!(second_text.contains("F2026-0193"), "{second_text}");
}

#[test]
fn oversized_and_broken_images_fail_with_a_reason() {
    // A PNG header claiming 20,000 x 20,000 pixels, and almost no data.
    let mut huge = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    huge.extend_from_slice(&20_000u32.to_be_bytes());
    huge.extend_from_slice(&20_000u32.to_be_bytes());
    huge.extend_from_slice(&[8, 0, 0, 0, 0]);
    huge.resize(64, 0);
    let err = read::read(&huge, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("pixel limit"), "{err}");

    let png = std::process::Command::new("pdftoppm")
        .args(["-r", "100", "-png", "-f", "1", "-l", "1"])
        .arg(repo_path(SAMPLE))
        .output()
        .unwrap()
        .stdout;
    let truncated = &png[..png.len() / 3];
    let err = read::read(truncated, &ReadOptions::default());
    // A cut-off photo either yields what is visible or a clear error;
    // it never takes the process down.
    if let Err(e) = err {
        assert!(e.to_string().starts_with("OCR failed"), "{e}");
    }

    let missing = ReadOptions {
        ocr: read::ocr::OcrOptions {
            languages: "xxx".into(),
            tessdata: None,
        },
        ..ReadOptions::default()
    };
    let err = read::read(&png, &missing).unwrap_err().to_string();
    assert!(err.contains("cannot load the languages"), "{err}");
}

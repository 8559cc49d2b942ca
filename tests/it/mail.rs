//! Documents out of real-world mail shapes: exactly which documents come
//! out of each, and why the rest does not.

use apflow::capture::mail::{MailLimits, documents_from_message};
use apflow::domain::DocumentKind;
use base64::Engine;

use crate::helpers::repo_path;

fn b64(bytes: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join("\r\n")
}

pub fn pdf(n: u8) -> Vec<u8> {
    let name = [
        "01_nordlicht_RE-2026-00412.pdf",
        "03_atelier_F2026-0193.pdf",
        "05_tecnoparts_TPI-2026-0318.pdf",
    ][usize::from(n)];
    std::fs::read(repo_path(&format!("samples/invoices/{name}"))).unwrap()
}

pub fn part(ctype: &str, disposition: &str, extra: &str, body: &[u8]) -> String {
    format!(
        "--B\r\nContent-Type: {ctype}\r\nContent-Disposition: {disposition}\r\n{extra}Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        b64(body)
    )
}

pub fn mail(parts: &[String]) -> Vec<u8> {
    format!(
        "From: Buchhaltung <rechnung@nordlicht.example>\r\nTo: ap@acme.example\r\nSubject: Rechnung RE-2026-00412\r\nMessage-ID: <abc@nordlicht.example>\r\nDate: Thu, 05 Mar 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nAnbei unsere Rechnung.\r\n{}--B--\r\n",
        parts.concat()
    )
    .into_bytes()
}

pub fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn png(size: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(size, 0);
    v
}

/// A `winmail.dat` as Outlook writes it: the TNEF signature and key, the
/// version and code page, then per attachment its rendering data, title
/// and bytes; every attribute is level, id, length, value, checksum.
fn winmail(attachments: &[(&str, &[u8])]) -> Vec<u8> {
    fn attribute(out: &mut Vec<u8>, level: u8, id: u32, value: &[u8]) {
        out.push(level);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&u32::try_from(value.len()).unwrap().to_le_bytes());
        out.extend_from_slice(value);
        let sum = value
            .iter()
            .fold(0u16, |s, b| s.wrapping_add(u16::from(*b)));
        out.extend_from_slice(&sum.to_le_bytes());
    }
    let mut out = vec![0x78, 0x9f, 0x3e, 0x22, 0x01, 0x00];
    attribute(&mut out, 1, 0x0008_9006, &[0, 0, 1, 0]);
    attribute(&mut out, 1, 0x0006_9007, &[0xe4, 0x04, 0, 0, 0, 0, 0, 0]);
    for (title, data) in attachments {
        attribute(
            &mut out,
            2,
            0x0006_9002,
            &[
                1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            ],
        );
        attribute(&mut out, 2, 0x0001_8010, format!("{title}\0").as_bytes());
        attribute(&mut out, 2, 0x0006_800f, data);
    }
    out
}

/// A large scan: a sample invoice padded to 20 MB.
fn big_pdf() -> Vec<u8> {
    let mut v = pdf(2);
    v.extend(std::iter::repeat_n(b' ', 20 * 1024 * 1024));
    v
}

/// Real-world mail shapes: a name, the message, the paths of the documents
/// that must come out of it, and how many parts are skipped (with a reason).
pub fn mail_shapes() -> Vec<(&'static str, Vec<u8>, Vec<&'static str>, usize)> {
    let forwarded = String::from_utf8(mail(&[part(
        "application/pdf",
        "attachment; filename=\"inner.pdf\"",
        "",
        &pdf(2),
    )]))
    .unwrap();
    vec![
        ("pdf attachment", mail(&[part("application/pdf", "attachment; filename=\"RE-2026-00412.pdf\"", "", &pdf(0))]), vec!["RE-2026-00412.pdf"], 0),
        ("inline pdf", mail(&[part("application/pdf", "inline; filename=\"rechnung.pdf\"", "", &pdf(0))]), vec!["rechnung.pdf"], 0),
        ("octet-stream pdf", mail(&[part("application/octet-stream", "attachment; filename=\"scan0001.bin\"", "", &pdf(0))]), vec!["scan0001.bin"], 0),
        (
            "forwarded message",
            format!(
                "From: a@b.example\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"O\"\r\n\r\n--O\r\nContent-Type: text/plain\r\n\r\nsiehe unten\r\n--O\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n{forwarded}\r\n--O--\r\n"
            )
            .into_bytes(),
            vec!["fwd.eml/inner.pdf"],
            0,
        ),
        ("zip with two invoices", mail(&[part("application/zip", "attachment; filename=\"bundle.zip\"", "", &zip(&[("a/RE-1.pdf", pdf(0)), ("../../etc/F-2.pdf", pdf(1))]))]), vec!["bundle.zip/RE-1.pdf", "bundle.zip/F-2.pdf"], 0),
        (
            "outlook winmail.dat",
            mail(&[part("application/ms-tnef", "attachment; filename=\"winmail.dat\"", "", &winmail(&[("RE-2026-00412.pdf", &pdf(0)), ("logo.png", &png(300))]))]),
            vec!["winmail.dat/RE-2026-00412.pdf"],
            1,
        ),
        (
            "broken winmail.dat",
            mail(&[part("application/ms-tnef", "attachment; filename=\"winmail.dat\"", "", &winmail(&[("a.pdf", &pdf(0))])[..60])]),
            vec![],
            1,
        ),
        ("logo only", mail(&[part("image/png", "inline", "Content-ID: <logo@x>\r\n", &png(4000))]), vec![], 1),
        ("small image attachment", mail(&[part("image/png", "attachment; filename=\"icon.png\"", "", &png(2000))]), vec![], 1),
        ("scanned image", mail(&[part("image/png", "attachment; filename=\"scan.png\"", "", &png(80_000))]), vec!["scan.png"], 0),
        ("not a document", mail(&[part("application/msword", "attachment; filename=\"terms.doc\"", "", b"\xd0\xcf\x11\xe0 word")]), vec![], 1),
            (
            "20 MB attachment",
            mail(&[part("application/pdf", "attachment; filename=\"scan-20mb.pdf\"", "", &big_pdf())]),
            vec!["scan-20mb.pdf"],
            0,
        ),
    ]
}

#[test]
fn finds_documents_however_they_are_packed() {
    let limits = MailLimits::default();
    for (name, raw, want, skipped) in mail_shapes() {
        let got = documents_from_message(&raw, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        let paths: Vec<&str> = got.documents.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, want, "{name}: {:?}", got.skipped);
        assert_eq!(got.skipped.len(), skipped, "{name}: {:?}", got.skipped);
        for d in &got.documents {
            assert!(
                matches!(d.kind, DocumentKind::Pdf | DocumentKind::Png),
                "{name}"
            );
        }
    }
    let first = documents_from_message(
        &mail(&[part(
            "application/pdf",
            "attachment; filename=\"x.pdf\"",
            "",
            &pdf(0),
        )]),
        &limits,
    )
    .unwrap();
    assert_eq!(
        first.provenance.from.as_deref(),
        Some("rechnung@nordlicht.example")
    );
    assert_eq!(
        first.provenance.message_id.as_deref(),
        Some("abc@nordlicht.example")
    );
    assert_eq!(
        first.provenance.subject.as_deref(),
        Some("Rechnung RE-2026-00412")
    );
    assert_eq!(first.documents[0].bytes, pdf(0), "bytes intact");
}

#[test]
fn archives_are_bounded() {
    // 300 MB of zeros compresses to a few hundred KB: a zip bomb.
    let bomb = zip(&[("huge.pdf", vec![0u8; 300 * 1024 * 1024])]);
    let limits = MailLimits {
        max_zip_bytes: 10 * 1024 * 1024,
        ..MailLimits::default()
    };
    let got = documents_from_message(
        &mail(&[part(
            "application/zip",
            "attachment; filename=\"b.zip\"",
            "",
            &bomb,
        )]),
        &limits,
    )
    .unwrap();
    assert!(got.documents.is_empty());
    assert!(
        got.skipped
            .iter()
            .any(|s| s.reason.contains("expands beyond")),
        "{:?}",
        got.skipped
    );
    let many: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}.pdf"), pdf(0))).collect();
    let many_refs: Vec<(&str, Vec<u8>)> =
        many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let limits = MailLimits {
        max_zip_entries: 10,
        ..MailLimits::default()
    };
    let got = documents_from_message(
        &mail(&[part(
            "application/zip",
            "attachment; filename=\"m.zip\"",
            "",
            &zip(&many_refs),
        )]),
        &limits,
    )
    .unwrap();
    assert!(got.documents.is_empty() && got.skipped[0].reason.contains("20 entries"));
}

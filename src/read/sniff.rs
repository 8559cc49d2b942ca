//! What a file is, from its first bytes. Declared MIME types and file
//! extensions are wrong often enough in vendor mail that we never trust them.

use crate::domain::DocumentKind;

pub fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
    // PDF allows junk before the header (within the first 1024 bytes).
    let head = &bytes[..bytes.len().min(1024)];
    if find(head, b"%PDF-").is_some() {
        return Some(DocumentKind::Pdf);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(DocumentKind::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(DocumentKind::Jpeg);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Some(DocumentKind::Tiff);
    }
    let text = strip_bom(head);
    let first = text.iter().position(|b| !b.is_ascii_whitespace())?;
    if text.get(first) == Some(&b'<') {
        return Some(DocumentKind::Xml);
    }
    None
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        let cases: &[(&[u8], Option<DocumentKind>)] = &[
            (b"%PDF-1.7\n", Some(DocumentKind::Pdf)),
            (b"\r\n%PDF-1.4", Some(DocumentKind::Pdf)),
            (b"\x89PNG\r\n\x1a\n....", Some(DocumentKind::Png)),
            (&[0xFF, 0xD8, 0xFF, 0xE0], Some(DocumentKind::Jpeg)),
            (b"II*\0abcd", Some(DocumentKind::Tiff)),
            (
                b"\xEF\xBB\xBF<?xml version='1.0'?>",
                Some(DocumentKind::Xml),
            ),
            (b"  <Invoice/>", Some(DocumentKind::Xml)),
            (b"hello world", None),
            (b"", None),
            (b"PK\x03\x04", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff(bytes), *want, "{bytes:?}");
        }
    }
}

//! The documents inside an email, whatever way the vendor's mailer packed
//! them: attachments with any declared type (`application/octet-stream`
//! PDFs included: the bytes are sniffed), inline PDFs, forwarded messages
//! (`message/rfc822`, nested), and ZIP archives (bounded in size, count and
//! depth; entry names are never used as paths), and Outlook's `winmail.dat`
//! (TNEF). One [`Budget`] of unpacked bytes and entries covers the whole
//! mail, nested archives and forwarded messages included: a fresh budget per
//! archive would let ten nested ZIPs unpack ten times the limit (a 1.6 MB
//! mail grew the process by 1.4 GB). Once it is spent, the mail's remaining
//! parts are skipped with that reason. Signature logos and other small images are left out by rule,
//! and every part left out says why.
//!
//! Pure: takes the raw message, returns documents and skips. Storing them is
//! `workflow::receive_document`'s job, once per content hash.

use std::io::Read;

use mail_parser::{MessageParser, MimeHeaders, PartType};

use crate::domain::{DocumentKind, RawDocument, Source};
use crate::read::{MAX_DOCUMENT_BYTES, einvoice, sniff};

/// Bounds on what one message may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct MailLimits {
    /// Images smaller than this are logos or signatures, not scans.
    pub min_image_bytes: usize,
    /// Forwarded messages and archives nested deeper than this are skipped.
    pub max_depth: usize,
    pub max_zip_entries: usize,
    /// Uncompressed bytes all the archives in one mail may expand to
    /// together, nested ones included (zip bombs).
    pub max_zip_bytes: u64,
    /// Archive entries, TNEF attachments and forwarded messages one mail
    /// may unpack to, all levels together.
    pub max_unpacked_entries: usize,
}

impl Default for MailLimits {
    fn default() -> Self {
        MailLimits {
            min_image_bytes: 30 * 1024,
            max_depth: 5,
            max_zip_entries: 200,
            max_zip_bytes: 200 * 1024 * 1024,
            max_unpacked_entries: 1_000,
        }
    }
}

/// Who sent the mail: travels with its documents as provenance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailProvenance {
    pub from: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub date: Option<String>,
}

/// A document found in a mail.
#[derive(Debug, Clone, PartialEq)]
pub struct MailDocument {
    /// Where it was: `invoice.pdf`, `fwd.eml/invoice.pdf`, `bundle.zip/a.pdf`.
    pub path: String,
    pub bytes: Vec<u8>,
    pub kind: DocumentKind,
}

/// A part that is not a document, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MailContents {
    pub provenance: MailProvenance,
    pub documents: Vec<MailDocument>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("not an email message (no headers could be parsed)")]
    NotAMessage,
}

/// What one mail may still unpack: shared by every level of nesting.
#[derive(Debug)]
struct Budget {
    bytes: u64,
    entries: usize,
}

impl Budget {
    fn new(limits: &MailLimits) -> Self {
        Budget {
            bytes: limits.max_zip_bytes,
            entries: limits.max_unpacked_entries,
        }
    }

    /// Takes one entry; `Err` is the reason the part is skipped.
    fn take_entry(&mut self, limits: &MailLimits) -> Result<(), String> {
        match self.entries.checked_sub(1) {
            Some(left) => {
                self.entries = left;
                Ok(())
            }
            None => Err(format!(
                "the mail unpacks to more than {} parts (archive entries, attachments, forwarded messages); the rest is skipped",
                limits.max_unpacked_entries
            )),
        }
    }
}

impl MailProvenance {
    /// Where a document found in this mail came from, as stored with it:
    /// the part's path in the mail and who sent it.
    pub fn source_of(&self, doc: &MailDocument) -> Source {
        Source::Mail {
            path: doc.path.clone(),
            from: self.from.clone(),
            subject: self.subject.clone(),
            message_id: self.message_id.clone(),
        }
    }
}

impl MailContents {
    /// The documents found, ready to store (their bytes moved, not
    /// copied); `source` says where each came from. Named after the last
    /// component of their path (the storing side makes that safe).
    pub fn into_raw_documents(
        self,
        source: impl Fn(&MailProvenance, &MailDocument) -> Source,
    ) -> Vec<RawDocument> {
        let provenance = self.provenance;
        self.documents
            .into_iter()
            .map(|doc| RawDocument {
                filename: doc.path.rsplit('/').next().unwrap_or_default().to_string(),
                source: source(&provenance, &doc),
                bytes: doc.bytes,
            })
            .collect()
    }
}

/// What a file handed over (uploaded, named on the command line) holds.
#[derive(Debug)]
pub enum FileContents {
    /// The file is one document (or something the reader will reject with
    /// its reason).
    Document(Vec<u8>),
    /// A saved mail (`mail: true`) or an archive (ZIP, Outlook's
    /// `winmail.dat`), unpacked under the same limits as a mail's parts.
    Unpacked { contents: MailContents, mail: bool },
}

/// Opens a file someone hands over: a saved mail (`.eml`, or bytes that
/// are no document but start like mail headers) and archives are unpacked
/// like the parts of a mail; anything else is one document.
pub fn documents_in_file(
    name: &str,
    bytes: Vec<u8>,
    limits: &MailLimits,
) -> Result<FileContents, MailError> {
    if is_mail(name, &bytes) {
        return Ok(FileContents::Unpacked {
            contents: documents_from_message(&bytes, limits)?,
            mail: true,
        });
    }
    if is_archive(&bytes) {
        let mut contents = MailContents::default();
        let mut budget = Budget::new(limits);
        consider(&bytes, name, None, 0, limits, &mut budget, &mut contents);
        return Ok(FileContents::Unpacked {
            contents,
            mail: false,
        });
    }
    Ok(FileContents::Document(bytes))
}

/// An `.eml` file, or bytes that are no document but start like mail
/// headers (`Name: value` before any other byte).
fn is_mail(name: &str, bytes: &[u8]) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        || (sniff(bytes).is_none()
            && bytes
                .iter()
                .take(4096)
                .position(|&b| b == b':')
                .is_some_and(|i| {
                    i > 0
                        && bytes[..i]
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                }))
}

/// Walks a raw RFC 5322 message and returns the documents in it.
pub fn documents_from_message(raw: &[u8], limits: &MailLimits) -> Result<MailContents, MailError> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(MailError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(MailError::NotAMessage);
    }
    let mut out = MailContents {
        provenance: MailProvenance {
            from: message
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_string),
            subject: message.subject().map(str::to_string),
            message_id: message.message_id().map(str::to_string),
            date: message.date().map(|d| d.to_rfc3339()),
        },
        ..MailContents::default()
    };
    let mut budget = Budget::new(limits);
    walk(&message, "", 0, limits, &mut budget, &mut out);
    Ok(out)
}

fn walk(
    message: &mail_parser::Message<'_>,
    prefix: &str,
    depth: usize,
    limits: &MailLimits,
    budget: &mut Budget,
    out: &mut MailContents,
) {
    for (i, part) in message.parts.iter().enumerate() {
        let name = part
            .attachment_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("part-{i}"));
        let path = format!("{prefix}{name}");
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(inner) => {
                if depth + 1 > limits.max_depth {
                    out.skipped.push(Skipped {
                        path,
                        reason: format!(
                            "forwarded message nested deeper than {}",
                            limits.max_depth
                        ),
                    });
                } else if let Err(reason) = budget.take_entry(limits) {
                    out.skipped.push(Skipped { path, reason });
                } else {
                    let inner_name = part
                        .attachment_name()
                        .map_or_else(|| format!("forwarded-{i}.eml"), str::to_string);
                    walk(
                        inner,
                        &format!("{prefix}{inner_name}/"),
                        depth + 1,
                        limits,
                        budget,
                        out,
                    );
                }
            }
            PartType::Text(_) | PartType::Html(_) => {
                // Body text is not a document, unless it is an attached
                // e-invoice (XML often comes as text/xml).
                let attached = part
                    .content_disposition()
                    .is_some_and(|d| d.is_attachment())
                    || part.attachment_name().is_some();
                if attached {
                    consider(part.contents(), &path, None, depth, limits, budget, out);
                }
            }
            PartType::Binary(_) | PartType::InlineBinary(_) => {
                let inline_image = part.content_id().is_some()
                    && part.content_disposition().is_none_or(|d| d.is_inline());
                consider(
                    part.contents(),
                    &path,
                    inline_image.then_some(()),
                    depth,
                    limits,
                    budget,
                    out,
                );
            }
        }
    }
}

/// Decides what one body part is: a document, an archive to open, or a skip.
fn consider(
    bytes: &[u8],
    path: &str,
    inline_image: Option<()>,
    depth: usize,
    limits: &MailLimits,
    budget: &mut Budget,
    out: &mut MailContents,
) {
    if bytes.is_empty() {
        return;
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        out.skipped.push(Skipped {
            path: path.to_string(),
            reason: format!(
                "{} bytes, over the {MAX_DOCUMENT_BYTES} byte limit",
                bytes.len()
            ),
        });
        return;
    }
    if is_archive(bytes) {
        if depth + 1 > limits.max_depth {
            out.skipped.push(Skipped {
                path: path.to_string(),
                reason: format!("archive nested deeper than {}", limits.max_depth),
            });
        } else if bytes.starts_with(ZIP_SIGNATURE) {
            unzip(bytes, path, depth, limits, budget, out);
        } else {
            untnef(bytes, path, depth, limits, budget, out);
        }
        return;
    }
    match sniff(bytes) {
        Some(DocumentKind::Xml) if !einvoice::looks_like_einvoice(bytes) => {
            out.skipped.push(Skipped {
                path: path.to_string(),
                reason: "XML that is not an e-invoice".into(),
            });
        }
        Some(kind @ (DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff)) => {
            if inline_image.is_some() {
                out.skipped.push(Skipped {
                    path: path.to_string(),
                    reason: "inline image shown in the mail body (logo or signature)".into(),
                });
            } else if bytes.len() < limits.min_image_bytes {
                out.skipped.push(Skipped {
                    path: path.to_string(),
                    reason: format!(
                        "image of {} bytes: too small to be a scanned invoice",
                        bytes.len()
                    ),
                });
            } else {
                out.documents.push(MailDocument {
                    path: path.to_string(),
                    bytes: bytes.to_vec(),
                    kind,
                });
            }
        }
        Some(kind) => out.documents.push(MailDocument {
            path: path.to_string(),
            bytes: bytes.to_vec(),
            kind,
        }),
        None => out.skipped.push(Skipped {
            path: path.to_string(),
            reason: "not a PDF, image or e-invoice XML".into(),
        }),
    }
}

/// The first bytes of a ZIP archive (its first local file header).
const ZIP_SIGNATURE: &[u8] = b"PK\x03\x04";

/// The first bytes of Outlook's TNEF (`winmail.dat`, 0x223E9F78 little-endian).
const TNEF_SIGNATURE: [u8; 4] = [0x78, 0x9f, 0x3e, 0x22];

/// A ZIP archive or a TNEF stream: opened, within the limits, rather than
/// taken as a document.
fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(ZIP_SIGNATURE) || bytes.starts_with(&TNEF_SIGNATURE)
}

/// Outlook's `winmail.dat`: Exchange wraps the attachments of a "rich
/// text" mail into one TNEF file, so the invoice PDF is inside it. Each
/// attachment found is considered like a mail part.
fn untnef(
    bytes: &[u8],
    path: &str,
    depth: usize,
    limits: &MailLimits,
    budget: &mut Budget,
    out: &mut MailContents,
) {
    // The parser is small and bounds-checked, but this is hostile input:
    // a panic in it must cost this part, not the mail.
    let parsed = std::panic::catch_unwind(|| tnef_attachments(bytes))
        .unwrap_or_else(|_| Err("the TNEF parser crashed".into()));
    match parsed {
        Ok(attachments) => {
            for (i, (title, data)) in attachments.into_iter().enumerate() {
                let name = title.unwrap_or_else(|| format!("attachment-{i}"));
                let inner_path = format!("{path}/{name}");
                if let Err(reason) = budget.take_entry(limits) {
                    out.skipped.push(Skipped {
                        path: inner_path,
                        reason,
                    });
                    return;
                }
                consider(data, &inner_path, None, depth + 1, limits, budget, out);
            }
        }
        Err(reason) => out.skipped.push(Skipped {
            path: path.to_string(),
            reason: format!("unreadable Outlook TNEF (winmail.dat): {reason}"),
        }),
    }
}

/// One attachment inside a TNEF stream: its title, when it has one, and bytes.
type TnefAttachment<'a> = (Option<String>, &'a [u8]);

/// The attachments in a TNEF stream, each with its title when it has one.
/// Walks the attributes itself rather than `tnef::read_attachments`, which
/// drops an attachment lacking any of the dates or properties Outlook
/// usually (not always) writes.
fn tnef_attachments(bytes: &[u8]) -> Result<Vec<TnefAttachment<'_>>, String> {
    use tnef::{AttachAttrId, AttributeId};
    let reader = tnef::TnefReader::new(bytes).map_err(|e| e.to_string())?;
    // Title and bytes per attachment, in order.
    let mut found: Vec<(Option<String>, Option<&[u8]>)> = Vec::new();
    for attribute in reader {
        let (id, value) = attribute.map_err(|e| e.to_string())?;
        let AttributeId::Attachment(id) = id else {
            continue;
        };
        if id == AttachAttrId::AttachRendData || found.is_empty() {
            // Each attachment starts with its rendering data.
            found.push((None, None));
        }
        let Some(current) = found.last_mut() else {
            continue;
        };
        match id {
            AttachAttrId::Title => {
                let text = String::from_utf8_lossy(value);
                let text = text.trim_end_matches('\0').trim();
                // A title is a file name: keep only its last component.
                let name = text.rsplit(['/', '\\']).next().unwrap_or_default();
                current.0 = (!name.is_empty()).then(|| name.to_string());
            }
            AttachAttrId::Data => current.1 = Some(value),
            _ => {}
        }
    }
    Ok(found
        .into_iter()
        .filter_map(|(title, data)| Some((title, data?)))
        .collect())
}

/// Opens a ZIP archive within the limits. Entry names are only labels: a
/// name like `../../etc/passwd` is never a path anywhere.
fn unzip(
    bytes: &[u8],
    path: &str,
    depth: usize,
    limits: &MailLimits,
    budget: &mut Budget,
    out: &mut MailContents,
) {
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            out.skipped.push(Skipped {
                path: path.to_string(),
                reason: format!("unreadable ZIP archive: {e}"),
            });
            return;
        }
    };
    if archive.len() > limits.max_zip_entries {
        out.skipped.push(Skipped {
            path: path.to_string(),
            reason: format!(
                "ZIP with {} entries, over the limit of {}",
                archive.len(),
                limits.max_zip_entries
            ),
        });
        return;
    }
    for i in 0..archive.len() {
        if let Err(reason) = budget.take_entry(limits) {
            out.skipped.push(Skipped {
                path: path.to_string(),
                reason,
            });
            return;
        }
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                out.skipped.push(Skipped {
                    path: format!("{path}/#{i}"),
                    reason: format!("unreadable ZIP entry: {e}"),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let label: String = entry
            .name()
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        let entry_path = format!("{path}/{label}");
        // Read at most the mail's remaining budget + 1 byte: a declared
        // size can lie, the bytes cannot.
        let cap = budget
            .bytes
            .min(u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX));
        let mut data = Vec::new();
        if let Err(e) = (&mut entry).take(cap + 1).read_to_end(&mut data) {
            out.skipped.push(Skipped {
                path: entry_path,
                reason: format!("unreadable ZIP entry: {e}"),
            });
            continue;
        }
        let read = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if read > cap {
            out.skipped.push(Skipped {
                path: entry_path,
                reason: if cap < budget.bytes {
                    format!("expands beyond {cap} bytes (the document limit); the rest of the archive is skipped")
                } else {
                    format!(
                        "expands beyond {cap} bytes (what is left of the {} bytes one mail may unpack to); the rest of the archive is skipped",
                        limits.max_zip_bytes
                    )
                },
            });
            return;
        }
        budget.bytes = budget.bytes.saturating_sub(read);
        consider(&data, &entry_path, None, depth + 1, limits, budget, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_message() {
        assert!(documents_from_message(b"", &MailLimits::default()).is_err());
    }

    fn zip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .expect("zip entry");
            w.write_all(data).expect("zip data");
        }
        w.finish().expect("zip").into_inner()
    }

    /// A mail whose only attachment is `bytes`, base64 on one line.
    fn mail_with(bytes: &[u8]) -> Vec<u8> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        format!(
            "From: a@b.example\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"n.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--B--\r\n"
        )
        .into_bytes()
    }

    /// Five nested archives of 3 x 4 MB each: 60 MB in all, 12 MB per
    /// archive. Each archive alone is under the 20 MB limit, so only a
    /// budget shared by the whole mail stops it.
    fn nested_archives() -> Vec<u8> {
        let inner: Vec<Vec<u8>> = (0..5u8)
            .map(|z| {
                zip(&(0..3u8)
                    .map(|i| {
                        let mut pdf = format!("%PDF-1.7 {z}-{i}\n").into_bytes();
                        pdf.resize(4 * 1024 * 1024, b' ');
                        (format!("{z}-{i}.pdf"), pdf)
                    })
                    .collect::<Vec<_>>())
            })
            .collect();
        zip(&inner
            .into_iter()
            .enumerate()
            .map(|(i, z)| (format!("inner-{i}.zip"), z))
            .collect::<Vec<_>>())
    }

    #[test]
    fn nested_archives_share_one_budget_of_bytes() {
        let limits = MailLimits {
            max_zip_bytes: 20 * 1024 * 1024,
            ..MailLimits::default()
        };
        let got =
            documents_from_message(&mail_with(&nested_archives()), &limits).expect("a message");
        let unpacked: usize = got.documents.iter().map(|d| d.bytes.len()).sum();
        assert!(
            unpacked <= 20 * 1024 * 1024,
            "{} documents, {unpacked} bytes",
            got.documents.len()
        );
        assert!(!got.documents.is_empty(), "the first parts still come out");
        assert!(
            got.skipped
                .iter()
                .any(|s| s.reason.contains("one mail may unpack to")),
            "{:?}",
            got.skipped
        );
    }

    #[test]
    fn nested_archives_share_one_budget_of_entries() {
        let limits = MailLimits {
            max_unpacked_entries: 8,
            ..MailLimits::default()
        };
        let got =
            documents_from_message(&mail_with(&nested_archives()), &limits).expect("a message");
        // Entries: inner-0 (1), its 3 PDFs (4), inner-1 (5), its 3 PDFs (8).
        assert_eq!(got.documents.len(), 6, "{:?}", got.skipped);
        assert!(
            got.skipped
                .iter()
                .any(|s| s.reason.contains("unpacks to more than 8 parts")),
            "{:?}",
            got.skipped
        );
    }
}

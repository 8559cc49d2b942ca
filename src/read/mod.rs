//! Read: turn a document's bytes into positioned words, and into the exact
//! invoice when it carries one as e-invoice XML.
//!
//! This stage does no I/O beyond the bytes it is handed and never touches the
//! database. PDF parsing is native-code-like in its failure modes: pdf-extract
//! panics on some corrupt files by design, so [`read_document`] runs the
//! parser on a blocking thread, turns a panic into [`Error::Crashed`] and
//! bounds the time it may take. A bad document becomes a clear reason; the
//! worker goes on. Scanned pages and images go to OCR (`ocr.rs`: Leptonica
//! and Tesseract, with `pdftoppm` rendering PDF pages in a child process).

pub mod einvoice;
pub mod isolate;
pub mod ocr;
mod pdf;
mod sniff;

use std::time::Duration;

pub use sniff::sniff;

use crate::domain::{DocumentKind, ReadDocument};

/// Documents larger than this are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 50 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Ignore embedded e-invoice XML and read only what a person sees.
    pub visual_only: bool,
    /// Languages and data for scanned pages and images.
    pub ocr: ocr::OcrOptions,
    /// Read PDFs and images in a child process of this `apflow` binary
    /// (`isolate.rs`); `None` reads in this process.
    pub isolate: Option<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("empty file")]
    Empty,
    #[error("file is {size} bytes, more than the {limit} byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("not a PDF, image or e-invoice XML (file starts with {magic:?})")]
    UnsupportedType { magic: String },
    #[error("malformed PDF: {0}")]
    MalformedPdf(String),
    #[error("password protected")]
    PasswordProtected,
    #[error("the PDF's streams inflate to more than {limit} bytes (a decompression bomb?)")]
    DecompressionBomb { limit: u64 },
    #[error("XML is not a supported e-invoice")]
    XmlNotEInvoice(#[source] einvoice::EInvoiceError),
    /// Its own variant so that the rejection reason says why (the parser
    /// would have overflowed the stack, see `crate::xml`).
    #[error("{0}")]
    XmlTooDeep(#[source] crate::xml::TooDeep),
    #[error("OCR failed: {0}")]
    Ocr(String),
    #[error("reading crashed (a bug or a hostile file): {0}")]
    Crashed(String),
    #[error("reading took longer than {0:?}")]
    TimedOut(Duration),
}

/// Reads a document, containing crashes and bounding the time spent: in a
/// child process when `options.isolate` names the binary (the service and
/// the CLI), else on a blocking thread that contains panics. This is the
/// entry point the pipeline and CLI use.
pub async fn read_document(
    bytes: std::sync::Arc<Vec<u8>>,
    options: ReadOptions,
    limit: Duration,
) -> Result<ReadDocument, Error> {
    if let Some(exe) = options.isolate.clone()
        && bytes.len() <= MAX_DOCUMENT_BYTES
        && matches!(
            sniff(&bytes),
            Some(DocumentKind::Pdf | DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff)
        )
    {
        return isolate::read_in_child(&exe, bytes, &options, limit).await;
    }
    let task = tokio::task::spawn_blocking(move || read(&bytes, &options));
    match tokio::time::timeout(limit, task).await {
        Err(_) => Err(Error::TimedOut(limit)),
        Ok(Err(join)) => Err(Error::Crashed(panic_message(join))),
        Ok(Ok(result)) => result,
    }
}

/// What a task that panicked (or was cancelled) said.
pub(crate) fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string()),
        Err(e) => e.to_string(),
    }
}

/// Reads a document synchronously. May panic on hostile PDFs (see the
/// module doc); call [`read_document`] unless you contain that yourself.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<ReadDocument, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let Some(kind) = sniff(bytes) else {
        return Err(Error::UnsupportedType {
            magic: magic_preview(bytes),
        });
    };
    match kind {
        DocumentKind::Pdf => pdf::read_pdf(bytes, options),
        DocumentKind::Xml => {
            let invoice = einvoice::parse(bytes).map_err(|e| match e {
                einvoice::EInvoiceError::TooDeep(deep) => Error::XmlTooDeep(deep),
                other => Error::XmlNotEInvoice(other),
            })?;
            Ok(ReadDocument {
                kind,
                pages: Vec::new(),
                einvoice: Some(invoice),
                einvoice_xml: Some(bytes.to_vec()),
            })
        }
        DocumentKind::Png | DocumentKind::Jpeg | DocumentKind::Tiff => Ok(ReadDocument {
            kind,
            pages: ocr::ocr_image(bytes, kind == DocumentKind::Tiff, &options.ocr)?,
            einvoice: None,
            einvoice_xml: None,
        }),
    }
}

/// The first bytes of a file, printable, for error messages.
fn magic_preview(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(8)
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect()
}

//! PDFs: embedded e-invoice XML first, then the text layer as positioned
//! words.
//!
//! pdf-extract's plain-text output glues neighbouring columns together
//! (`993548900Factuurnummer:`), which ruins label/value pairing. Its
//! `OutputDev` trait hands us every glyph with its text matrix instead; we
//! rebuild words and lines from the geometry ourselves.

use pdf_extract::{MediaBox, OutputDev, OutputError, Transform};

use super::{Error, ReadOptions, einvoice, ocr};
use crate::domain::{BBox, DocumentKind, Line, Page, ReadDocument, Word};

pub(super) fn read_pdf(bytes: &[u8], options: &ReadOptions) -> Result<ReadDocument, Error> {
    let mut doc =
        pdf_extract::Document::load_mem(bytes).map_err(|e| Error::MalformedPdf(e.to_string()))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(Error::PasswordProtected);
    }
    check_inflation(&doc, MAX_INFLATED_BYTES)?;
    let (einvoice, einvoice_xml) = if options.visual_only {
        (None, None)
    } else {
        match einvoice::embedded_xml(&doc).ok().flatten() {
            Some(xml) => match einvoice::parse(&xml) {
                Ok(invoice) => (Some(invoice), Some(xml)),
                Err(_) => (None, None),
            },
            None => (None, None),
        }
    };
    let mut collector = WordCollector::default();
    let text_layer = pdf_extract::output_doc(&doc, &mut collector);
    let mut pages = collector.pages;
    if einvoice.is_some() {
        // The XML is the invoice; the visible layer is kept as read, for
        // the review screen, without spending OCR on it.
        return Ok(ReadDocument {
            kind: DocumentKind::Pdf,
            pages,
            einvoice,
            einvoice_xml,
        });
    }
    let page_count = u32::try_from(doc.get_pages().len()).unwrap_or(u32::MAX);
    let scanned: Vec<u32> = match &text_layer {
        // Nothing readable came out: every page is a candidate for OCR.
        Err(_) => (1..=page_count).collect(),
        Ok(()) => (1..=page_count)
            .filter(|n| pages.iter().find(|p| p.number == *n).is_none_or(needs_ocr))
            .collect(),
    };
    if !scanned.is_empty() {
        match ocr::ocr_pdf_pages(bytes, &scanned, &options.ocr) {
            Ok(ocred) => {
                pages.retain(|p| !scanned.contains(&p.number));
                pages.extend(ocred);
                pages.sort_by_key(|p| p.number);
            }
            // A broken text layer that OCR cannot rescue either: say why
            // the text layer failed, which is the root cause.
            Err(e) => {
                return Err(match text_layer {
                    Err(t) => Error::MalformedPdf(output_error_text(&t)),
                    Ok(()) => e,
                });
            }
        }
    }
    Ok(ReadDocument {
        kind: DocumentKind::Pdf,
        pages,
        einvoice: None,
        einvoice_xml: None,
    })
}

/// A page whose text layer is missing or unusable: fewer than a handful of
/// words (a scan, maybe with a stamped page number), or mostly glyphs that
/// did not map to text (fonts without a usable encoding).
fn needs_ocr(page: &Page) -> bool {
    let words: Vec<&Word> = page.lines.iter().flat_map(|l| &l.words).collect();
    if words.len() < 5 {
        return true;
    }
    let garbled = words
        .iter()
        .filter(|w| {
            w.text
                .chars()
                .any(|c| c == '\u{fffd}' || (c.is_control() && c != '\t'))
        })
        .count();
    garbled * 3 > words.len()
}

/// What the streams the text reader unpacks (page contents, forms, fonts;
/// not images, which it skips) may inflate to together. Real invoices need
/// a few megabytes; a zip-bomb stream asks for gigabytes.
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

/// Refuses a PDF whose Flate streams inflate past `limit` before the
/// parser unpacks them whole into memory. Counts without keeping.
fn check_inflation(doc: &pdf_extract::Document, limit: u64) -> Result<(), Error> {
    use std::io::Read;
    let mut budget = limit;
    for object in doc.objects.values() {
        let Ok(stream) = object.as_stream() else {
            continue;
        };
        let is_image = stream
            .dict
            .get(b"Subtype")
            .and_then(|s| s.as_name())
            .is_ok_and(|n| n == b"Image");
        let flate = match stream.dict.get(b"Filter") {
            Ok(pdf_extract::Object::Name(n)) => n == b"FlateDecode",
            Ok(pdf_extract::Object::Array(a)) => a
                .first()
                .and_then(|f| f.as_name().ok())
                .is_some_and(|n| n == b"FlateDecode"),
            _ => false,
        };
        if is_image || !flate {
            continue;
        }
        let mut inflater = flate2::read::ZlibDecoder::new(&stream.content[..]).take(budget + 1);
        let inflated = std::io::copy(&mut inflater, &mut std::io::sink()).unwrap_or(0);
        if inflated > budget {
            return Err(Error::DecompressionBomb { limit });
        }
        budget -= inflated;
    }
    Ok(())
}

fn output_error_text(e: &OutputError) -> String {
    match e {
        OutputError::FormatError(e) => e.to_string(),
        OutputError::IoError(e) => e.to_string(),
        OutputError::PdfError(e) => e.to_string(),
    }
}

/// One glyph as positioned on the page (top-left origin, points).
#[derive(Debug, Clone)]
struct Glyph {
    x: f32,
    baseline: f32,
    advance: f32,
    size: f32,
    text: String,
}

#[derive(Default)]
struct WordCollector {
    pages: Vec<Page>,
    glyphs: Vec<Glyph>,
    page_number: u32,
    origin: (f64, f64),
    size: (f32, f32),
}

impl OutputDev for WordCollector {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.page_number = page_num;
        self.origin = (media_box.llx, media_box.ury);
        self.size = (
            (media_box.urx - media_box.llx) as f32,
            (media_box.ury - media_box.lly) as f32,
        );
        self.glyphs.clear();
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        let glyphs = std::mem::take(&mut self.glyphs);
        self.pages.push(Page {
            number: self.page_number,
            width: self.size.0,
            height: self.size.1,
            lines: build_lines(glyphs),
        });
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        let scale_x = trm.m11.hypot(trm.m12);
        let scale_y = trm.m21.hypot(trm.m22);
        let size = (font_size * scale_y) as f32;
        if !size.is_finite() || size <= 0.0 {
            return Ok(());
        }
        self.glyphs.push(Glyph {
            x: (trm.m31 - self.origin.0) as f32,
            baseline: (self.origin.1 - trm.m32) as f32,
            advance: (width * font_size * scale_x) as f32,
            size,
            text: char.to_string(),
        });
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// Groups glyphs into lines (shared baseline) and words (no gap), in
/// reading order: top to bottom, left to right.
fn build_lines(mut glyphs: Vec<Glyph>) -> Vec<Line> {
    glyphs.retain(|g| g.x.is_finite() && g.baseline.is_finite());
    glyphs.sort_by(|a, b| a.baseline.total_cmp(&b.baseline).then(a.x.total_cmp(&b.x)));
    let mut rows: Vec<Vec<Glyph>> = Vec::new();
    for g in glyphs {
        match rows.last_mut() {
            Some(row)
                if row.first().is_some_and(|first| {
                    (g.baseline - first.baseline).abs() <= 0.4 * first.size.min(g.size)
                }) =>
            {
                row.push(g)
            }
            _ => rows.push(vec![g]),
        }
    }
    rows.into_iter()
        .filter_map(|mut row| {
            row.sort_by(|a, b| a.x.total_cmp(&b.x));
            let words = build_words(&row);
            (!words.is_empty()).then_some(Line { words })
        })
        .collect()
}

/// Splits a row into words by the gaps between glyphs. Space glyphs are
/// ignored: some producers draw them on top of the next glyph, so only the
/// geometry is trusted.
fn build_words(row: &[Glyph]) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<(String, BBox)> = None;
    let mut last_end = f32::NEG_INFINITY;
    for g in row.iter().filter(|g| !g.text.trim().is_empty()) {
        if g.x - last_end > 0.15 * g.size
            && let Some((text, bbox)) = current.take()
        {
            words.push(Word {
                text,
                bbox,
                confidence: 1.0,
            });
        }
        let gb = BBox {
            x0: g.x,
            y0: g.baseline - 0.8 * g.size,
            x1: g.x + g.advance,
            y1: g.baseline + 0.2 * g.size,
        };
        match current.as_mut() {
            Some((text, bbox)) => {
                text.push_str(&g.text);
                *bbox = bbox.union(gb);
            }
            None => current = Some((g.text.clone(), gb)),
        }
        last_end = last_end.max(g.x + g.advance);
    }
    if let Some((text, bbox)) = current {
        words.push(Word {
            text,
            bbox,
            confidence: 1.0,
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyphs(text: &str, x: f32, baseline: f32) -> Vec<Glyph> {
        text.chars()
            .enumerate()
            .map(|(i, c)| Glyph {
                x: x + i as f32 * 5.0,
                baseline,
                advance: 5.0,
                size: 10.0,
                text: c.to_string(),
            })
            .collect()
    }

    #[test]
    fn separates_columns_and_lines() {
        let mut g = glyphs("993548900", 10.0, 100.0);
        g.extend(glyphs("Factuurnummer:", 80.0, 100.5));
        g.extend(glyphs("Total 12,00", 10.0, 130.0));
        let lines = build_lines(g);
        let texts: Vec<String> = lines.iter().map(Line::text).collect();
        assert_eq!(texts, vec!["993548900 Factuurnummer:", "Total 12,00"]);
        assert_eq!(lines[0].words.len(), 2);
        assert!(lines[0].words[0].bbox.x1 <= 60.0);
    }
}

//! Extract: from a read document to an invoice, each field with a
//! confidence and the page box it came from.
//!
//! An embedded e-invoice is taken as it is (exact, confidence 1.0), and
//! checked against the visible page (`crosscheck`). Otherwise
//! rules read the positioned words: a field's value is found next to or below
//! one of its labels in any of the supported languages, then normalised
//! (`normalize`). Line items come from the table found by its header row
//! (`table`). Extraction *reports*: it never fails and never decides what is
//! missing; validation does that. It does no I/O.
//!
//! The learned model (`model`) then scores every candidate value on the
//! pages and re-decides the header fields the rules chose, with a
//! calibrated confidence; `apflow eval --no-model` measures the rules alone.

mod crosscheck;
pub mod memory;
pub mod model;
pub mod normalize;
mod rules;
mod table;

use crate::domain::{ExtractedInvoice, ReadDocument};

/// Extracts the invoice from a read document with the shipped model (rules
/// only where it is not installed).
pub fn extract(doc: &ReadDocument) -> ExtractedInvoice {
    extract_with(doc, model::shipped())
}

/// Extracts the invoice; `model: None` is rules only.
pub fn extract_with(doc: &ReadDocument, model: Option<&model::Model>) -> ExtractedInvoice {
    if let Some(e) = &doc.einvoice {
        let mut invoice = e.clone();
        invoice.visible_disagreements = crosscheck::visible_disagreements(e, &doc.pages);
        return invoice;
    }
    let rules::VisualReading {
        mut invoice,
        after_model,
    } = rules::read_visual(&doc.pages);
    if let Some(m) = model
        && let Err(e) = m.apply(&doc.pages, &mut invoice)
    {
        // The rules' reading stands; a model failure must not lose the
        // invoice.
        tracing::warn!("extraction model failed, keeping the rules' fields: {e:#}");
    }
    after_model.apply(&mut invoice);
    invoice
}

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
//! The learned model (issue 5) will score candidates on top of these rules;
//! `apflow eval --no-model` keeps measuring the rules alone.

mod crosscheck;
pub mod memory;
pub mod normalize;
mod rules;
mod table;

use crate::domain::{ExtractedInvoice, ReadDocument};

/// Extracts the invoice from a read document.
pub fn extract(doc: &ReadDocument) -> ExtractedInvoice {
    if let Some(e) = &doc.einvoice {
        let mut invoice = e.clone();
        invoice.visible_disagreements = crosscheck::visible_disagreements(e, &doc.pages);
        return invoice;
    }
    rules::extract_visual(&doc.pages)
}

//! The words the pages use for what the code calls by name: statuses,
//! reasons, fields, audit actions. A clerk reads "Waiting for approval",
//! never `awaiting_approval`; the matches are exhaustive, so a new status
//! or reason does not compile until it has a label.

use super::i18n::Lang;
use crate::domain::{InvoiceStatus, MatchOutcome, ReasonCode, Role};

pub fn status(l: Lang, s: InvoiceStatus) -> &'static str {
    l.t(match s {
        InvoiceStatus::Pending => "Being read",
        InvoiceStatus::Scheduled => "Scheduled for payment",
        InvoiceStatus::NeedsReview => "Needs review",
        InvoiceStatus::AwaitingApproval => "Waiting for approval",
        InvoiceStatus::OnHold => "On hold",
        InvoiceStatus::Duplicate => "Duplicate",
        InvoiceStatus::Rejected => "Rejected",
        InvoiceStatus::Paid => "Paid",
    })
}

pub fn role(l: Lang, r: Role) -> &'static str {
    l.t(match r {
        Role::Clerk => "AP clerk",
        Role::Approver => "approver",
        Role::Admin => "finance admin",
    })
}

/// A reason code as a short phrase; an unknown code (stored by a later
/// version) reads as words.
pub fn reason(l: Lang, code: &str) -> String {
    match reason_en(code) {
        Some(text) => l.t(text).to_string(),
        None => words(code),
    }
}

/// The English phrase of a known reason code.
pub fn reason_en(code: &str) -> Option<&'static str> {
    let c = ReasonCode::parse(code)?;
    Some(match c {
        ReasonCode::MissingField => "A field is missing",
        ReasonCode::TotalsMismatch => "Totals do not add up",
        ReasonCode::LineSumMismatch => "Lines do not add up to the net amount",
        ReasonCode::InvalidIban => "IBAN is not valid",
        ReasonCode::DueBeforeIssue => "Due before it was issued",
        ReasonCode::LowConfidence => "Read with low confidence",
        ReasonCode::VendorUnknown => "Vendor not in the master data",
        ReasonCode::VendorAmbiguous => "Vendor unclear",
        ReasonCode::BankDetailsChanged => "New bank account",
        ReasonCode::DuplicateInvoice => "Already received",
        ReasonCode::MissingPoNumber => "No purchase order number",
        ReasonCode::PoNotFound => "Purchase order not found",
        ReasonCode::PoClosed => "Purchase order closed",
        ReasonCode::VendorMismatch => "Order is from another vendor",
        ReasonCode::CurrencyMismatch => "Currency differs from the order",
        ReasonCode::UnmatchedLine => "Line not on the order",
        ReasonCode::PriceVariance => "Price differs from the order",
        ReasonCode::QuantityExceedsOrdered => "More billed than ordered",
        ReasonCode::QuantityExceedsReceived => "More billed than received",
        ReasonCode::NotReceived => "Goods not received yet",
        ReasonCode::OverBilledCumulative => "Billed more than received, over several invoices",
        ReasonCode::TaxMismatch => "Tax differs from the order",
        ReasonCode::UnexpectedCharges => "Charges not on the order",
        ReasonCode::PossibleDuplicate => "Looks like an invoice already received",
        ReasonCode::InvalidVatId => "VAT number is not valid",
        ReasonCode::ImplausibleTaxRate => "Unusual tax rate",
        ReasonCode::CreditNote => "Credit note: nothing to pay",
        ReasonCode::PaymentFailed => "Payment failed",
        ReasonCode::XmlVisualMismatch => "E-invoice data and page disagree",
        ReasonCode::PasswordProtected => "PDF is password protected",
        ReasonCode::ChangedByPerson => "Changed by a person: needs approval",
        ReasonCode::Reopened => "Reopened",
        ReasonCode::PaymentRefused => "Payment refused by the payment run",
        ReasonCode::EInvoiceInvalid => "E-invoice breaks the EN 16931 rules",
        ReasonCode::DirectDebit => "Paid by direct debit: check the debit",
        ReasonCode::NothingDue => "Already paid: nothing due",
    })
}

pub fn match_outcome(l: Lang, code: &str) -> &'static str {
    let outcome = [
        MatchOutcome::Matched,
        MatchOutcome::Mismatch,
        MatchOutcome::NoPurchaseOrder,
    ]
    .into_iter()
    .find(|m| m.as_str() == code);
    l.t(match outcome {
        Some(MatchOutcome::Matched) => "matches its purchase order",
        Some(MatchOutcome::Mismatch) => "differs from its purchase order",
        Some(MatchOutcome::NoPurchaseOrder) => "no purchase order to match",
        None => "not matched yet",
    })
}

/// The invoice's fields in the order they appear on an invoice, with
/// their labels; fields not named here follow in the order read.
pub const FIELDS: [(&str, &str); 22] = [
    ("vendor_name", "Vendor"),
    ("vendor_id", "Vendor of the master data"),
    ("vendor_vat_id", "Vendor VAT number"),
    ("vendor_address", "Vendor address"),
    ("invoice_number", "Invoice number"),
    ("invoice_date", "Invoice date"),
    ("due_date", "Due date"),
    ("delivery_date", "Delivery date"),
    ("po_number", "Purchase order"),
    ("buyer_reference", "Buyer reference"),
    ("customer_number", "Customer number"),
    ("currency", "Currency"),
    ("net_amount", "Net amount"),
    ("tax_rate", "Tax rate"),
    ("tax_amount", "Tax"),
    ("total_amount", "Total"),
    ("amount_due", "Amount due"),
    ("payment_terms", "Payment terms"),
    ("iban", "IBAN"),
    ("bic", "BIC"),
    ("direct_debit", "Direct debit"),
    ("credit_note", "Credit note"),
];

pub fn field(l: Lang, name: &str) -> String {
    FIELDS
        .iter()
        .find(|(f, _)| *f == name)
        .map_or_else(|| words(name), |(_, label)| l.t(label).to_string())
}

/// Where a field sits in [`FIELDS`] (unknown fields last).
pub fn field_rank(name: &str) -> usize {
    FIELDS
        .iter()
        .position(|(f, _)| *f == name)
        .unwrap_or(FIELDS.len())
}

/// An audit action as the history shows it.
pub fn action(l: Lang, a: &str) -> String {
    let text = match a {
        "document.received" => "Document received",
        "document.rejected" => "Document could not be read",
        "document.retried" => "Tried again",
        "invoice.extracted" => "Read",
        "invoice.routed" => "Checked and routed",
        "invoice.password_protected" => "PDF is password protected",
        "invoice.field_corrected" => "Field corrected",
        "invoice.lines_corrected" => "Lines corrected",
        "invoice.assigned" => "Taken",
        "invoice.approval_requested" => "Sent to approval",
        "invoice.approval_step" => "Approved (more approvals needed)",
        "invoice.approved" => "Approved",
        "invoice.rejected" => "Rejected by the approver",
        "invoice.rejected_by_clerk" => "Rejected",
        "invoice.put_on_hold" => "Placed on hold",
        "invoice.released" => "Back from hold",
        "invoice.marked_duplicate" => "Marked as a duplicate",
        "invoice.reopened" => "Reopened",
        "invoice.note_added" => "Note",
        "payment.executed" => "Paid",
        "payment.failed" => "Payment failed",
        "payment.refused" => "Payment refused",
        other => return words(other.rsplit('.').next().unwrap_or(other)),
    };
    l.t(text).to_string()
}

/// `some_code_name` as "Some code name".
pub fn words(code: &str) -> String {
    capital(&code.replace(['_', '-', '.'], " "))
}

/// `s` with its first letter in upper case.
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reason and status has words of its own, none of them a code.
    #[test]
    fn no_code_names() {
        for c in ReasonCode::ALL {
            for l in Lang::ALL {
                let label = reason(l, c.as_str());
                assert!(!label.contains('_'), "{label}");
            }
        }
        let mut codes: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ReasonCode::ALL.len(), "a code listed twice");
        let en = Lang::En;
        assert_eq!(reason(en, "some_new_code"), "Some new code");
        assert_eq!(field(en, "po_number"), "Purchase order");
        assert_eq!(field(Lang::De, "po_number"), "Bestellung");
        assert_eq!(field(en, "seller_registration"), "Seller registration");
        assert_eq!(action(en, "invoice.approval_requested"), "Sent to approval");
        assert_eq!(
            action(Lang::Fr, "invoice.approval_requested"),
            "Envoyée pour approbation"
        );
        assert_eq!(
            action(en, "vendor.bank_account_verified"),
            "Bank account verified"
        );
        // Every status, role, outcome and history entry has its words in
        // each language (the page scan in `i18n` sees only `t("...")`).
        let statuses = [
            "pending",
            "scheduled",
            "needs_review",
            "awaiting_approval",
            "on_hold",
            "duplicate",
            "rejected",
            "paid",
        ];
        let actions = [
            "document.received",
            "document.rejected",
            "document.retried",
            "invoice.extracted",
            "invoice.routed",
            "invoice.password_protected",
            "invoice.field_corrected",
            "invoice.lines_corrected",
            "invoice.assigned",
            "invoice.approval_requested",
            "invoice.approval_step",
            "invoice.approved",
            "invoice.rejected",
            "invoice.rejected_by_clerk",
            "invoice.put_on_hold",
            "invoice.released",
            "invoice.marked_duplicate",
            "invoice.reopened",
            "invoice.note_added",
            "payment.executed",
            "payment.failed",
            "payment.refused",
        ];
        for l in [Lang::De, Lang::Fr] {
            for code in statuses {
                let s = InvoiceStatus::parse(code).expect("a status");
                assert!(l.has(status(en, s)), "{code} in {l:?}");
            }
            for r in [Role::Clerk, Role::Approver, Role::Admin] {
                assert!(l.has(role(en, r)), "{r:?} in {l:?}");
            }
            for m in ["matched", "mismatch", "no_purchase_order", ""] {
                assert!(l.has(match_outcome(en, m)), "{m} in {l:?}");
            }
            for a in actions {
                assert!(l.has(&action(en, a)), "{a} in {l:?}");
            }
        }
        assert!(field_rank("vendor_name") < field_rank("invoice_number"));
        assert!(field_rank("total_amount") < field_rank("iban"));
    }
}

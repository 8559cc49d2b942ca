//! The plain data that the pipeline stages hand to each other.
//!
//! Every stage takes one of these values and returns the next one; none of
//! them knows about SQL, HTTP or JSON. That keeps each stage testable on its
//! own with values built in the test, and it keeps the flow of one invoice
//! readable: `RawDocument` → `ReadDocument` → `ExtractedInvoice` →
//! `Validation` + `MatchResult` → `Decision`.
//!
//! Money is always `rust_decimal::Decimal`: a float cannot hold 0.10 exactly,
//! and an AP tool that is off by a cent loses its users' trust.

pub mod einvoice;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// SHA-256 of some bytes, lowercase hex: how apflow names content (a
/// stored document's bytes, a secret token, the token table a scorer was
/// trained on).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(bytes))
}

/// Bytes as lowercase hex: digests, MACs and random secrets as apflow
/// stores and shows them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh random secret: 32 bytes from the operating system, hex (API
/// tokens, session ids, the audit key).
pub fn new_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Database id of a stored document (the original bytes as received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(pub i64);

/// Database id of an invoice extracted from a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvoiceId(pub i64);

impl std::fmt::Display for DocumentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a document came from; travels with it as provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Dropped into a watched folder.
    Folder { path: String },
    /// Uploaded through `POST /api/documents`.
    Upload,
    /// Named on the command line (`apflow ingest`, `apflow demo`).
    Cli { path: String },
    /// Found in an email: where in it, and who sent it.
    Mail {
        path: String,
        from: Option<String>,
        subject: Option<String>,
        message_id: Option<String>,
    },
}

impl Source {
    /// Short label stored with the document.
    pub fn label(&self) -> String {
        match self {
            Source::Folder { path } => format!("folder:{path}"),
            Source::Upload => "upload".to_string(),
            Source::Cli { path } => format!("cli:{path}"),
            Source::Mail {
                path,
                from,
                message_id,
                ..
            } => {
                format!(
                    "mail:{}:{}:{path}",
                    from.as_deref().unwrap_or("?"),
                    message_id.as_deref().unwrap_or("?")
                )
            }
        }
    }
}

/// A document exactly as it arrived, before anything interpreted it.
#[derive(Debug, Clone)]
pub struct RawDocument {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub source: Source,
}

/// A sender's file name made safe to store and show: its last path
/// component only (`../../etc/passwd` is `passwd`), without control
/// characters or the invisible formatting ones that make a name read
/// differently from what it is (`invoice\u{202E}fdp.exe` shows as
/// `invoiceexe.pdf`), without leading dots, and at most 150 characters.
/// What was sent stays in the audit log, escaped.
pub fn safe_filename(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
    };
    let cleaned: String = last.chars().filter(|&c| !invisible(c)).take(150).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "document".to_string()
    } else {
        cleaned.to_string()
    }
}

/// What the bytes of a document are, decided by sniffing them, never by the
/// file name or a declared MIME type (vendors' mailers get both wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
    Xml,
}

impl DocumentKind {
    /// The kind a stored media type names (as `media_type` writes it).
    pub fn from_media_type(t: &str) -> Option<DocumentKind> {
        [
            DocumentKind::Pdf,
            DocumentKind::Png,
            DocumentKind::Jpeg,
            DocumentKind::Tiff,
            DocumentKind::Xml,
        ]
        .into_iter()
        .find(|k| k.media_type() == t)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
            DocumentKind::Tiff => "image/tiff",
            DocumentKind::Xml => "application/xml",
        }
    }
}

/// A rectangle on a page in PDF points, origin top-left, y growing downwards
/// (the convention of images and of the review UI that draws on them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl BBox {
    /// The smallest box holding both.
    pub fn union(self, other: BBox) -> BBox {
        BBox {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }
}

/// One word on a page with where it is and how sure the reader is of it
/// (1.0 for a text layer, the OCR confidence for a scan).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub bbox: BBox,
    pub confidence: f32,
}

/// Words that share a baseline, left to right. Large horizontal gaps are kept
/// as separate `segments` so that table columns never glue together.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub words: Vec<Word>,
}

impl Line {
    pub fn text(&self) -> String {
        self.words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn bbox(&self) -> Option<BBox> {
        self.words.iter().map(|w| w.bbox).reduce(BBox::union)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// 1-based page number.
    pub number: u32,
    pub width: f32,
    pub height: f32,
    /// Lines in reading order.
    pub lines: Vec<Line>,
}

/// A document turned into what extraction needs: positioned words, and the
/// embedded e-invoice if there was one.
#[derive(Debug, Clone)]
pub struct ReadDocument {
    pub kind: DocumentKind,
    pub pages: Vec<Page>,
    /// The invoice carried as structured XML (Factur-X/ZUGFeRD, XRechnung,
    /// UBL), exact by construction.
    pub einvoice: Option<ExtractedInvoice>,
    /// That XML as found (inside a PDF or as the file itself).
    pub einvoice_xml: Option<Vec<u8>>,
}

/// An extracted value with how sure we are and where on the page it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T> {
    pub value: T,
    /// 0.0..=1.0; 1.0 for values read from e-invoice XML.
    pub confidence: f32,
    /// 1-based page number and box, when the value came from a page.
    pub location: Option<(u32, BBox)>,
}

impl<T> Field<T> {
    /// A value read from structured data: certain, and on no page.
    pub fn exact(value: T) -> Self {
        Field {
            value,
            confidence: 1.0,
            location: None,
        }
    }
}

/// Where an invoice's values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractionSource {
    /// Embedded or standalone e-invoice XML.
    EInvoice,
    /// The PDF's text layer (or OCR), read by rules and the model.
    Visual,
}

impl ExtractionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractionSource::EInvoice => "einvoice",
            ExtractionSource::Visual => "visual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineItem {
    pub description: Option<String>,
    pub sku: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub unit_price: Option<Decimal>,
    /// How many units `unit_price` is for (EN 16931 BT-149: "12.50 per
    /// 100"), when the e-invoice says; kept as written.
    pub price_base_quantity: Option<Decimal>,
    /// Percent, e.g. 19 for 19 %.
    pub tax_rate: Option<Decimal>,
    pub amount: Option<Decimal>,
    pub confidence: f32,
    pub location: Option<(u32, BBox)>,
}

impl LineItem {
    /// Whether quantity × unit price gives the line amount to the cent,
    /// per the price base quantity when there is one ("12.50 per 100");
    /// `None` when one of the three is missing. A base quantity counts
    /// either way: files in the wild write it both meaningfully and as
    /// noise.
    pub fn arithmetic_holds(&self) -> Option<bool> {
        let (q, p, a) = (self.quantity?, self.unit_price?, self.amount?);
        let cent = Decimal::new(1, 2);
        let close = |x: Decimal| (x.round_dp(2) - a).abs() <= cent;
        let per_base = self
            .price_base_quantity
            .filter(|b| *b > Decimal::ZERO)
            .and_then(|b| (q * p).checked_div(b));
        Some(close(q * p) || per_base.is_some_and(close))
    }
}

/// Everything extraction found on one invoice. Every field is optional:
/// extraction reports what it saw and validation decides what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedInvoice {
    pub source: ExtractionSource,
    pub invoice_number: Option<Field<String>>,
    pub invoice_date: Option<Field<NaiveDate>>,
    pub due_date: Option<Field<NaiveDate>>,
    pub vendor_name: Option<Field<String>>,
    pub vendor_vat_id: Option<Field<String>>,
    /// ISO 4217 code.
    pub currency: Option<Field<String>>,
    pub net_amount: Option<Field<Decimal>>,
    pub tax_amount: Option<Field<Decimal>>,
    pub total_amount: Option<Field<Decimal>>,
    /// What is to be paid, where an e-invoice says it differs from the
    /// total (BT-115 after BT-113 paid in advance or BT-114 rounding):
    /// paying the total would pay the prepayment twice.
    pub amount_due: Option<Field<Decimal>>,
    pub po_number: Option<Field<String>>,
    pub iban: Option<Field<String>>,
    pub payment_terms: Option<Field<String>>,
    /// The vendor collects this invoice by direct debit (an e-invoice's
    /// payment means 49/59 or a mandate reference): what it says about the
    /// mandate and the account debited. Such an invoice is never paid by
    /// transfer as well.
    pub direct_debit: Option<Field<String>>,
    /// The document is a credit note (an e-invoice's type code 381, or a
    /// UBL `CreditNote`): the vendor owes the amount, which EN 16931 writes
    /// as positive. Never paid to the vendor; its lines reduce what was
    /// billed. The value names the type code.
    pub credit_note: Option<Field<String>>,
    /// The vendor of the master data a person picked for this invoice (a
    /// correction): it is that vendor, whatever the page says. Extraction
    /// never sets it.
    pub vendor_id: Option<Field<String>>,
    pub line_items: Vec<LineItem>,
    /// For an e-invoice in a PDF: values the visible page contradicts.
    pub visible_disagreements: Vec<VisibleDisagreement>,
    /// For an e-invoice: the EN 16931 (and XRechnung) business rules its
    /// XML breaks (`validate::en16931`).
    pub einvoice_violations: Vec<einvoice::RuleViolation>,
}

/// A value of a hybrid PDF's embedded XML that the page a person reads
/// contradicts: the XML decides what is paid, the page is what was
/// approved by eye, so they must agree (a forged or mixed-up attachment
/// is caught here).
#[derive(Debug, Clone, PartialEq)]
pub struct VisibleDisagreement {
    /// The field, by its corpus name (`invoice_number`, `total_amount`,
    /// `iban`, `due_date`).
    pub field: &'static str,
    /// What the page shows instead, as a plain value.
    pub visible: String,
    pub location: Option<(u32, BBox)>,
}

impl ExtractedInvoice {
    pub fn empty(source: ExtractionSource) -> Self {
        ExtractedInvoice {
            source,
            invoice_number: None,
            invoice_date: None,
            due_date: None,
            vendor_name: None,
            vendor_vat_id: None,
            currency: None,
            net_amount: None,
            tax_amount: None,
            total_amount: None,
            amount_due: None,
            po_number: None,
            iban: None,
            payment_terms: None,
            direct_debit: None,
            credit_note: None,
            vendor_id: None,
            line_items: Vec::new(),
            visible_disagreements: Vec::new(),
            einvoice_violations: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Master data: what the invoice is checked against.
// ---------------------------------------------------------------------------

/// A supplier as the finance team knows it. `ibans` are the verified bank
/// accounts: an invoice asking to be paid elsewhere is held (fraud check).
#[derive(Debug, Clone, PartialEq)]
pub struct Vendor {
    pub vendor_id: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub vat_id: Option<String>,
    pub ibans: Vec<String>,
    pub payment_terms: Option<String>,
    pub currency: Option<String>,
    pub email_domains: Vec<String>,
    pub tolerances: ToleranceOverride,
}

/// Tolerances a vendor or a PO sets for itself; unset values fall back to
/// the next level (PO → vendor → global configuration).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToleranceOverride {
    pub price_pct: Option<Decimal>,
    pub price_abs: Option<Decimal>,
    pub quantity_pct: Option<Decimal>,
    pub amount_abs: Option<Decimal>,
    pub charges_abs: Option<Decimal>,
    pub reject_price_pct: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoStatus {
    Open,
    Closed,
}

impl PoStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PoStatus::Open => "open",
            PoStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<PoStatus> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Some(PoStatus::Open),
            "closed" => Some(PoStatus::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoLine {
    pub line_no: i64,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit: Option<String>,
    pub unit_price: Decimal,
    /// Percent.
    pub tax_rate: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseOrder {
    pub po_number: String,
    pub vendor_id: String,
    pub currency: String,
    pub status: PoStatus,
    pub lines: Vec<PoLine>,
    pub tolerances: ToleranceOverride,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptLine {
    pub line_no: i64,
    pub quantity: Decimal,
}

/// Goods received against a purchase order: what 3-way matching compares the
/// invoiced quantities with.
#[derive(Debug, Clone, PartialEq)]
pub struct GoodsReceipt {
    pub receipt_id: String,
    pub po_number: String,
    pub received_on: NaiveDate,
    pub lines: Vec<ReceiptLine>,
}

// ---------------------------------------------------------------------------
// Findings and decisions: what validation and matching report.
// ---------------------------------------------------------------------------

/// Why an invoice cannot go through untouched. Codes are stable snake_case
/// strings: they are stored, shown to clerks and matched on by scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    MissingField,
    TotalsMismatch,
    LineSumMismatch,
    InvalidIban,
    DueBeforeIssue,
    LowConfidence,
    VendorUnknown,
    VendorAmbiguous,
    BankDetailsChanged,
    DuplicateInvoice,
    MissingPoNumber,
    PoNotFound,
    PoClosed,
    VendorMismatch,
    CurrencyMismatch,
    UnmatchedLine,
    PriceVariance,
    QuantityExceedsOrdered,
    QuantityExceedsReceived,
    NotReceived,
    OverBilledCumulative,
    TaxMismatch,
    UnexpectedCharges,
    PossibleDuplicate,
    InvalidVatId,
    ImplausibleTaxRate,
    CreditNote,
    PaymentFailed,
    XmlVisualMismatch,
    PasswordProtected,
    /// A person changed a field that moves money: a second person with
    /// the approver role must approve before it can be paid.
    ChangedByPerson,
    /// An approver took an approved or rejected invoice back to review.
    Reopened,
    /// A payment run refused the planned payment: it no longer agreed with
    /// the invoice's approved values or the vendor's verified accounts.
    PaymentRefused,
    /// An e-invoice breaks a fatal EN 16931 / XRechnung business rule.
    EInvoiceInvalid,
    /// The vendor collects the invoice by direct debit: nothing is
    /// transferred, a person checks the debit instead.
    DirectDebit,
    /// The invoice says it was paid in full in advance: nothing is due.
    NothingDue,
}

impl ReasonCode {
    /// Every code, for lookups by name and for checks that each has a
    /// label.
    pub const ALL: [ReasonCode; 36] = [
        ReasonCode::MissingField,
        ReasonCode::TotalsMismatch,
        ReasonCode::LineSumMismatch,
        ReasonCode::InvalidIban,
        ReasonCode::DueBeforeIssue,
        ReasonCode::LowConfidence,
        ReasonCode::VendorUnknown,
        ReasonCode::VendorAmbiguous,
        ReasonCode::BankDetailsChanged,
        ReasonCode::DuplicateInvoice,
        ReasonCode::MissingPoNumber,
        ReasonCode::PoNotFound,
        ReasonCode::PoClosed,
        ReasonCode::VendorMismatch,
        ReasonCode::CurrencyMismatch,
        ReasonCode::UnmatchedLine,
        ReasonCode::PriceVariance,
        ReasonCode::QuantityExceedsOrdered,
        ReasonCode::QuantityExceedsReceived,
        ReasonCode::NotReceived,
        ReasonCode::OverBilledCumulative,
        ReasonCode::TaxMismatch,
        ReasonCode::UnexpectedCharges,
        ReasonCode::PossibleDuplicate,
        ReasonCode::InvalidVatId,
        ReasonCode::ImplausibleTaxRate,
        ReasonCode::CreditNote,
        ReasonCode::PaymentFailed,
        ReasonCode::XmlVisualMismatch,
        ReasonCode::PasswordProtected,
        ReasonCode::ChangedByPerson,
        ReasonCode::Reopened,
        ReasonCode::PaymentRefused,
        ReasonCode::EInvoiceInvalid,
        ReasonCode::DirectDebit,
        ReasonCode::NothingDue,
    ];

    /// The code stored as `s`.
    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::MissingField => "missing_field",
            ReasonCode::TotalsMismatch => "totals_mismatch",
            ReasonCode::LineSumMismatch => "line_sum_mismatch",
            ReasonCode::EInvoiceInvalid => "einvoice_invalid",
            ReasonCode::DirectDebit => "direct_debit",
            ReasonCode::NothingDue => "nothing_due",
            ReasonCode::InvalidIban => "invalid_iban",
            ReasonCode::DueBeforeIssue => "due_before_issue",
            ReasonCode::LowConfidence => "low_confidence",
            ReasonCode::VendorUnknown => "vendor_unknown",
            ReasonCode::VendorAmbiguous => "vendor_ambiguous",
            ReasonCode::BankDetailsChanged => "bank_details_changed",
            ReasonCode::DuplicateInvoice => "duplicate_invoice",
            ReasonCode::MissingPoNumber => "missing_po_number",
            ReasonCode::PoNotFound => "po_not_found",
            ReasonCode::PoClosed => "po_closed",
            ReasonCode::VendorMismatch => "vendor_mismatch",
            ReasonCode::CurrencyMismatch => "currency_mismatch",
            ReasonCode::UnmatchedLine => "unmatched_line",
            ReasonCode::PriceVariance => "price_variance",
            ReasonCode::QuantityExceedsOrdered => "quantity_exceeds_ordered",
            ReasonCode::QuantityExceedsReceived => "quantity_exceeds_received",
            ReasonCode::NotReceived => "not_received",
            ReasonCode::OverBilledCumulative => "over_billed_cumulative",
            ReasonCode::TaxMismatch => "tax_mismatch",
            ReasonCode::UnexpectedCharges => "unexpected_charges",
            ReasonCode::PossibleDuplicate => "possible_duplicate",
            ReasonCode::InvalidVatId => "invalid_vat_id",
            ReasonCode::ImplausibleTaxRate => "implausible_tax_rate",
            ReasonCode::CreditNote => "credit_note",
            ReasonCode::PaymentFailed => "payment_failed",
            ReasonCode::XmlVisualMismatch => "xml_visual_mismatch",
            ReasonCode::PasswordProtected => "password_protected",
            ReasonCode::ChangedByPerson => "changed_by_person",
            ReasonCode::Reopened => "reopened",
            ReasonCode::PaymentRefused => "payment_refused",
        }
    }
}

/// How serious a finding is: most send the invoice to a clerk; a few
/// (configured hard limits) reject it outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Review,
    Reject,
}

/// One reason, with the field it concerns, a sentence a clerk can act on,
/// the invoice lines it is about and the numbers behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: ReasonCode,
    pub field: Option<&'static str>,
    pub message: String,
    /// 1-based invoice line numbers the finding concerns.
    pub lines: Vec<usize>,
    /// The numbers behind the finding, by name (`invoiced_price`, ...).
    pub evidence: Vec<(&'static str, String)>,
    pub severity: Severity,
}

impl Finding {
    pub fn new(code: ReasonCode, field: Option<&'static str>, message: impl Into<String>) -> Self {
        Finding {
            code,
            field,
            message: message.into(),
            lines: Vec::new(),
            evidence: Vec::new(),
            severity: Severity::Review,
        }
    }

    /// Adds a number behind the finding.
    pub fn with(mut self, name: &'static str, value: impl std::fmt::Display) -> Self {
        self.evidence.push((name, value.to_string()));
        self
    }

    /// Names the (1-based) invoice lines the finding concerns.
    pub fn on_lines(mut self, lines: impl IntoIterator<Item = usize>) -> Self {
        self.lines.extend(lines);
        self
    }

    pub fn rejecting(mut self) -> Self {
        self.severity = Severity::Reject;
        self
    }
}

/// Where an invoice ends up after the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Extracted, waiting for validation and matching.
    Pending,
    /// Clean: planned for payment without a human.
    Scheduled,
    /// On the review queue with reasons.
    NeedsReview,
    /// Reviewed by a clerk and waiting for an approver's decision.
    AwaitingApproval,
    /// Parked by a clerk (waiting for the vendor, a credit note, ...).
    OnHold,
    /// Same invoice seen before; linked to the original, never paid.
    Duplicate,
    /// Not an invoice we can process (unreadable, wrong type).
    Rejected,
    /// In a payment run that the bank executed.
    Paid,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "pending",
            InvoiceStatus::Scheduled => "scheduled",
            InvoiceStatus::NeedsReview => "needs_review",
            InvoiceStatus::AwaitingApproval => "awaiting_approval",
            InvoiceStatus::OnHold => "on_hold",
            InvoiceStatus::Duplicate => "duplicate",
            InvoiceStatus::Rejected => "rejected",
            InvoiceStatus::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        [
            InvoiceStatus::Pending,
            InvoiceStatus::Scheduled,
            InvoiceStatus::NeedsReview,
            InvoiceStatus::AwaitingApproval,
            InvoiceStatus::OnHold,
            InvoiceStatus::Duplicate,
            InvoiceStatus::Rejected,
            InvoiceStatus::Paid,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// Which PO line an invoice line was assigned to, and how it compared.
#[derive(Debug, Clone, PartialEq)]
pub struct LineMatch {
    /// 0-based index into the invoice's line items.
    pub invoice_line: usize,
    pub po_line_no: i64,
    pub ordered_quantity: Decimal,
    pub received_quantity: Decimal,
    /// Billed on this PO line by earlier invoices.
    pub billed_before: Decimal,
    pub po_unit_price: Decimal,
    /// What this invoice line bills against the PO line.
    pub quantity: Decimal,
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Every line agrees with the PO (and receipts) within tolerance.
    Matched,
    /// A PO was found but something disagrees.
    Mismatch,
    /// No PO to match against.
    NoPurchaseOrder,
}

impl MatchOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOutcome::Matched => "matched",
            MatchOutcome::Mismatch => "mismatch",
            MatchOutcome::NoPurchaseOrder => "no_purchase_order",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchResult {
    pub po_number: Option<String>,
    /// True when the invoice quoted no PO and the one it fits was found
    /// among the vendor's open POs.
    pub po_inferred: bool,
    pub outcome: MatchOutcome,
    pub lines: Vec<LineMatch>,
    pub findings: Vec<Finding>,
}

/// A payment the scheduler will make, created only by the `payment` stage.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPayment {
    /// What will be paid: the total less any discount taken.
    pub amount: Decimal,
    pub currency: String,
    pub planned_on: NaiveDate,
    /// When the invoice falls due (net).
    pub due_on: NaiveDate,
    /// Early-payment discount taken by paying on `planned_on`.
    pub discount: Decimal,
    /// Why this date, in words (discount taken or not, weekend moved).
    pub reason: String,
    pub creditor_name: String,
    pub creditor_iban: Option<String>,
    /// Remittance information: the invoice number the vendor books it to.
    pub remittance: String,
    /// One invoice, one key: the unique constraint on it is what makes a
    /// re-run unable to pay twice.
    pub idempotency_key: String,
}

/// The routing decision for one invoice, with every reason behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub status: InvoiceStatus,
    pub vendor_id: Option<String>,
    pub duplicate_of: Option<InvoiceId>,
    pub findings: Vec<Finding>,
    pub matching: MatchResult,
    pub payment: Option<PlannedPayment>,
}

/// An IBAN without spaces, in capitals: the form it is compared in.
pub fn compact_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether `iban` is one of `accounts`, spaces and case aside: how a
/// payee's IBAN is compared with the verified accounts wherever money may
/// go to it.
pub fn iban_among(accounts: &[String], iban: &str) -> bool {
    let key = compact_iban(iban);
    accounts.iter().any(|known| compact_iban(known) == key)
}

/// Shows only the country, check digits and last four characters: enough to
/// compare, not enough to misuse from a log or screen.
pub fn mask_iban(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().collect();
    if chars.len() < 8 {
        return "****".to_string();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The form of an invoice number used to recognise the same invoice sent
/// twice: `INV-001`, `inv 001` and `001` are one number. Letters and
/// separators in front of the first digit are decoration vendors add and
/// drop freely; leading zeros likewise.
pub fn invoice_number_key(number: &str) -> String {
    let alnum: String = number
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    let from_first_digit = match alnum.find(|c: char| c.is_ascii_digit()) {
        Some(i) => &alnum[i..],
        None => alnum.as_str(),
    };
    let trimmed = from_first_digit.trim_start_matches('0');
    if trimmed.is_empty() {
        from_first_digit.to_string()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{LineItem, invoice_number_key};
    use rust_decimal::Decimal;

    /// The one arithmetic check of a line, which extraction trusts and
    /// validation holds an invoice on.
    #[test]
    fn a_line_adds_up_per_unit_or_per_its_price_base() {
        let d = |s: &str| s.parse::<Decimal>().ok();
        let line = |q: &str, p: &str, base: Option<&str>, a: &str| LineItem {
            quantity: d(q),
            unit_price: d(p),
            price_base_quantity: base.and_then(d),
            amount: d(a),
            ..LineItem::default()
        };
        assert_eq!(
            line("3", "43.20", None, "129.60").arithmetic_holds(),
            Some(true)
        );
        // Rounded to the cent, within a cent.
        assert_eq!(
            line("3", "3.3333", None, "10.00").arithmetic_holds(),
            Some(true)
        );
        assert_eq!(
            line("150", "49.29", Some("100"), "73.94").arithmetic_holds(),
            Some(true)
        );
        // A base written as noise ("1") is no excuse for a wrong amount.
        assert_eq!(
            line("150", "49.29", Some("1"), "73.94").arithmetic_holds(),
            Some(false)
        );
        assert_eq!(
            line("150", "49.29", None, "73.94").arithmetic_holds(),
            Some(false)
        );
        assert_eq!(
            line("3", "43.20", None, "129.62").arithmetic_holds(),
            Some(false)
        );
        assert_eq!(
            line("3", "43.20", Some("0"), "129.60").arithmetic_holds(),
            Some(true)
        );
        let mut missing = line("3", "43.20", None, "129.60");
        missing.amount = None;
        assert_eq!(missing.arithmetic_holds(), None);
    }

    #[test]
    fn invoice_number_key_folds_decoration() {
        for (a, b) in [
            ("INV-001", "inv 001"),
            ("INV-001", "001"),
            ("RE-2026-00412", "2026/00412"),
            ("F2026-0193", "f 2026 0193"),
        ] {
            assert_eq!(invoice_number_key(a), invoice_number_key(b), "{a} vs {b}");
        }
        assert_ne!(invoice_number_key("INV-001"), invoice_number_key("INV-002"));
        assert_eq!(invoice_number_key("ABC"), "ABC");
    }

    #[test]
    fn safe_filename_keeps_what_a_person_should_see() {
        use super::safe_filename;
        for (sent, stored) in [
            ("invoice.pdf", "invoice.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\ap\\..\\Rechnung 12.pdf", "Rechnung 12.pdf"),
            ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
            ("a\u{0}b\r\nc.pdf", "abc.pdf"),
            ("\u{200B}.hidden.pdf", "hidden.pdf"),
            ("..", "document"),
            ("", "document"),
            ("Facture n°12 – mars.pdf", "Facture n°12 – mars.pdf"),
        ] {
            assert_eq!(safe_filename(sent), stored, "{sent:?}");
        }
        assert_eq!(safe_filename(&"x".repeat(400)).chars().count(), 150);
    }
}

// ---------------------------------------------------------------------------
// People: who may do what.
// ---------------------------------------------------------------------------

/// What a person may do. Clerks work the review queue; approvers approve
/// up to their limit; admins run the system (master data, users, payment
/// runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Clerk,
    Approver,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "clerk" => Some(Role::Clerk),
            "approver" => Some(Role::Approver),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A person with a login.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// The most an approver may approve alone.
    pub approval_limit: Option<Decimal>,
    /// The budgets an approver answers for (empty: any).
    pub cost_centres: Vec<String>,
}

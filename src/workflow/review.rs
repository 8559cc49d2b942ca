//! The review queue's actions and their rules: a clerk corrects fields and
//! sends an invoice to approval; an approver approves it (then it is
//! scheduled for payment like a clean invoice) or rejects it. Segregation
//! of duties: nobody approves an invoice whose fields they corrected or
//! whose approval they asked for, and nobody approves above their limit.

use rust_decimal::Decimal;

use crate::config::Settings;
use crate::domain::{InvoiceId, Role, User};
use crate::store::ApprovalRequest;
use crate::store::{AuditEntry, CORRECTABLE_FIELDS, Correction, Reopen, Store};

/// Fields whose change moves money: who is paid (IBAN), how much (amounts,
/// currency), when (dates, terms), and the number that keeps an invoice
/// from being paid twice. A person's change of any of them means the
/// invoice is paid only once a second person, an approver, approved it.
/// (A corrected PO number is not among them: matching against that order
/// is the control.)
pub const MONEY_FIELDS: [&str; 12] = [
    // Who is paid: the vendor whose verified accounts the payment goes to.
    "vendor_id",
    // The lines decide the match against the order, and a match can pay
    // without a person.
    "line_items",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "net_amount",
    "tax_amount",
    "total_amount",
    // What is paid when a prepayment is deducted from the total.
    "amount_due",
    "iban",
    "payment_terms",
];

/// Who must approve which invoices (`[[approval_rule]]` in the config).
/// Every rule that fits an invoice applies: the most approvals any of them
/// asks for, and, when rules name approvers, one of those people (or whoever
/// stands in for them) must be among the approvers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApprovalRule {
    pub name: String,
    /// Only invoices without (`true`) or with (`false`) a purchase order.
    pub non_po: Option<bool>,
    /// Only invoices whose total is above this.
    pub above: Option<Decimal>,
    /// Only this vendor's invoices.
    pub vendor: Option<String>,
    /// Only invoices against purchase orders of this cost centre.
    pub cost_centre: Option<String>,
    /// Only these people may approve (empty: any approver within limit).
    pub approvers: Vec<String>,
    /// Different approvers needed.
    pub approvals: u32,
}

impl ApprovalRule {
    fn applies(
        &self,
        has_po: bool,
        total: Option<Decimal>,
        vendor: Option<&str>,
        cost_centre: Option<&str>,
    ) -> bool {
        self.non_po.is_none_or(|n| n != has_po)
            && self
                .cost_centre
                .as_deref()
                .is_none_or(|c| cost_centre == Some(c))
            && self
                .above
                .is_none_or(|a| total.is_some_and(|t| t.abs() > a))
            && self.vendor.as_deref().is_none_or(|v| vendor == Some(v))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such invoice")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotAllowed(String),
    /// Right state, wrong moment: try again shortly.
    #[error("{0}")]
    Conflict(String),
    #[error("the invoice is not {expected} (someone acted on it first?)")]
    WrongState { expected: &'static str },
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

fn entry(
    user: &User,
    action: &'static str,
    invoice: InvoiceId,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        actor: user.username.clone(),
        action,
        entity: "invoice",
        entity_id: invoice.0.to_string(),
        detail,
    }
}

/// A person's correction of one field, checked for its type. When the
/// corrected value is printed on the page of a known vendor's invoice, its
/// place is remembered for the vendor's next invoices (`extract::memory`).
pub async fn correct_field(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    field: &str,
    value: &str,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not correct fields",
            user.role.as_str()
        )));
    }
    let Some(&(field, column)) = CORRECTABLE_FIELDS.iter().find(|(f, _)| *f == field) else {
        return Err(ReviewError::Invalid(format!(
            "{field:?} cannot be corrected"
        )));
    };
    let value = correction_value(field, value)?;
    let value = value.as_str();
    if field == "vendor_id" && store.vendor(value).await?.is_none() {
        return Err(ReviewError::Invalid(format!(
            "there is no vendor {value:?} in the master data: pick one from the list, or import it first"
        )));
    }
    let audit = entry(
        user,
        "invoice.field_corrected",
        invoice,
        serde_json::json!({ "field": field, "new": value, "moves_money": MONEY_FIELDS.contains(&field) }),
    );
    match store
        .correct_field(invoice, field, column, value, user.id, &audit)
        .await?
    {
        Correction::Done { .. } => {}
        Correction::NoSuchInvoice => return Err(ReviewError::NotFound),
        Correction::Closed { status } => {
            return Err(ReviewError::NotAllowed(format!(
                "the invoice is {}: its fields can no longer change (an approver may reopen it)",
                status.replace('_', " ")
            )));
        }
    }
    if let Err(e) = learn_place(store, settings, invoice, field, value).await {
        // The correction stands; only the lesson is lost.
        tracing::warn!(invoice = invoice.0, field, error = %e, "cannot learn where the field is printed");
    }
    Ok(())
}

/// An amount as a person types it (`1.234,56`, `497,92`, `1234.56`),
/// below a trillion: what a correction or a line edit accepts.
fn typed_amount(value: &str) -> Option<Decimal> {
    crate::extract::normalize::parse_amount(value, None)
        .filter(|a| a.abs() < Decimal::from(1_000_000_000_000_i64))
}

/// A person's value for a field as it is stored: amounts and dates as
/// people write them (`1.234,56`, `497,92`, `12.03.2026`, `2026-03-12`)
/// become `1234.56` and `2026-03-12`; a currency is upper-cased; an IBAN
/// loses its spaces and must pass its checksum. A date written with
/// slashes is read day first (`03/04/2026` is 3 April), as in every
/// locale apflow is used in but the US; the page shows what was stored.
pub fn correction_value(field: &str, value: &str) -> Result<String, ReviewError> {
    use crate::extract::normalize;
    let value = value.trim();
    let label = field.replace('_', " ");
    let bad = |hint: &str| ReviewError::Invalid(format!("{value:?} is not a valid {label}{hint}"));
    match field {
        "invoice_date" | "due_date" => normalize::parse_date(value, true)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| bad(" (write it as 31.12.2026 or 2026-12-31)")),
        "net_amount" | "tax_amount" | "total_amount" | "amount_due" => typed_amount(value)
            .map(|a| a.normalize().to_string())
            .ok_or_else(|| bad(" (write it as 1234.56 or 1.234,56)")),
        "currency" => {
            let c = value.to_ascii_uppercase();
            if c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(c)
            } else {
                Err(bad(" (three letters, such as EUR)"))
            }
        }
        "iban" => {
            normalize::parse_iban(value).ok_or_else(|| bad(" (its check digits do not add up)"))
        }
        _ if value.is_empty() => Err(bad("")),
        _ => Ok(value.to_string()),
    }
}

/// One line of the invoice as a person edits it in the grid: the line it
/// was (`from`, 1-based; none for a line they added) and its values as
/// typed. A line's SKU, unit, tax rate and page box stay with it.
#[derive(Debug, Clone, Default)]
pub struct LineEdit {
    pub from: Option<usize>,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

/// The most lines a person's edit may have.
pub const MAX_EDITED_LINES: usize = 500;

/// A person replaces the invoice's lines (fixes, adds, removes, splits
/// them), checked as one correction of `line_items`: numbers as people
/// write them, an empty row dropped, at most [`MAX_EDITED_LINES`]. The lines
/// decide the match against the order, so this is a change an approver who
/// did not make it must approve (`MONEY_FIELDS`).
pub async fn correct_lines(
    store: &Store,
    invoice: InvoiceId,
    edits: &[LineEdit],
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not correct lines",
            user.role.as_str()
        )));
    }
    if edits.len() > MAX_EDITED_LINES {
        return Err(ReviewError::Invalid(format!(
            "at most {MAX_EDITED_LINES} lines"
        )));
    }
    if store.invoice_summary(invoice).await?.is_none() {
        return Err(ReviewError::NotFound);
    }
    let current = store.load_extraction(invoice).await?.line_items;
    let mut lines = Vec::new();
    for (n, e) in edits.iter().enumerate() {
        let blank = [&e.description, &e.quantity, &e.unit_price, &e.amount]
            .iter()
            .all(|v| v.trim().is_empty());
        if blank {
            continue;
        }
        let number = |what: &str, v: &str| -> Result<Option<Decimal>, ReviewError> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            typed_amount(v).map(Some).ok_or_else(|| {
                ReviewError::Invalid(format!(
                    "line {}: {v:?} is not a valid {what} (write it as 1234.56 or 1.234,56)",
                    n + 1
                ))
            })
        };
        let mut line = e
            .from
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| current.get(i))
            .cloned()
            .unwrap_or(crate::domain::LineItem {
                description: None,
                sku: None,
                quantity: None,
                unit: None,
                unit_price: None,
                price_base_quantity: None,
                tax_rate: None,
                amount: None,
                confidence: 1.0,
                location: None,
            });
        line.description = Some(e.description.trim().to_string()).filter(|d| !d.is_empty());
        line.quantity = number("quantity", &e.quantity)?;
        line.unit_price = number("unit price", &e.unit_price)?;
        line.amount = number("amount", &e.amount)?;
        line.confidence = 1.0;
        lines.push(line);
    }
    let audit = entry(
        user,
        "invoice.lines_corrected",
        invoice,
        serde_json::json!({ "lines": lines.len(), "moves_money": true }),
    );
    match store
        .replace_lines(invoice, &lines, user.id, &audit)
        .await?
    {
        Correction::Done { .. } => Ok(()),
        Correction::NoSuchInvoice => Err(ReviewError::NotFound),
        Correction::Closed { status } => Err(ReviewError::NotAllowed(format!(
            "the invoice is {}: its lines can no longer change (an approver may reopen it)",
            status.replace('_', " ")
        ))),
    }
}

/// Finds the corrected value on the invoice's page and remembers the place
/// for its vendor.
async fn learn_place(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    field: &str,
    value: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if !crate::extract::memory::LEARNABLE.contains(&field) {
        return Ok(());
    }
    let Some(detail) = store.invoice_detail(invoice).await? else {
        return Ok(());
    };
    let (Some(vendor_id), "visual") = (
        detail.summary.vendor_id.as_deref(),
        detail.extraction_source.as_str(),
    ) else {
        return Ok(());
    };
    let Some(doc) = store.document(detail.summary.document_id).await? else {
        return Ok(());
    };
    let read = crate::read::read_document(
        std::sync::Arc::new(doc.content),
        settings.read_options(true),
        settings.read_timeout,
    )
    .await?;
    if let Some(place) = crate::extract::memory::locate(field, value, &read.pages) {
        store
            .remember_field_place(vendor_id, &place, invoice)
            .await?;
        tracing::info!(
            vendor_id,
            field,
            page = place.page,
            "learned where the vendor prints the field"
        );
    }
    Ok(())
}

/// Sends an invoice on the review queue to approval.
pub async fn request_approval(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    comment: &str,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not send invoices to approval",
            user.role.as_str()
        )));
    }
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(ReviewError::Invalid(
            "to send an invoice to approval, tell the approver what you checked or changed".into(),
        ));
    }
    let comment = bounded(comment)?;
    let audit = entry(
        user,
        "invoice.approval_requested",
        invoice,
        serde_json::json!({ "comment": comment }),
    );
    match store.request_approval(invoice, user.id, &audit).await? {
        ApprovalRequest::Sent => {
            notify(
                settings,
                "approval_requested",
                invoice,
                user,
                serde_json::json!({ "comment": comment }),
            );
            Ok(())
        }
        ApprovalRequest::BeingChecked => Err(ReviewError::Conflict(
            "the invoice is being checked again (after a change): send it to approval once its reasons are up to date".into(),
        )),
        ApprovalRequest::NotOnQueue => Err(ReviewError::WrongState {
            expected: "on the review queue",
        }),
    }
}

/// What an approver's decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    Scheduled,
    Rejected,
    /// An approval short of the number required: other approvers must
    /// approve too.
    NeedsSecondApprover,
}

/// An approver's decision. Approving plans the payment under the same
/// terms as a clean invoice (above `second_approval_above`, once two
/// different approvers have approved); rejecting needs a reason.
pub async fn decide(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    user: &User,
    approve: bool,
    comment: &str,
) -> Result<Decided, ReviewError> {
    if !matches!(user.role, Role::Approver | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not approve or reject invoices",
            user.role.as_str()
        )));
    }
    let summary = store
        .invoice_summary(invoice)
        .await?
        .ok_or(ReviewError::NotFound)?;
    if summary.status != crate::domain::InvoiceStatus::AwaitingApproval {
        return Err(ReviewError::WrongState {
            expected: "awaiting approval",
        });
    }
    if store.corrected_by(invoice).await?.contains(&user.id) {
        return Err(ReviewError::NotAllowed(
            "you corrected this invoice: someone else must approve it".into(),
        ));
    }
    if store.approval_requester(invoice).await? == Some(user.id) {
        return Err(ReviewError::NotAllowed(
            "you sent this invoice to approval: someone else must approve it".into(),
        ));
    }
    let payment = if approve {
        let inv = store.load_extraction(invoice).await?;
        let total = inv.total_amount.as_ref().map(|f| f.value);
        if let (Some(limit), Some(total)) = (user.approval_limit, total)
            && total > limit
        {
            return Err(ReviewError::NotAllowed(format!(
                "{total} is above your approval limit of {limit}"
            )));
        }
        // How many different approvers, and who: the two-approver threshold
        // and every approval rule that fits.
        let cost_centre = match &inv.po_number {
            Some(po) => store.po_cost_centre(&po.value).await?,
            None => None,
        };
        // An approver answers for their budgets only.
        if let Some(cc) = &cost_centre
            && !user.cost_centres.is_empty()
            && !user.cost_centres.contains(cc)
        {
            return Err(ReviewError::NotAllowed(format!(
                "the order charges cost centre {cc}, which is not one of yours ({})",
                user.cost_centres.join(", ")
            )));
        }
        let rules: Vec<&ApprovalRule> = settings
            .approval_rules
            .iter()
            .filter(|r| {
                r.applies(
                    inv.po_number.is_some(),
                    total,
                    summary.vendor_id.as_deref(),
                    cost_centre.as_deref(),
                )
            })
            .collect();
        let mut required = 1;
        if let (Some(threshold), Some(total)) = (settings.second_approval_above, total)
            && total.abs() > threshold
        {
            required = 2;
        }
        required = rules.iter().map(|r| r.approvals).fold(required, u32::max);
        let named: Vec<&str> = rules
            .iter()
            .flat_map(|r| r.approvers.iter().map(String::as_str))
            .collect();
        if !named.is_empty() {
            let stands_in_for = store.delegators_of(user.id, settings.today()).await?;
            let acting_as: Vec<&str> = std::iter::once(user.username.as_str())
                .chain(stands_in_for.iter().map(|u| u.username.as_str()))
                .collect();
            if !named.iter().any(|n| acting_as.contains(n)) {
                let names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
                return Err(ReviewError::NotAllowed(format!(
                    "under the rule {} only {} (or whoever stands in for them) may approve",
                    names.join(", "),
                    named.join(", ")
                )));
            }
        }
        // Who is paid is settled before anyone's approval counts: a
        // vendor from the master data and one of its verified accounts.
        let vendor = match summary.vendor_id.as_deref() {
            Some(id) => store.vendor(id).await?,
            None => None,
        };
        let vendor = vendor.as_ref();
        if let Some(why) = crate::payment::not_to_be_paid(&inv) {
            return Err(ReviewError::Invalid(why.into()));
        }
        let plan = crate::payment::plan(invoice, &inv, vendor, &settings.payment_policy())
            .ok_or_else(|| {
                ReviewError::Invalid(
                    "no payment can be planned (no total, or a credit note): reject it or correct the total"
                        .into(),
                )
            })?;
        let (vendor, iban) = payee_is_verified(vendor, &plan)?;
        if store
            .verified_for_this_invoice(&vendor.vendor_id, iban, &user.username, invoice)
            .await?
        {
            return Err(ReviewError::NotAllowed(
                "you verified this bank account while the invoice waited: someone else must approve it"
                    .into(),
            ));
        }
        if let Some(first) =
            super::earlier_with_same_number(store, &vendor.vendor_id, &inv, invoice).await?
        {
            return Err(ReviewError::NotAllowed(format!(
                "invoice #{} of the same vendor has the same number: it is a duplicate (mark it so), or correct the number",
                first.0
            )));
        }
        let steps = store.approval_steps(invoice).await?;
        if steps.contains(&user.id) {
            return Err(ReviewError::NotAllowed(format!(
                "{required} different approvers must approve; you approved already"
            )));
        }
        let given = u32::try_from(steps.len()).unwrap_or(u32::MAX) + 1;
        if given < required {
            let audit = entry(
                user,
                "invoice.approval_step",
                invoice,
                serde_json::json!({ "comment": comment, "approval": given, "of": required }),
            );
            store
                .add_approval_step(invoice, user.id, comment, &audit)
                .await?;
            notify(
                settings,
                "approval_step",
                invoice,
                user,
                serde_json::json!({ "comment": comment, "approval": given, "of": required }),
            );
            return Ok(Decided::NeedsSecondApprover);
        }
        Some(plan)
    } else {
        if comment.trim().is_empty() {
            return Err(ReviewError::Invalid("a rejection needs a reason".into()));
        }
        None
    };
    let audit = entry(
        user,
        if approve {
            "invoice.approved"
        } else {
            "invoice.rejected"
        },
        invoice,
        serde_json::json!({ "comment": comment, "planned_on": payment.as_ref().map(|p| p.planned_on.to_string()) }),
    );
    if store
        .decide_approval(invoice, user.id, payment.as_ref(), comment, &audit)
        .await?
    {
        let event = if approve { "approved" } else { "rejected" };
        notify(
            settings,
            event,
            invoice,
            user,
            serde_json::json!({ "comment": comment }),
        );
        Ok(if approve {
            Decided::Scheduled
        } else {
            Decided::Rejected
        })
    } else {
        Err(ReviewError::WrongState {
            expected: "awaiting approval",
        })
    }
}

/// An approval pays a vendor of the master data on one of its verified
/// accounts, never an IBAN only the invoice (or a clerk) names: a new bank
/// account is verified by a second person first (`verify_iban`). Returns
/// that vendor and the IBAN to pay.
fn payee_is_verified<'a>(
    vendor: Option<&'a crate::domain::Vendor>,
    plan: &'a crate::domain::PlannedPayment,
) -> Result<(&'a crate::domain::Vendor, &'a str), ReviewError> {
    let Some(vendor) = vendor else {
        return Err(ReviewError::NotAllowed(
            "the vendor is not in the master data: add it, with its bank account, before approving"
                .into(),
        ));
    };
    let Some(iban) = plan.creditor_iban.as_deref() else {
        return Err(ReviewError::Invalid(format!(
            "there is no bank account to pay {}: correct the IBAN",
            vendor.name
        )));
    };
    if !crate::validate::is_verified_iban(vendor, iban) {
        return Err(ReviewError::NotAllowed(format!(
            "the IBAN {} is not a verified account of {}: it must be verified (by an approver or admin who \
             neither entered it nor sent the invoice to approval) before the invoice can be approved",
            crate::validate::mask_iban(iban),
            vendor.name
        )));
    }
    Ok((vendor, iban))
}

/// Gives an invoice on the review queue to a clerk (`to`, or the caller
/// when claiming it).
pub async fn assign(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    to: Option<&str>,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not assign review work",
            user.role.as_str()
        )));
    }
    let to = to
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&user.username);
    let people = store.users().await?;
    if !people
        .iter()
        .any(|u| u.username == to && matches!(u.role, Role::Clerk | Role::Admin))
    {
        return Err(ReviewError::Invalid(format!("{to} is not an active clerk")));
    }
    let audit = entry(
        user,
        "invoice.assigned",
        invoice,
        serde_json::json!({ "to": to }),
    );
    if store.assign_review(invoice, to, &audit).await? {
        notify(
            settings,
            "assigned",
            invoice,
            user,
            serde_json::json!({ "to": to }),
        );
        Ok(())
    } else {
        Err(ReviewError::WrongState {
            expected: "on the review queue",
        })
    }
}

/// A clerk's other ways out of the review queue: park it (`hold`, with a
/// reason), bring it back (`release`), reject it (with a reason), or mark
/// it a duplicate of an earlier invoice (never paid).
pub async fn clerk_action(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    action: &str,
    comment: &str,
    duplicate_of: Option<InvoiceId>,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not {action} invoices",
            user.role.as_str()
        )));
    }
    let needs_reason = matches!(action, "hold" | "reject");
    if needs_reason && comment.trim().is_empty() {
        return Err(ReviewError::Invalid(format!(
            "to {action} an invoice, say why"
        )));
    }
    let (from, to, audit_action): (&[&str], &'static str, &'static str) = match action {
        "hold" => (&["needs_review"], "on_hold", "invoice.put_on_hold"),
        "release" => (&["on_hold"], "needs_review", "invoice.released"),
        "reject" => (
            &["needs_review", "on_hold"],
            "rejected",
            "invoice.rejected_by_clerk",
        ),
        "mark-duplicate" => (
            &["needs_review", "on_hold"],
            "duplicate",
            "invoice.marked_duplicate",
        ),
        other => return Err(ReviewError::Invalid(format!("unknown action {other:?}"))),
    };
    if action == "mark-duplicate" {
        let Some(original) = duplicate_of.filter(|o| *o != invoice) else {
            return Err(ReviewError::Invalid(
                "which invoice is it a duplicate of?".into(),
            ));
        };
        if store.invoice_summary(original).await?.is_none() {
            return Err(ReviewError::Invalid(format!(
                "there is no invoice #{}",
                original.0
            )));
        }
    }
    let audit = entry(
        user,
        audit_action,
        invoice,
        serde_json::json!({ "comment": comment, "duplicate_of": duplicate_of.map(|d| d.0) }),
    );
    if store
        .move_invoice(invoice, from, to, duplicate_of, &audit)
        .await?
    {
        notify(
            settings,
            to,
            invoice,
            user,
            serde_json::json!({ "comment": comment }),
        );
        Ok(())
    } else {
        Err(ReviewError::WrongState {
            expected: if action == "release" {
                "on hold"
            } else {
                "on the review queue"
            },
        })
    }
}

/// Tells people about a review event through `notify_command` (the event
/// as one JSON object on stdin). Runs in the background with a deadline:
/// a slow or failing mail relay never holds up the action, and failures are
/// logged.
pub fn notify(
    settings: &Settings,
    event: &str,
    invoice: InvoiceId,
    actor: &User,
    detail: serde_json::Value,
) {
    let Some(command) = settings.notify_command.clone() else {
        return;
    };
    let payload = serde_json::json!({
        "event": event,
        "invoice_id": invoice.0,
        "actor": actor.username,
        "at": chrono::Utc::now().to_rfc3339(),
        "detail": detail,
    })
    .to_string();
    let event = event.to_string();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let run = async {
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(payload.as_bytes()).await?;
            }
            child.wait().await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(30), run).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => tracing::warn!(%event, %status, "notify command failed"),
            Ok(Err(e)) => tracing::warn!(%event, error = %e, "cannot run the notify command"),
            Err(_) => tracing::warn!(%event, "notify command timed out"),
        }
    });
}

/// A person confirms a vendor's new bank account (by calling the vendor on
/// a known number). Segregation of duties: whoever entered that IBAN as a
/// correction may not be the one who verifies it. Returns how many held
/// invoices were queued again, or `NotFound` for an unknown vendor.
pub async fn verify_iban(
    store: &Store,
    vendor_id: &str,
    iban: &str,
    user: &User,
) -> Result<u64, ReviewError> {
    if !matches!(user.role, Role::Approver | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not verify bank accounts",
            user.role.as_str()
        )));
    }
    let Some(iban) = crate::extract::normalize::parse_iban(iban) else {
        return Err(ReviewError::Invalid(format!(
            "{iban:?} is not a valid IBAN (checksum)"
        )));
    };
    may_judge_iban(store, vendor_id, &iban, user).await?;
    match super::verify_vendor_iban(store, vendor_id, &iban, &user.username).await {
        Ok(Some(n)) => Ok(n),
        Ok(None) => Err(ReviewError::NotFound),
        Err(super::Error::Store(e)) => Err(ReviewError::Store(e)),
        Err(e) => Err(ReviewError::Invalid(e.to_string())),
    }
}

/// Segregation of duties for a bank account: the person who entered it
/// (a correction), proposed it (a master-data import) or sent an invoice
/// paying it to approval is not the one who confirms or refuses it.
async fn may_judge_iban(
    store: &Store,
    vendor_id: &str,
    iban: &str,
    user: &User,
) -> Result<(), ReviewError> {
    if store
        .iban_entered_by(vendor_id, iban)
        .await?
        .contains(&user.id)
    {
        return Err(ReviewError::NotAllowed(
            "you entered this bank account: someone else must verify it".into(),
        ));
    }
    if store
        .iban_sent_by(vendor_id, iban)
        .await?
        .contains(&user.id)
    {
        return Err(ReviewError::NotAllowed(
            "you sent an invoice paying this bank account to approval: someone else must verify it"
                .into(),
        ));
    }
    if store
        .bank_account_proposers(vendor_id, iban)
        .await?
        .iter()
        .any(|p| p == &user.username)
    {
        return Err(ReviewError::NotAllowed(
            "you proposed this bank account (master-data import): someone else must verify it"
                .into(),
        ));
    }
    Ok(())
}

/// A person refuses a vendor's proposed bank account (the vendor, called
/// on a known number, knows nothing of it). Recorded and audited; invoices
/// paying it can then only be rejected or corrected. Same segregation as
/// [`verify_iban`].
pub async fn refuse_iban(
    store: &Store,
    vendor_id: &str,
    iban: &str,
    comment: &str,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Approver | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not refuse bank accounts",
            user.role.as_str()
        )));
    }
    if comment.trim().is_empty() {
        return Err(ReviewError::Invalid(
            "to refuse a bank account, say why".into(),
        ));
    }
    let Some(iban) = crate::extract::normalize::parse_iban(iban) else {
        return Err(ReviewError::Invalid(format!(
            "{iban:?} is not a valid IBAN (checksum)"
        )));
    };
    may_judge_iban(store, vendor_id, &iban, user).await?;
    let audit = AuditEntry {
        actor: user.username.clone(),
        action: "vendor.bank_account_refused",
        entity: "vendor",
        entity_id: vendor_id.to_string(),
        detail: serde_json::json!({ "iban": crate::validate::mask_iban(&iban), "comment": comment }),
    };
    if store
        .refuse_bank_account(vendor_id, &iban, &user.username, comment, &audit)
        .await?
    {
        Ok(())
    } else {
        Err(ReviewError::NotFound)
    }
}

/// Verifies (`verify`) or refuses the bank account an invoice asks to be
/// paid to, from the invoice page: the IBAN and vendor are the invoice's
/// own, never taken from the form, so a tampered form cannot verify
/// another account.
pub async fn judge_invoice_iban(
    store: &Store,
    invoice: InvoiceId,
    verify: bool,
    comment: &str,
    user: &User,
) -> Result<(), ReviewError> {
    let summary = store
        .invoice_summary(invoice)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let Some(vendor_id) = summary.vendor_id.as_deref() else {
        return Err(ReviewError::Invalid(
            "the invoice has no vendor of the master data: add the vendor first".into(),
        ));
    };
    let inv = store.load_extraction(invoice).await?;
    let Some(iban) = inv.iban.as_ref().map(|f| f.value.clone()) else {
        return Err(ReviewError::Invalid("the invoice names no IBAN".into()));
    };
    if verify {
        verify_iban(store, vendor_id, &iban, user).await.map(|_| ())
    } else {
        refuse_iban(store, vendor_id, &iban, comment, user).await
    }
}

/// An approver takes an approved, rejected or duplicate invoice back to the
/// review queue, the one way to change it after a decision: its planned
/// payment is withdrawn, earlier approvals stop counting, and it needs a
/// fresh approval to be paid. Impossible once its payment is in a run.
pub async fn reopen(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    reason: &str,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Approver | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not reopen invoices",
            user.role.as_str()
        )));
    }
    if reason.trim().is_empty() {
        return Err(ReviewError::Invalid("to reopen an invoice, say why".into()));
    }
    let audit = entry(
        user,
        "invoice.reopened",
        invoice,
        serde_json::json!({ "comment": reason }),
    );
    match store
        .reopen_invoice(invoice, user.id, reason, &audit)
        .await?
    {
        Reopen::Done => {
            notify(
                settings,
                "reopened",
                invoice,
                user,
                serde_json::json!({ "comment": reason }),
            );
            Ok(())
        }
        Reopen::NoSuchInvoice => Err(ReviewError::NotFound),
        Reopen::NotClosed => Err(ReviewError::WrongState {
            expected: "approved, rejected or a duplicate",
        }),
        Reopen::PaymentLeft { state } => Err(ReviewError::NotAllowed(format!(
            "its payment is {}: it can no longer be reopened (ask the bank to recall it)",
            state.replace('_', " ")
        ))),
    }
}

/// A clerk or admin gives a document that apflow gave up on (its job was
/// dead-lettered after every attempt, e.g. the reader crashed or timed
/// out) another full set of attempts: after a fix, or when the cause was
/// passing. Audited; a document that never gave up is refused.
pub async fn retry_document(
    store: &Store,
    document: crate::domain::DocumentId,
    user: &User,
) -> Result<(), ReviewError> {
    if !matches!(user.role, Role::Clerk | Role::Admin) {
        return Err(ReviewError::NotAllowed(format!(
            "a {} may not retry documents",
            user.role.as_str()
        )));
    }
    let audit = AuditEntry {
        actor: user.username.clone(),
        action: "document.retried",
        entity: "document",
        entity_id: document.0.to_string(),
        detail: serde_json::json!({}),
    };
    match store.retry_dead_jobs(document, &audit).await? {
        0 if store.document_meta(document).await?.is_none() => Err(ReviewError::NotFound),
        0 => Err(ReviewError::WrongState {
            expected: "given up on (only such a document is retried)",
        }),
        _ => Ok(()),
    }
}

/// The longest note or comment kept: a message to a colleague, not a
/// document.
pub const MAX_NOTE_CHARS: usize = 4000;

fn bounded(text: &str) -> Result<&str, ReviewError> {
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ReviewError::Invalid(format!(
            "a note is at most {MAX_NOTE_CHARS} characters"
        )));
    }
    Ok(text)
}

/// A note on an invoice: who, when, what. Anyone who may see the invoice
/// may write one. Notes go to the audit log, which is append-only, so a
/// note cannot be edited or taken back once others have read it. `@name`
/// mentions a user, who is told through `notify_command` (`mentioned`).
/// Returns the names mentioned.
pub async fn add_note(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    text: &str,
    user: &User,
) -> Result<Vec<String>, ReviewError> {
    let text = bounded(text.trim())?;
    if text.is_empty() {
        return Err(ReviewError::Invalid("the note is empty".into()));
    }
    if store.invoice_summary(invoice).await?.is_none() {
        return Err(ReviewError::NotFound);
    }
    let people = store.users().await?;
    let mut mentions: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '-'))
        .filter(|w| people.iter().any(|p| p.username == *w))
        .map(str::to_string)
        .collect();
    mentions.sort();
    mentions.dedup();
    let audit = entry(
        user,
        "invoice.note_added",
        invoice,
        serde_json::json!({ "comment": text, "mentions": mentions }),
    );
    store.audit(&audit).await?;
    for name in &mentions {
        notify(
            settings,
            "mentioned",
            invoice,
            user,
            serde_json::json!({ "to": name, "comment": text }),
        );
    }
    Ok(mentions)
}

/// How long a rejection or a "duplicate" can be undone in one step.
pub const UNDO_WINDOW_MS: i64 = 24 * 3_600_000;

/// The audit actions that close an invoice without paying it, which an
/// approver may undo within [`UNDO_WINDOW_MS`].
pub const UNDOABLE: [&str; 3] = [
    "invoice.rejected",
    "invoice.rejected_by_clerk",
    "invoice.marked_duplicate",
];

/// When the invoice's last decision was a rejection or "duplicate" taken
/// within [`UNDO_WINDOW_MS`] of `now`: that decision's audit action.
pub async fn undoable(
    store: &Store,
    invoice: InvoiceId,
    now: i64,
) -> Result<Option<&'static str>, ReviewError> {
    let trail = store.audit_trail("invoice", &invoice.0.to_string()).await?;
    Ok(undoable_in(&trail, now))
}

/// [`undoable`] read from the invoice's audit trail (oldest first), for a
/// caller that has it already.
pub fn undoable_in(trail: &[crate::store::AuditRow], now: i64) -> Option<&'static str> {
    let last = trail.iter().rev().find(|r| {
        UNDOABLE.contains(&r.action.as_str())
            || matches!(
                r.action.as_str(),
                "invoice.reopened" | "invoice.approved" | "invoice.released"
            )
    });
    last.filter(|r| now - r.at <= UNDO_WINDOW_MS)
        .and_then(|r| UNDOABLE.iter().copied().find(|a| *a == r.action))
}

/// Undoes a rejection or "duplicate" made by mistake: an approver brings
/// the invoice back to the review queue, as [`reopen`] does, within a day
/// of the decision. Later, reopening (with a reason) is the way back.
pub async fn undo(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    user: &User,
) -> Result<(), ReviewError> {
    let Some(what) = undoable(store, invoice, crate::store::now_ms()).await? else {
        return Err(ReviewError::NotAllowed(
            "only a rejection or a \"duplicate\" of the last day can be undone: reopen it instead"
                .into(),
        ));
    };
    let what = if what == "invoice.marked_duplicate" {
        "marking as a duplicate"
    } else {
        "rejection"
    };
    reopen(
        store,
        settings,
        invoice,
        &format!("undo: the {what} was a mistake"),
        user,
    )
    .await
}

/// One of the decisions on an invoice by name, as the API and the invoice
/// page's forms send them: `approve`, `reject`, `hold`, `release`,
/// `mark-duplicate`, `reopen`, `undo`, `verify-iban`, `refuse-iban`. Rejecting an invoice that waits for approval is the
/// approver's decision; from the review queue it is the clerk's. Returns
/// what an approval did (`None` for the clerk's actions).
pub async fn act(
    store: &Store,
    settings: &Settings,
    invoice: InvoiceId,
    action: &str,
    comment: &str,
    duplicate_of: Option<InvoiceId>,
    user: &User,
) -> Result<Option<Decided>, ReviewError> {
    let awaiting = || async {
        Ok::<_, ReviewError>(
            store
                .invoice_summary(invoice)
                .await?
                .is_some_and(|s| s.status == crate::domain::InvoiceStatus::AwaitingApproval),
        )
    };
    let approve = match action {
        "approve" => true,
        "reopen" => {
            reopen(store, settings, invoice, comment, user).await?;
            return Ok(None);
        }
        "undo" => {
            undo(store, settings, invoice, user).await?;
            return Ok(None);
        }
        "verify-iban" | "refuse-iban" => {
            judge_invoice_iban(store, invoice, action == "verify-iban", comment, user).await?;
            return Ok(None);
        }
        "reject" if awaiting().await? => false,
        "reject" | "hold" | "release" | "mark-duplicate" => {
            clerk_action(
                store,
                settings,
                invoice,
                action,
                comment,
                duplicate_of,
                user,
            )
            .await?;
            return Ok(None);
        }
        other => {
            return Err(ReviewError::Invalid(format!(
                "unknown action {other:?}: use approve, reject, hold, release, mark-duplicate, reopen, undo, verify-iban or refuse-iban"
            )));
        }
    };
    decide(store, settings, invoice, user, approve, comment)
        .await
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values as clerks type them become what is stored; what cannot be
    /// read is refused with the form to write it in.
    #[test]
    fn corrections_as_people_write_them() {
        let ok: &[(&str, &str, &str)] = &[
            ("total_amount", "497,92", "497.92"),
            ("total_amount", "1.234,56", "1234.56"),
            ("total_amount", "1,234.56", "1234.56"),
            ("total_amount", " 1 234,50 € ", "1234.5"),
            ("net_amount", "-12,00", "-12"),
            ("tax_amount", "0", "0"),
            ("invoice_date", "12.03.2026", "2026-03-12"),
            ("due_date", "2026-04-30", "2026-04-30"),
            ("due_date", "03/04/2026", "2026-04-03"),
            ("due_date", "30.04.26", "2026-04-30"),
            ("currency", "eur", "EUR"),
            (
                "iban",
                "de89 3704 0044 0532 0130 00",
                "DE89370400440532013000",
            ),
            ("invoice_number", "  RE-1 ", "RE-1"),
        ];
        for (field, typed, stored) in ok {
            match correction_value(field, typed) {
                Ok(v) => assert_eq!(v, *stored, "{field} {typed:?}"),
                Err(e) => panic!("{field} {typed:?}: {e}"),
            }
        }
        let refused: &[(&str, &str)] = &[
            ("total_amount", "abc"),
            ("total_amount", "1e400"),
            ("total_amount", "99999999999999999"),
            ("invoice_date", "31.02.2026"),
            ("due_date", "next week"),
            ("currency", "EURO"),
            ("iban", "DE89 3704 0044 0532 0130 01"),
            ("po_number", "   "),
        ];
        for (field, typed) in refused {
            let e = correction_value(field, typed).expect_err(typed);
            assert!(e.to_string().contains("is not a valid"), "{e}");
        }
    }
}

//! Payment runs. A run claims its payments (`planned` → `in_run`) and stores
//! its file in one transaction, so a run that crashes either did not happen
//! or is complete and can be exported again; a payment is in at most one
//! run, ever.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::Row;

use super::{AuditEntry, Error, QueryContext, Result, Store, now_ms, parse_decimal};

/// A payment that is due and may go into a run.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePayment {
    pub payment_id: i64,
    pub invoice_id: i64,
    pub amount: Decimal,
    /// Early-payment discount taken (already deducted from `amount`).
    pub discount: Decimal,
    pub currency: String,
    pub planned_on: String,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub remittance: String,
    pub idempotency_key: String,
}

/// A stored payment run.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRun {
    pub id: i64,
    pub run_date: String,
    pub currency: String,
    pub state: String,
    pub message_id: String,
    pub total: Decimal,
    pub payments: i64,
    pub version: String,
    pub document: String,
    /// Above the approval limit: the file is released only once approved.
    pub needs_approval: bool,
    pub approved_by: Option<String>,
    /// When the CLI first wrote the file somewhere (ms since the epoch).
    /// `None`: nobody has received it yet, so `pay run` hands it out again.
    pub file_written_at: Option<i64>,
}

impl PaymentRun {
    /// May the file go to the bank?
    pub fn released(&self) -> bool {
        !self.needs_approval || self.approved_by.is_some()
    }
}

/// What a run request produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub run: Option<PaymentRun>,
    /// The payments in the run.
    pub paid: Vec<DuePayment>,
    /// Due payments left for a later run because of the cash limit.
    pub deferred: Vec<DuePayment>,
    /// Due payments refused for good, with why: their invoices went back
    /// to the review queue (`payment::refusal`).
    pub refused: Vec<(DuePayment, String)>,
}

/// Builds the run's file from its payments and run id: `(message id, document)`.
pub type RunFile<'a> = &'a dyn Fn(i64, &[DuePayment]) -> (String, String);

impl Store {
    /// Collects the payments in `currency` due on or before `run_date` of
    /// invoices still `scheduled`, keeps them within `cash_limit` (earliest
    /// first, then largest; the rest are deferred with the reason
    /// recorded), claims them and stores the run and its file.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_payment_run(
        &self,
        run_date: NaiveDate,
        currency: &str,
        cash_limit: Option<Decimal>,
        approval_limit: Option<Decimal>,
        version: &str,
        file: RunFile<'_>,
        audit: &AuditEntry,
    ) -> Result<RunOutcome> {
        let date = run_date.format("%Y-%m-%d").to_string();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        // Runs take turns. Under PostgreSQL's read committed, two runs
        // would both collect the same planned payments and the later claim
        // would fail; this lock (held until commit) makes the second wait
        // and then see the first one's claims. It conflicts only with
        // itself and other writers of `payment_runs` (approve, settle),
        // which are short. SQLite already serialises writers.
        if self.backend() == super::Backend::Postgres {
            sqlx::query("LOCK TABLE payment_runs IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await
                .ctx("wait for other payment runs")?;
        }
        let rows = sqlx::query(
            "SELECT p.id, p.invoice_id, p.amount, p.discount, p.currency, p.planned_on, p.creditor_name, p.creditor_iban, \
             p.remittance, p.idempotency_key, \
             COALESCE((SELECT f.value FROM invoice_fields f WHERE f.invoice_id = i.id AND f.field = 'amount_due'), i.total_amount) AS invoice_total, \
             i.currency AS invoice_currency, \
             i.iban AS invoice_iban, v.ibans AS vendor_ibans, \
             (SELECT MIN(o.id) FROM invoices o JOIN payments op ON op.invoice_id = o.id \
              WHERE o.vendor_id = i.vendor_id AND o.invoice_number_key = i.invoice_number_key AND o.id <> i.id \
              AND (op.state IN ('in_run', 'executed') OR (op.state = 'planned' AND o.id < i.id))) AS paid_as \
             FROM payments p JOIN invoices i ON i.id = p.invoice_id LEFT JOIN vendors v ON v.vendor_id = i.vendor_id \
             WHERE p.state = 'planned' AND p.planned_on <= $1 AND p.currency = $2 AND i.status = 'scheduled' \
             AND p.creditor_iban IS NOT NULL ORDER BY p.planned_on, p.id",
        )
        .bind(date.clone())
        .bind(currency.to_string())
        .fetch_all(&mut *tx)
        .await
        .ctx("collect due payments")?;
        let mut due = Vec::with_capacity(rows.len());
        let mut refused = Vec::new();
        for r in &rows {
            let p = due_payment_from_row(r)?;
            match evidence_refusal(r, &p)? {
                None => due.push(p),
                Some(why) => {
                    refuse_payment(self, &mut tx, &p, &why, audit).await?;
                    refused.push((p, why));
                }
            }
        }
        // Within the cash limit: the earliest due first, the largest first
        // among equals; the smallest are the ones deferred.
        due.sort_by(|a, b| {
            a.planned_on
                .cmp(&b.planned_on)
                .then(b.amount.cmp(&a.amount))
        });
        let (mut taken, mut deferred, mut sum) = (Vec::new(), Vec::new(), Decimal::ZERO);
        for p in due {
            if cash_limit.is_some_and(|l| sum + p.amount > l) {
                deferred.push(p);
            } else {
                sum += p.amount;
                taken.push(p);
            }
        }
        for p in &deferred {
            sqlx::query("UPDATE payments SET status_reason = $1 WHERE id = $2")
                .bind(format!(
                    "deferred from the run of {date}: cash limit {} {currency} reached",
                    cash_limit.unwrap_or_default()
                ))
                .bind(p.payment_id)
                .execute(&mut *tx)
                .await
                .ctx("defer a payment")?;
        }
        if taken.is_empty() {
            tx.commit().await.ctx("commit deferrals")?;
            return Ok(RunOutcome {
                run: None,
                paid: Vec::new(),
                deferred,
                refused,
            });
        }
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO payment_runs (run_date, currency, state, message_id, total, payments, version, document, created_at) \
             VALUES ($1, $2, 'created', $3, $4, $5, $6, '', $7) RETURNING id",
        )
        .bind(date.clone())
        .bind(currency.to_string())
        .bind(format!("pending-{}", now_ms()))
        .bind(sum.to_string())
        .bind(i64::try_from(taken.len()).unwrap_or(i64::MAX))
        .bind(version.to_string())
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .ctx("create a payment run")?;
        for p in &taken {
            // The state guard is the exactly-once: a payment another run
            // claimed meanwhile makes this run fail and roll back whole.
            let claimed = sqlx::query("UPDATE payments SET state = 'in_run', run_id = $1, status_reason = NULL WHERE id = $2 AND state = 'planned'")
                .bind(run_id)
                .bind(p.payment_id)
                .execute(&mut *tx)
                .await
                .ctx("claim a payment for a run")?;
            if claimed.rows_affected() != 1 {
                return Err(Error::RunInProgress {
                    payment_id: p.payment_id,
                });
            }
        }
        let (message_id, document) = file(run_id, &taken);
        let needs_approval = approval_limit.is_some_and(|l| sum > l);
        sqlx::query("UPDATE payment_runs SET message_id = $1, document = $2, needs_approval = $3 WHERE id = $4")
            .bind(message_id.clone())
            .bind(document.clone())
            .bind(i64::from(needs_approval))
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .ctx("store a payment file")?;
        let mut audit = audit.clone();
        audit.entity_id = run_id.to_string();
        audit.detail = serde_json::json!({ "run_date": date, "currency": currency, "payments": taken.len(), "total": sum.to_string(), "deferred": deferred.len() });
        self.append_audit(&mut tx, &audit).await?;
        tx.commit().await.ctx("commit a payment run")?;
        Ok(RunOutcome {
            run: Some(PaymentRun {
                id: run_id,
                run_date: date,
                currency: currency.to_string(),
                state: "created".into(),
                message_id,
                total: sum,
                payments: i64::try_from(taken.len()).unwrap_or(i64::MAX),
                version: version.to_string(),
                document,
                needs_approval,
                approved_by: None,
                file_written_at: None,
            }),
            paid: taken,
            deferred,
            refused,
        })
    }

    /// Payments of open runs the webhook has not confirmed yet, with their
    /// run's execution date.
    pub async fn undelivered_payments(&self) -> Result<Vec<(i64, String, DuePayment)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.invoice_id, p.amount, p.discount, p.currency, p.planned_on, p.creditor_name, p.creditor_iban, \
             p.remittance, p.idempotency_key, r.id AS run_id, r.run_date FROM payments p JOIN payment_runs r ON r.id = p.run_id \
             WHERE p.state = 'in_run' AND p.delivered_at IS NULL AND r.state = 'created' \
             AND (r.needs_approval = 0 OR r.approved_by IS NOT NULL) ORDER BY p.id",
        )
        .fetch_all(self.pool())
        .await
        .ctx("list undelivered payments")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("run_id").ctx("decode payment")?,
                    r.try_get("run_date").ctx("decode payment")?,
                    due_payment_from_row(r)?,
                ))
            })
            .collect()
    }

    pub async fn mark_payment_delivered(&self, payment_id: i64) -> Result<()> {
        sqlx::query("UPDATE payments SET delivered_at = $1 WHERE id = $2 AND delivered_at IS NULL")
            .bind(now_ms())
            .bind(payment_id)
            .execute(self.pool())
            .await
            .ctx("mark a payment delivered")?;
        Ok(())
    }

    /// Records the bank's answer for one payment (by its end-to-end id, the
    /// idempotency key). Returns false if no payment of an open run has that
    /// id. When the run has no payment left waiting, the run is closed.
    pub async fn settle_payment(
        &self,
        end_to_end_id: &str,
        executed: bool,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let Some(row) = sqlx::query("SELECT id, invoice_id, run_id FROM payments WHERE idempotency_key = $1 AND state = 'in_run'")
            .bind(end_to_end_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .ctx("find a payment")?
        else {
            return Ok(false);
        };
        let (payment_id, invoice_id, run_id): (i64, i64, i64) = (
            row.try_get("id").ctx("decode payment")?,
            row.try_get("invoice_id").ctx("decode payment")?,
            row.try_get("run_id").ctx("decode payment")?,
        );
        let now = now_ms();
        sqlx::query("UPDATE payments SET state = $1, status_reason = $2 WHERE id = $3")
            .bind(if executed { "executed" } else { "failed" })
            .bind((!executed).then(|| reason.to_string()))
            .bind(payment_id)
            .execute(&mut *tx)
            .await
            .ctx("settle a payment")?;
        sqlx::query("UPDATE invoices SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(if executed { "paid" } else { "needs_review" })
            .bind(now)
            .bind(invoice_id)
            .execute(&mut *tx)
            .await
            .ctx("update a paid invoice")?;
        if !executed {
            sqlx::query("INSERT INTO discrepancies (invoice_id, code, field, message, created_at, severity) VALUES ($1, 'payment_failed', NULL, $2, $3, 'review')")
                .bind(invoice_id)
                .bind(format!("the bank rejected the payment ({reason})"))
                .bind(now)
                .execute(&mut *tx)
                .await
                .ctx("record a failed payment")?;
        }
        sqlx::query(
            "UPDATE payment_runs SET state = 'executed' WHERE id = $1 AND state = 'created' \
             AND NOT EXISTS (SELECT 1 FROM payments WHERE run_id = $1 AND state = 'in_run')",
        )
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .ctx("close a payment run")?;
        let mut audit = audit.clone();
        audit.entity_id = invoice_id.to_string();
        self.append_audit(&mut tx, &audit).await?;
        tx.commit().await.ctx("commit a payment status")?;
        Ok(true)
    }

    /// Records the approval of a run that needs one. False if there is no
    /// such open run or it needs none.
    pub async fn approve_payment_run(
        &self,
        run_id: i64,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let done = sqlx::query("UPDATE payment_runs SET approved_by = $1 WHERE id = $2 AND state = 'created' AND needs_approval = 1 AND approved_by IS NULL")
            .bind(by.to_string())
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .ctx("approve a payment run")?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let mut audit = audit.clone();
        audit.entity_id = run_id.to_string();
        self.append_audit(&mut tx, &audit).await?;
        tx.commit().await.ctx("commit an approval")?;
        Ok(true)
    }

    /// Runs not yet confirmed by the bank, newest first.
    pub async fn open_payment_runs(&self) -> Result<Vec<PaymentRun>> {
        let rows =
            sqlx::query("SELECT * FROM payment_runs WHERE state = 'created' ORDER BY id DESC")
                .fetch_all(self.pool())
                .await
                .ctx("list payment runs")?;
        rows.iter().map(run_from_row).collect()
    }

    /// Every run, oldest first, for `pay runs`.
    pub async fn payment_runs(&self) -> Result<Vec<PaymentRun>> {
        let rows = sqlx::query("SELECT * FROM payment_runs ORDER BY id")
            .fetch_all(self.pool())
            .await
            .ctx("list payment runs")?;
        rows.iter().map(run_from_row).collect()
    }

    /// Open, released runs whose file nobody has received yet, oldest
    /// first: a run that committed but whose file was never written (a
    /// crash, or no `--out`) would otherwise never reach the bank. A run
    /// any of whose payments the payment webhook delivered is not among
    /// them: the bank has it that way (`pay deliver` retries the rest), and
    /// a file as well would send it twice.
    pub async fn unwritten_payment_runs(&self) -> Result<Vec<PaymentRun>> {
        let rows = sqlx::query(
            "SELECT * FROM payment_runs r WHERE r.state = 'created' AND r.file_written_at IS NULL \
             AND (r.needs_approval = 0 OR r.approved_by IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.run_id = r.id AND p.delivered_at IS NOT NULL) \
             ORDER BY r.id",
        )
        .fetch_all(self.pool())
        .await
        .ctx("list unwritten payment runs")?;
        rows.iter().map(run_from_row).collect()
    }

    /// Records that a run's file was written; the first writing counts.
    pub async fn mark_run_file_written(&self, run_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE payment_runs SET file_written_at = $1 WHERE id = $2 AND file_written_at IS NULL",
        )
        .bind(now_ms())
        .bind(run_id)
        .execute(self.pool())
        .await
        .ctx("record a written payment file")?;
        Ok(())
    }

    pub async fn payment_run(&self, id: i64) -> Result<Option<PaymentRun>> {
        let row = sqlx::query("SELECT * FROM payment_runs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .ctx("read a payment run")?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// Invoice ids paid by a run.
    pub async fn payment_run_invoices(&self, run_id: i64) -> Result<Vec<i64>> {
        sqlx::query_scalar("SELECT invoice_id FROM payments WHERE run_id = $1 ORDER BY invoice_id")
            .bind(run_id)
            .fetch_all(self.pool())
            .await
            .ctx("read a run's payments")
    }

    /// Records the bank's answer for a whole run: executed payments mark
    /// their invoices paid; failed ones send their invoices back to the
    /// review queue with the reason.
    pub async fn settle_payment_run(
        &self,
        run_id: i64,
        executed: bool,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let updated =
            sqlx::query("UPDATE payment_runs SET state = $1 WHERE id = $2 AND state = 'created'")
                .bind(if executed { "executed" } else { "failed" })
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .ctx("settle a payment run")?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        let now = now_ms();
        sqlx::query("UPDATE payments SET state = $1, status_reason = $2 WHERE run_id = $3 AND state = 'in_run'")
            .bind(if executed { "executed" } else { "failed" })
            .bind((!executed).then(|| reason.to_string()))
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .ctx("settle payments")?;
        if executed {
            sqlx::query("UPDATE invoices SET status = 'paid', updated_at = $1 WHERE id IN (SELECT invoice_id FROM payments WHERE run_id = $2)")
                .bind(now)
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .ctx("mark invoices paid")?;
        } else {
            sqlx::query("UPDATE invoices SET status = 'needs_review', updated_at = $1 WHERE id IN (SELECT invoice_id FROM payments WHERE run_id = $2)")
                .bind(now)
                .bind(run_id)
                .execute(&mut *tx)
                .await
                .ctx("return invoices to review")?;
            sqlx::query(
                "INSERT INTO discrepancies (invoice_id, code, field, message, created_at, severity) \
                 SELECT invoice_id, 'payment_failed', NULL, $1, $2, 'review' FROM payments WHERE run_id = $3",
            )
            .bind(format!("payment run {run_id} failed at the bank: {reason}"))
            .bind(now)
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .ctx("record failed payments")?;
        }
        let mut audit = audit.clone();
        audit.entity_id = run_id.to_string();
        self.append_audit(&mut tx, &audit).await?;
        tx.commit().await.ctx("commit a settled run")?;
        Ok(true)
    }
}

/// A paid invoice for the ERP export.
#[derive(Debug, Clone, PartialEq)]
pub struct PaidInvoice {
    pub invoice_id: i64,
    pub vendor_id: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<String>,
    pub total_amount: Option<String>,
    pub paid_amount: String,
    pub discount: String,
    pub currency: String,
    pub paid_on: String,
    pub run_id: i64,
    pub end_to_end_id: String,
}

impl Store {
    /// Invoices whose payment the bank executed, in payment order.
    pub async fn paid_invoices(&self) -> Result<Vec<PaidInvoice>> {
        let rows = sqlx::query(
            "SELECT i.id, i.vendor_id, i.invoice_number, i.invoice_date, i.total_amount, p.amount, p.discount, p.currency, \
             r.run_date, r.id AS run_id, p.idempotency_key FROM payments p JOIN invoices i ON i.id = p.invoice_id \
             JOIN payment_runs r ON r.id = p.run_id WHERE p.state = 'executed' ORDER BY r.id, p.id",
        )
        .fetch_all(self.pool())
        .await
        .ctx("list paid invoices")?;
        rows.iter()
            .map(|r| {
                Ok(PaidInvoice {
                    invoice_id: r.try_get("id").ctx("decode paid invoice")?,
                    vendor_id: r.try_get("vendor_id").ctx("decode paid invoice")?,
                    invoice_number: r.try_get("invoice_number").ctx("decode paid invoice")?,
                    invoice_date: r.try_get("invoice_date").ctx("decode paid invoice")?,
                    total_amount: r.try_get("total_amount").ctx("decode paid invoice")?,
                    paid_amount: r.try_get("amount").ctx("decode paid invoice")?,
                    discount: r.try_get("discount").ctx("decode paid invoice")?,
                    currency: r.try_get("currency").ctx("decode paid invoice")?,
                    paid_on: r.try_get("run_date").ctx("decode paid invoice")?,
                    run_id: r.try_get("run_id").ctx("decode paid invoice")?,
                    end_to_end_id: r.try_get("idempotency_key").ctx("decode paid invoice")?,
                })
            })
            .collect()
    }
}

/// A payment row as selected by the run and webhook queries (same columns).
/// Holds a due payment against its invoice and vendor as they stand in
/// this transaction (`payment::refusal`).
fn evidence_refusal(r: &sqlx::any::AnyRow, p: &DuePayment) -> Result<Option<String>> {
    let total: Option<String> = r.try_get("invoice_total").ctx("decode payment evidence")?;
    let total = match total {
        Some(t) => Some(parse_decimal("invoices.total_amount", &t)?),
        None => None,
    };
    let currency: Option<String> = r
        .try_get("invoice_currency")
        .ctx("decode payment evidence")?;
    let iban: Option<String> = r.try_get("invoice_iban").ctx("decode payment evidence")?;
    let ibans: Option<String> = r.try_get("vendor_ibans").ctx("decode payment evidence")?;
    let verified = match ibans {
        Some(list) => Some(super::parse_json_list("vendors.ibans", &list)?),
        None => None,
    };
    let paid_as: Option<i64> = r.try_get("paid_as").ctx("decode payment evidence")?;
    Ok(crate::payment::refusal(&crate::payment::PaymentEvidence {
        same_number_paid_as: paid_as,
        amount: p.amount,
        discount: p.discount,
        currency: &p.currency,
        creditor_iban: &p.creditor_iban,
        invoice_total: total,
        invoice_currency: currency.as_deref(),
        invoice_iban: iban.as_deref(),
        verified_ibans: verified.as_deref(),
    }))
}

/// Withdraws a refused payment and puts its invoice back on the review
/// queue with the reason, audited under the run's actor.
async fn refuse_payment(
    store: &Store,
    conn: &mut sqlx::AnyConnection,
    p: &DuePayment,
    why: &str,
    run_audit: &AuditEntry,
) -> Result<()> {
    let now = now_ms();
    let invoice = crate::domain::InvoiceId(p.invoice_id);
    super::invoices::withdraw_planned_payment(&mut *conn, invoice).await?;
    sqlx::query("UPDATE invoices SET status = 'needs_review', updated_at = $1 WHERE id = $2 AND status = 'scheduled'")
        .bind(now)
        .bind(p.invoice_id)
        .execute(&mut *conn)
        .await
        .ctx("send a refused payment's invoice to review")?;
    super::invoices::back_to_review(
        &mut *conn,
        invoice,
        crate::domain::ReasonCode::PaymentRefused,
        &format!("the payment run refused the payment: {why}"),
        now,
    )
    .await?;
    let entry = AuditEntry {
        actor: run_audit.actor.clone(),
        action: "payment.refused",
        entity: "invoice",
        entity_id: p.invoice_id.to_string(),
        detail: serde_json::json!({ "reason": why, "amount": p.amount.to_string(), "currency": p.currency }),
    };
    store.append_audit(conn, &entry).await?;
    Ok(())
}

fn due_payment_from_row(r: &sqlx::any::AnyRow) -> Result<DuePayment> {
    let amount: String = r.try_get("amount").ctx("decode payment")?;
    let discount: String = r.try_get("discount").ctx("decode payment")?;
    let text = |c: &str| -> Result<String> {
        Ok(r.try_get::<Option<String>, _>(c)
            .ctx("decode payment")?
            .unwrap_or_default())
    };
    Ok(DuePayment {
        payment_id: r.try_get("id").ctx("decode payment")?,
        invoice_id: r.try_get("invoice_id").ctx("decode payment")?,
        amount: parse_decimal("payments.amount", &amount)?,
        discount: parse_decimal("payments.discount", &discount)?,
        currency: r.try_get("currency").ctx("decode payment")?,
        planned_on: r.try_get("planned_on").ctx("decode payment")?,
        creditor_name: text("creditor_name")?,
        creditor_iban: text("creditor_iban")?,
        remittance: text("remittance")?,
        idempotency_key: r.try_get("idempotency_key").ctx("decode payment")?,
    })
}

fn run_from_row(r: &sqlx::any::AnyRow) -> Result<PaymentRun> {
    let total: String = r.try_get("total").ctx("decode payment run")?;
    Ok(PaymentRun {
        id: r.try_get("id").ctx("decode payment run")?,
        run_date: r.try_get("run_date").ctx("decode payment run")?,
        currency: r.try_get("currency").ctx("decode payment run")?,
        state: r.try_get("state").ctx("decode payment run")?,
        message_id: r.try_get("message_id").ctx("decode payment run")?,
        total: parse_decimal("payment_runs.total", &total)?,
        payments: r.try_get("payments").ctx("decode payment run")?,
        version: r.try_get("version").ctx("decode payment run")?,
        document: r.try_get("document").ctx("decode payment run")?,
        needs_approval: r
            .try_get::<i64, _>("needs_approval")
            .ctx("decode payment run")?
            != 0,
        approved_by: r.try_get("approved_by").ctx("decode payment run")?,
        file_written_at: r.try_get("file_written_at").ctx("decode payment run")?,
    })
}

//! Payment runs: collect what is due, write the SEPA file, and record what
//! the bank says. The store claims payments exactly once; this module only
//! decides the file's content and what is audited.

use chrono::NaiveDate;

use super::Error;
use crate::config::Settings;
use crate::payment::sepa::{CreditTransfer, CreditTransferFile, PainVersion};
use crate::store::{AuditEntry, DuePayment, RunOutcome, Store};

/// Creates the payment run for `date` in `currency`: every payment planned
/// on or before it, within the configured cash limit. `None` in the
/// outcome's run when nothing is due.
pub async fn create_run(
    store: &Store,
    settings: &Settings,
    date: NaiveDate,
    currency: &str,
    version: PainVersion,
    actor: &str,
) -> Result<RunOutcome, Error> {
    let payer = settings.payer.clone();
    let created_at = chrono::Utc::now().naive_utc();
    let currency_owned = currency.to_string();
    let build = move |run_id: i64, due: &[DuePayment]| {
        let file = CreditTransferFile {
            message_id: format!("APFLOW-{}-{run_id}", date.format("%Y%m%d")),
            created_at,
            execution_date: date,
            currency: currency_owned.clone(),
            debtor: payer.clone(),
            transfers: due
                .iter()
                .map(|p| CreditTransfer {
                    end_to_end_id: p.idempotency_key.clone(),
                    amount: p.amount,
                    creditor_name: p.creditor_name.clone(),
                    creditor_iban: p.creditor_iban.clone(),
                    remittance: p.remittance.clone(),
                })
                .collect(),
        };
        (file.message_id.clone(), file.to_xml(version))
    };
    let audit = AuditEntry {
        actor: actor.to_string(),
        action: "payment_run.created",
        entity: "payment_run",
        entity_id: String::new(),
        detail: serde_json::Value::Null,
    };
    let version_name = match version {
        PainVersion::V03 => "pain.001.001.03",
        PainVersion::V09 => "pain.001.001.09",
    };
    Ok(store
        .create_payment_run(
            date,
            currency,
            settings.run_cash_limit,
            settings.run_approval_limit,
            version_name,
            &build,
            &audit,
        )
        .await?)
}

/// An approver releases a run above the approval limit. The approver must
/// not be whoever created the run.
pub async fn approve_run(store: &Store, run_id: i64, by: &str) -> Result<bool, Error> {
    let audit = AuditEntry {
        actor: by.to_string(),
        action: "payment_run.approved",
        entity: "payment_run",
        entity_id: run_id.to_string(),
        detail: serde_json::Value::Null,
    };
    let creator = store
        .audit_trail("payment_run", &run_id.to_string())
        .await?
        .into_iter()
        .find(|a| a.action == "payment_run.created")
        .map(|a| a.actor);
    if creator.as_deref() == Some(by) {
        return Ok(false);
    }
    Ok(store.approve_payment_run(run_id, by, &audit).await?)
}

/// Records the bank's answer for a run. Returns false if the run does not
/// exist or was already settled.
pub async fn settle_run(
    store: &Store,
    run_id: i64,
    executed: bool,
    reason: &str,
    actor: &str,
) -> Result<bool, Error> {
    let audit = AuditEntry {
        actor: actor.to_string(),
        action: if executed {
            "payment_run.executed"
        } else {
            "payment_run.failed"
        },
        entity: "payment_run",
        entity_id: run_id.to_string(),
        detail: serde_json::json!({ "reason": reason }),
    };
    Ok(store
        .settle_payment_run(run_id, executed, reason, &audit)
        .await?)
}

/// Where and how to call the payment webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    /// Key for the `X-Apflow-Signature: sha256=<hex HMAC of the body>` header.
    pub secret: String,
    pub attempts: u32,
    pub first_backoff: std::time::Duration,
}

/// Delivery report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    pub failed: usize,
}

fn signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    // HMAC accepts keys of any length; `new_from_slice` cannot fail here.
    let mut mac = match hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    crate::domain::hex(&mac.finalize().into_bytes())
}

/// Sends every payment of an open run that the webhook has not confirmed:
/// one signed POST per payment with its idempotency key, retried with
/// exponential backoff; a confirmed payment is never sent again.
pub async fn deliver_webhook(store: &Store, hook: &Webhook) -> Result<Delivered, Error> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Webhook(e.to_string()))?;
    let mut report = Delivered::default();
    for (run_id, run_date, p) in store.undelivered_payments().await? {
        let body = serde_json::json!({
            "idempotency_key": p.idempotency_key,
            "run_id": run_id,
            "execution_date": run_date,
            "invoice_id": p.invoice_id,
            "amount": p.amount.to_string(),
            "currency": p.currency,
            "creditor_name": p.creditor_name,
            "creditor_iban": p.creditor_iban,
            "remittance_information": p.remittance,
        })
        .to_string();
        let sig = format!("sha256={}", signature(&hook.secret, body.as_bytes()));
        let mut wait = hook.first_backoff;
        let mut ok = false;
        for attempt in 1..=hook.attempts.max(1) {
            let sent = client
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("idempotency-key", &p.idempotency_key)
                .header("x-apflow-signature", &sig)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    ok = true;
                    break;
                }
                Ok(r) => {
                    tracing::warn!(payment = %p.idempotency_key, attempt, status = r.status().as_u16(), "payment webhook refused; retrying")
                }
                Err(e) => {
                    tracing::warn!(payment = %p.idempotency_key, attempt, error = %e, "payment webhook unreachable; retrying")
                }
            }
            if attempt < hook.attempts {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        if ok {
            store.mark_payment_delivered(p.payment_id).await?;
            report.delivered += 1;
        } else {
            report.failed += 1;
        }
    }
    Ok(report)
}

/// The payment scheduler of `serve`: once an hour, today's EUR run (if
/// anything is due) and webhook delivery. Runs are idempotent, so several
/// `serve` processes may all run it.
pub async fn scheduler(
    store: Store,
    settings: Settings,
    token: tokio_util::sync::CancellationToken,
) {
    loop {
        match create_run(
            &store,
            &settings,
            settings.today(),
            "EUR",
            PainVersion::V03,
            "scheduler",
        )
        .await
        {
            Ok(out) => {
                if let Some(run) = out.run {
                    tracing::info!(run_id = run.id, payments = run.payments, total = %run.total, "payment run created");
                }
            }
            Err(e) => tracing::error!(error = %super::error_chain(&e), "payment run failed"),
        }
        if let Some(hook) = &settings.payment_webhook
            && let Err(e) = deliver_webhook(&store, hook).await
        {
            tracing::error!(error = %super::error_chain(&e), "payment webhook delivery failed");
        }
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
        }
    }
}

/// What applying a bank status report did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatusApplied {
    pub executed: usize,
    pub failed: usize,
    /// Transfers the report names that are not waiting in an open run
    /// (already settled, or not ours).
    pub unknown: usize,
}

/// Applies a pain.002 status report: accepted transfers mark their invoices
/// paid, rejected ones send them back to the review queue with the bank's
/// reason code. Applying the same report twice changes nothing.
pub async fn apply_status_report(
    store: &Store,
    xml: &str,
    actor: &str,
) -> Result<StatusApplied, Error> {
    let statuses = crate::payment::status::parse_status_report(xml)
        .map_err(|e| Error::StatusReport(e.to_string()))?;
    let mut applied = StatusApplied::default();
    for s in statuses {
        let reason = format!(
            "{}{}",
            s.status,
            s.reason
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        );
        let audit = AuditEntry {
            actor: actor.to_string(),
            action: if s.accepted {
                "payment.executed"
            } else {
                "payment.failed"
            },
            entity: "invoice",
            entity_id: String::new(),
            detail: serde_json::json!({ "end_to_end_id": s.end_to_end_id, "status": reason }),
        };
        match store
            .settle_payment(&s.end_to_end_id, s.accepted, &reason, &audit)
            .await?
        {
            false => applied.unknown += 1,
            true if s.accepted => applied.executed += 1,
            true => applied.failed += 1,
        }
    }
    Ok(applied)
}

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
            version_name,
            &build,
            &audit,
        )
        .await?)
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

//! What the CLI prints: the invoice as JSON (the field names of the corpus
//! truth files) or as text, and one line per ingested file.

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::domain::{DocumentId, ExtractedInvoice, Field};
use crate::store::Store;

fn put<T>(
    obj: &mut Map<String, Value>,
    conf: &mut Map<String, Value>,
    name: &str,
    f: &Option<Field<T>>,
    show: impl Fn(&T) -> String,
) {
    if let Some(f) = f {
        obj.insert(name.to_string(), Value::String(show(&f.value)));
        conf.insert(
            name.to_string(),
            json!((f.confidence * 100.0).round() / 100.0),
        );
    }
}

fn dec(d: &Decimal) -> String {
    d.to_string()
}

/// `{"invoice_number": "...", ..., "line_items": [...], "confidence": {...}}`
/// with decimals as strings and dates as YYYY-MM-DD; absent fields omitted.
pub fn invoice_json(inv: &ExtractedInvoice) -> Value {
    let mut o = Map::new();
    let mut c = Map::new();
    let date = |d: &chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    put(
        &mut o,
        &mut c,
        "invoice_number",
        &inv.invoice_number,
        String::clone,
    );
    put(&mut o, &mut c, "invoice_date", &inv.invoice_date, date);
    put(&mut o, &mut c, "due_date", &inv.due_date, date);
    put(
        &mut o,
        &mut c,
        "vendor_name",
        &inv.vendor_name,
        String::clone,
    );
    put(
        &mut o,
        &mut c,
        "vendor_vat_id",
        &inv.vendor_vat_id,
        String::clone,
    );
    put(&mut o, &mut c, "currency", &inv.currency, String::clone);
    put(&mut o, &mut c, "total_amount", &inv.total_amount, dec);
    put(&mut o, &mut c, "amount_due", &inv.amount_due, dec);
    put(&mut o, &mut c, "net_amount", &inv.net_amount, dec);
    put(&mut o, &mut c, "tax_amount", &inv.tax_amount, dec);
    put(&mut o, &mut c, "po_number", &inv.po_number, String::clone);
    put(&mut o, &mut c, "iban", &inv.iban, String::clone);
    put(
        &mut o,
        &mut c,
        "payment_terms",
        &inv.payment_terms,
        String::clone,
    );
    put(
        &mut o,
        &mut c,
        "direct_debit",
        &inv.direct_debit,
        String::clone,
    );
    put(
        &mut o,
        &mut c,
        "credit_note",
        &inv.credit_note,
        String::clone,
    );
    let lines: Vec<Value> = inv
        .line_items
        .iter()
        .map(|l| {
            let mut m = Map::new();
            if let Some(d) = &l.description {
                m.insert("description".into(), json!(d));
            }
            for (k, v) in [
                ("quantity", l.quantity),
                ("unit_price", l.unit_price),
                ("price_base_quantity", l.price_base_quantity),
                ("amount", l.amount),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), json!(v.to_string()));
                }
            }
            m.insert(
                "confidence".into(),
                json!((l.confidence * 100.0).round() / 100.0),
            );
            Value::Object(m)
        })
        .collect();
    o.insert("line_items".into(), Value::Array(lines));
    if !inv.visible_disagreements.is_empty() {
        // A hybrid PDF whose page contradicts its XML: what the page shows.
        let shown: Map<String, Value> = inv
            .visible_disagreements
            .iter()
            .map(|d| (d.field.to_string(), json!(d.visible)))
            .collect();
        o.insert("page_disagrees".into(), Value::Object(shown));
    }
    o.insert("source".into(), json!(inv.source.as_str()));
    o.insert("confidence".into(), Value::Object(c));
    Value::Object(o)
}

/// What `apflow read --json` prints: the document kind, every page with
/// its lines of words (text, box in PDF points from the top-left corner,
/// confidence), and the e-invoice when there is one.
pub fn read_json(doc: &crate::domain::ReadDocument) -> Value {
    let round = |v: f32| (f64::from(v) * 10.0).round() / 10.0;
    let pages: Vec<Value> = doc
        .pages
        .iter()
        .map(|p| {
            let lines: Vec<Value> = p
                .lines
                .iter()
                .map(|l| {
                    let words: Vec<Value> = l
                        .words
                        .iter()
                        .map(|w| {
                            json!({
                                "text": w.text,
                                "box": [round(w.bbox.x0), round(w.bbox.y0), round(w.bbox.x1), round(w.bbox.y1)],
                                "confidence": (f64::from(w.confidence) * 1000.0).round() / 1000.0,
                            })
                        })
                        .collect();
                    json!({ "text": l.text(), "words": words })
                })
                .collect();
            json!({
                "page": p.number,
                "width": round(p.width),
                "height": round(p.height),
                "lines": lines,
            })
        })
        .collect();
    json!({
        "kind": doc.kind.media_type(),
        "pages": pages,
        "einvoice": doc.einvoice.as_ref().map(invoice_json),
    })
}

pub fn invoice_text(inv: &ExtractedInvoice) -> String {
    let v = invoice_json(inv);
    let mut out = String::new();
    let conf = v.get("confidence").cloned().unwrap_or(Value::Null);
    if let Value::Object(m) = &v {
        for (k, val) in m {
            if let Value::String(s) = val {
                let c = conf
                    .get(k)
                    .and_then(Value::as_f64)
                    .map(|c| format!("  ({c:.2})"))
                    .unwrap_or_default();
                out.push_str(&format!("{k:<16} {s}{c}\n"));
            }
        }
    }
    for (i, l) in inv.line_items.iter().enumerate() {
        let opt = |d: Option<Decimal>| d.map_or("-".to_string(), |d| d.to_string());
        out.push_str(&format!(
            "line {:<3} {} | qty {} | unit {} | amount {}\n",
            i + 1,
            l.description.as_deref().unwrap_or("-"),
            opt(l.quantity),
            opt(l.unit_price),
            opt(l.amount)
        ));
    }
    out
}

/// The result of ingesting one file.
pub struct Outcome {
    pub document_id: DocumentId,
    pub invoice_id: Option<i64>,
    pub status: String,
    pub reasons: Vec<String>,
    pub detail: Option<String>,
    /// Every discrepancy with its message, lines and evidence.
    pub discrepancies: Vec<Value>,
}

impl Outcome {
    pub async fn load(store: &Store, document: DocumentId) -> anyhow::Result<Outcome> {
        let meta = store
            .document_meta(document)
            .await?
            .ok_or_else(|| anyhow::anyhow!("document {document} disappeared"))?;
        if meta.status == "rejected" {
            return Ok(Outcome {
                document_id: document,
                invoice_id: None,
                status: "rejected".into(),
                reasons: vec!["unreadable".into()],
                detail: meta.reason,
                discrepancies: vec![],
            });
        }
        if let Some(err) = store.dead_job_error(document).await? {
            return Ok(Outcome {
                document_id: document,
                invoice_id: None,
                status: "failed".into(),
                reasons: vec!["processing_failed".into()],
                detail: Some(err),
                discrepancies: vec![],
            });
        }
        let Some(id) = store.invoice_for_document(document).await? else {
            return Ok(Outcome {
                document_id: document,
                invoice_id: None,
                status: meta.status,
                reasons: vec![],
                detail: None,
                discrepancies: vec![],
            });
        };
        let d = store
            .invoice_detail(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("invoice {id} disappeared"))?;
        let discrepancies = d
            .discrepancies
            .iter()
            .map(|x| {
                let detail: Value = x
                    .detail
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or(Value::Null);
                json!({
                    "code": x.code,
                    "field": x.field,
                    "message": x.message,
                    "severity": x.severity,
                    "lines": detail.get("lines").cloned().unwrap_or(json!([])),
                    "evidence": detail.get("evidence").cloned().unwrap_or(json!({})),
                })
            })
            .collect();
        Ok(Outcome {
            document_id: document,
            invoice_id: Some(id.0),
            status: d.summary.status.as_str().to_string(),
            reasons: d.summary.reasons,
            detail: None,
            discrepancies,
        })
    }

    pub fn line(&self, path: &Path, seen_before: bool) -> String {
        let id = self
            .invoice_id
            .map_or("-".to_string(), |i| format!("invoice {i}"));
        let again = if seen_before {
            " (same file received before)"
        } else {
            ""
        };
        let mut s = format!("{}: {id} {}{again}", path.display(), self.status);
        if !self.reasons.is_empty() {
            s.push_str(&format!(" [{}]", self.reasons.join(", ")));
        }
        if let Some(d) = &self.detail {
            s.push_str(&format!(": {d}"));
        }
        s
    }

    pub fn json(&self, path: &Path, seen_before: bool) -> Value {
        json!({
            "file": path.display().to_string(),
            "document_id": self.document_id.0,
            "invoice_id": self.invoice_id,
            "status": self.status,
            "reasons": self.reasons,
            "detail": self.detail,
            "discrepancies": self.discrepancies,
            "seen_before": seen_before,
        })
    }
}

/// Paid invoices as CSV (with a header row) or JSON lines, for the ERP.
pub fn paid_export(rows: &[crate::store::PaidInvoice], format: &str) -> anyhow::Result<String> {
    let record = |r: &crate::store::PaidInvoice| {
        json!({
            "invoice_id": r.invoice_id, "vendor_id": r.vendor_id, "invoice_number": r.invoice_number,
            "invoice_date": r.invoice_date, "total_amount": r.total_amount, "paid_amount": r.paid_amount,
            "discount": r.discount, "currency": r.currency, "paid_on": r.paid_on, "payment_run": r.run_id,
            "end_to_end_id": r.end_to_end_id,
        })
    };
    if format == "json" {
        return Ok(rows.iter().map(|r| format!("{}\n", record(r))).collect());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "invoice_id",
        "vendor_id",
        "invoice_number",
        "invoice_date",
        "total_amount",
        "paid_amount",
        "discount",
        "currency",
        "paid_on",
        "payment_run",
        "end_to_end_id",
    ])?;
    for r in rows {
        w.write_record([
            r.invoice_id.to_string(),
            r.vendor_id.clone().unwrap_or_default(),
            r.invoice_number.clone().unwrap_or_default(),
            r.invoice_date.clone().unwrap_or_default(),
            r.total_amount.clone().unwrap_or_default(),
            r.paid_amount.clone(),
            r.discount.clone(),
            r.currency.clone(),
            r.paid_on.clone(),
            r.run_id.to_string(),
            r.end_to_end_id.clone(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The payment runs as a table for `pay runs`: whether each run's file
/// was handed out is what tells an operator a run never reached the bank.
pub fn payment_runs(runs: &[crate::store::PaymentRun]) -> String {
    let mut text = format!(
        "{:>5}  {:<10}  {:<3}  {:<8}  {:>8}  {:>14}  {:<24}  {}\n",
        "run", "date", "cur", "state", "payments", "total", "approval", "file"
    );
    for r in runs {
        let approval = match (&r.needs_approval, &r.approved_by) {
            (false, _) => "not needed".to_string(),
            (true, Some(by)) => format!("approved by {by}"),
            (true, None) => "awaiting approval".to_string(),
        };
        let file = match r
            .file_written_at
            .and_then(chrono::DateTime::from_timestamp_millis)
        {
            Some(at) => format!("written {}", at.format("%Y-%m-%d %H:%M:%SZ")),
            None if !r.released() => "held until approved".to_string(),
            None if r.state == "created" => {
                format!("NOT WRITTEN: apflow pay file {} --out FILE", r.id)
            }
            None => "not written".to_string(),
        };
        text.push_str(&format!(
            "{:>5}  {:<10}  {:<3}  {:<8}  {:>8}  {:>14}  {:<24}  {}\n",
            r.id, r.run_date, r.currency, r.state, r.payments, r.total, approval, file
        ));
    }
    text
}

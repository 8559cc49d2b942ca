//! Master-data import from JSONL or CSV (by extension). JSONL records are
//! `vendors: {vendor_id, name, aliases[], vat_id, ibans[], payment_terms,
//! currency, email_domains[]}`, `pos: {po_number, vendor_id, currency,
//! status, lines[{line_no, sku, description, quantity, unit, unit_price,
//! tax_rate}]}`, `receipts: {receipt_id, po_number, received_on,
//! lines[{line_no, quantity}]}`. CSV has one row per line with the header
//! fields repeated; list fields are separated by `;`. Decimals may be
//! strings or numbers. Every error names the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::ImportKind;
use crate::domain::{
    GoodsReceipt, PoLine, PoStatus, PurchaseOrder, ReceiptLine, ToleranceOverride, Vendor,
};
use crate::store::Store;

pub fn noun(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Vendors => "vendors",
        ImportKind::Pos => "purchase orders",
        ImportKind::Receipts => "goods receipts",
    }
}

/// A decimal written as a JSON string or number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Num {
    Text(String),
    Number(serde_json::Number),
    Int(i64),
}

impl Num {
    fn decimal(&self, what: &str) -> Result<Decimal> {
        let s = match self {
            Num::Text(s) => s.trim().to_string(),
            Num::Number(n) => n.to_string(),
            Num::Int(i) => i.to_string(),
        };
        s.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(&s))
            .with_context(|| format!("{what}: {s:?} is not a decimal number"))
    }

    fn integer(&self, what: &str) -> Result<i64> {
        let d = self.decimal(what)?;
        if !d.fract().is_zero() {
            bail!("{what}: {d} is not a whole number");
        }
        i64::try_from(d).with_context(|| format!("{what}: {d} is out of range"))
    }
}

#[derive(Debug, Deserialize)]
struct VendorRecord {
    vendor_id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    vat_id: Option<String>,
    #[serde(default)]
    ibans: Vec<String>,
    payment_terms: Option<String>,
    currency: Option<String>,
    #[serde(default)]
    email_domains: Vec<String>,
    #[serde(default)]
    tolerances: BTreeMap<String, Num>,
}

#[derive(Debug, Deserialize)]
struct PoLineRecord {
    line_no: Num,
    sku: Option<String>,
    description: String,
    quantity: Num,
    unit: Option<String>,
    unit_price: Num,
    tax_rate: Option<Num>,
}

#[derive(Debug, Deserialize)]
struct PoRecord {
    po_number: String,
    vendor_id: String,
    currency: String,
    #[serde(default = "open")]
    status: String,
    lines: Vec<PoLineRecord>,
    #[serde(default)]
    tolerances: BTreeMap<String, Num>,
    /// The budget the order charges (approvers may be limited to theirs).
    cost_centre: Option<String>,
}

fn open() -> String {
    "open".to_string()
}

#[derive(Debug, Deserialize)]
struct ReceiptLineRecord {
    line_no: Num,
    quantity: Num,
}

#[derive(Debug, Deserialize)]
struct ReceiptRecord {
    receipt_id: String,
    po_number: String,
    received_on: String,
    lines: Vec<ReceiptLineRecord>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `{"price_pct": "3", ...}`: a vendor's or PO's own tolerances.
fn tolerances(m: &BTreeMap<String, Num>) -> Result<ToleranceOverride> {
    let mut t = ToleranceOverride::default();
    for (k, v) in m {
        let d = Some(v.decimal(k)?);
        match k.as_str() {
            "price_pct" => t.price_pct = d,
            "price_abs" => t.price_abs = d,
            "quantity_pct" => t.quantity_pct = d,
            "amount_abs" => t.amount_abs = d,
            "charges_abs" => t.charges_abs = d,
            "reject_price_pct" => t.reject_price_pct = d,
            other => bail!(
                "unknown tolerance {other:?} (known: price_pct, price_abs, quantity_pct, amount_abs, charges_abs, reject_price_pct)"
            ),
        }
    }
    Ok(t)
}

fn vendor(r: VendorRecord) -> Result<Vendor> {
    if r.vendor_id.trim().is_empty() || r.name.trim().is_empty() {
        bail!("vendor_id and name are required");
    }
    Ok(Vendor {
        vendor_id: r.vendor_id.trim().to_string(),
        name: r.name.trim().to_string(),
        aliases: r.aliases,
        vat_id: nonempty(r.vat_id).map(|v| v.replace(' ', "").to_uppercase()),
        ibans: r
            .ibans
            .iter()
            .map(|i| i.replace(' ', "").to_uppercase())
            .collect(),
        payment_terms: nonempty(r.payment_terms),
        currency: nonempty(r.currency),
        email_domains: r.email_domains,
        tolerances: tolerances(&r.tolerances)?,
    })
}

fn purchase_order(r: PoRecord) -> Result<(PurchaseOrder, Option<String>)> {
    let cost_centre = nonempty(r.cost_centre.clone());
    Ok((purchase_order_head(r)?, cost_centre))
}

fn purchase_order_head(r: PoRecord) -> Result<PurchaseOrder> {
    let status = PoStatus::parse(&r.status)
        .with_context(|| format!("status {:?} is not open or closed", r.status))?;
    let lines = r
        .lines
        .into_iter()
        .map(|l| {
            Ok(PoLine {
                line_no: l.line_no.integer("line_no")?,
                sku: nonempty(l.sku),
                description: l.description,
                quantity: l.quantity.decimal("quantity")?,
                unit: nonempty(l.unit),
                unit_price: l.unit_price.decimal("unit_price")?,
                tax_rate: l.tax_rate.map(|t| t.decimal("tax_rate")).transpose()?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(PurchaseOrder {
        po_number: r.po_number.trim().to_string(),
        vendor_id: r.vendor_id,
        currency: r.currency,
        status,
        lines,
        tolerances: tolerances(&r.tolerances)?,
    })
}

fn goods_receipt(r: ReceiptRecord) -> Result<GoodsReceipt> {
    let received_on = chrono::NaiveDate::parse_from_str(r.received_on.trim(), "%Y-%m-%d")
        .with_context(|| format!("received_on {:?} is not YYYY-MM-DD", r.received_on))?;
    let lines = r
        .lines
        .into_iter()
        .map(|l| {
            Ok(ReceiptLine {
                line_no: l.line_no.integer("line_no")?,
                quantity: l.quantity.decimal("quantity")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(GoodsReceipt {
        receipt_id: r.receipt_id.trim().to_string(),
        po_number: r.po_number.trim().to_string(),
        received_on,
        lines,
    })
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub records: usize,
    /// Invoices on the review queue queued for re-evaluation because of it.
    pub reevaluated: u64,
    /// New IBANs of known vendors, waiting for a second person to verify.
    pub ibans_pending: usize,
}

/// Imports a file: every record is checked first (an error names the file
/// and line and imports nothing), then all are written in bulk. Invoices
/// waiting for the imported POs or receipts are queued for re-evaluation.
pub async fn import_file(store: &Store, kind: ImportKind, path: &Path) -> Result<Imported> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    import_text(
        store,
        kind,
        &text,
        is_csv,
        &path.display().to_string(),
        "cli:import",
    )
    .await
}

/// As [`import_file`] for text received otherwise (the REST API); `origin`
/// names it in error messages, `actor` in the audit log and as the proposer
/// of changed bank accounts (who may then not verify them).
pub async fn import_text(
    store: &Store,
    kind: ImportKind,
    text: &str,
    is_csv: bool,
    origin: &str,
    actor: &str,
) -> Result<Imported> {
    let path = Path::new(origin);
    let records: Vec<(usize, Value)> = if is_csv {
        csv_records(kind, text).with_context(|| format!("in {origin}"))?
    } else {
        jsonl_records(text, path)?
    };
    fn parse<T: serde::de::DeserializeOwned, U>(
        records: Vec<(usize, Value)>,
        path: &Path,
        convert: fn(T) -> Result<U>,
    ) -> Result<Vec<U>> {
        records
            .into_iter()
            .map(|(line, value)| {
                serde_json::from_value(value)
                    .map_err(anyhow::Error::from)
                    .and_then(convert)
                    .with_context(|| format!("{}:{line}", path.display()))
            })
            .collect()
    }
    let mut touched: Vec<(Option<String>, String)> = Vec::new();
    let mut ibans_pending = 0;
    let records_n = match kind {
        ImportKind::Vendors => {
            let vendors = parse(records, path, vendor)?;
            let audit = crate::store::AuditEntry {
                actor: actor.to_string(),
                action: "vendor.imported",
                entity: "vendor",
                entity_id: String::new(),
                detail: serde_json::Value::Null,
            };
            for v in &vendors {
                ibans_pending += store.import_vendor(v, &audit).await?.proposed.len();
            }
            vendors.len()
        }
        ImportKind::Pos => {
            let (pos, cost_centres): (Vec<PurchaseOrder>, Vec<Option<String>>) =
                parse(records, path, purchase_order)?.into_iter().unzip();
            store.upsert_purchase_orders(&pos).await?;
            let assigned: Vec<(&str, &str)> = pos
                .iter()
                .zip(&cost_centres)
                .filter_map(|(p, c)| Some((p.po_number.as_str(), c.as_deref()?)))
                .collect();
            store.set_po_cost_centres(&assigned).await?;
            touched.extend(
                pos.iter()
                    .map(|p| (Some(p.vendor_id.clone()), p.po_number.clone())),
            );
            pos.len()
        }
        ImportKind::Receipts => {
            let receipts = parse(records, path, goods_receipt)?;
            store.upsert_goods_receipts(&receipts).await?;
            for r in &receipts {
                touched.push((
                    store.purchase_order_vendor(&r.po_number).await?,
                    r.po_number.clone(),
                ));
            }
            receipts.len()
        }
    };
    touched.sort();
    touched.dedup();
    let mut reevaluated = 0;
    for (vendor, po) in &touched {
        reevaluated +=
            crate::workflow::reevaluate_waiting(store, vendor.as_deref(), Some(po), "import")
                .await?;
    }
    Ok(Imported {
        records: records_n,
        reevaluated,
        ibans_pending,
    })
}

fn jsonl_records(text: &str, path: &Path) -> Result<Vec<(usize, Value)>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            Ok((
                i + 1,
                serde_json::from_str(l)
                    .with_context(|| format!("{}:{}: not valid JSON", path.display(), i + 1))?,
            ))
        })
        .collect()
}

/// Turns CSV rows into the JSON records of the JSONL format, grouping line
/// rows under their header (PO number or receipt id).
fn csv_records(kind: ImportKind, text: &str) -> Result<Vec<(usize, Value)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut grouped: BTreeMap<String, (usize, serde_json::Map<String, Value>)> = BTreeMap::new();
    let mut order = Vec::new();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row?;
        let line = i + 2;
        let get = |k: &str| {
            headers
                .iter()
                .position(|h| h == k)
                .and_then(|p| row.get(p))
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let list = |k: &str| {
            Value::from(
                get(k)
                    .map(|s| {
                        s.split(';')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
            )
        };
        let s = |k: &str| get(k).map_or(Value::Null, Value::from);
        match kind {
            ImportKind::Vendors => out.push((
                line,
                serde_json::json!({"vendor_id": s("vendor_id"), "name": s("name"), "aliases": list("aliases"), "vat_id": s("vat_id"), "ibans": list("ibans"), "payment_terms": s("payment_terms"), "currency": s("currency"), "email_domains": list("email_domains")}),
            )),
            ImportKind::Pos | ImportKind::Receipts => {
                let (key_field, head_fields, line_fields): (&str, &[&str], &[&str]) = match kind {
                    ImportKind::Pos => ("po_number", &["po_number", "vendor_id", "currency", "status", "cost_centre"], &["line_no", "sku", "description", "quantity", "unit", "unit_price", "tax_rate"]),
                    _ => ("receipt_id", &["receipt_id", "po_number", "received_on"], &["line_no", "quantity"]),
                };
                let key = get(key_field).with_context(|| format!("line {line}: {key_field} is empty"))?;
                let entry = grouped.entry(key.clone()).or_insert_with(|| {
                    order.push(key.clone());
                    let mut m = serde_json::Map::new();
                    for f in head_fields {
                        if let Some(v) = get(f) {
                            m.insert((*f).to_string(), Value::from(v));
                        }
                    }
                    m.insert("lines".into(), Value::Array(Vec::new()));
                    (line, m)
                });
                let mut l = serde_json::Map::new();
                for f in line_fields {
                    if let Some(v) = get(f) {
                        l.insert((*f).to_string(), Value::from(v));
                    }
                }
                if let Some(Value::Array(lines)) = entry.1.get_mut("lines") {
                    lines.push(Value::Object(l));
                }
            }
        }
    }
    for key in order {
        if let Some((line, m)) = grouped.remove(&key) {
            out.push((line, Value::Object(m)));
        }
    }
    Ok(out)
}

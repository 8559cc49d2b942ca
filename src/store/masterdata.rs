//! Vendors, purchase orders and goods receipts. Imports are upserts keyed by
//! the business id (vendor id, PO number, receipt id), and a PO's or
//! receipt's lines are replaced as a whole, so importing the same file twice
//! changes nothing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{QueryContext, Result, Store, now_ms, parse_date, parse_decimal, parse_json_list};
use crate::domain::{
    GoodsReceipt, InvoiceId, PoLine, PoStatus, PurchaseOrder, ToleranceOverride, Vendor,
};

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

/// Tolerance overrides as a JSON object of decimal strings; `None` when
/// nothing is overridden.
fn tolerances_json(t: &ToleranceOverride) -> Option<String> {
    let mut m = serde_json::Map::new();
    for (k, v) in tolerance_fields(t) {
        if let Some(v) = v {
            m.insert(k.to_string(), serde_json::Value::String(v.to_string()));
        }
    }
    (!m.is_empty()).then(|| serde_json::Value::Object(m).to_string())
}

fn tolerance_fields(t: &ToleranceOverride) -> [(&'static str, Option<Decimal>); 6] {
    [
        ("price_pct", t.price_pct),
        ("price_abs", t.price_abs),
        ("quantity_pct", t.quantity_pct),
        ("amount_abs", t.amount_abs),
        ("charges_abs", t.charges_abs),
        ("reject_price_pct", t.reject_price_pct),
    ]
}

fn tolerances_from(column: &'static str, s: Option<String>) -> Result<ToleranceOverride> {
    let Some(s) = s else {
        return Ok(ToleranceOverride::default());
    };
    let v: serde_json::Value = serde_json::from_str(&s).map_err(|_| super::Error::Corrupt {
        column,
        value: s.clone(),
    })?;
    let get = |k: &str| -> Result<Option<Decimal>> {
        v.get(k)
            .and_then(|x| x.as_str())
            .map(|x| parse_decimal(column, x))
            .transpose()
    };
    Ok(ToleranceOverride {
        price_pct: get("price_pct")?,
        price_abs: get("price_abs")?,
        quantity_pct: get("quantity_pct")?,
        amount_abs: get("amount_abs")?,
        charges_abs: get("charges_abs")?,
        reject_price_pct: get("reject_price_pct")?,
    })
}

/// What a vendor import changed about the vendor's bank accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorImport {
    pub created: bool,
    /// A new vendor's IBANs, verified by the import.
    pub added: Vec<String>,
    /// New IBANs of a known vendor, waiting for a second person.
    pub proposed: Vec<String>,
    pub removed: Vec<String>,
}

/// One of a vendor's bank accounts: verified (by a person or the import
/// that created the vendor), or proposed and pending or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub iban: String,
    /// `verified`, `pending` or `refused`.
    pub state: String,
    /// `verified` (a person), `import`, or `invoice`.
    pub source: String,
    /// Who verified, proposed or refused it.
    pub by: String,
    pub at: i64,
    pub comment: Option<String>,
}

async fn upsert_vendor_row(conn: &mut sqlx::AnyConnection, v: &Vendor, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO vendors (vendor_id, name, aliases, vat_id, ibans, payment_terms, currency, email_domains, updated_at, tolerances) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (vendor_id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases, \
         vat_id = excluded.vat_id, ibans = excluded.ibans, payment_terms = excluded.payment_terms, \
         currency = excluded.currency, email_domains = excluded.email_domains, updated_at = excluded.updated_at, \
         tolerances = excluded.tolerances",
    )
    .bind(v.vendor_id.clone())
    .bind(v.name.clone())
    .bind(json_list(&v.aliases))
    .bind(v.vat_id.clone())
    .bind(json_list(&v.ibans))
    .bind(v.payment_terms.clone())
    .bind(v.currency.clone())
    .bind(json_list(&v.email_domains))
    .bind(now)
    .bind(tolerances_json(&v.tolerances))
    .execute(&mut *conn)
    .await
    .ctx("upsert a vendor")?;
    Ok(())
}

/// Records a verified bank account with who verified it and how.
async fn record_bank_account(
    conn: &mut sqlx::AnyConnection,
    vendor_id: &str,
    iban: &str,
    by: &str,
    source: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO vendor_bank_accounts (vendor_id, iban, verified_by, verified_at, source) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (vendor_id, iban) DO UPDATE SET verified_by = excluded.verified_by, \
         verified_at = excluded.verified_at, source = excluded.source",
    )
    .bind(vendor_id.to_string())
    .bind(iban.to_string())
    .bind(by.to_string())
    .bind(now_ms())
    .bind(source.to_string())
    .execute(&mut *conn)
    .await
    .ctx("record a verified bank account")?;
    Ok(())
}

impl Store {
    pub async fn vendors(&self) -> Result<Vec<Vendor>> {
        let rows = sqlx::query("SELECT * FROM vendors ORDER BY vendor_id")
            .fetch_all(self.pool())
            .await
            .ctx("list vendors")?;
        rows.iter().map(vendor_from_row).collect()
    }

    /// One vendor of the master data, by id.
    pub async fn vendor(&self, vendor_id: &str) -> Result<Option<Vendor>> {
        sqlx::query("SELECT * FROM vendors WHERE vendor_id = $1")
            .bind(vendor_id.to_string())
            .fetch_optional(self.pool())
            .await
            .ctx("read a vendor")?
            .as_ref()
            .map(vendor_from_row)
            .transpose()
    }

    pub async fn upsert_purchase_order(&self, po: &PurchaseOrder) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query(
            "INSERT INTO purchase_orders (po_number, vendor_id, currency, status, updated_at, tolerances) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (po_number) DO UPDATE SET vendor_id = excluded.vendor_id, \
             currency = excluded.currency, status = excluded.status, updated_at = excluded.updated_at, \
             tolerances = excluded.tolerances",
        )
        .bind(po.po_number.clone())
        .bind(po.vendor_id.clone())
        .bind(po.currency.clone())
        .bind(po.status.as_str())
        .bind(now_ms())
        .bind(tolerances_json(&po.tolerances))
        .execute(&mut *tx)
        .await
        .ctx("upsert a purchase order")?;
        sqlx::query("DELETE FROM po_lines WHERE po_number = $1")
            .bind(po.po_number.clone())
            .execute(&mut *tx)
            .await
            .ctx("replace purchase order lines")?;
        for line in &po.lines {
            sqlx::query(
                "INSERT INTO po_lines (po_number, line_no, sku, description, quantity, unit, unit_price, tax_rate) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(po.po_number.clone())
            .bind(line.line_no)
            .bind(line.sku.clone())
            .bind(line.description.clone())
            .bind(line.quantity.to_string())
            .bind(line.unit.clone())
            .bind(line.unit_price.to_string())
            .bind(line.tax_rate.map(|r| r.to_string()))
            .execute(&mut *tx)
            .await
            .ctx("insert a purchase order line")?;
        }
        tx.commit().await.ctx("commit a purchase order")?;
        Ok(())
    }

    /// Imports many purchase orders in one transaction with multi-row
    /// statements: a million PO lines load in seconds, not minutes.
    /// Same effect as [`Store::upsert_purchase_order`] for each.
    pub async fn upsert_purchase_orders(&self, pos: &[PurchaseOrder]) -> Result<()> {
        const HEAD_ROWS: usize = 500;
        const LINE_ROWS: usize = 500;
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let now = now_ms();
        for chunk in pos.chunks(HEAD_ROWS) {
            let sql = format!(
                "INSERT INTO purchase_orders (po_number, vendor_id, currency, status, updated_at, tolerances) VALUES {} \
                 ON CONFLICT (po_number) DO UPDATE SET vendor_id = excluded.vendor_id, currency = excluded.currency, \
                 status = excluded.status, updated_at = excluded.updated_at, tolerances = excluded.tolerances",
                values_clause(chunk.len(), 6)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for po in chunk {
                q = q
                    .bind(po.po_number.clone())
                    .bind(po.vendor_id.clone())
                    .bind(po.currency.clone())
                    .bind(po.status.as_str())
                    .bind(now)
                    .bind(tolerances_json(&po.tolerances));
            }
            q.execute(&mut *tx).await.ctx("upsert purchase orders")?;
            let keys: Vec<&str> = chunk.iter().map(|po| po.po_number.as_str()).collect();
            delete_lines_of(&mut tx, "DELETE FROM po_lines WHERE po_number IN", &keys)
                .await
                .ctx("replace purchase order lines")?;
        }
        let lines: Vec<(&str, &PoLine)> = pos
            .iter()
            .flat_map(|po| po.lines.iter().map(move |l| (po.po_number.as_str(), l)))
            .collect();
        for chunk in lines.chunks(LINE_ROWS) {
            let sql = format!(
                "INSERT INTO po_lines (po_number, line_no, sku, description, quantity, unit, unit_price, tax_rate) VALUES {}",
                values_clause(chunk.len(), 8)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (po, l) in chunk {
                q = q
                    .bind(po.to_string())
                    .bind(l.line_no)
                    .bind(l.sku.clone())
                    .bind(l.description.clone())
                    .bind(l.quantity.to_string())
                    .bind(l.unit.clone())
                    .bind(l.unit_price.to_string())
                    .bind(l.tax_rate.map(|r| r.to_string()));
            }
            q.execute(&mut *tx)
                .await
                .ctx("insert purchase order lines")?;
        }
        tx.commit().await.ctx("commit purchase orders")?;
        self.refresh_statistics().await
    }

    /// Imports many goods receipts in one transaction (see
    /// [`Store::upsert_purchase_orders`]).
    pub async fn upsert_goods_receipts(&self, receipts: &[GoodsReceipt]) -> Result<()> {
        const ROWS: usize = 500;
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let now = now_ms();
        for chunk in receipts.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO goods_receipts (receipt_id, po_number, received_on, updated_at) VALUES {} \
                 ON CONFLICT (receipt_id) DO UPDATE SET po_number = excluded.po_number, \
                 received_on = excluded.received_on, updated_at = excluded.updated_at",
                values_clause(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for gr in chunk {
                q = q
                    .bind(gr.receipt_id.clone())
                    .bind(gr.po_number.clone())
                    .bind(gr.received_on.format("%Y-%m-%d").to_string())
                    .bind(now);
            }
            q.execute(&mut *tx).await.ctx("upsert goods receipts")?;
            let keys: Vec<&str> = chunk.iter().map(|gr| gr.receipt_id.as_str()).collect();
            delete_lines_of(
                &mut tx,
                "DELETE FROM receipt_lines WHERE receipt_id IN",
                &keys,
            )
            .await
            .ctx("replace goods receipt lines")?;
        }
        let lines: Vec<(&str, &crate::domain::ReceiptLine)> = receipts
            .iter()
            .flat_map(|r| r.lines.iter().map(move |l| (r.receipt_id.as_str(), l)))
            .collect();
        for chunk in lines.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO receipt_lines (receipt_id, line_no, quantity) VALUES {}",
                values_clause(chunk.len(), 3)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, l) in chunk {
                q = q
                    .bind(id.to_string())
                    .bind(l.line_no)
                    .bind(l.quantity.to_string());
            }
            q.execute(&mut *tx)
                .await
                .ctx("insert goods receipt lines")?;
        }
        tx.commit().await.ctx("commit goods receipts")?;
        self.refresh_statistics().await
    }

    /// Updates the query planner's statistics. After a bulk import the
    /// planner otherwise still believes the tables are empty, and
    /// PostgreSQL picks sequential scans (40 ms instead of 0.5 ms per
    /// invoice with a million PO lines).
    pub async fn refresh_statistics(&self) -> Result<()> {
        let sql = match self.backend() {
            super::Backend::Postgres => {
                "ANALYZE purchase_orders, po_lines, goods_receipts, receipt_lines"
            }
            super::Backend::Sqlite => "ANALYZE",
        };
        sqlx::query(sql)
            .execute(self.pool())
            .await
            .ctx("refresh planner statistics")?;
        Ok(())
    }

    pub async fn purchase_order(&self, po_number: &str) -> Result<Option<PurchaseOrder>> {
        // One round trip: matching runs this for every invoice.
        let rows = sqlx::query(
            "SELECT p.po_number, p.vendor_id, p.currency, p.status, p.tolerances, l.line_no, l.sku, l.description, \
             l.quantity, l.unit, l.unit_price, l.tax_rate FROM purchase_orders p \
             LEFT JOIN po_lines l ON l.po_number = p.po_number WHERE p.po_number = $1 ORDER BY l.line_no",
        )
        .bind(po_number.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read a purchase order")?;
        let Some(head) = rows.first() else {
            return Ok(None);
        };
        let status: String = head.try_get("status").ctx("decode purchase order")?;
        let mut lines = Vec::with_capacity(rows.len());
        for r in &rows {
            let line_no: Option<i64> = r.try_get("line_no").ctx("decode purchase order line")?;
            if line_no.is_some() {
                lines.push(po_line_from_row(r)?);
            }
        }
        Ok(Some(PurchaseOrder {
            po_number: head.try_get("po_number").ctx("decode purchase order")?,
            vendor_id: head.try_get("vendor_id").ctx("decode purchase order")?,
            currency: head.try_get("currency").ctx("decode purchase order")?,
            status: PoStatus::parse(&status).ok_or(super::Error::Corrupt {
                column: "purchase_orders.status",
                value: status.clone(),
            })?,
            lines,
            tolerances: tolerances_from(
                "purchase_orders.tolerances",
                head.try_get("tolerances").ctx("decode purchase order")?,
            )?,
        }))
    }

    pub async fn upsert_goods_receipt(&self, gr: &GoodsReceipt) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query(
            "INSERT INTO goods_receipts (receipt_id, po_number, received_on, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (receipt_id) DO UPDATE SET po_number = excluded.po_number, \
             received_on = excluded.received_on, updated_at = excluded.updated_at",
        )
        .bind(gr.receipt_id.clone())
        .bind(gr.po_number.clone())
        .bind(gr.received_on.format("%Y-%m-%d").to_string())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .ctx("upsert a goods receipt")?;
        sqlx::query("DELETE FROM receipt_lines WHERE receipt_id = $1")
            .bind(gr.receipt_id.clone())
            .execute(&mut *tx)
            .await
            .ctx("replace goods receipt lines")?;
        for line in &gr.lines {
            sqlx::query(
                "INSERT INTO receipt_lines (receipt_id, line_no, quantity) VALUES ($1, $2, $3)",
            )
            .bind(gr.receipt_id.clone())
            .bind(line.line_no)
            .bind(line.quantity.to_string())
            .execute(&mut *tx)
            .await
            .ctx("insert a goods receipt line")?;
        }
        tx.commit().await.ctx("commit a goods receipt")?;
        Ok(())
    }

    /// Total quantity received so far per PO line number.
    pub async fn received_quantities(&self, po_number: &str) -> Result<BTreeMap<i64, Decimal>> {
        let rows = sqlx::query(
            "SELECT rl.line_no, rl.quantity FROM receipt_lines rl \
             JOIN goods_receipts gr ON gr.receipt_id = rl.receipt_id WHERE gr.po_number = $1",
        )
        .bind(po_number.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read goods receipts")?;
        let mut received = BTreeMap::new();
        for row in rows {
            let line_no: i64 = row.try_get("line_no").ctx("decode receipt line")?;
            let qty: String = row.try_get("quantity").ctx("decode receipt line")?;
            *received.entry(line_no).or_insert(Decimal::ZERO) +=
                parse_decimal("receipt_lines.quantity", &qty)?;
        }
        Ok(received)
    }

    /// The vendor's open purchase orders with their lines: the candidates
    /// for an invoice that quotes no PO number.
    pub async fn open_purchase_orders(&self, vendor_id: &str) -> Result<Vec<PurchaseOrder>> {
        let heads = sqlx::query("SELECT * FROM purchase_orders WHERE vendor_id = $1 AND status = 'open' ORDER BY po_number")
            .bind(vendor_id.to_string())
            .fetch_all(self.pool())
            .await
            .ctx("list open purchase orders")?;
        let lines = sqlx::query(
            "SELECT l.* FROM po_lines l JOIN purchase_orders p ON p.po_number = l.po_number \
             WHERE p.vendor_id = $1 AND p.status = 'open' ORDER BY l.po_number, l.line_no",
        )
        .bind(vendor_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("list open purchase order lines")?;
        let mut by_po: BTreeMap<String, Vec<PoLine>> = BTreeMap::new();
        for r in &lines {
            let po: String = r.try_get("po_number").ctx("decode purchase order line")?;
            by_po.entry(po).or_default().push(po_line_from_row(r)?);
        }
        heads
            .iter()
            .map(|h| {
                let po_number: String = h.try_get("po_number").ctx("decode purchase order")?;
                Ok(PurchaseOrder {
                    lines: by_po.remove(&po_number).unwrap_or_default(),
                    vendor_id: h.try_get("vendor_id").ctx("decode purchase order")?,
                    currency: h.try_get("currency").ctx("decode purchase order")?,
                    status: PoStatus::Open,
                    tolerances: tolerances_from(
                        "purchase_orders.tolerances",
                        h.try_get("tolerances").ctx("decode purchase order")?,
                    )?,
                    po_number,
                })
            })
            .collect()
    }

    /// Per PO line: the quantity received so far, and the quantity billed
    /// by invoices other than `except` that still claim it (not duplicates,
    /// not rejected). One round trip.
    pub async fn po_quantities(
        &self,
        po_number: &str,
        except: InvoiceId,
    ) -> Result<(BTreeMap<i64, Decimal>, BTreeMap<i64, Decimal>)> {
        let rows = sqlx::query(
            "SELECT 'r' AS kind, rl.line_no, rl.quantity FROM receipt_lines rl \
             JOIN goods_receipts gr ON gr.receipt_id = rl.receipt_id WHERE gr.po_number = $1 \
             UNION ALL \
             SELECT 'b' AS kind, m.po_line_no AS line_no, m.quantity FROM invoice_matches m \
             JOIN invoices i ON i.id = m.invoice_id \
             WHERE m.po_number = $1 AND m.invoice_id <> $2 AND i.status NOT IN ('duplicate', 'rejected')",
        )
        .bind(po_number.to_string())
        .bind(except.0)
        .fetch_all(self.pool())
        .await
        .ctx("read received and billed quantities")?;
        let (mut received, mut billed) = (BTreeMap::new(), BTreeMap::new());
        for row in rows {
            let kind: String = row.try_get("kind").ctx("decode quantities")?;
            let line_no: i64 = row.try_get("line_no").ctx("decode quantities")?;
            let qty: String = row.try_get("quantity").ctx("decode quantities")?;
            let qty = parse_decimal("quantity", &qty)?;
            let target = if kind == "r" {
                &mut received
            } else if qty < Decimal::ZERO {
                // A credit note's lines do not give billing back: no one
                // approves a credit, so a vendor's own credit note would
                // otherwise make room to bill the same goods again. A
                // re-delivery after a credit goes to a person instead.
                continue;
            } else {
                &mut billed
            };
            *target.entry(line_no).or_insert(Decimal::ZERO) += qty;
        }
        Ok((received, billed))
    }

    /// Records that `by` verified `iban` as an account of the vendor.
    /// Returns false if the vendor does not exist.
    pub async fn verify_vendor_iban(
        &self,
        vendor_id: &str,
        iban: &str,
        by: &str,
        audit: &super::AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let Some(ibans) =
            sqlx::query_scalar::<_, String>("SELECT ibans FROM vendors WHERE vendor_id = $1")
                .bind(vendor_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .ctx("read a vendor")?
        else {
            return Ok(false);
        };
        let mut list = parse_json_list("vendors.ibans", &ibans)?;
        if !list.iter().any(|i| i == iban) {
            list.push(iban.to_string());
        }
        sqlx::query("UPDATE vendors SET ibans = $1, updated_at = $2 WHERE vendor_id = $3")
            .bind(json_list(&list))
            .bind(now_ms())
            .bind(vendor_id.to_string())
            .execute(&mut *tx)
            .await
            .ctx("add a verified IBAN")?;
        record_bank_account(&mut tx, vendor_id, iban, by, "verified").await?;
        sqlx::query(
            "UPDATE bank_account_changes SET state = 'verified', decided_by = $1, decided_at = $2 \
             WHERE vendor_id = $3 AND iban = $4 AND state = 'pending'",
        )
        .bind(by.to_string())
        .bind(now_ms())
        .bind(vendor_id.to_string())
        .bind(iban.to_string())
        .execute(&mut *tx)
        .await
        .ctx("close a bank account proposal")?;
        self.append_audit(&mut tx, audit).await?;
        tx.commit()
            .await
            .ctx("commit a bank account verification")?;
        Ok(true)
    }

    /// Records that `by` refused `iban` for the vendor: a pending proposal
    /// is closed as refused, or a refusal is recorded for an IBAN that only
    /// an invoice named. Returns false if the vendor does not exist.
    pub async fn refuse_bank_account(
        &self,
        vendor_id: &str,
        iban: &str,
        by: &str,
        comment: &str,
        audit: &super::AuditEntry,
    ) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT vendor_id FROM vendors WHERE vendor_id = $1")
                .bind(vendor_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .ctx("read a vendor")?;
        if exists.is_none() {
            return Ok(false);
        }
        let closed = sqlx::query(
            "UPDATE bank_account_changes SET state = 'refused', decided_by = $1, decided_at = $2, comment = $3 \
             WHERE vendor_id = $4 AND iban = $5 AND state = 'pending'",
        )
        .bind(by.to_string())
        .bind(now)
        .bind(comment.to_string())
        .bind(vendor_id.to_string())
        .bind(iban.to_string())
        .execute(&mut *tx)
        .await
        .ctx("refuse a bank account proposal")?
        .rows_affected();
        if closed == 0 {
            sqlx::query(
                "INSERT INTO bank_account_changes (vendor_id, iban, source, proposed_by, proposed_at, state, decided_by, decided_at, comment) \
                 VALUES ($1, $2, 'invoice', '', $3, 'refused', $4, $3, $5)",
            )
            .bind(vendor_id.to_string())
            .bind(iban.to_string())
            .bind(now)
            .bind(by.to_string())
            .bind(comment.to_string())
            .execute(&mut *tx)
            .await
            .ctx("record a refused bank account")?;
        }
        self.append_audit(&mut tx, audit).await?;
        tx.commit().await.ctx("commit a bank account refusal")?;
        Ok(true)
    }

    /// Whether `username` verified `iban` for the vendor after `invoice`
    /// arrived: then they judged this invoice's bank account, and a
    /// second person approves it.
    pub async fn verified_for_this_invoice(
        &self,
        vendor_id: &str,
        iban: &str,
        username: &str,
        invoice: crate::domain::InvoiceId,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM vendor_bank_accounts b, invoices i JOIN documents d ON d.id = i.document_id \
             WHERE i.id = $1 AND b.vendor_id = $2 AND REPLACE(UPPER(b.iban), ' ', '') = $3 \
             AND b.verified_by = $4 AND b.source = 'verified' AND b.verified_at >= d.received_at",
        )
        .bind(invoice.0)
        .bind(vendor_id.to_string())
        .bind(crate::domain::compact_iban(iban))
        .bind(username.to_string())
        .fetch_one(self.pool())
        .await
        .ctx("check who verified a bank account")?;
        Ok(n > 0)
    }

    /// Who proposed `iban` for the vendor (master-data imports).
    pub async fn bank_account_proposers(&self, vendor_id: &str, iban: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT proposed_by FROM bank_account_changes WHERE vendor_id = $1 AND iban = $2 AND source = 'import'",
        )
        .bind(vendor_id.to_string())
        .bind(iban.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read bank account proposals")
    }

    /// The vendor's bank accounts as a person judging a new one sees them:
    /// verified ones with who/when/how, and proposals with their state.
    pub async fn bank_accounts(&self, vendor_id: &str) -> Result<Vec<BankAccount>> {
        let mut out = Vec::new();
        let verified = sqlx::query(
            "SELECT iban, verified_by, verified_at, source FROM vendor_bank_accounts WHERE vendor_id = $1 ORDER BY verified_at",
        )
        .bind(vendor_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read a vendor's bank accounts")?;
        for r in &verified {
            out.push(BankAccount {
                iban: r.try_get("iban").ctx("decode a bank account")?,
                state: "verified".into(),
                source: r.try_get("source").ctx("decode a bank account")?,
                by: r.try_get("verified_by").ctx("decode a bank account")?,
                at: r.try_get("verified_at").ctx("decode a bank account")?,
                comment: None,
            });
        }
        let changes = sqlx::query(
            "SELECT iban, state, source, proposed_by, proposed_at, decided_by, decided_at, comment \
             FROM bank_account_changes WHERE vendor_id = $1 AND state <> 'verified' ORDER BY id",
        )
        .bind(vendor_id.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read a vendor's bank account proposals")?;
        for r in &changes {
            let state: String = r.try_get("state").ctx("decode a bank account")?;
            let (by, at) = if state == "pending" {
                (
                    r.try_get("proposed_by").ctx("decode a bank account")?,
                    r.try_get("proposed_at").ctx("decode a bank account")?,
                )
            } else {
                (
                    r.try_get::<Option<String>, _>("decided_by")
                        .ctx("decode a bank account")?
                        .unwrap_or_default(),
                    r.try_get::<Option<i64>, _>("decided_at")
                        .ctx("decode a bank account")?
                        .unwrap_or_default(),
                )
            };
            out.push(BankAccount {
                iban: r.try_get("iban").ctx("decode a bank account")?,
                state,
                source: r.try_get("source").ctx("decode a bank account")?,
                by,
                at,
                comment: r.try_get("comment").ctx("decode a bank account")?,
            });
        }
        Ok(out)
    }

    /// Imports a vendor from master data without letting the import move
    /// money on its own: a new vendor's IBANs are its verified accounts
    /// (recorded as imported, by whom, when); for a known vendor, an IBAN
    /// it did not have is only *proposed* (pending until a second person
    /// verifies it), and IBANs the import leaves out are removed. Every
    /// change to the accounts is in `audit`'s detail; `audit`'s actor is
    /// who imported.
    pub async fn import_vendor(
        &self,
        v: &Vendor,
        audit: &super::AuditEntry,
    ) -> Result<VendorImport> {
        let actor = audit.actor.as_str();
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        let known: Option<String> =
            sqlx::query_scalar("SELECT ibans FROM vendors WHERE vendor_id = $1")
                .bind(v.vendor_id.clone())
                .fetch_optional(&mut *tx)
                .await
                .ctx("read a vendor")?;
        let created = known.is_none();
        let before = match known {
            Some(list) => parse_json_list("vendors.ibans", &list)?,
            None => Vec::new(),
        };
        let compact = crate::domain::compact_iban;
        let imported: Vec<String> = v.ibans.iter().map(|i| compact(i)).collect();
        let (kept, proposed): (Vec<String>, Vec<String>) = if created {
            (imported.clone(), Vec::new())
        } else {
            imported
                .iter()
                .cloned()
                .partition(|i| before.iter().any(|b| compact(b) == *i))
        };
        let removed: Vec<String> = before
            .iter()
            .filter(|b| !imported.contains(&compact(b)))
            .cloned()
            .collect();
        let mut stored = v.clone();
        stored.ibans = kept.clone();
        upsert_vendor_row(&mut tx, &stored, now).await?;
        if created {
            for iban in &kept {
                record_bank_account(&mut tx, &v.vendor_id, iban, actor, "import").await?;
            }
        }
        for iban in &removed {
            sqlx::query("DELETE FROM vendor_bank_accounts WHERE vendor_id = $1 AND iban = $2")
                .bind(v.vendor_id.clone())
                .bind(iban.clone())
                .execute(&mut *tx)
                .await
                .ctx("remove a bank account")?;
        }
        let mut newly_proposed = Vec::new();
        for iban in &proposed {
            // Proposed once: an account already waiting for verification
            // is not proposed again.
            let inserted = sqlx::query(
                "INSERT INTO bank_account_changes (vendor_id, iban, source, proposed_by, proposed_at, state) \
                 SELECT $1, $2, 'import', $3, $4, 'pending' WHERE NOT EXISTS \
                 (SELECT 1 FROM bank_account_changes WHERE vendor_id = $1 AND iban = $2 AND state = 'pending')",
            )
            .bind(v.vendor_id.clone())
            .bind(iban.clone())
            .bind(actor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await
            .ctx("propose a bank account")?
            .rows_affected();
            if inserted == 1 {
                newly_proposed.push(iban.clone());
            }
        }
        let outcome = VendorImport {
            created,
            added: if created { kept } else { Vec::new() },
            proposed: newly_proposed,
            removed,
        };
        if outcome.created || !outcome.proposed.is_empty() || !outcome.removed.is_empty() {
            let mask = |l: &[String]| {
                l.iter()
                    .map(|i| crate::domain::mask_iban(i))
                    .collect::<Vec<_>>()
            };
            let mut audit = audit.clone();
            audit.entity_id = v.vendor_id.clone();
            audit.detail = serde_json::json!({
                "created": outcome.created,
                "ibans_added_verified": mask(&outcome.added),
                "ibans_pending_verification": mask(&outcome.proposed),
                "ibans_removed": mask(&outcome.removed),
            });
            self.append_audit(&mut tx, &audit).await?;
        }
        tx.commit().await.ctx("commit a vendor import")?;
        Ok(outcome)
    }

    /// Vendor id of a purchase order, if it exists.
    pub async fn purchase_order_vendor(&self, po_number: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT vendor_id FROM purchase_orders WHERE po_number = $1")
            .bind(po_number.to_string())
            .fetch_optional(self.pool())
            .await
            .ctx("read a purchase order")
    }

    /// Receipt dates per PO, for display.
    pub async fn goods_receipt_dates(&self, po_number: &str) -> Result<Vec<chrono::NaiveDate>> {
        let rows = sqlx::query(
            "SELECT received_on FROM goods_receipts WHERE po_number = $1 ORDER BY received_on",
        )
        .bind(po_number.to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read goods receipts")?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("received_on").ctx("decode goods receipt")?;
                parse_date("goods_receipts.received_on", &s)
            })
            .collect()
    }
}

/// Runs `delete_in ($1, ..., $n)` for the keys: removes the lines of the
/// headers being replaced in a bulk import.
async fn delete_lines_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    delete_in: &'static str,
    keys: &[&str],
) -> std::result::Result<(), sqlx::Error> {
    let sql = format!(
        "{delete_in} ({})",
        (1..=keys.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for k in keys {
        q = q.bind(k.to_string());
    }
    q.execute(&mut **tx).await.map(|_| ())
}

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `cols` columns.
fn values_clause(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            format!(
                "({})",
                (1..=cols)
                    .map(|c| format!("${}", r * cols + c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn vendor_from_row(r: &AnyRow) -> Result<Vendor> {
    let aliases: String = r.try_get("aliases").ctx("decode vendor")?;
    let ibans: String = r.try_get("ibans").ctx("decode vendor")?;
    let domains: String = r.try_get("email_domains").ctx("decode vendor")?;
    Ok(Vendor {
        vendor_id: r.try_get("vendor_id").ctx("decode vendor")?,
        name: r.try_get("name").ctx("decode vendor")?,
        aliases: parse_json_list("vendors.aliases", &aliases)?,
        vat_id: r.try_get("vat_id").ctx("decode vendor")?,
        ibans: parse_json_list("vendors.ibans", &ibans)?,
        payment_terms: r.try_get("payment_terms").ctx("decode vendor")?,
        currency: r.try_get("currency").ctx("decode vendor")?,
        email_domains: parse_json_list("vendors.email_domains", &domains)?,
        tolerances: tolerances_from(
            "vendors.tolerances",
            r.try_get("tolerances").ctx("decode vendor")?,
        )?,
    })
}

fn po_line_from_row(r: &AnyRow) -> Result<PoLine> {
    let quantity: String = r.try_get("quantity").ctx("decode purchase order line")?;
    let unit_price: String = r.try_get("unit_price").ctx("decode purchase order line")?;
    let tax_rate: Option<String> = r.try_get("tax_rate").ctx("decode purchase order line")?;
    Ok(PoLine {
        line_no: r.try_get("line_no").ctx("decode purchase order line")?,
        sku: r.try_get("sku").ctx("decode purchase order line")?,
        description: r.try_get("description").ctx("decode purchase order line")?,
        quantity: parse_decimal("po_lines.quantity", &quantity)?,
        unit: r.try_get("unit").ctx("decode purchase order line")?,
        unit_price: parse_decimal("po_lines.unit_price", &unit_price)?,
        tax_rate: super::parse_opt_decimal("po_lines.tax_rate", tax_rate)?,
    })
}

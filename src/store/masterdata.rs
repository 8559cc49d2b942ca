//! Vendors, purchase orders and goods receipts. Imports are upserts keyed by
//! the business id (vendor id, PO number, receipt id), and a PO's or
//! receipt's lines are replaced as a whole, so importing the same file twice
//! changes nothing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{QueryContext, Result, Store, now_ms, parse_date, parse_decimal, parse_json_list};
use crate::domain::{GoodsReceipt, PoLine, PoStatus, PurchaseOrder, Vendor};

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

impl Store {
    pub async fn upsert_vendor(&self, v: &Vendor) -> Result<()> {
        sqlx::query(
            "INSERT INTO vendors (vendor_id, name, aliases, vat_id, ibans, payment_terms, currency, email_domains, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (vendor_id) DO UPDATE SET name = excluded.name, aliases = excluded.aliases, \
             vat_id = excluded.vat_id, ibans = excluded.ibans, payment_terms = excluded.payment_terms, \
             currency = excluded.currency, email_domains = excluded.email_domains, updated_at = excluded.updated_at",
        )
        .bind(v.vendor_id.clone())
        .bind(v.name.clone())
        .bind(json_list(&v.aliases))
        .bind(v.vat_id.clone())
        .bind(json_list(&v.ibans))
        .bind(v.payment_terms.clone())
        .bind(v.currency.clone())
        .bind(json_list(&v.email_domains))
        .bind(now_ms())
        .execute(self.pool())
        .await
        .ctx("upsert a vendor")?;
        Ok(())
    }

    pub async fn vendors(&self) -> Result<Vec<Vendor>> {
        let rows = sqlx::query("SELECT * FROM vendors ORDER BY vendor_id")
            .fetch_all(self.pool())
            .await
            .ctx("list vendors")?;
        rows.iter().map(vendor_from_row).collect()
    }

    pub async fn upsert_purchase_order(&self, po: &PurchaseOrder) -> Result<()> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query(
            "INSERT INTO purchase_orders (po_number, vendor_id, currency, status, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (po_number) DO UPDATE SET vendor_id = excluded.vendor_id, \
             currency = excluded.currency, status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(po.po_number.clone())
        .bind(po.vendor_id.clone())
        .bind(po.currency.clone())
        .bind(po.status.as_str())
        .bind(now_ms())
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

    pub async fn purchase_order(&self, po_number: &str) -> Result<Option<PurchaseOrder>> {
        let Some(head) = sqlx::query("SELECT * FROM purchase_orders WHERE po_number = $1")
            .bind(po_number.to_string())
            .fetch_optional(self.pool())
            .await
            .ctx("read a purchase order")?
        else {
            return Ok(None);
        };
        let lines = sqlx::query("SELECT * FROM po_lines WHERE po_number = $1 ORDER BY line_no")
            .bind(po_number.to_string())
            .fetch_all(self.pool())
            .await
            .ctx("read purchase order lines")?;
        let status: String = head.try_get("status").ctx("decode purchase order")?;
        Ok(Some(PurchaseOrder {
            po_number: head.try_get("po_number").ctx("decode purchase order")?,
            vendor_id: head.try_get("vendor_id").ctx("decode purchase order")?,
            currency: head.try_get("currency").ctx("decode purchase order")?,
            status: PoStatus::parse(&status).ok_or(super::Error::Corrupt {
                column: "purchase_orders.status",
                value: status.clone(),
            })?,
            lines: lines.iter().map(po_line_from_row).collect::<Result<_>>()?,
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

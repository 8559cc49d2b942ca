//! Discrepancy injection: clean invoices built from the sample POs and
//! receipts must go through untouched; the same invoices with one
//! discrepancy injected must never be scheduled, and must carry the right
//! reason. Invoices are UBL e-invoices written here, so the whole pipeline
//! runs (read, extract, validate, match, route) and extraction noise does
//! not blur what is measured.

use std::collections::BTreeMap;

use apflow::domain::{DocumentId, InvoiceStatus, RawDocument, Source};
use apflow::workflow;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::helpers::{Db, TestDb, fresh, load_sample_master_data, repo_path};

#[derive(Debug, Clone)]
struct Line {
    sku: String,
    description: String,
    quantity: Decimal,
    unit_price: Decimal,
    tax_rate: Decimal,
}

#[derive(Debug, Clone)]
struct Invoice {
    number: String,
    vendor_name: String,
    vat_id: String,
    iban: String,
    currency: String,
    po_number: Option<String>,
    lines: Vec<Line>,
    /// Printed total when it should not add up.
    total_override: Option<Decimal>,
    /// Added to the net (BT-106, BT-109) and to the tax total (BT-110),
    /// with the total moved along so that net + tax = total still holds:
    /// amounts that no longer follow from the lines and the VAT breakdown.
    net_padding: Decimal,
    tax_padding: Decimal,
    /// Collected by SEPA direct debit (payment means 59, a mandate, the
    /// buyer's account) instead of paid by transfer.
    direct_debit: bool,
    /// Sent as a credit note (type 381, amounts positive as EN 16931
    /// writes them).
    type_code: &'static str,
    /// Paid in advance (BT-113): the amount due (BT-115) is the total less
    /// this.
    prepaid: Decimal,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Invoice {
    /// Net amount per VAT rate, as the VAT breakdown (BG-23) groups it.
    fn taxable_by_rate(&self) -> BTreeMap<Decimal, Decimal> {
        let mut by_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
        for l in &self.lines {
            *by_rate.entry(l.tax_rate.normalize()).or_default() +=
                (l.quantity * l.unit_price).round_dp(2);
        }
        by_rate
    }

    /// Net, tax and total as EN 16931 computes them: the tax per rate from
    /// that rate's net amount, rounded to the cent.
    fn amounts(&self) -> (Decimal, Decimal, Decimal) {
        let by_rate = self.taxable_by_rate();
        let net: Decimal = by_rate.values().sum();
        let tax: Decimal = by_rate
            .iter()
            .map(|(rate, taxable)| (taxable * rate / Decimal::ONE_HUNDRED).round_dp(2))
            .sum();
        let (net, tax) = (net + self.net_padding, tax + self.tax_padding);
        (net, tax, self.total_override.unwrap_or(net + tax))
    }

    /// A valid EN 16931 UBL 2.1 invoice (what a vendor's ERP sends).
    fn ubl(&self) -> Vec<u8> {
        let (net, tax, total) = self.amounts();
        let c = &self.currency;
        let country: String = self.vat_id.chars().take(2).collect();
        let mut x = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
<cbc:ID>{}</cbc:ID><cbc:IssueDate>2026-03-20</cbc:IssueDate><cbc:DueDate>2026-04-19</cbc:DueDate>
<cbc:InvoiceTypeCode>{}</cbc:InvoiceTypeCode><cbc:DocumentCurrencyCode>{c}</cbc:DocumentCurrencyCode>"#,
            esc(&self.number),
            self.type_code
        );
        if let Some(po) = &self.po_number {
            x.push_str(&format!(
                "<cac:OrderReference><cbc:ID>{}</cbc:ID></cac:OrderReference>",
                esc(po)
            ));
        }
        let subtotals: String = self
            .taxable_by_rate()
            .iter()
            .map(|(rate, taxable)| {
                format!(
                    r#"<cac:TaxSubtotal><cbc:TaxableAmount currencyID="{c}">{taxable}</cbc:TaxableAmount><cbc:TaxAmount currencyID="{c}">{}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>"#,
                    (taxable * rate / Decimal::ONE_HUNDRED).round_dp(2)
                )
            })
            .collect();
        x.push_str(&format!(
            r#"<cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>{name}</cbc:Name></cac:PartyName>
<cac:PostalAddress><cbc:CityName>Vendorville</cbc:CityName><cac:Country><cbc:IdentificationCode>{country}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyTaxScheme><cbc:CompanyID>{vat}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
<cac:PartyLegalEntity><cbc:RegistrationName>{name}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party><cac:PostalAddress><cbc:CityName>Hamburg</cbc:CityName><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyLegalEntity><cbc:RegistrationName>apflow Demo GmbH</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
{payment_means}
<cac:TaxTotal><cbc:TaxAmount currencyID="{c}">{tax}</cbc:TaxAmount>{subtotals}</cac:TaxTotal>
<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="{c}">{net}</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount currencyID="{c}">{net}</cbc:TaxExclusiveAmount>
<cbc:TaxInclusiveAmount currencyID="{c}">{total}</cbc:TaxInclusiveAmount><cbc:PrepaidAmount currencyID="{c}">{prepaid}</cbc:PrepaidAmount><cbc:PayableAmount currencyID="{c}">{payable}</cbc:PayableAmount></cac:LegalMonetaryTotal>"#,
            prepaid = self.prepaid,
            payable = total - self.prepaid,
            name = esc(&self.vendor_name),
            vat = esc(&self.vat_id),
            payment_means = if self.direct_debit {
                "<cac:PaymentMeans><cbc:PaymentMeansCode>59</cbc:PaymentMeansCode><cac:PaymentMandate><cbc:ID>MANDATE-7</cbc:ID><cac:PayerFinancialAccount><cbc:ID>DE75512108001245126199</cbc:ID></cac:PayerFinancialAccount></cac:PaymentMandate></cac:PaymentMeans>".to_string()
            } else {
                format!("<cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode><cac:PayeeFinancialAccount><cbc:ID>{}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>", esc(&self.iban))
            },
        ));
        for (i, l) in self.lines.iter().enumerate() {
            x.push_str(&format!(
                r#"<cac:InvoiceLine><cbc:ID>{}</cbc:ID><cbc:InvoicedQuantity unitCode="C62">{}</cbc:InvoicedQuantity>
<cbc:LineExtensionAmount currencyID="{c}">{}</cbc:LineExtensionAmount><cac:Item><cbc:Name>{}</cbc:Name>
<cac:SellersItemIdentification><cbc:ID>{}</cbc:ID></cac:SellersItemIdentification>
<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
<cac:Price><cbc:PriceAmount currencyID="{c}">{}</cbc:PriceAmount></cac:Price></cac:InvoiceLine>"#,
                i + 1,
                l.quantity,
                (l.quantity * l.unit_price).round_dp(2),
                esc(&l.description),
                esc(&l.sku),
                l.tax_rate,
                l.unit_price
            ));
        }
        x.push_str("</Invoice>\n");
        x.into_bytes()
    }
}

fn jsonl(name: &str) -> Vec<Value> {
    std::fs::read_to_string(repo_path(&format!("samples/{name}")))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .map_or_else(|| v.to_string(), str::to_string)
        .parse()
        .unwrap()
}

/// One clean invoice per sample PO with goods received: it bills what was
/// received, at the PO's prices, from the vendor's verified account.
fn clean_invoices() -> Vec<Invoice> {
    let vendors: BTreeMap<String, Value> = jsonl("vendors.jsonl")
        .into_iter()
        .map(|v| (v["vendor_id"].as_str().unwrap().to_string(), v))
        .collect();
    let mut received: BTreeMap<(String, i64), Decimal> = BTreeMap::new();
    for r in jsonl("receipts.jsonl") {
        for l in r["lines"].as_array().unwrap() {
            *received
                .entry((
                    r["po_number"].as_str().unwrap().to_string(),
                    l["line_no"].as_i64().unwrap(),
                ))
                .or_default() += dec(&l["quantity"]);
        }
    }
    let mut out = Vec::new();
    for (n, po) in jsonl("pos.jsonl").into_iter().enumerate() {
        let number = po["po_number"].as_str().unwrap().to_string();
        let v = &vendors[po["vendor_id"].as_str().unwrap()];
        let lines: Vec<Line> = po["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let got = received
                    .get(&(number.clone(), l["line_no"].as_i64().unwrap()))
                    .copied()?;
                Some(Line {
                    sku: l["sku"].as_str().unwrap().to_string(),
                    description: l["description"].as_str().unwrap().to_string(),
                    quantity: got.min(dec(&l["quantity"])),
                    unit_price: dec(&l["unit_price"]),
                    tax_rate: dec(&l["tax_rate"]),
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        out.push(Invoice {
            number: format!("INJ-2026-{:04}", n + 1),
            vendor_name: v["name"].as_str().unwrap().to_string(),
            vat_id: v["vat_id"].as_str().unwrap().to_string(),
            iban: v["ibans"][0].as_str().unwrap().to_string(),
            currency: po["currency"].as_str().unwrap().to_string(),
            po_number: Some(number),
            lines,
            total_override: None,
            net_padding: Decimal::ZERO,
            tax_padding: Decimal::ZERO,
            direct_debit: false,
            type_code: "380",
            prepaid: Decimal::ZERO,
        });
    }
    out
}

async fn ingest(t: &TestDb, inv: &Invoice) -> (InvoiceStatus, Vec<String>) {
    let doc = crate::helpers::process_upload(t, &format!("{}.xml", inv.number), inv.ubl()).await;
    outcome(t, doc).await
}

async fn outcome(t: &TestDb, doc: DocumentId) -> (InvoiceStatus, Vec<String>) {
    let meta = t.store.document_meta(doc).await.unwrap().unwrap();
    let id = t
        .store
        .invoice_for_document(doc)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no invoice: {:?}", meta.reason));
    let s = t.store.invoice_summary(id).await.unwrap().unwrap();
    (s.status, s.reasons)
}

type Injection = (
    &'static str,
    &'static str,
    fn(&mut Vec<Invoice>, &[Invoice]),
);

/// Each injection changes the clean invoices (the first is the victim; the
/// others may serve as an earlier invoice) and names the reason expected.
fn injections() -> Vec<Injection> {
    vec![
        ("price +3%", "price_variance", |v, _| {
            let l = &mut v[0].lines[0];
            l.unit_price = (l.unit_price * Decimal::new(103, 2)).round_dp(2);
        }),
        (
            "short receipt: billed more than received",
            "quantity_exceeds_received",
            |v, _| {
                v[0].lines[0].quantity += Decimal::ONE;
            },
        ),
        ("new IBAN", "bank_details_changed", |v, _| {
            v[0].iban = "DE89370400440532013000".into()
        }),
        ("wrong PO: another vendor's", "vendor_mismatch", |v, all| {
            let other = all.iter().find(|i| i.vat_id != v[0].vat_id).unwrap();
            v[0].po_number = other.po_number.clone();
        }),
        ("unknown PO", "po_not_found", |v, _| {
            v[0].po_number = Some("PO-1999-0001".into())
        }),
        ("total does not add up", "totals_mismatch", |v, _| {
            let (_, _, total) = v[0].amounts();
            v[0].total_override = Some(total + Decimal::new(1000, 2));
        }),
        // Net + tax = total holds in these two; only the standard's rules
        // (BR-CO-10, BR-CO-14) see that the amounts do not follow from the
        // lines and the VAT breakdown.
        ("net inflated past its lines", "einvoice_invalid", |v, _| {
            v[0].net_padding = Decimal::new(50000, 2);
        }),
        (
            "tax inflated past its breakdown",
            "einvoice_invalid",
            |v, _| {
                v[0].tax_padding = Decimal::new(9500, 2);
            },
        ),
        // The vendor pulls the money itself; a transfer to its verified
        // account on top would pay the invoice twice.
        ("collected by direct debit", "direct_debit", |v, _| {
            v[0].direct_debit = true;
        }),
        // EN 16931 writes a credit note's amounts positive: paid as an
        // invoice, the vendor would get what it owes.
        ("a credit note for the same goods", "credit_note", |v, _| {
            v[0].type_code = "381";
        }),
        // A negative prepayment raises the amount due above the total,
        // arithmetic that BR-CO-16 accepts.
        ("amount due above the total", "totals_mismatch", |v, _| {
            v[0].prepaid = Decimal::new(-50000, 2);
        }),
        ("tax rate differs from the PO", "tax_mismatch", |v, _| {
            v[0].lines[0].tax_rate += Decimal::ONE
        }),
        ("unknown vendor", "vendor_unknown", |v, _| {
            v[0].vendor_name = "Phantom Supplies GmbH".into();
            v[0].vat_id = "DE999999999".into();
            v[0].iban = "DE02120300000000202051".into();
        }),
    ]
}

#[tokio::test]
async fn clean_invoices_go_through_and_injected_ones_never_do() {
    // SQLite: a fresh database per case is cheap there. The SQL these
    // decisions use runs on PostgreSQL in the pipeline and queue tests.
    {
        let db = Db::Sqlite;
        let clean = clean_invoices();
        assert!(clean.len() >= 5, "enough clean cases: {}", clean.len());
        // Clean half: each on a fresh database, all touchless.
        let mut touchless = 0;
        for inv in &clean {
            let t = fresh(db).await;
            load_sample_master_data(&t.store).await;
            let (status, reasons) = ingest(&t, inv).await;
            if status == InvoiceStatus::Scheduled {
                touchless += 1;
            } else {
                eprintln!(
                    "{db:?} clean {} ({:?}) not touchless: {status:?} {reasons:?}",
                    inv.number, inv.po_number
                );
            }
        }
        // Injected half: every injection on every clean invoice it applies to.
        let mut injected = 0;
        let mut false_approvals = Vec::new();
        let mut wrong_reason = Vec::new();
        for (name, want, inject) in injections() {
            for k in 0..clean.len() {
                let mut set = clean.clone();
                set.rotate_left(k);
                inject(&mut set, &clean);
                let t = fresh(db).await;
                load_sample_master_data(&t.store).await;
                let (status, reasons) = ingest(&t, &set[0]).await;
                injected += 1;
                if status == InvoiceStatus::Scheduled {
                    false_approvals.push(format!("{name} on {}", set[0].number));
                } else if !reasons.iter().any(|r| r == want) {
                    wrong_reason.push(format!("{name} on {}: {reasons:?}", set[0].number));
                }
            }
        }
        // Two-invoice injections: a renumbered resubmission, and billing
        // the same receipt twice in two halves plus one.
        for original in &clean {
            let t = fresh(db).await;
            load_sample_master_data(&t.store).await;
            let first = original.clone();
            assert_eq!(ingest(&t, &first).await.0, InvoiceStatus::Scheduled);
            let mut again = first.clone();
            again.number = first.number.to_lowercase().replace('-', " ");
            let (status, reasons) = ingest(&t, &again).await;
            injected += 1;
            if status == InvoiceStatus::Scheduled {
                false_approvals.push(format!("resubmission {} as {}", first.number, again.number));
            } else if status != InvoiceStatus::Duplicate || reasons != ["duplicate_invoice"] {
                wrong_reason.push(format!(
                    "resubmission {}: {status:?} {reasons:?}",
                    again.number
                ));
            }

            // A credit note of the vendor's own (never approved, it waits
            // on the queue) must not make room to bill the same goods a
            // second time.
            let t = fresh(db).await;
            load_sample_master_data(&t.store).await;
            assert_eq!(ingest(&t, original).await.0, InvoiceStatus::Scheduled);
            let mut credit = original.clone();
            credit.number = format!("{}-CN", original.number);
            credit.type_code = "381";
            assert_ne!(ingest(&t, &credit).await.0, InvoiceStatus::Scheduled);
            let mut rebill = original.clone();
            rebill.number = format!("{}-R", original.number);
            let (status, reasons) = ingest(&t, &rebill).await;
            injected += 1;
            if status == InvoiceStatus::Scheduled {
                false_approvals.push(format!(
                    "billed again after a credit note: {}",
                    rebill.number
                ));
            } else if !reasons.iter().any(|r| r == "over_billed_cumulative") {
                wrong_reason.push(format!(
                    "billed again after a credit note {}: {reasons:?}",
                    rebill.number
                ));
            }

            let t = fresh(db).await;
            load_sample_master_data(&t.store).await;
            let mut a = original.clone();
            a.number = format!("{}-A", original.number);
            a.lines.truncate(1);
            let whole = a.lines[0].quantity;
            let half = (whole / Decimal::TWO).floor();
            if half.is_zero() {
                continue;
            }
            a.lines[0].quantity = half;
            let mut b = a.clone();
            b.number = format!("{}-B", original.number);
            b.lines[0].quantity = whole - half + Decimal::ONE;
            assert_eq!(
                ingest(&t, &a).await.0,
                InvoiceStatus::Scheduled,
                "first half of {}",
                original.number
            );
            let (status, reasons) = ingest(&t, &b).await;
            injected += 1;
            if status == InvoiceStatus::Scheduled {
                false_approvals.push(format!("over-billing across two invoices on {}", b.number));
            } else if !reasons.iter().any(|r| r == "over_billed_cumulative") {
                wrong_reason.push(format!("over-billing {}: {reasons:?}", b.number));
            }
        }
        eprintln!(
            "{db:?}: clean {touchless}/{} touchless; injected {injected}, false approvals {}, wrong reasons {}",
            clean.len(),
            false_approvals.len(),
            wrong_reason.len()
        );
        assert!(
            false_approvals.is_empty(),
            "{db:?} false approvals: {false_approvals:#?}"
        );
        assert!(
            wrong_reason.is_empty(),
            "{db:?} wrong reasons: {wrong_reason:#?}"
        );
        assert_eq!(
            touchless,
            clean.len(),
            "{db:?}: every clean invoice is touchless"
        );
    }
}

/// Two invoices that each fit the receipt but not together, decided at the
/// same time by two workers: at most one may end up scheduled.
#[tokio::test]
async fn parallel_workers_never_approve_two_claims_that_exceed_the_receipt() {
    let base = clean_invoices()
        .into_iter()
        .find(|i| i.lines[0].quantity >= Decimal::TWO)
        .expect("a clean invoice with quantity >= 2");
    for round in 0..6 {
        let t = fresh(Db::Sqlite).await;
        load_sample_master_data(&t.store).await;
        let mut a = base.clone();
        a.lines.truncate(1);
        let whole = a.lines[0].quantity;
        a.lines[0].quantity = whole - Decimal::ONE;
        a.number = format!("PAR-{round}-A");
        let mut b = a.clone();
        b.number = format!("PAR-{round}-B");
        b.lines[0].quantity = Decimal::TWO;
        let mut docs = Vec::new();
        for inv in [&a, &b] {
            let raw = RawDocument {
                filename: format!("{}.xml", inv.number),
                bytes: inv.ubl(),
                source: Source::Upload,
            };
            docs.push(
                workflow::receive_document(&t.store, &raw, &t.settings)
                    .await
                    .unwrap()
                    .document_id,
            );
        }
        workflow::drain(&t.store, &t.settings, &docs).await.unwrap();
        let mut scheduled = 0;
        for d in &docs {
            if outcome(&t, *d).await.0 == InvoiceStatus::Scheduled {
                scheduled += 1;
            }
        }
        assert!(scheduled <= 1, "round {round}: both claims approved");
    }
}

/// An e-invoice with a prepayment (BT-113) asks only for the rest
/// (BT-115). Paying its total paid the prepayment twice; now the planned
/// payment is the amount due, the payment run accepts it against the
/// invoice, and one paid in full in advance is not paid at all.
#[tokio::test]
async fn a_prepaid_einvoice_is_paid_what_is_due_not_its_total() {
    for db in crate::helpers::BOTH {
        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let mut inv = clean_invoices().remove(0);
        let (_, _, total) = inv.amounts();
        inv.prepaid = Decimal::new(10000, 2);
        let (status, reasons) = ingest(&t, &inv).await;
        assert_eq!(status, InvoiceStatus::Scheduled, "{db:?}: {reasons:?}");
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let (amount, discount): (String, String) =
            sqlx::query_as("SELECT amount, discount FROM payments")
                .fetch_one(&pool)
                .await
                .unwrap();
        let paid: Decimal =
            amount.parse::<Decimal>().unwrap() + discount.parse::<Decimal>().unwrap();
        assert_eq!(
            paid,
            total - inv.prepaid,
            "{db:?}: the payment settles what is due"
        );
        let outcome = apflow::workflow::payments::create_run(
            &t.store,
            &t.settings,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            &inv.currency,
            apflow::payment::sepa::PainVersion::V03,
            "test",
        )
        .await
        .unwrap();
        assert_eq!(outcome.refused.len(), 0, "{db:?}: {:?}", outcome.refused);
        assert_eq!(outcome.paid.len(), 1, "{db:?}");

        let t = fresh(db).await;
        load_sample_master_data(&t.store).await;
        let mut all_paid = clean_invoices().remove(0);
        all_paid.prepaid = total;
        let (status, reasons) = ingest(&t, &all_paid).await;
        assert_ne!(status, InvoiceStatus::Scheduled, "{db:?}");
        assert!(
            reasons.iter().any(|r| r == "nothing_due"),
            "{db:?}: {reasons:?}"
        );
        pool.close().await;
    }
}

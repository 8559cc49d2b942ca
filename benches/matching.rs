//! Matching latency with a large purchasing history in the store.
//!
//!     cargo bench --bench matching -- [sqlite|postgres] [PO_LINES] [INVOICES]
//!
//! Loads PO_LINES open purchase-order lines (default 1,000,000: 50,000 POs
//! of 20 lines over 1,000 vendors) with goods receipts for every line, then
//! matches INVOICES invoices of 20 lines (default 2,000) the way the
//! `decide` step does (`workflow::match_with_store`: PO, receipts and
//! billed-so-far from the store, then line assignment and checks) and
//! prints latency percentiles. Extraction is not included. PostgreSQL uses
//! `APFLOW_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres)
//! and a scratch database `apflow_bench` on it.

use std::time::{Duration, Instant};

use apflow::config::Settings;
use apflow::domain::*;
use apflow::store::Store;
use rust_decimal::Decimal;
use sqlx::Connection;

const LINES_PER_PO: usize = 20;
const VENDORS: usize = 1000;
const NOUNS: &[&str] = &[
    "paper", "toner", "chair", "desk", "lamp", "cable", "monitor", "keyboard", "mouse", "folder",
    "stapler", "marker", "notebook", "headset", "dock", "charger", "router", "switch", "rack",
    "shelf",
];
const KINDS: &[&str] = &[
    "standard",
    "premium",
    "compact",
    "ergonomic",
    "wireless",
    "recycled",
    "heavy-duty",
    "slim",
    "XL",
    "pro",
];

/// A small deterministic generator (no dependency for a benchmark).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n
    }
}

fn po_number(i: usize) -> String {
    format!("PO-{i:07}")
}

fn purchase_order(i: usize, rng: &mut Lcg) -> PurchaseOrder {
    let lines = (1..=LINES_PER_PO)
        .map(|l| PoLine {
            line_no: l as i64,
            sku: Some(format!("SKU-{i}-{l}")),
            description: format!(
                "{} {} {}",
                KINDS[rng.below(KINDS.len())],
                NOUNS[(i + l) % NOUNS.len()],
                l
            ),
            quantity: Decimal::from(1 + rng.below(50)),
            unit: Some("pcs".into()),
            unit_price: Decimal::new(100 + rng.below(100_000) as i64, 2),
            tax_rate: Some(Decimal::from(19)),
        })
        .collect();
    PurchaseOrder {
        po_number: po_number(i),
        vendor_id: format!("V{:04}", i % VENDORS),
        currency: "EUR".into(),
        status: PoStatus::Open,
        lines,
        tolerances: ToleranceOverride::default(),
    }
}

fn invoice_for(po: &PurchaseOrder, with_sku: bool) -> ExtractedInvoice {
    let mut inv = ExtractedInvoice::empty(ExtractionSource::EInvoice);
    inv.po_number = Some(Field::exact(po.po_number.clone()));
    inv.currency = Some(Field::exact("EUR".into()));
    inv.line_items = po
        .lines
        .iter()
        .rev()
        .map(|l| LineItem {
            sku: with_sku.then(|| l.sku.clone()).flatten(),
            description: Some(l.description.clone()),
            quantity: Some(l.quantity),
            unit_price: Some(l.unit_price),
            tax_rate: l.tax_rate,
            amount: Some((l.quantity * l.unit_price).round_dp(2)),
            confidence: 1.0,
            ..LineItem::default()
        })
        .collect();
    inv
}

fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let at = |p: f64| d[((d.len() as f64 * p) as usize).min(d.len() - 1)].as_secs_f64() * 1000.0;
    format!(
        "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let backend = args.first().map_or("sqlite", String::as_str).to_string();
    let total_lines: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let invoices: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend.as_str() {
        "postgres" => {
            sqlx::any::install_default_drivers();
            let admin = std::env::var("APFLOW_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut c = sqlx::AnyConnection::connect(&admin)
                .await
                .expect("PostgreSQL reachable");
            sqlx::query("DROP DATABASE IF EXISTS apflow_bench")
                .execute(&mut c)
                .await
                .expect("drop");
            sqlx::query("CREATE DATABASE apflow_bench")
                .execute(&mut c)
                .await
                .expect("create");
            format!(
                "{}/apflow_bench",
                admin.rsplit_once('/').expect("url with database").0
            )
        }
        _ => format!("sqlite://{}/bench.db", dir.path().display()),
    };
    let store = Store::connect(&url).await.expect("store");
    let pos_count = total_lines / LINES_PER_PO;
    let mut rng = Lcg(42);
    let started = Instant::now();
    let all: Vec<PurchaseOrder> = (0..pos_count)
        .map(|i| purchase_order(i, &mut rng))
        .collect();
    for pos in all.chunks(5000) {
        let receipts: Vec<GoodsReceipt> = pos
            .iter()
            .map(|po| GoodsReceipt {
                receipt_id: format!("GR-{}", po.po_number),
                po_number: po.po_number.clone(),
                received_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).expect("date"),
                lines: po
                    .lines
                    .iter()
                    .map(|l| ReceiptLine {
                        line_no: l.line_no,
                        quantity: l.quantity,
                    })
                    .collect(),
            })
            .collect();
        store.upsert_purchase_orders(pos).await.expect("load POs");
        store
            .upsert_goods_receipts(&receipts)
            .await
            .expect("load receipts");
    }
    println!(
        "{backend}: loaded {} PO lines ({} POs) and as many receipt lines in {:.1} s",
        pos_count * LINES_PER_PO,
        pos_count,
        started.elapsed().as_secs_f64()
    );

    let settings = Settings::default();
    let mut rng = Lcg(7);
    for (label, with_sku) in [("by article number", true), ("by description only", false)] {
        let mut store_and_match = Vec::with_capacity(invoices);
        let mut match_only = Vec::with_capacity(invoices);
        let mut clean = 0;
        for _ in 0..invoices {
            let po = &all[rng.below(pos_count)];
            let inv = invoice_for(po, with_sku);
            let vendor = Vendor {
                vendor_id: po.vendor_id.clone(),
                name: po.vendor_id.clone(),
                aliases: vec![],
                vat_id: None,
                ibans: vec![],
                payment_terms: None,
                currency: None,
                email_domains: vec![],
                tolerances: ToleranceOverride::default(),
            };
            let t = Instant::now();
            let result = apflow::workflow::match_with_store(
                &store,
                &inv,
                Some(&vendor),
                InvoiceId(0),
                &settings,
            )
            .await
            .expect("match");
            store_and_match.push(t.elapsed());
            if result.findings.is_empty() {
                clean += 1;
            }
            let state = apflow::matching::PoState {
                po: po.clone(),
                received: po.lines.iter().map(|l| (l.line_no, l.quantity)).collect(),
                billed: Default::default(),
            };
            let lookup = apflow::matching::PoLookup::Quoted {
                number: po.po_number.clone(),
                po: Some(Box::new(state)),
            };
            let t = Instant::now();
            std::hint::black_box(apflow::matching::match_invoice(
                &inv,
                Some(&po.vendor_id),
                &lookup,
                &settings.tolerances,
            ));
            match_only.push(t.elapsed());
        }
        println!("{backend}: {invoices} invoices of {LINES_PER_PO} lines, {label}: {clean} clean");
        println!("  store + match: {}", percentiles(store_and_match));
        println!("  match only:    {}", percentiles(match_only));
    }
}

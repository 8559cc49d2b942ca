//! The review queue as the pages ask for it: one view, searched, filtered,
//! sorted and paged in SQL (keyset pagination: the page after a row, never
//! an offset), with the page's reasons in one query. A page never loads
//! every invoice, however many years of them the store holds.

use rust_decimal::Decimal;
use sqlx::Row;

use super::invoices::InvoiceSummary;
use super::{QueryContext, Result, Store};
use crate::domain::InvoiceId;

/// Which invoices a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueView {
    /// On the review or approval queue, or on hold.
    Open,
    /// On the review queue and assigned to the person asking.
    Mine,
    Review,
    /// Waiting for approval, and this person may approve them: they did
    /// not correct them, send them or approve them already.
    Approval,
    Hold,
    Rejected,
    /// Scheduled for payment or paid.
    Scheduled,
    Duplicates,
    All,
}

/// The order of a view; every order ends with the invoice id, so it is a
/// total order and a page can start after any row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueSort {
    /// Due date, soonest first; invoices without one last.
    Due,
    /// Total, largest first.
    Amount,
    /// Arrival, oldest first.
    Age,
}

impl QueueSort {
    /// The sort key as SQL: ascending, never NULL.
    fn key(self) -> &'static str {
        match self {
            QueueSort::Due => "COALESCE(i.due_date, '9999-12-31')",
            // Largest first as an ascending key; a total is a decimal
            // apflow wrote, so the cast cannot fail.
            QueueSort::Amount => "(0 - COALESCE(CAST(i.total_amount AS DOUBLE PRECISION), -1))",
            QueueSort::Age => "d.received_at",
        }
    }
}

/// Where a page starts: after the row with this sort key and id.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Text(String),
    Number(f64),
    Int(i64),
}

/// A view as a person asks for it.
#[derive(Debug, Clone)]
pub struct QueueFilter {
    pub view: QueueView,
    /// Who asks (for "mine" and "waiting for my approval").
    pub user_id: i64,
    pub username: String,
    /// Whether the person may approve at all (approver or admin).
    pub may_approve: bool,
    /// Only invoices with this reason code.
    pub reason: Option<String>,
    /// Words found in the vendor's name, the invoice number or the PO
    /// number (any case).
    pub search: Option<String>,
    /// The search read as an amount: the invoice's total.
    pub amount: Option<Decimal>,
    pub sort: QueueSort,
}

enum Bind {
    Text(String),
    Int(i64),
    Number(f64),
}

/// The WHERE clause of a filter and its bound values, numbered from `$1`.
struct Conditions {
    sql: Vec<String>,
    binds: Vec<Bind>,
    /// The search reads the vendor's name: the name tables are joined.
    names: bool,
}

impl Conditions {
    /// The tables a count needs: the vendor's name only for a search.
    fn from(&self) -> &'static str {
        if self.names {
            super::invoices::SUMMARY_FROM
        } else {
            " FROM invoices i JOIN documents d ON d.id = i.document_id"
        }
    }
}

impl Conditions {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
}

fn conditions(f: &QueueFilter) -> Conditions {
    let mut c = Conditions {
        sql: Vec::new(),
        binds: Vec::new(),
        names: false,
    };
    let status = match f.view {
        QueueView::Open => "i.status IN ('needs_review', 'awaiting_approval', 'on_hold')",
        QueueView::Mine | QueueView::Review => "i.status = 'needs_review'",
        QueueView::Approval => "i.status = 'awaiting_approval'",
        QueueView::Hold => "i.status = 'on_hold'",
        QueueView::Rejected => "i.status = 'rejected'",
        QueueView::Scheduled => "i.status IN ('scheduled', 'paid')",
        QueueView::Duplicates => "i.status = 'duplicate'",
        QueueView::All => "1 = 1",
    };
    c.sql.push(status.into());
    if f.view == QueueView::Mine {
        let me = c.bind(Bind::Text(f.username.clone()));
        c.sql.push(format!(
            "EXISTS (SELECT 1 FROM review_tasks rt WHERE rt.invoice_id = i.id AND rt.state = 'open' AND rt.assigned_to = {me})"
        ));
    }
    if f.view == QueueView::Approval {
        if f.may_approve {
            let me = c.bind(Bind::Int(f.user_id));
            c.sql.push(format!(
                "NOT EXISTS (SELECT 1 FROM corrections c WHERE c.invoice_id = i.id AND c.user_id = {me}) \
                 AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.invoice_id = i.id AND a.decided_at IS NULL AND a.requested_by = {me}) \
                 AND NOT EXISTS (SELECT 1 FROM approval_steps s WHERE s.invoice_id = i.id AND s.approver_id = {me} \
                   AND s.at >= (SELECT MAX(a2.requested_at) FROM approvals a2 WHERE a2.invoice_id = i.id))"
            ));
        } else {
            c.sql.push("1 = 0".into());
        }
    }
    if let Some(reason) = f.reason.as_deref().filter(|r| !r.is_empty()) {
        let r = c.bind(Bind::Text(reason.to_string()));
        c.sql.push(format!(
            "EXISTS (SELECT 1 FROM discrepancies dd WHERE dd.invoice_id = i.id AND dd.code = {r})"
        ));
    }
    if let Some(words) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped: String = words
            .to_lowercase()
            .chars()
            .flat_map(|ch| match ch {
                '%' | '_' | '\\' => vec!['\\', ch],
                ch => vec![ch],
            })
            .collect();
        c.names = true;
        let like = c.bind(Bind::Text(format!("%{escaped}%")));
        let mut any = vec![
            format!("LOWER(COALESCE(v.name, f.value, '')) LIKE {like} ESCAPE '\\'"),
            format!("LOWER(COALESCE(i.invoice_number, '')) LIKE {like} ESCAPE '\\'"),
            format!("LOWER(COALESCE(i.po_number, '')) LIKE {like} ESCAPE '\\'"),
        ];
        if let Some(a) = f.amount {
            // Totals are stored as apflow writes decimals: `2302.17`,
            // `1245.00`, `90`.
            let exact = c.bind(Bind::Text(a.to_string()));
            let cents = c.bind(Bind::Text(format!("{:.2}", a)));
            let plain = c.bind(Bind::Text(a.normalize().to_string()));
            any.push(format!("i.total_amount IN ({exact}, {cents}, {plain})"));
        }
        c.sql.push(format!("({})", any.join(" OR ")));
    }
    c
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(n) => q.bind(*n),
            Bind::Number(x) => q.bind(*x),
        };
    }
    q
}

fn key_bind(key: &SortKey) -> Bind {
    match key {
        SortKey::Text(s) => Bind::Text(s.clone()),
        SortKey::Number(x) => Bind::Number(*x),
        SortKey::Int(n) => Bind::Int(*n),
    }
}

/// One page of a view.
#[derive(Debug, Clone)]
pub struct QueuePage {
    pub rows: Vec<InvoiceSummary>,
    /// Where the next page starts, when there is one.
    pub next: Option<(SortKey, i64)>,
}

impl Store {
    /// Up to `limit` invoices of the view, after `after` (a row's sort key
    /// and id), with their reasons.
    pub async fn queue_page(
        &self,
        f: &QueueFilter,
        after: Option<&(SortKey, i64)>,
        limit: i64,
    ) -> Result<QueuePage> {
        let mut c = conditions(f);
        let key = f.sort.key();
        if let Some((k, id)) = after {
            let k = c.bind(key_bind(k));
            let id = c.bind(Bind::Int(*id));
            c.sql.push(format!("({key}, i.id) > ({k}, {id})"));
        }
        let limit_at = c.bind(Bind::Int(limit + 1));
        let sql = format!(
            "{}, {key} AS sort_key{} WHERE {} ORDER BY {key}, i.id LIMIT {limit_at}",
            super::invoices::SUMMARY_COLUMNS,
            super::invoices::SUMMARY_FROM,
            c.sql.join(" AND "),
        );
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &c.binds)
            .fetch_all(self.pool())
            .await
            .ctx("read a queue page")?;
        let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in rows
            .iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            out.push(self.summary_without_reasons(r)?);
            last = Some((sort_key(f.sort, r)?, out.last().map_or(0, |s| s.id.0)));
        }
        self.fill_reasons(&mut out).await?;
        Ok(QueuePage {
            rows: out,
            next: if more { last } else { None },
        })
    }

    /// The invoices before and after `invoice` in the view, and its place
    /// (1-based) and the view's size: the invoice page's previous / next.
    pub async fn queue_neighbours(
        &self,
        f: &QueueFilter,
        invoice: InvoiceId,
    ) -> Result<Neighbours> {
        let key = f.sort.key();
        let mut c = conditions(f);
        let total_sql = format!("SELECT COUNT(*){} WHERE {}", c.from(), c.sql.join(" AND "));
        let total: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(total_sql)), &c.binds)
            .fetch_one(self.pool())
            .await
            .ctx("count a queue")?
            .try_get(0)
            .ctx("count a queue")?;
        // The invoice's own key, whether or not it is in the view.
        let own = format!(
            "SELECT {key} AS sort_key FROM invoices i JOIN documents d ON d.id = i.document_id WHERE i.id = $1"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(own))
            .bind(invoice.0)
            .fetch_optional(self.pool())
            .await
            .ctx("read an invoice's place in a queue")?
        else {
            return Ok(Neighbours {
                total,
                ..Neighbours::default()
            });
        };
        let k = sort_key(f.sort, &row)?;
        let kb = c.bind(key_bind(&k));
        let idb = c.bind(Bind::Int(invoice.0));
        let base = format!("SELECT i.id{} WHERE {}", c.from(), c.sql.join(" AND "));
        let one = |sql: String| {
            let binds = &c.binds;
            async move {
                let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
                    .fetch_optional(self.pool())
                    .await
                    .ctx("read a queue neighbour")?;
                row.map(|r| r.try_get::<i64, _>(0).ctx("read a queue neighbour"))
                    .transpose()
            }
        };
        let next = one(format!(
            "{base} AND ({key}, i.id) > ({kb}, {idb}) ORDER BY {key}, i.id LIMIT 1"
        ))
        .await?;
        let prev = one(format!(
            "{base} AND ({key}, i.id) < ({kb}, {idb}) ORDER BY {key} DESC, i.id DESC LIMIT 1"
        ))
        .await?;
        let before_sql =
            format!("SELECT COUNT(*) FROM ({base} AND ({key}, i.id) < ({kb}, {idb})) b");
        let before: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(before_sql)), &c.binds)
            .fetch_one(self.pool())
            .await
            .ctx("count a queue")?
            .try_get(0)
            .ctx("count a queue")?;
        Ok(Neighbours {
            prev: prev.map(InvoiceId),
            next: next.map(InvoiceId),
            position: Some(before + 1),
            total,
        })
    }

    /// How many invoices each view holds for this person (search and
    /// reason aside): the queue's tabs.
    pub async fn queue_counts(&self, f: &QueueFilter) -> Result<Vec<(QueueView, i64)>> {
        let mut out = Vec::new();
        for view in [
            QueueView::Open,
            QueueView::Mine,
            QueueView::Review,
            QueueView::Approval,
            QueueView::Hold,
            QueueView::Rejected,
            QueueView::Scheduled,
            QueueView::Duplicates,
            QueueView::All,
        ] {
            let v = QueueFilter {
                view,
                reason: None,
                search: None,
                amount: None,
                ..f.clone()
            };
            let c = conditions(&v);
            let sql = format!(
                "SELECT COUNT(*) FROM invoices i WHERE {}",
                c.sql.join(" AND ")
            );
            let n: i64 = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)), &c.binds)
                .fetch_one(self.pool())
                .await
                .ctx("count a queue view")?
                .try_get(0)
                .ctx("count a queue view")?;
            out.push((view, n));
        }
        Ok(out)
    }

    /// The reasons of these invoices in one query, in the order found.
    async fn fill_reasons(&self, rows: &mut [InvoiceSummary]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let list = (1..=rows.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT invoice_id, code FROM discrepancies WHERE invoice_id IN ({list}) ORDER BY invoice_id, id"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in rows.iter() {
            q = q.bind(r.id.0);
        }
        let found = q
            .fetch_all(self.pool())
            .await
            .ctx("read the page's reasons")?;
        for r in &found {
            let id: i64 = r.try_get("invoice_id").ctx("decode a reason")?;
            let code: String = r.try_get("code").ctx("decode a reason")?;
            if let Some(s) = rows.iter_mut().find(|s| s.id.0 == id) {
                s.reasons.push(code);
            }
        }
        Ok(())
    }
}

/// Where an invoice stands in a view.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    pub prev: Option<InvoiceId>,
    pub next: Option<InvoiceId>,
    /// 1-based, when the invoice is in the view.
    pub position: Option<i64>,
    pub total: i64,
}

fn sort_key(sort: QueueSort, r: &sqlx::any::AnyRow) -> Result<SortKey> {
    Ok(match sort {
        QueueSort::Due => SortKey::Text(r.try_get("sort_key").ctx("decode a sort key")?),
        QueueSort::Amount => SortKey::Number(r.try_get("sort_key").ctx("decode a sort key")?),
        QueueSort::Age => SortKey::Int(r.try_get("sort_key").ctx("decode a sort key")?),
    })
}

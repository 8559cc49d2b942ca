//! Persistence: the only module that contains SQL.
//!
//! One `Store` type runs on SQLite (the embedded default) and PostgreSQL (the
//! scale path: several `apflow serve` processes on several machines) through
//! sqlx's `Any` driver. We chose `Any` over a trait with one implementation
//! per database because the schema and nearly every statement are the same
//! SQL on both; two implementations would double the code that must stay in
//! step. The price is that `Any` knows only integers, floats, text and bytes,
//! so money is stored as exact decimal text, dates as ISO-8601 text and
//! instants as Unix milliseconds; the few statements that differ (claiming a
//! job with `FOR UPDATE SKIP LOCKED`) are chosen by [`Backend`].
//!
//! SQLite runs with a single pooled connection: SQLite serialises writers
//! anyway, and one connection rules out `SQLITE_BUSY` on deferred
//! transactions. PostgreSQL gets a normal pool.

mod audit;
mod invoices;
mod jobs;
mod masterdata;
mod payments;
mod queue;
mod review;
mod users;

pub use audit::{AuditAnchor, AuditEntry, AuditKey, AuditKeySource, AuditRow, AuditVerdict};
pub use invoices::{
    DiscrepancyRow, DocumentMeta, DocumentRow, FieldRow, InvoiceDetail, InvoiceSummary, LineRow,
    NewDocument, PaymentRow,
};
pub use jobs::{Job, JobKind, QueueStats, UnprocessedDocument};
pub use masterdata::{BankAccount, VendorImport};
pub use payments::{DuePayment, PaidInvoice, PaymentRun, RunFile, RunOutcome};
pub use queue::{Neighbours, QueueFilter, QueuePage, QueueSort, QueueView, SortKey};
pub use review::{
    ApprovalRequest, CORRECTABLE_FIELDS, Correction, CorrectionRow, Dashboard, Payable, Reopen,
};
pub use users::Backoff;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database engine the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported database URL {url:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl { url: String },
    #[error("cannot create the database directory {path}")]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot lock {path} to bring the schema up to date")]
    MigrationLock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("database error while trying to {action}")]
    Query {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A concurrent payment run claimed one of this run's payments first;
    /// nothing of this run was stored.
    #[error("another payment run is in progress (it took payment {payment_id}); try again")]
    RunInProgress { payment_id: i64 },
    #[error("stored value of {column} is corrupt: {value:?}")]
    Corrupt { column: &'static str, value: String },
    #[error(
        "job {job_id} is no longer leased by this worker (lease expired and it was taken over)"
    )]
    LeaseLost { job_id: i64 },
    #[error("audit key: {what}")]
    AuditKey { what: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the same call may well succeed later without anything
    /// changing in what was asked: the database is down, restarting,
    /// refusing connections, out of connections or disk, or busy. Capture
    /// uses it to keep a document for another try instead of rejecting it;
    /// a false answer means retrying the same request gets the same error.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect(e) | Error::Query { source: e, .. } => sqlx_is_transient(e),
            Error::CreateDir { source, .. } | Error::MigrationLock { source, .. } => {
                io_is_transient(source)
            }
            // Another run took a payment first: trying again works.
            Error::RunInProgress { .. } => true,
            Error::UnsupportedUrl { .. }
            | Error::Migrate(_)
            | Error::Corrupt { .. }
            | Error::LeaseLost { .. }
            | Error::AuditKey { .. } => false,
        }
    }
}

/// See [`Error::is_transient`]. Socket errors are all transient (a reset or
/// refused connection, a server gone mid-query); so are an exhausted or
/// closed pool (the pool closes at shutdown) and a crashed SQLite worker.
fn sqlx_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| code_is_transient(&c)),
        _ => false,
    }
}

fn io_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        StorageFull | QuotaExceeded | Interrupted | WouldBlock | TimedOut | ResourceBusy
    )
}

/// A database error code that names a passing condition. The `Any` driver
/// keeps the engine's own code: PostgreSQL's is a five-character SQLSTATE,
/// SQLite's a (shorter) decimal result code, whose low byte is the primary
/// code.
fn code_is_transient(code: &str) -> bool {
    if code.len() == 5 {
        // PostgreSQL. 08: connection exceptions. 53: insufficient resources
        // (disk full, out of memory, too many connections). 57P01..57P03:
        // the server is shutting down, crashed, or not yet accepting
        // connections. 55P03: a lock timeout. 40001/40P01: serialization
        // failure and deadlock, which the server itself says to retry.
        // 55000 is what a database with ALLOW_CONNECTIONS false answers at
        // connect ("is not currently accepting connections"), which
        // maintenance does for a moment.
        return code.starts_with("08")
            || code.starts_with("53")
            || matches!(
                code,
                "57P01" | "57P02" | "57P03" | "55P03" | "55000" | "40001" | "40P01"
            );
    }
    // SQLite: BUSY (5), LOCKED (6), IOERR (10), FULL (13), and their
    // extended codes (BUSY_SNAPSHOT 517, IOERR_WRITE 778, ...).
    code.parse::<u32>()
        .is_ok_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13))
}

/// Attaches what we were doing to a sqlx error.
pub(crate) trait QueryContext<T> {
    fn ctx(self, action: &'static str) -> Result<T>;
}

impl<T> QueryContext<T> for std::result::Result<T, sqlx::Error> {
    fn ctx(self, action: &'static str) -> Result<T> {
        self.map_err(|source| Error::Query { action, source })
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Wakes this process's workers and waiters when the queue changed
    /// (see [`Store::queue_changed`]).
    queue_signal: std::sync::Arc<tokio::sync::Notify>,
    /// Keys the audit log's MAC chain; kept outside the database.
    audit_key: std::sync::Arc<AuditKey>,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`), creating the
    /// SQLite file and its directory if needed, and brings the schema up to
    /// date. The audit key is the default one ([`AuditKeySource::Default`]).
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, &AuditKeySource::Default).await
    }

    /// As [`Store::connect`], with the audit key from `audit_key`.
    pub async fn connect_with(url: &str, audit_key: &AuditKeySource) -> Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::UnsupportedUrl {
                url: url.to_string(),
            });
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = sqlite_url_with_create(url)?;
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            // Deliberately FULL (SQLite's default, stated so
                            // nobody trades it away unawares): every commit
                            // is on disk before the caller goes on. NORMAL
                            // under WAL would survive a killed process too,
                            // but a power cut or OS crash could lose the last
                            // commits after their effects left the machine:
                            // a mail moved to the processed folder, a
                            // payment file handed to the bank (re-planned and
                            // paid twice). An invoice takes about five commits;
                            // on the development machine an fsync costs
                            // ~0.05 ms against ~7 ms of CPU per invoice, so
                            // there is little to win. Where fsync is slow,
                            // fewer commits per invoice is the lever, not this.
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await
            }
        }
        .map_err(Error::Connect)?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        {
            // sqlx's migrator takes an advisory lock on PostgreSQL only;
            // SQLite processes starting together on a new file would each
            // try to create the tables, so there a lock file beside the
            // database serialises them.
            let _lock = match backend {
                Backend::Sqlite => Some(MigrationLock::take(url).await?),
                Backend::Postgres => None,
            };
            migrator.run(&pool).await.map_err(Error::Migrate)?;
        }
        let audit_key = std::sync::Arc::new(AuditKey::load(audit_key, url)?);
        Ok(Store {
            pool,
            backend,
            queue_signal: Default::default(),
            audit_key,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Cheap liveness probe for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .ctx("ping the database")?;
        Ok(())
    }
}

/// Makes sure the SQLite file's directory exists and asks SQLite to create
/// the file (`mode=rwc`), so a first run needs no setup step.
fn sqlite_url_with_create(url: &str) -> Result<String> {
    let (path, query) = sqlite_url_parts(url).unwrap_or((url, None));
    if let Some(dir) = sqlite_file(url)
        .and_then(|p| Path::new(p).parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(q) => format!("sqlite://{path}?{q}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    })
}

/// The path and query of a `sqlite:` URL (`sqlite://data/a.db?mode=rwc`:
/// `data/a.db`, `mode=rwc`); `None` for another database's URL.
fn sqlite_url_parts(url: &str) -> Option<(&str, Option<&str>)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    })
}

/// The database file a `sqlite:` URL names; `None` for another database
/// and for an in-memory one.
pub(crate) fn sqlite_file(url: &str) -> Option<&str> {
    sqlite_url_parts(url)
        .map(|(path, _)| path)
        .filter(|p| !p.is_empty() && *p != ":memory:")
}

/// An exclusive lock on `<database>.migrate-lock`, held while a process
/// brings a SQLite schema up to date; released when dropped (or when the
/// process dies: the operating system drops the lock with the file).
struct MigrationLock {
    _held: Option<std::fs::File>,
}

impl MigrationLock {
    async fn take(url: &str) -> Result<MigrationLock> {
        let Some(path) = sqlite_file(url) else {
            return Ok(MigrationLock { _held: None });
        };
        let lock_path = format!("{path}.migrate-lock");
        let file = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .and_then(|f| f.lock().map(|()| f));
            file.map_err(|source| Error::MigrationLock {
                path: lock_path,
                source,
            })
        })
        .await
        .map_err(|e| Error::MigrationLock {
            path: format!("{path}.migrate-lock"),
            source: std::io::Error::other(e),
        })??;
        Ok(MigrationLock { _held: Some(file) })
    }
}

/// Current time in Unix milliseconds: the store's instant representation.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Has this mailbox message been imported?
    pub async fn mail_imported(
        &self,
        mailbox: &str,
        folder: &str,
        uid_validity: u32,
        uid: u32,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_ledger WHERE mailbox = $1 AND folder = $2 AND uid_validity = $3 AND uid = $4")
            .bind(mailbox.to_string())
            .bind(folder.to_string())
            .bind(i64::from(uid_validity))
            .bind(i64::from(uid))
            .fetch_one(&self.pool)
            .await
            .ctx("read the mail ledger")?;
        Ok(n > 0)
    }

    /// Records that a mailbox message was imported (after its documents are
    /// stored, before it is moved away).
    pub async fn record_mail_imported(
        &self,
        mailbox: &str,
        folder: &str,
        uid_validity: u32,
        uid: u32,
        message_id: Option<&str>,
        documents: usize,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mail_ledger (mailbox, folder, uid_validity, uid, message_id, documents, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (mailbox, folder, uid_validity, uid) DO NOTHING",
        )
        .bind(mailbox.to_string())
        .bind(folder.to_string())
        .bind(i64::from(uid_validity))
        .bind(i64::from(uid))
        .bind(message_id.map(str::to_string))
        .bind(i64::try_from(documents).unwrap_or(i64::MAX))
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .ctx("write the mail ledger")?;
        Ok(())
    }
}

/// Parses a decimal column; a bad value is corruption, not user error.
pub(crate) fn parse_decimal(column: &'static str, s: &str) -> Result<rust_decimal::Decimal> {
    s.parse().map_err(|_| Error::Corrupt {
        column,
        value: s.to_string(),
    })
}

pub(crate) fn parse_opt_decimal(
    column: &'static str,
    s: Option<String>,
) -> Result<Option<rust_decimal::Decimal>> {
    s.map(|s| parse_decimal(column, &s)).transpose()
}

pub(crate) fn parse_date(column: &'static str, s: &str) -> Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| Error::Corrupt {
        column,
        value: s.to_string(),
    })
}

pub(crate) fn parse_json_list(column: &'static str, s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|_| Error::Corrupt {
        column,
        value: s.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error with only a code, as the `Any` driver hands on.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn query(source: sqlx::Error) -> Error {
        Error::Query {
            action: "test",
            source,
        }
    }

    fn check(error: Error, transient: bool) {
        assert_eq!(error.is_transient(), transient, "{error:?}");
    }

    #[test]
    fn transient_errors_are_told_from_permanent_ones() {
        let db = |code| query(sqlx::Error::Database(Box::new(Coded(code))));
        let io = |kind| sqlx::Error::Io(std::io::Error::from(kind));
        for (error, transient) in [
            // PostgreSQL: down, refusing, restarting, full, locked.
            (db("08006"), true),
            (db("08001"), true),
            (db("57P01"), true),
            (db("57P03"), true),
            (db("55000"), true),
            (db("53100"), true),
            (db("53300"), true),
            (db("55P03"), true),
            (db("40001"), true),
            (db("40P01"), true),
            // PostgreSQL: the request itself is wrong.
            (db("23505"), false),
            (db("22P02"), false),
            (db("42P01"), false),
            // SQLite: busy, locked, I/O, full; constraint and corrupt are not.
            (db("5"), true),
            (db("517"), true),
            (db("6"), true),
            (db("778"), true),
            (db("13"), true),
            (db("2067"), false),
            (db("11"), false),
            (query(io(std::io::ErrorKind::ConnectionRefused)), true),
            (query(io(std::io::ErrorKind::ConnectionReset)), true),
            (query(sqlx::Error::PoolTimedOut), true),
            (query(sqlx::Error::PoolClosed), true),
            (
                Error::Connect(io(std::io::ErrorKind::ConnectionRefused)),
                true,
            ),
            (query(sqlx::Error::RowNotFound), false),
            (query(sqlx::Error::Protocol("bad".into())), false),
            (
                Error::Corrupt {
                    column: "x",
                    value: String::new(),
                },
                false,
            ),
            (Error::LeaseLost { job_id: 1 }, false),
        ] {
            check(error, transient);
        }
    }
}

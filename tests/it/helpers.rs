//! Test harness: fresh SQLite files and fresh PostgreSQL databases.
//!
//! PostgreSQL is required, not optional: when it is installed but not
//! running, the harness starts it; when it cannot be reached at all, the
//! tests fail with a message saying how to fix it. Nothing is skipped
//! silently. `APFLOW_TEST_POSTGRES_URL` points at a server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets its own
//! database on it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use apflow::config::Settings;
use apflow::domain::DocumentId;
use apflow::store::Store;
use sqlx::Connection;
use tempfile::TempDir;
use tokio::sync::OnceCell;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub const BOTH: [Db; 2] = [Db::Sqlite, Db::Postgres];

/// A store on a fresh database; keeps its temp dir alive.
pub struct TestDb {
    pub store: Store,
    pub url: String,
    pub settings: Settings,
    _dir: TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_READY: OnceCell<()> = OnceCell::const_new();

fn admin_url() -> String {
    std::env::var("APFLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Starts the local cluster with Debian's tools if it is installed.
fn try_start_postgres() {
    let Ok(entries) = std::fs::read_dir("/etc/postgresql") else {
        return;
    };
    for e in entries.flatten() {
        let version = e.file_name().to_string_lossy().to_string();
        let _ = std::process::Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &version, "main", "start"])
            .status();
    }
}

async fn ensure_postgres() {
    PG_READY
        .get_or_init(|| async {
            sqlx::any::install_default_drivers();
            let url = admin_url();
            for attempt in 0..30 {
                if let Ok(mut admin) = sqlx::AnyConnection::connect(&url).await {
                    drop_stale_databases(&mut admin).await;
                    return;
                }
                if attempt == 0 {
                    try_start_postgres();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            panic!(
                "PostgreSQL is not reachable at {url}. Install and start it (`make test-deps` does both), \
                 or point APFLOW_TEST_POSTGRES_URL at a server. The PostgreSQL tests are not skipped."
            );
        })
        .await;
}

/// Drops databases left by earlier test runs (other process ids).
async fn drop_stale_databases(admin: &mut sqlx::AnyConnection) {
    let mine = format!("apflow_it_{}_", std::process::id());
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'apflow_it_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names.into_iter().filter(|n| {
        !n.starts_with(&mine) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut *admin)
        .await;
    }
}

pub async fn fresh(db: Db) -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let url = match db {
        Db::Sqlite => format!("sqlite://{}/apflow.db", dir.path().display()),
        Db::Postgres => {
            ensure_postgres().await;
            let name = format!("apflow_it_{}_{n}", std::process::id());
            let mut admin = sqlx::AnyConnection::connect(&admin_url())
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut admin)
            .await
            .expect("drop test database");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let base = admin_url();
            let (server, _) = base.rsplit_once('/').expect("database URL has a path");
            format!("{server}/{name}")
        }
    };
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e:?}"));
    let settings = Settings {
        database_url: url.clone(),
        inbox: dir.path().join("inbox"),
        workers: 2,
        ..Settings::default()
    };
    TestDb {
        store,
        url,
        settings,
        _dir: dir,
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Polls `check` until it returns true or `timeout` passes.
pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Imports the sample master data into `store`, as `apflow demo` does.
pub async fn load_sample_master_data(store: &Store) {
    use apflow::cli::{ImportKind, import_file};
    for (kind, name) in [
        (ImportKind::Vendors, "vendors.jsonl"),
        (ImportKind::Pos, "pos.jsonl"),
        (ImportKind::Receipts, "receipts.jsonl"),
    ] {
        import_file(store, kind, &repo_path(&format!("samples/{name}")))
            .await
            .expect("import sample master data");
    }
}

/// The sample invoices with their expected status and reasons.
pub fn sample_expectations() -> Vec<(String, String, Vec<String>)> {
    std::fs::read_to_string(repo_path("samples/invoices/truth.jsonl"))
        .expect("truth.jsonl")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            let mut reasons: Vec<String> = v["expected"]["reasons"]
                .as_array()
                .expect("reasons")
                .iter()
                .filter_map(|r| r.as_str().map(String::from))
                .collect();
            reasons.sort();
            (
                v["file"].as_str().expect("file").to_string(),
                v["expected"]["status"]
                    .as_str()
                    .expect("status")
                    .to_string(),
                reasons,
            )
        })
        .collect()
}

/// Runs the sample invoices through the pipeline one at a time (so that
/// "the earlier invoice" of the duplicate pair is well defined); returns
/// each file's document.
/// Receives one uploaded file and runs the pipeline over it, as the
/// upload endpoint and a worker would.
pub async fn process_upload(t: &TestDb, filename: &str, bytes: Vec<u8>) -> DocumentId {
    let raw = apflow::domain::RawDocument {
        filename: filename.into(),
        bytes,
        source: apflow::domain::Source::Upload,
    };
    let r = apflow::workflow::receive_document(&t.store, &raw, &t.settings)
        .await
        .expect("receive");
    apflow::workflow::drain(&t.store, &t.settings, &[r.document_id])
        .await
        .expect("drain");
    r.document_id
}

pub async fn ingest_samples(t: &TestDb) -> std::collections::BTreeMap<String, DocumentId> {
    let mut docs = std::collections::BTreeMap::new();
    for (file, _, _) in sample_expectations() {
        let bytes =
            std::fs::read(repo_path(&format!("samples/invoices/{file}"))).expect("sample invoice");
        let id = process_upload(t, &file, bytes).await;
        docs.insert(file, id);
    }
    docs
}

/// `apflow serve` running; stopped with SIGTERM when dropped.
pub struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `apflow --config CONFIG serve`, its output going to `log`.
pub fn serve(config: &std::path::Path, log: &std::path::Path) -> Served {
    let log = std::fs::File::create(log).unwrap();
    Served(
        std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env("APFLOW_LOG", "info,apflow=debug")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Waits (up to 30 s) until the database at `url` holds `n` documents.
pub async fn wait_documents(url: &str, n: i64) -> bool {
    sqlx::any::install_default_drivers();
    wait_for(Duration::from_secs(30), || async move {
        match sqlx::AnyPool::connect(url).await {
            Ok(pool) => {
                let got: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(0);
                pool.close().await;
                got >= n
            }
            Err(_) => false,
        }
    })
    .await
}

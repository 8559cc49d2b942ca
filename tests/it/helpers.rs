//! Test harness: fresh SQLite files and fresh PostgreSQL databases.
//!
//! PostgreSQL is required, not optional: when it is installed but not
//! running, the harness starts it; when it cannot be reached at all, the
//! tests fail with a message saying how to fix it. Nothing is skipped
//! silently. `APFLOW_TEST_POSTGRES_URL` points at a server (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets its own
//! database on it, dropped again when the test's [`TestDb`] is dropped
//! after a passing test (a failed test keeps it for a look; the next run
//! drops it, as it drops any left by a process that is gone).
//!
//! Every test that uses the harness (`fresh`, `repo_path`, `wait_for`,
//! `serve`) runs under a deadline: a watchdog thread ends the whole test
//! binary, naming the test, when one runs longer than
//! `APFLOW_TEST_DEADLINE_S` seconds (default 600). Without it a livelock
//! hangs `cargo test`, and CI, forever, and says nothing about where.

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
    /// The PostgreSQL database to drop when this is dropped.
    pg_name: Option<String>,
    _dir: TempDir,
}

impl Drop for TestDb {
    /// Drops this test's PostgreSQL database unless the test is failing
    /// (then it stays for a look, and the next run drops it). `Drop` cannot
    /// await, so the drop runs on a thread with a runtime of its own; the
    /// test's own pool may still hold connections, hence `WITH (FORCE)`.
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for dropping the test database");
            rt.block_on(async move {
                let mut admin = sqlx::AnyConnection::connect(&admin_url()).await?;
                drop_database(&mut admin, &name, true).await
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("cannot drop the test database: {e}"),
            Err(_) => panic!("dropping the test database panicked"),
        }
    }
}

/// `DROP DATABASE name`, `WITH (FORCE)` if `force` (cutting connections
/// still open); `name` is one the harness made.
async fn drop_database(
    admin: &mut sqlx::AnyConnection,
    name: &str,
    force: bool,
) -> Result<(), sqlx::Error> {
    assert!(
        name.starts_with("apflow_it_")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "not a test database name: {name:?}"
    );
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}{}",
        if force { " WITH (FORCE)" } else { "" }
    )))
    .execute(&mut *admin)
    .await
    .map(|_| ())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static PG_READY: OnceCell<()> = OnceCell::const_new();

pub fn admin_url() -> String {
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

/// Drops databases left by earlier test runs: those whose process (the id
/// in the name) is gone. A database of a test binary still running, from
/// another checkout on the same server, is left alone; so is one still in
/// use (SQLSTATE 55006), which on a server shared by several machines is a
/// live run elsewhere whose process id means nothing here. `datname` is of type
/// `name`, which the `Any` driver cannot decode, hence the `::text`; an
/// error here fails the test rather than leaving the databases unseen.
pub async fn drop_stale_databases(admin: &mut sqlx::AnyConnection) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'apflow_it_%'",
    )
    .fetch_all(&mut *admin)
    .await
    .expect("list the test databases left by earlier runs");
    for name in names {
        let owner = name
            .strip_prefix("apflow_it_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = owner.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if alive || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        match drop_database(admin, &name, false).await {
            Ok(()) => {}
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55006") => {}
            Err(e) => panic!("drop the stale test database {name}: {e}"),
        }
    }
}

/// How long one test may run before the watchdog ends the test binary.
fn test_deadline() -> Duration {
    let secs = std::env::var("APFLOW_TEST_DEADLINE_S")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(600);
    Duration::from_secs(secs)
}

/// The tests now running (by their thread's id), with their name and start.
static RUNNING: std::sync::Mutex<Vec<(std::thread::ThreadId, String, std::time::Instant)>> =
    std::sync::Mutex::new(Vec::new());

/// Takes a test thread out of [`RUNNING`] when it ends: a thread-local's
/// destructor runs as the thread exits, whether the test passed or panicked.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        let me = std::thread::current().id();
        if let Ok(mut running) = RUNNING.lock() {
            running.retain(|(id, _, _)| *id != me);
        }
    }
}

thread_local! {
    static THIS_TEST: Running = {
        let me = std::thread::current();
        // libtest runs each test on a thread named after it ("module::test").
        if let Some(name) = me.name().filter(|n| n.contains("::"))
            && let Ok(mut running) = RUNNING.lock()
        {
            running.push((me.id(), name.to_string(), std::time::Instant::now()));
        }
        Running
    };
}

/// Puts the calling test under the deadline (once per test; later calls do
/// nothing) and starts the watchdog if it is not running yet.
pub fn watch_this_test() {
    static WATCHDOG: std::sync::Once = std::sync::Once::new();
    THIS_TEST.with(|_| {});
    WATCHDOG.call_once(|| {
        let deadline = test_deadline();
        std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(move || watchdog(deadline))
            .expect("start the test watchdog");
    });
}

/// Every second: if a test has run past `deadline`, says which (straight to
/// stderr: libtest captures `eprintln!`, and would swallow it as the
/// process exits) and ends the process with a failure.
fn watchdog(deadline: Duration) {
    use std::io::Write;
    loop {
        std::thread::sleep(Duration::from_millis(200).min(deadline));
        let running = match RUNNING.lock() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let late: Vec<&String> = running
            .iter()
            .filter(|(_, _, start)| start.elapsed() > deadline)
            .map(|(_, name, _)| name)
            .collect();
        if late.is_empty() {
            continue;
        }
        let still: Vec<&String> = running.iter().map(|(_, name, _)| name).collect();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "\nTEST DEADLINE: {late:?} ran longer than {} s (APFLOW_TEST_DEADLINE_S); \
             still running: {still:?}. Ending the test binary.",
            deadline.as_secs()
        );
        let _ = err.flush();
        std::process::exit(124);
    }
}

/// An admin connection to the test server (started if need be).
pub async fn admin() -> sqlx::AnyConnection {
    ensure_postgres().await;
    sqlx::AnyConnection::connect(&admin_url())
        .await
        .expect("connect to PostgreSQL")
}

/// A new, empty PostgreSQL database `name` on the test server (dropped
/// first if a killed run left it behind); its URL.
pub async fn empty_postgres_database(name: &str) -> String {
    let mut admin = admin().await;
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("create an empty test database");
    }
    let base = admin_url();
    let (server, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{server}/{name}")
}

pub async fn fresh(db: Db) -> TestDb {
    watch_this_test();
    let dir = tempfile::tempdir().expect("temp dir");
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let mut pg_name = None;
    let url = match db {
        Db::Sqlite => format!("sqlite://{}/apflow.db", dir.path().display()),
        Db::Postgres => {
            let name = format!("apflow_it_{}_{n}", std::process::id());
            let url = empty_postgres_database(&name).await;
            pg_name = Some(name);
            url
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
        pg_name,
        _dir: dir,
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    watch_this_test();
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Polls `check` until it returns true or `timeout` passes.
pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    watch_this_test();
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

/// Receives one uploaded file and runs the pipeline over it, as the
/// upload endpoint and a worker would.
pub async fn process_upload(t: &TestDb, filename: &str, bytes: Vec<u8>) -> DocumentId {
    let document = receive_upload(t, filename, bytes).await;
    apflow::workflow::drain(&t.store, &t.settings, &[document])
        .await
        .expect("drain");
    document
}

/// Receives one uploaded file (stored and queued, not yet processed).
pub async fn receive_upload(t: &TestDb, filename: &str, bytes: Vec<u8>) -> DocumentId {
    let raw = apflow::domain::RawDocument {
        filename: filename.into(),
        bytes,
        source: apflow::domain::Source::Upload,
    };
    apflow::workflow::receive_document(&t.store, &raw, &t.settings)
        .await
        .expect("receive")
        .document_id
}

/// Runs the sample invoices through the pipeline one at a time (so that
/// "the earlier invoice" of the duplicate pair is well defined); returns
/// each file's document.
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
    watch_this_test();
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

/// The regular files directly in `dir`.
pub fn files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("list folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect()
}

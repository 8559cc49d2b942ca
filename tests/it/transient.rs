//! Passing faults: the test harness's own cleanup and deadline, and capture
//! keeping documents through a database outage (issue 16).

use std::time::Duration;

use sqlx::Connection;

use crate::helpers::{Db, files_in, fresh};

/// The names of the harness's databases on the test server.
async fn test_databases() -> Vec<String> {
    let mut admin = crate::helpers::admin().await;
    sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'apflow_it_%'")
        .fetch_all(&mut admin)
        .await
        .expect("list the test databases")
}

/// A passing test's database is dropped with its `TestDb`; before, every
/// run left about fifteen behind.
#[tokio::test]
async fn a_test_database_is_dropped_with_its_test_db() {
    let t = fresh(Db::Postgres).await;
    let name = t
        .url
        .rsplit('/')
        .next()
        .expect("URL has a path")
        .to_string();
    assert!(test_databases().await.contains(&name), "{name} exists");
    drop(t);
    assert!(
        !test_databases().await.contains(&name),
        "{name} is dropped with its TestDb"
    );
}

/// Databases of test processes that are gone are dropped; those of a test
/// binary still running (here: this one), and those in use (a run on
/// another machine sharing the server), are left alone. Before, the
/// listing failed to decode `datname` and the failure was swallowed, so
/// nothing was ever dropped.
#[tokio::test]
async fn stale_test_databases_are_dropped_and_live_ones_kept() {
    // Starts the server and drops what earlier runs left.
    let t = fresh(Db::Postgres).await;
    // At the kernel's largest process id, which no process gets.
    let dead = "apflow_it_4194304_0".to_string();
    let in_use = "apflow_it_4194304_1".to_string();
    let live = format!("apflow_it_{}_stale_check", std::process::id());
    let mut admin = crate::helpers::admin().await;
    for name in [&dead, &in_use, &live] {
        admin_exec(&mut admin, format!("DROP DATABASE IF EXISTS {name}")).await;
        admin_exec(&mut admin, format!("CREATE DATABASE {name}")).await;
    }
    let (server, _) = t.url.rsplit_once('/').expect("URL has a path");
    let user = sqlx::AnyConnection::connect(&format!("{server}/{in_use}"))
        .await
        .expect("connect to the database in use");
    crate::helpers::drop_stale_databases(&mut admin).await;
    let left = test_databases().await;
    user.close().await.expect("close");
    for name in [&in_use, &live] {
        admin_exec(&mut admin, format!("DROP DATABASE IF EXISTS {name}")).await;
    }
    assert!(
        !left.contains(&dead),
        "a dead process's database is dropped"
    );
    assert!(left.contains(&in_use), "a database in use is kept");
    assert!(left.contains(&live), "a live process's database is kept");
}

/// Hangs, under the harness's deadline, when `APFLOW_TEST_HANG` is set:
/// run by [`a_hanging_test_fails_with_its_name`] in a child process. Without
/// the variable (`cargo test -- --ignored`) it passes at once.
#[tokio::test]
#[ignore = "run by a_hanging_test_fails_with_its_name"]
async fn hangs_on_purpose() {
    let _t = fresh(Db::Sqlite).await;
    if std::env::var_os("APFLOW_TEST_HANG").is_some() {
        std::future::pending::<()>().await;
    }
}

/// A test that hangs ends the test binary with a failure that names it,
/// once it is past `APFLOW_TEST_DEADLINE_S`; before, it hung for ever.
#[test]
fn a_hanging_test_fails_with_its_name() {
    let exe = std::env::current_exe().expect("the test binary");
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr_path = dir.path().join("stderr");
    let mut child = std::process::Command::new(exe)
        .args([
            "transient::hangs_on_purpose",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("APFLOW_TEST_HANG", "1")
        .env("APFLOW_TEST_DEADLINE_S", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("run the test binary");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the hanging test was not stopped within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).expect("read stderr");
    assert_eq!(status.code(), Some(124), "{stderr}");
    assert!(
        stderr.contains("TEST DEADLINE") && stderr.contains("transient::hangs_on_purpose"),
        "{stderr}"
    );
}

async fn admin_exec(admin: &mut sqlx::AnyConnection, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut *admin)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Taking `file` fails for a passing reason (`cause`, no fault of the
/// file): deferred, and the file stays in the inbox.
async fn assert_deferred(
    watcher: &mut apflow::capture::FolderWatcher,
    t: &crate::helpers::TestDb,
    file: &std::path::Path,
    cause: &str,
) {
    let err = watcher
        .take(&t.store, &t.settings, file)
        .await
        .expect_err(cause);
    assert!(
        matches!(err, apflow::capture::TakeError::Deferred { .. }),
        "{cause} is no fault of the file: {err}"
    );
    assert!(file.exists(), "the file stays in the inbox");
}

/// Issue 16, finding 1: with PostgreSQL refusing connections while files
/// arrived, half of them went to `inbox/failed/` for good, as if they were
/// bad files. Now a file whose storing failed for a passing reason stays in
/// the inbox and is taken once the database is back, also when its
/// connections are cut again and again afterwards: none in `failed/`, each
/// stored exactly once, none left behind.
#[tokio::test]
async fn inbox_files_arriving_during_a_postgres_outage_are_stored_once_afterwards() {
    const OUTAGE_FILES: usize = 30;
    const ROUNDS: usize = 4;
    const FILES: usize = OUTAGE_FILES + ROUNDS * 5;
    let t = fresh(Db::Postgres).await;
    let name = t
        .url
        .rsplit('/')
        .next()
        .expect("URL has a path")
        .to_string();
    let inbox = t.settings.inbox.clone();
    let mut watcher = apflow::capture::FolderWatcher::new(&inbox).expect("inbox");
    let drop_file = |i: usize| {
        let bytes = format!("%PDF-1.4\n% invoice {i}\n%%EOF\n");
        std::fs::write(inbox.join(format!("invoice-{i:03}.pdf")), bytes).expect("drop file");
    };

    // The outage: no new connections, and the pool's are cut.
    let mut admin = crate::helpers::admin().await;
    admin_exec(
        &mut admin,
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
    )
    .await;
    admin_exec(
        &mut admin,
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;

    // Taken by hand first, to see what one file meets.
    for i in 0..OUTAGE_FILES / 2 {
        drop_file(i);
    }
    watcher.poll().await.expect("poll");
    let ready = watcher.poll().await.expect("poll");
    assert_eq!(ready.len(), OUTAGE_FILES / 2);
    assert_deferred(&mut watcher, &t, &ready[0], "a refused connection").await;
    assert!(
        watcher.poll().await.expect("poll").is_empty(),
        "no file is taken while backing off"
    );

    // Then the real watcher, with more files arriving during the outage.
    let settings = apflow::config::Settings {
        poll_interval: Duration::from_secs(1),
        ..t.settings.clone()
    };
    let token = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(apflow::capture::watch_folder(
        t.store.clone(),
        settings,
        token.clone(),
    ));
    for i in OUTAGE_FILES / 2..OUTAGE_FILES {
        drop_file(i);
    }
    // The outage's length, not a wait for an outcome: long enough for the
    // watcher (a listing each second) to meet it.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        files_in(&inbox.join("failed")).is_empty(),
        "nothing is failed during the outage"
    );
    admin_exec(
        &mut admin,
        format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    )
    .await;
    // Then connections cut in rounds while more files arrive: a statement
    // may fail after its commit, and the retry must find the same document.
    for round in 0..ROUNDS {
        for i in OUTAGE_FILES + round * 5..OUTAGE_FILES + (round + 1) * 5 {
            drop_file(i);
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        admin_exec(
            &mut admin,
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        )
        .await;
    }

    let emptied = crate::helpers::wait_for(Duration::from_secs(90), || {
        let inbox = inbox.clone();
        async move { files_in(&inbox).is_empty() }
    })
    .await;
    token.cancel();
    task.await.expect("watcher task");

    let pool = sqlx::AnyPool::connect(&t.url).await.expect("connect");
    let (stored, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM documents")
            .fetch_one(&pool)
            .await
            .expect("count documents");
    pool.close().await;
    let failed = files_in(&inbox.join("failed")).len();
    let processed = files_in(&inbox.join("processed")).len();
    let left = files_in(&inbox).len();
    println!(
        "files {FILES}, stored {stored} ({distinct} distinct), processed {processed}, \
         failed {failed}, left in inbox {left}"
    );
    assert!(emptied, "the inbox empties once the database is back");
    assert_eq!(failed, 0, "no file went to failed/");
    assert_eq!((stored, distinct), (FILES as i64, FILES as i64));
    assert_eq!(processed, FILES);
}

/// The same on SQLite, where the passing fault is another process holding
/// the write lock past the busy timeout (`SQLITE_BUSY`): the files wait in
/// the inbox, not in `failed/`, and are stored once the lock is gone.
#[tokio::test]
async fn inbox_files_wait_out_a_locked_sqlite_database() {
    const FILES: usize = 5;
    let t = fresh(Db::Sqlite).await;
    let inbox = t.settings.inbox.clone();
    let mut watcher = apflow::capture::FolderWatcher::new(&inbox).expect("inbox");
    for i in 0..FILES {
        let bytes = format!("%PDF-1.4\n% sqlite invoice {i}\n%%EOF\n");
        std::fs::write(inbox.join(format!("invoice-{i:03}.pdf")), bytes).expect("drop file");
    }
    let mut locker = sqlx::AnyConnection::connect(&t.url)
        .await
        .expect("second connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .expect("take the write lock");
    watcher.poll().await.expect("poll");
    let ready = watcher.poll().await.expect("poll");
    assert_eq!(ready.len(), FILES);
    // Waits out the store's busy timeout (10 s), then gives up.
    assert_deferred(&mut watcher, &t, &ready[0], "a locked database").await;
    sqlx::query("COMMIT")
        .execute(&mut locker)
        .await
        .expect("release the lock");
    locker.close().await.expect("close");

    // Polled by hand, as `watch_folder` would, until the inbox is empty.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !files_in(&inbox).is_empty() && tokio::time::Instant::now() < deadline {
        for path in watcher.poll().await.expect("poll") {
            watcher
                .take(&t.store, &t.settings, &path)
                .await
                .expect("stored once the lock is gone");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let emptied = files_in(&inbox).is_empty();
    let taken = files_in(&inbox.join("processed")).len();
    let failed = files_in(&inbox.join("failed")).len();
    let pool = sqlx::AnyPool::connect(&t.url).await.expect("connect");
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents")
        .fetch_one(&pool)
        .await
        .expect("count documents");
    pool.close().await;
    println!("files {FILES}, stored {stored}, processed {taken}, failed {failed}");
    assert!(emptied, "the inbox empties once the lock is gone");
    assert_eq!(failed, 0, "no file went to failed/");
    assert_eq!(stored, FILES as i64);
    assert_eq!(taken, FILES);
}

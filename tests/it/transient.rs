//! Passing faults: the test harness's own cleanup and deadline, and capture
//! keeping documents through a database outage (issue 16).

use std::time::Duration;

use crate::helpers::{Db, fresh};

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
/// binary still running (here: this one) are left alone. Before, the
/// listing failed to decode `datname` and the failure was swallowed, so
/// nothing was ever dropped.
#[tokio::test]
async fn stale_test_databases_are_dropped_and_live_ones_kept() {
    // Starts the server and drops what earlier runs left.
    let _t = fresh(Db::Postgres).await;
    // Above the kernel's largest process id: no such process.
    let dead = "apflow_it_4194304_0".to_string();
    let live = format!("apflow_it_{}_stale_check", std::process::id());
    let mut admin = crate::helpers::admin().await;
    for name in [&dead, &live] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut admin)
        .await
        .expect("drop");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create");
    }
    crate::helpers::drop_stale_databases(&mut admin).await;
    let left = test_databases().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {live}"
    )))
    .execute(&mut admin)
    .await
    .expect("drop");
    assert!(
        !left.contains(&dead),
        "a dead process's database is dropped"
    );
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

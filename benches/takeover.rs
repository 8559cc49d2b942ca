//! How long a job of a killed process waits before another process takes
//! it over (issue 16's budget: under 10 s). Each round: `apflow ingest` of
//! a sample invoice is killed right after claiming its job (failpoint
//! `job-claimed`, an abort as from `kill -9`); a second `apflow ingest` of
//! the same file starts at once; the takeover delay is from the first
//! process's death to the second one's claim of that job (`jobs.started_at`).
//! Default lease and heartbeat settings.
//!
//!     cargo bench --bench takeover [-- ROUNDS] [-- --postgres URL]
//!
//! With `--postgres URL` (a role that may create databases) each round
//! runs on a fresh PostgreSQL database on that server instead of SQLite.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn fresh_postgres(server: &str, round: usize) -> String {
    use sqlx::Connection;
    let name = format!("apflow_bench_takeover_{}_{round}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(server)
        .await
        .expect("connect to PostgreSQL");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .expect("create the database");
    }
    format!("{}/{name}", server.rsplit_once('/').expect("URL path").0)
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(5);
    let postgres = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("samples/invoices/03_atelier_F2026-0193.pdf");
    let apflow = env!("CARGO_BIN_EXE_apflow");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut delays = Vec::new();
    for round in 0..rounds {
        let url = match &postgres {
            Some(server) => fresh_postgres(server, round).await,
            None => format!("sqlite://{}/takeover-{round}.db", dir.path().display()),
        };
        let died = Command::new(apflow)
            .current_dir(&root)
            .args(["--database-url", &url, "ingest"])
            .arg(&file)
            .env("APFLOW_FAILPOINT", "job-claimed")
            .output()
            .expect("run apflow");
        let death = now_ms();
        assert!(!died.status.success(), "the failpoint did not fire");
        let again = Command::new(apflow)
            .current_dir(&root)
            .args(["--database-url", &url, "ingest"])
            .arg(&file)
            .env("APFLOW_LOG", "error")
            .output()
            .expect("run apflow");
        assert!(again.status.success(), "{again:?}");
        let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
        let (claimed, from): (i64, Option<String>) =
            sqlx::query_as("SELECT started_at, taken_over_from FROM jobs WHERE kind = 'extract'")
                .fetch_one(&pool)
                .await
                .expect("the extract job");
        assert!(from.is_some(), "the job was not taken over");
        let delay = Duration::from_millis(u64::try_from(claimed - death).unwrap_or(0));
        println!(
            "round {round}: taken over {:.2} s after the process died",
            delay.as_secs_f64()
        );
        delays.push(delay);
        pool.close().await;
        if let Some(server) = &postgres {
            use sqlx::Connection;
            let name = url.rsplit('/').next().unwrap_or_default();
            let mut admin = sqlx::AnyConnection::connect(server)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await
            .expect("drop the database");
        }
    }
    delays.sort();
    if let (Some(min), Some(max)) = (delays.first(), delays.last()) {
        println!(
            "takeover of a dead worker's job ({}): median {:.2} s, min {:.2} s, max {:.2} s over {rounds} rounds (budget < 10 s)",
            if postgres.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            },
            delays[delays.len() / 2].as_secs_f64(),
            min.as_secs_f64(),
            max.as_secs_f64()
        );
    }
}

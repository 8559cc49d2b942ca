//! The whole pipeline on born-digital PDFs, the way an operator runs it:
//! `apflow ingest FILE...` on a batch of synthetic invoices (every one
//! different, so the duplicate check does not short-circuit them), once
//! with the learned model and once rules only (`APFLOW_MODELS=/nonexistent`),
//! each on a fresh database.
//!
//!     cargo bench --bench ingest [-- N] [-- --postgres URL]
//!
//! N defaults to 300. With `--postgres URL` (a role that may create
//! databases, e.g. the URL `scripts/ensure-postgres.sh` prints) each run
//! gets a fresh PostgreSQL database on that server, dropped afterwards,
//! instead of a temporary SQLite file. With `--keep DIR` the invoices,
//! SQLite databases and the runs' logs are written to DIR and kept, to
//! look at or to profile the same batch by hand. `--rules-only` skips the
//! run with the model. `--apflow PATH` runs another build of `apflow` (an
//! older commit's, to compare on the same machine at the same time). Prints invoices per second over the whole
//! command (start, migrations, model load, every document read in the
//! isolated reader, extracted, decided and committed, the outcome printed)
//! and the peak resident memory of the largest process of the run (the
//! `apflow` parent or one of its `read-worker` children). Plain
//! `std::time`; compare numbers from the same machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apflow::extract::model::synth;

struct Run {
    took: Duration,
    peak_rss_kib: i64,
    outcomes: usize,
    statuses: Vec<(String, usize)>,
}

/// Runs `apflow ingest` on the files and waits for it with `wait4`, whose
/// `ru_maxrss` is the peak of that child and of the children it reaped.
/// Its log (stderr, at the default level, as an operator sees it) goes to
/// `log`.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also reports its peak memory"
)]
fn ingest(
    exe: &Path,
    root: &Path,
    db: &str,
    files: &[PathBuf],
    models: Option<&str>,
    log: &Path,
) -> Run {
    let mut cmd = Command::new(exe);
    cmd.current_dir(root)
        .arg("--database-url")
        .arg(db)
        .arg("ingest")
        .args(files)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("create the log file"));
    if let Some(m) = models {
        cmd.env("APFLOW_MODELS", m);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start apflow");
    let mut out = String::new();
    {
        use std::io::Read;
        let mut stdout = child.stdout.take().expect("stdout pipe");
        stdout.read_to_string(&mut out).expect("read apflow output");
    }
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `child` is not waited for again.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = start.elapsed();
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    // Exit 1 means some document was rejected; the statuses below say so.
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) > 1 {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        for l in tail.iter().rev() {
            eprintln!("{l}");
        }
        panic!("apflow ingest failed (wait status {status}); its log ends as above");
    }
    let mut statuses: Vec<(String, usize)> = Vec::new();
    let mut outcomes = 0;
    for line in out.lines() {
        outcomes += 1;
        // `PATH: invoice ID STATUS [reasons]` or `PATH: - STATUS: detail`.
        let status = line
            .split_once(": ")
            .map(|(_, rest)| rest)
            .and_then(|rest| {
                let rest = rest.strip_prefix("invoice ").unwrap_or(rest);
                rest.split_whitespace().nth(1)
            })
            .unwrap_or("?")
            .trim_end_matches(':')
            .to_string();
        match statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => statuses.push((status, 1)),
        }
    }
    statuses.sort();
    Run {
        took,
        peak_rss_kib: usage.ru_maxrss,
        outcomes,
        statuses,
    }
}

fn report(label: &str, n: usize, run: &Run) {
    let secs = run.took.as_secs_f64();
    println!(
        "ingest{label}: {n} invoices in {secs:.2} s: {:.1} invoices/s; peak RSS {:.0} MiB",
        n as f64 / secs,
        run.peak_rss_kib as f64 / 1024.0
    );
    let statuses: Vec<String> = run
        .statuses
        .iter()
        .map(|(s, c)| format!("{s} {c}"))
        .collect();
    println!(
        "    {} outcomes printed: {}",
        run.outcomes,
        statuses.join(", ")
    );
    if run.outcomes != n {
        println!("    WARNING: expected {n} outcomes");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut n = 300usize;
    let mut postgres: Option<String> = None;
    let mut keep: Option<PathBuf> = None;
    let mut rules_only = false;
    let mut exe = PathBuf::from(env!("CARGO_BIN_EXE_apflow"));
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--postgres" => {
                i += 1;
                postgres = Some(args.get(i).expect("--postgres URL").clone());
            }
            "--rules-only" => rules_only = true,
            "--apflow" => {
                i += 1;
                exe = PathBuf::from(args.get(i).expect("--apflow PATH"));
            }
            "--keep" => {
                i += 1;
                keep = Some(PathBuf::from(args.get(i).expect("--keep DIR")));
            }
            // `cargo bench` passes `--bench` to harness-less benches.
            a if a.starts_with("--") => {}
            a => n = a.parse().expect("N: a number of invoices"),
        }
        i += 1;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = match &keep {
        Some(d) => {
            std::fs::create_dir_all(d).expect("create the --keep folder");
            for name in ["bench.db", "bench_rules.db"] {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(d.join(format!("{name}{suffix}")));
                }
            }
            d.clone()
        }
        None => tmp.path().to_path_buf(),
    };
    let t = Instant::now();
    let files: Vec<PathBuf> = (0..n)
        .map(|i| {
            // Seeds far from the ones `apflow train` uses by default.
            let inv = synth::generate(1_000_000 + i as u64);
            let path = dir.join(format!("invoice-{i:05}.pdf"));
            std::fs::write(&path, &inv.pdf).expect("write invoice");
            path
        })
        .collect();
    println!(
        "generated {n} synthetic born-digital invoices in {:.1} s ({})",
        t.elapsed().as_secs_f64(),
        exe.display()
    );
    let with_model = root.join("models").join(synth_model_marker());
    if !with_model.exists() {
        println!(
            "note: {} is missing (run scripts/fetch-model.sh): the first run is rules only too",
            with_model.display()
        );
    }
    let runs: [(&str, &str, Option<&str>); 2] = [
        ("", "bench", None),
        (" (rules only)", "bench_rules", Some("/nonexistent")),
    ];
    for (label, name, models) in runs {
        if rules_only && models.is_none() {
            continue;
        }
        let log = dir.join(format!("{name}.log"));
        let run = match &postgres {
            Some(admin) => {
                let name = format!("apflow_bench_{}_{name}", std::process::id());
                let url = pg_database(admin, &name, true);
                let run = ingest(&exe, &root, &url, &files, models, &log);
                pg_database(admin, &name, false);
                run
            }
            None => {
                let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
                ingest(&exe, &root, &url, &files, models, &log)
            }
        };
        report(
            &format!(
                "{label}{}",
                if postgres.is_some() {
                    " [postgres]"
                } else {
                    ""
                }
            ),
            n,
            &run,
        );
    }
}

/// Drops database `name` on the server of `admin` and, with `create`,
/// creates it afresh; returns its URL.
fn pg_database(admin: &str, name: &str, create: bool) -> String {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(admin)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut conn)
        .await
        .expect("drop the bench database");
        if create {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create the bench database");
        }
    });
    let (server, _) = admin.rsplit_once('/').expect("database URL has a path");
    format!("{server}/{name}")
}

/// The embedding model's folder, whose absence makes extraction rules only.
fn synth_model_marker() -> &'static str {
    apflow::extract::model::EMBEDDER_DIR
}

//! In-process counters for `/metrics`: job latency as a Prometheus
//! histogram. Counts that live in the database (documents by stage, queue
//! depth) are read from there at scrape time, so they agree across workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Cumulative counts per bucket; the last slot is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    failures: AtomicU64,
    /// Passwords checked by argon2 at login (known and unknown names
    /// alike); throttled attempts never get this far.
    password_checks: AtomicU64,
}

impl Metrics {
    pub fn observe_job(&self, took: Duration, ok: bool) {
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn count_password_check(&self) {
        self.password_checks.fetch_add(1, Ordering::Relaxed);
    }

    /// Login passwords checked so far by this process.
    pub fn password_checks(&self) -> u64 {
        self.password_checks.load(Ordering::Relaxed)
    }

    /// Renders the histogram and failure counter in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP apflow_job_duration_seconds Time to run one pipeline job."
        );
        let _ = writeln!(out, "# TYPE apflow_job_duration_seconds histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "apflow_job_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "apflow_job_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "apflow_job_duration_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "apflow_job_duration_seconds_count {count}");
        counter(
            out,
            "apflow_job_failures_total",
            "Job attempts that failed and will be retried or dead-lettered.",
            self.failures.load(Ordering::Relaxed),
        );
        counter(
            out,
            "apflow_password_checks_total",
            "Login passwords checked (attempts that passed the throttle).",
            self.password_checks(),
        );
    }
}

/// One Prometheus counter: its help, its type and its value.
fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    use std::fmt::Write;
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let _ = writeln!(out, "{name} {value}");
}

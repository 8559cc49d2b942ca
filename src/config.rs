//! Settings: defaults, then `apflow.toml` (or `--config FILE`), then
//! `APFLOW_*` environment variables, then command-line flags. The raw file
//! is parsed into `RawSettings` and checked into `Settings`, naming the bad
//! key when a value is wrong. This is the only module that reads settings
//! from the environment; secrets a setting points to (a password file, a
//! token command) are read where they are used, so they never sit in
//! `Settings`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::matching::Tolerances;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the configuration file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}")]
    Parse {
        path: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {key}: {value:?} ({expected})")]
    Invalid {
        key: String,
        value: String,
        expected: &'static str,
    },
}

/// `[[mailbox]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    name: String,
    host: String,
    port: Option<u16>,
    tls: Option<String>,
    ca_file: Option<PathBuf>,
    username: String,
    password_file: Option<PathBuf>,
    password_env: Option<String>,
    oauth2_token_file: Option<PathBuf>,
    oauth2_token_command: Option<String>,
    folder: Option<String>,
    folders: Option<Vec<String>>,
    processed_folder: Option<String>,
    after_import: Option<String>,
    idle: Option<bool>,
    poll_interval_secs: Option<u64>,
}

impl RawMailbox {
    fn check(self) -> Result<crate::capture::imap::Mailbox, Error> {
        use crate::capture::imap::{AfterImport, Credential, Mailbox, Tls};
        let name = self.name;
        let invalid = |key: &str, value: String, expected: &'static str| Error::Invalid {
            key: format!("mailbox.{name}.{key}"),
            value,
            expected,
        };
        let tls = match self.tls.as_deref().unwrap_or("implicit") {
            "implicit" => Tls::Implicit,
            "starttls" => Tls::StartTls,
            "none" => Tls::None,
            other => return Err(invalid("tls", other.into(), "implicit, starttls or none")),
        };
        let mut credentials = Vec::new();
        credentials.extend(self.password_file.map(Credential::PasswordFile));
        credentials.extend(self.password_env.map(Credential::PasswordEnv));
        credentials.extend(self.oauth2_token_file.map(Credential::TokenFile));
        credentials.extend(self.oauth2_token_command.map(Credential::TokenCommand));
        if credentials.len() != 1 {
            return Err(invalid(
                "password_file",
                format!("{} ways to log in given", credentials.len()),
                "exactly one of password_file, password_env, oauth2_token_file, oauth2_token_command",
            ));
        }
        let credential = credentials.remove(0);
        let folders = match (self.folder, self.folders) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "folders",
                    "both folder and folders".into(),
                    "one of them",
                ));
            }
            (Some(f), None) => vec![f],
            (None, Some(fs)) if !fs.is_empty() => fs,
            (None, Some(_)) => return Err(invalid("folders", "[]".into(), "at least one folder")),
            (None, None) => vec!["INBOX".to_string()],
        };
        let processed = self.processed_folder.unwrap_or_else(|| "Processed".into());
        let after_import = match self.after_import.as_deref().unwrap_or("move") {
            "move" => AfterImport::Move(processed),
            "flag" => AfterImport::Flag,
            other => return Err(invalid("after_import", other.into(), "move or flag")),
        };
        if let AfterImport::Move(target) = &after_import
            && folders.contains(target)
        {
            return Err(invalid(
                "processed_folder",
                target.clone(),
                "a folder that is not watched",
            ));
        }
        let default_port = if tls == Tls::Implicit { 993 } else { 143 };
        Ok(Mailbox {
            port: self.port.unwrap_or(default_port),
            ca_file: self.ca_file,
            host: self.host,
            tls,
            username: self.username,
            credential,
            folders,
            after_import,
            idle: self.idle.unwrap_or(true),
            poll_interval: Duration::from_secs(self.poll_interval_secs.unwrap_or(60).max(1)),
            name,
        })
    }
}

/// `[[approval_rule]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovalRule {
    name: String,
    non_po: Option<bool>,
    above: Option<String>,
    vendor: Option<String>,
    cost_centre: Option<String>,
    #[serde(default)]
    approvers: Vec<String>,
    approvals: Option<u32>,
}

/// `inbox = "./inbox"` or `[inbox] path = "./inbox"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawInbox {
    Path(PathBuf),
    Table { path: PathBuf },
}

/// The file as written; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    database_url: Option<String>,
    bind: Option<String>,
    inbox: Option<RawInbox>,
    #[serde(default)]
    mailbox: Vec<RawMailbox>,
    #[serde(default)]
    approval_rule: Vec<RawApprovalRule>,
    workers: Option<usize>,
    poll_interval_secs: Option<u64>,
    job_lease_secs: Option<u64>,
    max_attempts: Option<i64>,
    read_timeout_secs: Option<u64>,
    max_pages: Option<u64>,
    extract_ms_per_page: Option<u64>,
    ocr_languages: Option<String>,
    secure_cookies: Option<bool>,
    metrics_token: Option<String>,
    metrics_public: Option<bool>,
    second_approval_above: Option<String>,
    notify_command: Option<String>,
    price_tolerance_pct: Option<String>,
    min_confidence: Option<f32>,
    payer_name: Option<String>,
    payer_iban: Option<String>,
    payer_bic: Option<String>,
    cost_of_capital_pct: Option<String>,
    bank_holidays: Option<Vec<String>>,
    run_cash_limit: Option<String>,
    run_approval_limit: Option<String>,
    auto_pay_runs: Option<bool>,
    today: Option<String>,
    payment_webhook_url: Option<String>,
    payment_webhook_secret_file: Option<PathBuf>,
    audit_key: Option<String>,
    audit_key_file: Option<PathBuf>,
}

/// Validated settings the rest of apflow uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://./data/apflow.db` (default) or `postgres://...`.
    pub database_url: String,
    pub bind: String,
    /// Folder watched for new documents; `processed/` and `failed/` live in it.
    pub inbox: PathBuf,
    /// Mailboxes polled for invoices (`[[mailbox]]`).
    pub mailboxes: Vec<crate::capture::imap::Mailbox>,
    /// Pipeline workers in this process.
    pub workers: usize,
    pub poll_interval: Duration,
    /// How long a claimed job stays leased without a heartbeat before another
    /// worker may take it over; running workers renew it every quarter of
    /// this, so it bounds how long a dead process's job waits.
    pub job_lease: Duration,
    /// Attempts before a job goes to the dead-letter state.
    pub max_attempts: i64,
    /// Upper bound on reading one document.
    pub read_timeout: Duration,
    /// Most pages one document may have; a longer one is rejected with the
    /// reason before extraction (size budget).
    pub max_pages: usize,
    /// Extraction time allowed per page, on top of `extract_time_base`:
    /// a document whose extraction takes longer is rejected with the reason
    /// instead of holding a worker (see [`Settings::extraction_budget`]).
    pub extract_time_per_page: Duration,
    /// Extraction time every document is allowed whatever its length (the
    /// model loading on first use, a slow machine under load): 30 s.
    pub extract_time_base: Duration,
    /// Tesseract languages for scans, `+`-joined (`eng+deu+fra`).
    pub ocr_languages: String,
    /// Mark the session cookie `Secure` (serve behind HTTPS); `None`:
    /// yes unless `bind` is a loopback address ([`Settings::cookies_secure`]).
    pub secure_cookies: Option<bool>,
    /// The bearer token `/metrics` wants (`APFLOW_METRICS_TOKEN`); an
    /// admin's session may read it too.
    pub metrics_token: Option<Secret>,
    /// Anyone may read `/metrics` (an operator's explicit choice).
    pub metrics_public: bool,
    /// Invoices above this total need two different approvers.
    pub second_approval_above: Option<Decimal>,
    /// Run for every review event (approval requested, approved, ...), the
    /// event as JSON on stdin: how people get emails (`mail`, `sendmail`)
    /// or chat messages.
    pub notify_command: Option<String>,
    /// Who must approve which invoices.
    pub approval_rules: Vec<crate::workflow::review::ApprovalRule>,
    /// The `apflow` binary, to read PDFs and images in child processes;
    /// set by the command line, `None` (in-process) for library users.
    pub reader_exe: Option<PathBuf>,
    pub tolerances: Tolerances,
    /// Fields the decision uses must be read with at least this confidence
    /// for an invoice to go through untouched.
    pub min_confidence: f32,
    /// The paying company's account, for payment files.
    pub payer: crate::payment::sepa::Debtor,
    pub cost_of_capital_pct: Decimal,
    pub bank_holidays: Vec<chrono::NaiveDate>,
    /// Most a single payment run may pay out; the smallest items wait.
    pub run_cash_limit: Option<Decimal>,
    /// Runs paying more than this wait for an approver.
    pub run_approval_limit: Option<Decimal>,
    /// `serve` creates each day's payment run by itself (EUR, SEPA).
    pub auto_pay_runs: bool,
    /// Run as of this date instead of the clock (demos, replaying history).
    pub today: Option<chrono::NaiveDate>,
    /// Called for every payment of a run, when configured.
    pub payment_webhook: Option<crate::workflow::payments::Webhook>,
    /// Keys the audit log's MAC chain (`audit_key`, else `audit_key_file`,
    /// else `audit.key` beside the SQLite database or in `./data`). Kept
    /// out of the database so that database access alone cannot rewrite
    /// the log unnoticed.
    pub audit_key: crate::store::AuditKeySource,
}

/// A secret setting (a token the server compares requests against): its
/// `Debug` never shows it, so printing `Settings` cannot leak it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Whether `sent` is the secret. The SHA-256 digests are compared, so
    /// the time taken does not tell how much of a guess was right.
    pub fn matches(&self, sent: &str) -> bool {
        crate::domain::sha256_hex(sent.as_bytes()) == crate::domain::sha256_hex(self.0.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// `127.0.0.1:8080`, `[::1]:80`, `localhost:8080`: reachable from this
/// machine only.
fn bind_is_loopback(bind: &str) -> bool {
    let host = bind.rsplit_once(':').map_or(bind, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: "sqlite://./data/apflow.db".to_string(),
            bind: "127.0.0.1:8080".to_string(),
            inbox: PathBuf::from("./inbox"),
            mailboxes: Vec::new(),
            workers: 2,
            poll_interval: Duration::from_secs(2),
            job_lease: Duration::from_secs(8),
            max_attempts: 5,
            read_timeout: Duration::from_secs(120),
            max_pages: 5_000,
            extract_time_per_page: Duration::from_millis(100),
            extract_time_base: Duration::from_secs(30),
            ocr_languages: crate::read::ocr::OcrOptions::default().languages,
            reader_exe: None,
            secure_cookies: None,
            metrics_token: None,
            metrics_public: false,
            second_approval_above: Some(Decimal::from(10_000)),
            notify_command: None,
            approval_rules: Vec::new(),
            tolerances: Tolerances::default(),
            min_confidence: crate::validate::MIN_CONFIDENCE,
            payer: crate::payment::sepa::Debtor {
                name: "apflow demo payer".to_string(),
                iban: "DE89370400440532013000".to_string(),
                bic: None,
            },
            cost_of_capital_pct: Decimal::new(8, 0),
            bank_holidays: Vec::new(),
            run_cash_limit: None,
            run_approval_limit: None,
            auto_pay_runs: false,
            today: None,
            payment_webhook: None,
            audit_key: crate::store::AuditKeySource::Default,
        }
    }
}

impl Settings {
    /// How long extracting a document of `pages` pages may take. Linear in
    /// the pages because extraction is (`benches/pages.rs` shows the
    /// curve); the default is tens of times what a page takes on two cores
    /// (about 2 ms), so only a document that trips a pathological path
    /// reaches it.
    pub fn extraction_budget(&self, pages: usize) -> Duration {
        self.extract_time_base
            + self.extract_time_per_page * u32::try_from(pages).unwrap_or(u32::MAX)
    }

    /// How documents are read under these settings.
    pub fn read_options(&self, visual_only: bool) -> crate::read::ReadOptions {
        crate::read::ReadOptions {
            visual_only,
            ocr: crate::read::ocr::OcrOptions {
                languages: self.ocr_languages.clone(),
                tessdata: None,
            },
            isolate: self.reader_exe.clone(),
        }
    }

    /// Whether the session cookie is marked `Secure`: as configured, else
    /// yes unless the server listens on a loopback address only (a
    /// browser sends `Secure` cookies over plain HTTP only to localhost,
    /// and a server reachable from elsewhere should sit behind TLS).
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| !bind_is_loopback(&self.bind))
    }

    /// The date decisions are made on: the configured `today`, else the
    /// clock.
    pub fn today(&self) -> chrono::NaiveDate {
        self.today
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
    }

    /// Scheduling policy for `payment::plan`.
    pub fn payment_policy(&self) -> crate::payment::PaymentPolicy {
        crate::payment::PaymentPolicy {
            cost_of_capital_pct: self.cost_of_capital_pct,
            bank_holidays: self.bank_holidays.clone(),
            today: self.today(),
        }
    }

    /// Loads settings from `file` (or `./apflow.toml` if it exists) and the
    /// process environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, Error> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("APFLOW_"))
            .collect();
        Settings::from_sources(file, &env)
    }

    /// As [`Settings::load`], with the environment given (for tests).
    pub fn from_sources(file: Option<&Path>, env: &[(String, String)]) -> Result<Settings, Error> {
        let default_file = Path::new("apflow.toml");
        let path = file.or(default_file.exists().then_some(default_file));
        let mut raw = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| Error::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| Error::Parse {
                    path: p.display().to_string(),
                    source: Box::new(source),
                })?
            }
            None => RawSettings::default(),
        };
        for (key, value) in env {
            let parse_num = |expected| {
                value.trim().parse::<u64>().map_err(|_| Error::Invalid {
                    key: key.clone(),
                    value: value.clone(),
                    expected,
                })
            };
            match key.as_str() {
                "APFLOW_DATABASE_URL" => raw.database_url = Some(value.clone()),
                "APFLOW_BIND" => raw.bind = Some(value.clone()),
                "APFLOW_INBOX" => raw.inbox = Some(RawInbox::Path(PathBuf::from(value))),
                "APFLOW_WORKERS" => {
                    raw.workers =
                        Some(usize::try_from(parse_num("a whole number")?).unwrap_or(usize::MAX))
                }
                "APFLOW_POLL_INTERVAL_SECS" => raw.poll_interval_secs = Some(parse_num("seconds")?),
                "APFLOW_JOB_LEASE_SECS" => raw.job_lease_secs = Some(parse_num("seconds")?),
                "APFLOW_MAX_ATTEMPTS" => {
                    raw.max_attempts =
                        Some(i64::try_from(parse_num("a whole number")?).unwrap_or(i64::MAX))
                }
                "APFLOW_READ_TIMEOUT_SECS" => raw.read_timeout_secs = Some(parse_num("seconds")?),
                "APFLOW_MAX_PAGES" => raw.max_pages = Some(parse_num("a whole number")?),
                "APFLOW_EXTRACT_MS_PER_PAGE" => {
                    raw.extract_ms_per_page = Some(parse_num("milliseconds")?)
                }
                "APFLOW_OCR_LANGUAGES" => raw.ocr_languages = Some(value.clone()),
                "APFLOW_SECOND_APPROVAL_ABOVE" => raw.second_approval_above = Some(value.clone()),
                "APFLOW_NOTIFY_COMMAND" => raw.notify_command = Some(value.clone()),
                "APFLOW_METRICS_TOKEN" => raw.metrics_token = Some(value.clone()),
                "APFLOW_METRICS_PUBLIC" => {
                    raw.metrics_public = Some(matches!(value.trim(), "1" | "true" | "yes"))
                }
                "APFLOW_SECURE_COOKIES" => {
                    raw.secure_cookies = Some(matches!(value.trim(), "1" | "true" | "yes"))
                }
                "APFLOW_PRICE_TOLERANCE_PCT" => raw.price_tolerance_pct = Some(value.clone()),
                "APFLOW_PAYER_NAME" => raw.payer_name = Some(value.clone()),
                "APFLOW_PAYER_IBAN" => raw.payer_iban = Some(value.clone()),
                "APFLOW_PAYER_BIC" => raw.payer_bic = Some(value.clone()),
                "APFLOW_COST_OF_CAPITAL_PCT" => raw.cost_of_capital_pct = Some(value.clone()),
                "APFLOW_RUN_CASH_LIMIT" => raw.run_cash_limit = Some(value.clone()),
                "APFLOW_RUN_APPROVAL_LIMIT" => raw.run_approval_limit = Some(value.clone()),
                "APFLOW_AUTO_PAY_RUNS" => {
                    raw.auto_pay_runs = Some(matches!(value.trim(), "1" | "true" | "yes"))
                }
                "APFLOW_TODAY" => raw.today = Some(value.clone()),
                "APFLOW_PAYMENT_WEBHOOK_URL" => raw.payment_webhook_url = Some(value.clone()),
                "APFLOW_PAYMENT_WEBHOOK_SECRET_FILE" => {
                    raw.payment_webhook_secret_file = Some(PathBuf::from(value))
                }
                "APFLOW_AUDIT_KEY" => raw.audit_key = Some(value.clone()),
                "APFLOW_AUDIT_KEY_FILE" => raw.audit_key_file = Some(PathBuf::from(value)),
                "APFLOW_MIN_CONFIDENCE" => {
                    raw.min_confidence = Some(value.trim().parse().map_err(|_| Error::Invalid {
                        key: key.clone(),
                        value: value.clone(),
                        expected: "a number from 0 to 1",
                    })?)
                }
                _ => {}
            }
        }
        let mut s = Settings::default();
        if let Some(v) = raw.database_url {
            s.database_url = v;
        }
        if let Some(v) = raw.bind {
            s.bind = v;
        }
        if let Some(v) = raw.inbox {
            s.inbox = match v {
                RawInbox::Path(p) | RawInbox::Table { path: p } => p,
            };
        }
        for r in raw.approval_rule {
            let key = format!("approval_rule.{}", r.name);
            let above = match r.above {
                Some(a) => Some(a.trim().parse().map_err(|_| Error::Invalid {
                    key: format!("{key}.above"),
                    value: a.clone(),
                    expected: "an amount",
                })?),
                None => None,
            };
            let approvals = r.approvals.unwrap_or(1);
            if !(1..=5).contains(&approvals) {
                return Err(Error::Invalid {
                    key: format!("{key}.approvals"),
                    value: approvals.to_string(),
                    expected: "1 to 5",
                });
            }
            s.approval_rules
                .push(crate::workflow::review::ApprovalRule {
                    name: r.name,
                    non_po: r.non_po,
                    above,
                    vendor: r.vendor,
                    cost_centre: r.cost_centre,
                    approvers: r.approvers,
                    approvals,
                });
        }
        for m in raw.mailbox {
            s.mailboxes.push(m.check()?);
        }
        if let Some(v) = raw.workers {
            if v == 0 || v > 64 {
                return Err(Error::Invalid {
                    key: "workers".into(),
                    value: v.to_string(),
                    expected: "1 to 64",
                });
            }
            s.workers = v;
        }
        if let Some(v) = raw.poll_interval_secs {
            s.poll_interval = Duration::from_secs(v.max(1));
        }
        if let Some(v) = raw.job_lease_secs {
            s.job_lease = Duration::from_secs(v.max(5));
        }
        if let Some(v) = raw.max_attempts {
            if v < 1 {
                return Err(Error::Invalid {
                    key: "max_attempts".into(),
                    value: v.to_string(),
                    expected: "at least 1",
                });
            }
            s.max_attempts = v;
        }
        if let Some(v) = raw.notify_command.filter(|c| !c.trim().is_empty()) {
            s.notify_command = Some(v);
        }
        if let Some(v) = raw.second_approval_above {
            s.second_approval_above = if v.trim() == "none" {
                None
            } else {
                Some(v.trim().parse().map_err(|_| Error::Invalid {
                    key: "second_approval_above".into(),
                    value: v.clone(),
                    expected: "an amount, or \"none\"",
                })?)
            };
        }
        s.metrics_token = raw
            .metrics_token
            .filter(|t| !t.trim().is_empty())
            .map(|t| Secret(t.trim().to_string()));
        if let Some(v) = raw.metrics_public {
            s.metrics_public = v;
        }
        if let Some(v) = raw.secure_cookies {
            s.secure_cookies = Some(v);
        }
        if let Some(v) = raw.ocr_languages {
            let ok = !v.is_empty()
                && v.split('+').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
            if !ok {
                return Err(Error::Invalid {
                    key: "ocr_languages".into(),
                    value: v,
                    expected: "Tesseract language codes joined by + (eng+deu)",
                });
            }
            s.ocr_languages = v;
        }
        if let Some(v) = raw.read_timeout_secs {
            s.read_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = raw.max_pages {
            s.max_pages = usize::try_from(v.max(1)).unwrap_or(usize::MAX);
        }
        if let Some(v) = raw.extract_ms_per_page {
            s.extract_time_per_page = Duration::from_millis(v);
        }
        if let Some(v) = raw.price_tolerance_pct {
            s.tolerances.price_pct = v
                .trim()
                .parse::<Decimal>()
                .ok()
                .filter(|d| !d.is_sign_negative())
                .ok_or(Error::Invalid {
                    key: "price_tolerance_pct".into(),
                    value: v.clone(),
                    expected: "a percentage such as 2.5",
                })?;
        }
        let decimal = |key: &str, v: &str| {
            v.trim().parse::<Decimal>().map_err(|_| Error::Invalid {
                key: key.into(),
                value: v.to_string(),
                expected: "a decimal number",
            })
        };
        let date = |key: &str, v: &str| {
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| Error::Invalid {
                key: key.into(),
                value: v.to_string(),
                expected: "a date YYYY-MM-DD",
            })
        };
        if let Some(v) = raw.payer_name {
            s.payer.name = v;
        }
        if let Some(v) = raw.payer_iban {
            s.payer.iban = crate::extract::normalize::parse_iban(&v).ok_or(Error::Invalid {
                key: "payer_iban".into(),
                value: v.clone(),
                expected: "an IBAN with a valid checksum",
            })?;
        }
        if let Some(v) = raw.payer_bic {
            s.payer.bic = Some(v.trim().to_uppercase());
        }
        if let Some(v) = raw.cost_of_capital_pct {
            s.cost_of_capital_pct = decimal("cost_of_capital_pct", &v)?;
        }
        if let Some(v) = raw.run_cash_limit {
            s.run_cash_limit = Some(decimal("run_cash_limit", &v)?);
        }
        if let Some(v) = raw.auto_pay_runs {
            s.auto_pay_runs = v;
        }
        if let Some(v) = raw.run_approval_limit {
            s.run_approval_limit = Some(decimal("run_approval_limit", &v)?);
        }
        if let Some(v) = raw.bank_holidays {
            s.bank_holidays = v
                .iter()
                .map(|d| date("bank_holidays", d))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = raw.today {
            s.today = Some(date("today", &v)?);
        }
        if let Some(url) = raw.payment_webhook_url {
            // The secret comes from a file so that it is in no config file,
            // process list or log.
            let secret = match &raw.payment_webhook_secret_file {
                Some(f) => std::fs::read_to_string(f)
                    .map_err(|source| Error::Read {
                        path: f.display().to_string(),
                        source,
                    })?
                    .trim()
                    .to_string(),
                None => {
                    return Err(Error::Invalid {
                        key: "payment_webhook_secret_file".into(),
                        value: String::new(),
                        expected: "a file with the webhook's signing secret",
                    });
                }
            };
            s.payment_webhook = Some(crate::workflow::payments::Webhook {
                url,
                secret,
                attempts: 5,
                first_backoff: Duration::from_millis(500),
            });
        }
        s.audit_key = match (raw.audit_key, raw.audit_key_file) {
            (Some(key), _) => crate::store::AuditKeySource::Inline(key),
            (None, Some(file)) => crate::store::AuditKeySource::File(file),
            (None, None) => crate::store::AuditKeySource::Default,
        };
        if let Some(v) = raw.min_confidence {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::Invalid {
                    key: "min_confidence".into(),
                    value: v.to_string(),
                    expected: "a number from 0 to 1",
                });
            }
            s.min_confidence = v;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("apflow.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\nworkers = 4\n").expect("write config");
        let env = vec![
            ("APFLOW_WORKERS".to_string(), "3".to_string()),
            (
                "APFLOW_DATABASE_URL".to_string(),
                "postgres://x/y".to_string(),
            ),
        ];
        let s = Settings::from_sources(Some(&file), &env).expect("valid settings");
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.workers, 3);
        assert_eq!(s.database_url, "postgres://x/y");
        let bad = vec![("APFLOW_WORKERS".to_string(), "many".to_string())];
        let err = Settings::from_sources(Some(&file), &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("APFLOW_WORKERS"), "{err}");
        assert!(matches!(s.audit_key, crate::store::AuditKeySource::Default));
        let keyed = vec![(
            "APFLOW_AUDIT_KEY_FILE".to_string(),
            "/etc/apflow/audit.key".to_string(),
        )];
        let s = Settings::from_sources(Some(&file), &keyed).expect("valid settings");
        assert!(
            matches!(&s.audit_key, crate::store::AuditKeySource::File(p) if p == Path::new("/etc/apflow/audit.key"))
        );
        std::fs::write(&file, "audit_key = \"a secret of enough length\"\n").expect("write config");
        let s = Settings::from_sources(Some(&file), &keyed).expect("valid settings");
        assert!(
            matches!(s.audit_key, crate::store::AuditKeySource::Inline(_)),
            "the key itself wins over a key file"
        );
        assert!(
            !format!("{s:?}").contains("a secret"),
            "never in Debug output"
        );
        std::fs::write(&file, "colour = 1\n").expect("write config");
        assert!(Settings::from_sources(Some(&file), &[]).is_err());
    }

    #[test]
    fn mailboxes() {
        use crate::capture::imap::{AfterImport, Credential};
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("apflow.toml");
        let parse = |text: &str| {
            std::fs::write(&file, text).expect("write config");
            Settings::from_sources(Some(&file), &[])
        };
        let s = parse(
            "[[mailbox]]\nname = \"ap\"\nhost = \"imap.example.test\"\nusername = \"ap\"\npassword_file = \"pw\"\n\
             [[mailbox]]\nname = \"gmail\"\nhost = \"imap.gmail.com\"\nusername = \"ap@x.test\"\n\
             oauth2_token_command = \"oama access ap@x.test\"\nfolders = [\"INBOX\", \"Invoices\"]\nafter_import = \"flag\"\n",
        )
        .expect("valid mailboxes");
        let (ap, gmail) = (&s.mailboxes[0], &s.mailboxes[1]);
        assert_eq!(ap.port, 993);
        assert_eq!(ap.folders, ["INBOX"]);
        assert_eq!(ap.after_import, AfterImport::Move("Processed".into()));
        assert_eq!(ap.credential, Credential::PasswordFile("pw".into()));
        assert_eq!(gmail.folders, ["INBOX", "Invoices"]);
        assert_eq!(gmail.after_import, AfterImport::Flag);
        assert_eq!(
            gmail.credential,
            Credential::TokenCommand("oama access ap@x.test".into())
        );
        let base = "[[mailbox]]\nname = \"ap\"\nhost = \"h\"\nusername = \"u\"\n";
        for (extra, key) in [
            ("", "mailbox.ap.password_file"),
            (
                "password_file = \"a\"\npassword_env = \"B\"\n",
                "mailbox.ap.password_file",
            ),
            (
                "password_env = \"B\"\nafter_import = \"delete\"\n",
                "mailbox.ap.after_import",
            ),
            (
                "password_env = \"B\"\nfolders = [\"INBOX\", \"Processed\"]\n",
                "mailbox.ap.processed_folder",
            ),
            ("password_env = \"B\"\ntls = \"ssl\"\n", "mailbox.ap.tls"),
        ] {
            let err = parse(&format!("{base}{extra}")).unwrap_err().to_string();
            assert!(err.contains(key), "{extra:?}: {err}");
        }
    }

    #[test]
    fn approval_rules() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("apflow.toml");
        std::fs::write(
            &file,
            "[[approval_rule]]\nname = \"non-PO\"\nnon_po = true\nabove = \"1000\"\napprovals = 2\n\
             [[approval_rule]]\nname = \"facility\"\nvendor = \"V-1004\"\napprovers = [\"carol\"]\n",
        )
        .expect("write config");
        let s = Settings::from_sources(Some(&file), &[]).expect("valid rules");
        assert_eq!(s.approval_rules.len(), 2);
        assert_eq!(s.approval_rules[0].approvals, 2);
        assert_eq!(s.approval_rules[0].above, Some(Decimal::from(1000)));
        assert_eq!(s.approval_rules[1].approvers, ["carol"]);
        assert_eq!(s.approval_rules[1].approvals, 1);
        std::fs::write(&file, "[[approval_rule]]\nname = \"x\"\napprovals = 9\n").expect("write");
        let err = Settings::from_sources(Some(&file), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("approval_rule.x.approvals"), "{err}");
    }

    /// The session cookie is `Secure` unless the server listens on
    /// loopback only, or the setting says otherwise.
    #[test]
    fn secure_cookies_follow_the_bind_address() {
        for (bind, secure) in [
            ("127.0.0.1:8080", false),
            ("localhost:8080", false),
            ("[::1]:8080", false),
            ("0.0.0.0:8080", true),
            ("[::]:8080", true),
            ("10.1.2.3:80", true),
            ("apflow.example:443", true),
        ] {
            let s = Settings {
                bind: bind.into(),
                ..Settings::default()
            };
            assert_eq!(s.cookies_secure(), secure, "{bind}");
        }
        let forced = Settings {
            bind: "0.0.0.0:80".into(),
            secure_cookies: Some(false),
            ..Settings::default()
        };
        assert!(!forced.cookies_secure());
    }

    /// The metrics token comes from the environment and never shows in
    /// `Debug`.
    #[test]
    fn metrics_token_is_layered_and_redacted() {
        let env = [
            (
                "APFLOW_METRICS_TOKEN".to_string(),
                "s3cret-token".to_string(),
            ),
            ("APFLOW_METRICS_PUBLIC".to_string(), "false".to_string()),
        ];
        let s = Settings::from_sources(Some(Path::new("/nonexistent/apflow.toml")), &env);
        assert!(s.is_err(), "a missing explicit file is an error");
        let s = Settings::from_sources(None, &env).expect("settings");
        let token = s.metrics_token.as_ref().expect("token");
        assert!(token.matches("s3cret-token") && !token.matches("s3cret"));
        assert!(!s.metrics_public);
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}

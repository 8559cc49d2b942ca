//! The `apflow` command line. Thin: parses arguments, loads settings, calls
//! the stages, prints. `anyhow` lives here and in `main` only.

mod check;
mod eval;
mod import;
mod output;

pub use import::{Imported, import_file, import_text};

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::domain::{RawDocument, Source};
use crate::store::Store;
use crate::{capture, extract, read, web, workflow};

#[derive(Debug, Parser)]
#[command(
    name = "apflow",
    version,
    about = "Self-hosted accounts-payable invoice processing"
)]
pub struct Cli {
    /// Configuration file (default: ./apflow.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL, overriding the configuration (sqlite://PATH or postgres://...).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and extract one document and print the invoice (no database).
    Extract {
        file: PathBuf,
        /// Print one JSON object (field names as in the corpus truth files).
        #[arg(long)]
        json: bool,
        /// Ignore embedded e-invoice XML; read what a person sees.
        #[arg(long)]
        visual_only: bool,
        /// Also print the text lines as read (words with x positions), to
        /// see what the extraction rules saw.
        #[arg(long)]
        lines: bool,
    },
    /// Validate e-invoices (XML, or the XML a hybrid PDF carries) against
    /// the EN 16931 business rules, and XRechnung's where the invoice says
    /// so (no database). One line per finding; exit status 0 when valid
    /// (warnings allowed), 1 when a rule is broken, 2 when a file is
    /// unreadable.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print one JSON array, an object per file.
        #[arg(long)]
        json: bool,
    },
    /// Read one document and print what was read: pages with words, boxes
    /// (PDF points, top-left origin) and confidences, or the e-invoice
    /// (no database). For debugging and for the review screen's highlights.
    Read {
        file: PathBuf,
        /// Print JSON (otherwise one text line per line read).
        #[arg(long)]
        json: bool,
        /// Ignore embedded e-invoice XML; read what a person sees.
        #[arg(long)]
        visual_only: bool,
    },
    /// Internal: reads the document on stdin for an isolated read
    /// (`read::isolate`) and answers on stdout.
    #[command(hide = true)]
    ReadWorker {
        #[arg(long)]
        visual_only: bool,
        #[arg(long, default_value = "eng+deu")]
        ocr_languages: String,
    },
    /// Import master data (CSV or JSONL, chosen by file extension).
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
    },
    /// Run the whole pipeline on files and print each outcome.
    Ingest {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Poll every configured mailbox and the inbox folder, import, process.
    Capture {
        /// Poll once and exit (for cron, scripts and tests).
        #[arg(long)]
        once: bool,
    },
    /// Serve the web app and API, watch the inbox folder and mailboxes, run workers.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Load the sample data, process the sample invoices, then serve.
    Demo {
        /// Folder with vendors.jsonl, pos.jsonl, receipts.jsonl and invoices/.
        #[arg(long, default_value = "samples")]
        samples: PathBuf,
        #[arg(long)]
        bind: Option<String>,
        /// Load and process, print the outcome, but do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Payment runs: SEPA files for what is due, and the bank's answer.
    Pay {
        #[command(subcommand)]
        action: PayAction,
    },
    /// Vendor master data actions.
    Vendor {
        #[command(subcommand)]
        action: VendorAction,
    },
    /// The audit log: `apflow audit verify` checks its hash and MAC chains,
    /// `apflow audit anchor` prints its head to keep elsewhere.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// People who log in to the web app, and API tokens for integrations.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Derives the static token vectors the extraction model embeds
    /// neighbour text with, from the fetched BERT weights (once; about a
    /// minute; `make` runs it).
    Distill {
        /// The models folder (default: the one apflow loads from, else
        /// ./models).
        #[arg(long)]
        models: Option<PathBuf>,
        /// Derive them again even where they are there.
        #[arg(long)]
        force: bool,
    },
    /// Reproduces the shipped extraction model from synthetic invoices
    /// the project generates (minutes on two cores; see
    /// models/extraction/MODEL_CARD.md).
    Train {
        /// The models folder (default: the one apflow loads from, else
        /// ./models).
        #[arg(long)]
        models: Option<PathBuf>,
        #[arg(long, default_value_t = 2400)]
        documents: usize,
        /// Of the documents, how many are also rendered, degraded and OCR'd.
        #[arg(long, default_value_t = 400)]
        scans: usize,
        #[arg(long, default_value_t = 24)]
        epochs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A corpus root with splits.jsonl (repeatable): its `tune`
        /// documents are learned from too, labelled by its truth.jsonl;
        /// its `check` documents never are.
        #[arg(long, value_name = "DIR")]
        corpus: Vec<PathBuf>,
    },
    /// Per-field extraction accuracy against a folder's truth.jsonl; a
    /// corpus root with splits.jsonl is scored per source folder, `tune`
    /// and `check` side by side.
    Eval {
        dir: PathBuf,
        /// Ignore embedded e-invoice XML.
        #[arg(long)]
        visual_only: bool,
        /// Rules only, without the learned model: what the model adds is
        /// the difference.
        #[arg(long)]
        no_model: bool,
        /// Measure the scan path: every PDF page is rendered to an image
        /// at 300 dpi and read by OCR (implies --visual-only).
        #[arg(long)]
        scan: bool,
        #[arg(long)]
        json: bool,
        /// Print every wrong or missing field to stderr.
        #[arg(long)]
        verbose: bool,
        /// Keep each OCR'd document's pages (--scan, or a scan or photo
        /// read without a text layer) in this folder and reuse them on the
        /// next run, so that measuring a change to extraction takes
        /// seconds instead of minutes.
        #[arg(long, value_name = "DIR")]
        ocr_cache: Option<PathBuf>,
        /// Leave-one-out over the vendors with two or more hybrid PDFs:
        /// each read visually with and without the layout learned from
        /// the vendor's previous e-invoice.
        #[arg(long)]
        vendor_memory: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PayAction {
    /// Pay everything due on or before DATE: claims the payments and writes
    /// a SEPA credit-transfer file. Re-running pays nothing twice; with
    /// nothing new due it writes the open run's file of that date again.
    /// Every earlier released run whose file was never written is written
    /// next to it (`F` with `-run<ID>` before the extension).
    Run {
        /// Execution date (YYYY-MM-DD); default today.
        #[arg(long)]
        date: Option<String>,
        /// Where to write the pain.001 file.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// pain.001.001.03 (default) or .09.
        #[arg(long, default_value = "03")]
        format: String,
        /// Who creates the run (an admin); a run above the approval limit
        /// is then released by somebody else.
        #[arg(long)]
        by: String,
    },
    /// Approve a run above the approval limit, releasing its file. The
    /// approver must not be whoever created the run.
    Approve {
        run: i64,
        /// The approver: an active approver or admin user.
        #[arg(long)]
        by: String,
        /// Where to write the released pain.001 file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the stored pain.001 file of a run again, byte for byte (same
    /// message id, so the bank recognises a duplicate). A run awaiting
    /// approval has no file until `pay approve` releases it.
    File {
        run: i64,
        #[arg(long)]
        out: PathBuf,
    },
    /// List the payment runs: state, payments, total, approval, and
    /// whether their file was written.
    Runs,
    /// Export paid invoices for the ERP (CSV or JSON lines).
    Export {
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Apply a bank status report (pain.002): accepted transfers mark their
    /// invoices paid, rejected ones return them to the queue.
    Status {
        file: PathBuf,
        /// Who applies the report: an active admin user.
        #[arg(long)]
        by: String,
    },
    /// Send payments of open runs that the payment webhook has not
    /// confirmed yet (retries what failed before).
    Deliver,
    /// Record the bank's answer for a run: executed, or failed (the
    /// invoices return to the review queue with the reason).
    Mark {
        run: i64,
        #[arg(value_parser = ["executed", "failed"])]
        outcome: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// Who records it: an active admin user.
        #[arg(long)]
        by: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum VendorAction {
    /// Record that a person verified a new bank account of a vendor (by
    /// calling them on a known number, not the one on the invoice), and
    /// re-evaluate the invoices held for it.
    VerifyIban {
        vendor_id: String,
        iban: String,
        /// Who verified it; must not be the clerk who entered the change.
        #[arg(long)]
        by: String,
    },
    /// Record that a person refused a proposed bank account of a vendor
    /// (the vendor knows nothing of it).
    RefuseIban {
        vendor_id: String,
        iban: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Recompute the hash and MAC chains; exit 1 and name the first bad
    /// entry if an entry was edited, removed or inserted.
    Verify {
        /// An earlier `apflow audit anchor` (SEQ:MAC): also fail if the log
        /// no longer reaches it (entries cut off its end).
        #[arg(long)]
        anchor: Option<crate::store::AuditAnchor>,
    },
    /// Print the head of the MAC chain (SEQ:MAC), to keep somewhere the
    /// database's users cannot write, for `verify --anchor`.
    Anchor,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user (the first admin, then anyone). The password is read from
    /// --password-file, or from the first line of standard input.
    Add {
        username: String,
        #[arg(long, value_parser = ["clerk", "approver", "admin"])]
        role: String,
        /// The most an approver may approve alone.
        #[arg(long)]
        approval_limit: Option<rust_decimal::Decimal>,
        /// A budget the approver answers for (repeat for several; none:
        /// any).
        #[arg(long = "cost-centre")]
        cost_centres: Vec<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List the active users.
    List,
    /// Disable a user: they cannot log in, and their sessions and API
    /// tokens end at once.
    Disable { username: String },
    /// Let a disabled user log in again (their old sessions and tokens
    /// stay ended).
    Enable { username: String },
    /// Set a user's password (read from --password-file, or from the first
    /// line of standard input); their sessions end.
    Passwd {
        username: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Revoke a user's API tokens of this name (an integration retired or
    /// a token leaked).
    Revoke {
        username: String,
        #[arg(long, default_value = "api")]
        name: String,
    },
    /// An approver who is away hands their approvals to a colleague until
    /// a date (inclusive).
    Delegate {
        username: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        until: chrono::NaiveDate,
    },
    /// Create an API token for a user (printed once; only its hash is kept).
    Token {
        username: String,
        /// What the token is for, e.g. "ERP export".
        #[arg(long, default_value = "api")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportKind {
    Vendors,
    Pos,
    Receipts,
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> Result<i32> {
    if let Command::ReadWorker {
        visual_only,
        ocr_languages,
    } = &cli.command
    {
        // The child of an isolated read: no settings, no database.
        let options = read::ReadOptions {
            visual_only: *visual_only,
            ocr: read::ocr::OcrOptions {
                languages: ocr_languages.clone(),
                tessdata: None,
            },
            isolate: None,
        };
        return Ok(
            tokio::task::spawn_blocking(move || read::isolate::child_main(&options))
                .await
                .unwrap_or(2),
        );
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        settings.database_url = url;
    }
    // Native parsers run in child processes of this binary (not of a test
    // harness that links the library).
    settings.reader_exe = std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|s| s == "apflow"));
    match cli.command {
        Command::ReadWorker { .. } => Ok(2),
        Command::Extract {
            file,
            json,
            visual_only,
            lines,
        } => extract_cmd(&file, json, visual_only, lines, &settings).await,
        Command::Read {
            file,
            json,
            visual_only,
        } => read_cmd(&file, json, visual_only, &settings).await,
        Command::Check { files, json } => check::check_cmd(&files, json, &settings).await,
        Command::Import { kind, file } => {
            let store = open_store(&settings).await?;
            let r = import::import_file(&store, kind, &file).await?;
            println!(
                "imported {} {} from {}",
                r.records,
                import::noun(kind),
                file.display()
            );
            if r.ibans_pending > 0 {
                println!(
                    "{} new bank accounts of known vendors wait for verification by a second person (apflow vendor verify-iban)",
                    r.ibans_pending
                );
            }
            if r.reevaluated > 0 {
                println!(
                    "{} invoices waiting for this data were queued for re-evaluation",
                    r.reevaluated
                );
            }
            Ok(0)
        }
        Command::Ingest { files, json } => {
            let store = open_store(&settings).await?;
            ingest(&store, &settings, &files, json).await
        }
        Command::Capture { once } => {
            let store = open_store(&settings).await?;
            if !once {
                bail!("use `apflow capture --once`, or `apflow serve` to watch continuously");
            }
            let mut failed = false;
            let mut docs = 0;
            for mb in &settings.mailboxes {
                match capture::imap::poll(&store, &settings, mb).await {
                    Ok(r) => {
                        docs += r.documents;
                        println!(
                            "mailbox {}: {} messages, {} documents, {} imported before",
                            mb.name, r.messages, r.documents, r.already_imported
                        );
                    }
                    Err(e) => {
                        eprintln!("error: {}", workflow::error_chain(&e));
                        failed = true;
                    }
                }
            }
            let mut folder = capture::FolderWatcher::new(&settings.inbox)
                .with_context(|| format!("cannot prepare {}", settings.inbox.display()))?;
            // Two polls a moment apart: a file must keep its size to be taken.
            folder.poll().await?;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            for path in folder.poll().await? {
                match folder.take(&store, &settings, &path).await {
                    Ok(_) => docs += 1,
                    Err(reason) => eprintln!("error: {}: {reason}", path.display()),
                }
            }
            println!("{docs} documents captured");
            workflow::drain(&store, &settings, &[]).await?;
            Ok(if failed { 1 } else { 0 })
        }
        Command::Serve { bind } => {
            if let Some(b) = bind {
                settings.bind = b;
            }
            let store = open_store(&settings).await?;
            serve(store, settings).await?;
            Ok(0)
        }
        Command::Demo {
            samples,
            bind,
            no_serve,
        } => {
            if let Some(b) = bind {
                settings.bind = b;
            }
            let store = open_store(&settings).await?;
            for (kind, name) in [
                (ImportKind::Vendors, "vendors.jsonl"),
                (ImportKind::Pos, "pos.jsonl"),
                (ImportKind::Receipts, "receipts.jsonl"),
            ] {
                let r = import::import_file(&store, kind, &samples.join(name)).await?;
                println!("imported {} {}", r.records, import::noun(kind));
            }
            let mut files: Vec<PathBuf> = std::fs::read_dir(samples.join("invoices"))
                .with_context(|| format!("cannot list {}", samples.join("invoices").display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("pdf") || e.eq_ignore_ascii_case("xml")
                    })
                })
                .collect();
            files.sort();
            ingest(&store, &settings, &files, false).await?;
            demo_users(&store).await?;
            if no_serve {
                return Ok(0);
            }
            println!(
                "\nOpen http://{} to work the queue (Ctrl-C to stop).",
                settings.bind
            );
            serve(store, settings).await?;
            Ok(0)
        }
        Command::Pay { action } => {
            let store = open_store(&settings).await?;
            pay(&store, &settings, action).await
        }
        Command::Audit { action } => {
            let store = open_store(&settings).await?;
            audit_cmd(&store, action).await
        }
        Command::User { action } => {
            let store = open_store(&settings).await?;
            user_cmd(&store, action).await
        }
        Command::Vendor {
            action:
                VendorAction::RefuseIban {
                    vendor_id,
                    iban,
                    by,
                    reason,
                },
        } => {
            let store = Store::connect(&settings.database_url).await?;
            let user = acting_user(
                &store,
                &by,
                &[crate::domain::Role::Approver, crate::domain::Role::Admin],
                "refuse bank accounts",
            )
            .await?;
            match workflow::review::refuse_iban(&store, &vendor_id, &iban, &reason, &user).await {
                Ok(()) => {
                    println!(
                        "refused {} for {vendor_id} (by {by})",
                        crate::validate::mask_iban(&iban)
                    );
                    Ok(0)
                }
                Err(workflow::review::ReviewError::NotFound) => bail!("no vendor {vendor_id:?}"),
                Err(e) => bail!("{e}"),
            }
        }
        Command::Vendor {
            action:
                VendorAction::VerifyIban {
                    vendor_id,
                    iban,
                    by,
                },
        } => {
            let store = open_store(&settings).await?;
            // The verifier is a person with a login (approver or admin), so
            // segregation of duties can be checked.
            let user = acting_user(
                &store,
                &by,
                &[crate::domain::Role::Approver, crate::domain::Role::Admin],
                "verify bank accounts",
            )
            .await?;
            match workflow::review::verify_iban(&store, &vendor_id, &iban, &user).await {
                Ok(n) => {
                    println!(
                        "verified {} for {vendor_id} (by {by}); {n} held invoices queued for re-evaluation",
                        crate::validate::mask_iban(&iban)
                    );
                    Ok(0)
                }
                Err(workflow::review::ReviewError::NotFound) => bail!("no vendor {vendor_id:?}"),
                Err(e) => bail!("{e}"),
            }
        }
        Command::Eval {
            dir,
            visual_only,
            no_model,
            scan,
            json,
            verbose,
            ocr_cache,
            vendor_memory,
        } => {
            let mode = if scan {
                eval::Mode::Scan
            } else if visual_only {
                eval::Mode::Visual
            } else {
                eval::Mode::EInvoiceFirst
            };
            let model = if no_model {
                None
            } else {
                let model = extract::model::shipped().context(
                    "the extraction model is not installed (run `make`, or pass --no-model)",
                )?;
                let dir = extract::model::models_dir();
                if dir.and_then(|d| extract::model::trained_on_this_table(&d)) == Some(false) {
                    eprintln!(
                        "warning: the scorer was trained on another token table than this \
                         machine's (see metrics.json); figures may differ from the model \
                         card's. `make train` retrains it here."
                    );
                }
                Some(model)
            };
            let how = eval::Eval {
                mode,
                model,
                json,
                verbose,
                ocr_cache: ocr_cache.as_deref(),
                settings: &settings,
            };
            if vendor_memory {
                return eval::vendor_memory(&dir, &how).await;
            }
            eval::run(&dir, &how).await
        }
        Command::Distill { models, force } => {
            let dir = models
                .or_else(extract::model::models_dir)
                .unwrap_or_else(|| PathBuf::from("models"))
                .join(extract::model::EMBEDDER_DIR);
            let started = std::time::Instant::now();
            let out = extract::model::embed::distill(&dir, force)?;
            println!(
                "{} ({:.1}s)",
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(0)
        }
        Command::Train {
            models,
            documents,
            scans,
            epochs,
            seed,
            corpus,
        } => {
            let options = extract::model::train::TrainOptions {
                models: models
                    .or_else(extract::model::models_dir)
                    .unwrap_or_else(|| PathBuf::from("models")),
                documents,
                scans,
                epochs,
                seed,
                corpus,
            };
            let metrics = extract::model::train::train(&options, &mut |line| eprintln!("{line}"))?;
            println!(
                "wrote {} (held-out synthetic invoices: {}; see MODEL_CARD.md there)",
                options.models.join(extract::model::SCORER_DIR).display(),
                metrics.held_out
            );
            for (name, f) in &metrics.fields {
                let pct = |n: usize| 100.0 * n as f64 / f.labelled.max(1) as f64;
                println!(
                    "{name:<16} model+rules {:>6.1}%   rules {:>6.1}%",
                    pct(f.model_right),
                    pct(f.rules_right)
                );
            }
            Ok(0)
        }
    }
}

/// Reads one file for `extract` and `read`. A document the readers refuse
/// is said on stderr and gives `None` (exit code 2); only an unreadable file
/// is an error.
async fn read_file(
    file: &PathBuf,
    visual_only: bool,
    settings: &Settings,
) -> Result<Option<crate::domain::ReadDocument>> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = settings.read_options(visual_only);
    match read::read_document(Arc::new(bytes), options, settings.read_timeout).await {
        Ok(doc) => Ok(Some(doc)),
        Err(e) => {
            eprintln!("error: {}: {}", file.display(), workflow::error_chain(&e));
            Ok(None)
        }
    }
}

async fn extract_cmd(
    file: &PathBuf,
    json: bool,
    visual_only: bool,
    lines: bool,
    settings: &Settings,
) -> Result<i32> {
    let Some(doc) = read_file(file, visual_only, settings).await? else {
        return Ok(2);
    };
    if lines {
        for page in &doc.pages {
            for line in &page.lines {
                let words: Vec<String> = line
                    .words
                    .iter()
                    .map(|w| format!("{}@{:.0}", w.text, w.bbox.x0))
                    .collect();
                eprintln!(
                    "p{} y={:.0}: {}",
                    page.number,
                    line.bbox().map_or(0.0, |b| b.y1),
                    words.join(" ")
                );
            }
        }
    }
    let inv = workflow::extract_invoice(&doc);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output::invoice_json(&inv))?
        );
    } else {
        print!("{}", output::invoice_text(&inv));
    }
    Ok(0)
}

async fn read_cmd(
    file: &PathBuf,
    json: bool,
    visual_only: bool,
    settings: &Settings,
) -> Result<i32> {
    let Some(doc) = read_file(file, visual_only, settings).await? else {
        return Ok(2);
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&output::read_json(&doc))?
        );
    } else {
        for page in &doc.pages {
            for line in &page.lines {
                println!("p{}: {}", page.number, line.text());
            }
        }
        if let Some(inv) = &doc.einvoice {
            print!("{}", output::invoice_text(inv));
        }
    }
    Ok(0)
}

async fn user_cmd(store: &Store, action: UserAction) -> Result<i32> {
    match action {
        UserAction::Add {
            username,
            role,
            approval_limit,
            cost_centres,
            password_file,
        } => {
            let role = crate::domain::Role::parse(&role).context("unknown role")?;
            let hash = read_new_password(password_file.as_deref())?;
            match store
                .add_user_with_cost_centres(&username, &hash, role, approval_limit, &cost_centres)
                .await?
            {
                Some(id) => {
                    println!("user {username} ({}) added as #{id}", role.as_str());
                    Ok(0)
                }
                None => bail!("a user named {username} exists already"),
            }
        }
        UserAction::Disable { username } => set_disabled(store, &username, true).await,
        UserAction::Enable { username } => set_disabled(store, &username, false).await,
        UserAction::Passwd {
            username,
            password_file,
        } => {
            let (user, _) = store
                .user_by_name(&username)
                .await?
                .with_context(|| format!("no user named {username}"))?;
            let hash = read_new_password(password_file.as_deref())?;
            let ended = store.set_password(user.id, &hash).await?;
            store
                .audit(&crate::store::AuditEntry {
                    actor: "cli".into(),
                    action: "user.password_changed",
                    entity: "user",
                    entity_id: username.clone(),
                    detail: serde_json::json!({ "sessions_ended": ended }),
                })
                .await?;
            println!("password of {username} changed; {ended} session(s) ended");
            Ok(0)
        }
        UserAction::List => {
            for u in store.users().await? {
                let limit = u
                    .approval_limit
                    .map_or(String::new(), |l| format!(" (approves up to {l})"));
                println!("{}\t{}{limit}", u.username, u.role.as_str());
            }
            Ok(0)
        }
        UserAction::Delegate {
            username,
            to,
            until,
        } => {
            let users = store.users().await?;
            let find = |name: &str| {
                users
                    .iter()
                    .find(|u| u.username == name)
                    .with_context(|| format!("no active user named {name}"))
            };
            let (from, to_user) = (find(&username)?, find(&to)?);
            if from.id == to_user.id {
                bail!("one cannot stand in for oneself");
            }
            if !matches!(
                to_user.role,
                crate::domain::Role::Approver | crate::domain::Role::Admin
            ) {
                bail!("{to} is not an approver");
            }
            store.add_delegation(from.id, to_user.id, until).await?;
            store
                .audit(&crate::store::AuditEntry {
                    actor: "cli".into(),
                    action: "user.delegated",
                    entity: "user",
                    entity_id: username.clone(),
                    detail: serde_json::json!({ "to": to, "until": until.to_string() }),
                })
                .await?;
            println!("{to} approves for {username} until {until}");
            Ok(0)
        }
        UserAction::Revoke { username, name } => {
            let user = store
                .users()
                .await?
                .into_iter()
                .find(|u| u.username == username)
                .with_context(|| format!("no active user named {username}"))?;
            let n = store.revoke_api_tokens(user.id, &name).await?;
            store
                .audit(&crate::store::AuditEntry {
                    actor: "cli".into(),
                    action: "user.token_revoked",
                    entity: "user",
                    entity_id: username.clone(),
                    detail: serde_json::json!({ "name": name, "tokens": n }),
                })
                .await?;
            println!("revoked {n} API token(s) {name:?} of {username}");
            Ok(if n > 0 { 0 } else { 1 })
        }
        UserAction::Token { username, name } => {
            let user = store
                .users()
                .await?
                .into_iter()
                .find(|u| u.username == username)
                .with_context(|| format!("no active user named {username}"))?;
            let token = web::auth::new_secret();
            store
                .add_api_token(&web::auth::token_digest(&token), user.id, &name)
                .await?;
            println!("{token}");
            eprintln!(
                "API token {name:?} for {username} ({}): send it as `Authorization: Bearer <token>`; it is not shown again",
                user.role.as_str()
            );
            Ok(0)
        }
    }
}

/// The configured database, with the configured audit key.
async fn open_store(settings: &Settings) -> Result<Store> {
    Ok(Store::connect_with(&settings.database_url, &settings.audit_key).await?)
}

/// Reads a new password (from `file`, else the first line of standard
/// input), checks its length and hashes it; the password itself is never
/// printed.
fn read_new_password(file: Option<&std::path::Path>) -> Result<String> {
    let password = match file {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            line
        }
    };
    let password = password.trim_end_matches(['\r', '\n']);
    if password.chars().count() < 10 {
        bail!("the password needs at least 10 characters");
    }
    web::auth::hash_password(password).map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// `user disable` / `user enable`, audited; disabling ends the user's
/// sessions and revokes their API tokens.
async fn set_disabled(store: &Store, username: &str, disabled: bool) -> Result<i32> {
    let (user, was_disabled) = store
        .user_by_name(username)
        .await?
        .with_context(|| format!("no user named {username}"))?;
    if was_disabled == disabled {
        println!(
            "{username} is already {}",
            if disabled { "disabled" } else { "enabled" }
        );
        return Ok(0);
    }
    let (sessions, tokens) = store.set_user_disabled(user.id, disabled).await?;
    store
        .audit(&crate::store::AuditEntry {
            actor: "cli".into(),
            action: if disabled {
                "user.disabled"
            } else {
                "user.enabled"
            },
            entity: "user",
            entity_id: username.to_string(),
            detail: serde_json::json!({ "sessions_ended": sessions, "tokens_revoked": tokens }),
        })
        .await?;
    if disabled {
        println!("{username} disabled; {sessions} session(s) ended, {tokens} API token(s) revoked");
    } else {
        println!("{username} enabled");
    }
    Ok(0)
}

/// The person a CLI money action names with `--by`: an active user with
/// one of `roles`. The audit log records this name, so it must be a real
/// person who may do `action`, not free text.
async fn acting_user(
    store: &Store,
    name: &str,
    roles: &[crate::domain::Role],
    action: &str,
) -> Result<crate::domain::User> {
    let Some((user, disabled)) = store.user_by_name(name).await? else {
        bail!("--by {name}: no user of that name (add one with apflow user add)");
    };
    if disabled {
        bail!("--by {name}: the user is disabled");
    }
    if !roles.contains(&user.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        bail!(
            "--by {name}: a {} may not {action} (needs {})",
            user.role.as_str(),
            allowed.join(" or ")
        );
    }
    Ok(user)
}

/// The demo's people, one per role, with a password everyone knows: the
/// demo database is for trying apflow out, on 127.0.0.1.
async fn demo_users(store: &Store) -> Result<()> {
    if !store.users().await?.is_empty() {
        return Ok(());
    }
    for (name, role, limit) in [
        ("admin", crate::domain::Role::Admin, None),
        ("clerk", crate::domain::Role::Clerk, None),
        (
            "approver",
            crate::domain::Role::Approver,
            Some(rust_decimal::Decimal::from(10_000)),
        ),
    ] {
        let hash = web::auth::hash_password(&format!("demo-{name}-password"))
            .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))?;
        store.add_user(name, &hash, role, limit).await?;
    }
    println!(
        "demo users: admin / clerk / approver, password demo-<name>-password (e.g. demo-clerk-password)"
    );
    Ok(())
}

/// Writes a run's pain.001 file where the user asked and records that it
/// was handed out, so `pay run` stops offering it again. The file is
/// synced before it counts as written.
async fn write_run_file(
    store: &Store,
    run: &crate::store::PaymentRun,
    out: &std::path::Path,
) -> Result<()> {
    if !run.released() {
        bail!(
            "run {} awaits approval (above the run approval limit): its file is released only by `apflow pay approve {} --by NAME --out FILE`",
            run.id,
            run.id
        );
    }
    crate::failpoint::hit("run-before-file");
    let path = out.to_path_buf();
    let document = run.document.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&path)?;
        f.write_all(document.as_bytes())?;
        f.sync_all()
    })
    .await
    .context("the file writer stopped")?
    .with_context(|| format!("cannot write {}", out.display()))?;
    crate::failpoint::hit("run-file-written");
    store.mark_run_file_written(run.id).await?;
    println!(
        "wrote {} (run {}, {}, message {})",
        out.display(),
        run.id,
        run.version,
        run.message_id
    );
    Ok(())
}

/// Where `pay run --out F` puts an earlier run's file: F with `-run<ID>`
/// before the extension (`pay.xml` → `pay-run7.xml`).
fn sibling_path(out: &std::path::Path, run_id: i64) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match out.extension() {
        Some(ext) => format!("{stem}-run{run_id}.{}", ext.to_string_lossy()),
        None => format!("{stem}-run{run_id}"),
    };
    out.with_file_name(name)
}

/// Hands out every released open run whose file nobody received (other
/// than `except`, the run `pay run` just wrote): next to `out`, or, without
/// `--out`, names them and how to get them.
///
/// With a payment webhook configured the webhook is how runs reach the
/// bank (`pay deliver` retries it): a file as well could send a run twice,
/// so none is written then.
async fn write_unwritten_runs(
    store: &Store,
    settings: &Settings,
    out: Option<&std::path::Path>,
    except: Option<i64>,
) -> Result<()> {
    for run in store.unwritten_payment_runs().await? {
        if Some(run.id) == except {
            continue;
        }
        if settings.payment_webhook.is_some() {
            println!(
                "run {} of {} has no file; the payment webhook delivers it (apflow pay deliver)",
                run.id, run.run_date
            );
            continue;
        }
        match out {
            Some(out) => {
                println!(
                    "run {} of {} ({} payments, {} {}) had no file yet:",
                    run.id, run.run_date, run.payments, run.total, run.currency
                );
                write_run_file(store, &run, &sibling_path(out, run.id)).await?;
            }
            None => println!(
                "run {} of {} ({} payments, {} {}) has no file yet: apflow pay file {} --out FILE",
                run.id, run.run_date, run.payments, run.total, run.currency, run.id
            ),
        }
    }
    Ok(())
}

/// Calls the payment webhook, when one is configured.
async fn deliver(store: &Store, settings: &Settings) -> Result<i32> {
    let Some(hook) = &settings.payment_webhook else {
        return Ok(0);
    };
    let r = workflow::payments::deliver_webhook(store, hook).await?;
    println!(
        "payment webhook: {} delivered, {} failed (run `apflow pay deliver` to retry)",
        r.delivered, r.failed
    );
    Ok(if r.failed > 0 { 1 } else { 0 })
}

async fn pay(store: &Store, settings: &Settings, action: PayAction) -> Result<i32> {
    match action {
        PayAction::Run {
            date,
            out,
            currency,
            format,
            by,
        } => {
            acting_user(
                store,
                &by,
                &[crate::domain::Role::Admin],
                "create payment runs",
            )
            .await?;
            let date = match date {
                Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .with_context(|| format!("--date {d:?} is not YYYY-MM-DD"))?,
                None => settings.today(),
            };
            let version = crate::payment::sepa::PainVersion::parse(&format)
                .with_context(|| format!("--format {format:?}: use 03 or 09"))?;
            let outcome =
                workflow::payments::create_run(store, settings, date, &currency, version, &by)
                    .await?;
            for p in &outcome.deferred {
                println!(
                    "deferred: invoice {} {} {} {} (cash limit)",
                    p.invoice_id, p.remittance, p.amount, p.currency
                );
            }
            for (p, why) in &outcome.refused {
                println!(
                    "REFUSED: invoice {} {} {} {}: {why}; back on the review queue",
                    p.invoice_id, p.remittance, p.amount, p.currency
                );
            }
            let run = match outcome.run {
                Some(run) => {
                    let discounts: rust_decimal::Decimal =
                        outcome.paid.iter().map(|p| p.discount).sum();
                    println!(
                        "payment run {} for {date}: {} payments, {} {currency}, discounts taken {discounts} {currency}",
                        run.id, run.payments, run.total
                    );
                    for p in &outcome.paid {
                        println!(
                            "  {} {:>12} {currency}  {} ({}){}",
                            p.idempotency_key,
                            p.amount,
                            p.creditor_name,
                            p.remittance,
                            if p.discount.is_zero() {
                                String::new()
                            } else {
                                format!(", discount {}", p.discount)
                            }
                        );
                    }
                    run
                }
                None => match store.open_payment_runs().await?.into_iter().find(|r| {
                    r.run_date == date.format("%Y-%m-%d").to_string() && r.currency == currency
                }) {
                    Some(run) => {
                        println!(
                            "nothing new is due; run {} of {date} ({} payments, {} {currency}) is still open",
                            run.id, run.payments, run.total
                        );
                        run
                    }
                    None => {
                        println!("nothing is due on or before {date} in {currency}");
                        write_unwritten_runs(store, settings, out.as_deref(), None).await?;
                        return Ok(0);
                    }
                },
            };
            match &out {
                Some(_) if !run.released() => println!(
                    "run {} is above the run approval limit: its file is released by `apflow pay approve {} --by NAME --out FILE` (a second person)",
                    run.id, run.id
                ),
                Some(out) => write_run_file(store, &run, out).await?,
                None if run.file_written_at.is_none() && run.released() => println!(
                    "run {} has no file yet: apflow pay file {} --out FILE",
                    run.id, run.id
                ),
                None => {}
            }
            write_unwritten_runs(store, settings, out.as_deref(), Some(run.id)).await?;
            deliver(store, settings).await
        }
        PayAction::Deliver => deliver(store, settings).await,
        PayAction::Status { file, by } => {
            acting_user(
                store,
                &by,
                &[crate::domain::Role::Admin],
                "apply bank status reports",
            )
            .await?;
            let xml = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let r = workflow::payments::apply_status_report(store, &xml, &by).await?;
            println!(
                "{}: {} executed, {} failed, {} not waiting in an open run",
                file.display(),
                r.executed,
                r.failed,
                r.unknown
            );
            Ok(0)
        }
        PayAction::Approve { run, by, out } => {
            acting_user(
                store,
                &by,
                &[crate::domain::Role::Approver, crate::domain::Role::Admin],
                "approve payment runs",
            )
            .await?;
            if !workflow::payments::approve_run(store, run, &by).await? {
                bail!(
                    "run {run} is not an open run awaiting approval, or {by} created it (a second person must approve)"
                );
            }
            let run = store.payment_run(run).await?.context("run disappeared")?;
            println!("run {} approved by {by}", run.id);
            if let Some(out) = out {
                write_run_file(store, &run, &out).await?;
            }
            deliver(store, settings).await
        }
        PayAction::File { run, out } => {
            let Some(run) = store.payment_run(run).await? else {
                bail!("no payment run {run} (see apflow pay runs)");
            };
            write_run_file(store, &run, &out).await?;
            Ok(0)
        }
        PayAction::Runs => {
            print!("{}", output::payment_runs(&store.payment_runs().await?));
            Ok(0)
        }
        PayAction::Export { format, out } => {
            let rows = store.paid_invoices().await?;
            let text = output::paid_export(&rows, &format)?;
            match out {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(0)
        }
        PayAction::Mark {
            run,
            outcome,
            reason,
            by,
        } => {
            acting_user(
                store,
                &by,
                &[crate::domain::Role::Admin],
                "record the bank's answer for a run",
            )
            .await?;
            let executed = outcome == "executed";
            if !executed && reason.trim().is_empty() {
                bail!("a failed run needs --reason (what the bank said)");
            }
            if workflow::payments::settle_run(store, run, executed, &reason, &by).await? {
                println!("run {run} marked {outcome}");
                Ok(0)
            } else {
                bail!("no open payment run {run}");
            }
        }
    }
}

/// Stores the files, runs workers until they are processed, prints outcomes.
/// Exit code 1 if any file was rejected.
async fn ingest(store: &Store, settings: &Settings, files: &[PathBuf], json: bool) -> Result<i32> {
    // Workers start first: the first documents are read while the rest are
    // still being stored.
    let workers = workflow::Drain::start(store, settings);
    let mut received = Vec::new();
    let mut failed = false;
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("error: {}: cannot read: {e}", path.display());
                failed = true;
                continue;
            }
        };
        let (contents, mail) =
            match capture::mail::documents_in_file(&name, bytes, &Default::default()) {
                Ok(capture::mail::FileContents::Document(bytes)) => {
                    let raw = RawDocument {
                        filename: name,
                        bytes,
                        source: Source::Cli {
                            path: path.display().to_string(),
                        },
                    };
                    let r = workflow::receive_document(store, &raw, settings).await?;
                    received.push((path.clone(), r));
                    continue;
                }
                Ok(capture::mail::FileContents::Unpacked { contents, mail }) => (contents, mail),
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    failed = true;
                    continue;
                }
            };
        if contents.documents.is_empty() {
            eprintln!(
                "error: {}: no invoice document in this {}",
                path.display(),
                if mail { "mail" } else { "archive" }
            );
            failed = true;
        }
        for skip in &contents.skipped {
            eprintln!(
                "{}: {}: skipped: {}",
                path.display(),
                skip.path,
                skip.reason
            );
        }
        // A mail's parts are named inside it (`mail.eml/a.pdf`), an
        // archive's entries after it (`bundle.zip/a.pdf`).
        let shown = |doc: &capture::mail::MailDocument| {
            if mail {
                path.join(&doc.path)
            } else {
                path.with_file_name(&doc.path)
            }
        };
        let shown_paths: Vec<PathBuf> = contents.documents.iter().map(shown).collect();
        let raws = contents.into_raw_documents(|sender, doc| {
            if mail {
                sender.source_of(doc)
            } else {
                Source::Cli {
                    path: shown(doc).display().to_string(),
                }
            }
        });
        for (shown, raw) in shown_paths.into_iter().zip(raws) {
            let r = workflow::receive_document(store, &raw, settings).await?;
            received.push((shown, r));
        }
    }
    let ids: Vec<_> = received.iter().map(|(_, r)| r.document_id).collect();
    workers.finish(&ids).await?;
    // Ends the readers now, while this process can still wait for them.
    read::isolate::stop_idle_readers();
    for (path, r) in &received {
        let outcome = output::Outcome::load(store, r.document_id).await?;
        failed |= outcome.status == "rejected";
        if json {
            println!("{}", serde_json::to_string(&outcome.json(path, !r.new))?);
        } else {
            println!("{}", outcome.line(path, !r.new));
        }
    }
    Ok(if failed { 1 } else { 0 })
}

/// Web app, inbox and mailbox watchers and workers until Ctrl-C or SIGTERM.
async fn serve(store: Store, settings: Settings) -> Result<()> {
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    let metrics = Arc::new(workflow::Metrics::default());
    workflow::run_workers(&store, &settings, &metrics, &token, &tracker);
    tracker.spawn(capture::watch_folder(
        store.clone(),
        settings.clone(),
        token.child_token(),
    ));
    // One connection per watched mailbox folder: IDLE watches one folder.
    for mb in &settings.mailboxes {
        for folder in &mb.folders {
            tracker.spawn(capture::imap::watch(
                store.clone(),
                settings.clone(),
                mb.clone(),
                folder.clone(),
                token.child_token(),
            ));
        }
    }
    let state = web::AppState {
        store: store.clone(),
        settings: settings.clone(),
        metrics,
    };
    let web_token = token.child_token();
    let bind = settings.bind.clone();
    let server = tracker.spawn(async move { web::serve(state, &bind, web_token).await });
    tracker.close();
    let shutdown = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight jobs");
        shutdown.cancel();
    });
    let served = server.await.context("web server task failed")?;
    token.cancel();
    tracker.wait().await;
    store.close().await;
    if let Err(e) = served {
        bail!("cannot serve on {}: {e}", settings.bind);
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `apflow audit verify [--anchor SEQ:MAC]` and `apflow audit anchor`.
async fn audit_cmd(store: &Store, action: AuditAction) -> anyhow::Result<i32> {
    let anchor = match action {
        AuditAction::Anchor => {
            return match store.audit_anchor().await? {
                Some(head) => {
                    println!("{head}");
                    Ok(0)
                }
                None => {
                    eprintln!("the audit log has no MAC-chained entries yet");
                    Ok(1)
                }
            };
        }
        AuditAction::Verify { anchor } => anchor,
    };
    let v = match &anchor {
        Some(a) => store.verify_audit_against(a).await?,
        None => store.verify_audit_chain().await?,
    };
    if v.unchained > 0 {
        println!(
            "{} entries from before the chain existed (not verifiable)",
            v.unchained
        );
    }
    let plain_only = v.chained.saturating_sub(v.keyed);
    if plain_only > 0 {
        println!(
            "{plain_only} entries from before the MAC chain (checked by the plain hash chain only)"
        );
    }
    match v.broken_at {
        None => {
            let head = v.head.map(|h| format!(", head {h}")).unwrap_or_default();
            println!(
                "audit log intact: {} chained entries ({} with a MAC){head}",
                v.chained, v.keyed
            );
            if anchor.is_some() {
                println!("the log reaches the anchor");
            }
            Ok(0)
        }
        Some((0, why)) => {
            println!("audit log BROKEN: {why}");
            Ok(1)
        }
        Some((id, why)) => {
            println!(
                "audit log BROKEN at entry #{id}: {why} ({} entries before it intact)",
                v.chained
            );
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Earlier runs' files land beside `--out`, named by run id.
    #[test]
    fn sibling_paths_carry_the_run_id_before_the_extension() {
        let check = |out: &str, id: i64, want: &str| {
            assert_eq!(
                super::sibling_path(Path::new(out), id),
                Path::new(want),
                "{out}"
            );
        };
        check("pay.xml", 7, "pay-run7.xml");
        check("/tmp/out/pay.2026.xml", 12, "/tmp/out/pay.2026-run12.xml");
        check("/tmp/out/pay", 3, "/tmp/out/pay-run3");
    }
}

//! The review flow in a real browser (headless Chromium through
//! chromedriver, spoken to over the WebDriver protocol): a clerk logs in,
//! opens an invoice held for a price variance, corrects a field and sends
//! it to approval; the approver logs in and approves; the invoice is
//! scheduled for payment. Clicking a field highlights the box on the page
//! image where it was read. Screenshots of each step are kept under
//! `target/tmp/screenshots/`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{repo_path, wait_for};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver with one headless Chromium session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for Browser {
    /// Kills chromedriver's whole process group: Chromium runs as its
    /// child, and killing chromedriver alone (a panic skips the WebDriver
    /// session's end) left the browser running after the tests.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // A group of its own, which Chromium joins: see `Drop`.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (chromium-driver: make test-deps)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let up = wait_for(Duration::from_secs(20), || {
            let (http, url) = (http.clone(), format!("{base}/status"));
            async move { http.get(url).send().await.is_ok() }
        })
        .await;
        assert!(up, "chromedriver did not start");
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            http,
        };
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100"]
            }
        }}});
        let v = b.cmd("POST", "/session", caps).await;
        b.session = v["sessionId"].as_str().expect("a session").to_string();
        b
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        match self.try_cmd(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    /// A command whose failure is an answer (e.g. "stale element").
    async fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, Value> {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            Err(v)
        } else {
            Ok(v["value"].clone())
        }
    }

    /// Clicks a button that submits a form, and waits until the next page
    /// has replaced this one and finished loading.
    async fn submit(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        for _ in 0..200 {
            let gone = self
                .try_cmd("GET", &format!("/element/{old}/name"), Value::Null)
                .await
                .is_err();
            if gone {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for _ in 0..200 {
            let state = self
                .try_cmd(
                    "POST",
                    "/execute/sync",
                    json!({ "script": "return document.readyState", "args": [] }),
                )
                .await;
            if state.is_ok_and(|s| s == "complete") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page after {css} did not load");
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url })).await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{el}/click"), json!({}))
            .await;
    }

    async fn source(&self) -> String {
        self.cmd("GET", "/source", Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let png = self.cmd("GET", "/screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
        println!("screenshot: {}", path.display());
    }

    async fn login(&self, app: &str, user: &str, next: &str) {
        self.goto(&format!("{app}/login?next={next}")).await;
        self.type_into("input[name=username]", user).await;
        self.type_into("input[name=password]", &format!("demo-{user}-password"))
            .await;
        self.submit("#login").await;
    }
}

#[tokio::test]
async fn clerk_corrects_and_sends_to_approval_approver_approves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let db = format!("sqlite://{d}/apflow.db");
    let apflow = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_apflow"));
        c.args(args)
            .current_dir(repo_path(""))
            .env("APFLOW_DATABASE_URL", &db)
            .env("APFLOW_INBOX", format!("{d}/inbox"))
            .env("APFLOW_TODAY", "2026-03-20");
        c
    };
    let demo = apflow(&["demo", "--no-serve"]).output().unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // An XML-only e-invoice (no PDF): its page is the rendered XML.
    let xml = repo_path("tests/fixtures/einvoice/en16931-allowances.cii.xml");
    let ingest = apflow(&["ingest", &xml.display().to_string()])
        .output()
        .unwrap();
    assert!(
        ingest.status.success(),
        "{}",
        String::from_utf8_lossy(&ingest.stderr)
    );
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db).await.unwrap();
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM invoices WHERE invoice_number = 'RE-2026-00437'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let mut serve = apflow(&["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = wait_for(Duration::from_secs(30), || {
        let url = format!("{app}/healthz");
        async move { reqwest::get(url).await.is_ok() }
    })
    .await;
    assert!(up, "apflow serve did not start");
    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let browser = Browser::start().await;
    // The clerk opens the held invoice (the login form brings them back).
    browser
        .login(&app, "clerk", &format!("/invoices/{id}"))
        .await;
    let page = browser.source().await;
    assert!(
        page.contains("price_variance") && page.contains("clerk (clerk)"),
        "{page}"
    );
    browser
        .screenshot(&shots.join("1-clerk-sees-price-variance.png"))
        .await;
    // Clicking a field shows where on the page it was read.
    browser.click("#field-total_amount").await;
    let target = browser
        .cmd(
            "POST",
            "/execute/sync",
            json!({ "script": "return document.querySelector(':target').id", "args": [] }),
        )
        .await;
    assert_eq!(target, "box-total_amount");
    let shown = browser
        .cmd(
            "POST",
            "/execute/sync",
            json!({ "script": "return document.querySelector('.pageview img').naturalWidth", "args": [] }),
        )
        .await;
    assert!(
        shown.as_u64().unwrap_or(0) > 700,
        "the page image loads: {shown}"
    );
    browser
        .screenshot(&shots.join("1-clerk-sees-price-variance.png"))
        .await;
    browser
        .click("select[name=field] option[value=due_date]")
        .await;
    browser.type_into("input[name=value]", "2026-04-30").await;
    browser.submit("#correct").await;
    // The correction is checked again at once; the page shows the change
    // and that an approver must now approve it.
    let rechecked = wait_for(Duration::from_secs(30), || {
        let (browser, url) = (&browser, format!("{app}/invoices/{id}"));
        async move {
            browser.goto(&url).await;
            browser.source().await.contains("changed_by_person")
        }
    })
    .await;
    assert!(rechecked, "{}", browser.source().await);
    assert!(browser.source().await.contains("id=\"changes\""));
    browser.submit("#request-approval").await;
    let page = browser.source().await;
    assert!(page.contains("awaiting_approval"), "{page}");
    browser
        .screenshot(&shots.join("3-sent-to-approval.png"))
        .await;
    browser.submit("#logout").await;

    // The approver approves it.
    browser
        .login(&app, "approver", &format!("/invoices/{id}"))
        .await;
    browser
        .type_into("input[name=comment]", "variance agreed with purchasing")
        .await;
    browser.submit("#approve").await;
    let page = browser.source().await;
    assert!(page.contains("status scheduled"), "{page}");
    browser
        .screenshot(&shots.join("4-approved-and-scheduled.png"))
        .await;
    // The bank change on sample 12: the approver sees the new IBAN beside
    // the vendor's known ones, cannot approve it yet, and verifies it.
    let changed: i64 =
        sqlx::query_scalar("SELECT id FROM invoices WHERE invoice_number = 'R-26-0915'")
            .fetch_one(&pool)
            .await
            .unwrap();
    browser.goto(&format!("{app}/invoices/{changed}")).await;
    let page = browser.source().await;
    assert!(
        page.contains("NOT a verified account") && page.contains("id=\"known-accounts\""),
        "{page}"
    );
    browser
        .screenshot(&shots.join("5-bank-change-to-verify.png"))
        .await;
    browser.submit("#verify-iban").await;
    let page = browser.source().await;
    assert!(page.contains("a verified account of the vendor"), "{page}");
    // The dashboard: this invoice needed people, so it is not touchless.
    browser.goto(&format!("{app}/dashboard")).await;
    let page = browser.source().await;
    assert!(
        page.contains("<svg") && page.contains("touchless"),
        "{page}"
    );
    browser.screenshot(&shots.join("6-dashboard.png")).await;
    // The XML-only invoice reads as a document; a field in the list points
    // at where the document shows it.
    let xml_invoice: i64 =
        sqlx::query_scalar("SELECT id FROM invoices WHERE invoice_number = 'RE-2026-0815'")
            .fetch_one(&pool)
            .await
            .unwrap();
    browser.goto(&format!("{app}/invoices/{xml_invoice}")).await;
    let page = browser.source().await;
    assert!(
        page.contains("class=\"einvoice\"") && page.contains("Loyalty discount"),
        "{page}"
    );
    browser.click("a[href='#xml-total_amount']").await;
    let target = browser
        .cmd(
            "POST",
            "/execute/sync",
            json!({ "script": "const t = document.querySelector(':target'); return [t.id, getComputedStyle(t).outlineStyle, t.textContent]", "args": [] }),
        )
        .await;
    assert_eq!(target, json!(["xml-total_amount", "solid", "164.71 EUR"]));
    browser
        .screenshot(&shots.join("7-xml-only-invoice.png"))
        .await;
    drop(browser);
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    let _ = serve.wait();

    let status: String = sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "scheduled");
    let planned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM payments WHERE invoice_id = $1 AND state = 'planned'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(planned, 1);
    let corrected: String = sqlx::query_scalar(
        "SELECT u.username FROM corrections c JOIN users u ON u.id = c.user_id WHERE c.invoice_id = $1 AND c.field = 'due_date' AND c.new_value = '2026-04-30'",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(corrected, "clerk");
    pool.close().await;
    let verify = apflow(&["audit", "verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

//! The review workspace in a real browser (headless Chromium through
//! chromedriver, spoken to over the WebDriver protocol), as clerks and
//! approvers work it: with the keyboard only at 1280 px, a clerk takes a
//! flagged invoice from the queue, corrects a date the way they write it,
//! and sends it to approval with a comment; the approver approves it. On
//! the way, every page passes an accessibility check and shows no code
//! name or JSON. Then, with the mouse: a value taken by clicking its word
//! on the page, a note that mentions a colleague, and at phone width a
//! rejection that an approver undoes. Screenshots of each step are kept
//! under `target/tmp/screenshots/` and the journeys' step counts printed.

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
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]
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
            "DELETE" => self.http.delete(url),
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
        self.wait_replaced(&old, css).await;
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

    /// Keys pressed on whatever has the focus, as a person types them
    /// (WebDriver key actions: real key events, not a value set).
    async fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for c in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        self.cmd(
            "POST",
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
        self.cmd("DELETE", "/actions", Value::Null).await;
    }

    /// Presses keys that submit a form or follow a link, and waits for
    /// the next page.
    async fn press_and_wait(&self, keys: &str) {
        let old = self.find("html").await;
        self.press(keys).await;
        self.wait_replaced(&old, keys).await;
    }

    async fn wait_replaced(&self, old: &str, what: &str) {
        for _ in 0..400 {
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
            if self.js("return document.readyState").await == "complete" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page after {what:?} did not load");
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    async fn active_id(&self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// What a person reads on the page (no markup, no hidden inputs).
    async fn text(&self) -> String {
        self.js("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's accessibility and plain-language check: a list of
    /// problems, empty when it passes.
    async fn problems(&self) -> Vec<String> {
        let found = self.js(A11Y_CHECK).await;
        let mut out: Vec<String> = found
            .as_array()
            .map(|a| a.iter().map(|v| v.to_string()).collect())
            .unwrap_or_default();
        let text = self.text().await;
        // A code name: snake_case words, or JSON, anywhere a person reads.
        for word in text.split(|c: char| c.is_whitespace() || "(),;:“”\"".contains(c)) {
            let code = word.contains('_')
                && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && word.len() > 3;
            if code {
                out.push(format!("a code name on the page: {word}"));
            }
        }
        if text.contains("{\"") {
            out.push("JSON on the page".into());
        }
        out
    }

    async fn accept_alert(&self) {
        self.cmd("POST", "/alert/accept", json!({})).await;
    }

    async fn logout(&self) {
        self.cmd("DELETE", "/cookie", Value::Null).await;
    }
}

/// Runs in the page: every control has a label, every image a text, no
/// positive tabindex (focus follows the page's order), the page has a
/// language, a title and one heading of the first level, and text keeps a
/// contrast of 4.5:1 with its background (3:1 when large), WCAG's formula.
const A11Y_CHECK: &str = r#"
const out = [];
const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
const named = (el) => (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title;
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!named(el)) out.push('no label: ' + el.outerHTML.slice(0, 80));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (visible(el) && !(el.innerText || '').trim() && !el.getAttribute('aria-label') && !el.title) out.push('no text: ' + el.outerHTML.slice(0, 80));
}
for (const img of document.querySelectorAll('img')) if (!img.alt) out.push('no alt: ' + img.src);
for (const el of document.querySelectorAll('[tabindex]')) if (el.tabIndex > 0) out.push('positive tabindex: ' + el.outerHTML.slice(0, 60));
if (!document.documentElement.lang) out.push('no lang');
if (!document.title.trim()) out.push('no title');
if (document.querySelectorAll('h1').length !== 1) out.push('h1 count ' + document.querySelectorAll('h1').length);
const rgb = (c) => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 1]; };
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const background = (el) => { const layers = [];
  for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); const a = c.length > 3 ? c[3] : 1;
    if (a > 0) { layers.push([c[0], c[1], c[2], a]); if (a >= 1) break; } }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  return bg; };
const seen = new Set();
for (const el of document.querySelectorAll('body *')) {
  if (!visible(el) || el.closest('svg') || el.closest('dialog:not([open])')) continue;
  const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const s = getComputedStyle(el);
  const fg = rgb(s.color); const bg = background(el);
  const [l1, l2] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  const size = parseFloat(s.fontSize); const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
  const key = s.color + '/' + bg.join(',');
  if (ratio < (large ? 3 : 4.5) && !seen.has(key)) { seen.add(key); out.push('contrast ' + ratio.toFixed(2) + ': ' + el.outerHTML.slice(0, 60)); }
}
return out;
"#;

/// Steps of a journey: what a person pressed or typed, one entry each.
#[derive(Default)]
struct Steps(Vec<String>);

impl Steps {
    async fn press(&mut self, b: &Browser, keys: &str, what: &str) {
        self.0.push(what.to_string());
        b.press(keys).await;
    }
    async fn press_and_wait(&mut self, b: &Browser, keys: &str, what: &str) {
        self.0.push(what.to_string());
        b.press_and_wait(keys).await;
    }
}

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";
const ESCAPE: &str = "\u{E00C}";

/// A page check: accessible, in plain words, and saved as a screenshot.
async fn checked(b: &Browser, shots: &Path, name: &str) {
    let problems = b.problems().await;
    b.screenshot(&shots.join(format!("{name}.png"))).await;
    assert!(problems.is_empty(), "{name}: {problems:#?}");
}

/// Logs in with the keyboard only (the form's first field has the focus).
async fn keyboard_login(b: &Browser, steps: &mut Steps, app: &str, user: &str) {
    b.goto(&format!("{app}/login")).await;
    assert_eq!(b.active_id().await, "", "the user name field has the focus");
    steps.press(b, user, "type the user name").await;
    steps.press(b, TAB, "Tab").await;
    steps
        .press(b, &format!("demo-{user}-password"), "type the password")
        .await;
    steps.press_and_wait(b, ENTER, "Enter: log in").await;
}

#[tokio::test]
async fn review_workspace_journeys_in_a_real_browser() {
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
    let id_of = |number: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM invoices WHERE invoice_number = $1")
                .bind(number)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let id = id_of("RE-2026-00437").await;
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
    let b = Browser::start().await;

    // ---- The clerk, keyboard only, at 1280 px. --------------------------
    b.goto(&format!("{app}/login")).await;
    checked(&b, &shots, "clerk-00-login").await;
    let mut clerk = Steps::default();
    keyboard_login(&b, &mut clerk, &app, "clerk").await;
    checked(&b, &shots, "clerk-01-queue").await;
    let queue = b.text().await;
    assert!(
        queue.contains("All open") && queue.contains("Price differs from the order"),
        "{queue}"
    );
    clerk.press(&b, "/", "/: search").await;
    assert_eq!(b.active_id().await, "search");
    clerk
        .press(&b, "RE-2026-00437", "type the invoice number")
        .await;
    clerk.press_and_wait(&b, ENTER, "Enter: search").await;
    clerk.press(&b, "j", "j: first invoice").await;
    clerk.press_and_wait(&b, ENTER, "Enter: open it").await;
    assert!(
        b.source().await.contains("<h1>Invoice RE-2026-00437"),
        "{}",
        b.text().await
    );
    checked(&b, &shots, "clerk-02-invoice").await;
    // The help lists the keys.
    clerk.press(&b, "?", "?: the keys").await;
    assert_eq!(
        b.js("return document.querySelector('#keys').open").await,
        true
    );
    b.screenshot(&shots.join("clerk-03-keys.png")).await;
    clerk.press(&b, ESCAPE, "Esc: close the list").await;
    clerk.press_and_wait(&b, "t", "t: take it").await;
    assert!(
        b.text().await.contains("Taken by clerk"),
        "{}",
        b.text().await
    );
    // The due date, as the clerk writes dates: Tab from the first field to
    // it.
    clerk.press(&b, "e", "e: first field").await;
    let mut tabs = 0;
    while b.active_id().await != "f-due_date" {
        clerk.press(&b, TAB, "Tab").await;
        tabs += 1;
        assert!(tabs < 30, "the due date field is not reached with Tab");
    }
    clerk.press(&b, "30.04.2026", "type the due date").await;
    clerk.press_and_wait(&b, ENTER, "Enter: save").await;
    let page = b.text().await;
    assert!(
        page.contains("Changed by people") && page.contains("2026-04-30"),
        "{page}"
    );
    // The change is checked again; the page says so, and reloads itself
    // until it is done: nothing to press.
    let rechecked = wait_for(Duration::from_secs(30), || {
        let b = &b;
        async move {
            let text = b
                .try_cmd(
                    "POST",
                    "/execute/sync",
                    json!({ "script": "return document.readyState === 'complete' && !document.querySelector('#rechecking') ? document.body.innerText : ''", "args": [] }),
                )
                .await
                .unwrap_or_default();
            text.as_str()
                .is_some_and(|t| t.contains("Changed by a person: needs approval"))
        }
    })
    .await;
    if !rechecked {
        let jobs: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT j.kind, j.state, j.attempts FROM jobs j JOIN invoices i ON i.document_id = j.document_id WHERE i.id = $1",
        )
        .bind(id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let reasons: Vec<String> =
            sqlx::query_scalar("SELECT code FROM discrepancies WHERE invoice_id = $1")
                .bind(id)
                .fetch_all(&pool)
                .await
                .unwrap();
        panic!("not checked again: jobs {jobs:?}, reasons {reasons:?}");
    }
    checked(&b, &shots, "clerk-04-corrected").await;
    clerk.press(&b, "s", "s: send to approval").await;
    assert_eq!(b.active_id().await, "approval-comment");
    clerk
        .press(
            &b,
            "Due date moved: agreed with the vendor",
            "type the comment",
        )
        .await;
    clerk.press_and_wait(&b, ENTER, "Enter: send").await;
    let page = b.text().await;
    assert!(page.contains("Waiting for approval"), "{page}");
    checked(&b, &shots, "clerk-05-sent-to-approval").await;
    println!(
        "clerk journey, keyboard only: {} steps: {}",
        clerk.0.len(),
        clerk.0.join(" · ")
    );
    b.logout().await;

    // ---- The approver, keyboard only, at 1280 px. -----------------------
    let mut approver = Steps::default();
    keyboard_login(&b, &mut approver, &app, "approver").await;
    let page = b.text().await;
    assert!(page.contains("Waiting for my approval"), "{page}");
    checked(&b, &shots, "approver-01-queue").await;
    approver.press(&b, "j", "j: first invoice").await;
    approver.press_and_wait(&b, ENTER, "Enter: open it").await;
    let page = b.text().await;
    // The amount, the clerk's change and comment up front.
    assert!(
        page.contains("RE-2026-00437")
            && page.contains("Due date moved: agreed with the vendor")
            && page.contains("Changed by people"),
        "{page}"
    );
    checked(&b, &shots, "approver-02-invoice").await;
    approver.press(&b, "a", "a: approve").await;
    assert_eq!(b.active_id().await, "approve-comment");
    approver
        .press(&b, "variance agreed with purchasing", "type a comment")
        .await;
    approver.press_and_wait(&b, ENTER, "Enter: approve").await;
    let page = b.text().await;
    assert!(page.contains("Scheduled for payment"), "{page}");
    checked(&b, &shots, "approver-03-approved").await;
    println!(
        "approver journey, keyboard only: {} steps: {}",
        approver.0.len(),
        approver.0.join(" · ")
    );
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

    // ---- The bank change on sample 12: verified before approval. --------
    let changed = id_of("R-26-0915").await;
    b.goto(&format!("{app}/invoices/{changed}")).await;
    let page = b.text().await;
    assert!(page.contains("NOT a verified account"), "{page}");
    checked(&b, &shots, "approver-04-bank-change").await;
    b.submit("#verify-iban").await;
    assert!(b.text().await.contains("a verified account of the vendor"));
    // The dashboard: amounts, and bars that open the queue.
    b.goto(&format!("{app}/dashboard")).await;
    let page = b.source().await;
    assert!(
        page.contains("<svg") && page.contains("href=\"/?view=open&amp;reason="),
        "{page}"
    );
    // Payables by week keep each currency apart (the GBP invoice is its
    // own bar, never added to euros).
    assert!(page.contains(">1,055.16 GBP</text>"), "{page}");
    checked(&b, &shots, "approver-05-dashboard").await;
    b.logout().await;

    // ---- The clerk with the mouse: a value taken from the page, a note. --
    b.login(&app, "clerk", "/?view=review").await;
    let flagged: i64 = sqlx::query_scalar(
        "SELECT id FROM invoices WHERE status = 'needs_review' AND invoice_number = 'INV-2026-0412'",
    )
    .fetch_optional(&pool)
    .await
    .unwrap()
    .unwrap_or(0);
    let flagged = if flagged > 0 {
        flagged
    } else {
        sqlx::query_scalar(
            "SELECT i.id FROM invoices i JOIN documents d ON d.id = i.document_id \
             WHERE i.status = 'needs_review' AND d.filename LIKE '%.pdf' ORDER BY i.id LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    b.goto(&format!("{app}/invoices/{flagged}")).await;
    // Clicking a field's name shows where on the page it was read.
    let linked = b
        .js("const a = document.querySelector('a[id^=field-]'); if (!a) return ''; a.click(); return a.id")
        .await;
    if let Some(field) = linked.as_str().and_then(|f| f.strip_prefix("field-")) {
        let target = b.js("return document.querySelector(':target').id").await;
        assert_eq!(target, format!("box-{field}"));
    }
    b.click("#f-po_number").await;
    let word = wait_for(Duration::from_secs(20), || {
        let b = &b;
        async move {
            b.js("return document.querySelectorAll('.pageview .word').length")
                .await
                .as_u64()
                .unwrap_or(0)
                > 5
        }
    })
    .await;
    assert!(word, "the page's words are laid over it");
    let taken = b
        .js("const w = Array.from(document.querySelectorAll('.pageview .word')).find((w) => /^[A-Za-z0-9-]{4,}$/.test(w.dataset.text) && w.getBoundingClientRect().width > 0); \
             w.scrollIntoView(); return w.dataset.text")
        .await;
    let taken = taken.as_str().unwrap().to_string();
    let el = b
        .cmd(
            "POST",
            "/element",
            json!({ "using": "xpath", "value": format!("//span[contains(@class,'word') and @data-text='{taken}']") }),
        )
        .await;
    let el = el[ELEMENT].as_str().unwrap().to_string();
    b.cmd("POST", &format!("/element/{el}/click"), json!({}))
        .await;
    let value = b
        .js("return document.querySelector('#f-po_number').value")
        .await;
    assert_eq!(
        value,
        taken.as_str(),
        "the word clicked is the field's value"
    );
    b.screenshot(&shots.join("clerk-06-word-taken.png")).await;
    b.submit("#save").await;
    let page = b.text().await;
    assert!(
        page.contains("Changed by people") && page.contains(&taken),
        "{page}"
    );
    b.type_into("#note", "@approver please look at the PO number")
        .await;
    b.submit("#add-note").await;
    let page = b.text().await;
    assert!(page.contains("please look at the PO number"), "{page}");
    // A date nobody could read is refused with the reason, on a page.
    let field = b.find("#f-invoice_date").await;
    b.cmd("POST", &format!("/element/{field}/clear"), json!({}))
        .await;
    b.type_into("#f-invoice_date", "31.02.2026").await;
    b.submit("#save").await;
    let page = b.text().await;
    assert!(
        page.contains("Not done")
            && page.contains("Invoice date")
            && page.contains("Back to the invoice"),
        "{page}"
    );
    checked(&b, &shots, "clerk-07-bad-date").await;
    // Errors are pages with a way back, never JSON.
    for path in ["/invoices/999999", "/invoices/abc", "/no/such/page"] {
        b.goto(&format!("{app}{path}")).await;
        let page = b.text().await;
        assert!(
            page.contains("Not found") && page.contains("To the queue"),
            "{path}: {page}"
        );
    }
    checked(&b, &shots, "clerk-08-not-found").await;

    // ---- At phone width: a rejection, undone by an approver. ------------
    b.resize(400, 900).await;
    b.goto(&format!("{app}/invoices/{flagged}")).await;
    checked(&b, &shots, "phone-01-invoice").await;
    let wide = b
        .js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(wide, true, "nothing wider than the phone's screen");
    b.type_into("#reject-reason", "not our order").await;
    let old = b.find("html").await;
    b.click("#clerk-reject").await;
    b.accept_alert().await;
    b.wait_replaced(&old, "reject").await;
    assert!(b.text().await.contains("Rejected"));
    checked(&b, &shots, "phone-02-rejected").await;
    b.logout().await;
    b.login(&app, "approver", &format!("/invoices/{flagged}"))
        .await;
    let page = b.text().await;
    assert!(
        page.contains("please look at the PO number"),
        "the approver sees the note: {page}"
    );
    b.submit("#undo").await;
    let page = b.text().await;
    assert!(page.contains("Needs review"), "{page}");
    checked(&b, &shots, "phone-03-undone").await;

    // In German: the menu in the header switches every page.
    b.resize(1280, 1000).await;
    b.click("#lang option[value=de]").await;
    let old = b.find("html").await;
    b.click("form.lang button").await;
    b.wait_replaced(&old, "language").await;
    let page = b.text().await;
    assert!(
        page.contains("Alle offenen") && page.contains("Abmelden"),
        "{page}"
    );
    b.goto(&format!("{app}/invoices/{flagged}")).await;
    let page = b.text().await;
    assert!(
        page.contains("Zu prüfen") && page.contains("Felder"),
        "{page}"
    );
    checked(&b, &shots, "approver-07-in-german").await;
    b.click("#lang option[value=en]").await;
    let old = b.find("html").await;
    b.click("form.lang button").await;
    b.wait_replaced(&old, "language").await;

    // The XML-only invoice reads as a document; a field in the list points
    // at where the document shows it.
    let xml_invoice = id_of("RE-2026-0815").await;
    b.goto(&format!("{app}/invoices/{xml_invoice}")).await;
    let page = b.source().await;
    assert!(
        page.contains("class=\"einvoice\"") && page.contains("Loyalty discount"),
        "{page}"
    );
    b.click("a[href='#xml-total_amount']").await;
    let target = b
        .js("const t = document.querySelector(':target'); return [t.id, getComputedStyle(t).outlineStyle, t.textContent]")
        .await;
    assert_eq!(target, json!(["xml-total_amount", "solid", "164.71 EUR"]));
    checked(&b, &shots, "approver-06-xml-only-invoice").await;
    let xml_doc: i64 = sqlx::query_scalar("SELECT document_id FROM invoices WHERE id = $1")
        .bind(xml_invoice)
        .fetch_one(&pool)
        .await
        .unwrap();
    b.goto(&format!("{app}/documents/{xml_doc}/einvoice")).await;
    checked(&b, &shots, "approver-08-printable-einvoice").await;
    drop(b);
    let _ = Command::new("kill").arg(serve.id().to_string()).status();
    let _ = serve.wait();
    pool.close().await;
    let verify = apflow(&["audit", "verify"]).output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

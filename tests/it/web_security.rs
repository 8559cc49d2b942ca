//! The hardened service over real HTTP (the app on port 0): login
//! throttling that parallel guesses cannot outrun and the real user
//! outlasts, the same argon2 work for unknown names, bounded user names,
//! disabled users and password changes ending sessions, `--by` naming a
//! real person, originals that cannot run script on this origin, security
//! headers, `Secure` cookies, protected metrics, CSRF on the invoice
//! page's forms, and every route against every role.

use std::sync::Arc;
use std::time::Duration;

use apflow::config::Settings;
use apflow::domain::{InvoiceStatus, Role};
use apflow::web::{AppState, auth};
use apflow::workflow::Metrics;
use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::helpers::{BOTH, Db, TestDb, fresh, load_sample_master_data, process_upload, repo_path};

/// The app served on 127.0.0.1, port 0; stops when dropped.
struct Server {
    base: String,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Server {
    async fn start(t: &TestDb, settings: Settings) -> Server {
        let metrics = Arc::new(Metrics::default());
        let state = AppState {
            store: t.store.clone(),
            settings,
            metrics: metrics.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        tokio::spawn(apflow::web::serve_on(state, listener, stop.clone()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Server {
            base,
            metrics,
            http,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Logs in; the session cookie (`name=value`), or `None` if refused.
    async fn session(&self, username: &str, password: &str) -> Option<String> {
        let res = self.login(username, password).await;
        (res.status() == StatusCode::SEE_OTHER).then(|| {
            let set = res.headers()["set-cookie"].to_str().unwrap();
            set.split(';').next().unwrap().to_string()
        })
    }

    async fn get_with_cookie(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }
}

const PASSWORD: &str = "a long test password";

/// A user with `role`, the shared test password and an API token.
async fn add_user(t: &TestDb, name: &str, role: Role) -> String {
    let hash = auth::hash_password(PASSWORD).unwrap();
    let id = t
        .store
        .add_user(name, &hash, role, None)
        .await
        .unwrap()
        .unwrap();
    let token = auth::new_secret();
    t.store
        .add_api_token(&auth::token_digest(&token), id, "test")
        .await
        .unwrap();
    token
}

/// Runs the `apflow` binary on the test's database.
fn apflow(t: &TestDb, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
        .args(["--database-url", &t.url])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn audit_rows(t: &TestDb) -> (i64, i64) {
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let row: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(actor) + LENGTH(entity_id) + LENGTH(detail)), 0) FROM audit_log",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    row
}

/// 200 wrong passwords at once: the count happens before the check, so
/// at most the five free failures reach argon2; the rest are refused.
/// The real user gets in once the (short) backoff has passed.
#[tokio::test]
async fn parallel_guessing_is_counted_before_the_password_check() {
    for db in BOTH {
        let t = fresh(db).await;
        add_user(&t, "clara", Role::Clerk).await;
        let server = Arc::new(Server::start(&t, t.settings.clone()).await);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let server = server.clone();
            tasks.spawn(async move { server.login("clara", "guess").await.status() });
        }
        let mut statuses = Vec::new();
        while let Some(s) = tasks.join_next().await {
            statuses.push(s.unwrap());
        }
        let checks = server.metrics.password_checks();
        let wrong = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let throttled = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert!(checks <= 5, "{db:?}: {checks} password checks");
        assert_eq!(u64::try_from(wrong).unwrap(), checks, "{db:?}");
        assert_eq!(wrong + throttled, 200, "{db:?}: {statuses:?}");
        // The right password right away still waits ...
        assert_eq!(
            server.login("clara", PASSWORD).await.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{db:?}"
        );
        // ... but not for long.
        let back = crate::helpers::wait_for(Duration::from_secs(30), || {
            let server = server.clone();
            async move { server.session("clara", PASSWORD).await.is_some() }
        })
        .await;
        assert!(back, "{db:?}: the real user is locked out");
        let trail = t.store.audit_trail("user", "clara").await.unwrap();
        assert!(trail.iter().any(|r| r.action == "login.succeeded"));
        assert!(
            trail.len() >= 200,
            "{db:?}: every attempt is audited ({})",
            trail.len()
        );
    }
}

/// The store's throttle: free attempts, then a doubling wait during which
/// attempts are refused and not counted; a success clears the name and
/// idle rows.
#[tokio::test]
async fn login_throttle_counts_then_doubles_the_wait() {
    use apflow::store::Backoff;
    for db in BOTH {
        let t = fresh(db).await;
        let backoff = Backoff {
            free_failures: 2,
            first_delay_ms: 300,
            max_delay_ms: 600,
            decay_ms: 60_000,
        };
        let reserve = || t.store.reserve_login_attempt("user:x", &backoff);
        assert!(reserve().await.unwrap());
        assert!(reserve().await.unwrap(), "{db:?}: two free attempts");
        assert!(!reserve().await.unwrap(), "{db:?}: then a wait");
        let store = &t.store;
        let waited = |ms: u64| async move {
            let start = std::time::Instant::now();
            let ok = crate::helpers::wait_for(Duration::from_secs(5), || async {
                store
                    .reserve_login_attempt("user:x", &backoff)
                    .await
                    .unwrap()
            })
            .await;
            assert!(ok, "{db:?}");
            let took = start.elapsed();
            assert!(took >= Duration::from_millis(ms), "{db:?}: {took:?}");
        };
        waited(200).await;
        waited(450).await; // doubled
        waited(450).await; // capped at 600 ms
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let rows = || async {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_throttle")
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        };
        assert!(
            t.store
                .reserve_login_attempt("user:y", &backoff)
                .await
                .unwrap()
        );
        assert_eq!(rows().await, 2);
        t.store
            .clear_login_attempts("user:x", apflow::store::now_ms() - 60_000)
            .await
            .unwrap();
        assert_eq!(rows().await, 1, "{db:?}: the name starts over");
        t.store
            .clear_login_attempts("user:none", apflow::store::now_ms() + 1)
            .await
            .unwrap();
        assert_eq!(rows().await, 0, "{db:?}: idle rows go");
        pool.close().await;
    }
}

/// A wrong password for a real name, an unknown name and a disabled name
/// all cost one argon2 check and get the same answer.
#[tokio::test]
async fn unknown_names_cost_the_same_password_check() {
    let t = fresh(Db::Sqlite).await;
    add_user(&t, "clara", Role::Clerk).await;
    add_user(&t, "gone", Role::Clerk).await;
    let out = apflow(&t, &["user", "disable", "gone"], "");
    assert!(out.status.success(), "{out:?}");
    let server = Server::start(&t, t.settings.clone()).await;
    let mut bodies = Vec::new();
    for (n, name) in ["clara", "nobody-by-this-name", "gone"].iter().enumerate() {
        let res = server.login(name, "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
        bodies.push(res.text().await.unwrap());
        assert_eq!(
            server.metrics.password_checks(),
            u64::try_from(n + 1).unwrap(),
            "{name} goes through argon2"
        );
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:?}");
    // The disabled user's right password does not let them in either.
    assert_eq!(
        server.login("gone", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A huge user name is refused before hashing and never reaches the audit
/// log; a name at the limit is audited at its (bounded) size.
#[tokio::test]
async fn huge_user_names_are_refused_before_the_audit_log() {
    let t = fresh(Db::Sqlite).await;
    let server = Server::start(&t, t.settings.clone()).await;
    let before = audit_rows(&t).await;
    for len in [1024 * 1024, 10 * 1024, auth::MAX_USERNAME_BYTES + 1] {
        let res = server.login(&"x".repeat(len), "whatever").await;
        assert!(
            res.status() == StatusCode::BAD_REQUEST
                || res.status() == StatusCode::PAYLOAD_TOO_LARGE,
            "{len}: {}",
            res.status()
        );
    }
    assert_eq!(audit_rows(&t).await, before, "nothing audited");
    assert_eq!(server.metrics.password_checks(), 0, "nothing hashed");
    let at_limit = "y".repeat(auth::MAX_USERNAME_BYTES);
    assert_eq!(
        server.login(&at_limit, "whatever").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let after = audit_rows(&t).await;
    assert_eq!(after.0, before.0 + 1);
    assert!(after.1 - before.1 < 1024, "{after:?} after {before:?}");
}

/// `user disable` ends the user's sessions and API tokens at once and
/// keeps them out; `user enable` lets them log in again; `user passwd`
/// ends the sessions opened with the old password. Each is audited.
#[tokio::test]
async fn disable_enable_and_passwd_end_sessions() {
    let t = fresh(Db::Sqlite).await;
    let token = add_user(&t, "clara", Role::Clerk).await;
    let server = Server::start(&t, t.settings.clone()).await;
    let api = |token: String| {
        let req = server
            .http
            .get(server.url("/api/invoices"))
            .bearer_auth(token);
        async move { req.send().await.unwrap().status() }
    };
    let cookie = server.session("clara", PASSWORD).await.expect("logged in");
    assert_eq!(
        server.get_with_cookie("/", &cookie).await.status(),
        StatusCode::OK
    );
    assert_eq!(api(token.clone()).await, StatusCode::OK);

    let out = apflow(&t, &["user", "disable", "clara"], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        server.get_with_cookie("/", &cookie).await.status(),
        StatusCode::SEE_OTHER,
        "the session ended"
    );
    assert_eq!(api(token.clone()).await, StatusCode::UNAUTHORIZED);
    assert!(server.session("clara", PASSWORD).await.is_none());

    let out = apflow(&t, &["user", "enable", "clara"], "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        api(token).await,
        StatusCode::UNAUTHORIZED,
        "tokens stay revoked"
    );
    let cookie = server.session("clara", PASSWORD).await.expect("back in");

    let out = apflow(&t, &["user", "passwd", "clara"], "the new long password\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        server.get_with_cookie("/", &cookie).await.status(),
        StatusCode::SEE_OTHER,
        "the old session ended"
    );
    assert!(server.session("clara", PASSWORD).await.is_none());
    assert!(
        server
            .session("clara", "the new long password")
            .await
            .is_some()
    );
    let out = apflow(&t, &["user", "passwd", "clara"], "short\n");
    assert!(!out.status.success());

    let actions: Vec<String> = t
        .store
        .audit_trail("user", "clara")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    for action in ["user.disabled", "user.enabled", "user.password_changed"] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

/// CLI money actions name the person acting: an unknown name, a disabled
/// user or the wrong role fail with a message before anything happens.
#[tokio::test]
async fn cli_money_actions_need_a_real_user_with_the_right_role() {
    let t = fresh(Db::Sqlite).await;
    add_user(&t, "carl", Role::Clerk).await;
    add_user(&t, "anna", Role::Approver).await;
    add_user(&t, "adam", Role::Admin).await;
    add_user(&t, "gone", Role::Admin).await;
    assert!(
        apflow(&t, &["user", "disable", "gone"], "")
            .status
            .success()
    );
    let status = repo_path("tests/fixtures/does-not-matter.xml");
    let status = status.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["pay", "approve", "1", "--by", "nobody"], "no user"),
        (&["pay", "approve", "1", "--by", "carl"], "may not"),
        (&["pay", "approve", "1", "--by", "gone"], "disabled"),
        (&["pay", "mark", "1", "executed", "--by", "anna"], "may not"),
        (
            &["pay", "mark", "1", "executed", "--by", "nobody"],
            "no user",
        ),
        (&["pay", "status", status, "--by", "carl"], "may not"),
        (&["pay", "run", "--by", "carl"], "may not"),
        (&["pay", "run", "--by", "anna"], "may not"),
        (&["pay", "run", "--by", "nobody"], "no user"),
        (
            &[
                "vendor",
                "refuse-iban",
                "V1",
                "DE89370400440532013000",
                "--by",
                "carl",
                "--reason",
                "x",
            ],
            "may not",
        ),
        (
            &[
                "vendor",
                "verify-iban",
                "V1",
                "DE89370400440532013000",
                "--by",
                "carl",
            ],
            "may not",
        ),
        (
            &[
                "vendor",
                "verify-iban",
                "V1",
                "DE89370400440532013000",
                "--by",
                "nobody",
            ],
            "no user",
        ),
    ];
    for (args, message) in cases {
        let out = apflow(&t, args, "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    // The right person gets past the check (to "no such run").
    let out = apflow(&t, &["pay", "mark", "1", "executed", "--by", "adam"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no open payment run"), "{stderr}");
}

/// An XHTML document with a script, mailed or uploaded, is served as an
/// opaque, sandboxed download; a PDF is still shown inline.
#[tokio::test]
async fn originals_cannot_run_script_on_this_origin() {
    let t = fresh(Db::Sqlite).await;
    let token = add_user(&t, "adam", Role::Admin).await;
    let receive = |name: &str, bytes: Vec<u8>| {
        let raw = apflow::domain::RawDocument {
            filename: name.into(),
            bytes,
            source: apflow::domain::Source::Upload,
        };
        let (store, settings) = (t.store.clone(), t.settings.clone());
        async move {
            apflow::workflow::receive_document(&store, &raw, &settings)
                .await
                .unwrap()
                .document_id
        }
    };
    let xhtml = br#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:h="http://www.w3.org/1999/xhtml"><body><h:script>fetch('/api/invoices').then(r=>r.text()).then(alert)</h:script></body></html>"#;
    let evil = receive("invoice.xhtml", xhtml.to_vec()).await;
    let pdf = std::fs::read(repo_path("samples/invoices/03_atelier_F2026-0193.pdf")).unwrap();
    let good = receive("invoice.pdf", pdf).await;
    let server = Server::start(&t, t.settings.clone()).await;
    let get = |id: i64| {
        server
            .http
            .get(server.url(&format!("/documents/{id}/original")))
            .bearer_auth(&token)
            .send()
    };
    let res = get(evil.0).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );

    let res = get(good.0).await.unwrap();
    let h = res.headers();
    assert_eq!(h["content-type"], "application/pdf");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
}

fn assert_security_headers(what: &str, res: &reqwest::Response) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"))
        .to_str()
        .unwrap();
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{what}: {csp}");
    }
    assert!(!csp.contains("script-src 'unsafe-inline'"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

/// Pages, API answers and errors all carry the security headers, and the
/// pages need nothing inline that the policy forbids.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let t = fresh(Db::Sqlite).await;
    let token = add_user(&t, "adam", Role::Admin).await;
    let server = Server::start(&t, t.settings.clone()).await;
    let login = server.http.get(server.url("/login")).send().await.unwrap();
    assert_security_headers("login page", &login);
    let page = login.text().await.unwrap();
    // No inline script or style: the one script comes from this origin.
    assert!(
        !page.contains("<style")
            && page.matches("<script").count()
                == page.matches("<script src=\"/static/app.js\"").count(),
        "{page}"
    );
    let cookie = server.session("adam", PASSWORD).await.unwrap();
    let queue = server.get_with_cookie("/", &cookie).await;
    assert_security_headers("queue page", &queue);
    let page = queue.text().await.unwrap();
    // No inline script or style: the one script comes from this origin.
    assert!(
        !page.contains("<style")
            && page.matches("<script").count()
                == page.matches("<script src=\"/static/app.js\"").count(),
        "{page}"
    );
    let css = server
        .http
        .get(server.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    for (what, path, bearer, status) in [
        ("API answer", "/api/invoices", true, StatusCode::OK),
        ("API 404", "/api/invoices/999", true, StatusCode::NOT_FOUND),
        ("API 401", "/api/invoices", false, StatusCode::UNAUTHORIZED),
        ("no such route", "/nope", false, StatusCode::NOT_FOUND),
    ] {
        let mut req = server.http.get(server.url(path));
        if bearer {
            req = req.bearer_auth(&token);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{what}");
        assert_security_headers(what, &res);
    }
}

/// The session cookie is `Secure` unless the server listens on loopback.
#[tokio::test]
async fn session_cookie_is_secure_off_loopback() {
    let t = fresh(Db::Sqlite).await;
    add_user(&t, "adam", Role::Admin).await;
    for (bind, secure) in [("127.0.0.1:8080", false), ("0.0.0.0:8080", true)] {
        let settings = Settings {
            bind: bind.into(),
            ..t.settings.clone()
        };
        let server = Server::start(&t, settings).await;
        let res = server.login("adam", PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert_eq!(cookie.contains("; Secure"), secure, "{bind}: {cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }
}

/// `/metrics` wants its token or an admin, unless made public.
#[tokio::test]
async fn metrics_need_the_token_or_an_admin() {
    let t = fresh(Db::Sqlite).await;
    let clerk = add_user(&t, "carl", Role::Clerk).await;
    let admin = add_user(&t, "adam", Role::Admin).await;
    let settings = Settings {
        metrics_token: Some(apflow::config::Secret::new("scrape-token-123")),
        ..t.settings.clone()
    };
    let server = Server::start(&t, settings).await;
    let metrics = |bearer: Option<&str>| {
        let mut req = server.http.get(server.url("/metrics"));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(metrics(None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics(Some("wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics(Some(&clerk)).await, StatusCode::FORBIDDEN);
    assert_eq!(metrics(Some("scrape-token-123")).await, StatusCode::OK);
    assert_eq!(metrics(Some(&admin)).await, StatusCode::OK);
    let cookie = server.session("adam", PASSWORD).await.unwrap();
    let res = server.get_with_cookie("/metrics", &cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("apflow_password_checks_total 1")
    );
    drop(server);

    let server = Server::start(&t, t.settings.clone()).await;
    let res = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "not public by default"
    );
    let public = Settings {
        metrics_public: true,
        ..t.settings.clone()
    };
    let server = Server::start(&t, public).await;
    let res = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// The invoice page's hold form from a logged-in browser: a wrong CSRF
/// token is refused and changes nothing; the session's token works.
#[tokio::test]
async fn invoice_forms_need_the_sessions_csrf_token() {
    let t = fresh(Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    add_user(&t, "carl", Role::Clerk).await;
    let file = "06_nordlicht_RE-2026-00437.pdf";
    let bytes = std::fs::read(repo_path(&format!("samples/invoices/{file}"))).unwrap();
    process_upload(&t, file, bytes).await;
    let waiting = t
        .store
        .list_invoices(Some(InvoiceStatus::NeedsReview))
        .await
        .unwrap();
    let id = waiting.first().expect("an invoice needs review").id.0;
    let status_now = || async {
        t.store
            .list_invoices(None)
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.id.0 == id)
            .unwrap()
            .status
    };
    let server = Server::start(&t, t.settings.clone()).await;
    let cookie = server.session("carl", PASSWORD).await.unwrap();
    let page = server
        .get_with_cookie(&format!("/invoices/{id}"), &cookie)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("action=\"/invoices/{id}/hold\"")),
        "{page}"
    );
    let csrf = crate::auth::csrf_of(&page);
    let hold = |csrf: String| {
        server
            .http
            .post(server.url(&format!("/invoices/{id}/hold")))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("comment", "waiting for a credit note"),
            ])
            .send()
    };
    let wrong = "0".repeat(64);
    for sent in [wrong, String::new()] {
        let res = hold(sent.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "csrf {sent:?}");
        assert_eq!(status_now().await, InvoiceStatus::NeedsReview);
    }
    let res = hold(csrf).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_now().await, InvoiceStatus::OnHold);
}

/// What each kind of caller gets from a route; `Login` is the redirect to
/// the login form.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Status(u16),
    Login,
}
use Want::{Login, Status as S};

/// Every route against anonymous, clerk, approver and admin callers (API
/// tokens; anonymous sends nothing). A route that is not in this table
/// fails the test, so a new route forces a decision about who may call
/// it. Ids name nothing that exists: the role check comes first (403),
/// allowed callers get as far as "not found" or a conflict.
#[tokio::test]
async fn every_route_against_every_role() {
    let t = fresh(Db::Sqlite).await;
    let tokens = [
        add_user(&t, "carl", Role::Clerk).await,
        add_user(&t, "anna", Role::Approver).await,
        add_user(&t, "adam", Role::Admin).await,
    ];
    // (method, route, request path, body, [anonymous, clerk, approver, admin])
    let matrix: Vec<(&str, &str, &str, &str, [Want; 4])> = vec![
        ("GET", "/", "/", "", [Login, S(200), S(200), S(200)]),
        (
            "GET",
            "/dashboard",
            "/dashboard",
            "",
            [Login, S(200), S(200), S(200)],
        ),
        (
            "GET",
            "/login",
            "/login",
            "",
            [S(200), S(200), S(200), S(200)],
        ),
        // An empty form is not a login attempt.
        (
            "POST",
            "/login",
            "/login",
            "",
            [S(422), S(422), S(422), S(422)],
        ),
        // The language menu: anyone, even before logging in.
        (
            "POST",
            "/language",
            "/language",
            "lang=de",
            [S(303), S(303), S(303), S(303)],
        ),
        // Without a session there is nothing to end: back to the form.
        (
            "POST",
            "/logout",
            "/logout",
            "csrf=x",
            [Login, Login, Login, Login],
        ),
        (
            "GET",
            "/invoices/{id}",
            "/invoices/999",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "POST",
            "/documents/{id}/retry",
            "/documents/999/retry",
            "csrf=x",
            [S(401), S(404), S(403), S(404)],
        ),
        (
            "POST",
            "/api/documents/{id}/retry",
            "/api/documents/999/retry",
            "{}",
            [S(401), S(404), S(403), S(404)],
        ),
        (
            "GET",
            "/documents/{id}/status",
            "/documents/999/status",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "GET",
            "/documents/{id}/pages/{page}/words",
            "/documents/999/pages/1/words",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "POST",
            "/api/invoices/{id}/lines",
            "/api/invoices/999/lines",
            r#"{"lines": []}"#,
            [S(401), S(404), S(403), S(404)],
        ),
        (
            "POST",
            "/api/invoices/{id}/notes",
            "/api/invoices/999/notes",
            r#"{"text": "a note"}"#,
            [S(401), S(404), S(404), S(404)],
        ),
        (
            "GET",
            "/static/app.js",
            "/static/app.js",
            "",
            [S(200), S(200), S(200), S(200)],
        ),
        (
            "GET",
            "/documents/{id}/original",
            "/documents/999/original",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "GET",
            "/documents/{id}/pages/{page}",
            "/documents/999/pages/1",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "GET",
            "/documents/{id}/einvoice",
            "/documents/999/einvoice",
            "",
            [Login, S(404), S(404), S(404)],
        ),
        (
            "POST",
            "/api/documents",
            "/api/documents",
            "",
            [S(401), S(201), S(403), S(201)],
        ),
        (
            "POST",
            "/api/import/{kind}",
            "/api/import/vendors",
            "",
            [S(401), S(403), S(403), S(200)],
        ),
        (
            "POST",
            "/api/payment-runs/{id}/{outcome}",
            "/api/payment-runs/999/executed",
            "{}",
            [S(401), S(403), S(403), S(404)],
        ),
        (
            "GET",
            "/api/invoices",
            "/api/invoices",
            "",
            [S(401), S(200), S(200), S(200)],
        ),
        (
            "GET",
            "/api/invoices/{id}",
            "/api/invoices/999",
            "",
            [S(401), S(404), S(404), S(404)],
        ),
        (
            "POST",
            "/api/invoices/{id}/fields",
            "/api/invoices/999/fields",
            r#"{"field": "due_date", "value": "2026-04-30"}"#,
            [S(401), S(404), S(403), S(404)],
        ),
        (
            "POST",
            "/api/invoices/{id}/assign",
            "/api/invoices/999/assign",
            "{}",
            [S(401), S(409), S(403), S(409)],
        ),
        (
            "POST",
            "/api/vendors/{id}/verify-iban",
            "/api/vendors/V-X/verify-iban",
            r#"{"iban": "DE89370400440532013000"}"#,
            [S(401), S(403), S(404), S(404)],
        ),
        (
            "POST",
            "/api/invoices/{id}/request-approval",
            "/api/invoices/999/request-approval",
            r#"{"comment": "checked"}"#,
            [S(401), S(409), S(403), S(409)],
        ),
        (
            "POST",
            "/api/invoices/{id}/{decision}",
            "/api/invoices/999/approve",
            "{}",
            [S(401), S(403), S(404), S(404)],
        ),
        (
            "POST",
            "/invoices/{id}/{action}",
            "/invoices/999/approve",
            "csrf=x",
            [S(401), S(403), S(404), S(404)],
        ),
        (
            "GET",
            "/api/openapi.json",
            "/api/openapi.json",
            "",
            [S(200), S(200), S(200), S(200)],
        ),
        (
            "GET",
            "/healthz",
            "/healthz",
            "",
            [S(200), S(200), S(200), S(200)],
        ),
        (
            "GET",
            "/metrics",
            "/metrics",
            "",
            [S(401), S(403), S(403), S(200)],
        ),
        (
            "GET",
            "/static/app.css",
            "/static/app.css",
            "",
            [S(200), S(200), S(200), S(200)],
        ),
    ];
    let served: Vec<(String, &str)> = apflow::web::routes()
        .iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    for (method, path) in &served {
        assert!(
            matrix.iter().any(|m| m.0 == method && m.1 == *path),
            "{method} {path} has no entry in the role matrix: decide who may call it"
        );
    }
    for m in &matrix {
        assert!(
            served
                .iter()
                .any(|(method, path)| method == m.0 && *path == m.1),
            "{} {} is in the matrix but not served",
            m.0,
            m.1
        );
    }

    let pdf = std::fs::read(repo_path("samples/invoices/03_atelier_F2026-0193.pdf")).unwrap();
    let mut upload = b"--B0UNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".to_vec();
    upload.extend_from_slice(&pdf);
    upload.extend_from_slice(b"\r\n--B0UNDARY--\r\n");
    let server = Server::start(&t, t.settings.clone()).await;
    let mut wrong = Vec::new();
    for (method, route, path, body, expected) in &matrix {
        for (who, want) in expected.iter().enumerate() {
            let mut req = if *method == "GET" {
                server.http.get(server.url(path))
            } else {
                let kind = if body.starts_with('{') {
                    "application/json"
                } else if path.starts_with("/api/import") {
                    "application/x-ndjson"
                } else {
                    "application/x-www-form-urlencoded"
                };
                let body = if path.starts_with("/api/import") {
                    r#"{"vendor_id": "V1", "name": "Acme"}"#
                } else {
                    body
                };
                let req = server.http.post(server.url(path));
                if *path == "/api/documents" {
                    req.header("content-type", "multipart/form-data; boundary=B0UNDARY")
                        .body(upload.clone())
                } else {
                    req.header("content-type", kind).body(body.to_string())
                }
            };
            if let Some(token) = who.checked_sub(1).and_then(|i| tokens.get(i)) {
                req = req.bearer_auth(token);
            }
            let res = req.send().await.unwrap();
            let got = match res.headers().get("location").and_then(|l| l.to_str().ok()) {
                Some(l) if res.status() == StatusCode::SEE_OTHER && l.starts_with("/login") => {
                    Login
                }
                _ => S(res.status().as_u16()),
            };
            if got != *want {
                let who = ["anonymous", "clerk", "approver", "admin"][who];
                wrong.push(format!("{method} {route} as {who}: {got:?}, want {want:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

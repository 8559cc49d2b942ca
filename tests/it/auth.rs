//! Who may do what: every role against every kind of action over the real
//! router, and the browser login: session cookie, CSRF token, logout,
//! audited attempts and throttled guessing.

use apflow::domain::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;

use crate::helpers::{Db, fresh, repo_path};
use crate::web::Api;

fn upload(pdf: &[u8]) -> Request<Body> {
    let boundary = "B0UNDARY";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").into_bytes();
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post("/api/documents")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn each_role_may_do_exactly_its_part() {
    let t = fresh(Db::Sqlite).await;
    let pdf = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    let callers = [
        ("anonymous", Api::anonymous(&t)),
        ("clerk", Api::as_role(&t, Role::Clerk).await),
        ("approver", Api::as_role(&t, Role::Approver).await),
        ("admin", Api::as_role(&t, Role::Admin).await),
    ];
    type MakeRequest = Box<dyn Fn() -> Request<Body>>;
    let get = |uri: &'static str| -> MakeRequest {
        Box::new(move || Request::get(uri).body(Body::empty()).unwrap())
    };
    let json_post = |uri: &'static str, body: &'static str| -> MakeRequest {
        Box::new(move || {
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap()
        })
    };
    let pdf2 = pdf.clone();
    let actions: Vec<(&str, MakeRequest, [u16; 4])> = vec![
        // (action, request, expected status for anonymous, clerk, approver, admin)
        ("open the queue page", get("/"), [303, 200, 200, 200]),
        ("list invoices", get("/api/invoices"), [401, 200, 200, 200]),
        (
            "read an invoice",
            get("/api/invoices/999"),
            [401, 404, 404, 404],
        ),
        (
            "fetch an original",
            get("/documents/999/original"),
            [303, 404, 404, 404],
        ),
        (
            "upload a document",
            Box::new(move || upload(&pdf2)),
            [401, 201, 403, 201],
        ),
        (
            "import master data",
            Box::new(|| {
                Request::post("/api/import/vendors")
                    .header("content-type", "application/x-ndjson")
                    .body(Body::from(r#"{"vendor_id": "V1", "name": "Acme"}"#))
                    .unwrap()
            }),
            [401, 403, 403, 200],
        ),
        (
            "settle a payment run",
            Box::new(|| {
                Request::post("/api/payment-runs/999/executed")
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap()
            }),
            [401, 403, 403, 404],
        ),
        ("check health", get("/healthz"), [200, 200, 200, 200]),
        // Review actions on an invoice that does not exist: the role is
        // checked first (403); allowed roles get to "no such invoice".
        (
            "correct a field",
            json_post(
                "/api/invoices/999/fields",
                r#"{"field": "due_date", "value": "2026-04-30"}"#,
            ),
            [401, 404, 403, 404],
        ),
        (
            "send to approval",
            json_post(
                "/api/invoices/999/request-approval",
                r#"{"comment": "checked"}"#,
            ),
            [401, 409, 403, 409],
        ),
        (
            "assign review work",
            json_post("/api/invoices/999/assign", "{}"),
            [401, 409, 403, 409],
        ),
        (
            "approve",
            json_post("/api/invoices/999/approve", "{}"),
            [401, 403, 404, 404],
        ),
        (
            "hold",
            json_post("/api/invoices/999/hold", r#"{"comment": "x"}"#),
            [401, 409, 403, 409],
        ),
        (
            "verify a bank account",
            json_post(
                "/api/vendors/V-X/verify-iban",
                r#"{"iban": "DE89370400440532013000"}"#,
            ),
            [401, 403, 404, 404],
        ),
        (
            "open the dashboard",
            get("/dashboard"),
            [303, 200, 200, 200],
        ),
        (
            "read the API description",
            get("/api/openapi.json"),
            [200, 200, 200, 200],
        ),
    ];
    let mut wrong = Vec::new();
    for (action, request, expected) in &actions {
        for ((who, api), want) in callers.iter().zip(expected) {
            let got = api.clone().oneshot(request()).await.unwrap().status();
            if got.as_u16() != *want {
                wrong.push(format!("{who} may {action}: got {got}, want {want}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let bad_token = Api::anonymous(&t);
    let res = bad_token
        .router_with_token("not-a-token")
        .oneshot(Request::get("/api/invoices").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Sample master data loaded and the sample invoices processed; a pool on
/// the database for checks.
pub(crate) async fn processed_samples(t: &crate::helpers::TestDb) -> sqlx::AnyPool {
    crate::helpers::load_sample_master_data(&t.store).await;
    crate::helpers::ingest_samples(t).await;
    sqlx::AnyPool::connect(&t.url).await.unwrap()
}

pub(crate) async fn invoice_id(pool: &sqlx::AnyPool, number: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM invoices WHERE invoice_number = $1")
        .bind(number.to_string())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The codes of the reasons an invoice is held for.
pub(crate) async fn reasons_of(pool: &sqlx::AnyPool, id: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT code FROM discrepancies WHERE invoice_id = $1")
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap()
}

pub(crate) async fn status_of(pool: &sqlx::AnyPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// POSTs a JSON body as `api`; the status code.
async fn post_json(api: &Api, uri: &str, body: &str) -> u16 {
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    api.clone().oneshot(req).await.unwrap().status().as_u16()
}

fn form(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

async fn body_text(res: axum::response::Response) -> String {
    String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).to_string()
}

#[tokio::test]
async fn browser_login_session_csrf_logout_and_throttling() {
    let t = fresh(Db::Sqlite).await;
    let hash = apflow::web::auth::hash_password("clara's long password").unwrap();
    t.store
        .add_user("clara", &hash, Role::Clerk, None)
        .await
        .unwrap();
    let app = Api::anonymous(&t);
    let send = |r| app.clone().oneshot(r);

    // A page without a login sends the browser to the form.
    let res = send(Request::get("/invoices/1").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=/invoices/1");

    for body in [
        "username=clara&password=wrong",
        "username=nobody&password=x",
    ] {
        let res = send(form("/login", body, None)).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().get("set-cookie").is_none());
        assert!(
            body_text(res)
                .await
                .contains("Wrong user name or password.")
        );
    }
    let res = send(form(
        "/login",
        "username=clara&password=clara%27s+long+password&next=%2F%3Fstatus%3Dneeds_review",
        None,
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/?status=needs_review");
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap().to_string();

    let res = send(
        Request::get("/")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = body_text(res).await;
    assert!(page.contains("clara (AP clerk)"), "{page}");
    let csrf = csrf_of(&page);
    assert_eq!(csrf.len(), 64);

    // A state change from the browser must carry the CSRF token.
    let pdf = std::fs::read(repo_path("samples/invoices/03_atelier_F2026-0193.pdf")).unwrap();
    let mut req = upload(&pdf);
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    assert_eq!(send(req).await.unwrap().status(), StatusCode::FORBIDDEN);
    let mut req = upload(&pdf);
    req.headers_mut().insert("cookie", cookie.parse().unwrap());
    req.headers_mut()
        .insert("x-csrf-token", csrf.parse().unwrap());
    assert_eq!(send(req).await.unwrap().status(), StatusCode::CREATED);

    // Logout ends the session for good.
    let res = send(form("/logout", "csrf=wrong", Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = send(form("/logout", &format!("csrf={csrf}"), Some(&cookie)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = send(
        Request::get("/")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the old cookie is dead"
    );

    // Guessing is throttled: after ten failures even the right password waits.
    for _ in 0..10 {
        send(form("/login", "username=clara&password=guess", None))
            .await
            .unwrap();
    }
    let res = send(form(
        "/login",
        "username=clara&password=clara%27s+long+password",
        None,
    ))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    let trail = t.store.audit_trail("user", "clara").await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "login.succeeded").count(),
        1
    );
    assert_eq!(actions.iter().filter(|a| **a == "logout").count(), 1);
    assert_eq!(actions.iter().filter(|a| **a == "login.failed").count(), 12);
}

/// The review actions by role, and segregation of duties: whoever
/// corrected an invoice or asked for its approval cannot approve it, and
/// nobody approves above their limit.
#[tokio::test]
async fn review_actions_follow_roles_and_segregation_of_duties() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let id = invoice_id(&pool, "RE-2026-00437").await;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let approver = Api::as_role(&t, Role::Approver).await;
    let admin = Api::as_role(&t, Role::Admin).await;
    let post = |api: &Api, path: &str, body: &str| {
        let (uri, body) = (format!("/api/invoices/{id}/{path}"), body.to_string());
        let api = api.clone();
        async move { post_json(&api, &uri, &body).await }
    };
    let fix = r#"{"field": "due_date", "value": "2026-04-30"}"#;
    assert_eq!(
        post(&approver, "fields", fix).await,
        403,
        "approvers do not edit"
    );
    assert_eq!(
        post(
            &admin,
            "fields",
            r#"{"field": "due_date", "value": "soon"}"#
        )
        .await,
        400
    );
    assert_eq!(
        post(&admin, "fields", r#"{"field": "status", "value": "paid"}"#).await,
        400
    );
    assert_eq!(post(&admin, "fields", fix).await, 204);
    assert_eq!(
        post(&approver, "request-approval", r#"{"comment": "checked"}"#).await,
        403
    );
    assert_eq!(post(&approver, "approve", "{}").await, 409, "not yet sent");
    // Review work is assigned: claimed by a clerk, never to an approver.
    assert_eq!(post(&clerk, "assign", "{}").await, 204, "claimed");
    assert_eq!(post(&approver, "assign", "{}").await, 403);
    let to_approver = format!(r#"{{"to": "{}"}}"#, approver.username);
    assert_eq!(post(&admin, "assign", &to_approver).await, 400);
    let (_, mine) = crate::web::get(
        &clerk,
        &format!("/api/invoices?assignee={}", clerk.username),
    )
    .await;
    assert!(mine.contains("RE-2026-00437"), "{mine}");
    let (_, nobody) =
        crate::web::get(&clerk, "/api/invoices?assignee=none&status=needs_review").await;
    assert!(!nobody.contains("RE-2026-00437"));
    // Not while the correction is being checked again: the approver must
    // see the reasons of the corrected values.
    assert_eq!(
        post(&clerk, "request-approval", r#"{"comment": "checked"}"#).await,
        409
    );
    apflow::workflow::drain(&t.store, &t.settings, &[])
        .await
        .unwrap();
    assert_eq!(
        post(&clerk, "request-approval", r#"{"comment": "checked"}"#).await,
        204
    );
    assert_eq!(
        post(&clerk, "request-approval", r#"{"comment": "checked"}"#).await,
        409,
        "only once"
    );
    assert_eq!(
        post(&clerk, "approve", "{}").await,
        403,
        "clerks do not approve"
    );
    assert_eq!(
        post(&admin, "approve", "{}").await,
        403,
        "the admin corrected it"
    );
    assert_eq!(
        post(&approver, "reject", "{}").await,
        400,
        "a rejection needs a reason"
    );
    // An approver whose limit is below the total (2302.17 EUR).
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    let low = t
        .store
        .add_user(
            "low-limit",
            &hash,
            Role::Approver,
            Some("1000".parse().unwrap()),
        )
        .await
        .unwrap()
        .unwrap();
    let token = apflow::web::auth::new_secret();
    t.store
        .add_api_token(&apflow::web::auth::token_digest(&token), low, "t")
        .await
        .unwrap();
    let low = Api::anonymous(&t).router_with_token(&token);
    assert_eq!(post(&low, "approve", "{}").await, 403, "above the limit");
    assert_eq!(
        post(&approver, "approve", r#"{"comment": "ok"}"#).await,
        204
    );
    assert_eq!(
        post(&approver, "approve", "{}").await,
        409,
        "decided already"
    );
    assert_eq!(status_of(&pool, id).await, "scheduled");
    pool.close().await;
}

/// Above the two-approver threshold, the first approval is a step: the
/// same approver cannot give the second one; a different approver's
/// approval schedules the invoice.
#[tokio::test]
async fn large_invoices_need_two_different_approvers() {
    let mut t = fresh(Db::Sqlite).await;
    t.settings.second_approval_above = Some("1000".parse().unwrap());
    // Notifications go to a command (here: one file per event; they may
    // run at the same time).
    let outbox = t.settings.inbox.with_file_name("notifications");
    std::fs::create_dir_all(&outbox).unwrap();
    t.settings.notify_command = Some(format!("cat > \"$(mktemp -p '{}')\"", outbox.display()));
    let pool = processed_samples(&t).await;
    let id = invoice_id(&pool, "RE-2026-00437").await;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let first = Api::as_role(&t, Role::Approver).await;
    let second = Api::as_role(&t, Role::Approver).await;
    let post = |api: &Api, path: &str| {
        let uri = format!("/api/invoices/{id}/{path}");
        let api = api.clone();
        async move { post_json(&api, &uri, r#"{"comment": "checked"}"#).await }
    };
    let status = || status_of(&pool, id);
    assert_eq!(post(&clerk, "request-approval").await, 204);
    assert_eq!(post(&first, "approve").await, 202, "first of two");
    assert_eq!(status().await, "awaiting_approval");
    assert_eq!(
        post(&first, "approve").await,
        403,
        "not twice by one person"
    );
    assert_eq!(post(&second, "approve").await, 204);
    assert_eq!(status().await, "scheduled");
    let actions: Vec<String> = t
        .store
        .audit_trail("invoice", &id.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert!(
        actions.contains(&"invoice.approval_step".to_string()),
        "{actions:?}"
    );
    assert!(actions.contains(&"invoice.approved".to_string()));
    let read_events = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .filter_map(|v| v["event"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let sent = crate::helpers::wait_for(std::time::Duration::from_secs(20), || {
        let n = read_events(&outbox).len();
        async move { n >= 3 }
    })
    .await;
    assert!(sent, "three notifications: {:?}", read_events(&outbox));
    let events = read_events(&outbox);
    for e in ["approval_requested", "approval_step", "approved"] {
        assert!(events.contains(&e.to_string()), "{events:?}");
    }
    pool.close().await;
}

/// A correction is checked again at once: fixing the misread total of an
/// invoice held for totals that do not add up clears that reason.
#[tokio::test]
async fn a_correction_is_rechecked() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let id = invoice_id(&pool, "TPI-2026-0342").await;
    let reasons = || async {
        let r: Vec<String> =
            sqlx::query_scalar("SELECT code FROM discrepancies WHERE invoice_id = $1")
                .bind(id)
                .fetch_all(&pool)
                .await
                .unwrap();
        r
    };
    assert!(reasons().await.contains(&"totals_mismatch".to_string()));
    let inv = t
        .store
        .load_extraction(apflow::domain::InvoiceId(id))
        .await
        .unwrap();
    let sum = inv.net_amount.unwrap().value + inv.tax_amount.unwrap().value;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let res = clerk
        .oneshot(
            Request::post(format!("/api/invoices/{id}/fields"))
                .header("content-type", "application/json")
                .body(Body::from(format!(
                    r#"{{"field": "total_amount", "value": "{sum}"}}"#
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    apflow::workflow::drain(&t.store, &t.settings, &[])
        .await
        .unwrap();
    let after = reasons().await;
    assert!(!after.contains(&"totals_mismatch".to_string()), "{after:?}");
    pool.close().await;
}

/// A clerk's other ways with a held invoice: park it and bring it back,
/// mark it a duplicate of an earlier one, or reject it with a reason.
#[tokio::test]
async fn clerks_hold_release_reject_and_mark_duplicates() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let id_of = |n: &'static str| invoice_id(&pool, n);
    let status = |id: i64| status_of(&pool, id);
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let approver = Api::as_role(&t, Role::Approver).await;
    let post = |api: &Api, id: i64, path: &str, body: String| {
        let uri = format!("/api/invoices/{id}/{path}");
        let api = api.clone();
        async move { post_json(&api, &uri, &body).await }
    };
    let held = id_of("F2026-0211").await;
    assert_eq!(
        post(&clerk, held, "hold", "{}".into()).await,
        400,
        "needs a reason"
    );
    assert_eq!(
        post(&approver, held, "hold", r#"{"comment": "x"}"#.into()).await,
        403
    );
    assert_eq!(
        post(
            &clerk,
            held,
            "hold",
            r#"{"comment": "waiting for the PO from purchasing"}"#.into()
        )
        .await,
        204
    );
    assert_eq!(status(held).await, "on_hold");
    assert_eq!(post(&clerk, held, "release", "{}".into()).await, 204);
    assert_eq!(status(held).await, "needs_review");

    let original = id_of("RE-2026-00412").await;
    let dup = id_of("TPI-2026-0342").await;
    assert_eq!(post(&clerk, dup, "mark-duplicate", "{}".into()).await, 400);
    assert_eq!(
        post(
            &clerk,
            dup,
            "mark-duplicate",
            format!(r#"{{"duplicate_of": {original}}}"#)
        )
        .await,
        204
    );
    assert_eq!(status(dup).await, "duplicate");

    assert_eq!(
        post(
            &clerk,
            held,
            "reject",
            r#"{"comment": "not our order"}"#.into()
        )
        .await,
        204
    );
    assert_eq!(status(held).await, "rejected");
    assert_eq!(post(&clerk, held, "release", "{}".into()).await, 409);
    pool.close().await;
}

/// Approval rules name who must approve a vendor's invoices; when that
/// person is away, whoever they delegated to may approve instead.
#[tokio::test]
async fn approval_rules_and_delegation() {
    let mut t = fresh(Db::Sqlite).await;
    t.settings.approval_rules = vec![apflow::workflow::review::ApprovalRule {
        name: "Nordlicht goes to the CFO".into(),
        vendor: Some("V-1001".into()),
        approvers: vec!["cfo".into()],
        approvals: 1,
        ..Default::default()
    }];
    let pool = processed_samples(&t).await;
    let id = invoice_id(&pool, "RE-2026-00437").await;
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    let cfo = t
        .store
        .add_user("cfo", &hash, Role::Approver, None)
        .await
        .unwrap()
        .unwrap();
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let deputy = Api::as_role(&t, Role::Approver).await;
    let post = |api: &Api, path: &str| {
        let uri = format!("/api/invoices/{id}/{path}");
        let api = api.clone();
        async move { post_json(&api, &uri, r#"{"comment": "checked"}"#).await }
    };
    assert_eq!(post(&clerk, "request-approval").await, 204);
    assert_eq!(
        post(&deputy, "approve").await,
        403,
        "the rule reserves it for the CFO"
    );
    let deputy_id = t
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == deputy.username)
        .unwrap()
        .id;
    // The CFO is away: the deputy stands in until tomorrow.
    let until = t.settings.today().succ_opt().unwrap();
    t.store.add_delegation(cfo, deputy_id, until).await.unwrap();
    assert_eq!(post(&deputy, "approve").await, 204);
    assert_eq!(status_of(&pool, id).await, "scheduled");
    pool.close().await;
}

/// Whoever entered a vendor's new bank account may not verify it; someone
/// else may, and the invoices held for it are checked again.
#[tokio::test]
async fn a_new_iban_is_verified_by_someone_else() {
    let t = fresh(Db::Sqlite).await;
    let pool = processed_samples(&t).await;
    let (id, vendor): (i64, String) = sqlx::query_as(
        "SELECT i.id, i.vendor_id FROM invoices i JOIN discrepancies d ON d.invoice_id = i.id \
         WHERE d.code = 'bank_details_changed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let iban = t
        .store
        .load_extraction(apflow::domain::InvoiceId(id))
        .await
        .unwrap()
        .iban
        .unwrap()
        .value;
    let admin = Api::as_role(&t, Role::Admin).await;
    let approver = Api::as_role(&t, Role::Approver).await;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let post = |api: &Api, uri: String, body: String| {
        let api = api.clone();
        async move { post_json(&api, &uri, &body).await }
    };
    // The admin enters the new account on the invoice...
    let fix = format!(r#"{{"field": "iban", "value": "{iban}"}}"#);
    assert_eq!(
        post(&admin, format!("/api/invoices/{id}/fields"), fix).await,
        204
    );
    let verify = format!(r#"{{"iban": "{iban}"}}"#);
    let uri = format!("/api/vendors/{vendor}/verify-iban");
    // ...so the admin may not be the one to verify it; nor may a clerk.
    assert_eq!(post(&admin, uri.clone(), verify.clone()).await, 403);
    assert_eq!(post(&clerk, uri.clone(), verify.clone()).await, 403);
    assert_eq!(post(&approver, uri.clone(), verify.clone()).await, 200);
    assert_eq!(
        post(&approver, "/api/vendors/V-NOPE/verify-iban".into(), verify).await,
        404
    );
    apflow::workflow::drain(&t.store, &t.settings, &[])
        .await
        .unwrap();
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT code FROM discrepancies WHERE invoice_id = $1")
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        !reasons.contains(&"bank_details_changed".to_string()),
        "{reasons:?}"
    );
    pool.close().await;
}

/// An approver answers for their cost centres only: the PO's cost centre
/// (imported with the PO) decides who may approve.
#[tokio::test]
async fn approvers_approve_their_own_cost_centres() {
    let t = fresh(Db::Sqlite).await;
    crate::helpers::load_sample_master_data(&t.store).await;
    let admin = Api::as_role(&t, Role::Admin).await;
    // Re-import the invoice's PO with its cost centre, as the ERP sends it.
    let po = t
        .store
        .purchase_order("PO-2026-0106")
        .await
        .unwrap()
        .unwrap();
    let lines: Vec<serde_json::Value> = po
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({"line_no": l.line_no, "sku": l.sku, "description": l.description,
                "quantity": l.quantity.to_string(), "unit": l.unit, "unit_price": l.unit_price.to_string()})
        })
        .collect();
    let record = serde_json::json!({"po_number": po.po_number, "vendor_id": po.vendor_id,
        "currency": po.currency, "lines": lines, "cost_centre": "CC-IT"});
    let res = admin
        .clone()
        .oneshot(
            Request::post("/api/import/pos")
                .header("content-type", "application/x-ndjson")
                .body(Body::from(record.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        t.store
            .po_cost_centre("PO-2026-0106")
            .await
            .unwrap()
            .as_deref(),
        Some("CC-IT")
    );
    crate::helpers::ingest_samples(&t).await;
    let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
    let id = invoice_id(&pool, "RE-2026-00437").await;
    let approver_of = |name: &'static str, cc: &'static str| {
        let t = &t;
        async move {
            let hash = apflow::web::auth::hash_password("a long test password").unwrap();
            let uid = t
                .store
                .add_user_with_cost_centres(name, &hash, Role::Approver, None, &[cc.to_string()])
                .await
                .unwrap()
                .unwrap();
            let token = apflow::web::auth::new_secret();
            t.store
                .add_api_token(&apflow::web::auth::token_digest(&token), uid, "t")
                .await
                .unwrap();
            Api::anonymous(t).router_with_token(&token)
        }
    };
    let facilities = approver_of("fran", "CC-FACILITY").await;
    let it = approver_of("ivan", "CC-IT").await;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    let post = |api: &Api, path: &str| {
        let uri = format!("/api/invoices/{id}/{path}");
        let api = api.clone();
        async move { post_json(&api, &uri, r#"{"comment": "checked"}"#).await }
    };
    assert_eq!(post(&clerk, "request-approval").await, 204);
    assert_eq!(post(&facilities, "approve").await, 403, "not their budget");
    assert_eq!(post(&it, "approve").await, 204);
    pool.close().await;
}

/// A revoked API token stops working at once (the CLI's `user revoke`).
#[test]
fn a_revoked_token_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/apflow.db", dir.path().display());
    let apflow = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_apflow"))
            .args(["--database-url", &db])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .output()
            .unwrap()
    };
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "a long enough password\n").unwrap();
    let added = apflow(&[
        "user",
        "add",
        "erp",
        "--role",
        "admin",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = apflow(&["user", "token", "erp", "--name", "export"]);
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    assert_eq!(token.len(), 64);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = |token: &str| {
        rt.block_on(async {
            use tower::ServiceExt;
            let store = apflow::store::Store::connect(&db).await.unwrap();
            let app = apflow::web::router(apflow::web::AppState {
                store,
                settings: apflow::config::Settings::default(),
                metrics: std::sync::Arc::new(apflow::workflow::Metrics::default()),
            });
            let req = Request::get("/api/invoices")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap().status()
        })
    };
    assert_eq!(status(&token), StatusCode::OK);
    let revoked = apflow(&["user", "revoke", "erp", "--name", "export"]);
    assert!(revoked.status.success());
    assert_eq!(status(&token), StatusCode::UNAUTHORIZED);
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with a CSRF token")
        .to_string()
}

//! The review workspace's rules behind the pages (issue 19), through the
//! real router on SQLite and PostgreSQL: what a clerk or approver may do
//! with notes, comments, corrections as people type them and undo, and
//! that a page answers an error as a page. Each rule is tried the way a
//! person acting alone would try to get around it.

use axum::body::Body;
use axum::http::Request;

use apflow::domain::Role;

use crate::auth::{invoice_id, processed_samples, reasons_of, status_of};
use crate::helpers::{BOTH, fresh};
use crate::web::{Api, act, send};

/// A form post of the invoice page (`/invoices/{id}/{action}`).
async fn form(api: &Api, id: i64, action: &str, body: &str) -> (u16, String) {
    let req = Request::post(format!("/invoices/{id}/{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(api, req).await
}

async fn get(api: &Api, uri: &str) -> (u16, String) {
    send(api, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn audit_actions(pool: &sqlx::AnyPool, id: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'invoice' AND entity_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Sending to approval needs a comment for the approver, from the API and
/// the page alike; a note changes nothing but the conversation, and
/// tells whom it mentions.
#[tokio::test]
async fn approval_needs_a_comment_and_notes_change_nothing() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "RE-2026-00437").await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let (code, why) = act(&clerk, id, "request-approval", "{}").await;
        assert_eq!(code, 400, "{db:?}: sent without a word: {why}");
        assert!(why.contains("tell the approver"), "{why}");
        let (code, page) = form(&clerk, id, "request-approval", "csrf=x&comment=+++").await;
        assert_eq!(code, 400);
        assert!(
            page.contains("<h1>Not done</h1>")
                && page.contains("tell the approver")
                && !page.contains("{\""),
            "an error page, not JSON: {page}"
        );
        assert_eq!(status_of(&pool, id).await, "needs_review");
        // A note from anyone, with a mention; it does not move the invoice.
        let (code, answer) = act(
            &approver,
            id,
            "notes",
            &format!(
                r#"{{"text": "@{} is this price agreed? @nobody"}}"#,
                clerk.username
            ),
        )
        .await;
        assert_eq!(code, 200, "{answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["mentions"], serde_json::json!([clerk.username]));
        assert_eq!(status_of(&pool, id).await, "needs_review");
        assert_eq!(
            act(&approver, id, "notes", r#"{"text": "  "}"#).await.0,
            400
        );
        let long = "x".repeat(4001);
        assert_eq!(
            act(&approver, id, "notes", &format!(r#"{{"text": "{long}"}}"#))
                .await
                .0,
            400
        );
        assert_eq!(
            act(&approver, 999_999, "notes", r#"{"text": "hi"}"#)
                .await
                .0,
            404
        );
        // The comment goes with the request, and both are on the page.
        assert_eq!(
            form(
                &clerk,
                id,
                "request-approval",
                "csrf=x&comment=price+agreed+by+phone"
            )
            .await
            .0,
            303
        );
        assert_eq!(status_of(&pool, id).await, "awaiting_approval");
        let (_, page) = get(&approver, &format!("/invoices/{id}")).await;
        assert!(
            page.contains("price agreed by phone") && page.contains("is this price agreed?"),
            "{page}"
        );
        let actions = audit_actions(&pool, id).await;
        assert!(
            actions.ends_with(&[
                "invoice.note_added".into(),
                "invoice.approval_requested".into()
            ]),
            "{actions:?}"
        );
        pool.close().await;
    }
}

/// A correction typed as people write amounts and dates is stored in the
/// one form the checks read, and still counts as a change of money that a
/// second person approves.
#[tokio::test]
async fn corrections_typed_with_a_decimal_comma_still_need_a_second_person() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "TPI-2026-0342").await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let (code, page) = form(
            &clerk,
            id,
            "fields",
            "csrf=x&f%3Atotal_amount=479%2C92&was%3Atotal_amount=479.92&f%3Adue_date=30.04.2026&was%3Adue_date=2026-04-17",
        )
        .await;
        assert_eq!(code, 303, "{page}");
        let due: String = sqlx::query_scalar("SELECT due_date FROM invoices WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(due, "2026-04-30");
        // The total was unchanged (479,92 is 479.92): no correction made.
        let corrected: Vec<String> =
            sqlx::query_scalar("SELECT field FROM corrections WHERE invoice_id = $1")
                .bind(id)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(corrected, vec!["due_date".to_string()], "{db:?}");
        let (code, page) = form(
            &clerk,
            id,
            "fields",
            "csrf=x&f%3Ainvoice_date=31.02.2026&was%3Ainvoice_date=2026-03-10",
        )
        .await;
        assert_eq!(code, 400);
        assert!(
            page.contains("Invoice date") && page.contains("Back to the invoice"),
            "{page}"
        );
        let (code, _) = form(&clerk, id, "fields", "csrf=x").await;
        assert_eq!(code, 400, "nothing changed is said, not ignored");
        apflow::workflow::drain(&t.store, &t.settings, &[])
            .await
            .unwrap();
        let reasons = reasons_of(&pool, id).await;
        assert!(reasons.contains(&"changed_by_person".into()), "{reasons:?}");
        // The clerk who changed it cannot approve it as an admin either.
        pool.close().await;
    }
}

/// A rejection made by mistake comes back with one step, by an approver,
/// once; a clerk cannot undo, and an approval is never "undone" into the
/// queue this way.
#[tokio::test]
async fn only_an_approver_undoes_a_rejection_and_only_once() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "F2026-0211").await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        assert_eq!(
            act(&approver, id, "undo", "{}").await.0,
            403,
            "nothing to undo"
        );
        assert_eq!(
            act(&clerk, id, "reject", r#"{"comment": "not our order"}"#)
                .await
                .0,
            204
        );
        assert_eq!(status_of(&pool, id).await, "rejected");
        let (_, page) = get(&clerk, &format!("/invoices/{id}")).await;
        assert!(!page.contains("id=\"undo\""), "a clerk is not offered undo");
        let (code, why) = act(&clerk, id, "undo", "{}").await;
        assert_eq!(code, 403, "{db:?}: a clerk undid a rejection: {why}");
        let (_, page) = get(&approver, &format!("/invoices/{id}")).await;
        assert!(page.contains("id=\"undo\""), "{page}");
        assert_eq!(form(&approver, id, "undo", "csrf=x").await.0, 303);
        assert_eq!(status_of(&pool, id).await, "needs_review");
        assert_eq!(act(&approver, id, "undo", "{}").await.0, 403, "only once");
        let actions = audit_actions(&pool, id).await;
        assert_eq!(actions.last().map(String::as_str), Some("invoice.reopened"));
        // An approved invoice is reopened with a reason, never undone.
        let clean = invoice_id(&pool, "F2026-0193").await;
        assert_eq!(status_of(&pool, clean).await, "scheduled");
        assert_eq!(act(&approver, clean, "undo", "{}").await.0, 403);
        assert_eq!(status_of(&pool, clean).await, "scheduled");
        pool.close().await;
    }
}

/// Whoever opens a page gets a page: a missing invoice, a word where a
/// number belongs, an unknown path. The API keeps answering JSON.
#[tokio::test]
async fn errors_are_pages_with_a_way_back() {
    let t = fresh(crate::helpers::Db::Sqlite).await;
    let clerk = Api::as_role(&t, Role::Clerk).await;
    for path in [
        "/invoices/999",
        "/invoices/abc",
        "/no/such/page",
        "/documents/x/status",
    ] {
        let (code, page) = get(&clerk, path).await;
        assert_eq!(code, 404, "{path}");
        assert!(
            page.starts_with("<!DOCTYPE html>")
                && page.contains("Not found")
                && page.contains("href=\"/\""),
            "{path}: {page}"
        );
    }
    let (code, body) = get(&clerk, "/api/no-such-thing").await;
    assert_eq!(code, 404);
    assert!(body.contains("\"not_found\""), "{body}");
}

/// A form posted after the session ended is not lost: the login form
/// carries it, and after the login it comes back filled in, with the new
/// session's token, for the person to send. Only an invoice action comes
/// back; anything else smuggled in is dropped.
#[tokio::test]
async fn a_form_posted_after_the_session_ended_comes_back_after_login() {
    let t = fresh(crate::helpers::Db::Sqlite).await;
    let hash = apflow::web::auth::hash_password("a long test password").unwrap();
    t.store
        .add_user("carla", &hash, Role::Clerk, None)
        .await
        .unwrap();
    let nobody = Api::anonymous(&t);
    let (code, page) = form(
        &nobody,
        7,
        "request-approval",
        "csrf=old&back=view%3Dmine&comment=checked+with+purchasing",
    )
    .await;
    assert_eq!(code, 401);
    let resume = page
        .split("name=\"resume\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the login form carries the posted form")
        .replace("&amp;", "&");
    assert!(
        !resume.contains("old"),
        "the old token is not carried: {resume}"
    );
    let login = |resume: String| {
        let body = serde_urlencoded::to_string([
            ("username", "carla"),
            ("password", "a long test password"),
            ("next", "/invoices/7"),
            ("resume", resume.as_str()),
        ])
        .unwrap();
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let (code, page) = send(&nobody, login(resume)).await;
    assert_eq!(code, 200, "{page}");
    assert!(
        page.contains("action=\"/invoices/7/request-approval\"")
            && page.contains("value=\"checked with purchasing\"")
            && page.contains("Not saved yet"),
        "{page}"
    );
    let csrf = crate::auth::csrf_of(&page);
    assert_eq!(csrf.len(), 64);
    for hostile in [
        "action=%2Fapi%2Finvoices%2F7%2Fapprove",
        "action=%2F%2Fevil.example%2Fx",
        "action=%2Finvoices%2F7%2F..%2F..%2Flogout",
        "comment=no+action",
        "%%%",
    ] {
        let (code, page) = send(&nobody, login(hostile.into())).await;
        assert_eq!(code, 303, "{hostile}: {page}");
    }
}

/// A correction made while its invoice is being decided is checked: the
/// decision running on the old values cannot finish (its job was taken
/// back), and the next one sees the change. Before, the correction's new
/// check was skipped while a decision ran, and the stale decision stood:
/// a changed due date without `changed_by_person`.
#[tokio::test]
async fn a_correction_during_a_running_decision_is_checked_again() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "RE-2026-00437").await;
        let doc = t
            .store
            .invoice_summary(apflow::domain::InvoiceId(id))
            .await
            .unwrap()
            .unwrap()
            .document_id;
        // A worker is deciding the invoice (on the values before the change).
        t.store.requeue_decision(doc).await.unwrap();
        let job = t.store.claim_job("stale", 60_000).await.unwrap().unwrap();
        assert_eq!(job.document_id, doc);
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let (code, why) = act(
            &clerk,
            id,
            "fields",
            r#"{"field": "due_date", "value": "30.04.2026"}"#,
        )
        .await;
        assert_eq!(code, 204, "{why}");
        let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            state, "queued",
            "{db:?}: the running decision is taken back"
        );
        assert!(
            t.store.complete_job(&job).await.is_err(),
            "{db:?}: the stale decision finished"
        );
        apflow::workflow::drain(&t.store, &t.settings, &[])
            .await
            .unwrap();
        let reasons = reasons_of(&pool, id).await;
        assert!(
            reasons.contains(&"changed_by_person".into()),
            "{db:?}: {reasons:?}"
        );
        pool.close().await;
    }
}

/// A clerk picks the vendor from the master data: it is then that vendor
/// whatever the page says, and who is paid changed, so an approver who
/// did not pick it decides, and only to one of that vendor's verified
/// accounts. A vendor not in the master data cannot be picked.
#[tokio::test]
async fn a_vendor_picked_by_a_clerk_still_needs_an_approver_and_a_verified_account() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "RE-2026-00437").await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let pick = |vendor: &str| format!(r#"{{"field": "vendor_id", "value": "{vendor}"}}"#);
        let (code, why) = act(&clerk, id, "fields", &pick("V-9999")).await;
        assert_eq!(code, 400, "{why}");
        assert!(why.contains("no vendor"), "{why}");
        assert_eq!(act(&approver, id, "fields", &pick("V-1002")).await.0, 403);
        let (code, why) = act(&clerk, id, "fields", &pick("V-1002")).await;
        assert_eq!(code, 204, "{why}");
        apflow::workflow::drain(&t.store, &t.settings, &[])
            .await
            .unwrap();
        let vendor: Option<String> =
            sqlx::query_scalar("SELECT vendor_id FROM invoices WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(vendor.as_deref(), Some("V-1002"), "{db:?}: the pick stands");
        let reasons = reasons_of(&pool, id).await;
        assert!(
            reasons.contains(&"changed_by_person".into())
                && reasons.contains(&"bank_details_changed".into()),
            "{db:?}: {reasons:?}"
        );
        let (_, page) = get(&approver, &format!("/invoices/{id}")).await;
        assert!(
            page.contains("Vendor of the master data")
                && page.contains("V-1001")
                && page.contains("V-1002"),
            "old and new vendor shown: {page}"
        );
        assert_eq!(
            act(
                &clerk,
                id,
                "request-approval",
                r#"{"comment": "vendor picked"}"#
            )
            .await
            .0,
            204
        );
        // The invoice's IBAN is not an account of the picked vendor.
        let (code, why) = act(&approver, id, "approve", "{}").await;
        assert_eq!(
            code, 403,
            "{db:?}: paid a picked vendor's unknown account: {why}"
        );
        assert!(why.contains("not a verified account"), "{why}");
        assert_eq!(status_of(&pool, id).await, "awaiting_approval");
        pool.close().await;
    }
}

/// A document apflow gave up on (its job dead-lettered) gets another full
/// set of attempts from a clerk, on the queue: audited, once per give-up,
/// never by an approver, and never for a document still on its way.
#[tokio::test]
async fn a_document_given_up_on_is_tried_again_by_a_clerk() {
    for db in BOTH {
        let mut t = fresh(db).await;
        t.settings.max_attempts = 1;
        let raw = apflow::domain::RawDocument {
            filename: "a.pdf".into(),
            bytes: b"%PDF-1.4 crash".to_vec(),
            source: apflow::domain::Source::Upload,
        };
        let document = apflow::workflow::receive_document(&t.store, &raw, &t.settings)
            .await
            .unwrap()
            .document_id;
        // Its one attempt dies with its process: the lease runs out.
        t.store.claim_job("crashing", 1).await.unwrap().unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(t.store.claim_job("next", 60_000).await.unwrap().is_none());
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let (_, page) = get(&clerk, "/").await;
        assert!(
            page.contains(&format!("action=\"/documents/{}/retry\"", document.0)),
            "{db:?}: the queue offers to try again: {page}"
        );
        let (_, page) = get(&approver, "/").await;
        assert!(!page.contains("/retry\""), "{db:?}: not to an approver");
        let retry = |api: &Api| {
            let req = Request::post(format!("/documents/{}/retry", document.0))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from("csrf=x"))
                .unwrap();
            let api = api.clone();
            async move { send(&api, req).await.0 }
        };
        assert_eq!(retry(&approver).await, 403);
        assert_eq!(retry(&clerk).await, 303);
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let (state, attempts): (String, i64) =
            sqlx::query_as("SELECT state, attempts FROM jobs WHERE document_id = $1")
                .bind(document.0)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((state.as_str(), attempts), ("queued", 0), "{db:?}");
        assert_eq!(retry(&clerk).await, 409, "{db:?}: nothing gave up any more");
        let retried: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'document.retried' AND entity_id = $1",
        )
        .bind(document.0.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(retried, 1, "{db:?}");
        pool.close().await;
    }
}

/// A clerk fixes the lines in the grid (a price, a line dropped, one
/// added): the match is made again on the new lines, each line keeps its
/// SKU, and because lines decide the match, which can pay without a
/// person, the change waits for an approver. Numbers that cannot be read
/// are refused with their line.
#[tokio::test]
async fn lines_fixed_by_a_clerk_are_matched_again_and_wait_for_an_approver() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let id = invoice_id(&pool, "RE-2026-00437").await;
        let clerk = Api::as_role(&t, Role::Clerk).await;
        let approver = Api::as_role(&t, Role::Approver).await;
        let skus = || async {
            sqlx::query_as::<_, (Option<String>, Option<String>)>(
                "SELECT sku, unit_price FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
            )
            .bind(id)
            .fetch_all(&pool)
            .await
            .unwrap()
        };
        let before = skus().await;
        assert_eq!(before.len(), 2, "{db:?}");
        assert!(
            reasons_of(&pool, id)
                .await
                .contains(&"price_variance".into())
        );
        assert_eq!(act(&approver, id, "lines", r#"{"lines": []}"#).await.0, 403);
        let (code, page) = form(
            &clerk,
            id,
            "lines",
            "csrf=x&ln1%3Afrom=1&ln1%3Adescription=Monitor&ln1%3Aquantity=5&ln1%3Aunit_price=abc&ln1%3Aamount=1245",
        )
        .await;
        assert_eq!(code, 400);
        assert!(
            page.contains("Line 1") && page.contains("unit price"),
            "{page}"
        );
        // Line 1 at the ordered price, line 2 kept, an empty row ignored.
        let (code, page) = form(
            &clerk,
            id,
            "lines",
            "csrf=x&ln1%3Afrom=1&ln1%3Adescription=Monitor&ln1%3Aquantity=5&ln1%3Aunit_price=249%2C00&ln1%3Aamount=1.245%2C00\
             &ln2%3Afrom=2&ln2%3Adescription=Dock&ln2%3Aquantity=5&ln2%3Aunit_price=118&ln2%3Aamount=590\
             &ln3%3Adescription=&ln3%3Aquantity=",
        )
        .await;
        assert_eq!(code, 303, "{page}");
        let after = skus().await;
        assert_eq!(after.len(), 2, "{db:?}");
        assert_eq!(
            after[0].0, before[0].0,
            "{db:?}: the SKU stays with its line"
        );
        assert_eq!(after[0].1.as_deref(), Some("249.00"), "{db:?}");
        apflow::workflow::drain(&t.store, &t.settings, &[])
            .await
            .unwrap();
        let reasons = reasons_of(&pool, id).await;
        assert!(
            !reasons.contains(&"price_variance".into())
                && reasons.contains(&"changed_by_person".into()),
            "{db:?}: matched again, and held for an approver: {reasons:?}"
        );
        assert_eq!(status_of(&pool, id).await, "needs_review");
        let (_, page) = get(&approver, &format!("/invoices/{id}")).await;
        assert!(
            page.contains("Line items") && page.contains("1: Monitor × 5 @ 249.00 = 1245.00"),
            "the change reads old → new: {page}"
        );
        // Dropping a line and adding one.
        let (code, _) = act(
            &clerk,
            id,
            "lines",
            r#"{"lines": [{"from": 1, "description": "Monitor", "quantity": "5", "unit_price": "249", "amount": "1245"},
                          {"description": "Freight", "quantity": "1", "unit_price": "99,60", "amount": "99,60"}]}"#,
        )
        .await;
        assert_eq!(code, 204);
        let after = skus().await;
        assert_eq!(after.len(), 2);
        assert_eq!(after[1], (None, Some("99.60".to_string())), "{db:?}");
        pool.close().await;
    }
}

/// The queue is read page by page in SQL: pages follow on from each other
/// without gaps or repeats in every order, the search finds a vendor, a
/// number or an amount as people write it, "waiting for my approval"
/// leaves out what this person sent, and previous / next agree with the
/// page.
#[tokio::test]
async fn the_queue_pages_sorts_and_searches_in_sql() {
    use apflow::store::{QueueFilter, QueueSort, QueueView};
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let admin = Api::as_role(&t, Role::Admin).await;
        let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(admin.username.clone())
            .fetch_one(&pool)
            .await
            .unwrap();
        let all = |sort| QueueFilter {
            view: QueueView::All,
            user_id: admin_id,
            username: admin.username.clone(),
            may_approve: true,
            reason: None,
            search: None,
            amount: None,
            sort,
        };
        for sort in [QueueSort::Due, QueueSort::Amount, QueueSort::Age] {
            let whole = t.store.queue_page(&all(sort), None, 100).await.unwrap();
            assert!(whole.next.is_none() && whole.rows.len() >= 10, "{db:?}");
            let mut paged = Vec::new();
            let mut after = None;
            loop {
                let page = t
                    .store
                    .queue_page(&all(sort), after.as_ref(), 3)
                    .await
                    .unwrap();
                assert!(page.rows.len() <= 3);
                paged.extend(page.rows.iter().map(|r| r.id.0));
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let ids: Vec<i64> = whole.rows.iter().map(|r| r.id.0).collect();
            assert_eq!(paged, ids, "{db:?} {sort:?}: pages follow on");
            // Previous / next of the third row are its neighbours.
            let third = apflow::domain::InvoiceId(ids[2]);
            let around = t.store.queue_neighbours(&all(sort), third).await.unwrap();
            assert_eq!(around.prev.map(|p| p.0), Some(ids[1]), "{db:?} {sort:?}");
            assert_eq!(around.next.map(|n| n.0), Some(ids[3]), "{db:?} {sort:?}");
            assert_eq!(
                (around.position, around.total),
                (Some(3), i64::try_from(ids.len()).unwrap())
            );
            match sort {
                QueueSort::Due => {
                    let dues: Vec<Option<String>> =
                        whole.rows.iter().map(|r| r.due_date.clone()).collect();
                    let mut sorted = dues.clone();
                    sorted.sort_by_key(|d| (d.is_none(), d.clone()));
                    assert_eq!(dues, sorted, "{db:?}: soonest first, none last");
                }
                QueueSort::Amount => {
                    let totals: Vec<f64> = whole
                        .rows
                        .iter()
                        .map(|r| {
                            r.total_amount
                                .as_deref()
                                .map_or(-1.0, |t| t.parse().unwrap())
                        })
                        .collect();
                    assert!(
                        totals.windows(2).all(|w| w[0] >= w[1]),
                        "{db:?}: {totals:?}"
                    );
                }
                QueueSort::Age => {}
            }
        }
        // Reasons come with the page.
        let id = invoice_id(&pool, "RE-2026-00437").await;
        let whole = t
            .store
            .queue_page(&all(QueueSort::Due), None, 100)
            .await
            .unwrap();
        let row = whole.rows.iter().find(|r| r.id.0 == id).unwrap();
        assert_eq!(row.reasons, vec!["price_variance".to_string()], "{db:?}");
        for (words, amount) in [
            ("NORDLICHT", None),
            ("re-2026-00437", None),
            ("PO-2026-0106", None),
            ("2.302,17", Some("2302.17")),
        ] {
            let f = QueueFilter {
                search: Some(words.into()),
                amount: amount.map(|a: &str| a.parse().unwrap()),
                ..all(QueueSort::Due)
            };
            let found = t.store.queue_page(&f, None, 100).await.unwrap();
            assert!(
                found.rows.iter().any(|r| r.id.0 == id),
                "{db:?}: {words} finds it"
            );
            assert!(
                found.rows.len() < whole.rows.len(),
                "{db:?}: {words} narrows"
            );
        }
        // A search with LIKE's wildcards finds them as text, not as "any".
        let f = QueueFilter {
            search: Some("%".into()),
            ..all(QueueSort::Due)
        };
        assert!(
            t.store
                .queue_page(&f, None, 100)
                .await
                .unwrap()
                .rows
                .is_empty()
        );
        // Sent to approval by the admin: not in the admin's approvals.
        assert_eq!(
            act(&admin, id, "request-approval", r#"{"comment": "checked"}"#)
                .await
                .0,
            204
        );
        let approvals = |user_id: i64| QueueFilter {
            view: QueueView::Approval,
            user_id,
            ..all(QueueSort::Due)
        };
        let mine = t
            .store
            .queue_page(&approvals(admin_id), None, 100)
            .await
            .unwrap();
        assert!(mine.rows.iter().all(|r| r.id.0 != id), "{db:?}");
        let other = t.store.queue_page(&approvals(-1), None, 100).await.unwrap();
        assert!(other.rows.iter().any(|r| r.id.0 == id), "{db:?}");
        pool.close().await;
    }
}

/// An admin holds both roles, so an admin acting alone is the strongest
/// clerk there is: one who picks the vendor or edits the lines, sends the
/// invoice to approval and then tries to approve it. Neither change is
/// paid on that one person's word.
#[tokio::test]
async fn an_admin_alone_cannot_pay_a_vendor_pick_or_a_line_edit() {
    for db in BOTH {
        let t = fresh(db).await;
        let pool = processed_samples(&t).await;
        let admin = Api::as_role(&t, Role::Admin).await;
        // The lines at the ordered price: the variance is gone.
        let lines = invoice_id(&pool, "RE-2026-00437").await;
        let (code, why) = act(
            &admin,
            lines,
            "lines",
            r#"{"lines": [{"from": 1, "description": "Monitor", "quantity": "5", "unit_price": "249", "amount": "1245"},
                          {"from": 2, "description": "Dock", "quantity": "5", "unit_price": "118", "amount": "590"}]}"#,
        )
        .await;
        assert_eq!(code, 204, "{why}");
        // A vendor picked for the invoice of a vendor nobody knows.
        let picked = invoice_id(&pool, "SB-2026-047").await;
        let (code, why) = act(
            &admin,
            picked,
            "fields",
            r#"{"field": "vendor_id", "value": "V-1001"}"#,
        )
        .await;
        assert_eq!(code, 204, "{why}");
        apflow::workflow::drain(&t.store, &t.settings, &[])
            .await
            .unwrap();
        for id in [lines, picked] {
            assert_eq!(status_of(&pool, id).await, "needs_review", "{db:?}: held");
            assert!(
                reasons_of(&pool, id)
                    .await
                    .contains(&"changed_by_person".into()),
                "{db:?}: a change of who or what is paid"
            );
            assert_eq!(
                act(&admin, id, "request-approval", r#"{"comment": "fixed"}"#)
                    .await
                    .0,
                204
            );
            let (code, why) = act(&admin, id, "approve", "{}").await;
            assert_eq!(code, 403, "{db:?}: approved own change: {why}");
            assert_eq!(status_of(&pool, id).await, "awaiting_approval");
            let planned: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE invoice_id = $1")
                    .bind(id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(planned, 0, "{db:?}: nothing planned");
        }
        pool.close().await;
    }
}

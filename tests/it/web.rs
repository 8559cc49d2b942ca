//! The web app and API through the real router.

use std::sync::Arc;

use apflow::web::{AppState, router};
use apflow::workflow::{self, Metrics};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::helpers::{Db, TestDb, fresh, load_sample_master_data, repo_path};

/// The real router, called as a user with an API token (or as nobody).
#[derive(Clone)]
pub struct Api {
    router: axum::Router,
    token: Option<String>,
    /// The user behind the token, if any.
    pub username: String,
}

impl Api {
    pub fn anonymous(t: &TestDb) -> Api {
        Api {
            router: router(AppState {
                store: t.store.clone(),
                settings: t.settings.clone(),
                metrics: Arc::new(Metrics::default()),
            }),
            token: None,
            username: String::new(),
        }
    }

    /// A new user with `role` and an API token.
    pub async fn as_role(t: &TestDb, role: apflow::domain::Role) -> Api {
        let name = format!("{}-{}", role.as_str(), apflow::web::auth::new_secret());
        let hash = apflow::web::auth::hash_password("a long test password").unwrap();
        let id = t
            .store
            .add_user(&name, &hash, role, None)
            .await
            .unwrap()
            .unwrap();
        let token = apflow::web::auth::new_secret();
        t.store
            .add_api_token(&apflow::web::auth::token_digest(&token), id, "test")
            .await
            .unwrap();
        Api {
            token: Some(token),
            username: name,
            ..Api::anonymous(t)
        }
    }

    /// The same router, sending this bearer token.
    pub fn router_with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    pub async fn oneshot(
        self,
        mut req: Request<Body>,
    ) -> Result<axum::response::Response, std::convert::Infallible> {
        if let Some(t) = &self.token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        self.router.oneshot(req).await
    }
}

pub async fn get(app: &Api, uri: &str) -> (StatusCode, String) {
    let (status, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (StatusCode::from_u16(status).unwrap(), body)
}

/// Sends `req` as this user: the status and the body as text.
pub async fn send(api: &Api, req: Request<Body>) -> (u16, String) {
    let res = api.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).to_string())
}

/// JSON to `/api/invoices/{id}/{action}` (approve, fields, notes, ...).
pub async fn act(api: &Api, id: i64, action: &str, body: &str) -> (u16, String) {
    let req = Request::post(format!("/api/invoices/{id}/{action}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(api, req).await
}

#[tokio::test]
async fn queue_invoice_page_upload_health_and_metrics() {
    let t = fresh(Db::Sqlite).await;
    load_sample_master_data(&t.store).await;
    let app = Api::as_role(&t, apflow::domain::Role::Admin).await;

    let pdf = std::fs::read(repo_path("samples/invoices/06_nordlicht_RE-2026-00437.pdf")).unwrap();
    let boundary = "XBOUNDARYX";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"06.pdf\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(&pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let upload = || {
        Request::post("/api/documents")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body.clone()))
            .unwrap()
    };
    let res = app.clone().oneshot(upload()).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let json: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let doc_id = json[0]["document_id"].as_i64().unwrap();
    assert_eq!(json[0]["duplicate"], false);
    let res = app.clone().oneshot(upload()).await.unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        (
            json[0]["document_id"].as_i64().unwrap(),
            json[0]["duplicate"].as_bool()
        ),
        (doc_id, Some(true))
    );

    workflow::drain(&t.store, &t.settings, &[apflow::domain::DocumentId(doc_id)])
        .await
        .unwrap();

    let (status, html) = get(&app, "/?view=review").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("RE-2026-00437") && html.contains("Price differs from the order"),
        "{html}"
    );
    // An old bookmark by status still lands on its view.
    let (_, html) = get(&app, "/?status=needs_review").await;
    assert!(html.contains("RE-2026-00437"), "{html}");
    let (_, html) = get(&app, "/?view=scheduled").await;
    assert!(!html.contains("RE-2026-00437"));
    let (status, dash) = get(&app, "/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        dash.contains("touchless") && dash.contains("<svg"),
        "{dash}"
    );
    assert!(dash.contains("price_variance"), "reasons charted: {dash}");
    // The trend: this week's one invoice needed a person.
    assert!(
        dash.contains("Touchless, by the week invoices arrived") && dash.contains("0 % (0/1)"),
        "{dash}"
    );
    // Filters: by reason and a search for the vendor, the number or the
    // amount as people write it.
    for search in ["NORDLICHT", "re-2026-00437", "2.302,17"] {
        let (_, html) = get(
            &app,
            &format!("/?view=review&reason=price_variance&q={search}"),
        )
        .await;
        assert!(html.contains("RE-2026-00437"), "{search}: {html}");
    }
    let (_, html) = get(&app, "/?view=review&q=brightside").await;
    assert!(!html.contains("RE-2026-00437"));
    let (_, html) = get(&app, "/?reason=totals_mismatch").await;
    assert!(!html.contains("RE-2026-00437"));
    let (_, list) = get(&app, "/api/invoices?vendor=brightside").await;
    assert_eq!(list, "[]");
    let (_, list) = get(&app, "/api/invoices?min_total=2000&max_total=2500").await;
    assert!(
        list.contains("RE-2026-00437"),
        "2302.17 is in range: {list}"
    );
    let (_, list) = get(&app, "/api/invoices?max_total=1000").await;
    assert!(!list.contains("RE-2026-00437"));

    let (status, list) = get(&app, "/api/invoices?status=needs_review").await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    let (_, page) = get(&app, &format!("/invoices/{id}")).await;
    assert!(
        page.contains("unit price") && page.contains("above the price 249.00"),
        "reason explained: {page}"
    );
    assert!(page.contains(&format!("/documents/{doc_id}/original")));
    assert!(
        page.contains("Against purchase order PO-2026-0106"),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"num low\">268.92</td>"),
        "the variance is marked: {page}"
    );
    assert!(
        page.contains("Checked and routed") && !page.contains("invoice.routed"),
        "history from the audit log, in words: {page}"
    );

    let res = app
        .clone()
        .oneshot(
            Request::get(format!("/documents/{doc_id}/original"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(
        res.into_body().collect().await.unwrap().to_bytes().as_ref(),
        pdf.as_slice()
    );

    let (status, body) = get(&app, "/api/invoices?status=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("\"code\":\"bad_request\""));
    assert_eq!(get(&app, "/invoices/999999").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, "/healthz").await,
        (StatusCode::OK, "ok\n".to_string())
    );
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains("apflow_invoices{status=\"needs_review\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("apflow_jobs{kind=\"decide\",state=\"done\"} 1"));
    assert!(metrics.contains("apflow_job_duration_seconds_count"));
}

#[tokio::test]
async fn master_data_import_over_rest() {
    let t = fresh(Db::Sqlite).await;
    let app = Api::as_role(&t, apflow::domain::Role::Admin).await;
    let post = |uri: &str, ctype: &str, body: &str| {
        Request::post(uri)
            .header("content-type", ctype)
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let vendors = r#"{"vendor_id": "V9", "name": "Acme Ltd", "vat_id": "GB980780684", "ibans": ["GB82WEST12345698765432"], "tolerances": {"price_pct": "5"}}"#;
    for _ in 0..2 {
        let res = app
            .clone()
            .oneshot(post("/api/import/vendors", "application/x-ndjson", vendors))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let v = t.store.vendors().await.unwrap();
    assert_eq!(v.len(), 1, "re-import updates, never duplicates");
    assert_eq!(v[0].tolerances.price_pct, Some("5".parse().unwrap()));
    let csv = "po_number,vendor_id,currency,status,line_no,sku,description,quantity,unit,unit_price,tax_rate\nP1,V9,GBP,open,1,A,Paper,10,box,4.50,20\nP1,V9,GBP,open,2,B,Toner,2,pcs,89.90,20\n";
    let res = app
        .clone()
        .oneshot(post("/api/import/pos", "text/csv", csv))
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["imported"],
        1
    );
    assert_eq!(
        t.store
            .purchase_order("P1")
            .await
            .unwrap()
            .unwrap()
            .lines
            .len(),
        2
    );
    let res = app
        .clone()
        .oneshot(post(
            "/api/import/receipts",
            "application/x-ndjson",
            "{\"receipt_id\": \"R1\"}",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body =
        String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).to_string();
    assert!(body.contains("request:1"), "{body}");
    assert_eq!(
        app.clone()
            .oneshot(post("/api/import/people", "text/csv", ""))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
}

/// Invoice text is hostile input: a vendor name and invoice number made of
/// markup are shown as text on the queue and the invoice page, never run.
#[tokio::test]
async fn markup_in_an_invoice_renders_as_text() {
    let t = fresh(Db::Sqlite).await;
    let app = Api::as_role(&t, apflow::domain::Role::Admin).await;
    let ubl = r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>"&gt;&lt;script&gt;alert(1)&lt;/script&gt;</cbc:ID>
  <cbc:IssueDate>2026-03-01</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>&lt;script&gt;alert('xss')&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</cbc:RegistrationName>
  </cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="EUR">10.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">11.90</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">11.90</cbc:PayableAmount></cac:LegalMonetaryTotal>
</Invoice>"#;
    let (status, _) = upload(&app, "x.xml", ubl.as_bytes()).await;
    assert_eq!(status, StatusCode::CREATED);
    workflow::drain(&t.store, &t.settings, &[]).await.unwrap();
    let (_, list) = get(&app, "/api/invoices").await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    for uri in ["/".to_string(), format!("/invoices/{id}")] {
        let (status, html) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("<script>"), "{uri}: {html}");
        assert!(!html.contains("<img src=x"), "{uri}");
        assert!(
            html.contains("&lt;script&gt;alert("),
            "{uri}: shown as text"
        );
    }
}

#[tokio::test]
async fn an_xml_only_einvoice_reads_as_a_document_with_its_rules() {
    let t = fresh(Db::Sqlite).await;
    let app = Api::as_role(&t, apflow::domain::Role::Clerk).await;
    let valid = std::fs::read_to_string(repo_path(
        "tests/fixtures/einvoice/en16931-allowances.cii.xml",
    ))
    .unwrap();
    let broken = valid.replace(
        "<ram:GrandTotalAmount>164.71</ram:GrandTotalAmount>",
        "<ram:GrandTotalAmount>174.71</ram:GrandTotalAmount>",
    );
    for (name, xml) in [("valid.xml", &valid), ("broken.xml", &broken)] {
        let (status, _) = upload(&app, name, xml.as_bytes()).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let pdf = std::fs::read(repo_path("samples/invoices/01_nordlicht_RE-2026-00412.pdf")).unwrap();
    let (status, _) = upload(&app, "paper.pdf", &pdf).await;
    assert_eq!(status, StatusCode::CREATED);
    workflow::drain(&t.store, &t.settings, &[]).await.unwrap();
    let (_, list) = get(&app, "/api/invoices").await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let by_file = |file: &str| {
        let i = list
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["filename"] == file)
            .unwrap();
        (
            i["id"].as_i64().unwrap(),
            i["document_id"].as_i64().unwrap(),
        )
    };
    let (valid_id, valid_doc) = by_file("valid.xml");
    let (_, page) = get(&app, &format!("/invoices/{valid_id}")).await;
    for part in [
        "<article class=\"einvoice\">",
        "href=\"#xml-total_amount\"",
        "id=\"xml-total_amount\"",
        "Schraubenhandel Nord GmbH",
        "Loyalty discount",
        "Valid EN 16931 e-invoice",
        "printable view",
    ] {
        assert!(page.contains(part), "{part} missing: {page}");
    }
    let (status, printable) = get(&app, &format!("/documents/{valid_doc}/einvoice")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        printable.contains("id=\"xml-total_amount\">164.71 EUR"),
        "{printable}"
    );

    let (broken_id, _) = by_file("broken.xml");
    let (_, page) = get(&app, &format!("/invoices/{broken_id}")).await;
    assert!(
        page.contains("E-invoice breaks the EN 16931 rules"),
        "{page}"
    );
    assert!(
        page.contains("Breaks 2 EN 16931 rules") && page.contains("BR-CO-15"),
        "{page}"
    );

    // A PDF has its page images, not this view.
    let (_, pdf_doc) = by_file("paper.pdf");
    let (status, _) = get(&app, &format!("/documents/{pdf_doc}/einvoice")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// `/api/openapi.json` describes every `/api` route the router has (the
/// router's own route table, so a new route without a description fails).
#[tokio::test]
async fn openapi_document_covers_every_api_route() {
    let t = fresh(Db::Sqlite).await;
    let (status, doc) = get(&Api::anonymous(&t), "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "public");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes: Vec<&str> = apflow::web::routes()
        .iter()
        .map(|r| r.path)
        .filter(|r| r.starts_with("/api/"))
        .collect();
    assert!(routes.len() >= 8, "{routes:?}");
    for route in routes {
        let documented = route.replace("{decision}", "approve");
        assert!(
            doc["paths"].get(&documented).is_some(),
            "{route} is not in the OpenAPI document"
        );
    }
}

/// Uploads one multipart `file` part named `filename`; the status and the
/// JSON answer.
pub async fn upload(app: &Api, filename: &str, bytes: &[u8]) -> (StatusCode, serde_json::Value) {
    let boundary = "XBOUNDARYX";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/documents")
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
    (status, json)
}

/// Issue 16, finding 4: an `.eml` uploaded through the API was refused
/// instead of unpacked, and file names were stored as sent (`../`, a
/// right-to-left override). Now a saved mail and a ZIP are unpacked into
/// their invoices, each stored under a safe name with the mail's sender as
/// its source, and what was sent stays in the audit log, escaped.
#[tokio::test]
async fn uploads_unpack_mails_and_archives_and_store_safe_names() {
    use crate::mail::{mail, part, pdf, zip};
    for db in crate::helpers::BOTH {
        let t = fresh(db).await;
        let app = Api::as_role(&t, apflow::domain::Role::Clerk).await;

        let eml = mail(&[part(
            "application/octet-stream",
            "attachment; filename=\"rechnung.pdf\"",
            "",
            &pdf(0),
        )]);
        let (status, json) = upload(&app, "fwd.eml", &eml).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {json}");
        assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
        assert_eq!(json[0]["filename"], "rechnung.pdf");

        let archive = zip(&[("a/../../x.pdf", pdf(1)), ("notes.txt", b"hello".to_vec())]);
        let (status, json) = upload(&app, "bundle.zip", &archive).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {json}");
        assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
        assert_eq!(json[0]["filename"], "x.pdf");

        let nothing = zip(&[("notes.txt", b"hello".to_vec())]);
        let (status, json) = upload(&app, "empty.zip", &nothing).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{db:?}");
        assert!(
            json.to_string().contains("no invoice document in it"),
            "{json}"
        );

        let sneaky = "../../invoice\u{202E}fdp.exe";
        let (status, json) = upload(&app, sneaky, &pdf(2)).await;
        assert_eq!(status, StatusCode::CREATED, "{db:?}: {json}");
        assert_eq!(json[0]["filename"], "invoicefdp.exe");

        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&t.url).await.unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT filename, source FROM documents ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(rows.len(), 3, "{db:?}: {rows:?}");
        assert_eq!(rows[0].0, "rechnung.pdf");
        assert!(
            rows[0].1.contains("rechnung@nordlicht.example"),
            "the mail's sender is the source: {rows:?}"
        );
        assert_eq!(
            (rows[1].0.as_str(), rows[1].1.as_str()),
            ("x.pdf", "upload")
        );
        assert_eq!(rows[2].0, "invoicefdp.exe");
        let audit: Vec<String> = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'document.received' ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(
            audit[2].contains(r#""filename_sent":"../../invoice\\u{202e}fdp.exe""#),
            "{}",
            audit[2]
        );
        assert!(!audit.iter().any(|a| a.contains('\u{202E}')));
    }
}

//! Web: the HTTP API, the review web app, and the operations endpoints.
//!
//! Every route but `/healthz`, `/metrics`, `/api/openapi.json` and the
//! login form needs a logged-in caller with the right role (`auth.rs`).
//!
//! Only this module defines JSON shapes for the API; it turns store rows
//! into them. Pages are rendered on the server as plain HTML (no build step
//! and no JavaScript needed to read the queue). Every error goes through
//! [`ApiError`], which maps it to a stable code and status and keeps the
//! cause chain for the log.

mod api;
pub mod auth;
mod error;
mod openapi;
mod pages;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::store::Store;
use crate::workflow::Metrics;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
}

/// Uploads larger than this are refused before they are read.
pub const MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::queue))
        .route("/dashboard", get(pages::dashboard))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/invoices/{id}", get(pages::invoice))
        .route("/documents/{id}/original", get(api::original_document))
        .route("/documents/{id}/pages/{page}", get(api::page_image))
        .route("/api/documents", post(api::upload_document))
        .route("/api/import/{kind}", post(api::import_master_data))
        .route(
            "/api/payment-runs/{id}/{outcome}",
            post(api::settle_payment_run),
        )
        .route("/api/invoices", get(api::list_invoices))
        .route("/api/invoices/{id}", get(api::invoice_detail))
        .route("/api/invoices/{id}/fields", post(api::correct_field))
        .route("/api/invoices/{id}/assign", post(api::assign))
        .route("/api/vendors/{id}/verify-iban", post(api::verify_iban))
        .route(
            "/api/invoices/{id}/request-approval",
            post(api::request_approval),
        )
        .route("/api/invoices/{id}/{decision}", post(api::decide))
        .route("/invoices/{id}/{action}", post(pages::invoice_action))
        .route("/api/openapi.json", get(openapi::document))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .with_state(state)
}

/// Serves the app on `bind` until `token` is cancelled.
pub async fn serve(state: AppState, bind: &str, token: CancellationToken) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(addr = %listener.local_addr()?, "web app listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { token.cancelled().await })
        .await
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

//! Web: the HTTP API, the review web app, and the operations endpoints.
//!
//! Every route but `/healthz`, `/api/openapi.json`, `/static/*` and the
//! login form needs a logged-in caller with the right role (`auth.rs`);
//! `/metrics` wants its bearer token, an admin, or `metrics_public`.
//! The routes are one table ([`routes`]), so tests can check each of them
//! against every role; every response carries the security headers
//! ([`security_headers`]): a Content-Security-Policy without inline
//! scripts, `nosniff`, no referrer, no framing.
//!
//! Only this module defines JSON shapes for the API; it turns store rows
//! into them. Pages are `maud` templates rendered on the server (`pages`:
//! no build step; one small script from `/static/` adds keys and the
//! viewer, and nothing needs it). Every API error goes through
//! [`ApiError`], which maps it to a stable code and status and keeps the
//! cause chain for the log; a page answers its errors as a page
//! (`pages::PageError`), and an unknown path is a page too, or JSON under
//! `/api/`.

mod api;
pub mod auth;
pub mod einvoice_view;
mod error;
mod openapi;
mod pages;

pub use error::ApiError;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
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

/// One route of the app: method, path pattern, handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

/// A GET or POST route (the only methods the app serves).
fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let handler = if method == Method::GET {
        get(handler)
    } else {
        post(handler)
    };
    Route {
        method,
        path,
        handler,
    }
}

/// Every route the app serves; [`router`] is built from this list and
/// nothing else, so a test that walks it sees every route.
pub fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        route(M::GET, "/", pages::queue),
        route(M::GET, "/dashboard", pages::dashboard),
        route(M::GET, "/login", auth::login_form),
        // A login form is small; a huge user name is refused unread.
        Route {
            method: M::POST,
            path: "/login",
            handler: post(auth::login).layer(DefaultBodyLimit::max(auth::MAX_LOGIN_FORM_BYTES)),
        },
        route(M::POST, "/logout", auth::logout),
        route(M::POST, "/language", pages::set_language),
        route(M::GET, "/invoices/{id}", pages::invoice),
        route(M::GET, "/documents/{id}/original", api::original_document),
        route(M::GET, "/documents/{id}/status", pages::document_status),
        route(M::POST, "/documents/{id}/retry", pages::document_retry),
        route(M::POST, "/api/documents/{id}/retry", api::retry_document),
        route(M::GET, "/documents/{id}/pages/{page}", api::page_image),
        route(
            M::GET,
            "/documents/{id}/pages/{page}/words",
            pages::page_words,
        ),
        route(M::GET, "/documents/{id}/einvoice", pages::einvoice_page),
        route(M::POST, "/api/documents", api::upload_document),
        route(M::POST, "/api/import/{kind}", api::import_master_data),
        route(
            M::POST,
            "/api/payment-runs/{id}/{outcome}",
            api::settle_payment_run,
        ),
        route(M::GET, "/api/invoices", api::list_invoices),
        route(M::GET, "/api/invoices/{id}", api::invoice_detail),
        route(M::POST, "/api/invoices/{id}/fields", api::correct_field),
        route(M::POST, "/api/invoices/{id}/assign", api::assign),
        route(M::POST, "/api/vendors/{id}/verify-iban", api::verify_iban),
        route(
            M::POST,
            "/api/invoices/{id}/request-approval",
            api::request_approval,
        ),
        route(M::POST, "/api/invoices/{id}/notes", api::add_note),
        route(M::POST, "/api/invoices/{id}/lines", api::correct_lines),
        route(M::POST, "/api/invoices/{id}/{decision}", api::decide),
        route(M::POST, "/invoices/{id}/{action}", pages::invoice_action),
        route(M::GET, "/api/openapi.json", openapi::document),
        route(M::GET, "/healthz", api::healthz),
        route(M::GET, "/metrics", api::metrics),
        route(M::GET, "/static/app.css", pages::stylesheet),
        route(M::GET, "/static/app.js", pages::script),
    ]
}

pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    for r in routes() {
        app = app.route(r.path, r.handler);
    }
    app.fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The policy for every page: only this origin's resources, no inline
/// script, no plugins, no framing, no `<base>` games. Inline `style=`
/// attributes stay allowed (the page image's field boxes are positioned
/// with them); style sheets come from `/static/app.css`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response, keeping a stricter
/// policy a handler set itself (an original document's sandbox).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Serves the app on `bind` until `token` is cancelled.
pub async fn serve(state: AppState, bind: &str, token: CancellationToken) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    serve_on(state, listener, token).await
}

/// Serves the app on a bound listener (tests bind port 0), with each
/// connection's address for the login throttle.
pub async fn serve_on(
    state: AppState,
    listener: tokio::net::TcpListener,
    token: CancellationToken,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "web app listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { token.cancelled().await })
    .await
}

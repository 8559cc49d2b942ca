//! The review workspace, rendered on the server: the queue a clerk works
//! through (`queue`), one invoice with its document beside it
//! (`invoice`), the dashboard (`dashboard`), and the frame, error pages
//! and static files they share (here).
//!
//! Pages are `maud` templates: every value is escaped by the template, no
//! HTML is built with `format!`. They read without JavaScript; `app.js`
//! (served from this origin, as the Content-Security-Policy wants) adds
//! keyboard shortcuts, the viewer's zoom, taking a value by clicking a
//! word, drag-and-drop upload and local times. Labels come from `labels`:
//! a person never sees a status or reason code.

mod dashboard;
pub mod i18n;
mod invoice;
pub mod labels;
mod queue;

pub use dashboard::dashboard;
pub use i18n::Lang;
pub use invoice::{
    document_retry, document_status, einvoice_page, invoice, invoice_action, page_words,
};
pub use queue::queue;

use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::ApiError;
use super::auth::Caller;

/// `GET /static/app.css`
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("app.css"),
    )
}

/// `GET /static/app.js`
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("app.js"),
    )
}

/// A keyboard shortcut a page offers: the key, what it does, and the
/// element it focuses or clicks (`data-key` on that element).
pub(super) struct Shortcut {
    pub key: &'static str,
    pub does: &'static str,
}

/// Shortcuts every page has.
const EVERYWHERE: [Shortcut; 3] = [
    Shortcut {
        key: "?",
        does: "show or hide this list",
    },
    Shortcut {
        key: "g",
        does: "go to the queue",
    },
    Shortcut {
        key: "/",
        does: "search invoices",
    },
];

/// The page frame. With a caller, the header names them, links the
/// queue and dashboard, and offers logout; `keys` are the page's own
/// shortcuts, listed with the common ones on `?`.
pub(super) fn layout(
    l: Lang,
    title: &str,
    caller: Option<&Caller>,
    keys: &[Shortcut],
    body: Markup,
) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(csrf) = caller.and_then(|c| c.csrf.as_deref()) {
                    meta name="csrf" content=(csrf);
                }
                title { (title) " · apflow" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { (l.t("Skip to the content")) }
                header.top {
                    a href="/" data-key="g" { "apflow" }
                    @if caller.is_some() {
                        nav aria-label="main" {
                            a href="/" { (l.t("Queue")) } " · " a href="/dashboard" { (l.t("Dashboard")) }
                        }
                        form method="get" action="/" role="search" {
                            label for="search" class="skip" { (l.t("Search invoices")) }
                            input #search name="q" type="search" placeholder=(l.t("Search: vendor, number, PO, amount")) data-key="/";
                        }
                    }
                    form.lang method="post" action="/language" {
                        label for="lang" class="skip" { (l.t("Language")) }
                        select #lang name="lang" {
                            @for choice in Lang::ALL {
                                option value=(choice.code()) selected[choice == l] { (choice.name()) }
                            }
                        }
                        button.secondary { (l.t("Switch")) }
                    }
                    @if let Some(c) = caller {
                        form.who method="post" action="/logout" {
                            span { (c.user.username) " (" (labels::role(l, c.user.role)) ")" }
                            input type="hidden" name="csrf" value=(c.csrf.as_deref().unwrap_or(""));
                            button #logout { (l.t("Log out")) }
                        }
                    }
                }
                main #main { (body) }
                dialog #keys aria-label=(l.t("Keyboard shortcuts")) {
                    h2 { (l.t("Keyboard shortcuts")) }
                    div.keys {
                        @for k in keys.iter().chain(EVERYWHERE.iter()) {
                            span { kbd { (k.key) } } span { (l.t(k.does)) }
                        }
                    }
                    form method="dialog" { button.secondary { (l.t("Close")) } }
                }
            }
        }
    };
    Html(page.into_string())
}

/// An instant as the pages show it: UTC on the server, turned into the
/// reader's local time by `app.js`.
pub(super) fn when(ms: i64) -> Markup {
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return html! { "—" };
    };
    html! {
        time.local datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (t.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

/// How long an invoice has waited, as a clerk says it.
pub(super) fn age(l: Lang, ms: i64) -> String {
    let hours = ms.max(0) / 3_600_000;
    match hours {
        0 => l.t("under an hour").into(),
        1..24 => format!("{hours} h"),
        _ => format!("{} d", hours / 24),
    }
}

/// An amount with its currency, grouped for reading (`12,345.60 EUR`).
pub(super) fn money(amount: Option<&str>, currency: Option<&str>) -> String {
    let Some(a) = amount.and_then(|a| a.parse::<rust_decimal::Decimal>().ok()) else {
        return amount.unwrap_or("—").to_string();
    };
    let a = a.round_dp(2);
    let text = format!("{:.2}", a.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if a.is_sign_negative() && !a.is_zero() {
        "−"
    } else {
        ""
    };
    match currency {
        Some(c) => format!("{sign}{grouped}.{frac} {c}"),
        None => format!("{sign}{grouped}.{frac}"),
    }
}

/// An error answered as a page with a way back, never as JSON: what a
/// person opening a page sees. A missing login still redirects to it.
pub struct PageError {
    error: ApiError,
    lang: Lang,
    caller: Option<Box<Caller>>,
    /// Where "back" goes: the invoice the person acted on.
    back: Option<String>,
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError {
            error,
            lang: Lang::En,
            caller: None,
            back: None,
        }
    }
}

impl From<crate::store::Error> for PageError {
    fn from(e: crate::store::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl PageError {
    pub(super) fn for_caller(error: impl Into<ApiError>, caller: &Caller, lang: Lang) -> Self {
        PageError {
            error: error.into(),
            lang,
            caller: Some(Box::new(caller.clone())),
            back: None,
        }
    }

    /// The error page in the person's language.
    pub(super) fn in_lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// The way back from the error page: the invoice, as it was listed.
    pub(super) fn back_to(mut self, invoice: i64, list: &str) -> Self {
        self.back = Some(queue::invoice_link(invoice, list));
        self
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let l = self.lang;
        let (status, title, text) = match &self.error {
            ApiError::LoginRequired { .. } => return self.error.into_response(),
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                l.t("Not found"),
                l.t("There is no such page or invoice here. It may have been mistyped, or the link is old.")
                    .to_string(),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(error = %crate::workflow::error_chain(cause.as_ref()), "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    l.t("Something went wrong"),
                    l.t("apflow could not show this page. Nothing was changed; try again, and tell your admin if it happens again.")
                        .to_string(),
                )
            }
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                l.t("Please log in"),
                l.t("Your session has ended.").to_string(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, l.t("Not allowed"), labels::capital(m)),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, l.t("Not done"), labels::capital(m)),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, l.t("Not done"), labels::capital(m)),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                l.t("Too large"),
                l.t("The file is larger than apflow takes.").to_string(),
            ),
        };
        let body = html! {
            h1 { (title) }
            p #error .low { (text) }
            p {
                @if let Some(back) = &self.back { a #back href=(back) data-key="b" { (l.t("Back to the invoice")) } " · " }
                a href="/" { (l.t("To the queue")) }
            }
        };
        (status, layout(l, title, self.caller.as_deref(), &[], body)).into_response()
    }
}

/// Any path no route serves: a page for people, JSON for the API.
pub async fn not_found(l: Lang, uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound.into_response()
    } else {
        PageError::from(ApiError::NotFound)
            .in_lang(l)
            .into_response()
    }
}

#[derive(serde::Deserialize)]
pub struct LanguageForm {
    lang: String,
}

/// `POST /language`: the person's choice of language, kept in a cookie
/// for a year (it holds nothing but the code); back to the page they were
/// on, or the queue.
pub async fn set_language(axum::Form(form): axum::Form<LanguageForm>) -> Response {
    let lang = Lang::parse(&form.lang).unwrap_or_default();
    let cookie = format!(
        "{}={}; SameSite=Strict; Path=/; Max-Age=31536000",
        i18n::LANG_COOKIE,
        lang.code()
    );
    // No Referer is sent (Referrer-Policy: no-referrer), so the way back
    // is the queue; the language applies at once on every page.
    (
        [(header::SET_COOKIE, cookie)],
        axum::response::Redirect::to("/"),
    )
        .into_response()
}

/// A path segment that must be a number (`/invoices/abc` is a page that
/// does not exist, not a parse error).
pub(super) fn id_of(segment: &str) -> Result<i64, PageError> {
    segment
        .parse()
        .map_err(|_| PageError::from(ApiError::NotFound))
}

/// The login form. `resume` is a form the session ended under (see
/// [`resume_page`]), carried through the login so nothing typed is lost.
pub(super) fn login_page(
    l: Lang,
    next: &str,
    message: Option<&str>,
    resume: Option<&str>,
) -> Html<String> {
    let body = html! {
        h1 { (l.t("Log in")) }
        @if let Some(m) = message { p #error .low { (m) } }
        form method="post" action="/login" {
            p { label { (l.t("User name")) br; input name="username" autocomplete="username" required autofocus; } }
            p { label { (l.t("Password")) br; input name="password" type="password" autocomplete="current-password" required; } }
            input type="hidden" name="next" value=(next);
            @if let Some(r) = resume { input type="hidden" name="resume" value=(r); }
            p { button #login { (l.t("Log in")) } }
        }
    };
    layout(l, l.t("Log in"), None, &[], body)
}

/// A posted invoice form as it travels through a login: where it was
/// posted and its fields (never the old CSRF token), URL-encoded.
pub(super) fn resume_of(action: &str, fields: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = std::iter::once(("action", action))
        .chain(
            fields
                .iter()
                .filter(|(k, _)| k != "csrf")
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// After a login, the form the session ended under, filled in as the
/// person left it and carrying the new session's token, for them to send
/// again. Only an invoice action is offered; anything else is dropped.
pub(super) fn resume_page(
    l: Lang,
    resume: &str,
    user: &crate::domain::User,
    csrf: &str,
) -> Option<Html<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(resume).ok()?;
    let (first, fields) = pairs.split_first()?;
    let action = (first.0 == "action").then_some(first.1.as_str())?;
    let rest = action.strip_prefix("/invoices/")?;
    let (id, verb) = rest.split_once('/')?;
    let valid = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !verb.is_empty()
        && verb.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    if !valid {
        return None;
    }
    let typed =
        |k: &str| k == "comment" || k == "value" || k == "duplicate_of" || k.starts_with("f:");
    let body = html! {
        h1 { (l.t("Not saved yet")) }
        p { (l.t("Your session ended before this was saved. Here it is as you left it: check it and send it.")) }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            @for (k, v) in fields {
                @if typed(k) {
                    p { label { (labels::field(l, k.trim_start_matches("f:"))) br; input name=(k) value=(v); } }
                } @else {
                    input type="hidden" name=(k) value=(v);
                }
            }
            p { button #resume autofocus { (l.t("Send it now")) } " "
                a href=(format!("/invoices/{id}")) { (l.t("Drop it and open the invoice")) } }
        }
    };
    let caller = Caller {
        user: user.clone(),
        csrf: Some(csrf.to_string()),
    };
    Some(layout(l, l.t("Not saved yet"), Some(&caller), &[], body))
}

/// Marks up nothing: for `@if` arms that have no output.
pub(super) fn nothing() -> Markup {
    PreEscaped(String::new())
}

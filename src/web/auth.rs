//! Who is calling. People log in with a password (argon2) and get a
//! session cookie (random, stored hashed, `HttpOnly`, `SameSite=Strict`,
//! `Secure` behind TLS) with a CSRF token that every state-changing
//! request from the browser must echo; integrations send an API token as
//! `Authorization: Bearer`. Handlers take a [`Caller`] and say which roles
//! may act ([`Caller::require`]): a route without a `Caller` is public
//! (`/healthz`, the login form, static files). Every login attempt is
//! audited. Guessing is slowed, not locked out: each attempt is counted per
//! user name and per client address *before* its password is checked (one
//! atomic upsert in the store, so parallel attempts and several processes
//! on one database cannot slip past the count), and after a few failures
//! each further attempt must wait twice as long as the last, up to a
//! quarter hour; so an attacker cannot keep the real user out for long.
//! Unknown and disabled names are checked against a dummy hash, so the
//! answer takes as long as for a real name.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::Lang;
use super::{ApiError, AppState};
use crate::domain::{Role, User};
use crate::store::{AuditEntry, Backoff};

pub const SESSION_COOKIE: &str = "apflow_session";
/// How long a login lasts.
const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// Guessing one user name: five free failures, then 2 s, 4 s, ... up to
/// 15 minutes between attempts; an hour of quiet starts over.
const USER_BACKOFF: Backoff = Backoff {
    free_failures: 5,
    first_delay_ms: 2_000,
    max_delay_ms: 15 * 60 * 1000,
    decay_ms: 60 * 60 * 1000,
};
/// Guessing from one address (many names): more room, since an office may
/// share one address, then the same doubling.
const ADDRESS_BACKOFF: Backoff = Backoff {
    free_failures: 20,
    ..USER_BACKOFF
};
/// Longer user names are refused before any hashing or audit write: no
/// real name is this long, and a huge one must not reach the audit log.
pub const MAX_USERNAME_BYTES: usize = 128;
/// Longer passwords are refused before hashing.
const MAX_PASSWORD_BYTES: usize = 1024;
/// The login form's body limit (name, password, next).
pub const MAX_LOGIN_FORM_BYTES: usize = 32 * 1024;

/// Hashes a password for storage (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of a random password that nobody knows: unknown and disabled
/// names are checked against it, so that they cost the same argon2 work as
/// a real name and response times do not tell which names exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&new_secret()).unwrap_or_default());

/// Checks `password` against `hash` (or the dummy hash) on a blocking
/// thread, counted in the metrics; `false` for the dummy hash.
async fn check_password(state: &AppState, hash: Option<String>, password: String) -> bool {
    state.metrics.count_password_check();
    let real = hash.is_some();
    // The dummy hash is made (once) on the blocking thread too.
    let verified = tokio::task::spawn_blocking(move || {
        verify_password(hash.as_deref().unwrap_or(&DUMMY_HASH), &password)
    })
    .await
    .unwrap_or(false);
    verified && real
}

/// A fresh random secret (256 bits, hex) for a session, CSRF or API token.
pub use crate::domain::new_secret;

/// What is stored of a secret token: its SHA-256, hex. Tokens are long
/// random strings, so a fast hash is enough (unlike passwords).
pub fn token_digest(token: &str) -> String {
    crate::domain::sha256_hex(token.as_bytes())
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The session's CSRF token (for forms); `None` for API tokens.
    pub csrf: Option<String>,
}

impl Caller {
    /// Refuses the request unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], action: &str) -> Result<(), ApiError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} may not {action}",
                self.user.role.as_str()
            )))
        }
    }
}

/// A cookie of the request, by name.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, true).await
    }
}

/// A caller of an HTML form post: the CSRF token comes in the form body,
/// so the handler checks it ([`FormCaller::check_csrf`]) once it has read
/// the form.
pub struct FormCaller(pub Caller);

impl FormCaller {
    pub fn check_csrf(&self, sent: &str) -> Result<&Caller, ApiError> {
        match &self.0.csrf {
            Some(csrf) if csrf != sent => Err(ApiError::Forbidden("wrong CSRF token".into())),
            _ => Ok(&self.0),
        }
    }
}

impl FromRequestParts<AppState> for FormCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(parts, state, false).await.map(FormCaller)
    }
}

pub(super) async fn authenticate(
    parts: &Parts,
    state: &AppState,
    csrf_in_header: bool,
) -> Result<Caller, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let user = state
            .store
            .api_token_user(&token_digest(token.trim()))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Caller { user, csrf: None });
    }
    if let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
        && let Some((user, csrf)) = state.store.session_user(&token_digest(&token)).await?
    {
        if csrf_in_header && !parts.method.is_safe() {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            if sent != Some(csrf.as_str()) {
                return Err(ApiError::Forbidden(
                    "missing or wrong CSRF token (X-CSRF-Token)".into(),
                ));
            }
        }
        return Ok(Caller {
            user,
            csrf: Some(csrf),
        });
    }
    // Nobody: a person opening a page is sent to the login form; the API
    // answers 401.
    if parts.method.is_safe() && !parts.uri.path().starts_with("/api/") {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |p| p.as_str().to_string());
        return Err(ApiError::LoginRequired { next });
    }
    Err(ApiError::Unauthorized)
}

/// Only paths on this site: never redirect a login elsewhere. Browsers
/// read `//host`, `/\\host` and `/<tab>/host` (they drop tabs and
/// newlines) as another site, so a path must be one `/` followed by
/// neither `/` nor `\\`, with no whitespace or control characters
/// anywhere; percent-escapes stay escaped (a browser does not decode
/// `%09` before resolving the URL), so they are allowed.
fn safe_next(next: Option<&str>) -> String {
    let ok = |n: &str| {
        let mut chars = n.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !n
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    match next {
        Some(n) if ok(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(l: Lang, next: &str, message: Option<&str>) -> Html<String> {
    super::pages::login_page(l, next, message, None)
}

/// `GET /login`
pub async fn login_form(l: Lang, Query(q): Query<NextQuery>) -> Html<String> {
    login_page(l, &safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
    /// A form the session ended under (`pages::Resume`), offered again
    /// once the person has logged in.
    resume: Option<String>,
}

/// The client's address, when the server was started with connection
/// info (`serve`); in-process tests without it share one throttle key.
/// Behind a reverse proxy every client has the proxy's address, so the
/// per-address limit then throttles everyone together (the per-name limit
/// is unaffected).
pub struct ClientAddr(Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The throttle key of a client address. An IPv6 client usually owns a
/// whole /64, so that is what is counted.
fn address_key(addr: &ClientAddr) -> String {
    match addr.0 {
        Some(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let [a, b, c, d, ..] = v6.segments();
            format!("addr:{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Some(std::net::IpAddr::V6(v6)) => format!("addr:{}", v6.to_canonical()),
        Some(ip) => format!("addr:{ip}"),
        None => "addr:-".to_string(),
    }
}

/// Counts the attempt against the address, then the name (the address
/// first: spraying many names is refused before it touches their
/// counters); `false` when either must still wait.
async fn reserve_attempt(
    state: &AppState,
    addr: &ClientAddr,
    username: &str,
) -> Result<bool, ApiError> {
    let addr_key = address_key(addr);
    Ok(state
        .store
        .reserve_login_attempt(&addr_key, &ADDRESS_BACKOFF)
        .await?
        && state
            .store
            .reserve_login_attempt(&format!("user:{username}"), &USER_BACKOFF)
            .await?)
}

/// After a good password: the name starts over and the address gets its
/// attempt back.
async fn release_attempt(
    state: &AppState,
    addr: &ClientAddr,
    username: &str,
) -> Result<(), ApiError> {
    let addr_key = address_key(addr);
    state.store.uncount_login_attempt(&addr_key).await?;
    let stale = crate::store::now_ms() - USER_BACKOFF.decay_ms.max(ADDRESS_BACKOFF.decay_ms);
    state
        .store
        .clear_login_attempts(&format!("user:{username}"), stale)
        .await?;
    Ok(())
}

/// `POST /login`: checks the password, starts a session, audits either way.
pub async fn login(
    State(state): State<AppState>,
    l: Lang,
    addr: ClientAddr,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let username = form.username.trim().to_string();
    if username.len() > MAX_USERNAME_BYTES || form.password.len() > MAX_PASSWORD_BYTES {
        let page = super::pages::login_page(
            l,
            &next,
            Some(l.t("Wrong user name or password.")),
            form.resume.as_deref(),
        );
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let audit = |action: &'static str, detail: serde_json::Value| AuditEntry {
        actor: username.clone(),
        action,
        entity: "user",
        entity_id: username.clone(),
        detail,
    };
    if !reserve_attempt(&state, &addr, &username).await? {
        state
            .store
            .audit(&audit(
                "login.failed",
                serde_json::json!({ "reason": "throttled" }),
            ))
            .await?;
        let page = login_page(
            l,
            &next,
            Some(l.t("Too many failed logins; wait a little and try again.")),
        );
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let found = state.store.user_for_login(&username).await?;
    let (user, hash) = found.map_or((None, None), |(u, h)| (Some(u), Some(h)));
    // Without a hash (unknown or disabled name) the dummy one is checked:
    // the same argon2 work as for a real name.
    let password_ok = check_password(&state, hash, form.password).await;
    let user = match user {
        Some(user) if password_ok => user,
        found => {
            let reason = if found.is_some() {
                "wrong password"
            } else {
                "unknown user"
            };
            state
                .store
                .audit(&audit(
                    "login.failed",
                    serde_json::json!({ "reason": reason }),
                ))
                .await?;
            // The same answer either way: it must not tell which names exist.
            let page = super::pages::login_page(
                l,
                &next,
                Some(l.t("Wrong user name or password.")),
                form.resume.as_deref(),
            );
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
    };
    release_attempt(&state, &addr, &username).await?;
    let token = new_secret();
    let csrf = new_secret();
    state
        .store
        .add_session(
            &token_digest(&token),
            user.id,
            &csrf,
            crate::store::now_ms() + SESSION_MS,
        )
        .await?;
    state
        .store
        .audit(&audit(
            "login.succeeded",
            serde_json::json!({ "role": user.role.as_str() }),
        ))
        .await?;
    let secure = if state.settings.cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_MS / 1000
    );
    // A form the session ended under: shown again with this session's
    // token, for the person to send (never sent for them).
    if let Some(page) = form
        .resume
        .as_deref()
        .and_then(|r| super::pages::resume_page(l, r, &user, &csrf))
    {
        return Ok(([(header::SET_COOKIE, cookie)], page).into_response());
    }
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /logout` (a form with the session's CSRF token).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, ApiError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let digest = token_digest(&token);
        if let Some((user, csrf)) = state.store.session_user(&digest).await? {
            if csrf != form.csrf {
                return Err(ApiError::Forbidden("wrong CSRF token".into()));
            }
            state.store.end_session(&digest).await?;
            state
                .store
                .audit(&AuditEntry {
                    actor: user.username.clone(),
                    action: "logout",
                    entity: "user",
                    entity_id: user.username,
                    detail: serde_json::json!({}),
                })
                .await?;
        }
    }
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let hash = hash_password("correct horse").expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct hors"));
        assert!(!verify_password("not a hash", "x"));
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_digest("abc").len(), 64);
    }

    #[test]
    fn address_keys() {
        let key = |a: &str| address_key(&ClientAddr(Some(a.parse().expect("an address"))));
        assert_eq!(key("192.0.2.7"), "addr:192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "addr:192.0.2.7");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "addr:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_eq!(address_key(&ClientAddr(None)), "addr:-");
    }

    /// `next` after login: only a path on this site survives, everything
    /// a browser could read as another site becomes `/`.
    #[test]
    fn next_stays_on_this_site() {
        let cases: &[(Option<&str>, &str)] = &[
            (Some("/invoices/3"), "/invoices/3"),
            (Some("/?status=needs_review"), "/?status=needs_review"),
            (Some("/dashboard#kpis"), "/dashboard#kpis"),
            // Escapes stay escaped in the Location header, so a browser
            // resolves this as a path here.
            (Some("/%09/evil.example"), "/%09/evil.example"),
            (Some("/"), "/"),
            (None, "/"),
            (Some(""), "/"),
            (Some("//evil"), "/"),
            (Some("//evil.example/"), "/"),
            (Some("/\\evil"), "/"),
            (Some("\\\\evil"), "/"),
            (Some("/a\\b"), "/"),
            (Some("/\t/evil.example"), "/"),
            (Some("/\n/evil.example"), "/"),
            (Some("/\r\n/evil"), "/"),
            (Some("/ /evil"), "/"),
            (Some("/\u{0}x"), "/"),
            (Some("https://evil"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("evil.example"), "/"),
        ];
        for (next, want) in cases {
            assert_eq!(safe_next(*next), *want, "{next:?}");
        }
    }
}

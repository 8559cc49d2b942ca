//! Who is calling. People log in with a password (argon2) and get a
//! session cookie (random, stored hashed, `HttpOnly`, `SameSite=Strict`,
//! `Secure` behind TLS) with a CSRF token that every state-changing
//! request from the browser must echo; integrations send an API token as
//! `Authorization: Bearer`. Handlers take a [`Caller`] and say which roles
//! may act ([`Caller::require`]): a route without a `Caller` is public
//! (`/healthz`, `/metrics`, the login form). Every login attempt is
//! audited, and ten failures in a quarter hour lock the name for a while.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{ApiError, AppState, escape_html as esc};
use crate::domain::{Role, User};
use crate::store::AuditEntry;

pub const SESSION_COOKIE: &str = "apflow_session";
/// How long a login lasts.
const SESSION_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed logins for one name within [`THROTTLE_WINDOW_MS`] before the
/// name is refused for the rest of the window.
const MAX_FAILED_LOGINS: i64 = 10;
const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;

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

/// A fresh random secret (256 bits, hex) for a session, CSRF or API token.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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

async fn authenticate(
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

/// Only paths on this site: never redirect a login elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(next: &str, message: Option<&str>) -> Html<String> {
    let message = message.map_or(String::new(), |m| format!("<p class=low>{}</p>", esc(m)));
    super::pages::layout(
        "Log in",
        &format!(
            "<h1>Log in</h1>{message}<form method=post action=\"/login\">\
             <p><label>User name<br><input name=username autocomplete=username required autofocus></label></p>\
             <p><label>Password<br><input name=password type=password autocomplete=current-password required></label></p>\
             <input type=hidden name=next value=\"{}\"><p><button id=login>Log in</button></p></form>",
            esc(next)
        ),
        None,
    )
}

/// `GET /login`
pub async fn login_form(Query(q): Query<NextQuery>) -> Html<String> {
    login_page(&safe_next(q.next.as_deref()), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`: checks the password, starts a session, audits either way.
pub async fn login(
    State(state): State<AppState>,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let username = form.username.trim().to_string();
    let audit = |action: &'static str, detail: serde_json::Value| AuditEntry {
        actor: username.clone(),
        action,
        entity: "user",
        entity_id: username.clone(),
        detail,
    };
    let since = crate::store::now_ms() - THROTTLE_WINDOW_MS;
    if state.store.failed_logins_since(&username, since).await? >= MAX_FAILED_LOGINS {
        state
            .store
            .audit(&audit(
                "login.failed",
                serde_json::json!({ "reason": "throttled" }),
            ))
            .await?;
        let page = login_page(
            &next,
            Some("Too many failed logins for this name; try again in 15 minutes."),
        );
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let found = state.store.user_for_login(&username).await?;
    let user = match found {
        Some((user, hash)) if verify_password(&hash, &form.password) => user,
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
            let page = login_page(&next, Some("Wrong user name or password."));
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
    };
    let token = new_secret();
    state
        .store
        .add_session(
            &token_digest(&token),
            user.id,
            &new_secret(),
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
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_MS / 1000
    );
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
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/invoices/3")), "/invoices/3");
    }
}

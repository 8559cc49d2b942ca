//! Users, their sessions and API tokens. Only hashes of secrets are stored
//! (the web layer hashes); expired sessions and revoked tokens are never
//! returned.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Error, QueryContext, Result, Store, now_ms};
use crate::domain::{Role, User};

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role").ctx("decode a user")?;
    let limit: Option<String> = r.try_get("approval_limit").ctx("decode a user")?;
    Ok(User {
        id: r.try_get("id").ctx("decode a user")?,
        username: r.try_get("username").ctx("decode a user")?,
        role: Role::parse(&role).ok_or(Error::Corrupt {
            column: "users.role",
            value: role.clone(),
        })?,
        approval_limit: super::parse_opt_decimal("users.approval_limit", limit)?,
        cost_centres: r
            .try_get::<Option<String>, _>("cost_centres")
            .ctx("decode a user")?
            .map(|c| {
                c.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Store {
    /// Adds a user; `None` when the name is taken.
    pub async fn add_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        approval_limit: Option<rust_decimal::Decimal>,
    ) -> Result<Option<i64>> {
        self.add_user_with_cost_centres(username, password_hash, role, approval_limit, &[])
            .await
    }

    /// As [`Store::add_user`], for an approver who answers for these
    /// budgets only.
    pub async fn add_user_with_cost_centres(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        approval_limit: Option<rust_decimal::Decimal>,
        cost_centres: &[String],
    ) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (username, password_hash, role, approval_limit, cost_centres, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username.to_string())
        .bind(password_hash.to_string())
        .bind(role.as_str())
        .bind(approval_limit.map(|d| d.to_string()))
        .bind((!cost_centres.is_empty()).then(|| cost_centres.join(",")))
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .ctx("add a user")?;
        Ok(id)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, username, role, approval_limit, cost_centres FROM users WHERE disabled_at IS NULL ORDER BY username",
        )
        .fetch_all(self.pool())
        .await
        .ctx("list users")?;
        rows.iter().map(user_from_row).collect()
    }

    /// An active user and their password hash, for login.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT id, username, role, approval_limit, cost_centres, password_hash FROM users \
             WHERE username = $1 AND disabled_at IS NULL",
        )
        .bind(username.to_string())
        .fetch_optional(self.pool())
        .await
        .ctx("look up a user")?;
        row.map(|r| {
            let hash: String = r.try_get("password_hash").ctx("decode a user")?;
            Ok((user_from_row(&r)?, hash))
        })
        .transpose()
    }

    pub async fn add_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(csrf_token.to_string())
        .bind(now_ms())
        .bind(expires_at)
        .execute(self.pool())
        .await
        .ctx("start a session")?;
        Ok(())
    }

    /// The user of a live session and its CSRF token.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.approval_limit, u.cost_centres, s.csrf_token FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash.to_string())
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await
        .ctx("look up a session")?;
        row.map(|r| {
            let csrf: String = r.try_get("csrf_token").ctx("decode a session")?;
            Ok((user_from_row(&r)?, csrf))
        })
        .transpose()
    }

    pub async fn end_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash.to_string())
            .bind(now_ms())
            .execute(self.pool())
            .await
            .ctx("end a session")?;
        Ok(())
    }

    pub async fn add_api_token(&self, token_hash: &str, user_id: i64, name: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(name.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await
        .ctx("add an API token")?;
        Ok(())
    }

    /// Revokes a user's API tokens with this name; how many.
    pub async fn revoke_api_tokens(&self, user_id: i64, name: &str) -> Result<u64> {
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND name = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(name.to_string())
        .execute(self.pool())
        .await
        .ctx("revoke API tokens")?
        .rows_affected();
        Ok(n)
    }

    /// The user an unrevoked API token belongs to.
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.approval_limit, u.cost_centres FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
        )
        .bind(token_hash.to_string())
        .fetch_optional(self.pool())
        .await
        .ctx("look up an API token")?;
        row.map(|r| user_from_row(&r)).transpose()
    }
}

/// How password guessing is slowed for one throttle key (a user name or a
/// client address).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts that may fail before each further one has to wait.
    pub free_failures: i64,
    /// The first wait; each further failure doubles it.
    pub first_delay_ms: i64,
    /// The longest wait, so the real user is never locked out for long.
    pub max_delay_ms: i64,
    /// A key idle this long starts over.
    pub decay_ms: i64,
}

impl Store {
    /// Counts a login attempt for `key` before its password is checked;
    /// `false` when the key must still wait (the attempt is refused and not
    /// counted). Check and count are one upsert, so parallel attempts
    /// cannot all pass the check before any is counted, in one process or
    /// in several sharing the database.
    pub async fn reserve_login_attempt(&self, key: &str, backoff: &Backoff) -> Result<bool> {
        let now = now_ms();
        // A row idle since $3 starts over; from the $4th failure on, each
        // waits twice as long as the one before ($5 first, at most $6).
        let counted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO login_throttle (throttle_key, failures, delay_ms, blocked_until, updated_at) \
             VALUES ($1, 1, 0, 0, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
             failures = CASE WHEN login_throttle.updated_at < $3 THEN 1 ELSE login_throttle.failures + 1 END, \
             delay_ms = CASE WHEN login_throttle.updated_at < $3 OR login_throttle.failures + 1 < $4 THEN 0 \
               WHEN login_throttle.delay_ms = 0 THEN $5 \
               WHEN login_throttle.delay_ms * 2 > $6 THEN $6 ELSE login_throttle.delay_ms * 2 END, \
             blocked_until = $2 + CASE WHEN login_throttle.updated_at < $3 OR login_throttle.failures + 1 < $4 THEN 0 \
               WHEN login_throttle.delay_ms = 0 THEN $5 \
               WHEN login_throttle.delay_ms * 2 > $6 THEN $6 ELSE login_throttle.delay_ms * 2 END, \
             updated_at = $2 \
             WHERE login_throttle.blocked_until <= $2 RETURNING failures",
        )
            .bind(key.to_string())
            .bind(now)
            .bind(now - backoff.decay_ms)
            .bind(backoff.free_failures)
            .bind(backoff.first_delay_ms)
            .bind(backoff.max_delay_ms)
            .fetch_optional(self.pool())
            .await
            .ctx("count a login attempt")?;
        Ok(counted.is_some())
    }

    /// A successful login: the user name starts over. Rows idle since
    /// `stale_before_ms` go too (they would start over anyway), so names
    /// an attacker sprayed do not pile up.
    pub async fn clear_login_attempts(&self, key: &str, stale_before_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1 OR updated_at < $2")
            .bind(key.to_string())
            .bind(stale_before_ms)
            .execute(self.pool())
            .await
            .ctx("clear login attempts")?;
        Ok(())
    }

    /// A successful login from an address: its attempt was counted as a
    /// failure in advance, so take it back (people behind one address must
    /// not slow each other down by logging in).
    pub async fn uncount_login_attempt(&self, key: &str) -> Result<()> {
        sqlx::query(
            "UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = $1 AND failures > 0",
        )
        .bind(key.to_string())
        .execute(self.pool())
        .await
        .ctx("take back a login attempt")?;
        Ok(())
    }

    /// A user by name, disabled or not, and whether they are disabled (for
    /// the CLI's `user enable/disable/passwd` and `--by`).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<(User, bool)>> {
        let row = sqlx::query(
            "SELECT id, username, role, approval_limit, cost_centres, disabled_at FROM users WHERE username = $1",
        )
        .bind(username.to_string())
        .fetch_optional(self.pool())
        .await
        .ctx("look up a user")?;
        row.map(|r| {
            let disabled: Option<i64> = r.try_get("disabled_at").ctx("decode a user")?;
            Ok((user_from_row(&r)?, disabled.is_some()))
        })
        .transpose()
    }

    /// Disables (or enables again) a user. Disabling ends their sessions
    /// and revokes their API tokens in the same transaction, so nothing
    /// they held keeps working; returns (sessions ended, tokens revoked).
    pub async fn set_user_disabled(&self, user_id: i64, disabled: bool) -> Result<(u64, u64)> {
        let now = now_ms();
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now))
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .ctx("disable a user")?;
        let mut ended = (0, 0);
        if disabled {
            ended.0 = end_sessions(&mut tx, user_id).await?;
            ended.1 = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .ctx("revoke a user's API tokens")?
            .rows_affected();
        }
        tx.commit().await.ctx("commit a user change")?;
        Ok(ended)
    }

    /// Sets a new password hash and ends the user's sessions (whoever knew
    /// the old password is logged out); returns the sessions ended.
    pub async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<u64> {
        let mut tx = self.pool().begin().await.ctx("begin a transaction")?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash.to_string())
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .ctx("change a password")?;
        let ended = end_sessions(&mut tx, user_id).await?;
        tx.commit().await.ctx("commit a password change")?;
        Ok(ended)
    }
}

impl Store {
    /// `from` hands their approvals to `to` until `until` (inclusive).
    pub async fn add_delegation(&self, from: i64, to: i64, until: chrono::NaiveDate) -> Result<()> {
        sqlx::query(
            "INSERT INTO delegations (from_user, to_user, until, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(from)
        .bind(to)
        .bind(until.format("%Y-%m-%d").to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await
        .ctx("record a delegation")?;
        Ok(())
    }

    /// The people `user_id` stands in for on `day`.
    pub async fn delegators_of(&self, user_id: i64, day: chrono::NaiveDate) -> Result<Vec<User>> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.role, u.approval_limit, u.cost_centres FROM delegations d \
             JOIN users u ON u.id = d.from_user \
             WHERE d.to_user = $1 AND d.until >= $2 AND u.disabled_at IS NULL",
        )
        .bind(user_id)
        .bind(day.format("%Y-%m-%d").to_string())
        .fetch_all(self.pool())
        .await
        .ctx("read delegations")?;
        rows.iter().map(user_from_row).collect()
    }
}

impl Store {
    /// Records which budget each of these purchase orders charges.
    pub async fn set_po_cost_centres(&self, pos: &[(&str, &str)]) -> Result<()> {
        for (po, cc) in pos {
            sqlx::query(
                "INSERT INTO po_cost_centres (po_number, cost_centre) VALUES ($1, $2) \
                 ON CONFLICT (po_number) DO UPDATE SET cost_centre = excluded.cost_centre",
            )
            .bind(po.to_string())
            .bind(cc.to_string())
            .execute(self.pool())
            .await
            .ctx("record a cost centre")?;
        }
        Ok(())
    }

    pub async fn po_cost_centre(&self, po_number: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT cost_centre FROM po_cost_centres WHERE po_number = $1")
            .bind(po_number.to_string())
            .fetch_optional(self.pool())
            .await
            .ctx("read a cost centre")
    }
}

/// Ends every session of a user (disabled, or a new password); returns how
/// many there were.
async fn end_sessions(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .ctx("end a user's sessions")?
        .rows_affected())
}

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

    /// Failed logins for `username` since `since_ms`, from the audit log
    /// (for throttling password guessing).
    pub async fn failed_logins_since(&self, username: &str, since_ms: i64) -> Result<i64> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed' AND entity_id = $1 AND at >= $2",
        )
        .bind(username.to_string())
        .bind(since_ms)
        .fetch_one(self.pool())
        .await
        .ctx("count failed logins")
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

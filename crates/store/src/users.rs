//! Accounts (利用者), API tokens and browser sessions. Secrets are never stored in the clear:
//! passwords as PBKDF2 strings made by the server, tokens and session ids as SHA-256, TOTP
//! secrets encrypted under the agency's data key (S18; `enc1:` + base64 envelope, the user
//! id as context). [`User::totp_secret`] is the decrypted secret, in memory only.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, new_id, now};

/// Roles of PRODUCT.md.
pub const ROLES: [&str; 7] = [
    "operator",
    "admin",
    "auditor",
    "insurer",
    "institution",
    "maintenance",
    "emergency",
];

/// A user account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub role: String,
    /// The organisation (insurer/institution users; agency staff belong to the agency).
    pub org_id: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_secret: String,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

// Hashes and TOTP secrets stay out of logs and debug output.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("login", &self.login)
            .field("role", &self.role)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

const USER_COLS: &str = "id, login, display_name, role, org_id, password_hash, must_change_password, \
     totp_secret, totp_last_step, failed_logins, locked_until, disabled, created_at";

fn user_from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        login: r.try_get("login")?,
        display_name: r.try_get("display_name")?,
        role: r.try_get("role")?,
        org_id: r.try_get("org_id")?,
        password_hash: r.try_get("password_hash")?,
        must_change_password: r.try_get::<i64, _>("must_change_password")? != 0,
        totp_secret: r.try_get("totp_secret")?,
        totp_last_step: r.try_get("totp_last_step")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

/// Prefix of an encrypted TOTP secret in `users.totp_secret`.
const TOTP_PREFIX: &str = crate::colcrypt::FIELD_PREFIX;

impl Store {
    /// The stored form of a TOTP secret (empty stays empty: not enrolled): a sealed field
    /// under the agency's data key ([`crate::colcrypt`]).
    async fn seal_totp(&self, user_id: &str, secret: &str) -> Result<String> {
        if secret.is_empty() {
            return Ok(String::new());
        }
        self.seal_field(
            crate::AGENCY_TENANT,
            "users",
            "totp_secret",
            user_id,
            secret,
        )
        .await
    }

    /// Decrypts the TOTP secret of a user read from the database.
    async fn open_user(&self, mut u: User) -> Result<User> {
        if u.totp_secret.is_empty() {
            return Ok(u);
        }
        if !u.totp_secret.starts_with(TOTP_PREFIX) {
            // Written before S18 and not yet migrated (another process's old binary).
            return Err(
                crate::keyring::KeyError::Plaintext(format!("TOTP secret of {}", u.login)).into(),
            );
        }
        u.totp_secret = self
            .open_field("users", "totp_secret", &u.id, &u.totp_secret)
            .await?;
        Ok(u)
    }

    async fn open_user_row(&self, row: Option<AnyRow>) -> Result<Option<User>> {
        match row {
            Some(r) => Ok(Some(self.open_user(user_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    /// Encrypts TOTP secrets stored in the clear by a version before S18 (run at open).
    pub(crate) async fn encrypt_clear_totp_secrets(&self) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT id, totp_secret FROM users WHERE totp_secret <> '' AND totp_secret NOT LIKE 'enc1:%'",
        )
        .fetch_all(self.pool())
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut sealed = Vec::new();
        for r in &rows {
            let id: String = r.try_get("id")?;
            let clear: String = r.try_get("totp_secret")?;
            let s = self.seal_totp(&id, &clear).await?;
            sealed.push((id, clear, s));
        }
        let mut tx = self.begin().await?;
        let mut n = 0;
        for (id, clear, s) in &sealed {
            n +=
                sqlx::query("UPDATE users SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3")
                    .bind(s)
                    .bind(id)
                    .bind(clear)
                    .execute(tx.conn())
                    .await?
                    .rows_affected();
        }
        tx.commit().await?;
        tracing::info!("encrypted {n} TOTP secrets stored in the clear (S18)");
        Ok(n)
    }
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub login: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub org_id: Option<&'a str>,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub totp_secret: &'a str,
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    /// 'password' (first factor only) or 'full'.
    pub stage: String,
    pub csrf: String,
    pub lang: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub ended_at: Option<String>,
}

impl Store {
    /// Adds a user; a duplicate login is [`StoreError::Duplicate`].
    pub async fn add_user(&self, u: &NewUser<'_>) -> Result<User> {
        if !ROLES.contains(&u.role) {
            return Err(StoreError::Corrupt(format!("unknown role {:?}", u.role)));
        }
        if self.user_by_login(u.login).await?.is_some() {
            return Err(StoreError::Duplicate {
                what: "user",
                key: u.login.to_string(),
            });
        }
        let id = new_id();
        let totp = self.seal_totp(&id, u.totp_secret).await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, login, display_name, role, org_id, password_hash, \
             must_change_password, totp_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(u.login)
        .bind(u.display_name)
        .bind(u.role)
        .bind(u.org_id)
        .bind(u.password_hash)
        .bind(i64::from(u.must_change_password))
        .bind(&totp)
        .bind(now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.user(&id).await?.ok_or(StoreError::NotFound {
            what: "user",
            key: id,
        })
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {USER_COLS} FROM users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        self.open_user_row(row).await
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {USER_COLS} FROM users WHERE login = $1"
        )))
        .bind(login)
        .fetch_optional(self.pool())
        .await?;
        self.open_user_row(row).await
    }

    /// Users, optionally of one organisation.
    pub async fn users(&self, org_id: Option<&str>) -> Result<Vec<User>> {
        let rows = match org_id {
            Some(o) => {
                sqlx::query(crate::sql(format!(
                    "SELECT {USER_COLS} FROM users WHERE org_id = $1 ORDER BY login"
                )))
                .bind(o)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(crate::sql(format!(
                    "SELECT {USER_COLS} FROM users ORDER BY login"
                )))
                .fetch_all(self.pool())
                .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_user(user_from_row(r)?).await?);
        }
        Ok(out)
    }

    /// Records a failed login: the new failure count and lock.
    pub async fn set_login_failures(
        &self,
        user_id: &str,
        failed: i64,
        locked_until: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
            .bind(failed)
            .bind(locked_until)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Records a used TOTP step (replay protection) and clears failures. Answers false
    /// when another login used the same or a later step first.
    pub async fn use_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1, failed_logins = 0, locked_until = NULL \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done == 1)
    }

    pub async fn set_password(&self, user_id: &str, hash: &str, must_change: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
            .bind(hash)
            .bind(i64::from(must_change))
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    pub async fn set_totp_secret(&self, user_id: &str, secret: &str) -> Result<()> {
        let sealed = self.seal_totp(user_id, secret).await?;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2")
            .bind(&sealed)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    pub async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(user_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Stores a new API token's hash for a user.
    pub async fn add_token(&self, user_id: &str, token_hash: &str) -> Result<String> {
        let id = new_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(token_hash)
        .bind(now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The user of a live (not revoked) token.
    pub async fn user_by_token(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {} FROM users u JOIN api_tokens t ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked = 0",
            USER_COLS
                .split(", ")
                .map(|c| format!("u.{}", c.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        self.open_user_row(row).await
    }

    pub async fn revoke_tokens(&self, user_id: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE user_id = $1")
            .bind(user_id)
            .execute(tx.conn())
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn add_session(&self, s: &Session) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, stage, csrf, lang, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_id)
        .bind(&s.stage)
        .bind(&s.csrf)
        .bind(&s.lang)
        .bind(&s.created_at)
        .bind(&s.last_seen_at)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT id_hash, user_id, stage, csrf, lang, created_at, last_seen_at, ended_at \
             FROM sessions WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| -> Result<Session> {
            Ok(Session {
                id_hash: r.try_get("id_hash")?,
                user_id: r.try_get("user_id")?,
                stage: r.try_get("stage")?,
                csrf: r.try_get("csrf")?,
                lang: r.try_get("lang")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                ended_at: r.try_get("ended_at")?,
            })
        })
        .transpose()
    }

    /// Marks activity on a session (and optionally a new stage or language).
    pub async fn touch_session(
        &self,
        id_hash: &str,
        stage: Option<&str>,
        lang: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, stage = COALESCE($2, stage), \
             lang = COALESCE($3, lang) WHERE id_hash = $4",
        )
        .bind(now())
        .bind(stage)
        .bind(lang)
        .bind(id_hash)
        .execute(tx.conn())
        .await?;
        tx.commit().await
    }

    /// Ends every open session of a user (answers how many).
    pub async fn end_sessions_of_user(&self, user_id: &str) -> Result<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
        )
        .bind(now())
        .bind(user_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    pub async fn end_session(&self, id_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL")
            .bind(now())
            .bind(id_hash)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }
}

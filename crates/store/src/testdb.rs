//! Databases for tests: the embedded SQLite in a temporary folder, and a fresh PostgreSQL
//! database when a server is reachable (`DAIKO_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Where PostgreSQL is absent the PostgreSQL half
//! is skipped with a message on stderr; `DAIKO_REQUIRE_POSTGRES=1` (set by CI) makes that a
//! failure instead.

use std::path::Path;

use crate::{Result, Store};

/// The server URL the PostgreSQL tests use.
pub fn postgres_admin_url() -> String {
    std::env::var("DAIKO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Creates a fresh, uniquely named PostgreSQL database and answers its URL, or `None`
/// (with a message) when no server answers.
pub async fn fresh_postgres_url() -> Option<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let admin = postgres_admin_url();
    let conn = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sqlx::AnyConnection::connect(&admin),
    )
    .await;
    let mut conn = match conn {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return skip(&format!("{e}")),
        Err(_) => return skip("connection timed out"),
    };
    let now = jiff::Timestamp::now().as_second();
    // Test databases are named with their creation time; ones over an hour old are left
    // over from earlier runs and are dropped here, so they do not pile up.
    if let Ok(old) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'daiko_t_%'",
    )
    .fetch_all(&mut conn)
    .await
    {
        for db in old {
            let born: Option<i64> = db.split('_').nth(2).and_then(|t| t.parse().ok());
            if born.is_some_and(|b| now - b > 3600) {
                let _ = sqlx::query(crate::sql(format!("DROP DATABASE IF EXISTS {db}")))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
    let name = format!("daiko_t_{now}_{}", uuid::Uuid::new_v4().simple());
    if let Err(e) = sqlx::query(crate::sql(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
    {
        return skip(&format!("cannot create a test database: {e}"));
    }
    let _ = conn.close().await;
    let base = match admin.rsplit_once('/') {
        Some((b, _)) => b.to_string(),
        None => admin.clone(),
    };
    Some(format!("{base}/{name}"))
}

fn skip(why: &str) -> Option<String> {
    if std::env::var("DAIKO_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL is required (DAIKO_REQUIRE_POSTGRES=1) but not usable: {why}");
    }
    eprintln!(
        "SKIPPED the PostgreSQL half of this test: no server at {} ({why}); \
         set DAIKO_TEST_DATABASE_URL to run it",
        crate::redact_url(&postgres_admin_url())
    );
    None
}

/// The stores a test runs on: SQLite always, PostgreSQL when available. Blobs live in
/// `dir` (a per-store subfolder).
pub async fn stores(dir: &Path) -> Result<Vec<(&'static str, Store)>> {
    let mut out = vec![("sqlite", Store::open(&dir.join("sqlite"), None).await?)];
    if let Some(url) = fresh_postgres_url().await {
        let keys = crate::KeyringConfig::from_env(&dir.join("pg"), &|k| std::env::var(k).ok())?;
        out.push((
            "postgres",
            Store::connect(&url, &dir.join("pg").join("blobs"), keys).await?,
        ));
    }
    Ok(out)
}

//! Organisations (組織): the agency, insurers (保険者) and institutions (健診・保健指導機関).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError, new_id, now};

/// What kind of organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Agency,
    Insurer,
    Institution,
}

impl OrgKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Agency => "agency",
            OrgKind::Insurer => "insurer",
            OrgKind::Institution => "institution",
        }
    }
    pub fn parse(s: &str) -> Option<OrgKind> {
        Some(match s {
            "agency" => OrgKind::Agency,
            "insurer" => OrgKind::Insurer,
            "institution" => OrgKind::Institution,
            _ => return None,
        })
    }
}

/// The services an insurer may subscribe to (PRODUCT.md "The four services").
pub const SERVICES: [&str; 4] = ["check", "route", "billing", "invite"];

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Org {
    pub id: String,
    pub kind: OrgKind,
    /// 保険者番号 (8 digits), 機関番号 (10 digits) or the agency's number.
    pub number: String,
    pub name: String,
    /// Subscribed services (insurers).
    pub services: Vec<String>,
    /// Delivery batching: immediate | daily | monthly.
    pub batching: String,
    pub media_public_key: String,
    pub created_at: String,
}

impl Org {
    pub fn subscribes(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }
}

fn org_from_row(r: &AnyRow) -> Result<Org> {
    let kind: String = r.try_get("kind")?;
    let services: String = r.try_get("services")?;
    Ok(Org {
        id: r.try_get("id")?,
        kind: OrgKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("org kind {kind}")))?,
        number: r.try_get("number")?,
        name: r.try_get("name")?,
        services: services
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        batching: r.try_get("batching")?,
        media_public_key: r.try_get("media_public_key")?,
        created_at: r.try_get("created_at")?,
    })
}

const ORG_COLS: &str = "id, kind, number, name, services, batching, media_public_key, created_at";

impl Store {
    /// Adds an organisation; a duplicate number is [`StoreError::Duplicate`].
    pub async fn add_org(
        &self,
        kind: OrgKind,
        number: &str,
        name: &str,
        services: &[&str],
    ) -> Result<Org> {
        if self.org_by_number(number).await?.is_some() {
            return Err(StoreError::Duplicate {
                what: "organisation",
                key: number.to_string(),
            });
        }
        let id = new_id();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, kind, number, name, services, batching, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'immediate', $6)",
        )
        .bind(&id)
        .bind(kind.as_str())
        .bind(number)
        .bind(name)
        .bind(services.join(","))
        .bind(now())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        self.org(&id).await?.ok_or(StoreError::NotFound {
            what: "organisation",
            key: id,
        })
    }

    pub async fn org(&self, id: &str) -> Result<Option<Org>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {ORG_COLS} FROM orgs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn org_by_number(&self, number: &str) -> Result<Option<Org>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {ORG_COLS} FROM orgs WHERE number = $1"
        )))
        .bind(number)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// The agency itself (set by `daiko init`).
    pub async fn agency(&self) -> Result<Option<Org>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {ORG_COLS} FROM orgs WHERE kind = 'agency' ORDER BY created_at LIMIT 1"
        )))
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn orgs(&self) -> Result<Vec<Org>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {ORG_COLS} FROM orgs ORDER BY kind, number"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(org_from_row).collect()
    }

    /// Sets an insurer's subscriptions and delivery batching.
    pub async fn set_org_services(
        &self,
        id: &str,
        services: &[&str],
        batching: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE orgs SET services = $1, batching = $2 WHERE id = $3")
            .bind(services.join(","))
            .bind(batching)
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// Registers the public keys an organisation uses for sealed media.
    pub async fn set_org_media_key(&self, id: &str, public_key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE orgs SET media_public_key = $1 WHERE id = $2")
            .bind(public_key)
            .bind(id)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }

    /// A setting (key/value) of the installation.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }
}

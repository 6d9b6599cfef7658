//! Contracts (契約) as versioned rows (migration 0004): every import or edit adds versions,
//! nothing is overwritten or deleted, and lookups read the current versions.
//!
//! The store does not know what a contract means: a version carries the contract as opaque
//! JSON plus the columns lookups and listings use (holder, 契約番号, form, fiscal year,
//! validity) and its parties (every insurer and institution it binds; a collective
//! contract (集合契約) lists all its members). The pipeline turns the checker's model into
//! [`ContractDraft`]s.
//!
//! Versions: an import of an insurer's file ([`Store::import_contracts`]) adds a version
//! for each contract whose JSON changed, a first version for a new one, and a *withdrawn*
//! version (content kept, no parties) for a current contract the file no longer lists.
//! An edit ([`Store::save_contract`]) adds one version, refused when the editor saw an
//! older version than the current one. Adding version n+1 stamps `superseded_at` on
//! version n; that stamp is the only update this module makes.

use sqlx::Row;

use crate::{Result, Store, StoreError, new_id, now};

/// A contract to store: its key columns, parties and JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDraft {
    /// 契約番号 (stable across versions).
    pub contract_id: String,
    /// `individual` (個別契約) or `collective` (集合契約).
    pub form: String,
    pub fiscal_year: i64,
    /// YYYYMMDD or empty (open).
    pub valid_from: String,
    pub valid_to: String,
    /// Insurers the contract binds (the holder and a collective contract's members).
    pub insurers: Vec<String>,
    /// Institutions the contract binds.
    pub institutions: Vec<String>,
    pub contract_json: String,
}

/// One stored version of a contract.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContractVersion {
    pub id: String,
    /// The insurer whose data the contract is (the representative of a collective one).
    pub insurer: String,
    pub contract_id: String,
    /// 1, 2, … per (insurer, contract_id).
    pub version: i64,
    pub form: String,
    pub fiscal_year: i64,
    pub valid_from: String,
    pub valid_to: String,
    /// Order in the insurer's last imported file.
    pub position: i64,
    /// This version ends the contract (a later import no longer listed it).
    pub withdrawn: bool,
    /// `import`, `edit` or `migration`.
    pub source: String,
    pub author: String,
    pub created_at: String,
    /// When the next version replaced it; `None` for the current version.
    pub superseded_at: Option<String>,
    pub contract_json: String,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Contracts the insurer had no current version of (first version, or back after a
    /// withdrawal).
    pub added: usize,
    /// Contracts whose content changed (new version).
    pub changed: usize,
    /// Contracts identical to their current version (no new version).
    pub unchanged: usize,
    /// Current contracts the file no longer lists (withdrawn version).
    pub withdrawn: usize,
}

/// The result of an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// A new version was added.
    Saved(ContractVersion),
    /// The content equals the current version; nothing was added.
    Unchanged(ContractVersion),
    /// The editor saw version `seen`, but `current` is newer: nothing was added.
    Stale { seen: i64, current: i64 },
}

const COLS: &str = "id, insurer, contract_id, version, form, fiscal_year, valid_from, valid_to, \
                    position, withdrawn, source, author, created_at, superseded_at, contract_json";

fn version_of(r: &sqlx::any::AnyRow) -> Result<ContractVersion> {
    Ok(ContractVersion {
        id: r.try_get("id")?,
        insurer: r.try_get("insurer")?,
        contract_id: r.try_get("contract_id")?,
        version: r.try_get("version")?,
        form: r.try_get("form")?,
        fiscal_year: r.try_get("fiscal_year")?,
        valid_from: r.try_get("valid_from")?,
        valid_to: r.try_get("valid_to")?,
        position: r.try_get("position")?,
        withdrawn: r.try_get::<i64, _>("withdrawn")? != 0,
        source: r.try_get("source")?,
        author: r.try_get("author")?,
        created_at: r.try_get("created_at")?,
        superseded_at: r.try_get("superseded_at")?,
        contract_json: r.try_get("contract_json")?,
    })
}

/// Current version of every contract of `insurer` (withdrawn ones included).
async fn current_in(tx: &mut crate::Tx, insurer: &str) -> Result<Vec<ContractVersion>> {
    let rows = sqlx::query(crate::sql(format!(
        "SELECT {COLS} FROM contract_versions WHERE insurer = $1 AND superseded_at IS NULL"
    )))
    .bind(insurer)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(version_of).collect()
}

/// Adds version `prev.version + 1` (or 1) and stamps the previous one.
#[allow(clippy::too_many_arguments)]
async fn add_version(
    tx: &mut crate::Tx,
    insurer: &str,
    draft: &ContractDraft,
    prev: Option<&ContractVersion>,
    position: i64,
    withdrawn: bool,
    source: &str,
    by: &str,
    at: &str,
) -> Result<ContractVersion> {
    if let Some(p) = prev {
        sqlx::query(
            "UPDATE contract_versions SET superseded_at = $1 WHERE id = $2 AND superseded_at IS NULL",
        )
        .bind(at)
        .bind(&p.id)
        .execute(tx.conn())
        .await?;
    }
    let v = ContractVersion {
        id: new_id(),
        insurer: insurer.to_string(),
        contract_id: draft.contract_id.clone(),
        version: prev.map_or(1, |p| p.version + 1),
        form: draft.form.clone(),
        fiscal_year: draft.fiscal_year,
        valid_from: draft.valid_from.clone(),
        valid_to: draft.valid_to.clone(),
        position,
        withdrawn,
        source: source.to_string(),
        author: by.to_string(),
        created_at: at.to_string(),
        superseded_at: None,
        contract_json: draft.contract_json.clone(),
    };
    sqlx::query(
        "INSERT INTO contract_versions (id, insurer, contract_id, version, form, fiscal_year, \
         valid_from, valid_to, position, withdrawn, source, author, created_at, superseded_at, \
         contract_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL, $14)",
    )
    .bind(&v.id)
    .bind(&v.insurer)
    .bind(&v.contract_id)
    .bind(v.version)
    .bind(&v.form)
    .bind(v.fiscal_year)
    .bind(&v.valid_from)
    .bind(&v.valid_to)
    .bind(v.position)
    .bind(i64::from(v.withdrawn))
    .bind(&v.source)
    .bind(&v.author)
    .bind(&v.created_at)
    .bind(&v.contract_json)
    .execute(tx.conn())
    .await?;
    // A withdrawn version binds nobody: lookups must not find it.
    if !withdrawn {
        let mut parties: Vec<(&str, &String)> = Vec::new();
        parties.extend(draft.insurers.iter().map(|n| ("insurer", n)));
        parties.extend(draft.institutions.iter().map(|n| ("institution", n)));
        parties.sort();
        parties.dedup();
        for chunk in parties.chunks(300) {
            let mut sql =
                String::from("INSERT INTO contract_parties (version_id, side, number) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 3;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("(${}, ${}, ${})", b + 1, b + 2, b + 3));
            }
            let mut q = sqlx::query(crate::sql(sql));
            for (side, number) in chunk {
                q = q.bind(&v.id).bind(*side).bind(number.as_str());
            }
            q.execute(tx.conn()).await?;
        }
    }
    Ok(v)
}

/// Records that the insurer has loaded contracts (an empty answer then means "none").
async fn mark_contracts_loaded(
    tx: &mut crate::Tx,
    insurer: &str,
    rows: usize,
    by: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM reference_loads WHERE insurer = $1 AND kind = 'contracts'")
        .bind(insurer)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO reference_loads (insurer, kind, rows, loaded_at, loaded_by) \
         VALUES ($1, 'contracts', $2, $3, $4)",
    )
    .bind(insurer)
    .bind(rows as i64)
    .bind(now())
    .bind(by)
    .execute(tx.conn())
    .await?;
    Ok(())
}

impl Store {
    /// Imports the complete contract list of `insurer` (in file order) as new versions
    /// (module doc), in one transaction. `rows` is the file's row count (for the load
    /// record).
    pub async fn import_contracts(
        &self,
        insurer: &str,
        drafts: &[ContractDraft],
        rows: usize,
        by: &str,
    ) -> Result<ImportSummary> {
        let mut seen = std::collections::HashSet::new();
        for d in drafts {
            if !seen.insert(d.contract_id.as_str()) {
                return Err(StoreError::Duplicate {
                    what: "contract",
                    key: d.contract_id.clone(),
                });
            }
        }
        let mut tx = self.begin().await?;
        let at = now();
        let current = current_in(&mut tx, insurer).await?;
        let mut summary = ImportSummary::default();
        for (pos, d) in drafts.iter().enumerate() {
            let prev = current.iter().find(|c| c.contract_id == d.contract_id);
            match prev {
                Some(p) if !p.withdrawn && p.contract_json == d.contract_json => {
                    summary.unchanged += 1;
                    continue;
                }
                Some(p) if !p.withdrawn => summary.changed += 1,
                _ => summary.added += 1,
            }
            add_version(
                &mut tx, insurer, d, prev, pos as i64, false, "import", by, &at,
            )
            .await?;
        }
        for c in current.iter().filter(|c| !c.withdrawn) {
            if drafts.iter().any(|d| d.contract_id == c.contract_id) {
                continue;
            }
            let d = ContractDraft {
                contract_id: c.contract_id.clone(),
                form: c.form.clone(),
                fiscal_year: c.fiscal_year,
                valid_from: c.valid_from.clone(),
                valid_to: c.valid_to.clone(),
                insurers: Vec::new(),
                institutions: Vec::new(),
                contract_json: c.contract_json.clone(),
            };
            add_version(
                &mut tx,
                insurer,
                &d,
                Some(c),
                c.position,
                true,
                "import",
                by,
                &at,
            )
            .await?;
            summary.withdrawn += 1;
        }
        mark_contracts_loaded(&mut tx, insurer, rows, by).await?;
        tx.commit().await?;
        Ok(summary)
    }

    /// Saves an edit of one contract of `insurer` as a new version. `seen` is the version
    /// the editor started from (`None` for a new contract); a newer current version makes
    /// the edit [`SaveOutcome::Stale`]. The contract counts as loaded for the insurer.
    pub async fn save_contract(
        &self,
        insurer: &str,
        draft: &ContractDraft,
        seen: Option<i64>,
        by: &str,
    ) -> Result<SaveOutcome> {
        let mut tx = self.begin().await?;
        let current = current_in(&mut tx, insurer).await?;
        let prev = current.iter().find(|c| c.contract_id == draft.contract_id);
        let current_version = prev.map(|p| p.version);
        if current_version != seen {
            return Ok(SaveOutcome::Stale {
                seen: seen.unwrap_or(0),
                current: current_version.unwrap_or(0),
            });
        }
        if let Some(p) = prev
            && !p.withdrawn
            && p.contract_json == draft.contract_json
        {
            return Ok(SaveOutcome::Unchanged(p.clone()));
        }
        let position = match prev {
            Some(p) => p.position,
            None => current.iter().map(|c| c.position + 1).max().unwrap_or(0),
        };
        let v = add_version(
            &mut tx,
            insurer,
            draft,
            prev,
            position,
            false,
            "edit",
            by,
            &now(),
        )
        .await?;
        if prev.is_none() && self.loaded_kinds(insurer).await?.contracts.is_none() {
            mark_contracts_loaded(&mut tx, insurer, 0, by).await?;
        }
        tx.commit().await?;
        Ok(SaveOutcome::Saved(v))
    }

    /// Current, not withdrawn contracts held by `insurer` (every insurer when `None`),
    /// optionally of one fiscal year, ordered by holder and file position.
    pub async fn current_contracts(
        &self,
        insurer: Option<&str>,
        fiscal_year: Option<i64>,
    ) -> Result<Vec<ContractVersion>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM contract_versions WHERE superseded_at IS NULL AND withdrawn = 0 \
             AND ($1 = '' OR insurer = $1) AND ($2 = 0 OR fiscal_year = $2) \
             ORDER BY insurer, position, contract_id"
        )))
        .bind(insurer.unwrap_or(""))
        .bind(fiscal_year.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// Current, not withdrawn contracts that bind `insurer` as a party (its own and the
    /// collective contracts it is a member of), optionally of one fiscal year.
    pub async fn contracts_binding(
        &self,
        insurer: &str,
        fiscal_year: Option<i64>,
    ) -> Result<Vec<ContractVersion>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM contract_versions v WHERE superseded_at IS NULL AND withdrawn = 0 \
             AND ($2 = 0 OR fiscal_year = $2) AND EXISTS (SELECT 1 FROM contract_parties p \
             WHERE p.version_id = v.id AND p.side = 'insurer' AND p.number = $1) \
             ORDER BY insurer, position, contract_id"
        )))
        .bind(insurer)
        .bind(fiscal_year.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// JSON of the current contracts binding `insurer` and `institution` for a fiscal
    /// year: individual contracts first, then collective ones, each in file order.
    pub async fn contracts_between(
        &self,
        insurer: &str,
        institution: &str,
        fiscal_year: i64,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT v.contract_json FROM contract_versions v \
             WHERE v.superseded_at IS NULL AND v.withdrawn = 0 AND v.fiscal_year = $3 \
             AND EXISTS (SELECT 1 FROM contract_parties p WHERE p.version_id = v.id \
                         AND p.side = 'insurer' AND p.number = $1) \
             AND EXISTS (SELECT 1 FROM contract_parties p WHERE p.version_id = v.id \
                         AND p.side = 'institution' AND p.number = $2) \
             ORDER BY CASE WHEN v.form = 'collective' THEN 1 ELSE 0 END, v.position, \
                      v.insurer, v.contract_id",
        )
        .bind(insurer)
        .bind(institution)
        .bind(fiscal_year)
        .fetch_all(self.pool())
        .await?)
    }

    /// Whether a current contract binds `insurer` (a member of another insurer's
    /// collective contract has contracts loaded even without an import of its own).
    pub async fn bound_by_contract(&self, insurer: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contract_parties p JOIN contract_versions v ON v.id = p.version_id \
             WHERE p.side = 'insurer' AND p.number = $1 AND v.superseded_at IS NULL \
             AND v.withdrawn = 0",
        )
        .bind(insurer)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// Every version of the contracts of `insurer` (one contract when `contract_id` is
    /// given), oldest first per contract.
    pub async fn contract_history(
        &self,
        insurer: &str,
        contract_id: Option<&str>,
    ) -> Result<Vec<ContractVersion>> {
        let rows = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM contract_versions WHERE insurer = $1 \
             AND ($2 = '' OR contract_id = $2) ORDER BY contract_id, version"
        )))
        .bind(insurer)
        .bind(contract_id.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// The current version of one contract (withdrawn or not).
    pub async fn current_contract(
        &self,
        insurer: &str,
        contract_id: &str,
    ) -> Result<Option<ContractVersion>> {
        let row = sqlx::query(crate::sql(format!(
            "SELECT {COLS} FROM contract_versions WHERE insurer = $1 AND contract_id = $2 \
             AND superseded_at IS NULL"
        )))
        .bind(insurer)
        .bind(contract_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(version_of).transpose()
    }
}

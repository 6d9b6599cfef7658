//! Column-level encryption of personal fields in the database (SECURITY.md S18).
//!
//! A sealed field is stored as text: `enc1:` followed by the base64 of a keyring envelope
//! ([`crate::keyring`]; the same format as the TOTP secrets in `users.totp_secret`): a fresh
//! file key per value (random salt, HKDF from the tenant's data key), AES-256-GCM, and the
//! envelope names its data key, so reading needs no tenant. The envelope's context (its AAD)
//! is `<table>.<column>/<row identity>`, so a value copied to another column, row or tenant
//! does not open.
//!
//! Where rows are looked up by a sealed value, the row also carries a *blind index*: the
//! first 16 bytes (hex) of HMAC-SHA-256 over `<purpose>\0<value>` under a per-insurer index
//! key. That key is derived (HKDF, [`crate::keyring::DataKey`]) from the agency's first
//! data key with the insurer number in the info, so it survives master key rotation and new
//! data keys (old data keys stay for reading), needs no insert inside a transaction, and is
//! the same on every process. An empty value keeps an empty index (nothing to hide but its
//! absence).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keyring::{AGENCY_TENANT, CHUNK_SIZE, DataKey, KeyError, Sealer};
use crate::{Result, Store, StoreError};

/// A statement with its values bound (values are copied into the arguments, so it borrows
/// nothing).
pub(crate) type BoundQuery = sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>;

/// Prefix of a sealed field (shared with `users.totp_secret`).
pub const FIELD_PREFIX: &str = "enc1:";

/// The context (AAD) of a sealed field.
pub(crate) fn field_context(table: &str, column: &str, row: &str) -> Vec<u8> {
    format!("{table}.{column}/{row}").into_bytes()
}

/// The context of a voucher ledger row (`vouchers.row_json`). `invite_vouchers.ledger_json`
/// is sealed with the same context: the import trigger copies it into `vouchers` as is.
pub(crate) fn ledger_context(insurer: &str, kind: i64, number: &str, card_number: &str) -> Vec<u8> {
    field_context(
        "vouchers",
        "row_json",
        &format!("{insurer}/{kind}/{number}/{card_number}"),
    )
}

/// Whether a stored value is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(FIELD_PREFIX)
}

/// Seals `plain` under the data key `dk` (no I/O, so usable inside a write transaction).
pub(crate) fn seal_with(dk: &DataKey, context: &[u8], plain: &[u8]) -> Result<String> {
    let mut s = Sealer::new(dk, context, CHUNK_SIZE)?;
    let mut out = s.header().to_vec();
    let size = CHUNK_SIZE as usize;
    if plain.is_empty() {
        let mut buf = Vec::new();
        s.seal_chunk(&mut buf, true)?;
        out.extend_from_slice(&buf);
    } else {
        for (i, part) in plain.chunks(size).enumerate() {
            let mut buf = part.to_vec();
            s.seal_chunk(&mut buf, (i + 1) * size >= plain.len())?;
            out.extend_from_slice(&buf);
        }
    }
    Ok(format!("{FIELD_PREFIX}{}", B64.encode(out)))
}

/// A per-insurer blind index key (module doc).
pub struct IndexKey(hmac::Key);

impl std::fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IndexKey(..)")
    }
}

impl IndexKey {
    /// The blind index of `value` for `purpose` (`card`, `voucher`); empty stays empty.
    pub fn index(&self, purpose: &str, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        let tag = hmac::sign(
            &self.0,
            &[purpose.as_bytes(), b"\0", value.as_bytes()].concat(),
        );
        hex::encode(&tag.as_ref()[..16])
    }
}

impl Store {
    /// The keyring tenant of an insurer's own data (rosters): its organisation id when the
    /// insurer number is registered, else the agency.
    pub(crate) async fn insurer_tenant(&self, insurer: &str) -> Result<String> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM orgs WHERE number = $1 AND kind = 'insurer' ORDER BY created_at LIMIT 1",
        )
        .bind(insurer)
        .fetch_optional(self.pool())
        .await?;
        Ok(id.unwrap_or_else(|| AGENCY_TENANT.to_string()))
    }

    /// The current data key of `tenant` (created when missing: call it before a write
    /// transaction on SQLite).
    pub(crate) async fn field_key(&self, tenant: &str) -> Result<Arc<DataKey>> {
        self.keyring().current(tenant).await
    }

    /// Seals a field under the tenant's current data key.
    pub(crate) async fn seal_field(
        &self,
        tenant: &str,
        table: &str,
        column: &str,
        row: &str,
        plain: &str,
    ) -> Result<String> {
        let dk = self.field_key(tenant).await?;
        seal_with(&dk, &field_context(table, column, row), plain.as_bytes())
    }

    /// Opens a sealed field. A value without the prefix was stored in the clear by a
    /// version before column encryption and not yet migrated: an error (migration runs at
    /// open), like a TOTP secret.
    pub(crate) async fn open_field(
        &self,
        table: &str,
        column: &str,
        row: &str,
        stored: &str,
    ) -> Result<String> {
        let what = format!("{table}.{column} of {row}");
        self.open_context(&what, &field_context(table, column, row), stored)
            .await
    }

    /// Opens a sealed value with an explicit context; `what` names it in errors.
    pub(crate) async fn open_context(
        &self,
        what: &str,
        context: &[u8],
        stored: &str,
    ) -> Result<String> {
        let Some(b64) = stored.strip_prefix(FIELD_PREFIX) else {
            return Err(KeyError::Plaintext(what.to_string()).into());
        };
        let sealed = B64
            .decode(b64)
            .map_err(|_| KeyError::Tampered(what.to_string()))?;
        let plain = self.keyring().decrypt(what, context, sealed).await?;
        Ok(String::from_utf8(plain).map_err(|_| KeyError::Tampered(what.to_string()))?)
    }

    /// The blind index key of an insurer (module doc).
    pub async fn index_key(&self, insurer: &str) -> Result<IndexKey> {
        let root: Option<String> = sqlx::query_scalar(
            "SELECT id FROM data_keys WHERE tenant = $1 ORDER BY created_at, id LIMIT 1",
        )
        .bind(AGENCY_TENANT)
        .fetch_optional(self.pool())
        .await?;
        let root = match root {
            Some(id) => self.keyring().data_key(&id).await?,
            // Opening the keyring creates the agency's key; this is only reached when the
            // table was emptied behind our back.
            None => self.keyring().current(AGENCY_TENANT).await?,
        };
        let purpose = [b"insurer\0".as_slice(), insurer.as_bytes()].concat();
        Ok(IndexKey(root.derive_hmac_key(&purpose)?))
    }

    /// After clear values were rewritten sealed: on SQLite, rebuilds the file and empties
    /// the write-ahead log, so the old clear pages do not linger in free pages or old log
    /// frames (a one-off at the first open after an upgrade).
    pub(crate) async fn scrub_after_migration(&self) -> Result<()> {
        if self.backend() == crate::Backend::Sqlite {
            let _guard = match &self.write_lock {
                Some(l) => Some(l.lock().await),
                None => None,
            };
            for stmt in [
                "PRAGMA wal_checkpoint(TRUNCATE)",
                "VACUUM",
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ] {
                let mut conn = self.pool().acquire().await?;
                sqlx::query(stmt).fetch_all(&mut *conn).await?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Rewrites rows left in the clear by a version before, batch by batch (run at open;
    /// every `encrypt_clear_*` goes through here). `select` answers at most a batch of rows
    /// still to rewrite, with an `insurer` column; `seal` computes a row's new values under
    /// that insurer's data and index keys (created when missing, cached across batches);
    /// `update` binds the statement that writes them where the row still holds the values
    /// read, so a concurrent writer is not overwritten. Each batch commits on its own (a
    /// large table does not hold the writer for the whole run). A batch that rewrites
    /// nothing is an error, as the same rows would be selected forever. `what` names the
    /// rows in the error and the log. Answers how many rows were rewritten.
    pub(crate) async fn seal_clear_rows<U>(
        &self,
        what: &str,
        select: &str,
        mut seal: impl FnMut(&AnyRow, &DataKey, &IndexKey) -> Result<U>,
        mut update: impl FnMut(&U) -> BoundQuery,
    ) -> Result<u64> {
        let mut keys: HashMap<String, (Arc<DataKey>, IndexKey)> = HashMap::new();
        let mut total = 0u64;
        loop {
            let rows = sqlx::query(crate::sql(select.to_string()))
                .fetch_all(self.pool())
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut updates = Vec::with_capacity(rows.len());
            for r in &rows {
                let insurer: String = r.try_get("insurer")?;
                if !keys.contains_key(&insurer) {
                    let dk = self
                        .field_key(&self.insurer_tenant(&insurer).await?)
                        .await?;
                    let ik = self.index_key(&insurer).await?;
                    keys.insert(insurer.clone(), (dk, ik));
                }
                let (dk, ik) = keys
                    .get(&insurer)
                    .ok_or_else(|| StoreError::Corrupt(format!("no keys for {insurer}")))?;
                updates.push(seal(r, dk, ik)?);
            }
            let mut tx = self.begin().await?;
            let mut done = 0u64;
            for u in &updates {
                done += update(u).execute(tx.conn()).await?.rows_affected();
            }
            tx.commit().await?;
            if done == 0 {
                return Err(StoreError::Corrupt(format!(
                    "{what} in the clear could not be sealed"
                )));
            }
            total += done;
        }
        if total > 0 {
            tracing::info!("sealed {total} {what} stored in the clear (S18)");
        }
        Ok(total)
    }

    /// Seals personal fields stored in the clear by a version before column encryption
    /// (run at open). Answers how many rows were rewritten.
    pub(crate) async fn encrypt_clear_columns(&self) -> Result<u64> {
        let sealed = self.encrypt_clear_roster_members().await?
            + self.encrypt_clear_issued_vouchers().await?
            + self.encrypt_clear_card_keys().await?
            + self.encrypt_clear_returned_notes().await?
            + self.encrypt_clear_issued_numbers().await?
            + self.encrypt_clear_voucher_ledger().await?
            + self.encrypt_clear_reference().await?
            + self.encrypt_clear_records().await?
            + self.encrypt_clear_billing().await?;
        // Needs the ledger's numbers sealed; rewrites nothing personal.
        self.fill_pending_serial_floors().await?;
        Ok(sealed)
    }
}

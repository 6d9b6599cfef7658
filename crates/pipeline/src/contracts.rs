//! Contracts (契約) as first-class, versioned data: CSV import and export, edits, history.
//!
//! The checker's model ([`Contract`], individual 個別 or collective 集合) is stored by
//! `daiko_store::contracts` as versions: an import of an insurer's `contracts.csv`
//! (docs/reference-data.md) adds a version for each new or changed contract and a withdrawn
//! version for one the file no longer lists; an edit adds one version. Nothing is
//! overwritten. [`DbReference`](crate::reference::DbReference) reads the current versions,
//! so a collective contract applies to every member insurer × member institution pair.
//!
//! Export writes the same CSV format import reads; importing an export changes nothing.

use daiko_check::Date;
use daiko_check::reference::{
    Contract, ContractForm, parse_contracts_csv, valid_contract_id, write_contracts_csv,
};
use daiko_store::audit::AuditEntry;
use daiko_store::contracts::{ContractDraft, ContractVersion, ImportSummary, SaveOutcome};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::{Store, StoreError};
use serde::Serialize;
use thiserror::Error;

use crate::reference::ImportError;

/// A stored version with its contract decoded.
#[derive(Debug, Clone, Serialize)]
pub struct StoredContract {
    #[serde(flatten)]
    pub version: ContractVersion,
    pub contract: Contract,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContractImport {
    /// Contracts in the file.
    pub contracts: usize,
    #[serde(flatten)]
    pub summary: ImportSummary,
}

/// Why an edit was refused (nothing was saved). Messages in Japanese and English.
#[derive(Debug, Error)]
pub enum EditError {
    #[error(
        "契約 {id} は保険者 {insurer} の契約ではありません / contract {id} is not held by insurer {insurer}"
    )]
    NotFound { insurer: String, id: String },
    #[error("{0} は保険者ではありません / {0} is not an insurer")]
    NotInsurer(String),
    #[error("契約の内容が正しくありません: {ja} / invalid contract: {en}")]
    Invalid { ja: String, en: String },
    #[error(
        "ほかの人が先に版 {current} を保存しました(編集元は版 {seen})。開き直してください / \
         version {current} was saved meanwhile (you edited version {seen}); reload and edit again"
    )]
    Stale { seen: i64, current: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encoding a contract: {0}")]
    Json(#[from] serde_json::Error),
}

impl EditError {
    /// The message in Japanese and in English (for the portal and the API).
    pub fn messages(&self) -> (String, String) {
        match self {
            EditError::NotFound { insurer, id } => (
                format!("契約 {id} は保険者 {insurer} の契約ではありません"),
                format!("contract {id} is not held by insurer {insurer}"),
            ),
            EditError::NotInsurer(n) => (
                format!("{n} は保険者ではありません"),
                format!("{n} is not an insurer"),
            ),
            EditError::Invalid { ja, en } => (
                format!("契約の内容が正しくありません: {ja}"),
                format!("invalid contract: {en}"),
            ),
            EditError::Stale { seen, current } => (
                format!(
                    "ほかの人が先に版 {current} を保存しました(編集元は版 {seen})。開き直してください"
                ),
                format!(
                    "version {current} was saved meanwhile (you edited version {seen}); reload and edit again"
                ),
            ),
            EditError::Store(e) => (
                format!("保存できませんでした: {e}"),
                format!("not saved: {e}"),
            ),
            EditError::Json(e) => (
                format!("保存できませんでした: {e}"),
                format!("not saved: {e}"),
            ),
        }
    }
}

/// The store row of a contract: key columns, parties, canonical JSON.
pub fn draft(c: &Contract) -> Result<ContractDraft, serde_json::Error> {
    let date = |d: Option<Date>| d.map(Date::compact).unwrap_or_default();
    Ok(ContractDraft {
        contract_id: if c.contract_id.is_empty() {
            c.derived_id()
        } else {
            c.contract_id.clone()
        },
        form: c.form.as_str().to_string(),
        fiscal_year: i64::from(c.fiscal_year),
        valid_from: date(c.valid_from),
        valid_to: date(c.valid_to),
        insurers: c.insurers().into_iter().map(str::to_string).collect(),
        institutions: c.institutions().into_iter().map(str::to_string).collect(),
        contract_json: serde_json::to_string(c)?,
    })
}

/// Decodes a stored version (rows stored before versioning carry an extra `seq`, ignored).
pub fn decode(v: &ContractVersion) -> Result<StoredContract, StoreError> {
    let mut contract: Contract = serde_json::from_str(&v.contract_json)
        .map_err(|e| StoreError::Corrupt(format!("contract {}: {e}", v.contract_id)))?;
    if contract.contract_id.is_empty() {
        contract.contract_id = v.contract_id.clone();
    }
    Ok(StoredContract {
        version: v.clone(),
        contract,
    })
}

fn decode_all(list: Vec<ContractVersion>) -> Result<Vec<StoredContract>, StoreError> {
    list.iter().map(decode).collect()
}

/// Stores parsed contracts of insurer `own` (8 digits) as versions (used by
/// [`crate::reference::import_csv`] and [`import_contracts`]).
pub(crate) async fn store_parsed(
    store: &Store,
    own: &str,
    list: &[Contract],
    by: &str,
) -> Result<ImportSummary, ImportError> {
    let drafts = list
        .iter()
        .map(draft)
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    Ok(store.import_contracts(own, &drafts, list.len(), by).await?)
}

/// Imports one `contracts.csv` for `insurer`: the file is the insurer's complete list
/// (module doc). Every contract must be held by that insurer (for a collective contract:
/// it is the representative); all or nothing.
pub async fn import_contracts(
    store: &Store,
    insurer: &Org,
    bytes: &[u8],
    by: &str,
) -> Result<ContractImport, ImportError> {
    if insurer.kind != OrgKind::Insurer {
        return Err(ImportError::NotInsurer(insurer.number.clone()));
    }
    let file = "contracts.csv";
    let own = format!("{:0>8}", insurer.number);
    let list = parse_contracts_csv(file, bytes)?;
    if let Some(c) = list.iter().find(|c| c.insurer != own) {
        return Err(crate::reference::foreign_row(file, bytes, &c.insurer, &own));
    }
    let summary = store_parsed(store, &own, &list, by).await?;
    let result = ContractImport {
        contracts: list.len(),
        summary,
    };
    store
        .audit(&AuditEntry {
            actor: by.to_string(),
            role: String::new(),
            org: insurer.number.clone(),
            action: "contracts.import".into(),
            target: format!("contracts:{own}"),
            records: String::new(),
            source: String::new(),
            detail: serde_json::to_string(&result)?,
        })
        .await?;
    Ok(result)
}

/// Current contracts held by `insurer` (all insurers when `None`), optionally of one
/// fiscal year.
pub async fn current(
    store: &Store,
    insurer: Option<&str>,
    fiscal_year: Option<i32>,
) -> Result<Vec<StoredContract>, StoreError> {
    decode_all(
        store
            .current_contracts(insurer, fiscal_year.map(i64::from))
            .await?,
    )
}

/// Current contracts binding `insurer`: its own and the collective contracts it is a
/// member of (what the insurer's own users may read).
pub async fn binding(
    store: &Store,
    insurer: &str,
    fiscal_year: Option<i32>,
) -> Result<Vec<StoredContract>, StoreError> {
    decode_all(
        store
            .contracts_binding(insurer, fiscal_year.map(i64::from))
            .await?,
    )
}

/// Every version of `insurer`'s contracts (one contract when `contract_id` is given).
pub async fn history(
    store: &Store,
    insurer: &str,
    contract_id: Option<&str>,
) -> Result<Vec<StoredContract>, StoreError> {
    decode_all(store.contract_history(insurer, contract_id).await?)
}

/// The current contracts as `contracts.csv` (the format import reads).
pub async fn export_csv(
    store: &Store,
    insurer: Option<&str>,
    fiscal_year: Option<i32>,
) -> Result<Vec<u8>, StoreError> {
    let list: Vec<Contract> = current(store, insurer, fiscal_year)
        .await?
        .into_iter()
        .map(|s| s.contract)
        .collect();
    let mut out = Vec::new();
    write_contracts_csv(&list, &mut out)
        .map_err(|e| StoreError::Corrupt(format!("writing contracts.csv: {e}")))?;
    Ok(out)
}

fn invalid(ja: impl Into<String>, en: impl Into<String>) -> EditError {
    EditError::Invalid {
        ja: ja.into(),
        en: en.into(),
    }
}

/// The checks an edited contract must pass (the CSV parser applies the same rules).
pub fn validate(c: &Contract, own: &str) -> Result<(), EditError> {
    if c.insurer != own {
        return Err(invalid(
            format!(
                "保険者番号 {} は編集中の保険者 {own} と異なります",
                c.insurer
            ),
            format!(
                "insurer {} is not the insurer {own} being edited",
                c.insurer
            ),
        ));
    }
    if !valid_contract_id(&c.contract_id) {
        return Err(invalid(
            "契約番号は英数字と - _ . の 1〜64 文字です",
            "a contract id is 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    if !(2000..=2100).contains(&c.fiscal_year) || !matches!(c.commission_type, 1 | 2) {
        return Err(invalid(
            "年度または委託料単価区分(1 個別 / 2 集団)が正しくありません",
            "the fiscal year or the commission type (1 individual / 2 group) is wrong",
        ));
    }
    if let (Some(f), Some(t)) = (c.valid_from, c.valid_to)
        && t < f
    {
        return Err(invalid(
            "有効期間の終了日が開始日より前です",
            "the validity ends before it starts",
        ));
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match c.form {
        ContractForm::Individual => {
            if !digits(&c.institution, 10)
                || !c.member_insurers.is_empty()
                || !c.member_institutions.is_empty()
                || !c.coordinator.is_empty()
            {
                return Err(invalid(
                    "個別契約は 10 桁の実施機関番号を 1 つ持ち、構成員の一覧を持ちません",
                    "an individual contract names one 10-digit institution and no member lists",
                ));
            }
        }
        ContractForm::Collective => {
            if c.institutions().is_empty()
                || c.member_institutions.iter().any(|i| !digits(i, 10))
                || c.member_insurers.iter().any(|i| !digits(i, 8))
            {
                return Err(invalid(
                    "集合契約の構成機関(10 桁)または構成保険者(8 桁)が正しくありません",
                    "a collective contract needs member institutions (10 digits) and valid member insurers (8 digits)",
                ));
            }
        }
    }
    fn bad_key<V>(map: &std::collections::BTreeMap<String, V>, ok: fn(&str) -> bool) -> bool {
        map.keys().any(|k| !ok(k))
    }
    if bad_key(&c.detail, |k| matches!(k, "1" | "2" | "3" | "4"))
        || bad_key(&c.additional, |k| k.len() == 17)
        || bad_key(&c.guidance, |k| matches!(k, "1" | "2" | "3"))
        || bad_key(&c.guidance_shares, |k| {
            matches!(k, "1" | "2" | "3" | "4" | "5")
        })
    {
        return Err(invalid(
            "単価の項目コードが正しくありません(docs/reference-data.md の item 参照)",
            "an item code of a price is unknown (see item in docs/reference-data.md)",
        ));
    }
    if c.guidance_shares.values().any(|p| *p > 100) {
        return Err(invalid(
            "支払割合は 0〜100 % です",
            "a payment share is a percentage 0-100",
        ));
    }
    Ok(())
}

/// Saves an edit of one of `insurer`'s contracts as a new version. `seen` is the version
/// the editor started from (`None` creates a new contract). `who` names the editor for the
/// version's author and the audit row (actor, role, organisation, source; the action,
/// target and detail are filled in here).
pub async fn save_edit(
    store: &Store,
    insurer: &Org,
    contract: &Contract,
    seen: Option<i64>,
    who: &AuditEntry,
) -> Result<StoredContract, EditError> {
    let by = who.actor.as_str();
    if insurer.kind != OrgKind::Insurer {
        return Err(EditError::NotInsurer(insurer.number.clone()));
    }
    let own = format!("{:0>8}", insurer.number);
    validate(contract, &own)?;
    let d = draft(contract)?;
    let v = match store.save_contract(&own, &d, seen, by).await? {
        SaveOutcome::Saved(v) => v,
        SaveOutcome::Unchanged(v) => return Ok(decode(&v)?),
        SaveOutcome::Stale { seen, current } => {
            return Err(EditError::Stale { seen, current });
        }
    };
    store
        .audit(&AuditEntry {
            action: "contracts.edit".into(),
            target: format!("contract:{own}:{}", v.contract_id),
            records: String::new(),
            detail: serde_json::json!({ "version": v.version, "insurer": own }).to_string(),
            ..who.clone()
        })
        .await?;
    Ok(decode(&v)?)
}

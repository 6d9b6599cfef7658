//! Destruction (廃棄, S26) reaching the backups (S25).
//!
//! A generation holds a destroyed scope's wrapped data keys twice (`keys.json` and the
//! `data_keys` rows of the database snapshot), its blobs, and the personal identifiers of
//! its records (sealed under the insurer's key, which is not destroyed). After a
//! destruction, [`purge_destroyed`] rewrites every generation at every location the
//! installation has backed up to (the targets of its `backup.create` audit rows): the keys
//! leave `keys.json` and the snapshot (SQLite rebuilt by `VACUUM INTO`, so no free page keeps
//! them), the scope's blobs are deleted, the records and their billing lines are blanked, the
//! submissions marked `destroyed` and (when the destruction took them) the insurer's rosters
//! and invitations of the 年度 deleted as in the live database (a SQLite snapshot runs the
//! same statements, [`crate::retention::destroy_copies`]; PostgreSQL JSON lines are edited
//! alike), and the manifest is sealed again with the new hashes
//! and the destruction added to its `destroyed` list, so `daiko backup verify` still passes.
//! A generation is verified completely before it is rewritten (a purge never re-seals a
//! tampered generation). Locations that cannot be reached are reported (audited
//! `severity=high` by the caller).
//!
//! A restore ([`super::restore`]) applies again the destructions listed by the restored
//! generation and by every newer generation at the same location ([`destructions_known`]),
//! and warns where it cannot know (a generation without the list, a newer one unreadable).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sqlx::{Connection, Row};

use super::{
    BackupError, FileEntry, FileKind, Generation, KEYS_NEXT, KeysFile, Manifest, Opened, Result,
    TableCount, Target, context, generation_names, io, open, open_manifest, private_dir,
    sha256_hex, sqlite_contents,
};
use crate::keyring::{CHUNK_SIZE, DataKey, KeyringConfig, Sealer};
use crate::retention::{Destroyed, parse_scope};
use crate::{Store, StoreError, new_id};

/// Columns of `records` holding personal identifiers, blanked by a destruction.
const RECORD_COLUMNS: [&str; 5] = [
    "voucher",
    "card_symbol",
    "card_number",
    "voucher_idx",
    "card_idx",
];

/// What a destruction did to one backup generation or location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeOutcome {
    /// The scope's keys and blobs were removed and the manifest sealed again.
    Purged {
        location: String,
        keys: usize,
        blobs: usize,
    },
    /// The generation held nothing of the scope and lists the destruction already.
    Unchanged { location: String },
    /// Not purged: the location or generation could not be reached, opened or rewritten.
    Failed {
        location: String,
        en: String,
        ja: String,
    },
}

impl PurgeOutcome {
    pub fn location(&self) -> &str {
        match self {
            PurgeOutcome::Purged { location, .. }
            | PurgeOutcome::Unchanged { location }
            | PurgeOutcome::Failed { location, .. } => location,
        }
    }

    /// The audit detail (`severity=high` when not purged).
    pub fn detail(&self, scope: &str) -> String {
        match self {
            PurgeOutcome::Purged { keys, blobs, .. } => {
                format!("scope={scope}; purged: removed {keys} keys, {blobs} blobs")
            }
            PurgeOutcome::Unchanged { .. } => {
                format!("scope={scope}; purged: nothing of the scope left")
            }
            PurgeOutcome::Failed { en, ja, .. } => format!(
                "severity=high; scope={scope}; NOT purged, the destroyed keys may remain in this \
                 backup: {en} / 未消去（廃棄した鍵がこのバックアップに残っている可能性）: {ja}"
            ),
        }
    }

    fn failed(location: &str, e: &BackupError) -> PurgeOutcome {
        PurgeOutcome::Failed {
            location: location.to_string(),
            en: e.to_string(),
            ja: e.message_ja(),
        }
    }
}

/// The backup targets the installation has written to: the parents of the generations in
/// its `backup.create` audit rows.
async fn known_targets(store: &Store) -> Result<Vec<String>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT target FROM audit WHERE action = 'backup.create'")
            .fetch_all(store.pool())
            .await?;
    let mut out = BTreeSet::new();
    for loc in rows {
        let loc = loc.trim_end_matches('/');
        let parent = if loc.starts_with("s3://") {
            loc.rsplit_once('/').map(|(p, _)| p.to_string())
        } else {
            Path::new(loc)
                .parent()
                .map(|p| p.display().to_string())
                .filter(|p| !p.is_empty())
        };
        if let Some(p) = parent {
            out.insert(p);
        }
    }
    Ok(out.into_iter().collect())
}

/// Purges the destroyed scope from every generation at every known backup location; never
/// fails as a whole: each generation (or unreachable location) gets its outcome.
pub async fn purge_destroyed(
    store: &Store,
    d: &Destroyed,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Vec<PurgeOutcome> {
    let mut out = Vec::new();
    let targets = match known_targets(store).await {
        Ok(t) => t,
        Err(e) => {
            out.push(PurgeOutcome::failed("audit backup.create", &e));
            return out;
        }
    };
    let keys = store.keyring().config().clone();
    for loc in targets {
        let target = match Target::parse(&loc, env) {
            Ok(t) => t,
            Err(e) => {
                out.push(PurgeOutcome::failed(&loc, &e));
                continue;
            }
        };
        // A missing directory is an unmounted or moved backup disk, not an empty target.
        if let Target::Dir(p) = &target
            && !p.is_dir()
        {
            let e = io(p)(std::io::Error::from(std::io::ErrorKind::NotFound));
            out.push(PurgeOutcome::failed(&loc, &e));
            continue;
        }
        let names = match generation_names(&target).await {
            Ok(n) => n,
            Err(e) => {
                out.push(PurgeOutcome::failed(&loc, &e));
                continue;
            }
        };
        for name in names {
            let g = target.generation(&name);
            let location = g.location();
            out.push(match purge_generation(&g, keys.clone(), d).await {
                Ok((0, 0, false)) => PurgeOutcome::Unchanged { location },
                Ok((keys, blobs, _)) => PurgeOutcome::Purged {
                    location,
                    keys,
                    blobs,
                },
                Err(e) => PurgeOutcome::failed(&location, &e),
            });
        }
    }
    out
}

/// Verifies a generation completely, then removes the scope from it. Answers the keys and
/// blobs removed and whether anything was rewritten.
pub(super) async fn purge_generation(
    generation: &Generation,
    keys: KeyringConfig,
    d: &Destroyed,
) -> Result<(usize, usize, bool)> {
    // One purge of a folder generation at a time, in any process: two rewriting it from the
    // same old manifest would each drop the other's files and destruction.
    let _lock = match generation {
        Generation::Dir(p) => folder_lock(p.clone()).await?,
        Generation::S3 { .. } => None,
    };
    let opened = open(generation, keys).await?;
    let r = purge_opened(&opened, d).await;
    opened.close().await;
    r
}

async fn purge_opened(opened: &Opened, d: &Destroyed) -> Result<(usize, usize, bool)> {
    let m = &opened.manifest;
    let bad_scope = |_| BackupError::Store(StoreError::Corrupt(format!("scope {}", d.scope)));
    let (org, fy) = parse_scope(&d.scope).map_err(bad_scope)?;
    // A rosters-only destruction leaves its scope's keys (they are not listed either).
    let by_tenant = d.takes_keys();
    let doomed: BTreeSet<String> = opened
        .keys_file
        .data_keys
        .iter()
        .filter(|k| (by_tenant && k.tenant == d.scope) || d.key_ids.contains(&k.id))
        .map(|k| k.id.clone())
        .chain(d.key_ids.iter().cloned())
        .collect();
    let sealed_by: BTreeMap<String, String> = opened
        .blob_keys
        .lock()
        .map(|g| g.clone())
        .unwrap_or_default();
    let removed: BTreeSet<String> = m
        .files
        .iter()
        .filter(|f| {
            f.kind == FileKind::Blob
                && (sealed_by.get(&f.path).is_some_and(|k| doomed.contains(k))
                    || d.blobs.contains(&f.name))
        })
        .map(|f| f.name.clone())
        .collect();
    let keys_left: Vec<_> = opened
        .keys_file
        .data_keys
        .iter()
        .filter(|k| !doomed.contains(&k.id))
        .cloned()
        .collect();
    let n_keys = opened.keys_file.data_keys.len() - keys_left.len();
    let listed = m
        .destroyed
        .as_ref()
        .is_some_and(|l| l.iter().any(|x| x.approval == d.approval));
    // Rosters are rows, not keys: whether the generation holds any is known only once its
    // database has been edited below (nothing is written before).
    // What an interrupted purge left: finished first (the generation verified as it is).
    settle(opened).await?;
    if n_keys == 0 && removed.is_empty() && listed && !d.rosters {
        return Ok((0, 0, false));
    }
    let generation = &opened.generation;
    let name = &m.generation;
    // Sealed again under the key that sealed the generation (named in keys.json).
    let dk = opened
        .keystore
        .keyring()
        .data_key(&opened.keys_file.manifest_key)
        .await?;
    let dk = &dk;
    // Rewritten files get new names (`<name>.purge-<id>`): the old ones stay until the new
    // manifest is written.
    let nonce = new_id();
    let reseal = |f: &FileEntry, plain: Vec<u8>| {
        let f = f.clone();
        let path = successor(&f.path, &nonce);
        async move {
            let sealed = seal(dk, &context(name, &path), &plain)?;
            generation.put(&path, &sealed).await?;
            Ok::<_, BackupError>(FileEntry {
                path,
                size: sealed.len() as u64,
                sha256: sha256_hex(&sealed),
                plain_size: plain.len() as u64,
                plain_sha256: sha256_hex(&plain),
                ..f
            })
        }
    };
    // PostgreSQL: the three tables concerned, edited as JSON lines.
    let table = |n: &str| {
        m.files
            .iter()
            .find(|f| f.kind == FileKind::Table && f.name == n)
    };
    let mut edited: BTreeMap<String, (Vec<u8>, i64)> = BTreeMap::new();
    if let Some(subs_file) = table("submissions") {
        let (_, plain) = opened.open_file(subs_file).await?;
        let mut subs = BTreeSet::new();
        let body = edit_lines(&plain, &subs_file.path, |row| {
            let is_doomed = row.get("org_id").and_then(|v| v.as_str()) == Some(org.as_str())
                && row
                    .get("blob_key")
                    .and_then(|v| v.as_str())
                    .is_some_and(|k| removed.contains(k));
            if is_doomed {
                if let Some(id) = row.get("id").and_then(|v| v.as_str()) {
                    subs.insert(id.to_string());
                }
                row.insert("status".into(), "destroyed".into());
            }
            true
        })?;
        edited.insert("submissions".into(), body);
        let mut records = BTreeSet::new();
        if let Some(f) = table("records") {
            let (_, plain) = opened.open_file(f).await?;
            let body = edit_lines(&plain, &f.path, |row| {
                if row
                    .get("submission_id")
                    .and_then(|v| v.as_str())
                    .is_some_and(|s| subs.contains(s))
                {
                    if let Some(id) = row.get("id").and_then(|v| v.as_str()) {
                        records.insert(id.to_string());
                    }
                    for c in RECORD_COLUMNS {
                        if row.contains_key(c) {
                            row.insert(c.into(), "".into());
                        }
                    }
                }
                true
            })?;
            edited.insert("records".into(), body);
        }
        // What `retention::destroy_copies` does live: billing lines lose the numbers.
        if let Some(f) = table("billing_lines") {
            let (_, plain) = opened.open_file(f).await?;
            let body = edit_lines(&plain, &f.path, |row| {
                if row
                    .get("record_id")
                    .and_then(|v| v.as_str())
                    .is_some_and(|r| records.contains(r))
                {
                    row.insert("card_number".into(), "".into());
                    row.insert("voucher".into(), "".into());
                }
                true
            })?;
            edited.insert("billing_lines".into(), body);
        }
    }
    let mut roster_rows = 0i64;
    if d.rosters {
        roster_rows += purge_roster_lines(opened, &org, fy, &mut edited).await?;
    }
    if let Some(f) = table("data_keys") {
        let (_, plain) = opened.open_file(f).await?;
        let body = edit_lines(&plain, &f.path, |row| {
            let id = row.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            let tenant = row
                .get("tenant")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            !((by_tenant && tenant == d.scope) || doomed.contains(id))
        })?;
        edited.insert("data_keys".into(), body);
    }
    // SQLite: the snapshot edited in a scratch folder, before anything is written.
    let mut database = None;
    if let Some(f) = m.files.iter().find(|f| f.kind == FileKind::Database) {
        let (_, plain) = opened.open_file(f).await?;
        let (plain, counts, rows) = purge_sqlite(&plain, d, &doomed, &removed).await?;
        roster_rows += rows;
        database = Some((plain, counts));
    }
    if n_keys == 0 && removed.is_empty() && listed && roster_rows == 0 {
        return Ok((0, 0, false));
    }
    let mut tables = m.tables.clone();
    let mut files = Vec::new();
    for f in &m.files {
        match f.kind {
            FileKind::Blob if removed.contains(&f.name) => {}
            FileKind::Database => match database.take() {
                Some((plain, counts)) => {
                    tables = counts;
                    files.push(reseal(f, plain).await?);
                }
                None => files.push(f.clone()),
            },
            FileKind::Table if edited.contains_key(&f.name) => {
                let Some((body, rows)) = edited.remove(&f.name) else {
                    continue;
                };
                for t in tables.iter_mut().filter(|t| t.name == f.name) {
                    t.rows = rows;
                }
                files.push(reseal(f, body).await?);
            }
            _ => files.push(f.clone()),
        }
    }
    let keys = serde_json::to_vec_pretty(&KeysFile {
        data_keys: keys_left,
        ..opened.keys_file.clone()
    })
    .map_err(|e| StoreError::Corrupt(format!("keys.json: {e}")))?;
    let mut destroyed = m.destroyed.clone().unwrap_or_default();
    if !listed {
        destroyed.push(d.clone());
    }
    // Every file of the old manifest the new one does not name: rewritten ones' old names
    // and the deleted blobs.
    let kept: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let superseded: Vec<String> = m
        .files
        .iter()
        .filter(|f| !kept.contains(f.path.as_str()))
        .map(|f| f.path.clone())
        .collect();
    let manifest = Manifest {
        keys_sha256: sha256_hex(&keys),
        tables,
        files,
        destroyed: Some(destroyed),
        superseded: superseded.clone(),
        ..m.clone()
    };
    let body = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StoreError::Corrupt(format!("manifest: {e}")))?;
    let sealed = seal(dk, &context(name, "manifest"), &body)?;
    // The new files were written above under new names; then the new keys beside the old
    // ones, then the manifest (one atomic replacement: a rename in a folder, one PUT on S3)
    // switches the generation from the old files to the new. Interrupted before it, the old
    // generation verifies; after it, the new one does ([`super::open`] takes the keys the
    // manifest names, `keys.json` or `keys.json.next`). Only then are the old files deleted.
    generation.put(KEYS_NEXT, &keys).await?;
    generation.put("manifest.enc", &sealed).await?;
    generation.put("keys.json", &keys).await?;
    generation.remove(KEYS_NEXT).await?;
    for p in &superseded {
        generation.remove(p).await?;
    }
    Ok((n_keys, removed.len(), true))
}

/// An exclusive advisory lock (`flock`) on a generation's folder, held while it is purged;
/// `None` when the folder cannot be opened (the purge then reports why).
async fn folder_lock(dir: std::path::PathBuf) -> Result<Option<std::fs::File>> {
    tokio::task::spawn_blocking(move || {
        let Ok(f) = std::fs::File::open(&dir) else {
            return Ok(None);
        };
        f.lock().map_err(io(&dir))?;
        Ok(Some(f))
    })
    .await
    .map_err(|e| BackupError::Store(StoreError::Corrupt(format!("lock task failed: {e}"))))?
}

/// The name a rewritten file takes: its original name with a new suffix.
fn successor(path: &str, nonce: &str) -> String {
    let base = path.split_once(SUCCESSOR).map_or(path, |(b, _)| b);
    format!("{base}{SUCCESSOR}{nonce}")
}

/// What the name of a file rewritten by a purge carries (characters safe as S3 keys).
const SUCCESSOR: &str = ".purge-";

/// Completes what an interrupted purge of this (verified) generation left: the keys the
/// manifest authenticates renamed over `keys.json`, a `keys.json.next` the manifest does not
/// name deleted, and the files the manifest lists as superseded deleted.
async fn settle(opened: &Opened) -> Result<()> {
    let g = &opened.generation;
    if let Some(keys) = &opened.keys_next {
        g.put("keys.json", keys).await?;
    }
    if opened.keys_next.is_some() || opened.stale_next {
        g.remove(KEYS_NEXT).await?;
    }
    let m = &opened.manifest;
    let listed: BTreeSet<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
    for p in &m.superseded {
        if !listed.contains(p.as_str()) {
            g.remove(p).await?;
        }
    }
    // Files an attempt interrupted before its manifest wrote, which no manifest names.
    for f in g.files().await? {
        if f.contains(SUCCESSOR) && !listed.contains(f.as_str()) {
            g.remove(&f).await?;
        }
    }
    Ok(())
}

/// [`crate::retention::destroy_copies`]'s roster deletes on the JSON lines of a PostgreSQL
/// generation: the rows of the insurer `org` belonging to fiscal year `fy` leave
/// `invite_rosters`, `invite_members`, `invite_vouchers` (and their copies in `vouchers`),
/// `invite_reminder_items`, `invite_reminder_rounds` and `invite_returned_mail`. Answers
/// the number of rows deleted.
async fn purge_roster_lines(
    opened: &Opened,
    org: &str,
    fy: i32,
    edited: &mut BTreeMap<String, (Vec<u8>, i64)>,
) -> Result<i64> {
    let m = &opened.manifest;
    let table = |n: &str| {
        m.files
            .iter()
            .find(|f| f.kind == FileKind::Table && f.name == n)
    };
    let text = |row: &serde_json::Map<String, serde_json::Value>, c: &str| {
        row.get(c)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let int = |row: &serde_json::Map<String, serde_json::Value>, c: &str| {
        row.get(c).and_then(serde_json::Value::as_i64)
    };
    let Some(f) = table("orgs") else {
        return Ok(0);
    };
    let (_, plain) = opened.open_file(f).await?;
    let mut insurer = None;
    edit_lines(&plain, &f.path, |row| {
        if text(row, "id") == org && text(row, "kind") == "insurer" {
            insurer = Some(text(row, "number"));
        }
        true
    })?;
    let Some(insurer) = insurer else {
        return Ok(0);
    };
    let (from, to) = (
        format!("{fy:04}-04-01"),
        format!("{:04}-04-01", i64::from(fy) + 1),
    );
    let in_year = |ts: String| ts.as_str() >= from.as_str() && ts.as_str() < to.as_str();
    let year = i64::from(fy);
    let mut rosters = BTreeSet::new();
    let mut issued = BTreeSet::new();
    let mut deleted = 0i64;
    // In this order: members follow their rosters, ledger copies their issued vouchers.
    for name in [
        "invite_rosters",
        "invite_members",
        "invite_vouchers",
        "vouchers",
        "invite_reminder_items",
        "invite_reminder_rounds",
        "invite_returned_mail",
    ] {
        let Some(f) = table(name) else {
            continue;
        };
        let (_, plain) = opened.open_file(f).await?;
        let body = edit_lines(&plain, &f.path, |row| {
            let mine = text(row, "insurer") == insurer;
            let doomed = match name {
                "invite_rosters" => {
                    let d = mine && in_year(text(row, "imported_at"));
                    if d {
                        rosters.insert(text(row, "id"));
                    }
                    d
                }
                "invite_members" => rosters.contains(&text(row, "roster_id")),
                "invite_vouchers" => {
                    let d = mine && int(row, "fiscal_year") == Some(year);
                    if d && !text(row, "number_idx").is_empty() {
                        issued.insert((int(row, "kind"), text(row, "number_idx")));
                    }
                    d
                }
                "vouchers" => {
                    mine && !text(row, "number_idx").is_empty()
                        && issued.contains(&(int(row, "kind"), text(row, "number_idx")))
                }
                "invite_returned_mail" => mine && in_year(text(row, "marked_at")),
                _ => mine && int(row, "fiscal_year") == Some(year),
            };
            if doomed {
                deleted += 1;
            }
            !doomed
        })?;
        edited.insert(name.into(), body);
    }
    Ok(deleted)
}

/// An envelope of `plain` under `dk` (as [`crate::keyring::Keyring::encrypt_value`] makes).
fn seal(dk: &DataKey, ctx: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let size = CHUNK_SIZE as usize;
    let mut s = Sealer::new(dk, ctx, CHUNK_SIZE)?;
    let mut out = s.header().to_vec();
    let n = plain.len().div_ceil(size).max(1);
    for i in 0..n {
        let mut buf =
            plain[(i * size).min(plain.len())..((i + 1) * size).min(plain.len())].to_vec();
        s.seal_chunk(&mut buf, i + 1 == n)?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Rewrites JSON lines: `keep` may change a row and answers whether to keep it. Answers the
/// new body and its row count.
fn edit_lines(
    plain: &[u8],
    path: &str,
    mut keep: impl FnMut(&mut serde_json::Map<String, serde_json::Value>) -> bool,
) -> Result<(Vec<u8>, i64)> {
    let text = std::str::from_utf8(plain).map_err(|_| BackupError::Tampered(path.into()))?;
    let mut out = Vec::new();
    let mut rows = 0i64;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let mut row: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|_| BackupError::Tampered(path.into()))?;
        if keep(&mut row) {
            let l = serde_json::to_string(&row)
                .map_err(|e| StoreError::Corrupt(format!("{path}: {e}")))?;
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
            rows += 1;
        }
    }
    Ok((out, rows))
}

/// Applies the destruction to a SQLite snapshot (in a private scratch folder) and rebuilds
/// it with `VACUUM INTO`, so the deleted keys stay in no free page. Answers the new file,
/// its row counts and the number of roster and invitation rows deleted.
async fn purge_sqlite(
    plain: &[u8],
    d: &Destroyed,
    doomed: &BTreeSet<String>,
    removed: &BTreeSet<String>,
) -> Result<(Vec<u8>, Vec<TableCount>, i64)> {
    let bad_scope = |_| BackupError::Store(StoreError::Corrupt(format!("scope {}", d.scope)));
    let (org, fy) = parse_scope(&d.scope).map_err(bad_scope)?;
    let (org, scope) = (org.as_str(), d.scope.as_str());
    let scratch = std::env::temp_dir().join(format!("daiko-purge-{}", new_id()));
    std::fs::create_dir_all(&scratch).map_err(io(&scratch))?;
    let r = async {
        private_dir(&scratch)?;
        let src = scratch.join("in.sqlite3");
        let out = scratch.join("out.sqlite3");
        std::fs::write(&src, plain).map_err(io(&src))?;
        let mut conn =
            sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rw", src.display())).await?;
        let mut tx = conn.begin().await?;
        if d.takes_keys() {
            sqlx::query("DELETE FROM data_keys WHERE tenant = $1")
                .bind(scope)
                .execute(&mut *tx)
                .await?;
        }
        for id in doomed {
            sqlx::query("DELETE FROM data_keys WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let columns: Vec<String> = sqlx::query("SELECT name FROM pragma_table_info('records')")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let set: Vec<String> = RECORD_COLUMNS
            .iter()
            .filter(|c| columns.iter().any(|x| x == *c))
            .map(|c| format!("{c} = ''"))
            .collect();
        let rows = sqlx::query("SELECT id, blob_key FROM submissions WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut *tx)
            .await?;
        let mut subs = Vec::new();
        for r in rows {
            let (id, blob): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            if !removed.contains(&blob) {
                continue;
            }
            if !set.is_empty() {
                sqlx::query(crate::sql(format!(
                    "UPDATE records SET {} WHERE submission_id = $1",
                    set.join(", ")
                )))
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE submissions SET status = 'destroyed' WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            subs.push(id);
        }
        // Billing lines and rosters: the live destruction's statements. A snapshot older
        // than migration 0008 has no `vouchers.number_idx` (its copies stay).
        let ledger_copies: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pragma_table_info('vouchers') WHERE name = 'number_idx'",
        )
        .fetch_one(&mut *tx)
        .await?;
        let copies =
            crate::retention::destroy_copies(&mut tx, org, fy, &subs, d.rosters, ledger_copies > 0)
                .await?;
        // What `destroy_copies` deleted (billing lines are blanked, not deleted; the ledger
        // copies of issued vouchers go with them).
        let rows: u64 = [
            "rosters",
            "roster_members",
            "issued_vouchers",
            "reminder_items",
            "returned_mail",
        ]
        .iter()
        .filter_map(|k| copies.get(*k))
        .sum();
        tx.commit().await?;
        let quoted = out.display().to_string().replace('\'', "''");
        sqlx::query(crate::sql(format!("VACUUM INTO '{quoted}'")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let (tables, _, _) = sqlite_contents(&out).await?;
        let bytes = std::fs::read(&out).map_err(io(&out))?;
        Ok::<_, BackupError>((bytes, tables, i64::try_from(rows).unwrap_or(i64::MAX)))
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    r
}

/// Something a restore could not know about destructions (S26), in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreWarning {
    /// The generation was made before generations recorded destructions.
    NoRecord { generation: String },
    /// A newer generation at the same location could not be read: destructions it records
    /// were not applied.
    Unreadable {
        location: String,
        en: String,
        ja: String,
    },
    /// The generation's name does not tell which generations are newer.
    NotComparable { location: String },
}

impl RestoreWarning {
    pub fn en(&self) -> String {
        match self {
            RestoreWarning::NoRecord { generation } => format!(
                "generation {generation} was made before backups recorded destructions: scopes \
                 destroyed before it may be restored unless a newer generation here lists them; \
                 check `daiko retention certificates` of the original installation and destroy \
                 them again"
            ),
            RestoreWarning::Unreadable { location, en, .. } => format!(
                "newer generation {location} could not be read ({en}): destructions recorded \
                 only there were not applied; check `daiko retention certificates`"
            ),
            RestoreWarning::NotComparable { location } => format!(
                "{location} is not named YYYYMMDDTHHMMSSZ: newer generations were not consulted \
                 for destructions; check `daiko retention certificates`"
            ),
        }
    }

    pub fn ja(&self) -> String {
        match self {
            RestoreWarning::NoRecord { generation } => format!(
                "世代 {generation} は廃棄記録を持たない旧形式です。この場所の新しい世代に記録がない限り、\
                 それ以前に廃棄した範囲が復元されている可能性があります。元の環境の \
                 `daiko retention certificates` を確認し、必要なら再度廃棄してください"
            ),
            RestoreWarning::Unreadable { location, ja, .. } => format!(
                "新しい世代 {location} を読めません（{ja}）。その世代にのみ記録された廃棄は反映されていません。\
                 `daiko retention certificates` を確認してください"
            ),
            RestoreWarning::NotComparable { location } => format!(
                "{location} は YYYYMMDDTHHMMSSZ 形式の名前ではないため、新しい世代の廃棄記録を参照していません。\
                 `daiko retention certificates` を確認してください"
            ),
        }
    }
}

/// The destructions recorded by the restored generation and every newer generation at the
/// same location (manifests authenticated, files not re-checked), with what could not be
/// known.
pub(super) async fn destructions_known(
    generation: &Generation,
    manifest: &Manifest,
    keys: &KeyringConfig,
) -> (Vec<Destroyed>, Vec<RestoreWarning>) {
    let mut warnings = Vec::new();
    let mut known = match &manifest.destroyed {
        Some(l) => l.clone(),
        None => {
            warnings.push(RestoreWarning::NoRecord {
                generation: manifest.generation.clone(),
            });
            Vec::new()
        }
    };
    let Some((target, name)) = generation
        .parent()
        .filter(|(_, n)| super::is_generation_name(n))
    else {
        warnings.push(RestoreWarning::NotComparable {
            location: generation.location(),
        });
        return (known, warnings);
    };
    let names = match generation_names(&target).await {
        Ok(n) => n,
        Err(e) => {
            warnings.push(RestoreWarning::Unreadable {
                location: target.location(),
                en: e.to_string(),
                ja: e.message_ja(),
            });
            return (known, warnings);
        }
    };
    for n in names.iter().filter(|n| n.as_str() > name.as_str()) {
        let g = target.generation(n);
        match open_manifest(&g, keys.clone()).await {
            Ok(o) => {
                known.extend(o.manifest.destroyed.clone().unwrap_or_default());
                o.close().await;
            }
            Err(e) => warnings.push(RestoreWarning::Unreadable {
                location: g.location(),
                en: e.to_string(),
                ja: e.message_ja(),
            }),
        }
    }
    (known, warnings)
}

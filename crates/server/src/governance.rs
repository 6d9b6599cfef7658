//! Governance (issue 6): what the rows of `daiko_store::governance` mean.
//!
//! - **S7 password reset (パスワード再発行)**: [`issue_reset`] refuses without the identity
//!   check (document type and who checked), writes the ledger row with its audit row, kills
//!   the old password and answers a one-time code (stored only as SHA-256, valid
//!   [`RESET_MINUTES`], usable once) that the operator hands to the user in person. The
//!   user redeems it at `/login/reset`, choosing the new password (which nobody else ever
//!   sees) and enrolling a new second factor at the next sign-in.
//! - **S10 four eyes (二者承認)**: role grants, bulk reprocessing, maintenance tickets and
//!   destruction are filed as approvals ([`request`]) that a second, different
//!   administrator decides ([`decide`]); [`execute`] runs the action only after approval.
//! - **S11 maintenance accounts (保守アカウント)**: [`maintenance_gate`] lets a `maintenance`
//!   account in only inside the window of an approved ticket and audits every request.
//! - **S16 review (定期監査レビュー)**: [`review`] picks the events auditors must look at.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use thiserror::Error;

use daiko_store::Store;
use daiko_store::audit::{AuditEntry, AuditRow};
use daiko_store::governance::{Approval, Decision, MaintenanceTicket, NewReset, PasswordReset};
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::users::{NewUser, ROLES, User};

use crate::auth::{TOTP_ISSUER, hash_password, hash_token, new_session_id, new_totp_secret};
use crate::hours::ServiceHours;

/// How long a reset code works.
pub const RESET_MINUTES: i64 = 60;

/// Roles whose grant needs a second administrator (S10): everything that works for the
/// agency. Insurer and institution accounts see only their own organisation and are
/// created directly.
pub const PRIVILEGED_ROLES: [&str; 5] =
    ["operator", "admin", "auditor", "maintenance", "emergency"];

/// Kinds of approval and what they do when approved.
pub const KINDS: [&str; 4] = [
    "role_grant",
    "reprocess",
    "maintenance_ticket",
    "destruction",
];

/// The longest maintenance window one ticket may open.
pub const MAX_WINDOW_HOURS: i64 = 72;

/// Why a governance action was refused or failed. Every variant has a Japanese and an
/// English message.
#[derive(Debug, Error)]
pub enum GovError {
    #[error("{en}")]
    Invalid { ja: String, en: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the requester cannot approve or reject their own request")]
    OwnRequest,
    #[error("the request is already {0}")]
    NotPending(String),
    #[error(transparent)]
    Store(#[from] daiko_store::StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl GovError {
    fn invalid(ja: impl Into<String>, en: impl Into<String>) -> GovError {
        GovError::Invalid {
            ja: ja.into(),
            en: en.into(),
        }
    }
    pub fn message_ja(&self) -> String {
        match self {
            GovError::Invalid { ja, .. } => ja.clone(),
            GovError::NotFound(what) => format!("見つかりません: {what}"),
            GovError::OwnRequest => {
                "申請者本人は承認・却下できません(別の管理者が判断します)。".into()
            }
            GovError::NotPending(s) => format!("この申請はすでに処理済みです({s})。"),
            GovError::Store(e) => format!("データベースのエラーです: {e}"),
            GovError::Internal(e) => format!("内部エラーです: {e}"),
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            GovError::Invalid { en, .. } => en.clone(),
            other => other.to_string(),
        }
    }
}

/// A short free-text field: 1..=max characters, no control characters.
fn text_field(name: &str, v: &str, max: usize) -> Result<String, GovError> {
    let v = v.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(GovError::invalid(
            format!("{name} を 1〜{max} 文字で指定してください。"),
            format!("{name} must have 1-{max} characters."),
        ));
    }
    Ok(v.to_string())
}

fn random_secret() -> Result<String, GovError> {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| GovError::Internal("no random numbers".into()))?;
    Ok(hex::encode(b))
}

async fn hash_blocking(secret: String) -> Result<String, GovError> {
    tokio::task::spawn_blocking(move || hash_password(&secret))
        .await
        .map_err(|e| GovError::Internal(e.to_string()))?
        .map_err(|e| GovError::Internal(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// S7: password reset
// ---------------------------------------------------------------------------------------------

/// The identity check an operator records before a reset (本人確認).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCheck {
    /// Document type, e.g. `my-number-card`, `drivers-licence`, `passport`.
    #[serde(default)]
    pub verified_by: String,
    /// The operator who saw the document.
    #[serde(default)]
    pub checked_by: String,
    #[serde(default)]
    pub note: String,
}

/// An issued reset: the code (shown once, to hand to the user) and the ledger row.
#[derive(Debug, Clone)]
pub struct IssuedReset {
    pub code: String,
    pub reset: PasswordReset,
}

/// Issues a reset for `user` after the identity check `check`, by `issuer` (whose audit
/// entry is `audit`). Refused without the ledger fields.
pub async fn issue_reset(
    store: &Store,
    user: &User,
    check: &IdentityCheck,
    audit: AuditEntry,
) -> Result<IssuedReset, GovError> {
    if check.verified_by.trim().is_empty() || check.checked_by.trim().is_empty() {
        return Err(GovError::invalid(
            "本人確認の記録(確認書類 verified_by と確認者 checked_by)がないため再発行できません。",
            "A reset needs the identity check: the document type (verified_by) and who checked it (checked_by).",
        ));
    }
    let verified_by = text_field("verified_by", &check.verified_by, 100)?;
    let checked_by = text_field("checked_by", &check.checked_by, 100)?;
    let note: String = check.note.trim().chars().take(500).collect();
    if note.chars().any(char::is_control) {
        return Err(GovError::invalid(
            "note に制御文字は使えません。",
            "note must not contain control characters.",
        ));
    }
    if user.role == "emergency" {
        return Err(GovError::invalid(
            "緊急用アカウントは再発行できません(緊急事態の終了時に自動で無効化されます)。",
            "Emergency accounts are not reset; their credentials are rotated when an emergency closes.",
        ));
    }
    let code = new_session_id()
        .map_err(|e| GovError::Internal(e.to_string()))?
        .plain;
    let locked = hash_blocking(random_secret()?).await?;
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_mins(RESET_MINUTES))
        .map_err(|e| GovError::Internal(e.to_string()))?;
    let issued_by = audit.actor.clone();
    let mut audit = audit;
    audit.action = "user.reset_issue".into();
    audit.target = format!("user:{}", user.login);
    audit.detail = format!(
        "severity=high; verified_by={verified_by}; checked_by={checked_by}; expires={}",
        daiko_store::format_ts(expires)
    );
    let reset = store
        .add_password_reset(
            &NewReset {
                user_id: &user.id,
                verified_by: &verified_by,
                checked_by: &checked_by,
                note: &note,
                issued_by: &issued_by,
                code_hash: &hash_token(&code),
                expires_at: &daiko_store::format_ts(expires),
                locked_password_hash: &locked,
            },
            &audit,
        )
        .await?;
    Ok(IssuedReset { code, reset })
}

// ---------------------------------------------------------------------------------------------
// S10: approvals
// ---------------------------------------------------------------------------------------------

/// The payload of a role grant: a new account with a privileged role, or a role change.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// `create` or `change`.
    pub op: String,
    pub login: String,
    pub role: String,
    /// Organisation number (only auditors may belong to an insurer).
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The payload of a maintenance ticket (S11).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketRequest {
    pub ticket: String,
    pub login: String,
    /// RFC 3339 timestamps.
    pub from: String,
    pub to: String,
    pub description: String,
}

/// The payload of bulk reprocessing: every failed job of a kind is run again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reprocess {
    pub job_kind: String,
}

fn valid_login(login: &str) -> bool {
    (1..=64).contains(&login.len())
        && login
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@'))
}

fn parse_ts_field(name: &str, s: &str) -> Result<jiff::Timestamp, GovError> {
    s.trim().parse::<jiff::Timestamp>().map_err(|_| {
        GovError::invalid(
            format!("{name} は RFC 3339 の日時です(例 2026-12-05T01:00:00Z): {s:?}"),
            format!("{name} must be an RFC 3339 timestamp (e.g. 2026-12-05T01:00:00Z): {s:?}"),
        )
    })
}

/// Where the new account of a grant belongs (the same rules as `POST /api/v1/users`).
async fn grant_org(store: &Store, agency: &Org, g: &RoleGrant) -> Result<Org, GovError> {
    let org = match g.org.as_deref().filter(|o| !o.is_empty()) {
        Some(n) => Some(
            store
                .org_by_number(n)
                .await?
                .ok_or_else(|| GovError::NotFound(format!("organisation {n}")))?,
        ),
        None => None,
    };
    match (g.role.as_str(), org) {
        ("auditor", Some(o)) if o.kind != OrgKind::Institution => Ok(o),
        (_, Some(o)) if o.kind == OrgKind::Agency => Ok(o),
        (_, None) => Ok(agency.clone()),
        (role, Some(_)) => Err(GovError::invalid(
            format!("役割 {role} の利用者は代行機関に属します(org を省略してください)。"),
            format!("{role} users belong to the agency: leave `org` out."),
        )),
    }
}

/// Checks a request's payload and answers its normalised JSON and a one-line summary.
pub async fn validate(
    store: &Store,
    agency: &Org,
    kind: &str,
    payload: &Value,
) -> Result<(Value, String), GovError> {
    let bad = |e: serde_json::Error| {
        GovError::invalid(
            format!("{kind} の内容が正しくありません: {e}"),
            format!("invalid {kind} payload: {e}"),
        )
    };
    match kind {
        "role_grant" => {
            let g: RoleGrant = serde_json::from_value(payload.clone()).map_err(bad)?;
            if !valid_login(&g.login) {
                return Err(GovError::invalid(
                    "login は英数字と . _ - @ の 1〜64 文字です。",
                    "login must be 1-64 characters of letters, digits and . _ - @.",
                ));
            }
            if !ROLES.contains(&g.role.as_str()) {
                return Err(GovError::invalid(
                    format!("不明な役割です: {}", g.role),
                    format!("unknown role {:?}", g.role),
                ));
            }
            let existing = store.user_by_login(&g.login).await?;
            match (g.op.as_str(), existing) {
                ("create", None) => {
                    if !PRIVILEGED_ROLES.contains(&g.role.as_str()) {
                        return Err(GovError::invalid(
                            "保険者・機関の利用者は承認なしで作成します。",
                            "insurer and institution accounts are created without an approval.",
                        ));
                    }
                    let org = grant_org(store, agency, &g).await?;
                    let summary = format!("create {} as {} in {}", g.login, g.role, org.number);
                    Ok((serde_json::to_value(&g).map_err(bad)?, summary))
                }
                ("create", Some(_)) => Err(GovError::invalid(
                    format!("利用者 {} はすでに登録されています。", g.login),
                    format!("user {} already exists.", g.login),
                )),
                ("change", Some(u)) => {
                    if u.role == g.role {
                        return Err(GovError::invalid(
                            format!("{} はすでに {} です。", g.login, g.role),
                            format!("{} already has role {}.", g.login, g.role),
                        ));
                    }
                    let tenant = |r: &str| matches!(r, "insurer" | "institution");
                    if tenant(&u.role) != tenant(&g.role) {
                        return Err(GovError::invalid(
                            "代行機関の役割と保険者・機関の役割の間では変更できません(新しいアカウントを作成してください)。",
                            "A role cannot move between agency roles and insurer/institution roles; create a new account.",
                        ));
                    }
                    let summary = format!("change {} from {} to {}", g.login, u.role, g.role);
                    Ok((serde_json::to_value(&g).map_err(bad)?, summary))
                }
                ("change", None) => Err(GovError::NotFound(format!("user {}", g.login))),
                (op, _) => Err(GovError::invalid(
                    format!("op は create か change です: {op:?}"),
                    format!("op must be create or change: {op:?}"),
                )),
            }
        }
        "reprocess" => {
            let r: Reprocess = serde_json::from_value(payload.clone()).map_err(bad)?;
            if !daiko_pipeline::worker::KINDS.contains(&r.job_kind.as_str()) {
                return Err(GovError::invalid(
                    format!(
                        "job_kind は {} のいずれかです。",
                        daiko_pipeline::worker::KINDS.join(", ")
                    ),
                    format!(
                        "job_kind must be one of {}.",
                        daiko_pipeline::worker::KINDS.join(", ")
                    ),
                ));
            }
            let summary = format!("re-run every failed {} job", r.job_kind);
            Ok((serde_json::to_value(&r).map_err(bad)?, summary))
        }
        "maintenance_ticket" => {
            let t: TicketRequest = serde_json::from_value(payload.clone()).map_err(bad)?;
            let ticket = text_field("ticket", &t.ticket, 64)?;
            let description = text_field("description", &t.description, 1000)?;
            let from = parse_ts_field("from", &t.from)?;
            let to = parse_ts_field("to", &t.to)?;
            if to <= from || to.duration_since(from).as_hours() > MAX_WINDOW_HOURS {
                return Err(GovError::invalid(
                    format!("作業時間帯は from < to、最長 {MAX_WINDOW_HOURS} 時間です。"),
                    format!("the window needs from < to and at most {MAX_WINDOW_HOURS} hours."),
                ));
            }
            let user = store
                .user_by_login(&t.login)
                .await?
                .ok_or_else(|| GovError::NotFound(format!("user {}", t.login)))?;
            if user.role != "maintenance" {
                return Err(GovError::invalid(
                    format!("{} は保守アカウントではありません。", t.login),
                    format!("{} is not a maintenance account.", t.login),
                ));
            }
            if store.maintenance_ticket(&ticket).await?.is_some() {
                return Err(GovError::invalid(
                    format!("作業票 {ticket} はすでに登録されています。"),
                    format!("ticket {ticket} already exists."),
                ));
            }
            let norm = TicketRequest {
                ticket: ticket.clone(),
                login: t.login.clone(),
                from: daiko_store::format_ts(from),
                to: daiko_store::format_ts(to),
                description,
            };
            let summary = format!(
                "ticket {ticket}: {} from {} to {}",
                t.login, norm.from, norm.to
            );
            Ok((serde_json::to_value(&norm).map_err(bad)?, summary))
        }
        "destruction" => {
            // S26: the scope is a retention scope `<organisation id>/<fiscal year>`
            // (`daiko retention due` lists them); its executor checks it is past retention.
            let scope = payload
                .get("scope")
                .and_then(Value::as_str)
                .map(|s| text_field("scope", s, 500))
                .transpose()?
                .ok_or_else(|| {
                    GovError::invalid(
                        "destruction には scope(何を破棄するか)が必要です。",
                        "destruction needs a scope (what is to be destroyed).",
                    )
                })?;
            daiko_store::retention::parse_scope(&scope)
                .map_err(|e| GovError::invalid(e.message_ja(), e.to_string()))?;
            Ok((payload.clone(), format!("destroy {scope}")))
        }
        other => Err(GovError::invalid(
            format!("不明な申請種別です: {other}({})", KINDS.join(", ")),
            format!("unknown approval kind {other:?} ({})", KINDS.join(", ")),
        )),
    }
}

/// Files a request by `audit.actor` after validating it.
pub async fn request(
    store: &Store,
    agency: &Org,
    kind: &str,
    payload: &Value,
    audit: AuditEntry,
) -> Result<Approval, GovError> {
    let (payload, summary) = validate(store, agency, kind, payload).await?;
    let mut audit = audit;
    audit.action = "approval.request".into();
    audit.detail = format!("kind={kind}; {summary}");
    Ok(store
        .request_approval(
            kind,
            &payload.to_string(),
            &summary,
            &audit.actor.clone(),
            &audit,
        )
        .await?)
}

/// What an approval decision produced: the approval and, when it ran, the action's answer
/// (for a new account: its initial password and TOTP URI, shown to the approver only).
#[derive(Debug, Clone)]
pub struct Decided {
    pub approval: Approval,
    pub outcome: Option<Value>,
}

/// Approves (and then runs) or rejects request `id` as administrator `audit.actor`.
pub async fn decide(
    store: &Store,
    agency: &Org,
    id: &str,
    approve: bool,
    reason: &str,
    audit: AuditEntry,
) -> Result<Decided, GovError> {
    let Some(current) = store.approval(id).await? else {
        return Err(GovError::NotFound(format!("approval {id}")));
    };
    let reason: String = reason.trim().chars().take(500).collect();
    let mut entry = audit.clone();
    entry.action = if approve {
        "approval.approve"
    } else {
        "approval.reject"
    }
    .into();
    entry.target = format!("approval:{id}");
    entry.detail = format!(
        "kind={}; {}; requested_by={}; {reason}",
        current.kind, current.summary, current.requested_by
    );
    let decided = match store
        .decide_approval(id, &audit.actor, approve, &reason, &entry)
        .await?
    {
        Decision::Decided(a) => *a,
        Decision::NotFound => return Err(GovError::NotFound(format!("approval {id}"))),
        Decision::NotPending(s) => return Err(GovError::NotPending(s)),
        Decision::OwnRequest => {
            let mut refused = audit.clone();
            refused.action = "approval.refused".into();
            refused.target = format!("approval:{id}");
            refused.detail = format!("severity=high; kind={}; own request", current.kind);
            store.audit(&refused).await?;
            return Err(GovError::OwnRequest);
        }
    };
    if !approve {
        return Ok(Decided {
            approval: decided,
            outcome: None,
        });
    }
    let outcome = execute(store, agency, &decided, &audit).await;
    match outcome {
        Ok(Some((value, result))) => {
            store.finish_approval(id, true, &result).await?;
            Ok(Decided {
                approval: store.approval(id).await?.unwrap_or(decided),
                outcome: Some(value),
            })
        }
        Ok(None) => Ok(Decided {
            approval: decided,
            outcome: None,
        }),
        Err(e) => {
            store.finish_approval(id, false, &e.message_en()).await?;
            Err(e)
        }
    }
}

/// Runs an approved request. Answers the action's answer and the result text to keep
/// (never a secret), or `None` when the kind has no executor (the approval then stays
/// `approved`).
async fn execute(
    store: &Store,
    agency: &Org,
    a: &Approval,
    approver: &AuditEntry,
) -> Result<Option<(Value, String)>, GovError> {
    let payload: Value = serde_json::from_str(&a.payload)
        .map_err(|e| GovError::Internal(format!("stored payload of {}: {e}", a.id)))?;
    let by = format!(
        "approval={}; requested_by={}; approved_by={}",
        a.id, a.requested_by, approver.actor
    );
    let entry = |action: &str, target: String, detail: String| {
        let mut e = approver.clone();
        e.action = action.into();
        e.target = target;
        e.detail = detail;
        e
    };
    match a.kind.as_str() {
        "role_grant" => {
            let g: RoleGrant =
                serde_json::from_value(payload).map_err(|e| GovError::Internal(e.to_string()))?;
            if g.op == "change" {
                let user = store
                    .user_by_login(&g.login)
                    .await?
                    .ok_or_else(|| GovError::NotFound(format!("user {}", g.login)))?;
                store
                    .set_user_role(
                        &user.id,
                        &g.role,
                        &entry(
                            "role.grant",
                            format!("user:{}", g.login),
                            format!("severity=high; {} -> {}; {by}", user.role, g.role),
                        ),
                    )
                    .await?;
                let result = format!("{} now has role {}", g.login, g.role);
                return Ok(Some((json!({"login": g.login, "role": g.role}), result)));
            }
            let org = grant_org(store, agency, &g).await?;
            let password: String = new_session_id()
                .map_err(|e| GovError::Internal(e.to_string()))?
                .plain
                .chars()
                .take(20)
                .collect();
            let hash = hash_blocking(password.clone()).await?;
            let secret = new_totp_secret().map_err(|e| GovError::Internal(e.to_string()))?;
            let totp_uri = crate::auth::otpauth_url(&secret, TOTP_ISSUER, &g.login)
                .map_err(|e| GovError::Internal(e.to_string()))?;
            let user = store
                .add_user(&NewUser {
                    login: &g.login,
                    display_name: g.name.as_deref().unwrap_or(&g.login),
                    role: &g.role,
                    org_id: Some(&org.id),
                    password_hash: &hash,
                    must_change_password: true,
                    totp_secret: &secret,
                })
                .await?;
            store
                .audit(&entry(
                    "role.grant",
                    format!("user:{}", user.login),
                    format!("severity=high; new account with role {}; {by}", user.role),
                ))
                .await?;
            Ok(Some((
                json!({
                    "id": user.id, "login": user.login, "role": user.role, "org": org.number,
                    "initial_password": password, "must_change_password": true,
                    "totp_uri": totp_uri,
                }),
                format!("created {} with role {}", user.login, user.role),
            )))
        }
        "reprocess" => {
            let r: Reprocess =
                serde_json::from_value(payload).map_err(|e| GovError::Internal(e.to_string()))?;
            let n = store.retry_failed_jobs(&r.job_kind).await?;
            store
                .audit(&entry(
                    "jobs.reprocess",
                    format!("jobs:{}", r.job_kind),
                    format!("{n} failed jobs queued again; {by}"),
                ))
                .await?;
            Ok(Some((
                json!({"job_kind": r.job_kind, "requeued": n}),
                format!("{n} {} jobs queued again", r.job_kind),
            )))
        }
        "maintenance_ticket" => {
            let t: TicketRequest =
                serde_json::from_value(payload).map_err(|e| GovError::Internal(e.to_string()))?;
            let user = store
                .user_by_login(&t.login)
                .await?
                .ok_or_else(|| GovError::NotFound(format!("user {}", t.login)))?;
            let ticket = MaintenanceTicket {
                ticket: t.ticket.clone(),
                user_id: user.id,
                description: t.description.clone(),
                window_from: t.from.clone(),
                window_to: t.to.clone(),
                requested_by: a.requested_by.clone(),
                approved_by: approver.actor.clone(),
                approval_id: a.id.clone(),
                created_at: daiko_store::now(),
            };
            store
                .add_maintenance_ticket(
                    &ticket,
                    &entry(
                        "maintenance.ticket",
                        format!("ticket:{}", t.ticket),
                        format!("{} from {} to {}; {by}", t.login, t.from, t.to),
                    ),
                )
                .await?;
            Ok(Some((
                serde_json::to_value(&ticket).map_err(|e| GovError::Internal(e.to_string()))?,
                format!("ticket {} registered", t.ticket),
            )))
        }
        // S26: crypto-shredding of one retention scope (daiko_store::retention).
        "destruction" => {
            let cert = store
                .execute_destruction(&a.id, approver)
                .await
                .map_err(|e| match e {
                    daiko_store::retention::RetentionError::Store(e) => GovError::Store(e),
                    e => GovError::invalid(e.message_ja(), e.to_string()),
                })?;
            let result = format!("destroyed {}: {}", cert.scope, cert.manifest_sha256);
            Ok(Some((
                serde_json::to_value(&cert).map_err(|e| GovError::Internal(e.to_string()))?,
                result,
            )))
        }
        other => Err(GovError::Internal(format!("no executor for kind {other}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// S11: maintenance accounts
// ---------------------------------------------------------------------------------------------

/// The ticket under which a maintenance account may work now; `None` (refused, and audited
/// `maintenance.refused`) outside every approved window. Other roles pass with `None`
/// without any lookup.
pub async fn maintenance_ticket_now(
    store: &Store,
    user: &User,
    entry: &AuditEntry,
) -> Result<Option<MaintenanceTicket>, daiko_store::StoreError> {
    let ticket = store
        .active_maintenance_ticket(&user.id, &daiko_store::now())
        .await?;
    if ticket.is_none() {
        tracing::warn!(login = %user.login, "maintenance account refused: no ticket for this time");
        let mut e = entry.clone();
        e.action = "maintenance.refused".into();
        e.detail = "severity=high; no approved ticket whose window contains this time".into();
        store.audit(&e).await?;
    }
    Ok(ticket)
}

/// Every request of a maintenance account is audited against its ticket (S11); answers
/// false (refuse) outside the window.
pub async fn maintenance_gate(
    store: &Store,
    user: &User,
    entry: AuditEntry,
) -> Result<bool, daiko_store::StoreError> {
    let Some(t) = maintenance_ticket_now(store, user, &entry).await? else {
        return Ok(false);
    };
    let mut e = entry;
    e.action = "maintenance.request".into();
    e.detail = format!("ticket={}", t.ticket);
    store.audit(&e).await?;
    Ok(true)
}

/// The report of a ticket (S11): the ticket, and everything its account did (and was
/// refused) from the window's start until the report — so actions after the window show.
#[derive(Debug, Clone, Serialize)]
pub struct TicketReport {
    pub ticket: MaintenanceTicket,
    pub login: String,
    pub actions: Vec<AuditRow>,
    /// Actions outside the window (should be none: the gate refuses them).
    pub outside_window: usize,
}

pub async fn ticket_report(store: &Store, ticket: &str) -> Result<TicketReport, GovError> {
    let t = store
        .maintenance_ticket(ticket)
        .await?
        .ok_or_else(|| GovError::NotFound(format!("ticket {ticket}")))?;
    let user = store
        .user(&t.user_id)
        .await?
        .ok_or_else(|| GovError::NotFound(format!("user {}", t.user_id)))?;
    // From the approval on (refused early attempts show too) until now.
    let since = t.created_at.clone().min(t.window_from.clone());
    let rows = store
        .audit_period(&since, &daiko_store::now(), Some(&user.login), None)
        .await?;
    let outside_window = rows
        .iter()
        .filter(|r| {
            r.entry.action == "maintenance.request" && (r.at < t.window_from || r.at >= t.window_to)
        })
        .count();
    Ok(TicketReport {
        ticket: t,
        login: user.login,
        actions: rows,
        outside_window,
    })
}

// ---------------------------------------------------------------------------------------------
// S16: the auditors' review
// ---------------------------------------------------------------------------------------------

/// Thresholds of the review (`[review]` in daiko.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewConfig {
    /// More personal-data records than this read by one actor within one hour is a bulk
    /// export.
    pub bulk_records: usize,
    /// More delivery downloads than this by one actor within one hour is a bulk export.
    pub bulk_downloads: usize,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            bulk_records: 1000,
            bulk_downloads: 20,
        }
    }
}

/// Actions that read personal data (S13) and count towards bulk exports.
pub const PERSONAL_DATA_READS: [&str; 11] = [
    "submission.read",
    "report.read",
    "record.lineage",
    "delivery.download",
    "billing.invoice.read",
    "billing.statement.read",
    "billing.transfer_file.read",
    "invite.targets.read",
    "invite.vouchers.read",
    "invite.letters",
    "invite.reminders",
];

/// Personal-data reads that hand over a whole file (counted as downloads).
const DOWNLOADS: [&str; 4] = [
    "delivery.download",
    "billing.transfer_file.read",
    "invite.letters",
    "invite.reminders",
];

/// One event the auditors must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewItem {
    /// `login_outside_hours`, `failed_login`, `lockout`, `bulk_export`, `break_glass`,
    /// `maintenance`, `role_grant`, `clock`.
    pub category: &'static str,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub org: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The audit row (the first one of a bulk export's hour).
    pub seq: i64,
}

/// Category labels in both languages.
pub fn category_label(category: &str) -> (&'static str, &'static str) {
    match category {
        "login_outside_hours" => ("時間外ログイン", "login outside service hours"),
        "failed_login" => ("ログイン失敗", "failed login"),
        "lockout" => ("アカウントロック", "lockout"),
        "bulk_export" => ("大量取得", "bulk export"),
        "break_glass" => ("緊急用アカウント", "break-glass"),
        "maintenance" => ("保守作業", "maintenance session"),
        "role_grant" => ("権限付与", "role grant"),
        "clock" => ("時刻のずれ", "clock offset"),
        _ => ("その他", "other"),
    }
}

fn item(category: &'static str, r: &AuditRow, detail: String) -> ReviewItem {
    ReviewItem {
        category,
        at: r.at.clone(),
        actor: r.entry.actor.clone(),
        role: r.entry.role.clone(),
        org: r.entry.org.clone(),
        action: r.entry.action.clone(),
        target: r.entry.target.clone(),
        detail,
        seq: r.seq,
    }
}

/// Picks the suspicious events of `rows` (oldest first), in the order they happened.
pub fn review(rows: &[AuditRow], hours: &ServiceHours, cfg: &ReviewConfig) -> Vec<ReviewItem> {
    let mut out = Vec::new();
    // (actor, hour) → (first row, records, downloads)
    let mut reads: std::collections::BTreeMap<(String, String), (usize, usize, usize)> =
        Default::default();
    for (i, r) in rows.iter().enumerate() {
        let e = &r.entry;
        let a = e.action.as_str();
        let at = daiko_store::parse_ts(&r.at);
        match a {
            "auth.login" | "maintenance.login" => {
                if at.is_some_and(|t| !hours.is_open(t)) {
                    out.push(item("login_outside_hours", r, e.detail.clone()));
                }
                if a == "maintenance.login" {
                    out.push(item("maintenance", r, e.detail.clone()));
                }
            }
            "auth.failure" => out.push(item("failed_login", r, e.detail.clone())),
            "auth.lockout" => out.push(item("lockout", r, e.detail.clone())),
            "role.grant" | "user.role" => out.push(item("role_grant", r, e.detail.clone())),
            "clock.offset_alert" => out.push(item("clock", r, e.detail.clone())),
            _ if a.starts_with("emergency.") => out.push(item("break_glass", r, e.detail.clone())),
            "maintenance.refused" | "maintenance.ticket" => {
                out.push(item("maintenance", r, e.detail.clone()))
            }
            _ if a.starts_with("approval.")
                && (e.detail.starts_with("kind=role_grant")
                    || e.detail.starts_with("kind=maintenance_ticket")) =>
            {
                let cat = if e.detail.starts_with("kind=role_grant") {
                    "role_grant"
                } else {
                    "maintenance"
                };
                out.push(item(cat, r, e.detail.clone()))
            }
            _ if PERSONAL_DATA_READS.contains(&a) => {
                let hour = r.at.get(..13).unwrap_or(&r.at).to_string();
                let n = e
                    .records
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .count();
                let slot = reads.entry((e.actor.clone(), hour)).or_insert((i, 0, 0));
                slot.1 += n;
                if DOWNLOADS.contains(&a) {
                    slot.2 += 1;
                }
            }
            _ => {}
        }
    }
    for ((_, hour), (first, records, downloads)) in reads {
        if records > cfg.bulk_records || downloads > cfg.bulk_downloads {
            let r = &rows[first];
            let mut it = item(
                "bulk_export",
                r,
                format!(
                    "{records} records, {downloads} downloads in the hour from {hour}:00Z \
                     (thresholds {} records, {} downloads)",
                    cfg.bulk_records, cfg.bulk_downloads
                ),
            );
            it.action = "personal-data reads".into();
            it.target = String::new();
            out.push(it);
        }
    }
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then(a.category.cmp(b.category)));
    out
}

/// The review period from `from` to `to`: dates (`YYYY-MM-DD`) are JST calendar days,
/// `to` included; RFC 3339 timestamps are taken as they are (`to` excluded). Answers the
/// stored forms (since, until).
pub fn review_period(from: &str, to: &str) -> Result<(String, String), GovError> {
    let jst = jiff::tz::TimeZone::fixed(jiff::tz::offset(9));
    let parse = |name: &str, s: &str, end: bool| -> Result<jiff::Timestamp, GovError> {
        if let Ok(ts) = s.trim().parse::<jiff::Timestamp>() {
            return Ok(ts);
        }
        let d = s.trim().parse::<jiff::civil::Date>().map_err(|_| {
            GovError::invalid(
                format!("{name} は YYYY-MM-DD(日本時間の日)か RFC 3339 の日時です: {s:?}"),
                format!("{name} must be YYYY-MM-DD (a JST day) or an RFC 3339 timestamp: {s:?}"),
            )
        })?;
        let d = if end {
            d.tomorrow()
                .map_err(|e| GovError::Internal(e.to_string()))?
        } else {
            d
        };
        d.to_zoned(jst.clone())
            .map(|z| z.timestamp())
            .map_err(|e| GovError::Internal(e.to_string()))
    };
    let since = parse("from", from, false)?;
    let until = parse("to", to, true)?;
    if until <= since {
        return Err(GovError::invalid(
            "to は from より後にしてください。",
            "to must be after from.",
        ));
    }
    Ok((daiko_store::format_ts(since), daiko_store::format_ts(until)))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The review as CSV (UTF-8, header row).
pub fn review_csv(items: &[ReviewItem]) -> String {
    let mut out = String::from("category,label_ja,at,actor,role,org,action,target,detail,seq\n");
    for i in items {
        let (ja, _) = category_label(i.category);
        let fields = [
            i.category,
            ja,
            &i.at,
            &i.actor,
            &i.role,
            &i.org,
            &i.action,
            &i.target,
            &i.detail,
            &i.seq.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// The review as text, one block per category, for people.
pub fn review_text(items: &[ReviewItem], since: &str, until: &str) -> String {
    let mut out = format!("監査レビュー / audit review {since} – {until}\n");
    if items.is_empty() {
        out.push_str("該当する事象はありません / nothing to review\n");
        return out;
    }
    for cat in [
        "login_outside_hours",
        "failed_login",
        "lockout",
        "bulk_export",
        "break_glass",
        "maintenance",
        "role_grant",
        "clock",
    ] {
        let of: Vec<&ReviewItem> = items.iter().filter(|i| i.category == cat).collect();
        if of.is_empty() {
            continue;
        }
        let (ja, en) = category_label(cat);
        out.push_str(&format!("\n## {ja} / {en} ({})\n", of.len()));
        for i in of {
            out.push_str(&format!(
                "{}  {} ({})  {}  {}  {}  [#{}]\n",
                i.at, i.actor, i.role, i.action, i.target, i.detail, i.seq
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Administrators at the command line
// ---------------------------------------------------------------------------------------------

/// Authenticates an administrator outside the portal (the CLI's approvals): enabled,
/// `admin`, not locked, the password, and a fresh TOTP code (replays refused). Failures are
/// audited like portal failures.
pub async fn authenticate_admin(
    store: &Store,
    login: &str,
    password: &str,
    code: &str,
) -> Result<User, GovError> {
    let refused = || {
        GovError::invalid(
            "管理者として認証できませんでした(ログインID・パスワード・確認コード)。",
            "Could not authenticate as an administrator (login, password, code).",
        )
    };
    let user = store
        .user_by_login(login)
        .await?
        .filter(|u| u.role == "admin" && !u.disabled)
        .ok_or_else(refused)?;
    let fail = async |why: &str| -> Result<(), GovError> {
        store
            .audit(&AuditEntry {
                actor: user.login.clone(),
                role: user.role.clone(),
                action: "auth.failure".into(),
                target: user.id.clone(),
                source: "cli".into(),
                detail: format!("cli: {why}"),
                ..Default::default()
            })
            .await?;
        Ok(())
    };
    if crate::auth::is_locked(
        user.locked_until.as_deref().and_then(daiko_store::parse_ts),
        jiff::Timestamp::now(),
    ) {
        fail("account locked").await?;
        return Err(refused());
    }
    let (pw, stored) = (password.to_string(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || crate::auth::verify_password(&pw, &stored))
        .await
        .map_err(|e| GovError::Internal(e.to_string()))?
        .unwrap_or(false);
    if !ok {
        fail("wrong password").await?;
        return Err(refused());
    }
    if user.must_change_password {
        // The initial password was known to whoever created the account.
        fail("initial password not changed yet").await?;
        return Err(GovError::invalid(
            "初期パスワードのままです。ポータルで変更してから承認してください。",
            "The initial password has not been changed yet; change it in the portal first.",
        ));
    }
    if user.totp_secret.is_empty() {
        fail("no second factor enrolled").await?;
        return Err(GovError::invalid(
            "この管理者は二要素認証が未設定です。ポータルで設定してから承認してください。",
            "This administrator has no second factor yet; enrol it in the portal first.",
        ));
    }
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    match crate::auth::verify_totp(&user.totp_secret, code, now, user.totp_last_step) {
        Ok(step) if store.use_totp_step(&user.id, step).await? => Ok(user),
        _ => {
            fail("wrong or replayed TOTP code").await?;
            Err(refused())
        }
    }
}

//! Administration: organisations and accounts (admin only), and the audit trail (auditor and
//! admin). Accounts with an agency role are granted through four-eyes approval (S10,
//! [`super::governance`]).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use daiko_store::StoreError;
use daiko_store::audit::AuditQuery;
use daiko_store::orgs::{OrgKind, SERVICES};
use daiko_store::users::{NewUser, ROLES};
use serde::Deserialize;
use serde_json::{Value, json};

use super::submissions::{org_numbers, query};
use super::{Writer, audit, parse_json, read_limited};
use crate::AppState;
use crate::auth::{TOTP_ISSUER, hash_password, new_session_id, new_totp_secret, otpauth_url};
use crate::caller::{Caller, require_role};
use crate::error::ApiError;

/// JSON bodies of the admin routes are small.
const BODY_LIMIT: u64 = 64 * 1024;

fn conflict(what: &str, key: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        format!("{what} {key} はすでに登録されています。"),
        format!("{what} {key} already exists."),
    )
}

/// `GET /api/v1/orgs` (admin).
pub(super) async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let orgs = state.store.orgs().await?;
    Ok(Json(json!({ "orgs": orgs })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrgBody {
    kind: String,
    number: String,
    name: String,
    #[serde(default)]
    services: Vec<String>,
}

/// `POST /api/v1/orgs` (admin): an insurer (8-digit 保険者番号) or an institution (10-digit
/// 機関番号).
pub(super) async fn create_org(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let b: NewOrgBody = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    let (kind, digits) = match OrgKind::parse(&b.kind) {
        Some(OrgKind::Insurer) => (OrgKind::Insurer, 8),
        Some(OrgKind::Institution) => (OrgKind::Institution, 10),
        _ => {
            return Err(ApiError::bad_request(
                "kind は insurer または institution です。",
                "kind must be insurer or institution.",
            ));
        }
    };
    if b.number.len() != digits || !b.number.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::bad_request(
            format!("番号は {digits} 桁の数字です: {:?}", b.number),
            format!("number must have {digits} digits: {:?}", b.number),
        ));
    }
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "名称(name)は 1〜200 文字で指定してください。",
            "name must have 1-200 characters.",
        ));
    }
    if let Some(bad) = b.services.iter().find(|s| !SERVICES.contains(&s.as_str())) {
        return Err(ApiError::bad_request(
            format!("不明なサービスです: {bad}(check, route, billing, invite)"),
            format!("unknown service {bad:?} (check, route, billing, invite)"),
        ));
    }
    let services: Vec<&str> = b.services.iter().map(String::as_str).collect();
    let org = match state.store.add_org(kind, &b.number, name, &services).await {
        Ok(o) => o,
        Err(e) if e.is_unique_violation() => return Err(conflict("組織/organisation", &b.number)),
        Err(e) => return Err(e.into()),
    };
    audit(
        &state,
        &caller,
        "org.create",
        format!("org:{}", org.number),
        String::new(),
        json!({"kind": b.kind, "name": org.name, "services": org.services}).to_string(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(org)).into_response())
}

/// `GET /api/v1/users` (admin): accounts without secrets.
pub(super) async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let numbers = org_numbers(&state).await?;
    let users: Vec<Value> = state
        .store
        .users(None)
        .await?
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "login": u.login,
                "name": u.display_name,
                "role": u.role,
                "org": u.org_id.as_ref().and_then(|o| numbers.get(o)),
                "disabled": u.disabled,
                "must_change_password": u.must_change_password,
                "locked_until": u.locked_until,
                "created_at": u.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "users": users })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    login: String,
    role: String,
    /// Organisation number: required for insurer and institution users; agency staff
    /// belong to the agency (auditors may also belong to an insurer).
    org: Option<String>,
    name: Option<String>,
}

fn valid_login(login: &str) -> bool {
    (1..=64).contains(&login.len())
        && login
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@'))
}

/// `POST /api/v1/users` (admin): the account gets a random initial password, to be changed
/// at first login, and a TOTP secret; both are shown in this answer only.
pub(super) async fn create_user(
    State(state): State<AppState>,
    Writer(caller): Writer,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_role(&caller, &["admin"])?;
    let b: NewUserBody = parse_json(&read_limited(&headers, body, BODY_LIMIT).await?)?;
    if !valid_login(&b.login) {
        return Err(ApiError::bad_request(
            "login は英数字と . _ - @ の 1〜64 文字です。",
            "login must be 1-64 characters of letters, digits and . _ - @.",
        ));
    }
    if !ROLES.contains(&b.role.as_str()) {
        return Err(ApiError::bad_request(
            format!("不明な役割です: {}({})", b.role, ROLES.join(", ")),
            format!("unknown role {:?} ({})", b.role, ROLES.join(", ")),
        ));
    }
    // S10: agency roles are granted only with a second administrator's approval.
    if crate::governance::PRIVILEGED_ROLES.contains(&b.role.as_str()) {
        return super::governance::role_grant_request(
            &state,
            &caller,
            crate::governance::RoleGrant {
                op: "create".into(),
                login: b.login,
                role: b.role,
                org: b.org,
                name: b.name,
            },
        )
        .await;
    }
    let org = match b.org.as_deref().filter(|o| !o.is_empty()) {
        Some(n) => Some(state.store.org_by_number(n).await?.ok_or_else(|| {
            ApiError::bad_request(
                format!("組織 {n} は登録されていません。"),
                format!("No organisation with number {n} is registered."),
            )
        })?),
        None => None,
    };
    let org = match (b.role.as_str(), org) {
        ("insurer", Some(o)) if o.kind == OrgKind::Insurer => o,
        ("institution", Some(o)) if o.kind == OrgKind::Institution => o,
        ("insurer" | "institution", _) => {
            return Err(ApiError::bad_request(
                format!("役割 {} には同じ種類の組織番号(org)が必要です。", b.role),
                format!(
                    "role {} needs the number of an organisation of that kind in `org`.",
                    b.role
                ),
            ));
        }
        ("auditor", Some(o)) if o.kind != OrgKind::Institution => o,
        (_, Some(o)) if o.kind == OrgKind::Agency => o,
        (_, None) => state.agency.as_ref().clone(),
        (role, Some(_)) => {
            return Err(ApiError::bad_request(
                format!("役割 {role} の利用者は代行機関に属します(org を省略してください)。"),
                format!("{role} users belong to the agency: leave `org` out."),
            ));
        }
    };
    let password: String = new_session_id()
        .map_err(ApiError::internal)?
        .plain
        .chars()
        .take(20)
        .collect();
    let hash = {
        let password = password.clone();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
    };
    let secret = new_totp_secret().map_err(ApiError::internal)?;
    let totp_uri = otpauth_url(&secret, TOTP_ISSUER, &b.login).map_err(ApiError::internal)?;
    let display = b.name.as_deref().unwrap_or(&b.login);
    let user = match state
        .store
        .add_user(&NewUser {
            login: &b.login,
            display_name: display,
            role: &b.role,
            org_id: Some(&org.id),
            password_hash: &hash,
            must_change_password: true,
            totp_secret: &secret,
        })
        .await
    {
        Ok(u) => u,
        Err(StoreError::Duplicate { .. }) => return Err(conflict("利用者/user", &b.login)),
        Err(e) if e.is_unique_violation() => return Err(conflict("利用者/user", &b.login)),
        Err(e) => return Err(e.into()),
    };
    audit(
        &state,
        &caller,
        "user.create",
        format!("user:{}", user.login),
        String::new(),
        json!({"role": user.role, "org": org.number}).to_string(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": user.id,
            "login": user.login,
            "role": user.role,
            "org": org.number,
            "initial_password": password,
            "must_change_password": true,
            "totp_uri": totp_uri,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct AuditParams {
    actor: Option<String>,
    /// Action prefix, e.g. `submission.` or `delivery.download`.
    action: Option<String>,
    /// Organisation number of the actor.
    org: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<i64>,
}

/// An RFC 3339 timestamp or a `YYYY-MM-DD` date (00:00 UTC), in the stored form.
fn parse_when(name: &str, s: &str) -> Result<String, ApiError> {
    let ts = s.parse::<jiff::Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    });
    ts.map(daiko_store::format_ts).ok_or_else(|| {
        ApiError::bad_request(
            format!("{name} は RFC 3339 の日時か YYYY-MM-DD です: {s:?}"),
            format!("{name} must be an RFC 3339 timestamp or YYYY-MM-DD: {s:?}"),
        )
    })
}

/// `GET /api/v1/audit?actor=&action=&org=&since=&until=&limit=` (auditor, admin), newest
/// first. An insurer's auditor sees only rows of its own organisation.
pub(super) async fn audit_search(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Response, ApiError> {
    require_role(&caller, &["auditor", "admin"])?;
    let p: AuditParams = query(&uri)?;
    let nonempty = |o: Option<String>| o.filter(|s| !s.is_empty());
    let mut q = AuditQuery {
        actor: nonempty(p.actor),
        action_prefix: nonempty(p.action),
        org: nonempty(p.org),
        since: nonempty(p.since)
            .map(|s| parse_when("since", &s))
            .transpose()?,
        until: nonempty(p.until)
            .map(|s| parse_when("until", &s))
            .transpose()?,
        limit: p.limit.unwrap_or(200),
    };
    if let Some(own) = &caller.org
        && own.kind != OrgKind::Agency
    {
        q.org = Some(own.number.clone());
    }
    let rows = state.store.audit_search(&q).await?;
    audit(
        &state,
        &caller,
        "audit.search",
        "audit".into(),
        String::new(),
        json!({"actor": q.actor, "action": q.action_prefix, "org": q.org, "since": q.since,
               "until": q.until, "rows": rows.len()})
        .to_string(),
    )
    .await?;
    Ok(Json(json!({ "rows": rows })).into_response())
}

/// `GET /api/v1/audit/verify` (auditor, admin): walks the hash chain (S14).
pub(super) async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    require_role(&caller, &["auditor", "admin"])?;
    let r = state.store.verify_audit().await?;
    audit(
        &state,
        &caller,
        "audit.verify",
        "audit".into(),
        String::new(),
        json!({"rows": r.rows, "intact": r.broken.is_none()}).to_string(),
    )
    .await?;
    Ok(Json(json!({
        "rows": r.rows,
        "intact": r.broken.is_none(),
        "first_bad": r.broken.as_ref().map(|b| b.seq),
        "reason": r.broken.as_ref().map(|b| b.reason.clone()),
        "last_hash": r.last_hash,
    }))
    .into_response())
}

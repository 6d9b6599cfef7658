//! Who is calling: an API token (`Authorization: Bearer …`, systems) or a browser session
//! cookie that passed both factors (people). Extracting [`Caller`] is how a handler
//! requires authentication (S1); the tenancy and role helpers here are the one place that
//! decides who may see what (S8, S9).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use daiko_store::audit::AuditEntry;
use daiko_store::orgs::Org;
use daiko_store::users::{Session, User};

use crate::AppState;
use crate::auth::{SessionPolicy, hash_token};
use crate::error::ApiError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "daiko_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The caller's organisation (insurer/institution users; agency staff: the agency).
    pub org: Option<Org>,
    /// The browser session, when the caller is a person in the portal.
    pub session: Option<Session>,
    /// Client address for the audit trail.
    pub source: String,
}

/// Roles that work for the agency's intake and help desk and see every tenant's data.
/// Administrators manage organisations, accounts and configuration; by least privilege
/// (S8) they are not among them and read no personal data.
pub const AGENCY_ROLES: [&str; 2] = ["operator", "emergency"];

impl Caller {
    pub fn role(&self) -> &str {
        &self.user.role
    }
    pub fn is(&self, role: &str) -> bool {
        self.user.role == role
    }
    /// Agency staff with access to all tenants' operational data.
    pub fn is_agency_staff(&self) -> bool {
        AGENCY_ROLES.contains(&self.role())
    }
    /// The caller's own organisation id.
    pub fn org_id(&self) -> Option<&str> {
        self.org.as_ref().map(|o| o.id.as_str())
    }
    /// The organisation number for audit rows.
    pub fn org_number(&self) -> &str {
        self.org.as_ref().map(|o| o.number.as_str()).unwrap_or("")
    }
    /// Whether the caller may see objects that belong to organisation `org_id`: agency
    /// staff see all; insurer and institution users only their own organisation.
    pub fn may_see_org(&self, org_id: &str) -> bool {
        self.is_agency_staff()
            || (matches!(self.role(), "insurer" | "institution") && self.org_id() == Some(org_id))
    }
    /// An audit entry for an action of this caller.
    pub fn audit(
        &self,
        action: &str,
        target: impl Into<String>,
        records: impl Into<String>,
        detail: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            actor: self.user.login.clone(),
            role: self.user.role.clone(),
            org: self.org_number().to_string(),
            action: action.to_string(),
            target: target.into(),
            records: records.into(),
            source: self.source.clone(),
            detail: detail.into(),
        }
    }
    /// The language of the caller's session (default Japanese).
    pub fn lang(&self) -> &str {
        self.session
            .as_ref()
            .map(|s| s.lang.as_str())
            .unwrap_or("ja")
    }
}

/// Why a request is not authenticated.
#[derive(Debug)]
pub enum Unauthenticated {
    /// API path: 401 JSON.
    Api,
    /// Portal path: to the login page.
    Portal,
    Internal(String),
}

impl IntoResponse for Unauthenticated {
    fn into_response(self) -> Response {
        match self {
            Unauthenticated::Api => {
                let mut r = ApiError::unauthorized().into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"daiko\""),
                );
                r
            }
            Unauthenticated::Portal => Redirect::to("/login").into_response(),
            Unauthenticated::Internal(e) => ApiError::internal(e).into_response(),
        }
    }
}

/// The client address as seen by the server (no proxy headers are trusted).
pub fn source_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The value of a cookie in the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Unauthenticated;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let api = parts.uri.path().starts_with("/api/");
        let reject = if api {
            Unauthenticated::Api
        } else {
            Unauthenticated::Portal
        };
        let source = source_of(parts);
        let store = &state.store;
        let internal = |e: daiko_store::StoreError| Unauthenticated::Internal(e.to_string());

        // Systems: bearer token.
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(Unauthenticated::Api)?;
            let user = store
                .user_by_token(&hash_token(token))
                .await
                .map_err(internal)?
                .filter(|u| !u.disabled)
                .ok_or(Unauthenticated::Api)?;
            let org = match &user.org_id {
                Some(id) => store.org(id).await.map_err(internal)?,
                None => None,
            };
            let caller = Caller {
                user,
                org,
                session: None,
                source,
            };
            client_certificate(state, &caller, parts).await?;
            break_glass(state, &caller, parts.uri.path()).await?;
            maintenance_window(state, &caller, parts).await?;
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }

        // People: a session cookie that passed both factors and has not timed out (S6).
        let Some(sid) = cookie(parts, SESSION_COOKIE) else {
            return Err(reject);
        };
        let id_hash = hash_token(&sid);
        let session = store
            .session(&id_hash)
            .await
            .map_err(internal)?
            .filter(|s| s.ended_at.is_none() && s.stage == "full")
            .ok_or(reject)?;
        let now = jiff::Timestamp::now();
        let policy = SessionPolicy {
            idle_minutes: state.config.session_idle_minutes,
            absolute_hours: state.config.session_absolute_hours,
        };
        let (Some(created), Some(seen)) = (
            daiko_store::parse_ts(&session.created_at),
            daiko_store::parse_ts(&session.last_seen_at),
        ) else {
            return Err(if api {
                Unauthenticated::Api
            } else {
                Unauthenticated::Portal
            });
        };
        if !policy.session_valid(created, seen, now) {
            let _ = store.end_session(&id_hash).await;
            return Err(if api {
                Unauthenticated::Api
            } else {
                Unauthenticated::Portal
            });
        }
        let user = store
            .user(&session.user_id)
            .await
            .map_err(internal)?
            .filter(|u| !u.disabled && !u.must_change_password)
            .ok_or(if api {
                Unauthenticated::Api
            } else {
                Unauthenticated::Portal
            })?;
        store
            .touch_session(&id_hash, None, None)
            .await
            .map_err(internal)?;
        let org = match &user.org_id {
            Some(id) => store.org(id).await.map_err(internal)?,
            None => None,
        };
        let caller = Caller {
            user,
            org,
            session: Some(session),
            source,
        };
        break_glass(state, &caller, parts.uri.path()).await?;
        maintenance_window(state, &caller, parts).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// Requires one of `roles`; anything else answers 404 so the route's existence does not
/// leak to a role that has no business there.
pub fn require_role(caller: &Caller, roles: &[&str]) -> Result<(), ApiError> {
    if roles.contains(&caller.role()) {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// A 503 answer with the service-hours or maintenance notice.
pub fn closed_notice(ja: &str, en: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "600")],
        axum::Json(serde_json::json!({
            "error": "closed",
            "message_ja": ja,
            "message_en": en,
        })),
    )
        .into_response()
}

/// Mutual TLS (S17): the tokens of an organisation bound to client certificates
/// (`tls.client_orgs`) work only on a connection that presented that organisation's
/// certificate. A refusal is a high-severity audit row.
async fn client_certificate(
    state: &AppState,
    caller: &Caller,
    parts: &Parts,
) -> Result<(), Unauthenticated> {
    let presented = parts.extensions.get::<crate::tls::ClientCertificate>();
    let Err(why) =
        crate::tls::check_client_binding(state.config.tls.as_ref(), caller.org_number(), presented)
    else {
        return Ok(());
    };
    tracing::warn!(login = %caller.user.login, "{why}");
    let _ = state
        .store
        .audit(&caller.audit(
            "tls.client_cert_refused",
            parts.uri.path(),
            "",
            format!("severity=high; {why}"),
        ))
        .await;
    Err(Unauthenticated::Api)
}

/// Break-glass (S12): an `emergency` account works only while an emergency is declared
/// (`daiko emergency declare`), and every use is a high-severity audit row, an alert in the
/// log and, when configured, an alert posted to the webhook (`crate::alerts`). Other roles
/// pass untouched.
async fn break_glass(state: &AppState, caller: &Caller, path: &str) -> Result<(), Unauthenticated> {
    if caller.role() != "emergency" {
        return Ok(());
    }
    let api = path.starts_with("/api/");
    let refused = || {
        if api {
            Unauthenticated::Api
        } else {
            Unauthenticated::Portal
        }
    };
    let declared = state
        .store
        .setting("emergency")
        .await
        .map_err(|e| Unauthenticated::Internal(e.to_string()))?
        .filter(|r| !r.trim().is_empty());
    let Some(reason) = declared else {
        let _ = state
            .store
            .audit(&caller.audit("emergency.refused", path, "", "no emergency declared"))
            .await;
        return Err(refused());
    };
    tracing::error!(login = %caller.user.login, path, "ALERT: break-glass account in use");
    state
        .store
        .audit(&caller.audit(
            "emergency.use",
            path,
            "",
            format!("severity=high; emergency: {}", reason.trim()),
        ))
        .await
        .map_err(|e| Unauthenticated::Internal(e.to_string()))?;
    // The alert leaves through the webhook without holding up the request; its delivery is
    // an audit row of its own (`alert.sent` / `alert.failed`).
    if let Some(url) = state.config.alert_webhook.clone() {
        let store = state.store.clone();
        let alert = crate::alerts::Alert {
            event: "emergency.use".into(),
            actor: caller.user.login.clone(),
            target: path.to_string(),
            detail: format!("emergency: {}", reason.trim()),
        };
        let who = caller.audit("", "", "", "");
        tokio::spawn(async move {
            crate::alerts::send(&store, Some(&url), &alert, &who).await;
        });
    }
    Ok(())
}

/// Maintenance accounts (S11) work only inside the window of an approved ticket, and every
/// request is an audit row naming the ticket (`crate::governance::maintenance_gate`).
async fn maintenance_window(
    state: &AppState,
    caller: &Caller,
    parts: &Parts,
) -> Result<(), Unauthenticated> {
    if caller.role() != "maintenance" {
        return Ok(());
    }
    let entry = caller.audit(
        "maintenance.request",
        format!("{} {}", parts.method, parts.uri.path()),
        "",
        "",
    );
    let inside = crate::governance::maintenance_gate(&state.store, &caller.user, entry)
        .await
        .map_err(|e| Unauthenticated::Internal(e.to_string()))?;
    if inside {
        Ok(())
    } else if parts.uri.path().starts_with("/api/") {
        Err(Unauthenticated::Api)
    } else {
        Err(Unauthenticated::Portal)
    }
}

/// Declares an emergency (S12): `emergency` accounts work until it is closed. The declaration
/// is a high-severity audit row built from `who` and an alert posted to `webhook` (when
/// configured); answers whether the webhook took the alert.
pub async fn declare_emergency(
    store: &daiko_store::Store,
    webhook: Option<&reqwest::Url>,
    reason: &str,
    who: &AuditEntry,
) -> Result<bool, daiko_store::StoreError> {
    let reason = reason.trim();
    store.set_setting("emergency", reason).await?;
    store
        .audit(&AuditEntry {
            action: "emergency.declare".into(),
            detail: format!("severity=high; {reason}"),
            ..who.clone()
        })
        .await?;
    tracing::error!(actor = %who.actor, "ALERT: emergency declared: {reason}");
    let alert = crate::alerts::Alert {
        event: "emergency.declare".into(),
        actor: who.actor.clone(),
        target: String::new(),
        detail: reason.to_string(),
    };
    Ok(crate::alerts::send(store, webhook, &alert, who).await)
}

/// Ends a declared emergency: every `emergency` account loses its tokens and sessions and
/// gets a new random password nobody knows (an administrator issues new credentials before
/// the next emergency). Answers the accounts closed.
pub async fn close_emergency(store: &daiko_store::Store) -> Result<usize, daiko_store::StoreError> {
    store.set_setting("emergency", "").await?;
    let mut n = 0;
    for u in store
        .users(None)
        .await?
        .into_iter()
        .filter(|u| u.role == "emergency")
    {
        store.revoke_tokens(&u.id).await?;
        store.end_sessions_of_user(&u.id).await?;
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret)
            .map_err(|_| daiko_store::StoreError::Corrupt("no random numbers".into()))?;
        let hash = crate::auth::hash_password(&hex::encode(secret))
            .map_err(|e| daiko_store::StoreError::Corrupt(e.to_string()))?;
        store.set_password(&u.id, &hash, true).await?;
        n += 1;
    }
    Ok(n)
}

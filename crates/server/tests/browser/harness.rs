//! Shared by the portal tests: a seeded server on a loopback port (SQLite in a temp folder,
//! service hours always open), users with known passwords and TOTP secrets, and TOTP codes
//! computed independently of the server (HMAC-SHA-1, RFC 6238).
#![allow(dead_code)]

use std::net::SocketAddr;

use aws_lc_rs::hmac;
use daiko_server::auth::{PasswordHasher, new_totp_secret};
use daiko_server::hours::ServiceHours;
use daiko_server::{AppState, ServerConfig};
use daiko_store::Store;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::users::{NewUser, User};

pub struct Server {
    pub base: String,
    pub store: Store,
    pub state: AppState,
    pub agency: Org,
    pub dir: tempfile::TempDir,
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

pub const AGENCY_NUMBER: &str = "99000010";

/// Starts a server on 127.0.0.1:0. With `workers`, the server's own `serve` runs (and
/// with it whatever background workers the lead wired); otherwise only the router.
pub async fn start(use_serve: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), None).await.unwrap();
    let agency = store
        .add_org(OrgKind::Agency, AGENCY_NUMBER, "テスト代行機関", &[])
        .await
        .unwrap();
    let mut cfg = ServerConfig::defaults(dir.path());
    cfg.service_hours = ServiceHours::parse("always").unwrap();
    let state = AppState::new(store.clone(), cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::watch::channel(false);
    if use_serve {
        let st = state.clone();
        tokio::spawn(async move {
            daiko_server::serve(st, listener, rx).await.unwrap();
        });
    } else {
        let app =
            daiko_server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let mut rx = rx;
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
        });
    }
    Server {
        base: format!("http://{addr}"),
        store,
        state,
        agency,
        dir,
        shutdown: tx,
    }
}

/// A seeded user and the secrets a person would hold.
#[derive(Clone)]
pub struct Person {
    pub user: User,
    pub password: String,
    pub totp: String,
}

impl Server {
    /// Adds a user with a cheap password hash (tests only) and, unless `no_totp`, a secret.
    pub async fn person(
        &self,
        login: &str,
        role: &str,
        org: Option<&Org>,
        must_change: bool,
        no_totp: bool,
    ) -> Person {
        let password = format!("Kq7-{login}-pass-Zx");
        let hash = PasswordHasher::insecure_for_tests(1000)
            .hash(&password)
            .unwrap();
        let totp = if no_totp {
            String::new()
        } else {
            new_totp_secret().unwrap()
        };
        let org_id = org
            .map(|o| o.id.clone())
            .unwrap_or_else(|| self.agency.id.clone());
        let user = self
            .store
            .add_user(&NewUser {
                login,
                display_name: &format!("{login} テスト"),
                role,
                org_id: Some(&org_id),
                password_hash: &hash,
                must_change_password: must_change,
                totp_secret: &totp,
            })
            .await
            .unwrap();
        Person {
            user,
            password,
            totp,
        }
    }
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for `unix` seconds.
pub fn totp_at(secret_b32: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_b32).unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    let mac = hmac::sign(&key, &(unix / 30).to_be_bytes());
    let mac = mac.as_ref();
    let off = (mac[19] & 0x0f) as usize;
    let bin =
        u32::from_be_bytes([mac[off], mac[off + 1], mac[off + 2], mac[off + 3]]) & 0x7fff_ffff;
    format!("{:06}", bin % 1_000_000)
}

pub fn now_unix() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

pub fn totp_now(secret_b32: &str) -> String {
    totp_at(secret_b32, now_unix())
}

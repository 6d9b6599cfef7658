//! A seeded agency behind the real router on 127.0.0.1:0, for the API tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

use daiko_server::auth::{hash_token, new_api_token};
use daiko_server::hours::ServiceHours;
use daiko_server::{AppState, ServerConfig, router};
use daiko_store::Store;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::users::{NewUser, Session};

pub const AGENCY: &str = "99000010";

/// A running server.
pub struct Server {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A configuration open around the clock with the given upload limit.
pub fn config(dir: &std::path::Path, max_upload_bytes: u64) -> ServerConfig {
    let mut c = ServerConfig::defaults(dir);
    c.service_hours = ServiceHours::parse("always").expect("always parses");
    c.max_upload_bytes = max_upload_bytes;
    c
}

/// Serves `router(state)` on an ephemeral loopback port.
pub async fn start(store: &Store, config: ServerConfig) -> Server {
    let state = AppState::new(store.clone(), config)
        .await
        .expect("agency exists");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        task,
    }
}

/// The real `serve` (HTTP, background tasks and `config.workers` in-process workers) on an
/// ephemeral loopback port: its base URL, the sender that stops it, and its task.
pub async fn serve(
    store: &Store,
    config: ServerConfig,
) -> (
    String,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let state = AppState::new(store.clone(), config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        daiko_server::serve(state, listener, rx)
            .await
            .expect("serve");
    });
    (base, tx, task)
}

/// The tenants and accounts of a test agency.
pub struct World {
    pub db: &'static str,
    pub store: Store,
    pub agency: Org,
    /// Insurers the sample's persons belong to (deliveries go to them).
    pub insurer_a: Org,
    pub insurer_b: Org,
    /// An insurer that receives nothing.
    pub insurer_c: Org,
    /// The sample's sending institution.
    pub inst_a: Org,
    /// Another institution.
    pub inst_b: Org,
    /// Role-or-tenant name → bearer token.
    pub tokens: HashMap<&'static str, String>,
    pub logins: HashMap<&'static str, String>,
    pub sample: daiko_sample::SampleArchive,
}

impl World {
    pub fn token(&self, who: &str) -> &str {
        self.tokens
            .get(who)
            .map(String::as_str)
            .unwrap_or("missing-token")
    }
}

/// Generates one clean sample archive and seeds orgs, users and tokens that fit it.
pub async fn seed(db: &'static str, store: Store) -> World {
    let insurers: Vec<String> = daiko_sample::SampleConfig::default().insurers[..2].to_vec();
    let cfg = daiko_sample::SampleConfig {
        archives: 1,
        records: 12,
        seed: 7,
        insurers: insurers.clone(),
        ..Default::default()
    };
    let sample = daiko_sample::generate(&cfg)
        .expect("sample")
        .into_iter()
        .next()
        .expect("one archive");
    let sender = sample.name.split('_').next().expect("sender").to_string();

    let agency = store
        .add_org(OrgKind::Agency, AGENCY, "テスト代行機関", &[])
        .await
        .expect("agency");
    let services = ["check", "route"];
    let insurer_a = store
        .add_org(OrgKind::Insurer, &insurers[0], "保険者A", &services)
        .await
        .expect("insurer a");
    let insurer_b = store
        .add_org(OrgKind::Insurer, &insurers[1], "保険者B", &services)
        .await
        .expect("insurer b");
    let insurer_c = store
        .add_org(OrgKind::Insurer, "39999991", "保険者C", &services)
        .await
        .expect("insurer c");
    let inst_a = store
        .add_org(OrgKind::Institution, &sender, "健診機関A", &[])
        .await
        .expect("institution a");
    let other = if sender == "1399999999" {
        "1399999998"
    } else {
        "1399999999"
    };
    let inst_b = store
        .add_org(OrgKind::Institution, other, "健診機関B", &[])
        .await
        .expect("institution b");

    let people: [(&'static str, &str, &Org); 10] = [
        ("admin", "admin", &agency),
        ("operator", "operator", &agency),
        ("emergency", "emergency", &agency),
        ("auditor", "auditor", &agency),
        ("maintenance", "maintenance", &agency),
        ("insurer_a", "insurer", &insurer_a),
        ("insurer_b", "insurer", &insurer_b),
        ("insurer_c", "insurer", &insurer_c),
        ("inst_a", "institution", &inst_a),
        ("inst_b", "institution", &inst_b),
    ];
    // The emergency role only works during a declared emergency (S12).
    store
        .set_setting("emergency", "test: declared for the role matrix")
        .await
        .expect("declare");
    let mut tokens = HashMap::new();
    let mut logins = HashMap::new();
    for (who, role, org) in people {
        let login = format!("{who}-user");
        let user = store
            .add_user(&NewUser {
                login: &login,
                display_name: who,
                role,
                org_id: Some(&org.id),
                password_hash: "unused-in-api-tests",
                must_change_password: false,
                totp_secret: "",
            })
            .await
            .expect("user");
        let token = new_api_token().expect("token");
        store
            .add_token(&user.id, &token.hash)
            .await
            .expect("store token");
        tokens.insert(who, token.plain);
        logins.insert(who, login);
    }
    // S11: the seeded maintenance account works inside an approved ticket's window.
    let engineer = store
        .user_by_login(&logins["maintenance"])
        .await
        .expect("query")
        .expect("maintenance user");
    let entry = daiko_store::audit::AuditEntry {
        actor: "test".into(),
        action: "approval.request".into(),
        ..Default::default()
    };
    let approval = store
        .request_approval("maintenance_ticket", "{}", "test window", "test", &entry)
        .await
        .expect("approval");
    store
        .decide_approval(&approval.id, "test2", true, "", &entry)
        .await
        .expect("approve");
    let now = jiff::Timestamp::now();
    let hours = |h: i64| {
        daiko_store::format_ts(
            now.checked_add(jiff::SignedDuration::from_hours(h))
                .expect("time"),
        )
    };
    store
        .add_maintenance_ticket(
            &daiko_store::governance::MaintenanceTicket {
                ticket: "TEST-WINDOW".into(),
                user_id: engineer.id,
                description: "the role matrix".into(),
                window_from: hours(-1),
                window_to: hours(24),
                requested_by: "test".into(),
                approved_by: "test2".into(),
                approval_id: approval.id,
                created_at: daiko_store::now(),
            },
            &entry,
        )
        .await
        .expect("ticket");
    World {
        db,
        store,
        agency,
        insurer_a,
        insurer_b,
        insurer_c,
        inst_a,
        inst_b,
        tokens,
        logins,
        sample,
    }
}

/// A full (both factors passed) portal session for a login; answers (cookie value, csrf).
pub async fn session(store: &Store, login: &str) -> (String, String) {
    let user = store
        .user_by_login(login)
        .await
        .expect("query")
        .expect("user");
    let sid = daiko_server::auth::new_session_id()
        .expect("session id")
        .plain;
    let csrf = "csrf-token-for-tests".to_string();
    let now = daiko_store::now();
    store
        .add_session(&Session {
            id_hash: hash_token(&sid),
            user_id: user.id,
            stage: "full".into(),
            csrf: csrf.clone(),
            lang: "ja".into(),
            created_at: now.clone(),
            last_seen_at: now,
            ended_at: None,
        })
        .await
        .expect("session");
    (sid, csrf)
}

/// Runs the pipeline's jobs until none is left.
pub async fn run_pipeline(store: &Store) {
    let cfg = daiko_pipeline::worker::WorkerConfig::new(AGENCY, "api-test");
    daiko_pipeline::worker::run_until_idle(store, &cfg)
        .await
        .expect("pipeline");
}

//! Break-glass (S12): an emergency account is refused outside a declared emergency, every
//! use inside one is a high-severity audit row, and closing the emergency kills its
//! credentials.

mod common;

use daiko_store::audit::AuditQuery;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_accounts_only_during_an_emergency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await; // declares an emergency
    let srv = common::start(&w.store, common::config(dir.path(), 1 << 20)).await;
    let client = reqwest::Client::new();
    let get = async |token: &str| {
        client
            .get(format!("{}/api/v1/submissions", srv.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    };
    let token = w.token("emergency").to_string();

    // Inside the emergency: works, and is audited as high severity.
    assert_eq!(get(&token).await, 200);
    let uses = w
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("emergency.use".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(uses.len(), 1);
    assert!(uses[0].entry.detail.contains("severity=high"));

    // No emergency declared: refused (and the attempt is audited).
    w.store
        .set_setting("emergency", "")
        .await
        .expect("undeclare");
    assert_eq!(get(&token).await, 401);
    let refused = w
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("emergency.refused".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(refused.len(), 1);
    // Operators are unaffected.
    assert_eq!(get(w.token("operator")).await, 200);

    // Declared again, then closed: the old token fails even in a new emergency.
    w.store
        .set_setting("emergency", "second")
        .await
        .expect("declare");
    assert_eq!(get(&token).await, 200);
    let closed = daiko_server::caller::close_emergency(&w.store)
        .await
        .expect("close");
    assert_eq!(closed, 1);
    w.store
        .set_setting("emergency", "third")
        .await
        .expect("declare");
    assert_eq!(
        get(&token).await,
        401,
        "credentials rotated when the emergency closed"
    );
    let u = w
        .store
        .user_by_login(&w.logins["emergency"])
        .await
        .expect("q")
        .expect("user");
    assert!(u.must_change_password);
}

/// A local webhook: answers `status` and forwards each JSON body it gets.
async fn webhook(
    status: u16,
) -> (
    reqwest::Url,
    tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let v: serde_json::Value =
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let _ = tx.send(v);
                axum::http::StatusCode::from_u16(status).expect("status")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let url = daiko_server::alerts::parse_webhook("test", &format!("http://{addr}/hook"))
        .expect("loopback http is allowed");
    (url, rx)
}

async fn next_alert(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) -> serde_json::Value {
    tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
        .await
        .expect("the webhook got the alert in time")
        .expect("channel open")
}

async fn rows(store: &daiko_store::Store, action: &str) -> Vec<String> {
    store
        .audit_search(&AuditQuery {
            action_prefix: Some(action.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.entry.action == action)
        .map(|r| {
            format!(
                "{} | {} | {}",
                r.entry.actor, r.entry.target, r.entry.detail
            )
        })
        .collect()
}

/// The rows of `action` once there are `n` of them (delivery rows are written after the
/// webhook answered), or what there is after 5 s.
async fn rows_when(store: &daiko_store::Store, action: &str, n: usize) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..100 {
        found = rows(store, action).await;
        if found.len() == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}

/// S12: the alert leaves the machine. Declaring an emergency and every use of a break-glass
/// account post to the configured webhook, and each delivery (or failure) is an audit row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_alerts_reach_the_webhook() {
    // Only HTTPS leaves the machine; plain HTTP only to the loopback; no credentials in it.
    assert!(daiko_server::alerts::parse_webhook("t", "https://alerts.example.jp/hook").is_ok());
    assert!(daiko_server::alerts::parse_webhook("t", "http://alerts.example.jp/hook").is_err());
    assert!(daiko_server::alerts::parse_webhook("t", "http://[::1]:9/hook").is_ok());
    assert!(daiko_server::alerts::parse_webhook("t", "https://u:p@example.jp/").is_err());
    assert!(daiko_server::alerts::parse_webhook("t", "ftp://127.0.0.1/").is_err());
    let dir = tempfile::tempdir().expect("tempdir");
    let env = |k: &str| (k == "DAIKO_ALERT_WEBHOOK").then(|| "http://192.0.2.1/hook".to_string());
    assert!(
        daiko_server::ServerConfig::load(dir.path(), &env).is_err(),
        "plain HTTP off the loopback is refused at start"
    );

    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let (url, mut rx) = webhook(204).await;
        let mut cfg = common::config(&dir.path().join(db), 1 << 20);
        cfg.alert_webhook = Some(url.clone());
        let srv = common::start(&w.store, cfg).await;

        // Declaration: posted and recorded.
        let who = daiko_store::audit::AuditEntry {
            actor: "shift-lead".into(),
            role: "cli".into(),
            source: "cli".into(),
            ..Default::default()
        };
        let sent =
            daiko_server::caller::declare_emergency(&w.store, Some(&url), "DC fire drill", &who)
                .await
                .expect("declare");
        assert!(sent, "{db}");
        let a = next_alert(&mut rx).await;
        assert_eq!(a["event"], "emergency.declare", "{a}");
        assert_eq!(a["detail"], "DC fire drill");
        assert_eq!(a["severity"], "high");

        // A use of the break-glass account: posted, naming the account and the path.
        let status = reqwest::Client::new()
            .get(format!("{}/api/v1/submissions", srv.base))
            .bearer_auth(w.token("emergency"))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, 200, "{db}");
        let a = next_alert(&mut rx).await;
        assert_eq!(a["event"], "emergency.use", "{a}");
        assert_eq!(a["actor"], w.logins["emergency"].as_str());
        assert_eq!(a["target"], "/api/v1/submissions");
        // The delivery row is written after the webhook answered.
        let sent_rows = rows_when(&w.store, "alert.sent", 2).await;
        assert_eq!(sent_rows.len(), 2, "{db}: {sent_rows:?}");
        assert!(
            sent_rows
                .iter()
                .any(|r| r.contains("event=emergency.use") && r.contains("answered 204")),
            "{sent_rows:?}"
        );
        // Operators raise no alert.
        let status = reqwest::Client::new()
            .get(format!("{}/api/v1/submissions", srv.base))
            .bearer_auth(w.token("operator"))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(status, 200);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(300), rx.recv())
                .await
                .is_err(),
            "{db}: an operator's request raised an alert"
        );

        // A webhook that refuses, and one nobody listens on: `alert.failed`, high severity.
        let (refusing, mut rx500) = webhook(500).await;
        assert!(
            !daiko_server::caller::declare_emergency(&w.store, Some(&refusing), "again", &who)
                .await
                .expect("declare")
        );
        assert_eq!(next_alert(&mut rx500).await["event"], "emergency.declare");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let a = l.local_addr().expect("addr");
            drop(l);
            daiko_server::alerts::parse_webhook("t", &format!("http://{a}/hook")).expect("url")
        };
        assert!(
            !daiko_server::caller::declare_emergency(&w.store, Some(&closed), "again", &who)
                .await
                .expect("declare")
        );
        let failed = rows(&w.store, "alert.failed").await;
        assert_eq!(failed.len(), 2, "{db}: {failed:?}");
        assert!(failed.iter().all(|r| r.contains("severity=high")));
        assert!(
            failed.iter().any(|r| r.contains("answered 500")),
            "{failed:?}"
        );
        w.store.close().await;
    }
}

/// S12: an alert the receiver did not take is kept and posted again. One raised by the CLI
/// while the webhook is down reaches it through the server's retry loop, one raised inside
/// the server while the webhook answers 503 reaches it on the next tick; each attempt is an
/// audit row and every alert is posted successfully exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_alerts_are_retried_until_the_webhook_takes_them() {
    assert_eq!(
        daiko_server::alerts::retry_after(1),
        std::time::Duration::ZERO
    );
    assert_eq!(daiko_server::alerts::retry_after(2).as_secs(), 30);
    assert_eq!(daiko_server::alerts::retry_after(3).as_secs(), 60);
    assert_eq!(daiko_server::alerts::retry_after(50).as_secs(), 15 * 60);
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        // A receiver that answers the planned statuses in turn, then 204.
        let plan = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from([
            503u16,
        ])));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u16, serde_json::Value)>();
        let answer = plan.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (tx, answer) = (tx.clone(), answer.clone());
                async move {
                    let code = answer.lock().expect("plan").pop_front().unwrap_or(204);
                    let v: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    let _ = tx.send((code, v));
                    axum::http::StatusCode::from_u16(code).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let url = daiko_server::alerts::parse_webhook("test", &format!("http://{addr}/hook"))
            .expect("url");
        let next =
            async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<(u16, serde_json::Value)>| {
                tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
                    .await
                    .expect("the webhook was posted to in time")
                    .expect("channel open")
            };

        // The CLI declares while the receiver is down: refused, kept.
        let who = daiko_store::audit::AuditEntry {
            actor: "shift-lead".into(),
            role: "cli".into(),
            source: "cli".into(),
            ..Default::default()
        };
        let sent = daiko_server::caller::declare_emergency(&w.store, Some(&url), "power cut", &who)
            .await
            .expect("declare");
        assert!(!sent, "{db}");
        let (code, body) = next(&mut rx).await;
        assert_eq!(
            (code, body["event"].as_str()),
            (503, Some("emergency.declare"))
        );
        let pending = w.store.undelivered_alerts().await.expect("outbox");
        assert_eq!(pending.len(), 1, "{db}");
        assert_eq!(pending[0].attempts, 1);
        assert!(pending[0].last_error.contains("503"), "{pending:?}");

        // The receiver is back (its plan is empty); the server starts and its retry loop posts the kept alert.
        let mut cfg = common::config(&dir.path().join(db), 1 << 20);
        cfg.alert_webhook = Some(url.clone());
        cfg.alert_retry = std::time::Duration::from_millis(200);
        cfg.workers = 0;
        let (base, stop, task) = common::serve(&w.store, cfg).await;
        let (code, body) = next(&mut rx).await;
        assert_eq!(
            (code, body["event"].as_str()),
            (204, Some("emergency.declare"))
        );
        assert_eq!(
            body["detail"], "power cut",
            "the body posted is the one kept"
        );

        // Inside the server: the first post of a use alert meets a 503, the next tick
        // delivers it.
        plan.lock().expect("plan").push_back(503);
        let use_status = reqwest::Client::new()
            .get(format!("{base}/api/v1/submissions"))
            .bearer_auth(w.token("emergency"))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(use_status, 200, "{db}");
        let (code, body) = next(&mut rx).await;
        assert_eq!((code, body["event"].as_str()), (503, Some("emergency.use")));
        let (code, body) = next(&mut rx).await;
        assert_eq!((code, body["event"].as_str()), (204, Some("emergency.use")));

        // Delivered alerts leave the outbox and are not posted again.
        let mut left = Vec::new();
        for _ in 0..100 {
            left = w.store.undelivered_alerts().await.expect("outbox");
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(left.is_empty(), "{db}: {left:?}");
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(800), rx.recv())
                .await
                .is_err(),
            "{db}: a delivered alert was posted again"
        );
        let sent_rows = rows_when(&w.store, "alert.sent", 2).await;
        assert_eq!(sent_rows.len(), 2, "{db}: {sent_rows:?}");
        assert!(
            sent_rows
                .iter()
                .all(|r| r.starts_with("system | ") && r.contains("attempt=2")),
            "{sent_rows:?}"
        );
        let failed = rows(&w.store, "alert.failed").await;
        assert_eq!(failed.len(), 2, "{db}: {failed:?}");
        assert!(
            failed
                .iter()
                .all(|r| r.contains("severity=high") && r.contains("attempt=1")),
            "{failed:?}"
        );
        stop.send(true).expect("stop");
        task.await.expect("serve ended");
        w.store.close().await;
    }
}

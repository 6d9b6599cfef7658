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

//! Session timeouts (S6): an idle session, or one past its absolute lifetime, answers 401
//! on the API and sends the portal back to the login page; an active one works.

mod common;

use daiko_server::auth::{hash_token, new_session_id};
use daiko_store::users::Session;

async fn session_aged(
    store: &daiko_store::Store,
    login: &str,
    created_min: i64,
    seen_min: i64,
) -> String {
    let user = store
        .user_by_login(login)
        .await
        .expect("query")
        .expect("user");
    let sid = new_session_id().expect("id").plain;
    let ago = |m: i64| {
        daiko_store::format_ts(
            jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_mins(m))
                .expect("time"),
        )
    };
    store
        .add_session(&Session {
            id_hash: hash_token(&sid),
            user_id: user.id,
            stage: "full".into(),
            csrf: "c".into(),
            lang: "ja".into(),
            created_at: ago(created_min),
            last_seen_at: ago(seen_min),
            ended_at: None,
        })
        .await
        .expect("session");
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_timeouts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let cfg = common::config(dir.path(), 1 << 20);
    let (idle, absolute) = (cfg.session_idle_minutes, cfg.session_absolute_hours * 60);
    let srv = common::start(&w.store, cfg).await;
    let login = w.logins["inst_a"].clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let call = async |sid: &str, path: &str| {
        client
            .get(format!("{}{path}", srv.base))
            .header("cookie", format!("daiko_session={sid}"))
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    };
    let active = session_aged(&w.store, &login, 5, 1).await;
    assert_eq!(call(&active, "/api/v1/submissions").await, 200);
    let idle_sid = session_aged(&w.store, &login, idle + 5, idle + 1).await;
    assert_eq!(
        call(&idle_sid, "/api/v1/submissions").await,
        401,
        "idle past {idle} min"
    );
    assert_eq!(
        call(&idle_sid, "/").await,
        303,
        "portal sends an idle session to the login page"
    );
    let old = session_aged(&w.store, &login, absolute + 1, 1).await;
    assert_eq!(
        call(&old, "/api/v1/submissions").await,
        401,
        "past the absolute lifetime"
    );
    // A timed-out session stays dead even if touched again.
    assert_eq!(call(&idle_sid, "/api/v1/submissions").await, 401);
}

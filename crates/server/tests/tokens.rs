//! S2 for API tokens: a person's token is issued only with a valid, unused TOTP code of the
//! account (the second factor proven at issue); a wrong, missing or replayed code is refused
//! and audited; machine tokens go only to insurer/institution system accounts without a TOTP
//! device and are marked `kind=machine`. On SQLite and PostgreSQL.

mod common;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/jar.rs"]
mod jar;

use daiko_server::auth::hash_token;
use daiko_server::tokens::{TokenError, TokenKind, issue, kind_for};
use daiko_store::audit::{AuditEntry, AuditQuery};
use daiko_store::users::User;
use harness::{now_unix, totp_at, totp_now};

/// A code that is not valid at any step of the ±1 window around now.
fn wrong_code(secret: &str) -> String {
    let now = now_unix();
    let window: Vec<String> = (0..4).map(|k| totp_at(secret, now - 30 + k * 30)).collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !window.contains(c))
        .expect("a wrong code")
}

async fn user(w: &common::World, who: &str) -> User {
    w.store
        .user_by_login(&w.logins[who])
        .await
        .expect("query")
        .expect("user")
}

async fn with_totp(w: &common::World, who: &str) -> (User, String) {
    let u = user(w, who).await;
    let secret = daiko_server::auth::new_totp_secret().expect("secret");
    w.store.set_totp_secret(&u.id, &secret).await.expect("totp");
    (user(w, who).await, secret)
}

async fn audit(w: &common::World, action: &str) -> Vec<String> {
    w.store
        .audit_search(&AuditQuery {
            action_prefix: Some(action.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.entry.action == action)
        .map(|r| format!("{} {}", r.entry.records, r.entry.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_tokens_need_the_second_factor() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let who = AuditEntry {
            actor: "issuer".into(),
            role: "cli".into(),
            source: "cli".into(),
            ..Default::default()
        };
        let (op, secret) = with_totp(&w, "operator").await;

        // No code, a wrong code: refused, audited, no token.
        assert!(matches!(
            issue(&w.store, &op, TokenKind::Person, None, &who).await,
            Err(TokenError::CodeMissing)
        ));
        let wrong = wrong_code(&secret);
        assert!(matches!(
            issue(&w.store, &op, TokenKind::Person, Some(&wrong), &who).await,
            Err(TokenError::WrongCode)
        ));
        // The right code: a working token, audited as a person's.
        let code = totp_now(&secret);
        let t = issue(&w.store, &op, TokenKind::Person, Some(&code), &who)
            .await
            .expect("token with the second factor");
        let holder = w
            .store
            .user_by_token(&hash_token(&t.plain))
            .await
            .expect("query")
            .expect("the token works");
        assert_eq!(holder.id, op.id);
        // The same code again (also after a reload of the account): a replay.
        let op = user(&w, "operator").await;
        assert!(matches!(
            issue(&w.store, &op, TokenKind::Person, Some(&code), &who).await,
            Err(TokenError::Replayed)
        ));
        let created = audit(&w, "token.create").await;
        assert_eq!(created.len(), 1, "{db}: {created:?}");
        assert!(created[0].contains("kind=person"), "{created:?}");
        let refused = audit(&w, "token.refused").await;
        assert_eq!(refused.len(), 3, "{db}: {refused:?}");
        assert!(
            refused.iter().all(|r| !r.contains(&code)),
            "code not logged"
        );

        // An agency person without a device: refused until enrolled; never a machine token.
        let admin = user(&w, "admin").await;
        assert_eq!(kind_for(&admin, false, false), TokenKind::Person);
        assert!(matches!(
            issue(&w.store, &admin, TokenKind::Person, Some("123456"), &who).await,
            Err(TokenError::NoTotp)
        ));
        assert!(matches!(
            issue(&w.store, &admin, TokenKind::Machine, None, &who).await,
            Err(TokenError::MachineRole(_))
        ));
        // Maintenance and emergency accounts: no tokens at all.
        for r in ["maintenance", "emergency"] {
            let (u, s) = with_totp(&w, r).await;
            let code = totp_now(&s);
            assert!(matches!(
                issue(&w.store, &u, TokenKind::Person, Some(&code), &who).await,
                Err(TokenError::RoleWithoutTokens(_))
            ));
        }

        // An institution's system account (no device): a machine token, marked as such.
        let inst = user(&w, "inst_b").await;
        assert_eq!(kind_for(&inst, false, false), TokenKind::Machine);
        let m = issue(&w.store, &inst, TokenKind::Machine, None, &who)
            .await
            .expect("machine token");
        assert!(
            w.store
                .user_by_token(&hash_token(&m.plain))
                .await
                .expect("query")
                .is_some()
        );
        let created = audit(&w, "token.create").await;
        assert!(
            created
                .iter()
                .any(|r| r.contains(&inst.login) && r.contains("kind=machine")),
            "{created:?}"
        );
        // An insurer person (device enrolled): a person's token; no machine token.
        let (ins, s) = with_totp(&w, "insurer_b").await;
        assert_eq!(kind_for(&ins, false, false), TokenKind::Person);
        assert!(matches!(
            issue(&w.store, &ins, TokenKind::Machine, None, &who).await,
            Err(TokenError::MachineHasTotp)
        ));
        assert!(matches!(
            issue(&w.store, &ins, TokenKind::Person, None, &who).await,
            Err(TokenError::CodeMissing)
        ));
        issue(&w.store, &ins, TokenKind::Person, Some(&totp_now(&s)), &who)
            .await
            .expect("insurer person's token");
        w.store.close().await;
    }
}

/// A system account that a person starts to sign in with stops being one: enrolling a TOTP
/// device revokes its machine tokens.
#[tokio::test]
async fn enrolling_a_device_revokes_machine_tokens() {
    let s = harness::start(false).await;
    let inst = s
        .store
        .add_org(
            daiko_store::orgs::OrgKind::Institution,
            "1310000009",
            "トークン健診センター",
            &[],
        )
        .await
        .expect("org");
    let p = s
        .person("kikai", "institution", Some(&inst), false, true)
        .await;
    assert_eq!(kind_for(&p.user, false, false), TokenKind::Machine);
    let who = AuditEntry {
        actor: "issuer".into(),
        ..Default::default()
    };
    let t = issue(&s.store, &p.user, TokenKind::Machine, None, &who)
        .await
        .expect("machine token");
    let works = |plain: String| {
        let store = s.store.clone();
        async move {
            store
                .user_by_token(&hash_token(&plain))
                .await
                .expect("query")
                .is_some()
        }
    };
    assert!(works(t.plain.clone()).await);

    let mut b = jar::Browser::new(&s);
    let r = b.password("kikai", &p.password).await;
    assert_eq!(r.location.as_deref(), Some("/login/enrol"));
    let page = b.get("/login/enrol").await.body;
    let i = page.find("name=\"secret\" value=\"").expect("secret field") + 21;
    let secret = page[i..].split('"').next().expect("secret").to_string();
    let csrf = jar::csrf_of(&page).expect("csrf");
    let r = b
        .post(
            "/login/enrol",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &totp_now(&secret)),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
    assert!(
        !works(t.plain).await,
        "the machine token outlived the enrolment"
    );
    let u = s.store.user(&p.user.id).await.expect("q").expect("user");
    assert_eq!(kind_for(&u, false, false), TokenKind::Person);
}

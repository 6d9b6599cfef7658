//! The portal over real HTTP: two factors (S2), replay, lockout (S5), first-login password
//! change, CSRF, tenancy (404), audit rows. A tiny cookie jar stands in for the browser.

#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/jar.rs"]
mod jar;

use std::collections::HashMap;

use daiko_store::audit::AuditQuery;
use daiko_store::orgs::OrgKind;
use harness::{Server, start, totp_at, totp_now};
use jar::{Browser, csrf_of};
use reqwest::StatusCode;

/// A code that is not valid at any step of the ±1 window around now.
fn wrong_code(secret: &str) -> String {
    let now = harness::now_unix();
    let window: Vec<String> = (0..3).map(|k| totp_at(secret, now - 30 + k * 30)).collect();
    (0..1_000_000u32)
        .map(|n| {
            format!(
                "{:06}",
                (window[1].parse::<u32>().unwrap() + 1 + n) % 1_000_000
            )
        })
        .find(|c| !window.contains(c))
        .unwrap()
}

async fn audit_count(s: &Server, prefix: &str) -> usize {
    s.store
        .audit_search(&AuditQuery {
            action_prefix: Some(prefix.into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn password_alone_never_gives_a_session_and_codes_are_single_use() {
    let s = start(false).await;
    let inst = s
        .store
        .add_org(
            OrgKind::Institution,
            "1310000001",
            "テスト健診センター",
            &[],
        )
        .await
        .unwrap();
    let p = s
        .person("kenshin", "institution", Some(&inst), false, false)
        .await;

    let mut b = Browser::new(&s);
    assert!(!b.signed_in().await, "no cookie, no access");
    let r = b.password("kenshin", &p.password).await;
    assert_eq!(r.location.as_deref(), Some("/login/totp"));
    assert!(b.cookies.contains_key("daiko_session"));
    assert!(
        !b.signed_in().await,
        "password alone must not open the portal (S2)"
    );
    assert_eq!(
        b.get("/submissions").await.location.as_deref(),
        Some("/login")
    );

    // wrong code: still outside
    let r = b.code(&wrong_code(&p.totp)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("確認コードが正しくない"), "{}", r.body);
    assert!(!b.signed_in().await);

    // right code: inside, with a new session id
    let before = b.cookies["daiko_session"].clone();
    let code = totp_now(&p.totp);
    let r = b.code(&code).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/"));
    assert_ne!(
        b.cookies["daiko_session"], before,
        "session id rotated at the stage change"
    );
    assert!(b.signed_in().await);
    let home = b.get("/").await.body;
    assert!(
        home.contains("kenshin") && home.contains("ホーム"),
        "{home}"
    );
    // the old (password-stage) id is dead
    let mut old = Browser::new(&s);
    old.cookies.insert("daiko_session".into(), before);
    assert!(!old.signed_in().await);

    // the same code again, in another browser: refused as a replay
    let mut b2 = Browser::new(&s);
    let r = b2.login(&p, &code).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "replayed code accepted");
    assert!(!b2.signed_in().await);

    assert!(audit_count(&s, "auth.login").await >= 1);
    let logins = s
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("auth.login".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(logins[0].entry.source, "127.0.0.1");
    let failures = s
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("auth.failure".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        failures.iter().any(|r| r.entry.detail.contains("replayed")),
        "replay audited apart"
    );

    // logout ends the session and is audited with its duration
    let csrf = b.csrf("/").await;
    let r = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.location.as_deref(), Some("/login"));
    assert!(!b.signed_in().await);
    let out = s
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("auth.logout".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        out[0].entry.detail.starts_with("session "),
        "{}",
        out[0].entry.detail
    );
}

#[tokio::test]
async fn five_failures_lock_even_the_right_password() {
    let s = start(false).await;
    let ins = s
        .store
        .add_org(
            OrgKind::Insurer,
            "06130012",
            "テスト健保",
            &["check", "route"],
        )
        .await
        .unwrap();
    let p = s.person("hoken", "insurer", Some(&ins), false, false).await;
    let mut b = Browser::new(&s);
    for i in 0..5 {
        let r = b.password("hoken", &format!("wrong-{i}")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("ログインできませんでした"));
    }
    // an unknown login gets the very same message
    let unknown = b.password("nobody-here", "whatever").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.body.contains("ログインできませんでした"));

    let r = b.password("hoken", &p.password).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "locked account let the right password through"
    );
    assert!(b.get("/login/totp").await.location.as_deref() == Some("/login"));
    let r = b
        .post("/login/totp", &[("code", &totp_now(&p.totp)), ("csrf", "")])
        .await;
    assert_eq!(r.location.as_deref(), Some("/login"));
    assert!(!b.signed_in().await);
    assert_eq!(audit_count(&s, "auth.lockout").await, 1);
    assert!(audit_count(&s, "auth.failure").await >= 6);
    let u = s.store.user(&p.user.id).await.unwrap().unwrap();
    assert!(u.failed_logins >= 5 && u.locked_until.is_some());
}

#[tokio::test]
async fn wrong_codes_count_towards_the_lockout() {
    let s = start(false).await;
    let p = s.person("unyo", "operator", None, false, false).await;
    let mut b = Browser::new(&s);
    let r = b.password("unyo", &p.password).await;
    assert_eq!(r.location.as_deref(), Some("/login/totp"));
    // the language can be switched before the second factor, without losing the step
    let csrf = b.csrf("/login/totp").await;
    let r = b
        .post(
            "/lang",
            &[("csrf", &csrf), ("lang", "en"), ("back", "/login/totp")],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/login/totp"));
    assert!(
        b.get("/login/totp")
            .await
            .body
            .contains("Verification code")
    );
    let bad = wrong_code(&p.totp);
    for _ in 0..4 {
        assert_eq!(b.code(&bad).await.status, StatusCode::UNAUTHORIZED);
    }
    let csrf = b.csrf("/login/totp").await;
    let r = b
        .post("/login/totp", &[("code", &bad), ("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(audit_count(&s, "auth.lockout").await, 1);
    // the half session ended with the lock
    assert_eq!(
        b.get("/login/totp").await.location.as_deref(),
        Some("/login")
    );
}

#[tokio::test]
async fn first_login_forces_a_policy_checked_password_change() {
    let s = start(false).await;
    let p = s.person("shinki", "auditor", None, true, false).await;
    let mut b = Browser::new(&s);
    let r = b.login(&p, &totp_now(&p.totp)).await;
    assert_eq!(r.location.as_deref(), Some("/password"), "{}", r.body);
    assert!(!b.signed_in().await, "no portal before the password change");
    assert_eq!(b.get("/audit").await.location.as_deref(), Some("/login"));

    let csrf = b.csrf("/password").await;
    let r = b
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", &p.password),
                ("new", "password1"),
                ("confirm", "password1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.contains("よく使われる"),
        "policy message in Japanese: {}",
        r.body
    );
    let r = b
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", &p.password),
                ("new", "shinki-abc-2025"),
                ("confirm", "shinki-abc-2025"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("ログインID"), "{}", r.body);

    let new = "桜並木の下で健診受付";
    let r = b
        .post(
            "/password",
            &[
                ("csrf", &csrf),
                ("current", &p.password),
                ("new", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/"), "{}", r.body);
    assert!(b.signed_in().await);
    assert!(b.get("/audit").await.body.contains("監査ログ"));
    let u = s.store.user(&p.user.id).await.unwrap().unwrap();
    assert!(!u.must_change_password);
    assert!(daiko_server::auth::verify_password(new, &u.password_hash).unwrap());
}

#[tokio::test]
async fn enrolment_requires_one_valid_code() {
    let s = start(false).await;
    let p = s.person("kanri", "admin", None, false, true).await;
    let mut b = Browser::new(&s);
    let r = b.password("kanri", &p.password).await;
    assert_eq!(r.location.as_deref(), Some("/login/enrol"));
    let page = b.get("/login/enrol").await.body;
    assert!(page.contains("otpauth://totp/daiko:kanri"), "{page}");
    let i = page.find("name=\"secret\" value=\"").unwrap() + 21;
    let secret = page[i..].split('"').next().unwrap().to_string();
    let csrf = csrf_of(&page).unwrap();
    let r = b
        .post(
            "/login/enrol",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &wrong_code(&secret)),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!b.signed_in().await);
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
    assert!(b.signed_in().await);
    assert_eq!(
        s.store.user(&p.user.id).await.unwrap().unwrap().totp_secret,
        secret
    );

    // the admin pages work and show a new user's initial secrets once; an agency role is a
    // four-eyes request (S10) and no account until another administrator approves
    let csrf = b.csrf("/admin/users").await;
    let r = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("login", "atarashii"),
                ("display_name", "新 利用者"),
                ("role", "operator"),
                ("org", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("data-testid=\"pending-approval\""),
        "{}",
        r.body
    );
    assert!(!r.body.contains("initial-password"));
    assert!(s.store.user_by_login("atarashii").await.unwrap().is_none());
    let clinic = s
        .store
        .add_org(OrgKind::Institution, "1399999990", "テスト機関", &[])
        .await
        .unwrap();
    let csrf = b.csrf("/admin/users").await;
    let r = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("login", "atarashii"),
                ("display_name", "新 利用者"),
                ("role", "institution"),
                ("org", &clinic.id),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("data-testid=\"initial-password\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("otpauth://totp/daiko:atarashii"));
    let added = s.store.user_by_login("atarashii").await.unwrap().unwrap();
    assert!(added.must_change_password && !added.totp_secret.is_empty());
    assert!(
        !b.get("/admin/users")
            .await
            .body
            .contains("initial-password")
    );
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused() {
    let s = start(false).await;
    let p = s.person("kanrisha", "admin", None, false, false).await;
    let mut b = Browser::new(&s);
    assert_eq!(
        b.login(&p, &totp_now(&p.totp)).await.location.as_deref(),
        Some("/")
    );

    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.post("/logout", &[("csrf", "forged")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        b.signed_in().await,
        "a forged logout must not end the session"
    );

    let r = b
        .post(
            "/admin/orgs",
            &[("kind", "insurer"), ("number", "06130099"), ("name", "X")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(s.store.org_by_number("06130099").await.unwrap().is_none());

    // administrators do not upload archives (no personal data for them, S8): the
    // upload endpoint is not there for them at all
    let r = b
        .client
        .post(format!("{}/upload?name=a.zip", s.base))
        .header("cookie", b.cookie_header())
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // an institution's upload without the X-CSRF-Token header is refused
    let inst = s
        .store
        .add_org(OrgKind::Institution, "1310000009", "CSRF健診", &[])
        .await
        .unwrap();
    let pi = s
        .person("csrf-inst", "institution", Some(&inst), false, false)
        .await;
    let mut bi = Browser::new(&s);
    bi.login(&pi, &totp_now(&pi.totp)).await;
    assert!(bi.signed_in().await);
    let r = bi
        .client
        .post(format!("{}/upload?name=a.zip", s.base))
        .header("cookie", bi.cookie_header())
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // with the token it works
    let csrf = b.csrf("/admin/orgs").await;
    let r = b
        .post(
            "/admin/orgs",
            &[
                ("csrf", &csrf),
                ("kind", "insurer"),
                ("number", "06130099"),
                ("name", "テスト組合"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(s.store.org_by_number("06130099").await.unwrap().is_some());

    // the login form has its own token
    let mut anon = Browser::new(&s);
    let r = anon
        .post(
            "/login",
            &[("login", "kanrisha"), ("password", &p.password)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!anon.cookies.contains_key("daiko_session"));
}

#[tokio::test]
async fn another_tenants_submission_is_not_found() {
    let s = start(false).await;
    let a = s
        .store
        .add_org(OrgKind::Institution, "1310000001", "A健診センター", &[])
        .await
        .unwrap();
    let bo = s
        .store
        .add_org(
            OrgKind::Institution,
            "1310000002",
            "B健診<script>alert(1)</script>",
            &[],
        )
        .await
        .unwrap();
    let pa = s
        .person("inst-a", "institution", Some(&a), false, false)
        .await;
    let pb = s
        .person("inst-b", "institution", Some(&bo), false, false)
        .await;
    let received = daiko_pipeline::intake::receive_bytes(
        &s.store,
        &daiko_pipeline::intake::Upload {
            org: &bo,
            uploaded_by: Some("inst-b"),
            role: "institution",
            channel: "api",
            archive_name: "b.zip",
            source: "test",
        },
        b"PK not really a zip",
        1 << 20,
    )
    .await
    .unwrap();
    let path = format!("/submissions/{}", received.id);

    let mut ba = Browser::new(&s);
    assert_eq!(
        ba.login(&pa, &totp_now(&pa.totp)).await.location.as_deref(),
        Some("/")
    );
    let r = ba.get(&path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains(&received.receipt_no));
    assert!(
        !ba.get("/submissions")
            .await
            .body
            .contains(&received.receipt_no)
    );
    assert_eq!(
        ba.get("/submissions/no-such-id").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ba.get("/admin/users").await.status,
        StatusCode::NOT_FOUND,
        "role without business: 404"
    );

    let mut bb = Browser::new(&s);
    assert_eq!(
        bb.login(&pb, &totp_now(&pb.totp)).await.location.as_deref(),
        Some("/")
    );
    let r = bb.get(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&received.receipt_no) && r.body.contains("受付結果"));
    assert!(
        !r.body.contains("<script>alert") && r.body.contains("B健診&lt;script&gt;"),
        "escaped"
    );
    assert!(
        audit_count(&s, "submission.read").await == 1,
        "reads are audited"
    );

    // language switch to English
    let csrf = csrf_of(&r.body).unwrap();
    let r = bb
        .post("/lang", &[("csrf", &csrf), ("lang", "en"), ("back", &path)])
        .await;
    assert_eq!(r.location.as_deref(), Some(path.as_str()));
    let r = bb.get(&path).await;
    assert!(
        r.body.contains("Check result") && r.body.contains("Receipt no."),
        "{}",
        r.body
    );
}

fn multipart(boundary: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n",
            file.0
        )
        .as_bytes(),
    );
    body.extend_from_slice(file.1);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn insurer_registers_reference_data_and_sees_errors_with_line_and_column() {
    let s = start(false).await;
    let number = daiko_sample::SampleConfig::default().insurers[0].clone();
    let sample = daiko_sample::generate(&daiko_sample::SampleConfig {
        insurers: vec![number.clone()],
        ..daiko_sample::SampleConfig::default()
    })
    .unwrap()
    .remove(0);
    let files: HashMap<&str, String> = daiko_sample::reference::reference_files(
        &sample.reference.institution,
        sample.reference.fiscal_year,
        &sample.reference.contracts,
        &[&sample.reference],
    )
    .into_iter()
    .collect();
    let ins = s
        .store
        .add_org(OrgKind::Insurer, &number, "テスト健保", &["check", "route"])
        .await
        .unwrap();
    let p = s.person("kijun", "insurer", Some(&ins), false, false).await;
    let mut b = Browser::new(&s);
    assert_eq!(
        b.login(&p, &totp_now(&p.totp)).await.location.as_deref(),
        Some("/")
    );
    let csrf = b.csrf("/reference").await;
    let send = |b: &Browser, kind: &str, csv: &[u8], csrf: &str| {
        let body = multipart(
            "XyZb0undary",
            &[("csrf", csrf), ("kind", kind)],
            ("vouchers.csv", csv),
        );
        b.client
            .post(format!("{}/reference", b.base))
            .header("cookie", b.cookie_header())
            .header("content-type", "multipart/form-data; boundary=XyZb0undary")
            .body(body)
    };
    let good = files["vouchers.csv"].as_bytes();
    let rows = good.iter().filter(|c| **c == b'\n').count() - 1;
    let page = send(&b, "vouchers", good, &csrf)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("vouchers.csv): {rows} 件")),
        "{page}"
    );
    assert!(
        s.store
            .loaded_kinds(&number)
            .await
            .unwrap()
            .vouchers
            .is_some()
    );

    // a broken second data line: the error names line 3 and a column
    let mut lines: Vec<String> = files["vouchers.csv"].lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(&number, "12", 1);
    let bad = lines.join("\n");
    let page = send(&b, "vouchers", bad.as_bytes(), &csrf)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("登録できませんでした") && page.contains("line 3"),
        "{page}"
    );

    // without the token: refused
    let r = send(&b, "vouchers", good, "nope").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

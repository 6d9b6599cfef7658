//! Governance over real HTTP (issue 6), on SQLite and PostgreSQL: the auditors' review
//! (S16), the password-reset ledger and one-time code (S7), four-eyes approvals (S10),
//! maintenance tickets and windows (S11) and the clock-offset check against a real SNTP
//! peer started by the test (S15).

mod common;

use std::collections::HashMap;

use daiko_store::audit::{AuditEntry, AuditQuery};
use daiko_store::users::NewUser;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Answer {
    status: StatusCode,
    body: String,
    location: Option<String>,
    cookies: Vec<(String, String)>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn finish(r: reqwest::Response) -> Answer {
    let cookies = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let status = r.status();
    let location = r
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Answer {
        status,
        location,
        cookies,
        body: r.text().await.expect("body"),
    }
}

/// A request with a bearer token (or a cookie header when `token` starts with `cookie:`).
async fn call(
    srv: &common::Server,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let url = format!("{}{path}", srv.base);
    let mut rb = match method {
        "GET" => client().get(url),
        _ => client().post(url),
    };
    rb = match token.strip_prefix("cookie:") {
        Some(c) => rb.header("cookie", c),
        None => rb.bearer_auth(token),
    };
    if let Some(b) = body {
        rb = rb
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    finish(rb.send().await.expect("request")).await
}

fn encode(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// GETs a login-style page (double-submit CSRF cookie), then posts the form with it.
async fn post_login_form(srv: &common::Server, page: &str, form: &[(&str, &str)]) -> Answer {
    let get = finish(
        client()
            .get(format!("{}{page}", srv.base))
            .send()
            .await
            .expect("get"),
    )
    .await;
    let csrf = get
        .cookies
        .iter()
        .find(|(k, _)| k == "daiko_login_csrf")
        .map(|(_, v)| v.clone())
        .expect("login csrf cookie");
    let mut all: Vec<(&str, &str)> = form.to_vec();
    all.push(("csrf", &csrf));
    finish(
        client()
            .post(format!("{}{page}", srv.base))
            .header("cookie", format!("daiko_login_csrf={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&all))
            .send()
            .await
            .expect("post"),
    )
    .await
}

async fn actions(store: &daiko_store::Store, prefix: &str) -> Vec<daiko_store::audit::AuditRow> {
    store
        .audit_search(&AuditQuery {
            action_prefix: Some(prefix.into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("audit")
}

/// A second administrator (four eyes need two), with a token.
async fn second_admin(w: &common::World) -> String {
    let u = w
        .store
        .add_user(&NewUser {
            login: "admin2-user",
            display_name: "admin2",
            role: "admin",
            org_id: Some(&w.agency.id),
            password_hash: "unused-in-api-tests",
            must_change_password: false,
            totp_secret: "",
        })
        .await
        .expect("admin2");
    let t = daiko_server::auth::new_api_token().expect("token");
    w.store.add_token(&u.id, &t.hash).await.expect("token");
    t.plain
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn governance_on_both_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = common::seed(db, store).await;
        let data = dir.path().join(db);
        let admin2 = second_admin(&w).await;
        four_eyes(&w, &data, &admin2).await;
        password_reset(&w, &data).await;
        maintenance(&w, &data, &admin2).await;
        review(&w, &data).await;
    }
}

/// S10: the action stays pending until a second, different administrator approves; both
/// appear in the audit record; a rejected request never runs.
async fn four_eyes(w: &common::World, data: &std::path::Path, admin2: &str) {
    let srv = common::start(&w.store, common::config(data, 1 << 20)).await;
    let admin1 = w.token("admin");
    let r = call(
        &srv,
        "POST",
        "/api/v1/users",
        admin1,
        Some(json!({"login": "new-operator", "role": "operator"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.json()["approval"]["id"].as_str().expect("id").to_string();
    assert!(
        w.store
            .user_by_login("new-operator")
            .await
            .expect("q")
            .is_none(),
        "pending: no account yet"
    );
    // The requester cannot approve.
    let own = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id}/approve"),
        admin1,
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(
        own.json()["message_ja"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        w.store
            .user_by_login("new-operator")
            .await
            .expect("q")
            .is_none()
    );
    assert_eq!(actions(&w.store, "approval.refused").await.len(), 1);
    // Nor may an operator or auditor.
    for who in ["operator", "auditor"] {
        let r = call(
            &srv,
            "POST",
            &format!("/api/v1/approvals/{id}/approve"),
            w.token(who),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}");
    }
    let list = call(
        &srv,
        "GET",
        "/api/v1/approvals?status=pending",
        admin2,
        None,
    )
    .await;
    assert_eq!(list.json()["approvals"].as_array().map(Vec::len), Some(1));
    // The second administrator approves: the account exists, with its initial credentials
    // in the answer.
    let ok = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id}/approve"),
        admin2,
        Some(json!({"reason": "new hire"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let v = ok.json();
    assert_eq!(v["approval"]["status"], "executed");
    assert!(
        v["outcome"]["initial_password"]
            .as_str()
            .is_some_and(|p| p.len() >= 16)
    );
    let u = w
        .store
        .user_by_login("new-operator")
        .await
        .expect("q")
        .expect("created");
    assert_eq!(u.role, "operator");
    assert!(u.must_change_password);
    let stored = w.store.approval(&id).await.expect("q").expect("approval");
    assert!(
        !stored
            .result
            .contains(v["outcome"]["initial_password"].as_str().unwrap_or("-"))
    );
    // Both people in the audit record.
    let req = actions(&w.store, "approval.request").await;
    assert!(
        req.iter()
            .any(|r| r.entry.actor == "admin-user" && r.entry.detail.contains("kind=role_grant"))
    );
    let appr = actions(&w.store, "approval.approve").await;
    assert!(
        appr.iter().any(|r| r.entry.actor == "admin2-user"
            && r.entry.detail.contains("requested_by=admin-user"))
    );
    assert!(
        actions(&w.store, "role.grant")
            .await
            .iter()
            .any(|r| r.entry.target == "user:new-operator")
    );
    // Decided once.
    let again = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id}/approve"),
        admin2,
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A role change, rejected: nothing changes.
    let r = call(
        &srv,
        "POST",
        "/api/v1/users/new-operator/role",
        admin2,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id2 = r.json()["approval"]["id"].as_str().expect("id").to_string();
    let no = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id2}/reject"),
        admin1,
        Some(json!({"reason": "not needed"})),
    )
    .await;
    assert_eq!(no.status, StatusCode::OK, "{}", no.body);
    assert_eq!(no.json()["approval"]["status"], "rejected");
    assert_eq!(
        w.store
            .user_by_login("new-operator")
            .await
            .expect("q")
            .expect("u")
            .role,
        "operator"
    );
    let late = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id2}/approve"),
        admin1,
        None,
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT);

    // Bulk reprocessing runs only after approval.
    let failed = failed_check_job(w).await;
    let r = call(
        &srv,
        "POST",
        "/api/v1/approvals",
        admin1,
        Some(json!({"kind": "reprocess", "payload": {"job_kind": "check"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id3 = r.json()["approval"]["id"].as_str().expect("id").to_string();
    assert_eq!(
        w.store
            .job_state("check", &failed)
            .await
            .expect("q")
            .as_deref(),
        Some("failed")
    );
    let ok = call(
        &srv,
        "POST",
        &format!("/api/v1/approvals/{id3}/approve"),
        admin2,
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["outcome"]["requeued"], 1);
    assert_eq!(
        w.store
            .job_state("check", &failed)
            .await
            .expect("q")
            .as_deref(),
        Some("queued")
    );
    // Destruction (S26): the scope must be a retention scope `<org id>/<fiscal year>`
    // (crates/cli/tests/retention.rs and crates/store/tests/retention.rs run one).
    let r = call(
        &srv,
        "POST",
        "/api/v1/approvals",
        admin1,
        Some(json!({"kind": "destruction", "payload": {"scope": "FY2015 archives of 06139999"}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // Unknown kinds and tenant accounts through approvals are refused.
    let bad = call(
        &srv,
        "POST",
        "/api/v1/approvals",
        admin1,
        Some(json!({"kind": "coffee", "payload": {}})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// A `check` job that failed for good (a real failure: its submission does not exist).
async fn failed_check_job(w: &common::World) -> String {
    let subject = "no-such-submission";
    w.store.enqueue("check", subject).await.expect("enqueue");
    let job = w
        .store
        .claim_job("test", &["check"], std::time::Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("job");
    w.store
        .fail_job(&job, "submission not found", std::time::Duration::ZERO, 1)
        .await
        .expect("fail");
    subject.to_string()
}

/// S7: refused without the identity check; ledger and audit rows; the code reaches only the
/// user, works once, and the new credential is the user's own password plus a new TOTP.
async fn password_reset(w: &common::World, data: &std::path::Path) {
    let srv = common::start(&w.store, common::config(data, 1 << 20)).await;
    let admin = w.token("admin");
    let login = w.logins["inst_a"].clone();
    let user = w
        .store
        .user_by_login(&login)
        .await
        .expect("q")
        .expect("user");
    let r = call(
        &srv,
        "POST",
        &format!("/api/v1/users/{login}/reset"),
        admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.json()["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("本人確認"))
    );
    let r = call(
        &srv,
        "POST",
        &format!("/api/v1/users/{login}/reset"),
        admin,
        Some(json!({"verified_by": "drivers-licence"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "who checked is required");
    assert!(
        w.store
            .password_resets(Some(&user.id))
            .await
            .expect("q")
            .is_empty()
    );
    // Only administrators issue resets.
    let r = call(
        &srv,
        "POST",
        &format!("/api/v1/users/{login}/reset"),
        w.token("operator"),
        Some(json!({"verified_by": "passport", "checked_by": "op"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = call(&srv, "POST", &format!("/api/v1/users/{login}/reset"), admin, Some(json!({"verified_by": "my-number-card", "checked_by": "Sato (desk 2)", "note": "lost phone"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let code = r.json()["reset_code"].as_str().expect("code").to_string();
    let ledger = w.store.password_resets(Some(&user.id)).await.expect("q");
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (
            ledger[0].verified_by.as_str(),
            ledger[0].checked_by.as_str()
        ),
        ("my-number-card", "Sato (desk 2)")
    );
    assert_eq!(ledger[0].issued_by, "admin-user");
    assert!(ledger[0].used_at.is_none());
    let issued = actions(&w.store, "user.reset_issue").await;
    assert_eq!(issued.len(), 1);
    assert!(
        issued[0]
            .entry
            .detail
            .contains("verified_by=my-number-card")
            && !issued[0].entry.detail.contains(&code)
    );
    // Nothing stores the code in the clear.
    let dump = format!("{:?}{:?}", ledger, actions(&w.store, "").await);
    assert!(!dump.contains(&code), "the code is kept only as a hash");

    // A wrong code fails; the right one sets the user's own password, once.
    let new_pw = "Kakunin-Sumi-2026!";
    let wrong = post_login_form(
        &srv,
        "/login/reset",
        &[
            ("login", &login),
            ("code", "dk_wrong"),
            ("new", new_pw),
            ("confirm", new_pw),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = post_login_form(
        &srv,
        "/login/reset",
        &[
            ("login", &login),
            ("code", &code),
            ("new", new_pw),
            ("confirm", new_pw),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location.as_deref(), Some("/login"));
    let after = w
        .store
        .user_by_login(&login)
        .await
        .expect("q")
        .expect("user");
    assert!(daiko_server::auth::verify_password(new_pw, &after.password_hash).expect("hash"));
    assert!(
        after.totp_secret.is_empty(),
        "the second factor is enrolled again"
    );
    assert!(!after.must_change_password);
    let again = post_login_form(
        &srv,
        "/login/reset",
        &[
            ("login", &login),
            ("code", &code),
            ("new", "Another-Pass-2026!"),
            ("confirm", "Another-Pass-2026!"),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a code works once");
    assert!(
        w.store.password_resets(Some(&user.id)).await.expect("q")[0]
            .used_at
            .is_some()
    );
    assert_eq!(actions(&w.store, "user.reset_redeem").await.len(), 1);
    // The next sign-in goes to TOTP enrolment.
    let login_r = post_login_form(&srv, "/login", &[("login", &login), ("password", new_pw)]).await;
    assert_eq!(login_r.status, StatusCode::SEE_OTHER, "{}", login_r.body);
    assert_eq!(login_r.location.as_deref(), Some("/login/enrol"));
}

/// S11: no ticket, no entry; inside an approved window every request is logged and data
/// endpoints still refuse the role; the report lists the session's actions.
async fn maintenance(w: &common::World, data: &std::path::Path, admin2: &str) {
    let srv = common::start(&w.store, common::config(data, 1 << 20)).await;
    // A personal maintenance account of its own (the seeded one has a test ticket).
    let login = "engineer-sato".to_string();
    let password = "Hoshu-Sagyou-2026!";
    let hash = daiko_server::auth::hash_password(password).expect("hash");
    w.store
        .add_user(&NewUser {
            login: &login,
            display_name: "Sato (vendor)",
            role: "maintenance",
            org_id: Some(&w.agency.id),
            password_hash: &hash,
            must_change_password: false,
            totp_secret: "",
        })
        .await
        .expect("engineer");
    let (sid, _) = common::session(&w.store, &login).await;
    let cookie = format!("cookie:daiko_session={sid}");

    // Without a ticket: sign-in and an existing session are refused.
    let r = post_login_form(&srv, "/login", &[("login", &login), ("password", password)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(
        call(&srv, "GET", "/api/v1/submissions", &cookie, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert!(actions(&w.store, "maintenance.refused").await.len() >= 2);

    // A ticket for a window that has not opened yet: still refused.
    let now = jiff::Timestamp::now();
    let at = |mins: i64| {
        daiko_store::format_ts(
            now.checked_add(jiff::SignedDuration::from_mins(mins))
                .expect("time"),
        )
    };
    let file = async |ticket: &str, from: String, to: String| {
        let r = call(
            &srv,
            "POST",
            "/api/v1/maintenance/tickets",
            w.token("admin"),
            Some(json!({
                "ticket": ticket, "login": login, "from": from, "to": to,
                "description": "replace the failed disk of db-2"
            })),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        let id = r.json()["approval"]["id"].as_str().expect("id").to_string();
        assert!(
            w.store
                .maintenance_ticket(ticket)
                .await
                .expect("q")
                .is_none(),
            "pending until approved"
        );
        let ok = call(
            &srv,
            "POST",
            &format!("/api/v1/approvals/{id}/approve"),
            admin2,
            None,
        )
        .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        let t = w
            .store
            .maintenance_ticket(ticket)
            .await
            .expect("q")
            .expect("ticket");
        assert_eq!(
            (t.requested_by.as_str(), t.approved_by.as_str()),
            ("admin-user", "admin2-user")
        );
    };
    file("CHG-0001", at(60), at(120)).await;
    let r = post_login_form(&srv, "/login", &[("login", &login), ("password", password)]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "outside the window");

    // Inside the window: sign-in passes the first factor, requests are logged, and every
    // personal-data and export endpoint refuses the role.
    file("CHG-0002", at(-1), at(60)).await;
    let r = post_login_form(&srv, "/login", &[("login", &login), ("password", password)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for path in [
        "/api/v1/submissions",
        "/api/v1/deliveries",
        "/api/v1/audit",
        "/api/v1/audit/review?from=2026-01-01&to=2026-01-02",
        "/api/v1/users",
        "/api/v1/orgs",
        "/api/v1/deliveries/x/archive",
        "/api/v1/submissions/x/report",
    ] {
        let r = call(&srv, "GET", path, &cookie, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let logged = actions(&w.store, "maintenance.request").await;
    assert!(
        logged.len() >= 8,
        "every request is logged: {}",
        logged.len()
    );
    assert!(logged.iter().all(|r| r.entry.detail == "ticket=CHG-0002"));

    // The report lists the session's actions against the ticket.
    let rep = call(
        &srv,
        "GET",
        "/api/v1/maintenance/tickets/CHG-0002/report",
        w.token("auditor"),
        None,
    )
    .await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    let v = rep.json();
    assert_eq!(v["ticket"]["ticket"], "CHG-0002");
    let acts = v["actions"].as_array().expect("actions");
    assert!(
        acts.iter()
            .any(|a| a["action"] == "maintenance.login" && a["detail"] == "ticket=CHG-0002")
    );
    assert!(acts.iter().any(|a| a["target"] == "GET /api/v1/deliveries"));
    assert_eq!(v["outside_window"], 0);
    let r = call(
        &srv,
        "GET",
        "/api/v1/maintenance/tickets/CHG-0002/report",
        w.token("insurer_a"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A ticket for an account that is not a maintenance account is refused.
    let r = call(&srv, "POST", "/api/v1/maintenance/tickets", w.token("admin"), Some(json!({
        "ticket": "CHG-9", "login": w.logins["operator"], "from": at(0), "to": at(10), "description": "x"
    }))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// S16: the review lists each seeded kind of event; a clean period lists nothing.
async fn review(w: &common::World, data: &std::path::Path) {
    let mut cfg = common::config(data, 1 << 20);
    cfg.review.bulk_records = 20;
    cfg.review.bulk_downloads = 3;
    let srv = common::start(&w.store, cfg.clone()).await;
    let seed = |action: &str, actor: &str, records: &str, detail: &str| AuditEntry {
        actor: actor.into(),
        role: "institution".into(),
        org: w.inst_a.number.clone(),
        action: action.into(),
        target: "x".into(),
        records: records.into(),
        source: "192.0.2.7".into(),
        detail: detail.into(),
    };
    let many: Vec<String> = (0..25).map(|i| format!("rec{i}")).collect();
    for e in [
        seed("auth.login", "night-owl", "", "from 192.0.2.7"),
        seed("auth.failure", "guesser", "", "wrong password; failures=5"),
        seed("auth.lockout", "guesser", "", "locked until later"),
        seed("submission.read", "hoarder", &many.join(","), ""),
        seed("report.read", "small-reader", "rec1,rec2", ""),
    ] {
        w.store.audit(&e).await.expect("seed");
    }
    for _ in 0..4 {
        w.store
            .audit(&seed("delivery.download", "downloader", "d1", ""))
            .await
            .expect("seed");
    }
    // Break-glass through the real account (the seed declared an emergency).
    assert_eq!(
        call(
            &srv,
            "GET",
            "/api/v1/submissions",
            w.token("emergency"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let today = daiko_server::hours::jst_date(jiff::Timestamp::now()).to_string();
    let path = format!("/api/v1/audit/review?from={today}&to={today}");
    let cats = |v: &Value| -> HashMap<String, Vec<Value>> {
        let mut m: HashMap<String, Vec<Value>> = HashMap::new();
        for i in v["items"].as_array().expect("items") {
            m.entry(i["category"].as_str().unwrap_or("").to_string())
                .or_default()
                .push(i.clone());
        }
        m
    };
    let r = call(&srv, "GET", &path, w.token("auditor"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = cats(&r.json());
    for cat in [
        "failed_login",
        "lockout",
        "bulk_export",
        "break_glass",
        "maintenance",
        "role_grant",
    ] {
        assert!(
            c.contains_key(cat),
            "{cat} missing from the review: {}",
            r.body
        );
    }
    let bulk: Vec<&str> = c["bulk_export"]
        .iter()
        .filter_map(|i| i["actor"].as_str())
        .collect();
    assert!(
        bulk.contains(&"hoarder") && bulk.contains(&"downloader"),
        "{bulk:?}"
    );
    assert!(
        !bulk.contains(&"small-reader"),
        "a small read is no bulk export"
    );
    assert!(
        !c.contains_key("login_outside_hours"),
        "the test server is open around the clock"
    );
    let csv = call(
        &srv,
        "GET",
        &format!("{path}&format=csv"),
        w.token("admin"),
        None,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("category,label_ja,at,actor"));
    assert!(csv.body.contains("hoarder") && csv.body.contains("ログイン失敗"));
    for who in ["operator", "inst_a", "maintenance"] {
        assert_eq!(
            call(&srv, "GET", &path, w.token(who), None).await.status,
            StatusCode::NOT_FOUND,
            "{who}"
        );
    }
    // A clean period lists nothing.
    let clean = call(
        &srv,
        "GET",
        "/api/v1/audit/review?from=2020-01-01&to=2020-01-31",
        w.token("auditor"),
        None,
    )
    .await;
    assert_eq!(clean.status, StatusCode::OK);
    assert_eq!(clean.json()["items"], json!([]));
    let bad = call(
        &srv,
        "GET",
        "/api/v1/audit/review?from=yesterday&to=2020-01-31",
        w.token("auditor"),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!actions(&w.store, "audit.review").await.is_empty());

    // Logins outside service hours: the same day judged with hours that exclude now.
    let (since, until) = daiko_server::governance::review_period(&today, &today).expect("period");
    let rows = w
        .store
        .audit_period(&since, &until, None, None)
        .await
        .expect("rows");
    let night = daiko_server::hours::ServiceHours::parse(&hours_excluding_now()).expect("hours");
    let items = daiko_server::governance::review(&rows, &night, &cfg.review);
    let outside: Vec<&str> = items
        .iter()
        .filter(|i| i.category == "login_outside_hours")
        .map(|i| i.actor.as_str())
        .collect();
    assert!(outside.contains(&"night-owl"), "{outside:?}");
    assert!(outside.contains(&"engineer-sato"), "{outside:?}");
}

/// Service hours of one hour, two hours from now (JST): this moment is outside them.
fn hours_excluding_now() -> String {
    let m = daiko_server::hours::jst_minutes(jiff::Timestamp::now());
    let start = (m + 120) % 1440;
    let end = start + 60;
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        start / 60,
        start % 60,
        end / 60,
        end % 60
    )
}

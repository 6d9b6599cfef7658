//! Every portal route walked (S1, S8): the list below is proven equal to the router's
//! (`daiko_server::web::route_list`, from which `web::routes` is built, and every other
//! method on each path answers 405), then (a) without a session every route but the public
//! ones redirects to the login page or refuses, never 200; (b) each of the seven roles, signed
//! in through the real login (password, then a TOTP code), reaches exactly the pages of its
//! duty, every other page answering 404; (c) an insurer or institution sees only its own
//! submissions, deliveries and contracts. On SQLite and PostgreSQL.

mod common;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/jar.rs"]
mod jar;

use std::collections::BTreeSet;

use common::{Server, World, config, run_pipeline, seed, start};
use daiko_server::auth::PasswordHasher;
use harness::{Person, now_unix, totp_at, totp_now};
use jar::{Browser, Page};
use reqwest::StatusCode;

const MB: u64 = 1024 * 1024;

/// Who may use a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Reachable without a session (static files, the login and reset pages).
    Public,
    /// A step of signing in or out: never shows data, works on a half or full session.
    Login,
    /// Only the roles listed, with a full session; every other role gets 404.
    Roles(&'static [&'static str]),
}
use Access::{Login, Public, Roles};

const ALL: &[&str] = &[
    "operator",
    "admin",
    "auditor",
    "insurer",
    "institution",
    "maintenance",
    "emergency",
];
const STAFF_INS_INST: &[&str] = &["insurer", "institution", "operator", "emergency"];
const STAFF_INS: &[&str] = &["insurer", "operator", "emergency"];
const STAFF_INST: &[&str] = &["institution", "operator", "emergency"];

/// The expected matrix: every portal route and method, and who may use it.
const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/static/daiko.css", Public),
    ("GET", "/static/daiko.js", Public),
    ("GET", "/login", Public),
    ("POST", "/login", Public),
    ("GET", "/login/reset", Public),
    ("POST", "/login/reset", Public),
    ("GET", "/login/totp", Login),
    ("POST", "/login/totp", Login),
    ("GET", "/login/enrol", Login),
    ("POST", "/login/enrol", Login),
    ("GET", "/password", Login),
    ("POST", "/password", Login),
    ("POST", "/logout", Login),
    ("POST", "/lang", Login),
    // Home: every signed-in role; what it shows depends on the role (administrators and
    // maintenance engineers see no personal data there).
    ("GET", "/", Roles(ALL)),
    ("GET", "/submissions", Roles(STAFF_INS_INST)),
    ("GET", "/submissions/{id}", Roles(STAFF_INS_INST)),
    ("GET", "/upload", Roles(STAFF_INST)),
    ("POST", "/upload", Roles(STAFF_INST)),
    ("GET", "/deliveries", Roles(STAFF_INS_INST)),
    ("GET", "/deliveries/{id}/download", Roles(STAFF_INS_INST)),
    // Only the recipient acknowledges receipt.
    (
        "POST",
        "/deliveries/{id}/ack",
        Roles(&["insurer", "institution"]),
    ),
    ("GET", "/reference", Roles(STAFF_INS)),
    ("POST", "/reference", Roles(STAFF_INS)),
    ("GET", "/admin/orgs", Roles(&["admin"])),
    ("POST", "/admin/orgs", Roles(&["admin"])),
    ("GET", "/admin/users", Roles(&["admin"])),
    ("POST", "/admin/users", Roles(&["admin"])),
    ("GET", "/audit", Roles(&["auditor", "admin"])),
    ("GET", "/contracts", Roles(STAFF_INS)),
    (
        "GET",
        "/contracts/{insurer}/{contract_id}",
        Roles(STAFF_INS),
    ),
    // Contract edits are the agency's (the API's PUT is staff only too).
    (
        "POST",
        "/contracts/{insurer}/{contract_id}",
        Roles(&["operator", "emergency"]),
    ),
    ("GET", "/invite", Roles(STAFF_INS)),
    ("POST", "/invite/roster", Roles(STAFF_INS)),
    ("POST", "/invite/issue", Roles(STAFF_INS)),
    ("POST", "/invite/template", Roles(STAFF_INS)),
    ("POST", "/invite/preview", Roles(STAFF_INS)),
    ("POST", "/invite/letters", Roles(STAFF_INS)),
    ("POST", "/invite/reminders", Roles(STAFF_INS)),
    ("GET", "/billing", Roles(STAFF_INS_INST)),
    ("POST", "/billing/close", Roles(&["operator"])),
    (
        "GET",
        "/billing/{month}/invoices/{file}",
        Roles(STAFF_INS_INST),
    ),
    (
        "GET",
        "/billing/{month}/statements/{file}",
        Roles(STAFF_INS_INST),
    ),
    (
        "GET",
        "/billing/{month}/transfer-file",
        Roles(STAFF_INS_INST),
    ),
];

/// Routes whose allowed roles may still get 404 because the month has no documents (the
/// billing close is not run here): for them only the refusal of the other roles is proven.
const NO_DATA: &[&str] = &[
    "/billing/{month}/invoices/{file}",
    "/billing/{month}/statements/{file}",
    "/billing/{month}/transfer-file",
];

/// Allowed roles that get 404 by tenancy on the objects walked (institution A's submission,
/// insurer A's delivery): their reach of the page is proven in `tenancy` with their own.
const TENANCY_404: &[(&str, &str)] = &[
    ("insurer", "/submissions/{id}"),
    ("institution", "/deliveries/{id}/download"),
    ("institution", "/deliveries/{id}/ack"),
];

/// Routes whose form is multipart (the CSRF token is a form field).
const MULTIPART: &[&str] = &["/reference", "/invite/roster"];

#[test]
fn the_list_is_the_router() {
    let mut listed: BTreeSet<(String, String)> = BTreeSet::new();
    for (m, p, _) in ROUTES {
        assert!(
            listed.insert((m.to_string(), p.to_string())),
            "{m} {p} twice"
        );
    }
    let mut router: BTreeSet<(String, String)> = BTreeSet::new();
    for r in daiko_server::web::route_list() {
        for m in r.methods {
            router.insert((m.to_string(), r.path.to_string()));
        }
    }
    let missing: Vec<_> = router.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&router).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "portal routes not in the test: {missing:?}; listed but not routed: {extra:?}"
    );
}

struct Ids {
    submission: String,
    /// A delivery to insurer A.
    delivery: String,
}

fn concrete_path(path: &str, w: &World, ids: &Ids) -> String {
    if path.starts_with("/deliveries/{id}") {
        return path.replace("{id}", &ids.delivery);
    }
    path.replace("{id}", &ids.submission)
        .replace("{insurer}", &w.insurer_a.number)
        .replace("{contract_id}", "COLL-1")
        .replace("{month}", "2026-10")
        .replace("{file}", &format!("{}.pdf", w.insurer_a.number))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_routes_on_both_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        let srv = start(&w.store, config(&dir.path().join(db), 64 * MB)).await;
        let ids = data(&w, &srv).await;
        methods(&w, &srv, &ids).await;
        without_session(&w, &srv, &ids).await;
        let people = people(&w).await;
        // Tenancy first: the matrix posts forms (an acknowledgement, a contract save).
        tenancy(&w, &srv, &ids, &people).await;
        matrix(&w, &srv, &ids, &people).await;
        w.store.close().await;
    }
}

/// A submission of institution A (delivered to insurers A and B) and a contract of insurer A
/// (collective, with B as member).
async fn data(w: &World, srv: &Server) -> Ids {
    let client = reqwest::Client::new();
    let up = client
        .post(format!(
            "{}/api/v1/submissions?name={}",
            srv.base, w.sample.name
        ))
        .bearer_auth(w.token("inst_a"))
        .body(w.sample.zip.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), StatusCode::ACCEPTED);
    let receipt: serde_json::Value = up.json().await.expect("json");
    let submission = receipt["id"].as_str().expect("id").to_string();
    run_pipeline(&w.store).await;
    let delivery = w
        .store
        .deliveries(Some(&w.insurer_a.id), 10)
        .await
        .expect("deliveries")
        .into_iter()
        .next()
        .expect("a delivery to insurer A")
        .id;
    let (a, b) = (&w.insurer_a.number, &w.insurer_b.number);
    let (i1, i2) = (&w.inst_a.number, &w.inst_b.number);
    let contracts = format!(
        "contract_id,form,insurer_number,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price\n\
         COLL-1,collective,{a},{b},,医師会,{i1};{i2},2024,1,20240401,20250331,basic,7680\n"
    );
    let r = client
        .post(format!(
            "{}/api/v1/reference/contracts?insurer={a}",
            srv.base
        ))
        .bearer_auth(w.token("operator"))
        .body(contracts)
        .send()
        .await
        .expect("contracts");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    Ids {
        submission,
        delivery,
    }
}

/// Each listed path answers its listed methods and 405 for every other: no method is
/// routed that the list does not name.
async fn methods(w: &World, srv: &Server, ids: &Ids) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p, _)| *p).collect();
    for path in paths {
        let url = format!("{}{}", srv.base, concrete_path(path, w, ids));
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let listed = ROUTES.iter().any(|(lm, lp, _)| *lm == m && *lp == path);
            let status = client
                .request(
                    reqwest::Method::from_bytes(m.as_bytes()).expect("method"),
                    &url,
                )
                .send()
                .await
                .expect("request")
                .status();
            if listed {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{m} {path} is routed but not in the list"
                );
            }
        }
    }
}

/// (a) S1: no session, no page: public routes answer, every other route sends the browser
/// to the login page or refuses; a cookie that is not a session is no better.
async fn without_session(w: &World, srv: &Server, ids: &Ids) {
    let mut failures = Vec::new();
    for cookie in [None, Some("not-a-session")] {
        for (m, path, access) in ROUTES {
            let mut b = Browser::at(&srv.base);
            if let Some(c) = cookie {
                b.cookies.insert("daiko_session".into(), c.into());
            }
            let url = concrete_path(path, w, ids);
            let p = if *m == "GET" {
                b.get(&url).await
            } else {
                b.post(&url, &[]).await
            };
            let to_login = p.status.is_redirection() && p.location.as_deref() == Some("/login");
            let refused = matches!(p.status.as_u16(), 401 | 403 | 404);
            let ok = match access {
                Public if *m == "GET" => p.status == StatusCode::OK,
                // A form posted without the login page's token is refused.
                Public => refused || to_login || p.status == StatusCode::BAD_REQUEST,
                Login | Roles(_) => to_login || refused,
            };
            if !ok {
                failures.push(format!(
                    "{m} {url} (cookie {cookie:?}): {} → {:?}",
                    p.status, p.location
                ));
            }
            // Whatever a public page shows, it names no tenant and no submission.
            for secret in [
                w.insurer_a.name.as_str(),
                w.inst_a.name.as_str(),
                ids.submission.as_str(),
            ] {
                if p.body.contains(secret) {
                    failures.push(format!("{m} {url} without a session shows {secret:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}: without a session:\n{}",
        w.db,
        failures.join("\n")
    );
}

/// The seeded accounts get a password and a TOTP secret, as people have.
async fn people(w: &World) -> Vec<(&'static str, Person)> {
    let hasher = PasswordHasher::insecure_for_tests(1000);
    let mut out = Vec::new();
    for who in [
        "operator",
        "admin",
        "auditor",
        "insurer_a",
        "insurer_b",
        "insurer_c",
        "inst_a",
        "inst_b",
        "maintenance",
        "emergency",
    ] {
        let login = &w.logins[who];
        let user = w
            .store
            .user_by_login(login)
            .await
            .expect("query")
            .expect("user");
        let password = format!("Kq7-{who}-portal-walk-Zx");
        let totp = daiko_server::auth::new_totp_secret().expect("secret");
        w.store
            .set_password(&user.id, &hasher.hash(&password).expect("hash"), false)
            .await
            .expect("password");
        w.store
            .set_totp_secret(&user.id, &totp)
            .await
            .expect("totp");
        out.push((
            who,
            Person {
                user,
                password,
                totp,
            },
        ));
    }
    out
}

/// Signs `who` in through the login page and the TOTP step. A second sign-in of the same
/// person within 30 s uses the next step's code (the window allows one step ahead; the
/// current one is spent).
async fn signed_in(srv: &Server, people: &[(&str, Person)], who: &str, again: bool) -> Browser {
    let p = &people
        .iter()
        .find(|(w, _)| *w == who)
        .unwrap_or_else(|| panic!("no person {who}"))
        .1;
    let mut b = Browser::at(&srv.base);
    let code = if again {
        totp_at(&p.totp, now_unix() + 30)
    } else {
        totp_now(&p.totp)
    };
    let r = b.login(p, &code).await;
    assert_eq!(
        r.location.as_deref(),
        Some("/"),
        "{who}: {} {}",
        r.status,
        r.body
    );
    assert!(b.signed_in().await, "{who}");
    b
}

fn multipart(boundary: &str, csrf: &str) -> Vec<u8> {
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n\r\n--{boundary}--\r\n"
    )
    .into_bytes()
}

/// Sends one request of the matrix with the session's token where a form carries one.
async fn request(b: &mut Browser, m: &str, path: &str, url: &str, csrf: &str) -> Page {
    if m == "GET" {
        return b.get(url).await;
    }
    if path == "/upload" {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(format!("{}{url}?name=x.zip", b.base))
            .header("cookie", b.cookie_header())
            .header("x-csrf-token", csrf)
            .body(Vec::new())
            .send()
            .await
            .expect("upload");
        return b.finish(r).await;
    }
    if MULTIPART.contains(&path) {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .post(format!("{}{url}", b.base))
            .header("cookie", b.cookie_header())
            .header("content-type", "multipart/form-data; boundary=B0undAry")
            .body(multipart("B0undAry", csrf))
            .send()
            .await
            .expect("multipart");
        return b.finish(r).await;
    }
    if path == "/admin/orgs" {
        // An unknown kind answers 404; a known kind with no number is a form error.
        return b.post(url, &[("csrf", csrf), ("kind", "insurer")]).await;
    }
    b.post(url, &[("csrf", csrf)]).await
}

/// (b) S8: each role with a full session against every page and form.
async fn matrix(w: &World, srv: &Server, ids: &Ids, people: &[(&str, Person)]) {
    let mut failures = Vec::new();
    for role in ALL {
        let who = match *role {
            "insurer" => "insurer_a",
            "institution" => "inst_a",
            r => r,
        };
        let mut b = signed_in(srv, people, who, true).await;
        let csrf = b.csrf("/").await;
        for (m, path, access) in ROUTES {
            let Roles(allowed) = access else { continue };
            let url = concrete_path(path, w, ids);
            let p = request(&mut b, m, path, &url, &csrf).await;
            let to_login = p.status.is_redirection() && p.location.as_deref() == Some("/login");
            assert!(!to_login, "{}: {role} lost the session at {m} {url}", w.db);
            let expected = allowed.contains(role);
            // 403 is a refusal only when it is the CSRF page (a broken request of the walk);
            // an insurer without the billing service gets a 403 that names the service.
            let csrf_refused =
                p.status == StatusCode::FORBIDDEN && p.body.contains("フォームの有効期限");
            let reached = !matches!(p.status.as_u16(), 401 | 404) && !csrf_refused;
            let fine = if expected {
                let by_tenancy = TENANCY_404.contains(&(*role, *path));
                if by_tenancy {
                    p.status == StatusCode::NOT_FOUND
                } else {
                    reached || (NO_DATA.contains(path) && p.status == StatusCode::NOT_FOUND)
                }
            } else {
                p.status == StatusCode::NOT_FOUND
            };
            if !fine {
                failures.push(format!(
                    "{role:12} {m:4} {url}: {} (expected {})",
                    p.status,
                    if expected { "reachable" } else { "404" }
                ));
            }
        }
        // The sign-in steps with a full session: no data, and logging out ends the session.
        for (m, path, access) in ROUTES {
            if !matches!(access, Login) || *path == "/logout" {
                continue;
            }
            let p = request(&mut b, m, path, path, &csrf).await;
            if p.status.is_server_error() || p.body.contains(&ids.submission) {
                failures.push(format!("{role:12} {m:4} {path}: {}", p.status));
            }
        }
        let csrf = b.csrf("/").await;
        let out = b.post("/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.location.as_deref(), Some("/login"), "{role}");
        assert!(!b.signed_in().await, "{role} still signed in after logout");
    }
    assert!(
        failures.is_empty(),
        "{}: portal roles matrix:\n{}",
        w.db,
        failures.join("\n")
    );
}

/// (c) S9 in the portal: insurers and institutions see their own organisation's objects only.
async fn tenancy(w: &World, srv: &Server, ids: &Ids, people: &[(&str, Person)]) {
    let sub = w
        .store
        .submission(&ids.submission)
        .await
        .expect("query")
        .expect("submission");
    let delivery_to_b = w
        .store
        .deliveries(Some(&w.insurer_b.id), 10)
        .await
        .expect("deliveries")
        .into_iter()
        .next()
        .expect("a delivery to insurer B")
        .id;

    // Institution B: not A's submission, not in its list.
    let mut b = signed_in(srv, people, "inst_b", false).await;
    let p = b.get(&format!("/submissions/{}", ids.submission)).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", w.db);
    let p = b.get("/submissions").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(
        !p.body.contains(&sub.receipt_no),
        "{}: inst_b lists A's",
        w.db
    );
    // Institution A sees its own.
    let mut a = signed_in(srv, people, "inst_a", false).await;
    let p = a.get("/submissions").await;
    assert!(
        p.body.contains(&sub.receipt_no),
        "{}: inst_a's own list",
        w.db
    );

    // Insurer B: not A's delivery (download, acknowledgement), only its own in the list.
    let mut ib = signed_in(srv, people, "insurer_b", false).await;
    let csrf = ib.csrf("/deliveries").await;
    let p = ib
        .get(&format!("/deliveries/{}/download", ids.delivery))
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", w.db);
    let p = ib
        .post(
            &format!("/deliveries/{}/ack", ids.delivery),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND, "{}", w.db);
    let a_delivery = w
        .store
        .delivery(&ids.delivery)
        .await
        .expect("query")
        .expect("delivery");
    assert!(
        a_delivery.received_at.is_none(),
        "{}: B acknowledged A's delivery",
        w.db
    );
    let list = ib.get("/deliveries").await.body;
    assert!(
        !list.contains(&ids.delivery),
        "{}: B lists A's delivery",
        w.db
    );
    assert!(list.contains(&delivery_to_b), "{}: B's own delivery", w.db);
    let p = ib
        .get(&format!("/deliveries/{delivery_to_b}/download"))
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", w.db);
    // Insurer B is a member of A's collective contract: it reads it but cannot save it.
    let path = format!("/contracts/{}/COLL-1", w.insurer_a.number);
    assert_eq!(ib.get(&path).await.status, StatusCode::OK, "{}", w.db);

    // Insurer C has no part in the contract and no delivery.
    let mut ic = signed_in(srv, people, "insurer_c", false).await;
    assert_eq!(
        ic.get(&path).await.status,
        StatusCode::NOT_FOUND,
        "{}",
        w.db
    );
    let list = ic
        .get(&format!("/contracts?insurer={}", w.insurer_a.number))
        .await
        .body;
    assert!(!list.contains("COLL-1"), "{}: C lists A's contract", w.db);
    let list = ic.get("/deliveries").await.body;
    assert!(
        !list.contains(&ids.delivery) && !list.contains(&delivery_to_b),
        "{}: C lists others' deliveries",
        w.db
    );
    // The invitations page of an insurer is always its own, whatever it asks for.
    let inv = ic
        .get(&format!("/invite?insurer={}", w.insurer_a.number))
        .await;
    assert!(!inv.body.contains(&w.insurer_a.name), "{}", w.db);
}

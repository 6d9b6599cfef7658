//! S9 tenant isolation for random pairs of tenants, on SQLite and PostgreSQL.
//!
//! Five insurers and five institutions (four of each with data: a submission with its check
//! report, records and deliveries, a contract, a roster with issued vouchers, an invoice and
//! a statement of a closed billing month; one of each with nothing). Then, for pairs (A, B)
//! drawn with a seeded RNG — the seed is printed; `DAIKO_TENANCY_SEED=N` replays it — every
//! route of the API and of the portal is used as A according to its class:
//!
//! * a list, search or page answers nothing of B: plain, with A's own list parameters
//!   (`?fiscal_year=…&month=…`) and naming B (`?insurer=B&org=B…`);
//! * a route of one object answers 404 for each of B's objects that A has no share in;
//! * an agency-staff route answers 404;
//! * a write naming B is refused and answers nothing of B.
//!
//! "Nothing of B": none of B's object ids, receipt numbers, contract ids, roster card symbols
//! and names, and — when A and B share nothing (an institution and the insurer it sends to
//! do share records) — not B's organisation number or name. The classes are keyed by the
//! routers' own lists (`api::route_list`, `web::route_list`): a route without a class fails
//! `every_route_has_a_class`, so a new endpoint cannot be left out silently.

mod common;

use std::collections::BTreeSet;

use common::{AGENCY, Server, World, config, run_pipeline, seed, session, start};
use daiko_billing::{Calendar, YearMonth};
use daiko_server::auth::new_api_token;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::users::NewUser;
use reqwest::{Client, Method, StatusCode};

const MB: u64 = 1024 * 1024;
/// Pairs drawn per database.
const PAIRS: usize = 12;

/// What a route does with tenant data, and so how it is walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Shows no tenant data (public files, sign-in steps); still checked for B's data.
    NoData,
    /// Agency staff only: a tenant gets 404.
    Staff,
    /// A list, search or page of the caller's own data.
    List,
    /// One object by id in the path.
    Object(Obj),
    /// A change of the caller's own data; naming B must be refused.
    Write,
}

/// The object kinds whose ids appear in paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Obj {
    Submission,
    Record,
    Delivery,
    Contract,
    Invoice,
    Statement,
}

use Class::{List, NoData, Object, Staff, Write};

/// Every API route and method with its class.
const API: &[(&str, &str, Class)] = &[
    ("GET", "/api/v1/health", NoData),
    ("GET", "/api/v1/openapi.json", NoData),
    ("POST", "/api/v1/submissions", Write),
    ("GET", "/api/v1/submissions", List),
    ("GET", "/api/v1/submissions/{id}", Object(Obj::Submission)),
    (
        "GET",
        "/api/v1/submissions/{id}/report",
        Object(Obj::Submission),
    ),
    ("GET", "/api/v1/records/{id}/lineage", Object(Obj::Record)),
    ("GET", "/api/v1/deliveries", List),
    (
        "GET",
        "/api/v1/deliveries/{id}/archive",
        Object(Obj::Delivery),
    ),
    (
        "POST",
        "/api/v1/deliveries/{id}/receipt",
        Object(Obj::Delivery),
    ),
    ("POST", "/api/v1/reference/{kind}", Write),
    ("GET", "/api/v1/orgs", Staff),
    ("POST", "/api/v1/orgs", Staff),
    ("GET", "/api/v1/users", Staff),
    ("POST", "/api/v1/users", Staff),
    ("GET", "/api/v1/audit", Staff),
    ("GET", "/api/v1/audit/verify", Staff),
    ("POST", "/api/v1/invitations/roster", Write),
    ("GET", "/api/v1/invitations/roster", List),
    ("GET", "/api/v1/invitations/targets", List),
    ("POST", "/api/v1/invitations/issue", Write),
    ("GET", "/api/v1/invitations/vouchers", List),
    ("POST", "/api/v1/invitations/letters", Write),
    ("POST", "/api/v1/invitations/reminders", Write),
    ("GET", "/api/v1/invitations/uptake", List),
    ("GET", "/api/v1/invitations/dashboard", List),
    ("POST", "/api/v1/invitations/returned", Write),
    ("GET", "/api/v1/invitations/settings", List),
    ("PUT", "/api/v1/invitations/settings", Write),
    ("GET", "/api/v1/invitations/template", List),
    ("PUT", "/api/v1/invitations/template", Write),
    ("POST", "/api/v1/invitations/template/preview", Write),
    ("GET", "/api/v1/contracts", List),
    (
        "GET",
        "/api/v1/contracts/{insurer}/{contract_id}",
        Object(Obj::Contract),
    ),
    (
        "PUT",
        "/api/v1/contracts/{insurer}/{contract_id}",
        Object(Obj::Contract),
    ),
    ("GET", "/api/v1/billing/months", List),
    ("GET", "/api/v1/billing/months/{month}/invoices", List),
    (
        "GET",
        "/api/v1/billing/months/{month}/invoices/{insurer}",
        Object(Obj::Invoice),
    ),
    ("GET", "/api/v1/billing/months/{month}/statements", List),
    (
        "GET",
        "/api/v1/billing/months/{month}/statements/{institution}",
        Object(Obj::Statement),
    ),
    ("GET", "/api/v1/billing/months/{month}/transfer-file", Staff),
    ("POST", "/api/v1/billing/months/{month}/close", Staff),
    ("POST", "/api/v1/billing/offsets", Write),
    ("GET", "/api/v1/billing/calendar", Staff),
    ("PUT", "/api/v1/billing/calendar", Staff),
    ("GET", "/api/v1/billing/fees", Staff),
    ("PUT", "/api/v1/billing/fees", Staff),
    ("GET", "/api/v1/jobs", Staff),
    ("POST", "/api/v1/jobs/{kind}/pause", Staff),
    ("POST", "/api/v1/jobs/{kind}/resume", Staff),
    ("GET", "/api/v1/audit/review", Staff),
    ("POST", "/api/v1/users/{login}/reset", Staff),
    ("POST", "/api/v1/users/{login}/role", Staff),
    ("GET", "/api/v1/approvals", Staff),
    ("POST", "/api/v1/approvals", Staff),
    ("POST", "/api/v1/approvals/{id}/approve", Staff),
    ("POST", "/api/v1/approvals/{id}/reject", Staff),
    ("POST", "/api/v1/maintenance/tickets", Staff),
    ("GET", "/api/v1/maintenance/tickets/{ticket}/report", Staff),
];

/// Every portal route and method with its class.
const PORTAL: &[(&str, &str, Class)] = &[
    ("GET", "/static/daiko.css", NoData),
    ("GET", "/static/daiko.js", NoData),
    ("GET", "/login", NoData),
    ("POST", "/login", NoData),
    ("GET", "/login/reset", NoData),
    ("POST", "/login/reset", NoData),
    ("GET", "/login/totp", NoData),
    ("POST", "/login/totp", NoData),
    ("GET", "/login/enrol", NoData),
    ("POST", "/login/enrol", NoData),
    ("GET", "/password", NoData),
    ("POST", "/password", NoData),
    ("POST", "/logout", NoData),
    ("POST", "/lang", NoData),
    ("GET", "/", List),
    ("GET", "/submissions", List),
    ("GET", "/submissions/{id}", Object(Obj::Submission)),
    ("GET", "/upload", List),
    ("POST", "/upload", Write),
    ("GET", "/deliveries", List),
    ("GET", "/deliveries/{id}/download", Object(Obj::Delivery)),
    ("POST", "/deliveries/{id}/ack", Object(Obj::Delivery)),
    ("GET", "/reference", List),
    ("POST", "/reference", Write),
    ("GET", "/admin/orgs", Staff),
    ("POST", "/admin/orgs", Staff),
    ("GET", "/admin/users", Staff),
    ("POST", "/admin/users", Staff),
    ("GET", "/audit", Staff),
    ("GET", "/contracts", List),
    (
        "GET",
        "/contracts/{insurer}/{contract_id}",
        Object(Obj::Contract),
    ),
    (
        "POST",
        "/contracts/{insurer}/{contract_id}",
        Object(Obj::Contract),
    ),
    ("GET", "/invite", List),
    ("POST", "/invite/roster", Write),
    ("POST", "/invite/issue", Write),
    ("POST", "/invite/template", Write),
    ("POST", "/invite/preview", Write),
    ("POST", "/invite/letters", Write),
    ("POST", "/invite/reminders", Write),
    ("GET", "/billing", List),
    ("POST", "/billing/close", Staff),
    (
        "GET",
        "/billing/{month}/invoices/{file}",
        Object(Obj::Invoice),
    ),
    (
        "GET",
        "/billing/{month}/statements/{file}",
        Object(Obj::Statement),
    ),
    ("GET", "/billing/{month}/transfer-file", Staff),
];

/// The (method, path) pairs of a router's list.
fn routed(
    list: impl Iterator<Item = (&'static str, &'static [&'static str])>,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, methods) in list {
        for m in methods {
            out.insert((m.to_string(), path.to_string()));
        }
    }
    out
}

fn classified(table: &[(&str, &str, Class)]) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (m, p, _) in table {
        assert!(out.insert((m.to_string(), p.to_string())), "{m} {p} twice");
    }
    out
}

#[test]
fn every_route_has_a_class() {
    for (name, router, table) in [
        (
            "API",
            routed(
                daiko_server::api::route_list()
                    .into_iter()
                    .map(|r| (r.path, r.methods)),
            ),
            classified(API),
        ),
        (
            "portal",
            routed(
                daiko_server::web::route_list()
                    .into_iter()
                    .map(|r| (r.path, r.methods)),
            ),
            classified(PORTAL),
        ),
    ] {
        let missing: Vec<_> = router.difference(&table).collect();
        let stale: Vec<_> = table.difference(&router).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "{name} routes without a tenancy class (add them to tests/tenancy.rs): {missing:?}; \
             classified but not routed: {stale:?}"
        );
    }
}

/// SplitMix64: a small seeded generator, so a failing draw can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A tenant: an insurer or an institution with one user (API token and portal session).
struct Tenant {
    org: Org,
    token: String,
    /// Portal session cookie value and its CSRF token.
    sid: String,
    csrf: String,
}

/// One object of the world: the kind, what names it in paths, what shows it in answers,
/// and the tenants that may see it.
struct Item {
    kind: Option<Obj>,
    /// Path id (submission, record, delivery id; contract id; org number for documents).
    id: String,
    /// The insurer of a contract (for its path).
    insurer: String,
    /// Strings that must not reach a tenant outside `owners`.
    markers: Vec<String>,
    owners: BTreeSet<usize>,
}

struct Fixture {
    tenants: Vec<Tenant>,
    objects: Vec<Item>,
    /// The closed billing month.
    month: YearMonth,
}

impl Fixture {
    /// Whether A and B share an object (an institution and the insurer it sends to).
    fn related(&self, a: usize, b: usize) -> bool {
        self.objects
            .iter()
            .any(|o| o.owners.contains(&a) && o.owners.contains(&b))
    }
    /// B's objects that A has no share in.
    fn foreign(&self, a: usize, b: usize) -> impl Iterator<Item = &Item> {
        self.objects
            .iter()
            .filter(move |o| o.owners.contains(&b) && !o.owners.contains(&a))
    }
    /// Strings of B that must not reach A.
    fn markers(&self, a: usize, b: usize) -> Vec<String> {
        let mut m: Vec<String> = self
            .foreign(a, b)
            .flat_map(|o| o.markers.iter().cloned())
            .collect();
        if !self.related(a, b) {
            m.push(self.tenants[b].org.number.clone());
            m.push(self.tenants[b].org.name.clone());
        }
        m
    }
}

/// A valid 10-digit institution number (check digit) from a 9-digit payload.
fn institution_number(payload: &str) -> String {
    let d = daiko_sample::people::check_digit(payload).expect("digits");
    format!("{payload}{d}")
}

async fn add_tenant(w: &World, org: Org, role: &str) -> Tenant {
    let login = format!("s9-{}", org.number);
    let user = w
        .store
        .add_user(&NewUser {
            login: &login,
            display_name: &login,
            role,
            org_id: Some(&org.id),
            password_hash: "unused-in-api-tests",
            must_change_password: false,
            totp_secret: "",
        })
        .await
        .expect("user");
    let token = new_api_token().expect("token");
    w.store
        .add_token(&user.id, &token.hash)
        .await
        .expect("store token");
    let (sid, csrf) = session(&w.store, &login).await;
    Tenant {
        org,
        token: token.plain,
        sid,
        csrf,
    }
}

const KANJI: [&str; 5] = ["一", "二", "三", "四", "五"];

/// Builds the tenants and their data through the API (and the real pipeline).
async fn build(w: &World, srv: &Server) -> Fixture {
    let client = Client::new();
    let insurer_numbers = daiko_sample::people::default_insurers();
    let mut insurers: Vec<Org> = vec![w.insurer_a.clone(), w.insurer_b.clone()];
    for (k, n) in insurer_numbers.iter().enumerate().skip(2).take(2) {
        insurers.push(
            w.store
                .add_org(OrgKind::Insurer, n, &format!("保険者S9{}", KANJI[k]), &[])
                .await
                .expect("insurer"),
        );
    }
    assert_eq!(
        insurers.iter().map(|o| &o.number).collect::<Vec<_>>(),
        insurer_numbers.iter().collect::<Vec<_>>(),
        "the sample's insurers"
    );
    insurers.push(w.insurer_c.clone()); // no data
    let mut institutions = Vec::new();
    for (k, kanji) in KANJI.iter().enumerate() {
        let n = institution_number(&format!("13100090{k}"));
        institutions.push(
            w.store
                .add_org(OrgKind::Institution, &n, &format!("健診機関S9{kanji}"), &[])
                .await
                .expect("institution"),
        );
    }
    let mut tenants = Vec::new();
    for o in &insurers {
        w.store
            .set_org_services(&o.id, &["check", "route", "billing", "invite"], "immediate")
            .await
            .expect("services");
        let o = w.store.org(&o.id).await.expect("q").expect("org");
        tenants.push(add_tenant(w, o, "insurer").await);
    }
    for o in institutions {
        tenants.push(add_tenant(w, o, "institution").await);
    }
    let ins = |k: usize| k; // insurer k is tenant k
    let inst = |k: usize| 5 + k; // institution k is tenant 5 + k
    let mut objects = Vec::new();

    // Institution k sends one archive to insurer k (k < 4); 4 and insurer 4 have nothing.
    let mut submissions = Vec::new();
    for k in 0..4 {
        let sender = tenants[inst(k)].org.number.clone();
        let archive = daiko_sample::generate(&daiko_sample::SampleConfig {
            archives: 1,
            records: 5,
            seed: 900 + k as u64,
            insurers: vec![tenants[ins(k)].org.number.clone()],
            sender: Some(sender),
            receiver: AGENCY.into(),
            ..Default::default()
        })
        .expect("sample")
        .remove(0);
        let r = client
            .post(format!(
                "{}/api/v1/submissions?name={}",
                srv.base, archive.name
            ))
            .bearer_auth(&tenants[inst(k)].token)
            .body(archive.zip)
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), StatusCode::ACCEPTED, "upload {k}");
        let v: serde_json::Value = r.json().await.expect("receipt");
        submissions.push((k, v["id"].as_str().expect("id").to_string()));
    }
    run_pipeline(&w.store).await;
    for (k, id) in &submissions {
        let s = w
            .store
            .submission(id)
            .await
            .expect("q")
            .expect("submission");
        let pair: BTreeSet<usize> = [inst(*k), ins(*k)].into();
        objects.push(Item {
            kind: Some(Obj::Submission),
            id: id.clone(),
            insurer: String::new(),
            markers: vec![id.clone(), s.receipt_no.clone()],
            owners: pair.clone(),
        });
        let records = w.store.records_of_submission(id).await.expect("records");
        assert!(!records.is_empty(), "records of {k}");
        for r in records {
            objects.push(Item {
                kind: Some(Obj::Record),
                id: r.id.clone(),
                insurer: String::new(),
                markers: vec![r.id.clone()],
                owners: pair.clone(),
            });
        }
        let deliveries = w.store.deliveries_of_submission(id).await.expect("q");
        assert!(!deliveries.is_empty(), "a delivery to insurer {k}");
        for d in deliveries {
            objects.push(Item {
                kind: Some(Obj::Delivery),
                id: d.id.clone(),
                insurer: String::new(),
                markers: vec![d.id.clone()],
                owners: pair.clone(),
            });
        }
    }

    // Each insurer with data: a contract with its institution, a roster, issued vouchers.
    for k in 0..4 {
        let (i, h) = (&tenants[ins(k)].org.number, &tenants[inst(k)].org.number);
        let contract_id = format!("S9C{k}K{}", KANJI[k].len());
        let csv = format!(
            "contract_id,form,insurer_number,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price\n\
             {contract_id},individual,{i},,{h},,,2024,1,20240401,20250331,basic,7680\n"
        );
        let r = client
            .post(format!(
                "{}/api/v1/reference/contracts?insurer={i}",
                srv.base
            ))
            .bearer_auth(w.token("operator"))
            .body(csv)
            .send()
            .await
            .expect("contracts");
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            r.text().await.unwrap_or_default()
        );
        objects.push(Item {
            kind: Some(Obj::Contract),
            id: contract_id.clone(),
            insurer: i.clone(),
            markers: vec![contract_id],
            owners: [ins(k)].into(),
        });
        let symbol = format!("S9秘{}", KANJI[k]);
        let name = format!("秘匿{} 花子", KANJI[k]);
        let roster = format!(
            "card_symbol,card_number,card_branch,name,name_kana,sex,birth_date,postal_code,address1,address2,address3,insured_from,insured_to,member_type,excl_abroad\n\
             {symbol},9{k}01,,{name},ヒトク ハナコ,2,1970-05-05,1000013,東京都千代田区霞が関,1丁目3番2号,,2000-04-01,,2,0\n"
        );
        let r = client
            .post(format!(
                "{}/api/v1/invitations/roster?name=s9.csv",
                srv.base
            ))
            .bearer_auth(&tenants[ins(k)].token)
            .body(roster)
            .send()
            .await
            .expect("roster");
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap_or_default()
        );
        let r = client
            .post(format!(
                "{}/api/v1/invitations/issue?fiscal_year=2024",
                srv.base
            ))
            .bearer_auth(&tenants[ins(k)].token)
            .send()
            .await
            .expect("issue");
        let status = r.status();
        assert!(
            status.is_success(),
            "issue {k}: {status} {}",
            r.text().await.unwrap_or_default()
        );
        objects.push(Item {
            kind: None,
            id: String::new(),
            insurer: String::new(),
            markers: vec![symbol, name],
            owners: [ins(k)].into(),
        });
    }

    // Billing: the submissions were received about three months ago; that month is closed.
    let received = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90);
    for (_, id) in &submissions {
        sqlx::query("UPDATE submissions SET received_at = $1 WHERE id = $2")
            .bind(daiko_store::format_ts(received))
            .bind(id)
            .execute(w.store.pool())
            .await
            .expect("back-date");
    }
    let month = Calendar::default().billing_month_of(received);
    let r = client
        .post(format!("{}/api/v1/billing/months/{month}/close", srv.base))
        .bearer_auth(w.token("operator"))
        .send()
        .await
        .expect("close");
    let status = r.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    for k in 0..4 {
        objects.push(Item {
            kind: Some(Obj::Invoice),
            id: tenants[ins(k)].org.number.clone(),
            insurer: String::new(),
            markers: vec![],
            owners: [ins(k)].into(),
        });
        objects.push(Item {
            kind: Some(Obj::Statement),
            id: tenants[inst(k)].org.number.clone(),
            insurer: String::new(),
            markers: vec![],
            owners: [inst(k)].into(),
        });
    }
    Fixture {
        tenants,
        objects,
        month,
    }
}

/// One answer, as text.
struct Answer {
    status: StatusCode,
    body: String,
}

async fn send(
    client: &Client,
    srv: &Server,
    t: &Tenant,
    portal: bool,
    method: &str,
    url: &str,
    form: Option<String>,
) -> Answer {
    let mut req = client.request(
        Method::from_bytes(method.as_bytes()).expect("method"),
        format!("{}{url}", srv.base),
    );
    if portal {
        req = req
            .header("cookie", format!("daiko_session={}", t.sid))
            .header("x-csrf-token", &t.csrf);
        if let Some(f) = form {
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(f);
        }
    } else {
        req = req.bearer_auth(&t.token);
        if let Some(f) = form {
            req = req.header("content-type", "application/json").body(f);
        }
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let bytes = r.bytes().await.expect("body");
    Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A path with its placeholders filled: the object's own ids, else B's number (and the
/// closed month).
fn fill(path: &str, f: &Fixture, b: &Tenant, o: Option<&Item>) -> String {
    let mut p = path
        .replace("{month}", &f.month.to_string())
        .replace("{kind}", "contracts")
        .replace("{login}", &format!("s9-{}", b.org.number))
        .replace("{ticket}", "TEST-WINDOW");
    if let Some(o) = o {
        p = match o.kind {
            Some(Obj::Contract) => p
                .replace("{insurer}", &o.insurer)
                .replace("{contract_id}", &o.id),
            Some(Obj::Invoice | Obj::Statement) => p
                .replace("{insurer}", &o.id)
                .replace("{institution}", &o.id)
                .replace("{file}", &format!("{}.pdf", o.id)),
            _ => p.replace("{id}", &o.id),
        };
    }
    p.replace("{insurer}", &b.org.number)
        .replace("{institution}", &b.org.number)
        .replace("{file}", &format!("{}.pdf", b.org.number))
        .replace("{id}", "00000000-0000-0000-0000-000000000000")
        .replace("{contract_id}", "S9-NONE")
}

/// The query that names B in every way a route may take it.
fn naming(b: &Tenant) -> String {
    let n = &b.org.number;
    format!("insurer={n}&org={n}&institution={n}&fiscal_year=2024&name=x.csv")
}

/// Walks every route as A against B; answers the failures.
async fn walk(
    client: &Client,
    srv: &Server,
    f: &Fixture,
    a: usize,
    b: usize,
    covered: &mut BTreeSet<(bool, String, String)>,
) -> Vec<String> {
    let (ta, tb) = (&f.tenants[a], &f.tenants[b]);
    let markers = f.markers(a, b);
    let mut failures = Vec::new();
    let leaks = |who: &str, body: &str| -> Option<String> {
        let found: Vec<&String> = markers
            .iter()
            .filter(|m| body.contains(m.as_str()))
            .collect();
        (!found.is_empty()).then(|| format!("{who} shows B's {found:?}"))
    };
    for (portal, table) in [(false, API), (true, PORTAL)] {
        for (m, path, class) in table {
            let label = format!("{} {m} {path}", if portal { "portal" } else { "api" });
            match class {
                NoData if *m != "GET" => {
                    // Sign-in steps (logging in and out, the language): not posted here, so
                    // A's session lives on; portal_routes.rs walks them.
                    covered.insert((portal, m.to_string(), path.to_string()));
                }
                NoData | List => {
                    let plain = fill(path, f, tb, None);
                    // Plain, with the parameters a list needs (A's own), and naming B.
                    let own = format!("{plain}?fiscal_year=2024&month={}", f.month);
                    for url in [plain.clone(), own, format!("{plain}?{}", naming(tb))] {
                        let r = send(client, srv, ta, portal, m, &url, None).await;
                        if r.status.is_server_error() {
                            failures.push(format!("{label} {url}: {}", r.status));
                        }
                        if let Some(l) = leaks(&url, &r.body) {
                            failures.push(format!("{label}: {l}"));
                        }
                    }
                    covered.insert((portal, m.to_string(), path.to_string()));
                }
                Staff => {
                    let url = fill(path, f, tb, None);
                    let r = send(client, srv, ta, portal, m, &url, Some(String::new())).await;
                    if r.status != StatusCode::NOT_FOUND {
                        failures.push(format!("{label} {url}: {} (staff only: 404)", r.status));
                    }
                    covered.insert((portal, m.to_string(), path.to_string()));
                }
                Write => {
                    let url = format!("{}?{}", fill(path, f, tb, None), naming(tb));
                    let form = if portal {
                        format!("csrf={}&insurer={}", ta.csrf, tb.org.number)
                    } else {
                        "{}".to_string()
                    };
                    let r = send(client, srv, ta, portal, m, &url, Some(form)).await;
                    if r.status.is_success() && !portal {
                        failures.push(format!("{label} {url}: {} naming B", r.status));
                    }
                    if r.status.is_server_error() {
                        failures.push(format!("{label} {url}: {}", r.status));
                    }
                    if let Some(l) = leaks(&url, &r.body) {
                        failures.push(format!("{label}: {l}"));
                    }
                    covered.insert((portal, m.to_string(), path.to_string()));
                }
                Object(kind) => {
                    for o in f.foreign(a, b).filter(|o| o.kind == Some(*kind)) {
                        let url = fill(path, f, tb, Some(o));
                        let form = portal.then(|| format!("csrf={}", ta.csrf));
                        let r = send(
                            client,
                            srv,
                            ta,
                            portal,
                            m,
                            &url,
                            form.or(Some(String::new())),
                        )
                        .await;
                        if r.status != StatusCode::NOT_FOUND {
                            failures.push(format!(
                                "{label} {url}: {} for B's {kind:?} (404)",
                                r.status
                            ));
                        }
                        if let Some(l) = leaks(&url, &r.body) {
                            failures.push(format!("{label}: {l}"));
                        }
                        covered.insert((portal, m.to_string(), path.to_string()));
                    }
                }
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_pairs_of_tenants_see_nothing_of_each_other() {
    let draw_seed: u64 = match std::env::var("DAIKO_TENANCY_SEED") {
        Ok(s) => s.trim().parse().expect("DAIKO_TENANCY_SEED is a number"),
        Err(_) => jiff::Timestamp::now().as_nanosecond() as u64,
    };
    eprintln!("tenancy seed {draw_seed} (replay: DAIKO_TENANCY_SEED={draw_seed})");
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        let srv = start(&w.store, config(&dir.path().join(db), 64 * MB)).await;
        api_list_is_the_router(&srv).await;
        let f = build(&w, &srv).await;
        // The owners see their own objects: the markers are real.
        let client = Client::new();
        for t in &f.tenants[..4] {
            let own = w.store.deliveries(Some(&t.org.id), 100).await.expect("q");
            assert!(!own.is_empty(), "{db}: {} has deliveries", t.org.number);
            let r = send(&client, &srv, t, false, "GET", "/api/v1/deliveries", None).await;
            for d in own {
                assert!(r.body.contains(&d.id), "{db}: own delivery {} listed", d.id);
            }
        }
        for k in 0..4 {
            let r = send(
                &client,
                &srv,
                &f.tenants[k],
                false,
                "GET",
                "/api/v1/invitations/targets?fiscal_year=2024",
                None,
            )
            .await;
            let name = f
                .objects
                .iter()
                .find(|o| o.kind.is_none() && o.owners.contains(&k))
                .map(|o| o.markers[0].clone())
                .expect("roster card symbol");
            assert!(
                r.body.contains(&name),
                "{db}: own roster member listed: {}",
                r.body
            );
        }
        for k in 5..9 {
            let r = send(
                &client,
                &srv,
                &f.tenants[k],
                false,
                "GET",
                "/api/v1/submissions",
                None,
            )
            .await;
            let own: Vec<&Item> = f
                .objects
                .iter()
                .filter(|o| o.kind == Some(Obj::Submission) && o.owners.contains(&k))
                .collect();
            assert_eq!(own.len(), 1, "{db}");
            assert!(r.body.contains(&own[0].id), "{db}: own submission listed");
        }
        let mut rng = Rng(draw_seed ^ if db == "sqlite" { 0 } else { 0x5151 });
        let n = f.tenants.len();
        let mut covered = BTreeSet::new();
        let mut failures = Vec::new();
        for i in 0..PAIRS {
            // B alternates between an insurer and an institution with data, A is anyone else.
            let b = if i % 2 == 0 {
                rng.below(4)
            } else {
                5 + rng.below(4)
            };
            let a = loop {
                let a = rng.below(n);
                if a != b {
                    break a;
                }
            };
            eprintln!(
                "{db}: pair {i}: A = {} ({}), B = {} ({})",
                f.tenants[a].org.name,
                f.tenants[a].org.number,
                f.tenants[b].org.name,
                f.tenants[b].org.number
            );
            for fail in walk(&client, &srv, &f, a, b, &mut covered).await {
                failures.push(format!(
                    "A={} B={}: {fail}",
                    f.tenants[a].org.number, f.tenants[b].org.number
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{db}: tenant isolation (seed {draw_seed}):\n{}",
            failures.join("\n")
        );
        // Every route was used (objects: at least one foreign object of its kind).
        let all: BTreeSet<(bool, String, String)> = API
            .iter()
            .map(|(m, p, _)| (false, m.to_string(), p.to_string()))
            .chain(
                PORTAL
                    .iter()
                    .map(|(m, p, _)| (true, m.to_string(), p.to_string())),
            )
            .collect();
        let unused: Vec<_> = all.difference(&covered).collect();
        assert!(
            unused.is_empty(),
            "{db}: routes not walked (seed {draw_seed}): {unused:?}"
        );
        w.store.close().await;
    }
}

/// `api::route_list` is the router: each listed path answers its listed methods (401 or 200,
/// never 405) and 405 for every other method.
async fn api_list_is_the_router(srv: &Server) {
    let client = Client::new();
    for r in daiko_server::api::route_list() {
        let url = format!(
            "{}{}",
            srv.base,
            r.path
                .replace("{month}", "2026-01")
                .replace('{', "x")
                .replace('}', "")
        );
        for m in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let status = client
                .request(Method::from_bytes(m.as_bytes()).expect("method"), &url)
                .send()
                .await
                .expect("request")
                .status();
            if r.methods.contains(&m) {
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{m} {}", r.path);
                assert_ne!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{m} {} is not routed",
                    r.path
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{m} {} is routed but not in api::route_list",
                    r.path
                );
            }
        }
    }
}

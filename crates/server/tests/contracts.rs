//! Contracts over real HTTP on both databases: the API (list, one contract with its
//! history, CSV export that re-imports without a new version, PUT as a new version, stale
//! edits 409, tenancy 404) and the portal pages (operators edit with CSRF, a member insurer
//! reads without a form, other insurers get 404), with their audit rows.

mod common;

use common::{Server, World, config, seed, session, start};
use daiko_store::audit::AuditQuery;
use reqwest::{Client, StatusCode, redirect};
use serde_json::{Value, json};

const MB: u64 = 1024 * 1024;

struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

async fn call(
    srv: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Vec<u8>>,
) -> Answer {
    let mut req = Client::new()
        .request(method, format!("{}{path}", srv.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.body(b);
    }
    let r = req.send().await.expect("request");
    Answer {
        status: r.status(),
        body: r.text().await.expect("body"),
    }
}

async fn get(srv: &Server, path: &str, token: &str) -> Answer {
    call(srv, reqwest::Method::GET, path, token, None).await
}

/// A portal request with a session cookie (no redirects followed).
async fn portal(srv: &Server, sid: &str, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
    let client = Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .expect("client");
    let url = format!("{}{path}", srv.base);
    let req = match form {
        Some(f) => client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(f)),
        None => client.get(url),
    };
    let r = req
        .header("cookie", format!("daiko_session={sid}"))
        .send()
        .await
        .expect("request");
    Answer {
        status: r.status(),
        body: r.text().await.expect("body"),
    }
}

/// `application/x-www-form-urlencoded` as a browser writes it.
fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn file(w: &World) -> String {
    let (a, b) = (&w.insurer_a.number, &w.insurer_b.number);
    let (i1, i2) = (&w.inst_a.number, &w.inst_b.number);
    format!(
        "contract_id,form,insurer_number,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price\n\
         COLL-1,collective,{a},{b},,医師会,{i1};{i2},2024,1,20240401,20250331,basic,7680\n\
         COLL-1,collective,{a},{b},,医師会,{i1};{i2},2024,1,20240401,20250331,share:1,80\n\
         ,,{a},,{i1},,,2024,2,,,basic,6600\n"
    )
}

async fn audit_count(w: &World, action: &str) -> usize {
    w.store
        .audit_search(&AuditQuery {
            action_prefix: Some(action.into()),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .filter(|r| r.entry.action == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_api_and_portal() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        let srv = start(&w.store, config(&dir.path().join(db), 64 * MB)).await;
        api(&w, &srv).await;
        pages(&w, &srv).await;
    }
}

async fn api(w: &World, srv: &Server) {
    let (a, b) = (w.insurer_a.number.clone(), w.insurer_b.number.clone());
    let op = w.token("operator");
    // Loaded as before, through the reference upload.
    let up = call(
        srv,
        reqwest::Method::POST,
        &format!("/api/v1/reference/contracts?insurer={a}"),
        op,
        Some(file(w).into_bytes()),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(up.json()["rows"], 2);

    let all = get(srv, "/api/v1/contracts", op).await.json();
    assert_eq!(all["contracts"].as_array().unwrap().len(), 2, "{all}");
    let fy = get(srv, "/api/v1/contracts?fiscal_year=2023", op)
        .await
        .json();
    assert!(fy["contracts"].as_array().unwrap().is_empty());
    // The member insurer sees the collective contract; the holder both; others none.
    let seen_by_b = get(srv, "/api/v1/contracts", w.token("insurer_b"))
        .await
        .json();
    let list = seen_by_b["contracts"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{seen_by_b}");
    assert_eq!(list[0]["contract_id"], "COLL-1");
    assert_eq!(list[0]["contract"]["form"], "collective");
    let seen_by_a = get(srv, "/api/v1/contracts", w.token("insurer_a"))
        .await
        .json();
    assert_eq!(seen_by_a["contracts"].as_array().unwrap().len(), 2);
    let seen_by_c = get(srv, "/api/v1/contracts", w.token("insurer_c"))
        .await
        .json();
    assert!(seen_by_c["contracts"].as_array().unwrap().is_empty());
    let other = get(
        srv,
        &format!("/api/v1/contracts?insurer={b}"),
        w.token("insurer_a"),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let one = format!("/api/v1/contracts/{a}/COLL-1");
    assert_eq!(
        get(srv, &one, w.token("insurer_b")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(srv, &one, w.token("insurer_c")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(srv, &one, w.token("inst_a")).await.status,
        StatusCode::NOT_FOUND
    );

    // CSV export re-imports without a new version.
    let csv = get(
        srv,
        &format!("/api/v1/contracts?insurer={a}&format=csv"),
        op,
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("contract_id,form,"), "{}", csv.body);
    let again = call(
        srv,
        reqwest::Method::POST,
        &format!("/api/v1/reference/contracts?insurer={a}"),
        op,
        Some(csv.body.clone().into_bytes()),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let shown = get(srv, &one, op).await.json();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 1, "{shown}");
    assert_eq!(shown["current"]["version"], 1);

    // An edit: new version; the old one stays readable.
    let mut contract = shown["current"]["contract"].clone();
    contract["basic"] = json!(7700);
    let put = |body: Value, token: &'static str| {
        let path = one.clone();
        let token = w.token(token).to_string();
        async move {
            call(
                srv,
                reqwest::Method::PUT,
                &path,
                &token,
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let r = put(json!({"version": 1, "contract": contract}), "operator").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["contract"]["version"], 2);
    let stale = put(json!({"version": 1, "contract": contract}), "operator").await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(
        stale.json()["message_en"]
            .as_str()
            .unwrap()
            .contains("version 2")
    );
    let by_insurer = put(json!({"version": 2, "contract": contract}), "insurer_a").await;
    assert_eq!(by_insurer.status, StatusCode::NOT_FOUND);
    let mut bad = contract.clone();
    bad["guidance_shares"] = json!({"1": 150});
    let invalid = put(json!({"version": 2, "contract": bad}), "operator").await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
    assert!(
        invalid.json()["message_ja"]
            .as_str()
            .unwrap()
            .contains("支払割合")
    );
    let shown = get(srv, &one, w.token("insurer_b")).await.json();
    let versions = shown["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["contract"]["basic"], 7680);
    assert!(versions[0]["superseded_at"].is_string());
    assert_eq!(versions[1]["contract"]["basic"], 7700);
    assert_eq!(versions[1]["author"], w.logins["operator"].as_str());
    assert_eq!(audit_count(w, "contracts.edit").await, 1);
    assert!(audit_count(w, "contracts.read").await >= 8);
}

async fn pages(w: &World, srv: &Server) {
    let a = &w.insurer_a.number;
    let (op_sid, csrf) = session(&w.store, &w.logins["operator"]).await;
    let list = portal(srv, &op_sid, "/contracts", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body.contains("COLL-1") && list.body.contains("集合契約"),
        "{}",
        list.body
    );
    let path = format!("/contracts/{a}/COLL-1");
    let page = portal(srv, &op_sid, &path, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"contract-edit\""));
    assert!(page.body.contains("data-testid=\"history\""));

    // Without the CSRF token nothing is saved.
    let no_csrf = portal(
        srv,
        &op_sid,
        &path,
        Some(&[("version", "2"), ("basic", "7800")]),
    )
    .await;
    assert_ne!(no_csrf.status, StatusCode::SEE_OTHER);
    // With it: a new version, then the page shows it.
    let form = [
        ("csrf", csrf.as_str()),
        ("version", "2"),
        ("valid_from", "20240401"),
        ("valid_to", "20250331"),
        ("basic", "7800"),
        ("share_1", "80"),
        ("additional", "3F015000002327101=500\n"),
    ];
    let saved = portal(srv, &op_sid, &path, Some(&form)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let cur = w
        .store
        .current_contract(a, "COLL-1")
        .await
        .expect("query")
        .expect("contract");
    assert_eq!(cur.version, 3);
    assert_eq!(cur.author, w.logins["operator"]);
    let k: Value = serde_json::from_str(&cur.contract_json).unwrap();
    assert_eq!(k["basic"], 7800);
    assert_eq!(k["additional"]["3F015000002327101"], 500);
    assert_eq!(
        k["member_insurers"][0],
        w.insurer_b.number.as_str(),
        "parties kept"
    );
    // The same form again is stale (it started from version 2).
    let stale = portal(srv, &op_sid, &path, Some(&form)).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert!(stale.body.contains("版 3"), "{}", stale.body);
    // A bad price is refused with a message.
    let bad = [
        ("csrf", csrf.as_str()),
        ("version", "3"),
        ("basic", "7,800"),
    ];
    let bad = portal(srv, &op_sid, &path, Some(&bad)).await;
    assert!(bad.body.contains("円単位の整数"), "{}", bad.body);
    assert_eq!(
        w.store
            .current_contract(a, "COLL-1")
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );

    // The member insurer reads, without a form; posting is 404. Another insurer: 404.
    let (b_sid, b_csrf) = session(&w.store, &w.logins["insurer_b"]).await;
    let page = portal(srv, &b_sid, &path, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("contract-edit"));
    assert!(page.body.contains("7800"));
    let post = portal(
        srv,
        &b_sid,
        &path,
        Some(&[("csrf", b_csrf.as_str()), ("version", "3"), ("basic", "1")]),
    )
    .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    let (c_sid, _) = session(&w.store, &w.logins["insurer_c"]).await;
    assert_eq!(
        portal(srv, &c_sid, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    let (i_sid, _) = session(&w.store, &w.logins["inst_a"]).await;
    assert_eq!(
        portal(srv, &i_sid, "/contracts", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(audit_count(w, "contracts.edit").await, 2);
}

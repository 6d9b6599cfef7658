//! Billing over HTTP (`/api/v1/billing/…`) on SQLite and PostgreSQL (skipped with a message
//! when absent): a generated archive submitted through the API and the real worker, its
//! reception moved into a past month (so that month's window is over), the month closed
//! through the API, then tenancy, totals against the pipeline's settlement, documents,
//! the transfer file, a second close and 過誤 requests.

mod common;

use common::{Server, World, config, run_pipeline, seed, start};
use daiko_billing::{BankAccount, Calendar, Remitter, YearMonth};
use daiko_pipeline::billing as flow;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const MB: u64 = 1024 * 1024;

struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn call(srv: &Server, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = Client::new()
        .request(method, format!("{}{path}", srv.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body").to_vec();
    Answer {
        status,
        body,
        headers,
    }
}

async fn get(srv: &Server, path: &str, token: &str) -> Answer {
    call(srv, "GET", path, token, None).await
}

/// Audit rows of `action` so far.
async fn audit_rows(w: &World, action: &str) -> Vec<daiko_store::audit::AuditEntry> {
    let q = daiko_store::audit::AuditQuery {
        actor: None,
        action_prefix: Some(action.to_string()),
        org: None,
        since: None,
        until: None,
        limit: 10_000,
    };
    w.store
        .audit_search(&q)
        .await
        .expect("audit search")
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.action == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_api_on_both_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores");
    for (db, store) in stores {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        let srv = start(&w.store, config(&dir.path().join(db), 64 * MB)).await;
        billing(&w, &srv).await;
    }
}

async fn billing(w: &World, srv: &Server) {
    let db = w.db;
    // Insurers A and B use the billing service; C does not.
    for o in [&w.insurer_a, &w.insurer_b] {
        w.store
            .set_org_services(&o.id, &["check", "route", "billing"], "immediate")
            .await
            .expect("services");
    }
    let up = call(
        srv,
        "POST",
        &format!("/api/v1/submissions?name={}", w.sample.name),
        w.token("inst_a"),
        None,
    )
    .await;
    assert_eq!(
        up.status,
        StatusCode::BAD_REQUEST,
        "an empty body is refused"
    );
    let r = Client::new()
        .post(format!(
            "{}/api/v1/submissions?name={}",
            srv.base, w.sample.name
        ))
        .bearer_auth(w.token("inst_a"))
        .body(w.sample.zip.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::ACCEPTED, "{db}");
    let sub_id = r.json::<Value>().await.expect("receipt")["id"]
        .as_str()
        .expect("id")
        .to_string();
    run_pipeline(&w.store).await;

    // The archive was received about three months ago: that month's window is over.
    let received = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90);
    sqlx::query("UPDATE submissions SET received_at = $1 WHERE id = $2")
        .bind(daiko_store::format_ts(received))
        .bind(&sub_id)
        .execute(w.store.pool())
        .await
        .expect("back-date the submission");
    let month: YearMonth = Calendar::default().billing_month_of(received);
    let m = month.to_string();
    let records = w
        .store
        .records_of_submission(&sub_id)
        .await
        .expect("records");
    let delivered = |insurer: &str| {
        records
            .iter()
            .filter(|r| r.insurer == insurer && r.outcome == "accepted")
            .count()
    };
    assert!(
        delivered(&w.insurer_a.number) > 0 && delivered(&w.insurer_b.number) > 0,
        "{db}: the sample should have accepted records of both insurers"
    );

    // Only operators close; nothing is closed yet.
    for who in ["insurer_a", "inst_a", "admin", "auditor"] {
        let a = call(
            srv,
            "POST",
            &format!("/api/v1/billing/months/{m}/close"),
            w.token(who),
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{db}: {who} closes");
    }
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices"),
        w.token("operator"),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{db}: not closed yet");
    // The current month's window is still open.
    let now_month = Calendar::default().billing_month_of(jiff::Timestamp::now());
    let a = call(
        srv,
        "POST",
        &format!("/api/v1/billing/months/{now_month}/close"),
        w.token("operator"),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{db}: {}", a.text());
    assert!(
        a.json()["message_ja"]
            .as_str()
            .is_some_and(|s| s.contains("締められません"))
    );
    assert!(
        a.json()["message_en"]
            .as_str()
            .is_some_and(|s| s.contains("cannot be closed"))
    );

    // ---- close ----
    let first = call(
        srv,
        "POST",
        &format!("/api/v1/billing/months/{m}/close"),
        w.token("operator"),
        None,
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{db}: {}", first.text());
    let first = first.json();
    assert_eq!(first["already_closed"], json!(false));
    let lines = first["lines"].as_i64().expect("lines");
    assert!(lines > 0, "{db}: {first}");
    let settled = flow::settlement(&w.store, month)
        .await
        .expect("settlement")
        .expect("closed");
    let claims: i64 = records
        .iter()
        .filter(|r| r.outcome == "accepted")
        .map(|r| r.claim)
        .sum();
    assert_eq!(
        first["claim_total"],
        json!(claims),
        "{db}: Σ accepted claims"
    );

    // A second close changes nothing.
    let second = call(
        srv,
        "POST",
        &format!("/api/v1/billing/months/{m}/close"),
        w.token("operator"),
        None,
    )
    .await;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.json();
    assert_eq!(second["already_closed"], json!(true));
    assert_eq!(
        (
            &second["lines"],
            &second["claim_total"],
            &second["closed_at"]
        ),
        (&first["lines"], &first["claim_total"], &first["closed_at"])
    );
    let again = flow::settlement(&w.store, month)
        .await
        .expect("settlement")
        .expect("closed");
    assert_eq!(again, settled, "{db}: the second close changed the month");
    assert_eq!(
        audit_rows(w, "billing.close").await.len(),
        1,
        "{db}: one close"
    );
    assert_eq!(audit_rows(w, "billing.close.request").await.len(), 2);

    // ---- invoices: operators see all, in the CLI's JSON shape and order ----
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices"),
        w.token("operator"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let summaries: Vec<_> = settled.invoices.iter().map(|i| i.summary()).collect();
    assert_eq!(
        a.text(),
        serde_json::to_string(&summaries).expect("json"),
        "{db}"
    );
    assert_eq!(summaries.len(), 2, "{db}: invoices of A and B");
    let body = a.text();
    let keys = [
        "insurer",
        "records",
        "cost_total",
        "copay_total",
        "other_total",
        "claim_total",
        "fee_total",
        "offset_total",
        "amount_due",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| body.find(&format!("\"{k}\":")).expect("key"))
        .collect();
    assert!(
        pos.windows(2).all(|p| p[0] < p[1]),
        "{db}: field order {body}"
    );
    for inv in a.json().as_array().expect("array") {
        assert_eq!(
            inv["amount_due"].as_i64(),
            Some(
                inv["claim_total"].as_i64().unwrap_or(0) + inv["fee_total"].as_i64().unwrap_or(0)
                    - inv["offset_total"].as_i64().unwrap_or(0)
            )
        );
        let n = inv["insurer"].as_str().expect("insurer");
        let expected: i64 = records
            .iter()
            .filter(|r| r.insurer == n && r.outcome == "accepted")
            .map(|r| r.claim)
            .sum();
        assert_eq!(inv["claim_total"].as_i64(), Some(expected), "{db}: {n}");
    }

    // ---- tenancy of invoices ----
    let (a_no, b_no) = (&w.insurer_a.number, &w.insurer_b.number);
    let mine = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices"),
        w.token("insurer_a"),
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK);
    let mine = mine.json();
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{db}: {mine}");
    assert_eq!(mine[0]["insurer"], json!(a_no));
    let before = audit_rows(w, "billing.invoice.read").await.len();
    let other = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices/{b_no}"),
        w.token("insurer_a"),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "{db}: A reads B's invoice"
    );
    for suffix in [".pdf", ".csv"] {
        let other = get(
            srv,
            &format!("/api/v1/billing/months/{m}/invoices/{b_no}{suffix}"),
            w.token("insurer_a"),
        )
        .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        audit_rows(w, "billing.invoice.read").await.len(),
        before,
        "no read, no row"
    );
    for who in ["inst_a", "admin", "auditor", "maintenance"] {
        let a = get(
            srv,
            &format!("/api/v1/billing/months/{m}/invoices/{a_no}"),
            w.token(who),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{db}: {who} reads an invoice"
        );
    }
    for path in [
        "months",
        &format!("months/{m}/invoices"),
        &format!("months/{m}/invoices/{a_no}"),
    ] {
        let a = get(
            srv,
            &format!("/api/v1/billing/{path}"),
            w.token("insurer_c"),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::FORBIDDEN,
            "{db}: not subscribed, {path}"
        );
        assert_eq!(a.json()["error"], json!("not_subscribed"));
    }

    // The insurer's own invoice with its detail lines, audited with the records.
    let own = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices/{a_no}"),
        w.token("insurer_a"),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{db}: {}", own.text());
    let inv_a = settled
        .invoices
        .iter()
        .find(|i| &i.insurer == a_no)
        .expect("A's invoice");
    assert_eq!(own.json(), serde_json::to_value(inv_a).expect("json"));
    assert_eq!(
        own.json()["lines"].as_array().map(Vec::len),
        Some(inv_a.records as usize)
    );
    let rows = audit_rows(w, "billing.invoice.read").await;
    let row = rows
        .iter()
        .find(|r| r.actor == w.logins["insurer_a"])
        .expect("audit row");
    assert_eq!(
        row.records.split(',').count(),
        inv_a.lines.len(),
        "{db}: audited records"
    );
    assert!(
        inv_a
            .lines
            .iter()
            .all(|l| row.records.contains(&l.record_id))
    );
    assert!(
        row.detail
            .contains(&format!("\"lines\":{}", inv_a.lines.len())),
        "{}",
        row.detail
    );

    let csv = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices/{a_no}.csv"),
        w.token("insurer_a"),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"), "{db}: CSV with BOM");
    assert_eq!(csv.body, daiko_billing::invoice_csv(inv_a));
    assert!(
        csv.headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/csv"))
    );
    let pdf = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices/{a_no}.pdf"),
        w.token("insurer_a"),
    )
    .await;
    if daiko_pdf::Fonts::discover().is_ok() {
        assert_eq!(pdf.status, StatusCode::OK, "{db}: {}", pdf.text());
        assert!(pdf.body.starts_with(b"%PDF"), "{db}: a PDF");
    } else {
        eprintln!("no Japanese fonts here: the PDF answer must be 503");
        assert_eq!(pdf.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        audit_rows(w, "billing.invoice.read").await.len(),
        before + 3
    );

    // ---- statements ----
    let (ia, ib) = (&w.inst_a.number, &w.inst_b.number);
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements"),
        w.token("operator"),
    )
    .await;
    let st_summaries: Vec<_> = settled.statements.iter().map(|s| s.summary()).collect();
    assert_eq!(
        a.text(),
        serde_json::to_string(&st_summaries).expect("json")
    );
    assert!(a.text().starts_with("[{\"institution\":"));
    let st_a = settled
        .statements
        .iter()
        .find(|s| &s.institution == ia)
        .expect("A's statement");
    assert_eq!(
        st_a.claim_total, claims,
        "{db}: the one institution is paid every claim"
    );
    let mine = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements"),
        w.token("inst_a"),
    )
    .await;
    assert_eq!(mine.json().as_array().map(Vec::len), Some(1));
    assert_eq!(mine.json()[0]["amount_paid"], json!(st_a.amount_paid));
    let none = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements"),
        w.token("inst_b"),
    )
    .await;
    assert_eq!(none.json(), json!([]), "{db}: B has no statement");
    let other = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements/{ia}"),
        w.token("inst_b"),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::NOT_FOUND,
        "{db}: B reads A's statement"
    );
    for who in ["insurer_a", "admin"] {
        let a = get(
            srv,
            &format!("/api/v1/billing/months/{m}/statements/{ia}"),
            w.token(who),
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{db}: {who}");
    }
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/invoices"),
        w.token("inst_a"),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "{db}: institutions have no invoices"
    );
    let own = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements/{ia}"),
        w.token("inst_a"),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.json()["amount_paid"], json!(st_a.amount_paid));
    let csv = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements/{ia}.csv"),
        w.token("inst_a"),
    )
    .await;
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"));
    let pdf = get(
        srv,
        &format!("/api/v1/billing/months/{m}/statements/{ia}.pdf"),
        w.token("inst_a"),
    )
    .await;
    if pdf.status == StatusCode::OK {
        assert!(pdf.body.starts_with(b"%PDF"));
    }
    let n = audit_rows(w, "billing.statement.read").await.len();
    assert_eq!(n, 3, "{db}: every statement read audited");
    let _ = ib;

    // ---- months ----
    let a = get(srv, "/api/v1/billing/months", w.token("insurer_a"))
        .await
        .json();
    assert_eq!(a.as_array().map(Vec::len), Some(1), "{db}: {a}");
    assert_eq!(a[0]["month"], json!(m));
    assert_eq!(a[0]["invoices"].as_array().map(Vec::len), Some(1));
    assert_eq!(a[0]["invoices"][0]["insurer"], json!(a_no));
    assert_eq!(a[0]["statements"], json!([]));
    assert_eq!(a[0]["claim_total"], json!(inv_a.claim_total));
    let a = get(srv, "/api/v1/billing/months", w.token("inst_b"))
        .await
        .json();
    assert_eq!(a, json!([]), "{db}: nothing for B");
    let a = get(srv, "/api/v1/billing/months", w.token("operator"))
        .await
        .json();
    assert_eq!(a[0]["claim_total"], json!(claims));
    assert_eq!(a[0]["invoices"].as_array().map(Vec::len), Some(2));
    let a = get(srv, "/api/v1/billing/months", w.token("admin")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // ---- transfer file ----
    for who in ["insurer_a", "inst_a", "admin", "auditor"] {
        let a = get(
            srv,
            &format!("/api/v1/billing/months/{m}/transfer-file"),
            w.token(who),
        )
        .await;
        assert_eq!(
            a.status,
            StatusCode::NOT_FOUND,
            "{db}: {who} downloads the transfer file"
        );
    }
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/transfer-file"),
        w.token("operator"),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::CONFLICT,
        "{db}: no remitter yet: {}",
        a.text()
    );
    flow::set_remitter(
        &w.store,
        &Remitter {
            code: "1234567890".into(),
            name_kana: "ダイコウキカン".into(),
            bank_code: "0001".into(),
            bank_name_kana: "ミズホ".into(),
            branch_code: "001".into(),
            branch_name_kana: "トウキヨウ".into(),
            account_type: 1,
            account_number: "1234567".into(),
        },
        "test",
    )
    .await
    .expect("remitter");
    flow::set_bank_account(
        &w.store,
        ia,
        &BankAccount {
            bank_code: "0005".into(),
            bank_name_kana: "ミツビシユーエフジェイ".into(),
            branch_code: "123".into(),
            branch_name_kana: "シンジュク".into(),
            account_type: 1,
            account_number: "7654321".into(),
            holder_kana: "ケンシンキカンエー".into(),
        },
        "test",
    )
    .await
    .expect("account");
    let a = get(
        srv,
        &format!("/api/v1/billing/months/{m}/transfer-file"),
        w.token("operator"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{db}: {}", a.text());
    let parsed = daiko_billing::parse_transfer_file(&a.body).expect("a valid 全銀 file");
    assert_eq!(
        parsed.total_amount, st_a.amount_paid,
        "{db}: totals = statements"
    );
    assert_eq!(audit_rows(w, "billing.transfer_file.read").await.len(), 1);

    // ---- calendar and fees ----
    let a = get(
        srv,
        "/api/v1/billing/calendar?year=2026",
        w.token("operator"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["dates"].as_array().map(Vec::len), Some(12));
    assert_eq!(a.json()["dates"][0]["deadline"], json!("2026-01-05"));
    for who in ["insurer_a", "inst_a", "admin"] {
        assert_eq!(
            get(srv, "/api/v1/billing/fees", w.token(who)).await.status,
            StatusCode::NOT_FOUND
        );
        let a = call(
            srv,
            "PUT",
            "/api/v1/billing/fees",
            w.token(who),
            Some(json!({})),
        )
        .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
    let fees = json!({"insurer_per_record": 50, "insurer_per_invoice": 1000,
        "institution_per_record": 30, "institution_per_statement": 500});
    let a = call(
        srv,
        "PUT",
        "/api/v1/billing/fees",
        w.token("operator"),
        Some(fees.clone()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(
        get(srv, "/api/v1/billing/fees", w.token("operator"))
            .await
            .json(),
        fees
    );
    let bad = json!({"insurer_per_record": -1, "insurer_per_invoice": 0,
        "institution_per_record": 0, "institution_per_statement": 0});
    let a = call(
        srv,
        "PUT",
        "/api/v1/billing/fees",
        w.token("operator"),
        Some(bad),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(srv, "/api/v1/billing/fees", w.token("operator"))
            .await
            .json(),
        fees
    );
    // The closed month keeps the fees it was closed with.
    assert_eq!(
        flow::settlement(&w.store, month)
            .await
            .expect("settlement")
            .expect("closed"),
        settled
    );

    // ---- 過誤 ----
    let line_of = |insurer: &str| {
        inv_of(&settled, insurer)
            .lines
            .iter()
            .find(|l| l.claim_total > 0)
            .map(|l| l.record_id.clone())
            .expect("a billed line")
    };
    let (rec_a, rec_b) = (line_of(a_no), line_of(b_no));
    let req =
        |rec: &str| json!({"record_id": rec, "reason_code": "07", "reason_text": "重複請求のため"});
    let a = call(
        srv,
        "POST",
        "/api/v1/billing/offsets",
        w.token("insurer_a"),
        Some(req(&rec_b)),
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "{db}: A's 過誤 on B's record"
    );
    for who in ["inst_a", "insurer_c", "admin"] {
        let a = call(
            srv,
            "POST",
            "/api/v1/billing/offsets",
            w.token(who),
            Some(req(&rec_a)),
        )
        .await;
        assert!(
            matches!(a.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{db}: {who}: {}",
            a.status
        );
    }
    let bad = json!({"record_id": rec_a, "reason_code": "10"});
    let a = call(
        srv,
        "POST",
        "/api/v1/billing/offsets",
        w.token("insurer_a"),
        Some(bad),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{db}: not a 別表10 code");
    assert!(w.store.pending_offsets().await.expect("pending").is_empty());
    let a = call(
        srv,
        "POST",
        "/api/v1/billing/offsets",
        w.token("insurer_a"),
        Some(req(&rec_a)),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{db}: {}", a.text());
    let out = a.json();
    assert_eq!(out["outcome"], json!("offset"));
    assert_eq!(out["record_id"], json!(rec_a));
    assert_eq!(out["origin_month"], json!(m));
    let pending = w.store.pending_offsets().await.expect("pending");
    assert_eq!(pending.len(), 1, "{db}");
    assert_eq!(pending[0].record_id.as_deref(), Some(rec_a.as_str()));
    assert_eq!(&pending[0].insurer, a_no);
    assert_eq!(pending[0].reason_code, "07");
    let line = inv_of(&settled, a_no)
        .lines
        .iter()
        .find(|l| l.record_id == rec_a)
        .expect("line");
    assert_eq!(pending[0].amount, line.claim_total);
    let a = call(
        srv,
        "POST",
        "/api/v1/billing/offsets",
        w.token("insurer_a"),
        Some(req(&rec_a)),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{db}: twice");
    // An operator may file one for any insurer.
    let a = call(
        srv,
        "POST",
        "/api/v1/billing/offsets",
        w.token("operator"),
        Some(req(&rec_b)),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{db}: {}", a.text());
    assert_eq!(w.store.pending_offsets().await.expect("pending").len(), 2);

    portal(w, srv, &m, &settled).await;
    without_credentials(srv, &m).await;
}

/// Every billing route answers 401 without credentials (S1), and a portal session's
/// mutating API call needs its CSRF header.
async fn without_credentials(srv: &Server, m: &str) {
    let routes = [
        ("GET", "/api/v1/billing/months".to_string()),
        ("GET", format!("/api/v1/billing/months/{m}/invoices")),
        (
            "GET",
            format!("/api/v1/billing/months/{m}/invoices/06990012.pdf"),
        ),
        ("GET", format!("/api/v1/billing/months/{m}/statements")),
        (
            "GET",
            format!("/api/v1/billing/months/{m}/statements/1399999999.csv"),
        ),
        ("GET", format!("/api/v1/billing/months/{m}/transfer-file")),
        ("POST", format!("/api/v1/billing/months/{m}/close")),
        ("POST", "/api/v1/billing/offsets".to_string()),
        ("GET", "/api/v1/billing/calendar".to_string()),
        ("PUT", "/api/v1/billing/calendar".to_string()),
        ("GET", "/api/v1/billing/fees".to_string()),
        ("PUT", "/api/v1/billing/fees".to_string()),
    ];
    for (method, path) in routes {
        let r = Client::new()
            .request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}{path}", srv.base),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A portal GET/POST with a session cookie.
async fn page(srv: &Server, method: &str, path: &str, sid: &str, form: &[(&str, &str)]) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .request(method, format!("{}{path}", srv.base))
        .header(reqwest::header::COOKIE, format!("daiko_session={sid}"));
    if !form.is_empty() {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        req = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.join("&"));
    }
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.expect("body").to_vec();
    Answer {
        status,
        body,
        headers,
    }
}

/// The 請求・支払 page: each tenant sees its own documents, operators close and download.
async fn portal(w: &World, srv: &Server, m: &str, settled: &daiko_billing::Settlement) {
    let db = w.db;
    let (ia, a_no, b_no) = (&w.inst_a.number, &w.insurer_a.number, &w.insurer_b.number);
    let (inst, _) = common::session(&w.store, &w.logins["inst_a"]).await;
    let p = page(srv, "GET", "/billing", &inst, &[]).await;
    assert_eq!(p.status, StatusCode::OK, "{db}");
    let html = p.text();
    assert!(html.contains("請求・支払"), "{db}: nav and title");
    assert!(
        html.contains(&format!("/billing/{m}/statements/{ia}.pdf")),
        "{db}: {html}"
    );
    assert!(html.contains(&format!("/billing/{m}/statements/{ia}.csv")));
    assert!(
        !html.contains("/invoices/"),
        "{db}: no invoices for an institution"
    );
    assert!(!html.contains("transfer-file") && !html.contains("/billing/close"));
    let st = settled
        .statements
        .iter()
        .find(|s| &s.institution == ia)
        .expect("statement");
    assert!(html.contains(&daiko_billing::documents::yen(st.amount_paid)));
    let csv = page(
        srv,
        "GET",
        &format!("/billing/{m}/statements/{ia}.csv"),
        &inst,
        &[],
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with(b"\xEF\xBB\xBF"));
    for path in [
        format!("/billing/{m}/transfer-file"),
        format!("/billing/{m}/invoices/{a_no}.csv"),
    ] {
        let a = page(srv, "GET", &path, &inst, &[]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{db}: {path}");
    }
    let (other, _) = common::session(&w.store, &w.logins["inst_b"]).await;
    let a = page(
        srv,
        "GET",
        &format!("/billing/{m}/statements/{ia}.pdf"),
        &other,
        &[],
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "{db}: B downloads A's statement"
    );

    let (ins, _) = common::session(&w.store, &w.logins["insurer_a"]).await;
    let html = page(srv, "GET", "/billing", &ins, &[]).await.text();
    assert!(html.contains(&format!("/billing/{m}/invoices/{a_no}.pdf")));
    assert!(
        !html.contains(&format!("/invoices/{b_no}")),
        "{db}: not B's invoice"
    );
    let (ins_c, _) = common::session(&w.store, &w.logins["insurer_c"]).await;
    let html = page(srv, "GET", "/billing", &ins_c, &[]).await.text();
    assert!(
        html.contains("請求・支払代行サービスを利用していない"),
        "{db}: {html}"
    );
    let (admin, _) = common::session(&w.store, &w.logins["admin"]).await;
    assert_eq!(
        page(srv, "GET", "/billing", &admin, &[]).await.status,
        StatusCode::NOT_FOUND
    );

    let (op, csrf) = common::session(&w.store, &w.logins["operator"]).await;
    let html = page(srv, "GET", "/billing", &op, &[]).await.text();
    assert!(
        html.contains("action=\"/billing/close\""),
        "{db}: close form"
    );
    assert!(html.contains(&format!("/billing/{m}/transfer-file")));
    assert!(html.contains(&format!("/billing/{m}/invoices/{b_no}.csv")));
    // The API through the portal session: the CSRF header is required.
    let a = page(
        srv,
        "POST",
        &format!("/api/v1/billing/months/{m}/close"),
        &op,
        &[],
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::FORBIDDEN,
        "{db}: API close without X-CSRF-Token"
    );
    assert_eq!(a.json()["error"], json!("csrf"));
    let a = page(srv, "POST", "/billing/close", &op, &[("month", m)]).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{db}: no CSRF token");
    let a = page(
        srv,
        "POST",
        "/billing/close",
        &op,
        &[("month", m), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.text().contains("締め済み"),
        "{db}: closing again changes nothing"
    );
    let (inst_csrf_sid, inst_csrf) = common::session(&w.store, &w.logins["inst_a"]).await;
    let a = page(
        srv,
        "POST",
        "/billing/close",
        &inst_csrf_sid,
        &[("month", m), ("csrf", &inst_csrf)],
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::NOT_FOUND,
        "{db}: institutions do not close"
    );
    let tf = page(srv, "GET", &format!("/billing/{m}/transfer-file"), &op, &[]).await;
    assert_eq!(tf.status, StatusCode::OK);
    assert!(daiko_billing::parse_transfer_file(&tf.body).is_ok());
    assert_eq!(
        audit_rows(w, "billing.close").await.len(),
        1,
        "{db}: still one close"
    );
}

fn inv_of<'a>(s: &'a daiko_billing::Settlement, insurer: &str) -> &'a daiko_billing::Invoice {
    s.invoices
        .iter()
        .find(|i| i.insurer == insurer)
        .expect("invoice")
}

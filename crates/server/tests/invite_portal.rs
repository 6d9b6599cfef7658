//! The invitations page over real HTTP with a portal session: counts, roster upload (a bad
//! file lists its rows), voucher issue, template editing checked by daiko-invite, the
//! preview PDF, the uptake chart; other roles get 404, a non-subscriber the reason.

mod common;

use common::{config, seed, session, start};
use daiko_pipeline::invite;
use reqwest::{Client, StatusCode};

const ROSTER: &str = "\
card_symbol,card_number,card_branch,name,name_kana,sex,birth_date,postal_code,address1,address2,address3,insured_from,insured_to,member_type
P,01,,画面 一子,ガメン イチコ,2,1970-05-05,1000013,東京都千代田区霞が関,1丁目3番2号,,2000-04-01,,2
P,02,,画面 二郎,ガメン ジロウ,1,1965-01-01,1000013,東京都千代田区霞が関,1丁目3番3号,,2000-04-01,,1
P,03,,若者 三子,ワカモノ ミツコ,2,1995-01-01,1000013,東京都千代田区霞が関,1丁目3番4号,,2000-04-01,,2
";

struct Session {
    base: String,
    cookie: String,
    csrf: String,
}

impl Session {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = Client::new()
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, Vec<u8>) {
        let mut body = format!("csrf={}&fiscal_year=2024", self.csrf);
        for (k, v) in fields {
            body.push_str(&format!("&{k}={}", enc(v)));
        }
        let r = Client::new()
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = r.bytes().await.unwrap().to_vec();
        (status, ct, bytes)
    }
    async fn upload(&self, csv: &str) -> (StatusCode, String) {
        let b = "daikoboundary";
        let body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"fiscal_year\"\r\n\r\n2024\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roster.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n",
            self.csrf
        );
        let r = Client::new()
            .post(format!("{}/invite/roster", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        eprintln!("--- {db}");
        let w = seed(db, store).await;
        w.store
            .set_org_services(&w.insurer_a.id, &["check", "invite"], "immediate")
            .await
            .unwrap();
        let org_a = w.store.org(&w.insurer_a.id).await.unwrap().unwrap();
        let srv = start(&w.store, config(&dir.path().join(db), 64 << 20)).await;
        let login = |who: &str| {
            let store = w.store.clone();
            let login = w.logins[who].clone();
            let base = srv.base.clone();
            async move {
                let (sid, csrf) = session(&store, &login).await;
                Session {
                    base,
                    cookie: format!("daiko_session={sid}"),
                    csrf,
                }
            }
        };
        let a = login("insurer_a").await;

        let (status, html) = a.get("/invite?fiscal_year=2024").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("健診案内") && html.contains("data-testid=\"invite-counts\""),
            "{html}"
        );
        assert!(html.contains("href=\"/invite\""), "nav link");

        // A bad roster lists its rows and imports nothing.
        let (status, html) = a.upload(&ROSTER.replace("1965-01-01", "1965-02-30")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("data-testid=\"roster-errors\"") && html.contains("birth_date"),
            "{html}"
        );
        let (_, html) = a.upload(ROSTER).await;
        assert!(html.contains("名簿を登録しました"), "{html}");
        assert!(html.contains("data-testid=\"targets\">2<"), "{html}");

        let (status, _, body) = a.form("/invite/issue", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("発行しました: 2"), "{html}");
        assert!(html.contains("data-testid=\"issued\">2<"), "{html}");

        // Template: an unknown placeholder is refused and the text stays in the form.
        let (_, _, body) = a
            .form(
                "/invite/template",
                &[
                    ("title", "{年度} ご案内 {宛名}"),
                    ("body", "{氏名} 様\r\n\r\n本文"),
                    ("voucher_title", "受診券"),
                    ("voucher_note", ""),
                ],
            )
            .await;
        let html = String::from_utf8(body).unwrap();
        assert!(
            html.contains("unknown placeholder") && html.contains("{宛名}"),
            "{html}"
        );
        let (_, _, body) = a
            .form(
                "/invite/template",
                &[
                    ("title", "{年度} 特定健診のご案内"),
                    ("body", "{氏名} 様\r\n\r\n本文"),
                    ("voucher_title", "受診券"),
                    ("voucher_note", ""),
                ],
            )
            .await;
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("保存しました。版 1"), "{html}");
        let (_, stored) = invite::template(&w.store, &org_a).await.unwrap();
        assert_eq!(stored.body, "{氏名} 様\n\n本文");
        let (status, ct, pdf) = a
            .form(
                "/invite/preview",
                &[
                    ("title", "見本"),
                    ("body", "{氏名} 様"),
                    ("voucher_title", "受診券"),
                    ("voucher_note", ""),
                ],
            )
            .await;
        if status == StatusCode::OK && ct == "application/pdf" {
            assert!(pdf.starts_with(b"%PDF"));
        } else {
            eprintln!("SKIPPED preview ({status} {ct}): no Japanese fonts?");
        }

        // Guidance vouchers: nobody has an accepted checkup yet, so none are issued.
        let (status, _, body) = a.form("/invite/issue", &[("kind", "guidance")]).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("発行しました: 0"), "{html}");

        // A reminder round from the page: a ZIP, and the uptake chart gets one bar per variant.
        let (status, _, body) = a
            .form("/invite/reminders", &[("as_of", "2024-09-31")])
            .await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("YYYY-MM-DD"), "a bad date is refused: {html}");
        let (status, ct, zip) = a
            .form("/invite/reminders", &[("as_of", "2024-09-30")])
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/zip");
        assert!(zip.starts_with(b"PK"), "a ZIP");
        let (_, html) = a.get("/invite?fiscal_year=2024").await;
        assert!(html.contains("data-testid=\"uptake-chart\""), "{html}");
        assert_eq!(html.matches("<g data-variant=").count(), 2, "{html}");

        // Others: institution 404, a non-subscriber the reason, CSRF required.
        let inst = login("inst_a").await;
        assert_eq!(inst.get("/invite").await.0, StatusCode::NOT_FOUND);
        let c = login("insurer_c").await;
        let (status, html) = c.get("/invite").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("契約していません"), "{html}");
        let bad = Session {
            csrf: "wrong".into(),
            ..login("insurer_a").await
        };
        assert_eq!(
            bad.form("/invite/issue", &[]).await.0,
            StatusCode::FORBIDDEN
        );
        // An operator names the insurer.
        let op = login("operator").await;
        let (_, html) = op
            .get(&format!(
                "/invite?insurer={}&fiscal_year=2024",
                w.insurer_a.number
            ))
            .await;
        assert!(html.contains("data-testid=\"issued\">2<"), "{html}");
        w.store.close().await;
    }
}

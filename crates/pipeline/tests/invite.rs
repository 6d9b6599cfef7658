//! The invitation flow against the database on both databases (PostgreSQL skipped with a
//! message when absent): roster → targets → issue (idempotent, in the checker's ledger as
//! DbReference reads it) → letters and mailing list → reminders to non-responders who were
//! not returned by post → uptake per variant.

use std::path::Path;

use daiko_check::ReferenceData;
use daiko_pipeline::invite::{self, Actor, InviteError};
use daiko_pipeline::reference::DbReference;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::submissions::{NewSubmission, RecordRow};
use daiko_store::{Store, testdb};
use jiff::civil::date;

const INS: &str = "06139999";

async fn each(f: impl AsyncFn(&'static str, Store, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        let data = dir.path().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        f(name, store, &data).await;
    }
}

/// FY2024 roster: 01 target; 02 too young (born 1985-04-02); 03 target, returned mail in
/// the roster; 04 target without address; 05 target with a checkup record; 06 target
/// marked returned later; 07 excluded (pregnancy); 08 target with 𠮷 (outside CP932);
/// 09 aged out (born 1949-04-01).
pub const ROSTER: &str = "\
card_symbol,card_number,card_branch,name,name_kana,sex,birth_date,postal_code,address1,address2,address3,insured_from,insured_to,member_type,excl_pregnancy,returned_mail
S,01,,健診 一郎,ケンシン イチロウ,1,1970-05-05,1000013,東京都千代田区霞が関,1丁目3番2号,郵便プラザ503室,2000-04-01,,1,0,0
S,02,,若井 二郎,ワカイ ジロウ,1,1985-04-02,1500001,東京都渋谷区神宮前,1-1-1,,2000-04-01,,1,0,0
S,03,,宛先 三子,アテサキ ミツコ,2,1960-01-01,1600022,東京都新宿区新宿,3丁目1番,,2000-04-01,,2,0,1
S,04,,住所 四郎,ジュウショ シロウ,1,1965-03-03,,,,,2000-04-01,,1,0,0
S,05,,受診 五子,ジュシン イツコ,2,1955-07-07,2310023,神奈川県横浜市中区山下町,1-2,,2000-04-01,,2,0,0
S,06,,転居 六郎,テンキョ ロクロウ,1,1975-08-08,5300001,大阪府大阪市北区梅田,2-4-9,,2000-04-01,,3,0,0
S,07,,妊娠 七子,ニンシン ナナコ,2,1980-06-06,1000001,東京都千代田区千代田,1-1,,2000-04-01,,2,1,0
S,08,,𠮷田 八郎,ヨシダ ハチロウ,1,1972-12-12,0600001,北海道札幌市中央区北一条西,2丁目,,2000-04-01,,1,0,0
S,09,,高齢 九郎,コウレイ クロウ,1,1949-04-01,1000005,東京都千代田区丸の内,1-1,,2000-04-01,,1,0,0
";

fn actor() -> Actor {
    Actor {
        login: "kenpo1".into(),
        role: "insurer".into(),
        org: INS.into(),
        source: "test".into(),
    }
}

async fn insurer(s: &Store, services: &[&str]) -> Org {
    s.add_org(OrgKind::Insurer, INS, "テスト健康保険組合", services)
        .await
        .unwrap()
}

/// A delivered checkup record of member `number` on `yyyymmdd`.
async fn checkup(s: &Store, voucher: &str, number: &str, yyyymmdd: &str, state: &str) {
    let inst = match s.org_by_number("1311111111").await.unwrap() {
        Some(o) => o,
        None => s
            .add_org(OrgKind::Institution, "1311111111", "健診機関", &[])
            .await
            .unwrap(),
    };
    let id = daiko_store::new_id();
    let mut tx = s.begin().await.unwrap();
    let receipt = s.next_receipt_no(&mut tx, yyyymmdd).await.unwrap();
    s.insert_submission_in(
        &mut tx,
        &NewSubmission {
            id: &id,
            org_id: &inst.id,
            uploaded_by: None,
            channel: "api",
            archive_name: "a.zip",
            sha256: &id,
            size: 1,
            blob_key: "k",
        },
        &receipt,
    )
    .await
    .unwrap();
    s.insert_records_in(
        &mut tx,
        &[RecordRow {
            id: daiko_store::new_id(),
            submission_id: id.clone(),
            seq: 1,
            data_file: "d".into(),
            claim_file: "c".into(),
            insurer: INS.into(),
            institution: inst.number.clone(),
            voucher: voucher.into(),
            card_symbol: "S".into(),
            card_number: number.into(),
            service_event_type: 1,
            guidance_timing: None,
            service_date: yyyymmdd.into(),
            fiscal_year: 2024,
            outcome: "accepted".into(),
            return_reason: None,
            state: state.into(),
            cost: 0,
            copayment: 0,
            other_program: 0,
            claim: 0,
            delivery_id: None,
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn only_for_subscribers() {
    each(async |_db, s, _| {
        let org = insurer(&s, &["check"]).await;
        let e = invite::import_roster(&s, &org, ROSTER.as_bytes(), "r.csv", &actor())
            .await
            .unwrap_err();
        assert!(matches!(e, InviteError::NotSubscribed(_)));
        assert!(e.ja().contains("invite") && e.en().contains("does not subscribe"));
        assert!(matches!(
            invite::invite_insurer(&s, "06130000").await.unwrap_err(),
            InviteError::NoSuchInsurer(_)
        ));
    })
    .await;
}

#[tokio::test]
async fn roster_to_reminders() {
    each(async |_db, s, _| {
        let org = insurer(&s, &["check", "route", "invite"]).await;
        assert_eq!(invite::invite_insurer(&s, INS).await.unwrap().id, org.id);
        // A bad roster imports nothing.
        let bad = ROSTER.replace("1970-05-05", "1970-13-05");
        let e = invite::import_roster(&s, &org, bad.as_bytes(), "bad.csv", &actor())
            .await
            .unwrap_err();
        assert!(e.en().contains("line 2"), "{e}");
        assert!(s.current_roster(INS).await.unwrap().is_none());
        let r = invite::import_roster(&s, &org, ROSTER.as_bytes(), "r.csv", &actor())
            .await
            .unwrap();
        assert_eq!((r.version, r.members, r.encoding.as_str()), (1, 9, "utf8"));

        let t = invite::targets(&s, &org, 2024, &actor()).await.unwrap();
        let targets: Vec<&str> = t
            .decisions
            .iter()
            .filter(|d| d.target)
            .map(|d| d.card.number.as_str())
            .collect();
        assert_eq!(targets, vec!["01", "03", "04", "05", "06", "08"]);
        let j = invite::decision_json(&t.decisions[1]);
        assert_eq!(j["card_number"], "02");
        assert_eq!(j["reason_codes"][0], "too_young");

        // Issue: six vouchers, numbered in card order; again: none.
        let first = invite::issue(&s, &org, 2024, &actor()).await.unwrap();
        assert_eq!((first.issued, first.already), (6, 0));
        assert_eq!(first.first_number.as_deref(), Some("24100000001"));
        assert_eq!(first.last_number.as_deref(), Some("24100000006"));
        let again = invite::issue(&s, &org, 2024, &actor()).await.unwrap();
        assert_eq!((again.issued, again.already), (0, 6));
        let vouchers = invite::issued(&s, &org, 2024, &actor()).await.unwrap();
        assert_eq!(vouchers.len(), 6);
        assert_eq!(vouchers[0].card.number, "01");

        // The checker's DbReference finds every issued voucher with the issued fields.
        let (reference, _) = DbReference::prefetch(&s, "none", "x.zip", b"", "00")
            .await
            .unwrap();
        let expected: Vec<_> = vouchers.iter().map(|v| v.to_record()).collect();
        let found = tokio::task::spawn_blocking(move || {
            expected
                .iter()
                .map(|e| (e.clone(), reference.vouchers(INS, 1, &e.number)))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for (e, got) in found {
            assert_eq!(got, Some(vec![e]));
        }

        // A new roster version with a new member: only that one is issued next time.
        let more = format!(
            "{ROSTER}S,10,,新規 十子,シンキ トオコ,2,1978-10-10,1000013,東京都千代田区霞が関,1-3-2,,2024-04-01,,2,0,0\n"
        );
        let r2 = invite::import_roster(&s, &org, more.as_bytes(), "r2.csv", &actor())
            .await
            .unwrap();
        assert_eq!(r2.version, 2);
        let third = invite::issue(&s, &org, 2024, &actor()).await.unwrap();
        assert_eq!((third.issued, third.already), (1, 6));
        assert_eq!(third.first_number.as_deref(), Some("24100000007"));

        // Returned mail is marked for 06 (in addition to 03's roster flag).
        invite::set_returned_mail(
            &s,
            &org,
            &daiko_invite_card("06"),
            true,
            "あて所に尋ねあたりません",
            &actor(),
        )
        .await
        .unwrap();

        // Letters need fonts; without them the error says so and the rest is tested.
        match invite::letters(&s, &org, 2024, date(2024, 6, 1), &actor()).await {
            Ok(out) => {
                // 01, 05, 08, 10 are mailable; 03 and 06 returned, 04 without address.
                assert_eq!(out.run.letters, 4);
                let mut unmailable: Vec<&str> =
                    out.unmailable.iter().map(|c| c.number.as_str()).collect();
                unmailable.sort();
                assert_eq!(unmailable, vec!["03", "04", "06"]);
                let names: Vec<&str> = out.files.iter().map(|f| f.name.as_str()).collect();
                assert_eq!(
                    names,
                    vec!["letters_2024_001.pdf", "mailing_2024.csv", "mailing_2024_sjis.csv"]
                );
                assert!(out.files[0].bytes.starts_with(b"%PDF"));
                let csv = String::from_utf8(out.files[1].bytes.clone()).unwrap();
                // Postal-code order: 060 (08), 100 (01, 10), 231 (05).
                let rows: Vec<&str> = csv.lines().skip(1).collect();
                assert!(rows[0].contains("𠮷田") && rows[3].contains("受診 五子"), "{csv}");
                assert!(out.sjis_errors.is_empty());
                assert_eq!(s.letter_runs(INS, 2024).await.unwrap().len(), 1);
            }
            Err(InviteError::NoFonts(e)) => eprintln!("SKIPPED letters: no fonts ({e})"),
            Err(e) => panic!("{e}"),
        }

        // Checkups: 05 with its voucher on 2024-07-01; 01 by card only on 2024-10-15 (after
        // round 1); 08 returned by the checker (does not count).
        checkup(&s, "24100000004", "05", "20240701", "delivered").await;
        checkup(&s, "99999999999", "01", "20241015", "accepted").await;
        checkup(&s, "24100000006", "08", "20240801", "returned").await;

        let r1 = invite::reminders(&s, &org, 2024, date(2024, 9, 30), &actor())
            .await
            .unwrap();
        assert_eq!(r1.round, 1);
        // Targets 01 03 04 05 06 08 10: 05 responded; 03, 06 returned; 04 no address.
        assert_eq!(
            (r1.reminded, r1.responded, r1.returned, r1.unmailable),
            (3, 1, 2, 1)
        );
        assert_eq!(r1.per_variant.iter().sum::<usize>(), 3);
        let csv = String::from_utf8(r1.files[0].bytes.clone()).unwrap();
        for who in ["健診 一郎", "𠮷田 八郎", "新規 十子"] {
            assert!(csv.contains(who), "{who} missing: {csv}");
        }
        for who in ["受診 五子", "宛先 三子", "転居 六郎", "住所 四郎"] {
            assert!(!csv.contains(who), "{who} reminded: {csv}");
        }
        // Round 2 as of later: 01 has had a checkup since.
        let r2 = invite::reminders(&s, &org, 2024, date(2024, 11, 30), &actor())
            .await
            .unwrap();
        assert_eq!((r2.round, r2.reminded, r2.responded), (2, 2, 2));

        // Uptake: round 1 sent 3, of which 01 came after the posting date.
        let up = invite::uptake(&s, &org, 2024).await.unwrap();
        let r1_sent: usize = up.iter().filter(|u| u.round == 1).map(|u| u.sent).sum();
        let r1_came: usize = up.iter().filter(|u| u.round == 1).map(|u| u.responded).sum();
        assert_eq!((r1_sent, r1_came), (3, 1));
        let d = invite::dashboard(&s, &org, 2024).await.unwrap();
        assert_eq!((d.members, d.targets, d.issued, d.responded), (10, 7, 7, 2));
        assert_eq!(d.reminder_rounds, 2);

        // Every personal-data access left an audit row.
        let rows = s
            .audit_search(&daiko_store::audit::AuditQuery::default())
            .await
            .unwrap();
        for action in [
            "invite.roster.import",
            "invite.targets.read",
            "invite.vouchers.issue",
            "invite.vouchers.read",
            "invite.reminders",
            "invite.returned.mark",
        ] {
            assert!(
                rows.iter().any(|r| r.entry.action == action),
                "no audit row {action}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn settings_and_templates_are_checked() {
    each(async |_db, s, _| {
        let org = insurer(&s, &["invite"]).await;
        let mut st = invite::settings(&s, &org).await.unwrap();
        assert_eq!(st.reminder_variants, vec!["A", "B"]);
        st.basic = Some(daiko_check::reference::CopaymentSetting {
            code: 2,
            amount: None,
            rate: None,
            cap: None,
        });
        let e = invite::save_settings(&s, &org, &st, &actor())
            .await
            .unwrap_err();
        assert!(matches!(e, InviteError::BadSettings(_)), "{e}");
        st.basic = Some(daiko_check::reference::CopaymentSetting {
            code: 2,
            amount: Some(1000),
            rate: None,
            cap: None,
        });
        st.reminder_variants = vec!["やさしい".into(), "損失回避".into(), "期限".into()];
        invite::save_settings(&s, &org, &st, &actor())
            .await
            .unwrap();
        assert_eq!(invite::settings(&s, &org).await.unwrap(), st);
        assert!(invite::parse_settings(br#"{"nope": 1}"#).is_err());

        let (v, mut t) = invite::template(&s, &org).await.unwrap();
        assert_eq!(v, 0);
        t.title = "{年度} 健診のご案内 {宛名}".into();
        let e = invite::save_template(&s, &org, &t, &actor())
            .await
            .unwrap_err();
        assert!(e.en().contains("unknown placeholder"), "{e}");
        t.title = "{年度} 特定健診のご案内".into();
        assert_eq!(
            invite::save_template(&s, &org, &t, &actor()).await.unwrap(),
            1
        );
        assert_eq!(invite::template(&s, &org).await.unwrap(), (1, t.clone()));
        match invite::preview_pdf(&org, &st, &t, 2024, date(2024, 6, 1)) {
            Ok(pdf) => assert!(pdf.starts_with(b"%PDF")),
            Err(InviteError::NoFonts(e)) => eprintln!("SKIPPED preview: no fonts ({e})"),
            Err(e) => panic!("{e}"),
        }
    })
    .await;
}

fn daiko_invite_card(n: &str) -> invite::daiko_invite::CardKey {
    invite::daiko_invite::CardKey::new("S", n, "")
}

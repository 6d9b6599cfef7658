//! Vouchers issued by daiko are accepted by the checker's stage D, end to end on both
//! databases (PostgreSQL skipped with a message when absent): a roster → 受診券 issued
//! through the invitation flow (the insurer's own expiry and co-payment settings, one
//! member's expiry capped at the day before the 75th birthday) → a checkup archive from
//! `daiko-sample` about those members whose claims carry the issued numbers, expiries and
//! co-payments → submitted and checked by the worker against the database ledger. No
//! D finding (nor C-13, the ledger expiry) on the issued ones, and they are accepted and
//! delivered; the control claim with a number that was never issued gets D-03. Then 利用券
//! through the flow for the members whose accepted checkup states a support level.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use daiko_check::ReferenceData;
use daiko_invite::vouchers::VoucherKind;
use daiko_pipeline::intake::{Upload, receive_bytes};
use daiko_pipeline::invite::{self, Actor};
use daiko_pipeline::reference::DbReference;
use daiko_pipeline::reference::{RefKind, import_csv};
use daiko_pipeline::worker::{WorkerConfig, run_until_idle};
use daiko_sample::reference::{Setting, VoucherRow};
use daiko_sample::{GivenPerson, Period, SampleConfig};
use daiko_store::orgs::OrgKind;
use daiko_store::{Store, testdb};

const AGENCY: &str = "99000010";
/// A valid institution number (prefecture 99: nobody's).
const INSTITUTION: &str = "9910000018";
const LIMIT: u64 = 50 << 20;
/// A number of the issuing scheme (FY2024 受診券) that is never issued here.
const UNISSUED: &str = "24199999999";

async fn each(f: impl AsyncFn(&'static str, Store, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        let data = dir.path().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        f(name, store, &data).await;
    }
}

/// Six FY2024 targets; 05 turns 75 on 2024-06-10 (covered until 2024-06-09).
const ROSTER: &str = "\
card_symbol,card_number,card_branch,name,name_kana,sex,birth_date,postal_code,address1,address2,address3,insured_from,insured_to,member_type
12,01,00,健診 一郎,ケンシン　イチロウ,1,1970-05-05,1000013,東京都千代田区霞が関,1丁目3番2号,,2000-04-01,,1
12,02,00,受診 花子,ジュシン　ハナコ,2,1962-11-30,1500001,東京都渋谷区神宮前,1-1-1,,2000-04-01,,1
12,03,00,検査 三郎,ケンサ　サブロウ,1,1981-01-15,1600022,東京都新宿区新宿,3丁目1番,,2000-04-01,,1
12,04,00,予防 四子,ヨボウ　ヨツコ,2,1956-08-20,2310023,神奈川県横浜市中区山下町,1-2,,2000-04-01,,2
12,05,00,長寿 五郎,チョウジュ　ゴロウ,1,1949-06-10,5300001,大阪府大阪市北区梅田,2-4-9,,2000-04-01,,1
12,06,00,対照 六子,タイショウ　ロクコ,2,1968-03-03,1000001,東京都千代田区千代田,1-1,,2000-04-01,,1
";

/// Every co-payment pattern the ledger can state, on different categories: a rate with a
/// cap, a fixed amount, none, and a cap only; the expiry is 28 February (not the sample's
/// default of 31 March, so the claim's expiry comes from the issued voucher).
const SETTINGS: &str = r#"{
  "checkup_expiry": {"month": 2, "day": 28},
  "basic": {"code": 3, "rate": 30000, "cap": 5000},
  "detail": {"code": 2, "amount": 300},
  "additional": {"code": 1},
  "dock": {"code": 4, "cap": 30000}
}"#;

fn setting(c: Option<daiko_check::reference::CopaymentSetting>) -> Setting {
    let s = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    match c {
        None => Setting::default(),
        Some(c) => Setting {
            code: c.code.to_string(),
            amount: s(c.amount),
            rate: s(c.rate),
            cap: s(c.cap),
        },
    }
}

/// An issued voucher as the ledger row daiko-sample takes.
fn ledger_row(v: &daiko_invite::vouchers::IssuedVoucher) -> VoucherRow {
    VoucherRow {
        insurer_number: v.insurer.clone(),
        kind: v.kind.digit().to_string(),
        voucher_number: v.number.to_string(),
        card_symbol: v.card.symbol.clone(),
        card_number: v.card.number.clone(),
        name_kana: v.name_kana.clone(),
        birth_date: v.birth_date.strftime("%Y%m%d").to_string(),
        expiry: v.expiry.strftime("%Y%m%d").to_string(),
        basic: setting(v.basic),
        detail: setting(v.detail),
        additional: setting(v.additional),
        dock: setting(v.dock),
        guidance_level: String::new(),
    }
}

/// Rows of one insurer (plus the header) of a CSV with an `insurer_number` column.
fn rows_of(csv_text: &str, insurer: &str) -> String {
    let mut r = csv::ReaderBuilder::new().from_reader(csv_text.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = header.iter().position(|h| h == "insurer_number").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        if rec.get(col) == Some(insurer) {
            w.write_record(&rec).unwrap();
        }
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn worker() -> WorkerConfig {
    let mut cfg = WorkerConfig::new(AGENCY, "test:1");
    cfg.lease = Duration::from_secs(60);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_vouchers_pass_stage_d_and_an_unissued_number_does_not() {
    let insurer_number = daiko_sample::people::default_insurers()[0].clone();
    each(async |db, s, data| {
        let actor = Actor {
            login: "kenpo1".into(),
            role: "insurer".into(),
            org: insurer_number.clone(),
            source: "test".into(),
        };
        s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
            .await
            .unwrap();
        let institution = s
            .add_org(OrgKind::Institution, INSTITUTION, "健診機関", &[])
            .await
            .unwrap();
        let org = s
            .add_org(
                OrgKind::Insurer,
                &insurer_number,
                "テスト健康保険組合",
                &["check", "route", "invite"],
            )
            .await
            .unwrap();

        // Roster → settings → 受診券 through the flow.
        invite::import_roster(&s, &org, ROSTER.as_bytes(), "roster.csv", &actor)
            .await
            .unwrap();
        let settings = invite::parse_settings(SETTINGS.as_bytes()).unwrap();
        invite::save_settings(&s, &org, &settings, &actor)
            .await
            .unwrap();
        let report = invite::issue(&s, &org, 2024, &actor).await.unwrap();
        assert_eq!(report.issued, 6, "{db}");
        let vouchers = invite::issued(&s, &org, 2024, &actor).await.unwrap();
        let by_card: BTreeMap<&str, &daiko_invite::vouchers::IssuedVoucher> = vouchers
            .iter()
            .map(|v| (v.card.number.as_str(), v))
            .collect();
        assert_eq!(by_card["01"].expiry.to_string(), "2025-02-28");
        assert_eq!(by_card["05"].expiry.to_string(), "2024-06-09");

        // Claims about these members with their issued vouchers; the last one (06)
        // comes with a number that was never issued.
        let sexes = ["1", "2", "1", "2", "1", "2"];
        let persons: Vec<GivenPerson> = ["01", "02", "03", "04", "05", "06"]
            .iter()
            .zip(sexes)
            .map(|(card, sex)| {
                let mut voucher = ledger_row(by_card[card]);
                if *card == "06" {
                    voucher.voucher_number = UNISSUED.into();
                }
                GivenPerson {
                    voucher,
                    sex: if sex == "1" {
                        daiko_sample::people::Sex::Male
                    } else {
                        daiko_sample::people::Sex::Female
                    },
                    card_branch: "00".into(),
                }
            })
            .collect();
        // The first seed whose results give some issued members a support level (積極的
        // or 動機付け) and others none, and the control one (for the 利用券 part below).
        let archive = (1..500)
            .map(|seed| {
                let config = SampleConfig {
                    archives: 1,
                    records: persons.len(),
                    seed,
                    period: Period::Fy2024,
                    sender: Some(INSTITUTION.into()),
                    receiver: AGENCY.into(),
                    insurers: vec![insurer_number.clone()],
                    ..SampleConfig::default()
                };
                daiko_sample::generate_for_persons(&config, &persons)
                    .unwrap()
                    .remove(0)
            })
            .find(|a| {
                let levels: Vec<bool> = a
                    .manifest
                    .records
                    .iter()
                    .map(|r| {
                        level_in(&a.zip, &r.data_file)
                            .is_some_and(|l| matches!(l.as_str(), "1" | "2"))
                    })
                    .collect();
                let (issued, control) = levels.split_at(levels.len() - 1);
                control[0] && issued.iter().any(|l| *l) && issued.iter().any(|l| !*l)
            })
            .expect("a seed with and without support levels");
        let records = &archive.manifest.records;
        for (r, p) in records.iter().zip(&persons) {
            assert_eq!(r.voucher, p.voucher.voucher_number);
        }

        // The insurer's contracts and coverage (not its vouchers: the ledger is the issued one).
        let files: BTreeMap<&str, String> = daiko_sample::reference::reference_files(
            &archive.reference.institution,
            archive.reference.fiscal_year,
            &archive.reference.contracts,
            &[&archive.reference],
        )
        .into_iter()
        .collect();
        for (kind, file) in [
            (RefKind::Contracts, "contracts.csv"),
            (RefKind::Coverage, "coverage.csv"),
        ] {
            let text = rows_of(&files[file], &insurer_number);
            import_csv(&s, &org, kind, text.as_bytes(), "tester")
                .await
                .unwrap();
        }

        let upload = Upload {
            org: &institution,
            uploaded_by: Some("inst1"),
            role: "institution",
            channel: "api",
            archive_name: &archive.name,
            source: "127.0.0.1",
        };
        let got = receive_bytes(&s, &upload, &archive.zip, LIMIT)
            .await
            .unwrap();
        run_until_idle(&s, &worker()).await.unwrap();
        let sub = s.submission(&got.id).await.unwrap().unwrap();
        assert_eq!(sub.status, "done", "{db}");
        let report: serde_json::Value = serde_json::from_slice(
            &s.blobs()
                .get(sub.report_key.as_deref().unwrap())
                .await
                .unwrap(),
        )
        .unwrap();
        let findings: Vec<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap().to_string(),
                    f["file"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let control = records.last().unwrap();
        let control_files = [control.data_file.as_str(), control.claim_file.as_str()];
        // The issued ones: no finding at all of stage D or the ledger expiry (C-13).
        let ledger_codes = |c: &str| c.starts_with("D-") || c == "C-13";
        let on_issued: Vec<&(String, String)> = findings
            .iter()
            .filter(|(c, f)| ledger_codes(c) && !control_files.contains(&f.as_str()))
            .collect();
        assert!(on_issued.is_empty(), "{db}: {on_issued:?}");
        // The control: D-03 (not in the ledger) at its claim.
        assert!(
            findings
                .iter()
                .any(|(c, f)| c == "D-03" && f == &control.claim_file),
            "{db}: {findings:?}"
        );

        // The records: the issued ones accepted and delivered, the control not accepted.
        let stored = s.records_of_submission(&got.id).await.unwrap();
        assert_eq!(stored.len(), persons.len());
        for (r, p) in stored.iter().zip(&persons) {
            assert_eq!(r.voucher, p.voucher.voucher_number);
            if r.voucher == UNISSUED {
                assert_ne!(r.outcome, "accepted", "{db}");
            } else {
                assert_eq!(
                    (r.outcome.as_str(), r.state.as_str()),
                    ("accepted", "delivered"),
                    "{db}: {} {findings:?}",
                    r.voucher
                );
            }
        }
        // The claims carry what was issued: the expiry (C-13 above compares it) and the
        // co-payments of the settings (D-06 above recomputes them from the ledger); at
        // least one basic co-payment is non-zero, so the settings were not all "none".
        assert!(stored.iter().any(|r| r.copayment > 0), "{db}");

        // 利用券: members whose accepted checkup gave 積極的/動機付け支援, with that level.
        let expected: BTreeMap<String, String> = persons
            .iter()
            .zip(records)
            .filter(|(p, _)| p.voucher.voucher_number != UNISSUED)
            .filter_map(|(p, r)| {
                let level = level_in(&archive.zip, &r.data_file)?;
                matches!(level.as_str(), "1" | "2").then(|| (p.voucher.card_number.clone(), level))
            })
            .collect();
        let none_level = persons.len() - 1 - expected.len();
        assert!(
            !expected.is_empty() && none_level > 0,
            "the sample should have members with and without a support level: {expected:?}"
        );
        let control_level = level_in(&archive.zip, &control.data_file).unwrap();
        assert!(
            matches!(control_level.as_str(), "1" | "2"),
            "the control should have a level (and get nothing: its record was not accepted)"
        );
        let g = invite::issue_guidance(&s, &org, 2024, &actor)
            .await
            .unwrap();
        assert_eq!(
            (g.targets, g.issued, g.already),
            (expected.len(), expected.len(), 0),
            "{db}"
        );
        assert_eq!(g.first_number.as_deref(), Some("24200000001"));
        let again = invite::issue_kind(&s, &org, 2024, VoucherKind::Guidance, &actor)
            .await
            .unwrap();
        assert_eq!((again.issued, again.already), (0, expected.len()), "{db}");
        let guidance: Vec<daiko_invite::vouchers::IssuedVoucher> =
            invite::issued(&s, &org, 2024, &actor)
                .await
                .unwrap()
                .into_iter()
                .filter(|v| v.kind == VoucherKind::Guidance)
                .collect();
        let got: BTreeMap<String, String> = guidance
            .iter()
            .map(|v| {
                (
                    v.card.number.clone(),
                    v.guidance_level.unwrap().code().to_string(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{db}");
        for v in &guidance {
            assert_eq!(
                v.expiry.to_string(),
                "2026-03-31",
                "guidance runs into FY2025"
            );
            assert!(v.number.as_str().starts_with("242"));
        }
        // In the checker's ledger, with the level (C-15 compares a guidance claim's level).
        let (reference, _) = DbReference::prefetch(&s, "none", "x.zip", b"", "00")
            .await
            .unwrap();
        let ins = insurer_number.clone();
        let want: Vec<_> = guidance.iter().map(|v| v.to_record()).collect();
        let found = tokio::task::spawn_blocking(move || {
            want.iter()
                .map(|w| (w.clone(), reference.vouchers(&ins, 2, &w.number)))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        for (w, got) in found {
            assert!(w.guidance_level.is_some());
            assert_eq!(got, Some(vec![w]), "{db}");
        }

        // S18: the roster's names and addresses, and their copies in the issued vouchers and
        // the checker's ledger, are sealed: none of them is in the SQLite file or its log
        // (PostgreSQL: crates/store/tests/column_crypt.rs reads the raw columns).
        if db == "sqlite" {
            let dir = data.parent().unwrap().join("sqlite");
            let mut files = 0;
            for suffix in ["", "-wal", "-journal"] {
                let Ok(bytes) = std::fs::read(dir.join(format!("daiko.sqlite3{suffix}"))) else {
                    continue;
                };
                files += 1;
                for mark in [
                    "長寿 五郎",
                    "ケンシン　イチロウ",
                    "神宮前",
                    "霞が関",
                    "梅田",
                ] {
                    let hits = bytes
                        .windows(mark.len())
                        .filter(|w| *w == mark.as_bytes())
                        .count();
                    assert_eq!(hits, 0, "{mark} in daiko.sqlite3{suffix}");
                }
            }
            assert!(files >= 1, "no SQLite file under {}", dir.display());
        }
    })
    .await;
}

/// The 保健指導レベル code a CDA of the archive states, read from its XML text (an
/// independent reading from the flow's parser): the coded value after the item code.
fn level_in(zip: &[u8], data_file: &str) -> Option<String> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip)).ok()?;
    let name = (0..z.len())
        .filter_map(|i| {
            z.name_for_index(i)
                .and_then(|n| n.ok())
                .map(|n| n.to_string())
        })
        .find(|n| n.ends_with(data_file))?;
    let mut text = String::new();
    z.by_name(&name).ok()?.read_to_string(&mut text).ok()?;
    let after = &text[text.find("9N506000000000011")?..];
    let value = &after[after.find("<value")?..];
    let value = &value[..value.find('>')?];
    assert!(value.contains("1.2.392.200119.6.3001"), "{value}");
    let code = &value[value.find(" code=\"")? + 7..];
    Some(code[..code.find('"')?].to_string())
}

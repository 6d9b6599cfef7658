//! Adjudication against contracts through the server pipeline, on both databases
//! (PostgreSQL skipped with a message when absent).
//!
//! A collective contract (集合契約) held by a representative insurer for a member insurer
//! and two institutions is loaded; the member insurer imports no contract of its own.
//! 1. Clean archive: every record is accepted — the member pair included — and the
//!    findings equal the checker's on the same data as CSV files (the contracts exported
//!    from the database) and on the sample's original individual contracts.
//! 2. Changed reference data (a price edit and a cleared additional-item list as new
//!    versions of the collective contract, another insurer's contracts re-imported for a
//!    different institution, an unregistered insurer, ledger and coverage changes for the
//!    member insurer): C-09, C-10, C-13 and D-01 … D-06 fire, exactly as the checker finds
//!    them on the same data as CSV files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use daiko_check::sink::NullSink;
use daiko_check::{CheckConfig, Date, DirReference};
use daiko_pipeline::contracts;
use daiko_pipeline::intake::{Upload, receive_bytes};
use daiko_pipeline::reference::{RefKind, import_csv};
use daiko_pipeline::worker::{WorkerConfig, run_until_idle};
use daiko_sample::people::{default_insurers, insurer_number};
use daiko_sample::{SampleArchive, SampleConfig};
use daiko_store::audit::AuditEntry;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::{Store, testdb};

const AGENCY: &str = "99000010";
const LIMIT: u64 = 50 << 20;
/// An institution of the collective contract that sends nothing in these archives.
const OTHER_INSTITUTION: &str = "9910000999";

async fn each(f: impl AsyncFn(&'static str, Store, &Path)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        let data = dir.path().join(format!("data-{name}"));
        std::fs::create_dir_all(&data).unwrap();
        f(name, store, &data).await;
    }
}

/// Insurers A, B, C, D (the defaults), E (index 4: the same contract terms as A, so one
/// collective contract of A can cover both) and F (never registered: D-01).
fn insurers() -> Vec<String> {
    let mut v = default_insurers();
    v.push(insurer_number("06", "99", 202));
    v.push(insurer_number("06", "99", 203));
    v
}

/// Archive `pick` of a run (one sending institution per run unless `sender` is given).
fn sample(
    seed: u64,
    records: usize,
    insurers: Vec<String>,
    sender: Option<String>,
    pick: usize,
) -> SampleArchive {
    let cfg = SampleConfig {
        archives: pick + 1,
        records,
        seed,
        defect_rate: 0.0,
        receiver: AGENCY.into(),
        insurers,
        sender,
        ..SampleConfig::default()
    };
    daiko_sample::generate(&cfg).unwrap().remove(pick)
}

fn files(a: &SampleArchive) -> BTreeMap<&'static str, String> {
    daiko_sample::reference::reference_files(
        &a.reference.institution,
        a.reference.fiscal_year,
        &a.reference.contracts,
        &[&a.reference],
    )
    .into_iter()
    .collect()
}

/// A CSV as header + rows (maps column → value).
fn table(text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

fn write_table(header: &[String], rows: &[BTreeMap<String, String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for row in rows {
        w.write_record(header.iter().map(|h| row.get(h).map_or("", String::as_str)))
            .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

fn rows_of(text: &str, insurer: &str) -> String {
    let (h, rows) = table(text);
    let mine: Vec<_> = rows
        .into_iter()
        .filter(|r| r["insurer_number"] == insurer)
        .collect();
    write_table(&h, &mine)
}

/// A's rows of the sample's contracts.csv as one collective contract per commission type,
/// for A and `member`, with the sample institution and another one.
fn collective_of(contracts_csv: &str, a: &str, member: &str, institution: &str) -> String {
    let (mut h, rows) = table(contracts_csv);
    for c in [
        "contract_id",
        "form",
        "member_insurers",
        "member_institutions",
    ] {
        h.insert(0, c.to_string());
    }
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r["insurer_number"] == a)
        .map(|mut r| {
            r.insert(
                "contract_id".into(),
                format!("COLL-{}", r["commission_type"]),
            );
            r.insert("form".into(), "collective".into());
            r.insert("member_insurers".into(), member.into());
            r.insert(
                "member_institutions".into(),
                format!("{institution};{OTHER_INSTITUTION}"),
            );
            r.insert("institution_number".into(), String::new());
            r
        })
        .collect();
    assert!(!rows.is_empty());
    write_table(&h, &rows)
}

fn upload<'a>(org: &'a Org, name: &'a str) -> Upload<'a> {
    Upload {
        org,
        uploaded_by: Some("inst1"),
        role: "institution",
        channel: "api",
        archive_name: name,
        source: "127.0.0.1",
    }
}

fn worker() -> WorkerConfig {
    let mut cfg = WorkerConfig::new(AGENCY, "test:1");
    cfg.lease = Duration::from_secs(60);
    cfg
}

fn jst_day(ts: &str) -> Date {
    let z = daiko_store::parse_ts(ts)
        .unwrap()
        .to_zoned(daiko_pipeline::intake::jst());
    Date::new(i32::from(z.year()), z.month() as u32, z.day() as u32).unwrap()
}

type Found = Vec<(String, String, String)>;

/// Receives and checks an archive; answers (findings as code/file/outcome, the records).
async fn run(
    s: &Store,
    institution: &Org,
    a: &SampleArchive,
) -> (Found, Vec<daiko_store::submissions::RecordRow>, Date) {
    let got = receive_bytes(s, &upload(institution, &a.name), &a.zip, LIMIT)
        .await
        .unwrap();
    run_until_idle(s, &worker()).await.unwrap();
    let sub = s.submission(&got.id).await.unwrap().unwrap();
    assert_eq!(sub.status, "done");
    let report: serde_json::Value = serde_json::from_slice(
        &s.blobs()
            .get(sub.report_key.as_deref().unwrap())
            .await
            .unwrap(),
    )
    .unwrap();
    let found = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let records = s.records_of_submission(&got.id).await.unwrap();
    (found, records, jst_day(&sub.received_at))
}

/// The checker on a folder of CSV files.
fn expected(a: &SampleArchive, dir: &Path, files: &BTreeMap<&str, String>, day: Date) -> Found {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let reference = DirReference::load(dir).unwrap();
    let config = CheckConfig::for_agency(AGENCY).received_on(day);
    let r = daiko_check::check_archive(
        &a.name,
        Cursor::new(&a.zip),
        &config,
        &reference,
        &mut NullSink,
    );
    r.findings
        .iter()
        .map(|f| {
            (
                f.code.to_string(),
                f.file.clone(),
                serde_json::to_value(f.outcome)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// Findings of the contract and master-data stages (history checks depend on what the
/// database received before and are left out of the comparison).
fn contract_and_master(f: &Found) -> Found {
    f.iter()
        .filter(|(c, _, _)| c.starts_with("C-") || c.starts_with("D-"))
        .cloned()
        .collect()
}

fn codes(f: &Found) -> BTreeSet<String> {
    f.iter().map(|(c, _, _)| c.clone()).collect()
}

async fn import(s: &Store, org: &Org, kind: RefKind, text: &str) {
    import_csv(s, org, kind, text.as_bytes(), "tester")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collective_contract_adjudication_through_the_pipeline() {
    let all = insurers();
    let (a_no, b_no, e_no, f_no) = (&all[0], &all[1], &all[4], &all[5]);
    let clean = sample(31, 40, all[..5].to_vec(), None, 0);
    // The same institution, a later archive of the same fiscal year.
    let changed = sample(
        32,
        70,
        all.clone(),
        Some(clean.reference.institution.clone()),
        1,
    );
    assert_eq!(changed.reference.institution, clean.reference.institution);
    assert_eq!(changed.reference.fiscal_year, clean.reference.fiscal_year);
    assert_ne!(changed.name, clean.name);
    assert_eq!(
        clean.reference.contracts[0].basic_individual,
        clean.reference.contracts[4].basic_individual,
        "A and E must share terms"
    );
    each(async |db, s, data| {
        // ---- set-up: orgs, ledgers, coverage, contracts ----
        s.add_org(OrgKind::Agency, AGENCY, "代行機関", &[])
            .await
            .unwrap();
        let institution = s
            .add_org(
                OrgKind::Institution,
                &clean.reference.institution,
                "健診機関",
                &[],
            )
            .await
            .unwrap();
        let mut orgs = BTreeMap::new();
        for n in &all[..5] {
            let org = s
                .add_org(OrgKind::Insurer, n, "保険者", &["check", "route"])
                .await
                .unwrap();
            orgs.insert(n.clone(), org);
        }
        let f1 = files(&clean);
        for (n, org) in &orgs {
            import(&s, org, RefKind::Vouchers, &rows_of(&f1["vouchers.csv"], n)).await;
            import(&s, org, RefKind::Coverage, &rows_of(&f1["coverage.csv"], n)).await;
            if n == a_no {
                let text = collective_of(
                    &f1["contracts.csv"],
                    a_no,
                    e_no,
                    &clean.reference.institution,
                );
                import(&s, org, RefKind::Contracts, &text).await;
            } else if n != e_no {
                import(
                    &s,
                    org,
                    RefKind::Contracts,
                    &rows_of(&f1["contracts.csv"], n),
                )
                .await;
            }
        }
        // E holds no contract, yet is bound by A's collective contracts.
        assert_eq!(s.loaded_kinds(e_no).await.unwrap().contracts, None);
        let e_sees = contracts::binding(&s, e_no, Some(clean.reference.fiscal_year))
            .await
            .unwrap();
        assert_eq!(e_sees.len(), 2, "{db}: COLL-1 and COLL-2");

        // ---- 1. clean: everything accepted, the member pair included ----
        let (found, records, day) = run(&s, &institution, &clean).await;
        for r in &records {
            assert_eq!(r.outcome, "accepted", "{db}: {r:?} {found:?}");
        }
        let by_insurer = |n: &str| records.iter().filter(|r| r.insurer == n).count();
        assert!(by_insurer(a_no) > 0 && by_insurer(e_no) > 0, "{db}");
        assert!(
            !codes(&found).iter().any(|c| c == "D-02" || c == "C-09"),
            "{db}: {found:?}"
        );
        // The same judgement from CSV files: with the contracts exported from the
        // database, and with the sample's original individual contracts.
        let mut exported = f1.clone();
        let csv = contracts::export_csv(&s, None, None).await.unwrap();
        exported.insert("contracts.csv", String::from_utf8(csv).unwrap());
        exported.insert(
            "records.csv",
            "insurer_number,card_number,voucher_number,service_event_type,state\n".into(),
        );
        exported.insert("archives.csv", "archive_name\n".into());
        assert_eq!(
            found,
            expected(&clean, &data.join("ref1"), &exported, day),
            "{db}: database and exported CSV differ"
        );
        let mut original = exported.clone();
        original.insert("contracts.csv", f1["contracts.csv"].clone());
        assert_eq!(
            found,
            expected(&clean, &data.join("ref1o"), &original, day),
            "{db}: collective and individual contracts judge differently"
        );

        // ---- 2. changed reference data ----
        let f2 = files(&changed);
        let a_org = &orgs[a_no];
        let operator = AuditEntry {
            actor: "operator".into(),
            role: "operator".into(),
            org: AGENCY.into(),
            action: String::new(),
            target: String::new(),
            records: String::new(),
            source: "test".into(),
            detail: String::new(),
        };
        // New versions of the collective contracts: COLL-1's basic price up by 1 yen
        // (C-09), no additional items in either (C-10).
        for id in ["COLL-1", "COLL-2"] {
            let cur = s.current_contract(a_no, id).await.unwrap().unwrap();
            let mut c = contracts::decode(&cur).unwrap().contract;
            if id == "COLL-1" {
                c.basic = c.basic.map(|b| b + 1);
            }
            c.additional.clear();
            let saved = contracts::save_edit(&s, a_org, &c, Some(cur.version), &operator)
                .await
                .unwrap();
            assert_eq!(saved.version.version, 2);
        }
        // Version 1 stays readable.
        let hist = contracts::history(&s, a_no, Some("COLL-2")).await.unwrap();
        assert_eq!(hist.len(), 2);
        assert!(!hist[0].contract.additional.is_empty());
        assert!(hist[1].contract.additional.is_empty());
        // B's contracts now name another institution only (D-02); the old ones are
        // withdrawn versions.
        let b_text = rows_of(&f2["contracts.csv"], b_no)
            .replace(&changed.reference.institution, OTHER_INSTITUTION);
        import(&s, &orgs[b_no], RefKind::Contracts, &b_text).await;
        assert!(
            contracts::history(&s, b_no, None)
                .await
                .unwrap()
                .iter()
                .any(|v| v.version.withdrawn),
            "{db}"
        );
        // E's ledger and coverage: one voucher missing (D-03), one expired (D-05, C-13),
        // one with another co-payment (D-06), one person not covered (D-04).
        let (vh, vrows) = table(&f2["vouchers.csv"]);
        let e_vouchers: Vec<String> = vrows
            .iter()
            .filter(|r| r["insurer_number"] == *e_no && r["kind"] == "1")
            .map(|r| r["voucher_number"].clone())
            .collect();
        assert!(
            e_vouchers.len() >= 4,
            "{db}: E needs 4 checkups, has {e_vouchers:?}"
        );
        let mut e_rows = Vec::new();
        let mut uncovered_card = String::new();
        for mut r in vrows.into_iter().filter(|r| r["insurer_number"] == *e_no) {
            let v = r["voucher_number"].clone();
            if v == e_vouchers[0] {
                continue;
            } else if v == e_vouchers[1] {
                r.insert("expiry".into(), "20000101".into());
            } else if v == e_vouchers[2] {
                let none = r["basic_code"] == "1";
                r.insert("basic_code".into(), if none { "2" } else { "1" }.into());
                r.insert("basic_amount".into(), if none { "1000" } else { "" }.into());
                r.insert("basic_rate".into(), String::new());
                r.insert("basic_cap".into(), String::new());
            } else if v == e_vouchers[3] {
                uncovered_card = r["card_number"].clone();
            }
            e_rows.push(r);
        }
        let (ch, crows) = table(&f2["coverage.csv"]);
        let e_cov: Vec<_> = crows
            .into_iter()
            .filter(|r| r["insurer_number"] == *e_no)
            .map(|mut r| {
                if r["card_number"] == uncovered_card {
                    r.insert("valid_to".into(), "20000101".into());
                }
                r
            })
            .collect();
        let mut vouchers_text = BTreeMap::new();
        let mut coverage_text = BTreeMap::new();
        for (n, org) in &orgs {
            let (v, c) = if n == e_no {
                (write_table(&vh, &e_rows), write_table(&ch, &e_cov))
            } else {
                (
                    rows_of(&f2["vouchers.csv"], n),
                    rows_of(&f2["coverage.csv"], n),
                )
            };
            import(&s, org, RefKind::Vouchers, &v).await;
            import(&s, org, RefKind::Coverage, &c).await;
            vouchers_text.insert(n.clone(), v);
            coverage_text.insert(n.clone(), c);
        }

        let (found, records, day) = run(&s, &institution, &changed).await;
        // Record-level findings (a check skipped for an insurer without data is reported
        // once against the archive, as info).
        let on_records: Found = found
            .iter()
            .filter(|(_, f, o)| (f.starts_with("DATA/") || f.starts_with("CLAIMS/")) && o == "FR")
            .cloned()
            .collect();
        let fired = codes(&on_records);
        for code in [
            "C-09", "C-10", "C-13", "D-01", "D-02", "D-03", "D-04", "D-05", "D-06",
        ] {
            assert!(fired.contains(code), "{db}: {code} did not fire: {found:?}");
        }
        // Who got what: C-09/C-10 only for the collective contract's insurers, D-01 only
        // for the unregistered one, D-02 only for B.
        let insurer_of = |file: &str| {
            records
                .iter()
                .find(|r| r.claim_file == file || r.data_file == file)
                .map(|r| r.insurer.clone())
                .unwrap_or_default()
        };
        for (code, file, _) in &on_records {
            let who = insurer_of(file);
            match code.as_str() {
                "C-09" | "C-10" => assert!(who == *a_no || who == *e_no, "{code} {file} {who}"),
                "D-01" => assert_eq!(&who, f_no, "{code} {file}"),
                "D-02" => assert_eq!(&who, b_no, "{code} {file}"),
                "D-03" | "D-04" | "D-05" | "D-06" | "C-13" => {
                    assert_eq!(&who, e_no, "{code} {file}")
                }
                _ => {}
            }
        }
        // Records of members still under the contract and with clean data are accepted.
        assert!(
            records
                .iter()
                .any(|r| r.insurer == *e_no && r.outcome == "accepted"),
            "{db}"
        );

        // The same findings from CSV files of the same data.
        let mut folder = f2.clone();
        let (ih, irows) = table(&f2["insurers.csv"]);
        let clients: Vec<_> = irows
            .into_iter()
            .filter(|r| r["insurer_number"] != *f_no)
            .collect();
        folder.insert("insurers.csv", write_table(&ih, &clients));
        let join = |m: &BTreeMap<String, String>| {
            let mut out = String::new();
            for (i, t) in m.values().enumerate() {
                let mut lines = t.lines();
                let head = lines.next().unwrap_or_default();
                if i == 0 {
                    out.push_str(head);
                    out.push('\n');
                }
                for l in lines {
                    out.push_str(l);
                    out.push('\n');
                }
            }
            out
        };
        folder.insert("vouchers.csv", join(&vouchers_text));
        folder.insert("coverage.csv", join(&coverage_text));
        let csv = contracts::export_csv(&s, None, None).await.unwrap();
        folder.insert("contracts.csv", String::from_utf8(csv).unwrap());
        folder.insert(
            "records.csv",
            "insurer_number,card_number,voucher_number,service_event_type,state\n".into(),
        );
        folder.insert("archives.csv", "archive_name\n".into());
        assert_eq!(
            contract_and_master(&found),
            contract_and_master(&expected(&changed, &data.join("ref2"), &folder, day)),
            "{db}: database and CSV files differ"
        );
    })
    .await;
}

/// import → export → import: the second import adds no version and the versions' content
/// is identical; the export of the re-imported data is byte-identical.
#[tokio::test]
async fn import_export_import_round_trip() {
    let text = "contract_id,form,insurer_number,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price\n\
                HK-2024-A,collective,06010001,06010002;06010003,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,basic,7680\n\
                HK-2024-A,collective,06010001,06010002;06010003,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,additional:3F015000002327101,500\n\
                ,,6010001,,0110000009,,,2024,2,2024-04-01,,basic,6600\n\
                ,,06010001,,0110000009,,,2024,2,2024-04-01,,guidance:2,20000\n\
                ,,06010001,,0110000009,,,2024,2,2024-04-01,,share:1,80\n\
                ,,06010001,,0110000009,,,2024,2,2024-04-01,,other_program,1\n";
    each(async |db, s, _| {
        let org = s
            .add_org(OrgKind::Insurer, "06010001", "代表保険者", &["check"])
            .await
            .unwrap();
        let first = contracts::import_contracts(&s, &org, text.as_bytes(), "op")
            .await
            .unwrap();
        assert_eq!((first.contracts, first.summary.added), (2, 2), "{db}");
        let before = contracts::history(&s, &org.number, None).await.unwrap();
        let exported = contracts::export_csv(&s, Some(&org.number), None)
            .await
            .unwrap();
        let second = contracts::import_contracts(&s, &org, &exported, "op")
            .await
            .unwrap();
        assert_eq!(
            (
                second.summary.unchanged,
                second.summary.added,
                second.summary.changed
            ),
            (2, 0, 0),
            "{db}"
        );
        let after = contracts::history(&s, &org.number, None).await.unwrap();
        let content = |v: &[contracts::StoredContract]| {
            v.iter()
                .map(|s| {
                    (
                        s.version.contract_id.clone(),
                        s.version.version,
                        s.version.contract_json.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(content(&before), content(&after), "{db}");
        assert_eq!(
            exported,
            contracts::export_csv(&s, Some(&org.number), None)
                .await
                .unwrap(),
            "{db}"
        );
        // The same contracts as the file says, read back from the database.
        let parsed =
            daiko_check::reference::parse_contracts_csv("contracts.csv", text.as_bytes()).unwrap();
        let stored: Vec<_> = contracts::current(&s, Some(&org.number), Some(2024))
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.contract)
            .collect();
        assert_eq!(parsed, stored, "{db}");
    })
    .await;
}

//! The portal end to end in headless Chromium (Debian's `chromium`) driven by
//! `tests/browser/portal.mjs` (playwright-core): an institution signs in with password and
//! TOTP, uploads a generated archive with progress, sees 受付結果 with Japanese findings; an
//! insurer downloads and acknowledges the delivery and switches to English; an auditor
//! searches the trail. Screenshots land in `target/browser-screenshots/`.
//!
//! Without chromium, node or playwright-core the test prints `SKIPPED browser test: …` and
//! passes, unless `DAIKO_REQUIRE_BROWSER=1` (CI).

#[path = "browser/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use daiko_store::orgs::OrgKind;

fn missing_prerequisite(dir: &Path) -> Option<String> {
    let chromium = std::env::var("DAIKO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} not found (apt-get install chromium fonts-noto-cjk)"
        ));
    }
    if Command::new("node")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        return Some("node not found (apt-get install nodejs)".into());
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return Some(format!(
            "playwright-core not installed (cd {} && npm install --no-save playwright-core@1)",
            dir.display()
        ));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_end_to_end_in_chromium() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script_dir = manifest.join("tests/browser");
    if let Some(why) = missing_prerequisite(&script_dir) {
        if std::env::var("DAIKO_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("browser test required (DAIKO_REQUIRE_BROWSER=1) but {why}");
        }
        println!("SKIPPED browser test: {why}");
        return;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../target"));
    let shots = target.join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let s = harness::start(false).await;
    // One insurer for every person so that a delivery is certain; some defects for findings.
    let insurer_number = daiko_sample::SampleConfig::default().insurers[0].clone();
    let cfg = daiko_sample::SampleConfig {
        archives: 1,
        records: 8,
        seed: 7,
        defect_rate: 0.25,
        receiver: harness::AGENCY_NUMBER.into(),
        insurers: vec![insurer_number.clone()],
        ..daiko_sample::SampleConfig::default()
    };
    let sample = daiko_sample::generate(&cfg).unwrap().remove(0);
    let archive = s.dir.path().join(&sample.name);
    std::fs::write(&archive, &sample.zip).unwrap();

    // A member roster for the invitations page (two targets in FY2024, one too young).
    let roster = s.dir.path().join("roster.csv");
    std::fs::write(
        &roster,
        "記号,番号,氏名,氏名カナ,性別,生年月日,郵便番号,住所1,住所2,資格取得日,本人家族区分\n\
         M,01,緑 花子,ミドリ ハナコ,2,1970-05-05,1000013,東京都千代田区霞が関,1丁目3番2号,2000-04-01,2\n\
         M,02,𠮷田 太郎,ヨシダ タロウ,1,1960-01-01,5300001,大阪府大阪市北区梅田,2-4-9,2000-04-01,1\n\
         M,03,若葉 三郎,ワカバ サブロウ,1,1995-01-01,5300001,大阪府大阪市北区梅田,2-4-10,2000-04-01,1\n",
    )
    .unwrap();
    let inst = s
        .store
        .add_org(
            OrgKind::Institution,
            &sample.reference.institution,
            "さくら健診センター",
            &[],
        )
        .await
        .unwrap();
    let ins = s
        .store
        .add_org(
            OrgKind::Insurer,
            &insurer_number,
            "みどり健康保険組合",
            &["check", "route", "invite"],
        )
        .await
        .unwrap();
    let p_inst = s
        .person("sakura", "institution", Some(&inst), false, false)
        .await;
    let p_ins = s
        .person("midori", "insurer", Some(&ins), false, false)
        .await;
    let p_aud = s.person("kansa", "auditor", None, false, false).await;

    // The pipeline's worker, as `daiko serve` runs it.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut wcfg =
        daiko_pipeline::worker::WorkerConfig::new(harness::AGENCY_NUMBER, "browser-test");
    wcfg.poll = Duration::from_millis(200);
    let worker = tokio::spawn(daiko_pipeline::worker::run(s.store.clone(), wcfg, rx));

    let mut cmd = Command::new("node");
    cmd.current_dir(&script_dir)
        .arg("portal.mjs")
        .arg(&s.base)
        .arg(&shots)
        .env("DAIKO_ARCHIVE", &archive)
        .env("DAIKO_ROSTER", &roster);
    for (who, p) in [("INST", &p_inst), ("INSURER", &p_ins), ("AUDITOR", &p_aud)] {
        cmd.env(format!("DAIKO_{who}_LOGIN"), &p.user.login)
            .env(format!("DAIKO_{who}_PASSWORD"), &p.password)
            .env(format!("DAIKO_{who}_TOTP"), &p.totp);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), worker).await;
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "portal.mjs failed: {}", out.status);

    // What the browser did is in the database too.
    let dels = s.store.deliveries(Some(&ins.id), 10).await.unwrap();
    assert!(
        dels.iter()
            .any(|d| d.received_by.as_deref() == Some("midori")),
        "acknowledged in the store"
    );
    let audit = |prefix: &str| {
        let store = s.store.clone();
        let prefix = prefix.to_string();
        async move {
            store
                .audit_search(&daiko_store::audit::AuditQuery {
                    action_prefix: Some(prefix),
                    limit: 100,
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    let logins: Vec<String> = audit("auth.login")
        .await
        .into_iter()
        .map(|r| r.entry.actor)
        .collect();
    for who in ["sakura", "midori", "kansa"] {
        assert!(
            logins.iter().any(|l| l == who),
            "{who} login audited: {logins:?}"
        );
    }
    assert_eq!(audit("delivery.download").await.len(), 1);
    let pngs = std::fs::read_dir(&shots)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "png")
        })
        .count();
    assert!(pngs >= 10, "screenshots: {pngs}");
}

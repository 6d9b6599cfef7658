//! `daiko demo`: a seeded demo agency in a data folder — insurers and institutions,
//! reference data, users of every role, sample submissions already processed — then the
//! server. Running it again on the same folder serves what is there.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use daiko_pipeline::reference::RefKind;
use daiko_store::Store;
use daiko_store::orgs::{Org, OrgKind};
use daiko_store::users::NewUser;

use crate::Exit;
use crate::admin::{self, DataDir};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "DAIKO_LISTEN")]
    pub listen: Option<String>,
    /// Seed the folder and exit without serving (for scripts and tests).
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo agency's number and name.
const AGENCY: (&str, &str) = ("99000010", "デモ代行機関");
/// The password of every demo account (a second factor is still required).
const DEMO_PASSWORD: &str = "Daiko-Demo-2026";

/// Demo accounts: login, role, organisation (index into the demo orgs or None = agency), name.
fn demo_users(
    insurers: &[Org],
    institutions: &[Org],
) -> Vec<(String, &'static str, Option<Org>, String)> {
    let mut u = vec![
        (
            "admin".to_string(),
            "admin",
            None,
            "管理者 一郎".to_string(),
        ),
        (
            "operator".to_string(),
            "operator",
            None,
            "事務 花子".to_string(),
        ),
        (
            "auditor".to_string(),
            "auditor",
            None,
            "監査 次郎".to_string(),
        ),
        (
            "maintenance".to_string(),
            "maintenance",
            None,
            "保守 三郎".to_string(),
        ),
        (
            "emergency".to_string(),
            "emergency",
            None,
            "緊急 用".to_string(),
        ),
    ];
    for (i, o) in insurers.iter().enumerate() {
        u.push((
            format!("kenpo{}", i + 1),
            "insurer",
            Some(o.clone()),
            format!("{} 担当", o.name),
        ));
    }
    for (i, o) in institutions.iter().enumerate() {
        u.push((
            format!("clinic{}", i + 1),
            "institution",
            Some(o.clone()),
            format!("{} 担当", o.name),
        ));
    }
    u
}

pub fn run(data: &DataDir, args: DemoArgs) -> Result<Exit> {
    let mut config = admin::load_config(data, None)?;
    if let Some(l) = &args.listen {
        config.listen = l
            .parse()
            .with_context(|| format!("--listen {l:?} is not an address like 127.0.0.1:8080"))?;
    }
    if std::env::var("DAIKO_SERVICE_HOURS").is_err() {
        // A demo should open whenever someone tries it.
        config.service_hours =
            daiko_server::hours::ServiceHours::parse("always").context("hours")?;
    }
    admin::runtime()?.block_on(async move {
        let store = admin::open_store(&config).await?;
        let seeded = store.setting("demo").await?.is_some();
        if !seeded {
            if store.agency().await?.is_some() {
                anyhow::bail!(
                    "{} holds a non-demo installation; `daiko demo` only seeds an empty folder (use --data-dir)",
                    config.data_dir.display()
                );
            }
            eprintln!("seeding the demo agency in {} …", config.data_dir.display());
            seed(&store, &config.data_dir).await?;
        }
        let banner = banner(&store, &config).await?;
        if args.no_serve {
            println!("{banner}");
            return Ok(Exit::Ok);
        }
        admin::run_server(store, config, Some(banner)).await
    })
}

async fn seed(store: &Store, data_dir: &std::path::Path) -> Result<()> {
    let agency = store
        .add_org(OrgKind::Agency, AGENCY.0, AGENCY.1, &[])
        .await?;
    daiko_pipeline::media::ensure_agency_keys(store, data_dir).await?;
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives: 3,
        records: 12,
        guidance_archives: 1,
        seed: 2026,
        period: daiko_sample::Period::Fy2024,
        defect_rate: 0.15,
        sender: None,
        receiver: agency.number.clone(),
        insurers: daiko_sample::people::default_insurers(),
        reference_defects: false,
    })
    .context("cannot generate the demo archives")?;
    let Some(first) = samples.first() else {
        anyhow::bail!("the sample generator made no archives");
    };
    let institution_number = first.reference.institution.clone();

    let names = [
        "さくら健康保険組合",
        "みなと健康保険組合",
        "やまと共済組合",
        "ひかり市国民健康保険",
    ];
    let mut insurers = Vec::new();
    for (i, number) in daiko_sample::people::default_insurers().iter().enumerate() {
        let name = names.get(i).copied().unwrap_or("デモ保険者");
        insurers.push(
            store
                .add_org(OrgKind::Insurer, number, name, &daiko_store::orgs::SERVICES)
                .await?,
        );
    }
    let institutions = vec![
        store
            .add_org(
                OrgKind::Institution,
                &institution_number,
                "デモ健診センター",
                &[],
            )
            .await?,
        store
            .add_org(
                OrgKind::Institution,
                "1319999998",
                "デモ第二クリニック",
                &[],
            )
            .await?,
    ];

    // Reference data: the sample's CSV folder, split per insurer (an insurer loads only its own).
    let tmp = tempfile_dir(data_dir)?;
    daiko_sample::write_to_dir(&samples, &tmp)?;
    for (file, kind) in [
        ("vouchers.csv", RefKind::Vouchers),
        ("coverage.csv", RefKind::Coverage),
        ("contracts.csv", RefKind::Contracts),
    ] {
        let path = tmp.join("reference").join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for ins in &insurers {
            let part = rows_of_insurer(&text, &ins.number)?;
            daiko_pipeline::reference::import_csv(store, ins, kind, part.as_bytes(), "demo")
                .await
                .with_context(|| format!("demo reference {file} for {}", ins.number))?;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let hash = daiko_server::auth::hash_password(DEMO_PASSWORD)?;
    for (login, role, org, name) in demo_users(&insurers, &institutions) {
        let secret = daiko_server::auth::new_totp_secret()?;
        let org_id = org
            .as_ref()
            .map(|o| o.id.clone())
            .unwrap_or_else(|| agency.id.clone());
        store
            .add_user(&NewUser {
                login: &login,
                display_name: &name,
                role,
                org_id: Some(&org_id),
                password_hash: &hash,
                must_change_password: false,
                totp_secret: &secret,
            })
            .await?;
    }

    // Sample submissions, received and processed as if uploaded by the institution.
    let institution = &institutions[0];
    for s in &samples {
        let up = daiko_pipeline::intake::Upload {
            org: institution,
            uploaded_by: Some("clinic1"),
            role: "institution",
            channel: "api",
            archive_name: &s.name,
            source: "demo",
        };
        daiko_pipeline::intake::receive_bytes(store, &up, &s.zip, u64::MAX).await?;
    }
    let worker = daiko_pipeline::worker::WorkerConfig::new(&agency.number, "demo-seed");
    daiko_pipeline::worker::run_until_idle(store, &worker).await?;
    store.set_setting("demo", "1").await?;
    Ok(())
}

/// The header line plus the rows whose `insurer_number` is `insurer`.
fn rows_of_insurer(csv_text: &str, insurer: &str) -> Result<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers()?.clone();
    let col = headers
        .iter()
        .position(|h| h == "insurer_number")
        .context("no insurer_number column")?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers)?;
    for r in reader.records() {
        let r = r?;
        if r.get(col) == Some(insurer) {
            w.write_record(&r)?;
        }
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
    )?)
}

fn tempfile_dir(data_dir: &std::path::Path) -> Result<PathBuf> {
    let p = data_dir
        .join("tmp")
        .join(format!("demo-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(p)
}

async fn banner(store: &Store, config: &daiko_server::ServerConfig) -> Result<String> {
    let mut b = String::new();
    b.push_str("daiko demo — デモ代行機関\n");
    b.push_str(&format!("  data folder: {}\n", config.data_dir.display()));
    b.push_str(&format!("  portal:      http://{}/\n", config.listen));
    b.push_str(&format!(
        "  password for every demo login: {DEMO_PASSWORD}\n"
    ));
    b.push_str("  second factor: the TOTP code of the account's secret (authenticator app),\n");
    b.push_str(&format!(
        "                 or `daiko --data-dir {} demo-code LOGIN` prints the current code\n",
        config.data_dir.display()
    ));
    b.push_str("  logins:\n");
    for u in store.users(None).await? {
        let org = match &u.org_id {
            Some(id) => store
                .org(id)
                .await?
                .map(|o| format!("{} {}", o.number, o.name))
                .unwrap_or_default(),
            None => String::new(),
        };
        b.push_str(&format!("    {:<12} {:<12} {}\n", u.login, u.role, org));
    }
    Ok(b)
}

/// `daiko demo-code LOGIN`: the current TOTP code of a demo account (demo folders only).
#[derive(Debug, Args)]
pub struct DemoCodeArgs {
    pub login: String,
}

pub fn code(data: &DataDir, args: DemoCodeArgs) -> Result<Exit> {
    let config = admin::load_config(data, None)?;
    admin::runtime()?.block_on(async move {
        let store = admin::open_store(&config).await?;
        if store.setting("demo").await?.is_none() {
            anyhow::bail!("demo-code only works on a folder made by `daiko demo`");
        }
        let u = store
            .user_by_login(&args.login)
            .await?
            .with_context(|| format!("no user {:?}", args.login))?;
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        let code = daiko_server::auth::totp_code(&u.totp_secret, now)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("{code}");
        Ok(Exit::Ok)
    })
}

//! `daiko jobs pause|resume|status` through the real binary (S24): only an administrator
//! who signs with password and TOTP pauses or resumes a job kind; each change is one audit
//! row (`jobs.pause`, `jobs.resume`) with the administrator's login; unknown kinds and wrong
//! credentials change nothing; the pause is in the database, where every worker's claim
//! reads it.

use std::path::Path;
use std::process::{Command, Output};

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn daiko(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_daiko"));
    c.arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DAIKO_PASSWORD");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run daiko")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "daiko failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn code(offset: u64) -> String {
    let now = jiff::Timestamp::now().as_second() as u64 + offset;
    daiko_server::auth::totp_code(SECRET, now).expect("code")
}

fn status_line(dir: &Path, kind: &str) -> String {
    ok(daiko(dir, &["jobs", "status"], &[]))
        .lines()
        .find(|l| l.starts_with(&format!("{kind}\t")))
        .unwrap_or_else(|| panic!("no {kind} line"))
        .to_string()
}

#[test]
fn only_an_administrator_pauses_and_resumes_a_job_kind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    ok(daiko(
        &dir,
        &[
            "init",
            "--agency-number",
            "99000010",
            "--agency-name",
            "代行",
        ],
        &[],
    ));
    let initial = [("DAIKO_INITIAL_PASSWORD", "Initial-Pass-2026-x")];
    ok(daiko(
        &dir,
        &["user", "add", "--login", "boss", "--role", "admin"],
        &initial,
    ));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt
        .block_on(daiko_store::Store::open(&dir, None))
        .expect("store");
    let boss = rt
        .block_on(store.user_by_login("boss"))
        .expect("q")
        .expect("boss");
    let hash = daiko_server::auth::hash_password("Boss-Own-Pass-2026").expect("hash");
    rt.block_on(store.set_password(&boss.id, &hash, false))
        .expect("password");
    rt.block_on(store.set_totp_secret(&boss.id, SECRET))
        .expect("totp");
    let password = [("DAIKO_PASSWORD", "Boss-Own-Pass-2026")];

    // Every kind runs at first.
    for kind in daiko_pipeline::worker::KINDS {
        assert!(status_line(&dir, kind).contains("\trunning\t"), "{kind}");
    }
    // Unknown kinds and wrong credentials change nothing.
    let o = daiko(
        &dir,
        &[
            "jobs",
            "pause",
            "deliver",
            "--as",
            "boss",
            "--totp",
            &code(0),
        ],
        &password,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("unknown job kind"), "{}", text(&o));
    assert!(text(&o).contains("不明なジョブ種別"), "{}", text(&o));
    let o = daiko(
        &dir,
        &["jobs", "pause", "route", "--as", "boss", "--totp", &code(0)],
        &[("DAIKO_PASSWORD", "wrong-password")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = daiko(
        &dir,
        &[
            "jobs",
            "pause",
            "route",
            "--as",
            "nobody",
            "--totp",
            &code(0),
        ],
        &password,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(rt.block_on(store.job_pauses()).expect("q").is_empty());

    // The administrator pauses route.
    let out = ok(daiko(
        &dir,
        &[
            "jobs",
            "pause",
            "route",
            "--reason",
            "配信先の障害",
            "--as",
            "boss",
            "--totp",
            &code(0),
        ],
        &password,
    ));
    assert!(out.contains("paused: route"), "{out}");
    let line = status_line(&dir, "route");
    assert!(
        line.contains("\tpaused\t") && line.contains("boss") && line.contains("配信先の障害"),
        "{line}"
    );
    assert!(status_line(&dir, "check").contains("\trunning\t"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(daiko(&dir, &["jobs", "status", "--json"], &[]))).expect("json");
    let route = json["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == "route")
        .expect("route")
        .clone();
    assert_eq!(route["paused"]["paused_by"], "boss", "{json}");
    // Every worker's claim reads the pause: a queued route job is not claimed.
    rt.block_on(store.enqueue("route", "no-such-submission"))
        .expect("enqueue");
    assert!(
        rt.block_on(store.claim_job(
            "test",
            &daiko_pipeline::worker::KINDS,
            std::time::Duration::from_secs(60)
        ))
        .expect("claim")
        .is_none(),
        "a paused kind was claimed"
    );

    // Resume (the next TOTP step: the current one is spent).
    let out = ok(daiko(
        &dir,
        &[
            "jobs",
            "resume",
            "route",
            "--as",
            "boss",
            "--totp",
            &code(30),
        ],
        &password,
    ));
    assert!(out.contains("resumed: route"), "{out}");
    assert!(status_line(&dir, "route").contains("\trunning\t"));
    let job = rt
        .block_on(store.claim_job(
            "test",
            &daiko_pipeline::worker::KINDS,
            std::time::Duration::from_secs(60),
        ))
        .expect("claim")
        .expect("claimed after the resume");
    assert_eq!(job.kind, "route");

    // One audit row per change, by the administrator.
    let q = daiko_store::audit::AuditQuery {
        actor: None,
        action_prefix: Some("jobs.".into()),
        org: None,
        since: None,
        until: None,
        limit: 100,
    };
    let rows = rt.block_on(store.audit_search(&q)).expect("audit");
    let actions: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.entry.action.as_str(),
                r.entry.actor.as_str(),
                r.entry.target.as_str(),
            )
        })
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(actions.contains(&("jobs.pause", "boss", "job_kind:route")));
    assert!(actions.contains(&("jobs.resume", "boss", "job_kind:route")));
}

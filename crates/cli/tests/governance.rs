//! Governance through the real `daiko` binary (issue 6): the first administrator is the
//! only account granted alone; other agency roles wait for an administrator who signs the
//! approval with password and TOTP (S10); `user reset` records the identity check (S7);
//! `maintenance ticket|report` (S11); `audit review` (S16).

use std::path::Path;
use std::process::{Command, Output};

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

fn pending_id(out: &str) -> String {
    out.split_whitespace()
        .skip_while(|w| *w != "approval")
        .nth(1)
        .unwrap_or_else(|| panic!("no approval id in {out:?}"))
        .to_string()
}

#[test]
fn four_eyes_reset_tickets_and_review_at_the_command_line() {
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
    // The first administrator is created alone (nobody could approve it).
    let out = ok(daiko(
        &dir,
        &["user", "add", "--login", "boss", "--role", "admin"],
        &initial,
    ));
    assert!(out.contains("added user boss"), "{out}");
    // Every further agency role waits for an approval.
    let out = ok(daiko(
        &dir,
        &["user", "add", "--login", "ops1", "--role", "operator"],
        &initial,
    ));
    assert!(out.contains("pending approval"), "{out}");
    let id = pending_id(&out);
    assert!(ok(daiko(&dir, &["approvals", "list"], &[])).contains(&id));

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt
        .block_on(daiko_store::Store::open(&dir, None))
        .expect("store");
    assert!(
        rt.block_on(store.user_by_login("ops1"))
            .expect("q")
            .is_none()
    );
    // The administrator has not changed the initial password nor enrolled a second
    // factor: the approval is refused.
    let code = |offset: u64| {
        let now = jiff::Timestamp::now().as_second() as u64 + offset;
        daiko_server::auth::totp_code("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", now).expect("code")
    };
    let o = daiko(
        &dir,
        &[
            "approvals",
            "approve",
            &id,
            "--as",
            "boss",
            "--totp",
            &code(0),
        ],
        &[("DAIKO_PASSWORD", "Initial-Pass-2026-x")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("初期パスワード"), "{}", text(&o));
    let boss = rt
        .block_on(store.user_by_login("boss"))
        .expect("q")
        .expect("boss");
    let hash = daiko_server::auth::hash_password("Boss-Own-Pass-2026").expect("hash");
    rt.block_on(store.set_password(&boss.id, &hash, false))
        .expect("password");
    rt.block_on(store.set_totp_secret(&boss.id, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
        .expect("totp");
    // A wrong password is refused; the right one with a fresh code approves.
    let o = daiko(
        &dir,
        &[
            "approvals",
            "approve",
            &id,
            "--as",
            "boss",
            "--totp",
            &code(0),
        ],
        &[("DAIKO_PASSWORD", "wrong-password")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = ok(daiko(
        &dir,
        &[
            "approvals",
            "approve",
            &id,
            "--as",
            "boss",
            "--totp",
            &code(0),
        ],
        &[("DAIKO_PASSWORD", "Boss-Own-Pass-2026")],
    ));
    assert!(
        out.contains("executed") && out.contains("initial password"),
        "{out}"
    );
    let ops = rt
        .block_on(store.user_by_login("ops1"))
        .expect("q")
        .expect("ops1 created after approval");
    assert_eq!(ops.role, "operator");

    // S7: the identity check is required; the ledger row and the code.
    let o = daiko(
        &dir,
        &[
            "user",
            "reset",
            "--login",
            "ops1",
            "--verified-by",
            "passport",
            "--checked-by",
            " ",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("本人確認"), "{}", text(&o));
    let out = ok(daiko(
        &dir,
        &[
            "user",
            "reset",
            "--login",
            "ops1",
            "--verified-by",
            "passport",
            "--checked-by",
            "boss",
        ],
        &[],
    ));
    assert!(out.contains("one-time code"), "{out}");
    let ledger = rt
        .block_on(store.password_resets(Some(&ops.id)))
        .expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].verified_by, "passport");

    // S11: a ticket waits for approval, then the report shows it.
    let engineer = rt
        .block_on(store.add_user(&daiko_store::users::NewUser {
            login: "engineer-1",
            display_name: "vendor",
            role: "maintenance",
            org_id: Some(&boss.org_id.clone().expect("agency")),
            password_hash: "x",
            must_change_password: true,
            totp_secret: "",
        }))
        .expect("engineer");
    let from = daiko_store::now();
    let to = daiko_store::format_ts(
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(2))
            .expect("time"),
    );
    let out = ok(daiko(
        &dir,
        &[
            "maintenance",
            "ticket",
            "--ticket",
            "CHG-7",
            "--login",
            &engineer.login,
            "--from",
            &from,
            "--to",
            &to,
            "--description",
            "swap the backup disk",
        ],
        &[],
    ));
    let tid = pending_id(&out);
    let o = daiko(&dir, &["maintenance", "report", "--ticket", "CHG-7"], &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "no ticket before approval: {}",
        text(&o)
    );
    ok(daiko(
        &dir,
        &[
            "approvals",
            "approve",
            &tid,
            "--as",
            "boss",
            "--totp",
            &code(30),
        ],
        &[("DAIKO_PASSWORD", "Boss-Own-Pass-2026")],
    ));
    let out = ok(daiko(
        &dir,
        &["maintenance", "report", "--ticket", "CHG-7"],
        &[],
    ));
    assert!(
        out.contains("CHG-7")
            && out.contains("swap the backup disk")
            && out.contains("approved: boss"),
        "{out}"
    );

    // S16: today's review lists the grants; a clean period lists nothing (exit 0).
    let today = daiko_server::hours::jst_date(jiff::Timestamp::now()).to_string();
    let o = daiko(
        &dir,
        &[
            "audit", "review", "--from", &today, "--to", &today, "--format", "csv",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(csv.contains("role_grant") && csv.contains("boss"), "{csv}");
    assert!(
        csv.contains("failed_login"),
        "the wrong approval password: {csv}"
    );
    assert!(
        csv.contains("maintenance") && csv.contains("CHG-7"),
        "{csv}"
    );
    let out = ok(daiko(
        &dir,
        &[
            "audit",
            "review",
            "--from",
            "2020-01-01",
            "--to",
            "2020-01-02",
        ],
        &[],
    ));
    assert!(out.contains("nothing to review"), "{out}");
}

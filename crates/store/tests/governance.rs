//! Governance rows on SQLite and PostgreSQL: reset codes expire, work once and only for
//! their user (S7); approvals are decided once and never by their requester (S10); ticket
//! windows (S11); role changes and the audit period query.

use daiko_store::audit::AuditEntry;
use daiko_store::governance::{Decision, MaintenanceTicket, NewReset};
use daiko_store::orgs::OrgKind;
use daiko_store::testdb;
use daiko_store::users::NewUser;

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        actor: "tester".into(),
        action: action.into(),
        ..Default::default()
    }
}

fn ts(mins: i64) -> String {
    daiko_store::format_ts(
        jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_mins(mins))
            .expect("time"),
    )
}

fn reset<'a>(user_id: &'a str, code_hash: &'a str, expires_at: &'a str) -> NewReset<'a> {
    NewReset {
        user_id,
        verified_by: "passport",
        checked_by: "desk",
        note: "",
        issued_by: "admin",
        code_hash,
        expires_at,
        locked_password_hash: "locked",
    }
}

#[tokio::test]
async fn resets_approvals_tickets_on_both_databases() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, s) in testdb::stores(dir.path()).await.expect("stores") {
        eprintln!("-- on {db}");
        let agency = s
            .add_org(OrgKind::Agency, "99000010", "代行", &[])
            .await
            .expect("agency");
        let add = async |login: &str, role: &str| {
            s.add_user(&NewUser {
                login,
                display_name: login,
                role,
                org_id: Some(&agency.id),
                password_hash: "old-hash",
                must_change_password: false,
                totp_secret: "",
            })
            .await
            .expect("user")
        };
        let alice = add("alice", "operator").await;
        let bob = add("bob", "operator").await;
        assert_eq!(s.enabled_admins().await.expect("count"), 0);

        // S7: an expired code fails; a new reset supersedes the old code; one use only;
        // another user's code does not work.
        let (past, soon) = (ts(-1), ts(60));
        s.add_password_reset(
            &reset(&alice.id, "h-expired", &past),
            &entry("user.reset_issue"),
        )
        .await
        .expect("reset");
        assert_eq!(
            s.user(&alice.id)
                .await
                .expect("q")
                .expect("u")
                .password_hash,
            "locked",
            "the old password stops working at once"
        );
        let none = s
            .redeem_password_reset(&alice.id, "h-expired", "new", &entry("x"))
            .await
            .expect("redeem");
        assert!(none.is_none(), "{db}: expired");
        for h in ["h-first", "h-second"] {
            s.add_password_reset(&reset(&alice.id, h, &soon), &entry("user.reset_issue"))
                .await
                .expect("reset");
        }
        assert!(
            s.redeem_password_reset(&alice.id, "h-first", "new", &entry("x"))
                .await
                .expect("q")
                .is_none(),
            "{db}: superseded by the newer reset"
        );
        assert!(
            s.redeem_password_reset(&bob.id, "h-second", "new", &entry("x"))
                .await
                .expect("q")
                .is_none(),
            "{db}: not bob's code"
        );
        let used = s
            .redeem_password_reset(&alice.id, "h-second", "new-hash", &entry("x"))
            .await
            .expect("q")
            .expect("redeemed");
        assert!(used.used_at.is_some());
        assert_eq!(
            s.user(&alice.id)
                .await
                .expect("q")
                .expect("u")
                .password_hash,
            "new-hash"
        );
        assert!(
            s.redeem_password_reset(&alice.id, "h-second", "again", &entry("x"))
                .await
                .expect("q")
                .is_none(),
            "{db}: once"
        );
        assert_eq!(
            s.password_resets(Some(&alice.id)).await.expect("q").len(),
            3
        );
        let empty = NewReset {
            checked_by: " ",
            ..reset(&bob.id, "h-empty", &soon)
        };
        assert!(s.add_password_reset(&empty, &entry("x")).await.is_err());

        // S10: not by the requester, once.
        let a = s
            .request_approval(
                "reprocess",
                "{}",
                "rerun",
                "alice",
                &entry("approval.request"),
            )
            .await
            .expect("request");
        assert_eq!(a.status, "pending");
        assert_eq!(
            s.decide_approval(&a.id, "alice", true, "", &entry("approval.approve"))
                .await
                .expect("decide"),
            Decision::OwnRequest
        );
        match s
            .decide_approval(&a.id, "bob", true, "ok", &entry("approval.approve"))
            .await
            .expect("decide")
        {
            Decision::Decided(d) => {
                assert_eq!(d.status, "approved");
                assert_eq!(d.decided_by.as_deref(), Some("bob"));
            }
            other => panic!("{db}: {other:?}"),
        }
        assert_eq!(
            s.decide_approval(&a.id, "carol", false, "", &entry("approval.reject"))
                .await
                .expect("decide"),
            Decision::NotPending("approved".into())
        );
        s.finish_approval(&a.id, true, "done")
            .await
            .expect("finish");
        assert_eq!(
            s.approval(&a.id).await.expect("q").expect("a").status,
            "executed"
        );
        assert_eq!(s.approvals(Some("pending")).await.expect("q").len(), 0);
        assert_eq!(s.approvals(None).await.expect("q").len(), 1);

        // S11: the window decides.
        s.add_maintenance_ticket(
            &MaintenanceTicket {
                ticket: "T-1".into(),
                user_id: bob.id.clone(),
                description: "disk".into(),
                window_from: ts(-10),
                window_to: ts(10),
                requested_by: "alice".into(),
                approved_by: "carol".into(),
                approval_id: a.id.clone(),
                created_at: daiko_store::now(),
            },
            &entry("maintenance.ticket"),
        )
        .await
        .expect("ticket");
        assert!(
            s.active_maintenance_ticket(&bob.id, &daiko_store::now())
                .await
                .expect("q")
                .is_some()
        );
        assert!(
            s.active_maintenance_ticket(&bob.id, &ts(11))
                .await
                .expect("q")
                .is_none()
        );
        assert!(
            s.active_maintenance_ticket(&alice.id, &daiko_store::now())
                .await
                .expect("q")
                .is_none()
        );

        // Role change and the audit period.
        s.set_user_role(&bob.id, "admin", &entry("role.grant"))
            .await
            .expect("role");
        assert_eq!(s.enabled_admins().await.expect("count"), 1);
        assert!(
            s.set_user_role(&bob.id, "king", &entry("role.grant"))
                .await
                .is_err()
        );
        let rows = s
            .audit_period(&ts(-5), &ts(5), Some("tester"), None)
            .await
            .expect("period");
        assert!(rows.iter().any(|r| r.entry.action == "role.grant"));
        assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(
            s.audit_period(&ts(-5), &ts(5), Some("nobody"), None)
                .await
                .expect("period")
                .is_empty()
        );
    }
}

//! Returned-mail marks (宛所不明) and their audit rows (S18): the trail names the member by the
//! same lookup key as the tables (`card-key:<card_key_idx>`), its notes are sealed, the note
//! is nowhere in the SQLite file or WAL, and `returned_mail_history` finds a member's marks
//! and clears by the card key (rows of the older `card-idx:` form too) with the notes opened.

use std::path::Path;

use daiko_pipeline::invite::{self, Actor};
use daiko_store::audit::AuditEntry;
use daiko_store::invite::CardRow;
use daiko_store::orgs::OrgKind;
use daiko_store::{Store, testdb};
use sqlx::Row;

const INS: &str = "06139998";
const NOTE_MARK: &str = "ZqxReturnNote転居先不明";
const CLEAR_MARK: &str = "ZqxClearNote住所訂正";
const LEGACY_MARK: &str = "ZqxLegacyNote";

fn actor() -> Actor {
    Actor {
        login: "kenpo1".into(),
        role: "insurer".into(),
        org: INS.into(),
        source: "test".into(),
    }
}

fn card(n: &str) -> invite::daiko_invite::CardKey {
    invite::daiko_invite::CardKey::new("S", n, "01")
}

fn row(n: &str) -> CardRow {
    CardRow {
        symbol: "S".into(),
        number: n.into(),
        branch: "01".into(),
    }
}

fn hits(dir: &Path, needle: &str) -> usize {
    ["", "-wal", "-journal"]
        .iter()
        .filter_map(|suffix| std::fs::read(dir.join(format!("daiko.sqlite3{suffix}"))).ok())
        .map(|b| {
            b.windows(needle.len())
                .filter(|w| *w == needle.as_bytes())
                .count()
        })
        .sum()
}

async fn check(s: &Store) {
    let org = s
        .add_org(OrgKind::Insurer, INS, "テスト健康保険組合", &["invite"])
        .await
        .unwrap();
    // A row of the older form: `card-idx:` of purpose `card` over the card key's text, note
    // in the clear.
    let legacy = s
        .index_key(INS)
        .await
        .unwrap()
        .index("card", &card("71").to_string());
    s.audit(&AuditEntry {
        actor: "kenpo0".into(),
        role: "insurer".into(),
        org: INS.into(),
        action: "invite.returned.mark".into(),
        target: format!("insurer:{INS}"),
        records: format!("card-idx:{legacy}"),
        source: "test".into(),
        detail: LEGACY_MARK.into(),
    })
    .await
    .unwrap();
    invite::set_returned_mail(s, &org, &card("71"), true, NOTE_MARK, &actor())
        .await
        .unwrap();
    invite::set_returned_mail(s, &org, &card("72"), true, "other", &actor())
        .await
        .unwrap();

    // The audit row and the table share the lookup key.
    let idx = s.card_key_index(INS, &row("71")).await.unwrap();
    let in_table: String = sqlx::query_scalar(
        "SELECT card_key_idx FROM invite_returned_mail WHERE insurer = $1 AND card_key_idx = $2",
    )
    .bind(INS)
    .bind(&idx)
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(in_table, idx);
    let audit = sqlx::query(
        "SELECT records, detail FROM audit WHERE action = 'invite.returned.mark' ORDER BY seq",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(audit.len(), 3);
    let records: String = audit[1].try_get("records").unwrap();
    assert_eq!(records, format!("card-key:{idx}"));
    // Raw columns: the notes are sealed in the table and in the trail; control: the legacy
    // row's clear note is found the same way.
    let details: Vec<String> = audit
        .iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect();
    assert_eq!(details[0], LEGACY_MARK);
    for d in &details[1..] {
        assert!(d.starts_with("enc1:") && !d.contains(NOTE_MARK), "{d}");
    }
    let notes: Vec<String> = sqlx::query_scalar("SELECT note FROM invite_returned_mail")
        .fetch_all(s.pool())
        .await
        .unwrap();
    assert_eq!(notes.len(), 2);
    for n in &notes {
        assert!(n.starts_with("enc1:"), "{n}");
    }
    let h = invite::returned_mail_history(s, &org, &card("71"), &actor())
        .await
        .unwrap();
    assert_eq!(h.card_key_idx, idx);
    assert_eq!(h.mark.as_ref().unwrap().note, NOTE_MARK);
    assert_eq!(
        h.events
            .iter()
            .map(|e| (e.action.as_str(), e.note.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("invite.returned.mark", LEGACY_MARK),
            ("invite.returned.mark", NOTE_MARK)
        ]
    );

    invite::set_returned_mail(s, &org, &card("71"), false, CLEAR_MARK, &actor())
        .await
        .unwrap();
    let h = invite::returned_mail_history(s, &org, &card("71"), &actor())
        .await
        .unwrap();
    assert!(h.mark.is_none());
    assert_eq!(h.events.len(), 3);
    assert_eq!(h.events[2].action, "invite.returned.clear");
    assert_eq!(h.events[2].note, CLEAR_MARK);
    // The other member's rows are not among them, and the look-ups were audited.
    let other = invite::returned_mail_history(s, &org, &card("72"), &actor())
        .await
        .unwrap();
    assert_eq!(other.events.len(), 1);
    assert_eq!(other.events[0].note, "other");
    let finds: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE action = 'invite.returned.find'")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(finds, 3);
    // A note sealed for one member does not open for another.
    sqlx::query(
        "UPDATE audit SET detail = (SELECT detail FROM audit WHERE action = \
         'invite.returned.mark' AND detail = $1) WHERE action = 'invite.returned.clear'",
    )
    .bind(&details[2])
    .execute(s.pool())
    .await
    .unwrap();
    let err = invite::returned_mail_history(s, &org, &card("71"), &actor())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("authenticate"), "{err}");
}

#[tokio::test]
async fn returned_mail_audit_rows_share_the_card_key_index_and_seal_notes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, s) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        check(&s).await;
        s.close().await;
    }
    let data = dir.path().join("sqlite");
    // Control: the legacy row's clear note is in the file.
    assert!(hits(&data, LEGACY_MARK) > 0, "the control marker is found");
    for mark in [NOTE_MARK, CLEAR_MARK] {
        assert_eq!(hits(&data, mark), 0, "{mark} in the SQLite files");
    }
}

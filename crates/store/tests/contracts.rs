//! Versioned contracts on both databases (PostgreSQL skipped with a message when absent).

use daiko_store::contracts::{ContractDraft, SaveOutcome};
use daiko_store::{Store, testdb};

async fn each(f: impl AsyncFn(&'static str, Store)) {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in testdb::stores(dir.path()).await.unwrap() {
        eprintln!("-- on {name}");
        f(name, store).await;
    }
}

fn individual(id: &str, insurer: &str, institution: &str, json: &str) -> ContractDraft {
    ContractDraft {
        contract_id: id.into(),
        form: "individual".into(),
        fiscal_year: 2024,
        valid_from: "20240401".into(),
        valid_to: String::new(),
        insurers: vec![insurer.into()],
        institutions: vec![institution.into()],
        contract_json: json.into(),
    }
}

fn collective(json: &str) -> ContractDraft {
    ContractDraft {
        contract_id: "HK-A".into(),
        form: "collective".into(),
        fiscal_year: 2024,
        valid_from: String::new(),
        valid_to: String::new(),
        insurers: vec!["06010001".into(), "06010002".into(), "06010003".into()],
        institutions: vec!["0110000001".into(), "0110000002".into()],
        contract_json: json.into(),
    }
}

#[tokio::test]
async fn imports_add_versions_and_never_overwrite() {
    each(async |_db, s| {
        let a = "06010001";
        assert_eq!(s.loaded_kinds(a).await.unwrap().contracts, None);
        let first = vec![
            individual("c1", a, "0110000009", r#"{"basic":7000}"#),
            collective(r#"{"basic":7680}"#),
        ];
        let sum = s.import_contracts(a, &first, 5, "op").await.unwrap();
        assert_eq!(
            (sum.added, sum.changed, sum.unchanged, sum.withdrawn),
            (2, 0, 0, 0)
        );
        assert_eq!(s.loaded_kinds(a).await.unwrap().contracts, Some(5));

        // The same file again changes nothing.
        let sum = s.import_contracts(a, &first, 5, "op").await.unwrap();
        assert_eq!((sum.added, sum.changed, sum.unchanged), (0, 0, 2));
        assert_eq!(s.contract_history(a, None).await.unwrap().len(), 2);

        // A changed price → version 2; c1 left out → withdrawn version.
        let second = vec![collective(r#"{"basic":7700}"#)];
        let sum = s.import_contracts(a, &second, 1, "op2").await.unwrap();
        assert_eq!((sum.changed, sum.withdrawn), (1, 1));
        let hist = s.contract_history(a, Some("HK-A")).await.unwrap();
        assert_eq!(hist.len(), 2);
        assert_eq!(
            hist[0].contract_json, r#"{"basic":7680}"#,
            "old version kept"
        );
        assert!(hist[0].superseded_at.is_some());
        assert_eq!((hist[1].version, hist[1].author.as_str()), (2, "op2"));
        assert!(hist[1].superseded_at.is_none());
        let c1 = s.contract_history(a, Some("c1")).await.unwrap();
        assert_eq!(c1.len(), 2);
        assert!(!c1[0].withdrawn && c1[1].withdrawn);
        assert_eq!(c1[1].contract_json, c1[0].contract_json);

        // Lookups see current versions only, for every member pair.
        for ins in ["06010001", "06010002", "06010003"] {
            for inst in ["0110000001", "0110000002"] {
                assert_eq!(
                    s.contracts_between(ins, inst, 2024).await.unwrap(),
                    vec![r#"{"basic":7700}"#.to_string()]
                );
            }
            assert!(s.bound_by_contract(ins).await.unwrap());
        }
        assert!(
            s.contracts_between(a, "0110000009", 2024)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.contracts_between("06010002", "0110000001", 2023)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(!s.bound_by_contract("06019999").await.unwrap());
        assert_eq!(s.current_contracts(Some(a), None).await.unwrap().len(), 1);
        assert_eq!(
            s.contracts_binding("06010003", Some(2024))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            s.contracts_binding("06010003", Some(2023))
                .await
                .unwrap()
                .is_empty()
        );

        // Withdrawn and back: a new version again.
        let sum = s.import_contracts(a, &first, 5, "op").await.unwrap();
        assert_eq!((sum.added, sum.changed), (1, 1));
        assert_eq!(s.contract_history(a, Some("c1")).await.unwrap().len(), 3);

        // Duplicate ids in one file are refused, nothing changes.
        let dup = vec![collective("{}"), collective("{}")];
        assert!(
            s.import_contracts(a, &dup, 2, "op")
                .await
                .unwrap_err()
                .is_unique_violation()
        );
        assert_eq!(s.contract_history(a, None).await.unwrap().len(), 6);
    })
    .await;
}

#[tokio::test]
async fn edits_add_one_version_and_refuse_stale_ones() {
    each(async |_db, s| {
        let a = "06990014";
        s.import_contracts(
            a,
            &[individual("c1", a, "9910000018", "{\"p\":1}")],
            1,
            "op",
        )
        .await
        .unwrap();
        let edit = individual("c1", a, "9910000018", "{\"p\":2}");
        let SaveOutcome::Saved(v) = s.save_contract(a, &edit, Some(1), "editor").await.unwrap()
        else {
            panic!("not saved")
        };
        assert_eq!(
            (v.version, v.source.as_str(), v.author.as_str()),
            (2, "edit", "editor")
        );
        // An editor who saw version 1 is refused.
        let late = individual("c1", a, "9910000018", "{\"p\":3}");
        assert_eq!(
            s.save_contract(a, &late, Some(1), "other").await.unwrap(),
            SaveOutcome::Stale {
                seen: 1,
                current: 2
            }
        );
        // Saving the same content adds nothing.
        assert!(matches!(
            s.save_contract(a, &edit, Some(2), "editor").await.unwrap(),
            SaveOutcome::Unchanged(_)
        ));
        assert_eq!(
            s.contracts_between(a, "9910000018", 2024).await.unwrap(),
            vec!["{\"p\":2}".to_string()]
        );
        // A new contract by edit, for an insurer that never imported.
        let b = "06990022";
        let new = individual("n1", b, "9910000018", "{}");
        assert!(matches!(
            s.save_contract(b, &new, None, "editor").await.unwrap(),
            SaveOutcome::Saved(_)
        ));
        assert_eq!(s.loaded_kinds(b).await.unwrap().contracts, Some(0));
        let cur = s.current_contract(b, "n1").await.unwrap().unwrap();
        assert_eq!(cur.version, 1);
        assert!(s.current_contract(b, "nope").await.unwrap().is_none());
        assert_eq!(
            s.current_contracts(None, Some(2024)).await.unwrap().len(),
            2
        );
    })
    .await;
}

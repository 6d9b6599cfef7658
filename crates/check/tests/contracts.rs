//! contracts.csv: individual (個別) and collective (集合) contracts, the checker's lookup
//! through `DirReference`, the format's errors and the export round trip.

use daiko_check::reference::{
    Contract, ContractForm, ReferenceError, parse_contracts_csv, write_contracts_csv,
};
use daiko_check::{Date, DirReference, ReferenceData};

const HEADER: &str = "contract_id,form,insurer_number,representative_insurer,member_insurers,institution_number,coordinator,member_institutions,fiscal_year,commission_type,valid_from,valid_to,item,price\n";

fn collective_file() -> String {
    format!(
        "{HEADER}\
         HK-2024-A,collective,06010001,06010001,06010002;6010003,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,basic,7680\n\
         HK-2024-A,collective,06010001,,06010002;6010003,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,detail:2,1600\n\
         HK-2024-A,collective,06010001,,06010002;6010003,,北海道医師会,0110000001;0110000002,2024,1,20240401,20250331,additional:3F015000002327101,500\n"
    )
}

#[test]
fn collective_contract_applies_to_every_member_pair() {
    let list = parse_contracts_csv("contracts.csv", collective_file().as_bytes()).unwrap();
    assert_eq!(list.len(), 1);
    let c = &list[0];
    assert_eq!(c.form, ContractForm::Collective);
    assert_eq!(c.contract_id, "HK-2024-A");
    assert_eq!(c.member_insurers, ["06010002", "06010003"]);
    assert_eq!(c.coordinator, "北海道医師会");
    assert_eq!(c.insurers(), ["06010001", "06010002", "06010003"]);
    assert_eq!(c.institutions(), ["0110000001", "0110000002"]);
    assert_eq!(c.basic, Some(7680));
    assert_eq!(c.detail.get("2"), Some(&1600));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contracts.csv"), collective_file()).unwrap();
    let r = DirReference::load(dir.path()).unwrap();
    for insurer in ["06010001", "06010002", "06010003"] {
        for institution in ["0110000001", "0110000002"] {
            let got = r.contracts(insurer, institution, 2024).unwrap();
            assert_eq!(got.len(), 1, "{insurer} × {institution}");
            assert!(got[0].in_force_on(Date::new(2024, 6, 1).unwrap()));
        }
        // Loaded for every member insurer, but no contract with another institution.
        assert_eq!(r.contracts(insurer, "0110000009", 2024), Some(vec![]));
        assert_eq!(r.contracts(insurer, "0110000001", 2023), Some(vec![]));
    }
    // An insurer outside the contract has no contracts loaded at all.
    assert_eq!(r.contracts("06010009", "0110000001", 2024), None);
}

#[test]
fn individual_contracts_come_before_collective_ones() {
    let text = format!("{},,06010002,,,0110000001,,,2024,1,,,basic,8000\n", "ind-1");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contracts.csv"), collective_file() + &text).unwrap();
    let r = DirReference::load(dir.path()).unwrap();
    let got = r.contracts("06010002", "0110000001", 2024).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].form, got[0].basic),
        (ContractForm::Individual, Some(8000))
    );
    assert_eq!(got[1].form, ContractForm::Collective);
}

#[test]
fn first_format_files_group_as_before() {
    let text = "insurer_number,institution_number,fiscal_year,commission_type,valid_from,valid_to,item,price\n\
                6990014,9910000018,2023,1,20230401,20230930,basic,7000\n\
                06990014,9910000018,2023,1,2023-04-01,2023-09-30,detail:1,900\n\
                06990014,9910000018,2023,1,20231001,20240331,basic,7200\n\
                06990014,9910000018,2023,2,20230401,20230930,basic,6000\n";
    let list = parse_contracts_csv("contracts.csv", text.as_bytes()).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].contract_id, "9910000018-2023-1-20230401-20230930");
    assert_eq!(list[0].form, ContractForm::Individual);
    assert_eq!(
        (list[0].basic, list[0].detail.get("1")),
        (Some(7000), Some(&900))
    );
    assert_eq!(list[1].basic, Some(7200));
    assert_eq!(list[2].commission_type, 2);
}

fn error_of(text: &str) -> String {
    match parse_contracts_csv("contracts.csv", text.as_bytes()) {
        Err(e @ ReferenceError::Value { .. }) => e.to_string(),
        other => panic!("expected a value error, got {other:?}"),
    }
}

#[test]
fn collective_rules_are_enforced_with_positions() {
    // A collective contract needs an id.
    let e = error_of(&format!(
        "{HEADER},collective,06010001,,,,,0110000001,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("line 2, column 1 (contract_id)"), "{e}");
    // ... and member institutions.
    let e = error_of(&format!(
        "{HEADER}X,collective,06010001,,,,,,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("(member_institutions)"), "{e}");
    // Member lists belong to collective contracts only.
    let e = error_of(&format!(
        "{HEADER},,06010001,,06010002,0110000001,,,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("column 5 (member_insurers)"), "{e}");
    // The representative is the insurer holding the contract.
    let e = error_of(&format!(
        "{HEADER}X,collective,06010001,06010002,,,,0110000001,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("(representative_insurer)"), "{e}");
    // A malformed member number.
    let e = error_of(&format!(
        "{HEADER}X,collective,06010001,,,,,0110000001;12345,2024,1,,,basic,7680\n"
    ));
    assert!(
        e.contains("(member_institutions)") && e.contains("12345"),
        "{e}"
    );
    // Rows of one contract must agree on its parties.
    let e = error_of(&format!(
        "{HEADER}X,collective,06010001,,,,,0110000001,2024,1,,,basic,7680\n\
         X,collective,06010001,,,,,0110000002,2024,1,,,detail:1,900\n"
    ));
    assert!(e.contains("line 3, column 1 (contract_id)"), "{e}");
    let e = error_of(&format!(
        "{HEADER}X,group,06010001,,,,,0110000001,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("(form)"), "{e}");
    let e = error_of(&format!(
        "{HEADER}a/b,,06010001,,,0110000001,,,2024,1,,,basic,7680\n"
    ));
    assert!(e.contains("(contract_id)"), "{e}");
}

#[test]
fn export_reads_back_to_the_same_contracts() {
    let text = collective_file()
        + "ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,basic,8000\n\
           ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,dock,40000\n\
           ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,guidance:2,20000\n\
           ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,share:1,80\n\
           ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,share:2,20\n\
           ind-1,individual,06010002,,,0110000001,,,2024,2,,20250331,other_program,1\n";
    let first = parse_contracts_csv("contracts.csv", text.as_bytes()).unwrap();
    let mut out = Vec::new();
    write_contracts_csv(&first, &mut out).unwrap();
    let second = parse_contracts_csv("export.csv", out.as_slice()).unwrap();
    assert_eq!(first, second);
    assert!(second[1].other_program_allowed);
    // And writing again gives the same bytes.
    let mut again = Vec::new();
    write_contracts_csv(&second, &mut again).unwrap();
    assert_eq!(out, again);
    // A contract built in code without an id is written with its derived id.
    let c = Contract {
        insurer: "06990014".into(),
        institution: "9910000018".into(),
        fiscal_year: 2023,
        commission_type: 1,
        basic: Some(7000),
        ..Contract::default()
    };
    let mut out = Vec::new();
    write_contracts_csv(std::slice::from_ref(&c), &mut out).unwrap();
    let back = parse_contracts_csv("x.csv", out.as_slice()).unwrap();
    assert_eq!(back[0].contract_id, c.derived_id());
}

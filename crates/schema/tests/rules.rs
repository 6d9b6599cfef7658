//! X-02 behaviour on hand-made documents: what the native rules accept and reject, and how the
//! violations read (path, position, message). Self-contained: no shared files needed.

use daiko_schema::{Schema, SchemaSet, Violation, validate};

const NS18: &str = "http://tokuteikenshin.jp/checkup/2007";
const NS24: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";

fn check(text: &str, set: SchemaSet, schema: Schema) -> Vec<Violation> {
    let doc = roxmltree::Document::parse(text).expect("test document parses");
    validate(&doc, set, schema)
}

fn summary(ns: &str, body: &str) -> String {
    format!(r#"<summary xmlns="{ns}">{body}</summary>"#)
}

const SUMMARY_BODY: &str = r#"<serviceEventType code="1"/><totalSubjectCount value="1"/><totalCostAmount value="8700"/><totalPaymentAmount value="1000"/><totalClaimAmount value="7700"/>"#;

fn claim(ns: &str, card_extra: &str, settlement: &str) -> String {
    format!(
        r#"<checkupClaim xmlns="{ns}">
<encounter><serviceEventType code="1"/></encounter>
<subjectPerson>
  <performerOrganization><id root="1.2.392.200119.6.102" extension="9910000018"/></performerOrganization>
  <insuranceCard><insurerNumber root="1.2.392.200119.6.101" extension="06990014"/><number root="1.2.392.200119.6.205" extension="1"/>{card_extra}</insuranceCard>
  <name>ミホンタロウ</name>
  <addr>架空町<postalCode>000-0000</postalCode></addr>
  <birthTime value="19710405"/>
  <administrativeGender code="1"/>
</subjectPerson>
<checkupCard/>
<settlement><claimType code="1"/><commissionType code="1"/>{settlement}</settlement>
</checkupClaim>"#
    )
}

const SETTLEMENT_OK: &str =
    r#"<unitAmount value="8700"/><paymentAmount value="1000"/><claimAmount value="7700"/>"#;

#[test]
fn a_valid_summary_has_no_violations() {
    assert_eq!(
        check(
            &summary(NS18, SUMMARY_BODY),
            SchemaSet::V2018,
            Schema::Summary
        ),
        vec![]
    );
    assert_eq!(
        check(
            &summary(NS24, SUMMARY_BODY),
            SchemaSet::V2024,
            Schema::Summary
        ),
        vec![]
    );
}

#[test]
fn the_namespace_must_match_the_set() {
    let v = check(
        &summary(NS18, SUMMARY_BODY),
        SchemaSet::V2024,
        Schema::Summary,
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].path, "/summary");
    assert!(
        v[0].message.contains("is not declared by the schema"),
        "{}",
        v[0].message
    );
    assert!(v[0].message.contains(NS24), "{}", v[0].message);
}

#[test]
fn an_element_out_of_order_names_what_was_expected_and_found() {
    let settlement =
        r#"<unitAmount value="8700"/><paymentAmount value="1000"/><unitAmount value="1"/>"#;
    let v = check(
        &claim(NS18, "", settlement),
        SchemaSet::V2018,
        Schema::CheckupClaim,
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].message,
        "expected element `paymentByOtherProgram` or `claimAmount` after `paymentAmount`, found `unitAmount`"
    );
    assert_eq!(v[0].path, "/checkupClaim/settlement/unitAmount[2]");
    assert_eq!(v[0].line, 12);
}

#[test]
fn a_pattern_violation_quotes_value_and_pattern() {
    let text = claim(NS18, "", SETTLEMENT_OK).replace("9910000018", "12345");
    let v = check(&text, SchemaSet::V2018, Schema::CheckupClaim);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].message,
        "attribute `extension` = `12345` does not match pattern [0-9]{10}"
    );
    assert_eq!(
        v[0].path,
        "/checkupClaim/subjectPerson/performerOrganization/id/@extension"
    );
    assert_eq!((v[0].line, v[0].column), (4, 26));
}

#[test]
fn a_missing_required_element_at_the_end_is_reported_on_the_parent() {
    let settlement = r#"<unitAmount value="8700"/><paymentAmount value="1000"/>"#;
    let v = check(
        &claim(NS18, "", settlement),
        SchemaSet::V2018,
        Schema::CheckupClaim,
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].message,
        "expected element `paymentByOtherProgram` or `claimAmount` after `paymentAmount`, found the end of `settlement`"
    );
    assert_eq!(v[0].path, "/checkupClaim/settlement");
}

#[test]
fn the_branch_code_exists_only_in_the_2024_set() {
    let branch = r#"<branchCode root="1.2.392.200119.6.211" extension="01"/>"#;
    let v24 = check(
        &claim(NS24, branch, SETTLEMENT_OK),
        SchemaSet::V2024,
        Schema::CheckupClaim,
    );
    assert_eq!(v24, vec![]);
    let v18 = check(
        &claim(NS18, branch, SETTLEMENT_OK),
        SchemaSet::V2018,
        Schema::CheckupClaim,
    );
    assert_eq!(v18.len(), 1, "{v18:?}");
    assert!(
        v18[0].message.contains("unexpected element `branchCode`"),
        "{}",
        v18[0].message
    );
    let bad = branch.replace("\"01\"", "\"1\"");
    let v = check(
        &claim(NS24, &bad, SETTLEMENT_OK),
        SchemaSet::V2024,
        Schema::CheckupClaim,
    );
    assert_eq!(
        v[0].message,
        "attribute `extension` = `1` does not match pattern [0-9]{2}"
    );
}

#[test]
fn code_lists_differ_between_sets() {
    let body = SUMMARY_BODY.replace(r#"code="1""#, r#"code="9""#);
    assert_eq!(
        check(&summary(NS24, &body), SchemaSet::V2024, Schema::Summary),
        vec![]
    );
    let v = check(&summary(NS18, &body), SchemaSet::V2018, Schema::Summary);
    assert_eq!(v.len(), 1);
    assert!(
        v[0].message
            .starts_with("attribute `code` = `9` is not one of `1`, `2`, `3`, `4`")
    );
}

#[test]
fn amounts_are_integers_within_range() {
    let body = SUMMARY_BODY.replace(
        r#"totalCostAmount value="8700""#,
        r#"totalCostAmount value="1000000000""#,
    );
    let v = check(&summary(NS18, &body), SchemaSet::V2018, Schema::Summary);
    assert_eq!(
        v[0].message,
        "attribute `value` = `1000000000` is outside the range 0..=999999999"
    );
    let body = SUMMARY_BODY.replace(
        r#"totalCostAmount value="8700""#,
        r#"totalCostAmount value="8,700""#,
    );
    let v = check(&summary(NS18, &body), SchemaSet::V2018, Schema::Summary);
    assert_eq!(
        v[0].message,
        "attribute `value` = `8,700` is not an integer"
    );
}

#[test]
fn empty_content_admits_no_text_not_even_whitespace() {
    let body = SUMMARY_BODY.replace(
        r#"<serviceEventType code="1"/>"#,
        r#"<serviceEventType code="1"> </serviceEventType>"#,
    );
    let v = check(&summary(NS18, &body), SchemaSet::V2018, Schema::Summary);
    assert_eq!(v.len(), 1);
    assert!(v[0].message.contains("must be empty"), "{}", v[0].message);
}

#[test]
fn unknown_attributes_and_missing_required_ones_are_reported() {
    let body = SUMMARY_BODY.replace(
        r#"<totalSubjectCount value="1"/>"#,
        r#"<totalSubjectCount count="1"/>"#,
    );
    let v = check(&summary(NS18, &body), SchemaSet::V2018, Schema::Summary);
    let messages: Vec<&str> = v.iter().map(|x| x.message.as_str()).collect();
    assert!(
        messages.contains(&"attribute `count` is not allowed on `totalSubjectCount`"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"required attribute `value` is missing on `totalSubjectCount`"),
        "{messages:?}"
    );
}

fn cda(body_entries: &str) -> String {
    format!(
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
<id nullFlavor="NI"/>
<code code="10" codeSystem="1.2.392.200119.6.1001"/>
<effectiveTime value="20230620"/>
<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
<recordTarget><patientRole><id root="1.2.392.200119.6.101" extension="06990014"/></patientRole></recordTarget>
<author><time value="20230620"/><assignedAuthor><id nullFlavor="NI"/></assignedAuthor></author>
<custodian><assignedCustodian><representedCustodianOrganization><id nullFlavor="NI"/></representedCustodianOrganization></assignedCustodian></custodian>
<component><structuredBody><component><section>{body_entries}</section></component></structuredBody></component>
</ClinicalDocument>"#
    )
}

fn entry(value: &str) -> String {
    format!(
        r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="9N001000000000001"/>{value}</observation></entry>"#
    )
}

#[test]
fn cda_values_dispatch_on_xsi_type() {
    let ok = cda(&[
        entry(r#"<value xsi:type="PQ" value="172.4" unit="cm"/>"#),
        entry(r#"<value xsi:type="CD" code="1" codeSystem="1.2.392.200119.6.2001"/>"#),
        entry(r#"<value xsi:type="CO" code="1" codeSystem="1.2.392.200119.6.2001"/>"#),
        entry(r#"<value xsi:type="ST">所見なし</value>"#),
        entry(r#"<value xsi:type="INT" value="3"/>"#),
        entry(r#"<value xsi:type="IVL_PQ"><low value="1" unit="mg"/><high value="2" unit="mg"/></value>"#),
    ]
    .concat());
    assert_eq!(check(&ok, SchemaSet::V2018, Schema::CheckupCda), vec![]);
    // hg08 requires documentationOf; children after the first mismatch in an element are not
    // examined further (one violation per element content, as libxml2 reports)
    let v = check(&ok, SchemaSet::V2024, Schema::GuidanceCda);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].message,
        "expected element `informationRecipient` or `participant` or `documentationOf` after `custodian`, found `component`"
    );
}

#[test]
fn an_abstract_value_needs_a_known_xsi_type() {
    let v = check(
        &cda(&entry(r#"<value value="1"/>"#)),
        SchemaSet::V2018,
        Schema::CheckupCda,
    );
    assert_eq!(v.len(), 1);
    assert!(
        v[0].message.contains("abstract type ANY"),
        "{}",
        v[0].message
    );
    let v = check(
        &cda(&entry(r#"<value xsi:type="PQQ" value="1"/>"#)),
        SchemaSet::V2018,
        Schema::CheckupCda,
    );
    assert_eq!(
        v[0].message,
        "xsi:type `PQQ` does not name a type of the schema"
    );
    assert!(
        v[0].path.ends_with("/observation/value/@xsi:type"),
        "{}",
        v[0].path
    );
    let v = check(
        &cda(&entry(r#"<value xsi:type="PQ" value="abc"/>"#)),
        SchemaSet::V2018,
        Schema::CheckupCda,
    );
    assert_eq!(v[0].message, "attribute `value` = `abc` is not a number");
    let v = check(
        &cda(&entry(r#"<value xsi:type="CD" value="1"/>"#)),
        SchemaSet::V2018,
        Schema::CheckupCda,
    );
    assert_eq!(v[0].message, "attribute `value` is not allowed on `value`");
}

#[test]
fn organization_accepts_no_determiner_attribute() {
    // hc08 names the attribute `determiner` plus a line break and tabs: no document can use it
    let text = cda("").replace(
        "<assignedAuthor><id nullFlavor=\"NI\"/></assignedAuthor>",
        "<assignedAuthor><id nullFlavor=\"NI\"/><representedOrganization determiner=\"INSTANCE\"/></assignedAuthor>",
    );
    let v = check(&text, SchemaSet::V2018, Schema::CheckupCda);
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].message,
        "attribute `determiner` is not allowed on `representedOrganization`"
    );
}

#[test]
fn deep_nesting_is_walked_without_recursion() {
    // observations nest through entryRelationship without limit in the schema
    let depth = 3000;
    let mut inner = String::new();
    for _ in 0..depth {
        inner.push_str(r#"<observation classCode="OBS" moodCode="EVN"><code code="x"/><entryRelationship typeCode="COMP">"#);
    }
    inner.push_str(r#"<observation classCode="OBS" moodCode="EVN"><code code="x"/></observation>"#);
    for _ in 0..depth {
        inner.push_str("</entryRelationship></observation>");
    }
    let text = cda(&format!("<entry>{inner}</entry>"));
    let opts = || roxmltree::ParsingOptions {
        nodes_limit: u32::MAX,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opts()).expect("deep document parses");
    assert_eq!(validate(&doc, SchemaSet::V2018, Schema::CheckupCda), vec![]);
    // and an error at the bottom is still found
    let text = text.replacen(
        r#"<code code="x"/></observation>"#,
        r#"<code code="x"/><bogus/></observation>"#,
        1,
    );
    let doc = roxmltree::Document::parse_with_options(&text, opts()).expect("deep document parses");
    let v = validate(&doc, SchemaSet::V2018, Schema::CheckupCda);
    assert_eq!(v.len(), 1);
    assert!(
        v[0].message.starts_with("unexpected element `bogus`"),
        "{}",
        v[0].message
    );
}

#[test]
fn hostile_documents_give_violations_not_panics() {
    let docs = [
        "<x/>",
        r#"<index xmlns="http://tokuteikenshin.jp/checkup/2007"/>"#,
        r#"<index xmlns="http://tokuteikenshin.jp/checkup/2007">text<index/><!--c--></index>"#,
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type=":::"/>"#,
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="p:ANY" xsi:nil="true"/>"#,
        r#"<summary xmlns="http://tokuteikenshin.jp/checkup/2007"><serviceEventType code="&#x9;&#xA;1&#x20;&#x20;"/></summary>"#,
    ];
    for text in docs {
        for set in [SchemaSet::V2018, SchemaSet::V2024] {
            for schema in [
                Schema::Index,
                Schema::Summary,
                Schema::CheckupCda,
                Schema::GuidanceCda,
                Schema::CheckupClaim,
                Schema::GuidanceClaim,
            ] {
                let v = check(text, set, schema);
                assert!(!v.is_empty(), "{text} should be invalid as {schema:?}");
                assert!(
                    v.iter()
                        .all(|x| x.line >= 1 && x.column >= 1 && x.path.starts_with('/'))
                );
            }
        }
    }
}

#[test]
fn multibyte_values_are_checked_without_slicing_characters() {
    for code in ["１２３-４", "12３-4567", "ああ-", "1あ4567", "12あ567"] {
        let text = claim(NS18, "", SETTLEMENT_OK).replace("000-0000", code);
        let v = check(&text, SchemaSet::V2018, Schema::CheckupClaim);
        assert_eq!(v.len(), 1, "{code}: {v:?}");
        assert!(
            v[0].message
                .contains("does not match pattern [0-9]{3}-[0-9]{4}"),
            "{}",
            v[0].message
        );
    }
}

/// Clean outcomes are remembered per thread; a document must get the same violations whether
/// the shapes and values in it were seen before (warm tables, in any order) or not (a fresh
/// thread).
#[test]
fn what_was_seen_before_changes_no_verdict_or_message() {
    let out_of_order =
        r#"<unitAmount value="8700"/><paymentAmount value="1000"/><unitAmount value="1"/>"#;
    let docs: Vec<(String, Schema)> = vec![
        (claim(NS18, "", SETTLEMENT_OK), Schema::CheckupClaim),
        (claim(NS18, "", out_of_order), Schema::CheckupClaim),
        (
            claim(NS18, "", &SETTLEMENT_OK.replace("8700", "8,700")),
            Schema::CheckupClaim,
        ),
        (
            claim(NS18, "", &SETTLEMENT_OK.replace(r#" value="1000""#, "")),
            Schema::CheckupClaim,
        ),
        (
            claim(
                NS18,
                "",
                &SETTLEMENT_OK.replace(r#"value="7700""#, r#"value="7700" x="1""#),
            ),
            Schema::CheckupClaim,
        ),
        (summary(NS18, SUMMARY_BODY), Schema::Summary),
        (
            summary(NS18, &SUMMARY_BODY.replace(r#"code="1""#, r#"code=" 1 ""#)),
            Schema::Summary,
        ),
        (
            cda(&entry(r#"<value xsi:type="PQ" value="1.5" unit="kg"/>"#)),
            Schema::CheckupCda,
        ),
        (
            cda(&entry(r#"<value xsi:type="PQ" value="1,5" unit="kg"/>"#)),
            Schema::CheckupCda,
        ),
        (
            cda(&entry(
                r#"<value xsi:type="PQ" value="1.5" unit="kg"><x/></value>"#,
            )),
            Schema::CheckupCda,
        ),
        (
            cda(&entry(r#"<value xsi:type="PQ" value="1.5" unit="kg"/>"#)),
            Schema::GuidanceCda,
        ),
    ];
    let fresh: Vec<Vec<Violation>> = docs
        .iter()
        .map(|(text, schema)| {
            let (text, schema) = (text.clone(), *schema);
            std::thread::spawn(move || check(&text, SchemaSet::V2018, schema))
                .join()
                .expect("validation thread")
        })
        .collect();
    assert!(fresh[0].is_empty() && fresh[5].is_empty() && fresh[7].is_empty());
    assert!(
        fresh.iter().filter(|v| !v.is_empty()).count() >= 6,
        "{fresh:?}"
    );
    // warm: every document after every other, forwards and backwards, twice
    for round in 0..2 {
        let order: Vec<usize> = if round == 0 {
            (0..docs.len()).collect()
        } else {
            (0..docs.len()).rev().collect()
        };
        for _ in 0..2 {
            for &i in &order {
                let (text, schema) = &docs[i];
                assert_eq!(
                    check(text, SchemaSet::V2018, *schema),
                    fresh[i],
                    "document {i}"
                );
            }
        }
    }
}

//! Property: for any model of each kind, `read(write(m)) == m` (both generations), and
//! reading arbitrary bytes never panics.
//!
//! Strings range over characters XML can carry, including the ones that need escaping
//! (`<`, `&`, quotes, tabs, CR, LF) and Japanese text. Where the model documents a
//! normalisation (address text is trimmed; `branchCode` exists only in 2024; the CDA
//! body keeps no layout whitespace between elements) the generated models respect it.
//! Values whose XSD type collapses white space (codes of type `xs:token`, `xs:integer`
//! counts and amounts of the index, summary and claims, the CDA header's `cs` codes) are
//! generated collapsed ([`collapsed`]): `" 1 "` and `"1"` are one value to the schema and
//! to the reader.
//! `xs:string` values (dates, ids, OIDs, window amounts and rates, names) keep any blanks.

use daiko_format::model::*;
use daiko_format::xml::{Element, Node, XmlStr};
use daiko_format::{read, write};
use proptest::option::of;
use proptest::prelude::*;

/// Any short string of characters XML 1.0 can carry.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 <>&\"'\t\r\n.=/_ー一-龥ぁ-んァ-ヶ０-９　-]{0,12}"
}

fn trimmed() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.trim().to_string())
}

/// A string in the value space of a type that collapses white space (XSD Part 2
/// §4.3.6): no blank at either end, no tab, CR or LF, no run of spaces.
fn collapsed() -> impl Strategy<Value = String> {
    text().prop_map(|s| {
        s.split([' ', '\t', '\n', '\r'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn id() -> impl Strategy<Value = Id> {
    (text(), text()).prop_map(|(root, extension)| Id { root, extension })
}

/// An `xs:integer` amount with its `Code.Currency` token: both collapse.
fn money() -> impl Strategy<Value = Money> {
    (collapsed(), of(collapsed())).prop_map(|(value, currency)| Money { value, currency })
}

/// A 6-digit window amount (`xs:string`, kept as written) with its currency token.
fn charge_money() -> impl Strategy<Value = Money> {
    (text(), of(collapsed())).prop_map(|(value, currency)| Money { value, currency })
}

/// A CDA code: `@code` an HL7 `cs` (a token, collapses), `@codeSystem` a `uid` and
/// `@displayName` an `st` (`xs:string`s, kept as written).
fn code() -> impl Strategy<Value = Code> {
    (collapsed(), of(text()), of(text())).prop_map(|(code, code_system, display_name)| Code {
        code,
        code_system,
        display_name,
    })
}

/// A claim's additional-item code: `@code` a token, `@codeSystem` an OID (`xs:string`).
fn claim_code() -> impl Strategy<Value = Code> {
    (collapsed(), of(text()), of(text())).prop_map(|(code, code_system, display_name)| Code {
        code,
        code_system,
        display_name,
    })
}

fn address() -> impl Strategy<Value = Address> {
    (trimmed(), of(text())).prop_map(|(text, postal_code)| Address { text, postal_code })
}

/// A 6-digit co-payment rate (`xs:string`) with its `Code.Unit` token.
fn rate() -> impl Strategy<Value = Rate> {
    (text(), of(collapsed())).prop_map(|(value, unit)| Rate { value, unit })
}

/// 支払割合: an `xs:integer` percentage with its unit token.
fn percentage() -> impl Strategy<Value = Rate> {
    (collapsed(), of(collapsed())).prop_map(|(value, unit)| Rate { value, unit })
}

fn charge() -> impl Strategy<Value = Charge> {
    (collapsed(), of(charge_money()), of(rate())).prop_map(|(code, amount, rate)| Charge {
        code,
        amount,
        rate,
    })
}

fn adjudication() -> impl Strategy<Value = Adjudication> {
    (collapsed(), text(), collapsed(), of(text())).prop_map(
        |(interaction_type, record_date, reason_code, reason_text)| Adjudication {
            interaction_type,
            record_date,
            reason_code,
            reason_text,
        },
    )
}

fn subject() -> impl Strategy<Value = SubjectPerson> {
    (
        id(),
        id(),
        of(id()),
        id(),
        of(id()),
        text(),
        address(),
        text(),
        collapsed(),
    )
        .prop_map(
            |(
                performer_organization,
                insurer_number,
                symbol,
                number,
                branch,
                name,
                addr,
                birth_time,
                gender,
            )| SubjectPerson {
                performer_organization,
                insurance_card: InsuranceCard {
                    insurer_number,
                    symbol,
                    number,
                    branch,
                },
                name,
                addr,
                birth_time,
                gender,
            },
        )
}

fn index() -> impl Strategy<Value = Index> {
    (
        collapsed(),
        text(),
        id(),
        of(id()),
        collapsed(),
        collapsed(),
    )
        .prop_map(
            |(
                interaction_type,
                creation_time,
                sender,
                receiver,
                service_event_type,
                total_record_count,
            )| Index {
                interaction_type,
                creation_time,
                sender,
                receiver,
                service_event_type,
                total_record_count,
            },
        )
}

fn summary() -> impl Strategy<Value = Summary> {
    (
        collapsed(),
        collapsed(),
        money(),
        money(),
        of(money()),
        money(),
    )
        .prop_map(|(s, n, cost, pay, other, claim)| Summary {
            service_event_type: s,
            total_subject_count: n,
            total_cost_amount: cost,
            total_payment_amount: pay,
            total_payment_by_other_program: other,
            total_claim_amount: claim,
        })
}

fn checkup_claim() -> impl Strategy<Value = CheckupClaim> {
    let card = (
        of(id()),
        of(text()),
        of(charge()),
        of(charge()),
        of(charge()),
        of(
            (of(charge()), of(charge())).prop_map(|(copayment, max_insurance_limit)| DockCharge {
                copayment,
                max_insurance_limit,
            }),
        ),
    )
        .prop_map(
            |(id, expiry, charge_basic, charge_detail, charge_other, charge_dock)| CheckupCard {
                id,
                expiry,
                charge_basic,
                charge_detail,
                charge_other,
                charge_dock,
            },
        );
    let settlement = (
        (collapsed(), collapsed(), of(money())),
        prop::collection::vec(
            (money(), collapsed()).prop_map(|(amount, code)| DetailPrice { amount, code }),
            0..3,
        ),
        prop::collection::vec(
            (money(), of(claim_code())).prop_map(|(amount, item)| OtherPrice { amount, item }),
            0..3,
        ),
        (of(charge_money()), of(charge_money()), of(charge_money())),
        (money(), money(), of(money()), money()),
    )
        .prop_map(
            |(
                (claim_type, commission_type, unit_price_basic),
                detail,
                other,
                (pb, pd, po),
                (ua, pa, pbo, ca),
            )| {
                CheckupSettlement {
                    claim_type,
                    commission_type,
                    unit_price_basic,
                    unit_price_detail: detail,
                    unit_price_other: other,
                    payment_for_basic: pb,
                    payment_for_detail: pd,
                    payment_for_other: po,
                    unit_amount: ua,
                    payment_amount: pa,
                    payment_by_other_program: pbo,
                    claim_amount: ca,
                }
            },
        );
    (
        collapsed(),
        subject(),
        card,
        settlement,
        of(adjudication()),
        of(adjudication()),
    )
        .prop_map(
            |(
                service_event_type,
                subject,
                card,
                settlement,
                agency_adjudication,
                insurer_adjudication,
            )| CheckupClaim {
                service_event_type,
                subject,
                card,
                settlement,
                agency_adjudication,
                insurer_adjudication,
            },
        )
}

fn guidance_claim() -> impl Strategy<Value = GuidanceClaim> {
    let card = (of(id()), of(id()), of(text()), of(charge()), of(charge())).prop_map(
        |(id, checkup_card_id, expiry, copayment, max_insurance_limit)| GuidanceCard {
            id,
            checkup_card_id,
            expiry,
            copayment,
            max_insurance_limit,
        },
    );
    let settlement = (
        money(),
        percentage(),
        of(collapsed()),
        of(collapsed()),
        money(),
        collapsed(),
        money(),
        money(),
    )
        .prop_map(
            |(
                unit_price,
                payment_rate,
                done,
                planned,
                calculated_amount,
                payment_status,
                payment_amount,
                claim_amount,
            )| {
                GuidanceSettlement {
                    unit_price,
                    payment_rate,
                    point_count_completed: done,
                    point_count_intended: planned,
                    calculated_amount,
                    payment_status,
                    payment_amount,
                    claim_amount,
                }
            },
        );
    (
        (collapsed(), collapsed(), collapsed()),
        subject(),
        card,
        settlement,
        of(adjudication()),
        of(adjudication()),
    )
        .prop_map(
            |(
                (service_event_type, guidance_level, guidance_timing),
                subject,
                card,
                settlement,
                a,
                i,
            )| GuidanceClaim {
                service_event_type,
                guidance_level,
                guidance_timing,
                subject,
                card,
                settlement,
                agency_adjudication: a,
                insurer_adjudication: i,
            },
        )
}

/// An element name or plain attribute name.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9]{0,6}"
}

fn attrs() -> impl Strategy<Value = Vec<(XmlStr, XmlStr)>> {
    (
        prop::collection::btree_map(name(), text(), 0..3),
        of(text()),
    )
        .prop_map(|(plain, xsi_type)| {
            let mut v: Vec<(XmlStr, XmlStr)> = plain
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect();
            if let Some(t) = xsi_type {
                v.push(("xsi:type".into(), t.into()));
            }
            v
        })
}

/// A body element as the reader produces it: either element-only children, or text
/// (mixed content with non-empty, non-adjacent text nodes that are not layout whitespace).
fn element(named: Option<&'static str>) -> impl Strategy<Value = Element> {
    let leaf = (
        name(),
        attrs(),
        of(text().prop_filter("non-empty", |t| !t.is_empty())),
    )
        .prop_map(|(n, attrs, t)| Element {
            name: n.into(),
            attrs,
            children: t.into_iter().map(Node::Text).collect(),
        });
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        (
            name(),
            attrs(),
            prop::collection::vec(inner, 0..4),
            any::<bool>(),
            "[a-zヶ<&]{1,4}",
        )
            .prop_map(|(n, attrs, kids, mixed, t)| {
                let mut children = Vec::new();
                for k in kids {
                    if mixed {
                        children.push(Node::Text(t.clone()));
                    }
                    children.push(Node::Element(k));
                }
                Element {
                    name: n.into(),
                    attrs,
                    children,
                }
            })
    });
    tree.prop_map(move |mut e| {
        if let Some(n) = named {
            e.name = n.into();
        }
        e
    })
}

fn organization() -> impl Strategy<Value = CdaOrganization> {
    (of(id()), of(text()), of(text()), of(address())).prop_map(|(id, name, telecom, addr)| {
        CdaOrganization {
            id,
            name,
            telecom,
            addr,
        }
    })
}

fn section() -> impl Strategy<Value = Section> {
    (
        code(),
        of(text()),
        of(element(Some("text"))),
        prop::collection::vec(element(Some("entry")), 0..4),
    )
        .prop_map(|(code, title, text, entries)| Section {
            code,
            title,
            text,
            entries,
        })
}

fn cda() -> impl Strategy<Value = ClinicalDocument> {
    let patient = (
        prop::collection::vec(id(), 0..4),
        of(address()),
        text(),
        code(),
        text(),
    )
        .prop_map(|(ids, addr, name, gender, birth_time)| Patient {
            ids,
            addr,
            name,
            gender,
            birth_time,
        });
    let voucher = (collapsed(), of(text()), id(), of(id())).prop_map(
        |(function_code, expiry, id, scoping_organization)| VoucherParticipant {
            function_code,
            expiry,
            id,
            scoping_organization,
        },
    );
    let service_event =
        (code(), text(), of(organization())).prop_map(|(code, effective_time, performer)| {
            ServiceEvent {
                code,
                effective_time,
                performer,
            }
        });
    (
        (
            id(),
            prop::collection::vec(id(), 0..2),
            of(code()),
            of(text()),
            text(),
            code(),
            of(collapsed()),
        ),
        patient,
        prop::collection::vec(
            (text(), organization())
                .prop_map(|(time, organization)| CdaAuthor { time, organization }),
            0..3,
        ),
        prop::collection::vec(voucher, 0..3),
        of(service_event),
        prop::collection::vec(section(), 0..3),
    )
        .prop_map(
            |(
                (type_id, template_ids, code, title, effective_time, confidentiality, language),
                patient,
                authors,
                vouchers,
                service_event,
                sections,
            )| {
                ClinicalDocument {
                    type_id,
                    template_ids,
                    code,
                    title,
                    effective_time,
                    confidentiality,
                    language,
                    patient,
                    authors,
                    vouchers,
                    service_event,
                    sections,
                }
            },
        )
}

fn generation() -> impl Strategy<Value = Generation> {
    prop_oneof![Just(Generation::G2018), Just(Generation::G2024)]
}

/// Reads back what was written, checking kind and generation on the way.
fn reread(text: &str, expect_kind: DocumentKind, generation: Option<Generation>) -> Document {
    let parsed = read::parse(text, &read::ParseLimits::default()).expect("written text parses");
    let (kind, g) = read::kind_of(&parsed).expect("kind");
    assert_eq!(kind, expect_kind);
    assert_eq!(g, generation);
    read::read_document(text.as_bytes()).expect("written text reads")
}

/// `branchCode` is only written in the 2024 generation.
fn without_branch_in_2018(mut s: SubjectPerson, g: Generation) -> SubjectPerson {
    if g == Generation::G2018 {
        s.insurance_card.branch = None;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn index_round_trips(m in index(), g in generation()) {
        let back = reread(&write::write_index(&m, g), DocumentKind::Index, Some(g));
        prop_assert_eq!(back, Document::Index(m));
    }

    #[test]
    fn summary_round_trips(m in summary(), g in generation()) {
        let back = reread(&write::write_summary(&m, g), DocumentKind::Summary, Some(g));
        prop_assert_eq!(back, Document::Summary(m));
    }

    #[test]
    fn checkup_claim_round_trips(mut m in checkup_claim(), g in generation()) {
        let back = reread(&write::write_checkup_claim(&m, g), DocumentKind::CheckupClaim, Some(g));
        m.subject = without_branch_in_2018(m.subject, g);
        prop_assert_eq!(back, Document::CheckupClaim(Box::new(m)));
    }

    #[test]
    fn guidance_claim_round_trips(mut m in guidance_claim(), g in generation()) {
        let back = reread(&write::write_guidance_claim(&m, g), DocumentKind::GuidanceClaim, Some(g));
        m.subject = without_branch_in_2018(m.subject, g);
        prop_assert_eq!(back, Document::GuidanceClaim(Box::new(m)));
    }

    #[test]
    fn cda_round_trips(m in cda()) {
        let text = write::write_cda(&m);
        let kind = if m.is_guidance() { DocumentKind::GuidanceCda } else { DocumentKind::CheckupCda };
        let back = reread(&text, kind, None);
        prop_assert_eq!(back, Document::Cda(Box::new(m)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = read::read_document(&bytes);
    }

    #[test]
    fn mutated_documents_never_panic(m in checkup_claim(), cut in 0usize..4000, junk in "[<>&/\"'a-z!?\\[\\]-]{0,6}") {
        let mut text = write::write_checkup_claim(&m, Generation::G2024);
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &junk);
        let _ = read::read_document(text.as_bytes());
    }
}

//! One checkup record of a sample archive: the person, the results, the voucher with its
//! co-payment settings, and the two documents (CDA and claim) built from them.

use crate::clinical::{
    AdditionalItem, Clinical, EntrySpec, Questionnaire, URIC_ACID, checkup_entries, entry_element,
};
use crate::people::{self, Institution, Person, Sex};
use crate::reference::ContractTerms;
use crate::rng::Rng;
use daiko_format::money::{
    CategoryBill, CheckupAmounts, CheckupBill, CopayRate, CopaymentRule, MoneyError, checkup_claim,
    dock_claim,
};
use daiko_format::xml::Element;
use daiko_format::*;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub y: i32,
    pub m: u32,
    pub d: u32,
}

impl Date {
    pub fn days_in_month(y: i32, m: u32) -> u32 {
        match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }
    /// YYYYMMDD
    pub fn ymd(self) -> String {
        format!("{:04}{:02}{:02}", self.y, self.m, self.d)
    }
    /// The fiscal year (April–March).
    pub fn fiscal_year(self) -> i32 {
        if self.m >= 4 { self.y } else { self.y - 1 }
    }
    /// Age in whole years on this date of a person born on `birth`.
    pub fn age_of(self, birth: Date) -> u32 {
        let mut age = self.y - birth.y;
        if (self.m, self.d) < (birth.m, birth.d) {
            age -= 1;
        }
        u32::try_from(age).unwrap_or(0)
    }
    /// Parses YYYYMMDD (a real calendar date).
    pub fn parse_ymd(s: &str) -> Option<Date> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let y: i32 = s.get(0..4)?.parse().ok()?;
        let m: u32 = s.get(4..6)?.parse().ok()?;
        let d: u32 = s.get(6..8)?.parse().ok()?;
        ((1..=12).contains(&m) && d >= 1 && d <= Date::days_in_month(y, m)).then_some(Date {
            y,
            m,
            d,
        })
    }
    /// The day before.
    pub fn minus_one_day(self) -> Date {
        if self.d > 1 {
            Date {
                d: self.d - 1,
                ..self
            }
        } else if self.m > 1 {
            Date {
                y: self.y,
                m: self.m - 1,
                d: Date::days_in_month(self.y, self.m - 1),
            }
        } else {
            Date {
                y: self.y - 1,
                m: 12,
                d: 31,
            }
        }
    }
    /// The same day `days` later (small steps, within a few months).
    pub fn plus_days(self, days: u32) -> Date {
        let mut d = self;
        for _ in 0..days {
            if d.d < Date::days_in_month(d.y, d.m) {
                d.d += 1;
            } else if d.m < 12 {
                d = Date {
                    y: d.y,
                    m: d.m + 1,
                    d: 1,
                };
            } else {
                d = Date {
                    y: d.y + 1,
                    m: 1,
                    d: 1,
                };
            }
        }
        d
    }
}

/// The archive-wide facts a record needs.
pub struct ArchiveContext<'a> {
    pub generation: Generation,
    pub institution: &'a Institution,
    pub creation: Date,
    /// First service day and last service day covered by the archive.
    pub service_from: Date,
    pub service_to: Date,
    pub doctors: &'a [String],
}

/// One record before writing: the model documents plus what the defects need.
#[derive(Debug, Clone)]
pub struct RecordDraft {
    /// The shared file-name suffix `{sender}{YYYYMMDD}{n}{S}{######}`.
    pub stem: String,
    pub person: Person,
    pub clinical: Clinical,
    pub service_date: Date,
    pub voucher: String,
    pub bill: CheckupBill,
    /// 人間ドック (請求区分 5): the dock price and the voucher's dock co-payment rule;
    /// `bill` is then empty.
    pub dock: Option<CategoryBill>,
    pub amounts: CheckupAmounts,
    /// CDA without its body; the body is rendered from the entries.
    pub cda: ClinicalDocument,
    pub entries: Vec<EntrySpec>,
    pub extra_entries: Vec<EntrySpec>,
    pub claim: CheckupClaim,
}

impl RecordDraft {
    pub fn data_path(&self) -> String {
        format!("DATA/h{}.xml", self.stem)
    }
    pub fn claim_path(&self) -> String {
        format!("CLAIMS/c{}.xml", self.stem)
    }
    /// Whether the claim bills detailed checkups.
    pub fn has_detail(&self) -> bool {
        !self.claim.settlement.unit_price_detail.is_empty()
    }
    /// The CDA with its body sections.
    pub fn cda_document(&self) -> ClinicalDocument {
        let mut doc = self.cda.clone();
        let text = Some(Element::new("text"));
        doc.sections.push(Section {
            code: Code {
                code: "01010".into(),
                code_system: Some(oid::SECTION.into()),
                display_name: Some("特定健診・問診結果セクション".into()),
            },
            title: Some("検査・問診結果セクション".into()),
            text: text.clone(),
            entries: self.entries.iter().map(entry_element).collect(),
        });
        if !self.extra_entries.is_empty() {
            doc.sections.push(Section {
                code: Code {
                    code: "01990".into(),
                    code_system: Some(oid::SECTION.into()),
                    display_name: Some("任意追加項目セクション".into()),
                },
                title: Some("任意追加項目セクション".into()),
                text,
                entries: self.extra_entries.iter().map(entry_element).collect(),
            });
        }
        doc
    }
    /// Recomputes every claim amount from the bill (after a defect changed the bill).
    pub fn rebill(&mut self) -> Result<(), MoneyError> {
        self.amounts = checkup_claim(&self.bill)?;
        write_settlement(&mut self.claim, &self.bill, &self.amounts);
        Ok(())
    }
}

/// A random date between `from` and `to` (inclusive, same or adjacent months).
fn date_between(rng: &mut Rng, from: Date, to: Date) -> Date {
    let mut span = 0;
    let mut d = from;
    while d < to && span < 400 {
        d = d.plus_days(1);
        span += 1;
    }
    from.plus_days(rng.range(0, span))
}

/// A birth date giving `age` on `on`.
fn birth_for_age(rng: &mut Rng, on: Date, age: u32) -> Date {
    let m = rng.range(1, 12);
    let d = rng.range(1, 28);
    let y = if (m, d) <= (on.m, on.d) {
        on.y - age as i32
    } else {
        on.y - age as i32 - 1
    };
    Date { y, m, d }
}

/// A co-payment rule of the given pattern (1-6) for a category priced around `price`.
pub fn rule_for_pattern(
    rng: &mut Rng,
    pattern: u8,
    price: u64,
    basic: bool,
) -> Result<CopaymentRule, MoneyError> {
    let rate = |rng: &mut Rng| CopayRate::from_percent(*rng.pick(&[10, 20, 30]));
    let fixed = |rng: &mut Rng| {
        if basic {
            *rng.pick(&[500u64, 1_000, 1_500, 2_000])
        } else {
            *rng.pick(&[100u64, 200, 300])
        }
    };
    // Caps between 60 % and 95 % of the price: sometimes binding, sometimes not.
    let cap = |rng: &mut Rng| {
        let c = price * u64::from(rng.range(60, 95)) / 100;
        if basic { c / 500 * 500 } else { c / 10 * 10 }
    };
    Ok(match pattern {
        2 => CopaymentRule::Fixed { amount: fixed(rng) },
        3 => CopaymentRule::Rate { rate: rate(rng)? },
        4 => CopaymentRule::Cap { cap: cap(rng) },
        5 => CopaymentRule::FixedWithCap {
            amount: fixed(rng),
            cap: cap(rng),
        },
        6 => CopaymentRule::RateWithCap {
            rate: rate(rng)?,
            cap: cap(rng),
        },
        _ => CopaymentRule::None,
    })
}

/// A person and the 受診券 issued to them, already read (see [`crate::GivenPerson`]): the
/// record is about this person and bills with this voucher's expiry and co-payment rules.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenVoucher {
    pub sex: Sex,
    /// 氏名 (kana) as the ledger has it.
    pub name_kana: String,
    pub birth: Date,
    pub card: people::Card,
    /// 有効期限
    pub expiry: Date,
    /// Rules of the basic and detailed checkup; a category the voucher does not cover
    /// bills with no co-payment ([`CopaymentRule::None`]), as the checker reads a ledger
    /// without that setting.
    pub basic: CopaymentRule,
    pub detail: CopaymentRule,
    /// Additional items and 人間ドック: drawn only when the voucher covers them.
    pub additional: Option<CopaymentRule>,
    pub dock: Option<CopaymentRule>,
}

/// Builds one record. `pattern` is the basic co-payment pattern (1-6) this record uses;
/// with `given`, the person, expiry and co-payment rules are the given voucher's instead.
#[allow(clippy::too_many_arguments)]
pub fn build_record(
    rng: &mut Rng,
    ctx: &ArchiveContext<'_>,
    stem: String,
    insurer: &str,
    voucher: String,
    pattern: u8,
    terms: &ContractTerms,
    other_program: bool,
    additional: bool,
    dock: bool,
    given: Option<&GivenVoucher>,
) -> Result<RecordDraft, MoneyError> {
    // A given voucher decides what it covers: no dock or additional items it does not pay for.
    let (additional, dock) = match given {
        Some(g) => (
            additional && g.additional.is_some(),
            dock && g.dock.is_some(),
        ),
        None => (additional, dock),
    };
    let service_date = date_between(rng, ctx.service_from, ctx.service_to);
    let sex = match given {
        Some(g) => g.sex,
        None if rng.chance(0.5) => Sex::Male,
        None => Sex::Female,
    };
    let birth = match given {
        Some(g) => g.birth,
        None => {
            let age = rng.range(40, 74);
            birth_for_age(rng, service_date, age)
        }
    };
    let age = service_date.age_of(birth);
    let fy = service_date.fiscal_year();
    let fy_end = Date {
        y: fy + 1,
        m: 3,
        d: 31,
    };
    let age_fy_end = fy_end.age_of(birth);
    let person = match given {
        Some(g) => Person {
            sex,
            name: g.name_kana.clone(),
            birth: birth.ymd(),
            address: people::address(rng),
            card: g.card.clone(),
        },
        None => Person {
            sex,
            name: people::kana_name(rng, sex),
            birth: birth.ymd(),
            address: people::address(rng),
            card: people::card(rng, insurer),
        },
    };
    let mut clinical = Clinical::draw(rng, sex, age, age_fy_end, fy >= 2024);
    if dock {
        // A dock bills one price; its results are not split into detailed checkups.
        clinical.details.clear();
    } else if additional {
        clinical.add_uric_acid(rng);
    }
    let questionnaire = Questionnaire::draw(rng);
    let doctor = rng.pick(ctx.doctors).clone();
    let (entries, extra_entries) = checkup_entries(&clinical, &questionnaire, fy, &doctor);

    // Prices and co-payments.
    let individual = rng.chance(0.8);
    let basic_price = if individual {
        terms.basic_individual
    } else {
        terms.basic_group
    };
    let detail_price: u64 = clinical.details.iter().map(|t| t.price()).sum();
    let additional_items: Vec<AdditionalItem> = if clinical.uric10.is_some() {
        vec![AdditionalItem {
            code: URIC_ACID,
            price: crate::clinical::URIC_ACID_PRICE,
        }]
    } else {
        Vec::new()
    };
    let other_price: u64 = additional_items.iter().map(|a| a.price).sum();
    let basic_rule = match given {
        Some(g) => g.basic,
        None => rule_for_pattern(rng, pattern, basic_price, true)?,
    };
    let mut secondary =
        |price: u64, fixed: Option<CopaymentRule>| -> Result<Option<CategoryBill>, MoneyError> {
            if price == 0 {
                return Ok(None);
            }
            let rule = match fixed {
                Some(rule) => rule,
                None if rng.chance(0.5) => rule_for_pattern(rng, pattern, price, false)?,
                None => CopaymentRule::None,
            };
            Ok(Some(CategoryBill { price, rule }))
        };
    let detail = secondary(detail_price, given.map(|g| g.detail))?;
    let other = secondary(
        other_price,
        given.map(|g| g.additional.unwrap_or(CopaymentRule::None)),
    )?;
    let bill = CheckupBill {
        basic: Some(CategoryBill {
            price: basic_price,
            rule: basic_rule,
        }),
        detail,
        other,
        other_program: if other_program {
            *rng.pick(&[300u64, 500, 1_000])
        } else {
            0
        },
    };
    let dock_bill = if dock {
        let price = terms.dock;
        let rule = match given.and_then(|g| g.dock) {
            Some(rule) => rule,
            None => rule_for_pattern(rng, pattern, price, true)?,
        };
        Some(CategoryBill { price, rule })
    } else {
        None
    };
    let (bill, amounts) = match dock_bill {
        Some(d) => (CheckupBill::default(), dock_claim(d.price, d.rule, 0)?),
        None => {
            let amounts = checkup_claim(&bill)?;
            (bill, amounts)
        }
    };

    let expiry = given.map_or(fy_end, |g| g.expiry).ymd();
    let claim_type = match (detail_price > 0, other_price > 0) {
        _ if dock => "5",
        (false, false) => "1",
        (true, false) => "2",
        (false, true) => "3",
        (true, true) => "4",
    };

    // CDA header.
    let inst = ctx.institution;
    let org = CdaOrganization {
        id: Some(Id::new(oid::INSTITUTION, &inst.number)),
        name: Some(inst.name.clone()),
        telecom: Some(inst.telecom.clone()),
        addr: Some(Address {
            text: inst.address.text.clone(),
            postal_code: Some(inst.address.postal_code.clone()),
        }),
    };
    let mut ids = vec![
        Id::new(oid::INSURER, insurer),
        Id::new(oid::CARD_SYMBOL, &person.card.symbol),
        Id::new(oid::CARD_NUMBER, &person.card.number),
    ];
    if ctx.generation == Generation::G2024 {
        ids.push(Id::new(oid::CARD_BRANCH, &person.card.branch));
    }
    let creation = ctx.creation.ymd();
    let cda = ClinicalDocument {
        vouchers: vec![VoucherParticipant {
            function_code: "1".into(),
            expiry: Some(expiry.clone()),
            id: Id::new(format!("{}.1{}", oid::CHECKUP_VOUCHER, insurer), &voucher),
            scoping_organization: Some(Id::new(oid::INSURER, insurer)),
        }],
        service_event: Some(ServiceEvent {
            code: Code {
                code: "010".into(),
                code_system: Some(oid::PROGRAM_KIND.into()),
                display_name: Some("特定健診".into()),
            },
            effective_time: service_date.ymd(),
            performer: Some(org.clone()),
        }),
        ..cda_header("10", creation, ids, &person, sex, &org)
    };

    // Claim.
    let mut claim = CheckupClaim {
        service_event_type: "1".into(),
        subject: SubjectPerson {
            performer_organization: Id::new(oid::INSTITUTION, &inst.number),
            insurance_card: InsuranceCard {
                insurer_number: Id::new(oid::INSURER, insurer),
                symbol: Some(Id::new(oid::CARD_SYMBOL, &person.card.symbol)),
                number: Id::new(oid::CARD_NUMBER, &person.card.number),
                branch: (ctx.generation == Generation::G2024)
                    .then(|| Id::new(oid::CARD_BRANCH, &person.card.branch)),
            },
            name: person.name.clone(),
            addr: Address {
                text: person.address.text.clone(),
                postal_code: Some(person.address.postal_code.clone()),
            },
            birth_time: person.birth.clone(),
            gender: sex.code().into(),
        },
        card: CheckupCard {
            id: Some(Id::new(oid::CHECKUP_VOUCHER, &voucher)),
            expiry: Some(expiry),
            ..CheckupCard::default()
        },
        settlement: CheckupSettlement {
            claim_type: claim_type.into(),
            commission_type: if individual { "1" } else { "2" }.into(),
            unit_price_basic: Some(Money::yen(basic_price)),
            unit_price_detail: clinical
                .details
                .iter()
                .map(|t| DetailPrice {
                    amount: Money::yen(t.price()),
                    code: t.code().into(),
                })
                .collect(),
            unit_price_other: additional_items
                .iter()
                .map(|a| OtherPrice {
                    amount: Money::yen(a.price),
                    item: Some(Code {
                        code: a.code.into(),
                        code_system: Some(oid::CHECKUP_ITEM.into()),
                        display_name: None,
                    }),
                })
                .collect(),
            ..CheckupSettlement::default()
        },
        agency_adjudication: None,
        insurer_adjudication: None,
    };
    match dock_bill {
        Some(d) => write_dock_settlement(&mut claim, d, &amounts),
        None => write_settlement(&mut claim, &bill, &amounts),
    }

    Ok(RecordDraft {
        stem,
        person,
        clinical,
        service_date,
        voucher,
        bill,
        dock: dock_bill,
        amounts,
        cda,
        entries,
        extra_entries,
        claim,
    })
}

/// Writes a 人間ドック claim: the dock block on the voucher, one `unitPriceOther` without
/// item code, and the dock co-payment as `paymentForOther`.
pub fn write_dock_settlement(
    claim: &mut CheckupClaim,
    dock: CategoryBill,
    amounts: &CheckupAmounts,
) {
    let card = &mut claim.card;
    card.charge_basic = None;
    card.charge_detail = None;
    card.charge_other = None;
    card.charge_dock = Some(dock.rule.to_dock_charge());
    let s = &mut claim.settlement;
    s.unit_price_basic = None;
    s.unit_price_detail.clear();
    s.unit_price_other = vec![OtherPrice {
        amount: Money::yen(dock.price),
        item: None,
    }];
    s.payment_for_basic = None;
    s.payment_for_detail = None;
    s.payment_for_other = Some(Money::yen6(amounts.payment_amount));
    s.unit_amount = Money::yen(amounts.unit_amount);
    s.payment_amount = Money::yen(amounts.payment_amount);
    s.payment_by_other_program = None;
    s.claim_amount = Money::yen(amounts.claim_amount);
}

/// Writes the charges, co-payments and totals of `amounts` into the claim.
pub fn write_settlement(claim: &mut CheckupClaim, bill: &CheckupBill, amounts: &CheckupAmounts) {
    let card = &mut claim.card;
    card.charge_basic = amounts.basic.map(|c| c.written.to_charge());
    card.charge_detail = amounts.detail.map(|c| c.written.to_charge());
    card.charge_other = amounts.other.map(|c| c.written.to_charge());
    let s = &mut claim.settlement;
    s.unit_price_basic = bill.basic.map(|b| Money::yen(b.price));
    s.payment_for_basic = amounts.basic.map(|c| Money::yen6(c.copayment));
    s.payment_for_detail = amounts.detail.map(|c| Money::yen6(c.copayment));
    s.payment_for_other = amounts.other.map(|c| Money::yen6(c.copayment));
    s.unit_amount = Money::yen(amounts.unit_amount);
    s.payment_amount = Money::yen(amounts.payment_amount);
    s.payment_by_other_program = (amounts.payment_by_other_program > 0)
        .then(|| Money::yen(amounts.payment_by_other_program));
    s.claim_amount = Money::yen(amounts.claim_amount);
}

/// The CDA header a checkup and a guidance document share: 報告区分 `report_code`, made
/// on `creation` by `org`, about `person`. Vouchers, service event and body are the caller's.
pub(crate) fn cda_header(
    report_code: &str,
    creation: String,
    ids: Vec<Id>,
    person: &Person,
    sex: Sex,
    org: &CdaOrganization,
) -> ClinicalDocument {
    ClinicalDocument {
        type_id: Id::new(oid::CDA_TYPE_ID, "POCD_HD000040"),
        template_ids: Vec::new(),
        code: Some(Code {
            code: report_code.into(),
            code_system: Some(oid::REPORT_KIND.into()),
            display_name: None,
        }),
        title: None,
        effective_time: creation.clone(),
        confidentiality: Code {
            code: "N".into(),
            code_system: Some(oid::HL7_CONFIDENTIALITY.into()),
            display_name: None,
        },
        language: None,
        patient: Patient {
            ids,
            addr: Some(Address {
                text: person.address.text.clone(),
                postal_code: Some(person.address.postal_code.clone()),
            }),
            name: person.name.clone(),
            gender: Code {
                code: sex.code().into(),
                code_system: Some(oid::GENDER.into()),
                display_name: None,
            },
            birth_time: person.birth.clone(),
        },
        authors: vec![CdaAuthor {
            time: creation,
            organization: org.clone(),
        }],
        vouchers: Vec::new(),
        service_event: None,
        sections: Vec::new(),
    }
}

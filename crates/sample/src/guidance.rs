//! Guidance archives (実施区分 2): first claims (保健指導実施時点 1, 初回面接) and final
//! evaluations (2, 実績評価 about three months later) of 積極的支援 and 動機付け支援, early
//! terminations (3, 途中終了) of 積極的支援 and claims for an initial interview that was
//! not completed (5, 初回面接未完了), each with its guidance CDA (hg08, 報告区分 2 + timing)
//! and guidance claim (gc08).
//!
//! Timing 3 is made for 積極的支援 only: it is the stop of the continuous support, which
//! 動機付け支援 does not have. Its CDA reports the support performed so far (section 90070,
//! fewer points than planned) and no evaluation; it is paid by the amount of support done
//! (the final share × points done ÷ points planned, rounded down to a whole percent), so the
//! sample contracts carry no fixed share for it. Timing 5 reports the interview as far as it
//! went (section 90030 without a plan) and is paid the contract's `share:5` (half the first
//! share in the samples; the split is a contract parameter, BUSINESS.md §6.4). These
//! payment rules are the samples' own assumptions, not MHLW text.
//!
//! The CDA body follows the layout of the shared guidance example (sections 90010, 90030
//! and 90070; FORMAT.md §7 marks parts of it as inferred); the final evaluation puts the
//! 3-month evaluation act in section 90060 the same way and reports the performed totals
//! in 90070. Codes come from the FY2018 guidance table, which daiko uses for every fiscal
//! year. The payment share of each timing is the contract's (share:1 / share:2), and the
//! co-payment is charged per instalment on the calculated amount (窓口負担徴収 2).

use crate::InjectedDefect;
use crate::people::{self, Person, Sex};
use crate::record::{ArchiveContext, Date};
use crate::rng::Rng;
use daiko_format::money::{self, CopaymentRule, MoneyError, category_copayment};
use daiko_format::xml::Element;
use daiko_format::*;

/// One guidance record before writing.
#[derive(Debug, Clone)]
pub struct GuidanceDraft {
    pub stem: String,
    /// 保健指導実施時点: 1 first session, 2 final evaluation, 3 early termination, 5 initial
    /// interview not completed.
    pub timing: u8,
    /// Date of the first session (for a final evaluation, about three months earlier).
    pub first_session: Date,
    /// The voucher's co-payment rule (for the ledger).
    pub rule: CopaymentRule,
    pub checkup_voucher: String,
    pub person: Person,
    /// 保健指導区分: 1 積極的支援, 2 動機付け支援.
    pub level: u8,
    pub cda: ClinicalDocument,
    pub claim: GuidanceClaim,
    pub copayment_pattern: u8,
}

impl GuidanceDraft {
    pub fn data_path(&self) -> String {
        format!("DATA/h{}.xml", self.stem)
    }
    pub fn claim_path(&self) -> String {
        format!("CLAIMS/c{}.xml", self.stem)
    }
}

fn obs(code: &str, display: &str, mood: &str, value: Element) -> Element {
    Element::new("observation")
        .attr("classCode", "OBS")
        .attr("moodCode", mood.to_owned())
        .child(
            Element::new("code")
                .attr("code", code.to_owned())
                .attr("codeSystem", oid::GUIDANCE_ITEM)
                .attr("displayName", display.to_owned()),
        )
        .child(value)
}

fn pq(value: impl ToString, unit: &str) -> Element {
    Element::new("value")
        .attr("xsi:type", "PQ")
        .attr("value", value.to_string())
        .attr("unit", unit.to_owned())
}

fn int(value: impl ToString) -> Element {
    Element::new("value")
        .attr("xsi:type", "INT")
        .attr("value", value.to_string())
}

fn cd(code: impl ToString, system: &str) -> Element {
    Element::new("value")
        .attr("xsi:type", "CD")
        .attr("code", code.to_string())
        .attr("codeSystem", system.to_owned())
}

fn st(text: &str) -> Element {
    Element::new("value")
        .attr("xsi:type", "ST")
        .text(text.to_owned())
}

fn comp(o: Element) -> Element {
    Element::new("entryRelationship")
        .attr("typeCode", "COMP")
        .child(o)
}

fn section(code: &str, title: &str, entries: Vec<Element>) -> Section {
    Section {
        code: Code {
            code: code.into(),
            code_system: Some(oid::SECTION.into()),
            display_name: None,
        },
        title: Some(title.into()),
        text: None,
        entries: entries
            .into_iter()
            .map(|e| Element::new("entry").child(e))
            .collect(),
    }
}

/// Item codes the guidance defects refer to.
pub const PLAN_WEEKS: &str = "1021000020";

/// Builds one guidance record at `timing` (1 first session, 2 final evaluation, 3 early
/// termination, 5 initial interview not completed). A timing 3 asked for a person who gets
/// 動機付け支援 becomes a final evaluation (2). `pattern` is the co-payment pattern (1-6).
#[allow(clippy::too_many_arguments)]
pub fn build_guidance_record(
    rng: &mut Rng,
    ctx: &ArchiveContext<'_>,
    stem: String,
    insurer: &str,
    checkup_voucher: String,
    guidance_voucher: String,
    pattern: u8,
    terms: &crate::reference::ContractTerms,
    timing: u8,
) -> Result<GuidanceDraft, MoneyError> {
    let start = {
        let mut d = ctx.service_from;
        for _ in 0..rng.range(0, 27) {
            d = d.plus_days(1);
        }
        d
    };
    // A final evaluation comes about three months after the first session, an early
    // termination one to two and a half months after it.
    let days_before = match timing {
        2 => rng.range(88, 100),
        3 => rng.range(30, 80),
        _ => 0,
    };
    let first_session = {
        let mut d = start;
        for _ in 0..days_before {
            d = d.minus_one_day();
        }
        d
    };
    let sex = if rng.chance(0.6) {
        Sex::Male
    } else {
        Sex::Female
    };
    let age = rng.range(40, 74);
    let birth = {
        let m = rng.range(1, 12);
        let dd = rng.range(1, 28);
        let y = if (m, dd) <= (start.m, start.d) {
            start.y - age as i32
        } else {
            start.y - age as i32 - 1
        };
        Date { y, m, d: dd }
    };
    let fy = start.fiscal_year();
    let age_fy_end = Date {
        y: fy + 1,
        m: 3,
        d: 31,
    }
    .age_of(birth);
    // 65–74 get motivational support even when the risks would call for active support.
    let level: u8 = if age_fy_end < 65 && rng.chance(0.55) {
        1
    } else {
        2
    };
    let timing = if timing == 3 && level != 1 { 2 } else { timing };
    let person = Person {
        sex,
        name: people::kana_name(rng, sex),
        birth: birth.ymd(),
        address: people::address(rng),
        card: people::card(rng, insurer),
    };
    let expiry = Date {
        y: fy + 1,
        m: 3,
        d: 31,
    }
    .ymd();

    // Body.
    let waist10 = rng.range(860, 1020);
    let weight10 = rng.range(640, 930);
    let minutes = *rng.pick(&[20u32, 30, 40]);
    let staff = *rng.pick(&[2u8, 2, 3, 1]);
    let stage = rng.range(2, 4);
    let course = if level == 1 {
        "積極的支援コース（個別）"
    } else {
        "動機付け支援コース"
    };
    const NOTES: &[&str] = &[
        "減量目標と運動計画を本人と合意した。",
        "間食を減らし、毎日30分歩くことを目標とした。",
        "飲酒量を控え、週2日の休肝日を設けることとした。",
    ];
    let note = NOTES
        .get(rng.range(0, 2) as usize)
        .copied()
        .unwrap_or_default();
    let mut plan = Element::new("act")
        .attr("classCode", "ACT")
        .attr("moodCode", "INT")
        .child(Element::new("code").attr("nullFlavor", "NA"));
    let weeks = if level == 1 {
        *rng.pick(&[12u32, 16, 24])
    } else {
        12
    };
    plan = plan
        .child(comp(obs(
            PLAN_WEEKS,
            "継続的支援予定期間",
            "INT",
            pq(weeks, "wk"),
        )))
        .child(comp(obs(
            "1021001031",
            "目標腹囲",
            "GOL",
            pq(crate::clinical::tenths(waist10 - 30), "cm"),
        )))
        .child(comp(obs(
            "1021001032",
            "目標体重",
            "GOL",
            pq(crate::clinical::tenths(weight10 * 96 / 100), "kg"),
        )))
        .child(comp(obs(
            "1021001050",
            "一日の削減目標エネルギー量",
            "GOL",
            pq(*rng.pick(&[200u32, 250, 300]), "kcal"),
        )));
    let interview = Element::new("act")
        .attr("classCode", "ACT")
        .attr("moodCode", "EVN")
        .child(
            Element::new("code")
                .attr("code", "1")
                .attr("codeSystem", "1.2.392.200119.6.18140"),
        )
        .child(Element::new("effectiveTime").attr("value", start.ymd()))
        .child(
            Element::new("performer").child(
                Element::new("assignedEntity")
                    .child(Element::new("id").attr("nullFlavor", "NI"))
                    .child(
                        Element::new("code")
                            .attr("code", staff.to_string())
                            .attr("codeSystem", "1.2.392.200119.6.3020"),
                    ),
            ),
        )
        .child(comp(obs(
            "1022000013",
            "初回面接の実施時間",
            "EVN",
            pq(minutes, "min"),
        )))
        .child(comp(obs("1022000090", "初回面接情報", "EVN", st(note))));
    let mut sections = vec![
        section(
            "90010",
            "指導共通情報",
            vec![
                obs(
                    "1020000001",
                    "保健指導区分",
                    "EVN",
                    cd(level, "1.2.392.200119.6.3001"),
                ),
                obs(
                    "1020000002",
                    "行動変容ステージ",
                    "EVN",
                    cd(stage, "1.2.392.200119.6.3002"),
                ),
                obs("1020000003", "保健指導コース名", "EVN", st(course)),
            ],
        ),
        section("90030", "指導初回情報", vec![interview, plan]),
    ];
    let points = if level == 1 {
        *rng.pick(&[180u32, 200, 240])
    } else {
        0
    };
    if level == 1 {
        let sessions = points / 30;
        let totals = Element::new("act")
            .attr("classCode", "ACT")
            .attr("moodCode", "INT")
            .child(Element::new("code").attr("nullFlavor", "NA"))
            .child(comp(obs(
                "1041800117",
                "計画上の継続的な支援の実施回数",
                "INT",
                int(sessions),
            )))
            .child(comp(obs(
                "1041101117",
                "計画上の実施回数（個別支援A）",
                "INT",
                int(sessions),
            )))
            .child(comp(obs(
                "1041101113",
                "計画上の合計実施時間（個別支援A）",
                "INT",
                pq(sessions * 30, "min"),
            )))
            .child(comp(obs(
                "1041800114",
                "計画上のポイント（合計）",
                "INT",
                int(points),
            )));
        sections.push(section("90070", "指導集計情報", vec![totals]));
    }
    // Points of continuous support done before an early termination: at least half the
    // planned sessions (so that the instalment stays above any fixed co-payment and the
    // claim is not zero), fewer than all of them.
    let points_done = if timing == 3 {
        let sessions = points / 30;
        30 * rng.range((sessions / 2).max(1), sessions.saturating_sub(1).max(1))
    } else {
        points
    };
    if timing == 5 {
        // 初回面接未完了: the interview as far as it went, no plan and no planned totals.
        sections.retain(|s| s.code.code != "90070");
        for s in &mut sections {
            if s.code.code == "90030" {
                s.entries.truncate(1);
            }
        }
    }
    if timing == 3 {
        // 途中終了: the continuous support performed until the stop; no evaluation.
        sections.retain(|s| s.code.code == "90010");
        sections.push(performed_support_totals(points_done));
    }
    if timing == 2 {
        // 実績評価 (3 months after the first session): the evaluation replaces the plan,
        // and the totals are the ones performed.
        sections.retain(|s| s.code.code == "90010");
        let smoker_code = *rng.pick(&[1u8, 2, 3, 3, 3]);
        let evaluation = Element::new("act")
            .attr("classCode", "ACT")
            .attr("moodCode", "EVN")
            .child(
                Element::new("code")
                    .attr("code", "1")
                    .attr("codeSystem", "1.2.392.200119.6.3005"),
            )
            .child(Element::new("effectiveTime").attr("value", start.ymd()))
            .child(
                Element::new("performer").child(
                    Element::new("assignedEntity")
                        .child(Element::new("id").attr("nullFlavor", "NI"))
                        .child(
                            Element::new("code")
                                .attr("code", staff.to_string())
                                .attr("codeSystem", "1.2.392.200119.6.3020"),
                        ),
                ),
            )
            .child(comp(obs(
                "1042001031",
                "3か月後の評価時の腹囲",
                "EVN",
                pq(crate::clinical::tenths(waist10 - rng.range(0, 40)), "cm"),
            )))
            .child(comp(obs(
                "1042001032",
                "3か月後の評価時の体重",
                "EVN",
                pq(crate::clinical::tenths(weight10 - rng.range(0, 40)), "kg"),
            )))
            .child(comp(obs(
                "1042001033",
                "3か月後の評価時の収縮期血圧",
                "EVN",
                pq(rng.range(112, 145), "mm[Hg]"),
            )))
            .child(comp(obs(
                "1042001034",
                "3か月後の評価時の拡張期血圧",
                "EVN",
                pq(rng.range(68, 92), "mm[Hg]"),
            )))
            .child(comp(obs(
                "1042001042",
                "生活習慣の改善（栄養・食生活）",
                "EVN",
                cd(rng.range(0, 1), "1.2.392.200119.6.3010"),
            )))
            .child(comp(obs(
                "1042001041",
                "生活習慣の改善（身体活動）",
                "EVN",
                cd(rng.range(0, 1), "1.2.392.200119.6.3010"),
            )))
            .child(comp(obs(
                "1042001043",
                "生活習慣の改善（喫煙）",
                "EVN",
                cd(smoker_code, "1.2.392.200119.6.3011"),
            )))
            .child(comp(obs(
                "1042001090",
                "実績評価情報",
                "EVN",
                st("目標をおおむね達成した。"),
            )));
        sections.push(section("90060", "最終評価情報", vec![evaluation]));
        if level == 1 {
            sections.push(performed_support_totals(points));
        }
    }

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
    let voucher = |function: &str, root: &str, number: &str| VoucherParticipant {
        function_code: function.into(),
        expiry: Some(expiry.clone()),
        id: Id::new(format!("{root}.1{insurer}"), number),
        scoping_organization: Some(Id::new(oid::INSURER, insurer)),
    };
    let creation = ctx.creation.ymd();
    let cda = ClinicalDocument {
        vouchers: vec![
            voucher("1", oid::CHECKUP_VOUCHER, &checkup_voucher),
            voucher("2", oid::GUIDANCE_VOUCHER, &guidance_voucher),
        ],
        service_event: Some(ServiceEvent {
            code: Code {
                code: "100".into(),
                code_system: Some(oid::PROGRAM_KIND.into()),
                display_name: None,
            },
            effective_time: start.ymd(),
            performer: Some(org.clone()),
        }),
        sections,
        ..crate::record::cda_header(&format!("2{timing}"), creation, ids, &person, sex, &org)
    };

    // Settlement: the contract's share of the price due at the first session, less the
    // person's co-payment for it.
    let unit_price = if level == 1 {
        terms.guidance_active
    } else {
        terms.guidance_motivational
    };
    let final_share = 100 - terms.first_share.min(100);
    let rate = match timing {
        2 => final_share,
        // Paid by the support done (see the module doc).
        3 => final_share * u64::from(points_done) / u64::from(points.max(1)),
        5 => terms.first_share / 2,
        _ => terms.first_share,
    };
    let calculated = money::guidance_calculated_amount(unit_price, rate)?;
    // The co-payment is charged per instalment on this timing's calculated amount
    // (窓口負担徴収 2), the way daiko's D-06 recomputes it from the ledger.
    let rule = crate::record::rule_for_pattern(rng, pattern, calculated, true)?;
    let copay = category_copayment(calculated, 0, rule);
    let (status, payment) = ("2", copay.copayment);
    let amounts = money::guidance_claim(unit_price, rate, payment)?;
    let cap = match rule {
        CopaymentRule::Cap { cap }
        | CopaymentRule::FixedWithCap { cap, .. }
        | CopaymentRule::RateWithCap { cap, .. } => Some(cap),
        _ => None,
    };
    let claim = GuidanceClaim {
        service_event_type: "2".into(),
        guidance_level: level.to_string(),
        guidance_timing: timing.to_string(),
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
            // The guidance claim carries the postal code only.
            addr: Address {
                text: String::new(),
                postal_code: Some(person.address.postal_code.clone()),
            },
            birth_time: person.birth.clone(),
            gender: sex.code().into(),
        },
        card: GuidanceCard {
            id: Some(Id::new(oid::GUIDANCE_VOUCHER, &guidance_voucher)),
            checkup_card_id: Some(Id::new(oid::CHECKUP_VOUCHER, &checkup_voucher)),
            expiry: Some(expiry),
            copayment: Some(copay.written.to_charge()),
            max_insurance_limit: cap.map(|c| money::WrittenCharge::Cap(c).to_charge()),
        },
        settlement: GuidanceSettlement {
            unit_price: Money::yen(unit_price),
            payment_rate: Rate {
                value: rate.to_string(),
                unit: Some("%".into()),
            },
            point_count_completed: (matches!(timing, 2 | 3) && level == 1)
                .then(|| points_done.to_string()),
            point_count_intended: (level == 1 && timing != 5).then(|| points.to_string()),
            calculated_amount: Money::yen(amounts.calculated_amount),
            payment_status: status.into(),
            payment_amount: Money::yen(amounts.payment_amount),
            claim_amount: Money::yen(amounts.claim_amount),
        },
        agency_adjudication: None,
        insurer_adjudication: None,
    };
    Ok(GuidanceDraft {
        stem,
        timing,
        first_session,
        rule,
        checkup_voucher,
        person,
        level,
        cda,
        claim,
        copayment_pattern: pattern,
    })
}

/// The defects specific to guidance records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidanceDefect {
    /// calculatedAmount ≠ unitPrice × paymentRate ÷ 100 (claimAmount follows it).
    CalculatedAmount,
    /// The first claim has no support plan.
    PlanMissing,
    /// The first claim carries completed points.
    CompletedPoints,
    /// 報告区分 22 on a first claim, or 21 on any other timing.
    ReportKind,
}

impl GuidanceDefect {
    pub const ALL: &'static [GuidanceDefect] = &[
        GuidanceDefect::CalculatedAmount,
        GuidanceDefect::PlanMissing,
        GuidanceDefect::CompletedPoints,
        GuidanceDefect::ReportKind,
    ];

    /// Whether the defect applies: the plan and completed-points rules are first-claim rules.
    pub fn applies_to(self, d: &GuidanceDraft) -> bool {
        match self {
            GuidanceDefect::PlanMissing | GuidanceDefect::CompletedPoints => d.timing == 1,
            _ => true,
        }
    }

    /// Applies the defect and describes it for the manifest.
    pub fn apply(self, d: &mut GuidanceDraft) -> InjectedDefect {
        let both = vec![d.data_path(), d.claim_path()];
        let (kind, codes, files, description): (&str, &[&str], Vec<String>, &str) = match self {
            GuidanceDefect::CalculatedAmount => {
                let s = &mut d.claim.settlement;
                let calc = s.calculated_amount.amount().unwrap_or(0);
                let claim = s.claim_amount.amount().unwrap_or(0);
                s.calculated_amount = Money::yen(calc + 1_000);
                s.claim_amount = Money::yen(claim + 1_000);
                (
                    "guidance-calculated-amount",
                    &["C-15"],
                    vec![d.claim_path()],
                    "calculatedAmount is 1,000 yen above unitPrice × paymentRate ÷ 100 (claimAmount follows it)",
                )
            }
            GuidanceDefect::PlanMissing => {
                for s in &mut d.cda.sections {
                    s.entries.retain(|e| !element_has_code(e, PLAN_WEEKS));
                }
                (
                    "guidance-plan-missing",
                    &["M-15"],
                    vec![d.data_path()],
                    "the first claim's CDA has no support plan",
                )
            }
            GuidanceDefect::CompletedPoints => {
                d.claim.settlement.point_count_completed = Some("30".into());
                (
                    "guidance-completed-points",
                    &["M-16"],
                    both,
                    "the first claim carries completed points",
                )
            }
            GuidanceDefect::ReportKind => {
                if let Some(c) = d.cda.code.as_mut() {
                    c.code = if d.timing == 1 { "22" } else { "21" }.into();
                }
                (
                    "guidance-report-kind",
                    &["H-01"],
                    both,
                    "報告区分 does not match guidanceTiming (22 with 1, or 21 with 2, 3 or 5)",
                )
            }
        };
        InjectedDefect {
            kind: kind.into(),
            codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            may_also: vec!["S-08".into()],
            files,
            description: description.into(),
        }
    }
}

fn element_has_code(e: &Element, code: &str) -> bool {
    (e.name == "code" && e.get("code") == Some(code))
        || e.elements().any(|c| element_has_code(c, code))
}

/// 指導集計情報 (90070) as performed: continuous support in 30-minute individual sessions
/// (support A) worth `points` in all.
fn performed_support_totals(points: u32) -> Section {
    let sessions = points / 30;
    let done = Element::new("act")
        .attr("classCode", "ACT")
        .attr("moodCode", "EVN")
        .child(Element::new("code").attr("nullFlavor", "NA"))
        .child(comp(obs(
            "1042800117",
            "実施上の継続的な支援の実施回数",
            "EVN",
            int(sessions),
        )))
        .child(comp(obs(
            "1042101117",
            "実施上の継続的な支援の実施回数（個別支援A）",
            "EVN",
            int(sessions),
        )))
        .child(comp(obs(
            "1042101113",
            "同上の合計実施時間（個別支援A）",
            "EVN",
            pq(sessions * 30, "min"),
        )))
        .child(comp(obs(
            "1042100114",
            "継続的な支援によるポイント（支援A）",
            "EVN",
            int(points),
        )))
        .child(comp(obs(
            "1042800114",
            "継続的な支援によるポイント（合計）",
            "EVN",
            int(points),
        )));
    section("90070", "指導集計情報", vec![done])
}

//! The non-CDA schemas in daiko's own form: the shared types of co08 and the four documents
//! built on them — 交換用基本情報 (ix08, `index`), 集計情報 (su08, `summary`), 健診決済情報
//! (cc08, `checkupClaim`) and 保健指導決済情報 (gc08, `healthGuidanceClaim`).
//!
//! Both sets share this description; what the 2024 set changed (namespace, 被保険者証等枝番,
//! the 8-digit 総レコード数, the wider 種別 and 実施区分 code lists) is marked with
//! [`When::ONLY_2024`] or [`Simple::BySet`].

use crate::model::*;
use crate::simple::{digits, is_oid, no_whitespace};

pub(crate) const NS_2018: &str = "http://tokuteikenshin.jp/checkup/2007";
pub(crate) const NS_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";

// ---------------------------------------------------------------------------------------------
// Simple types
// ---------------------------------------------------------------------------------------------

const fn string(name: &'static str) -> Atomic {
    Atomic::new(name, Prim::String)
}

const fn pattern(text: &'static str, matches: fn(&str) -> bool) -> Pattern {
    Pattern { text, matches }
}

const P_OID: Pattern = pattern(r"[0-2](\.(0|[1-9][0-9]*))*", is_oid);
const P_CODE: Pattern = pattern(r"[^\s]+", no_whitespace);

/// xs:string, no facets.
pub(crate) static XS_STRING: Simple = Simple::Atomic(string("xs:string"));
static XS_INTEGER: Simple = Simple::Atomic(Atomic::new("xs:integer", Prim::Integer));

/// OID (dotted decimal).
static OID: Simple = Simple::Atomic(Atomic {
    patterns: &[P_OID],
    ..string("oid")
});

/// A fixed OID: an `oid` restricted to one value.
const fn oid_of(name: &'static str, value: &'static [&'static str]) -> Simple {
    Simple::Atomic(Atomic {
        patterns: &[P_OID],
        enumeration: value,
        ..string(name)
    })
}

/// 日付 YYYYMMDD.
static DATE: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern(
        "([1-9][0-9][0-9][0-9])((0[1-9])|(1[0-2]))(([0-2][0-9])|(3[01]))",
        is_yyyymmdd,
    )],
    ..string("date")
});

fn is_yyyymmdd(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return false;
    }
    let month = &s[4..6];
    let day = &s[6..8];
    let month_ok = (month.starts_with('0') && month != "00") || matches!(month, "10" | "11" | "12");
    let day_ok = matches!(b[6], b'0'..=b'2') || day == "30" || day == "31";
    month_ok && day_ok
}

/// A string type restricted by one pattern.
macro_rules! patterned {
    ($name:expr, $text:expr, $matches:expr) => {
        Simple::Atomic(Atomic {
            patterns: &[pattern($text, $matches)],
            ..string($name)
        })
    };
}

/// 健診・保健指導機関番号.
static CHECKUP_PROVIDER_ID: Simple =
    patterned!("checkupProviderId", "[0-9]{10}", |s| digits(s, 10, 10));
/// 保険者番号 (the schema admits 0 to 8 digits).
static INSURANCE_PROVIDER_ID: Simple =
    patterned!("insuranceProviderId", "[0-9]{0,8}", |s| digits(s, 0, 8));
/// 代行機関番号.
static AGENCY_PROVIDER_ID: Simple = patterned!("agencyProviderId", "[0-9]{8}", |s| digits(s, 8, 8));
/// 送信機関・受信機関番号.
static PARTY_ID: Simple = Simple::Union(
    "senderId",
    &[
        &CHECKUP_PROVIDER_ID,
        &INSURANCE_PROVIDER_ID,
        &AGENCY_PROVIDER_ID,
    ],
);
/// 受診券・利用券整理番号.
static CONSULTATION_CARD_ID: Simple =
    patterned!("consultationCardId", "[0-9]{11}", |s| digits(s, 11, 11));
/// 窓口負担金額 (six zero-padded digits).
static CHARGE_MONETARY_AMOUNT: Simple =
    patterned!("chargeMonetaryAmount", "[0-9]{6}", |s| digits(s, 6, 6));
/// 窓口負担率 (six digits).
static CHARGE_RATE: Simple = patterned!("chargeRate", "[0-9]{6}", |s| digits(s, 6, 6));
/// 被保険者証等枝番 (2024).
static BRANCH_CODE_EXTENSION: Simple =
    patterned!("extensionForInsuranceBranchCode", "[0-9]{2}", |s| digits(
        s, 2, 2
    ));
/// 郵便番号 NNN-NNNN.
static POSTAL_CODE: Simple = patterned!("Common.PostalCode", "[0-9]{3}-[0-9]{4}", |s| {
    // bytes, not string slices: a multibyte value must not split a character
    let b = s.as_bytes();
    b.len() == 8
        && b.iter().enumerate().all(|(i, c)| {
            if i == 3 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
});

static CHECKUP_PROVIDER_OID: Simple = oid_of("checkupProviderOid", &["1.2.392.200119.6.102"]);
static INSURANCE_PROVIDER_OID: Simple = oid_of("insuranceProviderOid", &["1.2.392.200119.6.101"]);
static AGENCY_PROVIDER_OID: Simple = oid_of("agencyProviderOid", &["1.2.392.200119.6.103"]);
static LOCAL_GOVERNMENT_OID: Simple = oid_of("localGovernmentOid", &["1.2.392.200119.6.105"]);
static INSURANCE_SYMBOL_OID: Simple = oid_of("insuranceSymbolOid", &["1.2.392.200119.6.204"]);
static INSURANCE_NUMBER_OID: Simple = oid_of("insuranceNumberOid", &["1.2.392.200119.6.205"]);
static INSURANCE_BRANCH_OID: Simple = oid_of("insuranceBranchCodeOid", &["1.2.392.200119.6.211"]);
static CHECKUP_CARD_OID: Simple = oid_of("checkupCardOid", &["1.2.392.200119.6.209"]);
static GUIDANCE_CARD_OID: Simple = oid_of("healthGuidanceCardOid", &["1.2.392.200119.6.210"]);
static OBSERVATION_CODE_SYSTEM_OID: Simple =
    oid_of("observationCodeSystemOid", &["1.2.392.200119.6.1005"]);
static SENDER_OID: Simple = Simple::Union(
    "senderOid",
    &[
        &CHECKUP_PROVIDER_OID,
        &INSURANCE_PROVIDER_OID,
        &AGENCY_PROVIDER_OID,
    ],
);
static RECEIVER_OID: Simple = Simple::Union(
    "receiverOid",
    &[
        &CHECKUP_PROVIDER_OID,
        &INSURANCE_PROVIDER_OID,
        &AGENCY_PROVIDER_OID,
        &LOCAL_GOVERNMENT_OID,
    ],
);

const fn bounded(name: &'static str, max: i64) -> Simple {
    Simple::Atomic(Atomic {
        min: Some(0),
        max: Some(max),
        ..Atomic::new(name, Prim::Integer)
    })
}

/// 総計 (up to 6 digits).
static TOTAL_COUNT: Simple = bounded("totalCount", 999_999);
/// 総合計 (2024, up to 8 digits).
static GRAND_TOTAL_COUNT: Simple = bounded("grandTotalCount", 99_999_999);
static RECORD_COUNT: Simple = Simple::BySet(&TOTAL_COUNT, &GRAND_TOTAL_COUNT);
/// ポイント数 (up to 4 digits).
static POINT_COUNT: Simple = bounded("pointCount", 9_999);
/// 合計金額 (up to 9 digits).
static TOTAL_MONETARY_AMOUNT: Simple = bounded("totalMonetaryAmount", 999_999_999);
/// 割合 0-100.
static PERCENTAGE: Simple = bounded("percentage", 100);
/// 被保険者証等記号・番号 (at most 20 characters).
static SYMBOL_OR_NUMBER: Simple = Simple::Atomic(Atomic {
    max_len: Some(20),
    ..string("extensionForInsuranceNumberOrInsuranceSymbol")
});
/// 理由テキスト (at most 100 characters).
static REASON_TEXT: Simple = Simple::Atomic(Atomic {
    max_len: Some(100),
    ..string("reasonText")
});

/// A code list: a token (whitespace collapsed) without inner whitespace, one of `values`.
const fn code(name: &'static str, values: &'static [&'static str]) -> Simple {
    Simple::Atomic(Atomic {
        patterns: &[P_CODE],
        enumeration: values,
        ws: Ws::Collapse,
        ..Atomic::new(name, Prim::String)
    })
}

/// A code without a list (codedSimpleValue).
static CODED_VALUE: Simple = code("codedSimpleValue", &[]);
const N1_13: [&str; 13] = [
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
];
const N1_20: [&str; 20] = [
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17",
    "18", "19", "20",
];
/// 種別 (別表1).
static INTERACTION_TYPE: Simple = Simple::BySet(&INTERACTION_TYPE_2018, &INTERACTION_TYPE_2024);
static INTERACTION_TYPE_2018: Simple = code("Code.InteractionType", &N1_13);
static INTERACTION_TYPE_2024: Simple = code("Code.InteractionType", &N1_20);
/// 実施区分 (別表3).
static SERVICE_EVENT_TYPE: Simple =
    Simple::BySet(&SERVICE_EVENT_TYPE_2018, &SERVICE_EVENT_TYPE_2024);
static SERVICE_EVENT_TYPE_2018: Simple = code("Code.ServiceEventType", &["1", "2", "3", "4"]);
static SERVICE_EVENT_TYPE_2024: Simple = code(
    "Code.ServiceEventType",
    &["1", "2", "3", "4", "5", "6", "7", "8", "9"],
);
/// 男女区分 (別表4).
static GENDER: Simple = code("Code.AdministrativeGender", &["1", "2"]);
/// 窓口負担 (別表6).
static CHARGE_TYPE: Simple = code("Code.ChargeType", &["1", "2", "3", "4"]);
static CHARGE_TYPE_COPAYMENT: Simple = code("Code.ChargeTypeForCopayment", &["1", "2", "3"]);
static CHARGE_TYPE_LIMIT: Simple = code("Code.ChargeTypeForMaximumInsuranceLimit", &["4"]);
/// 請求区分 (別表7).
static CLAIM_TYPE: Simple = code("Code.ClaimType", &["1", "2", "3", "4", "5"]);
/// 詳細な健診項目 (別表8).
static DETAIL_OBSERVATION: Simple = code("Code.DetailObservationCode", &["1", "2", "3", "4"]);
const REASONS: [&str; 9] = ["01", "02", "03", "04", "05", "06", "07", "08", "09"];
/// 返戻理由 (別表9).
static ERROR_CODE: Simple = code("Code.ErrorCode", &REASONS);
/// 過誤返戻理由 (別表10).
static MALPRACTICE_CODE: Simple = code("Code.MalpracticeCode", &REASONS);
/// 保健指導実施時点 (別表11).
static GUIDANCE_TIMING: Simple = code("Code.HealthGuidanceTiming", &["1", "2", "3", "4", "5"]);
/// 保健指導区分 (別表12).
static GUIDANCE_LEVEL: Simple = code("Code.HealthGuidanceLevel", &["1", "2", "3", "4"]);
/// 窓口負担徴収 (別表14).
static PAYMENT_STATUS: Simple = code("Code.HealthGuidancePaymentStatus", &["1", "2"]);
/// 委託料単価区分 (別表15).
static COMMISSION_TYPE: Simple = code("Code.CommissionType", &["1", "2"]);
static CURRENCY: Simple = code("Code.Currency", &["JPY"]);
static UNIT: Simple = code("Code.Unit", &["%"]);

// ---------------------------------------------------------------------------------------------
// co08: shared complex types and global elements
// ---------------------------------------------------------------------------------------------

const fn complex(t: &'static Complex) -> TypeRef {
    TypeRef::Complex(t)
}

static INTERACTION_TYPE_T: Complex =
    attrs_only("Common.InteractionType", &[req("code", &INTERACTION_TYPE)]);
static SERVICE_EVENT_TYPE_T: Complex = attrs_only(
    "Common.ServiceEventType",
    &[req("code", &SERVICE_EVENT_TYPE)],
);
static DATE_T: Complex = attrs_only("Common.Date", &[req("value", &DATE)]);
static ROOT_EXT_INSURER: Complex = attrs_only(
    "Common.InsuranceProviderId",
    &[
        req("root", &INSURANCE_PROVIDER_OID),
        req("extension", &INSURANCE_PROVIDER_ID),
    ],
);
static ROOT_EXT_SYMBOL: Complex = attrs_only(
    "Common.InsuranceSymbol",
    &[
        req("root", &INSURANCE_SYMBOL_OID),
        req("extension", &SYMBOL_OR_NUMBER),
    ],
);
static ROOT_EXT_NUMBER: Complex = attrs_only(
    "Common.InsuranceNumber",
    &[
        req("root", &INSURANCE_NUMBER_OID),
        req("extension", &SYMBOL_OR_NUMBER),
    ],
);
static ROOT_EXT_BRANCH: Complex = attrs_only(
    "Common.InsuranceBranchCode",
    &[
        req("root", &INSURANCE_BRANCH_OID),
        req("extension", &BRANCH_CODE_EXTENSION),
    ],
);
static ROOT_EXT_PROVIDER: Complex = attrs_only(
    "Common.CheckupProviderId",
    &[
        req("root", &CHECKUP_PROVIDER_OID),
        req("extension", &CHECKUP_PROVIDER_ID),
    ],
);
static ROOT_EXT_CHECKUP_CARD: Complex = attrs_only(
    "Common.CheckupCardId",
    &[
        req("root", &CHECKUP_CARD_OID),
        req("extension", &CONSULTATION_CARD_ID),
    ],
);
static ROOT_EXT_GUIDANCE_CARD: Complex = attrs_only(
    "Common.HealthGuidanceCardId",
    &[
        req("root", &GUIDANCE_CARD_OID),
        req("extension", &CONSULTATION_CARD_ID),
    ],
);
static INSTANCE_IDENTIFIER: Complex = attrs_only(
    "Common.InstanceIdentifier",
    &[req("root", &OID), req("extension", &XS_STRING)],
);
static CODED_VALUE_T: Complex = attrs_only(
    "Common.CodedValue",
    &[req("code", &CODED_VALUE), req("codeSystem", &OID)],
);

/// 金額 (any integer).
static MONETARY_AMOUNT: Complex = attrs_only(
    "Common.MonetaryAmount",
    &[req("value", &XS_INTEGER), optional("currency", &CURRENCY)],
);
/// 総額 (9 digits at most), a restriction of 金額.
static TOTAL_AMOUNT: Complex = Complex {
    base: Some(&MONETARY_AMOUNT),
    ..attrs_only(
        "Common.TotalMonetaryAmount",
        &[
            req("value", &TOTAL_MONETARY_AMOUNT),
            optional("currency", &CURRENCY),
        ],
    )
};
/// 負担費用 (6 zero-padded digits).
static CHARGE_AMOUNT: Complex = attrs_only(
    "Common.ChargeMonetaryAmount",
    &[
        req("value", &CHARGE_MONETARY_AMOUNT),
        optional("currency", &CURRENCY),
    ],
);
static CHARGE_RATE_T: Complex = attrs_only(
    "Common.ChargeRate",
    &[req("value", &CHARGE_RATE), optional("unit", &UNIT)],
);
static PERCENTAGE_T: Complex = attrs_only(
    "Common.Percentage",
    &[req("value", &PERCENTAGE), optional("unit", &UNIT)],
);
static GENDER_T: Complex = attrs_only("Common.AdministrativeGender", &[req("code", &GENDER)]);
static DETAIL_OBSERVATION_T: Complex = attrs_only(
    "Common.DetailObservation",
    &[req("code", &DETAIL_OBSERVATION)],
);
static OTHER_OBSERVATION_T: Complex = attrs_only(
    "Common.OtherObservation",
    &[
        req("code", &CODED_VALUE),
        req("codeSystem", &OBSERVATION_CODE_SYSTEM_OID),
    ],
);

// Global elements of co08.
static E_BIRTH_TIME: Element = el("birthTime", complex(&DATE_T));
static E_AGENCY_RESULT: Element = el("agencyAdjudicationResult", complex(&AGENCY_RESULT));
static E_INSURER_RESULT: Element = el("insurerAdjudicationResult", complex(&INSURER_RESULT));
static E_INSURANCE_CARD: Element = el("insuranceCard", complex(&INSURANCE_CARD));
static E_INSURER_NUMBER: Element = el("insurerNumber", complex(&ROOT_EXT_INSURER));
static E_SYMBOL: Element = el("symbol", complex(&ROOT_EXT_SYMBOL));
static E_NUMBER: Element = el("number", complex(&ROOT_EXT_NUMBER));
static E_BRANCH_CODE: Element = el("branchCode", complex(&ROOT_EXT_BRANCH));
static E_POSTAL_CODE: Element = el("postalCode", TypeRef::Simple(&POSTAL_CODE));
static E_INTERACTION_TYPE: Element = el("interactionType", complex(&INTERACTION_TYPE_T));
static E_RECORD_DATE: Element = el("recordDate", complex(&DATE_T));
static E_TEXT: Element = el("text", TypeRef::Simple(&REASON_TEXT));
static E_AMOUNT: Element = el("amount", complex(&TOTAL_AMOUNT));
static E_RATE: Element = el("rate", complex(&CHARGE_RATE_T));
static E_SERVICE_EVENT_TYPE: Element = el("serviceEventType", complex(&SERVICE_EVENT_TYPE_T));

/// 被保険者証情報.
static INSURANCE_CARD: Complex = elements(
    "Common.InsuranceCard",
    &seq(&[
        one(&E_INSURER_NUMBER),
        opt(&E_SYMBOL),
        one(&E_NUMBER),
        when(opt(&E_BRANCH_CODE), When::ONLY_2024),
    ]),
    &[],
);

static L_CHARGE_AMOUNT: Element = el("amount", complex(&CHARGE_AMOUNT));
/// 窓口負担情報: a charge code with an amount or a rate.
static CHARGE_TYPE_T: Complex = elements(
    "Common.ChargeType",
    &choice(0, 1, &[one(&L_CHARGE_AMOUNT), one(&E_RATE)]),
    &[req("code", &CHARGE_TYPE)],
);
static L_RATE: Element = el("rate", complex(&CHARGE_RATE_T));
/// 自己負担情報.
static COPAYMENT_T: Complex = elements(
    "Common.Copayment",
    &choice(0, 1, &[one(&L_CHARGE_AMOUNT), one(&L_RATE)]),
    &[req("code", &CHARGE_TYPE_COPAYMENT)],
);
/// 保険者負担上限額.
static MAX_INSURANCE_LIMIT: Complex = elements(
    "Common.MaximumInsuranceLimit",
    &seq(&[one(&L_CHARGE_AMOUNT)]),
    &[fixed("code", &CHARGE_TYPE_LIMIT, "4")],
);
/// 住所: free text around one postal code.
static ADDRESS: Complex = Complex {
    content: Content::Elements {
        model: &seq(&[one(&E_POSTAL_CODE)]),
        mixed: true,
    },
    ..attrs_only("Common.Address", &[])
};
/// 氏名: text only (mixed content without elements).
static PERSON_NAME: Complex = Complex {
    content: Content::Elements {
        model: &seq(&[]),
        mixed: true,
    },
    ..attrs_only("Common.PersonName", &[])
};
/// 受診情報.
static ENCOUNTER: Complex = elements("Common.Encounter", &seq(&[one(&E_SERVICE_EVENT_TYPE)]), &[]);
static L_PROVIDER_ID: Element = el("id", complex(&ROOT_EXT_PROVIDER));
/// 健診・保健指導機関.
static CHECKUP_PROVIDER: Complex =
    elements("Common.CheckupProvider", &seq(&[one(&L_PROVIDER_ID)]), &[]);
/// 窓口負担金額.
static PAYMENT: Complex = elements("Common.Payment", &seq(&[one(&L_CHARGE_AMOUNT)]), &[]);

static ADJUDICATION_BASE_MODEL: Particle = seq(&[one(&E_INTERACTION_TYPE), one(&E_RECORD_DATE)]);
/// 処理結果 (abstract).
static ADJUDICATION_BASE: Complex = Complex {
    is_abstract: true,
    ..elements(
        "Common.AdjudicationResultBase",
        &ADJUDICATION_BASE_MODEL,
        &[],
    )
};
static L_ERROR_REASON: Element = el("reason", complex(&ERROR_REASON));
static L_MALPRACTICE_REASON: Element = el("reason", complex(&MALPRACTICE_REASON));
/// 代行機関処理結果.
static AGENCY_RESULT: Complex = Complex {
    base: Some(&ADJUDICATION_BASE),
    ..elements(
        "Common.AgencyAdjudicationResult",
        &seq(&[
            Particle {
                min: 1,
                max: 1,
                term: Term::Seq(&[one(&E_INTERACTION_TYPE), one(&E_RECORD_DATE)]),
                when: When::ALWAYS,
            },
            one(&L_ERROR_REASON),
        ]),
        &[],
    )
};
/// 保険者処理結果.
static INSURER_RESULT: Complex = Complex {
    base: Some(&ADJUDICATION_BASE),
    ..elements(
        "Common.InsurerAdjudicationResult",
        &seq(&[
            Particle {
                min: 1,
                max: 1,
                term: Term::Seq(&[one(&E_INTERACTION_TYPE), one(&E_RECORD_DATE)]),
                when: When::ALWAYS,
            },
            one(&L_MALPRACTICE_REASON),
        ]),
        &[],
    )
};
/// 返戻理由.
static ERROR_REASON: Complex = elements(
    "Common.ErrorReason",
    &seq(&[opt(&E_TEXT)]),
    &[optional("code", &ERROR_CODE)],
);
/// 過誤返戻理由.
static MALPRACTICE_REASON: Complex = elements(
    "Common.MalpracticeReason",
    &seq(&[opt(&E_TEXT)]),
    &[optional("code", &MALPRACTICE_CODE)],
);
static L_HIGH: Element = el("high", complex(&DATE_T));
/// 有効期限 (an interval with its end only).
static INTERVAL_POINT_IN_TIME: Complex =
    elements("Common.IntervalPointInTime", &seq(&[one(&L_HIGH)]), &[]);
/// 単価情報.
static UNIT_PRICE: Complex = elements("Common.UnitPrice", &seq(&[one(&E_AMOUNT)]), &[]);
static L_DETAIL_OBSERVATION: Element = el("observation", complex(&DETAIL_OBSERVATION_T));
static L_OTHER_OBSERVATION: Element = el("observation", complex(&OTHER_OBSERVATION_T));
/// 健診項目別単価 (詳細な健診).
static UNIT_PRICE_DETAIL: Complex = Complex {
    base: Some(&UNIT_PRICE),
    ..elements(
        "Common.UnitPriceWithDetailObservation",
        &seq(&[seq(&[one(&E_AMOUNT)]), one(&L_DETAIL_OBSERVATION)]),
        &[],
    )
};
/// 健診項目別単価 (追加健診).
static UNIT_PRICE_OTHER: Complex = Complex {
    base: Some(&UNIT_PRICE),
    ..elements(
        "Common.UnitPriceWithOtherObservation",
        &seq(&[seq(&[one(&E_AMOUNT)]), opt(&L_OTHER_OBSERVATION)]),
        &[],
    )
};

// ---------------------------------------------------------------------------------------------
// ix08 交換用基本情報
// ---------------------------------------------------------------------------------------------

static TOTAL_RECORD_COUNT_T: Complex =
    attrs_only("Index.TotalRecordCount", &[req("value", &RECORD_COUNT)]);
static SENDER_ID_T: Complex = attrs_only(
    "Index.SenderId",
    &[req("root", &SENDER_OID), req("extension", &PARTY_ID)],
);
static RECEIVER_ID_T: Complex = attrs_only(
    "Index.ReceiverId",
    &[req("root", &RECEIVER_OID), req("extension", &PARTY_ID)],
);
static L_SENDER_ID: Element = el("id", complex(&SENDER_ID_T));
static L_RECEIVER_ID: Element = el("id", complex(&RECEIVER_ID_T));
static SENDER_T: Complex = elements("Index.Sender", &seq(&[one(&L_SENDER_ID)]), &[]);
static RECEIVER_T: Complex = elements("Index.Receiver", &seq(&[one(&L_RECEIVER_ID)]), &[]);
static E_CREATION_TIME: Element = el("creationTime", complex(&DATE_T));
static E_SENDER: Element = el("sender", complex(&SENDER_T));
static E_RECEIVER: Element = el("receiver", complex(&RECEIVER_T));
static E_TOTAL_RECORD_COUNT: Element = el("totalRecordCount", complex(&TOTAL_RECORD_COUNT_T));
/// 交換用基本情報.
static INDEX_T: Complex = elements(
    "Index",
    &seq(&[
        one(&E_INTERACTION_TYPE),
        one(&E_CREATION_TIME),
        one(&E_SENDER),
        opt(&E_RECEIVER),
        one(&E_SERVICE_EVENT_TYPE),
        one(&E_TOTAL_RECORD_COUNT),
    ]),
    &[],
);
static E_INDEX: Element = el("index", complex(&INDEX_T));

// ---------------------------------------------------------------------------------------------
// su08 集計情報
// ---------------------------------------------------------------------------------------------

static TOTAL_SUBJECT_COUNT_T: Complex =
    attrs_only("Summary.TotalSubjectCount", &[req("value", &TOTAL_COUNT)]);
static E_TOTAL_SUBJECT_COUNT: Element = el("totalSubjectCount", complex(&TOTAL_SUBJECT_COUNT_T));
static E_TOTAL_COST: Element = el("totalCostAmount", complex(&TOTAL_AMOUNT));
static E_TOTAL_PAYMENT: Element = el("totalPaymentAmount", complex(&TOTAL_AMOUNT));
static E_TOTAL_OTHER_PROGRAM: Element = el("totalPaymentByOtherProgram", complex(&TOTAL_AMOUNT));
static E_TOTAL_CLAIM: Element = el("totalClaimAmount", complex(&TOTAL_AMOUNT));
/// 集計情報.
static SUMMARY_T: Complex = elements(
    "Summary",
    &seq(&[
        one(&E_SERVICE_EVENT_TYPE),
        one(&E_TOTAL_SUBJECT_COUNT),
        one(&E_TOTAL_COST),
        one(&E_TOTAL_PAYMENT),
        opt(&E_TOTAL_OTHER_PROGRAM),
        one(&E_TOTAL_CLAIM),
    ]),
    &[],
);
static E_SUMMARY: Element = el("summary", complex(&SUMMARY_T));

// ---------------------------------------------------------------------------------------------
// cc08 健診決済情報
// ---------------------------------------------------------------------------------------------

static E_CC_ENCOUNTER: Element = el("encounter", complex(&ENCOUNTER));
static E_CC_CHECKUP_CARD: Element = el("checkupCard", complex(&CC_CHECKUP_CARD));
static E_CC_ID: Element = el("id", complex(&ROOT_EXT_CHECKUP_CARD));
static E_EFFECTIVE_TIME: Element = el("effectiveTime", complex(&INTERVAL_POINT_IN_TIME));
static E_HIGH: Element = el("high", complex(&DATE_T));
static E_PERFORMER_ORGANIZATION: Element = el("performerOrganization", complex(&CHECKUP_PROVIDER));
static E_NAME: Element = el("name", complex(&PERSON_NAME));
static E_CC_ADDR: Element = el("addr", complex(&ADDRESS));
static E_GENDER: Element = el("administrativeGender", complex(&GENDER_T));
static E_CHARGE_BASIC: Element = el("chargeTypeBasic", complex(&CHARGE_TYPE_T));
static E_CHARGE_DETAIL: Element = el("chargeTypeDetail", complex(&CHARGE_TYPE_T));
static E_CHARGE_OTHER: Element = el("chargeTypeOther", complex(&CHARGE_TYPE_T));
static E_CC_COPAYMENT: Element = el("copayment", complex(&COPAYMENT_T));
static E_MAX_INSURANCE_LIMIT: Element = el("maxInsuranceLimit", complex(&MAX_INSURANCE_LIMIT));
static E_CHARGE_DOCK: Element = el("chargeTypeHumanDryDock", complex(&CC_CHARGE_DOCK));
static E_CC_SETTLEMENT: Element = el("settlement", complex(&CC_SETTLEMENT));
static E_CLAIM_TYPE: Element = el("claimType", complex(&CLAIM_TYPE_T));
static E_COMMISSION_TYPE: Element = el("commissionType", complex(&COMMISSION_TYPE_T));
static E_UNIT_PRICE_BASIC: Element = el("unitPriceBasic", complex(&UNIT_PRICE));
static E_UNIT_PRICE_DETAIL: Element = el("unitPriceDetail", complex(&UNIT_PRICE_DETAIL));
static E_UNIT_PRICE_OTHER: Element = el("unitPriceOther", complex(&UNIT_PRICE_OTHER));
static E_PAYMENT_BASIC: Element = el("paymentForBasic", complex(&PAYMENT));
static E_PAYMENT_DETAIL: Element = el("paymentForDetail", complex(&PAYMENT));
static E_PAYMENT_OTHER: Element = el("paymentForOther", complex(&PAYMENT));
static E_UNIT_AMOUNT: Element = el("unitAmount", complex(&TOTAL_AMOUNT));
static E_PAYMENT_AMOUNT: Element = el("paymentAmount", complex(&TOTAL_AMOUNT));
static E_PAYMENT_OTHER_PROGRAM: Element = el("paymentByOtherProgram", complex(&TOTAL_AMOUNT));
static E_CLAIM_AMOUNT: Element = el("claimAmount", complex(&TOTAL_AMOUNT));

static CLAIM_TYPE_T: Complex = attrs_only("CheckupClaim.ClaimType", &[req("code", &CLAIM_TYPE)]);
static COMMISSION_TYPE_T: Complex = attrs_only(
    "CheckupClaim.CommissionType",
    &[req("code", &COMMISSION_TYPE)],
);
/// 受診券情報.
static CC_CHECKUP_CARD: Complex = elements(
    "CheckupClaim.CheckupCard",
    &seq(&[
        opt(&E_CC_ID),
        opt(&E_EFFECTIVE_TIME),
        opt(&E_CHARGE_BASIC),
        opt(&E_CHARGE_DETAIL),
        opt(&E_CHARGE_OTHER),
        opt(&E_CHARGE_DOCK),
    ]),
    &[],
);
/// 人間ドックの窓口負担.
static CC_CHARGE_DOCK: Complex = elements(
    "CheckupClaim.ChargeTypeHumanDryDock",
    &seq(&[opt(&E_CC_COPAYMENT), opt(&E_MAX_INSURANCE_LIMIT)]),
    &[],
);
/// 受診者情報.
static CC_SUBJECT_PERSON: Complex = elements(
    "CheckupClaim.SubjectPerson",
    &seq(&[
        one(&E_PERFORMER_ORGANIZATION),
        one(&E_INSURANCE_CARD),
        one(&E_NAME),
        one(&E_CC_ADDR),
        one(&E_BIRTH_TIME),
        one(&E_GENDER),
    ]),
    &[],
);
/// 決済情報.
static CC_SETTLEMENT: Complex = elements(
    "CheckupClaim.Settlement",
    &seq(&[
        one(&E_CLAIM_TYPE),
        one(&E_COMMISSION_TYPE),
        opt(&E_UNIT_PRICE_BASIC),
        many(&E_UNIT_PRICE_DETAIL),
        many(&E_UNIT_PRICE_OTHER),
        opt(&E_PAYMENT_BASIC),
        opt(&E_PAYMENT_DETAIL),
        opt(&E_PAYMENT_OTHER),
        one(&E_UNIT_AMOUNT),
        one(&E_PAYMENT_AMOUNT),
        opt(&E_PAYMENT_OTHER_PROGRAM),
        one(&E_CLAIM_AMOUNT),
    ]),
    &[],
);
static L_CC_SUBJECT_PERSON: Element = el("subjectPerson", complex(&CC_SUBJECT_PERSON));
/// 健診決済情報.
static CHECKUP_CLAIM_T: Complex = elements(
    "CheckupClaim",
    &seq(&[
        one(&E_CC_ENCOUNTER),
        one(&L_CC_SUBJECT_PERSON),
        one(&E_CC_CHECKUP_CARD),
        one(&E_CC_SETTLEMENT),
        opt(&E_AGENCY_RESULT),
        opt(&E_INSURER_RESULT),
    ]),
    &[],
);
static E_CHECKUP_CLAIM: Element = el("checkupClaim", complex(&CHECKUP_CLAIM_T));

// ---------------------------------------------------------------------------------------------
// gc08 保健指導決済情報
// ---------------------------------------------------------------------------------------------

static GUIDANCE_LEVEL_T: Complex = attrs_only(
    "HealthGuidanceClaim.GuidanceLevel",
    &[req("code", &GUIDANCE_LEVEL)],
);
static GUIDANCE_TIMING_T: Complex = attrs_only(
    "HealthGuidanceClaim.GuidanceTiming",
    &[req("code", &GUIDANCE_TIMING)],
);
static POINT_COUNT_T: Complex = attrs_only(
    "HealthGuidanceClaim.PointCount",
    &[req("value", &POINT_COUNT)],
);
static PAYMENT_STATUS_T: Complex = attrs_only(
    "HealthGuidanceClaim.PaymentStatus",
    &[req("code", &PAYMENT_STATUS)],
);

static E_GC_ENCOUNTER: Element = el("encounter", complex(&GC_ENCOUNTER));
static E_GUIDANCE_LEVEL: Element = el("guidanceLevel", complex(&GUIDANCE_LEVEL_T));
static E_GUIDANCE_TIMING: Element = el("guidanceTiming", complex(&GUIDANCE_TIMING_T));
static E_GC_CARD: Element = el("healthGuidanceCard", complex(&GC_CARD));
static E_GC_ID: Element = el("id", complex(&ROOT_EXT_GUIDANCE_CARD));
static E_CHECKUP_CARD_ID: Element = el("checkupCardId", complex(&ROOT_EXT_CHECKUP_CARD));
static E_GC_COPAYMENT: Element = el("copayment", complex(&CHARGE_TYPE_T));
static E_GC_SETTLEMENT: Element = el("settlement", complex(&GC_SETTLEMENT));
static E_UNIT_PRICE: Element = el("unitPrice", complex(&UNIT_PRICE));
static E_PAYMENT_RATE: Element = el("paymentRate", complex(&PERCENTAGE_T));
static E_POINTS_COMPLETED: Element = el("pointCountCompleted", complex(&POINT_COUNT_T));
static E_POINTS_INTENDED: Element = el("pointCountIntended", complex(&POINT_COUNT_T));
static E_CALCULATED_AMOUNT: Element = el("calculatedAmount", complex(&TOTAL_AMOUNT));
static E_GC_PAYMENT: Element = el("payment", complex(&GC_PAYMENT));
static E_STATUS: Element = el("status", complex(&PAYMENT_STATUS_T));

/// 保健指導の受診情報: 実施区分 plus 保健指導区分 and 実施時点.
static GC_ENCOUNTER: Complex = Complex {
    base: Some(&ENCOUNTER),
    ..elements(
        "HealthGuidanceClaim.HealthGuidanceEncounter",
        &seq(&[
            seq(&[one(&E_SERVICE_EVENT_TYPE)]),
            seq(&[one(&E_GUIDANCE_LEVEL), one(&E_GUIDANCE_TIMING)]),
        ]),
        &[],
    )
};
static L_GC_POSTAL_CODE: Element = el("postalCode", TypeRef::Simple(&POSTAL_CODE));
/// 住所 (guidance claims carry the postal code only).
static GC_ADDRESS: Complex = elements(
    "HealthGuidanceClaim.Address",
    &seq(&[one(&L_GC_POSTAL_CODE)]),
    &[],
);
static L_GC_ADDR: Element = el("addr", complex(&GC_ADDRESS));
static GC_SUBJECT_PERSON: Complex = elements(
    "HealthGuidanceClaim.SubjectPerson",
    &seq(&[
        one(&E_PERFORMER_ORGANIZATION),
        one(&E_INSURANCE_CARD),
        one(&E_NAME),
        one(&L_GC_ADDR),
        one(&E_BIRTH_TIME),
        one(&E_GENDER),
    ]),
    &[],
);
/// 利用券情報.
static GC_CARD: Complex = elements(
    "HealthGuidanceClaim.HealthGuidanceCard",
    &seq(&[
        opt(&E_GC_ID),
        opt(&E_CHECKUP_CARD_ID),
        opt(&E_EFFECTIVE_TIME),
        opt(&E_GC_COPAYMENT),
        opt(&E_MAX_INSURANCE_LIMIT),
    ]),
    &[],
);
/// 決済情報.
static GC_SETTLEMENT: Complex = elements(
    "HealthGuidanceClaim.Settlement",
    &seq(&[
        one(&E_UNIT_PRICE),
        one(&E_PAYMENT_RATE),
        opt(&E_POINTS_COMPLETED),
        opt(&E_POINTS_INTENDED),
        one(&E_CALCULATED_AMOUNT),
        one(&E_GC_PAYMENT),
        one(&E_CLAIM_AMOUNT),
    ]),
    &[],
);
static L_GC_AMOUNT: Element = el("amount", complex(&TOTAL_AMOUNT));
/// 窓口負担の徴収.
static GC_PAYMENT: Complex = elements(
    "HealthGuidanceClaim.Payment",
    &seq(&[one(&E_STATUS), one(&L_GC_AMOUNT)]),
    &[],
);
static L_GC_SUBJECT_PERSON: Element = el("subjectPerson", complex(&GC_SUBJECT_PERSON));
/// 保健指導決済情報.
static GUIDANCE_CLAIM_T: Complex = elements(
    "HealthGuidanceClaim",
    &seq(&[
        one(&E_GC_ENCOUNTER),
        one(&L_GC_SUBJECT_PERSON),
        one(&E_GC_CARD),
        one(&E_GC_SETTLEMENT),
        opt(&E_AGENCY_RESULT),
        opt(&E_INSURER_RESULT),
    ]),
    &[],
);
static E_GUIDANCE_CLAIM: Element = el("healthGuidanceClaim", complex(&GUIDANCE_CLAIM_T));

// ---------------------------------------------------------------------------------------------
// Global element sets and type tables per schema
// ---------------------------------------------------------------------------------------------

/// Global elements of co08 (every schema of the family includes it).
macro_rules! common_globals {
    ($($extra:expr),* $(,)?) => {
        &[
            $($extra,)*
            one(&E_BIRTH_TIME),
            one(&E_AGENCY_RESULT),
            one(&E_INSURER_RESULT),
            one(&E_INSURANCE_CARD),
            one(&E_INSURER_NUMBER),
            one(&E_SYMBOL),
            one(&E_NUMBER),
            when(one(&E_BRANCH_CODE), When::ONLY_2024),
            one(&E_POSTAL_CODE),
            one(&E_INTERACTION_TYPE),
            one(&E_RECORD_DATE),
            one(&E_TEXT),
            one(&E_AMOUNT),
            one(&E_RATE),
            one(&E_SERVICE_EVENT_TYPE),
        ]
    };
}

pub(crate) static INDEX_GLOBALS: &[Particle] = common_globals![
    one(&E_INDEX),
    one(&E_CREATION_TIME),
    one(&E_SENDER),
    one(&E_RECEIVER),
    one(&E_TOTAL_RECORD_COUNT),
];
pub(crate) static SUMMARY_GLOBALS: &[Particle] = common_globals![
    one(&E_SUMMARY),
    one(&E_TOTAL_SUBJECT_COUNT),
    one(&E_TOTAL_COST),
    one(&E_TOTAL_PAYMENT),
    one(&E_TOTAL_OTHER_PROGRAM),
    one(&E_TOTAL_CLAIM),
];
pub(crate) static CHECKUP_CLAIM_GLOBALS: &[Particle] = common_globals![
    one(&E_CHECKUP_CLAIM),
    one(&E_CC_ENCOUNTER),
    one(&E_CC_CHECKUP_CARD),
    one(&E_CC_ID),
    one(&E_EFFECTIVE_TIME),
    one(&E_HIGH),
    one(&E_PERFORMER_ORGANIZATION),
    one(&E_NAME),
    one(&E_CC_ADDR),
    one(&E_GENDER),
    one(&E_CHARGE_BASIC),
    one(&E_CHARGE_DETAIL),
    one(&E_CHARGE_OTHER),
    one(&E_CC_COPAYMENT),
    one(&E_MAX_INSURANCE_LIMIT),
    one(&E_CHARGE_DOCK),
    one(&E_CC_SETTLEMENT),
    one(&E_CLAIM_TYPE),
    one(&E_COMMISSION_TYPE),
    one(&E_UNIT_PRICE_BASIC),
    one(&E_UNIT_PRICE_DETAIL),
    one(&E_UNIT_PRICE_OTHER),
    one(&E_PAYMENT_BASIC),
    one(&E_PAYMENT_DETAIL),
    one(&E_PAYMENT_OTHER),
    one(&E_UNIT_AMOUNT),
    one(&E_PAYMENT_AMOUNT),
    one(&E_PAYMENT_OTHER_PROGRAM),
    one(&E_CLAIM_AMOUNT),
];
pub(crate) static GUIDANCE_CLAIM_GLOBALS: &[Particle] = common_globals![
    one(&E_GUIDANCE_CLAIM),
    one(&E_GC_ENCOUNTER),
    one(&E_GUIDANCE_LEVEL),
    one(&E_GUIDANCE_TIMING),
    one(&E_PERFORMER_ORGANIZATION),
    one(&E_NAME),
    one(&E_GENDER),
    one(&E_GC_CARD),
    one(&E_GC_ID),
    one(&E_CHECKUP_CARD_ID),
    one(&E_EFFECTIVE_TIME),
    one(&E_HIGH),
    one(&E_GC_COPAYMENT),
    one(&E_MAX_INSURANCE_LIMIT),
    one(&E_GC_SETTLEMENT),
    one(&E_UNIT_PRICE),
    one(&E_PAYMENT_RATE),
    one(&E_POINTS_COMPLETED),
    one(&E_POINTS_INTENDED),
    one(&E_CALCULATED_AMOUNT),
    one(&E_GC_PAYMENT),
    one(&E_STATUS),
    one(&E_CLAIM_AMOUNT),
];

/// Named types of co08 (shared by all four schemas), for `xsi:type`.
fn common_type(name: &str, v2024: bool) -> Option<TypeRef> {
    let c = |t: &'static Complex| Some(TypeRef::Complex(t));
    let s = |t: &'static Simple| Some(TypeRef::Simple(t));
    match name {
        "Common.InteractionType" => c(&INTERACTION_TYPE_T),
        "Common.ServiceEventType" => c(&SERVICE_EVENT_TYPE_T),
        "Common.InsuranceCard" => c(&INSURANCE_CARD),
        "Common.Date" => c(&DATE_T),
        "Common.ChargeType" => c(&CHARGE_TYPE_T),
        "Common.Copayment" => c(&COPAYMENT_T),
        "Common.MaximumInsuranceLimit" => c(&MAX_INSURANCE_LIMIT),
        "Common.Percentage" => c(&PERCENTAGE_T),
        "Common.ChargeRate" => c(&CHARGE_RATE_T),
        "Common.Address" => c(&ADDRESS),
        "Common.PostalCode" => s(&POSTAL_CODE),
        "Common.Encounter" => c(&ENCOUNTER),
        "Common.CheckupProvider" => c(&CHECKUP_PROVIDER),
        "Common.InstanceIdentifier" => c(&INSTANCE_IDENTIFIER),
        "Common.InsuranceSymbol" => c(&ROOT_EXT_SYMBOL),
        "Common.InsuranceNumber" => c(&ROOT_EXT_NUMBER),
        "Common.InsuranceBranchCode" if v2024 => c(&ROOT_EXT_BRANCH),
        "Common.InsuranceProviderId" => c(&ROOT_EXT_INSURER),
        "Common.CheckupProviderId" => c(&ROOT_EXT_PROVIDER),
        "Common.CheckupCardId" => c(&ROOT_EXT_CHECKUP_CARD),
        "Common.HealthGuidanceCardId" => c(&ROOT_EXT_GUIDANCE_CARD),
        "Common.MonetaryAmount" => c(&MONETARY_AMOUNT),
        "Common.TotalMonetaryAmount" => c(&TOTAL_AMOUNT),
        "Common.Payment" => c(&PAYMENT),
        "Common.ChargeMonetaryAmount" => c(&CHARGE_AMOUNT),
        "Common.CodedValue" => c(&CODED_VALUE_T),
        "Common.AdministrativeGender" => c(&GENDER_T),
        "Common.PersonName" => c(&PERSON_NAME),
        "Common.AdjudicationResultBase" => c(&ADJUDICATION_BASE),
        "Common.InsurerAdjudicationResult" => c(&INSURER_RESULT),
        "Common.AgencyAdjudicationResult" => c(&AGENCY_RESULT),
        "Common.ErrorReason" => c(&ERROR_REASON),
        "Common.MalpracticeReason" => c(&MALPRACTICE_REASON),
        "Common.IntervalPointInTime" => c(&INTERVAL_POINT_IN_TIME),
        "Common.UnitPrice" => c(&UNIT_PRICE),
        "Common.UnitPriceWithDetailObservation" => c(&UNIT_PRICE_DETAIL),
        "Common.UnitPriceWithOtherObservation" => c(&UNIT_PRICE_OTHER),
        "Common.DetailObservation" => c(&DETAIL_OBSERVATION_T),
        "Common.OtherObservation" => c(&OTHER_OBSERVATION_T),
        "reasonText" => s(&REASON_TEXT),
        _ => None,
    }
}

pub(crate) fn index_type(name: &str, ctx: u8) -> Option<TypeRef> {
    let v2024 = ctx & When::V2024 != 0;
    let c = |t: &'static Complex| Some(TypeRef::Complex(t));
    match name {
        "Index" => c(&INDEX_T),
        "Index.TotalRecordCount" => c(&TOTAL_RECORD_COUNT_T),
        "Index.SenderId" => c(&SENDER_ID_T),
        "Index.ReceiverId" => c(&RECEIVER_ID_T),
        "Index.Sender" => c(&SENDER_T),
        "Index.Receiver" => c(&RECEIVER_T),
        _ => common_type(name, v2024),
    }
}

pub(crate) fn summary_type(name: &str, ctx: u8) -> Option<TypeRef> {
    let v2024 = ctx & When::V2024 != 0;
    let c = |t: &'static Complex| Some(TypeRef::Complex(t));
    match name {
        "Summary" => c(&SUMMARY_T),
        "Summary.TotalSubjectCount" => c(&TOTAL_SUBJECT_COUNT_T),
        _ => common_type(name, v2024),
    }
}

pub(crate) fn checkup_claim_type(name: &str, ctx: u8) -> Option<TypeRef> {
    let v2024 = ctx & When::V2024 != 0;
    let c = |t: &'static Complex| Some(TypeRef::Complex(t));
    match name {
        "CheckupClaim" => c(&CHECKUP_CLAIM_T),
        "CheckupClaim.CheckupCard" => c(&CC_CHECKUP_CARD),
        "CheckupClaim.ChargeTypeHumanDryDock" => c(&CC_CHARGE_DOCK),
        "CheckupClaim.SubjectPerson" => c(&CC_SUBJECT_PERSON),
        "CheckupClaim.Settlement" => c(&CC_SETTLEMENT),
        "CheckupClaim.ClaimType" => c(&CLAIM_TYPE_T),
        "CheckupClaim.CommissionType" => c(&COMMISSION_TYPE_T),
        _ => common_type(name, v2024),
    }
}

pub(crate) fn guidance_claim_type(name: &str, ctx: u8) -> Option<TypeRef> {
    let v2024 = ctx & When::V2024 != 0;
    let c = |t: &'static Complex| Some(TypeRef::Complex(t));
    match name {
        "HealthGuidanceClaim" => c(&GUIDANCE_CLAIM_T),
        "HealthGuidanceClaim.HealthGuidanceEncounter" => c(&GC_ENCOUNTER),
        "HealthGuidanceClaim.GuidanceLevel" => c(&GUIDANCE_LEVEL_T),
        "HealthGuidanceClaim.GuidanceTiming" => c(&GUIDANCE_TIMING_T),
        "HealthGuidanceClaim.SubjectPerson" => c(&GC_SUBJECT_PERSON),
        "HealthGuidanceClaim.Address" => c(&GC_ADDRESS),
        "HealthGuidanceClaim.HealthGuidanceCard" => c(&GC_CARD),
        "HealthGuidanceClaim.PointCount" => c(&POINT_COUNT_T),
        "HealthGuidanceClaim.Settlement" => c(&GC_SETTLEMENT),
        "HealthGuidanceClaim.Payment" => c(&GC_PAYMENT),
        "HealthGuidanceClaim.PaymentStatus" => c(&PAYMENT_STATUS_T),
        _ => common_type(name, v2024),
    }
}

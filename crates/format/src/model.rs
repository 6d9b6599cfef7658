//! The typed model of the six MHLW document kinds.
//!
//! Values that a producer can get wrong (codes, dates, amounts, numbers) are kept as the
//! **raw strings** found in the file, so that reading never loses information, writing
//! reproduces the producer's spelling (padded or unpadded amounts), and the checks can
//! report the exact value that is wrong. Typed accessors (`*_value()`) parse on demand.
//!
//! "As written" means as XML Schema reads it: in the index, summary and claims, values
//! whose XSD type collapses white space (`xs:token` codes, `xs:integer` counts and
//! amounts) are read collapsed (`code=" 1 "` is `1`); so are the CDA header's codes (HL7
//! `cs`) and, in [`crate::cda`]'s views, the body's codes, PQ values and units and INT
//! values. `xs:string` values (dates and timestamps, ids, OIDs, 6-digit window amounts
//! and rates, names, display names, ST text) are kept exactly; body `entries` keep the
//! elements as written.
//!
//! An absent optional element is `None`; an element present with an absent attribute is
//! `Some(..)` with an empty string only where the schema makes the attribute required
//! (the schema check reports it).

use crate::xml::Element;

/// Namespace of index, summary and claims for FY2018–FY2023 (第3期).
pub const NS_2007: &str = "http://tokuteikenshin.jp/checkup/2007";
/// Namespace of index, summary and claims for FY2024 and later (第4期).
pub const NS_MHLW_2024: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
/// Namespace of the HL7 CDA documents (both generations).
pub const NS_HL7: &str = "urn:hl7-org:v3";
/// XML Schema instance namespace (`xsi:type`, `xsi:schemaLocation`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// OIDs of identifiers and code systems (FORMAT.md §3).
pub mod oid {
    /// 保険者番号
    pub const INSURER: &str = "1.2.392.200119.6.101";
    /// 特定健診機関番号 / 特定保健指導機関番号
    pub const INSTITUTION: &str = "1.2.392.200119.6.102";
    /// 代行機関番号
    pub const AGENCY: &str = "1.2.392.200119.6.103";
    /// 地方公共団体コード (receiver only)
    pub const LOCAL_GOVERNMENT: &str = "1.2.392.200119.6.105";
    /// 被保険者証等記号
    pub const CARD_SYMBOL: &str = "1.2.392.200119.6.204";
    /// 被保険者証等番号
    pub const CARD_NUMBER: &str = "1.2.392.200119.6.205";
    /// 券面種別
    pub const TICKET_KIND: &str = "1.2.392.200119.6.208";
    /// 受診券整理番号
    pub const CHECKUP_VOUCHER: &str = "1.2.392.200119.6.209";
    /// 利用券整理番号
    pub const GUIDANCE_VOUCHER: &str = "1.2.392.200119.6.210";
    /// 被保険者証等枝番
    pub const CARD_BRANCH: &str = "1.2.392.200119.6.211";
    /// 報告区分
    pub const REPORT_KIND: &str = "1.2.392.200119.6.1001";
    /// 健診プログラム種別
    pub const PROGRAM_KIND: &str = "1.2.392.200119.6.1002";
    /// 特定健診項目コード (default code system of hc08 observation codes)
    pub const CHECKUP_ITEM: &str = "1.2.392.200119.6.1005";
    /// 特定保健指導項目コード (default code system of hg08 observation codes)
    pub const GUIDANCE_ITEM: &str = "1.2.392.200119.6.1006";
    /// 検査方法コード
    pub const METHOD: &str = "1.2.392.200119.6.1007";
    /// CDA section codes
    pub const SECTION: &str = "1.2.392.200119.6.1010";
    /// 男女区分
    pub const GENDER: &str = "1.2.392.200119.6.1104";
    /// HL7 ObservationInterpretation (H / L / N)
    pub const HL7_INTERPRETATION: &str = "2.16.840.1.113883.5.83";
    /// HL7 Confidentiality
    pub const HL7_CONFIDENTIALITY: &str = "2.16.840.1.113883.5.25";
    /// CDA typeId root
    pub const CDA_TYPE_ID: &str = "2.16.840.1.113883.1.3";
}

/// Schema generation of an archive: which namespace its non-CDA files use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Generation {
    /// FY2018–FY2023, `http://tokuteikenshin.jp/checkup/2007`.
    G2018,
    /// FY2024 and later, the mhlw.go.jp namespace.
    G2024,
}

impl Generation {
    /// The namespace of index, summary and claims for this generation.
    pub fn namespace(self) -> &'static str {
        match self {
            Generation::G2018 => NS_2007,
            Generation::G2024 => NS_MHLW_2024,
        }
    }
    /// The generation a non-CDA namespace belongs to.
    pub fn from_namespace(ns: &str) -> Option<Generation> {
        match ns {
            NS_2007 => Some(Generation::G2018),
            NS_MHLW_2024 => Some(Generation::G2024),
            _ => None,
        }
    }
    /// The generation whose rules apply to a service in this fiscal year.
    pub fn for_fiscal_year(fy: i32) -> Generation {
        if fy >= 2024 {
            Generation::G2024
        } else {
            Generation::G2018
        }
    }
    /// "2018" or "2024", as printed in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Generation::G2018 => "2018",
            Generation::G2024 => "2024",
        }
    }
}

/// The kind of an XML document in an archive, told by its root element and namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// 交換用基本情報 (ix08)
    Index,
    /// 集計情報 (su08)
    Summary,
    /// 特定健診情報 (hc08)
    CheckupCda,
    /// 特定保健指導情報 (hg08)
    GuidanceCda,
    /// 健診決済情報 (cc08)
    CheckupClaim,
    /// 保健指導決済情報 (gc08)
    GuidanceClaim,
}

impl DocumentKind {
    /// The schema file name the official set uses for this kind (for messages and tests).
    pub fn schema_name(self) -> &'static str {
        match self {
            DocumentKind::Index => "ix08_V08.xsd",
            DocumentKind::Summary => "su08_V08.xsd",
            DocumentKind::CheckupCda => "hc08_V08.xsd",
            DocumentKind::GuidanceCda => "hg08_V08.xsd",
            DocumentKind::CheckupClaim => "cc08_V08.xsd",
            DocumentKind::GuidanceClaim => "gc08_V08.xsd",
        }
    }
}

/// An instance identifier (`II`): `root` OID and `extension`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Id {
    pub root: String,
    pub extension: String,
}

impl Id {
    pub fn new(root: impl Into<String>, extension: impl Into<String>) -> Self {
        Id {
            root: root.into(),
            extension: extension.into(),
        }
    }
}

/// A money value (`@value`, `@currency`) kept as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Money {
    /// As written: `8700`, or a 6-digit padded `001000`.
    pub value: String,
    /// `JPY` when written; `None` when the attribute was omitted (schema default JPY).
    pub currency: Option<String>,
}

impl Money {
    /// A plain (unpadded) yen amount with `currency="JPY"`.
    pub fn yen(v: u64) -> Self {
        Money {
            value: v.to_string(),
            currency: Some("JPY".into()),
        }
    }
    /// A 6-digit zero-padded yen amount (co-payment fields).
    pub fn yen6(v: u64) -> Self {
        Money {
            value: format!("{v:06}"),
            currency: Some("JPY".into()),
        }
    }
    /// The amount in yen, if the value is a non-negative integer.
    pub fn amount(&self) -> Option<u64> {
        parse_uint(&self.value)
    }
}

/// Parses an unsigned decimal integer as written in the files (ASCII digits only).
///
/// Blanks around the digits are not part of the number: the schemas type every value read
/// this way (amounts, counts, rates, points) as `xs:integer`, whose white space collapses,
/// so xmllint reads `value=" 8700 "` as 8700. The raw string stays in the model.
pub fn parse_uint(s: &str) -> Option<u64> {
    let s = s.trim_matches([' ', '\t', '\n', '\r']);
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A code reference (`@code`, optional `@codeSystem`, `@displayName`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Code {
    pub code: String,
    pub code_system: Option<String>,
    pub display_name: Option<String>,
}

impl Code {
    pub fn new(code: impl Into<String>) -> Self {
        Code {
            code: code.into(),
            code_system: None,
            display_name: None,
        }
    }
}

/// Mixed-content address: text around a `postalCode` child.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// The address text (all text nodes joined, trimmed).
    pub text: String,
    /// 郵便番号 `NNN-NNNN`, when present.
    pub postal_code: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Index and summary
// ---------------------------------------------------------------------------------------

/// 交換用基本情報 (`ix08_V08.xml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// 種別 (別表1) `interactionType/@code`.
    pub interaction_type: String,
    /// `creationTime/@value`, YYYYMMDD.
    pub creation_time: String,
    /// 送付元 `sender/id`.
    pub sender: Id,
    /// 送付先 `receiver/id` (optional in the schema).
    pub receiver: Option<Id>,
    /// 実施区分 (別表3) `serviceEventType/@code`.
    pub service_event_type: String,
    /// `totalRecordCount/@value`: files in DATA + CLAIMS.
    pub total_record_count: String,
}

/// 集計情報 (`su08_V08.xml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// 実施区分
    pub service_event_type: String,
    /// 受診者/利用者の総数
    pub total_subject_count: String,
    /// 単価総計 / 算定金額総計
    pub total_cost_amount: Money,
    /// 窓口負担総計
    pub total_payment_amount: Money,
    /// 他制度負担総計 (optional)
    pub total_payment_by_other_program: Option<Money>,
    /// 請求総計
    pub total_claim_amount: Money,
}

// ---------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------

/// 被保険者証 block shared by both claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsuranceCard {
    /// 保険者番号
    pub insurer_number: Id,
    /// 被保険者証等記号
    pub symbol: Option<Id>,
    /// 被保険者証等番号
    pub number: Id,
    /// 被保険者証等枝番 (2024 generation only)
    pub branch: Option<Id>,
}

/// 受診者/利用者 block of a claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectPerson {
    /// 実施機関番号 `performerOrganization/id`
    pub performer_organization: Id,
    pub insurance_card: InsuranceCard,
    /// 氏名 (kana)
    pub name: String,
    /// 住所 (checkup claim: text + postal code; guidance claim: postal code only)
    pub addr: Address,
    /// 生年月日 YYYYMMDD
    pub birth_time: String,
    /// 男女区分 1/2
    pub gender: String,
}

/// 窓口負担 of one category: code (別表6) with a fixed amount or a rate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Charge {
    /// 1 none, 2 fixed amount, 3 rate, 4 insurer cap.
    pub code: String,
    /// Fixed amount or cap (6-digit string).
    pub amount: Option<Money>,
    /// Rate (6-digit string, value ÷ 100000 = ratio) with its unit (`%`).
    pub rate: Option<Rate>,
}

/// A co-payment rate as written (`rate/@value`, `@unit`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rate {
    pub value: String,
    pub unit: Option<String>,
}

/// 人間ドック co-payment block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockCharge {
    pub copayment: Option<Charge>,
    /// 保険者負担上限額 (code fixed at 4, amount)
    pub max_insurance_limit: Option<Charge>,
}

/// 受診券情報 of a checkup claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckupCard {
    /// 受診券整理番号 (root …209, 11 digits)
    pub id: Option<Id>,
    /// 有効期限 `effectiveTime/high/@value`
    pub expiry: Option<String>,
    pub charge_basic: Option<Charge>,
    pub charge_detail: Option<Charge>,
    pub charge_other: Option<Charge>,
    pub charge_dock: Option<DockCharge>,
}

/// A detailed-checkup unit price (`unitPriceDetail`): amount + 別表8 code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetailPrice {
    pub amount: Money,
    /// 詳細な健診項目コード 1-4
    pub code: String,
}

/// An additional-item unit price (`unitPriceOther`): amount + optional item code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtherPrice {
    pub amount: Money,
    /// Item code (OID …1005); absent for the 人間ドック price.
    pub item: Option<Code>,
}

/// 決済情報 of a checkup claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckupSettlement {
    /// 請求区分 (別表7) 1-5
    pub claim_type: String,
    /// 委託料単価区分 1 個別 / 2 集団
    pub commission_type: String,
    pub unit_price_basic: Option<Money>,
    pub unit_price_detail: Vec<DetailPrice>,
    pub unit_price_other: Vec<OtherPrice>,
    pub payment_for_basic: Option<Money>,
    pub payment_for_detail: Option<Money>,
    pub payment_for_other: Option<Money>,
    /// 単価合計
    pub unit_amount: Money,
    /// 窓口負担金額合計
    pub payment_amount: Money,
    /// 他制度負担金額
    pub payment_by_other_program: Option<Money>,
    /// 請求金額
    pub claim_amount: Money,
}

/// 審査結果 written by an agency (別表9) or an insurer (別表10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjudication {
    /// 種別 of the message carrying the result.
    pub interaction_type: String,
    /// YYYYMMDD
    pub record_date: String,
    /// 返戻理由コード / 過誤返戻理由コード
    pub reason_code: String,
    /// Free text ≤ 100 characters.
    pub reason_text: Option<String>,
}

/// 健診決済情報 (cc08).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckupClaim {
    /// 実施区分 `encounter/serviceEventType/@code`
    pub service_event_type: String,
    pub subject: SubjectPerson,
    pub card: CheckupCard,
    pub settlement: CheckupSettlement,
    pub agency_adjudication: Option<Adjudication>,
    pub insurer_adjudication: Option<Adjudication>,
}

/// 利用券情報 of a guidance claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuidanceCard {
    /// 利用券整理番号 (root …210)
    pub id: Option<Id>,
    /// 受診券整理番号 of the checkup that led here (root …209)
    pub checkup_card_id: Option<Id>,
    pub expiry: Option<String>,
    pub copayment: Option<Charge>,
    pub max_insurance_limit: Option<Charge>,
}

/// 決済情報 of a guidance claim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuidanceSettlement {
    /// 契約単価
    pub unit_price: Money,
    /// 支払割合 (%), `paymentRate/@value` and `@unit`
    pub payment_rate: Rate,
    pub point_count_completed: Option<String>,
    pub point_count_intended: Option<String>,
    /// 算定金額
    pub calculated_amount: Money,
    /// 窓口負担徴収 (別表14) `payment/status/@code`
    pub payment_status: String,
    /// 窓口負担金額 `payment/amount` (plain integer)
    pub payment_amount: Money,
    /// 請求金額
    pub claim_amount: Money,
}

/// 保健指導決済情報 (gc08).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuidanceClaim {
    pub service_event_type: String,
    /// 保健指導区分 (別表12)
    pub guidance_level: String,
    /// 保健指導実施時点 (別表11)
    pub guidance_timing: String,
    pub subject: SubjectPerson,
    pub card: GuidanceCard,
    pub settlement: GuidanceSettlement,
    pub agency_adjudication: Option<Adjudication>,
    pub insurer_adjudication: Option<Adjudication>,
}

// ---------------------------------------------------------------------------------------
// CDA (hc08 / hg08)
// ---------------------------------------------------------------------------------------

/// An organisation in a CDA header (author, performer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdaOrganization {
    /// `id` (root …102 for institutions); `None` when only `nullFlavor` was given.
    pub id: Option<Id>,
    pub name: Option<String>,
    /// `telecom/@value`, e.g. `tel:03-0000-0000`
    pub telecom: Option<String>,
    pub addr: Option<Address>,
}

/// `recordTarget/patientRole`: the person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    /// All `patientRole/id` elements in order (insurer …101, symbol …204, number …205, branch …211).
    pub ids: Vec<Id>,
    pub addr: Option<Address>,
    /// Kana name.
    pub name: String,
    /// `administrativeGenderCode`
    pub gender: Code,
    /// `birthTime/@value`
    pub birth_time: String,
}

impl Patient {
    /// The extension of the first id with this root.
    pub fn id(&self, root: &str) -> Option<&str> {
        self.ids
            .iter()
            .find(|i| i.root == root)
            .map(|i| i.extension.as_str())
    }
}

/// `author` of the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CdaAuthor {
    /// `time/@value`
    pub time: String,
    pub organization: CdaOrganization,
}

/// `participant[@typeCode='HLD']`: a voucher (受診券 / 利用券).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoucherParticipant {
    /// 券面種別 `functionCode/@code`: 1 受診券, 2 利用券.
    pub function_code: String,
    /// 有効期限 `time/high/@value`
    pub expiry: Option<String>,
    /// `associatedEntity/id`: root `…209.1`/`…210.1` + insurer, extension = 11 digits.
    pub id: Id,
    /// `scopingOrganization/id` (insurer).
    pub scoping_organization: Option<Id>,
}

/// `documentationOf/serviceEvent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceEvent {
    /// 健診プログラム種別 (…1002): 010 checkup, 100 guidance.
    pub code: Code,
    /// 実施日 `effectiveTime/@value` (checkup date / guidance start)
    pub effective_time: String,
    pub performer: Option<CdaOrganization>,
}

/// One body section with its entries kept as XML trees (see [`crate::cda::observations`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Section code (…1010), e.g. `01010`, `01990`, `90010`.
    pub code: Code,
    pub title: Option<String>,
    /// The narrative `text` block, kept as written.
    pub text: Option<Element>,
    /// Each `entry` element, as written.
    pub entries: Vec<Element>,
}

/// 特定健診情報 (hc08) or 特定保健指導情報 (hg08): one person, one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClinicalDocument {
    /// `typeId` (root fixed, extension POCD_HD000040).
    pub type_id: Id,
    /// `templateId` elements.
    pub template_ids: Vec<Id>,
    /// 報告区分 `code` (…1001): 10 checkup, 21-25 guidance.
    pub code: Option<Code>,
    pub title: Option<String>,
    /// Document date `effectiveTime/@value`.
    pub effective_time: String,
    /// `confidentialityCode`
    pub confidentiality: Code,
    /// `languageCode/@code` when present.
    pub language: Option<String>,
    pub patient: Patient,
    pub authors: Vec<CdaAuthor>,
    /// Vouchers (`participant[@typeCode='HLD']`).
    pub vouchers: Vec<VoucherParticipant>,
    pub service_event: Option<ServiceEvent>,
    pub sections: Vec<Section>,
}

impl ClinicalDocument {
    /// Whether this is a guidance document (報告区分 2x).
    pub fn is_guidance(&self) -> bool {
        // `cs` (xs:token): blanks before the code are not part of it.
        self.code.as_ref().is_some_and(|c| {
            c.code
                .trim_start_matches([' ', '\t', '\n', '\r'])
                .starts_with('2')
        })
    }
}

/// A parsed document of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Index(Index),
    Summary(Summary),
    Cda(Box<ClinicalDocument>),
    CheckupClaim(Box<CheckupClaim>),
    GuidanceClaim(Box<GuidanceClaim>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_ignore_the_blanks_xml_schema_collapses() {
        assert_eq!(parse_uint("8700"), Some(8700));
        assert_eq!(parse_uint(" 8700 "), Some(8700));
        assert_eq!(parse_uint("\t000008700\r\n"), Some(8700));
        assert_eq!(Money::yen(0).amount(), Some(0));
        let m = Money {
            value: " 16000 ".into(),
            currency: None,
        };
        assert_eq!(m.amount(), Some(16000));
        assert_eq!(m.value, " 16000 ", "the model keeps the value as written");
        for bad in ["", " ", "8 700", "８７００", "-1", "+1", "1.0", "\u{3000}1"] {
            assert_eq!(parse_uint(bad), None, "{bad:?}");
        }
    }
}

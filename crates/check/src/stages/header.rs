//! Stage H — the record header: the CDA header of hc08/hg08 and the person block of the
//! claim (H-01 … H-12).

use crate::catalogue::finding;
use crate::finding::Finding;
use crate::stages::date::Date;
use crate::stages::digits;
use crate::stages::record::{ClaimDoc, RecordInput};
use daiko_format::model::oid;

/// Earliest service date of the programme (2008-04-01).
const PROGRAMME_START: Date = Date {
    year: 2008,
    month: 4,
    day: 1,
};

const PATIENT: &str = "/ClinicalDocument/recordTarget/patientRole";

/// Runs H-01 … H-12 except the reference-data part of H-08 (see
/// [`crate::stages::master::check_master`]).
pub fn check_header(r: &RecordInput<'_>, out: &mut Vec<Finding>) {
    let data = r.data_file;
    let doc = r.doc;
    let guidance = r.is_guidance();

    // H-01 報告区分.
    let code = doc.code.as_ref().map(|c| c.code.as_str()).unwrap_or("");
    let expected: Option<String> = if guidance {
        match r.claim {
            Some(ClaimDoc::Guidance(c))
                if matches!(c.guidance_timing.as_str(), "1" | "2" | "3" | "4" | "5") =>
            {
                Some(format!("2{}", c.guidance_timing))
            }
            _ => None,
        }
    } else {
        Some("10".into())
    };
    let ok = match &expected {
        Some(e) => code == e,
        None => matches!(code, "21" | "22" | "23" | "24" | "25"),
    };
    if !ok {
        let want = expected.unwrap_or_else(|| "21〜25".into());
        out.push(finding(
            "H-01",
            data,
            "/ClinicalDocument/code/@code",
            code,
            &format!("報告区分が「{code}」です(期待値: {want})"),
            &format!("The report type is \"{code}\" (expected {want})"),
        ));
    }

    // H-02 保険者番号: CDA and claim.
    let mut insurer_numbers = vec![(
        data,
        format!("{PATIENT}/id[@root='{}']/@extension", oid::INSURER),
        doc.patient.id(oid::INSURER).unwrap_or(""),
    )];
    if let Some(c) = r.claim {
        insurer_numbers.push((
            r.claim_file,
            "/subjectPerson/insuranceCard/insurerNumber/@extension".into(),
            &c.subject().insurance_card.insurer_number.extension,
        ));
    }
    for (file, loc, n) in insurer_numbers {
        if !(n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit())) {
            out.push(finding(
                "H-02",
                file,
                &loc,
                n,
                &format!("保険者番号「{n}」が8桁の数字ではありません"),
                &format!("The insurer number \"{n}\" is not 8 digits"),
            ));
        } else if !digits::is_valid_insurer_number(n) {
            out.push(finding(
                "H-02",
                file,
                &loc,
                n,
                &format!("保険者番号 {n} の検証番号(末尾1桁)が正しくありません"),
                &format!("The check digit of the insurer number {n} is wrong"),
            ));
        }
    }

    // H-03 / H-04 記号・番号・枝番, in both files.
    // (file, location, symbol, number, branch)
    #[allow(clippy::type_complexity)]
    let mut cards: Vec<(&str, String, Option<&str>, Option<&str>, Option<&str>)> = vec![(
        data,
        PATIENT.to_string(),
        doc.patient.id(oid::CARD_SYMBOL),
        doc.patient.id(oid::CARD_NUMBER),
        doc.patient.id(oid::CARD_BRANCH),
    )];
    if let Some(c) = r.claim {
        let card = &c.subject().insurance_card;
        cards.push((
            r.claim_file,
            "/subjectPerson/insuranceCard".into(),
            card.symbol.as_ref().map(|i| i.extension.as_str()),
            Some(card.number.extension.as_str()),
            card.branch.as_ref().map(|i| i.extension.as_str()),
        ));
    }
    for (file, loc, symbol, number, branch) in cards {
        match number {
            Some(n) if !n.trim().is_empty() => {
                check_card_text(file, &loc, "番号", "number", n, out)
            }
            _ => out.push(finding(
                "H-03",
                file,
                &loc,
                "",
                "被保険者証等番号がありません",
                "The card number is missing",
            )),
        }
        if let Some(s) = symbol {
            check_card_text(file, &loc, "記号", "symbol", s, out);
        }
        if let Some(b) = branch
            && !(b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()))
        {
            out.push(finding(
                "H-04",
                file,
                &loc,
                b,
                &format!("枝番「{b}」が2桁の数字ではありません"),
                &format!("The branch number \"{b}\" is not 2 digits"),
            ));
        }
    }

    // H-05 氏名・性別・生年月日, and H-07 郵便番号, in both files.
    let mut persons = vec![(
        data,
        "/ClinicalDocument/recordTarget/patientRole/patient",
        doc.patient.name.as_str(),
        doc.patient.gender.code.as_str(),
        doc.patient.birth_time.as_str(),
        doc.patient
            .addr
            .as_ref()
            .and_then(|a| a.postal_code.as_deref()),
    )];
    if let Some(c) = r.claim {
        let s = c.subject();
        persons.push((
            r.claim_file,
            "/subjectPerson",
            s.name.as_str(),
            s.gender.as_str(),
            s.birth_time.as_str(),
            s.addr.postal_code.as_deref(),
        ));
    }
    for (file, loc, name, sex, birth, postal) in persons {
        if name.trim().is_empty() {
            out.push(finding(
                "H-05",
                file,
                &format!("{loc}/name"),
                "",
                "氏名がありません",
                "The name is missing",
            ));
        }
        if sex != "1" && sex != "2" {
            out.push(finding(
                "H-05",
                file,
                loc,
                sex,
                &format!("男女区分「{sex}」は1(男)か2(女)で入力してください"),
                &format!("The sex code \"{sex}\" must be 1 (male) or 2 (female)"),
            ));
        }
        if Date::parse(birth).is_none() {
            out.push(finding(
                "H-05",
                file,
                &format!("{loc}/birthTime/@value"),
                birth,
                &format!("生年月日「{birth}」が正しい日付ではありません"),
                &format!("The birth date \"{birth}\" is not a valid date"),
            ));
        }
        if let Some(p) = postal
            && !is_postal_code(p)
        {
            out.push(finding(
                "H-07",
                file,
                &format!("{loc}/addr/postalCode"),
                p,
                &format!("郵便番号「{p}」が「NNN-NNNN」の形ではありません"),
                &format!("The postal code \"{p}\" is not NNN-NNNN"),
            ));
        }
    }

    // H-06 対象年齢: reaches 40 by the end of the fiscal year, before the 75th birthday.
    if let (Some(birth), Some(service)) = (Date::parse(&doc.patient.birth_time), r.service_date) {
        let fy_end = Date {
            year: service.fiscal_year() + 1,
            month: 3,
            day: 31,
        };
        let age_at_fy_end = birth.age_on(fy_end);
        let age_on_service = birth.age_on(service);
        if age_at_fy_end < 40 || age_on_service >= 75 {
            out.push(finding(
                "H-06",
                data,
                "/ClinicalDocument/recordTarget/patientRole/patient/birthTime/@value",
                &doc.patient.birth_time,
                &format!("実施日の年齢は{age_on_service}歳で、対象(40〜74歳)外です"),
                &format!("The person is {age_on_service} on the service date, outside 40–74"),
            ));
        }
    }

    // H-08 実施機関番号: shape, check digit, equal to the file name and the claim.
    let institution = doc
        .service_event
        .as_ref()
        .and_then(|e| e.performer.as_ref())
        .and_then(|o| o.id.as_ref())
        .or_else(|| doc.authors.first().and_then(|a| a.organization.id.as_ref()));
    let loc = "/ClinicalDocument/documentationOf/serviceEvent/performer/assignedEntity/representedOrganization/id/@extension";
    match institution {
        None => out.push(finding(
            "H-08",
            data,
            loc,
            "",
            "実施機関番号がありません",
            "The institution number is missing",
        )),
        Some(id) => {
            let n = id.extension.as_str();
            if !(n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit())) {
                out.push(finding(
                    "H-08",
                    data,
                    loc,
                    n,
                    &format!("実施機関番号「{n}」が10桁の数字ではありません"),
                    &format!("The institution number \"{n}\" is not 10 digits"),
                ));
            } else if !digits::is_valid_institution_number(n) {
                out.push(finding(
                    "H-08",
                    data,
                    loc,
                    n,
                    &format!("実施機関番号 {n} の検証番号(末尾1桁)が正しくありません"),
                    &format!("The check digit of the institution number {n} is wrong"),
                ));
            } else {
                let from_name = crate::stages::pairing::pair_key(data)
                    .get(0..10)
                    .unwrap_or("");
                if from_name.len() == 10
                    && from_name.bytes().all(|b| b.is_ascii_digit())
                    && from_name != n
                {
                    out.push(finding(
                        "H-08",
                        data,
                        loc,
                        n,
                        &format!(
                            "実施機関番号 {n} がファイル名の機関番号 {from_name} と異なります"
                        ),
                        &format!(
                            "The institution number {n} differs from the file name's {from_name}"
                        ),
                    ));
                }
                if let Some(c) = r.claim {
                    let claimed = &c.subject().performer_organization.extension;
                    if claimed != n {
                        out.push(finding(
                            "H-08",
                            r.claim_file,
                            "/subjectPerson/performerOrganization/id/@extension",
                            claimed,
                            &format!("決済情報の実施機関番号 {claimed} が健診データの {n} と異なります"),
                            &format!("The claim's institution number {claimed} differs from the data file's {n}"),
                        ));
                    }
                }
            }
        }
    }

    // H-09 受診券・利用券.
    check_vouchers(r, out);

    // H-10 実施日.
    let loc = "/ClinicalDocument/documentationOf/serviceEvent/effectiveTime/@value";
    let raw = doc
        .service_event
        .as_ref()
        .map(|e| e.effective_time.as_str())
        .unwrap_or("");
    match r.service_date {
        None => out.push(finding(
            "H-10",
            data,
            loc,
            raw,
            &format!("実施日「{raw}」が正しい日付ではありません"),
            &format!("The service date \"{raw}\" is not a valid date"),
        )),
        Some(d) => {
            if d < PROGRAMME_START {
                out.push(finding(
                    "H-10",
                    data,
                    loc,
                    raw,
                    &format!("実施日 {d} が制度開始(2008年4月1日)より前です"),
                    &format!("The service date {d} is before the programme began (2008-04-01)"),
                ));
            }
            if d > r.reception_date {
                out.push(finding(
                    "H-10",
                    data,
                    loc,
                    raw,
                    &format!(
                        "実施日 {d} が受付日 {} より後(未来日)です",
                        r.reception_date
                    ),
                    &format!(
                        "The service date {d} is after the reception date {}",
                        r.reception_date
                    ),
                ));
            }
            let kind = if r.is_guidance() { "2" } else { "1" };
            let expiry = r
                .cda_voucher(kind)
                .and_then(|v| v.expiry.as_deref())
                .or(r.claim.and_then(|c| c.expiry()));
            if let Some(e) = expiry.and_then(Date::parse) {
                if d > e {
                    out.push(finding(
                        "H-10",
                        data,
                        loc,
                        raw,
                        &format!("実施日 {d} が券の有効期限 {e} を過ぎています"),
                        &format!("The service date {d} is after the voucher expiry {e}"),
                    ));
                } else if !guidance {
                    check_voucher_fiscal_year(d, e, data, loc, raw, out);
                }
            }
        }
    }

    // H-11 健診プログラム種別.
    let program = doc
        .service_event
        .as_ref()
        .map(|e| e.code.code.as_str())
        .unwrap_or("");
    let want = if guidance { "100" } else { "010" };
    if program != want {
        out.push(finding(
            "H-11",
            data,
            "/ClinicalDocument/documentationOf/serviceEvent/code/@code",
            program,
            &format!("健診プログラム種別が「{program}」です(期待値: {want})"),
            &format!("The programme type is \"{program}\" (expected {want})"),
        ));
    }

    // H-12 作成日・作成者日時 not before the service date.
    if let Some(service) = r.service_date {
        let mut dates = vec![(
            "/ClinicalDocument/effectiveTime/@value",
            doc.effective_time.as_str(),
        )];
        for a in &doc.authors {
            dates.push(("/ClinicalDocument/author/time/@value", a.time.as_str()));
        }
        for (loc, raw) in dates {
            // Times may carry hours (YYYYMMDDhhmmss); the date part decides.
            if let Some(d) = raw.get(0..8).and_then(Date::parse)
                && d < service
            {
                out.push(finding(
                    "H-12",
                    data,
                    loc,
                    raw,
                    &format!("日付 {d} が実施日 {service} より前です"),
                    &format!("The date {d} is before the service date {service}"),
                ));
            }
        }
    }
}

/// H-10 券の年度: a 受診券 is issued for one fiscal year and expires inside it (normally
/// on 31 March), so the fiscal year containing the expiry is the voucher's fiscal year
/// and the service date must fall in it. Only the "before the fiscal year" side is judged
/// here: a service date after the expiry is already the expiry finding above.
///
/// Checkups only: a 利用券 may legitimately be used across the fiscal-year boundary
/// (guidance for a March checkup starts in the next fiscal year), so its expiry says
/// nothing about the year of the guidance CDA's date.
pub(crate) fn check_voucher_fiscal_year(
    service: Date,
    expiry: Date,
    file: &str,
    loc: &str,
    raw: &str,
    out: &mut Vec<Finding>,
) {
    let fy = expiry.fiscal_year();
    if service <= expiry && service.fiscal_year() != fy {
        out.push(finding(
            "H-10",
            file,
            loc,
            raw,
            &format!(
                "実施日 {service} が券の年度({fy}年度、有効期限 {expiry})より前です"
            ),
            &format!(
                "The service date {service} is before the voucher's fiscal year (FY{fy}, expiry {expiry})"
            ),
        ));
    }
}

/// H-03: a card symbol or number: at most 20 characters, no control characters or
/// half-width kana (the narrowed SSK character mode is not published; these are the
/// characters no card carries).
fn check_card_text(
    file: &str,
    loc: &str,
    what_ja: &str,
    what_en: &str,
    v: &str,
    out: &mut Vec<Finding>,
) {
    let len = v.chars().count();
    let bad_char = v
        .chars()
        .find(|c| c.is_control() || ('\u{ff61}'..='\u{ff9f}').contains(c));
    if len > 20 || bad_char.is_some() {
        let why_ja = if len > 20 {
            format!("{len}文字あります(20文字まで)")
        } else {
            "使えない文字を含みます".into()
        };
        let why_en = if len > 20 {
            format!("has {len} characters (at most 20)")
        } else {
            "contains a character that is not allowed".into()
        };
        out.push(finding(
            "H-03",
            file,
            loc,
            v,
            &format!("被保険者証等{what_ja}「{v}」が{why_ja}"),
            &format!("The card {what_en} \"{v}\" {why_en}"),
        ));
    }
}

/// `NNN-NNNN`
fn is_postal_code(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() == 8
        && b.get(3) == Some(&b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 3 || c.is_ascii_digit())
}

/// H-09: the voucher participants of the CDA and the voucher of the claim.
fn check_vouchers(r: &RecordInput<'_>, out: &mut Vec<Finding>) {
    let insurer = r.doc.patient.id(oid::INSURER).unwrap_or("");
    let needed = if r.is_guidance() { "2" } else { "1" };
    let loc = "/ClinicalDocument/participant/associatedEntity/id";
    if r.cda_voucher(needed).is_none() {
        let (ja, en) = if needed == "1" {
            ("受診券", "checkup voucher")
        } else {
            ("利用券", "guidance voucher")
        };
        out.push(finding(
            "H-09",
            r.data_file,
            "/ClinicalDocument/participant",
            "",
            &format!("{ja}(券面種別{needed})の情報がありません"),
            &format!("The {en} (kind {needed}) is missing"),
        ));
    }
    for v in &r.doc.vouchers {
        let base = match v.function_code.as_str() {
            "1" => oid::CHECKUP_VOUCHER,
            "2" => oid::GUIDANCE_VOUCHER,
            other => {
                out.push(finding(
                    "H-09",
                    r.data_file,
                    "/ClinicalDocument/participant/functionCode/@code",
                    other,
                    &format!("券面種別「{other}」は1(受診券)か2(利用券)で入力してください"),
                    &format!("The voucher kind \"{other}\" must be 1 (checkup) or 2 (guidance)"),
                ));
                continue;
            }
        };
        let want_root = format!("{base}.1{insurer}");
        if v.id.root != want_root {
            out.push(finding(
                "H-09",
                r.data_file,
                &format!("{loc}/@root"),
                &v.id.root,
                &format!("券のOID「{}」が「{want_root}」ではありません", v.id.root),
                &format!("The voucher OID \"{}\" is not \"{want_root}\"", v.id.root),
            ));
        }
        if !is_voucher_number(&v.id.extension) {
            out.push(finding(
                "H-09",
                r.data_file,
                &format!("{loc}/@extension"),
                &v.id.extension,
                &format!("整理番号「{}」が11桁の数字ではありません", v.id.extension),
                &format!("The voucher number \"{}\" is not 11 digits", v.id.extension),
            ));
        }
    }
    if let Some(c) = r.claim {
        let want_root = if c.voucher_kind() == 1 {
            oid::CHECKUP_VOUCHER
        } else {
            oid::GUIDANCE_VOUCHER
        };
        match c.voucher() {
            None => out.push(finding(
                "H-09",
                r.claim_file,
                "/checkupCard/id",
                "",
                "決済情報に整理番号がありません",
                "The claim has no voucher number",
            )),
            Some(id) => {
                if id.root != want_root || !is_voucher_number(&id.extension) {
                    out.push(finding(
                        "H-09",
                        r.claim_file,
                        "/checkupCard/id/@extension",
                        &id.extension,
                        &format!(
                            "決済情報の整理番号「{}」(OID {})が正しくありません",
                            id.extension, id.root
                        ),
                        &format!(
                            "The claim's voucher number \"{}\" (OID {}) is wrong",
                            id.extension, id.root
                        ),
                    ));
                }
            }
        }
    }
}

/// 11 ASCII digits.
fn is_voucher_number(s: &str) -> bool {
    s.len() == 11 && s.bytes().all(|b| b.is_ascii_digit())
}

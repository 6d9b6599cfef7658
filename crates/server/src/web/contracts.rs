//! The contracts pages (契約): agency operators list every insurer's contracts by insurer
//! and fiscal year, edit one contract's validity and prices (saving adds a version, nothing
//! is overwritten) and read its history; an insurer's users read the contracts binding
//! their insurer (its own and the collective contracts it is a member of), without editing.
//!
//! * `GET /contracts?insurer=N&fiscal_year=Y`
//! * `GET /contracts/{insurer}/{contract_id}` — the contract, the edit form (agency
//!   staff) and every version.
//! * `POST /contracts/{insurer}/{contract_id}` — form with the session's CSRF token and
//!   the version the edit started from.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use daiko_check::Date;
use daiko_check::reference::{Contract, ContractForm};
use daiko_pipeline::contracts::{self, EditError, StoredContract};
use daiko_store::orgs::{Org, OrgKind};
use serde::Deserialize;

use super::{Ctx, Lang, WebError, WebResult, check_csrf, esc, jst, notice, see_other, url_encode};
use crate::AppState;
use crate::caller::{AGENCY_ROLES, Caller};

const ROLES: [&str; 3] = ["insurer", "operator", "emergency"];

/// A full session whose password change is due goes to `/password`; other roles get 404.
fn admit(c: &Caller) -> Result<(), Box<Response>> {
    if c.user.must_change_password {
        return Err(Box::new(see_other("/password", vec![])));
    }
    if !ROLES.contains(&c.role()) {
        return Err(Box::new(WebError::NotFound.into_response()));
    }
    Ok(())
}

fn is_staff(c: &Caller) -> bool {
    AGENCY_ROLES.contains(&c.role())
}

/// The caller's own insurer number (insurer users); `None` for agency staff.
fn own_insurer(c: &Caller) -> Result<Option<String>, WebError> {
    if is_staff(c) {
        return Ok(None);
    }
    match &c.org {
        Some(o) if c.is("insurer") && o.kind == OrgKind::Insurer => Ok(Some(o.number.clone())),
        _ => Err(WebError::NotFound),
    }
}

async fn insurer_org(st: &AppState, number: &str) -> Result<Org, WebError> {
    match st.store.org_by_number(number).await? {
        Some(o) if o.kind == OrgKind::Insurer => Ok(o),
        _ => Err(WebError::NotFound),
    }
}

fn form_label(f: ContractForm, l: Lang) -> &'static str {
    match f {
        ContractForm::Individual => l.t("個別契約", "individual"),
        ContractForm::Collective => l.t("集合契約", "collective"),
    }
}

fn commission_label(t: u8, l: Lang) -> &'static str {
    match t {
        1 => l.t("1 個別", "1 individual"),
        _ => l.t("2 集団", "2 group"),
    }
}

fn validity(c: &Contract) -> String {
    let d = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    format!("{} – {}", d(c.valid_from), d(c.valid_to))
}

fn yen(p: Option<u64>) -> String {
    p.map(|p| format!("{p}")).unwrap_or_else(|| "—".into())
}

/// The parties of a contract, short.
fn parties(c: &Contract, l: Lang) -> String {
    match c.form {
        ContractForm::Individual => format!("{} ↔ {}", esc(&c.insurer), esc(&c.institution)),
        ContractForm::Collective => format!(
            "{} {} + {} {} ↔ {}{} {}",
            l.t("代表", "rep."),
            esc(&c.insurer),
            c.member_insurers.len(),
            l.t("保険者", "insurers"),
            if c.coordinator.is_empty() {
                String::new()
            } else {
                format!("{} ", esc(&c.coordinator))
            },
            c.institutions().len(),
            l.t("機関", "institutions"),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    insurer: Option<String>,
    fiscal_year: Option<String>,
}

/// `GET /contracts`.
pub(crate) async fn list_page(
    State(st): State<AppState>,
    c: Caller,
    Query(q): Query<ListQuery>,
) -> WebResult {
    if let Err(r) = admit(&c) {
        return Ok(*r);
    }
    let cx = Ctx::new(&c);
    let l = cx.l;
    let own = own_insurer(&c)?;
    let year: Option<i32> = q
        .fiscal_year
        .as_deref()
        .filter(|y| !y.is_empty())
        .and_then(|y| y.trim().parse().ok());
    let chosen = q.insurer.as_deref().filter(|n| !n.is_empty());
    let list = match (&own, chosen) {
        (Some(own), _) => contracts::binding(&st.store, own, year).await?,
        (None, Some(n)) => {
            let org = insurer_org(&st, n).await?;
            contracts::current(&st.store, Some(&org.number), year).await?
        }
        (None, None) => contracts::current(&st.store, None, year).await?,
    };
    st.store
        .audit(&c.audit(
            "contracts.read",
            format!("contracts:{}", own.as_deref().or(chosen).unwrap_or("*")),
            String::new(),
            format!("fiscal_year={year:?} contracts={}", list.len()),
        ))
        .await?;

    let mut body = String::new();
    let _ = write!(
        body,
        "<p>{intro}</p><form method=\"get\" action=\"/contracts\" class=\"card filters\">",
        intro = if own.is_some() {
            l.t(
                "貴保険者を当事者とする契約(集合契約を含む)の現在の版です。変更は代行機関に依頼してください。",
                "The current versions of the contracts binding your insurer (collective ones included). Ask the agency to change them.",
            )
        } else {
            l.t(
                "保険者ごと・年度ごとの契約の現在の版です。契約を開くと単価を編集でき、保存すると新しい版になります(以前の版は残ります)。",
                "The current version of every contract by insurer and fiscal year. Open a contract to edit its prices; saving adds a new version (earlier versions stay).",
            )
        }
    );
    if own.is_none() {
        let _ = write!(
            body,
            "<label for=\"insurer\">{}</label><select id=\"insurer\" name=\"insurer\"><option value=\"\">{}</option>",
            l.t("保険者", "Insurer"),
            l.t("すべて", "All")
        );
        for o in st
            .store
            .orgs()
            .await?
            .into_iter()
            .filter(|o| o.kind == OrgKind::Insurer)
        {
            let sel = if chosen == Some(o.number.as_str()) {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                body,
                "<option value=\"{n}\"{sel}>{n} {name}</option>",
                n = esc(&o.number),
                name = esc(&o.name)
            );
        }
        body.push_str("</select>");
    }
    let _ = write!(
        body,
        "<label for=\"fiscal_year\">{}</label><input id=\"fiscal_year\" name=\"fiscal_year\" inputmode=\"numeric\" size=\"6\" value=\"{}\">\
         <button type=\"submit\">{}</button></form>",
        l.t("年度", "Fiscal year"),
        year.map(|y| y.to_string()).unwrap_or_default(),
        l.t("表示", "Show")
    );
    if list.is_empty() {
        body.push_str(&notice("info", l.t("契約はありません。", "No contracts.")));
    } else {
        let _ = write!(
            body,
            "<table data-testid=\"contracts\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            l.t("契約番号", "Contract"),
            l.t("形態", "Form"),
            l.t("当事者", "Parties"),
            l.t("年度", "FY"),
            l.t("委託料単価区分", "Commission type"),
            l.t("有効期間", "Validity"),
            l.t("基本単価(円)", "Basic (JPY)"),
            l.t("版", "Version"),
            l.t("更新", "Updated"),
        );
        for s in &list {
            let k = &s.contract;
            let v = &s.version;
            let _ = write!(
                body,
                "<tr><td><a href=\"/contracts/{ins}/{idu}\">{id}</a></td><td>{form}</td><td>{parties}</td><td>{fy}</td><td>{ct}</td>\
                 <td>{valid}</td><td class=\"num\">{basic}</td><td class=\"num\">{ver}</td><td>{at} {by}</td></tr>",
                ins = url_encode(&v.insurer),
                idu = url_encode(&v.contract_id),
                id = esc(&v.contract_id),
                form = form_label(k.form, l),
                parties = parties(k, l),
                fy = k.fiscal_year,
                ct = commission_label(k.commission_type, l),
                valid = validity(k),
                basic = yen(k.basic.or(k.dock)),
                ver = v.version,
                at = esc(&jst(&v.created_at)),
                by = esc(&v.author),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok(cx.page("/contracts", l.t("契約", "Contracts"), &body))
}

/// The versions of a contract the caller may read (404 otherwise).
async fn readable(
    st: &AppState,
    c: &Caller,
    insurer: &str,
    contract_id: &str,
) -> Result<(Org, Vec<StoredContract>), WebError> {
    let org = insurer_org(st, insurer).await?;
    let versions = contracts::history(&st.store, &org.number, Some(contract_id)).await?;
    let Some(current) = versions.last() else {
        return Err(WebError::NotFound);
    };
    if let Some(own) = own_insurer(c)? {
        let member =
            !current.version.withdrawn && current.contract.insurers().contains(&own.as_str());
        if own != org.number && !member {
            return Err(WebError::NotFound);
        }
    }
    Ok((org, versions))
}

/// Prices of a contract as `(label, value)` rows.
fn price_rows(k: &Contract, l: Lang) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            l.t("基本的な健診", "Basic checkup").to_string(),
            yen(k.basic),
        ),
        (l.t("人間ドック", "Human dock").to_string(), yen(k.dock)),
    ];
    let detail_names = [
        ("1", l.t("貧血検査", "anaemia")),
        ("2", l.t("心電図検査", "ECG")),
        ("3", l.t("眼底検査", "fundus")),
        ("4", l.t("血清クレアチニン検査", "serum creatinine")),
    ];
    for (code, name) in detail_names {
        rows.push((
            format!("{} {code} {name}", l.t("詳細な健診", "Detail")),
            yen(k.detail.get(code).copied()),
        ));
    }
    for (code, p) in &k.additional {
        rows.push((
            format!("{} {}", l.t("追加項目", "Additional"), esc(code)),
            p.to_string(),
        ));
    }
    for (code, name) in [
        ("1", l.t("積極的支援", "active support")),
        ("2", l.t("動機付け支援", "motivational support")),
        ("3", l.t("動機付け支援相当", "motivational-equivalent")),
    ] {
        if let Some(p) = k.guidance.get(code) {
            rows.push((
                format!("{} {code} {name}", l.t("保健指導", "Guidance")),
                p.to_string(),
            ));
        }
    }
    for (t, p) in &k.guidance_shares {
        rows.push((
            format!(
                "{} {}",
                l.t("支払割合(%) 実施時点", "Share (%) at timing"),
                esc(t)
            ),
            p.to_string(),
        ));
    }
    rows.push((
        l.t("他制度負担", "Other-programme burden").to_string(),
        if k.other_program_allowed {
            l.t("可", "accepted").to_string()
        } else {
            l.t("不可", "not accepted").to_string()
        },
    ));
    rows
}

fn field(name: &str, label: &str, value: &str) -> String {
    format!(
        "<label for=\"f-{name}\">{}</label><input id=\"f-{name}\" name=\"{name}\" value=\"{}\" inputmode=\"numeric\">",
        esc(label),
        esc(value)
    )
}

fn opt(p: Option<u64>) -> String {
    p.map(|p| p.to_string()).unwrap_or_default()
}

/// The edit form of the current version (agency staff).
fn edit_form(cx: &Ctx<'_>, cur: &StoredContract) -> String {
    let l = cx.l;
    let k = &cur.contract;
    let v = &cur.version;
    let d = |d: Option<Date>| d.map(Date::compact).unwrap_or_default();
    let mut f = format!(
        "<form method=\"post\" action=\"/contracts/{}/{}\" class=\"card\" data-testid=\"contract-edit\">{}\
         <input type=\"hidden\" name=\"version\" value=\"{}\"><h2>{}</h2>",
        url_encode(&v.insurer),
        url_encode(&v.contract_id),
        cx.csrf_field(),
        v.version,
        l.t(
            "単価の編集(保存すると新しい版になります)",
            "Edit prices (saving adds a version)"
        )
    );
    f.push_str(&field(
        "valid_from",
        l.t("有効期間 開始 (YYYYMMDD)", "Valid from (YYYYMMDD)"),
        &d(k.valid_from),
    ));
    f.push_str(&field(
        "valid_to",
        l.t("有効期間 終了 (YYYYMMDD)", "Valid to (YYYYMMDD)"),
        &d(k.valid_to),
    ));
    f.push_str(&field(
        "basic",
        l.t("基本的な健診(円)", "Basic checkup (JPY)"),
        &opt(k.basic),
    ));
    for code in ["1", "2", "3", "4"] {
        f.push_str(&field(
            &format!("detail_{code}"),
            &format!(
                "{} {code} ({})",
                l.t("詳細な健診", "Detail"),
                l.t("円", "JPY")
            ),
            &opt(k.detail.get(code).copied()),
        ));
    }
    f.push_str(&field(
        "dock",
        l.t("人間ドック(円)", "Human dock (JPY)"),
        &opt(k.dock),
    ));
    for code in ["1", "2", "3"] {
        f.push_str(&field(
            &format!("guidance_{code}"),
            &format!(
                "{} {code} ({})",
                l.t("保健指導区分", "Guidance level"),
                l.t("円", "JPY")
            ),
            &opt(k.guidance.get(code).copied()),
        ));
    }
    for t in ["1", "2", "3", "4", "5"] {
        f.push_str(&field(
            &format!("share_{t}"),
            &format!("{} {t} (%)", l.t("支払割合 実施時点", "Share at timing")),
            &opt(k.guidance_shares.get(t).copied()),
        ));
    }
    let additional: String = k
        .additional
        .iter()
        .map(|(c, p)| format!("{c}={p}\n"))
        .collect();
    let _ = write!(
        f,
        "<label for=\"f-additional\">{}</label><textarea id=\"f-additional\" name=\"additional\" rows=\"4\">{}</textarea>\
         <label><input type=\"checkbox\" name=\"other_program\" value=\"1\"{}> {}</label>\
         <button type=\"submit\">{}</button></form>",
        l.t(
            "追加項目(1行に「17桁の項目コード=円」)",
            "Additional items (one per line: 17-character item code=JPY)"
        ),
        esc(&additional),
        if k.other_program_allowed {
            " checked"
        } else {
            ""
        },
        l.t(
            "他制度負担を認める",
            "Accept a burden paid by another programme"
        ),
        l.t("新しい版として保存", "Save as a new version"),
    );
    f
}

fn detail_body(cx: &Ctx<'_>, versions: &[StoredContract], msg: Option<String>) -> String {
    let l = cx.l;
    let Some(cur) = versions.last() else {
        return String::new();
    };
    let k = &cur.contract;
    let mut b = msg.unwrap_or_default();
    let _ = write!(
        b,
        "<dl class=\"facts\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>",
        l.t("契約番号", "Contract"),
        esc(&cur.version.contract_id),
        l.t("形態", "Form"),
        form_label(k.form, l),
        l.t("保険者", "Insurer"),
        esc(&k.insurer),
    );
    if k.form == ContractForm::Collective {
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>",
            l.t("構成保険者", "Member insurers"),
            esc(&k.member_insurers.join(", ")),
            l.t("取りまとめ機関", "Coordinator"),
            esc(&k.coordinator),
            l.t("構成機関", "Member institutions"),
            esc(&k.institutions().join(", ")),
        );
    } else {
        let _ = write!(
            b,
            "<dt>{}</dt><dd>{}</dd>",
            l.t("実施機関", "Institution"),
            esc(&k.institution)
        );
    }
    let _ = write!(
        b,
        "<dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}{}</dd></dl>",
        l.t("年度", "Fiscal year"),
        k.fiscal_year,
        l.t("委託料単価区分", "Commission type"),
        commission_label(k.commission_type, l),
        l.t("有効期間", "Validity"),
        validity(k),
        l.t("版", "Version"),
        cur.version.version,
        if cur.version.withdrawn {
            l.t("(取り下げ済み)", " (withdrawn)")
        } else {
            ""
        },
    );
    let _ = write!(
        b,
        "<table data-testid=\"prices\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("項目", "Item"),
        l.t("単価(円)等", "Price (JPY) etc.")
    );
    for (label, value) in price_rows(k, l) {
        let _ = write!(
            b,
            "<tr><td>{label}</td><td class=\"num\">{}</td></tr>",
            esc(&value)
        );
    }
    b.push_str("</tbody></table>");
    if is_staff(cx.c) {
        b.push_str(&edit_form(cx, cur));
    }
    let _ = write!(
        b,
        "<h2>{}</h2><table data-testid=\"history\"><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        l.t("履歴", "History"),
        l.t("版", "Version"),
        l.t("作成", "Created"),
        l.t("作成者", "By"),
        l.t("経緯", "Source"),
        l.t("状態", "State"),
        l.t("有効期間", "Validity"),
        l.t("基本単価(円)", "Basic (JPY)"),
    );
    for s in versions.iter().rev() {
        let v = &s.version;
        let state = if v.withdrawn {
            l.t("取り下げ", "withdrawn")
        } else if v.superseded_at.is_some() {
            l.t("旧版", "superseded")
        } else {
            l.t("現在", "current")
        };
        let source = match v.source.as_str() {
            "import" => l.t("CSV取込", "CSV import"),
            "edit" => l.t("画面で編集", "edited"),
            _ => l.t("移行", "migration"),
        };
        let _ = write!(
            b,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            v.version,
            esc(&jst(&v.created_at)),
            esc(&v.author),
            source,
            state,
            validity(&s.contract),
            yen(s.contract.basic.or(s.contract.dock)),
        );
    }
    b.push_str("</tbody></table>");
    b
}

/// `GET /contracts/{insurer}/{contract_id}`.
pub(crate) async fn detail_page(
    State(st): State<AppState>,
    c: Caller,
    Path((insurer, contract_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> WebResult {
    if let Err(r) = admit(&c) {
        return Ok(*r);
    }
    let cx = Ctx::new(&c);
    let (org, versions) = readable(&st, &c, &insurer, &contract_id).await?;
    st.store
        .audit(&c.audit(
            "contracts.read",
            format!("contract:{}:{contract_id}", org.number),
            String::new(),
            format!("versions={}", versions.len()),
        ))
        .await?;
    let saved = q.contains_key("saved").then(|| {
        notice(
            "ok",
            cx.t("新しい版として保存しました。", "Saved as a new version."),
        )
    });
    let body = detail_body(&cx, &versions, saved);
    Ok(cx.page(
        "/contracts",
        &format!("{} {}", cx.t("契約", "Contract"), contract_id),
        &body,
    ))
}

/// Applies the form's fields to the current contract; errors in both languages.
fn apply(k: &mut Contract, f: &HashMap<String, String>, l: Lang) -> Result<(), String> {
    let get = |n: &str| f.get(n).map(|s| s.trim()).unwrap_or("");
    let price = |n: &str| -> Result<Option<u64>, String> {
        let v = get(n);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<u64>().map(Some).map_err(|_| {
            format!(
                "{}: {v:?} ({n})",
                l.t("円単位の整数で入力してください", "enter whole yen")
            )
        })
    };
    let date = |n: &str| -> Result<Option<Date>, String> {
        let v = get(n);
        if v.is_empty() {
            return Ok(None);
        }
        Date::parse_flexible(v).map(Some).ok_or_else(|| {
            format!(
                "{}: {v:?} ({n})",
                l.t(
                    "日付は YYYYMMDD で入力してください",
                    "enter dates as YYYYMMDD"
                )
            )
        })
    };
    k.valid_from = date("valid_from")?;
    k.valid_to = date("valid_to")?;
    k.basic = price("basic")?;
    k.dock = price("dock")?;
    let map = |prefix: &str, codes: &[&str], target: &mut BTreeMap<String, u64>| {
        for code in codes {
            match price(&format!("{prefix}_{code}")) {
                Ok(Some(p)) => {
                    target.insert(code.to_string(), p);
                }
                Ok(None) => {
                    target.remove(*code);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    };
    map("detail", &["1", "2", "3", "4"], &mut k.detail)?;
    map("guidance", &["1", "2", "3"], &mut k.guidance)?;
    map("share", &["1", "2", "3", "4", "5"], &mut k.guidance_shares)?;
    let mut additional = BTreeMap::new();
    for line in get("additional").lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once('=')
            .and_then(|(c, p)| Some((c.trim().to_string(), p.trim().parse::<u64>().ok()?)));
        match parsed {
            Some((code, p)) => {
                additional.insert(code, p);
            }
            None => {
                return Err(format!(
                    "{}: {line:?}",
                    l.t(
                        "追加項目は「項目コード=円」で1行ずつ入力してください",
                        "write each additional item as CODE=JPY on its own line"
                    )
                ));
            }
        }
    }
    k.additional = additional;
    k.other_program_allowed = get("other_program") == "1";
    Ok(())
}

/// `POST /contracts/{insurer}/{contract_id}` (agency staff): saves a new version.
pub(crate) async fn save(
    State(st): State<AppState>,
    c: Caller,
    Path((insurer, contract_id)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> WebResult {
    if let Err(r) = admit(&c) {
        return Ok(*r);
    }
    check_csrf(&c, f.get("csrf").map(String::as_str))?;
    if !is_staff(&c) {
        return Err(WebError::NotFound);
    }
    let cx = Ctx::new(&c);
    let l = cx.l;
    let (org, versions) = readable(&st, &c, &insurer, &contract_id).await?;
    let Some(cur) = versions.last() else {
        return Err(WebError::NotFound);
    };
    let seen: Option<i64> = f.get("version").and_then(|v| v.trim().parse().ok());
    let mut k = cur.contract.clone();
    let msg = match apply(&mut k, &f, l) {
        Err(e) => Some(notice(
            "error",
            &format!("{}: {e}", l.t("保存できませんでした", "Not saved")),
        )),
        Ok(()) => {
            let who = c.audit("", String::new(), String::new(), String::new());
            match contracts::save_edit(&st.store, &org, &k, seen, &who).await {
                Ok(_) => {
                    let to = format!(
                        "/contracts/{}/{}?saved=1",
                        url_encode(&org.number),
                        url_encode(&contract_id)
                    );
                    return Ok(see_other(&to, vec![]));
                }
                Err(EditError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    let (ja, en) = e.messages();
                    Some(notice(
                        "error",
                        &format!(
                            "{}: {}",
                            l.t("保存できませんでした", "Not saved"),
                            if l.en { en } else { ja }
                        ),
                    ))
                }
            }
        }
    };
    let versions = contracts::history(&st.store, &org.number, Some(&contract_id)).await?;
    let body = detail_body(&cx, &versions, msg);
    Ok(cx.page(
        "/contracts",
        &format!("{} {}", l.t("契約", "Contract"), contract_id),
        &body,
    ))
}

//! Writers: typed model → XML text (UTF-8, with declaration), valid against the official
//! schema of the generation when the model holds valid values.
//!
//! Non-CDA kinds take the [`Generation`] that decides their namespace. Output uses LF line
//! endings and two-space indentation, elements in schema order, and an
//! `xsi:schemaLocation` hint like real producers write (`./XSD/…` for the root files,
//! `../XSD/…` for files under DATA/ and CLAIMS/). The CDA body entries are written as
//! stored, re-indented. Values are written as kept in the model (raw strings), so a
//! model read from a file writes back the producer's spelling; optional attributes that
//! are `None` are omitted. Text is escaped (`<`, `&`, quotes, CR, and tab/LF in
//! attributes); characters XML 1.0 cannot carry at all (C0 controls other than tab, LF
//! and CR) are not filtered, so a model must not hold them (a read model never does).

use crate::model::*;
use crate::xml::{Element, escape_attr, escape_text, indent};

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A small indenting XML text builder.
struct Xml {
    out: String,
    depth: usize,
}

/// An attribute to write; `None` values are skipped.
type Attr<'a> = (&'a str, Option<&'a str>);

impl Xml {
    fn new(capacity: usize) -> Xml {
        let mut out = String::with_capacity(capacity);
        out.push_str(DECLARATION);
        Xml { out, depth: 0 }
    }

    fn start_tag(&mut self, name: &str, attrs: &[Attr<'_>]) {
        indent(&mut self.out, self.depth);
        self.out.push('<');
        self.out.push_str(name);
        for (n, v) in attrs {
            if let Some(v) = v {
                self.out.push(' ');
                self.out.push_str(n);
                self.out.push_str("=\"");
                escape_attr(v, &mut self.out);
                self.out.push('"');
            }
        }
    }

    /// `<name attrs>` and one level deeper.
    fn open(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        indent(&mut self.out, self.depth);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attrs/>`
    fn empty(&mut self, name: &str, attrs: &[Attr<'_>]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    /// `<name>text</name>`
    fn text(&mut self, name: &str, text: &str) {
        self.start_tag(name, &[]);
        self.out.push('>');
        escape_text(text, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Opens the root element with its namespace and schema-location hint.
    fn root(&mut self, name: &str, namespace: &str, schema_location: &str) {
        let location = format!("{namespace} {schema_location}");
        self.open(
            name,
            &[
                ("xmlns", Some(namespace)),
                ("xmlns:xsi", Some(NS_XSI)),
                ("xsi:schemaLocation", Some(&location)),
            ],
        );
    }

    fn id(&mut self, name: &str, id: &Id) {
        self.empty(
            name,
            &[("root", Some(&id.root)), ("extension", Some(&id.extension))],
        );
    }

    fn code_attr(&mut self, name: &str, code: &str) {
        self.empty(name, &[("code", Some(code))]);
    }

    fn value_attr(&mut self, name: &str, value: &str) {
        self.empty(name, &[("value", Some(value))]);
    }

    fn money(&mut self, name: &str, m: &Money) {
        self.empty(
            name,
            &[
                ("value", Some(&m.value)),
                ("currency", m.currency.as_deref()),
            ],
        );
    }

    /// `<name><amount …/></name>`
    fn amount_in(&mut self, name: &str, m: &Money) {
        self.open(name, &[]);
        self.money("amount", m);
        self.close(name);
    }

    fn rate(&mut self, name: &str, r: &Rate) {
        self.empty(
            name,
            &[("value", Some(&r.value)), ("unit", r.unit.as_deref())],
        );
    }

    fn code(&mut self, name: &str, c: &Code) {
        self.empty(
            name,
            &[
                ("code", Some(&c.code)),
                ("codeSystem", c.code_system.as_deref()),
                ("displayName", c.display_name.as_deref()),
            ],
        );
    }

    /// Mixed-content address: the text, then `postalCode` when present.
    fn address(&mut self, name: &str, a: &Address) {
        self.start_tag(name, &[]);
        self.out.push('>');
        escape_text(&a.text, &mut self.out);
        if let Some(pc) = &a.postal_code {
            self.out.push_str("<postalCode>");
            escape_text(pc, &mut self.out);
            self.out.push_str("</postalCode>");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn element(&mut self, e: &Element) {
        e.write_indented(&mut self.out, self.depth);
    }

    fn finish(self) -> String {
        self.out
    }
}

// ---------------------------------------------------------------------------------------
// Index and summary
// ---------------------------------------------------------------------------------------

/// Writes `ix08_V08.xml`.
pub fn write_index(index: &Index, generation: Generation) -> String {
    let mut x = Xml::new(768);
    x.root("index", generation.namespace(), "./XSD/ix08_V08.xsd");
    x.code_attr("interactionType", &index.interaction_type);
    x.value_attr("creationTime", &index.creation_time);
    x.open("sender", &[]);
    x.id("id", &index.sender);
    x.close("sender");
    if let Some(r) = &index.receiver {
        x.open("receiver", &[]);
        x.id("id", r);
        x.close("receiver");
    }
    x.code_attr("serviceEventType", &index.service_event_type);
    x.value_attr("totalRecordCount", &index.total_record_count);
    x.close("index");
    x.finish()
}

/// Writes `su08_V08.xml`.
pub fn write_summary(summary: &Summary, generation: Generation) -> String {
    let mut x = Xml::new(768);
    x.root("summary", generation.namespace(), "./XSD/su08_V08.xsd");
    x.code_attr("serviceEventType", &summary.service_event_type);
    x.value_attr("totalSubjectCount", &summary.total_subject_count);
    x.money("totalCostAmount", &summary.total_cost_amount);
    x.money("totalPaymentAmount", &summary.total_payment_amount);
    if let Some(m) = &summary.total_payment_by_other_program {
        x.money("totalPaymentByOtherProgram", m);
    }
    x.money("totalClaimAmount", &summary.total_claim_amount);
    x.close("summary");
    x.finish()
}

// ---------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------

fn write_subject(x: &mut Xml, s: &SubjectPerson, generation: Generation) {
    x.open("subjectPerson", &[]);
    x.open("performerOrganization", &[]);
    x.id("id", &s.performer_organization);
    x.close("performerOrganization");
    x.open("insuranceCard", &[]);
    let card = &s.insurance_card;
    x.id("insurerNumber", &card.insurer_number);
    if let Some(sym) = &card.symbol {
        x.id("symbol", sym);
    }
    x.id("number", &card.number);
    // 被保険者証等枝番 exists only in the 2024 schemas.
    if generation == Generation::G2024
        && let Some(b) = &card.branch
    {
        x.id("branchCode", b);
    }
    x.close("insuranceCard");
    x.text("name", &s.name);
    x.address("addr", &s.addr);
    x.value_attr("birthTime", &s.birth_time);
    x.code_attr("administrativeGender", &s.gender);
    x.close("subjectPerson");
}

fn write_charge(x: &mut Xml, name: &str, c: &Charge) {
    let code = Some(c.code.as_str()).filter(|c| !c.is_empty());
    if c.amount.is_none() && c.rate.is_none() {
        x.empty(name, &[("code", code)]);
        return;
    }
    x.open(name, &[("code", code)]);
    if let Some(m) = &c.amount {
        x.money("amount", m);
    }
    if let Some(r) = &c.rate {
        x.rate("rate", r);
    }
    x.close(name);
}

fn write_expiry(x: &mut Xml, expiry: &Option<String>) {
    if let Some(e) = expiry {
        x.open("effectiveTime", &[]);
        x.value_attr("high", e);
        x.close("effectiveTime");
    }
}

fn write_adjudication(x: &mut Xml, name: &str, a: &Adjudication) {
    x.open(name, &[]);
    x.code_attr("interactionType", &a.interaction_type);
    x.value_attr("recordDate", &a.record_date);
    // `reason/@code` is optional in the schema; an empty one is left out.
    let code = Some(a.reason_code.as_str()).filter(|c| !c.is_empty());
    match &a.reason_text {
        None => x.empty("reason", &[("code", code)]),
        Some(t) => {
            x.open("reason", &[("code", code)]);
            x.text("text", t);
            x.close("reason");
        }
    }
    x.close(name);
}

fn write_adjudications(x: &mut Xml, agency: &Option<Adjudication>, insurer: &Option<Adjudication>) {
    if let Some(a) = agency {
        write_adjudication(x, "agencyAdjudicationResult", a);
    }
    if let Some(a) = insurer {
        write_adjudication(x, "insurerAdjudicationResult", a);
    }
}

/// Writes a checkup claim (cc08).
pub fn write_checkup_claim(claim: &CheckupClaim, generation: Generation) -> String {
    let mut x = Xml::new(4096);
    x.root(
        "checkupClaim",
        generation.namespace(),
        "../XSD/cc08_V08.xsd",
    );
    x.open("encounter", &[]);
    x.code_attr("serviceEventType", &claim.service_event_type);
    x.close("encounter");
    write_subject(&mut x, &claim.subject, generation);

    let card = &claim.card;
    x.open("checkupCard", &[]);
    if let Some(id) = &card.id {
        x.id("id", id);
    }
    write_expiry(&mut x, &card.expiry);
    if let Some(c) = &card.charge_basic {
        write_charge(&mut x, "chargeTypeBasic", c);
    }
    if let Some(c) = &card.charge_detail {
        write_charge(&mut x, "chargeTypeDetail", c);
    }
    if let Some(c) = &card.charge_other {
        write_charge(&mut x, "chargeTypeOther", c);
    }
    if let Some(d) = &card.charge_dock {
        if d.copayment.is_none() && d.max_insurance_limit.is_none() {
            x.empty("chargeTypeHumanDryDock", &[]);
        } else {
            x.open("chargeTypeHumanDryDock", &[]);
            if let Some(c) = &d.copayment {
                write_charge(&mut x, "copayment", c);
            }
            if let Some(c) = &d.max_insurance_limit {
                write_charge(&mut x, "maxInsuranceLimit", c);
            }
            x.close("chargeTypeHumanDryDock");
        }
    }
    x.close("checkupCard");

    let s = &claim.settlement;
    x.open("settlement", &[]);
    x.code_attr("claimType", &s.claim_type);
    x.code_attr("commissionType", &s.commission_type);
    if let Some(m) = &s.unit_price_basic {
        x.amount_in("unitPriceBasic", m);
    }
    for d in &s.unit_price_detail {
        x.open("unitPriceDetail", &[]);
        x.money("amount", &d.amount);
        x.code_attr("observation", &d.code);
        x.close("unitPriceDetail");
    }
    for o in &s.unit_price_other {
        x.open("unitPriceOther", &[]);
        x.money("amount", &o.amount);
        if let Some(item) = &o.item {
            x.code("observation", item);
        }
        x.close("unitPriceOther");
    }
    if let Some(m) = &s.payment_for_basic {
        x.amount_in("paymentForBasic", m);
    }
    if let Some(m) = &s.payment_for_detail {
        x.amount_in("paymentForDetail", m);
    }
    if let Some(m) = &s.payment_for_other {
        x.amount_in("paymentForOther", m);
    }
    x.money("unitAmount", &s.unit_amount);
    x.money("paymentAmount", &s.payment_amount);
    if let Some(m) = &s.payment_by_other_program {
        x.money("paymentByOtherProgram", m);
    }
    x.money("claimAmount", &s.claim_amount);
    x.close("settlement");

    write_adjudications(
        &mut x,
        &claim.agency_adjudication,
        &claim.insurer_adjudication,
    );
    x.close("checkupClaim");
    x.finish()
}

/// Writes a guidance claim (gc08).
pub fn write_guidance_claim(claim: &GuidanceClaim, generation: Generation) -> String {
    let mut x = Xml::new(4096);
    x.root(
        "healthGuidanceClaim",
        generation.namespace(),
        "../XSD/gc08_V08.xsd",
    );
    x.open("encounter", &[]);
    x.code_attr("serviceEventType", &claim.service_event_type);
    x.code_attr("guidanceLevel", &claim.guidance_level);
    x.code_attr("guidanceTiming", &claim.guidance_timing);
    x.close("encounter");
    write_subject(&mut x, &claim.subject, generation);

    let card = &claim.card;
    x.open("healthGuidanceCard", &[]);
    if let Some(id) = &card.id {
        x.id("id", id);
    }
    if let Some(id) = &card.checkup_card_id {
        x.id("checkupCardId", id);
    }
    write_expiry(&mut x, &card.expiry);
    if let Some(c) = &card.copayment {
        write_charge(&mut x, "copayment", c);
    }
    if let Some(c) = &card.max_insurance_limit {
        write_charge(&mut x, "maxInsuranceLimit", c);
    }
    x.close("healthGuidanceCard");

    let s = &claim.settlement;
    x.open("settlement", &[]);
    x.amount_in("unitPrice", &s.unit_price);
    x.rate("paymentRate", &s.payment_rate);
    if let Some(p) = &s.point_count_completed {
        x.value_attr("pointCountCompleted", p);
    }
    if let Some(p) = &s.point_count_intended {
        x.value_attr("pointCountIntended", p);
    }
    x.money("calculatedAmount", &s.calculated_amount);
    x.open("payment", &[]);
    x.code_attr("status", &s.payment_status);
    x.money("amount", &s.payment_amount);
    x.close("payment");
    x.money("claimAmount", &s.claim_amount);
    x.close("settlement");

    write_adjudications(
        &mut x,
        &claim.agency_adjudication,
        &claim.insurer_adjudication,
    );
    x.close("healthGuidanceClaim");
    x.finish()
}

// ---------------------------------------------------------------------------------------
// CDA
// ---------------------------------------------------------------------------------------

/// `<id nullFlavor="NI"/>`, the CDA's "no information" identifier.
fn null_id(x: &mut Xml) {
    x.empty("id", &[("nullFlavor", Some("NI"))]);
}

fn write_organization(x: &mut Xml, name: &str, o: &CdaOrganization) {
    x.open(name, &[]);
    match &o.id {
        Some(id) => x.id("id", id),
        None => null_id(x),
    }
    if let Some(n) = &o.name {
        x.text("name", n);
    }
    if let Some(t) = &o.telecom {
        x.empty("telecom", &[("value", Some(t))]);
    }
    if let Some(a) = &o.addr {
        x.address("addr", a);
    }
    x.close(name);
}

/// Writes a CDA document (hc08 or hg08; same namespace in both generations).
pub fn write_cda(doc: &ClinicalDocument) -> String {
    let schema = if doc.is_guidance() {
        "../XSD/hg08_V08.xsd"
    } else {
        "../XSD/hc08_V08.xsd"
    };
    let mut x = Xml::new(32 * 1024);
    x.root("ClinicalDocument", NS_HL7, schema);
    x.id("typeId", &doc.type_id);
    for t in &doc.template_ids {
        x.id("templateId", t);
    }
    null_id(&mut x);
    if let Some(c) = &doc.code {
        x.code("code", c);
    }
    if let Some(t) = &doc.title {
        x.text("title", t);
    }
    x.value_attr("effectiveTime", &doc.effective_time);
    x.code("confidentialityCode", &doc.confidentiality);
    if let Some(l) = &doc.language {
        x.code_attr("languageCode", l);
    }

    let p = &doc.patient;
    x.open("recordTarget", &[]);
    x.open("patientRole", &[]);
    if p.ids.is_empty() {
        null_id(&mut x);
    }
    for id in &p.ids {
        x.id("id", id);
    }
    if let Some(a) = &p.addr {
        x.address("addr", a);
    }
    x.open("patient", &[]);
    x.text("name", &p.name);
    x.code("administrativeGenderCode", &p.gender);
    x.value_attr("birthTime", &p.birth_time);
    x.close("patient");
    x.close("patientRole");
    x.close("recordTarget");

    for a in &doc.authors {
        x.open("author", &[]);
        x.value_attr("time", &a.time);
        x.open("assignedAuthor", &[]);
        null_id(&mut x);
        write_organization(&mut x, "representedOrganization", &a.organization);
        x.close("assignedAuthor");
        x.close("author");
    }

    x.open("custodian", &[]);
    x.open("assignedCustodian", &[]);
    x.open("representedCustodianOrganization", &[]);
    null_id(&mut x);
    x.close("representedCustodianOrganization");
    x.close("assignedCustodian");
    x.close("custodian");

    for v in &doc.vouchers {
        x.open("participant", &[("typeCode", Some("HLD"))]);
        x.empty(
            "functionCode",
            &[
                ("code", Some(&v.function_code)),
                ("codeSystem", Some(oid::TICKET_KIND)),
            ],
        );
        if let Some(e) = &v.expiry {
            x.open("time", &[]);
            x.value_attr("high", e);
            x.close("time");
        }
        x.open("associatedEntity", &[("classCode", Some("IDENT"))]);
        x.id("id", &v.id);
        if let Some(s) = &v.scoping_organization {
            x.open("scopingOrganization", &[]);
            x.id("id", s);
            x.close("scopingOrganization");
        }
        x.close("associatedEntity");
        x.close("participant");
    }

    if let Some(se) = &doc.service_event {
        x.open("documentationOf", &[]);
        x.open("serviceEvent", &[]);
        x.code("code", &se.code);
        x.value_attr("effectiveTime", &se.effective_time);
        if let Some(perf) = &se.performer {
            x.open("performer", &[("typeCode", Some("PRF"))]);
            x.open("assignedEntity", &[]);
            null_id(&mut x);
            write_organization(&mut x, "representedOrganization", perf);
            x.close("assignedEntity");
            x.close("performer");
        }
        x.close("serviceEvent");
        x.close("documentationOf");
    }

    x.open("component", &[]);
    x.open("structuredBody", &[]);
    for s in &doc.sections {
        x.open("component", &[]);
        x.open("section", &[]);
        x.code("code", &s.code);
        if let Some(t) = &s.title {
            x.text("title", t);
        }
        if let Some(t) = &s.text {
            x.element(t);
        }
        for e in &s.entries {
            x.element(e);
        }
        x.close("section");
        x.close("component");
    }
    x.close("structuredBody");
    x.close("component");
    x.close("ClinicalDocument");
    x.finish()
}

/// Writes any document.
pub fn write_document(doc: &Document, generation: Generation) -> String {
    match doc {
        Document::Index(d) => write_index(d, generation),
        Document::Summary(d) => write_summary(d, generation),
        Document::Cda(d) => write_cda(d),
        Document::CheckupClaim(d) => write_checkup_claim(d, generation),
        Document::GuidanceClaim(d) => write_guidance_claim(d, generation),
    }
}

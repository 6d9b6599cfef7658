//! The two CDA profiles in daiko's own form: 特定健診情報 (hc08) and 特定保健指導情報 (hg08),
//! both HL7 CDA R2 (POCD_MT000040) cut down by MHLW, with the HL7 data types, the narrative
//! block and the vocabulary code lists they reach. Identical in the 2018 and 2024 sets.
//!
//! One description serves both profiles: what only hg08 has (act and organizer entries, the
//! restricted ticket ids, required section codes, at most two participants, …) is marked
//! [`When::ONLY_HG`], what only hc08 has [`When::ONLY_HC`].
//!
//! Particles the schemas declare with `maxOccurs="0"` (in `ST`, `thumbnail`, `CE`, `CV` and the
//! hg08 service-event code) are not simply absent: libxml2 admits one such element as the *last*
//! child. daiko writes them with [`last`] and follows that reading.
//!
//! XML Schema semantics kept on purpose: a complex-type *restriction* that declares no content
//! model has empty content (so `CS`, `EIVL.event` and the anonymous `code` types allow no child
//! elements); extensions append their model to the base model; abstract types (`ANY`, `QTY`,
//! `BIN`, `URL`) need an `xsi:type`. The hc08/hg08 `Organization` declares an attribute whose
//! name is `determiner` followed by a line break and tabs; no document can carry such a name,
//! so `Organization` accepts no determiner attribute at all (as libxml2 does).

use crate::model::*;
use crate::simple::{digits, is_double, is_oid, no_whitespace};

pub(crate) const NS: &str = "urn:hl7-org:v3";

// ---------------------------------------------------------------------------------------------
// Simple types
// ---------------------------------------------------------------------------------------------

const fn pattern(text: &'static str, matches: fn(&str) -> bool) -> Pattern {
    Pattern { text, matches }
}

/// `cs`: a token without inner whitespace.
static CS: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern(r"[^\s]+", no_whitespace)],
    ws: Ws::Collapse,
    ..Atomic::new("cs", Prim::String)
});
/// `st`: a non-empty string.
static ST_S: Simple = Simple::Atomic(Atomic {
    min_len: Some(1),
    ..Atomic::new("st", Prim::String)
});
/// `bl`: only `true` or `false` (the digits 1 and 0 are excluded by pattern).
static BL_S: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern("true|false", |s| s == "true" || s == "false")],
    ..Atomic::new("bl", Prim::Boolean)
});
static INT_S: Simple = Simple::Atomic(Atomic::new("int", Prim::Integer));
/// `real`: a decimal or a double.
/// `real`: the union of xs:decimal and xs:double, whose lexical spaces nest: written as a
/// double (every decimal literal is a double literal).
static REAL_S: Simple = Simple::Atomic(Atomic::new("real", Prim::Double));
static URL_S: Simple = Simple::Atomic(Atomic::new("url", Prim::AnyUri));
static BIN_S: Simple = Simple::Atomic(Atomic::new("bin", Prim::Base64));
static XS_STRING: Simple = Simple::Atomic(Atomic::new("xs:string", Prim::String));
static XS_ID: Simple = Simple::Atomic(Atomic::new("xs:ID", Prim::Id));
static XS_IDREF: Simple = Simple::Atomic(Atomic::new("xs:IDREF", Prim::IdRef));
// libxml2 accepts an empty list for xs:IDREFS and xs:NMTOKENS; daiko follows it.
static XS_IDREFS: Simple = Simple::List("xs:IDREFS", &XS_IDREF, None);
static XS_NMTOKEN: Simple = Simple::Atomic(Atomic::new("xs:NMTOKEN", Prim::NmToken));
static XS_NMTOKENS: Simple = Simple::List("xs:NMTOKENS", &XS_NMTOKEN, None);
static LIST_INT: Simple = Simple::List("list_int", &INT_S, None);
/// probability: a double in 0..=1.
static PROBABILITY: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern("a number from 0.0 to 1.0", |s| {
        is_double(s) && s.parse::<f64>().is_ok_and(|v| (0.0..=1.0).contains(&v))
    })],
    ..Atomic::new("probability", Prim::Double)
});

/// `oid`, `uuid` or `ruid`.
/// `uid`: the union of three string patterns, written as one pattern (same values, one pass).
static UID: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern("oid, uuid or ruid", is_uid)],
    ..Atomic::new("uid", Prim::String)
});
/// uuid: `[0-9a-zA-Z]{8}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{4}-[0-9a-zA-Z]{12}`.
fn is_uuid(s: &str) -> bool {
    let groups: [usize; 5] = [8, 4, 4, 4, 12];
    let mut parts = s.split('-');
    for want in groups {
        match parts.next() {
            Some(p) if p.len() == want && p.bytes().all(|b| b.is_ascii_alphanumeric()) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

/// `ts`: `[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?`, as libxml2 applies
/// it. libxml2's counted repetition inside this alternation also accepts some longer digit runs
/// (16-27 and 29-34 digits; 21 digits before a fraction). daiko mirrors the reference validator
/// so that X-02 agrees with `xmllint --schema`; implausible dates are left to the date checks.
static TS_S: Simple = Simple::Atomic(Atomic {
    patterns: &[pattern(
        r"[0-9]{1,8}|([0-9]{9,14}|[0-9]{14,14}\.[0-9]+)([+\-][0-9]{1,4})?",
        is_ts,
    )],
    ..Atomic::new("ts", Prim::String)
});

fn is_ts(s: &str) -> bool {
    let (main, zone) = match s.find(['+', '-']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    if let Some(z) = zone
        && !digits(z, 1, 4)
    {
        return false;
    }
    let long_run = |n: usize| matches!(n, 9..=14 | 16..=27 | 29..=34);
    match main.split_once('.') {
        None => {
            digits(main, 1, usize::MAX)
                && (long_run(main.len()) || (zone.is_none() && main.len() <= 8))
        }
        Some((whole, frac)) => {
            digits(whole, 1, usize::MAX)
                && matches!(whole.len(), 14 | 21)
                && digits(frac, 1, usize::MAX)
        }
    }
}

/// The hg08 ticket-id root: `1.2.392.200119.6.209.1` or `….210.1` followed by 1-8 digits, where
/// each `.` of the pattern admits any character but a line break.
static TICKET_ROOT: Simple = Simple::Atomic(Atomic {
    patterns: &[
        pattern(
            "1.2.392.200119.6.209.1[0-9]{1,8}|1.2.392.200119.6.210.1[0-9]{1,8}",
            is_ticket_root,
        ),
        pattern("an oid, uuid or ruid", is_uid),
    ],
    ..Atomic::new("uid (ticket root)", Prim::String)
});

fn is_uid(s: &str) -> bool {
    is_oid(s) || is_uuid(s) || is_ruid(s)
}

/// ruid: `[A-Za-z][A-Za-z0-9\-]*`.
fn is_ruid(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '-')
}

fn is_ticket_root(s: &str) -> bool {
    // the literal with '.' as a wildcard, then 1 to 8 digits
    let shape = |prefix: &str| {
        let mut chars = s.chars();
        for want in prefix.chars() {
            match chars.next() {
                Some(c) if want == '.' && c != '\n' && c != '\r' => {}
                Some(c) if c == want => {}
                _ => return false,
            }
        }
        digits(chars.as_str(), 1, 8)
    };
    shape("1.2.392.200119.6.209.1") || shape("1.2.392.200119.6.210.1")
}

/// A vocabulary code list (a `cs` restricted to the listed codes).
const fn codes(name: &'static str, values: &'static [&'static str]) -> Simple {
    Simple::Atomic(Atomic {
        patterns: &[Pattern {
            text: r"[^\s]+",
            matches: no_whitespace,
        }],
        enumeration: values,
        ws: Ws::Collapse,
        ..Atomic::new(name, Prim::String)
    })
}

/// An enumeration over xs:NMTOKEN (narrative block attributes).
const fn tokens(name: &'static str, values: &'static [&'static str]) -> Simple {
    Simple::Atomic(Atomic {
        enumeration: values,
        ..Atomic::new(name, Prim::NmToken)
    })
}

// RoleClassAssociative, RoleClassRoot and CalendarCycle are unions that include a bare `cs`
// member, so any code is accepted: they are written as `CS` where used.
static NULL_FLAVOR: Simple = codes(
    "NullFlavor",
    &[
        "ASKU", "MSK", "NA", "NASK", "NAV", "NI", "NINF", "OTH", "PINF", "QS", "TRC", "UNK",
    ],
);
static PARTICIPATION_TYPE: Simple = codes(
    "ParticipationType",
    &[
        "ADM", "ATND", "AUT", "AUTHEN", "BBY", "BEN", "CALLBCK", "CON", "COV", "CSM", "CST", "DEV",
        "DIR", "DIS", "DIST", "DON", "DST", "ELOC", "ENT", "ESC", "GUAR", "HLD", "IND", "INF",
        "IRCP", "LA", "LOC", "NOT", "NRD", "ORG", "PART", "PPRF", "PRCP", "PRD", "PRF", "RCT",
        "RCV", "RDV", "REF", "REFB", "REFT", "RESP", "RML", "SBJ", "SPC", "SPRF", "TRANS", "TRC",
        "VIA", "VRF", "WIT",
    ],
);
static ACT_MOOD: Simple = codes(
    "ActMood",
    &[
        "APT", "ARQ", "DEF", "EVN", "EVN.CRT", "EXPEC", "GOL", "INT", "OPT", "PERM", "PERMRQ",
        "PRMS", "PRP", "RMD", "RQO", "RSK",
    ],
);
static ENTITY_CLASS_ROOT: Simple = codes(
    "EntityClassRoot",
    &[
        "ANM", "CER", "CHEM", "CITY", "CONT", "COUNTRY", "COUNTY", "DEV", "ENT", "FOOD", "HCE",
        "HOLD", "LIV", "MAT", "MIC", "MMAT", "MODDV", "NAT", "NLIV", "ORG", "PLC", "PLNT",
        "PROVINCE", "PSN", "PUB", "RGRP", "STATE",
    ],
);
static ACT_CLASS_OBSERVATION: Simple = codes(
    "ActClassObservation",
    &[
        "ALRT", "CASE", "CLNTRL", "CNOD", "COND", "DGIMG", "INVSTG", "OBS", "OBSCOR", "OBSSER",
        "OUTB", "ROIBND", "ROIOVL", "SPCOBS",
    ],
);
static ACT_CLASS_ROOT: Simple = codes(
    "ActClassRoot",
    &[
        "ACCM",
        "ACCT",
        "ACSN",
        "ACT",
        "ACTN",
        "ADJUD",
        "ALRT",
        "BATTERY",
        "CACT",
        "CASE",
        "CATEGORY",
        "CDALVLONE",
        "CLNTRL",
        "CLUSTER",
        "CNOD",
        "CNTRCT",
        "COMPOSITION",
        "COND",
        "CONS",
        "CONTREG",
        "COV",
        "CTTEVENT",
        "DGIMG",
        "DIET",
        "DISPACT",
        "DOC",
        "DOCBODY",
        "DOCCLIN",
        "DOCSECT",
        "EHR",
        "ENC",
        "ENTRY",
        "EXTRACT",
        "FCNTRCT",
        "FOLDER",
        "INC",
        "INFO",
        "INFRM",
        "INVE",
        "INVSTG",
        "LIST",
        "MPROT",
        "OBS",
        "OBSCOR",
        "OBSSER",
        "ORGANIZER",
        "OUTB",
        "PCPR",
        "PROC",
        "REG",
        "REV",
        "ROIBND",
        "ROIOVL",
        "SBADM",
        "SPCOBS",
        "SPCTRT",
        "SPECCOLLECT",
        "SPLY",
        "STC",
        "STORE",
        "SUBST",
        "TOPIC",
        "TRNS",
        "VERIF",
        "XACT",
    ],
);
static X_ENTRY: Simple = codes("x_ActRelationshipEntry", &["COMP", "DRIV"]);
static X_ENTRY_RELATIONSHIP: Simple = codes(
    "x_ActRelationshipEntryRelationship",
    &[
        "CAUS", "COMP", "GEVL", "MFST", "REFR", "RSON", "SAS", "SPRT", "SUBJ", "XCRPT",
    ],
);
static X_INFORMATION_RECIPIENT: Simple = codes("x_InformationRecipient", &["PRCP", "TRC"]);
static X_INFORMATION_RECIPIENT_ROLE: Simple =
    codes("x_InformationRecipientRole", &["ASSIGNED", "HLTHCHRT"]);
static X_MOOD_DOCUMENT_OBSERVATION: Simple = codes(
    "x_ActMoodDocumentObservation",
    &["DEF", "EVN", "GOL", "INT", "PRMS", "PRP", "RQO"],
);
static X_SERVICE_EVENT_PERFORMER: Simple = codes("x_ServiceEventPerformer", &["PRF", "SPRF"]);
static X_CLASS_DOCUMENT_ENTRY_ACT: Simple = codes(
    "x_ActClassDocumentEntryAct",
    &[
        "ACCM", "ACT", "CONS", "CTTEVENT", "INC", "INFRM", "PCPR", "REG", "SPCTRT", "TRNS",
    ],
);
static X_DOCUMENT_ACT_MOOD: Simple = codes(
    "x_DocumentActMood",
    &["APT", "ARQ", "DEF", "EVN", "INT", "PRMS", "PRP", "RQO"],
);
static X_CLASS_DOCUMENT_ENTRY_ORGANIZER: Simple =
    codes("x_ActClassDocumentEntryOrganizer", &["BATTERY", "CLUSTER"]);
static COMPRESSION: Simple = codes("CompressionAlgorithm", &["DF", "GZ", "Z", "ZL"]);
static INTEGRITY_CHECK: Simple = codes("IntegrityCheckAlgorithm", &["SHA-1", "SHA-256"]);
static BINARY_ENCODING: Simple = tokens("BinaryDataEncoding", &["B64", "TXT"]);
static TELECOM_USE: Simple = codes(
    "TelecommunicationAddressUse",
    &[
        "AS", "BAD", "DIR", "EC", "H", "HP", "HV", "MC", "PG", "PUB", "TMP", "WP",
    ],
);
static SET_TELECOM_USE: Simple =
    Simple::List("set_TelecommunicationAddressUse", &TELECOM_USE, None);
static POSTAL_USE: Simple = codes(
    "PostalAddressUse",
    &[
        "ABC", "BAD", "DIR", "H", "HP", "HV", "IDE", "PHYS", "PST", "PUB", "SYL", "TMP", "WP",
    ],
);
static SET_POSTAL_USE: Simple = Simple::List("set_PostalAddressUse", &POSTAL_USE, None);
static ADDRESS_PART_TYPE: Simple = codes(
    "AddressPartType",
    &[
        "ADL", "BNN", "BNR", "BNS", "CAR", "CEN", "CNT", "CPA", "CTY", "DAL", "DEL", "DINST",
        "DINSTA", "DINSTQ", "DIR", "DMOD", "DMODID", "POB", "PRE", "SAL", "STA", "STB", "STR",
        "STTYP", "UNID", "UNIT", "ZIP",
    ],
);
static NAME_PART_TYPE: Simple = codes("EntityNamePartType", &["DEL", "FAM", "GIV", "PFX", "SFX"]);
static NAME_PART_QUALIFIER: Simple = codes(
    "EntityNamePartQualifier",
    &[
        "AC", "AD", "BR", "CL", "IN", "LS", "NB", "PR", "SP", "TITLE", "VV",
    ],
);
static SET_NAME_PART_QUALIFIER: Simple =
    Simple::List("set_EntityNamePartQualifier", &NAME_PART_QUALIFIER, None);
static NAME_USE: Simple = codes(
    "EntityNameUse",
    &[
        "A", "ABC", "C", "IDE", "L", "OR", "P", "PHON", "SNDX", "SRCH", "SYL",
    ],
);
static SET_NAME_USE: Simple = Simple::List("set_EntityNameUse", &NAME_USE, None);
static SET_OPERATOR: Simple = codes("SetOperator", &["A", "E", "H", "I", "P"]);
static DISTRIBUTION_TYPE: Simple = codes(
    "ProbabilityDistributionType",
    &["B", "E", "F", "G", "LN", "N", "T", "U", "X2"],
);
static TIMING_EVENT: Simple = codes(
    "TimingEvent",
    &[
        "AC", "ACD", "ACM", "ACV", "HS", "IC", "ICD", "ICM", "ICV", "PC", "PCD", "PCM", "PCV",
    ],
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const fn c(t: &'static Complex) -> TypeRef {
    TypeRef::Complex(t)
}

/// A complex type derived from `base` with element content.
const fn derived(
    name: &'static str,
    base: &'static Complex,
    model: &'static Particle,
    attrs: &'static [Attr],
) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Elements {
            model,
            mixed: false,
        },
        is_abstract: false,
        base: Some(base),
    }
}

/// A mixed complex type derived from `base`.
const fn derived_mixed(
    name: &'static str,
    base: &'static Complex,
    model: &'static Particle,
    attrs: &'static [Attr],
) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Elements { model, mixed: true },
        is_abstract: false,
        base: Some(base),
    }
}

/// A complex type derived from `base` with attributes only.
const fn derived_empty(
    name: &'static str,
    base: &'static Complex,
    attrs: &'static [Attr],
) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Empty,
        is_abstract: false,
        base: Some(base),
    }
}

const NF: Attr = optional("nullFlavor", &NULL_FLAVOR);
static NOTHING: Particle = seq(&[]);

// ---------------------------------------------------------------------------------------------
// HL7 data types (datatypes-base and datatypes)
// ---------------------------------------------------------------------------------------------

static ANY: Complex = Complex {
    is_abstract: true,
    ..attrs_only("ANY", &[NF])
};
static BL: Complex = derived_empty("BL", &ANY, &[NF, optional("value", &BL_S)]);
static ANY_NON_NULL: Complex = derived_empty("ANYNonNull", &ANY, &[]);
static BN: Complex = derived_empty("BN", &ANY_NON_NULL, &[optional("value", &BL_S)]);

const BIN_ATTRS: [Attr; 2] = [NF, optional("representation", &BINARY_ENCODING)];
static BIN: Complex = Complex {
    is_abstract: true,
    ..derived_mixed("BIN", &ANY, &NOTHING, &BIN_ATTRS)
};
const ED_ATTRS: [Attr; 7] = [
    NF,
    optional("representation", &BINARY_ENCODING),
    optional("mediaType", &CS),
    optional("language", &CS),
    optional("compression", &COMPRESSION),
    optional("integrityCheck", &BIN_S),
    optional("integrityCheckAlgorithm", &INTEGRITY_CHECK),
];
/// Encapsulated data: text (or base64) with an optional reference and thumbnail.
static ED: Complex = derived_mixed(
    "ED",
    &BIN,
    &seq(&[
        opt(&el("reference", c(&TEL))),
        opt(&el("thumbnail", c(&THUMBNAIL))),
    ]),
    &ED_ATTRS,
);
static THUMBNAIL: Complex = derived_mixed(
    "thumbnail",
    &ED,
    &seq(&[opt(&el("reference", c(&TEL)))]),
    &ED_ATTRS,
);
const ST_ATTRS: [Attr; 4] = [
    NF,
    fixed("representation", &BINARY_ENCODING, "TXT"),
    fixed("mediaType", &CS, "text/plain"),
    optional("language", &CS),
];
/// Character string: text, with the schema's zero-occurrence `reference` and `thumbnail`.
static ST: Complex = derived_mixed("ST", &ED, &ST_MODEL, &ST_ATTRS);
static ST_MODEL: Particle = seq(&[
    last(&el("reference", c(&TEL))),
    last(&el("thumbnail", c(&ED))),
]);

const CD_ATTRS: [Attr; 6] = [
    NF,
    optional("code", &CS),
    optional("codeSystem", &UID),
    optional("codeSystemName", &ST_S),
    optional("codeSystemVersion", &ST_S),
    optional("displayName", &ST_S),
];
static E_ORIGINAL_TEXT: Element = el("originalText", c(&ED));
static E_TRANSLATION_CD: Element = el("translation", c(&CD));
/// Concept descriptor.
static CD: Complex = derived(
    "CD",
    &ANY,
    &seq(&[
        opt(&E_ORIGINAL_TEXT),
        many(&el("qualifier", c(&CR))),
        many(&E_TRANSLATION_CD),
    ]),
    &CD_ATTRS,
);
static E_QUALIFIER: Element = el("qualifier", c(&CR));
static CE_MODEL: Particle = seq(&[
    opt(&E_ORIGINAL_TEXT),
    last(&E_QUALIFIER),
    many(&E_TRANSLATION_CD),
]);
static CE: Complex = derived("CE", &CD, &CE_MODEL, &CD_ATTRS);
static CV_MODEL: Particle = seq(&[opt(&E_ORIGINAL_TEXT), last(&E_TRANSLATION_CD)]);
static CV: Complex = derived("CV", &CE, &CV_MODEL, &CD_ATTRS);
/// Coded simple value: a restriction without a content model, hence empty.
static CS_T: Complex = derived_empty("CS", &CV, &[NF, optional("code", &CS)]);
static CO: Complex = derived("CO", &CV, &CV_MODEL, &CD_ATTRS);
static CR: Complex = derived(
    "CR",
    &ANY,
    &seq(&[opt(&el("name", c(&CV))), opt(&el("value", c(&CD)))]),
    &[NF, optional("inverted", &BL_S)],
);
static SC: Complex = derived_mixed(
    "SC",
    &ST,
    &ST_MODEL,
    &[
        NF,
        fixed("representation", &BINARY_ENCODING, "TXT"),
        fixed("mediaType", &CS, "text/plain"),
        optional("language", &CS),
        optional("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
const II_ATTRS: [Attr; 5] = [
    NF,
    optional("root", &UID),
    optional("extension", &ST_S),
    optional("assigningAuthorityName", &ST_S),
    optional("displayable", &BL_S),
];
/// Instance identifier.
static II: Complex = derived_empty("II", &ANY, &II_ATTRS);
static URL: Complex = Complex {
    is_abstract: true,
    ..derived_empty("URL", &ANY, &[NF, optional("value", &URL_S)])
};
static QTY: Complex = Complex {
    is_abstract: true,
    ..derived_empty("QTY", &ANY, &[NF])
};
static TS: Complex = derived_empty("TS", &QTY, &[NF, optional("value", &TS_S)]);
/// Telecommunication address.
static TEL: Complex = derived(
    "TEL",
    &URL,
    &seq(&[many(&el("useablePeriod", c(&SXCM_TS)))]),
    &[
        NF,
        optional("value", &URL_S),
        optional("use", &SET_TELECOM_USE),
    ],
);

const ADXP_ATTRS: [Attr; 5] = [
    NF,
    fixed("representation", &BINARY_ENCODING, "TXT"),
    fixed("mediaType", &CS, "text/plain"),
    optional("language", &CS),
    optional("partType", &ADDRESS_PART_TYPE),
];
static ADXP: Complex = derived_mixed("ADXP", &ST, &ST_MODEL, &ADXP_ATTRS);

/// An address part with its part type fixed.
macro_rules! address_part {
    ($id:ident, $name:literal, $code:literal) => {
        static $id: Complex = derived_mixed(
            $name,
            &ADXP,
            &NOTHING,
            &[
                NF,
                fixed("representation", &BINARY_ENCODING, "TXT"),
                fixed("mediaType", &CS, "text/plain"),
                optional("language", &CS),
                fixed("partType", &ADDRESS_PART_TYPE, $code),
            ],
        );
    };
}
address_part!(ADXP_DELIMITER, "adxp.delimiter", "DEL");
address_part!(ADXP_COUNTRY, "adxp.country", "CNT");
address_part!(ADXP_STATE, "adxp.state", "STA");
address_part!(ADXP_COUNTY, "adxp.county", "CPA");
address_part!(ADXP_CITY, "adxp.city", "CTY");
address_part!(ADXP_POSTAL_CODE, "adxp.postalCode", "ZIP");
address_part!(ADXP_STREET_ADDRESS_LINE, "adxp.streetAddressLine", "SAL");
address_part!(ADXP_HOUSE_NUMBER, "adxp.houseNumber", "BNR");
address_part!(ADXP_HOUSE_NUMBER_NUMERIC, "adxp.houseNumberNumeric", "BNN");
address_part!(ADXP_DIRECTION, "adxp.direction", "DIR");
address_part!(ADXP_STREET_NAME, "adxp.streetName", "STR");
address_part!(ADXP_STREET_NAME_BASE, "adxp.streetNameBase", "STB");
address_part!(ADXP_STREET_NAME_TYPE, "adxp.streetNameType", "STTYP");
address_part!(ADXP_ADDITIONAL_LOCATOR, "adxp.additionalLocator", "ADL");
address_part!(ADXP_UNIT_ID, "adxp.unitID", "UNID");
address_part!(ADXP_UNIT_TYPE, "adxp.unitType", "UNIT");
address_part!(ADXP_CARE_OF, "adxp.careOf", "CAR");
address_part!(ADXP_CENSUS_TRACT, "adxp.censusTract", "CEN");
address_part!(
    ADXP_DELIVERY_ADDRESS_LINE,
    "adxp.deliveryAddressLine",
    "DAL"
);
address_part!(
    ADXP_DELIVERY_INSTALLATION_TYPE,
    "adxp.deliveryInstallationType",
    "DINST"
);
address_part!(
    ADXP_DELIVERY_INSTALLATION_AREA,
    "adxp.deliveryInstallationArea",
    "DINSTA"
);
address_part!(
    ADXP_DELIVERY_INSTALLATION_QUALIFIER,
    "adxp.deliveryInstallationQualifier",
    "DINSTQ"
);
address_part!(ADXP_DELIVERY_MODE, "adxp.deliveryMode", "DMOD");
address_part!(
    ADXP_DELIVERY_MODE_IDENTIFIER,
    "adxp.deliveryModeIdentifier",
    "DMODID"
);
address_part!(
    ADXP_BUILDING_NUMBER_SUFFIX,
    "adxp.buildingNumberSuffix",
    "BNS"
);
address_part!(ADXP_POST_BOX, "adxp.postBox", "POB");
address_part!(ADXP_PRECINCT, "adxp.precinct", "PRE");

/// Postal address: free text mixed with any number of address parts, then useable periods.
static AD: Complex = derived_mixed(
    "AD",
    &ANY,
    &seq(&[
        choice(
            0,
            UNBOUNDED,
            &[
                one(&el("delimiter", c(&ADXP_DELIMITER))),
                one(&el("country", c(&ADXP_COUNTRY))),
                one(&el("state", c(&ADXP_STATE))),
                one(&el("county", c(&ADXP_COUNTY))),
                one(&el("city", c(&ADXP_CITY))),
                one(&el("postalCode", c(&ADXP_POSTAL_CODE))),
                one(&el("streetAddressLine", c(&ADXP_STREET_ADDRESS_LINE))),
                one(&el("houseNumber", c(&ADXP_HOUSE_NUMBER))),
                one(&el("houseNumberNumeric", c(&ADXP_HOUSE_NUMBER_NUMERIC))),
                one(&el("direction", c(&ADXP_DIRECTION))),
                one(&el("streetName", c(&ADXP_STREET_NAME))),
                one(&el("streetNameBase", c(&ADXP_STREET_NAME_BASE))),
                one(&el("streetNameType", c(&ADXP_STREET_NAME_TYPE))),
                one(&el("additionalLocator", c(&ADXP_ADDITIONAL_LOCATOR))),
                one(&el("unitID", c(&ADXP_UNIT_ID))),
                one(&el("unitType", c(&ADXP_UNIT_TYPE))),
                one(&el("careOf", c(&ADXP_CARE_OF))),
                one(&el("censusTract", c(&ADXP_CENSUS_TRACT))),
                one(&el("deliveryAddressLine", c(&ADXP_DELIVERY_ADDRESS_LINE))),
                one(&el(
                    "deliveryInstallationType",
                    c(&ADXP_DELIVERY_INSTALLATION_TYPE),
                )),
                one(&el(
                    "deliveryInstallationArea",
                    c(&ADXP_DELIVERY_INSTALLATION_AREA),
                )),
                one(&el(
                    "deliveryInstallationQualifier",
                    c(&ADXP_DELIVERY_INSTALLATION_QUALIFIER),
                )),
                one(&el("deliveryMode", c(&ADXP_DELIVERY_MODE))),
                one(&el(
                    "deliveryModeIdentifier",
                    c(&ADXP_DELIVERY_MODE_IDENTIFIER),
                )),
                one(&el("buildingNumberSuffix", c(&ADXP_BUILDING_NUMBER_SUFFIX))),
                one(&el("postBox", c(&ADXP_POST_BOX))),
                one(&el("precinct", c(&ADXP_PRECINCT))),
            ],
        ),
        many(&el("useablePeriod", c(&SXCM_TS))),
    ]),
    &[
        NF,
        optional("use", &SET_POSTAL_USE),
        optional("isNotOrdered", &BL_S),
    ],
);

const ENXP_ATTRS: [Attr; 6] = [
    NF,
    fixed("representation", &BINARY_ENCODING, "TXT"),
    fixed("mediaType", &CS, "text/plain"),
    optional("language", &CS),
    optional("partType", &NAME_PART_TYPE),
    optional("qualifier", &SET_NAME_PART_QUALIFIER),
];
static ENXP: Complex = derived_mixed("ENXP", &ST, &ST_MODEL, &ENXP_ATTRS);

/// A name part with its part type fixed.
macro_rules! name_part {
    ($id:ident, $name:literal, $code:literal) => {
        static $id: Complex = derived_mixed(
            $name,
            &ENXP,
            &NOTHING,
            &[
                NF,
                fixed("representation", &BINARY_ENCODING, "TXT"),
                fixed("mediaType", &CS, "text/plain"),
                optional("language", &CS),
                fixed("partType", &NAME_PART_TYPE, $code),
                optional("qualifier", &SET_NAME_PART_QUALIFIER),
            ],
        );
    };
}
name_part!(EN_DELIMITER, "en.delimiter", "DEL");
name_part!(EN_FAMILY, "en.family", "FAM");
name_part!(EN_GIVEN, "en.given", "GIV");
name_part!(EN_PREFIX, "en.prefix", "PFX");
name_part!(EN_SUFFIX, "en.suffix", "SFX");

static E_NAME_DELIMITER: Element = el("delimiter", c(&EN_DELIMITER));
static E_NAME_PREFIX: Element = el("prefix", c(&EN_PREFIX));
static E_NAME_SUFFIX: Element = el("suffix", c(&EN_SUFFIX));
static E_VALID_TIME: Element = el("validTime", c(&IVL_TS));
const EN_ATTRS: [Attr; 2] = [NF, optional("use", &SET_NAME_USE)];
static EN_MODEL: Particle = seq(&[
    choice(
        0,
        UNBOUNDED,
        &[
            one(&E_NAME_DELIMITER),
            one(&el("family", c(&EN_FAMILY))),
            one(&el("given", c(&EN_GIVEN))),
            one(&E_NAME_PREFIX),
            one(&E_NAME_SUFFIX),
        ],
    ),
    opt(&E_VALID_TIME),
]);
/// Entity name.
static EN: Complex = derived_mixed("EN", &ANY, &EN_MODEL, &EN_ATTRS);
/// Person name.
static PN: Complex = derived_mixed("PN", &EN, &EN_MODEL, &EN_ATTRS);
/// Organization name (no family or given parts).
static ON: Complex = derived_mixed(
    "ON",
    &EN,
    &seq(&[
        choice(
            0,
            UNBOUNDED,
            &[
                one(&E_NAME_DELIMITER),
                one(&E_NAME_PREFIX),
                one(&E_NAME_SUFFIX),
            ],
        ),
        opt(&E_VALID_TIME),
    ]),
    &EN_ATTRS,
);
/// Trivial name (text only).
static TN: Complex = derived_mixed("TN", &EN, &seq(&[opt(&E_VALID_TIME)]), &EN_ATTRS);

static INT: Complex = derived_empty("INT", &QTY, &[NF, optional("value", &INT_S)]);
static REAL: Complex = derived_empty("REAL", &QTY, &[NF, optional("value", &REAL_S)]);
static PQR: Complex = derived(
    "PQR",
    &CV,
    &CV_MODEL,
    &[
        NF,
        optional("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
        optional("value", &REAL_S),
    ],
);
static PQ_MODEL: Particle = seq(&[many(&el("translation", c(&PQR)))]);
const PQ_ATTRS: [Attr; 3] = [NF, optional("value", &REAL_S), optional("unit", &CS)];
/// Physical quantity.
static PQ: Complex = derived("PQ", &QTY, &PQ_MODEL, &PQ_ATTRS);
const MO_ATTRS: [Attr; 3] = [NF, optional("value", &REAL_S), optional("currency", &CS)];
static MO: Complex = derived_empty("MO", &QTY, &MO_ATTRS);
static E_NUMERATOR_QTY: Element = el("numerator", c(&QTY));
static E_DENOMINATOR_QTY: Element = el("denominator", c(&QTY));
static RTO_MODEL: Particle = seq(&[one(&E_NUMERATOR_QTY), one(&E_DENOMINATOR_QTY)]);
static RTO_QTY_QTY: Complex = derived("RTO_QTY_QTY", &QTY, &RTO_MODEL, &[NF]);
static RTO: Complex = derived("RTO", &RTO_QTY_QTY, &RTO_MODEL, &[NF]);
static EIVL_EVENT: Complex = derived_empty(
    "EIVL.event",
    &CE,
    &[
        NF,
        optional("code", &TIMING_EVENT),
        fixed("codeSystem", &UID, "2.16.840.1.113883.5.139"),
        fixed("codeSystemName", &ST_S, "TimingEvent"),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);

const SXCM_TS_ATTRS: [Attr; 3] = [
    NF,
    optional("value", &TS_S),
    optional("operator", &SET_OPERATOR),
];
static SXCM_TS: Complex = derived_empty("SXCM_TS", &TS, &SXCM_TS_ATTRS);
static IVXB_TS: Complex = derived_empty(
    "IVXB_TS",
    &TS,
    &[NF, optional("value", &TS_S), optional("inclusive", &BL_S)],
);

/// The interval choice shared by every IVL type: low (then width or high), high alone, width
/// (then high), or center (then width).
macro_rules! interval_choice {
    ($bound:expr, $width:expr, $center:expr) => {
        choice(
            0,
            1,
            &[
                seq(&[
                    one(&el("low", c($bound))),
                    choice(
                        0,
                        1,
                        &[opt(&el("width", c($width))), opt(&el("high", c($bound)))],
                    ),
                ]),
                one(&el("high", c($bound))),
                seq(&[one(&el("width", c($width))), opt(&el("high", c($bound)))]),
                seq(&[one(&el("center", c($center))), opt(&el("width", c($width)))]),
            ],
        )
    };
}

/// Interval of points in time.
static IVL_TS: Complex = derived(
    "IVL_TS",
    &SXCM_TS,
    &seq(&[interval_choice!(&IVXB_TS, &PQ, &TS)]),
    &SXCM_TS_ATTRS,
);
static PIVL_TS: Complex = derived(
    "PIVL_TS",
    &SXCM_TS,
    &seq(&[opt(&el("phase", c(&IVL_TS))), opt(&el("period", c(&PQ)))]),
    &[
        NF,
        optional("value", &TS_S),
        optional("operator", &SET_OPERATOR),
        optional("alignment", &CS),
        optional("institutionSpecified", &BL_S),
    ],
);
static EIVL_TS: Complex = derived(
    "EIVL_TS",
    &SXCM_TS,
    &seq(&[
        opt(&el("event", c(&EIVL_EVENT))),
        opt(&el("offset", c(&IVL_PQ))),
    ]),
    &SXCM_TS_ATTRS,
);
const SXCM_PQ_ATTRS: [Attr; 4] = [
    NF,
    optional("value", &REAL_S),
    optional("unit", &CS),
    optional("operator", &SET_OPERATOR),
];
static SXCM_PQ: Complex = derived("SXCM_PQ", &PQ, &PQ_MODEL, &SXCM_PQ_ATTRS);
static IVXB_PQ: Complex = derived(
    "IVXB_PQ",
    &PQ,
    &PQ_MODEL,
    &[
        NF,
        optional("value", &REAL_S),
        optional("unit", &CS),
        optional("inclusive", &BL_S),
    ],
);
static IVL_PQ_MODEL: Particle = seq(&[
    many(&el("translation", c(&PQR))),
    interval_choice!(&IVXB_PQ, &PQ, &PQ),
]);
/// Interval of physical quantities.
static IVL_PQ: Complex = derived("IVL_PQ", &SXCM_PQ, &IVL_PQ_MODEL, &SXCM_PQ_ATTRS);

const PPD_TS_ATTRS: [Attr; 3] = [
    NF,
    optional("value", &TS_S),
    optional("distributionType", &DISTRIBUTION_TYPE),
];
static E_STANDARD_DEVIATION: Element = el("standardDeviation", c(&PQ));
static PPD_TS_MODEL: Particle = seq(&[opt(&E_STANDARD_DEVIATION)]);
static PPD_TS: Complex = derived("PPD_TS", &TS, &PPD_TS_MODEL, &PPD_TS_ATTRS);
const PPD_PQ_ATTRS: [Attr; 4] = [
    NF,
    optional("value", &REAL_S),
    optional("unit", &CS),
    optional("distributionType", &DISTRIBUTION_TYPE),
];
static PPD_PQ_MODEL: Particle = seq(&[
    many(&el("translation", c(&PQR))),
    opt(&E_STANDARD_DEVIATION),
]);
static PPD_PQ: Complex = derived("PPD_PQ", &PQ, &PPD_PQ_MODEL, &PPD_PQ_ATTRS);
const SXCM_PPD_TS_ATTRS: [Attr; 4] = [
    NF,
    optional("value", &TS_S),
    optional("distributionType", &DISTRIBUTION_TYPE),
    optional("operator", &SET_OPERATOR),
];
static SXCM_PPD_TS: Complex = derived("SXCM_PPD_TS", &PPD_TS, &PPD_TS_MODEL, &SXCM_PPD_TS_ATTRS);
static PIVL_PPD_TS: Complex = derived(
    "PIVL_PPD_TS",
    &SXCM_PPD_TS,
    &seq(&[
        opt(&E_STANDARD_DEVIATION),
        opt(&el("phase", c(&IVL_PPD_TS))),
        opt(&el("period", c(&PPD_PQ))),
    ]),
    &[
        NF,
        optional("value", &TS_S),
        optional("distributionType", &DISTRIBUTION_TYPE),
        optional("operator", &SET_OPERATOR),
        optional("alignment", &CS),
        optional("institutionSpecified", &BL_S),
    ],
);
static IVXB_PPD_TS: Complex = derived(
    "IVXB_PPD_TS",
    &PPD_TS,
    &PPD_TS_MODEL,
    &[
        NF,
        optional("value", &TS_S),
        optional("distributionType", &DISTRIBUTION_TYPE),
        optional("inclusive", &BL_S),
    ],
);
static IVL_PPD_TS: Complex = derived(
    "IVL_PPD_TS",
    &SXCM_PPD_TS,
    &seq(&[
        opt(&E_STANDARD_DEVIATION),
        interval_choice!(&IVXB_PPD_TS, &PPD_PQ, &PPD_TS),
    ]),
    &SXCM_PPD_TS_ATTRS,
);
static EIVL_PPD_TS: Complex = derived(
    "EIVL_PPD_TS",
    &SXCM_PPD_TS,
    &seq(&[
        opt(&E_STANDARD_DEVIATION),
        opt(&el("event", c(&EIVL_EVENT))),
        opt(&el("offset", c(&IVL_PPD_PQ))),
    ]),
    &SXCM_PPD_TS_ATTRS,
);
const SXCM_PPD_PQ_ATTRS: [Attr; 5] = [
    NF,
    optional("value", &REAL_S),
    optional("unit", &CS),
    optional("distributionType", &DISTRIBUTION_TYPE),
    optional("operator", &SET_OPERATOR),
];
static SXCM_PPD_PQ: Complex = derived("SXCM_PPD_PQ", &PPD_PQ, &PPD_PQ_MODEL, &SXCM_PPD_PQ_ATTRS);
static IVXB_PPD_PQ: Complex = derived(
    "IVXB_PPD_PQ",
    &PPD_PQ,
    &PPD_PQ_MODEL,
    &[
        NF,
        optional("value", &REAL_S),
        optional("unit", &CS),
        optional("distributionType", &DISTRIBUTION_TYPE),
        optional("inclusive", &BL_S),
    ],
);
static IVL_PPD_PQ: Complex = derived(
    "IVL_PPD_PQ",
    &SXCM_PPD_PQ,
    &seq(&[
        many(&el("translation", c(&PQR))),
        opt(&E_STANDARD_DEVIATION),
        interval_choice!(&IVXB_PPD_PQ, &PPD_PQ, &PPD_PQ),
    ]),
    &SXCM_PPD_PQ_ATTRS,
);
static SXPR_TS: Complex = derived(
    "SXPR_TS",
    &SXCM_TS,
    &seq(&[occ(&el("comp", c(&SXCM_TS)), 2, UNBOUNDED)]),
    &SXCM_TS_ATTRS,
);
static CD_MODEL: Particle = seq(&[
    opt(&E_ORIGINAL_TEXT),
    many(&el("qualifier", c(&CR))),
    many(&E_TRANSLATION_CD),
]);
static SXCM_CD: Complex = derived(
    "SXCM_CD",
    &CD,
    &CD_MODEL,
    &[
        NF,
        optional("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
        optional("operator", &SET_OPERATOR),
    ],
);
const SXCM_MO_ATTRS: [Attr; 4] = [
    NF,
    optional("value", &REAL_S),
    optional("currency", &CS),
    optional("operator", &SET_OPERATOR),
];
static SXCM_MO: Complex = derived_empty("SXCM_MO", &MO, &SXCM_MO_ATTRS);
const SXCM_INT_ATTRS: [Attr; 3] = [
    NF,
    optional("value", &INT_S),
    optional("operator", &SET_OPERATOR),
];
static SXCM_INT: Complex = derived_empty("SXCM_INT", &INT, &SXCM_INT_ATTRS);
const SXCM_REAL_ATTRS: [Attr; 3] = [
    NF,
    optional("value", &REAL_S),
    optional("operator", &SET_OPERATOR),
];
static SXCM_REAL: Complex = derived_empty("SXCM_REAL", &REAL, &SXCM_REAL_ATTRS);
static IVXB_INT: Complex = derived_empty(
    "IVXB_INT",
    &INT,
    &[NF, optional("value", &INT_S), optional("inclusive", &BL_S)],
);
static IVL_INT: Complex = derived(
    "IVL_INT",
    &SXCM_INT,
    &seq(&[interval_choice!(&IVXB_INT, &INT, &INT)]),
    &SXCM_INT_ATTRS,
);
static IVXB_REAL: Complex = derived_empty(
    "IVXB_REAL",
    &REAL,
    &[NF, optional("value", &REAL_S), optional("inclusive", &BL_S)],
);
static IVL_REAL: Complex = derived(
    "IVL_REAL",
    &SXCM_REAL,
    &seq(&[interval_choice!(&IVXB_REAL, &REAL, &REAL)]),
    &SXCM_REAL_ATTRS,
);
static IVXB_MO: Complex = derived_empty(
    "IVXB_MO",
    &MO,
    &[
        NF,
        optional("value", &REAL_S),
        optional("currency", &CS),
        optional("inclusive", &BL_S),
    ],
);
static IVL_MO: Complex = derived(
    "IVL_MO",
    &SXCM_MO,
    &seq(&[interval_choice!(&IVXB_MO, &MO, &MO)]),
    &SXCM_MO_ATTRS,
);
static HXIT_PQ: Complex = derived(
    "HXIT_PQ",
    &PQ,
    &seq(&[many(&el("translation", c(&PQR))), opt(&E_VALID_TIME)]),
    &PQ_ATTRS,
);
static HXIT_CE: Complex = derived(
    "HXIT_CE",
    &CE,
    &seq(&[
        opt(&E_ORIGINAL_TEXT),
        many(&E_TRANSLATION_CD),
        opt(&E_VALID_TIME),
    ]),
    &CD_ATTRS,
);
static BXIT_CD: Complex = derived(
    "BXIT_CD",
    &CD,
    &CD_MODEL,
    &[
        NF,
        optional("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
        optional("qty", &INT_S),
    ],
);
static BXIT_IVL_PQ: Complex = derived(
    "BXIT_IVL_PQ",
    &IVL_PQ,
    &IVL_PQ_MODEL,
    &[
        NF,
        optional("value", &REAL_S),
        optional("unit", &CS),
        optional("operator", &SET_OPERATOR),
        optional("qty", &INT_S),
    ],
);
static E_DIGITS: Element = el("digits", TypeRef::Simple(&LIST_INT));
static SLIST_PQ: Complex = derived(
    "SLIST_PQ",
    &ANY,
    &seq(&[
        one(&el("origin", c(&PQ))),
        one(&el("scale", c(&PQ))),
        one(&E_DIGITS),
    ]),
    &[NF],
);
static SLIST_TS: Complex = derived(
    "SLIST_TS",
    &ANY,
    &seq(&[
        one(&el("origin", c(&TS))),
        one(&el("scale", c(&PQ))),
        one(&E_DIGITS),
    ]),
    &[NF],
);
const GLIST_ATTRS: [Attr; 3] = [
    NF,
    optional("period", &INT_S),
    optional("denominator", &INT_S),
];
static GLIST_TS: Complex = derived(
    "GLIST_TS",
    &ANY,
    &seq(&[one(&el("head", c(&TS))), one(&el("increment", c(&PQ)))]),
    &GLIST_ATTRS,
);
static GLIST_PQ: Complex = derived(
    "GLIST_PQ",
    &ANY,
    &seq(&[one(&el("head", c(&PQ))), one(&el("increment", c(&PQ)))]),
    &GLIST_ATTRS,
);
static RTO_PQ_PQ: Complex = derived(
    "RTO_PQ_PQ",
    &QTY,
    &seq(&[
        one(&el("numerator", c(&PQ))),
        one(&el("denominator", c(&PQ))),
    ]),
    &[NF],
);
static RTO_MO_PQ: Complex = derived(
    "RTO_MO_PQ",
    &QTY,
    &seq(&[
        one(&el("numerator", c(&MO))),
        one(&el("denominator", c(&PQ))),
    ]),
    &[NF],
);
static UVP_TS: Complex = derived_empty(
    "UVP_TS",
    &TS,
    &[
        NF,
        optional("value", &TS_S),
        optional("probability", &PROBABILITY),
    ],
);

// ---------------------------------------------------------------------------------------------
// Narrative block (section text)
// ---------------------------------------------------------------------------------------------

const fn narrative(
    name: &'static str,
    mixed: bool,
    model: &'static Particle,
    attrs: &'static [Attr],
) -> Complex {
    Complex {
        name,
        attrs,
        content: Content::Elements { model, mixed },
        is_abstract: false,
        base: None,
    }
}

static ALIGN: Simple = tokens("align", &["center", "char", "justify", "left", "right"]);
static VALIGN: Simple = tokens("valign", &["baseline", "bottom", "middle", "top"]);
static LIST_TYPE: Simple = tokens("listType", &["ordered", "unordered"]);
static REVISED: Simple = tokens("revised", &["delete", "insert"]);
static SCOPE: Simple = tokens("scope", &["col", "colgroup", "row", "rowgroup"]);
static FRAME: Simple = tokens(
    "frame",
    &[
        "above", "below", "border", "box", "hsides", "lhs", "rhs", "vsides", "void",
    ],
);
static RULES: Simple = tokens("rules", &["all", "cols", "groups", "none", "rows"]);

const A_ID: Attr = optional("ID", &XS_ID);
const A_LANGUAGE: Attr = optional("language", &XS_NMTOKEN);
const A_STYLE: Attr = optional("styleCode", &XS_NMTOKENS);
const COMMON: [Attr; 3] = [A_ID, A_LANGUAGE, A_STYLE];
const CELL_ALIGN: [Attr; 7] = [
    A_ID,
    A_LANGUAGE,
    A_STYLE,
    optional("align", &ALIGN),
    optional("char", &XS_STRING),
    optional("charoff", &XS_STRING),
    optional("valign", &VALIGN),
];
const CELL_ATTRS: [Attr; 13] = [
    A_ID,
    A_LANGUAGE,
    A_STYLE,
    optional("abbr", &XS_STRING),
    optional("axis", &XS_STRING),
    optional("headers", &XS_IDREFS),
    optional("scope", &SCOPE),
    optional("rowspan", &XS_STRING),
    optional("colspan", &XS_STRING),
    optional("align", &ALIGN),
    optional("char", &XS_STRING),
    optional("charoff", &XS_STRING),
    optional("valign", &VALIGN),
];
const COL_ATTRS: [Attr; 9] = [
    A_ID,
    A_LANGUAGE,
    A_STYLE,
    optional("span", &XS_STRING),
    optional("width", &XS_STRING),
    optional("align", &ALIGN),
    optional("char", &XS_STRING),
    optional("charoff", &XS_STRING),
    optional("valign", &VALIGN),
];

static N_CONTENT: Element = el("content", c(&SD_CONTENT));
static N_LINK_HTML: Element = el("linkHtml", c(&SD_LINK_HTML));
static N_SUB: Element = el("sub", c(&SD_SUB));
static N_SUP: Element = el("sup", c(&SD_SUP));
static N_BR: Element = el("br", c(&SD_BR));
static N_FOOTNOTE: Element = el("footnote", c(&SD_FOOTNOTE));
static N_FOOTNOTE_REF: Element = el("footnoteRef", c(&SD_FOOTNOTE_REF));
static N_RENDER_MULTIMEDIA: Element = el("renderMultiMedia", c(&SD_RENDER_MULTIMEDIA));
static N_PARAGRAPH: Element = el("paragraph", c(&SD_PARAGRAPH));
static N_LIST: Element = el("list", c(&SD_LIST));
static N_TABLE: Element = el("table", c(&SD_TABLE));
static N_CAPTION: Element = el("caption", c(&SD_CAPTION));
static N_TITLE_CONTENT: Element = el("content", c(&SD_TITLE_CONTENT));
static N_TITLE_FOOTNOTE: Element = el("footnote", c(&SD_TITLE_FOOTNOTE));

/// Inline and block content of paragraphs, items and footnotes.
static FLOW_PARTS: [Particle; 11] = [
    one(&N_CONTENT),
    one(&N_LINK_HTML),
    one(&N_SUB),
    one(&N_SUP),
    one(&N_BR),
    one(&N_FOOTNOTE),
    one(&N_FOOTNOTE_REF),
    one(&N_RENDER_MULTIMEDIA),
    one(&N_PARAGRAPH),
    one(&N_LIST),
    one(&N_TABLE),
];
static FLOW: Particle = choice(0, UNBOUNDED, &FLOW_PARTS);
static INLINE: Particle = choice(
    0,
    UNBOUNDED,
    &[
        one(&N_CONTENT),
        one(&N_LINK_HTML),
        one(&N_SUB),
        one(&N_SUP),
        one(&N_BR),
        one(&N_FOOTNOTE),
        one(&N_FOOTNOTE_REF),
        one(&N_RENDER_MULTIMEDIA),
    ],
);

/// Section text (StrucDoc.Text).
static SD_TEXT: Complex = narrative(
    "StrucDoc.Text",
    true,
    &FLOW,
    &[
        A_ID,
        A_LANGUAGE,
        A_STYLE,
        fixed("mediaType", &XS_STRING, "text/x-hl7-text+xml"),
    ],
);
static SD_TITLE: Complex = narrative(
    "StrucDoc.Title",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[
            one(&N_TITLE_CONTENT),
            one(&N_SUB),
            one(&N_SUP),
            one(&N_BR),
            one(&N_TITLE_FOOTNOTE),
            one(&N_FOOTNOTE_REF),
        ],
    ),
    &[
        A_ID,
        A_LANGUAGE,
        A_STYLE,
        fixed("mediaType", &XS_STRING, "text/x-hl7-title+xml"),
    ],
);
static SD_BR: Complex = attrs_only("StrucDoc.Br", &[]);
static SD_CAPTION: Complex = narrative(
    "StrucDoc.Caption",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[
            one(&N_LINK_HTML),
            one(&N_SUB),
            one(&N_SUP),
            one(&N_FOOTNOTE),
            one(&N_FOOTNOTE_REF),
        ],
    ),
    &COMMON,
);
static SD_COL: Complex = attrs_only("StrucDoc.Col", &COL_ATTRS);
static SD_COLGROUP: Complex = narrative(
    "StrucDoc.Colgroup",
    false,
    &Particle {
        min: 0,
        max: UNBOUNDED,
        term: Term::Seq(&[one(&el("col", c(&SD_COL)))]),
        when: When::ALWAYS,
    },
    &COL_ATTRS,
);
static SD_CONTENT: Complex = narrative(
    "StrucDoc.Content",
    true,
    &INLINE,
    &[A_ID, A_LANGUAGE, A_STYLE, optional("revised", &REVISED)],
);
static SD_TITLE_CONTENT: Complex = narrative(
    "StrucDoc.TitleContent",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[
            one(&N_TITLE_CONTENT),
            one(&N_SUB),
            one(&N_SUP),
            one(&N_BR),
            one(&N_TITLE_FOOTNOTE),
            one(&N_FOOTNOTE_REF),
        ],
    ),
    &COMMON,
);
static SD_FOOTNOTE: Complex = narrative(
    "StrucDoc.Footnote",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[
            one(&N_CONTENT),
            one(&N_LINK_HTML),
            one(&N_SUB),
            one(&N_SUP),
            one(&N_BR),
            one(&N_RENDER_MULTIMEDIA),
            one(&N_PARAGRAPH),
            one(&N_LIST),
            one(&N_TABLE),
        ],
    ),
    &COMMON,
);
static SD_TITLE_FOOTNOTE: Complex = narrative(
    "StrucDoc.TitleFootnote",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[one(&N_TITLE_CONTENT), one(&N_SUB), one(&N_SUP), one(&N_BR)],
    ),
    &COMMON,
);
static SD_FOOTNOTE_REF: Complex = attrs_only(
    "StrucDoc.FootnoteRef",
    &[A_ID, A_LANGUAGE, A_STYLE, req("IDREF", &XS_IDREF)],
);
static SD_ITEM: Complex = narrative(
    "StrucDoc.Item",
    true,
    &seq(&[opt(&N_CAPTION), choice(0, UNBOUNDED, &FLOW_PARTS)]),
    &COMMON,
);
static SD_LINK_HTML: Complex = narrative(
    "StrucDoc.LinkHtml",
    true,
    &choice(0, UNBOUNDED, &[one(&N_FOOTNOTE), one(&N_FOOTNOTE_REF)]),
    &[
        optional("name", &XS_STRING),
        optional("href", &XS_STRING),
        optional("rel", &XS_STRING),
        optional("rev", &XS_STRING),
        optional("title", &XS_STRING),
        A_ID,
        A_LANGUAGE,
        A_STYLE,
    ],
);
static SD_LIST: Complex = narrative(
    "StrucDoc.List",
    false,
    &seq(&[opt(&N_CAPTION), some(&el("item", c(&SD_ITEM)))]),
    &[A_ID, A_LANGUAGE, A_STYLE, optional("listType", &LIST_TYPE)],
);
static SD_PARAGRAPH: Complex = narrative(
    "StrucDoc.Paragraph",
    true,
    &seq(&[
        opt(&N_CAPTION),
        choice(
            0,
            UNBOUNDED,
            &[
                one(&N_CONTENT),
                one(&N_LINK_HTML),
                one(&N_SUB),
                one(&N_SUP),
                one(&N_BR),
                one(&N_FOOTNOTE),
                one(&N_FOOTNOTE_REF),
                one(&N_RENDER_MULTIMEDIA),
            ],
        ),
    ]),
    &COMMON,
);
static SD_RENDER_MULTIMEDIA: Complex = narrative(
    "StrucDoc.RenderMultiMedia",
    false,
    &seq(&[opt(&N_CAPTION)]),
    &[
        req("referencedObject", &XS_IDREFS),
        A_ID,
        A_LANGUAGE,
        A_STYLE,
    ],
);
static SD_SUB: Complex = narrative("StrucDoc.Sub", true, &NOTHING, &[]);
static SD_SUP: Complex = narrative("StrucDoc.Sup", true, &NOTHING, &[]);
static N_TR: Element = el("tr", c(&SD_TR));
static ROWS: Particle = Particle {
    min: 1,
    max: UNBOUNDED,
    term: Term::Seq(&[one(&N_TR)]),
    when: When::ALWAYS,
};
static SD_TABLE: Complex = narrative(
    "StrucDoc.Table",
    false,
    &seq(&[
        opt(&N_CAPTION),
        choice(
            1,
            1,
            &[
                many(&el("col", c(&SD_COL))),
                many(&el("colgroup", c(&SD_COLGROUP))),
            ],
        ),
        opt(&el("thead", c(&SD_THEAD))),
        opt(&el("tfoot", c(&SD_TFOOT))),
        some(&el("tbody", c(&SD_TBODY))),
    ]),
    &[
        A_ID,
        A_LANGUAGE,
        A_STYLE,
        optional("summary", &XS_STRING),
        optional("width", &XS_STRING),
        optional("border", &XS_STRING),
        optional("frame", &FRAME),
        optional("rules", &RULES),
        optional("cellspacing", &XS_STRING),
        optional("cellpadding", &XS_STRING),
    ],
);
static SD_TBODY: Complex = narrative("StrucDoc.Tbody", false, &ROWS, &CELL_ALIGN);
static SD_THEAD: Complex = narrative("StrucDoc.Thead", false, &ROWS, &CELL_ALIGN);
static SD_TFOOT: Complex = narrative("StrucDoc.Tfoot", false, &ROWS, &CELL_ALIGN);
static SD_TR: Complex = narrative(
    "StrucDoc.Tr",
    false,
    &choice(
        1,
        UNBOUNDED,
        &[one(&el("th", c(&SD_TH))), one(&el("td", c(&SD_TD)))],
    ),
    &CELL_ALIGN,
);
static SD_TD: Complex = narrative(
    "StrucDoc.Td",
    true,
    &choice(
        0,
        UNBOUNDED,
        &[
            one(&N_CONTENT),
            one(&N_LINK_HTML),
            one(&N_SUB),
            one(&N_SUP),
            one(&N_BR),
            one(&N_FOOTNOTE),
            one(&N_FOOTNOTE_REF),
            one(&N_RENDER_MULTIMEDIA),
            one(&N_PARAGRAPH),
            one(&N_LIST),
        ],
    ),
    &CELL_ATTRS,
);
static SD_TH: Complex = narrative("StrucDoc.Th", true, &INLINE, &CELL_ATTRS);

// ---------------------------------------------------------------------------------------------
// The CDA document (POCD_MT000040 as cut down by MHLW)
// ---------------------------------------------------------------------------------------------

const fn doc_type(name: &'static str, model: &'static Particle, attrs: &'static [Attr]) -> Complex {
    elements(name, model, attrs)
}

const BL_TRUE: Attr = fixed("contextConductionInd", &BL_S, "true");

static E_REALM_CODE: Element = el("realmCode", c(&CS_T));
static E_TYPE_ID: Element = el("typeId", c(&TYPE_ID));
static E_TEMPLATE_ID: Element = el("templateId", c(&II));
static E_ID: Element = el("id", c(&II));
static E_CODE_CE: Element = el("code", c(&CE));
static E_CODE_CD: Element = el("code", c(&CD));
static E_TELECOM: Element = el("telecom", c(&TEL));
static E_ADDR: Element = el("addr", c(&AD));
static E_PERSON_NAME: Element = el("name", c(&PN));
static E_TIME_IVL: Element = el("time", c(&IVL_TS));
static E_TEXT_ED: Element = el("text", c(&ED));
static E_STATUS_CODE: Element = el("statusCode", c(&CS_T));
static E_EFFECTIVE_TIME_IVL: Element = el("effectiveTime", c(&IVL_TS));
static E_SPECIMEN: Element = el("specimen", c(&SPECIMEN));
static E_PERFORMER2: Element = el("performer", c(&PERFORMER2));
static E_AUTHOR: Element = el("author", c(&AUTHOR));
static E_PARTICIPANT2: Element = el("participant", c(&PARTICIPANT2));
static E_ENTRY_RELATIONSHIP: Element = el("entryRelationship", c(&ENTRY_RELATIONSHIP));
static E_OBSERVATION: Element = el("observation", c(&OBSERVATION));
static E_ACT: Element = el("act", c(&ACT));
static E_ORGANIZER: Element = el("organizer", c(&ORGANIZER));
static E_ORGANIZATION: Element = el("representedOrganization", c(&ORGANIZATION));
static E_ASSIGNED_PERSON: Element = el("assignedPerson", c(&PERSON));
static E_ASSIGNED_ENTITY: Element = el("assignedEntity", c(&ASSIGNED_ENTITY));
static E_SEQUENCE_NUMBER: Element = el("sequenceNumber", c(&INT));
static E_SEPARATABLE: Element = el("seperatableInd", c(&BL));

// The leading realmCode / typeId / templateId block of many CDA classes.
const REALM: Particle = many(&E_REALM_CODE);
const TYPE_ID_OPT: Particle = opt(&E_TYPE_ID);
const TEMPLATES: Particle = many(&E_TEMPLATE_ID);

/// typeId: the CDA message type, root fixed to HL7's OID.
static TYPE_ID: Complex = derived_empty(
    "POCD_MT000040.InfrastructureRoot.typeId",
    &II,
    &[
        NF,
        req_fixed("root", &UID, "2.16.840.1.113883.1.3"),
        req("extension", &ST_S),
        optional("assigningAuthorityName", &ST_S),
        optional("displayable", &BL_S),
    ],
);

static ASSIGNED_AUTHOR: Complex = doc_type(
    "POCD_MT000040.AssignedAuthor",
    &seq(&[
        some(&E_ID),
        opt(&E_CODE_CE),
        many(&E_TELECOM),
        choice(
            1,
            1,
            &[
                opt(&E_ASSIGNED_PERSON),
                opt(&el("assignedAuthoringDevice", c(&AUTHORING_DEVICE))),
            ],
        ),
        opt(&E_ORGANIZATION),
    ]),
    &[NF, fixed("classCode", &CS, "ASSIGNED")],
);
static ASSIGNED_CUSTODIAN: Complex = doc_type(
    "POCD_MT000040.AssignedCustodian",
    &seq(&[one(&el(
        "representedCustodianOrganization",
        c(&CUSTODIAN_ORGANIZATION),
    ))]),
    &[NF, fixed("classCode", &CS, "ASSIGNED")],
);
static ASSIGNED_ENTITY: Complex = doc_type(
    "POCD_MT000040.AssignedEntity",
    &seq(&[
        some(&E_ID),
        opt(&E_CODE_CE),
        many(&E_TELECOM),
        opt(&E_ASSIGNED_PERSON),
        opt(&E_ORGANIZATION),
    ]),
    &[NF, fixed("classCode", &CS, "ASSIGNED")],
);
/// hg08: the ticket id under associatedEntity is a type of its own (not an II).
static TICKET_ID: Complex = attrs_only(
    "(hg08 associatedEntity id)",
    &[optional("extension", &ST_S), optional("root", &TICKET_ROOT)],
);
static ASSOCIATED_ENTITY: Complex = doc_type(
    "POCD_MT000040.AssociatedEntity",
    &seq(&[
        when(many(&E_ID), When::ONLY_HC),
        when(many(&el("id", c(&TICKET_ID))), When::ONLY_HG),
        opt(&E_CODE_CE),
        many(&E_TELECOM),
        opt(&el("associatedPerson", c(&PERSON))),
        opt(&el("scopingOrganization", c(&ORGANIZATION))),
    ]),
    &[NF, req("classCode", &CS)],
);
static AUTHOR: Complex = doc_type(
    "POCD_MT000040.Author",
    &seq(&[
        one(&el("time", c(&TS))),
        one(&el("assignedAuthor", c(&ASSIGNED_AUTHOR))),
    ]),
    &[
        NF,
        fixed("typeCode", &CS, "AUT"),
        fixed("contextControlCode", &CS, "OP"),
    ],
);
static AUTHORING_DEVICE: Complex = doc_type(
    "POCD_MT000040.AuthoringDevice",
    &seq(&[opt(&E_CODE_CE), opt(&el("softwareName", c(&SC)))]),
    &[
        NF,
        fixed("classCode", &CS, "DEV"),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);

/// hc08: templateId restricted to the MHLW template OID.
static TEMPLATE_ID_HC: Complex = derived_empty(
    "(hc08 templateId)",
    &II,
    &[
        NF,
        req("extension", &ST_S),
        req_fixed("root", &UID, "1.2.392.200119.6.1009"),
        optional("assigningAuthorityName", &ST_S),
        optional("displayable", &BL_S),
    ],
);
/// 報告区分: code required, code system fixed.
static DOCUMENT_CODE: Complex = derived_empty(
    "(ClinicalDocument code)",
    &CD,
    &[
        NF,
        req("code", &CS),
        fixed("codeSystem", &UID, "1.2.392.200119.6.1001"),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
static LANGUAGE_CODE_HC: Complex = derived_empty(
    "(hc08 languageCode)",
    &CS_T,
    &[NF, fixed("code", &CS, "ja-JP")],
);
static LANGUAGE_CODE_HG: Complex =
    derived_empty("(hg08 languageCode)", &CS_T, &[NF, optional("code", &CS)]);

static CLINICAL_DOCUMENT: Complex = doc_type(
    "POCD_MT000040.ClinicalDocument",
    &seq(&[
        many(&E_REALM_CODE),
        one(&E_TYPE_ID),
        when(many(&el("templateId", c(&TEMPLATE_ID_HC))), When::ONLY_HC),
        when(many(&E_TEMPLATE_ID), When::ONLY_HG),
        one(&E_ID),
        opt(&el("code", c(&DOCUMENT_CODE))),
        opt(&el("title", c(&ST))),
        one(&el("effectiveTime", c(&TS))),
        one(&el("confidentialityCode", c(&CE))),
        when(
            opt(&el("languageCode", c(&LANGUAGE_CODE_HC))),
            When::ONLY_HC,
        ),
        when(
            opt(&el("languageCode", c(&LANGUAGE_CODE_HG))),
            When::ONLY_HG,
        ),
        some(&el("recordTarget", c(&RECORD_TARGET))),
        some(&E_AUTHOR),
        opt(&el("dataEnterer", c(&DATA_ENTERER))),
        one(&el("custodian", c(&CUSTODIAN))),
        many(&el("informationRecipient", c(&INFORMATION_RECIPIENT))),
        when(many(&el("participant", c(&PARTICIPANT1))), When::ONLY_HC),
        when(
            occ(&el("participant", c(&PARTICIPANT1)), 0, 2),
            When::ONLY_HG,
        ),
        when(
            many(&el("documentationOf", c(&DOCUMENTATION_OF))),
            When::ONLY_HC,
        ),
        when(
            some(&el("documentationOf", c(&DOCUMENTATION_OF))),
            When::ONLY_HG,
        ),
        one(&el("component", c(&COMPONENT2))),
    ]),
    &[
        NF,
        fixed("classCode", &CS, "DOCCLIN"),
        fixed("moodCode", &CS, "EVN"),
    ],
);
static COMPONENT2: Complex = doc_type(
    "POCD_MT000040.Component2",
    &seq(&[one(&el("structuredBody", c(&STRUCTURED_BODY)))]),
    &[NF, fixed("typeCode", &CS, "COMP"), BL_TRUE],
);
static COMPONENT3: Complex = doc_type(
    "POCD_MT000040.Component3",
    &seq(&[one(&el("section", c(&SECTION)))]),
    &[NF, fixed("typeCode", &CS, "COMP"), BL_TRUE],
);
static COMPONENT4: Complex = doc_type(
    "POCD_MT000040.Component4",
    &seq(&[
        opt(&E_SEQUENCE_NUMBER),
        opt(&E_SEPARATABLE),
        one(&E_OBSERVATION),
    ]),
    &[NF, fixed("typeCode", &CS, "COMP"), BL_TRUE],
);
static CUSTODIAN: Complex = doc_type(
    "POCD_MT000040.Custodian",
    &seq(&[one(&el("assignedCustodian", c(&ASSIGNED_CUSTODIAN)))]),
    &[NF, fixed("typeCode", &CS, "CST")],
);
static CUSTODIAN_ORGANIZATION: Complex = doc_type(
    "POCD_MT000040.CustodianOrganization",
    &seq(&[
        some(&E_ID),
        opt(&el("name", c(&ON))),
        opt(&E_TELECOM),
        opt(&E_ADDR),
    ]),
    &[
        NF,
        fixed("classCode", &CS, "ORG"),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);
static DATA_ENTERER: Complex = doc_type(
    "POCD_MT000040.DataEnterer",
    &seq(&[opt(&el("time", c(&TS))), one(&E_ASSIGNED_ENTITY)]),
    &[
        NF,
        fixed("typeCode", &CS, "ENT"),
        fixed("contextControlCode", &CS, "OP"),
    ],
);
static DOCUMENTATION_OF: Complex = doc_type(
    "POCD_MT000040.DocumentationOf",
    &seq(&[one(&el("serviceEvent", c(&SERVICE_EVENT)))]),
    &[NF, fixed("typeCode", &CS, "DOC")],
);
static ENTITY: Complex = doc_type(
    "POCD_MT000040.Entity",
    &seq(&[
        many(&E_REALM_CODE),
        opt(&E_TYPE_ID),
        many(&E_TEMPLATE_ID),
        many(&E_ID),
        opt(&E_CODE_CE),
        opt(&el("desc", c(&ED))),
    ]),
    &[
        NF,
        optional("classCode", &ENTITY_CLASS_ROOT),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);
/// One entry: hc08 allows observations only, hg08 also acts and organizers.
static ENTRY: Complex = doc_type(
    "POCD_MT000040.Entry",
    &seq(&[choice(
        1,
        1,
        &[
            when(one(&E_ACT), When::ONLY_HG),
            one(&E_OBSERVATION),
            when(one(&E_ORGANIZER), When::ONLY_HG),
        ],
    )]),
    &[NF, optional("typeCode", &X_ENTRY), BL_TRUE],
);
static ENTRY_RELATIONSHIP: Complex = doc_type(
    "POCD_MT000040.EntryRelationship",
    &seq(&[
        opt(&E_SEQUENCE_NUMBER),
        opt(&E_SEPARATABLE),
        choice(
            1,
            1,
            &[
                when(one(&E_ACT), When::ONLY_HG),
                one(&E_OBSERVATION),
                when(one(&E_ORGANIZER), When::ONLY_HG),
            ],
        ),
    ]),
    &[
        NF,
        req("typeCode", &X_ENTRY_RELATIONSHIP),
        optional("inversionInd", &BL_S),
        optional("contextConductionInd", &BL_S),
        optional("negationInd", &BL_S),
    ],
);
static INFORMATION_RECIPIENT: Complex = doc_type(
    "POCD_MT000040.InformationRecipient",
    &seq(&[one(&el("intendedRecipient", c(&INTENDED_RECIPIENT)))]),
    &[NF, optional("typeCode", &X_INFORMATION_RECIPIENT)],
);
static INTENDED_RECIPIENT: Complex = doc_type(
    "POCD_MT000040.IntendedRecipient",
    &seq(&[
        many(&E_ID),
        many(&E_ADDR),
        many(&E_TELECOM),
        opt(&el("informationRecipient", c(&PERSON))),
        opt(&el("receivedOrganization", c(&ORGANIZATION))),
    ]),
    &[NF, optional("classCode", &X_INFORMATION_RECIPIENT_ROLE)],
);

/// hc08 observation code: a CD whose code system defaults to the item-code OID.
static OBSERVATION_CODE_HC: Complex = derived("(hc08 observation code)", &CD, &CD_MODEL, &CD_ATTRS);
/// hg08 observation code: code required, no child elements.
static OBSERVATION_CODE_HG: Complex = derived_empty(
    "(hg08 observation code)",
    &CD,
    &[
        NF,
        req("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
/// hc08 method code: code required, no child elements.
static METHOD_CODE_HC: Complex = derived_empty(
    "(hc08 methodCode)",
    &CE,
    &[
        NF,
        req("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
static OBSERVATION: Complex = doc_type(
    "POCD_MT000040.Observation",
    &seq(&[
        many(&E_ID),
        when(one(&el("code", c(&OBSERVATION_CODE_HC))), When::ONLY_HC),
        when(one(&el("code", c(&OBSERVATION_CODE_HG))), When::ONLY_HG),
        opt(&E_TEXT_ED),
        opt(&E_STATUS_CODE),
        opt(&E_EFFECTIVE_TIME_IVL),
        many(&el("value", c(&ANY))),
        many(&el("interpretationCode", c(&CE))),
        when(many(&el("methodCode", c(&METHOD_CODE_HC))), When::ONLY_HC),
        when(many(&el("methodCode", c(&CE))), When::ONLY_HG),
        many(&el("targetSiteCode", c(&CD))),
        many(&E_SPECIMEN),
        many(&E_PERFORMER2),
        many(&E_AUTHOR),
        many(&E_PARTICIPANT2),
        many(&E_ENTRY_RELATIONSHIP),
        many(&el("referenceRange", c(&REFERENCE_RANGE))),
    ]),
    &[
        NF,
        req("classCode", &ACT_CLASS_OBSERVATION),
        req("moodCode", &X_MOOD_DOCUMENT_OBSERVATION),
        optional("negationInd", &BL_S),
    ],
);
static OBSERVATION_RANGE: Complex = doc_type(
    "POCD_MT000040.ObservationRange",
    &seq(&[
        opt(&E_CODE_CD),
        opt(&E_TEXT_ED),
        opt(&el("value", c(&ANY))),
        opt(&el("interpretationCode", c(&CE))),
    ]),
    &[
        NF,
        optional("classCode", &ACT_CLASS_OBSERVATION),
        fixed("moodCode", &CS, "EVN.CRT"),
    ],
);
/// Organization. The schema's third attribute is named `determiner` plus a line break and
/// tabs, which no document can carry: it is left out.
static ORGANIZATION: Complex = doc_type(
    "POCD_MT000040.Organization",
    &seq(&[
        many(&E_ID),
        many(&el("name", c(&ON))),
        many(&E_TELECOM),
        many(&E_ADDR),
    ]),
    &[NF, fixed("classCode", &CS, "ORG")],
);
static PARTICIPANT1: Complex = doc_type(
    "POCD_MT000040.Participant1",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        opt(&el("functionCode", c(&CE))),
        opt(&E_TIME_IVL),
        one(&el("associatedEntity", c(&ASSOCIATED_ENTITY))),
    ]),
    &[
        NF,
        req("typeCode", &PARTICIPATION_TYPE),
        fixed("contextControlCode", &CS, "OP"),
    ],
);
static PARTICIPANT2: Complex = doc_type(
    "POCD_MT000040.Participant2",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        opt(&E_TIME_IVL),
        opt(&el("awarenessCode", c(&CE))),
        one(&el("participantRole", c(&PARTICIPANT_ROLE))),
    ]),
    &[
        NF,
        req("typeCode", &PARTICIPATION_TYPE),
        fixed("contextControlCode", &CS, "OP"),
    ],
);
static PARTICIPANT_ROLE: Complex = doc_type(
    "POCD_MT000040.ParticipantRole",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        many(&E_ID),
        opt(&E_CODE_CE),
        many(&E_ADDR),
        many(&E_TELECOM),
        choice(1, 1, &[opt(&el("playingEntity", c(&PLAYING_ENTITY)))]),
        opt(&el("scopingEntity", c(&ENTITY))),
    ]),
    &[NF, optional("classCode", &CS)],
);
static PATIENT: Complex = doc_type(
    "POCD_MT000040.Patient",
    &seq(&[
        opt(&E_PERSON_NAME),
        opt(&el("administrativeGenderCode", c(&CE))),
        opt(&el("birthTime", c(&TS))),
    ]),
    &[
        NF,
        fixed("classCode", &CS, "PSN"),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);
static PATIENT_ROLE: Complex = doc_type(
    "POCD_MT000040.PatientRole",
    &seq(&[
        some(&E_ID),
        many(&E_ADDR),
        many(&E_TELECOM),
        opt(&el("patient", c(&PATIENT))),
        opt(&el("providerOrganization", c(&ORGANIZATION))),
    ]),
    &[NF, fixed("classCode", &CS, "PAT")],
);
static PERFORMER1: Complex = doc_type(
    "POCD_MT000040.Performer1",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        opt(&el("functionCode", c(&CE))),
        opt(&E_TIME_IVL),
        one(&E_ASSIGNED_ENTITY),
    ]),
    &[NF, req("typeCode", &X_SERVICE_EVENT_PERFORMER)],
);
static PERFORMER2: Complex = doc_type(
    "POCD_MT000040.Performer2",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        opt(&E_TIME_IVL),
        opt(&el("modeCode", c(&CE))),
        one(&E_ASSIGNED_ENTITY),
    ]),
    &[NF, fixed("typeCode", &CS, "PRF")],
);
static PERSON: Complex = doc_type(
    "POCD_MT000040.Person",
    &seq(&[many(&E_PERSON_NAME)]),
    &[
        NF,
        fixed("classCode", &CS, "PSN"),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);
static PLAYING_ENTITY: Complex = doc_type(
    "POCD_MT000040.PlayingEntity",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        opt(&E_CODE_CE),
        many(&el("quantity", c(&PQ))),
        many(&E_PERSON_NAME),
        opt(&el("desc", c(&ED))),
    ]),
    &[
        NF,
        optional("classCode", &ENTITY_CLASS_ROOT),
        fixed("determinerCode", &CS, "INSTANCE"),
    ],
);
static RECORD_TARGET: Complex = doc_type(
    "POCD_MT000040.RecordTarget",
    &seq(&[one(&el("patientRole", c(&PATIENT_ROLE)))]),
    &[
        NF,
        fixed("typeCode", &CS, "RCT"),
        fixed("contextControlCode", &CS, "OP"),
    ],
);
static REFERENCE_RANGE: Complex = doc_type(
    "POCD_MT000040.ReferenceRange",
    &seq(&[one(&el("observationRange", c(&OBSERVATION_RANGE)))]),
    &[NF, fixed("typeCode", &CS, "REFV")],
);
/// hg08 section code: required, code required, no child elements.
static SECTION_CODE_HG: Complex = derived_empty(
    "(hg08 section code)",
    &CD,
    &[
        NF,
        req("code", &CS),
        optional("codeSystem", &UID),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
static SECTION: Complex = doc_type(
    "POCD_MT000040.Section",
    &seq(&[
        opt(&E_ID),
        when(opt(&E_CODE_CE), When::ONLY_HC),
        when(one(&el("code", c(&SECTION_CODE_HG))), When::ONLY_HG),
        opt(&el("title", c(&ST))),
        opt(&el("text", c(&SD_TEXT))),
        many(&E_AUTHOR),
        many(&el("entry", c(&ENTRY))),
    ]),
    &[
        optional("ID", &XS_ID),
        NF,
        fixed("classCode", &CS, "DOCSECT"),
        fixed("moodCode", &CS, "EVN"),
    ],
);
/// 健診プログラム種別 (hc08): code required, code system fixed, no child elements.
static SERVICE_EVENT_CODE_HC: Complex = derived_empty(
    "(hc08 serviceEvent code)",
    &CD,
    &[
        NF,
        req("code", &CS),
        fixed("codeSystem", &UID, "1.2.392.200119.6.1002"),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
/// 保健指導プログラム種別 (hg08): as hc08 but translations allowed.
static SERVICE_EVENT_CODE_HG: Complex = derived(
    "(hg08 serviceEvent code)",
    &CE,
    &seq(&[
        last(&E_ORIGINAL_TEXT),
        last(&E_QUALIFIER),
        many(&E_TRANSLATION_CD),
    ]),
    &[
        NF,
        req("code", &CS),
        fixed("codeSystem", &UID, "1.2.392.200119.6.1002"),
        optional("codeSystemName", &ST_S),
        optional("codeSystemVersion", &ST_S),
        optional("displayName", &ST_S),
    ],
);
static SERVICE_EVENT: Complex = doc_type(
    "POCD_MT000040.ServiceEvent",
    &seq(&[
        many(&E_ID),
        when(opt(&el("code", c(&SERVICE_EVENT_CODE_HC))), When::ONLY_HC),
        when(opt(&el("code", c(&SERVICE_EVENT_CODE_HG))), When::ONLY_HG),
        opt(&E_EFFECTIVE_TIME_IVL),
        many(&el("performer", c(&PERFORMER1))),
    ]),
    &[
        NF,
        optional("classCode", &ACT_CLASS_ROOT),
        fixed("moodCode", &CS, "EVN"),
    ],
);
static SPECIMEN: Complex = doc_type(
    "POCD_MT000040.Specimen",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        one(&el("specimenRole", c(&SPECIMEN_ROLE))),
    ]),
    &[NF, fixed("typeCode", &CS, "SPC")],
);
static SPECIMEN_ROLE: Complex = doc_type(
    "POCD_MT000040.SpecimenRole",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        many(&E_ID),
        opt(&el("specimenPlayingEntity", c(&PLAYING_ENTITY))),
    ]),
    &[NF, fixed("classCode", &CS, "SPEC")],
);
static STRUCTURED_BODY: Complex = doc_type(
    "POCD_MT000040.StructuredBody",
    &seq(&[some(&el("component", c(&COMPONENT3)))]),
    &[
        NF,
        fixed("classCode", &CS, "DOCBODY"),
        fixed("moodCode", &CS, "EVN"),
    ],
);
/// hg08 only: an act entry (e.g. 初回面接, 支援計画).
static ACT: Complex = doc_type(
    "POCD_MT000040.Act",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        many(&E_ID),
        one(&E_CODE_CD),
        opt(&E_TEXT_ED),
        opt(&E_STATUS_CODE),
        opt(&E_EFFECTIVE_TIME_IVL),
        opt(&el("priorityCode", c(&CE))),
        opt(&el("languageCode", c(&CS_T))),
        many(&E_SPECIMEN),
        many(&E_PERFORMER2),
        many(&E_AUTHOR),
        many(&E_PARTICIPANT2),
        many(&E_ENTRY_RELATIONSHIP),
    ]),
    &[
        NF,
        req("classCode", &X_CLASS_DOCUMENT_ENTRY_ACT),
        req("moodCode", &X_DOCUMENT_ACT_MOOD),
        optional("negationInd", &BL_S),
    ],
);
/// hg08 only: an organizer entry grouping observations.
static ORGANIZER: Complex = doc_type(
    "POCD_MT000040.Organizer",
    &seq(&[
        REALM,
        TYPE_ID_OPT,
        TEMPLATES,
        many(&E_ID),
        opt(&E_CODE_CD),
        one(&E_STATUS_CODE),
        opt(&E_EFFECTIVE_TIME_IVL),
        many(&E_SPECIMEN),
        many(&E_PERFORMER2),
        many(&E_AUTHOR),
        many(&E_PARTICIPANT2),
        many(&el("component", c(&COMPONENT4))),
    ]),
    &[
        NF,
        req("classCode", &X_CLASS_DOCUMENT_ENTRY_ORGANIZER),
        req("moodCode", &ACT_MOOD),
    ],
);

static E_CLINICAL_DOCUMENT: Element = el("ClinicalDocument", c(&CLINICAL_DOCUMENT));
/// The only global element of hc08 and hg08.
pub(crate) static GLOBALS: &[Particle] = &[one(&E_CLINICAL_DOCUMENT)];

/// Named types of hc08 / hg08 (for `xsi:type`). `hg` selects the profile.
pub(crate) fn named_type(name: &str, ctx: u8) -> Option<TypeRef> {
    let hg = ctx & When::HG != 0;
    let t: &'static Complex = match name {
        "ANY" => &ANY,
        "BL" => &BL,
        "ANYNonNull" => &ANY_NON_NULL,
        "BN" => &BN,
        "BIN" => &BIN,
        "ED" => &ED,
        "thumbnail" => &THUMBNAIL,
        "ST" => &ST,
        "CD" => &CD,
        "CE" => &CE,
        "CV" => &CV,
        "CS" => &CS_T,
        "CO" => &CO,
        "CR" => &CR,
        "SC" => &SC,
        "II" => &II,
        "URL" => &URL,
        "TS" => &TS,
        "TEL" => &TEL,
        "ADXP" => &ADXP,
        "adxp.delimiter" => &ADXP_DELIMITER,
        "adxp.country" => &ADXP_COUNTRY,
        "adxp.state" => &ADXP_STATE,
        "adxp.county" => &ADXP_COUNTY,
        "adxp.city" => &ADXP_CITY,
        "adxp.postalCode" => &ADXP_POSTAL_CODE,
        "adxp.streetAddressLine" => &ADXP_STREET_ADDRESS_LINE,
        "adxp.houseNumber" => &ADXP_HOUSE_NUMBER,
        "adxp.houseNumberNumeric" => &ADXP_HOUSE_NUMBER_NUMERIC,
        "adxp.direction" => &ADXP_DIRECTION,
        "adxp.streetName" => &ADXP_STREET_NAME,
        "adxp.streetNameBase" => &ADXP_STREET_NAME_BASE,
        "adxp.streetNameType" => &ADXP_STREET_NAME_TYPE,
        "adxp.additionalLocator" => &ADXP_ADDITIONAL_LOCATOR,
        "adxp.unitID" => &ADXP_UNIT_ID,
        "adxp.unitType" => &ADXP_UNIT_TYPE,
        "adxp.careOf" => &ADXP_CARE_OF,
        "adxp.censusTract" => &ADXP_CENSUS_TRACT,
        "adxp.deliveryAddressLine" => &ADXP_DELIVERY_ADDRESS_LINE,
        "adxp.deliveryInstallationType" => &ADXP_DELIVERY_INSTALLATION_TYPE,
        "adxp.deliveryInstallationArea" => &ADXP_DELIVERY_INSTALLATION_AREA,
        "adxp.deliveryInstallationQualifier" => &ADXP_DELIVERY_INSTALLATION_QUALIFIER,
        "adxp.deliveryMode" => &ADXP_DELIVERY_MODE,
        "adxp.deliveryModeIdentifier" => &ADXP_DELIVERY_MODE_IDENTIFIER,
        "adxp.buildingNumberSuffix" => &ADXP_BUILDING_NUMBER_SUFFIX,
        "adxp.postBox" => &ADXP_POST_BOX,
        "adxp.precinct" => &ADXP_PRECINCT,
        "AD" => &AD,
        "ENXP" => &ENXP,
        "en.delimiter" => &EN_DELIMITER,
        "en.family" => &EN_FAMILY,
        "en.given" => &EN_GIVEN,
        "en.prefix" => &EN_PREFIX,
        "en.suffix" => &EN_SUFFIX,
        "EN" => &EN,
        "PN" => &PN,
        "ON" => &ON,
        "TN" => &TN,
        "QTY" => &QTY,
        "INT" => &INT,
        "REAL" => &REAL,
        "PQR" => &PQR,
        "PQ" => &PQ,
        "MO" => &MO,
        "RTO" => &RTO,
        "EIVL.event" => &EIVL_EVENT,
        "SXCM_TS" => &SXCM_TS,
        "IVL_TS" => &IVL_TS,
        "IVXB_TS" => &IVXB_TS,
        "RTO_QTY_QTY" => &RTO_QTY_QTY,
        "PIVL_TS" => &PIVL_TS,
        "EIVL_TS" => &EIVL_TS,
        "IVL_PQ" => &IVL_PQ,
        "SXCM_PQ" => &SXCM_PQ,
        "IVXB_PQ" => &IVXB_PQ,
        "PPD_TS" => &PPD_TS,
        "PPD_PQ" => &PPD_PQ,
        "PIVL_PPD_TS" => &PIVL_PPD_TS,
        "SXCM_PPD_TS" => &SXCM_PPD_TS,
        "IVL_PPD_TS" => &IVL_PPD_TS,
        "IVXB_PPD_TS" => &IVXB_PPD_TS,
        "EIVL_PPD_TS" => &EIVL_PPD_TS,
        "IVL_PPD_PQ" => &IVL_PPD_PQ,
        "SXCM_PPD_PQ" => &SXCM_PPD_PQ,
        "IVXB_PPD_PQ" => &IVXB_PPD_PQ,
        "SXPR_TS" => &SXPR_TS,
        "SXCM_CD" => &SXCM_CD,
        "SXCM_MO" => &SXCM_MO,
        "SXCM_INT" => &SXCM_INT,
        "SXCM_REAL" => &SXCM_REAL,
        "IVL_INT" => &IVL_INT,
        "IVXB_INT" => &IVXB_INT,
        "IVL_REAL" => &IVL_REAL,
        "IVXB_REAL" => &IVXB_REAL,
        "IVL_MO" => &IVL_MO,
        "IVXB_MO" => &IVXB_MO,
        "HXIT_PQ" => &HXIT_PQ,
        "HXIT_CE" => &HXIT_CE,
        "BXIT_CD" => &BXIT_CD,
        "BXIT_IVL_PQ" => &BXIT_IVL_PQ,
        "SLIST_PQ" => &SLIST_PQ,
        "SLIST_TS" => &SLIST_TS,
        "GLIST_TS" => &GLIST_TS,
        "GLIST_PQ" => &GLIST_PQ,
        "RTO_PQ_PQ" => &RTO_PQ_PQ,
        "RTO_MO_PQ" => &RTO_MO_PQ,
        "UVP_TS" => &UVP_TS,
        "StrucDoc.Text" => &SD_TEXT,
        "StrucDoc.Title" => &SD_TITLE,
        "StrucDoc.Br" => &SD_BR,
        "StrucDoc.Caption" => &SD_CAPTION,
        "StrucDoc.Col" => &SD_COL,
        "StrucDoc.Colgroup" => &SD_COLGROUP,
        "StrucDoc.Content" => &SD_CONTENT,
        "StrucDoc.TitleContent" => &SD_TITLE_CONTENT,
        "StrucDoc.Footnote" => &SD_FOOTNOTE,
        "StrucDoc.TitleFootnote" => &SD_TITLE_FOOTNOTE,
        "StrucDoc.FootnoteRef" => &SD_FOOTNOTE_REF,
        "StrucDoc.Item" => &SD_ITEM,
        "StrucDoc.LinkHtml" => &SD_LINK_HTML,
        "StrucDoc.List" => &SD_LIST,
        "StrucDoc.Paragraph" => &SD_PARAGRAPH,
        "StrucDoc.RenderMultiMedia" => &SD_RENDER_MULTIMEDIA,
        "StrucDoc.Sub" => &SD_SUB,
        "StrucDoc.Sup" => &SD_SUP,
        "StrucDoc.Table" => &SD_TABLE,
        "StrucDoc.Tbody" => &SD_TBODY,
        "StrucDoc.Td" => &SD_TD,
        "StrucDoc.Tfoot" => &SD_TFOOT,
        "StrucDoc.Th" => &SD_TH,
        "StrucDoc.Thead" => &SD_THEAD,
        "StrucDoc.Tr" => &SD_TR,
        "POCD_MT000040.InfrastructureRoot.typeId" => &TYPE_ID,
        "POCD_MT000040.AssignedAuthor" => &ASSIGNED_AUTHOR,
        "POCD_MT000040.AssignedCustodian" => &ASSIGNED_CUSTODIAN,
        "POCD_MT000040.AssignedEntity" => &ASSIGNED_ENTITY,
        "POCD_MT000040.AssociatedEntity" => &ASSOCIATED_ENTITY,
        "POCD_MT000040.Author" => &AUTHOR,
        "POCD_MT000040.AuthoringDevice" => &AUTHORING_DEVICE,
        "POCD_MT000040.ClinicalDocument" => &CLINICAL_DOCUMENT,
        "POCD_MT000040.Component2" => &COMPONENT2,
        "POCD_MT000040.Component3" => &COMPONENT3,
        "POCD_MT000040.Component4" => &COMPONENT4,
        "POCD_MT000040.Custodian" => &CUSTODIAN,
        "POCD_MT000040.CustodianOrganization" => &CUSTODIAN_ORGANIZATION,
        "POCD_MT000040.DataEnterer" => &DATA_ENTERER,
        "POCD_MT000040.DocumentationOf" => &DOCUMENTATION_OF,
        "POCD_MT000040.Entity" => &ENTITY,
        "POCD_MT000040.Entry" => &ENTRY,
        "POCD_MT000040.EntryRelationship" => &ENTRY_RELATIONSHIP,
        "POCD_MT000040.InformationRecipient" => &INFORMATION_RECIPIENT,
        "POCD_MT000040.IntendedRecipient" => &INTENDED_RECIPIENT,
        "POCD_MT000040.Observation" => &OBSERVATION,
        "POCD_MT000040.ObservationRange" => &OBSERVATION_RANGE,
        "POCD_MT000040.Organization" => &ORGANIZATION,
        "POCD_MT000040.Participant1" => &PARTICIPANT1,
        "POCD_MT000040.Participant2" => &PARTICIPANT2,
        "POCD_MT000040.ParticipantRole" => &PARTICIPANT_ROLE,
        "POCD_MT000040.Patient" => &PATIENT,
        "POCD_MT000040.PatientRole" => &PATIENT_ROLE,
        "POCD_MT000040.Performer1" => &PERFORMER1,
        "POCD_MT000040.Performer2" => &PERFORMER2,
        "POCD_MT000040.Person" => &PERSON,
        "POCD_MT000040.PlayingEntity" => &PLAYING_ENTITY,
        "POCD_MT000040.RecordTarget" => &RECORD_TARGET,
        "POCD_MT000040.ReferenceRange" => &REFERENCE_RANGE,
        "POCD_MT000040.Section" => &SECTION,
        "POCD_MT000040.ServiceEvent" => &SERVICE_EVENT,
        "POCD_MT000040.Specimen" => &SPECIMEN,
        "POCD_MT000040.SpecimenRole" => &SPECIMEN_ROLE,
        "POCD_MT000040.StructuredBody" => &STRUCTURED_BODY,
        "POCD_MT000040.Act" if hg => &ACT,
        "POCD_MT000040.Organizer" if hg => &ORGANIZER,
        _ => return None,
    };
    Some(TypeRef::Complex(t))
}

//! Assembling archives: records → files → index and summary → ZIP, with the defects of
//! [`crate::defects`] applied at the model, text and archive level.

use crate::defects::{self, ArchiveDefect, FilePatch};
use crate::guidance;
use crate::people;
use crate::record::{ArchiveContext, Date, GivenVoucher, RecordDraft, build_record};
use crate::reference::{self, ContractTerms};
use crate::rng::Rng;
use crate::{
    ArchiveManifest, GivenPerson, InjectedDefect, RecordManifest, SampleArchive, SampleConfig,
    SampleError,
};
use daiko_format::write::{
    write_cda, write_checkup_claim, write_guidance_claim, write_index, write_summary,
};
use daiko_format::*;
use std::io::Write;
use zip::write::SimpleFileOptions;

/// One entry of the ZIP: path relative to the top folder (or a raw name) and its bytes.
pub struct Entry {
    /// Path below the top folder (`DATA/h….xml`), unless `raw` is set.
    pub path: String,
    pub bytes: Vec<u8>,
    /// When true, `path` is the full entry name (not prefixed with the top folder).
    pub raw: bool,
}

/// Generates the archives of a configuration.
pub fn generate(config: &SampleConfig) -> Result<Vec<SampleArchive>, SampleError> {
    generate_with(config, &[])
}

/// Generates the archives of a configuration whose checkup records are about the given
/// persons, in order (`records` per archive; `archives × records` of them are needed),
/// with their issued vouchers. Each person's insurer must be one of `config.insurers`
/// (its contract terms price the record). Guidance archives are invented as usual.
pub fn generate_for_persons(
    config: &SampleConfig,
    persons: &[GivenPerson],
) -> Result<Vec<SampleArchive>, SampleError> {
    let needed = config.archives * config.records;
    if persons.len() < needed {
        return Err(SampleError::Config(format!(
            "{needed} given persons are needed ({} archives × {} records), found {}",
            config.archives,
            config.records,
            persons.len()
        )));
    }
    let given = persons[..needed]
        .iter()
        .map(|p| {
            if !config.insurers.contains(&p.voucher.insurer_number) {
                return Err(SampleError::Config(format!(
                    "given voucher {}: insurer {} is not one of the configured insurers",
                    p.voucher.voucher_number, p.voucher.insurer_number
                )));
            }
            p.read()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let numbers: Vec<String> = persons[..needed]
        .iter()
        .map(|p| p.voucher.voucher_number.clone())
        .collect();
    generate_with(config, &given.into_iter().zip(numbers).collect::<Vec<_>>())
}

fn generate_with(
    config: &SampleConfig,
    given: &[(GivenVoucher, String)],
) -> Result<Vec<SampleArchive>, SampleError> {
    config.validate()?;
    let mut rng = Rng::new(config.seed);
    let generation = config.period.generation();
    let institution = people::institution(&mut rng, config.sender.as_deref());
    let doctors: Vec<String> = (0..3).map(|_| people::doctor_name(&mut rng)).collect();
    let fy = config.period.fiscal_year();
    let mut voucher_serial = u64::from(rng.range(1_000, 5_000_000));
    let mut record_counter: usize = 0;
    let mut out = Vec::with_capacity(config.archives);
    // Archive defects are dealt from a shuffled deck, so a run covers as many kinds as it can.
    let mut archive_deck: Vec<ArchiveDefect> = ArchiveDefect::ALL.to_vec();
    rng.shuffle(&mut archive_deck);
    let mut archive_deck_next = 0usize;
    let mut record_deck = defects::RecordDeck::shuffled(&mut rng);
    let mut reference_deck = reference::ReferenceDeck::default();
    let contracts: Vec<ContractTerms> = config
        .insurers
        .iter()
        .enumerate()
        .map(|(i, n)| ContractTerms::for_insurer(n, i))
        .collect();

    for a in 0..config.archives {
        let mut arng = rng.fork();
        let (service_from, service_to, creation, counter) = archive_dates(fy, a);
        let ctx = ArchiveContext {
            generation,
            institution: &institution,
            creation,
            service_from,
            service_to,
            doctors: &doctors,
        };
        let date = creation.ymd();
        let base = format!(
            "{}_{}_{}{}_1",
            institution.number, config.receiver, date, counter
        );

        let mut drafts = Vec::with_capacity(config.records);
        for r in 0..config.records {
            let stem = format!("{}{}{}1{:06}", institution.number, date, counter, r + 1);
            let person = given.get(a * config.records + r);
            let terms = match person {
                Some((g, _)) => contracts
                    .iter()
                    .find(|c| c.insurer == g.card.insurer)
                    .unwrap_or_else(|| arng.pick(&contracts)),
                None => arng.pick(&contracts),
            };
            let insurer = terms.insurer.clone();
            let voucher = match person {
                Some((_, number)) => number.clone(),
                None => format!("{:02}1{:08}", fy % 100, voucher_serial % 100_000_000),
            };
            voucher_serial += 1 + u64::from(arng.range(0, 40));
            let pattern = (record_counter % 6) as u8 + 1;
            record_counter += 1;
            // Only contracts that accept it carry other-programme burdens (C-11).
            let other_program = terms.other_program && arng.chance(0.15);
            let additional = arng.chance(0.08);
            let dock = !other_program && !additional && arng.chance(0.05);
            drafts.push(build_record(
                &mut arng,
                &ctx,
                stem,
                &insurer,
                voucher,
                pattern,
                terms,
                other_program,
                additional,
                dock,
                person.map(|(g, _)| g),
            )?);
        }

        // Defects: one archive-level defect (never in the first archive), or record defects.
        let mut injected: Vec<InjectedDefect> = Vec::new();
        let archive_defect = if a > 0 && config.defect_rate > 0.0 && arng.chance(config.defect_rate)
        {
            let d = archive_deck
                .get(archive_deck_next % archive_deck.len().max(1))
                .copied();
            archive_deck_next += 1;
            d
        } else {
            None
        };
        // T-06 (reference defects only): the agency's history already holds an archive of
        // this name. It rejects the whole archive, so it is an archive-level defect and the
        // archive carries no record defects.
        let already_received = archive_defect.is_none()
            && a > 0
            && config.reference_defects
            && config.defect_rate > 0.0
            && arng.chance(config.defect_rate / 2.0);
        let archive_level = archive_defect.is_some() || already_received;
        let mut patches: Vec<(String, FilePatch)> = Vec::new();
        let mut dropped: Vec<String> = Vec::new();
        let mut taken = vec![false; drafts.len()];
        if !archive_level && config.defect_rate > 0.0 {
            let plan = defects::plan_records(
                &mut arng,
                &drafts,
                generation,
                config.defect_rate,
                &mut record_deck,
            );
            for &(index, _) in &plan.singles {
                taken[index] = true;
            }
            for &(first, second) in &plan.duplicate_vouchers {
                taken[first] = true;
                taken[second] = true;
            }
            for (index, defect) in plan.singles {
                if let Some(d) = drafts.get_mut(index) {
                    let applied = defect.apply(d, &mut arng)?;
                    if let Some(p) = applied.patch {
                        patches.push(p);
                    }
                    if let Some(path) = applied.drop {
                        dropped.push(path);
                    }
                    injected.push(applied.defect);
                }
            }
            for (first, second) in plan.duplicate_vouchers {
                injected.extend(defects::duplicate_voucher(&mut drafts, first, second));
            }
        }
        // Reference defects: on records without another defect.
        let mut reference_plan = Vec::new();
        if !archive_level && config.reference_defects && config.defect_rate > 0.0 {
            for (i, d) in drafts.iter_mut().enumerate() {
                if taken[i] || !arng.chance(config.defect_rate) {
                    continue;
                }
                let terms = contracts
                    .iter()
                    .find(|c| c.insurer == d.person.card.insurer);
                let Some(defect) = reference_deck.deal(d, terms) else {
                    continue;
                };
                taken[i] = true;
                injected.push(reference::apply_to_record(defect, d)?);
                reference_plan.push((i, defect));
            }
        }

        let record_manifests: Vec<RecordManifest> = drafts.iter().map(record_manifest).collect();

        // Files.
        let mut data = Vec::new();
        let mut claims = Vec::new();
        let mut claim_models = Vec::new();
        for d in &drafts {
            data.push(Entry {
                path: d.data_path(),
                bytes: write_cda(&d.cda_document()).into_bytes(),
                raw: false,
            });
            if !dropped.contains(&d.claim_path()) {
                claims.push(Entry {
                    path: d.claim_path(),
                    bytes: write_checkup_claim(&d.claim, generation).into_bytes(),
                    raw: false,
                });
                claim_models.push(&d.claim);
            }
        }
        for (path, patch) in &patches {
            if let Some(e) = data
                .iter_mut()
                .chain(claims.iter_mut())
                .find(|e| &e.path == path)
            {
                e.bytes = patch.apply(&e.bytes, generation);
            }
        }
        let mut sample_reference = reference::checkup_rows(&drafts);
        for (i, defect) in reference_plan {
            if let Some(d) = drafts.get(i) {
                reference::apply_to_rows(defect, d, &mut sample_reference);
            }
        }
        sample_reference.institution = institution.number.clone();
        sample_reference.fiscal_year = fy;
        sample_reference.contracts = contracts.clone();
        let mut summary = summary_of(&claim_models);
        let mut index = Index {
            interaction_type: "1".into(),
            creation_time: date.clone(),
            sender: Id::new(oid::INSTITUTION, &institution.number),
            receiver: Some(Id::new(oid::AGENCY, &config.receiver)),
            service_event_type: "1".into(),
            total_record_count: (data.len() + claims.len()).to_string(),
        };
        let mut name = format!("{base}.zip");
        let mut top = base.clone();
        let mut extra: Vec<Entry> = Vec::new();
        let mut omit: Vec<&str> = Vec::new();
        if let Some(defect) = archive_defect {
            let applied = defect.apply(&mut index, &mut summary, &base, &mut arng);
            if let Some(new_base) = applied.rename {
                name = format!("{new_base}.zip");
                top = new_base;
            }
            extra.extend(applied.extra_entries);
            omit = applied.omit;
            let mut d = applied.defect;
            if d.files.iter().any(|f| f == "{archive}") {
                d.files = vec![name.clone()];
            }
            injected.push(d);
        }
        if already_received {
            sample_reference.received_archives.push(name.clone());
            injected.push(InjectedDefect {
                kind: "archive-already-received".into(),
                codes: vec!["T-06".into()],
                may_also: Vec::new(),
                files: vec![name.clone()],
                description: "archives.csv already holds an archive of this name".into(),
            });
        }

        let mut entries = vec![
            Entry {
                path: "ix08_V08.xml".into(),
                bytes: write_index(&index, generation).into_bytes(),
                raw: false,
            },
            Entry {
                path: "su08_V08.xml".into(),
                bytes: write_summary(&summary, generation).into_bytes(),
                raw: false,
            },
        ];
        entries.retain(|e| !omit.contains(&e.path.as_str()));
        entries.extend(data);
        entries.extend(claims);
        entries.extend(extra);
        let zip = zip_entries(&top, &entries, creation)?;

        out.push(SampleArchive {
            name: name.clone(),
            zip,
            reference: sample_reference,
            manifest: ArchiveManifest {
                archive: name,
                generation: generation.as_str().into(),
                service_event_type: 1,
                records: record_manifests,
                defects: injected,
            },
        });
    }

    // Guidance archives (実施区分 2): first sessions and final evaluations, one month each.
    let mut guidance_deck = 0usize;
    let mut sequence_deck = 0usize;
    for g in 0..config.guidance_archives {
        let mut arng = rng.fork();
        let (service_from, service_to, creation, counter) = archive_dates(fy, g);
        let ctx = ArchiveContext {
            generation,
            institution: &institution,
            creation,
            service_from,
            service_to,
            doctors: &doctors,
        };
        let date = creation.ymd();
        let base = format!(
            "{}_{}_{}{}_2",
            institution.number, config.receiver, date, counter
        );
        let mut drafts = Vec::with_capacity(config.records);
        for r in 0..config.records {
            let stem = format!("{}{}{}2{:06}", institution.number, date, counter, r + 1);
            let terms = arng.pick(&contracts);
            let insurer = terms.insurer.clone();
            let serial = voucher_serial % 100_000_000;
            voucher_serial += 1 + u64::from(arng.range(0, 40));
            let checkup_voucher = format!("{:02}1{serial:08}", fy % 100);
            let guidance_voucher = format!("{:02}2{serial:08}", fy % 100);
            let pattern = (record_counter % 6) as u8 + 1;
            record_counter += 1;
            // Mostly first sessions and final evaluations; some early terminations
            // (積極的支援 only, else a final evaluation) and incomplete initial interviews.
            let timing = match arng.unit() {
                x if x < 0.35 => 2,
                x if x < 0.5 => 3,
                x if x < 0.6 => 5,
                _ => 1,
            };
            drafts.push(guidance::build_guidance_record(
                &mut arng,
                &ctx,
                stem,
                &insurer,
                checkup_voucher,
                guidance_voucher,
                pattern,
                terms,
                timing,
            )?);
        }
        let mut injected = Vec::new();
        let mut sequence_plan = Vec::new();
        if config.defect_rate > 0.0 {
            for (i, d) in drafts.iter_mut().enumerate() {
                if arng.chance(config.defect_rate) {
                    // With the history loaded, every third defective record gets a sequence
                    // defect (U-05) when one fits its timing.
                    if config.reference_defects && sequence_deck.is_multiple_of(3) {
                        let n = reference::GuidanceSequenceDefect::ALL.len();
                        let fitting = (0..n)
                            .filter_map(|k| {
                                reference::GuidanceSequenceDefect::ALL
                                    .get((sequence_deck / 3 + k) % n)
                                    .copied()
                            })
                            .find(|g| g.fits(d));
                        sequence_deck += 1;
                        if let Some(defect) = fitting {
                            injected.push(defect.describe(d));
                            sequence_plan.push((i, defect));
                            continue;
                        }
                    } else {
                        sequence_deck += 1;
                    }
                    let n = guidance::GuidanceDefect::ALL.len();
                    let defect = (0..n)
                        .filter_map(|k| {
                            guidance::GuidanceDefect::ALL
                                .get((guidance_deck + k) % n)
                                .copied()
                        })
                        .find(|g| g.applies_to(d));
                    if let Some(defect) = defect {
                        guidance_deck += 1;
                        injected.push(defect.apply(d));
                    }
                }
            }
        }
        let mut data = Vec::new();
        let mut claims = Vec::new();
        for d in &drafts {
            data.push(Entry {
                path: d.data_path(),
                bytes: write_cda(&d.cda).into_bytes(),
                raw: false,
            });
            claims.push(Entry {
                path: d.claim_path(),
                bytes: write_guidance_claim(&d.claim, generation).into_bytes(),
                raw: false,
            });
        }
        let sum = |f: &dyn Fn(&GuidanceClaim) -> Option<u64>| {
            drafts.iter().filter_map(|d| f(&d.claim)).sum::<u64>()
        };
        let summary = Summary {
            service_event_type: "2".into(),
            total_subject_count: drafts.len().to_string(),
            total_cost_amount: Money::yen(sum(&|c| c.settlement.calculated_amount.amount())),
            total_payment_amount: Money::yen(sum(&|c| c.settlement.payment_amount.amount())),
            total_payment_by_other_program: None,
            total_claim_amount: Money::yen(sum(&|c| c.settlement.claim_amount.amount())),
        };
        let index = Index {
            interaction_type: "1".into(),
            creation_time: date.clone(),
            sender: Id::new(oid::INSTITUTION, &institution.number),
            receiver: Some(Id::new(oid::AGENCY, &config.receiver)),
            service_event_type: "2".into(),
            total_record_count: (data.len() + claims.len()).to_string(),
        };
        let mut entries = vec![
            Entry {
                path: "ix08_V08.xml".into(),
                bytes: write_index(&index, generation).into_bytes(),
                raw: false,
            },
            Entry {
                path: "su08_V08.xml".into(),
                bytes: write_summary(&summary, generation).into_bytes(),
                raw: false,
            },
        ];
        entries.extend(data);
        entries.extend(claims);
        let zip = zip_entries(&base, &entries, creation)?;
        let name = format!("{base}.zip");
        let records = drafts
            .iter()
            .map(|d| RecordManifest {
                data_file: d.data_path(),
                claim_file: d.claim_path(),
                insurer: d.person.card.insurer.clone(),
                voucher: d
                    .claim
                    .card
                    .id
                    .as_ref()
                    .map(|i| i.extension.clone())
                    .unwrap_or_default(),
                claim_type: String::new(),
                guidance_level: Some(d.level.to_string()),
                copayment_basic: d.copayment_pattern,
                copayment_detail: None,
                copayment_other: None,
                other_program: 0,
                claim_amount: d.claim.settlement.claim_amount.value.clone(),
            })
            .collect();
        let mut sample_reference = reference::guidance_rows(&drafts);
        for (i, defect) in sequence_plan {
            if let Some(d) = drafts.get(i) {
                defect.apply_to_rows(d, &mut sample_reference);
            }
        }
        sample_reference.institution = institution.number.clone();
        sample_reference.fiscal_year = fy;
        sample_reference.contracts = contracts.clone();
        out.push(SampleArchive {
            name: name.clone(),
            zip,
            reference: sample_reference,
            manifest: ArchiveManifest {
                archive: name,
                generation: generation.as_str().into(),
                service_event_type: 2,
                records,
                defects: injected,
            },
        });
    }
    Ok(out)
}

fn record_manifest(d: &RecordDraft) -> RecordManifest {
    RecordManifest {
        data_file: d.data_path(),
        claim_file: d.claim_path(),
        insurer: d.person.card.insurer.clone(),
        voucher: d.voucher.clone(),
        claim_type: d.claim.settlement.claim_type.clone(),
        guidance_level: None,
        copayment_basic: d.bill.basic.or(d.dock).map_or(1, |b| b.rule.pattern()),
        copayment_detail: d.bill.detail.map(|b| b.rule.pattern()),
        copayment_other: d.bill.other.map(|b| b.rule.pattern()),
        other_program: d.bill.other_program,
        claim_amount: d.claim.settlement.claim_amount.value.clone(),
    }
}

/// The summary whose totals are the sums over the claims (amounts as written).
pub fn summary_of(claims: &[&CheckupClaim]) -> Summary {
    let sum =
        |f: &dyn Fn(&CheckupClaim) -> Option<u64>| claims.iter().filter_map(|c| f(c)).sum::<u64>();
    let cost = sum(&|c| c.settlement.unit_amount.amount());
    let payment = sum(&|c| c.settlement.payment_amount.amount());
    let other = sum(&|c| {
        c.settlement
            .payment_by_other_program
            .as_ref()
            .and_then(Money::amount)
    });
    let claim = sum(&|c| c.settlement.claim_amount.amount());
    Summary {
        service_event_type: "1".into(),
        total_subject_count: claims.len().to_string(),
        total_cost_amount: Money::yen(cost),
        total_payment_amount: Money::yen(payment),
        total_payment_by_other_program: Some(Money::yen(other)),
        total_claim_amount: Money::yen(claim),
    }
}

/// Writes the entries under `top/` into a ZIP with fixed timestamps (deterministic bytes).
fn zip_entries(top: &str, entries: &[Entry], created: Date) -> Result<Vec<u8>, SampleError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let time = zip::DateTime::from_date_and_time(
        u16::try_from(created.y).unwrap_or(2024),
        created.m as u8,
        created.d as u8,
        9,
        0,
        0,
    )
    .unwrap_or_default();
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Fast deflate: generation for benchmarks is dominated by compression otherwise.
        .compression_level(Some(1))
        .last_modified_time(time)
        .unix_permissions(0o644);
    for e in entries {
        let name = if e.raw {
            e.path.clone()
        } else {
            format!("{top}/{}", e.path)
        };
        w.start_file(name, options)?;
        w.write_all(&e.bytes)?;
    }
    Ok(w.finish()?.into_inner())
}

/// The service month (first and last day), the day the archive is made and its same-day
/// counter for the `index`-th archive of one kind: archive i covers service month i of the
/// fiscal year (April first) and is made on the 1st–5th of the next month, so it arrives by
/// the monthly deadline (T-04).
fn archive_dates(fy: i32, index: usize) -> (Date, Date, Date, usize) {
    let month_index = (index % 12) as u32;
    let (sy, sm) = if month_index < 9 {
        (fy, 4 + month_index)
    } else {
        (fy + 1, month_index - 8)
    };
    let service_from = Date { y: sy, m: sm, d: 1 };
    let service_to = Date {
        y: sy,
        m: sm,
        d: Date::days_in_month(sy, sm),
    };
    let creation = service_to.plus_days(1 + (index % 5) as u32);
    (service_from, service_to, creation, index / 12)
}

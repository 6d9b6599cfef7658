//! `daiko billing …`: the billing month from the command line (docs/operations.md "Billing
//! month"). stdout carries only the data (JSON, CSV, or the paths of the files written);
//! progress and errors go to stderr. Errors are printed in Japanese and English.
//!
//! ```text
//! daiko billing close --month YYYY-MM
//! daiko billing invoices   --month YYYY-MM --format json|csv|pdf [--out DIR]
//! daiko billing statements --month YYYY-MM --format json|csv|pdf [--out DIR]
//! daiko billing transfer-file --month YYYY-MM --out FILE
//! daiko billing account set --org NUMBER --bank CODE --branch CODE --type 1|2|4|9 --number N --holder KANA
//! daiko billing offset add --record ID --reason CODE [--text TEXT]
//! daiko billing calendar --year YYYY [--deadline-day N …]
//! daiko billing fees [--insurer-per-record N …]
//! daiko billing remitter [--code N --name KANA --bank CODE --branch CODE --type 1|2|9 --number N]
//! daiko billing agency [--address … --phone … --registration-number … --payee-account …]
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use daiko_billing::{
    BankAccount, BillingError, Calendar, FeeSchedule, Remitter, Settlement, YearMonth,
};
use daiko_pipeline::billing::{self as flow, BillingFlowError};
use daiko_store::Store;

use crate::Exit;
use crate::admin::{DataDir, load_config, open_store, runtime};

/// `daiko billing` and the database it works on.
#[derive(Debug, Args)]
pub struct BillingArgs {
    #[command(subcommand)]
    pub command: BillingCommand,
    /// Database URL (default: the data folder's SQLite).
    #[arg(
        long,
        global = true,
        env = "DAIKO_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Close a billing month (締め): freeze its accepted records, offsets and settings.
    Close(MonthArg),
    /// Insurer invoices (請求書) of a closed month.
    Invoices(DocumentArgs),
    /// Institution payment statements (支払明細書) of a closed month.
    Statements(DocumentArgs),
    /// The 全銀協 総合振込 file paying a closed month's statements.
    TransferFile(TransferFileArgs),
    /// Institutions' bank accounts (振込先口座).
    #[command(subcommand)]
    Account(AccountCommand),
    /// 過誤 requests of insurers.
    #[command(subcommand)]
    Offset(OffsetCommand),
    /// Print the agency calendar's dates of a year (and change the calendar with options).
    Calendar(CalendarArgs),
    /// Print the agency fees (and change them with options).
    Fees(FeesArgs),
    /// Print the transfer file's remitter (振込依頼人) (and set it with options).
    Remitter(RemitterArgs),
    /// Print the agency's details printed on documents (and change them with options).
    Agency(AgencyArgs),
}

#[derive(Debug, Args)]
pub struct MonthArg {
    /// Billing month, YYYY-MM.
    #[arg(long)]
    pub month: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DocFormat {
    Json,
    Csv,
    Pdf,
}

#[derive(Debug, Args)]
pub struct DocumentArgs {
    /// Billing month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// json: one summary object per document (stdout, or a file in --out); csv: one file
    /// per document in --out (without --out, the summaries as CSV on stdout); pdf: one file
    /// per document in --out.
    #[arg(long, value_enum, default_value = "json")]
    pub format: DocFormat,
    /// Folder to write the documents to (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TransferFileArgs {
    /// Billing month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// Where to write the file (Shift_JIS, 120-byte records).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Register or replace an institution's account.
    Set(AccountSetArgs),
    /// List the registered accounts (JSON).
    List,
}

#[derive(Debug, Args)]
pub struct AccountSetArgs {
    /// The institution's number (10 digits).
    #[arg(long)]
    pub org: String,
    /// 金融機関コード (4 digits).
    #[arg(long)]
    pub bank: String,
    /// 金融機関名 in kana (optional on the transfer file).
    #[arg(long, default_value = "")]
    pub bank_name: String,
    /// 支店コード (3 digits).
    #[arg(long)]
    pub branch: String,
    /// 支店名 in kana (optional on the transfer file).
    #[arg(long, default_value = "")]
    pub branch_name: String,
    /// 預金種目: 1 (普通), 2 (当座), 4 (貯蓄), 9 (その他); also ordinary/current/savings/other.
    #[arg(long = "type")]
    pub account_type: String,
    /// 口座番号 (up to 7 digits).
    #[arg(long)]
    pub number: String,
    /// 口座名義 in kana (converted to half-width).
    #[arg(long)]
    pub holder: String,
}

#[derive(Debug, Subcommand)]
pub enum OffsetCommand {
    /// Register an insurer's 過誤 request on a forwarded record: an offset in the next close.
    Add(OffsetAddArgs),
    /// List offsets not yet settled (JSON).
    Pending,
}

#[derive(Debug, Args)]
pub struct OffsetAddArgs {
    /// The record id.
    #[arg(long)]
    pub record: String,
    /// 別表10 過誤返戻理由 code (01-09).
    #[arg(long)]
    pub reason: String,
    /// Free text printed with the offset (default: the code's meaning).
    #[arg(long, default_value = "")]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// The year whose dates to print.
    #[arg(long)]
    pub year: i16,
    /// 受付締切日 (day of the month).
    #[arg(long)]
    pub deadline_day: Option<i8>,
    /// 請求日 (day of the month).
    #[arg(long)]
    pub invoice_day: Option<i8>,
    /// 保険者支払期日 (day of the month).
    #[arg(long)]
    pub insurer_due_day: Option<i8>,
    /// 支払日 (day of the month; 0 = the last business day).
    #[arg(long)]
    pub payment_day: Option<i8>,
    /// The agency's closed days every year, MM-DD, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub closed_days: Option<Vec<String>>,
}

#[derive(Debug, Args)]
pub struct FeesArgs {
    #[arg(long)]
    pub insurer_per_record: Option<i64>,
    #[arg(long)]
    pub insurer_per_invoice: Option<i64>,
    #[arg(long)]
    pub institution_per_record: Option<i64>,
    #[arg(long)]
    pub institution_per_statement: Option<i64>,
}

#[derive(Debug, Args)]
pub struct RemitterArgs {
    /// 振込依頼人コード (委託者コード, up to 10 digits).
    #[arg(long, requires_all = ["name", "bank", "branch", "account_type", "number"])]
    pub code: Option<String>,
    /// 振込依頼人名 in kana.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub bank: Option<String>,
    #[arg(long, default_value = "")]
    pub bank_name: String,
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long, default_value = "")]
    pub branch_name: String,
    /// 1 (普通), 2 (当座) or 9.
    #[arg(long = "type")]
    pub account_type: Option<String>,
    #[arg(long)]
    pub number: Option<String>,
}

#[derive(Debug, Args)]
pub struct AgencyArgs {
    /// Address lines (use \n between lines).
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// 適格請求書発行事業者登録番号 (T + 13 digits).
    #[arg(long)]
    pub registration_number: Option<String>,
    /// Where insurers pay, as printed on invoices.
    #[arg(long)]
    pub payee_account: Option<String>,
}

fn actor() -> String {
    std::env::var("USER").unwrap_or_else(|_| "cli".into())
}

/// A billing error in Japanese and English.
fn flow_err(e: BillingFlowError) -> anyhow::Error {
    anyhow!("{}\n{}", e.message_ja(), e)
}

fn billing_err(e: BillingError) -> anyhow::Error {
    anyhow!("{}\n{}", e.message_ja(), e)
}

fn month(s: &str) -> Result<YearMonth> {
    s.parse::<YearMonth>().map_err(billing_err)
}

fn account_type(s: &str) -> Result<u8> {
    Ok(match s {
        "1" | "普通" | "ordinary" => 1,
        "2" | "当座" | "current" => 2,
        "4" | "貯蓄" | "savings" => 4,
        "9" | "その他" | "other" => 9,
        _ => bail!(
            "預金種目は 1（普通）・2（当座）・4（貯蓄）・9（その他）で指定してください: {s:?}\n\
             --type must be 1 (ordinary), 2 (current), 4 (savings) or 9 (other), got {s:?}"
        ),
    })
}

pub fn run(data: &DataDir, args: BillingArgs) -> Result<Exit> {
    let config = load_config(data, args.database_url.as_deref())?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        store.agency().await?.context(
            "データフォルダが初期化されていません（daiko init を先に実行してください）\n\
             the data folder is not initialised: run `daiko init --agency-number … --agency-name …` first",
        )?;
        let r = run_in(&store, args.command).await;
        store.close().await;
        r
    })
}

async fn run_in(store: &Store, cmd: BillingCommand) -> Result<Exit> {
    let mut out = std::io::stdout().lock();
    match cmd {
        BillingCommand::Close(a) => {
            let m = month(&a.month)?;
            let started = std::time::Instant::now();
            let r = flow::close_month(store, m, &actor())
                .await
                .map_err(flow_err)?;
            if r.already_closed {
                eprintln!(
                    "{m} は締め済みです（変更なし） / {m} was already closed: nothing changed"
                );
            } else {
                eprintln!(
                    "{m} を締めました: {} 件 {} 円 / closed {m}: {} lines, {} yen ({:.1} s)",
                    r.lines,
                    r.claim_total,
                    r.lines,
                    r.claim_total,
                    started.elapsed().as_secs_f64()
                );
            }
            if !r.excluded.is_empty() {
                eprintln!(
                    "二重請求のため請求しなかったレコード {} 件（U-01/U-05） / {} records left unbilled as already billed (U-01/U-05)",
                    r.excluded.len(),
                    r.excluded.len()
                );
            }
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        }
        BillingCommand::Invoices(a) => documents(store, &a, Kind::Invoices, &mut out).await?,
        BillingCommand::Statements(a) => documents(store, &a, Kind::Statements, &mut out).await?,
        BillingCommand::TransferFile(a) => {
            let m = month(&a.month)?;
            let tf = flow::transfer_file(store, m).await.map_err(flow_err)?;
            flow::audit_read(store, m, "transfer_file", &actor(), "cli")
                .await
                .map_err(flow_err)?;
            write_file(&a.out, &tf.bytes)?;
            eprintln!(
                "振込 {} 件 {} 円（振込日 {}） / {} transfers, {} yen, payment date {}",
                tf.count, tf.total, tf.payment_date, tf.count, tf.total, tf.payment_date
            );
            writeln!(out, "{}", a.out.display())?;
        }
        BillingCommand::Account(AccountCommand::Set(a)) => {
            let account = BankAccount {
                bank_code: a.bank.clone(),
                bank_name_kana: a.bank_name.clone(),
                branch_code: a.branch.clone(),
                branch_name_kana: a.branch_name.clone(),
                account_type: account_type(&a.account_type)?,
                account_number: a.number.clone(),
                holder_kana: a.holder.clone(),
            };
            let stored = flow::set_bank_account(store, &a.org, &account, &actor())
                .await
                .map_err(flow_err)?;
            serde_json::to_writer_pretty(&mut out, &stored)?;
            writeln!(out)?;
        }
        BillingCommand::Account(AccountCommand::List) => {
            let accounts = flow::bank_accounts(store).await.map_err(flow_err)?;
            serde_json::to_writer_pretty(&mut out, &accounts)?;
            writeln!(out)?;
        }
        BillingCommand::Offset(OffsetCommand::Add(a)) => {
            let r = flow::add_offset(store, &a.record, &a.reason, &a.text, &actor())
                .await
                .map_err(flow_err)?;
            serde_json::to_writer_pretty(&mut out, &r)?;
            writeln!(out)?;
        }
        BillingCommand::Offset(OffsetCommand::Pending) => {
            let p = store.pending_offsets().await?;
            serde_json::to_writer_pretty(&mut out, &p)?;
            writeln!(out)?;
        }
        BillingCommand::Calendar(a) => {
            let mut cal = flow::calendar(store).await.map_err(flow_err)?;
            let changed = a.deadline_day.is_some()
                || a.invoice_day.is_some()
                || a.insurer_due_day.is_some()
                || a.payment_day.is_some()
                || a.closed_days.is_some();
            if let Some(d) = a.deadline_day {
                cal.deadline_day = d;
            }
            if let Some(d) = a.invoice_day {
                cal.invoice_day = d;
            }
            if let Some(d) = a.insurer_due_day {
                cal.insurer_due_day = d;
            }
            if let Some(d) = a.payment_day {
                cal.payment_day = d;
            }
            if let Some(c) = a.closed_days.clone() {
                cal.closed_days = c;
            }
            if changed {
                flow::set_calendar(store, &cal, &actor())
                    .await
                    .map_err(flow_err)?;
            }
            print_calendar(&cal, a.year, &mut out)?;
        }
        BillingCommand::Fees(a) => {
            let mut fees = flow::fees(store).await.map_err(flow_err)?;
            let mut changed = false;
            for (field, v) in [
                (&mut fees.insurer_per_record, a.insurer_per_record),
                (&mut fees.insurer_per_invoice, a.insurer_per_invoice),
                (&mut fees.institution_per_record, a.institution_per_record),
                (
                    &mut fees.institution_per_statement,
                    a.institution_per_statement,
                ),
            ] {
                if let Some(v) = v {
                    *field = v;
                    changed = true;
                }
            }
            if changed {
                flow::set_fees(store, &fees, &actor())
                    .await
                    .map_err(flow_err)?;
            }
            print_fees(&fees, &mut out)?;
        }
        BillingCommand::Remitter(a) => {
            if let (Some(code), Some(name), Some(bank), Some(branch), Some(t), Some(number)) = (
                &a.code,
                &a.name,
                &a.bank,
                &a.branch,
                &a.account_type,
                &a.number,
            ) {
                let r = Remitter {
                    code: code.clone(),
                    name_kana: name.clone(),
                    bank_code: bank.clone(),
                    bank_name_kana: a.bank_name.clone(),
                    branch_code: branch.clone(),
                    branch_name_kana: a.branch_name.clone(),
                    account_type: account_type(t)?,
                    account_number: number.clone(),
                };
                flow::set_remitter(store, &r, &actor())
                    .await
                    .map_err(flow_err)?;
            }
            match flow::remitter(store).await.map_err(flow_err)? {
                Some(r) => serde_json::to_writer_pretty(&mut out, &r)?,
                None => write!(out, "null")?,
            }
            writeln!(out)?;
        }
        BillingCommand::Agency(a) => {
            let mut info = flow::agency_info(store).await.map_err(flow_err)?;
            let mut changed = false;
            for (field, v) in [
                (&mut info.address, &a.address),
                (&mut info.phone, &a.phone),
                (&mut info.registration_number, &a.registration_number),
                (&mut info.payee_account, &a.payee_account),
            ] {
                if let Some(v) = v {
                    *field = v.replace("\\n", "\n");
                    changed = true;
                }
            }
            if changed {
                flow::set_agency_info(store, &info, &actor())
                    .await
                    .map_err(flow_err)?;
            }
            serde_json::to_writer_pretty(&mut out, &info)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Exit::Ok)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invoices,
    Statements,
}

async fn closed_settlement(store: &Store, m: YearMonth) -> Result<Settlement> {
    flow::settlement(store, m)
        .await
        .map_err(flow_err)?
        .ok_or_else(|| flow_err(BillingFlowError::NotClosed(m.to_string())))
}

async fn documents(
    store: &Store,
    a: &DocumentArgs,
    kind: Kind,
    out: &mut impl Write,
) -> Result<()> {
    let m = month(&a.month)?;
    let st = closed_settlement(store, m).await?;
    let what = match kind {
        Kind::Invoices => "invoices",
        Kind::Statements => "statements",
    };
    flow::audit_read(store, m, what, &actor(), "cli")
        .await
        .map_err(flow_err)?;
    // Summaries serialise in the interface's field order (structs, not maps).
    let summaries_json = || -> Result<String> {
        Ok(match kind {
            Kind::Invoices => serde_json::to_string_pretty(
                &st.invoices.iter().map(|i| i.summary()).collect::<Vec<_>>(),
            )?,
            Kind::Statements => serde_json::to_string_pretty(
                &st.statements
                    .iter()
                    .map(|s| s.summary())
                    .collect::<Vec<_>>(),
            )?,
        })
    };
    match (a.format, &a.out) {
        (DocFormat::Json, None) => writeln!(out, "{}", summaries_json()?)?,
        (DocFormat::Json, Some(dir)) => {
            let path = dir.join(format!("{what}-{m}.json"));
            write_file(&path, format!("{}\n", summaries_json()?).as_bytes())?;
            writeln!(out, "{}", path.display())?;
        }
        (DocFormat::Csv, None) => {
            let mut w = csv::Writer::from_writer(Vec::new());
            match kind {
                Kind::Invoices => {
                    for i in &st.invoices {
                        w.serialize(i.summary())?;
                    }
                }
                Kind::Statements => {
                    for s in &st.statements {
                        w.serialize(s.summary())?;
                    }
                }
            }
            out.write_all(&w.into_inner().map_err(|e| anyhow!("{e}"))?)?;
        }
        (DocFormat::Csv, Some(dir)) => {
            let files: Vec<(String, Vec<u8>)> = match kind {
                Kind::Invoices => st
                    .invoices
                    .iter()
                    .map(|i| {
                        (
                            format!("invoice-{m}-{}.csv", i.insurer),
                            daiko_billing::invoice_csv(i),
                        )
                    })
                    .collect(),
                Kind::Statements => st
                    .statements
                    .iter()
                    .map(|s| {
                        (
                            format!("statement-{m}-{}.csv", s.institution),
                            daiko_billing::statement_csv(s),
                        )
                    })
                    .collect(),
            };
            write_all(dir, &files, out)?;
        }
        (DocFormat::Pdf, None) => bail!(
            "PDF は --out DIR で出力先フォルダを指定してください\n--format pdf needs --out DIR"
        ),
        (DocFormat::Pdf, Some(dir)) => {
            let fonts = daiko_pdf::Fonts::discover().map_err(|e| {
                anyhow!(
                    "日本語フォントが見つかりません（fonts-noto-cjk などを入れるか DAIKO_FONT_DIR を設定してください）\n\
                     no Japanese fonts found (install fonts-noto-cjk or set DAIKO_FONT_DIR): {e}"
                )
            })?;
            let agency = flow::agency_info(store).await.map_err(flow_err)?;
            let mut files = Vec::new();
            match kind {
                Kind::Invoices => {
                    for i in &st.invoices {
                        files.push((
                            format!("invoice-{m}-{}.pdf", i.insurer),
                            daiko_billing::invoice_pdf(&fonts, &agency, i).map_err(billing_err)?,
                        ));
                    }
                }
                Kind::Statements => {
                    for s in &st.statements {
                        files.push((
                            format!("statement-{m}-{}.pdf", s.institution),
                            daiko_billing::statement_pdf(&fonts, &agency, s)
                                .map_err(billing_err)?,
                        ));
                    }
                }
            }
            write_all(dir, &files, out)?;
        }
    }
    Ok(())
}

fn write_all(dir: &Path, files: &[(String, Vec<u8>)], out: &mut impl Write) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        write_file(&path, bytes)?;
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The calendar's dates for each month of `year`, tab separated, and the year's holidays.
fn print_calendar(cal: &Calendar, year: i16, out: &mut impl Write) -> Result<()> {
    writeln!(
        out,
        "month\tdeadline\tinvoice_date\tinsurer_due_date\tpayment_date"
    )?;
    for mo in 1..=12 {
        let m = YearMonth::new(year, mo).map_err(billing_err)?;
        writeln!(
            out,
            "{m}\t{}\t{}\t{}\t{}",
            cal.deadline(m),
            cal.invoice_date(m),
            cal.insurer_due_date(m),
            cal.payment_date(m)
        )?;
    }
    writeln!(out)?;
    writeln!(out, "holiday\tname")?;
    for (d, name) in daiko_billing::holidays_of_year(year) {
        writeln!(out, "{d}\t{name}")?;
    }
    Ok(())
}

fn print_fees(fees: &FeeSchedule, out: &mut impl Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, fees)?;
    writeln!(out)?;
    Ok(())
}

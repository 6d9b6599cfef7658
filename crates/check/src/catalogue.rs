//! The check catalogue: every code of CHECKS.md with its stage, default outcome,
//! 返戻理由コード, title and fix hint in Japanese and English.
//!
//! Titles and hints are written for a clerk at a checkup institution: they say what is
//! wrong in plain words and what to do in the producing software. [`finding`] builds a
//! [`Finding`] from a code and the specific detail; the message is
//! `【code title】detail。対処: hint` (and `[code title] detail. Fix: hint`).
//!
//! Per-agency outcome overrides (CHECKS.md decision 2) are applied by the engine after a
//! finding is made ([`apply_override`]), so every check function stays configuration-free.
//!
//! Where CHECKS.md gives no single outcome or reason, the table says (our choice, INF):
//! S-08 "—" → W (a note that the receipt shows only accepted records); M-11 "accept" → W,
//! reported as info; U-04 "—" → FR 08 (withdrawal); U-06 → FR 09 (the 過誤 request is
//! refused); D-04 "FR" → 09 (no reason named); H-03/H-05 "01/02" and similar → the first.
//! A W row returned by an agency gets the reason CHECKS.md names for it (H-06 → 04) or
//! 03 for the plausibility rows, else 09.

use crate::finding::{Finding, Outcome, ReturnReason, Severity};

/// The stage a check belongs to (the letter of its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// 媒体・伝送 (transport and submission)
    T,
    /// 提供用アーカイブファイル (archive)
    A,
    /// XML parsing, schema, namespace
    X,
    /// 交換用基本情報 (index)
    I,
    /// 集計情報 (summary) and archive totals
    S,
    /// file names and data/claim pairing
    P,
    /// record header (CDA header and the claim's person block)
    H,
    /// 項目チェック (item level)
    M,
    /// 決済情報 (settlement)
    C,
    /// master data (vouchers, coverage, contracts)
    D,
    /// duplicates, withdrawals, resubmissions
    U,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable code, e.g. `M-07`.
    pub code: &'static str,
    pub stage: Stage,
    /// Default outcome (the first one where CHECKS.md offers two).
    pub outcome: Outcome,
    /// 返戻理由コード of an FR finding (the first one where CHECKS.md offers several).
    pub return_reason: Option<ReturnReason>,
    /// For checks whose outcome depends on the file (X-01…X-03): the outcome and reason
    /// when the file is a data or claim file (`DATA/…`, `CLAIMS/…`); `outcome` applies to
    /// the index, the summary and the archive itself.
    pub record_file_outcome: Option<(Outcome, ReturnReason)>,
    pub title_ja: &'static str,
    pub title_en: &'static str,
    pub hint_ja: &'static str,
    pub hint_en: &'static str,
}

impl Check {
    /// The outcome and reason of a finding of this check on `file`.
    pub fn outcome_for(&self, file: &str) -> (Outcome, Option<ReturnReason>) {
        match self.record_file_outcome {
            Some((o, r)) if is_record_file(file) => (o, Some(r)),
            _ => (self.outcome, self.return_reason),
        }
    }
}

/// Whether `file` (a path below the top folder) is a data or claim file.
pub fn is_record_file(file: &str) -> bool {
    file.starts_with("DATA/") || file.starts_with("CLAIMS/")
}

use Outcome::{AR, DEFER, FR, W};
use ReturnReason as R;

#[allow(clippy::too_many_arguments)] // one argument per column of the table
const fn row(
    code: &'static str,
    stage: Stage,
    outcome: Outcome,
    return_reason: Option<ReturnReason>,
    title_ja: &'static str,
    title_en: &'static str,
    hint_ja: &'static str,
    hint_en: &'static str,
) -> Check {
    Check {
        code,
        stage,
        outcome,
        return_reason,
        record_file_outcome: None,
        title_ja,
        title_en,
        hint_ja,
        hint_en,
    }
}

const fn split(mut c: Check) -> Check {
    c.record_file_outcome = Some((FR, R::FormatDefect));
    c
}

const F01: Option<ReturnReason> = Some(R::FormatDefect);
const F02: Option<ReturnReason> = Some(R::MissingEntries);
const F04: Option<ReturnReason> = Some(R::OutsideContract);
const F05: Option<ReturnReason> = Some(R::VoucherDefect);
const F06: Option<ReturnReason> = Some(R::OutsideValidity);
const F07: Option<ReturnReason> = Some(R::CopaymentDefect);
const F08: Option<ReturnReason> = Some(R::Withdrawal);
const F09: Option<ReturnReason> = Some(R::Other);

use Stage::*;

/// Every check of CHECKS.md (98 rows), in catalogue order.
pub static CATALOGUE: &[Check] = &[
    // ---- T: transport and submission
    row(
        "T-01",
        T,
        AR,
        None,
        "受付できない提出方法",
        "Submission channel not accepted",
        "オンライン提出または当機関が受け付ける媒体で提出し直してください。",
        "Resubmit online or on a medium this agency accepts.",
    ),
    row(
        "T-02",
        T,
        AR,
        None,
        "媒体の暗号化不備",
        "Medium not encrypted correctly",
        "配布された暗号化ソフトで暗号化し直して再提出してください。",
        "Encrypt the files again with the distributed encryption tool and resubmit.",
    ),
    row(
        "T-03",
        T,
        AR,
        None,
        "電子媒体送付書・ラベルの不備",
        "Cover sheet or label missing or incomplete",
        "電子媒体送付書とラベル(機関番号・名称・実施月・提出日・枚数・件数)を記入して添付してください。",
        "Attach the cover sheet and label with institution number, name, service month, submission date, media count and record count.",
    ),
    row(
        "T-04",
        T,
        DEFER,
        None,
        "提出期限後の受付",
        "Received after the monthly deadline",
        "この提出分は翌月の処理に回ります。毎月5日(休日の場合は翌営業日)までに提出してください。",
        "This submission moves to next month's cycle. Submit by the 5th (next business day if a holiday).",
    ),
    row(
        "T-05",
        T,
        AR,
        None,
        "未登録の送付元機関",
        "Sending institution not registered",
        "機関番号を確認し、未登録の場合は当機関へ利用登録(口座・契約)を申請してください。",
        "Check your institution number; if not registered, apply to this agency (bank account, contracts).",
    ),
    row(
        "T-06",
        T,
        AR,
        None,
        "受付済みのアーカイブ",
        "Archive already received",
        "同じファイルは受付済みです。修正分は新しい作成日・連番のアーカイブで提出してください。",
        "This archive was already received. Send corrections as a new archive (new date or counter).",
    ),
    // ---- A: archive
    row(
        "A-01",
        A,
        AR,
        None,
        "ZIP形式ではない・解凍できない",
        "Not a ZIP file or cannot be extracted",
        "作成ソフトでアーカイブ(ZIP)を作り直し、破損がないことを確認してから提出してください。",
        "Re-create the ZIP archive with your software and make sure it is not damaged.",
    ),
    row(
        "A-02",
        A,
        AR,
        None,
        "アーカイブ名の不備",
        "Archive name does not follow the rule",
        "名前を「送付元番号_送付先番号_作成日YYYYMMDD+連番_実施区分.zip」にしてください。",
        "Name the archive <sender>_<receiver>_<YYYYMMDD><n>_<k>.zip.",
    ),
    row(
        "A-03",
        A,
        AR,
        None,
        "最上位フォルダの不備",
        "Top folder missing or misnamed",
        "ZIPの中にアーカイブ名(.zipを除く)と同じ名前のフォルダを一つだけ置いてください。",
        "Put exactly one top folder, named like the archive without .zip, inside the ZIP.",
    ),
    row(
        "A-04",
        A,
        AR,
        None,
        "交換用基本情報ファイルがない",
        "Index file ix08_V08.xml missing",
        "最上位フォルダに ix08_V08.xml を含めて作り直してください。",
        "Re-create the archive with ix08_V08.xml in the top folder.",
    ),
    row(
        "A-05",
        A,
        AR,
        None,
        "集計情報ファイルがない",
        "Summary file su08_V08.xml missing",
        "決済情報を含む場合は su08_V08.xml を最上位フォルダに含めてください。",
        "When claims are included, put su08_V08.xml in the top folder.",
    ),
    row(
        "A-06",
        A,
        AR,
        None,
        "想定外のフォルダ・ファイル",
        "Unexpected folder or file",
        "DATA・CLAIMS・XSD 以外のフォルダやファイルを除いて作り直してください。",
        "Remove folders and files other than DATA, CLAIMS and XSD.",
    ),
    row(
        "A-07",
        A,
        W,
        None,
        "XSDフォルダの欠落・相違",
        "XSD folder missing or different",
        "受付は当機関のスキーマで行うため警告のみです。作成ソフトの出力設定で、提出年度の公式スキーマ一式をそのままXSDフォルダに含めてください。",
        "Only a warning: the agency validates with its own schemas. Include the official schema set of the submission's fiscal year, unchanged, in the XSD folder of your software's output.",
    ),
    row(
        "A-08",
        A,
        AR,
        None,
        "データファイル・決済ファイルが0件",
        "No data files or no claim files",
        "DATA(と決済の場合はCLAIMS)に1件以上のファイルを含めてください。",
        "Include at least one file in DATA (and in CLAIMS for settlement exchanges).",
    ),
    row(
        "A-09",
        A,
        AR,
        None,
        "安全でないアーカイブ",
        "Unsafe archive",
        "通常の作成ソフトでアーカイブを作り直してください(絶対パス・..・リンク・暗号化・重複名・過大なサイズは不可)。",
        "Re-create the archive with your normal software (no absolute paths, .., links, encryption, duplicate names or oversized entries).",
    ),
    row(
        "A-10",
        A,
        AR,
        None,
        "文字コード・ファイル名の不備",
        "Non-ASCII name or non-UTF-8 XML",
        "フォルダ名・ファイル名は半角英数字のみとし、XMLはUTF-8で出力してください。",
        "Use ASCII folder and file names and write the XML in UTF-8.",
    ),
    // ---- X: XML
    split(row(
        "X-01",
        X,
        AR,
        None,
        "XMLの構文誤り",
        "XML not well-formed",
        "作成ソフトでファイルを出力し直してください。手作業で編集した場合は元に戻してください。",
        "Export the file again from your software; undo any manual edits.",
    )),
    split(row(
        "X-02",
        X,
        AR,
        None,
        "スキーマ違反",
        "Not valid against the V08 schema",
        "指摘の項目を作成ソフトで修正し、出力し直してください。",
        "Correct the named element in your software and export again.",
    )),
    split(row(
        "X-03",
        X,
        AR,
        None,
        "名前空間の誤り",
        "Wrong namespace",
        "実施年度に合った様式(第3期/第4期)で全ファイルを出力し直してください。",
        "Export all files again in the format of the service year (2018 or 2024 set).",
    )),
    row(
        "X-04",
        X,
        FR,
        F01,
        "ファイル種類とフォルダの不一致",
        "Document kind does not match folder or prefix",
        "健診・保健指導データはDATA、決済情報はCLAIMSに、正しい接頭辞で置いてください。",
        "Put data files in DATA and claims in CLAIMS, with the right prefix letter.",
    ),
    row(
        "X-05",
        X,
        AR,
        None,
        "様式バージョンの誤り",
        "Not version V08",
        "V08様式に対応した作成ソフトで出力し直してください。",
        "Export again with software that writes the V08 format.",
    ),
    // ---- I: index
    row(
        "I-01",
        I,
        AR,
        None,
        "種別の誤り",
        "Wrong interaction type",
        "健診機関から代行機関への送付は種別1で作成してください。",
        "An institution sending to an agency must use interaction type 1.",
    ),
    row(
        "I-02",
        I,
        AR,
        None,
        "作成日の誤り",
        "Wrong creation date",
        "交換用基本情報の作成日を正しい日付(未来日不可)にしてください。",
        "Set a valid creation date in the index (not in the future).",
    ),
    row(
        "I-03",
        I,
        AR,
        None,
        "送付元の誤り",
        "Wrong sender",
        "交換用基本情報の送付元をアーカイブ名の送付元番号と同じにしてください。",
        "Make the index sender equal to the sender number in the archive name.",
    ),
    row(
        "I-04",
        I,
        AR,
        None,
        "送付先の誤り",
        "Wrong receiver",
        "送付先に当代行機関の番号(8桁)を設定してください。",
        "Set this agency's 8-digit number as the receiver.",
    ),
    row(
        "I-05",
        I,
        AR,
        None,
        "実施区分の誤り",
        "Wrong service event type",
        "実施区分を健診は1、保健指導は2とし、アーカイブ名の末尾と合わせてください。",
        "Use 1 for checkups and 2 for guidance, matching the end of the archive name.",
    ),
    row(
        "I-06",
        I,
        AR,
        None,
        "総ファイル数の不一致",
        "Total record count does not match",
        "総ファイル数をDATAとCLAIMSのファイル数の合計にしてください。",
        "Set the total record count to the number of files in DATA plus CLAIMS.",
    ),
    row(
        "I-07",
        I,
        AR,
        None,
        "送付元番号の検証番号誤り",
        "Sender number check digit wrong",
        "機関番号(10桁)を確認し、正しい番号で作成し直してください。",
        "Check your 10-digit institution number and re-create the archive.",
    ),
    // ---- S: summary
    row(
        "S-01",
        S,
        AR,
        None,
        "集計情報の実施区分の不一致",
        "Summary service event type differs from index",
        "集計情報の実施区分を交換用基本情報と同じにしてください。",
        "Make the summary's service event type equal to the index.",
    ),
    row(
        "S-02",
        S,
        AR,
        None,
        "受診者数の不一致",
        "Subject count does not match",
        "受診者/利用者の総数を決済ファイルの件数にしてください。",
        "Set the subject count to the number of claim files.",
    ),
    row(
        "S-03",
        S,
        AR,
        None,
        "単価総計の不一致",
        "Total cost does not match the claims",
        "作成ソフトで集計をやり直し、各決済情報の単価合計(算定金額)の合計にしてください。",
        "Recompute the totals: the sum of each claim's unit amount (calculated amount).",
    ),
    row(
        "S-04",
        S,
        AR,
        None,
        "窓口負担総計の不一致",
        "Total co-payment does not match the claims",
        "作成ソフトで集計をやり直し、各決済情報の窓口負担金額の合計にしてください。",
        "Recompute the totals: the sum of each claim's co-payment.",
    ),
    row(
        "S-05",
        S,
        AR,
        None,
        "他制度負担総計の不一致",
        "Total other-programme amount does not match",
        "各決済情報の他制度負担金額の合計にしてください。",
        "Set it to the sum of each claim's other-programme amount.",
    ),
    row(
        "S-06",
        S,
        AR,
        None,
        "請求総計の不一致",
        "Total claim does not match the claims",
        "作成ソフトで集計をやり直し、各決済情報の請求金額の合計にしてください。",
        "Recompute the totals: the sum of each claim's claim amount.",
    ),
    row(
        "S-07",
        S,
        AR,
        None,
        "総計の計算誤り",
        "Totals do not add up",
        "請求総計 = 単価総計 − 窓口負担総計 − 他制度負担総計 となるよう集計し直してください。",
        "Total claim must equal total cost − total co-payment − total other-programme amount.",
    ),
    row(
        "S-08",
        S,
        W,
        None,
        "受領件数・金額は受理分のみ",
        "Receipt covers accepted records only",
        "返戻・保留分は受領書の件数・金額に含まれません。返戻分は修正のうえ再提出してください。",
        "Returned or held records are not in the receipt totals; correct and resubmit returned records.",
    ),
    // ---- P: file names and pairing
    row(
        "P-01",
        P,
        FR,
        F01,
        "ファイル名の不備",
        "File name does not follow the rule",
        "ファイル名を「接頭辞+機関番号10桁+作成日+連番+実施区分+通番6桁.xml」にしてください。",
        "Name files <prefix><institution 10><YYYYMMDD><n><k><serial 6>.xml.",
    ),
    row(
        "P-02",
        P,
        FR,
        F01,
        "接頭辞の誤り",
        "Wrong file prefix",
        "DATAの健診は h、保健指導は g、CLAIMSの健診決済は c で始めてください。",
        "Start DATA files with h (checkup) or g (guidance) and checkup claims with c.",
    ),
    row(
        "P-03",
        P,
        FR,
        F01,
        "データと決済の対応なし",
        "Data file and claim file do not pair",
        "同じ名前(接頭辞以外)のデータファイルと決済ファイルを対で含めてください。",
        "Include each data file with a claim file of the same name apart from the prefix.",
    ),
    row(
        "P-04",
        P,
        FR,
        F01,
        "データと決済の内容不一致",
        "Data and claim disagree",
        "健診データと決済情報で保険者番号・記号番号・氏名・生年月日・性別等を一致させてください。",
        "Make insurer number, card symbol/number, name, birth date, sex etc. equal in data and claim.",
    ),
    row(
        "P-05",
        P,
        AR,
        None,
        "実施区分の混在",
        "Checkups and guidance mixed",
        "健診と保健指導は別のアーカイブで提出してください。",
        "Submit checkups and guidance in separate archives.",
    ),
    // ---- H: record header
    row(
        "H-01",
        H,
        FR,
        F01,
        "報告区分の誤り",
        "Wrong report type",
        "健診は報告区分10、保健指導は実施時点に合った21〜25を設定してください。",
        "Use report type 10 for checkups and 21–25 for guidance, matching the timing.",
    ),
    row(
        "H-02",
        H,
        FR,
        F01,
        "保険者番号の誤り",
        "Wrong insurer number",
        "受診券・保険証の保険者番号(8桁)を確認して入力し直してください。",
        "Check the 8-digit insurer number on the voucher or card and enter it again.",
    ),
    row(
        "H-03",
        H,
        FR,
        F01,
        "被保険者証記号・番号の誤り",
        "Wrong card symbol or number",
        "保険証の記号・番号(各20文字以内)を確認して入力し直してください。",
        "Check the card symbol and number (20 characters each at most) and enter them again.",
    ),
    row(
        "H-04",
        H,
        FR,
        F01,
        "被保険者証枝番の誤り",
        "Wrong card branch number",
        "枝番は2桁の数字で入力してください。",
        "Enter the branch number as 2 digits.",
    ),
    row(
        "H-05",
        H,
        FR,
        F01,
        "受診者情報の不備",
        "Person details missing or wrong",
        "氏名(カナ)・性別・生年月日を確認して入力し直してください。",
        "Check name (kana), sex and birth date and enter them again.",
    ),
    row(
        "H-06",
        H,
        W,
        None,
        "対象年齢外",
        "Outside the 40–74 age range",
        "生年月日と実施日を確認してください。対象外の方は特定健診として請求できない場合があります。",
        "Check birth and service dates; people outside 40–74 may not be billable.",
    ),
    row(
        "H-07",
        H,
        FR,
        F01,
        "郵便番号の誤り",
        "Wrong postal code",
        "郵便番号を「123-4567」の形で入力してください。",
        "Enter the postal code as 123-4567.",
    ),
    row(
        "H-08",
        H,
        FR,
        F01,
        "実施機関番号の誤り",
        "Wrong institution number",
        "実施機関番号(10桁)をファイル名・決済情報と一致させてください。",
        "Make the 10-digit institution number match the file name and the claim.",
    ),
    row(
        "H-09",
        H,
        FR,
        F05,
        "受診券・利用券情報の誤り",
        "Wrong voucher details",
        "受診券(利用券)の整理番号11桁と券面種別を確認して入力し直してください。",
        "Check the 11-digit voucher number and voucher kind and enter them again.",
    ),
    row(
        "H-10",
        H,
        FR,
        F06,
        "実施日の誤り",
        "Wrong service date",
        "実施日が受診券の有効期限内・当該年度内で、未来日でないことを確認してください。",
        "The service date must be within the voucher's validity and fiscal year, and not in the future.",
    ),
    row(
        "H-11",
        H,
        FR,
        F01,
        "健診プログラム種別の誤り",
        "Wrong programme type",
        "特定健診は健診プログラム種別 010 で作成してください。",
        "Use programme type 010 for a specific health checkup.",
    ),
    row(
        "H-12",
        H,
        W,
        None,
        "作成日が実施日より前",
        "Document date before the service date",
        "文書作成日・作成者日時を確認してください。",
        "Check the document and author dates.",
    ),
    // ---- M: items
    row(
        "M-01",
        M,
        FR,
        F01,
        "項目コードの誤り",
        "Unknown item code",
        "実施年度の項目コード表にある17桁のコードで出力してください(作成ソフトの更新を確認)。",
        "Use a 17-digit code from the item table of the service year (check your software is up to date).",
    ),
    row(
        "M-02",
        M,
        FR,
        F01,
        "データ型の誤り",
        "Wrong value type",
        "項目のデータ型(数値・コード・文字)を項目表どおりにしてください。",
        "Give the item the value type the item table requires.",
    ),
    row(
        "M-03",
        M,
        FR,
        F01,
        "単位の誤り",
        "Wrong unit",
        "項目表の単位(cm、kg、mg/dL など)で出力してください。",
        "Use the unit from the item table (cm, kg, mg/dL …).",
    ),
    row(
        "M-04",
        M,
        FR,
        F01,
        "数値の桁数・形式の誤り",
        "Value does not fit the format",
        "整数部・小数部の桁数を項目表の形式に合わせてください。",
        "Fit integer and decimal digits to the item table's format.",
    ),
    row(
        "M-05",
        M,
        FR,
        F01,
        "コード値の誤り",
        "Code not in the item's code list",
        "項目に定められたコード値(例: 1=はい、2=いいえ)で入力してください。",
        "Use a code from the item's code list.",
    ),
    row(
        "M-06",
        M,
        FR,
        F01,
        "文字数超過",
        "Text too long",
        "項目表の文字数以内に収めてください。",
        "Shorten the text to the item table's length.",
    ),
    row(
        "M-07",
        M,
        FR,
        F02,
        "必須項目の欠落",
        "Mandatory item missing",
        "健診結果を確認し、未入力の項目を入力してください。",
        "Check the results and enter the missing item.",
    ),
    row(
        "M-08",
        M,
        FR,
        F02,
        "いずれか必須の項目の欠落",
        "None of an either-or group present",
        "グループ内のいずれかの項目(例: 腹囲の実測・自己測定・自己申告)を入力してください。",
        "Enter at least one item of the group (e.g. waist measured, self-measured or self-reported).",
    ),
    row(
        "M-09",
        M,
        FR,
        F01,
        "関連項目の不整合",
        "Dependent item without its parent",
        "親項目(例: 既往歴「あり」、服薬「あり」)を入力するか、従属項目を削除してください。",
        "Answer the parent item (e.g. history = yes, medication = yes) or remove the dependent item.",
    ),
    row(
        "M-10",
        M,
        FR,
        F02,
        "詳細な健診の不備",
        "Detailed checkup incomplete",
        "詳細な健診の項目・実施理由・対象者区分と請求区分を一致させてください。",
        "Make detailed-checkup items, reason and target flag agree with the claim type.",
    ),
    row(
        "M-11",
        M,
        W,
        None,
        "未実施・測定不能の記録",
        "Test not performed or not measurable",
        "対応は不要です(未実施理由付きの空値は正しい記録です)。",
        "No action needed: an empty value with a reason is a valid record.",
    ),
    row(
        "M-12",
        M,
        W,
        None,
        "値が想定範囲外",
        "Value outside the plausible range",
        "入力誤りがないか健診結果を確認してください。",
        "Check the result for a typing error.",
    ),
    row(
        "M-13",
        M,
        W,
        None,
        "BMIの計算不一致",
        "BMI does not match height and weight",
        "身長・体重・BMIを確認してください。",
        "Check height, weight and BMI.",
    ),
    row(
        "M-14",
        M,
        W,
        None,
        "階層化の不整合",
        "Stratification inconsistent with the values",
        "メタボリックシンドローム判定・保健指導レベルを確認してください。",
        "Check the metabolic syndrome judgement and guidance level.",
    ),
    row(
        "M-15",
        M,
        FR,
        F02,
        "初回請求の支援計画の欠落",
        "First guidance claim without a support plan",
        "初回の請求には支援計画と計画上の集計情報を含めてください。",
        "Include the support plan and planned totals in the first claim.",
    ),
    row(
        "M-16",
        M,
        FR,
        F01,
        "ポイント数の誤り",
        "Wrong guidance points",
        "初回請求では実績ポイントを空欄にし、ポイントは0〜9999で入力してください。",
        "Leave completed points empty in the first claim; points are 0–9999.",
    ),
    row(
        "M-17",
        M,
        FR,
        F01,
        "指導成果コードの誤り",
        "Wrong guidance outcome code",
        "腹囲・体重改善、生活習慣、喫煙の成果コードを定められた値で入力してください。",
        "Use the defined codes for waist/weight, lifestyle and smoking outcomes.",
    ),
    // ---- C: settlement
    row(
        "C-01",
        C,
        FR,
        F01,
        "決済情報の実施区分の不一致",
        "Claim service event type differs from index",
        "決済情報の実施区分を交換用基本情報と同じにしてください。",
        "Make the claim's service event type equal to the index.",
    ),
    row(
        "C-02",
        C,
        FR,
        F01,
        "請求区分と単価の不一致",
        "Claim type does not match the prices",
        "請求区分(1基本/2詳細/3追加/4詳細+追加/5ドック)に合った単価を記録してください。",
        "Record the prices that the claim type (1 basic … 5 dock) requires.",
    ),
    row(
        "C-03",
        C,
        FR,
        F04,
        "委託料単価区分の誤り",
        "Wrong commission type",
        "契約に合わせて個別(1)・集団(2)を設定してください。",
        "Set individual (1) or group (2) as in the contract.",
    ),
    row(
        "C-04",
        C,
        FR,
        F01,
        "単価合計の誤り",
        "Unit amount does not add up",
        "単価合計 = 基本 + 詳細 + 追加(ドックはドック単価)となるよう計算し直してください。",
        "Unit amount must equal basic + detail + additional (or the dock price).",
    ),
    row(
        "C-05",
        C,
        FR,
        F07,
        "窓口負担額の計算誤り",
        "Co-payment computed wrongly",
        "受診券の窓口負担設定(定額・定率・上限)から窓口負担額を計算し直してください。",
        "Recompute the co-payment from the voucher's settings (fixed, rate, cap).",
    ),
    row(
        "C-06",
        C,
        FR,
        F07,
        "窓口負担金額合計の誤り",
        "Total co-payment does not add up",
        "窓口負担金額合計を各区分の窓口負担の合計にしてください。",
        "Set the total co-payment to the sum of the category co-payments.",
    ),
    row(
        "C-07",
        C,
        FR,
        F01,
        "請求金額の計算誤り",
        "Claim amount computed wrongly",
        "請求金額 = 単価合計 − 窓口負担 − 他制度負担 としてください(マイナス不可)。",
        "Claim amount = unit amount − co-payment − other programme (never negative).",
    ),
    row(
        "C-08",
        C,
        FR,
        F01,
        "請求金額が0円",
        "Claim amount is zero",
        "単価・負担額を確認してください。0円の請求は受け付けられません。",
        "Check prices and co-payments; a zero claim cannot be accepted.",
    ),
    row(
        "C-09",
        C,
        FR,
        F04,
        "契約単価との相違",
        "Price differs from the contract",
        "保険者との契約単価(年度・個別/集団)で請求してください。",
        "Bill the contract price for the insurer, fiscal year and individual/group.",
    ),
    row(
        "C-10",
        C,
        FR,
        F04,
        "契約外の追加項目",
        "Additional item not in the contract",
        "契約に含まれる追加項目のみ請求してください。",
        "Bill only additional items included in the contract.",
    ),
    row(
        "C-11",
        C,
        FR,
        F01,
        "他制度負担は契約上不可",
        "Other-programme amount not allowed",
        "この契約では他制度負担は認められていません。他制度負担金額を外してください。",
        "This contract does not allow another programme's share; remove it.",
    ),
    row(
        "C-12",
        C,
        FR,
        F01,
        "窓口負担種別の不備",
        "Co-payment setting malformed",
        "負担区分(1なし/2定額/3定率/4上限)に合わせて金額・率を記録してください。",
        "Record amount or rate as the co-payment code (1 none, 2 fixed, 3 rate, 4 cap) requires.",
    ),
    row(
        "C-13",
        C,
        FR,
        F05,
        "受診券台帳との不一致",
        "Voucher details differ from the ledger",
        "受診券(利用券)の整理番号・有効期限・負担設定を券面どおりに入力してください。",
        "Enter voucher number, expiry and co-payment settings as on the voucher.",
    ),
    row(
        "C-14",
        C,
        FR,
        F01,
        "金額の形式誤り",
        "Amount format wrong",
        "窓口負担は6桁0埋め、金額は0〜999,999,999の整数で出力してください。",
        "Write co-payments as 6 zero-padded digits and amounts as integers 0–999,999,999.",
    ),
    row(
        "C-15",
        C,
        FR,
        F01,
        "保健指導請求の計算誤り",
        "Guidance claim computed wrongly",
        "算定金額 = 契約単価 × 支払割合 ÷ 100、請求金額 = 算定金額 − 窓口負担 としてください。",
        "Calculated amount = unit price × rate ÷ 100; claim = calculated − co-payment.",
    ),
    row(
        "C-16",
        C,
        FR,
        F04,
        "支払割合が契約と相違",
        "Payment rate differs from the contract",
        "初回・実績評価時の支払割合を契約どおりにしてください。",
        "Use the contract's share for the first session or final evaluation.",
    ),
    // ---- D: master data
    row(
        "D-01",
        D,
        FR,
        F04,
        "契約のない保険者",
        "Insurer is not a client",
        "保険者番号を確認してください。当機関と契約のない保険者分は請求できません。",
        "Check the insurer number; this agency does not handle that insurer.",
    ),
    row(
        "D-02",
        D,
        FR,
        F04,
        "契約のない実施機関",
        "Institution not under contract",
        "実施日時点で保険者との契約(集合契約・個別契約)があるか確認してください。",
        "Check that you had a contract with the insurer on the service date.",
    ),
    row(
        "D-03",
        D,
        FR,
        F05,
        "受診券(利用券)が台帳にない・本人と不一致",
        "Voucher not in the ledger or not this person's",
        "受診券の整理番号と受診者の記号番号・氏名・生年月日を券面どおりに入力してください。",
        "Enter the voucher number and the person's card, name and birth date as on the voucher.",
    ),
    row(
        "D-04",
        D,
        FR,
        F09,
        "実施日に資格なし",
        "Person not insured on the service date",
        "受診日時点の資格を保険者に確認してください。",
        "Confirm the person's coverage on the service date with the insurer.",
    ),
    row(
        "D-05",
        D,
        FR,
        F06,
        "受診券(利用券)の有効期限切れ・使用済み",
        "Voucher expired or already used",
        "有効期限内の受診か、同じ受診券で請求済みでないか確認してください。",
        "Check the service date is before expiry and the voucher was not already billed.",
    ),
    row(
        "D-06",
        D,
        FR,
        F07,
        "窓口負担設定が台帳と相違",
        "Co-payment settings differ from the ledger",
        "受診券の券面どおりの窓口負担設定で請求してください。",
        "Bill with the co-payment settings printed on the voucher.",
    ),
    // ---- U: duplicates
    row(
        "U-01",
        U,
        FR,
        F09,
        "同一年度の重複請求",
        "Duplicate claim in the same fiscal year",
        "この方の同年度の健診は支払済みです。重複でないか確認してください。",
        "This person's checkup for the year was already paid; check for a duplicate.",
    ),
    row(
        "U-02",
        U,
        FR,
        F09,
        "アーカイブ内の整理番号重複",
        "Same voucher twice in the archive",
        "同じ受診券(利用券)番号の記録が複数あります。重複分を削除して再提出してください。",
        "Two records use the same voucher number; remove the duplicate and resubmit.",
    ),
    row(
        "U-03",
        U,
        FR,
        F09,
        "再提出分が既存記録と重複",
        "Resubmission duplicates an existing record",
        "返戻分の再提出は、受付中・支払済みの記録と重複しないようにしてください。",
        "A resubmitted record must not duplicate an active or paid record.",
    ),
    row(
        "U-04",
        U,
        FR,
        F08,
        "取下げ依頼",
        "Withdrawal requested",
        "取下げを受け付けました。必要なら修正分を改めて提出してください。",
        "The withdrawal was accepted; submit a corrected record if needed.",
    ),
    row(
        "U-05",
        U,
        FR,
        F09,
        "保健指導の請求順序の誤り",
        "Guidance claims out of sequence",
        "初回は1回のみ、実績評価は初回の後、中止後は請求できません。請求の時点を確認してください。",
        "One first-session claim only, final claim after a first claim, nothing after a stop.",
    ),
    row(
        "U-06",
        U,
        FR,
        F09,
        "過誤申立ての対象記録なし",
        "Erroneous-payment request for an unknown record",
        "過誤申立ての対象が当機関から送付した記録か確認してください。",
        "Check that the request refers to a record this agency delivered.",
    ),
];

/// The catalogue row of `code`, if it exists.
pub fn check(code: &str) -> Option<&'static Check> {
    CATALOGUE.iter().find(|c| c.code == code)
}

/// Makes a finding for `code` with the catalogue's outcome, severity and return reason,
/// and a message built from the catalogue title, the specific detail, and the fix hint.
///
/// `detail_ja` / `detail_en` say what was found where (e.g. "腹囲が未記録です").
/// An unknown code (a programming error) still gives a finding, with outcome W and the
/// code as title, so that nothing panics on the hot path.
pub fn finding(
    code: &'static str,
    file: &str,
    location: &str,
    value: &str,
    detail_ja: &str,
    detail_en: &str,
) -> Finding {
    let (outcome, return_reason, title_ja, title_en, hint_ja, hint_en) = match check(code) {
        Some(c) => {
            let (o, r) = c.outcome_for(file);
            (o, r, c.title_ja, c.title_en, c.hint_ja, c.hint_en)
        }
        None => (W, None, "", "", "", ""),
    };
    Finding {
        code,
        severity: outcome.severity(),
        outcome,
        return_reason: if outcome == FR {
            return_reason.or(Some(R::Other))
        } else {
            None
        },
        file: file.to_string(),
        location: location.to_string(),
        value: value.to_string(),
        message_ja: message_ja(code, title_ja, detail_ja, hint_ja),
        message_en: message_en(code, title_en, detail_en, hint_en),
    }
}

/// Like [`finding`], with a return reason other than the catalogue's first one (for rows
/// such as H-02 "FR (01/04)" or C-13 "FR (05/06/07)").
pub fn finding_with_reason(
    code: &'static str,
    reason: ReturnReason,
    file: &str,
    location: &str,
    value: &str,
    detail_ja: &str,
    detail_en: &str,
) -> Finding {
    let mut f = finding(code, file, location, value, detail_ja, detail_en);
    if f.outcome == FR {
        f.return_reason = Some(reason);
    }
    f
}

/// Like [`finding`], with an outcome other than the catalogue default (for rows such as
/// A-06 "AR (unknown files: W)" or I-02 "AR (future) / W").
pub fn finding_with_outcome(
    code: &'static str,
    outcome: Outcome,
    file: &str,
    location: &str,
    value: &str,
    detail_ja: &str,
    detail_en: &str,
) -> Finding {
    let mut f = finding(code, file, location, value, detail_ja, detail_en);
    apply_override(&mut f, outcome);
    f
}

/// An information finding (severity info, outcome W): a check that did not run, e.g.
/// "skipped: no voucher ledger loaded", or an accepted special case (M-11).
pub fn info(
    code: &'static str,
    file: &str,
    location: &str,
    value: &str,
    detail_ja: &str,
    detail_en: &str,
) -> Finding {
    let mut f = finding(code, file, location, value, detail_ja, detail_en);
    f.severity = Severity::Info;
    f.outcome = W;
    f.return_reason = None;
    // A note asks nothing of the clerk: title and detail only, no fix hint.
    let (title_ja, title_en) = check(code)
        .map(|c| (c.title_ja, c.title_en))
        .unwrap_or(("", ""));
    f.message_ja = message_ja(code, title_ja, detail_ja, "");
    f.message_en = message_en(code, title_en, detail_en, "");
    f
}

/// Changes the outcome of a finding (per-agency override, CHECKS.md decision 2). Keeps
/// an info finding informational; gives an FR finding a return reason (the catalogue's,
/// else 09).
pub fn apply_override(f: &mut Finding, outcome: Outcome) {
    if f.severity == Severity::Info {
        return;
    }
    f.outcome = outcome;
    f.severity = outcome.severity();
    if outcome == FR {
        if f.return_reason.is_none() {
            let reason = check(f.code)
                .and_then(|c| c.record_file_outcome.map(|(_, r)| r).or(c.return_reason))
                .or_else(|| reason_when_returned(f.code))
                .unwrap_or(R::Other);
            f.return_reason = Some(reason);
        }
    } else {
        f.return_reason = None;
    }
}

/// The 返戻理由 CHECKS.md gives to a W/CI row that an agency turns into a return
/// ("W (or FR 04 by contract)").
fn reason_when_returned(code: &str) -> Option<ReturnReason> {
    match code {
        "H-06" => Some(R::OutsideContract),
        "M-12" | "M-13" | "M-14" => Some(R::AbnormalResult),
        _ => None,
    }
}

fn message_ja(code: &str, title: &str, detail: &str, hint: &str) -> String {
    let mut m = format!("【{code} {title}】");
    if !detail.is_empty() {
        m.push_str(detail);
        if !detail.ends_with('。') {
            m.push('。');
        }
    }
    if !hint.is_empty() {
        m.push_str("対処: ");
        m.push_str(hint);
    }
    m
}

fn message_en(code: &str, title: &str, detail: &str, hint: &str) -> String {
    let mut m = format!("[{code} {title}]");
    if !detail.is_empty() {
        m.push(' ');
        m.push_str(detail);
        if !detail.ends_with('.') {
            m.push('.');
        }
    }
    if !hint.is_empty() {
        m.push_str(" Fix: ");
        m.push_str(hint);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_code_of_checks_md_once() {
        let counts = [
            (T, 6),
            (A, 10),
            (X, 5),
            (I, 7),
            (S, 8),
            (P, 5),
            (H, 12),
            (M, 17),
            (C, 16),
            (D, 6),
            (U, 6),
        ];
        assert_eq!(CATALOGUE.len(), 98);
        for (stage, n) in counts {
            let rows: Vec<_> = CATALOGUE.iter().filter(|c| c.stage == stage).collect();
            assert_eq!(rows.len(), n, "{stage:?}");
            for (i, c) in rows.iter().enumerate() {
                assert_eq!(c.code, format!("{stage:?}-{:02}", i + 1));
            }
        }
        for c in CATALOGUE {
            assert_eq!(c.outcome == FR, c.return_reason.is_some(), "{}", c.code);
            assert!(!c.title_ja.is_empty() && !c.hint_en.is_empty());
        }
    }

    #[test]
    fn message_is_title_detail_hint() {
        let f = finding(
            "M-07",
            "DATA/h1.xml",
            "/x",
            "",
            "腹囲が記録されていません",
            "Waist is not recorded",
        );
        assert!(
            f.message_ja
                .starts_with("【M-07 必須項目の欠落】腹囲が記録されていません。対処: ")
        );
        assert!(
            f.message_en
                .starts_with("[M-07 Mandatory item missing] Waist is not recorded. Fix: ")
        );
        assert_eq!(f.return_reason, Some(R::MissingEntries));
        assert_eq!(f.severity, Severity::Error);
    }

    #[test]
    fn x_checks_depend_on_the_file() {
        assert_eq!(finding("X-01", "ix08_V08.xml", "", "", "", "").outcome, AR);
        let f = finding("X-01", "CLAIMS/c1.xml", "", "", "", "");
        assert_eq!((f.outcome, f.return_reason), (FR, Some(R::FormatDefect)));
    }

    #[test]
    fn overrides_change_outcome_and_reason() {
        let mut f = finding("H-06", "DATA/h1.xml", "", "", "", "");
        assert_eq!(f.outcome, W);
        apply_override(&mut f, FR);
        assert_eq!((f.outcome, f.return_reason), (FR, Some(R::OutsideContract)));
        let mut g = finding("H-12", "DATA/h1.xml", "", "", "", "");
        apply_override(&mut g, FR);
        assert_eq!(g.return_reason, Some(R::Other));
        let _ = DEFER;
    }
}

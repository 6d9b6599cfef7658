//! The one error type of the crate, with English (`Display`) and Japanese (`message_ja`) text.

use std::path::PathBuf;

/// Where a sealed file was found damaged. Kept separate so the Japanese text can say the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The header after the magic cannot be parsed (lengths, names, chunk size, key).
    Header,
    /// The file length does not fit the chunk layout: truncated, or bytes appended.
    Layout,
    /// Chunk `n` (0-based) failed AES-GCM authentication: altered, reordered, dropped or
    /// wrongly flagged as last (STREAM construction).
    Chunk(u64),
    /// The input changed between the signature pass and the decryption pass.
    Changed,
}

impl Damage {
    fn en(self) -> String {
        match self {
            Damage::Header => "the header is malformed".into(),
            Damage::Layout => {
                "its length does not fit the chunk layout (truncated or extra bytes)".into()
            }
            Damage::Chunk(n) => format!("chunk {n} failed authentication"),
            Damage::Changed => "the file changed while it was being read".into(),
        }
    }

    fn ja(self) -> String {
        match self {
            Damage::Header => "ヘッダーが不正です".into(),
            Damage::Layout => {
                "長さがチャンク構成と一致しません（切り詰め、または余分なデータ）".into()
            }
            Damage::Chunk(n) => format!("チャンク {n} の認証に失敗しました"),
            Damage::Changed => "読み取り中にファイルが変更されました".into(),
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en())
    }
}

/// Everything that can go wrong when sealing, opening or handling keys.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The input does not start with the magic `DAIKO-SEAL-1`.
    #[error("not a sealed file: it does not start with DAIKO-SEAL-1")]
    NotASealedFile,
    /// The file was sealed for another organisation.
    #[error("wrong recipient: the file is sealed for {found:?}, but this is {expected:?}")]
    WrongRecipient { expected: String, found: String },
    /// The file names our organisation but was sealed to other keys (old or foreign key pair).
    #[error(
        "wrong recipient key: the file is sealed for {recipient:?} key {found}, \
         but our key fingerprint is {expected} (rotated or wrong key file?)"
    )]
    WrongRecipientKey {
        recipient: String,
        expected: String,
        found: String,
    },
    /// No public key is registered for the sender named in the header.
    #[error("unknown sender {sender:?}: no public key is registered for it")]
    UnknownSender { sender: String },
    /// The sender's signature does not verify.
    #[error(
        "bad signature: the file does not carry a valid signature of {sender:?} \
         (altered, truncated, extended, or signed with another key)"
    )]
    BadSignature { sender: String },
    /// The file is damaged or was altered; see [`Damage`].
    #[error("sealed file is damaged or was altered: {0}")]
    Tampered(Damage),
    /// A value given to `seal` (id, file name) cannot go into a header.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    /// A `daiko-pub-v1:` text or key bytes could not be parsed.
    #[error("invalid public keys: {0}")]
    InvalidPublicKeys(&'static str),
    /// A key file is readable by group or others (S20).
    #[error(
        "key file {path} is readable by group or others (mode {mode:03o}); run chmod 600 on it"
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    /// A key file could not be read, written or parsed.
    #[error("key file {path}: {detail}")]
    KeyFile { path: PathBuf, detail: String },
    /// Private key bytes were rejected by aws-lc.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    /// An aws-lc operation failed that should not (random source, key generation).
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl SealError {
    /// The same message in Japanese, for 窓口 staff and the portal.
    pub fn message_ja(&self) -> String {
        match self {
            SealError::NotASealedFile => {
                "暗号化・署名済みファイル（DAIKO-SEAL-1）ではありません。".into()
            }
            SealError::WrongRecipient { expected, found } => format!(
                "宛先が違います: このファイルは「{found}」宛てです（当機関は「{expected}」）。"
            ),
            SealError::WrongRecipientKey {
                recipient,
                expected,
                found,
            } => format!(
                "宛先の鍵が違います: このファイルは「{recipient}」の別の鍵（指紋 {found}）宛てに\
                 暗号化されています。現在の鍵の指紋は {expected} です（鍵の更新、または鍵ファイルの誤り）。"
            ),
            SealError::UnknownSender { sender } => {
                format!("送信元「{sender}」の公開鍵が登録されていません。")
            }
            SealError::BadSignature { sender } => format!(
                "署名が一致しません: 送信元「{sender}」の正しい署名がありません\
                 （改ざん、切り詰め、データの追加、または別の鍵による署名）。"
            ),
            SealError::Tampered(d) => {
                format!("ファイルが破損しているか、改ざんされています: {}。", d.ja())
            }
            SealError::InvalidField { field, reason } => {
                format!("{field} が不正です: {reason}")
            }
            SealError::InvalidPublicKeys(why) => format!("公開鍵が不正です: {why}"),
            SealError::KeyFileTooOpen { path, mode } => format!(
                "鍵ファイル {} はグループまたは他のユーザーが読み取れます（モード {mode:03o}）。\
                 chmod 600 を実行してください。",
                path.display()
            ),
            SealError::KeyFile { path, detail } => {
                format!("鍵ファイル {} を扱えません: {detail}", path.display())
            }
            SealError::InvalidPrivateKey(why) => format!("秘密鍵が不正です: {why}"),
            SealError::Crypto(what) => format!("暗号処理に失敗しました: {what}"),
            SealError::Io(e) => format!("入出力エラー: {e}"),
        }
    }
}

//! Issuing API tokens (S2). A token is a bearer secret: on its own it is one factor. So the
//! second factor is required when a token is *issued* to a person: the person proves
//! possession of their enrolled TOTP device with a fresh code (checked like a sign-in: ±1
//! step, the step is consumed, a replayed code is refused). Such a token is then a credential
//! derived from both factors, and its issue is audited as such.
//!
//! Machine tokens are for systems (an insurer's or institution's integration): they are
//! issued only to `insurer`/`institution` accounts that have no TOTP device enrolled, i.e.
//! system accounts no person has signed in with (the portal makes every person enrol at the
//! first sign-in), and the audit row marks them `kind=machine`. When such an account enrols a
//! TOTP device it becomes a person's and its tokens are revoked (`web/login.rs`).
//! Agency people (operator, administrator, auditor) never get machine tokens; maintenance and
//! emergency accounts get no tokens at all (S11, S12).

use thiserror::Error;

use daiko_store::Store;
use daiko_store::audit::AuditEntry;
use daiko_store::users::User;

use crate::auth::{IssuedToken, TotpError, new_api_token, verify_totp};

/// Roles whose accounts are people and may hold a token issued with their second factor.
pub const PERSON_TOKEN_ROLES: [&str; 5] =
    ["operator", "admin", "auditor", "insurer", "institution"];
/// Roles whose system accounts may hold machine tokens.
pub const MACHINE_TOKEN_ROLES: [&str; 2] = ["insurer", "institution"];

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A person: needs a valid, unused TOTP code of the account.
    Person,
    /// A system (integration) account of an insurer or institution without a TOTP device.
    Machine,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Person => "person",
            TokenKind::Machine => "machine",
        }
    }
}

#[derive(Debug, Error)]
pub enum TokenError {
    #[error("{0} accounts cannot have API tokens")]
    RoleWithoutTokens(String),
    #[error("machine tokens are only for insurer or institution system accounts, not {0}")]
    MachineRole(String),
    #[error("the account has a TOTP device: it is a person's; issue a person token with --totp")]
    MachineHasTotp,
    #[error("the account has no TOTP device yet: sign in to the portal once to enrol it")]
    NoTotp,
    #[error("a TOTP code of the account is required for a person's token (--totp)")]
    CodeMissing,
    #[error("the TOTP code is wrong")]
    WrongCode,
    #[error("the TOTP code was already used")]
    Replayed,
    #[error(transparent)]
    Store(#[from] daiko_store::StoreError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
}

impl TokenError {
    /// The message in Japanese.
    pub fn message_ja(&self) -> String {
        match self {
            TokenError::RoleWithoutTokens(r) => format!("{r} の利用者にはAPIトークンを発行できません。"),
            TokenError::MachineRole(r) => format!(
                "システム用トークンは保険者・健診機関のシステム用アカウントにのみ発行できます({r} には発行できません)。"
            ),
            TokenError::MachineHasTotp => "このアカウントには二要素認証(TOTP)が登録されているため個人のアカウントです。--totp で個人用トークンを発行してください。".into(),
            TokenError::NoTotp => "このアカウントには二要素認証(TOTP)がまだ登録されていません。先にポータルにログインして登録してください。".into(),
            TokenError::CodeMissing => "個人用トークンの発行には本人の確認コード(--totp)が必要です。".into(),
            TokenError::WrongCode => "確認コードが正しくありません。".into(),
            TokenError::Replayed => "確認コードはすでに使用されています。次のコードを入力してください。".into(),
            TokenError::Store(e) => format!("データベースエラー: {e}"),
            TokenError::Auth(e) => format!("内部エラー: {e}"),
        }
    }
}

/// The kind of token to issue: a machine token when asked for (`machine`), else a person's
/// when a code is given or the account has a TOTP device or an agency role; an insurer or
/// institution account without a device (a system account) gets a machine token.
pub fn kind_for(user: &User, machine: bool, code_given: bool) -> TokenKind {
    if machine {
        return TokenKind::Machine;
    }
    if !code_given
        && user.totp_secret.is_empty()
        && MACHINE_TOKEN_ROLES.contains(&user.role.as_str())
    {
        return TokenKind::Machine;
    }
    TokenKind::Person
}

/// Issues an API token for `user` after the checks of `kind`; every issue and every refusal
/// is an audit row (`token.create`, `token.refused`) built from `who` (the issuer: actor,
/// role, source). Answers the token, whose plain value is shown once and never stored.
pub async fn issue(
    store: &Store,
    user: &User,
    kind: TokenKind,
    totp_code: Option<&str>,
    who: &AuditEntry,
) -> Result<IssuedToken, TokenError> {
    match check(store, user, kind, totp_code).await {
        Ok(()) => {}
        Err(e) => {
            if !matches!(e, TokenError::Store(_) | TokenError::Auth(_)) {
                let _ = store
                    .audit(&entry(
                        who,
                        "token.refused",
                        user,
                        format!("kind={}; {e}", kind.as_str()),
                    ))
                    .await;
            }
            return Err(e);
        }
    }
    let issued = new_api_token()?;
    store.add_token(&user.id, &issued.hash).await?;
    let detail = match kind {
        TokenKind::Person => "kind=person; second factor: TOTP code of the account",
        TokenKind::Machine => "kind=machine; system account without a TOTP device",
    };
    store
        .audit(&entry(who, "token.create", user, detail.to_string()))
        .await?;
    Ok(issued)
}

async fn check(
    store: &Store,
    user: &User,
    kind: TokenKind,
    totp_code: Option<&str>,
) -> Result<(), TokenError> {
    match kind {
        TokenKind::Machine => {
            if !MACHINE_TOKEN_ROLES.contains(&user.role.as_str()) {
                return Err(TokenError::MachineRole(user.role.clone()));
            }
            if !user.totp_secret.is_empty() {
                return Err(TokenError::MachineHasTotp);
            }
            Ok(())
        }
        TokenKind::Person => {
            if !PERSON_TOKEN_ROLES.contains(&user.role.as_str()) {
                return Err(TokenError::RoleWithoutTokens(user.role.clone()));
            }
            if user.totp_secret.is_empty() {
                return Err(TokenError::NoTotp);
            }
            let code = totp_code
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or(TokenError::CodeMissing)?;
            let now = jiff::Timestamp::now().as_second().max(0) as u64;
            match verify_totp(&user.totp_secret, code, now, user.totp_last_step) {
                Ok(step) => {
                    if store.use_totp_step(&user.id, step).await? {
                        Ok(())
                    } else {
                        Err(TokenError::Replayed)
                    }
                }
                Err(TotpError::Replayed { .. }) => Err(TokenError::Replayed),
                Err(_) => Err(TokenError::WrongCode),
            }
        }
    }
}

fn entry(who: &AuditEntry, action: &str, user: &User, detail: String) -> AuditEntry {
    AuditEntry {
        action: action.to_string(),
        target: format!("user:{}", user.id),
        records: user.login.clone(),
        detail,
        ..who.clone()
    }
}

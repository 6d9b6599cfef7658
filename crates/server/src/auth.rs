//! Authentication primitives (SECURITY.md S2–S6): password hashing and policy, TOTP, API tokens and
//! session ids, lockout and session timeouts.
//!
//! Everything here is pure: no database, no clock, no HTTP. Handlers pass in what they read from the
//! store and `now`, and store what comes back. Nothing in this module logs, and no type here prints a
//! password, token or TOTP secret through `Debug` or `Display`.

use std::collections::HashSet;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::LazyLock;

use aws_lc_rs::{digest, pbkdf2, rand};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use jiff::{SignedDuration, Timestamp};

/// Errors of the password hashing and random-number parts of this module.
///
/// No variant carries a password or a stored hash, so these can be logged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// The system random-number generator failed (should never happen; refuse the request).
    #[error("the system random-number generator failed")]
    Random,
    /// A stored password hash is not `$pbkdf2-sha256$i=<n>$<b64 salt>$<b64 hash>`.
    #[error("malformed stored password hash: {0}")]
    MalformedHash(&'static str),
    /// A configured PBKDF2 iteration count outside the allowed range.
    #[error("PBKDF2 iteration count {got} is outside {min}..={max}")]
    Iterations { got: u32, min: u32, max: u32 },
}

// ---------------------------------------------------------------------------------------------
// Password hashing (S4)
// ---------------------------------------------------------------------------------------------

/// OWASP's floor for PBKDF2-HMAC-SHA-256 (Password Storage Cheat Sheet, 2023): 600,000 iterations.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;
/// Upper bound on the iteration count accepted from a stored string, so that a tampered row cannot
/// make one login attempt run for minutes.
pub const MAX_PBKDF2_ITERATIONS: u32 = 20_000_000;
/// Scheme identifier in the stored string.
const PHC_ID: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// PBKDF2-HMAC-SHA-256 password hasher (CRYPTREC-listed primitives only, S4).
///
/// Stored form: `$pbkdf2-sha256$i=600000$<salt>$<hash>` with standard base64 without padding, a
/// 16-byte random salt and a 32-byte derived key. Verification uses the iteration count written in
/// the stored string, so raising [`DEFAULT_PBKDF2_ITERATIONS`] later keeps old hashes working;
/// [`PasswordHasher::needs_rehash`] tells the login handler to re-hash after a successful login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHasher {
    iterations: NonZeroU32,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self {
            iterations: NonZeroU32::MIN.saturating_add(DEFAULT_PBKDF2_ITERATIONS - 1),
        }
    }
}

impl PasswordHasher {
    /// A hasher for new hashes with `iterations` rounds; refuses anything below
    /// [`DEFAULT_PBKDF2_ITERATIONS`] (configuration may only raise the cost).
    pub fn new(iterations: u32) -> Result<Self, AuthError> {
        match NonZeroU32::new(iterations) {
            Some(n)
                if (DEFAULT_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&iterations) =>
            {
                Ok(Self { iterations: n })
            }
            _ => Err(AuthError::Iterations {
                got: iterations,
                min: DEFAULT_PBKDF2_ITERATIONS,
                max: MAX_PBKDF2_ITERATIONS,
            }),
        }
    }

    /// TESTS ONLY: a hasher with a low iteration count so that test suites do not spend a second
    /// per password. Never use in production code; `iterations` is clamped to 1..=max.
    #[doc(hidden)]
    pub fn insecure_for_tests(iterations: u32) -> Self {
        let clamped = iterations.clamp(1, MAX_PBKDF2_ITERATIONS);
        Self {
            iterations: NonZeroU32::MIN.saturating_add(clamped - 1),
        }
    }

    /// Iteration count used for new hashes.
    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// Hash `password` with a fresh random salt into the stored form.
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        let mut salt = [0u8; SALT_LEN];
        rand::fill(&mut salt).map_err(|_| AuthError::Random)?;
        let mut out = [0u8; HASH_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &salt,
            password.as_bytes(),
            &mut out,
        );
        Ok(format!(
            "${PHC_ID}$i={}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    }

    /// Check `password` against a stored hash; see [`verify_password`].
    pub fn verify(&self, password: &str, stored: &str) -> Result<bool, AuthError> {
        verify_password(password, stored)
    }

    /// True when `stored` should be replaced by a fresh hash after the next successful login: it
    /// uses fewer iterations than this hasher, another salt/output size, or cannot be parsed.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match ParsedHash::parse(stored) {
            Ok(p) => {
                p.iterations < self.iterations
                    || p.salt.len() != SALT_LEN
                    || p.hash.len() != HASH_LEN
            }
            Err(_) => true,
        }
    }

    /// Spend the time of one verification without a stored hash. Call it when the login name is
    /// unknown so that response time does not reveal which accounts exist (ASVS 2.2 / V3).
    pub fn dummy_verify(&self, password: &str) {
        let mut out = [0u8; HASH_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            self.iterations,
            &[0u8; SALT_LEN],
            password.as_bytes(),
            &mut out,
        );
    }
}

/// Hash with the default cost ([`DEFAULT_PBKDF2_ITERATIONS`]).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    PasswordHasher::default().hash(password)
}

/// Check `password` against `stored`, honouring the iteration count written in `stored`.
///
/// `Ok(false)` for a wrong password; `Err(MalformedHash)` when `stored` is not our format (a
/// corrupted or foreign row — the caller should refuse the login and alert, not treat it as a
/// wrong password). The comparison is constant-time (`aws_lc_rs::pbkdf2::verify`).
pub fn verify_password(password: &str, stored: &str) -> Result<bool, AuthError> {
    let p = ParsedHash::parse(stored)?;
    Ok(pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        p.iterations,
        &p.salt,
        password.as_bytes(),
        &p.hash,
    )
    .is_ok())
}

/// [`PasswordHasher::needs_rehash`] against the default hasher.
pub fn needs_rehash(stored: &str) -> bool {
    PasswordHasher::default().needs_rehash(stored)
}

/// The fields of a stored hash.
struct ParsedHash {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl ParsedHash {
    fn parse(stored: &str) -> Result<Self, AuthError> {
        use AuthError::MalformedHash as M;
        let mut parts = stored.split('$');
        if parts.next() != Some("") {
            return Err(M("does not start with '$'"));
        }
        if parts.next() != Some(PHC_ID) {
            return Err(M("scheme is not pbkdf2-sha256"));
        }
        let iterations = parts
            .next()
            .and_then(|p| p.strip_prefix("i="))
            .ok_or(M("missing i=<iterations>"))?;
        if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
            return Err(M("iteration count is not a decimal number"));
        }
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|&n| n <= MAX_PBKDF2_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or(M("iteration count out of range"))?;
        let salt = parts
            .next()
            .map(|s| STANDARD_NO_PAD.decode(s))
            .ok_or(M("missing salt"))?
            .map_err(|_| M("salt is not base64"))?;
        let hash = parts
            .next()
            .map(|s| STANDARD_NO_PAD.decode(s))
            .ok_or(M("missing hash"))?
            .map_err(|_| M("hash is not base64"))?;
        if parts.next().is_some() {
            return Err(M("too many '$'-separated fields"));
        }
        if salt.len() < SALT_LEN {
            return Err(M("salt shorter than 16 bytes"));
        }
        if hash.len() != HASH_LEN {
            return Err(M("hash is not 32 bytes"));
        }
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Password policy (S3)
// ---------------------------------------------------------------------------------------------

/// Minimum length for accounts that also have a second factor (S3).
pub const MIN_LEN_WITH_SECOND_FACTOR: usize = 8;
/// Minimum length for accounts without a second factor (S3).
pub const MIN_LEN_WITHOUT_SECOND_FACTOR: usize = 13;
/// Longest password accepted (ASVS 4.0 2.1.2: at least 64 allowed, more than 128 denied).
pub const MAX_PASSWORD_LEN: usize = 128;

/// Why a new password was refused. Carries no part of the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("password too short: at least {min} characters required, got {actual}")]
    TooShort { min: usize, actual: usize },
    #[error("password too long: at most {max} characters allowed, got {actual}")]
    TooLong { max: usize, actual: usize },
    #[error("password contains the login name")]
    ContainsLogin,
    #[error("password contains the user's name")]
    ContainsName,
    #[error("password is a common or breached-style password")]
    Common,
    #[error("password is a trivial pattern (repeated characters, a run or a keyboard row)")]
    TrivialPattern,
}

impl PolicyViolation {
    /// Message for the Japanese portal.
    pub fn message_ja(&self) -> String {
        match self {
            Self::TooShort { min, .. } => format!("パスワードは{min}文字以上にしてください。"),
            Self::TooLong { max, .. } => format!("パスワードは{max}文字以内にしてください。"),
            Self::ContainsLogin => "パスワードにログインIDを含めることはできません。".into(),
            Self::ContainsName => "パスワードに氏名を含めることはできません。".into(),
            Self::Common => "よく使われる（漏えい事例の多い）パスワードは使用できません。".into(),
            Self::TrivialPattern => {
                "同じ文字の繰り返し、連続した文字列、キーボード配列の並びは使用できません。".into()
            }
        }
    }

    /// Message in English (API clients, logs).
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

const COMMON_PASSWORDS_TXT: &str = include_str!("common-passwords.txt");

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Keyboard sequences (JIS/US share these rows). A password that is a stretch of one of them, or of
/// its reverse, is a trivial pattern.
const KEYBOARD_SEQUENCES: &[&str] = &[
    "1234567890-=",
    "1234567890-^\\",
    "qwertyuiop[]",
    "qwertyuiop@[",
    "asdfghjkl;'",
    "asdfghjkl;:]",
    "zxcvbnm,./",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
    "zaq1xsw2cde3vfr4bgt5nhy6mju7,ki8.lo9/;p0",
    "1q2w3e4r5t6y7u8i9o0p",
    "q1w2e3r4t5y6u7i8o9p0",
    "qazwsxedcrfvtgbyhnujmikolp",
    "qweasdzxc",
];

/// Check a new password against S3.
///
/// * length (in characters): [`MIN_LEN_WITH_SECOND_FACTOR`] with a second factor, else
///   [`MIN_LEN_WITHOUT_SECOND_FACTOR`]; at most [`MAX_PASSWORD_LEN`];
/// * must not contain the login (or its part before `@`) or the display name (whole, without
///   spaces, or any space-separated part), case-insensitively, for those of 3+ characters;
/// * must not be a common password, also after stripping leading/trailing digits and symbols
///   (`sakura2024!`) and undoing common substitutions (`p@ssw0rd`), nor a repetition of one;
/// * must not be a trivial pattern: one repeated character, an ascending/descending run
///   (`abcdefgh`, `87654321`), a keyboard row or column, or a short unit repeated (`abcabcabc`).
///
/// Returns the first violation found, in the order listed.
pub fn check_password_policy(
    password: &str,
    login: &str,
    display_name: &str,
    has_second_factor: bool,
) -> Result<(), PolicyViolation> {
    let actual = password.chars().count();
    if actual > MAX_PASSWORD_LEN {
        return Err(PolicyViolation::TooLong {
            max: MAX_PASSWORD_LEN,
            actual,
        });
    }
    let min = if has_second_factor {
        MIN_LEN_WITH_SECOND_FACTOR
    } else {
        MIN_LEN_WITHOUT_SECOND_FACTOR
    };
    if actual < min {
        return Err(PolicyViolation::TooShort { min, actual });
    }

    let lower = password.to_lowercase();
    if contains_identity(&lower, login_fragments(login)) {
        return Err(PolicyViolation::ContainsLogin);
    }
    if contains_identity(&lower, name_fragments(display_name)) {
        return Err(PolicyViolation::ContainsName);
    }

    let variants = [lower.clone(), unleet(&lower, 'i'), unleet(&lower, 'l')];
    let mut candidates: Vec<String> = Vec::new();
    for v in &variants {
        for c in [v.clone(), core(v).to_string()] {
            if c.chars().count() >= 4 {
                if let Some(unit) = repeated_unit(&c) {
                    candidates.push(unit.to_string());
                }
                candidates.push(c);
            }
        }
    }
    if candidates
        .iter()
        .any(|c| COMMON_PASSWORDS.contains(c.as_str()))
    {
        return Err(PolicyViolation::Common);
    }
    if std::iter::once(&lower)
        .chain(candidates.iter())
        .any(|c| is_trivial(c))
    {
        return Err(PolicyViolation::TrivialPattern);
    }
    Ok(())
}

fn login_fragments(login: &str) -> Vec<String> {
    let login = login.trim().to_lowercase();
    let mut out = vec![login.clone()];
    if let Some((local, _)) = login.split_once('@') {
        out.push(local.to_string());
    }
    out
}

fn name_fragments(name: &str) -> Vec<String> {
    let name = name.trim().to_lowercase();
    let mut out: Vec<String> = name.split_whitespace().map(str::to_string).collect();
    out.push(name.chars().filter(|c| !c.is_whitespace()).collect());
    out.push(name);
    out
}

/// True when `password_lower` contains any fragment of 3+ characters.
fn contains_identity(password_lower: &str, fragments: Vec<String>) -> bool {
    fragments
        .iter()
        .any(|f| f.chars().count() >= 3 && password_lower.contains(f.as_str()))
}

/// Undo the usual character substitutions; `one` is what `1` stands for (`i` or `l`).
fn unleet(s: &str, one: char) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => one,
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// `s` without leading and trailing non-letters (`!!sakura2024?` -> `sakura`).
fn core(s: &str) -> &str {
    s.trim_matches(|c: char| !c.is_alphabetic())
}

/// If `s` is a shorter string repeated two or more times, that string.
fn repeated_unit(s: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    (1..=n / 2)
        .filter(|&p| n.is_multiple_of(p))
        .find(|&p| (p..n).all(|i| chars[i].1 == chars[i - p].1))
        .map(|p| &s[..chars[p].0])
}

fn is_trivial(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return false;
    }
    let all_same = chars.iter().all(|&c| c == chars[0]);
    let run = |d: i64| chars.windows(2).all(|w| w[1] as i64 - w[0] as i64 == d);
    let keyboard = chars.len() >= 4
        && KEYBOARD_SEQUENCES.iter().any(|seq| {
            let rev: String = seq.chars().rev().collect();
            seq.contains(s) || rev.contains(s)
        });
    let short_unit = repeated_unit(s).is_some_and(|u| u.chars().count() <= 4);
    all_same || run(1) || run(-1) || keyboard || short_unit
}

// ---------------------------------------------------------------------------------------------
// TOTP (S2)
// ---------------------------------------------------------------------------------------------

/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Length of a TOTP time step in seconds (RFC 6238 §5.2).
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one for clock drift (RFC 6238 §5.2 recommends 1).
pub const TOTP_SKEW_STEPS: i64 = 1;
/// Issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "daiko";
/// Bytes of a new TOTP secret (RFC 4226 §4 recommends 160 bits).
const TOTP_SECRET_LEN: usize = 20;

/// Why a TOTP code was refused. The handler should show the user one message for all of these
/// (to not help guessing) but audit them apart: `Replayed` may mean a shoulder-surfed code.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("TOTP code must be exactly 6 digits")]
    MalformedCode,
    #[error("stored TOTP secret is not valid base32 of at least 128 bits")]
    InvalidSecret,
    #[error("TOTP code for step {step} was already used (last used step {last_used})")]
    Replayed { step: i64, last_used: i64 },
    #[error("TOTP code does not match")]
    Mismatch,
    #[error("the current time is outside the TOTP range")]
    Clock,
    #[error("cannot build the TOTP enrolment: {0}")]
    Enrolment(#[from] totp_rs::TotpError),
    #[error("the system random-number generator failed")]
    Random,
}

/// A new random TOTP secret (160 bits), base32 without padding as authenticator apps expect.
///
/// The secret must be stored recoverably (it is a shared key, not a verifier), so the store must
/// encrypt it at rest (S18).
pub fn new_totp_secret() -> Result<String, TotpError> {
    let mut bytes = [0u8; TOTP_SECRET_LEN];
    rand::fill(&mut bytes).map_err(|_| TotpError::Random)?;
    Ok(totp_rs::Secret::from(bytes).to_base32())
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` for the enrolment QR code.
///
/// Algorithm, digits and period are the defaults (SHA1, 6, 30) and therefore omitted from the URL,
/// which is what every authenticator app understands. `issuer` and `account` must not contain `:`.
pub fn otpauth_url(secret_base32: &str, issuer: &str, account: &str) -> Result<String, TotpError> {
    Ok(build_totp(secret_base32)?
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()?
        .to_url()?)
}

/// The TOTP code of `secret_base32` at `now_unix` (for the demo's `demo-code` command and
/// tests; a server never needs to produce codes).
pub fn totp_code(secret_base32: &str, now_unix: u64) -> Result<String, TotpError> {
    let totp = build_totp(secret_base32)?
        .build()
        .map_err(|_| TotpError::InvalidSecret)?;
    Ok(totp.generate(now_unix).to_string())
}

/// Verify a TOTP code (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps) and return the accepted step.
///
/// Accepts the current step and one either side. A code whose step is `<= last_used_step` is a
/// replay (RFC 6238 §5.2: a code is accepted once) and is refused; the caller stores the returned
/// step as the new `last_used_step`. Full-width digits (`１２３４５６`, typed with a Japanese IME)
/// are accepted as their ASCII equivalents; anything else that is not exactly six digits is
/// `MalformedCode`.
///
/// Why SHA-1: RFC 6238 allows SHA-256/512, and totp-rs supports them, but Google Authenticator
/// (Android) and Microsoft Authenticator ignore the `algorithm` parameter and always use SHA-1, so
/// a SHA-256 enrolment silently yields codes that never verify (totp-rs documents the same
/// warning). HMAC-SHA-1 is used here as a PRF, where SHA-1's collision weakness does not apply
/// (RFC 4226 Appendix B.2); CRYPTREC keeps SHA-1 on its list for such legacy-compatibility use.
pub fn verify_totp(
    secret_base32: &str,
    code: &str,
    now_unix: u64,
    last_used_step: Option<i64>,
) -> Result<i64, TotpError> {
    let code = normalize_code(code).ok_or(TotpError::MalformedCode)?;
    let totp = build_totp(secret_base32)?
        .build()
        .map_err(|_| TotpError::InvalidSecret)?;
    let current = i64::try_from(now_unix / TOTP_STEP_SECONDS).map_err(|_| TotpError::Clock)?;

    // Check every step of the window (no early exit) and prefer the earliest unused match.
    let mut accepted = None;
    let mut replayed = None;
    for step in (current - TOTP_SKEW_STEPS)..=(current + TOTP_SKEW_STEPS) {
        let Ok(step_u) = u64::try_from(step) else {
            continue;
        };
        let Some(time) = step_u.checked_mul(TOTP_STEP_SECONDS) else {
            continue;
        };
        // skew 0: `check` compares (in constant time) against this one step only.
        if totp.check(&code, time).is_none() {
            continue;
        }
        match last_used_step {
            Some(last) if step <= last => replayed = replayed.or(Some((step, last))),
            _ => accepted = accepted.or(Some(step)),
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => Ok(step),
        (None, Some((step, last_used))) => Err(TotpError::Replayed { step, last_used }),
        (None, None) => Err(TotpError::Mismatch),
    }
}

fn normalize_code(code: &str) -> Option<String> {
    let digits: Option<String> = code
        .chars()
        .map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            _ => None,
        })
        .collect();
    digits.filter(|d| d.len() == TOTP_DIGITS)
}

fn build_totp(secret_base32: &str) -> Result<totp_rs::Builder, TotpError> {
    let secret =
        totp_rs::Secret::try_from_base32(secret_base32).map_err(|_| TotpError::InvalidSecret)?;
    if secret.as_bytes().len() < 16 {
        return Err(TotpError::InvalidSecret);
    }
    Ok(totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(TOTP_DIGITS as u8)
        .with_step_duration(TOTP_STEP_SECONDS)
        .with_skew(0)
        .with_secret(secret))
}

// ---------------------------------------------------------------------------------------------
// API tokens and session ids
// ---------------------------------------------------------------------------------------------

/// Prefix of API tokens, so leaked tokens are recognisable by secret scanners.
pub const API_TOKEN_PREFIX: &str = "dk_";
const TOKEN_BYTES: usize = 32;

/// A freshly issued bearer secret: `plain` goes to the client once, `hash` goes to the database.
///
/// Tokens are looked up by hash, so a leaked database does not yield usable tokens. `Debug` shows
/// only the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The value to hand to the client, exactly once.
    pub plain: String,
    /// [`hash_token`] of `plain`; the only form that is stored.
    pub hash: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("plain", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// A new API token: `dk_` + 43 characters (base64url of 32 random bytes).
pub fn new_api_token() -> Result<IssuedToken, AuthError> {
    issue(API_TOKEN_PREFIX)
}

/// A new session id for the cookie: 43 characters (base64url of 32 random bytes).
pub fn new_session_id() -> Result<IssuedToken, AuthError> {
    issue("")
}

/// SHA-256 of a presented token or session id, lower-case hex: the database lookup key.
///
/// A plain hash (no salt, no stretching) is enough because the input carries 256 random bits.
pub fn hash_token(token: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

fn issue(prefix: &str) -> Result<IssuedToken, AuthError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes).map_err(|_| AuthError::Random)?;
    let plain = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_token(&plain);
    Ok(IssuedToken { plain, hash })
}

// ---------------------------------------------------------------------------------------------
// Lockout (S5) and session timeouts (S6)
// ---------------------------------------------------------------------------------------------

/// Account lockout after consecutive failed logins (S5).
///
/// The failure counter counts *consecutive* failures and is reset to 0 by a successful login.
/// While locked, the handler must refuse without checking the password (and without counting).
/// After the lock expires the counter is still at `max_failures`, so one more failure locks again:
/// an attacker gets one guess per `lock_minutes` rather than a fresh batch of five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: i64,
    pub lock_minutes: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_minutes: 15,
        }
    }
}

impl LockoutPolicy {
    /// After a failed login: the new counter, and `Some(locked_until)` when this failure locks the
    /// account (the handler then writes the `auth.lockout` audit record).
    pub fn after_failure(
        &self,
        failed_count_before: i64,
        now: Timestamp,
    ) -> (i64, Option<Timestamp>) {
        let count = failed_count_before.max(0).saturating_add(1);
        if count >= self.max_failures.max(1) {
            let lock = SignedDuration::from_secs(self.lock_minutes.max(0).saturating_mul(60));
            (
                count,
                Some(now.saturating_add(lock).unwrap_or(Timestamp::MAX)),
            )
        } else {
            (count, None)
        }
    }
}

/// True while `now` is before `locked_until`.
pub fn is_locked(locked_until: Option<Timestamp>, now: Timestamp) -> bool {
    locked_until.is_some_and(|until| now < until)
}

/// Idle and absolute session timeouts (S6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_minutes: i64,
    pub absolute_hours: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_minutes: 30,
            absolute_hours: 12,
        }
    }
}

impl SessionPolicy {
    /// True while less than `idle_minutes` have passed since `last_seen` and less than
    /// `absolute_hours` since `created`. Exactly at a limit the session is over. Timestamps out of
    /// order (`now` before `created`, `last_seen` before `created`) mean a clock step or a forged
    /// row and end the session.
    pub fn session_valid(&self, created: Timestamp, last_seen: Timestamp, now: Timestamp) -> bool {
        if now < created || last_seen < created {
            return false;
        }
        let idle = SignedDuration::from_secs(self.idle_minutes.saturating_mul(60));
        let absolute = SignedDuration::from_secs(self.absolute_hours.saturating_mul(3600));
        now.duration_since(last_seen) < idle && now.duration_since(created) < absolute
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::hmac;

    // ---- password hashing ----

    fn fast() -> PasswordHasher {
        PasswordHasher::insecure_for_tests(1_000)
    }

    #[test]
    fn hash_verify_round_trip() {
        let h = fast();
        let stored = h.hash("correct horse battery staple").unwrap();
        assert!(stored.starts_with("$pbkdf2-sha256$i=1000$"));
        assert!(!stored.contains("correct horse"));
        assert_eq!(
            verify_password("correct horse battery staple", &stored),
            Ok(true)
        );
        assert_eq!(
            verify_password("correct horse battery stapl", &stored),
            Ok(false)
        );
        assert_eq!(verify_password("", &stored), Ok(false));
        // Fresh salt each time.
        assert_ne!(stored, h.hash("correct horse battery staple").unwrap());
    }

    #[test]
    fn stored_fields_have_expected_sizes() {
        let stored = fast().hash("x").unwrap();
        let parts: Vec<&str> = stored.split('$').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(STANDARD_NO_PAD.decode(parts[3]).unwrap().len(), 16);
        assert_eq!(STANDARD_NO_PAD.decode(parts[4]).unwrap().len(), 32);
    }

    /// One-block PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) written out with HMAC, independent of
    /// `aws_lc_rs::pbkdf2`.
    fn pbkdf2_block1(password: &[u8], salt: &[u8], c: u32) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, password);
        let mut u = hmac::sign(&key, &[salt, &1u32.to_be_bytes()].concat());
        let mut t = [0u8; 32];
        t.copy_from_slice(u.as_ref());
        for _ in 1..c {
            u = hmac::sign(&key, u.as_ref());
            t.iter_mut().zip(u.as_ref()).for_each(|(a, b)| *a ^= b);
        }
        t
    }

    #[test]
    fn stored_format_matches_independent_pbkdf2() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA-256("passwd", "salt", c=1), first 32 bytes.
        assert_eq!(
            hex::encode(pbkdf2_block1(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        let salt = b"0123456789abcdef";
        let stored = format!(
            "$pbkdf2-sha256$i=7${}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(pbkdf2_block1(b"pw", salt, 7))
        );
        assert_eq!(verify_password("pw", &stored), Ok(true));
        assert_eq!(verify_password("pW", &stored), Ok(false));
        // The same row read with another iteration count must not verify: the count is honoured.
        let wrong_count = stored.replace("i=7$", "i=8$");
        assert_eq!(verify_password("pw", &wrong_count), Ok(false));
    }

    #[test]
    fn old_iteration_counts_still_verify_and_need_rehash() {
        let old = fast().hash("hunter2 but longer").unwrap();
        assert_eq!(verify_password("hunter2 but longer", &old), Ok(true));
        assert!(needs_rehash(&old));
        let strong = PasswordHasher::insecure_for_tests(DEFAULT_PBKDF2_ITERATIONS + 1)
            .hash("x")
            .unwrap();
        assert!(!needs_rehash(&strong));
        assert!(needs_rehash("garbage"));
    }

    #[test]
    fn default_cost_is_600000_and_timing_is_reported() {
        let h = PasswordHasher::default();
        assert_eq!(h.iterations(), 600_000);
        let stored = hash_password("a long enough passphrase").unwrap();
        assert!(stored.starts_with("$pbkdf2-sha256$i=600000$"), "{stored}");
        assert!(!needs_rehash(&stored));
        let start = std::time::Instant::now();
        assert_eq!(
            verify_password("a long enough passphrase", &stored),
            Ok(true)
        );
        eprintln!(
            "S4: one PBKDF2-HMAC-SHA-256 verification at i=600000 took {:?} (debug build may be slower than release)",
            start.elapsed()
        );
    }

    #[test]
    fn configured_cost_cannot_go_below_default() {
        assert!(PasswordHasher::new(599_999).is_err());
        assert!(PasswordHasher::new(0).is_err());
        assert!(PasswordHasher::new(MAX_PBKDF2_ITERATIONS + 1).is_err());
        assert_eq!(
            PasswordHasher::new(700_000).map(|h| h.iterations()),
            Ok(700_000)
        );
    }

    #[test]
    fn malformed_stored_strings_are_typed_errors() {
        let good = fast().hash("pw").unwrap();
        let p: Vec<&str> = good.split('$').collect();
        let (salt, hash) = (p[3], p[4]);
        let short_salt = STANDARD_NO_PAD.encode([0u8; 8]);
        let short_hash = STANDARD_NO_PAD.encode([0u8; 16]);
        let cases = [
            String::new(),
            "plaintext".to_string(),
            format!("pbkdf2-sha256$i=1000${salt}${hash}"),
            format!("$pbkdf2-sha512$i=1000${salt}${hash}"),
            format!("$argon2id$i=1000${salt}${hash}"),
            format!("$pbkdf2-sha256$1000${salt}${hash}"),
            format!("$pbkdf2-sha256$i=${salt}${hash}"),
            format!("$pbkdf2-sha256$i=0${salt}${hash}"),
            format!("$pbkdf2-sha256$i=-5${salt}${hash}"),
            format!("$pbkdf2-sha256$i=+5${salt}${hash}"),
            format!("$pbkdf2-sha256$i=4294967295${salt}${hash}"),
            format!("$pbkdf2-sha256$i=1000${salt}"),
            format!("$pbkdf2-sha256$i=1000$!!!${hash}"),
            format!("$pbkdf2-sha256$i=1000${salt}$!!!"),
            format!("$pbkdf2-sha256$i=1000${short_salt}${hash}"),
            format!("$pbkdf2-sha256$i=1000${salt}${short_hash}"),
            format!("$pbkdf2-sha256$i=1000${salt}${hash}$extra"),
        ];
        for case in &cases {
            assert!(
                matches!(
                    verify_password("pw", case),
                    Err(AuthError::MalformedHash(_))
                ),
                "accepted malformed {case:?}"
            );
        }
    }

    // ---- password policy ----

    #[test]
    fn policy_table() {
        use PolicyViolation::*;
        let long = "x".repeat(129);
        // (password, login, name, second factor, expected)
        type Case<'a> = (&'a str, &'a str, &'a str, bool, Result<(), PolicyViolation>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // length
            ("Kb7#tq2", "yamada", "山田 太郎", true, Err(TooShort { min: 8, actual: 7 })),
            ("Kb7#tq2w", "yamada", "山田 太郎", true, Ok(())),
            ("Kb7#tq2w", "yamada", "山田 太郎", false, Err(TooShort { min: 13, actual: 8 })),
            ("Kb7#tq2wMz9!r", "yamada", "山田 太郎", false, Ok(())),
            ("桜咲く春の健診受付", "yamada", "山田 太郎", true, Ok(())),
            ("桜咲く春の健診", "yamada", "山田 太郎", true, Err(TooShort { min: 8, actual: 7 })),
            (&long, "yamada", "山田 太郎", true, Err(TooLong { max: 128, actual: 129 })),
            // login and name
            ("xxYamada-2024zz", "yamada", "山田 太郎", false, Err(ContainsLogin)),
            ("kb7tanaka.jp#q", "tanaka.jp@example.jp", "田中", false, Err(ContainsLogin)),
            ("Zq8!ab-ok", "ab", "C D", true, Ok(())),
            ("my山田太郎pass", "u123", "山田 太郎", true, Err(ContainsName)),
            ("Suzuki-Ichiro#77", "u123", "Suzuki Ichiro", false, Err(ContainsName)),
            ("Xq9#ichirO-88z", "u123", "Suzuki Ichiro", false, Err(ContainsName)),
            // common and breached-style
            ("password", "u123", "", true, Err(Common)),
            ("Password123!", "u123", "", true, Err(Common)),
            ("P@ssw0rd", "u123", "", true, Err(Common)),
            ("passw0rd", "u123", "", true, Err(Common)),
            ("iloveyou", "u123", "", true, Err(Common)),
            ("1L0veY0u", "u123", "", true, Err(Common)),
            ("sakura123", "u123", "", true, Err(Common)),
            ("2024Sakura!!", "u123", "", true, Err(Common)),
            ("12345678", "u123", "", true, Err(Common)),
            ("qwertyuiop", "u123", "", true, Err(Common)),
            ("passwordpassword", "u123", "", false, Err(Common)),
            ("doraemon1234567", "u123", "", false, Err(Common)),
            // trivial patterns
            ("aaaaaaaa", "u123", "", true, Err(TrivialPattern)),
            ("zzzzzzzzzzzzz", "u123", "", false, Err(TrivialPattern)),
            ("abcdefgh", "u123", "", true, Err(TrivialPattern)),
            ("hgfedcba", "u123", "", true, Err(TrivialPattern)),
            ("98765432", "u123", "", true, Err(TrivialPattern)),
            ("asdfghjk", "u123", "", true, Err(TrivialPattern)),
            ("mnbvcxz!", "u123", "", true, Err(TrivialPattern)),
            ("1qaz2wsx3edc", "u123", "", true, Err(TrivialPattern)),
            ("abcabcabcabc", "u123", "", true, Err(TrivialPattern)),
            ("Poiuytrewq!2024", "u123", "", false, Err(TrivialPattern)),
            // accepted
            ("correct horse battery staple", "u123", "Random Person", false, Ok(())),
            ("Tr0ub4dor&3x", "u123", "", true, Ok(())),
            ("kenshin-uketuke-7Rq", "u123", "", false, Ok(())),
            ("静かな湖畔の森の影から誰か", "u123", "", false, Ok(())),
        ];
        for (pw, login, name, mfa, expected) in cases {
            assert_eq!(
                check_password_policy(pw, login, name, *mfa),
                *expected,
                "password {pw:?} login {login:?} name {name:?} mfa {mfa}"
            );
        }
    }

    #[test]
    fn policy_messages_in_both_languages() {
        let all = [
            PolicyViolation::TooShort { min: 13, actual: 3 },
            PolicyViolation::TooLong {
                max: 128,
                actual: 200,
            },
            PolicyViolation::ContainsLogin,
            PolicyViolation::ContainsName,
            PolicyViolation::Common,
            PolicyViolation::TrivialPattern,
        ];
        for v in all {
            assert!(!v.message_en().is_empty());
            assert!(!v.message_ja().is_ascii(), "{v:?}");
        }
        assert!(
            PolicyViolation::TooShort { min: 13, actual: 3 }
                .message_ja()
                .contains("13文字以上")
        );
    }

    #[test]
    fn common_list_is_loaded_and_lower_case() {
        assert!(COMMON_PASSWORDS.len() >= 200, "{}", COMMON_PASSWORDS.len());
        for p in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "passw0rd",
            "sakura123",
        ] {
            assert!(COMMON_PASSWORDS.contains(p), "{p}");
        }
        assert!(COMMON_PASSWORDS.iter().all(|p| *p == p.to_lowercase()));
    }

    // ---- TOTP ----

    /// RFC 4226 HOTP computed independently of totp-rs: HMAC-SHA-1 + dynamic truncation.
    fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
        let mac = hmac::sign(&key, &counter.to_be_bytes());
        let mac = mac.as_ref();
        let offset = (mac[19] & 0x0f) as usize;
        let bin = u32::from_be_bytes([
            mac[offset],
            mac[offset + 1],
            mac[offset + 2],
            mac[offset + 3],
        ]) & 0x7fff_ffff;
        format!(
            "{:0width$}",
            bin % 10u32.pow(digits),
            width = digits as usize
        )
    }

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn rfc_secret_b32() -> String {
        totp_rs::Secret::from(RFC_SECRET.to_vec()).to_base32()
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        let b32 = rfc_secret_b32();
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (count, want) in expected.iter().enumerate() {
            assert_eq!(
                hotp(RFC_SECRET, count as u64, 6),
                *want,
                "independent HOTP {count}"
            );
            // TOTP at time count*30 is HOTP with counter `count`.
            let now = count as u64 * TOTP_STEP_SECONDS;
            assert_eq!(verify_totp(&b32, want, now, None).unwrap(), count as i64);
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_last_six_digits() {
        // RFC 6238 Appendix B (SHA-1, 8 digits). Both are the same 31-bit value mod 10^d, so the
        // 6-digit code is the last six digits of the 8-digit one.
        let vectors: [(u64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let b32 = rfc_secret_b32();
        for (t, code8) in vectors {
            let step = t / 30;
            assert_eq!(hotp(RFC_SECRET, step, 8), code8, "independent TOTP at {t}");
            assert_eq!(
                verify_totp(&b32, &code8[2..], t, None).unwrap(),
                step as i64,
                "at {t}"
            );
        }
    }

    #[test]
    fn totp_window_replay_and_input() {
        let secret = new_totp_secret().unwrap();
        let raw = totp_rs::Secret::try_from_base32(&secret).unwrap();
        let raw = raw.as_bytes();
        assert_eq!(raw.len(), 20);
        let now: u64 = 1_750_000_015; // mid-step
        let cur = (now / 30) as i64;
        let code_at = |k: i64| hotp(raw, (cur + k) as u64, 6);

        // current and ±1 accepted, with the matched step returned
        for k in -1..=1 {
            assert_eq!(
                verify_totp(&secret, &code_at(k), now, None).unwrap(),
                cur + k,
                "k={k}"
            );
        }
        // ±2 refused (unless, by a 1-in-a-million chance, it equals a code in the window)
        for k in [-2, 2] {
            let c = code_at(k);
            if (-1..=1).all(|j| code_at(j) != c) {
                assert!(matches!(
                    verify_totp(&secret, &c, now, None),
                    Err(TotpError::Mismatch)
                ));
            }
        }
        // replay: the same step again, or an older one, is refused
        let step = verify_totp(&secret, &code_at(0), now, None).unwrap();
        assert!(matches!(
            verify_totp(&secret, &code_at(0), now, Some(step)),
            Err(TotpError::Replayed { .. })
        ));
        assert!(matches!(
            verify_totp(&secret, &code_at(-1), now, Some(step)),
            Err(TotpError::Replayed { .. })
        ));
        // the next step is still fine after the current one was used
        assert_eq!(
            verify_totp(&secret, &code_at(1), now, Some(step)).unwrap(),
            cur + 1
        );

        // wrong code
        let wrong = format!(
            "{:06}",
            (code_at(0).parse::<u32>().unwrap() + 1) % 1_000_000
        );
        if (-1..=1).all(|j| code_at(j) != wrong) {
            assert!(matches!(
                verify_totp(&secret, &wrong, now, None),
                Err(TotpError::Mismatch)
            ));
        }
        // malformed input
        let c = code_at(0);
        for bad in [
            "",
            &c[..5],
            &format!("{c}0"),
            &format!(" {c}"),
            &format!("{}a", &c[..5]),
            "+12345",
            "１２３４５",
        ] {
            assert!(
                matches!(
                    verify_totp(&secret, bad, now, None),
                    Err(TotpError::MalformedCode)
                ),
                "{bad:?}"
            );
        }
        // full-width digits from a Japanese IME are the same code
        let wide: String = c
            .chars()
            .map(|d| char::from_u32(d as u32 - '0' as u32 + '０' as u32).unwrap())
            .collect();
        assert_eq!(verify_totp(&secret, &wide, now, None).unwrap(), cur);
    }

    #[test]
    fn totp_bad_secrets_and_url() {
        assert!(matches!(
            verify_totp("not base32!", "123456", 0, None),
            Err(TotpError::InvalidSecret)
        ));
        // 80-bit secret: below RFC 4226's 128-bit minimum
        let short = totp_rs::Secret::from(vec![7u8; 10]).to_base32();
        assert!(matches!(
            verify_totp(&short, "123456", 0, None),
            Err(TotpError::InvalidSecret)
        ));

        let secret = new_totp_secret().unwrap();
        assert_ne!(secret, new_totp_secret().unwrap());
        let url = otpauth_url(&secret, TOTP_ISSUER, "yamada@example.jp").unwrap();
        assert!(
            url.starts_with("otpauth://totp/daiko:yamada%40example.jp?"),
            "{url}"
        );
        assert!(url.contains(&format!("secret={secret}")), "{url}");
        assert!(url.contains("issuer=daiko"), "{url}");
        assert!(
            !url.contains("algorithm="),
            "SHA1 default must stay implicit: {url}"
        );
        assert!(otpauth_url(&secret, TOTP_ISSUER, "bad:name").is_err());
    }

    // ---- tokens ----

    #[test]
    fn tokens_unique_shaped_and_hash_stable() {
        let a = new_api_token().unwrap();
        let b = new_api_token().unwrap();
        assert_ne!(a.plain, b.plain);
        assert_ne!(a.hash, b.hash);
        assert!(a.plain.starts_with("dk_"));
        assert_eq!(a.plain.len(), 3 + 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a.plain[3..]).unwrap().len(), 32);
        assert_eq!(a.hash, hash_token(&a.plain));
        assert_eq!(a.hash.len(), 64);
        assert!(
            a.hash
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(!format!("{a:?}").contains(&a.plain));

        let s = new_session_id().unwrap();
        assert_eq!(s.plain.len(), 43);
        assert_eq!(s.hash, hash_token(&s.plain));
        assert_ne!(s.plain, new_session_id().unwrap().plain);
        // known SHA-256 value (FIPS 180-2 "abc")
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    // ---- lockout and sessions ----

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn lockout_boundaries() {
        let p = LockoutPolicy::default();
        let now = ts("2025-04-01T00:00:00Z");
        let mut count = 0;
        for i in 1..=4 {
            let (c, lock) = p.after_failure(count, now);
            assert_eq!((c, lock), (i, None));
            count = c;
        }
        let (c, lock) = p.after_failure(count, now);
        assert_eq!(c, 5);
        let until = lock.unwrap();
        assert_eq!(until, ts("2025-04-01T00:15:00Z"));
        assert!(is_locked(lock, now));
        assert!(is_locked(lock, ts("2025-04-01T00:14:59.999Z")));
        assert!(!is_locked(lock, until));
        assert!(!is_locked(None, now));
        // after expiry, one more failure locks again
        let (c, lock) = p.after_failure(c, until);
        assert_eq!((c, lock), (6, Some(ts("2025-04-01T00:30:00Z"))));
        // absurd stored values do not panic
        assert_eq!(p.after_failure(-3, now), (1, None));
        assert!(p.after_failure(i64::MAX, now).1.is_some());
        let huge = LockoutPolicy {
            max_failures: 1,
            lock_minutes: i64::MAX,
        };
        assert_eq!(huge.after_failure(0, now).1, Some(Timestamp::MAX));
    }

    #[test]
    fn session_timeouts() {
        let p = SessionPolicy::default();
        let created = ts("2025-04-01T08:00:00Z");
        let seen = ts("2025-04-01T09:00:00Z");
        assert!(p.session_valid(created, seen, seen));
        assert!(p.session_valid(created, seen, ts("2025-04-01T09:29:59Z")));
        assert!(!p.session_valid(created, seen, ts("2025-04-01T09:30:00Z")));
        // absolute: active all day, still ends 12 h after creation
        let busy = ts("2025-04-01T19:55:00Z");
        assert!(p.session_valid(created, busy, ts("2025-04-01T19:59:59Z")));
        assert!(!p.session_valid(created, busy, ts("2025-04-01T20:00:00Z")));
        // clocks out of order
        assert!(!p.session_valid(created, seen, ts("2025-04-01T07:59:59Z")));
        assert!(!p.session_valid(seen, created, seen));
    }
}

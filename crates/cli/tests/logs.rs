//! S20 "logs contain no secret in tests": a server and the commands that set it up run with
//! known secrets (the master key in `DAIKO_MASTER_KEY`, `DAIKO_INITIAL_PASSWORD`, a wrong and
//! a new password at sign-in, the TOTP secret and a code, the session cookie, an API token,
//! on PostgreSQL the database password in `DAIKO_DATABASE_URL`) and logging at debug (trace
//! for daiko's crates). After sign-in with TOTP enrolment and a password change, an upload
//! by token and its check, every log line, the audit trail (and on SQLite the whole data
//! folder) is searched for every secret in its raw, hex, base32 and base64 forms: zero hits.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{client, free_port, upload, wait_done};

const RUST_LOG: &str = "debug,daiko=trace,daiko_cli=trace,daiko_server=trace,\
                        daiko_store=trace,daiko_pipeline=trace,daiko_seal=trace";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn base64_of(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut acc, mut bits, mut out) = (0u64, 0u32, Vec::new());
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = A
            .iter()
            .position(|&a| a == c.to_ascii_uppercase())
            .expect("base32");
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// One secret and the byte strings it could appear as.
struct Secret {
    name: &'static str,
    forms: Vec<Vec<u8>>,
}

impl Secret {
    fn text(name: &'static str, s: &str) -> Secret {
        Secret {
            name,
            forms: vec![
                s.as_bytes().to_vec(),
                hex_of(s.as_bytes()).into_bytes(),
                base64_of(s.as_bytes()).into_bytes(),
            ],
        }
    }

    /// Raw key bytes: raw, hex, base64 (and any extra text forms).
    fn key(name: &'static str, raw: &[u8], extra: &[&str]) -> Secret {
        let mut forms = vec![
            raw.to_vec(),
            hex_of(raw).into_bytes(),
            hex_of(raw).to_uppercase().into_bytes(),
            base64_of(raw).into_bytes(),
        ];
        forms.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
        Secret { name, forms }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every (secret, form, where) found in `hay`.
fn hits(secrets: &[Secret], what: &str, hay: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for s in secrets {
        for (i, f) in s.forms.iter().enumerate() {
            if let Some(at) = find(hay, f) {
                let from = at.saturating_sub(80);
                let to = (at + f.len() + 80).min(hay.len());
                out.push(format!(
                    "{} (form {i}) in {what}: …{}…",
                    s.name,
                    String::from_utf8_lossy(&hay[from..to])
                ));
            }
        }
    }
    out
}

/// A browser without JavaScript: keeps cookies, never follows redirects.
struct Browser {
    client: reqwest::blocking::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn send(&mut self, r: reqwest::blocking::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = r.header("cookie", cookie).send().expect("request");
        for sc in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let sc = sc.to_str().expect("cookie");
            let first = sc.split(';').next().expect("cookie");
            let (k, v) = first.split_once('=').expect("cookie");
            if v.is_empty() || sc.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| v.to_str().expect("location").to_string()),
            body: r.text().expect("body"),
        }
    }

    fn get(&mut self, path: &str) -> Page {
        let r = self.client.get(format!("{}{path}", self.base));
        self.send(r)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(r)
    }

    fn csrf(&mut self, path: &str) -> String {
        let p = self.get(path);
        attr(&p.body, "name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf on {path}: {} {}", p.status, p.body))
    }
}

fn attr(body: &str, prefix: &str) -> Option<String> {
    let i = body.find(prefix)? + prefix.len();
    Some(body[i..].split('"').next()?.to_string())
}

/// `DAIKO_DATABASE_URL` with `password` put into its user part.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("url scheme");
    let (user, host) = rest.split_once('@').expect("url user");
    let user = user.split(':').next().unwrap_or(user);
    format!("{scheme}://{user}:{password}@{host}")
}

struct Env {
    dir: std::path::PathBuf,
    vars: Vec<(&'static str, String)>,
    logs: Vec<u8>,
}

impl Env {
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_daiko"));
        c.arg("--data-dir").arg(&self.dir);
        c.env_remove("DAIKO_DATABASE_URL")
            .env_remove("DAIKO_MASTER_KEY_FILE")
            .env("RUST_LOG", RUST_LOG)
            .env("DAIKO_SERVICE_HOURS", "always");
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs a command; its stderr (the log) is kept, its stdout answered.
    fn ok(&mut self, args: &[&str]) -> String {
        let o: Output = self.command().args(args).output().expect("run daiko");
        self.logs.extend_from_slice(&o.stderr);
        assert!(
            o.status.success(),
            "daiko {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn run(database_url: Option<String>, db_password: Option<String>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let master = random_bytes::<32>();
    let master_b64 = base64_of(&master);
    let initial = format!("Init-{}", hex_of(&random_bytes::<8>()));
    let wrong = format!("Wrong-{}", hex_of(&random_bytes::<8>()));
    let new_password = format!("Renewed-{}", hex_of(&random_bytes::<8>()));
    let mut vars = vec![
        ("DAIKO_MASTER_KEY", master_b64.clone()),
        ("DAIKO_INITIAL_PASSWORD", initial.clone()),
    ];
    if let Some(u) = &database_url {
        vars.push(("DAIKO_DATABASE_URL", u.clone()));
    }
    let mut env = Env {
        dir: tmp.path().join("data"),
        vars,
        logs: Vec::new(),
    };
    env.ok(&[
        "init",
        "--agency-number",
        "99000010",
        "--agency-name",
        "テスト代行機関",
    ]);
    let samples = daiko_sample::generate(&daiko_sample::SampleConfig {
        archives: 1,
        records: 3,
        seed: 20,
        period: daiko_sample::Period::Fy2024,
        defect_rate: 0.0,
        ..Default::default()
    })
    .expect("samples");
    let institution = samples[0].reference.institution.clone();
    env.ok(&[
        "org",
        "add",
        "institution",
        "--number",
        &institution,
        "--name",
        "テスト健診センター",
    ]);
    for (i, ins) in daiko_sample::people::default_insurers().iter().enumerate() {
        env.ok(&[
            "org",
            "add",
            "insurer",
            "--number",
            ins,
            "--name",
            &format!("保険者{i}"),
        ]);
    }
    env.ok(&[
        "user",
        "add",
        "--login",
        "clinic",
        "--role",
        "institution",
        "--org",
        &institution,
    ]);
    // The system's account (no TOTP device: a machine token) is another login than the
    // person's, whose TOTP enrolment below would revoke a token issued before.
    env.ok(&[
        "user",
        "add",
        "--login",
        "clinic-system",
        "--role",
        "institution",
        "--org",
        &institution,
    ]);
    let token = env
        .ok(&["token", "create", "--login", "clinic-system"])
        .trim()
        .to_string();
    assert!(token.len() >= 20, "{token}");

    // The server, its stdout and stderr into files outside the data folder.
    let port = free_port();
    let out_path = tmp.path().join("serve.out");
    let err_path = tmp.path().join("serve.err");
    let mut child: Child = env
        .command()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::from(
            std::fs::File::create(&out_path).expect("out file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&err_path).expect("err file"),
        ))
        .spawn()
        .expect("start daiko serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/api/v1/health"))
            && r.status().is_success()
        {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "daiko serve exited ({status}): {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "daiko serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Sign-in: a wrong password, then the initial one, TOTP enrolment, the forced change.
    let mut b = Browser {
        client: reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        base: format!("http://127.0.0.1:{port}"),
        cookies: HashMap::new(),
    };
    let csrf = b.csrf("/login");
    let r = b.post(
        "/login",
        &[("login", "clinic"), ("password", &wrong), ("csrf", &csrf)],
    );
    assert_ne!(r.location.as_deref(), Some("/login/enrol"), "{}", r.body);
    let csrf = b.csrf("/login");
    let r = b.post(
        "/login",
        &[("login", "clinic"), ("password", &initial), ("csrf", &csrf)],
    );
    assert_eq!(r.location.as_deref(), Some("/login/enrol"), "{}", r.body);
    let page = b.get("/login/enrol");
    let enrol_page = page.body.clone();
    let secret = attr(&page.body, "name=\"secret\" value=\"").expect("totp secret");
    let csrf = attr(&page.body, "name=\"csrf\" value=\"").expect("csrf");
    let now = jiff::Timestamp::now().as_second() as u64;
    let code = daiko_server::auth::totp_code(&secret, now).expect("code");
    let r = b.post(
        "/login/enrol",
        &[("code", &code), ("secret", &secret), ("csrf", &csrf)],
    );
    assert_eq!(r.location.as_deref(), Some("/password"), "{}", r.body);
    let csrf = b.csrf("/password");
    let r = b.post(
        "/password",
        &[
            ("current", &initial),
            ("new", &new_password),
            ("confirm", &new_password),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(r.location.as_deref(), Some("/"), "{}", r.body);
    assert_eq!(b.get("/").status, 200);
    let cookies: Vec<String> = b.cookies.values().cloned().collect();

    // The API with the token: upload, the check, the report.
    let id = upload(port, &token, &samples[0].name, &samples[0].zip);
    wait_done(port, &token, &id);
    let r = client()
        .get(format!(
            "http://127.0.0.1:{port}/api/v1/submissions/{id}/report"
        ))
        .bearer_auth(&token)
        .send()
        .expect("report");
    assert_eq!(r.status().as_u16(), 200);
    let _ = child.kill();
    let _ = child.wait();

    let mut logs = std::mem::take(&mut env.logs);
    for p in [&out_path, &err_path] {
        let mut f = std::fs::File::open(p).expect("log file");
        f.read_to_end(&mut logs).expect("read log");
    }
    // Control: logging really was at debug/trace, and requests were logged.
    let text = String::from_utf8_lossy(&logs);
    assert!(
        text.contains("DEBUG") || text.contains("TRACE"),
        "no debug output"
    );

    let totp_raw = base32_decode(&secret);
    let mut secrets = vec![
        Secret::key("master key", &master, &[&master_b64]),
        Secret::text("DAIKO_INITIAL_PASSWORD", &initial),
        Secret::text("wrong password at sign-in", &wrong),
        Secret::text("new password", &new_password),
        Secret::key("TOTP secret", &totp_raw, &[&secret]),
        Secret::text("API token", &token),
    ];
    for c in &cookies {
        if c.len() >= 16 {
            secrets.push(Secret::text("cookie", c));
        }
    }
    if let Some(pw) = &db_password {
        secrets.push(Secret::text("database password", pw));
    }
    // The code is six digits: searched where a request or a log field would show it.
    let code_forms = Secret {
        name: "TOTP code",
        forms: [
            format!("code={code}"),
            format!("\"{code}\""),
            format!("code: {code}"),
            format!("code:{code}"),
        ]
        .into_iter()
        .map(String::into_bytes)
        .collect(),
    };
    // Control: the search finds the secrets where they are meant to be shown (the enrolment
    // page shows the TOTP secret, `token create` prints the token).
    assert!(!hits(&secrets, "enrolment page", enrol_page.as_bytes()).is_empty());
    assert!(!hits(&secrets, "token output", token.as_bytes()).is_empty());
    eprintln!(
        "searched {} bytes of logs for {} secrets",
        logs.len(),
        secrets.len()
    );
    let mut found = hits(&secrets, "logs", &logs);
    found.extend(hits(std::slice::from_ref(&code_forms), "logs", &logs));

    // The audit trail (detail and every other column).
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let audit = rt.block_on(async {
        let keys = daiko_store::KeyringConfig::from_env(&env.dir, &|k: &str| match k {
            "DAIKO_MASTER_KEY" => Some(master_b64.clone()),
            _ => None,
        })
        .expect("keyring config");
        let store = daiko_store::Store::open_with(&env.dir, database_url.as_deref(), keys)
            .await
            .expect("store");
        let rows = store
            .audit_search(&daiko_store::audit::AuditQuery {
                limit: 100_000,
                ..Default::default()
            })
            .await
            .expect("audit");
        assert!(
            rows.iter().any(|r| r.entry.action.starts_with("auth.")),
            "sign-in is audited"
        );
        serde_json::to_vec(&rows).expect("json")
    });
    found.extend(hits(&secrets, "audit", &audit));
    found.extend(hits(std::slice::from_ref(&code_forms), "audit", &audit));
    if database_url.is_none() {
        found.extend(grep_folder(&secrets, &env.dir));
    }
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
}

fn grep_folder(secrets: &[Secret], dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.extend(hits(secrets, &p.display().to_string(), &bytes));
            }
        }
    }
    out
}

#[test]
fn logs_and_audit_hold_no_secret_sqlite() {
    run(None, None);
}

#[test]
fn logs_and_audit_hold_no_secret_postgres() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(url) = rt.block_on(daiko_store::testdb::fresh_postgres_url()) else {
        return;
    };
    // The test server trusts local connections, so any password is accepted: it is a
    // known value that must not show up anywhere.
    let password = format!("DbPass{}", hex_of(&random_bytes::<8>()));
    run(Some(with_password(&url, &password)), Some(password));
}

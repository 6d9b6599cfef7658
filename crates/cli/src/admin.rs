//! The server-side commands: `init`, `org add`, `user add`, `token create`, `serve`,
//! `worker`, `audit verify`, `media …` (PRODUCT.md "CLI"). Each opens the data folder's
//! store, does one thing, writes its audit row and exits.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use daiko_server::ServerConfig;
use daiko_store::Store;
use daiko_store::audit::AuditEntry;
use daiko_store::orgs::OrgKind;
use daiko_store::users::NewUser;

use crate::Exit;

/// Where the data lives: `--data-dir` / `DAIKO_DATA_DIR` (default `./daiko-data`), and
/// the database URL (`--database-url` / `DAIKO_DATABASE_URL`, default the folder's SQLite).
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Data folder (SQLite database, blobs, keys, daiko.toml) [default: ./daiko-data;
    /// ./daiko-demo for `demo`].
    #[arg(long, global = true, env = "DAIKO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// [`DataArgs`] with the folder resolved.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub data_dir: PathBuf,
}

impl DataArgs {
    pub fn or_default(&self, default: &str) -> DataDir {
        DataDir {
            data_dir: self
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(default)),
        }
    }
}

/// The effective configuration of a data folder (file + environment).
pub fn load_config(data: &DataDir, database_url: Option<&str>) -> Result<ServerConfig> {
    let env = |k: &str| std::env::var(k).ok();
    let mut c = ServerConfig::load(&data.data_dir, &env)
        .with_context(|| format!("bad configuration in {}", data.data_dir.display()))?;
    if let Some(u) = database_url {
        c.database_url = Some(u.to_string());
    }
    Ok(c)
}

/// Opens the store of a data folder.
pub async fn open_store(config: &ServerConfig) -> Result<Store> {
    Store::open(&config.data_dir, config.database_url.as_deref())
        .await
        .with_context(|| format!("cannot open the data folder {}", config.data_dir.display()))
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub(crate) fn cli_entry(action: &str, target: String, detail: String) -> AuditEntry {
    AuditEntry {
        actor: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
        role: "cli".into(),
        org: String::new(),
        action: action.into(),
        target,
        records: String::new(),
        source: "cli".into(),
        detail,
    }
}

// ---- init ----

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The agency's 8-digit number (代行機関番号).
    #[arg(long)]
    pub agency_number: String,
    /// The agency's name.
    #[arg(long)]
    pub agency_name: String,
    #[arg(long, env = "DAIKO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

pub fn init(data: &DataDir, args: InitArgs) -> Result<Exit> {
    if args.agency_number.len() != 8 || !args.agency_number.bytes().all(|b| b.is_ascii_digit()) {
        bail!(
            "--agency-number must be 8 digits, got {:?}",
            args.agency_number
        );
    }
    let config = load_config(data, args.database_url.as_deref())?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        if let Some(a) = store.agency().await? {
            if a.number == args.agency_number {
                println!(
                    "{} is already initialised for {} {}",
                    config.data_dir.display(),
                    a.number,
                    a.name
                );
                return Ok(Exit::Ok);
            }
            bail!(
                "{} already belongs to agency {} ({})",
                config.data_dir.display(),
                a.number,
                a.name
            );
        }
        let org = store
            .add_org(OrgKind::Agency, &args.agency_number, &args.agency_name, &[])
            .await?;
        daiko_pipeline::media::ensure_agency_keys(&store, &config.data_dir)
            .await
            .context("cannot create the agency's media keys")?;
        store
            .audit(&cli_entry(
                "system.init",
                format!("org:{}", org.id),
                org.number.clone(),
            ))
            .await?;
        println!(
            "initialised {} for agency {} {}",
            config.data_dir.display(),
            org.number,
            org.name
        );
        Ok(Exit::Ok)
    })
}

// ---- org add ----

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Register an insurer (保険者) or an institution (健診・保健指導機関).
    Add(OrgAddArgs),
    /// List organisations.
    List,
    /// Change an organisation's services, delivery batching or media key.
    Set(OrgSetArgs),
}

#[derive(Debug, Args)]
pub struct OrgSetArgs {
    #[arg(long)]
    pub number: String,
    /// Services an insurer subscribes to (check, route, billing, invite).
    #[arg(long, value_delimiter = ',')]
    pub services: Option<Vec<String>>,
    /// Delivery of accepted records: immediate (default), daily, or monthly (at month close).
    #[arg(long)]
    pub batching: Option<String>,
    /// The organisation's media public key (`daiko-pub-v1:…`).
    #[arg(long)]
    pub media_key: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OrgKindArg {
    Insurer,
    Institution,
}

#[derive(Debug, Args)]
pub struct OrgAddArgs {
    pub kind: OrgKindArg,
    /// 保険者番号 (8 digits) or 医療機関コード (10 digits).
    #[arg(long)]
    pub number: String,
    #[arg(long)]
    pub name: String,
    /// Services an insurer subscribes to (default: all four).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "check,route,billing,invite"
    )]
    pub services: Vec<String>,
    /// The organisation's media public key (`daiko-pub-v1:…`, from `daiko media keygen`).
    #[arg(long)]
    pub media_key: Option<String>,
}

pub fn org(data: &DataDir, cmd: OrgCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        require_init(&store).await?;
        match cmd {
            OrgCommand::List => {
                for o in store.orgs().await? {
                    println!(
                        "{}\t{}\t{}\t{}",
                        o.kind.as_str(),
                        o.number,
                        o.name,
                        o.services.join(",")
                    );
                }
                Ok(Exit::Ok)
            }
            OrgCommand::Set(a) => {
                let org = store
                    .org_by_number(&a.number)
                    .await?
                    .with_context(|| format!("no organisation with number {}", a.number))?;
                let services: Vec<String> =
                    a.services.clone().unwrap_or_else(|| org.services.clone());
                for s in &services {
                    if !daiko_store::orgs::SERVICES.contains(&s.as_str()) {
                        bail!("unknown service {s:?}; services are check, route, billing, invite");
                    }
                }
                let batching = a.batching.clone().unwrap_or_else(|| org.batching.clone());
                if !matches!(batching.as_str(), "immediate" | "daily" | "monthly") {
                    bail!("--batching must be immediate, daily or monthly, got {batching:?}");
                }
                if org.kind != OrgKind::Insurer && (a.services.is_some() || a.batching.is_some()) {
                    bail!(
                        "services and batching are settings of insurers; {} is an {}",
                        org.number,
                        org.kind.as_str()
                    );
                }
                let refs: Vec<&str> = services.iter().map(String::as_str).collect();
                store.set_org_services(&org.id, &refs, &batching).await?;
                if let Some(k) = &a.media_key {
                    daiko_seal::PublicKeys::parse(k)
                        .context("--media-key is not a daiko public key")?;
                    store.set_org_media_key(&org.id, k).await?;
                }
                store
                    .audit(&cli_entry(
                        "org.update",
                        format!("org:{}", org.id),
                        format!(
                            "services={} batching={batching} media_key={}",
                            services.join(","),
                            a.media_key.is_some()
                        ),
                    ))
                    .await?;
                println!(
                    "updated {} {}: services {} · batching {batching}",
                    org.number,
                    org.name,
                    services.join(",")
                );
                Ok(Exit::Ok)
            }
            OrgCommand::Add(a) => {
                let (kind, len) = match a.kind {
                    OrgKindArg::Insurer => (OrgKind::Insurer, 8),
                    OrgKindArg::Institution => (OrgKind::Institution, 10),
                };
                if a.number.len() != len || !a.number.bytes().all(|b| b.is_ascii_digit()) {
                    bail!(
                        "--number must be {len} digits for {}, got {:?}",
                        kind.as_str(),
                        a.number
                    );
                }
                for s in &a.services {
                    if !daiko_store::orgs::SERVICES.contains(&s.as_str()) {
                        bail!("unknown service {s:?}; services are check, route, billing, invite");
                    }
                }
                let services: Vec<&str> = match kind {
                    OrgKind::Insurer => a.services.iter().map(String::as_str).collect(),
                    _ => Vec::new(),
                };
                let org = store
                    .add_org(kind, &a.number, &a.name, &services)
                    .await
                    .map_err(|e| {
                        if e.is_unique_violation() {
                            anyhow::anyhow!(
                                "an organisation with number {} already exists",
                                a.number
                            )
                        } else {
                            e.into()
                        }
                    })?;
                if let Some(k) = &a.media_key {
                    daiko_seal::PublicKeys::parse(k)
                        .context("--media-key is not a daiko public key")?;
                    store.set_org_media_key(&org.id, k).await?;
                }
                store
                    .audit(&cli_entry(
                        "org.add",
                        format!("org:{}", org.id),
                        format!("{} {}", kind.as_str(), org.number),
                    ))
                    .await?;
                println!("added {} {} {}", kind.as_str(), org.number, org.name);
                Ok(Exit::Ok)
            }
        }
    })
}

async fn require_init(store: &Store) -> Result<daiko_store::orgs::Org> {
    store
        .agency()
        .await?
        .context("the data folder is not initialised: run `daiko init --agency-number … --agency-name …` first")
}

// ---- user add ----

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The initial password comes from `DAIKO_INITIAL_PASSWORD` or is
    /// generated and shown once; it must be changed at first login, where the second
    /// factor (TOTP) is also enrolled.
    Add(UserAddArgs),
    /// List accounts.
    List,
    /// Password reset after an identity check (S7): records the ledger row and prints a
    /// one-time code for the user.
    Reset(crate::governance::ResetArgs),
    /// Request a role change (S10: runs after another administrator approves).
    Role(crate::governance::RoleArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    #[arg(long)]
    pub login: String,
    /// operator, admin, auditor, insurer, institution, maintenance or emergency.
    #[arg(long)]
    pub role: String,
    /// The organisation number (required for insurer and institution users).
    #[arg(long)]
    pub org: Option<String>,
    /// Display name.
    #[arg(long, default_value = "")]
    pub name: String,
}

pub fn user(data: &DataDir, cmd: UserCommand) -> Result<Exit> {
    let cmd = match cmd {
        UserCommand::Reset(a) => return crate::governance::reset(data, a),
        UserCommand::Role(a) => return crate::governance::role(data, a),
        other => other,
    };
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let agency = require_init(&store).await?;
        match cmd {
            UserCommand::List => {
                for u in store.users(None).await? {
                    println!("{}\t{}\t{}", u.login, u.role, u.display_name);
                }
                Ok(Exit::Ok)
            }
            UserCommand::Reset(_) | UserCommand::Role(_) => unreachable!("dispatched above"),
            UserCommand::Add(a) => {
                if !daiko_store::users::ROLES.contains(&a.role.as_str()) {
                    bail!(
                        "unknown role {:?}; roles are {}",
                        a.role,
                        daiko_store::users::ROLES.join(", ")
                    );
                }
                if a.login.is_empty()
                    || a.login.len() > 64
                    || !a
                        .login
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
                {
                    bail!("--login must be 1-64 characters of A-Z a-z 0-9 . _ - @");
                }
                let org = match (&a.org, a.role.as_str()) {
                    (Some(n), _) => Some(
                        store
                            .org_by_number(n)
                            .await?
                            .with_context(|| format!("no organisation with number {n}"))?,
                    ),
                    (None, "insurer" | "institution") => {
                        bail!("--org is required for {} users", a.role)
                    }
                    (None, _) => Some(agency.clone()),
                };
                if let Some(o) = &org {
                    let ok = match a.role.as_str() {
                        "insurer" => o.kind == OrgKind::Insurer,
                        "institution" => o.kind == OrgKind::Institution,
                        _ => o.kind == OrgKind::Agency,
                    };
                    if !ok {
                        bail!(
                            "a {} user cannot belong to {} {} ({})",
                            a.role,
                            o.kind.as_str(),
                            o.number,
                            o.name
                        );
                    }
                }
                // S10: agency roles need a second administrator, except the very first
                // administrator of an installation.
                let privileged =
                    daiko_server::governance::PRIVILEGED_ROLES.contains(&a.role.as_str());
                let bootstrap = crate::governance::bootstrap_admin(&store, &a.role).await?;
                if privileged && !bootstrap {
                    let grant = daiko_server::governance::RoleGrant {
                        op: "create".into(),
                        login: a.login.clone(),
                        role: a.role.clone(),
                        org: a.org.clone(),
                        name: (!a.name.is_empty()).then(|| a.name.clone()),
                    };
                    return crate::governance::file_request_in(
                        &store,
                        "role_grant",
                        serde_json::to_value(grant)?,
                    )
                    .await;
                }
                let (password, shown) = match std::env::var("DAIKO_INITIAL_PASSWORD") {
                    Ok(p) if !p.is_empty() => (p, false),
                    _ => (generate_password()?, true),
                };
                daiko_server::auth::check_password_policy(&password, &a.login, &a.name, true)
                    .map_err(|v| anyhow::anyhow!("DAIKO_INITIAL_PASSWORD: {}", v.message_en()))?;
                let hash = daiko_server::auth::hash_password(&password)?;
                let u = store
                    .add_user(&NewUser {
                        login: &a.login,
                        display_name: &a.name,
                        role: &a.role,
                        org_id: org.as_ref().map(|o| o.id.as_str()),
                        password_hash: &hash,
                        must_change_password: true,
                        totp_secret: "",
                    })
                    .await
                    .map_err(|e| {
                        if e.is_unique_violation() {
                            anyhow::anyhow!("login {:?} already exists", a.login)
                        } else {
                            e.into()
                        }
                    })?;
                store
                    .audit(&cli_entry(
                        "user.add",
                        format!("user:{}", u.id),
                        format!("{} {}", u.login, u.role),
                    ))
                    .await?;
                if bootstrap {
                    store
                        .audit(&cli_entry(
                            "role.grant",
                            format!("user:{}", u.login),
                            "severity=high; first administrator of the installation (bootstrap, no second administrator exists yet)".into(),
                        ))
                        .await?;
                }
                println!("added user {} ({})", u.login, u.role);
                if shown {
                    println!(
                        "initial password (shown once; must be changed at first login): {password}"
                    );
                }
                Ok(Exit::Ok)
            }
        }
    })
}

/// A random initial password: 16 characters from an unambiguous alphabet.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no random numbers"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

// ---- token create ----

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a login; prints the token on stdout and nothing else.
    ///
    /// A person's token (operator, admin, auditor, or an insurer or institution account with
    /// a TOTP device) needs the person's current TOTP code (`--totp`): the second factor is
    /// proven when the token is issued (S2). An insurer or institution account without a TOTP
    /// device is a system account and gets a machine token (`--machine` insists on that).
    Create {
        #[arg(long)]
        login: String,
        /// The account holder's current 6-digit TOTP code (person tokens).
        #[arg(long, conflicts_with = "machine")]
        totp: Option<String>,
        /// A machine token for an insurer's or institution's system account (refused when the
        /// account has a TOTP device).
        #[arg(long)]
        machine: bool,
    },
}

pub fn token(data: &DataDir, cmd: TokenCommand) -> Result<Exit> {
    let TokenCommand::Create {
        login,
        totp,
        machine,
    } = cmd;
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        require_init(&store).await?;
        let user = store
            .user_by_login(&login)
            .await?
            .with_context(|| format!("no user {login:?}"))?;
        let kind = daiko_server::tokens::kind_for(&user, machine, totp.is_some());
        let who = cli_entry("token.create", String::new(), String::new());
        match daiko_server::tokens::issue(&store, &user, kind, totp.as_deref(), &who).await {
            Ok(issued) => {
                println!("{}", issued.plain);
                Ok(Exit::Ok)
            }
            Err(e) => bail!("{}\n{e}", e.message_ja()),
        }
    })
}

// ---- audit verify ----

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the audit trail's hash chain; exit 0 when intact, 1 naming the first bad record.
    Verify,
    /// The auditors' review of a period (S16): exit 0 when nothing needs review, 1 otherwise.
    Review(crate::governance::ReviewArgs),
}

pub fn audit(data: &DataDir, cmd: AuditCommand) -> Result<Exit> {
    if let AuditCommand::Review(a) = cmd {
        return crate::governance::review(data, a);
    }
    let config = load_config(data, None)?;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        let mut report = store.verify_audit().await?;
        if report.broken.is_none() {
            let anchors = config.data_dir.join("audit.anchors");
            report.broken = daiko_store::audit::anchors::check(&store, &anchors).await?;
        }
        match report.broken {
            None => {
                daiko_store::audit::anchors::write(&store, &config.data_dir.join("audit.anchors"))
                    .await?;
                println!(
                    "audit trail intact: {} records, head {}",
                    report.rows, report.last_hash
                );
                Ok(Exit::Ok)
            }
            Some(b) => {
                println!(
                    "audit trail BROKEN at record {}: {} ({} records before it verify)",
                    b.seq, b.reason, report.rows
                );
                Ok(Exit::InputErrors)
            }
        }
    })
}

// ---- serve / worker ----

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "DAIKO_LISTEN")]
    pub listen: Option<String>,
    #[arg(long, env = "DAIKO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// PEM certificate chain for TLS (S17; also `[tls] cert`, DAIKO_TLS_CERT).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for TLS, not readable by other users (`[tls] key`, DAIKO_TLS_KEY).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// PEM CA bundle for client certificates (`[tls] client_ca`, DAIKO_TLS_CLIENT_CA).
    #[arg(long)]
    pub tls_client_ca: Option<std::path::PathBuf>,
}

pub fn serve(data: &DataDir, args: ServeArgs) -> Result<Exit> {
    let mut config = load_config(data, args.database_url.as_deref())?;
    if let Some(l) = &args.listen {
        config.listen = l
            .parse()
            .with_context(|| format!("--listen {l:?} is not an address like 127.0.0.1:8080"))?;
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        let tls = config.tls.get_or_insert_with(Default::default);
        tls.cert = cert;
        tls.key = key;
        config.secure_cookies = true;
    }
    if let Some(ca) = args.tls_client_ca {
        let Some(tls) = config.tls.as_mut() else {
            anyhow::bail!("--tls-client-ca needs TLS: give --tls-cert and --tls-key too");
        };
        tls.client_ca = Some(ca);
    }
    runtime()?.block_on(async move {
        let store = open_store_checked(&config).await?;
        check_agency_keys(&store, &config).await?;
        run_server(store, config, None).await
    })
}

/// [`open_store`] for `serve` (S20): the master key is loaded and checked here, and a key
/// problem (a key file group or others may read, a bad or missing key) stops the start with
/// the message in Japanese and English.
async fn open_store_checked(config: &ServerConfig) -> Result<Store> {
    match Store::open(&config.data_dir, config.database_url.as_deref()).await {
        Ok(s) => Ok(s),
        Err(daiko_store::StoreError::Key(e)) => Err(anyhow::anyhow!(
            "鍵の確認に失敗したため起動しません / refusing to start: key check failed\n  {}\n  {e}",
            e.message_ja()
        )),
        Err(e) => Err(e)
            .with_context(|| format!("cannot open the data folder {}", config.data_dir.display())),
    }
}

/// `serve` loads the agency's media keys at start-up (S20), so a key file that group or
/// others may read, or one that does not open, stops the start instead of the first media
/// command; a clear key file from before S18 is encrypted on the way (S18). Nothing to load
/// before `init`.
async fn check_agency_keys(store: &Store, config: &ServerConfig) -> Result<()> {
    if store.agency().await?.is_none() {
        return Ok(());
    }
    match daiko_pipeline::media::ensure_agency_keys(store, &config.data_dir).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let ja = match &e {
                daiko_pipeline::media::MediaError::Seal(s) => s.message_ja(),
                daiko_pipeline::media::MediaError::Store(daiko_store::StoreError::Key(k)) => {
                    k.message_ja()
                }
                other => format!("代行機関の媒体用の鍵を読めません: {other}"),
            };
            Err(anyhow::anyhow!(
                "代行機関の鍵の確認に失敗したため起動しません / refusing to start: the agency's \
                 media key failed its check\n  {ja}\n  {e}"
            ))
        }
    }
}

/// Serves until Ctrl-C / SIGTERM. `banner` is printed once listening.
pub async fn run_server(
    store: Store,
    config: ServerConfig,
    banner: Option<String>,
) -> Result<Exit> {
    let listen = config.listen;
    let config_tls = config.tls.is_some();
    // Refuse bad TLS material before announcing anything (serve checks it again).
    if let Some(t) = &config.tls {
        daiko_server::tls::acceptor(t)?;
    }
    let state = daiko_server::AppState::new(store, config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    if let Some(b) = banner {
        println!("{b}");
    }
    let scheme = if config_tls { "https" } else { "http" };
    println!("daiko listening on {scheme}://{addr}/");
    daiko_server::serve(state, listener, rx).await?;
    Ok(Exit::Ok)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Number of worker tasks in this process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    #[arg(long, env = "DAIKO_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

/// Runs pipeline workers without the HTTP side, until Ctrl-C / SIGTERM.
pub fn worker(data: &DataDir, args: WorkerArgs) -> Result<Exit> {
    let config = load_config(data, args.database_url.as_deref())?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        let agency = require_init(&store).await?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = tx.send(true);
        });
        let mut set = tokio::task::JoinSet::new();
        for n in 0..args.workers.max(1) {
            let mut cfg = daiko_pipeline::worker::WorkerConfig::new(
                &agency.number,
                &format!("{}:{}:w{n}", hostname(), std::process::id()),
            );
            cfg.scan = config
                .clamd
                .clone()
                .map(daiko_pipeline::scan::Scanner::new);
            set.spawn(daiko_pipeline::worker::run(store.clone(), cfg, rx.clone()));
        }
        set.spawn(daiko_server::backup_purge_worker(
            store.clone(),
            format!("{}:{}:purge", hostname(), std::process::id()),
            rx.clone(),
        ));
        if config.clamd.is_none() {
            eprintln!(
                "warning: malware scanning is off: set scan.clamd (or DAIKO_SCAN_CLAMD) in production (S21)"
            );
        }
        eprintln!(
            "daiko worker: {} workers on {}",
            args.workers.max(1),
            store.url()
        );
        while set.join_next().await.is_some() {}
        Ok(Exit::Ok)
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

// ---- maintenance ----

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Declare maintenance: the portal and API answer 503 with the notice (S27).
    On {
        /// Notice shown to users (e.g. the expected end).
        #[arg(long, default_value = "")]
        notice: String,
    },
    /// End maintenance.
    Off,
    /// Show the state.
    Status,
    /// Request a work ticket for a maintenance account and window (S11; runs after a
    /// second administrator approves).
    Ticket(crate::governance::TicketArgs),
    /// What a ticket's account did, against the ticket (S11).
    Report(crate::governance::ReportArgs),
}

pub fn maintenance(data: &DataDir, cmd: MaintenanceCommand) -> Result<Exit> {
    let cmd = match cmd {
        MaintenanceCommand::Ticket(a) => return crate::governance::ticket(data, a),
        MaintenanceCommand::Report(a) => return crate::governance::report(data, a),
        other => other,
    };
    let config = load_config(data, None)?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        require_init(&store).await?;
        match cmd {
            MaintenanceCommand::On { notice } => {
                // A non-empty value marks maintenance; the notice may be empty.
                let value = if notice.trim().is_empty() {
                    " ".to_string()
                } else {
                    notice
                };
                store.set_setting("maintenance", &value).await?;
                store
                    .audit(&cli_entry(
                        "system.maintenance_on",
                        String::new(),
                        value.trim().to_string(),
                    ))
                    .await?;
                println!("maintenance declared");
            }
            MaintenanceCommand::Off => {
                store.set_setting("maintenance", "").await?;
                store
                    .audit(&cli_entry(
                        "system.maintenance_off",
                        String::new(),
                        String::new(),
                    ))
                    .await?;
                println!("maintenance ended");
            }
            MaintenanceCommand::Ticket(_) | MaintenanceCommand::Report(_) => {
                unreachable!("dispatched above")
            }
            MaintenanceCommand::Status => match store
                .setting("maintenance")
                .await?
                .filter(|m| !m.is_empty())
            {
                Some(n) => println!("maintenance: on ({})", n.trim()),
                None => println!("maintenance: off"),
            },
        }
        Ok(Exit::Ok)
    })
}

// ---- emergency (break-glass, S12) ----

#[derive(Debug, Subcommand)]
pub enum EmergencyCommand {
    /// Declare an emergency: `emergency` accounts work until it is closed; every use is a
    /// high-severity audit row and a log alert.
    Declare {
        /// Why (kept in the audit trail and shown with every use).
        #[arg(long)]
        reason: String,
    },
    /// Close the emergency: emergency accounts lose their tokens and sessions and get a new
    /// unknown password.
    Close,
}

pub fn emergency(data: &DataDir, cmd: EmergencyCommand) -> Result<Exit> {
    let config = load_config(data, None)?;
    runtime()?.block_on(async move {
        let store = open_store(&config).await?;
        require_init(&store).await?;
        match cmd {
            EmergencyCommand::Declare { reason } => {
                if reason.trim().is_empty() {
                    bail!("--reason must say why the emergency is declared");
                }
                let who = cli_entry("emergency.declare", String::new(), String::new());
                let webhook = config.alert_webhook.as_ref();
                let sent =
                    daiko_server::caller::declare_emergency(&store, webhook, &reason, &who).await?;
                println!("emergency declared: {}", reason.trim());
                if webhook.is_some() && !sent {
                    eprintln!(
                        "警告: 緊急事態の通知を送れませんでした。通知は保存され、daiko serve が再送します(監査ログ alert.failed を確認してください)\n\
                         warning: the emergency alert was not delivered; it is kept and daiko serve posts it again (see alert.failed in the audit log)"
                    );
                }
            }
            EmergencyCommand::Close => {
                let n = daiko_server::caller::close_emergency(&store).await?;
                store
                    .audit(&cli_entry(
                        "emergency.close",
                        String::new(),
                        format!("severity=high; {n} accounts rotated"),
                    ))
                    .await?;
                println!(
                    "emergency closed; credentials of {n} emergency accounts revoked and rotated"
                );
            }
        }
        Ok(Exit::Ok)
    })
}

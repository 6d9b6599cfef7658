//! TLS terminated by `serve` (S17): the negotiated profile, handshakes outside it refused,
//! wrong CAs refused, organisations bound to client certificates, HSTS and Secure cookies,
//! and a key file other users can read refused (S20). Certificates are made here with
//! rcgen (ECDSA P-256).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use daiko_server::tls::TlsConfig;
use daiko_server::{AppState, ServeError};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P521_SHA512,
};
use rustls::crypto::aws_lc_rs::{cipher_suite, default_provider, kx_group};
use rustls::pki_types::ServerName;
use rustls::{CipherSuite, NamedGroup, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENT_A: &str = "insurer-a.clients.daiko.test";
const CLIENT_B: &str = "insurer-b.clients.daiko.test";

/// A test PKI: one CA, the server's certificate for `localhost`, client certificates.
struct Pki {
    ca_pem: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA");
        Pki {
            ca_pem: issuer.pem(),
            issuer,
        }
    }

    /// (certificate PEM, key PEM) for `dns` signed by this CA.
    fn leaf(&self, dns: &str, client: bool) -> (String, String) {
        self.leaf_with(dns, client, &PKCS_ECDSA_P256_SHA256)
    }

    fn leaf_with(
        &self,
        dns: &str,
        client: bool,
        alg: &'static rcgen::SignatureAlgorithm,
    ) -> (String, String) {
        let key = KeyPair::generate_for(alg).expect("leaf key");
        let mut params = CertificateParams::new(vec![dns.to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, dns);
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

async fn serve(store: &daiko_store::Store, dir: &Path, tls: TlsConfig) -> Running {
    let mut config = common::config(dir, 1 << 20);
    config.workers = 0;
    config.secure_cookies = true;
    config.tls = Some(tls);
    let state = AppState::new(store.clone(), config).await.expect("agency");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(daiko_server::serve(state, listener, rx));
    Running { addr, stop, task }
}

fn roots(pki: &Pki) -> Arc<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(pki.issuer.der().clone())
        .expect("CA into the root store");
    Arc::new(roots)
}

/// A raw TLS client with a given provider and versions; answers the connection's
/// (version, suite, group) or the handshake error.
async fn handshake(
    addr: SocketAddr,
    pki: &Pki,
    provider: rustls::crypto::CryptoProvider,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<(ProtocolVersion, CipherSuite, NamedGroup), String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots(pki))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .map_err(|e| e.to_string())?;
    // Prove the channel works: a plain HTTP/1.1 request for the health endpoint.
    tls.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    tls.read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let c = tls.get_ref().1;
    Ok((
        c.protocol_version().expect("version"),
        c.negotiated_cipher_suite().expect("suite").suite(),
        c.negotiated_key_exchange_group().expect("group").name(),
    ))
}

fn client(pki: &Pki, identity: Option<(&str, &str)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("CA pem")]);
    if let Some((cert, key)) = identity {
        b = b.identity(
            reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).expect("identity"),
        );
    }
    b.build().expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_profile_mtls_and_hsts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let pki = Pki::new("daiko test CA");
    let (cert, key) = pki.leaf("localhost", false);
    let mut client_orgs = BTreeMap::new();
    client_orgs.insert(w.insurer_a.number.clone(), CLIENT_A.to_string());
    let tls = TlsConfig {
        cert: write(dir.path(), "server.crt", &cert, 0o644),
        key: write(dir.path(), "server.key", &key, 0o600),
        client_ca: Some(write(dir.path(), "clients-ca.pem", &pki.ca_pem, 0o644)),
        client_orgs,
    };
    let srv = serve(&w.store, dir.path(), tls).await;
    let base = format!("https://localhost:{}", srv.addr.port());

    // A client trusting the CA gets the health answer, with HSTS; cookies are Secure.
    let r = client(&pki, None)
        .get(format!("{base}/api/v1/health"))
        .send()
        .await
        .expect("health over TLS");
    assert_eq!(r.status().as_u16(), 200);
    let hsts = r
        .headers()
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(hsts.starts_with("max-age="), "HSTS: {hsts:?}");
    let login = client(&pki, None)
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page");
    let cookies: Vec<_> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );

    // Negotiated parameters: a default rustls client (which prefers X25519 and the
    // post-quantum hybrid) ends on TLS 1.3, AES-GCM and P-256.
    let got = handshake(
        srv.addr,
        &pki,
        default_provider(),
        &[&rustls::version::TLS13],
    )
    .await
    .expect("TLS 1.3");
    println!("negotiated: {got:?}");
    assert_eq!(got.0, ProtocolVersion::TLSv1_3);
    assert!(matches!(
        got.1,
        CipherSuite::TLS13_AES_256_GCM_SHA384 | CipherSuite::TLS13_AES_128_GCM_SHA256
    ));
    assert_eq!(got.2, NamedGroup::secp256r1);
    // TLS 1.2 with ECDHE + AES-GCM works.
    let got = handshake(
        srv.addr,
        &pki,
        default_provider(),
        &[&rustls::version::TLS12],
    )
    .await
    .expect("TLS 1.2");
    assert_eq!(got.0, ProtocolVersion::TLSv1_2);
    assert_eq!(got.1, CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
    // A TLS 1.2 client offering only CHACHA20 fails; so does one offering only X25519.
    let mut chacha = default_provider();
    chacha.cipher_suites = vec![cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256];
    let e = handshake(srv.addr, &pki, chacha, &[&rustls::version::TLS12])
        .await
        .expect_err("CHACHA20 refused");
    println!("chacha20 only: {e}");
    let mut chacha13 = default_provider();
    chacha13.cipher_suites = vec![cipher_suite::TLS13_CHACHA20_POLY1305_SHA256];
    assert!(
        handshake(srv.addr, &pki, chacha13, &[&rustls::version::TLS13])
            .await
            .is_err()
    );
    for versions in [
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let mut x25519 = default_provider();
        x25519.kx_groups = vec![kx_group::X25519];
        let e = handshake(srv.addr, &pki, x25519, versions)
            .await
            .expect_err("X25519 refused");
        println!("x25519 only: {e}");
    }
    // A client that trusts another CA refuses the server.
    let other = Pki::new("another CA");
    assert!(
        client(&other, None)
            .get(format!("{base}/api/v1/health"))
            .send()
            .await
            .is_err()
    );

    // Mutual TLS: insurer A is bound to client certificates for CLIENT_A.
    let url = format!("{base}/api/v1/deliveries");
    let (a_cert, a_key) = pki.leaf(CLIENT_A, true);
    let (b_cert, b_key) = pki.leaf(CLIENT_B, true);
    let status = async |c: &reqwest::Client, token: &str| {
        c.get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    };
    let token_a = w.token("insurer_a").to_string();
    assert_eq!(status(&client(&pki, None), &token_a).await, 401);
    assert_eq!(
        status(&client(&pki, Some((&a_cert, &a_key))), &token_a).await,
        200
    );
    assert_eq!(
        status(&client(&pki, Some((&b_cert, &b_key))), &token_a).await,
        401
    );
    // A certificate for the right name from an untrusted CA does not get through the
    // handshake.
    let (x_cert, x_key) = other.leaf(CLIENT_A, true);
    assert!(
        client(&pki, Some((&x_cert, &x_key)))
            .get(&url)
            .bearer_auth(&token_a)
            .send()
            .await
            .is_err()
    );
    // Organisations that are not bound are unaffected.
    assert_eq!(status(&client(&pki, None), w.token("insurer_b")).await, 200);
    let refusals = w
        .store
        .audit_search(&daiko_store::audit::AuditQuery {
            action_prefix: Some("tls.client_cert_refused".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(refusals.len(), 2);
    assert!(
        refusals
            .iter()
            .all(|r| r.entry.detail.contains("severity=high"))
    );

    let _ = srv.stop.send(true);
    assert!(srv.task.await.expect("join").is_ok());
}

#[tokio::test]
async fn key_files_and_keys_outside_the_profile_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let pki = Pki::new("daiko test CA");
    let (cert, key) = pki.leaf("localhost", false);
    let cert_path = write(dir.path(), "server.crt", &cert, 0o644);
    let start = async |key: PathBuf| {
        let srv = serve(
            &w.store,
            dir.path(),
            TlsConfig {
                cert: cert_path.clone(),
                key,
                ..Default::default()
            },
        )
        .await;
        srv.task.await.expect("join")
    };
    // World-readable key: refused before listening, with a clear message.
    let open = write(dir.path(), "open.key", &key, 0o644);
    let e = start(open).await.expect_err("world-readable key refused");
    let msg = e.to_string();
    assert!(
        msg.contains("readable by other users") && msg.contains("chmod 600"),
        "{msg}"
    );
    // P-521 is not in the profile.
    let (c521, k521) = pki.leaf_with("localhost", false, &PKCS_ECDSA_P521_SHA512);
    std::fs::write(&cert_path, c521).expect("write");
    let e = start(write(dir.path(), "p521.key", &k521, 0o600))
        .await
        .expect_err("P-521 refused");
    assert!(e.to_string().contains("P-256/P-384"), "{e}");
    // Client-certificate bindings without a CA make no sense.
    let mut orgs = BTreeMap::new();
    orgs.insert(w.insurer_a.number.clone(), CLIENT_A.to_string());
    std::fs::write(&cert_path, &cert).expect("write");
    let srv = serve(
        &w.store,
        dir.path(),
        TlsConfig {
            cert: cert_path.clone(),
            key: write(dir.path(), "ok.key", &key, 0o600),
            client_ca: None,
            client_orgs: orgs,
        },
    )
    .await;
    assert!(srv.task.await.expect("join").is_err());
}

/// `openssl s_client` with extra arguments: whether the handshake succeeded.
fn openssl_handshake(addr: SocketAddr, args: &[&str]) -> bool {
    std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// SECURITY.md's own probe: TLS 1.1 and CBC suites fail (rustls cannot even offer them as a
/// client, so OpenSSL plays the old client).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_1_and_cbc_suites_fail_with_openssl() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: the openssl command is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let pki = Pki::new("daiko test CA");
    let (cert, key) = pki.leaf("localhost", false);
    let srv = serve(
        &w.store,
        dir.path(),
        TlsConfig {
            cert: write(dir.path(), "server.crt", &cert, 0o644),
            key: write(dir.path(), "server.key", &key, 0o600),
            ..Default::default()
        },
    )
    .await;
    let addr = srv.addr;
    let probe = move |args: &'static [&'static str]| {
        tokio::task::spawn_blocking(move || openssl_handshake(addr, args))
    };
    // Controls: the profile's suites work from OpenSSL too.
    assert!(
        probe(&["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
            .await
            .expect("join")
    );
    assert!(probe(&["-tls1_3", "-groups", "P-384"]).await.expect("join"));
    // Refused: TLS 1.1 (even with every old suite allowed), TLS 1.2 with CBC suites,
    // X25519 only.
    for args in [
        &["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"][..],
        &[
            "-tls1_2",
            "-cipher",
            "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384",
        ][..],
        &["-tls1_3", "-groups", "X25519"][..],
    ] {
        assert!(!probe(args).await.expect("join"), "{args:?} must fail");
    }
    let _ = srv.stop.send(true);
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let mut config = common::config(dir.path(), 1 << 20);
    config.workers = 0;
    let state = AppState::new(w.store.clone(), config)
        .await
        .expect("agency");
    // 0.0.0.0 is every interface, not loopback.
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let e = daiko_server::serve(state, listener, rx)
        .await
        .expect_err("plain HTTP off loopback refused");
    assert!(matches!(e, ServeError::PlainOffLoopback(_)), "{e}");
    assert!(e.to_string().contains("without TLS"), "{e}");
}

#[test]
fn configuration_from_the_file_and_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("daiko.toml"),
        "listen = \"0.0.0.0:8443\"\n[tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/key.pem\"\n\
         client_ca = \"tls/clients.pem\"\n[tls.client_orgs]\n\"01234567\" = \"kenpo.example.jp\"\n\
         [scan]\nclamd = \"tcp://127.0.0.1:3310\"\n",
    )
    .expect("write");
    let c = daiko_server::ServerConfig::load(dir.path(), &|_| None).expect("config");
    let tls = c.tls.expect("tls");
    assert_eq!(tls.key, dir.path().join("tls/key.pem"));
    assert_eq!(
        tls.client_orgs.get("01234567").map(String::as_str),
        Some("kenpo.example.jp")
    );
    assert!(c.secure_cookies);
    assert!(c.clamd.is_some());
    let env = |k: &str| match k {
        "DAIKO_TLS_CERT" => Some("/etc/daiko/cert.pem".to_string()),
        "DAIKO_TLS_KEY" => Some("/etc/daiko/key.pem".to_string()),
        "DAIKO_TLS_CLIENT_ORGS" => Some("11111111=a.example.jp, 22222222=b.example.jp".into()),
        _ => None,
    };
    let c = daiko_server::ServerConfig::load(dir.path(), &env).expect("config");
    let tls = c.tls.expect("tls");
    assert_eq!(tls.cert, PathBuf::from("/etc/daiko/cert.pem"));
    assert_eq!(tls.client_orgs.len(), 2);
    let bad = |k: &str| (k == "DAIKO_TLS_CLIENT_ORGS").then(|| "11111111".to_string());
    assert!(daiko_server::ServerConfig::load(dir.path(), &bad).is_err());
}

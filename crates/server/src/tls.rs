//! TLS termination by `daiko serve` itself (S17): rustls on the aws-lc-rs provider with a
//! CRYPTREC-compatible profile, and optional client certificates (mutual TLS) that bind an
//! organisation's API tokens to its systems.
//!
//! Profile: TLS 1.3 (AES-GCM suites only), TLS 1.2 only with ECDHE + AES-GCM; key exchange
//! on P-256 or P-384 only (X25519 and the post-quantum hybrids are not in the CRYPTREC list);
//! server keys ECDSA P-256/P-384 or RSA of at least 2048 bits. The key file must not be
//! readable by other users (S20).
//!
//! Client certificates are optional at the handshake (a browser without one still reaches
//! the portal); when one is presented it must chain to the configured CA bundle. An
//! organisation listed in `tls.client_orgs` (組織番号 → DNS name) is bound: its API tokens are
//! refused unless the connection presented a valid client certificate whose subjectAltName
//! dNSName is that name ([`check_client_binding`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::{cipher_suite, default_provider, kx_group};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// TLS settings of `daiko serve` (`[tls]` in daiko.toml, `DAIKO_TLS_*` in the environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1); must not be readable by other users.
    pub key: PathBuf,
    /// PEM CA bundle that client certificates must chain to (enables mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// Organisations bound to client certificates: 組織番号 (org number) → the DNS name their
    /// certificate must carry as subjectAltName.
    pub client_orgs: BTreeMap<String, String>,
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing the TLS key {0}: it is readable by other users; run `chmod 600` on it (S20)")]
    KeyReadableByOthers(PathBuf),
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error(
        "{0}: the key must be ECDSA P-256/P-384 or RSA of at least 2048 bits (CRYPTREC profile)"
    )]
    WeakKey(PathBuf),
    #[error("tls.client_orgs is set but tls.client_ca is not: bound organisations need a CA")]
    ClientOrgsWithoutCa,
    #[error("tls.client_orgs: {0:?} is not a DNS name")]
    BadClientName(String),
    #[error("TLS configuration refused: {0}")]
    Rustls(String),
}

/// The client certificate of the connection a request came in on (none without TLS or
/// when the client presented none). Inserted into every request's extensions.
#[derive(Debug, Clone, Default)]
pub struct ClientCertificate(pub Option<Arc<CertificateDer<'static>>>);

/// The crypto provider restricted to the profile: AES-GCM suites with ECDHE, P-256/P-384.
pub fn provider() -> CryptoProvider {
    let mut p = default_provider();
    p.cipher_suites = vec![
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];
    p.kx_groups = vec![kx_group::SECP256R1, kx_group::SECP384R1];
    p
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_path_buf(),
            message: "no CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

/// Reads the private key, refusing a file other users can read.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.permissions().mode() & 0o007 != 0 {
            return Err(TlsError::KeyReadableByOthers(path.to_path_buf()));
        }
    }
    let pem = read(path)?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        message: format!("no usable PRIVATE KEY block: {e}"),
    })?;
    if !key_in_profile(&key) {
        return Err(TlsError::WeakKey(path.to_path_buf()));
    }
    Ok(key)
}

/// ECDSA on P-256 or P-384, or RSA with a modulus of at least 2048 bits.
fn key_in_profile(key: &PrivateKeyDer<'_>) -> bool {
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    };
    let der = key.secret_der();
    let ec = [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
    ]
    .iter()
    .any(|alg| EcdsaKeyPair::from_private_key_der(alg, der).is_ok());
    if ec {
        return true;
    }
    let rsa = match key {
        PrivateKeyDer::Pkcs1(_) => aws_lc_rs::rsa::KeyPair::from_der(der).ok(),
        _ => aws_lc_rs::rsa::KeyPair::from_pkcs8(der).ok(),
    };
    rsa.is_some_and(|k| k.public_modulus_len() * 8 >= 2048)
}

/// Builds the acceptor from the configuration (reads and checks every file).
pub fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    let chain = certs(&config.cert)?;
    let key = private_key(&config.key)?;
    let provider = Arc::new(provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    if config.client_ca.is_none() && !config.client_orgs.is_empty() {
        return Err(TlsError::ClientOrgsWithoutCa);
    }
    for name in config.client_orgs.values() {
        ServerName::try_from(name.as_str()).map_err(|_| TlsError::BadClientName(name.clone()))?;
    }
    let builder = match &config.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).map_err(|e| TlsError::Pem {
                    path: ca.clone(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// Whether `cert` (already verified against the client CA at the handshake) is valid for
/// the DNS name `name`.
pub fn cert_is_for(cert: &CertificateDer<'_>, name: &str) -> bool {
    let Ok(server_name) = ServerName::try_from(name) else {
        return false;
    };
    webpki::EndEntityCert::try_from(cert)
        .is_ok_and(|ee| ee.verify_is_valid_for_subject_name(&server_name).is_ok())
}

/// For an organisation bound to client certificates: `Err(why)` unless `presented` is a
/// certificate for the organisation's configured name. Unbound organisations pass.
pub fn check_client_binding(
    config: Option<&TlsConfig>,
    org_number: &str,
    presented: Option<&ClientCertificate>,
) -> Result<(), String> {
    let Some(name) = config.and_then(|c| c.client_orgs.get(org_number)) else {
        return Ok(());
    };
    match presented.and_then(|p| p.0.as_deref()) {
        None => Err(format!(
            "organisation {org_number} requires a client certificate for {name}; none presented"
        )),
        Some(cert) if cert_is_for(cert, name) => Ok(()),
        Some(_) => Err(format!(
            "organisation {org_number} requires a client certificate for {name}; the one \
             presented is for another name"
        )),
    }
}

/// Serves `app` over TLS on `listener` until `shutdown` turns true, then lets open
/// connections finish (up to 10 s).
pub async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // The watch guard must not live across an await (the future stays Send).
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
            let client = ClientCertificate(
                tls.get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| Arc::new(c.clone().into_owned())),
            );
            let svc = hyper::service::service_fn(
                move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    req.extensions_mut().insert(client.clone());
                    let mut app = app.clone();
                    async move { app.call(req).await }
                },
            );
            // A client that never finishes its headers is dropped (slowloris).
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(tls), svc);
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}

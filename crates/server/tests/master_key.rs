//! S18: `serve` off loopback refuses a master key inside the data folder (the quick-start key
//! generated when none is configured), and starts with a key file outside it.

mod common;

use std::path::{Path, PathBuf};

use daiko_server::tls::TlsConfig;
use daiko_server::{AppState, ServeError};
use daiko_store::KeyringConfig;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

fn tls(dir: &Path) -> TlsConfig {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    TlsConfig {
        cert: write(dir, "server.crt", &cert.pem()),
        key: write(dir, "server.key", &key.serialize_pem()),
        client_ca: None,
        client_orgs: Default::default(),
    }
}

/// Serves `store` with TLS on every interface; answers the error if `serve` stops by itself
/// within a second, `None` if it was still running (then it is stopped).
async fn serve_everywhere(store: daiko_store::Store, dir: &Path) -> Option<ServeError> {
    let w = common::seed("sqlite", store).await;
    let mut config = common::config(dir, 1 << 20);
    config.workers = 0;
    config.tls = Some(tls(dir));
    let state = AppState::new(w.store.clone(), config)
        .await
        .expect("agency");
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut task = tokio::spawn(daiko_server::serve(state, listener, rx));
    match tokio::time::timeout(std::time::Duration::from_secs(1), &mut task).await {
        Ok(r) => r.expect("join").err(),
        Err(_) => {
            let _ = stop.send(true);
            task.await.expect("join").expect("clean stop");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_the_master_key_must_be_outside_the_data_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Nothing configured: the quick-start key is generated inside the data folder.
    let data = tmp.path().join("quick");
    let store = daiko_store::Store::open_with(
        &data,
        None,
        KeyringConfig::from_env(&data, &|_| None).expect("config"),
    )
    .await
    .expect("store");
    let e = serve_everywhere(store, &data)
        .await
        .expect("refused off loopback");
    assert!(matches!(e, ServeError::MasterKeyInDataFolder(..)), "{e}");
    assert!(e.to_string().contains("DAIKO_MASTER_KEY_FILE"), "{e}");

    // The same with the key file outside the data folder: it serves.
    let data = tmp.path().join("prod");
    let key = tmp.path().join("secrets").join("master.key");
    daiko_store::keyring::create_master_file(&key).expect("master key");
    let store = daiko_store::Store::open_with(&data, None, KeyringConfig::file(&key))
        .await
        .expect("store");
    assert!(serve_everywhere(store, &data).await.is_none());
}

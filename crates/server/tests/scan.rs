//! Malware scanning (S21) through the HTTP API: an institution uploads an archive holding
//! the EICAR test file, the server's own worker configuration (`worker_config`, which reads
//! `scan.clamd`) scans it with a real clamd started here, and the sender sees it
//! quarantined. Skipped with a message when clamd is not installed, unless
//! DAIKO_REQUIRE_CLAMD=1 (CI).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use daiko_pipeline::scan::{ClamdAddr, Scanner};
use daiko_server::AppState;
use sha2::Digest;

/// The EICAR anti-virus test file (68 bytes).
const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// A private clamd with an EICAR-only database, killed on drop.
struct Clamd(Child);

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn clamd_binary() -> Option<PathBuf> {
    let bin = ["/usr/sbin/clamd", "/usr/bin/clamd", "/usr/local/sbin/clamd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if bin.is_none() {
        assert!(
            std::env::var("DAIKO_REQUIRE_CLAMD").as_deref() != Ok("1"),
            "DAIKO_REQUIRE_CLAMD=1 but clamd is not installed (apt-get install clamav-daemon)"
        );
        eprintln!("SKIPPED: clamd not installed (apt-get install clamav-daemon)");
    }
    bin
}

/// Starts clamd in `dir` on a free port; answers the process and its address.
async fn start_clamd(bin: &Path, dir: &Path) -> (Clamd, ClamdAddr) {
    let db = dir.join("db");
    std::fs::create_dir_all(&db).expect("db dir");
    std::fs::create_dir_all(dir.join("tmp")).expect("tmp dir");
    let sha = hex::encode(sha2::Sha256::digest(EICAR));
    std::fs::write(
        db.join("local.hsb"),
        format!("{sha}:{}:Eicar-Test-Signature-Local\n", EICAR.len()),
    )
    .expect("signature");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let conf = dir.join("clamd.conf");
    std::fs::write(
        &conf,
        format!(
            "DatabaseDirectory {}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n\
             TemporaryDirectory {}\nStreamMaxLength 100M\n",
            db.display(),
            dir.join("tmp").display()
        ),
    )
    .expect("conf");
    let clamd = Clamd(
        Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clamd"),
    );
    let addr = ClamdAddr::Tcp(format!("127.0.0.1:{port}"));
    let probe = Scanner::new(addr.clone());
    for _ in 0..600 {
        if probe.ping().await.is_ok() {
            return (clamd, addr);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("clamd did not answer PING within 60 s");
}

/// The sample archive with the EICAR file added.
fn infected(zip_bytes: &[u8]) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..src.len() {
        out.raw_copy_file(src.by_index_raw(i).expect("entry"))
            .expect("copy");
    }
    out.start_file("DATA/readme.com", zip::write::SimpleFileOptions::default())
        .expect("entry");
    out.write_all(EICAR).expect("write");
    out.finish().expect("finish").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infected_upload_is_quarantined_and_the_sender_is_told() {
    let Some(bin) = clamd_binary() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_clamd, addr) = start_clamd(&bin, &dir.path().join("clamd")).await;
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let mut config = common::config(dir.path(), 50 << 20);
    config.clamd = Some(addr);
    let state = AppState::new(w.store.clone(), config.clone())
        .await
        .expect("agency");
    let srv = common::start(&w.store, config).await;
    let client = reqwest::Client::new();
    let token = w.token("inst_a").to_string();

    let up = client
        .post(format!(
            "{}/api/v1/submissions?name={}",
            srv.base, w.sample.name
        ))
        .bearer_auth(&token)
        .body(infected(&w.sample.zip))
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status().as_u16(), 202);
    let receipt: serde_json::Value = up.json().await.expect("receipt");
    let id = receipt["id"].as_str().expect("id").to_string();

    // The server's worker configuration carries the scanner.
    let cfg = daiko_server::worker_config(&state, 0);
    assert!(cfg.scan.is_some());
    daiko_pipeline::worker::run_until_idle(&w.store, &cfg)
        .await
        .expect("pipeline");

    let show: serde_json::Value = client
        .get(format!("{}/api/v1/submissions/{id}", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(show["status"], "quarantined", "{show}");
    assert!(show["report"].is_null());
    let report = client
        .get(format!("{}/api/v1/submissions/{id}/report", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("report");
    assert_eq!(report.status().as_u16(), 409);
    let body: serde_json::Value = report.json().await.expect("json");
    assert_eq!(body["error"], "quarantined", "{body}");
    assert!(
        body["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("ウイルス")),
        "{body}"
    );
    // Nothing was delivered to the insurers.
    let deliveries: serde_json::Value = client
        .get(format!("{}/api/v1/deliveries", srv.base))
        .bearer_auth(w.token("insurer_a"))
        .send()
        .await
        .expect("deliveries")
        .json()
        .await
        .expect("json");
    assert_eq!(
        deliveries["deliveries"].as_array().map(Vec::len),
        Some(0),
        "{deliveries}"
    );
}

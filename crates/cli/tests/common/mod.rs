//! Helpers shared by the CLI tests that run `daiko serve` as a child process: a free port,
//! starting the server and waiting for health, uploading an archive, waiting for its check.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `daiko serve`, killed when dropped.
pub struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `daiko … serve` from `command` (data folder and environment already set) on
/// `port` and waits until its health endpoint answers.
pub fn serve(mut command: Command, port: u16) -> Server {
    let mut child = command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start daiko serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/api/v1/health"))
            && r.status().is_success()
        {
            return Server(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("daiko serve exited early ({status}): {err}");
        }
        assert!(Instant::now() < deadline, "daiko serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub fn upload(port: u16, token: &str, name: &str, zip: &[u8]) -> String {
    let r = client()
        .post(format!(
            "http://127.0.0.1:{port}/api/v1/submissions?name={name}"
        ))
        .bearer_auth(token)
        .header("content-type", "application/zip")
        .body(zip.to_vec())
        .send()
        .expect("upload");
    assert_eq!(r.status().as_u16(), 202, "upload {name}");
    let v: serde_json::Value = r.json().expect("receipt");
    v["id"].as_str().expect("id").to_string()
}

pub fn wait_done(port: u16, token: &str, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v: serde_json::Value = client()
            .get(format!("http://127.0.0.1:{port}/api/v1/submissions/{id}"))
            .bearer_auth(token)
            .send()
            .and_then(|r| r.json())
            .expect("status");
        if v["status"] == "done" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "submission {id} not checked: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

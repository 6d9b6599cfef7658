//! S15: the clock-offset check speaks SNTP over UDP to an NTP peer started by the test. The
//! peer answers real NTP server packets from a clock shifted by a chosen amount; beyond the
//! threshold the health endpoint shows the alert and a high-severity audit row exists.

mod common;

use std::time::Duration;

use daiko_server::clock::{self, TimeConfig};
use daiko_store::audit::AuditQuery;
use tokio::net::UdpSocket;

const NTP_UNIX_OFFSET: i128 = 2_208_988_800;

fn ntp_ts(unix_nanos: i128) -> [u8; 8] {
    let secs = (unix_nanos.div_euclid(1_000_000_000) + NTP_UNIX_OFFSET) as u64;
    let frac = ((unix_nanos.rem_euclid(1_000_000_000) as u128) << 32) / 1_000_000_000;
    ((secs << 32) | frac as u64).to_be_bytes()
}

/// An SNTP server (mode 4, stratum 2) whose clock is `shift` ahead of ours; answers every
/// request until the task is dropped. Answers its address.
async fn ntp_peer(shift: Duration, negative: bool) -> (String, tokio::task::JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
    let addr = sock.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            if n < 48 || buf[0] & 0x07 != 3 {
                continue; // not a client request
            }
            let shifted = || {
                let now = jiff::Timestamp::now().as_nanosecond();
                let s = shift.as_nanos() as i128;
                if negative { now - s } else { now + s }
            };
            let mut out = [0u8; 48];
            out[0] = 0x24; // LI 0, version 4, mode 4 (server)
            out[1] = 2; // stratum
            out[2] = 6; // poll
            out[3] = 0xEC; // precision
            out[12..16].copy_from_slice(b"TEST");
            out[16..24].copy_from_slice(&ntp_ts(shifted()));
            out[24..32].copy_from_slice(&buf[40..48]); // origin = the client's transmit
            out[32..40].copy_from_slice(&ntp_ts(shifted()));
            out[40..48].copy_from_slice(&ntp_ts(shifted()));
            let _ = sock.send_to(&out, from).await;
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_beyond_the_threshold_raises_the_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;

    // Disabled without servers, and the health endpoint says so.
    let mut cfg = common::config(dir.path(), 1 << 20);
    let srv = common::start(&w.store, cfg.clone()).await;
    let h: serde_json::Value = reqwest::get(format!("{}/api/v1/health", srv.base))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(h["clock"]["status"], "disabled", "{h}");
    drop(srv);

    // A peer ten minutes ahead: alert.
    let (far, _far_task) = ntp_peer(Duration::from_secs(600), false).await;
    cfg.time = TimeConfig {
        ntp: vec![far.clone()],
        max_offset_ms: 1000,
        ..TimeConfig::default()
    };
    let c = clock::check_and_record(&w.store, &cfg.time)
        .await
        .expect("check");
    assert_eq!(c.status, "alert", "{c:?}");
    let off = c.offset_ms.expect("offset");
    assert!((599_000..=601_000).contains(&off), "offset {off} ms");
    let srv = common::start(&w.store, cfg.clone()).await;
    let h: serde_json::Value = reqwest::get(format!("{}/api/v1/health", srv.base))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(h["clock"]["status"], "alert", "{h}");
    assert_eq!(h["clock"]["threshold_ms"], 1000);
    assert_eq!(h["clock"]["server"], far.as_str());
    let alerts = w
        .store
        .audit_search(&AuditQuery {
            action_prefix: Some("clock.offset_alert".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].entry.detail.contains("severity=high"));
    drop(srv);

    // A peer behind by five seconds is an alert too (the sign does not matter).
    let (behind, _behind_task) = ntp_peer(Duration::from_secs(5), true).await;
    cfg.time.ntp = vec![behind];
    let c = clock::check_and_record(&w.store, &cfg.time)
        .await
        .expect("check");
    assert_eq!(c.status, "alert");
    assert!(
        c.offset_ms.is_some_and(|o| (-5_500..=-4_500).contains(&o)),
        "{c:?}"
    );

    // An unreachable first server falls through to the next; a true clock is ok.
    let dead = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.local_addr().expect("addr").to_string()
    }; // closed again: nothing answers there
    let (near, _near_task) = ntp_peer(Duration::ZERO, false).await;
    cfg.time.ntp = vec![dead, near.clone()];
    cfg.time.timeout = Duration::from_millis(300);
    let c = clock::check_and_record(&w.store, &cfg.time)
        .await
        .expect("check");
    assert_eq!(c.status, "ok", "{c:?}");
    assert_eq!(c.server.as_deref(), Some(near.as_str()));
    assert!(c.offset_ms.is_some_and(|o| o.abs() < 200), "{c:?}");
    let srv = common::start(&w.store, cfg.clone()).await;
    let h: serde_json::Value = reqwest::get(format!("{}/api/v1/health", srv.base))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(h["clock"]["status"], "ok", "{h}");

    // No server at all answers: unverified, reported.
    cfg.time.ntp = vec!["127.0.0.1:9".into()];
    let c = clock::check_and_record(&w.store, &cfg.time)
        .await
        .expect("check");
    assert_eq!(c.status, "unreachable", "{c:?}");
    assert!(c.error.is_some());

    // The auditors' review shows the alert.
    let today = daiko_server::hours::jst_date(jiff::Timestamp::now()).to_string();
    let (since, until) = daiko_server::governance::review_period(&today, &today).expect("period");
    let rows = w
        .store
        .audit_period(&since, &until, None, None)
        .await
        .expect("rows");
    let items = daiko_server::governance::review(&rows, &cfg.service_hours, &cfg.review);
    assert_eq!(items.iter().filter(|i| i.category == "clock").count(), 2);
}

/// `serve` runs the check at start: its health endpoint reports the peer's offset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_checks_the_clock_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = daiko_store::Store::open(dir.path(), None)
        .await
        .expect("store");
    let w = common::seed("sqlite", store).await;
    let (far, _task) = ntp_peer(Duration::from_secs(120), false).await;
    let mut cfg = common::config(dir.path(), 1 << 20);
    cfg.workers = 0;
    cfg.time.ntp = vec![far];
    let state = daiko_server::AppState::new(w.store.clone(), cfg)
        .await
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(daiko_server::serve(state, listener, rx));
    let mut last = serde_json::Value::Null;
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("{base}/api/v1/health")).await {
            last = r.json().await.unwrap_or_default();
            if last["clock"]["status"] == "alert" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["clock"]["status"], "alert", "{last}");
    assert!(
        last["clock"]["offset_ms"]
            .as_i64()
            .is_some_and(|o| (119_000..=121_000).contains(&o)),
        "{last}"
    );
    let _ = tx.send(true);
    let _ = server.await;
}

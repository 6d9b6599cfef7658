//! The alert outbox (S12) on SQLite and PostgreSQL: kept until delivered, claimed by one
//! sender at a time, retried only when due.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_wait_until_delivered_and_are_claimed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (db, store) in daiko_store::testdb::stores(dir.path())
        .await
        .expect("stores")
    {
        let id = store
            .enqueue_alert("emergency.use", r#"{"event":"emergency.use"}"#)
            .await
            .expect("enqueue");
        assert_eq!(
            store.due_alerts(10).await.expect("due"),
            vec![id.clone()],
            "{db}"
        );
        let claimed = store
            .claim_alert(&id, Duration::from_secs(60), true)
            .await
            .expect("claim")
            .expect("claimable");
        assert_eq!(claimed.attempts, 1);
        assert_eq!(claimed.body, r#"{"event":"emergency.use"}"#);
        // Held by the first sender: a second one gets nothing, and it is not due.
        assert!(
            store
                .claim_alert(&id, Duration::from_secs(60), false)
                .await
                .expect("claim")
                .is_none(),
            "{db}"
        );
        assert!(store.due_alerts(10).await.expect("due").is_empty(), "{db}");
        // Failed, to be retried in an hour: kept, not due.
        store
            .alert_failed(&id, "webhook answered 503", Duration::from_secs(3600))
            .await
            .expect("failed");
        let pending = store.undelivered_alerts().await.expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].last_error, "webhook answered 503");
        assert!(store.due_alerts(10).await.expect("due").is_empty(), "{db}");
        assert!(
            store
                .claim_alert(&id, Duration::from_secs(60), true)
                .await
                .expect("claim")
                .is_none()
        );
        // Raised again by hand (`due_only = false`): claimable, then delivered and gone.
        let again = store
            .claim_alert(&id, Duration::from_secs(60), false)
            .await
            .expect("claim")
            .expect("claimable");
        assert_eq!(again.attempts, 2);
        store.alert_delivered(&id).await.expect("delivered");
        assert!(
            store
                .undelivered_alerts()
                .await
                .expect("pending")
                .is_empty(),
            "{db}"
        );
        assert!(
            store
                .claim_alert(&id, Duration::from_secs(60), false)
                .await
                .expect("claim")
                .is_none()
        );
        // A lease that ran out (a killed sender) frees the alert for another.
        let id2 = store
            .enqueue_alert("emergency.declare", "{}")
            .await
            .expect("enqueue");
        store
            .claim_alert(&id2, Duration::ZERO, true)
            .await
            .expect("claim")
            .expect("claimable");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            store.due_alerts(10).await.expect("due"),
            vec![id2.clone()],
            "{db}"
        );
        store.close().await;
    }
}

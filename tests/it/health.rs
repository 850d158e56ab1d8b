use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Management, TestApp};

#[tokio::test]
async fn ready_when_broker_and_store_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["broker"], "up");
    assert_eq!(body["checks"]["store"], "up");
}

#[tokio::test]
async fn readyz_names_an_unreachable_store() {
    let base = TestApp::spawn().await;
    // The same API, but pointed at a store nobody listens on.
    let unreachable = secrecy::SecretString::from(
        "mongodb://127.0.0.1:9/?directConnection=true&serverSelectionTimeoutMS=500",
    );
    let store = oms_platform::Store::open(&unreachable, "nowhere", "oms-test")
        .await
        .expect("client");
    let broker = oms_platform::Broker::connect(
        base.config.amqp_url.clone(),
        base.config.partitions,
        "oms-test",
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("broker");
    let vhost = format!("{}-unused", base.vhost);
    let management = Management::from_env();
    management.create_vhost(&vhost).await;
    let app = TestApp::start(base.config.clone(), store, broker, vhost, management, false).await;

    let response = app.get("/readyz", None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["checks"]["store"], "down");
    assert_eq!(body["checks"]["broker"], "up");
    assert_eq!(body["error"]["code"], "service_unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("store")
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn shutdown_ends_open_event_streams() {
    let app = TestApp::spawn().await;
    let user = app.register("streamer").await;
    let mut stream = crate::helpers::SseReader::open(&app, "/api/events", &user.access_token).await;
    app.stop();
    // The stream ends (instead of holding the graceful shutdown open forever).
    assert!(stream.next(std::time::Duration::from_secs(30)).await.is_none());
}

#[tokio::test]
async fn a_process_started_with_another_partition_count_refuses_to_start() {
    // A deployment created with 2 partitions (the tests' count).
    let app = TestApp::spawn().await;
    assert_eq!(app.config.partitions, 2);
    let with = |partitions: u32, db: &str| {
        let mut config = app.config.clone();
        config.partitions = partitions;
        config.mongo_db = db.to_string();
        config
    };
    // Its store recorded 2: neither fewer nor more are accepted.
    for partitions in [1, 4] {
        let err = oms_platform::connect(&with(partitions, &app.config.mongo_db), "oms-test")
            .await
            .err()
            .expect("refused");
        let message = err.to_string();
        assert!(
            message.contains("OMS_STOCK_PARTITIONS") && message.contains("created with 2 partitions"),
            "{message}"
        );
    }
    // A store that recorded nothing yet (a deployment from before the count was recorded), on
    // a broker with queues for 2 partitions: fewer is refused by the broker's queues.
    let fresh = format!("{}_unrecorded", app.config.mongo_db);
    let err = oms_platform::connect(&with(1, &fresh), "oms-test")
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("oms.stock.1"), "{err}");
    // The same count starts, and records it.
    let (store, broker) = oms_platform::connect(&with(2, &fresh), "oms-test")
        .await
        .expect("the same count starts");
    assert_eq!(store.recorded_partitions().await.expect("read"), Some(2));
    broker.close().await;
    store.drop_database().await.expect("drop");
}

//! Faults: worker processes killed with SIGKILL in the middle of a run of concurrent orders.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::{Session, TestApp};
use crate::private_rabbit::PrivateRabbit;

#[tokio::test]
async fn killed_workers_lose_no_order_and_apply_no_stock_change_twice() {
    // A worker killed inside a transaction leaves it open on the server, holding its product
    // until the server reaps it (`transactionLifetimeLimitSeconds`, 60 s by default). A private
    // store with a short limit keeps the test quick without changing the shared server.
    let (port, dir, mut store) = private_store().await;
    let admin_db = oms_platform::Store::open(
        &secrecy::SecretString::from(format!("mongodb://127.0.0.1:{port}/?directConnection=true")),
        "admin",
        "oms-test",
    )
    .await
    .expect("client");
    admin_db
        .db()
        .run_command(mongodb::bson::doc! { "setParameter": 1, "transactionLifetimeLimitSeconds": 3 })
        .await
        .expect("setParameter");
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let app = TestApp::spawn_with(&[
        ("TEST_WORKERS", "processes"),
        ("OMS_RECONCILE_AFTER", "5s"),
        ("OMS_MONGO_URI", uri.as_str()),
    ])
    .await;
    let admin = app.admin().await;
    let mut products = Vec::new();
    for i in 0..4 {
        let product = app.create_product(&admin, &format!("KILL-{i}"), 100, 40).await;
        products.push(product["id"].as_str().expect("id").to_string());
    }
    let names: Vec<String> = (0..6).map(|i| format!("killed{i}")).collect();
    let users = join_all(names.iter().map(|n| app.register(n))).await;

    // Two worker processes: one active per partition, the other standing by.
    let mut workers = vec![app.spawn_worker_process(), app.spawn_worker_process()];

    // 160 orders of 1–2 lines (demand > stock on purpose), placed concurrently while workers die.
    let plans: Vec<Vec<(String, i64)>> = (0..160)
        .map(|i| {
            let first = products[i % 4].clone();
            if i % 3 == 0 {
                vec![(first, 1), (products[(i + 1) % 4].clone(), 2)]
            } else {
                vec![(first, 1)]
            }
        })
        .collect();
    let placing = async {
        join_all(plans.iter().enumerate().map(|(i, lines)| {
            let items: Vec<(&str, i64)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
            let (app, users) = (&app, &users);
            async move {
                let user = &users[i % users.len()];
                // Spread the orders over the run.
                tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
                (i % users.len(), app.order(user, &items).await)
            }
        }))
        .await
    };
    let killing = async {
        for round in 0..4 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let victim = round % 2;
            workers[victim].start_kill().expect("SIGKILL");
            let _ = workers[victim].wait().await;
            // A replacement joins as a standby while the survivor takes over.
            workers[victim] = app.spawn_worker_process();
        }
    };
    let (orders, ()) = tokio::join!(placing, killing);

    let finals = join_all(
        orders
            .iter()
            .map(|(u, order)| app.wait_decided(order, &users[*u].access_token)),
    )
    .await;
    let placed: Vec<&Value> = finals.iter().filter(|o| o["status"] == "PLACED").collect();
    assert!(!placed.is_empty());
    assert_eq!(finals.len(), 160, "every accepted order was decided");

    // Stock equals its ledger, nothing negative, every rejected order fully released, every
    // placed order holding exactly its lines: the invariant report, once releases settle.
    app.assert_invariants(&products).await;
    for worker in &mut workers {
        let _ = worker.start_kill();
    }
    drop(app);
    let _ = store.start_kill();
    let _ = store.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private MongoDB-compatible server on a free port: (port, its data directory, the process).
async fn private_store() -> (u16, std::path::PathBuf, tokio::process::Child) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let dir = std::env::temp_dir().join(format!("oms-test-store-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("store dir");
    let store = start_secantus(port, &dir);
    wait_for_port(port).await;
    (port, dir, store)
}

#[tokio::test]
async fn sigterm_drains_a_worker_and_another_finishes_the_run() {
    let app = TestApp::spawn_with(&[("TEST_WORKERS", "processes"), ("OMS_RECONCILE_AFTER", "5s")]).await;
    let admin = app.admin().await;
    let user = app.register("sigterm").await;
    let product = app.create_product(&admin, "TERM", 100, 1000).await;
    let product = product["id"].as_str().expect("id").to_string();
    let log = std::env::temp_dir().join(format!("oms-test-worker-{}.log", uuid::Uuid::new_v4().simple()));
    let mut worker = app.spawn_worker_process_logging(&log);

    let lines = [(product.as_str(), 1)];
    let placing = join_all((0..80).map(|i| {
        let (app, user, lines) = (&app, &user, &lines);
        async move {
            tokio::time::sleep(Duration::from_millis(10 * i)).await;
            app.order(user, lines).await
        }
    }));
    let terminating = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let pid = worker.id().expect("pid").to_string();
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success());
        // It finishes what it holds and exits by itself, cleanly.
        let exit = tokio::time::timeout(Duration::from_secs(30), worker.wait())
            .await
            .expect("the worker did not stop after SIGTERM")
            .expect("exit status");
        assert!(exit.success(), "exit status {exit:?}");
        // It went through its shutdown: handlers finished, connections closed (not just gone).
        let written = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            written.contains("stopped cleanly"),
            "no clean stop in the worker's log:\n{written}"
        );
        let _ = std::fs::remove_file(&log);
    };
    let (orders, ()) = tokio::join!(placing, terminating);

    let mut successor = app.spawn_worker_process();
    for order in &orders {
        let decided = app.wait_decided(order, &user.access_token).await;
        assert_eq!(decided["status"], "PLACED");
    }
    assert_eq!(app.assert_stock_consistent(&product).await, 1000 - 80);
    let _ = successor.start_kill();
}

/// The MongoDB-compatible server's binary, for tests that run a private instance.
fn secantus_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("OMS_TEST_SECANTUS_BIN") {
        return path.into();
    }
    let cache = std::env::var("OMS_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            let base = std::env::var("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| {
                    std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache")
                });
            base.join("oms")
        });
    let path = cache.join("secantus-0.5.3-beta.196/bin/secantusd-rs");
    assert!(
        path.exists(),
        "secantusd-rs not found at {}: run the tests with scripts/test.sh (which builds it once) or set OMS_TEST_SECANTUS_BIN",
        path.display()
    );
    path
}

fn start_secantus(port: u16, dir: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(secantus_binary())
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--storage-path",
        ])
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start secantusd-rs")
}

async fn wait_for_port(port: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_store_outage_is_waited_out_and_the_run_completes() {
    // A private store, so that stopping it disturbs no other test.
    let (port, dir, mut store) = private_store().await;
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let app = TestApp::spawn_with(&[
        ("OMS_MONGO_URI", uri.as_str()),
        ("OMS_RECONCILE_AFTER", "5s"),
        ("TEST_WORKERS", "processes"),
    ])
    .await;
    let admin = app.admin().await;
    let user = app.register("outage").await;
    let product = app.create_product(&admin, "OUTAGE", 100, 500).await;
    let product = product["id"].as_str().expect("id").to_string();
    let log = std::env::temp_dir().join(format!("oms-test-worker-{}.log", uuid::Uuid::new_v4().simple()));
    let mut worker = app.spawn_worker_process_logging(&log);
    let pid = worker.id().expect("pid").to_string();
    let signal = |sig: &'static str| {
        let pid = pid.clone();
        async move {
            let status = tokio::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .await
                .expect("kill");
            assert!(status.success(), "kill {sig}");
        }
    };
    // The worker is up (one order goes all the way), then frozen: the next orders wait for it,
    // so that its handlers are certain to meet the outage.
    let first = app.order(&user, &[(&product, 1)]).await;
    assert_eq!(
        app.wait_decided(&first, &user.access_token).await["status"],
        "PLACED"
    );
    signal("-STOP").await;
    let lines = [(product.as_str(), 1)];
    let accepted = join_all((0..20).map(|_| app.order(&user, &lines))).await;

    // The store goes away.
    let store_pid = store.id().expect("pid").to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &store_pid])
        .status()
        .await
        .expect("kill");
    let _ = store.wait().await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["checks"]["store"], "down");
    // New orders are refused with 503, never accepted into nothing.
    let refused = app.place_order(&user, &[(&product, 1)], None).await;
    assert_eq!(refused.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    // The worker wakes up into the outage and retries; then the store comes back.
    signal("-CONT").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("transient failure; retrying")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never met the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut store = start_secantus(port, &dir);
    wait_for_port(port).await;

    for order in &accepted {
        let decided = app.wait_decided(order, &user.access_token).await;
        assert_eq!(decided["status"], "PLACED");
    }
    assert_eq!(app.get("/readyz", None).await.status(), reqwest::StatusCode::OK);
    assert_eq!(app.assert_stock_consistent(&product).await, 500 - 21);
    // Transient failures were retried, not dead-lettered.
    for queue in ["oms.stock.0", "oms.stock.1", "oms.orders.0", "oms.orders.1"] {
        let letters = oms_platform::dead_letters::list(&app.broker, queue, 10)
            .await
            .expect("list");
        assert!(letters.is_empty(), "{queue}: {letters:?}");
    }
    let written = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!written.contains("dead-lettering"), "{written}");
    // Written to a file, not a terminal: plain text, no colour codes.
    assert!(
        !written.contains('\u{1b}'),
        "colour codes in a log file: {written}"
    );
    let _ = worker.start_kill();
    let _ = std::fs::remove_file(&log);
    drop(app);
    let _ = store.start_kill();
    let _ = store.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_connection_dropped_mid_run_reconnects_and_the_run_completes() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("reconnect").await;
    let product = app.create_product(&admin, "RECONNECT", 100, 1000).await;
    let product = product["id"].as_str().expect("id").to_string();

    let lines = [(product.as_str(), 1)];
    let placing = join_all((0..60).map(|i| {
        let (app, user, lines) = (&app, &user, &lines);
        async move {
            tokio::time::sleep(Duration::from_millis(40 * i)).await;
            let response = app.place_order(user, lines, None).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // A 202 is a promise; a 503 says nothing happened.
            assert!(status == 202 || status == 503, "{status}: {body}");
            (status == 202).then(|| body["id"].as_str().expect("id").to_string())
        }
    }));
    let dropping = async {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            // The management API lists new connections with a delay: wait until it sees them.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while app.management.close_connections(&app.vhost).await == 0 {
                assert!(tokio::time::Instant::now() < deadline, "no connection to close");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let (results, ()) = tokio::join!(placing, dropping);
    let accepted: Vec<String> = results.into_iter().flatten().collect();
    assert!(!accepted.is_empty());
    only_the_accepted_are_placed(&app, &user, &product, 1000, &accepted).await;

    // No consumer is left dead: every queue has its consumers again.
    every_queue_is_consumed_again(&app).await;
}

#[tokio::test]
async fn a_broker_restart_mid_run_loses_no_accepted_order() {
    // A node of this test's own: stopping it disturbs no other test.
    let rabbit = PrivateRabbit::start().await;
    let app = TestApp::spawn_on(rabbit.management(), &rabbit.amqp_base(), &[]).await;
    let admin = app.admin().await;
    let user = app.register("restart").await;
    let product = app.create_product(&admin, "RESTART", 100, 1000).await;
    let product = product["id"].as_str().expect("id").to_string();

    let lines = [(product.as_str(), 1)];
    let stop = tokio::sync::Notify::new();
    let placing = async {
        let mut accepted = Vec::new();
        let mut refused = 0;
        // Orders keep coming before, during and after the restart.
        for i in 0.. {
            let response = app.place_order(&user, &lines, None).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // A 202 is a promise; a 503 says nothing happened.
            match status.as_u16() {
                202 => accepted.push(body["id"].as_str().expect("id").to_string()),
                503 => refused += 1,
                _ => panic!("{status}: {body}"),
            }
            if i > 20
                && tokio::time::timeout(Duration::from_millis(1), stop.notified())
                    .await
                    .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (accepted, refused)
    };
    let restarting = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rabbit.stop().await;
        // While the broker is away: readiness says so.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready: Value = app.get("/readyz", None).await.json().await.expect("json");
            if ready["checks"]["broker"] == "down" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "readyz never saw the broker go: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        rabbit.start_again().await;
        // Let some orders through after the restart, then stop placing.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while app.get("/readyz", None).await.status() != reqwest::StatusCode::OK {
            assert!(tokio::time::Instant::now() < deadline, "never ready again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.notify_one();
    };
    let ((accepted, refused), ()) = tokio::join!(placing, restarting);
    assert!(
        refused > 0,
        "the outage refused no order: it did not happen while orders came in"
    );
    assert!(accepted.len() > 20, "only {} orders accepted", accepted.len());
    only_the_accepted_are_placed(&app, &user, &product, 1000, &accepted).await;
    // Every consumer came back on its own.
    every_queue_is_consumed_again(&app).await;
    drop(app);
}

/// Every accepted order ends `PLACED`, refused ones were withdrawn (the store holds exactly the
/// accepted ones), and the product's stock is its ledger's sum, `initial` less one per order.
async fn only_the_accepted_are_placed(
    app: &TestApp,
    user: &Session,
    product: &str,
    initial: i64,
    accepted: &[String],
) {
    for order in accepted {
        let decided = app.wait_decided(order, &user.access_token).await;
        assert_eq!(decided["status"], "PLACED");
    }
    let stored = app
        .store
        .orders()
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(stored as usize, accepted.len());
    assert_eq!(
        app.assert_stock_consistent(product).await,
        initial - accepted.len() as i64
    );
}

/// Waits (up to 60 s) until every work queue of the app's vhost has a consumer again.
async fn every_queue_is_consumed_again(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let queues = app.management.queues(&app.vhost).await;
        let consumed = queues
            .iter()
            .filter_map(|q| Some((q["name"].as_str()?, q["consumers"].as_u64().unwrap_or(0))))
            .filter(|(name, _)| name.starts_with("oms.") && !name.ends_with(".dlq"))
            .all(|(_, consumers)| consumers >= 1);
        if consumed && !queues.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumers never came back: {queues:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

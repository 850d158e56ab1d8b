//! A broker that cannot be reached answers requests at once: new orders get 503 in well under
//! a connection attempt's timeout, together, instead of queueing behind one reconnect. The
//! broker is reached through a proxy of the test's own, which can cut every connection and then
//! accept new ones without ever answering them (as a host that has gone away behind a load
//! balancer does), and later forward again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{Management, TestApp, amqp_base};

/// A TCP proxy to the machine's RabbitMQ that can play dead.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    /// Bumped to cut every connection made so far.
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start() -> Self {
        let target = amqp_base();
        let target = target.rsplit('@').next().unwrap_or("127.0.0.1:5672").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (accepting_up, cuts) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let forward = accepting_up.load(Ordering::SeqCst);
                let mut cut = cuts.subscribe();
                tokio::spawn(async move {
                    if !forward {
                        // Accepted, never answered: the client's handshake waits for its timeout.
                        let _ = cut.changed().await;
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    /// Drops every connection and answers no new one.
    fn play_dead(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn come_back(&self) {
        self.up.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }
}

#[tokio::test]
async fn with_the_broker_unreachable_new_orders_get_503_at_once_and_flow_again_after() {
    let proxy = Proxy::start().await;
    let base = amqp_base();
    let (credentials, _) = base.rsplit_once('@').expect("user and password in the AMQP URL");
    let through_proxy = format!("{credentials}@127.0.0.1:{}", proxy.port);
    let app = TestApp::spawn_on(Management::from_env(), &through_proxy, &[]).await;
    let admin = app.admin().await;
    let user = app.register("outage").await;
    let product = app.create_product(&admin, "OUTAGE-503", 100, 50).await;
    let product = product["id"].as_str().expect("id").to_string();
    let first = app.order(&user, &[(&product, 1)]).await;
    app.wait_decided(&first, &user.access_token).await;

    proxy.play_dead();
    // Give the API a moment to see its connection gone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Several requests at once: none waits for the reconnect attempt (5 s) that is under way.
    let started = Instant::now();
    let lines = [(product.as_str(), 1)];
    let answers = join_all((0..5).map(|_| app.place_order(&user, &lines, None))).await;
    let took = started.elapsed();
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(took < Duration::from_secs(3), "503s took {took:?}");

    // Back: orders are accepted and decided again, once the connections are made anew.
    proxy.come_back();
    let deadline = Instant::now() + Duration::from_secs(60);
    let order = loop {
        let response = app.place_order(&user, &[(&product, 1)], None).await;
        if response.status() == StatusCode::ACCEPTED {
            let body: serde_json::Value = response.json().await.expect("json");
            break body["id"].as_str().expect("id").to_string();
        }
        assert!(Instant::now() < deadline, "the broker never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        app.wait_decided(&order, &user.access_token).await["status"],
        "PLACED"
    );
    // The refused ones had no effect: two orders placed in all.
    assert_eq!(app.assert_stock_consistent(&product).await, 48);
}

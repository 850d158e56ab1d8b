//! Faults on a three-node RabbitMQ cluster while orders flow: the node that leads most of the
//! quorum queues killed, a worker process killed, an API process killed, and a rolling restart
//! of every process. Each ends with `oms verify` and "every 202 order final, none decided twice,
//! stock = Σ ledger".
//!
//! They need the cluster of `scripts/cluster.sh up --brokers-only` and take turns killing its
//! nodes, so they are ignored in a plain `cargo test`: `scripts/test.sh` starts the cluster and
//! runs them one at a time (`cargo test --test it cluster:: -- --ignored --test-threads=1`).
//! The last test (queues declared earlier with other arguments) needs only the machine's node.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Management, Session, SseReader, TestApp};

const NODES: u16 = 3;

/// The cluster of `scripts/cluster.sh` (its ports follow `OMS_CLUSTER_AMQP_BASE`).
struct Cluster {
    base: u16,
}

impl Cluster {
    fn from_env() -> Self {
        let base = std::env::var("OMS_CLUSTER_AMQP_BASE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5680);
        Self { base }
    }

    /// Every node's AMQP address, starting at node `first` (1-3), without a vhost.
    fn amqp(&self, first: u16) -> String {
        let hosts: Vec<String> = (0..NODES)
            .map(|i| format!("127.0.0.1:{}", self.base + (first - 1 + i) % NODES + 1))
            .collect();
        format!("amqp://guest:guest@{}", hosts.join(","))
    }

    fn management(&self, node: u16) -> Management {
        Management::new(&format!(
            "http://guest:guest@127.0.0.1:{}",
            self.base + 10000 + node
        ))
    }

    /// Every node's management API, as `OMS_RABBIT_MANAGEMENT_URL` takes it.
    fn management_urls(&self) -> String {
        let hosts: Vec<String> = (1..=NODES)
            .map(|n| format!("127.0.0.1:{}", self.base + 10000 + n))
            .collect();
        format!("http://guest:guest@{}", hosts.join(","))
    }

    /// `GET /api{path}` from the first node that answers.
    async fn get(&self, path: &str) -> Value {
        for node in 1..=NODES {
            if let Some(value) = self.management(node).get(path).await {
                return value;
            }
        }
        panic!("no node's management API answers {path}");
    }

    /// Runs `scripts/cluster.sh ARGS`; its standard output.
    async fn script(&self, args: &[&str]) -> String {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let output = tokio::process::Command::new("bash")
            .arg(root.join("scripts/cluster.sh"))
            .args(args)
            .current_dir(&root)
            .env("OMS_CLUSTER_AMQP_BASE", self.base.to_string())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run scripts/cluster.sh");
        assert!(
            output.status.success(),
            "scripts/cluster.sh {args:?}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the three nodes run as one cluster (starting any that is down).
    async fn all_running(&self) {
        for node in 1..=NODES {
            if !self.management(node).is_up().await {
                self.script(&["node", "start", &node.to_string()]).await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let nodes = self.get("/nodes").await;
            let running = nodes
                .as_array()
                .map(|all| all.iter().filter(|n| n["running"] == true).count())
                .unwrap_or(0);
            if running == NODES as usize {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster never ran three nodes: {nodes}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The quorum queues of `vhost`: name → (leader, members, online members).
    async fn quorum_queues(&self, vhost: &str) -> HashMap<String, (String, usize, usize)> {
        let queues = self
            .get(&format!(
                "/queues/{vhost}?columns=name,type,leader,members,online"
            ))
            .await;
        queues
            .as_array()
            .into_iter()
            .flatten()
            .filter(|q| q["type"] == "quorum")
            .map(|q| {
                let count = |key: &str| q[key].as_array().map(Vec::len).unwrap_or(0);
                (
                    q["name"].as_str().unwrap_or_default().to_string(),
                    (
                        q["leader"].as_str().unwrap_or_default().to_string(),
                        count("members"),
                        count("online"),
                    ),
                )
            })
            .collect()
    }

    /// The node (1-3) that leads most of `vhost`'s quorum queues.
    async fn leader_of_most(&self, vhost: &str) -> u16 {
        let mut count: HashMap<String, usize> = HashMap::new();
        for (leader, _, _) in self.quorum_queues(vhost).await.into_values() {
            *count.entry(leader).or_default() += 1;
        }
        let (name, _) = count.into_iter().max_by_key(|(_, n)| *n).expect("quorum queues");
        name.trim_start_matches("oms-c")
            .split('@')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a cluster node name: {name}"))
    }
}

/// An app on the cluster: the test's own API (with no workers) and its store.
async fn cluster_app(cluster: &Cluster) -> TestApp {
    cluster.all_running().await;
    TestApp::spawn_on(
        cluster.management(1),
        &cluster.amqp(1),
        &[
            ("TEST_WORKERS", "processes"),
            ("OMS_STOCK_PARTITIONS", "4"),
            ("OMS_RECONCILE_AFTER", "5s"),
            ("OMS_RABBIT_MANAGEMENT_URL", &cluster.management_urls()),
        ],
    )
    .await
}

/// An `oms` process with the app's configuration, connecting to the nodes from `first` on.
struct Process {
    child: tokio::process::Child,
    log: PathBuf,
    /// For `oms api`: its base URL.
    url: Option<String>,
}

impl Process {
    /// Starts `oms ARGS`; an `api` listens on `port` (a free one when `None`).
    fn start(
        app: &TestApp,
        cluster: &Cluster,
        args: &[&str],
        first: u16,
        name: &str,
        port: Option<u16>,
    ) -> Self {
        let log = std::env::temp_dir().join(format!(
            "oms-test-cluster-{name}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_oms"));
        command
            .args(args)
            .envs(&app.env)
            .env("OMS_AMQP_URL", format!("{}/{}", cluster.amqp(first), app.vhost))
            .env("RUST_LOG", "warn,oms=info")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .kill_on_drop(true);
        let mut url = None;
        if args[0] == "api" {
            let port = port.unwrap_or_else(|| {
                std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .expect("a free port")
                    .port()
            });
            command.env("OMS_HTTP_ADDR", format!("127.0.0.1:{port}"));
            url = Some(format!("http://127.0.0.1:{port}"));
        }
        let child = command.spawn().expect("start oms");
        Self { child, log, url }
    }

    async fn worker(app: &TestApp, cluster: &Cluster, first: u16, name: &str) -> Self {
        Self::start(app, cluster, &["worker", "all"], first, name, None)
    }

    /// An `oms api` process on a free port, once it answers ready.
    async fn api(app: &TestApp, cluster: &Cluster, first: u16, name: &str) -> Self {
        Self::api_on(app, cluster, first, name, None).await
    }

    /// An `oms api` process on `port` (a free one when `None`), once it answers ready.
    async fn api_on(app: &TestApp, cluster: &Cluster, first: u16, name: &str, port: Option<u16>) -> Self {
        let process = Self::start(app, cluster, &["api"], first, name, port);
        let url = process.url.clone().expect("api URL");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = app
                .http
                .get(format!("{url}/readyz"))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return process;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never got ready: {}",
                std::fs::read_to_string(&process.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        let _ = self.child.wait().await;
    }

    /// SIGTERM, and the process must stop by itself.
    async fn terminate(&mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("no exit within 60 s of SIGTERM")
            .expect("exit status");
        assert!(
            exit.success(),
            "exit {exit:?}: {}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::env::var_os("OMS_TEST_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// What a burst needs: products and signed-in shoppers.
struct Shop {
    products: Vec<String>,
    users: Vec<Session>,
}

async fn shop(app: &TestApp, tag: &str, stock: i64) -> Shop {
    let admin = app.admin().await;
    let mut products = Vec::new();
    for i in 0..4 {
        let product = app
            .create_product(&admin, &format!("{tag}-{i}"), 100, stock)
            .await;
        products.push(product["id"].as_str().expect("id").to_string());
    }
    let names: Vec<String> = (0..6).map(|i| format!("{tag}{i}")).collect();
    let users = join_all(names.iter().map(|n| app.register(n))).await;
    Shop { products, users }
}

impl Shop {
    /// Order `i`'s lines: 1–2 lines over the four products (demand above stock on purpose).
    fn lines(&self, i: usize) -> Vec<Value> {
        let mut lines = vec![json!({"product_id": self.products[i % 4], "quantity": 1})];
        if i.is_multiple_of(3) {
            lines.push(json!({"product_id": self.products[(i + 1) % 4], "quantity": 2}));
        }
        lines
    }
}

/// Places order `i` as a careful client does: one idempotency key for all its attempts; on a
/// 503 or a refused connection it tries the next API (as a load balancer would) until a 202.
/// Returns the order's id and which API answered.
async fn place(http: &reqwest::Client, apis: &[String], shop: &Shop, i: usize) -> (usize, String) {
    let key = uuid::Uuid::new_v4().to_string();
    let user = i % shop.users.len();
    let body = json!({ "items": shop.lines(i) });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut attempt = i;
    loop {
        let api = &apis[attempt % apis.len()];
        let response = http
            .post(format!("{api}/api/orders"))
            .bearer_auth(&shop.users[user].access_token)
            .header("idempotency-key", &key)
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        match response {
            Ok(r) if r.status() == StatusCode::ACCEPTED => {
                let order: Value = r.json().await.expect("order JSON");
                return (user, order["id"].as_str().expect("id").to_string());
            }
            Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE => {}
            Ok(r) => {
                let status = r.status();
                panic!("order {i}: {status} {}", r.text().await.unwrap_or_default());
            }
            Err(_) => {} // the API process is gone, or did not answer in time
        }
        assert!(Instant::now() < deadline, "order {i} never accepted");
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `count` orders spread over about `over`, sent to `apis` in turn.
async fn burst(
    app: &TestApp,
    apis: &[String],
    shop: &Shop,
    count: usize,
    over: Duration,
) -> Vec<(usize, String)> {
    let gap = over / count as u32;
    join_all((0..count).map(|i| async move {
        tokio::time::sleep(gap * i as u32).await;
        place(&app.http, apis, shop, i).await
    }))
    .await
}

/// Every accepted order final, none twice, `oms verify` clean, stock = Σ ledger.
async fn settle(app: &TestApp, shop: &Shop, orders: &[(usize, String)]) {
    let distinct: HashSet<&String> = orders.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), orders.len(), "two orders answered with one id");
    let finals = join_all(
        orders
            .iter()
            .map(|(u, id)| app.wait_decided(id, &shop.users[*u].access_token)),
    )
    .await;
    assert!(finals.iter().any(|o| o["status"] == "PLACED"), "nothing placed");
    let stored = app
        .store
        .orders()
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count");
    assert_eq!(
        stored as usize,
        orders.len(),
        "an order stored twice (or one never)"
    );

    app.assert_invariants(&shop.products).await;
    let verify = tokio::process::Command::new(env!("CARGO_BIN_EXE_oms"))
        .arg("verify")
        .envs(&app.env)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("oms verify");
    assert!(
        verify.status.success(),
        "oms verify: {}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test]
#[ignore = "needs the three-node cluster: scripts/test.sh starts it and runs this"]
async fn killing_the_node_that_leads_most_queues_loses_no_order_and_it_rejoins() {
    let cluster = Cluster::from_env();
    let app = cluster_app(&cluster).await;
    // Told about three nodes, the first process declared every queue with three replicas (their
    // leaders go to the nodes leading the fewest queues across the cluster).
    let queues = cluster.quorum_queues(&app.vhost).await;
    assert!(!queues.is_empty());
    for (name, (_, members, _)) in &queues {
        assert_eq!(*members, 3, "{name} has {members} replicas");
    }
    let victim = cluster.leader_of_most(&app.vhost).await;

    let shop = shop(&app, "NODE", 60).await;
    let _workers = [
        Process::worker(&app, &cluster, victim % NODES + 1, "worker1").await,
        Process::worker(&app, &cluster, (victim + 1) % NODES + 1, "worker2").await,
    ];
    // An API whose connections (publisher, events) are on the node that dies.
    let api = Process::api(&app, &cluster, victim, "api").await;
    let apis = [api.url.clone().expect("url"), app.address.clone()];
    let mut everything = SseReader::open_at(
        &app.http,
        &format!("{}/api/events", apis[0]),
        &shop.users[0].access_token,
    )
    .await;
    // The API's event listener will move to another node and tell its streams to catch up.
    let resynced = tokio::spawn(async move {
        while let Some(event) = everything.next(Duration::from_secs(110)).await {
            if event.event == "resync" {
                return true;
            }
        }
        false
    });
    let started = Instant::now();

    // 240 orders over 6 s; user 0 follows each of its orders on the API that will lose its node,
    // from the 202 on: the stream reaches the decision, from the events or, when the stream
    // learned it may have missed some, from the store.
    let gap = Duration::from_secs(6) / 240;
    let placing = join_all((0..240).map(|i| {
        let (app, apis, shop) = (&app, &apis, &shop);
        async move {
            tokio::time::sleep(gap * i as u32).await;
            let (user, id) = place(&app.http, apis, shop, i).await;
            if user == 0 {
                let url = format!("{}/api/orders/{id}/events", apis[0]);
                let mut stream = SseReader::open_at(&app.http, &url, &shop.users[0].access_token).await;
                loop {
                    let event = stream
                        .next(Duration::from_secs(60))
                        .await
                        .unwrap_or_else(|| panic!("order {id}'s stream ended undecided"));
                    if matches!(event.data["status"].as_str(), Some("PLACED" | "REJECTED")) {
                        break;
                    }
                }
            }
            (user, id)
        }
    }));
    let killing = async {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        cluster.script(&["node", "kill", &victim.to_string()]).await;
        let port = cluster.base + victim;
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(),
            "node {victim} still answers on {port}: was the cluster started by another checkout?"
        );
    };
    let (orders, ()) = tokio::join!(placing, killing);
    println!(
        "{} orders accepted, user 0's decided on their streams, after {:?}",
        orders.len(),
        started.elapsed()
    );
    settle(&app, &shop, &orders).await;
    println!("settled after {:?}", started.elapsed());
    assert!(resynced.await.expect("join"), "no resync after the node was lost");

    // The node comes back and rejoins: every queue has its three replicas online again.
    cluster.script(&["node", "start", &victim.to_string()]).await;
    cluster.all_running().await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let queues = cluster.quorum_queues(&app.vhost).await;
        if queues.values().all(|(_, _, online)| *online == 3) {
            break;
        }
        assert!(Instant::now() < deadline, "replicas not back online: {queues:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// For each single-active-consumer queue of `vhost`: the channel of its active consumer.
async fn active_consumers(cluster: &Cluster, vhost: &str) -> HashMap<String, String> {
    let consumers = cluster.get(&format!("/consumers/{vhost}")).await;
    consumers
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["activity_status"] == "single_active")
        .filter_map(|c| {
            Some((
                c["queue"]["name"].as_str()?.to_string(),
                c["channel_details"]["name"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the three-node cluster: scripts/test.sh starts it and runs this"]
async fn a_killed_worker_process_hands_every_partition_to_the_other() {
    let cluster = Cluster::from_env();
    let app = cluster_app(&cluster).await;
    let shop = shop(&app, "TAKEOVER", 60).await;
    // The first worker becomes active on every partition; the second stands by.
    let mut first = Process::worker(&app, &cluster, 2, "worker1").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let before = loop {
        let active = active_consumers(&cluster, &app.vhost).await;
        if active.len() >= 2 * 4 {
            break active;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never became active: {active:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _second = Process::worker(&app, &cluster, 3, "worker2").await;
    // Wait until the standby's consumers are registered (two consumers on each queue).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let queues = cluster
            .get(&format!("/queues/{}?columns=name,consumers", app.vhost))
            .await;
        let waiting = queues
            .as_array()
            .into_iter()
            .flatten()
            .filter(|q| before.contains_key(q["name"].as_str().unwrap_or_default()))
            .all(|q| q["consumers"].as_u64() == Some(2));
        if waiting {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the standby never registered: {queues}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let apis = [app.address.clone()];
    let placing = burst(&app, &apis, &shop, 200, Duration::from_secs(5));
    let killing = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        first.kill().await;
        let (killed, killed_at) = (Instant::now(), chrono::Utc::now());
        // RabbitMQ's view: a consumer on another channel is active on every queue (the
        // management API's statistics refresh every `collect_statistics_interval`).
        let mut moved: HashMap<String, Duration> = HashMap::new();
        while moved.len() < before.len() {
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no takeover: {moved:?}"
            );
            for (queue, channel) in active_consumers(&cluster, &app.vhost).await {
                if before.get(&queue).is_some_and(|old| *old != channel) {
                    moved.entry(queue).or_insert_with(|| killed.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (killed_at, moved)
    };
    let (orders, (killed_at, moved)) = tokio::join!(placing, killing);
    settle(&app, &shop, &orders).await;

    // The work's view, per stock partition: from the kill to the first order of that partition
    // decided by the survivor (an upper bound: it includes waiting for that partition's next
    // order and deciding it).
    let mut first_decision: HashMap<u32, chrono::Duration> = HashMap::new();
    let mut cursor = app
        .store
        .orders()
        .find(mongodb::bson::doc! {})
        .await
        .expect("orders");
    while let Some(order) = futures_util::TryStreamExt::try_next(&mut cursor)
        .await
        .expect("order")
    {
        let partition = oms_contracts::routing::partition_of(order.items[0].product_id.as_str(), 4);
        let decided = order
            .history
            .iter()
            .find(|h| {
                matches!(
                    h.to,
                    oms_contracts::OrderStatus::Placed | oms_contracts::OrderStatus::Rejected
                )
            })
            .map(|h| h.at);
        if let Some(at) = decided.filter(|at| *at > killed_at) {
            let after = at - killed_at;
            first_decision
                .entry(partition)
                .and_modify(|d| *d = (*d).min(after))
                .or_insert(after);
        }
    }
    let mut partitions: Vec<_> = first_decision.into_iter().collect();
    partitions.sort();
    for (partition, after) in &partitions {
        println!(
            "takeover, stock partition {partition}: first decision {} ms after the kill",
            after.num_milliseconds()
        );
    }
    assert!(!partitions.is_empty(), "nothing decided after the kill");
    let mut moved: Vec<(String, Duration)> = moved.into_iter().collect();
    moved.sort();
    for (queue, after) in &moved {
        println!(
            "takeover, {queue}: another consumer active {} ms after the kill (as the management API saw it)",
            after.as_millis()
        );
    }
}

#[tokio::test]
#[ignore = "needs the three-node cluster: scripts/test.sh starts it and runs this"]
async fn a_killed_api_process_leaves_the_other_serving_and_its_orders_are_decided() {
    let cluster = Cluster::from_env();
    let app = cluster_app(&cluster).await;
    let shop = shop(&app, "APIKILL", 60).await;
    let _workers = [
        Process::worker(&app, &cluster, 2, "worker1").await,
        Process::worker(&app, &cluster, 3, "worker2").await,
    ];
    let mut doomed = Process::api(&app, &cluster, 2, "api1").await;
    let survivor = Process::api(&app, &cluster, 3, "api2").await;
    let apis = [
        doomed.url.clone().expect("url"),
        survivor.url.clone().expect("url"),
    ];
    let placing = burst(&app, &apis, &shop, 200, Duration::from_secs(5));
    let killing = async {
        tokio::time::sleep(Duration::from_millis(2000)).await;
        doomed.kill().await;
    };
    let (orders, ()) = tokio::join!(placing, killing);
    // Half of the orders were sent to the API that died; those it answered 202 are decided too
    // (settle waits for every one), and the survivor kept answering.
    let response = app
        .http
        .get(format!("{}/readyz", apis[1]))
        .send()
        .await
        .expect("survivor");
    assert_eq!(response.status(), StatusCode::OK);
    settle(&app, &shop, &orders).await;
}

#[tokio::test]
#[ignore = "needs the three-node cluster: scripts/test.sh starts it and runs this"]
async fn a_rolling_restart_of_every_process_during_a_burst_loses_no_order() {
    let cluster = Cluster::from_env();
    let app = cluster_app(&cluster).await;
    let shop = shop(&app, "ROLLING", 80).await;
    let mut workers = [
        Process::worker(&app, &cluster, 2, "worker1").await,
        Process::worker(&app, &cluster, 3, "worker2").await,
    ];
    let mut apis = [
        Process::api(&app, &cluster, 2, "api1").await,
        Process::api(&app, &cluster, 3, "api2").await,
    ];
    let urls: Vec<String> = apis.iter().map(|a| a.url.clone().expect("url")).collect();
    let placing = burst(&app, &urls, &shop, 300, Duration::from_secs(10));
    let restarting = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        for (i, worker) in workers.iter_mut().enumerate() {
            worker.terminate().await;
            *worker = Process::worker(&app, &cluster, i as u16 + 2, &format!("worker{}", i + 1)).await;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        for (i, api) in apis.iter_mut().enumerate() {
            // Meanwhile the clients send to the other API (and retry on it when this one is gone).
            api.terminate().await;
            // The new process answers on the same address, as a restarted service does.
            let port = urls[i].rsplit(':').next().and_then(|p| p.parse().ok());
            *api = Process::api_on(&app, &cluster, i as u16 + 2, &format!("api{}", i + 1), port).await;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    };
    let (orders, ()) = tokio::join!(placing, restarting);
    settle(&app, &shop, &orders).await;
}

#[tokio::test]
async fn queues_declared_with_other_arguments_are_kept_and_the_declaration_goes_on() {
    // A deployment that grew from one node to three: its queues were declared without replicas,
    // and RabbitMQ refuses a redeclaration with them. The topology is declared all the same.
    let app = TestApp::spawn().await;
    let connection = lapin::Connection::connect(
        secrecy::ExposeSecret::expose_secret(&app.config.amqp_url),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("connect");
    oms_platform::broker::declare_topology(&connection, app.config.partitions, Some(3))
        .await
        .expect("the existing queues are kept");
    let _ = connection.close(200, "done".into()).await;
    let queues = app.management.queues(&app.vhost).await;
    let stock = queues
        .iter()
        .find(|q| q["name"] == "oms.stock.0")
        .expect("oms.stock.0");
    assert!(
        stock["arguments"].get("x-quorum-initial-group-size").is_none(),
        "{stock}"
    );
    // And the system works on them.
    let admin = app.admin().await;
    let user = app.register("kept").await;
    let product = app.create_product(&admin, "KEPT", 100, 5).await;
    let order = app
        .order(&user, &[(product["id"].as_str().expect("id"), 1)])
        .await;
    assert_eq!(
        app.wait_decided(&order, &user.access_token).await["status"],
        "PLACED"
    );
}

//! The test harness: each test gets the whole system in-process, on its own port, its own
//! database and its own RabbitMQ vhost, against the real RabbitMQ and MongoDB-compatible
//! server that `scripts/test.sh` starts. Dropping the app removes the database and vhost.

use std::collections::HashMap;
use std::time::Duration;

use oms_platform::{Config, Store};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const ADMIN_EMAIL: &str = "admin@oms.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

pub fn mongo_uri() -> String {
    env_or(
        "OMS_TEST_MONGO_URI",
        "mongodb://127.0.0.1:27017/?directConnection=true",
    )
}

/// The AMQP URL of the default vhost (tests swap in their own vhost).
pub fn amqp_base() -> String {
    let url = env_or("OMS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f");
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[start..].find('/') {
        Some(i) => url[..start + i].to_string(),
        None => url,
    }
}

/// RabbitMQ's management API: base URL and credentials.
mod management;
mod rng;
mod sse;

pub use management::Management;
pub use rng::Rng;
pub use sse::SseReader;

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub struct TestApp {
    pub address: String,
    pub http: reqwest::Client,
    pub store: Store,
    pub config: Config,
    pub vhost: String,
    pub management: Management,
    pub broker: oms_platform::Broker,
    pub failpoints: oms_workers::FailPoints,
    /// The configuration as variables, for worker processes started by a test.
    pub env: HashMap<String, String>,
    shutdown: CancellationToken,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns with extra (or overriding) configuration variables.
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        Self::spawn_on(Management::from_env(), &amqp_base(), vars).await
    }

    /// Spawns against the RabbitMQ node at `amqp_base` (`amqp://user:pass@host:port`) whose
    /// management API is `management`.
    pub async fn spawn_on(management: Management, amqp_base: &str, vars: &[(&str, &str)]) -> Self {
        oms_platform::telemetry::init_for_test();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let vhost = format!("oms-test-{id}");
        management.create_vhost(&vhost).await;

        let media = std::env::temp_dir().join(format!("oms-test-media-{id}"));
        let mut env: HashMap<String, String> = [
            ("OMS_ENV", "dev".to_string()),
            ("OMS_HTTP_ADDR", "127.0.0.1:0".to_string()),
            ("OMS_AMQP_URL", format!("{amqp_base}/{vhost}")),
            ("OMS_RABBIT_MANAGEMENT_URL", management.url()),
            ("OMS_MONGO_URI", mongo_uri()),
            ("OMS_MONGO_DB", format!("{}{}", database_prefix(), &id[..20])),
            ("OMS_STOCK_PARTITIONS", "2".to_string()),
            ("OMS_MEDIA_DIR", media.display().to_string()),
            ("OMS_CLIENT_DIR", "does-not-exist".to_string()),
            ("OMS_ADMIN_EMAIL", ADMIN_EMAIL.to_string()),
            ("OMS_ADMIN_PASSWORD", ADMIN_PASSWORD.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        // `TEST_WORKERS=processes`: no workers in this process; the test starts `oms worker` processes.
        let in_process_workers = env.remove("TEST_WORKERS").as_deref() != Some("processes");
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("test configuration");

        let (store, broker) = oms_platform::connect(&config, "oms-test")
            .await
            .expect("services reachable");
        oms_api::bootstrap(&config, &store).await.expect("bootstrap");
        let mut app = Self::start(config, store, broker, vhost, management, in_process_workers).await;
        app.env = env;
        app
    }

    /// Starts `oms worker all` as a separate process whose log (warnings, and the `oms` binary's
    /// own info lines) goes to `log`.
    pub fn spawn_worker_process_logging(&self, log: &std::path::Path) -> tokio::process::Child {
        let file = std::fs::File::create(log).expect("worker log");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(["worker", "all"])
            .envs(&self.env)
            .env("RUST_LOG", "warn,oms=info")
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().expect("worker log"))
            .stderr(file)
            .kill_on_drop(true)
            .spawn()
            .expect("start oms worker")
    }

    /// Starts `oms worker all` as a separate process with this app's configuration.
    pub fn spawn_worker_process(&self) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_oms"))
            .args(["worker", "all"])
            .envs(&self.env)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start oms worker")
    }

    /// Starts the API on an already connected store and broker.
    pub async fn start(
        config: Config,
        store: Store,
        broker: oms_platform::Broker,
        vhost: String,
        management: Management,
        in_process_workers: bool,
    ) -> Self {
        let app = oms_api::Application::build(config.clone(), store.clone(), broker.clone())
            .await
            .expect("bind");
        let address = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        let events = app.events();
        tokio::spawn(app.run_until(shutdown.clone()));
        assert!(
            events.wait_listening(Duration::from_secs(30)).await,
            "order events never arrived"
        );
        let failpoints = oms_workers::FailPoints::default();
        if in_process_workers {
            let (config, store, broker, failpoints, shutdown) = (
                config.clone(),
                store.clone(),
                broker.clone(),
                failpoints.clone(),
                shutdown.clone(),
            );
            tokio::spawn(async move {
                oms_workers::run(
                    &config,
                    store,
                    broker,
                    &oms_workers::WorkerKind::ALL,
                    failpoints,
                    shutdown,
                )
                .await;
            });
        }
        Self {
            address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            store,
            config,
            vhost,
            management,
            broker,
            failpoints,
            env: HashMap::new(),
            shutdown,
        }
    }

    /// Starts a graceful shutdown of the API and workers (as SIGTERM does).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.patch(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn post_multipart(&self, path: &str, token: Option<&str>, form: Form) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Registers a new user with a unique e-mail address.
    pub async fn register(&self, name: &str) -> Session {
        let email = format!(
            "{name}-{}@example.com",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let response = self
            .post_json(
                "/api/auth/register",
                None,
                &json!({"email": email, "password": "a good password", "name": name}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        session_from(response.json().await.expect("session JSON"))
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn admin(&self) -> Session {
        let response = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        session_from(response.json().await.expect("session JSON"))
    }

    /// Creates a product through the API and returns its JSON.
    pub async fn create_product(&self, admin: &Session, sku: &str, price: i64, stock: i64) -> Value {
        let form = product_form(sku, &format!("Product {sku}"), price, stock);
        let response = self
            .post_multipart("/api/products", Some(&admin.access_token), form)
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("product JSON");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

impl TestApp {
    /// Places an order; returns the response.
    pub async fn place_order(
        &self,
        user: &Session,
        items: &[(&str, i64)],
        key: Option<&str>,
    ) -> reqwest::Response {
        let items: Vec<Value> = items
            .iter()
            .map(|(product_id, quantity)| json!({"product_id": product_id, "quantity": quantity}))
            .collect();
        let mut request = self
            .http
            .post(self.url("/api/orders"))
            .bearer_auth(&user.access_token)
            .json(&json!({ "items": items }));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.expect("request")
    }

    /// Places an order that must be accepted; returns its id.
    pub async fn order(&self, user: &Session, items: &[(&str, i64)]) -> String {
        let response = self.place_order(user, items, None).await;
        let status = response.status();
        let body: Value = response.json().await.expect("order JSON");
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["id"].as_str().expect("id").to_string()
    }

    /// Polls the order (as `token`) until `done` holds; panics after a generous timeout.
    pub async fn wait_for_order(&self, id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let order: Value = self
                .get(&format!("/api/orders/{id}"), Some(token))
                .await
                .json()
                .await
                .expect("order JSON");
            if done(&order) {
                return order;
            }
            if tokio::time::Instant::now() >= deadline {
                let queues = self.queue_report().await;
                panic!(
                    "order {id} never got there: {order}\nqueues of {}:\n{queues}",
                    self.vhost
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One line per queue of this app's vhost with its backlog and consumers, for a failure's
    /// message: which partition stopped being consumed.
    pub async fn queue_report(&self) -> String {
        let queues = self.management.queues(&self.vhost).await;
        if queues.is_empty() {
            return "(the management API did not answer)".to_string();
        }
        queues
            .iter()
            .map(|q| {
                format!(
                    "  {}: ready {}, unacked {}, consumers {}, active {}",
                    q["name"].as_str().unwrap_or("?"),
                    q["messages_ready"],
                    q["messages_unacknowledged"],
                    q["consumers"],
                    q["single_active_consumer_tag"],
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until the order's placement is decided (`PLACED` or `REJECTED`) and settled.
    pub async fn wait_decided(&self, id: &str, token: &str) -> Value {
        self.wait_for_order(id, token, |o| {
            matches!(o["status"].as_str(), Some("PLACED" | "REJECTED"))
                && o["items"].as_array().is_some_and(|items| {
                    items
                        .iter()
                        .all(|l| l["reservation"] != "pending" && l["reservation"] != "releasing")
                })
        })
        .await
    }

    /// Waits until the order has `status` and no line is still being reserved or released.
    pub async fn wait_until(&self, id: &str, token: &str, status: &str) -> Value {
        self.wait_for_order(id, token, |o| {
            o["status"] == status
                && o["items"].as_array().is_some_and(|items| {
                    items
                        .iter()
                        .all(|l| l["reservation"] != "pending" && l["reservation"] != "releasing")
                })
        })
        .await
    }

    pub async fn product(&self, id: &str) -> oms_platform::store::ProductDoc {
        self.store
            .products()
            .find_one(mongodb::bson::doc! {"_id": id})
            .await
            .expect("query")
            .expect("product")
    }

    /// The product's ledger (every decision, applied or not).
    pub async fn ledger(&self, product_id: &str) -> Vec<oms_platform::store::LedgerDoc> {
        use futures_util::TryStreamExt;
        self.store
            .ledger()
            .find(mongodb::bson::doc! {"product_id": product_id})
            .await
            .expect("query")
            .try_collect()
            .await
            .expect("ledger")
    }

    /// The run's invariants once it is over: `oms verify`'s checks pass (waited for up to 60 s,
    /// while releases settle), and each product's ledger records every operation once and sums
    /// to its stock.
    pub async fn assert_invariants(&self, products: &[String]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let report = oms_platform::verify::verify(&self.store, Duration::ZERO)
                .await
                .expect("verify");
            if report.ok {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "invariants violated: {:?}",
                report.violations
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for product in products {
            let ledger = self.ledger(product).await;
            let mut keys: Vec<&str> = ledger.iter().map(|e| e.op_key.as_str()).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(before, keys.len(), "a stock change recorded twice");
            self.assert_stock_consistent(product).await;
        }
    }

    /// Asserts the product's stock invariants: never negative, equal to the sum of its ledger.
    pub async fn assert_stock_consistent(&self, product_id: &str) -> i64 {
        let product = self.product(product_id).await;
        let sum: i64 = self.ledger(product_id).await.iter().map(|e| e.delta).sum();
        assert!(product.stock >= 0, "negative stock for {product_id}");
        assert_eq!(product.stock, sum, "stock and ledger disagree for {product_id}");
        product.stock
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let vhost = self.vhost.clone();
        let media = self.config.media_dir.clone();
        let management = self.management.url();
        // Drop cannot await, and the test's runtime is blocked here: clean up on a thread with
        // its own runtime and its own clients (the app's clients belong to the blocked runtime).
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            // The database stays until the run is over (`drop_this_runs_databases`): dropping it
            // here would race the app's last writes, which the store answers by retrying the drop
            // for as long as a write conflicts with it, holding up every other test meanwhile.
            runtime.block_on(Management::new(&management).delete_vhost(&vhost));
            let _ = std::fs::remove_dir_all(media);
        });
        let _ = cleanup.join();
    }
}

pub fn session_from(body: Value) -> Session {
    Session {
        user_id: body["user"]["id"].as_str().expect("user.id").to_string(),
        email: body["user"]["email"].as_str().expect("user.email").to_string(),
        access_token: body["access_token"].as_str().expect("access_token").to_string(),
        refresh_token: body["refresh_token"].as_str().expect("refresh_token").to_string(),
    }
}

/// A multipart form for `POST /api/products` without an image.
pub fn product_form(sku: &str, name: &str, price: i64, stock: i64) -> Form {
    Form::new()
        .text("sku", sku.to_string())
        .text("name", name.to_string())
        .text("description", "A thing for tests")
        .text("price", price.to_string())
        .text("currency", "USD")
        .text("stock", stock.to_string())
}

/// A small valid image in `format`.
pub fn image_bytes(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 9, |x, y| image::Rgb([(x * 15) as u8, (y * 25) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode test image");
    out.into_inner()
}

pub fn image_part(bytes: Vec<u8>, file_name: &str, mime: &str) -> Part {
    Part::bytes(bytes)
        .file_name(file_name.to_string())
        .mime_str(mime)
        .expect("mime")
}

/// Asserts the error envelope and returns it.
pub async fn assert_error(response: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let actual = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(body["error"]["code"], code, "unexpected error code; body: {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {body}"
    );
    body
}

/// The prefix of this run's databases: `oms_test_<OMS_TEST_RUN>_` (`scripts/test.sh` sets
/// `OMS_TEST_RUN` and drops them when the run is over), else `oms_test_adhoc_`.
pub fn database_prefix() -> String {
    let run: String = std::env::var("OMS_TEST_RUN")
        .unwrap_or_else(|_| "adhoc".into())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    format!("oms_test_{run}_")
}

/// Run by `scripts/test.sh` after the tests (`--ignored`): drops the databases of this run, now
/// that nothing writes to them.
#[tokio::test]
#[ignore = "cleanup step of scripts/test.sh, after every other test"]
async fn drop_this_runs_databases() {
    let prefix = database_prefix();
    let store = Store::open(&mongo_uri().into(), "admin", "oms-test-cleanup")
        .await
        .expect("the store");
    let names = store
        .client()
        .list_database_names()
        .await
        .expect("database names");
    let mut dropped = 0;
    for name in names.iter().filter(|n| n.starts_with(&prefix)) {
        store.client().database(name).drop().await.expect("drop");
        dropped += 1;
    }
    eprintln!("dropped {dropped} test databases ({prefix}*)");
}

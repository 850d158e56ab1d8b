//! The RabbitMQ management API, as the tests use it: vhosts, connections, queues.

use std::time::Duration;

use oms_platform::urls::ServiceUrl;
use serde_json::{Value, json};

use super::env_or;

#[derive(Clone)]
pub struct Management {
    base: String,
    user: String,
    password: String,
    http: reqwest::Client,
}

impl Management {
    pub fn from_env() -> Self {
        Self::new(&env_or(
            "OMS_TEST_RABBIT_MGMT_URL",
            "http://guest:guest@127.0.0.1:15672",
        ))
    }

    /// The management API at `raw` (`http://user:pass@host:port`).
    pub fn new(raw: &str) -> Self {
        let url = ServiceUrl::parse(raw).expect("a management URL");
        Self {
            base: url.origin(),
            user: url.user.unwrap_or_else(|| "guest".into()),
            password: url.password.unwrap_or_else(|| "guest".into()),
            http: reqwest::Client::new(),
        }
    }

    /// The API's URL with its credentials, as `OMS_RABBIT_MANAGEMENT_URL` takes it.
    pub fn url(&self) -> String {
        let (scheme, host) = self
            .base
            .split_once("://")
            .unwrap_or(("http", self.base.as_str()));
        format!("{scheme}://{}:{}@{host}", self.user, self.password)
    }

    /// Whether the API answers.
    pub async fn is_up(&self) -> bool {
        self.http
            .get(format!("{}/api/overview", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    pub async fn create_vhost(&self, vhost: &str) {
        let put = |path: String, body: Value| {
            self.http
                .put(format!("{}{path}", self.base))
                .basic_auth(&self.user, Some(&self.password))
                .json(&body)
                .send()
        };
        let response = put(format!("/api/vhosts/{vhost}"), json!({}))
            .await
            .expect("management API reachable");
        assert!(
            response.status().is_success(),
            "creating vhost: {}",
            response.status()
        );
        let response = put(
            format!("/api/permissions/{vhost}/{}", self.user),
            json!({"configure": ".*", "write": ".*", "read": ".*"}),
        )
        .await
        .expect("management API reachable");
        assert!(
            response.status().is_success(),
            "granting vhost: {}",
            response.status()
        );
    }

    pub async fn delete_vhost(&self, vhost: &str) {
        let _ = self
            .http
            .delete(format!("{}/api/vhosts/{vhost}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await;
    }

    /// Closes every client connection to `vhost` (as a broker restart would); returns how many.
    pub async fn close_connections(&self, vhost: &str) -> usize {
        let connections = self.list(&format!("/vhosts/{vhost}/connections")).await;
        let mut closed = 0;
        for connection in connections {
            let Some(name) = connection["name"].as_str() else {
                continue;
            };
            let encoded: String = name
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            let response = self
                .http
                .delete(format!("{}/api/connections/{encoded}", self.base))
                .basic_auth(&self.user, Some(&self.password))
                .header("x-reason", "test: simulated broker restart")
                .send()
                .await;
            if response.is_ok_and(|r| r.status().is_success()) {
                closed += 1;
            }
        }
        closed
    }

    /// Deletes an exchange (and its bindings).
    pub async fn delete_exchange(&self, vhost: &str, exchange: &str) {
        let response = self
            .http
            .delete(format!("{}/api/exchanges/{vhost}/{exchange}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .expect("management API reachable");
        assert!(
            response.status().is_success(),
            "deleting {exchange}: {}",
            response.status()
        );
    }

    /// `GET /api{path}` as JSON; `None` when the API does not answer with a success.
    pub async fn get(&self, path: &str) -> Option<Value> {
        let response = self
            .http
            .get(format!("{}/api{path}", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// `GET /api/queues/{vhost}` as JSON.
    pub async fn queues(&self, vhost: &str) -> Vec<Value> {
        self.list(&format!("/queues/{vhost}")).await
    }

    /// A list the management API answers at `path`; empty when it does not answer.
    async fn list(&self, path: &str) -> Vec<Value> {
        match self.get(path).await {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }
    }
}

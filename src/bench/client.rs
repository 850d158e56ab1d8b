//! The bench's HTTP client (sign-in, orders, polling for decisions) and the order plans of
//! each scenario; the server's counters scraped from `/metrics`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;

/// The system's counters of store commands and consumed messages, from `/metrics` (empty when
/// it cannot be read): `store <command> <collection>` and `consumed <queue family>`.
pub(crate) async fn scrape_counters(client: &Client) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let Ok(response) = client.http.get(format!("{}/metrics", client.base)).send().await else {
        return out;
    };
    let Ok(text) = response.text().await else {
        return out;
    };
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let label = |name: &str| {
            series
                .split_once(&format!("{name}=\""))
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(v, _)| v.to_string())
                .unwrap_or_default()
        };
        let key = if series.starts_with("oms_store_commands_total{") {
            format!("store {} {}", label("command"), label("collection"))
        } else if series.starts_with("oms_messages_published_total{") {
            format!("published {}", label("exchange"))
        } else if series.starts_with("oms_messages_consumed_total{") {
            // oms.stock.3 → oms.stock: the partitions of one family together.
            let queue = label("queue");
            let family = queue
                .trim_end_matches(|c: char| c.is_ascii_digit())
                .trim_end_matches('.');
            format!("consumed {family}")
        } else if let Some(part) = series
            .strip_prefix("oms_publish_confirmed_seconds_")
            .filter(|p| matches!(*p, "sum" | "count"))
        {
            format!("wait broker confirm {part}")
        } else if let Some((part, _)) = series
            .strip_prefix("oms_store_command_seconds_")
            .and_then(|rest| rest.split_once('{'))
            .filter(|(p, _)| matches!(*p, "sum" | "count"))
        {
            format!("wait store {} {part}", label("command"))
        } else {
            continue;
        };
        *out.entry(key).or_insert(0.0) += value;
    }
    out
}

pub(crate) struct Client {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Client {
    pub(crate) async fn json(&self, request: reqwest::RequestBuilder, expect: u16) -> anyhow::Result<Value> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status == expect, "expected {expect}, got {status}: {body}");
        Ok(body)
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let body = self
            .json(
                self.http
                    .post(format!("{}/api/auth/login", self.base))
                    .json(&json!({"email": email, "password": password})),
                200,
            )
            .await?;
        Ok(body["access_token"].as_str().unwrap_or_default().to_string())
    }

    pub(crate) async fn register(&self, n: usize, run: &str) -> anyhow::Result<String> {
        let body = self
            .json(
                self.http
                    .post(format!("{}/api/auth/register", self.base))
                    .json(&json!({
                        "email": format!("bench-{run}-{n}@bench.invalid"),
                        "password": "bench password",
                        "name": format!("Bench {n}"),
                    })),
                201,
            )
            .await?;
        Ok(body["access_token"].as_str().unwrap_or_default().to_string())
    }

    pub(crate) async fn product(&self, admin: &str, sku: String, stock: i64) -> anyhow::Result<String> {
        let form = reqwest::multipart::Form::new()
            .text("sku", sku.clone())
            .text("name", format!("Bench {sku}"))
            .text("price", "199")
            .text("currency", "USD")
            .text("stock", stock.to_string());
        let body = self
            .json(
                self.http
                    .post(format!("{}/api/products", self.base))
                    .bearer_auth(admin)
                    .multipart(form),
                201,
            )
            .await?;
        Ok(body["id"].as_str().unwrap_or_default().to_string())
    }
}

/// One order's lines.
pub(crate) fn plan(
    scenario: Scenario,
    i: usize,
    uniform: &[String],
    hot: &str,
    rng: &mut u64,
) -> Vec<(String, i64)> {
    let mut next = |n: u64| {
        *rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*rng >> 33) % n
    };
    let hot_order = match scenario {
        Scenario::Hot => true,
        Scenario::Uniform => false,
        Scenario::Mixed => i % 2 == 1,
    };
    if hot_order {
        return vec![(hot.to_string(), 1)];
    }
    let lines = 1 + next(3) as usize;
    let start = next(uniform.len() as u64) as usize;
    (0..lines)
        .map(|k| (uniform[(start + k * 7) % uniform.len()].clone(), 1))
        .collect()
}

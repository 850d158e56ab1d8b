//! `oms bench`: drives a running OMS over HTTP like real clients and measures it.
//!
//! It creates products, registers shoppers, follows every order event on one admin SSE
//! stream (`/api/events`), places orders from `concurrency` clients at once, and waits until
//! each order's placement is decided (`PLACED` or `REJECTED`, seen on the stream — no polling).
//! It reports accepted orders/s, decided orders/s, accept latency and 202-to-decision latency,
//! and — measured in the same run by the same binary — the store's raw conditional-update and
//! insert rates and the broker's confirmed-publish rate, so that results read as ratios that
//! hold on any machine. Then it checks every invariant (`oms verify`) and the number placed.

mod report;
pub use report::*;
mod client;
use client::*;

mod baseline;
mod procs;
mod sync;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Many products, 1–3 lines per order, enough stock for all.
    Uniform,
    /// One product whose stock is a tenth of the demand.
    Hot,
    /// Half uniform, half hot.
    Mixed,
}

pub struct BenchArgs {
    /// The store and broker of the system under test (for the baselines and the invariants).
    pub config: oms_platform::Config,
    /// The API processes' base URLs: client `i` sends its orders to `urls[i % n]`.
    pub urls: Vec<String>,
    pub scenario: Scenario,
    pub orders: usize,
    pub concurrency: usize,
    /// Orders per second to offer (open loop: order `i` is sent at `i / rate` seconds, by
    /// whichever client is free); `None` sends as fast as the clients can.
    pub rate: Option<f64>,
    pub admin_email: String,
    pub admin_password: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        args.orders > 0 && args.concurrency > 0,
        "--orders and --concurrency must be positive"
    );
    anyhow::ensure!(
        args.rate.is_none_or(|r| r.is_finite() && r > 0.0),
        "--rate must be a positive number of orders per second"
    );
    anyhow::ensure!(!args.urls.is_empty(), "--url names no API");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let apis: Vec<Arc<Client>> = args
        .urls
        .iter()
        .map(|url| {
            Arc::new(Client {
                http: http.clone(),
                base: url.trim_end_matches('/').to_string(),
            })
        })
        .collect();
    // Set-up, the decisions' event stream and the counters go through the first API: every API
    // process receives every order event.
    let client = apis[0].clone();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let admin = client.login(&args.admin_email, &args.admin_password).await?;

    let (store, broker) = oms_platform::connect(&args.config, "oms-bench").await?;
    eprintln!("bench: measuring the store's and the broker's raw rates");
    let baselines = baseline::measure(&store, &broker, &run_id).await?;

    eprintln!("bench: creating products");
    let uniform_count = 64;
    let mut uniform = Vec::new();
    if args.scenario != Scenario::Hot {
        for i in 0..uniform_count {
            uniform.push(
                client
                    .product(&admin, format!("B{run_id}-{i}"), (args.orders * 3) as i64)
                    .await?,
            );
        }
    }
    let hot_demand = match args.scenario {
        Scenario::Hot => args.orders,
        Scenario::Mixed => args.orders / 2,
        Scenario::Uniform => 0,
    };
    let hot_stock = hot_demand / 10;
    let hot = client
        .product(&admin, format!("B{run_id}-HOT"), hot_stock as i64)
        .await?;

    eprintln!("bench: registering {} shoppers", args.concurrency);
    let mut tokens = Vec::new();
    for n in 0..args.concurrency {
        tokens.push(client.register(n, &run_id).await?);
    }

    // Every decision arrives on one admin stream; the collector notes when.
    let decided: Arc<Mutex<HashMap<String, (Instant, String)>>> = Arc::default();
    let (ready_tx, mut ready_rx) = mpsc::channel::<()>(1);
    let events = client
        .http
        .get(format!("{}/api/events", client.base))
        .bearer_auth(&admin)
        .timeout(Duration::from_secs(24 * 3600))
        .send()
        .await?;
    anyhow::ensure!(
        events.status().is_success(),
        "cannot open /api/events: {}",
        events.status()
    );
    let collector = {
        let decided = decided.clone();
        tokio::spawn(async move {
            let mut stream = events.bytes_stream();
            let mut buffer = String::new();
            let _ = ready_tx.send(()).await;
            while let Some(Ok(chunk)) = stream.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                        continue;
                    };
                    let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                        continue;
                    };
                    let status = event["status"].as_str().unwrap_or("");
                    if status == "PLACED" || status == "REJECTED" {
                        let id = event["order_id"].as_str().unwrap_or("").to_string();
                        decided
                            .lock()
                            .await
                            .entry(id)
                            .or_insert((Instant::now(), status.to_string()));
                    }
                }
            }
        })
    };
    let _ = ready_rx.recv().await;

    let plans: Vec<Vec<(String, i64)>> = {
        let mut rng = 7u64;
        (0..args.orders)
            .map(|i| plan(args.scenario, i, &uniform, &hot, &mut rng))
            .collect()
    };
    eprintln!(
        "bench: the synchronous design: {} orders from {} tasks straight on the store",
        args.orders, args.concurrency
    );
    let mut stocks: Vec<(String, i64)> = uniform
        .iter()
        .map(|id| (id.clone(), (args.orders * 3) as i64))
        .collect();
    stocks.push((hot.clone(), hot_stock as i64));
    let sync = sync::measure(
        &store,
        sync::SyncRun {
            products: &stocks,
            plans: &plans,
            concurrency: args.concurrency,
            rate: args.rate,
            run_id: &run_id,
        },
    )
    .await?;

    eprintln!(
        "bench: placing {} orders from {} clients",
        args.orders, args.concurrency
    );
    let plans = Arc::new(plans);
    let next_index = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counters_before = scrape_counters(&client).await;
    let cpu = procs::CpuWindow::start(procs::store_port(args.config.mongo_uri.expose_secret()));
    let started = Instant::now();
    let mut clients = Vec::new();
    let hot_ids: Arc<std::sync::Mutex<std::collections::HashSet<String>>> = Arc::default();
    for (n, token) in tokens.into_iter().enumerate() {
        let (client, plans, next_index, rate) = (
            apis[n % apis.len()].clone(),
            plans.clone(),
            next_index.clone(),
            args.rate,
        );
        let (hot_ids, hot) = (hot_ids.clone(), hot.clone());
        clients.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            loop {
                let i = next_index.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(lines) = plans.get(i) else { break };
                if let Some(rate) = rate {
                    tokio::time::sleep_until((started + Duration::from_secs_f64(i as f64 / rate)).into())
                        .await;
                }
                let items: Vec<Value> = lines
                    .iter()
                    .map(|(p, q)| json!({"product_id": p, "quantity": q}))
                    .collect();
                let sent = Instant::now();
                let response = client
                    .http
                    .post(format!("{}/api/orders", client.base))
                    .bearer_auth(&token)
                    .json(&json!({ "items": items }))
                    .send()
                    .await;
                let at = Instant::now();
                if let Ok(response) = response
                    && response.status().as_u16() == 202
                    && let Ok(body) = response.json::<Value>().await
                {
                    let id = body["id"].as_str().unwrap_or("").to_string();
                    if lines.iter().any(|(p, _)| *p == hot)
                        && let Ok(mut ids) = hot_ids.lock()
                    {
                        ids.insert(id.clone());
                    }
                    accepted.push((id, sent, at));
                }
            }
            accepted
        }));
    }
    let mut accepted = Vec::new();
    for c in clients {
        accepted.extend(c.await?);
    }
    let accept_elapsed = started.elapsed();
    let hot_orders = hot_ids.lock().map(|ids| ids.clone()).unwrap_or_default();
    eprintln!("bench: {} accepted; waiting for every decision", accepted.len());

    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let seen = decided.lock().await;
        if accepted.iter().all(|(id, _, _)| seen.contains_key(id)) || Instant::now() > deadline {
            break;
        }
        drop(seen);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    collector.abort();
    let cpu = cpu.finish(decided.lock().await.len());
    let counters_after = scrape_counters(&client).await;
    let seen = decided.lock().await;
    let last_decision = accepted
        .iter()
        .filter_map(|(id, _, _)| seen.get(id).map(|(at, _)| *at))
        .max()
        .unwrap_or_else(Instant::now);
    let total_elapsed = last_decision.duration_since(started);
    let decision_latencies: Vec<f64> = accepted
        .iter()
        .filter_map(|(id, _, at)| {
            seen.get(id)
                .map(|(decided, _)| decided.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    let send_latencies: Vec<f64> = accepted
        .iter()
        .filter_map(|(id, sent, _)| {
            seen.get(id)
                .map(|(decided, _)| decided.saturating_duration_since(*sent).as_secs_f64() * 1000.0)
        })
        .collect();
    let placed = accepted
        .iter()
        .filter(|(id, _, _)| seen.get(id).is_some_and(|(_, s)| s == "PLACED"))
        .count();
    let rejected = accepted
        .iter()
        .filter(|(id, _, _)| seen.get(id).is_some_and(|(_, s)| s == "REJECTED"))
        .count();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    // Exactly the right number placed: every uniform order fits; the hot product sells out.
    let hot_accepted = accepted
        .iter()
        .filter(|(id, _, _)| hot_orders.contains(id.as_str()))
        .count();
    let expected_placed = accepted.len() - hot_accepted + hot_accepted.min(hot_stock);
    let mut violations = Vec::new();
    if placed + rejected < accepted.len() {
        violations.push(format!(
            "{} accepted orders were never decided",
            accepted.len() - placed - rejected
        ));
    }
    if placed != expected_placed {
        violations.push(format!("{placed} orders placed, expected {expected_placed}"));
    }
    drop(seen);
    eprintln!("bench: checking invariants");
    // Releases of rejected orders may still be on their way: give them a little time.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let report = oms_platform::verify::verify(&store, Duration::ZERO).await?;
        if report.ok || Instant::now() > deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    violations.extend(
        report
            .violations
            .iter()
            .map(|v| format!("{} {}: {}", v.kind, v.subject, v.detail)),
    );
    broker.close().await;

    // Where the work goes: store commands and consumed messages per decided order.
    let decided_count = (placed + rejected).max(1) as f64;
    // How long, on average over the run, the system waited for each kind of round trip.
    let delta = |key: &str| {
        counters_after.get(key).copied().unwrap_or(0.0) - counters_before.get(key).copied().unwrap_or(0.0)
    };
    let waits_ms: std::collections::BTreeMap<String, f64> = counters_after
        .keys()
        .filter_map(|key| key.strip_suffix(" count"))
        .filter_map(|name| {
            let count = delta(&format!("{name} count"));
            (count > 0.0).then(|| {
                let ms = delta(&format!("{name} sum")) * 1000.0 / count;
                (
                    name.trim_start_matches("wait ").to_string(),
                    (ms * 100.0).round() / 100.0,
                )
            })
        })
        .collect();
    let per_order: std::collections::BTreeMap<String, f64> = counters_after
        .iter()
        .filter(|(key, _)| !key.starts_with("wait "))
        .map(|(key, after)| {
            let before = counters_before.get(key).copied().unwrap_or(0.0);
            (
                key.clone(),
                ((after - before) / decided_count * 100.0).round() / 100.0,
            )
        })
        .filter(|(_, per)| *per > 0.0)
        .collect();
    let accepted_per_s = accepted.len() as f64 / accept_elapsed.as_secs_f64();
    let final_orders_per_s = (placed + rejected) as f64 / total_elapsed.as_secs_f64();
    let sum_of = |prefix: &str| {
        let sum: f64 = per_order
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum();
        (sum * 100.0).round() / 100.0
    };
    let (store_commands_per_order, broker_messages_per_order) = (sum_of("store "), sum_of("published "));
    let mut report = Report {
        scenario: args.scenario,
        orders: args.orders,
        concurrency: args.concurrency,
        apis: apis.len(),
        offered_rate: args.rate,
        accepted: accepted.len(),
        placed,
        rejected,
        accepted_per_s,
        final_orders_per_s,
        accept_ms: percentiles(
            accepted
                .iter()
                .map(|(_, sent, at)| ms(at.duration_since(*sent)))
                .collect(),
        ),
        accept_to_final_ms: percentiles(decision_latencies),
        send_to_final_ms: percentiles(send_latencies),
        elapsed_s: total_elapsed.as_secs_f64(),
        store_cond_updates_per_s: baselines.store_cond_updates_per_s,
        store_inserts_per_s: baselines.store_inserts_per_s,
        broker_confirms_per_s: baselines.broker_confirms_per_s,
        ratio_final_to_store: final_orders_per_s / baselines.store_cond_updates_per_s,
        ratio_accept_to_broker: accepted_per_s / baselines.broker_confirms_per_s,
        sync_orders_per_s: sync.orders_per_s,
        ratio_final_to_sync: final_orders_per_s / sync.orders_per_s,
        sync,
        expected_placed,
        invariants_ok: violations.is_empty(),
        violations,
        peak_rss_kib: procs::peak_rss(),
        cpu,
        per_order,
        store_commands_per_order,
        waits_ms,
        broker_messages_per_order,
        targets: Vec::new(),
    };
    report.targets = targets(&report);
    Ok(report)
}

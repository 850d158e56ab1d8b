//! Measurements (ignored by default; run alone, see README "Notifications and webhooks"):
//! deliveries per second to one fast local receiver, and what 3 subscribed endpoints add to
//! each order event (store commands, CPU of the process running the API and every worker).

use std::time::{Duration, Instant};

use oms_contracts::messages::{Envelope, Event};
use oms_contracts::{OrderId, OrderStatus, UserId};
use oms_platform::broker::Outgoing;

use super::receiver::Receiver;
use super::{endpoint, spawn};
use crate::helpers::TestApp;

fn events(n: usize) -> Vec<Outgoing> {
    let user = UserId::new();
    (0..n)
        .map(|_| {
            let order = OrderId::new();
            Outgoing::event(&Envelope::new(
                order.to_string(),
                "bench",
                Event::OrderStatusChanged {
                    order_id: order,
                    user_id: user.clone(),
                    from: Some(OrderStatus::Pending),
                    to: OrderStatus::Placed,
                    by: "system".into(),
                    reason: None,
                    version: 2,
                    at: chrono::Utc::now(),
                    lines: vec![],
                    total: None,
                    number: None,
                },
            ))
        })
        .collect()
}

async fn publish(app: &TestApp, n: usize) {
    let all = events(n);
    for chunk in all.chunks(500) {
        app.broker.publish_all(chunk.to_vec()).await.expect("published");
    }
}

/// Store commands sent so far by this process (the `oms_store_commands_total` counters).
fn store_commands() -> f64 {
    oms_platform::metrics::render()
        .lines()
        .filter(|l| l.starts_with("oms_store_commands_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// CPU seconds of the store's process, when `OMS_BENCH_STORE_PID` names it (0 otherwise).
fn store_cpu_seconds() -> f64 {
    std::env::var("OMS_BENCH_STORE_PID").map_or(0.0, |pid| cpu_seconds_of(pid.trim()))
}

fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

async fn wait_received(receivers: &[&Receiver], n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while receivers.iter().map(|r| r.count()).sum::<usize>() < n {
        assert!(tokio::time::Instant::now() < deadline, "not all delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
#[ignore = "a measurement: run alone with --ignored --nocapture"]
async fn measure_webhook_deliveries_per_second() {
    let n: usize = std::env::var("OMS_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let started = Instant::now();
    publish(&app, n).await;
    wait_received(&[&receiver], n).await;
    let took = started.elapsed();
    // Where the store's time goes, by command (sums of the latency histogram).
    for line in oms_platform::metrics::render().lines().filter(|l| {
        l.starts_with("oms_store_command_seconds_sum") || l.starts_with("oms_store_command_seconds_count")
    }) {
        println!("  {line}");
    }
    println!(
        "webhooks: {n} deliveries to one local receiver in {:.2} s: {:.0} deliveries/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}

#[tokio::test]
#[ignore = "a measurement: run alone with --ignored --nocapture"]
async fn measure_the_cost_of_three_endpoints_per_order_event() {
    let n: usize = std::env::var("OMS_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    // Without endpoints: what every event costs the notifications and webhook workers anyway.
    let (commands, cpu, store) = (store_commands(), cpu_seconds(), store_cpu_seconds());
    publish(&app, n).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while app
        .store
        .notifications()
        .count_documents(mongodb::bson::doc! {})
        .await
        .expect("count")
        < n as u64
    {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = (
        store_commands() - commands,
        cpu_seconds() - cpu,
        store_cpu_seconds() - store,
    );

    let receivers = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    for r in &receivers {
        endpoint(&app, &admin, &r.url, &["order.placed"]).await;
    }
    let (commands, cpu, store) = (store_commands(), cpu_seconds(), store_cpu_seconds());
    let started = Instant::now();
    publish(&app, n).await;
    wait_received(&receivers.iter().collect::<Vec<_>>(), 3 * n).await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with = (
        store_commands() - commands,
        cpu_seconds() - cpu,
        store_cpu_seconds() - store,
    );
    let per = |v: f64| v / n as f64;
    println!(
        "per order event, no endpoints: {:.2} store commands, {:.3} ms CPU (API and workers' process), {:.3} ms store CPU",
        per(base.0),
        per(base.1) * 1000.0,
        per(base.2) * 1000.0
    );
    println!(
        "per order event, 3 endpoints: {:.2} store commands, {:.3} ms CPU, {:.3} ms store CPU; added by the 3 endpoints: \
         {:.2} commands, {:.3} ms CPU, {:.3} ms store CPU; {} deliveries in {:.2} s ({:.0}/s)",
        per(with.0),
        per(with.1) * 1000.0,
        per(with.2) * 1000.0,
        per(with.0 - base.0),
        per(with.1 - base.1) * 1000.0,
        per(with.2 - base.2) * 1000.0,
        3 * n,
        took.as_secs_f64(),
        (3 * n) as f64 / took.as_secs_f64()
    );
}

//! Faults: worker processes killed with SIGKILL in the middle of a run of concurrent orders.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn killed_workers_lose_no_order_and_apply_no_stock_change_twice() {
    let app = TestApp::spawn_with(&[("TEST_WORKERS", "processes"), ("OMS_RECONCILE_AFTER", "5s")]).await;
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let report = oms_workers::verify::verify(&app.store, Duration::ZERO)
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
    for product in &products {
        let ledger = app.ledger(product).await;
        let mut keys: Vec<&str> = ledger.iter().map(|e| e.op_key.as_str()).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "an operation recorded twice");
        app.assert_stock_consistent(product).await;
    }
    for worker in &mut workers {
        let _ = worker.start_kill();
    }
}

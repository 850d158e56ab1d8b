//! The two ways an order is decided agree: whole, inside one stock partition's transaction, and
//! through its order worker's reservation saga when its products span partitions. The same
//! random run — orders of one to three lines over a few products with little stock (so that
//! many are refused), cancels before and after shipping, admins' adjustments up and down — goes
//! through a system with one stock partition (every order whole) and one with eight (most
//! multi-line orders span partitions), one step at a time, each step settled before the next.
//! Every order ends the same (status; lines, prices and total unless refused), every adjustment the same, and
//! every product's stock and every order's net hold in the ledger are the same. (The ledgers
//! are not equal entry by entry: a refused saga order takes and gives back the lines it got
//! before the refusal, where a whole order takes nothing.)

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use serde_json::{Value, json};

use crate::helpers::{Rng, Session, TestApp};

#[derive(Clone, Debug)]
enum Step {
    /// (product index, quantity) per line.
    Place(Vec<(usize, i64)>),
    /// Cancel the order placed by this earlier step.
    Cancel(usize),
    /// Move this earlier order one status on (confirm, ship), as an admin.
    Advance(usize),
    Adjust(usize, i64),
}

const PRODUCTS: usize = 6;

fn steps(rng: &mut Rng, len: usize) -> Vec<Step> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let placed: Vec<usize> = out
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Step::Place(_)))
            .map(|(i, _)| i)
            .collect();
        let step = match rng.below(10) {
            0 | 1 if !placed.is_empty() => Step::Cancel(placed[rng.below(placed.len() as u64) as usize]),
            2 if !placed.is_empty() => Step::Advance(placed[rng.below(placed.len() as u64) as usize]),
            3 => Step::Adjust(rng.below(PRODUCTS as u64) as usize, rng.below(9) as i64 - 4),
            _ => {
                let mut lines: Vec<(usize, i64)> = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let product = rng.below(PRODUCTS as u64) as usize;
                    if !lines.iter().any(|(p, _)| *p == product) {
                        lines.push((product, 1 + rng.below(3) as i64));
                    }
                }
                Step::Place(lines)
            }
        };
        out.push(step);
    }
    out
}

/// What a run ended with, in terms of the products' and steps' indexes (ids differ per run).
#[derive(Debug, PartialEq)]
struct Ending {
    /// Per step: the order's final state, or the adjustment's outcome, or the answer's status.
    steps: Vec<String>,
    stock: Vec<i64>,
    /// Per placed step: what its order holds of each product, net, by the ledger.
    held: Vec<Vec<i64>>,
}

/// Whether an order is at rest: decided, and no line waiting for the stock worker.
fn settled(order: &Value) -> bool {
    order["status"] != "PENDING"
        && order["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .all(|l| l["reservation"] != "pending" && l["reservation"] != "releasing")
        })
}

/// An order as the run compares it: its status and, unless it was refused, each line's
/// reservation and price and the total. (A refused order's per-line reasons are not compared:
/// in the saga, a line still in flight when another line's refusal ends the order may be refused
/// for that instead of its own shortage, depending on which reply comes first.)
fn summary(order: &Value, products: &[String]) -> String {
    if order["status"] == "REJECTED" {
        return "\"REJECTED\"".to_string();
    }
    let lines: Vec<String> = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| {
            let index = products
                .iter()
                .position(|p| l["product_id"] == p.as_str())
                .expect("a product of the run");
            format!(
                "p{index}x{} {} {}",
                l["quantity"], l["reservation"], l["unit_price"]["amount"]
            )
        })
        .collect();
    format!(
        "{} [{}] total {}",
        order["status"],
        lines.join(", "),
        order["total"]["amount"]
    )
}

async fn run(app: &TestApp, seed: u64, steps: &[Step]) -> Ending {
    let admin = app.admin().await;
    let user: Session = app.register("paths").await;
    let mut rng = Rng(seed);
    let mut products = Vec::new();
    for i in 0..PRODUCTS {
        let stock = 1 + rng.below(6) as i64;
        let product = app
            .create_product(&admin, &format!("PATH-{seed}-{i}"), 100 + i as i64, stock)
            .await;
        products.push(product["id"].as_str().expect("id").to_string());
    }
    let mut orders: BTreeMap<usize, String> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let outcome = match step {
            Step::Place(lines) => {
                let lines: Vec<(&str, i64)> =
                    lines.iter().map(|(p, q)| (products[*p].as_str(), *q)).collect();
                let order = app.order(&user, &lines).await;
                let decided = app.wait_for_order(&order, &user.access_token, settled).await;
                orders.insert(i, order);
                summary(&decided, &products)
            }
            Step::Cancel(of) | Step::Advance(of) => {
                let order = &orders[of];
                let response = match step {
                    Step::Cancel(_) => {
                        app.post_json(
                            &format!("/api/orders/{order}/cancel"),
                            Some(&user.access_token),
                            &json!({}),
                        )
                        .await
                    }
                    _ => {
                        let current = app.wait_for_order(order, &admin.access_token, settled).await;
                        let next = match current["status"].as_str() {
                            Some("PLACED") => "CONFIRMED",
                            _ => "SHIPPED",
                        };
                        app.post_json(
                            &format!("/api/orders/{order}/status"),
                            Some(&admin.access_token),
                            &json!({"status": next}),
                        )
                        .await
                    }
                };
                let status = response.status().as_u16();
                // Settled once the worker has applied the request (its history grew) and the
                // stock moves it caused are done.
                let history = |o: &Value| o["history"].as_array().map_or(0, Vec::len);
                let before = history(&response.json::<Value>().await.unwrap_or(Value::Null));
                let after = if status == 202 {
                    app.wait_for_order(order, &user.access_token, |o| history(o) > before && settled(o))
                        .await
                } else {
                    app.wait_for_order(order, &user.access_token, settled).await
                };
                format!("{status} -> {}", summary(&after, &products))
            }
            Step::Adjust(p, delta) => {
                if *delta == 0 {
                    outcomes.push("no adjustment".to_string());
                    continue;
                }
                let path = format!("/api/products/{}/stock", products[*p]);
                let response = app
                    .post_json(
                        &path,
                        Some(&admin.access_token),
                        &json!({"delta": delta, "reason": "count"}),
                    )
                    .await;
                let accepted: Value = response.json().await.expect("json");
                let id = accepted["adjustment_id"]
                    .as_str()
                    .expect("adjustment id")
                    .to_string();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                loop {
                    let outcome: Value = app
                        .get(&format!("{path}/{id}"), Some(&admin.access_token))
                        .await
                        .json()
                        .await
                        .expect("json");
                    if outcome["status"] != "pending" {
                        break format!(
                            "adjust p{p} {delta}: {} {}",
                            outcome["status"], outcome["balance_after"]
                        );
                    }
                    assert!(tokio::time::Instant::now() < deadline, "adjustment never decided");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        outcomes.push(outcome);
    }
    let mut stock = Vec::new();
    for p in &products {
        stock.push(app.assert_stock_consistent(p).await);
    }
    let mut held = Vec::new();
    for order in orders.values() {
        let mut per_product = vec![0i64; PRODUCTS];
        for (i, p) in products.iter().enumerate() {
            per_product[i] = -app
                .ledger(p)
                .await
                .iter()
                .filter(|e| e.order_id.as_ref().map(|o| o.as_str()) == Some(order.as_str()))
                .map(|e| e.delta)
                .sum::<i64>();
        }
        held.push(per_product);
    }
    Ending {
        steps: outcomes,
        stock,
        held,
    }
}

#[tokio::test]
async fn whole_orders_and_the_reservation_saga_decide_alike() {
    let whole = TestApp::spawn_with(&[("OMS_STOCK_PARTITIONS", "1")]).await;
    let saga = TestApp::spawn_with(&[("OMS_STOCK_PARTITIONS", "8")]).await;
    for seed in [3u64, 11, 42] {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ seed);
        let steps = steps(&mut rng, 30);
        let products_seed = rng.below(u64::MAX);
        let one = tokio::time::timeout(Duration::from_secs(120), run(&whole, products_seed, &steps))
            .await
            .expect("whole-order run in time");
        let other = tokio::time::timeout(Duration::from_secs(120), run(&saga, products_seed, &steps))
            .await
            .expect("saga run in time");
        assert!(
            one.steps.iter().any(|s| s.starts_with("\"PLACED\""))
                && one.steps.iter().any(|s| s.starts_with("\"REJECTED\"")),
            "seed {seed}: the run should both place and refuse: {:#?}",
            one.steps
        );
        for (i, (a, b)) in one.steps.iter().zip(&other.steps).enumerate() {
            assert_eq!(a, b, "seed {seed}, step {i} ({:?})", steps[i]);
        }
        assert_eq!(one, other, "seed {seed}");
    }
    // The eight-partition run did go through the saga: some of its orders span partitions.
    let orders: Vec<oms_platform::store::OrderDoc> = saga
        .store
        .orders()
        .find(mongodb::bson::doc! {})
        .await
        .expect("orders")
        .try_collect()
        .await
        .expect("orders");
    let spanning = orders
        .iter()
        .filter(|o| {
            let mut partitions: Vec<u32> = o
                .items
                .iter()
                .map(|l| oms_contracts::routing::partition_of(l.product_id.as_str(), 8))
                .collect();
            partitions.dedup();
            partitions.len() > 1
        })
        .count();
    assert!(spanning > 0, "no order went through the saga");
}

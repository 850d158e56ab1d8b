use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn verify_passes_after_orders_and_catches_a_corrupted_store() {
    let app = TestApp::spawn_with(&[("OMS_RECONCILE_AFTER", "1s")]).await;
    let admin = app.admin().await;
    let user = app.register("verify").await;
    let product = app.create_product(&admin, "VERIFY", 100, 3).await;
    let product = product["id"].as_str().expect("id").to_string();
    // Five orders at once for three units: a concurrent run with winners and losers.
    let lines = [(product.as_str(), 1)];
    let orders = futures_util::future::join_all((0..5).map(|_| app.order(&user, &lines))).await;
    for order in &orders {
        app.wait_decided(order, &user.access_token).await;
    }
    // Let every change age past the grace period.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    let report: Value = app
        .get("/api/ops/verify", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["orders_checked"], 5);
    // When it ran, how long it took, and every check passed.
    assert!(
        report["checked_at"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        "{report}"
    );
    assert!(report["took_ms"].as_u64().is_some(), "{report}");
    let checks = report["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().expect("name")).collect();
    assert_eq!(
        names,
        [
            "negative_stock",
            "stock_ledger_mismatch",
            "missing_reservation",
            "stock_not_released",
            "stuck_pending"
        ]
    );
    assert!(
        checks
            .iter()
            .all(|c| c["ok"] == true && c["violations"] == 0 && c["description"].is_string()),
        "{report}"
    );

    // Corrupt the store behind the workers' backs: stock that the ledger does not explain.
    app.store
        .products()
        .update_one(doc! {"_id": &product}, doc! {"$inc": {"stock": 7}})
        .await
        .expect("update");
    let report: Value = app
        .get("/api/ops/verify", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(report["ok"], false);
    assert_eq!(
        report["violations"][0]["kind"], "stock_ledger_mismatch",
        "{report}"
    );
    assert_eq!(report["violations"][0]["subject"], product.as_str());
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["name"], "stock_ledger_mismatch");
    assert_eq!(failed[0]["violations"], 1);

    assert_error(
        app.get("/api/ops/verify", Some(&user.access_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

/// A scoped check reads only its product (and the orders that reserved it), or only the orders
/// changed since a time, chunk by chunk, and reports its progress.
#[tokio::test]
async fn a_scoped_check_judges_only_its_product_or_its_time_range() {
    use oms_platform::verify::{Scope, verify_scoped};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("scoped").await;
    let a = app.create_product(&admin, "SCOPE-A", 100, 5).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let b = app.create_product(&admin, "SCOPE-B", 100, 5).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let order = app.order(&user, &[(a.as_str(), 2)]).await;
    app.wait_decided(&order, &user.access_token).await;
    // B's stock no longer matches its ledger.
    app.store
        .products()
        .update_one(doc! { "_id": b.as_str() }, doc! { "$inc": { "stock": 1 } })
        .await
        .expect("corrupt");
    let product = |id: &str| Scope {
        product: Some(oms_contracts::ProductId::parse(id).expect("id")),
        since: None,
    };
    let grace = std::time::Duration::ZERO;
    let mut reports = Vec::new();
    let only_a = verify_scoped(&app.store, grace, &product(&a), &mut |p| reports.push(p))
        .await
        .expect("verify");
    assert!(only_a.ok, "{:?}", only_a.violations);
    assert_eq!((only_a.products_checked, only_a.orders_checked), (1, 1));
    assert!(!reports.is_empty(), "progress is reported");

    let only_b = verify_scoped(&app.store, grace, &product(&b), &mut |_| {})
        .await
        .expect("verify");
    assert_eq!(only_b.violations.len(), 1, "{:?}", only_b.violations);
    assert_eq!(only_b.violations[0].subject, b);
    assert_eq!(only_b.orders_checked, 0);

    let later = Scope {
        product: None,
        since: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
    };
    let none_since = verify_scoped(&app.store, grace, &later, &mut |_| {})
        .await
        .expect("verify");
    assert_eq!(none_since.orders_checked, 0, "no order changed in the future");
    assert_eq!(none_since.products_checked, 2, "products are always checked");
    assert!(!none_since.ok, "B's mismatch is still found");
}

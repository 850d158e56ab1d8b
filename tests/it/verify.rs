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

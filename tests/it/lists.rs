//! Lists at scale: every list query walks an index that matches its filter and its sort (the
//! store's own `explain` says so), and cursors page through a list without gaps or repeats and
//! refuse to be forged or moved to another list.

use std::collections::HashSet;

use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use oms_contracts::{ProductId, UserId, WebhookId};
use oms_platform::Store;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

/// The stages of a plan, depth first.
fn stages(plan: &Document, out: &mut Vec<String>) {
    if let Ok(stage) = plan.get_str("stage") {
        out.push(stage.to_string());
    }
    if let Ok(input) = plan.get_document("inputStage") {
        stages(input, out);
    }
    if let Ok(inputs) = plan.get_array("inputStages") {
        for input in inputs.iter().filter_map(|b| b.as_document()) {
            stages(input, out);
        }
    }
}

#[tokio::test]
async fn every_list_walks_an_index_matching_its_filter_and_sort() {
    let app = TestApp::spawn().await;
    // A little of everything, so that the planner has real collections to plan over.
    let admin = app.admin().await;
    let user = app.register("Lister").await;
    let product = app.create_product(&admin, "LIST-1", 500, 10).await;
    let product_id = product["id"].as_str().expect("id").to_string();
    let order = app.order(&user, &[(&product_id, 1)]).await;
    app.wait_decided(&order, &user.access_token).await;

    let user_id = UserId::parse(&user.user_id).expect("id");
    let product_id = ProductId::parse(&product_id).expect("id");
    let queries = Store::list_queries_for_explain(&user_id, &product_id, &WebhookId::new());
    assert!(
        queries.len() >= 20,
        "every list and its variants: {}",
        queries.len()
    );
    for (collection, query) in queries {
        // The hinted index exists on the collection the query reads (a hint to a missing index
        // would fail at run time, not here).
        let indexes: Vec<Document> = app
            .store
            .db()
            .collection::<Document>(collection)
            .list_indexes()
            .await
            .expect("indexes")
            .try_collect::<Vec<_>>()
            .await
            .expect("indexes")
            .into_iter()
            .map(|index| index.keys)
            .collect();
        let hint = query
            .get_document("hint")
            .expect("every list query names its index");
        assert!(
            indexes.contains(hint),
            "{collection} has no index {hint}: {indexes:?}"
        );
        let explained = app
            .store
            .db()
            .run_command(doc! { "explain": query.clone(), "verbosity": "queryPlanner" })
            .await
            .expect("explain");
        let plan = explained
            .get_document("queryPlanner")
            .and_then(|p| p.get_document("winningPlan"))
            .expect("a winning plan");
        let mut seen = Vec::new();
        stages(plan, &mut seen);
        assert!(
            seen.iter().any(|s| s == "IXSCAN"),
            "{collection}: {query} plans {seen:?}"
        );
        assert!(
            !seen.iter().any(|s| s == "COLLSCAN" || s == "SORT"),
            "{collection}: {query} scans the collection or sorts in memory: {seen:?}"
        );
    }
}

async fn ids_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn cursors_page_through_a_list_once_each_and_cannot_be_forged() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut created = Vec::new();
    for n in 0..7 {
        // Equal prices across pages: the tie-break on id keeps pages apart.
        let product = app
            .create_product(&admin, &format!("CUR-{n}"), 100 * (n % 2), 5)
            .await;
        created.push(product["id"].as_str().expect("id").to_string());
    }
    for sort in ["newest", "name", "price_asc", "price_desc", "stock_asc"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/products?per_page=3&sort={sort}");
        let mut pages = 0;
        loop {
            let response = app.get(&path, Some(&admin.access_token)).await;
            assert_eq!(response.status(), StatusCode::OK);
            let page: Value = response.json().await.expect("JSON");
            assert_eq!(page["total"], 7);
            assert_eq!(page["total_exact"], true);
            seen.extend(ids_of(&page).await);
            pages += 1;
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    assert_eq!(page["has_more"], true);
                    path = format!("/api/products?per_page=3&sort={sort}&cursor={cursor}");
                }
                None => {
                    assert_eq!(page["has_more"], false);
                    break;
                }
            }
        }
        assert_eq!(pages, 3, "{sort}");
        assert_eq!(seen.len(), 7, "{sort}: {seen:?}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7, "{sort}: no repeats");
        // The same list read by page numbers gives the same order.
        let mut by_pages = Vec::new();
        for page in 1..=3 {
            let response = app
                .get(
                    &format!("/api/products?per_page=3&sort={sort}&page={page}"),
                    Some(&admin.access_token),
                )
                .await;
            by_pages.extend(ids_of(&response.json().await.expect("JSON")).await);
        }
        assert_eq!(seen, by_pages, "{sort}: cursor and page order agree");
    }

    let first: Value = app
        .get("/api/products?per_page=3&sort=name", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_string();
    // Edited: one character of the position changed.
    let mut forged = cursor.clone().into_bytes();
    forged[2] = if forged[2] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    for (path, status, code) in [
        (
            format!("/api/products?sort=name&cursor={forged}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        // Moved to another sort of the same collection.
        (
            format!("/api/products?sort=price_asc&cursor={cursor}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/api/products?sort=name&cursor=garbage".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
        (
            "/api/products?page=101&per_page=10".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_query",
        ),
    ] {
        assert_error(app.get(&path, Some(&admin.access_token)).await, status, code).await;
    }
    // With a cursor, `page` says nothing.
    let response = app
        .get(
            &format!("/api/products?sort=name&page=2&cursor={cursor}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // Orders: a user's cursor does not open another user's list.
    let user = app.register("Pager").await;
    for _ in 0..3 {
        app.order(&user, &[(&created[1], 1)]).await;
    }
    let mine: Value = app
        .get("/api/orders?per_page=2", Some(&user.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(mine["total"], 3);
    let cursor = mine["next_cursor"].as_str().expect("a cursor");
    let rest: Value = app
        .get(
            &format!("/api/orders?per_page=2&cursor={cursor}"),
            Some(&user.access_token),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(ids_of(&rest).await.len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_error(
        app.get(
            &format!("/api/orders?per_page=2&cursor={cursor}"),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

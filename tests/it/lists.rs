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

/// The key patterns of the index scans in a plan.
fn index_scans<'a>(plan: &'a Document, out: &mut Vec<&'a Document>) {
    if plan.get_str("stage") == Ok("IXSCAN")
        && let Ok(keys) = plan.get_document("keyPattern")
    {
        out.push(keys);
    }
    for input in plan.get_document("inputStage").into_iter().chain(
        plan.get_array("inputStages")
            .into_iter()
            .flatten()
            .filter_map(|b| b.as_document()),
    ) {
        index_scans(input, out);
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
        // The intended index exists on the collection the query reads.
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
            .expect("every list query names its index")
            .clone();
        assert!(
            indexes.contains(&hint),
            "{collection} has no index {hint}: {indexes:?}"
        );
        // The list runs without the hint: the planner has to choose that index on its own.
        let mut query = query.clone();
        query.remove("hint");
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
        let mut walked = Vec::new();
        index_scans(plan, &mut walked);
        assert!(
            walked.contains(&&hint),
            "{collection}: {query} walks {walked:?}, not {hint}"
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

/// Orders are read through time windows below a page's start (see `Store::list_orders`); the
/// pages are those of the plain query whatever the ids' times: orders of now, hours, days,
/// months and years ago, and ids that are not time-ordered at all (UUIDv4), paged by offset
/// and by cursor, unfiltered and for one user.
#[tokio::test]
async fn order_pages_are_the_same_through_time_windows() {
    use oms_contracts::OrderId;
    use oms_platform::store::OrderDoc;
    use oms_platform::store::lists::{OrderList, Start};

    let app = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let owner = UserId::new();
    let now = chrono::Utc::now().timestamp_millis() as u64;
    let hour = 3_600_000u64;
    let mut ids: Vec<OrderId> = Vec::new();
    for (n, age) in [0, 1, 2, 3, 20, 30, 300, 400, 5000, 9000, 30_000]
        .iter()
        .flat_map(|hours| [hours * hour, hours * hour + 7])
        .enumerate()
    {
        let at = now - age;
        let v7 = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            at / 1000,
            ((at % 1000) * 1_000_000) as u32,
        ));
        ids.push(OrderId::parse(&v7.to_string()).expect("an id"));
        if n % 5 == 0 {
            ids.push(OrderId::parse(&uuid::Uuid::new_v4().to_string()).expect("an id"));
        }
    }
    let orders: Vec<OrderDoc> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let user = if n % 2 == 0 { owner.clone() } else { UserId::new() };
            OrderDoc::placed(id, &user, &[], None, String::new(), chrono::Utc::now())
        })
        .collect();
    app.store.orders().insert_many(&orders).await.expect("insert");

    for list in [
        OrderList::default(),
        OrderList {
            user: Some(owner.clone()),
            ..OrderList::default()
        },
    ] {
        let mut expected: Vec<&OrderDoc> = orders
            .iter()
            .filter(|o| list.user.as_ref().is_none_or(|u| *u == o.user_id))
            .collect();
        expected.sort_by(|a, b| b.id.as_str().cmp(a.id.as_str()));
        let expected: Vec<String> = expected.iter().map(|o| o.id.to_string()).collect();
        // Counted through the same windows (a customer's orders), or at once: all of them.
        let count = app.store.count_orders(&list).await.expect("a count");
        assert_eq!(
            (count.value, count.exact),
            (expected.len() as u64, true),
            "the count of {list:?}"
        );
        for per_page in [1u64, 3, 7, 100] {
            // By offset.
            for skip in 0..expected.len() as u64 + 1 {
                let page = app
                    .store
                    .list_orders(&list, &Start::Offset(skip), per_page)
                    .await
                    .expect("a page");
                let got: Vec<String> = page.items.iter().map(|o| o.id.to_string()).collect();
                let want: Vec<String> = expected
                    .iter()
                    .skip(skip as usize)
                    .take(per_page as usize)
                    .cloned()
                    .collect();
                assert_eq!(got, want, "offset {skip}, {per_page} per page");
                assert_eq!(
                    page.has_more,
                    (skip + per_page) < expected.len() as u64,
                    "has_more at offset {skip}"
                );
            }
            // By cursor: every item once, in order.
            let mut seen: Vec<String> = Vec::new();
            let mut start = Start::Offset(0);
            loop {
                let page = app
                    .store
                    .list_orders(&list, &start, per_page)
                    .await
                    .expect("a page");
                seen.extend(page.items.iter().map(|o| o.id.to_string()));
                match (page.has_more, page.last()) {
                    (true, Some(last)) => start = Start::After(last.id.clone()),
                    _ => break,
                }
            }
            assert_eq!(seen, expected, "{per_page} per page by cursor");
        }
    }
}

/// Past `COUNT_CAP`, a list of all orders (or of one status) takes its total from the
/// maintained counters, and any other list says "at least the cap"; both flag it.
#[tokio::test]
async fn totals_past_the_cap_are_estimates_and_say_so() {
    use oms_contracts::OrderId;
    use oms_platform::store::OrderDoc;
    use oms_platform::store::lists::{COUNT_CAP, Count, OrderList};

    let app = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let owner = UserId::new();
    let n = COUNT_CAP + 5;
    let orders: Vec<OrderDoc> = (0..n)
        .map(|_| {
            OrderDoc::placed(
                &OrderId::new(),
                &owner,
                &[],
                None,
                String::new(),
                chrono::Utc::now(),
            )
        })
        .collect();
    app.store.orders().insert_many(&orders).await.expect("insert");
    // No analytics projection runs here: `PENDING` is the status the counters count through
    // its index, so the estimate is exact in this test.
    let all = app
        .store
        .count_orders(&OrderList::default())
        .await
        .expect("count");
    assert_eq!(
        all,
        Count {
            value: n,
            exact: false
        }
    );
    let pending = OrderList {
        status: Some(oms_contracts::OrderStatus::Pending),
        ..OrderList::default()
    };
    let pending = app.store.count_orders(&pending).await.expect("count");
    assert_eq!(
        pending,
        Count {
            value: n,
            exact: false
        }
    );
    let mine = OrderList {
        user: Some(owner.clone()),
        ..OrderList::default()
    };
    let mine = app.store.count_orders(&mine).await.expect("count");
    assert_eq!(
        mine,
        Count {
            value: COUNT_CAP,
            exact: false
        }
    );
    let few = OrderList {
        user: Some(UserId::new()),
        ..OrderList::default()
    };
    let few = app.store.count_orders(&few).await.expect("count");
    assert_eq!(
        few,
        Count {
            value: 0,
            exact: true
        }
    );
}

//! The OpenAPI document: every route the router serves is documented (and nothing else is),
//! the document is served, its references resolve, and the committed copy the client is
//! generated from is current.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

/// Paths the router serves that are not API operations: the catch-alls that answer unknown
/// `/api` paths in the error envelope, and the media files.
const NOT_OPERATIONS: &[&str] = &[
    "/api",
    "/api/{*rest}",
    "/media",
    "/media/",
    "/media/{*__private__axum_nest_tail_param}",
];

const METHODS: &[&str] = &[
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// Every `(method, path)` the router serves; `*` for a service that takes every method.
///
/// axum has no API that lists routes, but its `Debug` output shows them: the path router's
/// `node` maps `RouteId(n): "/path"`, and its `routes` map `RouteId(n)` to
/// `MethodRouter(MethodRouter { get: Route, head: None, ... })` or to `Route(Route)`. axum is
/// pinned exactly (`=0.8.9`); should a new version print this differently, the sanity checks
/// in the test fail rather than let an empty list pass.
fn served_routes(router: &axum::Router) -> BTreeSet<(String, String)> {
    let debug = format!("{router:?}");
    // Only the path router: the fallback router numbers its routes from 0 again.
    let start = debug.find("path_router: PathRouter {").expect("a path router");
    let end = debug.find("fallback_router:").expect("a fallback router");
    let debug = &debug[start..end];
    let (routes, paths) = debug.split_once("node: Node").expect("routes, then their paths");

    let entries = |text: &str| -> Vec<(String, String)> {
        text.split("RouteId(")
            .skip(1)
            .filter_map(|entry| {
                let (id, rest) = entry.split_once("): ")?;
                Some((id.to_string(), rest.to_string()))
            })
            .collect()
    };
    let path_of: std::collections::HashMap<String, String> = entries(paths)
        .into_iter()
        .map(|(id, rest)| {
            let path = rest.split('"').nth(1).expect("a quoted path").to_string();
            (id, path)
        })
        .collect();

    let mut served = BTreeSet::new();
    for (id, endpoint) in entries(routes) {
        let path = path_of
            .get(&id)
            .unwrap_or_else(|| panic!("no path for RouteId({id})"));
        if endpoint.starts_with("Route(") {
            served.insert(("*".to_string(), path.clone()));
            continue;
        }
        assert!(
            endpoint.starts_with("MethodRouter("),
            "unexpected endpoint: {endpoint}"
        );
        for method in METHODS {
            let marker = format!(" {method}: ");
            let value = endpoint
                .split_once(&marker)
                .unwrap_or_else(|| panic!("no `{method}` in {endpoint}"))
                .1;
            if !value.starts_with("None") {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    served
}

fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item");
            METHODS
                .iter()
                .filter(|m| item.contains_key(**m))
                .map(move |m| (m.to_string(), path.clone()))
        })
        .collect()
}

fn document() -> Value {
    serde_json::from_str(&oms_api::openapi::document_json()).expect("the document is JSON")
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let state = oms_api::AppState::new(app.config.clone(), app.store.clone(), app.broker.clone());
    let served = served_routes(&oms_api::router(state));
    let documented = documented_routes(&document());

    // The listing works: known routes are found with their methods.
    for known in [
        ("get", "/api/orders"),
        ("post", "/api/orders"),
        ("patch", "/api/products/{id}"),
    ] {
        let known = (known.0.to_string(), known.1.to_string());
        assert!(
            served.contains(&known),
            "the route listing missed {known:?}: {served:?}"
        );
    }

    let operations: BTreeSet<_> = served
        .iter()
        .filter(|(_, path)| !NOT_OPERATIONS.contains(&path.as_str()))
        .cloned()
        .collect();
    let undocumented: Vec<_> = operations.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation: {undocumented:?}. Register them with \
         `OpenApiRouter::routes(routes!(handler))` and a `#[utoipa::path(...)]` on the handler, \
         not with `.route(...)`"
    );
    let unserved: Vec<_> = documented.difference(&operations).collect();
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");
}

/// The document names the role each operation needs (`security: [{bearer: ["admin"]}]`, the
/// OpenAPI 3.1 way for non-OAuth schemes), and it is the role the server enforces: a shopper gets
/// 403 from exactly those operations.
#[tokio::test]
async fn the_admin_role_in_the_document_is_the_one_the_server_enforces() {
    let app = TestApp::spawn().await;
    let shopper = app.register("shopper").await;
    let document = document();
    let mut admin_only = 0;
    for (method, path) in documented_routes(&document) {
        // The event streams answer with a stream that stays open; they are checked elsewhere.
        if path.ends_with("/events") || !path.starts_with("/api/") {
            continue;
        }
        let operation = &document["paths"][&path][&method];
        let needs_admin = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|requirement| {
                requirement["bearer"]
                    .as_array()
                    .is_some_and(|roles| roles.contains(&"admin".into()))
            });
        admin_only += usize::from(needs_admin);
        // Any ids: the role is checked before the resource is looked up.
        let concrete = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    part.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let request = app
            .http
            .request(
                method.to_uppercase().parse().expect("a method"),
                app.url(&concrete),
            )
            .bearer_auth(&shopper.access_token);
        let request = if method == "get" {
            request
        } else {
            request.json(&serde_json::json!({}))
        };
        let status = request.send().await.expect("an answer").status();
        assert_eq!(
            status == StatusCode::FORBIDDEN,
            needs_admin,
            "{method} {path}: a shopper got {status}; the document says admin only: {needs_admin}"
        );
    }
    assert!(admin_only >= 20, "the admin operations are marked: {admin_only}");
}

#[tokio::test]
async fn the_document_is_served_at_api_openapi_json() {
    let app = TestApp::spawn().await;

    let response = app.get("/api/openapi.json", None).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ASCII")
        .to_string();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let served: Value = response.json().await.expect("JSON");
    assert_eq!(served, document());
    assert!(served["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
}

/// Every `$ref` points at a component, and every `{param}` of a path is declared.
#[test]
fn the_document_is_self_consistent() {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let document = document();
    let mut found = Vec::new();
    refs(&document, &mut found);
    for target in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "dangling reference {target}");
    }

    for (path, item) in document["paths"].as_object().expect("paths") {
        let names: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        for (method, operation) in item.as_object().expect("a path item") {
            for name in &names {
                let declared = operation["parameters"]
                    .as_array()
                    .is_some_and(|params| params.iter().any(|p| p["in"] == "path" && p["name"] == *name));
                assert!(
                    declared,
                    "{method} {path}: path parameter `{name}` is not documented"
                );
            }
            let responses = operation["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path}: no success response"
            );
        }
    }
}

/// The client's API types are generated from `client/openapi.json`; it must match the code.
#[test]
fn the_committed_client_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("client/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == oms_api::openapi::document_json(),
        "{} is not the document the code generates; run scripts/openapi.sh and commit it",
        path.display()
    );
}

/// A property's schema in the document.
fn property(document: &Value, schema: &str, property: &str) -> Value {
    document
        .pointer(&format!("/components/schemas/{schema}/properties/{property}"))
        .unwrap_or_else(|| panic!("{schema}.{property} is documented"))
        .clone()
}

/// Every parameter schema named `name`, across operations.
fn parameters(document: &Value, name: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == name {
                    out.push(parameter["schema"].clone());
                }
            }
        }
    }
    assert!(!out.is_empty(), "{name} is a parameter somewhere");
    out
}

/// The document's bounds are the parsers' bounds: each is accepted at the bound and refused past it.
#[test]
fn every_documented_bound_is_the_parsers_bound() {
    use oms_contracts::domain::{Paging, ProductName, Reason, Sku, StockDelta};
    let document = document();

    for page in parameters(&document, "page") {
        let max = page["maximum"].as_i64().expect("page has a maximum");
        assert_eq!(page["minimum"], 1);
        assert!(Paging::parse(Some(max), None).is_ok());
        assert!(Paging::parse(Some(max + 1), None).is_err());
        assert!(Paging::parse(Some(0), None).is_err());
    }
    for per_page in parameters(&document, "per_page") {
        let max = per_page["maximum"].as_i64().expect("per_page has a maximum");
        assert!(Paging::parse(None, Some(max)).is_ok());
        assert!(Paging::parse(None, Some(max + 1)).is_err());
    }

    let name = property(&document, "ProductForm", "name");
    let max = name["maxLength"].as_u64().expect("a maximum length") as usize;
    assert!(ProductName::parse(&"n".repeat(max)).is_ok());
    assert!(ProductName::parse(&"n".repeat(max + 1)).is_err());
    assert!(
        ProductName::parse("   ").is_err(),
        "blank is refused, as the pattern says"
    );
    assert_eq!(name["pattern"], oms_contracts::domain::LINE_PATTERN);

    let sku = property(&document, "ProductForm", "sku");
    let max = sku["maxLength"].as_u64().expect("a maximum length") as usize;
    assert!(Sku::parse(&"A".repeat(max)).is_ok());
    assert!(Sku::parse(&"A".repeat(max + 1)).is_err());
    assert_eq!(sku["pattern"], Sku::PATTERN);
    assert!(Sku::parse("A B").is_err());

    let reason = property(&document, "StockIn", "reason");
    let max = reason["maxLength"].as_u64().expect("a maximum length") as usize;
    assert!(Reason::parse(&"r".repeat(max)).is_ok());
    assert!(Reason::parse(&"r".repeat(max + 1)).is_err());

    let delta = property(&document, "StockIn", "delta");
    let max = delta["maximum"].as_i64().expect("a maximum");
    assert_eq!(delta["minimum"].as_i64(), Some(-max));
    assert_eq!(delta["not"]["const"], 0);
    assert!(StockDelta::parse(max).is_ok() && StockDelta::parse(-max).is_ok());
    assert!(StockDelta::parse(max + 1).is_err() && StockDelta::parse(0).is_err());

    let status = property(&document, "StatusIn", "status");
    let allowed: Vec<&str> = status["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .map(|s| s.as_str().expect("a name"))
        .collect();
    let expected: Vec<&str> = oms_contracts::OrderStatus::ADMIN_TARGETS
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(allowed, expected);

    for key in parameters(&document, "Idempotency-Key") {
        let max = key["maxLength"].as_u64().expect("a maximum length") as usize;
        assert!(oms_contracts::domain::IdempotencyKey::parse(&"k".repeat(max)).is_ok());
        assert!(oms_contracts::domain::IdempotencyKey::parse(&"k".repeat(max + 1)).is_err());
    }
}

/// The document's bounds are the server's: for each bound the document declares on a request,
/// a request at the bound is accepted and one past it is refused with 422 naming the field.
/// The bounds come from the served document, not from the server's constants, so a bound
/// changed on one side only fails here.
#[tokio::test]
async fn every_documented_bound_is_enforced_over_http() {
    use crate::helpers::assert_error;
    use serde_json::json;

    let app = TestApp::spawn().await;
    let document: Value = app
        .get("/api/openapi.json", None)
        .await
        .json()
        .await
        .expect("the document");
    let admin = app.admin().await;
    let shopper = app.register("bounds").await;
    let refused = |field: &'static str| {
        move |body: Value| {
            let fields: Vec<&str> = std::iter::once(&body["error"])
                .chain(body["error"]["details"].as_array().into_iter().flatten())
                .filter_map(|d| d["field"].as_str())
                .collect();
            assert!(fields.contains(&field), "{field} is not named: {body}");
        }
    };

    // Password length (register).
    let password = property(&document, "RegisterIn", "password");
    let (min, max) = (
        password["minLength"].as_u64().expect("a minimum length") as usize,
        password["maxLength"].as_u64().expect("a maximum length") as usize,
    );
    for (length, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
        let email = format!("bounds-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({ "email": email, "password": "p".repeat(length), "name": "Bounds" });
        let response = app.post_json("/api/auth/register", None, &body).await;
        if ok {
            assert_eq!(response.status(), StatusCode::CREATED, "password of {length}");
        } else {
            refused("password")(
                assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await,
            );
        }
    }

    // Lines per order and quantity per line.
    let product = app.create_product(&admin, "BOUNDS-1", 100, 5).await;
    let product_id = product["id"].as_str().expect("id");
    let items = property(&document, "OrderIn", "items");
    let (min, max) = (
        items["minItems"].as_u64().expect("a minimum") as usize,
        items["maxItems"].as_u64().expect("a maximum") as usize,
    );
    let lines = |n: usize| -> Vec<(String, i64)> {
        (0..n)
            .map(|_| (oms_contracts::ProductId::new().to_string(), 1))
            .collect()
    };
    for (n, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
        let lines = lines(n);
        let items: Vec<(&str, i64)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
        let response = app.place_order(&shopper, &items, None).await;
        if ok {
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{n} lines");
        } else {
            refused("items")(
                assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await,
            );
        }
    }
    let quantity = property(&document, "LineIn", "quantity");
    let (min, max) = (
        quantity["minimum"].as_i64().expect("a minimum"),
        quantity["maximum"].as_i64().expect("a maximum"),
    );
    for (q, ok) in [(min, true), (max, true), (min - 1, false), (max + 1, false)] {
        let response = app.place_order(&shopper, &[(product_id, q)], None).await;
        if ok {
            assert_eq!(response.status(), StatusCode::ACCEPTED, "quantity {q}");
        } else {
            refused("items[0].quantity")(
                assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await,
            );
        }
    }

    // Dead letters: how many one listing returns, how many one replay names.
    let limits = parameters(&document, "limit");
    let max = limits[0]["maximum"].as_i64().expect("limit has a maximum");
    assert_eq!(limits[0]["minimum"], 1);
    for (limit, ok) in [(1, true), (max, true), (0, false), (max + 1, false)] {
        let response = app
            .get(
                &format!("/api/ops/dead-letters?queue=oms.images&limit={limit}"),
                Some(&admin.access_token),
            )
            .await;
        if ok {
            assert_eq!(response.status(), StatusCode::OK, "limit {limit}");
        } else {
            refused("limit")(assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await);
        }
    }
    let ids = property(&document, "ReplayIn", "ids");
    let max = ids["maxItems"].as_u64().expect("a maximum") as usize;
    for (n, ok) in [(1, true), (max, true), (0, false), (max + 1, false)] {
        let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let response = app
            .post_json(
                "/api/ops/dead-letters/replay",
                Some(&admin.access_token),
                &json!({ "queue": "oms.images", "ids": ids }),
            )
            .await;
        if ok {
            assert_eq!(response.status(), StatusCode::ACCEPTED, "{n} ids to replay");
        } else {
            refused("ids")(
                assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await,
            );
        }
    }

    // Notifications marked read at once.
    let ids = property(&document, "ReadIn", "ids");
    let max = ids["maxItems"].as_u64().expect("a maximum") as usize;
    for (n, ok) in [(max, true), (max + 1, false)] {
        let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let response = app
            .post_json(
                "/api/notifications/read",
                Some(&shopper.access_token),
                &json!({ "ids": ids }),
            )
            .await;
        if ok {
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "{n} ids to mark read");
        } else {
            refused("ids")(
                assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await,
            );
        }
    }

    // Search texts.
    for (parameter, path) in [
        ("q", "/api/products?q="),
        ("customer_name", "/api/orders?customer_name="),
    ] {
        let max = parameters(&document, parameter)[0]["maxLength"]
            .as_u64()
            .expect("a maximum length") as usize;
        for (length, ok) in [(max, true), (max + 1, false)] {
            // Words of 19 letters: the longest text is five words, as many as a name search takes.
            let text = format!("{} ", "w".repeat(19)).repeat(10);
            let text = &text[..length];
            let response = app
                .get(
                    &format!("{path}{}", text.replace(' ', "+")),
                    Some(&admin.access_token),
                )
                .await;
            if ok {
                assert_eq!(response.status(), StatusCode::OK, "{parameter} of {length}");
            } else {
                let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
                refused(parameter)(body);
            }
        }
    }
}

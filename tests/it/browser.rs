//! What the SPA needs from the API: sessions whose refresh token no script can read (an `HttpOnly`
//! cookie scoped to the refresh path, with CSRF refused), and forms told about every invalid field
//! at once (`details`).

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, assert_error};

/// The `oms_refresh` cookie a response sets: its value and its attributes.
fn refresh_cookie(response: &reqwest::Response) -> Option<(String, Vec<String>)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("oms_refresh="))
        .map(|v| {
            let mut parts = v.split("; ");
            let value = parts
                .next()
                .unwrap_or("")
                .trim_start_matches("oms_refresh=")
                .to_string();
            (value, parts.map(str::to_string).collect())
        })
}

async fn refresh_with_cookie(app: &TestApp, cookie: &str, site: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header(COOKIE, format!("theme=dark; oms_refresh={cookie}"))
        .json(&json!({}));
    if let Some(site) = site {
        request = request.header("sec-fetch-site", site);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn a_browser_session_keeps_its_refresh_token_in_an_http_only_cookie() {
    let app = TestApp::spawn().await;
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "refresh_token_in": "cookie"}),
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let (first, attributes) = refresh_cookie(&login).expect("a refresh cookie");
    for wanted in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth/refresh"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted} in {attributes:?}"
        );
    }
    let body: Value = login.json().await.expect("json");
    assert!(
        body.get("refresh_token").is_none(),
        "the body must not carry it: {body}"
    );
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    // The cookie alone refreshes, and is replaced by the next one.
    let refreshed = refresh_with_cookie(&app, &first, Some("same-origin")).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let (second, _) = refresh_cookie(&refreshed).expect("a new refresh cookie");
    assert_ne!(first, second);
    let body: Value = refreshed.json().await.expect("json");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let access = body["access_token"].as_str().expect("access").to_string();
    assert_eq!(
        app.get("/api/auth/me", Some(&access)).await.status(),
        StatusCode::OK
    );

    // Sent from another site's page (a forged request), the cookie is refused and nothing is spent.
    for site in ["cross-site", "same-site"] {
        let forged = refresh_with_cookie(&app, &second, Some(site)).await;
        assert_error(forged, StatusCode::BAD_REQUEST, "cross_site_refresh").await;
    }
    // A form post cannot send JSON: the cookie is never read from one.
    let form = app
        .http
        .post(app.url("/api/auth/refresh"))
        .header(COOKIE, format!("oms_refresh={second}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=1")
        .send()
        .await
        .expect("request");
    assert_error(form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;

    // Signing out with the access token alone ends the session and clears the cookie.
    let refreshed = refresh_with_cookie(&app, &second, None).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let (third, _) = refresh_cookie(&refreshed).expect("cookie");
    let access = refreshed.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    let logout = app.post_json("/api/auth/logout", Some(&access), &json!({})).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (cleared, attributes) = refresh_cookie(&logout).expect("a clearing cookie");
    assert_eq!(cleared, "");
    assert!(attributes.iter().any(|a| a == "Max-Age=0"), "{attributes:?}");
    let after = refresh_with_cookie(&app, &third, None).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    // Without a token in the body or a cookie there is nothing to refresh.
    let none = app.post_json("/api/auth/refresh", None, &json!({})).await;
    assert_error(none, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn api_clients_keep_the_refresh_token_in_the_body() {
    let app = TestApp::spawn().await;
    let user = app.register("body").await;
    let refreshed = app
        .post_json(
            "/api/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh_token}),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert!(refresh_cookie(&refreshed).is_none(), "no cookie for API clients");
    let body: Value = refreshed.json().await.expect("json");
    let next = body["refresh_token"].as_str().expect("refresh_token in the body");
    let access = body["access_token"].as_str().expect("access");
    let logout = app
        .post_json("/api/auth/logout", Some(access), &json!({"refresh_token": next}))
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let reuse = app
        .post_json("/api/auth/refresh", None, &json!({"refresh_token": next}))
        .await;
    assert_eq!(reuse.status(), StatusCode::UNAUTHORIZED);
}

fn details(body: &Value) -> Vec<(String, String)> {
    body["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| {
            assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
            (
                d["field"].as_str().expect("field").to_string(),
                d["code"].as_str().expect("code").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_invalid_field_of_a_form_is_reported_at_once() {
    let app = TestApp::spawn().await;
    let failed = |field: &str| (field.to_string(), "validation_failed".to_string());

    // An empty sign-up form: all three fields, the first also as `field`.
    let empty = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": "", "password": "", "name": ""}),
        )
        .await;
    let body = assert_error(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        details(&body),
        vec![failed("name"), failed("email"), failed("password")]
    );
    assert_eq!(body["error"]["field"], "name");

    // A new product with a bad SKU, a price in major units and no stock.
    let admin = app.admin().await;
    let form = Form::new()
        .text("name", "Lamp")
        .text("sku", "A B")
        .text("price", "49,99")
        .text("currency", "usd");
    let response = app
        .post_multipart("/api/products", Some(&admin.access_token), form)
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        details(&body),
        vec![
            failed("sku"),
            failed("price"),
            failed("currency"),
            failed("stock")
        ]
    );

    // A stock adjustment without a change or a reason.
    let product = app.create_product(&admin, "ALL-AT-ONCE", 100, 3).await;
    let id = product["id"].as_str().expect("id");
    let response = app
        .post_json(
            &format!("/api/products/{id}/stock"),
            Some(&admin.access_token),
            &json!({"delta": 0, "reason": " "}),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(details(&body), vec![failed("delta"), failed("reason")]);

    // A product edit with two bad values.
    let response = app
        .patch_json(
            &format!("/api/products/{id}"),
            Some(&admin.access_token),
            &json!({"name": "", "price": -1, "low_stock_threshold": -2}),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        details(&body),
        vec![failed("name"), failed("price"), failed("low_stock_threshold")]
    );
    assert_eq!(
        app.product(id).await.name,
        product["name"].as_str().expect("name")
    );

    // A body of the wrong shape names its field in words, not in Rust's types.
    let response = app
        .post_json(
            &format!("/api/products/{id}/stock"),
            Some(&admin.access_token),
            &json!({"delta": 2.5, "reason": "half"}),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(
        details(&body),
        vec![("delta".to_string(), "invalid_body".to_string())]
    );
    assert_eq!(body["error"]["details"][0]["message"], "must be a whole number");
}

#[tokio::test]
async fn the_catalog_sorts_by_name_price_and_stock() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // SKU, price, stock; the names are "Product <SKU>".
    for (sku, price, stock) in [("SORT-B", 300, 1), ("SORT-C", 100, 9), ("SORT-A", 200, 5)] {
        app.create_product(&admin, sku, price, stock).await;
    }
    let skus = |sort: &'static str| {
        let app = &app;
        async move {
            let page: Value = app
                .get(&format!("/api/products?q=SORT-&sort={sort}"), None)
                .await
                .json()
                .await
                .expect("json");
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|p| p["sku"].as_str().expect("sku").to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(skus("newest").await, ["SORT-A", "SORT-C", "SORT-B"]);
    assert_eq!(skus("name").await, ["SORT-A", "SORT-B", "SORT-C"]);
    assert_eq!(skus("price_asc").await, ["SORT-C", "SORT-A", "SORT-B"]);
    assert_eq!(skus("price_desc").await, ["SORT-B", "SORT-A", "SORT-C"]);
    assert_eq!(skus("stock_asc").await, ["SORT-B", "SORT-A", "SORT-C"]);
    let wrong = app.get("/api/products?sort=colour", None).await;
    let body = assert_error(wrong, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(body["error"]["field"], "sort");
}

#[tokio::test]
async fn a_refresh_cookie_presented_again_right_after_its_rotation_is_rotated_again() {
    let app = TestApp::spawn().await;
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "refresh_token_in": "cookie"}),
        )
        .await;
    let (first, _) = refresh_cookie(&login).expect("a refresh cookie");
    // The page reloads while its refresh is in flight: the server rotates, the browser never
    // stores the answer's cookie, and the new page presents the old one again.
    let lost = refresh_with_cookie(&app, &first, None).await;
    let (never_stored, _) = refresh_cookie(&lost).expect("cookie");
    let retried = refresh_with_cookie(&app, &first, None).await;
    assert_eq!(
        retried.status(),
        StatusCode::OK,
        "a retry right after the rotation"
    );
    let (third, _) = refresh_cookie(&retried).expect("cookie");
    assert_ne!(third, never_stored);
    // The session goes on from the new cookie.
    let next = refresh_with_cookie(&app, &third, None).await;
    assert_eq!(next.status(), StatusCode::OK);
    let (fourth, _) = refresh_cookie(&next).expect("cookie");
    // The dropped cookie was spent by the retry: presenting it is a reuse, and ends the chain.
    let stolen = refresh_with_cookie(&app, &never_stored, None).await;
    assert_error(stolen, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let after = refresh_with_cookie(&app, &fourth, None).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
}

#[tokio::test]
async fn a_spent_refresh_cookie_whose_successor_was_used_is_a_reuse() {
    let app = TestApp::spawn().await;
    let login = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "refresh_token_in": "cookie"}),
        )
        .await;
    let (first, _) = refresh_cookie(&login).expect("a refresh cookie");
    let rotated = refresh_with_cookie(&app, &first, None).await;
    let (second, _) = refresh_cookie(&rotated).expect("cookie");
    let used = refresh_with_cookie(&app, &second, None).await;
    let (third, _) = refresh_cookie(&used).expect("cookie");
    // Within the grace period, but the browser did get (and use) its successor: theft.
    let again = refresh_with_cookie(&app, &first, None).await;
    assert_error(again, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let after = refresh_with_cookie(&app, &third, None).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
}

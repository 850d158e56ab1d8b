use image::ImageFormat;
use mongodb::bson::doc;
use oms_contracts::domain::ImageType;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, image_bytes, image_part, product_form};

#[tokio::test]
async fn an_admin_creates_a_product_with_an_image() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (sku, format, mime) in [
        ("PNG-1", ImageFormat::Png, "image/png"),
        ("JPG-1", ImageFormat::Jpeg, "image/jpeg"),
        ("WEBP-1", ImageFormat::WebP, "image/webp"),
    ] {
        let form =
            product_form(sku, "Lamp", 1999, 7).part("image", image_part(image_bytes(format), "x.bin", mime));
        let response = app
            .post_multipart("/api/products", Some(&admin.access_token), form)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        let product: Value = response.json().await.expect("json");
        assert_eq!(
            location,
            format!("/api/products/{}", product["id"].as_str().expect("id"))
        );
        assert_eq!(product["sku"], sku);
        assert_eq!(product["price"], json!({"amount": 1999, "currency": "USD"}));
        assert_eq!(product["stock"], 7);
        assert_eq!(product["active"], true);
        assert_eq!(product["image"]["status"], "pending");

        // The upload is recorded for the image worker (which may already have finished it:
        // images.rs follows it to the end).
        let stored = app
            .store
            .products()
            .find_one(doc! {"_id": product["id"].as_str()})
            .await
            .expect("query")
            .expect("stored");
        assert!(stored.image.upload_id.is_some());
        assert_eq!(stored.image.content_type.map(ImageType::media_type), Some(mime));
        assert_eq!((stored.image.width, stored.image.height), (Some(16), Some(9)));
    }
    let queue = app
        .management
        .queues(&app.vhost)
        .await
        .into_iter()
        .find(|q| q["name"] == "oms.images")
        .expect("image queue declared");
    // The management API's counters lag a little; the queue exists with the right type.
    assert_eq!(queue["type"], "quorum");
}

#[tokio::test]
async fn initial_stock_is_in_the_ledger() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.create_product(&admin, "LEDGER-1", 500, 12).await;
    let id = product["id"].as_str().expect("id");
    let response = app
        .get(&format!("/api/products/{id}/ledger"), Some(&admin.access_token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ledger: Value = response.json().await.expect("json");
    assert_eq!(ledger["total"], 1, "{ledger}");
    let entry = &ledger["items"][0];
    assert_eq!(entry["kind"], "initial");
    assert_eq!(entry["delta"], 12);
    assert_eq!(entry["balance_after"], 12);
    assert_eq!(entry["actor"], admin.user_id);

    let user = app.register("nosy").await;
    let response = app
        .get(&format!("/api/products/{id}/ledger"), Some(&user.access_token))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn products_are_listed_searched_and_paged() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for i in 0..5 {
        app.create_product(&admin, &format!("LAMP-{i}"), 100 + i, i).await;
    }
    app.create_product(&admin, "CHAIR-1", 900, 3).await;

    let all: Value = app.get("/api/products", None).await.json().await.expect("json");
    assert_eq!(all["total"], 6);
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 20);
    assert_eq!(all["items"][0]["sku"], "CHAIR-1", "newest first");

    let lamps: Value = app
        .get("/api/products?q=lamp", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(lamps["total"], 5);
    let regex: Value = app
        .get("/api/products?q=.*", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(regex["total"], 0, "search text is literal, not a regex");

    let in_stock: Value = app
        .get("/api/products?in_stock=true", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(in_stock["total"], 5, "LAMP-0 has no stock");

    let page2: Value = app
        .get("/api/products?per_page=4&page=2", None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page2["items"].as_array().expect("items").len(), 2);
    assert_eq!(page2["total"], 6);

    for bad in [
        "page=0",
        "per_page=101",
        "per_page=abc",
        "in_stock=maybe",
        "sort=price",
    ] {
        let response = app.get(&format!("/api/products?{bad}"), None).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    }
}

#[tokio::test]
async fn an_admin_patches_a_product_and_deactivation_hides_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.create_product(&admin, "PATCH-1", 100, 1).await;
    let path = format!("/api/products/{}", product["id"].as_str().expect("id"));

    let response = app
        .patch_json(
            &path,
            Some(&admin.access_token),
            &json!({"name": "Renamed", "price": 250}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.expect("json");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["price"]["amount"], 250);
    assert_eq!(patched["stock"], 1, "stock is not patchable");

    let refused = app
        .patch_json(&path, Some(&admin.access_token), &json!({"stock": 1000}))
        .await;
    assert_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let refused = app
        .patch_json(&path, Some(&admin.access_token), &json!({"price": -1}))
        .await;
    let body = assert_error(refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["error"]["field"], "price");
    // An empty patch (or one of nulls) changes nothing and says so with the product as it is.
    for empty in [json!({}), json!({"name": null, "price": null})] {
        let response = app.patch_json(&path, Some(&admin.access_token), &empty).await;
        assert_eq!(response.status(), StatusCode::OK);
        let same: Value = response.json().await.expect("json");
        assert_eq!(
            (same["name"].clone(), same["updated_at"].clone()),
            (patched["name"].clone(), patched["updated_at"].clone())
        );
    }

    let response = app
        .patch_json(&path, Some(&admin.access_token), &json!({"active": false}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_error(app.get(&path, None).await, StatusCode::NOT_FOUND, "not_found").await;
    let listed: Value = app.get("/api/products", None).await.json().await.expect("json");
    assert_eq!(listed["total"], 0);
    assert_eq!(
        app.get(&path, Some(&admin.access_token)).await.status(),
        StatusCode::OK
    );
    let with_inactive: Value = app
        .get("/api/products?include_inactive=true", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(with_inactive["total"], 1);
    assert_error(
        app.get("/api/products?include_inactive=true", None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn product_input_is_validated_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let base = || Form::new().text("description", "d").text("currency", "USD");
    let cases: Vec<(Form, &str)> = vec![
        (
            base().text("sku", "A-1").text("price", "1").text("stock", "1"),
            "name",
        ),
        (
            base().text("name", "n").text("price", "1").text("stock", "1"),
            "sku",
        ),
        (
            base()
                .text("name", "n")
                .text("sku", "A 1")
                .text("price", "1")
                .text("stock", "1"),
            "sku",
        ),
        (
            base()
                .text("name", "n")
                .text("sku", "A-1")
                .text("price", "-5")
                .text("stock", "1"),
            "price",
        ),
        (
            base()
                .text("name", "n")
                .text("sku", "A-1")
                .text("price", "1.5")
                .text("stock", "1"),
            "price",
        ),
        (
            base()
                .text("name", "n")
                .text("sku", "A-1")
                .text("price", "1")
                .text("stock", "-1"),
            "stock",
        ),
        (
            Form::new()
                .text("name", "n")
                .text("sku", "A-1")
                .text("price", "1")
                .text("stock", "1")
                .text("currency", "XXY"),
            "currency",
        ),
        (
            base()
                .text("name", "n")
                .text("sku", "A-1")
                .text("price", "1")
                .text("stock", "1")
                .text("color", "red"),
            "color",
        ),
    ];
    for (form, field) in cases {
        let response = app.post_multipart("/api/products", token, form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "field {field}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // Not an image, whatever its name and declared type.
    let text = product_form("IMG-1", "n", 1, 1).part(
        "image",
        image_part(b"hello, I am text".to_vec(), "cat.png", "image/png"),
    );
    assert_error(
        app.post_multipart("/api/products", token, text).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    // A PNG cut in half does not decode.
    let png = image_bytes(ImageFormat::Png);
    let truncated = product_form("IMG-2", "n", 1, 1).part(
        "image",
        image_part(png[..png.len() / 2].to_vec(), "t.png", "image/png"),
    );
    let body = assert_error(
        app.post_multipart("/api/products", token, truncated).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_image",
    )
    .await;
    assert_eq!(body["error"]["field"], "image");

    // Larger than OMS_MAX_IMAGE_BYTES.
    let mut huge = image_bytes(ImageFormat::Png);
    huge.resize(app.config.max_image_bytes + 1, 0);
    let oversized = product_form("IMG-3", "n", 1, 1).part("image", image_part(huge, "big.png", "image/png"));
    assert_error(
        app.post_multipart("/api/products", token, oversized).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    // JSON where multipart is expected.
    let json = app.post_json("/api/products", token, &json!({"name": "n"})).await;
    assert_error(json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type").await;

    assert_eq!(
        app.store
            .products()
            .count_documents(doc! {})
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        app.store.ledger().count_documents(doc! {}).await.expect("count"),
        0
    );
    let staged = app
        .store
        .db()
        .collection::<mongodb::bson::Document>("staged_images.files")
        .count_documents(doc! {})
        .await
        .expect("count");
    assert_eq!(staged, 0);
}

#[tokio::test]
async fn skus_are_unique() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_product(&admin, "dup-1", 100, 1).await;
    let response = app
        .post_multipart(
            "/api/products",
            Some(&admin.access_token),
            product_form("DUP-1", "Other", 100, 1),
        )
        .await;
    let body = assert_error(response, StatusCode::CONFLICT, "sku_taken").await;
    assert_eq!(body["error"]["field"], "sku");
    assert_eq!(
        app.store
            .products()
            .count_documents(doc! {})
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        app.store.ledger().count_documents(doc! {}).await.expect("count"),
        1
    );
}

#[tokio::test]
async fn unknown_and_malformed_product_ids_are_not_found() {
    let app = TestApp::spawn().await;
    for id in [
        "0190f5a2-1c3b-7d4e-8f00-0123456789ab",
        "not-an-id",
        "%7B%22%24gt%22%3A%22%22%7D",
    ] {
        assert_error(
            app.get(&format!("/api/products/{id}"), None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
}

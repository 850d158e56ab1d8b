//! Product images end to end with the local store: uploads become `ready` and are served from
//! `/media/`, replacements remove the old file, refused replacements change nothing, and the
//! image worker's idempotence and failure paths (driven directly). Cloudinary is in `cloudinary`.

mod cloudinary;
mod standin;

use std::sync::Arc;
use std::time::Duration;

use image::ImageFormat;
use mongodb::bson::{Document, doc};
use oms_contracts::ProductId;
use oms_contracts::domain::ImageType;
use oms_contracts::messages::{Envelope, ImageCommand};
use oms_workers::consumer::Handler;
use oms_workers::images::{ImageHandler, ImageStore, LocalStore, RetryPolicy};
use reqwest::StatusCode;
use reqwest::multipart::Form;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Session, TestApp, assert_error, image_bytes, image_part, product_form};

const FORMATS: [(ImageFormat, &str); 3] = [
    (ImageFormat::Png, "image/png"),
    (ImageFormat::Jpeg, "image/jpeg"),
    (ImageFormat::WebP, "image/webp"),
];

/// Waits (up to 30 s) until `check` holds.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the product (as the admin) until `done` holds for it; returns its JSON.
pub async fn wait_for_product(
    app: &TestApp,
    admin: &Session,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/products/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let product: Value = app
            .get(&path, Some(&admin.access_token))
            .await
            .json()
            .await
            .expect("product JSON");
        if done(&product) {
            return product;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "product {id} never got there: {product}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the image worker has decided (the image is no longer `pending`).
pub async fn wait_settled(app: &TestApp, admin: &Session, id: &str) -> Value {
    wait_for_product(app, admin, id, |p| p["image"]["status"] != "pending").await
}

/// Files and chunks in the staging bucket.
pub async fn staged_files(app: &TestApp) -> u64 {
    let db = app.store.db();
    let mut total = 0;
    for collection in ["staged_images.files", "staged_images.chunks"] {
        total += db
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
            .expect("count");
    }
    total
}

/// Creates a product with `bytes` as its image; returns its id.
pub async fn create_with_image(
    app: &TestApp,
    admin: &Session,
    sku: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> String {
    let form = product_form(sku, "Lamp", 1999, 3).part("image", image_part(bytes, "photo.bin", mime));
    let response = app
        .post_multipart("/api/products", Some(&admin.access_token), form)
        .await;
    let status = response.status();
    let product: Value = response.json().await.expect("product JSON");
    assert_eq!(status, StatusCode::CREATED, "{product}");
    assert_eq!(product["image"]["status"], "pending");
    product["id"].as_str().expect("id").to_string()
}

/// Sends `form` to `POST /api/products/{id}/image`.
pub async fn replace_image(app: &TestApp, admin: &Session, id: &str, form: Form) -> reqwest::Response {
    app.post_multipart(
        &format!("/api/products/{id}/image"),
        Some(&admin.access_token),
        form,
    )
    .await
}

/// Asks for a retry of the staged upload: a POST without a body (as `curl -X POST` sends).
pub async fn retry_image(app: &TestApp, admin: &Session, id: &str) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/products/{id}/image")))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("request")
}

/// The names of the files in the media directory.
fn media_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&app.config.media_dir)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn url_of(product: &Value) -> String {
    product["image"]["url"].as_str().expect("image url").to_string()
}

#[tokio::test]
async fn valid_images_become_ready_and_are_served_from_media() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for (i, (format, mime)) in FORMATS.into_iter().enumerate() {
        let bytes = image_bytes(format);
        let id = create_with_image(&app, &admin, &format!("IMG-{i}"), bytes.clone(), mime).await;

        let product = wait_settled(&app, &admin, &id).await;
        assert_eq!(product["image"]["status"], "ready", "{product}");
        assert_eq!(
            (
                product["image"]["width"].as_u64(),
                product["image"]["height"].as_u64()
            ),
            (Some(16), Some(9))
        );
        assert!(product["image"]["error"].is_null(), "{product}");
        let url = url_of(&product);
        assert!(url.starts_with("/media/"), "{url}");
        assert!(
            !url.contains(&id),
            "file names are not derived from product ids: {url}"
        );

        let response = app.get(&url, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let header = |name: &str| response.headers()[name].to_str().expect("header").to_string();
        assert_eq!(header("content-type"), mime);
        assert_eq!(header("cache-control"), "public, max-age=31536000, immutable");
        assert_eq!(response.bytes().await.expect("body").to_vec(), bytes, "{mime}");

        let stored = app.product(&id).await;
        assert!(stored.image.staged_id.is_none());
        assert!(stored.image.store_id.is_some());
    }
    eventually("every staged blob is deleted", async || {
        staged_files(&app).await == 0
    })
    .await;
    assert_eq!(media_files(&app).len(), 3);
}

#[tokio::test]
async fn a_new_image_replaces_the_old_one_and_removes_its_file() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = create_with_image(&app, &admin, "REPL-1", image_bytes(ImageFormat::Png), "image/png").await;
    let first = url_of(&wait_settled(&app, &admin, &id).await);
    eventually("the first upload is unstaged", async || {
        staged_files(&app).await == 0
    })
    .await;

    let jpeg = image_bytes(ImageFormat::Jpeg);
    let form = Form::new().part("image", image_part(jpeg.clone(), "new.jpg", "image/jpeg"));
    let response = replace_image(&app, &admin, &id, form).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: Value = response.json().await.expect("json");
    assert_eq!(accepted["image"]["status"], "pending");

    let product = wait_for_product(&app, &admin, &id, |p| {
        p["image"]["status"] == "ready" && p["image"]["url"] != first.as_str()
    })
    .await;
    let second = url_of(&product);
    let name = second.trim_start_matches("/media/").to_string();
    eventually("only the new file remains", async || {
        media_files(&app) == [name.clone()]
    })
    .await;
    assert_eq!(app.get(&first, None).await.status(), StatusCode::NOT_FOUND);
    let response = app.get(&second, None).await;
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.expect("body").to_vec(), jpeg);
    eventually("the second upload is unstaged", async || {
        staged_files(&app).await == 0
    })
    .await;
}

#[tokio::test]
async fn a_refused_replacement_leaves_the_image_as_it_was() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let id = create_with_image(&app, &admin, "KEEP-1", image_bytes(ImageFormat::Png), "image/png").await;
    let before = wait_settled(&app, &admin, &id).await;
    assert_eq!(before["image"]["status"], "ready");
    eventually("the upload is unstaged", async || staged_files(&app).await == 0).await;
    let files = media_files(&app);

    let png = image_bytes(ImageFormat::Png);
    let mut huge = png.clone();
    huge.resize(app.config.max_image_bytes + 1, 0);
    let cases = [
        (
            b"hello, I am text".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            png[..png.len() / 2].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
        ),
        (huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    ];
    for (bytes, status, code) in cases {
        let form = Form::new().part("image", image_part(bytes, "cat.png", "image/png"));
        assert_error(replace_image(&app, &admin, &id, form).await, status, code).await;
    }
    // Nothing to retry either: the image is ready and nothing is staged.
    let retry = retry_image(&app, &admin, &id).await;
    assert_error(retry, StatusCode::CONFLICT, "nothing_to_retry").await;

    let after: Value = app
        .get(&format!("/api/products/{id}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(after["image"], before["image"]);
    assert_eq!(staged_files(&app).await, 0);
    assert_eq!(media_files(&app), files);
}

/// Stages `bytes` and marks the product's image `pending` for `upload_id`, as the API does,
/// without sending the command (the test hands it to a handler itself).
pub async fn stage_pending(app: &TestApp, product_id: &str, upload_id: &str, bytes: Option<&[u8]>) -> String {
    let staged_id = match bytes {
        Some(bytes) => app.store.stage_image(bytes, ImageType::Png).await.expect("stage"),
        // Never staged: the worker finds nothing under the id.
        None => uuid::Uuid::now_v7().to_string(),
    };
    let set = doc! {
        "image.status": "pending", "image.staged_id": &staged_id, "image.upload_id": upload_id,
        "image.content_type": "image/png", "image.width": 16_i64, "image.height": 9_i64,
    };
    app.store
        .products()
        .update_one(doc! {"_id": product_id}, doc! {"$set": set})
        .await
        .expect("update");
    staged_id
}

pub fn command(product_id: &str, upload_id: &str, staged_id: &str) -> Envelope<ImageCommand> {
    Envelope::new(
        product_id,
        "test",
        ImageCommand::UploadProductImage {
            product_id: ProductId::parse(product_id).expect("product id"),
            upload_id: upload_id.to_string(),
            staged_id: staged_id.to_string(),
            content_type: ImageType::Png,
        },
    )
}

pub fn handler(app: &TestApp, images: Arc<dyn ImageStore>) -> ImageHandler {
    ImageHandler {
        store: app.store.clone(),
        broker: app.broker.clone(),
        images,
        retry: RetryPolicy {
            initial_interval: Duration::from_millis(50),
            max_interval: Duration::from_millis(200),
            max_elapsed: Duration::from_secs(1),
        },
        shutdown: CancellationToken::new(),
    }
}

#[tokio::test]
async fn a_superseded_or_repeated_upload_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.create_product(&admin, "IDEM-1", 100, 1).await;
    let id = product["id"].as_str().expect("id");
    let staged = stage_pending(&app, id, "current", Some(&image_bytes(ImageFormat::Png))).await;
    let worker = handler(&app, Arc::new(LocalStore::new(app.config.media_dir.clone())));

    let sent = worker
        .handle(&command(id, "older", &staged))
        .await
        .expect("a superseded upload is acked");
    assert!(sent.is_empty(), "a superseded upload announces nothing");
    assert_eq!(
        app.product(id).await.image.status,
        oms_platform::store::ImageStatus::Pending
    );
    assert!(media_files(&app).is_empty());
    assert!(
        staged_files(&app).await > 0,
        "the current upload still needs its blob"
    );

    let current = command(id, "current", &staged);
    let announced = worker.handle(&current).await.expect("the current upload");
    assert_eq!(announced.len(), 1, "ProductImageReady");
    let ready = app.product(id).await.image;
    assert_eq!(ready.status, oms_platform::store::ImageStatus::Ready);
    assert_eq!(staged_files(&app).await, 0);

    let again = worker.handle(&current).await.expect("a redelivery is acked");
    assert_eq!(again.len(), 1, "a redelivery announces the image again");
    assert_eq!(again[0].routing_key, announced[0].routing_key);
    let again = app.product(id).await.image;
    assert_eq!((again.url, again.store_id), (ready.url, ready.store_id));
    assert_eq!(media_files(&app).len(), 1, "a redelivery stores nothing new");
}

#[tokio::test]
async fn a_missing_staged_file_fails_and_asks_for_a_new_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.create_product(&admin, "GONE-1", 100, 1).await;
    let id = product["id"].as_str().expect("id");
    let staged = stage_pending(&app, id, "u1", None).await;
    let worker = handler(&app, Arc::new(LocalStore::new(app.config.media_dir.clone())));

    worker
        .handle(&command(id, "u1", &staged))
        .await
        .expect("recorded, not retried");
    let product = wait_settled(&app, &admin, id).await;
    assert_eq!(product["image"]["status"], "failed");
    let reason = product["image"]["error"].as_str().expect("reason");
    assert!(reason.contains("upload the image again"), "{reason}");

    // With no staged file left, a retry needs a new file.
    let retry = retry_image(&app, &admin, id).await;
    assert_error(retry, StatusCode::CONFLICT, "nothing_to_retry").await;
}

#[tokio::test]
async fn an_upload_the_broker_cannot_take_is_failed_at_once_and_a_retry_sends_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    // The commands exchange is gone: the API's confirmed publish of the upload fails, as it
    // does when the broker is away.
    app.management
        .delete_exchange(&app.vhost, oms_contracts::routing::COMMANDS_EXCHANGE)
        .await;
    let form = product_form("NODISPATCH", "Lamp", 1999, 3).part(
        "image",
        image_part(image_bytes(ImageFormat::Png), "photo.png", "image/png"),
    );
    let response = app
        .post_multipart("/api/products", Some(&admin.access_token), form)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let product: Value = response.json().await.expect("product JSON");
    assert_eq!(product["image"]["status"], "failed", "{product}");
    // Not left `pending` with nobody working on it: failed, saying why, ready for a retry.
    assert!(
        product["image"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("retry")),
        "{product}"
    );
    let id = product["id"].as_str().expect("id").to_string();

    // The exchange is back (as every process declares it when it connects): a retry goes through.
    let connection = lapin::Connection::connect(
        secrecy::ExposeSecret::expose_secret(&app.config.amqp_url),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("connect");
    oms_platform::broker::declare_topology(&connection, app.config.partitions, None)
        .await
        .expect("topology");
    let _ = connection.close(200, "done".into()).await;
    let response = retry_image(&app, &admin, &id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let retried: Value = response.json().await.expect("product JSON");
    assert_eq!(retried["image"]["status"], "pending", "{retried}");
    let settled = wait_settled(&app, &admin, &id).await;
    assert_eq!(settled["image"]["status"], "ready", "{settled}");
}

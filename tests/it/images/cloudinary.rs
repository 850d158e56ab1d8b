//! Product images stored in Cloudinary, against the stand-in: signed uploads, retries of
//! server errors and rate limits, refusals recorded without retrying, destroy on replacement,
//! and an outage longer than the retry budget.

use std::collections::BTreeSet;
use std::sync::Arc;

use image::ImageFormat;
use oms_platform::config::CloudinaryConfig;
use oms_platform::store::ImageStatus;
use oms_workers::consumer::{HandleError, Handler};
use oms_workers::images::{CloudinaryStore, GAVE_UP_REASON};
use reqwest::StatusCode;
use reqwest::multipart::Form;

use super::standin::{API_KEY, API_SECRET, CLOUD, Fault, StandIn, expected_signature};
use super::{
    command, create_with_image, eventually, handler, replace_image, retry_image, stage_pending, staged_files,
    wait_for_product, wait_settled,
};
use crate::helpers::{TestApp, image_bytes, image_part};

async fn spawn_with(standin: &StandIn) -> TestApp {
    let env = standin.env();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::spawn_with(&vars).await
}

fn statuses(standin: &StandIn, action: &str) -> Vec<u16> {
    standin.seen(action).iter().map(|s| s.status).collect()
}

#[tokio::test]
async fn an_upload_becomes_ready_with_cloudinarys_secure_url() {
    let standin = StandIn::start().await;
    let app = spawn_with(&standin).await;
    let admin = app.admin().await;
    let png = image_bytes(ImageFormat::Png);
    let id = create_with_image(&app, &admin, "CLD-1", png.clone(), "image/png").await;

    let product = wait_settled(&app, &admin, &id).await;
    assert_eq!(product["image"]["status"], "ready", "{product}");
    assert_eq!(
        (
            product["image"]["width"].as_u64(),
            product["image"]["height"].as_u64()
        ),
        (Some(16), Some(9))
    );

    let uploads = standin.seen("upload");
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(upload.status, 200);
    let fields: BTreeSet<&str> = upload.fields.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["api_key", "folder", "public_id", "signature", "timestamp"])
    );
    assert_eq!(upload.fields["api_key"], API_KEY);
    assert_eq!(
        upload.fields["signature"],
        expected_signature(&upload.fields, API_SECRET).0
    );
    assert_eq!(upload.file.as_deref(), Some(png.as_slice()));
    assert_eq!(upload.file_content_type.as_deref(), Some("image/png"));

    let public_id = format!("{}/{}", upload.fields["folder"], upload.fields["public_id"]);
    let url = product["image"]["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("https://res.cloudinary.com/{CLOUD}/image/upload/v")),
        "{url}"
    );
    assert!(url.ends_with(&format!("/{public_id}.png")), "{url}");
    assert!(!url.contains(&id), "public ids are not derived from product ids");
    assert_eq!(
        app.product(&id).await.image.store_id.as_deref(),
        Some(public_id.as_str())
    );
    assert_eq!(standin.stored(&public_id), Some(png));
    eventually("the staged blob is deleted", async || {
        staged_files(&app).await == 0
    })
    .await;
}

#[tokio::test]
async fn two_server_errors_then_success_end_ready() {
    let standin = StandIn::start().await;
    standin.fail_next(&[Fault::ServerError, Fault::ServerError]);
    let app = spawn_with(&standin).await;
    let admin = app.admin().await;
    let id = create_with_image(
        &app,
        &admin,
        "CLD-500",
        image_bytes(ImageFormat::Jpeg),
        "image/jpeg",
    )
    .await;

    let product = wait_settled(&app, &admin, &id).await;
    assert_eq!(product["image"]["status"], "ready", "{product}");
    assert_eq!(statuses(&standin, "upload"), [500, 500, 200]);
    eventually("the staged blob is deleted", async || {
        staged_files(&app).await == 0
    })
    .await;
}

#[tokio::test]
async fn a_rate_limited_upload_is_retried() {
    let standin = StandIn::start().await;
    standin.fail_next(&[Fault::RateLimited]);
    let app = spawn_with(&standin).await;
    let admin = app.admin().await;
    let id = create_with_image(
        &app,
        &admin,
        "CLD-429",
        image_bytes(ImageFormat::WebP),
        "image/webp",
    )
    .await;

    let product = wait_settled(&app, &admin, &id).await;
    assert_eq!(product["image"]["status"], "ready", "{product}");
    assert_eq!(statuses(&standin, "upload"), [429, 200]);
}

#[tokio::test]
async fn an_unauthorized_upload_fails_without_retries_and_can_be_retried_later() {
    let standin = StandIn::start().await;
    standin.fail_always(Fault::Unauthorized);
    let app = spawn_with(&standin).await;
    let admin = app.admin().await;
    let id = create_with_image(
        &app,
        &admin,
        "CLD-401",
        image_bytes(ImageFormat::Png),
        "image/png",
    )
    .await;

    let product = wait_settled(&app, &admin, &id).await;
    assert_eq!(product["image"]["status"], "failed", "{product}");
    let reason = product["image"]["error"].as_str().expect("reason");
    assert!(
        reason.contains("Invalid credentials") && reason.contains("401"),
        "{reason}"
    );
    assert_eq!(statuses(&standin, "upload"), [401], "a refusal is not retried");
    // The staged file stays, so the admin can retry without sending it again.
    assert!(app.product(&id).await.image.staged_id.is_some());
    assert!(staged_files(&app).await > 0);

    standin.recover();
    let response = retry_image(&app, &admin, &id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let product = wait_settled(&app, &admin, &id).await;
    assert_eq!(product["image"]["status"], "ready", "{product}");
    assert!(product["image"]["error"].is_null());
    assert_eq!(statuses(&standin, "upload"), [401, 200]);
    eventually("the staged blob is deleted", async || {
        staged_files(&app).await == 0
    })
    .await;
}

#[tokio::test]
async fn replacing_an_image_destroys_the_old_one() {
    let standin = StandIn::start().await;
    let app = spawn_with(&standin).await;
    let admin = app.admin().await;
    let id = create_with_image(
        &app,
        &admin,
        "CLD-REPL",
        image_bytes(ImageFormat::Png),
        "image/png",
    )
    .await;
    let first = wait_settled(&app, &admin, &id).await;
    assert_eq!(first["image"]["status"], "ready", "{first}");
    let old_id = app.product(&id).await.image.store_id.expect("store id");

    let webp = image_bytes(ImageFormat::WebP);
    let form = Form::new().part("image", image_part(webp.clone(), "new.webp", "image/webp"));
    assert_eq!(
        replace_image(&app, &admin, &id, form).await.status(),
        StatusCode::ACCEPTED
    );
    let second = wait_for_product(&app, &admin, &id, |p| {
        p["image"]["status"] == "ready" && p["image"]["url"] != first["image"]["url"]
    })
    .await;
    assert!(
        second["image"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(".webp")),
        "{second}"
    );

    eventually("the old image is destroyed", async || {
        !standin.seen("destroy").is_empty()
    })
    .await;
    let destroys = standin.seen("destroy");
    assert_eq!(destroys.len(), 1);
    assert_eq!(destroys[0].status, 200);
    assert_eq!(destroys[0].fields["public_id"], old_id);
    assert_eq!(
        destroys[0].fields["signature"],
        expected_signature(&destroys[0].fields, API_SECRET).0
    );
    assert_eq!(standin.stored(&old_id), None);
    let new_id = app.product(&id).await.image.store_id.expect("store id");
    assert_eq!(standin.stored(&new_id), Some(webp));
}

#[tokio::test]
async fn an_outage_longer_than_the_retry_budget_fails_the_upload_for_the_dead_letters() {
    let standin = StandIn::start().await;
    standin.fail_always(Fault::ServerError);
    // The app's own workers use the local store; the handler under test uses the stand-in
    // with a one-second retry budget.
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = app.create_product(&admin, "CLD-DOWN", 100, 1).await;
    let id = product["id"].as_str().expect("id");
    let staged = stage_pending(&app, id, "u1", Some(&image_bytes(ImageFormat::Png))).await;
    let cloudinary = CloudinaryStore::new(CloudinaryConfig {
        cloud_name: CLOUD.to_string(),
        api_key: API_KEY.to_string(),
        api_secret: API_SECRET.to_string().into(),
        api_base: standin.base.clone(),
    })
    .expect("client");
    let worker = handler(&app, Arc::new(cloudinary));

    let result = worker.handle(&command(id, "u1", &staged)).await;
    let Err(HandleError::Permanent(reason)) = result else {
        panic!("expected a permanent failure (dead-lettered), got {result:?}");
    };
    assert!(reason.contains("did not answer"), "{reason}");
    let uploads = statuses(&standin, "upload");
    assert!(
        uploads.len() >= 2 && uploads.iter().all(|s| *s == 500),
        "{uploads:?}"
    );
    let image = app.product(id).await.image;
    assert_eq!(image.status, ImageStatus::Failed);
    assert_eq!(image.error.as_deref(), Some(GAVE_UP_REASON));
    assert_eq!(
        image.staged_id.as_deref(),
        Some(staged.as_str()),
        "kept for a retry"
    );

    // The admin retries; this time the app's own image worker takes it.
    let response = retry_image(&app, &admin, id).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let product = wait_settled(&app, &admin, id).await;
    assert_eq!(product["image"]["status"], "ready", "{product}");
    eventually("the staged blob is deleted", async || {
        staged_files(&app).await == 0
    })
    .await;
}

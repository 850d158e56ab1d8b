//! A stand-in for Cloudinary's upload API (Cloudinary cannot be reached from the test machines).
//! It checks each request as Cloudinary documents it — the path, the multipart fields, the API
//! key, a fresh timestamp and the SHA-1 signature of the sorted parameters — and answers with
//! Cloudinary's response and error shapes. A test can script failures (5xx, 429, 401) ahead of
//! the real answer, and reads back every request it saw.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use sha1::{Digest, Sha1};
use tokio_util::sync::CancellationToken;

pub const CLOUD: &str = "demo";
pub const API_KEY: &str = "key";
pub const API_SECRET: &str = "secret";

/// A scripted answer, given instead of the real one.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    ServerError,
    RateLimited,
    Unauthorized,
}

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub action: String,
    pub fields: HashMap<String, String>,
    pub file: Option<Vec<u8>>,
    pub file_content_type: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    faults: VecDeque<Fault>,
    /// Faults given on every request (an outage).
    always: Option<Fault>,
    seen: Vec<Seen>,
    /// public_id → bytes.
    stored: HashMap<String, Vec<u8>>,
    version: u64,
}

pub struct StandIn {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    shutdown: CancellationToken,
}

impl StandIn {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            version: 1_700_000_000,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1_1/{cloud}/image/{action}", post(endpoint))
            .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the stand-in");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Self {
            base,
            inner,
            shutdown,
        }
    }

    /// The variables that point OMS at this stand-in.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("OMS_IMAGE_STORE", "cloudinary".to_string()),
            (
                "CLOUDINARY_URL",
                format!("cloudinary://{API_KEY}:{API_SECRET}@{CLOUD}"),
            ),
            ("CLOUDINARY_API_BASE", self.base.clone()),
        ]
    }

    pub fn fail_next(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().copied());
    }

    /// Every request fails with `fault` until [`StandIn::recover`].
    pub fn fail_always(&self, fault: Fault) {
        self.lock().always = Some(fault);
    }

    pub fn recover(&self) {
        self.lock().always = None;
    }

    pub fn seen(&self, action: &str) -> Vec<Seen> {
        self.lock()
            .seen
            .iter()
            .filter(|s| s.action == action)
            .cloned()
            .collect()
    }

    pub fn stored(&self, public_id: &str) -> Option<Vec<u8>> {
        self.lock().stored.get(public_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("stand-in state")
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Cloudinary's error shape.
fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"message": message}}))).into_response()
}

/// The signature as Cloudinary documents it: every parameter but `file`, `cloud_name`,
/// `resource_type`, `api_key` (and the signature itself), sorted, `k=v` joined by `&`, then
/// the secret; SHA-1, hex.
pub fn expected_signature(fields: &HashMap<String, String>, secret: &str) -> (String, String) {
    let mut keys: Vec<&String> = fields
        .keys()
        .filter(|k| !["file", "cloud_name", "resource_type", "api_key", "signature"].contains(&k.as_str()))
        .collect();
    keys.sort();
    let to_sign = keys
        .iter()
        .map(|k| format!("{k}={}", fields[*k]))
        .collect::<Vec<_>>()
        .join("&");
    let digest = Sha1::digest(format!("{to_sign}{secret}").as_bytes());
    (hex::encode(digest), to_sign)
}

async fn endpoint(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((cloud, action)): Path<(String, String)>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let mut seen = Seen {
        action: action.clone(),
        fields: HashMap::new(),
        file: None,
        file_content_type: None,
        status: 0,
    };
    let response = match multipart {
        Ok(multipart) => match read_fields(multipart, &mut seen).await {
            Ok(()) => answer(&inner, &cloud, &action, &seen),
            Err(message) => error(StatusCode::BAD_REQUEST, &message),
        },
        Err(_) => error(StatusCode::BAD_REQUEST, "Expected a multipart/form-data body"),
    };
    seen.status = response.status().as_u16();
    inner.lock().expect("stand-in state").seen.push(seen);
    response
}

async fn read_fields(mut multipart: Multipart, seen: &mut Seen) -> Result<(), String> {
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            seen.file_content_type = field.content_type().map(str::to_string);
            seen.file = Some(field.bytes().await.map_err(|e| e.body_text())?.to_vec());
        } else {
            let value = field.text().await.map_err(|e| e.body_text())?;
            if seen.fields.insert(name.clone(), value).is_some() {
                return Err(format!("Duplicate parameter {name}"));
            }
        }
    }
    Ok(())
}

/// Checks the request the way Cloudinary does, then gives a scripted fault or the real answer.
fn answer(inner: &Mutex<Inner>, cloud: &str, action: &str, seen: &Seen) -> Response {
    if cloud != CLOUD {
        return error(StatusCode::NOT_FOUND, &format!("Invalid cloud_name {cloud}"));
    }
    let fields = &seen.fields;
    match fields.get("api_key").map(String::as_str) {
        None => return error(StatusCode::BAD_REQUEST, "Must supply api_key"),
        Some(API_KEY) => {}
        Some(other) => return error(StatusCode::UNAUTHORIZED, &format!("Unknown API key {other}")),
    }
    let Some(timestamp) = fields.get("timestamp") else {
        return error(StatusCode::BAD_REQUEST, "Missing required parameter - timestamp");
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 3600);
    if !fresh {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Stale request - reported time is {timestamp} which is more than 1 hour ago"),
        );
    }
    let Some(signature) = fields.get("signature") else {
        return error(StatusCode::BAD_REQUEST, "Missing required parameter - signature");
    };
    let (expected, to_sign) = expected_signature(fields, API_SECRET);
    if *signature != expected {
        return error(
            StatusCode::UNAUTHORIZED,
            &format!("Invalid Signature {signature}. String to sign - '{to_sign}'."),
        );
    }
    let mut inner = inner.lock().expect("stand-in state");
    if let Some(fault) = inner.faults.pop_front().or(inner.always) {
        return match fault {
            Fault::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "General Error"),
            Fault::RateLimited => error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate Limit Exceeded. Try again later.",
            ),
            Fault::Unauthorized => error(StatusCode::UNAUTHORIZED, "Invalid credentials"),
        };
    }
    match action {
        "upload" => upload(&mut inner, seen),
        "destroy" => {
            let Some(public_id) = fields.get("public_id") else {
                return error(StatusCode::BAD_REQUEST, "Missing required parameter - public_id");
            };
            let result = if inner.stored.remove(public_id).is_some() {
                "ok"
            } else {
                "not found"
            };
            axum::Json(json!({"result": result})).into_response()
        }
        other => error(StatusCode::NOT_FOUND, &format!("Unknown action {other}")),
    }
}

fn upload(inner: &mut Inner, seen: &Seen) -> Response {
    let Some(file) = &seen.file else {
        return error(StatusCode::BAD_REQUEST, "Missing required parameter - file");
    };
    let Ok(decoded) = image::load_from_memory(file) else {
        return error(StatusCode::BAD_REQUEST, "Invalid image file");
    };
    let format = match image::guess_format(file) {
        Ok(image::ImageFormat::Png) => "png",
        Ok(image::ImageFormat::Jpeg) => "jpg",
        Ok(image::ImageFormat::WebP) => "webp",
        _ => return error(StatusCode::BAD_REQUEST, "Invalid image file"),
    };
    let fields = &seen.fields;
    let name = fields
        .get("public_id")
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    // Classic folders: the folder becomes part of the public id.
    let public_id = match fields.get("folder") {
        Some(folder) => format!("{folder}/{name}"),
        None => name,
    };
    inner.version += 1;
    let version = inner.version;
    inner.stored.insert(public_id.clone(), file.clone());
    let path = format!("{CLOUD}/image/upload/v{version}/{public_id}.{format}");
    axum::Json(json!({
        "asset_id": uuid::Uuid::new_v4().simple().to_string(),
        "public_id": public_id,
        "version": version,
        "signature": hex::encode(Sha1::digest(public_id.as_bytes())),
        "width": decoded.width(),
        "height": decoded.height(),
        "format": format,
        "resource_type": "image",
        "created_at": chrono::Utc::now().to_rfc3339(),
        "bytes": file.len(),
        "type": "upload",
        "url": format!("http://res.cloudinary.com/{path}"),
        "secure_url": format!("https://res.cloudinary.com/{path}"),
    }))
    .into_response()
}

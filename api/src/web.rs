//! The router: every resource's routes merged in one place, the fallbacks that answer in
//! the error envelope, the SPA and media files, and the middleware every request passes
//! (request id, tracing span, security headers, CORS, body limit).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, Uri, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::ApiError;
use crate::openapi;
use crate::state::AppState;

/// Bodies of JSON routes are small; 10 MB of JSON is refused before it is read.
const JSON_BODY_LIMIT: usize = 64 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    // Every route with its documentation (see `openapi`); below only the fallbacks.
    let api = Router::from(openapi::routes(config.max_image_bytes))
        // Only matched routes are measured, by their template: labels stay bounded.
        .route_layer(axum::middleware::from_fn(crate::metrics::record))
        .route("/api", get(api_not_found))
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .put(api_not_found)
                .patch(api_not_found)
                .delete(api_not_found),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);

    let media = Router::new().nest_service(
        "/media",
        ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ))
            .service(ServeDir::new(&config.media_dir)),
    );

    let index = config.client_dir.join("index.html");
    let app = if index.exists() {
        api.merge(media)
            .fallback_service(ServeDir::new(&config.client_dir).fallback(ServeFile::new(index)))
    } else {
        api.merge(media).fallback(placeholder)
    };

    with_security_headers(app.layer(cors(&config.cors_origins)))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(make_span)
                        .on_request(())
                        .on_response(on_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone())),
        )
}

/// One span per request with its id; the path is logged without its query string, which
/// may carry an access token (SSE).
fn make_span(request: &Request<Body>) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        route = %route,
    )
}

fn on_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, latency_ms = ms, "response");
    } else {
        tracing::debug!(status, latency_ms = ms, "response");
    }
}

/// Headers every response carries unless a handler set its own.
fn with_security_headers(router: Router) -> Router {
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::LOCATION, REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600))
}

async fn api_not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Until the SPA is built (`client/`), `/` says so instead of a bare 404.
async fn placeholder(uri: Uri) -> impl IntoResponse {
    if uri.path() == "/" || uri.path() == "/index.html" {
        Html(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>OMS</title></head>\
             <body><h1>OMS</h1><p>The API is running. The web client has not been built yet \
             (<code>client/</code>); the API is under <code>/api</code>, health at <code>/healthz</code>.</p>\
             </body></html>",
        )
        .into_response()
    } else {
        ApiError::NotFound(format!("nothing at {}", uri.path())).into_response()
    }
}

//! The OpenAPI 3.1 document of the API, generated from the code. Every route is registered with
//! [`utoipa_axum::routes!`], which takes the path and methods from the handler's `#[utoipa::path]`:
//! the router and the document come from the same attribute, so they cannot disagree.
//! Served at `GET /api/openapi.json`; `oms openapi` prints it (into `client/openapi.json`).

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ErrorBody, responses};
use crate::state::AppState;
use crate::{analytics, auth, health, metrics, notifications, ops, orders, products, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "OMS API",
        description = "Orders and inventory. JSON in and out; ids are strings; times are RFC 3339 UTC; \
            money is `{amount, currency}` in minor units. Every error is the `ErrorBody` envelope. \
            Any route may also answer 500 `internal_error` (a fault on our side, logged; the message \
            says nothing more)."
    ),
    modifiers(&Security),
    components(
        schemas(ErrorBody, orders::events::OrderEventOut),
        responses(
            responses::BadRequest,
            responses::Unauthenticated,
            responses::Forbidden,
            responses::NotFound,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::Invalid,
            responses::RateLimited,
            responses::Unavailable,
        )
    ),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "products", description = "The catalogue, product images and stock"),
        (name = "orders", description = "Placing, reading, cancelling and moving orders"),
        (name = "events", description = "Live order events (server-sent events)"),
        (name = "ops", description = "Health, readiness and operations"),
        (name = "analytics", description = "Figures for admins, from the analytics read model"),
        (name = "notifications", description = "The caller's in-app notifications"),
        (name = "webhooks", description = "Webhook endpoints (admins) and their deliveries"),
    )
)]
struct ApiDoc;

/// How to present an access token: the `Authorization` header (event streams too: the SPA reads
/// them with fetch, so no token ever travels in a URL).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("`Authorization: Bearer <access token>`"))
                    .build(),
            ),
        );
    }
}

/// Every route of the API with its documentation. `max_image_bytes` sizes the upload routes'
/// body limit; it does not change the document.
pub fn routes(max_image_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(products::router(max_image_bytes))
        .merge(orders::router())
        .merge(ops::router())
        .merge(analytics::router())
        .merge(health::router())
        .merge(metrics::router())
        .merge(notifications::router())
        .merge(webhooks::router())
        .routes(routes!(openapi_json))
}

/// The document, built without any configuration or connection. It also carries, as
/// `x-currency-minor-units`, each accepted currency's ISO 4217 minor-unit exponent (the digits
/// after the decimal point): the one table the server and the client read money by.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = routes(0).into_openapi();
    let minor_units: serde_json::Map<String, serde_json::Value> = oms_contracts::domain::Currency::all()
        .map(|c| (c.as_str().to_string(), serde_json::Value::from(c.minor_units())))
        .collect();
    let mut extensions = document.extensions.take().unwrap_or_default();
    extensions.merge(
        [("x-currency-minor-units", serde_json::Value::Object(minor_units))]
            .into_iter()
            .collect(),
    );
    document.extensions = Some(extensions);
    document
}

/// The document as `oms openapi` writes it: pretty JSON with a final newline.
/// The constraints the parsers enforce are added here, from their constants (see `contract`).
pub fn document_json() -> String {
    let mut json = match serde_json::to_value(document()) {
        Ok(mut document) => {
            crate::contract::apply(&mut document);
            serde_json::to_string_pretty(&document)
                .unwrap_or_else(|err| format!("{{\"error\": \"unserialisable document: {err}\"}}"))
        }
        Err(err) => format!("{{\"error\": \"unserialisable document: {err}\"}}"),
    };
    json.push('\n');
    json
}

/// Computed once: the document depends on the code only.
static DOCUMENT: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(document_json()));

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    responses((status = 200, description = "The OpenAPI document of this API", body = Object))
)]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.clone())
}

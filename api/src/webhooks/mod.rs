//! Webhook endpoints, managed by admins: create (the secret is shown once, in the answer),
//! list, read, change, delete, rotate the secret (the old one signs beside the new for 24 h).
//! Their deliveries are in [`deliveries`].

pub mod deliveries;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mongodb::bson::{DateTime, doc};
use oms_contracts::WebhookId;
use oms_contracts::webhooks::WebhookEventType;
use oms_platform::store::webhooks::EndpointChange;
use oms_platform::store::{EndpointDoc, SecretDoc, to_chrono};
use oms_platform::webhooks::secrets::SealKey;
use oms_platform::webhooks::sign::generate_secret;
use oms_platform::webhooks::ssrf::{self, UrlPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminUser;
use crate::contract::{MAX_WEBHOOK_DESCRIPTION, MAX_WEBHOOK_URL};
use crate::error::{ApiError, ErrorBody, Fields, responses};
use crate::extract::ApiJson;
use crate::state::AppState;

/// How long a replaced secret keeps signing beside its successor.
const ROTATION_OVERLAP_MS: i64 = 24 * 3600 * 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries::list_deliveries))
        .routes(routes!(deliveries::retry_delivery))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// `https://` (plain `http://` only in dev); must not resolve to an internal address.
    url: String,
    /// The event types to receive (at least one).
    events: Vec<WebhookEventType>,
    description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    url: Option<String>,
    events: Option<Vec<WebhookEventType>>,
    description: Option<String>,
    /// `true` stops deliveries; `false` resumes them (and forgets past failures).
    disabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: String,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Why it is disabled (by an admin, or after failing every delivery for 5 days).
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Until when a replaced secret still signs beside the current one.
    pub previous_secret_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<EndpointDoc> for WebhookOut {
    fn from(e: EndpointDoc) -> Self {
        let now = DateTime::now();
        Self {
            previous_secret_expires_at: e
                .secrets
                .iter()
                .filter_map(|s| s.expires_at)
                .filter(|at| *at > now)
                .max()
                .map(to_chrono),
            id: e.id.to_string(),
            url: e.url,
            events: e.events,
            description: e.description,
            disabled: e.disabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(to_chrono),
            created_at: to_chrono(e.created_at),
            updated_at: to_chrono(e.updated_at),
        }
    }
}

/// A new endpoint with its secret: the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_` + base64 of 32 random bytes. Keep it: it is never shown again.
    pub secret: String,
}

/// A rotated secret.
#[derive(Serialize, ToSchema)]
pub struct SecretOut {
    /// The new secret, shown once.
    pub secret: String,
    /// Until when the previous secret keeps signing beside it.
    pub previous_expires_at: chrono::DateTime<chrono::Utc>,
}

fn policy(state: &AppState) -> UrlPolicy {
    UrlPolicy::from_config(&state.config.webhooks)
}

fn seal_key(state: &AppState) -> Result<SealKey, ApiError> {
    SealKey::from_hex(&state.config.webhooks.secrets_key).map_err(|e| ApiError::Internal(e.into()))
}

/// The URL, if webhooks may go there (checked again at every delivery).
async fn parse_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if raw.chars().count() > MAX_WEBHOOK_URL {
        return Err(unsafe_url(format!(
            "must be at most {MAX_WEBHOOK_URL} characters"
        )));
    }
    ssrf::check(policy(state), raw)
        .await
        .map(|url| url.to_string())
        .map_err(|e| unsafe_url(e.to_string()))
}

fn unsafe_url(message: String) -> ApiError {
    ApiError::Invalid {
        code: "unsafe_url",
        field: "url".into(),
        message,
    }
}

fn parse_events(fields: &mut Fields, events: Vec<WebhookEventType>) -> Option<Vec<WebhookEventType>> {
    let mut unique: Vec<WebhookEventType> = Vec::new();
    for event in events {
        if !unique.contains(&event) {
            unique.push(event);
        }
    }
    if unique.is_empty() {
        fields.invalid("events", "validation_failed", "name at least one event type");
        return None;
    }
    Some(unique)
}

fn parse_description(fields: &mut Fields, description: Option<String>) -> Option<Option<String>> {
    let description = description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_WEBHOOK_DESCRIPTION)
    {
        fields.invalid(
            "description",
            "validation_failed",
            format!("must be at most {MAX_WEBHOOK_DESCRIPTION} characters"),
        );
        return None;
    }
    Some(description)
}

fn parse_id(raw: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(raw).map_err(|_| ApiError::not_found("webhook"))
}

async fn find_endpoint(state: &AppState, id: &WebhookId) -> Result<EndpointDoc, ApiError> {
    state
        .store
        .webhook_endpoint(id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))
}

/// Registers an endpoint; the answer carries its secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/webhooks",
    tag = "webhooks",
    request_body = WebhookIn,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookCreated),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, description = "Invalid; `unsafe_url` when the URL is not https or reaches an internal address", body = ErrorBody),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn create_webhook(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ApiJson(body): ApiJson<WebhookIn>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let mut fields = Fields::default();
    let url = fields.check(parse_url(&state, &body.url).await)?;
    let events = parse_events(&mut fields, body.events);
    let description = parse_description(&mut fields, body.description);
    let (url, events, description) = fields.finish(|| Some((url?, events?, description?)))?;
    let secret = generate_secret();
    let now = DateTime::now();
    let endpoint = EndpointDoc {
        id: WebhookId::new(),
        url,
        events,
        description,
        disabled: false,
        disabled_reason: None,
        secrets: vec![SecretDoc {
            sealed: seal_key(&state)?.seal(&secret),
            created_at: now,
            expires_at: None,
        }],
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    state.store.webhook_endpoints().insert_one(&endpoint).await?;
    tracing::info!(webhook_id = %endpoint.id, "webhook endpoint created");
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            webhook: endpoint.into(),
            secret,
        }),
    ))
}

/// Every endpoint, newest first (secrets are never shown again).
#[utoipa::path(
    get,
    path = "/api/webhooks",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The endpoints", body = Vec<WebhookOut>),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn list_webhooks(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
) -> Result<Json<Vec<WebhookOut>>, ApiError> {
    let endpoints = state.store.list_webhook_endpoints(1000).await?;
    Ok(Json(endpoints.into_iter().map(WebhookOut::from).collect()))
}

/// One endpoint.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The endpoint", body = WebhookOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn get_webhook(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    Ok(Json(find_endpoint(&state, &parse_id(&id)?).await?.into()))
}

/// Changes an endpoint's URL, events, description, or whether it is disabled.
#[utoipa::path(
    patch,
    path = "/api/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = WebhookPatch,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The changed endpoint", body = WebhookOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, description = "Invalid; `unsafe_url` when the URL is not https or reaches an internal address", body = ErrorBody),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn update_webhook(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    let id = parse_id(&id)?;
    let mut fields = Fields::default();
    let mut change = EndpointChange {
        disabled: body.disabled,
        ..EndpointChange::default()
    };
    if let Some(url) = &body.url {
        change.url = fields.check(parse_url(&state, url).await)?;
    }
    if let Some(events) = body.events {
        change.events = parse_events(&mut fields, events);
    }
    if body.description.is_some() {
        change.description = parse_description(&mut fields, body.description);
    }
    fields.finish(|| Some(()))?;
    let updated = state
        .store
        .update_webhook_endpoint(&id, change)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(updated.into()))
}

/// Deletes an endpoint and its delivery log; nothing more is sent to it.
#[utoipa::path(
    delete,
    path = "/api/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn delete_webhook(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    if !state.store.delete_webhook_endpoint(&id).await? {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret; the current one keeps signing beside it for 24 hours.
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The new secret, shown once", body = SecretOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn rotate_secret(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
) -> Result<Json<SecretOut>, ApiError> {
    let id = parse_id(&id)?;
    let endpoint = find_endpoint(&state, &id).await?;
    let now = DateTime::now();
    let expires = DateTime::from_millis(now.timestamp_millis() + ROTATION_OVERLAP_MS);
    let secret = generate_secret();
    // Expired secrets go; the current ones (normally one) expire in 24 h; the new one is added.
    let mut secrets: Vec<SecretDoc> = endpoint
        .secrets
        .iter()
        .filter(|s| s.expires_at.is_none_or(|at| at > now))
        .cloned()
        .map(|mut s| {
            s.expires_at = Some(s.expires_at.map_or(expires, |at| at.min(expires)));
            s
        })
        .collect();
    secrets.push(SecretDoc {
        sealed: seal_key(&state)?.seal(&secret),
        created_at: now,
        expires_at: None,
    });
    if !state
        .store
        .replace_webhook_secrets(&endpoint, &secrets, now)
        .await?
    {
        return Err(ApiError::Conflict {
            code: "concurrent_change",
            message: "the endpoint changed meanwhile; rotate again".into(),
            field: None,
        });
    }
    tracing::info!(webhook_id = %id, "webhook secret rotated");
    Ok(Json(SecretOut {
        secret,
        previous_expires_at: to_chrono(expires),
    }))
}

//! The one API error type and its JSON envelope:
//! `{"error": {"code": "...", "message": "...", "field": "...", "details": [{"field", "code", "message"}]}}`.
//! `details` lists every invalid field of the request (`field` is the first of them), so a form can
//! show all its mistakes at once. Server-side failures are logged here, once, and reach the client
//! only as a generic message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oms_contracts::{Invalid, TransitionError};
use oms_platform::BrokerError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON (or not parseable at all).
    #[error("{0}")]
    Malformed(String),
    /// 400: a request that makes no sense on its own (e.g. a bad header).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 422: well-formed but invalid; names the field at fault.
    #[error("{field}: {message}")]
    Invalid {
        code: &'static str,
        field: String,
        message: String,
    },
    /// 422: several fields are invalid at once (never empty; see [`Fields`]).
    #[error("{}", describe_fields(.0))]
    InvalidFields(Vec<FieldError>),
    /// 401.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// 403.
    #[error("this action needs an administrator")]
    Forbidden,
    /// 404 (also for resources that exist but belong to someone else).
    #[error("{0}")]
    NotFound(String),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency is down and the request had no effect.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// 500: a bug or an unexpected failure; details go to the log only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Every error answer: `{"error": {"code", "message", "field", "details"}}`.
// The OpenAPI document's `ErrorBody` is derived from this very type, so it cannot drift.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub struct Envelope<'a> {
    error: Body<'a>,
}

/// The schema name of the error envelope, for `body = ErrorBody` in the route documentation.
pub type ErrorBody = Envelope<'static>;

/// What went wrong.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
pub struct Body<'a> {
    /// A stable `snake_case` code, e.g. `validation_failed`, `not_found`, `invalid_transition`.
    #[schema(example = "validation_failed")]
    code: &'a str,
    /// A sentence for people; its wording may change.
    message: String,
    /// The path of the field at fault (e.g. `items[0].quantity`), when one field is; with several,
    /// the first of `details`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field: Option<&'a str>,
    /// Every field at fault, each with its own code and message (present whenever `field` is).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    details: &'a [FieldError],
}

/// One invalid field of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's path, e.g. `price` or `items[0].quantity`.
    pub field: String,
    /// A stable `snake_case` code, e.g. `validation_failed`, `invalid_image`.
    pub code: &'static str,
    /// What is wrong with it, e.g. `must not be empty`; its wording may change.
    pub message: String,
}

fn describe_fields(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects the invalid fields of a request, so that one answer names all of them:
/// parse each field with [`Fields::parse`], then build the parsed value with [`Fields::finish`].
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// The parsed value, or `None` after recording why `field` is invalid.
    pub fn parse<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Option<T> {
        parsed
            .map_err(|e| self.invalid(field, "validation_failed", e.0))
            .ok()
    }

    /// Records that `field` is invalid.
    pub fn invalid(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            code,
            message: message.into(),
        });
    }

    /// Keeps the value of a step that may fail for one field (e.g. reading an image); any other
    /// error ends the request at once.
    pub fn check<T>(&mut self, result: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Invalid { code, field, message }) => {
                self.0.push(FieldError { field, code, message });
                Ok(None)
            }
            Err(ApiError::InvalidFields(fields)) => {
                self.0.extend(fields);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Err` naming every invalid field, or what `build` makes of the parsed fields.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::InvalidFields(self.0));
        }
        build().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a field failed without saying why")))
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, invalid: Invalid) -> Self {
        ApiError::Invalid {
            code: "validation_failed",
            field: field.into(),
            message: invalid.0,
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("no such {what}"))
    }

    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthenticated {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } | ApiError::InvalidFields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed_request",
            ApiError::BadRequest { code, .. }
            | ApiError::Invalid { code, .. }
            | ApiError::Unauthenticated { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::InvalidFields(fields) => fields.first().map_or("validation_failed", |f| f.code),
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// Every field at fault (empty when the error is not about fields).
    pub fn details(&self) -> Vec<FieldError> {
        match self {
            ApiError::Invalid { code, field, message } => vec![FieldError {
                field: field.clone(),
                code,
                message: message.clone(),
            }],
            ApiError::InvalidFields(fields) => fields.clone(),
            ApiError::Conflict {
                code,
                field: Some(field),
                message,
            } => vec![FieldError {
                field: field.clone(),
                code,
                message: message.clone(),
            }],
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(err) => {
                tracing::error!(error = ?err, "request failed");
                "something went wrong on our side; the request may be retried".to_string()
            }
            ApiError::Unavailable(what) => {
                tracing::warn!(dependency = what, "request refused: dependency unavailable");
                format!("{what} is unavailable; the request had no effect, retry later")
            }
            other => other.to_string(),
        };
        let details = self.details();
        let body = Envelope {
            error: Body {
                code: self.code(),
                message,
                field: details.first().map(|d| d.field.as_str()),
                details: &details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        match &self {
            ApiError::RateLimited { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Unauthenticated { .. } => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<mongodb::error::Error> for ApiError {
    fn from(err: mongodb::error::Error) -> Self {
        if oms_platform::store::is_transient(&err) {
            tracing::warn!(error = %err, "store error");
            ApiError::Unavailable("the store")
        } else {
            ApiError::Internal(anyhow::Error::new(err).context("store operation failed"))
        }
    }
}

impl From<BrokerError> for ApiError {
    fn from(err: BrokerError) -> Self {
        match err {
            BrokerError::Unroutable(_) => ApiError::Internal(anyhow::Error::new(err)),
            other => {
                tracing::warn!(error = %other, "broker error");
                ApiError::Unavailable("the message broker")
            }
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(err: TransitionError) -> Self {
        ApiError::Conflict {
            code: "invalid_transition",
            message: err.to_string(),
            field: Some("status".to_string()),
        }
    }
}

/// Maps a duplicate-key error to a 409 with `code`, anything else through `From`.
pub fn conflict_on_duplicate(
    err: mongodb::error::Error,
    code: &'static str,
    message: &str,
    field: &str,
) -> ApiError {
    if oms_platform::store::is_duplicate_key(&err) {
        ApiError::Conflict {
            code,
            message: message.to_string(),
            field: Some(field.to_string()),
        }
    } else {
        err.into()
    }
}

/// The error answers shared by many routes, as reusable responses (`#/components/responses/...`).
/// Route-specific ones (a 409 with its own code) are written at the route.
pub mod responses {
    use utoipa::ToResponse;

    use super::ErrorBody;

    /// Malformed: the body is not valid JSON, or a header is invalid (`malformed_request`,
    /// `invalid_idempotency_key`).
    #[derive(ToResponse)]
    pub struct BadRequest(pub ErrorBody);

    /// Not signed in, or the access token is invalid or expired (`unauthenticated`, `invalid_token`).
    #[derive(ToResponse)]
    #[response(headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    pub struct Unauthenticated(pub ErrorBody);

    /// Signed in, but this needs an administrator (`forbidden`).
    #[derive(ToResponse)]
    pub struct Forbidden(pub ErrorBody);

    /// No such resource, or one the caller may not see (`not_found`).
    #[derive(ToResponse)]
    pub struct NotFound(pub ErrorBody);

    /// The body is too large (`payload_too_large`).
    #[derive(ToResponse)]
    pub struct PayloadTooLarge(pub ErrorBody);

    /// The body is not of the expected media type (`unsupported_media_type`).
    #[derive(ToResponse)]
    pub struct UnsupportedMediaType(pub ErrorBody);

    /// Well-formed but invalid; `details` names every field or parameter at fault, `field` the
    /// first (`validation_failed`, `invalid_body`, `invalid_query`, `unknown_field`, ...).
    #[derive(ToResponse)]
    pub struct Invalid(pub ErrorBody);

    /// Too many attempts (`rate_limited`).
    #[derive(ToResponse)]
    #[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying")))]
    pub struct RateLimited(pub ErrorBody);

    /// The store or the message broker is unavailable; the request had no effect and may be
    /// retried (`service_unavailable`).
    #[derive(ToResponse)]
    #[response(headers(("Retry-After" = u64, description = "Seconds to wait before retrying")))]
    pub struct Unavailable(pub ErrorBody);
}

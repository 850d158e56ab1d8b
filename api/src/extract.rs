//! Our own extractors, so that every malformed request is answered in the error envelope:
//! JSON bodies (400 unparseable, 415 not JSON, 413 too large, 422 wrong shape with the
//! field's path) and query strings (422 with the parameter's name).

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use oms_contracts::domain::IdempotencyKey;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body parsed into `T` (whose fields say `deny_unknown_fields`).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

pub(crate) fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the request body is too large".into())
    } else {
        ApiError::Malformed("the request body could not be read".into())
    }
}

/// Parses JSON, telling syntax errors (400) from shape errors (422, with the path).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::Malformed(format!("the body is not valid JSON: {e}")))?;
    // Every body is an object: serde would read a struct from an array, field by position.
    if !json.is_object() {
        return Err(ApiError::Invalid {
            code: "invalid_body",
            field: String::new(),
            message: "the body must be a JSON object".into(),
        });
    }
    // JSON has one number type: `67.0` is the whole number 67.
    integral_floats_as_integers(&mut json);
    let value = serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::Malformed(format!("the body is not valid JSON: {inner}"))
            }
            serde_json::error::Category::Data => {
                let (field, message) = shape_error(if path == "." { "" } else { &path }, &inner);
                ApiError::Invalid {
                    code: "invalid_body",
                    field,
                    message,
                }
            }
        }
    })?;
    Ok(value)
}

/// Rewrites every number written with a fraction of zero (`67.0`, `1e3`) as an integer, so that
/// integer fields accept it; other numbers stay as they are.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// The field at fault and what is wrong with it, in words a form can show: serde's message
/// without its " at line 1 column 17" suffix, and without Rust's type names.
fn shape_error(path: &str, err: &serde_json::Error) -> (String, String) {
    let text = err.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    // The path names the unknown field itself; a missing one is named by its parent only.
    let child = |name: &str| {
        if path.is_empty() {
            name.to_string()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |rest: &str| rest.split('`').nth(1).map(str::to_string);
    if let Some(name) = text.strip_prefix("missing field ").and_then(quoted) {
        return (child(&name), "is required".into());
    }
    if let Some(name) = text.strip_prefix("unknown field ").and_then(quoted) {
        return (child(&name), "is not a field of this request".into());
    }
    if let Some((_, expected)) = text.rsplit_once(", expected ")
        && (text.starts_with("invalid type") || text.starts_with("invalid value"))
    {
        let wanted = match expected {
            "i64" | "i32" | "u64" | "u32" | "u16" | "u8" | "i16" | "usize" => "a whole number",
            "a string" => "text",
            "a boolean" => "true or false",
            "a sequence" => "a list",
            other => other,
        };
        return (path.to_string(), format!("must be {wanted}"));
    }
    (path.to_string(), text.to_string())
}

/// A query string parsed into `T`.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|err| {
            let field = err.path().to_string();
            ApiError::Invalid {
                code: "invalid_query",
                field,
                message: err.into_inner().to_string(),
            }
        })
    }
}

/// The request's id (set or propagated by the request-id middleware), to carry into the
/// messages the request causes.
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Ok(RequestId(id))
    }
}

/// The request's `Idempotency-Key` header, if it has one; a malformed one is a 400
/// `invalid_idempotency_key`.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|raw| IdempotencyKey::parse(raw).ok())
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: format!(
                "Idempotency-Key must be 1 to {} visible ASCII characters",
                IdempotencyKey::MAX_LEN
            ),
        })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        quantity: i64,
        note: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        delta: i64,
        items: Vec<Line>,
    }

    fn shape(json: &str) -> (String, String) {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::Invalid { field, message, code }) => {
                assert_eq!(code, "invalid_body");
                (field, message)
            }
            other => panic!("not a shape error: {other:?}"),
        }
    }

    #[test]
    fn a_body_is_an_object_never_an_array_read_by_position() {
        for json in [r#"[]"#, r#"[2, []]"#, "3", r#""x""#, "null"] {
            assert_eq!(
                shape(json),
                (String::new(), "the body must be a JSON object".to_string()),
                "{json}"
            );
        }
    }

    #[test]
    fn shape_errors_name_the_field_in_plain_words() {
        assert_eq!(
            shape(r#"{"delta": 2.5, "items": []}"#),
            ("delta".into(), "must be a whole number".into())
        );
        assert_eq!(shape(r#"{"items": []}"#), ("delta".into(), "is required".into()));
        assert_eq!(
            shape(r#"{"delta": 1, "items": [{"quantity": 1, "colour": "red"}]}"#),
            ("items[0].colour".into(), "is not a field of this request".into())
        );
        assert_eq!(
            shape(r#"{"delta": 1, "items": [{"quantity": "3"}]}"#),
            ("items[0].quantity".into(), "must be a whole number".into())
        );
        assert_eq!(
            shape(r#"{"delta": 1, "items": [{}]}"#),
            ("items[0].quantity".into(), "is required".into())
        );
        assert_eq!(
            shape(r#"{"delta": 1, "items": [{"quantity": 1, "note": 5}]}"#),
            ("items[0].note".into(), "must be text".into())
        );
    }
}

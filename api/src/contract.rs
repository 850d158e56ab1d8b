//! The constraints the parsers enforce, written into the OpenAPI document from the parsers' own
//! constants (utoipa's attributes take only literals): the document and the validation have one
//! source and cannot drift. `tests/it/openapi.rs` checks each bound against its parser.

use oms_contracts::OrderStatus;
use oms_contracts::domain::{
    Currency, Description, Email, IdempotencyKey, LINE_PATTERN, MAX_PRICE, MAX_STOCK, PROSE_PATTERN, Paging,
    Password, PersonName, ProductName, Quantity, Reason, Sku,
};
use serde_json::{Value, json};

/// The longest `cursor` the lists accept.
pub const MAX_CURSOR_LEN: usize = 1024;
/// The longest search text.
pub const MAX_SEARCH_LEN: usize = 100;
/// The most notification ids one request may mark read.
pub const MAX_READ_IDS: usize = 500;
/// The longest webhook endpoint URL, in characters.
pub const MAX_WEBHOOK_URL: usize = 2000;
/// The longest webhook endpoint description, in characters.
pub const MAX_WEBHOOK_DESCRIPTION: usize = 500;

/// The most dead letters one listing returns per queue (`limit`).
pub const MAX_DEAD_LETTER_LIST: u32 = 1000;
/// The most dead letters one replay may name (`ids`): one listing's worth. (A replay pass reads
/// up to `dead_letters::MAX_PER_PASS`, but 1,000 ids are what a JSON body of 64 KiB holds.)
pub const MAX_REPLAY_IDS: usize = MAX_DEAD_LETTER_LIST as usize;

/// A cursor as the lists write it: the position, a dot, and a 16-byte tag (base64url).
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{22}$";
/// A queue's name as OMS names its queues (`oms.stock.3`, `oms.images.dlq`, ...).
pub const QUEUE_PATTERN: &str = "^oms\\.[a-z0-9._-]{1,100}$";

/// Applies every constraint to `document` (the OpenAPI document as JSON).
pub fn apply(document: &mut Value) {
    let text = |min: usize, max: usize| {
        let pattern = if min > 0 { LINE_PATTERN } else { PROSE_PATTERN };
        json!({ "minLength": min, "maxLength": max, "pattern": pattern })
    };
    let currencies: Vec<String> = Currency::all().map(|c| c.as_str().to_string()).collect();
    let properties: [(&str, &str, Value); 31] = [
        (
            "RegisterIn",
            "email",
            json!({ "pattern": Email::PATTERN, "maxLength": Email::MAX_LEN }),
        ),
        ("ProductForm", "currency", json!({ "enum": currencies })),
        (
            "ProductPatch",
            "currency",
            json!({ "enum": currencies.iter().map(|c| json!(c)).chain([Value::Null]).collect::<Vec<_>>() }),
        ),
        ("ReplayIn", "queue", json!({ "pattern": QUEUE_PATTERN })),
        (
            "ReplayIn",
            "ids",
            json!({ "minItems": 1, "maxItems": MAX_REPLAY_IDS }),
        ),
        (
            "RegisterIn",
            "password",
            json!({ "minLength": Password::MIN_LEN, "maxLength": Password::MAX_LEN }),
        ),
        (
            "OrderIn",
            "items",
            json!({ "minItems": 1, "maxItems": crate::orders::MAX_LINES }),
        ),
        (
            "LineIn",
            "quantity",
            json!({ "minimum": 1, "maximum": Quantity::MAX }),
        ),
        ("WebhookIn", "events", json!({ "minItems": 1 })),
        ("WebhookIn", "url", json!({ "maxLength": MAX_WEBHOOK_URL })),
        ("WebhookPatch", "url", json!({ "maxLength": MAX_WEBHOOK_URL })),
        (
            "WebhookIn",
            "description",
            json!({ "maxLength": MAX_WEBHOOK_DESCRIPTION }),
        ),
        (
            "WebhookPatch",
            "description",
            json!({ "maxLength": MAX_WEBHOOK_DESCRIPTION }),
        ),
        ("LineIn", "product_id", json!({ "format": "uuid" })),
        ("ReadIn", "ids", json!({ "maxItems": MAX_READ_IDS })),
        ("WebhookPatch", "events", json!({ "minItems": 1 })),
        (
            "RefreshIn",
            "refresh_token",
            json!({ "type": ["string", "null"] }),
        ),
        (
            "RegisterIn",
            "name",
            text(PersonName::MIN_LEN, PersonName::MAX_LEN),
        ),
        (
            "ProductForm",
            "name",
            text(ProductName::MIN_LEN, ProductName::MAX_LEN),
        ),
        (
            "ProductForm",
            "description",
            text(Description::MIN_LEN, Description::MAX_LEN),
        ),
        (
            "ProductForm",
            "sku",
            json!({ "pattern": Sku::PATTERN, "minLength": 1, "maxLength": Sku::MAX_LEN }),
        ),
        (
            "ProductForm",
            "price",
            json!({ "minimum": 0, "maximum": MAX_PRICE }),
        ),
        (
            "ProductForm",
            "stock",
            json!({ "minimum": 0, "maximum": MAX_STOCK }),
        ),
        (
            "ProductPatch",
            "name",
            text(ProductName::MIN_LEN, ProductName::MAX_LEN),
        ),
        (
            "ProductPatch",
            "description",
            text(Description::MIN_LEN, Description::MAX_LEN),
        ),
        (
            "ProductPatch",
            "price",
            json!({ "minimum": 0, "maximum": MAX_PRICE }),
        ),
        (
            "ProductPatch",
            "low_stock_threshold",
            json!({ "minimum": 0, "maximum": MAX_STOCK }),
        ),
        (
            "StockIn",
            "delta",
            json!({ "minimum": -MAX_STOCK, "maximum": MAX_STOCK, "not": { "const": 0 } }),
        ),
        ("StockIn", "reason", text(Reason::MIN_LEN, Reason::MAX_LEN)),
        ("StatusIn", "reason", text(Reason::MIN_LEN, Reason::MAX_LEN)),
        (
            "StatusIn",
            "status",
            json!({
                "$ref": Value::Null,
                "type": "string",
                "enum": OrderStatus::ADMIN_TARGETS.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
        ),
    ];
    // Rules across a body's fields: which of them go together.
    let schemas = [(
        "ReadIn",
        json!({ "oneOf": [
            { "required": ["ids"], "properties": { "ids": { "type": "array" }, "all": { "enum": [false, null] } } },
            { "required": ["all"], "properties": { "all": { "const": true }, "ids": { "type": "null" } } },
        ] }),
    )];
    for (name, constraints) in schemas {
        if let Some(schema) = document.pointer_mut(&format!("/components/schemas/{name}")) {
            merge(schema, constraints);
        }
    }
    // `POST /api/products/{id}/image` takes an image, or no body at all (a retry of the staged
    // upload): the body is optional, and when there is one it is the form (never `null`).
    if let Some(body) = document.pointer_mut("/paths/~1api~1products~1{id}~1image/post/requestBody") {
        *body = json!({
            "required": false,
            "content": { "multipart/form-data": { "schema": { "$ref": "#/components/schemas/ImageForm" } } },
        });
    }
    for form in ["ProductForm", "ImageForm"] {
        if let Some(schema) = document.pointer_mut(&format!("/components/schemas/{form}")) {
            merge(schema, json!({ "additionalProperties": false }));
        }
    }
    for (schema, property, constraints) in properties {
        if let Some(target) =
            document.pointer_mut(&format!("/components/schemas/{schema}/properties/{property}"))
        {
            merge(target, constraints);
        }
    }

    let parameters: [(&str, Value); 11] = [
        ("queue", json!({ "pattern": QUEUE_PATTERN })),
        ("page", json!({ "minimum": 1, "maximum": Paging::MAX_PAGE })),
        (
            "per_page",
            json!({ "minimum": 1, "maximum": Paging::MAX_PER_PAGE }),
        ),
        (
            "cursor",
            json!({ "minLength": 1, "maxLength": MAX_CURSOR_LEN, "pattern": CURSOR_PATTERN }),
        ),
        ("q", json!({ "maxLength": MAX_SEARCH_LEN })),
        ("user_id", json!({ "format": "uuid" })),
        ("number", json!({ "minimum": 1, "maximum": i64::MAX })),
        (
            "customer",
            json!({ "pattern": Email::PATTERN, "maxLength": Email::MAX_LEN }),
        ),
        (
            "customer_name",
            json!({
                "pattern": crate::orders::name_search_pattern(),
                "maxLength": crate::orders::MAX_NAME_SEARCH_LEN,
            }),
        ),
        ("limit", json!({ "minimum": 1, "maximum": MAX_DEAD_LETTER_LIST })),
        (
            "Idempotency-Key",
            json!({ "minLength": 1, "maxLength": IdempotencyKey::MAX_LEN, "pattern": "^[!-~]+$" }),
        ),
    ];
    links(document);
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|p| p.values_mut())
    {
        let Some(list) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in list {
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some((_, constraints)) = parameters.iter().find(|(n, _)| *n == name)
                && let Some(schema) = parameter.get_mut("schema")
            {
                merge(schema, constraints.clone());
            }
        }
    }
}

/// Adds `constraints` to `schema`; a `null` removes the key (a `$ref` replaced by an inline enum).
fn merge(schema: &mut Value, constraints: Value) {
    let (Some(schema), Value::Object(constraints)) = (schema.as_object_mut(), constraints) else {
        return;
    };
    for (key, value) in constraints {
        if value.is_null() {
            schema.remove(&key);
        } else {
            schema.insert(key, value);
        }
    }
}

/// OpenAPI links from a created resource to the operations on it, so that a generated client or
/// a stateful tester can follow them (the created id is in the response body).
fn links(document: &mut Value) {
    let by_id = |operations: &[&str]| -> Value {
        operations
            .iter()
            .map(|op| {
                (
                    op.to_string(),
                    json!({ "operationId": op, "parameters": { "id": "$response.body#/id" } }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let created = [
        (
            "/paths/~1api~1orders/post/responses/202",
            by_id(&["get_order", "cancel_order", "transition_order", "order_events"]),
        ),
        (
            "/paths/~1api~1products/post/responses/201",
            by_id(&[
                "get_product",
                "patch_product",
                "replace_image",
                "adjust_stock",
                "list_ledger",
            ]),
        ),
        (
            "/paths/~1api~1webhooks/post/responses/201",
            by_id(&[
                "get_webhook",
                "update_webhook",
                "delete_webhook",
                "rotate_secret",
                "list_deliveries",
            ]),
        ),
    ];
    for (pointer, links) in created {
        if let Some(response) = document.pointer_mut(pointer).and_then(Value::as_object_mut) {
            response.insert("links".into(), links);
        }
    }
}

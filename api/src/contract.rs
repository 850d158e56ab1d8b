//! The constraints the parsers enforce, written into the OpenAPI document from the parsers' own
//! constants (utoipa's attributes take only literals): the document and the validation have one
//! source and cannot drift. `tests/it/openapi.rs` checks each bound against its parser.

use oms_contracts::OrderStatus;
use oms_contracts::domain::{
    Description, IdempotencyKey, MAX_PRICE, MAX_STOCK, Paging, PersonName, ProductName, Reason, Sku,
};
use serde_json::{Value, json};

/// The longest `cursor` the lists accept.
pub const MAX_CURSOR_LEN: usize = 1024;
/// The longest search text.
pub const MAX_SEARCH_LEN: usize = 100;

/// Text that is not blank (the parsers trim, and refuse what is left empty).
const NOT_BLANK: &str = "\\S";

/// Applies every constraint to `document` (the OpenAPI document as JSON).
pub fn apply(document: &mut Value) {
    let text = |min: usize, max: usize| {
        let mut schema = json!({ "minLength": min, "maxLength": max });
        if min > 0 {
            schema["pattern"] = json!(NOT_BLANK);
        }
        schema
    };
    let properties: [(&str, &str, Value); 14] = [
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
    for (schema, property, constraints) in properties {
        if let Some(target) =
            document.pointer_mut(&format!("/components/schemas/{schema}/properties/{property}"))
        {
            merge(target, constraints);
        }
    }

    let parameters: [(&str, Value); 6] = [
        ("page", json!({ "minimum": 1, "maximum": Paging::MAX_PAGE })),
        (
            "per_page",
            json!({ "minimum": 1, "maximum": Paging::MAX_PER_PAGE }),
        ),
        ("cursor", json!({ "minLength": 1, "maxLength": MAX_CURSOR_LEN })),
        ("q", json!({ "maxLength": MAX_SEARCH_LEN })),
        ("limit", json!({ "minimum": 1, "maximum": 1000 })),
        (
            "Idempotency-Key",
            json!({ "minLength": 1, "maxLength": IdempotencyKey::MAX_LEN, "pattern": "^[!-~]+$" }),
        ),
    ];
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

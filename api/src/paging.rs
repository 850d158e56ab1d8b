//! Lists: one page of items, and the `page`/`per_page` query parameters every list accepts.

use oms_contracts::domain::Paging;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// One page of a list, newest first.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

/// The page asked for; a bad `page` or `per_page` is a 422 `invalid_query` naming it.
pub fn paging(page: Option<i64>, per_page: Option<i64>) -> Result<Paging, ApiError> {
    Paging::parse(page, per_page).map_err(|(field, e)| ApiError::Invalid {
        code: "invalid_query",
        field: field.to_string(),
        message: e.0,
    })
}

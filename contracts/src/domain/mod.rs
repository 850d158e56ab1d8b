//! Validated domain values: once a value has one of these types it is valid
//! (parse, don't validate). Each `parse` says what is wrong; the caller names the field.

mod text;
pub use text::*;
mod money;
pub use money::*;
mod stock;
pub use stock::*;
mod image;
pub use image::*;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// Why a raw value was refused. The HTTP layer attaches the field it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A page request: `page` from 1, `per_page` 1–100 (default 20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    pub const DEFAULT_PER_PAGE: u64 = 20;
    pub const MAX_PER_PAGE: u64 = 100;
    /// Page numbers reach the first 10,000 items at most (100 pages of 100): deeper, a list is
    /// read by cursor, which costs the same at any depth.
    pub const MAX_PAGE: u64 = 100;

    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, (&'static str, Invalid)> {
        let page = page.unwrap_or(1);
        if !(1..=Self::MAX_PAGE as i64).contains(&page) {
            return Err((
                "page",
                Invalid::new(format!("must be between 1 and {}", Self::MAX_PAGE)),
            ));
        }
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE as i64);
        if !(1..=Self::MAX_PER_PAGE as i64).contains(&per_page) {
            return Err((
                "per_page",
                Invalid::new(format!("must be between 1 and {}", Self::MAX_PER_PAGE)),
            ));
        }
        Ok(Self {
            page: page as u64,
            per_page: per_page as u64,
        })
    }

    pub fn skip(self) -> u64 {
        (self.page - 1) * self.per_page
    }
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

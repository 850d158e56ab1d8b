//! Lists: one page of items, and how a client asks for the next. Every list accepts
//! `page`/`per_page` for its first 10,000 items (100 pages of at most 100) and, at any depth, the `cursor` that the
//! previous page returned as `next_cursor`: a page after a cursor starts where that one ended,
//! so page 1,000 costs what page 1 costs.
//!
//! A cursor is opaque and tamper-evident: the position (JSON), then an HMAC of it and of the
//! list it belongs to, both base64url. Text that is not a cursor at all is a 422 `invalid_query`
//! on `cursor`; a well-formed cursor that was edited, or taken to another list or filter, names
//! no position of this list: 404 `not_found`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use oms_contracts::domain::Paging;
use oms_platform::store::lists::{Count, Slice, Start};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The page number asked for (1 when the page was asked for by `cursor`).
    pub page: u64,
    pub per_page: u64,
    /// How many items the list has: exact up to 1,000 (`total_exact`). Beyond, `total_exact` is
    /// false and `total` an estimate: for all orders or the orders in one status, the maintained
    /// counters (a moment behind the orders); for other lists, 1,000 ("at least").
    pub total: u64,
    pub total_exact: bool,
    /// Whether items follow this page.
    pub has_more: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// What a list request asked for: the page size, and where the page starts.
pub struct Position<K> {
    pub paging: Paging,
    pub start: Start<K>,
}

/// Reads `page`, `per_page` and `cursor`. `list` names the list and its filter: a cursor is
/// good only for the list it came from.
pub fn position<K: DeserializeOwned>(
    state: &AppState,
    list: &str,
    page: Option<i64>,
    per_page: Option<i64>,
    cursor: Option<&str>,
) -> Result<Position<K>, ApiError> {
    let invalid = |field: &str, message: &str| ApiError::Invalid {
        code: "invalid_query",
        field: field.to_string(),
        message: message.to_string(),
    };
    // With a cursor, `page` says nothing: the cursor is where the page starts.
    let paging = Paging::parse(page.filter(|_| cursor.is_none()), per_page)
        .map_err(|(field, e)| invalid(field, &e.0))?;
    let start = match cursor {
        Some(cursor) if !well_formed(cursor) => {
            return Err(invalid(
                "cursor",
                "is not a cursor (use a next_cursor as it came)",
            ));
        }
        // Well-formed but not this list's, or altered: there is no such position.
        Some(cursor) => Start::After(open(state, list, cursor).ok_or_else(|| ApiError::not_found("cursor"))?),
        None => Start::Offset(paging.skip()),
    };
    Ok(Position { paging, start })
}

/// The page for `slice`, with the cursor after its last item.
pub fn page<T, K: Serialize, O>(
    state: &AppState,
    list: &str,
    position: &Position<K>,
    slice: Slice<T>,
    count: Count,
    key: impl Fn(&T) -> K,
    out: impl FnMut(T) -> O,
) -> Page<O> {
    let next_cursor = match slice.last() {
        Some(last) if slice.has_more => Some(seal(state, list, &key(last))),
        _ => None,
    };
    Page {
        page: match position.start {
            Start::Offset(_) => position.paging.page,
            Start::After(_) => 1,
        },
        per_page: position.paging.per_page,
        total: count.value,
        total_exact: count.exact,
        has_more: slice.has_more,
        next_cursor,
        items: slice.items.into_iter().map(out).collect(),
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The cursors' signing key: derived from the token secret, so that it needs no configuration
/// of its own and cursors outlive a restart.
fn mac(state: &AppState, list: &str) -> HmacSha256 {
    let key = Sha256::new()
        .chain_update(b"oms list cursor\n")
        .chain_update(state.config.jwt_secret.expose_secret().as_bytes())
        .finalize();
    let mut mac = HmacSha256::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(list.as_bytes());
    mac.update(b"\n");
    mac
}

fn seal<K: Serialize>(state: &AppState, list: &str, key: &K) -> String {
    let json = serde_json::to_vec(key).unwrap_or_default();
    let mut mac = mac(state, list);
    mac.update(&json);
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(&tag[..16])
    )
}

/// The shape `seal` writes (see `contract::CURSOR_PATTERN`).
fn well_formed(cursor: &str) -> bool {
    let b64 = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    cursor.len() <= crate::contract::MAX_CURSOR_LEN
        && cursor
            .split_once('.')
            .is_some_and(|(position, tag)| b64(position) && b64(tag) && tag.len() == 22)
}

fn open<K: DeserializeOwned>(state: &AppState, list: &str, cursor: &str) -> Option<K> {
    if cursor.len() > 1024 {
        return None;
    }
    let (json, tag) = cursor.split_once('.')?;
    let json = URL_SAFE_NO_PAD.decode(json).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut mac = mac(state, list);
    mac.update(&json);
    // Constant time: a cursor's tag is not guessed byte by byte.
    mac.verify_truncated_left(&tag).ok()?;
    if tag.len() != 16 {
        return None;
    }
    serde_json::from_slice(&json).ok()
}

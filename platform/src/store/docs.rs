//! The documents OMS stores, one struct per collection. Ids are the contract's UUID strings.

use mongodb::bson::DateTime;
use oms_contracts::domain::Quantity;
use oms_contracts::{Money, OrderId, ProductId, Role, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserDoc {
    #[serde(rename = "_id")]
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

/// A refresh token, stored by the SHA-256 of its value (the value itself is never stored).
/// Tokens descending from one login form a family; reusing a spent token revokes the family.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshTokenDoc {
    #[serde(rename = "_id")]
    pub hash: String,
    pub user_id: UserId,
    pub family_id: String,
    pub created_at: DateTime,
    pub expires_at: DateTime,
    /// Set when the token was exchanged for a new pair; a second use is theft.
    pub used_at: Option<DateTime>,
    pub revoked: bool,
    /// The hash of the token it was exchanged for.
    #[serde(default)]
    pub replaced_by: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageStatus {
    /// The product has no image.
    None,
    /// Staged and waiting for the image worker.
    Pending,
    Ready,
    Failed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageDoc {
    pub status: ImageStatus,
    pub url: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub error: Option<String>,
    /// The GridFS id of the staged bytes, while they are staged.
    pub staged_id: Option<String>,
    /// One id per upload: a worker applies its result only while it is still current.
    pub upload_id: Option<String>,
    pub content_type: Option<oms_contracts::domain::ImageType>,
    /// The image store's id for the stored image (to delete it when replaced).
    pub store_id: Option<String>,
}

impl ImageDoc {
    pub fn none() -> Self {
        Self {
            status: ImageStatus::None,
            url: None,
            width: None,
            height: None,
            error: None,
            staged_id: None,
            upload_id: None,
            content_type: None,
            store_id: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProductDoc {
    #[serde(rename = "_id")]
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: Money,
    /// Available stock. Changed only by the stock worker (and product creation), always
    /// together with a ledger entry: it equals the sum of the product's ledger.
    pub stock: i64,
    pub active: bool,
    pub image: ImageDoc,
    pub low_stock_threshold: Option<i64>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Reserve,
    Release,
    Adjust,
    Initial,
}

/// What became of a stock operation. Only `applied` entries change stock, but every
/// decision is recorded under its operation key so that a redelivered command finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOutcome {
    Applied,
    Rejected,
    /// A release with nothing to give back (the reservation never happened).
    Noop,
}

/// One stock decision, keyed by its operation (`reserve:<order>:<product>`,
/// `release:<order>:<product>`, `adjust:<id>`, `initial:<product>`): the unique `_id`
/// is what makes each operation happen at most once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerDoc {
    #[serde(rename = "_id")]
    pub op_key: String,
    pub product_id: ProductId,
    pub kind: LedgerKind,
    pub outcome: LedgerOutcome,
    pub delta: i64,
    pub balance_after: i64,
    pub order_id: Option<OrderId>,
    /// The admin (for `adjust` and `initial`), or `system`.
    pub actor: String,
    /// The admin's reason for an adjustment (or "initial stock"); nothing else.
    pub reason: Option<String>,
    /// Why the operation was refused, when it was.
    #[serde(default)]
    pub refusal: Option<Refusal>,
    /// For reservations: the unit price at the moment of reservation.
    pub unit_price: Option<Money>,
    pub product_name: Option<String>,
    pub at: DateTime,
}

/// Why a stock operation was refused, recorded so that a repeated command gets the same answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// A reservation, and why.
    Reservation {
        reason: oms_contracts::messages::RejectReason,
    },
    /// An adjustment that would have taken the stock below zero.
    BelowZero { stock: i64 },
    /// An adjustment of a product that does not exist.
    NoSuchProduct,
}

impl Refusal {
    /// The refusal in words.
    pub fn describe(&self) -> String {
        match self {
            Refusal::Reservation { reason } => reason.describe().to_string(),
            Refusal::BelowZero { stock } => format!("it would take the stock below zero (stock is {stock})"),
            Refusal::NoSuchProduct => "no such product".to_string(),
        }
    }
}

impl LedgerDoc {
    pub fn reserve_key(order_id: &str, product_id: &str) -> String {
        format!("reserve:{order_id}:{product_id}")
    }

    pub fn release_key(order_id: &str, product_id: &str) -> String {
        format!("release:{order_id}:{product_id}")
    }

    pub fn adjust_key(adjustment_id: &str) -> String {
        format!("adjust:{adjustment_id}")
    }

    pub fn initial_key(product_id: &str) -> String {
        format!("initial:{product_id}")
    }
}

/// Where one order line's stock stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineReservation {
    /// `ReserveStock` sent, no answer yet.
    Pending,
    /// The stock worker took the stock.
    Reserved,
    /// The stock worker refused; nothing is held.
    Rejected,
    /// The order ended (rejected or cancelled); `ReleaseStock` is on its way.
    Releasing,
    /// Nothing is held any more.
    Released,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderLineDoc {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub reservation: LineReservation,
    /// Known once reserved: the product's name and price at that moment.
    pub name: Option<String>,
    pub unit_price: Option<Money>,
    pub line_total: Option<i64>,
    pub reject_reason: Option<oms_contracts::messages::RejectReason>,
}

/// A message an order worker committed to send, kept with the state change that produced it
/// so that a redelivery of the same input can send it again after a crash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub exchange: String,
    pub routing_key: String,
    /// The JSON envelope.
    pub body: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderDoc {
    #[serde(rename = "_id")]
    pub id: OrderId,
    pub user_id: UserId,
    pub status: oms_contracts::OrderStatus,
    pub items: Vec<OrderLineDoc>,
    pub total: Option<Money>,
    pub history: Vec<oms_contracts::messages::HistoryEntry>,
    /// `<user>:<Idempotency-Key>`, or `auto:<order id>` without a key; unique.
    pub idem_key: String,
    /// SHA-256 of the normalised request body, to tell a replay from a reused key.
    pub request_hash: String,
    /// Incremented by every change; changes are conditional on it.
    pub version: i64,
    /// Set by the order worker when it starts reserving; the API may withdraw an order only before.
    pub dispatched: bool,
    /// Set when a retry with the same idempotency key re-sent `PlaceOrder`: the first request
    /// must then not withdraw the order it could not send.
    #[serde(default)]
    pub retried: bool,
    /// How many times the reconciler has re-sent `PlaceOrder`.
    pub place_attempts: i32,
    /// The messages produced by the last change, and the messages that caused it (one, or
    /// several when the order worker applied a batch).
    pub outbox: Vec<StoredMessage>,
    #[serde(default)]
    pub outbox_causes: Vec<String>,
    /// The ids of the last messages applied to this order (at most [`OrderDoc::SEEN`]): a
    /// redelivered one is not applied again.
    #[serde(default)]
    pub seen: Vec<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// The short number people use for the order (`#1042`): unique; increasing within one API
    /// process, which takes numbers in blocks ([`Store::reserve_order_numbers`]). Absent on
    /// orders placed before orders had numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// Who placed the order, as they were then (the admin's list shows it and is searched by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerDoc>,
    /// Since when a line's stock has been on its way back (`releasing`), while one is: the
    /// reconciler finds ended orders whose release never came back through its sparse index,
    /// without walking every cancelled and rejected order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releasing_since: Option<DateTime>,
}

/// The customer of an order: the owner's name and e-mail address when they placed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerDoc {
    pub name: String,
    /// As the account has it (lower case).
    pub email: String,
    /// The name's words in lower case, which admins search by (absent on orders placed before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
}

impl CustomerDoc {
    pub fn new(name: &str, email: &str) -> Self {
        Self {
            name: name.to_string(),
            email: email.to_string(),
            words: name_words(name),
        }
    }
}

/// The words of a name as it is searched: split at white space, in lower case, each once.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    words.sort_unstable();
    words.dedup();
    words
}

impl OrderDoc {
    /// How many applied message ids an order remembers: more than an order ever receives
    /// (a placement, two replies per line, a few transitions, the reconciler's re-sends).
    pub const SEEN: usize = 256;

    /// A new order as its owner places it: `PENDING` at version 0, nothing reserved, no
    /// worker's bookkeeping yet. `key` is the owner's `Idempotency-Key`, when they sent one;
    /// `request_hash` tells a replay of the same request from a reused key.
    pub fn placed(
        id: &oms_contracts::OrderId,
        owner: &oms_contracts::UserId,
        lines: &[oms_contracts::messages::OrderLine],
        key: Option<&str>,
        request_hash: String,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let now = DateTime::from_millis(at.timestamp_millis());
        Self {
            id: id.clone(),
            user_id: owner.clone(),
            status: oms_contracts::OrderStatus::Pending,
            items: lines
                .iter()
                .map(|l| OrderLineDoc {
                    product_id: l.product_id.clone(),
                    quantity: l.quantity,
                    reservation: LineReservation::Pending,
                    name: None,
                    unit_price: None,
                    line_total: None,
                    reject_reason: None,
                })
                .collect(),
            total: None,
            history: vec![oms_contracts::messages::HistoryEntry {
                from: None,
                to: oms_contracts::OrderStatus::Pending,
                by: owner.to_string(),
                at,
                reason: None,
                refused: false,
                version: Some(0),
            }],
            idem_key: match key {
                Some(key) => format!("{owner}:{key}"),
                None => format!("auto:{id}"),
            },
            request_hash,
            version: 0,
            dispatched: false,
            retried: false,
            place_attempts: 0,
            outbox: Vec::new(),
            outbox_causes: Vec::new(),
            seen: Vec::new(),
            created_at: now,
            updated_at: now,
            number: None,
            customer: None,
            releasing_since: None,
        }
    }

    /// Keeps `releasing_since` true to the lines: `now` when a line starts releasing, as it
    /// was while one still is, gone when none is.
    pub fn track_releasing(&mut self, now: DateTime) {
        let releasing = self
            .items
            .iter()
            .any(|l| l.reservation == LineReservation::Releasing);
        self.releasing_since = releasing.then(|| self.releasing_since.unwrap_or(now));
    }

    /// The order's lines as placed.
    pub fn lines(&self) -> Vec<oms_contracts::messages::OrderLine> {
        self.items
            .iter()
            .map(|l| oms_contracts::messages::OrderLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
            })
            .collect()
    }

    /// The order's lines as its events carry them.
    pub fn event_lines(&self) -> Vec<oms_contracts::messages::EventLine> {
        self.items
            .iter()
            .map(|l| oms_contracts::messages::EventLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
                name: l.name.clone(),
                unit_price: l.unit_price,
            })
            .collect()
    }
}

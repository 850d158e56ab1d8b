//! What each list selects and how it is sorted: its filter, its index, and where a page after a
//! cursor starts.

use mongodb::bson::{Bson, Document, doc};
use oms_contracts::{OrderStatus, ProductId, UserId, WebhookId};

use super::super::ProductDoc;
use super::super::webhooks::DeliveryStatus;

/// Which orders: everyone's or one user's, in any status or one, optionally only the one with a
/// number or those of a customer's e-mail address. Newest first (order ids are UUIDv7, so their
/// order is their creation order).
#[derive(Clone, Debug, Default)]
pub struct OrderList {
    pub user: Option<UserId>,
    pub status: Option<OrderStatus>,
    pub number: Option<i64>,
    /// As accounts store it (lower case).
    pub customer_email: Option<String>,
    /// Words every one of which the customer's name has ([`name_words`](crate::store::name_words)).
    pub customer_words: Vec<String>,
}

impl OrderList {
    pub(super) fn filter(&self) -> Document {
        let mut filter = Document::new();
        if let Some(user) = &self.user {
            filter.insert("user_id", user.as_str());
        }
        if let Some(status) = self.status {
            filter.insert("status", status.as_str());
        }
        if let Some(number) = self.number {
            filter.insert("number", number);
        }
        if let Some(email) = &self.customer_email {
            filter.insert("customer.email", email.as_str());
        }
        if !self.customer_words.is_empty() {
            filter.insert("customer.words", doc! { "$all": &self.customer_words });
        }
        filter
    }

    /// The index whose prefix is the filter and whose rest is the sort. A number names one
    /// order, and a customer has few: their indexes lead, the rest is checked on the way.
    pub(super) fn index(&self) -> Document {
        if self.number.is_some() {
            return doc! { "number": 1, "_id": -1 };
        }
        if self.customer_email.is_some() {
            return doc! { "customer.email": 1, "_id": -1 };
        }
        if !self.customer_words.is_empty() {
            return doc! { "customer.words": 1, "_id": -1 };
        }
        match (&self.user, self.status) {
            (Some(_), Some(_)) => doc! { "user_id": 1, "status": 1, "_id": -1 },
            (Some(_), None) => doc! { "user_id": 1, "_id": -1 },
            (None, Some(_)) => doc! { "status": 1, "_id": -1 },
            (None, None) => doc! { "_id": 1 },
        }
    }
}

/// How a product list is sorted; ties go by id, so that pages never overlap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProductOrder {
    #[default]
    Newest,
    Name,
    PriceAsc,
    PriceDesc,
    StockAsc,
}

/// The last product of a page, as much of it as its sort needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductKey {
    pub id: ProductId,
    /// The sort field's value (none for `Newest`, which sorts by id alone).
    pub value: Option<Bson>,
}

impl ProductKey {
    pub fn of(product: &ProductDoc, order: ProductOrder) -> Self {
        let value = match order {
            ProductOrder::Newest => None,
            ProductOrder::Name => Some(Bson::String(product.name.clone())),
            ProductOrder::PriceAsc | ProductOrder::PriceDesc => Some(Bson::Int64(product.price.amount)),
            ProductOrder::StockAsc => Some(Bson::Int64(product.stock)),
        };
        Self {
            id: product.id.clone(),
            value,
        }
    }
}

impl ProductOrder {
    pub(super) fn field(self) -> Option<&'static str> {
        match self {
            ProductOrder::Newest => None,
            ProductOrder::Name => Some("name"),
            ProductOrder::PriceAsc | ProductOrder::PriceDesc => Some("price.amount"),
            ProductOrder::StockAsc => Some("stock"),
        }
    }

    /// The sort, which is also the index's key pattern.
    pub(super) fn sort(self) -> Document {
        match self {
            ProductOrder::Newest => doc! { "_id": -1 },
            ProductOrder::Name => doc! { "name": 1, "_id": 1 },
            ProductOrder::PriceAsc => doc! { "price.amount": 1, "_id": 1 },
            ProductOrder::PriceDesc => doc! { "price.amount": -1, "_id": 1 },
            ProductOrder::StockAsc => doc! { "stock": 1, "_id": 1 },
        }
    }

    pub(super) fn index(self) -> Document {
        match self {
            ProductOrder::Newest => doc! { "_id": 1 },
            other => other.sort(),
        }
    }

    /// The condition "after `key`" in this order. The sort field's bound comes as a plain range
    /// (which the index walk uses); the tie-break on id is a condition checked on the way.
    pub(super) fn after(self, key: &ProductKey) -> Document {
        let id = key.id.as_str();
        match (self.field(), &key.value) {
            (None, _) | (_, None) => doc! { "_id": { "$lt": id } },
            (Some(field), Some(value)) => {
                let (past, from) = if self == ProductOrder::PriceDesc {
                    ("$lt", "$lte")
                } else {
                    ("$gt", "$gte")
                };
                doc! {
                    field: { from: value.clone() },
                    "$or": [ { field: { past: value.clone() } }, { "_id": { "$gt": id } } ],
                }
            }
        }
    }
}

/// Which products: the active ones or all, optionally only those in stock, optionally matching
/// a search (the text as given; it is matched literally, ignoring case, in names and SKUs).
#[derive(Clone, Debug, Default)]
pub struct ProductList {
    pub include_inactive: bool,
    pub in_stock: bool,
    pub search: Option<String>,
    pub order: ProductOrder,
}

impl ProductList {
    pub(super) fn filter(&self) -> Document {
        let mut filter = Document::new();
        if !self.include_inactive {
            filter.insert("active", true);
        }
        if self.in_stock {
            filter.insert("stock", doc! { "$gt": 0 });
        }
        if let Some(text) = &self.search {
            let pattern = regex_escape(text);
            filter.insert(
                "$and",
                vec![doc! { "$or": [
                    { "name": { "$regex": &pattern, "$options": "i" } },
                    { "sku": { "$regex": &pattern, "$options": "i" } },
                ] }],
            );
        }
        filter
    }
}

/// Which notifications: one user's, all or only the unread (`Some(true)`) or read ones.
#[derive(Clone, Debug)]
pub struct NotificationList {
    pub user: UserId,
    pub unread: Option<bool>,
}

impl NotificationList {
    pub(super) fn filter(&self) -> Document {
        let mut filter = doc! { "user_id": self.user.as_str() };
        match self.unread {
            Some(true) => filter.insert("read_at", Bson::Null),
            Some(false) => filter.insert("read_at", doc! { "$ne": Bson::Null }),
            None => None,
        };
        filter
    }

    /// The unread ones have their own index (the bell asks for them most, and counts them);
    /// the read ones are picked on the way along the user's index.
    pub(super) fn index(&self) -> Document {
        match self.unread {
            Some(true) => doc! { "user_id": 1, "read_at": 1, "at": -1, "_id": -1 },
            _ => doc! { "user_id": 1, "at": -1, "_id": -1 },
        }
    }
}

/// Which webhook deliveries: one endpoint's, in any state or one.
#[derive(Clone, Debug)]
pub struct DeliveryList {
    pub endpoint: WebhookId,
    pub status: Option<DeliveryStatus>,
}

impl DeliveryList {
    pub(super) fn filter(&self) -> Document {
        let mut filter = doc! { "endpoint_id": self.endpoint.as_str() };
        if let Some(status) = self.status {
            filter.insert("status", status.as_str());
        }
        filter
    }

    pub(super) fn index(&self) -> Document {
        match self.status {
            Some(_) => doc! { "endpoint_id": 1, "status": 1, "created_at": -1, "_id": -1 },
            None => doc! { "endpoint_id": 1, "created_at": -1, "_id": -1 },
        }
    }
}

/// Escapes text for use inside a regular expression.
pub(super) fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A ledger page's filter: the product's applied entries (refusals are kept for idempotency, not
/// for the ledger).
pub(super) fn ledger_filter(product: &ProductId) -> Document {
    doc! { "product_id": product.as_str(), "outcome": "applied" }
}

pub(super) const LEDGER_SORT: fn() -> Document = || doc! { "at": -1, "_id": -1 };

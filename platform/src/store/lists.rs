//! The lists the API serves. Each reads through the index that matches its sort (named by
//! [`Store::ensure_indexes`] and given to the store as a hint), so that a page costs the same at
//! any depth: the filter's other conditions are checked while walking the index, and a page
//! after a cursor starts where the last one ended (keyset paging) instead of skipping.
//! `tests/it/indexes.rs` explains every list and fails on a collection scan or an in-memory sort.

use futures_util::TryStreamExt;
use mongodb::bson::{self, Bson, Document, doc};
use oms_contracts::{OrderId, OrderStatus, ProductId, UserId, WebhookId};

use super::notifications::{NOTIFICATIONS, NotificationDoc};
use super::webhooks::{DeliveryDoc, DeliveryStatus, WEBHOOK_DELIVERIES};
use super::{LEDGER, LedgerDoc, ORDERS, OrderDoc, PRODUCTS, ProductDoc, Store};

/// Counts stop here: beyond, a list's total is reported as "at least this many".
pub const COUNT_CAP: u64 = 10_000;

/// Where a page starts: after skipping some items (small offsets only), or after a known item.
#[derive(Clone, Debug, PartialEq)]
pub enum Start<K> {
    Offset(u64),
    After(K),
}

/// One page of a list, and whether more follow.
#[derive(Debug)]
pub struct Slice<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Slice<T> {
    pub fn last(&self) -> Option<&T> {
        self.items.last()
    }
}

/// How many items a list has: exact up to [`COUNT_CAP`], otherwise a lower bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub value: u64,
    pub exact: bool,
}

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
}

impl OrderList {
    fn filter(&self) -> Document {
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
        filter
    }

    /// The index whose prefix is the filter and whose rest is the sort. A number names one
    /// order, and a customer has few: their indexes lead, the rest is checked on the way.
    fn index(&self) -> Document {
        if self.number.is_some() {
            return doc! { "number": 1, "_id": -1 };
        }
        if self.customer_email.is_some() {
            return doc! { "customer.email": 1, "_id": -1 };
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
    fn field(self) -> Option<&'static str> {
        match self {
            ProductOrder::Newest => None,
            ProductOrder::Name => Some("name"),
            ProductOrder::PriceAsc | ProductOrder::PriceDesc => Some("price.amount"),
            ProductOrder::StockAsc => Some("stock"),
        }
    }

    /// The sort, which is also the index's key pattern.
    fn sort(self) -> Document {
        match self {
            ProductOrder::Newest => doc! { "_id": -1 },
            ProductOrder::Name => doc! { "name": 1, "_id": 1 },
            ProductOrder::PriceAsc => doc! { "price.amount": 1, "_id": 1 },
            ProductOrder::PriceDesc => doc! { "price.amount": -1, "_id": 1 },
            ProductOrder::StockAsc => doc! { "stock": 1, "_id": 1 },
        }
    }

    fn index(self) -> Document {
        match self {
            ProductOrder::Newest => doc! { "_id": 1 },
            other => other.sort(),
        }
    }

    /// The condition "after `key`" in this order. The sort field's bound comes as a plain range
    /// (which the index walk uses); the tie-break on id is a condition checked on the way.
    fn after(self, key: &ProductKey) -> Document {
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
    fn filter(&self) -> Document {
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

/// The last item of a page of a list sorted newest first by a time, ties by id (the ledger, a
/// user's notifications, an endpoint's deliveries).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeKey {
    /// Milliseconds since the epoch.
    pub at: i64,
    pub id: String,
}

impl TimeKey {
    pub fn new(at: bson::DateTime, id: impl Into<String>) -> Self {
        Self {
            at: at.timestamp_millis(),
            id: id.into(),
        }
    }

    /// The condition "after this item" on a list sorted `{field: -1, _id: -1}`: the bound on
    /// `field` is a plain range (which the index walk uses); the tie-break on id is checked on
    /// the way.
    fn after(&self, field: &str) -> Document {
        let at = bson::DateTime::from_millis(self.at);
        doc! {
            field: { "$lte": at },
            "$or": [ { field: { "$lt": at } }, { "_id": { "$lt": self.id.as_str() } } ],
        }
    }
}

/// Which notifications: one user's, all or only the unread (`Some(true)`) or read ones.
#[derive(Clone, Debug)]
pub struct NotificationList {
    pub user: UserId,
    pub unread: Option<bool>,
}

impl NotificationList {
    fn filter(&self) -> Document {
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
    fn index(&self) -> Document {
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
    fn filter(&self) -> Document {
        let mut filter = doc! { "endpoint_id": self.endpoint.as_str() };
        if let Some(status) = self.status {
            filter.insert("status", status.as_str());
        }
        filter
    }

    fn index(&self) -> Document {
        match self.status {
            Some(_) => doc! { "endpoint_id": 1, "status": 1, "created_at": -1, "_id": -1 },
            None => doc! { "endpoint_id": 1, "created_at": -1, "_id": -1 },
        }
    }
}

/// Escapes text for use inside a regular expression.
fn regex_escape(text: &str) -> String {
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
fn ledger_filter(product: &ProductId) -> Document {
    doc! { "product_id": product.as_str(), "outcome": "applied" }
}

const LEDGER_SORT: fn() -> Document = || doc! { "at": -1, "_id": -1 };

impl Store {
    /// The index definitions the lists read through (created by `ensure_indexes`).
    pub(super) fn list_indexes() -> Vec<(&'static str, Document)> {
        let mut out = vec![
            (ORDERS, doc! { "user_id": 1, "status": 1, "_id": -1 }),
            (ORDERS, doc! { "user_id": 1, "_id": -1 }),
            (ORDERS, doc! { "status": 1, "_id": -1 }),
            (ORDERS, doc! { "number": 1, "_id": -1 }),
            (ORDERS, doc! { "customer.email": 1, "_id": -1 }),
            // `oms verify --since`.
            (ORDERS, doc! { "updated_at": 1 }),
            (LEDGER, ledger_index()),
        ];
        for unread in [None, Some(true)] {
            let list = NotificationList {
                user: UserId::new(),
                unread,
            };
            out.push((NOTIFICATIONS, list.index()));
        }
        for status in [None, Some(DeliveryStatus::Pending)] {
            let list = DeliveryList {
                endpoint: WebhookId::new(),
                status,
            };
            out.push((WEBHOOK_DELIVERIES, list.index()));
        }
        for order in [
            ProductOrder::Name,
            ProductOrder::PriceAsc,
            ProductOrder::PriceDesc,
            ProductOrder::StockAsc,
        ] {
            out.push((PRODUCTS, order.index()));
        }
        out
    }

    pub async fn list_orders(
        &self,
        list: &OrderList,
        start: &Start<OrderId>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<OrderDoc>> {
        let mut filter = list.filter();
        let skip = match start {
            Start::Offset(skip) => *skip,
            Start::After(id) => {
                filter.insert("_id", doc! { "$lt": id.as_str() });
                0
            }
        };
        let collection = self.orders();
        let find = collection
            .find(filter)
            .sort(doc! { "_id": -1 })
            .hint(mongodb::options::Hint::Keys(list.index()));
        slice(find.skip(skip).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_orders(&self, list: &OrderList) -> mongodb::error::Result<Count> {
        self.count(self.orders().clone_with_type(), list.filter(), list.index())
            .await
    }

    pub async fn list_products(
        &self,
        list: &ProductList,
        start: &Start<ProductKey>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<ProductDoc>> {
        let mut filter = list.filter();
        let skip = match start {
            Start::Offset(skip) => *skip,
            Start::After(key) => {
                filter.extend(list.order.after(key));
                0
            }
        };
        let collection = self.products();
        let find = collection
            .find(filter)
            .sort(list.order.sort())
            .hint(mongodb::options::Hint::Keys(list.order.index()));
        slice(find.skip(skip).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_products(&self, list: &ProductList) -> mongodb::error::Result<Count> {
        self.count(
            self.products().clone_with_type(),
            list.filter(),
            list.order.index(),
        )
        .await
    }

    pub async fn list_ledger(
        &self,
        product: &ProductId,
        start: &Start<TimeKey>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<LedgerDoc>> {
        let (filter, skip) = after_time(ledger_filter(product), start, "at");
        let collection = self.ledger();
        let find = collection
            .find(filter)
            .sort(LEDGER_SORT())
            .hint(mongodb::options::Hint::Keys(ledger_index()));
        slice(find.skip(skip).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_ledger(&self, product: &ProductId) -> mongodb::error::Result<Count> {
        self.count(
            self.ledger().clone_with_type(),
            ledger_filter(product),
            ledger_index(),
        )
        .await
    }

    pub async fn list_notifications(
        &self,
        list: &NotificationList,
        start: &Start<TimeKey>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<NotificationDoc>> {
        let find = after_time(list.filter(), start, "at");
        let collection = self.notifications();
        let find_op = collection
            .find(find.0)
            .sort(doc! { "at": -1, "_id": -1 })
            .hint(mongodb::options::Hint::Keys(list.index()));
        slice(find_op.skip(find.1).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_notifications(&self, list: &NotificationList) -> mongodb::error::Result<Count> {
        self.count(
            self.notifications().clone_with_type(),
            list.filter(),
            list.index(),
        )
        .await
    }

    pub async fn list_deliveries(
        &self,
        list: &DeliveryList,
        start: &Start<TimeKey>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<DeliveryDoc>> {
        let find = after_time(list.filter(), start, "created_at");
        let collection = self.webhook_deliveries();
        let find_op = collection
            .find(find.0)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .hint(mongodb::options::Hint::Keys(list.index()));
        slice(find_op.skip(find.1).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_deliveries(&self, list: &DeliveryList) -> mongodb::error::Result<Count> {
        self.count(
            self.webhook_deliveries().clone_with_type(),
            list.filter(),
            list.index(),
        )
        .await
    }

    /// Counts up to [`COUNT_CAP`] matches through `index`; past that, stops and says so.
    async fn count(
        &self,
        collection: mongodb::Collection<Document>,
        filter: Document,
        index: Document,
    ) -> mongodb::error::Result<Count> {
        let counted = collection
            .count_documents(filter)
            .limit(COUNT_CAP + 1)
            .hint(mongodb::options::Hint::Keys(index))
            .await?;
        Ok(Count {
            value: counted.min(COUNT_CAP),
            exact: counted <= COUNT_CAP,
        })
    }

    /// The find commands of every list, for `explain` (see `tests/it/indexes.rs`): what each list
    /// asks of the store, with a sample filter.
    pub fn list_queries_for_explain(
        user: &UserId,
        product: &ProductId,
        endpoint: &WebhookId,
    ) -> Vec<(&'static str, Document)> {
        let mut out = Vec::new();
        for list in [
            OrderList::default(),
            OrderList {
                user: Some(user.clone()),
                ..OrderList::default()
            },
            OrderList {
                status: Some(OrderStatus::Placed),
                ..OrderList::default()
            },
            OrderList {
                user: Some(user.clone()),
                status: Some(OrderStatus::Placed),
                ..OrderList::default()
            },
            OrderList {
                number: Some(1042),
                ..OrderList::default()
            },
            OrderList {
                customer_email: Some("ada@example.com".into()),
                status: Some(OrderStatus::Placed),
                ..OrderList::default()
            },
        ] {
            let mut after = list.filter();
            after.insert("_id", doc! { "$lt": OrderId::new().as_str() });
            for filter in [list.filter(), after] {
                out.push((
                    ORDERS,
                    doc! { "find": ORDERS, "filter": filter, "sort": { "_id": -1 }, "hint": list.index(), "limit": 21 },
                ));
            }
        }
        for order in [
            ProductOrder::Newest,
            ProductOrder::Name,
            ProductOrder::PriceAsc,
            ProductOrder::PriceDesc,
            ProductOrder::StockAsc,
        ] {
            for (include_inactive, in_stock, search) in
                [(false, false, None), (true, true, Some("wid".to_string()))]
            {
                let list = ProductList {
                    include_inactive,
                    in_stock,
                    search,
                    order,
                };
                let key = ProductKey {
                    id: ProductId::new(),
                    value: order.field().map(|_| Bson::Int64(5)),
                };
                let mut after = list.filter();
                after.extend(order.after(&key));
                for filter in [list.filter(), after] {
                    out.push((
                        PRODUCTS,
                        doc! { "find": PRODUCTS, "filter": filter, "sort": order.sort(), "hint": order.index(), "limit": 21 },
                    ));
                }
            }
        }
        let key = TimeKey::new(bson::DateTime::now(), "x");
        let mut after = ledger_filter(product);
        after.extend(key.after("at"));
        for filter in [ledger_filter(product), after] {
            out.push((
                LEDGER,
                doc! { "find": LEDGER, "filter": filter, "sort": LEDGER_SORT(), "hint": ledger_index(), "limit": 21 },
            ));
        }
        for unread in [None, Some(true), Some(false)] {
            let list = NotificationList {
                user: user.clone(),
                unread,
            };
            let mut after = list.filter();
            after.extend(key.after("at"));
            for filter in [list.filter(), after] {
                out.push((
                    NOTIFICATIONS,
                    doc! { "find": NOTIFICATIONS, "filter": filter, "sort": { "at": -1, "_id": -1 }, "hint": list.index(), "limit": 21 },
                ));
            }
        }
        for status in [None, Some(DeliveryStatus::Failed)] {
            let list = DeliveryList {
                endpoint: endpoint.clone(),
                status,
            };
            let mut after = list.filter();
            after.extend(key.after("created_at"));
            for filter in [list.filter(), after] {
                out.push((
                    WEBHOOK_DELIVERIES,
                    doc! { "find": WEBHOOK_DELIVERIES, "filter": filter, "sort": { "created_at": -1, "_id": -1 }, "hint": list.index(), "limit": 21 },
                ));
            }
        }
        out
    }
}

/// A time-sorted list's filter from `start`, and how many to skip.
fn after_time(mut filter: Document, start: &Start<TimeKey>, field: &str) -> (Document, u64) {
    match start {
        Start::Offset(skip) => (filter, *skip),
        Start::After(key) => {
            filter.extend(key.after(field));
            (filter, 0)
        }
    }
}

fn ledger_index() -> Document {
    doc! { "product_id": 1, "outcome": 1, "at": -1, "_id": -1 }
}

/// Reads up to `limit` items from a cursor asked for `limit + 1`: the extra one only says that
/// more follow.
async fn slice<T>(cursor: mongodb::Cursor<T>, limit: u64) -> mongodb::error::Result<Slice<T>>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    let mut items: Vec<T> = cursor.try_collect().await?;
    let has_more = items.len() as u64 > limit;
    items.truncate(limit as usize);
    Ok(Slice { items, has_more })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(regex_escape("a.b*(c)"), "a\\.b\\*\\(c\\)");
        assert_eq!(regex_escape("plain"), "plain");
    }

    #[test]
    fn every_list_index_is_created() {
        let created = Store::list_indexes();
        for (collection, query) in
            Store::list_queries_for_explain(&UserId::new(), &ProductId::new(), &WebhookId::new())
        {
            let hint = query.get_document("hint").expect("a hint");
            assert!(
                hint == &doc! { "_id": 1 }
                    || created.iter().any(|(c, keys)| *c == collection && keys == hint),
                "{collection}: {hint} is not created"
            );
        }
    }
}

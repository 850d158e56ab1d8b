//! The lists the API serves. Each reads through the index that matches its filter and sort
//! (created by [`Store::ensure_indexes`]; the store's planner chooses it, no hint: secantusd-rs
//! walks a hinted index whole, 100–450 ms at 100,000 orders where the planner's own choice of
//! the same index takes 0.3–30 ms), so that a page costs the same at
//! any depth: the filter's other conditions are checked while walking the index, and a page
//! after a cursor starts where the last one ended (keyset paging) instead of skipping.
//! `tests/it/indexes.rs` explains every list and fails on a collection scan or an in-memory sort.

use futures_util::TryStreamExt;
use mongodb::bson::{self, Bson, Document, doc};
use oms_contracts::{OrderId, OrderStatus, ProductId, UserId, WebhookId};

use super::notifications::{NOTIFICATIONS, NotificationDoc};
use super::webhooks::{DeliveryDoc, DeliveryStatus, WEBHOOK_DELIVERIES};
use super::{LEDGER, LedgerDoc, ORDERS, OrderDoc, PRODUCTS, ProductDoc, Store};

mod kinds;
pub use kinds::*;

/// Counts stop here: beyond, a list's total is an estimate — the maintained order counters where
/// the list has one (all orders, orders in one status), else "at least this many". Counting costs
/// what it walks (on secantusd-rs 10,000 index entries take 100–500 ms; 1,000 a tenth).
pub const COUNT_CAP: u64 = 1_000;

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

/// How many items a list has: exact up to [`COUNT_CAP`], otherwise an estimate (see there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    pub value: u64,
    pub exact: bool,
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

impl Store {
    /// The index definitions the lists read through (created by `ensure_indexes`).
    pub(super) fn list_indexes() -> Vec<(&'static str, Document)> {
        let mut out = vec![
            (ORDERS, doc! { "user_id": 1, "status": 1, "_id": -1 }),
            (ORDERS, doc! { "user_id": 1, "_id": -1 }),
            (ORDERS, doc! { "status": 1, "_id": -1 }),
            (ORDERS, doc! { "number": 1, "_id": -1 }),
            (ORDERS, doc! { "customer.email": 1, "_id": -1 }),
            (ORDERS, doc! { "customer.words": 1, "_id": -1 }),
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

    /// A page of orders, newest first by id. Order ids are UUIDv7 (time first), and secantusd-rs
    /// walks an index range whole even when the page is full (MongoDB stops at the limit), so a
    /// page of *all* orders (whose index is `_id` itself) is read through time windows below
    /// where it starts — the last hour, 16 hours, 11 days, 6 months, then the rest —, each
    /// window going on where the last ended, until the page is full. Each window returns what
    /// the unbounded query returns in its range, so the page is the same whatever the ids (an id
    /// that is not time-ordered only costs windows). A filtered list reads at once: this store
    /// does not narrow a compound index's walk by a bound on its `_id` part, so windows there
    /// would walk the filter's whole range once per window.
    pub async fn list_orders(
        &self,
        list: &OrderList,
        start: &Start<OrderId>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<OrderDoc>> {
        let (mut upper, mut skip) = match start {
            Start::Offset(skip) => (None, *skip),
            Start::After(id) => (Some(id.as_str().to_string()), 0),
        };
        let top = upper
            .as_deref()
            .and_then(id_millis)
            .unwrap_or_else(|| bson::DateTime::now().timestamp_millis().max(0) as u64);
        let want = limit as usize + 1;
        let mut items: Vec<OrderDoc> = Vec::with_capacity(want);
        let collection = self.orders();
        let windows: &[u64] = if list.filter().is_empty() {
            &ORDER_WINDOWS
        } else {
            &[]
        };
        for span in windows.iter().map(|h| Some(h * 3_600_000)).chain([None]) {
            let lower = span.map(|span| id_at(top.saturating_sub(span)));
            let filter = within(list.filter(), lower.as_deref(), upper.as_deref());
            // An offset skips whole windows by counting them (up to what is left to skip).
            if skip > 0 && lower.is_some() {
                let here = collection.count_documents(filter.clone()).limit(skip).await?;
                if here < skip {
                    skip -= here;
                    upper = lower;
                    continue;
                }
            }
            let need = (want - items.len()) as i64;
            let found: Vec<OrderDoc> = collection
                .find(filter)
                .sort(doc! { "_id": -1 })
                .skip(skip)
                .limit(need)
                .await?
                .try_collect()
                .await?;
            skip = 0;
            items.extend(found);
            if items.len() >= want || lower.is_none() {
                break;
            }
            upper = lower;
        }
        let has_more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(Slice { items, has_more })
    }

    pub async fn count_orders(&self, list: &OrderList) -> mongodb::error::Result<Count> {
        let counters_cover_it = list.user.is_none()
            && list.number.is_none()
            && list.customer_email.is_none()
            && list.customer_words.is_empty();
        // All orders, or one status: the maintained counters say whether counting would stop at
        // the cap anyway (here counting walks every entry in range, whatever its limit).
        if counters_cover_it {
            let by_status = crate::analytics::orders_by_status(self).await?;
            let estimate = match list.status {
                Some(status) => by_status.get(status.as_str()).copied().unwrap_or(0),
                None => by_status.values().sum(),
            };
            if estimate > COUNT_CAP {
                return Ok(Count {
                    value: estimate,
                    exact: false,
                });
            }
        }
        self.count(self.orders().clone_with_type(), list.filter()).await
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
        let find = collection.find(filter).sort(list.order.sort());
        slice(find.skip(skip).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_products(&self, list: &ProductList) -> mongodb::error::Result<Count> {
        self.count(self.products().clone_with_type(), list.filter()).await
    }

    pub async fn list_ledger(
        &self,
        product: &ProductId,
        start: &Start<TimeKey>,
        limit: u64,
    ) -> mongodb::error::Result<Slice<LedgerDoc>> {
        let (filter, skip) = after_time(ledger_filter(product), start, "at");
        let collection = self.ledger();
        let find = collection.find(filter).sort(LEDGER_SORT());
        slice(find.skip(skip).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_ledger(&self, product: &ProductId) -> mongodb::error::Result<Count> {
        self.count(self.ledger().clone_with_type(), ledger_filter(product))
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
        let find_op = collection.find(find.0).sort(doc! { "at": -1, "_id": -1 });
        slice(find_op.skip(find.1).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_notifications(&self, list: &NotificationList) -> mongodb::error::Result<Count> {
        self.count(self.notifications().clone_with_type(), list.filter())
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
        let find_op = collection.find(find.0).sort(doc! { "created_at": -1, "_id": -1 });
        slice(find_op.skip(find.1).limit(limit as i64 + 1).await?, limit).await
    }

    pub async fn count_deliveries(&self, list: &DeliveryList) -> mongodb::error::Result<Count> {
        self.count(self.webhook_deliveries().clone_with_type(), list.filter())
            .await
    }

    /// Counts up to [`COUNT_CAP`] matches; past that, stops and says so.
    async fn count(
        &self,
        collection: mongodb::Collection<Document>,
        filter: Document,
    ) -> mongodb::error::Result<Count> {
        let counted = collection.count_documents(filter).limit(COUNT_CAP + 1).await?;
        Ok(Count {
            value: counted.min(COUNT_CAP),
            exact: counted <= COUNT_CAP,
        })
    }

    /// The find commands of every list, for `explain` (see `tests/it/lists.rs`): what each list
    /// asks of the store, with a sample filter, and under `hint` the index it should walk (the
    /// test takes the hint out and checks the planner chooses that index on its own).
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
            OrderList {
                customer_words: vec!["ada".into()],
                ..OrderList::default()
            },
            OrderList {
                customer_words: vec!["ada".into(), "lovelace".into()],
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
/// The time windows (hours below a page's start) an order list is read through.
const ORDER_WINDOWS: [u64; 4] = [1, 16, 256, 4096];

/// `filter` with order ids in `[lower, upper)` (either end open when absent).
fn within(mut filter: Document, lower: Option<&str>, upper: Option<&str>) -> Document {
    let mut range = Document::new();
    if let Some(upper) = upper {
        range.insert("$lt", upper);
    }
    if let Some(lower) = lower {
        range.insert("$gte", lower);
    }
    if !range.is_empty() {
        filter.insert("_id", range);
    }
    filter
}

/// The time (ms since the epoch) at the head of a UUIDv7, as its hex text carries it.
fn id_millis(id: &str) -> Option<u64> {
    let head = format!("{}{}", id.get(0..8)?, id.get(9..13)?);
    u64::from_str_radix(&head, 16).ok()
}

/// The lowest UUIDv7 text of millisecond `ms`: ids at or after it sort at or after it.
fn id_at(ms: u64) -> String {
    format!("{:08x}-{:04x}-0000-0000-000000000000", ms >> 16, ms & 0xffff)
}

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
    fn a_time_bounds_the_ids_of_that_time() {
        let id = OrderId::new();
        let ms = id_millis(id.as_str()).expect("a v7 id has a time");
        let now = bson::DateTime::now().timestamp_millis() as u64;
        assert!(ms.abs_diff(now) < 60_000, "{ms} vs {now}");
        assert!(id_at(ms).as_str() <= id.as_str());
        assert!(id_at(ms + 1).as_str() > id.as_str());
        assert_eq!(id_millis(&id_at(ms)), Some(ms));
    }

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

//! Look-ups by key, typed: a caller names what it wants (an order by its id, a user by e-mail),
//! not how the store keeps it. Writes that decide something stay beside their rules.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use oms_contracts::domain::{Currency, Description, Email, Price, ProductName};
use oms_contracts::ids::{OrderId, ProductId, UserId, WebhookId};

use super::webhooks::EndpointDoc;
use super::{LedgerDoc, OrderDoc, ProductDoc, Store, UserDoc};

/// What an admin changes on a product (`None`: left as it is).
#[derive(Debug, Default)]
pub struct ProductChange {
    pub name: Option<ProductName>,
    pub description: Option<Description>,
    pub price: Option<Price>,
    pub currency: Option<Currency>,
    pub active: Option<bool>,
    /// `Some(None)`: back to the deployment's default.
    pub low_stock_threshold: Option<Option<i64>>,
}

impl ProductChange {
    fn fields(self) -> Document {
        let mut set = Document::new();
        if let Some(name) = self.name {
            set.insert("name", name.into_inner());
        }
        if let Some(description) = self.description {
            set.insert("description", description.into_inner());
        }
        if let Some(price) = self.price {
            set.insert("price.amount", price.minor_units());
        }
        if let Some(currency) = self.currency {
            set.insert("price.currency", currency.as_str());
        }
        if let Some(active) = self.active {
            set.insert("active", active);
        }
        if let Some(threshold) = self.low_stock_threshold {
            set.insert("low_stock_threshold", threshold);
        }
        set
    }
}

impl Store {
    /// Applies `change` to the product; the product as it is after (as it was, for an empty
    /// change), `None` when there is no such product.
    pub async fn update_product(
        &self,
        id: &ProductId,
        change: ProductChange,
    ) -> mongodb::error::Result<Option<ProductDoc>> {
        let mut set = change.fields();
        if set.is_empty() {
            return self.product(id).await;
        }
        set.insert("updated_at", DateTime::now());
        self.products()
            .find_one_and_update(doc! { "_id": id.as_str() }, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
    }

    pub async fn order(&self, id: &OrderId) -> mongodb::error::Result<Option<OrderDoc>> {
        self.orders().find_one(doc! { "_id": id.as_str() }).await
    }

    pub async fn product(&self, id: &ProductId) -> mongodb::error::Result<Option<ProductDoc>> {
        self.products().find_one(doc! { "_id": id.as_str() }).await
    }

    pub async fn user(&self, id: &UserId) -> mongodb::error::Result<Option<UserDoc>> {
        self.users().find_one(doc! { "_id": id.as_str() }).await
    }

    /// The names of the users among `ids` (one read; unknown ids are left out).
    pub async fn user_names(&self, ids: &[&str]) -> mongodb::error::Result<HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Vec<Document> = self
            .users()
            .clone_with_type::<Document>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1, "name": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|u| {
                Some((
                    u.get_str("_id").ok()?.to_string(),
                    u.get_str("name").ok()?.to_string(),
                ))
            })
            .collect())
    }

    /// The numbers of the orders among `ids` that have one (one read).
    pub async fn order_numbers(&self, ids: &[&str]) -> mongodb::error::Result<HashMap<String, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found: Vec<Document> = self
            .orders()
            .clone_with_type::<Document>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1, "number": 1 })
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|o| Some((o.get_str("_id").ok()?.to_string(), o.get_i64("number").ok()?)))
            .collect())
    }

    pub async fn user_by_email(&self, email: &Email) -> mongodb::error::Result<Option<UserDoc>> {
        self.users().find_one(doc! { "email": email.as_str() }).await
    }

    /// Makes the account with `email` an admin; `false` when there is none.
    pub async fn promote_to_admin(&self, email: &Email) -> mongodb::error::Result<bool> {
        let updated = self
            .users()
            .update_one(
                doc! { "email": email.as_str() },
                doc! { "$set": { "role": "admin", "updated_at": DateTime::now() } },
            )
            .await?;
        Ok(updated.matched_count > 0)
    }

    /// The ledger entry of the stock adjustment `adjustment_id` of `product`, once it is applied.
    pub async fn stock_adjustment(
        &self,
        product: &ProductId,
        adjustment_id: &str,
    ) -> mongodb::error::Result<Option<LedgerDoc>> {
        self.ledger()
            .find_one(doc! { "_id": LedgerDoc::adjust_key(adjustment_id), "product_id": product.as_str() })
            .await
    }

    pub async fn webhook_endpoint(&self, id: &WebhookId) -> mongodb::error::Result<Option<EndpointDoc>> {
        self.webhook_endpoints()
            .find_one(doc! { "_id": id.as_str() })
            .await
    }
}

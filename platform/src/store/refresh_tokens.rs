//! Refresh tokens, kept by their hash: spent once, linked to the token they were exchanged
//! for, and revoked by family (every session of one sign-in chain).

use mongodb::bson::{DateTime, doc};
use oms_contracts::UserId;

use super::{RefreshTokenDoc, Store};

impl Store {
    pub async fn refresh_token(&self, hash: &str) -> mongodb::error::Result<Option<RefreshTokenDoc>> {
        self.refresh_tokens().find_one(doc! { "_id": hash }).await
    }

    /// Spends an unused, unrevoked token at `at`; `false` when it was spent or revoked already
    /// (of two concurrent exchanges of one token, only one wins).
    pub async fn spend_refresh_token(&self, hash: &str, at: DateTime) -> mongodb::error::Result<bool> {
        let spent = self
            .refresh_tokens()
            .update_one(
                doc! { "_id": hash, "used_at": null, "revoked": false },
                doc! { "$set": { "used_at": at } },
            )
            .await?;
        Ok(spent.modified_count == 1)
    }

    /// Records which token `hash` was exchanged for.
    pub async fn link_refresh_token(&self, hash: &str, successor: &str) -> mongodb::error::Result<()> {
        self.refresh_tokens()
            .update_one(
                doc! { "_id": hash },
                doc! { "$set": { "replaced_by": successor } },
            )
            .await?;
        Ok(())
    }

    /// Whether any token of the family has been revoked.
    pub async fn token_family_revoked(&self, family_id: &str) -> mongodb::error::Result<bool> {
        let revoked = self
            .refresh_tokens()
            .find_one(doc! { "family_id": family_id, "revoked": true })
            .await?;
        Ok(revoked.is_some())
    }

    /// Revokes every token of the family; with `owner`, only if it is that user's.
    pub async fn revoke_token_family(
        &self,
        family_id: &str,
        owner: Option<&UserId>,
    ) -> mongodb::error::Result<()> {
        let mut filter = doc! { "family_id": family_id };
        if let Some(owner) = owner {
            filter.insert("user_id", owner.as_str());
        }
        self.refresh_tokens()
            .update_many(filter, doc! { "$set": { "revoked": true } })
            .await?;
        Ok(())
    }
}

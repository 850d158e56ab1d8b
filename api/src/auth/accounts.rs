//! Accounts: creating one (Argon2id hash), the bootstrap admin, and promoting a user.

use mongodb::bson;
use oms_contracts::domain::{Email, Password};
use oms_contracts::{Role, UserId};
use oms_platform::Store;
use oms_platform::config::AdminBootstrap;
use oms_platform::store::UserDoc;
use secrecy::ExposeSecret;

use crate::error::{ApiError, conflict_on_duplicate};

use super::*;

pub enum CreateUserError {
    Taken,
    Other(ApiError),
}

pub async fn create_user(
    store: &Store,
    email: &Email,
    password: &Password,
    name: &str,
    role: Role,
) -> Result<UserDoc, CreateUserError> {
    let password_hash = password::hash(password.expose().to_string())
        .await
        .map_err(CreateUserError::Other)?;
    let now = bson::DateTime::now();
    let user = UserDoc {
        id: UserId::new(),
        email: email.as_str().to_string(),
        name: name.to_string(),
        password_hash,
        role,
        created_at: now,
        updated_at: now,
    };
    match store.users().insert_one(&user).await {
        Ok(_) => Ok(user),
        Err(e) if oms_platform::store::is_duplicate_key(&e) => Err(CreateUserError::Taken),
        Err(e) => Err(CreateUserError::Other(conflict_on_duplicate(
            e,
            "email_taken",
            "",
            "email",
        ))),
    }
}

/// Makes sure the configured admin exists and is an admin. An existing account keeps its
/// password (so a changed `OMS_ADMIN_PASSWORD` does not silently reset it).
pub async fn ensure_admin(store: &Store, admin: &AdminBootstrap) -> anyhow::Result<()> {
    let email = Email::parse(&admin.email).map_err(|e| anyhow::anyhow!("OMS_ADMIN_EMAIL: {e}"))?;
    if promote(store, &email).await? {
        return Ok(());
    }
    let password = Password::parse(admin.password.expose_secret())
        .map_err(|e| anyhow::anyhow!("OMS_ADMIN_PASSWORD: {e}"))?;
    match create_user(store, &email, &password, "Administrator", Role::Admin).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, email = %email, "admin account created");
            Ok(())
        }
        // Another process created it meanwhile.
        Err(CreateUserError::Taken) => promote(store, &email).await.map(|_| ()),
        Err(CreateUserError::Other(e)) => Err(anyhow::anyhow!("creating the admin failed: {e}")),
    }
}

/// Gives `email` the admin role. `false` when there is no such account.
pub async fn promote(store: &Store, email: &Email) -> anyhow::Result<bool> {
    Ok(store.promote_to_admin(email).await?)
}

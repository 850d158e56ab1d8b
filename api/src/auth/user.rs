//! Who is asking: the signed-in user as the extractors in `extract` find them, and the accounts
//! read recently (so that a request costs no store read while its account is cached).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use oms_contracts::{Role, UserId};

#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The session the access token belongs to (its `sid`), when it names one.
    pub session: Option<String>,
}

impl CurrentUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A signed-in administrator; anyone else gets 403 (or 401 when not signed in).
#[derive(Clone, Debug)]
pub struct AdminUser(pub CurrentUser);

/// Accounts read in the last `ttl`, by id. Bounded: when full, it starts again empty.
pub struct AccountCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, CurrentUser)>>,
}

/// More distinct accounts than are ever active within a TTL.
const MAX_CACHED_ACCOUNTS: usize = 100_000;

impl AccountCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get(&self, id: &str) -> Option<CurrentUser> {
        let entries = self.entries.lock().ok()?;
        let (read_at, user) = entries.get(id)?;
        (read_at.elapsed() < self.ttl).then(|| user.clone())
    }

    pub(super) fn put(&self, user: &CurrentUser) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_CACHED_ACCOUNTS {
                entries.clear();
            }
            entries.insert(user.id.to_string(), (Instant::now(), user.clone()));
        }
    }
}

//! What every handler can reach.

use std::sync::Arc;

use oms_platform::{Broker, Config, Store};

use crate::auth::rate_limit::LoginLimiter;
use crate::auth::tokens::TokenKeys;
use crate::auth::user::AccountCache;
use crate::orders::hub::EventHub;
use crate::orders::intake::Intake;
use crate::orders::numbers::OrderNumbers;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub broker: Broker,
    pub tokens: Arc<TokenKeys>,
    /// Accounts read recently (see `OMS_ACCOUNT_CACHE_TTL`).
    pub accounts: Arc<AccountCache>,
    pub events: EventHub,
    /// Group commit of new orders.
    pub intake: Intake,
    /// This process's order numbers.
    pub order_numbers: Arc<OrderNumbers>,
    pub login_limiter: Arc<LoginLimiter>,
    /// RabbitMQ's management API, for the ops views.
    pub management: oms_platform::rabbit::Management,
}

impl AppState {
    pub fn new(config: Config, store: Store, broker: Broker) -> Self {
        let tokens = Arc::new(TokenKeys::new(&config));
        let management = oms_platform::rabbit::Management::new(&config.rabbit_management_url);
        let intake = Intake::start(store.clone(), broker.clone(), config.partitions);
        Self {
            intake,
            order_numbers: Arc::default(),
            accounts: Arc::new(AccountCache::new(config.account_cache_ttl)),
            config: Arc::new(config),
            store,
            broker,
            tokens,
            events: EventHub::new(),
            // Ten wrong passwords per account, a hundred per client address, per 15 minutes.
            management,
            login_limiter: Arc::new(LoginLimiter::new(
                std::time::Duration::from_secs(15 * 60),
                10,
                100,
            )),
        }
    }
}

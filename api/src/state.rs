//! What every handler can reach.

use std::sync::Arc;

use oms_platform::{Broker, Config, Store};

use crate::auth::tokens::TokenKeys;
use crate::orders::events::EventHub;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub broker: Broker,
    pub tokens: Arc<TokenKeys>,
    pub events: EventHub,
}

impl AppState {
    pub fn new(config: Config, store: Store, broker: Broker) -> Self {
        let tokens = Arc::new(TokenKeys::new(&config));
        Self {
            config: Arc::new(config),
            store,
            broker,
            tokens,
            events: EventHub::new(),
        }
    }
}

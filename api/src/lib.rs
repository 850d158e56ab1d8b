//! The OMS HTTP API. [`Application::build`] binds and wires everything; tests build it on
//! `127.0.0.1:0` and ask for the port.

pub mod analytics;
pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod paging;
pub mod products;
pub mod state;
mod web;
pub mod webhooks;

use std::net::SocketAddr;

use oms_platform::{Broker, Config, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use state::AppState;
/// The whole router, as [`Application`] serves it (tests list its routes).
pub use web::router;

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Binds `config.http_addr` (port 0 picks a free one) and builds the router.
    pub async fn build(config: Config, store: Store, broker: Broker) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.http_addr).await?;
        let state = AppState::new(config, store, broker);
        Ok(Self {
            listener,
            router: web::router(state.clone()),
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The process's order-event fan-out (tests wait until it listens).
    pub fn events(&self) -> orders::events::EventHub {
        self.state.events.clone()
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Serves until `shutdown` is cancelled, then finishes in-flight requests.
    pub async fn run_until(self, shutdown: CancellationToken) -> std::io::Result<()> {
        tracing::info!(addr = %self.local_addr(), "API listening");
        let hub = self
            .state
            .events
            .clone()
            .run(self.state.broker.clone(), shutdown.clone());
        let hub = tokio::spawn(hub);
        let served = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let (shutdown, events) = (shutdown.clone(), self.state.events.clone());
            async move {
                shutdown.cancelled().await;
                // Event streams never end by themselves: end them so that shutdown is not held up.
                events.close();
            }
        })
        .await;
        shutdown.cancel();
        let _ = hub.await;
        served
    }
}

/// Start-up work every API process does once: the configured admin exists.
pub async fn bootstrap(config: &Config, store: &Store) -> anyhow::Result<()> {
    if let Some(admin) = &config.admin {
        auth::ensure_admin(store, admin).await?;
    }
    Ok(())
}

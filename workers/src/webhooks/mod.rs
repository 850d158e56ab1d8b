//! Webhooks: the fan-out of events into per-endpoint deliveries, the delivery loop with its
//! persistent retry schedule, Standard Webhooks signing, sealed secrets, and the address rules
//! that keep deliveries off internal networks.

pub mod dispatch;
pub mod fanout;
pub use oms_platform::webhooks::{secrets, sign, ssrf};

pub use dispatch::Dispatcher;
pub use fanout::FanOut;

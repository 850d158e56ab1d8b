//! Fail points: named places where a test can make a worker behave as if its process died
//! (for example between committing to the store and acking). Empty in production.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::consumer::HandleError;

pub mod points {
    /// The stock worker committed a change but has neither replied nor acked.
    pub const STOCK_AFTER_COMMIT: &str = "stock.after_commit";
    /// The order worker committed a change but has neither published nor acked.
    pub const ORDERS_AFTER_COMMIT: &str = "orders.after_commit";
}

#[derive(Clone, Default)]
pub struct FailPoints {
    remaining: Arc<Mutex<HashMap<&'static str, u32>>>,
}

impl FailPoints {
    /// Makes `point` fire its next `times` passes.
    pub fn arm(&self, point: &'static str, times: u32) {
        if let Ok(mut map) = self.remaining.lock() {
            map.insert(point, times);
        }
    }

    /// `Err(Crash)` if `point` is armed (counting it down), else `Ok`.
    pub fn check(&self, point: &'static str) -> Result<(), HandleError> {
        let Ok(mut map) = self.remaining.lock() else {
            return Ok(());
        };
        match map.get_mut(point) {
            Some(n) if *n > 0 => {
                *n -= 1;
                Err(HandleError::Crash(point))
            }
            _ => Ok(()),
        }
    }

    pub fn fired_all(&self, point: &'static str) -> bool {
        self.remaining
            .lock()
            .map(|map| map.get(point).is_none_or(|n| *n == 0))
            .unwrap_or(true)
    }
}

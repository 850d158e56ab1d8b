//! Order numbers: short, unique, and nearly in placement order. Each API process takes numbers
//! from the store in blocks (one round trip per block) and hands them out in turn, so numbering
//! costs an order a hundredth of a store command; numbers of a block left unused when a process
//! stops are skipped, and with several processes the numbers interleave by block.

use std::ops::Range;

use oms_platform::Store;
use tokio::sync::Mutex;

/// Numbers taken from the store at once.
const BLOCK: i64 = 100;

#[derive(Default)]
pub struct OrderNumbers {
    left: Mutex<Range<i64>>,
}

impl OrderNumbers {
    /// The next number of this process.
    pub async fn next(&self, store: &Store) -> mongodb::error::Result<i64> {
        let mut left = self.left.lock().await;
        if left.is_empty() {
            *left = store.reserve_order_numbers(BLOCK).await?;
        }
        let number = left.start;
        left.start += 1;
        Ok(number)
    }
}

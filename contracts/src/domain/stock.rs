//! Quantities of stock: levels, an admin's corrections, and order line quantities.

use serde::{Deserialize, Serialize};

use super::*;

/// The most units of one product OMS will hold.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// An absolute stock level (initial stock): 0 to [`MAX_STOCK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StockLevel(i64);

impl StockLevel {
    pub fn parse(units: i64) -> Result<Self, Invalid> {
        if !(0..=MAX_STOCK).contains(&units) {
            return Err(Invalid::new(format!("must be between 0 and {MAX_STOCK}")));
        }
        Ok(Self(units))
    }

    pub fn units(self) -> i64 {
        self.0
    }
}

/// An admin's stock correction: non-zero, at most [`MAX_STOCK`] either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct StockDelta(i64);

impl StockDelta {
    pub fn parse(delta: i64) -> Result<Self, Invalid> {
        if delta == 0 {
            return Err(Invalid::new("must not be zero"));
        }
        if delta.unsigned_abs() > MAX_STOCK as u64 {
            return Err(Invalid::new(format!(
                "must be between -{MAX_STOCK} and {MAX_STOCK}"
            )));
        }
        Ok(Self(delta))
    }

    pub fn units(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for StockDelta {
    type Error = Invalid;
    fn try_from(v: i64) -> Result<Self, Invalid> {
        Self::parse(v)
    }
}

impl From<StockDelta> for i64 {
    fn from(d: StockDelta) -> i64 {
        d.0
    }
}

/// The quantity of one order line: 1 to 1000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn parse(raw: i64) -> Result<Self, Invalid> {
        if !(1..=i64::from(Self::MAX)).contains(&raw) {
            return Err(Invalid::new(format!("must be between 1 and {}", Self::MAX)));
        }
        Ok(Self(raw as u32))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = Invalid;
    fn try_from(v: i64) -> Result<Self, Invalid> {
        Self::parse(v)
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        i64::from(q.0)
    }
}

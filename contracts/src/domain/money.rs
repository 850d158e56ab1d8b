//! Money: ISO 4217 currencies with their minor units, amounts in minor units, and prices.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::*;

/// ISO 4217 codes in current use.
pub(crate) const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP \
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW \
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO \
NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD \
SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF \
XPF YER ZAR ZMW ZWL";

/// An ISO 4217 currency code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "USD", pattern = "^[A-Z]{3}$")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim();
        let known = code.len() == 3
            && code.bytes().all(|b| b.is_ascii_uppercase())
            && ISO_4217.split(' ').any(|c| c == code);
        if !known {
            return Err(Invalid::new("must be an ISO 4217 currency code such as USD"));
        }
        let b = code.as_bytes();
        Ok(Self([b[0], b[1], b[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// ISO 4217's minor-unit exponent: how many digits follow the decimal point (JPY 0, USD 2,
    /// KWD 3). Amounts are always integers in minor units; this is how people read and type them.
    pub fn minor_units(self) -> u8 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// Every currency code OMS accepts.
    pub fn all() -> impl Iterator<Item = Currency> {
        ISO_4217.split(' ').filter_map(|code| Currency::parse(code).ok())
    }
}

impl TryFrom<String> for Currency {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in minor units (cents) of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// In minor units (cents for USD).
    pub amount: i64,
    pub currency: Currency,
}

/// The largest price a product may have, in minor units (ten million in major units).
pub const MAX_PRICE: i64 = 1_000_000_000;

/// A product's unit price: non-negative and bounded, so that 50 lines of 1000 units cannot overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn parse(amount: i64) -> Result<Self, Invalid> {
        if !(0..=MAX_PRICE).contains(&amount) {
            return Err(Invalid::new(format!(
                "must be a whole number of minor units between 0 and {MAX_PRICE}"
            )));
        }
        Ok(Self(amount))
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

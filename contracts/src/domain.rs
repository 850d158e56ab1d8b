//! Validated domain values: once a value has one of these types it is valid
//! (parse, don't validate). Each `parse` says what is wrong; the caller names the field.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a raw value was refused. The HTTP layer attaches the field it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Invisible characters that reorder or hide text (bidirectional overrides, zero-width
/// characters, the byte-order mark): fine in prose, a spoofing tool in names.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A text field: trimmed, within `min..=max` characters, without control characters.
fn bounded_text(raw: &str, min: usize, max: usize, allow_newlines: bool) -> Result<String, Invalid> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        return Err(Invalid::new(if min == 1 {
            "must not be empty".to_string()
        } else {
            format!("must be at least {min} characters")
        }));
    }
    if len > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')));
    if bad {
        return Err(Invalid::new("must not contain control characters"));
    }
    if text.chars().any(is_invisible_format) {
        return Err(Invalid::new("must not contain invisible formatting characters"));
    }
    Ok(text.to_string())
}

/// An e-mail address, trimmed and lower-cased so that one mailbox is one account.
/// Deliberately ASCII-only: internationalised addresses open homograph tricks that a
/// shop does not need.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err(Invalid::new("must not be empty"));
        }
        if email.len() > 254 {
            return Err(Invalid::new("must be at most 254 characters"));
        }
        if !email.is_ascii() || has_control(&email) || email.contains(char::is_whitespace) {
            return Err(Invalid::new("must be a plain ASCII e-mail address"));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(Invalid::new("must contain an @"));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        if !domain_ok || !local_ok {
            return Err(Invalid::new("is not a valid e-mail address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> String {
        email.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: 8–128 characters. Never serialised, never printed.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < 8 {
            return Err(Invalid::new("must be at least 8 characters"));
        }
        if len > 128 {
            return Err(Invalid::new("must be at most 128 characters"));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $min:expr, $max:expr, $newlines:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(raw: String) -> Result<Self, Invalid> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> String {
                text.0
            }
        }

        impl $name {
            /// The fewest characters, after trimming.
            pub const MIN_LEN: usize = $min;
            /// The most characters, after trimming.
            pub const MAX_LEN: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                bounded_text(raw, $min, $max, $newlines).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_type!(
    /// A person's display name.
    PersonName, 1, 100, false
);
text_type!(
    /// A product's name.
    ProductName, 1, 200, false
);
text_type!(
    /// A product's description; may be empty and may span lines.
    Description, 0, 5000, true
);
text_type!(
    /// Why an admin did something (stock adjustment, transition).
    Reason, 1, 500, false
);

/// A client's `Idempotency-Key`: 1 to [`IdempotencyKey::MAX_LEN`] visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Invalid::new(format!(
                "must be 1 to {} visible ASCII characters",
                Self::MAX_LEN
            )));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stock-keeping unit: 1–64 of `A–Z a–z 0–9 - _ .`, stored upper-case so that `ab-1` and `AB-1` clash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl TryFrom<String> for Sku {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl From<Sku> for String {
    fn from(sku: Sku) -> String {
        sku.0
    }
}

impl Sku {
    pub const MAX_LEN: usize = 64;
    /// What a SKU may contain (the OpenAPI document's pattern).
    pub const PATTERN: &'static str = "^[A-Za-z0-9._-]{1,64}$";

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let sku = raw.trim();
        if sku.is_empty() || sku.len() > Self::MAX_LEN {
            return Err(Invalid::new("must be 1 to 64 characters"));
        }
        if !sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Invalid::new("may contain only letters, digits, '-', '_' and '.'"));
        }
        Ok(Self(sku.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 4217 codes in current use.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
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

/// The image formats OMS accepts, told apart by their magic bytes (never by a client's header
/// or file name). Serialised as the media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageType {
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/webp")]
    WebP,
}

impl ImageType {
    /// The format of `bytes`, if it is one OMS accepts.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::WebP)
        } else {
            None
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::WebP => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
            ImageType::WebP => "webp",
        }
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

/// A page request: `page` from 1, `per_page` 1–100 (default 20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub page: u64,
    pub per_page: u64,
}

impl Paging {
    pub const DEFAULT_PER_PAGE: u64 = 20;
    pub const MAX_PER_PAGE: u64 = 100;
    /// Page numbers reach the first 10,000 items at most (100 pages of 100): deeper, a list is
    /// read by cursor, which costs the same at any depth.
    pub const MAX_PAGE: u64 = 100;

    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, (&'static str, Invalid)> {
        let page = page.unwrap_or(1);
        if !(1..=Self::MAX_PAGE as i64).contains(&page) {
            return Err((
                "page",
                Invalid::new(format!("must be between 1 and {}", Self::MAX_PAGE)),
            ));
        }
        let per_page = per_page.unwrap_or(Self::DEFAULT_PER_PAGE as i64);
        if !(1..=Self::MAX_PER_PAGE as i64).contains(&per_page) {
            return Err((
                "per_page",
                Invalid::new(format!("must be between 1 and {}", Self::MAX_PER_PAGE)),
            ));
        }
        Ok(Self {
            page: page as u64,
            per_page: per_page as u64,
        })
    }

    pub fn skip(self) -> u64 {
        (self.page - 1) * self.per_page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn bad_emails_are_refused() {
        for raw in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "ädä@example.com",
            "a@example..com",
            "a\u{0}@example.com",
            "{\"$gt\":\"\"}@x.com",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").expect("valid")),
            "Password(**redacted**)"
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada ").expect("valid").as_str(), "Ada");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("a\u{7}b").is_err());
        assert!(ProductName::parse(&"n".repeat(201)).is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("two\nlines").is_ok());
        assert!(PersonName::parse("Zoë 🚀 李").is_ok());
        assert!(PersonName::parse("admin\u{202E}nimda").is_err());
        assert!(ProductName::parse("zero\u{200B}width").is_err());
    }

    #[test]
    fn skus_are_upper_cased_and_restricted() {
        assert_eq!(Sku::parse("ab-1.x_2").expect("valid").as_str(), "AB-1.X_2");
        assert!(Sku::parse("a b").is_err());
        assert!(Sku::parse("$gt").is_err());
        assert!(Sku::parse("").is_err());
    }

    #[test]
    fn validated_text_cannot_be_deserialised_unchecked() {
        assert!(serde_json::from_str::<Email>("\"not an address\"").is_err());
        assert_eq!(
            serde_json::from_str::<Email>("\" Ada@Example.com\"")
                .ok()
                .map(|e| e.0),
            Some("ada@example.com".to_string())
        );
        assert!(serde_json::from_str::<Sku>("\"no spaces\"").is_err());
        assert!(serde_json::from_str::<PersonName>("\"\"").is_err());
        assert!(serde_json::from_str::<Reason>(&format!("\"{}\"", "x".repeat(501))).is_err());
        assert_eq!(
            serde_json::to_string(&Sku::parse("ab-1").expect("sku")).ok(),
            Some("\"AB-1\"".into())
        );
    }

    #[test]
    fn image_types_are_sniffed_from_magic_bytes_only() {
        assert_eq!(ImageType::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(ImageType::Png));
        assert_eq!(ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageType::Jpeg));
        assert_eq!(ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageType::WebP));
        assert!(ImageType::sniff(b"GIF89a").is_none());
        assert!(ImageType::sniff(b"hello, I am a .png").is_none());
        assert_eq!(
            serde_json::to_string(&ImageType::Jpeg).ok().as_deref(),
            Some("\"image/jpeg\"")
        );
        assert!(serde_json::from_str::<ImageType>("\"image/gif\"").is_err());
    }

    #[test]
    fn currencies_have_their_iso_4217_minor_units() {
        let units = |code: &str| Currency::parse(code).expect("currency").minor_units();
        assert_eq!(
            (units("JPY"), units("EUR"), units("USD"), units("KWD")),
            (0, 2, 2, 3)
        );
        assert!(Currency::all().count() > 150);
        assert!(Currency::all().all(|c| c.minor_units() <= 3));
    }

    #[test]
    fn currencies_must_be_iso_4217() {
        assert_eq!(Currency::parse("EUR").expect("valid").as_str(), "EUR");
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("ABC").is_err());
        assert!(Currency::parse("US").is_err());
    }

    #[test]
    fn numbers_are_bounded() {
        assert!(Price::parse(-1).is_err());
        assert!(Price::parse(0).is_ok());
        assert!(Price::parse(MAX_PRICE + 1).is_err());
        assert!(StockLevel::parse(-1).is_err());
        assert!(StockLevel::parse(MAX_STOCK).is_ok());
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(1).is_ok());
        assert!(Quantity::parse(1000).is_ok());
        assert!(Quantity::parse(1001).is_err());
        assert!(StockDelta::parse(0).is_err());
        assert!(StockDelta::parse(-5).is_ok());
        assert!(StockDelta::parse(i64::MIN).is_err());
    }

    #[test]
    fn paging_has_defaults_and_limits() {
        assert_eq!(
            Paging::parse(None, None),
            Ok(Paging {
                page: 1,
                per_page: 20
            })
        );
        assert_eq!(Paging::parse(Some(3), Some(10)).expect("valid").skip(), 20);
        assert_eq!(Paging::parse(Some(0), None).map_err(|e| e.0), Err("page"));
        assert_eq!(Paging::parse(None, Some(101)).map_err(|e| e.0), Err("per_page"));
    }
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

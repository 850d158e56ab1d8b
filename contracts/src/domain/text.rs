//! Text that people type: e-mail addresses, passwords, names, descriptions, reasons, SKUs and
//! idempotency keys, each parsed once into a type that cannot hold a bad value.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::*;

pub(crate) fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

/// Invisible characters that reorder or hide text (bidirectional overrides, zero-width
/// characters, the byte-order mark): fine in prose, a spoofing tool in names.
pub(crate) fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// What a single-line text field may hold, as a regular expression (for the OpenAPI document):
/// something not blank, and no control or invisible formatting character.
pub const LINE_PATTERN: &str =
    "^(?=[\\s\\S]*\\S)[^\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff]*$";
/// The same for text that may span lines (tabs and line breaks allowed) and may be empty.
pub const PROSE_PATTERN: &str =
    "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff]*$";

/// A text field: trimmed, within `min..=max` characters, without control characters. What is
/// refused is judged on the text as sent, as the OpenAPI document's pattern and `maxLength` do
/// (a name of 200 characters plus a space, or ending in a line break, is refused, not trimmed
/// into shape); the minimum is judged after trimming (blank is empty).
pub(crate) fn bounded_text(
    raw: &str,
    min: usize,
    max: usize,
    allow_newlines: bool,
) -> Result<String, Invalid> {
    let text = raw.trim();
    if raw.chars().count() > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    if text.chars().count() < min {
        return Err(Invalid::new(if min == 1 {
            "must not be empty".to_string()
        } else {
            format!("must be at least {min} characters")
        }));
    }
    let bad = raw
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')));
    if bad {
        return Err(Invalid::new("must not contain control characters"));
    }
    if raw.chars().any(is_invisible_format) {
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
    /// What `parse` accepts, as a regular expression (for the OpenAPI document).
    pub const PATTERN: &'static str = "^\\s*(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+\\s*$";
    pub const MAX_LEN: usize = 254;

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
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(Invalid::new(format!(
                "must be at least {} characters",
                Self::MIN_LEN
            )));
        }
        if len > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
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

//! Identifiers. Every id is a UUID (v7 for the ones OMS mints, so they sort by creation time)
//! carried as its hyphenated lower-case string, which is also how it is stored and sent.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::Invalid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id. (No `Default`: an id that is silently a fresh random one
            /// where a value was forgotten would hide the mistake.)
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self(Uuid::now_v7().to_string())
            }

            /// Accepts only a well-formed UUID, normalised to its hyphenated lower-case form.
            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                Uuid::try_parse(raw)
                    .map(|uuid| Self(uuid.hyphenated().to_string()))
                    .map_err(|_| Invalid::new("is not a well-formed id"))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(raw: String) -> Result<Self, Invalid> {
                Self::parse(&raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A product of the catalogue.
    ProductId
);
id_type!(
    /// An order.
    OrderId
);
id_type!(
    /// One message on the broker; redeliveries keep it.
    MessageId
);
id_type!(
    /// A webhook endpoint an admin registered.
    WebhookId
);
id_type!(
    /// One event's delivery to one webhook endpoint (all its attempts).
    DeliveryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_uuids_and_normalise_them() {
        let id = OrderId::parse("0190F5A2-1C3B-7D4E-8F00-0123456789AB").expect("valid");
        assert_eq!(id.as_str(), "0190f5a2-1c3b-7d4e-8f00-0123456789ab");
    }

    #[test]
    fn ids_refuse_anything_else() {
        for raw in [
            "",
            "42",
            "{\"$gt\":\"\"}",
            "0190f5a2-1c3b-7d4e-8f00",
            "../etc/passwd",
        ] {
            assert!(ProductId::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn new_ids_round_trip_through_json() {
        let id = UserId::new();
        let json = serde_json::to_string(&id).expect("serialise");
        let back: UserId = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(id, back);
        assert!(serde_json::from_str::<UserId>("\"nope\"").is_err());
    }
}

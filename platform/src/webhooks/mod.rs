//! What the API and the webhook workers share about webhooks: the signing (Standard Webhooks),
//! the secrets sealed at rest, and the address rules against server-side request forgery.

pub mod secrets;
pub mod sign;
pub mod ssrf;

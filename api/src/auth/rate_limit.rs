//! Login throttling: failed sign-ins are counted per e-mail address and per client address
//! in a sliding window; past the limit, logins answer 429 with `Retry-After` until the
//! window has moved on. In memory, per API process: enough to make guessing slow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    window: Duration,
    per_account: u32,
    per_client: u32,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, per_account: u32, per_client: u32) -> Self {
        Self {
            window,
            per_account,
            per_client,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(email: &str, client: &str) -> [(String, bool); 2] {
        [
            (format!("account:{email}"), true),
            (format!("client:{client}"), false),
        ]
    }

    /// `Err(seconds)` while either key is over its limit.
    pub fn check(&self, email: &str, client: &str) -> Result<(), u64> {
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let mut wait = None;
        for (key, is_account) in Self::keys(email, client) {
            let limit = if is_account {
                self.per_account
            } else {
                self.per_client
            } as usize;
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    let secs = self
                        .window
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        .max(1);
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait.map_or(Ok(()), Err)
    }

    pub fn record_failure(&self, email: &str, client: &str) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        let now = Instant::now();
        // Keep the map from growing without bound under a spray of addresses.
        if failures.len() > 100_000 {
            let window = self.window;
            failures.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
        }
        for (key, _) in Self::keys(email, client) {
            failures.entry(key).or_default().push(now);
        }
    }

    pub fn record_success(&self, email: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("account:{email}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_account_and_per_client() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 5);
        for _ in 0..3 {
            assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
            limiter.record_failure("a@x.io", "1.1.1.1");
        }
        let wait = limiter.check("a@x.io", "2.2.2.2").expect_err("account limited");
        assert!((1..=60).contains(&wait));
        // Another account from the same client still has two attempts before the client limit.
        assert!(limiter.check("b@x.io", "1.1.1.1").is_ok());
        limiter.record_failure("b@x.io", "1.1.1.1");
        limiter.record_failure("b@x.io", "1.1.1.1");
        assert!(limiter.check("c@x.io", "1.1.1.1").is_err(), "client limited");
    }

    #[test]
    fn success_clears_the_account() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 2, 100);
        limiter.record_failure("a@x.io", "1.1.1.1");
        limiter.record_success("a@x.io");
        limiter.record_failure("a@x.io", "1.1.1.1");
        assert!(limiter.check("a@x.io", "1.1.1.1").is_ok());
    }
}

//! Where webhooks may go. An endpoint URL must be `https://` (plain `http://` only in dev), carry
//! no credentials, and name a host whose every address is public: loopback, private, link-local
//! (which holds the cloud metadata address), shared, multicast and reserved ranges are refused
//! unless explicitly allowed (`OMS_WEBHOOKS_ALLOW_PRIVATE=true`). The check is made when an
//! endpoint is saved and again at every delivery, by the HTTP client's own resolver, on the very
//! addresses it connects to: a name that later resolves elsewhere (DNS rebinding) is refused then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What the deployment allows.
#[derive(Clone, Copy, Debug)]
pub struct UrlPolicy {
    pub allow_http: bool,
    pub allow_private: bool,
}

impl UrlPolicy {
    pub fn from_config(config: &crate::config::WebhooksConfig) -> Self {
        Self {
            allow_http: config.allow_http,
            allow_private: config.allow_private,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeUrl {
    #[error("is not an absolute URL")]
    NotUrl,
    #[error("must start with https://")]
    NotHttps,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
    #[error("resolves to {0}, an address webhooks may not reach (loopback, private, link-local or reserved)")]
    Blocked(IpAddr),
    #[error("does not resolve: {0}")]
    Unresolvable(String),
}

/// The URL's form: scheme, no credentials, a host; an address literal is checked too.
pub fn check_form(policy: UrlPolicy, raw: &str) -> Result<Url, UnsafeUrl> {
    let url = Url::parse(raw.trim()).map_err(|_| UnsafeUrl::NotUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(UnsafeUrl::NotHttps),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UnsafeUrl::Credentials);
    }
    match url.host() {
        None => return Err(UnsafeUrl::NoHost),
        Some(url::Host::Ipv4(ip)) => allowed(policy, IpAddr::V4(ip))?,
        Some(url::Host::Ipv6(ip)) => allowed(policy, IpAddr::V6(ip))?,
        Some(url::Host::Domain(_)) => {}
    }
    Ok(url)
}

/// The form, and every address the host resolves to now.
pub async fn check(policy: UrlPolicy, raw: &str) -> Result<Url, UnsafeUrl> {
    let url = check_form(policy, raw)?;
    if let Some(url::Host::Domain(host)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        resolve(policy, host, port).await?;
    }
    Ok(url)
}

fn allowed(policy: UrlPolicy, ip: IpAddr) -> Result<(), UnsafeUrl> {
    if !policy.allow_private && is_internal(ip) {
        return Err(UnsafeUrl::Blocked(ip));
    }
    Ok(())
}

/// Resolves `host`, refusing it if any address is internal (a name with one public and one
/// private address could be steered to the private one).
async fn resolve(policy: UrlPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, UnsafeUrl> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| UnsafeUrl::Unresolvable(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(UnsafeUrl::Unresolvable("no addresses".into()));
    }
    for addr in &addrs {
        allowed(policy, addr.ip())?;
    }
    Ok(addrs)
}

/// Whether webhooks must not reach `ip` (unless private addresses are allowed).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_internal_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let s = ip.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                return is_internal_v4(v4);
            }
            ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (fc00::/7, holds fd00:ec2::254)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || ip == Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0) // odd mapped forms
                || (s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated), ::/96
        }
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata (169.254.169.254)
        || (a == 100 && (64..128).contains(&b)) // shared address space (100.64/10), Alibaba metadata
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || ip.is_broadcast()
        || ip.is_multicast()
        || a >= 240 // reserved
        || ip.is_documentation()
}

/// The HTTP client's resolver: the addresses it connects to are the ones checked.
pub struct GuardedResolver {
    pub policy: UrlPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let addrs = resolve(policy, name.as_str(), 0)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The client every delivery uses: the guarded resolver, no proxy, no redirects, the timeout.
pub fn client(policy: UrlPolicy, timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy }))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent("oms-webhooks/1")
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_private: false,
    };

    #[test]
    fn internal_addresses_are_refused() {
        for raw in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
        ] {
            let ip: IpAddr = raw.parse().expect("ip");
            assert!(is_internal(ip), "{raw} allowed");
        }
        for raw in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"] {
            assert!(!is_internal(raw.parse().expect("ip")), "{raw} refused");
        }
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            check_form(STRICT, "http://example.com/"),
            Err(UnsafeUrl::NotHttps)
        );
        assert_eq!(check_form(STRICT, "ftp://example.com/"), Err(UnsafeUrl::NotHttps));
        assert_eq!(
            check_form(STRICT, "https://u:p@example.com/"),
            Err(UnsafeUrl::Credentials)
        );
        assert!(matches!(
            check_form(STRICT, "https://2130706433/"),
            Err(UnsafeUrl::Blocked(_))
        ));
        assert!(matches!(
            check_form(STRICT, "https://[::ffff:169.254.169.254]/"),
            Err(UnsafeUrl::Blocked(_))
        ));
        assert!(check_form(STRICT, "https://example.com/hook").is_ok());
        assert_eq!(check_form(STRICT, "not a url"), Err(UnsafeUrl::NotUrl));
    }
}

//! Service URLs (`amqp://`, `amqps://`, `http://`, `mongodb://`), taken apart once: credentials,
//! one or more `host:port` addresses, and the path. No I/O; secrets stay in the caller's
//! `SecretString` until a client needs them.

/// A service URL's parts. `hosts` keeps every comma-separated address, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceUrl {
    pub scheme: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub hosts: Vec<Host>,
    /// After the authority, without the leading `/` and without the query (percent-decoded).
    pub path: String,
    /// After `?`, as given.
    pub query: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub port: Option<u16>,
}

impl Host {
    /// `host:port`, with `default` when the URL named no port.
    pub fn address(&self, default: u16) -> String {
        format!("{}:{}", self.name, self.port.unwrap_or(default))
    }
}

impl ServiceUrl {
    /// Takes `raw` apart; `None` when it has no `scheme://` or no host.
    pub fn parse(raw: &str) -> Option<Self> {
        let (scheme, rest) = raw.split_once("://")?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_string())),
            None => (rest, None),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(percent_decode(user)), Some(percent_decode(password))),
                None => (Some(percent_decode(info)), None),
            },
            None => (None, None),
        };
        let hosts: Vec<Host> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| match h.rsplit_once(':') {
                Some((name, port)) if !name.ends_with(']') || h.starts_with('[') => Host {
                    name: name.to_string(),
                    port: port.parse().ok(),
                },
                _ => Host {
                    name: h.to_string(),
                    port: None,
                },
            })
            .collect();
        if hosts.is_empty() {
            return None;
        }
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            user,
            password,
            hosts,
            path: percent_decode(path),
            query,
        })
    }

    /// The AMQP vhost the URL names (`/` when none).
    pub fn vhost(&self) -> String {
        if self.path.is_empty() {
            "/".to_string()
        } else {
            self.path.clone()
        }
    }

    /// The same URL for each of its hosts alone (an AMQP client connects to one address at a time).
    pub fn each_host(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|host| {
                let credentials = match (&self.user, &self.password) {
                    (Some(u), Some(p)) => format!("{}:{}@", percent_encode(u), percent_encode(p)),
                    (Some(u), None) => format!("{}@", percent_encode(u)),
                    _ => String::new(),
                };
                let port = host.port.map(|p| format!(":{p}")).unwrap_or_default();
                let query = self.query.as_ref().map(|q| format!("?{q}")).unwrap_or_default();
                // No path stays no path: for AMQP, `host/` would name the vhost "" rather than "/".
                let path = if self.path.is_empty() {
                    String::new()
                } else {
                    format!("/{}", percent_encode(&self.path))
                };
                format!("{}://{credentials}{}{port}{path}{query}", self.scheme, host.name)
            })
            .collect()
    }

    /// RabbitMQ's management API beside this AMQP URL: same hosts and credentials (guest/guest
    /// when none), port 15672, `https` for `amqps`.
    pub fn management(&self) -> String {
        let scheme = if self.scheme == "amqps" { "https" } else { "http" };
        let user = self.user.as_deref().unwrap_or("guest");
        let password = self.password.as_deref().unwrap_or("guest");
        let hosts: Vec<String> = self.hosts.iter().map(|h| format!("{}:15672", h.name)).collect();
        format!(
            "{scheme}://{}:{}@{}",
            percent_encode(user),
            percent_encode(password),
            hosts.join(",")
        )
    }

    /// `scheme://host:port` of the first host, without credentials or path.
    pub fn origin(&self) -> String {
        self.each_origin().swap_remove(0)
    }

    /// `scheme://host:port` of every host, in order, without credentials or path.
    pub fn each_origin(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|host| match host.port {
                Some(port) => format!("{}://{}:{port}", self.scheme, host.name),
                None => format!("{}://{}", self.scheme, host.name),
            })
            .collect()
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decodes `%XX` escapes; anything malformed is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Escapes what may not appear as is in a URL's user, password or path segment.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amqp_url_comes_apart() {
        let url =
            ServiceUrl::parse("amqp://user:p%40ss@rabbit:5673/oms%2Fprod?heartbeat=10").expect("parses");
        assert_eq!(url.scheme, "amqp");
        assert_eq!(url.user.as_deref(), Some("user"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(
            url.hosts,
            vec![Host {
                name: "rabbit".into(),
                port: Some(5673)
            }]
        );
        assert_eq!(url.vhost(), "oms/prod");
        assert_eq!(url.query.as_deref(), Some("heartbeat=10"));
        assert_eq!(url.management(), "http://user:p%40ss@rabbit:15672");
        assert_eq!(
            url.each_host(),
            vec!["amqp://user:p%40ss@rabbit:5673/oms%2Fprod?heartbeat=10"]
        );
    }

    #[test]
    fn several_hosts_and_defaults() {
        let url = ServiceUrl::parse("amqps://a:5671,b:5672,c").expect("parses");
        assert_eq!(url.hosts.len(), 3);
        assert_eq!(url.hosts[2].port, None);
        assert_eq!(url.vhost(), "/");
        assert_eq!(url.management(), "https://guest:guest@a:15672,b:15672,c:15672");
        assert_eq!(url.each_host()[1], "amqps://b:5672");
        assert_eq!(url.each_origin()[2], "amqps://c");
        assert_eq!(url.hosts[2].address(5672), "c:5672");
        let mongo = ServiceUrl::parse("mongodb://127.0.0.1:27091/?directConnection=true").expect("parses");
        assert_eq!(mongo.hosts[0].port, Some(27091));
        assert_eq!(mongo.origin(), "mongodb://127.0.0.1:27091");
    }

    #[test]
    fn not_a_url() {
        assert_eq!(ServiceUrl::parse("rabbit:5672"), None);
        assert_eq!(ServiceUrl::parse("amqp://"), None);
    }
}

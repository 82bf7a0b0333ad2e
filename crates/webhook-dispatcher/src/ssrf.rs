//! The SSRF guard: which delivery URLs and addresses a webhook may target.
//!
//! A URL must be `http(s)` without userinfo; every address its host resolves to must be public
//! (not loopback, private, link-local incl. cloud metadata, CGNAT, unique-local, multicast, …,
//! also when wrapped in an IPv4-mapped or NAT64 IPv6 address), unless private targets are allowed
//! or the address is in an allowed CIDR. The check runs when a subscription is created or changed
//! and again at every connect: [`GuardedResolver`] is the HTTP client's DNS resolver and drops
//! refused addresses, so a name that re-resolves to an internal address (DNS rebinding) cannot
//! reach it. IP-literal hosts bypass DNS, so [`TargetPolicy::check_literal`] runs before each attempt.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::{Host, Url};

/// Why a target is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("deliveryUrl is not a valid URL")]
    Invalid,
    #[error("deliveryUrl must use http or https")]
    Scheme,
    #[error("deliveryUrl must not contain a user name or password")]
    Userinfo,
    #[error("deliveryUrl must have a host")]
    NoHost,
    #[error("deliveryUrl host {0} does not resolve")]
    Unresolvable(String),
    #[error("deliveryUrl resolves to {0}, an internal address; webhooks may only target public addresses")]
    Internal(IpAddr),
}

/// Which addresses webhooks may reach.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    allow_private: bool,
    allowed: Vec<IpNet>,
}

impl TargetPolicy {
    /// From `webhooks.allow_private_targets` and `webhooks.allowed_cidrs` (validated at load).
    pub fn new(allow_private: bool, cidrs: &[String]) -> Self {
        let allowed = cidrs
            .iter()
            .filter_map(|c| c.parse::<IpNet>().ok().or_else(|| c.parse::<IpAddr>().ok().map(IpNet::from)))
            .collect();
        Self { allow_private, allowed }
    }

    /// Whether an attempt may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allow_private || !is_internal(ip) || self.allowed.iter().any(|n| n.contains(&ip))
    }

    /// Parses and checks the URL's shape (scheme, userinfo, host), without resolving.
    pub fn parse_url(&self, raw: &str) -> Result<Url, TargetError> {
        let url = Url::parse(raw.trim()).map_err(|_| TargetError::Invalid)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Userinfo);
        }
        if url.host().is_none() {
            return Err(TargetError::NoHost);
        }
        Ok(url)
    }

    /// Refuses an IP-literal host that is not permitted (names are checked by the resolver).
    pub fn check_literal(&self, url: &Url) -> Result<(), TargetError> {
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(TargetError::NoHost),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        if self.permits(ip) { Ok(()) } else { Err(TargetError::Internal(ip)) }
    }

    /// Parses the URL and checks every address its host resolves to now.
    pub async fn check(&self, raw: &str) -> Result<Url, TargetError> {
        let url = self.parse_url(raw)?;
        match url.host() {
            Some(Host::Domain(name)) => {
                let port = url.port_or_known_default().unwrap_or(443);
                let addrs = resolve(name, port).await.map_err(|_| TargetError::Unresolvable(name.to_owned()))?;
                for addr in addrs {
                    self.check_ip(addr.ip())?;
                }
            }
            _ => self.check_literal(&url)?,
        }
        Ok(url)
    }
}

async fn resolve(name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    // `localhost.` and friends resolve like their undotted form.
    let name = name.trim_end_matches('.');
    let found = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((name, port)))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DNS timed out"))??;
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"));
    }
    Ok(addrs)
}

/// Whether `ip` is loopback, private, link-local, shared, unique-local, multicast, reserved or
/// otherwise not a public unicast address.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()              // 127/8
        || ip.is_private()        // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()     // 169.254/16, incl. 169.254.169.254 cloud metadata
        || ip.is_multicast()      // 224/4
        || ip.is_broadcast()
        || a == 0                 // 0/8 "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 CGNAT
        || (a == 192 && b == 0 && c == 0)       // 192.0.0/24 IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))   // 198.18/15 benchmarking
        || a >= 240 // 240/4 reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4); // ::ffff:a.b.c.d
    }
    if seg[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return is_internal_v4(Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8));
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0; 4] {
        // 64:ff9b::/96 NAT64 embeds an IPv4 address in the last 32 bits.
        return is_internal_v4(Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8));
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): a network's own translator, to its own
        // IPv4 addresses, wherever in the prefix they sit.
        return true;
    }
    if seg[0] == 0x2001 && seg[1] == 0 {
        // 2001::/32 Teredo: the server and (obfuscated) client IPv4 addresses are embedded, and a
        // relay reaches whatever they name; no webhook endpoint lives there.
        return true;
    }
    if seg[0] == 0x2002 {
        // 6to4 embeds an IPv4 address in bits 16..48.
        return is_internal_v4(Ipv4Addr::new((seg[1] >> 8) as u8, seg[1] as u8, (seg[2] >> 8) as u8, seg[2] as u8));
    }
    ip.is_loopback()                      // ::1
        || ip.is_unspecified()            // ::
        || ip.is_multicast()              // ff00::/8
        || (seg[0] & 0xfe00) == 0xfc00    // fc00::/7 unique local
        || (seg[0] & 0xffc0) == 0xfe80    // fe80::/10 link local
        || (seg[0] & 0xffc0) == 0xfec0    // fec0::/10 deprecated site local
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x0100 && seg[1..4] == [0; 3]) // 100::/64 discard
}

/// The delivery client's DNS resolver: resolves with the system resolver and keeps only the
/// addresses the policy permits, so the connection can only go where the check allowed.
pub struct GuardedResolver {
    policy: Arc<TargetPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<TargetPolicy>) -> Self {
        Self { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve(&host, 0).await?;
            let permitted: Vec<SocketAddr> = addrs.iter().copied().filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                let refused = addrs.first().map(|a| a.ip().to_string()).unwrap_or_default();
                let err: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to {refused}, an internal address (refused by the SSRF guard)").into();
                return Err(err);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn internal_ranges_are_recognised() {
        for s in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "64:ff9b:1::a00:1",
            "64:ff9b:1:abcd::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::7f00:1",
        ] {
            assert!(is_internal(ip(s)), "{s} should be internal");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2001:4860::8888",
            "64:ff9b::808:808",
        ] {
            assert!(!is_internal(ip(s)), "{s} should be public");
        }
    }

    #[test]
    fn allowlist_and_switch_open_internal_addresses() {
        let strict = TargetPolicy::new(false, &[]);
        assert!(!strict.permits(ip("10.1.2.3")));
        let listed = TargetPolicy::new(false, &["10.1.2.0/24".into()]);
        assert!(listed.permits(ip("10.1.2.3")) && !listed.permits(ip("10.1.3.1")));
        assert!(TargetPolicy::new(true, &[]).permits(ip("127.0.0.1")));
    }

    #[test]
    fn url_shape_is_checked() {
        let p = TargetPolicy::new(true, &[]);
        assert_eq!(p.parse_url("ftp://example.com/x").err(), Some(TargetError::Scheme));
        assert_eq!(p.parse_url("https://user:pw@example.com/").err(), Some(TargetError::Userinfo));
        assert_eq!(p.parse_url("not a url").err(), Some(TargetError::Invalid));
        assert!(p.parse_url("https://example.com/hook").is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let p = TargetPolicy::new(false, &[]);
        assert!(matches!(p.check("http://localhost:9/x").await, Err(TargetError::Internal(_))));
        assert!(matches!(p.check("http://[::ffff:127.0.0.1]/").await, Err(TargetError::Internal(_))));
    }
}

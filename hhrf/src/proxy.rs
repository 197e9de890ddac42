//! The client address behind a proxy (`spec/HTTP.md`, "Trusted proxies"): which peers are
//! trusted (`--trusted-proxy CIDR`), the client an `X-Forwarded-For` field names (the
//! rightmost hop that is not a trusted proxy), and the PROXY protocol v1 line
//! (`--proxy-protocol`) a trusted peer sends first on a connection.
//!
//! What lives here: [`Cidr`], [`TrustedProxies`] ([`TrustedProxies::client`] is the rule),
//! [`parse_proxy_line`] and [`read_proxy_line`]. What does not: where the address goes (the
//! request context, `dispatch`; the drain rule, `admin`). From a peer that is not trusted,
//! neither the field nor a PROXY line is ever believed.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use tokio::io::AsyncReadExt as _;

/// The header field a proxy appends its client to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The most `X-Forwarded-For` hops looked at, from the right; past them the walk stops at
/// the last one looked at.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// The longest PROXY protocol v1 line, `\r\n` included (the protocol's own bound).
pub const MAX_PROXY_LINE_BYTES: usize = 107;

/// An address block, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX` or `ADDR`. The error is the rule broken.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IPv4 or IPv6 address"))?;
        let network = network.to_canonical();
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= bits)
                .ok_or_else(|| format!("the prefix length {prefix:?} is not 0 to {bits}"))?,
        };
        Ok(Cidr { network, prefix })
    }

    /// Whether `address` is in the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let shift = |bits: u32| {
            if self.prefix == 0 {
                0
            } else {
                bits - u32::from(self.prefix)
            }
        };
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u32::MAX << shift(32)
                };
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = if self.prefix == 0 {
                    0
                } else {
                    u128::MAX << shift(128)
                };
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The trusted proxies and whether they speak the PROXY protocol.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    /// The blocks of `--trusted-proxy`.
    pub blocks: Vec<Cidr>,
    /// `--proxy-protocol`: a trusted peer's connection starts with a PROXY v1 line.
    pub proxy_protocol: bool,
}

/// One `X-Forwarded-For` element as an address (`1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`).
fn hop(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Some(address);
    }
    let bare = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse::<IpAddr>()
        .ok()
        .map(|address| SocketAddr::new(address, 0))
}

impl TrustedProxies {
    /// Whether `address` is a trusted proxy.
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.blocks.iter().any(|block| block.contains(address))
    }

    /// The client of a request that came from `peer` (the TCP peer, or the PROXY line's
    /// source): `peer` itself unless it is trusted; then the rightmost `X-Forwarded-For` hop
    /// that is not trusted (the hops of every field, in order, then `peer`). A hop that is
    /// not an address ends the walk: the client is then the trusted hop right of it, as it is
    /// when every hop is trusted (the leftmost one) or after [`MAX_FORWARDED_HOPS`]. A
    /// forwarded hop without a port gets port 0.
    pub fn client(&self, peer: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if self.blocks.is_empty() || !self.trusts(peer.ip()) {
            return peer;
        }
        let mut hops: Vec<&str> = Vec::new();
        for value in headers.get_all(FORWARDED_FOR) {
            let Ok(text) = value.to_str() else {
                // An unreadable field: believe nothing past the peer.
                return peer;
            };
            hops.extend(text.split(','));
        }
        let mut client = peer;
        for text in hops.iter().rev().take(MAX_FORWARDED_HOPS) {
            let Some(address) = hop(text) else {
                return client;
            };
            client = address;
            if !self.trusts(address.ip()) {
                return client;
            }
        }
        client
    }
}

/// Why a PROXY line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyLineError {
    /// Reading the connection failed or it ended first.
    #[error("the connection ended before its PROXY line")]
    Ended,
    /// No `\r\n` within [`MAX_PROXY_LINE_BYTES`].
    #[error("no PROXY line end within {MAX_PROXY_LINE_BYTES} bytes")]
    TooLong,
    /// The line is not `PROXY TCP4|TCP6|UNKNOWN …`.
    #[error("not a PROXY protocol v1 line: {0}")]
    Malformed(String),
}

/// The source a PROXY v1 line names (`PROXY TCP4 SRC DST SPORT DPORT`); `None` for
/// `PROXY UNKNOWN …` (keep the peer). `line` has no `\r\n`.
pub fn parse_proxy_line(line: &str) -> Result<Option<SocketAddr>, ProxyLineError> {
    let malformed = |why: &str| ProxyLineError::Malformed(why.to_owned());
    let mut fields = line.split(' ');
    if fields.next() != Some("PROXY") {
        return Err(malformed("it does not start with \"PROXY \""));
    }
    let family = fields.next().ok_or_else(|| malformed("no protocol"))?;
    if family == "UNKNOWN" {
        return Ok(None);
    }
    let (source, _destination, source_port, _destination_port) =
        match (fields.next(), fields.next(), fields.next(), fields.next()) {
            (Some(a), Some(b), Some(c), Some(d)) if fields.next().is_none() => (a, b, c, d),
            _ => return Err(malformed("not four fields after the protocol")),
        };
    let address: IpAddr = source
        .parse()
        .map_err(|_| malformed("the source is not an address"))?;
    let matches_family = match family {
        "TCP4" => address.is_ipv4(),
        "TCP6" => address.is_ipv6(),
        _ => return Err(malformed("the protocol is not TCP4, TCP6 or UNKNOWN")),
    };
    if !matches_family {
        return Err(malformed("the source is not of the protocol's family"));
    }
    let port: u16 = source_port
        .parse()
        .map_err(|_| malformed("the source port is not 0 to 65535"))?;
    Ok(Some(SocketAddr::new(address, port)))
}

/// Reads a PROXY v1 line from the start of `stream`, byte by byte so that nothing after it
/// is consumed, and returns the source it names (`None`: `UNKNOWN`).
pub async fn read_proxy_line<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<SocketAddr>, ProxyLineError> {
    let mut line = Vec::with_capacity(MAX_PROXY_LINE_BYTES);
    loop {
        let byte = stream.read_u8().await.map_err(|_| ProxyLineError::Ended)?;
        line.push(byte);
        if line.ends_with(b"\r\n") {
            break;
        }
        if line.len() >= MAX_PROXY_LINE_BYTES {
            return Err(ProxyLineError::TooLong);
        }
    }
    let text = std::str::from_utf8(&line[..line.len() - 2])
        .map_err(|_| ProxyLineError::Malformed("not ASCII".to_owned()))?;
    parse_proxy_line(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(blocks: &[&str]) -> TrustedProxies {
        TrustedProxies {
            blocks: blocks
                .iter()
                .map(|block| Cidr::parse(block).unwrap())
                .collect(),
            proxy_protocol: false,
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, value.parse().unwrap());
        }
        headers
    }

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_contain() {
        let block = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(block.contains("10.1.200.3".parse().unwrap()));
        assert!(!block.contains("10.2.0.1".parse().unwrap()));
        assert!(block.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert_eq!(v6.to_string(), "2001:db8::/32");
        for bad in ["10.0.0.0/33", "10.0.0.0/x", "nope", "::/129", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_from_trusted_peers_only() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let proxy = at("10.0.0.2:4000");
        // Untrusted peer: the field is ignored.
        assert_eq!(
            trusted.client(at("192.0.2.1:5000"), &headers(&["198.51.100.7"])),
            at("192.0.2.1:5000")
        );
        // No trusted proxy configured at all.
        assert_eq!(
            proxies(&[]).client(proxy, &headers(&["198.51.100.7"])),
            proxy
        );
        // A spoofed leftmost entry is skipped: the rightmost untrusted hop wins.
        assert_eq!(
            trusted.client(proxy, &headers(&["6.6.6.6, 198.51.100.7, 10.0.0.9"])),
            at("198.51.100.7:0")
        );
        // Fields are joined in order.
        assert_eq!(
            trusted.client(proxy, &headers(&["6.6.6.6", "198.51.100.7:1234"])),
            at("198.51.100.7:1234")
        );
        assert_eq!(
            trusted.client(proxy, &headers(&["[2001:db8::1]:80"])),
            at("[2001:db8::1]:80")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            trusted.client(proxy, &headers(&["10.0.0.7, 10.0.0.8"])),
            at("10.0.0.7:0")
        );
        // Garbage stops the walk at the trusted hop right of it.
        assert_eq!(
            trusted.client(proxy, &headers(&["198.51.100.7, junk, 10.0.0.8"])),
            at("10.0.0.8:0")
        );
        assert_eq!(trusted.client(proxy, &headers(&["junk"])), proxy);
        // No field: the peer.
        assert_eq!(trusted.client(proxy, &HeaderMap::new()), proxy);
        // Bounded.
        let many = vec!["10.0.0.1"; 1000].join(",");
        assert_eq!(
            trusted.client(proxy, &headers(&[&format!("198.51.100.7,{many}")])),
            at("10.0.0.1:0")
        );
    }

    #[test]
    fn proxy_lines_parse() {
        assert_eq!(
            parse_proxy_line("PROXY TCP4 198.51.100.7 10.0.0.1 5678 80"),
            Ok(Some(at("198.51.100.7:5678")))
        );
        assert_eq!(
            parse_proxy_line("PROXY TCP6 2001:db8::1 ::1 5678 80"),
            Ok(Some(at("[2001:db8::1]:5678")))
        );
        assert_eq!(parse_proxy_line("PROXY UNKNOWN"), Ok(None));
        for bad in [
            "GET / HTTP/1.1",
            "PROXY TCP4 2001:db8::1 ::1 1 2",
            "PROXY TCP4 1.2.3.4 5.6.7.8 99999 80",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3",
            "PROXY UDP4 1.2.3.4 5.6.7.8 1 2",
        ] {
            assert!(parse_proxy_line(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_proxy_line_is_read_without_consuming_the_request() {
        let mut input: &[u8] = b"PROXY TCP4 198.51.100.7 10.0.0.1 5678 80\r\nGET / HTTP/1.1\r\n";
        let source = read_proxy_line(&mut input).await.unwrap();
        assert_eq!(source, Some(at("198.51.100.7:5678")));
        assert_eq!(input, b"GET / HTTP/1.1\r\n");
        let mut long = vec![b'P'; 500];
        long.extend_from_slice(b"\r\n");
        assert_eq!(
            read_proxy_line(&mut long.as_slice()).await,
            Err(ProxyLineError::TooLong)
        );
        assert_eq!(
            read_proxy_line(&mut &b"PROXY TCP4"[..]).await,
            Err(ProxyLineError::Ended)
        );
    }
}

//! Who a request comes from, as limits need it: the connection's peer, or, when that peer is a proxy we trust
//! (`LEARNLOG_TRUSTED_PROXIES`), the address the proxies recorded in `X-Forwarded-For`. Without trusted proxies
//! the header is ignored, so a client cannot choose its own address; behind a balancer every client would
//! otherwise share the balancer's one address (one client's failed logins would hold back everyone's).
//!
//! The address is personal data: it is used for limits and never logged.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed: addresses or networks (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Reads a comma-separated list of addresses and networks; blank means none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let networks = list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is not an address or a network like 10.0.0.0/8"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(Arc::new(networks)))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is trusted; else, reading the `X-Forwarded-For` values
    /// from the nearest hop back, the first address that is not a trusted proxy (each trusted hop vouches for
    /// the one before it, and nothing before an untrusted hop can be believed). A value that is not an address
    /// ends the walk at the hop that wrote it.
    pub fn client<'a>(&self, peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|value| value.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(address) if self.trusts(address) => client = address,
                Some(address) => return address,
                None => return client,
            }
        }
        client
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:4711` or `203.0.113.7:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

/// The address a request comes from (see the module), put into its extensions at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// Puts the request's [`ClientAddress`] into its extensions, when the server knows the connection's peer.
pub(crate) async fn mark(
    axum::extract::State(trusted): axum::extract::State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let forwarded = request.headers().get_all("x-forwarded-for");
        let client = trusted.client(peer.ip(), forwarded.iter().filter_map(|value| value.to_str().ok()));
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("198.51.100.9"), ["203.0.113.7"].into_iter()), ip("198.51.100.9"));
        let proxies = TrustedProxies::parse("10.0.0.0/8").expect("valid");
        assert_eq!(proxies.client(ip("198.51.100.9"), ["203.0.113.7"].into_iter()), ip("198.51.100.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").expect("valid");
        assert_eq!(proxies.client(ip("127.0.0.1"), ["203.0.113.7"].into_iter()), ip("203.0.113.7"));
        // A client's own claim sits further back than the hop the proxy wrote: it is not believed.
        let forged = ["1.2.3.4, 203.0.113.7"];
        assert_eq!(proxies.client(ip("127.0.0.1"), forged.into_iter()), ip("203.0.113.7"));
        // Two proxies: the balancer behind an ingress, each header line a hop.
        let chained = ["203.0.113.7", "10.1.2.3"];
        assert_eq!(proxies.client(ip("127.0.0.1"), chained.into_iter()), ip("203.0.113.7"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["[2001:db8::1]:4711"].into_iter()), ip("2001:db8::1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["203.0.113.7:4711"].into_iter()), ip("203.0.113.7"));
    }

    #[test]
    fn without_a_usable_hop_the_last_trusted_address_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").expect("valid");
        assert_eq!(proxies.client(ip("127.0.0.1"), std::iter::empty()), ip("127.0.0.1"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["unknown, 10.0.0.5"].into_iter()), ip("10.0.0.5"));
        assert_eq!(proxies.client(ip("127.0.0.1"), ["10.0.0.5"].into_iter()), ip("10.0.0.5"));
    }

    #[test]
    fn the_list_takes_addresses_and_networks_and_names_what_it_cannot_read() {
        assert_eq!(TrustedProxies::parse(" ").expect("blank"), TrustedProxies::default());
        assert!(TrustedProxies::parse("::1, 192.168.0.0/16").is_ok());
        let refused = TrustedProxies::parse("10.0.0.0/8, proxy.local").expect_err("a name");
        assert!(refused.contains("proxy.local"), "{refused}");
    }
}

//! IP addresses and CIDR prefixes, found in any string and replaced by pseudonyms that are
//! addresses of the same kind.
//!
//! - Private ranges (10/8, 172.16/12, 192.168/16, loopback, link-local, unique-local other than
//!   the tailnet's), unspecified addresses, default routes and Tailscale's service addresses
//!   (100.100.100.100, fd7a:115c:a1e0::53) stay: they name no one.
//! - Inside 100.64.0.0/10 and fd7a:115c:a1e0::/48 a keyed prefix-preserving permutation (each
//!   bit flipped by an HMAC of the bits before it, as Crypto-PAn does), so a route and the
//!   addresses inside it stay consistent, and two addresses never share a pseudonym.
//! - Other (public) IPv4 addresses become 192.0.2.x then 198.51.100.x (then 198.18.0.0/16),
//!   their routes /28s of 203.0.113.0/24 (then of 198.19.0.0/16); IPv6 ones 2001:db8::x and
//!   2001:db8:x::/48. Ports stay.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::forms::bit;
use super::map::{Kind, Map};

const TAILNET_V4: (u32, u8) = (0x6440_0000, 10);
const TAILNET_V6: (u128, u8) = (0xfd7a_115c_a1e0 << 80, 48);
const SERVICE_V4: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 100);
const SERVICE_V6: u128 = (0xfd7a_115c_a1e0 << 80) | 0x53;

#[derive(Debug, thiserror::Error)]
#[error("too many public {0}: the ranges their pseudonyms come from are full")]
pub struct Full(&'static str);

/// `text` with every address and prefix in it replaced.
pub fn replace(map: &mut Map, text: &str) -> Result<Option<String>, Full> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_run_byte(bytes[i]) || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_run_byte(bytes[i]) {
            i += 1;
        }
        if i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            continue;
        }
        let run = text[start..i].trim_end_matches(['.', ':', '/']);
        if let Some(with) = token(map, run)? {
            out.push_str(&text[last..start]);
            out.push_str(&with);
            last = start + run.len();
        }
    }
    if last == 0 {
        return Ok(None);
    }
    out.push_str(&text[last..]);
    Ok(Some(out))
}

fn is_run_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/')
}

/// The pseudonym of an address, `v4:port` or prefix, if it is one that changes.
fn token(map: &mut Map, run: &str) -> Result<Option<String>, Full> {
    if run.len() < 2 {
        return Ok(None);
    }
    if let Some(entry) = map.get(run).filter(|e| e.kind == Kind::Address) {
        return Ok(Some(entry.pseudonym.clone()));
    }
    let chosen = if let Ok(ip) = run.parse::<IpAddr>() {
        address(map, ip)?
    } else if let Some((ip, port)) = run.rsplit_once(':')
        && ip.parse::<Ipv4Addr>().is_ok()
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
    {
        // The address is the value; its port stays.
        return Ok(token(map, ip)?.map(|ip| format!("{ip}:{port}")));
    } else if let Some((ip, len)) = run.split_once('/')
        && let Ok(ip) = ip.parse::<IpAddr>()
        && let Ok(len) = len.parse::<u8>()
        && len <= if ip.is_ipv4() { 32 } else { 128 }
    {
        prefix(map, ip, len)?
    } else {
        None
    };
    if let Some(with) = &chosen {
        map.insert(Kind::Address, run, with.clone());
    }
    Ok(chosen)
}

fn address(map: &mut Map, ip: IpAddr) -> Result<Option<String>, Full> {
    Ok(match ip {
        IpAddr::V4(v4) if kept_v4(v4) => None,
        IpAddr::V4(v4) if in_v4(u32::from(v4), TAILNET_V4) => {
            Some(Ipv4Addr::from(permute_v4(map, u32::from(v4))).to_string())
        }
        IpAddr::V4(_) => Some(next_free(map, Pool::V4)?),
        IpAddr::V6(v6) if kept_v6(v6) => None,
        IpAddr::V6(v6) if in_v6(u128::from(v6), TAILNET_V6) => {
            Some(Ipv6Addr::from(permute_v6(map, u128::from(v6))).to_string())
        }
        IpAddr::V6(_) => Some(next_free(map, Pool::V6)?),
    })
}

fn prefix(map: &mut Map, ip: IpAddr, len: u8) -> Result<Option<String>, Full> {
    Ok(match ip {
        IpAddr::V4(v4) if kept_v4(v4) || len <= TAILNET_V4.1 => None,
        IpAddr::V4(v4) if in_v4(u32::from(v4), TAILNET_V4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            let mapped = permute_v4(map, u32::from(v4)) & mask;
            Some(format!("{}/{len}", Ipv4Addr::from(mapped)))
        }
        IpAddr::V4(_) if len == 32 => token(map, &ip.to_string())?.map(|a| format!("{a}/32")),
        IpAddr::V4(_) => Some(next_free(map, Pool::V4Route)?),
        IpAddr::V6(v6)
            if kept_v6(v6) || len <= TAILNET_V6.1 && in_v6(u128::from(v6), TAILNET_V6) =>
        {
            None
        }
        IpAddr::V6(v6) if in_v6(u128::from(v6), TAILNET_V6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            let mapped = permute_v6(map, u128::from(v6)) & mask;
            Some(format!("{}/{len}", Ipv6Addr::from(mapped)))
        }
        IpAddr::V6(_) if len == 128 => token(map, &ip.to_string())?.map(|a| format!("{a}/128")),
        IpAddr::V6(_) => Some(next_free(map, Pool::V6Route(len.max(48)))?),
    })
}

/// Where public pseudonyms are drawn from, in order.
#[derive(Clone, Copy)]
enum Pool {
    V4,
    V4Route,
    V6,
    V6Route(u8),
}

impl Pool {
    /// The `n`th candidate: the documentation ranges first, then for IPv4 the benchmarking
    /// range 198.18.0.0/15 (RFC 2544, not routed either), which a large tailnet's endpoints
    /// need.
    fn candidate(self, n: usize) -> Option<String> {
        match self {
            Pool::V4 => match n {
                0..254 => Some(format!("192.0.2.{}", n + 1)),
                254..508 => Some(format!("198.51.100.{}", n - 253)),
                _ => {
                    let k = n - 508 + 1;
                    (k < 1 << 16).then(|| format!("198.18.{}.{}", k >> 8, k & 0xff))
                }
            },
            Pool::V4Route => match n {
                0..16 => Some(format!("203.0.113.{}/28", n * 16)),
                _ => {
                    let k = (n - 16) * 16;
                    (k < 1 << 16).then(|| format!("198.19.{}.{}/28", k >> 8, k & 0xff))
                }
            },
            Pool::V6 => (n < 0xffff).then(|| format!("2001:db8::{:x}", n + 1)),
            Pool::V6Route(len) => (n < 0xffff).then(|| format!("2001:db8:{:x}::/{len}", n + 1)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Pool::V4 => "IPv4 addresses",
            Pool::V4Route => "IPv4 routes",
            Pool::V6 => "IPv6 addresses",
            Pool::V6Route(_) => "IPv6 routes",
        }
    }
}

/// The pool's first candidate no value has, from where the last search stopped.
fn next_free(map: &mut Map, pool: Pool) -> Result<String, Full> {
    let start = map.cursor(pool.name());
    for n in start.. {
        let Some(candidate) = pool.candidate(n) else {
            break;
        };
        if map.is_free(&candidate) {
            map.set_cursor(pool.name(), n + 1);
            return Ok(candidate);
        }
    }
    Err(Full(pool.name()))
}

fn kept_v4(ip: Ipv4Addr) -> bool {
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip == SERVICE_V4
}

fn kept_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let unique_local = bits >> 121 == 0x7e && !in_v6(bits, TAILNET_V6);
    let link_local = bits >> 118 == 0x3fa;
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || bits == SERVICE_V6
}

fn in_v4(ip: u32, (net, len): (u32, u8)) -> bool {
    ip >> (32 - len) == net >> (32 - len)
}

fn in_v6(ip: u128, (net, len): (u128, u8)) -> bool {
    ip >> (128 - len) == net >> (128 - len)
}

fn permute_v4(map: &Map, ip: u32) -> u32 {
    let mut out = flip(map.key(), b"v4", u128::from(ip), 32, TAILNET_V4.1) as u32;
    // Cycle-walk past the service address, which stays itself.
    while out == u32::from(SERVICE_V4) {
        out = flip(map.key(), b"v4", u128::from(out), 32, TAILNET_V4.1) as u32;
    }
    out
}

fn permute_v6(map: &Map, ip: u128) -> u128 {
    let mut out = flip(map.key(), b"v6", ip, 128, TAILNET_V6.1);
    while out == SERVICE_V6 {
        out = flip(map.key(), b"v6", out, 128, TAILNET_V6.1);
    }
    out
}

/// Flips each bit below the fixed `fixed` high bits of a `width`-bit address by a keyed bit of
/// the (original) bits before it: a prefix-preserving permutation.
fn flip(key: &[u8], family: &[u8], ip: u128, width: u32, fixed: u8) -> u128 {
    let mut out = ip;
    for position in u32::from(fixed)..width {
        let shift = width - position;
        let before = if shift >= 128 { 0 } else { ip >> shift };
        let mut input = family.to_vec();
        input.push(position as u8);
        input.extend_from_slice(&before.to_be_bytes());
        if bit(key, &input) {
            out ^= 1 << (width - position - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(map: &mut Map, text: &str) -> String {
        replace(map, text)
            .unwrap()
            .unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn tailnet_addresses_stay_in_range_and_inside_their_routes() {
        let mut map = Map::fresh().unwrap();
        let route = mapped(&mut map, "100.80.0.0/16");
        let inside = mapped(&mut map, "100.80.12.34");
        let (net, len) = route.split_once('/').unwrap();
        assert_eq!(len, "16");
        let net: Ipv4Addr = net.parse().unwrap();
        let inside: Ipv4Addr = inside.parse().unwrap();
        assert!(in_v4(u32::from(inside), TAILNET_V4));
        assert!(in_v4(u32::from(inside), (u32::from(net), 16)));
        let v6 = mapped(&mut map, "fd7a:115c:a1e0:ac82:4843:ca90:697d:c36e");
        assert!(v6.starts_with("fd7a:115c:a1e0:"), "{v6}");
    }

    #[test]
    fn public_addresses_become_documentation_ones_with_their_ports() {
        let mut map = Map::fresh().unwrap();
        let text = mapped(
            &mut map,
            "199.9.14.201:59128 and 192.168.1.21:59128, 8.8.8.8",
        );
        assert_eq!(text, "192.0.2.1:59128 and 192.168.1.21:59128, 192.0.2.2");
        assert_eq!(
            mapped(&mut map, "[2001:4860:4860::8888]:53"),
            "[2001:db8::1]:53"
        );
        assert_eq!(
            mapped(&mut map, "nodekey:0123abcd 10:00:00 1.76.1"),
            "nodekey:0123abcd 10:00:00 1.76.1"
        );
        // A large tailnet's endpoints do not fit the documentation ranges: the benchmarking
        // range takes the rest, each address still its own.
        let many: Vec<String> = (0..600)
            .map(|n| mapped(&mut map, &format!("52.1.{}.{}", n / 200, n % 200 + 1)))
            .collect();
        let distinct: std::collections::HashSet<&String> = many.iter().collect();
        assert_eq!(distinct.len(), 600);
        assert!(many.iter().any(|a| a.starts_with("198.18.")), "{many:?}");
    }
}

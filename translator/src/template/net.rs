//! `ansible.utils.ipaddr` and friends on `std::net` addresses (the
//! collection uses Python's `netaddr`). Queries done: `''` (validate),
//! `address`, `host`, `net`, `network`, `netmask`, `hostmask`, `prefix`,
//! `broadcast`, `size`, `cidr`/`subnet`, `ipv4`, `ipv6`, `public`,
//! `private`, `loopback`, `link-local`, `multicast`, `unicast`, `int`,
//! `bool`, `wrap`, `address/prefix`, `host/prefix`, `network/prefix`,
//! `first_usable`, `last_usable`, `version`, and an integer (the n-th
//! address of a network). Others are an error.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::error::{value_err, R};
use super::eval::list;
use super::value::{py_str, Value};

/// An address with a prefix length (`10.0.0.1/24`; a bare address is a
/// `/32` or `/128`), as `netaddr.IPNetwork`.
#[derive(Clone, Copy)]
struct Net {
    ip: u128,
    prefix: u32,
    v6: bool,
    /// Written with a `/` (a network) rather than as an address.
    has_prefix: bool,
}

impl Net {
    fn bits(&self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn mask(&self) -> u128 {
        let bits = self.bits();
        let all = if self.v6 { u128::MAX } else { u32::MAX as u128 };
        if self.prefix == 0 {
            0
        } else {
            (all << (bits - self.prefix)) & all
        }
    }

    fn network(&self) -> u128 {
        self.ip & self.mask()
    }

    fn broadcast(&self) -> u128 {
        let all = if self.v6 { u128::MAX } else { u32::MAX as u128 };
        self.network() | (!self.mask() & all)
    }

    fn size(&self) -> u128 {
        let host_bits = self.bits() - self.prefix;
        if host_bits >= 128 {
            u128::MAX
        } else {
            1u128 << host_bits
        }
    }

    fn fmt(&self, x: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(x).to_string()
        } else {
            Ipv4Addr::from(x as u32).to_string()
        }
    }
}

fn parse(s: &str) -> Option<Net> {
    let s = s.trim();
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    if let Ok(a) = addr.parse::<Ipv4Addr>() {
        let prefix = match prefix {
            None => 32,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if n <= 32 => n,
                _ => {
                    // A netmask (`255.255.255.0`) or hostmask.
                    let m = u32::from(p.parse::<Ipv4Addr>().ok()?);
                    let m = if m.leading_ones() + m.trailing_zeros() == 32 {
                        m
                    } else if (!m).leading_ones() + (!m).trailing_zeros() == 32 {
                        !m
                    } else {
                        return None;
                    };
                    m.leading_ones()
                }
            },
        };
        return Some(Net {
            ip: u32::from(a) as u128,
            prefix,
            v6: false,
            has_prefix: s.contains('/'),
        });
    }
    let a = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<Ipv6Addr>()
        .ok()?;
    let prefix = match prefix {
        None => 128,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= 128 => n,
            _ => return None,
        },
    };
    Some(Net {
        ip: u128::from(a),
        prefix,
        v6: true,
        has_prefix: s.contains('/'),
    })
}

fn is_private(n: &Net) -> bool {
    let ip = n.ip;
    if n.v6 {
        (ip >> 121) == 0x7e // fc00::/7
    } else {
        let ip = ip as u32;
        (ip >> 24) == 10
            || (ip >> 20) == (172 << 4 | 1)
            || (ip >> 16) == (192 << 8 | 168)
            || (ip >> 22) == ((100 << 8 | 64) >> 2) // 100.64.0.0/10
            || (ip >> 16) == (169 << 8 | 254)
            || (ip >> 24) == 127
    }
}

fn is_loopback(n: &Net) -> bool {
    if n.v6 {
        n.ip == 1
    } else {
        (n.ip as u32 >> 24) == 127
    }
}

fn is_link_local(n: &Net) -> bool {
    if n.v6 {
        (n.ip >> 118) == 0x3fa // fe80::/10
    } else {
        (n.ip as u32 >> 16) == (169 << 8 | 254)
    }
}

fn is_multicast(n: &Net) -> bool {
    if n.v6 {
        (n.ip >> 120) == 0xff
    } else {
        (n.ip as u32 >> 28) == 0xe
    }
}

fn is_reserved(n: &Net) -> bool {
    !n.v6 && ((n.ip as u32 >> 28) == 0xf || (n.ip as u32 >> 24) == 0)
}

/// One value through `ipaddr(query)`: the result, or `None` for Python's
/// `False` (not an address, or the query does not apply).
fn query_one(v: &Value, query: &str, version: i64) -> R<Option<Value>> {
    let text = match v.known()? {
        Value::Str(s) => s.to_string(),
        Value::Int(i) if *i >= 0 => {
            // An integer is an address (IPv4 when it fits).
            let n = *i as u128;
            if n <= u32::MAX as u128 {
                Ipv4Addr::from(n as u32).to_string()
            } else {
                Ipv6Addr::from(n).to_string()
            }
        }
        _ => return Ok(None),
    };
    let Some(n) = parse(&text) else {
        return Ok(None);
    };
    if version != 0 && version != if n.v6 { 6 } else { 4 } {
        return Ok(None);
    }
    let s = |x: String| Ok(Some(Value::from(x)));
    if let Ok(i) = query.parse::<i128>() {
        // The i-th address of the network (negative from the end).
        let size = n.size() as i128;
        let idx = if i < 0 { size + i } else { i };
        if idx < 0 || idx >= size {
            return Ok(None);
        }
        return s(format!("{}/{}", n.fmt(n.network() + idx as u128), n.prefix));
    }
    match query {
        "" => Ok(Some(v.clone())),
        "address" => {
            if n.size() > 1 && n.ip == n.network() {
                Ok(None)
            } else {
                s(n.fmt(n.ip))
            }
        }
        "host" => {
            if n.size() == 1 || n.ip != n.network() {
                s(format!("{}/{}", n.fmt(n.ip), n.prefix))
            } else {
                Ok(None)
            }
        }
        "net" => {
            if n.size() > 1 && n.ip == n.network() {
                s(format!("{}/{}", n.fmt(n.network()), n.prefix))
            } else {
                Ok(None)
            }
        }
        "network" => {
            if n.size() > 1 {
                s(n.fmt(n.network()))
            } else {
                Ok(None)
            }
        }
        "subnet" | "cidr" => s(format!("{}/{}", n.fmt(n.network()), n.prefix)),
        "netmask" => s(n.fmt(n.mask())),
        "hostmask" => {
            let all = if n.v6 { u128::MAX } else { u32::MAX as u128 };
            s(n.fmt(!n.mask() & all))
        }
        "prefix" => Ok(Some(Value::Int(n.prefix as i64))),
        "broadcast" => {
            if n.size() > 2 {
                s(n.fmt(n.broadcast()))
            } else {
                Ok(None)
            }
        }
        "size" => Ok(Some(Value::Int(
            i64::try_from(n.size()).unwrap_or(i64::MAX),
        ))),
        "int" => Ok(i64::try_from(n.ip).ok().map(Value::Int)),
        "bool" => Ok(Some(Value::Bool(true))),
        "version" => Ok(Some(Value::Int(if n.v6 { 6 } else { 4 }))),
        "ipv4" => {
            if n.v6 {
                // An IPv4-mapped address converts back.
                if n.ip >> 32 == 0xffff {
                    let m = Net {
                        ip: n.ip & 0xffff_ffff,
                        prefix: n.prefix.saturating_sub(96),
                        v6: false,
                        has_prefix: n.has_prefix,
                    };
                    return s(format!("{}/{}", m.fmt(m.ip), m.prefix));
                }
                Ok(None)
            } else {
                Ok(Some(v.clone()))
            }
        }
        "ipv6" => {
            if n.v6 {
                Ok(Some(v.clone()))
            } else {
                let m = Net {
                    ip: 0xffff_0000_0000 | n.ip,
                    prefix: n.prefix + 96,
                    v6: true,
                    has_prefix: n.has_prefix,
                };
                s(format!("{}/{}", m.fmt(m.ip), m.prefix))
            }
        }
        "public" => {
            if !is_private(&n)
                && !is_loopback(&n)
                && !is_link_local(&n)
                && !is_multicast(&n)
                && !is_reserved(&n)
            {
                Ok(Some(v.clone()))
            } else {
                Ok(None)
            }
        }
        "private" => Ok(is_private(&n).then(|| v.clone())),
        "loopback" => Ok(is_loopback(&n).then(|| v.clone())),
        "link-local" => Ok(is_link_local(&n).then(|| v.clone())),
        "multicast" => Ok(is_multicast(&n).then(|| v.clone())),
        "unicast" => Ok((!is_multicast(&n)).then(|| v.clone())),
        "wrap" => {
            if n.v6 {
                if n.has_prefix {
                    s(format!("[{}]/{}", n.fmt(n.ip), n.prefix))
                } else {
                    s(format!("[{}]", n.fmt(n.ip)))
                }
            } else {
                Ok(Some(v.clone()))
            }
        }
        "address/prefix" => {
            if n.size() > 1 && n.ip != n.network() && (n.v6 || n.ip != n.broadcast()) {
                s(format!("{}/{}", n.fmt(n.ip), n.prefix))
            } else {
                Ok(None)
            }
        }
        "host/prefix" => {
            if n.size() > 1 && n.ip != n.network() {
                s(format!("{}/{}", n.fmt(n.ip), n.prefix))
            } else {
                Ok(None)
            }
        }
        "network/prefix" => {
            if n.size() > 1 {
                s(format!("{}/{}", n.fmt(n.network()), n.prefix))
            } else {
                Ok(None)
            }
        }
        "first_usable" => {
            if n.size() > 2 {
                s(n.fmt(n.network() + 1))
            } else {
                Ok(None)
            }
        }
        "last_usable" => {
            if n.size() > 2 {
                s(n.fmt(if n.v6 {
                    n.broadcast()
                } else {
                    n.broadcast() - 1
                }))
            } else {
                Ok(None)
            }
        }
        other => value_err(format!("You must pass a valid query to ipaddr: {other}")),
    }
}

/// `ipaddr(query, version)`: on a list, the items that pass (mapped);
/// on one value, the result or `False`.
pub(crate) fn ipaddr(v: &Value, query: &str, version: i64) -> R<Value> {
    match v.known()? {
        Value::List(l) => {
            let mut out = Vec::new();
            for item in l.iter() {
                if let Some(r) = query_one(&item, query, version)? {
                    if !matches!(r, Value::Bool(false)) {
                        out.push(r);
                    }
                }
            }
            Ok(list(out))
        }
        _ => Ok(query_one(v, query, version)?.unwrap_or(Value::Bool(false))),
    }
}

/// `ipwrap`: IPv6 addresses in brackets, everything else unchanged.
pub(crate) fn ipwrap(v: &Value) -> R<Value> {
    let one = |x: &Value| -> R<Value> {
        match query_one(x, "wrap", 0)? {
            Some(w) => Ok(w),
            None => Ok(x.clone()),
        }
    };
    match v.known()? {
        Value::List(l) => Ok(list(l.iter().map(|x| one(&x)).collect::<R<_>>()?)),
        _ => one(v),
    }
}

/// `ipmath(amount)`: an address plus an offset.
pub(crate) fn ipmath(s: &str, amount: i64) -> R<Value> {
    let Some(n) = parse(s) else {
        return value_err(format!("You must pass a valid IP address; {s} is invalid"));
    };
    let r = if amount >= 0 {
        n.ip.checked_add(amount as u128)
    } else {
        n.ip.checked_sub(amount.unsigned_abs() as u128)
    };
    let max = if n.v6 { u128::MAX } else { u32::MAX as u128 };
    match r {
        Some(x) if x <= max => Ok(Value::from(n.fmt(x))),
        _ => value_err(format!(
            "the result of {} + {amount} is out of the address range",
            py_str(&Value::str(s))?
        )),
    }
}

//! Host patterns as inventory plugins read them: an optional `:port`, and
//! ranges `web[01:10]`, `db[a:f]`, `node[1:10:2]` expanded into host names.
//!
//! A port of `BaseInventoryPlugin._expand_hostpattern`,
//! `ansible.parsing.utils.addresses.parse_address` and
//! `expand_hostname_range`, quirks included: a pattern that is not a valid
//! host name (say `foo-:22`) keeps its `:22` as part of the name, and
//! `[ab:cd]` is a letter range because Python's `str.index` finds
//! substrings.

/// Ranges could describe billions of hosts; Ansible would try. We stop
/// here with an error.
pub const MAX_HOSTS_PER_PATTERN: usize = 100_000;

/// `(host names, port)` for one pattern, or Ansible's error message.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u32>), String> {
    let (host, port) = match parse_address(pattern) {
        Some((h, p)) => (h, p),
        // Not a recognizable host: the whole text, and no port.
        None => (pattern.to_string(), None),
    };
    let names = if host.contains('[') {
        let mut out = Vec::new();
        expand_range(&host, &mut out)?;
        out
    } else {
        vec![host]
    };
    Ok((names, port))
}

/// `parse_address(address, allow_ranges=True)`; `None` where Python
/// raises.
fn parse_address(address: &str) -> Option<(String, Option<u32>)> {
    let mut address = address.to_string();
    let mut port = None;
    // Both port patterns are tried, one after the other, as in Python.
    if let Some((a, p)) = bracketed_hostport(&address) {
        address = a;
        port = Some(p);
    }
    if let Some((a, p)) = hostport(&address) {
        address = a;
        port = Some(p);
    }
    (is_ipv6(&address) || is_hostname(&address)).then_some((address, port))
}

/// A port number as Python's `int()` reads `[0-9]+`.
fn port_number(digits: &str) -> Option<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Python has no overflow; a port beyond u32 is nonsense anyway, but
    // such a pattern must still split like Python's does.
    Some(
        digits
            .parse::<u64>()
            .map_or(u32::MAX, |n| n.min(u64::from(u32::MAX)) as u32),
    )
}

// ^\[(.+)\]:([0-9]+)$   (greedy: the last `]:` followed only by digits)
fn bracketed_hostport(s: &str) -> Option<(String, u32)> {
    let inner = s.strip_prefix('[')?;
    let close = inner.rfind("]:")?;
    let host = &inner[..close];
    let port = port_number(&inner[close + 2..])?;
    (!host.is_empty()).then(|| (host.to_string(), port))
}

// ^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$
fn hostport(s: &str) -> Option<(String, u32)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'[' => {
                let close = s[i + 1..].find(']')?;
                i += close + 2;
            }
            b']' => return None,
            b':' => break,
            _ => i += 1,
        }
    }
    if i >= b.len() {
        return None;
    }
    let port = port_number(&s[i + 1..])?;
    Some((s[..i].to_string(), port))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]` (case-insensitive) at
/// the start of `s`: its length.
fn alphanumeric_range(s: &str) -> Option<usize> {
    let close = s.find(']')?;
    let inner = s.strip_prefix('[')?.get(..close - 1)?;
    let mut parts = inner.split(':');
    let (a, b) = (parts.next()?, parts.next()?);
    let step = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    let letter = |x: &str| x.len() == 1 && x.bytes().all(|c| c.is_ascii_alphabetic());
    let ok = (letter(a) && letter(b)) || (digits(a) && digits(b));
    (ok && step.is_none_or(digits)).then_some(close + 1)
}

/// `\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]` (case-insensitive), the
/// whole of `s`.
fn hexadecimal_range(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(':').collect();
    let hex = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_hexdigit());
    match parts.as_slice() {
        [a, b] => hex(a) && hex(b),
        [a, b, step] => {
            hex(a) && hex(b) && !step.is_empty() && step.bytes().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

// label = (?:[\w]|{range})(?:[\w_-]|{range})*(?<![_-])
// hostname = ^{label}(?:\.{label})*$   (re.I, re.UNICODE)
fn is_hostname(s: &str) -> bool {
    // Ranges hold no `.`, so labels are what lies between dots.
    !s.is_empty() && s.split('.').all(is_label)
}

fn is_label(label: &str) -> bool {
    let mut i = 0;
    let mut first = true;
    let mut last: Option<char> = None;
    while i < label.len() {
        let rest = &label[i..];
        if rest.starts_with('[') {
            match alphanumeric_range(rest) {
                Some(n) => {
                    i += n;
                    last = Some(']');
                }
                None => return false,
            }
        } else {
            let Some(c) = rest.chars().next() else {
                return false;
            };
            if !(is_word(c) || (!first && c == '-')) {
                return false;
            }
            i += c.len_utf8();
            last = Some(c);
        }
        first = false;
    }
    matches!(last, Some(c) if c != '_' && c != '-')
}

/// An IPv6 component: 1 to 4 hex digits, or a hexadecimal range.
fn ipv6_component(c: &str) -> bool {
    (1..=4).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit()) || hexadecimal_range(c)
}

/// Splits at `sep` outside `[...]` (ranges contain `:`).
fn split_outside_brackets(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Addresses' `ipv6` pattern: the uncompressed form, the `::`
/// compressions with at most seven components in all, and the
/// IPv4-in-IPv6 forms (whose dotted parts are IPv6 components, as
/// written in Ansible's pattern).
fn is_ipv6(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if split_outside_brackets(&lower, ':')
        .last()
        .is_some_and(|l| l.contains('.'))
    {
        let dotted = |d: &str| {
            let p = split_outside_brackets(d, '.');
            p.len() == 4 && p.iter().all(|c| ipv6_component(c))
        };
        for prefix in ["0:0:0:0:0:0:", "::ffff:", "::", "0:0:0:0:0:ffff:"] {
            if let Some(rest) = lower.strip_prefix(prefix) {
                if dotted(rest) {
                    return true;
                }
            }
        }
        return false;
    }
    let comps = |part: &str| -> Option<usize> {
        if part.is_empty() {
            return Some(0);
        }
        let c = split_outside_brackets(part, ':');
        c.iter().all(|x| ipv6_component(x)).then_some(c.len())
    };
    match find_double_colon(&lower) {
        None => comps(&lower) == Some(8),
        Some(at) => {
            let (before, after) = (&lower[..at], &lower[at + 2..]);
            if find_double_colon(after).is_some() {
                return false;
            }
            match (comps(before), comps(after)) {
                (Some(k), Some(m)) => match (k, m) {
                    (0, 0) => true,
                    (0, m) => m <= 6,
                    (k, 0) => k <= 6,
                    (k, m) => k <= 6 && k + m <= 7,
                },
                _ => false,
            }
        }
    }
}

fn find_double_colon(s: &str) -> Option<usize> {
    let mut depth = 0;
    let b = s.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b':' if depth == 0 && b.get(i + 1) == Some(&b':') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Python's `int()` on a range bound: surrounding whitespace, a sign,
/// underscores between digits.
fn py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if d.is_empty() || d.starts_with('_') || d.ends_with('_') || d.contains("__") {
        return None;
    }
    let digits: String = d.chars().filter(|&c| c != '_').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `expand_hostname_range`: the first `[...]` is expanded, then the
/// results again until no `[` is left.
fn expand_range(line: &str, out: &mut Vec<String>) -> Result<(), String> {
    // line.replace('[', '|', 1).replace(']', '|', 1).split('|')
    let once = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = once.split('|').collect();
    let [head, nrange, tail] = parts.as_slice() else {
        return Err(format!(
            "cannot expand the host range in {line:?}: expected one `[begin:end]` per bracket"
        ));
    };
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        Some(beg.len())
    } else {
        None
    };
    let fill = |x: String| match width {
        // str(x).zfill(width): zeros after a sign.
        Some(w) if x.len() < w => match x.strip_prefix('-') {
            Some(d) => format!("-{}{d}", "0".repeat(w - x.len())),
            None => format!("{}{x}", "0".repeat(w - x.len())),
        },
        _ => x,
    };
    // Letters first (`string.ascii_letters.index`, a substring search),
    // then numbers, as Python's try/except does.
    let letters = match (
        ASCII_LETTERS.find(beg),
        ASCII_LETTERS.find(end),
        py_int(step),
    ) {
        (Some(b), Some(e), Some(st)) if st != 0 => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            Some(python_slice(ASCII_LETTERS, b, e + 1, st))
        }
        (Some(b), Some(e), _) if b > e => return Err("host range must have begin <= end".into()),
        _ => None,
    };
    let seq: Vec<String> = match letters {
        Some(chars) => chars.into_iter().map(String::from).collect(),
        None => {
            let bad = |x: &str| format!("invalid literal for int() with base 10: {x:?}");
            let b = py_int(beg).ok_or_else(|| bad(beg))?;
            let e = py_int(end).ok_or_else(|| bad(end))?;
            let st = py_int(step).ok_or_else(|| bad(step))?;
            if st == 0 {
                return Err("range() arg 3 must not be zero".into());
            }
            let count = if st > 0 {
                ((e + 1 - b).max(0) as u128).div_ceil(st as u128)
            } else {
                ((b - (e + 1)).max(0) as u128).div_ceil(st.unsigned_abs() as u128)
            };
            if count > MAX_HOSTS_PER_PATTERN as u128 {
                return Err(format!(
                    "the range [{nrange}] describes {count} hosts, more than the \
                     {MAX_HOSTS_PER_PATTERN} this reader expands"
                ));
            }
            (0..count as i64)
                .map(|k| (b + k * st).to_string())
                .collect()
        }
    };
    for item in seq {
        let name = format!("{head}{}{tail}", fill(item));
        if name.contains('[') {
            expand_range(&name, out)?;
        } else {
            out.push(name);
        }
        if out.len() > MAX_HOSTS_PER_PATTERN {
            return Err(format!(
                "the pattern describes more than {MAX_HOSTS_PER_PATTERN} hosts, \
                 more than this reader expands"
            ));
        }
    }
    Ok(())
}

/// `s[start:stop:step]` over ASCII characters.
fn python_slice(s: &str, start: usize, stop: usize, step: i64) -> Vec<char> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    if step > 0 {
        let mut i = start;
        while i < stop.min(chars.len()) {
            out.push(chars[i]);
            i += step as usize;
        }
    }
    // A negative step from start down to stop (exclusive) is empty here,
    // since start <= stop.
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(p: &str) -> (Vec<String>, Option<u32>) {
        expand_hostpattern(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn ports() {
        assert_eq!(hosts("web:2222"), (vec!["web".into()], Some(2222)));
        assert_eq!(hosts("[::1]:22"), (vec!["::1".into()], Some(22)));
        assert_eq!(hosts("::1"), (vec!["::1".into()], None));
        assert_eq!(hosts("fe80::1:2"), (vec!["fe80::1:2".into()], None));
        assert_eq!(
            hosts("192.168.1.1:22"),
            (vec!["192.168.1.1".into()], Some(22))
        );
        // Not a valid host name: the whole text is the name.
        assert_eq!(hosts("foo-:22"), (vec!["foo-:22".into()], None));
        assert_eq!(hosts("a_b:1"), (vec!["a_b".into()], Some(1)));
    }

    #[test]
    fn ranges() {
        assert_eq!(hosts("web[01:03]").0, ["web01", "web02", "web03"]);
        assert_eq!(hosts("db[a:c].x").0, ["dba.x", "dbb.x", "dbc.x"]);
        assert_eq!(hosts("n[1:10:4]").0, ["n1", "n5", "n9"]);
        assert_eq!(hosts("n[:2]").0, ["n0", "n1", "n2"]);
        assert_eq!(hosts("n[ab:cd]").0, ["na", "nb", "nc"]);
        assert_eq!(hosts("r[1:2]c[a:b]").0, ["r1ca", "r1cb", "r2ca", "r2cb"]);
        assert_eq!(
            hosts("web[01:02]:22"),
            (vec!["web01".into(), "web02".into()], Some(22))
        );
        assert!(expand_hostpattern("n[1:3:0]").is_err());
        assert!(expand_hostpattern("n[01:3]").is_err());
        assert!(expand_hostpattern("n[1]").is_err());
        assert!(expand_hostpattern("n[1:]").is_err());
        assert!(expand_hostpattern("n[c:a]").is_err());
        assert!(expand_hostpattern("n[0:99999999]").is_err());
    }

    #[test]
    fn ipv6_forms() {
        for ok in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1::8",
            "1:2:3:4:5:6::8",
            "::ffff:1.2.3.4",
            "fe80::[1:a]",
        ] {
            assert!(is_ipv6(ok), "{ok}");
        }
        for bad in ["1:2:3:4:5:6:7", "1::2::3", "1:2:3:4:5:6:7::8", "12345::"] {
            assert!(!is_ipv6(bad), "{bad}");
        }
    }
}

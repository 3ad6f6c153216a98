//! Host patterns (`hosts: web:&prod:!w1`) as `InventoryManager.get_hosts`
//! evaluates them: terms split on `,` (else `:`); plain terms united, then
//! `&x` intersections, then `!x` exclusions, whatever their place; each
//! term a group (its hosts and its children's), a host, `all`/`*`, or a
//! shell-style glob over group and host names.
//!
//! Two readers: [`select`] for `concerto run -i` placements, where a term
//! that matches nothing is the user's mistake (an error with a
//! suggestion); [`hosts_matching`] for a playbook's plays, where, as in
//! Ansible, it only matches nothing (Kolla's `&enable_keystone_True` exists
//! only once `group_by` ran).

use std::collections::HashMap;

use super::Inventory;

/// Hosts Ansible creates when a pattern names them and the inventory does
/// not hold them (`C.LOCALHOST`, the implicit localhost).
const IMPLICIT_LOCALHOST: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why a pattern could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// A term names no host or group.
    NoMatch(String),
    /// A form this evaluator does not implement (`~regex`, `web[0]`).
    Unsupported(String),
}

/// The terms of one pattern, as `split_host_pattern` splits them.
fn terms(pattern: &str) -> Vec<&str> {
    if pattern.contains(',') {
        pattern.split(',')
    } else {
        pattern.split(':')
    }
    .map(str::trim)
    .filter(|t| !t.is_empty())
    .collect()
}

/// The hosts of several patterns (a play's `hosts:` list), in the order
/// Ansible finds them. `strict`: a term matching nothing is an error.
fn evaluate(inv: &Inventory, patterns: &[&str], strict: bool) -> Result<Vec<String>, PatternError> {
    let mut all: Vec<&str> = patterns.iter().flat_map(|p| terms(p)).collect();
    // `order_patterns`: unions first, then intersections, then exclusions.
    all.sort_by_key(|t| match t.as_bytes().first() {
        Some(b'&') => 1,
        Some(b'!') => 2,
        _ => 0,
    });
    let mut chosen: Vec<String> = Vec::new();
    for t in all {
        let (op, name) = match t.as_bytes()[0] {
            b'&' | b'!' => (t.as_bytes()[0], &t[1..]),
            _ => (0, t),
        };
        if name.starts_with('~') || name.contains('[') {
            return Err(PatternError::Unsupported(name.to_string()));
        }
        let matched = term_hosts(inv, name);
        if matched.is_empty() && strict {
            return Err(PatternError::NoMatch(name.to_string()));
        }
        match op {
            b'&' => chosen.retain(|h| matched.contains(h)),
            b'!' => chosen.retain(|h| !matched.contains(h)),
            _ => {
                for h in matched {
                    if !chosen.contains(&h) {
                        chosen.push(h);
                    }
                }
            }
        }
    }
    Ok(chosen)
}

/// The hosts `pattern` selects, in inventory order. Errors: a term that
/// matches nothing, or a form not supported.
pub fn select(inv: &Inventory, pattern: &str) -> Result<Vec<String>, PatternError> {
    let mut chosen = evaluate(inv, &[pattern], true)?;
    in_inventory_order(inv, &mut chosen);
    Ok(chosen)
}

/// The hosts a play's `hosts:` patterns select, in inventory order (an
/// implicit localhost last): terms that match nothing match nothing, as in
/// Ansible. `None` when a pattern uses a form not supported here.
pub fn hosts_matching(inv: &Inventory, patterns: &[&str]) -> Option<Vec<String>> {
    let mut chosen = evaluate(inv, patterns, false).ok()?;
    in_inventory_order(inv, &mut chosen);
    Some(chosen)
}

fn in_inventory_order(inv: &Inventory, hosts: &mut [String]) {
    let rank: HashMap<&str, usize> = inv
        .hosts
        .keys()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i))
        .collect();
    hosts.sort_by_key(|h| rank.get(h.as_str()).copied().unwrap_or(usize::MAX));
}

/// `_enumerate_matches`: groups the term names or globs, then hosts
/// (when no group matched, or for a glob), then the implicit localhost.
fn term_hosts(inv: &Inventory, name: &str) -> Vec<String> {
    let is_glob = name.contains(['*', '?']);
    if name == "all" || name == "*" {
        return inv.hosts.keys().cloned().collect();
    }
    let mut out: Vec<String> = Vec::new();
    let add = |h: String, out: &mut Vec<String>| {
        if !out.contains(&h) {
            out.push(h);
        }
    };
    let groups: Vec<&String> = inv
        .groups
        .keys()
        .filter(|g| if is_glob { glob(name, g) } else { *g == name })
        .collect();
    for g in &groups {
        for h in inv.group_hosts(g) {
            add(h, &mut out);
        }
    }
    if groups.is_empty() || is_glob {
        for h in inv
            .hosts
            .keys()
            .filter(|h| if is_glob { glob(name, h) } else { *h == name })
        {
            add(h.clone(), &mut out);
        }
    }
    if out.is_empty() && IMPLICIT_LOCALHOST.contains(&name) {
        out.push(name.to_string());
    }
    out
}

/// `fnmatch` with `*` and `?`.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        let text = "\
[web]
w1
w2
[db]
d1 ansible_host=127.0.0.21
d2
[prod:children]
web
[prod]
d1
";
        crate::inventory::ini::parse("inv.ini", text).unwrap()
    }

    #[test]
    fn patterns_select_like_ansible() {
        let i = inv();
        let s = |p: &str| select(&i, p);
        let ok = |p: &str| s(p).unwrap();
        assert_eq!(ok("web"), ["w1", "w2"]);
        assert_eq!(ok("all"), ["w1", "w2", "d1", "d2"]);
        assert_eq!(ok("d2:web"), ["w1", "w2", "d2"]);
        assert_eq!(ok("d2,web"), ["w1", "w2", "d2"]);
        assert_eq!(ok("all:!db"), ["w1", "w2"]);
        // Exclusions apply last, whatever their place.
        assert_eq!(ok("!w1:web"), ["w2"]);
        assert_eq!(ok("db:&prod"), ["d1"]);
        assert_eq!(ok("w*"), ["w1", "w2"]);
        assert_eq!(ok("?1"), ["w1", "d1"]);
        assert_eq!(ok("web:!web"), Vec::<String>::new());
        assert_eq!(s("webb"), Err(PatternError::NoMatch("webb".into())));
        assert_eq!(s("~w.*"), Err(PatternError::Unsupported("~w.*".into())));
        assert_eq!(s("web[0]"), Err(PatternError::Unsupported("web[0]".into())));
    }

    #[test]
    fn a_play_pattern_naming_unknown_groups_matches_less() {
        let i = inv();
        let m = |p: &[&str]| hosts_matching(&i, p).unwrap();
        assert_eq!(m(&["web", "&enable_web_True"]), Vec::<String>::new());
        assert_eq!(m(&["web", "nothing"]), ["w1", "w2"]);
        assert_eq!(m(&["localhost"]), ["localhost"]);
        assert_eq!(m(&["db", "!nothing"]), ["d1", "d2"]);
        assert_eq!(hosts_matching(&i, &["~w"]), None);
    }

    #[test]
    fn globs() {
        assert!(glob("w*", "web"));
        assert!(glob("*b", "web"));
        assert!(glob("w?b", "web"));
        assert!(glob("*", ""));
        assert!(!glob("w?", "web"));
        assert!(!glob("x*", "web"));
    }
}

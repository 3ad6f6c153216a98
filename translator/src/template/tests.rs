//! Jinja tests (`x is defined`, `v is version('2.0', '>=')`): Jinja2's
//! built-ins and ansible-core's. (The unit tests of this module are in
//! `spec.rs`.)
//!
//! Markers in the subject or arguments are the result (the test is not
//! run), except for `defined`/`undefined`; an unknown subject makes the
//! result unknown.
//!
//! Unknown by nature: the file tests (`exists`, `file`, `directory`,
//! `link`, `mount`, `same_file`, `vaulted_file`): they look at the
//! controller's filesystem when the play runs. `pep440` versions are not
//! supported.

use std::cmp::Ordering;

use super::error::{type_err, value_err, Deps, Flow, R};
use super::eval::{iterate, CallArgs, Ev};
use super::value::{py_cmp, py_contains, py_eq, py_str, Value};
use super::{filters, pyre};

pub(crate) type TestFn = fn(&mut Ev<'_>, &Value, &CallArgs) -> R<bool>;

pub(crate) struct TestDef {
    pub f: TestFn,
    /// Receives markers (`defined`, `undefined`).
    pub markers: bool,
}

const fn plain(f: TestFn) -> TestDef {
    TestDef { f, markers: false }
}

pub(crate) fn find(name: &str) -> Option<TestDef> {
    Some(match filters::short_name(name) {
        "defined" => TestDef {
            f: defined,
            markers: true,
        },
        "undefined" => TestDef {
            f: undefined,
            markers: true,
        },
        "none" => plain(|_, v, _| Ok(matches!(v.known()?, Value::None))),
        "string" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Str(_)))),
        "number" => plain(|_, v, _| {
            Ok(matches!(
                v.known()?,
                Value::Int(_) | Value::Float(_) | Value::Bool(_)
            ))
        }),
        "integer" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Int(_)))),
        "float" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Float(_)))),
        "boolean" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Bool(_)))),
        "true" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Bool(true)))),
        "false" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Bool(false)))),
        "mapping" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Dict(_)))),
        "sequence" | "iterable" => plain(|_, v, _| {
            Ok(matches!(
                v.known()?,
                Value::Str(_) | Value::List(_) | Value::Dict(_)
            ))
        }),
        "callable" => plain(|_, v, _| {
            v.known()?;
            Ok(false)
        }),
        "escaped" => plain(|_, v, _| {
            v.known()?;
            Ok(false)
        }),
        "lower" => plain(|_, v, _| {
            let s = py_str(v)?;
            Ok(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }),
        "upper" => plain(|_, v, _| {
            let s = py_str(v)?;
            Ok(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }),
        "eq" | "equalto" | "==" => plain(|_, v, a| py_eq(v, one(a, "eq")?)),
        "ne" | "!=" => plain(|_, v, a| Ok(!py_eq(v, one(a, "ne")?)?)),
        "lt" | "lessthan" | "<" => {
            plain(|_, v, a| Ok(py_cmp(v, one(a, "lt")?, "<")? == Ordering::Less))
        }
        "le" | "<=" => plain(|_, v, a| Ok(py_cmp(v, one(a, "le")?, "<=")? != Ordering::Greater)),
        "gt" | "greaterthan" | ">" => {
            plain(|_, v, a| Ok(py_cmp(v, one(a, "gt")?, ">")? == Ordering::Greater))
        }
        "ge" | ">=" => plain(|_, v, a| Ok(py_cmp(v, one(a, "ge")?, ">=")? != Ordering::Less)),
        "in" => plain(|_, v, a| py_contains(one(a, "in")?, v)),
        "contains" => plain(|_, v, a| py_contains(v, one(a, "contains")?)),
        "sameas" => plain(|_, v, a| {
            let other = one(a, "sameas")?;
            Ok(match (v.known()?, other.known()?) {
                (Value::None, Value::None) => true,
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y && (-5..=256).contains(x),
                _ => false,
            })
        }),
        "divisibleby" => plain(|_, v, a| {
            let n = one(a, "divisibleby")?;
            match (v.known()?.as_number(), n.known()?.as_number()) {
                (Some(x), Some(y)) => {
                    let y = y.to_f64();
                    if y == 0.0 {
                        return value_err("integer division or modulo by zero");
                    }
                    Ok(x.to_f64() % y == 0.0)
                }
                _ => type_err("divisibleby expects numbers"),
            }
        }),
        "even" => plain(|_, v, _| int_of(v).map(|i| i % 2 == 0)),
        "odd" => plain(|_, v, _| int_of(v).map(|i| i % 2 != 0)),
        "nan" => plain(|_, v, _| Ok(matches!(v.known()?, Value::Float(f) if f.is_nan()))),
        "truthy" => plain(|_, v, a| truthy(v, a)),
        "falsy" => plain(|_, v, a| truthy(v, a).map(|b| !b)),
        "any" => plain(|_, v, _| {
            for x in iterate(v)? {
                if x.is_true()? {
                    return Ok(true);
                }
            }
            Ok(false)
        }),
        "all" => plain(|_, v, _| {
            for x in iterate(v)? {
                if !x.is_true()? {
                    return Ok(false);
                }
            }
            Ok(true)
        }),
        "subset" | "issubset" => plain(|_, v, a| subset(v, one(a, "subset")?)),
        "superset" | "issuperset" => plain(|_, v, a| subset(one(a, "superset")?, v)),
        "match" => plain(|_, v, a| regex(v, a, "match")),
        "search" => plain(|_, v, a| regex(v, a, "search")),
        "regex" => plain(|_, v, a| {
            let kind = match a.kw("match_type").or(a.pos.get(3)) {
                Some(k) => py_str(k)?,
                None => "search".into(),
            };
            regex(v, a, &kind)
        }),
        "version" | "version_compare" => plain(version),
        "abs" => plain(|_, v, _| Ok(py_str(v)?.starts_with('/'))),
        "failed" | "failure" => plain(|_, v, _| result_flag(v, "failed", "failed")),
        "succeeded" | "success" | "successful" => {
            plain(|_, v, _| result_flag(v, "failed", "succeeded").map(|b| !b))
        }
        "changed" | "change" => plain(|_, v, _| changed(v)),
        "skipped" | "skip" => plain(|_, v, _| result_flag(v, "skipped", "skipped")),
        "finished" => plain(|_, v, _| {
            let d = result(v, "finished")?;
            Ok(match d.get_str("finished") {
                Some(f) => f.is_true()?,
                None => true,
            })
        }),
        "started" => plain(|_, v, _| {
            let d = result(v, "started")?;
            Ok(match d.get_str("started") {
                Some(f) => f.is_true()?,
                None => true,
            })
        }),
        "unreachable" => plain(|_, v, _| result_flag(v, "unreachable", "unreachable")),
        "reachable" => plain(|_, v, _| result_flag(v, "unreachable", "reachable").map(|b| !b)),
        "vault_encrypted" => TestDef {
            f: |_, v, _| Ok(matches!(v, Value::Unknown(d) if d.names().contains("!vault"))),
            markers: true,
        },
        "exists" | "file" | "directory" | "dir" | "link" | "mount" | "same_file" | "is_file"
        | "is_dir" | "is_link" | "is_mount" | "is_same_file" | "vaulted_file" => {
            plain(|_, _, _| Err(Flow::Unknown(Deps::one("controller filesystem"))))
        }
        "filter" => plain(|_, v, _| Ok(filters::find(&py_str(v)?).is_some())),
        "test" => plain(|_, v, _| Ok(find(&py_str(v)?).is_some())),
        _ => return None,
    })
}

fn one<'a>(a: &'a CallArgs, name: &str) -> R<&'a Value> {
    a.pos
        .first()
        .or_else(|| a.kw.first().map(|(_, v)| v))
        .ok_or_else(|| {
            Flow::from(super::error::TemplateError::ty(format!(
                "test '{name}' needs an argument"
            )))
        })
}

fn int_of(v: &Value) -> R<i64> {
    match v.known()? {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => type_err(format!(
            "unsupported operand type(s) for %: '{}' and 'int'",
            other.type_name()
        )),
    }
}

fn defined(_: &mut Ev<'_>, v: &Value, _: &CallArgs) -> R<bool> {
    match v {
        Value::Marker(e) if matches!(e.kind, super::error::ErrorKind::Undefined) => Ok(false),
        Value::Marker(_) => v.known().map(|_| true),
        Value::Unknown(d) => Err(Flow::Unknown(d.clone())),
        _ => Ok(true),
    }
}

fn undefined(ev: &mut Ev<'_>, v: &Value, a: &CallArgs) -> R<bool> {
    defined(ev, v, a).map(|b| !b)
}

fn truthy(v: &Value, a: &CallArgs) -> R<bool> {
    let convert = match a.kw("convert_bool").or(a.pos.first()) {
        Some(c) => c.is_true()?,
        None => false,
    };
    if convert {
        if let Value::Str(s) = v.known()? {
            let l = s.to_lowercase();
            if ["yes", "on", "1", "true", "y", "t"].contains(&l.as_str()) {
                return Ok(true);
            }
            if ["no", "off", "0", "false", "n", "f"].contains(&l.as_str()) {
                return Ok(false);
            }
        }
    }
    v.is_true()
}

fn subset(small: &Value, big: &Value) -> R<bool> {
    let big = iterate(big)?;
    for x in iterate(small)? {
        let mut found = false;
        for y in &big {
            if py_eq(&x, y)? {
                found = true;
                break;
            }
        }
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

fn regex(v: &Value, a: &CallArgs, kind: &str) -> R<bool> {
    let b = a.bind(
        kind,
        &["pattern", "ignorecase", "multiline", "match_type"],
        false,
    )?;
    let s = py_str(v)?;
    let pattern = match &b[0] {
        Some(p) => py_str(p)?,
        None => String::new(),
    };
    let flag = |i: usize| -> R<bool> {
        match &b[i] {
            Some(x) => x.is_true(),
            None => Ok(false),
        }
    };
    let re = pyre::compile(&pattern, flag(1)?, flag(2)?)?;
    match kind {
        "match" => pyre::is_match_at_start(&re, &s),
        "search" => pyre::is_search(&re, &s),
        "fullmatch" => pyre::is_fullmatch(&re, &s),
        other => value_err(format!("Invalid match_type ({other})")),
    }
}

/// A task result (a dict) for the result tests.
fn result(v: &Value, test: &str) -> R<super::value::Dict> {
    match v.known()? {
        Value::Dict(d) => Ok(d.clone()),
        _ => value_err(format!("The '{test}' test expects a dictionary")),
    }
}

fn result_flag(v: &Value, key: &str, test: &str) -> R<bool> {
    let d = result(v, test)?;
    match d.get_str(key) {
        Some(x) => filters::bool_of(&x),
        None => Ok(false),
    }
}

fn changed(v: &Value) -> R<bool> {
    let d = result(v, "changed")?;
    if let Some(c) = d.get_str("changed") {
        return filters::bool_of(&c);
    }
    if let Some(Value::List(results)) = d.get_str("results") {
        for r in results.iter() {
            if let Value::Dict(rd) = r.known()? {
                if let Some(c) = rd.get_str("changed") {
                    if filters::bool_of(&c)? {
                        return Ok(true);
                    }
                }
            }
        }
    }
    Ok(false)
}

/// The `version` test: `LooseVersion` by default, `strict` and `semver`
/// on request.
fn version(_: &mut Ev<'_>, v: &Value, a: &CallArgs) -> R<bool> {
    let b = a.bind(
        "version",
        &["version", "operator", "strict", "version_type"],
        false,
    )?;
    let left = py_str(v)?;
    let right = match &b[0] {
        Some(x) => py_str(x)?,
        None => String::new(),
    };
    if !v.is_true()? {
        return value_err("Input version value cannot be empty");
    }
    if right.is_empty() {
        return value_err("Version parameter to compare against cannot be empty");
    }
    let op = match &b[1] {
        Some(o) => py_str(o)?,
        None => "eq".into(),
    };
    let op = match op.as_str() {
        "==" | "=" | "eq" => "eq",
        "<" | "lt" => "lt",
        "<=" | "le" => "le",
        ">" | "gt" => "gt",
        ">=" | "ge" => "ge",
        "!=" | "<>" | "ne" => "ne",
        other => {
            return value_err(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            ))
        }
    };
    let strict = match &b[2] {
        Some(s) => s.is_true()?,
        None => false,
    };
    let kind = match &b[3] {
        Some(k) => py_str(k)?,
        None if strict => "strict".into(),
        None => "loose".into(),
    };
    let ord = match kind.as_str() {
        "loose" => {
            let (l, r) = (loose(&left), loose(&right));
            py_cmp(&Value::from(l), &Value::from(r), "<").map_err(|f| match f {
                Flow::Error(e) => Flow::from(super::error::TemplateError::value(format!(
                    "Version comparison failed: {}",
                    e.message
                ))),
                u => u,
            })?
        }
        "strict" => {
            let (Some(l), Some(r)) = (strict_version(&left), strict_version(&right)) else {
                return value_err(format!(
                    "Version comparison failed: invalid version number '{}'",
                    if strict_version(&left).is_none() { &left } else { &right }
                ));
            };
            l.cmp(&r)
        }
        "semver" | "semantic" => {
            let (Some(l), Some(r)) = (semver(&left), semver(&right)) else {
                return value_err(format!(
                    "Version comparison failed: invalid semantic version '{}'",
                    if semver(&left).is_none() { &left } else { &right }
                ));
            };
            l.cmp(&r)
        }
        "pep440" => return Err(Flow::from(super::error::TemplateError::unsupported(
            "pep440 version comparisons are not supported",
        ))),
        other => {
            return value_err(format!(
                "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
            ))
        }
    };
    Ok(match op {
        "eq" => ord == Ordering::Equal,
        "ne" => ord != Ordering::Equal,
        "lt" => ord == Ordering::Less,
        "le" => ord != Ordering::Greater,
        "gt" => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    })
}

/// `LooseVersion.parse`: runs of digits (numbers), runs of lowercase
/// letters, and whatever is between them; dots dropped.
fn loose(s: &str) -> Vec<Value> {
    #[derive(PartialEq, Clone, Copy)]
    enum K {
        Digit,
        Lower,
        Other,
    }
    let kind = |c: char| {
        if c.is_ascii_digit() {
            K::Digit
        } else if c.is_ascii_lowercase() {
            K::Lower
        } else {
            K::Other
        }
    };
    let mut parts: Vec<(K, String)> = Vec::new();
    for c in s.chars() {
        let k = kind(c);
        if c == '.' {
            parts.push((K::Other, ".".into()));
            parts.push((K::Other, String::new()));
            continue;
        }
        match parts.last_mut() {
            Some((pk, text)) if *pk == k && !(k == K::Other && text == ".") => text.push(c),
            _ => parts.push((k, c.to_string())),
        }
    }
    parts
        .into_iter()
        .filter(|(_, t)| !t.is_empty() && t != ".")
        .map(|(k, t)| match (k, t.parse::<i64>()) {
            (K::Digit, Ok(n)) => Value::Int(n),
            _ => Value::from(t),
        })
        .collect()
}

/// Major, minor, patch, and the pre-release: (0 if there is one, 0 for
/// `a` or 1 for `b`, its number), ordered as `StrictVersion` orders them.
type StrictVersion = (u64, u64, u64, (u8, u8, u64));

/// `StrictVersion`: `N.N[.N][(a|b)N]`; a pre-release sorts before the
/// release.
fn strict_version(s: &str) -> Option<StrictVersion> {
    let (main, pre) = match s.find(['a', 'b']) {
        Some(i) => (&s[..i], Some((&s[i..i + 1], &s[i + 1..]))),
        None => (s, None),
    };
    let nums: Vec<&str> = main.split('.').collect();
    if !(2..=3).contains(&nums.len())
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| nums.get(i).map_or(Some(0), |x| x.parse().ok());
    let pre = match pre {
        None => (1, 0, 0),
        Some((letter, num)) => {
            if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (0, u8::from(letter == "b"), num.parse().ok()?)
        }
    };
    Some((n(0)?, n(1)?, n(2)?, pre))
}

/// Semantic versions: `X.Y.Z[-pre][+build]`; a pre-release sorts before
/// the release, identifiers compared numerically when numeric.
fn semver(s: &str) -> Option<(u64, u64, u64, SemPre)> {
    let s = s.split('+').next()?;
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (s, None),
    };
    let nums: Vec<u64> = core
        .split('.')
        .map(|x| x.parse().ok())
        .collect::<Option<Vec<_>>>()?;
    if nums.len() != 3 {
        return None;
    }
    Some((
        nums[0],
        nums[1],
        nums[2],
        SemPre(pre.map(|p| p.split('.').map(str::to_string).collect())),
    ))
}

#[derive(PartialEq, Eq)]
struct SemPre(Option<Vec<String>>);

impl PartialOrd for SemPre {
    fn partial_cmp(&self, other: &SemPre) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SemPre {
    fn cmp(&self, other: &SemPre) -> Ordering {
        match (&self.0, &other.0) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(p), Ok(q)) => p.cmp(&q),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        _ => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                a.len().cmp(&b.len())
            }
        }
    }
}

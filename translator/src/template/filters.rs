//! Filters: Jinja2's built-ins as Ansible configures them, and
//! ansible-core's (`ansible.builtin.*`), plus `ansible.utils.ipaddr` and
//! friends. Each behaves as the Python one does (checked against
//! ansible-core 2.19, see `spec.rs`).
//!
//! Every filter receives its input and evaluated arguments. Markers
//! (undefined values) in the input or arguments are returned as the
//! result without calling the filter, except for the filters that accept
//! them (`default`, `mandatory`, `ternary`...), as ansible-core does. An
//! unknown input makes the result unknown; unknown arguments only when the
//! filter uses them.
//!
//! Not implemented (an error, or unknown with
//! `Options::missing_plugins_unknown`): Kolla's own filters but those of
//! `kolla.rs` (`kolla_address`, `customise_fluentd`,
//! `extract_haproxy_services`, `namespace_haproxy_for_cell`,
//! `database_shards_info`, `extract_cell`, ...), `json_query` (JMESPath),
//! `xmlattr`, `urlize`, `wordwrap`, `to_datetime`, `fileglob`. Unknown by
//! nature (random, time, host-dependent or salted): `random`, `shuffle`,
//! `random_mac`, `password_hash`, `strftime`, `expanduser`, `realpath`,
//! `vault`/`unvault`.

use std::sync::Arc;

use super::ast::Sp;
use super::error::{type_err, value_err, ErrorKind, Flow, TemplateError, R};
use super::eval::{dict_items, iterate, list, CallArgs, Ev, MAX_ITEMS};
use super::value::{py_cmp, py_eq, py_repr, py_str, Dict, Key, Num, Value};
use super::{digest, net, pyfmt, pyre, yamldump};

pub(crate) type FilterFn = fn(&mut Ev<'_>, Value, &CallArgs) -> R<Value>;

pub(crate) struct FilterDef {
    pub f: FilterFn,
    /// Receives markers (undefined values) instead of returning them.
    pub markers: bool,
    /// Called with an unknown input (instead of the result being unknown).
    pub unknown_input: bool,
}

const fn plain(f: FilterFn) -> FilterDef {
    FilterDef {
        f,
        markers: false,
        unknown_input: false,
    }
}

/// The short name of a filter: `ansible.builtin.bool` is `bool`, and the
/// collections whose filters are implemented here are accepted too.
pub(crate) fn short_name(name: &str) -> &str {
    for prefix in [
        "ansible.builtin.",
        "ansible.legacy.",
        "ansible.utils.",
        "ansible.netcommon.",
        "community.general.",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

pub(crate) fn find(name: &str) -> Option<FilterDef> {
    Some(match short_name(name) {
        "default" | "d" => FilterDef {
            f: default,
            markers: true,
            unknown_input: false,
        },
        "mandatory" => FilterDef {
            f: mandatory,
            markers: true,
            unknown_input: false,
        },
        "ternary" => FilterDef {
            f: ternary,
            markers: true,
            unknown_input: false,
        },
        "type_debug" => FilterDef {
            f: type_debug,
            markers: true,
            unknown_input: false,
        },
        "bool" => plain(to_bool),
        "int" => plain(int),
        "float" => plain(float),
        "string" => plain(string),
        "list" => plain(to_list),
        "length" | "count" => plain(length),
        "join" => plain(join),
        "first" => plain(first),
        "last" => plain(last),
        "min" => plain(min),
        "max" => plain(max),
        "sum" => plain(sum),
        "sort" => plain(sort),
        "reverse" => plain(reverse),
        "unique" => plain(unique),
        "union" => plain(union),
        "intersect" => plain(intersect),
        "difference" => plain(difference),
        "symmetric_difference" => plain(symmetric_difference),
        "flatten" => plain(flatten),
        "zip" => plain(zip),
        "zip_longest" => plain(zip_longest),
        "product" => plain(product),
        "map" => plain(map),
        "select" => plain(select),
        "reject" => plain(reject),
        "selectattr" => plain(selectattr),
        "rejectattr" => plain(rejectattr),
        "dict2items" => plain(dict2items),
        "items2dict" => plain(items2dict),
        "items" => plain(items),
        "dictsort" => plain(dictsort),
        "combine" => plain(combine),
        "extract" => plain(extract),
        "subelements" => plain(subelements),
        "groupby" => plain(groupby),
        "batch" => plain(batch),
        "attr" => plain(attr),
        "lower" => plain(lower),
        "upper" => plain(upper),
        "capitalize" => plain(capitalize),
        "title" => plain(title),
        "trim" => plain(trim),
        "replace" => plain(replace),
        "center" => plain(center),
        "indent" => plain(indent),
        "truncate" => plain(truncate),
        "wordcount" => plain(wordcount),
        "format" => plain(format),
        "split" => plain(split),
        "e" | "escape" | "forceescape" => plain(escape),
        "safe" => plain(identity),
        "striptags" => plain(striptags),
        "urlencode" => plain(urlencode),
        "abs" => plain(abs),
        "round" => plain(round),
        "log" => plain(log),
        "pow" => plain(pow),
        "root" => plain(root),
        "human_to_bytes" => plain(human_to_bytes),
        "human_readable" => plain(human_readable),
        "filesizeformat" => plain(filesizeformat),
        "to_json" => plain(to_json),
        "to_nice_json" => plain(to_nice_json),
        "tojson" => plain(tojson),
        "from_json" => plain(from_json),
        "to_yaml" => plain(to_yaml),
        "to_nice_yaml" => plain(to_nice_yaml),
        "from_yaml" => plain(from_yaml),
        "from_yaml_all" => plain(from_yaml_all),
        "pprint" => plain(pprint),
        "quote" => plain(quote),
        "comment" => plain(comment),
        "basename" => plain(basename),
        "dirname" => plain(dirname),
        "splitext" => plain(splitext),
        "relpath" => plain(relpath),
        "normpath" => plain(normpath),
        "path_join" => plain(path_join),
        "commonpath" => plain(commonpath),
        "win_basename" => plain(win_basename),
        "win_dirname" => plain(win_dirname),
        "b64encode" => plain(b64encode),
        "b64decode" => plain(b64decode),
        "to_uuid" => plain(to_uuid),
        "hash" => plain(hash),
        "checksum" | "sha1" => plain(sha1),
        "md5" => plain(md5),
        "regex_replace" => plain(regex_replace),
        "regex_search" => plain(regex_search),
        "regex_findall" => plain(regex_findall),
        "regex_escape" => plain(regex_escape),
        "rekey_on_member" => plain(rekey_on_member),
        "ipaddr" => plain(ipaddr),
        "ipv4" => plain(ipv4),
        "ipv6" => plain(ipv6),
        "ipwrap" => plain(ipwrap),
        "ipmath" => plain(ipmath),
        "random" | "shuffle" | "random_mac" | "password_hash" | "strftime" | "expanduser"
        | "expandvars" | "realpath" | "vault" | "unvault" => plain(unknowable),
        _ => return None,
    })
}

// ----- helpers -----

fn arg(b: &[Option<Value>], i: usize) -> Option<&Value> {
    b.get(i).and_then(Option::as_ref)
}

/// A string argument (`str()` of it, as most filters do with `to_text`).
fn text(v: &Value) -> R<String> {
    py_str(v)
}

fn opt_bool(v: Option<&Value>, default: bool) -> R<bool> {
    match v {
        None => Ok(default),
        Some(v) => v.is_true(),
    }
}

fn opt_int(v: Option<&Value>, name: &str) -> R<Option<i64>> {
    match v {
        None => Ok(None),
        Some(v) => match v.known()? {
            Value::None => Ok(None),
            Value::Int(i) => Ok(Some(*i)),
            Value::Bool(b) => Ok(Some(i64::from(*b))),
            Value::Float(f) => Ok(Some(*f as i64)),
            Value::Str(s) => s
                .trim()
                .parse()
                .map(Some)
                .or_else(|_| type_err(format!("'{name}' must be an integer, not '{s}'"))),
            other => type_err(format!(
                "'{name}' must be an integer, not {}",
                other.type_name()
            )),
        },
    }
}

fn str_value(s: impl Into<String>) -> Value {
    Value::from(s.into())
}

/// Jinja2's `make_attrgetter`: a dotted path (`value.enabled`, `a.0`),
/// each part an item or attribute; a missing one is undefined.
pub(crate) fn get_path(ev: &Ev<'_>, v: &Value, path: &Value) -> R<Value> {
    let parts: Vec<Value> = match path.known()? {
        Value::Str(s) => s
            .split('.')
            .map(|p| match p.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::str(p),
            })
            .collect(),
        other => vec![other.clone()],
    };
    let mut cur = v.clone();
    for p in parts {
        cur = getitem(ev, cur, &p);
    }
    Ok(cur)
}

/// Jinja2's `environment.getitem`: an item, else an attribute, else
/// undefined.
pub(crate) fn getitem(ev: &Ev<'_>, o: Value, k: &Value) -> Value {
    match (&o, k) {
        (Value::Unknown(_) | Value::Marker(_), _) => o,
        (_, Value::Unknown(_)) => k.clone(),
        (Value::Dict(d), _) => match Key::from_value(k).ok().and_then(|key| d.get(&key)) {
            Some(v) => v,
            None => ev.undefined(
                format!(
                    "object of type 'dict' has no attribute {}",
                    super::value::py_repr_scalar(k)
                ),
                Sp::default(),
            ),
        },
        (Value::List(l), Value::Int(i)) => {
            let idx = if *i < 0 { i + l.len() as i64 } else { *i };
            match usize::try_from(idx).ok().and_then(|x| l.get(x)) {
                Some(v) => v,
                None => ev.undefined(
                    format!("object of type 'list' has no attribute {i}"),
                    Sp::default(),
                ),
            }
        }
        (_, Value::Str(s)) => ev.attr(o.clone(), s, Sp::default()),
        _ => ev.undefined(
            format!(
                "object of type '{}' has no attribute {}",
                o.type_name(),
                super::value::py_repr_scalar(k)
            ),
            Sp::default(),
        ),
    }
}

/// Items of a sequence argument (lists, dict keys, string characters).
fn seq(v: &Value) -> R<Vec<Value>> {
    iterate(v)
}

/// Jinja2's `ignore_case` key for sorting/comparing: strings lowered.
fn ignore_case(v: Value, case_sensitive: bool) -> Value {
    match (&v, case_sensitive) {
        (Value::Str(s), false) => Value::from(s.to_lowercase()),
        _ => v,
    }
}

fn sort_values(items: &mut [(Value, Value)]) -> R<()> {
    // Insertion sort with a fallible comparison (stable, like Python's).
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            if py_cmp(&items[j].0, &items[j - 1].0, "<")? == std::cmp::Ordering::Less {
                items.swap(j, j - 1);
                j -= 1;
            } else {
                break;
            }
        }
    }
    Ok(())
}

/// Stable sort by a fallible Python comparison (merge sort, for large
/// lists).
pub(crate) fn py_sort(items: Vec<(Value, Value)>) -> R<Vec<(Value, Value)>> {
    if items.len() <= 16 {
        let mut items = items;
        sort_values(&mut items)?;
        return Ok(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let (a, b) = (py_sort(items)?, py_sort(right)?);
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut ia, mut ib) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        match (ia.peek(), ib.peek()) {
            (Some(x), Some(y)) => {
                if py_cmp(&y.0, &x.0, "<")? == std::cmp::Ordering::Less {
                    out.extend(ib.next());
                } else {
                    out.extend(ia.next());
                }
            }
            (Some(_), None) => out.extend(ia.next()),
            (None, Some(_)) => out.extend(ib.next()),
            (None, None) => break,
        }
    }
    Ok(out)
}

// ----- Ansible core -----

fn default(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("default", &["default_value", "boolean"], false)?;
    let dv = arg(&b, 0).cloned().unwrap_or_else(|| Value::str(""));
    if v.is_undefined() {
        return Ok(dv);
    }
    if let Some(flag) = arg(&b, 1) {
        if !matches!(flag.known()?, Value::Bool(_)) {
            return type_err(format!(
                "The 'boolean' argument must be of type 'bool', not '{}'.",
                flag.type_name()
            ));
        }
        if flag.is_true()? && !v.is_true()? {
            return Ok(dv);
        }
    }
    Ok(v)
}

fn mandatory(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("mandatory", &["msg"], false)?;
    if v.is_undefined() {
        let msg = match arg(&b, 0) {
            Some(m) if !matches!(m, Value::None) => text(m)?,
            _ => {
                let name = match &v {
                    Value::Marker(e) => e
                        .message
                        .strip_suffix(" is undefined")
                        .map(|n| format!("{n} "))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                format!("Mandatory variable {name}not defined.")
            }
        };
        let _ = ev;
        return Err(TemplateError::undefined(msg).into());
    }
    Ok(v)
}

fn ternary(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("ternary", &["true_val", "false_val", "none_val"], false)?;
    let (t, f) = match (arg(&b, 0), arg(&b, 1)) {
        (Some(t), Some(f)) => (t.clone(), f.clone()),
        _ => return type_err("ternary() missing required positional arguments"),
    };
    if matches!(v.known()?, Value::None) {
        if let Some(n) = arg(&b, 2) {
            if !matches!(n, Value::None) {
                return Ok(n.clone());
            }
        }
    }
    Ok(if v.is_true()? { t } else { f })
}

fn type_debug(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::str(match &v {
        Value::Marker(_) => "UndefinedMarker",
        v => v.known()?.type_name(),
    }))
}

/// ansible-core's `to_bool` (the `bool` filter).
pub(crate) fn bool_of(v: &Value) -> R<bool> {
    let s = match v.known()? {
        Value::Str(s) => s.to_lowercase(),
        Value::Bool(b) => return Ok(*b),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => return Ok(*f == 1.0),
        _ => return Ok(false),
    };
    Ok(matches!(s.as_str(), "yes" | "on" | "true" | "1"))
}

fn to_bool(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::Bool(bool_of(&v)?))
}

fn unknowable(_: &mut Ev<'_>, _: Value, _: &CallArgs) -> R<Value> {
    Err(Flow::Unknown(super::error::Deps::one(
        "random or host-dependent filter",
    )))
}

// ----- Jinja2 conversions -----

/// Python's `int(str, base)`: whitespace, sign, underscores between
/// digits, and a `0x`-style prefix when `base` is 0 or matches.
pub(crate) fn parse_py_int(s: &str, base: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &t[2..]),
        (0 | 8, Some("0o")) => (8, &t[2..]),
        (0 | 2, Some("0b")) => (2, &t[2..]),
        (0, _) => (10, t),
        (b, _) => (b, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let n = i64::from_str_radix(&clean, base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(str)`.
pub(crate) fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim().replace('_', "");
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        return None;
    }
    t.parse().ok()
}

fn int(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("int", &["default", "base"], false)?;
    let default = arg(&b, 0).cloned().unwrap_or(Value::Int(0));
    let base = opt_int(arg(&b, 1), "base")?.unwrap_or(10);
    let r = match v.known()? {
        Value::Int(i) => Some(*i),
        Value::Bool(x) => Some(i64::from(*x)),
        Value::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        Value::Str(s) => parse_py_int(s, base as u32).or_else(|| {
            parse_py_float(s)
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    };
    Ok(r.map(Value::Int).unwrap_or(default))
}

fn float(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("float", &["default"], false)?;
    let default = arg(&b, 0).cloned().unwrap_or(Value::Float(0.0));
    let r = match v.known()? {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(x) => Some(f64::from(u8::from(*x))),
        Value::Float(f) => Some(*f),
        Value::Str(s) => parse_py_float(s),
        _ => None,
    };
    Ok(r.map(Value::Float).unwrap_or(default))
}

fn string(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(text(&v)?))
}

fn to_list(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(list(seq(&v)?))
}

fn length(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::Int(match v.known()? {
        Value::Str(s) => s.chars().count(),
        Value::List(l) => l.len(),
        Value::Dict(d) => d.len(),
        other => {
            return type_err(format!(
                "object of type '{}' has no len()",
                other.type_name()
            ))
        }
    } as i64))
}

fn join(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("join", &["d", "attribute"], false)?;
    let sep = match arg(&b, 0) {
        Some(s) => text(s)?,
        None => String::new(),
    };
    let mut parts = Vec::new();
    for item in seq(&v)? {
        let item = match arg(&b, 1) {
            Some(attr) => get_path(ev, &item, attr)?,
            None => item,
        };
        parts.push(text(&item)?);
    }
    Ok(Value::from(parts.join(&sep)))
}

fn first(ev: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(seq(&v)?
        .into_iter()
        .next()
        .unwrap_or_else(|| ev.undefined("No first item, sequence was empty.", Sp::default())))
}

fn last(ev: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(seq(&v)?
        .into_iter()
        .next_back()
        .unwrap_or_else(|| ev.undefined("No last item, sequence was empty.", Sp::default())))
}

/// `(key, item)` pairs for min/max/sort/unique: the item, or its
/// attribute, lowered unless case-sensitive.
fn keyed(
    ev: &Ev<'_>,
    items: Vec<Value>,
    attribute: Option<&Value>,
    case_sensitive: bool,
) -> R<Vec<(Value, Value)>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let k = match attribute {
            Some(attr) if !matches!(attr, Value::None) => get_path(ev, &item, attr)?,
            _ => item.clone(),
        };
        k.known()?;
        out.push((ignore_case(k, case_sensitive), item));
    }
    Ok(out)
}

fn min_max(ev: &mut Ev<'_>, v: Value, a: &CallArgs, want_max: bool) -> R<Value> {
    let b = a.bind(
        if want_max { "max" } else { "min" },
        &["case_sensitive", "attribute"],
        false,
    )?;
    let items = keyed(ev, seq(&v)?, arg(&b, 1), opt_bool(arg(&b, 0), false)?)?;
    let mut best: Option<(Value, Value)> = None;
    for (k, item) in items {
        best = Some(match best {
            None => (k, item),
            Some((bk, bi)) => {
                let ord = py_cmp(&k, &bk, if want_max { ">" } else { "<" })?;
                let better = if want_max {
                    ord == std::cmp::Ordering::Greater
                } else {
                    ord == std::cmp::Ordering::Less
                };
                if better {
                    (k, item)
                } else {
                    (bk, bi)
                }
            }
        });
    }
    Ok(best
        .map(|(_, i)| i)
        .unwrap_or_else(|| ev.undefined("No aggregated item, sequence was empty.", Sp::default())))
}

fn min(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    min_max(ev, v, a, false)
}

fn max(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    min_max(ev, v, a, true)
}

fn sum(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("sum", &["attribute", "start"], false)?;
    let mut total = arg(&b, 1).cloned().unwrap_or(Value::Int(0));
    for item in seq(&v)? {
        let item = match arg(&b, 0) {
            Some(attr) => get_path(ev, &item, attr)?,
            None => item,
        };
        total = super::eval::arith(super::ast::BinOp::Add, total.known()?, item.known()?, false)?;
    }
    Ok(total)
}

fn sort(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("sort", &["reverse", "case_sensitive", "attribute"], false)?;
    let items = keyed(ev, seq(&v)?, arg(&b, 2), opt_bool(arg(&b, 1), false)?)?;
    let mut sorted = py_sort(items)?;
    if opt_bool(arg(&b, 0), false)? {
        // Python's sort(reverse=True) keeps equal items in order.
        sorted.reverse();
        let mut out: Vec<(Value, Value)> = Vec::with_capacity(sorted.len());
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i + 1;
            while j < sorted.len() && py_eq(&sorted[j].0, &sorted[i].0)? {
                j += 1;
            }
            out.extend(sorted[i..j].iter().rev().cloned());
            i = j;
        }
        sorted = out;
    }
    Ok(list(sorted.into_iter().map(|(_, i)| i).collect()))
}

fn reverse(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()? {
        Value::Str(s) => Ok(Value::from(s.chars().rev().collect::<String>())),
        other => {
            let mut items = seq(other)?;
            items.reverse();
            Ok(list(items))
        }
    }
}

/// Items in first-seen order without repeats (Python `==`).
fn dedup(items: Vec<Value>) -> R<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    'next: for item in items {
        for seen in &out {
            if py_eq(seen, &item)? {
                continue 'next;
            }
        }
        out.push(item);
    }
    Ok(out)
}

fn unique(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("unique", &["case_sensitive", "attribute"], false)?;
    let items = keyed(ev, seq(&v)?, arg(&b, 1), opt_bool(arg(&b, 0), false)?)?;
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    'next: for (k, item) in items {
        for s in &seen {
            if py_eq(s, &k)? {
                continue 'next;
            }
        }
        seen.push(k);
        out.push(item);
    }
    Ok(list(out))
}

fn contains(items: &[Value], x: &Value) -> R<bool> {
    for i in items {
        if py_eq(i, x)? {
            return Ok(true);
        }
    }
    Ok(false)
}

// Python builds these with `set()`, whose order is not the lists' (and
// varies between runs for strings); here: first-seen order.

fn union(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("union", &["b"], false)?;
    let mut items = seq(&v)?;
    items.extend(seq(arg(&b, 0).unwrap_or(&Value::None))?);
    Ok(list(dedup(items)?))
}

fn intersect(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("intersect", &["b"], false)?;
    let other = seq(arg(&b, 0).unwrap_or(&Value::None))?;
    let mut out = Vec::new();
    for x in seq(&v)? {
        if contains(&other, &x)? {
            out.push(x);
        }
    }
    Ok(list(dedup(out)?))
}

fn difference(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("difference", &["b"], false)?;
    let other = seq(arg(&b, 0).unwrap_or(&Value::None))?;
    let mut out = Vec::new();
    for x in seq(&v)? {
        if !contains(&other, &x)? {
            out.push(x);
        }
    }
    Ok(list(dedup(out)?))
}

fn symmetric_difference(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("symmetric_difference", &["b"], false)?;
    let x = seq(&v)?;
    let y = seq(arg(&b, 0).unwrap_or(&Value::None))?;
    let mut out = Vec::new();
    for i in &x {
        if !contains(&y, i)? {
            out.push(i.clone());
        }
    }
    for i in &y {
        if !contains(&x, i)? {
            out.push(i.clone());
        }
    }
    Ok(list(dedup(out)?))
}

fn flatten_into(
    items: Vec<Value>,
    levels: Option<i64>,
    skip_nulls: bool,
    out: &mut Vec<Value>,
) -> R<()> {
    for item in items {
        if skip_nulls {
            match item.known()? {
                Value::None => continue,
                Value::Str(s) if &**s == "None" || &**s == "null" => continue,
                _ => {}
            }
        }
        match (&item, levels) {
            (Value::List(l), None) => flatten_into(l.to_vec(), None, skip_nulls, out)?,
            (Value::List(l), Some(n)) if n >= 1 => {
                flatten_into(l.to_vec(), Some(n - 1), skip_nulls, out)?
            }
            _ => out.push(item),
        }
    }
    Ok(())
}

fn flatten(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("flatten", &["levels", "skip_nulls"], false)?;
    let mut out = Vec::new();
    flatten_into(
        seq(&v)?,
        opt_int(arg(&b, 0), "levels")?,
        opt_bool(arg(&b, 1), true)?,
        &mut out,
    )?;
    Ok(list(out))
}

fn zip(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut lists = vec![seq(&v)?];
    for x in &a.pos {
        lists.push(seq(x)?);
    }
    let n = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(list(
        (0..n)
            .map(|i| list(lists.iter().map(|l| l[i].clone()).collect()))
            .collect(),
    ))
}

fn zip_longest(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut lists = vec![seq(&v)?];
    for x in &a.pos {
        lists.push(seq(x)?);
    }
    let fill = a.kw("fillvalue").cloned().unwrap_or(Value::None);
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(list(
        (0..n)
            .map(|i| {
                list(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect(),
                )
            })
            .collect(),
    ))
}

fn product(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut lists = vec![seq(&v)?];
    for x in &a.pos {
        lists.push(seq(x)?);
    }
    if let Some(r) = opt_int(a.kw("repeat"), "repeat")? {
        let base = lists.clone();
        for _ in 1..r.max(0) {
            lists.extend(base.iter().cloned());
        }
        if r <= 0 {
            lists.clear();
        }
    }
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for l in &lists {
        let mut next = Vec::new();
        for prefix in &out {
            for x in l {
                let mut p = prefix.clone();
                p.push(x.clone());
                next.push(p);
            }
        }
        if next.len() > MAX_ITEMS {
            return Err(TemplateError::new(ErrorKind::Limit, "product too large").into());
        }
        out = next;
    }
    Ok(list(out.into_iter().map(list).collect()))
}

/// `map('filter', args...)` or `map(attribute='x', default=d)`.
fn map(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let items = seq(&v)?;
    if a.pos.is_empty() {
        let Some(attr) = a.kw("attribute") else {
            return type_err("map() requires a filter name or attribute=");
        };
        let default = a.kw("default");
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let got = get_path(ev, &item, attr)?;
            out.push(match (got.is_undefined(), default) {
                (true, Some(d)) => d.clone(),
                _ => got,
            });
        }
        return Ok(list(out));
    }
    let name = text(&a.pos[0])?;
    let rest = CallArgs {
        pos: a.pos[1..].to_vec(),
        kw: a.kw.clone(),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(ev.call_filter(&name, item, rest.clone(), Sp::default())?);
    }
    Ok(list(out))
}

/// Does `item` pass test `name` (truthiness without a name)?
fn passes(ev: &mut Ev<'_>, item: Value, test: Option<&Value>, rest: &CallArgs) -> R<bool> {
    match test {
        None => item.is_true(),
        Some(name) => {
            let name = text(name)?;
            ev.call_test(&name, item, rest.clone(), Sp::default())?
                .is_true()
        }
    }
}

fn select_impl(ev: &mut Ev<'_>, v: Value, a: &CallArgs, keep: bool, attr: bool) -> R<Value> {
    let items = seq(&v)?;
    let (attribute, test, rest) = if attr {
        let Some(at) = a.pos.first() else {
            return type_err("selectattr() requires an attribute name");
        };
        (
            Some(at.clone()),
            a.pos.get(1).cloned(),
            CallArgs {
                pos: a.pos.get(2..).map(<[Value]>::to_vec).unwrap_or_default(),
                kw: a.kw.clone(),
            },
        )
    } else {
        (
            None,
            a.pos.first().cloned(),
            CallArgs {
                pos: a.pos.get(1..).map(<[Value]>::to_vec).unwrap_or_default(),
                kw: a.kw.clone(),
            },
        )
    };
    let mut out = Vec::new();
    for item in items {
        let subject = match &attribute {
            Some(at) => get_path(ev, &item, at)?,
            None => item.clone(),
        };
        if passes(ev, subject, test.as_ref(), &rest)? == keep {
            out.push(item);
        }
    }
    Ok(list(out))
}

fn select(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    select_impl(ev, v, a, true, false)
}

fn reject(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    select_impl(ev, v, a, false, false)
}

fn selectattr(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    select_impl(ev, v, a, true, true)
}

fn rejectattr(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    select_impl(ev, v, a, false, true)
}

fn dict2items(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("dict2items", &["key_name", "value_name"], false)?;
    let kn = arg(&b, 0)
        .map(text)
        .transpose()?
        .unwrap_or_else(|| "key".into());
    let vn = arg(&b, 1)
        .map(text)
        .transpose()?
        .unwrap_or_else(|| "value".into());
    let Value::Dict(d) = v.known()? else {
        return type_err(format!(
            "dict2items requires a dictionary, got <class '{}'> instead.",
            v.type_name()
        ));
    };
    // Values are not read: a dict with unknown values gives a list of
    // dicts with unknown values.
    Ok(list(
        d.0.iter()
            .map(|(k, slot)| {
                let m = [
                    (Key::str(&kn), super::value::Slot::Ready(k.to_value())),
                    (Key::str(&vn), slot.clone()),
                ]
                .into_iter()
                .collect();
                Value::Dict(Dict::from_slots(m))
            })
            .collect(),
    ))
}

fn items2dict(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("items2dict", &["key_name", "value_name"], false)?;
    let kn = arg(&b, 0)
        .map(text)
        .transpose()?
        .unwrap_or_else(|| "key".into());
    let vn = arg(&b, 1)
        .map(text)
        .transpose()?
        .unwrap_or_else(|| "value".into());
    let mut m = indexmap::IndexMap::new();
    for item in seq(&v)? {
        let Value::Dict(d) = item.known()? else {
            return type_err(format!(
                "items2dict requires a list of dictionaries, got <class '{}'> instead.",
                item.type_name()
            ));
        };
        let (Some(k), Some(val)) = (d.0.get(kn.as_str()), d.0.get(vn.as_str())) else {
            return type_err(format!(
                "items2dict requires each dictionary to have keys '{kn}' and '{vn}'"
            ));
        };
        m.insert(Key::from_value(&k.get())?, val.clone());
    }
    Ok(Value::Dict(Dict::from_slots(m)))
}

fn items(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()? {
        Value::None => Ok(list(Vec::new())),
        other => Ok(list(
            dict_items(other)?
                .into_iter()
                .map(|(k, v)| list(vec![k.to_value(), v]))
                .collect(),
        )),
    }
}

fn dictsort(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("dictsort", &["case_sensitive", "by", "reverse"], false)?;
    let cs = opt_bool(arg(&b, 0), false)?;
    let by_value = match arg(&b, 1) {
        Some(by) => match text(by)?.as_str() {
            "key" => false,
            "value" => true,
            _ => return value_err("You can only sort by either \"key\" or \"value\""),
        },
        None => false,
    };
    let mut pairs = Vec::new();
    for (k, val) in dict_items(&v)? {
        let key = if by_value { val.clone() } else { k.to_value() };
        pairs.push((ignore_case(key, cs), list(vec![k.to_value(), val])));
    }
    let mut sorted = py_sort(pairs)?;
    if opt_bool(arg(&b, 2), false)? {
        sorted.reverse();
    }
    Ok(list(sorted.into_iter().map(|(_, p)| p).collect()))
}

/// ansible-core's `merge_hash`: `y` into `x`, `y` winning.
pub(crate) fn merge_hash(x: &Dict, y: &Dict, recursive: bool, list_merge: &str) -> R<Dict> {
    if x.is_empty() {
        return Ok(y.clone());
    }
    if y.is_empty() {
        return Ok(x.clone());
    }
    let mut out = (*x.0).clone();
    for (k, yslot) in y.0.iter() {
        let Some(xslot) = out.get(k) else {
            out.insert(k.clone(), yslot.clone());
            continue;
        };
        if !recursive && list_merge == "replace" {
            out.insert(k.clone(), yslot.clone());
            continue;
        }
        let (xv, yv) = (xslot.get(), yslot.get());
        let merged = match (&xv, &yv) {
            (Value::Dict(a), Value::Dict(b)) => {
                if recursive {
                    Value::Dict(merge_hash(a, b, recursive, list_merge)?)
                } else {
                    yv.clone()
                }
            }
            (Value::List(a), Value::List(b)) => {
                let (a, b) = (a.to_vec(), b.to_vec());
                match list_merge {
                    "replace" => yv.clone(),
                    "keep" => xv.clone(),
                    "append" => list(a.into_iter().chain(b).collect()),
                    "prepend" => list(b.into_iter().chain(a).collect()),
                    "append_rp" => {
                        let mut out = Vec::new();
                        for z in a {
                            if !contains(&b, &z)? {
                                out.push(z);
                            }
                        }
                        out.extend(b);
                        list(out)
                    }
                    "prepend_rp" => {
                        let mut out = b.clone();
                        for z in a {
                            if !contains(&b, &z)? {
                                out.push(z);
                            }
                        }
                        list(out)
                    }
                    _ => unreachable!("checked by combine"),
                }
            }
            _ => yv.clone(),
        };
        out.insert(k.clone(), super::value::Slot::Ready(merged));
    }
    Ok(Dict::from_slots(out))
}

fn combine(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut recursive = false;
    let mut list_merge = "replace".to_string();
    for (k, val) in &a.kw {
        match &**k {
            "recursive" => recursive = val.is_true()?,
            "list_merge" => list_merge = text(val)?,
            _ => {
                return value_err(
                    "'recursive' and 'list_merge' are the only valid keyword arguments",
                )
            }
        }
    }
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return value_err("merge_hash: 'list_merge' argument can only be equal to 'replace', 'keep', 'append', 'prepend', 'append_rp' or 'prepend_rp'");
    }
    // flatten(terms, levels=1)
    let mut dicts = Vec::new();
    for term in std::iter::once(&v).chain(a.pos.iter()) {
        match term.known()? {
            Value::List(l) => dicts.extend(l.iter()),
            Value::None => {}
            _ => dicts.push(term.clone()),
        }
    }
    let mut ds = Vec::with_capacity(dicts.len());
    for d in &dicts {
        match d.known()? {
            Value::Dict(d) => ds.push(d.clone()),
            other => {
                return type_err(format!(
                    "failed to combine variables, expected dicts but got a '{}'",
                    other.type_name()
                ))
            }
        }
    }
    let Some(mut result) = ds.pop() else {
        return Ok(Value::Dict(Dict::new()));
    };
    while let Some(lower) = ds.pop() {
        result = merge_hash(&lower, &result, recursive, &list_merge)?;
    }
    Ok(Value::Dict(result))
}

fn extract(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("extract", &["container", "morekeys"], false)?;
    let mut keys = vec![v];
    match arg(&b, 1) {
        None | Some(Value::None) => {}
        Some(Value::List(l)) => keys.extend(l.iter()),
        Some(other) => keys.push(other.clone()),
    }
    let mut cur = arg(&b, 0).cloned().unwrap_or(Value::None);
    for k in keys {
        cur = getitem(ev, cur, &k);
    }
    Ok(cur)
}

fn subelements(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("subelements", &["subelements", "skip_missing"], false)?;
    let elements: Vec<Value> = match v.known()? {
        Value::Dict(d) => d.iter().map(|(_, v)| v).collect(),
        Value::List(l) => l.to_vec(),
        _ => return type_err("obj must be a list of dicts or a nested dict"),
    };
    let path: Vec<String> = match arg(&b, 0).map(Value::known).transpose()? {
        Some(Value::Str(s)) => s.split('.').map(str::to_string).collect(),
        Some(Value::List(l)) => l.iter().map(|x| text(&x)).collect::<R<_>>()?,
        _ => return type_err("subelements must be a list or a string"),
    };
    let skip = opt_bool(arg(&b, 1), false)?;
    let mut out = Vec::new();
    for e in elements {
        let mut cur = e.clone();
        let mut missing = false;
        for p in &path {
            match cur.known()? {
                Value::Dict(d) => match d.get_str(p) {
                    Some(x) => cur = x,
                    None if skip => {
                        missing = true;
                        break;
                    }
                    None => {
                        return value_err(format!(
                            "could not find '{p}' key in iterated item {}",
                            py_repr(&cur)?
                        ))
                    }
                },
                _ => {
                    return type_err(format!(
                        "the key {p} should point to a dictionary, got '{}'",
                        py_str(&cur)?
                    ))
                }
            }
        }
        if missing {
            continue;
        }
        let Value::List(items) = cur.known()? else {
            return type_err(format!(
                "the key '{}' should point to a list, got {}",
                path.last().cloned().unwrap_or_default(),
                py_repr(&cur)?
            ));
        };
        for x in items.iter() {
            out.push(list(vec![e.clone(), x]));
        }
    }
    Ok(list(out))
}

fn groupby(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind(
        "groupby",
        &["attribute", "default", "case_sensitive"],
        false,
    )?;
    let Some(attr) = arg(&b, 0) else {
        return type_err("groupby() missing required argument 'attribute'");
    };
    let cs = opt_bool(arg(&b, 2), false)?;
    let mut keyed_items = Vec::new();
    for item in seq(&v)? {
        let mut k = get_path(ev, &item, attr)?;
        if k.is_undefined() {
            if let Some(d) = arg(&b, 1) {
                k = d.clone();
            }
        }
        keyed_items.push((ignore_case(k.known()?.clone(), cs), (k, item)));
    }
    let sorted = py_sort(
        keyed_items
            .into_iter()
            .map(|(k, (orig, item))| (k, list(vec![orig, item])))
            .collect(),
    )?;
    let mut groups: Vec<(Value, Value, Vec<Value>)> = Vec::new();
    for (k, pair) in sorted {
        let pair = pair.as_list().map(|l| l.to_vec()).unwrap_or_default();
        let (orig, item) = (pair[0].clone(), pair[1].clone());
        match groups.last_mut() {
            Some((gk, _, items)) if py_eq(gk, &k)? => items.push(item),
            _ => groups.push((k, orig, vec![item])),
        }
    }
    Ok(list(
        groups
            .into_iter()
            .map(|(_, orig, items)| list(vec![orig, list(items)]))
            .collect(),
    ))
}

fn batch(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("batch", &["linecount", "fill_with"], false)?;
    let n = opt_int(arg(&b, 0), "linecount")?.unwrap_or(1).max(1) as usize;
    let mut out = Vec::new();
    let items = seq(&v)?;
    for chunk in items.chunks(n) {
        let mut c = chunk.to_vec();
        if let Some(fill) = arg(&b, 1) {
            while c.len() < n {
                c.push(fill.clone());
            }
        }
        out.push(list(c));
    }
    Ok(list(out))
}

fn attr(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("attr", &["name"], false)?;
    let name = text(arg(&b, 0).unwrap_or(&Value::None))?;
    Ok(ev.attr(v, &name, Sp::default()))
}

// ----- strings -----

fn lower(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(text(&v)?.to_lowercase()))
}

fn upper(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(text(&v)?.to_uppercase()))
}

fn capitalize(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let mut c = s.chars();
    Ok(Value::from(match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }))
}

/// Jinja2's `title`: the first letter of each word up, the rest down
/// (words start after anything but a letter, digit or apostrophe...).
fn title(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_whitespace() || "-([{<\"".contains(c) {
            out.push(c);
            start = true;
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Ok(Value::from(out))
}

/// Python's `str.strip(chars)`.
pub(crate) fn py_strip<'s>(s: &'s str, chars: Option<&str>, left: bool, right: bool) -> &'s str {
    let pred = |c: char| match chars {
        Some(cs) => cs.contains(c),
        None => c.is_whitespace(),
    };
    let s = if left { s.trim_start_matches(pred) } else { s };
    if right {
        s.trim_end_matches(pred)
    } else {
        s
    }
}

fn trim(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("trim", &["chars"], false)?;
    let s = text(&v)?;
    let chars = match arg(&b, 0) {
        Some(Value::None) | None => None,
        Some(c) => Some(text(c)?),
    };
    Ok(str_value(py_strip(&s, chars.as_deref(), true, true)))
}

/// Python's `str.replace(old, new, count)`.
pub(crate) fn py_replace(s: &str, old: &str, new: &str, count: Option<i64>) -> String {
    let count = count.filter(|c| *c >= 0).map(|c| c as usize);
    if old.is_empty() {
        // Python inserts `new` between characters (and at both ends).
        let mut out = String::new();
        let mut n = 0;
        for c in s.chars() {
            if count.is_none_or(|k| n < k) {
                out.push_str(new);
                n += 1;
            }
            out.push(c);
        }
        if count.is_none_or(|k| n < k) {
            out.push_str(new);
        }
        return out;
    }
    match count {
        None => s.replace(old, new),
        Some(k) => s.replacen(old, new, k),
    }
}

fn replace(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("replace", &["old", "new", "count"], false)?;
    let (Some(old), Some(new)) = (arg(&b, 0), arg(&b, 1)) else {
        return type_err("replace() missing required arguments 'old' and 'new'");
    };
    Ok(Value::from(py_replace(
        &text(&v)?,
        &text(old)?,
        &text(new)?,
        opt_int(arg(&b, 2), "count")?,
    )))
}

fn center(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("center", &["width"], false)?;
    let s = text(&v)?;
    let width = opt_int(arg(&b, 0), "width")?.unwrap_or(80).max(0) as usize;
    let n = s.chars().count();
    if width <= n {
        return Ok(Value::from(s));
    }
    let total = width - n;
    // Python's str.center: the extra space goes left when `total` is odd
    // and the width is odd.
    let left = total / 2 + (total & width & 1);
    Ok(Value::from(format!(
        "{}{}{}",
        " ".repeat(left),
        s,
        " ".repeat(total - left)
    )))
}

fn indent(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("indent", &["width", "first", "blank"], false)?;
    let s = text(&v)?;
    let pad = match arg(&b, 0) {
        Some(Value::Str(p)) => p.to_string(),
        other => " ".repeat(opt_int(other, "width")?.unwrap_or(4).max(0) as usize),
    };
    let first = opt_bool(arg(&b, 1), false)?;
    let blank = opt_bool(arg(&b, 2), false)?;
    let mut out = String::new();
    let s = s.strip_suffix('\n').map_or(s.as_str(), |x| x);
    let trailing = text(&v)?.ends_with('\n');
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if (i > 0 || first) && (blank || !line.trim().is_empty()) {
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    if trailing {
        out.push('\n');
    }
    Ok(Value::from(out))
}

fn truncate(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("truncate", &["length", "killwords", "end", "leeway"], false)?;
    let s = text(&v)?;
    let length = opt_int(arg(&b, 0), "length")?.unwrap_or(255).max(0) as usize;
    let killwords = opt_bool(arg(&b, 1), false)?;
    let end = match arg(&b, 2) {
        Some(e) => text(e)?,
        None => "...".into(),
    };
    let leeway = opt_int(arg(&b, 3), "leeway")?.unwrap_or(5).max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let keep = length.saturating_sub(end.chars().count());
    let head: String = chars[..keep.min(chars.len())].iter().collect();
    if killwords {
        return Ok(Value::from(head + &end));
    }
    let head = match head.rfind(' ') {
        Some(i) => head[..i].to_string(),
        None => head,
    };
    Ok(Value::from(head + &end))
}

fn wordcount(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    Ok(Value::Int(
        s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .count() as i64,
    ))
}

fn format(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    if !a.kw.is_empty() {
        let d: Dict =
            a.kw.iter()
                .map(|(k, v)| (Key::Str(Arc::clone(k)), v.clone()))
                .collect();
        return super::methods::printf(&s, &Value::Dict(d), false);
    }
    super::methods::printf(&s, &list(a.pos.clone()), true)
}

/// Python's `str.split(sep, maxsplit)`.
pub(crate) fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> R<Vec<Value>> {
    let max = if maxsplit < 0 {
        usize::MAX
    } else {
        maxsplit as usize
    };
    Ok(match sep {
        Some("") => return value_err("empty separator"),
        Some(sep) => {
            let mut out = Vec::new();
            let mut rest = s;
            let mut n = 0;
            while n < max {
                match rest.find(sep) {
                    Some(i) => {
                        out.push(Value::str(&rest[..i]));
                        rest = &rest[i + sep.len()..];
                        n += 1;
                    }
                    None => break,
                }
            }
            out.push(Value::str(rest));
            out
        }
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            let mut n = 0;
            while !rest.is_empty() {
                if n >= max {
                    out.push(Value::str(rest));
                    break;
                }
                match rest.find(char::is_whitespace) {
                    Some(i) => {
                        out.push(Value::str(&rest[..i]));
                        rest = rest[i..].trim_start();
                        n += 1;
                    }
                    None => {
                        out.push(Value::str(rest));
                        break;
                    }
                }
            }
            out
        }
    })
}

fn split(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("split", &["sep", "maxsplit"], false)?;
    let sep = match arg(&b, 0) {
        None | Some(Value::None) => None,
        Some(s) => Some(text(s)?),
    };
    let max = opt_int(arg(&b, 1), "maxsplit")?.unwrap_or(-1);
    Ok(list(py_split(&text(&v)?, sep.as_deref(), max)?))
}

fn escape(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

fn identity(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(v)
}

fn striptags(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    Ok(Value::from(
        out.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

/// `urllib.parse.quote` with Jinja2's `safe` set (`/` kept).
fn url_quote(s: &str, safe: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn urlencode(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()? {
        Value::Str(s) => Ok(Value::from(url_quote(s, "/"))),
        Value::Dict(_) | Value::List(_) => {
            let mut parts = Vec::new();
            for (k, val) in dict_items(&v)? {
                let q = |s: &str| url_quote(s, "").replace("%20", "+");
                parts.push(format!("{}={}", q(&k.to_string()), q(&text(&val)?)));
            }
            Ok(Value::from(parts.join("&")))
        }
        other => Ok(Value::from(url_quote(&text(other)?, "/"))),
    }
}

// ----- numbers -----

fn abs(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()?.as_number() {
        Some(Num::Int(i)) => Ok(Value::Int(i.checked_abs().unwrap_or(i64::MAX))),
        Some(Num::Float(f)) => Ok(Value::Float(f.abs())),
        None => type_err(format!("bad operand type for abs(): '{}'", v.type_name())),
    }
}

/// Python's `round(x, n)`: half to even, on the decimal value.
fn py_round(x: f64, n: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let text = format!("{:.*}", n.clamp(0, 300) as usize, x);
    if n >= 0 {
        // Rust's formatting rounds half to even on the exact binary value,
        // as Python's round does.
        text.parse().unwrap_or(x)
    } else {
        let p = 10f64.powi((-n) as i32);
        (x / p).round_ties_even() * p
    }
}

fn round(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("round", &["precision", "method"], false)?;
    let precision = opt_int(arg(&b, 0), "precision")?.unwrap_or(0);
    let method = match arg(&b, 1) {
        Some(m) => text(m)?,
        None => "common".into(),
    };
    let x = match v.known()?.as_number() {
        Some(n) => n.to_f64(),
        None => {
            return type_err(format!(
                "type {} doesn't define __round__ method",
                v.type_name()
            ))
        }
    };
    let p = 10f64.powi(precision.clamp(-300, 300) as i32);
    if let (Value::Int(i), "common") = (v.known()?, method.as_str()) {
        // Python's round() of an int is an int.
        return Ok(Value::Int(if precision >= 0 {
            *i
        } else {
            py_round(*i as f64, precision) as i64
        }));
    }
    Ok(Value::Float(match method.as_str() {
        "common" => py_round(x, precision),
        "ceil" => (x * p).ceil() / p,
        "floor" => (x * p).floor() / p,
        _ => return value_err("method must be common, ceil or floor"),
    }))
}

fn num(v: &Value, what: &str) -> R<f64> {
    match v.known()?.as_number() {
        Some(n) => Ok(n.to_f64()),
        None => value_err(format!("{what}() can only be used on numbers")),
    }
}

fn log(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("log", &["base"], false)?;
    let x = num(&v, "log")?;
    if x <= 0.0 {
        return value_err("math domain error");
    }
    Ok(Value::Float(match arg(&b, 0) {
        None => x.ln(),
        Some(base) => {
            let base = num(base, "log")?;
            if base == 10.0 {
                x.log10()
            } else {
                x.ln() / base.ln()
            }
        }
    }))
}

fn pow(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("pow", &["y"], false)?;
    Ok(Value::Float(
        num(&v, "pow")?.powf(num(arg(&b, 0).unwrap_or(&Value::None), "pow")?),
    ))
}

fn root(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("root", &["base"], false)?;
    let x = num(&v, "root")?;
    Ok(Value::Float(match arg(&b, 0) {
        None => x.sqrt(),
        Some(base) => {
            let base = num(base, "root")?;
            if base == 2.0 {
                x.sqrt()
            } else {
                x.powf(1.0 / base)
            }
        }
    }))
}

/// ansible's `human_to_bytes`: `10M`, `1.5 GB`, `512`, `1Kb` (bits with
/// `isbits`).
fn human_to_bytes(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("human_to_bytes", &["default_unit", "isbits"], false)?;
    let s = text(&v)?;
    let isbits = opt_bool(arg(&b, 1), false)?;
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let Ok(n) = number.parse::<f64>() else {
        return value_err(format!(
            "human_to_bytes() can't interpret a valid unit for {s}"
        ));
    };
    let mut unit = unit.to_string();
    if unit.is_empty() {
        if let Some(d) = arg(&b, 0) {
            unit = text(d)?;
        }
    }
    let prefixes = ['B', 'K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
    let first = unit.chars().next().map(|c| c.to_ascii_uppercase());
    let power = match first {
        None => 0,
        Some(c) => match prefixes.iter().position(|p| *p == c) {
            Some(p) => p,
            None => {
                return value_err(format!(
                    "human_to_bytes() failed to convert {s}. Value is not a valid string ({unit} is not a valid unit)"
                ))
            }
        },
    };
    let rest: String = unit.chars().skip(1).collect();
    let (expect, unit_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
    if power > 0
        && !(rest.is_empty()
            || rest == expect.to_string()
            || rest.eq_ignore_ascii_case(&format!("i{expect}")))
    {
        return value_err(format!(
            "human_to_bytes() failed to convert {s}. Value is not a valid string (expect {unit_name} or {expect})"
        ));
    }
    let bytes = n * 1024f64.powi(power as i32);
    Ok(Value::Int(bytes.round() as i64))
}

fn human_readable(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("human_readable", &["isbits", "unit"], false)?;
    let size = num(&v, "human_readable")?;
    let isbits = opt_bool(arg(&b, 0), false)?;
    let (base, suffix) = if isbits {
        ("bits", "b")
    } else {
        ("Bytes", "B")
    };
    let units = ["Y", "Z", "E", "P", "T", "G", "M", "K", "B"];
    let wanted = match arg(&b, 1) {
        Some(u) => Some(text(u)?.chars().next().unwrap_or('B').to_ascii_uppercase()),
        None => None,
    };
    for (i, u) in units.iter().enumerate() {
        let limit = 1024f64.powi((units.len() - 1 - i) as i32);
        let pick = match wanted {
            Some(w) => w.to_string() == *u,
            None => size >= limit,
        };
        if pick {
            let value = size / limit;
            return Ok(Value::from(if *u == "B" {
                format!("{value:.2} {base}")
            } else {
                format!("{value:.2} {u}{suffix}")
            }));
        }
    }
    Ok(Value::from(format!("{size:.2} {base}")))
}

fn filesizeformat(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("filesizeformat", &["binary"], false)?;
    let bytes = num(&v, "filesizeformat")?;
    let binary = opt_bool(arg(&b, 0), false)?;
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if bytes == 1.0 {
        return Ok(Value::str("1 Byte"));
    }
    if bytes < base {
        return Ok(Value::from(format!("{} Bytes", bytes as i64)));
    }
    let mut unit = base;
    for (i, p) in prefixes.iter().enumerate() {
        unit = base.powi(i as i32 + 2);
        if bytes < unit {
            return Ok(Value::from(format!("{:.1} {p}", base * bytes / unit)));
        }
    }
    Ok(Value::from(format!(
        "{:.1} {}",
        base * bytes / unit,
        prefixes[7]
    )))
}

// ----- serialisation -----

fn json_opts(a: &CallArgs, indent: Option<i64>, sort_keys: bool) -> R<pyfmt::JsonOpts> {
    let mut o = pyfmt::JsonOpts {
        indent,
        sort_keys,
        ensure_ascii: true,
        separators: None,
    };
    for (k, v) in &a.kw {
        match &**k {
            "indent" => o.indent = opt_int(Some(v), "indent")?,
            "sort_keys" => o.sort_keys = v.is_true()?,
            "ensure_ascii" => o.ensure_ascii = v.is_true()?,
            "separators" => {
                let parts = seq(v)?;
                if parts.len() == 2 {
                    o.separators = Some((text(&parts[0])?, text(&parts[1])?));
                }
            }
            _ => {}
        }
    }
    Ok(o)
}

fn to_json(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let o = json_opts(a, None, false)?;
    Ok(Value::from(pyfmt::json_dumps(&v, &o)?))
}

fn to_nice_json(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut o = json_opts(a, Some(4), true)?;
    if let Some(i) = a.pos.first() {
        o.indent = opt_int(Some(i), "indent")?;
    }
    o.separators = Some((",".into(), ": ".into()));
    Ok(Value::from(pyfmt::json_dumps(&v, &o)?))
}

/// Jinja2's `tojson`: sorted keys, HTML-safe.
fn tojson(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let o = pyfmt::JsonOpts {
        indent: opt_int(a.pos.first().or(a.kw("indent")), "indent")?,
        sort_keys: true,
        ensure_ascii: true,
        separators: None,
    };
    let s = pyfmt::json_dumps(&v, &o)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027");
    Ok(Value::from(s))
}

fn from_json(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    pyfmt::json_loads(&s)
}

fn to_yaml(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut o = yamldump::Opts::default();
    for (k, val) in &a.kw {
        match &**k {
            "default_flow_style" => {
                o.flow = match val.known()? {
                    Value::None => None,
                    x => Some(x.is_true()?),
                }
            }
            "indent" => o.indent = opt_int(Some(val), "indent")?.unwrap_or(2).clamp(2, 9) as usize,
            "sort_keys" => o.sort_keys = val.is_true()?,
            "width" => o.width = opt_int(Some(val), "width")?.unwrap_or(80).max(2) as usize,
            "explicit_start" => o.explicit_start = val.is_true()?,
            _ => {}
        }
    }
    Ok(Value::from(yamldump::dump(&v, &o)?))
}

fn to_nice_yaml(ev: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let mut a2 = a.clone();
    let indent = a
        .pos
        .first()
        .cloned()
        .or_else(|| a.kw("indent").cloned())
        .unwrap_or(Value::Int(4));
    a2.pos.clear();
    a2.kw.retain(|(k, _)| &**k != "indent");
    a2.kw.push((Arc::from("indent"), indent));
    if a2.kw("default_flow_style").is_none() {
        a2.kw
            .push((Arc::from("default_flow_style"), Value::Bool(false)));
    }
    to_yaml(ev, v, &a2)
}

fn from_yaml(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()? {
        Value::None => Ok(Value::None),
        Value::Str(s) => {
            let doc = crate::yaml::parse("<from_yaml>", s)
                .map_err(|e| Flow::from(TemplateError::value(format!("from_yaml: {e}"))))?;
            Ok(Value::from_yaml(&doc.root.value))
        }
        _ => Ok(v),
    }
}

fn from_yaml_all(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    match v.known()? {
        Value::None => Ok(list(Vec::new())),
        Value::Str(s) => {
            let mut out = Vec::new();
            for part in split_yaml_documents(s) {
                if part.trim().is_empty() {
                    continue;
                }
                let doc = crate::yaml::parse("<from_yaml_all>", &part)
                    .map_err(|e| Flow::from(TemplateError::value(format!("from_yaml_all: {e}"))))?;
                out.push(Value::from_yaml(&doc.root.value));
            }
            Ok(list(out))
        }
        _ => Ok(v),
    }
}

/// Split a YAML stream at `---` lines (our loader reads one document).
fn split_yaml_documents(s: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in s.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            docs.push(bare.strip_prefix("---").unwrap_or("").to_string() + "\n");
        } else if bare == "..." {
            docs.push(String::new());
        } else if let Some(d) = docs.last_mut() {
            d.push_str(line);
        }
    }
    docs
}

fn pprint(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(py_repr(&v)?))
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn quote(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = match v.known()? {
        Value::None => String::new(),
        other => text(other)?,
    };
    Ok(Value::from(shell_quote(&s)))
}

fn comment(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let style = match a.pos.first().or(a.kw("style")) {
        Some(x) => text(x)?,
        None => "plain".into(),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        _ => return value_err(format!("Invalid style '{style}'.")),
    };
    let get = |name: &str, default: &str| -> R<String> {
        match a.kw(name) {
            Some(v) => text(v),
            None => Ok(default.to_string()),
        }
    };
    let decoration_kw = get("decoration", decoration)?;
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let prefix = get("prefix", decoration_kw.trim_end())?;
    let postfix = get("postfix", decoration_kw.trim_end())?;
    let end = get("end", end)?;
    let decoration = decoration_kw.clone();
    let prefix_count = opt_int(a.kw("prefix_count"), "prefix_count")?
        .unwrap_or(1)
        .max(0) as usize;
    let postfix_count = opt_int(a.kw("postfix_count"), "postfix_count")?
        .unwrap_or(1)
        .max(0) as usize;
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        if prefix != newline {
            out.push_str(&format!("{prefix}{newline}").repeat(prefix_count));
        } else {
            out.push_str(&newline.repeat(prefix_count));
        }
    }
    let body = format!(
        "{decoration}{}",
        s.replace(&newline, &format!("{newline}{decoration}"))
    )
    .replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    );
    out.push_str(&body);
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(Value::from(out))
}

// ----- paths -----

fn basename(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    Ok(str_value(s.rsplit('/').next().unwrap_or("")))
}

/// Python's `os.path.dirname`.
pub(crate) fn py_dirname(s: &str) -> String {
    match s.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &s[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

fn dirname(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(py_dirname(&text(&v)?)))
}

fn win_basename(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    Ok(str_value(s.rsplit(['/', '\\']).next().unwrap_or("")))
}

fn win_dirname(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    Ok(str_value(match s.rfind(['/', '\\']) {
        Some(i) => s[..i].trim_end_matches(['/', '\\']),
        None => "",
    }))
}

fn splitext(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let base_start = s.rfind('/').map_or(0, |i| i + 1);
    let base = &s[base_start..];
    let dot = base
        .rfind('.')
        .filter(|&i| base[..i].chars().any(|c| c != '.'));
    Ok(list(match dot {
        Some(i) => vec![
            str_value(&s[..base_start + i]),
            str_value(&s[base_start + i..]),
        ],
        None => vec![Value::from(s.clone()), Value::str("")],
    }))
}

/// Python's `os.path.normpath`.
pub(crate) fn py_normpath(s: &str) -> String {
    if s.is_empty() {
        return ".".into();
    }
    let initial = if s.starts_with("//") && !s.starts_with("///") {
        2
    } else if s.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in s.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if !parts.is_empty() && parts.last() != Some(&"..") {
                    parts.pop();
                } else if initial == 0 {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let out = "/".repeat(initial) + &parts.join("/");
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

fn normpath(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(py_normpath(&text(&v)?)))
}

fn relpath(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("relpath", &["start"], false)?;
    let path = text(&v)?;
    let start = match arg(&b, 0) {
        Some(s) => text(s)?,
        None => ".".into(),
    };
    if path.is_empty() {
        return value_err("no path specified");
    }
    if !path.starts_with('/') || !start.starts_with('/') {
        // Relative to the current directory of the controller.
        return Err(Flow::Unknown(super::error::Deps::one(
            "relpath of a relative path",
        )));
    }
    let p = py_normpath(&path);
    let s = py_normpath(&start);
    let pp: Vec<&str> = p.split('/').filter(|x| !x.is_empty()).collect();
    let sp: Vec<&str> = s.split('/').filter(|x| !x.is_empty()).collect();
    let common = pp.iter().zip(sp.iter()).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; sp.len() - common];
    parts.extend(&pp[common..]);
    Ok(Value::from(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }))
}

fn path_join(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let parts: Vec<String> = match v.known()? {
        Value::Str(s) => vec![s.to_string()],
        other => seq(other)?.iter().map(text).collect::<R<_>>()?,
    };
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') {
            out = p;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&p);
        } else {
            out.push('/');
            out.push_str(&p);
        }
    }
    Ok(Value::from(out))
}

fn commonpath(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    let paths: Vec<String> = seq(&v)?.iter().map(text).collect::<R<_>>()?;
    if paths.is_empty() {
        return value_err("commonpath() arg is an empty sequence");
    }
    let abs = paths[0].starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != abs) {
        return value_err("Can't mix absolute and relative paths");
    }
    let split: Vec<Vec<&str>> = paths
        .iter()
        .map(|p| {
            p.split('/')
                .filter(|x| !x.is_empty() && *x != ".")
                .collect()
        })
        .collect();
    let mut common: Vec<&str> = split[0].clone();
    for s in &split[1..] {
        let n = common
            .iter()
            .zip(s.iter())
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(n);
    }
    Ok(Value::from(
        if abs { "/" } else { "" }.to_string() + &common.join("/"),
    ))
}

// ----- encodings and digests -----

fn b64encode(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("b64encode", &["encoding", "urlsafe"], false)?;
    let s = text(&v)?;
    let mut out = crate::yaml::scalar::base64_encode(s.as_bytes());
    if opt_bool(arg(&b, 1), false)? {
        out = out.replace('+', "-").replace('/', "_");
    }
    Ok(Value::from(out))
}

fn b64decode(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("b64decode", &["encoding", "urlsafe"], false)?;
    let mut s = text(&v)?;
    if opt_bool(arg(&b, 1), false)? {
        s = s.replace('-', "+").replace('_', "/");
    }
    let bytes = digest::base64_decode(&s)
        .ok_or_else(|| Flow::from(TemplateError::value("Incorrect padding")))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Value::from(s)),
        Err(_) => value_err("'utf-8' codec can't decode the decoded bytes"),
    }
}

fn to_uuid(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("to_uuid", &["namespace"], false)?;
    let ns = match arg(&b, 0) {
        Some(n) => text(n)?,
        None => "361E6D51-FAEC-444A-9079-341386DA8E2E".into(),
    };
    let Some(ns) = digest::parse_uuid(&ns) else {
        return value_err(format!(
            "Invalid value '{ns}' for 'namespace': badly formed hexadecimal UUID string"
        ));
    };
    Ok(Value::from(digest::uuid5(&ns, text(&v)?.as_bytes())))
}

fn hash(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("hash", &["hashtype"], false)?;
    let kind = match arg(&b, 0) {
        Some(k) => text(k)?,
        None => "sha1".into(),
    };
    let data = text(&v)?;
    Ok(Value::from(match kind.as_str() {
        "sha1" => digest::sha1_hex(data.as_bytes()),
        "md5" => digest::md5_hex(data.as_bytes()),
        "sha256" => digest::sha256_hex(data.as_bytes()),
        _ => {
            return Err(Flow::Unknown(super::error::Deps::one(format!(
                "hash:{kind}"
            ))))
        }
    }))
}

fn sha1(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(digest::sha1_hex(text(&v)?.as_bytes())))
}

fn md5(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    Ok(Value::from(digest::md5_hex(text(&v)?.as_bytes())))
}

// ----- regular expressions -----

fn regex_replace(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind(
        "regex_replace",
        &[
            "pattern",
            "replacement",
            "ignorecase",
            "multiline",
            "count",
            "mandatory_count",
        ],
        false,
    )?;
    let s = text(&v)?;
    let pattern = match arg(&b, 0) {
        Some(p) => text(p)?,
        None => String::new(),
    };
    let repl = match arg(&b, 1) {
        Some(r) => text(r)?,
        None => String::new(),
    };
    let re = pyre::compile(
        &pattern,
        opt_bool(arg(&b, 2), false)?,
        opt_bool(arg(&b, 3), false)?,
    )?;
    let count = opt_int(arg(&b, 4), "count")?.unwrap_or(0);
    let (out, n) = pyre::sub(&re, &repl, &s, count)?;
    let mandatory = opt_int(arg(&b, 5), "mandatory_count")?.unwrap_or(0);
    if mandatory != 0 && mandatory != n as i64 {
        return value_err(format!(
            "'{pattern}' should match {mandatory} times, but matches {count} times in '{s}'"
        ));
    }
    Ok(Value::from(out))
}

fn regex_search(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let s = text(&v)?;
    let Some(pattern) = a.pos.first() else {
        return type_err("regex_search() missing required argument 'regex'");
    };
    let mut groups = Vec::new();
    for g in &a.pos[1..] {
        let g = text(g)?;
        if let Some(name) = g.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
            groups.push(match name.parse::<usize>() {
                Ok(i) => pyre::Group::Index(i),
                Err(_) => pyre::Group::Name(name.to_string()),
            });
        } else if let Some(n) = g.strip_prefix('\\').and_then(|r| {
            let digits: String = r.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        }) {
            groups.push(pyre::Group::Index(n));
        } else if g.starts_with('\\') {
            return value_err("'NoneType' object has no attribute 'group'");
        } else {
            return value_err("Unknown argument");
        }
    }
    let ignorecase = match a.kw("ignorecase") {
        Some(x) => x.is_true()?,
        None => false,
    };
    let multiline = match a.kw("multiline") {
        Some(x) => x.is_true()?,
        None => false,
    };
    let re = pyre::compile(&text(pattern)?, ignorecase, multiline)?;
    pyre::search(&re, &s, &groups)
}

fn regex_findall(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind(
        "regex_findall",
        &["regex", "multiline", "ignorecase"],
        false,
    )?;
    let s = text(&v)?;
    let pattern = match arg(&b, 0) {
        Some(p) => text(p)?,
        None => return type_err("regex_findall() missing required argument 'regex'"),
    };
    let re = pyre::compile(
        &pattern,
        opt_bool(arg(&b, 2), false)?,
        opt_bool(arg(&b, 1), false)?,
    )?;
    pyre::findall(&re, &s)
}

fn regex_escape(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("regex_escape", &["re_type"], false)?;
    let s = text(&v)?;
    match arg(&b, 0)
        .map(text)
        .transpose()?
        .as_deref()
        .unwrap_or("python")
    {
        "python" => Ok(Value::from(pyre::escape(&s))),
        "posix_basic" => {
            let mut out = String::new();
            for c in s.chars() {
                if "].[^$*\\".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            Ok(Value::from(out))
        }
        "posix_extended" => value_err("Regex type (posix_extended) not yet implemented"),
        other => value_err(format!("Invalid regex type ({other})")),
    }
}

fn rekey_on_member(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("rekey_on_member", &["key", "duplicates"], false)?;
    let key = arg(&b, 0).cloned().unwrap_or(Value::None);
    let duplicates = match arg(&b, 1) {
        Some(d) => text(d)?,
        None => "error".into(),
    };
    let items: Vec<Value> = match v.known()? {
        Value::Dict(d) => d.iter().map(|(_, v)| v).collect(),
        Value::List(l) => l.to_vec(),
        _ => return type_err("Type is not a valid list, set, or dict"),
    };
    let mut out = indexmap::IndexMap::new();
    for item in items {
        let Value::Dict(d) = item.known()? else {
            return type_err("List item is not a valid dict");
        };
        let Some(k) = d.get(&Key::from_value(&key)?) else {
            return value_err(format!("Key {} was not found.", py_repr(&key)?));
        };
        let k = Key::from_value(&k)?;
        if out.contains_key(&k) && duplicates == "error" {
            return value_err(format!(
                "Key {} is not unique, cannot convert to dict.",
                py_repr(&k.to_value())?
            ));
        }
        out.insert(k, item.clone());
    }
    Ok(Value::Dict(out.into_iter().collect()))
}

// ----- ansible.utils network filters -----

fn ipaddr(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("ipaddr", &["query", "version", "alias"], false)?;
    let query = match arg(&b, 0) {
        Some(q) => text(q)?,
        None => String::new(),
    };
    let version = opt_int(arg(&b, 1), "version")?.unwrap_or(0);
    net::ipaddr(&v, &query, version)
}

fn ipv4(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let query = match a.pos.first() {
        Some(q) => text(q)?,
        None => String::new(),
    };
    net::ipaddr(&v, &query, 4)
}

fn ipv6(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let query = match a.pos.first() {
        Some(q) => text(q)?,
        None => String::new(),
    };
    net::ipaddr(&v, &query, 6)
}

fn ipwrap(_: &mut Ev<'_>, v: Value, _: &CallArgs) -> R<Value> {
    net::ipwrap(&v)
}

fn ipmath(_: &mut Ev<'_>, v: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("ipmath", &["amount"], false)?;
    let amount = opt_int(arg(&b, 0), "amount")?.unwrap_or(0);
    net::ipmath(&text(&v)?, amount)
}

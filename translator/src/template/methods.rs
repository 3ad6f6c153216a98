//! Python methods on values (`x.split(',')`, `d.items()`,
//! `s.startswith('a')`) and `%` formatting.
//!
//! String methods go to minijinja-contrib's `pycompat` (Python's `str`
//! methods written for minijinja), through a conversion of the values; a
//! few whose Python semantics it does not follow exactly (`split`,
//! `strip` with characters, `replace` with a count) are done here. Dict
//! and list methods are done here (they must not read unknown items
//! needlessly). Methods that mutate (`list.append`, `dict.update`) are not
//! supported: values are immutable here.

use std::sync::{Arc, OnceLock};

use minijinja::value::ValueKind;

use super::error::{type_err, Flow, TemplateError, R};
use super::eval::{list, CallArgs, Ev};
use super::filters::{py_replace, py_split, py_strip};
use super::value::{py_eq, py_str, Dict, Key, Value};

pub(crate) fn call(ev: &mut Ev<'_>, recv: &Value, method: &str, a: &CallArgs) -> R<Value> {
    match recv.known()? {
        Value::Dict(d) => dict_method(ev, d, method, a),
        Value::List(l) => {
            let items = l.to_vec();
            match method {
                "count" => {
                    let b = a.bind("count", &["value"], false)?;
                    let x = b[0].clone().unwrap_or(Value::None);
                    let mut n = 0;
                    for i in &items {
                        if py_eq(i, &x)? {
                            n += 1;
                        }
                    }
                    Ok(Value::Int(n))
                }
                "index" => {
                    let b = a.bind("index", &["value"], false)?;
                    let x = b[0].clone().unwrap_or(Value::None);
                    for (n, i) in items.iter().enumerate() {
                        if py_eq(i, &x)? {
                            return Ok(Value::Int(n as i64));
                        }
                    }
                    Err(TemplateError::value(format!("{} is not in list", py_str(&x)?)).into())
                }
                "copy" => Ok(list(items)),
                "append" | "extend" | "insert" | "pop" | "remove" | "clear" | "sort"
                | "reverse" => mutation("list", method),
                _ => no_method(ev, recv, method),
            }
        }
        Value::Str(s) => str_method(ev, s, recv, method, a),
        Value::Namespace(n) => match n.get(method) {
            Some(_) => type_err(format!("'{method}' is not callable")),
            None => no_method(ev, recv, method),
        },
        _ => no_method(ev, recv, method),
    }
}

fn mutation(ty: &str, method: &str) -> R<Value> {
    Err(TemplateError::unsupported(format!(
        "{ty}.{method}() changes a value in place, which this templating does not support"
    ))
    .into())
}

/// A missing attribute, called: the undefined value (it fails when used).
fn no_method(ev: &Ev<'_>, recv: &Value, method: &str) -> R<Value> {
    Ok(ev.undefined(
        format!(
            "object of type '{}' has no attribute '{method}'",
            recv.type_name()
        ),
        Default::default(),
    ))
}

fn dict_method(ev: &mut Ev<'_>, d: &Dict, method: &str, a: &CallArgs) -> R<Value> {
    match method {
        "items" => Ok(list(
            d.iter().map(|(k, v)| list(vec![k.to_value(), v])).collect(),
        )),
        "keys" => Ok(list(d.keys().map(Key::to_value).collect())),
        "values" => Ok(list(d.iter().map(|(_, v)| v).collect())),
        "get" => {
            let b = a.bind("get", &["key", "default"], false)?;
            let k = Key::from_value(b[0].as_ref().unwrap_or(&Value::None))?;
            Ok(d.get(&k)
                .unwrap_or_else(|| b[1].clone().unwrap_or(Value::None)))
        }
        "copy" => Ok(Value::Dict(d.clone())),
        "update" | "pop" | "popitem" | "setdefault" | "clear" => mutation("dict", method),
        _ => {
            // A key holding something callable cannot exist here.
            match d.get_str(method) {
                Some(v) => type_err(format!("'{}' object is not callable", v.type_name())),
                None => no_method(ev, &Value::Dict(d.clone()), method),
            }
        }
    }
}

fn str_method(ev: &mut Ev<'_>, s: &Arc<str>, recv: &Value, method: &str, a: &CallArgs) -> R<Value> {
    let opt_str = |v: Option<&Value>| -> R<Option<String>> {
        match v {
            None | Some(Value::None) => Ok(None),
            Some(v) => match v.known()? {
                Value::Str(x) => Ok(Some(x.to_string())),
                other => type_err(format!("must be str or None, not {}", other.type_name())),
            },
        }
    };
    let int_arg = |v: Option<&Value>, default: i64| -> R<i64> {
        match v {
            None => Ok(default),
            Some(v) => match v.known()? {
                Value::Int(i) => Ok(*i),
                Value::Bool(b) => Ok(i64::from(*b)),
                other => type_err(format!(
                    "'{}' object cannot be interpreted as an integer",
                    other.type_name()
                )),
            },
        }
    };
    match method {
        "split" | "rsplit" => {
            let b = a.bind(method, &["sep", "maxsplit"], false)?;
            let sep = opt_str(b[0].as_ref())?;
            let max = int_arg(b[1].as_ref(), -1)?;
            if method == "split" || max < 0 {
                return Ok(list(py_split(s, sep.as_deref(), max)?));
            }
            // rsplit with a limit: split the reversed string.
            let rev: String = s.chars().rev().collect();
            let rsep: Option<String> = sep.map(|x| x.chars().rev().collect());
            let mut parts = py_split(&rev, rsep.as_deref(), max)?;
            parts.reverse();
            Ok(list(
                parts
                    .into_iter()
                    .map(|p| {
                        Value::from(p.as_str().unwrap_or("").chars().rev().collect::<String>())
                    })
                    .collect(),
            ))
        }
        "strip" | "lstrip" | "rstrip" => {
            let b = a.bind(method, &["chars"], false)?;
            let chars = opt_str(b[0].as_ref())?;
            Ok(Value::str(py_strip(
                s,
                chars.as_deref(),
                method != "rstrip",
                method != "lstrip",
            )))
        }
        "replace" => {
            let b = a.bind("replace", &["old", "new", "count"], false)?;
            let (Some(old), Some(new)) = (opt_str(b[0].as_ref())?, opt_str(b[1].as_ref())?) else {
                return type_err("replace expected at least 2 arguments");
            };
            Ok(Value::from(py_replace(
                s,
                &old,
                &new,
                Some(int_arg(b[2].as_ref(), -1)?),
            )))
        }
        "startswith" | "endswith" => {
            let b = a.bind(method, &["prefix"], false)?;
            let cands: Vec<Value> = match b[0].as_ref().map(Value::known).transpose()? {
                Some(Value::List(l)) => l.to_vec(),
                Some(other) => vec![other.clone()],
                None => return type_err(format!("{method}() takes at least 1 argument")),
            };
            for c in cands {
                let Value::Str(c) = c.known()? else {
                    return type_err(format!(
                        "{method} first arg must be str or a tuple of str, not {}",
                        c.type_name()
                    ));
                };
                let hit = if method == "startswith" {
                    s.starts_with(&**c)
                } else {
                    s.ends_with(&**c)
                };
                if hit {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "join" => {
            let b = a.bind("join", &["iterable"], false)?;
            let mut parts = Vec::new();
            for item in super::eval::iterate(b[0].as_ref().unwrap_or(&Value::None))? {
                match item.known()? {
                    Value::Str(x) => parts.push(x.to_string()),
                    other => {
                        return type_err(format!(
                            "sequence item {}: expected str instance, {} found",
                            parts.len(),
                            other.type_name()
                        ))
                    }
                }
            }
            Ok(Value::from(parts.join(s)))
        }
        "format" => {
            let mut args = Vec::with_capacity(a.pos.len() + 1);
            for v in &a.pos {
                args.push(to_mj(v)?);
            }
            if !a.kw.is_empty() {
                let mut kw = Vec::new();
                for (k, v) in &a.kw {
                    kw.push((k.to_string(), to_mj(v)?));
                }
                args.push(minijinja::value::Kwargs::from_iter(kw).into());
            }
            pycompat(ev, recv, "format", &args)
        }
        _ => {
            let mut args = Vec::with_capacity(a.pos.len());
            for v in &a.pos {
                args.push(to_mj(v)?);
            }
            if !a.kw.is_empty() {
                return type_err(format!("{method}() takes no keyword arguments"));
            }
            pycompat(ev, recv, method, &args)
        }
    }
}

fn environment() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(minijinja::Environment::new)
}

/// Call a `str` method through minijinja-contrib's pycompat.
fn pycompat(ev: &Ev<'_>, recv: &Value, method: &str, args: &[minijinja::Value]) -> R<Value> {
    let env = environment();
    let mut state = env.empty_state();
    let r = to_mj(recv)?;
    match minijinja_contrib::pycompat::unknown_method_callback(&mut state, &r, method, args) {
        Ok(v) => Ok(from_mj(&v)),
        Err(e) if e.kind() == minijinja::ErrorKind::UnknownMethod => no_method(ev, recv, method),
        Err(e) => Err(TemplateError::ty(format!(
            "str.{method}(): {}",
            e.detail().unwrap_or("invalid arguments")
        ))
        .into()),
    }
}

/// A value for minijinja (known values only).
pub(crate) fn to_mj(v: &Value) -> R<minijinja::Value> {
    Ok(match v.known()? {
        Value::None => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Int(i) => minijinja::Value::from(*i),
        Value::Float(f) => minijinja::Value::from(*f),
        Value::Str(s) => minijinja::Value::from(&**s),
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.len());
            for x in l.iter() {
                items.push(to_mj(&x)?);
            }
            minijinja::Value::from(items)
        }
        Value::Dict(d) => {
            let mut items = Vec::with_capacity(d.len());
            for (k, x) in d.iter() {
                items.push((to_mj(&k.to_value())?, to_mj(&x)?));
            }
            minijinja::Value::from_iter(items)
        }
        Value::Omit | Value::Namespace(_) => minijinja::Value::from(()),
        Value::Unknown(_) | Value::Marker(_) => unreachable!("excluded by known()"),
    })
}

pub(crate) fn from_mj(v: &minijinja::Value) -> Value {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::None,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => match (v.is_integer(), v.as_i64()) {
            (true, Some(i)) => Value::Int(i),
            _ => Value::Float(f64::try_from(v.clone()).unwrap_or(f64::NAN)),
        },
        ValueKind::String => Value::str(v.as_str().unwrap_or("")),
        ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
            Ok(it) => list(it.map(|x| from_mj(&x)).collect()),
            Err(_) => Value::None,
        },
        ValueKind::Map => match v.try_iter() {
            Ok(it) => Value::Dict(
                it.filter_map(|k| {
                    let val = v.get_item(&k).ok()?;
                    Key::from_value(&from_mj(&k))
                        .ok()
                        .map(|k| (k, from_mj(&val)))
                })
                .collect(),
            ),
            Err(_) => Value::None,
        },
        _ => Value::from(v.to_string()),
    }
}

/// Python's `fmt % args`: `args` a tuple (`tuple_rhs`) of values, a dict
/// for `%(name)s`, or one value.
pub(crate) fn printf(fmt: &str, args: &Value, tuple_rhs: bool) -> R<Value> {
    let items: Vec<Value> = match (args.known()?, tuple_rhs) {
        (Value::List(l), true) => l.to_vec(),
        (other, _) => vec![other.clone()],
    };
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = items.into_iter();
    let mut used_mapping = false;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // %[(name)][flags][width][.precision]type
        let mut key = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut k = String::new();
            for c in chars.by_ref() {
                if c == ')' {
                    break;
                }
                k.push(c);
            }
            key = Some(k);
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-+ #0".contains(f) {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() {
                width.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() {
                    p.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let Some(ty) = chars.next() else {
            return Err(TemplateError::value("incomplete format").into());
        };
        if ty == '%' {
            out.push('%');
            continue;
        }
        let value = match &key {
            Some(k) => {
                used_mapping = true;
                match args.known()? {
                    Value::Dict(d) => d.get_str(k).ok_or_else(|| {
                        Flow::from(TemplateError::value(format!("KeyError: '{k}'")))
                    })?,
                    _ => return type_err("format requires a mapping"),
                }
            }
            None => next.next().ok_or_else(|| {
                Flow::from(TemplateError::ty("not enough arguments for format string"))
            })?,
        };
        let body = match ty {
            's' => py_str(&value)?,
            'r' | 'a' => super::value::py_repr(&value)?,
            'd' | 'i' | 'u' => match value.known()?.as_number() {
                Some(n) => {
                    let i = match n {
                        super::value::Num::Int(i) => i,
                        super::value::Num::Float(f) => f.trunc() as i64,
                    };
                    let mut s = i.abs().to_string();
                    if let Some(p) = precision {
                        while s.len() < p {
                            s.insert(0, '0');
                        }
                    }
                    sign(i < 0, &flags) + &s
                }
                None => {
                    return type_err(format!(
                        "%{ty} format: a real number is required, not {}",
                        value.type_name()
                    ))
                }
            },
            'f' | 'F' | 'e' | 'E' | 'g' | 'G' => match value.known()?.as_number() {
                Some(n) => {
                    let f = n.to_f64();
                    let p = precision.unwrap_or(6);
                    let s = match ty {
                        'f' | 'F' => format!("{:.*}", p, f.abs()),
                        'e' | 'E' => py_exp(f.abs(), p, ty == 'E'),
                        _ => {
                            let g = super::value::py_repr_scalar(&Value::Float(f.abs()));
                            g.strip_suffix(".0").map(str::to_string).unwrap_or(g)
                        }
                    };
                    sign(f < 0.0, &flags) + &s
                }
                None => return type_err(format!("must be real number, not {}", value.type_name())),
            },
            'x' | 'X' | 'o' => match value.known()? {
                Value::Int(i) => {
                    let s = match ty {
                        'x' => format!("{:x}", i.unsigned_abs()),
                        'X' => format!("{:X}", i.unsigned_abs()),
                        _ => format!("{:o}", i.unsigned_abs()),
                    };
                    let prefix = if flags.contains('#') {
                        match ty {
                            'x' => "0x",
                            'X' => "0X",
                            _ => "0o",
                        }
                    } else {
                        ""
                    };
                    sign(*i < 0, &flags) + prefix + &s
                }
                other => {
                    return type_err(format!(
                        "%{ty} format: an integer is required, not {}",
                        other.type_name()
                    ))
                }
            },
            'c' => match value.known()? {
                Value::Int(i) => char::from_u32(*i as u32)
                    .map(String::from)
                    .unwrap_or_default(),
                Value::Str(s) => s.to_string(),
                _ => return type_err("%c requires int or char"),
            },
            other => {
                return Err(
                    TemplateError::value(format!("unsupported format character '{other}'")).into(),
                )
            }
        };
        let body = match (ty, precision) {
            ('s' | 'r' | 'a', Some(p)) => body.chars().take(p).collect(),
            _ => body,
        };
        let w: usize = width.parse().unwrap_or(0);
        let n = body.chars().count();
        if n >= w {
            out.push_str(&body);
        } else if flags.contains('-') {
            out.push_str(&body);
            out.push_str(&" ".repeat(w - n));
        } else if flags.contains('0') && "diufFeEgGxXo".contains(ty) {
            let (sgn, digits) = match body.strip_prefix(['-', '+', ' ']) {
                Some(rest) => (&body[..1], rest),
                None => ("", body.as_str()),
            };
            out.push_str(sgn);
            out.push_str(&"0".repeat(w - n));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(w - n));
            out.push_str(&body);
        }
    }
    if !used_mapping && next.next().is_some() {
        return type_err("not all arguments converted during string formatting");
    }
    Ok(Value::from(out))
}

fn sign(neg: bool, flags: &str) -> String {
    if neg {
        "-".into()
    } else if flags.contains('+') {
        "+".into()
    } else if flags.contains(' ') {
        " ".into()
    } else {
        String::new()
    }
}

/// `%e`: mantissa with `p` digits, exponent with a sign and two digits.
fn py_exp(f: f64, p: usize, upper: bool) -> String {
    let s = format!("{:.*e}", p, f);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = e.parse().unwrap_or(0);
    let out = format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

//! Scalars as PyYAML 6 reads them (YAML 1.1): the implicit resolvers that
//! give a plain scalar its type, and the constructors that turn its text
//! into a value.
//!
//! Each matcher below is a hand translation of one of PyYAML's resolver
//! regexes (`yaml/resolver.py`), quoted above it, and each constructor
//! follows the matching `SafeConstructor.construct_yaml_*` step by step, so
//! that `0755`, `190:20:30`, `1_000` or `1.0e+3` get the value Ansible sees.
//! The regex crate is not needed for nine fixed patterns; the conformance
//! test (`tests/yaml_conformance.rs`) checks the translation against the
//! real PyYAML.

use super::Yaml;

/// The tag PyYAML's resolver gives a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Implicit {
    Bool,
    Float,
    Int,
    /// `<<`: a merge key.
    Merge,
    Null,
    Timestamp,
    /// `=`: YAML 1.1's "value" key, a string when it is a mapping key and
    /// an error anywhere else (PyYAML has no constructor for it).
    Value,
    Str,
}

/// Resolve a plain scalar the way `Resolver.resolve` does.
///
/// Python's `$` also matches before a final line feed, so `"12\n"` (only
/// reachable through `!unsafe |` block scalars, which Ansible re-resolves as
/// plain) still reads as an int.
pub(crate) fn resolve(text: &str) -> Implicit {
    if text.is_empty() {
        return Implicit::Null;
    }
    let t = text.strip_suffix('\n').unwrap_or(text);
    if t.is_empty() {
        // The resolvers are chosen by the first character, and none is
        // registered for a line feed.
        return Implicit::Str;
    }
    // PyYAML tries the resolvers in registration order.
    if is_bool(t) {
        Implicit::Bool
    } else if is_float(t) {
        Implicit::Float
    } else if is_int(t) {
        Implicit::Int
    } else if t == "<<" {
        Implicit::Merge
    } else if matches!(t, "~" | "null" | "Null" | "NULL") {
        Implicit::Null
    } else if is_timestamp(t) {
        Implicit::Timestamp
    } else if t == "=" {
        Implicit::Value
    } else {
        Implicit::Str
    }
}

// ^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$
fn is_bool(t: &str) -> bool {
    matches!(
        t,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn strip_sign(t: &str) -> &str {
    t.strip_prefix(['-', '+']).unwrap_or(t)
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// `(?::[0-5]?[0-9])+` over the whole of `s`.
fn sexagesimal_tail(s: &str) -> bool {
    let Some(rest) = s.strip_prefix(':') else {
        return false;
    };
    rest.split(':').all(|part| {
        let b = part.as_bytes();
        match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        }
    })
}

/// `[1-9][0-9_]*` followed by a sexagesimal tail: returns the tail.
fn sexagesimal_head(r: &str) -> Option<&str> {
    let b = r.as_bytes();
    if b.first().is_none_or(|c| !(b'1'..=b'9').contains(c)) {
        return None;
    }
    let end = r.find(':')?;
    all(&r[1..end], digit_or_underscore).then_some(&r[end..])
}

// ^(?:[-+]?0b[0-1_]+
//    |[-+]?0[0-7_]+
//    |[-+]?(?:0|[1-9][0-9_]*)
//    |[-+]?0x[0-9a-fA-F_]+
//    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$
fn is_int(t: &str) -> bool {
    let r = strip_sign(t);
    if let Some(d) = r.strip_prefix("0b") {
        if !d.is_empty() && all(d, |b| matches!(b, b'0' | b'1' | b'_')) {
            return true;
        }
    }
    if let Some(d) = r.strip_prefix("0x") {
        if !d.is_empty() && all(d, |b| b.is_ascii_hexdigit() || b == b'_') {
            return true;
        }
    }
    if let Some(d) = r.strip_prefix('0') {
        return d.is_empty() || all(d, |b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    let b = r.as_bytes();
    if b.first().is_some_and(|c| (b'1'..=b'9').contains(c)) && all(&r[1..], digit_or_underscore) {
        return true;
    }
    sexagesimal_head(r).is_some_and(sexagesimal_tail)
}

/// `[eE][-+][0-9]+`, or nothing.
fn exponent_or_empty(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let b = s.as_bytes();
    b.len() >= 3
        && matches!(b[0], b'e' | b'E')
        && matches!(b[1], b'-' | b'+')
        && all(&s[2..], |c| c.is_ascii_digit())
}

// ^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
//    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
//    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
//    |[-+]?\.(?:inf|Inf|INF)
//    |\.(?:nan|NaN|NAN))$
fn is_float(t: &str) -> bool {
    if matches!(t, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let r = strip_sign(t);
    if matches!(r, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // `\.[0-9][0-9_]*exp?` takes no sign.
    if let Some(frac) = t.strip_prefix('.') {
        let b = frac.as_bytes();
        if b.first().is_some_and(u8::is_ascii_digit) {
            let end = frac
                .find(|c: char| !(c.is_ascii_digit() || c == '_'))
                .unwrap_or(frac.len());
            if exponent_or_empty(&frac[end..]) {
                return true;
            }
        }
    }
    if !r.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let Some(dot) = r.find('.') else {
        return false;
    };
    let (head, tail) = (&r[..dot], &r[dot + 1..]);
    if all(head, digit_or_underscore) {
        // Digits then `.`: the fraction and an optional exponent.
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        return exponent_or_empty(&tail[end..]);
    }
    // Sexagesimal: `[0-9][0-9_]*(:[0-5]?[0-9])+` then `.` and `[0-9_]*`.
    let Some(colon) = head.find(':') else {
        return false;
    };
    all(&head[..colon], digit_or_underscore)
        && sexagesimal_tail(&head[colon..])
        && all(tail, digit_or_underscore)
}

// ^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
//    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
//     (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
//     (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$
fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() == 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
    {
        return true;
    }
    // The long form: the constructor's pattern with the time required.
    parse_timestamp_fields(t).is_some_and(|f| f.time.is_some())
}

/// The groups of PyYAML's `SafeConstructor.timestamp_regexp`.
struct TimestampFields<'a> {
    year: &'a str,
    month: &'a str,
    day: &'a str,
    time: Option<TimeFields<'a>>,
}

struct TimeFields<'a> {
    hour: &'a str,
    minute: &'a str,
    second: &'a str,
    fraction: Option<&'a str>,
    /// `Z`, or the sign, hours and minutes of an offset.
    tz: Option<Tz<'a>>,
}

enum Tz<'a> {
    Z,
    Offset(u8, &'a str, Option<&'a str>),
}

/// A tiny cursor for the timestamp grammar.
struct Cur<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<&'a str> {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i - start >= min).then(|| &self.s[start..self.i])
    }
    fn blanks(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        self.i - start
    }
    fn at_end(&self) -> bool {
        self.i == self.s.len()
    }
}

// ^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)
//  (?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])
//  (?:\.(?P<fraction>[0-9]*))?
//  (?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?$
//
// Greedy with backtracking in Python; the only real choice is whether the
// optional groups are taken, and taking them whenever they fit is what the
// regex ends up doing for every input that matches at all.
fn parse_timestamp_fields(text: &str) -> Option<TimestampFields<'_>> {
    let s = text.strip_suffix('\n').unwrap_or(text);
    let mut c = Cur { s, i: 0 };
    let year = c.digits(4, 4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(1, 2)?;
    if c.at_end() {
        return Some(TimestampFields {
            year,
            month,
            day,
            time: None,
        });
    }
    if !(c.eat(b'T') || c.eat(b't') || c.blanks() > 0) {
        return None;
    }
    let hour = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let second = c.digits(2, 2)?;
    let fraction = if c.eat(b'.') {
        c.digits(0, usize::MAX)
    } else {
        None
    };
    let tz = if c.at_end() {
        None
    } else {
        c.blanks();
        if c.eat(b'Z') {
            Some(Tz::Z)
        } else if let Some(sign @ (b'-' | b'+')) = c.peek() {
            c.i += 1;
            let h = c.digits(1, 2)?;
            let m = if c.eat(b':') {
                Some(c.digits(2, 2)?)
            } else {
                None
            };
            Some(Tz::Offset(sign, h, m))
        } else {
            return None;
        }
    };
    c.at_end().then_some(TimestampFields {
        year,
        month,
        day,
        time: Some(TimeFields {
            hour,
            minute,
            second,
            fraction,
            tz,
        }),
    })
}

/// A YAML timestamp: Python's `datetime.date`, or `datetime.datetime`
/// when a time is given. Ansible keeps these as objects (it does not turn
/// them back into strings), so they are a type of their own here.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub time: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub microsecond: u32,
    /// Offset from UTC in minutes; `None` for a naive datetime.
    pub utc_offset_minutes: Option<i32>,
}

// `is_multiple_of` needs Rust 1.87; the workspace supports 1.85.
#[allow(clippy::manual_is_multiple_of)]
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Timestamp {
    /// `construct_yaml_timestamp`, with Python's `datetime` range checks.
    pub(crate) fn parse(text: &str) -> Result<Timestamp, String> {
        let f =
            parse_timestamp_fields(text).ok_or_else(|| format!("{text:?} is not a timestamp"))?;
        let num = |s: &str| s.parse::<u32>().unwrap_or(0);
        let year = num(f.year);
        let (month, day) = (num(f.month), num(f.day));
        if year == 0 {
            return Err(format!("year {year} is out of range"));
        }
        if !(1..=12).contains(&month) {
            return Err("month must be in 1..12".into());
        }
        let ts_year = year as u16;
        if day == 0 || day > u32::from(days_in_month(ts_year, month as u8)) {
            return Err("day is out of range for month".into());
        }
        let time = match f.time {
            None => None,
            Some(t) => {
                let (hour, minute, second) = (num(t.hour), num(t.minute), num(t.second));
                if hour > 23 {
                    return Err("hour must be in 0..23".into());
                }
                if minute > 59 {
                    return Err("minute must be in 0..59".into());
                }
                if second > 59 {
                    return Err("second must be in 0..59".into());
                }
                let microsecond = match t.fraction {
                    Some(fr) if !fr.is_empty() => {
                        let mut f6: String = fr.chars().take(6).collect();
                        while f6.len() < 6 {
                            f6.push('0');
                        }
                        num(&f6)
                    }
                    _ => 0,
                };
                let utc_offset_minutes = match t.tz {
                    None => None,
                    Some(Tz::Z) => Some(0),
                    Some(Tz::Offset(sign, h, m)) => {
                        let minutes = num(h) as i32 * 60 + m.map_or(0, |m| num(m) as i32);
                        if minutes >= 24 * 60 {
                            return Err("offset must be a timedelta strictly between \
                                 -timedelta(hours=24) and timedelta(hours=24)"
                                .into());
                        }
                        Some(if sign == b'-' { -minutes } else { minutes })
                    }
                };
                Some(Time {
                    hour: hour as u8,
                    minute: minute as u8,
                    second: second as u8,
                    microsecond,
                    utc_offset_minutes,
                })
            }
        };
        Ok(Timestamp {
            year: ts_year,
            month: month as u8,
            day: day as u8,
            time,
        })
    }

    /// Python's `isoformat()`: what Ansible's JSON encoders and
    /// `ansible-inventory` print for a date or datetime.
    pub fn isoformat(&self) -> String {
        let mut s = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        if let Some(t) = &self.time {
            s.push_str(&format!("T{:02}:{:02}:{:02}", t.hour, t.minute, t.second));
            if t.microsecond != 0 {
                s.push_str(&format!(".{:06}", t.microsecond));
            }
            if let Some(off) = t.utc_offset_minutes {
                let sign = if off < 0 { '-' } else { '+' };
                let off = off.unsigned_abs();
                s.push_str(&format!("{sign}{:02}:{:02}", off / 60, off % 60));
            }
        }
        s
    }
}

/// Small unsigned big integer (base 10^9 limbs, little-endian): Python
/// ints have no size limit, and `0x` or sexagesimal values beyond 64 bits
/// must still print the digits Python prints.
struct BigUint(Vec<u32>);

const LIMB: u64 = 1_000_000_000;

impl BigUint {
    fn zero() -> BigUint {
        BigUint(vec![0])
    }
    /// `self = self * m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.0.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }
    fn to_decimal(&self) -> String {
        let mut s = String::new();
        let mut limbs = self.0.iter().rev().skip_while(|&&l| l == 0);
        match limbs.next() {
            None => return "0".into(),
            Some(first) => s.push_str(&first.to_string()),
        }
        for l in limbs {
            s.push_str(&format!("{l:09}"));
        }
        s
    }
}

/// An integer value with its sign, as [`Yaml::Int`] when it fits in an
/// `i64`, else as [`Yaml::BigInt`] holding Python's decimal digits.
fn int_value(negative: bool, big: &BigUint) -> Yaml {
    let digits = big.to_decimal();
    let text = if negative && digits != "0" {
        format!("-{digits}")
    } else {
        digits
    };
    match text.parse::<i64>() {
        Ok(i) => Yaml::Int(i),
        Err(_) => Yaml::BigInt(text),
    }
}

/// An integer from ASCII digits in `base` (no sign, no underscores), of
/// any size: for other Python-literal readers of the crate.
pub(crate) fn int_from_digits(negative: bool, digits: &str, base: u32) -> Option<Yaml> {
    if digits.is_empty() {
        return None;
    }
    let mut big = BigUint::zero();
    for c in digits.chars() {
        big.mul_add(base, c.to_digit(base)?);
    }
    Some(int_value(negative, &big))
}

/// Python's `int(s, base)` on the digits PyYAML hands it (underscores
/// already removed). Like Python it ignores surrounding whitespace.
fn py_int(s: &str, base: u32) -> Result<Yaml, String> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return Err(format!("invalid literal for int() with base {base}: {s:?}"));
    }
    let mut big = BigUint::zero();
    for c in digits.chars() {
        let d = c
            .to_digit(base)
            .ok_or_else(|| format!("invalid literal for int() with base {base}: {s:?}"))?;
        big.mul_add(base, d);
    }
    Ok(int_value(negative, &big))
}

/// `SafeConstructor.construct_yaml_int`.
pub(crate) fn construct_int(text: &str) -> Result<Yaml, String> {
    let v: String = text.chars().filter(|&c| c != '_').collect();
    let Some(first) = v.chars().next() else {
        return Err("an int cannot be empty".into());
    };
    let negative = first == '-';
    let v = if first == '-' || first == '+' {
        &v[1..]
    } else {
        &v[..]
    };
    let apply_sign = |y: Yaml| -> Yaml {
        if !negative {
            return y;
        }
        match y {
            Yaml::Int(i) => i
                .checked_neg()
                .map(Yaml::Int)
                .unwrap_or_else(|| Yaml::BigInt(format!("-{}", i.unsigned_abs()))),
            Yaml::BigInt(s) => match s.strip_prefix('-') {
                Some(pos) => Yaml::BigInt(pos.to_string()),
                None => {
                    let neg = format!("-{s}");
                    neg.parse::<i64>().map_or(Yaml::BigInt(neg), Yaml::Int)
                }
            },
            other => other,
        }
    };
    if v == "0" {
        Ok(Yaml::Int(0))
    } else if let Some(d) = v.strip_prefix("0b") {
        py_int(d, 2).map(apply_sign)
    } else if let Some(d) = v.strip_prefix("0x") {
        py_int(d, 16).map(apply_sign)
    } else if v.starts_with('0') {
        py_int(v, 8).map(apply_sign)
    } else if v.contains(':') {
        // Base 60, most significant part first; only the first part may be
        // large.
        let mut big = BigUint::zero();
        for (i, part) in v.split(':').enumerate() {
            let p = part.trim_matches(|c: char| c.is_ascii_whitespace());
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid literal for int() with base 10: {part:?}"));
            }
            if i == 0 {
                for c in p.bytes() {
                    big.mul_add(10, u32::from(c - b'0'));
                }
            } else {
                let n: u32 = p
                    .parse()
                    .map_err(|_| format!("invalid sexagesimal part {part:?}"))?;
                // Horner's rule gives Python's sum of part * 60^k. A part
                // over 59 only comes through an explicit `!!int`; Python
                // adds it all the same.
                big.mul_add(60, n);
            }
        }
        Ok(apply_sign(int_value(false, &big)))
    } else {
        py_int(v, 10).map(apply_sign)
    }
}

/// Python's `float(s)`: surrounding whitespace, `inf`, `infinity` and
/// `nan` in any case.
fn py_float(s: &str) -> Result<f64, String> {
    let t = s.trim_matches(|c: char| c.is_whitespace());
    let err = || format!("could not convert string to float: {s:?}");
    // Rust accepts a few spellings Python does not (none of them reachable
    // after PyYAML's regexes) and no spelling Python rejects, except that
    // it is stricter about nothing we feed it; check the alphabet anyway.
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
    {
        return Err(err());
    }
    t.parse::<f64>().map_err(|_| err())
}

/// `SafeConstructor.construct_yaml_float`.
pub(crate) fn construct_float(text: &str) -> Result<f64, String> {
    let lower: String = text
        .chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .to_lowercase();
    let Some(first) = lower.chars().next() else {
        return Err("a float cannot be empty".into());
    };
    let sign = if first == '-' { -1.0 } else { 1.0 };
    let v = if first == '-' || first == '+' {
        &lower[1..]
    } else {
        &lower[..]
    };
    if v == ".inf" {
        Ok(sign * f64::INFINITY)
    } else if v == ".nan" {
        Ok(f64::NAN)
    } else if v.contains(':') {
        // Same float operations in the same order as PyYAML.
        let mut digits = v.split(':').map(py_float).collect::<Result<Vec<_>, _>>()?;
        digits.reverse();
        let mut base = 1.0;
        let mut value = 0.0;
        for d in digits {
            value += d * base;
            base *= 60.0;
        }
        Ok(sign * value)
    } else {
        Ok(sign * py_float(v)?)
    }
}

/// `SafeConstructor.construct_yaml_bool`: the key must be one of PyYAML's
/// words, in any case (an explicit `!!bool Yes` is fine, `!!bool 1` is not).
pub(crate) fn construct_bool(text: &str) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(format!("{text:?} is not a boolean")),
    }
}

/// Python's `float.__repr__`: the shortest digits that round-trip, in
/// fixed notation when the decimal exponent is in -4..16, scientific
/// otherwise. This is what `json.dumps` and `str()` print.
pub fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits too.
    let e = format!("{:e}", x.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let decpt = exp + 1;
    if -4 < decpt && decpt <= 16 {
        let mut s = String::from(sign);
        if decpt <= 0 {
            s.push_str("0.");
            s.push_str(&"0".repeat((-decpt) as usize));
            s.push_str(&digits);
        } else {
            let d = decpt as usize;
            if digits.len() <= d {
                s.push_str(&digits);
                s.push_str(&"0".repeat(d - digits.len()));
                s.push_str(".0");
            } else {
                s.push_str(&digits[..d]);
                s.push('.');
                s.push_str(&digits[d..]);
            }
        }
        s
    } else {
        let mut s = String::from(sign);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        s.push_str(&format!("e{esign}{:02}", exp.unsigned_abs()));
        s
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `base64.decodebytes` (binascii's non-strict decoder): characters
/// outside the alphabet are skipped, and enough `=` after two or three data
/// characters ends the data.
pub(crate) fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    if !text.is_ascii() {
        return Err("failed to convert base64 data into ascii".into());
    }
    let mut out = Vec::new();
    let (mut quad, mut left, mut pads) = (0u32, 0u32, 0u32);
    for c in text.bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = B64.iter().position(|&b| b == c) else {
            continue;
        };
        let v = v as u32;
        match quad {
            0 => {
                left = v;
                quad = 1;
            }
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
                quad = 2;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
                quad = 3;
            }
            _ => {
                out.push(((left << 6) | v) as u8);
                quad = 0;
            }
        }
    }
    match quad {
        0 => Ok(out),
        1 => Err("invalid base64-encoded string: number of data characters \
                  cannot be 1 more than a multiple of 4"
            .into()),
        _ => Err("incorrect padding".into()),
    }
}

/// Standard base64 with padding (`base64.b64encode`).
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_matches_pyyaml_examples() {
        use Implicit::*;
        for (t, want) in [
            ("yes", Bool),
            ("yEs", Str),
            ("OFF", Bool),
            ("y", Str),
            ("0755", Int),
            ("08", Str),
            ("0o17", Str),
            ("0x1F", Int),
            ("0b101", Int),
            ("0b", Str),
            ("1_000", Int),
            ("_1", Str),
            ("190:20:30", Int),
            ("60:61", Str),
            ("1e3", Str),
            ("1.0e3", Str),
            ("1.0e+3", Float),
            (".5", Float),
            ("-.5", Str),
            ("+.5", Str),
            ("0.", Float),
            ("1.__", Float),
            ("1:20.5", Float),
            (".inf", Float),
            ("-.Inf", Float),
            (".NaN", Float),
            ("-.nan", Str),
            ("<<", Merge),
            ("~", Null),
            ("", Null),
            ("nULL", Str),
            ("2001-12-14", Timestamp),
            ("2001-1-14", Str),
            ("2001-1-14 1:02:03", Timestamp),
            ("2001-12-14t21:59:43.10-05:00", Timestamp),
            ("2001-12-14 21:59:43.10 Z", Timestamp),
            ("=", Value),
            ("12\n", Int),
            ("\n", Str),
        ] {
            assert_eq!(resolve(t), want, "{t:?}");
        }
    }

    #[test]
    fn ints() {
        assert_eq!(construct_int("0755"), Ok(Yaml::Int(493)));
        assert_eq!(construct_int("-0x1_F"), Ok(Yaml::Int(-31)));
        assert_eq!(construct_int("190:20:30"), Ok(Yaml::Int(685230)));
        assert_eq!(construct_int("-1:00"), Ok(Yaml::Int(-60)));
        assert_eq!(
            construct_int("12345678901234567890123"),
            Ok(Yaml::BigInt("12345678901234567890123".into()))
        );
        assert_eq!(
            construct_int("-9223372036854775808"),
            Ok(Yaml::Int(i64::MIN))
        );
        assert!(construct_int("0x_").is_err());
        assert!(construct_int("089").is_err());
    }

    #[test]
    fn floats_and_repr() {
        assert_eq!(construct_float("1_0.5"), Ok(10.5));
        assert_eq!(construct_float("10:00:00.5"), Ok(36000.5));
        assert_eq!(construct_float("-.INF"), Ok(f64::NEG_INFINITY));
        for (x, r) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (1e22, "1e+22"),
        ] {
            assert_eq!(py_float_repr(x), r);
        }
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse("2001-12-14t21:59:43.10-05:00").unwrap();
        assert_eq!(t.isoformat(), "2001-12-14T21:59:43.100000-05:00");
        assert_eq!(
            Timestamp::parse("2001-12-14 21:59:43Z")
                .unwrap()
                .isoformat(),
            "2001-12-14T21:59:43+00:00"
        );
        assert!(Timestamp::parse("2001-02-30").is_err());
        assert!(Timestamp::parse("2000-02-29").is_ok());
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8=").unwrap(), b"hello");
        assert!(base64_decode("aGVsbG8").is_err());
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b"hi"), "aGk=");
    }
}

//! The raw assembly format, as serde sees it (docs/assembly-format.md).
//!
//! Deliberately lenient: required keys are `Option`s, names are plain
//! strings and durations are kept as text, so that `validate` can report
//! every missing key, unknown name and bad duration at once with a precise
//! span. Serde only rejects shape errors (a list where a mapping belongs).
//!
//! Unknown keys are rejected by `validate::check_keys`, from the span index
//! and [`allowed_keys`], not by `#[serde(deny_unknown_fields)]`: serde would
//! stop at the first one and validation would never run, whereas the file
//! should get every problem reported at once.

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

use super::spans::Seg;

#[derive(Debug, Default, Deserialize)]
pub struct RawFile {
    pub types: Option<IndexMap<String, RawType>>,
    /// Instance name -> type name, or type and placement.
    pub components: Option<IndexMap<String, RawInstance>>,
    pub connections: Option<Vec<Vec<String>>>,
}

/// `server: Server`, or `server: {type: Server, hosts: web, transitions:
/// {configure: h2}}`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawInstance {
    pub ty: Option<String>,
    pub hosts: Option<RawHosts>,
    pub transitions: Option<IndexMap<String, RawHosts>>,
}

/// A host pattern, or a list of them (their union).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum RawHosts {
    One(String),
    Many(Vec<String>),
}

impl RawHosts {
    /// The Ansible pattern: a list is the union of its items, `a:b`.
    pub fn pattern(&self) -> String {
        match self {
            RawHosts::One(s) => s.clone(),
            RawHosts::Many(v) => v.join(":"),
        }
    }
}

#[derive(Default, Deserialize)]
struct RawInstanceMap {
    #[serde(rename = "type")]
    ty: Option<String>,
    hosts: Option<RawHosts>,
    transitions: Option<IndexMap<String, RawHosts>>,
    // Unknown keys are reported by `validate::check_keys`.
    #[serde(flatten)]
    _rest: std::collections::HashMap<String, de::IgnoredAny>,
}

impl<'de> Deserialize<'de> for RawInstance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawInstance;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a component type name, or {type: T, hosts: PATTERN}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawInstance, E> {
                Ok(RawInstance {
                    ty: Some(v.to_owned()),
                    ..Default::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawInstance, A::Error> {
                let m = RawInstanceMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawInstance {
                    ty: m.ty,
                    hosts: m.hosts,
                    transitions: m.transitions,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RawType {
    pub places: Option<Vec<String>>,
    pub initial: Option<String>,
    pub transitions: Option<IndexMap<String, RawTransition>>,
    pub groups: Option<IndexMap<String, Vec<String>>>,
    pub ports: Option<IndexMap<String, RawPort>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawTransition {
    pub from: Option<String>,
    pub to: Option<String>,
    pub behavior: Option<String>,
    pub idset: Option<u32>,
    pub action: Option<RawAction>,
    pub duration: Option<RawDuration>,
}

/// `{sleep: SPEC}`, `{command: STR, timeout: DURATION}`, `{copy: ...}` or
/// `{template: ...}`; which keys may go together is checked in `validate`.
#[derive(Debug, Default, Deserialize)]
pub struct RawAction {
    pub sleep: Option<RawDuration>,
    pub command: Option<String>,
    pub timeout: Option<RawDuration>,
    pub copy: Option<RawCopy>,
    pub template: Option<RawCopy>,
}

/// `{dest: PATH, content: TEXT | src: FILE, mode: "0644"}`.
#[derive(Debug, Default, Deserialize)]
pub struct RawCopy {
    pub dest: Option<String>,
    pub content: Option<String>,
    pub src: Option<String>,
    pub mode: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawPort {
    pub kind: Option<String>,
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub bind: Option<Vec<RawBind>>,
}

/// One element of a port's `bind` list.
#[derive(Debug, Clone, PartialEq)]
pub enum RawBind {
    /// `start`: a transition, place or group of that name.
    Bare(String),
    /// `{place: x}`, `{group: x}`, `{transition: x}`: the `(key, name)`
    /// pairs as written; `validate` requires exactly one. Unknown keys are
    /// kept with an empty name (they are reported as unknown keys).
    Tagged(Vec<(String, String)>),
}

/// A duration as written: a YAML number (seconds) or a string for
/// [`crate::durations::parse_spec`]. Parsed in `validate` so that every bad
/// duration is reported, not only the first.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDuration(pub String);

/// The keys each mapping of the format accepts, by position in the file;
/// `None` where keys are user names (types, transitions, instances...).
pub fn allowed_keys(path: &[Seg]) -> Option<(&'static str, &'static [&'static str])> {
    use Seg::{Index as I, Key as K};
    let k = |s: &Seg, name: &str| matches!(s, K(x) if x == name);
    match path {
        [] => Some(("the file", FILE_KEYS)),
        [t, _] if k(t, "types") => Some(("a component type", TYPE_KEYS)),
        [t, _, ts, _] if k(t, "types") && k(ts, "transitions") => {
            Some(("a transition", TRANSITION_KEYS))
        }
        [t, _, ts, _, a] if k(t, "types") && k(ts, "transitions") && k(a, "action") => {
            Some(("an action", ACTION_KEYS))
        }
        [t, _, ts, _, a, c]
            if k(t, "types")
                && k(ts, "transitions")
                && k(a, "action")
                && (k(c, "copy") || k(c, "template")) =>
        {
            Some(("a copy or template action", COPY_KEYS))
        }
        [t, _, ps, _] if k(t, "types") && k(ps, "ports") => Some(("a port", PORT_KEYS)),
        [c, K(_)] if k(c, "components") => Some(("a component", INSTANCE_KEYS)),
        [t, _, ps, _, b, I(_)] if k(t, "types") && k(ps, "ports") && k(b, "bind") => {
            Some(("a binding", BIND_KEYS))
        }
        _ => None,
    }
}

pub const FILE_KEYS: &[&str] = &["types", "components", "connections"];
pub const TYPE_KEYS: &[&str] = &["places", "initial", "transitions", "groups", "ports"];
pub const TRANSITION_KEYS: &[&str] = &["from", "to", "behavior", "idset", "action", "duration"];
pub const ACTION_KEYS: &[&str] = &["sleep", "command", "timeout", "copy", "template"];
pub const COPY_KEYS: &[&str] = &["dest", "content", "src", "mode"];
pub const INSTANCE_KEYS: &[&str] = &["type", "hosts", "transitions"];
pub const PORT_KEYS: &[&str] = &["kind", "type", "bind"];
pub const BIND_KEYS: &[&str] = &["place", "group", "transition"];

impl<'de> Deserialize<'de> for RawBind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawBind;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a transition, place or group name, or {place|group|transition: NAME}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawBind, E> {
                Ok(RawBind::Bare(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBind, A::Error> {
                let mut pairs = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if BIND_KEYS.contains(&key.as_str()) {
                        pairs.push((key, map.next_value::<String>()?));
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                        pairs.push((key, String::new()));
                    }
                }
                Ok(RawBind::Tagged(pairs))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration: seconds, `300ms`, `2m` or `uniform(0, 10)`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
                Ok(RawDuration(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key lists behind "unknown key" errors must match the structs:
    /// a file using every listed key fills every field, and the unknown-key
    /// check accepts it.
    #[test]
    fn key_lists_match_the_structs() {
        let src = r#"
types:
  T:
    places: [a, b]
    initial: a
    transitions:
      t: {from: a, to: b, behavior: deploy, idset: 0, duration: 1,
          action: {sleep: 1, command: x, timeout: 2,
                   copy: {dest: /x, content: y, src: z, mode: 0644}, template: {dest: /y}}}
    groups: {g: [a]}
    ports:
      p: {kind: use, type: x, bind: [t, {place: a, group: g, transition: t}]}
components:
  c: T
  d: {type: T, hosts: [web, db], transitions: {t: h1}}
connections: []
"#;
        let f: RawFile = serde_norway::from_str(src).expect("every listed key is accepted");
        assert!(f.components.is_some() && f.connections.is_some());
        let ty = &f.types.as_ref().unwrap()["T"];
        assert!(ty.places.is_some() && ty.initial.is_some() && ty.groups.is_some());
        let t = &ty.transitions.as_ref().unwrap()["t"];
        assert!(t.from.is_some() && t.to.is_some() && t.behavior.is_some() && t.idset.is_some());
        assert_eq!(t.duration, Some(RawDuration("1".into())));
        let a = t.action.as_ref().unwrap();
        assert!(a.sleep.is_some() && a.command.is_some() && a.timeout.is_some());
        let c = a.copy.as_ref().unwrap();
        assert!(c.dest.is_some() && c.content.is_some() && c.src.is_some() && c.mode.is_some());
        assert!(a.template.is_some());
        let d = &f.components.as_ref().unwrap()["d"];
        assert_eq!(d.ty.as_deref(), Some("T"));
        assert_eq!(d.hosts.as_ref().unwrap().pattern(), "web:db");
        assert_eq!(d.transitions.as_ref().unwrap()["t"].pattern(), "h1");
        let p = &ty.ports.as_ref().unwrap()["p"];
        assert!(p.kind.is_some() && p.ty.is_some());
        let bind = p.bind.clone().unwrap();
        assert_eq!(bind[0], RawBind::Bare("t".into()));
        assert!(
            matches!(&bind[1], RawBind::Tagged(v) if v.len() == 3 && v.iter().all(|(_, n)| !n.is_empty()))
        );

        let ix = super::super::spans::SpanIndex::build(src).unwrap();
        let unknown = super::super::validate::check_keys(&ix, src);
        assert!(unknown.is_empty(), "{unknown:?}");
        for keys in [
            FILE_KEYS,
            TYPE_KEYS,
            TRANSITION_KEYS,
            ACTION_KEYS,
            COPY_KEYS,
            INSTANCE_KEYS,
            PORT_KEYS,
            BIND_KEYS,
        ] {
            for k in keys {
                assert!(src.contains(&format!("{k}:")), "{k} not exercised");
            }
        }
    }
}

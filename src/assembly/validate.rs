//! Raw structs -> model types. Nothing stops at the first problem: every
//! check records a [`Problem`] and carries on with a placeholder, and the
//! caller refuses the file if any error was recorded. Spans come from the
//! span index by path (`types.T.transitions.t.from`).

use indexmap::IndexMap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use super::file::{
    allowed_keys, RawAction, RawBind, RawCopy, RawDuration, RawFile, RawPort, RawTransition,
    RawType, BIND_KEYS,
};
use super::spans::{Kind, SpanIndex};
use super::Problem;
use crate::durations::parse_spec;
use crate::model::{
    Action, Binding, ComponentType, CopySource, DurationSpec, Group, Placement, Port, PortKind,
    PortRef, SrcSpan, Transition, TypeIndex, Types,
};

pub(crate) struct Resolved {
    pub types: Types,
    pub instances: IndexMap<String, String>,
    /// Where each instance runs, in `instances` order.
    pub placements: Vec<Placement>,
    pub instance_spans: Vec<SrcSpan>,
    pub connections: Vec<(PortRef, PortRef)>,
    pub connection_spans: Vec<SrcSpan>,
}

pub(crate) struct Outcome {
    /// Meaningful only when `errors` is empty.
    pub resolved: Resolved,
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

const NAME_HELP: &str =
    "names start with a letter or `_` and continue with letters, digits, `_` or `-`";

/// Unknown keys (with a "did you mean") and keys repeated in a mapping,
/// found from the span index alone, so all of them are reported even when
/// serde would stop at the first.
pub(crate) fn check_keys(ix: &SpanIndex, src: &str) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for n in ix.nodes() {
        // Nodes under an alias are checked too (an anchor may be reused at
        // a position with other keys); copies of an already reported key
        // are dropped below.
        if n.kind != Kind::Mapping {
            continue;
        }
        let Some((what, keys)) = allowed_keys(&n.path) else {
            continue;
        };
        for (i, &c) in n.children.iter().enumerate() {
            let child = &ix.nodes()[c];
            let Some(k) = child.key_text() else { continue };
            if keys.contains(&k) {
                continue;
            }
            if k.ends_with(')') && i > 0 {
                let prev = ix.nodes()[n.children[i - 1]].value;
                if is_split_uniform(src.get(prev.offset..prev.offset + prev.len).unwrap_or("")) {
                    continue; // the tail of `{sleep: uniform(0, 10)}`, see `duration`
                }
            }
            let accepted = keys.join(", ");
            let help = match suggest(k, keys.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? {what} accepts: {accepted}"),
                None => format!("{what} accepts: {accepted}"),
            };
            let p = Problem::error(
                "assembly::unknown_key",
                format!("unknown key `{k}` in {what}"),
                child.key_or_value(),
                "unknown key",
            )
            .with_help(help);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    for d in &ix.duplicates {
        let place = if d.mapping.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{}`", d.mapping)
        };
        out.push(
            Problem::error(
                "assembly::duplicate_key",
                format!("key `{}` appears twice {place}", d.key),
                d.again,
                "repeated here",
            )
            .with_also(d.first, "first here")
            .with_help("YAML would silently keep only one of the two; remove or rename one"),
        );
    }
    out
}

pub(crate) fn resolve(raw: &RawFile, ix: &SpanIndex, src: &str) -> Outcome {
    let mut cx = Cx {
        ix,
        src,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let empty = IndexMap::new();
    let raw_types = raw.types.as_ref().unwrap_or(&empty);
    // `None` for a type too broken to resolve (no places): its instances
    // and connections are then not checked further.
    let types: IndexMap<&str, Option<ComponentType>> = raw_types
        .iter()
        .map(|(name, t)| (name.as_str(), cx.component_type(name, t)))
        .collect();

    let (instances, placements, instance_spans) = cx.instances(raw, &types);
    let (connections, connection_spans) = cx.connections(raw, &types, &instances);
    cx.unconnected(&types, &instances, &connections);

    let types = types
        .into_iter()
        .filter_map(|(n, t)| Some((n.to_string(), Arc::new(TypeIndex::new(t?)))))
        .collect();
    Outcome {
        resolved: Resolved {
            types,
            instances,
            placements,
            instance_spans,
            connections,
            connection_spans,
        },
        errors: cx.errors,
        warnings: cx.warnings,
    }
}

struct Cx<'a> {
    ix: &'a SpanIndex,
    src: &'a str,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// A file mode as written: `0644`, `644`, `0o644`, `"0755"` (always octal,
/// whatever YAML would make of the digits), at most `7777`.
fn parse_mode(text: &str) -> Option<u32> {
    let t = text.trim().trim_matches(|c| c == '"' || c == '\'');
    let digits = t.strip_prefix("0o").unwrap_or(t);
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return None;
    }
    u32::from_str_radix(digits, 8).ok().filter(|m| *m <= 0o7777)
}

/// What a bare binding name resolved to, for messages.
fn binding_what(b: Binding) -> &'static str {
    match b {
        Binding::Transition(_) => "transition",
        Binding::Place(_) => "place",
        Binding::Group(_) => "group",
    }
}

/// "transition `start`", for messages.
fn binding_name(ty: &ComponentType, b: Binding) -> String {
    let name = match b {
        Binding::Transition(i) => ty.transitions.get(i).map(|t| t.name.as_str()),
        Binding::Place(i) => ty.places.get(i).map(String::as_str),
        Binding::Group(i) => ty.groups.get(i).map(|g| g.name.as_str()),
    };
    format!("{} `{}`", binding_what(b), name.unwrap_or("?"))
}

impl Cx<'_> {
    fn ident(&mut self, what: &str, name: &str, span: SrcSpan) {
        if !is_ident(name) {
            self.errors.push(
                Problem::error(
                    "assembly::bad_name",
                    format!("`{name}` is not a valid {what} name"),
                    span,
                    "not an identifier",
                )
                .with_help(NAME_HELP),
            );
        }
    }

    /// `what` (the mapping at `mapping`) lacks the required `key`.
    fn missing(&mut self, what: &str, mapping: &str, key: &str, help: &str) {
        if self.misspelled(mapping, key) {
            return;
        }
        let span = self.ix.key_at(mapping);
        self.errors.push(
            Problem::error(
                "assembly::missing_key",
                format!("{what} has no `{key}`"),
                span,
                format!("`{key}` missing"),
            )
            .with_help(help),
        );
    }

    /// Whether the mapping at `path` has an unknown key close to `key`:
    /// that typo is already reported ("did you mean `key`?"), so `key`
    /// being missing needs no second error.
    fn misspelled(&self, path: &str, key: &str) -> bool {
        let Some(n) = self.ix.get(path) else {
            return false;
        };
        let allowed = allowed_keys(&n.path).map_or(&[][..], |(_, k)| k);
        n.children
            .iter()
            .filter_map(|&c| self.ix.nodes()[c].key_text())
            .any(|k| !allowed.contains(&k) && suggest(k, [key]).is_some())
    }

    /// Report a name that refers to nothing, suggesting the closest one.
    fn unknown(&mut self, p: Problem, name: &str, what: &str, known: &[&str]) {
        self.errors
            .push(p.with_help(unknown_help(name, what, known)));
    }

    /// One component type; `None` when it has no places (then nothing else
    /// in it can be checked).
    fn component_type(&mut self, name: &str, raw: &RawType) -> Option<ComponentType> {
        let base = format!("types.{name}");
        self.ident("component type", name, self.ix.key_at(&base));
        let (places, place_spans) = self.places(name, &base, raw)?;
        let place_names: Vec<&str> = places.iter().map(String::as_str).collect();
        let initial = match &raw.initial {
            None => 0,
            Some(p) => {
                let span = self.ix.value_at(&format!("{base}.initial"));
                self.place(name, &place_names, p, span, "as `initial`")
                    .unwrap_or(0)
            }
        };

        // Behaviors are numbered in order of first use.
        let mut behaviors: Vec<String> = Vec::new();
        let empty = IndexMap::new();
        let transitions = (raw.transitions.as_ref().unwrap_or(&empty).iter())
            .map(|(tname, t)| self.transition(name, &place_names, &mut behaviors, tname, t))
            .collect();
        let empty = IndexMap::new();
        let groups = (raw.groups.as_ref().unwrap_or(&empty).iter())
            .map(|(gname, gplaces)| self.group(name, &place_names, gname, gplaces))
            .collect();

        let mut ty = ComponentType {
            name: name.to_string(),
            places,
            initial,
            behaviors,
            transitions,
            groups,
            ports: Vec::new(),
        };
        // Ports last: they bind transitions, places and groups.
        let empty = IndexMap::new();
        for (pname, p) in raw.ports.as_ref().unwrap_or(&empty) {
            let port = self.port(&ty, &base, pname, p);
            ty.ports.push(port);
        }
        self.type_warnings(&ty, &base, &place_spans);
        Some(ty)
    }

    /// The place list without duplicates, with each place's span.
    fn places(
        &mut self,
        name: &str,
        base: &str,
        raw: &RawType,
    ) -> Option<(Vec<String>, Vec<SrcSpan>)> {
        let raw_places = raw.places.as_deref().unwrap_or(&[]);
        if raw_places.is_empty() {
            if raw.places.is_none() && self.misspelled(base, "places") {
                return None;
            }
            let span = self
                .ix
                .value(&format!("{base}.places"))
                .unwrap_or_else(|| self.ix.key_at(base));
            self.errors.push(
                Problem::error(
                    "assembly::empty_places",
                    format!("component type `{name}` has no places"),
                    span,
                    "no places",
                )
                .with_help("list its milestones, e.g. `places: [undeployed, configured, running]`; the first is the initial place"),
            );
            return None;
        }
        let mut places: Vec<String> = Vec::new();
        let mut spans: Vec<SrcSpan> = Vec::new();
        for (i, p) in raw_places.iter().enumerate() {
            let span = self.ix.value_at(&format!("{base}.places[{i}]"));
            self.ident("place", p, span);
            match places.iter().position(|q| q == p) {
                Some(first) => self.errors.push(
                    Problem::error(
                        "assembly::duplicate_name",
                        format!("place `{p}` is listed twice in `{name}`"),
                        span,
                        "listed again here",
                    )
                    .with_also(spans[first], "first here")
                    .with_help("each place is listed once"),
                ),
                None => {
                    places.push(p.clone());
                    spans.push(span);
                }
            }
        }
        Some((places, spans))
    }

    fn transition(
        &mut self,
        ty: &str,
        places: &[&str],
        behaviors: &mut Vec<String>,
        tname: &str,
        t: &RawTransition,
    ) -> Transition {
        let tb = format!("types.{ty}.transitions.{tname}");
        self.ident("transition", tname, self.ix.key_at(&tb));
        let what = format!("transition `{ty}.{tname}`");
        // Unknown places get placeholder 0: the file is rejected anyway.
        let mut end = |k: &str, v: &Option<String>| match v {
            None => {
                self.missing(&what, &tb, k, &format!("write `{k}: PLACE`"));
                0
            }
            Some(p) => {
                let span = self.ix.value_at(&format!("{tb}.{k}"));
                let role = format!("as `{k}` of transition `{tname}`");
                self.place(ty, places, p, span, &role).unwrap_or(0)
            }
        };
        let src = end("from", &t.from);
        let dst = end("to", &t.to);
        let behavior = t.behavior.as_deref().unwrap_or("deploy");
        if t.behavior.is_some() {
            let span = self.ix.value_at(&format!("{tb}.behavior"));
            self.ident("behavior", behavior, span);
        }
        let behavior = match behaviors.iter().position(|b| b == behavior) {
            Some(b) => b,
            None => {
                behaviors.push(behavior.to_string());
                behaviors.len() - 1
            }
        };
        let action = self.action(&format!("{tb}.action"), t.action.as_ref());
        let estimate = t
            .duration
            .as_ref()
            .and_then(|d| self.duration(&format!("{tb}.duration"), d));
        Transition {
            name: tname.to_string(),
            src,
            dst,
            behavior,
            idset: t.idset.unwrap_or(0),
            action,
            estimate,
        }
    }

    fn group(&mut self, ty: &str, places: &[&str], gname: &str, gplaces: &[String]) -> Group {
        let gb = format!("types.{ty}.groups.{gname}");
        let key = self.ix.key_at(&gb);
        self.ident("group", gname, key);
        if gplaces.is_empty() {
            self.errors.push(
                Problem::error(
                    "assembly::empty_group",
                    format!("group `{ty}.{gname}` has no places"),
                    key,
                    "empty group",
                )
                .with_help("a group is a set of places, e.g. `serving: [configured, running]`"),
            );
        }
        let mut ids: Vec<usize> = Vec::new();
        let mut spans: Vec<SrcSpan> = Vec::new();
        for (i, p) in gplaces.iter().enumerate() {
            let span = self.ix.value_at(&format!("{gb}[{i}]"));
            let role = format!("in group `{gname}`");
            let Some(id) = self.place(ty, places, p, span, &role) else {
                continue;
            };
            if let Some(first) = ids.iter().position(|&q| q == id) {
                self.errors.push(
                    Problem::error(
                        "assembly::duplicate_name",
                        format!("place `{p}` is listed twice in group `{gname}`"),
                        span,
                        "listed again here",
                    )
                    .with_also(spans[first], "first here")
                    .with_help("each place is listed once"),
                );
            } else {
                ids.push(id);
                spans.push(span);
            }
        }
        Group {
            name: gname.to_string(),
            places: ids,
        }
    }

    /// Look a place up by name, reporting it if unknown.
    fn place(
        &mut self,
        ty: &str,
        places: &[&str],
        name: &str,
        span: SrcSpan,
        role: &str,
    ) -> Option<usize> {
        let found = places.iter().position(|p| *p == name);
        if found.is_none() {
            self.unknown(
                Problem::error(
                    "assembly::unknown_place",
                    format!("unknown place `{name}` {role}"),
                    span,
                    format!("not a place of `{ty}`"),
                ),
                name,
                "place",
                places,
            );
        }
        found
    }

    fn action(&mut self, path: &str, raw: Option<&RawAction>) -> Action {
        let Some(a) = raw else { return Action::Nothing };
        let span = self.ix.value_at(path);
        let bad = |msg: &str, span, label: &str, help: &str| {
            Problem::error("assembly::bad_action", msg, span, label).with_help(help)
        };
        let kinds = [
            a.sleep.is_some(),
            a.command.is_some(),
            a.copy.is_some(),
            a.template.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            self.errors.push(bad(
                "an action does one thing: `sleep`, `command`, `copy` or `template`",
                span,
                "several actions",
                "keep one; split the work into transitions (they may run in parallel), and use                  `duration:` on the transition for an estimate",
            ));
            return Action::Nothing;
        }
        for (key, c) in [("copy", &a.copy), ("template", &a.template)] {
            if let Some(c) = c {
                let timeout = self.timeout(path, a);
                return self.copy(&format!("{path}.{key}"), c, key == "template", timeout);
            }
        }
        match (&a.sleep, &a.command) {
            (Some(s), None) => {
                if a.timeout.is_some() {
                    self.errors.push(bad(
                        "`timeout` applies to `command`, `copy` and `template` actions only",
                        self.ix.key_at(&format!("{path}.timeout")),
                        "not for `sleep`",
                        "a sleep lasts exactly its duration: remove `timeout`",
                    ));
                }
                let spec = self.duration(&format!("{path}.sleep"), s);
                Action::Sleep(spec.unwrap_or(DurationSpec::Fixed(Duration::ZERO)))
            }
            (None, Some(cmd)) => {
                if cmd.trim().is_empty() {
                    self.errors.push(bad(
                        "empty command",
                        self.ix.value_at(&format!("{path}.command")),
                        "nothing to run",
                        "give a shell command, or remove `action` for an instant transition",
                    ));
                }
                let timeout = self.timeout(path, a);
                Action::Command {
                    cmd: cmd.clone(),
                    timeout,
                }
            }
            (Some(_), Some(_)) => {
                self.errors.push(bad(
                    "an action cannot both `sleep` and run a `command`",
                    span,
                    "two actions",
                    "keep one; `duration:` on the transition gives a command an estimated duration",
                ));
                Action::Nothing
            }
            (None, None)
                if ["sleep", "command", "copy", "template"]
                    .iter()
                    .any(|k| self.misspelled(path, k)) =>
            {
                Action::Nothing
            }
            (None, None) => {
                self.errors.push(bad(
                    "the action says neither `sleep`, `command`, `copy` nor `template`",
                    span,
                    "empty action",
                    "write `{sleep: 2.5}`, `{command: \"...\"}` or `{copy: {dest: ..., content: ...}}`, \
                     or remove `action` for an instant transition",
                ));
                Action::Nothing
            }
        }
    }

    /// The `timeout` of a command, copy or template action.
    fn timeout(&mut self, path: &str, a: &RawAction) -> Option<Duration> {
        let t = a.timeout.as_ref()?;
        let tp = format!("{path}.timeout");
        match self.duration(&tp, t)? {
            DurationSpec::Fixed(d) => Some(d),
            DurationSpec::Uniform { .. } => {
                self.errors.push(
                    Problem::error(
                        "assembly::bad_duration",
                        "a timeout must be a fixed duration",
                        self.ix.value_at(&tp),
                        "random timeout",
                    )
                    .with_help("write e.g. `timeout: 30s`"),
                );
                None
            }
        }
    }

    /// `copy:` / `template:`: a `dest`, exactly one of `content` and
    /// `src`, and an octal `mode` (default 0644).
    fn copy(
        &mut self,
        path: &str,
        c: &RawCopy,
        template: bool,
        timeout: Option<Duration>,
    ) -> Action {
        let what = if template { "template" } else { "copy" };
        let dest = match &c.dest {
            Some(d) if !d.trim().is_empty() => d.clone(),
            Some(_) => {
                self.errors.push(
                    Problem::error(
                        "assembly::bad_action",
                        "empty `dest`",
                        self.ix.value_at(&format!("{path}.dest")),
                        "no path",
                    )
                    .with_help("give the absolute path of the file to write on each host"),
                );
                String::new()
            }
            None => {
                self.missing(
                    &format!("a {what} action"),
                    path,
                    "dest",
                    "give the path of the file to write on each host: `dest: /etc/app.conf`",
                );
                String::new()
            }
        };
        let content = match (&c.content, &c.src) {
            (Some(text), None) => CopySource::Inline(text.clone()),
            (None, Some(src)) => CopySource::File(src.into()),
            (Some(_), Some(_)) => {
                self.errors.push(
                    Problem::error(
                        "assembly::bad_action",
                        format!("a {what} action has both `content` and `src`"),
                        self.ix.value_at(path),
                        "two sources",
                    )
                    .with_help(
                        "keep `content` (the text itself) or `src` (a file next to the assembly)",
                    ),
                );
                CopySource::Inline(String::new())
            }
            (None, None) => {
                if !self.misspelled(path, "content") && !self.misspelled(path, "src") {
                    self.errors.push(
                        Problem::error(
                            "assembly::bad_action",
                            format!("a {what} action has neither `content` nor `src`"),
                            self.ix.value_at(path),
                            "nothing to write",
                        )
                        .with_help("write `content: \"...\"`, or `src: files/app.conf` (relative to the assembly)"),
                    );
                }
                CopySource::Inline(String::new())
            }
        };
        let mode = match &c.mode {
            None => 0o644,
            Some(_) => {
                let at = self.ix.value_at(&format!("{path}.mode"));
                let text = self.src.get(at.offset..at.offset + at.len).unwrap_or("");
                match parse_mode(text) {
                    Some(m) => m,
                    None => {
                        self.errors.push(
                            Problem::error(
                                "assembly::bad_mode",
                                format!("`{text}` is not a file mode"),
                                at,
                                "not octal permissions",
                            )
                            .with_help(
                                "write octal permissions, e.g. `mode: \"0644\"` or `mode: 0755`",
                            ),
                        );
                        0o644
                    }
                }
            }
        };
        Action::Copy {
            dest,
            content,
            mode,
            template,
            timeout,
        }
    }

    fn duration(&mut self, path: &str, d: &RawDuration) -> Option<DurationSpec> {
        if is_split_uniform(&d.0) {
            // `{sleep: uniform(0, 10)}`: in a flow mapping the comma ends
            // the value, and `10)` becomes a key.
            self.errors.push(
                Problem::error(
                    "assembly::bad_duration",
                    format!("`{}` is cut short: inside `{{...}}` a comma ends a value", d.0),
                    self.ix.value_at(path),
                    "YAML split `uniform(LO, HI)` at the comma",
                )
                .with_help("quote it, as in `{sleep: \"uniform(0, 10)\"}`, or write the mapping in block style"),
            );
            return None;
        }
        match parse_spec(&d.0) {
            Ok(spec) => Some(spec),
            Err(msg) => {
                self.errors.push(
                    Problem::error("assembly::bad_duration", msg, self.ix.value_at(path), "not a duration")
                        .with_help("durations are seconds (`2.5`), with a unit (`300ms`, `2.5s`, `2m`, `1h`), or `uniform(LO, HI)` in seconds"),
                );
                None
            }
        }
    }

    fn port(&mut self, ty: &ComponentType, base: &str, pname: &str, p: &RawPort) -> Port {
        let pb = format!("{base}.ports.{pname}");
        let key = self.ix.key_at(&pb);
        self.ident("port", pname, key);
        let what = format!("port `{}.{pname}`", ty.name);
        const KINDS: [&str; 4] = ["use", "provide", "data-use", "data-provide"];
        let kind = match p.kind.as_deref() {
            None => {
                self.missing(
                    &what,
                    &pb,
                    "kind",
                    "write `kind: use`, `provide`, `data-use` or `data-provide`",
                );
                None
            }
            Some(k) => {
                let kind = match k {
                    "use" => Some(PortKind::Use),
                    "provide" => Some(PortKind::Provide),
                    "data-use" => Some(PortKind::DataUse),
                    "data-provide" => Some(PortKind::DataProvide),
                    _ => None,
                };
                if kind.is_none() {
                    self.unknown(
                        Problem::error(
                            "assembly::bad_port_kind",
                            format!("unknown port kind `{k}`"),
                            self.ix.value_at(&format!("{pb}.kind")),
                            "not a port kind".to_string(),
                        ),
                        k,
                        "port kind",
                        &KINDS,
                    );
                }
                kind
            }
        };
        let port_ty = match p.ty.as_deref() {
            Some(t) if !t.trim().is_empty() => t.to_string(),
            _ => {
                self.missing(
                    &what,
                    &pb,
                    "type",
                    "ports connect only to ports of the same `type`, e.g. `type: sql`",
                );
                String::new()
            }
        };
        let binds = p.bind.as_deref().unwrap_or(&[]);
        if binds.is_empty() && !self.misspelled(&pb, "bind") {
            let span = self.ix.value(&format!("{pb}.bind")).unwrap_or(key);
            self.errors.push(
                Problem::error("assembly::empty_binding", format!("{what} is bound to nothing"), span, "no bindings")
                    .with_help("bind it to what it serves or gates, e.g. `bind: [running]` or `bind: [start, {group: serving}]`"),
            );
        }
        let mut bindings: Vec<Binding> = Vec::new();
        let mut spans: Vec<SrcSpan> = Vec::new();
        for (i, b) in binds.iter().enumerate() {
            let bp = format!("{pb}.bind[{i}]");
            let Some((binding, span)) = self.binding(ty, &bp, b) else {
                continue;
            };
            if let Some(kind) = kind {
                if !can_bind(kind, binding) {
                    let allowed = match kind {
                        PortKind::Provide => "places and groups",
                        PortKind::DataProvide => "places",
                        PortKind::DataUse => "transitions",
                        PortKind::Use => "transitions, places and groups",
                    };
                    self.errors.push(
                        Problem::error(
                            "assembly::bad_binding",
                            format!(
                                "{} port `{pname}` cannot bind {}",
                                kind.as_str(),
                                binding_name(ty, binding)
                            ),
                            span,
                            format!("a {}", binding_what(binding)),
                        )
                        .with_help(format!("{} ports bind {allowed} only", kind.as_str())),
                    );
                }
            }
            if let Some(first) = bindings.iter().position(|&x| x == binding) {
                self.errors.push(
                    Problem::error(
                        "assembly::duplicate_name",
                        format!("{what} binds {} twice", binding_name(ty, binding)),
                        span,
                        "bound again here",
                    )
                    .with_also(spans[first], "first here")
                    .with_help("list each binding once"),
                );
                continue;
            }
            bindings.push(binding);
            spans.push(span);
        }
        Port {
            name: pname.to_string(),
            kind: kind.unwrap_or(PortKind::Use),
            ty: port_ty,
            bindings,
        }
    }

    /// Resolve one element of `bind`, with the span to blame.
    fn binding(
        &mut self,
        ty: &ComponentType,
        path: &str,
        b: &RawBind,
    ) -> Option<(Binding, SrcSpan)> {
        let tnames: Vec<&str> = ty.transitions.iter().map(|t| t.name.as_str()).collect();
        let pnames: Vec<&str> = ty.places.iter().map(String::as_str).collect();
        let gnames: Vec<&str> = ty.groups.iter().map(|g| g.name.as_str()).collect();
        let find = |names: &[&str], n: &str| names.iter().position(|x| *x == n);
        match b {
            RawBind::Bare(name) => {
                let span = self.ix.value_at(path);
                let mut hits = Vec::new();
                if let Some(t) = find(&tnames, name) {
                    hits.push(Binding::Transition(t));
                }
                if let Some(p) = find(&pnames, name) {
                    hits.push(Binding::Place(p));
                }
                if let Some(g) = find(&gnames, name) {
                    hits.push(Binding::Group(g));
                }
                match hits[..] {
                    [one] => Some((one, span)),
                    [] => {
                        let all: Vec<&str> = tnames
                            .iter()
                            .chain(&pnames)
                            .chain(&gnames)
                            .copied()
                            .collect();
                        self.unknown(
                            Problem::error(
                                "assembly::unknown_binding",
                                format!(
                                    "`{name}` is not a transition, place or group of `{}`",
                                    ty.name
                                ),
                                span,
                                "unknown name".to_string(),
                            ),
                            name,
                            "name",
                            &all,
                        );
                        None
                    }
                    _ => {
                        let kinds: Vec<&str> = hits.iter().map(|h| binding_what(*h)).collect();
                        let tagged: Vec<String> =
                            kinds.iter().map(|k| format!("`{{{k}: {name}}}`")).collect();
                        self.errors.push(
                            Problem::error(
                                "assembly::ambiguous_binding",
                                format!(
                                    "`{name}` is both a {} of `{}`",
                                    kinds.join(" and a "),
                                    ty.name
                                ),
                                span,
                                "ambiguous",
                            )
                            .with_help(format!("say which: {}", tagged.join(" or "))),
                        );
                        None
                    }
                }
            }
            RawBind::Tagged(pairs) => {
                let known: Vec<&(String, String)> = pairs
                    .iter()
                    .filter(|(k, _)| BIND_KEYS.contains(&k.as_str()))
                    .collect();
                if known.is_empty() && !pairs.is_empty() {
                    return None; // only unknown keys, reported as such
                }
                let [(k, name)] = known[..] else {
                    self.errors.push(
                        Problem::error(
                            "assembly::bad_binding",
                            "a binding names exactly one place, group or transition",
                            self.ix.value_at(path),
                            format!("{} names", known.len()),
                        )
                        .with_help(
                            "write one binding per list element: `bind: [{place: a}, {group: g}]`",
                        ),
                    );
                    return None;
                };
                let span = self.ix.value_at(&format!("{path}.{k}"));
                let (names, what): (&[&str], &str) = match k.as_str() {
                    "transition" => (&tnames, "transition"),
                    "place" => (&pnames, "place"),
                    _ => (&gnames, "group"),
                };
                let Some(i) = find(names, name) else {
                    self.unknown(
                        Problem::error(
                            "assembly::unknown_binding",
                            format!("`{name}` is not a {what} of `{}`", ty.name),
                            span,
                            format!("no such {what}"),
                        ),
                        name,
                        what,
                        names,
                    );
                    return None;
                };
                let binding = match what {
                    "transition" => Binding::Transition(i),
                    "place" => Binding::Place(i),
                    _ => Binding::Group(i),
                };
                Some((binding, span))
            }
        }
    }

    /// Places nothing leads to, and groups no port uses.
    fn type_warnings(&mut self, ty: &ComponentType, base: &str, place_spans: &[SrcSpan]) {
        let mut reached = vec![false; ty.places.len()];
        let mut queue = VecDeque::from([ty.initial]);
        reached[ty.initial] = true;
        while let Some(p) = queue.pop_front() {
            for t in ty.transitions.iter().filter(|t| t.src == p) {
                if !reached[t.dst] {
                    reached[t.dst] = true;
                    queue.push_back(t.dst);
                }
            }
        }
        for (p, r) in reached.iter().enumerate() {
            if !r {
                self.warnings.push(
                    Problem::warning(
                        "assembly::unreachable_place",
                        format!("place `{}` of `{}` cannot be reached from `{}`", ty.places[p], ty.name, ty.places[ty.initial]),
                        place_spans[p],
                        "unreachable",
                    )
                    .with_help("no transition of any behavior leads here from the initial place; add one or remove the place"),
                );
            }
        }
        for (g, grp) in ty.groups.iter().enumerate() {
            let bound = ty
                .ports
                .iter()
                .any(|p| p.bindings.contains(&Binding::Group(g)));
            if !bound {
                self.warnings.push(
                    Problem::warning(
                        "assembly::unused_group",
                        format!("group `{}` of `{}` is not bound by any port", grp.name, ty.name),
                        self.ix.key_at(&format!("{base}.groups.{}", grp.name)),
                        "unused",
                    )
                    .with_help(format!("groups matter only through ports: bind one with `{{group: {}}}`, or remove the group", grp.name)),
                );
            }
        }
    }

    fn instances(
        &mut self,
        raw: &RawFile,
        types: &IndexMap<&str, Option<ComponentType>>,
    ) -> (IndexMap<String, String>, Vec<Placement>, Vec<SrcSpan>) {
        let mut instances = IndexMap::new();
        let mut placements = Vec::new();
        let mut spans = Vec::new();
        let type_names: Vec<&str> = types.keys().copied().collect();
        let mut reported_no_deploy: Vec<&str> = Vec::new();
        for (name, inst) in raw.components.iter().flatten() {
            let path = format!("components.{name}");
            let key = self.ix.key_at(&path);
            self.ident("instance", name, key);
            let Some(ty) = &inst.ty else {
                self.missing(
                    &format!("instance `{name}`"),
                    &path,
                    "type",
                    "write `{type: SomeType, hosts: web}`, or just `SomeType`",
                );
                continue;
            };
            let value = if inst.hosts.is_some() || inst.transitions.is_some() {
                self.ix.value_at(&format!("{path}.type"))
            } else {
                self.ix.value_at(&path)
            };
            match types.get(ty.as_str()) {
                None => self.unknown(
                    Problem::error(
                        "assembly::unknown_type",
                        format!("unknown component type `{ty}` for instance `{name}`"),
                        value,
                        "no such type".to_string(),
                    ),
                    ty,
                    "type",
                    &type_names,
                ),
                Some(Some(t))
                    if t.behavior("deploy").is_none()
                        && !reported_no_deploy.contains(&ty.as_str()) =>
                {
                    reported_no_deploy.push(ty);
                    self.errors.push(
                        Problem::error(
                            "assembly::no_deploy",
                            format!("component type `{ty}` has no `deploy` behavior, but instance `{name}` is deployed"),
                            value,
                            "deploying this runs `pushB(_, deploy)`",
                        )
                        .with_also(self.ix.key_at(&format!("types.{ty}")), "no transition here has `behavior: deploy`")
                        .with_help("give the transitions that deploy it `behavior: deploy` (the default when `behavior` is omitted)"),
                    );
                }
                Some(_) => {}
            }
            let placement = self.placement(&path, inst, types.get(ty.as_str()));
            instances.insert(name.clone(), ty.clone());
            placements.push(placement);
            spans.push(key);
        }
        (instances, placements, spans)
    }

    /// `hosts:` and `transitions:` of an instance: non-empty patterns, and
    /// transitions its type has.
    fn placement(
        &mut self,
        path: &str,
        inst: &super::file::RawInstance,
        ty: Option<&Option<ComponentType>>,
    ) -> Placement {
        let pattern = |cx: &mut Self, at: String, h: &super::file::RawHosts| {
            let p = h.pattern();
            if p.trim().is_empty() || p.split(':').any(|x| x.trim().is_empty()) {
                cx.errors.push(
                    Problem::error(
                        "assembly::bad_hosts",
                        "empty host pattern",
                        cx.ix.value_at(&at),
                        "no hosts named",
                    )
                    .with_help("name inventory hosts or groups: `web`, `[h1, h2]` or `web:!h3`"),
                );
            }
            p
        };
        let hosts = inst
            .hosts
            .as_ref()
            .map(|h| pattern(self, format!("{path}.hosts"), h));
        let mut transitions = Vec::new();
        for (t, h) in inst.transitions.iter().flatten() {
            let at = format!("{path}.transitions.{t}");
            if let Some(Some(ty)) = ty {
                if ty.transition(t).is_none() {
                    let known: Vec<&str> = ty.transitions.iter().map(|t| t.name.as_str()).collect();
                    self.unknown(
                        Problem::error(
                            "assembly::unknown_transition",
                            format!("`{}` has no transition `{t}` to place", ty.name),
                            self.ix.key_at(&at),
                            "no such transition",
                        ),
                        t,
                        "transition",
                        &known,
                    );
                }
            }
            transitions.push((t.clone(), pattern(self, at, h)));
        }
        Placement { hosts, transitions }
    }

    /// Resolve `inst.port` to the port and its kind and type.
    fn port_end<'t>(
        &mut self,
        text: &str,
        span: SrcSpan,
        types: &'t IndexMap<&str, Option<ComponentType>>,
        instances: &IndexMap<String, String>,
    ) -> Option<(PortRef, &'t Port)> {
        let Some((inst, port)) = text.split_once('.') else {
            self.errors.push(
                Problem::error(
                    "assembly::bad_connection",
                    format!("`{text}` does not name a port"),
                    span,
                    "expected `instance.port`",
                )
                .with_help("each end of a connection is `instance.port`, e.g. `c.server_ip`"),
            );
            return None;
        };
        let Some(ty) = instances.get(inst) else {
            let names: Vec<&str> = instances.keys().map(String::as_str).collect();
            self.unknown(
                Problem::error(
                    "assembly::unknown_instance",
                    format!("unknown instance `{inst}` in connection"),
                    span,
                    "no such instance".to_string(),
                ),
                inst,
                "instance",
                &names,
            );
            return None;
        };
        // An unknown or broken type is reported elsewhere.
        let ty = types.get(ty.as_str())?.as_ref()?;
        let Some(p) = ty.ports.iter().find(|p| p.name == port) else {
            let names: Vec<&str> = ty.ports.iter().map(|p| p.name.as_str()).collect();
            self.unknown(
                Problem::error(
                    "assembly::unknown_port",
                    format!(
                        "instance `{inst}` (type `{}`) has no port `{port}`",
                        ty.name
                    ),
                    span,
                    "no such port".to_string(),
                ),
                port,
                "port",
                &names,
            );
            return None;
        };
        Some((
            PortRef {
                component: inst.to_string(),
                port: port.to_string(),
            },
            p,
        ))
    }

    fn connections(
        &mut self,
        raw: &RawFile,
        types: &IndexMap<&str, Option<ComponentType>>,
        instances: &IndexMap<String, String>,
    ) -> (Vec<(PortRef, PortRef)>, Vec<SrcSpan>) {
        let mut out = Vec::new();
        let mut spans: Vec<SrcSpan> = Vec::new();
        let mut seen: HashMap<(PortRef, PortRef), SrcSpan> = HashMap::new();
        for (i, item) in raw.connections.iter().flatten().enumerate() {
            let cp = format!("connections[{i}]");
            let span = self.ix.value_at(&cp);
            let [a, b] = &item[..] else {
                self.errors.push(
                    Problem::error(
                        "assembly::bad_connection",
                        format!("a connection joins two ports, this lists {}", item.len()),
                        span,
                        "not a pair",
                    )
                    .with_help("write `- [client.port, server.port]`"),
                );
                continue;
            };
            let a = self.port_end(a, self.ix.value_at(&format!("{cp}[0]")), types, instances);
            let b = self.port_end(b, self.ix.value_at(&format!("{cp}[1]")), types, instances);
            let (Some(a), Some(b)) = (a, b) else { continue };
            let ((ur, u), (pr, p)) = match (a.1.kind.is_use(), b.1.kind.is_use()) {
                (true, false) => (a, b),
                (false, true) => (b, a),
                (both_use, _) => {
                    let k = if both_use { "use" } else { "provide" };
                    self.errors.push(
                        Problem::error(
                            "assembly::port_direction",
                            format!("`{}` and `{}` are both {k} ports", a.0, b.0),
                            span,
                            format!("two {k} ports"),
                        )
                        .with_help("a connection joins a use (or data-use) port to a provide (or data-provide) port"),
                    );
                    continue;
                }
            };
            if matches!(
                (u.kind, p.kind),
                (PortKind::Use, PortKind::DataProvide) | (PortKind::DataUse, PortKind::Provide)
            ) {
                self.errors.push(
                    Problem::error(
                        "assembly::port_kind_mismatch",
                        format!(
                            "`{ur}` is a {} port but `{pr}` is a {} port",
                            u.kind.as_str(),
                            p.kind.as_str()
                        ),
                        span,
                        "incompatible kinds",
                    )
                    .with_help(
                        "use ports connect to provide ports, data-use ports to data-provide ports",
                    ),
                );
                continue;
            }
            if u.ty != p.ty {
                self.errors.push(
                    Problem::error(
                        "assembly::port_type_mismatch",
                        format!("`{ur}` has type `{}` but `{pr}` has type `{}`", u.ty, p.ty),
                        span,
                        "types differ",
                    )
                    .with_help("only ports with the same `type` connect"),
                );
                continue;
            }
            let pair = (ur, pr);
            if let Some(&first) = seen.get(&pair) {
                self.errors.push(
                    Problem::error(
                        "assembly::duplicate_connection",
                        format!("`{}` is already connected to `{}`", pair.0, pair.1),
                        span,
                        "connected again here",
                    )
                    .with_also(first, "first here")
                    .with_help("list each connection once"),
                );
                continue;
            }
            seen.insert(pair.clone(), span);
            out.push(pair);
            spans.push(span);
        }
        (out, spans)
    }

    /// A use port nobody serves blocks its transitions forever.
    fn unconnected(
        &mut self,
        types: &IndexMap<&str, Option<ComponentType>>,
        instances: &IndexMap<String, String>,
        connections: &[(PortRef, PortRef)],
    ) {
        for (inst, ty) in instances {
            let Some(Some(t)) = types.get(ty.as_str()) else {
                continue;
            };
            for p in t.ports.iter().filter(|p| p.kind.is_use()) {
                let served = connections
                    .iter()
                    .any(|(u, _)| u.component == *inst && u.port == p.name);
                if !served {
                    self.warnings.push(
                        Problem::warning(
                            "assembly::unconnected_port",
                            format!("{} port `{inst}.{}` is not connected", p.kind.as_str(), p.name),
                            self.ix.key_at(&format!("components.{inst}")),
                            format!("`{}` unconnected", p.name),
                        )
                        .with_help(format!(
                            "what it is bound to waits forever; connect it under `connections:`, e.g. `- [{inst}.{}, OTHER.PORT]`",
                            p.name
                        )),
                    );
                }
            }
        }
    }
}

/// `uniform(0` : what YAML leaves of an unquoted `uniform(0, 10)` in a
/// flow mapping.
fn is_split_uniform(text: &str) -> bool {
    text.trim_start().starts_with("uniform") && text.contains('(') && !text.contains(')')
}

fn can_bind(kind: PortKind, b: Binding) -> bool {
    match kind {
        PortKind::Use => true,
        PortKind::Provide => !matches!(b, Binding::Transition(_)),
        PortKind::DataProvide => matches!(b, Binding::Place(_)),
        PortKind::DataUse => matches!(b, Binding::Transition(_)),
    }
}

/// `[A-Za-z_][A-Za-z0-9_-]*`
pub(crate) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// "did you mean `x`?" or the list of what exists.
fn unknown_help(name: &str, what: &str, known: &[&str]) -> String {
    if let Some(s) = suggest(name, known.iter().copied()) {
        return format!("did you mean `{s}`?");
    }
    if known.is_empty() {
        return format!("there is no {what} to refer to");
    }
    let mut list: Vec<String> = known.iter().take(12).map(|k| format!("`{k}`")).collect();
    if known.len() > 12 {
        list.push("...".into());
    }
    format!("known {what}s: {}", list.join(", "))
}

/// The closest candidate within a third of the word's length in edits.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let d = crate::suggest::edit_distance(&word.to_lowercase(), &c.to_lowercase());
            (d, c)
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "_x", "mariadb-1", "A_b9"] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", "a.b", "a b", "é"] {
            assert!(!is_ident(bad), "{bad}");
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("confgured", ["configured", "running"]),
            Some("configured")
        );
        assert_eq!(suggest("too", ["to", "from"]), Some("to"));
        assert_eq!(suggest("xyz", ["to", "from"]), None);
        assert_eq!(crate::suggest::edit_distance("kitten", "sitting"), 3);
    }
}

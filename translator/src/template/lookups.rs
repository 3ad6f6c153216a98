//! Lookups: `lookup('name', terms..., key=value)` and `query()`/`q()`.
//!
//! `lookup` joins a result of several strings with commas and unwraps a
//! single item (unless `wantlist=True`), as ansible-core does; `query`
//! always gives the list.
//!
//! Done: `vars`, `env` (this process's environment: the controller's),
//! `file`, `template`, `first_found` (searched in [`Scope::search_paths`];
//! unknown without them), `dict`, `items`, `list`, `indexed_items`,
//! `together`, `nested`, `sequence`, `subelements`.
//! Unknown by nature: `password` (random, or state on the controller),
//! `pipe`, `url`, `lines`, `unvault`, `random_choice`, `fileglob`,
//! `csvfile`, `ini`, `dig`. Others are missing plugins.
//!
//! [`Scope::search_paths`]: super::Scope::search_paths

use std::path::{Path, PathBuf};

use super::error::{type_err, value_err, Deps, ErrorKind, Flow, TemplateError, R};
use super::eval::{dict_items, iterate, list, CallArgs, Ev};
use super::scope::Lookup;
use super::value::{py_str, Key, Value};

pub(crate) fn call(ev: &mut Ev<'_>, query: bool, a: &CallArgs) -> R<Value> {
    let Some(name) = a.pos.first() else {
        return type_err("lookup() requires a plugin name");
    };
    let name = py_str(name)?;
    let short = super::filters::short_name(&name).to_string();
    let terms: Vec<Value> = a.pos[1..].to_vec();
    let mut kw = a.clone();
    kw.pos.clear();
    let wantlist = match kw.kw("wantlist") {
        Some(w) => w.is_true()?,
        None => false,
    } || query;
    let errors = match kw.kw("errors") {
        Some(e) => py_str(e)?,
        None => "strict".into(),
    };
    kw.kw
        .retain(|(k, _)| &**k != "wantlist" && &**k != "errors");
    // Markers in the terms are the result (lookups do not take them).
    if let Some(m) = terms
        .iter()
        .chain(kw.kw.iter().map(|(_, v)| v))
        .find(|v| v.is_marker())
    {
        return Ok(m.clone());
    }
    if let Some(d) = kw.unknown_deps() {
        return Ok(Value::Unknown(d));
    }
    for t in &terms {
        if let Value::Unknown(d) = t {
            return Ok(Value::Unknown(d.clone()));
        }
    }
    let result = match run(ev, &short, &terms, &kw) {
        Ok(r) => r,
        Err(Flow::Error(e)) if e.kind != ErrorKind::Unsupported => match errors.as_str() {
            "warn" | "ignore" => {
                return Ok(if wantlist {
                    list(Vec::new())
                } else {
                    Value::None
                })
            }
            _ => {
                return Err(TemplateError::new(
                    e.kind,
                    format!("The lookup plugin '{name}' failed: {}", e.message),
                )
                .into())
            }
        },
        Err(f) => return Err(f),
    };
    if wantlist || result.is_empty() {
        return Ok(list(result));
    }
    if result.len() == 1 {
        return Ok(result.into_iter().next().unwrap_or(Value::None));
    }
    if result.iter().all(|v| matches!(v, Value::Str(_))) {
        let parts: Vec<String> = result.iter().map(py_str).collect::<R<_>>()?;
        return Ok(Value::from(parts.join(",")));
    }
    Ok(list(result))
}

fn unknown(what: &str) -> R<Vec<Value>> {
    Err(Flow::Unknown(Deps::one(format!("lookup:{what}"))))
}

/// Lookup terms flattened one level, as `listify_lookup_plugin_terms`
/// and most plugins do.
fn flat(terms: &[Value]) -> R<Vec<Value>> {
    let mut out = Vec::new();
    for t in terms {
        match t.known()? {
            Value::List(l) => out.extend(l.iter()),
            _ => out.push(t.clone()),
        }
    }
    Ok(out)
}

fn run(ev: &mut Ev<'_>, name: &str, terms: &[Value], kw: &CallArgs) -> R<Vec<Value>> {
    match name {
        "vars" => {
            let mut out = Vec::new();
            for t in flat(terms)? {
                let Value::Str(n) = t.known()? else {
                    return type_err(format!(
                        "Invalid setting identifier, \"{}\" is not a string, it is a {}",
                        py_str(&t)?,
                        t.type_name()
                    ));
                };
                match ev.scope().lookup(n) {
                    Lookup::Known(v) => out.push(v),
                    Lookup::Unknown => out.push(Value::unknown(n.to_string())),
                    Lookup::Undefined => match kw.kw("default") {
                        Some(d) => out.push(d.clone()),
                        None => out.push(ev.undefined(
                            format!("No variable named '{n}' was found."),
                            Default::default(),
                        )),
                    },
                }
            }
            Ok(out)
        }
        "env" => {
            let mut out = Vec::new();
            for t in flat(terms)? {
                let n = py_str(&t)?;
                match std::env::var(&n) {
                    Ok(v) => out.push(Value::from(v)),
                    Err(_) => out.push(match kw.kw("default") {
                        Some(d) => d.clone(),
                        None => Value::str(""),
                    }),
                }
            }
            Ok(out)
        }
        "dict" => {
            let mut out = Vec::new();
            for t in terms {
                if !matches!(t.known()?, Value::Dict(_)) {
                    return type_err(format!("with_dict expects a dict, got {}", py_str(t)?));
                }
                for (k, v) in dict_items(t)? {
                    out.push(Value::Dict(
                        [(Key::str("key"), k.to_value()), (Key::str("value"), v)]
                            .into_iter()
                            .collect(),
                    ));
                }
            }
            Ok(out)
        }
        "items" => {
            let mut out = Vec::new();
            for t in terms {
                match t.known()? {
                    Value::List(l) => out.extend(l.iter()),
                    _ => out.push(t.clone()),
                }
            }
            Ok(out)
        }
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(flat(terms)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| list(vec![Value::Int(i as i64), v]))
            .collect()),
        "together" => {
            let lists: Vec<Vec<Value>> = terms.iter().map(iterate).collect::<R<_>>()?;
            let n = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..n)
                .map(|i| {
                    list(
                        lists
                            .iter()
                            .map(|l| l.get(i).cloned().unwrap_or(Value::None))
                            .collect(),
                    )
                })
                .collect())
        }
        "nested" => {
            let mut out: Vec<Vec<Value>> = vec![Vec::new()];
            for t in terms {
                let items = iterate(t)?;
                let mut next = Vec::new();
                for prefix in &out {
                    for x in &items {
                        let mut p = prefix.clone();
                        p.push(x.clone());
                        next.push(p);
                    }
                }
                if next.len() > super::eval::MAX_ITEMS {
                    return Err(
                        TemplateError::new(ErrorKind::Limit, "nested lookup too large").into(),
                    );
                }
                out = next;
            }
            Ok(out.into_iter().map(list).collect())
        }
        "sequence" => sequence(terms, kw),
        "subelements" => {
            let mut a = CallArgs::default();
            let obj = terms.first().cloned().unwrap_or(Value::None);
            a.pos = terms.get(1..).map(<[Value]>::to_vec).unwrap_or_default();
            if let Some(Value::Dict(flags)) = terms.get(2) {
                a.pos.truncate(1);
                if let Some(s) = flags.get_str("skip_missing") {
                    a.pos.push(s);
                }
            }
            let f = super::filters::find("subelements").map(|d| d.f);
            match f {
                Some(f) => Ok(iterate(&f(ev, obj, &a)?)?),
                None => unknown("subelements"),
            }
        }
        "file" => {
            let mut out = Vec::new();
            for t in flat(terms)? {
                let path = find_file(ev, &py_str(&t)?, "files")?;
                let text = read(&path)?;
                let rstrip = match kw.kw("rstrip") {
                    Some(r) => r.is_true()?,
                    None => true,
                };
                let lstrip = match kw.kw("lstrip") {
                    Some(r) => r.is_true()?,
                    None => false,
                };
                let mut s: &str = &text;
                if rstrip {
                    s = s.trim_end();
                }
                if lstrip {
                    s = s.trim_start();
                }
                out.push(Value::str(s));
            }
            Ok(out)
        }
        "template" => {
            let mut out = Vec::new();
            for t in flat(terms)? {
                let path = find_file(ev, &py_str(&t)?, "templates")?;
                let text = read(&path)?;
                let c = ev
                    .templar
                    .compile_template(&text)
                    .map_err(|e| Flow::from(e.in_variable(&path.display().to_string())))?;
                let v = super::eval::run(ev.templar, &c, ev.scope())?;
                out.push(match v {
                    Value::Str(_) => v,
                    other => Value::from(py_str(&other)?),
                });
            }
            Ok(out)
        }
        "first_found" => first_found(ev, terms, kw),
        "password"
        | "pipe"
        | "url"
        | "lines"
        | "unvault"
        | "random_choice"
        | "fileglob"
        | "csvfile"
        | "ini"
        | "dig"
        | "community.general.dig"
        | "config" => unknown(name),
        _ => {
            if ev.templar.options().missing_plugins_unknown {
                unknown(name)
            } else {
                Err(TemplateError::unsupported(format!(
                    "The lookup plugin '{name}' was not found."
                ))
                .into())
            }
        }
    }
}

fn read(path: &Path) -> R<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Flow::from(TemplateError::new(
            ErrorKind::Lookup,
            format!("could not read {}: {e}", path.display()),
        ))
    })
}

/// Ansible's `find_file_in_search_path`: an absolute path as is; else
/// `<dir>/<subdir>/<name>` then `<dir>/<name>` for each search path.
fn find_file(ev: &Ev<'_>, name: &str, subdir: &str) -> R<PathBuf> {
    match locate(ev, name, subdir)? {
        Some(p) => Ok(p),
        None => Err(TemplateError::new(
            ErrorKind::Lookup,
            format!("Unable to find '{name}' in expected paths."),
        )
        .into()),
    }
}

fn locate(ev: &Ev<'_>, name: &str, subdir: &str) -> R<Option<PathBuf>> {
    let p = Path::new(name);
    if p.is_absolute() {
        return Ok(p.exists().then(|| p.to_path_buf()));
    }
    let dirs = ev.scope().search_paths();
    if dirs.is_empty() {
        return Err(Flow::Unknown(Deps::one(format!("lookup:{subdir}/{name}"))));
    }
    for d in dirs {
        for cand in [d.join(subdir).join(name), d.join(name)] {
            if cand.exists() {
                return Ok(Some(cand));
            }
        }
    }
    Ok(None)
}

fn first_found(ev: &mut Ev<'_>, terms: &[Value], kw: &CallArgs) -> R<Vec<Value>> {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = match kw.kw("skip") {
        Some(s) => s.is_true()?,
        None => false,
    };
    let split = |s: &str| -> Vec<String> {
        s.split([',', ';'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let add_opts = |d: &super::value::Dict,
                    files: &mut Vec<String>,
                    paths: &mut Vec<String>,
                    skip: &mut bool|
     -> R<()> {
        for (k, v) in d.iter() {
            match k.as_str() {
                Some("files") => match v.known()? {
                    Value::List(l) => {
                        for f in l.iter() {
                            files.extend(split(&py_str(&f)?));
                        }
                    }
                    other => files.extend(split(&py_str(other)?)),
                },
                Some("paths") => match v.known()? {
                    Value::List(l) => {
                        for f in l.iter() {
                            paths.extend(split(&py_str(&f)?));
                        }
                    }
                    other => paths.extend(split(&py_str(other)?)),
                },
                Some("skip") => *skip = v.is_true()?,
                _ => {}
            }
        }
        Ok(())
    };
    if let Some(Value::List(l)) = kw.kw("files") {
        for f in l.iter() {
            files.push(py_str(&f)?);
        }
    }
    if let Some(Value::List(l)) = kw.kw("paths") {
        for f in l.iter() {
            paths.push(py_str(&f)?);
        }
    }
    for t in flat(terms)? {
        match t.known()? {
            Value::Dict(d) => add_opts(d, &mut files, &mut paths, &mut skip)?,
            Value::Str(s) => files.push(s.to_string()),
            other => {
                return value_err(format!(
                "Invalid term supplied, can handle string, mapping or list of strings but got: {}",
                other.type_name()
            ))
            }
        }
    }
    let mut candidates = Vec::new();
    for f in &files {
        if paths.is_empty() {
            candidates.push(f.clone());
        } else {
            for p in &paths {
                candidates.push(format!("{}/{f}", p.trim_end_matches('/')));
            }
        }
    }
    for c in &candidates {
        if let Some(p) = locate(ev, c, "files")? {
            return Ok(vec![Value::from(p.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(TemplateError::new(
        ErrorKind::Lookup,
        "No file was found when using first_found.",
    )
    .into())
}

/// `sequence`: `start=1 end=5 stride=1 format=%d` or `count=`, as
/// `key=value` strings or keywords.
fn sequence(terms: &[Value], kw: &CallArgs) -> R<Vec<Value>> {
    let mut opts: Vec<(String, String)> = Vec::new();
    for (k, v) in &kw.kw {
        opts.push((k.to_string(), py_str(v)?));
    }
    for t in flat(terms)? {
        let s = py_str(&t)?;
        for part in s.split_whitespace() {
            match part.split_once('=') {
                Some((k, v)) => opts.push((k.to_string(), v.to_string())),
                None => {
                    // Shortcut form: [start-]end[/stride][:format]
                    let (range, fmt) = part.split_once(':').unwrap_or((part, ""));
                    let (range, stride) = range.split_once('/').unwrap_or((range, "1"));
                    let (start, end) = range.split_once('-').unwrap_or(("1", range));
                    opts.push(("start".into(), start.into()));
                    opts.push(("end".into(), end.into()));
                    opts.push(("stride".into(), stride.into()));
                    if !fmt.is_empty() {
                        opts.push(("format".into(), fmt.into()));
                    }
                }
            }
        }
    }
    let get = |k: &str| {
        opts.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let int = |s: String| -> R<i64> {
        super::filters::parse_py_int(&s, 0).ok_or_else(|| {
            Flow::from(TemplateError::value(format!(
                "can't parse {s} as an integer"
            )))
        })
    };
    let start = get("start").map(int).transpose()?.unwrap_or(1);
    let stride = get("stride").map(int).transpose()?.unwrap_or(1);
    let end = match (get("end"), get("count")) {
        (Some(_), Some(_)) => {
            return value_err("can't specify both count and end in with_sequence")
        }
        (Some(e), None) => int(e)?,
        (None, Some(c)) => start + int(c)? * stride - stride.signum(),
        (None, None) => return value_err("must specify count or end in with_sequence"),
    };
    if stride == 0 {
        return Ok(Vec::new());
    }
    let fmt = get("format").unwrap_or_else(|| "%d".into());
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(super::methods::printf(&fmt, &Value::Int(i), false)?);
        if out.len() > super::eval::MAX_ITEMS {
            return Err(TemplateError::new(ErrorKind::Limit, "sequence too long").into());
        }
        i += stride;
    }
    Ok(out)
}

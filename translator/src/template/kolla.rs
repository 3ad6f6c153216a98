//! Kolla-ansible's service filters (`kolla_ansible/filters.py`, installed
//! by its playbook directory's `filter_plugins/services.py`), which decide
//! nearly every condition of its roles (`service |
//! service_enabled_and_mapped_to_host`), and its address filters that need
//! no facts (`put_address_in_context`, `kolla_url`; `kolla_address` reads
//! network facts: unknown). Available only with
//! [`super::Options::kolla_filters`], set when the playbook's own
//! `filter_plugins/` load them: elsewhere these names are not filters.

use super::error::{type_err, value_err, Flow, R};
use super::eval::{dict_items, CallArgs, Ev};
use super::filters::{bool_of, FilterDef};
use super::scope::Lookup;
use super::value::{py_eq, py_str, Dict, Value};

pub(crate) fn find(name: &str) -> Option<FilterDef> {
    let f: super::filters::FilterFn = match name {
        "service_enabled" => |ev, v, _| Ok(Value::Bool(enabled(ev, &v)?)),
        "service_mapped_to_host" => |ev, v, _| Ok(Value::Bool(mapped(ev, &v)?)),
        "service_enabled_and_mapped_to_host" => |ev, v, _| Ok(Value::Bool(both(ev, &v)?)),
        "select_services_enabled_and_mapped_to_host" => select,
        "put_address_in_context" => |_, v, a| {
            let b = a.bind("put_address_in_context", &["context"], false)?;
            let context = match b.first().cloned().flatten() {
                Some(c) => py_str(&c)?,
                None => return type_err("put_address_in_context() missing argument: 'context'"),
            };
            Ok(Value::from(in_context(&py_str(&v)?, &context)?))
        },
        "kolla_url" => url,
        _ => return None,
    };
    Some(FilterDef {
        f,
        markers: false,
        unknown_input: false,
    })
}

/// `service.get(key)`, `None` when absent or null.
fn get(service: &Value, key: &str) -> R<Option<Value>> {
    match service.known()? {
        Value::Dict(d) => match d.get_str(key) {
            Some(Value::None) | None => Ok(None),
            Some(v) => Ok(Some(v)),
        },
        other => value_err(format!(
            "a service definition is a dict, not {}",
            other.type_name()
        )),
    }
}

fn name_of(service: &Value) -> String {
    get(service, "container_name")
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "<unknown>".into())
}

/// `service_enabled`: its `enabled` through the `bool` filter.
fn enabled(_: &mut Ev<'_>, service: &Value) -> R<bool> {
    match get(service, "enabled")? {
        Some(e) => bool_of(&e),
        None => value_err(format!(
            "Service definition for '{}' does not have an 'enabled' attribute",
            name_of(service)
        )),
    }
}

/// `service_mapped_to_host`: `host_in_groups` through `bool`, else its
/// `group` among the host's `group_names` (or `all`).
fn mapped(ev: &mut Ev<'_>, service: &Value) -> R<bool> {
    if let Some(h) = get(service, "host_in_groups")? {
        return bool_of(&h);
    }
    let Some(group) = get(service, "group")? else {
        return value_err(format!(
            "Service definition for '{}' does not have a 'group' or 'host_in_groups' attribute",
            name_of(service)
        ));
    };
    let group = group.known()?.clone();
    if group.as_str() == Some("all") {
        return Ok(true);
    }
    let names = match ev.scope().lookup("group_names") {
        Lookup::Known(v) => v,
        Lookup::Unknown => return Err(Flow::Unknown(super::error::Deps::one("group_names"))),
        Lookup::Undefined => return value_err("'group_names' is undefined"),
    };
    let Value::List(l) = names.known()? else {
        return value_err("group_names is not a list");
    };
    for n in l.iter() {
        if py_eq(n.known()?, &group)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn both(ev: &mut Ev<'_>, service: &Value) -> R<bool> {
    Ok(enabled(ev, service)? && mapped(ev, service)?)
}

/// `select_services_enabled_and_mapped_to_host`: the dict's entries whose
/// service is.
fn select(ev: &mut Ev<'_>, services: Value, _: &CallArgs) -> R<Value> {
    let mut out = Dict::new();
    for (k, v) in dict_items(&services)? {
        if both(ev, &v)? {
            out = out.with(k, v);
        }
    }
    Ok(Value::Dict(out))
}

/// `put_address_in_context`: an IPv6 address in brackets for a URL
/// (`inet6:[...]` for memcache); RabbitMQ's Erlang form for IPv4.
fn in_context(address: &str, context: &str) -> R<String> {
    if !matches!(context, "url" | "memcache" | "rabbitmq") {
        return value_err(format!("Unknown context '{context}'"));
    }
    if !address.contains(':') && context != "rabbitmq" {
        return Ok(address.to_string());
    }
    Ok(match context {
        "url" => format!("[{address}]"),
        "memcache" => format!("inet6:[{address}]"),
        _ if !address.contains(':') => address.replace('.', ","),
        _ => match address.parse::<std::net::Ipv6Addr>() {
            Ok(ip) => ip
                .segments()
                .iter()
                .map(|s| format!("16#{s:x}"))
                .collect::<Vec<_>>()
                .join(","),
            Err(_) => {
                return value_err(format!(
                    "'{address}' does not appear to be an IPv4 or IPv6 address"
                ))
            }
        },
    })
}

/// `kolla_url(fqdn, protocol, port, path='', context='url')`.
fn url(_: &mut Ev<'_>, fqdn: Value, a: &CallArgs) -> R<Value> {
    let b = a.bind("kolla_url", &["protocol", "port", "path", "context"], false)?;
    let arg = |i: usize| b.get(i).cloned().flatten();
    let (Some(protocol), Some(port)) = (arg(0), arg(1)) else {
        return type_err("kolla_url() missing arguments: 'protocol' and 'port'");
    };
    let protocol = py_str(&protocol)?;
    let port = match port.known()? {
        Value::Int(i) => *i,
        other => match py_str(other)?.trim().parse::<i64>() {
            Ok(i) => i,
            Err(_) => return value_err(format!("invalid literal for int(): '{}'", py_str(other)?)),
        },
    };
    let path = match arg(2) {
        Some(p) => py_str(&p)?,
        None => String::new(),
    };
    let context = match arg(3) {
        Some(c) => py_str(&c)?,
        None => "url".into(),
    };
    let host = in_context(&py_str(&fqdn)?, &context)?;
    let default = matches!(
        (protocol.as_str(), port),
        ("http" | "ws", 80) | ("https" | "wss", 443)
    );
    Ok(Value::from(if default {
        format!("{protocol}://{host}{path}")
    } else {
        format!("{protocol}://{host}:{port}{path}")
    }))
}

//! Commands, `dest` paths and `template` files are templates:
//! `{{ ports.server_ip }}` reads a data-use port's value, `{{ component }}`
//! and `{{ transition }}` name the running one, `{{ host.name }}`,
//! `{{ host.address }}` and `{{ host.vars.X }}` describe the host it runs
//! on, and `{{ groups.web }}` / `{{ hostvars.h1.address }}` the inventory.
//! Undefined names are errors, so a typo fails the transition instead of
//! running a command with a hole in it.

use minijinja::{context, Environment, UndefinedBehavior, Value};
use std::collections::BTreeMap;

/// What a template sees.
pub struct Scope<'a> {
    pub component: &'a str,
    pub transition: &'a str,
    pub ports: &'a [(String, String)],
    /// `{name, address, vars}` of the host.
    pub host: Value,
    /// `{groups, hostvars}`.
    pub inventory: Value,
}

/// Render `text` if it contains a template tag; `Err` explains why not.
/// `what` names the text in the error ("the command").
pub fn render(text: &str, what: &str, scope: &Scope<'_>) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A template file's last newline is part of the file.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    let ports: BTreeMap<String, String> = scope.ports.iter().cloned().collect();
    let ctx = context! {
        ports => ports.clone(),
        component => scope.component,
        transition => scope.transition,
        host => scope.host.clone(),
        groups => scope.inventory.get_attr("groups").unwrap_or_default(),
        hostvars => scope.inventory.get_attr("hostvars").unwrap_or_default(),
    };
    env.render_str(text, ctx).map_err(|e| {
        let mut msg = format!("cannot render {what}: {e}");
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            let known: Vec<_> = ports.keys().map(|k| format!("ports.{k}")).collect();
            msg.push_str(&format!(
                " (defined: component, transition, host, groups, hostvars{}{})",
                if known.is_empty() { "" } else { ", " },
                known.join(", ")
            ));
        }
        msg
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(
        text: &str,
        component: &str,
        transition: &str,
        ports: &[(String, String)],
    ) -> Result<String, String> {
        let scope = Scope {
            component,
            transition,
            ports,
            host: crate::placement::json_value(
                serde_json::json!({"name": "h1", "address": "127.0.0.11", "vars": {"role": "primary"}}),
            ),
            inventory: crate::placement::json_value(
                serde_json::json!({"groups": {"db": ["h1", "h2"]}, "hostvars": {"h2": {"address": "127.0.0.12"}}}),
            ),
        };
        super::render(text, "the command template", &scope)
    }

    #[test]
    fn hosts_and_inventory_render() {
        assert_eq!(
            render("{{ host.name }}@{{ host.address }} {{ host.vars.role }} {{ groups.db | join(',') }} {{ hostvars.h2.address }}\n", "c", "t", &[]).unwrap(),
            "h1@127.0.0.11 primary h1,h2 127.0.0.12\n"
        );
    }

    #[test]
    fn plain_commands_are_untouched() {
        assert_eq!(
            render("echo $HOME {x}", "c", "t", &[]).unwrap(),
            "echo $HOME {x}"
        );
    }

    #[test]
    fn ports_and_names_render() {
        let ports = vec![("server_ip".to_string(), "127.0.0.11".to_string())];
        assert_eq!(
            render(
                "connect {{ ports.server_ip }} as {{ component }}/{{ transition }}",
                "c",
                "configure",
                &ports
            )
            .unwrap(),
            "connect 127.0.0.11 as c/configure"
        );
    }

    #[test]
    fn an_undefined_port_is_an_error_naming_what_exists() {
        let ports = vec![("server_ip".to_string(), "x".to_string())];
        let e = render("echo {{ ports.server_pi }}", "c", "t", &ports).unwrap_err();
        assert!(e.contains("ports.server_ip"), "{e}");
        assert!(render("echo {{ oops(", "c", "t", &ports)
            .unwrap_err()
            .contains("cannot render"));
    }
}

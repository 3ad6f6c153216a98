//! Commands are templates: `{{ ports.server_ip }}` reads a data-use port's
//! value, `{{ component }}` and `{{ transition }}` name the running one.
//! Undefined names are errors, so a typo fails the transition instead of
//! running a command with a hole in it.

use minijinja::{context, Environment, UndefinedBehavior};
use std::collections::BTreeMap;

/// Render `command` if it contains a template tag; `Err` explains why not.
pub fn render(
    command: &str,
    component: &str,
    transition: &str,
    ports: &[(String, String)],
) -> Result<String, String> {
    if !command.contains("{{") && !command.contains("{%") {
        return Ok(command.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let ports: BTreeMap<String, String> = ports.iter().cloned().collect();
    let ctx = context! { ports => ports.clone(), component, transition };
    env.render_str(command, ctx).map_err(|e| {
        let mut msg = format!("cannot render the command template: {e}");
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            let known: Vec<_> = ports.keys().map(|k| format!("ports.{k}")).collect();
            msg.push_str(&format!(
                " (defined: component, transition{}{})",
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

//! Unit tests of the templating, each expected value printed by the
//! oracle: ansible-core 2.19's own `Templar`, through `oracle.py` (next to
//! this file), as
//!
//! ```text
//! .venv/bin/python translator/src/template/oracle.py [-c] -v 'VARS' 'TEMPLATE'
//! ```
//!
//! which prints `<type> <repr>` (what [`show`] prints for our result) or
//! `ERROR <class>: <message>`. Each test quotes the command that gave its
//! expectations (`VARS` and `TEMPLATE` as in the test, shell-quoted).
//!
//! `oracle_batch` (ignored) compares a whole file of cases with the
//! oracle's answers: `CONCERTO_TEMPLATE_CASES=cases.jsonl
//! CONCERTO_TEMPLATE_OUT=ours.jsonl cargo test -p concerto-translator
//! --lib oracle_batch -- --ignored`, then `oracle.py --batch cases.jsonl`.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::value::{py_repr_str, Value};
use super::*;

/// Variables from a YAML mapping, as a vars file gives them.
fn vars(t: &Templar, yaml: &str) -> LazyVars {
    let doc = crate::yaml::parse("vars.yml", yaml).expect("test vars parse");
    LazyVars::builder(t).mapping(&doc.root).build()
}

/// Our result in the oracle's format.
fn show(r: Result<Outcome, TemplateError>) -> String {
    match r {
        Ok(Outcome::Known(v)) => format!("{} {}", v.type_name(), repr(&v)),
        Ok(Outcome::Unknown { depends_on, .. }) => {
            format!(
                "UNKNOWN {}",
                depends_on.into_iter().collect::<Vec<_>>().join(",")
            )
        }
        Err(e) => format!("ERROR {}", e.message),
    }
}

fn repr(v: &Value) -> String {
    match v {
        Value::Str(s) => py_repr_str(s),
        v => v.repr(),
    }
}

fn show_tri(r: Result<Tri, TemplateError>) -> String {
    match r {
        Ok(Tri::True) => "bool True".into(),
        Ok(Tri::False) => "bool False".into(),
        Ok(Tri::Unknown(d)) => format!("UNKNOWN {}", d.into_iter().collect::<Vec<_>>().join(",")),
        Err(e) => format!("ERROR {}", e.message),
    }
}

/// Template each of `templates` with `yaml` variables.
fn run(yaml: &str, templates: &[&str]) -> Vec<String> {
    let t = Templar::new();
    let v = vars(&t, yaml);
    templates.iter().map(|s| show(t.template(s, &v))).collect()
}

fn run_cond(yaml: &str, conds: &[&str]) -> Vec<String> {
    let t = Templar::new();
    let v = vars(&t, yaml);
    conds.iter().map(|s| show_tri(t.condition(s, &v))).collect()
}

/// Compare with the oracle's lines; an oracle error matches any error
/// of ours whose message is the oracle's (after its class name).
fn check(ours: &[String], oracle: &[&str]) {
    assert_eq!(ours.len(), oracle.len());
    for (o, e) in ours.iter().zip(oracle) {
        if let Some(msg) = e.strip_prefix("ERROR ") {
            let msg = oracle_message(msg);
            let msg = msg.as_str();
            assert!(
                o.starts_with("ERROR ") && (msg.is_empty() || o.contains(msg)),
                "expected an error like {e:?}, got {o:?}"
            );
        } else {
            assert_eq!(o, e);
        }
    }
}

/// The oracle's message without what Ansible wraps it in: the exception
/// class, "Error rendering template: ", "The filter plugin '...' failed: ",
/// the origin of a broken conditional's value.
fn oracle_message(line: &str) -> String {
    let mut m = line.split_once(": ").map_or(line, |(_, m)| m).to_string();
    for prefix in [
        "Error rendering template: ",
        "Syntax error in template: ",
        "Error while evaluating conditional: ",
        "Error rendering template",
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest.to_string();
        }
    }
    if m.starts_with("The filter plugin '") || m.starts_with("The test plugin '") {
        if let Some((_, rest)) = m.split_once("' failed: ") {
            m = rest.to_string();
        }
    }
    if let (Some(at), Some(end)) = (m.find(" at '"), m.find("'. ")) {
        if at < end {
            m = format!("{}{}", &m[..at], &m[end + 1..]);
        }
    }
    m
}

/// The variables most tests use (`"$V"` in the oracle commands).
const V: &str = r#"
a: 1
b: "{{ a + 1 }}"
s: "hello world"
n: null
t: true
f: false
fl: 1.5
l: [3, 1, 2]
ls: ["b", "A", "a", "c"]
d: {x: 1, y: "two", z: [1, 2]}
dd: {k1: {enabled: true, port: 80}, k2: {enabled: false, port: 81}, k3: {enabled: "yes", port: 82}}
items: [{name: a, v: 1, on: true}, {name: b, v: 2, on: false}, {name: c, v: 3}]
nested: [[1, [2, 3]], [4], null, "x"]
yes_str: "yes"
no_str: "no"
num_str: "42"
float_str: "3.7"
csv: "a,b,,c"
path: "/etc/kolla/keystone/keystone.conf"
ver: "2.19.4"
ip: "10.0.0.5"
cidr: "10.0.0.5/24"
ip6: "fe80::1"
self_ref: {a: 1, b: "{{ self_ref.a + 1 }}"}
chain1: "{{ chain2 }}"
chain2: "{{ chain3 | default('end') }}"
cyc1: "{{ cyc2 }}"
cyc2: "{{ cyc1 }}"
uns: !unsafe "{{ a }}"
empty: ""
zero: 0
lst_empty: []
cond_expr: "a == 1"
"#;

/// A string without `{{`, `{%` or `{#` is not templated.
// oracle.py -v "$V" 'plain text' 'a {b} c' 50% ''
#[test]
fn not_a_template_is_returned_as_is() {
    check(
        &run(V, &["plain text", "a {b} c", "50%", ""]),
        &["str 'plain text'", "str 'a {b} c'", "str '50%'", "str ''"],
    );
}
/// `{{ expr }}` alone gives the native value.
// oracle.py -v "$V" '{{ a }}' '{{ l }}' '{{ d }}' '{{ t }}' '{{ fl }}' '{{ n }}' '{{ (1, 2) }}'
#[test]
fn single_expression_is_native() {
    check(
        &run(
            V,
            &[
                "{{ a }}",
                "{{ l }}",
                "{{ d }}",
                "{{ t }}",
                "{{ fl }}",
                "{{ n }}",
                "{{ (1, 2) }}",
            ],
        ),
        &[
            "int 1",
            "list [3, 1, 2]",
            "dict {'x': 1, 'y': 'two', 'z': [1, 2]}",
            "bool True",
            "float 1.5",
            "NoneType None",
            "list [1, 2]",
        ],
    );
}
/// Several nodes are joined as Python's `str()` of each.
// oracle.py -v "$V" 'x{{ a }}y' '{{ a }}{{ a }}' '{{ t }} {{ l }} {{ d }} {{ fl }}' 'x{{ [s, '"'"'it\'"'"'s'"'"'] }}' 'x{{ (1, 2) }}'
#[test]
fn several_nodes_are_a_string() {
    check(
        &run(
            V,
            &[
                "x{{ a }}y",
                "{{ a }}{{ a }}",
                "{{ t }} {{ l }} {{ d }} {{ fl }}",
                r#"x{{ [s, 'it\'s'] }}"#,
                "x{{ (1, 2) }}",
            ],
        ),
        &[
            "str 'x1y'",
            "str '11'",
            r#"str "True [3, 1, 2] {'x': 1, 'y': 'two', 'z': [1, 2]} 1.5""#,
            r#"str 'x[\'hello world\', "it\\\\\'s"]'"#,
            "str 'x[1, 2]'",
        ],
    );
}
/// `None` nodes are left out, so one node may remain (native).
// oracle.py -v "$V" 'a{{ n }}b' '{{ n }}{{ a }}' '{{ n }}'
#[test]
fn none_nodes_are_skipped() {
    check(
        &run(V, &["a{{ n }}b", "{{ n }}{{ a }}", "{{ n }}"]),
        &["str 'ab'", "int 1", "NoneType None"],
    );
}
/// Jinja2 drops one final newline; Ansible adds back what a string result lost.
// oracle.py -v "$V" json:'"{{ a }}\n"' json:'"x{{ a }}\n"' json:'"x{{ a }}\n\n"' json:'"{% if t %}\nx\n{% endif %}\n"' json:'"plain\n"'
#[test]
fn trailing_newline() {
    check(
        &run(
            V,
            &[
                "{{ a }}\n",
                "x{{ a }}\n",
                "x{{ a }}\n\n",
                "{% if t %}\nx\n{% endif %}\n",
                "plain\n",
            ],
        ),
        &[
            "int 1",
            r#"str 'x1\n'"#,
            r#"str 'x1\n\n'"#,
            r#"str 'x\n'"#,
            r#"str 'plain\n'"#,
        ],
    );
}
/// A variable's value is a template, rendered when read, through chains.
// oracle.py -v "$V" '{{ b }}' '{{ b + 1 }}' '{{ chain1 }}' '{{ lookup('"'"'vars'"'"', '"'"'b'"'"') }}'
#[test]
fn variables_are_templated_recursively() {
    check(
        &run(
            V,
            &[
                "{{ b }}",
                "{{ b + 1 }}",
                "{{ chain1 }}",
                "{{ lookup('vars', 'b') }}",
            ],
        ),
        &["int 2", "int 3", "str 'end'", "int 2"],
    );
}
/// `!unsafe` values stay as written, even inside other values.
// oracle.py -v "$V" '{{ uns }}' '{{ [uns] }}' '{{ uns ~ '"'"'x'"'"' }}'
#[test]
fn unsafe_values_are_not_templated() {
    check(
        &run(V, &["{{ uns }}", "{{ [uns] }}", "{{ uns ~ 'x' }}"]),
        &["str '{{ a }}'", "list ['{{ a }}']", "str '{{ a }}x'"],
    );
}
/// Inside `{{ }}`, a string literal's backslashes are kept (Ansible's escape_backslashes).
// oracle.py -v "$V" '{{ '"'"'a\tb'"'"' }}' '{{ '"'"'\d+'"'"' }}' '{{ "a\"b" }}' '{{ '"'"'C:\users'"'"' }}'
#[test]
fn backslashes_in_expressions_are_literal() {
    check(
        &run(
            V,
            &[
                r#"{{ 'a\tb' }}"#,
                r#"{{ '\d+' }}"#,
                r#"{{ "a\"b" }}"#,
                r#"{{ 'C:\users' }}"#,
            ],
        ),
        &[
            r#"str 'a\\tb'"#,
            r#"str '\\d+'"#,
            r#"str 'a\\"b'"#,
            r#"str 'C:\\users'"#,
        ],
    );
}
/// In `{% %}`, string literals have Python's escapes.
// oracle.py -v "$V" '{% set x = '"'"'a\tb'"'"' %}{{ x }}' '{% set x = '"'"'a\\b'"'"' %}{{ x }}'
#[test]
fn statements_use_python_escapes() {
    check(
        &run(
            V,
            &[
                r#"{% set x = 'a\tb' %}{{ x }}"#,
                r#"{% set x = 'a\\b' %}{{ x }}"#,
            ],
        ),
        &[r#"str 'a\tb'"#, r#"str 'a\\b'"#],
    );
}
/// Comments render as nothing, raw blocks as written.
// oracle.py -v "$V" '{# c #}{{ a }}' '{% raw %}{{ a }}{% endraw %}'
#[test]
fn comments_and_raw_blocks() {
    check(
        &run(V, &["{# c #}{{ a }}", "{% raw %}{{ a }}{% endraw %}"]),
        &["int 1", "str '{{ a }}'"],
    );
}
/// Using an undefined variable is an error.
// oracle.py -v "$V" '{{ undefined_v }}' '{{ [undefined_v] }}' 'x{{ undefined_v }}'
#[test]
fn undefined_variable_is_an_error() {
    check(
        &run(
            V,
            &[
                "{{ undefined_v }}",
                "{{ [undefined_v] }}",
                "x{{ undefined_v }}",
            ],
        ),
        &[
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
        ],
    );
}
/// Attributes of an undefined value are undefined, until used.
// oracle.py -v "$V" '{{ undefined_v.x.y | default(5) }}' '{{ undefined_v.x is defined }}' '{{ undefined_v.x.y }}' '{{ undefined_v is undefined }}'
#[test]
fn undefined_chains_until_used() {
    check(
        &run(
            V,
            &[
                "{{ undefined_v.x.y | default(5) }}",
                "{{ undefined_v.x is defined }}",
                "{{ undefined_v.x.y }}",
                "{{ undefined_v is undefined }}",
            ],
        ),
        &[
            "int 5",
            "bool False",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "bool True",
        ],
    );
}
/// A missing key or index is undefined (an error when used).
// oracle.py -v "$V" '{{ d.nope }}' '{{ d.nope | default('"'"'dflt'"'"') }}' '{{ d['"'"'nope'"'"'] }}' '{{ l[5] }}' '{{ l[5] | default('"'"'oob'"'"') }}' '{{ a.x }}' '{{ s.x }}' '{{ d.nope is defined }}'
#[test]
fn missing_attributes_are_undefined() {
    check(
        &run(
            V,
            &[
                "{{ d.nope }}",
                "{{ d.nope | default('dflt') }}",
                "{{ d['nope'] }}",
                "{{ l[5] }}",
                "{{ l[5] | default('oob') }}",
                "{{ a.x }}",
                "{{ s.x }}",
                "{{ d.nope is defined }}",
            ],
        ),
        &[
            "ERROR AnsibleUndefinedVariable: object of type 'dict' has no attribute 'nope'",
            "str 'dflt'",
            "ERROR AnsibleUndefinedVariable: object of type 'dict' has no attribute 'nope'",
            "ERROR AnsibleUndefinedVariable: object of type 'list' has no attribute 5",
            "str 'oob'",
            "ERROR AnsibleUndefinedVariable: object of type 'int' has no attribute 'x'",
            "ERROR AnsibleUndefinedVariable: object of type 'str' has no attribute 'x'",
            "bool False",
        ],
    );
}
/// Filters and tests given an undefined value return it (2.19's markers).
// oracle.py -v "$V" '{{ (undefined_v | int) | default(5) }}' '{{ [undefined_v] | first | default(8) }}' '{{ (undefined_v is string) | default(7) }}' '{{ [1, undefined_v] | length }}' '{{ undefined_v.split('"'"','"'"') | default(1) }}' '{{ undefined_v | int }}'
#[test]
fn undefined_passes_through_filters() {
    check(
        &run(
            V,
            &[
                "{{ (undefined_v | int) | default(5) }}",
                "{{ [undefined_v] | first | default(8) }}",
                "{{ (undefined_v is string) | default(7) }}",
                "{{ [1, undefined_v] | length }}",
                "{{ undefined_v.split(',') | default(1) }}",
                "{{ undefined_v | int }}",
            ],
        ),
        &[
            "int 5",
            "int 8",
            "int 7",
            "int 2",
            "int 1",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
        ],
    );
}
/// Operators fail on an undefined value, even under `default`.
// oracle.py -v "$V" '{{ undefined_v + 1 }}' '{{ (undefined_v == 1) | default(5) }}' '{{ (undefined_v ~ '"'"'a'"'"') | default(3) }}' '{{ '"'"'x'"'"' if undefined_v else 2 }}' '{{ undefined_v if false else 2 }}'
#[test]
fn operators_on_undefined_fail() {
    check(
        &run(
            V,
            &[
                "{{ undefined_v + 1 }}",
                "{{ (undefined_v == 1) | default(5) }}",
                "{{ (undefined_v ~ 'a') | default(3) }}",
                "{{ 'x' if undefined_v else 2 }}",
                "{{ undefined_v if false else 2 }}",
            ],
        ),
        &[
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "int 2",
        ],
    );
}
/// Lazy items: a dict's value may use another key of the same dict.
// oracle.py -v "$V" '{{ self_ref.b }}' '{{ self_ref }}'
#[test]
fn dict_values_may_refer_to_the_dict() {
    check(
        &run(V, &["{{ self_ref.b }}", "{{ self_ref }}"]),
        &["int 2", "dict {'a': 1, 'b': 2}"],
    );
}
/// Python's arithmetic: true division, floor division and modulo, powers.
// oracle.py -v "$V" '{{ 7 // 2 }}' '{{ -7 // 2 }}' '{{ -7 % 3 }}' '{{ 7 / 2 }}' '{{ 4 / 2 }}' '{{ 2 ** 10 }}' '{{ 2 ** -1 }}' '{{ 1 + 1.5 }}' '{{ true + 1 }}' '{{ 0.1 + 0.2 }}' '{{ 3.0 }}' '{{ 1e20 }}' '{{ '"'"'ab'"'"' * 3 }}' '{{ [1, 2] + [3] }}' '{{ -fl }}'
#[test]
fn arithmetic_follows_python() {
    check(
        &run(
            V,
            &[
                "{{ 7 // 2 }}",
                "{{ -7 // 2 }}",
                "{{ -7 % 3 }}",
                "{{ 7 / 2 }}",
                "{{ 4 / 2 }}",
                "{{ 2 ** 10 }}",
                "{{ 2 ** -1 }}",
                "{{ 1 + 1.5 }}",
                "{{ true + 1 }}",
                "{{ 0.1 + 0.2 }}",
                "{{ 3.0 }}",
                "{{ 1e20 }}",
                "{{ 'ab' * 3 }}",
                "{{ [1, 2] + [3] }}",
                "{{ -fl }}",
            ],
        ),
        &[
            "int 3",
            "int -4",
            "int 2",
            "float 3.5",
            "float 2.0",
            "int 1024",
            "float 0.5",
            "float 2.5",
            "int 2",
            "float 0.30000000000000004",
            "float 3.0",
            "float 1e+20",
            "str 'ababab'",
            "list [1, 2, 3]",
            "float -1.5",
        ],
    );
}
/// Operations on the wrong types fail with Python's messages.
// oracle.py -v "$V" '{{ 1 + '"'"'a'"'"' }}' '{{ '"'"'a'"'"' + 1 }}' '{{ 1 < '"'"'a'"'"' }}' '{{ [1] + 1 }}' '{{ 1 / 0 }}' '{{ '"'"'a'"'"' * '"'"'b'"'"' }}' '{{ 7 // 0 }}'
#[test]
fn type_errors() {
    check(
        &run(
            V,
            &[
                "{{ 1 + 'a' }}",
                "{{ 'a' + 1 }}",
                "{{ 1 < 'a' }}",
                "{{ [1] + 1 }}",
                "{{ 1 / 0 }}",
                "{{ 'a' * 'b' }}",
                "{{ 7 // 0 }}",
            ],
        ),
        &[
            "ERROR AnsibleTemplateError: Error rendering template: unsupported operand type(s) for +: 'int' and 'str'",
            r#"ERROR AnsibleTemplateError: Error rendering template: can only concatenate str (not "int") to str"#,
            "ERROR AnsibleTemplateError: Error rendering template: '<' not supported between instances of 'int' and 'str'",
            r#"ERROR AnsibleTemplateError: Error rendering template: can only concatenate list (not "int") to list"#,
            "ERROR AnsibleTemplateError: Error rendering template: division by zero",
            "ERROR AnsibleTemplateError: Error rendering template: can't multiply sequence by non-int of type 'str'",
            "ERROR AnsibleTemplateError: Error rendering template: integer division or modulo by zero",
        ],
    );
}
/// Comparisons (chained), `in` on strings, lists and dicts.
// oracle.py -v "$V" '{{ 1 == 1.0 }}' '{{ true == 1 }}' '{{ [1, 2] < [1, 3] }}' '{{ '"'"'a'"'"' in '"'"'cat'"'"' }}' '{{ 1 in l }}' '{{ '"'"'x'"'"' in d }}' '{{ '"'"'x'"'"' not in d }}' '{{ 1 < 2 < 3 }}' '{{ 3 > 2 > 2 }}' '{{ d == {'"'"'x'"'"': 1, '"'"'y'"'"': '"'"'two'"'"', '"'"'z'"'"': [1, 2]} }}'
#[test]
fn comparisons_and_membership() {
    check(
        &run(
            V,
            &[
                "{{ 1 == 1.0 }}",
                "{{ true == 1 }}",
                "{{ [1, 2] < [1, 3] }}",
                "{{ 'a' in 'cat' }}",
                "{{ 1 in l }}",
                "{{ 'x' in d }}",
                "{{ 'x' not in d }}",
                "{{ 1 < 2 < 3 }}",
                "{{ 3 > 2 > 2 }}",
                "{{ d == {'x': 1, 'y': 'two', 'z': [1, 2]} }}",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
            "bool True",
        ],
    );
}
/// `and`/`or` return an operand, `not` a boolean.
// oracle.py -v "$V" '{{ t and '"'"'x'"'"' }}' '{{ f or '"'"'y'"'"' }}' '{{ n or [] }}' '{{ 0 and undefined_v }}' '{{ not t }}' '{{ not '"'"''"'"' }}'
#[test]
fn boolean_operators_return_operands() {
    check(
        &run(
            V,
            &[
                "{{ t and 'x' }}",
                "{{ f or 'y' }}",
                "{{ n or [] }}",
                "{{ 0 and undefined_v }}",
                "{{ not t }}",
                "{{ not '' }}",
            ],
        ),
        &[
            "str 'x'",
            "str 'y'",
            "list []",
            "int 0",
            "bool False",
            "bool True",
        ],
    );
}
/// `%` formatting, `~` concatenation.
// oracle.py -v "$V" '{{ '"'"'%s-%d'"'"' % ('"'"'a'"'"', 3) }}' '{{ '"'"'%05.1f'"'"' % 3.14159 }}' '{{ '"'"'%(k)s'"'"' % {'"'"'k'"'"': 1} }}' '{{ '"'"'%x'"'"' % 255 }}' '{{ '"'"'%s'"'"' % [1, 2] }}' '{{ '"'"'a'"'"' ~ 1 ~ none ~ true }}' '{{ '"'"'%-4s|'"'"' % '"'"'ab'"'"' }}'
#[test]
fn string_formatting() {
    check(
        &run(
            V,
            &[
                "{{ '%s-%d' % ('a', 3) }}",
                "{{ '%05.1f' % 3.14159 }}",
                "{{ '%(k)s' % {'k': 1} }}",
                "{{ '%x' % 255 }}",
                "{{ '%s' % [1, 2] }}",
                "{{ 'a' ~ 1 ~ none ~ true }}",
                "{{ '%-4s|' % 'ab' }}",
            ],
        ),
        &[
            "str 'a-3'",
            "str '003.1'",
            "str '1'",
            "str 'ff'",
            "str '[1, 2]'",
            "str 'a1NoneTrue'",
            "str 'ab  |'",
        ],
    );
}
/// Python slices and negative indexes.
// oracle.py -v "$V" '{{ s[1:4] }}' '{{ l[::-1] }}' '{{ l[-1] }}' '{{ s[-3:] }}' '{{ d.z.0 }}' '{{ d.z[1] }}' '{{ s[0] }}'
#[test]
fn slicing_and_indexing() {
    check(
        &run(
            V,
            &[
                "{{ s[1:4] }}",
                "{{ l[::-1] }}",
                "{{ l[-1] }}",
                "{{ s[-3:] }}",
                "{{ d.z.0 }}",
                "{{ d.z[1] }}",
                "{{ s[0] }}",
            ],
        ),
        &[
            "str 'ell'",
            "list [2, 1, 3]",
            "int 2",
            "str 'rld'",
            "int 1",
            "int 2",
            "str 'h'",
        ],
    );
}
/// List, tuple and dict literals (tuples become lists).
// oracle.py -v "$V" '{{ {'"'"'a'"'"': 1, '"'"'b'"'"': [1, 2]} }}' '{{ (1, 2) }}' '{{ {1: '"'"'x'"'"', 2.0: '"'"'y'"'"'} }}' '{{ [] }}' '{{ {} }}' '{{ '"'"'x'"'"' '"'"'y'"'"' }}' '{{ True }}'
#[test]
fn literals() {
    check(
        &run(
            V,
            &[
                "{{ {'a': 1, 'b': [1, 2]} }}",
                "{{ (1, 2) }}",
                "{{ {1: 'x', 2.0: 'y'} }}",
                "{{ [] }}",
                "{{ {} }}",
                "{{ 'x' 'y' }}",
                "{{ True }}",
            ],
        ),
        &[
            "dict {'a': 1, 'b': [1, 2]}",
            "list [1, 2]",
            "dict {1: 'x', 2.0: 'y'}",
            "list []",
            "dict {}",
            "str 'xy'",
            "bool True",
        ],
    );
}
/// `for` with `loop`, a filter, `else`, unpacking; one node stays native.
// oracle.py -v "$V" '{% for x in l %}{{ x }},{% endfor %}' '{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}' '{% for x in l if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}' '{% for x in [] %}a{% else %}empty{% endfor %}' '{% for x in [[1]] %}{{ x }}{% endfor %}' '{% for x in l %}{{ loop.first }}{{ loop.last }} {% endfor %}' '{% for c in '"'"'ab'"'"' %}{{ c }}.{% endfor %}'
#[test]
fn for_loops() {
    check(
        &run(
            V,
            &[
                "{% for x in l %}{{ x }},{% endfor %}",
                "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
                "{% for x in l if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}",
                "{% for x in [] %}a{% else %}empty{% endfor %}",
                "{% for x in [[1]] %}{{ x }}{% endfor %}",
                "{% for x in l %}{{ loop.first }}{{ loop.last }} {% endfor %}",
                "{% for c in 'ab' %}{{ c }}.{% endfor %}",
            ],
        ),
        &[
            "str '3,1,2,'",
            "str 'x=1;y=two;z=[1, 2];'",
            "str '1/2:3 2/2:2 '",
            "str 'empty'",
            "list [1]",
            "str 'TrueFalse FalseFalse FalseTrue '",
            "str 'a.b.'",
        ],
    );
}
/// `if`/`elif`/`else`.
// oracle.py -v "$V" '{% if a == 1 %}one{% elif a == 2 %}two{% else %}other{% endif %}' '{% if f %}x{% endif %}' '{% if t %}{{ [1] }}{% endif %}'
#[test]
fn if_statements() {
    check(
        &run(
            V,
            &[
                "{% if a == 1 %}one{% elif a == 2 %}two{% else %}other{% endif %}",
                "{% if f %}x{% endif %}",
                "{% if t %}{{ [1] }}{% endif %}",
            ],
        ),
        &["str 'one'", "NoneType None", "list [1]"],
    );
}
/// `set`, tuple unpacking, `with`, and `namespace()` across a loop.
// oracle.py -v "$V" '{% set y = 5 %}{{ y }}' '{% set p, q = [1, 2] %}{{ q }}' '{% with z = 3 %}{{ z }}{% endwith %}' '{% set ns = namespace(c=0) %}{% for x in l %}{% set ns.c = ns.c + x %}{% endfor %}{{ ns.c }}' '{% set c = 0 %}{% for x in l %}{% set c = c + x %}{% endfor %}{{ c }}'
#[test]
fn set_with_namespace() {
    check(
        &run(
            V,
            &[
                "{% set y = 5 %}{{ y }}",
                "{% set p, q = [1, 2] %}{{ q }}",
                "{% with z = 3 %}{{ z }}{% endwith %}",
                "{% set ns = namespace(c=0) %}{% for x in l %}{% set ns.c = ns.c + x %}{% endfor %}{{ ns.c }}",
                "{% set c = 0 %}{% for x in l %}{% set c = c + x %}{% endfor %}{{ c }}",
            ],
        ),
        &[
            "int 5",
            "int 2",
            "int 3",
            "int 6",
            "int 0",
        ],
    );
}
/// `{% filter %}` and `{% set %}` blocks.
// oracle.py -v "$V" '{% filter upper %}abc{{ a }}{% endfilter %}' '{% set blk %}inner {{ a }}{% endset %}{{ blk }}' '{% set blk | upper %}x{% endset %}{{ blk }}'
#[test]
fn filter_and_set_blocks() {
    check(
        &run(
            V,
            &[
                "{% filter upper %}abc{{ a }}{% endfilter %}",
                "{% set blk %}inner {{ a }}{% endset %}{{ blk }}",
                "{% set blk | upper %}x{% endset %}{{ blk }}",
            ],
        ),
        &["str 'ABC1'", "str 'inner 1'", "str 'X'"],
    );
}
/// `-` whitespace control and Ansible's `trim_blocks`.
// oracle.py -v "$V" json:'"a\n  {%- if t %} x {% endif -%}\n  b"' json:'"{% for x in l %}\n{{ x }}\n{% endfor %}"' json:'"  {% if t %}\n  yes\n  {% endif %}\n"' '{{- a -}} {{ a }}' 'x {{- '"'"' y '"'"' -}} z' json:'"{% if t %}a{% else %}b{% endif %}\n"' json:'"line1\nline2 {{ a }}\n"' json:'"{% set x %}\n  multi\n{% endset %}[{{ x }}]"'
#[test]
fn whitespace_control() {
    check(
        &run(
            V,
            &[
                "a\n  {%- if t %} x {% endif -%}\n  b",
                "{% for x in l %}\n{{ x }}\n{% endfor %}",
                "  {% if t %}\n  yes\n  {% endif %}\n",
                "{{- a -}} {{ a }}",
                "x {{- ' y ' -}} z",
                "{% if t %}a{% else %}b{% endif %}\n",
                "line1\nline2 {{ a }}\n",
                "{% set x %}\n  multi\n{% endset %}[{{ x }}]",
            ],
        ),
        &[
            "str 'a x b'",
            r#"str '3\n1\n2\n'"#,
            r#"str '    yes\n  \n'"#,
            "str '11'",
            "str 'x y z'",
            r#"str 'a\n'"#,
            r#"str 'line1\nline2 1\n'"#,
            r#"str '[  multi\n]'"#,
        ],
    );
}
/// Ansible does not enable Jinja2's loopcontrols extension.
// oracle.py -v "$V" '{% for x in l %}{% break %}{% endfor %}'
#[test]
fn loop_controls_are_not_enabled() {
    check(
        &run(V, &["{% for x in l %}{% break %}{% endfor %}"]),
        &["ERROR Encountered unknown tag 'break'."],
    );
}
/// `x if c` without `else`: empty in a string, an error alone.
// oracle.py -v "$V" '{{ 1 if t }}' 'x{{ 1 if f }}y' '{{ 1 if f }}' '{{ '"'"'y'"'"' if t else '"'"'n'"'"' }}'
#[test]
fn if_expression_without_else() {
    check(
        &run(
            V,
            &[
                "{{ 1 if t }}",
                "x{{ 1 if f }}y",
                "{{ 1 if f }}",
                "{{ 'y' if t else 'n' }}",
            ],
        ),
        &[
            "int 1",
            "str 'xy'",
            "ERROR AnsibleTemplateError: Error rendering template: Type 'Undefined' is unsupported for variable storage.",
            "str 'y'",
        ],
    );
}
/// Python `str` methods.
// oracle.py -v "$V" '{{ s.split('"'"' '"'"') }}' '{{ csv.split('"'"','"'"') }}' '{{ s.split() }}' '{{ s.split('"'"' '"'"', 1) }}' '{{ s.rsplit('"'"' '"'"', 1) }}' '{{ s.upper() }}' '{{ s.startswith('"'"'he'"'"') }}' '{{ s.endswith(('"'"'x'"'"', '"'"'ld'"'"')) }}' '{{ s.replace('"'"'l'"'"', '"'"'L'"'"') }}' '{{ s.replace('"'"'l'"'"', '"'"'L'"'"', 1) }}' '{{ '"'"'  x  '"'"'.strip() }}' '{{ '"'"'xxaxx'"'"'.strip('"'"'x'"'"') }}' '{{ s.lstrip('"'"'h'"'"') }}' '{{ s.find('"'"'o'"'"') }}' '{{ s.title() }}' '{{ s.capitalize() }}' '{{ '"'"'-'"'"'.join(['"'"'a'"'"', '"'"'b'"'"']) }}' '{{ '"'"'{} {}'"'"'.format(1, '"'"'b'"'"') }}' '{{ '"'"'{x}!'"'"'.format(x=2) }}' '{{ s.count('"'"'l'"'"') }}' '{{ '"'"'a\nb'"'"'.splitlines() }}' '{{ num_str.isdigit() }}' '{{ s.isdigit() }}'
#[test]
fn string_methods() {
    check(
        &run(
            V,
            &[
                "{{ s.split(' ') }}",
                "{{ csv.split(',') }}",
                "{{ s.split() }}",
                "{{ s.split(' ', 1) }}",
                "{{ s.rsplit(' ', 1) }}",
                "{{ s.upper() }}",
                "{{ s.startswith('he') }}",
                "{{ s.endswith(('x', 'ld')) }}",
                "{{ s.replace('l', 'L') }}",
                "{{ s.replace('l', 'L', 1) }}",
                "{{ '  x  '.strip() }}",
                "{{ 'xxaxx'.strip('x') }}",
                "{{ s.lstrip('h') }}",
                "{{ s.find('o') }}",
                "{{ s.title() }}",
                "{{ s.capitalize() }}",
                "{{ '-'.join(['a', 'b']) }}",
                "{{ '{} {}'.format(1, 'b') }}",
                "{{ '{x}!'.format(x=2) }}",
                "{{ s.count('l') }}",
                r#"{{ 'a\nb'.splitlines() }}"#,
                "{{ num_str.isdigit() }}",
                "{{ s.isdigit() }}",
            ],
        ),
        &[
            "list ['hello', 'world']",
            "list ['a', 'b', '', 'c']",
            "list ['hello', 'world']",
            "list ['hello', 'world']",
            "list ['hello', 'world']",
            "str 'HELLO WORLD'",
            "bool True",
            "bool True",
            "str 'heLLo worLd'",
            "str 'heLlo world'",
            "str 'x'",
            "str 'a'",
            "str 'ello world'",
            "int 4",
            "str 'Hello World'",
            "str 'Hello world'",
            "str 'a-b'",
            "str '1 b'",
            "str '2!'",
            "int 3",
            r#"list ['a\\nb']"#,
            "bool True",
            "bool False",
        ],
    );
}
/// Python `dict` and `list` methods.
// oracle.py -v "$V" '{{ d.keys() | list }}' '{{ d.values() | list }}' '{{ d.items() | list }}' '{{ d.get('"'"'x'"'"') }}' '{{ d.get('"'"'nope'"'"', 3) }}' '{{ d.get('"'"'nope'"'"') }}' '{{ l.index(2) }}' '{{ [3, 1, 2].count(1) }}' '{{ s.nomethod() }}'
#[test]
fn dict_and_list_methods() {
    check(
        &run(
            V,
            &[
                "{{ d.keys() | list }}",
                "{{ d.values() | list }}",
                "{{ d.items() | list }}",
                "{{ d.get('x') }}",
                "{{ d.get('nope', 3) }}",
                "{{ d.get('nope') }}",
                "{{ l.index(2) }}",
                "{{ [3, 1, 2].count(1) }}",
                "{{ s.nomethod() }}",
            ],
        ),
        &[
            "list ['x', 'y', 'z']",
            "list [1, 'two', [1, 2]]",
            "list [['x', 1], ['y', 'two'], ['z', [1, 2]]]",
            "int 1",
            "int 3",
            "NoneType None",
            "int 2",
            "int 1",
            "ERROR AnsibleUndefinedVariable: object of type 'str' has no attribute 'nomethod'",
        ],
    );
}
/// `bool`: yes/on/true/1 in any case are true, the rest false.
// oracle.py -v "$V" '{{ yes_str | bool }}' '{{ no_str | bool }}' '{{ 1 | bool }}' '{{ '"'"'True'"'"' | bool }}' '{{ '"'"'on'"'"' | bool }}' '{{ 0 | bool }}' '{{ n | bool }}' '{{ t | bool }}' '{{ '"'"'x'"'"' | bool }}' '{{ 2 | bool }}' '{{ ip | ansible.builtin.bool }}'
#[test]
fn filter_bool() {
    check(
        &run(
            V,
            &[
                "{{ yes_str | bool }}",
                "{{ no_str | bool }}",
                "{{ 1 | bool }}",
                "{{ 'True' | bool }}",
                "{{ 'on' | bool }}",
                "{{ 0 | bool }}",
                "{{ n | bool }}",
                "{{ t | bool }}",
                "{{ 'x' | bool }}",
                "{{ 2 | bool }}",
                "{{ ip | ansible.builtin.bool }}",
            ],
        ),
        &[
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool False",
            "bool False",
            "bool True",
            "bool False",
            "bool False",
            "bool False",
        ],
    );
}
/// `int`, `float`, `string` as Jinja2 converts.
// oracle.py -v "$V" '{{ num_str | int }}' '{{ float_str | int }}' '{{ '"'"'x'"'"' | int }}' '{{ '"'"'x'"'"' | int(7) }}' '{{ '"'"'0x1F'"'"' | int(0, 16) }}' '{{ '"'"'0x1F'"'"' | int(base=16) }}' '{{ fl | int }}' '{{ '"'"' 12 '"'"' | int }}' '{{ '"'"'1_000'"'"' | int }}' '{{ num_str | float }}' '{{ '"'"'x'"'"' | float }}' '{{ a | string }}' '{{ l | string }}' '{{ t | string }}' '{{ n | string }}'
#[test]
fn filter_int_float_string() {
    check(
        &run(
            V,
            &[
                "{{ num_str | int }}",
                "{{ float_str | int }}",
                "{{ 'x' | int }}",
                "{{ 'x' | int(7) }}",
                "{{ '0x1F' | int(0, 16) }}",
                "{{ '0x1F' | int(base=16) }}",
                "{{ fl | int }}",
                "{{ ' 12 ' | int }}",
                "{{ '1_000' | int }}",
                "{{ num_str | float }}",
                "{{ 'x' | float }}",
                "{{ a | string }}",
                "{{ l | string }}",
                "{{ t | string }}",
                "{{ n | string }}",
            ],
        ),
        &[
            "int 42",
            "int 3",
            "int 0",
            "int 7",
            "int 31",
            "int 31",
            "int 1",
            "int 12",
            "int 1000",
            "float 42.0",
            "float 0.0",
            "str '1'",
            "str '[3, 1, 2]'",
            "str 'True'",
            "str 'None'",
        ],
    );
}
/// Ansible's `default`: only for undefined values, or falsy ones with `true`.
// oracle.py -v "$V" '{{ undefined_v | default(n) }}' '{{ '"'"''"'"' | default('"'"'e'"'"', true) }}' '{{ zero | default(5, true) }}' '{{ a | default(undefined_v) }}' '{{ lst_empty | default(['"'"'d'"'"'], true) }}' '{{ n | default(2) }}' '{{ undefined_v | d('"'"'short'"'"') }}' '{{ undefined_v | default }}'
#[test]
fn filter_default() {
    check(
        &run(
            V,
            &[
                "{{ undefined_v | default(n) }}",
                "{{ '' | default('e', true) }}",
                "{{ zero | default(5, true) }}",
                "{{ a | default(undefined_v) }}",
                "{{ lst_empty | default(['d'], true) }}",
                "{{ n | default(2) }}",
                "{{ undefined_v | d('short') }}",
                "{{ undefined_v | default }}",
            ],
        ),
        &[
            "NoneType None",
            "str 'e'",
            "int 5",
            "int 1",
            "list ['d']",
            "NoneType None",
            "str 'short'",
            "str ''",
        ],
    );
}
/// `ternary`, with a `none` value.
// oracle.py -v "$V" '{{ '"'"'x'"'"' | ternary('"'"'a'"'"', '"'"'b'"'"') }}' '{{ '"'"''"'"' | ternary('"'"'a'"'"', '"'"'b'"'"') }}' '{{ n | ternary('"'"'a'"'"', '"'"'b'"'"', '"'"'c'"'"') }}' '{{ a | ternary(undefined_v, 2) }}' '{{ 0 | ternary(undefined_v, 2) }}'
#[test]
fn filter_ternary() {
    check(
        &run(
            V,
            &[
                "{{ 'x' | ternary('a', 'b') }}",
                "{{ '' | ternary('a', 'b') }}",
                "{{ n | ternary('a', 'b', 'c') }}",
                "{{ a | ternary(undefined_v, 2) }}",
                "{{ 0 | ternary(undefined_v, 2) }}",
            ],
        ),
        &[
            "str 'a'",
            "str 'b'",
            "str 'c'",
            "ERROR AnsibleUndefinedVariable: 'undefined_v' is undefined",
            "int 2",
        ],
    );
}
/// `list`, `length`/`count`, `join`, `first`, `last`.
// oracle.py -v "$V" '{{ d | list }}' '{{ s | list }}' '{{ l | length }}' '{{ d | length }}' '{{ s | count }}' '{{ l | join('"'"','"'"') }}' '{{ l | join }}' '{{ items | join('"'"','"'"', attribute='"'"'name'"'"') }}' '{{ l | first }}' '{{ l | last }}' '{{ [] | first | default('"'"'none'"'"') }}'
#[test]
fn filter_list_length_join_first_last() {
    check(
        &run(
            V,
            &[
                "{{ d | list }}",
                "{{ s | list }}",
                "{{ l | length }}",
                "{{ d | length }}",
                "{{ s | count }}",
                "{{ l | join(',') }}",
                "{{ l | join }}",
                "{{ items | join(',', attribute='name') }}",
                "{{ l | first }}",
                "{{ l | last }}",
                "{{ [] | first | default('none') }}",
            ],
        ),
        &[
            "list ['x', 'y', 'z']",
            "list ['h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd']",
            "int 3",
            "int 3",
            "int 11",
            "str '3,1,2'",
            "str '312'",
            "str 'a,b,c'",
            "int 3",
            "int 2",
            "str 'none'",
        ],
    );
}
/// `min`, `max` (case-insensitive), `sum`.
// oracle.py -v "$V" '{{ l | min }}' '{{ l | max }}' '{{ ls | min }}' '{{ ls | max }}' '{{ items | max(attribute='"'"'v'"'"') }}' '{{ l | sum }}' '{{ items | sum(attribute='"'"'v'"'"') }}' '{{ [[1], [2]] | sum(start=[]) }}'
#[test]
fn filter_min_max_sum() {
    check(
        &run(
            V,
            &[
                "{{ l | min }}",
                "{{ l | max }}",
                "{{ ls | min }}",
                "{{ ls | max }}",
                "{{ items | max(attribute='v') }}",
                "{{ l | sum }}",
                "{{ items | sum(attribute='v') }}",
                "{{ [[1], [2]] | sum(start=[]) }}",
            ],
        ),
        &[
            "int 1",
            "int 3",
            "str 'A'",
            "str 'c'",
            "dict {'name': 'c', 'v': 3}",
            "int 6",
            "int 6",
            "list [1, 2]",
        ],
    );
}
/// `sort` (stable, case-insensitive), `unique`, `reverse`.
// oracle.py -v "$V" '{{ l | sort }}' '{{ ls | sort }}' '{{ ls | sort(case_sensitive=true) }}' '{{ l | sort(reverse=true) }}' '{{ items | sort(attribute='"'"'v'"'"', reverse=true) | map(attribute='"'"'name'"'"') | list }}' '{{ ls | unique }}' '{{ ls | unique(case_sensitive=true) }}' '{{ [1, 2, 1, 3] | unique }}' '{{ l | reverse | list }}' '{{ s | reverse }}'
#[test]
fn filter_sort_unique_reverse() {
    check(
        &run(
            V,
            &[
                "{{ l | sort }}",
                "{{ ls | sort }}",
                "{{ ls | sort(case_sensitive=true) }}",
                "{{ l | sort(reverse=true) }}",
                "{{ items | sort(attribute='v', reverse=true) | map(attribute='name') | list }}",
                "{{ ls | unique }}",
                "{{ ls | unique(case_sensitive=true) }}",
                "{{ [1, 2, 1, 3] | unique }}",
                "{{ l | reverse | list }}",
                "{{ s | reverse }}",
            ],
        ),
        &[
            "list [1, 2, 3]",
            "list ['A', 'a', 'b', 'c']",
            "list ['A', 'a', 'b', 'c']",
            "list [3, 2, 1]",
            "list ['c', 'b', 'a']",
            "list ['b', 'A', 'c']",
            "list ['b', 'A', 'a', 'c']",
            "list [1, 2, 3]",
            "list [2, 1, 3]",
            "str 'dlrow olleh'",
        ],
    );
}
/// `union`, `intersect`, `difference`, `symmetric_difference` (on numbers: Python's set order is theirs too).
// oracle.py -v "$V" '{{ [1, 2] | union([2, 3]) }}' '{{ [1, 2, 3] | intersect([2, 3, 4]) }}' '{{ [1, 2, 3] | difference([2]) }}' '{{ [1, 2] | symmetric_difference([2, 3]) }}'
#[test]
fn filter_set_operations() {
    check(
        &run(
            V,
            &[
                "{{ [1, 2] | union([2, 3]) }}",
                "{{ [1, 2, 3] | intersect([2, 3, 4]) }}",
                "{{ [1, 2, 3] | difference([2]) }}",
                "{{ [1, 2] | symmetric_difference([2, 3]) }}",
            ],
        ),
        &[
            "list [1, 2, 3]",
            "list [2, 3]",
            "list [1, 3]",
            "list [1, 3]",
        ],
    );
}
/// `flatten`, with levels; nulls skipped.
// oracle.py -v "$V" '{{ nested | flatten }}' '{{ nested | flatten(levels=1) }}' '{{ [1, [2, [3, [4]]]] | flatten(1) }}' '{{ [1, none, [2]] | flatten(skip_nulls=false) }}'
#[test]
fn filter_flatten() {
    check(
        &run(
            V,
            &[
                "{{ nested | flatten }}",
                "{{ nested | flatten(levels=1) }}",
                "{{ [1, [2, [3, [4]]]] | flatten(1) }}",
                "{{ [1, none, [2]] | flatten(skip_nulls=false) }}",
            ],
        ),
        &[
            "list [1, 2, 3, 4, 'x']",
            "list [1, [2, 3], 4, 'x']",
            "list [1, 2, [3, [4]]]",
            "list [1, None, 2]",
        ],
    );
}
/// `zip`, `zip_longest`, `product`.
// oracle.py -v "$V" '{{ l | zip(['"'"'a'"'"', '"'"'b'"'"', '"'"'c'"'"']) | list }}' '{{ [1, 2] | zip_longest(['"'"'a'"'"']) | list }}' '{{ [1, 2] | product(['"'"'a'"'"', '"'"'b'"'"']) | list }}' '{{ csv.split('"'"','"'"') | zip(['"'"'x'"'"', '"'"'y'"'"']) | map('"'"'join'"'"', '"'"':'"'"') | join('"'"','"'"') }}'
#[test]
fn filter_zip_product() {
    check(
        &run(
            V,
            &[
                "{{ l | zip(['a', 'b', 'c']) | list }}",
                "{{ [1, 2] | zip_longest(['a']) | list }}",
                "{{ [1, 2] | product(['a', 'b']) | list }}",
                "{{ csv.split(',') | zip(['x', 'y']) | map('join', ':') | join(',') }}",
            ],
        ),
        &[
            "list [[3, 'a'], [1, 'b'], [2, 'c']]",
            "list [[1, 'a'], [2, None]]",
            "list [[1, 'a'], [1, 'b'], [2, 'a'], [2, 'b']]",
            "str 'a:x,b:y'",
        ],
    );
}
/// `map` with a filter or attribute, `select`/`reject` with tests.
// oracle.py -v "$V" '{{ l | map('"'"'string'"'"') | list }}' '{{ items | map(attribute='"'"'name'"'"') | list }}' '{{ items | map(attribute='"'"'nope'"'"', default='"'"'missing'"'"') | list }}' '{{ ls | map('"'"'upper'"'"') | list }}' '{{ l | select('"'"'odd'"'"') | list }}' '{{ l | reject('"'"'odd'"'"') | list }}' '{{ [0, 1, '"'"''"'"', '"'"'a'"'"', none] | select | list }}' '{{ l | select('"'"'gt'"'"', 1) | list }}' '{{ l | select('"'"'in'"'"', [1, 3]) | list }}' '{{ l | map('"'"'int'"'"') | sum }}'
#[test]
fn filter_map_select_reject() {
    check(
        &run(
            V,
            &[
                "{{ l | map('string') | list }}",
                "{{ items | map(attribute='name') | list }}",
                "{{ items | map(attribute='nope', default='missing') | list }}",
                "{{ ls | map('upper') | list }}",
                "{{ l | select('odd') | list }}",
                "{{ l | reject('odd') | list }}",
                "{{ [0, 1, '', 'a', none] | select | list }}",
                "{{ l | select('gt', 1) | list }}",
                "{{ l | select('in', [1, 3]) | list }}",
                "{{ l | map('int') | sum }}",
            ],
        ),
        &[
            "list ['3', '1', '2']",
            "list ['a', 'b', 'c']",
            "list ['missing', 'missing', 'missing']",
            "list ['B', 'A', 'A', 'C']",
            "list [3, 1]",
            "list [2]",
            "list [1, 'a']",
            "list [3, 2]",
            "list [3, 1]",
            "int 6",
        ],
    );
}
/// `selectattr`/`rejectattr`, dotted attributes.
// oracle.py -v "$V" '{{ items | selectattr('"'"'v'"'"', '"'"'equalto'"'"', 2) | list }}' '{{ items | rejectattr('"'"'v'"'"', '"'"'>'"'"', 1) | list }}' '{{ dd | dict2items | selectattr('"'"'value.enabled'"'"', '"'"'true'"'"') | map(attribute='"'"'key'"'"') | list }}' '{{ dd | dict2items | selectattr('"'"'value.enabled'"'"') | map(attribute='"'"'key'"'"') | list }}' '{{ dd | dict2items | rejectattr('"'"'value.port'"'"', '"'"'lt'"'"', 81) | map(attribute='"'"'key'"'"') | list }}'
#[test]
fn filter_selectattr_rejectattr() {
    check(
        &run(
            V,
            &[
                "{{ items | selectattr('v', 'equalto', 2) | list }}",
                "{{ items | rejectattr('v', '>', 1) | list }}",
                "{{ dd | dict2items | selectattr('value.enabled', 'true') | map(attribute='key') | list }}",
                "{{ dd | dict2items | selectattr('value.enabled') | map(attribute='key') | list }}",
                "{{ dd | dict2items | rejectattr('value.port', 'lt', 81) | map(attribute='key') | list }}",
            ],
        ),
        &[
            "list [{'name': 'b', 'v': 2, True: False}]",
            "list [{'name': 'a', 'v': 1, True: True}]",
            "list ['k1']",
            "list ['k1', 'k3']",
            "list ['k2', 'k3']",
        ],
    );
}
/// `dict2items`, `items2dict`, `dictsort`.
// oracle.py -v "$V" '{{ d | dict2items }}' '{{ d | dict2items(key_name='"'"'k'"'"', value_name='"'"'v'"'"') }}' '{{ [{'"'"'key'"'"': '"'"'a'"'"', '"'"'value'"'"': 1}] | items2dict }}' '{{ [{'"'"'k'"'"': '"'"'a'"'"', '"'"'v'"'"': 1}] | items2dict(key_name='"'"'k'"'"', value_name='"'"'v'"'"') }}' '{{ d | dictsort }}' '{{ {'"'"'b'"'"': 1, '"'"'a'"'"': 2} | dictsort(by='"'"'value'"'"') }}' '{{ 1 | dict2items }}'
#[test]
fn filter_dict2items_items2dict_dictsort() {
    check(
        &run(
            V,
            &[
                "{{ d | dict2items }}",
                "{{ d | dict2items(key_name='k', value_name='v') }}",
                "{{ [{'key': 'a', 'value': 1}] | items2dict }}",
                "{{ [{'k': 'a', 'v': 1}] | items2dict(key_name='k', value_name='v') }}",
                "{{ d | dictsort }}",
                "{{ {'b': 1, 'a': 2} | dictsort(by='value') }}",
                "{{ 1 | dict2items }}",
            ],
        ),
        &[
            "list [{'key': 'x', 'value': 1}, {'key': 'y', 'value': 'two'}, {'key': 'z', 'value': [1, 2]}]",
            "list [{'k': 'x', 'v': 1}, {'k': 'y', 'v': 'two'}, {'k': 'z', 'v': [1, 2]}]",
            "dict {'a': 1}",
            "dict {'a': 1}",
            "list [['x', 1], ['y', 'two'], ['z', [1, 2]]]",
            "list [['b', 1], ['a', 2]]",
            "ERROR AnsibleTemplatePluginRuntimeError: The filter plugin 'ansible.builtin.dict2items' failed: dict2items requires a dictionary, got <class 'int'> instead.",
        ],
    );
}
/// `combine`: shallow, `recursive`, `list_merge`, a list of dicts.
// oracle.py -v "$V" '{{ d | combine({'"'"'x'"'"': 2, '"'"'w'"'"': 0}) }}' '{{ {'"'"'a'"'"': {'"'"'b'"'"': 1, '"'"'c'"'"': 2}} | combine({'"'"'a'"'"': {'"'"'b'"'"': 3}}, recursive=true) }}' '{{ {'"'"'a'"'"': {'"'"'b'"'"': 1}} | combine({'"'"'a'"'"': {'"'"'c'"'"': 3}}) }}' '{{ {'"'"'a'"'"': [1]} | combine({'"'"'a'"'"': [2]}, list_merge='"'"'append'"'"') }}' '{{ {'"'"'a'"'"': [1, 2]} | combine({'"'"'a'"'"': [2, 3]}, list_merge='"'"'append_rp'"'"') }}' '{{ {'"'"'a'"'"': [1, 2]} | combine({'"'"'a'"'"': [2, 3]}, list_merge='"'"'prepend'"'"') }}' '{{ [{'"'"'a'"'"': 1}, {'"'"'b'"'"': 2}] | combine }}' '{{ {} | combine }}' '{{ {'"'"'a'"'"': 1} | combine({'"'"'b'"'"': 2}, {'"'"'a'"'"': 3}) }}'
#[test]
fn filter_combine() {
    check(
        &run(
            V,
            &[
                "{{ d | combine({'x': 2, 'w': 0}) }}",
                "{{ {'a': {'b': 1, 'c': 2}} | combine({'a': {'b': 3}}, recursive=true) }}",
                "{{ {'a': {'b': 1}} | combine({'a': {'c': 3}}) }}",
                "{{ {'a': [1]} | combine({'a': [2]}, list_merge='append') }}",
                "{{ {'a': [1, 2]} | combine({'a': [2, 3]}, list_merge='append_rp') }}",
                "{{ {'a': [1, 2]} | combine({'a': [2, 3]}, list_merge='prepend') }}",
                "{{ [{'a': 1}, {'b': 2}] | combine }}",
                "{{ {} | combine }}",
                "{{ {'a': 1} | combine({'b': 2}, {'a': 3}) }}",
            ],
        ),
        &[
            "dict {'x': 2, 'y': 'two', 'z': [1, 2], 'w': 0}",
            "dict {'a': {'b': 3, 'c': 2}}",
            "dict {'a': {'c': 3}}",
            "dict {'a': [1, 2]}",
            "dict {'a': [1, 2, 3]}",
            "dict {'a': [2, 3, 1, 2]}",
            "dict {'a': 1, 'b': 2}",
            "dict {}",
            "dict {'a': 3, 'b': 2}",
        ],
    );
}
/// `extract`, `subelements`, `rekey_on_member`, `batch`.
// oracle.py -v "$V" '{{ '"'"'x'"'"' | extract({'"'"'x'"'"': 5}) }}' '{{ [0, 2] | map('"'"'extract'"'"', l) | list }}' '{{ [{'"'"'n'"'"': '"'"'a'"'"', '"'"'g'"'"': [1, 2]}] | subelements('"'"'g'"'"') }}' '{{ items | subelements('"'"'nope'"'"', skip_missing=True) }}' '{{ items | rekey_on_member('"'"'name'"'"') }}' '{{ l | batch(2) | list }}'
#[test]
fn filter_extract_subelements_rekey() {
    check(
        &run(
            V,
            &[
                "{{ 'x' | extract({'x': 5}) }}",
                "{{ [0, 2] | map('extract', l) | list }}",
                "{{ [{'n': 'a', 'g': [1, 2]}] | subelements('g') }}",
                "{{ items | subelements('nope', skip_missing=True) }}",
                "{{ items | rekey_on_member('name') }}",
                "{{ l | batch(2) | list }}",
            ],
        ),
        &[
            "int 5",
            "list [3, 2]",
            "list [[{'n': 'a', 'g': [1, 2]}, 1], [{'n': 'a', 'g': [1, 2]}, 2]]",
            "list []",
            "dict {'a': {'name': 'a', 'v': 1, True: True}, 'b': {'name': 'b', 'v': 2, True: False}, 'c': {'name': 'c', 'v': 3}}",
            "list [[3, 1], [2]]",
        ],
    );
}
/// String filters.
// oracle.py -v "$V" '{{ s | lower }}' '{{ s | upper }}' '{{ s | capitalize }}' '{{ '"'"'hello-world foo'"'"' | title }}' '{{ '"'"'  x '"'"' | trim }}' '{{ '"'"'xxyxx'"'"' | trim('"'"'x'"'"') }}' '{{ s | replace('"'"'o'"'"', '"'"'0'"'"') }}' '{{ s | replace('"'"'o'"'"', '"'"'0'"'"', 1) }}' '{{ '"'"'ab'"'"' | center(6) }}' json:'"{{ '"'"'a\nb'"'"' | indent(2) }}"' json:'"{{ '"'"'a\nb'"'"' | indent(2, true) }}"' '{{ s | truncate(8) }}' '{{ '"'"'one two three'"'"' | wordcount }}' '{{ '"'"'%s and %s'"'"' | format('"'"'a'"'"', '"'"'b'"'"') }}' '{{ csv | split('"'"','"'"') }}' '{{ s | split }}' '{{ '"'"'a,b'"'"' | split('"'"','"'"') | map('"'"'trim'"'"') | list }}'
#[test]
fn filter_strings() {
    check(
        &run(
            V,
            &[
                "{{ s | lower }}",
                "{{ s | upper }}",
                "{{ s | capitalize }}",
                "{{ 'hello-world foo' | title }}",
                "{{ '  x ' | trim }}",
                "{{ 'xxyxx' | trim('x') }}",
                "{{ s | replace('o', '0') }}",
                "{{ s | replace('o', '0', 1) }}",
                "{{ 'ab' | center(6) }}",
                "{{ 'a\nb' | indent(2) }}",
                "{{ 'a\nb' | indent(2, true) }}",
                "{{ s | truncate(8) }}",
                "{{ 'one two three' | wordcount }}",
                "{{ '%s and %s' | format('a', 'b') }}",
                "{{ csv | split(',') }}",
                "{{ s | split }}",
                "{{ 'a,b' | split(',') | map('trim') | list }}",
            ],
        ),
        &[
            "str 'hello world'",
            "str 'HELLO WORLD'",
            "str 'Hello world'",
            "str 'Hello-World Foo'",
            "str 'x'",
            "str 'y'",
            "str 'hell0 w0rld'",
            "str 'hell0 world'",
            "str '  ab  '",
            r#"str 'a\n  b'"#,
            r#"str '  a\n  b'"#,
            "str 'hello world'",
            "int 3",
            "str 'a and b'",
            "list ['a', 'b', '', 'c']",
            "list ['hello', 'world']",
            "list ['a', 'b']",
        ],
    );
}
/// HTML escaping, `striptags`, `urlencode`.
// oracle.py -v "$V" '{{ '"'"'<a&b>'"'"' | e }}' '{{ '"'"'<b>x</b> y'"'"' | striptags }}' '{{ '"'"'a b/c'"'"' | urlencode }}' '{{ {'"'"'a'"'"': 1, '"'"'b'"'"': '"'"'x y'"'"'} | urlencode }}'
#[test]
fn filter_escape_urlencode() {
    check(
        &run(
            V,
            &[
                "{{ '<a&b>' | e }}",
                "{{ '<b>x</b> y' | striptags }}",
                "{{ 'a b/c' | urlencode }}",
                "{{ {'a': 1, 'b': 'x y'} | urlencode }}",
            ],
        ),
        &[
            "str '&lt;a&amp;b&gt;'",
            "str 'x y'",
            "str 'a%20b/c'",
            "str 'a=1&b=x+y'",
        ],
    );
}
/// `abs`, `round` (half to even, ceil, floor), `log`, `pow`, `root`.
// oracle.py -v "$V" '{{ -3 | abs }}' '{{ 2.5 | round }}' '{{ 3.5 | round }}' '{{ 3.14159 | round(2) }}' '{{ 3.14159 | round(1, '"'"'floor'"'"') }}' '{{ 3.01 | round(0, '"'"'ceil'"'"') }}' '{{ 7 | round }}' '{{ 1234 | round(-2) }}' '{{ 2.675 | round(2) }}' '{{ 100 | log(10) }}' '{{ 2 | pow(3) }}' '{{ 16 | root }}' '{{ 27 | root(3) }}'
#[test]
fn filter_numbers() {
    check(
        &run(
            V,
            &[
                "{{ -3 | abs }}",
                "{{ 2.5 | round }}",
                "{{ 3.5 | round }}",
                "{{ 3.14159 | round(2) }}",
                "{{ 3.14159 | round(1, 'floor') }}",
                "{{ 3.01 | round(0, 'ceil') }}",
                "{{ 7 | round }}",
                "{{ 1234 | round(-2) }}",
                "{{ 2.675 | round(2) }}",
                "{{ 100 | log(10) }}",
                "{{ 2 | pow(3) }}",
                "{{ 16 | root }}",
                "{{ 27 | root(3) }}",
            ],
        ),
        &[
            "int 3",
            "float 2.0",
            "float 4.0",
            "float 3.14",
            "float 3.1",
            "float 4.0",
            "int 7",
            "int 1200",
            "float 2.67",
            "float 2.0",
            "float 8.0",
            "float 4.0",
            "float 3.0",
        ],
    );
}
/// `human_to_bytes`, `human_readable`, `filesizeformat`.
// oracle.py -v "$V" '{{ '"'"'64M'"'"' | human_to_bytes }}' '{{ '"'"'1.5 GB'"'"' | human_to_bytes }}' '{{ '"'"'10'"'"' | human_to_bytes }}' '{{ '"'"'1Kb'"'"' | human_to_bytes(isbits=True) }}' '{{ 1048576 | human_readable }}' '{{ 1000000 | filesizeformat }}'
#[test]
fn filter_human() {
    check(
        &run(
            V,
            &[
                "{{ '64M' | human_to_bytes }}",
                "{{ '1.5 GB' | human_to_bytes }}",
                "{{ '10' | human_to_bytes }}",
                "{{ '1Kb' | human_to_bytes(isbits=True) }}",
                "{{ 1048576 | human_readable }}",
                "{{ 1000000 | filesizeformat }}",
            ],
        ),
        &[
            "int 67108864",
            "int 1610612736",
            "int 10",
            "int 1024",
            "str '1.00 MB'",
            "str '1.0 MB'",
        ],
    );
}
/// `to_json` and `to_nice_json` as Python's `json.dumps`.
// oracle.py -v "$V" '{{ d | to_json }}' '{{ d | to_nice_json }}' '{{ s | to_json }}' '{{ '"'"'é"'"'"' | to_json }}' '{{ [1.5, none, true] | to_json }}' '{{ d | to_json(sort_keys=true) }}' '{{ d | to_nice_json(indent=2) }}' '{{ {} | to_nice_json }}'
#[test]
fn filter_to_json() {
    check(
        &run(
            V,
            &[
                "{{ d | to_json }}",
                "{{ d | to_nice_json }}",
                "{{ s | to_json }}",
                r#"{{ 'é"' | to_json }}"#,
                "{{ [1.5, none, true] | to_json }}",
                "{{ d | to_json(sort_keys=true) }}",
                "{{ d | to_nice_json(indent=2) }}",
                "{{ {} | to_nice_json }}",
            ],
        ),
        &[
            r#"str '{"x": 1, "y": "two", "z": [1, 2]}'"#,
            r#"str '{\n    "x": 1,\n    "y": "two",\n    "z": [\n        1,\n        2\n    ]\n}'"#,
            r#"str '"hello world"'"#,
            r#"str '"\\u00e9\\""'"#,
            "str '[1.5, null, true]'",
            r#"str '{"x": 1, "y": "two", "z": [1, 2]}'"#,
            r#"str '{\n  "x": 1,\n  "y": "two",\n  "z": [\n    1,\n    2\n  ]\n}'"#,
            "str '{}'",
        ],
    );
}
/// `from_json` as Python's `json.loads`.
// oracle.py -v "$V" '{{ '"'"'{"a": [1, 2.5, null, true]}'"'"' | from_json }}' '{{ '"'"'nope'"'"' | from_json }}' '{{ '"'"'[1, 2'"'"' | from_json }}' '{{ '"'"'"\u00e9"'"'"' | from_json }}'
#[test]
fn filter_from_json() {
    check(
        &run(
            V,
            &[
                r#"{{ '{"a": [1, 2.5, null, true]}' | from_json }}"#,
                "{{ 'nope' | from_json }}",
                "{{ '[1, 2' | from_json }}",
                r#"{{ '"\u00e9"' | from_json }}"#,
            ],
        ),
        &[
            "dict {'a': [1, 2.5, None, True]}",
            "ERROR AnsibleTemplatePluginRuntimeError: The filter plugin 'ansible.builtin.from_json' failed: Expecting value: line 1 column 1 (char 0)",
            "ERROR AnsibleTemplatePluginRuntimeError: The filter plugin 'ansible.builtin.from_json' failed: Expecting ',' delimiter: line 1 column 6 (char 5)",
            "str 'é'",
        ],
    );
}
/// `to_yaml`: PyYAML's flow style for collections of scalars, sorted keys, quoting.
// oracle.py -v "$V" '{{ d | to_yaml }}' '{{ items | to_yaml }}' '{{ '"'"'x'"'"' | to_yaml }}' json:'"{{ ['"'"'yes'"'"', '"'"'1.5'"'"', '"'"''"'"', '"'"'a: b'"'"', '"'"'- x'"'"', '"'"' lead'"'"', '"'"'trail '"'"', '"'"'h\u00e9llo'"'"', '"'"'x#y'"'"', '"'"'x #y'"'"', '"'"'@x'"'"', '"'"'null'"'"', '"'"'~'"'"', '"'"'0755'"'"', '"'"'a\tb'"'"', \"it'"'"'s\"] | to_yaml }}"' '{{ '"'"'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss'"'"' | to_yaml }}' json:'"{{ '"'"'line1\nline2\n'"'"' | to_yaml }}"' '{{ none | to_yaml }}' '{{ [] | to_yaml }}' '{{ 1.5 | to_yaml }}' '{{ ['"'"'#x'"'"', '"'"'!x'"'"', '"'"'&x'"'"', '"'"'*x'"'"', '"'"'|x'"'"', '"'"'>x'"'"', '"'"'%x'"'"', '"'"'`x'"'"', '"'"'x: '"'"', '"'"'?x'"'"', '"'"'? x'"'"', '"'"'a,b'"'"', '"'"'[x'"'"', '"'"'a]'"'"', '"'"'{x'"'"', '"'"':x'"'"', '"'"'-1'"'"', '"'"'- 1'"'"', '"'"'1e3'"'"', '"'"'1.0e+3'"'"', '"'"'0x10'"'"', '"'"'True'"'"', '"'"'NO'"'"', '"'"'.5'"'"', '"'"'1_000'"'"', '"'"'12:30'"'"', '"'"'Null'"'"'] | to_yaml }}' '{{ {'"'"'k'"'"': none, '"'"'b'"'"': false, '"'"'i'"'"': -3, '"'"'f'"'"': -0.5, '"'"'e'"'"': 1e300, '"'"'u'"'"': '"'"'ü'"'"'} | to_yaml }}' '{{ ('"'"'a '"'"' * 50) | to_nice_yaml }}' '{{ {'"'"'key'"'"': '"'"'word '"'"' * 30} | to_yaml }}' '{{ ['"'"'x'"'"' * 90, '"'"'short'"'"'] | to_yaml }}' json:'"{{ '"'"'tab\there '"'"' * 12 | to_yaml }}"' '{{ {'"'"'quote "x"'"'"': 1} | to_yaml }}'
#[test]
fn filter_to_yaml() {
    check(
        &run(
            V,
            &[
                "{{ d | to_yaml }}",
                "{{ items | to_yaml }}",
                "{{ 'x' | to_yaml }}",
                r#"{{ ['yes', '1.5', '', 'a: b', '- x', ' lead', 'trail ', 'héllo', 'x#y', 'x #y', '@x', 'null', '~', '0755', 'a	b', "it's"] | to_yaml }}"#,
                "{{ 'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss' | to_yaml }}",
                "{{ 'line1\nline2\n' | to_yaml }}",
                "{{ none | to_yaml }}",
                "{{ [] | to_yaml }}",
                "{{ 1.5 | to_yaml }}",
                "{{ ['#x', '!x', '&x', '*x', '|x', '>x', '%x', '`x', 'x: ', '?x', '? x', 'a,b', '[x', 'a]', '{x', ':x', '-1', '- 1', '1e3', '1.0e+3', '0x10', 'True', 'NO', '.5', '1_000', '12:30', 'Null'] | to_yaml }}",
                "{{ {'k': none, 'b': false, 'i': -3, 'f': -0.5, 'e': 1e300, 'u': 'ü'} | to_yaml }}",
                "{{ ('a ' * 50) | to_nice_yaml }}",
                "{{ {'key': 'word ' * 30} | to_yaml }}",
                "{{ ['x' * 90, 'short'] | to_yaml }}",
                "{{ 'tab\there ' * 12 | to_yaml }}",
                r#"{{ {'quote "x"': 1} | to_yaml }}"#,
            ],
        ),
        &[
            r#"str 'x: 1\ny: two\nz: [1, 2]\n'"#,
            r#"str '- {name: a, v: 1, true: true}\n- {name: b, v: 2, true: false}\n- {name: c, v: 3}\n'"#,
            r#"str 'x\n'"#,
            r#"str '[\'yes\', \'1.5\', \'\', \'a: b\', \'- x\', \' lead\', \'trail \', héllo, x#y, \'x #y\', \'@x\', \'null\',\n  \'~\', \'0755\', "a\\tb", it\'s]\n'"#,
            r#"str 'aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq\n  rrrr ssss\n'"#,
            r#"str "'line1\n\n  line2\n\n  '\n""#,
            r#"str 'null\n'"#,
            r#"str '[]\n'"#,
            r#"str '1.5\n'"#,
            r#"str "['#x', '!x', '&x', '*x', '|x', '>x', '%x', '`x', 'x: ', '?x', '? x', 'a,b', '[x',\n  'a]', '{x', ':x', '-1', '- 1', 1e3, '1.0e+3', '0x10', 'True', 'NO', '.5', '1_000',\n  '12:30', 'Null']\n""#,
            r#"str '{b: false, e: 1.0e+300, f: -0.5, i: -3, k: null, u: ü}\n'"#,
            r#"str "'a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a\n    a a a a a a a a a '\n""#,
            r#"str "{key: 'word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word word '}\n""#,
            r#"str '[xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,\n  short]\n'"#,
            "ERROR AnsibleTemplateError: Error rendering template: can't multiply sequence by non-int of type 'str'",
            r#"str '{quote "x": 1}\n'"#,
        ],
    );
}
/// `to_nice_yaml`: block style, indent 4, sequences not indented under keys.
// oracle.py -v "$V" '{{ d | to_nice_yaml }}' '{{ nested | to_nice_yaml }}' '{{ dd | to_nice_yaml(indent=2) }}' json:'"{{ {'"'"'k'"'"': '"'"'line1\nline2'"'"'} | to_nice_yaml }}"' '{{ [{'"'"'a'"'"': 1, '"'"'b'"'"': [1, {'"'"'c'"'"': 2}]}] | to_nice_yaml }}' '{{ {'"'"'e'"'"': {}, '"'"'l'"'"': []} | to_nice_yaml }}'
#[test]
fn filter_to_nice_yaml() {
    check(
        &run(
            V,
            &[
                "{{ d | to_nice_yaml }}",
                "{{ nested | to_nice_yaml }}",
                "{{ dd | to_nice_yaml(indent=2) }}",
                "{{ {'k': 'line1\nline2'} | to_nice_yaml }}",
                "{{ [{'a': 1, 'b': [1, {'c': 2}]}] | to_nice_yaml }}",
                "{{ {'e': {}, 'l': []} | to_nice_yaml }}",
            ],
        ),
        &[
            r#"str 'x: 1\ny: two\nz:\n- 1\n- 2\n'"#,
            r#"str '-   - 1\n    -   - 2\n        - 3\n-   - 4\n- null\n- x\n'"#,
            r#"str "k1:\n  enabled: true\n  port: 80\nk2:\n  enabled: false\n  port: 81\nk3:\n  enabled: 'yes'\n  port: 82\n""#,
            r#"str "k: 'line1\n\n    line2'\n""#,
            r#"str '-   a: 1\n    b:\n    - 1\n    -   c: 2\n'"#,
            r#"str 'e: {}\nl: []\n'"#,
        ],
    );
}
/// `from_yaml` with YAML 1.1's types, `from_yaml_all`.
// oracle.py -v "$V" json:'"{{ '"'"'a: 1\nb: [x, 2]'"'"' | from_yaml }}"' '{{ '"'"'yes'"'"' | from_yaml }}' json:'"{{ '"'"'---\na: 1\n---\nb: 2'"'"' | from_yaml_all | list }}"' '{{ n | from_yaml }}'
#[test]
fn filter_from_yaml() {
    check(
        &run(
            V,
            &[
                "{{ 'a: 1\nb: [x, 2]' | from_yaml }}",
                "{{ 'yes' | from_yaml }}",
                "{{ '---\na: 1\n---\nb: 2' | from_yaml_all | list }}",
                "{{ n | from_yaml }}",
            ],
        ),
        &[
            "dict {'a': 1, 'b': ['x', 2]}",
            "bool True",
            "list [{'a': 1}, {'b': 2}]",
            "NoneType None",
        ],
    );
}
/// `quote` as Python's `shlex.quote`.
// oracle.py -v "$V" '{{ s | quote }}' '{{ '"'"'abc'"'"' | quote }}' '{{ "it'"'"'s" | quote }}' '{{ '"'"''"'"' | quote }}' '{{ n | quote }}'
#[test]
fn filter_quote() {
    check(
        &run(
            V,
            &[
                "{{ s | quote }}",
                "{{ 'abc' | quote }}",
                r#"{{ "it's" | quote }}"#,
                "{{ '' | quote }}",
                "{{ n | quote }}",
            ],
        ),
        &[
            r#"str "'hello world'""#,
            "str 'abc'",
            r#"str '\'it\'"\'"\'s\''"#,
            r#"str "''""#,
            r#"str "''""#,
        ],
    );
}
/// Path filters as Python's `os.path`.
// oracle.py -v "$V" '{{ path | basename }}' '{{ path | dirname }}' '{{ path | splitext }}' '{{ '"'"'/a/b/../c/./d'"'"' | normpath }}' '{{ '"'"'/a/b/c'"'"' | relpath('"'"'/a/x'"'"') }}' '{{ ['"'"'/a'"'"', '"'"'b'"'"', '"'"'c'"'"'] | path_join }}' '{{ '"'"'/'"'"' | dirname }}' '{{ '"'"'x'"'"' | dirname }}'
#[test]
fn filter_paths() {
    check(
        &run(
            V,
            &[
                "{{ path | basename }}",
                "{{ path | dirname }}",
                "{{ path | splitext }}",
                "{{ '/a/b/../c/./d' | normpath }}",
                "{{ '/a/b/c' | relpath('/a/x') }}",
                "{{ ['/a', 'b', 'c'] | path_join }}",
                "{{ '/' | dirname }}",
                "{{ 'x' | dirname }}",
            ],
        ),
        &[
            "str 'keystone.conf'",
            "str '/etc/kolla/keystone'",
            "list ['/etc/kolla/keystone/keystone', '.conf']",
            "str '/a/c/d'",
            "str '../b/c'",
            "str '/a/b/c'",
            "str '/'",
            "str ''",
        ],
    );
}
/// base64, `to_uuid`, `hash`, `checksum`.
// oracle.py -v "$V" '{{ s | b64encode }}' '{{ '"'"'aGVsbG8gd29ybGQ='"'"' | b64decode }}' '{{ '"'"'x'"'"' | to_uuid }}' '{{ '"'"'node1'"'"' | to_uuid }}' '{{ s | hash('"'"'sha1'"'"') }}' '{{ s | hash('"'"'md5'"'"') }}' '{{ s | checksum }}' '{{ s | hash('"'"'sha256'"'"') }}' '{{ '"'"''"'"' | hash('"'"'md5'"'"') }}'
#[test]
fn filter_encodings_and_digests() {
    check(
        &run(
            V,
            &[
                "{{ s | b64encode }}",
                "{{ 'aGVsbG8gd29ybGQ=' | b64decode }}",
                "{{ 'x' | to_uuid }}",
                "{{ 'node1' | to_uuid }}",
                "{{ s | hash('sha1') }}",
                "{{ s | hash('md5') }}",
                "{{ s | checksum }}",
                "{{ s | hash('sha256') }}",
                "{{ '' | hash('md5') }}",
            ],
        ),
        &[
            "str 'aGVsbG8gd29ybGQ='",
            "str 'hello world'",
            "str '66b2f013-1baa-5313-9c8c-e6f1182e0e90'",
            "str 'b55f1bdd-ca90-5a70-b673-0be5233e0c56'",
            "str '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed'",
            "str '5eb63bbbe01eeed093cb22bb8f5acdc3'",
            "str '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed'",
            "str 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'",
            "str 'd41d8cd98f00b204e9800998ecf8427e'",
        ],
    );
}
/// `regex_replace` with Python's `re.sub` (backreferences, flags, count).
// oracle.py -v "$V" '{{ s | regex_replace('"'"'o'"'"', '"'"'0'"'"') }}' '{{ '"'"'ab12cd'"'"' | regex_replace('"'"'(\d+)'"'"', '"'"'<\1>'"'"') }}' '{{ '"'"'test_name'"'"' | regex_replace('"'"'^(.*)_name$'"'"', '"'"'\1'"'"') }}' '{{ '"'"'aaa'"'"' | regex_replace('"'"'a'"'"', '"'"'b'"'"', count=2) }}' '{{ '"'"'Key = value'"'"' | regex_replace('"'"'key\s*=\s*(.*)'"'"', '"'"'\1'"'"', ignorecase=true) }}' '{{ '"'"'a-b'"'"' | regex_replace('"'"'(?P<x>\w)-(?P<y>\w)'"'"', '"'"'\g<y>-\g<x>'"'"') }}' json:'"{{ '"'"'x\ny'"'"' | regex_replace('"'"'^'"'"', '"'"'> '"'"', multiline=true) }}"' '{{ '"'"'foo'"'"' | regex_replace('"'"'(?<=f)o'"'"', '"'"'0'"'"') }}' '{{ '"'"'abab'"'"' | regex_replace('"'"'(ab)\1'"'"', '"'"'X'"'"') }}'
#[test]
fn filter_regex_replace() {
    check(
        &run(
            V,
            &[
                "{{ s | regex_replace('o', '0') }}",
                r#"{{ 'ab12cd' | regex_replace('(\d+)', '<\1>') }}"#,
                r#"{{ 'test_name' | regex_replace('^(.*)_name$', '\1') }}"#,
                "{{ 'aaa' | regex_replace('a', 'b', count=2) }}",
                r#"{{ 'Key = value' | regex_replace('key\s*=\s*(.*)', '\1', ignorecase=true) }}"#,
                r#"{{ 'a-b' | regex_replace('(?P<x>\w)-(?P<y>\w)', '\g<y>-\g<x>') }}"#,
                "{{ 'x\ny' | regex_replace('^', '> ', multiline=true) }}",
                "{{ 'foo' | regex_replace('(?<=f)o', '0') }}",
                r#"{{ 'abab' | regex_replace('(ab)\1', 'X') }}"#,
            ],
        ),
        &[
            "str 'hell0 w0rld'",
            "str 'ab<12>cd'",
            "str 'test'",
            "str 'bba'",
            "str 'value'",
            "str 'b-a'",
            r#"str '> x\n> y'"#,
            "str 'f0o'",
            "str 'X'",
        ],
    );
}
/// `regex_search` (with groups), `regex_findall`, `regex_escape`.
// oracle.py -v "$V" '{{ s | regex_search('"'"'w.r'"'"') }}' '{{ s | regex_search('"'"'x'"'"') }}' '{{ '"'"'v1.2.3'"'"' | regex_search('"'"'v(\d+)\.(\d+)'"'"', '"'"'\1'"'"', '"'"'\2'"'"') }}' '{{ '"'"'v1.2'"'"' | regex_search('"'"'v(?P<maj>\d+)'"'"', '"'"'\g<maj>'"'"') }}' '{{ '"'"'a1b22c333'"'"' | regex_findall('"'"'\d+'"'"') }}' '{{ '"'"'k1=v1 k2=v2'"'"' | regex_findall('"'"'(\w+)=(\w+)'"'"') }}' '{{ '"'"'a.b*c'"'"' | regex_escape }}' json:'"{{ '"'"'line\n'"'"' | regex_search('"'"'line$'"'"') }}"' json:'"{{ '"'"'key = v\nx'"'"' | regex_search('"'"'key\\s*=.*$'"'"', multiline=True) }}"'
#[test]
fn filter_regex_search_findall_escape() {
    check(
        &run(
            V,
            &[
                "{{ s | regex_search('w.r') }}",
                "{{ s | regex_search('x') }}",
                r#"{{ 'v1.2.3' | regex_search('v(\d+)\.(\d+)', '\1', '\2') }}"#,
                r#"{{ 'v1.2' | regex_search('v(?P<maj>\d+)', '\g<maj>') }}"#,
                r#"{{ 'a1b22c333' | regex_findall('\d+') }}"#,
                r#"{{ 'k1=v1 k2=v2' | regex_findall('(\w+)=(\w+)') }}"#,
                "{{ 'a.b*c' | regex_escape }}",
                "{{ 'line\n' | regex_search('line$') }}",
                "{{ 'key = v\nx' | regex_search('key\\s*=.*$', multiline=True) }}",
            ],
        ),
        &[
            "str 'wor'",
            "NoneType None",
            "list ['1', '2']",
            "list ['1']",
            "list ['1', '22', '333']",
            "list [['k1', 'v1'], ['k2', 'v2']]",
            r#"str 'a\\.b\\*c'"#,
            "str 'line'",
            "str 'key = v'",
        ],
    );
}
/// `comment`, `mandatory`, `type_debug`.
// oracle.py -v "$V" '{{ '"'"'abc'"'"' | comment }}' json:'"{{ '"'"'a\nb'"'"' | comment('"'"'c'"'"') }}"' '{{ undefined_v | mandatory }}' '{{ a | mandatory }}' '{{ d | type_debug }}' '{{ [1, 2] | type_debug }}'
#[test]
fn filter_comment_mandatory_type_debug() {
    check(
        &run(
            V,
            &[
                "{{ 'abc' | comment }}",
                "{{ 'a\nb' | comment('c') }}",
                "{{ undefined_v | mandatory }}",
                "{{ a | mandatory }}",
                "{{ d | type_debug }}",
                "{{ [1, 2] | type_debug }}",
            ],
        ),
        &[
            r#"str '#\n# abc\n#'"#,
            r#"str '//\n// a\n// b\n//'"#,
            "ERROR AnsibleTemplatePluginRuntimeError: The filter plugin 'ansible.builtin.mandatory' failed: Mandatory variable 'undefined_v' not defined.",
            "int 1",
            "str 'dict'",
            "str 'list'",
        ],
    );
}
/// A filter or test that does not exist is an error when the template compiles, except inside an `if`, where it fails only when reached.
// oracle.py -v "$V" '{{ a | nope }}' '{{ a is nope }}' '{% if false %}{{ a | nope }}{% endif %}ok' '{{ (a | nope) if false else 1 }}' '{% if true %}{{ a | nope }}{% endif %}'
#[test]
fn missing_filters_and_tests() {
    check(
        &run(
            V,
            &[
                "{{ a | nope }}",
                "{{ a is nope }}",
                "{% if false %}{{ a | nope }}{% endif %}ok",
                "{{ (a | nope) if false else 1 }}",
                "{% if true %}{{ a | nope }}{% endif %}",
            ],
        ),
        &[
            "ERROR AnsibleTemplateSyntaxError: Syntax error in template: No filter named 'nope'.",
            "ERROR AnsibleTemplateSyntaxError: Syntax error in template: No test named 'nope'.",
            "str 'ok'",
            "int 1",
            "ERROR AnsibleTemplateError: Error rendering template: No filter named 'nope' found.",
        ],
    );
}
/// Type tests.
// oracle.py -v "$V" '{{ a is number }}' '{{ fl is float }}' '{{ a is integer }}' '{{ t is boolean }}' '{{ s is string }}' '{{ d is mapping }}' '{{ l is sequence }}' '{{ s is sequence }}' '{{ d is iterable }}' '{{ n is none }}' '{{ a is none }}' '{{ t is true }}' '{{ 1 is true }}' '{{ t is number }}' '{{ t is integer }}'
#[test]
fn tests_types() {
    check(
        &run(
            V,
            &[
                "{{ a is number }}",
                "{{ fl is float }}",
                "{{ a is integer }}",
                "{{ t is boolean }}",
                "{{ s is string }}",
                "{{ d is mapping }}",
                "{{ l is sequence }}",
                "{{ s is sequence }}",
                "{{ d is iterable }}",
                "{{ n is none }}",
                "{{ a is none }}",
                "{{ t is true }}",
                "{{ 1 is true }}",
                "{{ t is number }}",
                "{{ t is integer }}",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
        ],
    );
}
/// Comparison and number tests.
// oracle.py -v "$V" '{{ 3 is odd }}' '{{ 4 is even }}' '{{ 9 is divisibleby 3 }}' '{{ a is eq 1 }}' '{{ a is equalto(1) }}' '{{ a is ne 2 }}' '{{ 2 is gt 1 }}' '{{ 2 is ge 2 }}' '{{ 1 is lt 2 }}' '{{ 1 is le 0 }}' '{{ 2 is in l }}' '{{ l is contains 2 }}' '{{ '"'"'abc'"'"' is lower }}' '{{ '"'"'ABC'"'"' is upper }}'
#[test]
fn tests_comparisons() {
    check(
        &run(
            V,
            &[
                "{{ 3 is odd }}",
                "{{ 4 is even }}",
                "{{ 9 is divisibleby 3 }}",
                "{{ a is eq 1 }}",
                "{{ a is equalto(1) }}",
                "{{ a is ne 2 }}",
                "{{ 2 is gt 1 }}",
                "{{ 2 is ge 2 }}",
                "{{ 1 is lt 2 }}",
                "{{ 1 is le 0 }}",
                "{{ 2 is in l }}",
                "{{ l is contains 2 }}",
                "{{ 'abc' is lower }}",
                "{{ 'ABC' is upper }}",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
        ],
    );
}
/// `match` (anchored), `search`, `regex`.
// oracle.py -v "$V" '{{ s is match('"'"'hel'"'"') }}' '{{ s is match('"'"'ell'"'"') }}' '{{ s is search('"'"'ell'"'"') }}' '{{ s is regex('"'"'^h.*d$'"'"') }}' '{{ '"'"'HELLO'"'"' is match('"'"'hel'"'"', ignorecase=true) }}' json:'"{{ '"'"'a\nb'"'"' is search('"'"'^b'"'"', multiline=true) }}"' '{{ s is regex('"'"'ell'"'"', match_type='"'"'match'"'"') }}'
#[test]
fn tests_regex() {
    check(
        &run(
            V,
            &[
                "{{ s is match('hel') }}",
                "{{ s is match('ell') }}",
                "{{ s is search('ell') }}",
                "{{ s is regex('^h.*d$') }}",
                "{{ 'HELLO' is match('hel', ignorecase=true) }}",
                "{{ 'a\nb' is search('^b', multiline=true) }}",
                "{{ s is regex('ell', match_type='match') }}",
            ],
        ),
        &[
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "bool False",
        ],
    );
}
/// `version`: loose, strict and semantic versions.
// oracle.py -v "$V" '{{ ver is version('"'"'2.19'"'"', '"'"'>='"'"') }}' '{{ ver is version('"'"'2.19.10'"'"', '"'"'<'"'"') }}' '{{ '"'"'1.0'"'"' is version('"'"'1.0.0'"'"', '"'"'=='"'"') }}' '{{ '"'"'1.2a1'"'"' is version('"'"'1.2'"'"', '"'"'lt'"'"', strict=true) }}' '{{ '"'"'1.2.3-rc1'"'"' is version('"'"'1.2.3'"'"', '"'"'<'"'"', version_type='"'"'semver'"'"') }}' '{{ ver is version_compare('"'"'3'"'"', '"'"'lt'"'"') }}' '{{ '"'"'1.2-rc1'"'"' is version('"'"'1.2'"'"', '"'"'>'"'"') }}' '{{ '"'"'1.2'"'"' is version('"'"'1.a'"'"', '"'"'<'"'"') }}' '{{ '"'"''"'"' is version('"'"'1'"'"') }}'
#[test]
fn tests_version() {
    check(
        &run(
            V,
            &[
                "{{ ver is version('2.19', '>=') }}",
                "{{ ver is version('2.19.10', '<') }}",
                "{{ '1.0' is version('1.0.0', '==') }}",
                "{{ '1.2a1' is version('1.2', 'lt', strict=true) }}",
                "{{ '1.2.3-rc1' is version('1.2.3', '<', version_type='semver') }}",
                "{{ ver is version_compare('3', 'lt') }}",
                "{{ '1.2-rc1' is version('1.2', '>') }}",
                "{{ '1.2' is version('1.a', '<') }}",
                "{{ '' is version('1') }}",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
            "ERROR AnsibleTemplatePluginRuntimeError: The test plugin 'ansible.builtin.version' failed: Version comparison failed: '<' not supported between instances of 'int' and 'str'",
            "ERROR AnsibleTemplatePluginRuntimeError: The test plugin 'ansible.builtin.version' failed: Input version value cannot be empty",
        ],
    );
}
/// `subset`, `superset`, `any`, `all`, `truthy`, `falsy`, `abs`.
// oracle.py -v "$V" '{{ [1, 2] is subset([1, 2, 3]) }}' '{{ [1, 2, 3] is superset([2]) }}' '{{ [1, 0] is any }}' '{{ [1, 0] is all }}' '{{ '"'"'yes'"'"' is truthy }}' '{{ '"'"''"'"' is falsy }}' '{{ '"'"'no'"'"' is truthy(convert_bool=True) }}' '{{ '"'"'/x'"'"' is abs }}' '{{ '"'"'x'"'"' is abs }}' '{{ '"'"'upper'"'"' is filter }}' '{{ '"'"'nope'"'"' is test }}'
#[test]
fn tests_sets_and_truth() {
    check(
        &run(
            V,
            &[
                "{{ [1, 2] is subset([1, 2, 3]) }}",
                "{{ [1, 2, 3] is superset([2]) }}",
                "{{ [1, 0] is any }}",
                "{{ [1, 0] is all }}",
                "{{ 'yes' is truthy }}",
                "{{ '' is falsy }}",
                "{{ 'no' is truthy(convert_bool=True) }}",
                "{{ '/x' is abs }}",
                "{{ 'x' is abs }}",
                "{{ 'upper' is filter }}",
                "{{ 'nope' is test }}",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
        ],
    );
}
/// Task result tests on dicts.
// oracle.py -v "$V" '{{ {'"'"'failed'"'"': true} is failed }}' '{{ {'"'"'changed'"'"': false} is changed }}' '{{ {'"'"'rc'"'"': 0} is success }}' '{{ {'"'"'skipped'"'"': true} is skipped }}' '{{ {'"'"'results'"'"': [{'"'"'changed'"'"': true}]} is changed }}' '{{ 1 is failed }}'
#[test]
fn tests_task_results() {
    check(
        &run(
            V,
            &[
                "{{ {'failed': true} is failed }}",
                "{{ {'changed': false} is changed }}",
                "{{ {'rc': 0} is success }}",
                "{{ {'skipped': true} is skipped }}",
                "{{ {'results': [{'changed': true}]} is changed }}",
                "{{ 1 is failed }}",
            ],
        ),
        &[
            "bool True",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "ERROR AnsibleTemplatePluginRuntimeError: The test plugin 'ansible.builtin.failed' failed: The 'failed' test expects a dictionary",
        ],
    );
}
/// `lookup('vars')` and `query('vars')`: templated values, `default`, lists.
// oracle.py -v "$V" '{{ lookup('"'"'vars'"'"', '"'"'a'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'b'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'nope'"'"', default='"'"'d'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'nope'"'"') }}' '{{ query('"'"'vars'"'"', '"'"'a'"'"', '"'"'s'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'a'"'"', '"'"'s'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'s'"'"', '"'"'s'"'"') }}' '{{ q('"'"'vars'"'"', '"'"'a'"'"') }}' '{{ lookup('"'"'vars'"'"', '"'"'a'"'"', wantlist=true) }}' '{{ lookup('"'"'vars'"'"', '"'"'nope'"'"', errors='"'"'ignore'"'"') }}'
#[test]
fn lookup_vars() {
    check(
        &run(
            V,
            &[
                "{{ lookup('vars', 'a') }}",
                "{{ lookup('vars', 'b') }}",
                "{{ lookup('vars', 'nope', default='d') }}",
                "{{ lookup('vars', 'nope') }}",
                "{{ query('vars', 'a', 's') }}",
                "{{ lookup('vars', 'a', 's') }}",
                "{{ lookup('vars', 's', 's') }}",
                "{{ q('vars', 'a') }}",
                "{{ lookup('vars', 'a', wantlist=true) }}",
                "{{ lookup('vars', 'nope', errors='ignore') }}",
            ],
        ),
        &[
            "int 1",
            "int 2",
            "str 'd'",
            "ERROR AnsibleUndefinedVariable: No variable named 'nope' was found.",
            "list [1, 'hello world']",
            "list [1, 'hello world']",
            "str 'hello world,hello world'",
            "list [1]",
            "list [1]",
            "ERROR AnsibleUndefinedVariable: No variable named 'nope' was found.",
        ],
    );
}
/// `dict`, `items`, `list`, `indexed_items`, `nested`, `together`, `sequence`.
// oracle.py -v "$V" '{{ query('"'"'dict'"'"', d) }}' '{{ lookup('"'"'dict'"'"', {'"'"'a'"'"': 1}) }}' '{{ query('"'"'items'"'"', [1, [2]], 3) }}' '{{ query('"'"'indexed_items'"'"', ['"'"'a'"'"', '"'"'b'"'"']) }}' '{{ query('"'"'nested'"'"', [1, 2], ['"'"'a'"'"']) }}' '{{ query('"'"'together'"'"', [1, 2], ['"'"'a'"'"']) }}' '{{ query('"'"'sequence'"'"', '"'"'start=1 end=3'"'"') }}' '{{ query('"'"'sequence'"'"', '"'"'count=3 format=h%02d'"'"') }}' '{{ lookup('"'"'list'"'"', [1, 2]) }}' '{{ lookup('"'"'nope_plugin'"'"', 1) }}'
#[test]
fn lookups_of_lists_and_dicts() {
    check(
        &run(
            V,
            &[
                "{{ query('dict', d) }}",
                "{{ lookup('dict', {'a': 1}) }}",
                "{{ query('items', [1, [2]], 3) }}",
                "{{ query('indexed_items', ['a', 'b']) }}",
                "{{ query('nested', [1, 2], ['a']) }}",
                "{{ query('together', [1, 2], ['a']) }}",
                "{{ query('sequence', 'start=1 end=3') }}",
                "{{ query('sequence', 'count=3 format=h%02d') }}",
                "{{ lookup('list', [1, 2]) }}",
                "{{ lookup('nope_plugin', 1) }}",
            ],
        ),
        &[
            "list [{'key': 'x', 'value': 1}, {'key': 'y', 'value': 'two'}, {'key': 'z', 'value': [1, 2]}]",
            "dict {'key': 'a', 'value': 1}",
            "list [1, [2], 3]",
            "list [[0, 'a'], [1, 'b']]",
            "list [[1, 'a'], [2, 'a']]",
            "list [[1, 'a'], [2, None]]",
            "list ['1', '2', '3']",
            "list ['h01', 'h02', 'h03']",
            "list [1, 2]",
            "ERROR The lookup plugin 'nope_plugin' was not found.",
        ],
    );
}
/// `range()`, `dict()`, `omit` in lists.
// oracle.py -v "$V" '{{ range(3) | list }}' '{{ range(1, 10, 3) | list }}' '{{ dict(a=1, b=2) }}' '{{ dict([('"'"'a'"'"', 1)]) }}' '{{ [1, omit, 2] }}' '{{ {'"'"'a'"'"': omit, '"'"'b'"'"': 1} }}' '{{ omit }}'
#[test]
fn globals() {
    check(
        &run(
            V,
            &[
                "{{ range(3) | list }}",
                "{{ range(1, 10, 3) | list }}",
                "{{ dict(a=1, b=2) }}",
                "{{ dict([('a', 1)]) }}",
                "{{ [1, omit, 2] }}",
                "{{ {'a': omit, 'b': 1} }}",
                "{{ omit }}",
            ],
        ),
        &[
            "list [0, 1, 2]",
            "list [1, 4, 7]",
            "dict {'a': 1, 'b': 2}",
            "dict {'a': 1}",
            "list [1, 2]",
            "dict {'b': 1}",
            "ERROR AnsibleValueOmittedError: A template was resolved to an Omit scalar.",
        ],
    );
}
/// A conditional's result must be a boolean: a truthy string, a number, a list or None is an error.
// oracle.py -c -v "$V" 'a == 1' t f a s yes_str n '[]' empty '1 if t else 0' 't and f' 'd.x == 1' ''"'"'x'"'"' in d' 'l | length > 2' 'b == 2'
#[test]
fn condition_must_be_boolean() {
    check(
        &run_cond(
            V,
            &[
                "a == 1",
                "t",
                "f",
                "a",
                "s",
                "yes_str",
                "n",
                "[]",
                "empty",
                "1 if t else 0",
                "t and f",
                "d.x == 1",
                "'x' in d",
                "l | length > 2",
                "b == 2",
            ],
        ),
        &[
            "bool True",
            "bool True",
            "bool False",
            "ERROR AnsibleBrokenConditionalError: Conditional result (True) was derived from value of type 'int' at '/tmp/tmpw162ihqw.yml:1:4'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (True) was derived from value of type 'str' at '/tmp/tmpw162ihqw.yml:3:4'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (True) was derived from value of type 'str' at '/tmp/tmpw162ihqw.yml:14:10'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (False) was derived from value of type 'NoneType' at '<unknown>'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (False) was derived from value of type 'list' at '<unknown>'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (False) was derived from value of type 'str' at '/tmp/tmpw162ihqw.yml:30:8'. Conditionals must have a boolean result.",
            "ERROR AnsibleBrokenConditionalError: Conditional result (True) was derived from value of type 'int' at '<unknown>'. Conditionals must have a boolean result.",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
        ],
    );
}
/// `when: x | bool`.
// oracle.py -c -v "$V" 'yes_str | bool' 'no_str | bool' 't | bool' 'num_str | bool' 'not (f | bool)'
#[test]
fn condition_with_bool_filter() {
    check(
        &run_cond(
            V,
            &[
                "yes_str | bool",
                "no_str | bool",
                "t | bool",
                "num_str | bool",
                "not (f | bool)",
            ],
        ),
        &[
            "bool True",
            "bool False",
            "bool True",
            "bool False",
            "bool True",
        ],
    );
}
/// Undefined variables in conditionals: an error, unless tested or never reached.
// oracle.py -c -v "$V" undefined_v 'undefined_v is defined' 'undefined_v is not defined' 'a == 2 and undefined_v' 'a == 1 or undefined_v' 'undefined_v | default(false)' 'd.nope is defined'
#[test]
fn condition_undefined() {
    check(
        &run_cond(
            V,
            &[
                "undefined_v",
                "undefined_v is defined",
                "undefined_v is not defined",
                "a == 2 and undefined_v",
                "a == 1 or undefined_v",
                "undefined_v | default(false)",
                "d.nope is defined",
            ],
        ),
        &[
            "ERROR AnsibleUndefinedVariable: Error while evaluating conditional: 'undefined_v' is undefined",
            "bool False",
            "bool True",
            "bool False",
            "bool True",
            "bool False",
            "bool False",
        ],
    );
}
/// Conditionals that are templates, or contain template constants, are templated first (deprecated in 2.19, still done).
// oracle.py -c -v "$V" '"{{ a }}" == "1"' 'a == "{{ a }}"' '{{ a == 1 }}' '{{ t }}' '{{ cond_expr }}'
#[test]
fn condition_embedded_templates() {
    check(
        &run_cond(
            V,
            &[
                r#""{{ a }}" == "1""#,
                r#"a == "{{ a }}""#,
                "{{ a == 1 }}",
                "{{ t }}",
                "{{ cond_expr }}",
            ],
        ),
        &[
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
        ],
    );
}
/// An empty conditional is an error.
// oracle.py -c -v "$V" '' '  '
#[test]
fn condition_empty() {
    check(
        &run_cond(V, &["", "  "]),
        &[
            "ERROR AnsibleBrokenConditionalError: Empty conditional expressions are not allowed.",
            "ERROR AnsibleBrokenConditionalError: Empty conditional expressions are not allowed.",
        ],
    );
}
/// Conditionals keep Python's escapes in strings (no escape_backslashes).
// oracle.py -c -v "$V" ''"'"'\d'"'"' == '"'"'\\d'"'"'' 's is search('"'"'w\w+'"'"')' ''"'"'a\tb'"'"' | length == 3'
#[test]
fn condition_backslashes() {
    check(
        &run_cond(
            V,
            &[
                r#"'\d' == '\\d'"#,
                r#"s is search('w\w+')"#,
                r#"'a\tb' | length == 3"#,
            ],
        ),
        &["bool True", "bool True", "bool True"],
    );
}

/// Compare a file of cases with the oracle (see the module header).
#[test]
#[ignore]
fn oracle_batch() {
    let (Ok(cases), Ok(out)) = (
        std::env::var("CONCERTO_TEMPLATE_CASES"),
        std::env::var("CONCERTO_TEMPLATE_OUT"),
    ) else {
        return;
    };
    let text = std::fs::read_to_string(cases).expect("cases file");
    let mut lines = Vec::new();
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).expect("case json");
        let yaml = case["vars"].as_str().unwrap_or("{}");
        let template = case["template"].as_str().unwrap_or("");
        let t = Templar::new();
        let mut b = LazyVars::builder(&t);
        if let Some(files) = case["files"].as_array() {
            for f in files {
                let path = f.as_str().unwrap_or("");
                let text = std::fs::read_to_string(path).expect("vars file");
                let doc = crate::yaml::from_yaml(path, &text).expect("vars file parses");
                b = b.mapping(&doc.root);
            }
        }
        let doc = crate::yaml::parse("vars.yml", yaml).expect("vars parse");
        let v = b.mapping(&doc.root).build();
        let r = if case["cond"].as_bool().unwrap_or(false) {
            show_tri(t.condition(template, &v))
        } else {
            show(t.template(template, &v))
        };
        lines.push(serde_json::json!({ "out": r }).to_string());
    }
    std::fs::write(out, lines.join("\n") + "\n").expect("write results");
}

// ----- unknown (run-time) values -----
//
// The oracle has no unknown values; these expectations hold because
// the result depends on the value the fact has at run time (the
// oracle, given different values for `ansible_facts`, gives different
// results), or, for the known ones, because it gives the same result
// whatever the fact is: e.g. `oracle.py -c -v '{f: false, ansible_facts:
// {x: 1}}' 'f and ansible_facts.x'` and with `x: "a"` both print
// `bool False`.

/// `V` plus run-time names.
fn with_facts(t: &Templar, extra: &str) -> LazyVars {
    let doc = crate::yaml::parse("vars.yml", &format!("{V}{extra}")).expect("test vars parse");
    LazyVars::builder(t)
        .mapping(&doc.root)
        .unknown("ansible_facts")
        .unknown("result")
        .build()
}

fn run_facts(extra: &str, templates: &[&str]) -> Vec<String> {
    let t = Templar::new();
    let v = with_facts(&t, extra);
    templates.iter().map(|s| show(t.template(s, &v))).collect()
}

fn run_facts_cond(extra: &str, conds: &[&str]) -> Vec<String> {
    let t = Templar::new();
    let v = with_facts(&t, extra);
    conds.iter().map(|s| show_tri(t.condition(s, &v))).collect()
}

/// Whatever needs an unknown value's actual value is unknown (never an
/// error, never a guess): comparisons, `in`, tests, filters, branches,
/// loops, methods, arithmetic, string building.
#[test]
fn unknown_values_propagate() {
    let templates = [
        "{{ ansible_facts }}",
        "{{ ansible_facts.os_family }}",
        "{{ ansible_facts['a'].b }}",
        "{{ ansible_facts.x.y | default(1) }}",
        "{{ ansible_facts is defined }}",
        "{{ ansible_facts.os_family == 'Debian' }}",
        "{{ ansible_facts.distribution in ['Ubuntu', 'Debian'] }}",
        "{{ 'Ubuntu' in ansible_facts.distribution }}",
        "{{ 'a' ~ ansible_facts.x }}",
        "x{{ ansible_facts.x }}y",
        "{{ ansible_facts.mem | int + 1 }}",
        "{{ ansible_facts.x.split(',') }}",
        "{{ lookup('vars', 'ansible_facts') }}",
        "{{ a if ansible_facts.x else 2 }}",
        "{% if ansible_facts.x %}a{% endif %}",
        "{% for x in ansible_facts.l %}{{ x }}{% endfor %}",
        "{{ not ansible_facts.x }}",
        "{{ -ansible_facts.x }}",
        "{{ ansible_facts.x and f }}",
        "{{ l | select('in', ansible_facts.l) | list }}",
        "{{ ansible_facts | dict2items }}",
    ];
    let ours = run_facts("", &templates);
    for (t, o) in templates.iter().zip(&ours) {
        assert_eq!(o, "UNKNOWN ansible_facts", "{t}");
    }
}

/// Run-time names are collected from both sides of an operation and
/// from every node of a template.
#[test]
fn unknown_names_are_collected() {
    check(
        &run_facts(
            "",
            &[
                "{{ ansible_facts.a ~ result.b }}",
                "x{{ ansible_facts.a }}{{ result.b }}",
                "{{ result.rc == 0 }}",
                "{{ result is changed }}",
                "{{ ansible_facts.x if result.y else 1 }}",
            ],
        ),
        &[
            "UNKNOWN ansible_facts,result",
            "UNKNOWN ansible_facts,result",
            "UNKNOWN result",
            "UNKNOWN result",
            "UNKNOWN ansible_facts,result",
        ],
    );
}

/// Short-circuits and branches decide without the unknown value when
/// they can.
#[test]
fn short_circuits_decide_without_unknown_values() {
    check(
        &run_facts_cond(
            "",
            &[
                "f and ansible_facts.x",
                "t or ansible_facts.x",
                "a == 2 and ansible_facts.x == 1",
                "yes_str | bool or ansible_facts.os_family == 'RedHat'",
                "ansible_facts.x and f",
                "ansible_facts.os_family == 'Debian'",
                "undefined_v is defined and ansible_facts.x",
            ],
        ),
        &[
            "bool False",
            "bool True",
            "bool False",
            "bool True",
            "UNKNOWN ansible_facts",
            "UNKNOWN ansible_facts",
            "bool False",
        ],
    );
    check(
        &run_facts(
            "",
            &[
                "{{ ansible_facts.x if f else 1 }}",
                "{{ [ansible_facts.x, 1][1] }}",
                "{% if f %}{{ ansible_facts.x }}{% else %}known{% endif %}",
            ],
        ),
        &["int 1", "int 1", "str 'known'"],
    );
}

/// A list or dict with unknown parts is a partial result; its known
/// parts are known where they are used.
#[test]
fn results_keep_known_parts() {
    let t = Templar::new();
    let v = with_facts(
        &t,
        "svc: {a: 1, b: \"{{ ansible_facts.x }}\", c: \"{{ a + 1 }}\"}\n",
    );
    match t.template("{{ svc }}", &v).expect("templates") {
        Outcome::Unknown {
            depends_on,
            partial: Some(Value::Dict(d)),
        } => {
            assert_eq!(depends_on, set(&["ansible_facts"]));
            assert_eq!(d.get_str("a").map(|v| v.repr()), Some("1".into()));
            assert!(d.get_str("b").is_some_and(|v| v.is_unknown()));
            assert_eq!(d.get_str("c").map(|v| v.repr()), Some("2".into()));
        }
        other => panic!("expected a partial dict, got {other:?}"),
    }
    match t
        .template("{{ [ansible_facts.x, 1] }}", &v)
        .expect("templates")
    {
        Outcome::Unknown {
            partial: Some(p), ..
        } => assert_eq!(p.repr(), "[<unknown: ansible_facts>, 1]"),
        other => panic!("expected a partial list, got {other:?}"),
    }
    check(
        &[
            show(t.template("{{ svc.a }}", &v)),
            show(t.template("{{ svc.c }}", &v)),
            show(t.template("{{ svc.b }}", &v)),
            show(t.template("{{ svc.keys() | list }}", &v)),
            show(t.template("{{ svc | dict2items | length }}", &v)),
            show(t.template("{{ svc | length }}", &v)),
            show(t.template("{{ svc | to_json }}", &v)),
        ],
        &[
            "int 1",
            "int 2",
            "UNKNOWN ansible_facts",
            "list ['a', 'b', 'c']",
            "int 3",
            "int 3",
            "UNKNOWN ansible_facts",
        ],
    );
}

/// Through variables, the dependency is on the run-time name, not on
/// the variables in between.
#[test]
fn unknown_through_variables() {
    check(
        &run_facts(
            "x: \"{{ ansible_facts.y }}\"\nz: \"{{ x | upper }}\"\nw: \"{{ z if f else 'w' }}\"\n",
            &["{{ z }}", "{{ w }}", "{{ x is defined }}"],
        ),
        &["UNKNOWN ansible_facts", "str 'w'", "UNKNOWN ansible_facts"],
    );
}

/// An undefined part is an error whatever the unknown parts are.
#[test]
fn undefined_is_an_error_next_to_unknown_values() {
    for t in [
        "{{ ansible_facts.x }}{{ undefined_v }}",
        "{{ [ansible_facts.x, undefined_v] }}",
        "{{ undefined_v + ansible_facts.x }}",
    ] {
        let out = run_facts("", &[t]);
        assert!(
            out[0].starts_with("ERROR 'undefined_v' is undefined"),
            "{t}: {}",
            out[0]
        );
    }
}

/// `when:` lists: a known false item decides.
#[test]
fn condition_lists() {
    let u = || Tri::Unknown(set(&["ansible_facts"]));
    assert_eq!(Tri::all([Tri::True, Tri::True]), Tri::True);
    assert_eq!(Tri::all([u(), Tri::False]), Tri::False);
    assert_eq!(Tri::all([Tri::True, u()]), u());
    assert_eq!(Tri::all([]), Tri::True);
}

/// Filters and lookups that are not implemented (Kolla's own...) can be
/// unknown instead of errors; `password` and the like always are.
#[test]
fn missing_plugins_can_be_unknown() {
    let t = Templar::with_options(Options {
        missing_plugins_unknown: true,
        ..Options::default()
    });
    let v = vars(&t, V);
    let out: Vec<String> = [
        "{{ 'api' | kolla_address }}",
        "{{ f and ('api' | kolla_address) == 'x' }}",
        "{{ a is kolla_test }}",
        "{{ lookup('kolla_lookup', 'x') }}",
    ]
    .iter()
    .map(|s| show(t.template(s, &v)))
    .collect();
    check(
        &out,
        &[
            "UNKNOWN filter:kolla_address",
            "bool False",
            "UNKNOWN test:kolla_test",
            "UNKNOWN lookup:kolla_lookup",
        ],
    );
    check(
        &run(
            V,
            &[
                "{{ lookup('password', '/tmp/x length=8') }}",
                "{{ s | password_hash('sha512') }}",
                "{{ l | random }}",
            ],
        ),
        &[
            "UNKNOWN lookup:password",
            "UNKNOWN random or host-dependent filter",
            "UNKNOWN random or host-dependent filter",
        ],
    );
}

/// `!vault` values cannot be decrypted statically: unknown.
#[test]
fn vault_values_are_unknown() {
    let yaml = "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nuse: \"{{ secret }}\"\n";
    check(
        &run(yaml, &["{{ use }}", "{{ secret is defined }}"]),
        &["UNKNOWN secret", "UNKNOWN secret"],
    );
}

// ----- LazyVars -----

/// Counts the lookups of a parent scope.
struct Counting {
    values: Values,
    count: std::sync::atomic::AtomicUsize,
}

impl Scope for Counting {
    fn lookup(&self, name: &str) -> Lookup {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.values.lookup(name)
    }
}

/// A variable is templated once, then memoised; names not defined in a
/// scope are looked up in its parent.
#[test]
fn variables_are_memoised_and_parents_consulted() {
    let t = Templar::new();
    let mut base = Values::new();
    base.set("p", Value::Int(41));
    let parent = Arc::new(Counting {
        values: base,
        count: Default::default(),
    });
    let doc = crate::yaml::parse("v.yml", "a: \"{{ p + 1 }}\"\nb: \"{{ a }}-{{ a }}\"\n")
        .expect("parses");
    let v = LazyVars::builder(&t)
        .mapping(&doc.root)
        .parent(parent.clone())
        .build();
    check(
        &[
            show(t.template("{{ a }}{{ a }}{{ a }}", &v)),
            show(t.template("{{ b }}", &v)),
            show(t.template("{{ p }}", &v)),
        ],
        &["str '424242'", "str '42-42'", "int 41"],
    );
    // `p` once for `a`, once for the direct `{{ p }}`.
    assert_eq!(parent.count.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A value that needs itself is an error naming the chain (Ansible:
/// `Recursive loop detected in template`, see `oracle.py -v '{cyc1: "{{
/// cyc2 }}", cyc2: "{{ cyc1 }}"}' '{{ cyc1 }}'`), also through a dict's
/// items; a reference in a branch not taken is not a cycle.
#[test]
fn cycles_are_errors_naming_the_chain() {
    let t = Templar::new();
    let v = vars(
        &t,
        "c1: \"{{ c2 }}\"\nc2: \"{{ c1 }}\"\nself: \"{{ self }}\"\nd: {a: \"{{ d.a }}\"}\nx: \"{{ y if false else 1 }}\"\ny: \"{{ x }}\"\n",
    );
    for (tpl, chain) in [
        ("{{ c1 }}", "c1 -> c2 -> c1"),
        ("{{ self }}", "self -> self"),
        ("{{ d.a }}", "d.a -> d.a"),
    ] {
        let e = t.template(tpl, &v).expect_err("a cycle");
        assert_eq!(e.kind, ErrorKind::Cycle, "{tpl}: {e}");
        assert!(e.message.contains(chain), "{tpl}: {}", e.message);
    }
    // oracle.py -v '{x: "{{ y if false else 1 }}", y: "{{ x }}"}' '{{ x }}' '{{ y }}'
    check(
        &[
            show(t.template("{{ x }}", &v)),
            show(t.template("{{ y }}", &v)),
        ],
        &["int 1", "int 1"],
    );
}

/// `hostvars`: another host's variables, templated in its own scope.
#[test]
fn hostvars_from_lazy_vars() {
    let t = Templar::new();
    let doc1 = crate::yaml::parse("h1.yml", "x: 1\ny: \"{{ x + 1 }}\"\n").expect("parses");
    let h1 = LazyVars::builder(&t).mapping(&doc1.root).build();
    let hostvars: Dict = [(Key::str("h1"), h1.as_value())].into_iter().collect();
    let doc2 = crate::yaml::parse("h2.yml", "x: 10\n").expect("parses");
    let h2 = LazyVars::builder(&t)
        .mapping(&doc2.root)
        .value("hostvars", Value::Dict(hostvars))
        .build();
    check(
        &[
            show(t.template("{{ hostvars['h1'].y }}", &h2)),
            show(t.template("{{ hostvars.h1.y + x }}", &h2)),
            show(t.template("{{ hostvars.h1.nope | default('d') }}", &h2)),
        ],
        &["int 2", "int 12", "str 'd'"],
    );
}

/// `template_node` templates YAML data, except `!unsafe` strings.
#[test]
fn template_node_keeps_unsafe_strings() {
    let t = Templar::new();
    let v = vars(&t, V);
    let doc = crate::yaml::parse(
        "args.yml",
        "a: \"{{ a }}\"\nb: !unsafe \"{{ a }}\"\nc: [1, \"{{ b }}\", \"{{ omit }}\"]\nd: \"{{ omit }}\"\n",
    )
    .expect("parses");
    let out = t.template_node(&doc.root, &v).expect("templates");
    assert_eq!(show(Ok(out)), "dict {'a': 1, 'b': '{{ a }}', 'c': [1, 2]}");
}

/// A scope of plain values.
#[test]
fn values_scope() {
    let t = Templar::new();
    let mut v = Values::new();
    v.set("a", Value::Int(1)).set("s", "x").unknown("f");
    check(
        &[
            show(t.template("{{ a }}{{ s }}", &v)),
            show(t.template("{{ f }}", &v)),
            show(t.template("{{ nope }}", &v)),
        ],
        &["str '1x'", "UNKNOWN f", "ERROR 'nope' is undefined"],
    );
}

/// `evaluate`: a bare expression.
#[test]
fn evaluate_bare_expressions() {
    let t = Templar::new();
    let v = vars(&t, V);
    check(
        &[
            show(t.evaluate("a + 1", &v)),
            show(t.evaluate("l | sort", &v)),
            show(t.evaluate(" d.x ", &v)),
        ],
        &["int 2", "list [1, 2, 3]", "int 1"],
    );
}

/// `lookup('env')`: the environment of this process (the controller's).
#[test]
fn lookup_env() {
    let path = std::env::var("PATH").unwrap_or_default();
    check(
        &run(
            V,
            &[
                "{{ lookup('env', 'PATH') }}",
                "{{ lookup('env', 'CONCERTO_SURELY_NOT_SET') }}",
                "{{ lookup('env', 'CONCERTO_SURELY_NOT_SET', default='dv') }}",
            ],
        ),
        &[&format!("str {}", py_repr_str(&path)), "str ''", "str 'dv'"],
    );
}

/// `file`, `template` and `first_found` lookups: absolute paths, or the
/// scope's search paths (`files/`, `templates/` then the directory); a
/// relative path without search paths is unknown.
// For `f` a file holding "hello {{ a }}\n" in DIR/files:
// oracle.py -v '{a: 1}' "{{ lookup('file', 'DIR/files/f') }}" -> str 'hello {{ a }}'
#[test]
fn file_lookups() {
    let dir = std::env::temp_dir().join(format!("concerto-tmpl-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("files")).expect("temp dir");
    std::fs::create_dir_all(dir.join("templates")).expect("temp dir");
    std::fs::write(dir.join("files/f"), "hello {{ a }}\n").expect("write");
    std::fs::write(dir.join("templates/t.j2"), "a is {{ a }}").expect("write");
    let t = Templar::new();
    let doc = crate::yaml::parse("v.yml", "a: 1\n").expect("parses");
    let with_paths = LazyVars::builder(&t)
        .mapping(&doc.root)
        .search_paths(vec![dir.clone()])
        .build();
    let without = vars(&t, "a: 1\n");
    let abs = dir.join("files/f").display().to_string();
    let out = vec![
        show(t.template(&format!("{{{{ lookup('file', '{abs}') }}}}"), &without)),
        show(t.template("{{ lookup('file', 'f') }}", &with_paths)),
        show(t.template("{{ lookup('template', 't.j2') }}", &with_paths)),
        show(t.template("{{ lookup('first_found', ['nope', 'f']) }}", &with_paths)),
        show(t.template(
            "{{ lookup('first_found', ['nope'], skip=true) }}",
            &with_paths,
        )),
        show(t.template("{{ lookup('file', 'f') }}", &without)),
        show(t.template("{{ lookup('file', 'nope') }}", &with_paths)),
    ];
    let _ = std::fs::remove_dir_all(&dir);
    check(
        &out,
        &[
            "str 'hello {{ a }}'",
            "str 'hello {{ a }}'",
            "str 'a is 1'",
            &format!("str {}", py_repr_str(&abs)),
            "list []",
            "UNKNOWN lookup:files/f",
            "ERROR Unable to find 'nope' in expected paths.",
        ],
    );
}

/// `ansible.utils.ipaddr` and friends. The oracle's ansible-core has no
/// ansible.utils collection; the expectations are netaddr's (what the
/// collection uses): `python -c "import netaddr; n = netaddr.IPNetwork('10.0.0.5/24'); print(n.ip, n.network, n.netmask, n.prefixlen, n.broadcast, n.size)"`.
#[test]
fn ipaddr_filters() {
    check(
        &run(
            V,
            &[
                "{{ ip | ansible.utils.ipaddr }}",
                "{{ 'x' | ansible.utils.ipaddr }}",
                "{{ cidr | ansible.utils.ipaddr('address') }}",
                "{{ cidr | ipaddr('network') }}",
                "{{ cidr | ipaddr('netmask') }}",
                "{{ cidr | ipaddr('prefix') }}",
                "{{ cidr | ipaddr('broadcast') }}",
                "{{ cidr | ipaddr('size') }}",
                "{{ cidr | ipaddr('net') }}",
                "{{ '10.0.0.0/24' | ipaddr('net') }}",
                "{{ cidr | ipaddr('host') }}",
                "{{ ip6 | ipaddr('address') }}",
                "{{ ip | ipv4 }}",
                "{{ ip | ipv6 }}",
                "{{ ip | ipaddr('ipv6') }}",
                "{{ ip6 | ipwrap }}",
                "{{ ip | ipwrap }}",
                "{{ [ip, 'x', ip6] | ipaddr }}",
                "{{ ip | ipaddr('private') }}",
                "{{ '8.8.8.8' | ipaddr('public') }}",
                "{{ '10.0.0.0/24' | ipaddr(5) }}",
                "{{ ip | ipmath(3) }}",
                "{{ ip | ansible.utils.ipaddr('address') == ip | ansible.utils.ipaddr('address') }}",
            ],
        ),
        &[
            "str '10.0.0.5'",
            "bool False",
            "str '10.0.0.5'",
            "str '10.0.0.0'",
            "str '255.255.255.0'",
            "int 24",
            "str '10.0.0.255'",
            "int 256",
            "bool False",
            "str '10.0.0.0/24'",
            "str '10.0.0.5/24'",
            "str 'fe80::1'",
            "str '10.0.0.5'",
            "bool False",
            "str '::ffff:10.0.0.5/128'",
            "str '[fe80::1]'",
            "str '10.0.0.5'",
            "list ['10.0.0.5', 'fe80::1']",
            "str '10.0.0.5'",
            "str '8.8.8.8'",
            "str '10.0.0.5/24'",
            "str '10.0.0.8'",
            "bool True",
        ],
    );
}

// ----- errors and positions -----

/// A syntax error is an error (never a panic), with its position in the
/// template text (oracle: `Syntax error in template`).
#[test]
fn syntax_errors_have_positions() {
    let t = Templar::new();
    let v = vars(&t, V);
    let e = t
        .template("line one\n  {{ a + }}", &v)
        .expect_err("syntax error");
    assert_eq!(e.kind, ErrorKind::Syntax);
    let span = e.span.expect("a position");
    assert_eq!(span.line, 2, "{e:?}");
    assert!(span.col >= 3, "{e:?}");
    for bad in [
        "{{ a",
        "{% if a %}",
        "{{ a | }}",
        "{% for %}",
        "{{ 'x }}",
        "{% endif %}",
    ] {
        let e = t.template(bad, &v).expect_err(bad);
        assert_eq!(e.kind, ErrorKind::Syntax, "{bad}: {e}");
    }
    assert_eq!(
        t.condition("a ==", &v).expect_err("syntax").kind,
        ErrorKind::Syntax
    );
}

/// A run-time error points into the template it happens in: another
/// variable's, named.
#[test]
fn runtime_errors_have_positions() {
    let t = Templar::new();
    let v = vars(
        &t,
        &format!("{V}bad: \"x {{{{ nope }}}}\"\nuses: \"{{{{ bad }}}}\"\n"),
    );
    let e = t
        .template("ok\n  {{ 1 + 'a' }}", &v)
        .expect_err("type error");
    assert_eq!(e.kind, ErrorKind::Type);
    assert_eq!(e.span.map(|s| (s.line, s.col)), Some((2, 6)), "{e:?}");
    let e = t.template("{{ uses }}", &v).expect_err("undefined");
    assert_eq!(e.kind, ErrorKind::Undefined);
    assert_eq!(e.variable.as_deref(), Some("bad"));
    assert_eq!(e.template.as_deref(), Some("x {{ nope }}"));
    assert_eq!(e.span.map(|s| (s.line, s.col)), Some((1, 6)), "{e:?}");
    assert!(e.to_string().contains("in variable 'bad'"), "{e}");
}

/// A lazy item's error is the item's: the rest of its dict is usable.
// oracle.py -v '{d: {ok: 1, bad: "{{ nope }}"}}' '{{ d.ok }}' '{{ d }}'
#[test]
fn errors_stay_in_their_item() {
    check(
        &run(
            "d: {ok: 1, bad: \"{{ nope }}\"}",
            &["{{ d.ok }}", "{{ d }}", "{{ d.bad | default(2) }}"],
        ),
        &[
            "int 1",
            "ERROR AnsibleUndefinedVariable: 'nope' is undefined",
            "int 2",
        ],
    );
}

// ----- Kolla-ansible -----

/// kolla-ansible's Ansible tree in the conformance venv (see
/// `.ci/python-env.sh`): `CONCERTO_PYTHON`'s prefix, else the
/// repository's `.venv`.
fn kolla_dir() -> std::path::PathBuf {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("CONCERTO_PYTHON") {
        let p = std::path::PathBuf::from(p);
        if let Some(prefix) = p.parent().and_then(|b| b.parent()) {
            candidates.push(prefix.join("share/kolla-ansible/ansible"));
        }
    }
    candidates.push(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.venv/share/kolla-ansible/ansible"),
    );
    candidates
        .into_iter()
        .find(|d| d.join("site.yml").is_file())
        .unwrap_or_else(|| {
            panic!(
                "kolla-ansible not found: run `eval \"$(.ci/python-env.sh | tail -n1)\"` \
                 at the repository root (it creates .venv with kolla-ansible 22.2.0)"
            )
        })
}

/// Kolla's variables: `group_vars/all/*.yml`, then the given roles'
/// defaults, then `extra` (as `-e`), with facts and the inventory's
/// names unknown.
fn kolla_vars(t: &Templar, roles: &[&str], extra: &str) -> LazyVars {
    let dir = kolla_dir();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("group_vars/all"))
        .expect("group_vars/all")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    for r in roles {
        files.push(dir.join("roles").join(r).join("defaults/main.yml"));
    }
    let mut b = LazyVars::builder(t);
    for f in &files {
        let text = std::fs::read_to_string(f).expect("kolla vars file");
        let doc = crate::yaml::from_yaml(&f.display().to_string(), &text).expect("parses");
        b = b.mapping(&doc.root);
    }
    let doc = crate::yaml::parse("extra.yml", extra).expect("parses");
    b.mapping(&doc.root)
        .unknown("ansible_facts")
        .unknown("hostvars")
        .unknown("groups")
        .unknown("group_names")
        .unknown("inventory_hostname")
        .build()
}

/// site.yml's `max_fail_percentage` (a folded scalar: one line).
// oracle.py -v '{}' '{{ group_hosts_max_fail_percentage | default(kolla_max_fail_percentage) | default(100) }}'
// oracle.py -v '{kolla_max_fail_percentage: 50}' (same)
#[test]
fn kolla_max_fail_percentage() {
    let expr =
        "{{ group_hosts_max_fail_percentage | default(kolla_max_fail_percentage) | default(100) }}";
    check(&run("{}", &[expr]), &["int 100"]);
    check(&run("kolla_max_fail_percentage: 50", &[expr]), &["int 50"]);
    check(
        &run(
            "kolla_max_fail_percentage: 50\ngroup_hosts_max_fail_percentage: 0",
            &[expr],
        ),
        &["int 0"],
    );
}

/// `when: enable_xyz | bool` with Kolla's group_vars.
// oracle.py -c -f group_vars/all/*.yml -v '{kolla_action: deploy}' 'enable_keystone | bool' 'enable_aodh | bool' 'enable_cinder | bool' 'enable_haproxy | bool' 'enable_mariadb | bool' 'enable_horizon | bool' 'kolla_action != "config"'
#[test]
fn kolla_enable_conditions() {
    let t = Templar::new();
    let v = kolla_vars(&t, &[], "kolla_action: deploy\n");
    let out: Vec<String> = [
        "enable_keystone | bool",
        "enable_aodh | bool",
        "enable_cinder | bool",
        "enable_haproxy | bool",
        "enable_mariadb | bool",
        "enable_horizon | bool",
        "kolla_action != \"config\"",
    ]
    .iter()
    .map(|c| show_tri(t.condition(c, &v)))
    .collect();
    check(
        &out,
        &[
            "bool True",
            "bool False",
            "bool False",
            "bool True",
            "bool True",
            "bool True",
            "bool True",
        ],
    );
}

/// roles/keystone/defaults/main.yml's `keystone_services` with all.yml
/// and `kolla_action=deploy`: the healthchecks need Kolla's own filters
/// (and facts), so the dict is partial; every other part is as the
/// oracle computes it.
// oracle.py -f group_vars/all/*.yml -f roles/keystone/defaults/main.yml -v '{kolla_action: deploy}' '{{ keystone_services.keystone.image }}' '{{ keystone_services.keystone.volumes }}' '{{ keystone_services.keystone.enabled }}' '{{ keystone_services["keystone-httpd"].enabled }}' '{{ keystone_services.keystone.haproxy.keystone_internal }}' '{{ keystone_services.keystone.dimensions }}' '{{ keystone_services.keystone.healthcheck }}'
#[test]
fn kolla_keystone_services() {
    let t = Templar::with_options(Options {
        missing_plugins_unknown: true,
        ..Options::default()
    });
    let v = kolla_vars(&t, &["keystone"], "kolla_action: deploy\n");
    let out: Vec<String> = [
        "{{ keystone_services.keystone.image }}",
        "{{ keystone_services.keystone.volumes }}",
        "{{ keystone_services.keystone.enabled }}",
        "{{ keystone_services['keystone-httpd'].enabled }}",
        "{{ keystone_services.keystone.haproxy.keystone_internal }}",
        "{{ keystone_services.keystone.dimensions }}",
        "{{ keystone_services.keystone.healthcheck }}",
        "{{ keystone_services | dict2items | selectattr('value.enabled') | map(attribute='key') | list }}",
    ]
    .iter()
    .map(|s| show(t.template(s, &v)))
    .collect();
    check(
        &out,
        &[
            "str 'quay.io/openstack.kolla/keystone:2026.1-rocky-10'",
            "list ['/etc/kolla/keystone/:/var/lib/kolla/config_files/:ro', '/etc/localtime:/etc/localtime:ro', '', 'kolla_logs:/var/log/kolla/', '/dev/shm:/dev/shm', 'keystone_fernet_tokens:/etc/keystone/fernet-keys']",
            "bool True",
            "bool False",
            "dict {'enabled': True, 'mode': 'http', 'external': False, 'tls_backend': False, 'port': '5000', 'listen_port': '5000', 'backend_http_extra': ['balance roundrobin', 'option httpchk GET /healthcheck', 'http-check expect status 200']}",
            "dict {'ulimits': {'nofile': {'soft': 1048576, 'hard': 1048576}}}",
            "UNKNOWN filter:kolla_address,filter:put_address_in_context",
            "list ['keystone', 'keystone-fernet', 'keystone-ssh']",
        ],
    );
    match t
        .template("{{ keystone_services }}", &v)
        .expect("templates")
    {
        Outcome::Unknown {
            partial: Some(Value::Dict(d)),
            ..
        } => assert_eq!(
            d.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
            [
                "keystone",
                "keystone-fernet",
                "keystone-httpd",
                "keystone-ssh"
            ]
        ),
        other => panic!("expected a partial dict, got {other:?}"),
    }
}

/// Every variable of Kolla (group_vars and every role's defaults, in one
/// scope) templates without a panic, and quickly: parsed templates are
/// cached and each variable is templated once.
#[test]
fn kolla_all_variables_expand_quickly() {
    let dir = kolla_dir();
    let mut roles: Vec<String> = std::fs::read_dir(dir.join("roles"))
        .expect("roles")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("defaults/main.yml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    roles.sort();
    let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
    let t = Templar::with_options(Options {
        missing_plugins_unknown: true,
        ..Options::default()
    });
    let v = kolla_vars(&t, &role_refs, "kolla_action: deploy\n");
    let names: Vec<String> = v.names().map(str::to_string).collect();
    let start = std::time::Instant::now();
    let (mut known, mut unknown, mut errors) = (0, 0, 0);
    for n in &names {
        match t.template(&format!("{{{{ {n} }}}}"), &v) {
            Ok(Outcome::Known(_)) => known += 1,
            Ok(Outcome::Unknown { .. }) => unknown += 1,
            Err(_) => errors += 1,
        }
    }
    let took = start.elapsed();
    eprintln!(
        "kolla: {} variables ({known} known, {unknown} unknown, {errors} errors) in {took:?}",
        names.len()
    );
    assert!(names.len() > 3000, "{}", names.len());
    assert!(known > names.len() / 2, "{known} known of {}", names.len());
    if !cfg!(debug_assertions) {
        assert!(took.as_millis() < 200, "took {took:?}");
    }
}

// ----- no input panics -----

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Jinja-ish fragments, to reach past the parser.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("{%".to_string()),
            Just("%}".to_string()),
            Just("{#".to_string()),
            Just(" if ".to_string()),
            Just(" for x in ".to_string()),
            Just("endif".to_string()),
            Just("endfor".to_string()),
            Just(" | ".to_string()),
            Just(" is ".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("'".to_string()),
            Just("\\".to_string()),
            Just(",".to_string()),
            Just(".".to_string()),
            Just(":".to_string()),
            Just(" ~ ".to_string()),
            Just(" % ".to_string()),
            Just(" // ".to_string()),
            Just(" ** ".to_string()),
            Just("-".to_string()),
            "[a-z_]{1,8}",
            "[0-9]{1,20}",
            prop::sample::select(vec![
                "l",
                "d",
                "s",
                "a",
                "fl",
                "n",
                "ansible_facts",
                "default",
                "int",
                "join",
                "map",
                "select",
                "selectattr",
                "combine",
                "regex_replace",
                "to_yaml",
                "from_json",
                "defined",
                "version",
                "match",
                "lookup",
                "range",
                "dict",
                "ipaddr",
                "flatten",
                "format",
                "split",
                "items",
                "loop",
                "namespace",
            ])
            .prop_map(str::to_string),
        ]
    }

    fn jinja() -> impl Strategy<Value = String> {
        prop::collection::vec(fragment(), 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn random_strings_never_panic(s in "\\PC{0,40}") {
            let t = Templar::new();
            let v = with_facts(&t, "");
            let _ = t.template(&s, &v);
            let _ = t.condition(&s, &v);
            let _ = t.template(&format!("{{{{ {s} }}}}"), &v);
        }

        #[test]
        fn random_templates_never_panic(s in jinja()) {
            let t = Templar::new();
            let v = with_facts(&t, "");
            let _ = t.template(&s, &v);
            let _ = t.condition(&s, &v);
            let _ = t.template(&format!("{{{{ {s} }}}}"), &v);
            let _ = t.template(&format!("{{% if {s} %}}x{{% endif %}}"), &v);
        }
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Templars, scopes and values can be shared between threads.
#[test]
fn shareable_between_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Templar>();
    is_send_sync::<LazyVars>();
    is_send_sync::<Value>();
    is_send_sync::<Outcome>();
    is_send_sync::<TemplateError>();
}

/// Absurdly deep templates are errors, not stack overflows: long chains
/// of operators, expressions nested beyond 200 levels, variables nesting
/// through each other beyond the stack budget.
#[test]
fn deep_templates_are_errors() {
    let t = Templar::new();
    let v = vars(&t, V);
    for n in [250usize, 5000, 100_000] {
        for tpl in [
            format!("{{{{ a{} }}}}", ".x".repeat(n)),
            format!("{{{{ a{} }}}}", " | int".repeat(n)),
            format!("{{{{ 1{} }}}}", " + 1".repeat(n)),
            format!("{{{{ {}a }}}}", "not ".repeat(n)),
            format!("{{{{ {}1{} }}}}", "[".repeat(n), "]".repeat(n)),
            format!("{}x{}", "{% if true %}".repeat(n), "{% endif %}".repeat(n)),
        ] {
            let e = t.template(&tpl, &v).expect_err("too deep");
            assert!(
                matches!(e.kind, ErrorKind::Limit | ErrorKind::Syntax),
                "{}: {e}",
                &tpl[..20]
            );
            let e = t.condition(&tpl[3..tpl.len().saturating_sub(3)], &v);
            assert!(e.is_err());
        }
    }
    let mut chain = String::new();
    for i in 0..199 {
        chain.push_str(&format!("v{i}: \"{{{{ v{} ~ 'x' }}}}\"\n", i + 1));
    }
    chain.push_str("v199: end\n");
    let v = vars(&t, &chain);
    let e = t.template("{{ v0 }}", &v).expect_err("too deep");
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    // Shallower is fine.
    assert_eq!(show(t.template("{{ v190 }}", &v)), "str 'endxxxxxxxxx'");
}

/// Ansible's magic `vars` (every variable by name), as a play has it:
/// `ansible localhost -c local -m debug -a "msg={{ vars[item] ~ '-' ~
/// (vars['nope'] is defined) }}" -e a=1 -e item=a` prints `"1-False"`.
#[test]
fn magic_vars() {
    check(
        &run(
            "a: 1\nitem: a\nb: \"{{ a + 1 }}\"\n",
            &[
                "{{ vars[item] ~ '-' ~ (vars['nope'] is defined) }}",
                "{{ vars.b }}",
                "{{ vars[item] is defined }}",
            ],
        ),
        &["str '1-False'", "int 2", "bool True"],
    );
}

/// Variables from JSON are templates too, like extra variables.
#[test]
fn json_variables() {
    let t = Templar::new();
    let j: serde_json::Value = serde_json::json!({"x": [1, "{{ a }}"], "s": "{{ a + 1 }}"});
    let v = LazyVars::builder(&t)
        .value("a", Value::Int(1))
        .json("j", &j)
        .build();
    check(
        &[
            show(t.template("{{ j }}", &v)),
            show(t.template("{{ j.s * 2 }}", &v)),
        ],
        // (serde_json's maps are sorted unless its preserve_order is on.)
        &["dict {'s': 2, 'x': [1, 1]}", "int 4"],
    );
}

/// Kolla-ansible's filters (`kolla.rs`), as `kolla_ansible/filters.py`,
/// `kolla_url.py` and `put_address_in_context.py` define them; only with
/// `Options::kolla_filters`.
#[test]
fn kolla_filters() {
    let t = Templar::with_options(Options {
        kolla_filters: true,
        ..Options::default()
    });
    let v = vars(
        &t,
        r#"
group_names: [compute, keystone]
flag: "yes"
services:
  keystone: {group: keystone, enabled: "{{ flag }}"}
  glance: {group: glance-api, enabled: true}
  horizon: {group: all, enabled: false}
  cron: {host_in_groups: "{{ 'compute' in group_names }}", enabled: true}
"#,
    );
    let out: Vec<String> = [
        "{{ services.keystone | service_enabled_and_mapped_to_host }}",
        "{{ services.glance | service_enabled_and_mapped_to_host }}",
        "{{ services.horizon | service_mapped_to_host }}",
        "{{ services | select_services_enabled_and_mapped_to_host | list }}",
        "{{ {'group': 'x'} | service_enabled }}",
        "{{ 'fd00::1' | put_address_in_context('url') }}",
        "{{ '10.0.0.1' | put_address_in_context('rabbitmq') }}",
        "{{ 'h' | kolla_url('https', 443, '/v3') }}",
        "{{ 'h' | kolla_url('http', '5000') }}",
    ]
    .iter()
    .map(|s| show(t.template(s, &v)))
    .collect();
    check(
        &out,
        &[
            "bool True",
            "bool False",
            "bool True",
            "list ['keystone', 'cron']",
            "ERROR Service definition for '<unknown>' does not have an 'enabled' attribute",
            "str '[fd00::1]'",
            "str '10,0,0,1'",
            "str 'https://h/v3'",
            "str 'http://h:5000'",
        ],
    );
    // Without the option they are not filters.
    let plain = Templar::new();
    assert!(show(plain.template("{{ {} | service_enabled }}", &v)).starts_with("ERROR"));
}

"""The oracle for the template tests (`spec.rs`): ansible-core's own Templar.

Variables are loaded from YAML as Ansible loads vars files (trusted as
templates), templates are trusted strings. Prints one line per template:
`<type> <repr>` of the result (type names without Ansible's `_AnsibleTagged`
prefix, tuples as lists), or `ERROR <class>: <first line of the message>`.

usage:
  python oracle.py [-c] [-v VARS_YAML] [-f VARS_FILE]... TEMPLATE...
      -c: evaluate each TEMPLATE as a conditional (`when:`)
      a TEMPLATE starting with `json:` is a JSON string (for newlines...)
  python oracle.py --batch CASES.jsonl
      each line {"vars": yaml, "files": [paths], "cond": bool, "template": str};
      prints one JSON line {"out": line} per case

Run with the venv that has ansible-core 2.19:
  /work/main/.venv/bin/python translator/src/template/oracle.py -v '{a: 1}' '{{ a + 1 }}'
"""
import json
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

from ansible._internal._datatag._tags import TrustedAsTemplate  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.template import Templar  # noqa: E402


def plain(v):
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def type_name(v):
    name = type(v).__name__
    if name.startswith("_AnsibleTagged"):
        name = name[len("_AnsibleTagged"):].lower()
    if name == "tuple":
        name = "list"
    return name


def load_vars(loader, vars_text, files):
    variables = {}
    for f in files:
        variables.update(loader.load_from_file(f, trusted_as_template=True) or {})
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
        fh.write(vars_text)
    try:
        variables.update(loader.load_from_file(fh.name, trusted_as_template=True) or {})
    finally:
        os.unlink(fh.name)
    return variables


def run(templar, template, cond):
    t = TrustedAsTemplate().tag(template)
    try:
        r = templar.evaluate_conditional(t) if cond else templar.template(t)
        shown = repr(str(r)) if isinstance(r, str) else repr(plain(r))
        return f"{type_name(r)} {shown}"
    except Exception as e:
        msg = str(e).split("\n")[0]
        return f"ERROR {type(e).__name__}: {msg}"


def main(argv):
    loader = DataLoader()
    if argv[:1] == ["--batch"]:
        templars = {}
        with open(argv[1]) as fh:
            for line in fh:
                case = json.loads(line)
                key = (case.get("vars", "{}"), tuple(case.get("files", [])))
                if key not in templars:
                    variables = load_vars(loader, key[0], list(key[1]))
                    templars[key] = Templar(loader=loader, variables=variables)
                print(json.dumps({"out": run(templars[key], case["template"], case.get("cond", False))}))
        return
    cond, vars_text, files = False, "{}", []
    while argv and argv[0].startswith("-"):
        a = argv.pop(0)
        if a == "-c":
            cond = True
        elif a == "-v":
            vars_text = argv.pop(0)
        elif a == "-f":
            files.append(argv.pop(0))
    templar = Templar(loader=loader, variables=load_vars(loader, vars_text, files))
    for t in argv:
        if t.startswith("json:"):
            t = json.loads(t[5:])
        print(run(templar, t, cond))


if __name__ == "__main__":
    main(sys.argv[1:])

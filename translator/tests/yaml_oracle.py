"""The oracle for the translator's conformance tests: ansible-core itself.

    python yaml_oracle.py yaml      < paths      # one path per line
    python yaml_oracle.py inventory < paths      # one inventory per line
    python yaml_oracle.py canon     < json_text  # ansible-inventory output

`yaml`: loads each file the way Ansible loads playbooks, vars files and
YAML inventories (`DataLoader.load_from_file`: the text tagged as trusted
for templating, then `from_yaml`, which tries JSON before YAML), and prints
one line per file, in input order:

    OK<TAB><canonical JSON>     or     ERR<TAB><first line of the error>

or UNMAPPABLE<TAB><why> when the file loads but is no tree (a recursive
alias).

The canonical JSON is the mapping documented at
`concerto_translator::yaml::canonical_json` (Rust), written by
`json.dumps(..., ensure_ascii=True, separators=(",", ":"))` with insertion
order kept, so that the two sides compare as text:

- ints within i64 as numbers, others {"__bigint": "digits"};
- finite floats as numbers, others {"__float": "inf" | "-inf" | "nan"};
- strings not trusted for templating (`!unsafe`) as {"__unsafe": s},
  `!vault` values as {"__vault": ciphertext}, dates and datetimes as
  {"__timestamp": isoformat()}, bytes (`!!binary`) as {"__binary": b64};
- dict keys: a str as itself, anything else as "<type>repr"
  ("<int>1", "<bool>True", "<null>", "<float>1.5", "<timestamp>...");
- sets (`!!set`) as a dict of nulls, in Python's iteration order (run
  with PYTHONHASHSEED=0 for a stable order).

`inventory`: for each inventory path, runs ansible-inventory's own
`InventoryCLI.cli_executor` (what the `ansible-inventory` script runs) with
`-i PATH --list`, then with `--list --export`, each in a child forked
from this process after ansible is imported (one Python start-up for the
whole corpus instead of two per file; a fork starts from a clean state, as
a new process does, which running the CLI twice in one process does not),
and prints two
lines per path: `OK<TAB><JSON>` (the output, canonicalized as by `canon`)
or `ERR<TAB><the error>`. The Rust test checks on kolla-ansible's
inventories that this gives what the `ansible-inventory` program prints.

`canon`: reads the JSON printed by `ansible-inventory --list` (which may
contain Infinity and NaN, and ints of any size) and prints it again with
the same number rules, so that Rust's serde_json can read it exactly.
"""

import base64
import contextlib
import datetime
import io
import json
import math
import os
import sys

# ansible is imported by the modes that need it: `canon` starts faster
# without it.
from_yaml = TrustedAsTemplate = AnsibleTagHelper = EncryptedString = VaultHelper = None


def import_ansible():
    global from_yaml, TrustedAsTemplate, AnsibleTagHelper, EncryptedString, VaultHelper
    from ansible._internal._datatag._tags import TrustedAsTemplate
    from ansible.module_utils._internal._datatag import AnsibleTagHelper
    from ansible.parsing.utils.yaml import from_yaml
    from ansible.parsing.vault import EncryptedString, VaultHelper


def canon_float(f):
    f = float(f)
    if math.isfinite(f):
        return f
    return {"__float": repr(f)}


def canon_int(i):
    i = int(i)
    if -(2**63) <= i < 2**63:
        return i
    return {"__bigint": str(i)}


def key(k):
    if isinstance(k, EncryptedString):
        return "<vault>" + VaultHelper.get_ciphertext(k, with_tags=False)
    if isinstance(k, str):
        return str(AnsibleTagHelper.untag(k))
    if k is None:
        return "<null>"
    if isinstance(k, bool):
        return "<bool>" + repr(bool(k))
    if isinstance(k, int):
        return "<int>" + str(int(k))
    if isinstance(k, float):
        return "<float>" + float.__repr__(float(k))
    if isinstance(k, datetime.date):
        return "<timestamp>" + k.isoformat()
    if isinstance(k, bytes):
        return "<binary>" + base64.b64encode(bytes(k)).decode()
    return "<%s>" % type(k).__name__


def canon(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, EncryptedString):
        return {"__vault": VaultHelper.get_ciphertext(v, with_tags=False)}
    if isinstance(v, str):
        s = str(AnsibleTagHelper.untag(v))
        return s if TrustedAsTemplate.is_tagged_on(v) else {"__unsafe": s}
    if isinstance(v, int):
        return canon_int(v)
    if isinstance(v, float):
        return canon_float(v)
    if isinstance(v, datetime.date):
        return {"__timestamp": v.isoformat()}
    if isinstance(v, bytes):
        return {"__binary": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return {key(k): None for k in v}
    if isinstance(v, dict):
        return {key(k): canon(x) for k, x in v.items()}
    raise TypeError("cannot map %r" % type(v))


def dumps(v):
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"))


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def load_yaml_files():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
            data = from_yaml(TrustedAsTemplate().tag(text), file_name=path)
        except Exception as e:  # the file is refused; say why, on one line
            out = "ERR\t" + first_line(e)
        else:
            try:
                out = "OK\t" + dumps(canon(data))
            except (Exception, RecursionError) as e:  # loaded, but not as a tree
                out = "UNMAPPABLE\t" + first_line(e)
        sys.stdout.write(out + "\n")
        sys.stdout.flush()


def canon_inventory(v):
    """ansible-inventory output: only the number rules apply."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return canon_int(v)
    if isinstance(v, float):
        return canon_float(v)
    if isinstance(v, list):
        return [canon_inventory(x) for x in v]
    if isinstance(v, dict):
        return {k: canon_inventory(x) for k, x in v.items()}
    raise TypeError("cannot map %r" % type(v))


def run_inventory(path, export):
    """One `ansible-inventory` run in a forked child: the child starts from
    this process's state (ansible imported, nothing run), as a fresh
    `ansible-inventory` process would, without paying for the imports."""
    args = ["ansible-inventory", "-i", path, "--list"] + (["--export"] if export else [])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the CLI, send back its output
        os.close(read_fd)
        from ansible.cli.inventory import InventoryCLI

        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                InventoryCLI.cli_executor(args)
            except SystemExit as e:
                code = e.code or 0
        try:
            if code != 0:
                lines = [l for l in err.getvalue().splitlines() if l.strip()]
                errors = [l for l in lines if "ERROR" in l]
                result = "ERR\t" + ((errors or lines or ["exit code %s" % code])[0])
            else:
                result = "OK\t" + dumps(canon_inventory(json.loads(out.getvalue())))
        except Exception as e:  # noqa: BLE001 - reported to the parent
            result = "ERR\tthe oracle could not read the output: %s" % e
        with os.fdopen(write_fd, "w") as w:
            w.write(result)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        result = r.read()
    os.waitpid(pid, 0)
    return result or "ERR\tthe ansible-inventory child died"


def inventories():
    import ansible.cli.inventory  # noqa: F401 - imported once, before forking

    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        for export in (False, True):
            sys.stdout.write(run_inventory(path, export) + "\n")
            sys.stdout.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "yaml":
        import_ansible()
        load_yaml_files()
    elif mode == "inventory":
        inventories()
    elif mode == "canon":
        sys.stdout.write(dumps(canon_inventory(json.loads(sys.stdin.read()))) + "\n")
    else:
        sys.exit("usage: yaml_oracle.py yaml|inventory|canon")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Creates the Python environment the conformance tests use as their oracle:
# the real ansible-core (ansible-inventory, its YAML loader) and the real
# kolla-ansible package (its inventories and YAML tree); the `ansible`
# package's collections and DebOps, real roles for `concerto translate`.
#
# It also fetches ansible-core's source distribution (same version) and
# extracts its integration tests (`test/integration/targets/`) to
# .venv/ansible-core-src/: their playbooks are a conformance corpus of the
# playbook loader (translator/tests/ansible_targets_conformance.rs).
#
# Idempotent: when .venv already holds the pinned versions and the
# extracted targets it does nothing.
# The last line printed is
# `export CONCERTO_PYTHON=... CONCERTO_ANSIBLE_SRC=...`, so a CI script can
# `eval "$(.ci/python-env.sh | tail -n1)"`.
set -euo pipefail
cd "$(dirname "$0")/.."

# ansible-core: the newest 2.19.x (checked with `pip index versions
# ansible-core`); kolla-ansible 22.2.0 is what pip picks on Python 3.11
# (23.x needs Python >= 3.12).
ANSIBLE_CORE_VERSION=2.19.14
KOLLA_ANSIBLE_VERSION=22.2.0
# The `ansible` package: the collections Kolla's roles use (ansible.posix,
# community.general) and community.zabbix / community.mongodb, a test
# corpus of the playbook loader. 12.x is the release built on core 2.19.
ANSIBLE_VERSION=12.3.0
# DebOps (its pip package ships the debops.debops collection: ~200 roles
# and their service playbooks, under debops/_data/ansible/collections/):
# real playbooks besides Kolla's for `concerto translate`
# (tests/translate_real.rs). 3.3.2 is the newest (`pip index versions
# debops`); it needs nothing the pins above do not allow.
DEBOPS_VERSION=3.3.2
VENV="$PWD/.venv"

find_python() {
    local c
    for c in "${PYTHON:-}" python3.11 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    echo "python-env: no Python 3.11 found (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

# shellcheck source=venv.sh
. .ci/venv.sh
ensure_venv python-env

# ansible-core's sdist (the wheel has no tests): downloaded once into
# .venv/sdist/, its test/integration/targets/ extracted once into
# .venv/ansible-core-src/ (a `.version` file records which sdist).
SDIST_DIR="$VENV/sdist"
SRC="$VENV/ansible-core-src"
SDIST="$SDIST_DIR/ansible_core-$ANSIBLE_CORE_VERSION.tar.gz"
if [ -f "$SRC/.version" ] && [ "$(cat "$SRC/.version")" = "$ANSIBLE_CORE_VERSION" ] &&
    [ -d "$SRC/test/integration/targets" ]; then
    echo "python-env: $SRC already holds ansible-core $ANSIBLE_CORE_VERSION's integration targets" >&2
else
    if [ ! -f "$SDIST" ]; then
        echo "python-env: downloading the ansible-core $ANSIBLE_CORE_VERSION sdist" >&2
        mkdir -p "$SDIST_DIR"
        "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
            --no-binary :all: --no-deps -d "$SDIST_DIR" "ansible-core==$ANSIBLE_CORE_VERSION" >&2 || {
            echo "python-env: could not download the ansible-core $ANSIBLE_CORE_VERSION sdist" >&2
            exit 1
        }
    fi
    [ -f "$SDIST" ] || {
        echo "python-env: pip did not leave $SDIST" >&2
        exit 1
    }
    echo "python-env: extracting test/integration/targets/ to $SRC" >&2
    rm -rf "$SRC" "$SRC.tmp"
    mkdir -p "$SRC.tmp"
    tar -xzf "$SDIST" -C "$SRC.tmp" --strip-components=1 \
        "ansible_core-$ANSIBLE_CORE_VERSION/test/integration/targets"
    echo "$ANSIBLE_CORE_VERSION" >"$SRC.tmp/.version"
    mv "$SRC.tmp" "$SRC"
fi

echo "export CONCERTO_PYTHON=$VENV/bin/python CONCERTO_ANSIBLE_SRC=$SRC"

#!/usr/bin/env bash
# Creates the second Python environment of the conformance tests: the
# newer line, on Python 3.12 (the issue: "kolla-ansible 22.2.0 with
# ansible-core 2.19 on Python 3.11; 23.0.0 with ansible-core 2.21 on
# Python 3.12"). `.ci/python-env.sh` makes the first one (.venv).
#
# Idempotent: when .venv312 already holds the pinned versions it does
# nothing. The last line printed is `export CONCERTO_PYTHON312=...`, so a
# CI script can `eval "$(.ci/python312-env.sh | tail -n1)"`.
set -euo pipefail
cd "$(dirname "$0")/.."

# kolla-ansible 23.0.0 needs Python >= 3.12 and ansible-core >= 2.20, < 2.22.
# ansible-core: the newest 2.21.x (checked with `pip index versions
# ansible-core`). The `ansible` package 14.x is the release built on core
# 2.21 (14.5.0 requires ansible-core ~= 2.21.5); its collections satisfy
# Kolla 23's requirements-core.yml (ansible.netcommon 8.7.1 < 9,
# ansible.posix 2.2.2 < 3, ansible.utils 6.1.1 < 7, community.crypto 3.5.0
# < 4, community.general 13.5.0 < 14, community.docker 5.4.0 < 6,
# containers.podman 1.21.0 < 2) and hold community.zabbix / community.mongodb.
ANSIBLE_CORE_VERSION=2.21.5
KOLLA_ANSIBLE_VERSION=23.0.0
ANSIBLE_VERSION=14.5.0
VENV="$PWD/.venv312"

is_312() {
    [ -n "$1" ] && [ -x "$1" ] &&
        "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null
}

find_python() {
    local c p
    # $PYTHON312, then python3.12 on PATH, then pyenv's installed versions.
    for c in "${PYTHON312:-}" python3.12; do
        [ -n "$c" ] || continue
        p=$(command -v "$c" 2>/dev/null) || continue
        if is_312 "$p"; then
            echo "$p"
            return 0
        fi
    done
    local root="${PYENV_ROOT:-$HOME/.pyenv}"
    for p in $(ls -d "$root"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V -r); do
        if is_312 "$p"; then
            echo "$p"
            return 0
        fi
    done
    echo "python312-env: no Python 3.12 found (looked for \$PYTHON312, python3.12 on PATH" \
        "and $root/versions/3.12.*); install one (e.g. \`pyenv install 3.12\`) or set" \
        "PYTHON312=/path/to/python3.12" >&2
    return 1
}

# shellcheck source=venv.sh
. .ci/venv.sh
ensure_venv python312-env

echo "export CONCERTO_PYTHON312=$VENV/bin/python"

# Sourced by .ci/python-env.sh and .ci/python312-env.sh: makes $VENV hold
# the pinned ansible-core, kolla-ansible and ansible, and debops when
# DEBOPS_VERSION is set. The caller sets VENV, ANSIBLE_CORE_VERSION,
# KOLLA_ANSIBLE_VERSION, ANSIBLE_VERSION (DEBOPS_VERSION optionally) and
# defines `find_python` (prints the interpreter to create the venv with).

# The pins, as pip arguments.
pins() {
    echo "ansible-core==$ANSIBLE_CORE_VERSION" "kolla-ansible==$KOLLA_ANSIBLE_VERSION" \
        "ansible==$ANSIBLE_VERSION" ${DEBOPS_VERSION:+"debops==$DEBOPS_VERSION"}
}

installed() {
    # Fails unless every pin is installed in the venv.
    # shellcheck disable=SC2046
    "$VENV/bin/python" - $(pins) <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if all(version(n) == v for n, v in (p.split("==") for p in sys.argv[1:])) else 1)
PY
}

# ensure_venv LABEL: does nothing when the pins are there; else creates
# the venv (if missing) and installs them. LABEL prefixes its messages.
ensure_venv() {
    local label=$1 py
    if [ -x "$VENV/bin/python" ] && installed; then
        echo "$label: $VENV already has $(pins)" >&2
        return 0
    fi
    py=$(find_python) || exit 1
    if [ ! -x "$VENV/bin/python" ]; then
        echo "$label: creating $VENV with $py" >&2
        "$py" -m venv "$VENV"
    fi
    echo "$label: installing $(pins)" >&2
    # shellcheck disable=SC2046
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $(pins)
    installed || {
        echo "$label: the venv does not hold the pinned versions after install" >&2
        exit 1
    }
}

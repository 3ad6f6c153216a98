# Sourced by .ci/python-env.sh and .ci/python312-env.sh: makes $VENV hold
# the pinned ansible-core, kolla-ansible and ansible. The caller sets
# VENV, ANSIBLE_CORE_VERSION, KOLLA_ANSIBLE_VERSION, ANSIBLE_VERSION and
# defines `find_python` (prints the interpreter to create the venv with).

installed() {
    # Fails unless the three pins are installed in the venv.
    "$VENV/bin/python" - "$ANSIBLE_CORE_VERSION" "$KOLLA_ANSIBLE_VERSION" "$ANSIBLE_VERSION" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
found = (version("ansible-core"), version("kolla-ansible"), version("ansible"))
sys.exit(0 if found == tuple(sys.argv[1:4]) else 1)
PY
}

# ensure_venv LABEL: does nothing when the pins are there; else creates
# the venv (if missing) and installs them. LABEL prefixes its messages.
ensure_venv() {
    local label=$1 py
    if [ -x "$VENV/bin/python" ] && installed; then
        echo "$label: $VENV already has ansible-core $ANSIBLE_CORE_VERSION, kolla-ansible $KOLLA_ANSIBLE_VERSION and ansible $ANSIBLE_VERSION" >&2
        return 0
    fi
    py=$(find_python) || exit 1
    if [ ! -x "$VENV/bin/python" ]; then
        echo "$label: creating $VENV with $py" >&2
        "$py" -m venv "$VENV"
    fi
    echo "$label: installing ansible-core==$ANSIBLE_CORE_VERSION kolla-ansible==$KOLLA_ANSIBLE_VERSION ansible==$ANSIBLE_VERSION" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "ansible-core==$ANSIBLE_CORE_VERSION" "kolla-ansible==$KOLLA_ANSIBLE_VERSION" \
        "ansible==$ANSIBLE_VERSION"
    installed || {
        echo "$label: the venv does not hold the pinned versions after install" >&2
        exit 1
    }
}

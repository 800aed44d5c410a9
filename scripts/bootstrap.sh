# Sourced by ./run: install what tlsmodel needs, idempotently and quietly.
# Debian packages: graphviz (dot), gnutls-bin (GnuTLS peers), tshark (captures), openssl.
need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
command -v gnutls-serv >/dev/null 2>&1 || need_apt+=(gnutls-bin)
command -v tshark >/dev/null 2>&1 || need_apt+=(tshark)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${need_apt[*]}" >&2
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "bootstrap: missing ${need_apt[*]} (not root: install them with apt-get)" >&2
  fi
fi
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.tlsmodel-installed ]; then
  echo "bootstrap: preparing .venv from pyproject.toml" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
  touch .venv/.tlsmodel-installed
fi
export PATH="$PWD/.venv/bin:$PATH"

#!/bin/sh
# The system layer of a lab image (run once, as root, while the image is built):
# Python when the base has none, a C/C++ compiler and Python's headers (torch.compile on CPU),
# the extra CA bundle in the system's trust store, and the `learner` user.
# Usage: setup-system.sh UID GID
set -eu
uid=${1:-1000}
gid=${2:-1000}
extra_ca=/opt/torchlab/certs/extra-ca.crt

if ! command -v apt-get >/dev/null 2>&1; then
  echo "torchlab: the base image has no apt-get; lab images start from a Debian or Ubuntu base" >&2
  exit 1
fi
if [ -s "$extra_ca" ]; then
  # apt's https transport must trust it before ca-certificates is even installed.
  echo "Acquire::https::CaInfo \"$extra_ca\";" >/etc/apt/apt.conf.d/99torchlab-ca
fi

# python3-venv: venv, and ensurepip's pip wheel, which fetches uv (install-packages --uv); no
# system pip. libpython3-dev: Python.h, which inductor's C++ kernels include.
packages="ca-certificates gcc g++ libc6-dev"
if ! command -v python3 >/dev/null 2>&1; then
  packages="$packages python3 python3-venv libpython3-dev"
else
  python3 -c 'import ensurepip, venv' 2>/dev/null || packages="$packages python3-venv"
  include=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  [ -f "$include/Python.h" ] || packages="$packages python3-dev"
fi
export DEBIAN_FRONTEND=noninteractive
# A layer is committed whole: dpkg's fsync after each file only slows the build down.
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/99torchlab-unsafe-io
# What torch.compile never uses is never unpacked (~120 MB written for nothing, and deleted
# after, in the old recipe): documentation (the copyright files stay) and translations; gcc's
# LTO back end and lto-dump (torch uses LTO with clang only), the sanitizer runtimes, gcov;
# static libraries (inductor links shared objects: libc_nonshared.a and libgcc.a, which every
# link needs, stay); binutils' gold linker, dwp and gprofng (gcc links with ld.bfd). cc1 stays:
# AOTInductor preprocesses its .S files with it.
cat >/etc/dpkg/dpkg.cfg.d/99torchlab-slim <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/gdb/*
path-exclude=/usr/lib/gcc/*/lto1
path-exclude=/usr/bin/*lto-dump*
path-exclude=/usr/bin/*gcov*
path-exclude=/usr/lib/gcc/*/lib*san.a
path-exclude=/usr/lib/gcc/*/lib*san_preinit.o
path-exclude=/usr/lib/*-linux-gnu/lib*san.so.*
path-exclude=/usr/lib/gcc/*/libstdc++.a
path-exclude=/usr/lib/*-linux-gnu/libc.a
path-exclude=/usr/lib/*-linux-gnu/libm-*.a
path-exclude=/usr/lib/*-linux-gnu/libmvec.a
path-exclude=/usr/lib/python3*/config-*/libpython*.a
path-exclude=/usr/bin/*ld.gold
path-exclude=/usr/bin/*dwp
path-exclude=/usr/bin/*gp-*
path-exclude=/usr/bin/*gprofng*
path-exclude=/usr/lib/*-linux-gnu/libgprofng.so*
path-exclude=/usr/lib/*-linux-gnu/gprofng/*
EOF
apt-get update -qq -o Acquire::Languages=none
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $packages >/dev/null
apt-get clean
# Python's own bytecode: the image sets PYTHONPYCACHEPREFIX, so Python never reads these.
rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/99torchlab-ca /etc/dpkg/dpkg.cfg.d/99torchlab-unsafe-io \
  /etc/dpkg/dpkg.cfg.d/99torchlab-slim /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old
find /usr/lib/python3* -depth -name __pycache__ -type d -exec rm -rf {} +

if [ -s "$extra_ca" ]; then
  cp "$extra_ca" /usr/local/share/ca-certificates/torchlab-extra.crt
  update-ca-certificates >/dev/null 2>&1
fi

# -o: the base may already have a user or group with these ids (ubuntu's uid 1000).
groupadd -o -g "$gid" learner
useradd -o -m -u "$uid" -g "$gid" -s /bin/bash learner
# Any uid may run the lab (`docker run --user UID:GID`, as torchlab does): HOME is writable by
# all, like /tmp; the venv stays root's and world-readable.
chmod 1777 /home/learner
chmod 0755 /opt/torchlab /opt/torchlab/bin

#!/usr/bin/env bash
# Unpack Debian's armhf Python 3.11 + numpy (+ cffi) into a folder, to run the
# board-side Python (maixnn.nn, maixnn.runtime) under qemu-arm:
#
#   toolchain/fetch-armhf-python.sh [DEST]        # DEST defaults to build/armhf-python
#
#   PYTHONHOME=DEST/usr PYTHONPATH=DEST/usr/lib/python3/dist-packages \
#   LD_LIBRARY_PATH=DEST/usr/lib/arm-linux-gnueabihf:DEST/lib/arm-linux-gnueabihf:DEST/usr/lib/arm-linux-gnueabihf/blas:DEST/usr/lib/arm-linux-gnueabihf/lapack \
#   qemu-arm -L DEST DEST/usr/bin/python3.11 -c "import numpy, cffi"
#
# Nothing is installed into /: the .deb files are fetched with `apt-get
# download` and unpacked with `dpkg -x`.  Needs root once, to add the armhf
# architecture to apt (dpkg --add-architecture armhf) and refresh the index.
# Idempotent: a finished DEST has DEST/.complete and is left alone.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${1:-$REPO/build/armhf-python}"
if [ -f "$DEST/.complete" ]; then
    echo "armhf python already unpacked in $DEST"
    exit 0
fi

# Runtime closure of python3.11 + numpy + cffi on armhf (Debian bookworm names).
ARCH_PACKAGES="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3-numpy
python3-cffi-backend libffi8 zlib1g libexpat1 libssl3 libbz2-1.0 liblzma5 libblas3 liblapack3
libgfortran5 libgcc-s1 libc6 libstdc++6 libsqlite3-0 libreadline8 libncursesw6 libtinfo6 libuuid1
libdb5.3 libcrypt1 libnsl2 libtirpc3"
ALL_PACKAGES="python3-cffi python3-pycparser python3-ply"

if ! dpkg --print-foreign-architectures | grep -qx armhf; then
    dpkg --add-architecture armhf
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
names=""
for p in $ARCH_PACKAGES; do names="$names $p:armhf"; done
names="$names $ALL_PACKAGES"

download() { (cd "$WORK" && apt-get download $names) >"$WORK/download.log" 2>&1; }
if ! download; then
    # no armhf index yet, or a mirror mid-sync: refresh and retry.  apt-get
    # update may exit 100 on an armhf index mismatch while the main archive's
    # packages still download: tolerate it and let the download decide.
    apt-get update || true
    if ! download; then
        cat "$WORK/download.log" >&2
        echo "fetch-armhf-python: apt-get download failed" >&2
        exit 1
    fi
fi

TMP_DEST="$DEST.tmp.$$"
rm -rf "$TMP_DEST"
mkdir -p "$TMP_DEST"
for deb in "$WORK"/*.deb; do
    dpkg -x "$deb" "$TMP_DEST"
done
test -x "$TMP_DEST/usr/bin/python3.11"
touch "$TMP_DEST/.complete"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$TMP_DEST" "$DEST"
echo "armhf python unpacked in $DEST"

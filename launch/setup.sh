#!/usr/bin/env bash
# Installs the system libraries ttm links against (Open MPI, OpenBLAS, serial HDF5, zlib) when they are missing,
# then checks that pkg-config can see each one (launch/setup.sh --fashion-mnist adds the Fashion-MNIST package). Safe to run any number of times: it does nothing when all is there.
set -euo pipefail

packages=(libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev zlib1g-dev pkg-config)
# --fashion-mnist: also Debian's Fashion-MNIST (IDX files under /usr/share/datasets/fashion-mnist), for the flows.
if [ "${1:-}" = "--fashion-mnist" ]; then packages+=(dataset-fashion-mnist); fi
pkgconfig_names=(ompi-c openblas hdf5-serial zlib)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "setup: not root and no sudo; ask an administrator to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get update -qq; then
    echo "setup: 'apt-get update' failed (no network or no package mirror?)" >&2
    exit 1
  fi
  if ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "setup: 'apt-get install ${missing[*]}' failed" >&2
    exit 1
  fi
fi

failed=0
for name in "${pkgconfig_names[@]}"; do
  if ! pkg-config --exists "$name"; then
    echo "setup: pkg-config cannot find '$name' (is its -dev package installed?)" >&2
    failed=1
  fi
done
command -v mpirun >/dev/null 2>&1 || { echo "setup: mpirun not found (package openmpi-bin)" >&2; failed=1; }
[ "$failed" -eq 0 ] || exit 1
echo "setup: ok (Open MPI $(pkg-config --modversion ompi-c), OpenBLAS $(pkg-config --modversion openblas), HDF5 $(pkg-config --modversion hdf5-serial), zlib $(pkg-config --modversion zlib))"

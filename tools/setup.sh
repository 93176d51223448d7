#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install build and test dependencies (Debian 12, as root) and build the
# project into a build directory.  Sourced by tools/demo.sh and tools/test.sh.
#   es_setup_packages            apt-get what is missing
#   es_build DIR [CONFIGURE-ARGS...]   autoreconf (once), configure, make
set -euo pipefail

ES_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Every package the build, the tests and the oracles need.
ES_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libcmocka-dev libfsverity-dev liblz4-dev zlib1g-dev libargon2-dev
	erofs-utils fsverity openssl attr acl util-linux python3 xxd
	# libFuzzer and its sanitizers for the fuzz targets (tests/fuzz/run.sh)
	clang
	python3-cryptography python3-argon2
	# compressors (mkfs -z) and decompressors (liblz4-dev above): zstd,
	# DEFLATE (libdeflate: faster than zlib at the same ratio, for
	# encoding and whole-buffer decoding) and MicroLZMA (reader only)
	libzstd-dev libdeflate-dev liblzma-dev
	# mkfs --tar: tar streams, plain or gzip/zstd/xz, with sparse maps and
	# xattrs, read in one pass (lib/build/scan_tar.c)
	libarchive-dev
	# t-json-schema: every --json output against docs/erofs-seal.schema.json
	python3-jsonschema
	# /usr/bin/time: peak memory (its %M) in bench/run and t-slow-build-2g
	time
	# the boot reader's UEFI example (boot/examples/uefi, t-boot-uefi)
	gnu-efi
)

es_setup_packages() {
	local missing=() p
	for p in "${ES_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "setup: installing ${missing[*]}"
		if [ "$(id -u)" != 0 ]; then
			echo "setup: need root to install packages" >&2
			return 1
		fi
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

es_build() {
	local dir=$1
	shift
	cd "$ES_TOP"
	if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
		autoreconf -fi >/dev/null
	fi
	mkdir -p "$dir"
	cd "$dir"
	if [ ! -f Makefile ] || [ "$ES_TOP/configure" -nt Makefile ]; then
		"$ES_TOP/configure" -q "$@"
	fi
	make -s -j"$(nproc)" all
	cd "$ES_TOP"
}

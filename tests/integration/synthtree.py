#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""synthtree.py - a deterministic tree of a given size and file count.

usage: detstream SEED | synthtree.py DIR --bytes N --files N [--variant V]
                                         [--share F]

Makes DIR (which must not exist) with N files holding N bytes of file data
in all, fast enough for 1,000,000 files or 2 GB (gentree.sh writes one file
per process, which takes hours at that scale).  File data comes from
standard input, a deterministic stream (detrand.sh's detstream), so the
same arguments give the same tree on every machine; sizes, names, owners,
modes and times come from a generator seeded by --files and --bytes.

About half of the files are made compressible (words of a small
vocabulary), 3% repeat an earlier file's content, 1% are hard links
and 1% symlinks; owners, modes and mtimes vary (owners only as root).

--variant V (V > 0) makes "the next version" of the same tree: the same
names and sizes, and every file keeps its content except a seeded fraction
1 - F of them (--share, default 0.8), whose bytes are changed throughout.
Two variants thus share about F of their file data, chunk for chunk, as two
releases of one distribution share most package files.
"""
import argparse
import os
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--bytes", type=int, required=True)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--variant", type=int, default=0)
    ap.add_argument("--share", type=float, default=0.8)
    a = ap.parse_args()
    if a.files < 1 or a.bytes < 0 or not 0.0 <= a.share <= 1.0:
        ap.error("--files must be >= 1, --bytes >= 0, --share in [0, 1]")

    rng = random.Random("synthtree/%d/%d" % (a.files, a.bytes))
    change = random.Random("synthtree-variant/%d" % a.variant)
    src = sys.stdin.buffer
    as_root = os.geteuid() == 0

    # about 40 entries per directory, at most 4 levels deep
    os.mkdir(a.dir)
    dirs = [a.dir]
    for i in range(max(1, a.files // 40)):
        parent = rng.choice(dirs)
        if parent.count(os.sep) - a.dir.count(os.sep) >= 4:
            parent = a.dir
        d = os.path.join(parent, "d%05d" % i)
        os.mkdir(d)
        dirs.append(d)

    # heavy-tailed sizes scaled to the requested total
    weights = [rng.paretovariate(1.2) for _ in range(a.files)]
    scale = a.bytes / sum(weights)
    sizes = [int(w * scale) for w in weights]
    sizes[0] += a.bytes - sum(sizes)

    # compressible files are words of a 512-word vocabulary: repeats within
    # a 4 KiB cluster for LZ4, skewed letters for the entropy coders
    letters = b"etaoinshrdlucmfwypvbgk"
    vocab = []
    for _ in range(512):
        w = bytes(rng.choice(letters[:rng.randint(8, len(letters))])
                  for _ in range(rng.randint(2, 8)))
        vocab.append(w + (b"\n" if rng.random() < 0.1 else b" "))

    def words(size):
        # each word costs two stream bytes; a word is at least 3 bytes long
        raw = src.read(2 * (size // 3 + 1))
        out = b"".join([vocab[i & 511] for i in memoryview(raw).cast("H")])
        return raw, out[:size]
    # a changed file's bytes: every byte moved, so no chunk stays the same
    moved = bytes((i + 101) % 256 for i in range(256))
    owners = [(0, 0), (0, 0), (1000, 1000), (65534, 65534)]
    modes = [0o644, 0o644, 0o600, 0o755, 0o640]
    files = []
    total = 0
    carry = 0  # the size a link did not use goes to the next file
    for n, size in enumerate(sizes):
        size += carry
        carry = 0
        d = rng.choice(dirs)
        path = os.path.join(d, "f%07d" % n)
        kind = rng.random()
        text = rng.random() < 0.5
        changed = a.variant > 0 and change.random() >= a.share
        if files and kind < 0.01:
            os.link(rng.choice(files), path)
            carry = size
            continue
        if files and kind < 0.02:
            os.symlink(os.path.relpath(rng.choice(files), d), path)
            carry = size
            continue
        if files and kind < 0.05:
            with open(rng.choice(files), "rb") as f:
                data = f.read()
            carry = size - len(data) if size > len(data) else 0
        else:
            if text:
                raw, data = words(size)
                if len(raw) != 2 * (size // 3 + 1):
                    sys.exit("synthtree: the input stream ended early")
            else:
                data = src.read(size)
                if len(data) != size:
                    sys.exit("synthtree: the input stream ended early")
        if changed:
            data = data.translate(moved)
        with open(path, "wb") as f:
            f.write(data)
        total += len(data)
        if as_root:
            os.chown(path, *rng.choice(owners))
        else:
            rng.choice(owners)
        os.chmod(path, rng.choice(modes))
        t = 1600000000 + rng.randint(0, 10 ** 8)
        os.utime(path, (t, t))
        files.append(path)
    print("synthtree: %s: %d files, %d directories, %d bytes of file data"
          % (a.dir, len(sizes), len(dirs), total))


if __name__ == "__main__":
    main()

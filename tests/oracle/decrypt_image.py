#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""decrypt_image: open an encrypted erofs-seal image without our C code.

The oracle of the encryption tests.  From docs/FORMAT.md (sections 2-5)
and ENCRYPTION.md alone, with escrypt (the derivations and key table) and
keyslots (the key area and its slots), it

  * reads the locator, the manifest and the chunk index, and checks the
    domain check against the domain key;
  * unwraps the table key from the key area with one credential;
  * decrypts the key table, checks every segment digest and the table
    digest of the manifest;
  * recomputes every chunk secret and keyed identifier from the domain key
    and the source tree, and compares them with the chunk index and the
    table;
  * for an image whose data is all in device 0, decrypts every block of
    the filesystem region, clears the encryption incompat bit, fixes the
    superblock checksum and writes the plain filesystem, which
    /usr/bin/fsck.erofs can then check and extract.

    decrypt_image.py IMAGE SOURCE DOMAIN_KEY CREDENTIAL OUT
        CREDENTIAL: keyfile:FILE | passphrase-file:FILE | identity:KEY.pem
                    | seed:FILE[:LABEL]
        KEY_AREA=FILE in the environment: a detached key area
Prints one line per check; exits 1 with a message when one fails.
"""

import hashlib
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import escrypt  # noqa: E402
import keyslots  # noqa: E402

BLOCK = 4096
INCOMPAT_ENCRYPTED = 0x80000000


class OracleError(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise OracleError(msg)


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def read_seal(img):
    loc = img[-BLOCK:]
    need(loc[:8] == b"EROFSEAL", "locator: bad magic")
    need(hashlib.sha256(loc[:120]).digest() == loc[120:152], "locator: bad checksum")
    uuid = loc[16:32]
    fs_size = struct.unpack_from("<Q", loc, 32)[0]
    secs = [struct.unpack_from("<QQ", loc, 40 + 16 * i) for i in range(5)]
    moff, mlen = secs[0]
    m = img[moff:moff + mlen]
    need(m[:8] == b"ESMANIF1", "manifest: bad magic")
    flags, = struct.unpack_from("<I", m, 12)
    need(flags & 1, "manifest: not encrypted")
    need(m[16:32] == uuid, "manifest: UUID")
    chunksize, suite, ndev = struct.unpack_from("<III", m, 44)
    table_digest = m[56:88]
    index_digest = m[88:120]
    devices = []
    for i in range(ndev):
        size, = struct.unpack_from("<Q", m, 120 + 48 * i)
        devices.append(size)
    ext = m[120 + 48 * ndev:]
    need(len(ext) == 48, "manifest: encryption fields")
    entries, seg_size = struct.unpack_from("<QI", ext, 0)
    dcheck = ext[16:48]
    ioff, ilen = secs[3]
    index = img[ioff:ioff + ilen]
    need(hashlib.sha256(index).digest() == index_digest, "chunk index: digest")
    need(index[:8] == b"ESCHIDX1", "chunk index: magic")
    count, = struct.unpack_from("<Q", index, 8)
    recs = []
    for i in range(count):
        r = index[16 + 48 * i:16 + 48 * (i + 1)]
        blk, nblocks, length, dev = struct.unpack_from("<IIIH", r, 32)
        recs.append((r[:32], dev, blk, nblocks, length))
    koff, klen = secs[4]
    return dict(uuid=uuid, fs_size=fs_size, suite=suite, chunksize=chunksize,
                devices=devices, table_digest=table_digest, entries=entries,
                seg_size=seg_size, domain_check=dcheck, recs=recs,
                key_area=img[koff:koff + klen] if klen else None)


def source_chunks(root, chunksize):
    """Every non-zero chunk of every regular file: (length, sha256)."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                while True:
                    data = f.read(chunksize)
                    if not data:
                        break
                    if data.count(0) == len(data):
                        continue
                    out.add((len(data), hashlib.sha256(data).digest()))
    return out


def main(argv):
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    image_path, source, domain_path, credential, out_path = argv[1:]
    img = open(image_path, "rb").read()
    domain = open(domain_path, "rb").read()
    need(len(domain) == 32, "domain key: not 32 bytes")
    s = read_seal(img)
    suite, uuid = s["suite"], s["uuid"]
    need(suite == escrypt.SUITE_XTS_V1, "suite %d" % suite)
    need(escrypt.domain_check(domain, uuid) == s["domain_check"],
         "domain check: the image is not of this domain")
    print("ok: domain check")

    area = s["key_area"]
    if os.environ.get("KEY_AREA"):
        area = open(os.environ["KEY_AREA"], "rb").read()
    need(area is not None, "no key area")
    h, slot, tk, plain = keyslots.open_area(area, [keyslots.load_cred(credential)],
                                            uuid, s["table_digest"])
    print("ok: slot %d (%s) unwrapped the table key (generation %d)"
          % (slot, credential.split(":")[0], h["gen"]))
    need(h["entries"] == s["entries"], "key area: entries differ from the manifest's")
    print("ok: key table decrypted, every segment matches its digest, the digests "
          "the manifest's table digest")

    meta_key = plain[:64]
    recs = s["recs"]
    need(s["entries"] == len(recs) + 1, "table entries vs chunk index")
    expect = {}
    for length, h in source_chunks(source, s["chunksize"]):
        cid = escrypt.chunk_id_of(domain, suite, length, h)
        expect[(cid, (length + BLOCK - 1) // BLOCK)] = escrypt.chunk_secret_of(
            domain, suite, length, h)
    keys = {}
    for i, (cid, dev, blk, nblocks, length) in enumerate(recs):
        secret, edev, eblk = escrypt.parse_table_entry(
            plain[64 * (i + 1):64 * (i + 2)])
        need((edev, eblk) == (dev, blk), "table entry %d names another chunk" % (i + 1))
        need(length == nblocks * BLOCK, "chunk index %d: exact length visible" % i)
        want = expect.get((cid, nblocks))
        need(want is not None, "chunk index %d: keyed id of no source chunk" % i)
        need(want == secret, "chunk index %d: secret differs from the recomputed one" % i)
        keys[(dev, blk)] = (escrypt.chunk_key(secret, suite), nblocks)
    need(len(recs) == len(expect), "chunk index has %d chunks, the source %d distinct"
         % (len(recs), len(expect)))
    print("ok: %d chunk secrets and keyed identifiers recomputed from the source"
          % len(recs))

    if len(s["devices"]) != 1:
        print("ok: (data in blobs: the filesystem region is not decrypted here)")
        return 0
    fs = bytearray(img[:s["fs_size"]])
    nblocks_fs = len(fs) // BLOCK
    chunk_of = {}
    for (dev, blk), (key, n) in keys.items():
        for u in range(n):
            chunk_of[blk + u] = (key, u)
    for b in range(1, nblocks_fs):
        data = bytes(fs[b * BLOCK:(b + 1) * BLOCK])
        if b in chunk_of:
            key, u = chunk_of[b]
            pt = escrypt.xts_unit(key, u, data, False)
        else:
            pt = escrypt.decrypt_meta_block(meta_key, b, data)
        fs[b * BLOCK:(b + 1) * BLOCK] = pt
    incompat, = struct.unpack_from("<I", fs, 1024 + 80)
    need(incompat & INCOMPAT_ENCRYPTED, "superblock: no encryption bit")
    struct.pack_into("<I", fs, 1024 + 80, incompat & ~INCOMPAT_ENCRYPTED)
    struct.pack_into("<I", fs, 1028, 0)
    struct.pack_into("<I", fs, 1028, crc32c(bytes(fs[1024:BLOCK])))
    with open(out_path, "wb") as f:
        f.write(fs)
    print("ok: %d blocks decrypted (%d chunk blocks), incompat bit cleared"
          % (nblocks_fs - 1, len(chunk_of)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OracleError, escrypt.EscryptError, keyslots.KeyslotsError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)

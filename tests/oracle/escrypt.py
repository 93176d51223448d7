#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""escrypt: erofs-seal's encryption rules, written a second time.

An oracle for the tests: an implementation of the encryption rules
(derivations, key table) written from the specification in Python,
with Python's hashlib and hmac and the "cryptography" package (Debian's
python3-cryptography) for AES, and nothing of the C code.  When the C
library and this module agree on the published test vectors
(docs/FORMAT.md section 3), both read the rules the same way.

Import it (sys.path.insert(0, "tests/oracle"); import escrypt) for the
functions, or run it:

    python3 escrypt.py vectors    print the test vectors of docs/FORMAT.md
    python3 escrypt.py selftest   check HKDF against RFC 5869 and AES
    python3 escrypt.py encrypt-table UUID TK GEN PLAIN CT
        encrypt the table plaintext in file PLAIN (suite 1; UUID and TK in
        hex) into file CT, print its segment digests and table digest

Conventions: every byte string is `bytes`; integers are Python ints and
every encoder checks its range; a check that fails raises EscryptError.
"""

import hashlib
import hmac
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SUITE_XTS_V1 = 1

UNIT_SIZE = 4096          # XTS data unit, and the padding of a chunk
DOMAIN_KEY_SIZE = 32
TABLE_KEY_SIZE = 32
UUID_SIZE = 16
ENTRY_SIZE = 64           # a key table entry
SEG_SIZE = 4096           # plaintext bytes of a key table segment
SEG_ENTRIES = SEG_SIZE // ENTRY_SIZE
TAG_SIZE = 16             # AES-GCM tag after each segment


class EscryptError(Exception):
    """An input that the rules refuse, or a check that failed."""


# ---- encodings ------------------------------------------------------------

def L(name):
    """L(x): "erofs-seal/v1/" || x || one zero byte."""
    return b"erofs-seal/v1/" + name.encode("ascii") + b"\x00"


def _uint(value, size, order):
    if not 0 <= value < 1 << (8 * size):
        raise EscryptError("%d does not fit in %d bytes" % (value, size))
    return value.to_bytes(size, order)


def u16le(v):
    return _uint(v, 2, "little")


def u32le(v):
    return _uint(v, 4, "little")


def u64le(v):
    return _uint(v, 8, "little")


def u128le(v):
    return _uint(v, 16, "little")


def u32be(v):
    return _uint(v, 4, "big")


def u64be(v):
    return _uint(v, 8, "big")


def _need(value, size, what):
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise EscryptError("%s must be %d bytes" % (what, size))
    return bytes(value)


def _need_suite(suite):
    if suite != SUITE_XTS_V1:
        raise EscryptError("unknown suite %r" % (suite,))


# ---- primitives -----------------------------------------------------------

def hmac_sha256(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def hkdf_expand(hashname, prk, info, length):
    """HKDF-Expand (RFC 5869 section 2.3), from HMAC alone."""
    size = hashlib.new(hashname).digest_size
    if not 1 <= length <= 255 * size:
        raise EscryptError("HKDF-Expand cannot give %d bytes" % length)
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]),
                         hashname).digest()
        okm += block
        counter += 1
    return okm[:length]


def hkdf_extract(hashname, salt, ikm):
    """HKDF-Extract (RFC 5869 section 2.2); empty salt: hash-length zeros."""
    if not salt:
        salt = bytes(hashlib.new(hashname).digest_size)
    return hmac.new(salt, ikm, hashname).digest()


def hkdf(hashname, salt, ikm, info, length):
    return hkdf_expand(hashname, hkdf_extract(hashname, salt, ikm), info,
                       length)


def xts_unit(key, index, data, encrypt):
    """AES-256-XTS of one data unit with tweak u128le(index)."""
    key = _need(key, 64, "an XTS key")
    if key[:32] == key[32:]:
        raise EscryptError("XTS key with equal halves")
    cipher = Cipher(algorithms.AES(key), modes.XTS(u128le(index)))
    ctx = cipher.encryptor() if encrypt else cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


# ---- derivations (ENCRYPTION.md section 1) -----------------------------

def chunk_secret_of(domain, suite, length, h):
    """s = HMAC-SHA256(K_domain, L("chunk") || u32le(suite) || u64le(len) || h)."""
    _need_suite(suite)
    return hmac_sha256(_need(domain, DOMAIN_KEY_SIZE, "a domain key"),
                       L("chunk") + u32le(suite) + u64le(length)
                       + _need(h, 32, "a chunk digest"))


def chunk_secret(domain, suite, plaintext):
    return chunk_secret_of(domain, suite, len(plaintext),
                           hashlib.sha256(plaintext).digest())


def chunk_id_of(domain, suite, length, h):
    """HMAC-SHA256(K_domain, L("chunk-id") || u32le(suite) || u64le(len) || h)."""
    _need_suite(suite)
    return hmac_sha256(_need(domain, DOMAIN_KEY_SIZE, "a domain key"),
                       L("chunk-id") + u32le(suite) + u64le(length)
                       + _need(h, 32, "a chunk digest"))


def chunk_id(domain, suite, plaintext):
    return chunk_id_of(domain, suite, len(plaintext),
                       hashlib.sha256(plaintext).digest())


def chunk_key(secret, suite):
    """K = HKDF-Expand-SHA512(s, L("xts") || u32le(suite), 64); equal halves refused."""
    _need_suite(suite)
    key = hkdf_expand("sha512", _need(secret, 32, "a chunk secret"),
                      L("xts") + u32le(suite), 64)
    if key[:32] == key[32:]:
        raise EscryptError("chunk key with equal halves")
    return key


def domain_check(domain, uuid):
    """HMAC-SHA256(K_domain, L("domain-check") || uuid)."""
    return hmac_sha256(_need(domain, DOMAIN_KEY_SIZE, "a domain key"),
                       L("domain-check") + _need(uuid, UUID_SIZE, "a UUID"))


def kid(tk):
    """HMAC-SHA256(TK, L("kid")): names a table key without revealing it."""
    return hmac_sha256(_need(tk, TABLE_KEY_SIZE, "a table key"), L("kid"))


def _padded_units(data):
    return (len(data) + UNIT_SIZE - 1) // UNIT_SIZE


def encrypt_chunk(key, plaintext):
    """The chunk zero-padded to whole units, unit i under tweak u128le(i)."""
    n = _padded_units(plaintext)
    padded = plaintext + bytes(n * UNIT_SIZE - len(plaintext))
    return b"".join(xts_unit(key, i, padded[i * UNIT_SIZE:(i + 1) * UNIT_SIZE],
                             True) for i in range(n))


def decrypt_chunk(key, ciphertext, length):
    """Inverse of encrypt_chunk: the first length bytes of the plaintext."""
    if len(ciphertext) % UNIT_SIZE or length > len(ciphertext):
        raise EscryptError("a chunk's ciphertext is whole units")
    plain = b"".join(xts_unit(key, i, ciphertext[i * UNIT_SIZE:(i + 1) * UNIT_SIZE],
                              False)
                     for i in range(len(ciphertext) // UNIT_SIZE))
    return plain[:length]


def encrypt_meta_block(meta_key, block, data):
    """A metadata block under the metadata key, tweak u128le(block number)."""
    return xts_unit(meta_key, block, data, True)


def decrypt_meta_block(meta_key, block, data):
    return xts_unit(meta_key, block, data, False)


# ---- the key table (ENCRYPTION.md section 2) -----------------------------

def table_nseg(entries):
    return (entries + SEG_ENTRIES - 1) // SEG_ENTRIES


def table_seg_len(entries, k):
    nseg = table_nseg(entries)
    if not 0 <= k < nseg:
        raise EscryptError("segment %d of %d" % (k, nseg))
    if k < nseg - 1:
        return SEG_SIZE
    return (entries - k * SEG_ENTRIES) * ENTRY_SIZE


def table_ct_size(entries):
    return entries * ENTRY_SIZE + table_nseg(entries) * TAG_SIZE


def table_entry(secret, device, block):
    """secret[32] | le16 device | le16 0 | le32 0 | le64 block | 16 zero bytes."""
    return (_need(secret, 32, "a chunk secret") + u16le(device) + bytes(6)
            + u64le(block) + bytes(16))


def parse_table_entry(entry):
    """(secret, device, block) of an entry i >= 1; reserved bytes must be 0."""
    entry = _need(entry, ENTRY_SIZE, "a table entry")
    if any(entry[34:40]) or any(entry[48:64]):
        raise EscryptError("table entry with nonzero reserved bytes")
    return (entry[:32], int.from_bytes(entry[32:34], "little"),
            int.from_bytes(entry[40:48], "little"))


def table_key(tk, uuid, gen):
    """K_tbl = HKDF-Expand-SHA256(TK, L("table-key") || uuid || u32le(gen), 32)."""
    return hkdf_expand("sha256", _need(tk, TABLE_KEY_SIZE, "a table key"),
                       L("table-key") + _need(uuid, UUID_SIZE, "a UUID")
                       + u32le(gen), 32)


def seg_nonce(k):
    return u32be(0) + u64be(k)


def seg_aad(uuid, suite, gen, k, entries):
    return (L("table-seg") + _need(uuid, UUID_SIZE, "a UUID") + u32le(suite)
            + u32le(gen) + u64le(k) + u64le(table_nseg(entries))
            + u64le(entries))


def _check_table(suite, entries):
    _need_suite(suite)
    if entries < 1:
        raise EscryptError("a key table has at least the metadata key")


def _segments(plain):
    if len(plain) % ENTRY_SIZE:
        raise EscryptError("a table plaintext is whole entries")
    entries = len(plain) // ENTRY_SIZE
    return entries, [plain[k * SEG_SIZE:k * SEG_SIZE + table_seg_len(entries, k)]
                     for k in range(table_nseg(entries))]


def segment_digest(k, seg_plain):
    """D_k = SHA-256(L("table-pt") || u64le(k) || plaintext segment k)."""
    return hashlib.sha256(L("table-pt") + u64le(k) + seg_plain).digest()


def table_digest_of(uuid, suite, entries, digests):
    """SHA-256(L("table") || uuid || u32le(suite) || u64le(entries) || u32le(seg_size) || D_0 ... D_{m-1})."""
    if len(digests) != table_nseg(entries):
        raise EscryptError("%d segment digests for %d segments"
                           % (len(digests), table_nseg(entries)))
    return hashlib.sha256(L("table") + _need(uuid, UUID_SIZE, "a UUID")
                          + u32le(suite) + u64le(entries) + u32le(SEG_SIZE)
                          + b"".join(digests)).digest()


def table_digests(uuid, suite, plain):
    """([D_0, ...], table_digest) of a whole table plaintext."""
    entries, segs = _segments(plain)
    _check_table(suite, entries)
    digests = [segment_digest(k, s) for k, s in enumerate(segs)]
    return digests, table_digest_of(uuid, suite, entries, digests)


def encrypt_table(tk, uuid, suite, gen, plain):
    """Each segment's AES-256-GCM ciphertext followed by its 16-byte tag."""
    entries, segs = _segments(plain)
    _check_table(suite, entries)
    gcm = AESGCM(table_key(tk, uuid, gen))
    # AESGCM appends the tag to the ciphertext: exactly the layout
    return b"".join(gcm.encrypt(seg_nonce(k), s,
                                seg_aad(uuid, suite, gen, k, entries))
                    for k, s in enumerate(segs))


def open_table_segment(tk, uuid, suite, gen, entries, k, seg_ct, digests):
    """Segment k's plaintext, after its tag and its D_k (digests[k]) check."""
    _check_table(suite, entries)
    if len(seg_ct) != table_seg_len(entries, k) + TAG_SIZE:
        raise EscryptError("segment %d: %d bytes of ciphertext" % (k, len(seg_ct)))
    gcm = AESGCM(table_key(tk, uuid, gen))
    try:
        plain = gcm.decrypt(seg_nonce(k), seg_ct,
                            seg_aad(uuid, suite, gen, k, entries))
    except InvalidTag:
        raise EscryptError("table segment %d: the tag does not verify" % k)
    if not hmac.compare_digest(segment_digest(k, plain), digests[k]):
        raise EscryptError("table segment %d: plaintext does not match D_%d"
                           % (k, k))
    return plain


def decrypt_table(tk, uuid, suite, gen, entries, ct, digests):
    """The whole table plaintext; every tag and every D_k checked."""
    _check_table(suite, entries)
    if len(ct) != table_ct_size(entries):
        raise EscryptError("a table of %d entries has %d bytes of ciphertext, not %d"
                           % (entries, table_ct_size(entries), len(ct)))
    out, off = [], 0
    for k in range(table_nseg(entries)):
        n = table_seg_len(entries, k) + TAG_SIZE
        out.append(open_table_segment(tk, uuid, suite, gen, entries, k,
                                      ct[off:off + n], digests))
        off += n
    return b"".join(out)


# ---- the published test vectors (docs/FORMAT.md section 3.4) ---------------

def vector_inputs():
    """The inputs of the vectors, each from a formula FORMAT.md states."""
    v = {}
    v["K_domain"] = bytes(range(32))
    v["suite"] = SUITE_XTS_V1
    v["P"] = bytes((7 * i + 3) % 256 for i in range(5000))
    v["uuid"] = bytes((0xf0 - 15 * i) % 256 for i in range(16))
    v["TK"] = bytes(0x40 + i for i in range(32))
    v["gen"] = 3
    v["M"] = bytes(0x80 + i for i in range(64))
    v["meta_block"] = 0x12345
    v["B"] = bytes((5 * i + 1) % 256 for i in range(4096))
    table = [v["M"]]
    for c in range(129):
        secret = bytes((c + 7 * j) % 256 for j in range(32))
        table.append(table_entry(secret, c // 64, 100 + 3 * c))
    v["table"] = b"".join(table)
    return v


def vectors():
    """The vectors as (name, value) pairs, values as FORMAT.md prints them."""
    v = vector_inputs()
    suite, entries = v["suite"], len(v["table"]) // ENTRY_SIZE
    out = [("K_domain", v["K_domain"].hex()), ("suite", str(suite)),
           ("P_len", str(len(v["P"]))), ("uuid", v["uuid"].hex()),
           ("TK", v["TK"].hex()), ("gen", str(v["gen"])),
           ("M", v["M"].hex()), ("meta_block", str(v["meta_block"])),
           ("entries", str(entries))]

    h = hashlib.sha256(v["P"]).digest()
    s = chunk_secret(v["K_domain"], suite, v["P"])
    key = chunk_key(s, suite)
    chunk_ct = encrypt_chunk(key, v["P"])
    if decrypt_chunk(key, chunk_ct, len(v["P"])) != v["P"]:
        raise EscryptError("chunk round trip")
    meta_ct = encrypt_meta_block(v["M"], v["meta_block"], v["B"])
    out += [("P_sha256", h.hex()), ("chunk_secret", s.hex()),
            ("chunk_key", key.hex()),
            ("chunk_id", chunk_id(v["K_domain"], suite, v["P"]).hex()),
            ("chunk_ct_sha256", hashlib.sha256(chunk_ct).hexdigest()),
            ("chunk_ct_unit1_head", chunk_ct[UNIT_SIZE:UNIT_SIZE + 16].hex()),
            ("domain_check", domain_check(v["K_domain"], v["uuid"]).hex()),
            ("meta_ct_sha256", hashlib.sha256(meta_ct).hexdigest()),
            ("meta_ct_head", meta_ct[:16].hex()),
            ("kid", kid(v["TK"]).hex()),
            ("K_tbl", table_key(v["TK"], v["uuid"], v["gen"]).hex())]

    table = v["table"]
    digests, tdigest = table_digests(v["uuid"], suite, table)
    ct = encrypt_table(v["TK"], v["uuid"], suite, v["gen"], table)
    if decrypt_table(v["TK"], v["uuid"], suite, v["gen"], entries, ct,
                     digests) != table:
        raise EscryptError("table round trip")
    out += [("table_pt_sha256", hashlib.sha256(table).hexdigest()),
            ("entry_1", table[ENTRY_SIZE:2 * ENTRY_SIZE].hex()),
            ("entry_129", table[129 * ENTRY_SIZE:130 * ENTRY_SIZE].hex()),
            ("nseg", str(table_nseg(entries))),
            ("ct_size", str(len(ct)))]
    out += [("D_%d" % k, d.hex()) for k, d in enumerate(digests)]
    out.append(("table_digest", tdigest.hex()))
    off = 0
    for k in range(table_nseg(entries)):
        off += table_seg_len(entries, k)
        out.append(("tag_%d" % k, ct[off:off + TAG_SIZE].hex()))
        off += TAG_SIZE
    out.append(("table_ct_sha256", hashlib.sha256(ct).hexdigest()))
    return out


def selftest():
    """The primitives built here against published vectors and the library."""
    # RFC 5869 test case 1 (SHA-256), Extract then Expand
    prk = hkdf_extract("sha256", bytes(range(13)), b"\x0b" * 22)
    assert prk.hex() == ("077709362c2e32df0ddc3f0dc47bba63"
                         "90b6c73bb50f9c3122ec844ad7c2b3e5"), "RFC 5869 PRK"
    okm = hkdf_expand("sha256", prk, bytes(range(0xf0, 0xfa)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
                         "2d56ecc4c5bf34007208d5b887185865"), "RFC 5869 OKM"
    # Expand with SHA-512 against the cryptography package's own HKDFExpand
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
    prk = bytes(range(64))
    theirs = HKDFExpand(hashes.SHA512(), 100, b"info").derive(prk)
    assert hkdf_expand("sha512", prk, b"info", 100) == theirs, "HKDF-SHA512"
    assert L("kid") == b"erofs-seal/v1/kid\x00"
    print("escrypt selftest: ok")


def print_table_digests(digests, tdigest):
    for k, d in enumerate(digests):
        print("D_%d = %s" % (k, d.hex()))
    print("table_digest = %s" % tdigest.hex())


def main(argv):
    if len(argv) == 7 and argv[1] == "encrypt-table":
        uuid, tk, gen = bytes.fromhex(argv[2]), bytes.fromhex(argv[3]), int(argv[4])
        with open(argv[5], "rb") as f:
            plain = f.read()
        digests, tdigest = table_digests(uuid, SUITE_XTS_V1, plain)
        ct = encrypt_table(tk, uuid, SUITE_XTS_V1, gen, plain)
        entries = len(plain) // ENTRY_SIZE
        if decrypt_table(tk, uuid, SUITE_XTS_V1, gen, entries, ct,
                         digests) != plain:
            raise EscryptError("table round trip")
        with open(argv[6], "wb") as f:
            f.write(ct)
        print_table_digests(digests, tdigest)
        return 0
    if argv[1:] == ["vectors"]:
        for name, value in vectors():
            print("%s = %s" % (name, value))
        return 0
    if argv[1:] == ["selftest"]:
        selftest()
        return 0
    sys.stderr.write("usage: escrypt.py vectors | selftest | "
                     "encrypt-table UUID TK GEN PLAIN CT\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

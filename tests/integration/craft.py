# SPDX-License-Identifier: GPL-2.0-or-later
"""Craft hostile images from real ones (t-crafted.sh).

    craft.py CASE IN OUT [ARG...]

reads the image IN, applies CASE, writes OUT.  The structures are found by
a small EROFS and seal walker written from docs/FORMAT.md and the EROFS
on-disk format, independent of our C reader; checksums the reader would
stop at first (superblock CRC-32C, seal locator, the manifest's chunk index
digest of an unsigned seal, key-area header copies) are recomputed, so
that each case reaches what it names.  `craft.py list` prints the cases, `craft.py manifest-digest IMG` the
SHA-256 of an image's manifest (what a boot loader pins).
"""
import hashlib
import struct
import sys

CASES = {}


def case(fn):
    CASES[fn.__name__.replace('_', '-')] = fn
    return fn


def u16(b, o): return struct.unpack_from('<H', b, o)[0]
def u32(b, o): return struct.unpack_from('<I', b, o)[0]
def u64(b, o): return struct.unpack_from('<Q', b, o)[0]
def p16(b, o, v): struct.pack_into('<H', b, o, v)
def p32(b, o, v): struct.pack_into('<I', b, o, v)
def p64(b, o, v): struct.pack_into('<Q', b, o, v)


# ---- EROFS ----------------------------------------------------------------

SB = 1024


def crc32c(data, crc=0xFFFFFFFF):
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc


def fix_sb(img):
    if not u32(img, SB + 8) & 1:
        return
    blksz = 1 << img[SB + 12]
    end = blksz if blksz > SB else SB + blksz
    data = bytes(img[SB:SB + 4]) + b'\0' * 4 + bytes(img[SB + 8:end])
    p32(img, SB + 4, crc32c(data))


class Erofs:
    def __init__(self, img):
        self.img = img
        self.bits = img[SB + 12]
        self.blksz = 1 << self.bits
        self.root = u16(img, SB + 14)
        self.meta = u32(img, SB + 40) * self.blksz

    def inode(self, nid):
        b, off = self.img, self.meta + nid * 32
        fmt = u16(b, off)
        ino = {'nid': nid, 'off': off, 'ext': fmt & 1, 'layout': (fmt >> 1) & 7,
               'xcount': u16(b, off + 2), 'mode': u16(b, off + 4)}
        if ino['ext']:
            ino.update(isize=64, size=u64(b, off + 8), u=u32(b, off + 16))
        else:
            ino.update(isize=32, size=u32(b, off + 8), u=u32(b, off + 16))
        ino['xsize'] = 12 + 4 * (ino['xcount'] - 1) if ino['xcount'] else 0
        ino['body'] = off + ino['isize'] + ino['xsize']
        return ino

    def set_size(self, ino, size):
        if ino['ext']:
            p64(self.img, ino['off'] + 8, size)
        else:
            p32(self.img, ino['off'] + 8, size)

    def block_off(self, ino, lblk):
        """Byte offset of logical block lblk of a flat file, and its length."""
        nblocks = (ino['size'] + self.blksz - 1) // self.blksz
        length = min(self.blksz, ino['size'] - lblk * self.blksz)
        if ino['layout'] == 2 and lblk == nblocks - 1 and ino['size'] % self.blksz:
            return ino['body'], length
        assert ino['layout'] in (0, 2), 'not a flat layout'
        return (ino['u'] + lblk) * self.blksz, length

    def dirents(self, ino):
        """[(dirent offset, name offset, name, nid, type)] of a directory."""
        out = []
        for lblk in range((ino['size'] + self.blksz - 1) // self.blksz):
            boff, blen = self.block_off(ino, lblk)
            blk = self.img[boff:boff + blen]
            count = u16(blk, 8) // 12
            for i in range(count):
                no = u16(blk, 12 * i + 8)
                end = u16(blk, 12 * (i + 1) + 8) if i + 1 < count else blen
                name = bytes(blk[no:end]).split(b'\0')[0]
                out.append((boff + 12 * i, boff + no, name, u64(blk, 12 * i), blk[12 * i + 10]))
        return out

    def lookup(self, path):
        nid = self.root
        for comp in [c for c in path.split('/') if c]:
            hits = [d for d in self.dirents(self.inode(nid)) if d[2] == comp.encode()]
            assert hits, f'{path}: {comp} not found'
            nid = hits[0][3]
        return self.inode(nid)

    def dirent(self, path):
        parent, _, name = path.rpartition('/')
        return [d for d in self.dirents(self.lookup(parent or '/'))
                if d[2] == name.encode()][0]

    def chunk_table(self, ino):
        unit = 8 if ino['u'] & 0x20 else 4
        return (ino['body'] + unit - 1) // unit * unit, unit


# ---- seal ------------------------------------------------------------------

LOC = 4096
SECTIONS = ('manifest', 'sigs', 'trees', 'index', 'keys')


class Seal:
    def __init__(self, img):
        self.img = img
        self.loc = len(img) - LOC
        assert img[self.loc:self.loc + 8] == b'EROFSEAL', 'not sealed'

    def section(self, name):
        o = self.loc + 40 + 16 * SECTIONS.index(name)
        return u64(self.img, o), u64(self.img, o + 8)

    def set_section(self, name, off, length):
        o = self.loc + 40 + 16 * SECTIONS.index(name)
        p64(self.img, o, off)
        p64(self.img, o + 8, length)

    def manifest(self):
        return self.section('manifest')[0]

    def fix(self):
        """The unsigned parts: chunk index digest in the manifest, locator."""
        mf = self.manifest()
        ioff, ilen = self.section('index')
        if 0 < ioff < len(self.img) and ioff + ilen <= len(self.img):
            self.img[mf + 88:mf + 120] = hashlib.sha256(self.img[ioff:ioff + ilen]).digest()
        self.img[self.loc + 120:self.loc + 152] = hashlib.sha256(
            self.img[self.loc:self.loc + 120]).digest()


# ---- key area ----------------------------------------------------------------

COPY = 8192


def fix_copies(img, base):
    for i in (0, 1):
        c = base + i * COPY
        img[c + 224:c + 256] = b'\0' * 32
        img[c + 224:c + 256] = hashlib.sha256(img[c:c + COPY]).digest()


def key_area(img):
    s = Seal(img)
    off, length = s.section('keys')
    assert length, 'no key area'
    return s, off


def both_copies(img, fn):
    s, base = key_area(img)
    for i in (0, 1):
        fn(base + i * COPY)
    fix_copies(img, base)


# ---- directory graph ----------------------------------------------------------


@case
def dir_loop(img, *_):
    """/a/b/c names /a: a cycle that is not through the root."""
    fs = Erofs(img)
    p64(img, fs.dirent('/a/b/c')[0], fs.lookup('/a')['nid'])
    fix_sb(img)


@case
def dir_linked_twice(img, *_):
    """/link (a symlink's entry) names the directory /a/b: two parents."""
    fs = Erofs(img)
    d = fs.dirent('/link')
    p64(img, d[0], fs.lookup('/a/b')['nid'])
    img[d[0] + 10] = 2
    fix_sb(img)


@case
def nid_out_of_range(img, *_):
    fs = Erofs(img)
    p64(img, fs.dirent('/sub/x05')[0], 1 << 40)


@case
def dir_name_past_block(img, *_):
    """The last name of /long starts where the first does: longer than 255."""
    fs = Erofs(img)
    ents = fs.dirents(fs.lookup('/long'))
    first_block = [e for e in ents if e[0] - ents[0][0] < fs.blksz]
    last = first_block[-1]
    p16(img, last[0] + 8, u16(img, ents[0][0] + 8))


@case
def dir_unsorted(img, *_):
    fs = Erofs(img)
    a, b = fs.dirent('/sub/x05'), fs.dirent('/sub/x06')
    img[a[1]:a[1] + 3], img[b[1]:b[1] + 3] = b'x06', b'x05'


@case
def dir_duplicate(img, *_):
    fs = Erofs(img)
    b = fs.dirent('/sub/x06')
    img[b[1]:b[1] + 3] = b'x05'


# ---- data addresses and sizes ---------------------------------------------------


@case
def blkaddr_out_of_range(img, *_):
    fs = Erofs(img)
    ino = fs.lookup('/big.bin')
    assert ino['layout'] in (0, 2)
    p32(img, ino['off'] + 16, 0xFFFFFF00)


@case
def chunk_blkaddr_out_of_range(img, *_):
    fs = Erofs(img)
    ino = fs.lookup('/big.bin')
    pos, unit = fs.chunk_table(ino)
    p32(img, pos + (4 if unit == 8 else 0), 0xFFFFFFF0)


@case
def device_id_out_of_range(img, *_):
    fs = Erofs(img)
    ino = fs.lookup('/big.bin')
    pos, unit = fs.chunk_table(ino)
    assert unit == 8
    p16(img, pos + 2, 0x7FFF)


def set_size(img, path, size):
    fs = Erofs(img)
    ino = fs.lookup(path)
    assert ino['ext'], 'needs an extended inode'
    fs.set_size(ino, size)


@case
def size_overflow_flat(img, *_):
    """2^64 - 1 bytes: rounding up to blocks wraps around."""
    set_size(img, '/big.bin', (1 << 64) - 1)


@case
def size_overflow_inline(img, *_):
    set_size(img, '/file.txt', (1 << 64) - 4095)


@case
def size_overflow_chunked(img, *_):
    set_size(img, '/big.bin', (1 << 64) - 1)


@case
def chunk_map_shorter(img, *_):
    """The file grows by 64 chunks its map does not have."""
    fs = Erofs(img)
    ino = fs.lookup('/big.bin')
    set_size(img, '/big.bin', ino['size'] + (64 << (fs.bits + (ino['u'] & 0x1f))))


@case
def chunk_map_longer(img, *_):
    """The file shrinks to 5 chunks: its map holds entries it no longer needs
    (EROFS leaves slack in metadata alone: the file reads as 5 chunks)."""
    fs = Erofs(img)
    ino = fs.lookup('/big.bin')
    set_size(img, '/big.bin', 5 << (fs.bits + (ino['u'] & 0x1f)))


# ---- the seal -------------------------------------------------------------------


@case
def tree_level_short(img, *_):
    """The trees section loses its last 4 KiB; what follows moves up."""
    s = Seal(img)
    toff, tlen = s.section('trees')
    cut = toff + tlen - 4096
    rest = bytes(img[toff + tlen:s.loc])
    s.set_section('trees', toff, tlen - 4096)
    for name in ('index', 'keys'):
        off, length = s.section(name)
        if length:
            s.set_section(name, off - 4096, length)
    loc = bytes(img[s.loc:])
    img[cut:] = rest + loc
    Seal(img).fix()


@case
def manifest_ndevices_overflow(img, *_):
    s = Seal(img)
    p32(img, s.manifest() + 52, 0xFFFFFFFF)
    s.fix()


@case
def manifest_device_size_overflow(img, dev='1', *_):
    s = Seal(img)
    p64(img, s.manifest() + 120 + 48 * int(dev), (1 << 64) - 1)
    s.fix()


@case
def manifest_tree_offset_overflow(img, dev='1', *_):
    s = Seal(img)
    p64(img, s.manifest() + 120 + 48 * int(dev) + 40, (1 << 64) - 4096)
    s.fix()


@case
def locator_offset_overflow(img, *_):
    s = Seal(img)
    s.set_section('index', (1 << 64) - 4096, 8192)
    s.fix()


@case
def sigs_count_overflow(img, *_):
    s = Seal(img)
    off, length = s.section('sigs')
    assert length
    p32(img, off + 8, 0xFFFFFFFF)
    s.fix()


@case
def sigs_length_overflow(img, *_):
    s = Seal(img)
    off, length = s.section('sigs')
    assert length
    p32(img, off + 16 + 4, 0xFFFFFFFF)
    s.fix()


@case
def chunk_index_count_overflow(img, *_):
    s = Seal(img)
    off, length = s.section('index')
    p64(img, off + 8, (1 << 64) - 1)
    s.fix()


@case
def chunk_index_record_overflow(img, *_):
    """Record 0: block address and count whose end wraps around."""
    s = Seal(img)
    off, length = s.section('index')
    assert length > 16
    p32(img, off + 16 + 32, 0xFFFFFFFF)
    p32(img, off + 16 + 36, 0xFFFFFFFF)
    s.fix()


# ---- the key area --------------------------------------------------------------


@case
def keyarea_entries_overflow(img, *_):
    both_copies(img, lambda c: p64(img, c + 72, 1 << 63))


@case
def keyarea_offsets_overflow(img, *_):
    def bad(c):
        p64(img, c + 184, (1 << 64) - 8)     # D
        p64(img, c + 192, (1 << 64) - 4096)  # table slot 0
    both_copies(img, bad)


@case
def keyarea_size_overflow(img, *_):
    both_copies(img, lambda c: p64(img, c + 40, (1 << 64) - 1))


@case
def keyslot_kind_unknown(img, *_):
    both_copies(img, lambda c: img.__setitem__(c + 4096, 9))


@case
def keyslot_argon2_costs(img, *_):
    """Slot 0 becomes a passphrase slot with the largest costs."""
    def bad(c):
        s = c + 4096
        img[s] = 1
        p32(img, s + 8 + 32, 0xFFFFFFFF)   # t
        p32(img, s + 8 + 36, 0xFFFFFFFF)   # m (KiB)
        p32(img, s + 8 + 40, 0xFFFFFFFF)   # lanes
        p32(img, s + 8 + 44, 0x13)
    both_copies(img, bad)


@case
def keyslot_label_too_long(img, *_):
    """Slot 0 becomes a seed slot whose label runs past its parameters."""
    def bad(c):
        s = c + 4096
        img[s] = 4
        p16(img, s + 8 + 32, 0xFFFF)
    both_copies(img, bad)


def main():
    if sys.argv[1:] == ['list']:
        print('\n'.join(CASES))
        return 0
    if sys.argv[1] == 'manifest-digest':
        with open(sys.argv[2], 'rb') as f:
            img = bytearray(f.read())
        off, length = Seal(img).section('manifest')
        print(hashlib.sha256(img[off:off + length]).hexdigest())
        return 0
    name, src, dst, *args = sys.argv[1:]
    with open(src, 'rb') as f:
        img = bytearray(f.read())
    CASES[name](img, *args)
    with open(dst, 'wb') as f:
        f.write(img)
    return 0


if __name__ == '__main__':
    sys.exit(main())

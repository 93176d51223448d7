// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * The boot reader's API (boot/erofs_boot.h) over lib/read/.  The order of
 * trust is that of the hosted pipeline (lib/seal/verify_image.c): the seal
 * is located believing nothing, the raw manifest bytes are authenticated,
 * only then are its fields decoded; from there on every byte of the image
 * comes through the verifying source (lib/read/verified_io.c), so the
 * superblock, the device table and every later block are checked against
 * the trees the manifest binds before the reader looks at them.
 */
#include <errno.h>
#include <string.h>
#include "crypto/backend.h"
#include "erofs/format.h"
#include "erofs/image.h"
#include "erofs/keyarea.h"
#include "erofs/keydec.h"
#include "erofs/seal.h"
#include "erofs/sign.h"
#include "erofs/verified_io.h"
#include "erofs_boot.h"

struct erofs_boot {
	struct erofs_boot_source src;
	struct es_io raw;		/* the caller's callback as a source */
	struct es_vio vio;
	struct es_io verified;		/* raw, through the trees */
	struct es_image img;
	struct es_seal seal;
	bool sealed;
	/* EROFS_BOOT_DEC_SIZE bytes for erofs_boot_unlock()'s decryptor */
	uint8_t *dec_mem;
	struct es_decryptor dec;
	/* the key area, read from the caller's source (no tree covers it) */
	struct es_keyarea_io_ctx area_io;
	struct es_keyarea_dev area;
};

_Static_assert(EROFS_BOOT_DEC_SIZE >= ES_KEYDEC_MEM_SIZE,
	       "EROFS_BOOT_DEC_SIZE does not hold the decryptor");

_Static_assert(sizeof(struct erofs_boot) + 64 + (1u << ES_MAX_BLKSZBITS) <= EROFS_BOOT_FIXED,
	       "EROFS_BOOT_FIXED does not hold the handle");
_Static_assert(sizeof(struct es_device) + sizeof(struct es_seal_device) +
	       sizeof(struct es_vio_device) + MF_DEVICE_SIZE + 4 * 8 <= EROFS_BOOT_PER_DEVICE,
	       "EROFS_BOOT_PER_DEVICE does not hold a device");
_Static_assert(ES_VIO_SLOT_BYTES <= EROFS_BOOT_SLOT, "EROFS_BOOT_SLOT is too small");

/* The part of the work buffer not handed out yet. */
struct carve {
	uint8_t *next;
	size_t left;
};

static void *carve(struct carve *c, size_t len)
{
	size_t pad = (size_t)(-(uintptr_t)c->next & 7);
	void *p;

	if (pad > c->left || len > c->left - pad)
		return NULL;
	p = c->next + pad;
	c->next += pad + len;
	c->left -= pad + len;
	return p;
}

static int no_room(struct es_err *err, const char *what)
{
	return es_fail(err, -ENOSPC, "the work buffer is too small for %s (see "
		       "EROFS_BOOT_WORK_SIZE)", what);
}

/* ---- the caller's callback as an es_io ------------------------------------ */

static int raw_stat(void *ctx, unsigned int dev, const uint8_t *tag, struct es_io_dev *info,
		    struct es_err *err)
{
	const struct erofs_boot_source *src = ctx;

	(void)tag, (void)err;
	if (dev >= src->ndevs)
		return -ENODEV;
	info->size = src->dev_sizes[dev];
	info->container = false;
	info->name = NULL;
	return 0;
}

static int raw_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len,
		    struct es_err *err)
{
	const struct erofs_boot_source *src = ctx;
	int ret;

	if (dev >= src->ndevs)
		return es_fail(err, -ENODEV, "device %u was not given", dev);
	if (off > src->dev_sizes[dev] || len > src->dev_sizes[dev] - off)
		return es_fail(err, -ES_ECORRUPT, "device %u: read of %zu bytes at %llu is "
			       "past its end", dev, len, (unsigned long long)off);
	ret = src->read(src->ctx, dev, off, buf, len);
	if (ret)
		return es_fail(err, ret < 0 ? ret : -EIO, "device %u: the read callback "
			       "failed", dev);
	return 0;
}

/* ---- authentication of the raw manifest ------------------------------------ */

static int check_digest(const struct es_seal *s, const uint8_t want[32], struct es_err *err)
{
	uint8_t digest[32];
	int ret = es_sha256(s->manifest, s->manifest_len, digest);

	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	if (memcmp(digest, want, sizeof(digest)))
		return es_fail(err, -EKEYREJECTED, "the manifest's SHA-256 is not the trusted "
			       "digest (another image, or a changed one)");
	return 0;
}

/* An Ed25519 SubjectPublicKeyInfo (RFC 8410) is this, then the raw key. */
static const uint8_t ed25519_spki_prefix[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

/*
 * An Ed25519 signature by pub over the raw manifest must verify.  The
 * records are matched by key id (SHA-256 of the key's SubjectPublicKeyInfo,
 * as the seal stores it); signatures by other keys or of other types are
 * not looked at: the boot reader has no other anchor to check them with.
 */
static int check_signature(const struct es_seal *s, const struct es_io *raw,
			   const uint8_t pub[32], struct carve scratch, struct es_err *err)
{
	struct es_seal_sig *sigs;
	struct es_sha256_ctx ctx;
	uint8_t key_id[32], *buf;
	unsigned int nsigs;
	bool tried = false;
	size_t len;
	int ret = es_seal_sigs_size(s, &len, err);

	if (ret)
		return ret;
	buf = carve(&scratch, len);
	sigs = carve(&scratch, ES_SEAL_MAX_SIGS * sizeof(*sigs));
	if (!buf || !sigs)
		return no_room(err, "the signatures");
	ret = es_io_read(raw, 0, s->sigs_sec.off, buf, len, err);
	if (!ret)
		ret = es_seal_parse_sigs(s, buf, sigs, &nsigs, err);
	if (!ret)
		ret = es_sha256_init(&ctx);
	if (ret)
		return ret;
	es_sha256_update(&ctx, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
	es_sha256_update(&ctx, pub, 32);
	ret = es_sha256_final(&ctx, key_id);
	es_sha256_release(&ctx);
	if (ret)
		return es_fail(err, ret, "SHA-256 failed");
	for (unsigned int i = 0; i < nsigs; i++) {
		if (sigs[i].type != ES_SIG_ED25519 || memcmp(sigs[i].key_id, key_id, 32))
			continue;
		tried = true;
		if (sigs[i].len == ES_CRYPTO_ED25519_SIG_SIZE &&
		    !es_crypto_ed25519_verify(pub, s->manifest, s->manifest_len, sigs[i].data))
			return 0;
	}
	if (tried)
		return es_fail(err, -EBADMSG, "the Ed25519 signature by the trusted key does "
			       "not verify: the manifest or the signature was changed");
	return es_fail(err, -EKEYREJECTED, "the manifest carries no Ed25519 signature by the "
		       "trusted key (%u signatures by other keys or of other types)", nsigs);
}

/* ---- open ----------------------------------------------------------------- */

/*
 * The superblock and device table, from io: into devices (room for
 * ndevices entries: the manifest's count) or, unchecked, into memory from c.
 */
static int read_structures(struct erofs_boot *b, const struct es_io *io, uint8_t *bounce,
			   struct es_device *devices, unsigned int ndevices, struct carve *c,
			   struct es_err *err)
{
	int ret = es_image_read_super(&b->img, io, err);

	if (ret)
		return ret;
	b->img.bounce = bounce;
	if (!devices) {
		ndevices = 1u + b->img.sb.extra_devices;
		devices = carve(c, ndevices * sizeof(*devices));
		if (!devices)
			return no_room(err, "the device table");
	}
	if (1u + b->img.sb.extra_devices != ndevices)
		return es_fail(err, -ES_ECORRUPT, "the manifest lists %u devices, the "
			       "superblock %u", ndevices, 1u + b->img.sb.extra_devices);
	ret = es_image_read_devices(&b->img, devices, err);
	if (!ret && b->sealed)
		ret = es_seal_check_image(&b->img, &b->seal, err);
	if (!ret)
		ret = es_image_probe_devices(&b->img, err);
	return ret;
}

/* Steps 1-3 of the pipeline: locate, authenticate, decode. */
static int open_seal(struct erofs_boot *b, struct carve *c, enum erofs_boot_trust trust,
		     const uint8_t anchor[32], struct es_err *err)
{
	struct es_seal *s = &b->seal;
	struct es_seal_device *devices;
	uint8_t *manifest;
	size_t len;
	int ret = es_seal_read_locator(&b->raw, b->src.dev_sizes[0], s, err);

	if (ret == -ENODATA)
		return es_fail(err, -ENODATA, "the image carries no seal, so it cannot be "
			       "authenticated");
	if (!ret)
		ret = es_seal_manifest_size(s, &len, err);
	if (ret)
		return ret;
	manifest = carve(c, len);
	if (!manifest)
		return no_room(err, "the manifest");
	ret = es_seal_load_manifest(&b->raw, s, manifest, err);
	if (ret)
		return ret;
	/* nothing of the manifest is believed before this */
	if (trust == EROFS_BOOT_TRUST_DIGEST)
		ret = check_digest(s, anchor, err);
	else
		ret = check_signature(s, &b->raw, anchor, *c, err);
	if (!ret)
		ret = es_seal_decode_manifest(s, err);
	if (ret)
		return ret;
	devices = carve(c, s->ndevices * sizeof(*devices));
	if (!devices)
		return no_room(err, "the manifest's devices");
	return es_seal_decode_devices(s, devices, err);
}

int erofs_boot_open(struct erofs_boot **out, void *work, size_t work_len,
		    const struct erofs_boot_source *src, enum erofs_boot_trust trust,
		    const uint8_t anchor[32], struct es_err *err)
{
	struct carve c = { work, work_len };
	struct erofs_boot *b = carve(&c, sizeof(*b));
	struct es_vio_device *vdevs = NULL;
	struct es_device *devices = NULL;
	unsigned int ndevices = 0;
	uint8_t *bounce;
	const struct es_io *io;
	int ret;

	*out = NULL;
	if (!b)
		return no_room(err, "the handle");
	memset(b, 0, sizeof(*b));
	if (!src || !src->read || !src->dev_sizes || !src->ndevs)
		return es_fail(err, -EINVAL, "no source: a read callback and the size of "
			       "device 0 are needed");
	if (trust != EROFS_BOOT_UNCHECKED && trust != EROFS_BOOT_TRUST_DIGEST &&
	    trust != EROFS_BOOT_TRUST_ED25519)
		return es_fail(err, -EINVAL, "unknown trust mode");
	if (trust != EROFS_BOOT_UNCHECKED && !anchor)
		return es_fail(err, -EINVAL, "a trusted digest or key is needed");
	b->src = *src;
	b->raw.stat = raw_stat;
	b->raw.read = raw_read;
	b->raw.ctx = &b->src;
	io = &b->raw;
	if (trust != EROFS_BOOT_UNCHECKED) {
		b->sealed = true;
		ret = open_seal(b, &c, trust, anchor, err);
		if (ret)
			return ret;
		ndevices = b->seal.ndevices;
		devices = carve(&c, ndevices * sizeof(*devices));
		vdevs = carve(&c, ndevices * sizeof(*vdevs));
		if (!devices || !vdevs)
			return no_room(err, "the devices");
		es_vio_devices_from_seal(&b->seal, vdevs);
		io = &b->verified;
	}
	b->dec_mem = carve(&c, EROFS_BOOT_DEC_SIZE);
	bounce = carve(&c, (size_t)1 << ES_MAX_BLKSZBITS);
	if (!b->dec_mem || !bounce)
		return no_room(err, "the decryptor");
	if (b->sealed) {
		/* the rest: the cache of verified blocks */
		size_t cache_len = c.left & ~(size_t)7;
		void *cache = carve(&c, cache_len);

		if (!cache || cache_len < EROFS_BOOT_MIN_SLOTS * EROFS_BOOT_SLOT)
			return no_room(err, "the block cache");
		ret = es_vio_init(&b->verified, &b->vio, &b->raw, vdevs, ndevices, cache,
				  cache_len, err);
		if (ret)
			return ret;
	}
	ret = read_structures(b, io, bounce, devices, ndevices, &c, err);
	if (ret)
		return ret;
	*out = b;
	return 0;
}

/* ---- encrypted images ------------------------------------------------------ */

int erofs_boot_unlock(struct erofs_boot *b, enum erofs_boot_cred kind, const void *cred,
		      size_t cred_len, const char *label, struct es_err *err)
{
	struct es_keyarea_expect expect = { .check_table = true };
	struct es_keydec_cred c = { .secret = cred, .secret_len = cred_len, .label = label };
	int ret;

	if (!es_image_encrypted(&b->img))
		return es_fail(err, -EINVAL, "the image is not encrypted: nothing to unlock");
	if (b->img.dec)
		return es_fail(err, -EINVAL, "the image is unlocked already");
	/* the key table is anchored to the authenticated manifest, nothing else */
	if (!b->sealed || !(b->seal.flags & MF_FLAG_ENCRYPTED))
		return es_fail(err, -EPERM, "an encrypted image is unlocked only when it was "
			       "opened with a trusted digest or key");
	if (!b->seal.keys_sec.len)
		return es_fail(err, -ENOENT, "the image carries no key area (a detached key "
			       "area is not read by the boot reader)");
	if (kind == EROFS_BOOT_CRED_KEYFILE)
		c.kind = ES_KEYSLOT_KEYFILE;
	else if (kind == EROFS_BOOT_CRED_SEED)
		c.kind = ES_KEYSLOT_SEED;
	else
		return es_fail(err, -EOPNOTSUPP, "the boot reader opens key-file and seed slots "
			       "only");
	while (label && c.label_len <= ES_KEYSLOT_LABEL_MAX && label[c.label_len])
		c.label_len++;
	memcpy(expect.uuid, b->seal.uuid, sizeof(expect.uuid));
	expect.suite = b->seal.suite;
	memcpy(expect.table_digest, b->seal.key_table_digest, sizeof(expect.table_digest));
	expect.entries = b->seal.table_entries;
	es_keyarea_dev_io(&b->area, &b->area_io, &b->raw, b->seal.keys_sec.off,
			  b->seal.keys_sec.len);
	ret = es_keydec_open(b->dec_mem, EROFS_BOOT_DEC_SIZE, &b->area, &expect, &c, &b->dec,
			     NULL, err);
	if (ret)
		return ret;
	/* from here on every block is decrypted after the tree passed it */
	b->img.dec = &b->dec;
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

int erofs_boot_lookup(struct erofs_boot *b, const char *path, uint64_t *nid,
		      struct es_err *err)
{
	return es_lookup(&b->img, path, nid, err);
}

int erofs_boot_stat(struct erofs_boot *b, uint64_t nid, struct erofs_boot_stat *st,
		    struct es_err *err)
{
	struct es_inode ino;
	int ret = es_inode_read(&b->img, nid, &ino, err);

	memset(st, 0, sizeof(*st));
	if (ret)
		return ret;
	st->nid = nid;
	st->mode = ino.mode;
	st->uid = ino.uid;
	st->gid = ino.gid;
	st->nlink = ino.nlink;
	st->size = ino.size;
	st->mtime = ino.mtime;
	st->mtime_nsec = ino.mtime_nsec;
	if ((ino.mode & ES_S_IFMT) == ES_S_IFCHR || (ino.mode & ES_S_IFMT) == ES_S_IFBLK)
		es_decode_rdev(ino.raw_u, &st->rdev_major, &st->rdev_minor);
	return 0;
}

int erofs_boot_read(struct erofs_boot *b, uint64_t nid, uint64_t off, void *buf,
		    size_t len, size_t *got, struct es_err *err)
{
	struct es_inode ino;
	int ret = es_inode_read(&b->img, nid, &ino, err);

	*got = 0;
	if (ret)
		return ret;
	if (off > ino.size)
		return es_fail(err, -EINVAL, "nid %llu: offset %llu is past the end of the "
			       "file", (unsigned long long)nid, (unsigned long long)off);
	if (len > ino.size - off)
		len = (size_t)(ino.size - off);
	ret = es_read(&b->img, &ino, off, buf, len, err);
	if (!ret)
		*got = len;
	return ret;
}

int erofs_boot_readdir(struct erofs_boot *b, uint64_t nid, erofs_boot_dir_cb cb, void *ctx,
		       struct es_err *err)
{
	struct es_inode dir;
	int ret = es_inode_read(&b->img, nid, &dir, err);

	if (!ret)
		ret = es_dir_iterate(&b->img, &dir, cb, ctx, err);
	return ret;
}

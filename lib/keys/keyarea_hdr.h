/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * The key area's header copies (docs/FORMAT.md 4.1 and 4.2): their layout,
 * the geometry that follows from the number of table entries, decoding a
 * copy and choosing the winner.  Freestanding (no heap, no formatting of
 * our own): the hosted key area (keyarea.c) and the boot unlock
 * (keydec.c) both read key areas through here.
 */
#ifndef ES_KEYS_KEYAREA_HDR_H
#define ES_KEYS_KEYAREA_HDR_H

#include <stdbool.h>
#include <stdint.h>
#include "erofs/err.h"
#include "erofs/keyarea.h"
#include "erofs/keyslot.h"
#include "erofs/keytable.h"
#include "erofs/sha256.h"

#define H_MAGIC		0
#define H_VERSION	8
#define H_COPY_SIZE	12
#define H_NSLOTS	16
#define H_SLOT_SIZE	20
#define H_SEQ		24
#define H_OWN_OFF	32
#define H_AREA_SIZE	40
#define H_UUID		48
#define H_SUITE		64
#define H_GEN		68
#define H_ENTRIES	72
#define H_TABLE_DIGEST	80
#define H_KID		112
#define H_SALT		144
#define H_ACTIVE	176
#define H_RESERVED	180
#define H_D_OFF		184
#define H_T0_OFF	192
#define H_T1_OFF	200
#define H_TSLOT_SIZE	208
#define H_CT_LEN	216
#define H_CHECKSUM	224
#define H_END		256	/* zero up to H_SLOTS */
#define H_SLOTS		4096

#define ES_KA_VERSION	1u
#define ES_KA_SALT_SIZE	32

/* "ESKEYHDA" for copy 0, "ESKEYHDB" for copy 1 */
extern const char es_ka_copy_magic[2][9];

/* Where everything is, for a table of entries entries. */
struct es_ka_geom {
	uint64_t entries, nseg;
	uint64_t d_off, d_len;
	uint64_t t_off[2], tslot, ct_len;
	uint64_t size;
};

/* What a header copy says, apart from its bookkeeping and its slots. */
struct es_ka_hdr {
	uint8_t uuid[ES_UUID_SIZE];
	uint32_t suite, gen;
	uint64_t entries;
	uint8_t table_digest[ES_SHA256_DIGEST_SIZE];
	uint8_t kid[ES_KID_SIZE];
	unsigned int active;
};

typedef uint8_t es_ka_slots[ES_KEYAREA_SLOTS][ES_KEYSLOT_SIZE];

/* The layout of a table of entries entries; false when out of range. */
bool es_ka_geometry(uint64_t entries, struct es_ka_geom *g);
/* SHA-256 of a whole copy with its checksum field read as zeros. */
int es_ka_checksum(const uint8_t copy[ES_KEYAREA_COPY_SIZE],
		   uint8_t out[ES_SHA256_DIGEST_SIZE]);

/*
 * Exactly len bytes at off of the area, inside its size; a message naming
 * what was read otherwise.
 */
int es_ka_read(const struct es_keyarea_dev *dev, uint64_t off, void *buf, size_t len,
	       const char *what, struct es_err *err);

/*
 * Read both header copies through buf (ES_KEYAREA_COPY_SIZE bytes) and
 * choose the winner (4.2): its header into *h, its geometry into *g and
 * its slots into slots; copies[] says what was wrong with each copy.
 * Without a valid copy: *have_winner false and, with need_winner,
 * -ES_ECORRUPT (or -EXDEV when a well-formed copy belongs to another image
 * or table, expect) with a message for each copy.  Returns an I/O error as
 * it is.
 */
int es_ka_read_copies(const struct es_keyarea_dev *dev, const struct es_keyarea_expect *expect,
		      bool need_winner, uint8_t *buf, struct es_keyarea_copy_state copies[2],
		      struct es_ka_hdr *h, struct es_ka_geom *g, es_ka_slots slots,
		      bool *have_winner, unsigned int *winner, struct es_err *err);

/* The key table's parameters in h. */
void es_ka_table_info(const struct es_ka_hdr *h, struct es_keytable_info *info);

#endif

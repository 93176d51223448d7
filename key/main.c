// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-key: the keyslots of an encrypted image's key area (list, add,
 * remove, rotate, backup, restore) and new domain keys.  Options and output
 * only: everything else is lib/keys/ (include/erofs/keyarea.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "erofs/keyarea.h"
#include "erofs/keyslot.h"
#include "../progs/cli.h"
#include "../progs/secrets.h"

enum {
	EXIT_OK = 0,
	EXIT_NO_KEY = 1,	/* no credential given opens a keyslot */
	EXIT_COSTS = 2,		/* a slot's Argon2 costs are outside the bounds */
	EXIT_DAMAGED = 3,	/* no valid header copy; table or digests damaged */
	EXIT_NOT_OURS = 4,	/* no key area, or one of another image or table */
	EXIT_REFUSED = 5,	/* no free slot, last slot, slot without credential, file exists */
	EXIT_OPERATIONAL = 6,	/* I/O, memory, locked */
	EXIT_USAGE = 64,
};

static const char *prog = "erofs-key";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s COMMAND [OPTIONS] ARGS\n"
"Manage the keyslots of an encrypted EROFS image: the ways its key table can\n"
"be unlocked.  Nothing signed changes: the image keeps its size, its locator,\n"
"its manifest and its signatures.\n"
"\n"
"Commands:\n"
"  list IMAGE                      the keyslots, their kinds and costs (no secret)\n"
"  add IMAGE --unlock=SPEC --keyslot=SPEC\n"
"                                  add a keyslot for a new credential\n"
"  remove IMAGE --unlock=SPEC --slot=N [--force]\n"
"                                  wipe keyslot N from both header copies\n"
"  rotate IMAGE --unlock=SPEC... [--drop]\n"
"                                  new table key and generation: the key table\n"
"                                  is re-encrypted and every slot rewrapped\n"
"  backup IMAGE FILE               copy the key area to a new FILE\n"
"  restore IMAGE FILE --unlock=SPEC... [--drop]\n"
"                                  put the keyslots of backup FILE back\n"
"  gen-domain FILE                 write a new random 32-byte domain key\n"
"\n"
"Credentials (SPEC), spelt the same in every program:\n"
"  passphrase                      asked for at the terminal, without echo\n"
"  passphrase-file:FILE            the bytes of FILE up to its first newline\n"
"  keyfile:FILE                    the exact bytes of FILE (32 B to 8 MiB)\n"
"  recipient:PUB.pem               an X25519 public key (--keyslot only)\n"
"  identity:KEY.pem                an X25519 private key (--unlock only)\n"
"  seed:FILE[:LABEL]               a machine seed and an application label\n"
"\n"
"Options:\n"
"  --unlock=SPEC          a credential that opens a keyslot (repeatable; rotate\n"
"                         and restore need one for every slot to keep)\n"
"  --keyslot=SPEC         the credential of the new slot (add)\n"
"  --slot=N               the slot to remove (as list numbers them)\n"
"  --drop                 rotate, restore: drop the slots that no --unlock\n"
"                         credential opens, instead of refusing\n"
"  --force                remove: allow removing the last slot\n"
"  --key-area=FILE        the key area is detached, in FILE (IMAGE is still\n"
"                         read for its UUID and manifest)\n"
"  --pbkdf-memory=KIB     Argon2id memory of a new passphrase slot (65536 to\n"
"                         4194304 and half the RAM; default: benchmarked)\n"
"  --pbkdf-iterations=N   Argon2id iterations (3 to 100; default: benchmarked)\n"
"  --pbkdf-parallel=N     Argon2id lanes (1 to 16; default: up to 4)\n"
"  --iter-time=MS         what the benchmark aims at per unlock (default %u)\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n"
"\n"
"Keyslots are not covered by the image's signature: whoever can write the\n"
"image can add, remove or damage slots, and a credential that opens one\n"
"proves nothing about who built the image.  Removing a slot and rotating stop\n"
"a credential from opening this copy of the image; copies taken before, and\n"
"what was unlocked before, keep working (see erofs-key(1)).\n"
"\n"
"Exit status:\n"
"  0   success\n"
"  1   no credential given opens a keyslot (wrong passphrase or key)\n"
"  2   a keyslot's Argon2 costs are outside the bounds: refused unread\n"
"  3   the key area is damaged (no valid header copy, or its key table or\n"
"      digests do not match)\n"
"  4   the image has no key area, or it belongs to another image or table\n"
"  5   refused: no free slot, the last slot, a slot without a credential\n"
"      and no --drop, a file that exists\n"
"  6   operational error (I/O, memory, another erofs-key at work)\n"
"  64  usage error\n", prog, ES_KEYSLOT_ARGON2_TARGET_MS);
}

static int code_of(int ret)
{
	switch (ret) {
	case 0:
		return EXIT_OK;
	case -EKEYREJECTED:
		return EXIT_NO_KEY;
	case -ERANGE:
		return EXIT_COSTS;
	case -ES_ECORRUPT:
	case -EBADMSG:
		return EXIT_DAMAGED;
	case -EXDEV:
	case -ENODATA:
		return EXIT_NOT_OURS;
	case -ENOSPC:
	case -EPERM:
	case -EEXIST:
		return EXIT_REFUSED;
	default:
		return EXIT_OPERATIONAL;
	}
}

static int report(int ret, const struct es_err *err)
{
	fprintf(stderr, "%s: %s\n", prog, err->msg[0] ? err->msg : strerror(-ret));
	return code_of(ret);
}

enum {
	OPT_UNLOCK = 256, OPT_KEYSLOT, OPT_SLOT, OPT_DROP, OPT_FORCE, OPT_KEY_AREA,
	OPT_PBKDF_MEMORY, OPT_PBKDF_ITERATIONS, OPT_PBKDF_PARALLEL, OPT_ITER_TIME,
};

struct opts {
	const char *command, *image, *file, *key_area, *keyslot;
	struct cli_list unlock;
	bool have_slot, drop, force;
	unsigned int slot;
	struct es_keyslot_policy policy;
};

static struct es_keyslot_cred **creds;
static unsigned int ncreds;

static void free_creds(void)
{
	for (unsigned int i = 0; i < ncreds; i++)
		es_keyslot_cred_free(creds[i]);
	free(creds);
	creds = NULL;
	ncreds = 0;
}

/* The --unlock credentials, loaded (files read, passphrases asked). */
static int load_unlock(const struct opts *o, const struct cli_prompt *prompt, int *code)
{
	const struct es_passphrase_prompt pp = { cli_prompt_passphrase, (void *)prompt };
	struct es_err err = { 0 };

	if (!o->unlock.n) {
		fprintf(stderr, "%s: %s needs at least one --unlock=SPEC\n", prog, o->command);
		*code = EXIT_USAGE;
		return -EINVAL;
	}
	creds = calloc(o->unlock.n, sizeof(*creds));
	if (!creds) {
		*code = report(-ENOMEM, &err);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < o->unlock.n; i++) {
		int ret = es_keyslot_cred_load(o->unlock.items[i], ES_KEYSLOT_FOR_UNLOCK, &pp,
					       &creds[ncreds], &err);

		if (ret) {
			*code = ret == -EINVAL ? EXIT_USAGE : EXIT_OPERATIONAL;
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return ret;
		}
		ncreds++;
	}
	return 0;
}

static void hex(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

static void print_slot(unsigned int i, const struct es_keyslot_info *si)
{
	printf("  %2u  %s", i, es_keyslot_kind_name(si->kind));
	if (si->kind != ES_KEYSLOT_KEYFILE)
		printf("%*s", (int)(12 - strlen(es_keyslot_kind_name(si->kind))), "");
	switch (si->kind) {
	case ES_KEYSLOT_PASSPHRASE:
		printf("argon2id, %u iterations, %u KiB, %u lane%s%s", si->argon2.t_cost,
		       si->argon2.m_cost_kib, si->argon2.lanes, si->argon2.lanes == 1 ? "" : "s",
		       si->within_bounds ? "" : " (outside the bounds: refused)");
		break;
	case ES_KEYSLOT_X25519:
		printf("recipient ");
		hex(stdout, si->recipient, sizeof(si->recipient));
		break;
	case ES_KEYSLOT_SEED:
		printf("label \"%s\"", si->label);
		break;
	default:
		break;
	}
	printf("\n");
}

static int cmd_list(struct es_keyarea *ka, const struct es_keyarea_file *f)
{
	struct es_keyarea_summary s;
	struct es_err err = { 0 };

	es_keyarea_summary(ka, &s);
	printf("Key area:       %s (%llu bytes)\n", es_keyarea_file_where(f),
	       (unsigned long long)s.area_size);
	printf("UUID:           ");
	hex(stdout, s.uuid, sizeof(s.uuid));
	printf("\nCrypto suite:   %u\n", s.suite);
	printf("Key table:      %llu entries, generation %u, in table slot %u\n",
	       (unsigned long long)s.entries, s.gen, s.active_table);
	printf("Table digest:   sha256:");
	hex(stdout, s.table_digest, sizeof(s.table_digest));
	printf("\nTable key id:   ");
	hex(stdout, s.kid, sizeof(s.kid));
	printf("\n");
	for (unsigned int c = 0; c < 2; c++) {
		printf("Header copy %c:  ", c ? 'B' : 'A');
		if (s.copies[c].valid)
			printf("sequence %llu%s\n", (unsigned long long)s.copies[c].seq,
			       s.winner == c ? " (current)" : "");
		else
			printf("not valid: %s\n", s.copies[c].problem);
	}
	printf("Keyslots (%u of %u used; not covered by the image's signature: whoever\n"
	       "can write the image can change them, and a slot that opens proves nothing\n"
	       "about who built the image):\n", s.used_slots, ES_KEYAREA_SLOTS);
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++) {
		struct es_keyslot_info si;
		int ret = es_keyarea_slot(ka, i, &si, &err);

		if (ret)
			return report(ret, &err);
		if (si.kind != ES_KEYSLOT_EMPTY)
			print_slot(i, &si);
	}
	return EXIT_OK;
}

static void print_fates(const enum es_keyarea_slot_fate *fates)
{
	for (unsigned int i = 0; i < ES_KEYAREA_SLOTS; i++)
		if (fates[i] == ES_SLOT_REWRAPPED)
			printf("  slot %u: rewrapped\n", i);
		else if (fates[i] == ES_SLOT_DROPPED)
			printf("  slot %u: dropped (no credential given opens it)\n", i);
}

/* list, add, remove, rotate, backup: on the key area of the image. */
static int on_key_area(const struct opts *o)
{
	const bool writes = strcmp(o->command, "list") && strcmp(o->command, "backup");
	struct cli_prompt prompt = { .what = o->image };
	struct es_keyarea_expect expect;
	enum es_keyarea_slot_fate fates[ES_KEYAREA_SLOTS];
	struct es_keyarea_file *f = NULL;
	struct es_keyslot_cred *newcred = NULL;
	struct es_keyarea *ka = NULL;
	struct es_err err = { 0 };
	unsigned int slot = 0;
	int ret, code = EXIT_OK;

	if (writes) {
		ret = load_unlock(o, &prompt, &code);
		if (ret)
			return code;
	}
	if (!strcmp(o->command, "add")) {
		const struct es_passphrase_prompt pp = { cli_prompt_passphrase, &prompt };

		ret = es_keyslot_cred_load(o->keyslot, ES_KEYSLOT_FOR_ADD, &pp, &newcred, &err);
		if (ret) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return ret == -EINVAL ? EXIT_USAGE : EXIT_OPERATIONAL;
		}
	}
	ret = es_keyarea_file_open(o->image, o->key_area, writes, &f, &expect, &err);
	if (!ret)
		ret = es_keyarea_open(es_keyarea_file_dev(f), &expect, &ka, &err);
	if (ret) {
		code = ret == -ENOENT ? EXIT_NOT_OURS : report(ret, &err);
		if (ret == -ENOENT)
			fprintf(stderr, "%s: %s\n", prog, err.msg);
		goto out;
	}
	if (!strcmp(o->command, "list")) {
		code = cmd_list(ka, f);
		goto out;
	}
	if (!strcmp(o->command, "backup")) {
		ret = es_keyarea_backup(es_keyarea_file_dev(f), o->file, &err);
		if (ret) {
			code = report(ret, &err);
			goto out;
		}
		printf("Backed up the key area (%llu bytes) to %s.  It holds the keyslots as "
		       "they are now: restoring it brings them back, removed ones "
		       "included.\n", (unsigned long long)es_keyarea_file_dev(f)->size, o->file);
		goto out;
	}

	ret = es_keyarea_unlock(ka, creds, ncreds, &slot, &err);
	if (ret) {
		code = report(ret, &err);
		goto out;
	}
	if (!strcmp(o->command, "add")) {
		ret = es_keyarea_add(ka, newcred, &o->policy, &slot, &err);
		if (!ret)
			printf("Added keyslot %u (%s).\n", slot,
			       es_keyslot_kind_name(es_keyslot_cred_kind(newcred)));
	} else if (!strcmp(o->command, "remove")) {
		ret = es_keyarea_remove(ka, o->slot, o->force ? ES_KEYAREA_LAST : 0, &err);
		if (!ret)
			printf("Removed keyslot %u.\n", o->slot);
	} else {
		ret = es_keyarea_rotate(ka, creds, ncreds, o->drop ? ES_KEYAREA_DROP : 0, fates,
					&err);
		if (!ret) {
			struct es_keyarea_summary s;

			es_keyarea_summary(ka, &s);
			printf("Rotated: new table key, generation %u, table slot %u.\n", s.gen,
			       s.active_table);
			print_fates(fates);
		}
	}
	if (!ret)
		ret = es_keyarea_file_commit(f, &err);
	if (ret)
		code = report(ret, &err);
	if (ret == -ENOENT && !strcmp(o->command, "remove"))
		code = EXIT_REFUSED;	/* an empty slot */
out:
	es_keyslot_cred_free(newcred);
	es_keyarea_close(ka);
	es_keyarea_file_close(f);
	free_creds();
	return code;
}

static int cmd_restore(const struct opts *o)
{
	struct cli_prompt prompt = { .what = o->file };
	enum es_keyarea_slot_fate fates[ES_KEYAREA_SLOTS];
	struct es_keyarea_file *f = NULL, *bak = NULL;
	struct es_keyarea_expect expect;
	struct es_err err = { 0 };
	int ret, code = EXIT_OK;

	ret = load_unlock(o, &prompt, &code);
	if (ret)
		return code;
	ret = es_keyarea_file_open(o->image, o->key_area, true, &f, &expect, &err);
	if (!ret)
		ret = es_keyarea_file_open_plain(o->file, &bak, &err);
	if (!ret)
		ret = es_keyarea_restore(es_keyarea_file_dev(f), &expect, es_keyarea_file_dev(bak),
					 creds, ncreds, o->drop ? ES_KEYAREA_DROP : 0, fates, &err);
	if (!ret)
		ret = es_keyarea_file_commit(f, &err);
	if (ret) {
		code = ret == -ENOENT && !err.msg[0] ? EXIT_NOT_OURS : report(ret, &err);
	} else {
		printf("Restored the keyslots of %s with a new table key:\n", o->file);
		print_fates(fates);
	}
	es_keyarea_file_close(bak);
	es_keyarea_file_close(f);
	free_creds();
	return code;
}

static int cmd_gen_domain(const struct opts *o)
{
	struct es_err err = { 0 };
	int ret = es_write_new_key_file(o->file, ES_DOMAIN_KEY_SIZE, &err);

	if (ret)
		return report(ret, &err);
	printf("Wrote a new %u-byte domain key to %s (mode 0600).  Whoever holds it can "
	       "confirm guessed file contents in every image of its domain: keep it like "
	       "a signing key.\n", ES_DOMAIN_KEY_SIZE, o->file);
	return EXIT_OK;
}

static bool parse_u32(const char *s, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (!cli_parse_u64(s, max, &v) || v < min)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "unlock", required_argument, NULL, OPT_UNLOCK },
		{ "keyslot", required_argument, NULL, OPT_KEYSLOT },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "drop", no_argument, NULL, OPT_DROP },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "key-area", required_argument, NULL, OPT_KEY_AREA },
		{ "pbkdf-memory", required_argument, NULL, OPT_PBKDF_MEMORY },
		{ "pbkdf-iterations", required_argument, NULL, OPT_PBKDF_ITERATIONS },
		{ "pbkdf-parallel", required_argument, NULL, OPT_PBKDF_PARALLEL },
		{ "iter-time", required_argument, NULL, OPT_ITER_TIME },
		{ NULL, 0, NULL, 0 },
	};
	static struct opts o;
	const char *cmd;
	unsigned int nargs;
	int c;

	cli_protect_secrets();
	cli_set_prog_name(argv, prog);
	/* the command, its options and its arguments in any order */
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		uint32_t v;

		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s (%s) %s\n", prog, PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		case OPT_UNLOCK:
			if (!cli_list_add(&o.unlock, optarg))
				return usage_error("too many --unlock options");
			break;
		case OPT_KEYSLOT:
			if (o.keyslot)
				return usage_error("--keyslot is given twice");
			o.keyslot = optarg;
			break;
		case OPT_SLOT:
			if (!parse_u32(optarg, 0, ES_KEYAREA_SLOTS - 1, &v))
				return usage_error("--slot=%s: not a slot number (0 to 15)", optarg);
			o.slot = v;
			o.have_slot = true;
			break;
		case OPT_DROP:
			o.drop = true;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_KEY_AREA:
			o.key_area = optarg;
			break;
		case OPT_PBKDF_MEMORY:
			if (!parse_u32(optarg, ES_KEYSLOT_ARGON2_MIN_KIB, 4u << 20, &v))
				return usage_error("--pbkdf-memory=%s: not a number of KiB from "
						   "65536 to 4194304", optarg);
			o.policy.m_cost_kib = v;
			break;
		case OPT_PBKDF_ITERATIONS:
			if (!parse_u32(optarg, ES_KEYSLOT_ARGON2_MIN_TIME, 100, &v))
				return usage_error("--pbkdf-iterations=%s: not a number from 3 "
						   "to 100", optarg);
			o.policy.t_cost = v;
			break;
		case OPT_PBKDF_PARALLEL:
			if (!parse_u32(optarg, 1, 16, &v))
				return usage_error("--pbkdf-parallel=%s: not a number from 1 to 16",
						   optarg);
			o.policy.lanes = v;
			break;
		case OPT_ITER_TIME:
			if (!parse_u32(optarg, 1, 600000, &v))
				return usage_error("--iter-time=%s: not a number of milliseconds",
						   optarg);
			o.policy.target_ms = v;
			break;
		default:
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	cmd = o.command = argv[optind++];
	nargs = (unsigned int)(argc - optind);
	if (!strcmp(cmd, "gen-domain")) {
		if (nargs != 1)
			return usage_error("gen-domain takes one FILE");
		o.file = argv[optind];
		return cmd_gen_domain(&o);
	}
	if (strcmp(cmd, "list") && strcmp(cmd, "add") && strcmp(cmd, "remove") &&
	    strcmp(cmd, "rotate") && strcmp(cmd, "backup") && strcmp(cmd, "restore"))
		return usage_error("unknown command '%s'", cmd);
	if (nargs < 1)
		return usage_error("%s needs an IMAGE", cmd);
	o.image = argv[optind];
	if (!strcmp(cmd, "backup") || !strcmp(cmd, "restore")) {
		if (nargs != 2)
			return usage_error("%s takes IMAGE and FILE", cmd);
		o.file = argv[optind + 1];
	} else if (nargs != 1) {
		return usage_error("%s takes one IMAGE", cmd);
	}
	if (!strcmp(cmd, "add") && !o.keyslot)
		return usage_error("add needs --keyslot=SPEC");
	if (strcmp(cmd, "add") && o.keyslot)
		return usage_error("--keyslot is for add only");
	if (!strcmp(cmd, "remove") && !o.have_slot)
		return usage_error("remove needs --slot=N");
	if (strcmp(cmd, "remove") && (o.have_slot || o.force))
		return usage_error("--slot and --force are for remove only");
	if (o.drop && strcmp(cmd, "rotate") && strcmp(cmd, "restore"))
		return usage_error("--drop is for rotate and restore only");
	if ((!strcmp(cmd, "list") || !strcmp(cmd, "backup")) && o.unlock.n)
		return usage_error("%s needs no --unlock: it reads no secret", cmd);
	if (!strcmp(cmd, "restore"))
		return cmd_restore(&o);
	return on_key_area(&o);
}

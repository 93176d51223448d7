/* SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0 */
/*
 * Signatures over the image manifest, and fs-verity builtin signatures.
 *
 * The manifest (a canonical byte string built elsewhere) may carry several
 * signatures so that keys can be rolled over; each signature record holds
 * { type, key id, signature bytes }.  Every format below was chosen so that
 * a stock `openssl` command can check it without our code:
 *
 *   ES_SIG_CMS      RSA or ECDSA key with an X.509 certificate: CMS
 *                   SignedData, detached, DER, SHA-256, no signed attributes
 *                   (so the signature is over the message digest itself, as
 *                   in fs-verity), one signer, the signer certificate
 *                   embedded (a verifier that trusts only the bare public
 *                   key can still find the key).  Check with
 *                     openssl cms -verify -binary -inform DER -in SIG
 *                       -content MSG -CAfile CERT.pem -purpose any
 *   ES_SIG_ED25519  Ed25519 key (with or without a certificate): the raw
 *                   64-byte signature of RFC 8032 over the message, because
 *                   OpenSSL 3.0's CMS/PKCS#7 code cannot sign with EdDSA.
 *                     openssl pkeyutl -verify -pubin -inkey PUB.pem -rawin
 *                       -in MSG -sigfile SIG
 *   ES_SIG_RAW      RSA (PKCS#1 v1.5) or ECDSA key without a certificate:
 *                   plain SHA-256 signature (ECDSA: DER Ecdsa-Sig-Value).
 *                     openssl dgst -sha256 -verify PUB.pem -signature SIG MSG
 *
 * The signature type follows from the key and whether a certificate was
 * given; callers do not choose it.
 *
 * Key id: SHA-256 of the DER SubjectPublicKeyInfo of the signer's public
 * key (`openssl pkey -pubin -in PUB.pem -outform DER | sha256sum`).  It
 * names the key for ED25519/RAW signatures, which carry no key themselves,
 * and is cross-checked against the signer certificate for CMS ones.
 *
 * All functions return 0 or a negative errno value and, when given an error
 * context, leave a message in it.  Nothing here prints, exits or keeps
 * global state, and the calling thread's OpenSSL error queue is left as it
 * was found (OpenSSL's reasons end up in the es_err message instead).
 * Private keys are only read from unencrypted PEM files (PKCS#8 or
 * traditional); encrypted keys are refused instead of prompting.
 *
 * Implemented in lib/crypto/ (signer.c, trust.c, sigverify.c, cms.c,
 * pem.c; see lib/crypto/sign_internal.h) on the crypto backend.
 */
#ifndef EROFS_SIGN_H
#define EROFS_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "erofs/err.h"

#define ES_SIGN_KEY_ID_SIZE	32	/* SHA-256 of the DER SubjectPublicKeyInfo */
#define ES_ED25519_SIG_SIZE	64

/* Values are stored in images: never renumber. */
enum es_sig_type {
	ES_SIG_CMS = 1,
	ES_SIG_ED25519 = 2,
	ES_SIG_RAW = 3,
};

/* "cms", "ed25519", "raw", or NULL for an unknown value. */
const char *es_sig_type_name(enum es_sig_type type);
/* Inverse of es_sig_type_name(); -EINVAL for an unknown name. */
int es_sig_type_from_name(const char *name, enum es_sig_type *type);

/* ---- signing ---------------------------------------------------------- */

/* A loaded private key and, optionally, its certificate.  Immutable once
 * loaded, so one signer may be used from several threads. */
struct es_signer;

/*
 * Load a private key (RSA, EC or Ed25519) from key_pem_path and, when
 * cert_pem_path is not NULL, its certificate (may be the same file as the
 * key, as with `fsverity sign`).  The certificate must hold the key's public
 * half (-EINVAL otherwise).  -EOPNOTSUPP for other key types (DSA, Ed448,
 * RSA-PSS-only keys), -EBADMSG for unparsable or encrypted PEM.
 */
int es_signer_load(struct es_signer **out, const char *key_pem_path,
		   const char *cert_pem_path, struct es_err *err);
void es_signer_free(struct es_signer *s);

/* The type es_sign() will produce with this signer. */
enum es_sig_type es_signer_type(const struct es_signer *s);
/* The signer's key id (see above). */
void es_signer_key_id(const struct es_signer *s,
		      uint8_t key_id[ES_SIGN_KEY_ID_SIZE]);

/*
 * Sign msg[0..len).  *sig receives a malloc'ed signature (free() it) of
 * *sig_len bytes; type and key_id (either may be NULL) receive the
 * signature type and the signer's key id, which the caller stores next to
 * the signature.  RSA and Ed25519 signatures are deterministic; ECDSA ones
 * are not.  Messages over INT_MAX bytes are refused (-EFBIG): OpenSSL's
 * memory BIOs take an int length.
 */
int es_sign(const struct es_signer *s, const uint8_t *msg, size_t len,
	    enum es_sig_type *type, uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
	    uint8_t **sig, size_t *sig_len, struct es_err *err);

/* ---- verification ------------------------------------------------------ */

/*
 * Trust anchors: certificates and/or bare public keys.  Trust is in the
 * KEY: a certificate anchor trusts exactly the public key inside it.  There
 * is no chain building, no validity-period, key-usage or revocation check —
 * an image is signed once and must stay verifiable after a certificate
 * expires, and key rollover is done by listing several anchors.  A bare
 * public-key anchor also trusts CMS signatures whose signer certificate
 * carries that key.
 */
struct es_trust;

int es_trust_new(struct es_trust **out, struct es_err *err);
/* A trust set from certificate and public-key files; NULL (err set) on error. */
struct es_trust *es_trust_from_files(const char *const *certs, unsigned int ncerts,
				     const char *const *pubkeys, unsigned int npubkeys,
				     struct es_err *err);
/* Every certificate in a PEM file (one or a bundle, at least one). */
int es_trust_add_cert(struct es_trust *t, const char *cert_pem_path,
		      struct es_err *err);
/* A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) file: RSA, EC or Ed25519. */
int es_trust_add_pubkey(struct es_trust *t, const char *pub_pem_path,
			struct es_err *err);
/*
 * Both adders refuse a file that holds a private key (-EINVAL, the message
 * says how to extract the public part): a verifier must not need the
 * secret, and accepting it would encourage copying keys around.  An
 * anchor that is already present (the same certificate, or the same bare
 * key) is not added twice; a certificate file is added all or nothing.
 */

/* The number of key anchors (certificates and public keys); pinned
 * manifest digests are counted by es_trust_manifest_digest_count(). */
size_t es_trust_count(const struct es_trust *t);

/*
 * Pinned manifest digests: the SHA-256 of the exact manifest bytes of an
 * image (es_seal_manifest_digest(), printed by mkfs.erofs and `dump.erofs
 * -s` as "sha256:HEX").  A pinned digest authenticates that one image
 * without any key, as a dm-verity root hash does: the manifest binds
 * every device digest.  A digest already present is not added twice.
 */
int es_trust_add_manifest_digest(struct es_trust *t, const uint8_t digest[32],
				 struct es_err *err);
size_t es_trust_manifest_digest_count(const struct es_trust *t);
bool es_trust_has_manifest_digest(const struct es_trust *t, const uint8_t digest[32]);

void es_trust_free(struct es_trust *t);

/*
 * Check one signature of msg.
 *
 *   0              valid, and the signer is a trusted anchor; signer_desc
 *                  (if not NULL) gets the anchor's certificate subject
 *                  ("CN=...") or "<alg> key <first 16 hex digits of the key
 *                  id>" for a bare key.
 *   -EBADMSG       malformed or cryptographically invalid signature, or a
 *                  key id that does not match the signer; the message says
 *                  which.
 *   -EKEYREJECTED  the signer is not trusted: a valid CMS signature whose
 *                  signer key is not an anchor, or a signature whose signer
 *                  cannot be found among the anchors at all (an ED25519/RAW
 *                  key id that names no anchor, a CMS signature without an
 *                  embedded certificate that matches no certificate anchor).
 *                  In the latter case no public key is available, so the
 *                  signature itself could not be checked.
 *   -EINVAL        bad arguments (unknown type, NULL key_id for
 *                  ED25519/RAW).
 *
 * key_id may be NULL for CMS signatures (then it is not cross-checked).  CMS
 * signatures with signed attributes or without an embedded certificate
 * (such as fs-verity builtin signatures, msg being the 44-byte formatted
 * digest) are accepted too, but exactly one SignerInfo, detached
 * pkcs7-data content, SHA-256 and a signature algorithm that fits the key
 * (rsaEncryption/sha256WithRSAEncryption, ecdsa-with-SHA256) are required:
 * OpenSSL itself ignores those OIDs when there are no signed attributes.
 * What a CMS signature authenticates is the message and the signer's key;
 * the rest of an embedded certificate (names, dates) and the version
 * fields are not covered, so do not base decisions on them.
 */
int es_verify_signature(const struct es_trust *t, enum es_sig_type type,
			const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			const uint8_t *sig, size_t sig_len,
			const uint8_t *msg, size_t len,
			char *signer_desc, size_t desc_len, struct es_err *err);

/*
 * One-line description of a signature without verifying it (for dump):
 * "cms, signer CN=..., key id 0123456789abcdef" or "ed25519, key id ...".
 * Always NUL-terminates buf (when len > 0).  Returns 0, -EBADMSG for an
 * unparsable CMS blob or an Ed25519 signature that is not 64 bytes, -EINVAL
 * for an unknown type (buf still describes what it could).  key_id may be
 * NULL.
 */
int es_signature_describe(enum es_sig_type type,
			  const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
			  const uint8_t *sig, size_t sig_len,
			  char *buf, size_t len);

/* Who made a signature, as far as it and the anchors tell (for JSON). */
struct es_sig_info {
	/* RFC 2253 subject of the embedded certificate (CMS) or of the anchor
	 * whose key id it names; "" when neither has one */
	char subject[256];
	/* "rsa", "ecdsa" or "ed25519"; "" when nothing tells (a raw
	 * signature by a key that is no anchor) */
	char algorithm[16];
};

/*
 * Fill info from the signature (a CMS one's certificate or signature
 * algorithm) and, for Ed25519 and raw ones, the anchor of t (may be NULL)
 * with that key id.  Verifies nothing.  Returns 0, or -EBADMSG for a CMS
 * signature that cannot be parsed (info is then as far as it got).
 */
int es_signature_info(const struct es_trust *t, enum es_sig_type type,
		      const uint8_t key_id[ES_SIGN_KEY_ID_SIZE],
		      const uint8_t *sig, size_t sig_len, struct es_sig_info *info);

/* ---- fs-verity builtin signature -------------------------------------- */

/*
 * PKCS#7 signature of the fs-verity file digest (SHA-256), i.e. over
 * "FSVerity" || le16 1 || le16 32 || digest, in exactly the DER form that
 * `fsverity sign FILE OUT --key=KEY --cert=CERT` (fsverity-utils 1.5)
 * writes: SignedData, detached, SHA-256, no signed attributes, NO
 * certificate (the kernel finds it in its .fs-verity keyring).  Byte for
 * byte identical for RSA keys; ECDSA signatures are randomised.  Needs a
 * signer loaded with a certificate (-EINVAL otherwise) and an RSA or EC key
 * (-EOPNOTSUPP for Ed25519, which the kernel cannot check either).
 */
int es_fsverity_sign(const struct es_signer *s, const uint8_t digest[32],
		     uint8_t **sig, size_t *sig_len, struct es_err *err);

#endif

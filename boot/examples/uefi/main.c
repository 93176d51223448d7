// SPDX-License-Identifier: GPL-2.0-or-later OR Apache-2.0
/*
 * An example glue of the boot reader for UEFI (gnu-efi): a UEFI
 * application that opens an erofs-seal image file on the volume it was
 * started from, trusts it by the anchor built into it (a manifest digest
 * or an Ed25519 public key, see the Makefile), unlocks it with a key file
 * when the image is encrypted, and loads one file of it into memory.
 *
 *   \EFI\erofs-seal\root.img     the image (no blobs: device 0 only)
 *   \EFI\erofs-seal\image.key    its key file, for an encrypted image
 *   /boot/vmlinuz                the file loaded (EROFS_UEFI_PATH)
 *
 * The reader itself takes no memory from the firmware: it works in the
 * one buffer handed to erofs_boot_open().  The glue allocates that buffer,
 * the key file and the loaded file from the firmware's pool.  What a real
 * boot loader does next with the file (LoadImage/StartImage, or its own
 * kernel handover) is outside this example.
 */
#include <efi.h>

#include "erofs_boot.h"

#ifndef EROFS_UEFI_ANCHOR
#define EROFS_UEFI_ANCHOR "0000000000000000000000000000000000000000000000000000000000000000"
#endif
#ifndef EROFS_UEFI_TRUST
#define EROFS_UEFI_TRUST EROFS_BOOT_TRUST_DIGEST
#endif
#ifndef EROFS_UEFI_PATH
#define EROFS_UEFI_PATH "/boot/vmlinuz"
#endif

#define IMAGE_FILE	L"\\EFI\\erofs-seal\\root.img"
#define KEY_FILE	L"\\EFI\\erofs-seal\\image.key"
#define KEY_FILE_MAX	(8u << 20)	/* as ES_KEYFILE_MAX */

static EFI_SYSTEM_TABLE *st;

static void say(const CHAR16 *s)
{
	st->ConOut->OutputString(st->ConOut, (CHAR16 *)s);
}

/* ASCII (the reader's messages, paths) to the console. */
static void say_ascii(const char *s)
{
	CHAR16 buf[128];

	while (*s) {
		size_t n = 0;

		while (*s && n < 127)
			buf[n++] = (CHAR16)(unsigned char)*s++;
		buf[n] = 0;
		say(buf);
	}
}

static void say_num(UINT64 v)
{
	CHAR16 buf[21];
	size_t n = 20;

	buf[n] = 0;
	do {
		buf[--n] = (CHAR16)(L'0' + v % 10);
		v /= 10;
	} while (v);
	say(buf + n);
}

static EFI_STATUS failed(const char *what, const struct es_err *err)
{
	say(L"erofs-seal: ");
	say_ascii(what);
	say(L": ");
	say_ascii(err->msg[0] ? err->msg : "failed");
	say(L"\r\n");
	return EFI_LOAD_ERROR;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static BOOLEAN parse_anchor(const char *hex, uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return FALSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[64] == '\0';
}

/* ---- the reader's source: a file of the boot volume ------------------------ */

struct efi_source {
	EFI_FILE_PROTOCOL *file;
};

static int efi_read(void *ctx, unsigned int dev, uint64_t off, void *buf, size_t len)
{
	struct efi_source *s = ctx;

	if (dev != 0)
		return -19;	/* ENODEV: this example has no blobs */
	while (len) {
		UINTN n = len;

		if (s->file->SetPosition(s->file, off) != EFI_SUCCESS ||
		    s->file->Read(s->file, &n, buf) != EFI_SUCCESS || n == 0 || n > len)
			return -5;	/* EIO */
		buf = (uint8_t *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static EFI_STATUS open_file(EFI_FILE_PROTOCOL *root, const CHAR16 *path, EFI_FILE_PROTOCOL **f,
			    UINT64 *size)
{
	EFI_GUID info_id = EFI_FILE_INFO_ID;
	UINT8 info_buf[SIZE_OF_EFI_FILE_INFO + 512];
	UINTN info_len = sizeof(info_buf);
	EFI_STATUS s = root->Open(root, f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);

	if (s != EFI_SUCCESS)
		return s;
	s = (*f)->GetInfo(*f, &info_id, &info_len, info_buf);
	if (s != EFI_SUCCESS) {
		(*f)->Close(*f);
		return s;
	}
	*size = ((EFI_FILE_INFO *)info_buf)->FileSize;
	return EFI_SUCCESS;
}

/* The key file whole, in pool memory the caller wipes and frees. */
static EFI_STATUS read_key(EFI_FILE_PROTOCOL *root, void **key, UINTN *len)
{
	EFI_FILE_PROTOCOL *f;
	UINT64 size;
	EFI_STATUS s = open_file(root, KEY_FILE, &f, &size);

	if (s != EFI_SUCCESS)
		return s;
	if (size == 0 || size > KEY_FILE_MAX) {
		f->Close(f);
		return EFI_BAD_BUFFER_SIZE;
	}
	*len = (UINTN)size;
	s = st->BootServices->AllocatePool(EfiLoaderData, *len, key);
	if (s == EFI_SUCCESS && (f->Read(f, len, *key) != EFI_SUCCESS || *len != size)) {
		st->BootServices->FreePool(*key);
		s = EFI_LOAD_ERROR;
	}
	f->Close(f);
	return s;
}

/* called by gnu-efi's crt0 with the System V convention, after relocation */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID loaded_image_id = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_GUID sfs_id = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
	EFI_BOOT_SERVICES *bs = systab->BootServices;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *sfs;
	EFI_LOADED_IMAGE_PROTOCOL *li;
	EFI_FILE_PROTOCOL *root, *img;
	struct erofs_boot_source src;
	struct erofs_boot_stat bst;
	struct efi_source es;
	struct erofs_boot *b;
	struct es_err err = { 0 };
	uint8_t anchor[32];
	UINT64 img_size;
	void *work, *data, *key;
	UINTN key_len;
	uint64_t nid;
	int ret;

	st = systab;
	say(L"erofs-seal boot reader (UEFI example)\r\n");
	if (!parse_anchor(EROFS_UEFI_ANCHOR, anchor))
		return failed("the built-in anchor", &(struct es_err){ .msg = "not 64 hex digits" });
	if (bs->HandleProtocol(image, &loaded_image_id, (void **)&li) != EFI_SUCCESS ||
	    bs->HandleProtocol(li->DeviceHandle, &sfs_id, (void **)&sfs) != EFI_SUCCESS ||
	    sfs->OpenVolume(sfs, &root) != EFI_SUCCESS)
		return failed("the boot volume", &(struct es_err){ .msg = "cannot open it" });
	if (open_file(root, IMAGE_FILE, &img, &img_size) != EFI_SUCCESS)
		return failed("\\EFI\\erofs-seal\\root.img", &(struct es_err){ .msg = "cannot open it" });
	es.file = img;
	src.read = efi_read;
	src.ctx = &es;
	src.dev_sizes = &img_size;
	src.ndevs = 1;

	/* the only memory the reader has: EROFS_BOOT_WORK_MIN bytes, 8-aligned */
	if (bs->AllocatePool(EfiLoaderData, EROFS_BOOT_WORK_MIN, &work) != EFI_SUCCESS)
		return failed("memory", &(struct es_err){ .msg = "no pool for the work buffer" });
	ret = erofs_boot_open(&b, work, EROFS_BOOT_WORK_MIN, &src, EROFS_UEFI_TRUST, anchor,
			      &err);
	if (ret)
		return failed("opening the image", &err);

	/* an encrypted image needs its key file; a plain one ignores it */
	if (read_key(root, &key, &key_len) == EFI_SUCCESS) {
		ret = erofs_boot_unlock(b, EROFS_BOOT_CRED_KEYFILE, key, key_len, NULL, &err);
		bs->SetMem(key, key_len, 0);
		bs->FreePool(key);
		if (ret)
			return failed("unlocking the image", &err);
	}

	ret = erofs_boot_lookup(b, EROFS_UEFI_PATH, &nid, &err);
	if (!ret)
		ret = erofs_boot_stat(b, nid, &bst, &err);
	if (ret)
		return failed(EROFS_UEFI_PATH, &err);
	if (bs->AllocatePool(EfiLoaderData, bst.size ? bst.size : 1, &data) != EFI_SUCCESS)
		return failed(EROFS_UEFI_PATH, &(struct es_err){ .msg = "no pool for it" });
	for (uint64_t off = 0; off < bst.size;) {
		size_t got;

		ret = erofs_boot_read(b, nid, off, (uint8_t *)data + off, bst.size - off, &got,
				      &err);
		if (ret || !got) {
			bs->FreePool(data);
			return failed(EROFS_UEFI_PATH, &err);
		}
		off += got;
	}
	say_ascii(EROFS_UEFI_PATH);
	say(L": ");
	say_num(bst.size);
	say(L" bytes loaded, every block checked\r\n");
	/* a boot loader would now hand data to LoadImage() or the kernel */
	bs->FreePool(data);
	img->Close(img);
	return EFI_SUCCESS;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a program that handles keys does for them (header only, shared by
 * the programs): no core dumps and no ptrace by other users' tools while
 * secrets are in memory, and passphrases typed at the terminal without
 * echo, for the library's struct es_passphrase_prompt.  Passphrases never
 * come from argv or the environment.
 */
#ifndef ES_SECRETS_H
#define ES_SECRETS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "erofs/keyslot.h"

/* No core file, not dumpable (no /proc/PID/mem for others, no core). */
static inline void cli_protect_secrets(void)
{
	struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* What the prompt asks about. */
struct cli_prompt {
	const char *what;	/* "the key area of IMAGE", for the prompt */
};

/* Overwrite that the compiler cannot drop. */
static inline void cli_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while (len--)
		*v++ = 0;
}

/*
 * One line from the terminal with echo off: its bytes without the newline
 * into buf (at most cap; a longer line is refused).  Signals that would
 * leave the terminal without echo wait until it is restored.
 */
static inline int cli_read_hidden(int tty, const char *prompt, char *buf, size_t cap,
				  size_t *len, struct es_err *err)
{
	struct termios old, quiet;
	sigset_t block, saved;
	size_t n = 0;
	bool too_long = false;
	int ret = 0;
	char ch;

	if (tcgetattr(tty, &old))
		return es_fail(err, -errno, "cannot read the terminal's settings: %s",
			       strerror(errno));
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &saved);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	if (write(tty, prompt, strlen(prompt)) < 0 || tcsetattr(tty, TCSAFLUSH, &quiet)) {
		ret = es_fail(err, -errno, "cannot use the terminal: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = read(tty, &ch, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = es_fail(err, -errno, "cannot read the terminal: %s", strerror(errno));
			break;
		}
		if (r == 0 || ch == '\n')
			break;
		if (n < cap)
			buf[n++] = ch;
		else
			too_long = true;
	}
	ch = 0;
	(void)tcsetattr(tty, TCSAFLUSH, &old);
	if (write(tty, "\n", 1) < 0) {
		/* nothing to do: the passphrase was read */
	}
	if (!ret && too_long)
		ret = es_fail(err, -EFBIG, "the passphrase is longer than %zu bytes", cap);
out:
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (ret) {
		cli_wipe(buf, cap);
		n = 0;
	}
	*len = n;
	return ret;
}

/* es_passphrase_prompt.read: /dev/tty, echo off; twice for a new slot. */
static inline int cli_prompt_passphrase(void *ctx, enum es_keyslot_use use, const char *spec,
					char *buf, size_t cap, size_t *len,
					struct es_err *err)
{
	const struct cli_prompt *p = ctx;
	char prompt[512];
	size_t len2 = 0;
	int tty, ret;

	(void)spec;
	tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0)
		return es_fail(err, -ENOTTY, "no terminal to ask for a passphrase on (a "
			       "passphrase file can be named instead)");
	snprintf(prompt, sizeof(prompt), use == ES_KEYSLOT_FOR_ADD ?
		 "New passphrase for %s: " : "Passphrase for %s: ",
		 p && p->what ? p->what : "the key area");
	ret = cli_read_hidden(tty, prompt, buf, cap, len, err);
	if (!ret && use == ES_KEYSLOT_FOR_ADD) {
		/* the second copy lives on this stack for the comparison only */
		{
			char second[ES_PASSPHRASE_MAX];
			unsigned char diff = 0;

			ret = cli_read_hidden(tty, "Repeat the new passphrase: ", second,
					      sizeof(second), &len2, err);
			if (!ret) {
				diff = (unsigned char)(len2 != *len);
				for (size_t i = 0; i < len2 && i < *len; i++)
					diff |= (unsigned char)(second[i] ^ buf[i]);
				if (diff)
					ret = es_fail(err, -EINVAL, "the two passphrases differ");
			}
			cli_wipe(second, sizeof(second));
		}
		if (ret) {
			cli_wipe(buf, cap);
			*len = 0;
		}
	}
	close(tty);
	return ret;
}

#endif

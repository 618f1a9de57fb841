/* i8042 keyboard controller, as small as Linux's i8042 + atkbd drivers allow:
 * controller commands on 0x64, a 16-byte output buffer read from 0x60, and a
 * keyboard behind it that answers its commands (ACK, reset BAT, GETID) so the
 * atkbd probe succeeds without i8042.dumbkbd. There is no AUX (mouse) port.
 * Command 0xFE pulses the CPU reset line: reset_cb() ends the VM.
 *
 * IRQ 1 is the output-buffer-full line gated by the control byte's KBDINT
 * bit. It is signalled as an edge (one eventfd write) each time a byte reaches
 * the head of the buffer: the guest reads one byte per interrupt. */
#include "ember/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/log.h"

#define OFS_DATA 0
#define OFS_CMD 4
#define BUF_SIZE 16

#define STS_OBF 0x01     /* output buffer full */
#define STS_SYS 0x04     /* system flag, mirrors the control byte */
#define STS_CMD 0x08     /* last write went to the command port */
#define STS_UNLOCK 0x10  /* keyboard not inhibited */

#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10

#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa

struct i8042 {
	pthread_mutex_t lock;
	int irq_fd;
	i8042_reset_fn reset_cb;
	void *ctx;
	uint8_t ctr, outp;
	uint8_t cmd;      /* controller command waiting for its data byte, or 0 */
	uint8_t kbd_cmd;  /* keyboard command waiting for its parameter, or 0 */
	bool last_cmd;    /* STS_CMD */
	bool irq;         /* a byte reached the buffer head: signal IRQ 1 */
	uint8_t buf[BUF_SIZE];
	unsigned head, count;
	uint64_t resets;
};

struct i8042 *i8042_new(int irq_fd, i8042_reset_fn reset_cb, void *ctx)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL)) {
		free(k);
		errno = ENOMEM;
		return NULL;
	}
	k->irq_fd = irq_fd;
	k->reset_cb = reset_cb;
	k->ctx = ctx;
	k->ctr = CTR_SYS | CTR_KBDINT; /* as Firecracker: POST passed, IRQ on */
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int push(struct i8042 *k, uint8_t b)
{
	if (k->count == BUF_SIZE)
		return -ENOSPC;
	k->buf[(k->head + k->count) % BUF_SIZE] = b;
	if (!k->count++)
		k->irq = true;
	return 0;
}

static uint8_t pop(struct i8042 *k)
{
	uint8_t b;

	if (!k->count)
		return 0;
	b = k->buf[k->head];
	k->head = (k->head + 1) % BUF_SIZE;
	if (--k->count)
		k->irq = true; /* the next byte is now at the head */
	return b;
}

/* Controller replies replace whatever is queued, as in Firecracker, so the
 * guest's polled read after a command gets the reply and not a stale key. */
static void reply(struct i8042 *k, uint8_t b)
{
	k->head = k->count = 0;
	push(k, b);
}

static void flush_irq(struct i8042 *k)
{
	uint64_t one = 1;

	if (!k->irq)
		return;
	k->irq = false;
	if (!(k->ctr & CTR_KBDINT) || k->irq_fd < 0)
		return;
	if (write(k->irq_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_ratelimited(LOG_ERROR, "i8042: write to irq eventfd: %s", strerror(errno));
}

/* Commands whose next byte on port 0x60 is their argument, not keyboard data. */
static bool takes_arg(uint8_t cmd)
{
	return (cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0xd1 && cmd <= 0xd4);
}

/* Returns true when the guest asked for a CPU reset. */
static bool command(struct i8042 *k, uint8_t cmd)
{
	k->cmd = takes_arg(cmd) ? cmd : 0;
	switch (cmd) {
	case 0x20: reply(k, k->ctr); break;        /* read control byte */
	case 0xa7: case 0xa8: break;               /* AUX disable/enable: no AUX */
	case 0xa9: reply(k, 0x01); break;          /* AUX test: "clock stuck", no AUX */
	case 0xaa: reply(k, 0x55); break;          /* controller self test passed */
	case 0xab: reply(k, 0x00); break;          /* keyboard interface test passed */
	case 0xad: k->ctr |= CTR_KBDDIS; break;
	case 0xae: k->ctr &= (uint8_t)~CTR_KBDDIS; break;
	case 0xd0: reply(k, k->outp); break;       /* read output port */
	case 0xfe: return true;                    /* pulse reset line */
	default:
		if (!k->cmd)
			log_ratelimited(LOG_DEBUG, "i8042: ignored command %#x", cmd);
		break;
	}
	return false;
}

static void command_arg(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->cmd;

	k->cmd = 0;
	if (cmd == 0x60) {
		/* Enabling KBDINT with a byte waiting raises the (level) line. */
		if (!(k->ctr & CTR_KBDINT) && (v & CTR_KBDINT) && k->count)
			k->irq = true;
		k->ctr = v;
	} else if (cmd == 0xd1) {
		k->outp = v;
	} else if (cmd == 0xd2 || cmd == 0xd3) {
		/* Write keyboard / AUX output buffer: echoed as keyboard data.
		 * An AUX loop reply without the AUX status bit tells Linux at
		 * once that there is no AUX port. */
		if (push(k, v))
			log_ratelimited(LOG_WARN, "i8042: output buffer full");
	}
	/* 0x61-0x7f (controller RAM) and 0xd4 (to AUX device): dropped. */
}

/* The keyboard's side of a byte written to port 0x60. */
static void keyboard(struct i8042 *k, uint8_t b)
{
	static const uint8_t id[] = { KBD_ACK, 0xab, 0x83 }; /* MF2 keyboard */
	uint8_t prev = k->kbd_cmd;
	int rc = 0;

	k->kbd_cmd = 0;
	if (prev) {
		/* Parameter of 0xED (LEDs), 0xF0 (scan set), 0xF3 (typematic). */
		rc = push(k, KBD_ACK);
		if (!rc && prev == 0xf0 && b == 0)
			rc = push(k, 0x02); /* we speak set 2 */
	} else if (b == 0xed || b == 0xf0 || b == 0xf3) {
		k->kbd_cmd = b;
		rc = push(k, KBD_ACK);
	} else if (b == 0xee) {
		rc = push(k, 0xee); /* echo */
	} else if (b == 0xf2) {
		for (size_t i = 0; i < sizeof(id) && !rc; i++)
			rc = push(k, id[i]);
	} else {
		rc = push(k, KBD_ACK);
		if (!rc && b == 0xff)
			rc = push(k, KBD_BAT_OK);
	}
	if (rc)
		log_ratelimited(LOG_WARN, "i8042: output buffer full, keyboard reply dropped");
}

static uint8_t status(const struct i8042 *k)
{
	return (uint8_t)((k->count ? STS_OBF : 0) | (k->ctr & CTR_SYS ? STS_SYS : 0) |
			 (k->last_cmd ? STS_CMD : 0) | STS_UNLOCK);
}

void i8042_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = ctx;
	bool reset = false;

	if (len != 1) {
		log_ratelimited(LOG_WARN, "i8042: ignored %u-byte access at offset %llu", len,
				(unsigned long long)off);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		data[0] = off == OFS_DATA ? pop(k) : off == OFS_CMD ? status(k) : 0;
	} else if (off == OFS_CMD) {
		k->last_cmd = true;
		reset = command(k, data[0]);
		k->resets += reset;
	} else if (off == OFS_DATA) {
		k->last_cmd = false;
		if (k->cmd)
			command_arg(k, data[0]);
		else
			keyboard(k, data[0]);
	}
	flush_irq(k);
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: the callback may stop vCPUs that wait on it. */
	if (reset && k->reset_cb)
		k->reset_cb(k->ctx);
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t keys[] = { 0x14, 0x11, 0xe0, 0x71 }; /* set-2 make codes */
	int rc = -ENOSPC;

	pthread_mutex_lock(&k->lock);
	if (BUF_SIZE - k->count >= sizeof(keys)) {
		for (size_t i = 0; i < sizeof(keys); i++)
			push(k, keys[i]);
		flush_irq(k);
		rc = 0;
	}
	pthread_mutex_unlock(&k->lock);
	return rc;
}

uint64_t i8042_reset_count(struct i8042 *k)
{
	uint64_t n;

	pthread_mutex_lock(&k->lock);
	n = k->resets;
	pthread_mutex_unlock(&k->lock);
	return n;
}

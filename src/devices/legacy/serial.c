/* 8250/16550A UART as Linux's 8250 driver probes and drives it (and as
 * Firecracker's vm-superio emulates it). Transmission is instantaneous, so
 * THR is always empty; the RX side is a 64-byte FIFO filled by the event loop.
 *
 * Interrupts: the UART's INTR output is modelled as a level (IIR says "pending")
 * and signalled on its rising edge only, by one write to an eventfd bound to
 * GSI 4 with KVM_IRQFD. This is what an edge-triggered ISA IRQ sees on real
 * hardware; Linux's handler loops on IIR until it reads "no interrupt", which
 * lowers the level, so the next condition produces a fresh edge. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/log.h"
#include "serial_internal.h"

struct serial *serial_new(int out_fd, int irq_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->out_fd = out_fd;
	s->irq_fd = irq_fd;
	s->lcr = 0x03;		/* 8N1 */
	s->mcr = MCR_OUT2;
	s->dll = 12;		/* 9600 baud from the 1.8432 MHz clock */
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Called after every state change: one eventfd write per rising edge. */
static void update_irq(struct serial *s)
{
	bool line = !(serial_iir(s) & IIR_NONE);
	uint64_t one = 1;

	if (line && !s->line && s->irq_fd >= 0) {
		if (write(s->irq_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
			s->st.irqs++;
		else
			log_ratelimited(LOG_ERROR, "serial: write to irq eventfd: %s",
					strerror(errno));
	}
	s->line = line;
}

/* Never blocks: out_fd is non-blocking, and a byte that does not fit is
 * dropped and counted rather than stalling the vCPU that wrote it. */
void serial_emit(struct serial *s, uint8_t b)
{
	ssize_t n;

	if (s->out_fd < 0) {
		s->st.dropped_bytes++;
		return;
	}
	do
		n = write(s->out_fd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1) {
		s->st.tx_bytes++;
		return;
	}
	s->st.dropped_bytes++;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_ratelimited(LOG_WARN, "serial: write to console output: %s", strerror(errno));
}

void serial_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = ctx;

	if (len != 1 || off >= NR_REGS) {
		log_ratelimited(LOG_WARN, "serial: ignored %u-byte %s at offset %llu", len,
				is_write ? "write" : "read", (unsigned long long)off);
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_reg_write(s, (unsigned)off, data[0]);
	else
		data[0] = serial_reg_read(s, (unsigned)off);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_room(struct serial *s)
{
	size_t room;

	pthread_mutex_lock(&s->lock);
	room = SERIAL_FIFO_SIZE - s->count;
	pthread_mutex_unlock(&s->lock);
	return room;
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->count < SERIAL_FIFO_SIZE)
		rx_push(s, buf[n++]);
	s->st.rx_bytes += n;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_get_stats(struct serial *s, struct serial_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
}

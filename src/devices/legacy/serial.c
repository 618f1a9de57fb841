/* 8250/16550A UART as Linux's 8250 driver probes and drives it (and as
 * Firecracker's vm-superio emulates it). Transmission is instantaneous, so
 * THR is always empty; the RX side is a 64-byte FIFO filled by the event loop.
 *
 * Interrupts: the UART's INTR output is modelled as a level (IIR says "pending")
 * and signalled on its rising edge only, by one write to an eventfd bound to
 * GSI 4 with KVM_IRQFD. This is what an edge-triggered ISA IRQ sees on real
 * hardware; Linux's handler loops on IIR until it reads "no interrupt", which
 * lowers the level, so the next condition produces a fresh edge. */
#include "ember/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/log.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR, NR_REGS };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0 /* "FIFOs enabled": what makes Linux say 16550A */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	int out_fd, irq_fd;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t msr_delta;  /* MSR bits 0-3, cleared when MSR is read */
	bool fifo_on;       /* FCR bit 0 */
	bool thr_ipending;  /* THRE interrupt armed; cleared by reading IIR */
	bool overrun;       /* LSR.OE, cleared by reading LSR */
	bool line;          /* INTR level last signalled */
	uint8_t fifo[SERIAL_FIFO_SIZE];
	unsigned head, count;
	struct serial_stats st;
};

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

/* Modem inputs: a connected modem (Linux waits for DCD/DSR/CTS in some paths),
 * or in loopback mode the MCR outputs wired back as the 16550 does. */
static uint8_t msr_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)((mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) |
			 (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0));
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = s->fifo_on ? IIR_FIFO : 0;

	/* 16550 priority order: line status, RX data, THR empty, modem status. */
	if ((s->ier & IER_RLSI) && s->overrun)
		return fifo | IIR_RLSI;
	if ((s->ier & IER_RDI) && s->count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_ipending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_MSI) && s->msr_delta)
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* Called after every state change: one eventfd write per rising edge. */
static void update_irq(struct serial *s)
{
	bool line = !(iir(s) & IIR_NONE);
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

static void rx_push(struct serial *s, uint8_t b)
{
	s->fifo[(s->head + s->count) % SERIAL_FIFO_SIZE] = b;
	s->count++;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t b;

	if (!s->count)
		return 0;
	b = s->fifo[s->head];
	s->head = (s->head + 1) % SERIAL_FIFO_SIZE;
	s->count--;
	return b;
}

/* Never blocks: out_fd is non-blocking, and a byte that does not fit is
 * dropped and counted rather than stalling the vCPU that wrote it. */
static void emit(struct serial *s, uint8_t b)
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

static void thr_write(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		if (s->count < SERIAL_FIFO_SIZE)
			rx_push(s, b);
		else
			s->overrun = true;
	} else {
		emit(s, b);
	}
	/* The byte left at once: THR is empty again, which re-arms THRE. */
	s->thr_ipending = true;
}

static void mcr_write(struct serial *s, uint8_t v)
{
	uint8_t old = msr_lines(s->mcr), now = msr_lines(v & 0x1f), chg = old ^ now;

	s->mcr = v & 0x1f;
	s->msr_delta |= (uint8_t)((chg & MSR_CTS ? 0x01 : 0) | (chg & MSR_DSR ? 0x02 : 0) |
				  ((old & MSR_RI) && !(now & MSR_RI) ? 0x04 : 0) |
				  (chg & MSR_DCD ? 0x08 : 0));
}

static void fcr_write(struct serial *s, uint8_t v)
{
	/* Toggling FIFO mode or asking for it clears the receive FIFO. */
	if ((v & FCR_CLEAR_RX) || (bool)(v & FCR_ENABLE) != s->fifo_on)
		s->head = s->count = 0;
	s->fifo_on = v & FCR_ENABLE;
}

static void reg_write(struct serial *s, unsigned off, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case RBR_THR:
		if (dlab)
			s->dll = v;
		else
			thr_write(s, v);
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		s->ier = v & 0x0f;
		/* A 16550 raises THRE again whenever it is enabled while THR is
		 * empty; Linux's UART_BUG_THRE probe checks exactly that. */
		s->thr_ipending = s->ier & IER_THRI;
		break;
	case IIR_FCR:
		fcr_write(s, v);
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		mcr_write(s, v);
		break;
	case SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t reg_read(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (off) {
	case RBR_THR:
		return dlab ? s->dll : rx_pop(s);
	case IER:
		return dlab ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		v = (uint8_t)(LSR_THRE | LSR_TEMT | (s->count ? LSR_DR : 0) |
			      (s->overrun ? LSR_OE : 0));
		s->overrun = false;
		return v;
	case MSR:
		v = msr_lines(s->mcr) | s->msr_delta;
		s->msr_delta = 0;
		return v;
	default:
		return s->scr;
	}
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
		reg_write(s, (unsigned)off, data[0]);
	else
		data[0] = reg_read(s, (unsigned)off);
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

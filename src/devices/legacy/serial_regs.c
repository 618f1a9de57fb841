/* The 16550A register file (see serial.c): DLAB-banked divisor latch, IER,
 * IIR/FCR, LCR, MCR with loopback, LSR, MSR deltas and the scratch register. */
#include "serial_internal.h"

/* Modem inputs: a connected modem (Linux waits for DCD/DSR/CTS in some paths),
 * or in loopback mode the MCR outputs wired back as the 16550 does. */
static uint8_t msr_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (uint8_t)((mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) |
			 (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0));
}

uint8_t serial_iir(const struct serial *s)
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

static void thr_write(struct serial *s, uint8_t b)
{
	if (s->mcr & MCR_LOOP) {
		if (s->count < SERIAL_FIFO_SIZE)
			rx_push(s, b);
		else
			s->overrun = true;
	} else {
		serial_emit(s, b);
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

void serial_reg_write(struct serial *s, unsigned off, uint8_t v)
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

uint8_t serial_reg_read(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (off) {
	case RBR_THR:
		return dlab ? s->dll : rx_pop(s);
	case IER:
		return dlab ? s->dlm : s->ier;
	case IIR_FCR:
		v = serial_iir(s);
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

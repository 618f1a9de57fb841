/* The comms ring backend's link: the first connect at device creation,
 * the doorbell and control-socket events, and reconnecting after the peer
 * went away (docs/comms-ring.md). The data path is net_comms.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ember/log.h"
#include "net_comms_internal.h"

/* The peer kicked us: frames arrived, or space it freed for our TX. */
static void bell_event(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;
	struct comms *c;

	pthread_mutex_lock(&n->vdev.lock);
	c = co(n);
	if (c->up) {
		comms_drain(&c->link);
		if (c->tx_sleeping) {
			ring_tx_space_done(&c->link.tx);
			c->tx_sleeping = false;
			net_tx_resume(n);
		}
		if (c->up && net_live(n, NET_RXQ))
			net_rx_resume(n);
	}
	pthread_mutex_unlock(&n->vdev.lock);
}

/* After READY the peer may only say DISCONNECT; a hang-up, that, or
 * anything else ends the link. */
static void ctl_event(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;
	struct comms_msg m;
	char reason[96], why[160];
	uint32_t code;
	ssize_t r;
	struct comms *c;

	pthread_mutex_lock(&n->vdev.lock);
	c = co(n);
	if (!c->up)
		goto out;
	/* Judged by what recv says, not by the event bits: a stale event of
	 * the previous link (same handler) must not end this one. A hang-up
	 * reads as 0 or an error, never EAGAIN. */
	r = recv(c->link.ctl_fd, &m, sizeof(m), MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		goto out;
	if (r == (ssize_t)sizeof(m) &&
	    !comms_parse_disconnect(&m, (size_t)r, &code, reason, sizeof(reason)))
		snprintf(why, sizeof(why), "peer disconnected (%u: %s)", code, reason);
	else if (r > 0)
		snprintf(why, sizeof(why), "unexpected control message from the peer");
	else
		snprintf(why, sizeof(why), "peer closed the control socket");
	net_comms_link_lost(n, why, RECONNECT_NS, false);
out:
	pthread_mutex_unlock(&n->vdev.lock);
}

/* Make `l` the device's link. 0 or -errno (l closed). */
static int install(struct net_dev *n, struct comms_link *l)
{
	struct comms *c = co(n);
	int rc = 0;

	c->link = *l;
	c->held = false;
	c->unpublished = 0;
	c->bell_h = (struct evloop_handler){ .fd = c->link.doorbell_rx, .fn = bell_event, .ctx = n };
	c->ctl_h = (struct evloop_handler){ .fd = c->link.ctl_fd, .fn = ctl_event, .ctx = n };
	if (n->loop) {
		rc = evloop_add(n->loop, &c->bell_h, EPOLLIN);
		c->bell_added = !rc;
		if (!rc)
			rc = evloop_add(n->loop, &c->ctl_h, EPOLLIN | EPOLLRDHUP);
		c->ctl_added = c->bell_added && !rc;
	}
	if (rc) {
		net_comms_del_handlers(n);
		comms_link_close(&c->link, "local error");
		return rc;
	}
	c->up = true;
	/* Let the first frame kick us; if the peer was quicker than that,
	 * kick ourselves so the loop serves what is already there. */
	if (!ring_rx_prepare_sleep(&c->link.rx)) {
		uint64_t one = 1;

		if (write(c->link.doorbell_rx, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("net '%s': self-kick: %s", n->id, strerror(errno));
	}
	return 0;
}

/* A quiet renegotiation that failed: now the guest has to know. */
static void link_really_down(struct net_dev *n)
{
	struct comms *c = co(n);

	if (!c->remaking)
		return;
	c->remaking = c->tx_sleeping = false;
	net_set_link(n, false);
	net_tx_resume(n); /* what waited is dropped and counted now */
}

static void link_back(struct net_dev *n)
{
	struct comms *c = co(n);

	c->remaking = c->tx_sleeping = false;
	if (!n->link_up) {
		net_set_link(n, true); /* resumes both queues */
		return;
	}
	/* LINK_UP never dropped (a renegotiation): resume what waited */
	if (net_live(n, NET_TXQ))
		net_tx_resume(n);
	if (net_live(n, NET_RXQ))
		net_rx_process(n);
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A peer that accepts and then stalls costs an attempt thread the
 * handshake's step timeouts each time: space such attempts out (1 s,
 * 2 s ... SLOW_MAX_NS); a quick refusal keeps the 500 ms period. */
#define SLOW_MS 100
#define SLOW_MAX_NS (8000 * 1000000L)

static void retry_later(struct comms *c, long took_ms)
{
	if (took_ms < SLOW_MS) {
		c->backoff_ns = 0;
		return; /* the periodic timer goes on */
	}
	c->backoff_ns = c->backoff_ns ? c->backoff_ns * 2 : 2 * RECONNECT_NS;
	if (c->backoff_ns > SLOW_MAX_NS)
		c->backoff_ns = SLOW_MAX_NS;
	net_comms_arm_timer(c, c->backoff_ns, c->backoff_ns);
}

static void *attempt_main(void *arg)
{
	struct comms_attempt *a = arg;
	long t0 = mono_ms();
	uint64_t one = 1;

	a->rc = comms_connect(a->path, &a->want, &a->link, a->err, sizeof(a->err));
	a->took_ms = mono_ms() - t0;
	if (write(a->done_fd, &one, sizeof(one)) < 0)
		log_warn("comms: reconnect done: %s", strerror(errno));
	return NULL;
}

/* Wait for the attempt's thread (bounded by the handshake's step
 * timeouts) and free it; an unused link it made is closed. */
void net_comms_attempt_end(struct net_dev *n, bool keep_link)
{
	struct comms *c = co(n);
	struct comms_attempt *a = c->try;

	if (!a)
		return;
	pthread_join(a->th, NULL);
	if (n->loop)
		evloop_del(n->loop, &a->done_h);
	close(a->done_fd);
	if (!a->rc && !keep_link)
		comms_link_close(&a->link, "superseded");
	free(a);
	c->try = NULL;
}

/* The attempt ended (VMM thread): install its link or plan the next. */
static void attempt_done(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;
	struct comms *c = co(n);
	struct comms_attempt *a = c->try;
	bool take;

	pthread_mutex_lock(&n->vdev.lock);
	take = !a->rc && !c->up && !(a->link.p.features & ~c->want.features);
	if (a->rc) {
		log_ratelimited(LOG_INFO, "net '%s': reconnect to %s: %s", n->id, c->path, a->err);
		link_really_down(n);
		retry_later(c, a->took_ms);
	} else if (!take) {
		/* up meanwhile, or the driver changed: the periodic timer retries */
	} else if (install(n, &a->link)) {
		link_really_down(n);
	} else {
		net_comms_arm_timer(c, 0, 0);
		c->backoff_ns = 0;
		log_info("net '%s': comms link to %s up again", n->id, c->path);
		link_back(n);
	}
	net_comms_attempt_end(n, take);
	pthread_mutex_unlock(&n->vdev.lock);
}

/* The reconnect timer: start one comms_connect() on its own thread,
 * unless one is still in flight. */
static void timer_event(struct evloop_handler *h, uint32_t events)
{
	struct net_dev *n = h->ctx;
	struct comms *c = co(n);
	struct comms_attempt *a;
	uint64_t ticks;

	if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_WARN, "comms: timerfd read: %s", strerror(errno));
	pthread_mutex_lock(&n->vdev.lock);
	if (c->up || c->try || !(a = calloc(1, sizeof(*a))))
		goto out;
	*a = (struct comms_attempt){ .path = c->path, .want = c->want,
				     .done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	a->done_h = (struct evloop_handler){ .fd = a->done_fd, .fn = attempt_done, .ctx = n };
	if (a->done_fd < 0 || evloop_add(n->loop, &a->done_h, EPOLLIN)) {
		log_ratelimited(LOG_WARN, "net '%s': reconnect: no event fd", n->id);
	} else if (pthread_create(&a->th, NULL, attempt_main, a)) {
		log_ratelimited(LOG_WARN, "net '%s': reconnect: no thread", n->id);
		evloop_del(n->loop, &a->done_h);
	} else {
		c->try = a;
		goto out;
	}
	if (a->done_fd >= 0)
		close(a->done_fd);
	free(a);
out:
	pthread_mutex_unlock(&n->vdev.lock);
}

static int first_connect(struct net_dev *n, struct comms *c)
{
	struct comms_link l;
	char err[256] = "";
	int rc = comms_connect(c->path, &c->want, &l, err, sizeof(err));

	if (rc) {
		log_err("net '%s': cannot connect to comms_socket %s: %s", n->id, c->path,
			err[0] ? err : strerror(-rc));
		return rc;
	}
	c->created_feat = l.p.features;
	rc = install(n, &l);
	if (rc)
		log_err("net '%s': comms link to %s: %s", n->id, c->path, strerror(-rc));
	return rc;
}

int net_comms_open(struct net_dev *n, const struct res_net *cfg)
{
	struct comms *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	if (!c || !(c->path = strdup(cfg->comms_socket)))
		goto err_free;
	c->want = (struct comms_params){
		.geom = { RING_DEF_SLOTS, RING_DEF_SLOT_SIZE },
		.mtu = cfg->mtu,
		.features = COMMS_F_CSUM | COMMS_F_GSO,
	};
	if (cfg->has_mac)
		memcpy(c->want.mac, cfg->mac, sizeof(c->want.mac));
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0) {
		rc = -errno;
		log_err("net '%s': timerfd_create: %s", n->id, strerror(-rc));
		goto err_free;
	}
	n->be = &net_comms_ops;
	n->be_priv = c;
	c->timer_h = (struct evloop_handler){ .fd = c->timer_fd, .fn = timer_event, .ctx = n };
	if (n->loop && (rc = evloop_add(n->loop, &c->timer_h, EPOLLIN)) < 0)
		goto err_timer;
	c->timer_added = n->loop != NULL;
	rc = first_connect(n, c);
	if (rc)
		goto err_loop;
	n->link_up = true;
	return 0;
err_loop:
	if (c->timer_added)
		evloop_del(n->loop, &c->timer_h);
err_timer:
	close(c->timer_fd);
	n->be = NULL;
	n->be_priv = NULL;
err_free:
	if (c)
		free(c->path);
	free(c);
	return rc;
}

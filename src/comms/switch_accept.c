/* ember-switch's acceptor thread: accept a client on the control socket,
 * run the comms handshake (which may take up to a few step timeouts when
 * the client is slow or hostile) and queue the finished link for the
 * worker, kicking its eventfd. The worker never blocks on a handshake. */
#include "switch_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/log.h"

static void queue(struct sw_acceptor *a, struct comms_link *l)
{
	uint64_t one = 1;
	bool full;

	pthread_mutex_lock(&a->lock);
	full = a->n == SW_ACCEPT_QUEUE;
	if (!full)
		a->q[a->n++] = *l;
	pthread_mutex_unlock(&a->lock);
	if (full) {
		log_warn("switch: too many links waiting; refusing one");
		comms_link_close(l, "switch busy");
		return;
	}
	if (write(a->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("switch: accept notify: %s", strerror(errno));
}

static void *run(void *arg)
{
	struct sw_acceptor *a = arg;
	struct pollfd pf[2] = { { .fd = a->listen_fd, .events = POLLIN },
				{ .fd = a->stop_fd, .events = POLLIN } };

	log_set_thread_name("accept");
	for (;;) {
		struct comms_link l;
		char err[160];
		int fd, rc;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("switch: poll: %s", strerror(errno));
			return NULL;
		}
		if (pf[1].revents)
			return NULL;
		fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("switch: accept: %s", strerror(errno));
			continue;
		}
		rc = comms_accept(fd, &a->offer, &l, err, sizeof(err)); /* takes fd */
		if (rc) {
			log_warn("switch: handshake failed: %s", err);
			continue;
		}
		queue(a, &l);
	}
}

int sw_acc_start(struct sw_acceptor *a, const char *path, int notify_fd)
{
	int rc;

	a->notify_fd = notify_fd;
	a->offer = (struct comms_params){
		.geom = { .slots = SW_OFFER_SLOTS, .slot_size = SW_OFFER_SLOT_SIZE },
		.features = COMMS_F_KNOWN,
	};
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->stop_fd < 0)
		return -errno;
	a->listen_fd = comms_listen(path);
	if (a->listen_fd < 0) {
		rc = a->listen_fd;
		log_err("switch: listen on %s: %s", path, strerror(-rc));
		close(a->stop_fd);
		return rc;
	}
	pthread_mutex_init(&a->lock, NULL);
	rc = pthread_create(&a->thr, NULL, run, a);
	if (rc) {
		log_err("switch: pthread_create: %s", strerror(rc));
		close(a->listen_fd);
		close(a->stop_fd);
		return -rc;
	}
	a->started = true;
	return 0;
}

bool sw_acc_take(struct sw_acceptor *a, struct comms_link *out)
{
	bool got;

	pthread_mutex_lock(&a->lock);
	got = a->n > 0;
	if (got) {
		*out = a->q[0];
		memmove(a->q, a->q + 1, --a->n * sizeof(a->q[0]));
	}
	pthread_mutex_unlock(&a->lock);
	return got;
}

void sw_acc_stop(struct sw_acceptor *a)
{
	uint64_t one = 1;
	struct comms_link l;

	if (!a->started)
		return;
	if (write(a->stop_fd, &one, sizeof(one)) < 0)
		log_err("switch: stop acceptor: %s", strerror(errno));
	pthread_join(a->thr, NULL);
	while (sw_acc_take(a, &l))
		comms_link_close(&l, "switch stopping");
	close(a->listen_fd);
	close(a->stop_fd);
	pthread_mutex_destroy(&a->lock);
	a->started = false;
}

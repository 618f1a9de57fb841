/* The device-side queue loop every virtio device shares: pop chains, hand
 * each to the device, stop when the ring is empty or the device says so,
 * and re-enable notifications without losing a kick that raced in. */
#include "ember/virtio.h"

unsigned virtio_serve_queue(struct virtio_dev *d, unsigned qi, struct virtq_chain *c,
			    virtio_can_pop_fn can_pop, virtio_chain_fn handle, void *ctx)
{
	struct virtq *q = &d->vq[qi];
	bool rechecked = false;
	unsigned done = 0;
	int rc;

	while (!can_pop || can_pop(ctx)) {
		rc = virtq_pop(q, d->gm, c);
		if (rc < 0) {
			virtio_dev_fail(d, "malformed avail ring or descriptor chain");
			break;
		}
		if (rc == 0) {
			/* Re-enable kicks, then look once more for what raced in;
			 * a second empty look means the guest is toying with idx. */
			if (rechecked || !virtq_enable_notify(q, d->gm))
				break;
			rechecked = true;
			continue;
		}
		rechecked = false;
		rc = handle(ctx, c);
		if (rc == VIRTIO_RETRY)
			virtq_unpop(q);
		if (rc != VIRTIO_NEXT)
			break;
		done++;
	}
	return done;
}

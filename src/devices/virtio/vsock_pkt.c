/* The wire formats of the vsock device: the virtio-vsock packet header
 * (virtio 1.x §5.10.6) as it sits in descriptor chains, the checks every
 * guest header passes before anything acts on it, and the host's
 * "CONNECT <port>\n" line (Firecracker's docs/vsock.md). Pure functions. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "vsock_internal.h"

void vsock_pkt_decode(const struct virtio_vsock_hdr *raw, struct vsock_pkt *p)
{
	*p = (struct vsock_pkt){
		.src_cid = le64toh(raw->src_cid), .dst_cid = le64toh(raw->dst_cid),
		.src_port = le32toh(raw->src_port), .dst_port = le32toh(raw->dst_port),
		.len = le32toh(raw->len), .type = le16toh(raw->type), .op = le16toh(raw->op),
		.flags = le32toh(raw->flags), .buf_alloc = le32toh(raw->buf_alloc),
		.fwd_cnt = le32toh(raw->fwd_cnt),
	};
}

void vsock_pkt_encode(const struct vsock_pkt *p, struct virtio_vsock_hdr *raw)
{
	*raw = (struct virtio_vsock_hdr){
		.src_cid = htole64(p->src_cid), .dst_cid = htole64(p->dst_cid),
		.src_port = htole32(p->src_port), .dst_port = htole32(p->dst_port),
		.len = htole32(p->len), .type = htole16(p->type), .op = htole16(p->op),
		.flags = htole32(p->flags), .buf_alloc = htole32(p->buf_alloc),
		.fwd_cnt = htole32(p->fwd_cnt),
	};
}

static enum vsock_verdict verdict(enum vsock_verdict v, const char *what, const char **why)
{
	if (why)
		*why = what;
	return v;
}

/* Addressing first: a packet that is not the guest's to the host gets no
 * answer at all (Firecracker drops it too); the rest earn an RST. */
enum vsock_verdict vsock_pkt_check(const struct vsock_pkt *p, uint32_t data_len,
				   uint64_t guest_cid, const char **why)
{
	const uint32_t shut_all = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	enum vsock_verdict bad = p->op == VIRTIO_VSOCK_OP_RST ? VSOCK_PKT_DROP : VSOCK_PKT_RST;

	if (p->src_cid != guest_cid)
		return verdict(VSOCK_PKT_DROP, "src_cid is not the guest's CID", why);
	if (p->dst_cid != VSOCK_HOST_CID)
		return verdict(VSOCK_PKT_DROP, "dst_cid is not the host (2)", why);
	if (p->type != VIRTIO_VSOCK_TYPE_STREAM)
		return verdict(bad, "type is not STREAM", why);
	if (p->op < VIRTIO_VSOCK_OP_REQUEST || p->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return verdict(bad, "unknown op", why);
	if (p->len > VSOCK_MAX_PAYLOAD)
		return verdict(bad, "len over the 64 KiB maximum", why);
	if (p->len > data_len)
		return verdict(bad, "len beyond the chain's data", why);
	if (p->op != VIRTIO_VSOCK_OP_RW && p->len)
		return verdict(bad, "payload on a control packet", why);
	if (p->op == VIRTIO_VSOCK_OP_SHUTDOWN ? (p->flags & ~shut_all) != 0 : p->flags != 0)
		return verdict(bad, "flags not valid for the op", why);
	return verdict(VSOCK_PKT_OK, NULL, why);
}

int vsock_pkt_read_hdr(const struct virtq_chain *c, struct virtio_vsock_hdr *raw,
		       uint32_t *data_len)
{
	uint8_t *dst = (uint8_t *)raw;
	uint64_t total = 0;

	for (unsigned i = 0; i < c->n; i++) {
		const struct virtq_seg *s = &c->seg[i];

		if (s->write)
			return -EINVAL;
		if (total < VSOCK_HDR_LEN && s->len) {
			uint64_t take = VSOCK_HDR_LEN - total;

			if (take > s->len)
				take = s->len;
			memcpy(dst + total, s->host, take);
		}
		total += s->len;
	}
	if (total < VSOCK_HDR_LEN)
		return -EINVAL;
	total -= VSOCK_HDR_LEN;
	*data_len = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	return 0;
}

int vsock_pkt_rx_space(const struct virtq_chain *c, uint32_t *space)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->seg[i].write)
			return -EINVAL;
		total += c->seg[i].len;
	}
	if (total < VSOCK_HDR_LEN)
		return -EINVAL;
	*space = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	return 0;
}

unsigned vsock_pkt_iov(const struct virtq_chain *c, uint32_t skip, uint32_t len,
		       struct iovec *iov, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->n && len && n < max; i++) {
		uint32_t sl = c->seg[i].len;

		if (skip >= sl) {
			skip -= sl;
			continue;
		}
		uint32_t take = sl - skip < len ? sl - skip : len;

		iov[n++] = (struct iovec){ (uint8_t *)c->seg[i].host + skip, take };
		len -= take;
		skip = 0;
	}
	return n;
}

void vsock_pkt_write(const struct virtq_chain *c, uint32_t off, const void *src, uint32_t len)
{
	struct iovec iov[VIRTQ_MAX_SEGS];
	unsigned n = vsock_pkt_iov(c, off, len, iov, VIRTQ_MAX_SEGS);
	const uint8_t *p = src;

	for (unsigned i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, p, iov[i].iov_len);
		p += iov[i].iov_len;
	}
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
	uint64_t v = 0;
	size_t i = 7, digits = 0;

	if (len < 1 || line[len - 1] != '\n')
		return -EINVAL;
	len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len < 9 || strncasecmp(line, "connect", 7) || !blank(line[7]))
		return -EINVAL;
	while (i < len && blank(line[i]))
		i++;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
		v = v * 10 + (uint64_t)(line[i] - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
	}
	while (i < len && blank(line[i]))
		i++;
	if (!digits || i != len)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

/*
 * netdelay QUEUE DELAY_MS SECONDS: hold every packet of netfilter queue
 * QUEUE for DELAY_MS milliseconds, then let it go on; stop after SECONDS
 * (or on SIGTERM / SIGINT), letting every packet still held go at once.
 *
 * The latency fault of tests/chaos/run: this kernel has no sch_netem, so
 * iptables rules (`-j NFQUEUE --queue-num QUEUE --queue-bypass`) on the
 * OUTPUT and INPUT chains of the faulted worker's network namespace hand
 * its packets to and from the stack to this program, run in that
 * namespace too (netfilter queues are per namespace), which gives each its
 * verdict DELAY_MS after it arrived. Packets of one queue come in order and
 * all wait the same time, so one batch verdict (every id up to the last
 * one due) lets them go in order. Only packet metadata is copied from the
 * kernel. The queue fails open: when it is full, packets pass undelayed.
 *
 * Speaks nfnetlink_queue over a raw netlink socket (no library needed);
 * needs CAP_NET_ADMIN. Prints what it held to stderr at the end. Exit 0,
 * 1 on a netlink error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QUEUE_MAXLEN 65536

typedef struct held_s {
	uint32_t id;     /* the kernel's packet id */
	int64_t due_ms;  /* when its verdict is due */
} held_t;

/* The packets held, a ring in arrival order. */
static held_t ring[QUEUE_MAXLEN];
static size_t head, count, most;
static uint64_t total;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A netlink message under construction. */
typedef struct msg_s {
	union {
		struct nlmsghdr nlh;
		char buf[256];
	} u;
} msg_t;

/* Start a queue message of \p type for \p queue in \p m. */
static void msg_init(msg_t *m, uint8_t type, uint16_t queue, uint16_t flags)
{
	struct nfgenmsg *g;

	memset(m, 0, sizeof(*m));
	m->u.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(*g));
	m->u.nlh.nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	m->u.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	g = NLMSG_DATA(&m->u.nlh);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(queue);
}

/* Append attribute \p type with \p len bytes of \p data to \p m. */
static void msg_put(msg_t *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->u.buf +
					     NLMSG_ALIGN(m->u.nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->u.nlh.nlmsg_len = NLMSG_ALIGN(m->u.nlh.nlmsg_len) +
			     NLA_ALIGN(a->nla_len);
}

static int msg_send(int fd, msg_t *m)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	if (sendto(fd, m, m->u.nlh.nlmsg_len, 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		fprintf(stderr, "netdelay: send: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Send \p m with an acknowledgement asked for, and wait for it. */
static int msg_call(int fd, msg_t *m, const char *what)
{
	char buf[4096];
	ssize_t n;

	m->u.nlh.nlmsg_flags |= NLM_F_ACK;
	if (msg_send(fd, m) < 0)
		return -1;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (e->error == 0)
				return 0;
			fprintf(stderr, "netdelay: %s: %s\n", what,
				strerror(-e->error));
			return -1;
		}
	}
	fprintf(stderr, "netdelay: %s: %s\n", what,
		n < 0 ? strerror(errno) : "no answer");
	return -1;
}

/* Bind \p queue, metadata only, fail-open, room for QUEUE_MAXLEN. */
static int bind_queue(int fd, uint16_t queue)
{
	struct nfqnl_msg_config_cmd cmd = { .command = NFQNL_CFG_CMD_BIND };
	struct nfqnl_msg_config_params params = {
		.copy_range = 0, .copy_mode = NFQNL_COPY_META
	};
	uint32_t maxlen = htonl(QUEUE_MAXLEN);
	uint32_t flags = htonl(NFQA_CFG_F_FAIL_OPEN);
	msg_t m;

	msg_init(&m, NFQNL_MSG_CONFIG, queue, 0);
	msg_put(&m, NFQA_CFG_CMD, &cmd, sizeof(cmd));
	if (msg_call(fd, &m, "bind") < 0)
		return -1;
	msg_init(&m, NFQNL_MSG_CONFIG, queue, 0);
	msg_put(&m, NFQA_CFG_PARAMS, &params, sizeof(params));
	msg_put(&m, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
	msg_put(&m, NFQA_CFG_FLAGS, &flags, sizeof(flags));
	msg_put(&m, NFQA_CFG_MASK, &flags, sizeof(flags));
	return msg_call(fd, &m, "configure");
}

/* Accept every packet up to and including \p id (one batch verdict). */
static int accept_upto(int fd, uint16_t queue, uint32_t id)
{
	struct nfqnl_msg_verdict_hdr v = {
		.verdict = htonl(NF_ACCEPT), .id = htonl(id)
	};
	msg_t m;

	msg_init(&m, NFQNL_MSG_VERDICT_BATCH, queue, 0);
	msg_put(&m, NFQA_VERDICT_HDR, &v, sizeof(v));
	return msg_send(fd, &m);
}

/* The packet id in one NFQNL_MSG_PACKET message; false when it has none. */
static int packet_id(struct nlmsghdr *h, uint32_t *id)
{
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(struct nfgenmsg));
	struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(h) +
					     NLMSG_ALIGN(sizeof(struct nfgenmsg)));

	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= len) {
		if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
			struct nfqnl_msg_packet_hdr *p =
				(void *)((char *)a + NLA_HDRLEN);
			*id = ntohl(p->packet_id);
			return 1;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/* Read every message waiting on \p fd into the ring, due \p delay_ms on. */
static int take(int fd, uint16_t queue, int64_t delay_ms)
{
	static char buf[1 << 16];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int64_t due = now_ms() + delay_ms;

		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			uint32_t id;

			if (h->nlmsg_type !=
				    ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) ||
			    !packet_id(h, &id))
				continue;
			if (count == QUEUE_MAXLEN) {
				/* cannot happen: the kernel holds at most as many */
				if (accept_upto(fd, queue, id) < 0)
					return -1;
				continue;
			}
			ring[(head + count++) % QUEUE_MAXLEN] =
				(held_t){ .id = id, .due_ms = due };
			total++;
			if (count > most)
				most = count;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ENOBUFS) {
		fprintf(stderr, "netdelay: recv: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Let go every packet due by \p now; all of them with \p all. */
static int release(int fd, uint16_t queue, int64_t now, int all)
{
	uint32_t last = 0;
	size_t n = 0;

	while (n < count &&
	       (all || ring[(head + n) % QUEUE_MAXLEN].due_ms <= now))
		last = ring[(head + n++) % QUEUE_MAXLEN].id;
	if (n == 0)
		return 0;
	head = (head + n) % QUEUE_MAXLEN;
	count -= n;
	return accept_upto(fd, queue, last);
}

static int usage(void)
{
	fprintf(stderr, "usage: netdelay QUEUE DELAY_MS SECONDS\n");
	return 2;
}

/* A whole number in [min, max] from \p s, or -1. */
static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl self = { .nl_family = AF_NETLINK };
	long queue, delay, seconds;
	int fd, one = 1, rcvbuf = 16 << 20, rc = 0;
	int64_t end;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: netdelay QUEUE DELAY_MS SECONDS\n"
		       "Hold each packet of netfilter queue QUEUE for DELAY_MS ms "
		       "for SECONDS s.\n");
		return 0;
	}
	if (argc != 4 || (queue = number(argv[1], 0, 65535)) < 0 ||
	    (delay = number(argv[2], 0, 60000)) < 0 ||
	    (seconds = number(argv[3], 1, 86400)) < 0)
		return usage();

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0 || bind(fd, (struct sockaddr *)&self, sizeof(self)) < 0) {
		fprintf(stderr, "netdelay: netlink socket: %s\n", strerror(errno));
		return 1;
	}
	/* a burst of packets must not overflow the socket: as root, force */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	if (bind_queue(fd, (uint16_t)queue) < 0) {
		close(fd);
		return 1;
	}
	/* tests/chaos/run adds its rule once it reads this */
	fprintf(stderr, "netdelay: queue %ld bound\n", queue);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	end = now_ms() + seconds * 1000;
	while (!stop) {
		int64_t now = now_ms(), wait;
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (now >= end)
			break;
		wait = end - now;
		if (count && ring[head].due_ms - now < wait)
			wait = ring[head].due_ms - now;
		if (wait < 0)
			wait = 0;
		if (poll(&p, 1, (int)wait) < 0 && errno != EINTR) {
			rc = 1;
			break;
		}
		if ((p.revents & POLLIN) && take(fd, (uint16_t)queue, delay) < 0) {
			rc = 1;
			break;
		}
		if (release(fd, (uint16_t)queue, now_ms(), 0) < 0) {
			rc = 1;
			break;
		}
	}
	/* what is still in the socket would be dropped with the queue */
	if (take(fd, (uint16_t)queue, 0) < 0 ||
	    release(fd, (uint16_t)queue, 0, 1) < 0)
		rc = 1;
	fprintf(stderr, "netdelay: queue %ld: held %" PRIu64
		" packets %ld ms each, at most %zu at once\n",
		queue, total, delay, most);
	close(fd);
	return rc;
}

#include <string.h>

#include <rte_malloc.h>

#include "emse/net/forward.h"

int emse_fwd_init(struct emse_fwd *f, uint16_t base, uint16_t count, int socket)
{
	memset(f, 0, sizeof(*f));
	f->base = base;
	f->count = count;
	if (!count)
		return 0;
	f->sess = rte_malloc_socket("emse_fwd", sizeof(*f->sess) * count, 64, socket);
	f->free = rte_malloc_socket("emse_fwd", sizeof(*f->free) * count, 64, socket);
	if (!f->sess || !f->free) {
		emse_fwd_fini(f);
		return -1;
	}
	for (uint16_t i = 0; i < count; i++) {
		f->sess[i] = EMSE_FWD_NONE;
		f->free[i] = (uint16_t)(count - 1 - i);
	}
	f->n_free = count;
	return 0;
}

void emse_fwd_fini(struct emse_fwd *f)
{
	rte_free(f->sess);
	rte_free(f->free);
	memset(f, 0, sizeof(*f));
}

uint16_t emse_fwd_port_alloc(struct emse_fwd *f, uint32_t idx)
{
	if (!f->n_free)
		return 0;
	uint16_t off = f->free[--f->n_free];
	f->sess[off] = idx;
	return (uint16_t)(f->base + off);
}

void emse_fwd_port_free(struct emse_fwd *f, uint16_t port)
{
	if (port < f->base || port - f->base >= f->count)
		return;
	uint16_t off = (uint16_t)(port - f->base);
	if (f->sess[off] == EMSE_FWD_NONE)
		return;
	f->sess[off] = EMSE_FWD_NONE;
	f->free[f->n_free++] = off;
}

uint32_t emse_fwd_port_session(const struct emse_fwd *f, uint16_t port)
{
	if (!f->count || port < f->base || port - f->base >= f->count)
		return EMSE_FWD_NONE;
	return f->sess[port - f->base];
}

unsigned emse_fwd_port_owner(uint16_t port, uint16_t first, uint16_t total, unsigned n_workers)
{
	uint16_t per = (uint16_t)(total / n_workers);
	if (!per || port < first)
		return 0;
	unsigned w = (unsigned)(port - first) / per;
	return w < n_workers ? w : n_workers - 1;
}

bool emse_neigh_learn(struct emse_fwd *f, const struct emse_addr *a, const uint8_t mac[6])
{
	for (int i = 0; i < EMSE_NEIGH_MAX; i++) {
		if (f->neigh[i].valid && emse_addr_eq(&f->neigh[i].addr, a)) {
			memcpy(f->neigh[i].mac, mac, 6);
			return true;
		}
	}
	/* Only addresses we asked for (an entry with asked_at) are learnt; any other ARP / ND
	 * sender is not a backend, and a table anyone can fill would evict the ones we need. */
	for (int i = 0; i < EMSE_NEIGH_MAX; i++)
		if (!f->neigh[i].valid && f->neigh[i].asked_at &&
		    emse_addr_eq(&f->neigh[i].addr, a)) {
			memcpy(f->neigh[i].mac, mac, 6);
			f->neigh[i].valid = true;
			return true;
		}
	return false;
}

bool emse_neigh_lookup(struct emse_fwd *f, const struct emse_addr *a, uint8_t mac[6],
		       uint64_t now, uint64_t hz, bool *ask)
{
	struct emse_neigh *free_slot = NULL;
	*ask = false;
	for (int i = 0; i < EMSE_NEIGH_MAX; i++) {
		struct emse_neigh *n = &f->neigh[i];
		if (n->addr.family && emse_addr_eq(&n->addr, a)) {
			if (n->valid) {
				memcpy(mac, n->mac, 6);
				return true;
			}
			if (now - n->asked_at >= hz / 10) {
				n->asked_at = now ? now : 1;
				*ask = true;
			}
			return false;
		}
		if (!n->addr.family && !free_slot)
			free_slot = n;
	}
	if (free_slot) {
		free_slot->addr = *a;
		free_slot->asked_at = now ? now : 1;
		*ask = true;
	}
	return false;
}

uint16_t emse_arp_request(uint8_t *fr, const uint8_t our_mac[6], const uint8_t sender_ip[4],
			  const uint8_t target_ip[4])
{
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 }; /* Ethernet, IPv4, request */
	memset(fr, 0xff, 6);
	memcpy(fr + 6, our_mac, 6);
	fr[12] = 0x08, fr[13] = 0x06;
	memcpy(fr + 14, hdr, 8);
	memcpy(fr + 22, our_mac, 6);
	memcpy(fr + 28, sender_ip, 4);
	memset(fr + 32, 0, 6);
	memcpy(fr + 38, target_ip, 4);
	return 42;
}

uint16_t emse_ns_request(uint8_t *fr, const uint8_t our_mac[6], const uint8_t sender_ip[16],
			 const uint8_t target_ip[16])
{
	/* ff02::1:ff00:0/104 + the target's last 24 bits (RFC 4291 2.7.1); its MAC, RFC 2464 7 */
	static const uint8_t snm[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	uint8_t *ip = fr + 14, *icmp = ip + 40;
	fr[0] = 0x33, fr[1] = 0x33, fr[2] = 0xff;
	memcpy(fr + 3, target_ip + 13, 3);
	memcpy(fr + 6, our_mac, 6);
	fr[12] = 0x86, fr[13] = 0xdd;
	memset(ip, 0, EMSE_NS_LEN - 14);
	ip[0] = 0x60;
	ip[5] = 32;  /* payload: the NS (24) and its option (8) */
	ip[6] = 58;  /* ICMPv6 */
	ip[7] = 255; /* RFC 4861 7.1.1: the target ignores an NS with any other hop limit */
	memcpy(ip + 8, sender_ip, 16);
	memcpy(ip + 24, snm, 13);
	memcpy(ip + 37, target_ip + 13, 3);
	icmp[0] = 135;
	memcpy(icmp + 8, target_ip, 16);
	icmp[24] = 1; /* source link-layer address, 8 octets */
	icmp[25] = 1;
	memcpy(icmp + 26, our_mac, 6);
	struct emse_addr s = { .family = 6 }, d = { .family = 6 };
	memcpy(s.a, ip + 8, 16);
	memcpy(d.a, ip + 24, 16);
	uint16_t c = emse_icmp6_csum(&s, &d, icmp, 32);
	icmp[2] = (uint8_t)(c >> 8), icmp[3] = (uint8_t)c;
	return EMSE_NS_LEN;
}

uint16_t emse_neigh_request(uint8_t *frame, const uint8_t our_mac[6],
			    const struct emse_addr *sender, const struct emse_addr *target)
{
	if (target->family == 6)
		return emse_ns_request(frame, our_mac, sender->a, target->a);
	return emse_arp_request(frame, our_mac, sender->a, target->a);
}

bool emse_arp_sender(const struct emse_iface *ifc, const uint8_t *fr, uint16_t len,
		     struct emse_addr *a, uint8_t mac[6])
{
	if (len < 42 || fr[12] != 0x08 || fr[13] != 0x06 || fr[14] != 0 || fr[15] != 1 ||
	    fr[16] != 8 || fr[17] != 0 || fr[18] != 6 || fr[19] != 4 || fr[20] != 0 ||
	    (fr[21] != 1 && fr[21] != 2))
		return false;
	bool ours = false;
	for (unsigned i = 0; i < ifc->n4; i++)
		ours |= !memcmp(ifc->ip4[i], fr + 38, 4);
	if (!ours || (fr[22] & 1))
		return false;
	memset(a, 0, sizeof(*a));
	a->family = 4;
	memcpy(a->a, fr + 28, 4);
	memcpy(mac, fr + 22, 6);
	return true;
}

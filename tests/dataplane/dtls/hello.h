/* A ClientHello builder shared by test_hs12.c and test_hs12_cid.c. */
#ifndef TESTS_DATAPLANE_HELLO_H
#define TESTS_DATAPLANE_HELLO_H

#include <stdint.h>
#include <string.h>

/* Hand-made ClientHellos for hs12.c tests (record seq 1, message_seq 1, CCM-8 offered, a 1-byte
 * cookie): extension blocks that do not add up, a renegotiation attempt, a connection_id offer. */
static inline size_t make_ch(uint8_t *b, const uint8_t *ext, size_t elen, int with_ext_block)
{
	size_t body = 2 + 32 + 1 + 2 + 4 + 2 + (with_ext_block ? 2 + elen : 0);
	uint8_t *p = b;
	const uint8_t rh[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1};
	memcpy(p, rh, sizeof(rh));
	p += sizeof(rh);
	*p++ = (uint8_t)((12 + body) >> 8);
	*p++ = (uint8_t)(12 + body);
	const uint8_t hh[] = {1, 0, (uint8_t)(body >> 8), (uint8_t)body, 0, 1, 0, 0, 0, 0,
			      (uint8_t)(body >> 8), (uint8_t)body};
	memcpy(p, hh, sizeof(hh));
	p += sizeof(hh);
	*p++ = 0xfe;
	*p++ = 0xfd;
	memset(p, 0x5a, 32);
	p += 32;
	*p++ = 0; /* session id */
	*p++ = 1; /* cookie */
	*p++ = 0xcc;
	*p++ = 0;
	*p++ = 2;
	*p++ = 0xc0;
	*p++ = 0xa8;
	*p++ = 1;
	*p++ = 0;
	if (with_ext_block) {
		*p++ = (uint8_t)(elen >> 8);
		*p++ = (uint8_t)elen;
		if (elen)
			memcpy(p, ext, elen);
		p += elen;
	}
	return (size_t)(p - b);
}

#endif

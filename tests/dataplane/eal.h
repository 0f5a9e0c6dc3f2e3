/* Test helper (header-only): a small EAL without hugepages or PCI for the dataplane tests that
 * need DPDK memory (rte_hash, rte_malloc), as a cmocka group set-up / tear-down. */
#ifndef EMSE_TEST_DATAPLANE_EAL_H
#define EMSE_TEST_DATAPLANE_EAL_H

#include <rte_eal.h>

static int eal_up(void **state)
{
	(void)state;
	char *argv[] = { "test", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
			 "--log-level=lib.eal:error", "-l", "0" };
	return rte_eal_init(9, argv) < 0 ? -1 : 0;
}

static int eal_down(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

#endif

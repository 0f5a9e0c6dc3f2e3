/* Test helper (header-only): a small EAL without hugepages or PCI for the dataplane tests that
 * need DPDK memory (rte_hash, rte_malloc), as a cmocka group set-up / tear-down. */
#ifndef EMSE_TEST_DATAPLANE_EAL_H
#define EMSE_TEST_DATAPLANE_EAL_H

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

#include "../eal_cleanup.h"

static int eal_up(void **state)
{
	(void)state;
	/* our own runtime directory (even --no-shconf makes one), removed by eal_down */
	static char prefix[40];
	snprintf(prefix, sizeof(prefix), "emse-test-%d", (int)getpid());
	char *argv[] = { "test", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
			 "--file-prefix", prefix, "--log-level=lib.eal:error", "-l", "0" };
	return rte_eal_init(11, argv) < 0 ? -1 : 0;
}

static int eal_down(void **state)
{
	(void)state;
	eal_cleanup_all();
	return 0;
}

#endif

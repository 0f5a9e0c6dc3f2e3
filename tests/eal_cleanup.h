/* Test helper (header-only): EAL leaves its runtime directory behind (one per --file-prefix);
 * the control and dataplane tests remove theirs when they end. */
#ifndef EMSE_TEST_EAL_CLEANUP_H
#define EMSE_TEST_EAL_CLEANUP_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

static void eal_cleanup_all(void)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char f[PATH_MAX + 256];
		snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
		unlink(f);
	}
	closedir(d);
	rmdir(dir);
}

#endif

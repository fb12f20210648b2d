/* backend.c - the registry of event sources. See backend.h. */
#include "config.h"

#include <string.h>

#include "backend/backend.h"
#include "base/util.h"

static const struct backend_ops *const all[] = { &backend_breakpoint, &backend_agent, &backend_replay };

const struct backend_ops *backend_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

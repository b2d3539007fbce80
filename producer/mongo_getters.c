/* mongo_getters.c - the application's own APM context, kept intact.
 *
 * libmongoc hands every callback the context its callbacks were set with,
 * which for an instrumented client or pool is our ctx. So that the
 * application's callbacks still get their own context back, these getters
 * interpose libmongoc's (in the application when it links libringmon.a, and
 * in the preload library): our ctx becomes the application's, any other
 * pointer passes unchanged. */
#include "mongo_internal.h"

#define GETTER(id, name)                                                           \
	EXPORT void *mongoc_apm_##name##_get_context(const mongoc_apm_##name##_t *e)       \
	{                                                                          \
		if (mongo_real_init() != 0)                                        \
			return NULL;                                               \
		return mongo_ctx_app_context(mongo_real.get_context[id](e));       \
	}
MONGO_APM_EVENTS(GETTER)
#undef GETTER

/* mongo_getters.c - the application's own APM context, kept intact.
 *
 * libmongoc hands every callback the context its callbacks were set with,
 * which for an instrumented client or pool is our ctx. So that the
 * application's callbacks still get their own context back, these getters
 * interpose libmongoc's: our ctx becomes the application's, any other pointer
 * passes unchanged. They are linked into libringmon-mongoc (so, for an
 * application that links it before libmongoc, or statically) and into
 * libringmon-preload (which comes before every library of the program). The
 * lookup itself is ringmon_mongoc__get_context, in the adapter. Whether the
 * application really calls these rather than libmongoc's is checked when it
 * gives its callbacks (mongo_app_getters_check). */
#include "mongo_internal.h"

#define GETTER(id, name)                                                           \
	EXPORT void *mongoc_apm_##name##_get_context(const mongoc_apm_##name##_t *e)       \
	{                                                                          \
		return ringmon_mongoc__get_context(id, e);                         \
	}
MONGO_APM_EVENTS(GETTER)
#undef GETTER

/* mongo_internal.h - shared state of the MongoDB adapter (mongo_*.c). Not installed.
 *
 * The adapter never calls the libmongoc functions that the preload library
 * interposes by their names: inside libringmon-preload.so those names bind to
 * the preload's own wrappers. It calls them through mongo_real instead, which
 * mongo_real_init() fills from libmongoc itself. */
#ifndef RINGMON_MONGO_INTERNAL_H
#define RINGMON_MONGO_INTERNAL_H

#include <stdint.h>

#include <mongoc/mongoc.h>

#define EXPORT __attribute__((visibility("default")))

#if MONGOC_MAJOR_VERSION != 1
#error "the ringmon MongoDB adapter knows libmongoc 1.x only"
#endif

/* The libmongoc functions the adapter calls and the preload interposes. */
struct mongo_real {
	bool (*client_set_apm)(mongoc_client_t *, mongoc_apm_callbacks_t *, void *);
	bool (*pool_set_apm)(mongoc_client_pool_t *, mongoc_apm_callbacks_t *, void *);
	mongoc_client_t *(*pool_pop)(mongoc_client_pool_t *);
	mongoc_client_t *(*pool_try_pop)(mongoc_client_pool_t *);
	void (*pool_push)(mongoc_client_pool_t *, mongoc_client_t *);
	void (*client_destroy)(mongoc_client_t *);
	void (*pool_destroy)(mongoc_client_pool_t *);
	void *(*get_context[12])(const void *event);
};
extern struct mongo_real mongo_real;
/* Fills mongo_real once (thread-safe). Returns 0 or -ENOSYS when libmongoc's
 * own symbols cannot be found. */
int mongo_real_init(void);
/* Looks a libmongoc symbol up past any interposer (RTLD_NEXT, then
 * libmongoc's own handle). NULL if absent. */
void *mongo_real_sym(const char *name);

/* The 12 application callbacks, in libmongoc 1.x's private order of
 * struct _mongoc_apm_callbacks_t (checked at start by mongo_real_init). */
enum {
	CB_CMD_STARTED, CB_CMD_SUCCEEDED, CB_CMD_FAILED,
	CB_SRV_CHANGED, CB_SRV_OPENING, CB_SRV_CLOSED,
	CB_TOP_CHANGED, CB_TOP_OPENING, CB_TOP_CLOSED,
	CB_HB_STARTED, CB_HB_SUCCEEDED, CB_HB_FAILED,
	CB_COUNT
};
struct mongo_app_cbs {
	void (*fn[CB_COUNT])(const void *event);
};

enum mongo_kind { MONGO_FREE = 0, MONGO_CLIENT = 1, MONGO_POOL = 2 };

/* What libmongoc gets as the APM context of an instrumented client or pool.
 * Lives in a static arena and is recycled, never freed, so that callbacks
 * and context lookups never touch freed memory. */
struct mongo_ctx {
	uint32_t magic;
	int kind;           /* enum mongo_kind, atomic (FREE = slot reusable) */
	void *target;       /* the client or pool; atomic */
	struct mongo_app_cbs app; /* set before the first event can fire */
	void *app_ctx;
	int app_set;        /* the application's own callbacks were given */
	int pool_id;        /* small number, stable for the pool's life */
	int in_use;         /* pool: clients popped and not pushed back (atomic) */
	int popped;         /* pool: popped at least once (atomic) */
	int armed;          /* pool: our callbacks are set (else only tracked) */
};
#define MONGO_CTX_MAGIC 0x6d6f6e67u /* "mong" */

/* Finds a live ctx of target (client or pool), NULL if none. Lock-free. */
struct mongo_ctx *mongo_ctx_find(const void *target);
/* Takes a free slot for target; NULL when the arena is full. */
struct mongo_ctx *mongo_ctx_new(void *target, int kind);
/* Gives the slot back (the client or pool is gone). */
void mongo_ctx_release(struct mongo_ctx *c);
/* 1 if p points at a ctx slot of the arena. */
int mongo_ctx_is_ours(const void *p);

/* Keeps the application's callbacks in c and sets ringmon's on target, c's
 * client or pool. 0, -ENOMEM, or refused when libmongoc refuses them (c is
 * then left with no application callbacks). */
int mongo_ctx_arm(struct mongo_ctx *c, void *target, const mongoc_apm_callbacks_t *app_cbs,
		  void *app_ctx, int refused);
/* Registers the types (once) and reads the layout check. 0 or -errno. */
int mongo_apm_setup(void);
/* Our callbacks, chaining c's application callbacks. Caller destroys. */
mongoc_apm_callbacks_t *mongo_apm_callbacks(void);
/* Copies the application's callbacks out of an opaque callbacks object. */
void mongo_app_cbs_copy(struct mongo_app_cbs *dst, const mongoc_apm_callbacks_t *src);

/* pool.checkout / pool.checkin records; in_use already updated.
 * outcome: 0 ok, 1 timed out (pop returned NULL), 2 empty (try_pop). */
void mongo_pool_checkout(struct mongo_ctx *c, uint64_t wait_ns, int outcome, int blocking);
void mongo_pool_checkin(struct mongo_ctx *c);
/* The ctx of pool, made (tracking only, not armed) if it has none. */
struct mongo_ctx *mongo_pool_ctx(mongoc_client_pool_t *pool);

#endif

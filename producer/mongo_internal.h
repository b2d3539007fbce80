/* mongo_internal.h - shared state of the MongoDB adapter (mongo_*.c). Not installed.
 *
 * The adapter never calls the libmongoc functions that the preload library
 * interposes by their names: inside libringmon-preload.so those names bind to
 * the preload's own wrappers. It calls them through mongo_real instead, which
 * mongo_real_init() fills from libmongoc itself. */
#ifndef RINGMON_MONGO_INTERNAL_H
#define RINGMON_MONGO_INTERNAL_H

#include <stdint.h>
#include <time.h>

/* see ringmon_mongoc.h: strict C11 has not declared struct addrinfo */
struct addrinfo;
#include <mongoc/mongoc.h>
#include <ringmon/ringmon.h>

#define EXPORT __attribute__((visibility("default")))

#if MONGOC_MAJOR_VERSION != 1
#error "the ringmon MongoDB adapter knows libmongoc 1.x only"
#endif

/* The 12 APM events, listed once, in libmongoc 1.x's private order of
 * struct _mongoc_apm_callbacks_t (checked at start by mongo_apm_setup):
 * X(index, libmongoc's name of the event). The name gives the event type
 * mongoc_apm_NAME_t, the setter mongoc_apm_set_NAME_cb, the getter
 * mongoc_apm_NAME_get_context and ringmon's callback mongo_on_NAME. */
#define MONGO_APM_EVENTS(X)                                                  \
	X(CB_CMD_STARTED, command_started)                                   \
	X(CB_CMD_SUCCEEDED, command_succeeded)                               \
	X(CB_CMD_FAILED, command_failed)                                     \
	X(CB_SRV_CHANGED, server_changed)                                    \
	X(CB_SRV_OPENING, server_opening)                                    \
	X(CB_SRV_CLOSED, server_closed)                                      \
	X(CB_TOP_CHANGED, topology_changed)                                  \
	X(CB_TOP_OPENING, topology_opening)                                  \
	X(CB_TOP_CLOSED, topology_closed)                                    \
	X(CB_HB_STARTED, server_heartbeat_started)                           \
	X(CB_HB_SUCCEEDED, server_heartbeat_succeeded)                       \
	X(CB_HB_FAILED, server_heartbeat_failed)

#define MONGO_CB_INDEX(id, name) id,
enum { MONGO_APM_EVENTS(MONGO_CB_INDEX) CB_COUNT };
#undef MONGO_CB_INDEX

/* ringmon's callbacks (mongo_command.c, mongo_sdam.c): record the event, then
 * chain the application's callback of the same event. */
#define MONGO_CB_DECLARE(id, name) void mongo_on_##name(const mongoc_apm_##name##_t *e);
MONGO_APM_EVENTS(MONGO_CB_DECLARE)
#undef MONGO_CB_DECLARE

/* ---- mongo_real.c: libmongoc's own functions ---- */

/* The libmongoc functions the adapter calls and the preload interposes. */
struct mongo_real {
	bool (*client_set_apm)(mongoc_client_t *, mongoc_apm_callbacks_t *, void *);
	bool (*pool_set_apm)(mongoc_client_pool_t *, mongoc_apm_callbacks_t *, void *);
	mongoc_client_t *(*pool_pop)(mongoc_client_pool_t *);
	mongoc_client_t *(*pool_try_pop)(mongoc_client_pool_t *);
	void (*pool_push)(mongoc_client_pool_t *, mongoc_client_t *);
	void (*client_destroy)(mongoc_client_t *);
	void (*pool_destroy)(mongoc_client_pool_t *);
	void *(*get_context[CB_COUNT])(const void *event);
	/* libmongoc 1.x's internal setter of one client's callbacks, exported by
	 * 1.23; optional (NULL: a pool's late set cannot be followed exactly) */
	bool (*client_set_apm_private)(mongoc_client_t *, mongoc_apm_callbacks_t *, void *);
};
extern struct mongo_real mongo_real;
/* Fills mongo_real once (thread-safe). Returns 0 or -ENOSYS when libmongoc's
 * own symbols cannot be found. */
int mongo_real_init(void);
/* Looks a libmongoc symbol up past any interposer (RTLD_NEXT, then
 * libmongoc's own handle). NULL if absent. */
void *mongo_real_sym(const char *name);
/* "mongoc_apm_command_started_get_context", ... by CB_* index. */
extern const char *const mongo_getter_name[];

struct mongo_app_cbs {
	void (*fn[CB_COUNT])(const void *event);
};

/* MONGO_POOL_LATE: the context of a pool's clients made after the
 * application set the pool's callbacks late (after the first pop). */
enum mongo_kind { MONGO_FREE = 0, MONGO_CLIENT = 1, MONGO_POOL = 2, MONGO_POOL_LATE = 3 };

/* A pool's clients seen so far (popped through ringmon), to tell a client made
 * before the application's late set of the pool's callbacks from one made
 * after. Open addressing, insert-only, lock-free. */
#define MONGO_POOL_CLIENTS 512

struct mongo_late_hosts; /* mongo_pool.c */

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
	int by_preload;     /* pool: armed by the preload; the application's one
			     * set (or ringmon_mongoc_pool call) is still to come */
	int pool_id;        /* small number, stable for the pool's life */
	int in_use;         /* pool: clients popped and not pushed back (atomic) */
	int popped;         /* pool: popped at least once (atomic) */
	int armed;          /* pool: our callbacks are set (else only tracked) */
	void **clients;     /* pool: MONGO_POOL_CLIENTS slots (atomic), or NULL */
	int clients_full;   /* pool: a client found no slot (atomic) */
	struct mongo_ctx *late; /* pool: ctx of clients made after a late set (atomic) */
	struct mongo_late_hosts *hosts; /* late: servers opened after the set, or NULL */
} __attribute__((aligned(256))); /* a power of two: mongo_ctx_is_ours() masks, not divides */
#define MONGO_CTX_MAGIC 0x6d6f6e67u /* "mong" */

/* ---- mongo_ctx.c: contexts ---- */

/* Finds a live ctx of target (client or pool; never a MONGO_POOL_LATE), NULL
 * if none. Lock-free. */
struct mongo_ctx *mongo_ctx_find(const void *target);
/* Takes a free slot for target; NULL when the arena is full. */
struct mongo_ctx *mongo_ctx_new(void *target, int kind);
/* Gives the slot back (the client or pool is gone). */
void mongo_ctx_release(struct mongo_ctx *c);
/* The slots (mongo_ctx.c's; declared here so that the check below inlines
 * into every callback). */
#define MONGO_CTX_ARENA 1024
extern struct mongo_ctx mongo_ctx_arena[MONGO_CTX_ARENA];
/* 1 if p points at a ctx slot of the arena. */
static inline int mongo_ctx_is_ours(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)&mongo_ctx_arena[0],
		  hi = (uintptr_t)&mongo_ctx_arena[MONGO_CTX_ARENA];
	_Static_assert((sizeof(struct mongo_ctx) & (sizeof(struct mongo_ctx) - 1)) == 0,
		       "struct mongo_ctx: a power-of-two size");
	return a >= lo && a < hi && ((a - lo) & (sizeof(struct mongo_ctx) - 1)) == 0;
}
/* The application's context for a context libmongoc hands out: the app_ctx of
 * one of ours, any other pointer unchanged. */
void *mongo_ctx_app_context(void *p);

/* The ctx an event was delivered with (libmongoc's own getter, never ours). */
#define MONGO_EVENT_CTX(i, e) ((struct mongo_ctx *)mongo_real.get_context[i](e))
/* Calls the application's callback i of c, if it gave one, with event e. */
static inline void mongo_chain(const struct mongo_ctx *c, int i, const void *e)
{
	if (c->app.fn[i])
		c->app.fn[i](e);
}

/* ---- mongo_callbacks.c: the callback table, its layout check, arming ---- */


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

/* ---- mongo_command.c ---- */

/* 1 when a top-level key of the BSON document d (len bytes) is writeErrors
 * or writeConcernError; 0 otherwise and for a malformed document. Walks the
 * bytes without libbson (this runs on every succeeded reply). */
int mongo_reply_has_write_errors(const uint8_t *d, size_t len);

/* ---- mongo_types.c: ringmon types of the events, key ids ---- */

/* Type ids, registered once by mongo_apm_setup. */
struct mongo_types {
	int cmd_started, cmd_succeeded, cmd_failed, cmd_write_error, cmd_ns, cmd_error;
	int srv_opening, srv_changed, srv_closed;
	int top_opening, top_changed, top_closed;
	int hb_started, hb_succeeded, hb_failed;
	int pool_checkout, pool_checkin;
	int cmd_target; /* opt-in: off unless RINGMON_EVENTS names it */
	int target_overflow[2]; /* its keys "0.0.0.0" and "1.0.0.0", by status */
	uint64_t registered_ns; /* ringmon_now_ns() when registered: before any
				 * instrumented client or pool ran a command or check */
};
extern struct mongo_types mongo_type;
/* Registers every type into mongo_type. */
void mongo_types_register(void);
/* Key id of s under type, from a per-thread cache; ringmon_key() only on a
 * miss. No lock, no allocation after a thread's first use. */
int mongo_key_of(int type, const char *s);

static inline int64_t mongo_port_of(const mongoc_host_list_t *h)
{
	return h ? (int64_t)h->port : 0;
}

static inline const char *mongo_host_of(const mongoc_host_list_t *h)
{
	return h ? h->host_and_port : NULL;
}

/* ---- mongo_clock.c: libmongoc's clock reads time the command events ---- */

/* This thread's newest read of libmongoc's clock through
 * ringmon_mongoc__monotonic_time: its ns, the count of such reads, and the
 * count when a command event last took one. */
struct mongo_clock {
	uint64_t ns, reads, taken;
};
extern __thread struct mongo_clock mongo_clock;

/* The time of the command event being delivered now, in ns of
 * CLOCK_MONOTONIC (ringmon_now_ns): libmongoc's newest clock read on this
 * thread if it read the clock since the previous event took a read
 * (*libmongoc = 1; for a started event, its read of the command's start;
 * for a succeeded or failed one, the read its duration ends with), else a
 * read of our own (*libmongoc = 0). */
static inline uint64_t mongo_clock_event(int *libmongoc)
{
	struct mongo_clock *c = &mongo_clock;
	__asm__("" : "+r"(c)); /* its address once: each one is a __tls_get_addr call */
	if (c->reads != c->taken) {
		c->taken = c->reads;
		*libmongoc = 1;
		return c->ns;
	}
	*libmongoc = 0;
	return ringmon_now_ns();
}

/* ---- mongo_pool.c ---- */

/* A pool's servers opened after the application's late set: with a pool's
 * late set, libmongoc calls the application's heartbeat callbacks for these
 * only (see mongo_pool.c). Called from the server opening and closed
 * callbacks of c (opened 1 / 0); no-op without a late set. */
void mongo_pool_late_server(struct mongo_ctx *c, const mongoc_host_list_t *h, int opened);
/* 1 if the application's heartbeat callbacks of c see a heartbeat of h:
 * always without a late set, else only for a server opened after it. */
int mongo_pool_late_heartbeat(struct mongo_ctx *c, const mongoc_host_list_t *h);

/* After a successful pop of client from c's pool: remembers the client, and
 * gives one made after a late set of the application's callbacks the
 * application's callbacks, as libmongoc would have. */
void mongo_pool_note_client(struct mongo_ctx *c, mongoc_client_t *client);

/* pool.checkout / pool.checkin records; in_use already updated.
 * outcome: 0 ok, 1 timed out (pop returned NULL), 2 empty (try_pop). */
void mongo_pool_checkout(struct mongo_ctx *c, uint64_t wait_ns, int outcome, int blocking);
void mongo_pool_checkin(struct mongo_ctx *c);
/* The ctx of pool, made (tracking only, not armed) if it has none. */
struct mongo_ctx *mongo_pool_ctx(mongoc_client_pool_t *pool);

/* ---- exported for libringmon-preload.so only (not a stable API) ---- */

/* The application's context of APM event e of kind event (CB_*): what the
 * interposed getters return. */
void *ringmon_mongoc__get_context(int event, const void *e);
/* Instruments a pool the program just made, as ringmon_mongoc_pool(pool,
 * NULL, NULL), leaving the application its one set of the pool's callbacks:
 * through mongoc_client_pool_set_apm_callbacks or, in a program written for
 * the adapter, its own ringmon_mongoc_pool() call. */
int ringmon_mongoc__pool_preload(mongoc_client_pool_t *pool);
/* The adapter's bson_get_monotonic_time() (mongo_clock.c), which the
 * preload's own calls once the adapter is loaded. */
int64_t ringmon_mongoc__monotonic_time(void);
/* What libbson's bson_get_monotonic_time() returns for a CLOCK_MONOTONIC read
 * ts (bson-clock.c): whole microseconds. */
static inline int64_t mongo_bson_us(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
}
/* mongo_real_sym, for the preload. */
void *ringmon_mongoc__real_sym(const char *name);
/* What mongoc_client_set_apm_callbacks and mongoc_client_pool_set_apm_callbacks
 * return and do under the preload: exactly what libmongoc would without
 * ringmon, ringmon's own callbacks kept. */
bool ringmon_mongoc__client_set_apm(mongoc_client_t *client, mongoc_apm_callbacks_t *callbacks,
				    void *context);
bool ringmon_mongoc__pool_set_apm(mongoc_client_pool_t *pool, mongoc_apm_callbacks_t *callbacks,
				  void *context);

/* ---- mongo_callbacks.c ---- */

/* 0 if the application's callbacks in app_cbs (NULL: none) will get their own
 * context from mongoc_apm_*_get_context, i.e. the getters the process
 * resolves are ringmon's; else -ELIBBAD, said once on stderr. */
int mongo_app_getters_check(const mongoc_apm_callbacks_t *app_cbs);

#endif

/* registry.c - type and key registration (names to small ids, in the segment's
 * tables and an in-process lock-free hash for lookups), and event sets. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-bp.h>

#include <ringmon/ringmon.h>
#include "producer.h"

static void copy_name(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	memset(dst + n, 0, cap - n);
}

/* A free key slot, or 0 when the table is full: a name (flags 0) never takes
 * the last 2 slots per type not registered yet (TYPE_KEY_SLOTS), so every type
 * gets its "other" and keyless keys. Called with producer.lock held. */
static uint32_t new_key(uint32_t type, const char *name, uint16_t flags)
{
	struct rb_header *h = producer_header();
	uint32_t room = producer.seg->g.max_keys;
	uint32_t kept = flags ? 0 : 2u * (RB_MAX_TYPES - 1u - h->ntypes);
	if (h->nkeys + kept >= room)
		return 0;
	uint32_t id = h->nkeys;
	struct rb_key *k = &rb_seg_keys(producer.seg)[id];
	k->type = (uint16_t)type;
	k->flags = flags;
	copy_name(k->name, name, sizeof(k->name));
	/* pairs with the acquire load of state in rb_view_key */
	__atomic_store_n(&k->state, RB_SLOT_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&h->nkeys, id + 1, __ATOMIC_RELEASE);
	return id;
}

EXPORT int ringmon_type_register(const char *name, const char *const *field_names,
				 unsigned nfields)
{
	if (!name || !*name)
		return RINGMON_TYPE_NONE;
	int id = RINGMON_TYPE_NONE;
	pthread_mutex_lock(&producer.lock);
	if (producer_ensure_open() != 0)
		goto out;
	struct rb_header *h = producer_header();
	struct rb_type *types = rb_seg_types(producer.seg);
	char cut[RB_NAME_LEN];
	copy_name(cut, name, sizeof(cut));
	for (uint32_t i = 0; i < h->ntypes; i++)
		if (strcmp(types[i].name, cut) == 0) {
			id = (int)i;
			goto out;
		}
	if (h->ntypes >= RINGMON_MAX_TYPES) {
		static int told_full;
		if (!told_full++)
			producer_warn("cannot register event type '%s': this process has %d types "
				      "already, the most a segment holds; its events (and those of "
				      "any later new type) are not recorded", cut, RINGMON_MAX_TYPES);
		goto out;
	}
	uint32_t t = h->ntypes;
	struct rb_type *ty = &types[t];
	memcpy(ty->name, cut, sizeof(cut));
	if (strlen(name) >= sizeof(cut))
		producer_warn("event type name '%s' is longer than %u bytes: registered as '%s'",
			      name, RB_NAME_LEN - 1, cut);
	if (nfields > RB_NFIELDS) {
		producer_warn("event type '%s' has %u fields, a record holds %u: fields %u to %u "
			      "(from '%s') are not recorded", cut, nfields, RB_NFIELDS, RB_NFIELDS + 1,
			      nfields, field_names && field_names[RB_NFIELDS] ? field_names[RB_NFIELDS] : "");
		nfields = RB_NFIELDS;
	}
	ty->nfields = (uint16_t)nfields;
	for (unsigned i = 0; i < nfields; i++)
		copy_name(ty->field[i], field_names && field_names[i] ? field_names[i] : "",
			  RB_FIELD_NAME_LEN);
	ty->other_key = new_key(t, "other", RB_KEY_OTHER);
	/* where its events without a key are counted (0: the key table is full,
	 * then they are in the type's total only) */
	ty->none_key = new_key(t, "", RB_KEY_NONE);
	/* pairs with the acquire load of state in rb_view_type */
	__atomic_store_n(&ty->state, RB_SLOT_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&h->ntypes, t + 1, __ATOMIC_RELEASE);
	if (producer_initially_enabled(cut))
		__atomic_fetch_or(&rb_seg_control(producer.seg)->enabled, 1ull << t, __ATOMIC_RELAXED);
	id = (int)t;
out:
	pthread_mutex_unlock(&producer.lock);
	return id;
}

EXPORT int ringmon_type_name(int type, char *buf, unsigned len)
{
	int rc = -ENOENT;
	pthread_mutex_lock(&producer.lock);
	if (type >= 0 && producer_ensure_open() == 0 && (uint32_t)type < producer_header()->ntypes) {
		if (buf && len)
			copy_name(buf, rb_seg_types(producer.seg)[type].name,
				  len < RB_NAME_LEN ? len : RB_NAME_LEN);
		rc = 0;
	}
	pthread_mutex_unlock(&producer.lock);
	return rc;
}

static unsigned long hash_key(uint32_t type, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ type;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (unsigned long)h;
}

struct key_probe {
	uint32_t type;
	const char *name;
};

static int key_match(struct cds_lfht_node *node, const void *arg)
{
	const struct key_node *k = caa_container_of(node, struct key_node, node);
	const struct key_probe *p = arg;
	return k->type == p->type && strncmp(k->name, p->name, RB_KEY_LEN - 1) == 0;
}

static int lookup_key(uint32_t type, const char *name, unsigned long hash)
{
	struct key_probe probe = {type, name};
	struct cds_lfht_iter it;
	int id = -1;
	urcu_bp_read_lock();
	cds_lfht_lookup(producer.keys, hash, key_match, &probe, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n)
		id = (int)caa_container_of(n, struct key_node, node)->id;
	urcu_bp_read_unlock();
	return id;
}

/* key as stored (RB_KEY_LEN bytes, NUL-padded): whole when it fits; else its
 * first bytes to a UTF-8 character's start, '~' and the FNV-1a hash of the
 * whole key in 8 hex digits (ringmon.h) */
static void key_cut(char cut[RB_KEY_LEN], const char *key)
{
	if (strnlen(key, RB_KEY_LEN) < RB_KEY_LEN) {
		copy_name(cut, key, RB_KEY_LEN);
		return;
	}
	uint32_t h = 2166136261u;
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	size_t take = RB_KEY_LEN - 1 - RB_KEY_MARK_LEN; /* then "~%08x" */
	while (take > 0 && ((uint8_t)key[take] & 0xc0) == 0x80)
		take--;
	memset(cut, 0, RB_KEY_LEN);
	memcpy(cut, key, take);
	snprintf(cut + take, RB_KEY_LEN - take, "~%08x", (unsigned)h);
}

/* ringmon_key, or with own_overflow -ENOSPC where the table is full (the
 * caller counts it under an overflow key of its own) */
static int key_id(int type, const char *key, int own_overflow)
{
	if (!key || type < 0 || type >= RINGMON_MAX_TYPES || !producer.keys)
		return 0;
	char cut[RB_KEY_LEN];
	key_cut(cut, key);
	unsigned long hash = hash_key((uint32_t)type, cut);
	int id = lookup_key((uint32_t)type, cut, hash);
	if (id >= 0)
		return id;
	pthread_mutex_lock(&producer.lock);
	id = 0;
	if (producer_ensure_open() != 0 || (uint32_t)type >= producer_header()->ntypes)
		goto out;
	id = lookup_key((uint32_t)type, cut, hash);
	if (id >= 0)
		goto out;
	struct key_node *n = calloc(1, sizeof(*n));
	if (!n) {
		id = (int)rb_seg_types(producer.seg)[type].other_key;
		goto out;
	}
	uint32_t k = new_key((uint32_t)type, cut, 0);
	if (!k) {
		/* table full: count under the type's "other" key (or the caller's
		 * own), never lose it */
		static int told_full;
		if (!told_full++)
			producer_warn("the key table is full (%u slots, RINGMON_KEYS): key '%s' of type "
				      "'%s' and every later new key are counted under 'other' (raise "
				      "RINGMON_KEYS)", producer.seg->g.max_keys - EXTRA_KEY_SLOTS, cut,
				      rb_seg_types(producer.seg)[type].name);
		__atomic_fetch_add(&producer_header()->dropped_keys, 1, __ATOMIC_RELAXED);
		if (own_overflow) {
			free(n);
			id = -ENOSPC;
			goto out;
		}
		k = rb_seg_types(producer.seg)[type].other_key;
	}
	n->type = (uint32_t)type;
	n->id = k;
	memcpy(n->name, cut, sizeof(cut));
	cds_lfht_node_init(&n->node);
	urcu_bp_read_lock();
	cds_lfht_add(producer.keys, hash, &n->node);
	urcu_bp_read_unlock();
	id = (int)k;
out:
	pthread_mutex_unlock(&producer.lock);
	return id;
}

EXPORT int ringmon_key(int type, const char *key)
{
	return key_id(type, key, 0);
}

EXPORT int ringmon_key_or_full(int type, const char *key)
{
	return key_id(type, key, 1);
}

uint64_t producer_opt_in_types;

EXPORT int ringmon_type_flags(int type, unsigned flags)
{
	if (flags & ~(RINGMON_TYPE_STATE | RINGMON_TYPE_OPT_IN))
		return -EINVAL;
	int rc = -EINVAL;
	pthread_mutex_lock(&producer.lock);
	if (producer.open && type >= 0 && (uint32_t)type < producer_header()->ntypes) {
		struct rb_type *ty = &rb_seg_types(producer.seg)[type];
		uint64_t bit = 1ull << type;
		__atomic_store_n(&ty->flags, (uint16_t)(flags & RINGMON_TYPE_STATE ? RB_TYPE_STATE : 0),
				 __ATOMIC_RELAXED);
		if (flags & RINGMON_TYPE_STATE)
			__atomic_fetch_or(&producer_state_types, bit, __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&producer_state_types, ~bit, __ATOMIC_RELAXED);
		/* opt-in: off from the start unless RINGMON_EVENTS names it; once
		 * only, so that a second component registering the same type never
		 * turns off what a reader turned on */
		if ((flags & RINGMON_TYPE_OPT_IN) && !(producer_opt_in_types & bit) &&
		    !producer_events_name(ty->name))
			__atomic_fetch_and(&rb_seg_control(producer.seg)->enabled, ~bit, __ATOMIC_RELAXED);
		if (flags & RINGMON_TYPE_OPT_IN)
			producer_opt_in_types |= bit;
		else
			producer_opt_in_types &= ~bit;
		rc = 0;
	}
	pthread_mutex_unlock(&producer.lock);
	return rc;
}

EXPORT void ringmon_set_events(uint64_t mask)
{
	pthread_mutex_lock(&producer.lock);
	if (producer_ensure_open() == 0) {
		struct rb_control *c = rb_seg_control(producer.seg);
		__atomic_store_n(&c->enabled, mask & ~(1ull << RB_TYPE_NONE), __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->changes, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&producer.lock);
}

EXPORT uint64_t ringmon_get_events(void)
{
	return __atomic_load_n(__atomic_load_n(&ringmon__enabled, __ATOMIC_ACQUIRE),
			       __ATOMIC_RELAXED);
}

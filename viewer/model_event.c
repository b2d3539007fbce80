/* model_event.c - one record for people: decoded with its type's and key's
 * names, printed as a line of text or of JSON (docs/cli.md). */
#include "model.h"
#include "escape.h"
#include "mongo_schema.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void vm_wall_split(int64_t wall_ns, time_t *sec, uint32_t *ns)
{
	int64_t s = wall_ns / 1000000000, rem = wall_ns % 1000000000;
	if (rem < 0) { /* rounded down, so a time before 1970 (a record older
			* than the segment's clock says) has a fraction in [0, 1) */
		s--;
		rem += 1000000000;
	}
	*sec = (time_t)s;
	*ns = (uint32_t)rem;
}

void vm_decode(const struct rb_view *v, const struct rb_record *r, struct vm_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = r->ts_ns;
	/* wrapping arithmetic: a header that cannot be trusted gives a wrong
	 * time, never undefined behaviour */
	e->wall_ns = (int64_t)(v->created_realtime_ns + (r->ts_ns - v->created_clock_ns));
	e->wall = (double)e->wall_ns / 1e9;
	e->tid = r->tid;
	struct rb_type_info ti;
	if (rb_view_type(v, r->type, &ti) == 0) {
		memcpy(e->type, ti.name, sizeof(e->type));
		e->nfields = ti.nfields;
		memcpy(e->field_name, ti.field, sizeof(e->field_name));
	} else {
		snprintf(e->type, sizeof(e->type), "type#%u", (unsigned)r->type);
	}
	struct rb_key_info ki;
	if (r->key) {
		if (rb_view_key(v, r->key, &ki) == 0 && ki.type == r->type)
			vm_key_text(v, &ki, e->key, sizeof(e->key), NULL);
		else
			snprintf(e->key, sizeof(e->key), "key#%u", (unsigned)r->key);
	}
	e->has_dur = r->dur_ns != RB_NO_DURATION;
	e->dur_ns = e->has_dur ? r->dur_ns : 0;
	for (uint32_t i = 0; i < RB_NFIELDS; i++)
		e->field[i] = r->field[i];
}

/* e's field i: its value as text ("RSPrimary", "DuplicateKey(11000)", or
 * the number) or, for JSON, the value's name when the MongoDB schema gives it
 * one. The one place a field value becomes a name. */
static const char *field_value(const struct vm_event *e, uint32_t i, int json, char *buf,
			       size_t len)
{
	const char *names[RB_NFIELDS];
	for (uint32_t f = 0; f < RB_NFIELDS; f++)
		names[f] = e->field_name[f];
	const char *s = ms_value_name(e->type, names, e->nfields, i, e->field, json, buf, len);
	if (!s && !json) {
		snprintf(buf, len, "%lld", (long long)e->field[i]);
		s = buf;
	}
	return s;
}

static int is_id_field(const char *name)
{
	size_t n = strlen(name);
	return (n >= 3 && strcmp(name + n - 3, "_id") == 0) || strcmp(name, "port") == 0;
}

const char *vm_field_text(const struct vm_event *e, uint32_t i, char *buf, size_t len)
{
	return field_value(e, i, 0, buf, len);
}

const char *vm_field_json_name(const struct vm_event *e, uint32_t i, char *buf, size_t len)
{
	return field_value(e, i, 1, buf, len);
}

/* a JSON member name not yet in o: name, else "field<i>", "field<i>_<n>" */
static void json_member(json_object *o, const char *name, uint32_t i, char *out, size_t len)
{
	snprintf(out, len, "%s", name);
	for (unsigned n = 0; !out[0] || json_object_object_get_ex(o, out, NULL); n++)
		snprintf(out, len, n ? "field%u_%u" : "field%u", i, n);
}

void vm_event_format(const struct vm_event *e, int json, char *buf, size_t len)
{
	if (json) {
		/* names as UTF-8 text, other bytes escaped (escape.h) */
		char t[RB_NAME_LEN * 4], k[VM_KEY_TEXT * 4];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string(esc_name(e->type, ESC_UTF8, t, sizeof(t))));
		json_object_object_add(o, "ts_ns", json_object_new_uint64(e->ts_ns));
		/* microseconds, printed as such: json-c's default keeps 17
		 * significant digits only with a format of our own */
		char when[40];
		time_t sec;
		uint32_t ns;
		vm_wall_split(e->wall_ns, &sec, &ns);
		if (sec >= 0)
			snprintf(when, sizeof(when), "%lld.%06u", (long long)sec, ns / 1000);
		else
			snprintf(when, sizeof(when), "%.6f", e->wall);
		json_object_object_add(o, "time", json_object_new_double_s(e->wall, when));
		json_object_object_add(o, "tid", json_object_new_int64(e->tid));
		if (e->key[0])
			json_object_object_add(o, "key", json_object_new_string(esc_name(e->key, ESC_UTF8, k, sizeof(k))));
		if (e->has_dur)
			json_object_object_add(o, "dur_ns", json_object_new_uint64(e->dur_ns));
		char name[RB_FIELD_NAME_LEN * 4 + 24], fname[RB_FIELD_NAME_LEN * 4];
		for (uint32_t i = 0; i < e->nfields; i++) {
			/* a field with no name, or with a name already taken (a member
			 * above or an earlier field), becomes "field<i>": never lost */
			json_member(o, esc_name(e->field_name[i], ESC_UTF8, fname, sizeof(fname)), i,
				    name, sizeof(name));
			json_object_object_add(o, name, json_object_new_int64(e->field[i]));
		}
		/* the number's name beside it: "new_type":4,"new_type_name":"RSPrimary" */
		for (uint32_t i = 0; i < e->nfields; i++) {
			char v[64], nm[RB_FIELD_NAME_LEN + 8];
			if (!vm_field_json_name(e, i, v, sizeof(v)))
				continue;
			snprintf(nm, sizeof(nm), "%s_name", e->field_name[i]);
			json_member(o, nm, i, name, sizeof(name));
			json_object_object_add(o, name, json_object_new_string(v));
		}
		snprintf(buf, len, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	vm_event_text(e, 20, 16, buf, len);
}

/* the name raw, escaped, padded with spaces to w display columns, and a space */
static int put_col(char *buf, size_t len, const char *raw, int w)
{
	char s[VM_KEY_TEXT * 4];
	vm_name(raw, s, sizeof(s));
	int cols = vm_width(s);
	return snprintf(buf, len, "%s%*s ", s, w > cols ? w - cols : 0, "");
}

void vm_event_text(const struct vm_event *e, int type_w, int key_w, char *buf, size_t len)
{
	time_t sec;
	uint32_t ns;
	vm_wall_split(e->wall_ns, &sec, &ns);
	struct tm tm;
	localtime_r(&sec, &tm);
	char when[32], dur[32];
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	int n = snprintf(buf, len, "%s.%06u %-7u ", when, ns / 1000, e->tid);
	if (n > 0 && (size_t)n < len)
		n += put_col(buf + n, len - (size_t)n, e->type, type_w);
	if (n > 0 && (size_t)n < len)
		n += put_col(buf + n, len - (size_t)n, e->key[0] ? e->key : "-", key_w);
	if (n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "%9s",
			      e->has_dur ? vm_fmt_lat((double)e->dur_ns, dur, sizeof(dur)) : "-");
	if (n > 0 && (size_t)n < len)
		vm_event_fields(e, 0, buf + n, len - (size_t)n);
}

const char *vm_event_fields(const struct vm_event *e, int ids_last, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int ids = 0; ids < (ids_last ? 2 : 1); ids++) /* ids_last: two passes */
		for (uint32_t i = 0; i < e->nfields && i < RB_NFIELDS && n < len; i++) {
			if (ids_last && is_id_field(e->field_name[i]) != ids)
				continue;
			char fname[RB_FIELD_NAME_LEN * 4], v[64];
			const char *text = vm_field_text(e, i, v, sizeof(v));
			/* the narrow views leave out a field that says what the key says
			 * (command.error's code=DuplicateKey(11000) under that key): at 80
			 * columns it took the room of the fields after it */
			if (ids_last && e->key[0] && strcmp(text, e->key) == 0)
				continue;
			if (e->field_name[i][0])
				vm_name(e->field_name[i], fname, sizeof(fname));
			else /* as in JSON */
				snprintf(fname, sizeof(fname), "field%u", i);
			int k = snprintf(buf + n, len - n, " %s=%s", fname, text);
			if (k < 0)
				break;
			n += (size_t)k;
		}
	return buf;
}

int vm_event_field(const struct vm_event *e, const char *name)
{
	for (uint32_t i = 0; i < e->nfields && i < RB_NFIELDS; i++)
		if (strcmp(e->field_name[i], name) == 0)
			return (int)i;
	return -1;
}

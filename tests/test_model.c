/* test_model.c - the reader model's event formatting, as `ringmon tail` prints it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"

static struct vm_event event(void)
{
	struct vm_event e;
	memset(&e, 0, sizeof(e));
	e.ts_ns = 1000;
	e.wall_ns = 1700000000250000000;
	e.wall = 1700000000.25;
	e.tid = 42;
	strcpy(e.type, "db.query");
	strcpy(e.key, "users");
	e.has_dur = 1;
	e.dur_ns = 1500;
	e.nfields = 3;
	strcpy(e.field_name[0], "rows");
	/* field 1 has no name; field 2 takes a name the JSON object already has */
	strcpy(e.field_name[2], "tid");
	e.field[0] = 7;
	e.field[1] = -5;
	e.field[2] = 99;
	return e;
}

static void every_field_is_printed_with_a_name_in_text(void **state)
{
	struct vm_event e = event();
	char buf[512];
	vm_event_format(&e, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, " 42 "));
	assert_non_null(strstr(buf, "db.query"));
	assert_non_null(strstr(buf, "users"));
	assert_non_null(strstr(buf, "1.50us"));
	assert_non_null(strstr(buf, " rows=7 field1=-5 tid=99"));
}

static void every_field_keeps_its_value_in_json(void **state)
{
	struct vm_event e = event();
	char buf[512];
	vm_event_format(&e, 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"tid\":42"));
	assert_non_null(strstr(buf, "\"rows\":7"));
	assert_non_null(strstr(buf, "\"field1\":-5"));
	assert_non_null(strstr(buf, "\"field2\":99"));
	assert_non_null(strstr(buf, "\"dur_ns\":1500"));
	assert_null(strstr(buf, "\"tid\":99"));
}

/* "time" is seconds since the epoch with microseconds, as ts_ns says
 * (json-c's default keeps 10 significant digits: whole seconds) */
static void json_time_keeps_microseconds(void **state)
{
	struct vm_event e = event();
	e.wall_ns = 1796085744860613000;
	e.wall = 1796085744.860613;
	char buf[512];
	vm_event_format(&e, 1, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"time\":1796085744.860613,"));
}

/* A narrow view shows what an event says before its ids: a failed
 * command's code and domain come before its request and operation ids, so
 * that at 80 columns the reason is what stays */
static void narrow_views_show_ids_last(void **state)
{
	(void)state;
	struct vm_event e = event();
	e.nfields = 4;
	strcpy(e.field_name[0], "request_id");
	strcpy(e.field_name[1], "operation_id");
	strcpy(e.field_name[2], "code");
	strcpy(e.field_name[3], "domain");
	e.field[0] = 7, e.field[1] = 8, e.field[2] = 50, e.field[3] = 17;
	char buf[256];
	assert_string_equal(vm_event_fields(&e, 1, buf, sizeof(buf)),
			    " code=50 domain=17 request_id=7 operation_id=8");
	assert_string_equal(vm_event_fields(&e, 0, buf, sizeof(buf)), /* tail: the schema's order */
			    " request_id=7 operation_id=8 code=50 domain=17");
	/* a field that says what the key says (command.error keyed by its code)
	 * is left out where room is short; tail keeps every field */
	strcpy(e.key, "50");
	assert_string_equal(vm_event_fields(&e, 1, buf, sizeof(buf)),
			    " domain=17 request_id=7 operation_id=8");
	assert_string_equal(vm_event_fields(&e, 0, buf, sizeof(buf)),
			    " request_id=7 operation_id=8 code=50 domain=17");
	strcpy(e.key, "users");
	strcpy(e.field_name[2], "port"); /* a port is an id too; order kept within each */
	e.field_name[3][0] = 0;          /* unnamed: as in JSON */
	assert_string_equal(vm_event_fields(&e, 1, buf, sizeof(buf)),
			    " field3=17 request_id=7 operation_id=8 port=50");
}

/* text and JSON print one time, to the microsecond, cut from the exact
 * nanoseconds: .406526999 is .406526 in both (a double of 1.8e9 s resolves
 * 0.24 us only, and JSON rounded it to .406527 where text cut it) */
static void text_and_json_print_the_same_microseconds(void **state)
{
	(void)state;
	struct vm_event e = event();
	e.wall_ns = 1796201783406526999;
	e.wall = (double)e.wall_ns / 1e9;
	char json[512], text[512];
	vm_event_format(&e, 1, json, sizeof(json));
	vm_event_format(&e, 0, text, sizeof(text));
	assert_non_null(strstr(json, "\"time\":1796201783.406526,"));
	assert_non_null(strstr(text, ".406526 "));
	/* before 1970 (a header that cannot be trusted): a fraction in [0, 1) */
	time_t sec;
	uint32_t ns;
	vm_wall_split(-1500000000, &sec, &ns);
	assert_int_equal((long long)sec, -2);
	assert_int_equal(ns, 500000000);
}

/* ls, stats and top say an uptime the same way: cut to what elapsed, never
 * rounded up; a huge one (clocks decades apart) does not overflow */
static void durations_read_the_same_everywhere(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(vm_fmt_dur_s(59.96, buf, sizeof(buf)), "59.9s");
	assert_string_equal(vm_fmt_dur_s(119.9, buf, sizeof(buf)), "1m59s");
	assert_string_equal(vm_fmt_dur_s(3599.9, buf, sizeof(buf)), "59m59s");
	assert_string_equal(vm_fmt_dur_s(3600 * 25 + 61, buf, sizeof(buf)), "1d01h");
	assert_string_equal(vm_fmt_dur_s(-5, buf, sizeof(buf)), "0.0s");
	assert_string_equal(vm_fmt_dur_s(3e9, buf, sizeof(buf)), "34722d05h");
}

/* --name (top) and --name PATTERN (export): the kernel's 15-byte name, or the
 * program's whole file name; never a prefix unless the pattern says so */
static void processes_are_named_by_comm_or_their_whole_file_name(void **state)
{
	(void)state;
	const char *comm = "orders_service_", *cmd = "/opt/app/orders_service_worker --port 1";
	assert_true(vm_proc_named(comm, cmd, "orders_service_", 0));
	assert_true(vm_proc_named(comm, cmd, "orders_service_worker", 0));
	assert_false(vm_proc_named(comm, cmd, "orders_service_work", 0));
	assert_false(vm_proc_named(comm, cmd, "orders_service_worker --port", 0));
	assert_true(vm_proc_named(comm, cmd, "*_worker", 1));
	assert_true(vm_proc_named(comm, cmd, "orders_*", 1));
	assert_false(vm_proc_named(comm, cmd, "billing*", 1));
	assert_false(vm_proc_named("python3.13", "/usr/bin/python3.13 api.py", "api*", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_field_is_printed_with_a_name_in_text),
		cmocka_unit_test(every_field_keeps_its_value_in_json),
		cmocka_unit_test(json_time_keeps_microseconds),
		cmocka_unit_test(text_and_json_print_the_same_microseconds),
		cmocka_unit_test(narrow_views_show_ids_last),
		cmocka_unit_test(durations_read_the_same_everywhere),
		cmocka_unit_test(processes_are_named_by_comm_or_their_whole_file_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for the DLQ archive's files (core/dlq_archive.c): names, the
 * scan that finds where archiving continues, the write and reading lines
 * back; and the config check that archive_after stays safely below the
 * DLQ's retention.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/config.h"
#include "drover/dlq_archive.h"
#include "drover/str.h"

static char tmp[64];

static void mk_tmp(void)
{
	drv_strlcpy(tmp, "/tmp/drv-archive-XXXXXX", sizeof(tmp));
	cr_assert_not_null(mkdtemp(tmp));
}

static void rm_tmp(void)
{
	char cmd[128];

	drv_fmt(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(dlq_archive, .init = mk_tmp, .fini = rm_tmp);

Test(dlq_archive, names_round_trip)
{
	drv_dlq_archive_file_t f = { "2026-12-05", 3, 100, 199 }, g;
	char path[256];

	cr_assert(drv_dlq_archive_path("/a", &f, DRV_DLQ_ARCHIVE_DATA, path,
				       sizeof(path)));
	cr_assert_str_eq(path, "/a/2026-12-05/p3-100-199.jsonl.gz");
	cr_assert(drv_dlq_archive_path(NULL, &f, DRV_DLQ_ARCHIVE_INDEX, path,
				       sizeof(path)));
	cr_assert_str_eq(path, "2026-12-05/p3-100-199.index.json");
	cr_assert(drv_dlq_archive_parse_name("2026-12-05",
					     "p3-100-199.jsonl.gz", &g));
	cr_assert_str_eq(g.day, "2026-12-05");
	cr_assert_eq(g.partition, 3);
	cr_assert_eq(g.first, 100);
	cr_assert_eq(g.last, 199);
	drv_dlq_archive_day(0, g.day);
	cr_assert_str_eq(g.day, "1970-01-01");
	drv_dlq_archive_day(1764892800000 + 86399999, g.day);
	cr_assert_str_eq(g.day, "2025-12-05");
}

Test(dlq_archive, parse_refuses_what_is_not_a_data_file)
{
	static const char *const bad[] = {
		"p3-100-199.jsonl.gz.tmp", "p3-100-199.index.json",
		"p3-199-100.jsonl.gz", "p-1-2.jsonl.gz", "q3-1-2.jsonl.gz",
		"p3-1.jsonl.gz", "p3--1-2.jsonl.gz", "p3-1-2.jsonl",
		"p99999999999-1-2.jsonl.gz", "",
	};
	drv_dlq_archive_file_t f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(drv_dlq_archive_parse_name("2026-12-05", bad[i],
							 &f), "%s", bad[i]);
	cr_assert_not(drv_dlq_archive_parse_name("2026-12-5", "p0-1-2.jsonl.gz",
						 &f));
}

static void put(const char *day, int32_t p, int64_t first, int64_t last)
{
	drv_dlq_archive_file_t f = { "", p, first, last };
	const char *lines[] = { "{\"a\":1}", "{\"b\":2}" };
	char err[256];

	drv_strlcpy(f.day, day, sizeof(f.day));
	cr_assert_eq(drv_dlq_archive_write(tmp, &f, lines, 2,
					   "{\"count\":2}", err, sizeof(err)),
		     DRV_OK, "%s", err);
}

Test(dlq_archive, resume_is_one_past_the_highest_archived_offset)
{
	int64_t next[4];
	char err[256], path[256];
	FILE *f;

	cr_assert_eq(drv_dlq_archive_resume(tmp, next, 4, err, sizeof(err)),
		     DRV_OK);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(next[i], 0);
	put("2026-12-04", 0, 0, 9);
	put("2026-12-05", 0, 10, 19);
	put("2026-12-04", 2, 5, 7);
	/* a temporary file or an index alone (a crash before the data
	 * file's rename) counts for nothing */
	drv_fmt(path, sizeof(path), "%s/2026-12-05/p1-0-50.jsonl.gz.tmp",
		tmp);
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	drv_fmt(path, sizeof(path), "%s/2026-12-05/p1-0-60.index.json", tmp);
	cr_assert_not_null(f = fopen(path, "w"));
	fclose(f);
	cr_assert_eq(drv_dlq_archive_resume(tmp, next, 4, err, sizeof(err)),
		     DRV_OK, "%s", err);
	cr_assert_eq(next[0], 20);
	cr_assert_eq(next[1], 0);
	cr_assert_eq(next[2], 8);
	cr_assert_eq(next[3], 0);
}

Test(dlq_archive, missing_folder_is_an_empty_archive)
{
	int64_t next[1] = { 7 };
	char err[256], path[128];

	drv_fmt(path, sizeof(path), "%s/none", tmp);
	cr_assert_eq(drv_dlq_archive_resume(path, next, 1, err, sizeof(err)),
		     DRV_OK);
	cr_assert_eq(next[0], 0);
}

typedef struct seen {
	char   text[256];
	size_t lines;
} seen_t;

static bool collect(const char *line, size_t len, void *arg)
{
	seen_t *s = arg;

	cr_assert_eq(strlen(line), len);
	drv_strlcpy(s->text + strlen(s->text), line,
		    sizeof(s->text) - strlen(s->text));
	s->lines++;
	return true;
}

static bool list_files(const drv_dlq_archive_file_t *f, void *arg)
{
	char *out = arg, name[128];

	drv_dlq_archive_path(NULL, f, "", name, sizeof(name));
	drv_strlcpy(out + strlen(out), name, 512 - strlen(out));
	drv_strlcpy(out + strlen(out), " ", 512 - strlen(out));
	return true;
}

Test(dlq_archive, written_lines_read_back_and_files_scan_in_order)
{
	char err[256], path[256], order[512] = "";
	seen_t s = { "", 0 };
	struct stat st;

	put("2026-12-05", 1, 0, 1);
	put("2026-12-04", 3, 2, 3);
	put("2026-12-05", 0, 10, 11);
	put("2026-12-05", 0, 2, 9);
	cr_assert_eq(drv_dlq_archive_scan(tmp, list_files, order, err,
					  sizeof(err)), DRV_OK);
	cr_assert_str_eq(order, "2026-12-04/p3-2-3 2026-12-05/p0-2-9 "
			 "2026-12-05/p0-10-11 2026-12-05/p1-0-1 ");
	drv_fmt(path, sizeof(path), "%s/2026-12-05/p1-0-1.jsonl.gz", tmp);
	cr_assert_eq(drv_dlq_archive_read_lines(path, collect, &s, err,
						sizeof(err)), DRV_OK, "%s",
		     err);
	cr_assert_eq(s.lines, 2);
	cr_assert_str_eq(s.text, "{\"a\":1}{\"b\":2}");
	drv_fmt(path, sizeof(path), "%s/2026-12-05/p1-0-1.jsonl.gz.tmp", tmp);
	cr_assert_neq(stat(path, &st), 0, "no temporary file is left");
	drv_fmt(path, sizeof(path), "%s/2026-12-05/p1-0-1.index.json", tmp);
	cr_assert_eq(stat(path, &st), 0);
}

Test(dlq_archive, plain_files_read_too_last_line_without_newline)
{
	char err[256], path[128];
	seen_t s = { "", 0 };
	FILE *f;

	drv_fmt(path, sizeof(path), "%s/x.jsonl", tmp);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("one\r\n\ntwo", f);
	fclose(f);
	cr_assert_eq(drv_dlq_archive_read_lines(path, collect, &s, err,
						sizeof(err)), DRV_OK);
	cr_assert_eq(s.lines, 2);
	cr_assert_str_eq(s.text, "onetwo");
}

Test(dlq_archive, archive_after_must_stay_below_the_retention)
{
	static const char bad[] =
		"kafka:\n  dlq_retention: 8d\n"
		"coordinator:\n  archive_dir: /a\n  archive_after: 7d\n";
	static const char ok[] =
		"kafka:\n  dlq_retention: 30d\n"
		"coordinator:\n  archive_dir: /a\n  archive_after: 7d\n";
	static const char off[] =
		"kafka:\n  dlq_retention: 1h\n"
		"coordinator:\n  archive_after: 7d\n";
	drv_config_t *cfg = NULL;
	char err[512];

	cr_assert_eq(drv_config_load_string("f.yaml", bad, strlen(bad), NULL,
					    &cfg, err, sizeof(err)),
		     DRV_ERR_CONFIG);
	cr_assert_str_eq(err, "f.yaml:5:18: coordinator.archive_after: 7d "
			 "(plus coordinator.archive_interval) is not safely "
			 "below kafka.dlq_retention 8d: it must be at most "
			 "three quarters of it, or entries could be deleted "
			 "before they are archived");
	cr_assert_eq(drv_config_load_string("f.yaml", ok, strlen(ok), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	drv_config_destroy(cfg);
	cfg = NULL;
	cr_assert_eq(drv_config_load_string("f.yaml", off, strlen(off), NULL,
					    &cfg, err, sizeof(err)), DRV_OK,
		     "%s", err);
	drv_config_destroy(cfg);
}

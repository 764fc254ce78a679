/*
 * cmd_dlq_import.c — `droverctl dlq import`: put the dead letters a
 * `dlq export` wrote back on <prefix>dlq, for moving a DLQ between
 * clusters, or restoring entries from the DLQ archive (a gzip'd archive
 * file, or a whole archive folder). Each JSON line's "message_base64" is
 * the DeadLetter message as it was; it is decoded and checked before
 * anything is sent, then produced without waiting and the acknowledgements
 * collected per batch.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/dlq_archive.h"
#include "drover/kafka.h"
#include "drover/str.h"

#define IMPORT_BATCH 1000

typedef struct import {
	const drv_config_t *cfg;
	rd_kafka_t *rk;
	drv_delivery_t dr[IMPORT_BATCH];
	size_t  pending;
	size_t  imported, skipped, failed;
	size_t  lineno;
	bool    dry;
	const char *dir;         /* reading an archive folder */
	drv_err_t rc;            /* a file that could not be read */
	char    err[512];
	char    topic[256];
} import_t;

static void collect(import_t *im)
{
	int64_t deadline = drv_mono_ms() + im->cfg->kafka.connect_timeout_ms;
	char err[512];

	for (size_t i = 0; i < im->pending; i++) {
		int64_t left = deadline - drv_mono_ms();

		if (drv_kafka_wait(im->rk, &im->dr[i], im->topic,
				   left > 0 ? left : 1, err, sizeof(err))) {
			fprintf(stderr, "droverctl: dlq import: %s\n", err);
			im->failed++;
		} else
			im->imported++;
	}
	im->pending = 0;
}

/* Decode line \p lineno into \p dl; false (with a message) when it is not
 * an exported dead letter. */
static bool parse_line(const char *line, size_t len, size_t lineno,
		       drv_dead_letter_t *dl)
{
	json_error_t je;
	json_t *o = json_loadb(line, len, 0, &je), *m;
	uint8_t *buf = NULL;
	size_t blen = 0;
	char err[512];
	bool ok = false;

	if (!o) {
		fprintf(stderr, "droverctl: dlq import: line %zu: not JSON: "
			"%s\n", lineno, je.text);
		return false;
	}
	m = json_object_get(o, "message_base64");
	if (json_is_true(json_object_get(o, "undecodable_entry")))
		fprintf(stderr, "droverctl: dlq import: line %zu: an "
			"undecodable DLQ entry; not imported\n", lineno);
	else if (!json_is_string(m) ||
		 drv_base64_decode(json_string_value(m),
				   json_string_length(m), &buf, &blen))
		fprintf(stderr, "droverctl: dlq import: line %zu: no valid "
			"\"message_base64\" (was it written by 'dlq "
			"export'?)\n", lineno);
	else if (drv_dead_letter_decode(buf, blen, dl, err, sizeof(err)))
		fprintf(stderr, "droverctl: dlq import: line %zu: %s\n",
			lineno, err);
	else
		ok = true;
	free(buf);
	json_decref(o);
	return ok;
}

static bool import_line(const char *line, size_t len, void *arg)
{
	import_t *im = arg;
	drv_dead_letter_t dl;
	char err[512];

	im->lineno++;
	drv_dead_letter_init(&dl);
	if (!parse_line(line, len, im->lineno, &dl))
		im->skipped++;
	else if (im->dry)
		im->imported++;
	else {
		memset(&im->dr[im->pending], 0, sizeof(im->dr[0]));
		if (drv_dead_letter_produce(im->rk, im->cfg, &dl,
					    &im->dr[im->pending], err,
					    sizeof(err))) {
			fprintf(stderr, "droverctl: dlq import: line %zu: %s\n",
				im->lineno, err);
			im->failed++;
		} else if (++im->pending == IMPORT_BATCH)
			collect(im);
	}
	drv_dead_letter_release(&dl);
	return true;
}

/* Every data file of an archive folder, in order. */
static bool import_file(const drv_dlq_archive_file_t *f, void *arg)
{
	import_t *im = arg;
	char path[4096];

	drv_dlq_archive_path(im->dir, f, DRV_DLQ_ARCHIVE_DATA, path,
			     sizeof(path));
	im->lineno = 0;
	im->rc = drv_dlq_archive_read_lines(path, import_line, im, im->err,
					    sizeof(im->err));
	return !im->rc;
}

static int run_import(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	import_t *im;
	const char *path = "-";
	char err[512], target[300], details[128];
	struct stat st;
	int c, rc;

	opterr = 0;
	if (!(im = calloc(1, sizeof(*im))))
		return ctl_fail("out of memory");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd') {
			free(im);
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		}
		im->dry = true;
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		free(im);
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	}
	if (strcmp(path, "-") && stat(path, &st)) {
		free(im);
		return ctl_fail("dlq import: %s: %s", path, strerror(errno));
	}
	im->cfg = cfg;
	drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, im->topic,
		       sizeof(im->topic));
	if (!im->dry &&
	    !(im->rk = ctl_producer_new(cfg, im->topic, -1, err,
					      sizeof(err)))) {
		rc = ctl_fail("dlq import: %s", err);
		goto out;
	}
	if (strcmp(path, "-") && S_ISDIR(st.st_mode)) {
		drv_err_t src;

		im->dir = path;
		src = drv_dlq_archive_scan(path, import_file, im, err,
					   sizeof(err));
		if (src)
			im->rc = src;
		else if (im->rc)
			drv_strlcpy(err, im->err, sizeof(err));
	} else
		im->rc = drv_dlq_archive_read_lines(path, import_line, im, err,
						    sizeof(err));
	if (im->rc)
		fprintf(stderr, "droverctl: dlq import: %s\n", err);
	if (!im->dry)
		collect(im);
	fprintf(stderr, "droverctl: dlq import: %zu %s, %zu skipped, %zu "
		"failed\n", im->imported, im->dry ? "would be imported" :
		"imported", im->skipped, im->failed);
	rc = im->failed || im->skipped || im->rc ? CTL_EXIT_FAILED :
		CTL_EXIT_OK;
	if (!im->dry) {
		drv_fmt(target, sizeof(target), "%s", path);
		drv_fmt(details, sizeof(details), "{\"skipped\":%zu,"
			"\"failed\":%zu}", im->skipped, im->failed);
		if (ctl_audit(cfg, im->rk, "dlq.import", target, im->imported,
			      details, rc ? "incomplete" : "ok"))
			rc = CTL_EXIT_FAILED;
	}
out:
	if (im->rk)
		rd_kafka_destroy(im->rk);
	free(im);
	return rc;
}

const ctl_cmd_t ctl_dlq_import_cmds[] = {
	{ "dlq", "import", "[FILE|DIR|-] [--dry-run]",
	  "put dead letters written by 'dlq export' back on the DLQ",
	  "  FILE                  JSON lines from 'dlq export', plain or "
	  "gzip'd (an\n"
	  "                        archive file) (default: stdin)\n"
	  "  DIR                   a DLQ archive folder "
	  "(coordinator.archive_dir):\n"
	  "                        every archived entry, oldest day first\n"
	  "  --dry-run             check every line, send nothing\n"
	  "Each entry keeps its dead letter id, so resubmission marks are "
	  "per\ncluster (Redis) and an imported entry can be resubmitted "
	  "there. Lines\nthat are not exported dead letters are reported and "
	  "skipped (exit 1).\n"
	  "Example:\n"
	  "  droverctl -c old.yaml dlq export --handler resize > dlq.jsonl\n"
	  "  droverctl -c new.yaml dlq import dlq.jsonl\n"
	  "  droverctl dlq import /archive/2026-12-05/p0-0-999.jsonl.gz\n",
	  true, run_import },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};

/*
 * cmd_dlq_import.c — `droverctl dlq import`: put the dead letters a
 * `dlq export` wrote back on <prefix>dlq, for moving a DLQ between
 * clusters. Each JSON line's "message_base64" is the DeadLetter message as
 * it was; it is decoded and checked before anything is sent, then produced
 * without waiting and the acknowledgements collected per batch.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "drover/clock.h"
#include "drover/kafka.h"
#include "drover/str.h"

#define IMPORT_BATCH 1000

typedef struct import {
	const drv_config_t *cfg;
	rd_kafka_t *rk;
	drv_delivery_t dr[IMPORT_BATCH];
	size_t  pending;
	size_t  imported, skipped, failed;
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

static int run_import(const ctl_cmd_t *cmd, drv_config_t *cfg,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	import_t *im;
	const char *path = "-";
	char *line = NULL, err[512], target[300], details[128];
	size_t cap = 0, lineno = 0;
	bool dry = false;
	ssize_t len;
	FILE *in;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return ctl_usage_error(cmd, "unknown option '%s'",
					       argv[optind - 1]);
		dry = true;
	}
	if (optind < argc)
		path = argv[optind++];
	if (optind < argc)
		return ctl_usage_error(cmd, "unexpected argument '%s'",
				       argv[optind]);
	if (!(in = strcmp(path, "-") ? fopen(path, "r") : stdin))
		return ctl_fail("dlq import: %s: %s", path, strerror(errno));
	if (!(im = calloc(1, sizeof(*im)))) {
		if (in != stdin)
			fclose(in);
		return ctl_fail("out of memory");
	}
	im->cfg = cfg;
	drv_topic_name(cfg, DRV_TOPIC_DLQ, NULL, 0, im->topic,
		       sizeof(im->topic));
	if (!dry && !(im->rk = drv_kafka_producer_new(cfg, err, sizeof(err)))) {
		rc = ctl_fail("dlq import: %s", err);
		goto out;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		drv_dead_letter_t dl;

		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len)
			continue;
		drv_dead_letter_init(&dl);
		if (!parse_line(line, (size_t)len, lineno, &dl))
			im->skipped++;
		else if (dry)
			im->imported++;
		else {
			memset(&im->dr[im->pending], 0, sizeof(im->dr[0]));
			if (drv_dead_letter_produce(im->rk, cfg, &dl,
						    &im->dr[im->pending], err,
						    sizeof(err))) {
				fprintf(stderr, "droverctl: dlq import: line "
					"%zu: %s\n", lineno, err);
				im->failed++;
			} else if (++im->pending == IMPORT_BATCH)
				collect(im);
		}
		drv_dead_letter_release(&dl);
	}
	if (!dry)
		collect(im);
	fprintf(stderr, "droverctl: dlq import: %zu %s, %zu skipped, %zu "
		"failed\n", im->imported, dry ? "would be imported" :
		"imported", im->skipped, im->failed);
	rc = im->failed || im->skipped ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	if (!dry) {
		drv_fmt(target, sizeof(target), "%s", path);
		drv_fmt(details, sizeof(details), "{\"skipped\":%zu,"
			"\"failed\":%zu}", im->skipped, im->failed);
		if (ctl_audit(cfg, im->rk, "dlq.import", target, im->imported,
			      details, rc ? "incomplete" : "ok"))
			rc = CTL_EXIT_FAILED;
	}
out:
	free(line);
	if (in != stdin)
		fclose(in);
	if (im->rk)
		rd_kafka_destroy(im->rk);
	free(im);
	return rc;
}

const ctl_cmd_t ctl_dlq_import_cmds[] = {
	{ "dlq", "import", "[FILE|-] [--dry-run]",
	  "put dead letters written by 'dlq export' back on the DLQ",
	  "  FILE                  JSON lines from 'dlq export' (default: "
	  "stdin)\n"
	  "  --dry-run             check every line, send nothing\n"
	  "Each entry keeps its dead letter id, so resubmission marks are "
	  "per\ncluster (Redis) and an imported entry can be resubmitted "
	  "there. Lines\nthat are not exported dead letters are reported and "
	  "skipped (exit 1).\n"
	  "Example:\n"
	  "  droverctl -c old.yaml dlq export --handler resize > dlq.jsonl\n"
	  "  droverctl -c new.yaml dlq import dlq.jsonl\n",
	  true, run_import },
	{ NULL, NULL, NULL, NULL, NULL, false, NULL },
};

/*
 * drover — the DLQ archive: dead letters written, once, as gzip'd JSON lines
 * in the export format (drv_dead_letter_export_json()) to a folder, before
 * the DLQ topic's retention deletes them. The coordinator leader writes it
 * (coordinator/archive.c); `droverctl dlq list --archived` and `dlq import`
 * read it.
 *
 * Layout, for a batch of consecutive offsets first..last of DLQ partition p
 * whose entries died on one UTC day:
 *
 *   <dir>/<YYYY-MM-DD>/p<p>-<first>-<last>.jsonl.gz   the entries
 *   <dir>/<YYYY-MM-DD>/p<p>-<first>-<last>.index.json {"partition",
 *       "first", "last", "count", "handlers": {name: n}, "reasons":
 *       {name: n}}
 *
 * Each file is written under a temporary name, fsync'd and renamed, the
 * index first: the data file's rename is the commit. The archive is its own
 * record of progress: the next offset of partition p is one past the
 * highest "last" of its data files (drv_dlq_archive_resume()).
 */
#ifndef DROVER_DLQ_ARCHIVE_H
#define DROVER_DLQ_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DRV_DLQ_ARCHIVE_DATA  ".jsonl.gz"
#define DRV_DLQ_ARCHIVE_INDEX ".index.json"

/** One archive file, as named. */
typedef struct drv_dlq_archive_file {
	char    day[11];   /**< "YYYY-MM-DD" (UTC) */
	int32_t partition; /**< DLQ partition */
	int64_t first;     /**< first DLQ offset in the file */
	int64_t last;      /**< last DLQ offset in the file (inclusive) */
} drv_dlq_archive_file_t;

/** @brief The UTC day of \p ms as "YYYY-MM-DD" into \p day (11 bytes). */
void drv_dlq_archive_day(int64_t ms, char day[11]);

/**
 * @brief The path "<dir>/<day>/p<partition>-<first>-<last><ext>" of \p f
 *        into \p buf (\p ext is DRV_DLQ_ARCHIVE_DATA or
 *        DRV_DLQ_ARCHIVE_INDEX; \p dir NULL = the path within the archive).
 * @returns false when it does not fit.
 */
bool drv_dlq_archive_path(const char *dir, const drv_dlq_archive_file_t *f,
			  const char *ext, char *buf, size_t size);

/**
 * @brief Parse a data file's name ("p3-10-20.jsonl.gz", no folder) found
 *        in day folder \p day into \p f.
 * @returns false (\p f untouched) when it is not an archive data file
 *          (temporary files, indexes, anything else).
 */
bool drv_dlq_archive_parse_name(const char *day, const char *name,
				drv_dlq_archive_file_t *f);

/** Called for every data file of an archive (\p f borrowed for the call);
 *  false stops the scan. */
typedef bool (*drv_dlq_archive_fn)(const drv_dlq_archive_file_t *f,
				   void *arg);

/**
 * @brief Call \p fn for every data file under \p dir, days in order and
 *        within a day by partition and first offset.
 * @returns DRV_OK (also for a folder that does not exist yet: no files),
 *          or DRV_ERR_IO / DRV_ERR_NOMEM with \p errstr set.
 */
drv_err_t drv_dlq_archive_scan(const char *dir, drv_dlq_archive_fn fn,
			       void *arg, char *errstr, size_t errstr_size);

/**
 * @brief Where archiving continues: for every partition p < \p part_cnt,
 *        \p next[p] = one past the highest last offset archived, or 0 when
 *        nothing of p is archived. \p next is the caller's array.
 * @returns as drv_dlq_archive_scan().
 */
drv_err_t drv_dlq_archive_resume(const char *dir, int64_t *next,
				 size_t part_cnt, char *errstr,
				 size_t errstr_size);

/**
 * @brief Write the \p cnt lines (borrowed; no newlines in them) of file
 *        \p f and its \p index_json (borrowed): index then data, each to a
 *        temporary name, fsync'd, renamed, and the day folder fsync'd
 *        (created when missing, like \p dir).
 * @returns DRV_OK, or DRV_ERR_IO / DRV_ERR_NOMEM with \p errstr set (what
 *          was half written is removed; an index without its data file is
 *          ignored by readers and replaced by the next write).
 */
drv_err_t drv_dlq_archive_write(const char *dir,
				const drv_dlq_archive_file_t *f,
				const char *const *lines, size_t cnt,
				const char *index_json, char *errstr,
				size_t errstr_size);

/** Called for every line of a file (without its newline; borrowed for the
 *  call); false stops the read. */
typedef bool (*drv_dlq_line_fn)(const char *line, size_t len, void *arg);

/**
 * @brief Call \p fn for every non-empty line of \p path, gzip'd or plain
 *        ("-" = standard input).
 * @returns DRV_OK (also when \p fn stopped), DRV_ERR_IO or DRV_ERR_NOMEM
 *          with \p errstr set.
 */
drv_err_t drv_dlq_archive_read_lines(const char *path, drv_dlq_line_fn fn,
				     void *arg, char *errstr,
				     size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* DROVER_DLQ_ARCHIVE_H */

/*
 * golden.h — golden wire vectors for the codec unit tests. A vector is a
 * file under tests/golden/ holding the bytes of one encoded message as hex
 * text, 64 hex digits (32 bytes) per line, so a change to the wire format
 * shows up in review as a diff. golden_check() compares an encoding with its
 * file; with DROVER_UPDATE_GOLDEN=1 in the environment it rewrites the file
 * instead. The directory is found from the repository root (how the brief
 * runs tests) or from tests/ (meson's workdir); DROVER_GOLDEN_DIR overrides.
 */
#ifndef DROVER_TEST_GOLDEN_H
#define DROVER_TEST_GOLDEN_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drover/str.h"

static inline bool golden_update(void)
{
	const char *v = getenv("DROVER_UPDATE_GOLDEN");

	return v && !strcmp(v, "1");
}

/* The golden directory, or NULL if none of the candidates exists. */
static inline const char *golden_dir(void)
{
	static const char *const candidates[] = {
		"tests/golden", "golden", "../tests/golden",
		"../../tests/golden",
	};
	const char *env = getenv("DROVER_GOLDEN_DIR");
	struct stat st;

	if (env && *env)
		return env;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode))
			return candidates[i];
	return NULL;
}

static inline void golden_path(const char *name, char *buf, size_t size)
{
	const char *dir = golden_dir();

	cr_assert_not_null(dir, "cannot find tests/golden (run from the "
			   "repository root or set DROVER_GOLDEN_DIR)");
	cr_assert(drv_fmt(buf, size, "%s/%s", dir, name));
}

static inline void golden_write(const char *name, const uint8_t *data,
				size_t len)
{
	char path[512];
	FILE *f;

	golden_path(name, path, sizeof(path));
	f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	for (size_t i = 0; i < len; i++) {
		fprintf(f, "%02x", data[i]);
		if (i % 32 == 31 || i + 1 == len)
			fputc('\n', f);
	}
	cr_assert_eq(fclose(f), 0, "cannot write %s", path);
}

static inline int golden_hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* The bytes of vector \p name (malloc'd; the caller frees). */
static inline uint8_t *golden_read(const char *name, size_t *len)
{
	char path[512];
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;
	int c, hi = -1;
	FILE *f;

	golden_path(name, path, sizeof(path));
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s (DROVER_UPDATE_GOLDEN=1 "
			   "writes it)", path);
	while ((c = fgetc(f)) != EOF) {
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		v = golden_hexval(c);
		cr_assert_geq(v, 0, "%s: '%c' is not a hex digit", path, c);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	fclose(f);
	cr_assert_lt(hi, 0, "%s: odd number of hex digits", path);
	*len = n;
	return buf ? buf : calloc(1, 1);
}

/* Compare \p data with vector \p name, or rewrite the vector. */
static inline void golden_check(const char *name, const uint8_t *data,
				size_t len)
{
	uint8_t *want;
	size_t want_len, i;

	if (golden_update()) {
		golden_write(name, data, len);
		return;
	}
	want = golden_read(name, &want_len);
	for (i = 0; i < len && i < want_len; i++)
		if (data[i] != want[i])
			break;
	free(want);
	cr_assert(i == len && len == want_len,
		  "%s: encoding differs from the golden vector at byte %zu "
		  "(encoded %zu bytes, vector %zu); if the wire format changed "
		  "on purpose, rerun with DROVER_UPDATE_GOLDEN=1 and review "
		  "the diff", name, i, len, want_len);
}

#endif /* DROVER_TEST_GOLDEN_H */

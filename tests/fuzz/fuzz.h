/*
 * drover — what the libFuzzer harnesses of tests/fuzz share: the entry
 * point's declaration (libFuzzer defines main) and a NUL-terminated copy of
 * the input for parsers that take C strings. Header-only: each harness is
 * one executable of one file.
 */
#ifndef DROVER_FUZZ_H
#define DROVER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'd copy of data[0..size) with a NUL after it (an embedded NUL
 * ends the string early, as it would for the real caller). Aborts when out
 * of memory: a harness has no other way to say so. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Split the input at its first '\n': *head is a NUL-terminated copy of what
 * comes before (free() it), *tail and *tail_len the bytes after it (inside
 * data; empty when there is no '\n'). */
static inline char *fuzz_split(const uint8_t *data, size_t size,
			       const uint8_t **tail, size_t *tail_len)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t head = nl ? (size_t)(nl - data) : size;

	*tail = nl ? nl + 1 : data + size;
	*tail_len = size - head - (nl ? 1 : 0);
	return fuzz_cstr(data, head);
}

#endif /* DROVER_FUZZ_H */

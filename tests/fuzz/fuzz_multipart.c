/*
 * libFuzzer target for the MJPEG stream parser (base-unit/multipart.c): the
 * first byte picks the size of each read (1 to 256), the rest is the body of
 * a multipart/x-mixed-replace answer with the ESP32-CAM's boundary. No part
 * handed out may be longer than the bound, and nothing may read or write
 * outside its buffers (ASan).
 */
#include "multipart.h"

#include <stdlib.h>

#define MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void part(void *ctx, const uint8_t *p, size_t len)
{
	volatile uint8_t sink = 0;

	(void)ctx;
	if (len > MAX)
		abort();
	for (size_t i = 0; i < len; i++)
		sink ^= p[i];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct multipart m;
	size_t step;

	if (size < 1 || !multipart_init(&m, "multipart/x-mixed-replace;boundary=123456789000000000000987654321", MAX))
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	while (size > 0) {
		size_t k = size < step ? size : step;

		multipart_feed(&m, data, k, part, NULL);
		data += k;
		size -= k;
	}
	multipart_free(&m);
	return 0;
}

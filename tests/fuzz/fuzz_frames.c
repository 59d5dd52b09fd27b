/*
 * libFuzzer target for frame reassembly: the input is a sequence of
 * fragment bodies (each preceded by a 2-byte length and a 1-byte clock step),
 * fed to the reassembly as the base unit does; a completed frame goes
 * through the JPEG check, so libjpeg-turbo sees hostile frames too.
 */
#include "frames.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jpeg_checker *jc;
	struct reassembly r = { 0 };
	uint64_t now = 1000;

	if (!jc)
		jc = jpeg_checker_new();
	while (size >= 3) {
		size_t len = (size_t)data[0] << 8 | data[1];
		struct ic_fragment f;
		bool abandoned;

		now += data[2] * 16;
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		reassembly_expire(&r, now);
		if (ic_fragment_decode(&f, data, len) == IC_OK &&
		    reassembly_add(&r, &f, now, &abandoned) == RA_COMPLETE) {
			uint32_t w, h;
			uint8_t *thumb;
			size_t tl;

			if (jpeg_check(jc, r.buf, r.total, &w, &h, &thumb, &tl))
				free(thumb);
		}
		data += len;
		size -= len;
	}
	reassembly_free(&r);
	return 0;
}

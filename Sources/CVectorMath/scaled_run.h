// A run of values multiplied by one factor, vectorized as `channels_last.h`'s loops are (its loads, stores and
// per-instruction-set variants): dropout's and drop path's `x · mask / (1 − rate)` over an image's whole map.
#ifndef UNET_SCALED_RUN_H
#define UNET_SCALED_RUN_H

#include "channels_last.h"

/// `y[i] = x[i] * factor` for `i < count`, bf16 in and out (rounded to the nearest, ties to even); `x` and `y` may be
/// the same memory.
UNET_INLINE void unet_scale_run_bf16_loop(const unsigned short *x, unsigned short *y, long count, float factor) {
    long i = 0;
    for (; i + 16 <= count; i += 16) unet_store16_bf16(y + i, unet_load16_bf16(x + i) * factor);
    for (; i < count; i++) unet_store1_bf16(y + i, unet_load1_bf16(x + i) * factor);
}

UNET_VARIANTS(unet_scale_run_bf16, (const unsigned short *x, unsigned short *y, long count, float factor), (x, y, count, factor))

#endif

// Loops over channels-last maps (NHWC: pixel p, channel c at p * channels + c) that clang vectorizes across the
// channels: per-channel moments, and a per-channel scale and shift with an activation rounded into 8 bits or into bf16,
// of float32 maps and of bf16 ones (the upper halves of float32s, `_bf16`). The int8 networks' instance norm runs on
// them where oneDNN has no primitive writing 8 bits (or bf16) from float32 (or bf16) statistics.
// Each entry point takes `lanes`, the float lanes of the CPU's vectors as oneDNN found them (16: AVX-512, 8: AVX2,
// else 4), and runs the loops compiled for that instruction set; the results are the same on each.
#ifndef UNET_CHANNELS_LAST_H
#define UNET_CHANNELS_LAST_H

#define UNET_INLINE static inline __attribute__((always_inline))
#define UNET_AVX512 static __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))
#define UNET_AVX2 static __attribute__((target("avx2")))

typedef float unet_float16 __attribute__((ext_vector_type(16)));
typedef signed char unet_int8x16 __attribute__((ext_vector_type(16)));
typedef unsigned char unet_uint8x16 __attribute__((ext_vector_type(16)));
typedef unsigned short unet_uint16x16 __attribute__((ext_vector_type(16)));
typedef unsigned int unet_uint32x16 __attribute__((ext_vector_type(16)));

UNET_INLINE unet_float16 unet_load16(const float *p) {
    unet_float16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

UNET_INLINE float unet_load1(const float *p) { return *p; }

/// Sixteen bf16 values as float32 (exactly: a bf16 is a float32's upper half).
UNET_INLINE unet_float16 unet_load16_bf16(const unsigned short *p) {
    unet_uint16x16 half;
    __builtin_memcpy(&half, p, sizeof half);
    unet_uint32x16 bits = __builtin_convertvector(half, unet_uint32x16) << 16;
    unet_float16 v;
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
}

UNET_INLINE float unet_load1_bf16(const unsigned short *p) {
    unsigned int bits = (unsigned int)*p << 16;
    float v;
    __builtin_memcpy(&v, &bits, sizeof v);
    return v;
}

/// The pixels summed in float32 before their sums are added in double.
#define UNET_RUN 64

// The loops compiled for each instruction set, and the entry point that picks one by `lanes` (its last parameter).
#define UNET_WITH_LANES(...) (__VA_ARGS__, int lanes)
#define UNET_VARIANTS(name, parameters, arguments)                                   \
    UNET_AVX512 void name##_avx512 parameters { name##_loop arguments; }             \
    UNET_AVX2 void name##_avx2 parameters { name##_loop arguments; }                 \
    static void name##_baseline parameters { name##_loop arguments; }                \
    static inline void name UNET_WITH_LANES parameters {                             \
        if (lanes >= 16) name##_avx512 arguments;                                    \
        else if (lanes >= 8) name##_avx2 arguments;                                  \
        else name##_baseline arguments;                                              \
    }

/// `name(x, pixels, channels, origin, sum, squares, lanes)` adds to `sum[c]` and `squares[c]` the sums of
/// `x - origin[c]` and of its square over `pixels` pixels of `channels` channels of a map of `T` (read as float32 by
/// `load16`/`load1`): over runs of `UNET_RUN` pixels in float32, then in double.
#define UNET_MOMENTS(name, T, load16, load1)                                                                    \
    UNET_INLINE void name##_loop(const T *restrict x, long pixels, long channels, const float *restrict origin, \
                                 double *restrict sum, double *restrict squares) {                             \
        long blocked = channels / 16 * 16;                                                                     \
        for (long start = 0; start < pixels; start += UNET_RUN) {                                              \
            long end = start + UNET_RUN < pixels ? start + UNET_RUN : pixels;                                  \
            for (long c = 0; c < blocked; c += 16) {                                                           \
                unet_float16 o = unet_load16(origin + c), s = 0, q = 0;                                        \
                for (long p = start; p < end; p++) {                                                           \
                    unet_float16 d = load16(x + p * channels + c) - o;                                         \
                    unet_float16 square = d * d; /* a statement of its own: never fused into a multiply-add */ \
                    s += d;                                                                                    \
                    q += square;                                                                               \
                }                                                                                              \
                for (int k = 0; k < 16; k++) {                                                                 \
                    sum[c + k] += s[k];                                                                        \
                    squares[c + k] += q[k];                                                                    \
                }                                                                                              \
            }                                                                                                  \
            for (long c = blocked; c < channels; c++) {                                                        \
                float s = 0, q = 0;                                                                            \
                for (long p = start; p < end; p++) {                                                           \
                    float d = load1(x + p * channels + c) - origin[c];                                         \
                    float square = d * d;                                                                      \
                    s += d;                                                                                    \
                    q += square;                                                                               \
                }                                                                                              \
                sum[c] += s;                                                                                   \
                squares[c] += q;                                                                               \
            }                                                                                                  \
        }                                                                                                      \
    }                                                                                                          \
    UNET_VARIANTS(name,                                                                                        \
                  (const T *restrict x, long pixels, long channels, const float *restrict origin,              \
                   double *restrict sum, double *restrict squares),                                            \
                  (x, pixels, channels, origin, sum, squares))

/// `y = x * scale + shift` after the activation (`y` where positive, `y * slope` elsewhere: 1 for none, 0 for ReLU),
/// of float32 or of 16 of them (`T`).
#define UNET_ACTIVATED(T, x, scale, shift, slope, out)                                          \
    do {                                                                                        \
        T y_ = (x) * (scale); /* then the shift: never fused, the same result on every CPU */   \
        y_ += (shift);                                                                          \
        (out) = y_ > 0 ? y_ : y_ * (slope);                                                     \
    } while (0)

/// `v` in steps of 8-bit quantization, clipped to `low...high` (NaN to `low`) and rounded to the nearest integer, ties
/// to even (as oneDNN's quantizing reorder rounds). Adding and subtracting 1.5 * 2^23 rounds a float of magnitude below
/// 2^22 so, in the default rounding mode.
UNET_INLINE unet_float16 unet_steps16(unet_float16 v, float low, float high) {
    v = v > low ? v : (unet_float16)low; /* NaN becomes low: every value converts */
    v = v < high ? v : (unet_float16)high;
    v += 12582912.0f;
    return v - 12582912.0f;
}

UNET_INLINE float unet_steps1(float v, float low, float high) {
    v = v > low ? v : low;
    v = v < high ? v : high;
    v += 12582912.0f;
    return v - 12582912.0f;
}

UNET_INLINE void unet_store16_s8(signed char *p, unet_float16 v) {
    unet_int8x16 out = __builtin_convertvector(unet_steps16(v, -128, 127), unet_int8x16);
    __builtin_memcpy(p, &out, sizeof out);
}

UNET_INLINE void unet_store1_s8(signed char *p, float v) { *p = (signed char)(int)unet_steps1(v, -128, 127); }

UNET_INLINE void unet_store16_u8(unsigned char *p, unet_float16 v) {
    unet_uint8x16 out = __builtin_convertvector(unet_steps16(v, 0, 255), unet_uint8x16);
    __builtin_memcpy(p, &out, sizeof out);
}

UNET_INLINE void unet_store1_u8(unsigned char *p, float v) { *p = (unsigned char)(int)unet_steps1(v, 0, 255); }

/// Sixteen float32s rounded to the nearest bf16, ties to even; NaN stays NaN.
UNET_INLINE void unet_store16_bf16(unsigned short *p, unet_float16 v) {
    unet_uint32x16 bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    unet_uint32x16 rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16;
    rounded = v != v ? (bits >> 16) | 0x40 : rounded;
    unet_uint16x16 out = __builtin_convertvector(rounded, unet_uint16x16);
    __builtin_memcpy(p, &out, sizeof out);
}

UNET_INLINE void unet_store1_bf16(unsigned short *p, float v) {
    unsigned int bits;
    __builtin_memcpy(&bits, &v, sizeof bits);
    *p = (unsigned short)(v != v ? (bits >> 16) | 0x40 : (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

/// `name(x, y, pixels, channels, scale, shift, slope, lanes)` sets `y[p * channels + c]` to
/// `x[p * channels + c] * scale[c] + shift[c]` after the activation (`UNET_ACTIVATED`), stored as `E` by
/// `store16`/`store1`, from a map of `T` (read as float32 by `load16`/`load1`).
#define UNET_SCALE_SHIFT(name, T, load16, load1, E, store16, store1)                                          \
    UNET_INLINE void name##_loop(const T *restrict x, E *restrict y, long pixels, long channels,              \
                                 const float *restrict scale, const float *restrict shift, float slope) {     \
        long blocked = channels / 16 * 16;                                                                     \
        for (long start = 0; start < pixels; start += UNET_RUN) {                                              \
            long end = start + UNET_RUN < pixels ? start + UNET_RUN : pixels;                                  \
            for (long c = 0; c < blocked; c += 16) {                                                           \
                unet_float16 a = unet_load16(scale + c), b = unet_load16(shift + c), v;                        \
                for (long p = start; p < end; p++) {                                                           \
                    UNET_ACTIVATED(unet_float16, load16(x + p * channels + c), a, b, slope, v);                \
                    store16(y + p * channels + c, v);                                                          \
                }                                                                                              \
            }                                                                                                  \
            for (long p = start; p < end; p++)                                                                 \
                for (long c = blocked; c < channels; c++) {                                                    \
                    float v;                                                                                   \
                    UNET_ACTIVATED(float, load1(x + p * channels + c), scale[c], shift[c], slope, v);          \
                    store1(y + p * channels + c, v);                                                           \
                }                                                                                              \
        }                                                                                                      \
    }                                                                                                          \
    UNET_VARIANTS(name,                                                                                        \
                  (const T *restrict x, E *restrict y, long pixels, long channels, const float *restrict scale, \
                   const float *restrict shift, float slope),                                                  \
                  (x, y, pixels, channels, scale, shift, slope))

/// Per-channel moments (`UNET_MOMENTS`) of a float32 map, and of a bf16 one.
UNET_MOMENTS(unet_channel_moments, float, unet_load16, unet_load1)
UNET_MOMENTS(unet_channel_moments_bf16, unsigned short, unet_load16_bf16, unet_load1_bf16)
/// Scale, shift and activation (`UNET_SCALE_SHIFT`) into 8-bit steps clipped to -128...127 or 0...255 (`unet_steps16`),
/// from a float32 map, and from a bf16 one.
UNET_SCALE_SHIFT(unet_quantize_s8, float, unet_load16, unet_load1, signed char, unet_store16_s8, unet_store1_s8)
UNET_SCALE_SHIFT(unet_quantize_u8, float, unet_load16, unet_load1, unsigned char, unet_store16_u8, unet_store1_u8)
UNET_SCALE_SHIFT(unet_quantize_s8_bf16, unsigned short, unet_load16_bf16, unet_load1_bf16, signed char, unet_store16_s8,
                 unet_store1_s8)
UNET_SCALE_SHIFT(unet_quantize_u8_bf16, unsigned short, unet_load16_bf16, unet_load1_bf16, unsigned char,
                 unet_store16_u8, unet_store1_u8)
/// Scale, shift and activation rounded to bf16 (`unet_store16_bf16`), from a float32 map, and from a bf16 one.
UNET_SCALE_SHIFT(unet_round_bf16, float, unet_load16, unet_load1, unsigned short, unet_store16_bf16, unet_store1_bf16)
UNET_SCALE_SHIFT(unet_round_bf16_bf16, unsigned short, unet_load16_bf16, unet_load1_bf16, unsigned short,
                 unet_store16_bf16, unet_store1_bf16)

#endif

// Square roots that clang lowers to the CPU's square-root instructions (LLVM's sqrt intrinsic), so that the
// optimizers' loops run them eight lanes at a time. Swift's Float.squareRoot() on Linux goes through libm's
// sqrtf, kept for errno, which splits a SIMD8<Float> into eight calls. Both give IEEE's correctly rounded
// square root, so each lane equals Float.squareRoot()'s result.
#ifndef UNET_VECTOR_MATH_H
#define UNET_VECTOR_MATH_H

typedef float unet_float8 __attribute__((ext_vector_type(8)));

#if __has_builtin(__builtin_elementwise_sqrt)
/// The square root of each of the eight lanes of `x` (imported into Swift as SIMD8<Float>).
static inline unet_float8 unet_sqrt8(unet_float8 x) { return __builtin_elementwise_sqrt(x); }

/// The square root of `x`, as `unet_sqrt8` computes each lane.
static inline float unet_sqrt(float x) { return __builtin_elementwise_sqrt(x); }
#else
// A clang without the builtin (before 17): the same results through libm, lane by lane.
static inline float unet_sqrt(float x) { return __builtin_sqrtf(x); }
static inline unet_float8 unet_sqrt8(unet_float8 x) {
    for (int i = 0; i < 8; i++) x[i] = __builtin_sqrtf(x[i]);
    return x;
}
#endif

#endif

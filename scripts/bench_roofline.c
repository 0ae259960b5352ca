// The machine's roofline: the peak rate of the multiply-accumulate instructions oneDNN's convolutions are made of
// (fp32 FMA, bf16 dot products, int8 VNNI dot products; AVX-512 and AVX2 forms) and the memory bandwidth, on one
// thread and on all of them: what bounds a network's speed. A network whose convolutions already run near these
// peaks cannot go faster by scheduling, only by doing fewer multiplications (`scripts/bench_runtimes.py --roofline`).
//
//     scripts/bench_roofline.sh            (builds this with cc into .build/ and runs it; one JSON line per probe)
//
// Each compute probe keeps 12 independent accumulators in registers and counts multiply-accumulates: 16 per fp32
// zmm FMA, 32 per bf16 zmm dot product (pairs of bf16), 64 per int8 zmm VNNI dot product (quads of u8 x s8); ymm
// forms half that. Memory probes stream a buffer much larger than the caches: read (sum), write (fill) and copy, in
// bytes moved. Each figure is the best of five runs.
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// Twelve accumulators (enough to cover an instruction's latency on two units; few enough that they, the operands and
// a temporary fit AVX2's sixteen registers), each updated once per round and all summed at the end (else the compiler
// drops the unread ones); the empty asm keeps it from reasoning about the operands' values across rounds.
#define TWELVE(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

#define COMPUTE_PROBE(name, isa, vec, init, a_init, b_init, step, combine, reduce)                 \
    __attribute__((target(isa))) static float name(long rounds) {                                     \
        vec a = a_init, b = b_init;                                                                      \
        TWELVE(init)                                                                                    \
        for (long r = 0; r < rounds; r++) {                                                              \
            __asm__ volatile("" : "+v"(a), "+v"(b));                                                     \
            TWELVE(step)                                                                                \
        }                                                                                                \
        TWELVE(combine)                                                                                 \
        return reduce;                                                                                   \
    }

#define ADD512(i) acc0 = _mm512_add_ps(acc0, acc##i);
#define ADD256(i) acc0 = _mm256_add_ps(acc0, acc##i);
#define ADD512I(i) acc0 = _mm512_add_epi32(acc0, acc##i);
#define ADD256I(i) acc0 = _mm256_add_epi32(acc0, acc##i);

#define FMA512_INIT(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define FMA512_STEP(i) acc##i = _mm512_fmadd_ps(a, b, acc##i);
COMPUTE_PROBE(fma512, "avx512f", __m512, FMA512_INIT, _mm512_set1_ps(1e-8f), _mm512_set1_ps(1e-8f), FMA512_STEP,
              ADD512, _mm512_reduce_add_ps(acc0))

#define FMA256_INIT(i) __m256 acc##i = _mm256_set1_ps((float)(i));
#define FMA256_STEP(i) acc##i = _mm256_fmadd_ps(a, b, acc##i);
COMPUTE_PROBE(fma256, "avx2,fma", __m256, FMA256_INIT, _mm256_set1_ps(1e-8f), _mm256_set1_ps(1e-8f), FMA256_STEP,
              ADD256, _mm256_cvtss_f32(acc0))

#define BF16_INIT(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define BF16_STEP(i) acc##i = _mm512_dpbf16_ps(acc##i, (__m512bh)a, (__m512bh)b);
COMPUTE_PROBE(bf16dot512, "avx512f,avx512bf16", __m512i, BF16_INIT, _mm512_set1_epi16(0x3000),
              _mm512_set1_epi16(0x3000), BF16_STEP,
              ADD512, _mm512_reduce_add_ps(acc0))

#define VNNI512_INIT(i) __m512i acc##i = _mm512_set1_epi32(i);
#define VNNI512_STEP(i) acc##i = _mm512_dpbusd_epi32(acc##i, a, b);
COMPUTE_PROBE(vnni512, "avx512f,avx512vnni", __m512i, VNNI512_INIT, _mm512_set1_epi8(1), _mm512_set1_epi8(2),
              VNNI512_STEP,
              ADD512I, (float)_mm512_reduce_add_epi32(acc0))

// AVX2's int8 path without VNNI: vpmaddubsw (u8 x s8 pairs to s16) + vpmaddwd (s16 pairs to s32) + vpaddd, the
// three instructions oneDNN's AVX2 int8 kernels spend per 32 multiply-accumulates.
#define I8AVX2_INIT(i) __m256i acc##i = _mm256_set1_epi32(i);
#define I8AVX2_STEP(i) \
    __asm__("" : "+v"(a)); /* a fresh operand for each accumulator: no shared product */ \
    acc##i = _mm256_add_epi32(acc##i, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
COMPUTE_PROBE(int8avx2, "avx2", __m256i, I8AVX2_INIT, _mm256_set1_epi8(1), _mm256_set1_epi8(2), I8AVX2_STEP,
              ADD256I, (float)_mm256_extract_epi32(acc0, 0))

typedef float (*ComputeLoop)(long);

static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
static int has_fma(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int has_bf16(void) { return has_avx512() && __builtin_cpu_supports("avx512bf16"); }
static int has_vnni(void) { return has_avx512() && __builtin_cpu_supports("avx512vnni"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2"); }

struct Probe {
    const char *name;
    int (*supported)(void);
    ComputeLoop loop;
    double macs_per_round; // 12 instructions
};

static const struct Probe probes[] = {
    {"fp32 FMA, zmm (vfmadd231ps)", has_avx512, fma512, 12.0 * 16},
    {"fp32 FMA, ymm (vfmadd231ps)", has_fma, fma256, 12.0 * 8},
    {"bf16 dot product, zmm (vdpbf16ps)", has_bf16, bf16dot512, 12.0 * 32},
    {"int8 dot product, zmm (vpdpbusd)", has_vnni, vnni512, 12.0 * 64},
    {"int8 without VNNI, ymm (vpmaddubsw + vpmaddwd + vpaddd)", has_avx2, int8avx2, 12.0 * 32},
};

enum { memoryBytes = 512 << 20 };

struct Job {
    const struct Probe *probe;
    long rounds;
    int memory; // 0 compute, 1 read, 2 write, 3 copy
    float *src, *dst;
    size_t floats;
    pthread_barrier_t *barrier;
    volatile float sink;
};

__attribute__((target("avx2"))) static float read_stream(const float *x, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_load_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_load_ps(x + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_load_ps(x + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_load_ps(x + i + 24));
    }
    return _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static void *run_job(void *argument) {
    struct Job *job = argument;
    pthread_barrier_wait(job->barrier);
    switch (job->memory) {
    case 0: job->sink = job->probe->loop(job->rounds); break;
    case 1: job->sink = read_stream(job->src, job->floats); break;
    case 2: memset(job->dst, job->rounds & 0x7f, job->floats * sizeof(float)); break;
    default: memcpy(job->dst, job->src, job->floats * sizeof(float)); break;
    }
    pthread_barrier_wait(job->barrier);
    return NULL;
}

/// Runs `threads` jobs at once; returns the wall time between the two barriers (the slowest thread's).
static double run_threads(int threads, struct Job *jobs) {
    pthread_t ids[64];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        jobs[t].barrier = &barrier;
        pthread_create(&ids[t], NULL, run_job, &jobs[t]);
    }
    pthread_barrier_wait(&barrier);
    double start = seconds();
    pthread_barrier_wait(&barrier);
    double elapsed = seconds() - start;
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    pthread_barrier_destroy(&barrier);
    return elapsed;
}

static double best_compute(const struct Probe *probe, int threads, long rounds, int repeats) {
    struct Job jobs[64];
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        for (int t = 0; t < threads; t++) jobs[t] = (struct Job){.probe = probe, .rounds = rounds, .memory = 0};
        double elapsed = run_threads(threads, jobs);
        if (elapsed < best) best = elapsed;
    }
    return probe->macs_per_round * (double)rounds * threads / best;
}

static double best_memory(int kind, int threads, float *src, float *dst, int repeats) {
    size_t floats = memoryBytes / sizeof(float);
    size_t share = floats / (size_t)threads / 64 * 64;
    struct Job jobs[64];
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        for (int t = 0; t < threads; t++)
            jobs[t] = (struct Job){.memory = kind, .rounds = r, .src = src + share * t, .dst = dst + share * t,
                                   .floats = share};
        double elapsed = run_threads(threads, jobs);
        if (elapsed < best) best = elapsed;
    }
    double bytes = (double)share * threads * sizeof(float) * (kind == 3 ? 2 : 1);
    return bytes / best;
}

int main(int argc, char **argv) {
    int most = argc > 1 ? atoi(argv[1]) : 0;
    if (most <= 0) {
        cpu_set_t set;
        most = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    }
    if (most > 64) most = 64;
    int counts[2] = {1, most};
    __builtin_cpu_init();
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
        const struct Probe *probe = &probes[p];
        int supported = probe->supported();
        for (int c = 0; c < (most > 1 ? 2 : 1); c++) {
            if (!supported) {
                printf("{\"probe\": \"%s\", \"threads\": %d, \"supported\": false}\n", probe->name, counts[c]);
                continue;
            }
            double rate = best_compute(probe, counts[c], 20000000, 5);
            printf("{\"probe\": \"%s\", \"threads\": %d, \"gmac_per_s\": %.1f, \"gop_per_s\": %.1f}\n", probe->name,
                   counts[c], rate / 1e9, 2 * rate / 1e9);
            fflush(stdout);
        }
    }
    float *src = aligned_alloc(64, memoryBytes), *dst = aligned_alloc(64, memoryBytes);
    if (!src || !dst) {
        fprintf(stderr, "bench_roofline: cannot allocate %d MB twice\n", memoryBytes >> 20);
        return 1;
    }
    for (size_t i = 0; i < memoryBytes / sizeof(float); i++) src[i] = (float)(i & 1023), dst[i] = 0;
    const char *kinds[] = {"", "memory read", "memory write", "memory copy (read + write)"};
    for (int kind = 1; kind <= 3; kind++)
        for (int c = 0; c < (most > 1 ? 2 : 1); c++)
            printf("{\"probe\": \"%s\", \"threads\": %d, \"gb_per_s\": %.1f}\n", kinds[kind], counts[c],
                   best_memory(kind, counts[c], src, dst, 5) / 1e9);
    free(src);
    free(dst);
    return 0;
}

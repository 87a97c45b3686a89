// The bf16 GEMM's C side: CPU probes, fp32 -> bf16 pair packing and the 12 x 32 vdpbf16ps
// micro-kernel (24 fp32 zmm accumulators). Intrinsics live only in functions carrying the
// target attribute below, so the file compiles for any x86-64; the Swift caller checks
// rlhf_cpu_has_avx512bf16() before calling them. Leaves out: blocking, threading, AMX.
#include "CKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int rlhf_cpu_has_avx512bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;   // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    // XCR0: SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state all saved by the OS.
    if ((lo & 0xE6u) != 0xE6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned f = 1u << 16, bw = 1u << 30, vl = 1u << 31;
    if ((b & (f | bw | vl)) != (f | bw | vl)) return 0;
    if (a < 1 || !__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 5) & 1;   // CPUID.(7,1):EAX[5] AVX512_BF16
}

int rlhf_cpu_has_amx_bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return ((d >> 22) & 1) && ((d >> 24) & 1);   // AMX-BF16, AMX-TILE
}

static inline __mmask16 lanes(long n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// One round of a 16 x 16 transpose of 32-bit words: swaps bit h of the row index with bit h
// of the lane index between rows i and i + h (one vpermt2d each).
BF16_TARGET static inline void swap_round(__m512i *r, int h, __m512i lo_idx, __m512i hi_idx) {
    for (int i = 0; i < 16; i++) {
        if (i & h) continue;
        __m512i x = r[i], y = r[i + h];
        r[i] = _mm512_permutex2var_epi32(x, lo_idx, y);
        r[i + h] = _mm512_permutex2var_epi32(x, hi_idx, y);
    }
}

BF16_TARGET static inline void transpose16(__m512i *r) {
    swap_round(r, 8, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
               _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
    swap_round(r, 4, _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
               _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31));
    swap_round(r, 2, _mm512_setr_epi32(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
               _mm512_setr_epi32(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31));
    swap_round(r, 1, _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
               _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31));
}

// 32 bf16 of `v` ([x0..x15, y0..y15]) reordered into words (x_i, y_i).
BF16_TARGET static inline __m512i interleave_halves(__m512i v) {
    static const uint16_t order[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i idx = _mm512_loadu_si512(order);
    return _mm512_permutexvar_epi16(idx, v);
}

BF16_TARGET void rlhf_bf16_pack(const float *src, long ld, int along_depth, long rows, long depth,
                                void *dst, long width) {
    uint32_t *out = (uint32_t *)dst;
    const long pairs = (depth + 1) / 2;
    if (along_depth) {
        // Each lane's depth run is contiguous: convert 32 values (16 pairs) of 16 lanes, then
        // transpose the 16 x 16 words so each pair row is 16 consecutive lanes.
        for (long q0 = 0; q0 < pairs; q0 += 16) {
            const long p = 2 * q0, left = depth - p;
            const __mmask16 m0 = lanes(left), m1 = lanes(left - 16);
            const long qn = pairs - q0 < 16 ? pairs - q0 : 16;
            for (long r0 = 0; r0 < width; r0 += 16) {
                __m512i r[16];
                for (int i = 0; i < 16; i++) {
                    const long lane = r0 + i;
                    if (lane < rows) {
                        const float *s = src + lane * ld + p;
                        __m512 lo = _mm512_maskz_loadu_ps(m0, s), hi = _mm512_maskz_loadu_ps(m1, s + 16);
                        r[i] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                    } else {
                        r[i] = _mm512_setzero_si512();
                    }
                }
                transpose16(r);
                const __mmask16 store = lanes(width - r0);
                for (long q = 0; q < qn; q++) _mm512_mask_storeu_epi32(out + (q0 + q) * width + r0, store, r[q]);
            }
        }
    } else {
        // Each depth row runs along the lanes: rows 2q and 2q + 1 interleave into pair row q.
        for (long q = 0; q < pairs; q++) {
            const float *x = src + 2 * q * ld;
            const int has_y = 2 * q + 1 < depth;
            for (long r0 = 0; r0 < width; r0 += 16) {
                const __mmask16 m = lanes(rows - r0);
                __m512 vx = _mm512_maskz_loadu_ps(m, x + r0);
                __m512 vy = has_y ? _mm512_maskz_loadu_ps(m, x + ld + r0) : _mm512_setzero_ps();
                __m512i w = interleave_halves((__m512i)_mm512_cvtne2ps_pbh(vy, vx));
                _mm512_mask_storeu_epi32(out + q * width + r0, lanes(width - r0), w);
            }
        }
    }
}

BF16_TARGET void rlhf_bf16_kernel_12x32(long kpairs, const void *a, const void *b, float *c, long ldc,
                                        float alpha, float beta, long rows, long cols) {
    const uint32_t *pa = (const uint32_t *)a;
    const __m512i *pb = (const __m512i *)b;
    __m512 acc[12][2];
    for (int r = 0; r < 12; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (long q = 0; q < kpairs; q++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(pb), b1 = (__m512bh)_mm512_load_si512(pb + 1);
#pragma clang loop unroll(full)
        for (int r = 0; r < 12; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)pa[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
        pa += 12; pb += 2;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
#pragma clang loop unroll(full)
    for (int r = 0; r < 12; r++) {
        if (r >= rows) break;
        float *row = c + r * ldc;
        __m512 x = _mm512_mul_ps(va, acc[r][0]), y = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x);
            y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), y);
        }
        _mm512_mask_storeu_ps(row, m0, x);
        _mm512_mask_storeu_ps(row + 16, m1, y);
    }
}

#else  // not x86-64: no bf16 kernel; the Swift side falls back to fp32.

int rlhf_cpu_has_avx512bf16(void) { return 0; }
int rlhf_cpu_has_amx_bf16(void) { return 0; }
void rlhf_bf16_pack(const float *src, long ld, int along_depth, long rows, long depth, void *dst, long width) {
    (void)src; (void)ld; (void)along_depth; (void)rows; (void)depth; (void)dst; (void)width;
}
void rlhf_bf16_kernel_12x32(long kpairs, const void *a, const void *b, float *c, long ldc,
                            float alpha, float beta, long rows, long cols) {
    (void)kpairs; (void)a; (void)b; (void)c; (void)ldc; (void)alpha; (void)beta; (void)rows; (void)cols;
}
#endif

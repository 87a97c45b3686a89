// CKernels: the C side of the bf16 GEMM (CPU feature probes, fp32 -> bf16 packing, the
// vdpbf16ps micro-kernel). Every intrinsic sits in a function compiled for
// avx512bf16 by a target attribute, so this target builds for any x86-64 CPU; callers must
// check rlhf_cpu_has_avx512bf16() first. Leaves out: the blocking and threading (Swift,
// Sources/TensorCore/Gemm+BF16.swift) and any AMX kernel (none is verified yet).
#ifndef RLHF_CKERNELS_H
#define RLHF_CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU has avx512f + avx512bw + avx512vl + avx512_bf16 and the OS saves the zmm
/// state (XCR0), else 0.
int rlhf_cpu_has_avx512bf16(void);

/// 1 when CPUID reports AMX-TILE and AMX-BF16 (whether Linux grants the tile state is a
/// separate question, asked only by a kernel that uses tiles), else 0.
int rlhf_cpu_has_amx_bf16(void);

/// Rows per packed A panel and columns per packed B panel of the bf16 micro-kernel.
enum { RLHF_BF16_MR = 12, RLHF_BF16_NR = 32 };

/// Packs a (rows x depth) fp32 operand into one bf16 panel of `width` lanes (12 for A,
/// 32 for B): for k-pair q and lane r, dst[q * width + r] holds the bf16 pair
/// (X[r][2q], X[r][2q + 1]) as one 32-bit word, low half first (the layout vdpbf16ps pairs).
/// X[r][p] is src[r * ld + p] when `along_depth`, else src[p * ld + r]. Lanes r >= rows and
/// the odd last depth are zero. Writes ceil(depth / 2) * width words; rounds to nearest even.
void rlhf_bf16_pack(const float *src, long ld, int along_depth, long rows, long depth,
                    void *dst, long width);

/// C[0..<rows, 0..<cols] = alpha * A B + beta * C for one packed 12-lane A panel and one
/// packed 32-lane B panel of `kpairs` k-pairs, accumulated in fp32. rows <= 12, cols <= 32;
/// beta == 0 never reads C.
void rlhf_bf16_kernel_12x32(long kpairs, const void *a, const void *b, float *c, long ldc,
                            float alpha, float beta, long rows, long cols);

#ifdef __cplusplus
}
#endif

#endif

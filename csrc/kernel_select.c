/* The kernel sets compiled into this build and the choice between them.
 *
 * x86: chosen at run time from cpuid, so one library runs everywhere: SSE2
 * (every x86-64), AVX2+FMA, and AVX-512 F/BW/VL/DQ + VNNI (GEMM kernels on
 * 512-bit registers, int8 by vpdpwssd; its other kernels are AVX2's) where
 * the CPU and OS have them.
 * ARM: NEON when the build targets it.  "ref" is always there: the portable
 * reference of kernels_ref.c, which defines the results the other sets are
 * tested against.  A session starts with $MAIXNN_KERNELS (ref, sse2, avx2,
 * avx512vnni, neon, auto) when set, else the best supported set;
 * mxn_session_set_kernels forces one. */
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

static const mxn_kernel_set kernel_sets[] = {
#ifdef MXN_HAVE_X86_KERNELS
    /* designated fields: a set names only the kernels it has (NULL: the
     * portable path, see kernels.h) */
    {.name = "avx512vnni", .nr_f32 = 32, .nr_s8 = 32, .sgemm = mxn_sgemm_avx512, .quantize = mxn_quantize_avx2,
     .dw_f32 = mxn_dw_f32_avx2, .dw_s8 = mxn_dw_s8_avx512vnni, .fc_f32 = mxn_fc_f32_avx2, .fc_s8 = mxn_fc_s8_avx2,
     .pack_run_f32 = mxn_pack_run_f32_avx512, .sgemm_tail = mxn_sgemm_tail_avx512,
     .u8_quads = mxn_u8_quads_avx512vnni, .u8gemm = mxn_u8gemm_avx512vnni, .u8gemm_tail = mxn_u8gemm_tail_avx512vnni,
     .pack_run_u8 = mxn_pack_run_u8_avx512,
     .wino_gemm = mxn_wino_gemm_avx2, .wino_in = mxn_wino_in_avx2, .wino_out = mxn_wino_out_avx2},
    {.name = "avx2", .nr_f32 = 16, .nr_s8 = 8, .sgemm = mxn_sgemm_avx2, .s8gemm = mxn_s8gemm_avx2,
     .pack_pairs = mxn_pack_pairs_avx2, .quantize = mxn_quantize_avx2, .dw_f32 = mxn_dw_f32_avx2,
     .dw_s8 = mxn_dw_s8_avx2, .fc_f32 = mxn_fc_f32_avx2, .fc_s8 = mxn_fc_s8_avx2,
     .pack_run_f32 = mxn_pack_run_f32_avx2, .sgemm_tail = mxn_sgemm_tail_avx2, .pack_run_s8 = mxn_pack_run_s8_avx2,
     .wino_gemm = mxn_wino_gemm_avx2, .wino_in = mxn_wino_in_avx2, .wino_out = mxn_wino_out_avx2},
    {.name = "sse2", .nr_f32 = 4, .nr_s8 = 4, .sgemm = mxn_sgemm_sse2, .s8gemm = mxn_s8gemm_sse2,
     .pack_pairs = mxn_pack_pairs_sse2, .dw_f32 = mxn_dw_f32_sse2, .dw_s8 = mxn_dw_s8_sse2,
     .wino_gemm = mxn_wino_gemm_sse2},
#endif
#ifdef MXN_HAVE_NEON_KERNELS
    {.name = "neon", .nr_f32 = 4, .nr_s8 = 4, .sgemm = mxn_sgemm_neon, .s8gemm = mxn_s8gemm_neon,
     .pack_pairs = mxn_pack_pairs_neon, .dw_f32 = mxn_dw_f32_neon, .dw_s8 = mxn_dw_s8_neon,
     .pack_run_f32 = mxn_pack_run_f32_neon, .wino_gemm = mxn_wino_gemm_neon, .wino_in = mxn_wino_in_neon},
#endif
    {.name = "ref"},
};

#define KERNEL_SET_COUNT ((int)(sizeof(kernel_sets) / sizeof(kernel_sets[0])))

static int cpu_supports(const mxn_kernel_set *k)
{
#if defined(MXN_HAVE_X86_KERNELS) && defined(__GNUC__)
    __builtin_cpu_init();
    if (strcmp(k->name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(k->name, "avx512vnni") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    (void)k;
    return 1;
}

int mxn_kernel_set_count(void)
{
    return KERNEL_SET_COUNT;
}

const mxn_kernel_set *mxn_kernel_set_at(int i, int *supported)
{
    if (i < 0 || i >= KERNEL_SET_COUNT) return NULL;
    if (supported) *supported = cpu_supports(&kernel_sets[i]);
    return &kernel_sets[i];
}

const mxn_kernel_set *mxn_kernel_set_find(const char *name, mxn_error *err)
{
    int i;
    char names[128] = "";
    for (i = 0; i < KERNEL_SET_COUNT; i++) {
        const mxn_kernel_set *k = &kernel_sets[i];
        int ok = cpu_supports(k);
        if (!name || !*name || strcmp(name, "auto") == 0) {
            if (ok) return k;
            continue;
        }
        if (strcmp(name, k->name) == 0) {
            if (ok) return k;
            mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "kernel set '%s' needs instructions this CPU lacks", name);
            return NULL;
        }
        if (ok && strlen(names) + strlen(k->name) + 3 < sizeof(names)) {
            if (names[0]) strcat(names, ", ");
            strcat(names, k->name);
        }
    }
    mxn_error_set(err, MXN_ERR_PARAM, "unknown kernel set '%s' (this build and CPU run: auto, %s)",
                  name ? name : "", names);
    return NULL;
}

const mxn_kernel_set *mxn_kernel_set_default(mxn_error *err)
{
    const char *env = getenv("MAIXNN_KERNELS");
    const mxn_kernel_set *k = mxn_kernel_set_find(env, err);
    if (!k) mxn_error_prefix(err, "MAIXNN_KERNELS: ");
    return k;
}

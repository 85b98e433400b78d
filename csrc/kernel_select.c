/* The kernel sets compiled into this build and the choice between them.
 *
 * x86: chosen at run time from cpuid, so one library runs everywhere: SSE2
 * (every x86-64), AVX2+FMA, and AVX-512 VNNI (int8 vpdpwssd on 256-bit
 * registers; its float kernels are AVX2's) where the CPU and OS have them.
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
    {"avx512vnni", 16, 8, mxn_sgemm_avx2, mxn_s8gemm_avx512vnni, mxn_pack_pairs_avx2,
     mxn_quantize_avx2, mxn_dw_f32_avx2, mxn_dw_s8_avx512vnni, mxn_fc_f32_avx2, mxn_fc_s8_avx2},
    {"avx2", 16, 8, mxn_sgemm_avx2, mxn_s8gemm_avx2, mxn_pack_pairs_avx2, mxn_quantize_avx2, mxn_dw_f32_avx2,
     mxn_dw_s8_avx2, mxn_fc_f32_avx2, mxn_fc_s8_avx2},
    {"sse2", 4, 4, mxn_sgemm_sse2, mxn_s8gemm_sse2, mxn_pack_pairs_sse2, NULL, mxn_dw_f32_sse2, mxn_dw_s8_sse2, NULL,
     NULL},
#endif
#ifdef MXN_HAVE_NEON_KERNELS
    {"neon", 4, 4, mxn_sgemm_neon, mxn_s8gemm_neon, mxn_pack_pairs_neon, NULL, mxn_dw_f32_neon, mxn_dw_s8_neon,
     NULL, NULL},
#endif
    {"ref", 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

#define KERNEL_SET_COUNT ((int)(sizeof(kernel_sets) / sizeof(kernel_sets[0])))

static int cpu_supports(const mxn_kernel_set *k)
{
#if defined(MXN_HAVE_X86_KERNELS) && defined(__GNUC__)
    __builtin_cpu_init();
    if (strcmp(k->name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (strcmp(k->name, "avx512vnni") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
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

/* AVX2 quantization of float32 blobs to int8 (mxn_quantize_f32_to_s8, exactly). */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

AVX2 void mxn_quantize_avx2(const float *in, size_t n, float scale, int8_t *out)
{
    const __m256 s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = float2int8_avx2(_mm256_mul_ps(_mm256_loadu_ps(in + i), s));
        __m256i b = float2int8_avx2(_mm256_mul_ps(_mm256_loadu_ps(in + i + 8), s));
        /* packs works within 128-bit lanes: a0 b0 a1 b1 -> reorder */
        __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
        __m128i q = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        _mm_storeu_si128((__m128i *)(out + i), q);
    }
    for (; i < n; i++) out[i] = mxn_float2int8(in[i] * scale);
}

#endif

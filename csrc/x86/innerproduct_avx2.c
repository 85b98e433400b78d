/* AVX2 + FMA fully connected kernels (InnerProduct as GEMV): float32 sums
 * reordered, int8 exact int32 sums. */
#include "avx2_common.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))

/* four output rows at a time share each load of the input */
AVX2 void mxn_fc_f32_avx2(int num_input, int num_output, const float *in, const float *weight, const float *bias,
                          float *out)
{
    int p = 0, i;
    for (; p + 4 <= num_output; p += 4) {
        const float *w0 = weight + (size_t)p * num_input, *w1 = w0 + num_input, *w2 = w1 + num_input,
                    *w3 = w2 + num_input;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float s0, s1, s2, s3;
        for (i = 0; i + 8 <= num_input; i += 8) {
            const __m256 x = _mm256_loadu_ps(in + i);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + i), x, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + i), x, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + i), x, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + i), x, a3);
        }
        s0 = hsum8(a0);
        s1 = hsum8(a1);
        s2 = hsum8(a2);
        s3 = hsum8(a3);
        for (; i < num_input; i++) {
            s0 = fmaf(w0[i], in[i], s0);
            s1 = fmaf(w1[i], in[i], s1);
            s2 = fmaf(w2[i], in[i], s2);
            s3 = fmaf(w3[i], in[i], s3);
        }
        out[p] = (bias ? bias[p] : 0.f) + s0;
        out[p + 1] = (bias ? bias[p + 1] : 0.f) + s1;
        out[p + 2] = (bias ? bias[p + 2] : 0.f) + s2;
        out[p + 3] = (bias ? bias[p + 3] : 0.f) + s3;
    }
    for (; p < num_output; p++) {
        const float *w = weight + (size_t)p * num_input;
        __m256 a = _mm256_setzero_ps();
        float sum;
        for (i = 0; i + 8 <= num_input; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(in + i), a);
        sum = hsum8(a);
        for (; i < num_input; i++) sum = fmaf(w[i], in[i], sum);
        out[p] = (bias ? bias[p] : 0.f) + sum;
    }
}

/* exact int32 sums: 16 products per step through vpmaddwd */
AVX2 void mxn_fc_s8_avx2(int num_input, int num_output, const int8_t *in, const int8_t *weight, int32_t *acc)
{
    int p, i;
    for (p = 0; p < num_output; p++) {
        const int8_t *w = weight + (size_t)p * num_input;
        __m256i a = _mm256_setzero_si256();
        int32_t sum;
        for (i = 0; i + 16 <= num_input; i += 16) {
            const __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(in + i)));
            const __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i)));
            a = _mm256_add_epi32(a, _mm256_madd_epi16(x, y));
        }
        sum = hsum8i(a);
        for (; i < num_input; i++) sum += (int32_t)w[i] * (int32_t)in[i];
        acc[p] = sum;
    }
}

#endif

/* libmaix_nn_feature_compare_*: the fraction of positions where two feature
 * vectors are equal (upstream's intent; its integer division returned 0 or 1). */
#include <stddef.h>
#include "libmaix_nn.h"

float libmaix_nn_feature_compare_int8(int8_t *a, int8_t *b, int len)
{
    int i, same = 0;
    if (!a || !b || len < 1) return -1.f;
    for (i = 0; i < len; i++) same += a[i] == b[i];
    return (float)same / (float)len;
}

float libmaix_nn_feature_compare_float(float *a, float *b, int len)
{
    int i, same = 0;
    if (!a || !b || len < 1) return -1.f;
    for (i = 0; i < len; i++) same += a[i] == b[i];
    return (float)same / (float)len;
}

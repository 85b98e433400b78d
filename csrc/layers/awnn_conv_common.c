/* Shared part of the awnn NPU Convolution / InnerProduct (see awnn_conv_common.h). */
#include <limits.h>
#include <stdlib.h>
#include "awnn_conv_common.h"

int mxn_awnn_conv_core_params(mxn_awnn_conv_core *c, const mxn_paramdict *pd, int bias_id, int wsize_id,
                              mxn_error *err)
{
    int rc, p24, p25, p23;
    c->num_output = mxn_pd_int(pd, 0, 0);
    c->weight_data_size = mxn_pd_int(pd, wsize_id, 0);
    c->bias_term = mxn_pd_int(pd, bias_id, 0);
    if (c->num_output < 1)
        return mxn_error_set(err, MXN_ERR_FORMAT, "num_output (param 0) = %d, expected >= 1", c->num_output);
    if (c->weight_data_size < 1 || c->weight_data_size % c->num_output)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "weight_data_size (param %d) = %d is not a positive multiple of num_output %d",
                             wsize_id, c->weight_data_size, c->num_output);
    /* exact int32 accumulation (the NPU keeps 48 bits, then saturates to 32,
     * 13.1 items 2-3): |sum| <= K * 128 * 128 < 2^31 needs K <= 131071 */
    if (c->weight_data_size / c->num_output > 131071)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "%d weights per output channel: more than the 131071 maixnn accumulates exactly",
                             c->weight_data_size / c->num_output);
    if (c->bias_term != 0 && c->bias_term != 1)
        return mxn_error_set(err, MXN_ERR_FORMAT, "bias_term (param %d) = %d, expected 0 or 1", bias_id, c->bias_term);
    if (mxn_pd_int(pd, 8, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT, "int8_scale_term (param 8) must be 0 in an awnn NPU layer");
    if (mxn_pd_int(pd, 9, 0) != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "a fused activation (param 9) on the NPU is not emulated: what the board does with "
                             "it is unknown (awnn-format.md 13.3.2); write a separate ReLU layer");
    /* 13.3.1 runtime defaults: 19 0, 20 1, 21 1, 22 0, 23 0, 24 0, 25 0, 26 1, 27 0 */
    c->first = mxn_pd_int(pd, 19, 0) != 0;
    if ((rc = mxn_awnn_out_cvt_params(pd, 1, 1, &c->ep.enabled, &c->ep.m, &c->ep.e, err))) return rc;
    p23 = mxn_pd_int(pd, 23, 0);
    if (p23 != 0)
        return mxn_error_set(err, MXN_ERR_NOT_IMPLEMENT,
                             "param 23 = %d (a fused NPU activation) is not emulated: the converter never writes it",
                             p23);
    /* 24: the runtime adds the bias block (Y unit) only for 24 == 2; the bias block exists in
     * the .bin iff bias_term.  MaixHub writes garbage into 24 of a layer without bias
     * (section 9): without bias data any 24 other than 2 means "no bias". */
    p24 = mxn_pd_int(pd, 24, 0);
    if (c->bias_term && p24 != 2)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             "bias_term = 1 but param 24 = %d: the board adds the int16 bias only with 24=2", p24);
    if (!c->bias_term && p24 == 2)
        return mxn_error_set(err, MXN_ERR_FORMAT, "param 24 = 2 (int16 bias) but bias_term = 0: no bias block to read");
    c->ep.has_bias = c->bias_term;
    p25 = mxn_pd_int(pd, 25, 0);
    if (p25 != 0 && p25 != 1)
        return mxn_error_set(err, MXN_ERR_FORMAT, "param 25 = %d, expected 0 or 1 (per-channel multipliers)", p25);
    c->ep.has_mult = p25;
    if ((rc = mxn_awnn_int16_param(pd, 26, 1, "bias rescale multiplier", &c->ep.p26, err))) return rc;
    if ((rc = mxn_awnn_shift_param(pd, 27, 0, "bias rescale shift", &c->ep.p27, err))) return rc;
    return MXN_OK;
}

int mxn_awnn_conv_core_load(mxn_awnn_conv_core *c, mxn_modelbin *mb, mxn_error *err)
{
    int rc;
    if ((rc = mxn_awnn_read_int8_block(mb, (size_t)c->weight_data_size, "int8 weights", &c->weight, err))) return rc;
    if (c->bias_term &&
        (rc = mxn_awnn_read_int16_block(mb, (size_t)c->num_output, "int16 bias", &c->bias, err)))
        return rc;
    if (c->ep.has_mult &&
        (rc = mxn_awnn_read_int16_block(mb, (size_t)c->num_output, "int16 per-channel multipliers", &c->mult, err)))
        return rc;
    return MXN_OK;
}

void mxn_awnn_conv_core_free(mxn_awnn_conv_core *c)
{
    free(c->weight);
    free(c->bias);
    free(c->mult);
    c->weight = NULL;
    c->bias = c->mult = NULL;
}

void mxn_awnn_conv_core_epilogue(const mxn_awnn_conv_core *c, const int32_t *acc, size_t plane, int8_t *out)
{
    int o;
    size_t i;
    for (o = 0; o < c->num_output; o++) {
        const int16_t mult = c->mult ? c->mult[o] : 1024, bias = c->bias ? c->bias[o] : 0;
        const int32_t *a = acc + (size_t)o * plane;
        int8_t *y = out + (size_t)o * plane;
        for (i = 0; i < plane; i++) y[i] = mxn_npu_conv_output(&c->ep, a[i], mult, bias);
    }
}

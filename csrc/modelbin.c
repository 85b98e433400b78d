/* Reading layer arrays from an ncnn .bin held in memory.
 *
 * Array kinds (as ncnn's ModelBinFromDataReader):
 *   raw (type 1): float32 values, no tag;
 *   tagged (type 0): a little-endian uint32 tag, then
 *     0x00000000  float32 values
 *     0x01306B47  float16 values, padded to 4 bytes
 *     0x000D4B38  int8 values, padded to 4 bytes  -> I8 mat
 *     0x0002C056  float32 values
 *     any other non-zero tag: a 256-float codebook, then one uint8 index per
 *                 value, padded to 4 bytes. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "mxn_core.h"

#define TAG_FLOAT32 0x00000000u
#define TAG_FLOAT16 0x01306B47u
#define TAG_INT8 0x000D4B38u
#define TAG_RAW_FLOAT32 0x0002C056u

static uint32_t read_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static float read_f32le(const unsigned char *p)
{
    uint32_t u = read_u32le(p);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    uint32_t bits;
    float f;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {
            /* subnormal half: exact in float as mantissa * 2^-24 */
            f = (float)mantissa * (1.0f / 16777216.0f);
            return sign ? -f : f;
        }
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
    }
    memcpy(&f, &bits, sizeof(f));
    return f;
}

/* check that `need` bytes are available at mb->pos */
static int need_bytes(const mxn_modelbin *mb, size_t need, const char *what, mxn_error *err)
{
    size_t left = mb->pos <= mb->size ? mb->size - mb->pos : 0;
    if (need > left)
        return mxn_error_set(err, MXN_ERR_FORMAT,
                             ".bin truncated: %s needs %zu bytes at byte offset %zu, only %zu left",
                             what, need, mb->pos, left);
    return MXN_OK;
}

static size_t align4(size_t n) { return (n + 3u) & ~(size_t)3u; }

/* Weights that are NaN or infinite make every output they touch NaN/inf
 * without an error anywhere; ncnn loads them silently, maixnn refuses the
 * file (a damaged or badly exported model).  On failure `out` is freed. */
static int check_finite(mxn_mat *out, size_t array_pos, mxn_error *err)
{
    size_t i, n = mxn_mat_total(out);
    const float *v = mxn_mat_f32(out);
    for (i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            int rc = mxn_error_set(err, MXN_ERR_FORMAT,
                                   "weight value %zu of %zu is %s (array at byte offset %zu): "
                                   "weights must be finite numbers",
                                   i, n, isnan(v[i]) ? "NaN" : (v[i] > 0 ? "+inf" : "-inf"), array_pos);
            mxn_mat_free(out);
            return rc;
        }
    }
    return MXN_OK;
}

int mxn_modelbin_read(mxn_modelbin *mb, size_t count, int type, mxn_mat *out, mxn_error *err)
{
    size_t i, bytes;
    const unsigned char *p;
    int rc;

    out->dims = 0;
    out->w = out->h = out->c = 0;
    out->dtype = MXN_F32;
    out->data = NULL;
    out->view = 0;
    if (count == 0 || count > (size_t)INT32_MAX)
        return mxn_error_set(err, MXN_ERR_FORMAT, "invalid weight array size %zu at byte offset %zu",
                             count, mb->pos);
    if (count > SIZE_MAX / 4u)
        return mxn_error_set(err, MXN_ERR_FORMAT, "weight array size %zu too large", count);

    if (type == MXN_BIN_RAW_F32) {
        bytes = count * 4u;
        if ((rc = need_bytes(mb, bytes, "raw float32 array", err))) return rc;
        if ((rc = mxn_mat_alloc(out, 1, (int)count, 1, 1, MXN_F32, err))) return rc;
        p = mb->data + mb->pos;
        for (i = 0; i < count; i++) mxn_mat_f32(out)[i] = read_f32le(p + 4 * i);
        if ((rc = check_finite(out, mb->pos, err))) return rc;
        mb->pos += bytes;
        mb->values_read += count;
        mb->bytes_out += count * mxn_dtype_size(out->dtype);
        return MXN_OK;
    }
    if (type != MXN_BIN_TAGGED)
        return mxn_error_set(err, MXN_ERR_PARAM, "unknown weight array type %d", type);

    {
        size_t tag_pos = mb->pos;
        uint32_t tag;
        if ((rc = need_bytes(mb, 4, "array tag", err))) return rc;
        tag = read_u32le(mb->data + mb->pos);
        mb->pos += 4;
        if (tag == TAG_FLOAT16) {
            bytes = align4(count * 2u);
            if ((rc = need_bytes(mb, bytes, "float16 array", err))) goto fail;
            if ((rc = mxn_mat_alloc(out, 1, (int)count, 1, 1, MXN_F32, err))) goto fail;
            p = mb->data + mb->pos;
            for (i = 0; i < count; i++)
                mxn_mat_f32(out)[i] = half_to_float((uint16_t)(p[2 * i] | (p[2 * i + 1] << 8)));
        } else if (tag == TAG_INT8) {
            bytes = align4(count);
            if ((rc = need_bytes(mb, bytes, "int8 array", err))) goto fail;
            if ((rc = mxn_mat_alloc(out, 1, (int)count, 1, 1, MXN_I8, err))) goto fail;
            memcpy(out->data, mb->data + mb->pos, count);
        } else if (tag == TAG_FLOAT32 || tag == TAG_RAW_FLOAT32) {
            bytes = count * 4u;
            if ((rc = need_bytes(mb, bytes, "float32 array", err))) goto fail;
            if ((rc = mxn_mat_alloc(out, 1, (int)count, 1, 1, MXN_F32, err))) goto fail;
            p = mb->data + mb->pos;
            for (i = 0; i < count; i++) mxn_mat_f32(out)[i] = read_f32le(p + 4 * i);
        } else {
            const unsigned char *book;
            if (count > SIZE_MAX - 1024u - 3u) {
                rc = mxn_error_set(err, MXN_ERR_FORMAT, "weight array size %zu too large", count);
                goto fail;
            }
            bytes = 1024u + align4(count);
            if ((rc = need_bytes(mb, bytes, "codebook-quantized array", err))) goto fail;
            if ((rc = mxn_mat_alloc(out, 1, (int)count, 1, 1, MXN_F32, err))) goto fail;
            book = mb->data + mb->pos;
            p = book + 1024u;
            for (i = 0; i < count; i++) mxn_mat_f32(out)[i] = read_f32le(book + 4u * p[i]);
        }
        if (out->dtype == MXN_F32 && (rc = check_finite(out, tag_pos, err))) goto fail;
        mb->pos += bytes;
        mb->values_read += count;
        mb->bytes_out += count * mxn_dtype_size(out->dtype);
        return MXN_OK;
    fail:
        mb->pos = tag_pos;
        return rc;
    }
}

int mxn_modelbin_read_named(mxn_modelbin *mb, size_t count, int type, const char *what, mxn_mat *out,
                            mxn_error *err)
{
    int rc = mxn_modelbin_read(mb, count, type, out, err);
    if (rc) mxn_error_prefix(err, "%s: ", what);
    return rc;
}

int mxn_modelbin_read_scalar(mxn_modelbin *mb, const char *what, float *out, mxn_error *err)
{
    mxn_mat m;
    int rc = mxn_modelbin_read_named(mb, 1, MXN_BIN_RAW_F32, what, &m, err);
    if (rc) return rc;
    *out = mxn_mat_f32(&m)[0];
    mxn_mat_free(&m);
    return MXN_OK;
}

/* cnnbench_onednn: see shim.h. Measurement peer only; never a dependency of CnnNative. */
#include "shim.h"

#include <dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ARGS = 8 };

typedef struct shim_handle {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    int32_t nargs;
    dnnl_exec_arg_t args[MAX_ARGS]; /* the memories, owned here */
    dnnl_memory_t dst;              /* one of args[] */
    dnnl_memory_desc_t dst_plain;   /* NCHW view of the output, for shim_read_output */
    int32_t threads;                /* OpenMP threads the primitive was created for */
} shim_handle;

static _Thread_local char t_error[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
static dnnl_status_t g_init_status;

static int32_t fail(int32_t status, const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    vsnprintf(t_error, sizeof t_error, format, ap);
    va_end(ap);
    return status;
}

#define CHECK(call)                                                                   \
    do {                                                                              \
        dnnl_status_t s_ = (call);                                                    \
        if (s_ != dnnl_success) return fail((int32_t)s_, "%s failed: status %d", #call, (int)s_); \
    } while (0)

static void init_engine(void) {
    g_init_status = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
    if (g_init_status == dnnl_success) {
        g_init_status = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
    }
}

static int32_t ensure_engine(void) {
    pthread_once(&g_once, init_engine);
    if (g_init_status != dnnl_success) {
        return fail((int32_t)g_init_status, "oneDNN CPU engine/stream creation failed: status %d", (int)g_init_status);
    }
    return 0;
}

static int32_t run_reorder(dnnl_memory_t from, dnnl_memory_t to) {
    const dnnl_memory_desc_t *from_md, *to_md;
    CHECK(dnnl_memory_get_memory_desc(from, &from_md));
    CHECK(dnnl_memory_get_memory_desc(to, &to_md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, from_md, g_engine, to_md, g_engine, NULL));
    dnnl_primitive_t reorder;
    dnnl_status_t s = dnnl_primitive_create(&reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return fail((int32_t)s, "reorder creation failed: status %d", (int)s);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    s = dnnl_primitive_execute(reorder, g_stream, 2, args);
    if (s == dnnl_success) s = dnnl_stream_wait(g_stream);
    dnnl_primitive_destroy(reorder);
    if (s != dnnl_success) return fail((int32_t)s, "reorder failed: status %d", (int)s);
    return 0;
}

/* Adds an argument memory in the layout `want`, filled from `data` (plain layout `plain`,
 * reordered once here) or left uninitialised when data is NULL (outputs). */
static int32_t add_arg(shim_handle* h, int arg, const dnnl_memory_desc_t* want,
                       const dnnl_memory_desc_t* plain, const float* data, dnnl_memory_t* out) {
    if (h->nargs == MAX_ARGS) return fail(-1, "too many arguments");
    dnnl_memory_t mem;
    CHECK(dnnl_memory_create(&mem, want, g_engine, DNNL_MEMORY_ALLOCATE));
    h->args[h->nargs].arg = arg;
    h->args[h->nargs].memory = mem;
    h->nargs++;
    if (out) *out = mem;
    if (!data) return 0;
    dnnl_memory_t user;
    CHECK(dnnl_memory_create(&user, plain, g_engine, (void*)data));
    int32_t status = run_reorder(user, mem); /* a plain copy when the layouts agree */
    dnnl_memory_destroy(user);
    return status;
}

static int32_t plain_md(dnnl_memory_desc_t* md, int ndims, const int64_t* dims, dnnl_format_tag_t tag) {
    dnnl_dims_t full = {0}; /* the API reads a whole DNNL_MAX_NDIMS array */
    memcpy(full, dims, (size_t)ndims * sizeof *dims);
    CHECK(dnnl_memory_desc_init_by_tag(md, ndims, full, dnnl_f32, tag));
    return 0;
}

/* The blocked layout oneDNN's own convolutions produce on this CPU (16 channels per block with
 * AVX-512, 8 otherwise): pooling and batch norm run on it, as they would inside a oneDNN network. */
static dnnl_format_tag_t blocked_tag(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? dnnl_nChw16c : dnnl_nChw8c;
}

/* A new handle holding the primitive descriptor of op_desc (`what` names the op in errors); it
 * records the calling thread's OpenMP thread count, which oneDNN tunes the primitive for. */
static int32_t begin(const void* op_desc, const char* what, shim_handle** out) {
    int32_t status = ensure_engine();
    if (status) return status;
    shim_handle* h = calloc(1, sizeof *h);
    if (!h) return fail(-1, "out of memory");
    h->threads = omp_get_max_threads();
    dnnl_status_t s = dnnl_primitive_desc_create(&h->pd, op_desc, NULL, g_engine, NULL);
    if (s != dnnl_success) {
        free(h);
        return fail((int32_t)s, "oneDNN has no %s implementation for this shape (status %d)", what, (int)s);
    }
    *out = h;
    return 0;
}

/* Creates the primitive (once its arguments are in place) and hands the handle out. */
static int32_t finish(shim_handle* h, void** handle) {
    CHECK(dnnl_primitive_create(&h->primitive, h->pd));
    *handle = h;
    return 0;
}

#define TRY(call)                       \
    do {                                \
        int32_t st_ = (call);           \
        if (st_ != 0) {                 \
            shim_destroy(h);            \
            return st_;                 \
        }                               \
    } while (0)

int32_t shim_set_threads(int32_t threads) {
    if (threads < 1 || threads > 1024) return fail(-1, "threads = %d, expected 1 ... 1024", threads);
    omp_set_num_threads(threads);
    return 0;
}

int32_t shim_get_threads(void) { return omp_get_max_threads(); }

static int positive(int32_t v) { return v >= 1; }

/* Checks a window against an input size and gives the output size (floor mode, as torch). */
static int32_t window_output(const shim_window* w, int32_t in_h, int32_t in_w, int64_t* out_h, int64_t* out_w) {
    if (!positive(in_h) || !positive(in_w) || !positive(w->kernel_h) || !positive(w->kernel_w) ||
        !positive(w->stride_h) || !positive(w->stride_w) || w->pad_h < 0 || w->pad_w < 0)
        return fail(-1, "invalid window or input size");
    *out_h = ((int64_t)in_h + 2 * w->pad_h - w->kernel_h) / w->stride_h + 1;
    *out_w = ((int64_t)in_w + 2 * w->pad_w - w->kernel_w) / w->stride_w + 1;
    if (*out_h < 1 || *out_w < 1) return fail(-1, "the window does not fit the padded input");
    return 0;
}

int32_t shim_conv_create(const shim_conv_desc* d, void** handle) {
    if (!d || !handle || !d->input || !d->weight) return fail(-1, "null argument");
    *handle = NULL;
    if (!positive(d->batch) || !positive(d->in_channels) || !positive(d->out_channels) || !positive(d->groups) ||
        d->in_channels % d->groups || d->out_channels % d->groups)
        return fail(-1, "invalid convolution description");
    const shim_window* w = &d->window;
    int64_t oh, ow;
    int32_t status = window_output(w, d->in_height, d->in_width, &oh, &ow);
    if (status) return status;

    int64_t g = d->groups;
    int64_t src_dims[4] = {d->batch, d->in_channels, d->in_height, d->in_width};
    int64_t dst_dims[4] = {d->batch, d->out_channels, oh, ow};
    int64_t w_dims_plain[4] = {d->out_channels, d->in_channels / g, w->kernel_h, w->kernel_w};
    int64_t w_dims_grouped[5] = {g, d->out_channels / g, d->in_channels / g, w->kernel_h, w->kernel_w};
    int w_ndims = g > 1 ? 5 : 4;
    const int64_t* w_dims = g > 1 ? w_dims_grouped : w_dims_plain;
    dnnl_format_tag_t w_tag = g > 1 ? dnnl_goihw : dnnl_oihw;

    dnnl_memory_desc_t src_any, w_any, dst_any, src_nchw, w_plain;
    if ((status = plain_md(&src_any, 4, src_dims, dnnl_format_tag_any)) ||
        (status = plain_md(&w_any, w_ndims, w_dims, dnnl_format_tag_any)) ||
        (status = plain_md(&dst_any, 4, dst_dims, dnnl_format_tag_any)) ||
        (status = plain_md(&src_nchw, 4, src_dims, dnnl_nchw)) ||
        (status = plain_md(&w_plain, w_ndims, w_dims, w_tag)))
        return status;

    dnnl_dims_t strides = {w->stride_h, w->stride_w};
    dnnl_dims_t dilates = {0, 0}; /* oneDNN counts dilation from 0 */
    dnnl_dims_t pad = {w->pad_h, w->pad_w};
    dnnl_convolution_desc_t cd;
    CHECK(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_any,
                                                     &w_any, NULL, &dst_any, strides, dilates, pad, pad));
    shim_handle* h = NULL;
    if ((status = begin(&cd, "convolution", &h))) return status;
    TRY(plain_md(&h->dst_plain, 4, dst_dims, dnnl_nchw));
    TRY(add_arg(h, DNNL_ARG_SRC, dnnl_primitive_desc_query_md(h->pd, dnnl_query_src_md, 0), &src_nchw, d->input, NULL));
    TRY(add_arg(h, DNNL_ARG_WEIGHTS, dnnl_primitive_desc_query_md(h->pd, dnnl_query_weights_md, 0), &w_plain, d->weight, NULL));
    TRY(add_arg(h, DNNL_ARG_DST, dnnl_primitive_desc_query_md(h->pd, dnnl_query_dst_md, 0), NULL, NULL, &h->dst));
    TRY(finish(h, handle));
    return 0;
}

int32_t shim_pool_create(const shim_pool_desc* d, void** handle) {
    if (!d || !handle || !d->input) return fail(-1, "null argument");
    *handle = NULL;
    if (!positive(d->batch) || !positive(d->channels)) return fail(-1, "invalid pooling description");
    const shim_window* w = &d->window;
    int64_t oh, ow;
    int32_t status = window_output(w, d->in_height, d->in_width, &oh, &ow);
    if (status) return status;

    int64_t src_dims[4] = {d->batch, d->channels, d->in_height, d->in_width};
    int64_t dst_dims[4] = {d->batch, d->channels, oh, ow};
    dnnl_memory_desc_t src_plain, src_md, dst_md, dst_plain;
    if ((status = plain_md(&src_plain, 4, src_dims, dnnl_nchw)) || (status = plain_md(&dst_plain, 4, dst_dims, dnnl_nchw)) ||
        (status = plain_md(&src_md, 4, src_dims, blocked_tag())) || (status = plain_md(&dst_md, 4, dst_dims, blocked_tag())))
        return status;
    dnnl_dims_t strides = {w->stride_h, w->stride_w};
    dnnl_dims_t kernel = {w->kernel_h, w->kernel_w};
    dnnl_dims_t dilation = {0, 0};
    dnnl_dims_t pad = {w->pad_h, w->pad_w};
    dnnl_pooling_v2_desc_t pdsc;
    CHECK(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, dnnl_pooling_max, &src_md, &dst_md,
                                            strides, kernel, dilation, pad, pad));
    shim_handle* h = NULL;
    if ((status = begin(&pdsc, "pooling", &h))) return status;
    h->dst_plain = dst_plain;
    TRY(add_arg(h, DNNL_ARG_SRC, &src_md, &src_plain, d->input, NULL));
    TRY(add_arg(h, DNNL_ARG_DST, &dst_md, NULL, NULL, &h->dst));
    TRY(finish(h, handle));
    return 0;
}

int32_t shim_bn_create(const shim_bn_desc* d, void** handle) {
    if (!d || !handle || !d->input || !d->mean || !d->var || !d->gamma || !d->beta) return fail(-1, "null argument");
    *handle = NULL;
    if (!positive(d->batch) || !positive(d->channels) || !positive(d->height) || !positive(d->width) || !(d->eps > 0))
        return fail(-1, "invalid batch norm description");
    int32_t status;
    int64_t dims[4] = {d->batch, d->channels, d->height, d->width};
    int64_t cdims[1] = {d->channels};
    dnnl_memory_desc_t data_plain, data_md, c_md;
    if ((status = plain_md(&data_plain, 4, dims, dnnl_nchw)) || (status = plain_md(&data_md, 4, dims, blocked_tag())) ||
        (status = plain_md(&c_md, 1, cdims, dnnl_x)))
        return status;
    dnnl_batch_normalization_desc_t bd;
    CHECK(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, &data_md, d->eps,
                                                     dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift));
    shim_handle* h = NULL;
    if ((status = begin(&bd, "batch norm", &h))) return status;
    h->dst_plain = data_plain;
    TRY(add_arg(h, DNNL_ARG_SRC, &data_md, &data_plain, d->input, NULL));
    TRY(add_arg(h, DNNL_ARG_MEAN, &c_md, &c_md, d->mean, NULL));
    TRY(add_arg(h, DNNL_ARG_VARIANCE, &c_md, &c_md, d->var, NULL));
    TRY(add_arg(h, DNNL_ARG_SCALE, &c_md, &c_md, d->gamma, NULL));
    TRY(add_arg(h, DNNL_ARG_SHIFT, &c_md, &c_md, d->beta, NULL));
    TRY(add_arg(h, DNNL_ARG_DST, &data_md, NULL, NULL, &h->dst));
    TRY(finish(h, handle));
    return 0;
}

int32_t shim_run(void* handle) {
    shim_handle* h = handle;
    if (!h || !h->primitive) return fail(-1, "null handle");
    if (omp_get_max_threads() != h->threads) omp_set_num_threads(h->threads);
    CHECK(dnnl_primitive_execute(h->primitive, g_stream, h->nargs, h->args));
    CHECK(dnnl_stream_wait(g_stream));
    return 0;
}

int32_t shim_read_output(void* handle, float* dst, int64_t count) {
    shim_handle* h = handle;
    if (!h || !dst) return fail(-1, "null argument");
    size_t bytes = dnnl_memory_desc_get_size(&h->dst_plain);
    if ((size_t)count * sizeof(float) != bytes)
        return fail(-1, "count = %lld, the output has %zu elements", (long long)count, bytes / sizeof(float));
    dnnl_memory_t user;
    CHECK(dnnl_memory_create(&user, &h->dst_plain, g_engine, dst));
    int32_t status = run_reorder(h->dst, user);
    dnnl_memory_destroy(user);
    return status;
}

static int32_t copy_string(const char* text, char* buffer, int32_t capacity) {
    if (!buffer || capacity < 1) return fail(-1, "capacity = %d, expected >= 1", capacity);
    snprintf(buffer, (size_t)capacity, "%s", text ? text : "");
    return 0;
}

int32_t shim_impl_info(void* handle, char* buffer, int32_t capacity) {
    shim_handle* h = handle;
    if (!h) return fail(-1, "null handle");
    const char* info = NULL;
    CHECK(dnnl_primitive_desc_query(h->pd, dnnl_query_impl_info_str, 0, &info));
    return copy_string(info, buffer, capacity);
}

int32_t shim_version(char* buffer, int32_t capacity) {
    const dnnl_version_t* v = dnnl_version();
    char text[96];
    snprintf(text, sizeof text, "%d.%d.%d (cpu runtime %s)", v->major, v->minor, v->patch,
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
             : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential" : v->cpu_runtime == DNNL_RUNTIME_THREADPOOL ? "threadpool" : "other");
    return copy_string(text, buffer, capacity);
}

const char* shim_last_error(void) { return t_error; }

void shim_destroy(void* handle) {
    shim_handle* h = handle;
    if (!h) return;
    for (int32_t i = 0; i < h->nargs; i++) dnnl_memory_destroy(h->args[i].memory);
    if (h->primitive) dnnl_primitive_destroy(h->primitive);
    if (h->pd) dnnl_primitive_desc_destroy(h->pd);
    free(h);
}

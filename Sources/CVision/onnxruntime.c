#include "CVision.h"

#include <onnxruntime_c_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cv_session {
    const OrtApi *api;
    OrtEnv *env;
    OrtSession *session;
    OrtMemoryInfo *memory;
    char *input_name;
    char *output_name;
};

static const OrtApi *ort(void) {
    return OrtGetApiBase()->GetApi(ORT_API_VERSION);
}

/// Copies the status's message to `error` and releases it; returns 1 when there was an error.
static int failed(const OrtApi *api, OrtStatus *status, char *error, size_t error_size) {
    if (status == NULL) return 0;
    if (error && error_size) snprintf(error, error_size, "%s", api->GetErrorMessage(status));
    api->ReleaseStatus(status);
    return 1;
}

const char *cv_runtime_version(void) {
    return OrtGetApiBase()->GetVersionString();
}

void cv_session_destroy(cv_session *s) {
    if (!s) return;
    OrtAllocator *allocator = NULL;
    if (s->api->GetAllocatorWithDefaultOptions(&allocator) == NULL && allocator) {
        if (s->input_name) allocator->Free(allocator, s->input_name);
        if (s->output_name) allocator->Free(allocator, s->output_name);
    }
    if (s->memory) s->api->ReleaseMemoryInfo(s->memory);
    if (s->session) s->api->ReleaseSession(s->session);
    if (s->env) s->api->ReleaseEnv(s->env);
    free(s);
}

cv_session *cv_session_create(const char *model_path, int threads, char *error, size_t error_size) {
    const OrtApi *api = ort();
    if (!api) {
        snprintf(error, error_size, "the ONNX Runtime library does not offer API version %d", ORT_API_VERSION);
        return NULL;
    }
    cv_session *s = calloc(1, sizeof(cv_session));
    if (!s) return NULL;
    s->api = api;
    OrtSessionOptions *options = NULL;
    if (failed(api, api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "vigil", &s->env), error, error_size)
        || failed(api, api->CreateSessionOptions(&options), error, error_size)
        || failed(api, api->SetIntraOpNumThreads(options, threads), error, error_size)
        || failed(api, api->SetInterOpNumThreads(options, 1), error, error_size)
        || failed(api, api->SetSessionGraphOptimizationLevel(options, ORT_ENABLE_ALL), error, error_size)
        || failed(api, api->CreateSession(s->env, model_path, options, &s->session), error, error_size)
        || failed(api, api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &s->memory), error, error_size)) {
        if (options) api->ReleaseSessionOptions(options);
        cv_session_destroy(s);
        return NULL;
    }
    api->ReleaseSessionOptions(options);
    OrtAllocator *allocator = NULL;
    if (failed(api, api->GetAllocatorWithDefaultOptions(&allocator), error, error_size)
        || failed(api, api->SessionGetInputName(s->session, 0, allocator, &s->input_name), error, error_size)
        || failed(api, api->SessionGetOutputName(s->session, 0, allocator, &s->output_name), error, error_size)) {
        cv_session_destroy(s);
        return NULL;
    }
    return s;
}

/// The static shape of the model's first input or output (dynamic dimensions are -1).
static int tensor_shape(cv_session *s, int output, int64_t *dims, size_t max_dims) {
    const OrtApi *api = s->api;
    OrtTypeInfo *info = NULL;
    const OrtTensorTypeAndShapeInfo *tensor = NULL;
    size_t count = 0;
    OrtStatus *status = output ? api->SessionGetOutputTypeInfo(s->session, 0, &info) : api->SessionGetInputTypeInfo(s->session, 0, &info);
    if (failed(api, status, NULL, 0)) return -1;
    int result = -1;
    if (!failed(api, api->CastTypeInfoToTensorInfo(info, &tensor), NULL, 0) && tensor
        && !failed(api, api->GetDimensionsCount(tensor, &count), NULL, 0) && count <= max_dims
        && !failed(api, api->GetDimensions(tensor, dims, count), NULL, 0)) {
        result = (int)count;
    }
    api->ReleaseTypeInfo(info);
    return result;
}

int cv_session_input_shape(cv_session *s, int64_t *dims, size_t max_dims) {
    return tensor_shape(s, 0, dims, max_dims);
}

int cv_session_output_shape(cv_session *s, int64_t *dims, size_t max_dims) {
    return tensor_shape(s, 1, dims, max_dims);
}

int64_t cv_session_metadata(cv_session *s, const char *key, char *value, size_t value_size) {
    const OrtApi *api = s->api;
    OrtModelMetadata *metadata = NULL;
    OrtAllocator *allocator = NULL;
    char *found = NULL;
    int64_t result = -1;
    if (failed(api, api->GetAllocatorWithDefaultOptions(&allocator), NULL, 0)
        || failed(api, api->SessionGetModelMetadata(s->session, &metadata), NULL, 0)) {
        return -1;
    }
    if (!failed(api, api->ModelMetadataLookupCustomMetadataMap(metadata, allocator, key, &found), NULL, 0) && found) {
        result = (int64_t)strlen(found);
        if (value && value_size) snprintf(value, value_size, "%s", found);
        allocator->Free(allocator, found);
    }
    api->ReleaseModelMetadata(metadata);
    return result;
}

int64_t cv_session_run(cv_session *s, const float *input, const int64_t *input_dims, size_t input_rank,
                       float *output, size_t output_capacity, int64_t *output_dims, size_t *output_rank,
                       char *error, size_t error_size) {
    const OrtApi *api = s->api;
    size_t elements = 1;
    for (size_t i = 0; i < input_rank; i++) elements *= (size_t)input_dims[i];
    OrtValue *input_value = NULL;
    OrtValue *output_value = NULL;
    int64_t result = -1;
    if (failed(api, api->CreateTensorWithDataAsOrtValue(s->memory, (void *)input, elements * sizeof(float), input_dims, input_rank,
                                                        ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &input_value), error, error_size)) {
        return -1;
    }
    const char *input_names[] = {s->input_name};
    const char *output_names[] = {s->output_name};
    if (!failed(api, api->Run(s->session, NULL, input_names, (const OrtValue *const *)&input_value, 1, output_names, 1, &output_value),
                error, error_size)) {
        OrtTensorTypeAndShapeInfo *shape = NULL;
        size_t count = 0, rank = 0;
        float *data = NULL;
        if (!failed(api, api->GetTensorTypeAndShape(output_value, &shape), error, error_size)) {
            if (!failed(api, api->GetTensorShapeElementCount(shape, &count), error, error_size)
                && !failed(api, api->GetDimensionsCount(shape, &rank), error, error_size)
                && rank <= *output_rank
                && !failed(api, api->GetDimensions(shape, output_dims, rank), error, error_size)
                && !failed(api, api->GetTensorMutableData(output_value, (void **)&data), error, error_size)) {
                if (count > output_capacity) {
                    snprintf(error, error_size, "the model's output has %zu values, more than the %zu expected", count, output_capacity);
                } else {
                    memcpy(output, data, count * sizeof(float));
                    *output_rank = rank;
                    result = (int64_t)count;
                }
            }
            api->ReleaseTensorTypeAndShapeInfo(shape);
        }
        api->ReleaseValue(output_value);
    }
    api->ReleaseValue(input_value);
    return result;
}

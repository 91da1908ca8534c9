// Experiment (not part of the library): a Linear layer y = x @ W + b (optionally ReLU) as an XLA FFI
// custom call into OpenBLAS's sgemm, to measure whether bypassing XLA:CPU's own dot helps small batches.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

// cblas_sgemm with 64-bit integers (scipy-openblas's ILP64 build); enums are ints.
using Sgemm = void (*)(int, int, int, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                       float, float*, int64_t);
static Sgemm sgemm = nullptr;

extern "C" void tinyjax_set_sgemm(void* fn) { sgemm = reinterpret_cast<Sgemm>(fn); }

static ffi::Error Dense(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w, ffi::Buffer<ffi::F32> b,
                        ffi::ResultBuffer<ffi::F32> y, bool relu) {
  if (sgemm == nullptr) return ffi::Error(ffi::ErrorCode::kFailedPrecondition, "sgemm not set");
  const int64_t m = x.dimensions()[0], k = x.dimensions()[1], n = w.dimensions()[1];
  float* out = y->typed_data();
  const float* bias = b.typed_data();
  for (int64_t i = 0; i < m; ++i) std::memcpy(out + i * n, bias, n * sizeof(float));
  sgemm(101, 111, 111, m, n, k, 1.0f, x.typed_data(), k, w.typed_data(), n, 1.0f, out, n);
  if (relu) {
    for (int64_t i = 0; i < m * n; ++i) out[i] = std::max(out[i], 0.0f);
  }
  return ffi::Error::Success();
}

XLA_FFI_DEFINE_HANDLER_SYMBOL(TinyjaxDense, Dense,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Attr<bool>("relu"));

// Fused preprocessing core; see preprocess.hpp.
//
// Spec checks, letterbox geometry, cv2-compatible tap tables (INTER_LINEAR; INTER_AREA: an
// exact area average when shrinking, cv2's own linear-like rule otherwise), per-thread plans,
// the choice of row kernel (rows_kernels.inc) and the split of items into row bands.
#include "preprocess.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "resample.hpp"
#include "thread_pool.hpp"

namespace peakline {

namespace {

// cv2's INTER_LINEAR rule (and, with area_mode, the rule INTER_AREA uses when enlarging).
void linear_taps(int src, int dst, bool area_mode, Taps& t) {
  const double inv_scale = static_cast<double>(dst) / src;
  const double scale = 1.0 / inv_scale;
  t.k = 2;
  t.idx.resize(static_cast<std::size_t>(dst) * 2);
  t.w.resize(static_cast<std::size_t>(dst) * 2);
  for (int d = 0; d < dst; ++d) {
    float f;
    int s;
    if (!area_mode) {
      f = static_cast<float>((d + 0.5) * scale - 0.5);
      s = static_cast<int>(std::floor(f));
      f -= static_cast<float>(s);
    } else {
      s = static_cast<int>(std::floor(d * scale));
      f = static_cast<float>((d + 1) - (s + 1) * inv_scale);
      f = f <= 0 ? 0.f : f - std::floor(f);
    }
    if (s < 0) {
      f = 0.f;
      s = 0;
    }
    if (s >= src - 1) {
      f = 0.f;
      s = src - 1;
    }
    t.idx[2 * d] = s;
    t.idx[2 * d + 1] = std::min(s + 1, src - 1);
    t.w[2 * d] = 1.f - f;
    t.w[2 * d + 1] = f;
  }
}

// cv2's INTER_AREA rule when shrinking: each output sample averages the source cells it
// covers, partial cells weighted by the covered fraction.
void area_taps(int src, int dst, Taps& t) {
  const double scale = 1.0 / (static_cast<double>(dst) / src);
  // visit(d, fn) calls fn(source index, weight) for every tap of output sample d.
  auto visit = [&](int d, auto&& fn) {
    const double fs1 = d * scale;
    const double fs2 = fs1 + scale;
    const double cell = std::min(scale, src - fs1);
    int s1 = static_cast<int>(std::ceil(fs1));
    int s2 = static_cast<int>(std::floor(fs2));
    s2 = std::min(s2, src - 1);
    s1 = std::min(s1, s2);
    if (s1 - fs1 > 1e-3) fn(s1 - 1, static_cast<float>((s1 - fs1) / cell));
    for (int s = s1; s < s2; ++s) fn(s, static_cast<float>(1.0 / cell));
    if (fs2 - s2 > 1e-3) {
      fn(s2, static_cast<float>(std::min(std::min(fs2 - s2, 1.0), cell) / cell));
    }
  };
  int k = 1;
  for (int d = 0; d < dst; ++d) {
    int count = 0;
    visit(d, [&](int, float) { ++count; });
    k = std::max(k, count);
  }
  t.k = k;
  t.idx.assign(static_cast<std::size_t>(dst) * k, 0);
  t.w.assign(static_cast<std::size_t>(dst) * k, 0.f);
  for (int d = 0; d < dst; ++d) {
    const std::size_t o = static_cast<std::size_t>(d) * k;
    int j = 0;
    visit(d, [&](int s, float w) {
      t.idx[o + j] = s;
      t.w[o + j] = w;
      ++j;
    });
    for (int r = j; r < k; ++r) t.idx[o + r] = j > 0 ? t.idx[o + j - 1] : 0;  // weight 0
  }
}

void make_taps(int src, int dst, int mode, Taps& t) {
  if (mode == kArea) {
    area_taps(src, dst, t);
  } else {
    linear_taps(src, dst, mode == kAreaLinear, t);
  }
}

// The calling thread's plan for this ROI size and geometry (rebuilt only when they change).
Plan& thread_plan(const Roi& roi, const Geometry& g, ResizeMode resize) {
  thread_local Plan plan;
  int mode = kLinear;
  if (resize == ResizeMode::Area) {
    mode = (roi.w >= g.inner_w && roi.h >= g.inner_h) ? kArea : kAreaLinear;
  }
  if (plan.roi_w == roi.w && plan.roi_h == roi.h && plan.inner_w == g.inner_w &&
      plan.inner_h == g.inner_h && plan.mode == mode) {
    return plan;
  }
  if (plan.roi_w != roi.w || plan.inner_w != g.inner_w || plan.mode != mode) {
    make_taps(roi.w, g.inner_w, mode, plan.tx);
    plan.xo0.resize(static_cast<std::size_t>(g.inner_w));
    plan.xo1.resize(static_cast<std::size_t>(g.inner_w));
    plan.xf.resize(static_cast<std::size_t>(g.inner_w));
    plan.xidx3.resize(plan.tx.idx.size());
    for (std::size_t i = 0; i < plan.tx.idx.size(); ++i) plan.xidx3[i] = 3 * plan.tx.idx[i];
    if (plan.tx.k == 2) {
      for (int x = 0; x < g.inner_w; ++x) {
        plan.xo0[x] = 3 * plan.tx.idx[2 * x];
        plan.xo1[x] = 3 * plan.tx.idx[2 * x + 1];
        plan.xf[x] = plan.tx.w[2 * x + 1];
      }
    }
  }
  if (plan.roi_h != roi.h || plan.inner_h != g.inner_h || plan.mode != mode) {
    make_taps(roi.h, g.inner_h, mode, plan.ty);
    plan.src_rows.resize(static_cast<std::size_t>(plan.ty.k));
  }
  plan.vsum.assign(static_cast<std::size_t>(roi.w) * 3 + kRowPad, 0.f);
  plan.roi_w = roi.w;
  plan.roi_h = roi.h;
  plan.inner_w = g.inner_w;
  plan.inner_h = g.inner_h;
  plan.mode = mode;
  return plan;
}

Affine make_affine(const Spec& spec) {
  Affine af;
  af.channels = spec.channels();
  af.swap_rb = spec.color != Color::BGR;
  af.as_u8 = spec.output == OutputType::UInt8;
  for (int c = 0; c < af.channels; ++c) {
    const std::size_t i = spec.mean.size() == 1 ? 0 : static_cast<std::size_t>(c);
    const std::size_t j = spec.std.size() == 1 ? 0 : static_cast<std::size_t>(c);
    af.a[c] = af.as_u8 ? 1.f : static_cast<float>(spec.scale / spec.std[j]);
    af.b[c] = af.as_u8 ? 0.f : static_cast<float>(-spec.mean[i] / spec.std[j]);
    af.fill[c] = static_cast<float>(spec.fill) * af.a[c] + af.b[c];
  }
  return af;
}

bool cpu_has_avx2() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

std::atomic<RowsFn> rows_fn{cpu_has_avx2() ? &kavx2::rows : &kbase::rows};

std::string describe(const Roi& r) {
  std::ostringstream s;
  s << "(x=" << r.x << ", y=" << r.y << ", w=" << r.w << ", h=" << r.h << ")";
  return s.str();
}

}  // namespace

std::size_t Spec::item_elems() const {
  return static_cast<std::size_t>(channels()) * static_cast<std::size_t>(height) *
         static_cast<std::size_t>(width);
}

std::size_t Spec::item_bytes() const {
  return item_elems() * (output == OutputType::Float32 ? sizeof(float) : 1);
}

void Spec::validate() const {
  if (width <= 0 || height <= 0) {
    throw std::invalid_argument("zero-size output: spec is " + std::to_string(width) + "x" +
                                std::to_string(height) + ", both must be >= 1");
  }
  if (width > 65536 || height > 65536) {
    throw std::invalid_argument("output size " + std::to_string(width) + "x" +
                                std::to_string(height) + " is too large (max 65536)");
  }
  if (fill < 0 || fill > 255) {
    throw std::invalid_argument("fill must be a pixel value 0..255, got " + std::to_string(fill));
  }
  if (!std::isfinite(scale)) throw std::invalid_argument("scale must be finite");
  const std::size_t c = static_cast<std::size_t>(channels());
  auto check = [&](const std::vector<double>& v, const char* name) {
    const bool uniform = std::all_of(v.begin(), v.end(), [&](double x) { return x == v[0]; });
    const bool ok = v.size() == c || v.size() == 1 || (c == 1 && v.size() == 3 && uniform);
    if (!ok) {
      std::ostringstream s;
      s << name << " has " << v.size() << " values; a " << (c == 1 ? "gray" : "3-channel")
        << " spec takes " << c << (c == 1 ? " (or 3 equal ones)" : " (or 1 for all)");
      throw std::invalid_argument(s.str());
    }
    for (double x : v) {
      if (!std::isfinite(x)) throw std::invalid_argument(std::string(name) + " must be finite");
    }
  };
  check(mean, "mean");
  check(std, "std");
  for (double s : std) {
    if (s == 0.0) throw std::invalid_argument("std contains 0 (division by zero)");
  }
}

Geometry geometry(int src_w, int src_h, const Spec& spec) {
  Geometry g;
  if (spec.fit == Fit::Stretch) {
    g.scale = static_cast<double>(spec.width) / src_w;
    g.inner_w = spec.width;
    g.inner_h = spec.height;
    return g;
  }
  g.scale = std::min(static_cast<double>(spec.width) / src_w,
                     static_cast<double>(spec.height) / src_h);
  g.inner_w = std::clamp(static_cast<int>(std::lround(src_w * g.scale)), 1, spec.width);
  g.inner_h = std::clamp(static_cast<int>(std::lround(src_h * g.scale)), 1, spec.height);
  g.pad_x = (spec.width - g.inner_w) / 2;
  g.pad_y = (spec.height - g.inner_h) / 2;
  return g;
}

void check_roi(const Frame& frame, const Roi& roi, const std::string& what) {
  if (roi.w <= 0 || roi.h <= 0) {
    throw std::invalid_argument(what + " " + describe(roi) + " is empty (w and h must be >= 1)");
  }
  const bool inside = roi.x >= 0 && roi.y >= 0 &&
                      static_cast<long long>(roi.x) + roi.w <= frame.width &&
                      static_cast<long long>(roi.y) + roi.h <= frame.height;
  if (!inside) {
    throw std::invalid_argument(what + " " + describe(roi) + " lies outside the " +
                                std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                                " frame");
  }
}

void preprocess_rows(const Item& item, const Spec& spec, int row_begin, int row_end) {
  const Geometry g = geometry(item.roi.w, item.roi.h, spec);
  Plan& plan = thread_plan(item.roi, g, spec.resize);
  rows_fn.load(std::memory_order_relaxed)(item, spec, g, make_affine(spec), plan, row_begin,
                                          row_end);
}

const char* kernel_name() { return rows_fn.load() == &kavx2::rows ? "avx2" : "baseline"; }

void set_kernel(const std::string& name) {
  if (name == "baseline") {
    rows_fn = &kbase::rows;
  } else if (name == "avx2" || name == "auto") {
    if (name == "avx2" && !cpu_has_avx2()) {
      throw std::invalid_argument("this CPU has no AVX2+FMA");
    }
    rows_fn = cpu_has_avx2() ? &kavx2::rows : &kbase::rows;
  } else {
    throw std::invalid_argument("kernel must be 'auto', 'avx2' or 'baseline'; got '" + name + "'");
  }
}

void preprocess_items(const Item* items, std::size_t n, const Spec& spec, ThreadPool& pool,
                      unsigned threads) {
  if (n == 0) return;
  if (threads == 0) threads = ThreadPool::default_threads();
  // Enough bands for the threads to balance, none thinner than 8 rows.
  const std::size_t want = (static_cast<std::size_t>(threads) * 4 + n - 1) / n;
  const std::size_t max_bands = std::max<std::size_t>(1, static_cast<std::size_t>(spec.height) / 8);
  const std::size_t bands = threads <= 1 ? 1 : std::clamp<std::size_t>(want, 1, max_bands);
  const int H = spec.height;
  pool.parallel_for(n * bands, threads, [&](std::size_t task) {
    const std::size_t i = task / bands, b = task % bands;
    const int r0 = static_cast<int>(H * b / bands);
    const int r1 = static_cast<int>(H * (b + 1) / bands);
    preprocess_rows(items[i], spec, r0, r1);
  });
}

}  // namespace peakline

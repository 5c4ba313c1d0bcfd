// Fused preprocessing core; see preprocess.hpp.
//
// Per output row: a vertical pass blends the source rows the row needs (uint8 -> float, over
// the ROI's width), then a horizontal pass gathers the taps of every output column and writes
// each channel plane directly as value * a[c] + b[c] (colour order, scale, mean and std folded
// into one multiply-add). Tap tables follow cv2.resize: INTER_LINEAR, and INTER_AREA (an
// exact area average when shrinking, cv2's own linear-like rule otherwise).
#include "preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "thread_pool.hpp"

namespace peakline {

namespace {

// Source taps for every output sample along one axis: k per sample, indices relative to the
// ROI's first pixel, padded with zero weights so every sample has exactly k.
struct Taps {
  int src = -1, dst = -1, mode = -1;  // what the table was made for (a cache key)
  int k = 0;
  std::vector<int> idx;
  std::vector<float> w;
};

enum TapMode : int { kLinear = 0, kAreaLinear = 1, kArea = 2 };

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
  std::vector<std::vector<std::pair<int, float>>> per(dst);
  std::size_t k = 1;
  for (int d = 0; d < dst; ++d) {
    const double fs1 = d * scale;
    const double fs2 = fs1 + scale;
    const double cell = std::min(scale, src - fs1);
    int s1 = static_cast<int>(std::ceil(fs1));
    int s2 = static_cast<int>(std::floor(fs2));
    s2 = std::min(s2, src - 1);
    s1 = std::min(s1, s2);
    auto& taps = per[d];
    if (s1 - fs1 > 1e-3) taps.emplace_back(s1 - 1, static_cast<float>((s1 - fs1) / cell));
    for (int s = s1; s < s2; ++s) taps.emplace_back(s, static_cast<float>(1.0 / cell));
    if (fs2 - s2 > 1e-3) {
      taps.emplace_back(s2, static_cast<float>(std::min(std::min(fs2 - s2, 1.0), cell) / cell));
    }
    k = std::max(k, taps.size());
  }
  t.k = static_cast<int>(k);
  t.idx.assign(static_cast<std::size_t>(dst) * k, 0);
  t.w.assign(static_cast<std::size_t>(dst) * k, 0.f);
  for (int d = 0; d < dst; ++d) {
    const auto& taps = per[d];
    for (std::size_t j = 0; j < k; ++j) {
      const std::size_t o = static_cast<std::size_t>(d) * k + j;
      if (j < taps.size()) {
        t.idx[o] = taps[j].first;
        t.w[o] = taps[j].second;
      } else {
        t.idx[o] = taps.empty() ? 0 : taps.back().first;
      }
    }
  }
}

void make_taps(int src, int dst, int mode, Taps& t) {
  if (t.src == src && t.dst == dst && t.mode == mode) return;
  if (mode == kArea) {
    area_taps(src, dst, t);
  } else {
    linear_taps(src, dst, mode == kAreaLinear, t);
  }
  t.src = src;
  t.dst = dst;
  t.mode = mode;
}

// Per output channel: which BGR channel it reads and value = v * a + b.
struct Affine {
  int channels = 3;
  int src[3] = {2, 1, 0};
  float a[3] = {1, 1, 1};
  float b[3] = {0, 0, 0};
  float fill[3] = {0, 0, 0};
};

Affine make_affine(const Spec& spec) {
  Affine af;
  af.channels = spec.channels();
  if (spec.color == Color::BGR) {
    af.src[0] = 0;
    af.src[2] = 2;
  }
  const bool as_float = spec.output == OutputType::Float32;
  for (int c = 0; c < af.channels; ++c) {
    const std::size_t i = spec.mean.size() == 1 ? 0 : static_cast<std::size_t>(c);
    const std::size_t j = spec.std.size() == 1 ? 0 : static_cast<std::size_t>(c);
    af.a[c] = as_float ? static_cast<float>(spec.scale / spec.std[j]) : 1.f;
    af.b[c] = as_float ? static_cast<float>(-spec.mean[i] / spec.std[j]) : 0.f;
    af.fill[c] = static_cast<float>(spec.fill) * af.a[c] + af.b[c];
  }
  return af;
}

constexpr float kGrayB = 0.114f, kGrayG = 0.587f, kGrayR = 0.299f;

inline std::uint8_t to_u8(float v) {
  v = std::min(255.f, std::max(0.f, v));
  return static_cast<std::uint8_t>(v + 0.5f);
}

// dst[i] = sum_t w[t] * row(ys[t])[i] over the ROI's n = w * 3 bytes.
void vertical_pass(const Frame& f, const Roi& roi, const int* ys, const float* wy, int k,
                   float* dst) {
  const int n = roi.w * 3;
  const std::uint8_t* base = f.data + static_cast<std::ptrdiff_t>(roi.x) * 3;
  auto row = [&](int t) { return base + (roi.y + ys[t]) * f.row_stride; };
  if (k == 2 && wy[1] == 0.f) k = 1;
  if (k == 1) {
    const std::uint8_t* r0 = row(0);
    const float w0 = wy[0];
    for (int i = 0; i < n; ++i) dst[i] = r0[i] * w0;
    return;
  }
  if (k == 2) {
    const std::uint8_t* r0 = row(0);
    const std::uint8_t* r1 = row(1);
    const float w0 = wy[0], w1 = wy[1];
    for (int i = 0; i < n; ++i) dst[i] = r0[i] * w0 + r1[i] * w1;
    return;
  }
  {
    const std::uint8_t* r0 = row(0);
    const float w0 = wy[0];
    for (int i = 0; i < n; ++i) dst[i] = r0[i] * w0;
  }
  for (int t = 1; t < k; ++t) {
    const float wt = wy[t];
    if (wt == 0.f) continue;
    const std::uint8_t* r = row(t);
    for (int i = 0; i < n; ++i) dst[i] += r[i] * wt;
  }
}

template <typename Out>
void fill_span(Out* p, int n, float v) {
  if constexpr (std::is_same_v<Out, float>) {
    std::fill(p, p + n, v);
  } else {
    std::fill(p, p + n, to_u8(v));
  }
}

template <typename Out>
inline Out convert(float v) {
  if constexpr (std::is_same_v<Out, float>) {
    return v;
  } else {
    return to_u8(v);
  }
}

// Horizontal pass over one vertically blended row, writing each channel plane directly.
template <typename Out>
void horizontal_pass(const float* vsum, const Taps& tx, const Affine& af, Out* const* planes,
                     int inner_w) {
  const int k = tx.k;
  const int* idx = tx.idx.data();
  const float* wx = tx.w.data();
  if (af.channels == 1) {
    Out* p = planes[0];
    const float a = af.a[0], b = af.b[0];
    for (int x = 0; x < inner_w; ++x) {
      float s0 = 0, s1 = 0, s2 = 0;
      for (int t = 0; t < k; ++t) {
        const float* q = vsum + 3 * idx[x * k + t];
        const float w = wx[x * k + t];
        s0 += q[0] * w;
        s1 += q[1] * w;
        s2 += q[2] * w;
      }
      p[x] = convert<Out>((kGrayB * s0 + kGrayG * s1 + kGrayR * s2) * a + b);
    }
    return;
  }
  Out* p0 = planes[0];
  Out* p1 = planes[1];
  Out* p2 = planes[2];
  const int c0 = af.src[0], c2 = af.src[2];
  const float a0 = af.a[0], a1 = af.a[1], a2 = af.a[2];
  const float b0 = af.b[0], b1 = af.b[1], b2 = af.b[2];
  for (int x = 0; x < inner_w; ++x) {
    float s[3] = {0, 0, 0};
    for (int t = 0; t < k; ++t) {
      const float* q = vsum + 3 * idx[x * k + t];
      const float w = wx[x * k + t];
      s[0] += q[0] * w;
      s[1] += q[1] * w;
      s[2] += q[2] * w;
    }
    p0[x] = convert<Out>(s[c0] * a0 + b0);
    p1[x] = convert<Out>(s[1] * a1 + b1);
    p2[x] = convert<Out>(s[c2] * a2 + b2);
  }
}

template <typename Out>
void rows_impl(const Item& item, const Spec& spec, int r0, int r1) {
  const Frame& f = *item.frame;
  const Roi& roi = item.roi;
  const Geometry g = geometry(roi.w, roi.h, spec);
  const Affine af = make_affine(spec);
  const int W = spec.width, H = spec.height, C = af.channels;
  const std::size_t plane = static_cast<std::size_t>(W) * H;
  Out* out = static_cast<Out*>(item.out);

  int mode = kLinear;
  if (spec.resize == ResizeMode::Area) {
    mode = (roi.w >= g.inner_w && roi.h >= g.inner_h) ? kArea : kAreaLinear;
  }
  thread_local Taps tx, ty;
  thread_local std::vector<float> vsum;
  make_taps(roi.w, g.inner_w, mode, tx);
  make_taps(roi.h, g.inner_h, mode, ty);
  vsum.resize(static_cast<std::size_t>(roi.w) * 3);

  for (int y = r0; y < r1; ++y) {
    Out* rows[3];
    for (int c = 0; c < C; ++c) rows[c] = out + c * plane + static_cast<std::size_t>(y) * W;
    const int iy = y - g.pad_y;
    if (iy < 0 || iy >= g.inner_h) {
      for (int c = 0; c < C; ++c) fill_span(rows[c], W, af.fill[c]);
      continue;
    }
    if (g.pad_x > 0 || g.inner_w < W) {
      for (int c = 0; c < C; ++c) {
        fill_span(rows[c], g.pad_x, af.fill[c]);
        fill_span(rows[c] + g.pad_x + g.inner_w, W - g.pad_x - g.inner_w, af.fill[c]);
      }
    }
    vertical_pass(f, roi, &ty.idx[static_cast<std::size_t>(iy) * ty.k],
                  &ty.w[static_cast<std::size_t>(iy) * ty.k], ty.k, vsum.data());
    Out* planes[3];
    for (int c = 0; c < C; ++c) planes[c] = rows[c] + g.pad_x;
    horizontal_pass<Out>(vsum.data(), tx, af, planes, g.inner_w);
  }
}

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
  if (spec.output == OutputType::Float32) {
    rows_impl<float>(item, spec, row_begin, row_end);
  } else {
    rows_impl<std::uint8_t>(item, spec, row_begin, row_end);
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

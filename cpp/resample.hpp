// Internal to the preprocessing core: tap tables, per-thread plans and the row kernels, which
// are compiled twice (baseline x86-64 and AVX2+FMA) and picked at run time.
#pragma once

#include <cstdint>
#include <vector>

#include "preprocess.hpp"

namespace peakline {

// Source taps for every output sample along one axis: k per sample, indices relative to the
// ROI's first pixel, padded with zero weights so that every sample has exactly k.
struct Taps {
  int k = 0;
  std::vector<int> idx;
  std::vector<float> w;
};

// Zero floats after a blended row, so 4-float loads at the last pixel (and 3 past it, where
// the linear tap's weight is 0) stay inside the buffer.
constexpr int kRowPad = 8;

enum TapMode : int { kLinear = 0, kAreaLinear = 1, kArea = 2 };

// Per output channel: which BGR channel it reads, and value = v * a + b.
struct Affine {
  int channels = 3;
  bool swap_rb = true;  // output channel 0 reads R (rgb); false: B (bgr)
  float a[3] = {1, 1, 1};
  float b[3] = {0, 0, 0};
  float fill[3] = {0, 0, 0};
  bool as_u8 = false;
};

// Everything one (ROI size, output geometry, mode) needs; cached per thread.
struct Plan {
  int roi_w = -1, roi_h = -1, inner_w = -1, inner_h = -1, mode = -1;
  Taps tx, ty;
  std::vector<int> xo0, xo1;  // linear x: 3 * first and second tap (offsets in an RGB row)
  std::vector<float> xf;      // linear x: weight of the second tap
  std::vector<int> xidx3;     // 3 * tx.idx (offsets in an RGB row)
  std::vector<float> vsum;    // one vertically blended row (roi_w * 3 floats + kRowPad zeros)
  std::vector<const std::uint8_t*> src_rows;  // the k source rows of one output row
};

// Row kernels: output rows [r0, r1) of one item (the letterbox padding included).
using RowsFn = void (*)(const Item& item, const Spec& spec, const Geometry& g, const Affine& af,
                        Plan& plan, int r0, int r1);

namespace kbase {
void rows(const Item&, const Spec&, const Geometry&, const Affine&, Plan&, int, int);
}
namespace kavx2 {
void rows(const Item&, const Spec&, const Geometry&, const Affine&, Plan&, int, int);
}

}  // namespace peakline

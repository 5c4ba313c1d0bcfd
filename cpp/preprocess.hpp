// Fused preprocessing core: crop + resize + colour + scale/mean/std + HWC->NCHW in one pass
// per item, straight into a caller's buffer. Plain C++17, no Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace peakline {

class ThreadPool;

enum class Color : int { RGB, BGR, Gray };
enum class ResizeMode : int { Linear, Area };
enum class Fit : int { Stretch, Letterbox };
enum class OutputType : int { Float32, UInt8 };

// What the model wants. Frames are always uint8 BGR, H x W x 3.
struct Spec {
  int width = 0;
  int height = 0;
  Color color = Color::RGB;
  double scale = 1.0 / 255.0;            // value = (pixel * scale - mean[c]) / std[c]
  std::vector<double> mean{0.0, 0.0, 0.0};  // in the model's channel order
  std::vector<double> std{1.0, 1.0, 1.0};
  ResizeMode resize = ResizeMode::Linear;
  Fit fit = Fit::Stretch;
  int fill = 114;                        // letterbox padding, a pixel value 0..255
  OutputType output = OutputType::Float32;

  int channels() const { return color == Color::Gray ? 1 : 3; }
  std::size_t item_elems() const;  // channels * height * width
  std::size_t item_bytes() const;
  // Throws std::invalid_argument naming the first problem found.
  void validate() const;
};

// A uint8 BGR image; rows may be padded (row_stride >= width * 3).
struct Frame {
  const std::uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  std::ptrdiff_t row_stride = 0;
};

struct Roi {
  int x = 0, y = 0, w = 0, h = 0;
};

// Where the resized ROI lands in the output: stretch fills it, letterbox centres it.
struct Geometry {
  double scale = 1.0;  // letterbox: min(width / w, height / h); stretch: width / w
  int inner_w = 0, inner_h = 0, pad_x = 0, pad_y = 0;
};

Geometry geometry(int src_w, int src_h, const Spec& spec);

// Throws std::invalid_argument when the ROI is empty or not inside the frame.
void check_roi(const Frame& frame, const Roi& roi, const std::string& what);

struct Item {
  const Frame* frame = nullptr;
  Roi roi;
  void* out = nullptr;  // spec.item_bytes() bytes, NCHW of one item
};

// Output rows [row_begin, row_end) of one item, on the calling thread. Inputs must be valid.
void preprocess_rows(const Item& item, const Spec& spec, int row_begin, int row_end);

// Which row kernel runs: "avx2" (picked when the CPU has AVX2+FMA) or "baseline".
const char* kernel_name();
// Forces a kernel ("baseline", "avx2") or goes back to the CPU's pick ("auto"); for tests and
// benchmarks. Throws std::invalid_argument for an unknown name or a missing CPU feature.
void set_kernel(const std::string& name);

// All items, split into row bands over `threads` threads of `pool` (0 = hardware concurrency).
// Inputs must be valid (spec.validate() and check_roi() passed).
void preprocess_items(const Item* items, std::size_t n, const Spec& spec, ThreadPool& pool,
                      unsigned threads);

}  // namespace peakline

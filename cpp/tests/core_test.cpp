// Stand-alone tests of the C++ core (no Python): thread pool; fused preprocessing in every mode
// (linear and area resize, RGB/BGR/gray, float32/uint8, mean/std, letterbox with its fill,
// ROI offsets, padded rows, no write past an item) against references written from the
// definitions, on both row kernels; the batch assembler under concurrent producers and its
// flush, deadline, full-slot timeout and close. Build and run:
//   cmake -S . -B build/cpp-tests -DPEAKLINE_CPP_TESTS=ON && cmake --build build/cpp-tests
//   build/cpp-tests/peakline_core_test
// With AddressSanitizer + UndefinedBehaviorSanitizer (scripts/test.sh runs both):
//   cmake -S . -B build/cpp-asan -DPEAKLINE_CPP_TESTS=ON -DPEAKLINE_SANITIZE=ON
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "batch.hpp"
#include "preprocess.hpp"
#include "thread_pool.hpp"

using namespace peakline;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// cv2 INTER_LINEAR, one channel sample, straight from the definition.
float bilinear(const std::vector<std::uint8_t>& img, int w, int h, int c, double sx_scale,
               double sy_scale, int ox, int oy) {
  auto axis = [](int d, double scale, int n, int* i0, int* i1, float* f) {
    float fx = static_cast<float>((d + 0.5) * scale - 0.5);
    int s = static_cast<int>(std::floor(fx));
    fx -= static_cast<float>(s);
    if (s < 0) fx = 0.f, s = 0;
    if (s >= n - 1) fx = 0.f, s = n - 1;
    *i0 = s;
    *i1 = std::min(s + 1, n - 1);
    *f = fx;
  };
  int x0, x1, y0, y1;
  float fx, fy;
  axis(ox, sx_scale, w, &x0, &x1, &fx);
  axis(oy, sy_scale, h, &y0, &y1, &fy);
  auto px = [&](int x, int y) { return static_cast<float>(img[(y * w + x) * 3 + c]); };
  const float top = px(x0, y0) * (1 - fx) + px(x1, y0) * fx;
  const float bottom = px(x0, y1) * (1 - fx) + px(x1, y1) * fx;
  return top * (1 - fy) + bottom * fy;
}

void test_pool() {
  ThreadPool& pool = shared_pool();
  std::vector<std::atomic<int>> hits(1000);
  pool.parallel_for(hits.size(), 4, [&](std::size_t i) { hits[i]++; });
  bool once = true;
  for (auto& h : hits) once = once && h.load() == 1;
  check(once, "parallel_for calls every index exactly once");

  std::vector<std::thread> callers;
  std::atomic<long> total{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < 50; ++r) {
        pool.parallel_for(64, 3, [&](std::size_t i) { total += static_cast<long>(i); });
      }
    });
  }
  for (auto& t : callers) t.join();
  check(total.load() == 4L * 50 * (63 * 64 / 2), "concurrent callers share the pool");

  bool thrown = false;
  try {
    pool.parallel_for(16, 2, [](std::size_t i) {
      if (i == 7) throw std::runtime_error("boom");
    });
  } catch (const std::runtime_error&) {
    thrown = true;
  }
  check(thrown, "an exception in a task reaches the caller");
}

void test_preprocess() {
  const int w = 37, h = 23;
  std::vector<std::uint8_t> img(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>((i * 37) % 251);
  Frame frame{img.data(), w, h, static_cast<std::ptrdiff_t>(w) * 3};
  Spec spec;
  spec.width = 15;
  spec.height = 29;
  spec.validate();
  std::vector<float> out(spec.item_elems() * 2);
  Item items[2] = {{&frame, Roi{0, 0, w, h}, out.data()},
                   {&frame, Roi{0, 0, w, h}, out.data() + spec.item_elems()}};
  for (const char* kernel : {"baseline", "auto"}) {
    set_kernel(kernel);
    preprocess_items(items, 2, spec, shared_pool(), 2);
    float worst = 0.f;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < spec.height; ++y) {
        for (int x = 0; x < spec.width; ++x) {
          const float ref = bilinear(img, w, h, 2 - c, static_cast<double>(w) / spec.width,
                                     static_cast<double>(h) / spec.height, x, y) / 255.f;
          for (int i = 0; i < 2; ++i) {
            const float got = out[i * spec.item_elems() + (c * spec.height + y) * spec.width + x];
            worst = std::max(worst, std::fabs(got - ref));
          }
        }
      }
    }
    check(worst < 1e-4f, std::string(kernel) + " kernel matches the bilinear definition");
  }
  set_kernel("auto");

  bool rejected = false;
  try {
    check_roi(frame, Roi{30, 0, 8, 5}, "roi");
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  check(rejected, "a ROI past the right edge is rejected");
}

void test_assembler() {
  const int w = 64, h = 48;
  std::vector<std::uint8_t> img(static_cast<std::size_t>(w) * h * 3, 100);
  Frame frame{img.data(), w, h, static_cast<std::ptrdiff_t>(w) * 3};
  Spec spec;
  spec.width = 8;
  spec.height = 8;
  BatchAssembler assembler(spec, 4, 0.005, 3, 2);
  const int producers = 4, per = 100;
  std::atomic<int> seen{0};
  std::vector<int> tags(producers * per, 0);
  std::thread consumer([&] {
    while (seen.load() < producers * per) {
      BatchAssembler::Ready ready;
      if (!assembler.next_batch(2.0, &ready)) break;
      for (int i = 0; i < ready.count; ++i) tags[assembler.slot_tags(ready.slot)[i]]++;
      seen += ready.count;
      assembler.release(ready.slot);
    }
  });
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per; ++i) {
        const Roi roi{i % 10, i % 7, 20 + i % 30, 10 + i % 20};
        if (!assembler.add(frame, roi, p * per + i, 5.0)) std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  consumer.join();
  bool all_once = true;
  for (int t : tags) all_once = all_once && t == 1;
  check(seen.load() == producers * per && all_once, "every added item arrives exactly once");
}

// ---- every mode against a reference written from the definitions ------------------------

// A frame with padded rows (stride > width * 3); the padding holds 255s that a kernel
// ignoring the stride would read.
struct TestFrame {
  int w, h;
  std::ptrdiff_t stride;
  std::vector<std::uint8_t> buf;
  TestFrame(int w_, int h_, int pad, unsigned seed) : w(w_), h(h_), stride(w_ * 3 + pad) {
    buf.assign(static_cast<std::size_t>(stride) * h, 255);
    unsigned x = seed;
    for (int y = 0; y < h; ++y) {
      for (int i = 0; i < w * 3; ++i) {
        x = x * 1103515245u + 12345u;
        buf[static_cast<std::size_t>(y * stride + i)] = static_cast<std::uint8_t>((x >> 16) % 200);
      }
    }
  }
  Frame frame() const { return Frame{buf.data(), w, h, stride}; }
  float px(int x, int y, int c) const {
    return static_cast<float>(buf[static_cast<std::size_t>(y * stride + x * 3 + c)]);
  }
};

// cv2 INTER_LINEAR of one ROI channel sample (source scale src/dst per axis).
float linear_at(const TestFrame& f, const Roi& r, int dst_w, int dst_h, int c, int ox, int oy) {
  auto axis = [](int d, double scale, int n, int* i0, int* i1, float* fr) {
    float fx = static_cast<float>((d + 0.5) * scale - 0.5);
    int s = static_cast<int>(std::floor(fx));
    fx -= static_cast<float>(s);
    if (s < 0) fx = 0.f, s = 0;
    if (s >= n - 1) fx = 0.f, s = n - 1;
    *i0 = s;
    *i1 = std::min(s + 1, n - 1);
    *fr = fx;
  };
  int x0, x1, y0, y1;
  float fx, fy;
  axis(ox, static_cast<double>(r.w) / dst_w, r.w, &x0, &x1, &fx);
  axis(oy, static_cast<double>(r.h) / dst_h, r.h, &y0, &y1, &fy);
  auto p = [&](int x, int y) { return f.px(r.x + x, r.y + y, c); };
  const float top = p(x0, y0) * (1 - fx) + p(x1, y0) * fx;
  const float bottom = p(x0, y1) * (1 - fx) + p(x1, y1) * fx;
  return top * (1 - fy) + bottom * fy;
}

// INTER_AREA when the ROI is a whole multiple of the output: the mean of each block.
float area_at(const TestFrame& f, const Roi& r, int dst_w, int dst_h, int c, int ox, int oy) {
  const int bx = r.w / dst_w, by = r.h / dst_h;
  double sum = 0;
  for (int y = 0; y < by; ++y)
    for (int x = 0; x < bx; ++x) sum += f.px(r.x + ox * bx + x, r.y + oy * by + y, c);
  return static_cast<float>(sum / (bx * by));
}

// The whole item (C, H, W) as doubles: canvas of fill, resized ROI placed by the geometry,
// then colour, then scale/mean/std (float32) or the pixel itself (uint8).
std::vector<double> reference(const TestFrame& f, const Roi& r, const Spec& s) {
  int iw = s.width, ih = s.height, px0 = 0, py0 = 0;
  if (s.fit == Fit::Letterbox) {
    const double sc = std::min(static_cast<double>(s.width) / r.w,
                               static_cast<double>(s.height) / r.h);
    iw = std::min(std::max(static_cast<int>(std::floor(r.w * sc + 0.5)), 1), s.width);
    ih = std::min(std::max(static_cast<int>(std::floor(r.h * sc + 0.5)), 1), s.height);
    px0 = (s.width - iw) / 2;
    py0 = (s.height - ih) / 2;
  }
  std::vector<double> bgr(static_cast<std::size_t>(s.width) * s.height * 3, s.fill);
  for (int y = 0; y < ih; ++y)
    for (int x = 0; x < iw; ++x)
      for (int c = 0; c < 3; ++c)
        bgr[((py0 + y) * s.width + px0 + x) * 3 + c] =
            s.resize == ResizeMode::Area ? area_at(f, r, iw, ih, c, x, y)
                                         : linear_at(f, r, iw, ih, c, x, y);
  const int ch = s.channels();
  std::vector<double> out(static_cast<std::size_t>(ch) * s.width * s.height);
  for (int y = 0; y < s.height; ++y) {
    for (int x = 0; x < s.width; ++x) {
      const double* p = &bgr[(y * s.width + x) * 3];
      for (int c = 0; c < ch; ++c) {
        double v = s.color == Color::Gray ? 0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2]
                   : s.color == Color::RGB ? p[2 - c]
                                           : p[c];
        if (s.output == OutputType::Float32) {
          const double mean = s.mean[s.mean.size() == 1 ? 0 : c];
          const double sd = s.std[s.std.size() == 1 ? 0 : c];
          v = (v * s.scale - mean) / sd;
        }
        out[(c * s.height + y) * s.width + x] = v;
      }
    }
  }
  return out;
}

// One intensity level, in output units.
double level(const Spec& s) {
  if (s.output == OutputType::UInt8) return 1.0;
  double sd = 1e300;
  for (double v : s.std) sd = std::min(sd, std::fabs(v));
  return std::fabs(s.scale) / sd;
}

void check_mode(const std::string& name, Spec spec, const TestFrame& f, const Roi& roi) {
  spec.validate();
  Frame frame = f.frame();
  check_roi(frame, roi, "roi");
  std::vector<std::uint8_t> out(spec.item_bytes() + 64, 0xAB);  // 64 guard bytes after it
  Item item{&frame, roi, out.data()};
  const std::vector<double> want = reference(f, roi, spec);
  for (const char* kernel : {"baseline", "auto"}) {
    set_kernel(kernel);
    preprocess_items(&item, 1, spec, shared_pool(), 2);
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const double got = spec.output == OutputType::UInt8
                             ? static_cast<double>(out[i])
                             : static_cast<double>(reinterpret_cast<const float*>(out.data())[i]);
      worst = std::max(worst, std::fabs(got - want[i]));
    }
    bool guard = true;
    for (std::size_t i = spec.item_bytes(); i < out.size(); ++i) guard = guard && out[i] == 0xAB;
    check(worst <= level(spec) * 1.0001 + 1e-5,
          name + " (" + kernel + "): max diff " + std::to_string(worst) + " > one level " +
              std::to_string(level(spec)));
    check(guard, name + " (" + kernel + "): wrote past the item");
  }
  set_kernel("auto");
}

void test_modes() {
  const TestFrame f(53, 41, 13, 7);  // 13 bytes of padding per row
  const Roi offset{9, 6, 30, 24};    // away from the frame's corner
  Spec s;
  s.width = 15, s.height = 12;
  check_mode("linear rgb, ROI offset, padded rows", s, f, offset);
  Spec bgr = s;
  bgr.color = Color::BGR;
  check_mode("bgr", bgr, f, offset);
  Spec area = s;
  area.resize = ResizeMode::Area;  // 30x24 -> 15x12: 2x2 blocks
  check_mode("area 2x2", area, f, offset);
  area.width = 10, area.height = 8;  // 3x3 blocks
  check_mode("area 3x3", area, f, offset);
  Spec gray = s;
  gray.color = Color::Gray;
  check_mode("gray float", gray, f, offset);
  gray.output = OutputType::UInt8;
  check_mode("gray uint8", gray, f, offset);
  Spec u8 = s;
  u8.output = OutputType::UInt8;
  check_mode("uint8 rgb", u8, f, offset);
  Spec norm = s;
  norm.mean = {0.485, 0.456, 0.406};
  norm.std = {0.229, 0.224, 0.225};
  check_mode("mean/std per channel", norm, f, offset);
  norm.scale = 1.0;
  norm.mean = {100.0};
  norm.std = {50.0};
  check_mode("scale 1, one mean/std for all channels", norm, f, offset);
  Spec box = s;
  box.fit = Fit::Letterbox;
  box.fill = 114;
  check_mode("letterbox wide ROI", box, f, Roi{2, 3, 40, 12});
  check_mode("letterbox tall ROI", box, f, Roi{20, 1, 12, 38});
  box.mean = {0.5, 0.5, 0.5};
  box.std = {0.25, 0.25, 0.25};
  check_mode("letterbox fill normalised", box, f, Roi{2, 3, 40, 12});
  box.output = OutputType::UInt8;
  box.fill = 0;
  check_mode("letterbox uint8", box, f, Roi{20, 1, 12, 38});
  Spec up = s;
  up.width = 40, up.height = 33;  // enlarging
  check_mode("enlarge linear", up, f, Roi{44, 30, 9, 11});
  check_mode("one pixel ROI", s, f, Roi{52, 40, 1, 1});
  check_mode("whole frame", s, f, Roi{0, 0, 53, 41});

  bool rejected = false;
  try {
    check_roi(f.frame(), Roi{0, 38, 5, 4}, "roi");
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  check(rejected, "a ROI past the bottom edge is rejected");
  rejected = false;
  try {
    Spec bad = s;
    bad.std = {1.0, 0.0, 1.0};
    bad.validate();
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  check(rejected, "a zero std is rejected");
}

// ---- the assembler's flush, deadline and close ------------------------------------------

void test_assembler_lifecycle() {
  const TestFrame f(32, 24, 0, 3);
  const Frame frame = f.frame();
  Spec spec;
  spec.width = 8, spec.height = 8;
  BatchAssembler::Ready ready;
  {  // flush: a partial batch is ready at once, in the order added
    BatchAssembler a(spec, 4, 60.0, 2, 1);
    check(a.add(frame, Roi{0, 0, 8, 8}, 10, 1.0) && a.add(frame, Roi{1, 1, 8, 8}, 11, 1.0),
          "adds to a free assembler succeed");
    check(!a.next_batch(0.0, &ready), "a partial batch is not ready before its deadline");
    check(a.pending() == 2, "two items pending");
    a.flush();
    check(a.next_batch(1.0, &ready) && ready.count == 2, "flush makes the partial batch ready");
    check(a.slot_tags(ready.slot)[0] == 10 && a.slot_tags(ready.slot)[1] == 11,
          "tags in the order added");
    const std::vector<double> want = reference(f, Roi{1, 1, 8, 8}, spec);
    const float* row = reinterpret_cast<const float*>(a.slot_data(ready.slot)) + spec.item_elems();
    double worst = 0;
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(row[i] - want[i]));
    check(worst <= level(spec) * 1.0001, "the second row holds the second item");
    a.release(ready.slot);
    bool threw = false;
    try {
      a.release(ready.slot);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    check(threw, "releasing a slot twice is refused");
  }
  {  // deadline: a partial batch is ready once max_wait has passed since its first item
    BatchAssembler a(spec, 8, 0.05, 2, 1);
    const double t0 = monotonic_now();
    check(a.add(frame, Roi{0, 0, 4, 4}, 1, 1.0), "add");
    check(a.next_batch(5.0, &ready) && ready.count == 1, "the deadline makes it ready");
    check(monotonic_now() >= ready.first_added + 0.05 && ready.first_added >= t0,
          "not before its deadline");
    a.release(ready.slot);
  }
  {  // full slots: an add waits, then times out; close wakes and refuses; the rest drains
    BatchAssembler a(spec, 1, 60.0, 1, 1);
    check(a.add(frame, Roi{0, 0, 4, 4}, 1, 1.0), "the only row");
    check(!a.add(frame, Roi{0, 0, 4, 4}, 2, 0.01), "no free slot: the add times out");
    std::atomic<bool> refused{false};
    std::thread blocked([&] { refused = !a.add(frame, Roi{0, 0, 4, 4}, 3, -1.0); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    a.close();
    blocked.join();
    check(refused.load(), "close wakes a blocked producer and refuses its item");
    check(!a.add(frame, Roi{0, 0, 4, 4}, 4, 0.0), "no adds after close");
    check(a.next_batch(1.0, &ready) && ready.count == 1, "what was added before close drains");
    a.release(ready.slot);
    check(!a.next_batch(0.5, &ready), "then next_batch says it is over");
  }
}

}  // namespace

int main() {
  test_pool();
  test_preprocess();
  test_assembler();
  test_modes();
  test_assembler_lifecycle();
  if (failures == 0) std::printf("core tests passed\n");
  return failures == 0 ? 0 : 1;
}

// Stand-alone tests of the C++ core (no Python): thread pool, fused preprocessing against a
// direct per-pixel bilinear reference, and the batch assembler under concurrent producers.
// Build and run (optionally with -fsanitize=thread or address):
//   cmake -S . -B build-cpp -DPEAKLINE_CPP_TESTS=ON && cmake --build build-cpp
//   ./build-cpp/peakline_core_test
#include <atomic>
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

}  // namespace

int main() {
  test_pool();
  test_preprocess();
  test_assembler();
  if (failures == 0) std::printf("core tests passed\n");
  return failures == 0 ? 0 : 1;
}

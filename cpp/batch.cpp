// Batch assembler; see batch.hpp.
#include "batch.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "thread_pool.hpp"

namespace peakline {

namespace {
constexpr double kForever = std::numeric_limits<double>::infinity();

std::chrono::steady_clock::time_point to_time_point(double seconds) {
  using namespace std::chrono;
  return steady_clock::time_point(duration_cast<steady_clock::duration>(duration<double>(seconds)));
}

double deadline_of(double timeout_s) {
  return timeout_s < 0 ? kForever : monotonic_now() + timeout_s;
}

// Waits on cv until pred() or the absolute deadline (monotonic seconds); returns pred().
template <typename Pred>
bool wait_until(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, double deadline,
                Pred pred) {
  if (std::isinf(deadline)) {
    cv.wait(lock, pred);
    return true;
  }
  return cv.wait_until(lock, to_time_point(deadline), pred);
}
}  // namespace

double monotonic_now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

BatchAssembler::BatchAssembler(Spec spec, int batch_size, double max_wait_s, int slots,
                               unsigned threads)
    : spec_(std::move(spec)),
      batch_size_(batch_size),
      max_wait_(max_wait_s),
      threads_(threads) {
  spec_.validate();
  if (batch_size < 1) throw std::invalid_argument("batch_size must be >= 1");
  if (slots < 1) throw std::invalid_argument("slots must be >= 1");
  if (!(max_wait_s >= 0) || std::isinf(max_wait_s)) {
    throw std::invalid_argument("max_wait_ms must be a finite number >= 0");
  }
  item_bytes_ = spec_.item_bytes();
  const std::size_t total = item_bytes_ * static_cast<std::size_t>(batch_size) * slots;
  memory_.reset(new std::uint8_t[total + 64]);
  const auto addr = reinterpret_cast<std::uintptr_t>(memory_.get());
  base_ = memory_.get() + ((64 - addr % 64) % 64);
  slots_.resize(static_cast<std::size_t>(slots));
  for (int s = 0; s < slots; ++s) {
    slots_[s].tags.assign(static_cast<std::size_t>(batch_size), 0);
    free_.push_back(s);
  }
}

BatchAssembler::~BatchAssembler() { close(); }

void* BatchAssembler::slot_data(int slot) {
  return base_ + item_bytes_ * static_cast<std::size_t>(batch_size_) * slot;
}

const std::int64_t* BatchAssembler::slot_tags(int slot) const {
  return slots_.at(static_cast<std::size_t>(slot)).tags.data();
}

int BatchAssembler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& s : slots_) {
    if (s.state == State::Filling || s.state == State::Sealed) n += s.reserved;
  }
  return n;
}

void BatchAssembler::seal_filling() {
  if (filling_ < 0) return;
  slots_[filling_].state = State::Sealed;
  sealed_.push_back(filling_);
  filling_ = -1;
  ready_cv_.notify_all();
}

void BatchAssembler::check_deadline(double now) {
  if (filling_ >= 0 && now >= slots_[filling_].first_added + max_wait_) seal_filling();
}

int BatchAssembler::reserve(std::unique_lock<std::mutex>& lock, int want, double deadline,
                            int* slot, int* row) {
  const bool ok = wait_until(space_cv_, lock, deadline, [&] {
    if (closed_) return true;
    check_deadline(monotonic_now());
    return filling_ >= 0 || !free_.empty();
  });
  if (!ok || closed_) return 0;
  if (filling_ < 0) {
    filling_ = free_.front();
    free_.pop_front();
    Slot& s = slots_[filling_];
    s.state = State::Filling;
    s.reserved = 0;
    s.done = 0;
    s.first_added = monotonic_now();
  }
  Slot& s = slots_[filling_];
  const int got = std::min(want, batch_size_ - s.reserved);
  *slot = filling_;
  *row = s.reserved;
  s.reserved += got;
  if (s.reserved == batch_size_) seal_filling();
  return got;
}

bool BatchAssembler::add(const Frame& frame, const Roi& roi, std::int64_t tag, double timeout_s) {
  return add_many(frame, &roi, &tag, 1, timeout_s) == 1;
}

std::size_t BatchAssembler::add_many(const Frame& frame, const Roi* rois,
                                     const std::int64_t* tags, std::size_t n, double timeout_s) {
  const double deadline = deadline_of(timeout_s);
  std::size_t added = 0;
  while (added < n) {
    int slot = -1, row = 0, got = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const int want = static_cast<int>(std::min<std::size_t>(n - added, batch_size_));
      got = reserve(lock, want, deadline, &slot, &row);
      if (got == 0) break;
      for (int i = 0; i < got; ++i) slots_[slot].tags[row + i] = tags[added + i];
    }
    auto* data = static_cast<std::uint8_t*>(slot_data(slot));
    std::vector<Item> items(static_cast<std::size_t>(got));
    for (int i = 0; i < got; ++i) {
      items[i] = Item{&frame, rois[added + i], data + item_bytes_ * (row + i)};
    }
    // A failure here would leave the rows unwritten forever, so finish them whatever happens.
    std::exception_ptr error;
    try {
      preprocess_items(items.data(), items.size(), spec_, shared_pool(),
                       got == 1 ? 1u : threads_);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      slots_[slot].done += got;
      ready_cv_.notify_all();
    }
    if (error) std::rethrow_exception(error);
    added += static_cast<std::size_t>(got);
  }
  return added;
}

bool BatchAssembler::next_batch(double timeout_s, Ready* out) {
  const double deadline = deadline_of(timeout_s);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    const double now = monotonic_now();
    check_deadline(now);
    if (!sealed_.empty()) {
      Slot& s = slots_[sealed_.front()];
      if (s.done == s.reserved) {
        out->slot = sealed_.front();
        out->count = s.reserved;
        out->first_added = s.first_added;
        s.state = State::Taken;
        sealed_.pop_front();
        return true;
      }
    } else if (closed_ && filling_ < 0) {
      return false;
    }
    // Sleep until something changes, the partial batch's deadline, or our own timeout.
    double wake = deadline;
    if (filling_ >= 0) wake = std::min(wake, slots_[filling_].first_added + max_wait_);
    if (now >= deadline) return false;
    if (std::isinf(wake)) {
      ready_cv_.wait(lock);
    } else {
      ready_cv_.wait_until(lock, to_time_point(wake));
    }
  }
}

void BatchAssembler::release(int slot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (slot < 0 || slot >= static_cast<int>(slots_.size()) ||
      slots_[slot].state != State::Taken) {
    throw std::invalid_argument("slot " + std::to_string(slot) + " is not a taken batch");
  }
  Slot& s = slots_[slot];
  s.state = State::Free;
  s.reserved = 0;
  s.done = 0;
  free_.push_back(slot);
  space_cv_.notify_all();
}

void BatchAssembler::flush() {
  std::lock_guard<std::mutex> lock(mu_);
  seal_filling();
}

void BatchAssembler::close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  seal_filling();
  space_cv_.notify_all();
  ready_cv_.notify_all();
}

}  // namespace peakline

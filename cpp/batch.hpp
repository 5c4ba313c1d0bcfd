// Batch assembler: a ring of preallocated (batch_size, C, H, W) buffers. Producers add items
// from any thread (each preprocessed straight into its row); a batch is ready when it is
// full, when max_wait has passed since its first item, or on flush/close.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "preprocess.hpp"

namespace peakline {

// Seconds on the monotonic clock (the clock of Python's time.monotonic()).
double monotonic_now();

class BatchAssembler {
 public:
  struct Ready {
    int slot = -1;
    int count = 0;
    double first_added = 0.0;
  };

  // spec must be valid; batch_size >= 1, slots >= 1, max_wait_s >= 0 (checked: invalid_argument).
  BatchAssembler(Spec spec, int batch_size, double max_wait_s, int slots, unsigned threads);
  ~BatchAssembler();
  BatchAssembler(const BatchAssembler&) = delete;
  BatchAssembler& operator=(const BatchAssembler&) = delete;

  // Preprocesses one item into the next free row. Waits up to timeout_s (< 0: forever) for a
  // free slot; false on timeout or after close(). The ROI must be valid (check_roi).
  bool add(const Frame& frame, const Roi& roi, std::int64_t tag, double timeout_s);
  // Adds items in order on the pool; stops at the first that finds no slot in time.
  std::size_t add_many(const Frame& frame, const Roi* rois, const std::int64_t* tags,
                       std::size_t n, double timeout_s);
  // Waits up to timeout_s (< 0: forever) for the next ready batch; false on timeout, or when
  // closed and nothing is left. The slot stays taken until release(slot).
  bool next_batch(double timeout_s, Ready* out);
  void release(int slot);  // throws invalid_argument if the slot is not taken
  void flush();            // the batch being filled becomes ready now (if it has items)
  void close();            // no more adds; what was added can still be taken

  const Spec& spec() const { return spec_; }
  int batch_size() const { return batch_size_; }
  int slots() const { return static_cast<int>(slots_.size()); }
  double max_wait() const { return max_wait_; }
  void* slot_data(int slot);
  const std::int64_t* slot_tags(int slot) const;
  int pending() const;  // items added but not yet handed out in a batch

 private:
  enum class State { Free, Filling, Sealed, Taken };
  struct Slot {
    State state = State::Free;
    int reserved = 0;  // rows handed to producers
    int done = 0;      // rows written
    double first_added = 0.0;
    std::vector<std::int64_t> tags;
  };

  // Reserves up to `want` consecutive rows; returns how many (0 on timeout/close).
  int reserve(std::unique_lock<std::mutex>& lock, int want, double deadline, int* slot, int* row);
  void seal_filling();  // caller holds mu_
  void check_deadline(double now);  // caller holds mu_

  Spec spec_;
  int batch_size_;
  double max_wait_;
  unsigned threads_;
  std::size_t item_bytes_;
  std::unique_ptr<std::uint8_t[]> memory_;
  std::uint8_t* base_ = nullptr;  // 64-byte aligned start of slot 0
  std::vector<Slot> slots_;
  int filling_ = -1;
  std::deque<int> free_;
  std::deque<int> sealed_;
  bool closed_ = false;
  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  std::condition_variable ready_cv_;
};

}  // namespace peakline

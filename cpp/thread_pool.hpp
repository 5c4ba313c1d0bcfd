// A small persistent thread pool: parallel_for over [0, n) using the calling thread plus
// up to `threads - 1` workers. Several callers may use one pool at the same time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace peakline {

class ThreadPool {
 public:
  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Calls fn(i) once for every i in [0, n), on at most `threads` threads (0 = hardware
  // concurrency), the calling thread included, and returns when all calls are done.
  // The first exception thrown by fn is rethrown here after the others finish.
  void parallel_for(std::size_t n, unsigned threads, const std::function<void(std::size_t)>& fn);

  // Number of threads `threads == 0` stands for: the machine's hardware concurrency.
  static unsigned default_threads();

 private:
  struct Job;
  void ensure_workers(unsigned count);  // caller holds mu_
  void worker_loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

// The process-wide pool (created on first use, recreated in a forked child).
ThreadPool& shared_pool();

}  // namespace peakline

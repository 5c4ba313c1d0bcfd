// Persistent thread pool; see thread_pool.hpp.
#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <exception>

#include <unistd.h>

namespace peakline {

namespace {
constexpr unsigned kMaxThreads = 64;
}

struct ThreadPool::Job {
  const std::function<void(std::size_t)>* fn = nullptr;
  std::size_t n = 0;
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::condition_variable done_cv;
  std::size_t done = 0;  // guarded by mu
  std::exception_ptr error;  // guarded by mu

  // Runs items until none are left; returns when this runner has nothing more to claim.
  void run() {
    std::size_t finished = 0;
    std::exception_ptr err;
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) break;
      try {
        (*fn)(i);
      } catch (...) {
        if (!err) err = std::current_exception();
      }
      ++finished;
    }
    if (finished == 0) return;
    std::lock_guard<std::mutex> lock(mu);
    if (err && !error) error = err;
    done += finished;
    if (done == n) done_cv.notify_all();
  }
};

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

unsigned ThreadPool::default_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : std::min(hw, kMaxThreads);
}

void ThreadPool::ensure_workers(unsigned count) {
  count = std::min(count, kMaxThreads - 1);
  while (workers_.size() < count) workers_.emplace_back([this] { worker_loop(); });
}

void ThreadPool::worker_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job->run();
  }
}

void ThreadPool::parallel_for(std::size_t n, unsigned threads,
                              const std::function<void(std::size_t)>& fn) {
  if (n == 0) return;
  if (threads == 0) threads = default_threads();
  threads = std::min<std::size_t>(std::min(threads, kMaxThreads), n);
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  const unsigned helpers = threads - 1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ensure_workers(helpers);
    for (unsigned h = 0; h < helpers; ++h) queue_.push_back(job);
  }
  if (helpers == 1) {
    cv_.notify_one();
  } else {
    cv_.notify_all();
  }
  job->run();
  {
    std::unique_lock<std::mutex> lock(job->mu);
    job->done_cv.wait(lock, [&] { return job->done == n; });
  }
  {
    // Drop entries no worker picked up; they would find nothing left to do anyway.
    std::lock_guard<std::mutex> lock(mu_);
    queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
  }
  if (job->error) std::rethrow_exception(job->error);
}

ThreadPool& shared_pool() {
  // Leaked on purpose: no join at interpreter exit, and a forked child (whose copy has no
  // running workers) gets a fresh pool instead of waiting forever on threads that are gone.
  static std::mutex mu;
  static ThreadPool* pool = nullptr;
  static pid_t owner = 0;
  std::lock_guard<std::mutex> lock(mu);
  const pid_t pid = getpid();
  if (pool == nullptr || owner != pid) {
    pool = new ThreadPool();
    owner = pid;
  }
  return *pool;
}

}  // namespace peakline

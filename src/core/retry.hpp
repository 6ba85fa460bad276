// Retry schedule for one request (issue 10 item 3, issue 11 defect 3): how long to wait before the
// next attempt, and when to give up. Pure logic; the chat driver owns the timer.
//
// The schedule follows the vendors' SDKs (openai-python, zhipuai: 0.5 s doubling to 8 s, each delay
// shortened by up to 25 % of random jitter so that many clients do not retry in lockstep):
//   delay(n) = min(initial * 2^(n-1), max_delay) * (1 - 0.25 * U[0,1)),   n = 1, 2, ...
// A server's Retry-After (or retry-after-ms) replaces the computed delay when it is given. Either way
// the sum of all waits of one request never exceeds `max_total_ms`: a retry whose wait would cross it
// is not made (the request fails at once with the upstream error, which carries retry_after_ms).
// At most `max_retries` retries: an attempt is a credential preparation plus a send, so a failing
// token request or api_key_cmd counts exactly like a failing send.
#pragma once

#include <cstdint>
#include <optional>

namespace glm {

struct RetryPolicy {
  int max_retries = 2;
  int64_t initial_delay_ms = 500;
  int64_t max_delay_ms = 8000;
  int64_t max_total_ms = 20000;
};

class RetrySchedule {
 public:
  // `seed` makes the jitter reproducible in tests; production passes a random value.
  explicit RetrySchedule(RetryPolicy policy, uint64_t seed);

  // Called after a failed attempt that may be retried. Returns the wait before the next attempt, or
  // nullopt when the retry budget (count or total wait) is spent. `retry_after_ms` is the server's
  // hint, if any (negative values are treated as 0).
  std::optional<int64_t> next_delay(std::optional<int64_t> retry_after_ms);

  int retries() const { return retries_; }          // retries granted so far
  int64_t waited_ms() const { return waited_ms_; }  // sum of the delays granted so far

  // The computed (no Retry-After) delay for retry n >= 1 before jitter: min(initial * 2^(n-1), max).
  static int64_t base_delay(const RetryPolicy& policy, int n);

 private:
  double uniform();  // [0, 1)

  RetryPolicy policy_;
  uint64_t state_;
  int retries_ = 0;
  int64_t waited_ms_ = 0;
};

}  // namespace glm

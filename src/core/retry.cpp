#include "core/retry.hpp"

#include <algorithm>

namespace glm {

RetrySchedule::RetrySchedule(RetryPolicy policy, uint64_t seed) : policy_(policy), state_(seed | 1) {}

int64_t RetrySchedule::base_delay(const RetryPolicy& policy, int n) {
  int64_t d = std::max<int64_t>(policy.initial_delay_ms, 0);
  const int64_t cap = std::max<int64_t>(policy.max_delay_ms, 0);
  // Doubling stops at the cap: no shift can overflow however large n is.
  for (int i = 1; i < n && d < cap; ++i) d = d > cap / 2 ? cap : d * 2;
  return std::min(d, cap);
}

double RetrySchedule::uniform() {
  // xorshift64*: plenty for jitter, and deterministic for a given seed.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<double>((state_ * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53;
}

std::optional<int64_t> RetrySchedule::next_delay(std::optional<int64_t> retry_after_ms) {
  if (retries_ >= policy_.max_retries) return std::nullopt;
  int64_t delay;
  if (retry_after_ms) {
    delay = std::max<int64_t>(*retry_after_ms, 0);
  } else {
    const int64_t base = base_delay(policy_, retries_ + 1);
    delay = static_cast<int64_t>(static_cast<double>(base) * (1.0 - 0.25 * uniform()));
  }
  if (delay > policy_.max_total_ms - waited_ms_) return std::nullopt;
  ++retries_;
  waited_ms_ += delay;
  return delay;
}

}  // namespace glm

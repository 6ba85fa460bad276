// The retry schedule: exponential backoff with jitter, Retry-After, the retry count and the total-wait cap.
#include <catch2/catch.hpp>

#include "core/retry.hpp"

using glm::RetryPolicy;
using glm::RetrySchedule;

TEST_CASE("backoff doubles from the initial delay up to the cap, never overflowing") {
  RetryPolicy p{.max_retries = 5, .initial_delay_ms = 500, .max_delay_ms = 8000, .max_total_ms = 1000000};
  CHECK(RetrySchedule::base_delay(p, 1) == 500);
  CHECK(RetrySchedule::base_delay(p, 2) == 1000);
  CHECK(RetrySchedule::base_delay(p, 3) == 2000);
  CHECK(RetrySchedule::base_delay(p, 5) == 8000);
  CHECK(RetrySchedule::base_delay(p, 6) == 8000);
  CHECK(RetrySchedule::base_delay(p, 1000) == 8000);
  CHECK(RetrySchedule::base_delay(p, 0) == 500);  // no shift by -1: the first delay
  CHECK(RetrySchedule::base_delay(p, -3) == 500);
}

TEST_CASE("each delay is the base shortened by at most 25 % jitter, and seeds differ") {
  RetryPolicy p{.max_retries = 5, .initial_delay_ms = 500, .max_delay_ms = 8000, .max_total_ms = 1000000};
  std::vector<int64_t> first;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    RetrySchedule s(p, seed);
    for (int n = 1; n <= 5; ++n) {
      auto d = s.next_delay(std::nullopt);
      REQUIRE(d);
      int64_t base = RetrySchedule::base_delay(p, n);
      REQUIRE(*d <= base);
      REQUIRE(*d >= base * 3 / 4);
      if (n == 1) first.push_back(*d);
    }
    REQUIRE_FALSE(s.next_delay(std::nullopt));  // max_retries spent
    REQUIRE(s.retries() == 5);
  }
  std::sort(first.begin(), first.end());
  CHECK(std::unique(first.begin(), first.end()) - first.begin() > 20);  // jitter spreads clients out
}

TEST_CASE("Retry-After replaces the computed delay") {
  RetrySchedule s({.max_retries = 3, .initial_delay_ms = 500, .max_delay_ms = 8000, .max_total_ms = 60000}, 7);
  CHECK(s.next_delay(12000) == 12000);
  CHECK(s.next_delay(0) == 0);
  CHECK(s.next_delay(-5) == 0);
  CHECK(s.waited_ms() == 12000);
}

TEST_CASE("the total wait is capped: a retry that would cross the cap is not made") {
  RetrySchedule s({.max_retries = 5, .initial_delay_ms = 500, .max_delay_ms = 8000, .max_total_ms = 10000}, 3);
  CHECK_FALSE(s.next_delay(30000));  // a one-minute window: fail now, with retry_after_ms for the client
  CHECK(s.retries() == 0);
  int64_t total = 0;
  while (auto d = s.next_delay(std::nullopt)) total += *d;
  CHECK(total <= 10000);
  CHECK(s.waited_ms() == total);
  CHECK(s.retries() < 5);  // 500+1000+2000+4000 (less jitter) then 8000 would cross 10000
}

TEST_CASE("max_retries 0 never retries") {
  RetrySchedule s({.max_retries = 0}, 1);
  CHECK_FALSE(s.next_delay(std::nullopt));
  CHECK_FALSE(s.next_delay(0));
}

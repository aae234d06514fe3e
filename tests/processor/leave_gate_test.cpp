// The gate the processing threads of one process leave the group through
// (service/kafka_runner.hpp, leave_gate): no thread closes its consumer before every
// thread has committed, and a thread that never gets there holds no one forever.

#include <countersign/processor/service/kafka_runner.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace countersign::processor {
namespace leave_gate_test {  // one per file: the test programs are unity builds
namespace {

using namespace std::chrono_literals;

TEST(leave_gate, opens_once_every_thread_has_arrived) {
  leave_gate gate(2);
  bool first = false;
  bool second = false;
  gate.arrive(first);
  EXPECT_FALSE(gate.wait(20ms)) << "one of two threads has committed";
  std::thread other([&] { gate.arrive(second); });
  EXPECT_TRUE(gate.wait(10s));
  other.join();
}

TEST(leave_gate, a_thread_arriving_twice_counts_once) {
  // kafka_runner::run arrives again after the runner's own arrival (for threads that
  // end early); that must not open the gate for a thread still draining.
  leave_gate gate(3);
  bool a = false;
  bool b = false;
  gate.arrive(a);
  gate.arrive(a);
  gate.arrive(b);
  EXPECT_FALSE(gate.wait(20ms));
  bool c = false;
  gate.arrive(c);
  EXPECT_TRUE(gate.wait(0ms));
}

TEST(leave_gate, a_thread_that_never_arrives_holds_the_others_only_until_the_timeout) {
  leave_gate gate(2);
  bool first = false;
  gate.arrive(first);
  EXPECT_FALSE(gate.wait(50ms)) << "returns, not opened, when the other never comes";
}

}  // namespace
}  // namespace leave_gate_test
}  // namespace countersign::processor

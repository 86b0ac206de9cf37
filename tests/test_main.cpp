// doctest's main for every test program, with two rules (tests/support.hpp, SKIPPING):
//   - a run in which a case called housenet_test::skip() and none failed exits with 77 (skipped);
//   - a run that selects no test case at all (a --test-suite filter naming no case) fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "support.hpp"

namespace {

unsigned cases_selected = 0;

// Records how many test cases the run selected.
struct selected_counter : doctest::IReporter {
  explicit selected_counter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override { cases_selected = s.numTestCasesPassingFilters; }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("housenet_selected_counter", 1, selected_counter);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int failed = context.run();
  if (failed != 0 || context.shouldExit()) return failed;
  if (cases_selected == 0) {
    std::fprintf(stderr, "%s: no test case matches the filters\n", argv[0]);
    return 1;
  }
  if (housenet_test::skipped_cases() > 0) {
    std::printf("%d test case(s) skipped: exit code %d\n", housenet_test::skipped_cases(),
                housenet_test::skip_exit_code);
    return housenet_test::skip_exit_code;
  }
  return 0;
}

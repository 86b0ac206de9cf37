// Learning-rate schedules (housenet/schedule.hpp) against PyTorch 1.13's schedulers, stepped once
// per optimizer step from lr 0.1 (/usr/bin/python3):
//   CosineAnnealingLR(opt, T_max=10, eta_min=0.001), StepLR(opt, step_size=3, gamma=0.5),
//   SequentialLR(opt, [LinearLR(opt, start_factor=0.25, total_iters=4), CosineAnnealingLR(opt, T_max=6)],
//                milestones=[4]);
// and the optimizer's steps() driving them (what a resumed run relies on).
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/optim.hpp>
#include <housenet/schedule.hpp>

#include "support.hpp"

#include <string>
#include <vector>

using namespace housenet;
using housenet_test::error_of;

namespace {
void check_all(const lr_schedule& s, const std::vector<double>& want) {
  for (std::size_t t = 0; t < want.size(); ++t) {
    CAPTURE(t);
    CHECK(s.at(t) == doctest::Approx(want[t]).epsilon(1e-14).scale(1e-6));
  }
}
}  // namespace

TEST_CASE("lr_schedule: cosine, step and warm-up + cosine as PyTorch's schedulers") {
  check_all(lr_schedule::cosine(0.1, 10, 0.001),
            {0.1, 0.09757729755661011, 0.0905463412215599, 0.07959536998847742, 0.0657963412215599, 0.0505,
             0.03520365877844011, 0.02140463001152259, 0.010453658778440109, 0.0034227024433899004, 0.001});
  check_all(lr_schedule::step(0.1, 3, 0.5), {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125});
  check_all(lr_schedule::cosine(0.1, 6).with_warmup(4, 0.25),
            {0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.1, 0.09330127018922195,
             0.07500000000000001, 0.05, 0.025000000000000012, 0.006698729810778065, 0.0});
  check_all(lr_schedule::constant(0.3), {0.3, 0.3, 0.3});
  // After its steps the cosine stays at min_lr (PyTorch's would rise again: it is periodic).
  CHECK(lr_schedule::cosine(0.1, 10, 0.001).at(11) == 0.001);
  CHECK(lr_schedule::cosine(0.1, 10).at(1000000) == 0.0);
  // Warm-up from 0 (the default start) reaches the schedule's first value at step w.
  const lr_schedule w = lr_schedule::step(0.2, 5, 0.1).with_warmup(10);
  CHECK(w.at(0) == 0.0);
  CHECK(w.at(5) == doctest::Approx(0.1));
  CHECK(w.at(10) == 0.2);
  CHECK(w.at(15) == doctest::Approx(0.02));
  CHECK(w.warmup_steps() == 10);
  CHECK(w.type() == lr_schedule::kind::step);
}

TEST_CASE("lr_schedule: apply() sets the rate of the optimizer's next step") {
  sequential<double> net;
  net.add<linear<double>>(2);
  net.setup(shape{1, 3}, 1);
  sgd<double> opt(sgd<double>::options{1.0, 0.9, 0.0, false});
  const lr_schedule s = lr_schedule::cosine(0.1, 4);
  for (int t = 0; t < 6; ++t) {
    net.zero_grad();
    s.apply(opt);
    CHECK(opt.lr() == s.at(std::uint64_t(t)));
    opt.step(net);
  }
  opt.set_steps(2);  // a resumed run: the rate follows the restored step count
  s.apply(opt);
  CHECK(opt.lr() == s.at(2));
}

TEST_CASE("lr_schedule: errors") {
  CHECK(error_of([] { (void)lr_schedule::constant(-1); }) ==
        "lr_schedule: lr -1 invalid (expected a finite value >= 0)");
  CHECK(error_of([] { (void)lr_schedule::step(0.1, 0, 0.5); }) == "lr_schedule: step every 0 steps");
  CHECK(error_of([] { (void)lr_schedule::step(0.1, 3, -0.5); }) ==
        "lr_schedule: gamma -0.5 invalid (expected a finite value >= 0)");
  CHECK(error_of([] { (void)lr_schedule::cosine(0.1, 0); }) == "lr_schedule: cosine over 0 steps");
  CHECK(error_of([] { (void)lr_schedule::cosine(0.1, 10, 0.2); }) == "lr_schedule: min_lr 0.2 above lr 0.1");
  CHECK(error_of([] { (void)lr_schedule::cosine(0.1, 10).with_warmup(5, 2.0); }) ==
        "lr_schedule: warm-up start factor 2 not in [0, 1]");
}

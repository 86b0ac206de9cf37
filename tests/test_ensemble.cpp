// Prediction helpers (housenet/predict.hpp) and the ensemble file (housenet/ensemble_io.hpp):
// mirroring against a plain loop, the probabilities against loss.hpp's softmax, test-time flip
// and ensemble means against their definitions, the invariance flip buys, a fixture written by
// Python from the format document, bitwise round trips, every truncation and flipped byte an
// error naming the file.
#include <doctest/doctest.h>

#include <housenet/ensemble_io.hpp>
#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/model_io.hpp>
#include <housenet/optim.hpp>
#include <housenet/predict.hpp>
#include <housenet/sequential.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

using namespace housenet;
using housenet_test::rewrite_header;
using housenet_test::read_bytes;
using housenet_test::same_bits;

namespace {

sequential<float> tiny(std::uint64_t seed, std::size_t classes = 3, std::size_t side = 6) {
  sequential<float> n;
  n.add<conv2d<float>>(2, 3);
  n.add<relu<float>>();
  n.add<batch_norm2d<float>>();
  n.add<max_pool2d<float>>(2, 2, 0, true);
  n.add<linear<float>>(classes);
  n.setup(shape{1, 2, side, side}, seed);
  // non-trivial running statistics, as a trained model has
  tensor<float> x(shape{4, 2, side, side});
  prng r(seed + 100);
  for (auto& v : x) v = float(r.uniform(-1, 1));
  n.train();
  n.forward(x);
  n.eval();
  return n;
}

tensor<float> input(std::size_t n, std::uint64_t seed, std::size_t c = 2, std::size_t h = 6, std::size_t w = 6) {
  tensor<float> x(shape{n, c, h, w});
  prng r(seed);
  for (auto& v : x) v = float(r.uniform(-1, 1));
  return x;
}

bool same_arena(const sequential<float>& a, const sequential<float>& b) {
  return a.arena_size() == b.arena_size() &&
         std::memcmp(a.values().data(), b.values().data(), a.arena_size() * sizeof(float)) == 0;
}

std::string error_of(const std::vector<std::uint8_t>& bytes, const std::string& name = "e.hsnt") {
  return housenet_test::error_of([&] { ensemble_from_bytes<float>(bytes.data(), bytes.size(), name); });
}

// An ensemble file assembled by hand from member files (any bytes), per docs/model-format.md.
std::vector<std::uint8_t> container(const std::vector<std::vector<std::uint8_t>>& members) {
  detail::byte_writer p;
  for (const auto& f : members) {
    p.u64(f.size());
    p.raw(f.data(), f.size());
  }
  const std::string h = detail::ensemble_header(members.size(), p.size() + 4);
  detail::byte_writer w;
  w.str("HSNT");
  w.u32(1);
  w.u32(model_flag_ensemble);
  w.u64(h.size());
  w.str(h);
  w.raw(p.bytes().data(), p.size());
  w.u32(detail::crc32(w.bytes().data(), w.size()));
  return w.bytes();
}

const std::vector<std::string> labels3 = {"gryffindor", "hufflepuff", "ravenclaw"};

}  // namespace

// ---- predict.hpp -----------------------------------------------------------------------------

TEST_CASE("mirror_horizontal reverses W on odd shapes, twice is the identity") {
  for (const shape s : {shape{1, 1, 1, 1}, shape{3, 2, 5, 7}, shape{2, 3, 1, 4}, shape{1, 1, 3, 1}}) {
    CAPTURE(s.str());
    tensor<float> x(s), m, back;
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i);
    mirror_horizontal(x, m);
    REQUIRE(m.shape() == s);
    for (std::size_t n = 0; n < s.n(); ++n)
      for (std::size_t c = 0; c < s.c(); ++c)
        for (std::size_t y = 0; y < s.h(); ++y)
          for (std::size_t xx = 0; xx < s.w(); ++xx)
            REQUIRE(m.data()[((n * s.c() + c) * s.h() + y) * s.w() + xx] ==
                    x.data()[((n * s.c() + c) * s.h() + y) * s.w() + (s.w() - 1 - xx)]);
    mirror_horizontal(m, back);
    CHECK(same_bits(back, x));
  }
  tensor<float> v(shape{2, 5}), out;
  CHECK_THROWS_WITH_AS(mirror_horizontal(v, out), doctest::Contains("predict: cannot mirror 2x5"), error);
}

TEST_CASE("predict_probabilities: plain = softmax of predict; flip = mean over the image and its mirror") {
  const sequential<float> net = tiny(7);
  const tensor<float> x = input(5, 11, 2, 6, 6);
  tensor<float> p, logits, ref;
  predict_probabilities(net, x, p);
  net.predict(x, logits);
  softmax(logits, ref);
  CHECK(same_bits(p, ref));  // the default: exactly loss.hpp's softmax of the logits

  predict_options flip;
  flip.flip = true;
  tensor<float> pf, m, pm;
  predict_probabilities(net, x, pf, flip);
  mirror_horizontal(x, m);
  predict_probabilities(net, m, pm);
  REQUIRE(pf.shape() == shape{5, 3});
  for (std::size_t i = 0; i < pf.size(); ++i)
    CHECK(pf.data()[i] == doctest::Approx((double(ref.data()[i]) + double(pm.data()[i])) / 2).epsilon(1e-6));
  // the mirror does not give the plain answer (else the checks above prove nothing about flip)
  double diff = 0;
  for (std::size_t i = 0; i < p.size(); ++i) diff += std::fabs(double(p.data()[i]) - double(pm.data()[i]));
  CHECK(diff > 1e-3);

  // invariance: with flip, a mirrored image gets the image's probabilities (to rounding)
  tensor<float> pfm;
  predict_probabilities(net, m, pfm, flip);
  for (std::size_t i = 0; i < pf.size(); ++i) CHECK(pfm.data()[i] == doctest::Approx(pf.data()[i]).epsilon(1e-6));

  // same input, same bits
  tensor<float> again;
  predict_probabilities(net, x, again, flip);
  CHECK(same_bits(again, pf));
}

TEST_CASE("predict_probabilities: an ensemble is the mean of its members' probabilities") {
  std::vector<sequential<float>> members;
  members.push_back(tiny(1));
  members.push_back(tiny(2));
  members.push_back(tiny(3));
  const tensor<float> x = input(4, 5);
  for (const bool f : {false, true}) {
    CAPTURE(f);
    predict_options o;
    o.flip = f;
    tensor<float> pe, pi;
    predict_probabilities(members, x, pe, o);
    std::vector<double> mean(4 * 3, 0.0);
    for (const auto& m : members) {
      predict_probabilities(m, x, pi, o);
      for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += double(pi.data()[i]) / 3;
    }
    for (std::size_t i = 0; i < mean.size(); ++i) CHECK(pe.data()[i] == doctest::Approx(mean[i]).epsilon(1e-6));
    // an ensemble of one is the model, bit for bit
    std::vector<sequential<float>> one;
    one.push_back(tiny(2));
    tensor<float> p1, p2;
    predict_probabilities(one, x, p1, o);
    predict_probabilities(members[1], x, p2, o);
    CHECK(same_bits(p1, p2));
  }
}

TEST_CASE("predict_probabilities: empty or mismatched ensembles and flip of vectors are errors") {
  std::vector<sequential<float>> none;
  const tensor<float> x = input(2, 3);
  tensor<float> p;
  CHECK_THROWS_WITH_AS(predict_probabilities(none, x, p), "predict: an ensemble of no model", error);
  std::vector<sequential<float>> mixed;
  mixed.push_back(tiny(1, 3));
  mixed.push_back(tiny(2, 4));
  CHECK_THROWS_WITH_AS(predict_probabilities(mixed, x, p), "predict: ensemble member 2 gives 4 classes, member 1 3",
                       error);
  std::vector<sequential<float>> sizes;
  sizes.push_back(tiny(1, 3, 6));
  sizes.push_back(tiny(2, 3, 8));
  CHECK_THROWS_WITH_AS(predict_probabilities(sizes, x, p), doctest::Contains("predict: ensemble member 2 takes"),
                       error);
  sequential<float> vec;
  vec.add<linear<float>>(2);
  vec.setup(shape{1, 5}, 1);
  predict_options flip;
  flip.flip = true;
  CHECK_THROWS_WITH_AS(predict_probabilities(vec, tensor<float>(shape{3, 5}, 0.5f), p, flip),
                       "predict: flip needs an N x C x H x W input, got 3x5", error);
}

// ---- ensemble_io.hpp -------------------------------------------------------------------------

TEST_CASE("ensemble file: save -> load is bitwise; the writer streams what ensemble_to_bytes encodes") {
  std::vector<sequential<float>> members;
  for (std::uint64_t s = 1; s <= 3; ++s) members.push_back(tiny(s));
  const std::vector<std::uint8_t> b = ensemble_to_bytes(members, labels3);
  loaded_ensemble<float> e = ensemble_from_bytes<float>(b.data(), b.size(), "e.hsnt");
  CHECK(e.is_ensemble);
  REQUIRE(e.members.size() == 3);
  for (std::size_t m = 0; m < 3; ++m) {
    CHECK(same_arena(e.members[m], members[m]));
    CHECK(e.members[m].current_mode() == mode::eval);
  }
  CHECK(e.info.labels == labels3);
  CHECK(e.info.classes == 3);
  CHECK(e.info.input == shape{1, 2, 6, 6});
  REQUIRE(e.header.size() == 4);
  CHECK(e.header[2] == std::pair<std::string, std::string>{"members", "3"});
  CHECK(e.header[3] == std::pair<std::string, std::string>{"combine", "mean_probabilities"});
  CHECK(ensemble_to_bytes(e.members, e.info.labels) == b);  // re-encoding gives the same bytes

  const housenet_test::scratch_dir dir("ensemble");
  save_ensemble(members, labels3, dir("e.hsnt"));
  CHECK(read_bytes(dir("e.hsnt")) == b);
  CHECK(load_ensemble<float>(dir("e.hsnt")).members.size() == 3);
  CHECK(housenet_test::list_dir(dir.str()) == std::vector<std::string>{"e.hsnt"});  // nothing else left behind

  // the flag is all that tells the container apart; single models are still written as before
  CHECK(b[8] == model_flag_ensemble);
  CHECK(model_to_bytes(members[0], labels3)[8] == 0);
}

TEST_CASE("ensemble file: a single-model file loads as an ensemble of one; load_model refuses an ensemble") {
  const sequential<float> net = tiny(4);
  const std::vector<std::uint8_t> single = model_to_bytes(net, labels3);
  loaded_ensemble<float> e = ensemble_from_bytes<float>(single.data(), single.size());
  CHECK_FALSE(e.is_ensemble);
  REQUIRE(e.members.size() == 1);
  CHECK(same_arena(e.members[0], net));
  CHECK(e.info.labels == labels3);

  std::vector<sequential<float>> two;
  two.push_back(tiny(1));
  two.push_back(tiny(2));
  const std::vector<std::uint8_t> b = ensemble_to_bytes(two, labels3);
  CHECK_THROWS_WITH_AS(model_from_bytes<float>(b.data(), b.size(), "e.hsnt"),
                       "e.hsnt: an ensemble of models, not one model (read it with load_ensemble, "
                       "housenet/ensemble_io.hpp)",
                       error);
  // errors of a single-model file keep the single-model reader's wording
  CHECK(error_of({}) == "e.hsnt: not a housenet model file (empty)");
  std::vector<std::uint8_t> d = single;
  d[4] = 3;
  CHECK(error_of(d) == "e.hsnt: format version 3 not supported (this build reads 1-2)");
  // the ensemble container is version 1 whatever its members are
  CHECK(b[4] == 1);
  std::vector<std::uint8_t> v2 = b;
  v2[4] = 2;
  CHECK(error_of(v2) == "e.hsnt: an ensemble file of format version 2 (this build reads ensembles of version 1)");
}

TEST_CASE("ensemble file: the fixture written by Python from the format document") {
  const std::string dir = std::string(HOUSENET_SOURCE_DIR) + "/tests/data/";
  const loaded_ensemble<float> e = load_ensemble<float>(dir + "ensemble_linear2.hsnt");
  CHECK(e.is_ensemble);
  REQUIRE(e.members.size() == 2);
  CHECK(e.info.labels == std::vector<std::string>{"a", "b", "c"});
  CHECK(e.info.input == shape{1, 1, 2, 3});
  CHECK(e.info.housenet_version == "fixture");
  tensor<float> x(shape{1, 1, 2, 3});
  for (std::size_t i = 0; i < 6; ++i) x.data()[i] = float(0.1 * double(i) - 0.2);
  std::istringstream f(housenet_test::read_file(dir + "ensemble_linear2.expected"));
  std::string line;
  int rows = 0;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    std::string kind;
    is >> kind;
    predict_options o;
    o.flip = kind == "flip";
    tensor<float> p;
    predict_probabilities(e.members, x, p, o);
    for (std::size_t k = 0; k < 3; ++k) {
      double want = 0;
      REQUIRE(static_cast<bool>(is >> want));
      CAPTURE(kind);
      CHECK(p.data()[k] == doctest::Approx(want).epsilon(1e-6));
    }
    ++rows;
  }
  CHECK(rows == 2);
}

TEST_CASE("ensemble file: truncation at every byte and every flipped byte are errors naming the file") {
  std::vector<sequential<float>> two;
  two.push_back(tiny(1));
  two.push_back(tiny(2));
  const std::vector<std::uint8_t> b = ensemble_to_bytes(two, labels3);
  REQUIRE(b.size() < 8192);
  std::size_t truncated = 0;
  for (std::size_t n = 0; n < b.size(); ++n) {
    const std::string e = error_of(std::vector<std::uint8_t>(b.begin(), b.begin() + std::ptrdiff_t(n)));
    INFO("cut at " << n << ": " << e);
    REQUIRE(!e.empty());
    CHECK(e.rfind("e.hsnt: ", 0) == 0);
    if (e.find("truncated at byte " + std::to_string(n)) != std::string::npos) ++truncated;
  }
  CHECK(truncated == b.size() - 1);  // all but the empty file say where
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::vector<std::uint8_t> d = b;
    d[i] ^= 0x5A;
    const std::string e = error_of(d);
    INFO("flip at " << i << ": " << e);
    REQUIRE(!e.empty());
    CHECK(e.rfind("e.hsnt: ", 0) == 0);
  }
  std::vector<std::uint8_t> d = b;
  d[b.size() - 10] ^= 1;
  CHECK(error_of(d) == "e.hsnt: checksum mismatch (file damaged?)");
  d = b;
  d.push_back(0);
  CHECK(error_of(d).find("unexpected bytes after the checksum") != std::string::npos);
  d = b;
  d[8] = 3;  // ensemble + checkpoint
  CHECK(error_of(d) == "e.hsnt: unknown flags 0x3 (an ensemble file has exactly 0x2)");
}

TEST_CASE("ensemble file: a valid container with a wrong header or members gives a clear error") {
  std::vector<sequential<float>> two;
  two.push_back(tiny(1));
  two.push_back(tiny(2));
  const std::vector<std::uint8_t> b = ensemble_to_bytes(two, labels3);
  CHECK(error_of(rewrite_header(b, "members=2", "members=3")).find("e.hsnt: truncated at byte") == 0);
  CHECK(error_of(rewrite_header(b, "members=2", "members=1")).find("unexpected bytes after member 1") !=
        std::string::npos);
  CHECK(error_of(rewrite_header(b, "members=2", "members=0")) ==
        "e.hsnt: header: members='0' is not an integer in 1..64");
  CHECK(error_of(rewrite_header(b, "members=2", "members=65")) ==
        "e.hsnt: header: members='65' is not an integer in 1..64");
  CHECK(error_of(rewrite_header(b, "members=2", "members=-2")).find("is not an integer") != std::string::npos);
  CHECK(error_of(rewrite_header(b, "combine=mean_probabilities", "combine=mean_logits")) ==
        "e.hsnt: header: combine='mean_logits' not supported (this build reads mean_probabilities)");
  CHECK(error_of(rewrite_header(b, "members=2\n", "")) == "e.hsnt: an ensemble header has 4 lines, this one 3");
  CHECK(error_of(rewrite_header(b, "members=2\ncombine", "combine=x\nmembers")) ==
        "e.hsnt: header line 3: expected 'members=...', found 'combine'");
  CHECK(error_of(rewrite_header(b, "combine=mean_probabilities\n", "combine=mean_probabilities")) ==
        "e.hsnt: header does not end with a newline");

  // members that do not belong together
  const auto pair_of = [](sequential<float> a, sequential<float> c, const std::vector<std::string>& la,
                          const std::vector<std::string>& lc) {
    return container({model_to_bytes(a, la), model_to_bytes(c, lc)});
  };
  CHECK(error_of(pair_of(tiny(1), tiny(2, 4), labels3, {"a", "b", "c", "d"})) ==
        "e.hsnt: member 2 has 4 classes, member 1 has 3");
  CHECK(error_of(pair_of(tiny(1), tiny(2), labels3, {"a", "b", "c"})) == "e.hsnt: member 2 has other labels than member 1");
  CHECK(error_of(pair_of(tiny(1), tiny(2, 3, 8), labels3, labels3)) ==
        "e.hsnt: member 2 takes 1x2x8x8, member 1 1x2x6x6");
  {  // a damaged member names itself
    std::vector<std::uint8_t> d = pair_of(tiny(1), tiny(2), labels3, labels3);
    const std::size_t second = d.size() - 4 - 30;  // inside member 2's last record
    d[second] ^= 1;
    std::vector<std::uint8_t> fixed(d.begin(), d.end() - 4);
    detail::byte_writer w;
    w.raw(fixed.data(), fixed.size());
    w.u32(detail::crc32(fixed.data(), fixed.size()));
    CHECK(error_of(w.bytes()) == "e.hsnt: member 2 of 2: checksum mismatch (file damaged?)");
  }
  {  // a checkpoint as a member
    sequential<float> net = tiny(1);
    sgd<float> opt;
    CHECK(error_of(container({checkpoint_to_bytes(net, opt, labels3, checkpoint_state{})})) ==
          "e.hsnt: member 1 of 1: a training checkpoint, not a model");
  }
}

TEST_CASE("ensemble file: bad ensembles are refused before writing") {
  std::vector<sequential<float>> none;
  CHECK_THROWS_WITH_AS(ensemble_to_bytes(none), "model: an ensemble of 0 models (1..64)", error);
  std::vector<sequential<float>> mixed;
  mixed.push_back(tiny(1, 3));
  mixed.push_back(tiny(2, 4));
  CHECK_THROWS_WITH_AS(ensemble_to_bytes(mixed), doctest::Contains("model: ensemble member 2 maps"), error);
  std::vector<sequential<float>> two;
  two.push_back(tiny(1));
  two.push_back(tiny(2));
  CHECK_THROWS_WITH_AS(save_ensemble(two, labels3, "/nonexistent-dir/e.hsnt"), doctest::Contains("/nonexistent-dir/e.hsnt: "),
                       error);
}

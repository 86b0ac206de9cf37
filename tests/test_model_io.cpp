// The model file: bitwise round trips, damaged files (every truncation, flipped bytes, wrong
// magic / version / architecture) give one housenet::error naming the file and never a crash,
// failed loads leave the caller's objects untouched, writes are atomic, checkpoints resume
// bit-identically.
#include <doctest/doctest.h>

#include "support.hpp"

#include <housenet/layers.hpp>
#include <housenet/loss.hpp>
#include <housenet/model_io.hpp>
#include <housenet/networks.hpp>
#include <housenet/optim.hpp>
#include <housenet/sequential.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace housenet;
using housenet_test::rewrite_header;
using housenet_test::list_dir;
using housenet_test::same_bits;

namespace {

// A tiny network with every parameter kind (weights, biases, BN gamma/beta/running stats).
sequential<float> tiny(std::uint64_t seed = 3) {
  sequential<float> n;
  n.add<conv2d<float>>(2, 3);
  n.add<relu<float>>();
  n.add<batch_norm2d<float>>();
  n.add<max_pool2d<float>>(2, 2, 0, true);
  n.add<linear<float>>(3);
  n.setup(shape{1, 1, 6, 6}, seed);
  return n;
}

tensor<float> input(std::size_t n, std::uint64_t seed, std::size_t c = 1, std::size_t h = 6) {
  tensor<float> x(shape{n, c, h, h});
  prng r(seed);
  for (auto& v : x) v = float(r.uniform(-1, 1));
  return x;
}

// One training step so that running statistics and weights are not at their initial values.
void train_steps(sequential<float>& net, optimizer<float>& opt, int steps, std::uint64_t seed) {
  softmax_cross_entropy<float> ce;
  tensor<float> d;
  const std::size_t classes = net.output_shape().sample_size();
  for (int s = 0; s < steps; ++s) {
    const tensor<float> x = input(4, seed + std::uint64_t(s), net.input_shape().c(), net.input_shape().h());
    std::vector<int> t;
    for (int i = 0; i < 4; ++i) t.push_back(int((std::size_t(s) + std::size_t(i)) % classes));
    net.train();
    ce.forward(net.forward(x), t);
    ce.backward(d);
    net.zero_grad();
    net.backward(d);
    opt.step(net);
  }
}

bool same_arena(const sequential<float>& a, const sequential<float>& b) {
  return a.arena_size() == b.arena_size() &&
         std::memcmp(a.values().data(), b.values().data(), a.arena_size() * sizeof(float)) == 0;
}

// The error of reading `bytes` as a model file ("" when it reads).
std::string error_of(const std::vector<std::uint8_t>& bytes, const std::string& name = "m.hsnt") {
  return housenet_test::error_of([&] { (void)model_from_bytes<float>(bytes.data(), bytes.size(), name); });
}

const std::vector<std::string> houses = {"gryffindor", "hufflepuff", "ravenclaw"};

}  // namespace

TEST_CASE("crc32: slicing-by-8 equals the byte-at-a-time definition at every length and alignment") {
  CHECK(detail::crc32("123456789", 9) == 0xCBF43926u);
  CHECK(detail::crc32("", 0) == 0u);
  std::vector<unsigned char> b(4096 + 64);
  std::uint32_t s = 12345;
  for (auto& v : b) v = static_cast<unsigned char>((s = s * 1103515245u + 12345u) >> 24);
  for (std::size_t off = 0; off < 9; ++off)
    for (std::size_t n = 0; n < 80; ++n) {
      CAPTURE(off);
      CAPTURE(n);
      REQUIRE(detail::crc32(b.data() + off, n) == detail::crc32_bytewise(0, b.data() + off, n));
    }
  CHECK(detail::crc32(b.data() + 3, 4096) == detail::crc32_bytewise(0, b.data() + 3, 4096));
  // a running CRC over uneven pieces equals the CRC of the whole
  std::uint32_t run = 0;
  for (std::size_t at = 0, k = 1; at < 4096; at += k, k = k * 3 % 61 + 1)
    run = detail::crc32_update(run, b.data() + at, std::min<std::size_t>(k, 4096 - at));
  CHECK(run == detail::crc32(b.data(), 4096));
}

TEST_CASE("model file: save -> load is bitwise (parameters, running stats, predictions, labels)") {
  sequential<float> net = tiny();
  sgd<float> opt;
  train_steps(net, opt, 3, 10);
  const housenet_test::scratch_dir tmp("model-io");
  const std::string dir = tmp.str();
  const std::string path = dir + "/model.hsnt";
  save_model(net, houses, path);

  loaded_model<float> m = load_model(path);
  CHECK(m.info.labels == houses);
  CHECK(m.info.classes == 3);
  CHECK(m.info.input == shape{1, 1, 6, 6});
  CHECK(m.info.format_version == model_format_chain_version);
  CHECK(m.info.flags == 0);
  CHECK(m.info.housenet_version == HOUSENET_VERSION_STRING);
  CHECK(m.model.current_mode() == mode::eval);
  CHECK(m.model.step() == net.step());
  CHECK(m.model.summary() == net.summary());
  CHECK(same_arena(m.model, net));
  for (std::size_t i = 0; i < net.size(); ++i) {
    CHECK(m.model[i].kind() == net[i].kind());
    CHECK(m.model[i].config() == net[i].config());
  }
  const tensor<float> x = input(5, 99);
  CHECK(same_bits(m.model.predict(x), net.predict(x)));

  // saving the loaded model gives the same bytes
  CHECK(model_to_bytes(m.model, m.info.labels) == model_to_bytes(net, houses));
  // the temporary file is gone
  CHECK(list_dir(dir) == std::vector<std::string>{"model.hsnt"});
  // overwriting keeps one file
  save_model(net, houses, path);
  CHECK(list_dir(dir) == std::vector<std::string>{"model.hsnt"});
}

TEST_CASE("model file: the mini seed network round trips bitwise, labels optional") {
  seed_network_options o;
  o.c1 = 4;
  o.c2 = 6;
  o.c3 = 8;
  o.f7 = 16;
  o.f8 = 8;
  o.seed = 5;
  sequential<float> net = make_seed_network<float>(4, o);
  const std::vector<std::uint8_t> b = model_to_bytes(net);
  loaded_model<float> m = model_from_bytes<float>(b.data(), b.size());
  CHECK(m.info.labels.empty());
  CHECK(same_arena(m.model, net));
  const tensor<float> x = input(2, 7, 3, 100);
  CHECK(same_bits(m.model.predict(x), net.predict(x)));
}

TEST_CASE("model file: truncation at every byte offset is an error naming the file, never a crash") {
  sequential<float> net = tiny();
  const std::vector<std::uint8_t> b = model_to_bytes(net, houses);
  REQUIRE(b.size() < 4096);
  std::size_t truncated_msgs = 0;
  for (std::size_t n = 0; n < b.size(); ++n) {
    const std::vector<std::uint8_t> cut(b.begin(), b.begin() + std::ptrdiff_t(n));
    const std::string e = error_of(cut);
    INFO("cut at " << n << ": " << e);
    REQUIRE(!e.empty());
    CHECK(e.rfind("m.hsnt: ", 0) == 0);
    if (e.find("truncated at byte " + std::to_string(n)) != std::string::npos) ++truncated_msgs;
  }
  // every cut but the empty file says where it was truncated
  CHECK(truncated_msgs == b.size() - 1);
  CHECK(error_of({}) == "m.hsnt: not a housenet model file (empty)");
  CHECK(error_of(b).empty());
}

TEST_CASE("model file: damaged bytes give an error; a flipped data byte is a checksum mismatch") {
  sequential<float> net = tiny();
  const std::vector<std::uint8_t> b = model_to_bytes(net, houses);
  // every single flipped byte is caught
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::vector<std::uint8_t> d = b;
    d[i] ^= 0x5A;
    const std::string e = error_of(d);
    INFO("flip at " << i << ": " << e);
    CHECK(!e.empty());
  }
  std::vector<std::uint8_t> d = b;
  d[b.size() - 10] ^= 1;  // inside the last record's data
  CHECK(error_of(d) == "m.hsnt: checksum mismatch (file damaged?)");
  d = b;
  d[b.size() - 1] ^= 0x80;  // the checksum itself
  CHECK(error_of(d) == "m.hsnt: checksum mismatch (file damaged?)");
  d = b;
  d.push_back(0);
  CHECK(error_of(d).find("unexpected bytes") != std::string::npos);
}

TEST_CASE("model file: wrong magic, version, flags") {
  sequential<float> net = tiny();
  const std::vector<std::uint8_t> b = model_to_bytes(net);
  std::vector<std::uint8_t> d = b;
  d[0] = 'X';
  CHECK(error_of(d) == "m.hsnt: not a housenet model file (it does not start with 'HSNT')");
  const std::string png = "\x89PNG\r\n\x1a\n";
  CHECK(error_of(std::vector<std::uint8_t>(png.begin(), png.end())).find("not a housenet model file") !=
        std::string::npos);
  d = b;
  d[4] = 3;
  CHECK(error_of(d) == "m.hsnt: format version 3 not supported (this build reads 1-2)");
  d = b;
  d[4] = 0;
  CHECK(error_of(d) == "m.hsnt: format version 0 not supported (this build reads 1-2)");
  d = b;
  d[8] = 4;
  CHECK(error_of(d).find("unknown flags") != std::string::npos);
  d = b;
  d[19] = 0x7F;  // header_bytes absurdly large
  CHECK(error_of(d).find("m.hsnt: header of") == 0);
}

TEST_CASE("model file: a valid container with a wrong architecture or records gives a clear error") {
  sequential<float> net = tiny();
  const std::vector<std::uint8_t> b = model_to_bytes(net, houses);
  CHECK(error_of(rewrite_header(b, "classes=3", "classes=4")).find("3 labels for 4 classes") !=
        std::string::npos);
  CHECK(error_of(rewrite_header(b, "labels=gryffindor,", "labels=")).find("2 labels for 3 classes") !=
        std::string::npos);
  CHECK(error_of(rewrite_header(b, "layer=relu/1", "layer=gelu/1"))
            .find("m.hsnt: layer 2: make_layer: unknown layer kind 'gelu'") == 0);
  CHECK(error_of(rewrite_header(b, "layer=relu/1", "layer=relu/2")).find("m.hsnt: layer 2: ") == 0);
  CHECK(error_of(rewrite_header(b, "out_channels=2", "out_channels=5"))
            .find("has dims 2x1x3x3, the network needs 5x1x3x3") != std::string::npos);
  CHECK(error_of(rewrite_header(b, "input=1x6x6", "input=1x7x7")).find("has dims") != std::string::npos);
  CHECK(error_of(rewrite_header(b, "dtype=f32", "dtype=f64")) ==
        "m.hsnt: dtype 'f64' not supported (this build reads f32)");
  CHECK(error_of(rewrite_header(b, "input=1x6x6", "input=1x6x2")).find("m.hsnt: ") == 0);
  // parameters larger than the file are refused before allocating
  CHECK(error_of(rewrite_header(b, "out_features=3", "out_features=1000000")).find("m.hsnt: ") == 0);
  CHECK(error_of(rewrite_header(b, "records=8", "records=7")).find("unexpected bytes") != std::string::npos);
  CHECK(error_of(rewrite_header(b, "records=8", "records=9")).find("truncated") != std::string::npos);
}

TEST_CASE("model file: a failed load leaves the caller's model and labels untouched") {
  sequential<float> net = tiny(1);
  const housenet_test::scratch_dir tmp("model-io");
  const std::string dir = tmp.str();
  const std::string good = dir + "/good.hsnt", bad = dir + "/bad.hsnt";
  sequential<float> other = tiny(2);
  save_model(other, houses, good);
  std::vector<std::uint8_t> b = model_to_bytes(other, houses);
  b[b.size() / 2] ^= 0xFF;
  {
    std::ofstream f(bad, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  }
  sequential<float> before = tiny(1);
  std::vector<std::string> labels = {"a", "b", "c"};
  const std::string bad_prefix = bad + ": ";
  CHECK_THROWS_WITH_AS(load_model(bad, net, &labels), doctest::Contains(bad_prefix.c_str()), error);
  CHECK(same_arena(net, before));
  CHECK(labels == std::vector<std::string>{"a", "b", "c"});
  CHECK_THROWS_WITH_AS(load_model(dir + "/missing.hsnt", net, &labels), doctest::Contains("cannot open"), error);
  CHECK(same_arena(net, before));
  load_model(good, net, &labels);
  CHECK(same_arena(net, other));
  CHECK(labels == houses);
}

TEST_CASE("model file: failed writes leave nothing behind; bad labels are refused") {
  sequential<float> net = tiny();
  const housenet_test::scratch_dir tmp("model-io");
  const std::string dir = tmp.str();
  CHECK_THROWS_AS(save_model(net, houses, dir + "/no/such/dir/m.hsnt"), error);
  CHECK_THROWS_WITH_AS(save_model(net, {"a", "b"}, dir + "/m.hsnt"),
                       "model: 2 labels for a network with 3 outputs", error);
  CHECK_THROWS_AS(save_model(net, {"a", "b,c", "d"}, dir + "/m.hsnt"), error);
  CHECK_THROWS_AS(save_model(net, {"a", "", "d"}, dir + "/m.hsnt"), error);
  CHECK(list_dir(dir).empty());
  sequential<float> unset;
  unset.add<relu<float>>();
  CHECK_THROWS_WITH_AS(model_to_bytes(unset), "model: save of a model that is not set up", error);
}

TEST_CASE("checkpoint: model + optimizer state + counters resume bit-identically") {
  const housenet_test::scratch_dir tmp("model-io");
  const std::string dir = tmp.str();
  const std::string path = dir + "/ckpt.hsnt";
  sgd<float>::options so;
  so.lr = 0.05;
  so.momentum = 0.9;
  so.weight_decay = 1e-3;

  // run A: 6 steps straight
  sequential<float> a = tiny(4);
  sgd<float> oa(so);
  train_steps(a, oa, 3, 100);
  checkpoint_state st;
  st.epoch = 1;
  st.step = 3;
  st.meta = {{"rng", "12345"}, {"note", "half way = 3 steps"}};
  save_checkpoint(path, a, oa, houses, st);
  train_steps(a, oa, 3, 103);

  // run B: resume from the checkpoint
  sgd<float> ob(so);
  ob.set_lr(0.5);  // overwritten by the checkpoint
  loaded_checkpoint<float> c = load_checkpoint(path, ob);
  CHECK(c.state.epoch == 1);
  CHECK(c.state.step == 3);
  CHECK(c.state.get("rng") == "12345");
  CHECK(c.state.get("note") == "half way = 3 steps");
  CHECK(c.info.labels == houses);
  CHECK(c.info.flags == model_flag_checkpoint);
  CHECK(c.model.current_mode() == mode::train);
  CHECK(ob.steps() == 3);
  CHECK(ob.lr() == 0.05);
  train_steps(c.model, ob, 3, 103);
  CHECK(same_arena(c.model, a));
  CHECK(same_bits(ob.velocity(), oa.velocity()));

  // a checkpoint is also a model file
  loaded_model<float> m = load_model(path);
  CHECK(m.model.num_params() == a.num_params());

  // wrong optimizer kind or hyperparameters: error, and the optimizer is untouched
  adam<float> ad;
  CHECK_THROWS_WITH_AS(load_checkpoint(path, ad), doctest::Contains("optimizer is sgd/1, not adam/1"), error);
  CHECK(ad.steps() == 0);
  sgd<float>::options so2 = so;
  so2.momentum = 0.5;
  sgd<float> oc(so2);
  CHECK_THROWS_WITH_AS(load_checkpoint(path, oc), doctest::Contains("momentum"), error);
  CHECK(oc.steps() == 0);
  CHECK(oc.velocity().empty());
  // a plain model file is not a checkpoint
  save_model(a, houses, dir + "/model.hsnt");
  CHECK_THROWS_WITH_AS(load_checkpoint(dir + "/model.hsnt", ob), doctest::Contains("not a training checkpoint"),
                       error);
  CHECK_THROWS_AS(save_checkpoint(path, a, oa, houses, checkpoint_state{0, 0, {{"bad key", "x"}}}), error);
}

TEST_CASE("checkpoint: adam state round trips; truncated checkpoints are errors") {
  sequential<float> a = tiny(6);
  adam<float> oa(adam<float>::options{1e-2, 0.9, 0.999, 1e-8, 1e-4});
  train_steps(a, oa, 2, 7);
  const std::vector<std::uint8_t> b = checkpoint_to_bytes(a, oa, {}, checkpoint_state{});
  adam<float> ob(adam<float>::options{1e-2, 0.9, 0.999, 1e-8, 1e-4});
  loaded_checkpoint<float> c = checkpoint_from_bytes<float>(b.data(), b.size(), ob);
  train_steps(a, oa, 2, 9);
  train_steps(c.model, ob, 2, 9);
  CHECK(same_arena(a, c.model));
  for (std::size_t n = 0; n < b.size(); n += 7) {
    adam<float> o;
    CHECK_THROWS_AS(checkpoint_from_bytes<float>(b.data(), n, o), error);
    CHECK(o.steps() == 0);
  }
}

TEST_CASE("save_model / save_checkpoint stream the same bytes as model_to_bytes / checkpoint_to_bytes") {
  // a record of 20,000 values spans two 16 K conversion chunks and two write buffers' worth of calls
  sequential<float> net;
  net.add<linear<float>>(200);
  net.add<relu<float>>();
  net.add<linear<float>>(3);
  net.setup(shape{1, 100});
  sgd<float> opt;
  prng rng(5);
  for (float& v : net.values()) v = float(rng.uniform(-1, 1));
  const housenet_test::scratch_dir tmp("model-io");
  const std::string dir = tmp.str();
  save_model(net, houses, dir + "/m.hsnt");
  CHECK(housenet_test::read_bytes(dir + "/m.hsnt") == model_to_bytes(net, houses));
  const checkpoint_state st{3, 12, {{"k", "v"}}};
  save_checkpoint(dir + "/c.ckpt", net, opt, houses, st);
  CHECK(housenet_test::read_bytes(dir + "/c.ckpt") == checkpoint_to_bytes(net, opt, houses, st));
  // a failure while encoding (a bad meta key is found before any byte; a label with a comma too)
  // leaves no file and no temporary file behind
  CHECK_THROWS_AS(save_model(net, {"a", "b,c", "d"}, dir + "/bad.hsnt"), error);
  std::vector<std::string> left = list_dir(dir);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"c.ckpt", "m.hsnt"});
}

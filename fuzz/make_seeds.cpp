// Writes the generated seed corpora of the fuzz targets:  make_seeds OUT_DIR
//   OUT_DIR/model/   small model files, an ensemble and checkpoints (sgd, adam) saved by housenet itself
//   OUT_DIR/image/   tiny PNG, JPEG (with and without an EXIF Orientation), BMP, TGA, PGM/PPM, GIF
// (The cascade seeds are fuzz/seeds/cascade/*.xml plus the repository's real cascade files; the
// data-set seeds are fuzz/seeds/dataset/*.)
#include <housenet/housenet.hpp>
#include <housenet/image.hpp>
#include <housenet/ensemble_io.hpp>
#include <housenet/model_io.hpp>
#include <housenet/onnx.hpp>
#include <housenet/optim.hpp>

#include <stb_image_write.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace hn = housenet;

static void put(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
static void put(const std::string& path, const std::vector<std::uint8_t>& b, int) {
  put(path, std::vector<unsigned char>(b.begin(), b.end()));
}
static void cb(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<unsigned char>*>(ctx);
  v->insert(v->end(), static_cast<unsigned char*>(data), static_cast<unsigned char*>(data) + size);
}

// A JPEG with an APP1 Exif segment holding Orientation = o, inserted after SOI.
static std::vector<unsigned char> with_exif(const std::vector<unsigned char>& jpg, int o, bool big_endian) {
  std::vector<unsigned char> t;
  auto u16 = [&](unsigned v) {
    if (big_endian) { t.push_back(std::uint8_t(v >> 8)); t.push_back(std::uint8_t(v)); }
    else { t.push_back(std::uint8_t(v)); t.push_back(std::uint8_t(v >> 8)); }
  };
  auto u32 = [&](unsigned v) {
    if (big_endian) { u16(v >> 16); u16(v & 0xFFFF); } else { u16(v & 0xFFFF); u16(v >> 16); }
  };
  t.push_back(big_endian ? 'M' : 'I');
  t.push_back(big_endian ? 'M' : 'I');
  u16(42);
  u32(8);        // IFD0 at 8
  u16(1);        // one entry
  u16(0x0112);   // Orientation
  u16(3);        // SHORT
  u32(1);        // count
  u16(unsigned(o));
  u16(0);
  u32(0);        // no next IFD
  std::vector<unsigned char> seg = {'E', 'x', 'i', 'f', 0, 0};
  seg.insert(seg.end(), t.begin(), t.end());
  const std::size_t len = seg.size() + 2;
  std::vector<unsigned char> out(jpg.begin(), jpg.begin() + 2);
  out.push_back(0xFF);
  out.push_back(0xE1);
  out.push_back(std::uint8_t(len >> 8));
  out.push_back(std::uint8_t(len));
  out.insert(out.end(), seg.begin(), seg.end());
  out.insert(out.end(), jpg.begin() + 2, jpg.end());
  return out;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR (with OUT_DIR/model and OUT_DIR/image existing)\n");
    return 2;
  }
  const std::string out = argv[1];
  hn::set_num_threads(1);

  // ---- models: every layer kind, tiny
  {
    hn::sequential<float> net;
    net.add<hn::conv2d<float>>(2, 3, 1, 1);
    net.add<hn::relu<float>>();
    net.add<hn::batch_norm2d<float>>();
    net.add<hn::max_pool2d<float>>(2, 2, 0, true);
    net.add<hn::flatten<float>>();
    net.add<hn::linear<float>>(4);
    net.add<hn::dropout<float>>(0.5, 3);
    net.add<hn::linear<float>>(3);
    net.setup(hn::shape{1, 1, 5, 5}, 7);
    put(out + "/model/tiny.hsnt", hn::model_to_bytes(net, {"red", "green", "blue"}), 0);
    put(out + "/model/tiny_nolabels.hsnt", hn::model_to_bytes(net), 0);

    // a checkpoint after one SGD step, and one of Adam
    hn::tensor<float> x(hn::shape{2, 1, 5, 5}, 0.25f), d(hn::shape{2, 3}, 0.1f);
    net.train();
    net.forward(x);
    net.zero_grad();
    net.backward(d);
    hn::sgd<float> sgd;
    sgd.step(net);
    hn::checkpoint_state st;
    st.epoch = 1;
    st.step = 1;
    st.meta = {{"rng", "12345"}, {"row.1", "0.5,0.25"}};
    put(out + "/model/tiny_sgd.ckpt", hn::checkpoint_to_bytes(net, sgd, {"red", "green", "blue"}, st), 0);
    hn::adam<float> adam;
    adam.step(net);
    put(out + "/model/tiny_adam.ckpt", hn::checkpoint_to_bytes(net, adam, {}, st), 0);
  }
  {
    hn::sequential<float> lin;
    lin.add<hn::linear<float>>(2);
    lin.setup(hn::shape{1, 3}, 1);
    put(out + "/model/linear.hsnt", hn::model_to_bytes(lin, {"a", "b"}), 0);
    // an ensemble of two (ensemble_io.hpp)
    hn::sequential<float> lin2;
    lin2.add<hn::linear<float>>(2);
    lin2.setup(hn::shape{1, 3}, 2);
    std::vector<hn::sequential<float>> two;
    two.push_back(std::move(lin));
    two.push_back(std::move(lin2));
    put(out + "/model/linear_ensemble.hsnt", hn::ensemble_to_bytes(two, {"a", "b"}), 0);
  }
  {  // issue 14's kinds: dilated, grouped and depthwise convolutions, zero padding, average pooling, activations
    hn::sequential<float> net;
    net.add<hn::conv2d<float>>(4, 3, 1, 2, false, hn::init_kind::he, 2);
    net.add<hn::batch_norm2d<float>>();
    net.add<hn::leaky_relu<float>>(0.1);
    net.add<hn::conv2d<float>>(4, 3, 1, 1, true, hn::init_kind::lecun, 1, 2);
    net.add<hn::conv2d<float>>(4, 3, 1, 1, true, hn::init_kind::lecun, 1, 4);
    net.add<hn::tanh_layer<float>>();
    net.add<hn::pad2d<float>>(0, 1, 1, 0);
    net.add<hn::avg_pool2d<float>>(2, 2, 1, true, false);
    net.add<hn::sigmoid<float>>();
    net.add<hn::global_avg_pool<float>>();
    net.add<hn::linear<float>>(3);
    net.setup(hn::shape{1, 1, 6, 5}, 7);
    put(out + "/model/tiny_issue14.hsnt", hn::model_to_bytes(net, {"red", "green", "blue"}), 0);
  }

  // ---- images
  hn::image rgb(7, 5, 3), gray(6, 4, 1);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) rgb.at(x, y, c) = std::uint8_t(x * 30 + y * 17 + c * 60);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x) gray.at(x, y) = std::uint8_t(x * 40 + y * 9);
  put(out + "/image/rgb.png", hn::encode(rgb, "png"));
  put(out + "/image/gray.png", hn::encode(gray, "png"));
  const std::vector<unsigned char> jpg = hn::encode(rgb, "jpg", 80);
  put(out + "/image/rgb.jpg", jpg);
  put(out + "/image/gray.jpg", hn::encode(gray, "jpg", 50));
  put(out + "/image/exif6_le.jpg", with_exif(jpg, 6, false));
  put(out + "/image/exif3_be.jpg", with_exif(jpg, 3, true));
  put(out + "/image/exif8_le.jpg", with_exif(hn::encode(gray, "jpg", 50), 8, false));
  std::vector<unsigned char> b;
  stbi_write_bmp_to_func(cb, &b, rgb.width(), rgb.height(), 3, rgb.data());
  put(out + "/image/rgb.bmp", b);
  b.clear();
  stbi_write_tga_to_func(cb, &b, gray.width(), gray.height(), 1, gray.data());
  put(out + "/image/gray.tga", b);
  {
    std::string ppm = "P6\n7 5\n255\n";
    ppm.append(reinterpret_cast<const char*>(rgb.data()), rgb.size_bytes());
    put(out + "/image/rgb.ppm", std::vector<unsigned char>(ppm.begin(), ppm.end()));
    std::string pgm = "P5\n6 4\n255\n";
    pgm.append(reinterpret_cast<const char*>(gray.data()), gray.size_bytes());
    put(out + "/image/gray.pgm", std::vector<unsigned char>(pgm.begin(), pgm.end()));
  }
  // ONNX (fuzz_onnx; its other seeds are PyTorch's files in tests/data/onnx): an ensemble of two
  // tiny networks as one graph (Softmax of each, their Mean), in OUT_DIR/onnx when it exists.
  {
    std::vector<hn::sequential<float>> members(2);
    members[0].add<hn::conv2d<float>>(2, 3, 1, 1);
    members[0].add<hn::relu<float>>();
    members[0].add<hn::linear<float>>(3);
    members[1].add<hn::global_avg_pool<float>>();
    members[1].add<hn::linear<float>>(3);
    for (auto& m : members) m.setup(hn::shape{1, 1, 4, 4}, 5);
    hn::onnx_options o;
    o.labels = {"red", "green", "blue"};
    put(out + "/onnx/ensemble.onnx", hn::model_to_onnx(members, o), 0);
  }
  // A 2x2 GIF89a (global 4-colour table, LZW min code size 2).
  put(out + "/image/tiny.gif",
      {'G', 'I', 'F', '8', '9', 'a', 2, 0, 2, 0, 0x91, 0, 0, 0xFF, 0, 0, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
       0x2C, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0x02, 0x03, 0x44, 0x34, 0x05, 0, 0x3B});
  std::printf("seeds written to %s/{model,image}\n", out.c_str());
  return 0;
}

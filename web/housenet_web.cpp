// web/housenet_web.cpp: the C++ side of the web page (web/index.html): `housenet sort` compiled
// to WebAssembly. The page runs it in a Web Worker and calls these through Module.ccall; files
// (the cascade, the model, the photo) are passed as bytes in emscripten's in-memory file system
// or in the module's memory, so nothing leaves the browser.
//
//   hn_load(cascade_path, model_path)  loads the cascade and the model; 0, or -1 and hn_error()
//   hn_sort(bytes, n, name, options)   decodes the photo (JPEG, PNG, BMP, GIF, PGM/PPM; EXIF
//                                      orientation applied, the same limits as the app), sorts its
//                                      faces exactly as `housenet sort NAME --json OPTIONS` does
//                                      (app::sort_photo) and keeps the JSON line and the annotated
//                                      image. options: sort's detector options and --margin, as on
//                                      the command line ("--scale-factor 1.1 --min-size 30"), with
//                                      the app's checks. 0, or -1 and hn_error()
//   hn_sort_frame(rgba, w, h, options) the same on a camera frame (RGBA pixels, named "camera"),
//                                      without keeping the annotated image (the live mode)
//   hn_json()                          the JSON line of the last sort
//   hn_width(), hn_height(), hn_rgba() the annotated photo as RGBA pixels (for a canvas)
//   hn_encode(format, jpeg_quality)    encodes it ("png" or "jpg": housenet::encode, the bytes
//                                      `housenet sort -o x.png` writes); 0 or -1; then
//   hn_encoded(), hn_encoded_size()    those bytes
//   hn_sort_ms()                       the last sort's time (detect + classify + draw), ms
//   hn_class_colour(name, index)       the colour the boxes of that class get, 0xRRGGBB
//   hn_set_isa(name)                   "simd128" (the default when built with it) or "scalar":
//                                      the kernels' path (index.html?isa=scalar, to compare)
//   hn_error()                         the last error, one line
// Every failure is one line in hn_error(), never an abort: errors are C++ exceptions
// (-fwasm-exceptions), running out of memory included.
#include <emscripten/emscripten.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <housenet/housenet.hpp>
#include <housenet/vision.hpp>

#include "app/cli.hpp"
#include "app/detector.hpp"
#include "app/models.hpp"
#include "app/sort.hpp"

namespace {

// The page's options, parsed as `housenet sort` parses its command line.
struct page_options {
  housenet::detect_options detect;
  double margin = 0;
};

struct session {
  std::unique_ptr<housenet::cascade> cascade;
  std::unique_ptr<app::model_file> model;
  std::unique_ptr<app::face_detector> detector;  // for options_text
  std::string options_text;
  page_options options;
  housenet::image sorted;  // the annotated photo of the last sort
  std::vector<std::uint8_t> rgba;
  std::vector<unsigned char> encoded;
  std::string json, error;
  double sort_ms = 0;
};

session& state() {
  static session s;
  return s;
}

// Runs fn; any exception becomes hn_error()'s line and -1.
template <class F>
int guarded(F&& fn) {
  session& s = state();
  s.error.clear();
  try {
    fn(s);
    return 0;
  } catch (const std::bad_alloc&) {
    s.error = "out of memory (the photo is too large for this browser tab)";
  } catch (const std::exception& e) {
    s.error = e.what();
  } catch (...) {
    s.error = "unknown error";
  }
  return -1;
}

page_options parse_options(const std::string& text) {
  std::vector<std::string> words{"housenet", "sort"};
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(&w[0]);
  app::arg_parser cli("sort", "", "");
  cli.option("margin", "F", "0", "");
  app::add_detector_options(cli);
  cli.positionals(0, 0);
  page_options o;
  try {
    cli.parse(int(argv.size()), argv.data(), 2);
    o.detect = app::detector_options(cli);
    o.margin = cli.get_double("margin", 0.0, 1.0);
  } catch (const app::usage_error& e) {  // without the command line's "(see 'housenet sort --help')"
    const std::string m = e.what();
    throw app::usage_error(m.substr(0, m.find(" (see '")));
  }
  return o;
}

void clear(session& s) {
  s.json.clear();
  s.sorted = housenet::image();
  s.rgba.clear();
  s.rgba.shrink_to_fit();
  if (!s.cascade || !s.model) throw app::app_error("the cascade and the model are not loaded");
}

// The detector for these options, kept while they stay the same (every camera frame).
const page_options& options_for(session& s, const std::string& text) {
  if (!s.detector || text != s.options_text) {
    s.detector.reset();
    s.options = parse_options(text);
    s.detector = std::make_unique<app::face_detector>(*s.cascade, s.options.detect);
    s.options_text = text;
  }
  return s.options;
}

void sort(session& s, housenet::image& img, const std::string& name, const page_options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  s.json = app::sort_photo(img, name, *s.detector, *s.model, o.margin);
  s.sort_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE int hn_load(const char* cascade_path, const char* model_path) {
  return guarded([&](session& s) {
    s.detector.reset();
    s.cascade = std::make_unique<housenet::cascade>(housenet::cascade::load(cascade_path));
    s.model = std::make_unique<app::model_file>(app::load_model_file(model_path));
  });
}

EMSCRIPTEN_KEEPALIVE int hn_sort(const std::uint8_t* bytes, int n, const char* name, const char* options) {
  return guarded([&](session& s) {
    clear(s);
    const page_options& o = options_for(s, options);
    HOUSENET_CHECK(n >= 0, "image: cannot read '", name, "': no bytes");
    housenet::image img = housenet::load_from_memory(bytes, std::size_t(n), name);
    sort(s, img, name, o);
    const std::size_t pixels = std::size_t(img.width()) * std::size_t(img.height());
    s.rgba.resize(pixels * 4);
    const std::uint8_t* p = img.data();
    const int c = img.channels();
    for (std::size_t i = 0; i < pixels; ++i, p += c) {
      s.rgba[4 * i] = p[0];
      s.rgba[4 * i + 1] = p[c == 3 ? 1 : 0];
      s.rgba[4 * i + 2] = p[c == 3 ? 2 : 0];
      s.rgba[4 * i + 3] = 255;
    }
    s.sorted = std::move(img);
  });
}

EMSCRIPTEN_KEEPALIVE int hn_sort_frame(const std::uint8_t* rgba, int width, int height, const char* options) {
  return guarded([&](session& s) {
    clear(s);
    const page_options& o = options_for(s, options);
    HOUSENET_CHECK(width > 0 && height > 0 && std::int64_t(width) * height <= housenet::max_image_pixels,
                   "camera: a ", width, "x", height, " frame");
    housenet::image img(width, height, 3);
    std::uint8_t* p = img.data();
    for (std::size_t i = 0, n = std::size_t(width) * std::size_t(height); i < n; ++i, rgba += 4, p += 3)
      p[0] = rgba[0], p[1] = rgba[1], p[2] = rgba[2];
    sort(s, img, "camera", o);
  });
}

EMSCRIPTEN_KEEPALIVE const char* hn_json() { return state().json.c_str(); }
EMSCRIPTEN_KEEPALIVE const char* hn_error() { return state().error.c_str(); }
EMSCRIPTEN_KEEPALIVE int hn_width() { return state().sorted.width(); }
EMSCRIPTEN_KEEPALIVE int hn_height() { return state().sorted.height(); }
EMSCRIPTEN_KEEPALIVE const std::uint8_t* hn_rgba() { return state().rgba.data(); }
EMSCRIPTEN_KEEPALIVE double hn_sort_ms() { return state().sort_ms; }
EMSCRIPTEN_KEEPALIVE int hn_class_colour(const char* name, int index) {
  const housenet::colour c = app::class_colour(name, std::size_t(index < 0 ? 0 : index));
  return (int(c.r) << 16) | (int(c.g) << 8) | int(c.b);
}

EMSCRIPTEN_KEEPALIVE int hn_set_isa(const char* name) {
  return guarded([&](session&) {
    const std::string n = name;
    if (n != "scalar" && n != "simd128") throw app::app_error("isa: '" + n + "' is not scalar or simd128");
    housenet::set_isa(n == "scalar" ? housenet::isa::scalar : housenet::isa::simd128);
  });
}

EMSCRIPTEN_KEEPALIVE int hn_encode(const char* format, int jpeg_quality) {
  return guarded([&](session& s) {
    s.encoded.clear();
    if (s.sorted.width() == 0) throw app::app_error("no sorted photo to save");
    s.encoded = housenet::encode(s.sorted, format, jpeg_quality);
  });
}
EMSCRIPTEN_KEEPALIVE const unsigned char* hn_encoded() { return state().encoded.data(); }
EMSCRIPTEN_KEEPALIVE int hn_encoded_size() { return int(state().encoded.size()); }

}  // extern "C"

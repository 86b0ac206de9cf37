// libFuzzer target: the app's data-set helpers (examples/app/dataset.hpp, files.hpp): file-name
// parsing (identity_of, is_image_name, output_namer) and the folder scanner + splits over a real
// folder tree made from the input.
//
// Input: lines "class/file" (or "file" for a loose file, "class/" for an empty folder); the
// first byte picks the test count and split kind. Names are cut at 40 bytes, '/', NUL removed.
#include <app/checkpoint.hpp>
#include <app/dataset.hpp>
#include <app/files.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

// The per-process scratch folder, removed at exit.
struct scratch_folder {
  app::fs::path path;
  ~scratch_folder() {
    std::error_code ec;
    if (!path.empty()) app::fs::remove_all(path, ec);
  }
};

app::fs::path scratch() {
  static const scratch_folder dir{[] {
    const char* base = std::getenv("HOUSENET_FUZZ_TMP");
    std::error_code ec;
    const char* dflt = app::fs::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
    app::fs::path p = app::fs::path(base && *base ? base : dflt) /
                      ("housenet-fuzz-dataset-" + std::to_string(::getpid()));
    return p;
  }()};
  return dir.path;
}

std::string clean(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '/' && c != '\0') out.push_back(c);
  if (out.size() > 40) out.resize(40);
  if (out == "." || out == "..") out += "_";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  // ---- names alone
  std::vector<std::string> lines;
  for (std::size_t b = 0; b <= text.size() && lines.size() < 64;) {
    std::size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    lines.push_back(text.substr(b, e - b));
    b = e + 1;
  }
  {
    app::output_namer namer("", 2, "_sorted", true);
    for (const auto& l : lines) {
      (void)app::identity_of(app::fs::path(l));
      (void)app::is_image_name(app::fs::path(l));
      if (!l.empty() && l.find('\0') == std::string::npos) (void)namer.name_for(l);
    }
  }

  // ---- a folder tree
  const app::fs::path root = scratch();
  std::error_code ec;
  app::fs::remove_all(root, ec);
  app::fs::create_directories(root, ec);
  if (ec) return 0;
  for (const auto& l : lines) {
    const std::size_t slash = l.find('/');
    const std::string cls = clean(l.substr(0, slash));
    const std::string file = slash == std::string::npos ? std::string() : clean(l.substr(slash + 1));
    if (cls.empty()) continue;
    if (slash == std::string::npos) {  // a loose file in DATA_DIR
      std::ofstream(root / cls) << "x";
      continue;
    }
    app::fs::create_directories(root / cls, ec);
    if (ec || file.empty()) continue;
    std::ofstream(root / cls / file) << "x";
  }
  try {
    const app::dataset_index d = app::scan_dataset(root);
    const auto counts = d.count_per_class();
    std::size_t total = 0;
    for (std::size_t c : counts) total += c;
    if (total != d.samples.size() || d.classes.empty()) __builtin_trap();
    for (const auto& s : d.samples)
      if (s.label < 0 || std::size_t(s.label) >= d.classes.size() || !app::is_image_name(s.path)) __builtin_trap();
    const std::size_t test_count = (mode >> 1) % (d.samples.size() + 2);
    try {
      const app::split sp = app::split_dataset(d, test_count, mode & 1, mode);
      if (sp.train.empty() || sp.train.size() + sp.test.size() != d.samples.size()) __builtin_trap();
      const auto w = app::class_weights(d, sp.train);
      if (w.size() != d.classes.size()) __builtin_trap();
      (void)app::dataset_signature(d, sp);
    } catch (const app::app_error&) {
    }
  } catch (const app::app_error&) {
  }
  return 0;
}

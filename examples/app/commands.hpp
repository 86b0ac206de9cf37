// examples/app/commands.hpp: the subcommands sort, detect, crop, eval, info, run, ensemble and export of
// `housenet` (train is in housenet.cpp, in full view; the table of commands at its bottom names
// them all; sort's work on one photo is sort.hpp, shared with the web page; the prediction path
// of sort and eval is classify.hpp, eval --stability's study stability.hpp).
// Each declares its options, prints its results on stdout (one JSON line per image with --json),
// and throws on any failure; --help is answered by the parser. app::run_command_line (cli.hpp)
// turns each exception into one "housenet: ..." line on stderr and a non-zero exit status.
#pragma once

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <housenet/housenet.hpp>
#include <housenet/npy.hpp>
#include <housenet/predict.hpp>
#include <housenet/vision.hpp>

#include "classify.hpp"
#include "cli.hpp"
#include "dataset.hpp"
#include "detector.hpp"
#include "faces.hpp"
#include "files.hpp"
#include "json.hpp"
#include "models.hpp"
#include "sort.hpp"
#include "stability.hpp"

namespace app {

// ---- housenet detect ---------------------------------------------------------------------------
inline int cmd_detect(int argc, char** argv) {
  arg_parser cli("detect", "housenet detect IMAGE... [--json] [--cascade XML] [detector options] [-o OUT]",
                 "Finds the faces in each image (Viola-Jones with OpenCV's cascade files). Prints the boxes\n"
                 "(x, y, width, height in pixels), one JSON line per image with --json. With -o, writes a\n"
                 "copy with the boxes drawn (a file for one image, a folder for several).");
  cli.flag("json", "one JSON line per image: {\"image\", \"w\", \"h\", \"faces\": [[x, y, w, h], ...]}")
      .option("output", "OUT", "", "write copies with the boxes drawn", "o");
  add_detector_options(cli);
  cli.positionals(1, -1);
  cli.parse(argc, argv, 2);
  const face_detector det = make_detector(cli);
  const bool json = cli.has("json");
  output_namer out(cli.get("output"), cli.args().size(), "_faces");
  for (const std::string& path : cli.args()) {
    housenet::image img = housenet::load(path);
    const std::vector<housenet::rect> faces = det.detect(img);
    if (json) {
      json_writer j;
      j.begin_object().field("image", path).field("w", img.width()).field("h", img.height());
      j.key("faces").begin_array();
      for (const auto& r : faces) j.begin_array().value(r.x).value(r.y).value(r.width).value(r.height).end_array();
      j.end_array().end_object();
      std::cout << j.str() << "\n";
    } else {
      std::cout << path << ": " << img.width() << "x" << img.height() << ", " << faces.size()
                << (faces.size() == 1 ? " face" : " faces") << "\n";
      for (const auto& r : faces)
        std::cout << "  [" << r.x << ", " << r.y << ", " << r.width << ", " << r.height << "]\n";
    }
    if (out.enabled()) {
      for (const auto& r : faces) housenet::draw_rect(img, r, housenet::colour{0, 255, 0});
      const std::string o = out.name_for(path);
      housenet::save(img, o);
      if (!json) std::cout << "  -> " << o << "\n";
    }
    std::cout.flush();
  }
  return 0;
}

// ---- housenet sort -----------------------------------------------------------------------------
inline int cmd_sort(int argc, char** argv) {
  arg_parser cli("sort", "housenet sort IMAGE... [-m MODEL] [-o OUT] [--json] [--cascade XML] [detector options]",
                 "Finds every face and sorts it into a house: box, label and the probability of every class.\n"
                 "Writes a copy of each image with the boxes in the house colours and the labels to OUT (a\n"
                 "file for one image, a folder for several; default: <stem>_sorted.<ext> here). Without -m it\n"
                 "uses the bundled default model, without --cascade the bundled cascade. A face's probabilities\n"
                 "are the mean over the face and its mirror image (test-time flip) and, for an ensemble file,\n"
                 "over its models. For fun only: a face says nothing about anyone's character.");
  cli.option("model", "MODEL", "", "the model file (default: the bundled " + std::string(default_model_name) + ")", "m")
      .option("output", "OUT", "", "the annotated copy (one image) or a folder (several)", "o")
      .flag("json", "one JSON line per image: {\"image\", \"faces\": [{\"box\", \"label\", \"probs\"}]}")
      .option("margin", "F", "0", "widen each box by F times its size on every side before classifying");
  add_prediction_options(cli);
  add_detector_options(cli);
  cli.positionals(1, -1);
  cli.parse(argc, argv, 2);
  const prediction_options popt = prediction_options_from(cli, cli.get_double("margin", 0.0, 1.0));
  const model_file m = load_model_or_default(cli.get("model"));
  const face_detector det = make_detector(cli);
  const bool json = cli.has("json");
  output_namer out(cli.get("output"), cli.args().size(), "_sorted", /*always=*/true);
  for (const std::string& path : cli.args()) {
    housenet::image img = housenet::load(path);
    std::string text;
    const std::string line = sort_photo(img, path, det, m, popt, &text);
    const std::string o = out.name_for(path);
    housenet::save(img, o);
    if (json)
      std::cout << line << "\n";
    else
      std::cout << text << "  -> " << o << "\n";
    std::cout.flush();
  }
  return 0;
}

// ---- housenet crop -----------------------------------------------------------------------------
inline int cmd_crop(int argc, char** argv) {
  arg_parser cli("crop", "housenet crop SRC_DIR OUT_DIR [--size 100] [--margin F] [--context F] [--largest] [detector options]",
                 "Makes a training set: for SRC_DIR/<class>/<photo>, writes one SIZExSIZE PNG per detected face\n"
                 "to OUT_DIR/<class>/<stem>__<k>.png (k = 1 for the largest face). Exact duplicate files are\n"
                 "skipped, unreadable ones reported and skipped. Writes a contact sheet per class,\n"
                 "OUT_DIR/contact-<class>.png, to judge the crops by eye, and prints a per-class table.\n"
                 "--context F: each crop also holds F times the box's size of the photo around it on every\n"
                 "side (edge pixels repeated beyond the photo), SIZE + 2*round(F*SIZE) pixels square, for\n"
                 "`train --context F` (random shifts and scales of the box with real surroundings).");
  cli.option("size", "N", "100", "side of the square crops in pixels")
      .option("margin", "F", "0", "widen each box by F times its size on every side")
      .option("context", "F", "0", "also keep F times the box's size of surroundings on every side (see above)")
      .flag("largest", "keep only the largest face of each photo");
  add_detector_options(cli);
  cli.positionals(2, 2);
  cli.parse(argc, argv, 2);
  const int size = int(cli.get_int("size", 8, 4096));
  const double margin = cli.get_double("margin", 0.0, 1.0);
  const double context = cli.get_double("context", 0.0, 1.0);
  const int context_px = int(std::lround(context * size));  // of the written crop, on every side
  const bool largest = cli.has("largest");
  const face_detector det = make_detector(cli);
  const fs::path src = cli.args()[0], dst = cli.args()[1];
  const auto classes = list_subdirs(src);
  if (classes.empty()) throw app_error("'" + src.string() + "' has no class sub-folders (expected SRC_DIR/<class>/<photo>)");
  std::error_code ec;
  fs::create_directories(dst, ec);
  if (ec) throw app_error("cannot create '" + dst.string() + "': " + ec.message());

  struct row { std::string name; std::size_t photos = 0, faces = 0, no_face = 0, duplicates = 0, unreadable = 0; };
  std::vector<row> table;
  std::map<std::pair<std::size_t, std::uint64_t>, std::string> seen;  // (size, hash) -> first file
  for (const auto& cdir : classes) {
    row t;
    t.name = cdir.filename().string();
    fs::create_directories(dst / t.name, ec);
    if (ec) throw app_error("cannot create '" + (dst / t.name).string() + "': " + ec.message());
    std::vector<std::pair<std::string, housenet::image>> sheet;
    for (const auto& file : list_images(cdir)) {
      const std::string bytes = read_file(file.string());
      const auto key = std::make_pair(bytes.size(), file_hash(bytes));
      const auto dup = seen.find(key);
      if (dup != seen.end() && read_file(dup->second) == bytes) {
        ++t.duplicates;
        std::fprintf(stderr, "housenet crop: skipping '%s': same bytes as '%s'\n", file.string().c_str(),
                     dup->second.c_str());
        continue;
      }
      seen.emplace(key, file.string());
      housenet::image img;
      try {
        img = housenet::load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                         file.string());
      } catch (const housenet::error& e) {
        ++t.unreadable;
        std::fprintf(stderr, "housenet crop: skipping: %s\n", e.what());
        continue;
      }
      ++t.photos;
      std::vector<housenet::rect> faces = det.detect(img);
      std::stable_sort(faces.begin(), faces.end(), [](const housenet::rect& a, const housenet::rect& b) {
        return double(a.width) * a.height > double(b.width) * b.height;
      });
      if (largest && faces.size() > 1) faces.resize(1);
      if (faces.empty()) ++t.no_face;
      for (std::size_t k = 0; k < faces.size(); ++k) {
        const housenet::rect box = widen(faces[k], margin, img);
        const housenet::image face =
            context_px == 0 ? housenet::resize(to_rgb(housenet::crop(img, box)), size, size, housenet::resize_filter::area)
                            : housenet::resize(to_rgb(housenet::crop_padded(img, with_context(box, context_px, size))),
                                               size + 2 * context_px, size + 2 * context_px, housenet::resize_filter::area);
        const std::string name = file.stem().string() + "__" + std::to_string(k + 1) + ".png";
        housenet::save(face, (dst / t.name / name).string());
        sheet.emplace_back(name, face);
        ++t.faces;
      }
    }
    if (!sheet.empty()) housenet::save(contact_sheet(sheet), (dst / ("contact-" + t.name + ".png")).string());
    table.push_back(t);
  }
  std::printf("%-20s %8s %8s %8s %10s %10s\n", "class", "photos", "faces", "no face", "duplicates", "unreadable");
  row total;
  for (const auto& t : table) {
    std::printf("%-20s %8zu %8zu %8zu %10zu %10zu\n", t.name.c_str(), t.photos, t.faces, t.no_face, t.duplicates,
                t.unreadable);
    total.photos += t.photos, total.faces += t.faces, total.no_face += t.no_face;
    total.duplicates += t.duplicates, total.unreadable += t.unreadable;
  }
  std::printf("%-20s %8zu %8zu %8zu %10zu %10zu\n", "total", total.photos, total.faces, total.no_face,
              total.duplicates, total.unreadable);
  std::printf("crops in %s/<class>/, contact sheets in %s/contact-<class>.png\n", dst.string().c_str(),
              dst.string().c_str());
  return 0;
}

// ---- housenet eval -----------------------------------------------------------------------------
inline int cmd_eval(int argc, char** argv) {
  arg_parser cli("eval", "housenet eval DATA_DIR -m MODEL [--json] [--detect] [--folds N --fold K] [--predictions CSV]\n"
                 "       housenet eval DIR --stability [-m MODEL] [--crops] [--largest] [--json] [detector options]",
                 "Scores MODEL on DATA_DIR/<class>/<face image> (the class folders must be the model's\n"
                 "classes): accuracy, balanced accuracy (the mean of the per-class accuracies, which an\n"
                 "always-the-largest-class guess cannot inflate), per-class accuracy, confusion matrix, the\n"
                 "expected calibration error and how many identities (<identity>__<n> names) get one label.\n"
                 "Faces are classified as `sort` does (test-time flip unless --no-flip; an ensemble file's mean);\n"
                 "--detect: DATA_DIR holds photos, and the largest face of each is scored (--jitter allowed).\n"
                 "--folds N --fold K [--split --seed]: only the test side of train's split with those options.\n"
                 "--stability: for the photos under DIR, the share of faces whose label survives mirroring,\n"
                 "a +-5% shift or scale of the box and JPEG re-encoding at quality 75, and of identities\n"
                 "whose photos all get one label (docs/app.md).");
  cli.option("model", "MODEL", "", "the model file (default: the bundled one)", "m")
      .flag("json", "one JSON line: accuracy, balanced_accuracy, per_class, confusion, classes, images, loss, ece, identities")
      .option("folds", "N", "", "score only the test side of fold --fold of N (as train --folds N --fold K)")
      .option("fold", "K", "", "with --folds: the fold (1-based)")
      .option("split", "random|group", "random", "with --folds: as train's --split")
      .option("seed", "N", "1", "with --folds: as train's --seed")
      .option("predictions", "CSV", "", "write file,identity,true,predicted,<probability of each class> per image")
      .flag("detect", "the images are photos: score the largest face the detector finds in each, as sort does");
  add_prediction_options(cli);
  add_stability_options(cli);
  add_detector_options(cli);  // (with --stability) and --threads
  cli.positionals(1, 1);
  cli.parse(argc, argv, 2);
  if (cli.has("threads")) housenet::set_num_threads(int(cli.get_int("threads", 1, 1024)));
  const prediction_options popt = prediction_options_from(cli);
  model_file m = load_model_or_default(cli.get("model"));
  if (cli.has("stability")) {
    const face_detector det = make_detector(cli);
    const stability_counts s = measure_stability(m, det, cli.args()[0], cli.has("crops"), cli.has("largest"), popt);
    std::cout << (cli.has("json") ? stability_json(s, cli.has("crops")) + "\n" : stability_text(s, cli.has("crops")));
    return 0;
  }
  const bool photos = cli.has("detect");
  if (popt.jitter && !photos)
    cli.fail("--jitter needs --detect or --stability (a crop has no pixels around the face to jitter into)");
  if (cli.has("folds") != cli.has("fold")) cli.fail("--folds and --fold go together");
  dataset_index data = scan_dataset(cli.args()[0]);
  // Each image decoded once; each unreadable file: one warning, then left out (with --detect:
  // when it is scored).
  housenet::tensor<float> images;
  if (!photos) images = load_faces(data, m.input_shape(), "eval");
  if (data.classes != m.classes) {
    std::string a, b;
    for (const auto& c : data.classes) a += (a.empty() ? "" : ",") + c;
    for (const auto& c : m.classes) b += (b.empty() ? "" : ",") + c;
    throw app_error("eval: '" + cli.args()[0] + "' has " + std::to_string(data.classes.size()) + " classes (" + a +
                    "), the model has " + std::to_string(m.classes.size()) + " (" + b + ")");
  }
  std::vector<std::size_t> all(data.samples.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (cli.has("folds"))
    all = fold_split(data, std::size_t(cli.get_int("folds", 2, 1000)), std::size_t(cli.get_int("fold", 1, 1000)),
                     cli.get_choice("split", {"random", "group"}) == "group",
                     std::uint64_t(cli.get_int("seed", 0, 0x7fffffffffffffffL)))
              .test;
  const std::size_t k = data.classes.size();
  const housenet::tensor<float> probs = photos ? photo_probabilities(m, make_detector(cli), data, all, popt)
                                               : image_probabilities(m, images, all, popt);
  const eval_result er = score(probs, data, all);
  eval_summary r = summarize(er, data, all);
  std::vector<int> truth;
  std::vector<std::string> identity;
  std::vector<std::size_t> predicted;
  for (std::size_t i = 0; i < all.size(); ++i) {
    truth.push_back(data.samples[all[i]].label);
    identity.push_back(data.samples[all[i]].identity);
    predicted.push_back(std::size_t(er.predicted[i]));
  }
  r.ece = expected_calibration_error(probs, truth);
  const auto agree = identity_agreement(identity, predicted);
  r.identities = agree.first;
  r.identities_one_label = agree.second;
  if (cli.has("predictions")) {
    const auto field = [](const std::string& v) {  // RFC 4180: quoted when it holds , " or a newline
      if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
      std::string q = "\"";
      for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    std::string csv = "file,identity,true,predicted";
    for (const auto& c : data.classes) csv += "," + field(c);
    csv += "\n";
    for (std::size_t i = 0; i < all.size(); ++i) {
      const sample& smp = data.samples[all[i]];
      csv += field(smp.path.string()) + "," + field(smp.identity) + "," + field(data.classes[std::size_t(smp.label)]) +
             "," + field(data.classes[predicted[i]]);
      for (std::size_t c = 0; c < k; ++c) csv += "," + json_number(double(probs.data()[i * k + c]));
      csv += "\n";
    }
    write_file_atomic(cli.get("predictions"), csv);
  }
  if (cli.has("json")) {
    std::cout << eval_json(r, data.classes) << "\n";
    return 0;
  }
  std::printf("%zu images, %zu classes\naccuracy          %.3f\nbalanced accuracy %.3f   (mean of the per-class accuracies)\n"
              "mean loss         %.4f\ncalibration error %.3f   (expected calibration error, 15 bins of the top probability)\n",
              r.images, k, r.accuracy, r.balanced_accuracy, r.loss, r.ece);
  if (r.identities)
    std::printf("identities        %.3f   (%zu of %zu identities with 2 or more images get one label)\n",
                double(r.identities_one_label) / double(r.identities), r.identities_one_label, r.identities);
  std::printf("\n%-16s %8s %8s   confusion (rows: true class, columns: predicted)\n", "class", "images", "accuracy");
  for (std::size_t c = 0; c < k; ++c) {
    std::printf("%-16s %8zu %8.3f  ", data.classes[c].c_str(), r.per_class_images[c], r.per_class[c]);
    for (std::size_t v : r.confusion[c]) std::printf(" %5zu", v);
    std::printf("\n");
  }
  return 0;
}

// ---- housenet info -----------------------------------------------------------------------------
inline int cmd_info(int argc, char** argv) {
  arg_parser cli("info", "housenet info [MODEL]",
                 "Describes a model file: format version, classes, input, the layers with their output\n"
                 "shapes and parameter counts. Without MODEL: the bundled default model.");
  cli.positionals(0, 1);
  cli.parse(argc, argv, 2);
  const model_file m = load_model_or_default(cli.args().empty() ? std::string() : cli.args()[0]);
  std::cout << describe_model(m);
  return 0;
}

// ---- housenet run ------------------------------------------------------------------------------
inline int cmd_run(int argc, char** argv) {
  arg_parser cli("run", "housenet run -m MODEL --input X.npy -o Y.npy [--probabilities]",
                 "Runs MODEL (a .hsnt or .onnx file) on the tensor of X.npy (float32, C order: N x the\n"
                 "model's input, e.g. N x 3 x 100 x 100; or one sample without N) and writes its output\n"
                 "to Y.npy (float32, N x the output): a network's output as it is (logits), or with\n"
                 "--probabilities their softmax; an ensemble's answer is always the mean of its\n"
                 "members' probabilities. No test-time flip (X need not be images).\n"
                 "np.save('x.npy', x.astype(np.float32)) writes X; np.load('y.npy') reads Y.");
  cli.option("model", "MODEL", "", "the model file (required)", "m")
      .option("input", "X.npy", "", "the input tensor (required)")
      .option("output", "Y.npy", "", "the output tensor to write (required)", "o")
      .flag("probabilities", "write the softmax of a network's output (an ensemble's always is)")
      .option("batch", "N", "64", "samples run at once (memory: a batch's activations)")
      .option("threads", "N", "", "worker threads (default: HOUSENET_NUM_THREADS or all cores)");
  cli.positionals(0, 0);
  cli.parse(argc, argv, 2);
  for (const char* o : {"model", "input", "output"})
    if (cli.get(o).empty()) cli.fail(std::string("--") + o + " is required");
  if (cli.has("threads")) housenet::set_num_threads(int(cli.get_int("threads", 1, 1024)));
  const std::size_t batch = std::size_t(cli.get_int("batch", 1, 1 << 20));
  const std::string out_path = cli.get("output");
  check_writable(out_path);
  const model_file m = load_model_file(cli.get("model"));
  const housenet::tensor<float> x = housenet::read_npy(cli.get("input"));
  const housenet::shape in = m.input_shape();
  const bool one = x.shape().rank() + 1 == in.rank();
  bool fits = one || x.shape().rank() == in.rank();
  for (std::size_t i = 1; fits && i < in.rank(); ++i) fits = x.shape()[one ? i - 1 : i] == in[i];
  if (!fits)
    throw app_error("run: " + cli.get("input") + " holds " + x.shape().str() + "; the model takes N x " +
                    housenet::detail::sample_dims(in) + " (or one " + housenet::detail::sample_dims(in) + ")");
  const std::size_t n = one ? 1 : x.shape()[0], sample = in.sample_size();
  const bool probs = cli.has("probabilities") || m.members.size() > 1;
  housenet::tensor<float> xb, yb, y;
  for (std::size_t first = 0; first < n; first += batch) {
    const std::size_t count = std::min(batch, n - first);
    xb.resize(in.with_n(count));
    std::copy_n(x.data() + first * sample, count * sample, xb.data());
    if (probs) {
      housenet::predict_options po;
      po.flip = false;
      housenet::predict_probabilities(m.members, xb, yb, po);
    } else {
      m.members[0].predict(xb, yb);
    }
    if (first == 0) y.resize(yb.shape().with_n(n));
    std::copy_n(yb.data(), yb.size(), y.data() + first * (yb.size() / count));
  }
  housenet::write_npy(out_path, y);
  std::printf("%s: %s, %s of %s\n", out_path.c_str(), y.shape().str().c_str(),
              probs ? "class probabilities" : "the network's output", m.path.c_str());
  return 0;
}

// ---- housenet export ---------------------------------------------------------------------------
inline int cmd_export(int argc, char** argv) {
  arg_parser cli("export", "housenet export MODEL OUT.onnx [--opset N]",
                 "Writes MODEL (a housenet model file) as an ONNX file for ONNX Runtime, OpenCV and the\n"
                 "like: standard ops, a symbolic batch dimension, the classes in its metadata_props\n"
                 "('labels', one per line). An ensemble becomes one graph whose output 'probabilities' is\n"
                 "the mean of its members' class probabilities (no test-time flip). docs/onnx.md lists the mapping.");
  cli.option("opset", "N", "13", "ONNX opset: 11, 13 or 17");
  cli.positionals(2, 2);
  cli.parse(argc, argv, 2);
  const std::string opset = cli.get_choice("opset", {"11", "13", "17"});
  const model_file m = load_model_file(cli.args()[0]);
  housenet::onnx_options o;
  o.opset = std::stoi(opset);
  o.labels = m.classes;
  if (m.is_ensemble) {  // one graph: the mean of the members' probabilities (docs/onnx.md)
    housenet::save_onnx(m.members, cli.args()[1], o);
    std::printf("%s: ONNX opset %d, an ensemble of %zu networks (output: their mean probabilities)\n",
                cli.args()[1].c_str(), o.opset, m.members.size());
    return 0;
  }
  const housenet::sequential<float>& net = m.members.at(0);
  housenet::save_onnx(net, cli.args()[1], o);
  std::printf("%s: ONNX opset %d, %zu layers, %zu parameters\n", cli.args()[1].c_str(), o.opset, net.size(),
              net.num_params());
  return 0;
}

// ---- housenet ensemble -------------------------------------------------------------------------
inline int cmd_ensemble(int argc, char** argv) {
  arg_parser cli("ensemble", "housenet ensemble MODEL... -o OUT",
                 "Writes the models (or the members of ensembles) given as one ensemble file OUT: the answer\n"
                 "of an ensemble is the mean of its members' class probabilities (docs/model-format.md). The\n"
                 "models must take the same input and have the same classes, in the same order.");
  cli.option("output", "OUT", "", "the ensemble file to write (required)", "o");
  cli.positionals(1, -1);
  cli.parse(argc, argv, 2);
  const std::string out = cli.get("output");
  if (out.empty()) cli.fail("-o OUT is required");
  check_writable(out);
  std::vector<housenet::sequential<float>> members;
  std::vector<std::string> classes;
  for (const std::string& path : cli.args()) {
    model_file m = load_model_file(path);
    if (members.empty()) classes = m.classes;
    if (!members.empty() && (m.classes != classes || m.input_shape() != members.front().input_shape()))
      throw app_error("ensemble: '" + path + "' does not match '" + cli.args()[0] + "' (input " +
                      m.input_shape().str() + ", " + std::to_string(m.classes.size()) + " classes; " +
                      members.front().input_shape().str() + ", " + std::to_string(classes.size()) + ")");
    for (auto& net : m.members) members.push_back(std::move(net));
  }
  if (members.size() > housenet::max_ensemble_members)
    throw app_error("ensemble: " + std::to_string(members.size()) + " models, at most " +
                    std::to_string(housenet::max_ensemble_members));
  housenet::save_ensemble(members, classes, out);
  std::cout << out << ": an ensemble of " << members.size() << " models\n";
  return 0;
}

}  // namespace app

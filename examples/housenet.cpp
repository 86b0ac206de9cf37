// housenet: find the faces in a photo and sort each into a Hogwarts house — and train the network
// that does it. A tour of the library in one program:
//
//   housenet crop   photos/ faces/            the data set: one 100x100 crop per detected face
//   housenet train  faces/ -o my.hsnt         the training loop (below, in full view)
//   housenet eval   faces/ -m my.hsnt         accuracy, balanced accuracy, confusion matrix
//   housenet sort   photo.jpg -m my.hsnt      boxes, labels, probabilities, an annotated copy
//   housenet detect photo.jpg                 the face detector alone
//   housenet info   my.hsnt                   what a model file holds
//   housenet ensemble a.hsnt b.hsnt -o e.hsnt several models as one (the mean of their probabilities)
//
// The subcommands other than train live in app/commands.hpp; the helpers (command line, data
// set folders, JSON, learning curves, atomic files) in app/*.hpp. Every failure is one line on
// stderr, "housenet: ...", and a non-zero exit status.
#include <housenet/housenet.hpp>
#include <housenet/loss.hpp>
#include <housenet/model_io.hpp>
#include <housenet/networks.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/checkpoint.hpp"
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/dataset.hpp"
#include "app/faces.hpp"
#include "app/files.hpp"
#include "app/models.hpp"
#include "app/report.hpp"
#include "app/signals.hpp"

namespace hn = housenet;

// ---- housenet train --------------------------------------------------------------------------
static int cmd_train(int argc, char** argv) {
  app::arg_parser cli("train", "housenet train DATA_DIR -o MODEL [options]",
                      "Trains a network on DATA_DIR/<class>/<image> (any size; resized to the network's input).\n"
                      "MODEL gets the epoch with the lowest test error, MODEL.last the last epoch;\n"
                      "MODEL.csv and MODEL.svg the learning curves; MODEL.test.json the last epoch's\n"
                      "confusion matrix on the test side (eval --json's object); MODEL.ckpt a resumable checkpoint,\n"
                      "written when the training ends, on Ctrl-C, and otherwise at the end of an epoch at\n"
                      "most every --checkpoint-every seconds (it holds the optimizer state too: 485 MB for\n"
                      "--arch seed). Ctrl-C stops after the current batch and leaves the checkpoint;\n"
                      "--resume goes on from it with the same result as an uninterrupted run.");
  cli.option("output", "MODEL", "", "the model file to write (required)", "o")
      .option("arch", "seed|small", "seed", "seed: the blog's network; small: a smaller one")
      .option("epochs", "N", "100", "training epochs")
      .option("batch", "N", "32", "mini-batch size")
      .option("optimizer", "sgd|adam", "sgd", "momentum SGD (0.9) or Adam")
      .option("lr", "X", "", "learning rate (default 0.01 for sgd, 0.001 for adam)")
      .option("weight-decay", "X", "0", "L2 weight decay (not on biases and batch norm)")
      .option("test-count", "N", "20", "images held out for testing")
      .option("test-fraction", "F", "", "or: this fraction of the images held out")
      .option("split", "random|group", "random", "random images, or whole identities (name before '__')")
      .option("folds", "N", "", "cross-validation: N stratified folds (with --fold)")
      .option("fold", "K", "", "cross-validation: test on fold K of --folds N (1-based)")
      .flag("augment", "random flips, small shifts and colour jitter of the training images")
      .flag("balance", "class-weighted loss: each class counts as much as the others")
      .option("seed", "N", "1", "seed of the split, the initialisation, the shuffles and augmentation")
      .option("threads", "N", "", "worker threads (default: HOUSENET_NUM_THREADS or all cores)")
      .option("checkpoint-every", "SECONDS", "600",
              "write MODEL.ckpt after an epoch only when this long since the last one (0: every epoch)")
      .flag("resume", "continue from MODEL.ckpt (same options required)")
      .positionals(1, 1);
  cli.parse(argc, argv, 2);
  if (cli.help_requested()) return std::cout << cli.help(), 0;
  const std::string model_path = cli.get("output");
  if (model_path.empty()) cli.fail("-o MODEL is required");
  app::check_writable(model_path);  // a missing or read-only folder: said now, not after epoch 1

  app::train_options opt;  // everything that must match when resuming
  opt.arch = cli.get_choice("arch", {"seed", "small"});
  opt.epochs = int(cli.get_int("epochs", 1, 100000));
  opt.batch = std::size_t(cli.get_int("batch", 1, 65536));
  opt.optimizer = cli.get_choice("optimizer", {"sgd", "adam"});
  opt.lr = cli.has("lr") ? cli.get_double("lr", 1e-9, 10.0) : (opt.optimizer == "sgd" ? 0.01 : 0.001);
  opt.weight_decay = cli.get_double("weight-decay", 0.0, 1.0);
  opt.split = cli.get_choice("split", {"random", "group"});
  opt.augment = cli.has("augment");
  opt.balance = cli.has("balance");
  opt.seed = std::uint64_t(cli.get_int("seed", 0, 0x7fffffffffffffffL));
  if (cli.has("threads")) hn::set_num_threads(int(cli.get_int("threads", 1, 1024)));
  // When MODEL.ckpt is written, never what it holds: the run's result does not depend on it.
  const double checkpoint_every = double(cli.get_int("checkpoint-every", 0, 1000000000));
  const double test_fraction = cli.has("test-fraction") ? cli.get_double("test-fraction", 0.0, 0.95) : -1.0;
  const std::size_t test_count_option = std::size_t(cli.get_int("test-count", 0, 1000000000));
  if (cli.has("folds") != cli.has("fold")) cli.fail("--folds and --fold go together");
  const std::size_t folds = cli.has("folds") ? std::size_t(cli.get_int("folds", 2, 1000)) : 0;
  const std::size_t fold = cli.has("fold") ? std::size_t(cli.get_int("fold", 1, 1000)) : 0;

  // 1. The data: every image, resized to the network's input, as one N x 3 x H x W tensor.
  app::dataset_index data = app::scan_dataset(cli.args()[0]);
  if (data.classes.size() < 2)
    throw app::app_error("train: '" + cli.args()[0] + "' has one class folder ('" + data.classes[0] +
                         "'); a classifier needs at least two");
  hn::sequential<float> net = app::make_network(opt.arch, data.classes.size(), opt.seed);
  const hn::shape in = net.input_shape();  // 1 x 3 x 100 x 100 for both architectures
  // Each image decoded once; each unreadable file: one warning, then left out.
  hn::tensor<float> images = app::load_faces(data, in, "train");  // N x 3 x H x W in [0, 1]
  const std::size_t sample = in.sample_size();
  const std::size_t n = data.samples.size();
  const std::size_t test_count =
      test_fraction >= 0 ? std::size_t(double(n) * test_fraction + 0.5) : test_count_option;
  const app::split split = folds ? app::fold_split(data, folds, fold, opt.split == "group", opt.seed)
                                 : app::split_dataset(data, test_count, opt.split == "group", opt.seed);
  opt.data_signature = app::dataset_signature(data, split);

  std::fprintf(stderr, "housenet train: %zu classes, %zu images (%zu train, %zu test, %s split), %s network, %zu parameters\n",
               data.classes.size(), n, split.train.size(), split.test.size(), opt.split.c_str(),
               opt.arch.c_str(), net.num_params());

  // 2. The loss: softmax cross-entropy, optionally weighted per class (--balance).
  //    With --balance each class weighs N / (K * n_class): the classes count equally.
  hn::softmax_cross_entropy<float> loss(opt.balance ? app::class_weights(data, split.train)
                                                    : std::vector<double>(data.classes.size(), 1.0));

  // 3. The optimizer over the model's one parameter arena.
  const std::unique_ptr<hn::optimizer<float>> optim = app::make_optimizer(opt);

  // 4. Resume: the weights, the optimizer state, the step count and the curves so far.
  app::train_state state;
  const std::string ckpt_path = model_path + ".ckpt";
  if (cli.has("resume")) {
    state = app::load_checkpoint(ckpt_path, opt, net, *optim);
    std::fprintf(stderr, "housenet train: resuming %s at epoch %d, batch %zu\n", ckpt_path.c_str(),
                 state.epoch + 1, state.batch);
  }
  // Where MODEL.ckpt is (for the messages), and when it was last written.
  std::string ckpt_at = !cli.has("resume") ? std::string()
                        : state.batch ? "epoch " + std::to_string(state.epoch + 1) + ", batch " + std::to_string(state.batch)
                                      : "the end of epoch " + std::to_string(state.epoch);
  auto last_checkpoint = std::chrono::steady_clock::now();

  // A NaN or infinite loss (or weight) means the training diverged: stop before any of it is
  // written, so MODEL keeps the best finished epoch and MODEL.ckpt the last one it was written at.
  const auto diverged = [&](const std::string& what, int epoch, std::size_t batch) {
    std::string kept;
    if (state.best_epoch > 0) kept = model_path + " keeps epoch " + std::to_string(state.best_epoch) + " (the best)";
    if (!ckpt_at.empty()) kept += (kept.empty() ? "" : ", ") + ckpt_path + " holds " + ckpt_at;
    return app::app_error("train: " + what + " at epoch " + std::to_string(epoch + 1) + ", batch " +
                          std::to_string(batch) + " (the training diverged: try a lower --lr); stopped, " +
                          (kept.empty() ? std::string("no finished epoch to keep") : kept));
  };

  // 5. The training loop.
  app::install_interrupt_handler();
  const std::size_t interrupt_after = app::env_size("HOUSENET_APP_INTERRUPT_AFTER");  // tests: a Ctrl-C after N batches
  const std::size_t crash_after = app::env_size("HOUSENET_APP_CRASH_AFTER_EPOCH");     // tests: a kill -9 after epoch N
  std::size_t batches_run = 0;
  app::progress_bar bar;
  hn::tensor<float> x, dlogits;
  std::optional<app::eval_result> last_test;  // the test side at the last epoch run
  std::vector<int> labels;
  const std::size_t batches = (split.train.size() + opt.batch - 1) / opt.batch;
  for (int epoch = state.epoch; epoch < opt.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    // The epoch's order and augmentations come from (seed, epoch) alone: resumable.
    std::vector<std::size_t> order = split.train;
    hn::prng shuffle_rng(opt.seed * 0x100000001b3ull + std::uint64_t(epoch) + 1);
    app::shuffle_in_place(order, shuffle_rng);
    bar.start(epoch + 1, opt.epochs, batches, state.mean_epoch_seconds());

    net.train();
    for (std::size_t b = state.batch; b < batches; ++b) {
      // 5a. A mini-batch: copy the images, augment them, collect the labels.
      const std::size_t first = b * opt.batch, count = std::min(opt.batch, order.size() - first);
      x.resize(in.with_n(count));
      labels.resize(count);
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t s = order[first + i];
        std::copy_n(images.data() + s * sample, sample, x.data() + i * sample);
        labels[i] = data.samples[s].label;
        if (opt.augment) {
          hn::prng aug_rng((opt.seed << 20) ^ (std::uint64_t(epoch) << 40) ^ (s * 0x9E3779B97F4A7C15ull));
          app::augment(x.data() + i * sample, in.c(), in.h(), in.w(), aug_rng);
        }
      }
      // 5b. Forward, loss, backward, step.
      const hn::tensor<float>& logits = net.forward(x);
      const double batch_loss = loss.forward(logits, labels);
      if (!std::isfinite(batch_loss))
        throw diverged(std::string("the loss became ") + (std::isnan(batch_loss) ? "NaN" : "infinite"), epoch, b + 1);
      loss.backward(dlogits);
      net.zero_grad();
      net.backward(dlogits);
      optim->step(net);

      state.loss_sum += batch_loss * double(count);
      state.errors += count - std::size_t(std::lround(hn::accuracy(logits, labels) * double(count)));
      state.seen += count;
      state.batch = b + 1;
      bar.update(b + 1, state.loss_sum / double(state.seen), double(state.errors) / double(state.seen));

      // 5c. Ctrl-C: leave a checkpoint that --resume continues bit for bit.
      if (app::interrupted() || ++batches_run == interrupt_after) {
        state.epoch_seconds_so_far += app::seconds_since(t0);
        app::save_checkpoint(ckpt_path, opt, net, *optim, data.classes, state);
        std::fprintf(stderr, "%shousenet: interrupted; checkpoint written to %s (continue with --resume)\n",
                     app::stderr_is_tty() ? "\n" : "", ckpt_path.c_str());
        return 130;
      }
    }

    // 5d. The test side, in eval mode (batch norm running statistics, no dropout).
    const app::eval_result test = app::evaluate(net, images, data, split.test);
    last_test = test;
    app::epoch_row row;
    row.epoch = epoch + 1;
    row.train_loss = state.seen ? state.loss_sum / double(state.seen) : 0.0;
    row.train_error = state.seen ? double(state.errors) / double(state.seen) : 0.0;
    row.test_loss = test.loss;
    row.test_error = test.error;
    row.test_balanced_accuracy = test.balanced_accuracy;
    row.seconds = state.epoch_seconds_so_far + app::seconds_since(t0);
    state.rows.push_back(row);
    bar.finish(row.train_loss, row.train_error, row.test_loss, row.test_error, row.test_balanced_accuracy,
               state.mean_epoch_seconds() * double(opt.epochs - epoch - 1));

    if (!split.test.empty() && !std::isfinite(test.loss)) throw diverged("the test loss became NaN", epoch, batches);
    if (!app::all_finite(std::as_const(net).values())) throw diverged("a weight became NaN or infinite", epoch, batches);

    // 5e. What the epoch leaves on disk: the best model, the curves and (the last epoch, or
    //     --checkpoint-every seconds after the last one) the checkpoint.
    if (state.best_epoch == 0 || split.test.empty() || row.test_error < state.best_error) {
      state.best_epoch = row.epoch;
      state.best_error = row.test_error;
      app::save_model(net, data.classes, model_path);
    }
    app::write_file_atomic(model_path + ".csv", app::curves_csv(state.rows));
    app::write_file_atomic(model_path + ".svg",
                           app::curves_svg(state.rows, "housenet train: " + opt.arch + ", " + opt.split + " split"));
    state.next_epoch(epoch + 1);
    if (epoch + 1 == opt.epochs || checkpoint_every == 0 || app::seconds_since(last_checkpoint) >= checkpoint_every) {
      app::save_checkpoint(ckpt_path, opt, net, *optim, data.classes, state);
      last_checkpoint = std::chrono::steady_clock::now();
      ckpt_at = "the end of epoch " + std::to_string(epoch + 1);
    }
    if (crash_after && std::size_t(epoch + 1) == crash_after) std::_Exit(137);
  }

  // 6. The last epoch's model beside the best one, and its confusion matrix on the test side:
  //    MODEL.test.json, the object `housenet eval --json` prints (none without a test side).
  app::save_model(net, data.classes, model_path + ".last");
  const std::string test_json = model_path + ".test.json";
  if (!split.test.empty()) {
    if (!last_test) last_test = app::evaluate(net, images, data, split.test);  // a finished run resumed
    app::write_file_atomic(test_json, app::eval_json(app::summarize(*last_test, data, split.test), data.classes) + "\n");
  } else {
    std::error_code ec;
    app::fs::remove(test_json, ec);  // not one of an earlier run with a test side
  }
  double total = 0;
  for (const auto& r : state.rows) total += r.seconds;
  const app::epoch_row& best = state.rows.at(std::size_t(state.best_epoch - 1));
  std::fprintf(stderr,
               "housenet train: best test error %.3f (balanced accuracy %.3f) at epoch %d -> %s; last epoch: test "
               "error %.3f -> %s.last; %s total\n",
               best.test_error, best.test_balanced_accuracy, best.epoch, model_path.c_str(),
               state.rows.back().test_error, model_path.c_str(), app::format_duration(total).c_str());
  return 0;
}

// ---- main: dispatch ---------------------------------------------------------------------------
static const char* usage =
    "usage: housenet <command> [options]   (housenet <command> --help for each)\n"
    "\n"
    "  sort IMAGE...       label every face with a house; writes an annotated copy\n"
    "  detect IMAGE...     face boxes only\n"
    "  crop SRC OUT        one crop per face of SRC/<class>/<photo>, for training\n"
    "  train DATA -o M     train a network on DATA/<class>/<face image>\n"
    "  eval DATA -m M      accuracy, balanced accuracy, confusion matrix\n"
    "  info MODEL          architecture, classes, parameters\n"
    "  ensemble M... -o E  several models as one ensemble file\n"
    "  --version           the version\n";

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "--version" || cmd == "version") {
      std::printf("housenet %s\n", HOUSENET_VERSION_STRING);
      return 0;
    }
    if (cmd == "--help" || cmd == "-h" || cmd == "help") return std::fputs(usage, stdout), 0;
    if (cmd == "train") return cmd_train(argc, argv);
    if (cmd == "sort") return app::cmd_sort(argc, argv);
    if (cmd == "detect") return app::cmd_detect(argc, argv);
    if (cmd == "crop") return app::cmd_crop(argc, argv);
    if (cmd == "eval") return app::cmd_eval(argc, argv);
    if (cmd == "info") return app::cmd_info(argc, argv);
    if (cmd == "ensemble") return app::cmd_ensemble(argc, argv);
    std::fprintf(stderr, "housenet: %s (see 'housenet --help')\n",
                 cmd.empty() ? "no command given" : ("unknown command '" + cmd + "'").c_str());
    return 2;
  } catch (const app::usage_error& e) {
    std::fprintf(stderr, "housenet: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // housenet::error, app::app_error, std::bad_alloc, ...
    std::fprintf(stderr, "housenet: %s\n", e.what());
    return 1;
  }
}

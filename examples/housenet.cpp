// housenet: find the faces in a photo and sort each into a Hogwarts house — and train the network
// that does it. A tour of the library in one program:
//
//   housenet crop   photos/ faces/            the data set: one 100x100 crop per detected face
//   housenet train  faces/ -o my.hsnt         the training loop (below, in full view)
//   housenet eval   faces/ -m my.hsnt         accuracy, balanced accuracy, confusion matrix
//   housenet sort   photo.jpg -m my.hsnt      boxes, labels, probabilities, an annotated copy
//   housenet detect photo.jpg                 the face detector alone
//   housenet info   my.hsnt                   what a model file holds (.hsnt or .onnx, as -m everywhere)
//   housenet run    -m my.onnx --input x.npy -o y.npy   the model on a NumPy tensor, for scripts
//   housenet ensemble a.hsnt b.hsnt -o e.hsnt several models as one (the mean of their probabilities)
//
// main() is the table of commands at the bottom: it makes `housenet --help` and the dispatch
// (app/cli.hpp). The subcommands other than train live in app/commands.hpp, train's options in
// app/train_command.hpp; the helpers (data set folders, faces, JSON, learning curves, checkpoints,
// atomic files) in app/*.hpp. Every failure is one line on stderr, "housenet: ...", and a
// non-zero exit status.
#include <housenet/housenet.hpp>
#include <housenet/loss.hpp>
#include <housenet/model_io.hpp>
#include <housenet/networks.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
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
#include "app/train_command.hpp"

namespace hn = housenet;

// ---- housenet train --------------------------------------------------------------------------
static int cmd_train(int argc, char** argv) {
  // 0. The command line (app/train_command.hpp): every option checked, MODEL's folder tried.
  const app::train_command args = app::read_train_command(argc, argv);
  app::train_options opt = args.options;  // everything that must match when resuming
  if (args.threads) hn::set_num_threads(args.threads);
  const std::string& model_path = args.model_path;

  // 1. The data: every image, resized to the network's input, as one N x 3 x H x W tensor.
  app::dataset_index data = app::scan_dataset(args.data_dir);
  if (data.classes.size() < 2)
    throw app::app_error("train: '" + args.data_dir + "' has one class folder ('" + data.classes[0] +
                         "'); a classifier needs at least two");
  hn::sequential<float> net = args.init_from.empty() ? app::make_network(opt.arch, data.classes.size(), opt.seed)
                                                      : app::initial_network(args.init_from, data.classes);
  const hn::shape in = net.input_shape();  // 1 x 3 x 100 x 100 for both architectures
  // Each image decoded once; each unreadable file: one warning, then left out. With --context the
  // files are crops with surroundings (crop --context): `wide` holds them at the network's size
  // plus the context, `images` their centres (what the network sees without augmentation).
  const std::size_t context_px = std::size_t(std::lround(opt.context * double(in.w())));
  const hn::shape wide_in{1, in.c(), in.h() + 2 * context_px, in.w() + 2 * context_px};
  hn::tensor<float> wide = context_px ? app::load_faces(data, wide_in, "train") : hn::tensor<float>();
  hn::tensor<float> images = context_px ? app::centre_views(wide, in) : app::load_faces(data, in, "train");
  const std::size_t sample = in.sample_size(), wide_sample = wide_in.sample_size();
  const std::size_t n = data.samples.size();
  const app::split split = args.split_of(data);
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
  if (args.resume) {
    state = app::load_training_checkpoint(ckpt_path, opt, net, *optim);
    std::fprintf(stderr, "housenet train: resuming %s at epoch %d, batch %zu\n", ckpt_path.c_str(),
                 state.epoch + 1, state.batch);
  }
  // Where MODEL.ckpt is (for the messages), and when it was last written.
  std::string ckpt_at = !args.resume ? std::string()
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
  app::training_interrupts interrupts;  // Ctrl-C (and the tests' stand-ins: app/signals.hpp)
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
        labels[i] = data.samples[s].label;
        float* xi = x.data() + i * sample;
        hn::prng aug_rng((opt.seed << 20) ^ (std::uint64_t(epoch) << 40) ^ (s * 0x9E3779B97F4A7C15ull));
        if (opt.augment && context_px) {
          app::augment_with_context(wide.data() + s * wide_sample, in.c(), wide_in.h(), wide_in.w(), in.h(), in.w(),
                                    aug_rng, xi);
        } else {
          std::copy_n(images.data() + s * sample, sample, xi);
          if (opt.augment) app::augment(xi, in.c(), in.h(), in.w(), aug_rng);
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
      if (interrupts.stop_after_batch()) {
        state.epoch_seconds_so_far += app::seconds_since(t0);
        app::save_training_checkpoint(ckpt_path, opt, net, *optim, data.classes, state);
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
      hn::save_model(net, data.classes, model_path);
    }
    app::write_file_atomic(model_path + ".csv", app::curves_csv(state.rows));
    app::write_file_atomic(model_path + ".svg",
                           app::curves_svg(state.rows, "housenet train: " + opt.arch + ", " + opt.split + " split"));
    state.next_epoch(epoch + 1);
    if (epoch + 1 == opt.epochs || args.checkpoint_every == 0 ||
        app::seconds_since(last_checkpoint) >= args.checkpoint_every) {
      app::save_training_checkpoint(ckpt_path, opt, net, *optim, data.classes, state);
      last_checkpoint = std::chrono::steady_clock::now();
      ckpt_at = "the end of epoch " + std::to_string(epoch + 1);
    }
    interrupts.after_epoch(epoch + 1);
  }

  // 6. The last epoch's model beside the best one, and its confusion matrix on the test side:
  //    MODEL.test.json, the object `housenet eval --json` prints (none without a test side).
  hn::save_model(net, data.classes, model_path + ".last");
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
  if (split.test.empty()) {  // no test side (--test-count 0): MODEL is the last epoch too
    std::fprintf(stderr, "housenet train: no test side; epoch %d -> %s and %s.last; %s total\n", best.epoch,
                 model_path.c_str(), model_path.c_str(), app::format_duration(total).c_str());
    return 0;
  }
  std::fprintf(stderr,
               "housenet train: best test error %.3f (balanced accuracy %.3f) at epoch %d -> %s; last epoch: test "
               "error %.3f -> %s.last; %s total\n",
               best.test_error, best.test_balanced_accuracy, best.epoch, model_path.c_str(),
               state.rows.back().test_error, model_path.c_str(), app::format_duration(total).c_str());
  return 0;
}

// ---- main: the table of commands (the overview of `housenet --help` and the dispatch) ----------
static const std::vector<app::command> commands = {
    {"sort", "sort IMAGE...", "label every face with a house; writes an annotated copy", app::cmd_sort},
    {"detect", "detect IMAGE...", "face boxes only", app::cmd_detect},
    {"crop", "crop SRC OUT", "one crop per face of SRC/<class>/<photo>, for training", app::cmd_crop},
    {"train", "train DATA -o M", "train a network on DATA/<class>/<face image>", cmd_train},
    {"eval", "eval DATA -m M", "accuracy, balanced accuracy, confusion matrix", app::cmd_eval},
    {"info", "info MODEL", "architecture, classes, parameters", app::cmd_info},
    {"run", "run -m M --input X.npy -o Y.npy", "the model on a tensor (NumPy .npy), for scripts", app::cmd_run},
    {"export", "export MODEL OUT.onnx", "the model as an ONNX file (onnxruntime, OpenCV, ...)", app::cmd_export},
    {"ensemble", "ensemble M... -o E", "several models as one ensemble file", app::cmd_ensemble},
};

int main(int argc, char** argv) { return app::run_command_line(commands, argc, argv, HOUSENET_VERSION_STRING); }

// fashion_mnist: train a network on Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes,
// 60,000 training and 10,000 test images) and compare with the data set's published table.
//
//   fashion_mnist                                  2conv-bn with the reference recipe (below)
//   fashion_mnist --epochs 1 --train-count 2000    a quick check that learning works
//   fashion_mnist --validation 10000 --lr 0.1      tune on images carved from the training set
//   fashion_mnist -o fm.hsnt                       keep the model (fm.hsnt) and the curves
//                                                  (fm.hsnt.csv, fm.hsnt.svg)
//
// The reference recipe of 2conv-bn (issue 14; libtorch 1.13 with it reached 0.9305): inputs
// normalised by the training images' mean and standard deviation; SGD with momentum 0.9, lr 0.05
// with a per-step cosine decay to 0, weight decay 5e-4 (not on biases and batch norm), batch 128,
// 15 epochs, no augmentation. The network: housenet::make_two_conv_bn_network (networks.hpp).
// resnet20's: the same with lr 0.1, 30 epochs and augmentation (random crop with 2-pixel padding
// + horizontal flip); the network: housenet::make_resnet20 (a graph with residual additions).
//
// Output: a progress bar on stderr; one line per epoch (train and test loss and accuracy) on
// stdout, then, as the last line, {"arch", "epochs", "test_accuracy", "seconds",
// "images_per_second"}: seconds is the whole run's wall time (data loading included),
// images_per_second the training images per second of training steps (evaluation excluded).
// Every failure is one line on stderr, "fashion_mnist: ...", and a non-zero exit status.
#include <housenet/augment.hpp>
#include <housenet/data/idx.hpp>
#include <housenet/housenet.hpp>
#include <housenet/schedule.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/dataset.hpp"
#include "app/files.hpp"
#include "app/json.hpp"
#include "app/report.hpp"

namespace hn = housenet;

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

struct eval_result {
  double loss = 0, accuracy = 0, balanced_accuracy = 0;
};

// Eval mode (batch-norm running statistics, no dropout) over `items`, in batches of 500.
eval_result evaluate(hn::graph<float>& net, const hn::labelled_images& d, const std::vector<std::size_t>& items,
                     double mean, double stddev) {
  eval_result r;
  if (items.empty()) return r;
  hn::softmax_cross_entropy<float> ce;
  hn::tensor<float> x;
  std::vector<int> labels;
  const std::size_t k = net.output_shape().sample_size();
  std::vector<std::size_t> hit(k, 0), total(k, 0);
  double loss = 0;
  for (std::size_t first = 0; first < items.size(); first += 500) {
    const std::size_t count = std::min<std::size_t>(500, items.size() - first);
    hn::gather_batch(d, items, first, count, mean, stddev, x, labels);
    const hn::tensor<float>& z = net.forward(x, hn::context{hn::mode::eval, net.step()});
    loss += ce.forward(z, labels) * double(count);
    for (std::size_t i = 0; i < count; ++i) {
      const float* zi = z.data() + i * k;
      const std::size_t best = std::size_t(std::max_element(zi, zi + k) - zi);
      ++total[std::size_t(labels[i])];
      hit[std::size_t(labels[i])] += best == std::size_t(labels[i]);
    }
  }
  std::size_t hits = 0, present = 0;
  for (std::size_t c = 0; c < k; ++c) {
    hits += hit[c];
    if (total[c]) r.balanced_accuracy += double(hit[c]) / double(total[c]), ++present;
  }
  r.loss = loss / double(items.size());
  r.accuracy = double(hits) / double(items.size());
  r.balanced_accuracy /= double(std::max<std::size_t>(present, 1));
  return r;
}

int run(int argc, char** argv) {
  const auto t_start = clock_type::now();
  app::arg_parser cli("fashion_mnist", "fashion_mnist [--arch 2conv-bn|resnet20] [--epochs N] [--batch B] [--threads T] "
                      "[--data DIR] [-o MODEL] [--seed S] [options]",
                      "Trains a network on Fashion-MNIST and measures it on the 10,000 test images.\n"
                      "The defaults of each --arch are its reference recipe: for 2conv-bn, SGD momentum 0.9,\n"
                      "lr 0.05 with a per-step cosine decay to 0, weight decay 5e-4, batch 128, 15 epochs,\n"
                      "inputs normalised by the training images' mean and std, no augmentation; for resnet20\n"
                      "(He et al.'s CIFAR ResNet-20), the same with lr 0.1, 30 epochs and augmentation.\n"
                      "Prints one line per epoch and, last, a JSON line {arch, epochs, test_accuracy, seconds,\n"
                      "images_per_second}. With -o MODEL: MODEL (the last epoch's network, housenet's model\n"
                      "format; its inputs are (pixel / 255 - mean) / std with the mean and std printed at the\n"
                      "start: 0.2860 and 0.3530 for the whole training set), MODEL.csv and MODEL.svg (the\n"
                      "learning curves).");
  cli.program("")
      .option("arch", "2conv-bn|resnet20", "2conv-bn", "the network")
      .option("epochs", "N", "", "epochs (default 15; resnet20: 30)")
      .option("batch", "B", "", "mini-batch size (default 128)")
      .option("threads", "T", "", "worker threads (default: HOUSENET_NUM_THREADS or all cores)")
      .option("data", "DIR", "/usr/share/datasets/fashion-mnist",
              "the IDX files (train|t10k)-(images-idx3|labels-idx1)-ubyte[.gz]")
      .option("output", "MODEL", "", "save the model (and MODEL.csv, MODEL.svg)", "o")
      .option("seed", "S", "1", "seed of the initialisation, the shuffles, dropout and augmentation")
      .option("lr", "X", "", "peak learning rate (default 0.05; resnet20: 0.1)")
      .option("momentum", "X", "0.9", "SGD momentum")
      .option("weight-decay", "X", "5e-4", "L2 weight decay (not on biases and batch norm)")
      .option("schedule", "cosine|step|constant", "cosine",
              "per-step cosine to 0; step: x0.1 after each third of the run; or constant")
      .option("warmup", "EPOCHS", "0", "linear warm-up from 0 over this many epochs (may be fractional)")
      .option("label-smoothing", "X", "0", "label smoothing of the training loss")
      .option("augment", "on|off", "", "random crop (2-pixel padding) + horizontal flip (default off; resnet20: on)")
      .option("train-count", "N", "", "train on the first N training images only (default all)")
      .option("validation", "N", "0",
              "hold out N random training images and evaluate on them instead of the test set "
              "(for tuning: the test set is not read)");
  cli.parse(argc, argv, 1);  // --help throws app::help_request (main prints it)

  const std::string arch = cli.get_choice("arch", {"2conv-bn", "resnet20"});
  const bool resnet = arch == "resnet20";
  const int epochs = cli.has("epochs") ? int(cli.get_int("epochs", 1, 100000)) : resnet ? 30 : 15;
  const std::size_t batch = cli.has("batch") ? std::size_t(cli.get_int("batch", 1, 65536)) : 128;
  if (cli.has("threads")) hn::set_num_threads(int(cli.get_int("threads", 1, 1024)));
  const std::uint64_t seed = std::uint64_t(cli.get_int("seed", 0, 0x7fffffffffffffffL));
  const double lr = cli.has("lr") ? cli.get_double("lr", 0.0, 10.0) : resnet ? 0.1 : 0.05;
  const double momentum = cli.get_double("momentum", 0.0, 0.999);
  const double weight_decay = cli.get_double("weight-decay", 0.0, 1.0);
  const std::string schedule = cli.get_choice("schedule", {"cosine", "step", "constant"});
  const double warmup_epochs = cli.get_double("warmup", 0.0, double(epochs));
  const double smoothing = cli.get_double("label-smoothing", 0.0, 1.0);
  const bool augment = cli.has("augment") ? cli.get_choice("augment", {"on", "off"}) == "on" : resnet;
  const std::string model_path = cli.get("output");
  if (!model_path.empty()) app::check_writable(model_path);
  const std::string dir = cli.get("data");
  if (!app::fs::is_directory(dir))
    throw app::app_error("--data: '" + dir + "' is not a folder (Debian: apt-get install dataset-fashion-mnist)");

  // 1. The data: bytes in memory (47 MB for the training images); batches are made from them.
  const hn::labelled_images train_set = hn::load_mnist_split(dir, "train");
  std::vector<std::size_t> train(train_set.count);
  std::iota(train.begin(), train.end(), std::size_t(0));
  if (cli.has("train-count")) train.resize(std::size_t(cli.get_int("train-count", 1, long(train_set.count))));
  const std::size_t validation = std::size_t(cli.get_int("validation", 0, long(train.size()) - 1));
  std::vector<std::size_t> eval_items;
  hn::labelled_images test_set;
  if (validation) {  // a random validation split of the training images, fixed by the seed
    hn::prng split_rng(seed ^ 0x5EEDu);
    app::shuffle_in_place(train, split_rng);
    eval_items.assign(train.end() - long(validation), train.end());
    train.resize(train.size() - validation);
    std::sort(train.begin(), train.end());
  } else {
    test_set = hn::load_mnist_split(dir, "t10k");
    eval_items.resize(test_set.count);
    std::iota(eval_items.begin(), eval_items.end(), std::size_t(0));
  }
  const hn::labelled_images& eval_set = validation ? train_set : test_set;
  const char* eval_name = validation ? "validation" : "test";
  const auto [mean, stddev] = hn::pixel_mean_std(train_set, train);

  // 2. The network, the optimizer and its schedule.
  hn::graph<float> net;
  if (resnet) {
    hn::resnet20_options o;
    o.seed = seed;
    net = hn::make_resnet20<float>(10, o);
  } else {
    hn::two_conv_bn_options o;
    o.seed = seed;
    net = hn::make_two_conv_bn_network<float>(10, o);
  }
  hn::sgd<float> opt(hn::sgd<float>::options{lr, momentum, weight_decay, false});
  const std::size_t batches = (train.size() + batch - 1) / batch;
  const std::uint64_t total_steps = std::uint64_t(epochs) * batches;
  const std::uint64_t warmup = std::uint64_t(std::llround(warmup_epochs * double(batches)));
  const std::uint64_t after = std::max<std::uint64_t>(1, total_steps - std::min(warmup, total_steps));
  // step: x0.1 after each third of the run (after the warm-up).
  hn::lr_schedule sched = schedule == "cosine" ? hn::lr_schedule::cosine(lr, after)
                          : schedule == "step" ? hn::lr_schedule::step(lr, (after + 2) / 3, 0.1)
                                               : hn::lr_schedule::constant(lr);
  if (warmup) sched = sched.with_warmup(warmup);
  std::fprintf(stderr,
               "fashion_mnist: %s, %zu parameters, %zu training images (mean %.4f, std %.4f), %zu %s images, "
               "%d epochs of %zu batches of %zu, %d threads\n",
               arch.c_str(), net.num_params(), train.size(), mean, stddev, eval_items.size(), eval_name, epochs,
               batches, batch, hn::num_threads());

  // 3. Training.
  hn::softmax_cross_entropy<float> ce;
  hn::tensor<float> x, x_aug, dz;
  std::vector<int> labels;
  std::vector<app::epoch_row> rows;
  app::progress_bar bar;
  double train_seconds = 0, last_accuracy = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const auto t0 = clock_type::now();
    std::vector<std::size_t> order = train;
    hn::prng shuffle_rng(seed * 0x100000001b3ull + std::uint64_t(epoch) + 1);
    app::shuffle_in_place(order, shuffle_rng);
    hn::prng aug_rng(seed * 0x9E3779B97F4A7C15ull + std::uint64_t(epoch) + 7);
    bar.start(epoch + 1, epochs, batches, rows.empty() ? 0.0 : train_seconds / double(rows.size()));
    net.train();
    double loss_sum = 0;
    std::size_t hits = 0, seen = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t first = b * batch, count = std::min(batch, order.size() - first);
      hn::gather_batch(train_set, order, first, count, mean, stddev, x, labels);
      if (augment) {
        hn::random_crop_flip(x, x_aug, {2, true, hn::pad_mode::constant, -mean / stddev}, aug_rng);
        std::swap(x, x_aug);
      }
      const hn::tensor<float>& z = net.forward(x);
      const double loss = smoothing > 0 ? hn::smoothed_cross_entropy(z, labels, smoothing, &dz) : ce.forward(z, labels);
      if (!std::isfinite(loss))
        throw app::app_error("the training loss became " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                             " at epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(b + 1) +
                             " (the training diverged: try a lower --lr)");
      if (smoothing == 0) ce.backward(dz);
      net.zero_grad();
      net.backward(dz);
      sched.apply(opt);
      opt.step(net);
      loss_sum += loss * double(count);
      hits += std::size_t(std::lround(hn::accuracy(z, labels) * double(count)));
      seen += count;
      bar.update(b + 1, loss_sum / double(seen), 1.0 - double(hits) / double(seen));
    }
    const double epoch_train_seconds = seconds_since(t0);
    train_seconds += epoch_train_seconds;
    const eval_result ev = evaluate(net, eval_set, eval_items, mean, stddev);
    app::epoch_row row;
    row.epoch = epoch + 1;
    row.train_loss = loss_sum / double(seen);
    row.train_error = 1.0 - double(hits) / double(seen);
    row.test_loss = ev.loss;
    row.test_error = 1.0 - ev.accuracy;
    row.test_balanced_accuracy = ev.balanced_accuracy;
    row.seconds = seconds_since(t0);
    rows.push_back(row);
    last_accuracy = ev.accuracy;
    bar.finish(row.train_loss, row.train_error, row.test_loss, row.test_error, row.test_balanced_accuracy,
               train_seconds / double(rows.size()) * double(epochs - epoch - 1));
    std::printf("epoch %*d/%d  train loss %.4f acc %.4f  %s loss %.4f acc %.4f  lr %.4g  %.1f s\n",
                int(std::to_string(epochs).size()), epoch + 1, epochs, row.train_loss, 1.0 - row.train_error,
                eval_name, ev.loss, ev.accuracy, opt.lr(), row.seconds);
    std::fflush(stdout);
    if (!model_path.empty()) {
      app::write_file_atomic(model_path + ".csv", app::curves_csv(rows));
      app::write_file_atomic(model_path + ".svg", app::curves_svg(rows, "fashion_mnist: " + arch + ", " + eval_name));
    }
  }

  // 4. The model (atomic: a temporary file, fsync, rename) and the summary line.
  if (!model_path.empty()) hn::save_model(net, hn::fashion_mnist_classes(), model_path);
  app::json_writer j;
  j.begin_object();
  j.field("arch", arch);
  j.field("epochs", epochs);
  j.field(validation ? "validation_accuracy" : "test_accuracy", last_accuracy);
  j.field("seconds", seconds_since(t_start));
  j.field("images_per_second", double(train.size()) * double(epochs) / train_seconds);
  j.end_object();
  std::printf("%s\n", j.str().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const app::help_request& h) {
    std::cout << h.text;
    return 0;
  } catch (const app::usage_error& e) {  // "fashion_mnist: <what> (see 'fashion_mnist --help')"
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // housenet::error, app::app_error, std::bad_alloc, ...
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return 1;
  }
}

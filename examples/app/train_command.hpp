// examples/app/train_command.hpp: the command line of `housenet train`, apart from its loop
// (examples/housenet.cpp): the options with their help text, read and checked into one struct.
//
//   read_train_command(argc, argv)   every option checked (one usage_error line each); -o MODEL's
//                                    folder tried for writing first, so that a missing or read-only
//                                    one is said before any data is read, not after epoch 1
//   train_command::split_of(data)    the train/test split the options ask for
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "cli.hpp"
#include "dataset.hpp"
#include "files.hpp"

namespace app {

struct train_command {
  std::string data_dir, model_path;
  std::string init_from;          // --init-from: the model whose weights training starts from
  train_options options;          // everything that must match when resuming (data_signature: later)
  bool resume = false;
  int threads = 0;                // 0: HOUSENET_NUM_THREADS or all cores
  double checkpoint_every = 600;  // seconds; when MODEL.ckpt is written, never what it holds
  // The test side: --folds/--fold, else --test-fraction (when >= 0), else --test-count.
  std::size_t folds = 0, fold = 0, test_count = 20;
  double test_fraction = -1.0;

  split split_of(const dataset_index& data) const {
    const bool group = options.split == "group";
    if (folds) return fold_split(data, folds, fold, group, options.seed);
    const std::size_t n = data.samples.size();
    const std::size_t count = test_fraction >= 0 ? std::size_t(double(n) * test_fraction + 0.5) : test_count;
    return split_dataset(data, count, group, options.seed);
  }
};

inline train_command read_train_command(int argc, char** argv) {
  arg_parser cli("train", "housenet train DATA_DIR -o MODEL [options]",
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
      .option("init-from", "MODEL", "",
              "start from MODEL's network and weights instead (a .hsnt or .onnx file of one network "
              "with DATA_DIR's class count: fine-tuning)")
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
      .option("context", "F", "0",
              "DATA_DIR's crops hold F times the box of surroundings per side (crop --context F): the network "
              "sees the centre box; with --augment, boxes shifted (8%) and scaled (0.9-1.1) in the real surroundings")
      .flag("balance", "class-weighted loss: each class counts as much as the others")
      .option("seed", "N", "1", "seed of the split, the initialisation, the shuffles and augmentation")
      .option("threads", "N", "", "worker threads (default: HOUSENET_NUM_THREADS or all cores)")
      .option("checkpoint-every", "SECONDS", "600",
              "write MODEL.ckpt after an epoch only when this long since the last one (0: every epoch)")
      .flag("resume", "continue from MODEL.ckpt (same options required)")
      .positionals(1, 1);
  cli.parse(argc, argv, 2);

  train_command t;
  t.data_dir = cli.args()[0];
  t.model_path = cli.get("output");
  if (t.model_path.empty()) cli.fail("-o MODEL is required");
  check_writable(t.model_path);

  train_options& o = t.options;
  o.arch = cli.get_choice("arch", {"seed", "small"});
  t.init_from = cli.get("init-from");
  if (!t.init_from.empty()) {
    if (cli.has("arch")) cli.fail("--init-from and --arch do not go together (the network is MODEL's)");
    o.arch = "from " + fs::path(t.init_from).filename().string();
  }
  o.epochs = int(cli.get_int("epochs", 1, 100000));
  o.batch = std::size_t(cli.get_int("batch", 1, 65536));
  o.optimizer = cli.get_choice("optimizer", {"sgd", "adam"});
  o.lr = cli.has("lr") ? cli.get_double("lr", 1e-9, 10.0) : (o.optimizer == "sgd" ? 0.01 : 0.001);
  o.weight_decay = cli.get_double("weight-decay", 0.0, 1.0);
  o.split = cli.get_choice("split", {"random", "group"});
  o.augment = cli.has("augment");
  o.context = cli.get_double("context", 0.0, 1.0);
  o.balance = cli.has("balance");
  o.seed = std::uint64_t(cli.get_int("seed", 0, INT64_MAX));

  if (cli.has("threads")) t.threads = int(cli.get_int("threads", 1, 1024));
  t.checkpoint_every = double(cli.get_int("checkpoint-every", 0, 1000000000));
  if (cli.has("test-fraction")) t.test_fraction = cli.get_double("test-fraction", 0.0, 0.95);
  t.test_count = std::size_t(cli.get_int("test-count", 0, 1000000000));
  if (cli.has("folds") != cli.has("fold")) cli.fail("--folds and --fold go together");
  if (cli.has("folds")) t.folds = std::size_t(cli.get_int("folds", 2, 1000));
  if (cli.has("fold")) t.fold = std::size_t(cli.get_int("fold", 1, 1000));
  t.resume = cli.has("resume");
  return t;
}

}  // namespace app

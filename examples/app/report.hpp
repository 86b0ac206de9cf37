// examples/app/report.hpp: what `housenet train` shows and leaves behind.
//
//   progress_bar     one line per epoch on stderr: bar, batches done, running loss and error,
//                    time left for the whole run. On a terminal it redraws in place ('\r'); when
//                    stderr is a file or a pipe it prints only the finished line of each epoch.
//   epoch_row        one row of the learning curve.
//   curves_csv()     "epoch,train_loss,train_error,test_loss,test_error,seconds,test_balanced_accuracy"
//                    + one row per epoch.
//   curves_svg()     the original's figure: train and test error rate per epoch (an SVG file).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace app {

inline bool stderr_is_tty() { return ::isatty(2) == 1; }

inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

class progress_bar {
 public:
  progress_bar() : tty_(::isatty(2) == 1) {}

  // Starts epoch `epoch` (1-based) of `epochs`, with `batches` batches. `seconds_per_epoch`
  // (mean of the finished epochs, 0 when unknown) estimates the time left after this epoch.
  void start(int epoch, int epochs, std::size_t batches, double seconds_per_epoch) {
    epoch_ = epoch;
    epochs_ = epochs;
    batches_ = batches;
    per_epoch_ = seconds_per_epoch;
    t0_ = clock::now();
  }
  // After batch `done` (1-based) with the running mean loss and error of this epoch.
  void update(std::size_t done, double loss, double err) {
    if (!tty_) return;
    const auto now = clock::now();
    if (done != batches_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double el = seconds_since(t0_);
    const double this_left = done ? el / double(done) * double(batches_ - done) : 0.0;
    const double epoch_s = per_epoch_ > 0 ? per_epoch_ : (done ? el / double(done) * double(batches_) : 0.0);
    const double left = this_left + epoch_s * double(epochs_ - epoch_);
    std::fprintf(stderr, "\r%s", line(done, loss, err, left, "left").c_str());
    std::fflush(stderr);
  }
  // End of the epoch: prints the final line with the test figures.
  void finish(double loss, double err, double test_loss, double test_err, double test_bal_acc, double left) {
    std::string l = line(batches_, loss, err, left, "left");
    char buf[128];
    std::snprintf(buf, sizeof buf, " | test loss %.4f err %.3f bal.acc %.3f", test_loss, test_err, test_bal_acc);
    l += buf;
    std::fprintf(stderr, "%s%s\n", tty_ ? "\r" : "", l.c_str());
    std::fflush(stderr);
  }

 private:
  using clock = std::chrono::steady_clock;
  static double seconds_since(clock::time_point t) {
    return std::chrono::duration<double>(clock::now() - t).count();
  }
  std::string line(std::size_t done, double loss, double err, double left, const char* what) const {
    const int width = 20;
    const int fill = batches_ ? int(double(width) * double(done) / double(batches_)) : width;
    std::string bar(std::size_t(fill), '#');
    bar += std::string(std::size_t(width - fill), '.');
    const int w = int(std::to_string(epochs_).size());
    char buf[256];
    std::snprintf(buf, sizeof buf, "epoch %*d/%d [%s] %zu/%zu loss %.4f err %.3f  %s %s", w, epoch_, epochs_,
                  bar.c_str(), done, batches_, loss, err, format_duration(left).c_str(), what);
    return buf;
  }

  bool tty_;
  int epoch_ = 0, epochs_ = 0;
  std::size_t batches_ = 0;
  double per_epoch_ = 0;
  clock::time_point t0_{}, last_{};
};

struct epoch_row {
  int epoch = 0;
  double train_loss = 0, train_error = 0, test_loss = 0, test_error = 0, seconds = 0;
  double test_balanced_accuracy = 0;
};

inline std::string curves_csv(const std::vector<epoch_row>& rows) {
  std::string s = "epoch,train_loss,train_error,test_loss,test_error,seconds,test_balanced_accuracy\n";
  char buf[160];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.6f\n", r.epoch, r.train_loss, r.train_error,
                  r.test_loss, r.test_error, r.seconds, r.test_balanced_accuracy);
    s += buf;
  }
  return s;
}

// Train (blue) and test (red) error rate per epoch, y in [0, 1], with a grid, axis labels, a
// legend and a marker at the best test epoch.
inline std::string curves_svg(const std::vector<epoch_row>& rows, const std::string& title) {
  const double W = 640, H = 400, L = 60, R = 20, T = 40, B = 50;
  const double pw = W - L - R, ph = H - T - B;
  const int n = std::max<int>(1, rows.empty() ? 1 : rows.back().epoch);
  auto X = [&](double e) { return L + pw * (n <= 1 ? 0.5 : (e - 1) / double(n - 1)); };
  auto Y = [&](double v) { return T + ph * (1.0 - std::clamp(v, 0.0, 1.0)); };
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                W, H, W, H);
  s += buf;
  std::string t;
  for (char c : title) t += c == '<' ? std::string("&lt;") : c == '&' ? std::string("&amp;") : std::string(1, c);
  std::snprintf(buf, sizeof buf, "<text x=\"%g\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n",
                W / 2, t.c_str());
  s += buf;
  for (int i = 0; i <= 10; ++i) {  // horizontal grid + y labels
    const double v = i / 10.0;
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                  "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n",
                  L, Y(v), L + pw, Y(v), L - 6, Y(v) + 4, v);
    s += buf;
  }
  const int step = std::max(1, n / 10);
  for (int e = 1; e <= n; e += (e == 1 && step > 1 ? step - 1 : step)) {  // x ticks
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>"
                  "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%d</text>\n",
                  X(e), T, X(e), T + ph, X(e), T + ph + 16, e);
    s += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#444\"/>\n"
                "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">epoch</text>\n"
                "<text x=\"16\" y=\"%g\" text-anchor=\"middle\" transform=\"rotate(-90 16 %g)\">error rate</text>\n",
                L, T, pw, ph, L + pw / 2, H - 10, T + ph / 2, T + ph / 2);
  s += buf;
  auto polyline = [&](auto get, const char* colour) {
    std::string pts;
    for (const auto& r : rows) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(r.epoch), Y(get(r)));
      pts += buf;
    }
    s += std::string("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"") + colour + "\" points=\"" + pts + "\"/>\n";
  };
  polyline([](const epoch_row& r) { return r.train_error; }, "#1f77b4");
  polyline([](const epoch_row& r) { return r.test_error; }, "#d62728");
  {  // 1 - balanced accuracy of the test side, dashed
    std::string pts;
    for (const auto& r : rows) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", X(r.epoch), Y(1.0 - r.test_balanced_accuracy));
      pts += buf;
    }
    s += "<polyline fill=\"none\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\" stroke=\"#ff7f0e\" points=\"" + pts +
         "\"/>\n";
  }
  if (!rows.empty()) {
    const auto best = std::min_element(rows.begin(), rows.end(), [](const epoch_row& a, const epoch_row& b) {
      return a.test_error < b.test_error;
    });
    std::snprintf(buf, sizeof buf,
                  "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"/>"
                  "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">min %.3f (epoch %d)</text>\n",
                  X(best->epoch), Y(best->test_error), X(best->epoch) + 6, Y(best->test_error) - 6,
                  best->test_error, best->epoch);
    s += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
                "<text x=\"%g\" y=\"%g\">train</text>"
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#d62728\" stroke-width=\"2\"/>"
                "<text x=\"%g\" y=\"%g\">test</text>"
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#ff7f0e\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"5,3\"/><text x=\"%g\" y=\"%g\">test, 1 - balanced accuracy</text>\n</svg>\n",
                L + pw - 250, T + 14, L + pw - 230, T + 14, L + pw - 225, T + 18, L + pw - 185, T + 14, L + pw - 165,
                T + 14, L + pw - 160, T + 18, L + pw - 250, T + 32, L + pw - 230, T + 32, L + pw - 225, T + 36);
  s += buf;
  return s;
}

}  // namespace app

// examples/app/cli.hpp: the command line of the housenet app.
//
//   command / run_command_line   the table of subcommands (name, one-line summary, function) that
//                                makes both `housenet --help` and the dispatch, and main()'s
//                                whole body: the exit status of every outcome (below)
//   arg_parser                   one per subcommand: its options (flags, options with a value), its
//                                positional arguments and its help text
//
// arg_parser::parse() fills the parser in place; any mistake throws app::usage_error with one line
// that names the subcommand and the problem ("train: --epochs: 'x' is not an integer"). "--help"
// or "-h" (before "--") stops the parse by throwing app::help_request with the subcommand's help
// (as CLI11's CallForHelp does): run_command_line prints it on stdout and exits 0, so a subcommand
// never tests for it.
//
// Exit status: 0 success or help; 2 a command-line mistake (usage_error, an unknown command);
// 1 any other failure (housenet::error, app_error, std::bad_alloc, ...), each one line on stderr,
// "housenet: ...". A subcommand may return another status itself (train: 130 after Ctrl-C).
//
// Accepted forms: --name VALUE, --name=VALUE, -m VALUE (the short names declared), "--" ends options.
#pragma once

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace app {

// A user mistake on the command line (exit status 2).
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Any other failure of the app itself (exit status 1). Library failures are housenet::error.
struct app_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Not a failure: --help was asked for. Thrown by arg_parser::parse with the subcommand's help text
// (deliberately not a std::exception, so no error handler takes it for one).
struct help_request {
  std::string text;
};

// One subcommand: `housenet NAME ...` runs run(argc, argv) (argv[1] is NAME; its options start at
// argv[2]); `housenet --help` lists "SYNOPSIS   SUMMARY".
struct command {
  const char* name;
  const char* synopsis;  // "train DATA -o M"
  const char* summary;   // "train a network on DATA/<class>/<face image>"
  int (*run)(int argc, char** argv);
};

// The text of `housenet --help`: one line per command, in the table's order, then --version.
inline std::string overview(const std::vector<command>& commands) {
  std::string s = "usage: housenet <command> [options]   (housenet <command> --help for each)\n\n";
  const auto line = [&](const std::string& left, const std::string& summary) {
    s += "  " + left + std::string(left.size() < 20 ? 20 - left.size() : 1, ' ') + summary + "\n";
  };
  for (const command& c : commands) line(c.synopsis, c.summary);
  line("--version", "the version");
  return s;
}

// main() of `housenet`: picks the command named by argv[1] from the table and runs it; --help
// (-h, help) prints the overview, --version (version) "housenet VERSION". Every exception becomes
// one line on stderr and its exit status (see the top of this file).
inline int run_command_line(const std::vector<command>& commands, int argc, char** argv, const char* version) {
  try {
    const std::string name = argc > 1 ? argv[1] : "";
    if (name == "--version" || name == "version") {
      std::printf("housenet %s\n", version);
      return 0;
    }
    if (name == "--help" || name == "-h" || name == "help") return std::fputs(overview(commands).c_str(), stdout), 0;
    for (const command& c : commands)
      if (name == c.name) return c.run(argc, argv);
    std::fprintf(stderr, "housenet: %s (see 'housenet --help')\n",
                 name.empty() ? "no command given" : ("unknown command '" + name + "'").c_str());
    return 2;
  } catch (const help_request& h) {
    std::fputs(h.text.c_str(), stdout);
    return 0;
  } catch (const usage_error& e) {
    std::fprintf(stderr, "housenet: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // housenet::error, app_error, std::bad_alloc, ...
    std::fprintf(stderr, "housenet: %s\n", e.what());
    return 1;
  }
}

class arg_parser {
 public:
  arg_parser(std::string command, std::string usage, std::string description)
      : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {}

  // A boolean switch: --name.
  arg_parser& flag(const std::string& name, const std::string& help, const std::string& short_name = "") {
    specs_.push_back({name, short_name, false, "", "", help});
    return *this;
  }
  // An option with a value: --name VALUE (default shown in the help when not empty).
  arg_parser& option(const std::string& name, const std::string& value_name, const std::string& def,
                     const std::string& help, const std::string& short_name = "") {
    specs_.push_back({name, short_name, true, value_name, def, help});
    return *this;
  }
  // Positional arguments: at least min_count, at most max_count (-1: any number).
  arg_parser& positionals(std::size_t min_count, long max_count) {
    min_pos_ = min_count;
    max_pos_ = max_count;
    return *this;
  }

  void parse(int argc, char** argv, int first) {
    bool options_done = false;
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (!options_done && a == "--") {
        options_done = true;
        continue;
      }
      if (!options_done && (a == "--help" || a == "-h")) throw help_request{help()};
      if (!options_done && a.size() > 1 && a[0] == '-' && !is_number(a)) {
        std::string name, value;
        bool has_inline = false;
        const spec* s = nullptr;
        if (a.rfind("--", 0) == 0) {
          name = a.substr(2);
          const auto eq = name.find('=');
          if (eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_inline = true;
          }
          s = find(name, false);
        } else {
          name = a.substr(1);
          s = find(name, true);
        }
        if (!s) fail("unknown option '" + a + "'");
        if (!s->takes_value) {
          if (has_inline) fail("--" + s->name + " takes no value");
          values_[s->name] = "1";
          continue;
        }
        if (!has_inline) {
          if (i + 1 >= argc) fail("--" + s->name + " needs a value (" + s->value_name + ")");
          value = argv[++i];
        }
        values_[s->name] = value;
        continue;
      }
      pos_.push_back(a);
    }
    if (pos_.size() < min_pos_) fail("missing argument(s); usage: " + usage_);
    if (max_pos_ >= 0 && pos_.size() > std::size_t(max_pos_))
      fail("too many arguments ('" + pos_[std::size_t(max_pos_)] + "'); usage: " + usage_);
  }

  const std::vector<std::string>& args() const { return pos_; }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name) const {
    const auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    const spec* s = find(name, false);
    return s ? s->def : std::string();
  }
  // 64 bits wherever the app runs (long has 32 on wasm32 and Windows).
  std::int64_t get_int(const std::string& name, std::int64_t lo, std::int64_t hi) const {
    const std::string v = get(name);
    errno = 0;
    char* end = nullptr;
    const std::int64_t x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno == ERANGE) fail("--" + name + ": '" + v + "' is not an integer");
    if (x < lo || x > hi)
      fail("--" + name + ": " + v + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return x;
  }
  double get_double(const std::string& name, double lo, double hi) const {
    const std::string v = get(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !std::isfinite(x)) fail("--" + name + ": '" + v + "' is not a number");
    if (x < lo || x > hi) {
      std::ostringstream os;
      os << "--" << name << ": " << v << " is out of range [" << lo << ", " << hi << "]";
      fail(os.str());
    }
    return x;
  }
  // One of a fixed set of words.
  std::string get_choice(const std::string& name, const std::vector<std::string>& choices) const {
    const std::string v = get(name);
    std::string list;
    for (const auto& c : choices) {
      if (c == v) return v;
      list += (list.empty() ? "" : "|") + c;
    }
    fail("--" + name + ": '" + v + "' is not one of " + list);
  }

  // The program named in the "see ... --help" hint (default "housenet": "housenet train --help";
  // "" for a program without subcommands, e.g. fashion_mnist).
  arg_parser& program(const std::string& name) {
    program_ = name;
    return *this;
  }

  [[noreturn]] void fail(const std::string& msg) const {
    throw usage_error(command_ + ": " + msg + " (see '" + (program_.empty() ? "" : program_ + " ") + command_ +
                      " --help')");
  }

  std::string help() const {
    std::ostringstream os;
    os << "usage: " << usage_ << "\n\n" << description_ << "\n";
    if (!specs_.empty()) os << "\noptions:\n";
    for (const auto& s : specs_) {
      std::string left = "  ";
      left += s.short_name.empty() ? "    " : "-" + s.short_name + ", ";
      left += "--" + s.name;
      if (s.takes_value) left += " " + s.value_name;
      os << left;
      if (left.size() < 28) os << std::string(28 - left.size(), ' ');
      else os << "\n" << std::string(28, ' ');
      os << s.help;
      if (s.takes_value && !s.def.empty()) os << " (default " << s.def << ")";
      os << "\n";
    }
    os << "  -h, --help                show this help\n";
    return os.str();
  }

 private:
  struct spec {
    std::string name, short_name;
    bool takes_value;
    std::string value_name, def, help;
  };
  const spec* find(const std::string& name, bool is_short) const {
    for (const auto& s : specs_)
      if ((is_short ? s.short_name : s.name) == name && !name.empty()) return &s;
    return nullptr;
  }
  static bool is_number(const std::string& a) {
    return a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.');
  }

  std::string command_, usage_, description_, program_ = "housenet";
  std::vector<spec> specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> pos_;
  std::size_t min_pos_ = 0;
  long max_pos_ = -1;
};

}  // namespace app

// housenet/detail/xml.hpp: a small, strict XML reader (enough for OpenCV's cascade files).
//
// WHAT THIS IS
//   document::parse(text, context) reads one XML document into a flat tree of elements:
//   name, attributes, character data (entities decoded, CDATA kept), children, and the line
//   where the element starts. It accepts an optional UTF-8 BOM, the <?xml ... ?> declaration and
//   other processing instructions, comments and CDATA sections; it rejects DOCTYPE (no entity
//   expansion, no external references), mismatched or unclosed tags, duplicate attributes,
//   unknown entities, text outside the root element, nesting deeper than max_depth, more than
//   max_attributes attributes on one element, and anything
//   after the root element other than whitespace, comments and processing instructions.
//
// ERRORS
//   One housenet::error "<context>:<line>: <what>", for example
//   "cascade: face.xml:12: expected '>' after </stages". Never recurses, never reads past the end.
//
// THREAD SAFETY
//   A parsed document is an immutable value: const access from many threads is safe.
//   Not API: may change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../error.hpp"

HOUSENET_BEGIN_NAMESPACE
namespace detail {
namespace xml {

constexpr int max_depth = 256;
constexpr std::size_t max_attributes = 64;  // per element (the duplicate check is quadratic)
constexpr std::uint32_t npos = 0xffffffffu;

struct element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;  // character data directly inside this element (children's text excluded)
  int line = 0;      // 1-based line of the '<' that opens the element
  std::uint32_t first_child = npos, last_child = npos, next_sibling = npos, parent = npos;
};

class document {
 public:
  // Parses text; errors are reported as "<context>:<line>: <what>".
  static document parse(std::string_view text, const std::string& context);

  const element& root() const { return nodes_[0]; }
  const element& at(std::uint32_t i) const { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  const std::string& context() const { return context_; }

  // First child element of e with this name, or nullptr.
  const element* child(const element& e, std::string_view name) const {
    for (std::uint32_t c = e.first_child; c != npos; c = nodes_[c].next_sibling)
      if (nodes_[c].name == name) return &nodes_[c];
    return nullptr;
  }
  // All child elements of e, in document order.
  std::vector<const element*> children(const element& e) const {
    std::vector<const element*> out;
    for (std::uint32_t c = e.first_child; c != npos; c = nodes_[c].next_sibling) out.push_back(&nodes_[c]);
    return out;
  }
  static const std::string* attribute(const element& e, std::string_view name) {
    for (const auto& a : e.attributes)
      if (a.first == name) return &a.second;
    return nullptr;
  }

  [[noreturn]] void fail_at(int line, const std::string& what) const {
    detail::fail(detail::concat(context_, ":", line, ": ", what));
  }

 private:
  std::vector<element> nodes_;
  std::string context_;
  friend class parser;
};

class parser {
 public:
  parser(std::string_view s, const std::string& context) : s_(s) { doc_.context_ = context; }

  document run() {
    if (s_.size() >= 3 && (unsigned char)s_[0] == 0xEF && (unsigned char)s_[1] == 0xBB &&
        (unsigned char)s_[2] == 0xBF)
      pos_ = 3;
    std::vector<std::uint32_t> stack;
    bool seen_root = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != '<') {
        if (stack.empty()) {
          if (!is_space(c)) fail(seen_root ? "text after the root element" : "text before the root element");
          advance(1);
        } else {
          read_text(doc_.nodes_[stack.back()].text);
        }
        continue;
      }
      // c == '<'
      if (starts_with("<?")) {
        skip_until("?>", "unterminated processing instruction");
      } else if (starts_with("<!--")) {
        skip_until("-->", "unterminated comment");
      } else if (starts_with("<![CDATA[")) {
        if (stack.empty()) fail("CDATA outside the root element");
        const int line = line_;
        advance(9);
        const std::size_t end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) fail_line(line, "unterminated CDATA section");
        doc_.nodes_[stack.back()].text.append(s_.substr(pos_, end - pos_));
        advance(end + 3 - pos_);
      } else if (starts_with("<!")) {
        fail("DOCTYPE and other <! declarations are not supported");
      } else if (starts_with("</")) {
        advance(2);
        const std::string name = read_name("closing tag");
        skip_spaces();
        expect('>', "after </" + name);
        if (stack.empty()) fail("unexpected closing tag </" + name + ">");
        const element& open = doc_.nodes_[stack.back()];
        if (open.name != name)
          fail("closing tag </" + name + "> does not match <" + open.name + "> opened on line " +
               std::to_string(open.line));
        stack.pop_back();
      } else {
        if (stack.empty() && seen_root) fail("a second root element");
        const int line = line_;
        advance(1);
        element e;
        e.line = line;
        e.name = read_name("element name");
        bool self_closing = false;
        for (;;) {
          const bool had_space = skip_spaces();
          if (pos_ >= s_.size()) fail("unterminated tag <" + e.name + ">");
          if (s_[pos_] == '>') {
            advance(1);
            break;
          }
          if (starts_with("/>")) {
            advance(2);
            self_closing = true;
            break;
          }
          if (!had_space) fail("expected whitespace, '>' or '/>' in tag <" + e.name + ">");
          std::string an = read_name("attribute name");
          skip_spaces();
          expect('=', "after attribute " + an);
          skip_spaces();
          if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
            fail("expected a quoted value for attribute " + an);
          const char q = s_[pos_];
          advance(1);
          std::string value;
          while (pos_ < s_.size() && s_[pos_] != q) {
            if (s_[pos_] == '<') fail("'<' in the value of attribute " + an);
            if (s_[pos_] == '&') {
              read_entity(value);
            } else {
              value.push_back(s_[pos_]);
              advance(1);
            }
          }
          if (pos_ >= s_.size()) fail("unterminated value of attribute " + an);
          advance(1);
          if (e.attributes.size() >= max_attributes)
            fail("more than " + std::to_string(max_attributes) + " attributes in <" + e.name + ">");
          for (const auto& a : e.attributes)
            if (a.first == an) fail("duplicate attribute " + an + " in <" + e.name + ">");
          e.attributes.emplace_back(std::move(an), std::move(value));
        }
        HOUSENET_CHECK(doc_.nodes_.size() < npos - 1, doc_.context_, ":", line, ": too many elements");
        const auto idx = static_cast<std::uint32_t>(doc_.nodes_.size());
        if (!stack.empty()) {
          const std::uint32_t p = stack.back();
          e.parent = p;
          element& pe = doc_.nodes_[p];
          if (pe.last_child == npos)
            pe.first_child = idx;
          else
            doc_.nodes_[pe.last_child].next_sibling = idx;
          pe.last_child = idx;
        }
        doc_.nodes_.push_back(std::move(e));
        seen_root = true;
        if (!self_closing) {
          if (int(stack.size()) >= max_depth)
            fail_line(line, "elements nested deeper than " + std::to_string(max_depth));
          stack.push_back(idx);
        }
      }
    }
    if (!stack.empty()) {
      const element& open = doc_.nodes_[stack.back()];
      fail("unexpected end of file: <" + open.name + "> opened on line " + std::to_string(open.line) +
           " is not closed");
    }
    if (!seen_root) fail("no root element");
    return std::move(doc_);
  }

 private:
  static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (static_cast<unsigned char>(c) >= 0x80);
  }
  static bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
  }

  [[noreturn]] void fail(const std::string& what) const { fail_line(line_, what); }
  [[noreturn]] void fail_line(int line, const std::string& what) const { doc_.fail_at(line, what); }

  void advance(std::size_t n) {
    for (std::size_t i = 0; i < n && pos_ < s_.size(); ++i, ++pos_)
      if (s_[pos_] == '\n') ++line_;
  }
  bool starts_with(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  bool skip_spaces() {
    bool any = false;
    while (pos_ < s_.size() && is_space(s_[pos_])) {
      advance(1);
      any = true;
    }
    return any;
  }
  void skip_until(std::string_view end, const char* what) {
    const int line = line_;
    const std::size_t e = s_.find(end, pos_ + 2);
    if (e == std::string_view::npos) fail_line(line, what);
    advance(e + end.size() - pos_);
  }
  void expect(char c, const std::string& where) {
    if (pos_ >= s_.size())
      fail(std::string("unexpected end of file: expected '") + c + "' " + where);
    if (s_[pos_] != c) fail(std::string("expected '") + c + "' " + where);
    advance(1);
  }
  std::string read_name(const char* what) {
    if (pos_ >= s_.size()) fail(std::string("unexpected end of file in ") + what);
    if (!is_name_start(s_[pos_])) fail(std::string("invalid ") + what);
    const std::size_t b = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;  // names contain no '\n'
    return std::string(s_.substr(b, pos_ - b));
  }
  void read_text(std::string& out) {
    while (pos_ < s_.size() && s_[pos_] != '<') {
      if (s_[pos_] == '&') {
        read_entity(out);
      } else {
        if (s_[pos_] == '>' && pos_ >= 2 && s_[pos_ - 1] == ']' && s_[pos_ - 2] == ']')
          fail("']]>' in text");
        out.push_back(s_[pos_]);
        advance(1);
      }
    }
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(char(cp));
    } else if (cp < 0x800) {
      out.push_back(char(0xC0 | (cp >> 6)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(char(0xE0 | (cp >> 12)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(char(0xF0 | (cp >> 18)));
      out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  void read_entity(std::string& out) {
    // at '&'
    const std::size_t semi = s_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) fail("unterminated entity reference");
    const std::string_view ent = s_.substr(pos_ + 1, semi - pos_ - 1);
    if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "amp") out.push_back('&');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (ent.size() >= 2 && ent[0] == '#') {
      const bool hex = ent[1] == 'x';
      std::size_t i = hex ? 2 : 1;
      if (i >= ent.size()) fail("invalid character reference &" + std::string(ent) + ";");
      std::uint32_t cp = 0;
      for (; i < ent.size(); ++i) {
        const char d = ent[i];
        std::uint32_t v;
        if (d >= '0' && d <= '9') v = std::uint32_t(d - '0');
        else if (hex && d >= 'a' && d <= 'f') v = std::uint32_t(d - 'a' + 10);
        else if (hex && d >= 'A' && d <= 'F') v = std::uint32_t(d - 'A' + 10);
        else fail("invalid character reference &" + std::string(ent) + ";");
        cp = cp * (hex ? 16 : 10) + v;
        if (cp > 0x10FFFF) fail("character reference out of range &" + std::string(ent) + ";");
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
        fail("invalid character reference &" + std::string(ent) + ";");
      put_utf8(out, cp);
    } else {
      fail("unknown entity &" + std::string(ent) + ";");
    }
    advance(semi + 1 - pos_);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int line_ = 1;
  document doc_;
};

inline document document::parse(std::string_view text, const std::string& context) {
  return parser(text, context).run();
}

}  // namespace xml
}  // namespace detail
HOUSENET_END_NAMESPACE
